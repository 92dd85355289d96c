//! 审计日志 in the portal: the search (who, what, which entity, which days), a page at a time
//! with what each step changed, each entry whole with its data before and after, and the
//! download (CSV, text cells neutralised for spreadsheets).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use yibao_core::audit::{changed_fields, AuditEntry, FieldChange};
use yibao_core::text::spreadsheet_safe;
use yibao_core::Lang;

use super::shared::{when, Names};
use super::{render, Ctx};
use crate::context::Caller;
use crate::error::AppError;
use crate::service::audit_log::{self as svc, AuditAsk};
use crate::SharedState;

/// An entry as the list shows it.
pub struct Row {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub changes: Vec<FieldChange>,
}

/// The action in words where the portal has them, else as recorded.
fn action_label(lang: Lang, action: &str) -> String {
    match super::logins::action_label(lang, action) {
        Some(words) => format!("{words}{}", super::shared::aside(lang, "", action).trim_start()),
        None => action.to_string(),
    }
}

async fn row(names: &mut Names<'_>, lang: Lang, e: &AuditEntry) -> Row {
    Row {
        seq: e.seq,
        at: when(&e.at),
        actor: names.of(&e.actor).await,
        action: action_label(lang, &e.action),
        entity: format!("{} {}", e.entity, e.entity_id),
        changes: changed_fields(&e.before, &e.after),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct ListPage {
    ctx: Ctx,
    ask: AuditAsk,
    rows: Vec<Row>,
    /// The link to the next (older) page, when there may be one.
    older: Option<String>,
    download: String,
}

/// `GET /audit`.
pub async fn audit_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<AuditAsk>,
) -> Result<Response, AppError> {
    let entries = svc::search(&state.store, &caller, &ask, svc::PAGE).await?;
    let mut names = Names::new(&state.store, &caller);
    let mut rows = Vec::with_capacity(entries.len());
    for e in &entries {
        rows.push(row(&mut names, caller.lang, e).await);
    }
    let search = ask.query_string();
    let older = match entries.last() {
        Some(last) if entries.len() as i64 == svc::PAGE => {
            Some(format!("/audit?{search}{}before={}", if search.is_empty() { "" } else { "&" }, last.seq))
        }
        _ => None,
    };
    let page = ListPage {
        ctx: Ctx::for_caller(&caller, "/audit"),
        download: format!("/audit.csv?{search}"),
        ask,
        rows,
        older,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "audit_entry.html")]
struct EntryPage {
    ctx: Ctx,
    row: Row,
    actor_label: String,
    request_id: String,
    before: String,
    after: String,
    hash: String,
    prev_hash: String,
}

/// Pretty JSON for reading, or the text as it is.
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

/// `GET /audit/{seq}`.
pub async fn audit_entry_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(seq): Path<i64>,
) -> Result<Response, AppError> {
    let e = svc::entry(&state.store, &caller, seq).await?;
    let mut names = Names::new(&state.store, &caller);
    let page = EntryPage {
        ctx: Ctx::for_caller(&caller, "/audit"),
        row: row(&mut names, caller.lang, &e).await,
        actor_label: e.actor.clone(),
        request_id: e.request_id.clone(),
        before: pretty(&e.before),
        after: pretty(&e.after),
        hash: e.hash.clone(),
        prev_hash: e.prev_hash.clone(),
    };
    Ok(render(&page)?.into_response())
}

/// `GET /audit.csv`: what the search finds, at most [`svc::DOWNLOAD_MAX`] entries.
pub async fn audit_csv(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<AuditAsk>,
) -> Result<Response, AppError> {
    let entries = svc::search(&state.store, &caller, &ask, svc::DOWNLOAD_MAX).await?;
    let zh = caller.lang == Lang::Zh;
    let heads: [(&str, &str); 10] = [
        ("序号", "seq"),
        ("时间（北京时间）", "at (China time)"),
        ("操作人", "actor"),
        ("操作", "action"),
        ("对象", "entity"),
        ("对象编号", "entity id"),
        ("变更内容", "what changed"),
        ("变更前", "before"),
        ("变更后", "after"),
        ("哈希", "hash"),
    ];
    let mut rows = vec![heads.iter().map(|(z, e)| (if zh { *z } else { *e }).to_string()).collect::<Vec<_>>()];
    let safe = |s: &str| spreadsheet_safe(s).into_owned();
    for e in &entries {
        let changes: Vec<String> = changed_fields(&e.before, &e.after)
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.before, c.after))
            .collect();
        rows.push(vec![
            e.seq.to_string(),
            when(&e.at),
            safe(&e.actor),
            safe(&e.action),
            safe(&e.entity),
            safe(&e.entity_id),
            safe(&changes.join("; ")),
            safe(&e.before),
            safe(&e.after),
            e.hash.clone(),
        ]);
    }
    let name = format!("audit-{}.csv", caller.today);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        yibao_core::text::csv_document(&rows),
    )
        .into_response())
}
