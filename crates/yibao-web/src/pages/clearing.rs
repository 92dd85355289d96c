//! 清算与拨付 in the portal. The institution's medical insurance office previews a period's
//! statement, applies for it, reads its statements, objects to a deduction, withdraws an
//! application before review, and gives the account it is paid to. An auditor of its
//! region decides objections and reviews; finance approves (not the reviewer), and the
//! payment order goes out with the next bank batch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use yibao_core::clearing::{ClearingState, Statement};
use yibao_core::{Fen, Lang, Permission};
use yibao_store::{Clearing, ClearingLine, Store};

use super::shared::{notice, or_show, or_show_fields, FieldErrors};
use super::{render_form, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::{i18n, service, SharedState};

/// A clearing as the list shows it.
pub struct Row {
    pub id: i64,
    pub number: String,
    pub institution: String,
    pub period: String,
    pub gross: String,
    pub net: String,
    pub state: String,
    pub state_code: &'static str,
}

fn row(lang: Lang, c: &Clearing) -> Row {
    Row {
        id: c.id,
        number: c.number.clone(),
        institution: c.institution_name.clone(),
        period: period(lang, c.period_start, c.period_end),
        gross: c.statement.gross.to_grouped(),
        net: c.statement.net.to_grouped(),
        state: c.state.label().get(lang).to_string(),
        state_code: c.state.code(),
    }
}

/// `2026年10月` (`2026-10`), or the first and last month of a longer period.
fn period(lang: Lang, start: NaiveDate, end: NaiveDate) -> String {
    let month = if lang == Lang::Zh { "%Y年%m月" } else { "%Y-%m" };
    if (start.year(), start.month()) == (end.year(), end.month()) {
        start.format(month).to_string()
    } else {
        format!("{} – {}", start.format(month), end.format(month))
    }
}

/// A statement's figures, as both pages show them: (label, amount) rows, funds included.
pub struct Figures {
    pub settlements: i64,
    pub carried: i64,
    pub rows: Vec<(String, String)>,
    pub funds: Vec<(String, String, String)>,
    pub deposit_rate: String,
    pub net: String,
    pub owes: bool,
}

fn figures(lang: Lang, s: &Statement) -> Figures {
    let t = |k: &str| i18n::t(lang, k).to_string();
    Figures {
        settlements: s.settlements,
        carried: s.carried,
        rows: vec![
            (t("clr.medfee"), s.medfee.to_grouped()),
            (t("clr.cash"), s.cash.to_grouped()),
            (t("clr.gross"), s.gross.to_grouped()),
            (t("clr.deducted"), s.deducted.to_grouped()),
            (t("clr.deposit"), s.deposit.to_grouped()),
        ]
        .into_iter()
        .chain(s.releases.iter().map(|r| {
            let label = r.describe().get(lang).to_string();
            (label, r.released.to_grouped())
        }))
        .collect(),
        funds: s
            .funds
            .iter()
            .map(|f| (f.fund_pay_type.clone(), f.label.get(lang).to_string(), f.amount.to_grouped()))
            .collect(),
        deposit_rate: s.deposit_rate.percent(),
        net: s.net.to_grouped(),
        owes: s.net < Fen::ZERO,
    }
}

/// A settlement (or a reversal carried in) of a clearing.
pub struct LineRow {
    pub setl_id: String,
    pub person: String,
    pub date: String,
    pub medfee: String,
    pub fund: String,
    pub account: String,
    pub carried: bool,
}

fn line_row(l: &ClearingLine) -> LineRow {
    LineRow {
        setl_id: l.setl_id.clone(),
        person: l.person_name.clone(),
        date: l.setl_date.to_string(),
        medfee: l.line.medfee.to_grouped(),
        fund: l.line.pooled.saturating_add(l.line.critical).to_grouped(),
        account: l.line.account.to_grouped(),
        carried: l.line.carried,
    }
}

#[derive(Template)]
#[template(path = "clearings.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<Row>,
    /// The institution's own view: the periods it may apply for, the one shown, its preview.
    institution: Option<String>,
    periods: Vec<(String, String, bool)>,
    preview: Option<(String, Figures, usize)>,
    preview_error: Option<String>,
    account: Option<String>,
    assessments: Vec<AssessmentRow>,
    assess_form: Option<AssessChoices>,
    errors: Vec<String>,
    /// After a refused form: each error beside its field, and what was typed.
    fe: FieldErrors,
    typed: Typed,
    notice: Option<String>,
}

