//! Employer, institution and account pages: lists, and register / edit forms drawn by one
//! generic form template from each form's field list.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use yibao_core::registry::{HospitalGrade, InstitutionTier};
use yibao_core::{Lang, Permission, Role};

use super::shared::FieldErrors;
use super::{form_error, render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::{AccountForm, EmployerForm, InstitutionForm};
use crate::views::{EmployerView, InstitutionView};
use crate::{i18n, service, SharedState};

/// One input of a generic form.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `date`, `password`, `select` or `check`.
    pub kind: &'static str,
    pub value: String,
    pub required: bool,
    pub options: Vec<(String, String)>,
    pub hint: Option<&'static str>,
}

impl Field {
    fn new(lang: Lang, name: &'static str, kind: &'static str, value: &str) -> Field {
        Field {
            name,
            label: i18n::t(lang, &format!("field.{name}")),
            kind,
            value: value.to_string(),
            required: false,
            options: Vec::new(),
            hint: None,
        }
    }

    fn text(lang: Lang, name: &'static str, value: &str) -> Field {
        Field::new(lang, name, "text", value)
    }

    fn required(mut self) -> Field {
        self.required = true;
        self
    }

    fn hint(mut self, lang: Lang, key: &str) -> Field {
        self.hint = Some(i18n::t(lang, key));
        self
    }

    fn select(lang: Lang, name: &'static str, value: &str, options: Vec<(String, String)>) -> Field {
        Field { options, ..Field::new(lang, name, "select", value) }
    }
}

/// A form the generic template can draw.
trait PortalForm {
    fn fields(&self, lang: Lang) -> Vec<Field>;
    fn version(&self) -> i64 {
        0
    }
}

impl PortalForm for EmployerForm {
    fn fields(&self, lang: Lang) -> Vec<Field> {
        vec![
            Field::text(lang, "credit_code", &self.credit_code).required(),
            Field::text(lang, "name", &self.name).required(),
            Field::text(lang, "region", &self.region).required().hint(lang, "hint.region"),
            Field::text(lang, "contact_name", &self.contact_name),
            Field::text(lang, "contact_phone", &self.contact_phone),
            Field::text(lang, "bank_name", &self.bank_name),
            Field::text(lang, "bank_card", &self.bank_card),
        ]
    }
    fn version(&self) -> i64 {
        self.version
    }
}

impl PortalForm for InstitutionForm {
    fn fields(&self, lang: Lang) -> Vec<Field> {
        let tiers = InstitutionTier::ALL.iter().map(|t| (t.code().to_string(), t.label().get(lang).to_string()));
        let grades = HospitalGrade::ALL.iter().map(|g| (g.code().to_string(), g.label().get(lang).to_string()));
        vec![
            Field::text(lang, "code", &self.code).required().hint(lang, "hint.institution_code"),
            Field::text(lang, "name", &self.name).required(),
            Field::text(lang, "region", &self.region).required().hint(lang, "hint.region"),
            Field::select(lang, "tier", &self.tier, tiers.collect()),
            Field::select(lang, "grade", &self.grade, grades.collect()),
            Field::new(lang, "designated_from", "date", &self.designated_from),
            Field::new(lang, "designated_to", "date", &self.designated_to),
            Field::new(lang, "may_issue_referrals", "check", &self.may_issue_referrals),
            Field::new(lang, "direct_settlement", "check", &self.direct_settlement),
        ]
    }
    fn version(&self) -> i64 {
        self.version
    }
}

impl PortalForm for AccountForm {
    fn fields(&self, lang: Lang) -> Vec<Field> {
        let roles = Role::ALL.iter().map(|r| (r.code().to_string(), r.label_in(lang))).collect();
        vec![
            Field::text(lang, "username", &self.username).required(),
            Field::text(lang, "display_name", &self.display_name).required(),
            Field::select(lang, "role", &self.role, roles),
            Field::text(lang, "scope", &self.scope).hint(lang, "hint.scope"),
            Field::text(lang, "person_id", &self.person_id).hint(lang, "hint.person_id"),
            Field::text(lang, "institution_code", &self.institution_code).hint(lang, "hint.account_institution"),
            Field::text(lang, "employer_code", &self.employer_code).hint(lang, "hint.account_employer"),
            Field::new(lang, "password", "password", "").required().hint(lang, "hint.password"),
        ]
    }
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    ctx: Ctx,
    title: &'static str,
    action: String,
    cancel: String,
    version: i64,
    fields: Vec<Field>,
    errors: Vec<String>,
    fe: FieldErrors,
}

