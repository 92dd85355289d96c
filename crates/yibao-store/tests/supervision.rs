//! Supervision on SQLite and (where reachable) PostgreSQL: the region's rule base by version,
//! what it finds on a claim when the engine adjudicates it, and the reviewer's decisions — an
//! open violation keeps a claim from approval.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::sporadic::ClaimState;
use yibao_core::supervise::Severity;
use yibao_core::{AdminCode, Scope};
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{HitDecision, HitQueue, HitState, Store};

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
        assert_eq!((base.version, base.rules.len()), (1, 12), "{l}");

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
        let queue = s.open_hits_in(&Scope::new(vec![jinchang()]), &HitQueue::All, 50).await.unwrap();
        assert!(queue.iter().all(|h| h.state == HitState::Open) && !queue.is_empty(), "{l}");
        assert!(
            s.open_hits_in(&Scope::parse_list("110000").unwrap(), &HitQueue::All, 50).await.unwrap().is_empty(),
            "{l}"
        );
        // The region's queue holds an open hit of every rule that looks at a visit (the
        // outlier rule, JG-010, is a re-check's finding about an institution).
        let open = s.open_hits_in(&Scope::new(vec![jinchang()]), &HitQueue::All, 500).await.unwrap();
        let codes: std::collections::BTreeSet<&str> = open.iter().map(|h| h.rule_code.as_str()).collect();
        let expected = ["JG-001", "JG-002", "JG-003", "JG-004", "JG-005", "JG-006", "JG-007", "JG-008", "JG-009"];
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), [&expected[..], &["JG-011", "JG-012"]].concat(), "{l}");
        // The stay claimed again on the reissued invoice is found from it (and, re-checked,
        // from the first claim too).
        let twice: Vec<_> = open.iter().filter(|h| h.rule_code == "JG-012").collect();
        assert!(twice.iter().any(|h| h.message.zh.contains("票据 LZ-2026-0690")), "{l}: {twice:?}");

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
        let queue = s.open_hits_in(&Scope::new(vec![county]), &HitQueue::All, 50).await.unwrap();
        assert!(queue.iter().any(|h| h.id == violation.id), "{l}: in the county's queue");
        let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
        s.take_claim(&mut w, id).await.unwrap();
        assert_eq!(refusal_code(s.decide_claim(&mut w, &rules, id, true, "", today()).await), "open_violations", "{l}");
        assert_eq!(refusal_code(s.decide_hit(&mut w, violation.id, HitDecision::Clear, "  ").await), "required", "{l}");
        s.decide_hit(&mut w, violation.id, HitDecision::Clear, "经核实：中心医院为门诊留观，非住院").await.unwrap();
        assert_eq!(
            refusal_code(s.decide_hit(&mut w, violation.id, HitDecision::Clear, "再次").await),
            "decided",
            "{l}"
        );
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
        // The history is kept: both versions, the newest first, each as imported.
        let versions = s.rule_base_versions(jinchang()).await.unwrap();
        let listed: Vec<(i64, usize)> = versions.iter().map(|v| (v.version, v.rules)).collect();
        assert_eq!(listed, [(2, 12), (1, 12)], "{l}");
        assert_eq!(versions[1].document, yibao_demo::DEMO_RULE_BASE, "{l}");

        // Every step is on record.
        let entries = s.audit_entries_after(0, 100_000).await.unwrap();
        for action in ["supervision.rules", "supervision.hit", "supervision.decide"] {
            assert!(entries.iter().any(|e| e.action == action), "{l}: {action}");
        }
        db.cleanup().await;
    }
}

/// 张三 admitted at the central hospital `days_ago` days before the pinned day and discharged
/// the next day, with `lines` (number, code, count, price, amount) on the first day.
async fn discharged_visit(s: &Store, days_ago: i64, ipt_no: &str, lines: &[(&str, &str, &str, &str, &str)]) -> String {
    discharged_visit_at(s, "H62030200001", days_ago, ipt_no, lines).await
}

