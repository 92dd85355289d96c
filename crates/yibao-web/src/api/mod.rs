//! The JSON API under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json` (viewer at `/api/docs/`). Errors are RFC 9457 problems.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use yibao_core::{Permission, Role};
use yibao_store::{LoginOutcome, PersonQuery};

use crate::context::{Caller, Principal};
use crate::error::{AppError, Problem};
use crate::forms::{EmployerForm, InstitutionForm, PersonForm};
use crate::views::{EmployerView, InstitutionView, PageView, PersonView};
use crate::{service, SharedState};

pub mod accounts;
pub mod audit;
pub mod books;
pub mod claims;
pub mod clearing;
pub mod contributions;
pub mod cover;
pub mod logins;
pub mod payments;
pub mod platform;
pub mod rules;
pub mod settlement;
pub mod supervision;
pub mod withdrawals;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "yibao API",
        description = "基本医疗保险报销系统 / basic medical insurance reimbursement. \
        Authenticate with a bearer session token (POST /api/v1/login), the portal's session cookie plus \
        X-CSRF-Token on writes, or an institution's X-Api-Key."
    ),
    paths(
        login,
        logout,
        my_notices,
        approve_account,
        change_password,
        me,
        list_persons,
        create_person,
        get_person,
        update_person,
        confirm_person_account,
        confirm_employer_account,
        person_history,
        list_employers,
        create_employer,
        get_employer,
        update_employer,
        list_institutions,
        create_institution,
        get_institution,
        update_institution,
        institution_self,
        audit_log,
        audit_entry,
        search,
        list_accounts,
        create_account,
        logins::disable,
        logins::enable,
        logins::unlock,
        logins::reset_password,
        logins::propose_change,
        logins::approve_change,
        logins::reject_change,
        rules::list_policies,
        rules::get_policy,
        rules::import_policy,
        rules::list_catalog_imports,
        rules::get_catalog_import,
        rules::import_catalog,
        rules::search_catalog,
        rules::import_diagnoses,
        rules::search_diagnoses,
        rules::adjudicate_preview,
        rules::get_calendar,
        rules::import_calendar,
        cover::filing_queue,
        cover::person_filings,
        cover::apply_filing,
        cover::upload_document,
        cover::get_document,
        cover::document_content,
        cover::get_filing,
        cover::decide_filing,
        cover::revoke_filing,
        cover::person_cards,
        cover::apply_card,
        cover::card_event,
        cover::issue_no_card_certificate,
        cover::get_cover,
        cover::issue_referral,
        cover::get_referral,
        cover::seal_referral,
        settlement::get_settlement,
        settlement::person_settlements,
        claims::get_claim_rules,
        claims::import_claim_rules,
        supervision::get_rule_base,
        supervision::import_rule_base,
        supervision::claim_hits,
        supervision::open_hits,
        supervision::get_hit,
        supervision::rescue_admissions,
        supervision::institution_findings,
        supervision::settlement_hits,
        supervision::decide_hit,
        supervision::take_hit,
        audit::medical_history,
        audit::add_history,
        audit::get_pre_evaluation,
        audit::require_pre_evaluation,
        audit::record_pre_evaluation,
        audit::claim_comparison,
        audit::settlement_comparison,
        supervision::decide_institution_finding,
        supervision::rule_base_versions,
        contributions::import_rules,
        contributions::get_rules,
        contributions::declare,
        contributions::declare_file,
        withdrawals::request,
        withdrawals::of_person,
        withdrawals::waiting,
        withdrawals::one,
        withdrawals::decide,
        withdrawals::payment,
        withdrawals::give_account,
        withdrawals::confirm_account,
        clearing::list,
        clearing::preview,
        clearing::apply,
        clearing::one,
        clearing::cancel,
        clearing::object,
        clearing::decide_objection,
        clearing::review,
        clearing::approve,
        clearing::assessments,
        clearing::assess,
        clearing::account,
        clearing::set_account,
        books::check,
        books::months,
        books::months_xlsx,
        books::close,
        contributions::bills,
        contributions::bill,
        contributions::record_payment,
        contributions::import_payments,
        contributions::paid_months,
        contributions::payment_notice,
        audit::audit_tasks,
        audit::create_audit_task,
        audit::audit_task,
        audit::add_audit_photo,
        audit::conclude_audit_task,
        audit::take_audit_task,
        claims::checklist,
        claims::submit_claim,
        claims::get_claim,
        claims::claim_queue,
        claims::assign_claim,
        claims::workload,
        claims::person_claims,
        claims::attach_document,
        claims::claim_step,
        claims::my_delegations,
        claims::grant_delegation,
        claims::revoke_delegation,
        accounts::my_account,
        accounts::authorise_family,
        accounts::revoke_family,
        payments::claim_payment,
        payments::give_account,
        payments::confirm_account,
        payments::list_orders,
        payments::build_batch,
        payments::get_batch,
        payments::approve_batch,
        payments::cancel_batch,
        payments::export_batch,
        payments::import_results,
        platform::call_service
    ),
    components(schemas(
        Problem,
        payments::AccountBody,
        payments::BuildBody,
        PersonForm,
        EmployerForm,
        InstitutionForm,
        PersonView,
        EmployerView,
        InstitutionView,
        LoginRequest,
        LoginResponse,
        MeResponse,
        AccountView,
        AccountRequest,
        AuditEntryView,
        rules::PreviewRequest,
        crate::forms::cover::FilingForm,
        crate::forms::cover::DocumentForm,
        crate::forms::cover::DecisionForm,
        crate::forms::cover::CardForm,
        crate::forms::cover::CardEventForm,
        crate::forms::cover::NoCardForm,
        crate::forms::cover::ReferralForm,
        crate::forms::cover::SealForm,
        crate::forms::claims::ClaimForm,
        crate::forms::claims::InvoiceForm,
        crate::forms::claims::LineForm,
        claims::StepForm,
        claims::DelegationForm
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document, with the platform endpoint's description listing every supported
/// transaction (`infno`), its input and its output.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if let Some(item) = doc.paths.paths.get_mut("/fsi/api/rsfComIfsService/callService") {
        if let Some(op) = item.post.as_mut() {
            op.description = Some(platform::transactions_markdown());
        }
    }
    doc
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    token: String,
    account: AccountView,
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    scope: Vec<String>,
    person_id: Option<i64>,
    institution_id: Option<i64>,
    /// Waiting for a second administrator's approval (it cannot log in until then).
    awaiting_approval: bool,
    /// Its password was set by someone else and must be changed before anything else.
    must_change_password: bool,
    /// Disabled: it cannot log in, and its sessions ended.
    disabled: bool,
    /// Wrong passwords since the last log-in.
    failed_logins: i64,
    /// A change of role and regions waiting for a second administrator.
    pending_change: Option<PendingChange>,
}

