//! Supervision in the portal (reviewers and auditors): the open hits of the caller's regions,
//! one hit with its evidence, and the decision — cleared, or confirmed with what it costs
//! (拒付 deducted from a hospital's clearing, 追回 recovered, or nothing).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use yibao_core::supervise::outlier::FollowUp;
use yibao_core::{Fen, Lang, Permission, Text};
use yibao_store::{Consequence, HitState, StoredHit};

use super::shared::{or_show, when};
use super::{render, Ctx, DoneAsk};
use crate::context::Caller;
use crate::error::AppError;
use crate::{service, SharedState};

/// A severity as the pages mark it (`data-severity`).
pub(super) fn severity_code(s: yibao_core::supervise::Severity) -> &'static str {
    match s {
        yibao_core::supervise::Severity::Hint => "hint",
        yibao_core::supervise::Severity::Suspect => "suspect",
        yibao_core::supervise::Severity::Violation => "violation",
    }
}

/// A supervision hit as the pages show it.
pub struct HitRow {
    pub id: i64,
    /// The claim's number or the settlement's `setl_id`, and its page.
    pub number: String,
    pub subject_link: String,
    pub rule: String,
    pub severity: String,
    pub severity_code: &'static str,
    pub message: String,
    /// The lines (by number) or the other stays it points at.
    pub evidence: String,
    pub state: String,
    pub open: bool,
    /// Who decided it and why, and what a confirmed hit costs.
    pub decided: String,
    pub found_at: String,
    /// The lines it points at, by number (none when it points at other stays).
    pub lines: Vec<String>,
    /// Who took it from the queue (their name), and whether it is the caller.
    pub taken: String,
    pub mine: bool,
}

/// Names who took each hit and who decided it, as the caller reads them, and marks the
/// caller's.
pub(crate) async fn name_takers(store: &yibao_store::Store, caller: &Caller, hits: &[StoredHit], rows: &mut [HitRow]) {
    let me = caller.actor().label;
    let mut names = super::shared::Names::new(store, caller);
    for (h, r) in hits.iter().zip(rows.iter_mut()) {
        if let Some(by) = &h.decided_by {
            let name = names.of(by).await;
            r.decided = r.decided.replacen(by.as_str(), &name, 1);
        }
        let Some(by) = &h.taken_by else { continue };
        r.mine = *by == me;
        r.taken = names.of(by).await;
    }
}

