//! Per-request context: the request id, the language, and who is calling.
//!
//! Callers authenticate in one of three ways: a session cookie (the portal; unsafe
//! methods must carry the session's CSRF token), a bearer session token (API clients; not
//! sent by browsers on their own, so no CSRF token is needed), or an institution's API key
//! in `X-Api-Key`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use rand::RngCore;
use yibao_core::{Lang, Permission, Role};
use yibao_store::{ApiKeyOwner, SessionInfo};

use crate::error::{AppError, Problem};
use crate::SharedState;

pub const SESSION_COOKIE: &str = "yibao_session";
pub const LANG_COOKIE: &str = "yibao_lang";

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The request's path as the client sent it (nested routers strip their prefix from `uri`).
pub fn original_path(parts: &Parts) -> &str {
    parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |u| u.0.path())
}

/// The request's language: `?lang=`, then the remembered cookie, then (API only)
/// `Accept-Language`, then Chinese. The portal is Chinese until a person switches it,
/// whatever the browser's locale.
pub fn lang_of(parts: &Parts) -> Lang {
    let from_query =
        parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))).and_then(Lang::parse);
    let jar = CookieJar::from_headers(&parts.headers);
    from_query
        .or_else(|| jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())))
        .or_else(|| {
            if !original_path(parts).starts_with("/api/") {
                return None;
            }
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|h| h.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// Extracts the request's language (see [`lang_of`]).
pub struct UiLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for UiLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UiLang(lang_of(parts)))
    }
}

/// Where a request came from (its TCP peer; `0.0.0.0` when the server runs without that
/// information) and its request id: what a log-in is counted and audited by.
pub struct Client {
    pub address: std::net::IpAddr,
    pub request_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        Ok(Client { address, request_id })
    }
}

