//! Off-site treatment filings (异地就医备案) before they reach [`crate::cover::cover_on`]:
//! what each type must be filed with, where it may point, how long it is valid, how late it
//! may still be made (补办备案), when a long-term filing may change, and the coded reasons a
//! clerk gives for a refusal. Pure: the caller passes today and the region's
//! [`FilingRules`].

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::adjudicate::Filing;
use crate::admin_code::{AdminCode, AdminLevel};
use crate::cover::{FilingStatus, FilingType};
pub use crate::document::DocumentKind;
use crate::error::InvalidValue;
use crate::i18n::Text;
use crate::policy::FilingRules;
use crate::resident_id::ResidentId;

/// One document as filed: its kind and a reference a clerk can check (a certificate
/// number, a permit number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingDocument {
    pub kind: DocumentKind,
    #[serde(default)]
    pub reference: String,
    /// The uploaded scan or photo of it (a document of the same person), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<i64>,
}

impl FilingType {
    pub const ALL: [FilingType; 6] = [
        FilingType::RetireeResettled,
        FilingType::LongTermResident,
        FilingType::PostedWorker,
        FilingType::Referral,
        FilingType::Emergency,
        FilingType::TemporaryOther,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FilingType::RetireeResettled => "retiree_resettled",
            FilingType::LongTermResident => "long_term_resident",
            FilingType::PostedWorker => "posted_worker",
            FilingType::Referral => "referral",
            FilingType::Emergency => "emergency",
            FilingType::TemporaryOther => "temporary_other",
        }
    }

    pub fn parse(s: &str) -> Result<FilingType, InvalidValue> {
        FilingType::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| {
            InvalidValue::new("kind", "unknown", format!("未知备案类型“{s}”"), format!("unknown filing type \"{s}\""))
        })
    }

    pub fn is_long_term(self) -> bool {
        self.group() == Filing::LongTermResidence
    }

    /// The documents of which at least one must be filed (none: nothing is required).
    pub fn required_documents(self) -> &'static [DocumentKind] {
        match self {
            FilingType::RetireeResettled | FilingType::LongTermResident => {
                &[DocumentKind::ResidencePermit, DocumentKind::ResidenceCertificate]
            }
            FilingType::PostedWorker => {
                &[DocumentKind::WorkPosting, DocumentKind::ResidencePermit, DocumentKind::ResidenceCertificate]
            }
            FilingType::Referral => &[DocumentKind::ReferralCertificate],
            FilingType::Emergency | FilingType::TemporaryOther => &[],
        }
    }
}

impl FilingStatus {
    pub fn code(self) -> &'static str {
        match self {
            FilingStatus::Applied => "applied",
            FilingStatus::Approved => "approved",
            FilingStatus::Rejected => "rejected",
            FilingStatus::Revoked => "revoked",
            FilingStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<FilingStatus, InvalidValue> {
        [FilingStatus::Applied, FilingStatus::Approved, FilingStatus::Rejected, FilingStatus::Revoked]
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| {
                InvalidValue::new("status", "unknown", format!("未知状态“{s}”"), format!("unknown status \"{s}\""))
            })
    }

    pub fn label(self) -> Text {
        match self {
            FilingStatus::Applied => Text::new("待审核", "applied"),
            FilingStatus::Approved => Text::new("已备案", "approved"),
            FilingStatus::Rejected => Text::new("未通过", "rejected"),
            FilingStatus::Revoked => Text::new("已撤销", "revoked"),
            FilingStatus::Expired => Text::new("已过期", "expired"),
        }
    }

    /// The status as shown on `today`: an approved filing past its end has expired.
    pub fn on(self, end: Option<NaiveDate>, today: NaiveDate) -> FilingStatus {
        match (self, end) {
            (FilingStatus::Approved, Some(e)) if e < today => FilingStatus::Expired,
            (s, _) => s,
        }
    }
}

/// How a filing reached the agency. A delegate files at the window with both parties' ID
/// (the delegation itself is recorded with sporadic claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The insured person, in the portal.
    Online,
    /// A clerk at the window, for the person or their delegate.
    Window,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Window => "window",
        }
    }

    pub fn label(self) -> Text {
        match self {
            Channel::Online => Text::new("网上申请", "online"),
            Channel::Window => Text::new("窗口办理", "at the window"),
        }
    }
}

