//! Talking to the national platform interface as the demo hospital: envelopes, signatures,
//! sign-in.

use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};
use yibao_core::platform::{SignType, SIGNATURE_HEADER, TIME_FORMAT};
use yibao_demo::DEMO_PLATFORM_SECRET;

use super::App;

/// The secret [`another_hospital`] signs with.
pub const OTHER_SECRET: &str = "other-secret";

pub const PATH: &str = "/fsi/api/rsfComIfsService/callService";
pub const HOSPITAL: &str = "H62030200001";

pub static SEQ: AtomicU32 = AtomicU32::new(1);

pub fn china_now() -> chrono::NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

/// A request envelope from the demo hospital, with a fresh msgid.
pub fn envelope(infno: &str, sign_no: &str, input: Value) -> Value {
    envelope_from(HOSPITAL, infno, sign_no, input)
}

pub fn envelope_from(hospital: &str, infno: &str, sign_no: &str, input: Value) -> Value {
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
pub async fn send_signed(app: &App, body: &Value, secret: &str, kind: SignType) -> Value {
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

pub async fn send(app: &App, body: &Value) -> Value {
    send_signed(app, body, DEMO_PLATFORM_SECRET, SignType::HmacSm3).await
}

pub fn refusal(r: &Value) -> &str {
    assert_eq!(r["infcode"], -1, "{r}");
    assert!(r["err_msg"].as_str().is_some_and(|m| !m.is_empty()) && r["err_msg_en"].is_string(), "{r}");
    r["err_code"].as_str().unwrap()
}

pub async fn sign_in(app: &App) -> String {
    let r = send(app, &envelope("9001", "", json!({ "signIn": { "opter": "0001", "mac": "", "ip": "" } }))).await;
    assert_eq!(r["infcode"], 0, "{r}");
    r["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string()
}

/// Signs `code` (another demo institution) in with a secret of its own; its sign_no.
pub async fn another_hospital(app: &App, code: &str) -> String {
    let inst = app.db.store.institution_by_code(code).await.unwrap();
    let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
    app.db.store.issue_known_platform_secret(&mut w, inst.id, OTHER_SECRET).await.unwrap();
    w.commit().await.unwrap();
    let r = send_signed(app, &envelope_from(code, "9001", "", json!({})), OTHER_SECRET, SignType::HmacSm3).await;
    assert_eq!(r["infcode"], 0, "{r}");
    r["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string()
}
