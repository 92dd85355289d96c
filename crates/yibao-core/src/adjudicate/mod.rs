//! The adjudication engine: given a claim, the policies, the catalogs and the person's
//! running totals for the year, it decides what the fund pays and what the person bears —
//! line by line, to the fen, with a reason for every amount. Pure: the same input always
//! gives the same output.
//!
//! Rounding happens at named points only, each half up to the fen: a line's excess over
//! the price ceiling, its excess over a quantity limit, its self-pay-first share, each
//! ratio segment's fund payment, each critical illness band. Claim-level amounts are then
//! apportioned to the lines by the largest-remainder method, so lines add up to the claim
//! exactly.

mod claim;
pub mod synthetic;
mod trace;

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use rustc_hash::FxHashMap;
use serde::Serialize;

pub(crate) use claim::decimal;
pub use claim::{net_refunds, Claim, ClaimError, DateText, FeeLine, Filing, IllnessTotals, MedType, YearToDate};
pub use trace::{render, Reason, Step};

use crate::admin_code::AdminCode;
use crate::catalog::{CatalogEntry, Catalogs, Category, ItemKind};
use crate::i18n::Lang;
use crate::money::Fen;
use crate::policy::{AccountUse, CatalogSource, Policy, PolicySet, Segment, Unfiled};
use crate::ratio::Ratio;
use crate::registry::{PersonCategory, Scheme};

/// The claim's totals, named as in the national settlement result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    pub pool_prop_selfpay: Fen,
    pub hifmi_pay: Fen,
    pub hifob_pay: Fen,
    pub fund_pay_sumamt: Fen,
    pub psn_part_amt: Fen,
    pub acct_pay: Fen,
    /// 门诊共济: paid from a family member's account.
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
}

/// One fee line's share of every amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineOutcome {
    pub feedetl_sn: Arc<str>,
    pub med_list_codg: Arc<str>,
    /// The catalog entry the line was adjudicated under (none when not in the catalog);
    /// serialized as its name.
    #[serde(rename = "name", serialize_with = "entry_name", skip_serializing_if = "Option::is_none")]
    pub entry: Option<Arc<CatalogEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ItemKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub det_item_fee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub hifp_pay: Fen,
    /// Critical illness insurance (hifmi or hifob, by scheme).
    pub critical_pay: Fen,
    pub acct_pay: Fen,
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
}

impl LineOutcome {
    /// The item's name in the catalog, or its code when it is not in the catalog.
    pub fn name(&self) -> &str {
        self.entry.as_ref().map_or(&self.med_list_codg, |e| &e.name)
    }
}

fn entry_name<S: serde::Serializer>(entry: &Option<Arc<CatalogEntry>>, s: S) -> Result<S::Ok, S::Error> {
    match entry {
        Some(e) => s.serialize_str(&e.name),
        None => s.serialize_none(),
    }
}

/// Which policy was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    pub region: AdminCode,
    pub scheme: Scheme,
    pub year: i32,
    pub version: u32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub mdtrt_id: String,
    pub policy: PolicyRef,
    /// The region whose catalog was used (never a mix).
    pub catalog_region: AdminCode,
    pub offsite: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filing: Option<Filing>,
    pub totals: Totals,
    pub lines: Vec<LineOutcome>,
    pub trace: Vec<Step>,
    pub ytd_before: YearToDate,
    /// What this claim adds to the running totals; a reversal subtracts it.
    pub ytd_delta: YearToDate,
    pub ytd_after: YearToDate,
}

impl Outcome {
    /// Every step in words, in order.
    pub fn explain(&self, lang: Lang) -> Vec<String> {
        self.trace.iter().map(|s| render(s, self, lang)).collect()
    }
}

