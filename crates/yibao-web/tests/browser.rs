//! The portal in a real headless Chromium (Debian's chromium + chromedriver): log in as a
//! clerk, find a person, switch the language. Skipped (and says so) where chromedriver is
//! missing, unless YIBAO_REQUIRE_BROWSER=1 (as in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::spawn_app;
use fantoccini::{ClientBuilder, Locator};
use yibao_store::testing::TestDb;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A headless Chromium driven through chromedriver; `None` (and a SKIPPED line) where
/// chromedriver is missing and the browser is not required.
struct Browser {
    client: fantoccini::Client,
    profile: std::path::PathBuf,
    _driver: Driver,
}

impl Browser {
    async fn start() -> Option<Browser> {
        let required = std::env::var("YIBAO_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists());
        let Some(driver_bin) = driver_bin else {
            assert!(!required, "chromedriver is required (YIBAO_REQUIRE_BROWSER=1) but not installed");
            eprintln!("SKIPPED: browser test — chromedriver not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        let port = free_port();
        let driver = Driver(
            Command::new(driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let profile = std::env::temp_dir().join(format!("yibao-chrome-{port}"));
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
                         "--lang=zh-CN"]
            }
        });
        // Up to 30 s: on a loaded two-core machine (the other tests running beside this one)
        // chromedriver and Chromium can take well over 10 s to start.
        let mut last = String::new();
        for _ in 0..150 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.as_object().unwrap().clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => return Some(Browser { client, profile, _driver: driver }),
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
            }
        }
        panic!("could not connect to chromedriver on port {port}: {last}");
    }

    async fn log_in(&self, app: &common::App, user: &str) {
        let c = &self.client;
        c.goto(&app.url("/login")).await.unwrap();
        c.find(Locator::Id("username")).await.unwrap().send_keys(user).await.unwrap();
        c.find(Locator::Id("password")).await.unwrap().send_keys("demo2026").await.unwrap();
        c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
        // The log-in page has a language switch too: wait until it has been left.
        self.wait_for_url(|u| !u.path().starts_with("/login")).await;
        c.wait().for_element(Locator::Id("lang-switch")).await.unwrap();
    }

    /// Waits (up to 10 s) until the browser's URL satisfies `ok`, so that a click's
    /// navigation has finished before the next page is read.
    async fn wait_for_url(&self, ok: impl Fn(&reqwest::Url) -> bool) {
        for _ in 0..100 {
            if ok(&self.client.current_url().await.unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page did not change: {}", self.client.current_url().await.unwrap());
    }

    /// Runs `script` until what it returns is `ok`, for up to ten seconds; what it returned.
    async fn wait_for_js(&self, script: &str, ok: impl Fn(&serde_json::Value) -> bool) -> String {
        let mut last = serde_json::Value::Null;
        for _ in 0..100 {
            last = self.client.execute(script, vec![]).await.unwrap();
            if ok(&last) {
                return last.as_str().map_or_else(|| last.to_string(), str::to_string);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed it: {last}");
    }

    async fn fill(&self, name: &str, value: &str) {
        let input = self.client.find(Locator::Css(&format!("[name='{name}']"))).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// Sets the value of the field `css` selects (date inputs, whose typing depends on the
    /// browser's locale).
    async fn set(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![serde_json::Value::from(css), serde_json::Value::from(value)],
            )
            .await
            .unwrap();
    }

    async fn body(&self) -> String {
        self.client.find(Locator::Css("body")).await.unwrap().text().await.unwrap()
    }

    async fn close(self) {
        self.client.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

#[tokio::test]
async fn clerk_logs_in_finds_a_person_and_switches_language() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;

    // Log in as the intake clerk.
    c.goto(&app.url("/persons")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/login"), "anonymous users are sent to log in");
    c.find(Locator::Id("username")).await.unwrap().send_keys("clerk").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys("demo2026").await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("q")).await.unwrap();

    // Find 张三 by the start of his resident ID number; the list is masked.
    c.find(Locator::Id("q")).await.unwrap().send_keys("6203021985061200").await.unwrap();
    c.find(Locator::Id("search")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("q="))).await;
    let table = c.wait().for_element(Locator::Id("results")).await.unwrap();
    let text = table.text().await.unwrap();
    assert!(text.contains("张*") && text.contains("6203**********0036"), "{text}");
    assert!(text.contains("职工基本医疗保险"), "Chinese by default: {text}");

    // Open the detail page: a clerk sees the whole record.
    c.find(Locator::LinkText("详情")).await.unwrap().click().await.unwrap();
    let rid = c.wait().for_element(Locator::Id("person-rid")).await.unwrap().text().await.unwrap();
    assert_eq!(rid, yibao_demo::DEMO_INSURED_ID);

    // Switch to English; the choice is remembered on the next page.
    c.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("person-rid")).await.unwrap();
    let body = browser.body().await;
    assert!(body.contains("Employee basic medical insurance") && body.contains("Resident ID number"), "{body}");
    c.goto(&app.url("/persons")).await.unwrap();
    let body = browser.body().await;
    assert!(body.contains("Insured persons") && body.contains("Search"), "{body}");
    let shot = c.screenshot().await.unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("yibao-persons-en.png"), shot);

    browser.close().await;
    app.db.cleanup().await;
}

#[tokio::test]
async fn administrator_creates_an_account_and_the_new_clerk_registers_an_employer() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;

    // The system administrator opens the new-account form; a weak password is refused in Chinese.
    browser.log_in(&app, "admin").await;
    c.goto(&app.url("/accounts")).await.unwrap();
    c.find(Locator::Id("new-account")).await.unwrap().click().await.unwrap();
    browser.fill("username", "clerk9").await;
    browser.fill("display_name", "新经办员").await;
    browser.fill("scope", "620302").await;
    browser.fill("password", "short").await;
    c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("密码至少 8 位"), "{errors}");
    browser.fill("password", "clerk9pass").await;
    c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let table = c.wait().for_element(Locator::Id("accounts")).await.unwrap().text().await.unwrap();
    assert!(
        table.contains("clerk9") && table.contains("新经办员") && table.contains("待另一名系统管理员复核"),
        "{table}"
    );
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    // A second administrator approves the new staff account.
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    browser.log_in(&app, "admin2").await;
    c.goto(&app.url("/accounts")).await.unwrap();
    c.find(Locator::Css("tr[data-account='clerk9'] .approve-account")).await.unwrap().click().await.unwrap();
    // The approver is shown an activation code, once, to hand over.
    let code = c.wait().for_element(Locator::Id("activation-code")).await.unwrap().text().await.unwrap();
    assert_eq!(code.len(), 8, "{code}");
    // The holder's first password: the creator's followed by the approver's code.
    let otp = format!("clerk9pass{code}");
    c.goto(&app.url("/accounts")).await.unwrap();
    let table = c.wait().for_element(Locator::Id("accounts")).await.unwrap().text().await.unwrap();
    assert!(!table.contains("待另一名系统管理员复核"), "approved: {table}");
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    // The new clerk logs in with both and must choose their own password first.
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys("clerk9").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(&otp).await.unwrap();
    c.find(Locator::Id("login-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.path() == "/password").await;
    c.wait().for_element(Locator::Id("password-required")).await.unwrap();
    c.goto(&app.url("/employers")).await.unwrap();
    browser.wait_for_url(|u| u.path() == "/password").await;
    for (name, value) in [("current", otp.as_str()), ("new", "clerk9mine1"), ("repeat", "clerk9mine2")] {
        c.find(Locator::Css(&format!("[name='{name}']"))).await.unwrap().send_keys(value).await.unwrap();
    }
    c.find(Locator::Id("change-password")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("两次输入的新密码不一致"), "{errors}");
    for (name, value) in [("current", otp.as_str()), ("new", "clerk9mine1"), ("repeat", "clerk9mine1")] {
        c.find(Locator::Css(&format!("[name='{name}']"))).await.unwrap().send_keys(value).await.unwrap();
    }
    c.find(Locator::Id("change-password")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.path() == "/").await;
    c.wait().for_element(Locator::Id("lang-switch")).await.unwrap();
    c.goto(&app.url("/employers")).await.unwrap();
    c.find(Locator::Id("new-employer")).await.unwrap().click().await.unwrap();
    assert_eq!(
        c.find(Locator::Css("[name='region']")).await.unwrap().prop("value").await.unwrap().as_deref(),
        Some("620302"),
        "the region defaults to the clerk's own"
    );
    browser.fill("credit_code", "91620302MA74A1B2CK").await;
    browser.fill("name", "嘉峪关市新材料有限公司").await;
    c.find(Locator::Id("save")).await.unwrap().click().await.unwrap();
    let table = c.wait().for_element(Locator::Id("employers")).await.unwrap().text().await.unwrap();
    assert!(table.contains("嘉峪关市新材料有限公司"), "{table}");

    browser.close().await;
    app.db.cleanup().await;
}

#[tokio::test]
async fn policy_administrator_uploads_a_catalog_and_is_told_what_was_refused() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    browser.log_in(&app, "policy").await;

    // The seeded policies are listed; a broken paste is refused with the place of the problem.
    let nav = c.wait().for_element(Locator::Css("nav")).await.unwrap().text().await.unwrap();
    assert!(nav.contains("政策") && nav.contains("医保目录"), "the policy administrator's menu: {nav}");
    c.goto(&app.url("/policies")).await.unwrap();
    let table = c.wait().for_element(Locator::Id("policies")).await.unwrap().text().await.unwrap();
    assert!(table.contains("金昌市职工基本医疗保险2026年度待遇标准"), "{table}");
    let broken = yibao_demo::DEMO_POLICIES[1].replacen("version = 1", "version = 2", 1).replacen(
        "annual_cap = \"",
        "annual_cap = \"-",
        1,
    );
    // Typing a whole document is slow; set the textarea's value directly.
    c.execute(
        "document.getElementById('policy-document').value = arguments[0];",
        vec![serde_json::Value::String(broken)],
    )
    .await
    .unwrap();
    c.find(Locator::Id("import-policy")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("政策未导入") && errors.contains("annual_cap："), "{errors}");

    // A catalog file with one good and one bad row: the good row is stored, the bad one explained.
    let file = std::env::temp_dir().join(format!("yibao-catalog-{}.csv", std::process::id()));
    std::fs::write(
        &file,
        "admdvs,med_list_codg,name,chrgitm_lv,selfpay_prop,begndate\n\
         620300,XJ01CAA099C001000100009,阿莫西林分散片,02,0.10,2026-01-01\n\
         620300,XJ01CAA099C001000100010,阿莫西林干混悬剂,02,0.10,2026-02-30\n",
    )
    .unwrap();
    c.goto(&app.url("/catalogs")).await.unwrap();
    c.wait().for_element(Locator::Id("catalog-form")).await.unwrap();
    c.find(Locator::Css("#catalog-form input[type='file']"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    c.find(Locator::Id("import-catalog")).await.unwrap().click().await.unwrap();
    let summary = c.wait().for_element(Locator::Id("import-summary")).await.unwrap().text().await.unwrap();
    assert!(summary.contains("已导入: 1") && summary.contains("未导入行数: 1"), "{summary}");
    let rejected = c.find(Locator::Id("rejected-rows")).await.unwrap().text().await.unwrap();
    assert!(rejected.contains("begndate") && rejected.contains("日期“2026-02-30”无效"), "{rejected}");
    let shot = c.screenshot().await.unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("yibao-catalog-report.png"), shot);

    // The stored entry is found by name.
    c.goto(&app.url("/catalogs")).await.unwrap();
    // The header has the staff search box (also `q`): this is the catalog's own.
    browser.set("#catalog-search input[name='q']", "阿莫西林分散").await;
    c.find(Locator::Css("#catalog-search button")).await.unwrap().click().await.unwrap();
    let found = c.wait().for_element(Locator::Id("catalog-entries")).await.unwrap().text().await.unwrap();
    assert!(found.contains("XJ01CAA099C001000100009") && found.contains("乙类"), "{found}");

    let _ = std::fs::remove_file(file);
    browser.close().await;
    app.db.cleanup().await;
}

#[tokio::test]
async fn an_insured_person_files_off_site_treatment_and_a_clerk_approves_it() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;

    // 张三 finds the page in his menu and asks about a Lanzhou hospital: not filed.
    browser.log_in(&app, "zhangsan").await;
    c.find(Locator::LinkText("我的医保卡在哪能用")).await.unwrap().click().await.unwrap();
    let state = c.wait().for_element(Locator::Id("card-state")).await.unwrap().text().await.unwrap();
    assert_eq!(state, "正常");
    c.find(Locator::Id("ask-institution")).await.unwrap().select_by_value("H62010200001").await.unwrap();
    browser.set("#ask-date", "2026-11-26").await;
    c.find(Locator::Id("ask-submit")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("institution=H62010200001"))).await;
    let result = c.wait().for_element(Locator::Id("cover-result")).await.unwrap();
    assert_eq!(result.attr("data-code").await.unwrap().as_deref(), Some("not_filed"));
    assert!(result.text().await.unwrap().contains("异地就医未备案"));

    // A long-term filing without a destination or residence proof is refused, in Chinese.
    c.find(Locator::Id("filing-kind")).await.unwrap().select_by_value("long_term_resident").await.unwrap();
    c.find(Locator::Id("filing-submit")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("长期居住类备案须选择具体的省或市") && errors.contains("居住证"), "{errors}");

    // Other temporary travel to Lanzhou from the 25th, with a photo of the relatives'
    // community residence certificate chosen from disk: submitted, waiting.
    c.find(Locator::Id("filing-kind")).await.unwrap().select_by_value("temporary_other").await.unwrap();
    browser.fill("destination", "620100").await;
    browser.set("#filing-start", "2026-11-25").await;
    c.find(Locator::Id("filing-document")).await.unwrap().select_by_value("residence_certificate").await.unwrap();
    let photo = std::env::temp_dir().join(format!("yibao-residence-{}.png", std::process::id()));
    std::fs::write(&photo, yibao_demo::DEMO_SCAN_PNG).unwrap();
    c.find(Locator::Id("filing-file")).await.unwrap().send_keys(&photo.display().to_string()).await.unwrap();
    c.find(Locator::Id("filing-submit")).await.unwrap().click().await.unwrap();
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("备案申请已提交"), "{notice}");
    let pending = c.find(Locator::Css("#filings tr[data-status='applied']")).await.unwrap().text().await.unwrap();
    assert!(
        pending.contains("其他临时外出就医") && pending.contains("甘肃省兰州市") && pending.contains("2027-05-24"),
        "{pending}"
    );
    assert!(pending.contains("查看扫描件：社区居住证明"), "the photo went with the form: {pending}");
    let _ = std::fs::remove_file(&photo);
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    // The clerk sees it in the queue and approves it.
    browser.log_in(&app, "clerk").await;
    c.find(Locator::LinkText("异地备案")).await.unwrap().click().await.unwrap();
    let rows =
        c.wait().for_element(Locator::Id("queue")).await.unwrap().find_all(Locator::Css("tbody tr")).await.unwrap();
    let mut approved = false;
    for row in rows {
        if row.text().await.unwrap().contains("张三") {
            // The clerk opens the photo (in this tab, to read it) before deciding.
            let href = row.find(Locator::Css("a.file")).await.unwrap().attr("href").await.unwrap().unwrap();
            c.goto(&app.url(&href)).await.unwrap();
            let shown = c.execute("return document.contentType;", vec![]).await.unwrap();
            assert_eq!(shown.as_str(), Some("image/png"));
            c.back().await.unwrap();
            let row = c.wait().for_element(Locator::XPath("//table[@id='queue']//tr[contains(., '张三')]")).await;
            row.unwrap().find(Locator::Css("button.approve")).await.unwrap().click().await.unwrap();
            approved = true;
            break;
        }
    }
    assert!(approved, "张三's application is in the clerk's queue");
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("审核结果已保存"), "{notice}");
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    // 张三 asks again: filed, and the hospital may settle directly.
    browser.log_in(&app, "zhangsan").await;
    c.goto(&app.url("/my/cover?institution=H62010200001&date=2026-11-26")).await.unwrap();
    let result = c.wait().for_element(Locator::Id("cover-result")).await.unwrap();
    assert_eq!(result.attr("data-code").await.unwrap().as_deref(), Some("filed"));
    let text = result.text().await.unwrap();
    assert!(text.contains("可以持卡直接结算") && text.contains("有效期至 2027-05-24"), "{text}");
    let shot = c.screenshot().await.unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("yibao-my-cover.png"), shot);

    browser.close().await;
    app.db.cleanup().await;
}

