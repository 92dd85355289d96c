//! Supervision through the platform interface, on SQLite and (where reachable) PostgreSQL:
//! 3101/3102 send a visit's orders and get back what the region's rules find, with the lines
//! each finding concerns; nothing is stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::platform::{another_hospital, envelope, envelope_from, refusal, send, send_signed, sign_in, OTHER_SECRET};
use common::spawn_app;
use serde_json::{json, Value};
use yibao_store::testing::TestDb;

/// A visit of `patn_id` from `adm` to `dscg` with the blood count twice on one day and a
/// bed day.
fn analysis(patn_id: &str, adm: &str, dscg: &str, rule_ids: Value) -> Value {
    json!({ "data": { "rule_ids": rule_ids, "trig_scen": "4", "patient_dtos": [{
        "patn_id": patn_id, "patn_name": "张三", "gend": "1", "brdy": "1985-06-12", "poolarea": "620300",
        "curr_mdtrt_id": "M1", "fsi_encounter_dtos": [{
            "mdtrt_id": "M1", "medins_id": "H62030200001", "adm_date": format!("{adm} 10:00:00"),
            "dscg_date": dscg, "med_type": "21", "dscg_main_dise_codg": "K80.1",
            "fsi_diagnose_dtos": [{ "dise_codg": "K80.1", "maindise_flag": 1, "dias_srt_no": 1 }],
            "fsi_order_dtos": [
                { "rx_id": "6374", "hilist_code": "002201000010000", "cnt": 1, "pric": 25, "sumamt": 25,
                  "drord_begn_date": format!("{adm} 11:00:00") },
                { "rx_id": "6375", "hilist_code": "002201000010000", "cnt": 1, "pric": 25, "sumamt": 25,
                  "drord_begn_date": format!("{adm} 16:00:00") },
                { "rx_id": "6376", "hilist_code": "001102000010000", "cnt": 1, "pric": 40, "sumamt": 40,
                  "drord_begn_date": format!("{adm} 11:00:00") }
            ]
        }]
    }] } })
}

