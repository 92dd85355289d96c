//! Clearing with designated institutions: the institution applies for a period, reads its
//! statements, objects to a deduction and gives the account it is paid to; an auditor of
//! its region decides objections and reviews; finance of the region approves (never the
//! reviewer). Anyone else is told a clearing does not exist.

use chrono::NaiveDate;
use yibao_core::{BankCardNumber, Permission};
use yibao_store::{
    Assessment, Clearing, ClearingLine, Institution, InstitutionAccount, Objection, PaymentOrder, Preview, Store,
};

use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;

/// The institution the caller acts for, when it may apply for clearing.
pub fn own(caller: &Caller) -> Result<&Institution, AppError> {
    caller.require(Permission::ApplyForClearing)?;
    caller.institution().ok_or_else(AppError::forbidden)
}

/// Whether the caller is staff who may read clearings of `c`'s region.
fn staff_of(caller: &Caller, c: &Clearing) -> bool {
    (caller.can(Permission::ViewPayments) || caller.can(Permission::Audit)) && caller.covers(c.region)
}

/// A clearing the caller may see: the institution's own, or one of a staff caller's regions.
pub async fn one(store: &Store, caller: &Caller, id: i64) -> Result<Clearing, AppError> {
    let c = store.clearing(id).await.map_err(|_| AppError::not_found("clearing"))?;
    let mine = caller.can(Permission::ApplyForClearing) && caller.institution().map(|i| i.id) == Some(c.institution_id);
    if mine || staff_of(caller, &c) {
        Ok(c)
    } else {
        Err(AppError::not_found("clearing"))
    }
}

/// The institution's clearings, or those of a staff caller's regions; newest first.
pub async fn list(store: &Store, caller: &Caller) -> Result<Vec<Clearing>, AppError> {
    if let Ok(inst) = own(caller) {
        return Ok(store.clearings_of(inst.id).await?);
    }
    if !(caller.can(Permission::ViewPayments) || caller.can(Permission::Audit)) {
        return Err(AppError::forbidden());
    }
    Ok(store.clearings_in(&staff_scope(caller), 500).await?)
}

/// A clearing's lines and objections.
pub async fn detail(
    store: &Store,
    caller: &Caller,
    id: i64,
) -> Result<(Clearing, Vec<ClearingLine>, Vec<Objection>, Option<PaymentOrder>), AppError> {
    let c = one(store, caller, id).await?;
    let lines = store.clearing_lines(c.id).await?;
    let objections = store.objections_of(c.id).await?;
    let order = store.payment_of_clearing(c.id).await?;
    Ok((c, lines, objections, order))
}

/// What applying for the period `day` falls in would build.
pub async fn preview(store: &Store, caller: &Caller, day: NaiveDate) -> Result<Preview, AppError> {
    let inst = own(caller)?;
    Ok(store.preview_clearing(inst.id, day, caller.today).await?)
}

/// The institution applies for clearing of the period `day` falls in.
pub async fn apply(store: &Store, caller: &Caller, day: NaiveDate) -> Result<Clearing, AppError> {
    let inst = own(caller)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.apply_for_clearing(&mut w, inst.id, day, None, caller.today).await?;
    w.commit().await?;
    Ok(out)
}

/// The institution withdraws its application before review.
pub async fn cancel(store: &Store, caller: &Caller, id: i64) -> Result<Clearing, AppError> {
    let inst = own(caller)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.cancel_clearing(&mut w, id, inst.id).await.map_err(hidden)?;
    w.commit().await?;
    Ok(out)
}

/// The institution objects to the deduction of a finding.
pub async fn object(
    store: &Store,
    caller: &Caller,
    id: i64,
    hit_id: i64,
    grounds: &str,
) -> Result<Objection, AppError> {
    let inst = own(caller)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.object_to_deduction(&mut w, id, inst.id, hit_id, grounds).await.map_err(hidden)?;
    w.commit().await?;
    Ok(out)
}

