//! A property of the fund's books: whatever sequence of settlements, reversals, confirmed
//! deductions, clearings, annual assessments releasing deposits and bank payments happens, after every step each entry balances in
//! each fund and the balances agree with the records (and the payments reconcile). On
//! SQLite, a few sequences per run (each seeds the demo).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use proptest::prelude::*;
use yibao_core::{Fen, Scope};
use yibao_store::testing::{actor_of, discharged_stay, settle_stay, TestDb};
use yibao_store::{Consequence, HitDecision, HitState, Store, Subject};

#[derive(Debug, Clone)]
enum Op {
    /// A stay of the n-th person admitted on day `day` of month `month` (7–9), with the blood
    /// count charged twice when `twice`.
    Settle { person: usize, month: u32, day: u32, twice: bool },
    /// Reverse the n-th settlement made (if in force).
    Reverse(usize),
    /// Confirm the n-th settlement's open finding with a deduction.
    Deduct(usize),
    /// Apply for, review and approve a month's clearing (if there is one to make).
    Clear(u32),
    /// Pay every ready order in a batch.
    Pay,
    /// Assess the hospital's 2026 with this score (once; later clearings release its share
    /// of what 2026's approved clearings held).
    Assess(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..4, 7u32..10, 1u32..25, any::<bool>()).prop_map(|(person, month, day, twice)| Op::Settle { person, month, day, twice }),
        2 => (0usize..8).prop_map(Op::Reverse),
        1 => (0usize..8).prop_map(Op::Deduct),
        2 => (7u32..10).prop_map(Op::Clear),
        1 => Just(Op::Pay),
        1 => (0u32..=100).prop_map(Op::Assess),
    ]
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

async fn as_user<T>(
    s: &Store,
    user: &str,
    f: impl AsyncFnOnce(&mut yibao_store::WriteTx) -> Result<T, yibao_store::StoreError>,
) -> Result<T, yibao_store::StoreError> {
    let mut w = s.begin_write(&actor_of(s, user).await).await?;
    let out = f(&mut w).await?;
    w.commit().await?;
    Ok(out)
}

async fn apply(s: &Store, ops: &[Op]) {
    let central = s.institution_by_code("H62030200001").await.unwrap();
    let all: Vec<i64> = (1..=300).collect();
    let persons = yibao_demo::settleable(s, &all, NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(), 4).await.unwrap();
    let mut settled: Vec<yibao_store::Settlement> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Settle { person, month, day, twice } => {
                let admitted = NaiveDate::from_ymd_opt(2026, *month, *day).unwrap();
                let mut lines = vec![
                    ("1", "001102000010000", "2", "40.00", "80.00"),
                    ("2", "002201000010000", "1", "25.00", "25.00"),
                ];
                if *twice {
                    lines.push(("3", "002201000010000", "1", "25.00", "25.00"));
                }
                lines.push(("4", "003113000010000", "1", "3000.00", "3000.00"));
                let ipt = format!("ZY-P-{step}");
                let p = persons[person % persons.len()];
                let mdtrt =
                    discharged_stay(s, p, "H62030200001", admitted, &ipt, ("K35.800", "急性阑尾炎"), &lines).await;
                let at = admitted.succ_opt().unwrap().and_hms_opt(11, 0, 0).unwrap();
                // Overlapping stays of one person are refused or flagged: either is fine here.
                if let Ok(x) = settle_stay(s, "H62030200001", &mdtrt, at).await {
                    settled.push(x);
                }
            }
            Op::Reverse(n) => {
                if let Some(x) = settled.get(*n) {
                    let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
                    if s.reverse_settlement(&mut w, central.id, &x.setl_id, "").await.is_ok() {
                        w.commit().await.unwrap();
                    }
                }
            }
            Op::Deduct(n) => {
                if let Some(x) = settled.get(*n) {
                    let hits = s.hits_of(Subject::Settlement(x.id)).await.unwrap();
                    if let Some(h) = hits.iter().find(|h| h.state == HitState::Open) {
                        let d = HitDecision::Confirm { consequence: Consequence::Deduct, amount: Fen::from_yuan(10) };
                        as_user(s, "auditor", async |w| s.decide_hit(w, h.id, d, "核实属实").await).await.unwrap();
                    }
                }
            }
            Op::Clear(month) => {
                let day = NaiveDate::from_ymd_opt(2026, *month, 1).unwrap();
                let applied =
                    as_user(s, "hospital", async |w| s.apply_for_clearing(w, central.id, day, None, today()).await)
                        .await;
                if let Ok(c) = applied {
                    let r = as_user(s, "auditor", async |w| s.review_clearing(w, c.id, c.version).await).await.unwrap();
                    as_user(s, "finance", async |w| s.approve_clearing(w, r.id, r.version, today()).await)
                        .await
                        .unwrap();
                }
            }
            Op::Assess(score) => {
                let january = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
                // A second assessment of the year is refused: nothing changes.
                let _ = as_user(s, "auditor", async |w| {
                    s.assess_institution(w, central.id, 2026, *score, "", january).await
                })
                .await;
            }
            Op::Pay => {
                let region = "620300".parse().unwrap();
                let built = as_user(s, "finance", async |w| {
                    s.build_payment_batch(w, region, today(), yibao_core::payment::BankFormat::Csv).await
                })
                .await;
                if let Ok(b) = built {
                    let file = as_user(s, "finance2", async |w| {
                        s.approve_payment_batch(w, b.id).await?;
                        Ok(s.export_payment_batch(w, b.id).await?.1)
                    })
                    .await
                    .unwrap();
                    let results = yibao_demo::demo_bank_results(&file, today());
                    as_user(s, "finance", async |w| s.import_bank_results(w, &results).await).await.unwrap();
                }
            }
        }
        let books = s.verify_books().await.unwrap();
        assert!(books.clean(), "after step {step} {op:?}: {:#?}", books.differences);
        let payments = s.reconcile_payments().await.unwrap();
        assert!(payments.balances(), "after step {step} {op:?}: {:?}", payments.differences);
    }
    if ops.iter().any(|o| matches!(o, Op::Settle { .. })) {
        assert!(!settled.is_empty(), "no stay was settled: the sequence tested nothing");
    }
    let orders = s.payment_orders_in(&Scope::parse_list("620300").unwrap(), &[], 1000).await.unwrap();
    assert!(orders.iter().all(|o| o.amount.is_positive()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, max_shrink_iters: 8, ..ProptestConfig::default() })]
    #[test]
    fn any_sequence_keeps_the_books_balanced_and_in_agreement(ops in proptest::collection::vec(op(), 6..16)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = TestDb::sqlite().await;
            yibao_demo::seed_demo(&db.store, &db.blobs(), today()).await.unwrap();
            apply(&db.store, &ops).await;
            db.cleanup().await;
        });
    }
}