/// The same at the institution `code`.
async fn discharged_visit_at(
    s: &Store,
    code: &str,
    days_ago: i64,
    ipt_no: &str,
    lines: &[(&str, &str, &str, &str, &str)],
) -> String {
    let day = today() - chrono::Duration::days(days_ago);
    yibao_store::testing::discharged_stay(s, 1, code, day, ipt_no, ("I10", "高血压"), lines).await
}

async fn settle(s: &Store, mdtrt_id: &str, days_ago: i64) -> Result<yibao_store::Settlement, yibao_store::StoreError> {
    settle_at(s, "H62030200001", mdtrt_id, days_ago).await
}

async fn settle_at(
    s: &Store,
    code: &str,
    mdtrt_id: &str,
    days_ago: i64,
) -> Result<yibao_store::Settlement, yibao_store::StoreError> {
    let at = (today() - chrono::Duration::days(days_ago - 1)).and_hms_opt(11, 0, 0).unwrap();
    yibao_store::testing::settle_stay(s, code, mdtrt_id, at).await
}

#[tokio::test]
async fn every_settlement_is_checked_a_blocking_violation_refuses_it_and_an_auditor_deducts() {
    use yibao_core::Fen;
    use yibao_store::{Consequence, Subject};
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();

        // The demo's settlement charged the blood count twice on one day: kept with it, open.
        let demo = &s.person_settlements(1).await.unwrap()[0];
        let hits = s.hits_of(Subject::Settlement(demo.id)).await.unwrap();
        assert_eq!(hits.len(), 1, "{l}: {hits:?}");
        assert_eq!((hits[0].rule_code.as_str(), hits[0].state), ("JG-003", HitState::Open), "{l}");
        assert_eq!(hits[0].evidence["ids"], serde_json::json!(["2"]), "{l}");
        assert_eq!((hits[0].number.as_str(), hits[0].claim_id), (demo.setl_id.as_str(), None), "{l}");
        assert_eq!(hits[0].region, s.person(1).await.unwrap().insured_region, "{l}");

        // A cervical smear charged for a man: the rule blocks 2304, and nothing is written.
        let smear = ("1", "311201001", "1", "30.00", "30.00");
        let bed = ("2", "001102000010000", "1", "40.00", "40.00");
        let operation = ("3", "003113000010000", "1", "4800.00", "4800.00");
        let wrong = discharged_visit(s, 40, "ZY-T-1", &[smear, bed, operation]).await;
        let settlements = db.count("settlements").await;
        let e = settle(s, &wrong, 40).await.unwrap_err();
        assert!(e.to_string().contains("JG-004"), "{l}: {e}");
        assert_eq!(refusal_code(Err::<(), _>(e)), "violation", "{l}");
        assert_eq!(db.count("settlements").await, settlements, "{l}");

        // A new version that only flags it takes effect at once (the kept copy is forgotten).
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        let v2 = yibao_demo::DEMO_RULE_BASE
            .replace("version = 1", "version = 2")
            .replace("blocks_settlement = true", "blocks_settlement = false");
        s.import_rule_base(&mut w, &v2).await.unwrap();
        w.commit().await.unwrap();
        let settled = settle(s, &wrong, 40).await.unwrap();
        let hits = s.hits_of(Subject::Settlement(settled.id)).await.unwrap();
        let smear_hit = hits.iter().find(|h| h.rule_code == "JG-004").expect("flagged, not refused");
        // The catalog itself says the smear is for women (lmt_gend 2): the catalog's limits
        // find it without a rule naming the item.
        let by_catalog = hits.iter().find(|h| h.rule_code == "JG-009").expect("the catalog's own limits");
        assert_eq!(by_catalog.evidence["ids"], serde_json::json!(["1"]), "{l}");
        assert_eq!((smear_hit.severity, smear_hit.rule_version), (Severity::Violation, 2), "{l}");

        // The auditor confirms it with a deduction: above what the fund paid, zero, or a
        // deduction from a claim are refused; so is an amount with nothing to take back.
        let fund = settled.list.fund_pay_sumamt;
        assert!(fund > Fen::from_fen(3000), "{l}: {fund}");
        let confirm = |consequence, amount| yibao_store::HitDecision::Confirm { consequence, amount };
        let mut w = s.begin_write(&actor_of(s, "auditor").await).await.unwrap();
        let too_much = fund.checked_add(Fen::from_fen(1)).unwrap();
        let r = s.decide_hit(&mut w, smear_hit.id, confirm(Consequence::Deduct, too_much), "限女性项目").await;
        assert_eq!(refusal_code(r), "above_fund", "{l}");
        let r = s.decide_hit(&mut w, smear_hit.id, confirm(Consequence::Deduct, Fen::ZERO), "限女性项目").await;
        assert_eq!(refusal_code(r), "zero", "{l}");
        let r = s.decide_hit(&mut w, smear_hit.id, confirm(Consequence::None, Fen::from_fen(100)), "限女性项目").await;
        assert_eq!(refusal_code(r), "not_zero", "{l}");
        let claim_hit = s.claim_hits(claim_id(s, "LZ-2026-0107").await).await.unwrap()[0].clone();
        let r = s.decide_hit(&mut w, claim_hit.id, confirm(Consequence::Deduct, Fen::from_fen(100)), "重复收费").await;
        assert_eq!(refusal_code(r), "deduct_claim", "{l}");
        let deducted = s
            .decide_hit(&mut w, smear_hit.id, confirm(Consequence::Deduct, Fen::from_fen(3000)), "限女性项目，拒付该项")
            .await
            .unwrap();
        w.commit().await.unwrap();
        assert_eq!(
            (deducted.state, deducted.consequence, deducted.amount),
            (HitState::Confirmed, Some(Consequence::Deduct), Some(Fen::from_fen(3000))),
            "{l}"
        );

        // Reversed (2305): its open findings go with it, the decided one stays on record, and
        // nothing more can be deducted from it.
        let open_before = hits.iter().filter(|h| h.state == HitState::Open).count();
        assert!(open_before > 0, "{l}");
        let central = s.institution_by_code("H62030200001").await.unwrap();
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        s.reverse_settlement(&mut w, central.id, &settled.setl_id, &wrong).await.unwrap();
        w.commit().await.unwrap();
        let after = s.hits_of(Subject::Settlement(settled.id)).await.unwrap();
        assert_eq!(after.iter().map(|h| h.id).collect::<Vec<_>>(), [smear_hit.id], "{l}: {after:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_medical_history_file_fills_itself_and_takes_an_auditors_entries() {
    use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let file = s.medical_history(1).await.unwrap();
        let settled = &s.person_settlements(1).await.unwrap()[0];
        // The settlement's diagnosis, with its name; the approved claims' by code; the
        // auditor's two by hand.
        let from = |source: HistorySource| file.iter().filter(|e| e.source == source).collect::<Vec<_>>();
        let by_settlement = from(HistorySource::Settlement);
        let entry = |e: &&yibao_store::HistoryEntry| (e.kind, e.code.clone(), e.name.clone(), e.source_ref.clone());
        let mut found: Vec<_> = by_settlement.iter().map(entry).collect();
        found.sort();
        let setl = settled.setl_id.clone();
        assert_eq!(
            found,
            [
                (HistoryKind::Diagnosis, "K80.1".into(), "胆囊结石伴胆囊炎".into(), setl.clone()),
                (HistoryKind::Surgery, "003113000010000".into(), "腹腔镜胆囊切除术".into(), setl),
            ],
            "{l}: the diagnosis and the operation, by the catalog's name"
        );
        let by_claims = from(HistorySource::Claim);
        assert!(by_claims.iter().any(|e| e.kind == HistoryKind::Diagnosis), "{l}: the approved claims");
        assert!(by_claims.iter().any(|e| e.kind == HistoryKind::Surgery && e.name == "腹腔镜胆囊切除术"), "{l}");
        assert_eq!(from(HistorySource::Document).len() + from(HistorySource::Audit).len(), 2, "{l}");
        assert!(file.windows(2).all(|w| w[0].noted_on >= w[1].noted_on), "{l}: the latest first");

        // By hand: validated, audited, once per fact and source.
        let mut w = s.begin_write(&actor_of(s, "auditor").await).await.unwrap();
        let input = HistoryInput {
            kind: HistoryKind::Surgery,
            code: "51.2201".into(),
            name: "腹腔镜下胆囊切除术".into(),
            noted_on: today(),
        };
        let bad = HistoryInput { kind: HistoryKind::Diagnosis, code: "胆囊".into(), ..input.clone() };
        assert_eq!(
            refusal_code(s.add_history(&mut w, 1, &bad, HistorySource::Audit, "T-1", today()).await),
            "icd10",
            "{l}"
        );
        let r = s.add_history(&mut w, 1, &input, HistorySource::Settlement, "T-1", today()).await;
        assert_eq!(refusal_code(r), "by_hand", "{l}");
        assert_eq!(
            refusal_code(s.add_history(&mut w, 1, &input, HistorySource::Audit, " ", today()).await),
            "required",
            "{l}"
        );
        let added = s.add_history(&mut w, 1, &input, HistorySource::Document, "手术记录", today()).await.unwrap();
        assert_eq!(added.verified_by, actor_of(s, "auditor").await.label, "{l}");
        let again = s.add_history(&mut w, 1, &input, HistorySource::Document, "手术记录", today()).await;
        assert!(matches!(again, Err(yibao_store::StoreError::Duplicate { .. })), "{l}");
        w.commit().await.unwrap();
        assert_eq!(s.medical_history(1).await.unwrap().len(), file.len() + 1, "{l}");
        let entries = s.audit_entries_after(0, 100_000).await.unwrap();
        assert!(entries.iter().any(|e| e.action == "history.add"), "{l}");
        db.cleanup().await;
    }
}

