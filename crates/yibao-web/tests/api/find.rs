//! The staff's search box: a name, an ID number, a claim number, an invoice number, a
//! `setl_id`, an institution — each found in the caller's regions and nowhere else, only of
//! the kinds the caller may read.

use super::*;
use yibao_core::Fen;

#[tokio::test]
async fn the_search_box_finds_within_the_callers_regions_only() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let store = app.db.store.clone();
        // A namesake in Beijing, and a Beijing reviewer.
        let mut w = store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let beijing: yibao_core::AdminCode = "110105".parse().unwrap();
        let birth = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
        let input = yibao_store::PersonInput {
            resident_id: yibao_core::ResidentId::from_parts(beijing, birth, 11).unwrap(),
            name: "张三丰".parse().unwrap(),
            enrolment: yibao_core::registry::Enrolment::Resident,
            category: yibao_core::registry::PersonCategory::ResidentAdult,
            insured_region: beijing,
            hukou_region: beijing,
            employer_id: None,
            bank_name: None,
            bank_card: None,
            phone: None,
            status: yibao_core::registry::PersonStatus::Active,
            status_from: birth,
        };
        let namesake = store.create_person(&mut w, &input).await.unwrap();
        let reviewer = yibao_store::NewAccount {
            username: "reviewer_bj".into(),
            display_name: "审核 北京".into(),
            role: yibao_core::Role::Reviewer,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: yibao_core::Scope::parse_list("110000").unwrap(),
            person_id: None,
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        store.create_account(&mut w, &reviewer).await.unwrap();
        w.commit().await.unwrap();

        let find = |token: String, q: &str| {
            let req = app.http.get(app.url("/api/v1/search")).query(&[("q", q)]).bearer_auth(token);
            async move {
                let res = req.send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let kinds = |v: &Value, kind: &str| -> Vec<Value> {
            v.as_array().unwrap().iter().filter(|f| f["kind"] == kind).cloned().collect()
        };
        let clerk = app.token("clerk").await;
        let (s, found) = find(clerk.clone(), "张三").await;
        assert_eq!(s, StatusCode::OK, "{l}: {found}");
        let persons = kinds(&found, "person");
        assert!(persons.iter().any(|p| p["key"] == yibao_demo::DEMO_INSURED_ID), "{l}: {found}");
        assert!(persons.iter().all(|p| p["id"] != namesake.id), "{l}: not Beijing's 张三丰");
        let (_, found) = find(app.token("reviewer_bj").await, "张三").await;
        let persons = kinds(&found, "person");
        assert_eq!(persons.len(), 1, "{l}: {found}");
        assert_eq!(persons[0]["id"], namesake.id, "{l}");
        let (_, nothing) = find(app.token("reviewer_bj").await, "LX").await;
        assert!(kinds(&nothing, "claim").is_empty(), "{l}: no 金昌 claim for Beijing: {nothing}");

        // A claim by its number's start and by an invoice it was made with.
        let q = yibao_store::PersonQuery { text: Some("张三".into()), limit: 5, ..Default::default() };
        let zhang = store.search_persons(&q).await.unwrap();
        let zhang_id = zhang.items.iter().find(|p| p.name.to_string() == "张三").unwrap().id;
        let mut with_invoice = None;
        for c in store.claims_of(zhang_id).await.unwrap() {
            let whole = store.claim(c.id).await.unwrap();
            if !whole.invoices.is_empty() && !whole.number.is_empty() {
                with_invoice = Some(whole);
                break;
            }
        }
        let with_invoice = with_invoice.expect("a demo claim with an invoice");
        let reviewer = app.token("reviewer").await;
        let prefix: String = with_invoice.number.chars().take(with_invoice.number.chars().count() - 1).collect();
        let (_, found) = find(reviewer.clone(), &prefix).await;
        assert!(kinds(&found, "claim").iter().any(|c| c["id"] == with_invoice.id), "{l}: {prefix} {found}");
        let (_, found) = find(reviewer.clone(), &with_invoice.invoices[0].invoice_no).await;
        assert_eq!(kinds(&found, "claim")[0]["id"], with_invoice.id, "{l}: {found}");
        // A direct settlement by its setl_id.
        let settled = store.person_settlements(zhang_id).await.unwrap();
        let setl_id = settled[0].setl_id.clone();
        let (_, found) = find(clerk.clone(), &setl_id).await;
        assert_eq!(kinds(&found, "settlement")[0]["key"], setl_id.as_str(), "{l}: {found}");
        // An institution of the region by name; one of Lanzhou is not the clerk's.
        let (_, found) = find(clerk.clone(), "金昌市中心").await;
        assert_eq!(kinds(&found, "institution")[0]["key"], "H62030200001", "{l}: {found}");
        let (_, found) = find(clerk.clone(), "兰州大学").await;
        assert!(kinds(&found, "institution").is_empty(), "{l}: {found}");
        // The clerk may not read payment batches; finance finds them.
        let (_, found) = find(clerk.clone(), "PB").await;
        assert!(kinds(&found, "batch").is_empty(), "{l}");
        // One character finds nothing; the insured person has no search at all.
        let (_, found) = find(clerk.clone(), "张").await;
        assert_eq!(found, json!([]), "{l}");
        let (s, _) = find(app.token("zhangsan").await, "张三").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{l}");

        // In the portal: one thing found opens it; more are listed by kind.
        let (http, _) = portal_session(&app, "clerk", "/").await;
        let res = http.get(app.url("/search")).query(&[("q", yibao_demo::DEMO_INSURED_ID)]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{l}");
        assert_eq!(res.headers()["location"], format!("/persons/{zhang_id}").as_str(), "{l}");
        let page = http.get(app.url("/search")).query(&[("q", "金昌")]).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-kind=\"institution\"") && page.contains("金昌市中心医院"), "{l}: {page}");
        assert!(page.contains("id=\"top-search\""), "{l}: the box is in the header");
        app.db.cleanup().await;
    }
}

