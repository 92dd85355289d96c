//! What the engine is given: a visit and its fee lines, named as on the national platform,
//! and the person's running totals for the year.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serialize};

use crate::admin_code::AdminCode;
use crate::i18n::{Lang, Text};
use crate::money::Fen;
use crate::registry::{HospitalGrade, PersonCategory, Scheme};

/// 医疗类别: the national `med_type` codes the engine handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MedType {
    /// 普通门诊
    #[serde(rename = "11")]
    GeneralOutpatient,
    /// 门诊慢特病
    #[serde(rename = "14")]
    SpecialOutpatient,
    /// 普通住院
    #[serde(rename = "21")]
    Inpatient,
}

impl MedType {
    /// The national `med_type` code.
    pub fn code(self) -> &'static str {
        match self {
            MedType::GeneralOutpatient => "11",
            MedType::SpecialOutpatient => "14",
            MedType::Inpatient => "21",
        }
    }

    pub fn parse(s: &str) -> Result<MedType, crate::InvalidValue> {
        [MedType::GeneralOutpatient, MedType::SpecialOutpatient, MedType::Inpatient]
            .into_iter()
            .find(|m| m.code() == s.trim())
            .ok_or_else(|| {
                crate::InvalidValue::new(
                    "med_type",
                    "unknown",
                    format!("医疗类别“{s}”无效，可选：11 普通门诊、14 门诊慢特病、21 住院"),
                    format!("med_type \"{s}\" is not 11 (outpatient), 14 (special illness) or 21 (inpatient)"),
                )
            })
    }

    pub fn label(self) -> Text {
        match self {
            MedType::GeneralOutpatient => Text::new("普通门诊", "general outpatient"),
            MedType::SpecialOutpatient => Text::new("门诊慢特病", "outpatient special/chronic illness"),
            MedType::Inpatient => Text::new("住院", "inpatient"),
        }
    }
}

/// 异地就医备案类型: the off-site filing a visit was made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filing {
    /// 异地长期居住 (retirees living elsewhere, long-term residents, posted workers).
    LongTermResidence,
    /// 转诊转院
    Referral,
    /// 急诊抢救
    Emergency,
    /// 其他临时外出就医
    TemporaryOther,
}

impl Filing {
    pub fn label(self) -> Text {
        match self {
            Filing::LongTermResidence => Text::new("异地长期居住", "long-term residence elsewhere"),
            Filing::Referral => Text::new("转诊转院", "referral"),
            Filing::Emergency => Text::new("急诊抢救", "emergency"),
            Filing::TemporaryOther => Text::new("其他临时外出就医", "other temporary travel"),
        }
    }
}

/// A date written `YYYY-MM-DD`, or a national timestamp `YYYY-MM-DD HH:MM:SS` (its date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DateText(pub NaiveDate);

impl<'de> Deserialize<'de> for DateText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let day = s.get(..10).unwrap_or(&s);
        NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(DateText)
            .map_err(|_| de::Error::custom(format!("\"{s}\" is not a date like 2026-03-01 or 2026-03-01 08:30:00")))
    }
}

/// A decimal quantity or unit price, from a string (`"12.5"`) or a JSON number (read through
/// its shortest decimal text, so exact).
pub(crate) fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = Decimal;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a decimal number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            v.trim().parse().map_err(|_| E::custom(format!("\"{v}\" is not a decimal number")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            self.visit_str(&v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// `"1"`/`"0"`, `true`/`false`.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum F {
        B(bool),
        S(String),
    }
    match F::deserialize(d)? {
        F::B(b) => Ok(b),
        F::S(s) => match s.as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            _ => Err(de::Error::custom(format!("\"{s}\" is not a flag (1 or 0)"))),
        },
    }
}

/// One fee line (费用明细).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    /// 费用明细流水号
    pub feedetl_sn: Arc<str>,
    /// 医疗目录编码 (the national code).
    pub med_list_codg: Arc<str>,
    #[serde(deserialize_with = "decimal")]
    pub cnt: Decimal,
    #[serde(deserialize_with = "decimal")]
    pub pric: Decimal,
    /// 明细项目费用总额, in yuan.
    pub det_item_fee_sumamt: Fen,
    /// 费用发生时间
    pub fee_ocur_time: DateText,
    /// A reviewer excluded the line from what the fund pays (a sporadic claim's review):
    /// it is paid in full by the person, whatever the catalog says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reviewer_excluded: bool,
    /// A reviewer admitted the line, outside the catalog, as necessary for an emergency rescue
    /// (seed 003): paid as the policy's `sporadic.emergency_rescue` says, where it allows it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rescue_admitted: bool,
}

/// Nets refund lines into the lines they refund: each line comes with the serial number of
/// the line it refunds (`init_feedetl_sn`, for a negative `cnt`) or none. A refund adds its
/// (negative) count and amount to its line; a fully refunded line drops out. Refunds naming
/// no line here are dropped: the caller checks them when the lines arrive.
pub fn net_refunds(lines: &[(FeeLine, Option<&str>)]) -> Vec<FeeLine> {
    let mut out = Vec::with_capacity(lines.len());
    for (line, _) in lines.iter().filter(|(_, refunds)| refunds.is_none()) {
        let (cnt, amount) = lines
            .iter()
            .filter(|(_, refunds)| *refunds == Some(&*line.feedetl_sn))
            .fold((line.cnt, line.det_item_fee_sumamt.fen()), |(c, a), (r, _)| {
                (c + r.cnt, a + r.det_item_fee_sumamt.fen())
            });
        if cnt.is_zero() && amount == 0 {
            continue;
        }
        out.push(FeeLine { cnt, det_item_fee_sumamt: Fen::from_fen(amount), ..line.clone() });
    }
    out
}

