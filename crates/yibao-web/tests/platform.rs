//! The national platform interface over HTTP, on SQLite and (where reachable) PostgreSQL:
//! signatures, the time window, msgid idempotency (also under concurrent retries), sign-in
//! and 1101.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::Ordering;

use common::platform::*;
use common::{spawn_app, App};
use serde_json::{json, Value};
use yibao_core::platform::{SignType, SIGNATURE_HEADER, TIME_FORMAT};
use yibao_demo::DEMO_PLATFORM_SECRET;
use yibao_store::testing::TestDb;

fn person_query(certno: &str) -> Value {
    json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno } })
}

#[tokio::test]
async fn sign_in_and_person_information_with_every_refusal() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;

        // Before sign-in, business transactions are refused.
        let r = send(&app, &envelope("1101", "nope", person_query("620302198506120036"))).await;
        assert_eq!(refusal(&r), "not_signed_in", "{l}");

        let sign_no = sign_in(&app).await;
        let r = send(&app, &envelope("1101", &sign_no, person_query("620302198506120036"))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        let out = &r["output"];
        assert_eq!(out["baseinfo"]["psn_name"], "张三");
        assert_eq!(out["insuinfo"][0]["insuplc_admdvs"], "620302");
        assert_eq!(out["insuinfo"][0]["psn_insu_stas"], "1");
        assert_eq!(out["cardinfo"]["card_stas"], "active");
        assert_eq!(out["coverinfo"]["cover_code"], "local_designated", "{l}: {out}");
        assert_eq!(out["coverinfo"]["direct_settlement"], true);
        // His approved filing for Beijing is in force today.
        assert_eq!(out["fileinfo"][0]["mdtrtarea_admdvs"], "110000", "{l}: {out}");

        // The same msgid again: the very same answer; a different request under it: refused.
        let first = envelope("1101", &sign_no, person_query("620302198506120036"));
        let a = send(&app, &first).await;
        let b = send(&app, &first).await;
        assert_eq!(a, b, "{l}: a retry gets the stored answer");
        let mut changed = first.clone();
        changed["input"] = person_query("620302198506120044");
        assert_eq!(refusal(&send(&app, &changed).await), "msgid_reused", "{l}");

        // A wrong secret, a body changed after signing, another algorithm's signature.
        let body = envelope("1101", &sign_no, person_query("620302198506120036"));
        assert_eq!(refusal(&send_signed(&app, &body, "wrong", SignType::HmacSm3).await), "bad_signature", "{l}");
        let mut sha = body.clone();
        sha["signtype"] = json!("HMAC-SHA256");
        let r = send_signed(&app, &sha, DEMO_PLATFORM_SECRET, SignType::HmacSha256).await;
        assert_eq!(r["infcode"], 0, "{l}: HMAC-SHA256 is accepted when named: {r}");
        let r = send_signed(&app, &body, DEMO_PLATFORM_SECRET, SignType::HmacSha256).await;
        assert_eq!(refusal(&r), "bad_signature", "{l}: signtype says SM3");
        let bytes = serde_json::to_vec(&body).unwrap();
        let sig = SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let tampered = text.replace("\"opter\":\"0001\"", "\"opter\":\"0009\"");
        assert_ne!(tampered, text);
        let res = app.http.post(app.url(PATH)).header(SIGNATURE_HEADER, sig).body(tampered).send().await.unwrap();
        assert_eq!(refusal(&res.json::<Value>().await.unwrap()), "bad_signature", "{l}");

        // SM2: refused until the hospital registers its public key; then its signature over
        // the exact body passes, and another key's or a changed body's does not.
        const SM2_PRIVATE: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
        let sm2_send = |body: Value, private: &'static str| {
            let app = &app;
            async move {
                let bytes = serde_json::to_vec(&body).unwrap();
                let (sig, _) = yibao_core::platform::sign_sm2(private, &bytes).unwrap();
                let res = app.http.post(app.url(PATH)).header(SIGNATURE_HEADER, sig).body(bytes).send().await.unwrap();
                res.json::<Value>().await.unwrap()
            }
        };
        let mut sm2_body = envelope("1101", &sign_no, person_query("620302198506120036"));
        sm2_body["signtype"] = json!("SM2");
        assert_eq!(refusal(&sm2_send(sm2_body.clone(), SM2_PRIVATE).await), "unknown_institution", "{l}");
        let (_, public) = yibao_core::platform::sign_sm2(SM2_PRIVATE, b"").unwrap();
        let inst = app.db.store.institution_by_code(HOSPITAL).await.unwrap();
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        app.db.store.register_platform_public_key(&mut w, inst.id, &public).await.unwrap();
        w.commit().await.unwrap();
        sm2_body["msgid"] = envelope("1101", &sign_no, json!({}))["msgid"].clone();
        let r = sm2_send(sm2_body.clone(), SM2_PRIVATE).await;
        assert_eq!(r["infcode"], 0, "{l}: SM2 accepted with the registered key: {r}");
        sm2_body["msgid"] = envelope("1101", &sign_no, json!({}))["msgid"].clone();
        let other_key = "0101010101010101010101010101010101010101010101010101010101010101";
        assert_eq!(refusal(&sm2_send(sm2_body.clone(), other_key).await), "bad_signature", "{l}");
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let bad = app.db.store.register_platform_public_key(&mut w, inst.id, "04abcd").await;
        assert!(
            matches!(bad, Err(yibao_store::StoreError::Invalid(ref e)) if e.code == "bad_public_key"),
            "{l}: {bad:?}"
        );
        drop(w);

        // A clock ten minutes off, an unknown transaction, an unknown person, a bad number.
        let mut stale = envelope("1101", &sign_no, person_query("620302198506120036"));
        let old = china_now() - chrono::Duration::minutes(10);
        stale["inf_time"] = json!(old.format(TIME_FORMAT).to_string());
        assert_eq!(refusal(&send(&app, &stale).await), "stale_time", "{l}");
        let r = send(&app, &envelope("4101", &sign_no, json!({}))).await;
        assert_eq!(refusal(&r), "unsupported_infno", "{l}");
        assert!(r["err_msg"].as_str().unwrap().contains("9001"), "{l}: the supported ones are listed");
        let r = send(&app, &envelope("1101", &sign_no, person_query("110101199001010015"))).await;
        assert_eq!(refusal(&r), "person_not_found", "{l}");
        let r = send(&app, &envelope("1101", &sign_no, person_query("110101199001010016"))).await;
        assert_eq!(refusal(&r), "bad_certno", "{l}");
        let mut other = envelope("1101", &sign_no, person_query("620302198506120036"));
        other["fixmedins_code"] = json!("H62030200002");
        assert_eq!(refusal(&send(&app, &other).await), "unknown_institution", "{l}");
        app.db.cleanup().await;
    }
}