/// A new rule base version is applied to a period after the fact: what it finds is added to
/// the settlements and claims of the region, decided hits are kept, progress is reported.
#[tokio::test]
async fn a_period_is_re_checked_under_a_new_rule_base() {
    use yibao_store::Subject;
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let decided_before = db.number("SELECT COUNT(*) FROM supervision_hits WHERE state <> 'open'").await;
        // Version 2 adds a rule the visits of 张三 this year all break: more than one visit
        // in a year.
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        let v2 = format!(
            "{}\n[[rules]]\ncode = \"JG-099\"\nseverity = \"hint\"\nkind = \"frequency\"\nmax = 1\nwithin_days = 365\n",
            yibao_demo::DEMO_RULE_BASE.replace("version = 1", "version = 2")
        );
        s.import_rule_base(&mut w, &v2).await.unwrap();
        w.commit().await.unwrap();
        let mut calls = Vec::new();
        let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let summary = s
            .recheck_supervision(&actor_of(s, "auditor").await, jinchang(), from, today(), |done, total| {
                calls.push((done, total))
            })
            .await
            .unwrap();
        assert!(summary.settlements >= 1 && summary.claims >= 3, "{l}: {summary:?}");
        let total = summary.settlements + summary.claims;
        assert_eq!(calls.first(), Some(&(0, total)), "{l}");
        assert_eq!(calls.last(), Some(&(total, total)), "{l}");
        let demo = &s.person_settlements(1).await.unwrap()[0];
        let hits = s.hits_of(Subject::Settlement(demo.id)).await.unwrap();
        let frequent = hits.iter().find(|h| h.rule_code == "JG-099").expect("found by the re-check");
        assert_eq!((frequent.rule_version, frequent.state), (2, HitState::Open), "{l}");
        let decided_after = db.number("SELECT COUNT(*) FROM supervision_hits WHERE state <> 'open'").await;
        assert_eq!(decided_after, decided_before, "{l}: decisions are kept");
        // Run again: the same hits, not twice.
        let open = summary.open_hits;
        let again =
            s.recheck_supervision(&actor_of(s, "auditor").await, jinchang(), from, today(), |_, _| {}).await.unwrap();
        assert_eq!(again.open_hits, open, "{l}");
        db.cleanup().await;
    }
}

