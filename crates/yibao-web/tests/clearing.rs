//! Clearing over the platform interface and the API, on SQLite and (where reachable)
//! PostgreSQL: 3203 with figures that differ is refused with every difference; with the
//! right ones it applies; another hospital cannot withdraw it; 3204 withdraws it; applied
//! again, an auditor reviews and finance approves (each only what their role may), and
//! nobody else sees it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::platform::{another_hospital, envelope, envelope_from, refusal, send, send_signed, sign_in, OTHER_SECRET};
use common::spawn_app;
use reqwest::StatusCode;
use serde_json::{json, Value};
use yibao_core::platform::SignType;
use yibao_store::testing::{discharged_stay, settle_stay, TestDb};

const CENTRAL: &str = "H62030200001";

async fn api(app: &common::App, token: &str, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = match method {
        "GET" => app.http.get(app.url(path)),
        _ => app.http.post(app.url(path)),
    };
    // The demo hospital's API key goes in its header; anyone else logs in.
    let req = if token == yibao_demo::DEMO_API_KEY { req.header("x-api-key", token) } else { req.bearer_auth(token) };
    let req = if let Some(b) = body { req.json(&b) } else { req };
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_hospital_applies_with_3203_withdraws_with_3204_and_the_agency_reviews_and_approves() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let s = &app.db.store;
        let l = app.db.label;
        // A stay settled in September (the demo cleared October).
        let all: Vec<i64> = (1..=300).collect();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let person = yibao_demo::settleable(s, &all, day("2026-09-01"), 1).await.unwrap()[0];
        let lines =
            [("1", "001102000010000", "3", "40.00", "120.00"), ("2", "003113000010000", "1", "4800.00", "4800.00")];
        let mdtrt =
            discharged_stay(s, person, CENTRAL, day("2026-09-10"), "ZY-W-1", ("K35.800", "急性阑尾炎"), &lines).await;
        let settled = settle_stay(s, CENTRAL, &mdtrt, day("2026-09-11").and_hms_opt(10, 0, 0).unwrap()).await.unwrap();
        let list = &settled.list;

        let sign_no = sign_in(&app).await;
        let data = |psntime: i64, fund: &str| {
            json!({ "data": {
                "setlym": "202609", "clr_type": "21", "clr_way": "1", "psntime": psntime,
                "medfee_sumamt": list.medfee_sumamt, "med_sumfee": list.medfee_sumamt,
                "fund_appy_sum": fund, "acct_pay": list.acct_pay, "cash_payamt": list.psn_cash_pay,
            } })
        };
        let fund = list.fund_pay_sumamt.to_string();
        // Figures that differ: every difference at once, both figures in each.
        let r = send(&app, &envelope("3203", &sign_no, data(2, "1.00"))).await;
        assert_eq!(refusal(&r), "differs", "{l}");
        let msg = r["err_msg"].as_str().unwrap();
        assert!(
            msg.contains("机构申报 2，医保结算 1") && msg.contains("基金申报总额") && msg.contains("3201"),
            "{l}: {msg}"
        );
        // November is not over on the 23rd.
        let r = send(
            &app,
            &envelope(
                "3203",
                &sign_no,
                json!({ "data": { "setlym": "202611", "psntime": 0, "medfee_sumamt": "0", "fund_appy_sum": "0" } }),
            ),
        )
        .await;
        assert_eq!(refusal(&r), "period_open", "{l}");
        let r = send(&app, &envelope("3203", &sign_no, data(1, &fund))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        let result = &r["output"]["result"];
        let number = result["clr_appy_evt_id"].as_str().unwrap().to_string();
        assert_eq!(
            (result["begndate"].as_str(), result["psntime"].as_i64()),
            (Some("2026-09-01"), Some(1)),
            "{l}: {r}"
        );
        assert_eq!(result["fund_appy_sum"].as_str(), Some(fund.as_str()), "{l}");

        // Another hospital cannot withdraw it; the hospital can.
        let other_sign = another_hospital(&app, "H62030200002").await;
        let cancel = json!({ "data": { "clr_appy_evt_id": number, "clr_optins": "620302" } });
        let r = send_signed(
            &app,
            &envelope_from("H62030200002", "3204", &other_sign, cancel.clone()),
            OTHER_SECRET,
            SignType::HmacSm3,
        )
        .await;
        assert_eq!(refusal(&r), "not_found", "{l}");
        let r = send(&app, &envelope("3204", &sign_no, cancel)).await;
        assert_eq!(r["output"]["result"]["status"], "cancelled", "{l}: {r}");
        let r = send(&app, &envelope("3203", &sign_no, data(1, &fund))).await;
        assert_eq!(r["infcode"], 0, "{l}: applied again after withdrawing: {r}");

        // The hospital's key lists its own clearings; the staff of the region see them all.
        let key = yibao_demo::DEMO_API_KEY;
        let (status, mine) = api(&app, key, "GET", "/api/v1/clearings", None).await;
        assert_eq!(status, 200, "{l}");
        let mine = mine.as_array().unwrap();
        assert!(mine.iter().all(|c| c["institution_code"] == CENTRAL) && mine.len() == 3, "{l}: {mine:?}");
        let applied = mine.iter().find(|c| c["state"] == "applied").unwrap();
        let id = applied["id"].as_i64().unwrap();
        let version = applied["version"].as_i64().unwrap();
        let (auditor, finance, zhang) =
            (app.token("auditor").await, app.token("finance").await, app.token("zhangsan").await);
        let (status, all) = api(&app, &auditor, "GET", "/api/v1/clearings", None).await;
        assert!(
            status == 200 && all.as_array().unwrap().iter().any(|c| c["institution_code"] == "H62030200002"),
            "{l}"
        );
        assert_eq!(api(&app, &zhang, "GET", &format!("/api/v1/clearings/{id}"), None).await.0, 404, "{l}");
        let (status, detail) = api(&app, &auditor, "GET", &format!("/api/v1/clearings/{id}"), None).await;
        assert_eq!((status, detail["lines"].as_array().unwrap().len()), (StatusCode::OK, 1), "{l}");

        // Each step by its role only.
        let v = json!({ "version": version });
        assert_eq!(
            api(&app, &finance, "POST", &format!("/api/v1/clearings/{id}/review"), Some(v.clone())).await.0,
            403,
            "{l}"
        );
        let (status, reviewed) = api(&app, &auditor, "POST", &format!("/api/v1/clearings/{id}/review"), Some(v)).await;
        assert_eq!((status, reviewed["state"].as_str()), (StatusCode::OK, Some("reviewed")), "{l}: {reviewed}");
        let v = json!({ "version": reviewed["version"] });
        assert_eq!(
            api(&app, &auditor, "POST", &format!("/api/v1/clearings/{id}/approval"), Some(v.clone())).await.0,
            403,
            "{l}"
        );
        assert_eq!(
            api(&app, key, "POST", &format!("/api/v1/clearings/{id}/approval"), Some(v.clone())).await.0,
            403,
            "{l}"
        );
        let (status, approved) =
            api(&app, &finance, "POST", &format!("/api/v1/clearings/{id}/approval"), Some(v)).await;
        assert_eq!(status, 200, "{l}: {approved}");
        assert_eq!(approved["payment"]["amount"], approved["clearing"]["statement"]["net"], "{l}: {approved}");
        assert_eq!(approved["payment"]["state"], "ready", "{l}: the demo hospital gave its account");
        // The hospital reads its account masked.
        let (status, account) = api(&app, key, "GET", "/api/v1/institution/account", None).await;
        assert!(status == 200 && account["account"].as_str().unwrap().starts_with("****"), "{l}: {account}");

        // The fund's books: balanced and agreeing after all of it; finance and auditors read
        // them, nobody else; finance closes a month that is over, once.
        let (status, books) = api(&app, &auditor, "GET", "/api/v1/books", None).await;
        assert_eq!((status, books["clean"].as_bool()), (StatusCode::OK, Some(true)), "{l}: {books}");
        assert_eq!(api(&app, &zhang, "GET", "/api/v1/books", None).await.0, 403, "{l}");
        let (_, months) = api(&app, &finance, "GET", "/api/v1/books/months", None).await;
        assert!(months.as_array().unwrap().iter().any(|m| m["fund"] == "620300-310"), "{l}: {months}");
        let xlsx = app.http.get(app.url("/api/v1/books/months.xlsx")).bearer_auth(&finance).send().await.unwrap();
        assert_eq!(xlsx.status(), 200, "{l}");
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"), "{l}");
        let close = |m: &str| Some(json!({ "month": m }));
        assert_eq!(api(&app, &auditor, "POST", "/api/v1/books/close", close("2026-10")).await.0, 403, "{l}");
        assert_eq!(api(&app, &finance, "POST", "/api/v1/books/close", close("2026-11")).await.0, 422, "{l}: not over");
        assert_eq!(api(&app, &finance, "POST", "/api/v1/books/close", close("2026-10")).await.0, 204, "{l}");
        assert_eq!(api(&app, &finance, "POST", "/api/v1/books/close", close("2026-10")).await.0, 422, "{l}: once");
        let (_, books) = api(&app, &finance, "GET", "/api/v1/books", None).await;
        assert_eq!(books["clean"].as_bool(), Some(true), "{l}: the closed month still adds up: {books}");

        // Annual assessments: the demo assessed the hospital's last year; it reads its own,
        // and only an auditor of the region records one, once a year, for a year that is over.
        let (status, own) = api(&app, key, "GET", "/api/v1/assessments", None).await;
        assert_eq!(status, 200, "{l}");
        let years: Vec<i64> = own.as_array().unwrap().iter().map(|a| a["year"].as_i64().unwrap()).collect();
        assert_eq!(years, [2025], "{l}: {own}");
        assert_eq!(api(&app, &zhang, "GET", "/api/v1/assessments", None).await.0, 403, "{l}");
        let assess = |code: &str, year: i32, score: u32| {
            Some(json!({ "institution": code, "year": year, "score": score, "note": "协议履行良好" }))
        };
        assert_eq!(api(&app, key, "POST", "/api/v1/assessments", assess(CENTRAL, 2025, 90)).await.0, 403, "{l}");
        assert_eq!(api(&app, &finance, "POST", "/api/v1/assessments", assess(CENTRAL, 2025, 90)).await.0, 403, "{l}");
        let refused = |p: &Value| p["errors"][0]["code"].as_str().map(str::to_string);
        let (status, p) = api(&app, &auditor, "POST", "/api/v1/assessments", assess(CENTRAL, 2025, 90)).await;
        assert_eq!((status, refused(&p).as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("assessed")), "{l}: {p}");
        let (status, p) = api(&app, &auditor, "POST", "/api/v1/assessments", assess("H62030200002", 2026, 90)).await;
        assert_eq!((status, refused(&p).as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("year_open")), "{l}: {p}");
        let lanzhou = assess("H62010200001", 2025, 90);
        assert_eq!(api(&app, &auditor, "POST", "/api/v1/assessments", lanzhou).await.0, 404, "{l}: not their region");
        let (status, made) = api(&app, &auditor, "POST", "/api/v1/assessments", assess("H62030200002", 2025, 85)).await;
        assert_eq!(status, 201, "{l}: {made}");
        assert_eq!((made["score"].as_i64(), made["share"].as_str()), (Some(85), Some("0.8")), "{l}: {made}");
        app.db.cleanup().await;
    }
}

