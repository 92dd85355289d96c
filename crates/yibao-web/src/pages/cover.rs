//! Off-site filing and card pages: the insured person's "where does my card work?", the
//! clerk's filing queue and window, and a person's cover page for staff (cards, filings,
//! no-card certificates, the cover at an institution on a date).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use serde::Deserialize;
use yibao_core::card::{CardStatus, ISSUING_BANKS};
use yibao_core::cover::{FilingStatus, FilingType};
use yibao_core::filing::{DocumentKind, RejectReason};
use yibao_core::{Lang, Permission};
use yibao_store::{Card, CoverReport, StoredFiling};

use super::shared::{
    choices, cover_box, my_person_id, notice, or_show, or_show_fields, CheckAsk, Choice, CoverBox, FieldErrors,
    FilingRow,
};
use super::{render_form, Ctx};
use crate::context::{urlencode, Caller};
use crate::error::AppError;
use crate::forms::cover::{CardEventForm, CardForm, DecisionForm, FilingForm, NoCardForm};
use crate::forms::date_or;
use crate::forms::upload::FormWithFile;
use crate::service::cover::{self as svc, Whom};
use crate::{i18n, service, SharedState};

pub struct CardRow {
    pub id: i64,
    /// The uploaded photo's document, when the photo was handed in as a file.
    pub photo_file: Option<i64>,
    pub status: String,
    pub status_code: &'static str,
    pub bank: String,
    pub photo: String,
    pub applied_on: String,
    pub expected_on: String,
    pub steps: String,
    pub reportable: bool,
    pub next: Vec<Choice>,
}

impl CardRow {
    fn new(c: &Card, lang: Lang) -> CardRow {
        let steps = [
            ("card.ready_on", c.ready_on),
            ("card.collected_on", c.collected_on),
            ("card.activated_on", c.activated_on),
        ]
        .into_iter()
        .chain(
            c.earlier_losses
                .iter()
                .flat_map(|&(lost, found)| [("card.lost_on", Some(lost)), ("card.found_on", Some(found))]),
        )
        .chain([("card.lost_on", c.lost_on), ("card.damaged_on", c.damaged_on), ("card.ended_on", c.ended_on)])
        .filter_map(|(k, d)| d.map(|d| format!("{} {d}", i18n::t(lang, k))))
        .collect::<Vec<_>>()
        .join("；");
        let next = [
            ("ready", "card.do_ready", CardStatus::Applied),
            ("collect", "card.do_collect", CardStatus::Applied),
            ("activate", "card.do_activate", CardStatus::Collected),
            ("report_lost", "card.do_report_lost", CardStatus::Active),
            ("found", "card.do_found", CardStatus::Lost),
            ("report_damaged", "card.do_report_damaged", CardStatus::Active),
        ]
        .into_iter()
        .filter(|(code, _, from)| *from == c.status && !(*code == "ready" && c.ready_on.is_some()))
        .map(|(code, key, _)| Choice { code: code.into(), label: i18n::t(lang, key).into() })
        .chain(
            matches!(
                c.status,
                CardStatus::Applied
                    | CardStatus::Collected
                    | CardStatus::Active
                    | CardStatus::Lost
                    | CardStatus::Damaged
            )
            .then(|| Choice { code: "cancel".into(), label: i18n::t(lang, "card.do_cancel").into() }),
        )
        .collect();
        CardRow {
            id: c.id,
            photo_file: (c.photo == yibao_core::card::PhotoSource::Upload)
                .then(|| c.photo_reference.parse().ok())
                .flatten(),
            status: if c.status == CardStatus::Applied && c.ready_on.is_some() {
                i18n::t(lang, "card.ready_status").to_string()
            } else {
                c.status.label().get(lang).to_string()
            },
            status_code: c.status.code(),
            bank: c.bank.clone(),
            photo: c.photo.label().get(lang).to_string(),
            applied_on: c.applied_on.to_string(),
            expected_on: if c.expected_provisional {
                format!("{}{}", c.expected_on, i18n::t(lang, "card.provisional"))
            } else {
                c.expected_on.to_string()
            },
            steps,
            reportable: c.status == CardStatus::Active,
            next,
        }
    }
}