/// 张三 opens 「我的结算」, sees his individual account and the visit the hospital settled
/// directly, and opens its printable settlement list: the charges add up to the total, the
/// funds and his cash to the same total, and printing hides the site's header.
#[tokio::test]
async fn an_insured_person_reads_the_settlement_list_of_a_direct_settlement() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    browser.log_in(&app, "zhangsan").await;
    c.find(Locator::LinkText("我的结算")).await.unwrap().click().await.unwrap();
    let balance = c.wait().for_element(Locator::Id("account-balance")).await.unwrap().text().await.unwrap();
    let opening = yibao_demo::DEMO_ACCOUNT_OPENING.fen();
    let balance: yibao_core::Fen = balance.replace(',', "").parse().unwrap();
    assert!(balance.fen() > 0 && balance.fen() < opening, "the settlement was paid partly from the account: {balance}");
    let rows = c.find(Locator::Id("settlements")).await.unwrap().text().await.unwrap();
    assert!(rows.contains("金昌市中心医院") && rows.contains("已结算"), "{rows}");

    c.find(Locator::LinkText("结算清单")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("settlement-list")).await.unwrap();
    let amount = |v: &serde_json::Value| -> i64 {
        v.as_str().unwrap().replace(',', "").parse::<yibao_core::Fen>().unwrap().fen()
    };
    // Read the tables' numbers in the page itself.
    let sums = c
        .execute(
            "const n = s => s.trim().replace(/,/g, '');
             const charges = [...document.querySelectorAll('#charges tbody tr:not(.total) td:nth-child(2)')].map(td => n(td.textContent));
             const paid = [...document.querySelectorAll('#funds tbody td.num')].map(td => n(td.textContent));
             return [charges, paid, n(document.getElementById('medfee').textContent),
                     getComputedStyle(document.querySelector('header.top')).display];",
            vec![],
        )
        .await
        .unwrap();
    let total = amount(&sums[2]);
    let charges: i64 = sums[0].as_array().unwrap().iter().map(amount).sum();
    let paid: i64 = sums[1].as_array().unwrap().iter().map(amount).sum();
    assert_eq!(charges, total, "the charge categories add up to the total");
    assert_eq!(paid, total, "the funds, the account and the cash add up to the total");
    let body = browser.body().await;
    assert!(body.contains("张三") && body.contains("起付线") && body.contains("逐项说明"), "{body}");
    assert_eq!(sums[3], "flex", "on screen the header shows");
    // In print, the header and the print button are hidden.
    let hidden = c
        .execute(
            "const rule = [...document.styleSheets[0].cssRules].find(r => r.media && r.media.mediaText === 'print');
             return rule ? rule.cssRules[0].selectorText : '';",
            vec![],
        )
        .await
        .unwrap();
    assert!(hidden.as_str().unwrap().contains(".noprint"), "{hidden}");
    browser.close().await;
    app.db.cleanup().await;
}

