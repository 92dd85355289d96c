//! A region's reimbursement policy for one scheme and insurance year, as data: deductibles,
//! ratios and their segments, caps, off-site reductions, outpatient pooling and special
//! illnesses, critical illness insurance, the individual account and sporadic-claim
//! deadlines. Written in TOML or JSON (`docs/formats/policy.md`), validated on import.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::admin_code::AdminCode;
use crate::i18n::Text;
use crate::insurance_year::InsuranceYear;
use crate::money::Fen;
use crate::ratio::Ratio;
use crate::registry::{HospitalGrade, PersonCategory, Scheme};

/// A value per hospital grade (医院等级).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByGrade<T> {
    pub ungraded: T,
    pub level1: T,
    pub level2: T,
    pub level3: T,
}

impl<T: Copy> ByGrade<T> {
    pub fn get(&self, grade: HospitalGrade) -> T {
        match grade {
            HospitalGrade::Ungraded => self.ungraded,
            HospitalGrade::Level1 => self.level1,
            HospitalGrade::Level2 => self.level2,
            HospitalGrade::Level3 => self.level3,
        }
    }
}

/// The deductible of the second and later admissions in a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RepeatAdmission {
    /// The same deductible every time.
    Same,
    /// The first admission's deductible times this factor.
    Factor(Ratio),
    /// This fixed amount.
    Fixed(Fen),
    /// No deductible.
    Waived,
}

/// A part of the pooled amount paid at one ratio: up to `up_to` (cumulative within the
/// claim), or everything above the previous segment when `up_to` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<Fen>,
    pub ratio: Ratio,
}

/// Ratios for some person categories at some hospital grades (empty lists mean all).
/// The first rule that matches a claim applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioRule {
    #[serde(default)]
    pub categories: Vec<PersonCategory>,
    #[serde(default)]
    pub grades: Vec<HospitalGrade>,
    pub segments: Vec<Segment>,
}

impl RatioRule {
    pub fn matches(&self, category: PersonCategory, grade: HospitalGrade) -> bool {
        (self.categories.is_empty() || self.categories.contains(&category))
            && (self.grades.is_empty() || self.grades.contains(&grade))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inpatient {
    /// 起付线 per admission, by hospital grade.
    pub deductible: ByGrade<Fen>,
    pub repeat_admission: RepeatAdmission,
    pub ratios: Vec<RatioRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneralOutpatient {
    /// Annual deductible.
    pub deductible: Fen,
    pub ratios: Vec<RatioRule>,
    /// Annual cap of the general outpatient pool.
    pub annual_cap: Fen,
}

/// 门诊慢特病: one covered illness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialIllness {
    /// The national disease code sent as `opsp_dise_code`, e.g. `M03900`.
    pub code: String,
    pub name: String,
    /// Annual deductible for this illness.
    #[serde(default)]
    pub deductible: Fen,
    pub ratio: Ratio,
    /// Annual cap for this illness.
    pub annual_cap: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outpatient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general: Option<GeneralOutpatient>,
    #[serde(default)]
    pub special: Vec<SpecialIllness>,
}

/// What happens to care outside the insured region without an off-site filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Unfiled {
    /// The fund pays nothing.
    Refuse,
    /// Reimbursed with the ratio reduced by this many points.
    Reduce(Ratio),
}

/// Whose catalogs apply to off-site care. The 2022 national rule for cross-province direct
/// settlement is the treatment region's catalogs with the insured region's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogSource {
    #[default]
    Treatment,
    Insured,
}

/// Ratio reductions (percentage points) for off-site care, by filing type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offsite {
    pub long_term_residence: Ratio,
    pub referral: Ratio,
    pub emergency: Ratio,
    pub temporary_other: Ratio,
    pub unfiled: Unfiled,
    #[serde(default)]
    pub catalog_source: CatalogSource,
    /// Whether a sporadic claim for off-site care may ask to be adjudicated against the
    /// treatment region's catalogs; otherwise a claim uses the insured region's.
    #[serde(default)]
    pub claims_treatment_catalog: bool,
    /// How filings are made in this region: validity, changes, retroactive filing.
    #[serde(default)]
    pub filing: FilingRules,
}