/// The outlier rule, run by a re-check over a period: an institution whose cost per case for a
/// diagnosis group is far from its peers of the same grade is found, with its figures.
#[tokio::test]
async fn a_re_check_finds_an_institution_far_from_its_peers() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        // The city's designated hospitals of the grade it has most of.
        let all: Vec<_> = s
            .list_institutions(None, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.region.prefecture() == jinchang() && i.direct_settlement && i.designated_on(today()))
            .collect();
        let grade = yibao_core::registry::HospitalGrade::ALL
            .iter()
            .copied()
            .max_by_key(|g| all.iter().filter(|i| i.grade == *g).count())
            .unwrap();
        let mut hospitals: Vec<_> = all.into_iter().filter(|i| i.grade == grade).collect();
        hospitals.sort_by(|a, b| a.code.cmp(&b.code));
        assert!(hospitals.len() >= 2, "{l}: {}", hospitals.len());
        // Two stays at each level-3 hospital, a week apart; the last hospital's cost ten times
        // the others'.
        let mut n = 0;
        for (k, h) in hospitals.iter().enumerate() {
            let price = if k + 1 == hospitals.len() { "4000.00" } else { "400.00" };
            for j in 0..2 {
                n += 1;
                let days_ago = 200 + 7 * n;
                let line = ("1", "001102000010000", "1", price, price);
                let visit = discharged_visit_at(s, &h.code, days_ago, &format!("ZY-O-{n}"), &[line]).await;
                settle_at(s, &h.code, &visit, days_ago).await.unwrap_or_else(|e| panic!("{l} {}: {e}", h.code));
                let _ = j;
            }
        }
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        // The demo's outlier rule (JG-010), asking for two cases an institution.
        let v2 =
            yibao_demo::DEMO_RULE_BASE.replace("version = 1", "version = 2").replace("min_cases = 5", "min_cases = 2");
        s.import_rule_base(&mut w, &v2).await.unwrap();
        w.commit().await.unwrap();
        let from = today() - chrono::Duration::days(365);
        let auditor = actor_of(s, "auditor").await;
        let summary = s.recheck_supervision(&auditor, jinchang(), from, today(), |_, _| {}).await.unwrap();
        // The demo's own outlier (K35 at the staff hospital, last month) is found again over
        // the year; this test's is the I10 one.
        let of_i10 = |all: Vec<yibao_store::InstitutionFinding>| {
            all.into_iter().filter(|f| f.diagnosis_group == "I10").collect::<Vec<_>>()
        };
        let found = of_i10(s.institution_findings(&Scope::new(vec![jinchang()]), 50).await.unwrap());
        assert!(hospitals.len() >= 3, "{l}: the demo has three hospitals of one grade in the city");
        {
            assert_eq!((summary.outliers, found.len()), (2, 1), "{l}: {found:?}");
            let last = &hospitals[hospitals.len() - 1].code;
            assert_eq!(
                (found[0].institution_code.as_str(), found[0].diagnosis_group.as_str()),
                (last.as_str(), "I10"),
                "{l}"
            );
            assert_eq!((found[0].cases, found[0].measure.as_str()), (2, "cost_per_case"), "{l}");
            assert!(found[0].message.zh.contains(last.as_str()), "{l}");
            // Run again: replaced, not doubled.
            s.recheck_supervision(&auditor, jinchang(), from, today(), |_, _| {}).await.unwrap();
            let found = of_i10(s.institution_findings(&Scope::new(vec![jinchang()]), 50).await.unwrap());
            assert_eq!((found.len(), found[0].state.as_str()), (1, "open"), "{l}");

            // An auditor decides it, with a reason; once.
            use yibao_core::supervise::outlier::FollowUp;
            let mut w = s.begin_write(&auditor).await.unwrap();
            let id = found[0].id;
            assert_eq!(refusal_code(s.decide_institution_finding(&mut w, id, None, " ").await), "required", "{l}");
            let reason = "约谈院方：高值耗材使用偏多，已限期整改";
            let decided = s.decide_institution_finding(&mut w, id, Some(FollowUp::Interview), reason).await.unwrap();
            assert_eq!((decided.state.as_str(), decided.follow_up), ("confirmed", Some(FollowUp::Interview)), "{l}");
            assert_eq!(decided.decided_by.as_deref(), Some(auditor.label.as_str()), "{l}");
            let again = s.decide_institution_finding(&mut w, id, None, "再次").await;
            assert_eq!(refusal_code(again), "decided", "{l}");
            w.commit().await.unwrap();
            // The next re-check keeps the decision and does not find it again.
            let summary = s.recheck_supervision(&auditor, jinchang(), from, today(), |_, _| {}).await.unwrap();
            let found = of_i10(s.institution_findings(&Scope::new(vec![jinchang()]), 50).await.unwrap());
            assert_eq!(summary.outliers, 1, "{l}: the demo's, still open");
            assert_eq!((found.len(), found[0].id, found[0].state.as_str()), (1, id, "confirmed"), "{l}");
            let entries = s.audit_entries_after(0, 100_000).await.unwrap();
            assert!(entries.iter().any(|e| e.action == "supervision.finding"), "{l}");
        }
        assert!(s.institution_findings(&Scope::parse_list("110000").unwrap(), 50).await.unwrap().is_empty(), "{l}");
        db.cleanup().await;
    }
}

