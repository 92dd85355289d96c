//! The machinery for data a domain keeps in memory because it is read on every request and
//! changes rarely (the rules in force, institutions' credentials). The domain owns its copy;
//! a write through this store that changes the data marks the copy stale with
//! [`WriteTx::forget`](super::WriteTx::forget), and it is forgotten when the write commits. A
//! change made by another process (a `yibao` command run beside the server) is seen within
//! [`RECHECK`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a cached value is used before the database is asked again.
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// An in-memory copy that a committed write makes stale.
pub(crate) trait Forget: Send + Sync + std::fmt::Debug {
    fn forget(&self);
}

/// Values by key, each used for [`RECHECK`] after it was read from the database.
pub(crate) struct Recent<K, V>(Mutex<HashMap<K, (Instant, V)>>);

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent(Mutex::new(HashMap::new()))
    }
}

impl<K, V> std::fmt::Debug for Recent<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent").finish_non_exhaustive()
    }
}

impl<K: Hash + Eq, V: Clone> Recent<K, V> {
    /// The value if it was read within [`RECHECK`].
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let kept = self.0.lock().ok()?;
        let (at, value) = kept.get(key)?;
        (at.elapsed() < RECHECK).then(|| value.clone())
    }

    pub(crate) fn put(&self, key: K, value: &V) {
        if let Ok(mut kept) = self.0.lock() {
            kept.insert(key, (Instant::now(), value.clone()));
        }
    }
}

impl<K: Send, V: Send> Forget for Recent<K, V> {
    fn forget(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.clear();
        }
    }
}
