//! The audit log: each change a [`WriteTx`] makes records an entry linked to the one before;
//! the batch's commit moves the head (see `write.rs`). The change and its audit entries
//! commit together or not at all.

use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::Row;
use yibao_core::audit::{entry_hash, AuditEntry, AuditKey, ChainBreak, ChainVerifier};

use super::{Db, StoreError, WriteTx};

/// Who is acting, for the audit log: `account:12 (clerk01)`, `institution:H62030200001`,
/// `system:seed-demo`; and the request that carried it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub label: String,
    pub request_id: String,
}

impl Actor {
    pub fn system(what: &str) -> Actor {
        Actor { label: format!("system:{what}"), request_id: String::new() }
    }
}

impl WriteTx {
    /// Appends an audit entry for a change. `before`/`after` are serialised to JSON
    /// (`None` for creation or deletion).
    pub async fn record<B: Serialize, A: Serialize>(
        &mut self,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<&B>,
        after: Option<&A>,
    ) -> Result<(), StoreError> {
        let before = self.audit_json(before)?;
        let after = self.audit_json(after)?;
        let seq = self.last_seq + 1;
        let hash = entry_hash(
            self.audit_key(),
            &self.last_hash,
            seq,
            &self.at,
            &self.actor.label,
            action,
            entity,
            entity_id,
            &before,
            &after,
            &self.actor.request_id,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, before_data, after_data, \
             request_id, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(seq)
        .bind(&self.at)
        .bind(&self.actor.label)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(&before)
        .bind(&after)
        .bind(&self.actor.request_id)
        .bind(&self.last_hash)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        self.last_seq = seq;
        self.last_hash = hash;
        Ok(())
    }
}

impl WriteTx {
    /// Audit data as JSON text, its card digests keyed; absent data (before a creation,
    /// after a deletion) is empty.
    fn audit_json<T: Serialize>(&self, value: Option<&T>) -> Result<String, StoreError> {
        let bad = |e: serde_json::Error| StoreError::Corrupt(format!("cannot serialise audit data: {e}"));
        let Some(value) = value else { return Ok(String::new()) };
        let text = serde_json::to_string(value).map_err(bad)?;
        match self.card_salt() {
            Some(salt) if text.contains("\"sha256\":") => {
                let mut v: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
                yibao_core::bank_card::key_digests(&mut v, salt);
                serde_json::to_string(&v).map_err(bad)
            }
            _ => Ok(text),
        }
    }
}

/// A secret of the audit machinery sealed under `key` for the database.
pub(crate) fn sealed(key: &AuditKey, secret: &[u8]) -> String {
    let mut nonce = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
    key.seal(&hex::encode(secret), nonce)
}

/// What re-keying also re-seals inside its transaction (the secrets domains keep sealed).
pub(crate) type Reseal<'a> =
    Box<dyn for<'c> FnOnce(&'c mut sqlx::AnyConnection) -> BoxFuture<'c, Result<(), StoreError>> + Send + 'a>;

/// The result of `yibao audit verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerification {
    pub entries: i64,
    pub first_break: Option<ChainBreak>,
}