/// 张三 asks which papers an off-site outpatient claim needs, starts the claim from the
/// checklist, types two lines of the itemised list (the amounts left for the form to work
/// out), attaches a scan for every item from disk and hands it in; the clerk finds it in the
/// queue and accepts it; 张三 reads the statement: every line says why, the lines' fund
/// shares add up to what the funds pay, and the funds and his share to the total.
#[tokio::test]
async fn an_insured_person_claims_with_uploaded_papers_and_reads_the_statement() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;

    browser.log_in(&app, "zhangsan").await;
    c.find(Locator::LinkText("我的报销")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("guide-link")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("input[value='offsite_outpatient']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Id("guide-submit")).await.unwrap().click().await.unwrap();
    let checklist = c.wait().for_element(Locator::Id("checklist")).await.unwrap().text().await.unwrap();
    assert!(checklist.contains("异地门诊") && checklist.contains("核实参保人身份"), "{checklist}");
    let deadline = c.find(Locator::Id("deadline")).await.unwrap().text().await.unwrap();
    assert!(deadline.contains("1 个月"), "{deadline}");
    c.find(Locator::Id("start-claim")).await.unwrap().click().await.unwrap();

    c.wait().for_element(Locator::Id("claim-form")).await.unwrap();
    assert!(c.find(Locator::Id("claim-for")).await.unwrap().text().await.unwrap().contains("张三"));
    c.find(Locator::Css("select[name='med_type']")).await.unwrap().select_by_value("11").await.unwrap();
    // The hospital by name, no codes: typing part of it offers the registry's hospitals, with
    // grade, region and whether designated; its code, region and grade follow the name.
    browser.fill("institution_name", "兰州大学第").await;
    let offered = browser
        .wait_for_js("return [...document.querySelectorAll('#institution-options option')].map(o => o.value + ' ' + o.label).join('|');", |v| v.as_str().is_some_and(|s| s.contains("兰州大学第一医院")))
        .await;
    assert!(offered.contains("三级") && offered.contains("定点"), "{offered}");
    browser.fill("institution_name", "兰州大学第一医院").await;
    // Changing the case (and back) shows its papers again and keeps what was typed.
    for case in ["offsite_inpatient", "offsite_outpatient"] {
        c.execute("window.__before = true;", vec![]).await.unwrap();
        c.find(Locator::Id("claim-case")).await.unwrap().select_by_value(case).await.unwrap();
        browser
            .wait_for_js("return window.__before === undefined && document.readyState === 'complete';", |v| {
                v.as_bool() == Some(true)
            })
            .await;
        let typed = c.find(Locator::Id("institution-name")).await.unwrap().prop("value").await.unwrap();
        assert_eq!(typed.as_deref(), Some("兰州大学第一医院"), "kept across the change to {case}");
    }
    browser.set("[name='care_start']", "2026-11-18").await;
    browser.set("[name='care_end']", "2026-11-18").await;
    browser.fill("diagnoses", "J06.9").await;
    browser.fill("invoice_no_1", "LZ-BROWSER-1").await;
    browser.set("[name='invoice_date_1']", "2026-11-18").await;
    browser.fill("invoice_amount_1", "111.75").await;
    for (n, code, cnt, pric) in [("1", "002201000010000", "2", "25"), ("2", "XA01ABD075A002010100483", "5", "12.35")] {
        browser.fill(&format!("line_code_{n}"), code).await;
        browser.fill(&format!("line_cnt_{n}"), cnt).await;
        browser.fill(&format!("line_pric_{n}"), pric).await;
    }
    browser.set("[name='line_date_1']", "2026-11-18").await;
    browser.set("[name='line_date_2']", "2026-11-18").await;
    let scan = std::env::temp_dir().join(format!("yibao-claim-scan-{}.png", std::process::id()));
    std::fs::write(&scan, yibao_demo::DEMO_SCAN_PNG).unwrap();
    let inputs = c.find_all(Locator::Css("#document-rows input[type='file']")).await.unwrap();
    // Every checklist row gets its scan; the two extra rows stay empty.
    for input in &inputs[..inputs.len() - 2] {
        input.send_keys(&scan.display().to_string()).await.unwrap();
    }
    c.find(Locator::Id("claim-submit")).await.unwrap().click().await.unwrap();
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("报销申请已提交"), "{notice}");
    let _ = std::fs::remove_file(&scan);
    let number = c.find(Locator::Id("claim-number")).await.unwrap().text().await.unwrap();
    let papers = c.find_all(Locator::Css("#claim-documents li")).await.unwrap().len();
    assert_eq!(papers, inputs.len() - 2, "every scan went with the form");
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    // The clerk's queue opens on the claims waiting for intake.
    browser.log_in(&app, "clerk").await;
    c.find(Locator::LinkText("零星报销")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("claims")).await.unwrap();
    c.find(Locator::LinkText(&number)).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("accept")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=step_accept"))).await;
    let state = c.wait().for_element(Locator::Id("claim-state")).await.unwrap();
    assert_eq!(state.attr("data-state").await.unwrap().as_deref(), Some("adjudicated"));
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    browser.log_in(&app, "zhangsan").await;
    c.find(Locator::LinkText("我的报销")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::LinkText(&number)).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("statement")).await.unwrap();
    let read = c
        .execute(
            "const n = s => s.trim().replace(/,/g, '');
             const col = k => [...document.querySelectorAll('#statement-lines tbody tr[data-seq] td.' + k)].map(td => n(td.textContent));
             const why = [...document.querySelectorAll('#statement-lines tbody tr[data-seq] ul.why')].map(u => u.children.length);
             return [col('line-amount'), col('line-fund'), col('line-person'), why,
                     n(document.getElementById('statement-medfee').textContent),
                     n(document.getElementById('statement-fund').textContent),
                     n(document.getElementById('statement-person').textContent)];",
            vec![],
        )
        .await
        .unwrap();
    let fen = |v: &serde_json::Value| v.as_str().unwrap().parse::<yibao_core::Fen>().unwrap().fen();
    let sum = |i: usize| -> i64 { read[i].as_array().unwrap().iter().map(fen).sum() };
    assert_eq!(read[0].as_array().unwrap().len(), 2, "two lines: {read:?}");
    assert_eq!(sum(0), 11175, "the form worked out 2 × 25 + 5 × 12.35");
    assert_eq!(sum(0), fen(&read[4]));
    assert_eq!(sum(1), fen(&read[5]), "the lines' fund shares add up to what the funds pay");
    assert_eq!(sum(2), fen(&read[6]), "the lines' person shares add up to the person's");
    assert_eq!(fen(&read[5]) + fen(&read[6]), fen(&read[4]));
    assert!(read[3].as_array().unwrap().iter().all(|w| w.as_u64().unwrap() > 0), "every line says why");
    let body = browser.body().await;
    assert!(
        body.contains("结算单") && body.contains("下载（CSV）") && body.contains("审核通过后 15 个工作日内"),
        "{body}"
    );
    let shot = c.screenshot().await.unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("yibao-claim-statement.png"), shot);
    browser.close().await;
    app.db.cleanup().await;
}

