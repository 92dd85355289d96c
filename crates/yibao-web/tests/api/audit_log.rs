//! The audit log searched by action, actor, entity and days, a page at a time with nothing
//! skipped or repeated, each entry whole, and downloaded as CSV with formulas neutralised.

use super::*;

#[tokio::test]
async fn the_audit_log_is_searched_paged_opened_and_downloaded() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let auditor = app.token("auditor").await;
        let get = |path: String| {
            let req = app.http.get(app.url(&path)).bearer_auth(&auditor);
            async move {
                let res = req.send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        // A file name a spreadsheet would run as a formula.
        let policy = app.token("policy").await;
        let res = app
            .http
            .post(app.url("/api/v1/diagnoses?file_name=%3D1%2B1.csv"))
            .bearer_auth(&policy)
            .body("诊断编码,诊断名称\nJ45.900,哮喘\n")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{l}");

        // By action kind: every entry found is of that kind.
        let (s, found) = get("/api/v1/audit?action=account.&limit=1000".into()).await;
        assert_eq!(s, StatusCode::OK, "{l}: {found}");
        let found = found.as_array().unwrap().clone();
        assert!(!found.is_empty(), "{l}");
        assert!(found.iter().all(|e| e["action"].as_str().unwrap().starts_with("account.")), "{l}");
        // An exact action, an actor, an entity and its id.
        let (_, exact) = get("/api/v1/audit?action=account.create&limit=1000".into()).await;
        assert!(exact.as_array().unwrap().iter().all(|e| e["action"] == "account.create"), "{l}");
        let (_, by) = get("/api/v1/audit?actor=policy&limit=1000".into()).await;
        let by = by.as_array().unwrap();
        assert!(!by.is_empty() && by.iter().all(|e| e["actor"].as_str().unwrap().contains("policy")), "{l}");
        let (_, one) = get("/api/v1/audit?entity=diagnoses&entity_id=%3D1%2B1.csv".into()).await;
        assert_eq!(one.as_array().unwrap().len(), 1, "{l}: {one}");
        // A `%` or `_` typed is taken literally, not as a wildcard.
        let (_, none) = get("/api/v1/audit?actor=%25&limit=5".into()).await;
        assert!(none.as_array().unwrap().is_empty(), "{l}: {none}");

        // Days in China time: today holds everything seeded; a day long ago holds nothing.
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        let (_, all) = get("/api/v1/audit?action=account.&limit=1000".into()).await;
        let (_, todays) = get(format!("/api/v1/audit?action=account.&from={today}&to={today}&limit=1000")).await;
        assert_eq!(todays.as_array().unwrap().len(), all.as_array().unwrap().len(), "{l}");
        let (_, old) = get("/api/v1/audit?from=2001-01-01&to=2001-01-31".into()).await;
        assert!(old.as_array().unwrap().is_empty(), "{l}");

        // Pages of seven, newest first, until the search ends: every entry it finds, once.
        let mut seen: Vec<i64> = Vec::new();
        let mut before: Option<i64> = None;
        loop {
            let path = match before {
                Some(b) => format!("/api/v1/audit?action=account.&limit=7&before={b}"),
                None => "/api/v1/audit?action=account.&limit=7".to_string(),
            };
            let (_, page) = get(path).await;
            let page: Vec<i64> = page.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
            if page.is_empty() {
                break;
            }
            assert!(page.windows(2).all(|w| w[0] > w[1]), "{l}: newest first");
            before = page.last().copied();
            seen.extend(page);
        }
        let whole: Vec<i64> = {
            let (_, v) = get("/api/v1/audit?action=account.&limit=1000".into()).await;
            v.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect()
        };
        assert!(whole.len() > 14 && whole.len() < 1000, "{l}: several pages, one call: {}", whole.len());
        assert_eq!(seen, whole, "{l}: nothing skipped, nothing twice");

        // One entry whole, with what it changed.
        let disable = app.db.store.account_by_username("clerk_left").await.unwrap().unwrap().id;
        let (_, d) = get(format!("/api/v1/audit?action=account.disable&entity=account&entity_id={disable}")).await;
        let seq = d[0]["seq"].as_i64().unwrap();
        let (s, e) = get(format!("/api/v1/audit/{seq}")).await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert!(e["before"].as_str().unwrap().contains("\"disabled\":false"), "{l}: {e}");
        let changed: Vec<&str> = e["changes"].as_array().unwrap().iter().filter_map(|c| c["field"].as_str()).collect();
        assert_eq!(changed, ["disabled"], "{l}: {e}");
        // The clerk may not read the log.
        let clerk = app.token("clerk").await;
        let res = app.http.get(app.url("/api/v1/audit")).bearer_auth(&clerk).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{l}");
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn the_audit_page_opens_an_entry_and_downloads_safe_csv() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let policy = app.token("policy").await;
    let res = app
        .http
        .post(app.url("/api/v1/diagnoses?file_name=%3DHYPERLINK(1).csv"))
        .bearer_auth(&policy)
        .body("诊断编码,诊断名称\nJ45.900,哮喘\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (http, _) = portal_session(&app, "auditor", "/audit").await;
    let page = http.get(app.url("/audit?action=account.")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"audit-log\"") && page.contains("停用账号"), "{page}");
    assert!(page.contains("href=\"/audit.csv?action=account.\""), "the download keeps the search");
    let first = page.split("data-seq=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let entry = http.get(app.url(&format!("/audit/{first}"))).send().await.unwrap().text().await.unwrap();
    assert!(entry.contains("id=\"audit-before\"") && entry.contains("id=\"audit-after\""), "{entry}");
    let page = http.get(app.url("/audit")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"audit-older\""), "more than a page in the demo's log");

    let res = http.get(app.url("/audit.csv?entity=diagnoses")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("audit-"));
    let csv = res.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].trim_start_matches('\u{feff}').starts_with("序号,"), "{csv}");
    assert!(csv.contains(",'=HYPERLINK(1).csv,"), "the formula is text: {csv}");
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");
    app.db.cleanup().await;
}
