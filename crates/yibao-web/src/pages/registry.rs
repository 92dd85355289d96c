//! Person pages (search, detail with history, register, edit), the audit log and "my record".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::registry::{Enrolment, PersonCategory, PersonStatus};
use yibao_core::Permission;
use yibao_store::PersonQuery;

use super::shared::FieldErrors;
use super::{form_error, render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::PersonForm;
use crate::views::PersonView;
use crate::{i18n, service, SharedState};

#[derive(Template)]
#[template(path = "persons.html")]
struct PersonsPage {
    ctx: Ctx,
    q: String,
    region: String,
    regions: Vec<String>,
    items: Vec<PersonView>,
    next: Option<String>,
    can_edit: bool,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    after: String,
}

pub async fn persons_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let region = if sq.region.trim().is_empty() { None } else { Some(sq.region.parse()?) };
    let query = PersonQuery {
        text: Some(sq.q.clone()),
        region,
        scope: None,
        after: Some(sq.after.clone()).filter(|a| !a.is_empty()),
        limit: 20,
    };
    let page = service::search_persons(&state.store, &caller, query).await?;
    let regions = caller.session().map(|s| s.account.scope.regions().iter().map(ToString::to_string).collect());
    let view = PersonsPage {
        ctx: Ctx::for_caller(&caller, "/persons"),
        items: page.items.iter().map(|p| PersonView::new(p, caller.lang, true)).collect(),
        next: page.next.map(|n| crate::context::urlencode(&n)),
        q: sq.q,
        region: sq.region,
        regions: regions.unwrap_or_default(),
        can_edit: caller.can(Permission::EditPersons),
    };
    Ok(render(&view)?.into_response())
}