/// Finance opens 「支付」, builds a batch of the claim waiting for payment and cannot approve
/// it herself; a second finance user approves it and the export button appears; 张三's paid
/// claim says when and to which card the money went.
#[tokio::test]
async fn finance_builds_a_batch_a_second_user_approves_it_and_the_claimant_reads_where_the_money_went() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    browser.log_in(&app, "finance").await;
    c.find(Locator::LinkText("支付")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("by-state")).await.unwrap();
    let batches = c.find(Locator::Id("batches")).await.unwrap().text().await.unwrap();
    assert!(batches.contains("已回盘"), "the demo's paid batch: {batches}");
    browser.set("#build-batch input[name='up_to']", "2026-11-23").await;
    c.find(Locator::Id("build")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=batch_built"))).await;
    let state = c.wait().for_element(Locator::Id("batch-state")).await.unwrap();
    assert_eq!(state.attr("data-state").await.unwrap().as_deref(), Some("built"));
    assert!(c.find(Locator::Id("approve")).await.is_err(), "the builder has no approve button");
    let batch_url = c.current_url().await.unwrap();
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    browser.log_in(&app, "finance2").await;
    c.goto(batch_url.as_str()).await.unwrap();
    c.wait().for_element(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=batch_approved"))).await;
    c.wait().for_element(Locator::Id("export")).await.unwrap();
    let body = browser.body().await;
    assert!(body.contains("已复核，待导出") && body.contains("财务复核 周敏"), "{body}");
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    browser.log_in(&app, "zhangsan").await;
    c.find(Locator::LinkText("我的报销")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("claims")).await.unwrap();
    c.find(Locator::Css("#claims tr[data-state='reduced'] a")).await.unwrap().click().await.unwrap();
    let payment = c.wait().for_element(Locator::Id("claim-payment")).await.unwrap();
    let text = payment.text().await.unwrap();
    assert_eq!(payment.attr("data-state").await.unwrap().as_deref(), Some("paid"));
    assert!(text.contains("已于 2026-11-23 支付") && text.contains("****4563"), "{text}");
    browser.close().await;
    app.db.cleanup().await;
}

/// The bank refused a payment (the name does not match the account): 张三 reads why and what
/// to do on his claim's page, types his own card into the form there, and the page says the
/// money goes in the next batch.
#[tokio::test]
async fn a_claimant_corrects_the_account_of_a_refused_payment() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    // Finance pays the waiting claim in a batch the bank refuses (through the store, as the
    // portal's buttons do).
    let store = &app.db.store;
    let accounts = store.list_accounts().await.unwrap();
    let actor = |name: &str| {
        let a = accounts.iter().find(|a| a.username == name).unwrap();
        yibao_store::Actor { label: a.actor_label(), request_id: String::new() }
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let jinchang = "620300".parse().unwrap();
    let mut w = store.begin_write(&actor("finance")).await.unwrap();
    let batch = store.build_payment_batch(&mut w, jinchang, today, yibao_core::payment::BankFormat::Csv).await.unwrap();
    w.commit().await.unwrap();
    let mut w = store.begin_write(&actor("finance2")).await.unwrap();
    store.approve_payment_batch(&mut w, batch.id).await.unwrap();
    let (_, file) = store.export_payment_batch(&mut w, batch.id).await.unwrap();
    w.commit().await.unwrap();
    let l = &file.lines[0];
    let result = format!(
        "H,{},1,{}\nR,1,{},{},F,name_mismatch,户名不符,2026-11-24\n",
        file.batch_no,
        l.amount.to_plain(),
        l.order_no,
        l.amount.to_plain()
    );
    let mut w = store.begin_write(&actor("finance")).await.unwrap();
    store.import_bank_results(&mut w, result.as_bytes()).await.unwrap();
    w.commit().await.unwrap();
    let (_, items) = store.payment_batch(batch.id).await.unwrap();
    let claim_id = items[0].claim_id.unwrap();

    let c = &browser.client;
    browser.log_in(&app, "zhangsan").await;
    c.goto(&app.url(&format!("/claims/{claim_id}"))).await.unwrap();
    let payment = c.wait().for_element(Locator::Id("claim-payment")).await.unwrap();
    assert_eq!(payment.attr("data-state").await.unwrap().as_deref(), Some("failed"));
    let todo = c.find(Locator::Id("payment-todo")).await.unwrap().text().await.unwrap();
    assert!(todo.contains("以参保人本人"), "{todo}");
    let card = yibao_core::BankCardNumber::complete("622848001000000000").unwrap().to_string();
    browser.fill("bank_name", "中国农业银行金昌分行").await;
    browser.fill("bank_card", &card).await;
    c.find(Locator::Id("give-account")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=payment_account"))).await;
    let payment = c.wait().for_element(Locator::Id("claim-payment")).await.unwrap();
    assert_eq!(payment.attr("data-state").await.unwrap().as_deref(), Some("ready"));
    let text = payment.text().await.unwrap();
    assert!(text.contains(&format!("****{}", &card[card.len() - 4..])), "{text}");
    let notice = c.find(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("下一批次"), "{notice}");
    browser.close().await;
    app.db.cleanup().await;
}

/// A reviewer opens the demo claim waiting for review, reads what the supervision rules found
/// beside it (the blood count charged twice on one day), and clears it with a reason; an
/// auditor confirms the same finding on a direct settlement with a deduction.
#[tokio::test]
async fn a_reviewer_clears_a_finding_and_an_auditor_deducts_another() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    let id = app
        .db
        .number(
            "SELECT c.id FROM claims c JOIN claim_invoices i ON i.claim_id = c.id \
             WHERE i.invoice_no = 'LZ-2026-0107'",
        )
        .await;

    browser.log_in(&app, "reviewer").await;
    // The queue of open findings (from the menu) leads to the claim.
    c.find(Locator::Css("nav a[href='/hits']")).await.unwrap().click().await.unwrap();
    let queue = c.wait().for_element(Locator::Id("open-hits")).await.unwrap().text().await.unwrap();
    assert!(queue.contains("JG-003") && queue.contains("疑点"), "{queue}");
    c.find(Locator::Css(&format!("#open-hits a[href='/claims/{id}']"))).await.unwrap().click().await.unwrap();
    let row = c.wait().for_element(Locator::Css("#hits tr[data-severity='suspect']")).await.unwrap();
    let text = row.text().await.unwrap();
    assert!(text.contains("JG-003") && text.contains("疑点") && text.contains("明细"), "{text}");
    // The finding is beside the line it concerns in the statement too.
    let flag = c.find(Locator::Css("#statement-lines .line-hit")).await.unwrap().text().await.unwrap();
    assert!(flag.contains("JG-003"), "{flag}");
    // Without a reason the decision is refused, in Chinese, and nothing changes.
    row.find(Locator::Css(".clear-hit")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("请写明处理理由"), "{errors}");
    browser.fill("reason", "入院检查与术前复查各一次，医嘱齐全").await;
    c.find(Locator::Css("#hits .clear-hit")).await.unwrap().click().await.unwrap();
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已处理该疑点"), "{notice}");
    let text = c.find(Locator::Css("#hits tr[data-severity='suspect']")).await.unwrap().text().await.unwrap();
    assert!(text.contains("已排除") && text.contains("医嘱齐全"), "{text}");
    assert!(c.find(Locator::Css("#hits .clear-hit")).await.is_err(), "decided: no more buttons");

    // The demo settlement's finding: the auditor takes it from the queue, reads it, and
    // confirms it with a deduction from the hospital's next clearing.
    c.delete_all_cookies().await.unwrap();
    browser.log_in(&app, "auditor").await;
    c.goto(&app.url("/hits")).await.unwrap();
    let queue = c.wait().for_element(Locator::Id("open-hits")).await.unwrap().text().await.unwrap();
    assert!(queue.contains("JG-003") && queue.contains("违规"), "{queue}");
    // The demo's re-check found an institution far from its peers: named, not only coded.
    let outliers = c.find(Locator::Id("outliers")).await.unwrap().text().await.unwrap();
    assert!(outliers.contains("金川集团职工医院（H62030200003）") && outliers.contains("K35"), "{outliers}");
    let of_the_settlement =
        "//table[@id='open-hits']//tr[td/a[starts-with(@href, '/settlements/')]]//a[contains(@class, 'hit-link')]";
    c.find(Locator::XPath(of_the_settlement)).await.unwrap().click().await.unwrap();
    let subject = c.wait().for_element(Locator::Id("hit-subject")).await.unwrap();
    assert!(subject.attr("href").await.unwrap().unwrap_or_default().starts_with("/settlements/"));
    c.find(Locator::Id("take")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=hit_taken"))).await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已领取"), "{notice}");
    let taken = c.find(Locator::Id("hit-taken")).await.unwrap().text().await.unwrap();
    assert!(taken.contains("陈静"), "taken by the auditor, by name: {taken}");
    assert!(c.find(Locator::Id("release")).await.is_ok(), "and may let it go");
    browser.fill("reason", "同日两次血常规无医嘱，拒付一次").await;
    browser.set("select[name='consequence']", "deduct").await;
    browser.fill("amount", "25.00").await;
    c.find(Locator::Css(".confirm-hit")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query() == Some("done=hit")).await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已处理该疑点"), "{notice}");
    let state = c.find(Locator::Id("hit-state")).await.unwrap().text().await.unwrap();
    assert!(state.contains("已确认违规") && state.contains("拒付") && state.contains("25.00"), "{state}");
    c.goto(&app.url("/hits")).await.unwrap();
    c.wait().for_element(Locator::Id("open-hits")).await.unwrap();
    assert!(c.find(Locator::Css("#open-hits a[href^='/settlements/']")).await.is_err(), "the settlement's is decided");

    browser.close().await;
    app.db.cleanup().await;
}

