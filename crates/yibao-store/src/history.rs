//! The medical history file (参保人病史档案) in the store: entries kept once per fact and
//! source, written by the settlement and claims domains as they settle and approve (which
//! call [`Store::note_history`]) and by auditors by hand; read on a person's page and before
//! a clerk decides a transfer.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};

use crate::db::query::corrupt;
use crate::{Store, StoreError, WriteTx};

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub person_id: i64,
    pub kind: HistoryKind,
    pub code: String,
    pub name: String,
    pub noted_on: NaiveDate,
    pub source: HistorySource,
    /// The settlement's `setl_id`, the claim's number, the audit task or the document.
    pub source_ref: String,
    pub verified_by: String,
    pub verified_at: String,
}

const COLS: &str = "id, person_id, kind, code, name, noted_on, source, source_ref, verified_by, verified_at";

fn entry_from_row(r: &AnyRow) -> Result<HistoryEntry, StoreError> {
    let kind: String = r.try_get(2)?;
    let source: String = r.try_get(6)?;
    let noted_on: String = r.try_get(5)?;
    Ok(HistoryEntry {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        kind: HistoryKind::parse(&kind).map_err(|_| corrupt("history_entries.kind", &kind))?,
        code: r.try_get(3)?,
        name: r.try_get(4)?,
        noted_on: noted_on.parse().map_err(|_| corrupt("history_entries.noted_on", &noted_on))?,
        source: HistorySource::parse(&source).map_err(|_| corrupt("history_entries.source", &source))?,
        source_ref: r.try_get(7)?,
        verified_by: r.try_get(8)?,
        verified_at: r.try_get(9)?,
    })
}

impl Store {
    /// Adds what `source` (`source_ref`) shows of the person's history, verified by the
    /// write's actor: entries already on file from the same source are kept as they are.
    /// Returns the ids of the entries added. (The settlement's or claim's own audit entry
    /// records what it showed; an entry by hand is audited by [`Store::add_history`].)
    pub(crate) async fn note_history(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        entries: &[HistoryInput],
        source: HistorySource,
        source_ref: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let mut added = Vec::new();
        for e in entries {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO history_entries (person_id, kind, code, name, noted_on, source, source_ref, verified_by, \
                 verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (person_id, kind, code, name, source, source_ref) DO NOTHING RETURNING id",
            )
            .bind(person_id)
            .bind(e.kind.code())
            .bind(e.code.trim().to_string())
            .bind(e.name.trim().to_string())
            .bind(e.noted_on.to_string())
            .bind(source.code())
            .bind(source_ref.to_string())
            .bind(w.actor().label.clone())
            .bind(w.at().to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
            added.extend(id);
        }
        Ok(added)
    }

    /// An auditor adds an entry by hand, from an audit or a hospital document: validated
    /// (every problem named), audited. Refused as a duplicate if the same fact from the same
    /// source is on file.
    pub async fn add_history(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        input: &HistoryInput,
        source: HistorySource,
        source_ref: &str,
        today: NaiveDate,
    ) -> Result<HistoryEntry, StoreError> {
        let mut problems = input.problems(today);
        if !matches!(source, HistorySource::Audit | HistorySource::Document) {
            problems.push(yibao_core::InvalidValue::new(
                "source",
                "by_hand",
                "手工登记的来源只能是稽核或医院文书",
                "an entry by hand comes from an audit or a hospital document",
            ));
        }
        if source_ref.trim().is_empty() {
            problems.push(yibao_core::InvalidValue::new(
                "source_ref",
                "required",
                "请写明依据（稽核任务或文书名称、编号）",
                "say what it rests on (the audit task, or the document's name or number)",
            ));
        }
        if let Some(first) = problems.into_iter().next() {
            return Err(StoreError::Invalid(first));
        }
        crate::registry::fetch_person(&mut *w.tx, person_id).await?;
        let id = self
            .note_history(w, person_id, std::slice::from_ref(input), source, source_ref.trim())
            .await?
            .pop()
            .ok_or(StoreError::Duplicate { what: "history entry" })?;
        let row = sqlx::query(&format!("SELECT {COLS} FROM history_entries WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        let entry = entry_from_row(&row)?;
        w.record::<(), _>("history.add", "history_entry", &id.to_string(), None, Some(&entry)).await?;
        Ok(entry)
    }

    /// The person's history file, the latest first.
    pub async fn medical_history(&self, person_id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM history_entries WHERE person_id = $1 ORDER BY noted_on DESC, id DESC"
        ))
        .bind(person_id)
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