/// Eight copies of one sign-in, sent at once: one sign-in is made, and all eight get its
/// answer.
/// A transaction that only reads is answered at once and its answer written with the next
/// commit — by a write of nothing within a moment if no other write comes, and at the latest
/// when the store closes. A retry, before or after, gets the same answer.
#[tokio::test]
async fn a_reading_answer_is_written_without_a_write_of_its_own() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let sign_no = sign_in(&app).await;
        let inst = app.db.store.institution_by_code(HOSPITAL).await.unwrap();
        let before = app.db.count("platform_messages").await;
        let body = envelope("1101", &sign_no, person_query("620302198506120036"));
        let answer = send(&app, &body).await;
        assert_eq!(answer["infcode"], 0, "{l}: {answer}");
        let mut waited = 0;
        while app.db.count("platform_messages").await == before {
            assert!(waited < 200, "{l}: the answer was not written within two seconds");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(app.db.count("platform_messages").await, before + 1, "{l}");
        assert_eq!(send(&app, &body).await, answer, "{l}: the retry after the answer was written");

        // What is still deferred when the store closes is written then.
        let reply = yibao_store::StoredReply { request_sha256: "0".repeat(64), response: answer.to_string() };
        let msgid = format!("{HOSPITAL}202611230000009999");
        assert!(app.db.store.defer_platform_reply(inst.id, &msgid, "1101", reply.clone()).is_none());
        app.db.store.close().await;
        let reopened = yibao_store::Store::connect(&app.db.config).await.unwrap();
        assert_eq!(reopened.platform_reply(inst.id, &msgid).await.unwrap(), Some(reply), "{l}: written on close");
        reopened.close().await;
        app.db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_one_msgid_do_the_work_once() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let body = envelope("9001", "", json!({ "signIn": { "opter": "0002" } }));
        let bytes = serde_json::to_vec(&body).unwrap();
        let sig = SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &bytes);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let req = app.http.post(app.url(PATH)).header(SIGNATURE_HEADER, sig.clone()).body(bytes.clone());
            tasks.spawn(async move { req.send().await.unwrap().json::<Value>().await.unwrap() });
        }
        let answers = tasks.join_all().await;
        for a in &answers {
            assert_eq!(a, &answers[0], "{l}");
        }
        assert_eq!(answers[0]["infcode"], 0, "{l}: {}", answers[0]);
        assert_eq!(app.db.count("platform_sign_ins").await, 1, "{l}: one sign-in for eight copies");
        assert_eq!(app.db.count("platform_messages").await, 1, "{l}");
        app.db.cleanup().await;
    }
}

/// Sends a signed 9001 over raw TCP and resets the connection (`SO_LINGER` 0) `after` it.
async fn hang_up(addr: &str, opter: &str, after: std::time::Duration) {
    use tokio::io::AsyncWriteExt;
    let bytes = serde_json::to_vec(&envelope("9001", "", json!({ "signIn": { "opter": opter } }))).unwrap();
    let sig = SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &bytes);
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{SIGNATURE_HEADER}: {sig}\r\n\
         Content-Length: {}\r\n\r\n",
        bytes.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    tokio::time::sleep(after).await;
    stream.set_zero_linger().unwrap();
    drop(stream);
}

/// Hospitals that hang up (a TCP reset) at every moment of a signed 9001, which writes:
/// afterwards a sign-in is still answered in its normal time and the audit chain is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_that_hang_up_mid_request_never_stall_the_writer() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let addr = app.base.trim_start_matches("http://").to_string();
        for k in 0..150u64 {
            hang_up(&addr, "0003", std::time::Duration::from_micros(k * 30)).await;
        }
        let after = envelope("9001", "", json!({ "signIn": { "opter": "0004" } }));
        let answered = tokio::time::timeout(std::time::Duration::from_secs(5), send(&app, &after)).await;
        assert!(answered.is_ok_and(|r| r["infcode"] == 0), "{l}: a sign-in after the hang-ups was not answered");
        assert_eq!(app.db.store.verify_audit_log().await.unwrap().first_break, None, "{l}");
        app.db.cleanup().await;
    }
}

/// The middle one of `times` (milliseconds).
fn median(mut times: Vec<u128>) -> u128 {
    times.sort_unstable();
    times[times.len() / 2]
}

/// Twenty sign-ins one after another; the time each took, in milliseconds.
async fn timed_sign_ins(app: &App) -> Vec<u128> {
    let mut times = Vec::new();
    for _ in 0..20 {
        let started = std::time::Instant::now();
        assert_eq!(send(app, &envelope("9001", "", json!({ "signIn": { "opter": "0005" } }))).await["infcode"], 0);
        times.push(started.elapsed().as_millis());
    }
    times
}

/// A storm of hang-ups (8 clients resetting 40 signed 9001s each, 0–4.5 ms after sending)
/// while two hospitals go on working (sign-ins, which write, and 1101 person queries): every
/// request of theirs is answered within 5 s during the storm, and afterwards a write takes its
/// normal time again (the median of 20 sign-ins within three times that before the storm,
/// plus 50 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hang_up_storm_while_other_hospitals_work() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = std::sync::Arc::new(spawn_app(db).await);
        let addr = app.base.trim_start_matches("http://").to_string();
        let before = median(timed_sign_ins(&app).await);
        let sign_no = sign_in(&app).await;
        let storm: Vec<_> = (0..8u64)
            .map(|c| {
                let addr = addr.clone();
                tokio::spawn(async move {
                    for k in 0..40u64 {
                        hang_up(&addr, "0003", std::time::Duration::from_micros((k * 113 + c * 17) % 4_500)).await;
                    }
                })
            })
            .collect();
        let storming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (app, storming, sign_no) =
                    (std::sync::Arc::clone(&app), std::sync::Arc::clone(&storming), sign_no.clone());
                tokio::spawn(async move {
                    let mut answered = 0;
                    while storming.load(Ordering::SeqCst) || answered < 10 {
                        let msg = if answered % 2 == w {
                            envelope("9001", "", json!({ "signIn": { "opter": "0006" } }))
                        } else {
                            envelope("1101", &sign_no, person_query("620302198506120036"))
                        };
                        let r = tokio::time::timeout(std::time::Duration::from_secs(5), send(&app, &msg)).await;
                        assert!(r.as_ref().is_ok_and(|r| r["infcode"] == 0), "{l}: worker {w} during the storm: {r:?}");
                        answered += 1;
                    }
                    answered
                })
            })
            .collect();
        for client in storm {
            client.await.unwrap();
        }
        storming.store(false, Ordering::SeqCst);
        let mut answered = 0;
        for worker in workers {
            answered += worker.await.unwrap();
        }
        let after = median(timed_sign_ins(&app).await);
        println!("{l}: hang-up storm of 320 resets; {answered} requests of working hospitals answered; median sign-in {before} ms before, {after} ms after");
        assert!(after <= 3 * before + 50, "{l}: a sign-in took {after} ms after the storm, {before} ms before");
        assert_eq!(app.db.store.verify_audit_log().await.unwrap().first_break, None, "{l}");
        let app = std::sync::Arc::into_inner(app).unwrap();
        app.db.cleanup().await;
    }
}

/// 1101 (a person by ID number) counts against the institution's lookups a minute, like the
/// desk's cover check: beyond it the message is refused, so a hospital's key cannot walk the
/// registry through the interface either.
#[tokio::test]
async fn person_lookups_through_the_interface_are_limited_per_minute() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let sign_no = sign_in(&app).await;
    let mut refused_at = None;
    for n in 0..yibao_web::throttle::LOOKUPS_PER_MINUTE + 2 {
        let r = send(&app, &envelope("1101", &sign_no, person_query("620302198506120036"))).await;
        if r["infcode"] != 0 {
            assert_eq!(refusal(&r), "too_many_lookups", "{r}");
            refused_at = Some(n);
            break;
        }
    }
    assert_eq!(refused_at, Some(yibao_web::throttle::LOOKUPS_PER_MINUTE));
    app.db.cleanup().await;
}