fn card_state_label(r: &CoverReport, lang: Lang) -> String {
    r.card.label().get(lang).to_string()
}

#[derive(Deserialize, Default)]
pub struct CoverAsk {
    #[serde(default)]
    institution: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    done: String,
    /// A long-term filing to change: the filing form starts from it.
    #[serde(default)]
    change: String,
}

/// The filing form that changes `f` (a long-term filing): the same type, destination and
/// institution, starting today, replacing it once approved.
fn change_form(f: &StoredFiling, today: NaiveDate) -> FilingForm {
    FilingForm {
        kind: f.kind.code().to_string(),
        destination: f.destination.map(|d| d.to_string()).unwrap_or_default(),
        institution: f.institution.clone().unwrap_or_default(),
        start: today.to_string(),
        replaces: f.id.to_string(),
        ..FilingForm::default()
    }
}

/// The filing named by `?change=`, when the caller may see it.
async fn filing_to_change(
    state: &SharedState,
    caller: &Caller,
    change: &str,
) -> Result<Option<StoredFiling>, AppError> {
    let Ok(id) = change.trim().parse::<i64>() else { return Ok(None) };
    Ok(Some(svc::filing(&state.store, caller, id).await?))
}

fn ask_date(caller: &Caller, s: &str) -> Result<NaiveDate, AppError> {
    Ok(date_or(caller.today, s)?)
}

/// The shared choices of the filing form.
pub struct FilingChoices {
    pub kinds: Vec<Choice>,
    pub documents: Vec<Choice>,
    pub institutions: Vec<Choice>,
}

async fn filing_choices(state: &SharedState, lang: Lang) -> Result<FilingChoices, AppError> {
    let institutions = state
        .store
        .list_institutions(None, None)
        .await?
        .into_iter()
        .filter(|i| i.designated_from.is_some())
        .map(|i| Choice { label: super::shared::aside(lang, &i.name, &i.code), code: i.code })
        .collect();
    Ok(FilingChoices {
        kinds: choices(&FilingType::ALL, FilingType::code, FilingType::label, lang),
        documents: choices(&DocumentKind::FILING, DocumentKind::code, DocumentKind::label, lang),
        institutions,
    })
}

// ---------------------------------------------------------------------------------------
// The insured person

#[derive(Template)]
#[template(path = "my_cover.html")]
struct MyCoverPage {
    ctx: Ctx,
    name: String,
    card_state: String,
    cards: Vec<CardRow>,
    filings: Vec<FilingRow>,
    cover: Option<CoverBox>,
    ask: CoverAsk,
    choices: FilingChoices,
    f: FilingForm,
    errors: Vec<String>,
    /// The filing form's errors beside its fields.
    fe: FieldErrors,
    notice: Option<String>,
}

async fn show_my_cover(
    state: &SharedState,
    caller: &Caller,
    ask: CoverAsk,
    f: FilingForm,
    errors: Vec<String>,
    fe: FieldErrors,
) -> Result<Response, AppError> {
    let id = my_person_id(caller)?;
    let lang = caller.lang;
    let date = ask_date(caller, &ask.date)?;
    let (person, report) = svc::cover(&state.store, caller, Whom::Id(id), date, Some(&ask.institution)).await?;
    let today = caller.today;
    let mut filings = Vec::new();
    for f in &report.filings {
        let pre = state.store.pre_evaluation_of_filing(f.id).await?;
        let pre = pre.map(|p| super::shared::pre_evaluation_asks(&p, lang)).unwrap_or_default();
        filings.push(FilingRow { pre, ..FilingRow::new(f, lang, today) });
    }
    let page = MyCoverPage {
        ctx: Ctx::for_caller(caller, "/my/cover"),
        name: person.name.to_string(),
        card_state: card_state_label(&report, lang),
        cards: report.cards.iter().map(|c| CardRow::new(c, lang)).collect(),
        filings,
        cover: cover_box(&report, lang),
        notice: notice(lang, &ask.done),
        ask,
        choices: filing_choices(state, lang).await?,
        f,
        errors: errors.clone(),
        fe,
    };
    render_form(&page, !errors.is_empty())
}

