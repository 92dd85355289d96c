//! The demo region's contributions: the year's rules, and the first unit's monthly bills —
//! January to October paid as the bank's receipts say, November declared and not yet paid
//! (in arrears until it is).

use chrono::{Datelike, NaiveDate};
use yibao_core::contribution::months::YearMonth;
use yibao_core::Fen;
use yibao_store::{Declared, Store, StoreError};

use super::actor_in;

/// The demo region's contribution rules for 2026 (the documented example).
pub const DEMO_CONTRIBUTION_RULES: &str = include_str!("../../../docs/formats/examples/contributions-620300-2026.toml");

/// An employee's monthly wage in the demo: from 2,800 to 17,800 yuan, fixed per person.
pub fn demo_wage(person_id: i64) -> Fen {
    Fen::from_yuan(2_800 + (person_id * 1_373) % 15_000)
}

pub(crate) async fn seed_contributions(store: &Store, employer_id: i64, today: NaiveDate) -> Result<(), StoreError> {
    let accounts = store.list_accounts().await?;
    // The example is 2026's; in another year the demo's rules are the same for that year.
    let year = today.year();
    let rules = DEMO_CONTRIBUTION_RULES.replace("2026", &year.to_string()).replace("2025", &(year - 1).to_string());
    let mut w = store.begin_write(&actor_in(&accounts, "policy")?).await?;
    store.import_contribution_rules(&mut w, &rules).await?;
    w.commit().await?;
    let employees = store.employees_of(employer_id).await?;
    let lines: Vec<Declared> =
        employees.iter().map(|p| Declared { resident_id: p.resident_id.clone(), wage: demo_wage(p.id) }).collect();
    if lines.is_empty() {
        return Ok(());
    }
    let (unit, finance) = (actor_in(&accounts, "unit")?, actor_in(&accounts, "finance")?);
    let last = YearMonth::of(today).plus(-1);
    let mut month = YearMonth { year, month: 1 };
    while month <= last {
        let mut w = store.begin_write(&unit).await?;
        let bill = store.declare_contributions(&mut w, employer_id, month, &lines, today).await?;
        w.commit().await?;
        if month < last {
            // Paid on the 15th of the month, as the bank's receipt says.
            let paid_on = NaiveDate::from_ymd_opt(month.year, month.month, 15).unwrap_or(today).min(today);
            let mut w = store.begin_write(&finance).await?;
            let reference = format!("ZS{}{:02}{:04}", month.year, month.month, employer_id);
            store.record_bill_payment(&mut w, bill.id, bill.total, paid_on, &reference).await?;
            w.commit().await?;
        }
        month = month.plus(1);
    }
    Ok(())
}