#[derive(Serialize, ToSchema)]
pub struct PendingChange {
    role: String,
    scope: Vec<String>,
    /// The administrator who proposed it.
    by: String,
}

/// An approved account and its activation code (shown once, to hand to the holder, who logs
/// in the first time with the creator's password followed by it).
#[derive(Serialize, ToSchema)]
pub struct ApprovedAccount {
    #[serde(flatten)]
    account: AccountView,
    activation_code: String,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    current: String,
    new: String,
}

impl From<&yibao_store::Account> for AccountView {
    fn from(a: &yibao_store::Account) -> Self {
        AccountView {
            id: a.id,
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role.code().into(),
            scope: a.scope.regions().iter().map(ToString::to_string).collect(),
            person_id: a.person_id,
            institution_id: a.institution_id,
            awaiting_approval: a.awaiting_approval_by.is_some(),
            must_change_password: a.must_change_password,
            disabled: a.disabled,
            failed_logins: a.failed_logins,
            pending_change: a.pending_change.as_ref().map(|c| PendingChange {
                role: c.role.code().into(),
                scope: c.scope.regions().iter().map(ToString::to_string).collect(),
                by: c.by.clone(),
            }),
        }
    }
}

/// Log in with a username and password; returns a bearer token.
#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem)))]
pub async fn login(
    State(state): State<SharedState>,
    client: crate::context::Client,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    match service::log_in(&state, &client, &req.username, &req.password).await? {
        LoginOutcome::Ok { token, session } => Ok(Json(LoginResponse { token, account: (&session.account).into() })),
        LoginOutcome::BadCredentials => Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "用户名或密码错误；多次失败后需稍候片刻再试",
            "wrong username or password; after several failures, wait a moment before trying again",
        )),
        LoginOutcome::Disabled => {
            Err(AppError::new(StatusCode::FORBIDDEN, "disabled", "账号已停用", "the account is disabled"))
        }
    }
}

