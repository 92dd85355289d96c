//! The agency's audit of off-site treatment (稽核), as seed 004 describes it: a transfer may
//! need a pre-evaluation (预评估) — the person comes in first, the agency records the condition
//! it observed and the treatment planned — and after discharge the claim or settlement is
//! compared with it; a re-check visit (复查) may be required; an auditor may be sent to the
//! hospital (现场稽核) and concludes whether the stay was real. This module holds the pure
//! parts: what a pre-evaluation records, the comparison, and the kinds and conclusions of
//! audit tasks.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::history::is_icd10;
use crate::i18n::Text;
use crate::money::Fen;

/// What the agency recorded when the person came in before a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreEvaluation {
    /// The condition the agency observed (病情).
    pub condition: String,
    /// The diagnosis it rests on (ICD-10) and its name.
    pub diagnosis_code: String,
    pub diagnosis_name: String,
    /// Whether the planned treatment is surgery, and what it is.
    pub surgery_planned: bool,
    pub treatment: String,
    /// The stay expected, in days, and its cost, where the hospital's plan says.
    #[serde(default)]
    pub expected_days: Option<u32>,
    #[serde(default)]
    pub expected_amount: Option<Fen>,
    /// Photos of the operated site and of the whole body after discharge (seed 004, 4.).
    #[serde(default)]
    pub photos_required: bool,
    /// A re-check visit (复查) within this many days of discharge.
    #[serde(default)]
    pub recheck_within_days: Option<u32>,
}

impl PreEvaluation {
    /// Every problem, each naming its field.
    pub fn problems(&self) -> Vec<InvalidValue> {
        let mut errors = Vec::new();
        if self.condition.trim().is_empty() {
            errors.push(InvalidValue::new("condition", "required", "请记录所见病情", "record the condition observed"));
        }
        if !is_icd10(self.diagnosis_code.trim()) {
            errors.push(InvalidValue::new(
                "diagnosis_code",
                "icd10",
                "诊断须填写 ICD-10 编码，如 I25.1",
                "the diagnosis needs its ICD-10 code, e.g. I25.1",
            ));
        }
        if self.treatment.trim().is_empty() {
            errors.push(InvalidValue::new("treatment", "required", "请写明拟行治疗", "say what treatment is planned"));
        }
        if self.expected_days.is_some_and(|d| !(1..=365).contains(&d)) {
            errors.push(InvalidValue::new(
                "expected_days",
                "range",
                "预计住院天数应在 1–365 之间",
                "expected days: 1 to 365",
            ));
        }
        if self.expected_amount.is_some_and(|a| a <= Fen::ZERO) {
            errors.push(InvalidValue::new(
                "expected_amount",
                "range",
                "预计费用应大于 0",
                "the expected cost must be above 0",
            ));
        }
        if self.recheck_within_days.is_some_and(|d| !(1..=365).contains(&d)) {
            errors.push(InvalidValue::new(
                "recheck_within_days",
                "range",
                "复查期限应在 1–365 天之间",
                "the re-check is due within 1 to 365 days",
            ));
        }
        errors
    }
}

/// What a stay turned out to be, as a claim or a settlement shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayFacts {
    pub main_diagnosis: String,
    /// The names of its surgical lines (see [`is_surgery`]).
    pub surgeries: Vec<String>,
    /// Days from admission to discharge (at least 1).
    pub days: i64,
    pub amount: Fen,
}

/// Whether an item is a surgery: a medical service whose name is a procedure (…术), as the
/// national service catalog names them (阑尾切除术, 人工全髋关节置换术).
pub fn is_surgery(name: &str) -> bool {
    name.trim_end().ends_with('术')
}

/// The surgeries among an adjudicated stay's lines: (catalog code, catalog name).
pub fn surgeries(outcome: &crate::adjudicate::Outcome) -> Vec<(String, String)> {
    outcome
        .lines
        .iter()
        .filter_map(|l| l.entry.as_ref().map(|e| (l, e)))
        .filter(|(_, e)| is_surgery(&e.name))
        .map(|(l, e)| (l.med_list_codg.to_string(), e.name.clone()))
        .collect()
}

/// A difference between a pre-evaluation and the stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `diagnosis`, `surgery`, `days` or `amount`.
    pub what: &'static str,
    pub message: Text,
}

/// How far the stay's days or cost may be from the expected before it is a difference.
pub const TOLERANCE_PERCENT: i64 = 20;

fn beyond(actual: i64, expected: i64) -> bool {
    (actual - expected).abs() * 100 > expected * TOLERANCE_PERCENT
}