/// A message over the interface's limit is answered in the interface's envelope, and a real
/// hospital's large upload (8 MB, over axum's default 2 MB) is read.
#[tokio::test]
async fn large_messages_are_read_and_too_large_ones_answered_in_the_envelope() {
    let db = TestDb::sqlite().await;
    let app = spawn_app(db).await;
    let sign_no = sign_in(&app).await;
    // Many fields, each of a size a real field could have: about 8 MB in all.
    let padding = vec!["x".repeat(900); 9_000];
    let mut query = person_query("620302198506120036");
    query["data"]["padding"] = json!(padding);
    let large = envelope("1101", &sign_no, query);
    let r = send(&app, &large).await;
    assert_eq!(r["infcode"], 0, "an 8 MB message: {}", r["err_msg_en"]);
    let huge = vec![b' '; yibao_web::PLATFORM_LIMIT + 1];
    let res = app.http.post(app.url(PATH)).header("content-type", "application/json").body(huge).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(refusal(&r), "too_large", "{r}");
    app.db.cleanup().await;
}

/// The business date the test app pins (the demo is seeded around it); admission times are
/// business data, while `inf_time` follows the real clock.
fn business_day(days_ago: i64) -> String {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap() - chrono::Duration::days(days_ago);
    format!("{day} 09:30:00")
}

fn admission(psn_no: i64, ipt_no: &str) -> Value {
    let begntime = business_day(0);
    json!({
        "mdtrtinfo": { "psn_no": psn_no.to_string(), "insutype": "310", "begntime": begntime, "med_type": "21",
            "ipt_no": ipt_no, "adm_diag_dscr": "社区获得性肺炎" },
        "diseinfo": [{ "diag_code": "J18.900", "diag_name": "肺炎", "maindiag_flag": "1" }],
    })
}

/// Values no admission has are refused before anything is stored or audited: a begin time
/// in the year 9999, an inpatient number of 1.5 MB.
#[tokio::test]
async fn absurd_admissions_are_refused_and_nothing_is_stored() {
    let db = TestDb::sqlite().await;
    let app = spawn_app(db).await;
    let sign_no = sign_in(&app).await;
    let zhang = app.db.store.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap();
    let psn_no = zhang.unwrap().id;
    let (visits, audit) = (app.db.count("visits").await, app.db.count("audit_log").await);
    let mut far = admission(psn_no, "ZY-FAR");
    far["mdtrtinfo"]["begntime"] = json!("9999-12-31 09:30:00");
    let r = send(&app, &envelope("2401", &sign_no, far)).await;
    assert_eq!(refusal(&r), "bad_time", "{r}");
    let r = send(&app, &envelope("2401", &sign_no, admission(psn_no, &"9".repeat(1_500_000)))).await;
    assert_eq!(refusal(&r), "field_too_long", "{r}");
    assert_eq!(app.db.count("visits").await, visits);
    assert_eq!(app.db.count("audit_log").await, audit, "a refusal is recorded, never audited as a change");
    app.db.cleanup().await;
}

/// Gives `code` a signing secret and signs an operator in there.
/// Admission and its undoing: 张三 at his own city's hospital; the same hospital number
/// cannot be open twice; only the admitting hospital reaches the visit; a lost card and an
/// off-site stay without a filing are refused with what to do instead.
#[tokio::test]
async fn admission_follows_the_cover_and_stays_with_its_hospital() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let sign_no = sign_in(&app).await;
        let r = send(&app, &envelope("2401", &sign_no, admission(1, "ZY0001"))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        let mdtrt_id = r["output"]["result"]["mdtrt_id"].as_str().unwrap().to_string();
        assert!(mdtrt_id.starts_with("620302"), "{l}: {mdtrt_id}");
        assert_eq!(refusal(&send(&app, &envelope("2401", &sign_no, admission(1, "ZY0001"))).await), "ipt_open");

        // Moved to four days ago with a corrected number and diagnosis: still covered.
        let change = json!({
            "adminfo": { "mdtrt_id": mdtrt_id, "psn_no": "1", "begntime": business_day(4), "ipt_no": "ZY0001A" },
            "diseinfo": [{ "diag_code": "J18.000", "diag_name": "支气管肺炎", "maindiag_flag": "1" }],
        });
        let r = send(&app, &envelope("2403", &sign_no, change)).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(r["output"]["result"]["ipt_otp_no"], "ZY0001A");
        assert!(r["output"]["result"]["begntime"].as_str().unwrap().starts_with("2026-11-19"), "{l}: {r}");
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let inst = app.db.store.institution_by_code(HOSPITAL).await.unwrap();
        let visit = app.db.store.visit_of(&mut w, inst.id, &mdtrt_id).await.unwrap();
        drop(w);
        assert_eq!(visit.diagnoses[0].diag_code, "J18.000", "{l}");
        // Another hospital cannot undo it (nor learn that it exists).
        let other = another_hospital(&app, "H62030200002").await;
        let undo = |code: &str, sign: &str| {
            envelope_from(code, "2404", sign, json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "1" } }))
        };
        let r = send_signed(&app, &undo("H62030200002", &other), "other-secret", SignType::HmacSm3).await;
        assert_eq!(refusal(&r), "not_found", "{l}");
        let r = send(&app, &undo(HOSPITAL, &sign_no)).await;
        assert_eq!((r["infcode"].as_i64(), r["output"]["result"]["status"].as_str()), (Some(0), Some("cancelled")));
        assert_eq!(refusal(&send(&app, &undo(HOSPITAL, &sign_no)).await), "not_admitted", "{l}");
        // The hospital number is free again.
        let r = send(&app, &envelope("2401", &sign_no, admission(1, "ZY0001"))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");

        // 张三 in a Lanzhou hospital: his filing is for Beijing, so no direct settlement.
        let lanzhou = another_hospital(&app, "H62010200001").await;
        let r = send_signed(
            &app,
            &envelope_from("H62010200001", "2401", &lanzhou, admission(1, "LZ0001")),
            "other-secret",
            SignType::HmacSm3,
        )
        .await;
        assert_eq!(refusal(&r), "not_filed", "{l}");
        assert!(r["err_msg"].as_str().unwrap().contains("补办备案"), "{l}: {r}");

        // The person whose card was lost six days ago: on the day after the loss they are
        // sent to pay and claim afterwards; from the agency's no-card certificate (two days
        // ago) on, the hospital admits them.
        let lost = app.lost_card_owner().await;
        let person = app.db.store.person(lost).await.unwrap();
        let at = |days_ago: i64, ipt: &str| {
            let mut body = admission(lost, ipt);
            body["mdtrtinfo"]["insutype"] = json!(person.scheme.code());
            body["mdtrtinfo"]["begntime"] = json!(business_day(days_ago));
            body
        };
        let r = send(&app, &envelope("2401", &sign_no, at(4, "ZY0002"))).await;
        assert_eq!(refusal(&r), "card_lost", "{l}");
        assert!(r["err_msg"].as_str().unwrap().contains("零星报销"), "{l}: {r}");
        let r = send(&app, &envelope("2401", &sign_no, at(0, "ZY0003"))).await;
        assert_eq!(r["infcode"], 0, "{l}: the no-card certificate lets the hospital admit: {r}");
        app.db.cleanup().await;
    }
}

