//! The fund's books over the API.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::books as svc;
use crate::SharedState;

/// The balances of the caller's funds and the proof that the books balance and agree with
/// the records (`differences` empty).
#[utoipa::path(get, path = "/api/v1/books", responses((status = 200), (status = 403, body = Problem)))]
pub async fn check(State(state): State<SharedState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let c = svc::check(&state.store, &caller).await?;
    let balances: Vec<Value> =
        c.balances.iter().map(|(f, a, v)| json!({ "fund": f.to_string(), "account": a.code(), "amount": v })).collect();
    Ok(Json(json!({ "clean": c.clean(), "entries": c.entries, "balances": balances, "differences": c.differences })))
}

/// Income, expenditure, balance and months covered by fund and month.
#[utoipa::path(get, path = "/api/v1/books/months", responses((status = 200), (status = 403, body = Problem)))]
pub async fn months(State(state): State<SharedState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let rows = svc::months(&state.store, &caller).await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({ "fund": r.fund.to_string(), "month": r.month, "income": r.income, "expenditure": r.expenditure,
                    "balance": r.balance, "months_covered": r.months_covered() })
        })
        .collect();
    Ok(Json(Value::from(rows)))
}

/// The same as a workbook.
#[utoipa::path(get, path = "/api/v1/books/months.xlsx", responses((status = 200), (status = 403, body = Problem)))]
pub async fn months_xlsx(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let rows = svc::months(&state.store, &caller).await?;
    let bytes = yibao_core::books::monthly_xlsx(&rows)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"fund-months.xlsx\""),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CloseForm {
    /// `2026-10`.
    pub month: String,
}

/// Finance closes a month that is over: its balances are frozen.
#[utoipa::path(post, path = "/api/v1/books/close", request_body = CloseForm,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn close(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<CloseForm>,
) -> Result<StatusCode, AppError> {
    let month = f.month.trim().parse()?;
    svc::close(&state.store, &caller, month).await?;
    Ok(StatusCode::NO_CONTENT)
}
