//! `GET /claims`: the staff's claim list — tabs by state with their counts, filters (case,
//! region, institution, the days received, the amount), sorting, a page at a time past any
//! number of claims, and for each open claim how long it has waited and how it stands
//! against the 15 working-day promise.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use yibao_core::calendar::china_day_of;
use yibao_core::payment::Urgency;
use yibao_core::sporadic::{ClaimCase, ClaimState, PAYMENT_WORKING_DAYS};
use yibao_core::{Fen, InvalidValue, Permission};
use yibao_store::{ClaimFilter, ClaimSort};

use super::ClaimRow;
use crate::context::Caller;
use crate::error::AppError;
use crate::pages::shared::{choices, Choice, FieldErrors};
use crate::pages::{render_form, Ctx};
use crate::service::claims as svc;
use crate::{i18n, SharedState};

/// Claims on one page of the list.
const PAGE: i64 = 50;

/// The list's filters as the form sends them (and the API takes them).
#[derive(Deserialize, Default, Clone, utoipa::IntoParams)]
#[serde(default)]
pub struct QueueAsk {
    /// A state, or `all`.
    state: String,
    case: String,
    /// A region by name or code.
    region: String,
    /// An institution's national code.
    institution: String,
    from: String,
    to: String,
    /// Yuan.
    min: String,
    max: String,
    sort: String,
    /// Under review by this reviewer (a username).
    reviewer: String,
    after: String,
}

impl QueueAsk {
    /// The states asked for, as typed (`None` when none).
    pub(crate) fn state_list(&self) -> Option<&str> {
        Some(self.state.as_str()).filter(|s| !s.trim().is_empty())
    }

    /// This search as a query string, with another state and without the cursor.
    fn with_state(&self, state: &str) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("state", state),
            ("case", self.case.as_str()),
            ("region", self.region.as_str()),
            ("institution", self.institution.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("min", self.min.as_str()),
            ("max", self.max.as_str()),
            ("sort", self.sort.as_str()),
            ("reviewer", self.reviewer.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The filter with its reviewer (a username) found, or every problem with what was typed.
    pub(crate) async fn filter_in(
        &self,
        store: &yibao_store::Store,
        state: Option<ClaimState>,
    ) -> Result<Result<ClaimFilter, Vec<InvalidValue>>, AppError> {
        let mut f = self.filter(state);
        if let Some(username) = Some(self.reviewer.trim()).filter(|u| !u.is_empty()) {
            let label = match store.account_by_username(username).await? {
                Some(a) if a.role.can(Permission::ReviewClaims) => Some(a.actor_label()),
                _ => None,
            };
            match (&mut f, label) {
                (Ok(f), Some(label)) => f.reviewer = Some(label),
                (Ok(_), None) => f = Err(vec![no_reviewer()]),
                (Err(e), None) => e.push(no_reviewer()),
                (Err(_), Some(_)) => {}
            }
        }
        Ok(f)
    }

    /// The filter, or every problem with what was typed.
    fn filter(&self, state: Option<ClaimState>) -> Result<ClaimFilter, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let mut f = ClaimFilter {
            states: state.into_iter().collect(),
            sort: ClaimSort::parse(&self.sort),
            ..Default::default()
        };
        if let Some(c) = text(&self.case) {
            f.case = ClaimCase::parse(&c).map_err(|x| e.push(x)).ok();
        }
        if let Some(r) = text(&self.region) {
            f.region = yibao_core::region::resolve("region", &r).map_err(|x| e.push(x)).ok();
        }
        f.institution = text(&self.institution);
        let day = |field: &'static str, s: &str, e: &mut Vec<InvalidValue>| -> Option<NaiveDate> {
            let s = text(s)?;
            s.parse::<NaiveDate>()
                .map_err(|_| {
                    e.push(InvalidValue::new(
                        field,
                        "format",
                        "日期格式应为 2026-12-07",
                        "a date is written 2026-12-07",
                    ))
                })
                .ok()
        };
        f.from = day("from", &self.from, &mut e);
        f.to = day("to", &self.to, &mut e);
        let yuan = |field: &'static str, s: &str, e: &mut Vec<InvalidValue>| -> Option<Fen> {
            let s = text(s)?;
            s.parse::<Fen>().map_err(|x| e.push(InvalidValue { field, ..x })).ok()
        };
        f.min = yuan("min", &self.min, &mut e);
        f.max = yuan("max", &self.max, &mut e);
        f.after = text(&self.after);
        if e.is_empty() {
            Ok(f)
        } else {
            Err(e)
        }
    }
}

/// A reviewer's line in the lead's workload table: name, claims under review, their link.
pub struct Load {
    pub name: String,
    pub count: i64,
    pub href: String,
}

/// A state's tab: its code, label, count and link.
pub struct Tab {
    pub code: String,
    pub label: String,
    pub count: i64,
    pub href: String,
}

