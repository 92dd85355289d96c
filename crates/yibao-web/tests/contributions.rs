//! Online payment over HTTP, on SQLite and (where reachable) PostgreSQL: a flexible worker
//! pays through the simulated gateway without an account; only the gateway's signed
//! notification makes the order paid; a forged one is refused and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::spawn_app;
use reqwest::StatusCode;
use yibao_core::Fen;
use yibao_store::testing::TestDb;

/// The demo's first active flexible worker of 金昌 in service: (ID number, name).
pub async fn flexible_worker(store: &yibao_store::Store) -> (String, String) {
    use yibao_core::registry::{Enrolment, PersonCategory};
    let p = yibao_store::testing::demo_person(store, Enrolment::FlexibleEmployment, PersonCategory::InService).await;
    (p.resident_id.to_string(), p.name.to_string())
}

fn token(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_flexible_worker_pays_online_and_only_the_signed_notification_counts() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let (rid, name) = flexible_worker(&app.db.store).await;
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let csrf = token(&http.get(app.url("/pay")).send().await.unwrap().text().await.unwrap());

        // A wrong name is refused as an unknown number would be.
        let res =
            http.post(app.url("/pay")).form(&[("csrf", csrf.as_str()), ("resident_id", &rid), ("name", "张冒名")]);
        let page = res.send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"form-errors\"") && page.contains("不符"), "{l}");
        // The right one: the bases and the months due.
        let res = http.post(app.url("/pay")).form(&[("csrf", csrf.as_str()), ("resident_id", &rid), ("name", &name)]);
        let page = res.send().await.unwrap().text().await.unwrap();
        assert!(page.contains("name=\"percent\" value=\"60\"") && page.contains("287.70"), "{l}: {page}");
        // The order: on to the gateway's page.
        let form =
            [("csrf", csrf.as_str()), ("resident_id", &rid), ("name", &name), ("percent", "60"), ("months", "2")];
        let res = http.post(app.url("/pay/orders")).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{l}");
        let to = res.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/sim-pay/YB"), "{l}: {to}");
        let order_no = to.trim_start_matches("/sim-pay/").split('?').next().unwrap().to_string();
        let key = to.split("key=").nth(1).unwrap().to_string();

        // A forged notification: refused, the order still pending.
        let forged =
            serde_json::json!({"id": "F1", "order_no": order_no, "amount": "575.40", "txn": "X", "status": "SUCCESS"});
        let res = http
            .post(app.url("/api/v1/pay/notify/sim"))
            .header("x-sim-signature", "00".repeat(32))
            .body(forged.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{l}");
        let res = http.post(app.url("/api/v1/pay/notify/wechat")).body("{}").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{l}: no such gateway here");
        // The receipt link without its key is not found; with it, waiting.
        let res = http.get(app.url(&format!("/pay/orders/{order_no}?key=wrong"))).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{l}");
        let receipt = format!("/pay/orders/{order_no}?key={key}");
        let page = http.get(app.url(&receipt)).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("正在确认支付结果"), "{l}: the browser's word is not enough");

        // Paid at the gateway: its own notification comes a moment later.
        let res = http
            .post(app.url(&format!("/sim-pay/{order_no}")))
            .form(&[("key", key.as_str()), ("action", "pay")])
            .send();
        assert_eq!(res.await.unwrap().status(), StatusCode::SEE_OTHER, "{l}");
        let mut page = String::new();
        for _ in 0..50 {
            page = http.get(app.url(&receipt)).send().await.unwrap().text().await.unwrap();
            if page.contains("缴费成功") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(page.contains("缴费成功") && page.contains("575.40") && page.contains("电子缴费凭证"), "{l}: {page}");
        let person = app.db.store.person_by_resident_id(&rid.parse().unwrap()).await.unwrap().unwrap();
        let months = app.db.store.paid_months(person.id).await.unwrap();
        let online = months.iter().filter(|m| m.source == order_no).count();
        assert_eq!((online, months.len()), (2, 24), "{l}: November and December, after 22 months by receipts");

        // Logged in, the worker finds the receipt on 我的缴费, and what is due next.
        let mut w = app.db.store.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let account = yibao_store::NewAccount {
            username: "flexworker".into(),
            display_name: name.clone(),
            role: yibao_core::Role::Insured,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: yibao_core::Scope::new(Vec::new()),
            person_id: Some(person.id),
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        app.db.store.create_account(&mut w, &account).await.unwrap();
        w.commit().await.unwrap();
        let (mine, _) = common::portal_session(&app, "flexworker", "/my/contributions").await;
        let page = mine.get(app.url("/my/contributions")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"receipts\"") && page.contains(&receipt), "{l}: the receipt's link: {page}");
        let due = page.split("id=\"due\"").nth(1).map(|d| d.split("</p>").next().unwrap_or_default().to_string());
        assert!(due.as_deref().is_some_and(|d| d.contains("已缴至 2026-12")), "{l}: nothing more this year: {due:?}");
        app.db.cleanup().await;
    }
}