/// The documented example claim's items (`docs/formats/examples/claim-inpatient.json`) as
/// 2301 lines of `mdtrt_id`, charged `days_ago` business days ago.
fn example_lines(mdtrt_id: &str, days_ago: i64) -> Vec<Value> {
    yibao_demo::DEMO_VISIT_LINES
        .iter()
        .map(|(sn, code, cnt, pric, amount)| fee_line(mdtrt_id, sn, code, cnt, pric, amount, days_ago))
        .collect()
}

fn fee_line(mdtrt_id: &str, sn: &str, code: &str, cnt: &str, pric: &str, amount: &str, days_ago: i64) -> Value {
    json!({
        "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": "1", "med_list_codg": code, "medins_list_codg": format!("HIS{sn}"),
        "cnt": cnt, "pric": pric, "det_item_fee_sumamt": amount, "fee_ocur_time": business_day(days_ago),
    })
}

/// Sends a transaction that must succeed; its output.
async fn ok(app: &App, infno: &str, sign_no: &str, input: Value) -> Value {
    let r = send(app, &envelope(infno, sign_no, input)).await;
    assert_eq!(r["infcode"], 0, "{infno}: {r}");
    r["output"].clone()
}

fn fen(v: &Value) -> yibao_core::Fen {
    v.as_str().unwrap_or_else(|| panic!("not an amount: {v}")).parse().unwrap()
}

/// Admits 张三 (`ipt`), uploads the example lines and discharges him today.
async fn discharged_visit(app: &App, sign_no: &str, ipt: &str) -> String {
    let mut adm = admission(1, ipt);
    adm["mdtrtinfo"]["begntime"] = json!(business_day(4));
    let out = ok(app, "2401", sign_no, adm).await;
    let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap().to_string();
    ok(app, "2301", sign_no, json!({ "feedetail": example_lines(&mdtrt_id, 3) })).await;
    let dscg =
        json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": "1", "endtime": business_day(0), "dscg_way": "1" } });
    ok(app, "2402", sign_no, dscg).await;
    mdtrt_id
}

fn settle_input(mdtrt_id: &str, medfee: &str) -> Value {
    json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": "1", "mdtrt_cert_type": "02", "medfee_sumamt": medfee,
        "acct_used_flag": "1", "insutype": "310" } })
}

