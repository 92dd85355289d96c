//! The agency's audit over HTTP, on SQLite and (where reachable) PostgreSQL: the comparison
//! of a pre-evaluated stay's claim, an on-site audit's photos (the auditors' of the person's
//! region alone, not even the person's), and who may send and conclude tasks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::spawn_app;
use serde_json::{json, Value};
use yibao_store::testing::TestDb;

async fn call(
    app: &common::App,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_pre_evaluated_stay_is_compared_and_an_on_site_audit_keeps_its_photos_to_auditors() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (reviewer, auditor, clerk, person) = (
            app.token("reviewer").await,
            app.token("auditor").await,
            app.token("clerk").await,
            app.token("zhangsan").await,
        );

        // The referred person's claim differs from the pre-evaluation: another diagnosis, no
        // stent, six days instead of eight, far less money.
        let id = app
            .db
            .number("SELECT c.id FROM claims c JOIN claim_invoices i ON i.claim_id = c.id WHERE i.invoice_no = 'LZ-2026-0415'")
            .await;
        let (s, body) =
            call(&app, reqwest::Method::GET, &reviewer, &format!("/api/v1/claims/{id}/comparison"), None).await;
        assert_eq!(s, 200, "{l}: {body}");
        let whats: Vec<&str> =
            body["differences"].as_array().unwrap().iter().map(|d| d["what"].as_str().unwrap()).collect();
        assert_eq!(whats, ["diagnosis", "surgery", "days", "amount"], "{l}: {body}");
        assert_eq!(body["pre_evaluation"]["record"]["diagnosis_code"], "I25.1", "{l}");
        let (s, none) = call(&app, reqwest::Method::GET, &reviewer, "/api/v1/claims/1/comparison", None).await;
        assert_eq!((s, none), (200, Value::Null), "{l}: a claim without a pre-evaluation");

        // A direct settlement of a stay under the same filing, settled by 兰州's system: its
        // comparison (the same diagnosis, an operation, one day), for reviewers and auditors only.
        let referred = app.db.number("SELECT person_id FROM pre_evaluations WHERE filing_id = 2").await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let lines =
            [("1", "001102000010000", "1", "40.00", "40.00"), ("2", "003113000010000", "1", "3000.00", "3000.00")];
        let diagnosis = ("I25.1", "动脉硬化性心脏病");
        let stay = yibao_store::testing::discharged_stay(
            &app.db.store,
            referred,
            "H62010200001",
            day,
            "ZY-W-1",
            diagnosis,
            &lines,
        )
        .await;
        let at = day.succ_opt().unwrap().and_hms_opt(11, 0, 0).unwrap();
        let settled = yibao_store::testing::settle_stay(&app.db.store, "H62010200001", &stay, at).await.unwrap();
        let path = format!("/api/v1/settlements/{}/comparison", settled.setl_id);
        let (s, body) = call(&app, reqwest::Method::GET, &auditor, &path, None).await;
        assert_eq!(s, 200, "{l}: {body}");
        let whats: Vec<&str> =
            body["differences"].as_array().unwrap().iter().map(|d| d["what"].as_str().unwrap()).collect();
        assert_eq!(whats, ["days", "amount"], "{l}: {body}: the operation planned was charged");
        for token in [&clerk, &person] {
            assert_eq!(call(&app, reqwest::Method::GET, token, &path, None).await.0, 403, "{l}");
        }

        // The on-site audit's photos: auditors of the region only — not the clerk, not the
        // person whose stay it is.
        let (s, task) = call(&app, reqwest::Method::GET, &auditor, "/api/v1/audit-tasks/1", None).await;
        assert_eq!(s, 200, "{l}: {task}");
        let photo = task["photos"][0]["document_id"].as_i64().unwrap();
        for (token, status) in [(&auditor, 200), (&clerk, 404), (&person, 404)] {
            let res = app
                .http
                .get(app.url(&format!("/api/v1/documents/{photo}/content")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status().as_u16(), status, "{l}");
        }
        for token in [&clerk, &person, &reviewer] {
            assert_eq!(call(&app, reqwest::Method::GET, token, "/api/v1/audit-tasks/1", None).await.0, 403, "{l}");
        }

        // A photo over the API (multipart), then the conclusion.
        let form = reqwest::multipart::Form::new()
            .text("taken_at", "2026-11-23T09:40")
            .text("caption", "护士站交班记录")
            .part("file", reqwest::multipart::Part::bytes(yibao_demo::DEMO_SCAN_PNG.to_vec()).file_name("交班.png"));
        let res = app
            .http
            .post(app.url("/api/v1/audit-tasks/1/photos"))
            .bearer_auth(&auditor)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201, "{l}: {}", res.text().await.unwrap());
        let conclusion = json!({ "version": task["version"], "visited_on": "2026-11-23", "findings": "患者在床，输液中，与诊断相符",
            "conclusion": "confirmed" });
        let (s, done) =
            call(&app, reqwest::Method::POST, &auditor, "/api/v1/audit-tasks/1/conclusion", Some(conclusion)).await;
        assert_eq!(
            (s, done["state"].as_str(), done["photos"].as_array().map(Vec::len)),
            (200, Some("done"), Some(3)),
            "{l}: {done}"
        );
        let (_, open) = call(&app, reqwest::Method::GET, &auditor, "/api/v1/audit-tasks", None).await;
        assert!(open.as_array().unwrap().iter().all(|t| t["id"] != 1), "{l}: concluded tasks leave the open list");
        app.db.cleanup().await;
    }
}

/// The person sees on 「我的待遇」 what a pre-evaluation asks of them: to come in first, then,
/// once recorded, the photos and the re-check after discharge.
#[tokio::test]
async fn the_person_sees_what_the_pre_evaluation_asks() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let clerk = app.token("clerk").await;
        let s = &app.db.store;
        // 张三 applies for a transfer to 兰州; the clerk asks him to come in first.
        let input = yibao_core::filing::FilingApplication {
            kind: yibao_core::cover::FilingType::TemporaryOther,
            destination: Some("620100".parse().unwrap()),
            institution: Some("H62010200001".into()),
            start: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            documents: Vec::new(),
            delegate_id: None,
        };
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let f = s.apply_filing(&mut w, 1, &input, yibao_core::filing::Channel::Online, None, today).await.unwrap();
        w.commit().await.unwrap();
        let path = format!("/api/v1/filings/{}/pre-evaluation", f.id);
        let (st, body) =
            call(&app, reqwest::Method::POST, &clerk, &path, Some(json!({"note": "请携带病历资料到市医保局预评估"})))
                .await;
        assert_eq!(st, 201, "{l}: {body}");
        let (http, _) = common::portal_session(&app, "zhangsan", "/my/cover").await;
        let page = http.get(app.url("/my/cover")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("请先到医保经办机构预评估：请携带病历资料到市医保局预评估"), "{l}");
        // Recorded: the photos and the re-check.
        let mut record = serde_json::to_value(yibao_demo::demo_pre_evaluation()).unwrap();
        record["version"] = body["version"].clone();
        let (st, body) = call(&app, reqwest::Method::PUT, &clerk, &path, Some(record)).await;
        assert_eq!(st, 200, "{l}: {body}");
        let page = http.get(app.url("/my/cover")).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("出院后须提交手术部位及全身照片") && page.contains("出院后 30 天内回医保经办机构复查"),
            "{l}"
        );
        app.db.cleanup().await;
    }
}