/// Finance reads the region's collection and arrears, and imports the bank's receipt file in
/// the portal: the matching line is recorded, the wrong one shown with why.
#[tokio::test]
async fn finance_imports_a_receipt_file_in_the_portal() {
    for db in TestDb::all().await {
        let app = spawn_app(db).await;
        let unit = app.db.store.employer(1).await.unwrap();
        let october = app.db.store.contribution_bills_of(unit.id).await.unwrap().remove(0);
        let (http, csrf) = common::portal_session(&app, "finance", "/contributions").await;
        let page = http.get(app.url("/contributions")).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains("id=\"collection\"") && page.contains("data-month=\"2026-09\""),
            "September's collection"
        );
        assert!(
            page.contains("id=\"arrears\"") && page.contains(&unit.name) && page.contains("2026-10"),
            "the arrears"
        );
        let csv = format!(
        "credit_code,month,amount,paid_on,reference\n{code},2026-10,1.00,2026-11-21,ZS8\n{code},2026-10,{},2026-11-21,ZS9\n",
        october.total.to_plain(),
        code = unit.credit_code
    );
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("到账.csv"));
        let page =
            http.post(app.url("/contributions/receipts")).multipart(form).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"receipt-results\""), "{page}");
        assert!(page.contains("不符") && page.contains("已入账"), "one refused with why, one recorded");
        assert!(page.contains("id=\"no-arrears\""), "October is paid now");
        app.db.cleanup().await;
    }
}

/// A unit uploads its declaration sheet: every wrong row is listed by its row, nothing is
/// declared; corrected, the month's bill. Over the API the same file is the request's body;
/// another unit's is not found.
#[tokio::test]
async fn a_unit_declares_a_month_from_its_sheet() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let s = &app.db.store;
        let employees = s.employees_of(1).await.unwrap();
        assert!(employees.len() >= 2, "{l}");
        let stranger = s.person(2).await.unwrap();
        assert!(stranger.employer_id != Some(1), "{l}");
        let (http, csrf) = common::portal_session(&app, "unit", "/unit/contributions").await;
        let page = http.get(app.url("/unit/contributions")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"declare-file-form\""), "{l}: the upload form");
        let upload = |csv: String| {
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .text("month", "2026-11")
                .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("11月申报.csv"));
            http.post(app.url("/unit/contributions/file")).multipart(form).send()
        };
        let (a, b) = (&employees[0].resident_id, &employees[1].resident_id);
        let bad = format!(
            "姓名,身份证号,月工资\n甲,{a},6850.00\n乙,{b},六千\n丙,{},5000\n丁,{a},6850.00\n",
            stranger.resident_id
        );
        let page = upload(bad).await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"form-errors\""), "{l}: {page}");
        assert!(page.contains("第 3 行"), "{l}: the wage that is not an amount, by its row");
        let before = s.contribution_bills_of(1).await.unwrap();
        assert!(before.iter().all(|b| b.month.to_string() != "2026-11"), "{l}: nothing declared");
        let page =
            upload(format!("姓名,身份证号,月工资\n丙,{},5000\n甲,{a},6850.00\n甲,{a},6850.00\n", stranger.resident_id))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        assert!(page.contains("第 2 行") && page.contains("不是本单位职工"), "{l}: the stranger by row");
        assert!(page.contains("第 4 行") && page.contains("重复申报"), "{l}: the second line of 甲 by row");

        let good = format!("身份证号,月工资\n{a},\"6,850.00\"\n{b},5000\n");
        let r = upload(good.clone()).await.unwrap();
        let to = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert_eq!((r.status().as_u16(), to.as_str()), (303, "/unit/contributions?done=declared"), "{l}");
        let bill = s.contribution_bills_of(1).await.unwrap().into_iter().find(|b| b.month.to_string() == "2026-11");
        let bill = s.contribution_bill(bill.unwrap_or_else(|| panic!("{l}: November's bill")).id).await.unwrap();
        let wages: Vec<Fen> = bill.lines.iter().map(|x| x.wage).collect();
        assert_eq!(wages, [Fen::from_yuan(6_850), Fen::from_yuan(5_000)], "{l}");

        // The API: the body is the file; another unit's number is not found.
        let api = app.token("unit").await;
        let r = app
            .http
            .post(app.url("/api/v1/employers/1/declarations/2026-11/file"))
            .bearer_auth(&api)
            .body(good.clone().into_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{l}: declared again before it is paid");
        assert!(s.employer(2).await.is_ok(), "{l}: another unit");
        let r = app
            .http
            .post(app.url("/api/v1/employers/2/declarations/2026-11/file"))
            .bearer_auth(&api)
            .body(good.into_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{l}");
        app.db.cleanup().await;
    }
}

