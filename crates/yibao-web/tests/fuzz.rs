//! A bounded request fuzzer: well-formed requests to the platform endpoint and the JSON API,
//! broken in every way a client or an attacker might (truncated, bytes flipped, junk inserted,
//! a value replaced by the wrong type, a huge or absurd one). Platform messages are signed
//! after they are broken, so they get past the signature to the parsing. Every answer must be
//! in its contract: the platform's envelope with `infcode` 0 or -1 and a message, the API's
//! problem+json for a 4xx, never a 5xx and never a dropped connection (a panic).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::spawn_app;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use yibao_core::platform::{SignType, SIGNATURE_HEADER, TIME_FORMAT};
use yibao_demo::DEMO_PLATFORM_SECRET;
use yibao_store::testing::TestDb;

const PATH: &str = "/fsi/api/rsfComIfsService/callService";
const HOSPITAL: &str = "H62030200001";
/// Requests per run (half to the platform, half to the API); deterministic from the seed.
const REQUESTS: usize = 600;

/// Values that break a field: wrong types, extremes, absurd dates, control and
/// bidirectional-override characters, deep nesting.
fn odd_value(rng: &mut StdRng) -> Value {
    let deep = (0..150).fold(json!(1), |v, _| json!([v]));
    let choices = [
        Value::Null,
        json!(-1),
        json!(i64::MAX),
        json!(1.0e300),
        json!(""),
        json!("x".repeat(5_000)),
        json!([]),
        json!({}),
        json!(true),
        json!("9999-12-31 00:00:00"),
        json!("0000-00-00"),
        json!("\u{202e}\u{0000}名字"),
        json!("-0.00"),
        json!("1e309"),
        deep,
    ];
    choices[rng.gen_range(0..choices.len())].clone()
}

/// Replaces one value somewhere in `v` (a random walk from the top).
fn replace_somewhere(v: &mut Value, rng: &mut StdRng) {
    let descend = rng.gen_bool(0.7);
    match v {
        Value::Object(m) if !m.is_empty() && descend => {
            let k = m.keys().nth(rng.gen_range(0..m.len())).cloned().unwrap();
            replace_somewhere(m.get_mut(&k).unwrap(), rng);
        }
        Value::Array(a) if !a.is_empty() && descend => {
            let i = rng.gen_range(0..a.len());
            replace_somewhere(&mut a[i], rng);
        }
        _ => *v = odd_value(rng),
    }
}

/// `base` broken one way.
fn mutate(base: &Value, rng: &mut StdRng) -> Vec<u8> {
    let bytes = serde_json::to_vec(base).unwrap();
    match rng.gen_range(0..5) {
        0 => bytes[..rng.gen_range(0..bytes.len())].to_vec(),
        1 => {
            let mut b = bytes;
            for _ in 0..rng.gen_range(1..8) {
                let i = rng.gen_range(0..b.len());
                b[i] = rng.gen();
            }
            b
        }
        2 => {
            let mut b = bytes;
            let junk: &[&[u8]] = &[b"\x00", b"\xff\xfe", b"{", b"\"", b"\\", b"\xe2\x80\xae", b"]]]]", b",,"];
            let i = rng.gen_range(0..b.len());
            b.splice(i..i, junk[rng.gen_range(0..junk.len())].iter().copied());
            b
        }
        _ => {
            let mut v = base.clone();
            for _ in 0..rng.gen_range(1..3) {
                replace_somewhere(&mut v, rng);
            }
            serde_json::to_vec(&v).unwrap()
        }
    }
}

