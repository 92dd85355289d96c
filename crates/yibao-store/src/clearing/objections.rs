//! An institution's objection to a deduction (异议): raised while its clearing waits for
//! review, decided by an auditor with a reason. Upheld, the finding costs nothing (its
//! consequence becomes none) and the statement is built again without it; dismissed, it
//! stands.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::clearing::{statement, ClearingState, Deduction, SettledLine};
use yibao_core::InvalidValue;

use super::{deduction_from_row, refund_from_row, refuse, to_json, Clearing};
use crate::{Store, StoreError, WriteTx};

/// An objection, open or decided.
#[derive(Debug, Clone, Serialize)]
pub struct Objection {
    pub id: i64,
    pub clearing_id: i64,
    /// The finding objected to.
    pub hit_id: i64,
    pub grounds: String,
    pub raised_by: String,
    pub raised_at: String,
    /// `open`, `upheld` or `dismissed`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    pub version: i64,
}

const COLS: &str =
    "id, clearing_id, hit_id, grounds, raised_by, raised_at, state, decided_by, decided_at, reason, version";

fn from_row(r: &AnyRow) -> Result<Objection, StoreError> {
    Ok(Objection {
        id: r.try_get(0)?,
        clearing_id: r.try_get(1)?,
        hit_id: r.try_get(2)?,
        grounds: r.try_get(3)?,
        raised_by: r.try_get(4)?,
        raised_at: r.try_get(5)?,
        state: r.try_get(6)?,
        decided_by: r.try_get(7)?,
        decided_at: r.try_get(8)?,
        reason: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

impl Store {
    /// The institution objects to the deduction of finding `hit_id` in its clearing, before
    /// the agency reviewed it; once per finding.
    pub async fn object_to_deduction(
        &self,
        w: &mut WriteTx,
        clearing_id: i64,
        institution_id: i64,
        hit_id: i64,
        grounds: &str,
    ) -> Result<Objection, StoreError> {
        let clearing = self.clearing_in(w, clearing_id).await?;
        if clearing.institution_id != institution_id {
            return Err(StoreError::NotFound("clearing"));
        }
        if clearing.state != ClearingState::Applied {
            return Err(refuse(
                "not_applied",
                format!("清算 {} {}，不能再提出异议", clearing.number, clearing.state.label().zh),
                format!("clearing {} is {}: objections are closed", clearing.number, clearing.state.label().en),
            ));
        }
        if !clearing.statement.deductions.iter().any(|d| d.finding == hit_id && d.amount.is_positive()) {
            return Err(refuse("not_deducted", "该清算没有扣减这条违规记录", "this clearing deducts no such finding"));
        }
        let grounds = grounds.trim();
        if grounds.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "grounds",
                "required",
                "请写明异议理由",
                "say why you object",
            )));
        }
        let already: Option<i64> =
            sqlx::query_scalar("SELECT id FROM clearing_objections WHERE clearing_id = $1 AND hit_id = $2")
                .bind(clearing_id)
                .bind(hit_id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if already.is_some() {
            return Err(refuse("objected", "已对这项扣减提出过异议", "this deduction is objected to already"));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clearing_objections (clearing_id, hit_id, grounds, raised_by, raised_at, state) \
             VALUES ($1, $2, $3, $4, $5, 'open') RETURNING id",
        )
        .bind(clearing_id)
        .bind(hit_id)
        .bind(grounds.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let out = self.objection_in(w, id).await?;
        w.record("clearing.object", "clearing", &clearing_id.to_string(), None::<&()>, Some(&out)).await?;
        Ok(out)
    }

    /// An auditor decides an objection at the `version` read, with a reason. Upheld, the
    /// finding's consequence becomes none and the clearing's statement is built again
    /// without its deduction.
    pub async fn decide_objection(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        uphold: bool,
        reason: &str,
    ) -> Result<(Objection, Clearing), StoreError> {
        let before = self.objection_in(w, id).await?;
        if before.state != "open" {
            return Err(refuse("decided", "这项异议已处理", "this objection is decided already"));
        }
        if before.version != version {
            return Err(StoreError::Stale("objection"));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new("reason", "required", "请写明处理理由", "say why")));
        }
        let clearing = self.clearing_in(w, before.clearing_id).await?;
        if clearing.state != ClearingState::Applied {
            return Err(refuse(
                "not_applied",
                format!("清算 {} {}", clearing.number, clearing.state.label().zh),
                format!("clearing {} is {}", clearing.number, clearing.state.label().en),
            ));
        }
        let done = sqlx::query(
            "UPDATE clearing_objections SET state = $1, decided_by = $2, decided_at = $3, reason = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(if uphold { "upheld" } else { "dismissed" })
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(reason.to_string())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("objection"));
        }
        let after_clearing =
            if uphold { self.withdraw_deduction(w, &clearing, before.hit_id, reason).await? } else { clearing };
        let after = self.objection_in(w, id).await?;
        w.record("clearing.objection", "clearing", &before.clearing_id.to_string(), Some(&before), Some(&after))
            .await?;
        Ok((after, after_clearing))
    }

    /// Takes finding `hit_id` out of the clearing: it costs nothing now, and the statement
    /// is built again from the clearing's own lines and its remaining deductions.
    async fn withdraw_deduction(
        &self,
        w: &mut WriteTx,
        clearing: &Clearing,
        hit_id: i64,
        reason: &str,
    ) -> Result<Clearing, StoreError> {
        sqlx::query(
            "UPDATE supervision_hits SET consequence = 'none', amount = 0, deducted_in = NULL, \
             reason = COALESCE(reason, '') || $1 WHERE id = $2",
        )
        .bind(format!("（清算异议成立：{reason}）"))
        .bind(hit_id)
        .execute(&mut *w.tx)
        .await?;
        let lines: Vec<SettledLine> = super::lines_of(&mut w.tx, clearing).await?.into_iter().map(|l| l.line).collect();
        let rows = sqlx::query(
            "SELECT h.id, s.setl_id, h.amount, h.rule_code, h.zh, h.en FROM supervision_hits h \
             JOIN settlements s ON s.id = h.settlement_id WHERE h.deducted_in = $1 ORDER BY h.decided_at, h.id",
        )
        .bind(clearing.id)
        .fetch_all(&mut *w.tx)
        .await?;
        let mut deductions = rows.iter().map(deduction_from_row).collect::<Result<Vec<Deduction>, _>>()?;
        let given_back = sqlx::query(
            "SELECT h.id, s.setl_id, h.amount, h.rule_code, h.zh, h.en FROM supervision_hits h \
             JOIN settlements s ON s.id = h.settlement_id WHERE h.refunded_in = $1 ORDER BY h.id",
        )
        .bind(clearing.id)
        .fetch_all(&mut *w.tx)
        .await?;
        for r in &given_back {
            deductions.push(refund_from_row(r)?);
        }
        let s = statement(
            &lines,
            &deductions,
            clearing.statement.deposit_rate,
            &clearing.statement.releases,
            clearing.declared.as_ref(),
        );
        let done = sqlx::query(
            "UPDATE clearings SET statement = $1, gross = $2, deducted = $3, deposit = $4, net = $5, \
             version = version + 1 WHERE id = $6 AND version = $7",
        )
        .bind(to_json(&s)?)
        .bind(s.gross.fen())
        .bind(s.deducted.fen())
        .bind(s.deposit.fen())
        .bind(s.net.fen())
        .bind(clearing.id)
        .bind(clearing.version)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("clearing"));
        }
        self.clearing_in(w, clearing.id).await
    }

    async fn objection_in(&self, w: &mut WriteTx, id: i64) -> Result<Objection, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM clearing_objections WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("objection"))?;
        from_row(&row)
    }

    /// A clearing's objections, in the order they were raised.
    pub async fn objections_of(&self, clearing_id: i64) -> Result<Vec<Objection>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM clearing_objections WHERE clearing_id = $1 ORDER BY id"))
            .bind(clearing_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