pub async fn my_cover_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<CoverAsk>,
) -> Result<Response, AppError> {
    let f = match filing_to_change(&state, &caller, &ask.change).await? {
        Some(old) => change_form(&old, caller.today),
        None => FilingForm { start: caller.today.to_string(), ..FilingForm::default() },
    };
    show_my_cover(&state, &caller, ask, f, Vec::new(), FieldErrors::default()).await
}

pub async fn my_filing_apply(
    State(state): State<SharedState>,
    caller: Caller,
    FormWithFile { form: f, file }: FormWithFile<FilingForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let id = my_person_id(&caller)?;
    let result = match f.parse() {
        Ok((app, replaces)) => {
            svc::apply_filing(&state.store, &state.blobs, &caller, id, &app, replaces, file).await.map(|_| ())
        }
        Err(e) => Err(AppError::validation(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/my/cover?done=filed").into_response()),
        Err(e) => {
            or_show_fields(e, caller.lang, |m, fe| show_my_cover(&state, &caller, CoverAsk::default(), f, m, fe)).await
        }
    }
}

pub async fn my_filing_revoke(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let action = format!("/my/filings/{id}/revoke");
    if let Some(ask) =
        super::shared::confirmed_or_ask(&caller, &f.confirmed, "revoke_filing", &action, &[], "/my/cover")
    {
        return ask;
    }
    match svc::revoke_filing(&state.store, &caller, id).await {
        Ok(_) => Ok(Redirect::to("/my/cover?done=revoked").into_response()),
        Err(e) => {
            or_show(e, caller.lang, |m| {
                show_my_cover(&state, &caller, CoverAsk::default(), FilingForm::default(), m, FieldErrors::default())
            })
            .await
        }
    }
}

/// A person's report of their own card, confirmed.
#[derive(Deserialize)]
pub struct CardReportFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    confirmed: String,
}

pub async fn my_card_report(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(fields): Form<CardReportFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&fields.csrf)?;
    let action = format!("/my/cards/{id}/report");
    let event = fields.event.trim();
    let what = if event == "report_damaged" { "report_damaged" } else { "report_lost" };
    if let Some(ask) =
        super::shared::confirmed_or_ask(&caller, &fields.confirmed, what, &action, &[("event", event)], "/my/cover")
    {
        return ask;
    }
    let f = CardEventForm { event: fields.event, csrf: fields.csrf, ..CardEventForm::default() };
    let result = match f.parse() {
        Ok((event, _)) => svc::card_event(&state.store, &caller, id, event, None).await.map(|_| ()),
        Err(e) => Err(AppError::validation(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/my/cover?done=reported").into_response()),
        Err(e) => {
            or_show(e, caller.lang, |m| {
                show_my_cover(&state, &caller, CoverAsk::default(), FilingForm::default(), m, FieldErrors::default())
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// The clerk's queue and window

#[derive(Template)]
#[template(path = "filings.html")]
struct FilingsPage {
    ctx: Ctx,
    status: String,
    statuses: Vec<Choice>,
    filings: Vec<FilingRow>,
    reasons: Vec<Choice>,
    choices: FilingChoices,
    f: FilingForm,
    errors: Vec<String>,
    fe: FieldErrors,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct QueueAsk {
    #[serde(default)]
    status: String,
    #[serde(default)]
    done: String,
    /// A long-term filing to change at the window.
    #[serde(default)]
    change: String,
}

async fn show_filings(
    state: &SharedState,
    caller: &Caller,
    ask: QueueAsk,
    f: FilingForm,
    errors: Vec<String>,
    fe: FieldErrors,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let status = FilingStatus::parse(if ask.status.is_empty() { "applied" } else { ask.status.as_str() })?;
    let items = svc::filings_queue(&state.store, caller, Some(status)).await?;
    let today = caller.today;
    let page = FilingsPage {
        ctx: Ctx::for_caller(caller, "/filings"),
        status: status.code().to_string(),
        statuses: choices(
            &[FilingStatus::Applied, FilingStatus::Approved, FilingStatus::Rejected, FilingStatus::Revoked],
            FilingStatus::code,
            FilingStatus::label,
            lang,
        ),
        filings: items.iter().map(|x| FilingRow::new(x, lang, today)).collect(),
        reasons: choices(&RejectReason::ALL, RejectReason::code, RejectReason::label, lang),
        choices: filing_choices(state, lang).await?,
        f,
        notice: notice(lang, &ask.done),
        errors: errors.clone(),
        fe,
    };
    render_form(&page, !errors.is_empty())
}

pub async fn filings_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<QueueAsk>,
) -> Result<Response, AppError> {
    let f = match filing_to_change(&state, &caller, &ask.change).await? {
        Some(old) => FilingForm {
            resident_id: state.store.person(old.person_id).await?.resident_id.to_string(),
            ..change_form(&old, caller.today)
        },
        None => FilingForm { start: caller.today.to_string(), ..FilingForm::default() },
    };
    show_filings(&state, &caller, ask, f, Vec::new(), FieldErrors::default()).await
}

/// A clerk files at the window for the person named by ID number (or their delegate).
pub async fn filing_window(
    State(state): State<SharedState>,
    caller: Caller,
    FormWithFile { form: f, file }: FormWithFile<FilingForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    caller.require(Permission::ManageFilings)?;
    let result = async {
        let rid = f.resident_id.trim().parse().map_err(|mut e: yibao_core::InvalidValue| {
            e.field = "resident_id";
            AppError::validation(vec![e])
        })?;
        let person = state.store.person_by_resident_id(&rid).await?.ok_or_else(|| AppError::not_found("person"))?;
        let (app, replaces) = f.parse().map_err(AppError::validation)?;
        svc::apply_filing(&state.store, &state.blobs, &caller, person.id, &app, replaces, file).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/filings?done=filed").into_response()),
        Err(e) => {
            or_show_fields(e, caller.lang, |m, fe| show_filings(&state, &caller, QueueAsk::default(), f, m, fe)).await
        }
    }
}

pub async fn filing_decide(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse() {
        Ok(d) => svc::decide_filing(&state.store, &caller, id, f.version, &d).await.map(|_| ()),
        Err(e) => Err(AppError::validation(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/filings?done=decided").into_response()),
        Err(e) => {
            or_show(e, caller.lang, |m| {
                show_filings(&state, &caller, QueueAsk::default(), FilingForm::default(), m, FieldErrors::default())
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// A person's cover page for staff

#[derive(Template)]
#[template(path = "person_cover.html")]
struct PersonCoverPage {
    ctx: Ctx,
    person_id: i64,
    name: String,
    resident_id: String,
    card_state: String,
    cards: Vec<CardRow>,
    filings: Vec<FilingRow>,
    certificates: Vec<(String, String, String)>,
    cover: Option<CoverBox>,
    ask: CoverAsk,
    choices: FilingChoices,
    banks: Vec<&'static str>,
    photos: Vec<Choice>,
    can_manage: bool,
    /// Where a clerk changes a long-term filing (the window), if they may.
    change_action: &'static str,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_person_cover(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    ask: CoverAsk,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    // Institutions ask at their desk (`/check`) or through the API, which show them only
    // what settlement needs.
    if caller.session().is_none() || caller.institution().is_some() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let date = ask_date(caller, &ask.date)?;
    let (person, report) = svc::cover(&state.store, caller, Whom::Id(id), date, Some(&ask.institution)).await?;
    let today = caller.today;
    let page = PersonCoverPage {
        ctx: Ctx::for_caller(caller, "/persons"),
        person_id: id,
        name: person.name.to_string(),
        resident_id: person.resident_id.to_string(),
        card_state: card_state_label(&report, lang),
        cards: report.cards.iter().map(|c| CardRow::new(c, lang)).collect(),
        filings: report.filings.iter().map(|f| FilingRow::new(f, lang, today)).collect(),
        certificates: report
            .certificates
            .iter()
            .map(|c| (c.number.clone(), format!("{} – {}", c.valid_from, c.valid_to), c.issued_by.clone()))
            .collect(),
        cover: cover_box(&report, lang),
        notice: notice(lang, &ask.done),
        ask,
        choices: filing_choices(state, lang).await?,
        banks: ISSUING_BANKS.to_vec(),
        photos: choices(
            &yibao_core::card::PhotoSource::ALL,
            yibao_core::card::PhotoSource::code,
            yibao_core::card::PhotoSource::label,
            lang,
        ),
        can_manage: caller.can(Permission::ManageFilings),
        change_action: if caller.can(Permission::ManageFilings) { "/filings" } else { "" },
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

pub async fn person_cover_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<CoverAsk>,
) -> Result<Response, AppError> {
    show_person_cover(&state, &caller, id, ask, Vec::new()).await
}

/// `GET /cover?resident_id=`: staff look a person up by ID number.
/// An institution's staff are sent to their own page (see [`super::institution`]).
pub async fn cover_lookup(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<CheckAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    if caller.institution().is_some() {
        let to = format!("/check?resident_id={}&date={}", urlencode(q.resident_id.trim()), urlencode(q.date.trim()));
        return Ok(Redirect::to(&to).into_response());
    }
    caller.require(Permission::CheckCover)?;
    let rid = q.resident_id.trim().parse().map_err(|mut e: yibao_core::InvalidValue| {
        e.field = "resident_id";
        e
    })?;
    let person = state.store.person_by_resident_id(&rid).await?.ok_or_else(|| AppError::not_found("person"))?;
    service::person(&state.store, &caller, person.id).await?;
    Ok(Redirect::to(&format!("/persons/{}/cover", person.id)).into_response())
}

async fn after_person_action(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    result: Result<(), AppError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/persons/{id}/cover?done={done}")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_person_cover(state, caller, id, CoverAsk::default(), m)).await,
    }
}

pub async fn card_apply(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form: f, file }: FormWithFile<CardForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = match f.parse_with_file(file.is_some()) {
        Ok(app) => svc::apply_card(&state.store, &state.blobs, &caller, id, &app, file).await.map(|_| ()),
        Err(e) => Err(AppError::validation(e)),
    };
    after_person_action(&state, &caller, id, result, "card_applied").await
}

pub async fn card_event_submit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(card_id): Path<i64>,
    Form(f): Form<CardEventForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let card = state.store.card(card_id).await?;
    // Steps that stop the card are confirmed first; 解挂 undoes a loss report.
    let stops = match f.event.trim() {
        "report_lost" => Some("report_lost"),
        "report_damaged" => Some("report_damaged"),
        "cancel" => Some("cancel_card"),
        _ => None,
    };
    if let Some(what) = stops {
        let action = format!("/cards/{card_id}/events");
        let back = format!("/persons/{}/cover", card.person_id);
        let fields = [("event", f.event.trim()), ("on", f.on.trim())];
        if let Some(ask) = super::shared::confirmed_or_ask(&caller, &f.confirmed, what, &action, &fields, &back) {
            return ask;
        }
    }
    let result = match f.parse() {
        Ok((event, on)) => svc::card_event(&state.store, &caller, card_id, event, on).await.map(|_| ()),
        Err(e) => Err(AppError::validation(e)),
    };
    after_person_action(&state, &caller, card.person_id, result, "card_updated").await
}

pub async fn no_card_issue(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<NoCardForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = svc::issue_no_card_certificate(&state.store, &caller, id, Some(&f.institution)).await.map(|_| ());
    after_person_action(&state, &caller, id, result, "certificate").await
}

/// `GET /documents/{id}`: an uploaded document, for whoever may see it.
pub async fn document_download(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (d, bytes) = svc::document_content(&state.store, &state.blobs, &caller, id).await?;
    Ok(crate::api::cover::document_response(&d, bytes))
}
