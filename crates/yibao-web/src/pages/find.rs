//! `GET /search`: the staff's search box answered — what the text names, grouped by kind,
//! each linked to its page, only from the caller's regions.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use yibao_core::clearing::ClearingState;
use yibao_core::payment::BatchState;
use yibao_core::registry::PersonStatus;
use yibao_core::sporadic::ClaimState;
use yibao_core::Lang;
use yibao_store::{Found, FoundKind};

use super::{render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::{i18n, service, SharedState};

/// One thing found, as the page lists it.
pub struct Hit {
    pub href: String,
    pub key: String,
    pub name: String,
    pub detail: String,
}

/// The kind's code, its heading and its hits.
pub type Group = (&'static str, &'static str, Vec<Hit>);

#[derive(Deserialize, Default)]
pub struct SearchAsk {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    ctx: Ctx,
    q: String,
    groups: Vec<Group>,
    searched: bool,
}

fn code(kind: FoundKind) -> &'static str {
    match kind {
        FoundKind::Person => "person",
        FoundKind::Claim => "claim",
        FoundKind::Settlement => "settlement",
        FoundKind::Batch => "batch",
        FoundKind::Clearing => "clearing",
        FoundKind::Institution => "institution",
    }
}

fn hit(lang: Lang, f: &Found) -> Hit {
    let label = |t: Option<yibao_core::Text>| t.map(|t| t.get(lang).to_string()).unwrap_or_else(|| f.detail.clone());
    let (href, detail) = match f.kind {
        FoundKind::Person => {
            (format!("/persons/{}", f.id), label(PersonStatus::parse(&f.detail).ok().map(|s| s.label())))
        }
        FoundKind::Claim => (format!("/claims/{}", f.id), label(ClaimState::parse(&f.detail).ok().map(|s| s.label()))),
        FoundKind::Settlement => (format!("/settlements/{}", f.key), f.detail.clone()),
        FoundKind::Batch => {
            (format!("/payments/batches/{}", f.id), label(BatchState::parse(&f.detail).ok().map(|s| s.label())))
        }
        FoundKind::Clearing => {
            (format!("/clearings/{}", f.id), label(ClearingState::parse(&f.detail).ok().map(|s| s.label())))
        }
        FoundKind::Institution => (format!("/institutions#inst-{}", f.key), String::new()),
    };
    Hit { href, key: f.key.clone(), name: f.name.clone(), detail }
}

pub async fn search_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<SearchAsk>,
) -> Result<Response, AppError> {
    let found = service::find::find(&state.store, &caller, &ask.q).await?;
    // Exactly one thing found: straight to it.
    if let [only] = found.as_slice() {
        return Ok(Redirect::to(&hit(caller.lang, only).href).into_response());
    }
    let mut groups: Vec<Group> = Vec::new();
    for f in &found {
        let c = code(f.kind);
        if groups.last().map(|g| g.0) != Some(c) {
            groups.push((c, i18n::t(caller.lang, &format!("search.kind.{c}")), Vec::new()));
        }
        if let Some(g) = groups.last_mut() {
            g.2.push(hit(caller.lang, f));
        }
    }
    let page =
        SearchPage { ctx: Ctx::for_caller(&caller, "/search"), searched: !ask.q.trim().is_empty(), q: ask.q, groups };
    Ok(render(&page)?.into_response())
}
