//! Settlements and the individual account over the JSON API (the same rules as the portal:
//! a person their own, staff their regions' persons, a hospital its own settlements).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::settlement as svc;
use crate::SharedState;

/// A settlement with its settlement list (医保结算清单) and status.
#[utoipa::path(get, path = "/api/v1/settlements/{setl_id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_settlement(
    State(state): State<SharedState>,
    caller: Caller,
    Path(setl_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let s = svc::settlement(&state.store, &caller, &setl_id).await?;
    Ok(Json(json!({
        "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "status": s.status, "year": s.year,
        "setl_time": s.setl_time, "setl_list": s.list, "ytd_delta": s.ytd_delta,
    })))
}

/// A person's settlements (newest first) and individual account with its entries.
#[utoipa::path(get, path = "/api/v1/persons/{id}/settlements", responses((status = 200), (status = 404, body = Problem)))]
pub async fn person_settlements(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (_, settlements, account) = svc::person_settlements(&state.store, &caller, id).await?;
    let rows: Vec<Value> = settlements
        .iter()
        .map(|s| {
            json!({
                "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "status": s.status, "setl_time": s.setl_time,
                "fixmedins_name": s.list.basic.fixmedins_name, "medfee_sumamt": s.list.medfee_sumamt,
                "fund_pay_sumamt": s.list.fund_pay_sumamt, "acct_pay": s.list.acct_pay,
                "psn_cash_pay": s.list.psn_cash_pay,
            })
        })
        .collect();
    Ok(Json(json!({ "settlements": rows, "account": account })))
}