fn platform_message(infno: &str, sign_no: &str, n: usize) -> Value {
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
    let input = match infno {
        "9001" => json!({ "signIn": { "opter": "0001" } }),
        "1101" => {
            json!({ "data": { "mdtrt_cert_type": "02", "certno": yibao_demo::DEMO_INSURED_ID, "psn_cert_type": "01" } })
        }
        "2401" => json!({ "mdtrtinfo": { "psn_no": "1", "insutype": "310", "begntime": "2026-11-20 09:30:00",
            "med_type": "21", "ipt_no": format!("FZ{n}") }, "diseinfo": [{ "diag_code": "J18.900", "maindiag_flag": "1" }] }),
        "2301" => json!({ "feedetail": [{ "feedetl_sn": "1", "mdtrt_id": "M1", "med_list_codg": "X", "cnt": "1",
            "pric": "1.00", "det_item_fee_sumamt": "1.00", "fee_ocur_time": "2026-11-21 10:00:00" }] }),
        _ => json!({ "data": { "mdtrt_id": "M1", "medfee_sumamt": "1.00", "acct_used_flag": "1", "setl_id": "S1",
            "begndate": "2026-11-01", "enddate": "2026-11-30" } }),
    };
    json!({
        "infno": infno, "msgid": format!("{HOSPITAL}{}{:04}", now.format("%Y%m%d%H%M%S"), n % 10_000),
        "mdtrtarea_admvs": "620302", "insuplc_admdvs": "620302", "recer_sys_code": "YB", "infver": "V1.0",
        "opter_type": "1", "opter": "0001", "opter_name": "fuzz", "inf_time": now.format(TIME_FORMAT).to_string(),
        "fixmedins_code": HOSPITAL, "fixmedins_name": "", "sign_no": sign_no, "signtype": "SM3", "input": input,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_requests_are_answered_within_their_contracts() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let mut rng = StdRng::seed_from_u64(22);
    let token = app.token("clerk").await;
    let sign_in = platform_message("9001", "", 0);
    let bytes = serde_json::to_vec(&sign_in).unwrap();
    let r: Value = app
        .http
        .post(app.url(PATH))
        .header(SIGNATURE_HEADER, SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sign_no = r["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string();
    let infnos = ["9001", "1101", "2401", "2301", "2402", "2303", "2304", "2305", "3201", "3202"];
    let api: [(&str, Value); 4] = [
        (
            "/api/v1/persons",
            json!({ "resident_id": "620302199001010011", "name": "测试", "enrolment": "resident",
            "category": "resident_adult", "insured_region": "620302", "hukou_region": "620302", "status": "active",
            "status_from": "2026-01-01" }),
        ),
        (
            "/api/v1/claims",
            json!({ "resident_id": yibao_demo::DEMO_INSURED_ID, "case": "offsite_inpatient",
            "invoices": [{ "institution_code": "H62010000001", "number": "1", "amount": "10.00" }] }),
        ),
        ("/api/v1/login", json!({ "username": "clerk", "password": "x" })),
        ("/api/v1/adjudicate/preview", json!({ "claim": { "lines": [] } })),
    ];
    for n in 1..=REQUESTS {
        let (what, res) = if n % 2 == 0 {
            let infno = infnos[rng.gen_range(0..infnos.len())];
            let body = mutate(&platform_message(infno, &sign_no, n), &mut rng);
            let mut req = app.http.post(app.url(PATH)).header("content-type", "application/json");
            if rng.gen_bool(0.8) {
                req = req.header(SIGNATURE_HEADER, SignType::HmacSm3.sign(DEMO_PLATFORM_SECRET.as_bytes(), &body));
            }
            (format!("platform {infno} #{n}"), req.body(body).send().await)
        } else {
            let (path, base) = &api[rng.gen_range(0..api.len())];
            let body = mutate(base, &mut rng);
            let req = app.http.post(app.url(path)).bearer_auth(&token).header("content-type", "application/json");
            (format!("{path} #{n}"), req.body(body).send().await)
        };
        let res = res.unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
        let status = res.status();
        assert!(!status.is_server_error(), "{what}: {status}");
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let body: Value =
            res.json().await.unwrap_or_else(|e| panic!("{what}: {status} {content_type}: not JSON ({e})"));
        if what.starts_with("platform") {
            assert_eq!(status, 200, "{what}");
            assert!(body["infcode"] == 0 || body["infcode"] == -1, "{what}: {body}");
            if body["infcode"] == -1 {
                assert!(body["err_msg"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
            }
        } else if status.is_client_error() {
            assert_eq!(content_type, "application/problem+json", "{what}: {body}");
            assert!(body["zh"].is_string() && body["en"].is_string(), "{what}: {body}");
        }
    }
    app.db.cleanup().await;
}
