//! What the platform interface reads on every request and changes rarely, kept in memory:
//! the policies and catalogs in force, each institution's signing credentials, and the
//! sign-ins it has made.
//!
//! A write through this store that changes one of them forgets it when it commits (see
//! [`WriteTx::forget`]); a change made by another process (a `yibao` command run beside the
//! server) is seen within [`RECHECK`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::registry::Institution;
use crate::settlement::Rules;

/// How long a cached value is used before the database is asked again.
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// Sign-ins remembered at most (they are never revoked; past this the set starts over).
const MAX_SIGN_INS: usize = 100_000;

/// What a commit makes stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// Policies, catalogs (the import stamp).
    Rules,
    /// Institutions and their platform credentials.
    Credentials,
}

pub(crate) type Credentials = Option<(Institution, Vec<String>)>;

type RulesEntry = ((i64, i64), Instant, Arc<Rules>);
type CredentialsEntry = (Instant, Credentials);

#[derive(Default)]
pub(crate) struct Caches {
    /// The rules with the import stamp they were loaded at and when the stamp was last checked.
    rules: Mutex<Option<RulesEntry>>,
    /// By institution code and credential kind.
    credentials: Mutex<HashMap<(String, &'static str), CredentialsEntry>>,
    /// (institution id, sign_no) of sign-ins known to exist.
    sign_ins: Mutex<HashSet<(i64, String)>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").finish_non_exhaustive()
    }
}

impl Caches {
    /// The cached rules if their stamp was checked within [`RECHECK`].
    pub(crate) fn fresh_rules(&self) -> Option<Arc<Rules>> {
        let cached = self.rules.lock().ok()?;
        let (_, checked, rules) = cached.as_ref()?;
        (checked.elapsed() < RECHECK).then(|| Arc::clone(rules))
    }

    /// The cached rules if they were loaded at `stamp` (marking the stamp checked now).
    pub(crate) fn rules_at(&self, stamp: (i64, i64)) -> Option<Arc<Rules>> {
        let mut cached = self.rules.lock().ok()?;
        let (s, checked, rules) = cached.as_mut()?;
        if *s != stamp {
            return None;
        }
        *checked = Instant::now();
        Some(Arc::clone(rules))
    }

    pub(crate) fn put_rules(&self, stamp: (i64, i64), rules: &Arc<Rules>) {
        if let Ok(mut cached) = self.rules.lock() {
            *cached = Some((stamp, Instant::now(), Arc::clone(rules)));
        }
    }

    pub(crate) fn credentials(&self, code: &str, kind: &'static str) -> Option<Credentials> {
        let cached = self.credentials.lock().ok()?;
        let (at, value) = cached.get(&(code.to_string(), kind))?;
        (at.elapsed() < RECHECK).then(|| value.clone())
    }

    pub(crate) fn put_credentials(&self, code: &str, kind: &'static str, value: &Credentials) {
        if let Ok(mut cached) = self.credentials.lock() {
            cached.insert((code.to_string(), kind), (Instant::now(), value.clone()));
        }
    }

    pub(crate) fn signed_in(&self, institution_id: i64, sign_no: &str) -> bool {
        self.sign_ins.lock().is_ok_and(|s| s.contains(&(institution_id, sign_no.to_string())))
    }

    pub(crate) fn put_sign_in(&self, institution_id: i64, sign_no: &str) {
        if let Ok(mut s) = self.sign_ins.lock() {
            if s.len() >= MAX_SIGN_INS {
                s.clear();
            }
            s.insert((institution_id, sign_no.to_string()));
        }
    }

    pub(crate) fn forget(&self, what: Cached) {
        match what {
            Cached::Rules => {
                if let Ok(mut cached) = self.rules.lock() {
                    *cached = None;
                }
            }
            Cached::Credentials => {
                if let Ok(mut cached) = self.credentials.lock() {
                    cached.clear();
                }
            }
        }
    }
}
