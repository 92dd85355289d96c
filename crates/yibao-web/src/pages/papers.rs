//! Printed papers: what a person takes away from the window or prints at home — the
//! 受理回执 of a claim, the 备案回执 of an approved filing, the 转诊证明 — each headed with the
//! agency's name, its title, its number with the number's QR code, and the time it was
//! printed. The 结算单 and the 缴费凭证 carry the same head on their own pages.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use yibao_core::cover::FilingStatus;
use yibao_core::{AdminCode, Lang};

use super::shared::when;
use super::{render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::service::{claims as claim_svc, cover as cover_svc};
use crate::{i18n, SharedState};

/// The head of a printed paper.
pub struct PaperHead {
    /// The agency it comes from: 「金昌市医疗保障事务中心」.
    pub agency: String,
    pub title: &'static str,
    pub number: String,
    /// The number's QR code, an SVG as a `data:` address (the pages allow images from there).
    pub qr: String,
    /// China time, as people write it.
    pub printed_at: String,
}

impl PaperHead {
    /// The head of a paper from the agency of `region` (a region yibao cannot read — never
    /// one it stored — heads it with the agency's kind alone).
    pub fn new(lang: Lang, region: Option<AdminCode>, title_key: &str, number: &str) -> PaperHead {
        PaperHead {
            agency: region.map_or_else(
                || i18n::t(lang, "paper.agency").to_string(),
                |r| yibao_core::region::agency_name(r).get(lang).to_string(),
            ),
            title: i18n::t(lang, title_key),
            number: number.to_string(),
            qr: qr_data_url(number),
            printed_at: when(&chrono::Utc::now().to_rfc3339()),
        }
    }
}

/// `text` as a QR code: an SVG image in a `data:` address. A number too long for a QR code
/// (never one of yibao's) gives an empty address and the paper prints without it.
pub fn qr_data_url(text: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let image = code.render::<svg::Color>().min_dimensions(132, 132).quiet_zone(true).build();
            format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(image))
        }
        Err(_) => String::new(),
    }
}

