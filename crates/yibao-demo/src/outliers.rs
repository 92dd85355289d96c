//! An institution far from its peers (异常机构, the outlier rule JG-010): last period, the
//! three second-grade hospitals of 金川区 each settled five appendicitis stays; two charged
//! about 2,700 yuan a stay, the staff hospital of 金川集团 nearly 5,000. The auditor's
//! re-check of the period found it, and it waits on 「监管疑点」 for a decision.

use chrono::{Datelike, Duration, NaiveDate};
use yibao_store::{Store, StoreError};

use super::actor_in;
use super::clearing::{settled_stay, Line};

const BED_2: Line = ("1", "001102000010000", "2", "40.00", "80.00");
const BED_4: Line = ("1", "001102000010000", "4", "40.00", "160.00");
const OPERATION: Line = ("4", "003113000010000", "1", "2600.00", "2600.00");
const OPERATION_DEAR: Line = ("4", "003113000010000", "1", "4800.00", "4800.00");
const BLOOD: Line = ("2", "002201000010000", "1", "25.00", "25.00");

/// (hospital, its stays' lines)
const HOSPITALS: [(&str, &[Line]); 3] = [
    ("H62030200004", &[BED_2, OPERATION]),
    ("H62030200005", &[BED_4, OPERATION]),
    ("H62030200003", &[BED_4, BLOOD, OPERATION_DEAR]),
];

pub(crate) async fn seed_outlier(store: &Store, persons: &[i64], today: NaiveDate) -> Result<(), StoreError> {
    let central = store.institution_by_code(crate::DEMO_INSTITUTION).await?;
    let (start, end) = store.clearing_rules(central.region, today).await?.previous_period(today);
    if start.year() != today.year() {
        return Ok(());
    }
    // Residents whom nothing else of the demo settles or claims for around last period (the
    // claims with findings are the first persons', the clearing's stays the last ones'), each
    // with the card they collected in 2024.
    let mut chosen = Vec::new();
    for &id in persons.get(20..persons.len().saturating_sub(10)).unwrap_or_default() {
        if chosen.len() == 15 {
            break;
        }
        let p = store.person(id).await?;
        if p.enrolment != yibao_core::registry::Enrolment::Resident {
            continue;
        }
        if store.cards_of(id).await?.is_empty() {
            give_card(store, id, today).await?;
        }
        if !crate::clearing::settleable(store, &[id], start, 1).await?.is_empty() {
            chosen.push(id);
        }
    }
    if chosen.len() < 15 {
        return Err(StoreError::Config(format!("the demo has {} residents for the outlier, not 15", chosen.len())));
    }
    for (h, (code, lines)) in HOSPITALS.iter().enumerate() {
        for n in 0..5 {
            let person = chosen[h * 5 + n];
            let admitted = start + Duration::days(2 + (n as i64) * 3 + h as i64);
            let ipt = format!("ZY{}{:02}{n}", start.format("%Y%m"), h);
            settled_stay(store, code, person, admitted, &ipt, lines).await?;
        }
    }
    let accounts = store.list_accounts().await?;
    store.recheck_supervision(&actor_in(&accounts, "auditor")?, central.region, start, end, |_, _| {}).await?;
    Ok(())
}

/// An active card collected in 2024.
async fn give_card(store: &Store, person: i64, today: NaiveDate) -> Result<(), StoreError> {
    use yibao_core::card::CardEvent;
    let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).ok_or_else(|| StoreError::Config("demo date".into()));
    let card = crate::card_application("中国工商银行");
    let mut w = store.begin_write(&yibao_store::Actor::system("seed-demo")).await?;
    let c = store.apply_card(&mut w, person, &card, day(3, 5)?).await?;
    for event in [CardEvent::Collect, CardEvent::Activate] {
        store.card_event(&mut w, c.id, event, day(4, 22)?, today).await?;
    }
    w.commit().await
}