/// Every difference between what was pre-evaluated and the stay, in a fixed order: the
/// diagnosis (the same code, or one the other refines: `K80.1` and `K80.100`), surgery planned
/// and done, the days and the cost beyond [`TOLERANCE_PERCENT`].
pub fn compare(pre: &PreEvaluation, stay: &StayFacts) -> Vec<Difference> {
    let mut out = Vec::new();
    let (planned, found) = (pre.diagnosis_code.trim(), stay.main_diagnosis.trim());
    if !(found.starts_with(planned) || planned.starts_with(found)) || found.is_empty() {
        out.push(Difference {
            what: "diagnosis",
            message: Text::new(
                format!("主诊断 {found} 与预评估的 {planned}（{}）不同", pre.diagnosis_name),
                format!("main diagnosis {found} differs from the pre-evaluated {planned} ({})", pre.diagnosis_name),
            ),
        });
    }
    match (pre.surgery_planned, stay.surgeries.is_empty()) {
        (true, true) => out.push(Difference {
            what: "surgery",
            message: Text::new(
                format!("预评估拟行手术（{}），结算中没有手术项目", pre.treatment),
                format!("surgery was planned ({}) but none was charged", pre.treatment),
            ),
        }),
        (false, false) => out.push(Difference {
            what: "surgery",
            message: Text::new(
                format!("预评估未拟手术，却收取了手术：{}", stay.surgeries.join("、")),
                format!("no surgery was planned, but it was charged: {}", stay.surgeries.join(", ")),
            ),
        }),
        _ => {}
    }
    if let Some(expected) = pre.expected_days {
        if beyond(stay.days, i64::from(expected)) {
            out.push(Difference {
                what: "days",
                message: Text::new(
                    format!("住院 {} 天，预计 {expected} 天", stay.days),
                    format!("in hospital {} days, {expected} expected", stay.days),
                ),
            });
        }
    }
    if let Some(expected) = pre.expected_amount {
        if beyond(stay.amount.fen(), expected.fen()) {
            out.push(Difference {
                what: "amount",
                message: Text::new(
                    format!("医疗费用 {} 元，预计 {expected} 元", stay.amount),
                    format!("charges of {} yuan, {expected} expected", stay.amount),
                ),
            });
        }
    }
    out
}

crate::registry::coded_enum!(
    /// What an audit task is.
    AuditTaskKind, "kind" {
        OnSite = "on_site", "现场稽核", "on-site audit";
        Recheck = "recheck", "复查", "re-check visit";
        Sample = "sample", "事后抽查", "post-payment sample";
    }
);

crate::registry::coded_enum!(
    /// What an auditor concluded.
    Conclusion, "conclusion" {
        Confirmed = "confirmed", "情况属实", "confirmed";
        FalseAdmission = "false_admission", "虚假住院", "false admission";
        BedWithoutTreatment = "bed_without_treatment", "挂床住院", "bed without treatment";
        Other = "other", "其他问题", "another fault";
    }
);

impl Conclusion {
    /// Whether the claim or settlement may go on: only a confirmed stay.
    pub fn lets_go_on(self) -> bool {
        self == Conclusion::Confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre() -> PreEvaluation {
        PreEvaluation {
            condition: "胸痛反复发作，冠脉造影示三支病变".into(),
            diagnosis_code: "I25.1".into(),
            diagnosis_name: "动脉硬化性心脏病".into(),
            surgery_planned: true,
            treatment: "经皮冠状动脉支架置入术".into(),
            expected_days: Some(10),
            expected_amount: Some(Fen::from_yuan(60_000)),
            photos_required: true,
            recheck_within_days: Some(30),
        }
    }

    fn stay() -> StayFacts {
        StayFacts {
            main_diagnosis: "I25.103".into(),
            surgeries: vec!["经皮冠状动脉支架置入术".into()],
            days: 11,
            amount: Fen::from_yuan(65_000),
        }
    }

    #[test]
    fn a_stay_as_planned_has_no_difference_and_each_departure_is_named() {
        assert!(compare(&pre(), &stay()).is_empty(), "a refined code, a day and 5,000 yuan more are within 20 %");
        let whats = |s: StayFacts| compare(&pre(), &s).into_iter().map(|d| d.what).collect::<Vec<_>>();
        assert_eq!(whats(StayFacts { main_diagnosis: "I21.0".into(), ..stay() }), ["diagnosis"]);
        assert_eq!(whats(StayFacts { surgeries: vec![], ..stay() }), ["surgery"]);
        assert_eq!(whats(StayFacts { days: 13, ..stay() }), ["days"]);
        assert_eq!(whats(StayFacts { days: 12, ..stay() }), Vec::<&str>::new(), "12 is within 20 % of 10");
        assert_eq!(whats(StayFacts { amount: Fen::from_yuan(72_001), ..stay() }), ["amount"]);
        let unplanned = PreEvaluation { surgery_planned: false, ..pre() };
        let d = compare(&unplanned, &stay());
        assert_eq!(d.len(), 1);
        assert!(d[0].message.zh.contains("经皮冠状动脉支架置入术"), "{:?}", d[0]);
        assert_eq!(compare(&pre(), &stay()), compare(&pre(), &stay()), "the same input, the same answer");
    }

    #[test]
    fn a_pre_evaluation_names_each_problem() {
        assert!(pre().problems().is_empty());
        let bad = PreEvaluation {
            condition: " ".into(),
            diagnosis_code: "心脏病".into(),
            treatment: String::new(),
            expected_days: Some(0),
            expected_amount: Some(Fen::ZERO),
            recheck_within_days: Some(400),
            ..pre()
        };
        let fields: Vec<&str> = bad.problems().iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["condition", "diagnosis_code", "treatment", "expected_days", "expected_amount", "recheck_within_days"]
        );
    }

    #[test]
    fn surgeries_are_procedures_by_name() {
        assert!(is_surgery("阑尾切除术") && is_surgery("剖宫产术 "));
        assert!(!is_surgery("血常规检查") && !is_surgery("床位费"));
    }

    #[test]
    fn only_a_confirmed_stay_goes_on() {
        assert!(Conclusion::Confirmed.lets_go_on());
        assert!(!Conclusion::FalseAdmission.lets_go_on() && !Conclusion::BedWithoutTreatment.lets_go_on());
    }
}
