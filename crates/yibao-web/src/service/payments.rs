//! Payment to bank cards as people handle it. Finance users of a region build batches, a
//! second finance user approves and exports them, and finance imports the bank's results;
//! auditors see the same pages without the buttons. The claimant (the person, their
//! delegate, or a clerk at the window) sees a claim's payment and gives or corrects the
//! account it is paid to. A batch outside the caller's regions does not exist for them.

use chrono::NaiveDate;
use yibao_core::payment::{BatchFile, OrderState, ResultFile, Urgency};
use yibao_core::{AdminCode, BankCardNumber, Permission};
use yibao_store::{AccountGiver, BatchItem, ImportSummary, Payee, PaymentBatch, PaymentOrder, Store};

use super::claims::{self as claims_svc, Standing};
use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;

/// A claim's payment order, once approved, for whoever may see the claim.
pub async fn payment_of_claim(store: &Store, caller: &Caller, claim_id: i64) -> Result<Option<PaymentOrder>, AppError> {
    claims_svc::claim(store, caller, claim_id).await?;
    Ok(store.payment_of_claim(claim_id).await?)
}

/// The insured person, the employer unit for a claim it filed, or a clerk gives the account
/// a claim is paid to: registered late, or corrected after the bank refused the payment. A
/// delegate may not. An account a clerk gives waits for a second person's confirmation
/// ([`confirm_account`]) and the claimant is told of it.
pub async fn give_account(
    store: &Store,
    caller: &Caller,
    claim_id: i64,
    bank_name: &str,
    bank_card: &BankCardNumber,
) -> Result<PaymentOrder, AppError> {
    let giver = account_giver(store, caller, claim_id).await?;
    let order = store.payment_of_claim(claim_id).await?.ok_or_else(|| AppError::not_found("payment order"))?;
    // The employer unit is the claimant for its own account only; an account it gives for
    // money paid to its employee waits for a second person, as staff's does.
    let giver = match (&giver, caller.session()) {
        (AccountGiver::Claimant, Some(s)) if s.account.employer_id.is_some() && order.payee != Payee::Employer => {
            AccountGiver::Staff(caller.username().to_string())
        }
        _ => giver,
    };
    let mut w = store.begin_write(&caller.actor()).await?;
    let order = store.give_payment_account(&mut w, order.id, bank_name, bank_card, &giver).await?;
    w.commit().await?;
    Ok(order)
}

/// Confirms an account a member of staff gave for a claim's payment: another member of
/// staff who handles claims, or the claimant.
pub async fn confirm_account(
    store: &Store,
    caller: &Caller,
    claim_id: i64,
    version: i64,
) -> Result<PaymentOrder, AppError> {
    let by = account_giver(store, caller, claim_id).await?;
    let order = store.payment_of_claim(claim_id).await?.ok_or_else(|| AppError::not_found("payment order"))?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let order = store.confirm_payment_account(&mut w, order.id, version, &by).await?;
    w.commit().await?;
    Ok(order)
}

/// Who the caller is to a claim's payment account: staff who handle claims, or the claimant
/// (the person, or the employer unit that filed it). A delegate hands papers in but does not
/// say where the money goes.
async fn account_giver(store: &Store, caller: &Caller, claim_id: i64) -> Result<AccountGiver, AppError> {
    let (_, standing) = claims_svc::claim(store, caller, claim_id).await?;
    match standing {
        Standing::Staff => {
            caller.require(Permission::HandleClaims)?;
            Ok(AccountGiver::Staff(caller.username().to_string()))
        }
        Standing::Delegate(_) => Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "delegate_account",
            "受托人不能更改收款账户：请参保人本人在网上办理，或携带身份证件到经办窗口办理",
            "a delegate cannot change where the money goes: the insured person does it online, or at the window with their ID",
        )),
        Standing::Own | Standing::Employer(_) => Ok(AccountGiver::Claimant),
    }
}

/// The most orders a list shows (oldest due first); the totals by state count them all.
const LIST_LIMIT: i64 = 2_000;

/// An unpaid order against its due date.
pub struct DueOrder {
    pub order: PaymentOrder,
    pub urgency: Urgency,
}

