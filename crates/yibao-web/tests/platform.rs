//! The national platform interface over HTTP, on SQLite and (where reachable) PostgreSQL:
//! signatures, the time window, msgid idempotency (also under concurrent retries), sign-in
//! and 1101.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{spawn_app, App};
use serde_json::{json, Value};
use yibao_core::platform::{SignType, SIGNATURE_HEADER, TIME_FORMAT};
use yibao_store::demo::DEMO_PLATFORM_SECRET;
use yibao_store::testing::TestDb;

const PATH: &str = "/fsi/api/rsfComIfsService/callService";
const HOSPITAL: &str = "H62030200001";

static SEQ: AtomicU32 = AtomicU32::new(1);

fn china_now() -> chrono::NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

/// A request envelope from the demo hospital, with a fresh msgid.
fn envelope(infno: &str, sign_no: &str, input: Value) -> Value {
    envelope_from(HOSPITAL, infno, sign_no, input)
}

fn envelope_from(hospital: &str, infno: &str, sign_no: &str, input: Value) -> Value {
    let now = china_now();
    let msgid = format!("{hospital}{}{:04}", now.format("%Y%m%d%H%M%S"), SEQ.fetch_add(1, Ordering::Relaxed) % 10_000);
    json!({
        "infno": infno, "msgid": msgid, "mdtrtarea_admvs": "620302", "insuplc_admdvs": "620302",
        "recer_sys_code": "YB", "infver": "V1.0", "opter_type": "1", "opter": "0001", "opter_name": "收费员 李",
        "inf_time": now.format(TIME_FORMAT).to_string(), "fixmedins_code": hospital,
        "fixmedins_name": "金昌市中心医院", "sign_no": sign_no, "signtype": "SM3", "input": input,
    })
}

/// Sends `body` signed with `secret` (and `kind`); returns the response envelope.
async fn send_signed(app: &App, body: &Value, secret: &str, kind: SignType) -> Value {
    let bytes = serde_json::to_vec(body).unwrap();
    let res = app
        .http
        .post(app.url(PATH))
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, kind.sign(secret.as_bytes(), &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn send(app: &App, body: &Value) -> Value {
    send_signed(app, body, DEMO_PLATFORM_SECRET, SignType::HmacSm3).await
}

fn refusal(r: &Value) -> &str {
    assert_eq!(r["infcode"], -1, "{r}");
    assert!(r["err_msg"].as_str().is_some_and(|m| !m.is_empty()) && r["err_msg_en"].is_string(), "{r}");
    r["err_code"].as_str().unwrap()
}

async fn sign_in(app: &App) -> String {
    let r = send(app, &envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }))).await;
    assert_eq!(r["infcode"], 0, "{r}");
    r["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string()
}

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

        // A clock ten minutes off, an unknown transaction, an unknown person, a bad number.
        let mut stale = envelope("1101", &sign_no, person_query("620302198506120036"));
        let old = china_now() - chrono::Duration::minutes(10);
        stale["inf_time"] = json!(old.format(TIME_FORMAT).to_string());
        assert_eq!(refusal(&send(&app, &stale).await), "stale_time", "{l}");
        let r = send(&app, &envelope("2304", &sign_no, json!({}))).await;
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

/// Gives `code` a signing secret and signs an operator in there.
async fn another_hospital(app: &App, code: &str) -> String {
    let inst = app.db.store.institution_by_code(code).await.unwrap();
    let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
    app.db.store.issue_known_platform_secret(&mut w, inst.id, "other-secret").await.unwrap();
    w.commit().await.unwrap();
    let r = send_signed(app, &envelope_from(code, "9001", "", json!({})), "other-secret", SignType::HmacSm3).await;
    assert_eq!(r["infcode"], 0, "{r}");
    r["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string()
}

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
