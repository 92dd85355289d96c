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
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only same-site relative paths may be redirected to after log-in.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}

pub async fn login_form(
    UiLang(lang): UiLang,
    MaybeCaller(caller): MaybeCaller,
    Query(q): Query<NextQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(&safe_next(&q.next)).into_response();
    }
    let page = LoginPage { ctx: Ctx::anonymous(lang, "/login"), error: None, next: q.next, username: String::new() };
    render(&page).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    State(state): State<SharedState>,
    UiLang(lang): UiLang,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    let outcome = state.store.login(&f.username, &f.password, chrono::Utc::now()).await?;
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
        LoginOutcome::Locked { .. } => "login.locked",
        LoginOutcome::Disabled => "login.disabled",
    };
    let page = LoginPage {
        ctx: Ctx::anonymous(lang, "/login"),
        error: Some(i18n::t(lang, error_key)),
        next: f.next,
        username: f.username,
    };
    Ok((axum::http::StatusCode::UNAUTHORIZED, render(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
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
    let page = HomePage {
        ctx: Ctx::for_caller(&caller, "/"),
        display_name: session.account.display_name.clone(),
        role_label: role.label_in(lang),
        regions: session.account.scope.to_list(),
        institution: caller.institution().map(|i| format!("{}（{}）", i.name, i.code)),
        persons_count,
        actions,
    };
    Ok(render(&page)?.into_response())
}
