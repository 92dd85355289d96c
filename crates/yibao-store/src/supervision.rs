//! Supervision (智能监管) in the store: each region's rule base by version, and what it finds
//! on a claim when the engine adjudicates it (`yibao_core::supervise` does the finding). A hit
//! is open until a reviewer or an auditor clears it with a reason or confirms it; an open
//! violation (违规) keeps its claim from being approved. Every import and decision is audited.
//!
//! This module reads the person's other stays from the claims and settlements tables itself,
//! so that it depends on neither domain (the claims domain calls it).

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::supervise::{check, RuleBase, Severity, Visit};
use yibao_core::{AdminCode, InvalidValue, Scope, Text};

use crate::db::query::corrupt;
use crate::{Store, StoreError, WriteTx};

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

/// A hit as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredHit {
    pub id: i64,
    pub claim_id: i64,
    /// The claim's number.
    pub claim_number: String,
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
}

const HIT_COLS: &str = "h.id, h.claim_id, h.region, h.rule_code, h.rule_version, h.severity, h.evidence, h.zh, \
    h.en, h.state, h.found_at, h.decided_by, h.decided_at, h.reason, c.number";
const HIT_FROM: &str = "supervision_hits h JOIN claims c ON c.id = h.claim_id";

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
        claim_number: r.try_get(14)?,
    })
}

fn refuse(code: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(InvalidValue::new("supervision", code, zh, en))
}

/// The day of a stored date or date-time text (`2026-03-02` or `2026-03-02 08:00:00`).
fn day_of(text: &str) -> Result<NaiveDate, StoreError> {
    text.get(..10).and_then(|d| d.parse().ok()).ok_or_else(|| corrupt("date", text))
}

impl Store {
    /// Imports a region's rule base document (validated: every problem named with its path),
    /// as a version above the region's newest.
    pub async fn import_rule_base(&self, w: &mut WriteTx, text: &str) -> Result<RuleBase, StoreError> {
        let base = RuleBase::parse(text).map_err(|errors| {
            let (zh, en): (Vec<String>, Vec<String>) = errors
                .iter()
                .map(|e| (format!("{}：{}", e.path, e.message.zh), format!("{}: {}", e.path, e.message.en)))
                .unzip();
            StoreError::Invalid(InvalidValue::new("rule_base", "invalid", zh.join("；"), en.join("; ")))
        })?;
        let region: AdminCode = base.region.parse()?;
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM supervision_rule_bases WHERE region = $1")
                .bind(i64::from(region.value()))
                .fetch_one(&mut *w.tx)
                .await?;
        if newest.is_some_and(|v| i64::from(base.version) <= v) {
            return Err(StoreError::Invalid(InvalidValue::new(
                "version",
                "not_newer",
                format!("版本号须大于现行版本 {}", newest.unwrap_or_default()),
                format!("the version must be above the one in force, {}", newest.unwrap_or_default()),
            )));
        }
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
        Ok(base)
    }

    /// The rule base in force in `region` (its newest version), if any.
    pub async fn rule_base(&self, region: AdminCode) -> Result<Option<RuleBase>, StoreError> {
        let text: Option<String> = sqlx::query_scalar(
            "SELECT document FROM supervision_rule_bases WHERE region = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(i64::from(region.value()))
        .fetch_optional(&self.db.pool)
        .await?;
        text.map(|t| RuleBase::parse(&t).map_err(|_| corrupt("supervision_rule_bases.document", "invalid"))).transpose()
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
    ) -> Result<Vec<yibao_core::supervise::Hit>, StoreError> {
        let Some(mut base) = self.rule_base(region).await? else { return Ok(Vec::new()) };
        if !rules.is_empty() {
            base.rules.retain(|r| rules.contains(&r.code));
        }
        let mut others = Vec::new();
        if person_known {
            let mut conn = self.read_conn().await?;
            others = claim_stays(&mut conn, visit.person_id, &visit.id).await?;
            others.extend(settled_stays(&mut conn, visit.person_id, &visit.id).await?);
        }
        Ok(check(&base, visit, &others))
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
        let Some(base) = self.rule_base(region.prefecture()).await? else { return Ok(Vec::new()) };
        let mut others = claim_stays(&mut *w.tx, visit.person_id, &visit.id).await?;
        others.extend(settled_stays(&mut *w.tx, visit.person_id, "").await?);
        let decided: Vec<(String, String)> =
            sqlx::query_as("SELECT rule_code, evidence FROM supervision_hits WHERE claim_id = $1 AND state <> 'open'")
                .bind(claim_id)
                .fetch_all(&mut *w.tx)
                .await?;
        sqlx::query("DELETE FROM supervision_hits WHERE claim_id = $1 AND state = 'open'")
            .bind(claim_id)
            .execute(&mut *w.tx)
            .await?;
        for hit in check(&base, visit, &others) {
            let evidence = serde_json::to_string(&hit.evidence).map_err(|e| corrupt("evidence", e))?;
            if decided.iter().any(|(code, ev)| *code == hit.rule && *ev == evidence) {
                continue;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO supervision_hits (claim_id, region, rule_code, rule_version, severity, evidence, zh, en, \
                 state, found_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9) RETURNING id",
            )
            .bind(claim_id)
            .bind(i64::from(region.value()))
            .bind(&hit.rule)
            .bind(i64::from(base.version))
            .bind(severity_code(hit.severity))
            .bind(evidence)
            .bind(&hit.message.zh)
            .bind(&hit.message.en)
            .bind(w.at().to_string())
            .fetch_one(&mut *w.tx)
            .await?;
            let stored = self.hit_in(w, id).await?;
            w.record::<(), StoredHit>("supervision.hit", "supervision_hit", &id.to_string(), None, Some(&stored))
                .await?;
        }
        self.hits_of_claim_in(w, claim_id).await
    }

    async fn hit_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredHit, StoreError> {
        let row = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("supervision hit"))?;
        hit_from_row(&row)
    }

