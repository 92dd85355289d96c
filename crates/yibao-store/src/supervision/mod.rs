//! Supervision (智能监管) in the store: each region's rule base by version, and what it finds
//! on a claim when the engine adjudicates it (`yibao_core::supervise` does the finding). A hit
//! is open until a reviewer or an auditor clears it with a reason or confirms it; an open
//! violation (违规) keeps its claim from being approved. Every import and decision is audited.
//!
//! This module reads the person's other stays from the claims and settlements tables itself,
//! so that it depends on neither domain (the claims domain calls it).

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::supervise::{check, Hit, RuleBase, Severity, Visit};
use yibao_core::{AdminCode, Fen, InvalidValue, Text};

use crate::db::cache::Recent;
use crate::db::query::corrupt;
use crate::{Store, StoreError, WriteTx};

mod queue;
mod stays;
pub use queue::HitQueue;

/// The rule bases in force, by region, parsed (see `db::cache`).
pub(crate) type RuleBases = Recent<i64, Option<Arc<RuleBase>>>;

/// What a hit is found on: a sporadic claim or a direct settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Claim(i64),
    Settlement(i64),
}

impl Subject {
    fn column(self) -> (&'static str, i64) {
        match self {
            Subject::Claim(id) => ("claim_id", id),
            Subject::Settlement(id) => ("settlement_id", id),
        }
    }
}

/// Where a hit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitState {
    Open,
    /// Looked at and found in order, with a reason.
    Cleared,
    /// Looked at and found a fault.
    Confirmed,
}

impl HitState {
    fn code(self) -> &'static str {
        match self {
            HitState::Open => "open",
            HitState::Cleared => "cleared",
            HitState::Confirmed => "confirmed",
        }
    }

    fn parse(s: &str) -> Result<HitState, StoreError> {
        match s {
            "open" => Ok(HitState::Open),
            "cleared" => Ok(HitState::Cleared),
            "confirmed" => Ok(HitState::Confirmed),
            other => Err(corrupt("supervision_hits.state", other)),
        }
    }

    pub fn label(self) -> Text {
        match self {
            HitState::Open => Text::new("待处理", "open"),
            HitState::Cleared => Text::new("已排除", "cleared"),
            HitState::Confirmed => Text::new("已确认违规", "confirmed"),
        }
    }
}

/// What a confirmed hit costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// Nothing to take back (the line was already excluded, or a warning is enough).
    None,
    /// 拒付: withheld from what the fund owes the institution, at its next clearing.
    Deduct,
    /// 追回: recovered from whoever was paid.
    Recover,
}

impl Consequence {
    fn code(self) -> &'static str {
        match self {
            Consequence::None => "none",
            Consequence::Deduct => "deduct",
            Consequence::Recover => "recover",
        }
    }

    fn parse(s: &str) -> Result<Consequence, StoreError> {
        match s {
            "none" => Ok(Consequence::None),
            "deduct" => Ok(Consequence::Deduct),
            "recover" => Ok(Consequence::Recover),
            other => Err(corrupt("supervision_hits.consequence", other)),
        }
    }

    pub fn label(self) -> Text {
        match self {
            Consequence::None => Text::new("不扣款", "no amount"),
            Consequence::Deduct => Text::new("拒付（清算时扣减）", "deducted at clearing"),
            Consequence::Recover => Text::new("追回", "recovered"),
        }
    }
}

/// A version of a region's rule base, as imported.
#[derive(Debug, Clone, Serialize)]
pub struct RuleBaseVersion {
    pub version: i64,
    pub imported_by: String,
    pub imported_at: String,
    pub rules: usize,
    /// The TOML as imported.
    pub document: String,
}

/// A decision on an open hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitDecision {
    /// In order (排除).
    Clear,
    /// A fault (确认违规), costing `amount` as `consequence` says (zero for none).
    Confirm { consequence: Consequence, amount: Fen },
}