#[derive(Template)]
#[template(path = "paper.html")]
struct PaperPage {
    ctx: Ctx,
    paper: PaperHead,
    /// (what, value) in the order read.
    rows: Vec<(&'static str, String)>,
    list_title: &'static str,
    list: Vec<String>,
    notes: Vec<&'static str>,
    back: String,
}

fn row(lang: Lang, key: &str, value: impl Into<String>) -> (&'static str, String) {
    (i18n::t(lang, key), value.into())
}

/// `GET /claims/{id}/receipt`: the 受理回执 — what was handed in, when, and by when it is
/// decided. The claimant, their unit, and staff who may read the claim.
pub async fn claim_receipt(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (c, _) = claim_svc::claim(&state.store, &caller, id).await?;
    let lang = caller.lang;
    let p = state.store.person(c.person_id).await?;
    let rows = vec![
        row(lang, "paper.person", c.person_name.clone()),
        row(lang, "paper.resident_id", p.resident_id.masked()),
        row(lang, "claim.case", c.case.label().get(lang)),
        row(
            lang,
            "paper.institution",
            super::shared::aside(lang, &c.institution_name, &yibao_core::region::name_of(c.treatment_region)),
        ),
        row(lang, "paper.care", format!("{} – {}", c.care_start, c.care_end)),
        row(lang, "paper.amount", c.medfee_sumamt.to_grouped()),
        row(lang, "paper.received", format!("{} · {}", when(&c.submitted_at), c.channel.label().get(lang))),
        row(lang, "paper.state", c.state.label().get(lang)),
        row(lang, "paper.due", c.due_on.to_string()),
    ];
    let list = c.documents.iter().map(|d| format!("{} — {}", d.kind.label().get(lang), d.file_name)).collect();
    let page = PaperPage {
        ctx: Ctx::for_caller(&caller, "/my/claims"),
        paper: PaperHead::new(lang, Some(c.insured_region), "paper.claim_receipt", &c.number),
        rows,
        list_title: i18n::t(lang, "paper.documents"),
        list,
        notes: vec![i18n::t(lang, "paper.claim_note")],
        back: format!("/claims/{id}"),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /filings/{id}/receipt`: the 备案回执 of an approved filing (an application not yet
/// decided, refused or revoked has none: said so).
pub async fn filing_receipt(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let f = cover_svc::filing(&state.store, &caller, id).await?;
    let lang = caller.lang;
    if f.status != FilingStatus::Approved {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "not_approved",
            &format!("备案状态为“{}”：批准后才有备案回执", f.status.label().zh),
            &format!("the filing is {}: a receipt is given once it is approved", f.status.label().en),
        ));
    }
    let p = state.store.person(f.person_id).await?;
    let destination =
        f.destination.map_or_else(|| i18n::t(lang, "filing.nationwide").to_string(), yibao_core::region::name_of);
    let mut rows = vec![
        row(lang, "paper.person", f.person_name.clone()),
        row(lang, "paper.resident_id", p.resident_id.masked()),
        row(lang, "field.kind", f.kind.label().get(lang)),
        row(lang, "field.destination", destination),
    ];
    if let Some(i) = &f.institution {
        rows.push(row(lang, "paper.institution", i.clone()));
    }
    let end = f.end.map_or_else(|| i18n::t(lang, "filing.open_ended").to_string(), |e| e.to_string());
    rows.push(row(lang, "filing.period", format!("{} – {end}", f.start)));
    rows.push(row(lang, "paper.approved_at", f.decided_at.as_deref().map(when).unwrap_or_default()));
    let page = PaperPage {
        ctx: Ctx::for_caller(&caller, "/my/cover"),
        paper: PaperHead::new(lang, Some(f.insured_region), "paper.filing_receipt", &f.id.to_string()),
        rows,
        list_title: i18n::t(lang, "paper.documents"),
        list: f.documents.iter().map(|d| d.kind.label().get(lang).to_string()).collect(),
        notes: vec![i18n::t(lang, "paper.filing_note")],
        back: format!("/filings/{id}"),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /referrals/{number}/print`: the 转诊证明 the patient carries to the destination — who,
/// why, where to, until when, and both seals.
pub async fn referral_certificate(
    State(state): State<SharedState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        // A page, printed by a person: not for an API key.
        return Err(AppError::forbidden());
    }
    let r = cover_svc::referral(&state.store, &caller, &number).await?;
    let lang = caller.lang;
    let p = state.store.person(r.person_id).await?;
    let pending = i18n::t(lang, "paper.seal_pending");
    let rows = vec![
        row(lang, "paper.person", r.person_name.clone()),
        row(lang, "paper.resident_id", p.resident_id.masked()),
        row(lang, "paper.diagnosis", r.diagnosis.clone()),
        row(lang, "paper.issuer", super::shared::aside(lang, &r.issuer_name, &r.issuer_code)),
        row(lang, "field.destination", yibao_core::region::name_of(r.destination)),
        row(lang, "field.destination_institution", r.destination_institution.clone().unwrap_or_default()),
        row(lang, "referral.valid", format!("{} – {}", r.valid_from, r.valid_to)),
        row(lang, "paper.hospital_seal", when(&r.hospital_sealed_at)),
        row(lang, "referral.window_seal", r.window_sealed_at.as_deref().map_or_else(|| pending.to_string(), when)),
    ];
    let page = PaperPage {
        ctx: Ctx::for_caller(&caller, "/referrals"),
        paper: PaperHead::new(lang, Some(p.insured_region), "paper.referral", &r.number),
        rows,
        list_title: "",
        list: Vec::new(),
        notes: vec![i18n::t(lang, if r.sealed() { "paper.referral_note" } else { "paper.referral_unsealed" })],
        back: "/referrals".to_string(),
    };
    Ok(render(&page)?.into_response())
}
