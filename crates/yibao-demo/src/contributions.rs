//! The demo region's contributions: last, this and next year's rules, the first unit's
//! monthly bills (every month but the last paid as the bank's receipts say, the last declared
//! and not yet paid), flexible workers' and residents' receipts (one worker in arrears), a
//! flexible worker who paid the rest of the year online, and residents who paid next year in
//! its collection period.

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

/// The demo region's contribution rules for `year`: the example's, moved to that year.
pub fn demo_contribution_rules(year: i32) -> String {
    DEMO_CONTRIBUTION_RULES
        .replace("2025", "{previous}")
        .replace("2026", &year.to_string())
        .replace("{previous}", &(year - 1).to_string())
}

/// Last year's, this year's and next year's rules; the first unit's bills from January of
/// last year (all paid but last month's); the receipts of every flexible worker's months to
/// last month (but one, who stopped paying five months ago and is in arrears) and of every
/// resident's last and this year, paid in the collection period. Cover follows payment, so
/// this comes before any stay of the demo.
pub(crate) async fn seed_contributions(
    store: &Store,
    employer_id: i64,
    persons: &[i64],
    today: NaiveDate,
) -> Result<(), StoreError> {
    use yibao_core::registry::{Enrolment, PersonCategory};
    use yibao_store::PersonalPeriod;
    let accounts = store.list_accounts().await?;
    let year = today.year();
    let mut w = store.begin_write(&actor_in(&accounts, "policy")?).await?;
    for y in [year - 1, year, year + 1] {
        store.import_contribution_rules(&mut w, &demo_contribution_rules(y)).await?;
    }
    w.commit().await?;
    let (unit, finance) = (actor_in(&accounts, "unit")?, actor_in(&accounts, "finance")?);
    let first = YearMonth { year: year - 1, month: 1 };
    let last = YearMonth::of(today).plus(-1);
    let employees = store.employees_of(employer_id).await?;
    let lines: Vec<Declared> =
        employees.iter().map(|p| Declared { resident_id: p.resident_id.clone(), wage: demo_wage(p.id) }).collect();
    let mut month = first;
    while month <= last && !lines.is_empty() {
        let mut w = store.begin_write(&unit).await?;
        let bill = store.declare_contributions(&mut w, employer_id, month, &lines, today).await?;
        w.commit().await?;
        if month < last {
            let mut w = store.begin_write(&finance).await?;
            let reference = format!("ZS{}{:02}{:04}", month.year, month.month, employer_id);
            store.record_bill_payment(&mut w, bill.id, bill.total, paid_on(month, today), &reference).await?;
            w.commit().await?;
        }
        month = month.plus(1);
    }
    // Flexible workers and residents pay through the tax authority, whose receipts finance
    // records. The second-to-last flexible worker stopped paying five months ago.
    let mut flexible = Vec::new();
    let mut residents = Vec::new();
    for &id in persons {
        let p = store.person(id).await?;
        match (p.enrolment, p.category) {
            (Enrolment::FlexibleEmployment, PersonCategory::InService) => flexible.push(p),
            (Enrolment::Resident, _) => residents.push(p),
            _ => {}
        }
    }
    let lapsed = flexible.len().checked_sub(2);
    let mut w = store.begin_write(&finance).await?;
    for (i, p) in flexible.iter().enumerate() {
        let until = if Some(i) == lapsed { YearMonth::of(today).plus(-6) } else { last };
        let mut month = first;
        while month <= until {
            let Some(rules) = store.contribution_rules(p.insured_region, month.year).await? else { break };
            let amount = rules.flexible_bill(60).map(|b| b.total()).unwrap_or_default();
            let reference = format!("SW{}{:02}{:06}", month.year, month.month, p.id);
            let period = PersonalPeriod::Month(month);
            store.record_personal_payment(&mut w, p, period, amount, paid_on(month, today), &reference).await?;
            month = month.plus(1);
        }
    }
    for p in &residents {
        for y in [year - 1, year] {
            let Some(rules) = store.contribution_rules(p.insured_region, y).await? else { continue };
            let Some(amount) = rules.resident_amount(p.category).map(|a| a.personal) else { continue };
            // Paid in the collection period, a fortnight before it closed.
            let on = rules.resident.collection_to - chrono::Duration::days(14);
            let reference = format!("SW{y}{:06}", p.id);
            store.record_personal_payment(&mut w, p, PersonalPeriod::Year(y), amount, on, &reference).await?;
        }
    }
    w.commit().await?;
    Ok(())
}

/// The day a month's contribution was paid in the demo: the 15th, or today if that is later.
fn paid_on(month: YearMonth, today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(month.year, month.month, 15).unwrap_or(today).min(today)
}