/// A clerk opens a waiting filing from the queue, reads the person's medical history file,
/// asks the person to come in first (approval waits for it), records the pre-evaluation and
/// approves; then reads, on the demo's pre-evaluated claim, how the stay differs from it.
#[tokio::test]
async fn a_clerk_pre_evaluates_a_transfer_and_reads_how_the_stay_differs() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    browser.log_in(&app, "clerk").await;
    c.goto(&app.url("/filings")).await.unwrap();
    c.wait().for_element(Locator::Css("#queue tr[data-id='3'] a.filing-link")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("history")).await.unwrap();
    browser.fill("note", "请携带病历到市医保中心二楼窗口预评估").await;
    c.find(Locator::Id("pre-require")).await.unwrap().click().await.unwrap();
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已要求预评估"), "{notice}");
    // Approving now is refused, and says why.
    c.find(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("预评估"), "{errors}");
    // The person came in: the clerk records what was seen, then approves.
    c.goto(&app.url("/filings/3")).await.unwrap();
    c.wait().for_element(Locator::Id("pre-record-form")).await.unwrap();
    browser.fill("condition", "双髋疼痛两年，行走受限").await;
    browser.fill("diagnosis_code", "M16.0").await;
    browser.fill("diagnosis_name", "原发性双侧髋关节病").await;
    browser.fill("treatment", "人工全髋关节置换术").await;
    c.find(Locator::Css("[name='surgery_planned']")).await.unwrap().click().await.unwrap();
    browser.fill("expected_days", "12").await;
    browser.fill("expected_amount", "60000").await;
    c.find(Locator::Id("pre-record")).await.unwrap().click().await.unwrap();
    let recorded = c.wait().for_element(Locator::Id("pre-recorded")).await.unwrap().text().await.unwrap();
    assert!(recorded.contains("M16.0") && recorded.contains("人工全髋关节置换术（手术）"), "{recorded}");
    c.find(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.path() == "/filings").await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("审核结果已保存"), "{notice}");

    // The demo's referral was pre-evaluated the same way; its stay's claim differs.
    let id = app
        .db
        .number(
            "SELECT c.id FROM claims c JOIN claim_invoices i ON i.claim_id = c.id WHERE i.invoice_no = 'LZ-2026-0415'",
        )
        .await;
    c.goto(&app.url(&format!("/claims/{id}"))).await.unwrap();
    let differences = c.wait().for_element(Locator::Id("differences")).await.unwrap().text().await.unwrap();
    assert!(differences.contains("预评估拟行手术") && differences.contains("I25.1"), "{differences}");
    browser.close().await;
    app.db.cleanup().await;
}

