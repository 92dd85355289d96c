//! What the platform interface reads on every request and changes rarely, kept in memory:
//! each institution's signing credentials, the sign-ins it has made, and the answers to
//! reading transactions not yet written.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::deferred::DeferredReplies;
use crate::db::cache::Recent;
use crate::registry::Institution;

/// Sign-ins remembered at most (they are never revoked; past this the set starts over).
const MAX_SIGN_INS: usize = 100_000;

/// An institution and its live credentials of one kind, or `None` for an unknown code.
pub(crate) type Credentials = Option<(Institution, Vec<String>)>;

#[derive(Debug, Default)]
pub(crate) struct PlatformMemory {
    /// By institution code and credential kind; forgotten when an institution or a
    /// credential changes.
    pub(crate) credentials: Arc<Recent<(String, &'static str), Credentials>>,
    pub(crate) sign_ins: SignIns,
    /// Written by the next commit (registered with the writer as its hook).
    pub(crate) deferred: Arc<DeferredReplies>,
}

/// (institution id, sign_no) of sign-ins known to exist.
#[derive(Debug, Default)]
pub(crate) struct SignIns(Mutex<HashSet<(i64, String)>>);

impl SignIns {
    pub(crate) fn contains(&self, institution_id: i64, sign_no: &str) -> bool {
        self.0.lock().is_ok_and(|s| s.contains(&(institution_id, sign_no.to_string())))
    }

    pub(crate) fn insert(&self, institution_id: i64, sign_no: &str) {
        if let Ok(mut s) = self.0.lock() {
            if s.len() >= MAX_SIGN_INS {
                s.clear();
            }
            s.insert((institution_id, sign_no.to_string()));
        }
    }
}
