//! The agency's audit (稽核) in the store: pre-evaluations of transfers (this file) and audit
//! tasks with their photos (`tasks.rs`). The cover domain asks whether a filing's
//! pre-evaluation is still pending before it approves it, the claims and settlement domains
//! whether an audit stops a stay; this module reads their tables itself and depends on none of
//! them (see `tests/module_graph.rs`).

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};
use yibao_core::inspection::PreEvaluation;
use yibao_core::{AdminCode, InvalidValue};

use crate::db::query::{corrupt, region_from};
use crate::{Store, StoreError, WriteTx};

mod tasks;

pub use tasks::{AuditPhoto, AuditTask, Concluded, NewPhoto, NewTask};

/// A filing's pre-evaluation: required (the person is asked to come in), then recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPreEvaluation {
    pub id: i64,
    pub filing_id: i64,
    pub person_id: i64,
    /// The person's insured region, whose staff see it.
    pub region: AdminCode,
    /// What the person is asked to bring, and when to come.
    pub note: String,
    pub required_by: String,
    pub required_at: String,
    /// What the agency saw, once recorded.
    pub record: Option<PreEvaluation>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<String>,
    pub version: i64,
}

const PRE_COLS: &str =
    "id, filing_id, person_id, region, note, required_by, required_at, record, recorded_by, recorded_at, version";

