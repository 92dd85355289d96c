//! Cover over HTTP: the calendar, off-site filings, cards, referrals and the hospital's desk.

use super::*;

#[tokio::test]
async fn the_calendar_answers_due_dates_and_refuses_unpublished_years() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let token = app.token("reviewer").await;
    let get = |q: &'static str| app.http.get(app.url(&format!("/api/v1/calendar{q}"))).bearer_auth(&token).send();
    let ok: Value = get("?from=2026-09-24&days=15").await.unwrap().json().await.unwrap();
    assert_eq!(ok["due"], "2026-10-22", "15 working days across Mid-Autumn and National Day");
    assert_eq!(ok["years"].as_array().unwrap().len(), 7);
    let res = get("?from=2026-12-20&days=30").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["errors"][0]["zh"].as_str().unwrap().contains("2027 年的节假日安排尚未录入"), "{problem}");
    app.db.cleanup().await;
}

#[tokio::test]
async fn a_referral_filing_and_a_lost_card_decide_the_cover_over_http() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (clerk, zhang) = (app.token("clerk").await, app.token("zhangsan").await);
        let hospital =
            |m: Method, path: &str| app.http.request(m, app.url(path)).header("x-api-key", yibao_demo::DEMO_API_KEY);
        let as_ = |m: Method, path: &str, token: &str| app.http.request(m, app.url(path)).bearer_auth(token);
        let json_of = |res: reqwest::Response| async move {
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        };

        // The hospital issues a referral to Lanzhou; filing with it before the window's
        // seal is refused, naming the missing seal in both languages.
        let body = json!({ "resident_id": "620302198506120036", "diagnosis": "冠心病", "destination": "620100",
            "valid_from": "2026-11-23", "valid_to": "2027-02-20", "hospital_seal_by": "医务科 周立" });
        let (status, referral) =
            json_of(hospital(Method::POST, "/api/v1/referrals").json(&body).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {referral}");
        let number = referral["number"].as_str().unwrap().to_string();
        let filing = json!({ "kind": "referral", "destination": "620100", "start": "2026-11-24",
            "documents": [{ "kind": "referral_certificate", "reference": number }] });
        let (status, problem) =
            json_of(as_(Method::POST, "/api/v1/persons/1/filings", &zhang).json(&filing).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{l}: {problem}");
        assert_eq!(problem["errors"][0]["code"], "referral_unsealed");
        assert!(problem["errors"][0]["en"].as_str().unwrap().contains("seal"));
        let seal =
            hospital(Method::POST, &format!("/api/v1/referrals/{number}/seal")).json(&json!({ "by": "医保办 吴敏" }));
        assert_eq!(seal.send().await.unwrap().status(), StatusCode::OK);

        // Filed online, pending: Lanzhou is not covered yet; approved by the clerk: it is.
        let (status, f) =
            json_of(as_(Method::POST, "/api/v1/persons/1/filings", &zhang).json(&filing).send().await.unwrap()).await;
        assert_eq!(
            (status, f["status"].as_str(), f["channel"].as_str()),
            (StatusCode::CREATED, Some("applied"), Some("online")),
            "{l}: {f}"
        );
        let cover_at = |token: &str, inst: &str| {
            as_(Method::GET, &format!("/api/v1/cover?person_id=1&date=2026-11-25&institution={inst}"), token).send()
        };
        let (_, c) = json_of(cover_at(&zhang, "H62010200001").await.unwrap()).await;
        assert_eq!(c["cover"]["code"], "not_filed", "{l}: {c}");
        let decision = json!({ "version": f["version"], "decision": "approve" });
        let path = format!("/api/v1/filings/{}/decision", f["id"]);
        assert_eq!(
            as_(Method::POST, &path, &zhang).json(&decision).send().await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(as_(Method::POST, &path, &clerk).json(&decision).send().await.unwrap().status(), StatusCode::OK);
        let (_, c) = json_of(cover_at(&zhang, "H62010200001").await.unwrap()).await;
        assert_eq!(c["cover"]["code"], "filed", "{l}: {c}");
        assert_eq!(
            (c["cover"]["kind"]["kind"].as_str(), c["cover"]["kind"]["until"].as_str()),
            (Some("referral"), Some("2027-05-23"))
        );

        // The approved filing's receipt, and the referral certificate, printed: the agency's
        // head, the number with its QR code, names rather than codes, the ID masked. Not
        // before approval, and to nobody else.
        let paper = |path: String, token: String| {
            let res = as_(Method::GET, &path, &token).send();
            async move {
                let res = res.await.unwrap();
                (res.status(), res.text().await.unwrap())
            }
        };
        let receipt = format!("/filings/{}/receipt", f["id"]);
        let (status, page) = paper(receipt.clone(), zhang.clone()).await;
        assert_eq!(status, StatusCode::OK, "{l}: {page}");
        for said in [
            "异地就医备案回执",
            "金昌市医疗保障事务中心",
            "甘肃省兰州市",
            "6203**********0036",
            "data:image/svg+xml;base64,",
        ] {
            assert!(page.contains(said), "{l}: {said} in {page}");
        }
        assert!(!page.contains("620302198506120036"), "{l}: the ID is masked");
        assert!(page.contains(&format!("id=\"paper-number\">{}</strong>", f["id"])), "{l}: {page}");
        let (status, _) = paper(receipt, app.token("unit").await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{l}");
        let (status, page) = paper(format!("/referrals/{number}/print"), zhang.clone()).await;
        assert_eq!(status, StatusCode::OK, "{l}: {page}");
        for said in ["转诊转院证明", "冠心病", "金昌市中心医院（H62030200001）", "甘肃省兰州市", &number]
        {
            assert!(page.contains(said), "{l}: {said} in {page}");
        }
        let applied =
            json!({ "kind": "temporary_other", "destination": "110000", "start": "2026-11-24", "documents": [] });
        let (status, pending) =
            json_of(as_(Method::POST, "/api/v1/persons/1/filings", &zhang).json(&applied).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::CREATED, "{l}: {pending}");
        let (status, page) = paper(format!("/filings/{}/receipt", pending["id"]), zhang.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{l}: {page}");
        assert!(page.contains("批准后才有备案回执"), "{l}: {page}");

        // 张三 reports his card lost; he may not record anything else on it.
        let (_, cards) = json_of(as_(Method::GET, "/api/v1/persons/1/cards", &zhang).send().await.unwrap()).await;
        let card = cards[0]["id"].as_i64().unwrap();
        let event = |token: &str, e: &str| {
            as_(Method::POST, &format!("/api/v1/cards/{card}/events"), token).json(&json!({ "event": e })).send()
        };
        assert_eq!(event(&zhang, "cancel").await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(event(&zhang, "report_lost").await.unwrap().status(), StatusCode::OK);
        // The hospital asks about its own patient: masked, and told what to do instead.
        let (status, c) = json_of(
            hospital(Method::GET, "/api/v1/cover?resident_id=620302198506120036&date=2026-11-25").send().await.unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}: {c}");
        assert_eq!((c["card"].as_str(), c["cover"]["code"].as_str()), (Some("lost"), Some("card_lost")), "{l}: {c}");
        assert_eq!(c["cover"]["direct_settlement"], false);
        assert!(c["cover"]["reason"]["zh"].as_str().unwrap().contains("零星报销"));
        assert_eq!(c["person"]["resident_id"], "6203**********0036");
        assert!(c.get("cards").is_none(), "{l}: an institution sees no card details");

        // The clerk's no-card certificate lets the hospital settle.
        let res =
            as_(Method::POST, "/api/v1/persons/1/no-card-certificates", &clerk).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let (_, c) = json_of(
            hospital(Method::GET, "/api/v1/cover?resident_id=620302198506120036&date=2026-11-25").send().await.unwrap(),
        )
        .await;
        assert_eq!(
            (c["cover"]["code"].as_str(), c["cover"]["direct_settlement"].as_bool()),
            (Some("local_designated"), Some(true)),
            "{l}: {c}"
        );

        // The audit log holds every decision.
        let (_, audit) =
            json_of(as_(Method::GET, "/api/v1/audit?limit=200", &app.token("auditor").await).send().await.unwrap())
                .await;
        let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        for a in [
            "referral.issue",
            "referral.seal",
            "filing.apply",
            "filing.approved",
            "card.lost",
            "no_card_certificate.issue",
        ] {
            assert!(actions.contains(&a), "{l}: {a} not in {actions:?}");
        }
        app.db.cleanup().await;
    }
}

#[tokio::test]
async fn the_policy_administrator_edits_the_calendar_in_the_portal() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (http, csrf) = portal_session(&app, "policy", "/calendar").await;
    let page = http.get(app.url("/calendar?from=2026-09-24&days=15")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("到期日： 2026-10-22") && page.contains("10-01–10-07"), "National Day as one run");
    let page = http.get(app.url("/calendar?from=2027-01-04&days=5")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("2027 年的节假日安排尚未录入"));

    // A wrong year is refused and kept in the form; the right one takes effect at once.
    let wrong = "[[year]]\nyear = 2027\nsource = \"x\"\nholidays = []\nworkdays = [\"2027-02-08\"]\n";
    let res =
        http.post(app.url("/calendar")).form(&[("csrf", csrf.as_str()), ("document", wrong)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不是周末"));
    let res = http
        .post(app.url("/calendar"))
        .form(&[("csrf", csrf.as_str()), ("document", calendar_2027().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = http.get(app.url("/calendar?from=2027-01-04&days=5")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("到期日： 2027-01-11") && page.contains("2027年部分节假日安排"), "{page}");
    // A reviewer reads the calendar but has no import form.
    let (reviewer, _) = portal_session(&app, "reviewer", "/calendar").await;
    let page = reviewer.get(app.url("/calendar")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("calendar-years") && !page.contains("calendar-form"));
    app.db.cleanup().await;
}

/// The demo hospital's medical insurance office, logged in: it checks a patient at its own
/// desk (masked, with the reason), issues a referral certificate with a form error first,
/// seals it at the window, and finds it usable by number.
#[tokio::test]
async fn the_hospital_desk_checks_cover_and_issues_referrals_in_the_portal() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (http, csrf) = portal_session(&app, "hospital", "/referrals").await;
        let home = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        assert!(home.contains("金昌市中心医院（H62030200001）") && home.contains("href=\"/check\""), "{l}");

        // 张三 at this hospital today: masked, local designated, direct settlement.
        let page = http.get(app.url("/check?resident_id=620302198506120036")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        let found = page.split("id=\"desk-person\"").nth(1).unwrap();
        assert!(found.contains("6203**********0036") && !found.contains("620302198506120036"), "{l}: masked");
        assert!(page.contains("data-code=\"local_designated\"") && page.contains("可以持卡直接结算"), "{l}: {page}");
        // A mistyped number and an unknown person are said beside the form.
        let page =
            http.get(app.url("/check?resident_id=620302198506120037")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("form-errors") && page.contains("校验"), "{l}: {page}");
        let page =
            http.get(app.url("/check?resident_id=110101199001010015")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("没有以该身份证号码登记的参保人"), "{l}: {page}");
        // The staff lookup sends the hospital to its desk, never to the person's full page.
        let res = http.get(app.url("/cover?resident_id=620302198506120036")).send().await.unwrap();
        assert_eq!(res.headers()["location"], "/check?resident_id=620302198506120036&date=");
        assert_eq!(http.get(app.url("/persons/1/cover")).send().await.unwrap().status(), StatusCode::FORBIDDEN);

        // A certificate valid for more than 180 days is refused in the form, in Chinese.
        let form = |valid_to: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("resident_id", "620302198506120036".to_string()),
                ("diagnosis", "冠心病".to_string()),
                ("destination", "620100".to_string()),
                ("valid_from", "2026-11-23".to_string()),
                ("valid_to", valid_to.to_string()),
                ("hospital_seal_by", "医务科 周立".to_string()),
            ]
        };
        let res = http.post(app.url("/referrals")).form(&form("2027-12-31")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        let text = res.text().await.unwrap();
        assert!(text.contains("form-errors") && text.contains("180"), "{l}: {text}");
        let beside = text.split("id=\"err-valid_to\">").nth(1).map(|r| r.split("</span>").next().unwrap_or(""));
        assert!(beside.is_some_and(|b| b.contains("180")), "{l}: said beside the date: {text}");
        let res = http.post(app.url("/referrals")).form(&form("2027-02-20")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{l}");
        let to = res.headers()["location"].to_str().unwrap().to_string();
        let number = to.split("number=").nth(1).unwrap().to_string();
        let page = http.get(app.url(&to)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-sealed=\"false\"") && page.contains("暂不能用于备案"), "{l}");

        // The window's seal makes it usable; a reviewer at the agency checks it by number.
        let res = http
            .post(app.url(&format!("/referrals/{number}/seal")))
            .form(&[("csrf", csrf.as_str()), ("by", "医保办 吴敏")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{l}");
        let (reviewer, _) = portal_session(&app, "reviewer", "/").await;
        let page =
            reviewer.get(app.url(&format!("/referrals?number={number}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-sealed=\"true\"") && page.contains("医保办 吴敏"), "{l}: {page}");
        assert!(!page.contains("referral-form"), "{l}: the agency checks, it does not issue");
        app.db.cleanup().await;
    }
}

/// An insured person changes an approved long-term filing from their page: the form starts
/// from the old filing and names it, and the minimum period is enforced with its reason.
#[tokio::test]
async fn a_long_term_filing_is_changed_from_the_portal() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let clerk = app.token("clerk").await;
    let filing = json!({ "kind": "long_term_resident", "destination": "110000", "start": "2026-11-23",
        "documents": [{ "kind": "residence_permit", "reference": "京居 0001" }] });
    let res =
        app.http.post(app.url("/api/v1/persons/1/filings")).bearer_auth(&clerk).json(&filing).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let f: Value = res.json().await.unwrap();
    let id = f["id"].as_i64().unwrap();
    let res = app
        .http
        .post(app.url(&format!("/api/v1/filings/{id}/decision")))
        .bearer_auth(&clerk)
        .json(&json!({ "version": f["version"], "decision": "approve" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (http, csrf) = portal_session(&app, "zhangsan", "/my/cover").await;
    let page = http.get(app.url("/my/cover")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("href=\"/my/cover?change={id}#filing-change\"")), "a change link");
    let page = http.get(app.url(&format!("/my/cover?change={id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("name=\"replaces\" value=\"{id}\"")), "{page}");
    assert!(page.contains("option value=\"long_term_resident\" selected"));
    let res = http
        .post(app.url("/my/filings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "long_term_resident"),
            ("destination", "310000"),
            ("start", "2026-11-23"),
            ("document_kind", "residence_permit"),
            ("document_reference", "沪居 0002"),
            ("replaces", &id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.text().await.unwrap();
    assert!(text.contains("form-errors") && text.contains("6 个月"), "{text}");
    // A destination several regions share, and no start: both said at once, each beside its
    // field, with the choices.
    let res = http
        .post(app.url("/my/filings"))
        .form(&[("csrf", csrf.as_str()), ("kind", "temporary_other"), ("destination", "朝阳区"), ("start", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.text().await.unwrap();
    let beside = |field: &str| {
        let at = text.find(&format!("id=\"err-{field}\"")).unwrap_or_else(|| panic!("nothing beside {field}: {text}"));
        text[at..].split("</span>").next().unwrap().to_string()
    };
    assert!(beside("destination").contains("北京市朝阳区（110105）"), "{text}");
    assert!(!beside("start").is_empty(), "{text}");
    app.db.cleanup().await;
}

/// At the window a step that stops a card is recorded only once the clerk confirms what it
/// does; a card found again is 解挂 in one step, and the lost days stay on the card.
#[tokio::test]
async fn a_clerk_confirms_a_loss_report_and_lifts_it_when_the_card_is_found() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let clerk = app.token("clerk").await;
    let cards = || async {
        let res = app.http.get(app.url("/api/v1/persons/1/cards")).bearer_auth(&clerk).send().await.unwrap();
        res.json::<Value>().await.unwrap()[0].clone()
    };
    let card = cards().await;
    assert_eq!(card["status"], "active", "{card}");
    let id = card["id"].as_i64().unwrap();
    let (http, csrf) = portal_session(&app, "clerk", "/persons/1/cover").await;
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
        http.post(app.url(&format!("/cards/{id}/events"))).form(&form).send()
    };

    for (event, title) in [("report_lost", "确认挂失这张社保卡？"), ("cancel", "确认注销这张社保卡？")]
    {
        let res = post(vec![("event", event), ("on", "")]).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{event}: asked first");
        let page = res.text().await.unwrap();
        assert!(page.contains(title) && page.contains("name=\"confirmed\" value=\"1\""), "{page}");
        assert!(page.contains(&format!("name=\"event\" value=\"{event}\"")), "{page}");
        assert_eq!(cards().await["status"], "active", "{event}: nothing recorded unconfirmed");
    }
    let res = post(vec![("event", "report_lost"), ("on", ""), ("confirmed", "1")]).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let lost = cards().await;
    assert_eq!(lost["status"], "lost", "{lost}");
    let page = http.get(app.url("/persons/1/cover")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<option value=\"found\">解挂（卡已找回）</option>"), "{page}");

    // Found: not a step that stops the card, so no question.
    let res = post(vec![("event", "found"), ("on", "")]).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let found = cards().await;
    assert_eq!(found["status"], "active", "{found}");
    assert_eq!(found["lost_on"], Value::Null);
    let day = lost["lost_on"].as_str().unwrap();
    assert_eq!(found["earlier_losses"], json!([[day, day]]), "{found}");
    let page = http.get(app.url("/persons/1/cover")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("挂失 {day}；解挂 {day}")), "{page}");
    app.db.cleanup().await;
}

/// The demo's 1×1 PNG scan and a text file dressed up as a PDF.
const PNG: &[u8] = yibao_demo::DEMO_SCAN_PNG;
const FAKE_PDF: &[u8] = b"this is not a PDF, whatever its name says";

fn filing_multipart(csrf: &str, file_name: &str, bytes: &'static [u8]) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("kind", "temporary_other")
        .text("destination", "310000")
        .text("start", "2026-11-30")
        .text("document_kind", "residence_permit")
        .text("document_reference", "沪居 0001")
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()))
}

/// 张三 files with a scan attached: the type is judged by content (a text file named .pdf
/// is refused and nothing is recorded), the scan is linked from the filing, and only he
/// and the agency's staff in his region can read it.
#[tokio::test]
async fn a_filing_carries_an_uploaded_scan_that_only_its_people_can_read() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (http, csrf) = portal_session(&app, "zhangsan", "/my/cover").await;
        let before = app.db.store.filings_of(1).await.unwrap().len();

        let res = http.post(app.url("/my/filings")).multipart(filing_multipart(&csrf, "居住证.pdf", FAKE_PDF)).send();
        let res = res.await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        assert!(res.text().await.unwrap().contains("按文件内容判断"), "{l}: the reason, in Chinese");
        assert_eq!(app.db.store.filings_of(1).await.unwrap().len(), before, "{l}: nothing recorded");

        let res = http.post(app.url("/my/filings")).multipart(filing_multipart(&csrf, "居住证.png", PNG)).send();
        assert_eq!(res.await.unwrap().status(), StatusCode::SEE_OTHER, "{l}");
        let filings = app.db.store.filings_of(1).await.unwrap();
        let doc_id = filings.iter().find_map(|f| f.documents.first().and_then(|d| d.document_id)).unwrap();
        let page = http.get(app.url("/my/cover")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("href=\"/documents/{doc_id}\"")), "{l}: the scan is linked");

        // He reads it back byte for byte, with its type; so does the clerk of his region.
        let res = http.get(app.url(&format!("/documents/{doc_id}"))).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "image/png");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.bytes().await.unwrap().as_ref(), PNG, "{l}");
        let clerk = app.token("clerk").await;
        let res = app.http.get(app.url(&format!("/api/v1/documents/{doc_id}"))).bearer_auth(&clerk).send().await;
        let meta: Value = res.unwrap().json().await.unwrap();
        assert_eq!((meta["media_type"].as_str(), meta["size"].as_u64()), (Some("image/png"), Some(PNG.len() as u64)));
        // The hospital, by key or logged in, and the finance officer cannot.
        let res = app
            .http
            .get(app.url(&format!("/api/v1/documents/{doc_id}/content")))
            .header("x-api-key", yibao_demo::DEMO_API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{l}");
        for who in ["hospital", "finance"] {
            let t = app.token(who).await;
            let res = app.http.get(app.url(&format!("/api/v1/documents/{doc_id}/content"))).bearer_auth(&t).send();
            assert_eq!(res.await.unwrap().status(), StatusCode::NOT_FOUND, "{l}: {who}");
        }
        // Through the API, a document of someone else cannot be named in one's filing.
        let jinchang = yibao_core::Scope::parse_list("620300").unwrap();
        let other = app.db.store.filings_in(&jinchang, None, 500).await.unwrap();
        let foreign = other
            .iter()
            .find_map(|f| (f.person_id != 1).then(|| f.documents.iter().find_map(|d| d.document_id)).flatten());
        let zhang = app.token("zhangsan").await;
        let body = json!({ "kind": "temporary_other", "destination": "310000", "start": "2026-12-01",
            "documents": [{ "kind": "residence_permit", "reference": "x", "document_id": foreign.unwrap() }] });
        let res = app.http.post(app.url("/api/v1/persons/1/filings")).bearer_auth(&zhang).json(&body).send().await;
        let p: Value = res.unwrap().json().await.unwrap();
        assert_eq!(p["errors"][0]["code"], "document_unknown", "{l}: {p}");
        app.db.cleanup().await;
    }
}

/// At the service point the clerk takes a replacement card application for the person whose
/// card was lost, with the photo handed in as a file; the photo is kept with the card.
#[tokio::test]
async fn a_card_application_keeps_the_photo_handed_in() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let person = app.lost_card_owner().await;
    let (http, csrf) = portal_session(&app, "clerk", &format!("/persons/{person}/cover")).await;
    let form = |photo: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("photo", photo.to_string())
            .text("bank", "甘肃银行")
            .text("applicant_confirmed", "1")
            .text("service_point_confirmed", "1")
            .part("file", reqwest::multipart::Part::bytes(PNG).file_name("photo.png"))
    };
    // A file with another photo source is a mistake, said so.
    let res = http.post(app.url(&format!("/persons/{person}/cards"))).multipart(form("id_card")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("现场提交电子照片"));
    let res = http.post(app.url(&format!("/persons/{person}/cards"))).multipart(form("upload")).send().await.unwrap();
    let status = res.status();
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let cards = app.db.store.cards_of(person).await.unwrap();
    let new = cards.iter().find(|c| c.status == yibao_core::card::CardStatus::Applied).unwrap();
    let doc: i64 = new.photo_reference.parse().unwrap();
    // Applied on 23 November: the 30 working days run into 2027, whose holidays are not
    // published, so the date is a weekday forecast and says so: 28 working days to
    // 31 December, then Friday 1 January (29) and Monday 4 January (30).
    assert_eq!((new.expected_on.to_string().as_str(), new.expected_provisional), ("2027-01-04", true));
    let page = http.get(app.url(&format!("/persons/{person}/cover"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("href=\"/documents/{doc}\"")), "the photo is linked");
    assert!(page.contains("2027-01-04（预计：次年节假日安排尚未公布"), "the forecast is explained");
    let res = http.get(app.url(&format!("/documents/{doc}"))).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    app.db.cleanup().await;
}

/// Reporting one's card lost cannot be undone online: the portal says so and asks first; only
/// the confirmed form reports it.
#[tokio::test]
async fn reporting_a_card_lost_in_the_portal_asks_first() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (http, csrf) = common::portal_session(&app, "zhangsan", "/my/cover").await;
    let rid = yibao_demo::DEMO_INSURED_ID.parse().unwrap();
    let person = app.db.store.person_by_resident_id(&rid).await.unwrap().unwrap().id;
    let card = app.db.store.cards_of(person).await.unwrap().remove(0);
    assert_eq!(card.status, yibao_core::card::CardStatus::Active);
    let path = format!("/my/cards/{}/report", card.id);
    let res =
        http.post(app.url(&path)).form(&[("csrf", csrf.as_str()), ("event", "report_lost")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "asked, not done");
    let page = res.text().await.unwrap();
    assert!(page.contains("确认挂失这张社保卡") && page.contains("挂失不能在网上撤销"), "{page}");
    assert!(page.contains("name=\"confirmed\" value=\"1\"") && page.contains("value=\"report_lost\""), "{page}");
    assert_eq!(app.db.store.card(card.id).await.unwrap().status, yibao_core::card::CardStatus::Active, "nothing yet");
    let confirmed = [("csrf", csrf.as_str()), ("event", "report_lost"), ("confirmed", "1")];
    let res = http.post(app.url(&path)).form(&confirmed).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_ne!(app.db.store.card(card.id).await.unwrap().status, yibao_core::card::CardStatus::Active, "reported");
    app.db.cleanup().await;
}

/// The language switch returns to the very page it was used on, its query included, for every
/// role: the hospital desk on one of its settlements, a clerk on a filtered list.
#[tokio::test]
async fn the_language_switch_returns_to_the_same_page() {
    let app = spawn_app(TestDb::sqlite().await).await;
    for (user, page) in [("hospital", "/settlements/620302000000000001"), ("clerk", "/filings?status=approved")] {
        let (http, _) = common::portal_session(&app, user, "/").await;
        let res = http.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{user}: {page}");
        let html = res.text().await.unwrap();
        let href =
            html.split("id=\"lang-switch\" href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
        let res = http.get(app.url(&href)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user}: {href}");
        assert_eq!(res.headers()["location"], page, "{user}: back to the same page from {href}");
        let english = http.get(app.url(page)).send().await.unwrap();
        assert_eq!(english.status(), StatusCode::OK, "{user}");
        assert!(english.text().await.unwrap().contains("lang=\"en\""), "{user}: in English now");
    }
    app.db.cleanup().await;
}

/// What yibao tells 张三 — his claims returned or decided, money paid — waits in 「消息」 with
/// the unread count in the header, is read once he opens it, never holds his full ID or card
/// number, and goes out by SMS once each (again after a crash before it was marked sent).
#[tokio::test]
async fn messages_wait_in_the_inbox_and_go_out_by_sms_once() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (http, _) = common::portal_session(&app, "zhangsan", "/").await;
    let home = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let unread: i64 = home
        .split("id=\"unread\"")
        .nth(1)
        .expect("an unread count")
        .split('>')
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(unread >= 3, "the demo's claims told him things: {unread}");
    let inbox = http.get(app.url("/my/messages")).send().await.unwrap().text().await.unwrap();
    assert!(
        inbox.contains("已审核通过") && inbox.contains("需要补正") && inbox.contains("支付至银行卡 ****"),
        "{inbox}"
    );
    assert!(inbox.contains("href=\"/claims/"), "each with its claim");
    assert!(!inbox.contains(yibao_demo::DEMO_INSURED_ID), "no full ID number");
    let home = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("id=\"unread\""), "read once opened");

    // The outbox: each message with a number goes out once.
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<(String, String)>>);
    impl yibao_web::notify::Notifier for Recorded {
        fn send_sms(&self, phone: &str, text: &yibao_core::Text) -> Result<(), String> {
            self.0.lock().unwrap().push((phone.to_string(), text.zh.clone()));
            Ok(())
        }
    }
    let sent = Recorded::default();
    let waiting = yibao_web::notify::send_waiting(&app.db.store, &sent).await.unwrap();
    assert!(waiting >= unread as usize, "{waiting}");
    let texts = sent.0.lock().unwrap().clone();
    assert!(!texts.is_empty() && texts.iter().all(|(_, t)| !t.contains(yibao_demo::DEMO_INSURED_ID)), "{texts:?}");
    assert_eq!(yibao_web::notify::send_waiting(&app.db.store, &sent).await.unwrap(), 0, "once");
    app.db.cleanup().await;
}
