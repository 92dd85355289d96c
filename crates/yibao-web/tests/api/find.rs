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
