//! The audit log searched: by who acted (part of the actor's label), what was done (an action
//! or its first part, `claim.`), the entity and its id, and a period — newest first, a page at
//! a time by sequence number (keyset: `before` the last one seen), however long the log.

use yibao_core::audit::AuditEntry;

use crate::db::audit::audit_from_row;
use crate::db::query::{contains_pattern, escape_like, Arg, Sql};
use crate::{Store, StoreError};

/// What the audit log is searched by; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Part of the actor's label (`clerk`, `account:3`, `institution:H62…`).
    pub actor: Option<String>,
    /// An action (`claim.approve`), or its start ending in a point (`claim.`).
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// From this instant (RFC 3339, UTC), inclusive.
    pub from: Option<String>,
    /// Before this instant, exclusive.
    pub to: Option<String>,
    /// Entries before this sequence number (the next page).
    pub before: Option<i64>,
}

const COLS: &str = "seq, at, actor, action, entity, entity_id, before_data, after_data, request_id, prev_hash, hash";

impl Store {
    /// The entries `q` finds, newest first, at most `limit` (1–1,000).
    pub async fn search_audit(&self, q: &AuditQuery, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLS} FROM audit_log WHERE 1 = 1"));
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        if let Some(actor) = given(&q.actor) {
            let p = sql.arg(Arg::S(contains_pattern(&actor)));
            sql.text.push_str(&format!(" AND actor LIKE {p} ESCAPE '\\'"));
        }
        match given(&q.action) {
            Some(prefix) if prefix.ends_with('.') => {
                let p = sql.arg(Arg::S(format!("{}%", escape_like(&prefix))));
                sql.text.push_str(&format!(" AND action LIKE {p} ESCAPE '\\'"));
            }
            Some(action) => {
                let p = sql.arg(Arg::S(action));
                sql.text.push_str(&format!(" AND action = {p}"));
            }
            None => {}
        }
        for (column, value) in [("entity", given(&q.entity)), ("entity_id", given(&q.entity_id))] {
            if let Some(v) = value {
                let p = sql.arg(Arg::S(v));
                sql.text.push_str(&format!(" AND {column} = {p}"));
            }
        }
        for (op, value) in [(">=", given(&q.from)), ("<", given(&q.to))] {
            if let Some(v) = value {
                let p = sql.arg(Arg::S(v));
                sql.text.push_str(&format!(" AND at {op} {p}"));
            }
        }
        if let Some(before) = q.before {
            let p = sql.arg(Arg::I(before));
            sql.text.push_str(&format!(" AND seq < {p}"));
        }
        let limit = sql.arg(Arg::I(limit.clamp(1, 1_000)));
        sql.text.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
        sql.fetch_all(&self.db).await?.iter().map(audit_from_row).collect()
    }

    /// One entry by its sequence number.
    pub async fn audit_entry(&self, seq: i64) -> Result<AuditEntry, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM audit_log WHERE seq = $1"))
            .bind(seq)
            .fetch_optional(&mut self.read_conn().await?)
            .await?
            .ok_or(StoreError::NotFound("audit entry"))?;
        audit_from_row(&row)
    }
}
