//! Files a person chose in a form that was refused, held by their digest for their session, so
//! that fixing one mistake does not mean choosing every file again: the bytes are in the blob
//! store (content-addressed, as documents are); this remembers which digests the session may
//! name again, and under what file name, for two hours.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const KEEP: Duration = Duration::from_secs(2 * 3600);
/// At most this many files held per session (the oldest go first).
const PER_SESSION: usize = 40;

#[derive(Debug, Default)]
pub struct HeldUploads(Mutex<HashMap<String, Vec<Held>>>);

#[derive(Debug, Clone)]
struct Held {
    digest: String,
    file_name: String,
    at: Instant,
}

/// A file's digest, as the blob store names it.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl HeldUploads {
    /// Holds `digest` (stored already) as `file_name` for `session`.
    pub fn hold(&self, session: &str, digest: &str, file_name: &str) {
        let mut all = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        all.retain(|_, held| {
            held.retain(|h| now.duration_since(h.at) < KEEP);
            !held.is_empty()
        });
        let mine = all.entry(session.to_string()).or_default();
        mine.retain(|h| h.digest != digest || h.file_name != file_name);
        mine.push(Held { digest: digest.to_string(), file_name: file_name.to_string(), at: now });
        if mine.len() > PER_SESSION {
            mine.remove(0);
        }
    }

    /// The file name `session` chose `digest` under — `wanted` where it chose it under that
    /// name (one file may be chosen for several papers) — if it holds it still.
    pub fn file_name(&self, session: &str, digest: &str, wanted: &str) -> Option<String> {
        let all = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let held: Vec<&Held> =
            all.get(session)?.iter().filter(|h| h.digest == digest && now.duration_since(h.at) < KEEP).collect();
        held.iter().find(|h| h.file_name == wanted).or(held.first()).map(|h| h.file_name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_held_for_its_own_session_only() {
        let held = HeldUploads::default();
        let d = digest(b"invoice");
        held.hold("session-a", &d, "invoice.pdf");
        held.hold("session-a", &d, "copy.pdf");
        assert_eq!(held.file_name("session-a", &d, "invoice.pdf").as_deref(), Some("invoice.pdf"));
        assert_eq!(held.file_name("session-a", &d, "copy.pdf").as_deref(), Some("copy.pdf"), "the same bytes twice");
        assert_eq!(held.file_name("session-b", &d, "invoice.pdf"), None, "another session cannot name it");
        assert_eq!(held.file_name("session-a", &digest(b"other"), "invoice.pdf"), None);
    }
}