fn rules_of(out: &Value) -> Vec<String> {
    let mut v: Vec<String> = out["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result: {out}"))
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn the_hospital_asks_what_the_rules_find_before_it_settles() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let sign_no = sign_in(&app).await;
        let entries_before = app.db.store.audit_entries_after(0, 1_000_000).await.unwrap().len();
        let hits_before = app.db.number("SELECT COUNT(*) FROM supervision_hits").await;
        // 张三 (psn_no 1) in a Lanzhou hospital 26 to 20 days before the pinned day (the demo's
        // claim LZ-2026-0001): a stay here on those days overlaps it.
        let r = send(&app, &envelope("3101", &sign_no, analysis("1", "2026-10-30", "2026-11-01", json!([])))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        let out = &r["output"];
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(rules_of(out), ["JG-001", "JG-003"], "{l}: {out}");
        let repeat = out["result"].as_array().unwrap().iter().find(|x| x["rule_id"] == "JG-003").unwrap();
        assert_eq!(repeat["sev_deg"], "2", "{l}");
        let rx: Vec<&str> = repeat["judge_result_detail_dtos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["rx_id"].as_str().unwrap())
            .collect();
        assert_eq!(rx, ["6374", "6375"], "{l}: the two blood counts");
        assert_eq!(repeat["vola_amt"], json!("50"), "{l}: {repeat}");
        assert!(repeat["vola_cont"].as_str().unwrap().contains("002201000010000"), "{l}");
        assert!(repeat["vola_cont_en"].as_str().unwrap().contains("above 1 a day"), "{l}");
        let overlap = out["result"].as_array().unwrap().iter().find(|x| x["rule_id"] == "JG-001").unwrap();
        assert_eq!(overlap["sev_deg"], "3", "{l}");

        // 3102 the same; only the rules asked for; a person yibao does not know has no history.
        let r =
            send(&app, &envelope("3102", &sign_no, analysis("1", "2026-10-30", "2026-11-01", json!(["JG-003"])))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(rules_of(&r["output"]), ["JG-003"], "{l}: {r}");
        let r = send(&app, &envelope("3101", &sign_no, analysis("H-998877", "2026-10-30", "", json!([])))).await;
        assert_eq!(r["infcode"], 0, "{l}: {r}");
        assert_eq!(rules_of(&r["output"]), ["JG-003"], "{l}: {r}");
        // Back within 15 days with the same main diagnosis as the demo's stays: a split
        // admission? With another diagnosis and one blood count: nothing found.
        let r = send(&app, &envelope("3101", &sign_no, analysis("1", "2026-11-22", "", json!(["JG-002"])))).await;
        assert_eq!(rules_of(&r["output"]), ["JG-002"], "{l}: {r}");
        let mut clean = analysis("1", "2026-11-22", "", json!([]));
        let encounter = &mut clean["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0];
        encounter["fsi_order_dtos"].as_array_mut().unwrap().remove(1);
        encounter["fsi_diagnose_dtos"][0]["dise_codg"] = json!("J18.900");
        let r = send(&app, &envelope("3101", &sign_no, clean)).await;
        assert_eq!(r["output"]["result"], json!([]), "{l}: {r}");
        // Another hospital, whose patient 张三 is not, learns nothing of his stays or record
        // from his person number: no overlap, and the sex and birth date it sends are used.
        let other = another_hospital(&app, "H62030200002").await;
        let ask = |input: Value| {
            let body = envelope_from("H62030200002", "3101", &other, input);
            let app = &app;
            async move { send_signed(app, &body, OTHER_SECRET, yibao_core::platform::SignType::HmacSm3).await }
        };
        let r = ask(analysis("1", "2026-10-30", "2026-11-01", json!([]))).await;
        assert_eq!(rules_of(&r["output"]), ["JG-003"], "{l}: {r}");
        let mut as_a_woman = analysis("1", "2026-11-22", "", json!(["JG-004"]));
        as_a_woman["data"]["patient_dtos"][0]["gend"] = json!("2");
        as_a_woman["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]["hilist_code"] =
            json!("311201001");
        let r = ask(as_a_woman.clone()).await;
        assert_eq!(r["output"]["result"], json!([]), "{l}: the stored sex is not used: {r}");
        let r = send(&app, &envelope("3101", &sign_no, as_a_woman)).await;
        assert_eq!(rules_of(&r["output"]), ["JG-004"], "{l}: his own hospital checks his record: {r}");

        // Malformed: refused, saying what.
        let bad = json!({ "data": { "patient_dtos": [{ "patn_id": "1", "gend": "1", "brdy": "yesterday",
            "fsi_encounter_dtos": [] }] } });
        let r = send(&app, &envelope("3101", &sign_no, bad)).await;
        assert_eq!(refusal(&r), "bad_input", "{l}");

        // Nothing stored but the answers the interface keeps for every message.
        let entries = app.db.store.audit_entries_after(0, 1_000_000).await.unwrap();
        assert!(entries[entries_before..].iter().all(|e| !e.action.starts_with("supervision")), "{l}");
        assert_eq!(app.db.number("SELECT COUNT(*) FROM supervision_hits").await, hits_before, "{l}: no hit stored");
        app.db.cleanup().await;
    }
}

/// The demo's direct settlement carries what the rules found on it (the blood count twice on
/// one day): reviewers and auditors of the person's region read it and decide it over the API,
/// a deduction at most what the fund paid; the hospital and the person do not see it.
#[tokio::test]
async fn an_auditor_deducts_a_finding_on_a_direct_settlement() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let setl_id = "620302000000000001";
        let call = |method: reqwest::Method, token: String, path: String, body: Option<Value>| {
            let mut req = app.http.request(method, app.url(&path)).bearer_auth(token);
            if let Some(body) = body {
                req = req.json(&body);
            }
            async move {
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let get = |token: &String, path: String| call(reqwest::Method::GET, token.clone(), path, None);
        let (auditor, hospital, person) =
            (app.token("auditor").await, app.token("hospital").await, app.token("zhangsan").await);
        let (s, hits) = get(&auditor, format!("/api/v1/settlements/{setl_id}/hits")).await;
        assert_eq!(s, 200, "{l}: {hits}");
        let hit = hits.as_array().unwrap().iter().find(|h| h["rule_code"] == "JG-003").unwrap().clone();
        assert_eq!((hit["number"].as_str(), hit["claim_id"].is_null()), (Some(setl_id), true), "{l}: {hit}");
        for token in [&hospital, &person] {
            let (s, _) = get(token, format!("/api/v1/settlements/{setl_id}/hits")).await;
            assert_eq!(s, 403, "{l}");
            let (s, _) = get(token, format!("/api/v1/hits/{}", hit["id"])).await;
            assert_eq!(s, 403, "{l}");
        }
        let decide = |body: Value| {
            call(reqwest::Method::POST, auditor.clone(), format!("/api/v1/hits/{}/decision", hit["id"]), Some(body))
        };
        let (s, body) =
            decide(json!({ "clear": false, "reason": "拒付", "consequence": "deduct", "amount": "99999.00" })).await;
        let code = body["errors"][0]["code"].as_str().or(body["code"].as_str());
        assert_eq!((s, code), (422, Some("above_fund")), "{l}: {body}");
        let (s, body) = decide(
            json!({ "clear": false, "reason": "同日两次血常规，拒付一次", "consequence": "deduct", "amount": "25.00" }),
        )
        .await;
        assert_eq!(s, 200, "{l}: {body}");
        assert_eq!(
            (body["state"].as_str(), body["consequence"].as_str(), body["amount"].as_str()),
            (Some("confirmed"), Some("deduct"), Some("25.00")),
            "{l}"
        );
        let (s, hit) = get(&auditor, format!("/api/v1/hits/{}", hit["id"])).await;
        assert_eq!((s, hit["state"].as_str()), (200, Some("confirmed")), "{l}");
        app.db.cleanup().await;
    }
}

/// A settlement's page shows reviewers and auditors what the rules found; the person and the
/// hospital read the same list without it.
#[tokio::test]
async fn the_settlement_page_shows_its_findings_to_the_agency_only() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let page = |user: &'static str| {
        let app = &app;
        async move {
            let (http, _) = common::portal_session(app, user, "/").await;
            http.get(app.url("/settlements/620302000000000001")).send().await.unwrap().text().await.unwrap()
        }
    };
    let auditor = page("auditor").await;
    assert!(auditor.contains("id=\"hits\"") && auditor.contains("JG-003"), "the auditor sees the finding");
    for user in ["zhangsan", "hospital"] {
        let other = page(user).await;
        assert!(other.contains("id=\"settlement-list\"") && !other.contains("JG-003"), "{user}");
    }
    app.db.cleanup().await;
}