/// A hit as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredHit {
    pub id: i64,
    /// The claim it was found on, or
    pub claim_id: Option<i64>,
    /// the direct settlement.
    pub settlement_id: Option<i64>,
    /// The claim's number or the settlement's `setl_id`.
    pub number: String,
    pub region: AdminCode,
    pub rule_code: String,
    pub rule_version: i64,
    pub severity: Severity,
    /// `{"of": "lines"|"visits", "ids": [...]}`.
    pub evidence: serde_json::Value,
    pub message: Text,
    pub state: HitState,
    pub found_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    /// Of a confirmed hit: what it costs, and how much.
    pub consequence: Option<Consequence>,
    pub amount: Option<Fen>,
    /// The auditor who took it from the queue (an account label), and when.
    pub taken_by: Option<String>,
    pub taken_at: Option<String>,
}

const HIT_COLS: &str = "h.id, h.claim_id, h.region, h.rule_code, h.rule_version, h.severity, h.evidence, h.zh, \
    h.en, h.state, h.found_at, h.decided_by, h.decided_at, h.reason, COALESCE(c.number, s.setl_id), \
    h.settlement_id, h.consequence, h.amount, h.taken_by, h.taken_at";
const HIT_FROM: &str = "supervision_hits h LEFT JOIN claims c ON c.id = h.claim_id \
    LEFT JOIN settlements s ON s.id = h.settlement_id";

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Hint => "hint",
        Severity::Suspect => "suspect",
        Severity::Violation => "violation",
    }
}

fn hit_from_row(r: &AnyRow) -> Result<StoredHit, StoreError> {
    let severity: String = r.try_get(5)?;
    let evidence: String = r.try_get(6)?;
    let region: i64 = r.try_get(2)?;
    Ok(StoredHit {
        id: r.try_get(0)?,
        claim_id: r.try_get(1)?,
        settlement_id: r.try_get(15)?,
        number: r.try_get::<Option<String>, _>(14)?.unwrap_or_default(),
        region: crate::db::query::region_from(region)?,
        rule_code: r.try_get(3)?,
        rule_version: r.try_get(4)?,
        severity: match severity.as_str() {
            "hint" => Severity::Hint,
            "suspect" => Severity::Suspect,
            "violation" => Severity::Violation,
            other => return Err(corrupt("supervision_hits.severity", other)),
        },
        evidence: serde_json::from_str(&evidence).map_err(|e| corrupt("supervision_hits.evidence", e))?,
        message: Text::new(r.try_get::<String, _>(7)?, r.try_get::<String, _>(8)?),
        state: HitState::parse(&r.try_get::<String, _>(9)?)?,
        found_at: r.try_get(10)?,
        decided_by: r.try_get(11)?,
        decided_at: r.try_get(12)?,
        reason: r.try_get(13)?,
        consequence: r.try_get::<Option<String>, _>(16)?.as_deref().map(Consequence::parse).transpose()?,
        amount: r.try_get::<Option<i64>, _>(17)?.map(Fen::from_fen),
        taken_by: r.try_get(18)?,
        taken_at: r.try_get(19)?,
    })
}

fn refuse(code: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(InvalidValue::new("supervision", code, zh, en))
}

/// The day of a stored date or date-time text (`2026-03-02` or `2026-03-02 08:00:00`).
pub(crate) fn day_of(text: &str) -> Result<NaiveDate, StoreError> {
    text.get(..10).and_then(|d| d.parse().ok()).ok_or_else(|| corrupt("date", text))
}

/// Marks each line of `visit` with what its catalog entry limits (限性别 / 限年龄), from the
/// catalog serving the first of `regions` that lists it.
pub(crate) fn mark_catalog_limits(visit: &mut Visit, catalogs: &yibao_core::catalog::Catalogs, regions: &[AdminCode]) {
    for line in &mut visit.lines {
        line.limits = regions
            .iter()
            .filter_map(|r| catalogs.for_region(*r))
            .find_map(|(_, c)| c.lookup(&line.item, line.day))
            .map(|e| e.restriction.person)
            .filter(|p| !p.is_empty());
    }
}

/// What the rule base in force found on a visit, before it is stored.
pub(crate) struct Found {
    pub(crate) version: i64,
    pub(crate) hits: Vec<Hit>,
}

