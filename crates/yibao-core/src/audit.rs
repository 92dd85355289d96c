//! The audit log's hash chain. Each entry's hash covers its content and the previous
//! entry's hash, so editing, removing or reordering any entry breaks every hash after it.
//!
//! The hash is keyed (HMAC-SHA-256) with an [`AuditKey`] kept outside the database: whoever
//! can write the database but not read the key cannot recompute the chain after an edit.
//! Without a key (tests, benchmarks) it is a plain SHA-256 chain.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The secret the audit chain is keyed with, and its id (a fingerprint, recorded with the
/// chain so that a verification names the key it needs).
#[derive(Clone)]
pub struct AuditKey {
    id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    /// The shortest secret accepted, in bytes.
    pub const MIN_BYTES: usize = 32;

    /// A key from its secret; `None` if the secret is shorter than [`Self::MIN_BYTES`].
    pub fn new(secret: Vec<u8>) -> Option<AuditKey> {
        if secret.len() < Self::MIN_BYTES {
            return None;
        }
        let mut h = Sha256::new();
        h.update(b"yibao audit key id\0");
        h.update(&secret);
        let id = hex::encode(&h.finalize()[..8]);
        Some(AuditKey { id, secret })
    }

    /// A key from a key file's text: the secret in hex (at least 64 hex digits).
    pub fn parse(text: &str) -> Result<AuditKey, String> {
        let secret = hex::decode(text.trim()).map_err(|e| format!("the audit key is not hex: {e}"))?;
        AuditKey::new(secret).ok_or_else(|| format!("the audit key is shorter than {} bytes", Self::MIN_BYTES))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key of its own for `purpose`, derived from this one (HMAC-SHA-256 of the purpose).
    fn derived(&self, purpose: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) {
            mac.update(purpose.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// `plain` encrypted (AES-256-GCM under a key derived from this one for secrets) with the
    /// caller's random `nonce`: `sealed1:` and the nonce and ciphertext in hex. What the
    /// database keeps of a secret yibao must read back (a hospital's signing secret).
    pub fn seal(&self, plain: &str, nonce: [u8; 12]) -> String {
        use aes_gcm::aead::{Aead, KeyInit};
        let cipher = aes_gcm::Aes256Gcm::new(&self.derived("yibao stored secrets").into());
        // INVARIANT: encrypting into memory cannot fail.
        let sealed = cipher.encrypt(&nonce.into(), plain.as_bytes()).unwrap_or_default();
        format!("{SEALED}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// The text [`AuditKey::seal`] sealed; `None` if it was sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        use aes_gcm::aead::{Aead, KeyInit};
        let bytes = hex::decode(sealed.strip_prefix(SEALED)?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, data) = bytes.split_at(12);
        let cipher = aes_gcm::Aes256Gcm::new(&self.derived("yibao stored secrets").into());
        let plain = cipher.decrypt(aes_gcm::Nonce::from_slice(nonce), data).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// How a sealed value begins (see [`AuditKey::seal`]).
pub const SEALED: &str = "sealed1:";

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored. `before`/`after` are canonical JSON text (or empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: String,
    pub after: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

/// One field an audited step changed, as its before and after data show it (`""` where the
/// field was absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The top-level fields whose values differ between an entry's before and after data (JSON
/// objects; anything else counts as having no fields; an absent field is null), by field
/// name, then the fields only the before data had. A text value reads without its quotes;
/// any other value as JSON.
pub fn changed_fields(before: &str, after: &str) -> Vec<FieldChange> {
    fn fields(json: &str) -> Vec<(String, serde_json::Value)> {
        match serde_json::from_str::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
            _ => Vec::new(),
        }
    }
    fn text(v: Option<&serde_json::Value>) -> String {
        match v {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
    let (was, now) = (fields(before), fields(after));
    let find =
        |list: &[(String, serde_json::Value)], k: &str| list.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let mut out = Vec::new();
    for (k, v) in &now {
        let old = find(&was, k).unwrap_or(serde_json::Value::Null);
        if old != *v {
            out.push(FieldChange { field: k.clone(), before: text(Some(&old)), after: text(Some(v)) });
        }
    }
    for (k, v) in was.iter().filter(|(k, v)| find(&now, k).is_none() && !v.is_null()) {
        out.push(FieldChange { field: k.clone(), before: text(Some(v)), after: String::new() });
    }
    out
}

/// The entities whose `name` fields name an organisation or a member of staff, not an
/// insured person.
const NOT_PERSONS: &[&str] =
    &["account", "institution", "employer", "payment_batch", "clearing", "api_key", "platform_credential"];

/// An entry's before or after data as someone who may not see persons whole reads it: every ID
/// number and phone number masked wherever it stands, and the name fields of an entity about
/// a person masked too (「张*」). Anything that is not JSON is withheld.
pub fn masked_data(entity: &str, json: &str) -> String {
    fn walk(v: &mut serde_json::Value, names: bool) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, field) in m.iter_mut() {
                    if let serde_json::Value::String(text) = field {
                        if names && (k == "name" || k.ends_with("_name")) {
                            if let Ok(n) = text.parse::<crate::PersonName>() {
                                *text = n.masked();
                            }
                        }
                    }
                    walk(field, names);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, names)),
            serde_json::Value::String(text) => {
                if let Ok(id) = text.parse::<crate::ResidentId>() {
                    *text = id.masked();
                } else if let Ok(phone) = text.parse::<crate::PhoneNumber>() {
                    *text = phone.masked();
                }
            }
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut v) => {
            walk(&mut v, !NOT_PERSONS.contains(&entity));
            v.to_string()
        }
        Err(_) if json.trim().is_empty() => String::new(),
        Err(_) => "\"…\"".to_string(),
    }
}

/// The hash of an entry's content linked to `prev_hash`, keyed with `key` (HMAC-SHA-256) or,
/// without one, plain SHA-256. The fields are encoded as a JSON array, which is unambiguous
/// however the texts are chosen.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    key: Option<&AuditKey>,
    prev_hash: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: &str,
    after: &str,
    request_id: &str,
) -> String {
    let seq = seq.to_string();
    let fields = [prev_hash, &seq, at, actor, action, entity, entity_id, before, after, request_id];
    // INVARIANT: serialising an array of strings cannot fail.
    let encoded = serde_json::to_vec(&fields).unwrap_or_default();
    match key.and_then(|k| Hmac::<Sha256>::new_from_slice(&k.secret).ok()) {
        Some(mut mac) => {
            mac.update(&encoded);
            hex::encode(mac.finalize().into_bytes())
        }
        None => hex::encode(Sha256::digest(&encoded)),
    }
}

impl AuditEntry {
    pub fn computed_hash(&self, key: Option<&AuditKey>) -> String {
        entry_hash(
            key,
            &self.prev_hash,
            self.seq,
            &self.at,
            &self.actor,
            &self.action,
            &self.entity,
            &self.entity_id,
            &self.before,
            &self.after,
            &self.request_id,
        )
    }
}

/// Where a chain first goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry's content no longer matches its hash.
    Tampered { seq: i64 },
    /// The entry does not link to the hash of the entry before it.
    BrokenLink { seq: i64 },
    /// An entry with this sequence number is missing.
    Missing { seq: i64 },
    /// The chain ends before the recorded head: entries were cut off the end.
    Truncated { expected_last: i64, found_last: i64 },
    /// The chain is not keyed with the configured key (`found` is the key id it records, empty
    /// for an unkeyed chain): rewritten without the key, or keyed with another one.
    WrongKey { expected: String, found: String },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::Tampered { seq } => write!(f, "entry {seq} was altered (its hash does not match its content)"),
            ChainBreak::BrokenLink { seq } => {
                write!(f, "entry {seq} does not link to the entry before it")
            }
            ChainBreak::Missing { seq } => write!(f, "entry {seq} is missing"),
            ChainBreak::Truncated { expected_last, found_last } => {
                write!(f, "the log ends at entry {found_last} but the head records entry {expected_last}")
            }
            ChainBreak::WrongKey { expected, found } if found.is_empty() => {
                write!(
                    f,
                    "the log is not keyed, but the key {expected} is configured: it was rewritten without the key"
                )
            }
            ChainBreak::WrongKey { expected, found } => {
                write!(f, "the log is keyed with key {found}, not the configured key {expected}")
            }
        }
    }
}