/// What a person (or a clerk for them) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingApplication {
    pub kind: FilingType,
    /// A province or prefecture; absent for the whole country (temporary types only).
    #[serde(default)]
    pub destination: Option<AdminCode>,
    /// A destination institution's code (`fixmedins_code`), where the person names one.
    #[serde(default)]
    pub institution: Option<String>,
    pub start: NaiveDate,
    #[serde(default)]
    pub documents: Vec<FilingDocument>,
    /// The delegate's ID when someone files for the person at the window.
    #[serde(default)]
    pub delegate_id: Option<ResidentId>,
}

/// The validity a checked application gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Validity {
    /// The last day covered; `None` for a long-term filing (until changed or revoked).
    pub end: Option<NaiveDate>,
    /// Filed after treatment started (补办备案).
    pub retroactive: bool,
}

/// How far ahead a filing may start.
pub const MAX_DAYS_AHEAD: i64 = 90;

impl FilingApplication {
    /// The referral certificate's number, if one was filed.
    pub fn referral_number(&self) -> Option<&str> {
        self.documents
            .iter()
            .find(|d| d.kind == DocumentKind::ReferralCertificate)
            .map(|d| d.reference.trim())
            .filter(|r| !r.is_empty())
    }

    /// Checks the application for a person insured in `insured_region`, filed `today`,
    /// under the region's `rules`; every problem at once, in both languages.
    pub fn check(
        &self,
        insured_region: AdminCode,
        rules: &FilingRules,
        today: NaiveDate,
    ) -> Result<Validity, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let home = insured_region.prefecture();
        match self.destination {
            None if self.kind.is_long_term() => e.push(InvalidValue::new(
                "destination",
                "required",
                "长期居住类备案须选择具体的省或市",
                "a long-term filing must name a province or city",
            )),
            Some(d) if d.level() == AdminLevel::County => e.push(InvalidValue::new(
                "destination",
                "level",
                "就医地请选择省或地市，不能只选区县",
                "choose a province or a city as the destination, not a county",
            )),
            Some(d) if home.contains(d) => e.push(InvalidValue::new(
                "destination",
                "local",
                format!("就医地 {d} 在参保统筹区 {home} 内，无需备案"),
                format!("{d} is inside the insured pooling region {home}; no filing is needed"),
            )),
            _ => {}
        }
        if let Some(code) = &self.institution {
            if code.trim().is_empty() || code.len() > 40 {
                e.push(InvalidValue::new(
                    "institution",
                    "invalid",
                    "定点医疗机构编码无效",
                    "the institution code is invalid",
                ));
            }
        }
        let required = self.kind.required_documents();
        if !required.is_empty() && !self.documents.iter().any(|d| required.contains(&d.kind)) {
            let names = |f: fn(&Text) -> &str| required.iter().map(|k| f(&k.label()).to_string()).collect::<Vec<_>>();
            e.push(InvalidValue::new(
                "documents",
                "missing",
                format!("{}须提供：{}", self.kind.label().zh, names(|t| &t.zh).join("或")),
                format!("a {} filing needs: {}", self.kind.label().en, names(|t| &t.en).join(" or ")),
            ));
        }
        if self.kind == FilingType::Referral && self.referral_number().is_none() {
            e.push(InvalidValue::new(
                "documents",
                "referral_number",
                "请填写转诊证明编号",
                "give the referral certificate's number",
            ));
        }
        let earliest = today - chrono::Duration::days(i64::from(rules.retroactive_days));
        if self.start < earliest {
            e.push(InvalidValue::new(
                "start",
                "too_late",
                format!(
                    "就医开始日期 {} 已超过补办备案期限（治疗开始后 {} 天内，即不早于 {earliest}）",
                    self.start, rules.retroactive_days
                ),
                format!(
                    "treatment began {}: a retroactive filing is allowed within {} days, i.e. from {earliest}",
                    self.start, rules.retroactive_days
                ),
            ));
        }
        if self.start > today + chrono::Duration::days(MAX_DAYS_AHEAD) {
            e.push(InvalidValue::new(
                "start",
                "too_early",
                format!("开始日期最多可提前 {MAX_DAYS_AHEAD} 天"),
                format!("a filing may start at most {MAX_DAYS_AHEAD} days ahead"),
            ));
        }
        if !e.is_empty() {
            return Err(e);
        }
        let end = if self.kind.is_long_term() {
            None
        } else {
            self.start.checked_add_months(Months::new(rules.temporary_months)).and_then(|d| d.pred_opt())
        };
        Ok(Validity { end, retroactive: self.start < today })
    }
}

