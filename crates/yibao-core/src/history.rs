//! A person's medical history file (参保人病史档案): verified diagnoses, surgeries, chronic and
//! special illnesses and allergies, each with where it comes from (a settlement, a claim, an
//! audit, a hospital document), who verified it and when. yibao fills it from every settled
//! visit and approved claim; auditors add to it by hand. A clerk deciding a transfer reads it
//! first (seed 004: "whose medical history is unclear").

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::i18n::Text;

crate::registry::coded_enum!(
    /// What an entry records.
    #[derive(PartialOrd, Ord)]
    HistoryKind, "kind" {
        Diagnosis = "diagnosis", "诊断", "Diagnosis";
        Surgery = "surgery", "手术", "Surgery";
        Chronic = "chronic", "慢特病", "Chronic or special illness";
        Allergy = "allergy", "过敏", "Allergy";
    }
);

crate::registry::coded_enum!(
    /// Where an entry comes from: a direct settlement's diagnoses (its `setl_id`), an approved
    /// sporadic claim's (its number), what an auditor found (an audit task, or a visit of
    /// their own), or a hospital document the auditor read (a discharge summary, a record).
    HistorySource, "source" {
        Settlement = "settlement", "直接结算", "Direct settlement";
        Claim = "claim", "零星报销", "Sporadic claim";
        Audit = "audit", "稽核", "Audit";
        Document = "document", "医院文书", "Hospital document";
    }
);

/// An entry as someone gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryInput {
    pub kind: HistoryKind,
    /// ICD-10 for a diagnosis (required); an operation or illness code where known.
    #[serde(default)]
    pub code: String,
    pub name: String,
    /// The day it is about (diagnosed, operated, first seen).
    pub noted_on: NaiveDate,
}

/// Whether `code` is shaped like an ICD-10 code as China's clinical version writes them:
/// a letter, two digits, and optionally a dot and up to eight more (`K80.1`, `J18.900`,
/// `K80.100x002`).
pub fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    head && match &b[3..] {
        [] => true,
        [b'.', rest @ ..] => (1..=8).contains(&rest.len()) && rest.iter().all(u8::is_ascii_alphanumeric),
        _ => false,
    }
}

impl HistoryInput {
    /// Every problem, each naming its field: a diagnosis needs an ICD-10 code; a name is
    /// required; the day is not after `today` nor before 1900.
    pub fn problems(&self, today: NaiveDate) -> Vec<InvalidValue> {
        let mut errors = Vec::new();
        let code = self.code.trim();
        if self.kind == HistoryKind::Diagnosis && !is_icd10(code) {
            errors.push(InvalidValue::new(
                "code",
                "icd10",
                "诊断须填写 ICD-10 编码，如 K80.1",
                "a diagnosis needs its ICD-10 code, e.g. K80.1",
            ));
        } else if code.chars().count() > 32 {
            errors.push(InvalidValue::new("code", "too_long", "编码最多 32 个字符", "a code is at most 32 characters"));
        }
        if self.name.trim().is_empty() {
            errors.push(InvalidValue::new("name", "required", "请填写名称", "give the name"));
        }
        if self.noted_on > today || self.noted_on.year() < 1900 {
            errors.push(InvalidValue::new("noted_on", "bad_date", "日期不能晚于今天", "the day cannot be after today"));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icd10_codes_as_the_clinical_version_writes_them() {
        for ok in ["K80", "K80.1", "J18.900", "K80.100x002", "I10"] {
            assert!(is_icd10(ok), "{ok}");
        }
        for bad in ["", "k80.1", "K8", "K80.", "80.1", "K80-1", "K80.123456789", "北京"] {
            assert!(!is_icd10(bad), "{bad}");
        }
    }

    #[test]
    fn an_entry_names_each_problem() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let good = HistoryInput {
            kind: HistoryKind::Diagnosis,
            code: "K80.1".into(),
            name: "胆囊结石".into(),
            noted_on: today,
        };
        assert!(good.problems(today).is_empty());
        let bad =
            HistoryInput {
                code: "胆囊".into(), name: " ".into(), noted_on: today.succ_opt().unwrap(), ..good.clone()
            };
        let fields: Vec<&str> = bad.problems(today).iter().map(|e| e.field).collect();
        assert_eq!(fields, ["code", "name", "noted_on"]);
        // An allergy needs no code.
        let allergy =
            HistoryInput { kind: HistoryKind::Allergy, code: String::new(), name: "青霉素".into(), ..good };
        assert!(allergy.problems(today).is_empty());
    }
}
