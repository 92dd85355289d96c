//! `spawn_app()`: the real server on port 0 over an isolated, demo-seeded database.
#![allow(dead_code)]

pub mod platform;

use std::net::SocketAddr;

use yibao_store::testing::TestDb;

pub struct App {
    pub base: String,
    pub db: TestDb,
    pub http: reqwest::Client,
}

pub async fn spawn_app(db: TestDb) -> App {
    spawn_app_with(db, std::sync::Arc::new(yibao_web::gateway::Simulated::new())).await
}

/// `spawn_app` with another payment gateway.
pub async fn spawn_app_with(db: TestDb, gateway: std::sync::Arc<dyn yibao_web::gateway::PaymentGateway>) -> App {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let blobs = db.blobs();
    yibao_demo::seed_demo(&db.store, &blobs, today).await.expect("seed demo");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let state = yibao_web::AppState {
        store: db.store.clone(),
        blobs,
        secure_cookies: false,
        today: Some(today),
        logins: Default::default(),
        held: Default::default(),
        lookups: Default::default(),
        gateway: Some(gateway),
    };
    tokio::spawn(yibao_web::serve_on(listener, state, std::future::pending()));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    App { base: format!("http://{addr}"), db, http }
}

impl App {
    /// The demo person whose card was reported lost (the seed picks them by its own rules).
    pub async fn lost_card_owner(&self) -> i64 {
        for id in 1..500 {
            if let Ok(cards) = self.db.store.cards_of(id).await {
                if cards.iter().any(|c| c.status == yibao_core::card::CardStatus::Lost) {
                    return id;
                }
            }
        }
        panic!("the demo seeds a lost card")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let res = self
            .http
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({ "username": username, "password": yibao_demo::DEMO_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {username}");
        res.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }
}

/// The log-in form's CSRF token (its cookie kept by `http`).
pub async fn login_form_token(http: &reqwest::Client, app: &App) -> String {
    let html = http.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
}

/// Logs in through the portal form and returns a cookie-keeping client and a page's CSRF token.
pub async fn portal_session(app: &App, user: &str, page: &str) -> (reqwest::Client, String) {
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let csrf = login_form_token(&http, app).await;
    let form = [("username", user), ("password", "demo2026"), ("csrf", &csrf)];
    let res = http.post(app.url("/login")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let html = http.get(app.url(page)).send().await.unwrap().text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    (http, csrf)
}
