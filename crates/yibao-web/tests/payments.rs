//! Payment to bank cards in the portal, on SQLite and (where reachable) PostgreSQL: finance
//! builds a batch, a second finance user approves and exports it, the bank refuses a line,
//! the claimant reads why and corrects the account; who sees and does what.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{spawn_app, App};
use yibao_core::payment::OrderState;
use yibao_core::Scope;
use yibao_store::testing::TestDb;

async fn page(app: &App, token: &str, path: &str) -> (u16, String) {
    let res = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The JSON answer to `GET path`.
async fn json(app: &App, token: &str, path: &str) -> serde_json::Value {
    app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// A form post; the status and the redirect's target (or the page shown).
async fn form(app: &App, token: &str, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = app.http.post(app.url(path)).bearer_auth(token).form(fields).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(res.text().await.unwrap()))
}

#[tokio::test]
async fn finance_pays_a_batch_in_the_portal_and_the_claimant_corrects_a_refused_account() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let (finance, finance2) = (app.token("finance").await, app.token("finance2").await);
        let (zhang, auditor, clerk) =
            (app.token("zhangsan").await, app.token("auditor").await, app.token("clerk").await);

        // Finance sees the demo's paid batch and may build; the auditor only looks; the
        // insured person and the clerk are not let in.
        let (status, body) = page(&app, &finance, "/payments").await;
        assert_eq!(status, 200);
        assert!(body.contains("PB620300") && body.contains("id=\"build-batch\""), "{body}");
        // The money by state counts every order: the demo's claim and two hospitals' clearings
        // paid, one claim ready.
        assert!(body.contains("<tr data-state=\"paid\"><td>已支付</td><td class=\"num\">3</td>"), "{body}");
        assert!(body.contains("<tr data-state=\"ready\"><td>待支付</td><td class=\"num\">1</td>"), "{body}");
        let (status, body) = page(&app, &auditor, "/payments").await;
        assert!(status == 200 && !body.contains("id=\"build-batch\""));
        assert_eq!(page(&app, &zhang, "/payments").await.0, 403);
        assert_eq!(page(&app, &clerk, "/payments").await.0, 403);
        let (_, home) = page(&app, &finance, "/").await;
        assert!(home.contains("href=\"/payments\">支付批次"), "finance's home offers the payments: {home}");

        // The demo's approved claim waiting for the next batch goes in one.
        let scope = Scope::parse_list("620300").unwrap();
        let ready = app.db.store.payment_orders_in(&scope, &[OrderState::Ready], 10).await.unwrap();
        assert_eq!(ready.len(), 1);
        // Due tomorrow, it is listed as at risk; due last week, as overdue.
        for (due, urgency) in [("2026-11-24", "at_risk"), ("2026-11-16", "overdue")] {
            let sql = format!("UPDATE payment_orders SET due_on = '{due}' WHERE id = {}", ready[0].id);
            app.db.store.execute_raw(&sql).await.unwrap();
            let (_, body) = page(&app, &finance, "/payments").await;
            let table = body.split("id=\"due\"").nth(1).unwrap_or_default();
            assert!(table.contains(&format!("data-urgency=\"{urgency}\"")), "{due}: {body}");
            assert!(table.contains(&ready[0].subject_number), "{due}");
        }
        let (status, to) =
            form(&app, &finance, "/payments/batches", &[("region", "620300"), ("up_to", "2026-11-23")]).await;
        assert_eq!(status, 303, "{to}");
        let batch_path = to.split('?').next().unwrap().to_string();
        let (_, body) = page(&app, &finance, &batch_path).await;
        assert!(
            body.contains("data-state=\"built\"") && !body.contains("id=\"approve\""),
            "the builder cannot approve"
        );
        let (status, body) = form(&app, &finance, &format!("{batch_path}/approve"), &[]).await;
        assert!(status == 422 && body.contains("另一名财务人员复核"), "{status} {body}");
        assert_eq!(form(&app, &finance2, &format!("{batch_path}/approve"), &[]).await.0, 303);

        // The bank file downloads, with its header and trailer.
        let res = app
            .http
            .post(app.url(&format!("{batch_path}/export")))
            .bearer_auth(&finance2)
            .form(&[("csrf", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
        let file = res.text().await.unwrap();
        let lines: Vec<&str> = file.lines().collect();
        assert!(lines[0].starts_with("H,PB620300") && lines[2].starts_with("T,1,"), "{file}");
        let d: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(d[4], ready[0].bank_card.as_ref().unwrap().to_string(), "the full card goes to the bank");

        // The bank refuses it: the name does not match the account.
        let batch_no = lines[0].split(',').nth(1).unwrap();
        let result = format!("H,{batch_no},1,{}\nR,1,{},{},F,name_mismatch,户名不符,2026-11-24\n", d[6], d[2], d[6]);
        let upload = |bytes: String| {
            reqwest::multipart::Form::new()
                .part("file", reqwest::multipart::Part::bytes(bytes.into_bytes()).file_name("result.csv"))
        };
        let res = app
            .http
            .post(app.url(&format!("{batch_path}/results")))
            .bearer_auth(&finance)
            .multipart(upload(result.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let (_, body) = page(&app, &finance, &batch_path).await;
        assert!(body.contains("data-state=\"closed\"") && body.contains("data-result=\"failed\""), "{body}");
        // The same file again: said so, nothing changed.
        let res = app
            .http
            .post(app.url(&format!("{batch_path}/results")))
            .bearer_auth(&finance)
            .multipart(upload(result))
            .send()
            .await
            .unwrap();
        assert!(res.headers()["location"].to_str().unwrap().ends_with("done=results_again"));

        // 张三 reads why and what to do, and corrects the account on the claim's page.
        let claim = format!("/claims/{}", ready[0].claim_id.unwrap());
        let (_, body) = page(&app, &zhang, &claim).await;
        assert!(body.contains("支付失败") && body.contains("户名与账号不符") && body.contains("本人"), "{body}");
        assert!(body.contains("id=\"payment-account\""));
        let bad = [("bank_name", "中国农业银行金昌分行"), ("bank_card", "6228480010000000001")];
        let (status, body) = form(&app, &zhang, &format!("{claim}/payment-account"), &bad).await;
        assert!(status == 422 && body.contains("校验位"), "{status}");
        let card = yibao_core::BankCardNumber::complete("622848001000000000").unwrap().to_string();
        let good = [("bank_name", "中国农业银行金昌分行"), ("bank_card", card.as_str())];
        assert_eq!(form(&app, &zhang, &format!("{claim}/payment-account"), &good).await.0, 303);
        let order = app.db.store.payment_order(ready[0].id).await.unwrap();
        assert_eq!((order.state, order.attempt), (OrderState::Ready, 2));
        let (_, body) = page(&app, &zhang, &claim).await;
        assert!(body.contains("data-state=\"ready\"") && body.contains(&format!("****{}", &card[card.len() - 4..])));
        // The auditor and another person cannot correct it; the insured never see a batch.
        assert_eq!(form(&app, &auditor, &format!("{claim}/payment-account"), &good).await.0, 403);
        assert_eq!(page(&app, &zhang, &batch_path).await.0, 403);

        // The demo's paid claim says when and to which card.
        let paid = app.db.store.payment_orders_in(&scope, &[OrderState::Paid], 10).await.unwrap();
        let paid_claim = paid.iter().find_map(|o| o.claim_id).unwrap();
        let (_, body) = page(&app, &zhang, &format!("/claims/{paid_claim}")).await;
        assert!(body.contains("已于 2026-11-23 支付") && body.contains("****4563"), "{body}");
        // His list of claims says where each one's money is.
        let (_, list) = page(&app, &zhang, "/my/claims").await;
        assert!(list.contains("data-payment=\"paid\">已支付 2026-11-23<"), "{list}");
        assert!(list.contains("data-payment=\"ready\">待支付（"), "the corrected one waits for a batch: {list}");
        app.db.cleanup().await;
    }
}

/// Nobody redirects a claimant's money alone: an account a clerk gives waits for a second
/// person (another clerk, or the claimant) before it is batched; the claimant is told, and
/// never shown the clerk's username; the batch flags the line paid to another card than at
/// approval, old and new masked; the audit log holds neither card in full.
#[tokio::test]
async fn a_payee_account_given_by_a_clerk_waits_for_a_second_person() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (clerk, clerk2, zhang, finance) = (
            app.token("clerk").await,
            app.token("clerk2").await,
            app.token("zhangsan").await,
            app.token("finance").await,
        );
        let scope = Scope::parse_list("620300").unwrap();
        let ready = app.db.store.payment_orders_in(&scope, &[OrderState::Ready], 10).await.unwrap();
        let order = &ready[0];
        let approved_card = order.bank_card.clone().unwrap();
        let claim = order.claim_id.unwrap();
        let card = yibao_core::BankCardNumber::complete("621700001000123456").unwrap();
        let (new_card, new_masked) = (card.to_string(), card.masked());
        let new_card = new_card.as_str();
        // The clerk gives the new card for the claimant's money.
        let give = || {
            let account = serde_json::json!({ "bank_name": "中国建设银行金昌分行", "bank_card": new_card });
            let path = format!("/api/v1/claims/{claim}/payment/account");
            app.http.put(app.url(&path)).bearer_auth(&clerk).json(&account).send()
        };
        let put = give().await.unwrap();
        assert_eq!(put.status(), 200, "{l}");
        let given: serde_json::Value = put.json().await.unwrap();
        assert_eq!(given["awaiting_confirmation"], true, "{l}: {given}");
        assert_eq!(given["account_given_by"], "clerk");

        // The claimant sees it waiting, with old and new card masked, and no staff username;
        // a message on their home page tells them.
        let mine = json(&app, &zhang, &format!("/api/v1/claims/{claim}/payment")).await;
        assert_eq!(mine["awaiting_confirmation"], true);
        assert!(mine["account_given_by"].is_null(), "{l}: {mine}");
        assert_eq!(mine["account_changed"]["approved_with"], approved_card.masked());
        assert_eq!(mine["account_changed"]["now"], new_masked.as_str());
        let (_, home) = page(&app, &zhang, "/").await;
        assert!(home.contains("id=\"notices\"") && home.contains(&new_masked), "{l}: {home}");
        assert!(!home.contains(new_card), "{l}: the notice masks the card");
        let notices = json(&app, &zhang, "/api/v1/me/notices").await;
        assert!(notices[0]["text"]["en"].as_str().unwrap().contains(&new_masked), "{l}: {notices}");
        let (_, claim_page) = page(&app, &zhang, &format!("/claims/{claim}")).await;
        assert!(claim_page.contains("id=\"confirm-account\""), "{l}");
        let said = claim_page.split("id=\"account-check\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(said.contains("医保经办人员代为登记") && !said.contains("clerk"), "{l}: {said}");

        // Not batched until confirmed; the clerk who gave it cannot confirm it.
        let (status, body) =
            form(&app, &finance, "/payments/batches", &[("region", "620300"), ("up_to", "2026-11-23")]).await;
        assert_eq!(status, 422, "{l}: an unconfirmed account is not paid: {body}");
        let confirm = |token: &str, version: i64| {
            let path = format!("/api/v1/claims/{claim}/payment/account/confirm");
            app.http.post(app.url(&path)).bearer_auth(token).json(&serde_json::json!({ "version": version })).send()
        };
        let shown = given["version"].as_i64().unwrap();
        let same = confirm(&clerk, shown).await.unwrap();
        assert_eq!(same.status(), 422, "{l}");
        assert!(same.text().await.unwrap().contains("four_eyes"));
        let (_, staff_page) = page(&app, &clerk2, &format!("/claims/{claim}")).await;
        assert!(staff_page.contains("收款账户由 clerk 登记") && staff_page.contains("id=\"confirm-account\""), "{l}");
        // The confirmer sees the whole number to check it against the papers.
        assert!(staff_page.contains(new_card), "{l}: the confirmer sees the whole card");
        // An account given again after the confirmer looked is not confirmed unseen.
        let again = give().await.unwrap();
        let now = again.json::<serde_json::Value>().await.unwrap()["version"].as_i64().unwrap();
        assert_eq!(confirm(&clerk2, shown).await.unwrap().status(), 409, "{l}: stale");
        assert_eq!(confirm(&clerk2, now).await.unwrap().status(), 200, "{l}");
        assert_eq!(confirm(&clerk2, now + 1).await.unwrap().status(), 422, "{l}: nothing left to confirm");

        // Batched now, with the line flagged: old and new card, masked.
        let (status, to) =
            form(&app, &finance, "/payments/batches", &[("region", "620300"), ("up_to", "2026-11-23")]).await;
        assert_eq!(status, 303, "{l}: {to}");
        let batch_path = to.split('?').next().unwrap().to_string();
        let (_, body) = page(&app, &finance, &batch_path).await;
        let flag = format!("原 {}，现 {new_masked}", approved_card.masked());
        assert!(body.contains("account-changed") && body.contains(&flag), "{l}: {body}");
        let id = batch_path.rsplit('/').next().unwrap();
        let api = json(&app, &finance, &format!("/api/v1/payments/batches/{id}")).await;
        assert_eq!(api["items"][0]["account_changed"]["now"], new_masked.as_str(), "{l}: {api}");

        // The audit log has the change and its confirmation, masked, with digests.
        let entries = app.db.store.audit_entries_after(0, 100_000).await.unwrap();
        let change = entries.iter().rev().find(|e| e.action == "payment.account").expect("audited");
        assert!(change.after.contains(&new_masked) && change.after.contains("sha256"), "{l}: {}", change.after);
        assert!(entries.iter().any(|e| e.action == "payment.account_confirmed"), "{l}");
        for e in &entries {
            for card in [new_card, approved_card.as_str()] {
                assert!(!e.before.contains(card) && !e.after.contains(card), "{l}: {} holds a full card", e.action);
            }
        }
        app.db.cleanup().await;
    }
}

/// The card registered on a person, changed by a clerk, waits in the portal: the clerk's page
/// shows the change without a button, another clerk's with one, and the person confirms it
/// on their own record page; the API says the same.
#[tokio::test]
async fn a_registered_card_a_clerk_changes_is_confirmed_by_another_person_in_the_portal() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (clerk, clerk2, zhang) = (app.token("clerk").await, app.token("clerk2").await, app.token("zhangsan").await);
        let p = json(&app, &clerk, "/api/v1/persons/1").await;
        let old = p["bank_card"].as_str().unwrap().to_string();
        let card = yibao_core::BankCardNumber::complete("621700001000345678").unwrap();
        let body = serde_json::json!({
            "resident_id": p["resident_id"], "name": p["name"], "enrolment": p["enrolment"],
            "category": p["category"], "insured_region": p["insured_region"], "hukou_region": p["hukou_region"],
            "employer_id": p["employer_id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
            "bank_name": "中国建设银行", "bank_card": card.to_string(),
            "phone": p["phone"].as_str().unwrap_or_default(), "status": p["status"],
            "status_from": p["status_from"], "version": p["version"], "csrf": ""
        });
        let put = app.http.put(app.url("/api/v1/persons/1")).bearer_auth(&clerk).json(&body).send().await.unwrap();
        assert_eq!(put.status(), 200, "{l}: {}", put.text().await.unwrap());
        let changed = json(&app, &clerk, "/api/v1/persons/1").await;
        let was = changed["account_check"]["confirmed_bank_card"].as_str().unwrap();
        assert!(was.starts_with("****") && old.ends_with(&was[4..]), "{l}: {changed}");
        let (_, own) = page(&app, &clerk, "/persons/1").await;
        assert!(own.contains("id=\"account-check\"") && !own.contains("id=\"confirm-account\""), "{l}");
        let (_, other) = page(&app, &clerk2, "/persons/1").await;
        assert!(other.contains("id=\"confirm-account\""), "{l}");
        let (_, mine) = page(&app, &zhang, "/me").await;
        assert!(mine.contains("id=\"confirm-account\""), "{l}: the person confirms their own account");
        // The clerk who changed it is refused; the person's confirmation takes.
        let version = changed["version"].as_i64().unwrap().to_string();
        let (status, _) =
            form(&app, &clerk, "/persons/1/bank-account/confirm", &[("csrf", ""), ("version", &version)]).await;
        assert_eq!(status, 422, "{l}");
        let (status, to) =
            form(&app, &zhang, "/persons/1/bank-account/confirm", &[("csrf", ""), ("version", &version)]).await;
        assert_eq!((status, to.as_str()), (303, "/me"), "{l}");
        assert!(json(&app, &clerk, "/api/v1/persons/1").await["account_check"].is_null(), "{l}");
        app.db.cleanup().await;
    }
}