fn first_admission() -> u32 {
    1
}

/// A visit to adjudicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// 就诊 ID
    #[serde(default)]
    pub mdtrt_id: String,
    /// 险种类型: 310 employee, 390 resident.
    pub insutype: Scheme,
    /// 人员类别, yibao's codes (`in_service`, `retired`, `resident_adult`, ...).
    pub psn_type: PersonCategory,
    pub med_type: MedType,
    /// 参保地医保区划
    pub insuplc_admdvs: AdminCode,
    /// 就医地医保区划
    pub mdtrtarea_admvs: AdminCode,
    /// 医院等级 of the treating institution.
    pub hosp_lv: HospitalGrade,
    /// Which admission of the insurance year this is (1 for the first).
    #[serde(default = "first_admission")]
    pub admission_no: u32,
    /// The off-site filing, if the visit is outside the insured pooling region.
    #[serde(default)]
    pub offsite_filing: Option<Filing>,
    /// The receipt (invoice) date: it selects the insurance year's policy.
    pub receipt_date: DateText,
    /// Diagnosis codes (ICD-10), the main one first.
    #[serde(default)]
    pub dise_codg: Vec<String>,
    /// 门诊慢特病病种编码, for `med_type` 14.
    #[serde(default)]
    pub opsp_dise_code: Option<String>,
    /// 个人账户使用标志: whether the person asks the individual account to pay.
    #[serde(default, deserialize_with = "flag")]
    pub acct_used_flag: bool,
    /// The individual account's balance before this claim.
    #[serde(default)]
    pub acct_balance: Fen,
    /// 门诊共济: the balance of the family member's account the person may use after their
    /// own (zero when nobody authorised them).
    #[serde(default)]
    pub family_balance: Fen,
    /// Whose catalogs a claim asks for (sporadic claims: the insured region's, or the
    /// treatment region's where the policy allows it). Absent: the policy's
    /// `offsite.catalog_source`, as at direct settlement.
    #[serde(default)]
    pub catalog_source: Option<crate::policy::CatalogSource>,
    pub feedetail: Vec<FeeLine>,
}

impl Claim {
    /// Parses a claim from JSON.
    pub fn from_json(text: &str) -> Result<Claim, ClaimError> {
        serde_json::from_str(text)
            .map_err(|e| ClaimError::new("", format!("就诊数据格式错误：{e}"), format!("malformed claim: {e}")))
    }
}

/// Running totals for one person and insurance year, so that a year's claims are
/// adjudicated consistently. Every field is additive; a claim's outcome carries its delta.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YearToDate {
    /// Pooled fund paid for inpatient and special outpatient care (against the annual cap).
    pub pool_paid: Fen,
    /// General outpatient: annual deductible paid, fund paid.
    pub outpatient_deductible_paid: Fen,
    pub outpatient_paid: Fen,
    /// Per special illness code: deductible paid and fund paid.
    pub special: BTreeMap<String, IllnessTotals>,
    /// In-scope self-paid amounts counted towards critical illness insurance.
    pub critical_base: Fen,
    /// Critical illness insurance paid.
    pub critical_paid: Fen,
    /// Individual account paid.
    pub acct_paid: Fen,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IllnessTotals {
    pub deductible_paid: Fen,
    pub paid: Fen,
}

fn add(a: Fen, b: Fen, sign: i64) -> Fen {
    Fen::from_fen(a.fen() + sign * b.fen())
}

impl YearToDate {
    fn combine(&self, delta: &YearToDate, sign: i64) -> YearToDate {
        let mut special = self.special.clone();
        for (code, d) in &delta.special {
            let e = special.entry(code.clone()).or_default();
            e.deductible_paid = add(e.deductible_paid, d.deductible_paid, sign);
            e.paid = add(e.paid, d.paid, sign);
            if *e == IllnessTotals::default() {
                special.remove(code);
            }
        }
        YearToDate {
            pool_paid: add(self.pool_paid, delta.pool_paid, sign),
            outpatient_deductible_paid: add(self.outpatient_deductible_paid, delta.outpatient_deductible_paid, sign),
            outpatient_paid: add(self.outpatient_paid, delta.outpatient_paid, sign),
            special,
            critical_base: add(self.critical_base, delta.critical_base, sign),
            critical_paid: add(self.critical_paid, delta.critical_paid, sign),
            acct_paid: add(self.acct_paid, delta.acct_paid, sign),
        }
    }

    /// These totals with a claim's delta applied.
    pub fn plus(&self, delta: &YearToDate) -> YearToDate {
        self.combine(delta, 1)
    }

    /// These totals with a claim's delta taken back (a reversal).
    pub fn minus(&self, delta: &YearToDate) -> YearToDate {
        self.combine(delta, -1)
    }
}

/// Why a claim cannot be adjudicated at all: which field, and what, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", message.en)]
pub struct ClaimError {
    pub field: String,
    pub message: Text,
}

impl ClaimError {
    pub fn new(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> ClaimError {
        ClaimError { field: field.into(), message: Text::new(zh, en) }
    }

    pub fn message(&self, lang: Lang) -> &str {
        self.message.get(lang)
    }
}
