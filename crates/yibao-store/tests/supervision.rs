//! Supervision on SQLite and (where reachable) PostgreSQL: the region's rule base by version,
//! what it finds on a claim when the engine adjudicates it, and the reviewer's decisions — an
//! open violation keeps a claim from approval.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::sporadic::ClaimState;
use yibao_core::supervise::Severity;
use yibao_core::{AdminCode, Scope};
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{HitState, Store};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn jinchang() -> AdminCode {
    "620300".parse().unwrap()
}

/// The demo claim with this invoice.
async fn claim_id(s: &Store, invoice: &str) -> i64 {
    for c in s.claims_in(&Scope::new(vec![jinchang()]), &[], 100).await.unwrap() {
        if s.claim(c.id).await.unwrap().invoices.iter().any(|i| i.invoice_no == invoice) {
            return c.id;
        }
    }
    panic!("no claim with invoice {invoice}")
}

#[tokio::test]
async fn the_rule_base_finds_hits_a_reviewer_decides_and_a_violation_blocks_approval() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let base = s.rule_base(jinchang()).await.unwrap().expect("the demo's rule base");
        assert_eq!((base.version, base.rules.len()), (1, 6), "{l}");

        // The demo's claims: each kind of decision.
        let states = |hits: &[yibao_store::StoredHit]| {
            let mut v: Vec<(String, HitState)> = hits.iter().map(|h| (h.rule_code.clone(), h.state)).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let first = s.claim_hits(claim_id(s, "LZ-2026-0001").await).await.unwrap();
        assert_eq!(states(&first), [("JG-003".to_string(), HitState::Confirmed)], "{l}");
        let second = s.claim_hits(claim_id(s, "LZ-2026-0088").await).await.unwrap();
        assert_eq!(
            states(&second),
            [("JG-001".to_string(), HitState::Cleared), ("JG-003".to_string(), HitState::Cleared)],
            "{l}"
        );
        let overlap = second.iter().find(|h| h.rule_code == "JG-001").unwrap();
        assert_eq!(overlap.severity, Severity::Violation);
        let first_number = s.claim(claim_id(s, "LZ-2026-0001").await).await.unwrap().number;
        assert!(overlap.message.zh.contains(&first_number) && overlap.reason.is_some(), "{l}: {overlap:?}");
        let waiting = s.claim_hits(claim_id(s, "LZ-2026-0107").await).await.unwrap();
        assert_eq!(states(&waiting), [("JG-003".to_string(), HitState::Open)], "{l}: waiting for the reviewer");
        assert_eq!(waiting[0].evidence["of"], "lines");
        let queue = s.open_hits_in(&Scope::new(vec![jinchang()]), 50).await.unwrap();
        assert!(queue.iter().all(|h| h.state == HitState::Open) && !queue.is_empty(), "{l}");
        assert!(s.open_hits_in(&Scope::parse_list("110000").unwrap(), 50).await.unwrap().is_empty(), "{l}");

        // The returned claim, completed and accepted, overlaps the stay settled at the central
        // hospital: a violation, which blocks approval until it is decided with a reason.
        let rules = s.rules().await.unwrap();
        let id = claim_id(s, "LZ-2026-0231").await;
        yibao_demo::complete_returned_claim(s, &db.blobs(), &rules, id, today()).await.unwrap();
        let hits = s.claim_hits(id).await.unwrap();
        let violation = hits.iter().find(|h| h.rule_code == "JG-001").expect("overlapping the settled stay");
        assert_eq!((violation.severity, violation.state), (Severity::Violation, HitState::Open), "{l}");
        assert_eq!(violation.evidence["of"], "visits", "{l}: {:?}", violation.evidence);
        // Kept under the person's county, so that staff of that county see and decide it.
        let county = s.claim(id).await.unwrap().insured_region;
        assert_eq!(violation.region, county, "{l}");
        let queue = s.open_hits_in(&Scope::new(vec![county]), 50).await.unwrap();
        assert!(queue.iter().any(|h| h.id == violation.id), "{l}: in the county's queue");
        let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
        s.take_claim(&mut w, id).await.unwrap();
        assert_eq!(refusal_code(s.decide_claim(&mut w, &rules, id, true, "", today()).await), "open_violations", "{l}");
        assert_eq!(refusal_code(s.decide_hit(&mut w, violation.id, true, "  ").await), "required", "{l}");
        s.decide_hit(&mut w, violation.id, true, "经核实：中心医院为门诊留观，非住院").await.unwrap();
        assert_eq!(refusal_code(s.decide_hit(&mut w, violation.id, false, "再次").await), "decided", "{l}");
        let decided = s.decide_claim(&mut w, &rules, id, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        assert!(matches!(decided.state, ClaimState::Approved | ClaimState::Reduced | ClaimState::SecondReview), "{l}");

        // A new version: validated with paths, above the one in force.
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        let bad = yibao_demo::DEMO_RULE_BASE.replace("per_day = 1", "per_day = 0");
        let e = s.import_rule_base(&mut w, &bad).await.unwrap_err();
        assert!(e.to_string().contains("rules[2].per_day"), "{l}: {e}");
        assert_eq!(refusal_code(s.import_rule_base(&mut w, yibao_demo::DEMO_RULE_BASE).await), "not_newer", "{l}");
        let v2 = yibao_demo::DEMO_RULE_BASE.replace("version = 1", "version = 2");
        s.import_rule_base(&mut w, &v2).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(s.rule_base(jinchang()).await.unwrap().unwrap().version, 2, "{l}");

        // Every step is on record.
        let entries = s.audit_entries_after(0, 100_000).await.unwrap();
        for action in ["supervision.rules", "supervision.hit", "supervision.decide"] {
            assert!(entries.iter().any(|e| e.action == action), "{l}: {action}");
        }
        db.cleanup().await;
    }
}