/// The region's parameters for off-site filings (异地就医备案).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilingRules {
    /// How long a temporary filing (referral, emergency, other travel) is valid, in months.
    pub temporary_months: u32,
    /// How long a long-term filing must have run before it can be changed or revoked.
    pub long_term_min_months: u32,
    /// How many days after treatment started a filing may still be made (补办备案).
    pub retroactive_days: u32,
}

impl Default for FilingRules {
    /// The national defaults: six months' validity, six months before a long-term filing
    /// changes, and retroactive filing until 90 days after treatment started.
    fn default() -> Self {
        FilingRules { temporary_months: 6, long_term_min_months: 6, retroactive_days: 90 }
    }
}

/// The national ceilings on off-site reductions (2022): long-term residents none beyond
/// the region's choice, referral and emergency at most 10 points, other travel at most 20.
pub const MAX_REFERRAL_REDUCTION: Ratio = match Ratio::from_bp(1_000) {
    Some(r) => r,
    None => Ratio::ZERO,
};
pub const MAX_OTHER_REDUCTION: Ratio = match Ratio::from_bp(2_000) {
    Some(r) => r,
    None => Ratio::ZERO,
};

/// 大病保险 (residents) / 大额医疗费用补助 (employees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticalIllness {
    /// The annual in-scope self-paid amount above which it pays.
    pub threshold: Fen,
    /// Bands over the amount above the threshold, cumulative for the year.
    pub bands: Vec<Segment>,
    pub annual_cap: Fen,
    /// Whether category-B self-pay-first amounts count towards it.
    #[serde(default)]
    pub counts_preselfpay: bool,
}

/// What the individual account (个人账户) may pay of the person's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountUse {
    #[default]
    None,
    /// The in-scope part: self-pay-first, deductible, the pooled self-paid share.
    InScope,
    /// All of the person's share.
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndividualAccount {
    pub pays: AccountUse,
    /// What a family member's account may pay under 门诊共济 of what is left after the
    /// person's own account (none when not given).
    #[serde(default)]
    pub family_pays: AccountUse,
}

/// Deadlines for sporadic (reimbursement) claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sporadic {
    /// Days after discharge (or the receipt) within which a claim must be filed.
    pub submit_within_days: u32,
    /// Claims for an insurance year must be filed by this month-day of the next year
    /// (e.g. `03-31`), whichever comes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_year_cutoff: Option<String>,
    /// Whether a reviewer may admit a line outside the catalog as necessary for an emergency
    /// rescue (seed 003: "the scope of drugs that must be used for rescue can be appropriately
    /// relaxed"), and how it is paid then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_rescue: Option<RescueAdmission>,
}

/// How a line admitted for an emergency rescue is paid: as an item of `category` (甲类 or 乙类),
/// with `selfpay_prop` paid first by the person for 乙类.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueAdmission {
    pub category: crate::catalog::Category,
    #[serde(default)]
    pub selfpay_prop: Ratio,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    /// The pooling region (统筹区), e.g. 620300.
    pub region: AdminCode,
    pub scheme: Scheme,
    pub year: InsuranceYear,
    pub version: u32,
    pub effective_from: NaiveDate,
    pub effective_to: NaiveDate,
    /// 统筹基金年度最高支付限额: inpatient and special outpatient together.
    pub annual_cap: Fen,
    pub inpatient: Inpatient,
    pub outpatient: Outpatient,
    pub offsite: Offsite,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_illness: Option<CriticalIllness>,
    pub individual_account: IndividualAccount,
    pub sporadic: Sporadic,
}

/// A policy problem: where in the document, and what, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {}", message.en)]
pub struct PolicyError {
    pub path: String,
    pub message: Text,
}

fn err(path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> PolicyError {
    PolicyError { path: path.into(), message: Text::new(zh, en) }
}

fn check_segments(path: &str, segments: &[Segment], errors: &mut Vec<PolicyError>) {
    if segments.is_empty() {
        errors.push(err(path, "至少需要一个分段", "at least one segment is needed"));
        return;
    }
    let mut last = Fen::ZERO;
    for (i, s) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        match (s.up_to, is_last) {
            (None, false) => errors.push(err(
                format!("{path}[{i}]"),
                "只有最后一段可以不设上限",
                "only the last segment may be open-ended",
            )),
            (Some(u), _) if u <= last => {
                errors.push(err(format!("{path}[{i}].up_to"), "分段上限须逐段递增", "segment limits must increase"))
            }
            (Some(u), _) => last = u,
            (None, true) => {}
        }
    }
}

