//! Filings, cards, no-card certificates, referral certificates and the cover question.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use yibao_core::cover::{CardState, Cover, FilingStatus};
use yibao_core::InvalidValue;
use yibao_store::{Card, Document, NoCardCertificate, Referral, StoredFiling};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::forms::cover::{CardEventForm, CardForm, DecisionForm, FilingForm, NoCardForm, ReferralForm, SealForm};
use crate::forms::date_or;
use crate::forms::upload::FormWithFile;
use crate::service::cover::{self as svc, Whom};
use crate::SharedState;

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// `applied` (default), `approved`, `rejected`, `revoked`.
    status: Option<String>,
}

/// The clerk's queue of filings of persons in their regions (applied ones by default).
#[utoipa::path(get, path = "/api/v1/filings", params(QueueQuery),
    responses((status = 200, description = "filings, newest first"), (status = 403, body = Problem)))]
pub async fn filing_queue(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Vec<StoredFiling>>, AppError> {
    let status = FilingStatus::parse(q.status.as_deref().unwrap_or("applied"))?;
    Ok(Json(svc::filings_queue(&state.store, &caller, Some(status)).await?))
}

/// A person's filings: the insured person's own, or a clerk's person.
#[utoipa::path(get, path = "/api/v1/persons/{id}/filings",
    responses((status = 200, description = "filings, newest first"), (status = 404, body = Problem)))]
pub async fn person_filings(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<StoredFiling>>, AppError> {
    Ok(Json(svc::filings_of(&state.store, &caller, id).await?))
}

/// File off-site treatment (异地就医备案): online for oneself, or by a clerk at the window.
#[utoipa::path(post, path = "/api/v1/persons/{id}/filings", request_body = FilingForm,
    responses((status = 201, description = "the application"), (status = 422, body = Problem)))]
pub async fn apply_filing(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<FilingForm>,
) -> Result<(StatusCode, Json<StoredFiling>), AppError> {
    let (app, replaces) = f.parse().map_err(AppError::validation)?;
    Ok((
        StatusCode::CREATED,
        Json(svc::apply_filing(&state.store, &state.blobs, &caller, id, &app, replaces, None).await?),
    ))
}

/// Upload a document for a person (`multipart/form-data`, the file in the field `file`): a
/// PDF, JPEG or PNG of at most 10 MB, judged by its content. Name it in a filing's
/// `documents[].document_id`.
#[utoipa::path(post, path = "/api/v1/persons/{id}/documents",
    responses((status = 201, description = "the document's record"), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn upload_document(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { file, .. }: FormWithFile<serde_json::Map<String, serde_json::Value>>,
) -> Result<(StatusCode, Json<Document>), AppError> {
    let file = crate::forms::upload::required_file(file)?;
    Ok((StatusCode::CREATED, Json(svc::upload_document(&state.store, &state.blobs, &caller, id, file).await?)))
}

/// A document's record (the person, staff who may see the person in full).
#[utoipa::path(get, path = "/api/v1/documents/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_document(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Document>, AppError> {
    Ok(Json(svc::document(&state.store, &caller, id).await?))
}

