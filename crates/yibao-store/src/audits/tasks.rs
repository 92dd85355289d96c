//! Audit tasks (稽核任务) and their photos: an on-site audit of a stay, a re-check visit, a
//! post-payment sample. A task is kept under the person's insured region; only auditors of
//! that region see it and its photos. An open on-site audit of a claim keeps the claim from
//! approval; a conclusion other than "confirmed" stops the claim and the visit's settlement.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::inspection::{AuditTaskKind, Conclusion};
use yibao_core::{AdminCode, InvalidValue, Scope};

use super::refuse;
use crate::db::query::{corrupt, region_from, Arg, Sql};
use crate::{BlobStore, Store, StoreError, WriteTx};

/// A photo an auditor took: a document of the person, with when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPhoto {
    pub id: i64,
    pub document_id: i64,
    pub taken_at: String,
    pub caption: String,
    pub added_by: String,
    pub added_at: String,
}

/// A task as stored, with its photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditTask {
    pub id: i64,
    pub kind: AuditTaskKind,
    pub region: AdminCode,
    pub person_id: i64,
    pub person_name: String,
    pub claim_id: Option<i64>,
    pub claim_number: Option<String>,
    /// A direct settlement's visit (its `mdtrt_id` beside it).
    pub visit_id: Option<i64>,
    pub mdtrt_id: Option<String>,
    pub filing_id: Option<i64>,
    /// Where: the hospital (or the agency's office, for a re-check).
    pub place: String,
    /// The auditor sent (a username), or empty: any auditor of the region.
    pub assignee: String,
    pub due_on: NaiveDate,
    pub instructions: String,
    /// `open` or `done`.
    pub state: String,
    pub visited_on: Option<NaiveDate>,
    pub findings: Option<String>,
    pub conclusion: Option<Conclusion>,
    pub created_by: String,
    pub created_at: String,
    pub concluded_by: Option<String>,
    pub concluded_at: Option<String>,
    pub version: i64,
    pub photos: Vec<AuditPhoto>,
}

/// What a new task says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub kind: AuditTaskKind,
    pub person_id: i64,
    pub claim_id: Option<i64>,
    pub visit_id: Option<i64>,
    pub filing_id: Option<i64>,
    pub place: String,
    pub assignee: String,
    pub due_on: NaiveDate,
    pub instructions: String,
}

/// A photo an auditor adds: its file, when it was taken (China time) and what it shows.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub taken_at: NaiveDateTime,
    pub caption: String,
}

/// How an auditor concludes a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concluded {
    pub visited_on: NaiveDate,
    pub findings: String,
    pub conclusion: Conclusion,
}

const TASK_COLS: &str = "t.id, t.kind, t.region, t.person_id, p.name, t.claim_id, c.number, t.visit_id, v.mdtrt_id, \
    t.filing_id, t.place, t.assignee, t.due_on, t.instructions, t.state, t.visited_on, t.findings, t.conclusion, \
    t.created_by, t.created_at, t.concluded_by, t.concluded_at, t.version";
const TASK_FROM: &str = "audit_tasks t JOIN persons p ON p.id = t.person_id LEFT JOIN claims c ON c.id = t.claim_id \
    LEFT JOIN visits v ON v.id = t.visit_id";

fn day(column: &str, text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|t| t.get(..10).and_then(|d| d.parse().ok()).ok_or_else(|| corrupt(column, &t))).transpose()
}

fn task_from_row(r: &AnyRow) -> Result<AuditTask, StoreError> {
    let kind: String = r.try_get(1)?;
    let conclusion: Option<String> = r.try_get(17)?;
    Ok(AuditTask {
        id: r.try_get(0)?,
        kind: AuditTaskKind::parse(&kind).map_err(|_| corrupt("audit_tasks.kind", &kind))?,
        region: region_from(r.try_get(2)?)?,
        person_id: r.try_get(3)?,
        person_name: r.try_get(4)?,
        claim_id: r.try_get(5)?,
        claim_number: r.try_get(6)?,
        visit_id: r.try_get(7)?,
        mdtrt_id: r.try_get(8)?,
        filing_id: r.try_get(9)?,
        place: r.try_get(10)?,
        assignee: r.try_get(11)?,
        due_on: day("audit_tasks.due_on", r.try_get(12)?)?.ok_or_else(|| corrupt("audit_tasks.due_on", "null"))?,
        instructions: r.try_get(13)?,
        state: r.try_get(14)?,
        visited_on: day("audit_tasks.visited_on", r.try_get(15)?)?,
        findings: r.try_get(16)?,
        conclusion: conclusion
            .map(|c| Conclusion::parse(&c).map_err(|_| corrupt("audit_tasks.conclusion", &c)))
            .transpose()?,
        created_by: r.try_get(18)?,
        created_at: r.try_get(19)?,
        concluded_by: r.try_get(20)?,
        concluded_at: r.try_get(21)?,
        version: r.try_get(22)?,
        photos: Vec::new(),
    })
}

