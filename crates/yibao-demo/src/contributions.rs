//! The demo region's contributions: this year's and next year's rules, the first unit's
//! monthly bills (every month but the last paid as the bank's receipts say, the last declared
//! and not yet paid), a flexible worker who paid the rest of the year online, and a resident
//! family that paid next year in its collection period.

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

/// Persons of `persons` who pay online: the last flexible worker in service pays the rest of
/// the year at the lower base; the last two adult residents pay next year (or this year, late,
/// where next year's collection has not begun). Each through the simulated gateway's order and
/// the notification it would send.
pub(crate) async fn seed_online(store: &Store, persons: &[i64], today: NaiveDate) -> Result<(), StoreError> {
    use yibao_core::registry::{Enrolment, PersonCategory};
    use yibao_store::{GatewayNotice, Purchase};
    let mut payers = Vec::new();
    let (mut flexible, mut residents) = (false, 0);
    for &id in persons.iter().rev() {
        let p = store.person(id).await?;
        if !flexible && p.enrolment == Enrolment::FlexibleEmployment && p.category == PersonCategory::InService {
            flexible = true;
            payers.push((p, Purchase::Flexible { percent: 60, months: 12 }));
        } else if residents < 2 && p.enrolment == Enrolment::Resident && p.category == PersonCategory::ResidentAdult {
            residents += 1;
            payers.push((p, Purchase::Resident));
        }
    }
    for (person, purchase) in payers {
        let actor = yibao_store::Actor::system(&format!("online:{}", person.resident_id.masked()));
        let mut w = store.begin_write(&actor).await?;
        let order = match store.create_online_order(&mut w, &person, &purchase, "sim", today).await {
            Ok(o) => o,
            // Nothing due (December's last month paid already): nothing to show.
            Err(StoreError::Invalid(_)) => continue,
            Err(e) => return Err(e),
        };
        let notice = GatewayNotice {
            id: format!("DEMO-{}", order.order_no),
            order_no: order.order_no.clone(),
            amount: order.amount,
            txn: format!("SIM{}", order.order_no),
            success: true,
        };
        store.process_payment_notice(&mut w, "sim", &notice, today).await?;
        w.commit().await?;
    }
    Ok(())
}

pub(crate) async fn seed_contributions(store: &Store, employer_id: i64, today: NaiveDate) -> Result<(), StoreError> {
    let accounts = store.list_accounts().await?;
    // The example is 2026's; in another year the demo's rules are the same for that year.
    let year = today.year();
    let mut w = store.begin_write(&actor_in(&accounts, "policy")?).await?;
    for y in [year, year + 1] {
        let rules = DEMO_CONTRIBUTION_RULES.replace("2026", &y.to_string()).replace("2025", &(y - 1).to_string());
        store.import_contribution_rules(&mut w, &rules).await?;
    }
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