impl Found {
    /// The hits that keep 2304 from settling, as one refusal naming each.
    pub(crate) fn blocking(&self) -> Option<StoreError> {
        let blocking: Vec<&Hit> = self.hits.iter().filter(|h| h.blocks_settlement).collect();
        if blocking.is_empty() {
            return None;
        }
        let zh: Vec<String> = blocking.iter().map(|h| format!("{}：{}", h.rule, h.message.zh)).collect();
        let en: Vec<String> = blocking.iter().map(|h| format!("{}: {}", h.rule, h.message.en)).collect();
        Some(StoreError::Invalid(InvalidValue::new(
            "supervision",
            "violation",
            format!("智能监管规则发现违规，请更正费用明细后再结算：{}", zh.join("；")),
            format!(
                "the supervision rules found a violation; correct the fee lines and settle again: {}",
                en.join("; ")
            ),
        )))
    }
}

impl Store {
    /// Imports a region's rule base document (validated: every problem named with its path),
    /// as a version above the region's newest.
    pub async fn import_rule_base(&self, w: &mut WriteTx, text: &str) -> Result<RuleBase, StoreError> {
        let base = RuleBase::parse(text).map_err(|errors| {
            crate::db::query::invalid_document("rule_base", errors.iter().map(|e| (e.path.as_str(), &e.message)))
        })?;
        let region: AdminCode = base.region.parse()?;
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM supervision_rule_bases WHERE region = $1")
                .bind(i64::from(region.value()))
                .fetch_one(&mut *w.tx)
                .await?;
        crate::db::query::check_newer(newest, base.version)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO supervision_rule_bases (region, version, document, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(i64::from(region.value()))
        .bind(i64::from(base.version))
        .bind(text.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        w.record::<(), RuleBase>("supervision.rules", "rule_base", &id.to_string(), None, Some(&base)).await?;
        w.forget(self.rule_bases.clone());
        Ok(base)
    }

    /// The rule base in force in `region` (its newest version), if any.
    pub async fn rule_base(&self, region: AdminCode) -> Result<Option<RuleBase>, StoreError> {
        Ok(self.rule_base_in_force(region).await?.map(|b| (*b).clone()))
    }

    /// Every version of a region's rule base, the newest first: (version, who imported it,
    /// when, how many rules), with the document of each.
    pub async fn rule_base_versions(&self, region: AdminCode) -> Result<Vec<RuleBaseVersion>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT version, imported_by, imported_at, document FROM supervision_rule_bases WHERE region = $1 \
             ORDER BY version DESC",
        )
        .bind(i64::from(region.value()))
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        rows.into_iter()
            .map(|(version, imported_by, imported_at, document)| {
                let rules = RuleBase::parse(&document)
                    .map_err(|_| corrupt("supervision_rule_bases.document", version))?
                    .rules
                    .len();
                Ok(RuleBaseVersion { version, imported_by, imported_at, rules, document })
            })
            .collect()
    }

