//! The policies and catalogs in force, as the engine runs under them, kept in memory: every
//! settlement needs them and they change only by an import. The copy is loaded again when an
//! import has added a policy version or a catalog since it was loaded (a cheap check, made at
//! most once a second); an import through this store forgets it when it commits.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use yibao_core::catalog::Catalogs;
use yibao_core::policy::PolicySet;

use crate::db::cache::{Forget, RECHECK};
use crate::{Store, StoreError};

/// The policies and catalogs the engine runs under.
#[derive(Debug)]
pub struct Rules {
    pub policies: PolicySet,
    pub catalogs: Catalogs,
}

/// The rules with the import stamp they were loaded at and when the stamp was last checked.
type Entry = ((i64, i64), Instant, Arc<Rules>);

#[derive(Default)]
pub(crate) struct RulesCache(Mutex<Option<Entry>>);

impl std::fmt::Debug for RulesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesCache").finish_non_exhaustive()
    }
}

impl RulesCache {
    /// The cached rules if their stamp was checked within [`RECHECK`].
    fn fresh(&self) -> Option<Arc<Rules>> {
        let cached = self.0.lock().ok()?;
        let (_, checked, rules) = cached.as_ref()?;
        (checked.elapsed() < RECHECK).then(|| Arc::clone(rules))
    }

    /// The cached rules if they were loaded at `stamp` (marking the stamp checked now).
    fn at(&self, stamp: (i64, i64)) -> Option<Arc<Rules>> {
        let mut cached = self.0.lock().ok()?;
        let (s, checked, rules) = cached.as_mut()?;
        if *s != stamp {
            return None;
        }
        *checked = Instant::now();
        Some(Arc::clone(rules))
    }

    fn put(&self, stamp: (i64, i64), rules: &Arc<Rules>) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((stamp, Instant::now(), Arc::clone(rules)));
        }
    }
}

impl Forget for RulesCache {
    fn forget(&self) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = None;
        }
    }
}

impl Store {
    /// The policies and catalogs in force, loaded once and loaded again only when an
    /// import has added a policy version or a catalog since (a cheap check, made at most
    /// once a second; an import through this store is seen at once).
    pub async fn rules(&self) -> Result<Arc<Rules>, StoreError> {
        if let Some(rules) = self.rules_cache.fresh() {
            return Ok(rules);
        }
        let stamp: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM policies), (SELECT COALESCE(MAX(id), 0) FROM catalog_imports)",
        )
        .fetch_one(&self.db.pool)
        .await?;
        if let Some(rules) = self.rules_cache.at(stamp) {
            return Ok(rules);
        }
        let rules = Arc::new(Rules { policies: self.load_policies().await?, catalogs: self.load_catalogs().await? });
        self.rules_cache.put(stamp, &rules);
        Ok(rules)
    }
}
