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

#[tokio::test]
async fn clerk_logs_in_finds_a_person_and_switches_language() {
    let required = std::env::var("YIBAO_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let driver_bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(driver_bin) = driver_bin else {
        assert!(!required, "chromedriver is required (YIBAO_REQUIRE_BROWSER=1) but not installed");
        eprintln!("SKIPPED: browser test — chromedriver not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let port = free_port();
    let _driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let app = spawn_app(TestDb::sqlite().await).await;
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
    let mut client = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("connect to chromedriver");

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
    let table = c.wait().for_element(Locator::Id("results")).await.unwrap();
    let text = table.text().await.unwrap();
    assert!(text.contains("张*") && text.contains("6203**********0036"), "{text}");
    assert!(text.contains("职工基本医疗保险"), "Chinese by default: {text}");

    // Open the detail page: a clerk sees the whole record.
    c.find(Locator::LinkText("详情")).await.unwrap().click().await.unwrap();
    let rid = c.wait().for_element(Locator::Id("person-rid")).await.unwrap().text().await.unwrap();
    assert_eq!(rid, yibao_store::demo::DEMO_INSURED_ID);

    // Switch to English; the choice is remembered on the next page.
    c.find(Locator::Id("lang-switch")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("person-rid")).await.unwrap();
    let body = c.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(body.contains("Employee basic medical insurance") && body.contains("Resident ID number"), "{body}");
    c.goto(&app.url("/persons")).await.unwrap();
    let body = c.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(body.contains("Insured persons") && body.contains("Search"), "{body}");
    let shot = c.screenshot().await.unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("yibao-persons-en.png"), shot);

    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(profile);
    app.db.cleanup().await;
}
