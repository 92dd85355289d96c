//! The administrator's accounts after they are made, over the API: disabling ends the
//! sessions at once, a reset password needs a second person, a change of role or regions
//! needs a second administrator, an unlock clears the failures, nobody manages their own
//! account, and an administrator sees and touches only the accounts of their regions.

use super::*;

#[tokio::test]
async fn the_administrator_manages_accounts_of_their_regions_with_four_eyes() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (admin, admin2) = (app.token("admin").await, app.token("admin2").await);
        let id_of = |username: &'static str| {
            let store = app.db.store.clone();
            async move { store.account_by_username(username).await.unwrap().unwrap().id }
        };
        let (admin_id, clerk_id, clerk2_id, reviewer_id) =
            (id_of("admin").await, id_of("clerk").await, id_of("clerk2").await, id_of("reviewer").await);
        let post = |token: &str, path: String, body: Option<Value>| {
            let req = app.http.post(app.url(&path)).bearer_auth(token);
            let req = match body {
                Some(b) => req.json(&b),
                None => req,
            };
            async move {
                let res = req.send().await.unwrap();
                (res.status(), res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let me = |token: String| {
            let req = app.http.get(app.url("/api/v1/me")).bearer_auth(token);
            async move { req.send().await.unwrap().status() }
        };
        let log_in = |username: &'static str, password: String| {
            let req =
                app.http.post(app.url("/api/v1/login")).json(&json!({ "username": username, "password": password }));
            async move { req.send().await.unwrap() }
        };

        // A staff account is never linked to a person (it would act as them).
        let linked = json!({ "username": "clerk8", "display_name": "某", "role": "intake_clerk",
            "password": "Passw0rd2026", "scope": ["620300"], "person_id": 1 });
        let (s, p) = post(&admin, "/api/v1/accounts".into(), Some(linked)).await;
        assert_eq!(
            (s, p["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("not_insured")),
            "{l}: {p}"
        );

        // Disabled: the clerk's open session ends at once and log-in is refused; enabled
        // again, the clerk logs in.
        let clerk = app.token("clerk").await;
        assert_eq!(me(clerk.clone()).await, StatusCode::OK);
        let (s, a) = post(&admin, format!("/api/v1/accounts/{clerk_id}/disable"), None).await;
        assert_eq!((s, &a["disabled"]), (StatusCode::OK, &json!(true)), "{l}: {a}");
        assert_eq!(me(clerk).await, StatusCode::UNAUTHORIZED, "{l}: the session ended at once");
        assert_ne!(log_in("clerk", yibao_demo::DEMO_PASSWORD.into()).await.status(), StatusCode::OK, "{l}");
        let (s, _) = post(&admin, format!("/api/v1/accounts/{clerk_id}/disable"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{l}: disabled already");
        let (s, _) = post(&admin, format!("/api/v1/accounts/{clerk_id}/enable"), None).await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert_eq!(me(app.token("clerk").await).await, StatusCode::OK, "{l}");
        // Nobody manages their own account.
        let (s, p) = post(&admin, format!("/api/v1/accounts/{admin_id}/disable"), None).await;
        assert_eq!((s, p["code"].as_str()), (StatusCode::CONFLICT, Some("own_account")), "{l}: {p}");

        // A reset password: weak ones refused; the account waits for a second administrator,
        // the old session ends, and the temporary password alone does not open it.
        let clerk = app.token("clerk").await;
        let reset = |pw: &str| Some(json!({ "password": pw }));
        let (s, _) = post(&admin, format!("/api/v1/accounts/{clerk_id}/password"), reset("short")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{l}");
        let (s, a) = post(&admin, format!("/api/v1/accounts/{clerk_id}/password"), reset("Temp2026x")).await;
        assert_eq!(s, StatusCode::OK, "{l}: {a}");
        assert_eq!((&a["awaiting_approval"], &a["must_change_password"]), (&json!(true), &json!(true)), "{l}");
        assert_eq!(me(clerk).await, StatusCode::UNAUTHORIZED, "{l}");
        assert_ne!(log_in("clerk", "Temp2026x".into()).await.status(), StatusCode::OK, "{l}: not alone");
        let (s, _) = post(&admin, format!("/api/v1/accounts/{clerk_id}/approve"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{l}: not by the one who reset it");
        let (s, approved) = post(&admin2, format!("/api/v1/accounts/{clerk_id}/approve"), None).await;
        assert_eq!(s, StatusCode::OK, "{l}: {approved}");
        let code = approved["activation_code"].as_str().unwrap();
        let res = log_in("clerk", format!("Temp2026x{code}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{l}: the temporary password and the second person's code");

        // A change of role and regions: proposed by one, refused to the same one, applied
        // when the second approves; regions beyond the administrator's are refused.
        let change = Some(json!({ "role": "auditor", "scope": ["620300"] }));
        let (s, a) = post(&admin, format!("/api/v1/accounts/{reviewer_id}/change"), change).await;
        assert_eq!((s, a["role"].as_str()), (StatusCode::OK, Some("reviewer")), "{l}: not yet: {a}");
        assert_eq!(a["pending_change"]["role"], "auditor", "{l}");
        let (s, p) = post(&admin, format!("/api/v1/accounts/{reviewer_id}/change/approve"), None).await;
        assert_eq!(
            (s, p["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("four_eyes")),
            "{l}: {p}"
        );
        let (s, a) = post(&admin2, format!("/api/v1/accounts/{reviewer_id}/change/approve"), None).await;
        assert_eq!((s, a["role"].as_str(), &a["pending_change"]), (StatusCode::OK, Some("auditor"), &Value::Null));
        // One change at a time: the demo's promotion of clerk2 waits, so no other is taken.
        let another = Some(json!({ "role": "auditor", "scope": ["620300"] }));
        let (s, p) = post(&admin2, format!("/api/v1/accounts/{clerk2_id}/change"), another).await;
        assert_eq!(
            (s, p["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("pending")),
            "{l}: {p}"
        );
        // The approver's own regions bound what they may approve, read in the same transaction.
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let gansu = yibao_store::NewAccount {
            username: "admin_gs".into(),
            display_name: "甘肃系统管理员".into(),
            role: yibao_core::Role::SysAdmin,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: yibao_core::Scope::parse_list("620000").unwrap(),
            person_id: None,
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        app.db.store.create_account(&mut w, &gansu).await.unwrap();
        w.commit().await.unwrap();
        let finance2_id = id_of("finance2").await;
        let wider = Some(json!({ "role": "finance", "scope": ["620300", "110105"] }));
        let (s, _) = post(&admin, format!("/api/v1/accounts/{finance2_id}/change"), wider).await;
        assert_eq!(s, StatusCode::OK, "{l}");
        let (s, p) =
            post(&app.token("admin_gs").await, format!("/api/v1/accounts/{finance2_id}/change/approve"), None).await;
        assert_eq!(
            (s, p["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("out_of_scope")),
            "{l}: {p}"
        );
        let (s, a) = post(&admin2, format!("/api/v1/accounts/{finance2_id}/change/approve"), None).await;
        assert_eq!((s, &a["scope"]), (StatusCode::OK, &json!(["110105", "620300"])), "{l}: {a}");
        let beyond = Some(json!({ "role": "clerk", "scope": ["310000"] }));
        let (s, _) = post(&admin, format!("/api/v1/accounts/{clerk2_id}/change"), beyond).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{l}: unknown role and regions not the admin's");
        let beyond = Some(json!({ "role": "intake_clerk", "scope": ["310000"] }));
        let (s, p) = post(&admin, format!("/api/v1/accounts/{clerk2_id}/change"), beyond).await;
        assert_eq!(
            (s, p["errors"][0]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("out_of_scope")),
            "{l}: {p}"
        );

        // Three wrong passwords: counted and delayed; the unlock clears both.
        for _ in 0..3 {
            assert_eq!(log_in("clerk2", "wrong-pass1".into()).await.status(), StatusCode::UNAUTHORIZED);
        }
        let accounts = |token: String| {
            let req = app.http.get(app.url("/api/v1/accounts")).bearer_auth(token);
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let listed = accounts(admin.clone()).await;
        let clerk2 = listed.as_array().unwrap().iter().find(|a| a["username"] == "clerk2").unwrap().clone();
        assert_eq!(clerk2["failed_logins"], 3, "{l}: {clerk2}");
        assert_eq!(log_in("clerk2", yibao_demo::DEMO_PASSWORD.into()).await.status(), StatusCode::UNAUTHORIZED);
        let (s, a) = post(&admin, format!("/api/v1/accounts/{clerk2_id}/unlock"), None).await;
        assert_eq!((s, &a["failed_logins"]), (StatusCode::OK, &json!(0)), "{l}: {a}");
        assert_eq!(log_in("clerk2", yibao_demo::DEMO_PASSWORD.into()).await.status(), StatusCode::OK, "{l}");

        // An administrator of Shanghai sees only Shanghai's accounts and touches no other.
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let new = yibao_store::NewAccount {
            username: "admin_sh".into(),
            display_name: "上海系统管理员".into(),
            role: yibao_core::Role::SysAdmin,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: yibao_core::Scope::parse_list("310000").unwrap(),
            person_id: None,
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        app.db.store.create_account(&mut w, &new).await.unwrap();
        w.commit().await.unwrap();
        let shanghai = app.token("admin_sh").await;
        let seen: Vec<String> = accounts(shanghai.clone())
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["username"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(seen, ["admin_sh"], "{l}: no other region's accounts");
        for step in ["disable", "unlock"] {
            let (s, _) = post(&shanghai, format!("/api/v1/accounts/{clerk2_id}/{step}"), None).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{l}: {step}");
        }
        let (s, _) = post(&shanghai, format!("/api/v1/accounts/{clerk2_id}/password"), reset("Temp2026y")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{l}");

        // The administrator reads the log with persons' ID numbers, phones and names masked;
        // the auditor, who may see persons whole, reads them as they are.
        let (_, created) = {
            let res = app
                .http
                .get(app.url("/api/v1/audit?action=person.create&limit=1"))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        };
        let seq = created[0]["seq"].as_i64().unwrap();
        let whole = |token: String| {
            let req = app.http.get(app.url(&format!("/api/v1/audit/{seq}"))).bearer_auth(token);
            async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let masked = whole(admin.clone()).await["after"].as_str().unwrap().to_string();
        let id_digits = regex_like_id(whole(app.token("auditor").await).await["after"].as_str().unwrap());
        assert!(id_digits.is_some(), "{l}: the auditor reads the ID number whole");
        assert!(!masked.contains(id_digits.as_deref().unwrap()) && masked.contains("**********"), "{l}: {masked}");

        // Every step is in the audit log, with the account before and after.
        let (_, audit) = {
            let res = app.http.get(app.url("/api/v1/audit?limit=200")).bearer_auth(&admin).send().await.unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        };
        let actions: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        for a in [
            "account.disable",
            "account.enable",
            "account.reset_password",
            "account.propose_change",
            "account.approve_change",
            "account.unlock",
        ] {
            assert!(actions.contains(&a), "{l}: {a} not in {actions:?}");
        }
        app.db.cleanup().await;
    }
}

/// In the portal: the account's page shows its state and history; disabling asks first.
#[tokio::test]
async fn the_account_page_asks_before_disabling_and_shows_what_changed() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let clerk_id = app.db.store.account_by_username("clerk").await.unwrap().unwrap().id;
    let (http, csrf) = portal_session(&app, "admin", "/accounts").await;
    let list = http.get(app.url("/accounts")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("href=\"/accounts/{clerk_id}\"")), "{list}");
    let res = http
        .post(app.url(&format!("/accounts/{clerk_id}/disable")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("确认停用这个账号？"));
    assert!(!app.db.store.account(clerk_id).await.unwrap().disabled, "asked, not done");
    let res = http
        .post(app.url(&format!("/accounts/{clerk_id}/disable")))
        .form(&[("csrf", csrf.as_str()), ("confirmed", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = http.get(app.url(&format!("/accounts/{clerk_id}?done=account_disabled"))).send().await.unwrap();
    let page = page.text().await.unwrap();
    for said in [
        "已停用，已登录的会话全部退出",
        "id=\"enable-account\"",
        "停用账号",
        "系统管理员",
        "<code>disabled</code> false → true",
    ] {
        assert!(page.contains(said), "{said}: {page}");
    }
    // A weak temporary password is said beside its field.
    let res = http
        .post(app.url(&format!("/accounts/{clerk_id}/password")))
        .form(&[("csrf", csrf.as_str()), ("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"err-password\""));
    app.db.cleanup().await;
}

/// The first eighteen-character ID number in `text`, if any.
fn regex_like_id(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(18).map(|w| w.iter().collect::<String>()).find(|w| w.parse::<yibao_core::ResidentId>().is_ok())
}
