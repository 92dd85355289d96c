//! Withdrawals from individual accounts: a clerk of the person's region records the request
//! at the window with the papers seen; finance of the region decides it (never the clerk
//! who recorded it); the holder reads their own.

use yibao_core::{BankCardNumber, Permission};
use yibao_store::{AccountGiver, PaymentOrder, Store, Withdrawal, WithdrawalRequest};

use super::cover::person_for;
use crate::context::Caller;
use crate::error::AppError;

/// A clerk records a withdrawal request for a person of their regions.
pub async fn request(
    store: &Store,
    caller: &Caller,
    person_id: i64,
    req: &WithdrawalRequest,
) -> Result<Withdrawal, AppError> {
    caller.require(Permission::EditPersons)?;
    let person = person_for(store, caller, person_id, Permission::EditPersons).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.request_withdrawal(&mut w, person.id, req, caller.today).await?;
    w.commit().await?;
    Ok(out)
}

/// Finance of the person's region approves or refuses a request, at the version shown.
pub async fn decide(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
    approve: bool,
    note: &str,
) -> Result<Withdrawal, AppError> {
    caller.require(Permission::ManagePayments)?;
    let before = one(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.decide_withdrawal(&mut w, before.id, version, approve, note, caller.today).await?;
    w.commit().await?;
    Ok(out)
}

/// A withdrawal the caller may see: the holder's own, or one of a person in a staff
/// caller's regions (clerks, finance, auditors); anyone else is told it does not exist.
pub async fn one(store: &Store, caller: &Caller, id: i64) -> Result<Withdrawal, AppError> {
    let staff = caller.can(Permission::EditPersons) || caller.can(Permission::ViewPayments);
    if !staff && !caller.can(Permission::ViewOwnRecord) {
        return Err(AppError::forbidden());
    }
    let w = store.withdrawal(id).await.map_err(|_| AppError::not_found("withdrawal"))?;
    let own = caller.can(Permission::ViewOwnRecord)
        && caller.session().and_then(|s| s.account.person_id) == Some(w.person_id);
    if own || (staff && caller.covers(w.region)) {
        Ok(w)
    } else {
        Err(AppError::not_found("withdrawal"))
    }
}

/// A person's withdrawals, newest first: their own, or staff of their region.
pub async fn of_person(store: &Store, caller: &Caller, person_id: i64) -> Result<Vec<Withdrawal>, AppError> {
    let staff = if caller.can(Permission::EditPersons) { Permission::EditPersons } else { Permission::ViewPayments };
    let person = person_for(store, caller, person_id, staff).await?;
    Ok(store.withdrawals_of(person.id).await?)
}

/// The requests of the caller's regions waiting for a decision, oldest first.
pub async fn waiting(store: &Store, caller: &Caller) -> Result<Vec<Withdrawal>, AppError> {
    caller.require(Permission::ViewPayments)?;
    let mut all = store.withdrawals_waiting().await?;
    all.retain(|w| caller.covers(w.region));
    Ok(all)
}

/// Who the caller is to a withdrawal's payment account: the holder (not after a death: the
/// heir is paid), or a clerk of the person's region, whose account waits for a second
/// person's confirmation.
async fn account_giver(store: &Store, caller: &Caller, id: i64) -> Result<(Withdrawal, AccountGiver), AppError> {
    let w = one(store, caller, id).await?;
    if caller.can(Permission::EditPersons) {
        return Ok((w, AccountGiver::Staff(caller.username().to_string())));
    }
    let own = caller.session().and_then(|s| s.account.person_id) == Some(w.person_id);
    if own && !w.reason.to_heir() {
        return Ok((w, AccountGiver::Claimant));
    }
    Err(AppError::forbidden())
}

/// A withdrawal's payment order, once approved.
pub async fn payment(store: &Store, caller: &Caller, id: i64) -> Result<PaymentOrder, AppError> {
    let w = one(store, caller, id).await?;
    store.payment_of_withdrawal(w.id).await?.ok_or_else(|| AppError::not_found("payment order"))
}

/// Gives the account a withdrawal is paid to (none registered, or the bank refused it).
pub async fn give_account(
    store: &Store,
    caller: &Caller,
    id: i64,
    bank_name: &str,
    bank_card: &BankCardNumber,
) -> Result<PaymentOrder, AppError> {
    let (w, giver) = account_giver(store, caller, id).await?;
    let order = store.payment_of_withdrawal(w.id).await?.ok_or_else(|| AppError::not_found("payment order"))?;
    let mut tx = store.begin_write(&caller.actor()).await?;
    let order = store.give_payment_account(&mut tx, order.id, bank_name, bank_card, &giver).await?;
    tx.commit().await?;
    Ok(order)
}

/// Confirms the account a clerk gave: another clerk, or the holder.
pub async fn confirm_account(store: &Store, caller: &Caller, id: i64, version: i64) -> Result<PaymentOrder, AppError> {
    let (w, by) = account_giver(store, caller, id).await?;
    let order = store.payment_of_withdrawal(w.id).await?.ok_or_else(|| AppError::not_found("payment order"))?;
    let mut tx = store.begin_write(&caller.actor()).await?;
    let order = store.confirm_payment_account(&mut tx, order.id, version, &by).await?;
    tx.commit().await?;
    Ok(order)
}