    /// The rule base in force, parsed once and kept (see `db::cache`): every settlement and
    /// accepted claim asks for it.
    async fn rule_base_in_force(&self, region: AdminCode) -> Result<Option<Arc<RuleBase>>, StoreError> {
        let key = i64::from(region.value());
        if let Some(kept) = self.rule_bases.get(&key) {
            return Ok(kept);
        }
        let text: Option<String> = sqlx::query_scalar(
            "SELECT document FROM supervision_rule_bases WHERE region = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&mut self.read_conn().await?)
        .await?;
        let base = text
            .map(|t| RuleBase::parse(&t).map_err(|_| corrupt("supervision_rule_bases.document", "invalid")))
            .transpose()?
            .map(Arc::new);
        self.rule_bases.put(key, &base);
        Ok(base)
    }

    /// What the rule base in force in `region` finds on a visit a hospital is about to settle
    /// (3101/3102, 事前/事中): against the person's claims and settled stays (none for a
    /// person yibao does not know). Stores nothing. `rules`, if not empty, limits the rules.
    pub async fn analyse_visit(
        &self,
        region: AdminCode,
        visit: &Visit,
        person_known: bool,
        rules: &[String],
    ) -> Result<Vec<Hit>, StoreError> {
        let Some(base) = self.rule_base_in_force(region).await? else { return Ok(Vec::new()) };
        let mut base = (*base).clone();
        if !rules.is_empty() {
            base.rules.retain(|r| rules.contains(&r.code));
        }
        let mut others = Vec::new();
        if let (true, Some(days)) = (person_known, base.history_window()) {
            let since = visit.admitted - chrono::Duration::days(i64::from(days));
            let mut conn = self.read_conn().await?;
            others = stays::other_stays(&mut conn, visit.person_id, &visit.id, &visit.id, since, &base).await?;
        }
        let mut visit = visit.clone();
        mark_catalog_limits(&mut visit, &self.rules().await?.catalogs, &[region]);
        Ok(check(&base, &visit, &others))
    }

    /// Whether `institution_id` has a visit of `person_id` (admitted, discharged or settled):
    /// only then is the person its patient, whose history its questions may use.
    pub async fn is_patient_of(&self, institution_id: i64, person_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM visits WHERE institution_id = $1 AND person_id = $2 AND status <> 'cancelled' LIMIT 1",
        )
        .bind(institution_id)
        .bind(person_id)
        .fetch_optional(&mut self.read_conn().await?)
        .await?;
        Ok(found.is_some())
    }

    /// What the rule base in force in the pooling region of `region` (the person's insured
    /// region) finds on `visit` against the person's other stays, read in `w`; nothing when
    /// the region has no rule base.
    pub(crate) async fn supervise(
        &self,
        w: &mut WriteTx,
        region: AdminCode,
        visit: &Visit,
        history: Option<Vec<Visit>>,
    ) -> Result<Option<Found>, StoreError> {
        let Some(base) = self.rule_base_in_force(region.prefecture()).await? else { return Ok(None) };
        if base.rules.is_empty() {
            return Ok(None);
        }
        let others = match history {
            Some(read_before) => read_before,
            None => self.history_for(&mut w.tx, &base, visit.person_id, &visit.id, visit.admitted).await?,
        };
        Ok(Some(Found { version: i64::from(base.version), hits: check(&base, visit, &others) }))
    }

    /// The other visits of `person_id` that `base` looks at for the visit `id` (a claim's
    /// number or a settlement's mdtrt_id, left out of its own history) begun on `admitted`,
    /// read on `conn`: only as far back as the rules look, and not at all when none does.
    async fn history_for(
        &self,
        conn: &mut crate::db::Conn,
        base: &RuleBase,
        person_id: i64,
        id: &str,
        admitted: NaiveDate,
    ) -> Result<Vec<Visit>, StoreError> {
        match base.history_window() {
            Some(days) => {
                let since = admitted - chrono::Duration::days(i64::from(days));
                stays::other_stays(conn, person_id, id, id, since, base).await
            }
            None => Ok(Vec::new()),
        }
    }

    /// What [`Store::supervise`] would read of the person's history for `visit`, read on
    /// `conn` before the write (a settlement's snapshot), so that the write spends its turn
    /// writing. (A visit of the person settled in between is missed by this settlement's
    /// rules — it moves the running totals, which makes the snapshot stale — a claim handed in
    /// in between is found by the next re-check.)
    pub(crate) async fn history_before(
        &self,
        conn: &mut crate::db::Conn,
        region: AdminCode,
        person_id: i64,
        id: &str,
        admitted: NaiveDate,
    ) -> Result<Vec<Visit>, StoreError> {
        match self.rule_base_in_force(region.prefecture()).await? {
            Some(base) if !base.rules.is_empty() => self.history_for(conn, &base, person_id, id, admitted).await,
            _ => Ok(Vec::new()),
        }
    }