/// What was typed into the account and assessment forms, shown again after a refusal.
#[derive(Default)]
pub struct Typed {
    pub account_name: String,
    pub bank_name: String,
    pub account: String,
    pub institution: String,
    pub year: Option<i32>,
    pub score: String,
    pub note: String,
}

/// The list page again after a refused form.
#[derive(Default)]
struct Refused {
    errors: Vec<String>,
    fe: FieldErrors,
    typed: Typed,
}

/// For an auditor: the institutions of their regions (code, name) and the years that may be
/// assessed.
type AssessChoices = (Vec<(String, String)>, Vec<i32>);

/// An annual assessment as the list shows it.
pub struct AssessmentRow {
    pub institution: String,
    pub year: i32,
    pub score: u32,
    pub share: String,
    pub note: String,
    pub by: String,
}

#[derive(Deserialize, Default)]
pub struct ListAsk {
    #[serde(default)]
    done: String,
    /// A day of the period to preview.
    #[serde(default)]
    day: Option<NaiveDate>,
}

async fn show_list(
    state: &SharedState,
    caller: &Caller,
    ask: &ListAsk,
    refused: Refused,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let store = &state.store;
    let list = service::clearing::list(store, caller).await?;
    let Refused { errors, fe, typed } = refused;
    let mut page = ListPage {
        ctx: Ctx::for_caller(caller, "/clearings"),
        rows: list.iter().map(|c| row(lang, c)).collect(),
        institution: None,
        periods: Vec::new(),
        preview: None,
        preview_error: None,
        account: None,
        assessments: Vec::new(),
        assess_form: None,
        errors: errors.clone(),
        fe,
        typed,
        notice: notice(lang, &ask.done),
    };
    for a in service::clearing::assessments(store, caller).await? {
        page.assessments.push(AssessmentRow {
            institution: a.institution_name.clone(),
            year: a.year,
            score: a.score,
            share: a.share.percent(),
            note: a.note.clone(),
            by: who(store, caller, &a.assessed_by, &a.assessed_at).await,
        });
    }
    if let Ok(list) = service::clearing::assessable(store, caller).await {
        let year = caller.today.year();
        let institutions =
            list.into_iter().map(|i| (i.code.clone(), super::shared::aside(caller.lang, &i.name, &i.code))).collect();
        page.assess_form = Some((institutions, vec![year - 1, year - 2]));
    }
    if let Ok(inst) = service::clearing::own(caller) {
        page.institution = Some(super::shared::aside(caller.lang, &inst.name, &inst.code));
        let rules = store.clearing_rules(inst.region, caller.today).await?;
        // The last twelve periods not applied for; the one asked for, or the latest, shown.
        let mut open = Vec::new();
        let mut day = caller.today;
        for _ in 0..12 {
            let (start, end) = rules.previous_period(day);
            if !list.iter().any(|c| c.period_start == start && c.state != ClearingState::Cancelled) {
                open.push((start, end));
            }
            day = start;
        }
        let shown = ask.day.or(open.first().map(|p| p.0)).unwrap_or_else(|| rules.previous_period(caller.today).0);
        let shown_start = rules.period_of(shown).0;
        page.periods = open
            .iter()
            .map(|&(start, end)| (start.to_string(), period(lang, start, end), start == shown_start))
            .collect();
        match service::clearing::preview(store, caller, shown).await {
            Ok(p) => {
                page.preview =
                    Some((period(lang, p.period_start, p.period_end), figures(lang, &p.statement), p.lines.len()))
            }
            Err(e) => page.preview_error = super::form_messages(&e, lang).map(|m| m.join("；")),
        }
        page.account = store
            .institution_account(inst.id)
            .await?
            .map(|a| format!("{} · {} {}", a.account_name, a.bank_name, a.account.masked()));
    }
    render_form(&page, !errors.is_empty())
}

