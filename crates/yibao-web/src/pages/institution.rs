//! The designated institution's desk (its medical insurance office, logged in): check a
//! patient's card and filings by ID number before admission, and issue, seal and look up
//! referral certificates (转诊证明).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::{Lang, Permission};
use yibao_store::Referral;

use super::shared::{cover_box, notice, or_show, or_show_fields, CheckAsk, CoverBox, FieldErrors, FilingRow};
use super::{render, render_form, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::cover::{ReferralForm, SealForm};
use crate::forms::date_or;
use crate::service::cover::{self as svc, Whom};
use crate::{i18n, SharedState};

/// What an institution learns about a patient: masked identity, the card state, the
/// filings in force, and its own answer.
pub struct Checked {
    name: String,
    resident_id: String,
    card_state: String,
    filings: Vec<FilingRow>,
}

#[derive(Template)]
#[template(path = "institution_cover.html")]
struct InstitutionCoverPage {
    ctx: Ctx,
    institution: String,
    ask: CheckAsk,
    checked: Option<Checked>,
    cover: Option<CoverBox>,
    errors: Vec<String>,
}

/// `GET /check` for an institution's staff: the patient named by ID number, at this
/// institution, on a date (today by default). (Systems ask `/api/v1/cover` with a key.)
pub async fn institution_cover(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<CheckAsk>,
) -> Result<Response, AppError> {
    let (state, caller) = (&state, &caller);
    caller.require(Permission::CheckCover)?;
    let own = caller.institution().filter(|_| caller.session().is_some()).ok_or_else(AppError::forbidden)?;
    let lang = caller.lang;
    let mut errors = Vec::new();
    let (checked, cover) = if ask.resident_id.trim().is_empty() {
        (None, None)
    } else {
        match check(state, caller, &ask).await {
            Ok((checked, cover)) => (Some(checked), cover),
            // A mistyped number or a date, or nobody insured under it: said beside the form.
            Err(e) if e.status == StatusCode::NOT_FOUND => {
                errors.push(i18n::t(lang, "desk.not_found").to_string());
                (None, None)
            }
            Err(e) => match super::form_messages(&e, lang) {
                Some(m) => {
                    errors = m;
                    (None, None)
                }
                None => return Err(e),
            },
        }
    };
    let page = InstitutionCoverPage {
        ctx: Ctx::for_caller(caller, "/check"),
        institution: super::shared::aside(caller.lang, &own.name, &own.code),
        ask,
        checked,
        cover,
        errors,
    };
    Ok(render(&page)?.into_response())
}

async fn check(state: &SharedState, caller: &Caller, ask: &CheckAsk) -> Result<(Checked, Option<CoverBox>), AppError> {
    let lang = caller.lang;
    let rid = ask.resident_id.trim().parse().map_err(|mut e: yibao_core::InvalidValue| {
        e.field = "resident_id";
        AppError::validation(vec![e])
    })?;
    let date = date_or(caller.today, &ask.date)?;
    svc::count_lookup(state, caller)?;
    let (person, report) = svc::cover(&state.store, caller, Whom::ResidentId(&rid), date, None).await?;
    let checked = Checked {
        name: person.name.masked(),
        resident_id: person.resident_id.masked(),
        card_state: report.card.label().get(lang).to_string(),
        // The scans stay with the agency; the institution sees what was filed.
        filings: report
            .filings
            .iter()
            .map(|f| FilingRow { files: Vec::new(), ..FilingRow::new(f, lang, date) })
            .collect(),
    };
    Ok((checked, cover_box(&report, lang)))
}

pub struct ReferralRow {
    number: String,
    person_name: String,
    issuer: String,
    diagnosis: String,
    destination: String,
    valid: String,
    hospital_seal: String,
    window_seal: String,
    sealed: bool,
}

impl ReferralRow {
    fn new(r: &Referral, lang: Lang) -> ReferralRow {
        ReferralRow {
            number: r.number.clone(),
            person_name: r.person_name.clone(),
            issuer: super::shared::aside(lang, &r.issuer_name, &r.issuer_code),
            diagnosis: r.diagnosis.clone(),
            destination: match &r.destination_institution {
                Some(i) => format!("{} {i}", r.destination),
                None => r.destination.to_string(),
            },
            valid: format!("{} – {}", r.valid_from, r.valid_to),
            hospital_seal: format!("{} {}", r.hospital_seal_by, r.hospital_sealed_at),
            window_seal: match (&r.window_seal_by, &r.window_sealed_at) {
                (Some(by), Some(at)) => format!("{by} {at}"),
                _ => i18n::t(lang, "referral.window_pending").to_string(),
            },
            sealed: r.sealed(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ReferralsAsk {
    #[serde(default)]
    number: String,
    #[serde(default)]
    done: String,
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ReferralsPage {
    ctx: Ctx,
    can_issue: bool,
    issued: Vec<ReferralRow>,
    number: String,
    found: Option<ReferralRow>,
    f: ReferralForm,
    errors: Vec<String>,
    /// The form's errors beside its fields.
    fe: FieldErrors,
    notice: Option<String>,
}

async fn show_referrals(
    state: &SharedState,
    caller: &Caller,
    ask: ReferralsAsk,
    f: ReferralForm,
    errors: Vec<String>,
    fe: FieldErrors,
) -> Result<Response, AppError> {
    // A portal page: systems with an API key use `/api/v1/referrals`.
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let can_issue = caller.can(Permission::IssueReferrals) && caller.institution().is_some();
    if !can_issue {
        caller.require(Permission::CheckCover)?;
    }
    let issued = if can_issue { svc::referrals_issued(&state.store, caller, 50).await? } else { Vec::new() };
    let found = if ask.number.trim().is_empty() {
        None
    } else {
        Some(ReferralRow::new(&svc::referral(&state.store, caller, &ask.number).await?, lang))
    };
    let page = ReferralsPage {
        ctx: Ctx::for_caller(caller, "/referrals"),
        can_issue,
        issued: issued.iter().map(|r| ReferralRow::new(r, lang)).collect(),
        number: ask.number.trim().to_string(),
        found,
        f,
        notice: notice(lang, &ask.done),
        errors: errors.clone(),
        fe,
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /referrals`: the institution's certificates, its issue form, and a lookup by number.
pub async fn referrals_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<ReferralsAsk>,
) -> Result<Response, AppError> {
    let today = caller.today;
    let f = ReferralForm {
        valid_from: today.to_string(),
        valid_to: (today + chrono::Duration::days(90)).to_string(),
        ..ReferralForm::default()
    };
    show_referrals(&state, &caller, ask, f, Vec::new(), FieldErrors::default()).await
}

pub async fn referral_issue(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<ReferralForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(input) => svc::issue_referral(&state.store, &caller, &input).await,
        Err(e) => Err(AppError::validation(e)),
    };
    match result {
        Ok(r) => Ok(Redirect::to(&format!("/referrals?done=referral_issued&number={}", r.number)).into_response()),
        Err(e) => {
            or_show_fields(e, caller.lang, |m, fe| show_referrals(&state, &caller, ReferralsAsk::default(), f, m, fe))
                .await
        }
    }
}

pub async fn referral_seal(
    State(state): State<SharedState>,
    caller: Caller,
    Path(number): Path<String>,
    Form(f): Form<SealForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match svc::seal_referral(&state.store, &caller, &number, &f.by).await {
        Ok(r) => Ok(Redirect::to(&format!("/referrals?done=referral_sealed&number={}", r.number)).into_response()),
        Err(e) => {
            or_show(e, caller.lang, |m| {
                show_referrals(
                    &state,
                    &caller,
                    ReferralsAsk::default(),
                    ReferralForm::default(),
                    m,
                    FieldErrors::default(),
                )
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// The hospital's settlements and its interface credentials

/// The institution a logged-in member of its staff acts for.
fn own_institution(caller: &Caller) -> Result<&yibao_store::Institution, AppError> {
    caller.require(Permission::CheckCover)?;
    caller.institution().filter(|_| caller.session().is_some()).ok_or_else(AppError::forbidden)
}

#[derive(Template)]
#[template(path = "institution_settlements.html")]
struct InstitutionSettlementsPage {
    ctx: Ctx,
    name: String,
    today: String,
    today_count: i64,
    today_medfee: String,
    today_fund: String,
    rows: Vec<super::settlement::SettlementRow>,
}

/// `GET /institution/settlements`: the hospital's own settlements, newest first, with
/// today's totals as 3201 reconciles them; each opens its settlement list.
pub async fn institution_settlements(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let inst = own_institution(&caller)?;
    let lang = caller.lang;
    let settlements = state.store.institution_settlements(inst.id, 200).await?;
    let today = state.store.reconciliation(inst.id, caller.today, caller.today, None).await?;
    let page = InstitutionSettlementsPage {
        ctx: Ctx::for_caller(&caller, "/institution/settlements"),
        name: inst.name.clone(),
        today: caller.today.to_string(),
        today_count: today.setl_cnt,
        today_medfee: today.medfee_sumamt.to_grouped(),
        today_fund: today.fund_pay_sumamt.to_grouped(),
        rows: settlements.iter().map(|s| super::settlement::SettlementRow::new(s, lang)).collect(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "institution_interface.html")]
struct InterfacePage {
    ctx: Ctx,
    name: String,
    code: String,
    secrets: Vec<String>,
    keys: Vec<String>,
    /// A secret just issued: shown this once.
    new_secret: Option<String>,
    notice: Option<String>,
    errors: Vec<String>,
}

async fn show_interface(
    state: &SharedState,
    caller: &Caller,
    new_secret: Option<String>,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let inst = own_institution(caller)?;
    let (secrets, keys) = state.store.platform_credential_summary(inst.id).await?;
    let page = InterfacePage {
        ctx: Ctx::for_caller(caller, "/institution/interface"),
        name: inst.name.clone(),
        code: inst.code.clone(),
        secrets: secrets.iter().map(|at| at.replace('T', " ").trim_end_matches('Z').to_string()).collect(),
        keys,
        new_secret,
        notice: notice(caller.lang, done),
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /institution/interface`: how the hospital's system signs its requests to the
/// platform interface: its live secrets (when issued, never the secret again) and SM2 keys.
pub async fn institution_interface(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_interface(&state, &caller, None, &ask.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct InterfaceAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    public_key: String,
}

/// `POST /institution/interface`: issue a new secret (shown once; the old ones stay valid
/// until revoked, so the hospital can switch over), revoke all but the newest, or register
/// an SM2 public key.
pub async fn institution_interface_action(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<InterfaceAction>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let inst = own_institution(&caller)?.clone();
    let store = &state.store;
    let result: Result<(Option<String>, &str), AppError> = async {
        let mut w = store.begin_write(&caller.actor()).await?;
        let out = match f.action.as_str() {
            "issue" => (Some(store.issue_platform_secret(&mut w, inst.id).await?), ""),
            "revoke_older" => {
                store.revoke_older_platform_secrets(&mut w, inst.id).await?;
                (None, "secrets_revoked")
            }
            "register_key" => {
                store.register_platform_public_key(&mut w, inst.id, &f.public_key).await?;
                (None, "key_registered")
            }
            _ => return Err(AppError::not_found("action")),
        };
        w.commit().await?;
        Ok(out)
    }
    .await;
    match result {
        // The new secret is shown on this response only, never in a URL.
        Ok((Some(secret), _)) => show_interface(&state, &caller, Some(secret), "", Vec::new()).await,
        Ok((None, done)) => Ok(Redirect::to(&format!("/institution/interface?done={done}")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_interface(&state, &caller, None, "", m)).await,
    }
}
