//! 我的个人账户 over the API: the ledger and 门诊共济 (authorise, revoke a family member).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use yibao_core::ResidentId;
use yibao_store::{FamilyMember, Relation};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::accounts::{self as svc, MyAccount};
use crate::SharedState;

/// The logged-in person's individual account: balance, every entry with where it came from,
/// the family members authorised and what they bought on it.
#[utoipa::path(get, path = "/api/v1/my/account", responses((status = 200), (status = 403, body = Problem)))]
pub async fn my_account(State(state): State<SharedState>, caller: Caller) -> Result<Json<MyAccount>, AppError> {
    Ok(Json(svc::my_account(&state.store, &caller).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FamilyForm {
    /// The member's ID number.
    member_id: String,
    member_name: String,
    /// `spouse`, `parent` or `child`.
    relation: String,
}

/// Authorise a family member (spouse, parent, child) to use the account (门诊共济).
#[utoipa::path(post, path = "/api/v1/my/family", request_body = FamilyForm,
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn authorise_family(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<FamilyForm>,
) -> Result<(StatusCode, Json<FamilyMember>), AppError> {
    let id: ResidentId = f.member_id.trim().parse()?;
    let relation = Relation::parse(&f.relation)?;
    Ok((StatusCode::CREATED, Json(svc::authorise(&state.store, &caller, &id, &f.member_name, relation).await?)))
}

/// Revoke a family member's use of the account, at once.
#[utoipa::path(post, path = "/api/v1/my/family/{id}/revoke", responses((status = 200), (status = 404, body = Problem)))]
pub async fn revoke_family(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<FamilyMember>, AppError> {
    Ok(Json(svc::revoke(&state.store, &caller, id).await?))
}