/// `GET /clearings`: the institution's clearings, the next period's preview and its account;
/// or, for staff, the clearings of their regions.
pub async fn clearings_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<ListAsk>,
) -> Result<Response, AppError> {
    show_list(&state, &caller, &ask, Refused::default()).await
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    day: Option<NaiveDate>,
}

/// `POST /clearings`: the institution applies for the period chosen.
pub async fn clearing_apply(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<ApplyForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let day = f.day.unwrap_or(caller.today);
    match service::clearing::apply(&state.store, &caller, day).await {
        Ok(c) => Ok(Redirect::to(&format!("/clearings/{}?done=clearing_applied", c.id)).into_response()),
        Err(e) => {
            let ask = ListAsk { done: String::new(), day: f.day };
            or_show(e, caller.lang, |errors| show_list(&state, &caller, &ask, Refused { errors, ..Refused::default() }))
                .await
        }
    }
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account_name: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    account: String,
}

/// `POST /clearings/account`: the institution gives the account it is paid to.
pub async fn clearing_account(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<AccountForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match service::clearing::set_account(&state.store, &caller, &f.account_name, &f.bank_name, &f.account).await {
        Ok(_) => Ok(Redirect::to("/clearings?done=clearing_account").into_response()),
        Err(e) => {
            let typed =
                Typed { account_name: f.account_name, bank_name: f.bank_name, account: f.account, ..Typed::default() };
            let ask = ListAsk::default();
            or_show_fields(e, caller.lang, |errors, fe| show_list(&state, &caller, &ask, Refused { errors, fe, typed }))
                .await
        }
    }
}

#[derive(Deserialize)]
pub struct AssessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    institution: String,
    year: Option<i32>,
    #[serde(default)]
    score: String,
    #[serde(default)]
    note: String,
}

/// `POST /clearings/assessments`: an auditor records an institution's annual assessment.
pub async fn clearing_assess(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<AssessForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let score = f.score.trim().parse::<u32>().ok().filter(|s| *s <= 100);
    let result = match (f.year, score) {
        (Some(year), Some(score)) => {
            service::clearing::assess(&state.store, &caller, &f.institution, year, score, &f.note).await
        }
        _ => Err(AppError::validation(vec![yibao_core::InvalidValue::new(
            "score",
            "range",
            "评分：请填写 0–100 的整数",
            "score: give a whole number from 0 to 100",
        )])),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/clearings?done=assessed#assessments").into_response()),
        Err(e) => {
            let typed =
                Typed { institution: f.institution, year: f.year, score: f.score, note: f.note, ..Typed::default() };
            let ask = ListAsk::default();
            or_show_fields(e, caller.lang, |errors, fe| show_list(&state, &caller, &ask, Refused { errors, fe, typed }))
                .await
        }
    }
}

/// A deduction as the statement shows it, with its objection.
pub struct DeductionRow {
    pub finding: i64,
    pub setl_id: String,
    pub amount: String,
    pub reason: String,
    /// A deduction given back with its settlement's reversal: nothing to object to.
    pub given_back: bool,
    /// (objection id, version, grounds, state label, state code, decision)
    pub objection: Option<(i64, i64, String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "clearing.html")]
