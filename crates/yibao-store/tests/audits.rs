//! The agency's audit on SQLite and (where reachable) PostgreSQL: a filing's pre-evaluation
//! holds its approval until recorded; a pre-evaluated stay's claim brings its re-check task;
//! on-site audits need photos and their conclusion stops a claim or a settlement; approved
//! claims are drawn for post-payment audit by number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use yibao_core::document::DocumentKind as D;
use yibao_core::filing::Decision;
use yibao_core::inspection::{AuditTaskKind, Conclusion};
use yibao_core::sporadic::ClaimCase;
use yibao_core::Scope;
use yibao_store::testing::{actor_of, refusal_code, TestDb};
use yibao_store::{Concluded, NewPhoto, NewTask, Store};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn jinchang() -> Scope {
    Scope::parse_list("620300").unwrap()
}

async fn claim_with_invoice(s: &Store, invoice: &str) -> yibao_store::StoredClaim {
    for c in s.claims_in(&jinchang(), &[], 200).await.unwrap() {
        let claim = s.claim(c.id).await.unwrap();
        if claim.invoices.iter().any(|i| i.invoice_no == invoice) {
            return claim;
        }
    }
    panic!("no claim with invoice {invoice}")
}

#[tokio::test]
async fn a_pre_evaluation_holds_the_filing_and_its_stay_brings_a_re_check() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();

        // The demo's referral was pre-evaluated, then approved; its stay's claim brought the
        // re-check, due 30 days after discharge, for any auditor of the region.
        let pre = s.pre_evaluation_of_filing(2).await.unwrap().expect("the referral's pre-evaluation");
        assert_eq!(pre.record, Some(yibao_demo::demo_pre_evaluation()), "{l}");
        // The filing is decided: what its stays are compared with can no longer change.
        let mut w = s.begin_write(&actor_of(s, "clerk").await).await.unwrap();
        let changed =
            s.record_pre_evaluation(&mut w, 2, pre.version, &yibao_demo::demo_pre_evaluation(), today()).await;
        assert_eq!(refusal_code(changed), "filing_decided", "{l}");
        drop(w);
        let claim = claim_with_invoice(s, "LZ-2026-0415").await;
        assert_eq!(s.pre_evaluation_for(claim.person_id, claim.care_start).await.unwrap().map(|p| p.id), Some(pre.id));
        let tasks = s.audit_tasks_of_claim(claim.id).await.unwrap();
        assert_eq!(tasks.len(), 1, "{l}: {tasks:?}");
        assert_eq!((tasks[0].kind, tasks[0].assignee.as_str()), (AuditTaskKind::Recheck, ""), "{l}");
        assert_eq!(tasks[0].due_on, claim.care_end + chrono::Duration::days(30), "{l}");
        // Its diagnosis went into the person's history file, from the audit.
        let file = s.medical_history(claim.person_id).await.unwrap();
        assert!(file.iter().any(|e| e.code == "I25.1" && e.source_ref == format!("预评估 {}", pre.id)), "{l}");

        // Another stay under the same filing needs the photos the pre-evaluation asked for.
        let clerk = actor_of(s, "clerk").await;
        let lines = [("001102000010000", "2", "40.00", "80.00")];
        let ended = today() - chrono::Duration::days(3);
        let input = yibao_demo::lanzhou_claim(claim.person_id, ClaimCase::Referral, "LZ-T-9", ended, &lines).unwrap();
        let mut w = s.begin_write(&clerk).await.unwrap();
        let second = s.submit_claim(&mut w, &input, today()).await.unwrap();
        let blobs = db.blobs();
        for kind in [D::IdCard, D::SocialSecurityCard, D::Invoice, D::ItemisedList, D::DischargeSummary] {
            s.attach_claim_document(&mut w, &blobs, second.id, kind, "a.png", yibao_demo::DEMO_SCAN_PNG.to_vec())
                .await
                .unwrap();
        }
        for kind in [D::ReferralCertificate, D::MedicalRecords, D::BankAccount] {
            s.attach_claim_document(&mut w, &blobs, second.id, kind, "a.png", yibao_demo::DEMO_SCAN_PNG.to_vec())
                .await
                .unwrap();
        }
        let rules = s.rules().await.unwrap();
        let e = s.accept_claim(&mut w, &rules, second.id, today()).await.unwrap_err();
        assert!(e.to_string().contains("operated site"), "{l}: {e}");
        drop(w);

        // The retiree's filing, waiting: the clerk asks for a pre-evaluation; approval waits.
        let mut w = s.begin_write(&clerk).await.unwrap();
        assert_eq!(refusal_code(s.require_pre_evaluation(&mut w, 3, " ").await), "required", "{l}");
        let pre = s.require_pre_evaluation(&mut w, 3, "请带病历来预评估").await.unwrap();
        assert_eq!(refusal_code(s.require_pre_evaluation(&mut w, 3, "again").await), "already_required", "{l}");
        let f = s.filing(3).await.unwrap();
        assert_eq!(
            refusal_code(s.decide_filing(&mut w, 3, f.version, &Decision::Approve).await),
            "pre_evaluation_pending",
            "{l}"
        );
        let bad = yibao_core::inspection::PreEvaluation {
            diagnosis_code: "心脏".into(),
            ..yibao_demo::demo_pre_evaluation()
        };
        assert_eq!(refusal_code(s.record_pre_evaluation(&mut w, 3, pre.version, &bad, today()).await), "icd10", "{l}");
        let stale =
            s.record_pre_evaluation(&mut w, 3, pre.version + 5, &yibao_demo::demo_pre_evaluation(), today()).await;
        assert!(matches!(stale, Err(yibao_store::StoreError::Stale(_))), "{l}");
        s.record_pre_evaluation(&mut w, 3, pre.version, &yibao_demo::demo_pre_evaluation(), today()).await.unwrap();
        let f = s.filing(3).await.unwrap();
        s.decide_filing(&mut w, 3, f.version, &Decision::Approve).await.unwrap();
        w.commit().await.unwrap();
        // The person was told to come in.
        let notices = s.notices_of(f.person_id, 10).await.unwrap();
        assert!(notices.iter().any(|n| n.kind == "pre_evaluation" && n.text.zh.contains("请带病历")), "{l}");
        // A decided filing takes no new requirement.
        let mut w = s.begin_write(&clerk).await.unwrap();
        assert_eq!(refusal_code(s.require_pre_evaluation(&mut w, 4, "x").await), "not_applied", "{l}");
        drop(w);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_on_site_audit_needs_photos_and_its_conclusion_stops_the_claim_or_the_stay() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let auditor = actor_of(s, "auditor").await;
        let rules = s.rules().await.unwrap();

        // The demo's open on-site audit of 张三's stay has two photos.
        let task = s.audit_task(1).await.unwrap();
        assert_eq!((task.kind, task.state.as_str(), task.photos.len()), (AuditTaskKind::OnSite, "open", 2), "{l}");
        let region = s.audit_photo_region(task.photos[0].document_id).await.unwrap();
        assert_eq!(region, Some(task.region), "{l}");
        assert!(s.audit_tasks_in(&jinchang(), true, 50).await.unwrap().iter().any(|t| t.id == 1), "{l}");
        assert!(s.audit_tasks_in(&Scope::parse_list("110000").unwrap(), false, 50).await.unwrap().is_empty(), "{l}");

        // Sending one: somewhere, not in the past, to an auditor of the person's region.
        let claim = claim_with_invoice(s, "LZ-2026-0107").await;
        let new = NewTask {
            kind: AuditTaskKind::OnSite,
            person_id: claim.person_id,
            claim_id: Some(claim.id),
            visit_id: None,
            filing_id: None,
            place: "兰州大学第一医院".into(),
            assignee: "auditor".into(),
            due_on: today() + chrono::Duration::days(5),
            instructions: String::new(),
        };
        let mut w = s.begin_write(&auditor).await.unwrap();
        let r = s.create_audit_task(&mut w, &NewTask { place: " ".into(), ..new.clone() }, today()).await;
        assert_eq!(refusal_code(r), "required", "{l}");
        let r =
            s.create_audit_task(&mut w, &NewTask { due_on: today().pred_opt().unwrap(), ..new.clone() }, today()).await;
        assert_eq!(refusal_code(r), "past", "{l}");
        let r = s.create_audit_task(&mut w, &NewTask { assignee: "reviewer".into(), ..new.clone() }, today()).await;
        assert_eq!(refusal_code(r), "not_an_auditor", "{l}");
        let r = s
            .create_audit_task(&mut w, &NewTask { claim_id: Some(claim.id), person_id: 2, ..new.clone() }, today())
            .await;
        assert_eq!(refusal_code(r), "not_the_persons", "{l}");
        let sent = s.create_audit_task(&mut w, &new, today()).await.unwrap();
        w.commit().await.unwrap();

        // While it is open the claim cannot be approved.
        let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
        s.take_claim(&mut w, claim.id).await.unwrap();
        for hit in s.claim_hits(claim.id).await.unwrap() {
            s.decide_hit(&mut w, hit.id, yibao_store::HitDecision::Clear, "已核实").await.unwrap();
        }
        assert_eq!(
            refusal_code(s.decide_claim(&mut w, &rules, claim.id, true, "", today()).await),
            "audit_open",
            "{l}"
        );
        w.commit().await.unwrap();

        // Concluding needs findings and (on site) a photo; a conclusion is final.
        let mut w = s.begin_write(&auditor).await.unwrap();
        let concluded = Concluded {
            visited_on: today(),
            findings: "患者不在病房，床位空置三日".into(),
            conclusion: Conclusion::FalseAdmission,
        };
        let blank = Concluded { findings: " ".into(), ..concluded.clone() };
        let r = s.conclude_audit_task(&mut w, sent.id, sent.version, &blank, today()).await;
        assert_eq!(refusal_code(r), "required", "{l}");
        let r = s.conclude_audit_task(&mut w, sent.id, sent.version, &concluded, today()).await;
        assert_eq!(refusal_code(r), "photos_required", "{l}");
        let at = today().and_hms_opt(9, 30, 0).unwrap();
        let blobs = db.blobs();
        s.add_audit_photo(&mut w, &blobs, sent.id, photo("空床.png", at)).await.unwrap();
        let future = r_future(s, &mut w, &blobs, sent.id).await;
        assert_eq!(future, "future", "{l}");
        let done = s.conclude_audit_task(&mut w, sent.id, sent.version, &concluded, today()).await.unwrap();
        assert_eq!((done.state.as_str(), done.conclusion), ("done", Some(Conclusion::FalseAdmission)), "{l}");
        let r = s.add_audit_photo(&mut w, &blobs, sent.id, photo("x.png", at)).await;
        assert_eq!(refusal_code(r), "concluded", "{l}");
        // The demo's on-site audit of the stay in hospital finds it was not real either.
        let not_there = Concluded {
            visited_on: today(),
            findings: "患者不在院".into(),
            conclusion: Conclusion::BedWithoutTreatment,
        };
        s.conclude_audit_task(&mut w, 1, task.version, &not_there, today()).await.unwrap();
        w.commit().await.unwrap();

        // The claim cannot be approved now; the stay cannot be settled.
        let mut w = s.begin_write(&actor_of(s, "reviewer").await).await.unwrap();
        assert_eq!(
            refusal_code(s.decide_claim(&mut w, &rules, claim.id, true, "", today()).await),
            "audit_stopped",
            "{l}"
        );
        s.decide_claim(&mut w, &rules, claim.id, false, "现场稽核：虚假住院", today()).await.unwrap();
        w.commit().await.unwrap();
        let central = s.institution_by_code("H62030200001").await.unwrap();
        let mdtrt_id = task.mdtrt_id.clone().unwrap();
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let out = (today()).and_hms_opt(12, 0, 0).unwrap();
        s.discharge_visit(&mut w, central.id, &mdtrt_id, out, "1", &[]).await.unwrap();
        let request = yibao_store::SettleRequest { acct_used_flag: false, medfee_sumamt: None, setl_time: out };
        let r = s.settle_visit(&mut w, &rules, &central, &mdtrt_id, &request, None).await;
        assert_eq!(refusal_code(r), "audit_stopped", "{l}");
        drop(w);

        // After the fund paid: an audit finding the settled stay false puts a violation on the
        // settlement, for an auditor to recover or deduct; a re-check of the rules keeps it.
        let settled =
            s.person_settlements(1).await.unwrap().into_iter().find(|x| x.list.fund_pay_sumamt.fen() > 0).unwrap();
        let paid_task = NewTask {
            person_id: 1,
            claim_id: None,
            visit_id: Some(settled.visit_id),
            place: "金昌市中心医院".into(),
            ..new.clone()
        };
        let mut w = s.begin_write(&auditor).await.unwrap();
        let t = s.create_audit_task(&mut w, &paid_task, today()).await.unwrap();
        s.add_audit_photo(&mut w, &blobs, t.id, photo("病历.png", at)).await.unwrap();
        s.conclude_audit_task(&mut w, t.id, t.version, &concluded, today()).await.unwrap();
        w.commit().await.unwrap();
        let found =
            |hits: Vec<yibao_store::StoredHit>| hits.into_iter().find(|h| h.rule_code == format!("稽核-{}", t.id));
        let hit =
            found(s.hits_of(yibao_store::Subject::Settlement(settled.id)).await.unwrap()).expect("the audit's finding");
        assert_eq!(
            (hit.severity, hit.state),
            (yibao_core::supervise::Severity::Violation, yibao_store::HitState::Open),
            "{l}"
        );
        let from = today() - chrono::Duration::days(60);
        s.recheck_supervision(&auditor, task.region.prefecture(), from, today(), |_, _| {}).await.unwrap();
        assert!(found(s.hits_of(yibao_store::Subject::Settlement(settled.id)).await.unwrap()).is_some(), "{l}");
        db.cleanup().await;
    }
}

