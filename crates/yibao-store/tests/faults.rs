//! Faults the writer must survive, on SQLite and (where reachable) PostgreSQL: writes whose
//! futures are dropped at any await point (a client that hangs up, a timeout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::NaiveDate;
use yibao_core::registry::{Enrolment, PersonCategory, PersonStatus};
use yibao_core::{AdminCode, ResidentId};
use yibao_store::testing::TestDb;
use yibao_store::{Actor, PersonInput, Store, StoreError};

fn code(s: &str) -> AdminCode {
    s.parse().unwrap()
}

/// The `i`th person of the test, each with an ID number of their own.
fn person(i: u16) -> PersonInput {
    let birth = NaiveDate::from_ymd_opt(1980, 1, 1 + u32::from(i / 900)).unwrap();
    PersonInput {
        resident_id: ResidentId::from_parts(code("620302"), birth, 1 + i % 900).unwrap(),
        name: format!("取消{i}").parse().unwrap(),
        enrolment: Enrolment::Resident,
        category: PersonCategory::ResidentAdult,
        insured_region: code("620302"),
        hukou_region: code("620302"),
        employer_id: None,
        bank_name: None,
        bank_card: None,
        phone: None,
        status: PersonStatus::Active,
        status_from: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
    }
}

async fn write_person(s: &Store, i: u16) -> Result<(), StoreError> {
    let mut w = s.begin_write(&Actor::system("test")).await?;
    s.create_person(&mut w, &person(i)).await?;
    w.commit().await
}

/// Writes are cut off at every point: one at a time over the time a write takes, then after
/// 0–3 ms six at a time (some while waiting for the turn, some in `BEGIN`, some mid-statement,
/// some while their batch is handed on or committed). Afterwards
/// a write is answered in its normal time, every write that was answered is stored, and the
/// audit log holds exactly one entry per stored person, its chain unbroken.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_cancelled_at_any_point_never_stall_the_writer_or_break_the_chain() {
    for db in TestDb::all().await {
        let s = db.store.clone();
        let mut answered = Vec::new();
        let mut n = 0u16;
        // One at a time first, each cut off a little later than the one before, over the time a
        // whole write takes: every await point of a write that commits its own batch is hit.
        let started = std::time::Instant::now();
        write_person(&s, 0).await.unwrap();
        answered.push(0);
        let whole = started.elapsed().as_micros() as u64 * 2;
        for k in 0..240u64 {
            n += 1;
            let limit = Duration::from_micros(whole * k / 240);
            if matches!(tokio::time::timeout(limit, write_person(&s, n)).await, Ok(Ok(()))) {
                answered.push(n);
            }
        }
        // Then six at a time, so writes also wait for their turn and share batches.
        for round in 0..40u64 {
            let mut tasks = Vec::new();
            for t in 0..6u64 {
                n += 1;
                let (s, i) = (s.clone(), n);
                let limit = Duration::from_micros((round * 6 + t) * 337 % 3000);
                tasks.push(tokio::spawn(async move {
                    matches!(tokio::time::timeout(limit, write_person(&s, i)).await, Ok(Ok(()))).then_some(i)
                }));
            }
            for t in tasks {
                answered.extend(t.await.unwrap());
            }
        }
        let after = tokio::time::timeout(Duration::from_secs(10), write_person(&s, 999)).await;
        assert!(
            matches!(after, Ok(Ok(()))),
            "{}: a write after the cancellations was not answered: {after:?}",
            db.label
        );

        for i in answered.iter().chain([&999]) {
            let found = s.person_by_resident_id(&person(*i).resident_id).await.unwrap();
            assert!(found.is_some(), "{}: write {i} was answered but is not stored", db.label);
        }
        let stored = s.count_persons(None).await.unwrap();
        let v = s.verify_audit_log().await.unwrap();
        assert_eq!(v.first_break, None, "{}", db.label);
        assert_eq!(v.entries, stored, "{}: audit entries and stored persons differ", db.label);
        db.cleanup().await;
    }
}
