//! The settlement list (医保结算清单) made from an adjudicated visit: its basic information,
//! diagnoses, charges by item category with the category A / B / self-paid amounts, and the
//! payments by fund (`fund_pay_type`). Every amount comes from the engine's outcome; the
//! list only groups them, so its charges add up to the visit's total and its fund payments
//! to what the funds and the individual account paid.

use serde::{Deserialize, Serialize};

use crate::adjudicate::{LineOutcome, Outcome, Totals};
use crate::catalog::{Category, ItemKind};
use crate::i18n::Text;
use crate::money::Fen;
use crate::registry::Scheme;

/// The list's header: who, where, when, under which policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicInfo {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub psn_name: String,
    /// The resident ID, masked as printed (first 6 and last 4 digits).
    pub certno_masked: String,
    pub insutype: String,
    pub psn_type: String,
    pub insuplc_admdvs: String,
    pub fixmedins_code: String,
    pub fixmedins_name: String,
    pub hosp_lv: String,
    pub med_type: String,
    pub ipt_otp_no: String,
    pub begntime: String,
    pub endtime: String,
    pub setl_time: String,
    /// The policy applied, as "region scheme year vN name".
    pub policy: String,
    /// The off-site filing the visit was settled under, if any.
    #[serde(default)]
    pub filing: Option<String>,
}

/// One diagnosis on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDiagnosis {
    pub diag_code: String,
    pub diag_name: String,
    pub main: bool,
}

/// One row of the charges section: a charge category, and what of it was paid in full by
/// the person (category C, not in the catalog, or outside an item's restriction) and the
/// rest of its category A and B items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChargeRow {
    /// A stable code (`western_drug`, `patent_drug`, `herbal`, `service`, `facility`,
    /// `consumable`).
    pub code: String,
    pub label: Text,
    pub amount: Fen,
    pub claa: Fen,
    pub clab: Fen,
    pub ownpay: Fen,
}

/// What one fund paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundRow {
    /// The national `fund_pay_type` code (310100, 310200, 330100, 390100, 390200).
    pub fund_pay_type: String,
    pub label: Text,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementList {
    pub basic: BasicInfo,
    pub diagnoses: Vec<ListDiagnosis>,
    pub charges: Vec<ChargeRow>,
    pub funds: Vec<FundRow>,
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    /// 门诊共济: paid from a family member's account.
    #[serde(default)]
    pub acct_mulaid_pay: Fen,
    pub psn_cash_pay: Fen,
    /// The engine's explanation, step by step, in Chinese and English.
    pub explain_zh: Vec<String>,
    pub explain_en: Vec<String>,
}

/// The charge category a line is listed under.
fn charge_category(line: &LineOutcome) -> (&'static str, Text) {
    let kind = line.kind.unwrap_or_else(|| ItemKind::from_code(&line.med_list_codg));
    match kind {
        ItemKind::Drug => match line.med_list_codg.as_bytes().first() {
            Some(b'Z') => ("patent_drug", Text::new("中成药费", "Chinese patent medicines")),
            Some(b'T') => ("herbal", Text::new("中药饮片费", "Chinese herbal pieces")),
            _ => ("western_drug", Text::new("西药费", "western medicines")),
        },
        ItemKind::Service => ("service", Text::new("诊疗项目费", "medical services")),
        ItemKind::Facility => ("facility", Text::new("医疗服务设施费", "facilities (bed etc.)")),
        ItemKind::Consumable => ("consumable", Text::new("卫生材料费", "medical consumables")),
    }
}

const CHARGE_ORDER: [&str; 6] = ["western_drug", "patent_drug", "herbal", "service", "facility", "consumable"];

fn plus(a: Fen, b: Fen) -> Fen {
    Fen::from_fen(a.fen() + b.fen())
}

/// The funds that paid, by national `fund_pay_type`; funds that paid nothing are left out.
pub(crate) fn funds(scheme: Scheme, t: &Totals) -> Vec<FundRow> {
    let rows = match scheme {
        Scheme::Employee => [
            ("310100", Text::new("职工基本医疗保险统筹基金", "employee basic insurance pooled fund"), t.hifp_pay),
            ("330100", Text::new("职工大额医疗费用补助", "employee large medical expense subsidy"), t.hifob_pay),
            ("310200", Text::new("职工基本医疗保险个人账户", "employee individual account"), t.acct_pay),
        ],
        Scheme::Resident => [
            ("390100", Text::new("城乡居民基本医疗保险基金", "resident basic insurance fund"), t.hifp_pay),
            ("390200", Text::new("城乡居民大病医疗保险基金", "resident critical illness insurance"), t.hifmi_pay),
            ("310200", Text::new("个人账户", "individual account"), t.acct_pay),
        ],
    };
    rows.into_iter()
        .filter(|(_, _, amount)| *amount != Fen::ZERO)
        .map(|(code, label, amount)| FundRow { fund_pay_type: code.to_string(), label, amount })
        .collect()
}

