//! The audit log for auditors and system administrators: searched by actor, action, entity
//! and period (days in China time), a page at a time, each entry whole, and a download.

use chrono::NaiveDate;
use serde::Deserialize;
use yibao_core::audit::AuditEntry;
use yibao_core::Permission;
use yibao_store::{AuditQuery, Store};

use crate::context::Caller;
use crate::error::AppError;

/// Entries on one page of the log.
pub const PAGE: i64 = 50;
/// The most entries one download holds (narrow the search for more).
pub const DOWNLOAD_MAX: i64 = 10_000;

/// The search as the page and the API take it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct AuditAsk {
    /// Part of who acted: a username, `account:3`, `institution:H62…`.
    pub actor: String,
    /// An action (`claim.approve`) or its start ending in a point (`claim.`).
    pub action: String,
    /// What it was done to (`claim`, `person`, `account`, …) and its id.
    pub entity: String,
    pub entity_id: String,
    /// From and to these days (China time), both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The next page: entries before this sequence number.
    pub before: Option<i64>,
}

impl AuditAsk {
    pub fn query(&self) -> AuditQuery {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let instant = yibao_core::calendar::china_day_start;
        AuditQuery {
            actor: text(&self.actor),
            action: text(&self.action),
            entity: text(&self.entity),
            entity_id: text(&self.entity_id),
            from: self.from.map(instant),
            to: self.to.and_then(|d| d.succ_opt()).map(instant),
            before: self.before,
        }
    }

    /// The search as a query string (without `before`), for the next page and the download.
    pub fn query_string(&self) -> String {
        let pairs: Vec<(&str, String)> = [
            ("actor", self.actor.trim().to_string()),
            ("action", self.action.trim().to_string()),
            ("entity", self.entity.trim().to_string()),
            ("entity_id", self.entity_id.trim().to_string()),
            ("from", self.from.map(|d| d.to_string()).unwrap_or_default()),
            ("to", self.to.map(|d| d.to_string()).unwrap_or_default()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The entries the search finds, newest first, at most `limit`.
pub async fn search(store: &Store, caller: &Caller, ask: &AuditAsk, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    caller.require(Permission::ViewAuditLog)?;
    let entries = store.search_audit(&ask.query(), limit).await?;
    Ok(entries.into_iter().map(|e| as_seen_by(caller, e)).collect())
}

/// One entry, whole.
pub async fn entry(store: &Store, caller: &Caller, seq: i64) -> Result<AuditEntry, AppError> {
    caller.require(Permission::ViewAuditLog)?;
    Ok(as_seen_by(caller, store.audit_entry(seq).await?))
}

/// The entry's data as the caller may read it: whole for those who see persons whole (an
/// auditor); ID numbers, phone numbers and persons' names masked for anyone else (a system
/// administrator), in the page, the API and the download alike.
fn as_seen_by(caller: &Caller, mut e: AuditEntry) -> AuditEntry {
    if !caller.can(Permission::ViewPersonDetail) {
        e.before = yibao_core::audit::masked_data(&e.entity, &e.before);
        e.after = yibao_core::audit::masked_data(&e.entity, &e.after);
    }
    e
}