fn pre_from_row(r: &AnyRow) -> Result<StoredPreEvaluation, StoreError> {
    let record: Option<String> = r.try_get(7)?;
    Ok(StoredPreEvaluation {
        id: r.try_get(0)?,
        filing_id: r.try_get(1)?,
        person_id: r.try_get(2)?,
        region: region_from(r.try_get(3)?)?,
        note: r.try_get(4)?,
        required_by: r.try_get(5)?,
        required_at: r.try_get(6)?,
        record: record
            .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("pre_evaluations.record", e)))
            .transpose()?,
        recorded_by: r.try_get(8)?,
        recorded_at: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

fn refuse(code: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(InvalidValue::new("audit", code, zh, en))
}

impl Store {
    /// A clerk asks the person of an applied filing to come in first (预评估): the filing
    /// cannot be approved until the pre-evaluation is recorded. The person is told.
    pub async fn require_pre_evaluation(
        &self,
        w: &mut WriteTx,
        filing_id: i64,
        note: &str,
    ) -> Result<StoredPreEvaluation, StoreError> {
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT f.person_id, f.status, p.insured_region FROM filings f JOIN persons p ON p.id = f.person_id \
             WHERE f.id = $1",
        )
        .bind(filing_id)
        .fetch_optional(&mut *w.tx)
        .await?;
        let (person_id, status, region) = row.ok_or(StoreError::NotFound("filing"))?;
        if status != "applied" {
            return Err(refuse(
                "not_applied",
                "只有待审核的备案可以要求预评估",
                "only a filing waiting for a decision may require a pre-evaluation",
            ));
        }
        if self.pre_evaluation_of_filing_in(w, filing_id).await?.is_some() {
            return Err(refuse("already_required", "该备案已要求过预评估", "a pre-evaluation was asked for already"));
        }
        let note = note.trim();
        if note.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "请告诉参保人带什么材料、何时来经办机构",
                "tell the person what to bring and when to come",
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO pre_evaluations (filing_id, person_id, region, note, required_by, required_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(filing_id)
        .bind(person_id)
        .bind(region)
        .bind(note.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "pre-evaluation"))?;
        let stored = self.pre_evaluation_in(w, id).await?;
        w.record::<(), _>("pre_evaluation.require", "pre_evaluation", &id.to_string(), None, Some(&stored)).await?;
        self.add_notice(
            w,
            person_id,
            "pre_evaluation",
            &format!("您的转外就医备案需先到医保经办机构进行预评估：{note}"),
            &format!("Your off-site filing needs a pre-evaluation at the insurance agency first: {note}"),
        )
        .await?;
        Ok(stored)
    }

    /// The person came in: a clerk or auditor records what the agency saw (validated, every
    /// problem named). The diagnosis goes into the person's medical history file.
    pub async fn record_pre_evaluation(
        &self,
        w: &mut WriteTx,
        filing_id: i64,
        version: i64,
        record: &PreEvaluation,
        today: NaiveDate,
    ) -> Result<StoredPreEvaluation, StoreError> {
        if let Some(first) = record.problems().into_iter().next() {
            return Err(StoreError::Invalid(first));
        }
        let before =
            self.pre_evaluation_of_filing_in(w, filing_id).await?.ok_or(StoreError::NotFound("pre-evaluation"))?;
        // What later stays are compared with is fixed once the filing is decided.
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM filings WHERE id = $1")
            .bind(filing_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        if status.as_deref() != Some("applied") {
            return Err(refuse(
                "filing_decided",
                "备案已审批，预评估结果不能再修改",
                "the filing is decided; its pre-evaluation can no longer be changed",
            ));
        }
        let text = serde_json::to_string(record).map_err(|e| corrupt("pre_evaluations.record", e))?;
        let n = sqlx::query(
            "UPDATE pre_evaluations SET record = $1, recorded_by = $2, recorded_at = $3, version = version + 1 \
             WHERE id = $4 AND version = $5",
        )
        .bind(text)
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(before.id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("pre-evaluation"));
        }
        let after = self.pre_evaluation_in(w, before.id).await?;
        w.record("pre_evaluation.record", "pre_evaluation", &before.id.to_string(), Some(&before), Some(&after))
            .await?;
        let diagnosis = HistoryInput {
            kind: HistoryKind::Diagnosis,
            code: record.diagnosis_code.trim().to_string(),
            name: record.diagnosis_name.trim().to_string(),
            noted_on: today,
        };
        self.note_history(w, before.person_id, &[diagnosis], HistorySource::Audit, &format!("预评估 {}", before.id))
            .await?;
        Ok(after)
    }

    async fn pre_evaluation_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredPreEvaluation, StoreError> {
        let row = sqlx::query(&format!("SELECT {PRE_COLS} FROM pre_evaluations WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        pre_from_row(&row)
    }

    async fn pre_evaluation_of_filing_in(
        &self,
        w: &mut WriteTx,
        filing_id: i64,
    ) -> Result<Option<StoredPreEvaluation>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PRE_COLS} FROM pre_evaluations WHERE filing_id = $1"))
            .bind(filing_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        row.as_ref().map(pre_from_row).transpose()
    }

    /// A filing's pre-evaluation, if one was required.
    pub async fn pre_evaluation_of_filing(&self, filing_id: i64) -> Result<Option<StoredPreEvaluation>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PRE_COLS} FROM pre_evaluations WHERE filing_id = $1"))
            .bind(filing_id)
            .fetch_optional(&mut self.read_conn().await?)
            .await?;
        row.as_ref().map(pre_from_row).transpose()
    }

    /// Refuses to approve a filing whose pre-evaluation is required and not yet recorded.
    pub(crate) async fn check_pre_evaluation_done(&self, w: &mut WriteTx, filing_id: i64) -> Result<(), StoreError> {
        match self.pre_evaluation_of_filing_in(w, filing_id).await? {
            Some(p) if p.record.is_none() => Err(refuse(
                "pre_evaluation_pending",
                "该备案要求预评估，记录预评估结果后才能批准",
                "this filing needs its pre-evaluation recorded before it can be approved",
            )),
            _ => Ok(()),
        }
    }

    /// The re-check visit (复查) `pre` asks for after `stay`, discharged on `discharged`: a task
    /// for the region's auditors, due that many days later (not before `today`). Nothing when
    /// it asks for none, or when the stay has its task already (a visit settled again after
    /// a reversal).
    pub(crate) async fn plan_recheck(
        &self,
        w: &mut WriteTx,
        pre: &StoredPreEvaluation,
        stay: Stay,
        discharged: NaiveDate,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let Some(days) = pre.record.as_ref().and_then(|r| r.recheck_within_days) else { return Ok(()) };
        let (claim_id, visit_id, column, id) = match stay {
            Stay::Claim(id) => (Some(id), None, "claim_id", id),
            Stay::Visit(id) => (None, Some(id), "visit_id", id),
        };
        let planned: Option<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM audit_tasks WHERE kind = 'recheck' AND {column} = $1"))
                .bind(id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if planned.is_some() {
            return Ok(());
        }
        let task = crate::NewTask {
            kind: yibao_core::inspection::AuditTaskKind::Recheck,
            person_id: pre.person_id,
            claim_id,
            visit_id,
            filing_id: Some(pre.filing_id),
            place: "医保经办机构".into(),
            assignee: String::new(),
            due_on: (discharged + chrono::Duration::days(i64::from(days))).max(today),
            instructions: format!("预评估要求出院后 {days} 天内复查，查看治疗效果"),
        };
        self.create_audit_task(w, &task, today).await?;
        Ok(())
    }

    /// The recorded pre-evaluation of the person's approved filing in force on `day` (the
    /// latest such filing), which a stay beginning that day is compared with.
    pub async fn pre_evaluation_for(
        &self,
        person_id: i64,
        day: NaiveDate,
    ) -> Result<Option<StoredPreEvaluation>, StoreError> {
        let mut conn = self.read_conn().await?;
        pre_evaluation_on(&mut conn, person_id, day).await
    }
}

/// A stay compared with a pre-evaluation: a sporadic claim, or a direct settlement's visit.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stay {
    Claim(i64),
    Visit(i64),
}

/// See [`Store::pre_evaluation_for`]; on any connection (a write's too).
pub(crate) async fn pre_evaluation_on(
    conn: &mut crate::db::Conn,
    person_id: i64,
    day: NaiveDate,
) -> Result<Option<StoredPreEvaluation>, StoreError> {
    let cols: String = PRE_COLS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ");
    let row = sqlx::query(&format!(
        "SELECT {cols} FROM pre_evaluations e JOIN filings f ON f.id = e.filing_id WHERE e.person_id = $1 \
         AND e.record IS NOT NULL AND f.status = 'approved' AND f.start_date <= $2 \
         AND (f.end_date IS NULL OR f.end_date >= $2) ORDER BY f.start_date DESC, f.id DESC LIMIT 1"
    ))
    .bind(person_id)
    .bind(day.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(pre_from_row).transpose()
}
