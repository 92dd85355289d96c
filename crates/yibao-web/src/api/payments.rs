//! Payment to bank cards over the JSON API: a claim's payment and its account, and
//! finance's orders, batches, bank file and bank results. The rules are the portal's
//! (service layer). Finance sees card numbers masked; the full number goes only into the
//! exported bank file.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use yibao_core::payment::OrderState;
use yibao_core::{AdminCode, BankCardNumber};
use yibao_store::{BatchItem, PaymentBatch, PaymentOrder};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::claims::Standing;
use crate::service::payments::{self as svc, BatchStep};
use crate::SharedState;

/// An order as the caller may see it: the full card for the claimant and staff who see
/// persons in full (`full_card`), masked otherwise; the member of staff who gave an
/// unconfirmed account only for staff (`staff`).
pub(crate) fn order_json(o: &PaymentOrder, full_card: bool, staff: bool) -> Value {
    let card = o.bank_card.as_ref().map(|c| if full_card { c.to_string() } else { c.masked() });
    let changed = o.account_changed().then(|| {
        json!({ "approved_with": o.approved_bank_card.as_ref().map(BankCardNumber::masked),
                "now": o.bank_card.as_ref().map(BankCardNumber::masked) })
    });
    json!({
        "account_changed": changed,
        "awaiting_confirmation": o.account_unconfirmed_by.is_some(),
        "version": o.version,
        "account_given_by": if staff { o.account_unconfirmed_by.clone() } else { None },
        "id": o.id, "number": o.number, "claim_id": o.claim_id, "withdrawal_id": o.withdrawal_id,
        "claim_number": o.claim_id.map(|_| &o.subject_number), "subject_number": o.subject_number,
        "person_name": o.person_name, "region": o.region, "payee": o.payee, "account_name": o.account_name,
        "bank_name": o.bank_name, "bank_card": card, "amount": o.amount, "state": o.state.code(),
        "state_label": o.state.label(), "attempt": o.attempt, "approved_on": o.approved_on, "due_on": o.due_on,
        "due_provisional": o.due_provisional, "paid_on": o.paid_on,
        "failure": o.failure.map(|f| json!({ "code": f.code(), "label": f.label(), "what_to_do": f.what_to_do() })),
        "failure_note": o.failure_note,
    })
}

fn batch_json(b: &PaymentBatch, items: Option<&[BatchItem]>) -> Value {
    let mut v = serde_json::to_value(b).unwrap_or(Value::Null);
    if let Some(items) = items {
        v["items"] = items
            .iter()
            .map(|i| {
                let masked = |c: &str| c.parse::<BankCardNumber>().map(|c| c.masked()).unwrap_or_default();
                let card = masked(&i.bank_card);
                // Every line paid to another card than at approval is flagged, old and new.
                let changed = i.account_changed().then(|| {
                    json!({ "approved_with": i.approved_bank_card.as_deref().map(masked), "now": card })
                });
                json!({
                    "account_changed": changed,
                    "seq": i.seq, "order_id": i.order_id, "order_no": i.order_no, "claim_id": i.claim_id, "withdrawal_id": i.withdrawal_id,
                    "account_name": i.account_name, "bank_name": i.bank_name, "bank_card": card, "amount": i.amount,
                    "result": match i.paid { Some(true) => "paid", Some(false) => "failed", None => "waiting" },
                    "result_on": i.result_on, "failure_code": i.failure.map(|f| f.code()), "failure_note": i.failure_note,
                })
            })
            .collect();
    }
    v
}

/// A claim's payment order (once approved): where the money is, or why not and what to do.
#[utoipa::path(get, path = "/api/v1/claims/{id}/payment", responses((status = 200), (status = 404, body = Problem)))]
pub async fn claim_payment(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let order =
        svc::payment_of_claim(&state.store, &caller, id).await?.ok_or_else(|| AppError::not_found("payment order"))?;
    // The claimant (the person, or the employer unit for its own account) and the staff who
    // may see a person's details see the whole number; a delegate sees it masked.
    let staff = caller.role().is_staff();
    let (_, standing) = crate::service::claims::claim(&state.store, &caller, id).await?;
    let full = match standing {
        Standing::Own | Standing::Employer(_) => true,
        Standing::Delegate(_) => false,
        Standing::Staff => caller.can(yibao_core::Permission::ViewPersonDetail),
    };
    if full && staff {
        // Staff who see a whole card number are on record for it.
        crate::service::record_read(&state.store, &caller, "payment_order", order.id).await?;
    }
    Ok(Json(order_json(&order, full, staff)))
}

#[derive(Deserialize, ToSchema)]
pub struct AccountBody {
    pub bank_name: String,
    pub bank_card: String,
}

/// The claimant (or a clerk) gives the account a claim is paid to: none registered, or the
/// bank refused the last one. The order goes into the next batch.
#[utoipa::path(put, path = "/api/v1/claims/{id}/payment/account", request_body = AccountBody,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn give_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<AccountBody>,
) -> Result<Json<Value>, AppError> {
    let card: BankCardNumber = body.bank_card.trim().parse()?;
    let order = svc::give_account(&state.store, &caller, id, &body.bank_name, &card).await?;
    Ok(Json(order_json(&order, true, caller.role().is_staff())))
}