/// A reviewer's exclusion of the offending line takes the rules' violation away (the rules look
/// at what is paid); a violation a re-check finds after the first review stops the second.
#[tokio::test]
async fn an_excluded_line_is_no_longer_a_violation_and_the_second_review_waits_for_a_new_one() {
    use yibao_core::sporadic::{ClaimCase, LineReason};
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let rules = s.rules().await.unwrap();
        let reviewer = actor_of(s, "reviewer").await;

        // The demo's cervical smear charged for a man: a violation (JG-004) and the catalog's
        // limit (JG-009), on line 2.
        let smear = claim_id(s, "LZ-2026-0640").await;
        let codes = |hits: Vec<yibao_store::StoredHit>| {
            let mut v: Vec<String> =
                hits.into_iter().filter(|h| h.state == HitState::Open).map(|h| h.rule_code).collect();
            v.sort();
            v
        };
        assert_eq!(codes(s.claim_hits(smear).await.unwrap()), ["JG-004", "JG-009"], "{l}");
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.take_claim(&mut w, smear).await.unwrap();
        assert_eq!(refusal_code(s.decide_claim(&mut w, &rules, smear, true, "", today()).await), "open_violations");
        s.exclude_claim_line(&mut w, &rules, smear, 2, Some(LineReason::OutOfScope), "限女性项目，不予支付")
            .await
            .unwrap();
        w.commit().await.unwrap();
        assert!(codes(s.claim_hits(smear).await.unwrap()).is_empty(), "{l}");
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.decide_claim(&mut w, &rules, smear, true, "剔除限女性项目后通过", today()).await.unwrap();
        w.commit().await.unwrap();

        // A claim above the second-review line, approved by the first reviewer; then a new
        // rule base makes its bed a violation and a re-check finds it: the second reviewer
        // cannot confirm until it is decided.
        let ended = today() - chrono::Duration::days(4);
        let input = yibao_demo::lanzhou_claim(
            1,
            ClaimCase::OffsiteInpatient,
            "LZ-T-2R",
            ended,
            &[("001102000010000", "6", "40.00", "240.00"), ("003113000010000", "1", "6000.00", "6000.00")],
        )
        .unwrap();
        let mut w = s.begin_write(&actor_of(s, "zhangsan").await).await.unwrap();
        let c = s.submit_claim(&mut w, &input, today()).await.unwrap();
        for kind in yibao_demo::INPATIENT_DOCUMENTS {
            s.attach_claim_document(&mut w, &db.blobs(), c.id, *kind, "a.png", yibao_demo::DEMO_SCAN_PNG.to_vec())
                .await
                .unwrap();
        }
        w.commit().await.unwrap();
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        s.accept_claim(&mut w, &rules, c.id, today()).await.unwrap();
        w.commit().await.unwrap();
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.take_claim(&mut w, c.id).await.unwrap();
        for h in s.claim_hits(c.id).await.unwrap().into_iter().filter(|h| h.state == HitState::Open) {
            s.decide_hit(&mut w, h.id, HitDecision::Clear, "经核实无误").await.unwrap();
        }
        let first = s.decide_claim(&mut w, &rules, c.id, true, "", today()).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(first.state, ClaimState::SecondReview, "{l}");
        let mut w = s.begin_write(&actor_of(s, "policy").await).await.unwrap();
        let v2 = format!(
            "{}\n[[rules]]\ncode = \"JG-099\"\nseverity = \"violation\"\nkind = \"restricted_sex\"\n\
             item = \"001102000010000\"\nsex = \"female\"\n",
            yibao_demo::DEMO_RULE_BASE.replace("version = 1", "version = 2")
        );
        s.import_rule_base(&mut w, &v2).await.unwrap();
        w.commit().await.unwrap();
        let auditor = actor_of(s, "auditor").await;
        s.recheck_supervision(&auditor, jinchang(), ended, today(), |_, _| {}).await.unwrap();
        assert!(codes(s.claim_hits(c.id).await.unwrap()).contains(&"JG-099".to_string()), "{l}");
        let mut w = s.begin_write(&actor_of(s, "reviewer2").await).await.unwrap();
        let r = s.second_review_claim(&mut w, &rules, c.id, true, "", today()).await;
        assert_eq!(refusal_code(r), "open_violations", "{l}");
        drop(w);
        db.cleanup().await;
    }
}

