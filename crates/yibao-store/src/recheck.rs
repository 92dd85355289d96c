//! A re-check of a period (事后复查): every direct settlement and every adjudicated claim of a
//! pooling region's persons in the period is checked again against the rule base in force —
//! after a new version, or for rules too slow to run at the counter. Open hits are replaced by
//! what is found now; decided ones are kept. It runs in batches, each its own write, so that
//! settlements go on between them; progress is reported after each batch.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use yibao_core::registry::HospitalGrade;
use yibao_core::supervise::outlier::{outliers, Case, FollowUp, Measure};
use yibao_core::supervise::RuleKind;
use yibao_core::{AdminCode, Fen, InvalidValue, Scope, Text};

use crate::db::query::{corrupt, region_from};
use crate::{Actor, Store, StoreError, WriteTx};

/// How many settlements or claims one write re-checks.
const BATCH: usize = 200;

/// What a re-check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecheckSummary {
    pub settlements: u64,
    pub claims: u64,
    /// Open hits of the region after the run.
    pub open_hits: i64,
    /// Institutions found far from their peers in the period (the outlier rules).
    pub outliers: u64,
}

/// An institution a re-check found far from its peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstitutionFinding {
    pub id: i64,
    pub region: AdminCode,
    pub rule_code: String,
    pub rule_version: i64,
    pub institution_code: String,
    pub grade: String,
    pub diagnosis_group: String,
    /// `cost_per_case` (yuan) or `length_of_stay` (days).
    pub measure: String,
    pub value: String,
    pub peers_median: String,
    pub score: String,
    pub cases: i64,
    pub peers: i64,
    pub period_from: String,
    pub period_to: String,
    pub message: Text,
    pub found_at: String,
    /// `open`, `cleared` or `confirmed`.
    pub state: String,
    /// Of a confirmed finding: what follows.
    pub follow_up: Option<FollowUp>,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

const FINDING_COLS: &str = "id, region, rule_code, rule_version, institution_code, grade, diagnosis_group, measure, \
    value, peers_median, score, cases, peers, period_from, period_to, zh, en, found_at, state, follow_up, reason, \
    decided_by, decided_at";

fn finding_from_row(r: &sqlx::any::AnyRow) -> Result<InstitutionFinding, StoreError> {
    let follow_up: Option<String> = r.try_get(19)?;
    Ok(InstitutionFinding {
        id: r.try_get(0)?,
        region: region_from(r.try_get(1)?)?,
        rule_code: r.try_get(2)?,
        rule_version: r.try_get(3)?,
        institution_code: r.try_get(4)?,
        grade: r.try_get(5)?,
        diagnosis_group: r.try_get(6)?,
        measure: r.try_get(7)?,
        value: r.try_get(8)?,
        peers_median: r.try_get(9)?,
        score: r.try_get(10)?,
        cases: r.try_get(11)?,
        peers: r.try_get(12)?,
        period_from: r.try_get(13)?,
        period_to: r.try_get(14)?,
        message: Text::new(r.try_get::<String, _>(15)?, r.try_get::<String, _>(16)?),
        found_at: r.try_get(17)?,
        state: r.try_get(18)?,
        follow_up: follow_up
            .map(|f| FollowUp::parse(&f).map_err(|_| corrupt("institution_findings.follow_up", &f)))
            .transpose()?,
        reason: r.try_get(20)?,
        decided_by: r.try_get(21)?,
        decided_at: r.try_get(22)?,
    })
}

