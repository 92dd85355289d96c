//! Forms and JSON bodies for filings, cards, no-card certificates and referral
//! certificates. Every field is text so that a wrong value is reported under its name, in
//! both languages, with the others.

use serde::{Deserialize, Serialize};
use yibao_core::card::{CardApplication, CardEvent, PhotoSource};
use yibao_core::cover::FilingType;
use yibao_core::filing::{Decision, DocumentKind, FilingApplication, FilingDocument, RejectReason};
use yibao_core::{region, InvalidValue};
use yibao_store::ReferralInput;

use super::{optional, parse_bool, parse_date, take};

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DocumentForm {
    /// `residence_permit`, `residence_certificate`, `work_posting`, `referral_certificate`,
    /// `emergency_record`.
    pub kind: String,
    /// The certificate's or permit's number (a referral certificate's is checked).
    pub reference: String,
    /// An uploaded scan of it (`POST /api/v1/persons/{id}/documents`).
    pub document_id: Option<i64>,
}

/// An off-site treatment filing (异地就医备案).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FilingForm {
    /// `retiree_resettled`, `long_term_resident`, `posted_worker` (long-term residence);
    /// `referral`, `emergency`, `temporary_other` (temporary travel).
    pub kind: String,
    /// Province or prefecture code (`110000`, `620100`); blank for the whole country
    /// (temporary types only).
    pub destination: String,
    /// A destination institution's code, if the filing names one.
    pub institution: String,
    /// First day of treatment, `YYYY-MM-DD` (a past day makes it a retroactive filing).
    pub start: String,
    pub documents: Vec<DocumentForm>,
    /// Portal forms carry one document in these two fields.
    pub document_kind: String,
    pub document_reference: String,
    /// The delegate's resident ID, when someone files for the person at the window.
    pub delegate_id: String,
    /// The id of the long-term filing this one changes.
    pub replaces: String,
    /// Portal window form only: the person's resident ID number.
    pub resident_id: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

fn document_kind(s: &str) -> Result<DocumentKind, InvalidValue> {
    DocumentKind::FILING.into_iter().find(|k| k.code() == s.trim()).ok_or_else(|| {
        InvalidValue::new(
            "documents",
            "unknown",
            format!("未知材料类型“{s}”"),
            format!("unknown document kind \"{s}\""),
        )
    })
}

fn number(field: &'static str, s: &str) -> Result<i64, InvalidValue> {
    s.trim().parse().map_err(|_| InvalidValue::new(field, "format", "应为数字编号", "expected a number"))
}

impl FilingForm {
    pub fn parse(&self) -> Result<(FilingApplication, Option<i64>), Vec<InvalidValue>> {
        let mut e = Vec::new();
        let kind = take(&mut e, "kind", FilingType::parse(self.kind.trim()));
        let destination = optional(&mut e, "destination", &self.destination, |s| region::resolve("destination", s));
        let start = take(&mut e, "start", parse_date(&self.start));
        let delegate_id = optional(&mut e, "delegate_id", &self.delegate_id, str::parse);
        let replaces = optional(&mut e, "replaces", &self.replaces, |s| number("replaces", s));
        let mut documents = Vec::new();
        let portal = DocumentForm {
            kind: self.document_kind.clone(),
            reference: self.document_reference.clone(),
            document_id: None,
        };
        for d in self.documents.iter().chain(std::iter::once(&portal)).filter(|d| !d.kind.trim().is_empty()) {
            if let Some(kind) = take(&mut e, "documents", document_kind(&d.kind)) {
                documents.push(FilingDocument {
                    kind,
                    reference: d.reference.trim().to_string(),
                    document_id: d.document_id,
                });
            }
        }
        match (kind, start) {
            (Some(kind), Some(start)) if e.is_empty() => Ok((
                FilingApplication {
                    kind,
                    destination,
                    institution: Some(self.institution.trim().to_string()).filter(|s| !s.is_empty()),
                    start,
                    documents,
                    delegate_id,
                },
                replaces,
            )),
            _ => Err(e),
        }
    }
}

/// A clerk's decision on a filing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DecisionForm {
    /// The version the clerk saw.
    pub version: i64,
    /// `approve` or `reject`.
    pub decision: String,
    /// For a rejection: `missing_documents`, `unverifiable_documents`,
    /// `destination_mismatch`, `duplicate`, `other` (with a note).
    pub reason: String,
    pub note: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl DecisionForm {
    pub fn parse(&self) -> Result<Decision, Vec<InvalidValue>> {
        match self.decision.trim() {
            "approve" => Ok(Decision::Approve),
            "reject" => {
                let reason = RejectReason::parse(self.reason.trim()).map_err(|e| vec![e])?;
                let d = Decision::Reject { reason, note: self.note.trim().to_string() };
                d.check().map_err(|e| vec![e])?;
                Ok(d)
            }
            other => Err(vec![InvalidValue::new(
                "decision",
                "unknown",
                format!("审核结论应为 approve 或 reject，而不是“{other}”"),
                format!("the decision is approve or reject, not \"{other}\""),
            )]),
        }
    }
}