impl Db {
    /// Whether any entry records `action`.
    pub async fn audit_has_action(&self, action: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT seq FROM audit_log WHERE action = $1 LIMIT 1")
            .bind(action)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Walks the whole audit log in order and reports the first tampered, missing or
    /// mislinked entry.
    pub async fn verify_audit_log(&self) -> Result<AuditVerification, StoreError> {
        let key = self.writer.audit_key.clone();
        let head = sqlx::query("SELECT last_seq, key_id FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        let (head_seq, key_id): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        let expected = key.as_ref().map(|k| k.id().to_string()).unwrap_or_default();
        if key_id != expected {
            let first_break = ChainBreak::WrongKey { expected, found: key_id };
            return Ok(AuditVerification { entries: 0, first_break: Some(first_break) });
        }
        let mut verifier = ChainVerifier::new(key);
        let mut after = 0i64;
        let mut entries = 0i64;
        loop {
            let batch = self.audit_entries_after(after, 5_000).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            for entry in &batch {
                if let Err(first_break) = verifier.check(entry) {
                    return Ok(AuditVerification { entries, first_break: Some(first_break) });
                }
                entries += 1;
            }
        }
        let first_break = verifier.finish(head_seq).err();
        Ok(AuditVerification { entries, first_break })
    }

    /// Keys the audit chain with the configured key: verifies it as it is now (unkeyed, or
    /// keyed with `old`), then re-hashes every entry under the configured key and records the
    /// key's id. An unkeyed log with entries is keyed only in an `upgrade` (the schema came
    /// from before keys in this very process); otherwise it was rewritten, and is refused. Run
    /// where nothing else writes (at start, or with the server stopped). Returns how many
    /// entries were re-hashed (none when the chain is keyed with the key already).
    /// The card salt and `reseal`'s secrets are sealed again under the configured key in
    /// the same transaction.
    pub async fn key_audit_log(
        &self,
        old: Option<&AuditKey>,
        upgrade: bool,
        reseal: Reseal<'_>,
    ) -> Result<i64, StoreError> {
        let Some(key) = self.writer.audit_key.clone() else {
            return Err(StoreError::Config("no audit key is configured".into()));
        };
        let mut tx = self.pool.begin().await?;
        let head = sqlx::query("SELECT last_seq, key_id FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let (head_seq, key_id): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        if key_id == key.id() {
            // Secrets a process without the key stored in plain text are sealed all the same.
            reseal(&mut tx).await?;
            tx.commit().await?;
            return Ok(0);
        }
        let old_id = old.map(|k| k.id().to_string()).unwrap_or_default();
        if key_id.is_empty() && old.is_none() && !upgrade && head_seq > 0 {
            // Keying an unkeyed log with entries is the one-time upgrade of a database from
            // before keys; any other time the log was rewritten without the key (and keying
            // it would launder the rewrite).
            return Err(StoreError::Corrupt(
                "the audit log is not keyed although a key is configured: it was rewritten without the key".into(),
            ));
        }
        if key_id != old_id {
            return Err(StoreError::Config(format!(
                "the audit log is keyed with key \"{key_id}\"; give that key as the old one to re-key it"
            )));
        }
        let rows = sqlx::query(&format!("SELECT {AUDIT_COLS} FROM audit_log ORDER BY seq")).fetch_all(&mut *tx).await?;
        let entries = rows.iter().map(audit_from_row).collect::<Result<Vec<_>, _>>()?;
        let mut verifier = ChainVerifier::new(old.cloned());
        for e in &entries {
            verifier.check(e).map_err(|b| StoreError::Corrupt(format!("the audit log does not verify: {b}")))?;
        }
        verifier.finish(head_seq).map_err(|b| StoreError::Corrupt(format!("the audit log does not verify: {b}")))?;
        let mut prev = yibao_core::audit::GENESIS.to_string();
        for mut e in entries.clone() {
            e.prev_hash = prev;
            e.hash = e.computed_hash(Some(&key));
            sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .bind(e.seq)
                .execute(&mut *tx)
                .await?;
            prev = e.hash;
        }
        self.reseal_card_salt(&mut tx, &key, old).await?;
        reseal(&mut tx).await?;
        sqlx::query("UPDATE audit_head SET last_hash = $1, key_id = $2 WHERE id = 1")
            .bind(&prev)
            .bind(key.id())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(entries.len() as i64)
    }

    /// Loads the salt card digests in audit entries are keyed with (sealed in the audit head
    /// under the audit key), making one where there is none yet. Without an audit key, or
    /// with the salt sealed under another key (before a rotation re-seals it), digests stay
    /// unkeyed.
    pub(crate) async fn load_card_salt(&self) -> Result<(), StoreError> {
        let Some(key) = self.writer.audit_key.clone() else { return Ok(()) };
        let stored: String =
            sqlx::query_scalar("SELECT card_salt FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        if stored.is_empty() {
            let mut salt = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
            // Only where none was made meanwhile (another process starting at once).
            sqlx::query("UPDATE audit_head SET card_salt = $1 WHERE id = 1 AND card_salt = ''")
                .bind(sealed(&key, &salt))
                .execute(&self.pool)
                .await?;
            return Box::pin(self.load_card_salt()).await;
        }
        if let Some(salt) = key.open(&stored).and_then(|hex| hex::decode(hex).ok()) {
            let _ = self.writer.card_salt.set(salt);
        }
        Ok(())
    }

    /// Seals the card salt under `key` (from `old` in a rotation), in `tx`.
    async fn reseal_card_salt(
        &self,
        tx: &mut sqlx::AnyConnection,
        key: &AuditKey,
        old: Option<&AuditKey>,
    ) -> Result<(), StoreError> {
        let stored: String =
            sqlx::query_scalar("SELECT card_salt FROM audit_head WHERE id = 1").fetch_one(&mut *tx).await?;
        if stored.is_empty() || key.open(&stored).is_some() {
            return Ok(());
        }
        let salt = old
            .and_then(|k| k.open(&stored))
            .and_then(|hex| hex::decode(hex).ok())
            .ok_or_else(|| StoreError::Corrupt("the card salt is sealed under an unknown key".into()))?;
        sqlx::query("UPDATE audit_head SET card_salt = $1 WHERE id = 1")
            .bind(sealed(key, &salt))
            .execute(&mut *tx)
            .await?;
        let _ = self.writer.card_salt.set(salt);
        Ok(())
    }

    /// The salt card digests are keyed with, if loaded.
    pub(crate) fn card_salt(&self) -> Option<&[u8]> {
        self.writer.card_salt.get().map(Vec::as_slice)
    }

    /// Audit entries with `seq > after`, oldest first.
    pub async fn audit_entries_after(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, entity, entity_id, before_data, after_data, request_id, prev_hash, hash \
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// The newest audit entries, optionally for one entity, newest first.
    pub async fn recent_audit_entries(
        &self,
        entity: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let cols = "seq, at, actor, action, entity, entity_id, before_data, after_data, request_id, prev_hash, hash";
        let rows = match entity {
            Some((entity, id)) => {
                sqlx::query(&format!(
                    "SELECT {cols} FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY seq DESC LIMIT $3"
                ))
                .bind(entity)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {cols} FROM audit_log ORDER BY seq DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }

    /// For tests (of tamper detection) and benchmarks only: runs raw SQL against the database.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    /// For benchmarks only: runs one read statement on the connection the platform
    /// interface's point reads use (for SQLite, on the calling thread).
    #[doc(hidden)]
    pub async fn read_raw(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(&mut self.read_conn().await?).await?.rows_affected())
    }
}

const AUDIT_COLS: &str =
    "seq, at, actor, action, entity, entity_id, before_data, after_data, request_id, prev_hash, hash";

pub(crate) fn audit_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        entity: r.try_get(4)?,
        entity_id: r.try_get(5)?,
        before: r.try_get(6)?,
        after: r.try_get(7)?,
        request_id: r.try_get(8)?,
        prev_hash: r.try_get(9)?,
        hash: r.try_get(10)?,
    })
}