/// A settlement from a snapshot taken before the write (as 2304 over the platform interface
/// does) reads the person's history there, not in its turn to write, and finds the same.
#[tokio::test]
async fn a_settlement_from_a_snapshot_finds_what_the_history_shows() {
    use yibao_store::Subject;
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        // Overlapping the demo's stay at the central hospital (12 to 7 days ago).
        let bed = ("1", "001102000010000", "1", "40.00", "40.00");
        let stay = discharged_visit_at(s, "H62030200002", 9, "ZY-S-1", &[bed]).await;
        let institution = s.institution_by_code("H62030200002").await.unwrap();
        let rules = s.rules().await.unwrap();
        let at = (today() - chrono::Duration::days(8)).and_hms_opt(11, 0, 0).unwrap();
        let snapshot = s.visit_snapshot(&rules, institution.id, &stay, at.date(), true).await.unwrap();
        let request = yibao_store::SettleRequest { acct_used_flag: false, medfee_sumamt: None, setl_time: at };
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let settled = s.settle_visit(&mut w, &rules, &institution, &stay, &request, Some(snapshot)).await.unwrap();
        w.commit().await.unwrap();
        let hits = s.hits_of(Subject::Settlement(settled.id)).await.unwrap();
        let overlap = hits.iter().find(|h| h.rule_code == "JG-001").expect("the overlap with the demo's stay");
        let demo = s.person_settlements(1).await.unwrap().into_iter().find(|x| x.id != settled.id).unwrap();
        assert!(overlap.message.zh.contains(&demo.setl_id), "{l}: {overlap:?}");
        db.cleanup().await;
    }
}