fn check_nonnegative(path: &str, amount: Fen, errors: &mut Vec<PolicyError>) {
    if amount.is_negative() {
        errors.push(err(path, "金额不能为负数", "the amount cannot be negative"));
    }
}

impl Policy {
    /// Parses a TOML or JSON policy document and validates it.
    pub fn parse(text: &str) -> Result<Policy, Vec<PolicyError>> {
        let parsed: Result<Policy, String> = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string())
        };
        let policy =
            parsed.map_err(|e| vec![err("", format!("政策文件格式错误：{e}"), format!("malformed policy: {e}"))])?;
        policy.validate()?;
        Ok(policy)
    }

    /// Every rule a policy must satisfy, all reported at once.
    pub fn validate(&self) -> Result<(), Vec<PolicyError>> {
        let mut e = Vec::new();
        if self.name.trim().is_empty() {
            e.push(err("name", "请填写政策名称", "give the policy a name"));
        }
        if self.effective_from > self.effective_to {
            e.push(err("effective_to", "截止日期早于起始日期", "the end date is before the start date"));
        }
        if !self.year.contains(self.effective_from) || !self.year.contains(self.effective_to) {
            e.push(err(
                "effective_from",
                format!("生效期须在 {} 医保年度内", self.year),
                format!("the effective dates must lie within insurance year {}", self.year),
            ));
        }
        check_nonnegative("annual_cap", self.annual_cap, &mut e);
        let d = &self.inpatient.deductible;
        for (name, v) in [("ungraded", d.ungraded), ("level1", d.level1), ("level2", d.level2), ("level3", d.level3)] {
            check_nonnegative(&format!("inpatient.deductible.{name}"), v, &mut e);
        }
        if let RepeatAdmission::Fixed(f) = self.inpatient.repeat_admission {
            check_nonnegative("inpatient.repeat_admission.fixed", f, &mut e);
        }
        check_rules("inpatient.ratios", &self.inpatient.ratios, &mut e);
        if let Some(g) = &self.outpatient.general {
            check_nonnegative("outpatient.general.deductible", g.deductible, &mut e);
            check_nonnegative("outpatient.general.annual_cap", g.annual_cap, &mut e);
            check_rules("outpatient.general.ratios", &g.ratios, &mut e);
        }
        for (i, s) in self.outpatient.special.iter().enumerate() {
            if s.code.trim().is_empty() {
                e.push(err(format!("outpatient.special[{i}].code"), "请填写病种编码", "give the illness code"));
            }
            if self.outpatient.special[..i].iter().any(|o| o.code == s.code) {
                e.push(err(format!("outpatient.special[{i}].code"), "病种编码重复", "duplicate illness code"));
            }
            check_nonnegative(&format!("outpatient.special[{i}].annual_cap"), s.annual_cap, &mut e);
        }
        let o = &self.offsite;
        if o.referral > MAX_REFERRAL_REDUCTION || o.emergency > MAX_REFERRAL_REDUCTION {
            e.push(err(
                "offsite.referral",
                "转诊和急诊就医的比例降低不得超过 10 个百分点（2022 年国家跨省直接结算规定）",
                "referral and emergency reductions may not exceed 10 points (2022 national rule)",
            ));
        }
        if o.temporary_other > MAX_OTHER_REDUCTION {
            e.push(err(
                "offsite.temporary_other",
                "其他临时外出就医的比例降低不得超过 20 个百分点",
                "other temporary off-site care may not be reduced by more than 20 points",
            ));
        }
        if o.long_term_residence > o.referral {
            e.push(err(
                "offsite.long_term_residence",
                "异地长期居住人员的比例降低不应高于转诊人员",
                "long-term residents may not be reduced more than referrals",
            ));
        }
        let f = o.filing;
        if !(1..=24).contains(&f.temporary_months) {
            e.push(err(
                "offsite.filing.temporary_months",
                "临时外出备案有效期须为 1 至 24 个月",
                "a temporary filing must be valid for 1 to 24 months",
            ));
        }
        if f.long_term_min_months > 24 {
            e.push(err(
                "offsite.filing.long_term_min_months",
                "长期备案变更前的最短期限不得超过 24 个月",
                "the minimum period before a long-term filing changes may not exceed 24 months",
            ));
        }
        if f.retroactive_days > 366 {
            e.push(err(
                "offsite.filing.retroactive_days",
                "补办备案期限不得超过 366 天",
                "retroactive filing may not reach back more than 366 days",
            ));
        }
        if let Some(c) = &self.critical_illness {
            check_nonnegative("critical_illness.threshold", c.threshold, &mut e);
            check_nonnegative("critical_illness.annual_cap", c.annual_cap, &mut e);
            check_segments("critical_illness.bands", &c.bands, &mut e);
        }
        if let Some(r) = &self.sporadic.emergency_rescue {
            if r.category == crate::catalog::Category::C {
                e.push(err(
                    "sporadic.emergency_rescue.category",
                    "急救抢救纳入只能按甲类或乙类支付",
                    "a rescue admission is paid as category A or B",
                ));
            }
            if r.category != crate::catalog::Category::B && r.selfpay_prop != Ratio::ZERO {
                e.push(err(
                    "sporadic.emergency_rescue.selfpay_prop",
                    "只有乙类可以设置先行自付比例",
                    "only category B has a self-pay-first share",
                ));
            }
        }
        if self.sporadic.submit_within_days == 0 {
            e.push(err("sporadic.submit_within_days", "申报期限须大于 0 天", "the filing period must be positive"));
        }
        if let Some(c) = &self.sporadic.next_year_cutoff {
            if NaiveDate::parse_from_str(&format!("2001-{c}"), "%Y-%m-%d").is_err() {
                e.push(err("sporadic.next_year_cutoff", "应为 月-日，如 03-31", "expected month-day, e.g. 03-31"));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// The deductible for the `admission`-th inpatient stay of the year (1-based).
    pub fn inpatient_deductible(&self, grade: HospitalGrade, admission: u32) -> Fen {
        let first = self.inpatient.deductible.get(grade);
        if admission <= 1 {
            return first;
        }
        match self.inpatient.repeat_admission {
            RepeatAdmission::Same => first,
            RepeatAdmission::Factor(r) => r.of(first),
            RepeatAdmission::Fixed(f) => f.min(first),
            RepeatAdmission::Waived => Fen::ZERO,
        }
    }

    pub fn special_illness(&self, code: &str) -> Option<&SpecialIllness> {
        self.outpatient.special.iter().find(|s| s.code == code)
    }
}

fn check_rules(path: &str, rules: &[RatioRule], e: &mut Vec<PolicyError>) {
    if rules.is_empty() {
        e.push(err(path, "至少需要一条报销比例规则", "at least one ratio rule is needed"));
    }
    for (i, r) in rules.iter().enumerate() {
        check_segments(&format!("{path}[{i}].segments"), &r.segments, e);
    }
    // Every category at every grade must find a rule, or some claim would have no ratio.
    for c in PersonCategory::ALL {
        for g in HospitalGrade::ALL {
            if !rules.iter().any(|r| r.matches(*c, *g)) {
                e.push(err(
                    path,
                    format!("没有适用于“{}”在“{}”医院的比例规则", c.label().zh, g.label().zh),
                    format!("no ratio rule covers {} at {} hospitals", c.label().en, g.label().en),
                ));
                return;
            }
        }
    }
}

/// The policies yibao knows, and the choice of one for a claim.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    pub fn new(mut policies: Vec<Policy>) -> PolicySet {
        policies.sort_by_key(|p| (p.region, p.scheme.code(), p.year, p.version));
        PolicySet { policies }
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The policy for a claim: the insured pooling region's, for the scheme, of the insurance
    /// year in which the receipt is dated — the highest version in force on that date.
    pub fn select(&self, insured_region: AdminCode, scheme: Scheme, receipt_date: NaiveDate) -> Option<&Policy> {
        let year = InsuranceYear::of(receipt_date);
        self.policies
            .iter()
            .filter(|p| {
                p.scheme == scheme
                    && p.year == year
                    && p.region.contains(insured_region)
                    && p.effective_from <= receipt_date
                    && receipt_date <= p.effective_to
            })
            // The most specific region first, then the latest version.
            .max_by_key(|p| (p.region.level(), p.version))
    }
}