/// `yuan` as fen, rounded half up.
fn to_fen(yuan: Decimal) -> Fen {
    let f = (yuan * Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    Fen::from_fen(f.to_i64().unwrap_or(i64::MAX))
}

const POW10: [i128; 29] = {
    let mut p = [1i128; 29];
    let mut i = 1;
    while i < 29 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

const POW10_64: [i64; 19] = {
    let mut p = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// `a × b` yuan as fen, rounded half up: the same as `to_fen(a * b)`, in integer arithmetic
/// on the decimals' mantissas (a quantity times a unit price is on every line).
fn product_fen(a: Decimal, b: Decimal) -> Fen {
    let scale = (a.scale() + b.scale()) as usize;
    // The common case (mantissas below 2^31, at most 20 decimals) in 64-bit arithmetic.
    let (ma, mb) = (a.mantissa(), b.mantissa());
    if ma.unsigned_abs() < 1 << 31 && mb.unsigned_abs() < 1 << 31 && scale <= 20 {
        let m = (ma * mb) as i64;
        let fen = if scale <= 2 {
            m.checked_mul(POW10_64[2 - scale])
        } else {
            let d = POW10_64[scale - 2];
            let (q, r) = (m / d, m % d);
            Some(if 2 * r.abs() >= d { q + m.signum() } else { q })
        };
        if let Some(fen) = fen {
            return Fen::from_fen(fen);
        }
    }
    let exact = a.mantissa().checked_mul(b.mantissa()).and_then(|m| {
        if scale <= 2 {
            m.checked_mul(POW10[2 - scale])
        } else {
            let d = *POW10.get(scale - 2)?;
            let (q, r) = (m / d, m % d);
            Some(if 2 * r.abs() >= d { q + m.signum() } else { q })
        }
    });
    match exact.and_then(|f| i64::try_from(f).ok()) {
        Some(f) => Fen::from_fen(f),
        None => to_fen(a * b),
    }
}

fn sub(a: Fen, b: Fen) -> Fen {
    Fen::from_fen(a.fen() - b.fen())
}

fn plus(a: Fen, b: Fen) -> Fen {
    Fen::from_fen(a.fen() + b.fen())
}

fn min(a: Fen, b: Fen) -> Fen {
    a.min(b)
}

fn nonneg(a: Fen) -> Fen {
    a.max(Fen::ZERO)
}

/// Splits `total` over `weights` in proportion, exactly: floors first, then the leftover
/// fen to the largest remainders (earlier lines first on ties). Requires 0 ≤ total ≤ Σw
/// or Σw = 0 (then all goes to nobody and total must be 0). `keys` is scratch.
fn apportion(total: Fen, weights: &[i64], out: &mut Vec<i64>, keys: &mut Vec<u128>) {
    out.clear();
    out.resize(weights.len(), 0);
    let w_sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    let t = i128::from(total.fen());
    if t == 0 || w_sum == 0 {
        return;
    }
    // Each line with a remainder gets a key that orders it: larger remainder first, then
    // the earlier line. The leftover fen go to the lines with the largest keys; which lines
    // those are does not depend on any order among them, so a selection serves, not a sort.
    keys.clear();
    let key = |r: i128, i: usize| (r as u128) << 64 | u128::from(u64::MAX - i as u64);
    let mut given: i128 = 0;
    // In 64 bits when t × Σw fits (the usual case, and faster); else in 128.
    if t.checked_mul(w_sum).is_some_and(|p| p <= i128::from(i64::MAX)) {
        let (t, d) = (t as i64, w_sum as i64);
        for (i, w) in weights.iter().enumerate() {
            let x = t * *w;
            let (q, r) = (x / d, x % d);
            out[i] = q;
            given += i128::from(q);
            if r != 0 {
                keys.push(key(i128::from(r), i));
            }
        }
    } else {
        for (i, w) in weights.iter().enumerate() {
            let x = t * i128::from(*w);
            let (q, r) = (x / w_sum, x % w_sum);
            out[i] = q as i64;
            given += q;
            if r != 0 {
                keys.push(key(r, i));
            }
        }
    }
    let left = (t - given) as usize;
    if left > 0 {
        if left < keys.len() {
            keys.select_nth_unstable_by(left - 1, |a, b| b.cmp(a));
        }
        for k in keys.iter().take(left) {
            out[(u64::MAX - *k as u64) as usize] += 1;
        }
    }
}

/// Pays the part of `[from, to)` that falls in each segment at the segment's ratio less
/// `reduction`; records one step per segment touched.
fn pay_segments(
    from: Fen,
    to: Fen,
    segments: &[Segment],
    reduction: Ratio,
    reason: Reason,
    trace: &mut Vec<Step>,
) -> Fen {
    let mut paid = Fen::ZERO;
    let mut lo = Fen::ZERO;
    for s in segments {
        let hi = s.up_to.unwrap_or(Fen::from_fen(i64::MAX));
        let part = sub(min(to, hi), from.max(lo));
        if part > Fen::ZERO {
            let ratio = s.ratio.saturating_sub(reduction);
            let amount = ratio.of(part);
            trace.push(Step::claim(reason, amount, part, Some(ratio)));
            paid = plus(paid, amount);
        }
        lo = hi;
        if lo >= to {
            break;
        }
    }
    paid
}

/// What this claim pays towards an annual deductible of which `paid` is already paid.
fn annual_deductible(annual: Fen, paid: Fen, inscp: Fen, trace: &mut Vec<Step>) -> Fen {
    let remaining = nonneg(sub(annual, paid));
    if annual > Fen::ZERO {
        trace.push(Step::claim(Reason::AnnualDeductibleRemaining, remaining, annual, None));
    }
    let applied = min(remaining, inscp);
    trace.push(Step::claim(Reason::Deductible, applied, remaining, None));
    applied
}

/// Whether diagnosis code `code` starts with `prefix`, in either case (no allocation).
fn starts_with_ignore_case(code: &str, prefix: &str) -> bool {
    code.as_bytes().get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn scheme_fits(scheme: Scheme, category: PersonCategory) -> bool {
    match category {
        PersonCategory::InService | PersonCategory::Retired => scheme == Scheme::Employee,
        _ => scheme == Scheme::Resident,
    }
}

/// Adjudicates one claim.
pub fn adjudicate(
    claim: &Claim,
    policies: &PolicySet,
    catalogs: &Catalogs,
    ytd: &YearToDate,
) -> Result<Outcome, ClaimError> {
    let mut engine = Engine::default();
    engine.run(claim, policies, catalogs, ytd)
}

/// The engine with scratch buffers (apportionment weights and shares) reused across claims.
#[derive(Default)]
pub struct Engine {
    weights: Vec<i64>,
    shares: Vec<i64>,
    keys: Vec<u128>,
    splits: Vec<LineSplit>,
}

struct LineSplit {
    fulamt: Fen,
    overlmt: Fen,
    preselfpay: Fen,
    inscp: Fen,
}

impl Engine {
    pub fn run(
        &mut self,
        claim: &Claim,
        policies: &PolicySet,
        catalogs: &Catalogs,
        ytd: &YearToDate,
    ) -> Result<Outcome, ClaimError> {
        if claim.feedetail.is_empty() {
            return Err(ClaimError::new("feedetail", "没有费用明细", "the claim has no fee lines"));
        }
        if !scheme_fits(claim.insutype, claim.psn_type) {
            return Err(ClaimError::new(
                "psn_type",
                format!("人员类别“{}”与险种 {} 不符", claim.psn_type.label().zh, claim.insutype),
                format!("person category {} does not belong to scheme {}", claim.psn_type, claim.insutype),
            ));
        }
        let receipt = claim.receipt_date.0;
        let policy = policies.select(claim.insuplc_admdvs, claim.insutype, receipt).ok_or_else(|| {
            ClaimError::new(
                "receipt_date",
                format!(
                    "没有适用的政策：参保地 {}、险种 {}、{} 年度（按票据日期 {receipt}）",
                    claim.insuplc_admdvs,
                    claim.insutype,
                    receipt.format("%Y")
                ),
                format!(
                    "no policy for insured region {}, scheme {}, insurance year of the receipt date {receipt}",
                    claim.insuplc_admdvs, claim.insutype
                ),
            )
        })?;
        let offsite = !policy.region.contains(claim.mdtrtarea_admvs);
        let filing = if offsite { claim.offsite_filing } else { None };
        // One catalog per claim: the one the claim asks for (only where the policy allows a
        // claim the treatment region's), or else the policy's rule for off-site care.
        if offsite && claim.catalog_source == Some(CatalogSource::Treatment) && !policy.offsite.claims_treatment_catalog
        {
            return Err(ClaimError::new(
                "catalog_source",
                format!("参保地（{}）政策不允许零星报销按就医地目录计算，请按参保地目录申报", claim.insuplc_admdvs),
                format!(
                    "the insured region's ({}) policy does not let a claim use the treatment region's catalogs; \
                     claim under the insured region's",
                    claim.insuplc_admdvs
                ),
            ));
        }
        let catalog_side = match (offsite, claim.catalog_source.unwrap_or(policy.offsite.catalog_source)) {
            (true, CatalogSource::Treatment) => claim.mdtrtarea_admvs,
            _ => claim.insuplc_admdvs,
        };
        let (catalog_region, catalog) = catalogs.for_region(catalog_side).ok_or_else(|| {
            ClaimError::new(
                "mdtrtarea_admvs",
                format!("没有 {catalog_side} 的医保目录"),
                format!("no catalog is loaded for region {catalog_side}"),
            )
        })?;

        // A line takes one to three steps; room for two each and the claim's few.
        let mut trace = Vec::with_capacity(2 * claim.feedetail.len() + 16);
        let mut lines = Vec::with_capacity(claim.feedetail.len());
        let mut splits = std::mem::take(&mut self.splits);
        splits.clear();
        let mut used_qty: FxHashMap<&str, Decimal> = FxHashMap::default();
        let mut t = Totals::default();
        for (i, fee) in claim.feedetail.iter().enumerate() {
            let admitted;
            let entry = match catalog.lookup(&fee.med_list_codg, fee.fee_ocur_time.0) {
                // Outside the catalog, admitted by the reviewer for an emergency rescue where
                // the policy allows it: paid as the policy says.
                None if fee.rescue_admitted && !fee.reviewer_excluded => match &policy.sporadic.emergency_rescue {
                    Some(r) => {
                        admitted = Arc::new(CatalogEntry {
                            code: fee.med_list_codg.to_string(),
                            name: fee.med_list_codg.to_string(),
                            kind: ItemKind::from_code(&fee.med_list_codg),
                            category: r.category,
                            selfpay_prop: if r.category == Category::B { r.selfpay_prop } else { Ratio::ZERO },
                            price_cap: None,
                            begin: fee.fee_ocur_time.0,
                            end: None,
                            restriction: Default::default(),
                        });
                        let amount = fee.det_item_fee_sumamt;
                        let line = Some(i as u32);
                        trace.push(Step {
                            line,
                            reason: Reason::RescueAdmitted,
                            amount,
                            base: amount,
                            ratio: None,
                            value: None,
                        });
                        Some(&admitted)
                    }
                    None => None,
                },
                entry => entry,
            };
            let split = self.classify(i, fee, claim, entry, &mut used_qty, &mut trace, &mut lines)?;
            t.medfee_sumamt = plus(t.medfee_sumamt, fee.det_item_fee_sumamt);
            t.fulamt_ownpay_amt = plus(t.fulamt_ownpay_amt, split.fulamt);
            t.overlmt_selfpay = plus(t.overlmt_selfpay, split.overlmt);
            t.preselfpay_amt = plus(t.preselfpay_amt, split.preselfpay);
            t.inscp_scp_amt = plus(t.inscp_scp_amt, split.inscp);
            splits.push(split);
        }

        // Claim level: deductible, ratio, caps.
        let reduction = match filing {
            None if offsite => match policy.offsite.unfiled {
                Unfiled::Refuse => None,
                Unfiled::Reduce(r) => Some(r),
            },
            None => Some(Ratio::ZERO),
            Some(Filing::LongTermResidence) => Some(policy.offsite.long_term_residence),
            Some(Filing::Referral) => Some(policy.offsite.referral),
            Some(Filing::Emergency) => Some(policy.offsite.emergency),
            Some(Filing::TemporaryOther) => Some(policy.offsite.temporary_other),
        };
        let mut delta = YearToDate::default();
        let inscp = t.inscp_scp_amt;
        let mut critical_applies = false;
        match reduction {
            None => {
                trace.push(Step::claim(Reason::OffsiteUnfiledRefused, Fen::ZERO, inscp, None));
            }
            Some(reduction) => {
                if reduction > Ratio::ZERO {
                    trace.push(Step::claim(Reason::OffsiteReduction, Fen::ZERO, Fen::ZERO, Some(reduction)));
                }
                critical_applies = self.pool(claim, policy, ytd, reduction, &mut t, &mut delta, &mut trace);
            }
        }
        t.pool_prop_selfpay = sub(sub(inscp, t.act_pay_dedc), t.hifp_pay);

        // Critical illness insurance on the in-scope amount the person still bears.
        let mut critical = Fen::ZERO;
        let mut counts_preselfpay = false;
        if let (true, Some(ci)) = (critical_applies, &policy.critical_illness) {
            counts_preselfpay = ci.counts_preselfpay;
            let counted = plus(
                plus(t.act_pay_dedc, t.pool_prop_selfpay),
                if ci.counts_preselfpay { t.preselfpay_amt } else { Fen::ZERO },
            );
            trace.push(Step::claim(Reason::CriticalIllnessCounted, counted, ci.threshold, None));
            let from = nonneg(sub(ytd.critical_base, ci.threshold));
            let to = nonneg(sub(plus(ytd.critical_base, counted), ci.threshold));
            let raw = pay_segments(from, to, &ci.bands, Ratio::ZERO, Reason::CriticalIllnessBand, &mut trace);
            let remaining = nonneg(sub(ci.annual_cap, ytd.critical_paid));
            critical = min(raw, remaining);
            if critical < raw {
                trace.push(Step::claim(Reason::CriticalIllnessCap, sub(raw, critical), remaining, None));
            }
            delta.critical_base = counted;
            delta.critical_paid = critical;
        }
        match claim.insutype {
            Scheme::Resident => t.hifmi_pay = critical,
            Scheme::Employee => t.hifob_pay = critical,
        }
        t.fund_pay_sumamt = plus(plus(t.hifp_pay, t.hifmi_pay), t.hifob_pay);
        t.psn_part_amt = sub(t.medfee_sumamt, t.fund_pay_sumamt);

        // The individual account, where the policy allows and the person asks.
        let account_use = if claim.acct_used_flag { policy.individual_account.pays } else { AccountUse::None };
        let eligible = match account_use {
            AccountUse::None => Fen::ZERO,
            AccountUse::All => t.psn_part_amt,
            AccountUse::InScope => sub(sub(t.psn_part_amt, t.fulamt_ownpay_amt), t.overlmt_selfpay),
        };
        t.acct_pay = min(nonneg(eligible), nonneg(claim.acct_balance));
        if t.acct_pay > Fen::ZERO {
            trace.push(Step::claim(Reason::AccountPay, t.acct_pay, claim.acct_balance, None));
        }
        delta.acct_paid = t.acct_pay;
        // 门诊共济: a family member's account after the person's own, where the policy allows.
        let family_use = if claim.acct_used_flag { policy.individual_account.family_pays } else { AccountUse::None };
        let family_eligible = match family_use {
            AccountUse::None => Fen::ZERO,
            AccountUse::All => sub(t.psn_part_amt, t.acct_pay),
            AccountUse::InScope => sub(sub(sub(t.psn_part_amt, t.fulamt_ownpay_amt), t.overlmt_selfpay), t.acct_pay),
        };
        t.acct_mulaid_pay = min(nonneg(family_eligible), nonneg(claim.family_balance));
        if t.acct_mulaid_pay > Fen::ZERO {
            trace.push(Step::claim(Reason::FamilyAccountPay, t.acct_mulaid_pay, claim.family_balance, None));
        }
        t.psn_cash_pay = sub(sub(t.psn_part_amt, t.acct_pay), t.acct_mulaid_pay);
        trace.push(Step::claim(Reason::CashPay, t.psn_cash_pay, Fen::ZERO, None));

        self.apportion_lines(&t, &splits, &mut lines, critical, counts_preselfpay, (account_use, family_use));
        self.splits = splits;

        Ok(Outcome {
            mdtrt_id: claim.mdtrt_id.clone(),
            policy: PolicyRef {
                region: policy.region,
                scheme: policy.scheme,
                year: policy.year.value(),
                version: policy.version,
                name: policy.name.clone(),
            },
            catalog_region,
            offsite,
            filing,
            totals: t,
            lines,
            trace,
            ytd_after: ytd.plus(&delta),
            ytd_before: ytd.clone(),
            ytd_delta: delta,
        })
    }

    /// Splits one line into full own-pay, over-ceiling, self-pay-first and in-scope parts.
    #[allow(clippy::too_many_arguments)]
    fn classify<'c>(
        &mut self,
        i: usize,
        fee: &'c FeeLine,
        claim: &Claim,
        entry: Option<&Arc<CatalogEntry>>,
        used_qty: &mut FxHashMap<&'c str, Decimal>,
        trace: &mut Vec<Step>,
        lines: &mut Vec<LineOutcome>,
    ) -> Result<LineSplit, ClaimError> {
        let amount = fee.det_item_fee_sumamt;
        if fee.cnt <= Decimal::ZERO || fee.pric.is_sign_negative() || amount.is_negative() {
            return Err(ClaimError::new(
                format!("feedetail[{i}]"),
                format!("第 {} 行：数量须为正数，单价和金额不能为负", fee.feedetl_sn),
                format!("line {}: the quantity must be positive and the price and amount not negative", fee.feedetl_sn),
            ));
        }
        let expected = product_fen(fee.cnt, fee.pric);
        if (expected.fen() - amount.fen()).abs() > 1 {
            return Err(ClaimError::new(
                format!("feedetail[{i}].det_item_fee_sumamt"),
                format!("第 {} 行：金额 {amount} 与数量×单价 {expected} 不符", fee.feedetl_sn),
                format!("line {}: the amount {amount} is not quantity × price = {expected}", fee.feedetl_sn),
            ));
        }
        let line = Some(i as u32);
        let step = |reason, amount, base, ratio, value| Step { line, reason, amount, base, ratio, value };
        let mut out = LineOutcome {
            feedetl_sn: fee.feedetl_sn.clone(),
            med_list_codg: fee.med_list_codg.clone(),
            entry: entry.cloned(),
            kind: entry.map(|e| e.kind),
            category: entry.map(|e| e.category),
            det_item_fee_sumamt: amount,
            fulamt_ownpay_amt: Fen::ZERO,
            overlmt_selfpay: Fen::ZERO,
            preselfpay_amt: Fen::ZERO,
            inscp_scp_amt: Fen::ZERO,
            act_pay_dedc: Fen::ZERO,
            hifp_pay: Fen::ZERO,
            critical_pay: Fen::ZERO,
            acct_pay: Fen::ZERO,
            acct_mulaid_pay: Fen::ZERO,
            psn_cash_pay: Fen::ZERO,
        };
        let all_own = |reason, trace: &mut Vec<Step>, lines: &mut Vec<LineOutcome>, mut out: LineOutcome| {
            trace.push(step(reason, amount, amount, None, None));
            out.fulamt_ownpay_amt = amount;
            lines.push(out);
            LineSplit { fulamt: amount, overlmt: Fen::ZERO, preselfpay: Fen::ZERO, inscp: Fen::ZERO }
        };
        if fee.reviewer_excluded {
            return Ok(all_own(Reason::ReviewerExcluded, trace, lines, out));
        }
        let Some(entry) = entry else {
            return Ok(all_own(Reason::NotInCatalog, trace, lines, out));
        };
        if entry.category == Category::C {
            return Ok(all_own(Reason::CategoryC, trace, lines, out));
        }
        let r = &entry.restriction;
        if !r.diagnoses.is_empty()
            && !claim.dise_codg.iter().any(|d| r.diagnoses.iter().any(|p| starts_with_ignore_case(d, p)))
        {
            return Ok(all_own(Reason::DiagnosisRestricted, trace, lines, out));
        }
        if !r.grades.is_empty() && !r.grades.contains(&claim.hosp_lv) {
            return Ok(all_own(Reason::GradeRestricted, trace, lines, out));
        }
        // A quantity limit counts within the claim; the line crossing it is split.
        let mut covered_cnt = fee.cnt;
        let mut fulamt = Fen::ZERO;
        if let Some(limit) = r.max_quantity {
            let used = used_qty.entry(&*fee.med_list_codg).or_insert(Decimal::ZERO);
            let room = (limit - *used).max(Decimal::ZERO);
            if fee.cnt > room {
                covered_cnt = room;
                let covered_amount = to_fen(Decimal::from(amount.fen()) * room / fee.cnt / Decimal::ONE_HUNDRED);
                fulamt = sub(amount, covered_amount);
                trace.push(step(Reason::QuantityRestricted, fulamt, amount, None, Some(limit)));
            }
            *used += fee.cnt;
        }
        let mut rest = sub(amount, fulamt);
        let mut overlmt = Fen::ZERO;
        if let Some(cap) = entry.price_cap {
            if fee.pric > cap && covered_cnt > Decimal::ZERO {
                overlmt = min(product_fen(fee.pric - cap, covered_cnt), rest);
                trace.push(step(Reason::OverPriceCap, overlmt, rest, None, Some(cap)));
                rest = sub(rest, overlmt);
            }
        }
        let mut preselfpay = Fen::ZERO;
        if entry.category == Category::B && entry.selfpay_prop > Ratio::ZERO && rest > Fen::ZERO {
            preselfpay = entry.selfpay_prop.of(rest);
            trace.push(step(Reason::SelfPayFirst, preselfpay, rest, Some(entry.selfpay_prop), None));
        }
        let inscp = sub(rest, preselfpay);
        if inscp > Fen::ZERO {
            trace.push(step(Reason::InScope, inscp, amount, None, None));
        }
        out.fulamt_ownpay_amt = fulamt;
        out.overlmt_selfpay = overlmt;
        out.preselfpay_amt = preselfpay;
        out.inscp_scp_amt = inscp;
        lines.push(out);
        Ok(LineSplit { fulamt, overlmt, preselfpay, inscp })
    }

    /// The pooled fund's share: deductible, ratio segments, caps, by medical type. Returns
    /// whether critical illness insurance applies to this claim.
    #[allow(clippy::too_many_arguments)]
    fn pool(
        &mut self,
        claim: &Claim,
        policy: &Policy,
        ytd: &YearToDate,
        reduction: Ratio,
        t: &mut Totals,
        delta: &mut YearToDate,
        trace: &mut Vec<Step>,
    ) -> bool {
        let inscp = t.inscp_scp_amt;
        let category = claim.psn_type;
        let grade = claim.hosp_lv;
        let pool_remaining = nonneg(sub(policy.annual_cap, ytd.pool_paid));
        match claim.med_type {
            MedType::Inpatient => {
                let first = policy.inpatient.deductible.get(grade);
                let deductible = policy.inpatient_deductible(grade, claim.admission_no);
                if deductible != first {
                    trace.push(Step::claim(Reason::RepeatAdmissionDeductible, deductible, first, None));
                }
                t.act_pay_dedc = min(deductible, inscp);
                trace.push(Step::claim(Reason::Deductible, t.act_pay_dedc, deductible, None));
                let rule = policy.inpatient.ratios.iter().find(|r| r.matches(category, grade));
                let segments = rule.map(|r| r.segments.as_slice()).unwrap_or(&[]);
                let base = sub(inscp, t.act_pay_dedc);
                let raw = pay_segments(Fen::ZERO, base, segments, reduction, Reason::Segment, trace);
                t.hifp_pay = min(raw, pool_remaining);
                if t.hifp_pay < raw {
                    trace.push(Step::claim(Reason::AnnualCap, sub(raw, t.hifp_pay), pool_remaining, None));
                }
                delta.pool_paid = t.hifp_pay;
                true
            }
            MedType::SpecialOutpatient => {
                let code = claim.opsp_dise_code.as_deref().unwrap_or("");
                let Some(illness) = policy.special_illness(code) else {
                    trace.push(Step::claim(Reason::IllnessNotCovered, Fen::ZERO, inscp, None));
                    return false;
                };
                let before = ytd.special.get(code).copied().unwrap_or_default();
                t.act_pay_dedc = annual_deductible(illness.deductible, before.deductible_paid, inscp, trace);
                let base = sub(inscp, t.act_pay_dedc);
                let segment = [Segment { up_to: None, ratio: illness.ratio }];
                let raw = pay_segments(Fen::ZERO, base, &segment, reduction, Reason::Segment, trace);
                let illness_remaining = nonneg(sub(illness.annual_cap, before.paid));
                let mut paid = raw;
                if paid > illness_remaining {
                    trace.push(Step::claim(Reason::IllnessCap, sub(paid, illness_remaining), illness_remaining, None));
                    paid = illness_remaining;
                }
                if paid > pool_remaining {
                    trace.push(Step::claim(Reason::AnnualCap, sub(paid, pool_remaining), pool_remaining, None));
                    paid = pool_remaining;
                }
                t.hifp_pay = paid;
                delta.pool_paid = paid;
                delta.special.insert(code.to_string(), IllnessTotals { deductible_paid: t.act_pay_dedc, paid });
                true
            }
            MedType::GeneralOutpatient => {
                let Some(g) = &policy.outpatient.general else {
                    trace.push(Step::claim(Reason::NoOutpatientPool, Fen::ZERO, inscp, None));
                    return false;
                };
                t.act_pay_dedc = annual_deductible(g.deductible, ytd.outpatient_deductible_paid, inscp, trace);
                let rule = g.ratios.iter().find(|r| r.matches(category, grade));
                let segments = rule.map(|r| r.segments.as_slice()).unwrap_or(&[]);
                let base = sub(inscp, t.act_pay_dedc);
                let raw = pay_segments(Fen::ZERO, base, segments, reduction, Reason::Segment, trace);
                let remaining = nonneg(sub(g.annual_cap, ytd.outpatient_paid));
                t.hifp_pay = min(raw, remaining);
                if t.hifp_pay < raw {
                    trace.push(Step::claim(Reason::OutpatientCap, sub(raw, t.hifp_pay), remaining, None));
                }
                delta.outpatient_deductible_paid = t.act_pay_dedc;
                delta.outpatient_paid = t.hifp_pay;
                false
            }
        }
    }

    /// Spreads the claim-level amounts over the lines so that each column adds up exactly.
    fn apportion_lines(
        &mut self,
        t: &Totals,
        splits: &[LineSplit],
        lines: &mut [LineOutcome],
        critical: Fen,
        counts_preselfpay: bool,
        (account_use, family_use): (AccountUse, AccountUse),
    ) {
        let Engine { weights, shares, keys, .. } = self;
        // Lines start at zero in every column, so a zero total needs no work.
        let mut spread = |total: Fen,
                          lines: &mut [LineOutcome],
                          weight: &dyn Fn(&LineOutcome, &LineSplit) -> i64,
                          set: fn(&mut LineOutcome, Fen)| {
            if total == Fen::ZERO {
                return;
            }
            weights.clear();
            weights.extend(lines.iter().zip(splits).map(|(l, s)| weight(l, s)));
            apportion(total, weights, shares, keys);
            for (l, s) in lines.iter_mut().zip(shares.iter()) {
                set(l, Fen::from_fen(*s));
            }
        };
        spread(t.act_pay_dedc, lines, &|_, s| s.inscp.fen(), |l, v| l.act_pay_dedc = v);
        // The fund's share goes over what each line has left after its deductible share.
        spread(t.hifp_pay, lines, &|l, s| s.inscp.fen() - l.act_pay_dedc.fen(), |l, v| l.hifp_pay = v);
        spread(
            critical,
            lines,
            &|l, s| s.inscp.fen() - l.hifp_pay.fen() + if counts_preselfpay { s.preselfpay.fen() } else { 0 },
            |l, v| l.critical_pay = v,
        );
        spread(
            t.acct_pay,
            lines,
            &|l, s| {
                let part = l.det_item_fee_sumamt.fen() - l.hifp_pay.fen() - l.critical_pay.fen();
                match account_use {
                    AccountUse::None => 0,
                    AccountUse::All => part,
                    AccountUse::InScope => part - s.fulamt.fen() - s.overlmt.fen(),
                }
            },
            |l, v| l.acct_pay = v,
        );
        spread(
            t.acct_mulaid_pay,
            lines,
            &|l, s| {
                let part = l.det_item_fee_sumamt.fen() - l.hifp_pay.fen() - l.critical_pay.fen();
                let eligible = match family_use {
                    AccountUse::None => 0,
                    AccountUse::All => part,
                    AccountUse::InScope => part - s.fulamt.fen() - s.overlmt.fen(),
                };
                (eligible - l.acct_pay.fen()).max(0)
            },
            |l, v| l.acct_mulaid_pay = v,
        );
        for l in lines.iter_mut() {
            l.psn_cash_pay = Fen::from_fen(
                l.det_item_fee_sumamt.fen()
                    - l.hifp_pay.fen()
                    - l.critical_pay.fen()
                    - l.acct_pay.fen()
                    - l.acct_mulaid_pay.fen(),
            );
        }
    }
}

#[cfg(test)]
mod tests;