pub(crate) fn hit_rows(hits: &[StoredHit], lang: Lang) -> Vec<HitRow> {
    hits.iter()
        .map(|h| {
            let ids: Vec<String> = h.evidence["ids"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let of_lines = h.evidence["of"] == "lines";
            let evidence = match (of_lines, lang) {
                (true, Lang::Zh) => format!("明细 {}", ids.join("、")),
                (true, Lang::En) => format!("lines {}", ids.join(", ")),
                (false, Lang::Zh) => ids.join("、"),
                (false, Lang::En) => ids.join(", "),
            };
            let cost = match (h.consequence, h.amount) {
                (Some(c @ (Consequence::Deduct | Consequence::Recover)), Some(a)) => {
                    let yuan = if lang == Lang::Zh { "元" } else { "yuan" };
                    super::shared::aside(lang, "", &format!("{} {a} {yuan}", c.label().get(lang)))
                }
                _ => String::new(),
            };
            HitRow {
                id: h.id,
                number: h.number.clone(),
                subject_link: match (h.claim_id, h.settlement_id) {
                    (Some(claim), _) => format!("/claims/{claim}"),
                    _ => format!("/settlements/{}", h.number),
                },
                rule: h.rule_code.clone(),
                severity: h.severity.label().get(lang).to_string(),
                severity_code: severity_code(h.severity),
                message: h.message.get(lang).to_string(),
                evidence,
                state: h.state.label().get(lang).to_string(),
                lines: if of_lines { ids.clone() } else { Vec::new() },
                open: h.state == HitState::Open,
                decided: match (&h.decided_by, &h.reason) {
                    (Some(by), Some(reason)) => format!("{by}：{reason}{cost}"),
                    _ => String::new(),
                },
                found_at: when(&h.found_at),
                taken: String::new(),
                mine: false,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "hits.html")]
struct HitsPage {
    ctx: Ctx,
    rows: Vec<HitRow>,
    /// The queue shown: `mine`, `untaken`, or `` (all).
    queue: &'static str,
    /// Rescue admissions outside the catalog by reviewer: (reviewer, lines, claims, amount).
    rescue: Vec<(String, i64, i64, String)>,
    /// Institutions far from their peers.
    outliers: Vec<FindingRow>,
    /// The caller may decide them (an auditor).
    can_decide: bool,
    follow_ups: Vec<super::shared::Choice>,
    errors: Vec<String>,
    notice: Option<String>,
}

/// An institution finding as the queue shows it.
pub struct FindingRow {
    pub id: i64,
    pub period: String,
    pub rule: String,
    pub message: String,
    pub open: bool,
    /// The decision, once made: what and why, by whom.
    pub decision: String,
}

/// `GET /hits`: the queue, oldest first, violations first.
pub async fn hits_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<QueueAsk>,
) -> Result<Response, AppError> {
    show_hits(&state, &caller, &q.done, &q.queue, Vec::new()).await
}

#[derive(Deserialize, Default)]
pub struct QueueAsk {
    #[serde(default)]
    done: String,
    /// `mine`, `untaken`, or all.
    #[serde(default)]
    queue: String,
}

async fn show_hits(
    state: &SharedState,
    caller: &Caller,
    done: &str,
    queue: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let asked = service::supervision::queue_of(caller, queue);
    let mut hits = service::supervision::open_hits(&state.store, caller, &asked).await?;
    hits.sort_by_key(|h| std::cmp::Reverse(h.severity));
    let mut rows = hit_rows(&hits, lang);
    name_takers(&state.store, caller, &hits, &mut rows).await;
    let queue = match asked {
        yibao_store::HitQueue::TakenBy(_) => "mine",
        yibao_store::HitQueue::Untaken => "untaken",
        yibao_store::HitQueue::All => "",
    };
    let rescue = service::supervision::rescue_admissions(&state.store, caller)
        .await?
        .into_iter()
        .map(|(reviewer, lines, claims, amount)| (reviewer, lines, claims, amount.to_grouped()))
        .collect();
    let mut names = super::shared::Names::new(&state.store, caller);
    let mut outliers = Vec::new();
    for f in service::supervision::institution_findings(&state.store, caller).await? {
        let what = match (f.state.as_str(), f.follow_up) {
            ("cleared", _) => Text::new("已排除", "cleared"),
            (_, Some(follow_up)) => {
                let l = follow_up.label();
                Text::new(format!("已确认：{}", l.zh), format!("confirmed: {}", l.en))
            }
            _ => Text::new("", ""),
        };
        let decision = match (&f.reason, &f.decided_by, &f.decided_at) {
            (Some(reason), Some(by), Some(at)) => {
                format!("{}{}", super::shared::aside(lang, what.get(lang), reason), names.at(by, at).await)
            }
            _ => String::new(),
        };
        // The institution by its name (the finding names its code).
        let code = f.institution_code.clone();
        let institution = names.of(&format!("institution:{code}")).await;
        let message = f.message.get(lang).replacen(&code, &super::shared::aside(lang, &institution, &code), 1);
        outliers.push(FindingRow {
            id: f.id,
            period: format!("{} – {}", f.period_from, f.period_to),
            rule: f.rule_code,
            message,
            open: f.state == "open",
            decision,
        });
    }
    let page = HitsPage {
        ctx: Ctx::for_caller(caller, "/hits"),
        rows,
        queue,
        rescue,
        outliers,
        can_decide: caller.can(Permission::Audit),
        follow_ups: super::shared::choices(FollowUp::ALL, FollowUp::code, FollowUp::label, lang),
        errors,
        notice: super::shared::notice(lang, done),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct FindingDecisionForm {
    #[serde(default)]
    csrf: String,
    /// `clear`, or the follow-up of a confirmation.
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /institution-findings/{id}/decision`: an auditor clears or confirms a finding; back
/// to the queue.
pub async fn finding_decision(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<FindingDecisionForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let decided = async {
        let confirm = match f.decision.as_str() {
            "clear" => None,
            code => Some(FollowUp::parse(code)?),
        };
        service::supervision::decide_institution_finding(&state.store, &caller, id, confirm, &f.reason).await
    }
    .await;
    match decided {
        Ok(_) => Ok(Redirect::to("/hits?done=finding").into_response()),
        Err(e) => or_show(e, caller.lang, |errors| show_hits(&state, &caller, "", "", errors)).await,
    }
}

#[derive(Template)]
#[template(path = "hit.html")]
struct HitPage {
    ctx: Ctx,
    /// The one hit (a list, so that the decision form's partial finds it as on a claim).
    hits: Vec<HitRow>,
    /// A direct settlement's hit may be deducted at clearing.
    deduct_allowed: bool,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_hit(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let hit = service::supervision::hit(&state.store, caller, id).await?;
    let notice = super::shared::notice(caller.lang, done);
    let deduct_allowed = hit.settlement_id.is_some();
    let mut hits = hit_rows(std::slice::from_ref(&hit), caller.lang);
    name_takers(&state.store, caller, std::slice::from_ref(&hit), &mut hits).await;
    Ok(render(&HitPage { ctx: Ctx::for_caller(caller, "/hits"), hits, deduct_allowed, errors, notice })?
        .into_response())
}

/// `GET /hits/{id}`: one hit, its evidence and the decision form.
pub async fn hit_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_hit(&state, &caller, id, &q.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct TakeForm {
    #[serde(default)]
    csrf: String,
    /// `1` takes the hit, `0` lets go of it.
    #[serde(default)]
    take: String,
}

/// `POST /hits/{id}/take`: a reviewer or auditor takes a hit from the queue, or lets go of it.
pub async fn hit_take(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<TakeForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let take = f.take != "0";
    match service::supervision::take_hit(&state.store, &caller, id, take).await {
        Ok(_) => {
            let done = if take { "hit_taken" } else { "hit_released" };
            Ok(Redirect::to(&format!("/hits/{id}?done={done}")).into_response())
        }
        Err(e) => or_show(e, caller.lang, |errors| show_hit(&state, &caller, id, "", errors)).await,
    }
}

#[derive(Deserialize)]
pub struct HitDecisionForm {
    #[serde(default)]
    csrf: String,
    clear: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    consequence: Option<Consequence>,
    /// Yuan; empty is none.
    #[serde(default)]
    amount: String,
}

/// `POST /hits/{id}/decision`: a reviewer or auditor clears or confirms a hit; back to its
/// claim or to the hit (with what was wrong, if anything).
pub async fn hit_decision(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<HitDecisionForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let claim_id = service::supervision::hit(&state.store, &caller, id).await?.claim_id;
    let decided = async {
        let amount = match f.amount.trim() {
            "" => None,
            a => Some(a.parse::<Fen>()?),
        };
        let decision = service::supervision::decision(f.clear == "1", f.consequence, amount);
        service::supervision::decide_hit(&state.store, &caller, id, decision, &f.reason).await
    }
    .await;
    match (decided, claim_id) {
        (Ok(_), Some(claim)) => Ok(Redirect::to(&format!("/claims/{claim}?done=hit")).into_response()),
        (Ok(_), None) => Ok(Redirect::to(&format!("/hits/{id}?done=hit")).into_response()),
        (Err(e), Some(claim)) => {
            or_show(e, caller.lang, |errors| super::claims::show_claim(&state, &caller, claim, "", errors)).await
        }
        (Err(e), None) => or_show(e, caller.lang, |errors| show_hit(&state, &caller, id, "", errors)).await,
    }
}