/// Whether a filing that started on `start` may be changed or revoked `today`: a long-term
/// filing only after the region's minimum period; a temporary one at any time.
pub fn may_change(
    kind: FilingType,
    start: NaiveDate,
    rules: &FilingRules,
    today: NaiveDate,
) -> Result<(), InvalidValue> {
    if !kind.is_long_term() {
        return Ok(());
    }
    let from = start.checked_add_months(Months::new(rules.long_term_min_months)).unwrap_or(start);
    if today < from {
        return Err(InvalidValue::new(
            "filing",
            "minimum_period",
            format!("长期居住类备案须满 {} 个月方可变更或撤销，可于 {from} 起办理", rules.long_term_min_months),
            format!(
                "a long-term filing can be changed or revoked after {} months, from {from}",
                rules.long_term_min_months
            ),
        ));
    }
    Ok(())
}

/// Why a clerk refused a filing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// 材料不全
    MissingDocuments,
    /// 材料不符或无法核实
    UnverifiableDocuments,
    /// 就医地与材料不符
    DestinationMismatch,
    /// 已有有效备案
    Duplicate,
    /// 其他（须说明）
    Other,
}

impl RejectReason {
    pub const ALL: [RejectReason; 5] = [
        RejectReason::MissingDocuments,
        RejectReason::UnverifiableDocuments,
        RejectReason::DestinationMismatch,
        RejectReason::Duplicate,
        RejectReason::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RejectReason::MissingDocuments => "missing_documents",
            RejectReason::UnverifiableDocuments => "unverifiable_documents",
            RejectReason::DestinationMismatch => "destination_mismatch",
            RejectReason::Duplicate => "duplicate",
            RejectReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<RejectReason, InvalidValue> {
        RejectReason::ALL.into_iter().find(|k| k.code() == s).ok_or_else(|| {
            InvalidValue::new("reason", "unknown", format!("未知退回原因“{s}”"), format!("unknown reason \"{s}\""))
        })
    }

    pub fn label(self) -> Text {
        match self {
            RejectReason::MissingDocuments => Text::new("材料不全", "documents missing"),
            RejectReason::UnverifiableDocuments => {
                Text::new("材料不符或无法核实", "documents do not match or cannot be verified")
            }
            RejectReason::DestinationMismatch => {
                Text::new("就医地与材料不符", "destination does not match the documents")
            }
            RejectReason::Duplicate => Text::new("已有有效备案", "a valid filing exists already"),
            RejectReason::Other => Text::new("其他", "other"),
        }
    }
}

/// A clerk's decision on an applied filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject {
        reason: RejectReason,
        #[serde(default)]
        note: String,
    },
}