/// Where a form lives: its section, title and the URL it posts to.
struct FormAt {
    section: &'static str,
    title_key: &'static str,
    action: String,
}

fn show_form(
    caller: &Caller,
    at: &FormAt,
    f: &impl PortalForm,
    errors: Vec<String>,
    fe: FieldErrors,
) -> Result<Response, AppError> {
    let page = FormPage {
        ctx: Ctx::for_caller(caller, at.section),
        title: i18n::t(caller.lang, at.title_key),
        action: at.action.clone(),
        cancel: at.section.to_string(),
        version: f.version(),
        fields: f.fields(caller.lang),
        errors,
        fe,
    };
    Ok(render(&page)?.into_response())
}

/// After a save: back to the list on success, else the form again with its errors.
fn after_save<T>(
    caller: &Caller,
    at: &FormAt,
    f: &impl PortalForm,
    result: Result<T, AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{}?saved=1", at.section)).into_response()),
        Err(e) => form_error(e, caller.lang, |msgs, fe| show_form(caller, at, f, msgs, fe)),
    }
}

fn employer_at(id: Option<i64>) -> FormAt {
    match id {
        Some(id) => FormAt { section: "/employers", title_key: "employers.edit", action: format!("/employers/{id}") },
        None => FormAt { section: "/employers", title_key: "employers.new", action: "/employers".into() },
    }
}

fn institution_at(id: Option<i64>) -> FormAt {
    match id {
        Some(id) => {
            FormAt { section: "/institutions", title_key: "institutions.edit", action: format!("/institutions/{id}") }
        }
        None => FormAt { section: "/institutions", title_key: "institutions.new", action: "/institutions".into() },
    }
}

#[derive(Template)]
#[template(path = "employers.html")]
struct EmployersPage {
    ctx: Ctx,
    items: Vec<EmployerView>,
    can_edit: bool,
}

pub async fn employers_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let items = service::employers(&state.store, &caller, None).await?;
    let page = EmployersPage {
        ctx: Ctx::for_caller(&caller, "/employers"),
        items: items.iter().map(Into::into).collect(),
        can_edit: caller.can(Permission::EditEmployers),
    };
    Ok(render(&page)?.into_response())
}

fn default_region(caller: &Caller) -> String {
    caller.session().and_then(|s| s.account.scope.regions().first().map(ToString::to_string)).unwrap_or_default()
}

pub async fn employer_new_form(caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::EditEmployers)?;
    let f = EmployerForm { region: default_region(&caller), ..Default::default() };
    show_form(&caller, &employer_at(None), &f, Vec::new(), FieldErrors::default())
}

pub async fn employer_edit_form(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    caller.require(Permission::EditEmployers)?;
    let e = service::employer(&state.store, &caller, id).await?;
    show_form(&caller, &employer_at(Some(id)), &EmployerForm::from_employer(&e), Vec::new(), FieldErrors::default())
}

async fn save_employer(
    state: &SharedState,
    caller: &Caller,
    id: Option<i64>,
    f: EmployerForm,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(input) => service::save_employer(&state.store, caller, id.map(|id| (id, f.version)), &input).await,
        Err(errors) => Err(AppError::validation(errors)),
    };
    after_save(caller, &employer_at(id), &f, result)
}

pub async fn employer_save_new(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<EmployerForm>,
) -> Result<Response, AppError> {
    save_employer(&state, &caller, None, f).await
}

pub async fn employer_save_edit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<EmployerForm>,
) -> Result<Response, AppError> {
    save_employer(&state, &caller, Some(id), f).await
}

#[derive(Template)]
#[template(path = "institutions.html")]
struct InstitutionsPage {
    ctx: Ctx,
    items: Vec<InstitutionView>,
    can_edit: bool,
}

pub async fn institutions_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let items = service::institutions(&state.store, &caller, None, None).await?;
    let page = InstitutionsPage {
        ctx: Ctx::for_caller(&caller, "/institutions"),
        items: items.iter().map(|i| InstitutionView::new(i, caller.lang)).collect(),
        can_edit: caller.can(Permission::EditInstitutions),
    };
    Ok(render(&page)?.into_response())
}