fn photo_from_row(r: &AnyRow) -> Result<AuditPhoto, StoreError> {
    Ok(AuditPhoto {
        id: r.try_get(0)?,
        document_id: r.try_get(1)?,
        taken_at: r.try_get(2)?,
        caption: r.try_get(3)?,
        added_by: r.try_get(4)?,
        added_at: r.try_get(5)?,
    })
}

const PHOTO_COLS: &str = "id, document_id, taken_at, caption, added_by, added_at";

fn required(field: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(InvalidValue::new(field, "required", zh, en))
}

impl Store {
    /// Sends an auditor (or the region's auditors, with no assignee) on a task, due by
    /// `due_on` (not before `today`). A claim or visit named must be the person's; an assignee
    /// must be an auditor whose regions include the person's.
    pub async fn create_audit_task(
        &self,
        w: &mut WriteTx,
        t: &NewTask,
        today: NaiveDate,
    ) -> Result<AuditTask, StoreError> {
        if t.place.trim().is_empty() {
            return Err(required("place", "请填写稽核地点（医院）", "say where (the hospital)"));
        }
        if t.due_on < today {
            return Err(StoreError::Invalid(InvalidValue::new(
                "due_on",
                "past",
                "完成期限不能早于今天",
                "the task cannot be due before today",
            )));
        }
        let region: i64 = sqlx::query_scalar("SELECT insured_region FROM persons WHERE id = $1")
            .bind(t.person_id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("person"))?;
        for (table, id) in [("claims", t.claim_id), ("visits", t.visit_id), ("filings", t.filing_id)] {
            let Some(id) = id else { continue };
            let owner: Option<i64> = sqlx::query_scalar(&format!("SELECT person_id FROM {table} WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *w.tx)
                .await?;
            if owner != Some(t.person_id) {
                return Err(refuse(
                    "not_the_persons",
                    "所指的申请、就诊或备案不是该参保人的",
                    "that claim, visit or filing is not the person's",
                ));
            }
        }
        let assignee = t.assignee.trim();
        if !assignee.is_empty() {
            let account: Option<(String, String)> =
                sqlx::query_as("SELECT role, scope FROM accounts WHERE username = $1 AND disabled = 0")
                    .bind(assignee.to_string())
                    .fetch_optional(&mut *w.tx)
                    .await?;
            let covers = account.as_ref().is_some_and(|(role, scope)| {
                role == "auditor"
                    && Scope::parse_list(scope).is_ok_and(|s| region_from(region).is_ok_and(|r| s.covers(r)))
            });
            if !covers {
                return Err(refuse(
                    "not_an_auditor",
                    "只能派给负责该参保地的稽核人员",
                    "a task goes to an auditor of the person's region",
                ));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_tasks (kind, region, person_id, claim_id, visit_id, filing_id, place, assignee, due_on, \
             instructions, state, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12) \
             RETURNING id",
        )
        .bind(t.kind.code())
        .bind(region)
        .bind(t.person_id)
        .bind(t.claim_id)
        .bind(t.visit_id)
        .bind(t.filing_id)
        .bind(t.place.trim().to_string())
        .bind(assignee.to_string())
        .bind(t.due_on.to_string())
        .bind(t.instructions.trim().to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let task = self.audit_task_in(w, id).await?;
        w.record::<(), _>("audit_task.create", "audit_task", &id.to_string(), None, Some(&task)).await?;
        Ok(task)
    }

    async fn audit_task_in(&self, w: &mut WriteTx, id: i64) -> Result<AuditTask, StoreError> {
        let row = sqlx::query(&format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("audit task"))?;
        let mut task = task_from_row(&row)?;
        let photos = sqlx::query(&format!("SELECT {PHOTO_COLS} FROM audit_photos WHERE task_id = $1 ORDER BY id"))
            .bind(id)
            .fetch_all(&mut *w.tx)
            .await?;
        task.photos = photos.iter().map(photo_from_row).collect::<Result<_, _>>()?;
        Ok(task)
    }

    /// One task with its photos.
    pub async fn audit_task(&self, id: i64) -> Result<AuditTask, StoreError> {
        let mut conn = self.read_conn().await?;
        let row = sqlx::query(&format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(&mut conn)
            .await?
            .ok_or(StoreError::NotFound("audit task"))?;
        let mut task = task_from_row(&row)?;
        let photos = sqlx::query(&format!("SELECT {PHOTO_COLS} FROM audit_photos WHERE task_id = $1 ORDER BY id"))
            .bind(id)
            .fetch_all(&mut conn)
            .await?;
        task.photos = photos.iter().map(photo_from_row).collect::<Result<_, _>>()?;
        Ok(task)
    }

    /// The tasks of the regions in `scope` (open ones only, or all), due soonest first;
    /// without their photos.
    pub async fn audit_tasks_in(
        &self,
        scope: &Scope,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<AuditTask>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE 1 = 1"));
        if open_only {
            sql.text.push_str(" AND t.state = 'open'");
        }
        sql.scope_filter("t.region", scope);
        let l = sql.arg(Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY t.state DESC, t.due_on, t.id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(task_from_row).collect()
    }

    /// An auditor (`username`, of the task's region: the caller checks it) takes an open task
    /// sent to the region's auditors as a whole: it is theirs from now on.
    pub async fn take_audit_task(&self, w: &mut WriteTx, id: i64, username: &str) -> Result<AuditTask, StoreError> {
        let before = self.audit_task_in(w, id).await?;
        if before.state != "open" {
            return Err(refuse("done", "该稽核任务已完成", "this audit task is done"));
        }
        if !before.assignee.is_empty() {
            return Err(refuse(
                "assigned",
                &format!("该稽核任务已派给 {}", before.assignee),
                &format!("this audit task is {}'s", before.assignee),
            ));
        }
        let done = sqlx::query(
            "UPDATE audit_tasks SET assignee = $1, version = version + 1 WHERE id = $2 AND assignee = '' AND state = 'open'",
        )
        .bind(username.to_string())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("audit task"));
        }
        let after = self.audit_task_in(w, id).await?;
        w.record("audit_task.take", "audit_task", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// The tasks about a claim, oldest first (without photos).
    pub async fn audit_tasks_of_claim(&self, claim_id: i64) -> Result<Vec<AuditTask>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {TASK_COLS} FROM {TASK_FROM} WHERE t.claim_id = $1 ORDER BY t.id"))
            .bind(claim_id)
            .fetch_all(&mut self.read_conn().await?)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// An auditor adds a photo to an open task: stored as a document of the person
    /// (checked by its content), with when it was taken and what it shows.
    pub async fn add_audit_photo(
        &self,
        w: &mut WriteTx,
        blobs: &Arc<dyn BlobStore>,
        task_id: i64,
        photo: NewPhoto,
    ) -> Result<AuditPhoto, StoreError> {
        let NewPhoto { file_name, bytes, taken_at, caption } = photo;
        let task = self.audit_task_in(w, task_id).await?;
        if task.state != "open" {
            return Err(refuse("concluded", "该稽核任务已办结", "this audit task is concluded"));
        }
        if taken_at.and_utc().timestamp() > chrono::Utc::now().timestamp() + 8 * 3600 {
            return Err(StoreError::Invalid(InvalidValue::new(
                "taken_at",
                "future",
                "拍摄时间不能晚于现在",
                "a photo cannot be taken in the future",
            )));
        }
        let doc = self.save_document(w, blobs, task.person_id, &file_name, bytes).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_photos (task_id, document_id, taken_at, caption, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(task_id)
        .bind(doc.id)
        .bind(taken_at.format("%Y-%m-%d %H:%M").to_string())
        .bind(caption.trim().to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "audit photo"))?;
        let row = sqlx::query(&format!("SELECT {PHOTO_COLS} FROM audit_photos WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        let photo = photo_from_row(&row)?;
        w.record::<(), _>("audit_task.photo", "audit_task", &task_id.to_string(), None, Some(&photo)).await?;
        Ok(photo)
    }

    /// The auditor concludes a task: when they went, what they found, and the conclusion.
    /// An on-site audit needs at least one photo. A conclusion other than "confirmed" stops the
    /// claim (it cannot be approved) and the visit (2304 refuses it).
    pub async fn conclude_audit_task(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        c: &Concluded,
        today: NaiveDate,
    ) -> Result<AuditTask, StoreError> {
        let Concluded { visited_on, findings, conclusion } = c;
        let (visited_on, conclusion) = (*visited_on, *conclusion);
        let before = self.audit_task_in(w, id).await?;
        if before.state != "open" {
            return Err(refuse("concluded", "该稽核任务已办结", "this audit task is concluded"));
        }
        if findings.trim().is_empty() {
            return Err(required("findings", "请记录稽核所见", "record what was found"));
        }
        if visited_on > today {
            return Err(StoreError::Invalid(InvalidValue::new(
                "visited_on",
                "future",
                "稽核日期不能晚于今天",
                "the visit cannot be after today",
            )));
        }
        if before.kind == AuditTaskKind::OnSite && before.photos.is_empty() {
            return Err(refuse(
                "photos_required",
                "现场稽核须上传至少一张现场照片",
                "an on-site audit needs at least one photo",
            ));
        }
        let n = sqlx::query(
            "UPDATE audit_tasks SET state = 'done', visited_on = $1, findings = $2, conclusion = $3, concluded_by = $4, \
             concluded_at = $5, version = version + 1 WHERE id = $6 AND version = $7 AND state = 'open'",
        )
        .bind(visited_on.to_string())
        .bind(findings.trim().to_string())
        .bind(conclusion.code())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("audit task"));
        }
        let after = self.audit_task_in(w, id).await?;
        w.record("audit_task.conclude", "audit_task", &id.to_string(), Some(&before), Some(&after)).await?;
        if !conclusion.lets_go_on() {
            self.money_already_paid(w, &after, conclusion).await?;
        }
        Ok(after)
    }

    /// An audit that found a stay was not what it claimed to be, after the fund paid for it (a
    /// settled direct settlement, an approved claim): a violation on that settlement or claim,
    /// for an auditor to decide what to deduct or recover. (Before payment, the audit's
    /// conclusion stops it: [`Store::check_audits`].)
    async fn money_already_paid(
        &self,
        w: &mut WriteTx,
        task: &AuditTask,
        conclusion: Conclusion,
    ) -> Result<(), StoreError> {
        use crate::supervision::Subject;
        let paid: Option<(Subject, String)> = if let Some(visit_id) = task.visit_id {
            let row: Option<(i64, Option<String>)> =
                sqlx::query_as("SELECT id, setl_id FROM settlements WHERE visit_id = $1 AND status = 'settled'")
                    .bind(visit_id)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            row.map(|(id, setl_id)| (Subject::Settlement(id), setl_id.unwrap_or_default()))
        } else if let Some(claim_id) = task.claim_id {
            let row: Option<String> =
                sqlx::query_scalar("SELECT number FROM claims WHERE id = $1 AND state IN ('approved', 'reduced')")
                    .bind(claim_id)
                    .fetch_optional(&mut *w.tx)
                    .await?;
            row.map(|number| (Subject::Claim(claim_id), number))
        } else {
            None
        };
        let Some((subject, number)) = paid else { return Ok(()) };
        let label = conclusion.label();
        let hit = yibao_core::supervise::Hit {
            rule: format!("稽核-{}", task.id),
            severity: yibao_core::supervise::Severity::Violation,
            visit: number.clone(),
            evidence: yibao_core::supervise::Evidence::Visits(vec![number]),
            message: yibao_core::Text::new(
                format!("现场稽核（任务 {}）结论为“{}”，基金已支付，须确认追回或拒付", task.id, label.zh),
                format!(
                    "the on-site audit (task {}) concluded: {}; the fund has paid: confirm what to recover or deduct",
                    task.id, label.en
                ),
            ),
            blocks_settlement: false,
        };
        self.add_hit(w, subject, task.region, 0, &hit).await?;
        Ok(())
    }

    /// Refuses what an audit stops: approving a claim with an open on-site audit, and a claim
    /// or a visit an audit concluded was not what it claimed to be.
    pub(crate) async fn check_audits(
        &self,
        w: &mut WriteTx,
        claim_id: Option<i64>,
        visit_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT kind, state, conclusion FROM audit_tasks WHERE (claim_id = $1 OR visit_id = $2) \
             AND kind = 'on_site'",
        )
        .bind(claim_id.unwrap_or(-1))
        .bind(visit_id.unwrap_or(-1))
        .fetch_all(&mut *w.tx)
        .await?;
        for (_, state, conclusion) in rows {
            match (state.as_str(), conclusion.as_deref().map(Conclusion::parse)) {
                ("open", _) if claim_id.is_some() => {
                    return Err(refuse(
                        "audit_open",
                        "该申请的现场稽核尚未办结，办结后才能通过",
                        "the claim's on-site audit is not concluded yet",
                    ))
                }
                (_, Some(Ok(c))) if !c.lets_go_on() => {
                    return Err(refuse(
                        "audit_stopped",
                        &format!("现场稽核结论为“{}”，不能报销或结算", c.label().zh),
                        &format!("the on-site audit concluded: {}; it cannot be paid or settled", c.label().en),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The region of the audit task a document is a photo of, if it is one: only auditors of
    /// that region read it.
    pub async fn audit_photo_region(&self, document_id: i64) -> Result<Option<AdminCode>, StoreError> {
        let region: Option<i64> = sqlx::query_scalar(
            "SELECT t.region FROM audit_photos f JOIN audit_tasks t ON t.id = f.task_id WHERE f.document_id = $1",
        )
        .bind(document_id)
        .fetch_optional(&mut self.read_conn().await?)
        .await?;
        region.map(region_from).transpose()
    }
}
