//! Contributions over HTTP: the year's rules, a unit's declarations and bills, payments from
//! receipts, and the months a person has paid.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_core::contribution::months::YearMonth;
use yibao_core::contribution::ContributionRules;
use yibao_core::{AdminCode, Fen, InvalidValue, ResidentId};
use yibao_store::{Bill, Declared, PaidMonth, PaymentMatch};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::contributions as svc;
use crate::SharedState;

/// Import a region's contribution rules for a year (policy administrator); the body is the
/// TOML document (`docs/formats/contributions.md`).
#[utoipa::path(post, path = "/api/v1/contribution-rules", responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_rules(
    State(state): State<SharedState>,
    caller: Caller,
    body: String,
) -> Result<(StatusCode, Json<ContributionRules>), AppError> {
    Ok((StatusCode::CREATED, Json(svc::import_rules(&state.store, &caller, &body).await?)))
}

/// The contribution rules in force in a region for a year.
#[utoipa::path(get, path = "/api/v1/contribution-rules/{region}/{year}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_rules(
    State(state): State<SharedState>,
    caller: Caller,
    Path((region, year)): Path<(String, i32)>,
) -> Result<Json<ContributionRules>, AppError> {
    let region: AdminCode = region.parse()?;
    Ok(Json(svc::rules(&state.store, &caller, region, year).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Declaration {
    /// `2026-10`.
    pub month: String,
    pub lines: Vec<DeclaredLine>,
}

#[derive(Deserialize, ToSchema)]
pub struct DeclaredLine {
    pub resident_id: String,
    /// The month's wage, yuan (`"8000.00"`).
    pub wage: String,
}

/// A unit declares a month's wages of its employees; the bill, to the fen (every bad line
/// named, nothing stored). A month declared and unpaid may be declared again.
#[utoipa::path(post, path = "/api/v1/employers/{id}/declarations", request_body = Declaration,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn declare(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(d): Json<Declaration>,
) -> Result<(StatusCode, Json<Bill>), AppError> {
    let month: YearMonth = d.month.parse()?;
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, l) in d.lines.iter().enumerate() {
        match (l.resident_id.trim().parse::<ResidentId>(), l.wage.parse::<Fen>()) {
            (Ok(resident_id), Ok(wage)) => lines.push(Declared { resident_id, wage }),
            (Err(e), _) | (_, Err(e)) => errors.push(InvalidValue::new(
                "lines",
                e.code,
                format!("第 {} 行：{}", i + 1, e.message.zh),
                format!("line {}: {}", i + 1, e.message.en),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok((StatusCode::CREATED, Json(svc::declare(&state.store, &caller, id, month, &lines).await?)))
}

/// A unit declares a month from a file, the body as sent (CSV, UTF-8 or GBK, or an XLSX
/// workbook's first sheet: columns 身份证号 and 月工资); every bad row named by its row.
#[utoipa::path(post, path = "/api/v1/employers/{id}/declarations/{month}/file", request_body(content = Vec<u8>,
    content_type = "text/csv"), responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn declare_file(
    State(state): State<SharedState>,
    caller: Caller,
    Path((id, month)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Bill>), AppError> {
    let month: YearMonth = month.parse()?;
    Ok((StatusCode::CREATED, Json(svc::declare_file(&state.store, &caller, id, month, &body).await?)))
}

/// A unit's bills, the latest month first.
#[utoipa::path(get, path = "/api/v1/employers/{id}/bills", responses((status = 200), (status = 404, body = Problem)))]
pub async fn bills(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Bill>>, AppError> {
    Ok(Json(svc::bills(&state.store, &caller, id).await?))
}

/// One bill with its lines.
#[utoipa::path(get, path = "/api/v1/contribution-bills/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn bill(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Bill>, AppError> {
    Ok(Json(svc::bill(&state.store, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct Payment {
    /// Yuan; the bill's exact total.
    pub amount: String,
    pub paid_on: NaiveDate,
    /// The bank's or the tax authority's reference.
    pub reference: String,
}

/// Finance records a bill's payment: only its exact total.
#[utoipa::path(post, path = "/api/v1/contribution-bills/{id}/payment", request_body = Payment,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_payment(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(p): Json<Payment>,
) -> Result<Json<Bill>, AppError> {
    let amount: Fen = p.amount.parse()?;
    Ok(Json(svc::record_payment(&state.store, &caller, id, amount, p.paid_on, &p.reference).await?))
}

/// Finance imports a receipt file (CSV: `credit_code,month,amount,paid_on,reference`, a header
/// first): each line's outcome — recorded against its bill, or why not.
#[utoipa::path(post, path = "/api/v1/contribution-payments", responses((status = 200)))]
pub async fn import_payments(
    State(state): State<SharedState>,
    caller: Caller,
    body: String,
) -> Result<Json<Vec<PaymentMatch>>, AppError> {
    Ok(Json(svc::import_payments(&state.store, &caller, &body).await?))
}

/// The months a person has paid (the person, and staff who see the person in full).
#[utoipa::path(get, path = "/api/v1/persons/{id}/contributions", responses((status = 200), (status = 404, body = Problem)))]
pub async fn paid_months(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<PaidMonth>>, AppError> {
    Ok(Json(svc::paid_months(&state.store, &caller, id).await?))
}

/// A payment gateway's notification of an online payment (`sim`: the demo's simulator, signed
/// with HMAC-SHA256 in `x-sim-signature`). A signature that does not verify is refused (401,
/// logged); a verified one is processed once, whatever it says, and answered `SUCCESS` so that
/// the gateway stops sending it.
#[utoipa::path(post, path = "/api/v1/pay/notify/{gateway}", request_body = String, responses((status = 200), (status = 401, body = Problem)))]
pub async fn payment_notice(
    State(state): State<SharedState>,
    Path(gateway): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, AppError> {
    let today = state.today.unwrap_or_else(crate::context::china_today);
    let outcome = crate::service::pay::notify(&state, &gateway, &headers, &body, today).await?;
    Ok(Json(serde_json::json!({ "code": "SUCCESS", "outcome": outcome })))
}
