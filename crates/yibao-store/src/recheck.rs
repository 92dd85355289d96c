//! A re-check of a period (事后复查): every direct settlement and every adjudicated claim of a
//! pooling region's persons in the period is checked again against the rule base in force —
//! after a new version, or for rules too slow to run at the counter. Open hits are replaced by
//! what is found now; decided ones are kept. It runs in batches, each its own write, so that
//! settlements go on between them; progress is reported after each batch.

use chrono::NaiveDate;
use serde::Serialize;
use yibao_core::AdminCode;

use crate::{Actor, Store, StoreError};

/// How many settlements or claims one write re-checks.
const BATCH: usize = 200;

/// What a re-check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecheckSummary {
    pub settlements: u64,
    pub claims: u64,
    /// Open hits of the region after the run.
    pub open_hits: i64,
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
        let open_hits: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM supervision_hits WHERE state = 'open' AND region >= $1 AND region < $2",
        )
        .bind(low)
        .bind(high)
        .fetch_one(&mut self.read_conn().await?)
        .await?;
        Ok(RecheckSummary { settlements: settlements.len() as u64, claims: claims.len() as u64, open_hits })
    }
}
