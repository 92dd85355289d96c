//! 账号管理, one account: who it is and what state it is in, the administrator's steps on it
//! (disable and enable, unlock, reset the password, propose a change of role and regions, or
//! approve another administrator's), and its history from the audit log with what each step
//! changed.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::audit::{changed_fields, FieldChange};
use yibao_core::Role;

use super::shared::{notice, or_show_fields, FieldErrors, Names};
use super::{render_form, Ctx, DoneAsk};
use crate::api::logins::parse_change;
use crate::context::Caller;
use crate::error::AppError;
use crate::service::logins as svc;
use crate::{i18n, SharedState};

/// One step of the account's history.
pub struct Step {
    pub at: String,
    pub by: String,
    pub action: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: Ctx,
    id: i64,
    username: String,
    display_name: String,
    role: String,
    role_code: &'static str,
    scope: String,
    staff: bool,
    /// 正常, 已停用, 待复核, 须修改密码
    states: Vec<String>,
    disabled: bool,
    failed_logins: i64,
    /// Log-ins are being delayed now after failures.
    held: bool,
    /// The proposed role and regions, who proposed them, and whether the caller may decide.
    pending: Option<(String, String, String, bool)>,
    roles: Vec<(&'static str, String)>,
    history: Vec<Step>,
    errors: Vec<String>,
    fe: FieldErrors,
    notice: Option<String>,
}

async fn show(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
    fe: FieldErrors,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let store = &state.store;
    let a = svc::account(store, caller, id).await?;
    let ctx = Ctx::for_caller(caller, "/accounts");
    let regions = |scope: &yibao_core::Scope| {
        scope.regions().iter().map(|r| ctx.region(r)).collect::<Vec<_>>().join(if lang == yibao_core::Lang::Zh {
            "、"
        } else {
            ", "
        })
    };
    let mut states = Vec::new();
    if a.disabled {
        states.push(i18n::t(lang, "logins.state.disabled").to_string());
    }
    if a.awaiting_approval_by.is_some() {
        states.push(i18n::t(lang, "accounts.awaiting").to_string());
    }
    if a.must_change_password {
        states.push(i18n::t(lang, "logins.state.must_change").to_string());
    }
    if states.is_empty() {
        states.push(i18n::t(lang, "logins.state.active").to_string());
    }
    let mut names = Names::new(store, caller);
    let mut history = Vec::new();
    for e in svc::history(store, caller, id).await? {
        history.push(Step {
            at: super::shared::when(&e.at),
            by: names.of(&e.actor).await,
            action: action_label(lang, &e.action).map_or_else(|| e.action.clone(), str::to_string),
            changes: changed_fields(&e.before, &e.after),
        });
    }
    let pending = match &a.pending_change {
        Some(c) => Some((
            c.role.label_in(lang),
            regions(&c.scope),
            store.account_by_username(&c.by).await?.map_or_else(|| c.by.clone(), |p| p.display_name),
            c.by != caller.username(),
        )),
        None => None,
    };
    let page = AccountPage {
        id: a.id,
        username: a.username.clone(),
        display_name: a.display_name.clone(),
        role: a.role.label_in(lang),
        role_code: a.role.code(),
        scope: regions(&a.scope),
        staff: a.role.is_staff(),
        states,
        disabled: a.disabled,
        failed_logins: a.failed_logins,
        held: state.logins.held(&a.username, std::time::Instant::now()),
        pending,
        roles: Role::ALL.iter().filter(|r| r.is_staff()).map(|r| (r.code(), r.label_in(lang))).collect(),
        history,
        errors: errors.clone(),
        fe,
        notice: notice(lang, done),
        ctx,
    };
    render_form(&page, !errors.is_empty())
}

/// The audit action in words (`account.disable` → 停用账号), or as it is.
pub(super) fn action_label(lang: yibao_core::Lang, action: &str) -> Option<&'static str> {
    i18n::lookup(lang, &format!("logins.action.{action}"))
}

/// `GET /accounts/{id}`.
pub async fn account_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show(&state, &caller, id, &ask.done, Vec::new(), FieldErrors::default()).await
}

/// After a step: back to the account with what was done, or with why not.
async fn after(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    result: Result<yibao_store::Account, AppError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/accounts/{id}?done={done}")).into_response()),
        Err(e) => or_show_fields(e, caller.lang, |m, fe| show(state, caller, id, "", m, fe)).await,
    }
}

/// `POST /accounts/{id}/disable`, after the administrator confirms.
pub async fn account_disable(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let (action, back) = (format!("/accounts/{id}/disable"), format!("/accounts/{id}"));
    if let Some(ask) = super::shared::confirmed_or_ask(&caller, &f.confirmed, "disable_account", &action, &[], &back) {
        return ask;
    }
    let result = svc::set_disabled(&state.store, &caller, id, true).await;
    after(&state, &caller, id, result, "account_disabled").await
}

/// `POST /accounts/{id}/enable`.
pub async fn account_enable(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = svc::set_disabled(&state.store, &caller, id, false).await;
    after(&state, &caller, id, result, "account_enabled").await
}

/// `POST /accounts/{id}/unlock`.
pub async fn account_unlock(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = svc::unlock(&state.store, &state.logins, &caller, id).await;
    after(&state, &caller, id, result, "account_unlocked").await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `POST /accounts/{id}/password`.
pub async fn account_reset(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = svc::reset_password(&state.store, &caller, id, &f.password).await;
    after(&state, &caller, id, result, "password_reset").await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
}

/// `POST /accounts/{id}/change`: propose a new role and regions.
pub async fn account_change(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<ChangeForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match parse_change(&f.role, &f.scope) {
        Ok((role, scope)) => svc::propose_change(&state.store, &caller, id, role, &scope).await,
        Err(e) => Err(e),
    };
    after(&state, &caller, id, result, "change_proposed").await
}

/// `POST /accounts/{id}/change/{decision}`: `approve` or `reject`.
pub async fn account_change_decide(
    State(state): State<SharedState>,
    caller: Caller,
    Path((id, decision)): Path<(i64, String)>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::not_found("decision")),
    };
    let result = svc::decide_change(&state.store, &caller, id, approve).await;
    after(&state, &caller, id, result, if approve { "change_approved" } else { "change_rejected" }).await
}
