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

/// The books proved, with the balances of the caller's funds. The differences are of every
/// fund: a fault anywhere is a fault of the books.
pub async fn check(store: &Store, caller: &Caller) -> Result<BooksCheck, AppError> {
    may_read(caller)?;
    let mut check = store.verify_books().await?;
    check.balances.retain(|(fund, _, _)| caller.covers(fund.region));
    Ok(check)
}

/// The monthly figures of the caller's funds.
pub async fn months(store: &Store, caller: &Caller) -> Result<Vec<MonthFigures>, AppError> {
    may_read(caller)?;
    let mut rows = store.fund_months().await?;
    rows.retain(|r| caller.covers(r.fund.region));
    Ok(rows)
}

/// Finance closes a month that is over.
pub async fn close(store: &Store, caller: &Caller, month: YearMonth) -> Result<(), AppError> {
    caller.require(Permission::ManagePayments)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    store.close_month(&mut w, month, caller.today).await?;
    w.commit().await?;
    Ok(())
}
