//! Sporadic claims over the JSON API, on SQLite and (where reachable) PostgreSQL: a claim
//! from submission through 补正, adjudication, review with a line excluded, and the second
//! review to its decision; late claims; invoices claimed twice or settled directly;
//! withdrawal; a delegate at the window; a case only the employer unit may hand in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{spawn_app, App};
use serde_json::{json, Value};
use yibao_core::{AdminCode, Fen, InsuranceYear, ResidentId};
use yibao_demo::{DEMO_SCAN_PNG, DEMO_VISIT_LINES};
use yibao_store::testing::TestDb;

const LANZHOU_HOSPITAL: &str = "H62010200001";

/// An off-site inpatient claim for `person_id` at a Lanzhou hospital, 1–10 November 2026,
/// with the demo visit's seven lines (5,271.95 yuan) on one invoice.
fn claim_body(person_id: i64, invoice_no: &str) -> Value {
    let lines: Vec<Value> = DEMO_VISIT_LINES
        .iter()
        .map(|(_, code, cnt, pric, amount)| {
            json!({ "med_list_codg": code, "item_name": "", "cnt": cnt, "pric": pric, "amount": amount,
                    "fee_ocur_time": "2026-11-05" })
        })
        .collect();
    json!({
        "person_id": person_id, "case": "offsite_inpatient", "med_type": "21",
        "institution_code": LANZHOU_HOSPITAL, "institution_name": "兰州大学第一医院", "treatment_region": "620102",
        "hosp_lv": "3", "care_start": "2026-11-01", "care_end": "2026-11-10", "diagnoses": ["J18.9"],
        "invoices": [{ "invoice_no": invoice_no, "invoice_date": "2026-11-10", "amount": "5271.95" }],
        "lines": lines,
    })
}

/// The app, 张三's and the clerk's tokens, and 张三's person id.
async fn start(db: TestDb) -> (App, String, String, i64) {
    let app = spawn_app(db).await;
    let (person, clerk) = (app.token("zhangsan").await, app.token("clerk").await);
    let (_, me) = get(&app, &person, "/api/v1/me").await;
    let pid = me["person"]["id"].as_i64().unwrap();
    (app, person, clerk, pid)
}