/// A photo said to be taken tomorrow is refused.
async fn r_future(
    s: &Store,
    w: &mut yibao_store::WriteTx,
    blobs: &std::sync::Arc<dyn yibao_store::BlobStore>,
    task: i64,
) -> &'static str {
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2)).naive_utc();
    refusal_code(s.add_audit_photo(w, blobs, task, photo("x.png", tomorrow)).await)
}

fn photo(name: &str, taken_at: chrono::NaiveDateTime) -> NewPhoto {
    NewPhoto { file_name: name.into(), bytes: yibao_demo::DEMO_SCAN_PNG.to_vec(), taken_at, caption: "空床".into() }
}

#[tokio::test]
async fn approved_claims_are_drawn_for_post_payment_audit_by_their_number() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let rules = s.claim_rules(jinchang().regions()[0], today()).await.unwrap().0;
        assert_eq!(rules.sample_percent, 10, "{l}: the default rules draw 10 %");
        let approved = s
            .claims_in(
                &jinchang(),
                &[yibao_core::sporadic::ClaimState::Approved, yibao_core::sporadic::ClaimState::Reduced],
                100,
            )
            .await
            .unwrap();
        assert!(!approved.is_empty(), "{l}");
        // Drawn by the installation's secret: another installation's would draw others.
        let salt = db.text("SELECT value FROM installation_secrets WHERE name = 'sample_salt'").await;
        assert_eq!(salt.len(), 32, "{l}");
        let numbers: Vec<String> = (0..200).map(|i| format!("BX2026{i:06}")).collect();
        let draws = |salt: &str| {
            numbers.iter().map(|n| yibao_core::sporadic::drawn_for_sample(salt, n, 10)).collect::<Vec<_>>()
        };
        assert_ne!(draws(&salt), draws("another installation"), "{l}");
        for c in approved {
            let drawn = yibao_core::sporadic::drawn_for_sample(&salt, &c.number, rules.sample_percent);
            let sampled = s.audit_tasks_of_claim(c.id).await.unwrap().iter().any(|t| t.kind == AuditTaskKind::Sample);
            assert_eq!(sampled, drawn, "{l}: {}", c.number);
        }
        db.cleanup().await;
    }
}