fn today_year() -> yibao_core::InsuranceYear {
    yibao_core::InsuranceYear::of(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
}

/// A hospital's day through the endpoint: admission, uploads with their per-line result, a
/// refund line, a correction undone, discharge, pre-settlement (nothing changes), settlement
/// debiting the individual account, the same settlement retried (same answer, settled once),
/// reversal (totals and account exactly restored, once), settling again, and 3201.
#[tokio::test]
async fn a_hospital_day_from_admission_to_reconciliation() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = &app.db.store;
        let sign_no = sign_in(&app).await;
        let ytd0 = store.year_totals(1, today_year()).await.unwrap();
        let acct0 = store.individual_account(1).await.unwrap().expect("the demo opens 张三's account").balance;

        let mut adm = admission(1, "ZY0100");
        adm["mdtrtinfo"]["begntime"] = json!(business_day(4));
        let mdtrt_id = ok(&app, "2401", &sign_no, adm).await["result"]["mdtrt_id"].as_str().unwrap().to_string();

        // Uploads answer each line with its category and four-way split.
        let out = ok(&app, "2301", &sign_no, json!({ "feedetail": example_lines(&mdtrt_id, 3) })).await;
        let result = out["result"].as_array().unwrap();
        assert_eq!(result.len(), 7, "{l}");
        let line4 = &result[3]["detail"];
        assert_eq!(line4["chrgitm_lv"], "02", "{l}: {line4}");
        assert_eq!(fen(&line4["overlmt_amt"]).fen(), 2_100, "{l}: 6 × (15.50 − 12.00) over the ceiling");
        assert_eq!(result[5]["detail"]["chrgitm_lv"], "03", "{l}: paracetamol is 丙类");
        for r in result {
            let d = &r["detail"];
            let parts = ["fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt"];
            let sum: i64 = parts.iter().map(|p| fen(&d[*p]).fen()).sum();
            assert_eq!(sum, fen(&d["det_item_fee_sumamt"]).fen(), "{l}: the four parts make the line: {d}");
        }
        // The same serial number again, and a line whose amount is not cnt × pric: refused.
        let again = json!({ "feedetail": [example_lines(&mdtrt_id, 3)[0].clone()] });
        assert_eq!(refusal(&send(&app, &envelope("2301", &sign_no, again)).await), "feedetl_sn_duplicate", "{l}");
        let wrong = fee_line(&mdtrt_id, "8", "001102000010000", "2", "40.00", "81.00", 2);
        let r = send(&app, &envelope("2301", &sign_no, json!({ "feedetail": [wrong] }))).await;
        assert_eq!(refusal(&r), "det_item_fee_sumamt", "{l}");
        // One amoxicillin returned: a refund line naming line 4; refunding more is refused.
        let refund = |sn: &str, cnt: &str, amount: &str| {
            let mut r = fee_line(&mdtrt_id, sn, "XJ01CRA045E001010101947", cnt, "15.50", amount, 2);
            r["init_feedetl_sn"] = json!("4");
            r
        };
        let out = ok(&app, "2301", &sign_no, json!({ "feedetail": [refund("9", "-1", "-15.50")] })).await;
        assert_eq!(out["result"][0]["detail"]["feedetl_sn"], "4", "{l}: a refund answers with its line");
        assert_eq!(fen(&out["result"][0]["detail"]["det_item_fee_sumamt"]).fen(), 7_750, "{l}: 5 × 15.50 left");
        let r = send(&app, &envelope("2301", &sign_no, json!({ "feedetail": [refund("10", "-6", "-93.00")] }))).await;
        assert_eq!(refusal(&r), "refund_exceeds", "{l}");
        // A line uploaded by mistake and undone (2302).
        let extra = fee_line(&mdtrt_id, "11", "001102000010000", "1", "40.00", "40.00", 1);
        ok(&app, "2301", &sign_no, json!({ "feedetail": [extra] })).await;
        let out = ok(&app, "2302", &sign_no, json!({ "data": { "mdtrt_id": mdtrt_id, "feedetl_sn": "11" } })).await;
        assert_eq!(out["result"]["undone"], 1, "{l}");

        // Not discharged yet: no settlement.
        let total = "5256.45"; // 5,271.95 of the example less the 15.50 refunded
        let r = send(&app, &envelope("2304", &sign_no, settle_input(&mdtrt_id, total))).await;
        assert_eq!(refusal(&r), "not_discharged", "{l}");
        let dscg = json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "endtime": business_day(0), "dscg_way": "1" } });
        ok(&app, "2402", &sign_no, dscg).await;

        // Pre-settlement: the result, and nothing stored.
        let pre = ok(&app, "2303", &sign_no, settle_input(&mdtrt_id, total)).await;
        assert_eq!(pre["setlinfo"]["medfee_sumamt"], total, "{l}: {pre}");
        assert!(!pre["explain"].as_array().unwrap().is_empty(), "{l}");
        assert_eq!(store.year_totals(1, today_year()).await.unwrap(), ytd0, "{l}: 2303 changes nothing");
        assert_eq!(store.individual_account(1).await.unwrap().unwrap().balance, acct0, "{l}");
        let r = send(&app, &envelope("2304", &sign_no, settle_input(&mdtrt_id, "5271.95"))).await;
        assert_eq!(refusal(&r), "medfee_sumamt", "{l}: the hospital's total must match the lines");

        // Settlement, then the very same request again.
        let body = envelope("2304", &sign_no, settle_input(&mdtrt_id, total));
        let first = send(&app, &body).await;
        assert_eq!(first["infcode"], 0, "{l}: {first}");
        let retry = send(&app, &body).await;
        assert_eq!(first, retry, "{l}: a retried settlement gets the same answer");
        let info = &first["output"]["setlinfo"];
        let (medfee, fund, acct, cash) = (
            fen(&info["medfee_sumamt"]),
            fen(&info["fund_pay_sumamt"]),
            fen(&info["acct_pay"]),
            fen(&info["psn_cash_pay"]),
        );
        assert_eq!(medfee.fen(), fund.fen() + acct.fen() + cash.fen(), "{l}: every fen accounted for");
        for key in ["fund_pay_sumamt", "acct_pay", "psn_cash_pay", "inscp_scp_amt"] {
            assert_eq!(info[key], pre["setlinfo"][key], "{l}: settlement = pre-settlement on {key}");
        }
        assert!(acct.fen() > 0, "{l}: the account pays part");
        assert_eq!(fen(&info["balc"]).fen(), acct0.fen() - acct.fen(), "{l}");
        let setl_id = info["setl_id"].as_str().unwrap().to_string();
        let funds: i64 =
            first["output"]["setldetail"].as_array().unwrap().iter().map(|f| fen(&f["fund_payamt"]).fen()).sum();
        assert_eq!(funds, fund.fen() + acct.fen(), "{l}: the funds add up");
        let ytd1 = store.year_totals(1, today_year()).await.unwrap();
        let pooled = first["output"]["setldetail"].as_array().unwrap().iter().find(|f| f["fund_pay_type"] == "310100");
        assert_eq!(ytd1.pool_paid.fen() - ytd0.pool_paid.fen(), fen(&pooled.unwrap()["fund_payamt"]).fen(), "{l}");
        assert_eq!(store.individual_account(1).await.unwrap().unwrap().balance.fen(), acct0.fen() - acct.fen(), "{l}");
        let r = send(&app, &envelope("2304", &sign_no, settle_input(&mdtrt_id, total))).await;
        assert_eq!(refusal(&r), "already_settled", "{l}: a new msgid does not settle twice");
        assert!(r["err_msg"].as_str().unwrap().contains(&setl_id), "{l}: {r}");

        // Another hospital cannot reach the settlement.
        let other = another_hospital(&app, "H62030200002").await;
        let rev = |code: &str, sign: &str| {
            envelope_from(
                code,
                "2305",
                sign,
                json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": "1" } }),
            )
        };
        let r = send_signed(&app, &rev("H62030200002", &other), "other-secret", SignType::HmacSm3).await;
        assert_eq!(refusal(&r), "not_found", "{l}");

        // 3201 for today agrees; with a wrong total it says what differs.
        let stmt = |cnt: i64, medfee: &str| {
            json!({ "data": { "insutype": "310", "clr_type": "21", "setl_optins": "620302", "stmt_begndate": "2026-11-23",
                "stmt_enddate": "2026-11-23", "medfee_sumamt": medfee, "fund_pay_sumamt": info["fund_pay_sumamt"],
                "acct_pay": info["acct_pay"], "fixmedins_setl_cnt": cnt } })
        };
        let out = ok(&app, "3201", &sign_no, stmt(1, total)).await;
        assert_eq!(out["stmtinfo"]["stmt_rslt"], "0", "{l}: {out}");
        let out = ok(&app, "3201", &sign_no, stmt(1, "5271.95")).await;
        assert_eq!(out["stmtinfo"]["stmt_rslt"], "1", "{l}: {out}");
        assert!(out["stmtinfo"]["stmt_rslt_dscr"].as_str().unwrap().contains("medfee_sumamt"), "{l}");
        // 3202 one by one: the settlement agrees; missing from the hospital's list, with other
        // amounts, or a settlement yibao does not have, each is named with both sides' figures.
        let details = |detail: Value| {
            json!({ "data": { "insutype": "310", "stmt_begndate": "2026-11-23", "stmt_enddate": "2026-11-23",
                "detail": detail } })
        };
        let mine = json!({ "setl_id": setl_id, "mdtrt_id": mdtrt_id, "medfee_sumamt": total,
            "fund_pay_sumamt": info["fund_pay_sumamt"], "acct_pay": info["acct_pay"] });
        let out = ok(&app, "3202", &sign_no, details(json!([mine.clone()]))).await;
        assert_eq!(
            (out["stmtinfo"]["stmt_rslt"].as_str(), out["detail"].as_array().map(Vec::len)),
            (Some("0"), Some(0)),
            "{l}: {out}"
        );
        let out = ok(&app, "3202", &sign_no, details(json!([]))).await;
        assert_eq!(out["detail"][0]["stmt_rslt"], "1", "{l}: {out}");
        assert_eq!(out["detail"][0]["hi"]["medfee_sumamt"], json!(total), "{l}");
        let mut wrong = mine.clone();
        wrong["fund_pay_sumamt"] = json!("0.01");
        let unknown = json!({ "setl_id": "S-NOT-OURS", "medfee_sumamt": "1.00", "fund_pay_sumamt": "0.50" });
        let out = ok(&app, "3202", &sign_no, details(json!([wrong, unknown]))).await;
        let codes: Vec<&str> =
            out["detail"].as_array().unwrap().iter().map(|d| d["stmt_rslt"].as_str().unwrap()).collect();
        assert_eq!(out["stmtinfo"]["stmt_rslt"], "1", "{l}");
        assert_eq!(codes.len(), 2, "{l}: {out}");
        assert!(codes.contains(&"2") && codes.contains(&"3"), "{l}: {out}");

        // Reversal restores the totals and the account exactly, once.
        let r = send(&app, &rev(HOSPITAL, &sign_no)).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(fen(&r["output"]["setlinfo"]["balc"]), acct0, "{l}");
        assert_eq!(store.year_totals(1, today_year()).await.unwrap(), ytd0, "{l}: totals restored");
        assert_eq!(store.individual_account(1).await.unwrap().unwrap().balance, acct0, "{l}: account restored");
        assert_eq!(refusal(&send(&app, &rev(HOSPITAL, &sign_no)).await), "already_reversed", "{l}");
        let out = ok(&app, "3201", &sign_no, stmt(1, total)).await;
        assert_eq!(out["stmtinfo"]["stmt_rslt"], "1", "{l}: the reversed settlement no longer counts");
        let out = ok(&app, "3202", &sign_no, details(json!([mine]))).await;
        assert_eq!(out["detail"][0]["stmt_rslt"], "2", "{l}: reversed, only on the hospital's list: {out}");

        // Settled again, to the same fen.
        let again = ok(&app, "2304", &sign_no, settle_input(&mdtrt_id, total)).await;
        assert_ne!(again["setlinfo"]["setl_id"], json!(setl_id), "{l}");
        for key in ["fund_pay_sumamt", "acct_pay", "psn_cash_pay"] {
            assert_eq!(again["setlinfo"][key], info[key], "{l}: {key}");
        }
        let entries = store.individual_account(1).await.unwrap().unwrap().entries;
        let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(&kinds[kinds.len() - 3..], ["settlement", "reversal", "settlement"], "{l}");
        assert!(entries.iter().all(|e| !e.balance_after.is_negative()), "{l}");
        let audit = store.verify_audit_log().await.unwrap();
        assert!(audit.first_break.is_none(), "{l}");
        app.db.cleanup().await;
    }
}