impl Decision {
    pub fn check(&self) -> Result<(), InvalidValue> {
        match self {
            Decision::Reject { reason: RejectReason::Other, note } if note.trim().is_empty() => Err(InvalidValue::new(
                "note",
                "required",
                "选择“其他”时须写明原因",
                "explain the reason when choosing \"other\"",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn app(kind: FilingType, dest: Option<&str>, start: &str, docs: &[(DocumentKind, &str)]) -> FilingApplication {
        FilingApplication {
            kind,
            destination: dest.map(|c| c.parse().unwrap()),
            institution: None,
            start: d(start),
            documents: docs
                .iter()
                .map(|(kind, r)| FilingDocument { kind: *kind, reference: (*r).into(), document_id: None })
                .collect(),
            delegate_id: None,
        }
    }

    fn codes(r: Result<Validity, Vec<InvalidValue>>) -> Vec<(&'static str, &'static str)> {
        r.unwrap_err().iter().map(|e| (e.field, e.code)).collect()
    }

    const HOME: &str = "620302";

    #[test]
    fn validity_by_type_and_the_retroactive_window() {
        let rules = FilingRules::default();
        let today = d("2026-05-10");
        let home = HOME.parse().unwrap();
        // Temporary: six months, the last day the day before the same date six months on.
        let v = app(FilingType::TemporaryOther, None, "2026-05-10", &[]).check(home, &rules, today).unwrap();
        assert_eq!(v, Validity { end: Some(d("2026-11-09")), retroactive: false });
        // A region that grants twelve months.
        let twelve = FilingRules { temporary_months: 12, ..rules };
        let v = app(FilingType::Emergency, Some("620100"), "2026-02-28", &[]).check(home, &twelve, today).unwrap();
        assert_eq!(v, Validity { end: Some(d("2027-02-27")), retroactive: true });
        // Long-term: open-ended.
        let v =
            app(FilingType::RetireeResettled, Some("460200"), "2026-06-01", &[(DocumentKind::ResidencePermit, "R1")])
                .check(home, &rules, today)
                .unwrap();
        assert_eq!(v, Validity { end: None, retroactive: false });
        // 补办: 90 days back is the limit, day 91 is refused with the date.
        assert!(app(FilingType::Emergency, None, "2026-02-09", &[]).check(home, &rules, today).unwrap().retroactive);
        let e = app(FilingType::Emergency, None, "2026-02-08", &[]).check(home, &rules, today).unwrap_err();
        assert_eq!((e[0].field, e[0].code), ("start", "too_late"));
        assert!(e[0].message.zh.contains("2026-02-09"), "{}", e[0].message.zh);
        assert_eq!(
            codes(app(FilingType::Emergency, None, "2026-08-09", &[]).check(home, &rules, today)),
            [("start", "too_early")]
        );
    }

    #[test]
    fn destinations_and_documents() {
        let rules = FilingRules::default();
        let today = d("2026-05-10");
        let home = HOME.parse().unwrap();
        let check = |a: FilingApplication| codes(a.check(home, &rules, today));
        assert_eq!(
            check(app(FilingType::LongTermResident, None, "2026-05-10", &[])),
            [("destination", "required"), ("documents", "missing")]
        );
        assert_eq!(
            check(app(FilingType::TemporaryOther, Some("620102"), "2026-05-10", &[])),
            [("destination", "level")]
        );
        // 金昌 is home; the province that contains it is a valid destination.
        assert_eq!(
            check(app(FilingType::TemporaryOther, Some("620300"), "2026-05-10", &[])),
            [("destination", "local")]
        );
        assert!(app(FilingType::TemporaryOther, Some("620000"), "2026-05-10", &[]).check(home, &rules, today).is_ok());
        // A posted worker may file the employer's certificate instead of residence proof.
        assert!(app(FilingType::PostedWorker, Some("110000"), "2026-05-10", &[(DocumentKind::WorkPosting, "")])
            .check(home, &rules, today)
            .is_ok());
        // A referral needs the certificate and its number.
        assert_eq!(
            check(app(FilingType::Referral, Some("620100"), "2026-05-10", &[(DocumentKind::ReferralCertificate, " ")])),
            [("documents", "referral_number")]
        );
        let a = app(FilingType::Referral, Some("620100"), "2026-05-10", &[(DocumentKind::ReferralCertificate, "ZZ1")]);
        assert_eq!(a.referral_number(), Some("ZZ1"));
        assert!(a.check(home, &rules, today).is_ok());
    }

    #[test]
    fn long_term_filings_change_after_the_minimum_period_and_statuses_expire() {
        let rules = FilingRules::default();
        let e = may_change(FilingType::LongTermResident, d("2026-01-15"), &rules, d("2026-07-14")).unwrap_err();
        assert!(e.message.zh.contains("2026-07-15"), "{}", e.message.zh);
        assert!(may_change(FilingType::LongTermResident, d("2026-01-15"), &rules, d("2026-07-15")).is_ok());
        assert!(may_change(FilingType::Referral, d("2026-01-15"), &rules, d("2026-01-16")).is_ok());

        let end = Some(d("2026-06-30"));
        assert_eq!(FilingStatus::Approved.on(end, d("2026-06-30")), FilingStatus::Approved);
        assert_eq!(FilingStatus::Approved.on(end, d("2026-07-01")), FilingStatus::Expired);
        assert_eq!(FilingStatus::Approved.on(None, d("2030-01-01")), FilingStatus::Approved);
        assert_eq!(FilingStatus::Revoked.on(end, d("2026-07-01")), FilingStatus::Revoked);
        for s in [FilingStatus::Applied, FilingStatus::Approved, FilingStatus::Rejected, FilingStatus::Revoked] {
            assert_eq!(FilingStatus::parse(s.code()).unwrap(), s);
        }
        assert!(FilingStatus::parse("expired").is_err(), "expired is shown, never stored");

        assert!(Decision::Reject { reason: RejectReason::Other, note: " ".into() }.check().is_err());
        assert!(Decision::Reject { reason: RejectReason::MissingDocuments, note: String::new() }.check().is_ok());
    }
}