#[derive(Template)]
#[template(path = "claim_queue.html")]
struct QueuePage {
    ctx: Ctx,
    ask: QueueAsk,
    state: String,
    tabs: Vec<Tab>,
    cases: Vec<Choice>,
    sorts: Vec<Choice>,
    rows: Vec<ClaimRow>,
    /// For a reviewer: the link to the claims under their own review.
    mine: Option<String>,
    /// For a lead reviewer: each reviewer's claims under review.
    workload: Vec<Load>,
    /// The next page's link.
    next: Option<String>,
    can_window: bool,
    errors: Vec<String>,
    fe: FieldErrors,
}

/// `GET /claims`: by default the state waiting for the caller's role.
pub async fn claim_queue_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<QueueAsk>,
) -> Result<Response, AppError> {
    caller.require(Permission::ViewClaims)?;
    let lang = caller.lang;
    let default = if caller.can(Permission::SecondReviewClaims) {
        "second_review"
    } else if caller.can(Permission::ReviewClaims) {
        "adjudicated"
    } else {
        "submitted"
    };
    let code = if ask.state.trim().is_empty() { default.to_string() } else { ask.state.trim().to_string() };
    let chosen = if code == "all" { None } else { Some(ClaimState::parse(&code)?) };
    let (filter, errors) = match ask.filter_in(&state.store, chosen).await? {
        Ok(f) => (f, Vec::new()),
        Err(e) => (ClaimFilter { states: chosen.into_iter().collect(), ..Default::default() }, e),
    };
    let workload = if caller.can(Permission::AssignClaims) {
        svc::workload(&state.store, &caller)
            .await?
            .into_iter()
            .map(|(a, count)| Load {
                href: format!("/claims?state=in_review&reviewer={}", a.username),
                name: a.display_name,
                count,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mine =
        caller.can(Permission::ReviewClaims).then(|| format!("/claims?state=in_review&reviewer={}", caller.username()));
    let (page, counts) = svc::claim_list(&state.store, &caller, filter, PAGE).await?;
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let mut tabs = vec![Tab {
        code: "all".into(),
        label: i18n::t(lang, "claims.all").into(),
        count: total,
        href: format!("/claims?{}", ask.with_state("all")),
    }];
    tabs.extend(ClaimState::ALL.iter().map(|s| Tab {
        code: s.code().into(),
        label: s.label().get(lang).to_string(),
        count: counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n),
        href: format!("/claims?{}", ask.with_state(s.code())),
    }));
    let mut rows = ClaimRow::list(&state.store, &page.items, lang).await?;
    let calendar = state.store.calendar().await?;
    for (row, c) in rows.iter_mut().zip(&page.items) {
        let Some(received) = china_day_of(&c.submitted_at) else { continue };
        let days = (caller.today - received).num_days();
        row.ageing = i18n::t(lang, "claims.days").replace("{n}", &days.to_string());
        if c.state.is_final() {
            continue;
        }
        if let Ok(due) = calendar.estimate_working_days(received, PAYMENT_WORKING_DAYS) {
            let left = calendar.working_days_between(caller.today, due.date).unwrap_or_default();
            let urgency = Urgency::of(&calendar, due.date, caller.today);
            row.promise_state = match urgency {
                Urgency::OnTime => "kept",
                Urgency::AtRisk => "at_risk",
                Urgency::Overdue => "broken",
            };
            row.promise = if left >= 0 {
                i18n::t(lang, "claims.promise_left")
                    .replace("{n}", &left.to_string())
                    .replace("{due}", &due.date.to_string())
            } else {
                i18n::t(lang, "claims.promise_late").replace("{n}", &(-left).to_string())
            };
        }
    }
    let next = page.next.map(|after| {
        let search = ask.with_state(&code);
        format!("/claims?{search}&{}", serde_urlencoded::to_string([("after", after)]).unwrap_or_default())
    });
    let page = QueuePage {
        ctx: Ctx::for_caller(&caller, "/claims"),
        state: code,
        tabs,
        cases: choices(ClaimCase::ALL, ClaimCase::code, ClaimCase::label, lang),
        sorts: ClaimSort::ALL
            .iter()
            .map(|s| Choice {
                code: s.code().into(),
                label: i18n::t(lang, &format!("claims.sort.{}", s.code())).into(),
            })
            .collect(),
        rows,
        mine,
        workload,
        next,
        can_window: caller.can(Permission::HandleClaims),
        errors: errors.iter().map(|e| e.message(lang).to_string()).collect(),
        fe: FieldErrors::of(&AppError::validation(errors.clone()), lang),
        ask,
    };
    render_form(&page, !page.errors.is_empty())
}

fn no_reviewer() -> InvalidValue {
    InvalidValue::new("reviewer", "unknown", "没有这位审核人员", "no such reviewer")
}
