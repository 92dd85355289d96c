//! The open supervision hits of the caller's regions (reviewers and auditors): each links to
//! its claim, where it is decided.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{render, Ctx};
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

pub struct QueueRow {
    pub claim_id: i64,
    pub claim_number: String,
    pub rule: String,
    pub severity: String,
    pub severity_code: &'static str,
    pub message: String,
    pub found_at: String,
}

#[derive(Template)]
#[template(path = "hits.html")]
struct HitsPage {
    ctx: Ctx,
    rows: Vec<QueueRow>,
}

/// `GET /hits`: the queue, oldest first, violations first.
pub async fn hits_page(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    let lang = caller.lang;
    let mut hits = service::supervision::open_hits(&state.store, &caller).await?;
    hits.sort_by_key(|h| std::cmp::Reverse(h.severity));
    let rows = hits
        .iter()
        .map(|h| QueueRow {
            claim_id: h.claim_id,
            claim_number: h.claim_number.clone(),
            rule: h.rule_code.clone(),
            severity: h.severity.label().get(lang).to_string(),
            severity_code: severity_code(h.severity),
            message: h.message.get(lang).to_string(),
            found_at: super::shared::when(&h.found_at),
        })
        .collect();
    Ok(render(&HitsPage { ctx: Ctx::for_caller(&caller, "/hits"), rows })?.into_response())
}