/// The staff's claim list in the portal: tabs with counts, filters kept, a bad amount said
/// beside its field, how long each open claim has waited and how it stands against the
/// 15 working-day promise; over the API, a page at a time with the next cursor in a header.
#[tokio::test]
async fn the_claim_list_has_tabs_filters_ageing_and_pages() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (http, _) = portal_session(&app, "reviewer", "/claims").await;
    let page = http.get(app.url("/claims?state=all")).send().await.unwrap().text().await.unwrap();
    let count = |page: &str, state: &str| -> i64 {
        let at = page.find(&format!("data-state=\"{state}\"")).unwrap_or_else(|| panic!("{state}: {page}"));
        let tail = &page[at..];
        let c = tail.split("class=\"count\">").nth(1).unwrap().split('<').next().unwrap();
        c.parse().unwrap()
    };
    let all = count(&page, "all");
    let parts: i64 = yibao_core::sporadic::ClaimState::ALL.iter().map(|s| count(&page, s.code())).sum();
    assert!(all > 0 && all == parts, "{all} = {parts}");
    assert_eq!(page.matches("<tr data-id=").count() as i64, all.min(50));
    // An open claim shows its waiting days and the promise.
    let page = http.get(app.url("/claims?state=adjudicated")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("data-promise=\"kept\"")
            || page.contains("data-promise=\"at_risk\"")
            || page.contains("data-promise=\"broken\""),
        "{page}"
    );
    assert!(page.contains(" 天</td>"), "{page}");
    // A filter that finds nothing, and one typed wrong.
    let page = http.get(app.url("/claims?state=all&min=99999999")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"no-claims\"") && page.contains("value=\"99999999\""), "kept: {page}");
    let res = http.get(app.url("/claims?state=all&min=abc")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"err-min\""));

    let reviewer = app.token("reviewer").await;
    let res = app
        .http
        .get(app.url("/api/v1/claims?state=all&limit=3&sort=amount"))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    let next = res.headers()["x-next-after"].to_str().unwrap().to_string();
    let first: Value = res.json().await.unwrap();
    assert_eq!(first.as_array().unwrap().len(), 3);
    let res = app
        .http
        .get(app.url("/api/v1/claims"))
        .query(&[("state", "all"), ("limit", "3"), ("sort", "amount"), ("after", next.as_str())])
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    let second: Value = res.json().await.unwrap();
    let amount = |v: &Value| {
        v["medfee_sumamt"]
            .as_str()
            .map(|s| s.parse::<Fen>().unwrap())
            .or_else(|| v["medfee_sumamt"].as_i64().map(yibao_core::Fen::from_fen))
            .unwrap()
    };
    assert!(amount(&first[2]) >= amount(&second[0]), "sorted across pages");
    assert!(first.as_array().unwrap().iter().all(|c| second.as_array().unwrap().iter().all(|d| d["id"] != c["id"])));
    app.db.cleanup().await;
}