pub async fn institution_new_form(caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::EditInstitutions)?;
    let f = InstitutionForm {
        region: default_region(&caller),
        tier: InstitutionTier::ALL[0].code().into(),
        grade: HospitalGrade::ALL[0].code().into(),
        ..Default::default()
    };
    show_form(&caller, &institution_at(None), &f, Vec::new(), FieldErrors::default())
}

pub async fn institution_edit_form(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    caller.require(Permission::EditInstitutions)?;
    let i = service::institution(&state.store, &caller, id).await?;
    show_form(
        &caller,
        &institution_at(Some(id)),
        &InstitutionForm::from_institution(&i),
        Vec::new(),
        FieldErrors::default(),
    )
}

async fn save_institution(
    state: &SharedState,
    caller: &Caller,
    id: Option<i64>,
    f: InstitutionForm,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(input) => service::save_institution(&state.store, caller, id.map(|id| (id, f.version)), &input).await,
        Err(errors) => Err(AppError::validation(errors)),
    };
    after_save(caller, &institution_at(id), &f, result)
}

pub async fn institution_save_new(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<InstitutionForm>,
) -> Result<Response, AppError> {
    save_institution(&state, &caller, None, f).await
}

pub async fn institution_save_edit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<InstitutionForm>,
) -> Result<Response, AppError> {
    save_institution(&state, &caller, Some(id), f).await
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    ctx: Ctx,
    items: Vec<AccountRow>,
}

pub async fn accounts_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let accounts = service::accounts(&state.store, &caller).await?;
    let items = accounts
        .iter()
        .map(|a| AccountRow {
            id: a.id,
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role.label_in(caller.lang),
            scope: a.scope.to_list(),
            awaiting: a.awaiting_approval_by.is_some(),
            may_approve: a.awaiting_approval_by.as_deref().is_some_and(|by| by != caller.username()),
            state: [
                (a.disabled, "logins.state.disabled"),
                (a.pending_change.is_some(), "logins.pending"),
                (a.must_change_password, "logins.state.must_change"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, k)| i18n::t(caller.lang, k))
            .collect::<Vec<_>>()
            .join(" · "),
        })
        .collect();
    Ok(render(&AccountsPage { ctx: Ctx::for_caller(&caller, "/accounts"), items })?.into_response())
}

pub struct AccountRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope: String,
    /// Waiting for a second administrator.
    pub awaiting: bool,
    /// This administrator may approve it (they did not create it).
    pub may_approve: bool,
    /// Disabled, a change waiting, a password to change ("" when none).
    pub state: String,
}

/// `POST /accounts/{id}/approve`: a second administrator approves an account.
pub async fn account_approve(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<crate::pages::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let (a, activation_code) = service::approve_account(&state.store, &caller, id).await?;
    let back = match a.person_id.filter(|_| !caller.can(Permission::ManageAccounts)) {
        Some(person) => format!("/persons/{person}"),
        None => "/accounts".to_string(),
    };
    let page = AccountApproved {
        ctx: Ctx::for_caller(&caller, "/accounts"),
        username: a.username,
        display_name: a.display_name,
        activation_code,
        back,
    };
    Ok(render(&page)?.into_response())
}

/// The approved account's one-time password, shown to the approver once.
#[derive(Template)]
#[template(path = "account_approved.html")]
struct AccountApproved {
    ctx: Ctx,
    username: String,
    display_name: String,
    activation_code: String,
    back: String,
}

fn account_at() -> FormAt {
    FormAt { section: "/accounts", title_key: "accounts.new", action: "/accounts".into() }
}

pub async fn account_new_form(caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::ManageAccounts)?;
    let f = AccountForm { role: Role::IntakeClerk.code().into(), scope: default_region(&caller), ..Default::default() };
    show_form(&caller, &account_at(), &f, Vec::new(), FieldErrors::default())
}

pub async fn account_save_new(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(new) => service::create_account(&state.store, &caller, &new).await,
        Err(errors) => Err(AppError::validation(errors)),
    };
    after_save(&caller, &account_at(), &f, result)
}