/// An auditor sends an on-site audit from the claim waiting for review, takes a photo at the
/// hospital, and concludes the stay was not real: the claim can no longer be approved.
#[tokio::test]
async fn an_auditor_audits_a_stay_on_site_with_a_photo_and_stops_the_claim() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    let id = app
        .db
        .number(
            "SELECT c.id FROM claims c JOIN claim_invoices i ON i.claim_id = c.id WHERE i.invoice_no = 'LZ-2026-0107'",
        )
        .await;
    browser.log_in(&app, "auditor").await;
    c.goto(&app.url(&format!("/claims/{id}"))).await.unwrap();
    c.wait().for_element(Locator::Id("send-auditor")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("task-form")).await.unwrap();
    browser.fill("assignee", "auditor").await;
    browser.fill("instructions", "核实住院期间是否在院").await;
    c.find(Locator::Id("task-submit")).await.unwrap().click().await.unwrap();
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已派出"), "{notice}");
    // Concluding without a photo is refused.
    browser.fill("findings", "病房无此患者，床位空置").await;
    c.find(Locator::Css("#conclusion-form select[name='conclusion']"))
        .await
        .unwrap()
        .select_by_value("false_admission")
        .await
        .unwrap();
    c.find(Locator::Id("conclude")).await.unwrap().click().await.unwrap();
    let errors = c.wait().for_element(Locator::Id("form-errors")).await.unwrap().text().await.unwrap();
    assert!(errors.contains("照片"), "{errors}");
    let photo = std::env::temp_dir().join(format!("yibao-ward-{}.png", std::process::id()));
    std::fs::write(&photo, yibao_demo::DEMO_SCAN_PNG).unwrap();
    c.find(Locator::Css("#photo-form input[type='file']"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    browser.set("#photo-form input[name='taken_at']", "2026-11-23T09:30").await;
    browser.fill("caption", "空床").await;
    c.find(Locator::Id("photo-submit")).await.unwrap().click().await.unwrap();
    let photos = c.wait().for_element(Locator::Id("photos")).await.unwrap().text().await.unwrap();
    assert!(photos.contains("2026-11-23 09:30") && photos.contains("空床"), "{photos}");
    let _ = std::fs::remove_file(&photo);
    browser.fill("findings", "病房无此患者，床位空置").await;
    c.find(Locator::Css("#conclusion-form select[name='conclusion']"))
        .await
        .unwrap()
        .select_by_value("false_admission")
        .await
        .unwrap();
    c.find(Locator::Id("conclude")).await.unwrap().click().await.unwrap();
    let conclusion = c.wait().for_element(Locator::Id("conclusion")).await.unwrap().text().await.unwrap();
    assert!(conclusion.contains("虚假住院"), "{conclusion}");
    // The claim's page lists the task, concluded.
    c.goto(&app.url(&format!("/claims/{id}"))).await.unwrap();
    let tasks = c.wait().for_element(Locator::Id("claim-tasks")).await.unwrap().text().await.unwrap();
    assert!(tasks.contains("现场稽核") && tasks.contains("虚假住院"), "{tasks}");
    browser.close().await;
    app.db.cleanup().await;
}

/// A flexible worker, without an account, follows the log-in page's link to pay online: the ID
/// number and the name, a base and two months, the simulated gateway's page, and the receipt —
/// which says paid only once the gateway's own notification has come.
#[tokio::test]
async fn a_flexible_worker_pays_online_and_reads_the_receipt() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    let worker = {
        use yibao_core::registry::{Enrolment, PersonCategory};
        yibao_store::testing::demo_person(&app.db.store, Enrolment::FlexibleEmployment, PersonCategory::InService).await
    };
    let (rid, name) = (worker.resident_id.to_string(), worker.name.to_string());
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("pay-link")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.path() == "/pay").await;
    browser.fill("resident_id", &rid).await;
    browser.fill("name", &name).await;
    c.find(Locator::Id("pay-next")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("order-form")).await.unwrap();
    let text = browser.body().await;
    assert!(text.contains("287.70") && text.contains("479.50"), "both bases with their monthly amounts: {text}");
    c.find(Locator::Css("input[name='percent'][value='60']")).await.unwrap().click().await.unwrap();
    browser.set("select[name='months']", "2").await;
    c.find(Locator::Id("pay-go")).await.unwrap().click().await.unwrap();
    let amount = c.wait().for_element(Locator::Id("sim-amount")).await.unwrap().text().await.unwrap();
    assert_eq!(amount, "575.40");
    c.find(Locator::Id("sim-pay")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.path().starts_with("/pay/orders/")).await;
    // The page looks again by itself until the notification has come.
    let mut state = String::new();
    for _ in 0..50 {
        state = c.find(Locator::Id("order-state")).await.unwrap().text().await.unwrap_or_default();
        if state.contains("缴费成功") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(state.contains("缴费成功"), "{state}");
    let receipt = c.find(Locator::Id("receipt")).await.unwrap().text().await.unwrap();
    assert!(receipt.contains("电子缴费凭证") && receipt.contains("575.40") && receipt.contains("2 个月"), "{receipt}");
    browser.close().await;
    app.db.cleanup().await;
}