/// WeChat Pay's notifications as recorded (made by `fixtures/wechatpay/record.py` with
/// Python's `cryptography`): the paid one marks the order paid once — again, it changes
/// nothing; one for another amount is kept and harmless; a forged one is refused (401).
#[tokio::test]
async fn recorded_wechat_pay_notifications_pay_an_order_once() {
    use yibao_core::registry::{Enrolment, PersonCategory};
    use yibao_web::gateway::wechat::{WechatConfig, WechatPay};
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/wechatpay/notifications.json")).unwrap();
    for db in TestDb::all().await {
        let l = db.label;
        let wechat = WechatPay::new(WechatConfig {
            mchid: recorded["mchid"].as_str().unwrap().into(),
            appid: recorded["appid"].as_str().unwrap().into(),
            api_v3_key: recorded["api_v3_key"].as_str().unwrap().into(),
            serial: recorded["serial"].as_str().unwrap().into(),
            public_key_pem: include_str!("fixtures/wechatpay/platform-public.pem").into(),
            // The recordings are of a fixed moment; the adapter's own test checks the window.
            max_skew_secs: i64::MAX / 2,
            pay_url: "https://pay.example/h5/{order}".into(),
        })
        .unwrap();
        let app = common::spawn_app_with(db, std::sync::Arc::new(wechat)).await;
        let s = &app.db.store;
        let worker =
            yibao_store::testing::demo_person(s, Enrolment::FlexibleEmployment, PersonCategory::InService).await;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let buy = yibao_store::Purchase::Flexible { percent: 60, months: 2 };
        let mut w = s.begin_write(&yibao_store::Actor::system("test")).await.unwrap();
        let order = s.create_online_order(&mut w, &worker, &buy, "wechat", today).await.unwrap();
        w.commit().await.unwrap();
        // The recordings name the demo's fourth order, at 575.40.
        assert_eq!(
            (order.order_no.as_str(), order.amount),
            (recorded["order"].as_str().unwrap(), "575.40".parse().unwrap()),
            "{l}"
        );
        let post = |name: &str| {
            let case = recorded["cases"][name].clone();
            let (http, url) = (app.http.clone(), app.url("/api/v1/pay/notify/wechat"));
            async move {
                let mut req = http.post(url).body(case["body"].as_str().unwrap().to_string());
                for (k, v) in case["headers"].as_object().unwrap() {
                    req = req.header(k.as_str(), v.as_str().unwrap());
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                (status, res.json::<serde_json::Value>().await.unwrap_or_default())
            }
        };
        let (status, forged) = post("forged").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{l}: {forged}");
        let (status, other) = post("other_amount").await;
        assert_eq!((status, other["outcome"].as_str()), (StatusCode::OK, Some("amount_mismatch")), "{l}");
        assert_eq!(s.online_order(&order.order_no).await.unwrap().state, "pending", "{l}");
        let (status, paid) = post("paid").await;
        assert_eq!(
            (status, paid["code"].as_str(), paid["outcome"].as_str()),
            (StatusCode::OK, Some("SUCCESS"), Some("paid")),
            "{l}"
        );
        let (_, again) = post("paid").await;
        assert_eq!(again["outcome"], "duplicate", "{l}");
        let paid = s.online_order(&order.order_no).await.unwrap();
        assert_eq!(paid.state, "paid", "{l}");
        let months = s.paid_months(worker.id).await.unwrap();
        assert_eq!(months.iter().filter(|m| m.source == order.order_no).count(), 2, "{l}: paid once");
        app.db.cleanup().await;
    }
}

/// 个人账户支取 in the portal: the clerk records 张三's withdrawal at the window — refused
/// with the paper missing named, then accepted; the clerk cannot decide it; finance sees it
/// waiting (with the demo's colleague leaving the region) and approves it; 张三 reads it on
/// his account page with the payment order, and the payment books reconcile.
#[tokio::test]
async fn a_clerk_records_a_withdrawal_and_finance_approves_it() {
    for db in TestDb::all().await {
        let l = db.label;
        let app = spawn_app(db).await;
        let s = &app.db.store;
        let before = s.individual_account(1).await.unwrap().unwrap().balance;
        let (clerk, csrf) = common::portal_session(&app, "clerk", "/persons/1/withdrawals").await;
        let page = clerk.get(app.url("/persons/1/withdrawals")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"withdrawal-form\"") && page.contains(&before.to_grouped()), "{l}: {page}");
        let post = |papers: &'static [&'static str]| {
            let mut form = vec![("csrf", csrf.clone()), ("reason", "window".into()), ("amount", "200.00".into())];
            form.extend(papers.iter().map(|p| (*p, "1".to_string())));
            clerk.post(app.url("/persons/1/withdrawals")).form(&form).send()
        };
        let page = post(&["paper_window_card"]).await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"form-errors\"") && page.contains("缺少材料：本人居民身份证"), "{l}: {page}");
        let r = post(&["paper_window_card", "paper_window_id_card"]).await.unwrap();
        assert_eq!(r.status(), 303, "{l}");
        let to = r.headers()["location"].to_str().unwrap().to_string();
        let id: i64 = to.trim_start_matches("/withdrawals/").split('?').next().unwrap().parse().unwrap();
        let asked = s.withdrawal(id).await.unwrap();
        assert_eq!((asked.state.as_str(), asked.requested), ("requested", Some(Fen::from_yuan(200))), "{l}");
        let token = app.token("clerk").await;
        let decide = serde_json::json!({ "version": asked.version, "approve": true });
        let r = app.http.post(app.url(&format!("/api/v1/withdrawals/{id}/decision"))).bearer_auth(&token).json(&decide);
        assert_eq!(r.send().await.unwrap().status(), 403, "{l}: a clerk does not decide");

        let (finance, csrf) = common::portal_session(&app, "finance", "/withdrawals").await;
        let page = finance.get(app.url("/withdrawals")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&asked.number) && page.contains("转出统筹区"), "{l}: both waiting: {page}");
        let form = [("csrf", csrf), ("version", asked.version.to_string()), ("decision", "approve".into())];
        let r = finance.post(app.url(&format!("/withdrawals/{id}/decision"))).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "{l}");
        let done = s.withdrawal(id).await.unwrap();
        assert_eq!(done.amount, Some(Fen::from_yuan(200)), "{l}");
        assert_eq!(s.individual_account(1).await.unwrap().unwrap().balance, before.saturating_sub(Fen::from_yuan(200)));
        let order = s.payment_of_withdrawal(id).await.unwrap().unwrap();
        assert!(s.reconcile_payments().await.unwrap().balances(), "{l}");

        let (zhang, _) = common::portal_session(&app, "zhangsan", "/my/account").await;
        let page = zhang.get(app.url("/my/account")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"withdrawals\"") && page.contains(&asked.number), "{l}");
        let page = zhang.get(app.url(&format!("/withdrawals/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(
            page.contains(&order.number) && page.contains(" · 工号 "),
            "{l}: staff by role and number to him: {page}"
        );
        let colleague = s.withdrawals_waiting().await.unwrap();
        let other = zhang.get(app.url(&format!("/withdrawals/{}", colleague[0].id))).send().await.unwrap();
        assert_eq!(other.status(), 404, "{l}: another person's withdrawal");

        // Before the batch, a clerk corrects the account: it waits for a second person — 张三
        // himself confirms it; only then may it be batched.
        let card = yibao_core::BankCardNumber::complete("621700271000000000").unwrap().to_string();
        let account = serde_json::json!({ "bank_name": "中国建设银行金昌分行", "bank_card": card });
        let path = format!("/api/v1/withdrawals/{id}/payment/account");
        let r = app.http.put(app.url(&path)).bearer_auth(&token).json(&account).send().await.unwrap();
        assert_eq!(r.status(), 200, "{l}: {}", r.text().await.unwrap());
        let given = s.payment_of_withdrawal(id).await.unwrap().unwrap();
        assert_eq!(given.account_unconfirmed_by.as_deref(), Some("clerk"), "{l}");
        let notices = s.notices_of(1, 5).await.unwrap();
        assert!(notices.iter().any(|n| n.text.zh.contains("个人账户支取款")), "{l}: he is told");
        let page = zhang.get(app.url(&format!("/withdrawals/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"confirm-account-form\""), "{l}: he is asked to confirm it");
        let me = app.token("zhangsan").await;
        let confirm = serde_json::json!({ "version": given.version });
        let r =
            app.http.post(app.url(&format!("{path}/confirm"))).bearer_auth(&me).json(&confirm).send().await.unwrap();
        assert_eq!(r.status(), 200, "{l}: {}", r.text().await.unwrap());
        let confirmed = s.payment_of_withdrawal(id).await.unwrap().unwrap();
        assert_eq!(
            (confirmed.account_unconfirmed_by, confirmed.bank_card.map(|c| c.to_string())),
            (None, Some(card)),
            "{l}"
        );
        let finance_token = app.token("finance").await;
        let r = app.http.put(app.url(&path)).bearer_auth(&finance_token).json(&account).send().await.unwrap();
        assert_eq!(r.status(), 403, "{l}: finance does not say where the money goes");
        app.db.cleanup().await;
    }
}