/// The lead reviewer (复核) gives a claim waiting for review to a reviewer and moves it to
/// another; the reviewer finds it under 「我审核中的」; the workload counts it; nobody else
/// may assign, and nobody outside the claim's region may receive it.
#[tokio::test]
async fn a_lead_reviewer_assigns_claims_and_sees_the_workload() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (lead, reviewer) = (app.token("reviewer2").await, app.token("reviewer").await);
        let get = |token: String, path: String| {
            let req = app.http.get(app.url(&path)).bearer_auth(token);
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let assign = |token: String, id: i64, to: &'static str| {
            let req = app.http.post(app.url(&format!("/api/v1/claims/{id}/assign"))).bearer_auth(token);
            async move {
                let res = req.json(&json!({ "reviewer": to })).send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let waiting = get(lead.clone(), "/api/v1/claims?state=adjudicated".into()).await;
        let id = waiting[0]["id"].as_i64().expect("a claim waiting for review");
        let load = |v: &Value, who: &str| {
            v.as_array().unwrap().iter().find(|w| w["username"] == who).map_or(-1, |w| w["in_review"].as_i64().unwrap())
        };
        let before = get(lead.clone(), "/api/v1/claims/workload".into()).await;

        // Only the lead assigns; only to an active reviewer of the region.
        let (s, _) = assign(reviewer.clone(), id, "reviewer").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{l}");
        let (s, p) = assign(lead.clone(), id, "clerk").await;
        assert_eq!((s, p["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reviewer")), "{l}");
        let (s, c) = assign(lead.clone(), id, "reviewer").await;
        assert_eq!((s, c["state"].as_str()), (StatusCode::OK, Some("in_review")), "{l}: {c}");
        let (s, _) = assign(lead.clone(), id, "reviewer").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{l}: with them already");
        let after = get(lead.clone(), "/api/v1/claims/workload".into()).await;
        assert_eq!(load(&after, "reviewer"), load(&before, "reviewer") + 1, "{l}: {after}");
        // The reviewer's own list holds it; the lead moves it on to himself.
        let mine = get(reviewer.clone(), "/api/v1/claims?state=in_review&reviewer=reviewer".into()).await;
        assert!(mine.as_array().unwrap().iter().any(|c| c["id"] == id), "{l}: {mine}");
        let (s, c) = assign(lead.clone(), id, "reviewer2").await;
        assert_eq!(s, StatusCode::OK, "{l}: {c}");
        let mine = get(reviewer.clone(), "/api/v1/claims?state=in_review&reviewer=reviewer".into()).await;
        assert!(mine.as_array().unwrap().iter().all(|c| c["id"] != id), "{l}: moved away");
        // The reviewer it left may no longer decide it.
        let res = app
            .http
            .post(app.url(&format!("/api/v1/claims/{id}/steps")))
            .bearer_auth(&reviewer)
            .json(&json!({ "action": "decide", "approve": true, "note": "" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        // The claim's history and the audit log name the step.
        let claim = get(lead.clone(), format!("/api/v1/claims/{id}")).await;
        let steps: Vec<&str> =
            claim["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(steps.contains(&"assign") && steps.contains(&"reassign"), "{l}: {steps:?}");
        app.db.cleanup().await;
    }
}

/// In the portal the lead reads the workload (each count linked to its claims) and gives a
/// claim from its page; a reviewer has the links to their own and the unassigned claims.
#[tokio::test]
async fn the_lead_assigns_from_the_claims_page() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (lead, csrf) = portal_session(&app, "reviewer2", "/claims").await;
    let list = lead.get(app.url("/claims?state=adjudicated")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("id=\"workload-table\"") && list.contains("审核 李明"), "{list}");
    assert!(list.contains("href=\"/claims?state=in_review&#38;reviewer=reviewer\""), "drills down: {list}");
    let id: i64 = list.split("<tr data-id=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let page = lead.get(app.url(&format!("/claims/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"assign-form\"") && page.contains("<option value=\"reviewer\""), "{page}");
    let res = lead
        .post(app.url(&format!("/claims/{id}/assign")))
        .form(&[("csrf", csrf.as_str()), ("reviewer", "reviewer")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (reviewer, _) = portal_session(&app, "reviewer", "/claims").await;
    let list = reviewer.get(app.url("/claims")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("id=\"claims-mine\"") && !list.contains("id=\"workload-table\""), "{list}");
    let mine =
        reviewer.get(app.url("/claims?state=in_review&reviewer=reviewer")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains(&format!("<tr data-id=\"{id}\"")), "{mine}");
    app.db.cleanup().await;
}

/// Each member of staff's home page says what waits for them, counted as the lists count it,
/// each queue linked to its list; an insured person has none of it.
#[tokio::test]
async fn the_home_page_says_what_waits_for_each_role() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let count_of = |page: &str, queue: &str| -> Option<i64> {
        let at = page.find(&format!("data-queue=\"{queue}\""))?;
        let c = page[at..].split("data-count=\"").nth(1)?.split('"').next()?;
        c.parse().ok()
    };
    let shared = &app;
    let api_count = |user: &'static str, state: &'static str| async move {
        let app = shared;
        let token = app.token(user).await;
        let res =
            app.http.get(app.url(&format!("/api/v1/claims?state={state}"))).bearer_auth(token).send().await.unwrap();
        res.json::<Value>().await.unwrap().as_array().unwrap().len() as i64
    };
    for (user, queue, state) in [
        ("clerk", "work.intake", "submitted"),
        ("reviewer", "work.unassigned", "adjudicated"),
        ("reviewer2", "work.second", "second_review"),
    ] {
        let (http, _) = portal_session(&app, user, "/").await;
        let page = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert_eq!(count_of(&page, queue), Some(api_count(user, state).await), "{user}: {page}");
        assert!(page.contains(&format!("href=\"/claims?state={state}\"")), "{user}");
    }
    // The demo's promotion of clerk2 waits for admin2, not for the admin who proposed it.
    let (http, _) = portal_session(&app, "admin2", "/").await;
    let page = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(count_of(&page, "work.accounts"), Some(1), "{page}");
    let (http, _) = portal_session(&app, "admin", "/").await;
    let page = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(count_of(&page, "work.accounts"), Some(0), "{page}");
    let (http, _) = portal_session(&app, "auditor", "/").await;
    let page = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(count_of(&page, "work.hits").is_some_and(|n| n > 0), "{page}");
    assert!(count_of(&page, "work.orders").is_some(), "{page}");
    let (http, _) = portal_session(&app, "zhangsan", "/").await;
    let page = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"waiting\""), "{page}");
    app.db.cleanup().await;
}