    async fn hits_of_claim_in(&self, w: &mut WriteTx, claim_id: i64) -> Result<Vec<StoredHit>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.claim_id = $1 ORDER BY h.id"))
            .bind(claim_id)
            .fetch_all(&mut *w.tx)
            .await?;
        rows.iter().map(hit_from_row).collect()
    }

    /// A claim's hits, oldest first.
    pub async fn claim_hits(&self, claim_id: i64) -> Result<Vec<StoredHit>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.claim_id = $1 ORDER BY h.id"))
            .bind(claim_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(hit_from_row).collect()
    }

    pub async fn supervision_hit(&self, id: i64) -> Result<StoredHit, StoreError> {
        let row = sqlx::query(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("supervision hit"))?;
        hit_from_row(&row)
    }

    /// Open hits of the regions in `scope`, oldest first (an auditor's queue).
    pub async fn open_hits_in(&self, scope: &Scope, limit: i64) -> Result<Vec<StoredHit>, StoreError> {
        let mut sql = crate::db::query::Sql::new(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.state = 'open'"));
        sql.scope_filter("h.region", scope);
        let l = sql.arg(crate::db::query::Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY h.id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(hit_from_row).collect()
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

    /// A reviewer or auditor decides an open hit: cleared (in order) or confirmed (a fault),
    /// with a reason either way.
    pub async fn decide_hit(
        &self,
        w: &mut WriteTx,
        id: i64,
        clear: bool,
        reason: &str,
    ) -> Result<StoredHit, StoreError> {
        let before = self.hit_in(w, id).await?;
        if before.state != HitState::Open {
            return Err(refuse("decided", "该疑点已处理", "this hit is decided already"));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "reason",
                "required",
                "请写明处理理由",
                "give the reason for the decision",
            )));
        }
        let state = if clear { HitState::Cleared } else { HitState::Confirmed };
        let n = sqlx::query(
            "UPDATE supervision_hits SET state = $1, decided_by = $2, decided_at = $3, reason = $4 \
             WHERE id = $5 AND state = 'open'",
        )
        .bind(state.code())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(reason.to_string())
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
}

/// The person's claims other than `except` (a claim's number), not withdrawn or rejected, as
/// the rules see them (without lines).
async fn claim_stays<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    person_id: i64,
    except: &str,
) -> Result<Vec<Visit>, StoreError> {
    let claims = sqlx::query(
        "SELECT c.number, c.institution_code, c.med_type, c.care_start, c.care_end, c.diagnoses, p.sex, \
         p.birth_date FROM claims c JOIN persons p ON p.id = c.person_id WHERE c.person_id = $1 \
         AND c.state NOT IN ('withdrawn', 'rejected') AND c.number <> $2",
    )
    .bind(person_id)
    .bind(except.to_string())
    .fetch_all(e)
    .await?;
    let mut stays = Vec::new();
    for r in &claims {
        let diagnoses: Vec<String> =
            serde_json::from_str(&r.try_get::<String, _>(5)?).map_err(|e| corrupt("claims.diagnoses", e))?;
        stays.push(stay_from_row(r, person_id, diagnoses.into_iter().next().unwrap_or_default())?);
    }
    Ok(stays)
}

/// The person's settled direct settlements other than visit `except` (a `mdtrt_id`), as the
/// rules see them (without lines).
async fn settled_stays<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    person_id: i64,
    except: &str,
) -> Result<Vec<Visit>, StoreError> {
    let settled = sqlx::query(
        "SELECT s.setl_id, i.code, s.med_type, v.begntime, s.setl_date, v.diagnoses, p.sex, p.birth_date \
         FROM settlements s JOIN visits v ON v.id = s.visit_id JOIN institutions i ON i.id = s.institution_id \
         JOIN persons p ON p.id = s.person_id WHERE s.person_id = $1 AND s.status = 'settled' \
         AND COALESCE(v.mdtrt_id, '') <> $2",
    )
    .bind(person_id)
    .bind(except.to_string())
    .fetch_all(e)
    .await?;
    let mut stays = Vec::new();
    for r in &settled {
        let diagnoses: Vec<serde_json::Value> =
            serde_json::from_str(&r.try_get::<String, _>(5)?).map_err(|e| corrupt("visits.diagnoses", e))?;
        let main = diagnoses
            .iter()
            .find(|d| d["main"].as_bool() == Some(true))
            .or(diagnoses.first())
            .and_then(|d| d["diag_code"].as_str())
            .unwrap_or_default()
            .to_string();
        stays.push(stay_from_row(r, person_id, main)?);
    }
    Ok(stays)
}

/// A stay from a row of (number, institution code, med_type, first day, last day, diagnoses,
/// sex, birth date), without lines.
fn stay_from_row(r: &AnyRow, person_id: i64, main_diagnosis: String) -> Result<Visit, StoreError> {
    Ok(Visit {
        id: r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
        person_id,
        sex: sex_of(&r.try_get::<String, _>(6)?),
        birth_date: day_of(&r.try_get::<String, _>(7)?)?,
        institution: r.try_get(1)?,
        inpatient: r.try_get::<String, _>(2)? == "21",
        admitted: day_of(&r.try_get::<String, _>(3)?)?,
        discharged: day_of(&r.try_get::<String, _>(4)?)?,
        main_diagnosis,
        lines: Vec::new(),
    })
}

fn sex_of(code: &str) -> yibao_core::Sex {
    if code == "female" {
        yibao_core::Sex::Female
    } else {
        yibao_core::Sex::Male
    }
}