/// The pooled fund's payment (310100) in a 2304 answer; zero when it paid nothing.
fn pooled_fund(output: &Value) -> i64 {
    let rows = output["setldetail"].as_array().unwrap();
    rows.iter().find(|f| f["fund_pay_type"] == "310100").map_or(0, |f| fen(&f["fund_payamt"]).fen())
}

/// Two settlements for 张三 sent at the same moment: the running totals and the account end
/// exactly as if they had run one after the other — the later one saw the earlier one's
/// totals, and the account, which cannot pay both in full, is emptied to the fen and no
/// further.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_settlements_for_one_person_lose_no_update() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = &app.db.store;
        let sign_no = sign_in(&app).await;
        let a = discharged_visit(&app, &sign_no, "ZY0201").await;
        let b = discharged_visit(&app, &sign_no, "ZY0202").await;
        let ytd0 = store.year_totals(1, today_year()).await.unwrap();
        let pre = ok(&app, "2303", &sign_no, settle_input(&a, "5271.95")).await;
        let wanted = fen(&pre["setlinfo"]["acct_pay"]).fen();
        // The demo credits the months of the year so far: 张三 first spends his account at
        // the pharmacy down to one and a half visits' worth, whatever month it is.
        spend_account_down_to(store, 1, wanted * 3 / 2).await;
        let acct0 = store.individual_account(1).await.unwrap().unwrap().balance;
        assert!(
            wanted < acct0.fen() && 2 * wanted > acct0.fen(),
            "{l}: the account covers one visit, not two: {wanted} of {acct0}"
        );

        let mut tasks = tokio::task::JoinSet::new();
        for mdtrt_id in [a.clone(), b.clone()] {
            let body = serde_json::to_vec(&envelope("2304", &sign_no, settle_input(&mdtrt_id, "5271.95"))).unwrap();
            let sig = SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &body);
            let req = app.http.post(app.url(PATH)).header(SIGNATURE_HEADER, sig).body(body);
            tasks.spawn(async move { req.send().await.unwrap().json::<Value>().await.unwrap() });
        }
        let answers = tasks.join_all().await;
        for r in &answers {
            assert_eq!(r["infcode"], 0, "{l}: {r}");
        }
        let acct: Vec<i64> = answers.iter().map(|r| fen(&r["output"]["setlinfo"]["acct_pay"]).fen()).collect();
        assert_eq!(acct.iter().sum::<i64>(), acct0.fen(), "{l}: the account pays exactly its balance: {acct:?}");
        assert!(acct.contains(&wanted), "{l}: the first in full: {acct:?}");
        assert_eq!(store.individual_account(1).await.unwrap().unwrap().balance.fen(), 0, "{l}");
        let ytd = store.year_totals(1, today_year()).await.unwrap();
        let pooled: i64 = answers.iter().map(|r| pooled_fund(&r["output"])).sum();
        assert_eq!(ytd.pool_paid.fen() - ytd0.pool_paid.fen(), pooled, "{l}: both deltas are in the totals");
        // In settlement order, each started from the totals the one before left.
        let mut settled = store.person_settlements(1).await.unwrap();
        settled.retain(|s| s.mdtrt_id == a || s.mdtrt_id == b);
        settled.sort_by_key(|s| s.id);
        let outcome = |s: &yibao_store::Settlement| serde_json::from_str::<Value>(&s.outcome).unwrap();
        let (first, second) = (outcome(&settled[0]), outcome(&settled[1]));
        assert_eq!(second["ytd_before"], first["ytd_after"], "{l}");
        app.db.cleanup().await;
    }
}

/// Buys catalog medicine at the demo pharmacy on `person_id`'s own account until its balance
/// is `target` fen (nothing when it is at or below it already).
async fn spend_account_down_to(store: &yibao_store::Store, person_id: i64, target: i64) {
    let balance = store.individual_account(person_id).await.unwrap().unwrap().balance.fen();
    if balance <= target {
        return;
    }
    let amount = yibao_core::Fen::from_fen(balance - target);
    let price: rust_decimal::Decimal = amount.to_string().parse().unwrap();
    let purchase = yibao_store::PharmacyPurchase {
        invono: "YD-SPEND".into(),
        lines: vec![yibao_store::PharmacyLine {
            feedetl_sn: "1".into(),
            med_list_codg: "XC09AAE066A001010101734".into(),
            cnt: rust_decimal::Decimal::ONE,
            pric: price,
            det_item_fee_sumamt: amount,
            in_catalog: false,
        }],
        use_account: true,
        medfee_sumamt: None,
    };
    let pharmacy = store.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
    let person = store.person(person_id).await.unwrap();
    let rules = store.rules().await.unwrap();
    let at = chrono::Local::now().naive_local();
    let mut w = store.begin_write(&yibao_store::Actor::system("platform:P62030200001")).await.unwrap();
    let out = store.settle_pharmacy(&mut w, &rules, &pharmacy, &person, &purchase, at).await.unwrap();
    w.commit().await.unwrap();
    assert_eq!(out.balc.fen(), target, "the purchase left {}", out.balc);
}

/// Over the annual cap: a 480,000-yuan stay takes the pooled fund to its 300,000 cap and no
/// further; the next stay gets nothing from it. Another hospital cannot settle the visit.
#[tokio::test]
async fn the_pooled_fund_stops_at_the_annual_cap() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = &app.db.store;
        let sign_no = sign_in(&app).await;
        let mut adm = admission(1, "ZY0301");
        adm["mdtrtinfo"]["begntime"] = json!(business_day(20));
        let big = ok(&app, "2401", &sign_no, adm).await["result"]["mdtrt_id"].as_str().unwrap().to_string();
        let line = fee_line(&big, "1", "001102000010000", "12000", "40.00", "480000.00", 19);
        ok(&app, "2301", &sign_no, json!({ "feedetail": [line] })).await;
        let dscg = json!({ "dscginfo": { "mdtrt_id": big, "endtime": business_day(1) } });
        ok(&app, "2402", &sign_no, dscg).await;

        let other = another_hospital(&app, "H62030200002").await;
        let steal = envelope_from("H62030200002", "2304", &other, settle_input(&big, "480000.00"));
        assert_eq!(refusal(&send_signed(&app, &steal, "other-secret", SignType::HmacSm3).await), "not_found", "{l}");

        let out = ok(&app, "2304", &sign_no, settle_input(&big, "480000.00")).await;
        let ytd = store.year_totals(1, today_year()).await.unwrap();
        assert_eq!(ytd.pool_paid.fen(), 30_000_000, "{l}: the pooled fund reached its cap exactly: {out}");
        let small = discharged_visit(&app, &sign_no, "ZY0302").await;
        let out = ok(&app, "2304", &sign_no, settle_input(&small, "5271.95")).await;
        assert_eq!(pooled_fund(&out), 0, "{l}: nothing more from the pooled fund: {out}");
        assert_eq!(store.year_totals(1, today_year()).await.unwrap().pool_paid.fen(), 30_000_000, "{l}");
        let explain = out["setl_list"]["explain_zh"].to_string();
        assert!(explain.contains("封顶") || explain.contains("最高支付"), "{l}: the cap is explained: {explain}");
        app.db.cleanup().await;
    }
}