struct DetailPage {
    ctx: Ctx,
    c: Row,
    version: i64,
    figures: Figures,
    deductions: Vec<DeductionRow>,
    deferred: Vec<(String, String)>,
    withdrawn: Vec<(String, String, String)>,
    lines: Vec<LineRow>,
    applied: String,
    reviewed: Option<String>,
    approved: Option<String>,
    /// (order number, state, account)
    order: Option<(String, String, String)>,
    can_object: bool,
    can_decide: bool,
    can_review: bool,
    can_approve: bool,
    can_cancel: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

/// Who an audit label names, as the caller may read it, and when.
async fn who(store: &Store, caller: &Caller, label: &str, at: &str) -> String {
    super::shared::Names::new(store, caller).at(label, at).await
}

async fn show_one(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let store = &state.store;
    let (c, lines, objections, order) = service::clearing::detail(store, caller, id).await?;
    let objection_label = |s: &str| i18n::t(lang, &format!("clr.objection.{s}")).to_string();
    let deductions = c
        .statement
        .deductions
        .iter()
        .map(|d| DeductionRow {
            finding: d.finding,
            setl_id: d.setl_id.clone().unwrap_or_default(),
            amount: d.amount.to_grouped(),
            reason: d.reason.get(lang).to_string(),
            given_back: d.amount.is_negative(),
            objection: objections.iter().find(|o| o.hit_id == d.finding).map(|o| {
                (
                    o.id,
                    o.version,
                    o.grounds.clone(),
                    objection_label(&o.state),
                    o.state.clone(),
                    o.reason.clone().unwrap_or_default(),
                )
            }),
        })
        .collect();
    // Upheld objections took their deduction out of the statement: shown with the decision.
    let withdrawn = objections
        .iter()
        .filter(|o| o.state == "upheld")
        .map(|o| (o.grounds.clone(), o.reason.clone().unwrap_or_default(), objection_label(&o.state)))
        .collect();
    let mine = service::clearing::own(caller).is_ok();
    let applied = c.state == ClearingState::Applied;
    let open = objections.iter().any(|o| o.state == "open");
    let order = order.map(|o| {
        let card = o.bank_card.as_ref().map(|c| c.masked()).unwrap_or_default();
        (o.number.clone(), o.state.label().get(lang).to_string(), format!("{} {card}", o.account_name))
    });
    let reviewed = match (&c.reviewed_by, &c.reviewed_at) {
        (Some(by), Some(at)) => Some(who(store, caller, by, at).await),
        _ => None,
    };
    let approved = match (&c.approved_by, &c.approved_at) {
        (Some(by), Some(at)) => Some(who(store, caller, by, at).await),
        _ => None,
    };
    let page = DetailPage {
        ctx: Ctx::for_caller(caller, "/clearings"),
        c: row(lang, &c),
        version: c.version,
        figures: figures(lang, &c.statement),
        deductions,
        deferred: c
            .statement
            .deferred
            .iter()
            .map(|d| (d.amount.to_grouped(), d.reason.get(lang).to_string()))
            .collect(),
        withdrawn,
        lines: lines.iter().map(line_row).collect(),
        applied: who(store, caller, &c.applied_by, &c.applied_at).await,
        reviewed,
        approved,
        order,
        can_object: mine && applied,
        can_decide: applied && caller.can(Permission::Audit),
        can_review: applied && !open && caller.can(Permission::Audit),
        can_approve: c.state == ClearingState::Reviewed && caller.can(Permission::ManagePayments),
        can_cancel: mine && applied,
        errors: errors.clone(),
        notice: notice(lang, done),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /clearings/{id}`: the statement, its deductions and objections, its settlements and
/// its payment, with what the caller may do next.
pub async fn clearing_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<super::DoneAsk>,
) -> Result<Response, AppError> {
    show_one(&state, &caller, id, &q.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    /// `object`, `decide`, `review`, `approve` or `cancel`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    hit_id: i64,
    #[serde(default)]
    objection_id: i64,
    #[serde(default)]
    text: String,
    /// `uphold` or `dismiss`.
    #[serde(default)]
    decision: String,
}

/// `POST /clearings/{id}`: the step the form names.
pub async fn clearing_action(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<ActionForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let store = &state.store;
    let done: Result<&str, AppError> = match f.action.as_str() {
        "object" => service::clearing::object(store, &caller, id, f.hit_id, &f.text).await.map(|_| "clearing_objected"),
        "decide" => {
            let uphold = f.decision == "uphold";
            service::clearing::decide_objection(store, &caller, id, f.objection_id, f.version, uphold, &f.text)
                .await
                .map(|_| "clearing_objection_decided")
        }
        "review" => service::clearing::review(store, &caller, id, f.version).await.map(|_| "clearing_reviewed"),
        "approve" => service::clearing::approve(store, &caller, id, f.version).await.map(|_| "clearing_approved"),
        "cancel" => service::clearing::cancel(store, &caller, id).await.map(|_| "clearing_cancelled"),
        _ => Err(AppError::not_found("action")),
    };
    match done {
        Ok(done) => Ok(Redirect::to(&format!("/clearings/{id}?done={done}")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_one(&state, &caller, id, "", m)).await,
    }
}