/// The clearing page's forms say every error beside its field and keep what was typed: the
/// hospital's account (no name, no bank, a bad number — all three at once) and the
/// auditor's assessment (a score over 100).
#[tokio::test]
async fn the_clearing_forms_say_each_error_beside_its_field() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let beside = |page: &str, field: &str| {
        let at = page.find(&format!("id=\"err-{field}\"")).unwrap_or_else(|| panic!("nothing beside {field}: {page}"));
        let said = page[at..].split("</span>").next().unwrap();
        said.split('>').nth(1).unwrap().to_string()
    };
    let (hospital, csrf) = common::portal_session(&app, "hospital", "/clearings").await;
    let res = hospital
        .post(app.url("/clearings/account"))
        .form(&[("csrf", csrf.as_str()), ("account_name", " "), ("bank_name", ""), ("account", "6222-12")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(beside(&page, "account_name").contains("账户名称"), "{page}");
    assert!(beside(&page, "bank_name").contains("开户银行"), "{page}");
    assert!(!beside(&page, "bank_card").is_empty(), "{page}");
    assert!(page.contains("value=\"6222-12\""), "what was typed is kept");

    let (auditor, csrf) = common::portal_session(&app, "auditor", "/clearings").await;
    let res = auditor
        .post(app.url("/clearings/assessments"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("institution", "H62030200002"),
            ("year", "2025"),
            ("score", "120"),
            ("note", "协议履行良好"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(beside(&page, "score").contains("0–100"), "{page}");
    assert!(page.contains("value=\"协议履行良好\"") && page.contains("value=\"120\""), "{page}");
    assert!(page.contains("<option value=\"H62030200002\" selected>"), "the institution chosen stays chosen");
    app.db.cleanup().await;
}