pub struct HistoryRow {
    pub version: i64,
    pub recorded_at: String,
    pub recorded_by: String,
    pub data: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    /// (account id, username) of an account waiting for this clerk's identity check.
    held_account: Option<(i64, String)>,
    ctx: Ctx,
    p: PersonView,
    history: Vec<HistoryRow>,
    can_edit: bool,
    can_cover: bool,
    /// Whether the caller may confirm a registered account waiting for it.
    can_confirm_account: bool,
    saved: bool,
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn person_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(sq): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let (person, masked, versions) = service::person_detail(&state.store, &caller, id).await?;
    // The portal shows the history to staff who may see personal data.
    let history = if caller.can(Permission::ViewPersonDetail) {
        let mut names = super::shared::Names::new(&state.store, &caller);
        let mut rows = Vec::new();
        for v in versions {
            rows.push(HistoryRow {
                version: v.version,
                recorded_at: super::shared::when(&v.recorded_at),
                recorded_by: names.of(&v.recorded_by).await,
                data: v.data.to_string(),
            });
        }
        rows
    } else {
        Vec::new()
    };
    // An insured account an administrator linked to this person, waiting for the clerk's check.
    let held_account = match state.store.account_of_person(id).await? {
        Some(a) if a.awaiting_approval_by.is_some() && caller.can(Permission::EditPersons) => Some((a.id, a.username)),
        _ => None,
    };
    let page = PersonPage {
        held_account,
        ctx: Ctx::for_caller(&caller, &format!("/persons/{id}")),
        p: PersonView::new(&person, caller.lang, masked),
        history,
        can_edit: caller.can(Permission::EditPersons),
        can_cover: caller.can(Permission::CheckCover),
        can_confirm_account: caller.can(Permission::EditPersons)
            && person.account_check.as_ref().is_some_and(|c| c.changed_by != caller.username()),
        saved: sq.saved.is_some(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct VersionedCsrf {
    csrf: String,
    version: i64,
}

/// `POST /persons/{id}/bank-account/confirm`: another clerk, or the person, confirms the bank
/// account staff registered.
pub async fn person_account_confirm(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<VersionedCsrf>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let holder = yibao_store::AccountHolder::Person(id);
    service::confirm_registered_account(&state.store, &caller, holder, f.version).await?;
    let own = caller.session().is_some_and(|s| s.account.person_id == Some(id));
    Ok(Redirect::to(&if own { "/me".to_string() } else { format!("/persons/{id}?saved=1") }).into_response())
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct PersonFormPage {
    ctx: Ctx,
    title: &'static str,
    action: String,
    cancel: String,
    f: PersonForm,
    errors: Vec<String>,
    fe: FieldErrors,
    enrolments: Vec<(&'static str, String)>,
    categories: Vec<(&'static str, String)>,
    statuses: Vec<(&'static str, String)>,
}

fn person_form_page(
    caller: &Caller,
    title_key: &str,
    action: String,
    cancel: String,
    f: PersonForm,
    errors: Vec<String>,
    fe: FieldErrors,
) -> PersonFormPage {
    let lang = caller.lang;
    let label = |t: yibao_core::Text| t.get(lang).to_string();
    PersonFormPage {
        ctx: Ctx::for_caller(caller, "/persons"),
        title: i18n::t(lang, title_key),
        action,
        cancel,
        f,
        errors,
        fe,
        enrolments: Enrolment::ALL.iter().map(|e| (e.code(), label(e.label()))).collect(),
        categories: PersonCategory::ALL.iter().map(|c| (c.code(), label(c.label()))).collect(),
        statuses: PersonStatus::ALL.iter().map(|s| (s.code(), label(s.label()))).collect(),
    }
}

pub async fn person_new_form(caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::EditPersons)?;
    let region = caller.session().and_then(|s| s.account.scope.regions().first().map(ToString::to_string));
    let f = PersonForm {
        enrolment: "resident".into(),
        category: "resident_adult".into(),
        status: "active".into(),
        insured_region: region.clone().unwrap_or_default(),
        hukou_region: region.unwrap_or_default(),
        ..Default::default()
    };
    let page = person_form_page(
        &caller,
        "persons.new",
        "/persons".into(),
        "/persons".into(),
        f,
        Vec::new(),
        FieldErrors::default(),
    );
    Ok(render(&page)?.into_response())
}

pub async fn person_save_new(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<PersonForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(input) => service::create_person(&state.store, &caller, &input).await,
        Err(errors) => Err(AppError::validation(errors)),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/persons/{}?saved=1", p.id)).into_response()),
        Err(e) => form_error(e, caller.lang, |msgs, fe| {
            let page = person_form_page(&caller, "persons.new", "/persons".into(), "/persons".into(), f, msgs, fe);
            Ok(render(&page)?.into_response())
        }),
    }
}

pub async fn person_edit_form(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    caller.require(Permission::EditPersons)?;
    let (p, _) = service::person(&state.store, &caller, id).await?;
    let page = person_form_page(
        &caller,
        "persons.edit",
        format!("/persons/{id}"),
        format!("/persons/{id}"),
        PersonForm::from_person(&p),
        Vec::new(),
        FieldErrors::default(),
    );
    Ok(render(&page)?.into_response())
}

pub async fn person_save_edit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<PersonForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(input) => service::update_person(&state.store, &caller, id, f.version, &input).await,
        Err(errors) => Err(AppError::validation(errors)),
    };
    match result {
        Ok(p) => Ok(Redirect::to(&format!("/persons/{}?saved=1", p.id)).into_response()),
        Err(e) => form_error(e, caller.lang, |msgs, fe| {
            let edit = format!("/persons/{id}");
            let page = person_form_page(&caller, "persons.edit", edit.clone(), edit, f, msgs, fe);
            Ok(render(&page)?.into_response())
        }),
    }
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    ctx: Ctx,
    person: Option<PersonView>,
}

pub async fn me_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let person = service::my_record(&state.store, &caller).await?;
    let page = MePage {
        ctx: Ctx::for_caller(&caller, "/me"),
        person: person.map(|p| PersonView::new(&p, caller.lang, false)),
    };
    Ok(render(&page)?.into_response())
}