/// Incremental verifier: feed entries in sequence order, then `finish` with the head.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    key: Option<AuditKey>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier::new(None)
    }
}

impl ChainVerifier {
    /// A verifier of a chain keyed with `key` (or unkeyed).
    pub fn new(key: Option<AuditKey>) -> ChainVerifier {
        Self { expected_seq: 1, prev_hash: GENESIS.to_string(), key }
    }

    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        if entry.seq != self.expected_seq {
            return Err(ChainBreak::Missing { seq: self.expected_seq });
        }
        if entry.computed_hash(self.key.as_ref()) != entry.hash {
            return Err(ChainBreak::Tampered { seq: entry.seq });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(ChainBreak::BrokenLink { seq: entry.seq });
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&entry.hash);
        Ok(())
    }

    /// `head_seq` is the last sequence number the log's head records.
    pub fn finish(self, head_seq: i64) -> Result<i64, ChainBreak> {
        let found_last = self.expected_seq - 1;
        if found_last != head_seq {
            return Err(ChainBreak::Truncated { expected_last: head_seq, found_last });
        }
        Ok(found_last)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn data_about_a_person_is_masked_for_those_who_may_not_see_it_whole() {
        let person = r#"{"name":"张三","resident_id":"620302198506120036","phone":"13993512345","delegates":[{"delegate_name":"李四","delegate_resident_id":"620302198506120036"}],"insured_region":"620302"}"#;
        let m = masked_data("person", person);
        assert!(!m.contains("620302198506120036") && !m.contains("13993512345"), "{m}");
        assert!(!m.contains("张三") && !m.contains("李四"), "{m}");
        assert!(m.contains("6203**********0036") && m.contains("620302"), "{m}");
        let account = r#"{"display_name":"受理窗口 王芳","name":"王芳"}"#;
        assert!(masked_data("account", account).contains("王芳"), "staff names stay");
        assert_eq!(masked_data("x", ""), "");
        assert_eq!(masked_data("x", "not json"), "\"…\"");
    }

    #[test]
    fn the_fields_a_step_changed() {
        let before = r#"{"status":"active","failed_logins":3,"scope":["620300"],"gone":"x"}"#;
        let after = r#"{"status":"disabled","failed_logins":3,"scope":["620302"],"note":null}"#;
        let c = changed_fields(before, after);
        let got: Vec<_> = c.iter().map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str())).collect();
        assert_eq!(
            got,
            [("scope", "[\"620300\"]", "[\"620302\"]"), ("status", "active", "disabled"), ("gone", "x", "")],
            "by name; a null that was absent is no change"
        );
        let created = changed_fields("", r#"{"id":7}"#);
        assert_eq!(created, [FieldChange { field: "id".into(), before: String::new(), after: "7".into() }]);
        assert!(changed_fields(after, after).is_empty());
    }

    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: format!("2026-11-23T08:00:{seq:02}Z"),
                    actor: "account:1".into(),
                    action: "person.update".into(),
                    entity: "person".into(),
                    entity_id: seq.to_string(),
                    before: r#"{"phone":"13800000000"}"#.into(),
                    after: r#"{"phone":"13900000000"}"#.into(),
                    request_id: format!("req-{seq}"),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.computed_hash(None);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: i64) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5), 5), Ok(5));
        assert_eq!(verify(&[], 0), Ok(0));
    }

    #[test]
    fn every_kind_of_damage_is_found_at_the_right_entry() {
        let mut c = chain(5);
        c[2].after = r#"{"phone":"13700000000"}"#.into();
        assert_eq!(verify(&c, 5), Err(ChainBreak::Tampered { seq: 3 }));

        // Re-hashing the edited entry is caught by the next link.
        c[2].hash = c[2].computed_hash(None);
        assert_eq!(verify(&c, 5), Err(ChainBreak::BrokenLink { seq: 4 }));

        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c, 5), Err(ChainBreak::Missing { seq: 2 }));

        let mut c = chain(5);
        c.pop();
        assert_eq!(verify(&c, 5), Err(ChainBreak::Truncated { expected_last: 5, found_last: 4 }));
    }

    #[test]
    fn a_keyed_chain_cannot_be_recomputed_without_the_key() {
        let key = AuditKey::new(vec![7; 32]).unwrap();
        let mut prev = GENESIS.to_string();
        let mut c = chain(3);
        for e in &mut c {
            e.prev_hash = prev.clone();
            e.hash = e.computed_hash(Some(&key));
            prev = e.hash.clone();
        }
        let keyed = |c: &[AuditEntry]| {
            let mut v = ChainVerifier::new(Some(key.clone()));
            c.iter().try_for_each(|e| v.check(e))
        };
        assert_eq!(keyed(&c), Ok(()));
        // An edit re-hashed and re-linked without the key (plain SHA-256) is found.
        c[1].after = r#"{"phone":"13700000000"}"#.into();
        c[1].hash = c[1].computed_hash(None);
        c[2].prev_hash = c[1].hash.clone();
        c[2].hash = c[2].computed_hash(None);
        assert_eq!(keyed(&c), Err(ChainBreak::Tampered { seq: 2 }));
        assert!(AuditKey::new(vec![1; 31]).is_none(), "too short");
        // Secrets sealed under the key open only with it, and not when altered.
        let sealed = key.seal("yb_demo_secret", [3; 12]);
        assert!(sealed.starts_with(SEALED) && !sealed.contains("yb_demo"), "{sealed}");
        assert_eq!(key.open(&sealed).as_deref(), Some("yb_demo_secret"));
        assert_eq!(AuditKey::new(vec![8; 32]).unwrap().open(&sealed), None, "another key");
        let mut altered = sealed.clone();
        altered.replace_range(sealed.len() - 2.., "00");
        assert_eq!(key.open(&altered), None, "altered");
        assert_eq!(AuditKey::parse(&"ab".repeat(32)).unwrap().id().len(), 16);
    }
}