/// A social security card application at a service point.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CardForm {
    /// `id_card` (authorised reuse of the ID card photo), `studio_receipt`, `upload`.
    pub photo: String,
    pub photo_reference: String,
    /// One of the issuing banks.
    pub bank: String,
    pub applicant_confirmed: String,
    pub service_point_confirmed: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl CardForm {
    pub fn parse(&self) -> Result<CardApplication, Vec<InvalidValue>> {
        self.parse_with_file(false)
    }

    /// With a photo file sent along, the file is the photo's reference: the service sets it
    /// to the stored document's id.
    pub fn parse_with_file(&self, file: bool) -> Result<CardApplication, Vec<InvalidValue>> {
        let photo = PhotoSource::parse(self.photo.trim()).map_err(|e| vec![e])?;
        let reference = self.photo_reference.trim();
        let app = CardApplication {
            photo,
            photo_reference: if file && reference.is_empty() { "file".to_string() } else { reference.to_string() },
            bank: self.bank.trim().to_string(),
            applicant_confirmed: parse_bool(&self.applicant_confirmed),
            service_point_confirmed: parse_bool(&self.service_point_confirmed),
        };
        app.check()?;
        Ok(app)
    }
}

/// A card's next step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CardEventForm {
    /// `ready`, `collect`, `activate`, `report_lost`, `found` (解挂), `report_damaged`,
    /// `cancel`.
    pub event: String,
    /// The day it happened (`YYYY-MM-DD`, default today; a person's own report is today).
    pub on: String,
    #[serde(skip_serializing)]
    pub csrf: String,
    /// The page's confirmation of a step that stops the card (`1`).
    #[serde(skip_serializing)]
    pub confirmed: String,
}

impl CardEventForm {
    pub fn parse(&self) -> Result<(CardEvent, Option<chrono::NaiveDate>), Vec<InvalidValue>> {
        let mut e = Vec::new();
        let event = match self.event.trim() {
            "ready" => Some(CardEvent::Ready),
            "collect" => Some(CardEvent::Collect),
            "activate" => Some(CardEvent::Activate),
            "report_lost" => Some(CardEvent::ReportLost),
            "found" => Some(CardEvent::Found),
            "report_damaged" => Some(CardEvent::ReportDamaged),
            "cancel" => Some(CardEvent::Cancel),
            other => {
                e.push(InvalidValue::new(
                    "event",
                    "unknown",
                    format!("未知业务“{other}”"),
                    format!("unknown card event \"{other}\""),
                ));
                None
            }
        };
        let on = optional(&mut e, "on", &self.on, parse_date);
        match event {
            Some(ev) if e.is_empty() => Ok((ev, on)),
            _ => Err(e),
        }
    }
}

/// A no-card certificate: optionally for the admitting institution.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NoCardForm {
    pub institution: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

/// A referral certificate (转诊证明) issued by an institution.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ReferralForm {
    pub resident_id: String,
    pub diagnosis: String,
    /// Province or prefecture the patient is referred to.
    pub destination: String,
    pub destination_institution: String,
    pub valid_from: String,
    pub valid_to: String,
    /// Who put the hospital's seal on it (the first confirmation).
    pub hospital_seal_by: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl ReferralForm {
    pub fn parse(&self) -> Result<ReferralInput, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let resident_id = take(&mut e, "resident_id", self.resident_id.trim().parse());
        let destination = take(&mut e, "destination", region::resolve("destination", &self.destination));
        let valid_from = take(&mut e, "valid_from", parse_date(&self.valid_from));
        let valid_to = take(&mut e, "valid_to", parse_date(&self.valid_to));
        match (resident_id, destination, valid_from, valid_to) {
            (Some(resident_id), Some(destination), Some(valid_from), Some(valid_to)) if e.is_empty() => {
                Ok(ReferralInput {
                    resident_id,
                    diagnosis: self.diagnosis.trim().to_string(),
                    destination,
                    destination_institution: Some(self.destination_institution.trim().to_string())
                        .filter(|s| !s.is_empty()),
                    valid_from,
                    valid_to,
                    hospital_seal_by: self.hospital_seal_by.trim().to_string(),
                })
            }
            _ => Err(e),
        }
    }
}

/// The second seal: the hospital's social security window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SealForm {
    pub by: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_filing_form_reports_every_bad_field_and_merges_the_portal_document() {
        let f = FilingForm {
            kind: "holiday".into(),
            destination: "99".into(),
            start: "2026/05/01".into(),
            document_kind: "passport".into(),
            ..FilingForm::default()
        };
        let fields: Vec<_> = f.parse().unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "destination", "start", "documents"]);
        let f = FilingForm {
            kind: "referral".into(),
            destination: "620100".into(),
            start: "2026-05-01".into(),
            documents: vec![DocumentForm {
                kind: "emergency_record".into(),
                reference: "急诊 1".into(),
                document_id: None,
            }],
            document_kind: "referral_certificate".into(),
            document_reference: " ZZ1 ".into(),
            replaces: "7".into(),
            ..FilingForm::default()
        };
        let (app, replaces) = f.parse().unwrap();
        assert_eq!((app.documents.len(), app.referral_number(), replaces), (2, Some("ZZ1"), Some(7)));
    }

    #[test]
    fn decisions_and_card_events_parse() {
        let d = DecisionForm { decision: "reject".into(), reason: "other".into(), ..DecisionForm::default() };
        assert_eq!(d.parse().unwrap_err()[0].field, "note");
        let d = DecisionForm { decision: "maybe".into(), ..DecisionForm::default() };
        assert_eq!(d.parse().unwrap_err()[0].field, "decision");
        let c = CardEventForm { event: "report_lost".into(), on: String::new(), ..CardEventForm::default() };
        assert_eq!(c.parse().unwrap(), (CardEvent::ReportLost, None));
        let c = CardEventForm { event: "burn".into(), on: "x".into(), ..CardEventForm::default() };
        assert_eq!(c.parse().unwrap_err().len(), 2);
    }
}