/// A document's bytes, with its media type.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", responses((status = 200), (status = 404, body = Problem)))]
pub async fn document_content(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, AppError> {
    let (d, bytes) = svc::document_content(&state.store, &state.blobs, &caller, id).await?;
    Ok(document_response(&d, bytes))
}

/// The bytes of a document as a response: its own media type, shown inline, never sniffed
/// by the browser as anything else, and not cached by shared caches.
pub fn document_response(d: &Document, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let disposition = format!("inline; filename*=UTF-8''{}", crate::context::urlencode(&d.file_name));
    (
        [
            (header::CONTENT_TYPE, d.media_type.mime().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/filings/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_filing(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<StoredFiling>, AppError> {
    Ok(Json(svc::filing(&state.store, &caller, id).await?))
}

/// Approve or reject an application with a coded reason (clerk).
#[utoipa::path(post, path = "/api/v1/filings/{id}/decision", request_body = DecisionForm,
    responses((status = 200), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_filing(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<DecisionForm>,
) -> Result<Json<StoredFiling>, AppError> {
    let decision = f.parse().map_err(AppError::validation)?;
    Ok(Json(svc::decide_filing(&state.store, &caller, id, f.version, &decision).await?))
}

/// Withdraw an application, or revoke a filing from today (a long-term one only after the
/// region's minimum period).
#[utoipa::path(post, path = "/api/v1/filings/{id}/revoke", responses((status = 200), (status = 422, body = Problem)))]
pub async fn revoke_filing(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<StoredFiling>, AppError> {
    Ok(Json(svc::revoke_filing(&state.store, &caller, id).await?))
}

#[utoipa::path(get, path = "/api/v1/persons/{id}/cards", responses((status = 200), (status = 404, body = Problem)))]
pub async fn person_cards(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Card>>, AppError> {
    Ok(Json(svc::cards_of(&state.store, &caller, id).await?))
}

/// Record a social security card application (service point); the answer carries the
/// expected issue date, 30 working days on.
#[utoipa::path(post, path = "/api/v1/persons/{id}/cards", request_body = CardForm,
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn apply_card(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<CardForm>,
) -> Result<(StatusCode, Json<Card>), AppError> {
    let app = f.parse().map_err(AppError::validation)?;
    Ok((StatusCode::CREATED, Json(svc::apply_card(&state.store, &state.blobs, &caller, id, &app, None).await?)))
}

/// A card's next step: collect, activate, report lost or damaged, cancel.
#[utoipa::path(post, path = "/api/v1/cards/{id}/events", request_body = CardEventForm,
    responses((status = 200), (status = 422, body = Problem)))]
pub async fn card_event(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<CardEventForm>,
) -> Result<Json<Card>, AppError> {
    let (event, on) = f.parse().map_err(AppError::validation)?;
    Ok(Json(svc::card_event(&state.store, &caller, id, event, on).await?))
}

/// Issue a no-card certificate (无卡证明) for a person without a usable card.
#[utoipa::path(post, path = "/api/v1/persons/{id}/no-card-certificates", request_body = NoCardForm,
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn issue_no_card_certificate(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<NoCardForm>,
) -> Result<(StatusCode, Json<NoCardCertificate>), AppError> {
    let c = svc::issue_no_card_certificate(&state.store, &caller, id, Some(f.institution.as_str())).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[derive(Deserialize, IntoParams)]
pub struct CoverQuery {
    /// The person's resident ID number (or `person_id`).
    resident_id: Option<String>,
    person_id: Option<i64>,
    /// `YYYY-MM-DD`, default today.
    date: Option<String>,
    /// The institution's code; an institution always asks about itself.
    institution: Option<String>,
}

#[derive(Serialize)]
pub struct PersonBrief {
    id: i64,
    name: String,
    resident_id: String,
    insured_region: String,
    status: String,
}

#[derive(Serialize)]
pub struct CoverResponse {
    person: PersonBrief,
    date: String,
    card: CardState,
    /// The person's filings (for an institution: those in force on the date).
    filings: Vec<StoredFiling>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cards: Vec<Card>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    certificates: Vec<NoCardCertificate>,
    institution: Option<String>,
    /// The cover at the institution on the date, with its reason in both languages.
    cover: Option<Cover>,
}

/// On a date, at an institution, what cover does this person have, and why? Card status,
/// filings and the answer with reasons. Institutions see names and IDs masked.
#[utoipa::path(get, path = "/api/v1/cover", params(CoverQuery),
    responses((status = 200, description = "cover with reasons"), (status = 404, body = Problem)))]
pub async fn get_cover(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<CoverQuery>,
) -> Result<Json<CoverResponse>, AppError> {
    let date = date_or(caller.today, q.date.as_deref().unwrap_or(""))?;
    let rid;
    let whom = match (&q.resident_id, q.person_id) {
        (Some(r), _) => {
            rid = r.trim().parse().map_err(|mut e: InvalidValue| {
                e.field = "resident_id";
                e
            })?;
            Whom::ResidentId(&rid)
        }
        (None, Some(id)) => Whom::Id(id),
        (None, None) => {
            return Err(
                InvalidValue::new("resident_id", "required", "请提供身份证号码", "give the resident ID number").into()
            )
        }
    };
    crate::service::cover::count_lookup(&state, &caller)?;
    let (p, r) = svc::cover(&state.store, &caller, whom, date, q.institution.as_deref()).await?;
    let institution_caller = caller.institution().is_some();
    let person = PersonBrief {
        id: p.id,
        name: if institution_caller { p.name.masked() } else { p.name.to_string() },
        resident_id: if institution_caller { p.resident_id.masked() } else { p.resident_id.to_string() },
        insured_region: p.insured_region.to_string(),
        status: p.status.code().into(),
    };
    Ok(Json(CoverResponse {
        person,
        date: date.to_string(),
        card: r.card,
        filings: r.filings,
        cards: r.cards,
        certificates: r.certificates,
        institution: r.institution.map(|i| i.code),
        cover: r.cover,
    }))
}

/// Issue a referral certificate (转诊证明) with the hospital's seal (institutions of county
/// level or above that may issue them).
#[utoipa::path(post, path = "/api/v1/referrals", request_body = ReferralForm,
    responses((status = 201), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn issue_referral(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<ReferralForm>,
) -> Result<(StatusCode, Json<Referral>), AppError> {
    let input = f.parse().map_err(AppError::validation)?;
    Ok((StatusCode::CREATED, Json(svc::issue_referral(&state.store, &caller, &input).await?)))
}

/// Check a referral certificate by number (any institution; the agency for its regions).
#[utoipa::path(get, path = "/api/v1/referrals/{number}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_referral(
    State(state): State<SharedState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<Referral>, AppError> {
    Ok(Json(svc::referral(&state.store, &caller, &number).await?))
}

/// The second confirmation: the issuing hospital's social security window seals it.
#[utoipa::path(post, path = "/api/v1/referrals/{number}/seal", request_body = SealForm,
    responses((status = 200), (status = 422, body = Problem)))]
pub async fn seal_referral(
    State(state): State<SharedState>,
    caller: Caller,
    Path(number): Path<String>,
    Json(f): Json<SealForm>,
) -> Result<Json<Referral>, AppError> {
    Ok(Json(svc::seal_referral(&state.store, &caller, &number, &f.by).await?))
}