/// A direct settlement of a pre-evaluated stay brings the re-check visit the pre-evaluation
/// asks for, as a claim does — once, even when the visit is settled again after a reversal.
#[tokio::test]
async fn a_pre_evaluated_stay_settled_directly_brings_its_re_check() {
    for db in TestDb::all().await {
        let (s, l) = (&db.store, db.label);
        yibao_demo::seed_demo(s, &db.blobs(), today()).await.unwrap();
        let pre = s.pre_evaluation_of_filing(2).await.unwrap().expect("the referral's pre-evaluation");
        let day = today() - chrono::Duration::days(4);
        let lines = [("1", "001102000010000", "1", "40.00", "40.00")];
        let stay = yibao_store::testing::discharged_stay(
            s,
            pre.person_id,
            "H62010200001",
            day,
            "ZY-T-1",
            ("I25.1", "动脉硬化性心脏病"),
            &lines,
        )
        .await;
        let at = (day + chrono::Duration::days(1)).and_hms_opt(11, 0, 0).unwrap();
        let settled = yibao_store::testing::settle_stay(s, "H62010200001", &stay, at).await.unwrap();
        let rechecks = |tasks: Vec<yibao_store::AuditTask>| -> Vec<yibao_store::AuditTask> {
            tasks.into_iter().filter(|t| t.visit_id == Some(settled.visit_id)).collect()
        };
        let tasks = rechecks(s.audit_tasks_in(&jinchang(), false, 200).await.unwrap());
        assert_eq!(tasks.len(), 1, "{l}: {tasks:?}");
        assert_eq!((tasks[0].kind, tasks[0].filing_id), (AuditTaskKind::Recheck, Some(2)), "{l}");
        assert_eq!(tasks[0].due_on, day + chrono::Duration::days(31), "{l}: 30 days after discharge");
        assert_eq!(s.settlement_of_visit(settled.visit_id).await.unwrap().map(|x| x.id), Some(settled.id), "{l}");

        // Reversed (2305) and settled again: still one re-check.
        let institution = s.institution_by_code("H62010200001").await.unwrap();
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        s.reverse_settlement(&mut w, institution.id, &settled.setl_id, &stay).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(s.settlement_of_visit(settled.visit_id).await.unwrap().map(|x| x.id), None, "{l}");
        yibao_store::testing::settle_stay(s, "H62010200001", &stay, at).await.unwrap();
        assert_eq!(rechecks(s.audit_tasks_in(&jinchang(), false, 200).await.unwrap()).len(), 1, "{l}");

        // Without a pre-evaluation (张三's stay at the central hospital): no re-check.
        let plain =
            yibao_store::testing::discharged_stay(s, 1, "H62030200001", day, "ZY-T-2", ("I10", "高血压"), &lines).await;
        let other = yibao_store::testing::settle_stay(s, "H62030200001", &plain, at).await.unwrap();
        let tasks = s.audit_tasks_in(&jinchang(), false, 200).await.unwrap();
        assert!(tasks.iter().all(|t| t.visit_id != Some(other.visit_id)), "{l}");
        db.cleanup().await;
    }
}
