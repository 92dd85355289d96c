//! The fund's books for finance and auditors: balances, the proof that they agree with the
//! records, the monthly figures (as a workbook too) and closing a month (finance). Each
//! caller sees the funds of their regions.

use yibao_core::books::MonthFigures;
use yibao_core::contribution::months::YearMonth;
use yibao_core::Permission;
use yibao_store::{BooksCheck, Store};

use crate::context::Caller;
use crate::error::AppError;

fn may_read(caller: &Caller) -> Result<(), AppError> {
    if caller.can(Permission::ViewPayments) || caller.can(Permission::Audit) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The books of the caller's funds, proved.
pub async fn check(store: &Store, caller: &Caller) -> Result<BooksCheck, AppError> {
    may_read(caller)?;
    Ok(store.verify_books_in(Some(&super::staff_scope(caller))).await?)
}

/// The monthly figures of the caller's funds.
pub async fn months(store: &Store, caller: &Caller) -> Result<Vec<MonthFigures>, AppError> {
    may_read(caller)?;
    let mut rows = store.fund_months().await?;
    rows.retain(|r| caller.covers(r.fund.region));
    Ok(rows)
}

/// Finance closes a month that is over: every fund's, so only finance whose regions cover
/// every fund the books hold.
pub async fn close(store: &Store, caller: &Caller, month: YearMonth) -> Result<(), AppError> {
    caller.require(Permission::ManagePayments)?;
    if store.funds().await?.iter().any(|f| !caller.covers(f.region)) {
        return Err(AppError::forbidden());
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    store.close_month(&mut w, month, caller.today).await?;
    w.commit().await?;
    Ok(())
}