/// The hospital's desk in the portal: its own settlements with today's 3201 totals, and its
/// interface keys: a new secret is shown once and signs at once; revoking the older ones
/// stops the old secret; nobody else reaches these pages.
#[tokio::test]
async fn the_hospital_sees_its_settlements_and_rolls_its_signing_secret() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let hospital = app.token("hospital").await;
        let page = |token: String, path: &'static str| {
            let app = &app;
            async move {
                let res = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
                (res.status().as_u16(), res.text().await.unwrap())
            }
        };
        let (status, body) = page(hospital.clone(), "/institution/settlements").await;
        assert_eq!(status, 200, "{l}");
        assert!(body.contains("张三") && body.contains("/settlements/"), "{l}: the demo's settlement");
        let clerk = app.token("clerk").await;
        assert_eq!(page(clerk.clone(), "/institution/settlements").await.0, 403, "{l}");
        assert_eq!(page(clerk, "/institution/interface").await.0, 403, "{l}");

        let (status, body) = page(hospital.clone(), "/institution/interface").await;
        assert!(status == 200 && body.matches("<li>").count() >= 1 && !body.contains(DEMO_PLATFORM_SECRET), "{l}");
        let res = app
            .http
            .post(app.url("/institution/interface"))
            .bearer_auth(&hospital)
            .form(&[("action", "issue")])
            .send()
            .await
            .unwrap();
        let body = res.text().await.unwrap();
        let secret = body.split("id=\"new-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
        assert_eq!(secret.len(), 64, "{l}");
        // Both secrets sign until the older is revoked.
        let sign_in = envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }));
        assert_eq!(send_signed(&app, &sign_in, &secret, SignType::HmacSm3).await["infcode"], 0, "{l}");
        let sign_in = envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }));
        assert_eq!(send(&app, &sign_in).await["infcode"], 0, "{l}");
        let res = app
            .http
            .post(app.url("/institution/interface"))
            .bearer_auth(&hospital)
            .form(&[("action", "revoke_older")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{l}");
        let sign_in = envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }));
        assert_eq!(refusal(&send(&app, &sign_in).await), "bad_signature", "{l}: the old secret is revoked");
        let sign_in = envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }));
        assert_eq!(send_signed(&app, &sign_in, &secret, SignType::HmacSm3).await["infcode"], 0, "{l}");
        // A malformed SM2 key is refused on the page.
        let res = app
            .http
            .post(app.url("/institution/interface"))
            .bearer_auth(&hospital)
            .form(&[("action", "register_key"), ("public_key", "04abcd")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{l}");
        app.db.cleanup().await;
    }
}

/// A settlement's reads are taken before its turn to write; the write is refused as stale
/// when they are no longer current — a fee line undone since (the visit's version moves) or
/// another settlement of the person since (the running totals' version moves) — and the
/// settlement then made over the endpoint reads afresh: the undone line is not charged.
#[tokio::test]
async fn a_settlement_read_before_a_change_is_refused_as_stale() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = &app.db.store;
        let sign_no = sign_in(&app).await;
        let inst = store.institution_by_code(HOSPITAL).await.unwrap();
        let rules = store.rules().await.unwrap();
        let request = yibao_store::SettleRequest {
            acct_used_flag: false,
            medfee_sumamt: None,
            setl_time: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(10, 0, 0).unwrap(),
        };
        let settle_with = |snapshot| {
            let (store, rules, inst, request) = (store.clone(), rules.clone(), inst.clone(), request.clone());
            async move {
                let mut w = store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
                let mdtrt_id = snapshot_id(&snapshot);
                store.settle_visit(&mut w, &rules, &inst, &mdtrt_id, &request, Some(snapshot)).await.map(|_| ())
            }
        };
        fn snapshot_id(s: &yibao_store::VisitSnapshot) -> String {
            s.mdtrt_id().to_string()
        }

        // A fee line undone after the read.
        let a = discharged_visit(&app, &sign_no, "ZY0701").await;
        let before = store.visit_snapshot(&rules, inst.id, &a, request.setl_time.date(), true).await.unwrap();
        let (sn, _, _, _, amount) = yibao_demo::DEMO_VISIT_LINES[0];
        ok(&app, "2302", &sign_no, json!({ "data": { "mdtrt_id": a, "feedetl_sn": sn } })).await;
        let stale = settle_with(before).await;
        assert!(matches!(stale, Err(yibao_store::StoreError::Stale("visit"))), "{l}: {stale:?}");
        let all: i64 = yibao_demo::DEMO_VISIT_LINES.iter().map(|x| x.4.parse::<yibao_core::Fen>().unwrap().fen()).sum();
        let left = yibao_core::Fen::from_fen(all - amount.parse::<yibao_core::Fen>().unwrap().fen());
        let out = ok(&app, "2304", &sign_no, settle_input(&a, &left.to_string())).await;
        assert_eq!(fen(&out["setlinfo"]["medfee_sumamt"]), left, "{l}: the undone line is not charged");

        // Another settlement of the person after the read.
        let b = discharged_visit(&app, &sign_no, "ZY0702").await;
        let c = discharged_visit(&app, &sign_no, "ZY0703").await;
        let before = store.visit_snapshot(&rules, inst.id, &b, request.setl_time.date(), true).await.unwrap();
        ok(&app, "2304", &sign_no, settle_input(&c, "5271.95")).await;
        let stale = settle_with(before).await;
        assert!(matches!(stale, Err(yibao_store::StoreError::Stale("year_totals"))), "{l}: {stale:?}");
        ok(&app, "2304", &sign_no, settle_input(&b, "5271.95")).await;
        app.db.cleanup().await;
    }
}

