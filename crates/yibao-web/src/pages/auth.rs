//! Log-in, log-out, the language switch and each role's home page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use yibao_core::{Lang, Permission};
use yibao_store::LoginOutcome;

use super::{render, Ctx};
use crate::context::{Caller, MaybeCaller, UiLang, LANG_COOKIE, SESSION_COOKIE};
use crate::error::AppError;
use crate::{i18n, SharedState};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    error: Option<&'static str>,
    next: String,
    username: String,
    /// The log-in form's own CSRF token, also in the `yibao_login` cookie (double submit):
    /// another site cannot log a browser in to an account of its choosing.
    csrf: String,
}

/// The cookie holding the log-in form's CSRF token.
const LOGIN_COOKIE: &str = "yibao_login";

/// A fresh log-in form token and the cookie that carries it.
fn login_token(secure: bool) -> (String, Cookie<'static>) {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let token = hex::encode(bytes);
    let cookie = Cookie::build((LOGIN_COOKIE, token.clone()))
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build();
    (token, cookie)
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only same-site paths may be redirected to after log-in: a `/` not followed by another `/`
/// or `\\`, and nothing but visible ASCII (a tab or a line break, which browsers drop or
/// which would split the header, makes `/\t/evil.example` another site).
pub(crate) fn safe_next(next: &str) -> String {
    let mut chars = next.chars();
    let local = chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'));
    if local && next.chars().all(|c| c.is_ascii_graphic() && c != '\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}

pub async fn login_form(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    MaybeCaller(caller): MaybeCaller,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(&safe_next(&q.next)).into_response();
    }
    let (csrf, cookie) = login_token(state.secure_cookies);
    let page = LoginPage {
        ctx: Ctx::anonymous(lang, "/login"),
        error: None,
        next: safe_next(&q.next),
        username: String::new(),
        csrf,
    };
    (jar.add(cookie), render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login_submit(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    jar: CookieJar,
    client: crate::context::Client,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let expected = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if expected.is_empty() || f.csrf != expected {
        return Err(AppError::csrf());
    }
    let outcome = crate::service::log_in(&state, &client, &f.username, &f.password).await?;
    let error_key = match outcome {
        LoginOutcome::Ok { token, .. } => {
            let cookie = Cookie::build((SESSION_COOKIE, token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(state.secure_cookies)
                .build();
            return Ok((jar.add(cookie), Redirect::to(&safe_next(&f.next))).into_response());
        }
        LoginOutcome::BadCredentials => "login.failed",
        LoginOutcome::Disabled => "login.disabled",
    };
    let (csrf, cookie) = login_token(state.secure_cookies);
    let page = LoginPage {
        ctx: Ctx::anonymous(lang, "/login"),
        error: Some(i18n::t(lang, error_key)),
        next: safe_next(&f.next),
        username: f.username,
        csrf,
    };
    Ok((axum::http::StatusCode::UNAUTHORIZED, jar.add(cookie), render(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
    /// `1` once the person confirmed a step that cannot be undone.
    #[serde(default)]
    pub(crate) confirmed: String,
}

pub async fn logout(
    State(state): State<SharedState>,
    caller: Caller,
    jar: CookieJar,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    if let Some(c) = jar.get(SESSION_COOKIE) {
        state.store.logout(c.value()).await?;
    }
    Ok((jar.remove(Cookie::build(SESSION_COOKIE).path("/")), Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: Ctx,
    /// The password was set by someone else: nothing else works until it is changed.
    required: bool,
    errors: Vec<String>,
}

/// `GET /password`: the holder changes their own password.
pub async fn password_form(caller: Caller) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let required = caller.session().is_some_and(|s| s.account.must_change_password);
    let page = PasswordPage { ctx: Ctx::for_caller(&caller, "/password"), required, errors: Vec::new() };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// `POST /password`: changes it (the two new ones must agree); the form again with what is
/// wrong, or home.
pub async fn password_submit(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<PasswordForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = if f.new != f.repeat {
        Err(vec![i18n::t(caller.lang, "password.mismatch").to_string()])
    } else {
        match crate::service::change_password(&caller, &state.store, &f.current, &f.new).await {
            Ok(_) => Ok(()),
            Err(e) if !e.field_errors.is_empty() => {
                Err(e.field_errors.iter().map(|v| v.message.get(caller.lang).to_string()).collect())
            }
            Err(e) => return Err(e),
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(errors) => {
            let required = caller.session().is_some_and(|s| s.account.must_change_password);
            let page = PasswordPage { ctx: Ctx::for_caller(&caller, "/password"), required, errors };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

/// `GET /lang/{zh|en}?next=`: remembers the language in a cookie.
pub async fn lang_switch(Path(code): Path<String>, Query(q): Query<NextQuery>, jar: CookieJar) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let cookie = Cookie::build((LANG_COOKIE, lang.code())).path("/").permanent().same_site(SameSite::Lax).build();
    (jar.add(cookie), Redirect::to(&safe_next(&q.next))).into_response()
}

pub struct Action {
    pub href: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    display_name: String,
    role_label: String,
    /// The institution a member of its staff acts for.
    institution: Option<String>,
    regions: String,
    persons_count: Option<i64>,
    actions: Vec<Action>,
    /// What yibao told the insured person, newest first: (when, what).
    notices: Vec<(String, String)>,
    /// Staff: what waits for them.
    waiting: Vec<crate::service::work::Waiting>,
}

pub async fn home(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let Some(session) = caller.session() else { return Err(AppError::forbidden()) };
    let lang = caller.lang;
    let role = caller.role();
    let candidates = [
        ("/persons", "home.search_persons", Permission::ViewPersons),
        ("/persons/new", "home.new_person", Permission::EditPersons),
        ("/institutions", "home.view_institutions", Permission::ViewInstitutions),
        ("/me", "home.view_me", Permission::ViewOwnRecord),
        ("/my/cover", "home.my_cover", Permission::ViewOwnRecord),
        ("/my/claims", "home.my_claims", Permission::ViewOwnRecord),
        ("/unit/claims", "home.unit_claims", Permission::FileForEmployees),
        ("/claims", "home.claims", Permission::ViewClaims),
        ("/payments", "home.payments", Permission::ViewPayments),
        ("/filings", "home.filings", Permission::ManageFilings),
        ("/referrals", "home.referrals", Permission::IssueReferrals),
        ("/audit", "home.view_audit", Permission::ViewAuditLog),
        ("/accounts", "home.manage_accounts", Permission::ManageAccounts),
    ];
    let desk: Vec<Action> = match caller.institution() {
        Some(_) => [
            ("/check", "home.check_cover"),
            ("/institution/settlements", "nav.inst_settlements"),
            ("/institution/interface", "nav.inst_interface"),
        ]
        .into_iter()
        .map(|(href, key)| Action { href, label: i18n::t(lang, key) })
        .collect(),
        None => Vec::new(),
    };
    let actions = desk
        .into_iter()
        .chain(
            candidates
                .into_iter()
                .filter(|(_, _, p)| role.can(*p))
                .map(|(href, key, _)| Action { href, label: i18n::t(lang, key) }),
        )
        .collect();
    let persons_count = if role.can(Permission::ViewPersons) {
        Some(state.store.count_persons(Some(&session.account.scope)).await?)
    } else {
        None
    };
    let notices = match session.account.person_id {
        Some(person) if role == yibao_core::Role::Insured => state
            .store
            .notices_of(person, 20)
            .await?
            .into_iter()
            .map(|n| (super::shared::when(&n.at), n.text.get(lang).to_string()))
            .collect(),
        _ => Vec::new(),
    };
    let page = HomePage {
        waiting: crate::service::work::waiting(&state.store, &caller).await?,
        notices,
        ctx: Ctx::for_caller(&caller, "/"),
        display_name: session.account.display_name.clone(),
        role_label: role.label_in(lang),
        regions: session.account.scope.to_list(),
        institution: caller.institution().map(|i| super::shared::aside(lang, &i.name, &i.code)),
        persons_count,
        actions,
    };
    Ok(render(&page)?.into_response())
}
