//! The auditor's queue (稽核): the open hits of their regions, oldest first, to be taken
//! (领取) so that two auditors do not work on one hit; a hit taken is decided only by whoever
//! took it, until they let it go. Every take and release is in the audit log.

use yibao_core::Scope;

use super::{hit_from_row, refuse, HitState, StoredHit, HIT_COLS, HIT_FROM};
use crate::db::query::{Arg, Sql};
use crate::{Store, StoreError, WriteTx};

/// Which of a region's open hits a queue lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitQueue {
    All,
    /// Those nobody has taken.
    Untaken,
    /// Those taken by this account label.
    TakenBy(String),
}

/// Refuses to let anyone but the auditor who took a hit decide it.
pub(super) fn not_taken_by_another(w: &WriteTx, hit: &StoredHit) -> Result<(), StoreError> {
    match &hit.taken_by {
        Some(by) if *by != w.actor().label => Err(taken(by)),
        _ => Ok(()),
    }
}

fn taken(by: &str) -> StoreError {
    refuse("taken", &format!("该疑点已由 {by} 领取"), &format!("{by} has taken this hit"))
}

impl Store {
    /// Open hits of the regions in `scope` in `queue`, oldest first, at most `limit`.
    pub async fn open_hits_in(
        &self,
        scope: &Scope,
        queue: &HitQueue,
        limit: i64,
    ) -> Result<Vec<StoredHit>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {HIT_COLS} FROM {HIT_FROM} WHERE h.state = 'open'"));
        sql.scope_filter("h.region", scope);
        match queue {
            HitQueue::All => {}
            HitQueue::Untaken => sql.text.push_str(" AND h.taken_by IS NULL"),
            HitQueue::TakenBy(label) => {
                let by = sql.arg(Arg::S(label.clone()));
                sql.text.push_str(&format!(" AND h.taken_by = {by}"));
            }
        }
        let l = sql.arg(Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY h.id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(hit_from_row).collect()
    }

    /// The auditor takes an open hit (`take`), or lets go of one they took.
    pub async fn take_hit(&self, w: &mut WriteTx, id: i64, take: bool) -> Result<StoredHit, StoreError> {
        let before = self.hit_in(w, id).await?;
        if before.state != HitState::Open {
            return Err(refuse("decided", "该疑点已处理", "this hit is decided already"));
        }
        let me = w.actor().label.clone();
        let (by, at, action) = match (take, before.taken_by.as_deref()) {
            (true, Some(by)) if by != me => return Err(taken(by)),
            (false, Some(by)) if by == me => (None, None, "supervision.release"),
            (false, _) => return Err(refuse("not_taken", "您没有领取该疑点", "you have not taken this hit")),
            (true, _) => (Some(me.clone()), Some(w.at().to_string()), "supervision.take"),
        };
        let done = sqlx::query(
            "UPDATE supervision_hits SET taken_by = $1, taken_at = $2 WHERE id = $3 AND state = 'open' \
             AND (taken_by IS NULL OR taken_by = $4)",
        )
        .bind(by)
        .bind(at)
        .bind(id)
        .bind(me)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("supervision hit"));
        }
        let after = self.hit_in(w, id).await?;
        w.record(action, "supervision_hit", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }
}