/// A designated pharmacy through the interface: 2101 quotes (nothing kept), 2102 settles —
/// 张三's mother's catalog drugs paid from his account under 门诊共济, the 丙类 tablets in
/// cash — a retried msgid answers the same once, the same receipt again is refused, 2103
/// reverses; a hospital cannot use the pharmacy's transactions.
#[tokio::test]
async fn a_pharmacy_settles_a_family_members_purchase_on_the_holders_account() {
    for db in TestDb::all().await {
        let l = db.label;
        let owned = spawn_app(db).await;
        let app = &owned;
        let sign_no = another_hospital(app, yibao_demo::DEMO_PHARMACY).await;
        let mother =
            app.db.store.person_by_resident_id(&yibao_demo::DEMO_MOTHER_ID.parse().unwrap()).await.unwrap().unwrap();
        let balance = || async { app.db.store.individual_account(1).await.unwrap().unwrap().balance };
        let before = balance().await;
        let input = json!({
            "druginfo": { "psn_no": mother.id.to_string(), "mdtrt_cert_type": "02",
                "mdtrt_cert_no": yibao_demo::DEMO_MOTHER_ID, "medfee_sumamt": "55.30", "invono": "YD-P-1",
                "insutype": "390", "acct_used_flag": "1", "med_type": "41" },
            "drugdetail": [
                { "feedetl_sn": "1", "med_list_codg": "XC09AAE066A001010101734", "cnt": "2", "pric": "15.00", "det_item_fee_sumamt": "30.00" },
                { "feedetl_sn": "2", "med_list_codg": "ZA01AAG0020010101823", "cnt": "1", "pric": "18.50", "det_item_fee_sumamt": "18.50" },
                { "feedetl_sn": "3", "med_list_codg": "XN02BEA001A001010101589", "cnt": "1", "pric": "6.80", "det_item_fee_sumamt": "6.80" },
            ],
        });
        let pharmacy = |infno: &str, input: Value| envelope_from(yibao_demo::DEMO_PHARMACY, infno, &sign_no, input);
        let send_p = |body: Value| async move { send_signed(app, &body, OTHER_SECRET, SignType::HmacSm3).await };
        let quote = send_p(pharmacy("2101", input.clone())).await;
        assert_eq!(quote["infcode"], 0, "{l}: {quote}");
        let q = &quote["output"]["setlinfo"];
        assert_eq!((fen(&q["acct_mulaid_pay"]), fen(&q["psn_cash_pay"])), (fen(&json!("48.50")), fen(&json!("6.80"))));
        assert!(q["setl_id"].is_null(), "{l}: a quote has no settlement");
        assert_eq!(balance().await, before, "{l}: a quote changes nothing");

        let body = pharmacy("2102", input.clone());
        let first = send_p(body.clone()).await;
        let retried = send_p(body).await;
        assert_eq!(first["infcode"], 0, "{l}: {first}");
        assert_eq!(first["output"], retried["output"], "{l}: the same answer");
        let setl_id = first["output"]["setlinfo"]["setl_id"].as_str().unwrap().to_string();
        assert!(setl_id.starts_with("YD620302"), "{l}: {setl_id}");
        assert_eq!(balance().await, before.saturating_sub(fen(&json!("48.50"))), "{l}: debited once");
        assert_eq!(refusal(&send_p(pharmacy("2102", input.clone())).await), "settled", "{l}");
        let mut wrong = input.clone();
        wrong["druginfo"]["medfee_sumamt"] = json!("50.00");
        wrong["druginfo"]["invono"] = json!("YD-P-2");
        assert_eq!(refusal(&send_p(pharmacy("2102", wrong)).await), "total_mismatch", "{l}");

        let back = send_p(pharmacy("2103", json!({ "data": { "setl_id": setl_id } }))).await;
        assert_eq!(back["output"]["setlinfo"]["status"], "reversed", "{l}: {back}");
        assert_eq!(balance().await, before, "{l}: reversed to the fen");
        let hospital = sign_in(app).await;
        let r = send(app, &envelope("2102", &hospital, input)).await;
        assert_eq!(refusal(&r), "not_a_pharmacy", "{l}");
        owned.db.cleanup().await;
    }
}

/// 门诊共济 at a hospital: 张三's mother (a resident, no account of her own) is discharged and
/// settles with the account asked for: her in-scope share is paid from 张三's account, named
/// `acct_mulaid_pay`, his ledger shows it drawn by her; the reversal gives it back to the fen.
/// Not asked for, his account pays nothing.
#[tokio::test]
async fn a_hospital_settlement_draws_on_the_account_of_the_family_member_who_authorised_her() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = &app.db.store;
        let sign_no = sign_in(&app).await;
        let mother = store.person_by_resident_id(&yibao_demo::DEMO_MOTHER_ID.parse().unwrap()).await.unwrap().unwrap();
        let psn_no = mother.id.to_string();
        let mut adm = admission(mother.id, "ZY0601");
        adm["mdtrtinfo"]["insutype"] = json!("390");
        adm["mdtrtinfo"]["begntime"] = json!(business_day(4));
        let mdtrt_id = ok(&app, "2401", &sign_no, adm).await["result"]["mdtrt_id"].as_str().unwrap().to_string();
        let mut lines = example_lines(&mdtrt_id, 3);
        for line in &mut lines {
            line["psn_no"] = json!(psn_no);
        }
        ok(&app, "2301", &sign_no, json!({ "feedetail": lines })).await;
        let dscg = json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "psn_no": psn_no, "endtime": business_day(0), "dscg_way": "1" } });
        ok(&app, "2402", &sign_no, dscg).await;
        let input = |flag: &str| {
            json!({ "data": { "mdtrt_id": mdtrt_id, "psn_no": psn_no, "mdtrt_cert_type": "02", "medfee_sumamt": "5271.95",
                "acct_used_flag": flag, "insutype": "390" } })
        };
        let holder = || async { store.individual_account(1).await.unwrap().unwrap() };
        let before = holder().await.balance;

        let not_asked = ok(&app, "2303", &sign_no, input("0")).await;
        assert_eq!(fen(&not_asked["setlinfo"]["acct_mulaid_pay"]), yibao_core::Fen::ZERO, "{l}");
        let out = ok(&app, "2304", &sign_no, input("1")).await;
        let info = &out["setlinfo"];
        let aided = fen(&info["acct_mulaid_pay"]);
        assert!(aided.is_positive() && aided <= before, "{l}: {info}");
        assert_eq!(fen(&info["acct_pay"]), yibao_core::Fen::ZERO, "{l}: she has no account");
        let part = fen(&info["medfee_sumamt"]).fen() - fen(&info["fund_pay_sumamt"]).fen();
        assert_eq!(
            part,
            aided.fen() + fen(&info["psn_cash_pay"]).fen(),
            "{l}: her share: the family account, her cash"
        );
        assert_eq!(fen(&info["psn_cash_pay"]), fen(&not_asked["setlinfo"]["psn_cash_pay"]).saturating_sub(aided));
        let setl_id = info["setl_id"].as_str().unwrap().to_string();
        let after = holder().await;
        assert_eq!(after.balance, before.saturating_sub(aided), "{l}: debited once, to the fen");
        let drawn = after.entries.last().unwrap();
        assert_eq!((drawn.drawn_by, drawn.reference.as_deref()), (Some(mother.id), Some(setl_id.as_str())), "{l}");
        assert_eq!(drawn.amount, yibao_core::Fen::ZERO.saturating_sub(aided), "{l}");

        let rev = json!({ "data": { "setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": psn_no } });
        let r = send(&app, &envelope("2305", &sign_no, rev)).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(holder().await.balance, before, "{l}: given back to the fen");
        assert_eq!(holder().await.entries.last().unwrap().kind, "reversal", "{l}");
        app.db.cleanup().await;
    }
}