async fn post(app: &App, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let res = app.http.post(app.url(path)).bearer_auth(token).json(body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(app: &App, token: &str, path: &str) -> (u16, Value) {
    let res = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get_text(app: &App, token: &str, path: &str) -> (u16, String) {
    let res = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn step(app: &App, token: &str, id: i64, body: Value) -> (u16, Value) {
    post(app, token, &format!("/api/v1/claims/{id}/steps"), &body).await
}

async fn attach(app: &App, token: &str, id: i64, kind: &str) -> u16 {
    let form = reqwest::multipart::Form::new().text("kind", kind.to_string()).part(
        "file",
        reqwest::multipart::Part::bytes(DEMO_SCAN_PNG.to_vec())
            .file_name(format!("{kind}.png"))
            .mime_str("image/png")
            .unwrap(),
    );
    let res = app.http.post(app.url(&format!("/api/v1/claims/{id}/documents"))).bearer_auth(token).multipart(form);
    res.send().await.unwrap().status().as_u16()
}

/// The `code` of a refusal (a Problem's first error or its own code).
fn code(body: &Value) -> String {
    body["errors"][0]["code"].as_str().or(body["code"].as_str()).unwrap_or_default().to_string()
}

fn message(body: &Value) -> String {
    body.to_string()
}

#[tokio::test]
async fn a_claim_from_submission_through_supplement_and_two_reviews_to_approval() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (person, clerk, reviewer, reviewer2) = (
            app.token("zhangsan").await,
            app.token("clerk").await,
            app.token("reviewer").await,
            app.token("reviewer2").await,
        );
        let (_, me) = get(&app, &person, "/api/v1/me").await;
        let pid = me["person"]["id"].as_i64().unwrap();

        // The wizard's answer: what to bring, and why.
        let (s, list) = get(&app, &person, "/api/v1/claim-checklist?region=620302&case=offsite_inpatient").await;
        assert_eq!(s, 200, "{l} {list}");
        let required: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["required"] == true)
            .map(|i| i["any_of"][0].as_str().unwrap())
            .collect();
        assert_eq!(
            required,
            ["id_card", "social_security_card", "invoice", "itemised_list", "discharge_summary", "filing_form"],
            "{l}"
        );
        assert!(list["items"][2]["why"]["zh"].as_str().unwrap().contains("签名"), "{l}");

        // A late claim is refused with the rule and the date.
        let mut late = claim_body(pid, "LZ-0009");
        late["care_start"] = json!("2026-09-01");
        late["care_end"] = json!("2026-09-30");
        late["invoices"][0]["invoice_date"] = json!("2026-09-30");
        for line in late["lines"].as_array_mut().unwrap() {
            line["fee_ocur_time"] = json!("2026-09-10");
        }
        let (s, body) = post(&app, &person, "/api/v1/claims", &late).await;
        assert_eq!((s, code(&body).as_str()), (422, "late"), "{l} {body}");
        assert!(message(&body).contains("2026-10-30"), "{l} {body}");

        // Figures that do not add up are all reported at once.
        let mut wrong = claim_body(pid, "LZ-0008");
        wrong["lines"][0]["amount"] = json!("241.00");
        wrong["invoices"][0]["invoice_date"] = json!("2026-10-01");
        let (s, body) = post(&app, &person, "/api/v1/claims", &wrong).await;
        assert_eq!(s, 422, "{l} {body}");
        let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["invoice_date", "amount", "total"], "{l} {body}");

        // Handed in online by the person.
        let (s, claim) = post(&app, &person, "/api/v1/claims", &claim_body(pid, "LZ-0001")).await;
        assert_eq!(s, 201, "{l} {claim}");
        let id = claim["id"].as_i64().unwrap();
        assert_eq!(claim["state"], "submitted", "{l}");
        assert_eq!(claim["channel"], "online", "{l}");
        assert_eq!(claim["due_on"], "2026-12-10", "{l}");
        assert!(claim["number"].as_str().unwrap().starts_with("LX620302"), "{l}");

        // Intake cannot accept it without its papers; it goes back for supplement (补正).
        let (s, body) = step(&app, &clerk, id, json!({ "action": "accept" })).await;
        assert_eq!((s, code(&body).as_str()), (422, "incomplete"), "{l} {body}");
        let (s, body) = step(&app, &person, id, json!({ "action": "accept" })).await;
        assert_eq!(s, 403, "{l} the claimant cannot accept: {body}");
        let (s, returned) = step(&app, &clerk, id, json!({ "action": "return", "note": "票据背面请本人签名" })).await;
        assert_eq!(s, 200, "{l} {returned}");
        assert_eq!(returned["state"], "returned", "{l}");
        assert_eq!(returned["missing"].as_array().unwrap().len(), 6, "{l} {returned}");
        assert_eq!(returned["note"], "票据背面请本人签名", "{l}");

        // The person uploads the papers and hands it in again; one is still missing at first.
        for kind in ["id_card", "social_security_card", "invoice", "itemised_list", "discharge_summary"] {
            assert_eq!(attach(&app, &person, id, kind).await, 201, "{l} {kind}");
        }
        let (s, body) = step(&app, &person, id, json!({ "action": "resubmit" })).await;
        assert_eq!((s, code(&body).as_str()), (422, "incomplete"), "{l} {body}");
        assert!(message(&body).contains("居住证"), "{l} {body}");
        assert_eq!(attach(&app, &person, id, "residence_certificate").await, 201, "{l}");
        // Living where they were treated, and operated on: the photos of the operated site
        // and of the whole body too (seed 004).
        let (s, body) = step(&app, &person, id, json!({ "action": "resubmit" })).await;
        assert_eq!((s, code(&body).as_str()), (422, "incomplete"), "{l} {body}");
        assert!(message(&body).contains("手术部位及全身照片"), "{l} {body}");
        assert_eq!(attach(&app, &person, id, "surgery_photos").await, 201, "{l}");
        let (s, body) = step(&app, &person, id, json!({ "action": "resubmit" })).await;
        assert_eq!((s, body["state"].as_str()), (200, Some("submitted")), "{l} {body}");

        // Accepted: the engine adjudicates; every line is explained and the lines add up.
        let (s, accepted) = step(&app, &clerk, id, json!({ "action": "accept" })).await;
        assert_eq!((s, accepted["state"].as_str()), (200, Some("adjudicated")), "{l} {accepted}");
        let statement = &accepted["statement"];
        let lines = statement["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 7, "{l}");
        let fen = |v: &Value| v.as_str().unwrap().parse::<Fen>().unwrap().fen();
        let line_fund: i64 = lines.iter().map(|x| fen(&x["fund_pay"])).sum();
        assert_eq!(line_fund, fen(&statement["fund_pay_sumamt"]), "{l}");
        assert_eq!(fen(&statement["medfee_sumamt"]), 527_195, "{l}");
        assert!(lines.iter().all(|x| !x["why"].as_array().unwrap().is_empty()), "{l}");
        let fund_before = fen(&statement["fund_pay_sumamt"]);
        assert_eq!(accepted["fund_pay_sumamt"], statement["fund_pay_sumamt"], "{l}");
        assert!(fund_before > 0, "{l} the fund pays part of an off-site stay with residence proof: {statement}");

        // Review: only the reviewer who took it changes it.
        let (s, body) = step(&app, &reviewer2, id, json!({ "action": "decide", "approve": true })).await;
        assert_eq!((s, code(&body).as_str()), (422, "not_your_review"), "{l} not taken yet: {body}");
        let (s, taken) = step(&app, &reviewer, id, json!({ "action": "take" })).await;
        assert_eq!((s, taken["state"].as_str()), (200, Some("in_review")), "{l} {taken}");
        let (s, body) =
            step(&app, &reviewer2, id, json!({ "action": "exclude", "seq": 3, "reason": "no_evidence", "note": "x" }))
                .await;
        assert_eq!((s, code(&body).as_str()), (422, "not_your_review"), "{l} {body}");
        let (s, body) =
            step(&app, &reviewer, id, json!({ "action": "exclude", "seq": 3, "reason": "no_evidence" })).await;
        assert_eq!((s, code(&body).as_str()), (422, "required"), "{l} a comment is required: {body}");
        let (s, reduced) = step(
            &app,
            &reviewer,
            id,
            json!({ "action": "exclude", "seq": 3, "reason": "no_evidence", "note": "手术记录未附" }),
        )
        .await;
        assert_eq!(s, 200, "{l} {reduced}");
        let line3 = &reduced["statement"]["lines"][2];
        assert_eq!(line3["fund_pay"], "0.00", "{l} {line3}");
        assert_eq!(line3["fulamt_ownpay_amt"], "4800.00", "{l} {line3}");
        assert!(line3["why"][0]["zh"].as_str().unwrap().contains("审核剔除"), "{l} {line3}");
        assert_eq!(reduced["lines"][2]["excluded_reason"], "no_evidence", "{l}");
        let fund_reduced = fen(&reduced["fund_pay_sumamt"]);
        assert!(fund_reduced < fund_before, "{l} {fund_reduced} < {fund_before}");

        // The supervision rules found the stay overlapping one of 张三's earlier ones (the
        // demo's): a violation, which blocks the decision until the reviewer decides it. The
        // claimant does not see the agency's findings.
        let (s, body) = step(&app, &reviewer, id, json!({ "action": "decide", "approve": true })).await;
        assert_eq!((s, code(&body).as_str()), (422, "open_violations"), "{l} {body}");
        let (s, hits) = get(&app, &reviewer, &format!("/api/v1/claims/{id}/hits")).await;
        assert_eq!(s, 200, "{l} {hits}");
        let violation = hits.as_array().unwrap().iter().find(|h| h["severity"] == "violation").unwrap().clone();
        assert_eq!(violation["state"], "open", "{l}");
        assert_eq!(get(&app, &person, &format!("/api/v1/claims/{id}/hits")).await.0, 403, "{l}");
        let decide = |token: &str, body: Value| {
            let path = format!("/api/v1/hits/{}/decision", violation["id"]);
            let req = app.http.post(app.url(&path)).bearer_auth(token.to_string()).json(&body);
            async move { req.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(decide(&person, json!({ "clear": true, "reason": "x" })).await, 403, "{l}");
        assert_eq!(decide(&reviewer, json!({ "clear": true, "reason": "" })).await, 422, "{l}: a reason");
        assert_eq!(decide(&reviewer, json!({ "clear": true, "reason": "经核实为转院" })).await, 200, "{l}");

        // 5,271.95 is above the region's 5,000: the decision waits for a second reviewer,
        // who is not the first.
        let (s, decided) = step(&app, &reviewer, id, json!({ "action": "decide", "approve": true })).await;
        assert_eq!((s, decided["state"].as_str()), (200, Some("second_review")), "{l} {decided}");
        assert_eq!(decided["verdict"], "reduce", "{l}");
        let (s, _) = step(&app, &reviewer, id, json!({ "action": "second_review", "approve": true })).await;
        assert_eq!(s, 403, "{l} a reviewer is not a second reviewer");
        let (s, body) = step(&app, &reviewer2, id, json!({ "action": "second_review", "approve": false })).await;
        assert_eq!((s, code(&body).as_str()), (422, "required"), "{l} sending back needs a reason: {body}");

        let store = &app.db.store;
        let year = InsuranceYear::of(chrono::NaiveDate::from_ymd_opt(2026, 11, 10).unwrap());
        let ytd_before = store.year_totals(pid, year).await.unwrap();
        let (s, approved) = step(&app, &reviewer2, id, json!({ "action": "second_review", "approve": true })).await;
        assert_eq!((s, approved["state"].as_str()), (200, Some("reduced")), "{l} {approved}");
        assert!(approved["second_reviewer"].as_str().unwrap().contains("reviewer2"), "{l} {approved}");
        assert!(approved["decided_at"].is_string(), "{l}");
        // The approval counts towards the person's running totals for the year, exactly.
        let ytd_after = store.year_totals(pid, year).await.unwrap();
        let pool: i64 = approved["statement"]["funds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["fund_pay_type"] == "310100" || f["fund_pay_type"] == "390100")
            .map(|f| fen(&f["amount"]))
            .sum();
        assert_eq!(ytd_after.pool_paid.fen() - ytd_before.pool_paid.fen(), pool, "{l}");
        // A decided claim cannot be withdrawn or changed.
        let (s, body) = step(&app, &person, id, json!({ "action": "withdraw" })).await;
        assert_eq!((s, code(&body).as_str()), (422, "transition"), "{l} {body}");

        // The history, step by step, as the person sees it.
        let (s, seen) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(s, 200, "{l}");
        let actions: Vec<&str> =
            seen["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["submit", "return", "resubmit", "accept", "take", "decide", "confirm"], "{l}");
        assert_eq!(seen["documents"].as_array().unwrap().len(), 7, "{l}");
        // Staff outside the claim business do not see it; the institution neither.
        let (s, _) = get(&app, &app.token("policy").await, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(s, 403, "{l}");
        let (s, queue) = get(&app, &reviewer, "/api/v1/claims?state=reduced").await;
        assert_eq!(s, 200, "{l}");
        assert!(queue.as_array().unwrap().iter().any(|c| c["id"] == id), "{l} {queue}");
        assert!(queue.as_array().unwrap().iter().all(|c| c["state"] == "reduced"), "{l} {queue}");

        let audit = store.verify_audit_log().await.unwrap();
        assert!(audit.first_break.is_none(), "{l}");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn an_invoice_is_never_paid_twice_nor_after_a_direct_settlement() {
    for db in TestDb::all().await {
        let l = db.label;
        let (app, person, clerk, pid) = start(db).await;

        let (s, first) = post(&app, &person, "/api/v1/claims", &claim_body(pid, "LZ-7001")).await;
        assert_eq!(s, 201, "{l} {first}");
        let number = first["number"].as_str().unwrap().to_string();
        // The same invoice again, by the person or at the window: stopped, naming the first.
        for token in [&person, &clerk] {
            let (s, body) = post(&app, token, "/api/v1/claims", &claim_body(pid, "LZ-7001")).await;
            assert_eq!((s, code(&body).as_str()), (422, "duplicate_invoice"), "{l} {body}");
            assert!(message(&body).contains(&number), "{l} {body}");
        }
        // The same number at another institution is another invoice.
        let mut other = claim_body(pid, "LZ-7001");
        other["institution_code"] = json!("H62010200002");
        let (s, body) = post(&app, &person, "/api/v1/claims", &other).await;
        assert_eq!(s, 201, "{l} {body}");

        // Withdrawn, its invoice may be claimed again (a corrected claim).
        let id = first["id"].as_i64().unwrap();
        let (s, body) = step(&app, &person, id, json!({ "action": "withdraw", "note": "金额有误" })).await;
        assert_eq!((s, body["state"].as_str()), (200, Some("withdrawn")), "{l} {body}");
        let (s, body) = post(&app, &person, "/api/v1/claims", &claim_body(pid, "LZ-7001")).await;
        assert_eq!(s, 201, "{l} {body}");

        // A visit settled directly at the hospital (the demo's, a week ago) cannot be claimed.
        let settled = app.db.store.person_settlements(pid).await.unwrap();
        let s0 = settled.iter().find(|s| s.list.basic.fixmedins_code == "H62030200001").unwrap();
        let mut again = claim_body(pid, &s0.setl_id);
        again["case"] = json!("card_lost_or_damaged");
        again["institution_code"] = json!("H62030200001");
        again["institution_name"] = json!("金昌市中心医院");
        again["treatment_region"] = json!("620302");
        again["care_start"] = json!("2026-11-01");
        let (s, body) = post(&app, &person, "/api/v1/claims", &again).await;
        assert_eq!((s, code(&body).as_str()), (422, "settled_directly"), "{l} {body}");
        assert!(message(&body).contains(&s0.setl_id), "{l} {body}");
        // Named by the hospital's inpatient number instead, it is stopped the same way.
        again["invoices"][0]["invoice_no"] = json!("JC-FP-1");
        again["visit_no"] = json!(s0.list.basic.ipt_otp_no);
        let (s, body) = post(&app, &person, "/api/v1/claims", &again).await;
        assert_eq!((s, code(&body).as_str()), (422, "settled_directly"), "{l} {body}");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn delegates_and_employer_units_hand_claims_in_with_their_own_papers() {
    for db in TestDb::all().await {
        let l = db.label;
        let (app, person, clerk, pid) = start(db).await;
        let delegate = ResidentId::from_parts(
            "620302".parse::<AdminCode>().unwrap(),
            chrono::NaiveDate::from_ymd_opt(1960, 3, 1).unwrap(),
            21,
        )
        .unwrap();

        // Only the employer unit hands in serious illness while travelling.
        let mut travel = claim_body(pid, "LZ-8001");
        travel["case"] = json!("travel_illness");
        let (s, body) = post(&app, &person, "/api/v1/claims", &travel).await;
        assert_eq!((s, code(&body).as_str()), (422, "employer_only"), "{l} {body}");
        travel["submitter"] = json!("employer");
        let (s, body) = post(&app, &clerk, "/api/v1/claims", &travel).await;
        assert_eq!(s, 201, "{l} {body}");
        assert_eq!((body["submitter"].as_str(), body["channel"].as_str()), (Some("employer"), Some("window")), "{l}");

        // A delegate at the window: the authorisation is recorded, and the delegate's own ID
        // joins the checklist.
        let mut by_delegate = claim_body(pid, "LZ-8002");
        by_delegate["submitter"] = json!("delegate");
        by_delegate["delegate_id"] = json!(delegate.as_str());
        by_delegate["delegate_name"] = json!("张小三");
        let (s, claim) = post(&app, &clerk, "/api/v1/claims", &by_delegate).await;
        assert_eq!(s, 201, "{l} {claim}");
        let id = claim["id"].as_i64().unwrap();
        let (_, returned) = step(&app, &clerk, id, json!({ "action": "return" })).await;
        let missing: Vec<&str> =
            returned["missing"].as_array().unwrap().iter().map(|i| i["any_of"][0].as_str().unwrap()).collect();
        assert_eq!(missing.last(), Some(&"delegate_id"), "{l} {returned}");
        // The person sees the authorisation and revokes it; a later delegate claim at the
        // window records a new one, never reuses the revoked.
        let (s, mine) = get(&app, &person, "/api/v1/my/delegations").await;
        assert_eq!(s, 200, "{l}");
        let given = mine["given"].as_array().unwrap();
        assert_eq!(given.len(), 1, "{l} {mine}");
        assert_eq!(given[0]["delegate_name"], "张小三", "{l}");
        let did = given[0]["id"].as_i64().unwrap();
        let (s, revoked) = post(&app, &person, &format!("/api/v1/my/delegations/{did}/revoke"), &json!({})).await;
        assert_eq!((s, revoked["revoked_at"].is_string()), (200, true), "{l} {revoked}");
        let (s, _) = post(&app, &person, &format!("/api/v1/my/delegations/{did}/revoke"), &json!({})).await;
        assert_eq!(s, 422, "{l} revoked once");
        by_delegate["invoices"][0]["invoice_no"] = json!("LZ-8003");
        let (s, claim) = post(&app, &clerk, "/api/v1/claims", &by_delegate).await;
        assert_eq!(s, 201, "{l} {claim}");
        assert_ne!(claim["delegation_id"].as_i64(), Some(did), "{l}");
        // The person grants one online too.
        let (s, d) = post(
            &app,
            &person,
            "/api/v1/my/delegations",
            &json!({ "delegate_id": delegate.as_str(), "delegate_name": "张小三" }),
        )
        .await;
        assert_eq!(s, 201, "{l} {d}");
        app.db.cleanup().await;
    }
}

async fn page(app: &App, token: &str, path: &str) -> (u16, String) {
    let res = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn form_post(app: &App, token: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = app.http.post(app.url(path)).bearer_auth(token).form(fields).send().await.unwrap();
    let status = res.status().as_u16();
    let to = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, to.unwrap_or(res.text().await.unwrap()))
}

/// The portal's claim form as 张三 fills it: an off-site outpatient visit in Lanzhou, one
/// receipt, a paper for every item of the checklist, and the hospital's itemised list as a
/// CSV file; `typed_line` adds a line typed into the form as well.
async fn portal_claim(app: &App, token: &str, typed_line: bool) -> reqwest::Response {
    let hospital = [
        ("institution_code", LANZHOU_HOSPITAL),
        ("institution_name", "兰州大学第一医院"),
        ("treatment_region", "620102"),
        ("hosp_lv", "3"),
    ];
    portal_claim_at(app, token, typed_line, &hospital).await
}

/// [`portal_claim`] naming the hospital with `hospital`'s fields.
async fn portal_claim_at(app: &App, token: &str, typed_line: bool, hospital: &[(&str, &str)]) -> reqwest::Response {
    use reqwest::multipart::{Form, Part};
    let (_, checklist) = get(app, token, "/api/v1/claim-checklist?region=620302&case=offsite_outpatient").await;
    let lines = "医保目录编码,项目名称,数量,单价,金额,费用发生时间\n\
                 002201000010000,血常规检查,2,25.00,50.00,2026-11-18\n\
                 XA01ABD075A002010100483,地喹氯铵含片,5,12.35,,2026-11-18\n";
    let lines = lines.replace(",,2026", ",61.75,2026");
    // The fields given replace the defaults; `doc_file_N_bytes` is the content of paper N.
    let given = |k: &str| hospital.iter().find(|(f, _)| *f == k).map(|(_, v)| v.to_string());
    let defaults = [
        ("case", "offsite_outpatient"),
        ("med_type", "11"),
        ("care_start", "2026-11-18"),
        ("care_end", "2026-11-18"),
        ("diagnoses", "J06.9"),
        ("invoice_no_1", "LZ-PORTAL-1"),
        ("invoice_date_1", "2026-11-18"),
        ("invoice_amount_1", "111.75"),
    ];
    let mut form = Form::new().part("lines_file", Part::bytes(lines.into_bytes()).file_name("明细.csv"));
    for (k, v) in defaults {
        form = form.text(k, given(k).unwrap_or_else(|| v.to_string()));
    }
    if typed_line {
        form = form.text("line_code_1", "002201000010000").text("line_cnt_1", "1").text("line_pric_1", "25");
    }
    for (k, v) in hospital.iter().filter(|(k, _)| !defaults.iter().any(|(d, _)| d == k) && !k.ends_with("_bytes")) {
        form = form.text(k.to_string(), v.to_string());
    }
    for (i, item) in checklist["items"].as_array().unwrap().iter().enumerate() {
        let n = i + 1;
        let bytes = given(&format!("doc_file_{n}_bytes")).map_or_else(|| DEMO_SCAN_PNG.to_vec(), String::into_bytes);
        form = form
            .text(format!("doc_kind_{n}"), item["any_of"][0].as_str().unwrap().to_string())
            .part(format!("doc_file_{n}"), Part::bytes(bytes).file_name(format!("scan-{n}.png")));
    }
    app.http.post(app.url("/claims")).bearer_auth(token).multipart(form).send().await.unwrap()
}

/// The portal end to end: the guide lists the papers and why; the form takes the papers
/// and the itemised list file in one request (refusing typed lines beside a file, and
/// storing nothing then); the clerk accepts on the claim's page; the page's statement and
/// the downloaded CSV state the fund the API does, and their lines add up to it; someone
/// else is told the claim does not exist.
#[tokio::test]
async fn the_portal_takes_a_claim_with_its_papers_and_itemised_list_file() {
    for db in TestDb::all().await {
        let label = db.label;
        let (app, person, clerk, pid) = start(db).await;
        let (status, guide) = page(&app, &person, "/claims/guide?case=offsite_outpatient").await;
        assert_eq!(status, 200, "{label}");
        assert!(guide.contains("核实参保人身份") && guide.contains("id=\"deadline\""), "{label}: the guide says why");
        let (status, form) = page(&app, &person, "/claims/new?case=offsite_outpatient").await;
        assert_eq!(status, 200, "{label}");
        assert!(form.contains("name=\"doc_file_1\"") && form.contains("name=\"lines_file\""), "{label}");

        let before = get(&app, &person, &format!("/api/v1/persons/{pid}/claims")).await.1.as_array().unwrap().len();
        let refused = portal_claim(&app, &person, true).await;
        assert_eq!(refused.status(), 422, "{label}: lines typed and uploaded");
        let text = refused.text().await.unwrap();
        assert!(text.contains("二选一"), "{label}: {text}");
        let after = get(&app, &person, &format!("/api/v1/persons/{pid}/claims")).await.1.as_array().unwrap().len();
        assert_eq!(before, after, "{label}: a refused form stores no claim");
        // Nothing chosen is lost: the refused form holds every file it was sent, by name, and
        // sending the held files again (no file chosen anew) submits them.
        assert!(text.contains("已上传 scan-1.png") && text.contains("已上传 明细.csv"), "{label}: {text}");
        let held: Vec<(String, String)> = text
            .split("<input type=\"hidden\" name=\"held_")
            .skip(1)
            .map(|rest| {
                let name = rest.split('"').next().unwrap().to_string();
                let value = rest.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
                (format!("held_{name}"), value)
            })
            .collect();
        assert!(held.iter().any(|(k, _)| k == "held_lines_file"), "{label}: {held:?}");
        let (_, checklist) = get(&app, &person, "/api/v1/claim-checklist?region=620302&case=offsite_outpatient").await;
        let again = || {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in [
                ("case", "offsite_outpatient"),
                ("med_type", "11"),
                ("institution_name", "兰州大学第一医院"),
                ("care_start", "2026-11-18"),
                ("care_end", "2026-11-18"),
                ("diagnoses", "J06.9"),
                ("invoice_no_1", "LZ-PORTAL-1"),
                ("invoice_date_1", "2026-11-18"),
                ("invoice_amount_1", "111.75"),
            ] {
                form = form.text(k, v);
            }
            for (i, item) in checklist["items"].as_array().unwrap().iter().enumerate() {
                form = form.text(format!("doc_kind_{}", i + 1), item["any_of"][0].as_str().unwrap().to_string());
            }
            for (k, v) in &held {
                form = form.text(k.clone(), v.clone());
            }
            form
        };
        // Another session cannot name them.
        let other = app.token("zhangsan").await;
        let res = app.http.post(app.url("/claims")).bearer_auth(&other).multipart(again()).send().await.unwrap();
        assert_eq!(res.status(), 422, "{label}: held for the session that chose them only");

        let res = app.http.post(app.url("/claims")).bearer_auth(&person).multipart(again()).send().await.unwrap();
        assert_eq!(res.status(), 303, "{label}: sent again with the held files: {}", res.text().await.unwrap());
        let to = res.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = to.trim_start_matches("/claims/").split('?').next().unwrap().parse().unwrap();
        let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(c["state"], "submitted", "{label}");
        assert_eq!(c["lines"].as_array().unwrap().len(), 2, "{label}: the lines came from the file");
        assert_eq!(c["lines"][1]["item_name"], "地喹氯铵含片", "{label}");
        let (_, checklist) = get(&app, &person, "/api/v1/claim-checklist?region=620302&case=offsite_outpatient").await;
        assert_eq!(c["documents"].as_array().unwrap().len(), checklist["items"].as_array().unwrap().len(), "{label}");

        let (status, shown) = page(&app, &person, &to).await;
        assert_eq!(status, 200, "{label}");
        assert!(shown.contains("报销申请已提交"), "{label}: {to}");
        assert!(shown.contains("scan-1.png"), "{label}: the held file keeps its name: {}", c["documents"]);
        assert!(!shown.contains("id=\"statement\""), "{label}: no statement before adjudication");

        let (status, to_page) = form_post(&app, &clerk, &format!("/claims/{id}/steps"), &[("action", "accept")]).await;
        assert_eq!((status, to_page.as_str()), (303, format!("/claims/{id}?done=step_accept").as_str()), "{label}");
        let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(c["state"], "adjudicated", "{label}");
        let fund: Fen = c["fund_pay_sumamt"].as_str().unwrap().parse().unwrap();

        let (_, shown) = page(&app, &person, &format!("/claims/{id}")).await;
        let stated = format!("id=\"statement-fund\">{}<", fund.to_grouped());
        assert!(shown.contains(&stated), "{label}: the page states the fund {fund}");
        assert!(shown.contains("statement.csv"), "{label}: downloadable");
        // A step the person may not take is refused on the page, in Chinese.
        let (status, text) = form_post(&app, &person, &format!("/claims/{id}/steps"), &[("action", "take")]).await;
        assert_eq!(status, 403, "{label}: {text}");

        let res =
            app.http.get(app.url(&format!("/claims/{id}/statement.csv"))).bearer_auth(&person).send().await.unwrap();
        assert_eq!(res.status(), 200, "{label}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{label}");
        let csv = res.text().await.unwrap();
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
        let line_fund: i64 = rows.iter().take(2).map(|r| r[9].parse::<Fen>().unwrap().fen()).sum();
        assert_eq!(line_fund, fund.fen(), "{label}: the downloaded lines add up to the fund");
        let total = rows.iter().find(|r| r[0] == "基金支付合计").map(|r| r[1].to_string());
        assert_eq!(total, Some(fund.to_string()), "{label}");

        // The reviewer works on the page: takes it, excludes a line with a coded reason and a
        // comment (a comment is required), and approves; the fund falls by the line's share.
        let reviewer = app.token("reviewer").await;
        let steps = format!("/claims/{id}/steps");
        assert_eq!(form_post(&app, &reviewer, &steps, &[("action", "take")]).await.0, 303, "{label}");
        let bare = [("action", "exclude"), ("seq", "1"), ("reason", "out_of_scope"), ("note", "")];
        let (status, text) = form_post(&app, &reviewer, &steps, &bare).await;
        assert_eq!(status, 422, "{label}: an exclusion needs a comment");
        assert!(text.contains("form-errors"), "{label}: shown beside the forms");
        let exclude =
            [("action", "exclude"), ("seq", "1"), ("reason", "out_of_scope"), ("note", "门诊检查不在报销范围")];
        assert_eq!(form_post(&app, &reviewer, &steps, &exclude).await.0, 303, "{label}");
        let (_, shown) = page(&app, &reviewer, &format!("/claims/{id}")).await;
        assert!(shown.contains("已核减") && shown.contains("门诊检查不在报销范围"), "{label}");
        let decide = [("action", "decide"), ("approve", "1"), ("note", "其余符合规定")];
        assert_eq!(form_post(&app, &reviewer, &steps, &decide).await.0, 303, "{label}");
        let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
        assert!(c["state"] == "approved" || c["state"] == "reduced", "{label}: {}", c["state"]);
        let reduced: Fen = c["fund_pay_sumamt"].as_str().unwrap().parse().unwrap();
        assert!(reduced <= fund, "{label}: {reduced} after excluding a line, {fund} before");
        let (_, shown) = page(&app, &person, &format!("/claims/{id}")).await;
        // Approval made its payment order, and the page says when it is due; a claim the
        // fund pays nothing towards has none, and the page says so.
        let payment = shown.split("id=\"claim-payment\"").nth(1).unwrap_or("").split("</dd>").next().unwrap_or("");
        match app.db.store.payment_of_claim(id).await.unwrap() {
            Some(order) => {
                assert_eq!(order.amount, reduced, "{label}");
                assert!(payment.contains(&order.due_on.to_string()), "{label}: the due date: {payment:?}");
            }
            None => assert!(reduced == Fen::ZERO && payment.contains("无需支付"), "{label}: {reduced} {payment:?}"),
        }

        // The hospital's portal account sees no claim; the clerk of the region does.
        let hospital = app.token("hospital").await;
        assert_eq!(page(&app, &hospital, &format!("/claims/{id}")).await.0, 403, "{label}");
        assert_eq!(page(&app, &clerk, &format!("/claims/{id}")).await.0, 200, "{label}");
        app.db.cleanup().await;
    }
}

/// A rejected claim's page gives the reviewer's reason and what the person can do next: claim
/// again (the invoices are released), ask at the window, or appeal.
#[tokio::test]
async fn a_rejected_claim_says_why_and_what_to_do_next() {
    let db = TestDb::sqlite().await;
    let (app, person, _, _) = start(db).await;
    let reviewer = app.token("reviewer").await;
    let scope = yibao_core::Scope::parse_list("620300").unwrap();
    let waiting = app.db.store.claims_in(&scope, &[yibao_core::sporadic::ClaimState::Adjudicated], 5).await.unwrap();
    let id = waiting[0].id;
    let steps = format!("/claims/{id}/steps");
    assert_eq!(form_post(&app, &reviewer, &steps, &[("action", "take")]).await.0, 303);
    let reject = [("action", "decide"), ("approve", "0"), ("note", "票据为复印件，请提供原件")];
    assert_eq!(form_post(&app, &reviewer, &steps, &reject).await.0, 303);
    let (_, shown) = page(&app, &person, &format!("/claims/{id}")).await;
    assert!(shown.contains("id=\"rejected-reason\">票据为复印件，请提供原件<"), "{shown}");
    assert!(shown.contains("id=\"claim-again\"") && shown.contains("行政复议"), "{shown}");
    // Claiming again starts from the same case's checklist.
    assert!(shown.contains(&format!("case={}", waiting[0].case.code())), "{shown}");
    // The reviewer (not a claimant) is not offered to claim again.
    let (_, staff) = page(&app, &reviewer, &format!("/claims/{id}")).await;
    assert!(staff.contains("id=\"rejected\"") && !staff.contains("id=\"claim-again\""));
    app.db.cleanup().await;
}

/// A delegate who logs in sees the scans of the claims of the person who authorised them,
/// and loses them when the authorisation is revoked; another insured person never does.
#[tokio::test]
async fn a_delegate_opens_the_papers_of_the_claims_they_may_see() {
    let db = TestDb::sqlite().await;
    let (app, person, _, pid) = start(db).await;
    // Two other insured persons of the demo with portal accounts: a delegate and a stranger.
    let others: Vec<yibao_store::Person> = {
        let mut v = Vec::new();
        for id in 2..10 {
            if id != pid {
                v.push(app.db.store.person(id).await.unwrap());
            }
        }
        v
    };
    let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
    for (username, p) in [("delegate1", &others[0]), ("stranger1", &others[1])] {
        let account = yibao_store::NewAccount {
            username: username.into(),
            display_name: p.name.to_string(),
            role: yibao_core::Role::Insured,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: yibao_core::Scope::default(),
            person_id: Some(p.id),
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        app.db.store.create_account(&mut w, &account).await.unwrap();
    }
    w.commit().await.unwrap();
    let grant = json!({ "delegate_id": others[0].resident_id.as_str(), "delegate_name": others[0].name.to_string() });
    let (s, given) = post(&app, &person, "/api/v1/my/delegations", &grant).await;
    assert_eq!(s, 201, "{given}");
    let (delegate, stranger) = (app.token("delegate1").await, app.token("stranger1").await);

    let claims = app.db.store.claims_of(pid).await.unwrap();
    let claim = app.db.store.claim(claims.last().unwrap().id).await.unwrap();
    let doc = format!("/documents/{}", claim.documents[0].document_id);
    assert_eq!(page(&app, &delegate, &format!("/claims/{}", claim.id)).await.0, 200);
    assert_eq!(page(&app, &delegate, &doc).await.0, 200, "the delegate opens the scan");
    assert_eq!(page(&app, &stranger, &doc).await.0, 404, "a stranger is told it does not exist");
    // A delegate does not say where the money goes; the person does.
    let scope = yibao_core::Scope::parse_list("620300").unwrap();
    let ready = app.db.store.payment_orders_in(&scope, &[yibao_core::payment::OrderState::Ready], 5).await.unwrap();
    let path = format!("/api/v1/claims/{}/payment/account", ready[0].claim_id.unwrap());
    let card = yibao_core::BankCardNumber::complete("622848001000000000").unwrap().to_string();
    let account = json!({ "bank_name": "中国农业银行金昌分行", "bank_card": card });
    let res = app.http.put(app.url(&path)).bearer_auth(&delegate).json(&account).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "delegate_account");
    let res = app.http.put(app.url(&path)).bearer_auth(&person).json(&account).send().await.unwrap();
    assert_eq!(res.status(), 200, "the person may");
    // The delegate sees where the money goes only masked; the person sees the whole number.
    let payment = format!("/api/v1/claims/{}/payment", ready[0].claim_id.unwrap());
    let (_, theirs) = get(&app, &delegate, &payment).await;
    let masked = yibao_core::BankCardNumber::complete("622848001000000000").unwrap().masked();
    assert_eq!(theirs["bank_card"], masked.as_str(), "{theirs}");
    let (_, own) = get(&app, &person, &payment).await;
    assert_eq!(own["bank_card"], card.as_str());
    // Finance sees the claim but not the person in full: no ID-card scan for it.
    let finance = app.token("finance").await;
    assert_eq!(page(&app, &finance, &format!("/claims/{}", claim.id)).await.0, 200, "finance sees the claim");
    assert_eq!(page(&app, &finance, &doc).await.0, 404, "finance does not open the person's papers");
    let did = given["id"].as_i64().unwrap();
    let (s, _) = post(&app, &person, &format!("/api/v1/my/delegations/{did}/revoke"), &json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(page(&app, &delegate, &doc).await.0, 404, "revoked: gone");
    app.db.cleanup().await;
}

/// The employer unit logs in and files a claim for its employee 张三 (serious illness on a
/// business trip) in the portal, naming him by ID number with the papers attached; the unit
/// and 张三 both see it; the unit cannot file for someone who is not its employee, and lists
/// only the claims it handed in.
#[tokio::test]
async fn the_employer_unit_files_a_claim_for_its_employee_in_the_portal() {
    use reqwest::multipart::{Form, Part};
    for db in TestDb::all().await {
        let label = db.label;
        let (app, person, _, pid) = start(db).await;
        let unit = app.token("unit").await;
        let (status, home) = page(&app, &unit, "/").await;
        assert!(status == 200 && home.contains("为本单位职工申报零星报销"), "{label}: the unit's home offers its job");
        let (status, body) = page(&app, &unit, "/unit/claims").await;
        assert!(status == 200 && body.contains("金川集团股份有限公司") && body.contains("id=\"no-claims\""), "{label}");
        let (status, form) = page(&app, &unit, "/claims/new?case=travel_illness").await;
        assert!(status == 200 && form.contains("职工身份证号"), "{label}: the form asks for the employee");

        let (_, checklist) =
            get(&app, &unit, "/api/v1/claim-checklist?region=620302&case=travel_illness&submitter=employer").await;
        let items = checklist["items"].as_array().unwrap().clone();
        assert!(!items.is_empty(), "{label}: {checklist}");
        let multipart = |resident_id: &str, invoice: &str| {
            let mut form = Form::new()
                .text("resident_id", resident_id.to_string())
                .text("case", "travel_illness")
                .text("med_type", "21")
                .text("institution_code", LANZHOU_HOSPITAL)
                .text("institution_name", "兰州大学第一医院")
                .text("treatment_region", "620102")
                .text("hosp_lv", "3")
                .text("care_start", "2026-11-10")
                .text("care_end", "2026-11-16")
                .text("diagnoses", "I21.9")
                .text("invoice_no_1", invoice.to_string())
                .text("invoice_date_1", "2026-11-16")
                .text("invoice_amount_1", "3160.00")
                .text("line_code_1", "001102000010000")
                .text("line_cnt_1", "4")
                .text("line_pric_1", "40.00")
                .text("line_date_1", "2026-11-16")
                .text("line_code_2", "003113000010000")
                .text("line_cnt_2", "1")
                .text("line_pric_2", "3000.00")
                .text("line_date_2", "2026-11-16");
            for (i, item) in items.iter().enumerate() {
                let n = i + 1;
                form = form.text(format!("doc_kind_{n}"), item["any_of"][0].as_str().unwrap().to_string()).part(
                    format!("doc_file_{n}"),
                    Part::bytes(DEMO_SCAN_PNG.to_vec()).file_name(format!("scan-{n}.png")),
                );
            }
            form
        };
        let res = app
            .http
            .post(app.url("/claims"))
            .bearer_auth(&unit)
            .multipart(multipart(yibao_demo::DEMO_INSURED_ID, "LZ-UNIT-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{label}: {}", res.text().await.unwrap());
        let to = res.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = to.trim_start_matches("/claims/").split('?').next().unwrap().parse().unwrap();
        let (_, c) = get(&app, &unit, &format!("/api/v1/claims/{id}")).await;
        assert_eq!(
            (c["submitter"].as_str(), c["channel"].as_str()),
            (Some("employer"), Some("online")),
            "{label}: {c}"
        );
        assert_eq!(c["documents"].as_array().unwrap().len(), items.len(), "{label}");
        // 张三 sees the claim made for him; the unit lists it, and opens its papers.
        assert_eq!(get(&app, &person, &format!("/api/v1/claims/{id}")).await.0, 200, "{label}");
        let (_, body) = page(&app, &unit, "/unit/claims").await;
        assert!(body.contains(c["number"].as_str().unwrap()), "{label}");
        let doc = c["documents"][0]["document_id"].as_i64().unwrap();
        assert_eq!(page(&app, &unit, &format!("/documents/{doc}")).await.0, 200, "{label}");
        // Someone who is not the unit's employee is refused.
        let q = yibao_store::PersonQuery {
            scope: Some(yibao_core::Scope::parse_list("620300").unwrap()),
            limit: 200,
            ..Default::default()
        };
        let zhang = app.db.store.person(pid).await.unwrap();
        let other = app
            .db
            .store
            .search_persons(&q)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|p| p.employer_id != zhang.employer_id)
            .unwrap();
        let res = app
            .http
            .post(app.url("/claims"))
            .bearer_auth(&unit)
            .multipart(multipart(other.resident_id.as_str(), "LZ-UNIT-2"))
            .send()
            .await
            .unwrap();
        // Not the unit's employee: said on the form exactly as for a number nobody has, so
        // that a unit learns nothing of who else is insured.
        assert_eq!(res.status(), 422, "{label}: not the unit's employee");
        let page = res.text().await.unwrap();
        let said = format!("没有找到身份证号为 {} 的本单位在保职工", other.resident_id.as_str());
        assert!(page.contains(&said), "{label}: {page}");
        app.db.cleanup().await;
    }
}

/// The portal's claim form names the hospital by name: the registry's code, region and grade
/// follow it; a hospital yibao does not know is refused with what to do, unless the person
/// says it is not registered and gives its code, region and grade. The suggestions answer as
/// one types.
#[tokio::test]
async fn the_claim_form_finds_the_hospital_by_name_and_asks_about_one_it_does_not_know() {
    let (app, person, _clerk, _pid) = start(TestDb::sqlite().await).await;
    let (status, found) = get(&app, &person, &format!("/institutions/suggest?q={}", "兰州大学")).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = found.as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"兰州大学第一医院") && names.contains(&"兰州大学第二医院"), "{names:?}");
    assert!(found[0]["about"].as_str().unwrap().contains("定点"), "{found}");

    // By its name alone.
    let res =
        portal_claim_at(&app, &person, false, &[("institution_name", "兰州大学第一医院"), ("hosp_lv", "1")]).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/claims/").split('?').next().unwrap();
    let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(
        (c["institution_code"].as_str(), c["treatment_region"].as_str(), c["hosp_lv"].as_str()),
        (Some(LANZHOU_HOSPITAL), Some("620102"), Some("3")),
        "the registry's, not what the select said: {c}"
    );

    // A name it does not know, and a made-up code: refused, saying what to do.
    let res = portal_claim_at(&app, &person, false, &[("institution_name", "北京某医院")]).await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(text.contains("医保没有登记名为“北京某医院”的医院") && text.contains("医院未在医保登记"), "{text}");
    let made_up =
        [("institution_name", "某诊所"), ("institution_code", "H11010599999"), ("treatment_region", "110105")];
    let res = portal_claim_at(&app, &person, false, &made_up).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("医保没有登记编码为 H11010599999 的医院"));
    // Updating the papers for the case (what changing the case does) keeps everything typed
    // and every file chosen, and submits nothing.
    let res =
        portal_claim_at(&app, &person, false, &[("institution_name", "兰州大学第一医院"), ("refresh", "1")]).await;
    assert_eq!(res.status(), 200);
    let form = res.text().await.unwrap();
    assert!(form.contains("value=\"LZ-PORTAL-1\"") && form.contains("value=\"J06.9\""), "typed values kept");
    assert!(form.contains("已上传 scan-1.png") && form.contains("已上传 明细.csv"), "files kept: {form}");
    assert!(!form.contains("form-errors"), "no errors: nothing was submitted");
    // The region is asked by name too (two 金川: the person's own province first); a name
    // several regions share lists them, beside the
    // field; a retired code is named and dated.
    let (status, found) = get(&app, &person, &format!("/regions/suggest?q={}", "金川")).await;
    assert_eq!(status, 200);
    assert_eq!(found[0]["name"], "甘肃省金昌市金川区", "{found}");
    assert_eq!(found[0]["code"], "620302", "{found}");
    let unregistered = [("institution_name", "某诊所"), ("institution_code", "H11010599999")];
    for (typed, said) in [("朝阳区", "北京市朝阳区（110105）"), ("110104", "已撤销的行政区划代码")]
    {
        let mut fields = unregistered.to_vec();
        fields.extend([("unknown_institution", "1"), ("hosp_lv", "1"), ("treatment_region", typed)]);
        let res = portal_claim_at(&app, &person, false, &fields).await;
        assert_eq!(res.status(), 422, "{typed}");
        let text = res.text().await.unwrap();
        assert!(text.contains(said), "{typed}: {text}");
    }
    // Said to be unregistered, with its details (the region by name): taken as given.
    let said =
        [&unregistered[..], &[("unknown_institution", "1"), ("hosp_lv", "1"), ("treatment_region", "北京市朝阳区")]]
            .concat();
    let res = portal_claim_at(&app, &person, false, &said).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/claims/").split('?').next().unwrap();
    let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(c["treatment_region"], "110105", "{c}");
    let (_, page) = get_text(&app, &person, &to).await;
    assert!(page.contains("北京市朝阳区"), "the claim names the region: {page}");
    // Its receipt (受理回执): the agency's head, the number and its QR code, the papers handed
    // in and the day it is decided by.
    let (status, receipt) = get_text(&app, &person, &format!("/claims/{id}/receipt")).await;
    assert_eq!(status, 200, "{receipt}");
    let number = c["number"].as_str().unwrap();
    for said in
        ["医疗费用零星报销受理回执", "医疗保障事务中心", number, "data:image/svg+xml;base64,", "某诊所（北京市朝阳区）"]
    {
        assert!(receipt.contains(said), "{said} in {receipt}");
    }
    assert!(receipt.contains(c["due_on"].as_str().unwrap()), "{receipt}");
    assert!(receipt.contains("scan-1.png"), "the papers handed in: {receipt}");
    app.db.cleanup().await;
}

/// Diagnoses and catalog items are found as people type — by name, code or pinyin initials —
/// and a diagnosis named in words is taken as its code; a name several fit is said with the
/// choices. Every error of the form comes at once, each beside its field, a bad file naming
/// the paper it was chosen for.
#[tokio::test]
async fn the_claim_form_finds_diagnoses_and_items_by_name_and_says_every_error_at_once() {
    let (app, person, _clerk, _pid) = start(TestDb::sqlite().await).await;
    let (status, found) = get(&app, &person, "/diagnoses/suggest?q=gxy").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = found.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"I10 原发性高血压"), "{names:?}");
    let (_, found) = get(&app, &person, "/catalog/suggest?q=dklahp").await;
    assert_eq!(found[0]["code"], "XA01ABD075A002010100483", "地喹氯铵含片 by its initials: {found}");
    assert!(found[0]["about"].as_str().unwrap().contains("地喹氯铵含片"), "{found}");

    // 「高血压」 fits two listed diagnoses; the hospital is unknown; the second paper is not a
    // picture: all three said at once, each beside its field.
    let wrong = [("institution_name", "北京某医院"), ("diagnoses", "高血压"), ("doc_file_2_bytes", "not a scan")];
    let res = portal_claim_at(&app, &person, false, &wrong).await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    let beside = |field: &str| {
        let at = page.find(&format!("id=\"err-{field}\"")).unwrap_or_else(|| panic!("no error beside {field}: {page}"));
        page[at..].split("</span>").next().unwrap().to_string()
    };
    assert!(beside("institution_name").contains("北京某医院"), "{page}");
    let diagnoses = beside("diagnoses");
    assert!(diagnoses.contains("原发性高血压（I10）") && diagnoses.contains("高血压性心脏病（I11.9）"), "{diagnoses}");
    let documents = beside("documents");
    assert!(documents.contains("scan-2.png") && documents.contains("只接受 PDF、JPEG 或 PNG"), "{documents}");
    assert!(!page.contains("id=\"err-care_start\""), "nothing said of a field that is right");

    // Named in words (and as a suggestion fills it in): taken as codes, each once.
    let named = [("institution_name", "兰州大学第一医院"), ("diagnoses", "I10 原发性高血压, 急性上呼吸道感染")];
    let res = portal_claim_at(&app, &person, false, &named).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/claims/").split('?').next().unwrap();
    let (_, c) = get(&app, &person, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(c["diagnoses"], json!(["I10", "J06.9"]), "{c}");
    let (_, page) = get_text(&app, &person, &to).await;
    assert!(page.contains("I10 原发性高血压；J06.9 急性上呼吸道感染"), "the claim names its diagnoses: {page}");
    app.db.cleanup().await;
}

/// A unit naming an employee by an ID number it does not insure is told so on the form,
/// beside the number, with what it typed kept (not a page saying "not found").
#[tokio::test]
async fn a_unit_naming_someone_it_does_not_insure_is_told_on_the_form() {
    let (app, _person, _clerk, _pid) = start(TestDb::sqlite().await).await;
    let unit = app.token("unit").await;
    let birth = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let stranger = yibao_core::ResidentId::from_parts("620302".parse().unwrap(), birth, 998).unwrap().to_string();
    let form = reqwest::multipart::Form::new()
        .text("resident_id", stranger.clone())
        .text("case", "offsite_inpatient")
        .text("med_type", "21")
        .text("institution_name", "兰州大学第一医院")
        .text("care_start", "2026-11-10")
        .text("care_end", "2026-11-15")
        .text("invoice_no_1", "LZ-UNIT-9");
    let res = app.http.post(app.url("/claims")).bearer_auth(&unit).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("没有找到身份证号为 {stranger} 的本单位在保职工")), "{page}");
    assert!(page.contains("value=\"LZ-UNIT-9\""), "what was typed is kept");
    app.db.cleanup().await;
}