impl SettlementList {
    /// The list of an adjudicated visit.
    pub fn new(basic: BasicInfo, diagnoses: Vec<ListDiagnosis>, scheme: Scheme, outcome: &Outcome) -> SettlementList {
        let mut charges: Vec<ChargeRow> = Vec::new();
        for line in &outcome.lines {
            let (code, label) = charge_category(line);
            let row = match charges.iter_mut().position(|r| r.code == code) {
                Some(i) => &mut charges[i],
                None => {
                    charges.push(ChargeRow {
                        code: code.to_string(),
                        label,
                        amount: Fen::ZERO,
                        claa: Fen::ZERO,
                        clab: Fen::ZERO,
                        ownpay: Fen::ZERO,
                    });
                    let last = charges.len() - 1;
                    &mut charges[last]
                }
            };
            row.amount = plus(row.amount, line.det_item_fee_sumamt);
            row.ownpay = plus(row.ownpay, line.fulamt_ownpay_amt);
            let rest = Fen::from_fen(line.det_item_fee_sumamt.fen() - line.fulamt_ownpay_amt.fen());
            match line.category {
                Some(Category::A) => row.claa = plus(row.claa, rest),
                Some(Category::B) => row.clab = plus(row.clab, rest),
                Some(Category::C) | None => row.ownpay = plus(row.ownpay, rest),
            }
        }
        charges.sort_by_key(|r| CHARGE_ORDER.iter().position(|c| *c == r.code));
        let t = &outcome.totals;
        SettlementList {
            basic,
            diagnoses,
            charges,
            funds: funds(scheme, t),
            medfee_sumamt: t.medfee_sumamt,
            fulamt_ownpay_amt: t.fulamt_ownpay_amt,
            overlmt_selfpay: t.overlmt_selfpay,
            preselfpay_amt: t.preselfpay_amt,
            inscp_scp_amt: t.inscp_scp_amt,
            act_pay_dedc: t.act_pay_dedc,
            fund_pay_sumamt: t.fund_pay_sumamt,
            acct_pay: t.acct_pay,
            acct_mulaid_pay: t.acct_mulaid_pay,
            psn_cash_pay: t.psn_cash_pay,
            explain_zh: outcome.explain(crate::Lang::Zh),
            explain_en: outcome.explain(crate::Lang::En),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::adjudicate::synthetic;

    #[test]
    fn the_list_adds_up_to_the_visit_and_its_funds() {
        let (policies, catalogs, claims) = synthetic::workload(150, 400, synthetic::Mix::Skewed, 7);
        let mut checked = 0;
        for (seed, claim) in claims.iter().enumerate() {
            let Ok(outcome) = crate::adjudicate::adjudicate(claim, &policies, &catalogs, &Default::default()) else {
                continue;
            };
            let basic = BasicInfo {
                setl_id: "S1".into(),
                mdtrt_id: claim.mdtrt_id.clone(),
                psn_no: "1".into(),
                psn_name: "测试".into(),
                certno_masked: "620302********0036".into(),
                insutype: claim.insutype.code().into(),
                psn_type: claim.psn_type.code().into(),
                insuplc_admdvs: claim.insuplc_admdvs.to_string(),
                fixmedins_code: "H1".into(),
                fixmedins_name: "医院".into(),
                hosp_lv: String::new(),
                med_type: String::new(),
                ipt_otp_no: String::new(),
                begntime: String::new(),
                endtime: String::new(),
                setl_time: String::new(),
                policy: String::new(),
                filing: None,
            };
            let list = SettlementList::new(basic, vec![], claim.insutype, &outcome);
            let charged: i64 = list.charges.iter().map(|r| r.amount.fen()).sum();
            assert_eq!(charged, outcome.totals.medfee_sumamt.fen(), "seed {seed}");
            for r in &list.charges {
                assert_eq!(r.claa.fen() + r.clab.fen() + r.ownpay.fen(), r.amount.fen(), "seed {seed} {}", r.code);
            }
            let funded: i64 = list.funds.iter().map(|r| r.amount.fen()).sum();
            assert_eq!(funded, outcome.totals.fund_pay_sumamt.fen() + outcome.totals.acct_pay.fen(), "seed {seed}");
            let ownpay: i64 = list.charges.iter().map(|r| r.ownpay.fen()).sum();
            assert_eq!(ownpay, outcome.totals.fulamt_ownpay_amt.fen(), "seed {seed}");
            checked += 1;
        }
        assert!(checked > 100, "only {checked} synthetic claims adjudicated");
    }
}
