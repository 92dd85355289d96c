//! Sporadic claims (零星报销) in the portal: the checklist guide ("which papers do I
//! need?"), the claimant's claims and delegations, the claim form with its uploads and
//! itemised list, a claim's page (status, history, what is missing, expected payment, the
//! statement that explains every yuan, printable and downloadable), the staff queue, and
//! the intake, review and second-review steps on a claim's page.

mod claim;
mod form;
mod queue;

pub(crate) use claim::show_claim;
pub use claim::{
    claim_assign, claim_document_add, claim_page, claim_payment_account, claim_payment_account_confirm,
    claim_statement_csv, claim_step_submit,
};
pub use form::{claim_new_form, claim_submit, diagnosis_suggest, institution_suggest, item_suggest, region_suggest};
pub use queue::{claim_queue_page, QueueAsk};

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rust_decimal::Decimal;
use serde::Deserialize;
use yibao_core::adjudicate::MedType;
use yibao_core::document::DocumentKind;
use yibao_core::payment::OrderState;
use yibao_core::registry::HospitalGrade;
use yibao_core::sporadic::{itemised, ClaimCase, ClaimState, LineReason, Statement, Submitter, PAYMENT_WORKING_DAYS};
use yibao_core::{AdminCode, BankCardNumber, Fen, InvalidValue, Lang, Permission};
use yibao_store::{ClaimSummary, PaymentOrder, StoredClaim};

use super::shared::{choices, my_person_id, notice, or_show, when, Choice};
use super::{render, render_form, Ctx, DoneAsk};
use crate::api::claims::StepForm;
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::claims::{ClaimForm, InvoiceForm, LineForm};
use crate::forms::upload::{FormWithFile, FormWithFiles, Upload};
use crate::service::claims::{self as svc, Standing};
use crate::{i18n, SharedState};

/// Rows of invoices and of expense lines the form offers (more lines come as a file).
const INVOICE_ROWS: usize = 3;
const LINE_ROWS: usize = 8;
/// Extra document rows besides the checklist's.
const EXTRA_DOCUMENTS: usize = 2;

pub struct ClaimRow {
    pub id: i64,
    pub number: String,
    pub person_name: String,
    pub case: String,
    pub state: String,
    pub state_code: &'static str,
    pub care_end: String,
    pub medfee: String,
    pub fund: String,
    pub submitted_at: String,
    /// Where the money is, once approved ("已支付 2026-11-23", "待支付（2026-12-14 前）", ...).
    pub payment: String,
    pub payment_state: &'static str,
    /// In the staff's list: days since it was received, and the 15 working-day promise
    /// (working days left, or how late) while it is open.
    pub ageing: String,
    pub promise: String,
    /// `kept`, `at_risk`, `broken` or "".
    pub promise_state: &'static str,
}

impl ClaimRow {
    fn new(c: &ClaimSummary, lang: Lang) -> ClaimRow {
        ClaimRow {
            id: c.id,
            number: c.number.clone(),
            person_name: c.person_name.clone(),
            case: c.case.label().get(lang).to_string(),
            state: c.state.label().get(lang).to_string(),
            state_code: c.state.code(),
            care_end: c.care_end.to_string(),
            medfee: c.medfee_sumamt.to_grouped(),
            fund: c.fund_pay_sumamt.map_or_else(|| "—".to_string(), Fen::to_grouped),
            submitted_at: when(&c.submitted_at),
            payment: String::new(),
            payment_state: "",
            ageing: String::new(),
            promise: String::new(),
            promise_state: "",
        }
    }