    /// Checks a claim's stay (`visit`) against the rule base in force in the pooling region of
    /// `region` (the person's insured region, which the hits keep, so that staff of that
    /// county see them) and the person's other stays; the claim's open hits are replaced by
    /// what is found now (decided ones are kept, and not found again). Returns the claim's hits.
    pub(crate) async fn supervise_claim(
        &self,
        w: &mut WriteTx,
        claim_id: i64,
        region: AdminCode,
        visit: &Visit,
    ) -> Result<Vec<StoredHit>, StoreError> {
        let Some(found) = self.supervise(w, region, visit, None).await? else { return Ok(Vec::new()) };
        self.keep_hits(w, Subject::Claim(claim_id), region, found).await
    }

    /// Stores what was found on `subject` under `region`: its open hits are replaced (decided
    /// ones kept, and not found again). Returns the subject's hits.
    pub(crate) async fn keep_hits(
        &self,
        w: &mut WriteTx,
        subject: Subject,
        region: AdminCode,
        found: Found,
    ) -> Result<Vec<StoredHit>, StoreError> {
        let (column, subject_id) = subject.column();
        let decided: Vec<(String, String)> = sqlx::query_as(&format!(
            "SELECT rule_code, evidence FROM supervision_hits WHERE {column} = $1 AND state <> 'open'"
        ))
        .bind(subject_id)
        .fetch_all(&mut *w.tx)
        .await?;
        // An audit's finding (version 0) is not the rule base's to replace.
        sqlx::query(&format!(
            "DELETE FROM supervision_hits WHERE {column} = $1 AND state = 'open' AND rule_version > 0"
        ))
        .bind(subject_id)
        .execute(&mut *w.tx)
        .await?;
        for hit in found.hits {
            let evidence = serde_json::to_string(&hit.evidence).map_err(|e| corrupt("evidence", e))?;
            if decided.iter().any(|(code, ev)| *code == hit.rule && *ev == evidence) {
                continue;
            }
            self.add_hit(w, subject, region, found.version, &hit).await?;
        }
        let rows = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.{column} = $1 ORDER BY h.id"))
            .bind(subject_id)
            .fetch_all(&mut *w.tx)
            .await?;
        rows.iter().map(hit_from_row).collect()
    }

    /// Stores one open hit on `subject`, found by `version` of the rules (0: not the rule
    /// base's), in the audit log.
    pub(crate) async fn add_hit(
        &self,
        w: &mut WriteTx,
        subject: Subject,
        region: AdminCode,
        version: i64,
        hit: &Hit,
    ) -> Result<StoredHit, StoreError> {
        let (column, subject_id) = subject.column();
        let evidence = serde_json::to_string(&hit.evidence).map_err(|e| corrupt("evidence", e))?;
        let id: i64 = sqlx::query_scalar(&format!(
            "INSERT INTO supervision_hits ({column}, region, rule_code, rule_version, severity, evidence, zh, en, \
             state, found_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9) RETURNING id"
        ))
        .bind(subject_id)
        .bind(i64::from(region.value()))
        .bind(&hit.rule)
        .bind(version)
        .bind(severity_code(hit.severity))
        .bind(evidence)
        .bind(&hit.message.zh)
        .bind(&hit.message.en)
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let stored = self.hit_in(w, id).await?;
        w.record::<(), StoredHit>("supervision.hit", "supervision_hit", &id.to_string(), None, Some(&stored)).await?;
        Ok(stored)
    }