/// An auditor of the clearing's region decides an objection.
pub async fn decide_objection(
    store: &Store,
    caller: &Caller,
    id: i64,
    objection_id: i64,
    version: i64,
    uphold: bool,
    reason: &str,
) -> Result<Clearing, AppError> {
    caller.require(Permission::Audit)?;
    let c = one(store, caller, id).await?;
    if !store.objections_of(c.id).await?.iter().any(|o| o.id == objection_id) {
        return Err(AppError::not_found("objection"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let (_, out) = store.decide_objection(&mut w, objection_id, version, uphold, reason).await?;
    w.commit().await?;
    Ok(out)
}

/// An auditor of the clearing's region reviews its statement.
pub async fn review(store: &Store, caller: &Caller, id: i64, version: i64) -> Result<Clearing, AppError> {
    caller.require(Permission::Audit)?;
    let c = one(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.review_clearing(&mut w, c.id, version).await?;
    w.commit().await?;
    Ok(out)
}

/// Finance of the clearing's region approves it: the payment order is made.
pub async fn approve(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
) -> Result<(Clearing, Option<PaymentOrder>), AppError> {
    caller.require(Permission::ManagePayments)?;
    let c = one(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.approve_clearing(&mut w, c.id, version, caller.today).await?;
    w.commit().await?;
    Ok(out)
}

/// The account the institution is paid to.
pub async fn account(store: &Store, caller: &Caller) -> Result<Option<InstitutionAccount>, AppError> {
    let inst = own(caller)?;
    Ok(store.institution_account(inst.id).await?)
}

/// The institution gives (or changes) the account it is paid to.
pub async fn set_account(
    store: &Store,
    caller: &Caller,
    account_name: &str,
    bank_name: &str,
    account: &str,
) -> Result<InstitutionAccount, AppError> {
    let inst = own(caller)?;
    // Every problem at once: the name, the bank and the number.
    let mut problems = yibao_core::clearing::account_problems(account_name, bank_name);
    let account = BankCardNumber::corporate(account).map_err(|e| problems.push(e)).ok();
    let account = match account {
        Some(a) if problems.is_empty() => a,
        _ => return Err(AppError::validation(problems)),
    };
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.set_institution_account(&mut w, inst.id, account_name, bank_name, &account).await?;
    w.commit().await?;
    Ok(out)
}

/// The annual assessments the caller may read: the institution's own, or those of a staff
/// caller's regions.
pub async fn assessments(store: &Store, caller: &Caller) -> Result<Vec<Assessment>, AppError> {
    if let Ok(inst) = own(caller) {
        return Ok(store.assessments_of(inst.id).await?);
    }
    if !(caller.can(Permission::ViewPayments) || caller.can(Permission::Audit)) {
        return Err(AppError::forbidden());
    }
    Ok(store.assessments_in(&staff_scope(caller), 200).await?)
}

/// The designated institutions an auditor may assess: those of the caller's regions.
pub async fn assessable(store: &Store, caller: &Caller) -> Result<Vec<Institution>, AppError> {
    caller.require(Permission::Audit)?;
    let mut out = store.list_institutions(None, None).await?;
    out.retain(|i| caller.covers(i.region));
    Ok(out)
}

/// An auditor records an institution's annual assessment for a year that is over: its score
/// releases the region's share of that year's deposit with the institution's next clearing.
pub async fn assess(
    store: &Store,
    caller: &Caller,
    institution_code: &str,
    year: i32,
    score: u32,
    note: &str,
) -> Result<Assessment, AppError> {
    caller.require(Permission::Audit)?;
    let inst = store
        .institution_by_code(institution_code.trim())
        .await
        .ok()
        .filter(|i| caller.covers(i.region))
        .ok_or_else(|| AppError::not_found("institution"))?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let out = store.assess_institution(&mut w, inst.id, year, score, note, caller.today).await?;
    w.commit().await?;
    Ok(out)
}

/// Another institution's clearing is not found, not forbidden.
fn hidden(e: yibao_store::StoreError) -> AppError {
    match e {
        yibao_store::StoreError::NotFound(_) => AppError::not_found("clearing"),
        other => other.into(),
    }
}
