//! Audit (稽核) over HTTP: persons' medical history files.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_core::history::{HistoryInput, HistorySource};
use yibao_store::HistoryEntry;

use crate::context::Caller;
use crate::error::{AppError, Problem};
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
