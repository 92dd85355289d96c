//! Contributions: the policy administrator imports each year's rules; a unit (its own
//! account, or a clerk at the window) declares a month's wages and reads its bills; finance
//! records payments from the bank's or the tax authority's receipts; a person reads the months
//! paid.

use yibao_core::contribution::declaration::read_declaration;
use yibao_core::contribution::months::YearMonth;
use yibao_core::contribution::ContributionRules;
use yibao_core::{AdminCode, InvalidValue, Permission};
use yibao_store::{Bill, Declared, PaidMonth, PaymentMatch, Store};

use crate::context::Caller;
use crate::error::AppError;

/// Imports contribution rules for one of the caller's regions.
pub async fn import_rules(store: &Store, caller: &Caller, text: &str) -> Result<ContributionRules, AppError> {
    caller.require(Permission::ManagePolicies)?;
    if let Ok(rules) = ContributionRules::parse(text) {
        let region: AdminCode = rules.region.parse()?;
        if !caller.covers(region) {
            return Err(super::out_of_scope("region"));
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let rules = store.import_contribution_rules(&mut w, text).await?;
    w.commit().await?;
    Ok(rules)
}

/// The rules in force for one of the caller's regions and a year.
pub async fn rules(
    store: &Store,
    caller: &Caller,
    region: AdminCode,
    year: i32,
) -> Result<ContributionRules, AppError> {
    caller.require(Permission::ViewPolicies)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("contribution rules"));
    }
    store.contribution_rules(region, year).await?.ok_or_else(|| AppError::not_found("contribution rules"))
}

/// Whether the caller acts for unit `employer_id`: its own account, or staff of its region
/// who may `staff` ("not found" otherwise, so that units are not probed).
async fn unit_for(store: &Store, caller: &Caller, employer_id: i64, staff: Permission) -> Result<(), AppError> {
    let own = caller.session().and_then(|s| s.account.employer_id) == Some(employer_id);
    if own && caller.can(Permission::DeclareContributions) {
        return Ok(());
    }
    caller.require(staff)?;
    let employer = store.employer(employer_id).await.map_err(|_| AppError::not_found("employer"))?;
    if !caller.role().is_staff() || !caller.covers(employer.region) {
        return Err(AppError::not_found("employer"));
    }
    Ok(())
}

/// A unit declares a month's wages; the bill, to the fen.
pub async fn declare(
    store: &Store,
    caller: &Caller,
    employer_id: i64,
    month: YearMonth,
    lines: &[Declared],
) -> Result<Bill, AppError> {
    unit_for(store, caller, employer_id, Permission::DeclareContributions).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let bill = store.declare_contributions(&mut w, employer_id, month, lines, caller.today).await?;
    w.commit().await?;
    Ok(bill)
}

/// A unit declares a month from a file (CSV or XLSX, see `docs/formats/contributions.md`):
/// whether the caller may act for the unit is asked before the file is read; every row that
/// cannot be read, or names someone not the unit's, is named by its row; nothing is declared
/// unless every row is right.
pub async fn declare_file(
    store: &Store,
    caller: &Caller,
    employer_id: i64,
    month: YearMonth,
    data: &[u8],
) -> Result<Bill, AppError> {
    unit_for(store, caller, employer_id, Permission::DeclareContributions).await?;
    let rows = read_declaration(data).map_err(|problems| {
        AppError::validation(problems.into_iter().map(|t| InvalidValue::new("file", "row", t.zh, t.en)).collect())
    })?;
    let lines: Vec<Declared> =
        rows.iter().map(|r| Declared { resident_id: r.resident_id.clone(), wage: r.wage }).collect();
    let numbers: Vec<u64> = rows.iter().map(|r| r.row).collect();
    let mut w = store.begin_write(&caller.actor()).await?;
    let bill = store.declare_file_rows(&mut w, employer_id, month, &lines, &numbers, caller.today).await?;
    w.commit().await?;
    Ok(bill)
}

/// A unit's bills, the latest month first: the unit's own account, clerks and finance of its
/// region.
pub async fn bills(store: &Store, caller: &Caller, employer_id: i64) -> Result<Vec<Bill>, AppError> {
    let staff =
        if caller.can(Permission::ViewPayments) { Permission::ViewPayments } else { Permission::DeclareContributions };
    unit_for(store, caller, employer_id, staff).await?;
    Ok(store.contribution_bills_of(employer_id).await?)
}

/// One bill with its lines, for whoever may see its unit's bills.
pub async fn bill(store: &Store, caller: &Caller, id: i64) -> Result<Bill, AppError> {
    let bill = store.contribution_bill(id).await.map_err(|_| AppError::not_found("contribution bill"))?;
    let staff =
        if caller.can(Permission::ViewPayments) { Permission::ViewPayments } else { Permission::DeclareContributions };
    unit_for(store, caller, bill.employer_id, staff).await?;
    Ok(bill)
}

/// Finance records a bill's payment (the exact total).
pub async fn record_payment(
    store: &Store,
    caller: &Caller,
    id: i64,
    amount: yibao_core::Fen,
    paid_on: chrono::NaiveDate,
    reference: &str,
) -> Result<Bill, AppError> {
    caller.require(Permission::ManagePayments)?;
    bill(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let bill = store.record_bill_payment(&mut w, id, amount, paid_on, reference).await?;
    w.commit().await?;
    Ok(bill)
}

/// Finance imports a receipt file; every line's outcome. Only units of the caller's regions
/// are matched: a line of another's is reported as not found.
pub async fn import_payments(store: &Store, caller: &Caller, csv: &str) -> Result<Vec<PaymentMatch>, AppError> {
    caller.require(Permission::ManagePayments)?;
    let scope = super::staff_scope(caller);
    let mut w = store.begin_write(&caller.actor()).await?;
    let found = store.import_receipts(&mut w, csv, &|region| scope.covers(region)).await?;
    w.commit().await?;
    Ok(found)
}

/// The months a person has paid: the person, and staff who see the person in full.
pub async fn paid_months(store: &Store, caller: &Caller, person_id: i64) -> Result<Vec<PaidMonth>, AppError> {
    super::cover::person_for(store, caller, person_id, Permission::ViewPersonDetail).await?;
    Ok(store.paid_months(person_id).await?)
}

/// The contributions collected in the caller's regions in `year`, by month and kind, and the
/// units' unpaid bills (finance and auditors).
pub async fn collection(
    store: &Store,
    caller: &Caller,
    year: i32,
) -> Result<(Vec<yibao_store::Collected>, Vec<Bill>), AppError> {
    caller.require(Permission::ViewPayments)?;
    let scope = super::staff_scope(caller);
    Ok((store.collection_in(&scope, year).await?, store.arrears_in(&scope).await?))
}