    async fn hit_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredHit, StoreError> {
        let row = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("supervision hit"))?;
        hit_from_row(&row)
    }

    /// The hits found on a claim or a settlement, oldest first.
    pub async fn hits_of(&self, subject: Subject) -> Result<Vec<StoredHit>, StoreError> {
        let (column, id) = subject.column();
        let rows = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.{column} = $1 ORDER BY h.id"))
            .bind(id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(hit_from_row).collect()
    }

    /// A claim's hits, oldest first.
    pub async fn claim_hits(&self, claim_id: i64) -> Result<Vec<StoredHit>, StoreError> {
        self.hits_of(Subject::Claim(claim_id)).await
    }

    pub async fn supervision_hit(&self, id: i64) -> Result<StoredHit, StoreError> {
        let row = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("supervision hit"))?;
        hit_from_row(&row)
    }

    /// Whether a claim has an open violation (违规), which keeps it from being approved.
    pub(crate) async fn open_violations_in(&self, w: &mut WriteTx, claim_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM supervision_hits WHERE claim_id = $1 AND state = 'open' AND severity = 'violation'",
        )
        .bind(claim_id)
        .fetch_one(&mut *w.tx)
        .await?)
    }

    /// A reviewer or auditor decides an open hit: cleared (in order) or confirmed (a fault,
    /// with what it costs), with a reason either way. A deduction (拒付) is taken from what the
    /// fund owes an institution, so only a direct settlement's hit may carry one; an amount is
    /// at most what the fund paid for the claim or settlement.
    pub async fn decide_hit(
        &self,
        w: &mut WriteTx,
        id: i64,
        decision: HitDecision,
        reason: &str,
    ) -> Result<StoredHit, StoreError> {
        let before = self.hit_in(w, id).await?;
        if before.state != HitState::Open {
            return Err(refuse("decided", "该疑点已处理", "this hit is decided already"));
        }
        queue::not_taken_by_another(w, &before)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "reason",
                "required",
                "请写明处理理由",
                "give the reason for the decision",
            )));
        }
        let (state, consequence, amount) = match decision {
            HitDecision::Clear => (HitState::Cleared, None, None),
            HitDecision::Confirm { consequence, amount } => {
                self.check_amount(w, &before, consequence, amount).await?;
                (HitState::Confirmed, Some(consequence.code()), Some(amount.fen()))
            }
        };
        let n = sqlx::query(
            "UPDATE supervision_hits SET state = $1, decided_by = $2, decided_at = $3, reason = $4, consequence = $5, \
             amount = $6 WHERE id = $7 AND state = 'open'",
        )
        .bind(state.code())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(reason.to_string())
        .bind(consequence)
        .bind(amount)
        .bind(id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("supervision hit"));
        }
        let after = self.hit_in(w, id).await?;
        w.record("supervision.decide", "supervision_hit", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn check_amount(
        &self,
        w: &mut WriteTx,
        hit: &StoredHit,
        consequence: Consequence,
        amount: Fen,
    ) -> Result<(), StoreError> {
        let invalid = |code: &'static str, zh: String, en: String| {
            Err(StoreError::Invalid(InvalidValue::new("amount", code, zh, en)))
        };
        if amount < Fen::ZERO {
            return invalid("negative", "金额不能为负".into(), "the amount cannot be negative".into());
        }
        match consequence {
            Consequence::None if amount != Fen::ZERO => {
                return invalid(
                    "not_zero",
                    "不扣款时金额应为 0".into(),
                    "with no amount to take back, the amount is 0".into(),
                )
            }
            Consequence::None => return Ok(()),
            Consequence::Deduct if hit.settlement_id.is_none() => {
                return Err(refuse(
                    "deduct_claim",
                    "拒付从定点机构的清算款中扣减，只适用于直接结算；零星报销请剔除明细或追回",
                    "a deduction is taken from an institution's clearing, so only from a direct settlement; \
                     for a claim exclude the lines or recover",
                ))
            }
            _ if amount == Fen::ZERO => {
                return invalid("zero", "请填写扣减或追回金额".into(), "give the amount to deduct or recover".into())
            }
            _ => {}
        }
        let paid: Option<i64> = match (hit.claim_id, hit.settlement_id) {
            (Some(claim), _) => {
                sqlx::query_scalar("SELECT fund_pay_sumamt FROM claims WHERE id = $1")
                    .bind(claim)
                    .fetch_one(&mut *w.tx)
                    .await?
            }
            (None, Some(settlement)) => {
                sqlx::query_scalar("SELECT fund_pay_sumamt FROM settlements WHERE id = $1 AND status = 'settled'")
                    .bind(settlement)
                    .fetch_optional(&mut *w.tx)
                    .await?
                    .flatten()
            }
            (None, None) => None,
        };
        let paid = Fen::from_fen(paid.unwrap_or(0));
        if amount > paid {
            return invalid(
                "above_fund",
                format!("金额不能超过基金支付的 {paid} 元"),
                format!("the amount cannot exceed the {paid} yuan the fund paid"),
            );
        }
        Ok(())
    }
}