impl Store {
    /// Re-checks the settlements settled and the claims cared for between `from` and `to` of
    /// the persons insured in the pooling region `region` (a prefecture); `progress(done,
    /// total)` is called after each batch.
    pub async fn recheck_supervision(
        &self,
        actor: &Actor,
        region: AdminCode,
        from: NaiveDate,
        to: NaiveDate,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RecheckSummary, StoreError> {
        let pool = region.prefecture();
        let (low, high) = (i64::from(pool.value()), i64::from(pool.value()) + 100);
        let mut conn = self.read_conn().await?;
        let settlements: Vec<i64> = sqlx::query_scalar(
            "SELECT s.id FROM settlements s JOIN persons p ON p.id = s.person_id WHERE s.status = 'settled' \
             AND s.setl_date >= $1 AND s.setl_date <= $2 AND p.insured_region >= $3 AND p.insured_region < $4 \
             ORDER BY s.id",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(low)
        .bind(high)
        .fetch_all(&mut conn)
        .await?;
        let claims: Vec<i64> = sqlx::query_scalar(
            "SELECT c.id FROM claims c JOIN persons p ON p.id = c.person_id \
             WHERE c.state IN ('adjudicated', 'in_review', 'second_review', 'approved', 'reduced') \
             AND c.care_end >= $1 AND c.care_end <= $2 AND p.insured_region >= $3 AND p.insured_region < $4 \
             ORDER BY c.id",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(low)
        .bind(high)
        .fetch_all(&mut conn)
        .await?;
        drop(conn);
        let total = (settlements.len() + claims.len()) as u64;
        let mut done = 0u64;
        progress(done, total);
        let work: Vec<(bool, i64)> =
            settlements.iter().map(|&id| (true, id)).chain(claims.iter().map(|&id| (false, id))).collect();
        for batch in work.chunks(BATCH) {
            let mut w = self.begin_write(actor).await?;
            for &(settlement, id) in batch {
                if settlement {
                    self.resupervise_settlement(&mut w, id).await?;
                } else {
                    self.resupervise_claim(&mut w, id).await?;
                }
            }
            w.commit().await?;
            done += batch.len() as u64;
            progress(done, total);
        }
        let found = self.find_outliers(actor, pool, from, to).await?;
        let open_hits: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM supervision_hits WHERE state = 'open' AND region >= $1 AND region < $2",
        )
        .bind(low)
        .bind(high)
        .fetch_one(&mut self.read_conn().await?)
        .await?;
        Ok(RecheckSummary {
            settlements: settlements.len() as u64,
            claims: claims.len() as u64,
            open_hits,
            outliers: found,
        })
    }

    /// Runs the outlier rules of `pool`'s rule base over the period's stays (settled direct
    /// settlements and claims of the region's persons, in hospital), replacing what an earlier
    /// run of the same period found. Returns how many institutions were found.
    async fn find_outliers(
        &self,
        actor: &Actor,
        pool: AdminCode,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u64, StoreError> {
        let Some(base) = self.rule_base(pool).await? else { return Ok(0) };
        let rules: Vec<_> = base
            .rules
            .iter()
            .filter_map(|r| match &r.kind {
                RuleKind::Outlier { measure, threshold, min_cases, min_peers } => {
                    Some((r.code.clone(), *measure, *threshold, *min_cases, *min_peers))
                }
                _ => None,
            })
            .collect();
        if rules.is_empty() {
            return Ok(0);
        }
        let cases = self.period_cases(pool, from, to).await?;
        let (low, high) = (i64::from(pool.value()), i64::from(pool.value()) + 100);
        let mut w = self.begin_write(actor).await?;
        sqlx::query(
            "DELETE FROM institution_findings WHERE region >= $1 AND region < $2 AND period_from = $3 \
             AND period_to = $4 AND state = 'open'",
        )
        .bind(low)
        .bind(high)
        .bind(from.to_string())
        .bind(to.to_string())
        .execute(&mut *w.tx)
        .await?;
        // What an auditor decided for the period is kept, and not found again.
        let decided: Vec<(String, String, String, String)> = sqlx::query(
            "SELECT rule_code, institution_code, diagnosis_group, measure FROM institution_findings \
             WHERE region >= $1 AND region < $2 AND period_from = $3 AND period_to = $4",
        )
        .bind(low)
        .bind(high)
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *w.tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_, StoreError>>()?;
        let mut n = 0u64;
        for (code, measure, threshold, min_cases, min_peers) in rules {
            for o in outliers(&cases, measure, threshold, min_cases as usize, min_peers as usize) {
                let measure_code = match o.measure {
                    Measure::CostPerCase => "cost_per_case",
                    Measure::LengthOfStay => "length_of_stay",
                };
                let key = (code.clone(), o.institution.clone(), o.group.clone(), measure_code.to_string());
                if decided.contains(&key) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO institution_findings (region, rule_code, rule_version, institution_code, grade, \
                     diagnosis_group, measure, value, peers_median, score, cases, peers, period_from, period_to, zh, en, \
                     found_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(i64::from(pool.value()))
                .bind(code.clone())
                .bind(i64::from(base.version))
                .bind(o.institution.clone())
                .bind(o.grade.code())
                .bind(o.group.clone())
                .bind(measure_code)
                .bind(o.value.round_dp(2).to_string())
                .bind(o.peers_median.round_dp(2).to_string())
                .bind(o.score.to_string())
                .bind(o.cases as i64)
                .bind(o.peers as i64)
                .bind(from.to_string())
                .bind(to.to_string())
                .bind(o.message.zh.clone())
                .bind(o.message.en.clone())
                .bind(w.at().to_string())
                .execute(&mut *w.tx)
                .await?;
                n += 1;
            }
        }
        let summary = serde_json::json!({ "region": pool.to_string(), "from": from, "to": to, "institutions": n });
        w.record::<(), _>("supervision.outliers", "institution_findings", &pool.to_string(), None, Some(&summary))
            .await?;
        w.commit().await?;
        Ok(n)
    }

    /// The period's stays of the pool's persons, as the outlier rule sees them.
    async fn period_cases(&self, pool: AdminCode, from: NaiveDate, to: NaiveDate) -> Result<Vec<Case>, StoreError> {
        let (low, high) = (i64::from(pool.value()), i64::from(pool.value()) + 100);
        let mut conn = self.read_conn().await?;
        let settled = sqlx::query(
            "SELECT i.code, i.grade, v.diagnoses, s.medfee_sumamt, v.begntime, s.setl_date FROM settlements s \
             JOIN visits v ON v.id = s.visit_id JOIN institutions i ON i.id = s.institution_id \
             JOIN persons p ON p.id = s.person_id WHERE s.status = 'settled' AND s.med_type = '21' \
             AND s.setl_date >= $1 AND s.setl_date <= $2 AND p.insured_region >= $3 AND p.insured_region < $4",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(low)
        .bind(high)
        .fetch_all(&mut conn)
        .await?;
        let day = |t: String| -> Result<NaiveDate, StoreError> { crate::supervision::day_of(&t) };
        let mut cases = Vec::new();
        for r in &settled {
            let diagnoses: Vec<serde_json::Value> =
                serde_json::from_str(&r.try_get::<String, _>(2)?).map_err(|e| corrupt("visits.diagnoses", e))?;
            let main = diagnoses
                .iter()
                .find(|d| d["main"].as_bool() == Some(true))
                .or(diagnoses.first())
                .and_then(|d| d["diag_code"].as_str())
                .unwrap_or_default();
            let grade: String = r.try_get(1)?;
            cases.push(Case {
                institution: r.try_get(0)?,
                grade: HospitalGrade::parse(&grade).map_err(|_| corrupt("institutions.grade", &grade))?,
                group: main.chars().take(3).collect(),
                cost: Fen::from_fen(r.try_get(3)?),
                days: (day(r.try_get(5)?)? - day(r.try_get(4)?)?).num_days().max(1),
            });
        }
        let claims = sqlx::query(
            "SELECT c.institution_code, c.hosp_lv, c.diagnoses, c.medfee_sumamt, c.care_start, c.care_end FROM claims c \
             JOIN persons p ON p.id = c.person_id WHERE c.med_type = '21' \
             AND c.state IN ('adjudicated', 'in_review', 'second_review', 'approved', 'reduced') \
             AND c.care_end >= $1 AND c.care_end <= $2 AND p.insured_region >= $3 AND p.insured_region < $4",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(low)
        .bind(high)
        .fetch_all(&mut conn)
        .await?;
        for r in &claims {
            let diagnoses: Vec<String> =
                serde_json::from_str(&r.try_get::<String, _>(2)?).map_err(|e| corrupt("claims.diagnoses", e))?;
            let grade: String = r.try_get(1)?;
            cases.push(Case {
                institution: r.try_get(0)?,
                grade: HospitalGrade::parse(&grade).map_err(|_| corrupt("claims.hosp_lv", &grade))?,
                group: diagnoses.first().map(|d| d.chars().take(3).collect()).unwrap_or_default(),
                cost: Fen::from_fen(r.try_get(3)?),
                days: (day(r.try_get(5)?)? - day(r.try_get(4)?)?).num_days().max(1),
            });
        }
        Ok(cases)
    }

    /// The institution findings of the regions in `scope`, the open ones and the latest
    /// period first.
    pub async fn institution_findings(&self, scope: &Scope, limit: i64) -> Result<Vec<InstitutionFinding>, StoreError> {
        let mut sql =
            crate::db::query::Sql::new(&format!("SELECT {FINDING_COLS} FROM institution_findings f WHERE 1 = 1"));
        sql.scope_filter("f.region", scope);
        let l = sql.arg(crate::db::query::Arg::I(limit.clamp(1, 500)));
        sql.text
            .push_str(&format!(" ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, period_to DESC, id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(finding_from_row).collect()
    }

    /// One institution finding.
    pub async fn institution_finding(&self, id: i64) -> Result<InstitutionFinding, StoreError> {
        let row = sqlx::query(&format!("SELECT {FINDING_COLS} FROM institution_findings WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("institution finding"))?;
        finding_from_row(&row)
    }

    /// An auditor decides an open finding: cleared (`follow_up` none) or confirmed with what
    /// follows, a reason required either way; in the audit log.
    pub async fn decide_institution_finding(
        &self,
        w: &mut WriteTx,
        id: i64,
        confirm: Option<FollowUp>,
        reason: &str,
    ) -> Result<InstitutionFinding, StoreError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "reason",
                "required",
                "请写明处理理由",
                "give the reason for the decision",
            )));
        }
        let (state, follow_up) = match confirm {
            Some(f) => ("confirmed", Some(f.code())),
            None => ("cleared", None),
        };
        let done = sqlx::query(
            "UPDATE institution_findings SET state = $1, follow_up = $2, reason = $3, decided_by = $4, \
             decided_at = $5 WHERE id = $6 AND state = 'open'",
        )
        .bind(state)
        .bind(follow_up)
        .bind(reason.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM institution_findings WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *w.tx)
                .await?;
            return Err(match exists {
                None => StoreError::NotFound("institution finding"),
                Some(_) => StoreError::Invalid(InvalidValue::new(
                    "state",
                    "decided",
                    "该异常已处理，不能再次处理",
                    "this finding is decided already",
                )),
            });
        }
        let row = sqlx::query(&format!("SELECT {FINDING_COLS} FROM institution_findings WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        let after = finding_from_row(&row)?;
        w.record::<(), _>("supervision.finding", "institution_finding", &id.to_string(), None, Some(&after)).await?;
        Ok(after)
    }
}