/// 张三, on a phone-sized window, opens 我的个人账户: his monthly credits each say how they
/// were computed. He revokes the demo's authorisation of his mother, authorises her again by
/// name and ID number, and once her pharmacy has settled her purchase, sees it in his ledger
/// and among what family members paid.
#[tokio::test]
async fn zhang_authorises_his_mother_and_sees_her_pharmacy_purchase_in_his_ledger() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let c = &browser.client;
    c.set_window_size(390, 844).await.unwrap();
    browser.log_in(&app, "zhangsan").await;
    c.goto(&app.url("/my/account")).await.unwrap();
    let ledger = c.wait().for_element(Locator::Id("ledger")).await.unwrap().text().await.unwrap();
    assert!(ledger.contains("按月划入") && ledger.contains("个人缴费"), "{ledger}");
    assert!(ledger.contains("药店购药") && ledger.contains("李秀兰"), "the demo's purchase: {ledger}");
    // Revoke the demo's authorisation: the portal says what will happen and asks first (at
    // 390 px, nothing wider than the screen); then no member may use the account.
    c.find(Locator::Css("#family form button")).await.unwrap().click().await.unwrap();
    let what = c.wait().for_element(Locator::Id("confirm-what")).await.unwrap().text().await.unwrap();
    assert!(what.contains("不能再用您的个人账户支付"), "{what}");
    let wide: i64 = c.execute("return document.documentElement.scrollWidth;", vec![]).await.unwrap().as_i64().unwrap();
    assert!(wide <= 390, "the confirmation fits a phone: {wide} px");
    c.find(Locator::Id("confirm")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=family_revoked"))).await;
    c.wait().for_element(Locator::Id("notice")).await.unwrap();
    assert!(browser.body().await.contains("不能再使用"));
    // Authorise her again, by the ID number on her card and her name.
    browser.fill("member_name", yibao_demo::DEMO_MOTHER_NAME).await;
    browser.fill("member_id", yibao_demo::DEMO_MOTHER_ID).await;
    browser.set("select[name='relation']", "parent").await;
    c.find(Locator::Css("#family-form button")).await.unwrap().click().await.unwrap();
    // The revocation's page has a notice too: wait until the authorisation's has replaced it.
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=family_authorised"))).await;
    let notice = c.wait().for_element(Locator::Id("notice")).await.unwrap().text().await.unwrap();
    assert!(notice.contains("已授权"), "{notice}");
    // Her pharmacy settles a purchase (its system calls 2102).
    let s = &app.db.store;
    let mother = s.person_by_resident_id(&yibao_demo::DEMO_MOTHER_ID.parse().unwrap()).await.unwrap().unwrap();
    let pharmacy = s.institution_by_code(yibao_demo::DEMO_PHARMACY).await.unwrap();
    let rules = s.rules().await.unwrap();
    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(15, 30, 0).unwrap();
    let mut w = s.begin_write(&yibao_store::Actor::system("platform")).await.unwrap();
    let purchase = yibao_demo::mother_purchase("YD-B-1").unwrap();
    let settled = s.settle_pharmacy(&mut w, &rules, &pharmacy, &mother, &purchase, at).await.unwrap();
    w.commit().await.unwrap();
    assert_eq!(settled.holder_id, Some(1));
    c.goto(&app.url("/my/account")).await.unwrap();
    let uses = c.wait().for_element(Locator::Id("family-uses")).await.unwrap().text().await.unwrap();
    assert!(uses.contains("YD-B-1") && uses.contains("48.50") && uses.contains("李秀兰"), "{uses}");
    let ledger = c.find(Locator::Id("ledger")).await.unwrap().text().await.unwrap();
    assert!(ledger.contains("-48.50"), "{ledger}");
    browser.close().await;
    app.db.cleanup().await;
}

/// The central hospital's insurance office applies for September's clearing in the portal,
/// an auditor reviews it (and records another hospital's annual assessment), finance approves it and puts it in a bank batch; once the bank
/// has paid, the hospital reads it paid.
#[tokio::test]
async fn a_hospital_applies_for_clearing_finance_approves_and_the_hospital_sees_it_paid() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    let s = &app.db.store;
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let all: Vec<i64> = (1..=300).collect();
    let person = yibao_demo::settleable(s, &all, day("2026-09-01"), 1).await.unwrap()[0];
    let lines = [("1", "001102000010000", "3", "40.00", "120.00"), ("2", "003113000010000", "1", "4800.00", "4800.00")];
    let mdtrt = yibao_store::testing::discharged_stay(
        s,
        person,
        "H62030200001",
        day("2026-09-10"),
        "ZY-B-1",
        ("K35.800", "急性阑尾炎"),
        &lines,
    )
    .await;
    yibao_store::testing::settle_stay(s, "H62030200001", &mdtrt, day("2026-09-11").and_hms_opt(10, 0, 0).unwrap())
        .await
        .unwrap();

    let c = &browser.client;
    browser.log_in(&app, "hospital").await;
    c.find(Locator::LinkText("机构清算")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("apply-form")).await.unwrap();
    let chosen = c.find(Locator::Css("#period option[selected]")).await.unwrap().text().await.unwrap();
    assert_eq!(chosen, "2026年09月", "October is cleared already: September is offered first");
    let statement = c.find(Locator::Id("statement")).await.unwrap().text().await.unwrap();
    assert!(statement.contains("质量保证金"), "{statement}");
    c.find(Locator::Id("apply-button")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=clearing_applied"))).await;
    let state = c.wait().for_element(Locator::Id("clearing")).await.unwrap();
    assert_eq!(state.attr("data-state").await.unwrap().as_deref(), Some("applied"));
    let clearing_url = c.current_url().await.unwrap();
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    browser.log_in(&app, "auditor").await;
    c.goto(clearing_url.as_str()).await.unwrap();
    c.wait().for_element(Locator::Id("review")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=clearing_reviewed"))).await;
    assert!(c.find(Locator::Id("approve")).await.is_err(), "the auditor does not approve");
    // The auditor records the people's hospital's assessment of last year, choosing it by name.
    c.find(Locator::LinkText("机构清算")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("assess-form")).await.unwrap();
    browser.set("#assess-form select[name='institution']", "H62030200002").await;
    browser.set("#assess-form input[name='score']", "88").await;
    browser.set("#assess-form input[name='note']", "协议履行良好").await;
    c.find(Locator::Id("assess-button")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=assessed"))).await;
    let list = c.wait().for_element(Locator::Id("assessment-list")).await.unwrap().text().await.unwrap();
    assert!(list.contains("金昌市人民医院") && list.contains("88") && list.contains("80%"), "{list}");
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();

    browser.log_in(&app, "finance").await;
    c.goto(clearing_url.as_str()).await.unwrap();
    c.wait().for_element(Locator::Id("approve")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=clearing_approved"))).await;
    let order = c.wait().for_element(Locator::Id("clr-order")).await.unwrap().text().await.unwrap();
    assert!(order.contains("待支付") && order.contains("金昌市中心医院"), "{order}");
    // The fund's books took the approval: they balance and agree with the records.
    c.find(Locator::LinkText("基金账")).await.unwrap().click().await.unwrap();
    let verified = c.wait().for_element(Locator::Id("books-verified")).await.unwrap();
    assert_eq!(verified.attr("data-clean").await.unwrap().as_deref(), Some("true"), "{}", browser.body().await);
    // Finance builds the batch in the portal; a second finance user approves and exports
    // it, and the bank's file says it was paid.
    c.find(Locator::LinkText("支付")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("build-batch")).await.unwrap();
    browser.set("#build-batch input[name='up_to']", "2026-11-23").await;
    c.find(Locator::Id("build")).await.unwrap().click().await.unwrap();
    browser.wait_for_url(|u| u.query().is_some_and(|q| q.contains("done=batch_built"))).await;
    c.find(Locator::Css("form[action='/logout'] button")).await.unwrap().click().await.unwrap();
    let batch = s.payment_batches_in(&yibao_core::Scope::parse_list("620300").unwrap(), 10).await.unwrap()[0].clone();
    let mut w = s.begin_write(&yibao_store::testing::actor_of(s, "finance2").await).await.unwrap();
    s.approve_payment_batch(&mut w, batch.id).await.unwrap();
    let (_, file) = s.export_payment_batch(&mut w, batch.id).await.unwrap();
    w.commit().await.unwrap();
    let mut w = s.begin_write(&yibao_store::testing::actor_of(s, "finance").await).await.unwrap();
    s.import_bank_results(&mut w, &yibao_demo::demo_bank_results(&file, day("2026-11-23"))).await.unwrap();
    w.commit().await.unwrap();

    browser.log_in(&app, "hospital").await;
    c.goto(clearing_url.as_str()).await.unwrap();
    let order = c.wait().for_element(Locator::Id("clr-order")).await.unwrap().text().await.unwrap();
    assert!(order.contains("已支付"), "the hospital reads it paid: {order}");
    let state = c.find(Locator::Id("clearing")).await.unwrap();
    assert_eq!(state.attr("data-state").await.unwrap().as_deref(), Some("approved"));
    browser.close().await;
    app.db.cleanup().await;
}

/// On a 390 px phone, every page the insured person, the employer unit and the hospital's desk
/// reach from their menus (and the pages behind their first links) fits the screen: nothing
/// wider than it, so nothing scrolls sideways.
/// axe-core (vendored under `tests/fixtures/axe-core`) run on the page shown: each serious or
/// critical violation as 「rule: where」.
async fn axe_violations(c: &fantoccini::Client) -> Vec<String> {
    const AXE: &str = include_str!("fixtures/axe-core/axe.min.js");
    c.execute(&format!("{AXE}\nreturn true;"), vec![]).await.unwrap();
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))));",
            vec![],
        )
        .await
        .unwrap();
    found.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// What a crawl found wrong, page by page.