/// Assigns a request id, logs the request, and renders `AppError`s for the client.
pub async fn request_context(mut req: Request, next: Next) -> Response {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    let request_id = hex::encode(bytes);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let (parts, body) = req.into_parts();
    let lang = lang_of(&parts);
    let is_api = parts.uri.path().starts_with("/api/");
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let req = Request::from_parts(parts, body);
    let mut res = next.run(req).await;
    tracing::info!(id = %request_id, %method, %path, status = res.status().as_u16(), "request");
    if res.extensions().get::<AppError>().is_none() && is_plain_rejection(&res) {
        // A request the framework refused before any handler (a body that is not JSON, too
        // large, of the wrong type): answered like every other error, in both languages.
        let status = res.status();
        let detail = axum::body::to_bytes(std::mem::take(res.body_mut()), 64 * 1024).await.unwrap_or_default();
        let err = AppError::rejected(status, String::from_utf8_lossy(&detail).trim());
        res = err.into_response();
    }
    if let Some(err) = res.extensions_mut().remove::<AppError>() {
        res = if is_api {
            let problem = Problem::from_error(&err, lang, &request_id);
            let mut r = (err.status, axum::Json(problem)).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
            r
        } else if err.status == axum::http::StatusCode::UNAUTHORIZED {
            Redirect::to(&format!("/login?next={}", urlencode(&path))).into_response()
        } else if err.code == "password_change_required" {
            Redirect::to("/password").into_response()
        } else {
            (err.status, Html(crate::pages::error_page(&err, lang, &request_id))).into_response()
        };
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// What a browser may do with yibao's pages: scripts, styles and images from yibao's own
/// address only (pages hold no inline script), no framing by another site (clickjacking), no
/// address sent to other sites, and, behind HTTPS, HTTPS only. The API documentation viewer
/// (`/api/docs`) brings its own scripts and is left without the script policy.
pub async fn security_headers(State(state): State<crate::SharedState>, req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/api/docs");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let policy = if docs {
        "frame-ancestors 'none'"
    } else {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    };
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.secure_cookies {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// An error answer in plain text: axum's extractors' rejections (handlers answer `AppError`).
fn is_plain_rejection(res: &Response) -> bool {
    let status = res.status();
    status.is_client_error()
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A logged-in account; `token` is its session token (to keep this session when the
    /// password changes and the others end).
    Session {
        session: Box<SessionInfo>,
        by_cookie: bool,
        token: String,
    },
    Institution(ApiKeyOwner),
}

/// An authenticated caller. Extracting it fails with 401 when nobody is logged in, and
/// with 403 when a cookie-authenticated unsafe API request lacks the CSRF header.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    pub lang: Lang,
    /// The business date of the request (see `AppState::today`).
    pub today: chrono::NaiveDate,
    /// The page asked for (path and query) when it was a `GET`, so that switching the
    /// language returns to it; empty otherwise.
    pub here: String,
    /// An insured person's unread messages (for the header), on portal pages.
    pub unread: i64,
}

impl Caller {
    pub fn role(&self) -> Role {
        match &self.principal {
            Principal::Session { session, .. } => session.account.role,
            Principal::Institution(_) => Role::Institution,
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.role().can(p)
    }

    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// The designated institution the caller acts for: an API key's owner, or the
    /// institution of a logged-in member of its staff.
    pub fn institution(&self) -> Option<&yibao_store::Institution> {
        match &self.principal {
            Principal::Institution(owner) => Some(&owner.institution),
            Principal::Session { session, .. } => session.institution.as_ref(),
        }
    }

    pub fn session(&self) -> Option<&SessionInfo> {
        match &self.principal {
            Principal::Session { session, .. } => Some(session),
            Principal::Institution(_) => None,
        }
    }

    /// Whether a staff caller's regions cover `region`. Non-staff callers cover nothing.
    pub fn covers(&self, region: yibao_core::AdminCode) -> bool {
        match self.session() {
            Some(s) if s.account.role.is_staff() => s.account.scope.covers(region),
            _ => false,
        }
    }

    /// The caller's username (an institution's code for an API key).
    pub fn username(&self) -> &str {
        match &self.principal {
            Principal::Session { session, .. } => &session.account.username,
            Principal::Institution(owner) => &owner.institution.code,
        }
    }

    pub fn actor(&self) -> yibao_store::Actor {
        let label = match &self.principal {
            Principal::Session { session, .. } => session.account.actor_label(),
            Principal::Institution(owner) => format!("institution:{}", owner.institution.code),
        };
        yibao_store::Actor { label, request_id: self.request_id.clone() }
    }

    pub fn csrf_token(&self) -> &str {
        self.session().map(|s| s.csrf_token.as_str()).unwrap_or("")
    }

    /// Checks a CSRF token from a form against the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), AppError> {
        match &self.principal {
            Principal::Session { session, by_cookie: true, .. } if !constant_eq(&session.csrf_token, token) => {
                Err(AppError::csrf())
            }
            _ => Ok(()),
        }
    }
}

/// Today in China (UTC+8), whatever the server's zone.
pub fn china_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authenticate(parts: &Parts, state: &SharedState) -> Result<Option<Principal>, AppError> {
    let now = chrono::Utc::now();
    if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return match state.store.api_key_owner(key).await? {
            Some(owner) => Ok(Some(Principal::Institution(owner))),
            None => Err(AppError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "bad_api_key",
                "API 密钥无效或已吊销",
                "the API key is invalid or revoked",
            )),
        };
    }
    if let Some(token) =
        parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        return Ok(state.store.session(token.trim(), now).await?.map(|session| Principal::Session {
            session: Box::new(session),
            by_cookie: false,
            token: token.trim().to_string(),
        }));
    }
    let jar = CookieJar::from_headers(&parts.headers);
    match jar.get(SESSION_COOKIE) {
        Some(c) => Ok(state.store.session(c.value(), now).await?.map(|session| Principal::Session {
            session: Box::new(session),
            by_cookie: true,
            token: c.value().to_string(),
        })),
        None => Ok(None),
    }
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let principal = authenticate(parts, state).await?.ok_or_else(AppError::unauthorized)?;
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let today = state.today.unwrap_or_else(china_today);
        let here = if parts.method == Method::GET {
            let uri = parts.extensions.get::<axum::extract::OriginalUri>().map_or(&parts.uri, |u| &u.0);
            uri.path_and_query().map_or_else(String::new, |p| p.as_str().to_string())
        } else {
            String::new()
        };
        // The insured person's unread messages, for a portal page's header.
        let person = match &principal {
            Principal::Session { session, by_cookie: true, .. } => session.account.person_id,
            _ => None,
        };
        let unread = match person {
            Some(p) if !here.is_empty() && !here.starts_with("/api/") => {
                state.store.unread_notices(p).await.unwrap_or(0)
            }
            _ => 0,
        };
        let caller = Caller { principal, request_id, lang: lang_of(parts), today, here, unread };
        // An account whose password someone else set does nothing before the holder sets
        // their own (pages send them to the form; the API answers 403).
        let path = original_path(parts);
        let waiting = caller.session().is_some_and(|s| s.account.must_change_password);
        let allowed = ["/password", "/api/v1/me/password", "/logout", "/api/v1/logout", "/api/v1/me"].contains(&path)
            || path.starts_with("/lang/");
        if waiting && !allowed {
            return Err(AppError::password_change_required());
        }
        // Unsafe API requests authenticated by cookie must carry the CSRF token in a header.
        // (Portal forms carry it as a field, checked by the handler via `check_csrf`.)
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if unsafe_method && original_path(parts).starts_with("/api/") {
            let header = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            caller.check_csrf(header)?;
        }
        Ok(caller)
    }
}

/// An optional caller, for pages that anyone may see (the log-in page).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<SharedState> for MaybeCaller {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await {
            Ok(c) => Ok(MaybeCaller(Some(c))),
            Err(e) if e.status == axum::http::StatusCode::UNAUTHORIZED => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the database answers.
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let unavailable = |what: &str, error: &dyn std::fmt::Display| {
        tracing::error!(%error, "readiness check failed: {what}");
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, what.to_string()).into_response()
    };
    if let Err(e) = state.store.ping().await {
        return unavailable("database unreachable", &e);
    }
    // Reads are not enough: a read-only file or a stalled writer refuses every change.
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.check_writable()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(e)) => unavailable("database cannot be written", &e),
        Err(_) => unavailable("database cannot be written", &"no write was answered within 2 s"),
    }
}
