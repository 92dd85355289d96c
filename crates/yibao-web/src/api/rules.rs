//! Policies, catalogs, the diagnosis list and the calendar: imported by the policy
//! administrator, read by staff, and a claim adjudicated under them without storing anything.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::{service, SharedState};

/// Stored policy versions of the caller's regions, newest first (without documents).
#[utoipa::path(get, path = "/api/v1/policies",
    responses((status = 200, description = "region, scheme, year, version, name, effective dates, sha256, who imported it and when"),
        (status = 403, body = Problem)))]
pub async fn list_policies(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<yibao_store::PolicySummary>>, AppError> {
    Ok(Json(service::policies(&state.store, &caller).await?))
}

/// One stored policy version with its document as imported.
#[utoipa::path(get, path = "/api/v1/policies/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_policy(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<yibao_store::StoredPolicy>, AppError> {
    Ok(Json(service::policy(&state.store, &caller, id).await?))
}

/// Import a policy document (TOML or JSON, `docs/formats/policy.md`) as a new version.
/// Every problem is reported with its path; nothing invalid is stored.
#[utoipa::path(post, path = "/api/v1/policies", request_body(content = String, content_type = "text/plain"),
    responses((status = 201), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn import_policy(
    State(state): State<SharedState>,
    caller: Caller,
    document: String,
) -> Result<(StatusCode, Json<yibao_store::PolicySummary>), AppError> {
    let summary = service::import_policy(&state.store, &caller, &document).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Catalog imports of the caller's regions, newest first.
#[utoipa::path(get, path = "/api/v1/catalogs", responses((status = 200), (status = 403, body = Problem)))]
pub async fn list_catalog_imports(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<yibao_store::CatalogImport>>, AppError> {
    Ok(Json(service::catalog_imports(&state.store, &caller).await?))
}

/// One catalog import with every rejected row and why.
#[utoipa::path(get, path = "/api/v1/catalogs/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_catalog_import(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<yibao_store::CatalogImport>, AppError> {
    Ok(Json(service::catalog_import(&state.store, &caller, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct CatalogUpload {
    /// The file's name, for the import record.
    file_name: Option<String>,
}

/// Import a catalog file (CSV or XLSX, `docs/formats/catalog.md`; the body is the file).
/// Good rows are stored and refused rows reported with line, field and reason (201). When
/// no row can be stored the answer is 422 with the first refused rows.
#[utoipa::path(post, path = "/api/v1/catalogs", params(CatalogUpload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_catalog(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<CatalogUpload>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<yibao_store::CatalogImport>), AppError> {
    let name = q.file_name.unwrap_or_else(|| "catalog".into());
    let report = service::import_catalog(&state.store, &caller, &name, &body).await?;
    if report.id.is_none() {
        let rows =
            report.rejected.iter().map(|r| (r.line, r.field.as_str(), r.reason_zh.as_str(), r.reason_en.as_str()));
        return Err(service::nothing_imported(rows));
    }
    Ok((StatusCode::CREATED, Json(report)))
}

/// Import the diagnosis list (CSV or XLSX with the columns 诊断编码 and 诊断名称; the body is the
/// file): each good row is stored or replaces its code's name; bad rows are reported with their
/// lines (201). When no row can be stored the answer is 422 with the first bad rows.
#[utoipa::path(post, path = "/api/v1/diagnoses", params(CatalogUpload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_diagnoses(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<CatalogUpload>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<yibao_store::DiagnosisImport>), AppError> {
    let name = q.file_name.unwrap_or_else(|| "diagnoses".into());
    Ok((StatusCode::CREATED, Json(service::import_diagnoses(&state.store, &caller, &name, &body).await?)))
}

#[derive(Deserialize, IntoParams)]
pub struct DiagnosisSearch {
    /// Part of a name, the start of a code, or the name's pinyin initials (「gxy」).
    q: String,
}

/// Diagnoses by part of the name, code or pinyin initials (any logged-in caller).
#[utoipa::path(get, path = "/api/v1/diagnoses", params(DiagnosisSearch), responses((status = 200)))]
pub async fn search_diagnoses(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<DiagnosisSearch>,
) -> Result<Json<Vec<yibao_core::diagnosis::Diagnosis>>, AppError> {
    if caller.session().is_none() && caller.institution().is_none() {
        return Err(AppError::unauthorized());
    }
    Ok(Json(state.store.search_diagnoses(&s.q, 20).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct CatalogSearch {
    /// The catalog's region (a division code in the caller's regions).
    region: String,
    /// Start of a national code or of a name.
    q: Option<String>,
}

/// Catalog entries by code or name prefix (every version, newest import first).
#[utoipa::path(get, path = "/api/v1/catalog-entries", params(CatalogSearch),
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn search_catalog(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<CatalogSearch>,
) -> Result<Json<Vec<yibao_store::StoredEntry>>, AppError> {
    let region = s.region.parse()?;
    Ok(Json(service::search_catalog(&state.store, &caller, region, s.q.as_deref().unwrap_or("")).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PreviewRequest {
    /// The visit and its fee lines with the national platform's field names
    /// (`docs/formats/claim.md`).
    #[schema(value_type = Object)]
    claim: serde_json::Value,
    /// The person's running totals for the year before this claim (`docs/formats/`); none by default.
    #[schema(value_type = Option<Object>)]
    ytd: Option<serde_json::Value>,
}

#[derive(Serialize)]
pub struct PreviewResponse {
    /// Totals, per-line split and trace, with national field names.
    outcome: yibao_core::adjudicate::Outcome,
    /// Every step in words, in the caller's language.
    explanation: Vec<String>,
}

/// Adjudicate a claim under the stored policies and catalogs without storing anything:
/// the totals, each line's split and every step with its reason.
#[utoipa::path(post, path = "/api/v1/adjudicate/preview", request_body = PreviewRequest,
    responses((status = 200, description = "outcome and explanation"), (status = 422, body = Problem)))]
pub async fn adjudicate_preview(
    State(state): State<SharedState>,
    caller: Caller,
    Json(req): Json<PreviewRequest>,
) -> Result<Json<PreviewResponse>, AppError> {
    let claim: yibao_core::adjudicate::Claim = serde_json::from_value(req.claim).map_err(|e| {
        service::claim_problem(&yibao_core::adjudicate::ClaimError::new(
            "",
            format!("就诊数据格式错误：{e}"),
            format!("malformed claim: {e}"),
        ))
    })?;
    let ytd = match req.ytd {
        Some(v) => serde_json::from_value(v).map_err(|e| {
            service::claim_problem(&yibao_core::adjudicate::ClaimError::new(
                "ytd",
                format!("年度累计数据格式错误：{e}"),
                format!("malformed running totals: {e}"),
            ))
        })?,
        None => Default::default(),
    };
    let outcome = service::adjudicate_preview(&state.store, &caller, &claim, &ytd).await?;
    let explanation = outcome.explain(caller.lang);
    Ok(Json(PreviewResponse { outcome, explanation }))
}

#[derive(Serialize)]
pub struct CalendarYearView {
    year: i32,
    source: String,
    holidays: Vec<String>,
    workdays: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct WorkingDays {
    /// The start date (not counted), `YYYY-MM-DD`.
    from: Option<String>,
    /// How many working days after it.
    days: Option<u32>,
}

#[derive(Serialize)]
pub struct CalendarView {
    years: Vec<CalendarYearView>,
    /// With `from` and `days`: the date that many working days after `from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<String>,
}

/// The official working-day calendar: each year's holidays and adjusted working weekends
/// with the notice they come from; with `from` and `days`, the due date that many working
/// days later (422 when it reaches a year not yet published).
#[utoipa::path(get, path = "/api/v1/calendar", params(WorkingDays),
    responses((status = 200), (status = 422, body = Problem)))]
pub async fn get_calendar(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<WorkingDays>,
) -> Result<Json<CalendarView>, AppError> {
    let calendar = service::calendar(&state.store, &caller).await?;
    let due = match (q.from, q.days) {
        (Some(from), Some(days)) => {
            let from = chrono::NaiveDate::parse_from_str(&from, "%Y-%m-%d").map_err(|_| {
                yibao_core::InvalidValue::new("from", "format", "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD")
            })?;
            let due = calendar
                .add_working_days(from, days)
                .map_err(|e| yibao_core::InvalidValue::new("days", "no_calendar", e.message.zh, e.message.en))?;
            Some(due.to_string())
        }
        _ => None,
    };
    let dates = |s: &std::collections::BTreeSet<chrono::NaiveDate>| s.iter().map(ToString::to_string).collect();
    Ok(Json(CalendarView {
        years: calendar
            .years()
            .map(|y| CalendarYearView {
                year: y.year,
                source: y.source.clone(),
                holidays: dates(&y.holidays),
                workdays: dates(&y.workdays),
            })
            .collect(),
        due,
    }))
}

/// Import calendar years (TOML, the format of `crates/yibao-core/data/holidays-cn.toml`):
/// a newly published year, or a correction. Checked first; nothing invalid is stored.
#[utoipa::path(post, path = "/api/v1/calendar", request_body(content = String, content_type = "text/plain"),
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_calendar(
    State(state): State<SharedState>,
    caller: Caller,
    document: String,
) -> Result<(StatusCode, Json<yibao_store::CalendarImport>), AppError> {
    Ok((StatusCode::CREATED, Json(service::import_calendar(&state.store, &caller, &document).await?)))
}