    /// Rows for claims, each with where its money is.
    pub async fn list(
        store: &yibao_store::Store,
        claims: &[ClaimSummary],
        lang: Lang,
    ) -> Result<Vec<ClaimRow>, AppError> {
        let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
        let orders = store.payments_of_claims(&ids).await?;
        Ok(claims
            .iter()
            .map(|c| {
                let mut row = ClaimRow::new(c, lang);
                if let Some(o) = orders.iter().find(|o| o.claim_id == Some(c.id)) {
                    row.payment_state = o.state.code();
                    row.payment = match (o.state, o.paid_on) {
                        (OrderState::Paid, Some(day)) => format!("{} {day}", o.state.label().get(lang)),
                        (OrderState::Failed | OrderState::AwaitingAccount, _) => o.state.label().get(lang).to_string(),
                        _ => i18n::t(lang, "pay.due_short").replace("{due}", &o.due_on.to_string()),
                    };
                }
                row
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// The checklist guide

pub struct GuideItem {
    pub label: String,
    pub required: bool,
    pub why: String,
}

pub struct Guide {
    pub case_label: String,
    pub deadline: String,
    pub items: Vec<GuideItem>,
}

#[derive(Template)]
#[template(path = "claim_guide.html")]
struct GuidePage {
    ctx: Ctx,
    cases: Vec<Choice>,
    submitters: Vec<Choice>,
    case: String,
    submitter: String,
    region: String,
    guide: Option<Guide>,
    errors: Vec<String>,
    can_claim: bool,
}

#[derive(Deserialize, Default)]
pub struct GuideAsk {
    #[serde(default)]
    case: String,
    #[serde(default)]
    submitter: String,
    #[serde(default)]
    region: String,
}

/// The region whose rules the caller reads by default: the insured person's own, else the
/// first of the staff member's regions.
async fn home_region(state: &SharedState, caller: &Caller) -> Result<Option<AdminCode>, AppError> {
    if let Some(id) = caller.session().and_then(|s| s.account.person_id) {
        return Ok(Some(state.store.person(id).await?.insured_region));
    }
    if let Some(id) = caller.session().and_then(|s| s.account.employer_id) {
        return Ok(Some(state.store.employer(id).await?.region));
    }
    Ok(caller.session().and_then(|s| s.account.scope.regions().first().copied()))
}

/// `GET /claims/guide`: which papers a case needs, and why, and by when.
pub async fn claim_guide(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<GuideAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let region = match ask.region.trim() {
        "" => home_region(&state, &caller).await?,
        r => Some(r.parse()?),
    };
    let mut errors = Vec::new();
    let mut guide = None;
    if let (Some(region), false) = (region, ask.case.trim().is_empty()) {
        let result = async {
            let case = ClaimCase::parse(ask.case.trim())?;
            let submitter = Submitter::parse(if ask.submitter.is_empty() { "insured" } else { ask.submitter.trim() })?;
            let (rules, _) = svc::claim_rules(&state.store, &caller, region).await?;
            rules.check_submitter(case, submitter)?;
            let items = rules
                .checklist(case, submitter)
                .iter()
                .map(|i| GuideItem {
                    label: i.label().get(lang).to_string(),
                    required: i.required,
                    why: i.why.get(lang).to_string(),
                })
                .collect();
            Ok::<_, AppError>(Guide {
                case_label: case.label().get(lang).to_string(),
                deadline: rules.case(case).deadline.describe().get(lang).to_string(),
                items,
            })
        }
        .await;
        match result {
            Ok(g) => guide = Some(g),
            Err(e) => errors = super::form_messages(&e, lang).ok_or(e)?,
        }
    }
    let page = GuidePage {
        ctx: Ctx::for_caller(&caller, "/claims/guide"),
        cases: choices(ClaimCase::ALL, ClaimCase::code, ClaimCase::label, lang),
        submitters: choices(Submitter::ALL, Submitter::code, Submitter::label, lang),
        case: ask.case.trim().to_string(),
        submitter: ask.submitter.trim().to_string(),
        region: region.map(|r| r.to_string()).unwrap_or_default(),
        guide,
        can_claim: caller.can(Permission::ViewOwnRecord) || caller.can(Permission::HandleClaims),
        errors,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------------------------------
// The claimant's claims and delegations

pub struct DelegationRow {
    pub id: i64,
    pub name: String,
    pub resident_id: String,
    pub granted_at: String,
    pub revoked_at: String,
}

#[derive(Template)]
#[template(path = "my_claims.html")]
struct MyClaimsPage {
    ctx: Ctx,
    name: String,
    rows: Vec<ClaimRow>,
    given: Vec<DelegationRow>,
    /// Persons who authorised the caller: (person id, name).
    principals: Vec<(i64, String)>,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_my_claims(
    state: &SharedState,
    caller: &Caller,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let id = my_person_id(caller)?;
    let lang = caller.lang;
    let person = state.store.person(id).await?;
    let rows = svc::claims_of(&state.store, caller, id).await?;
    let given = svc::my_delegations(&state.store, caller).await?;
    let received = svc::delegated_to_me(&state.store, caller).await?;
    let mut principals = Vec::new();
    for d in received.iter().filter(|d| d.revoked_at.is_none()) {
        principals.push((d.person_id, state.store.person(d.person_id).await?.name.to_string()));
    }
    let page = MyClaimsPage {
        ctx: Ctx::for_caller(caller, "/my/claims"),
        name: person.name.to_string(),
        rows: ClaimRow::list(&state.store, &rows, lang).await?,
        given: given
            .iter()
            .map(|d| DelegationRow {
                id: d.id,
                name: d.delegate_name.clone(),
                resident_id: d.delegate_resident_id.clone(),
                granted_at: when(&d.granted_at),
                revoked_at: d.revoked_at.as_deref().map(when).unwrap_or_default(),
            })
            .collect(),
        principals,
        notice: notice(lang, done),
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /my/claims`: the insured person's claims, the delegates they authorised, and the
/// persons who authorised them.
pub async fn my_claims(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_my_claims(&state, &caller, &ask.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    delegate_id: String,
    #[serde(default)]
    delegate_name: String,
}

/// `POST /my/delegations`: authorise a delegate.
pub async fn my_delegation_grant(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<GrantForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let rid = f.delegate_id.trim().parse().map_err(|mut e: InvalidValue| {
            e.field = "delegate_id";
            AppError::validation(vec![e])
        })?;
        svc::grant_delegation(&state.store, &caller, &rid, &f.delegate_name).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/my/claims?done=delegated").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_my_claims(&state, &caller, "", m)).await,
    }
}

/// `POST /my/delegations/{id}/revoke`.
pub async fn my_delegation_revoke(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let action = format!("/my/delegations/{id}/revoke");
    if let Some(ask) =
        super::shared::confirmed_or_ask(&caller, &f.confirmed, "revoke_delegation", &action, &[], "/my/claims")
    {
        return ask;
    }
    match svc::revoke_delegation(&state.store, &caller, id).await {
        Ok(_) => Ok(Redirect::to("/my/claims?done=delegation_revoked").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_my_claims(&state, &caller, "", m)).await,
    }
}

// ---------------------------------------------------------------------------------------
// The employer unit's claims

#[derive(Template)]
#[template(path = "unit_claims.html")]
struct UnitClaimsPage {
    ctx: Ctx,
    unit_name: String,
    rows: Vec<ClaimRow>,
}

/// `GET /unit/claims`: the claims the caller's employer unit handed in for its employees.
pub async fn unit_claims(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::FileForEmployees)?;
    let rows = svc::unit_claims(&state.store, &caller).await?;
    let unit = caller.session().and_then(|s| s.account.employer_id).ok_or_else(AppError::forbidden)?;
    let page = UnitClaimsPage {
        ctx: Ctx::for_caller(&caller, "/unit/claims"),
        unit_name: state.store.employer(unit).await?.name,
        rows: ClaimRow::list(&state.store, &rows, caller.lang).await?,
    };
    Ok(render(&page)?.into_response())
}