#[derive(Default)]
struct Findings {
    /// Wider than the window.
    too_wide: Vec<String>,
    /// axe-core's serious and critical violations.
    inaccessible: Vec<String>,
    /// In English: a heading, label, button or column name with Chinese words or punctuation.
    untranslated: Vec<String>,
}

/// Every page a role's menu leads to (and `more`), plus the first record each of the first
/// lists links to: each one screenshotted (`target/tmp/screenshots/{prefix}-{user}…png`),
/// measured against `width`, checked by axe-core, and — in English — its labels read.
async fn crawl(
    browser: &Browser,
    app: &common::App,
    user: &str,
    more: &[&str],
    prefix: &str,
    width: i64,
    english: bool,
) -> Findings {
    let c = &browser.client;
    let measure = "const w = document.documentElement.clientWidth; \
        const wide = [...document.querySelectorAll('body *')].filter(e => { \
          const r = e.getBoundingClientRect(); return r.right > w + 1 && getComputedStyle(e).position !== 'fixed' \
            && !e.closest('.table-scroll'); }) \
          .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)); \
        return [document.documentElement.scrollWidth, wide.join(', ')];";
    let mut found = Findings::default();
    c.delete_all_cookies().await.unwrap();
    browser.log_in(app, user).await;
    if english {
        c.goto(&app.url("/lang/en?next=/")).await.unwrap();
    }
    // The words the pages themselves say (not the records they show): in English, none may be
    // Chinese.
    let labels = "return [...document.querySelectorAll('nav a, h1, h2, h3, th, label, button, dt, summary, legend')] \
        .map(e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim()) \
        .filter(t => /[\\u3000-\\u303f\\u4e00-\\u9fff\\uff01-\\uff1f]/.test(t)).slice(0, 5);";
    let links: Vec<String> = c
        .execute(
            "return [...document.querySelectorAll('nav a[href^=\"/\"]')].map(a => a.getAttribute('href'));",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        // The API's own documentation is not yibao's page.
        .filter(|l| !l.starts_with("/api/"))
        .collect();
    let mut pages: Vec<String> = vec!["/".into()];
    for link in links.into_iter().chain(more.iter().map(|m| m.to_string())) {
        if !pages.contains(&link) {
            pages.push(link);
        }
    }
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut i = 0;
    while i < pages.len() {
        let page = pages[i].clone();
        i += 1;
        c.goto(&app.url(&page)).await.unwrap();
        let answer = c.execute(measure, vec![]).await.unwrap();
        let name: String = page.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' }).collect();
        std::fs::write(shots.join(format!("{prefix}-{user}{name}.png")), c.screenshot().await.unwrap()).unwrap();
        let scrolled = answer[0].as_i64().unwrap();
        if scrolled > width {
            found.too_wide.push(format!("{user} {page}: {scrolled} px ({})", answer[1].as_str().unwrap_or_default()));
        }
        // And what axe-core finds serious or critical for people who use a screen reader, a
        // keyboard or poor eyesight.
        for v in axe_violations(c).await {
            found.inaccessible.push(format!("{user} {page}: {v}"));
        }
        if english {
            let chinese = c.execute(labels, vec![]).await.unwrap();
            for t in chinese.as_array().into_iter().flatten().filter_map(|t| t.as_str()) {
                found.untranslated.push(format!("{user} {page}: {t}"));
            }
        }
        // The first record each list links to, once.
        if i <= 12 {
            let first: Option<String> = c
                .execute(
                    "const a = document.querySelector('main table a[href^=\"/\"], main ul a[href^=\"/\"]'); \
                     return a ? a.getAttribute('href') : null;",
                    vec![],
                )
                .await
                .unwrap()
                .as_str()
                .map(str::to_string);
            if let Some(first) = first.filter(|f| !pages.contains(f) && !f.contains("/documents/")) {
                pages.push(first);
            }
        }
    }
    found
}

#[tokio::test]
async fn the_pages_of_people_units_and_hospital_desks_fit_a_phone() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    browser.client.set_window_size(390, 844).await.unwrap();
    let (mut too_wide, mut inaccessible, mut untranslated) = (Vec::new(), Vec::new(), Vec::new());
    for user in ["zhangsan", "unit", "hospital"] {
        // Besides the menus: the claim guide and form, the account, papers, the clearing.
        let more: &[&str] = match user {
            "zhangsan" => &[
                "/claims/guide",
                "/claims/new?case=offsite_outpatient",
                "/my/account",
                // The printed papers, as a phone shows them.
                "/claims/1/receipt",
                "/filings/1/receipt",
                "/settlements/620302000000000001",
            ],
            "unit" => &["/claims/new?case=offsite_inpatient"],
            _ => &["/clearings"],
        };
        let found = crawl(&browser, &app, user, more, "phone", 390, false).await;
        too_wide.extend(found.too_wide);
        inaccessible.extend(found.inaccessible);
        // The same pages in English: wide enough, and nothing the page says left in Chinese.
        let found = crawl(&browser, &app, user, more, "phone-en", 390, true).await;
        too_wide.extend(found.too_wide);
        inaccessible.extend(found.inaccessible);
        untranslated.extend(found.untranslated);
    }
    assert!(too_wide.is_empty(), "wider than a 390 px phone:\n{}", too_wide.join("\n"));
    assert!(inaccessible.is_empty(), "axe-core finds:\n{}", inaccessible.join("\n"));
    assert!(untranslated.is_empty(), "Chinese left in the English pages:\n{}", untranslated.join("\n"));
    browser.close().await;
    app.db.cleanup().await;
}

/// Each of the agency's roles, on a desk's screen: every page of its menu and the first
/// record of its lists, screenshotted, and accessible by axe-core's serious and critical rules.
#[tokio::test]
async fn every_staff_role_s_pages_are_accessible() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app(TestDb::sqlite().await).await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    let mut inaccessible = Vec::new();
    for user in ["clerk", "reviewer", "auditor", "finance", "policy", "admin"] {
        let more: &[&str] = match user {
            "policy" => &["/policies/1"],
            "clerk" => &["/claims/new"],
            _ => &[],
        };
        inaccessible.extend(crawl(&browser, &app, user, more, "desk", i64::MAX, false).await.inaccessible);
    }
    assert!(inaccessible.is_empty(), "axe-core finds:\n{}", inaccessible.join("\n"));
    browser.close().await;
    app.db.cleanup().await;
}