/// The order's version as the confirmer was shown it (`version` in the payment's JSON).
#[derive(Deserialize, ToSchema)]
pub struct ConfirmBody {
    pub version: i64,
}

/// Confirms the account a member of staff gave for a claim's payment: another member of
/// staff who handles claims (not the one who gave it), or the claimant. Until then the order
/// is not batched.
#[utoipa::path(post, path = "/api/v1/claims/{id}/payment/account/confirm", request_body = ConfirmBody,
    responses((status = 200), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<ConfirmBody>,
) -> Result<Json<Value>, AppError> {
    let order = svc::confirm_account(&state.store, &caller, id, body.version).await?;
    Ok(Json(order_json(&order, true, caller.role().is_staff())))
}

#[derive(Deserialize, IntoParams)]
pub struct OrdersQuery {
    /// Comma-separated states (default: all).
    state: Option<String>,
}

/// Payment orders of the caller's regions, due first, each with its urgency.
#[utoipa::path(get, path = "/api/v1/payments/orders", params(OrdersQuery), responses((status = 200)))]
pub async fn list_orders(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<OrdersQuery>,
) -> Result<Json<Value>, AppError> {
    let states = match q.state.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => s.split(',').map(|c| OrderState::parse(c.trim())).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let o = svc::overview(&state.store, &caller).await?;
    let orders: Vec<Value> = o
        .unpaid
        .iter()
        .map(|d| (&d.order, Some(d.urgency)))
        .chain(o.paid.iter().map(|p| (p, None)))
        .filter(|(order, _)| states.is_empty() || states.contains(&order.state))
        .map(|(order, urgency)| {
            let mut v = order_json(order, false, true);
            v["urgency"] = json!(urgency);
            v
        })
        .collect();
    Ok(Json(json!({ "orders": orders })))
}

#[derive(Deserialize, ToSchema)]
pub struct BuildBody {
    pub region: String,
    /// Orders approved on or before this day.
    pub up_to: NaiveDate,
    /// The bank file's format: `csv` (default) or `fixed_gbk`.
    #[serde(default)]
    pub format: Option<String>,
}

/// Finance builds a batch of a region's orders ready to pay.
#[utoipa::path(post, path = "/api/v1/payments/batches", request_body = BuildBody,
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn build_batch(
    State(state): State<SharedState>,
    caller: Caller,
    Json(body): Json<BuildBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let region: AdminCode = body.region.parse()?;
    let format = yibao_core::payment::BankFormat::parse(body.format.as_deref().unwrap_or("csv"))?;
    let b = svc::build_batch(&state.store, &caller, region, body.up_to, format).await?;
    Ok((StatusCode::CREATED, Json(batch_json(&b, None))))
}

/// A batch with its lines and the bank's results.
#[utoipa::path(get, path = "/api/v1/payments/batches/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_batch(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    let (b, items) = svc::batch(&state.store, &caller, id).await?;
    Ok(Json(batch_json(&b, Some(&items))))
}

/// A second finance user (not the builder) approves a batch.
#[utoipa::path(post, path = "/api/v1/payments/batches/{id}/approve", responses((status = 200), (status = 422, body = Problem)))]
pub async fn approve_batch(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(batch_json(&svc::batch_step(&state.store, &caller, id, BatchStep::Approve).await?, None)))
}

/// Cancels a batch not yet exported; its orders are ready again.
#[utoipa::path(post, path = "/api/v1/payments/batches/{id}/cancel", responses((status = 200), (status = 422, body = Problem)))]
pub async fn cancel_batch(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(batch_json(&svc::batch_step(&state.store, &caller, id, BatchStep::Cancel).await?, None)))
}

/// The bank file of an approved batch (`docs/formats/bank-batch.md`); again, the same bytes.
#[utoipa::path(post, path = "/api/v1/payments/batches/{id}/export", responses((status = 200, content_type = "text/csv"), (status = 422, body = Problem)))]
pub async fn export_batch(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let file = svc::export(&state.store, &caller, id).await?;
    let content_type = match file.format {
        yibao_core::payment::BankFormat::Csv => "text/csv; charset=utf-8",
        yibao_core::payment::BankFormat::FixedGbk => "text/plain; charset=gbk",
    };
    let bytes = file.bytes().map_err(|e| AppError::validation(vec![e]))?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// Imports the bank's result file (the request body, `docs/formats/bank-batch.md`). The same
/// file twice changes nothing.
#[utoipa::path(post, path = "/api/v1/payments/results", request_body(content = String, content_type = "text/csv"),
    responses((status = 200), (status = 422, body = Problem)))]
pub async fn import_results(
    State(state): State<SharedState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let summary = svc::import_results(&state.store, &caller, &body).await?;
    Ok(Json(serde_json::to_value(summary).unwrap_or(Value::Null)))
}
