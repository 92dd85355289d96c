//! Audit (稽核) over HTTP: persons' medical history files, pre-evaluations of filings, the
//! comparison of a claim with its pre-evaluation, and audit tasks with their photos.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_core::history::{HistoryInput, HistorySource};
use yibao_core::inspection::{AuditTaskKind, Conclusion, PreEvaluation};
use yibao_store::{AuditPhoto, AuditTask, Concluded, HistoryEntry, NewTask, StoredPreEvaluation};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::forms::upload::FormWithFile;
use crate::service::audit as svc;
use crate::SharedState;

/// A person's medical history file (参保人病史档案), the latest first: staff who see the person
/// in full, and the person.
#[utoipa::path(get, path = "/api/v1/persons/{id}/medical-history", responses((status = 200), (status = 404, body = Problem)))]
pub async fn medical_history(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<HistoryEntry>>, AppError> {
    Ok(Json(svc::medical_history(&state.store, &caller, id).await?.1))
}

#[derive(Deserialize, ToSchema)]
pub struct NewHistoryEntry {
    /// `diagnosis` (an ICD-10 code required), `surgery`, `chronic`, `allergy`.
    #[schema(value_type = String)]
    pub kind: yibao_core::history::HistoryKind,
    #[serde(default)]
    pub code: String,
    pub name: String,
    /// `YYYY-MM-DD`, not after today.
    #[schema(value_type = String)]
    pub noted_on: chrono::NaiveDate,
    /// `audit` or `document`.
    #[schema(value_type = String)]
    pub source: HistorySource,
    /// The audit task, or the document's name or number.
    pub source_ref: String,
}

/// An auditor adds an entry to a person's medical history file.
#[utoipa::path(post, path = "/api/v1/persons/{id}/medical-history", request_body = NewHistoryEntry,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_history(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(e): Json<NewHistoryEntry>,
) -> Result<(StatusCode, Json<HistoryEntry>), AppError> {
    let input = HistoryInput { kind: e.kind, code: e.code, name: e.name, noted_on: e.noted_on };
    let entry = svc::add_history(&state.store, &caller, id, &input, e.source, &e.source_ref).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// A filing's pre-evaluation (预评估), if one was required: for the staff who handle the
/// filing and the person.
#[utoipa::path(get, path = "/api/v1/filings/{id}/pre-evaluation", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_pre_evaluation(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<StoredPreEvaluation>, AppError> {
    svc::pre_evaluation(&state.store, &caller, id).await?.map(Json).ok_or_else(|| AppError::not_found("pre-evaluation"))
}

#[derive(Deserialize, ToSchema)]
pub struct RequirePreEvaluation {
    /// What the person is asked to bring, and when to come.
    pub note: String,
}

