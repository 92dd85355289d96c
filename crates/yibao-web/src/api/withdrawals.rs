//! Withdrawals from individual accounts over the API: a clerk records one, finance decides
//! it, the holder and staff of the region read them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use yibao_core::contribution::withdrawal::WithdrawalReason;
use yibao_core::{Fen, InvalidValue};
use yibao_store::{Heir, Withdrawal, WithdrawalRequest};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::withdrawals as svc;
use crate::SharedState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WithdrawalForm {
    /// `window`, `leaving_region` or `death`.
    pub reason: String,
    /// At the window, the amount (yuan, `"200.00"`); the whole balance otherwise.
    #[serde(default)]
    pub amount: Option<String>,
    /// The papers the clerk saw, by code (`card`, `id_card`, `leaving_proof`,
    /// `death_certificate`, `heir_id`, `kinship_proof`, `heir_bank_card`).
    #[serde(default)]
    pub papers: Vec<String>,
    #[serde(default)]
    pub heir: Option<HeirForm>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HeirForm {
    pub name: String,
    pub resident_id: String,
    pub bank_name: String,
    pub bank_card: String,
}

impl WithdrawalForm {
    /// The request, or every field that cannot be read.
    pub fn read(&self) -> Result<WithdrawalRequest, AppError> {
        let mut errors = Vec::new();
        let reason = WithdrawalReason::parse(&self.reason).map_err(|e| errors.push(e)).ok();
        let amount = match self.amount.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => a.parse::<Fen>().map_err(|e| errors.push(e)).ok(),
            None => None,
        };
        let heir = self.heir.as_ref().and_then(|h| {
            let rid = h
                .resident_id
                .trim()
                .parse()
                .map_err(|e: InvalidValue| errors.push(InvalidValue { field: "heir.resident_id", ..e }));
            let card = h
                .bank_card
                .trim()
                .parse()
                .map_err(|e: InvalidValue| errors.push(InvalidValue { field: "heir.bank_card", ..e }));
            Some(Heir {
                name: h.name.clone(),
                resident_id: rid.ok()?,
                bank_name: h.bank_name.clone(),
                bank_card: card.ok()?,
            })
        });
        match reason {
            Some(reason) if errors.is_empty() => {
                Ok(WithdrawalRequest { reason, amount, papers: self.papers.clone(), heir })
            }
            _ => Err(AppError::validation(errors)),
        }
    }
}

/// A clerk records a withdrawal from a person's individual account, with the papers seen.
#[utoipa::path(post, path = "/api/v1/persons/{id}/withdrawals", request_body = WithdrawalForm,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn request(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<WithdrawalForm>,
) -> Result<(StatusCode, Json<Withdrawal>), AppError> {
    let req = f.read()?;
    Ok((StatusCode::CREATED, Json(svc::request(&state.store, &caller, id, &req).await?)))
}

/// A person's withdrawals, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/withdrawals", responses((status = 200), (status = 404, body = Problem)))]
pub async fn of_person(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Withdrawal>>, AppError> {
    Ok(Json(svc::of_person(&state.store, &caller, id).await?))
}

/// The requests of the caller's regions waiting for a decision.
#[utoipa::path(get, path = "/api/v1/withdrawals", responses((status = 200), (status = 403, body = Problem)))]
pub async fn waiting(State(state): State<SharedState>, caller: Caller) -> Result<Json<Vec<Withdrawal>>, AppError> {
    Ok(Json(svc::waiting(&state.store, &caller).await?))
}

/// One withdrawal.
#[utoipa::path(get, path = "/api/v1/withdrawals/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn one(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Withdrawal>, AppError> {
    Ok(Json(svc::one(&state.store, &caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionForm {
    /// The version shown.
    pub version: i64,
    pub approve: bool,
    /// Why, when refused.
    #[serde(default)]
    pub note: String,
}

/// Finance approves (the account debited, a payment order made) or refuses a request; not
/// the clerk who recorded it.
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/decision", request_body = DecisionForm,
    responses((status = 200), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decide(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<DecisionForm>,
) -> Result<Json<Withdrawal>, AppError> {
    Ok(Json(svc::decide(&state.store, &caller, id, f.version, f.approve, &f.note).await?))
}

/// A withdrawal's payment order (once approved): where the money is, or why not.
#[utoipa::path(get, path = "/api/v1/withdrawals/{id}/payment", responses((status = 200), (status = 404, body = Problem)))]
pub async fn payment(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, AppError> {
    let order = svc::payment(&state.store, &caller, id).await?;
    let full = !caller.role().is_staff() || caller.can(yibao_core::Permission::ViewPersonDetail);
    Ok(Json(crate::api::payments::order_json(&order, full, caller.role().is_staff())))
}

/// The holder (or a clerk, then confirmed by another) gives the account a withdrawal is paid
/// to: none registered, or the bank refused the last one.
#[utoipa::path(put, path = "/api/v1/withdrawals/{id}/payment/account", request_body = crate::api::payments::AccountBody,
    responses((status = 200), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn give_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<crate::api::payments::AccountBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    let card: yibao_core::BankCardNumber = body.bank_card.trim().parse()?;
    let order = svc::give_account(&state.store, &caller, id, &body.bank_name, &card).await?;
    Ok(Json(crate::api::payments::order_json(&order, true, caller.role().is_staff())))
}

/// Confirms the account a clerk gave for a withdrawal's payment: another clerk or the holder.
#[utoipa::path(post, path = "/api/v1/withdrawals/{id}/payment/account/confirm",
    request_body = crate::api::payments::ConfirmBody,
    responses((status = 200), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<crate::api::payments::ConfirmBody>,
) -> Result<Json<serde_json::Value>, AppError> {
    let order = svc::confirm_account(&state.store, &caller, id, body.version).await?;
    Ok(Json(crate::api::payments::order_json(&order, true, caller.role().is_staff())))
}
