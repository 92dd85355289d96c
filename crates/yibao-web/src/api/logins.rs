//! The administrator's accounts over the API, after they are made: disable and enable,
//! unlock, reset a password, and change a staff account's role or regions (proposed by one
//! administrator, approved or rejected by a second).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_core::{Role, Scope};

use super::AccountView;
use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::logins as svc;
use crate::SharedState;

type Answer = Result<Json<AccountView>, AppError>;

fn view(a: &yibao_store::Account) -> Json<AccountView> {
    Json(a.into())
}

/// Disable an account: its sessions end at once.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable",
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn disable(State(state): State<SharedState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    Ok(view(&svc::set_disabled(&state.store, &caller, id, true).await?))
}

/// Enable a disabled account.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/enable",
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn enable(State(state): State<SharedState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    Ok(view(&svc::set_disabled(&state.store, &caller, id, false).await?))
}

/// Unlock an account: the log-in delays its failures set off end.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/unlock",
    responses((status = 200, body = AccountView), (status = 404, body = Problem)))]
pub async fn unlock(State(state): State<SharedState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    Ok(view(&svc::unlock(&state.store, &state.logins, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordReset {
    /// A temporary password the holder must change at the next log-in.
    password: String,
}

/// Reset a password: every session ends; a staff or insured person's account waits again for
/// a second person's approval, whose activation code completes the password.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/password", request_body = PasswordReset,
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn reset_password(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<PasswordReset>,
) -> Answer {
    Ok(view(&svc::reset_password(&state.store, &caller, id, &r.password).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct AccountChangeRequest {
    /// A staff role: `intake_clerk`, `reviewer`, `second_reviewer`, `auditor`, `finance`,
    /// `policy_admin`, `sys_admin`.
    role: String,
    /// Division codes within the caller's, e.g. `["620300"]`.
    scope: Vec<String>,
}

/// Propose a staff account's new role and regions; they apply when a second administrator
/// approves.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/change", request_body = AccountChangeRequest,
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn propose_change(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<AccountChangeRequest>,
) -> Answer {
    let (role, scope) = parse_change(&r.role, &r.scope.join(","))?;
    Ok(view(&svc::propose_change(&state.store, &caller, id, role, &scope).await?))
}

/// The role and regions of a change, every problem at once.
pub(crate) fn parse_change(role: &str, scope: &str) -> Result<(Role, Scope), AppError> {
    let role = role.trim().parse::<Role>();
    let scope = Scope::parse_list(scope);
    match (role, scope) {
        (Ok(role), Ok(scope)) => Ok((role, scope)),
        (role, scope) => Err(AppError::validation(role.err().into_iter().chain(scope.err()).collect())),
    }
}

/// A second administrator approves a proposed change of role and regions.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/change/approve",
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn approve_change(State(state): State<SharedState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    Ok(view(&svc::decide_change(&state.store, &caller, id, true).await?))
}

/// A second administrator rejects a proposed change.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/change/reject",
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn reject_change(State(state): State<SharedState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    Ok(view(&svc::decide_change(&state.store, &caller, id, false).await?))
}