/// A clerk asks the person of an applied filing to come in first; the filing cannot be
/// approved until the pre-evaluation is recorded. The person is told.
#[utoipa::path(post, path = "/api/v1/filings/{id}/pre-evaluation", request_body = RequirePreEvaluation,
    responses((status = 201), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn require_pre_evaluation(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<RequirePreEvaluation>,
) -> Result<(StatusCode, Json<StoredPreEvaluation>), AppError> {
    Ok((StatusCode::CREATED, Json(svc::require_pre_evaluation(&state.store, &caller, id, &r.note).await?)))
}

#[derive(Deserialize, ToSchema)]
pub struct RecordPreEvaluation {
    /// The pre-evaluation's version (from GET), refused as stale if it changed.
    pub version: i64,
    /// `condition`, `diagnosis_code` (ICD-10), `diagnosis_name`, `surgery_planned`,
    /// `treatment`, and optionally `expected_days`, `expected_amount` (yuan),
    /// `photos_required`, `recheck_within_days`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: PreEvaluation,
}

/// A clerk or auditor records what the agency saw when the person came in.
#[utoipa::path(put, path = "/api/v1/filings/{id}/pre-evaluation", request_body = RecordPreEvaluation,
    responses((status = 200), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_pre_evaluation(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<RecordPreEvaluation>,
) -> Result<Json<StoredPreEvaluation>, AppError> {
    Ok(Json(svc::record_pre_evaluation(&state.store, &caller, id, r.version, &r.record).await?))
}

/// How a claim compares with the pre-evaluation of its filing: `null` without one.
#[utoipa::path(get, path = "/api/v1/claims/{id}/comparison", responses((status = 200), (status = 404, body = Problem)))]
pub async fn claim_comparison(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (claim, standing) = crate::service::claims::claim(&state.store, &caller, id).await?;
    if standing != crate::service::claims::Standing::Staff {
        return Err(AppError::forbidden());
    }
    Ok(comparison_json(svc::claim_comparison(&state.store, &claim).await?))
}

/// How a direct settlement's stay compares with the pre-evaluation of its filing: `null`
/// without one (reviewers and auditors of the person's region).
#[utoipa::path(get, path = "/api/v1/settlements/{setl_id}/comparison", responses((status = 200), (status = 404, body = Problem)))]
pub async fn settlement_comparison(
    State(state): State<SharedState>,
    caller: Caller,
    Path(setl_id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    Ok(comparison_json(svc::settlement_comparison_for(&state.store, &caller, &setl_id).await?))
}

fn comparison_json(found: Option<svc::Compared>) -> Json<serde_json::Value> {
    Json(match found {
        Some((pre, differences)) => serde_json::json!({ "pre_evaluation": pre, "differences": differences }),
        None => serde_json::Value::Null,
    })
}

#[derive(Deserialize)]
pub struct TaskQuery {
    /// `true`: concluded tasks too.
    #[serde(default)]
    pub all: bool,
}

/// The audit tasks of the caller's regions, due soonest first (auditors).
#[utoipa::path(get, path = "/api/v1/audit-tasks", params(("all" = Option<bool>, Query, description = "concluded too")),
    responses((status = 200)))]
pub async fn audit_tasks(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<TaskQuery>,
) -> Result<Json<Vec<AuditTask>>, AppError> {
    Ok(Json(svc::audit_tasks(&state.store, &caller, !q.all).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewAuditTask {
    /// `on_site`, `recheck` or `sample`.
    #[schema(value_type = String)]
    pub kind: AuditTaskKind,
    pub person_id: i64,
    #[serde(default)]
    pub claim_id: Option<i64>,
    #[serde(default)]
    pub visit_id: Option<i64>,
    #[serde(default)]
    pub filing_id: Option<i64>,
    /// Where: the hospital.
    pub place: String,
    /// An auditor's username, or empty: any auditor of the region.
    #[serde(default)]
    pub assignee: String,
    #[schema(value_type = String)]
    pub due_on: NaiveDate,
    #[serde(default)]
    pub instructions: String,
}

/// Send an auditor on a task (auditors).
#[utoipa::path(post, path = "/api/v1/audit-tasks", request_body = NewAuditTask,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_audit_task(
    State(state): State<SharedState>,
    caller: Caller,
    Json(t): Json<NewAuditTask>,
) -> Result<(StatusCode, Json<AuditTask>), AppError> {
    let task = NewTask {
        kind: t.kind,
        person_id: t.person_id,
        claim_id: t.claim_id,
        visit_id: t.visit_id,
        filing_id: t.filing_id,
        place: t.place,
        assignee: t.assignee,
        due_on: t.due_on,
        instructions: t.instructions,
    };
    Ok((StatusCode::CREATED, Json(svc::create_audit_task(&state.store, &caller, &task).await?)))
}

/// One audit task with its photos (auditors of its region).
#[utoipa::path(get, path = "/api/v1/audit-tasks/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn audit_task(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AuditTask>, AppError> {
    Ok(Json(svc::audit_task(&state.store, &caller, id).await?))
}

#[derive(Deserialize)]
pub struct PhotoForm {
    /// When the photo was taken, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD HH:MM` (China time).
    pub taken_at: String,
    #[serde(default)]
    pub caption: String,
}

/// The moment a photo was taken, as a form gives it.
pub(crate) fn taken_at(text: &str) -> Result<NaiveDateTime, AppError> {
    let t = text.trim().replace('T', " ");
    NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S"))
        .map_err(|_| {
            AppError::validation(vec![yibao_core::InvalidValue::new(
                "taken_at",
                "bad_time",
                "请填写拍摄时间，如 2026-11-20 10:30",
                "give when the photo was taken, e.g. 2026-11-20 10:30",
            )])
        })
}

/// Add a photo to an open task: multipart with `file`, `taken_at` and `caption`.
#[utoipa::path(post, path = "/api/v1/audit-tasks/{id}/photos",
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_audit_photo(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form, file }: FormWithFile<PhotoForm>,
) -> Result<(StatusCode, Json<AuditPhoto>), AppError> {
    let file = crate::forms::upload::required_file(file)?;
    let at = taken_at(&form.taken_at)?;
    let photo = svc::add_audit_photo(&state.store, &state.blobs, &caller, id, file, at, &form.caption).await?;
    Ok((StatusCode::CREATED, Json(photo)))
}

#[derive(Deserialize, ToSchema)]
pub struct TaskConclusion {
    pub version: i64,
    #[schema(value_type = String)]
    pub visited_on: NaiveDate,
    pub findings: String,
    /// `confirmed`, `false_admission`, `bed_without_treatment` or `other`.
    #[schema(value_type = String)]
    pub conclusion: Conclusion,
}

/// Take a task sent to the region's auditors as a whole: it is the caller's from now on.
#[utoipa::path(post, path = "/api/v1/audit-tasks/{id}/take",
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn take_audit_task(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<AuditTask>, AppError> {
    Ok(Json(svc::take_audit_task(&state.store, &caller, id).await?))
}

/// Conclude a task: what was found, and whether the stay goes on.
#[utoipa::path(post, path = "/api/v1/audit-tasks/{id}/conclusion", request_body = TaskConclusion,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn conclude_audit_task(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(c): Json<TaskConclusion>,
) -> Result<Json<AuditTask>, AppError> {
    let concluded = Concluded { visited_on: c.visited_on, findings: c.findings, conclusion: c.conclusion };
    let task = svc::conclude_audit_task(&state.store, &caller, id, c.version, &concluded).await?;
    Ok(Json(task))
}
