//! Clearing over the API: an institution (with its key, or its staff logged in) applies for
//! a period, previews it, objects to a deduction, withdraws an application and gives its
//! account; auditors decide objections and review; finance approves.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_store::{Assessment, Clearing, InstitutionAccount, Objection, Preview};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::clearing as svc;
use crate::SharedState;

#[derive(Debug, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct PeriodForm {
    /// A day of the period (`YYYY-MM-DD`); the period is the region's (a month by default).
    pub day: NaiveDate,
}

/// The institution's clearings, or those of a staff caller's regions; newest first.
#[utoipa::path(get, path = "/api/v1/clearings", responses((status = 200), (status = 403, body = Problem)))]
pub async fn list(State(state): State<SharedState>, caller: Caller) -> Result<Json<Vec<Clearing>>, AppError> {
    Ok(Json(svc::list(&state.store, &caller).await?))
}

/// What applying for a period would build: the statement and its settlements.
#[utoipa::path(get, path = "/api/v1/clearings/preview", params(PeriodForm),
    responses((status = 200), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn preview(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<PeriodForm>,
) -> Result<Json<Preview>, AppError> {
    Ok(Json(svc::preview(&state.store, &caller, q.day).await?))
}

/// The institution applies for clearing of a period that is over.
#[utoipa::path(post, path = "/api/v1/clearings", request_body = PeriodForm,
    responses((status = 201), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn apply(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<PeriodForm>,
) -> Result<(StatusCode, Json<Clearing>), AppError> {
    Ok((StatusCode::CREATED, Json(svc::apply(&state.store, &caller, f.day).await?)))
}

/// One clearing with its settlements, objections and payment.
#[utoipa::path(get, path = "/api/v1/clearings/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn one(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (c, lines, objections, order) = svc::detail(&state.store, &caller, id).await?;
    let order = order.map(|o| crate::api::payments::order_json(&o, true, caller.role().is_staff()));
    Ok(Json(json!({ "clearing": c, "lines": lines, "objections": objections, "payment": order })))
}

/// The institution withdraws its application before review (as 3204).
#[utoipa::path(post, path = "/api/v1/clearings/{id}/cancel",
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Clearing>, AppError> {
    Ok(Json(svc::cancel(&state.store, &caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ObjectionForm {
    /// The finding whose deduction is objected to.
    pub hit_id: i64,
    pub grounds: String,
}

/// The institution objects to a deduction, while its clearing waits for review.
#[utoipa::path(post, path = "/api/v1/clearings/{id}/objections", request_body = ObjectionForm,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn object(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<ObjectionForm>,
) -> Result<(StatusCode, Json<Objection>), AppError> {
    Ok((StatusCode::CREATED, Json(svc::object(&state.store, &caller, id, f.hit_id, &f.grounds).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ObjectionDecision {
    /// The objection's version shown.
    pub version: i64,
    /// Upheld: the deduction is withdrawn.
    pub uphold: bool,
    pub reason: String,
}

/// An auditor decides an objection; upheld, the statement is built again without it.
#[utoipa::path(post, path = "/api/v1/clearings/{id}/objections/{objection}/decision", request_body = ObjectionDecision,
    responses((status = 200), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_objection(
    State(state): State<SharedState>,
    caller: Caller,
    Path((id, objection)): Path<(i64, i64)>,
    Json(f): Json<ObjectionDecision>,
) -> Result<Json<Clearing>, AppError> {
    Ok(Json(svc::decide_objection(&state.store, &caller, id, objection, f.version, f.uphold, &f.reason).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VersionForm {
    /// The clearing's version shown.
    pub version: i64,
}

/// An auditor reviews the statement (every objection decided).
#[utoipa::path(post, path = "/api/v1/clearings/{id}/review", request_body = VersionForm,
    responses((status = 200), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn review(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<VersionForm>,
) -> Result<Json<Clearing>, AppError> {
    Ok(Json(svc::review(&state.store, &caller, id, f.version).await?))
}

/// Finance approves a reviewed clearing (not its reviewer): the payment order is made.
#[utoipa::path(post, path = "/api/v1/clearings/{id}/approval", request_body = VersionForm,
    responses((status = 200), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn approve(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<VersionForm>,
) -> Result<Json<Value>, AppError> {
    let (c, order) = svc::approve(&state.store, &caller, id, f.version).await?;
    let order = order.map(|o| crate::api::payments::order_json(&o, true, true));
    Ok(Json(json!({ "clearing": c, "payment": order })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AccountForm {
    pub account_name: String,
    pub bank_name: String,
    /// The corporate account number (对公账号), 8–32 digits.
    pub account: String,
}

/// The account the institution is paid to (masked).
#[utoipa::path(get, path = "/api/v1/institution/account", responses((status = 200), (status = 403, body = Problem)))]
pub async fn account(State(state): State<SharedState>, caller: Caller) -> Result<Json<Value>, AppError> {
    Ok(Json(account_json(svc::account(&state.store, &caller).await?.as_ref())))
}

/// The institution gives or changes the account it is paid to; its orders waiting for one
/// take it.
#[utoipa::path(put, path = "/api/v1/institution/account", request_body = AccountForm,
    responses((status = 200), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_account(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<AccountForm>,
) -> Result<Json<Value>, AppError> {
    let a = svc::set_account(&state.store, &caller, &f.account_name, &f.bank_name, &f.account).await?;
    Ok(Json(account_json(Some(&a))))
}

fn account_json(a: Option<&InstitutionAccount>) -> Value {
    match a {
        Some(a) => json!({ "account_name": a.account_name, "bank_name": a.bank_name, "account": a.account.masked() }),
        None => Value::Null,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssessmentForm {
    /// The institution's national code (`fixmedins_code`).
    pub institution: String,
    /// A year that is over.
    pub year: i32,
    /// The score out of 100.
    pub score: u32,
    #[serde(default)]
    pub note: String,
}

/// The annual assessments (年度考核) the caller may read: the institution's own, or those of
/// a staff caller's regions.
#[utoipa::path(get, path = "/api/v1/assessments", responses((status = 200), (status = 403, body = Problem)))]
pub async fn assessments(State(state): State<SharedState>, caller: Caller) -> Result<Json<Vec<Assessment>>, AppError> {
    Ok(Json(svc::assessments(&state.store, &caller).await?))
}

/// An auditor records an institution's assessment for a year that is over; the share of that
/// year's quality guarantee deposit it releases is paid with the institution's next clearing.
#[utoipa::path(post, path = "/api/v1/assessments", request_body = AssessmentForm,
    responses((status = 201), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn assess(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<AssessmentForm>,
) -> Result<(StatusCode, Json<Assessment>), AppError> {
    let out = svc::assess(&state.store, &caller, &f.institution, f.year, f.score, &f.note).await?;
    Ok((StatusCode::CREATED, Json(out)))
}