/// The auditor's queue: a hit taken by one auditor leaves the untaken queue and is decided only
/// by them until they let it go; a task sent to the region's auditors is taken by one of them.
#[tokio::test]
async fn an_auditor_takes_a_hit_and_a_task_and_nobody_else_decides_the_hit() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let scope = Scope::new(vec![jinchang()]);
        let (auditor, reviewer) = (actor_of(s, "auditor").await, actor_of(s, "reviewer").await);
        let open = s.open_hits_in(&scope, &HitQueue::Untaken, 50).await.unwrap();
        let hit = open.iter().find(|h| h.claim_id.is_some()).expect("an open hit on a claim").clone();

        let mut w = s.begin_write(&auditor).await.unwrap();
        let taken = s.take_hit(&mut w, hit.id, true).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(taken.taken_by.as_deref(), Some(auditor.label.as_str()), "{l}");
        let untaken = s.open_hits_in(&scope, &HitQueue::Untaken, 500).await.unwrap();
        assert!(untaken.iter().all(|h| h.id != hit.id), "{l}: not in the untaken queue");
        let mine = s.open_hits_in(&scope, &HitQueue::TakenBy(auditor.label.clone()), 500).await.unwrap();
        assert_eq!(mine.iter().map(|h| h.id).collect::<Vec<_>>(), [hit.id], "{l}");

        // Nobody else takes it, decides it or lets it go.
        let mut w = s.begin_write(&reviewer).await.unwrap();
        assert_eq!(refusal_code(s.take_hit(&mut w, hit.id, true).await), "taken", "{l}");
        assert_eq!(refusal_code(s.decide_hit(&mut w, hit.id, HitDecision::Clear, "无误").await), "taken", "{l}");
        assert_eq!(refusal_code(s.take_hit(&mut w, hit.id, false).await), "not_taken", "{l}");
        drop(w);
        // Let go, it is anyone's again: the reviewer takes it and decides it.
        let mut w = s.begin_write(&auditor).await.unwrap();
        assert_eq!(s.take_hit(&mut w, hit.id, false).await.unwrap().taken_by, None, "{l}");
        w.commit().await.unwrap();
        let mut w = s.begin_write(&reviewer).await.unwrap();
        s.take_hit(&mut w, hit.id, true).await.unwrap();
        let decided = s.decide_hit(&mut w, hit.id, HitDecision::Clear, "核对病历，无误").await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(decided.state, HitState::Cleared, "{l}");
        let mut w = s.begin_write(&reviewer).await.unwrap();
        assert_eq!(refusal_code(s.take_hit(&mut w, hit.id, true).await), "decided", "{l}");
        drop(w);

        // A task for any auditor of the region is taken once.
        let person = s.claim(hit.claim_id.unwrap()).await.unwrap().person_id;
        let task = yibao_store::NewTask {
            kind: yibao_core::inspection::AuditTaskKind::OnSite,
            person_id: person,
            claim_id: None,
            visit_id: None,
            filing_id: None,
            place: "金昌市中心医院".into(),
            assignee: String::new(),
            due_on: today() + chrono::Duration::days(5),
            instructions: String::new(),
        };
        let mut w = s.begin_write(&auditor).await.unwrap();
        let t = s.create_audit_task(&mut w, &task, today()).await.unwrap();
        let t = s.take_audit_task(&mut w, t.id, "auditor").await.unwrap();
        assert_eq!(t.assignee, "auditor", "{l}");
        assert_eq!(refusal_code(s.take_audit_task(&mut w, t.id, "auditor2").await), "assigned", "{l}");
        w.commit().await.unwrap();
        db.cleanup().await;
    }
}