/// What yibao told the insured person (a change to where their money goes, say), newest
/// first; empty for everyone else.
#[utoipa::path(get, path = "/api/v1/me/notices", responses((status = 200), (status = 401, body = Problem)))]
pub async fn my_notices(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<yibao_store::Notice>>, AppError> {
    let person = caller.session().and_then(|s| s.account.person_id).filter(|_| caller.role() == Role::Insured);
    Ok(Json(match person {
        Some(id) => state.store.notices_of(id, 100).await?,
        None => Vec::new(),
    }))
}

/// Log out: the bearer token is revoked at once (a later request with it answers 401).
#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(state): State<SharedState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<StatusCode, AppError> {
    let Principal::Session { by_cookie: false, .. } = caller.principal else {
        // An institution's API key is revoked by its administrator; a portal session logs
        // out with its form (which carries the CSRF token).
        return Err(AppError::forbidden());
    };
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    state.store.logout(token.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    account: Option<AccountView>,
    institution: Option<InstitutionView>,
    person: Option<PersonView>,
}

/// Who am I: the account (and, for an insured person, their own record), or the institution.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
pub async fn me(State(state): State<SharedState>, caller: Caller) -> Result<Json<MeResponse>, AppError> {
    Ok(Json(match &caller.principal {
        Principal::Institution(o) => MeResponse {
            account: None,
            institution: Some(InstitutionView::new(&o.institution, caller.lang)),
            person: None,
        },
        Principal::Session { session, .. } => {
            let person = if caller.role() == Role::Insured {
                service::my_record(&state.store, &caller).await?.map(|p| PersonView::new(&p, caller.lang, false))
            } else {
                None
            };
            MeResponse {
                account: Some((&session.account).into()),
                institution: session.institution.as_ref().map(|i| InstitutionView::new(i, caller.lang)),
                person,
            }
        }
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct PersonSearch {
    /// Start of a name, or of a resident ID number (4+ characters).
    q: Option<String>,
    /// A division code: only persons insured within it.
    region: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
}

/// Search insured persons in the caller's regions (identity data masked).
#[utoipa::path(get, path = "/api/v1/persons", params(PersonSearch),
    responses((status = 200, body = PageView<PersonView>), (status = 403, body = Problem)))]
pub async fn list_persons(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<PersonSearch>,
) -> Result<Json<PageView<PersonView>>, AppError> {
    let region = s.region.as_deref().filter(|r| !r.is_empty()).map(str::parse).transpose()?;
    let q = PersonQuery { text: s.q, region, scope: None, after: s.after, limit: s.limit.unwrap_or(50) };
    let page = service::search_persons(&state.store, &caller, q).await?;
    Ok(Json(PageView {
        items: page.items.iter().map(|p| PersonView::new(p, caller.lang, true)).collect(),
        next: page.next,
    }))
}

/// Register an insured person (intake clerk, within their regions).
#[utoipa::path(post, path = "/api/v1/persons", request_body = PersonForm,
    responses((status = 201, body = PersonView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_person(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<PersonForm>,
) -> Result<(StatusCode, Json<PersonView>), AppError> {
    caller.require(Permission::EditPersons)?;
    let input = f.parse().map_err(AppError::validation)?;
    let p = service::create_person(&state.store, &caller, &input).await?;
    Ok((StatusCode::CREATED, Json(PersonView::new(&p, caller.lang, false))))
}

/// One insured person: whole for roles that may see personal data, masked otherwise.
#[utoipa::path(get, path = "/api/v1/persons/{id}", responses((status = 200, body = PersonView), (status = 404, body = Problem)))]
pub async fn get_person(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<PersonView>, AppError> {
    let (p, masked) = service::person(&state.store, &caller, id).await?;
    Ok(Json(PersonView::new(&p, caller.lang, masked)))
}

/// Change an insured person; `version` must be the version that was read.
#[utoipa::path(put, path = "/api/v1/persons/{id}", request_body = PersonForm,
    responses((status = 200, body = PersonView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_person(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<PersonForm>,
) -> Result<Json<PersonView>, AppError> {
    caller.require(Permission::EditPersons)?;
    let input = f.parse().map_err(AppError::validation)?;
    let p = service::update_person(&state.store, &caller, id, f.version, &input).await?;
    Ok(Json(PersonView::new(&p, caller.lang, false)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VersionForm {
    /// The version of the record the confirmer was shown.
    pub version: i64,
}

/// Confirm the bank account staff registered on a person: another clerk, or the person.
#[utoipa::path(post, path = "/api/v1/persons/{id}/bank-account/confirm", request_body = VersionForm,
    responses((status = 200, body = PersonView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_person_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<VersionForm>,
) -> Result<Json<PersonView>, AppError> {
    let holder = yibao_store::AccountHolder::Person(id);
    service::confirm_registered_account(&state.store, &caller, holder, f.version).await?;
    let (p, masked) = service::person(&state.store, &caller, id).await?;
    Ok(Json(PersonView::new(&p, caller.lang, masked)))
}

/// Confirm the bank account staff registered on an employer unit: another clerk, or the unit.
#[utoipa::path(post, path = "/api/v1/employers/{id}/bank-account/confirm", request_body = VersionForm,
    responses((status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_employer_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<VersionForm>,
) -> Result<StatusCode, AppError> {
    let holder = yibao_store::AccountHolder::Employer(id);
    service::confirm_registered_account(&state.store, &caller, holder, f.version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a person's record, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/history", responses((status = 200), (status = 404, body = Problem)))]
pub async fn person_history(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<yibao_store::RecordVersion>>, AppError> {
    Ok(Json(service::person_history(&state.store, &caller, id).await?))
}

#[derive(Deserialize, IntoParams)]
pub struct TextSearch {
    /// Start of the name.
    q: Option<String>,
    /// A division code.
    region: Option<String>,
}

/// Employer units in the caller's regions.
#[utoipa::path(get, path = "/api/v1/employers", params(TextSearch), responses((status = 200, body = Vec<EmployerView>)))]
pub async fn list_employers(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<TextSearch>,
) -> Result<Json<Vec<EmployerView>>, AppError> {
    let items = service::employers(&state.store, &caller, s.q.as_deref()).await?;
    Ok(Json(items.iter().map(Into::into).collect()))
}

/// Register an employer unit.
#[utoipa::path(post, path = "/api/v1/employers", request_body = EmployerForm,
    responses((status = 201, body = EmployerView), (status = 422, body = Problem)))]
pub async fn create_employer(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<EmployerForm>,
) -> Result<(StatusCode, Json<EmployerView>), AppError> {
    caller.require(Permission::EditEmployers)?;
    let input = f.parse().map_err(AppError::validation)?;
    let e = service::save_employer(&state.store, &caller, None, &input).await?;
    Ok((StatusCode::CREATED, Json((&e).into())))
}

#[utoipa::path(get, path = "/api/v1/employers/{id}", responses((status = 200, body = EmployerView), (status = 404, body = Problem)))]
pub async fn get_employer(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<EmployerView>, AppError> {
    Ok(Json((&service::employer(&state.store, &caller, id).await?).into()))
}

#[utoipa::path(put, path = "/api/v1/employers/{id}", request_body = EmployerForm,
    responses((status = 200, body = EmployerView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_employer(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<EmployerForm>,
) -> Result<Json<EmployerView>, AppError> {
    caller.require(Permission::EditEmployers)?;
    let input = f.parse().map_err(AppError::validation)?;
    Ok(Json((&service::save_employer(&state.store, &caller, Some((id, f.version)), &input).await?).into()))
}

/// Medical institutions (the designated list is public to every logged-in user).
#[utoipa::path(get, path = "/api/v1/institutions", params(TextSearch), responses((status = 200, body = Vec<InstitutionView>)))]
pub async fn list_institutions(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<TextSearch>,
) -> Result<Json<Vec<InstitutionView>>, AppError> {
    let region = s.region.as_deref().filter(|r| !r.is_empty()).map(str::parse).transpose()?;
    let items = service::institutions(&state.store, &caller, s.q.as_deref(), region).await?;
    Ok(Json(items.iter().map(|i| InstitutionView::new(i, caller.lang)).collect()))
}

/// Register a medical institution (policy administrator).
#[utoipa::path(post, path = "/api/v1/institutions", request_body = InstitutionForm,
    responses((status = 201, body = InstitutionView), (status = 422, body = Problem)))]
pub async fn create_institution(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<InstitutionForm>,
) -> Result<(StatusCode, Json<InstitutionView>), AppError> {
    caller.require(Permission::EditInstitutions)?;
    let input = f.parse().map_err(AppError::validation)?;
    let i = service::save_institution(&state.store, &caller, None, &input).await?;
    Ok((StatusCode::CREATED, Json(InstitutionView::new(&i, caller.lang))))
}

#[utoipa::path(get, path = "/api/v1/institutions/{id}", responses((status = 200, body = InstitutionView), (status = 404, body = Problem)))]
pub async fn get_institution(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<InstitutionView>, AppError> {
    Ok(Json(InstitutionView::new(&service::institution(&state.store, &caller, id).await?, caller.lang)))
}

#[utoipa::path(put, path = "/api/v1/institutions/{id}", request_body = InstitutionForm,
    responses((status = 200, body = InstitutionView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_institution(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<InstitutionForm>,
) -> Result<Json<InstitutionView>, AppError> {
    caller.require(Permission::EditInstitutions)?;
    let input = f.parse().map_err(AppError::validation)?;
    let i = service::save_institution(&state.store, &caller, Some((id, f.version)), &input).await?;
    Ok(Json(InstitutionView::new(&i, caller.lang)))
}

/// The calling institution itself (API key, or a member of its staff logged in).
#[utoipa::path(get, path = "/api/v1/institution/self", responses((status = 200, body = InstitutionView), (status = 403, body = Problem)))]
pub async fn institution_self(caller: Caller) -> Result<Json<InstitutionView>, AppError> {
    match caller.institution() {
        Some(i) => Ok(Json(InstitutionView::new(i, caller.lang))),
        None => Err(AppError::forbidden()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryView {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    request_id: String,
    hash: String,
    /// The fields the step changed (before and after).
    changes: Vec<AuditChange>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditChange {
    field: String,
    before: String,
    after: String,
}

/// One audit entry whole: the data before and after the step (JSON text) and the chain.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryWhole {
    #[serde(flatten)]
    entry: AuditEntryView,
    before: String,
    after: String,
    prev_hash: String,
}

impl From<&yibao_core::audit::AuditEntry> for AuditEntryView {
    fn from(e: &yibao_core::audit::AuditEntry) -> Self {
        AuditEntryView {
            seq: e.seq,
            at: e.at.clone(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            entity_id: e.entity_id.clone(),
            request_id: e.request_id.clone(),
            hash: e.hash.clone(),
            changes: yibao_core::audit::changed_fields(&e.before, &e.after)
                .into_iter()
                .map(|c| AuditChange { field: c.field, before: c.before, after: c.after })
                .collect(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AuditLimit {
    /// At most this many entries (1–1,000; 200 unless given).
    limit: Option<i64>,
}

/// The audit log searched, newest first (auditor, system administrator); the next page with
/// `before` set to the last entry's `seq`.
#[utoipa::path(get, path = "/api/v1/audit", params(service::audit_log::AuditAsk, AuditLimit),
    responses((status = 200, body = Vec<AuditEntryView>), (status = 403, body = Problem)))]
pub async fn audit_log(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<service::audit_log::AuditAsk>,
    Query(limit): Query<AuditLimit>,
) -> Result<Json<Vec<AuditEntryView>>, AppError> {
    let entries = service::audit_log::search(&state.store, &caller, &ask, limit.limit.unwrap_or(200)).await?;
    Ok(Json(entries.iter().map(Into::into).collect()))
}

/// One audit entry whole.
#[utoipa::path(get, path = "/api/v1/audit/{seq}",
    responses((status = 200, body = AuditEntryWhole), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn audit_entry(
    State(state): State<SharedState>,
    caller: Caller,
    Path(seq): Path<i64>,
) -> Result<Json<AuditEntryWhole>, AppError> {
    let e = service::audit_log::entry(&state.store, &caller, seq).await?;
    Ok(Json(AuditEntryWhole { entry: (&e).into(), before: e.before, after: e.after, prev_hash: e.prev_hash }))
}

#[derive(Deserialize, IntoParams)]
pub struct SearchText {
    /// A claim number, a name or ID number (its start), an invoice number, a `setl_id`, a
    /// batch or clearing number, an institution's code or name.
    q: String,
}

/// The staff's search: what the text names, of the kinds the caller may read, in the
/// caller's regions (at most ten of each kind).
#[utoipa::path(get, path = "/api/v1/search", params(SearchText),
    responses((status = 200, body = Vec<Object>), (status = 403, body = Problem)))]
pub async fn search(
    State(state): State<SharedState>,
    caller: Caller,
    Query(s): Query<SearchText>,
) -> Result<Json<Vec<yibao_store::Found>>, AppError> {
    Ok(Json(service::find::find(&state.store, &caller, &s.q).await?))
}

/// Accounts (system administrator).
#[utoipa::path(get, path = "/api/v1/accounts", responses((status = 200, body = Vec<AccountView>), (status = 403, body = Problem)))]
pub async fn list_accounts(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<AccountView>>, AppError> {
    Ok(Json(service::accounts(&state.store, &caller).await?.iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct AccountRequest {
    username: String,
    display_name: String,
    /// `intake_clerk`, `reviewer`, `second_reviewer`, `auditor`, `finance`, `policy_admin`, `sys_admin`,
    /// `insured`, `institution`.
    role: String,
    password: String,
    /// Division codes, e.g. `["620300"]` (staff).
    #[serde(default)]
    scope: Vec<String>,
    /// The registry record (insured persons).
    person_id: Option<i64>,
    /// The institution's national code (an institution's staff).
    institution_code: Option<String>,
    /// The unit's unified social credit code (an employer unit's account).
    employer_code: Option<String>,
}

/// Create an account (system administrator).
#[utoipa::path(post, path = "/api/v1/accounts", request_body = AccountRequest,
    responses((status = 201, body = AccountView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_account(
    State(state): State<SharedState>,
    caller: Caller,
    Json(r): Json<AccountRequest>,
) -> Result<(StatusCode, Json<AccountView>), AppError> {
    caller.require(Permission::ManageAccounts)?;
    let form = crate::forms::AccountForm {
        username: r.username,
        display_name: r.display_name,
        role: r.role,
        password: r.password,
        scope: r.scope.join(","),
        person_id: r.person_id.map(|i| i.to_string()).unwrap_or_default(),
        institution_code: r.institution_code.unwrap_or_default(),
        employer_code: r.employer_code.unwrap_or_default(),
        csrf: String::new(),
    };
    let new = form.parse().map_err(AppError::validation)?;
    let a = service::create_account(&state.store, &caller, &new).await?;
    Ok((StatusCode::CREATED, Json((&a).into())))
}

/// A second system administrator approves a finance, second-review or administrator account
/// another one created (the creator cannot).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/approve",
    responses((status = 200, body = ApprovedAccount), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn approve_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ApprovedAccount>, AppError> {
    let (account, activation_code) = service::approve_account(&state.store, &caller, id).await?;
    Ok(Json(ApprovedAccount { account: (&account).into(), activation_code }))
}

/// Change one's own password (required first when someone else set it); the caller's other
/// sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChange,
    responses((status = 200, body = AccountView), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<PasswordChange>,
) -> Result<Json<AccountView>, AppError> {
    Ok(Json((&service::change_password(&caller, &state.store, &f.current, &f.new).await?).into()))
}