/// What the payments page shows: the orders of the caller's regions not yet paid (most
/// urgent first), recent batches, and the money by state.
pub struct Overview {
    pub unpaid: Vec<DueOrder>,
    /// Paid orders (up to the list cap), latest due date first.
    pub paid: Vec<PaymentOrder>,
    pub batches: Vec<PaymentBatch>,
    /// (state, number of orders, amount) for every state.
    pub by_state: Vec<(OrderState, i64, yibao_core::Fen)>,
}

pub async fn overview(store: &Store, caller: &Caller) -> Result<Overview, AppError> {
    caller.require(Permission::ViewPayments)?;
    let scope = staff_scope(caller);
    let calendar = store.calendar().await?;
    let totals = store.payment_totals_in(&scope).await?;
    let by_state = OrderState::ALL
        .iter()
        .map(|s| totals.iter().find(|(t, _, _)| t == s).copied().unwrap_or((*s, 0, yibao_core::Fen::ZERO)))
        .collect();
    let unpaid_states: Vec<OrderState> = OrderState::ALL.iter().copied().filter(|s| *s != OrderState::Paid).collect();
    let mut unpaid: Vec<DueOrder> = store
        .payment_orders_in(&scope, &unpaid_states, LIST_LIMIT)
        .await?
        .into_iter()
        .map(|o| DueOrder { urgency: Urgency::of(&calendar, o.due_on, caller.today), order: o })
        .collect();
    unpaid.sort_by_key(|d| (d.urgency, d.order.region, d.order.due_on, d.order.id));
    let mut paid = store.payment_orders_in(&scope, &[OrderState::Paid], LIST_LIMIT).await?;
    paid.reverse();
    let batches = store.payment_batches_in(&scope, 50).await?;
    Ok(Overview { unpaid, paid, batches, by_state })
}

/// A batch of the caller's regions, with its lines.
pub async fn batch(store: &Store, caller: &Caller, id: i64) -> Result<(PaymentBatch, Vec<BatchItem>), AppError> {
    caller.require(Permission::ViewPayments)?;
    let (batch, items) = store.payment_batch(id).await.map_err(|_| AppError::not_found("payment batch"))?;
    if !caller.covers(batch.region) {
        return Err(AppError::not_found("payment batch"));
    }
    Ok((batch, items))
}

pub async fn build_batch(
    store: &Store,
    caller: &Caller,
    region: AdminCode,
    up_to: NaiveDate,
    format: yibao_core::payment::BankFormat,
) -> Result<PaymentBatch, AppError> {
    caller.require(Permission::ManagePayments)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let batch = store.build_payment_batch(&mut w, region, up_to, format).await?;
    w.commit().await?;
    Ok(batch)
}

/// One of finance's steps on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStep {
    Approve,
    Cancel,
}

pub async fn batch_step(store: &Store, caller: &Caller, id: i64, step: BatchStep) -> Result<PaymentBatch, AppError> {
    caller.require(Permission::ManagePayments)?;
    batch(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let batch = match step {
        BatchStep::Approve => store.approve_payment_batch(&mut w, id).await?,
        BatchStep::Cancel => store.cancel_payment_batch(&mut w, id).await?,
    };
    w.commit().await?;
    Ok(batch)
}

/// Exports an approved batch (again: the same file).
pub async fn export(store: &Store, caller: &Caller, id: i64) -> Result<BatchFile, AppError> {
    caller.require(Permission::ManagePayments)?;
    batch(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let (_, file) = store.export_payment_batch(&mut w, id).await?;
    w.commit().await?;
    Ok(file)
}

/// Imports a bank result file for a batch of the caller's regions.
pub async fn import_results(store: &Store, caller: &Caller, data: &[u8]) -> Result<ImportSummary, AppError> {
    caller.require(Permission::ManagePayments)?;
    // The batch must be the caller's; a malformed file is reported by the import, whole.
    if let Ok(file) = ResultFile::parse(data) {
        let batch = store.payment_batch_by_number(&file.batch_no).await;
        if let Ok(b) = batch {
            if !caller.covers(b.region) {
                return Err(AppError::not_found("payment batch"));
            }
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let summary = store.import_bank_results(&mut w, data).await?;
    w.commit().await?;
    Ok(summary)
}
