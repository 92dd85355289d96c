//! Storage for the national platform interface: institutions' signing secrets, 9001
//! sign-ins, and the answered messages that make a retried `msgid` get the same answer.

use rand::RngCore;
use yibao_core::audit::AuditKey;

mod deferred;
mod memory;

pub(crate) use memory::PlatformMemory;

use deferred::{Deferred, Pushed, DEFER_AT_MOST};
use memory::Credentials;

use crate::db::Conn;
use crate::registry::Institution;
use crate::{Store, StoreError, WriteTx};

/// A message answered before: the digest of its request and the answer given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    pub request_sha256: String,
    pub response: String,
}

impl Store {
    /// Issues a new signing secret to an institution (its earlier ones stay valid until
    /// revoked, so a hospital can roll over). Returned once, to hand to the hospital.
    pub async fn issue_platform_secret(&self, w: &mut WriteTx, institution_id: i64) -> Result<String, StoreError> {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = hex::encode(bytes);
        self.issue_known_platform_secret(w, institution_id, &secret).await?;
        Ok(secret)
    }

    /// Issues a secret with a known value (the demo seed and tests, so documentation can
    /// name it).
    pub async fn issue_known_platform_secret(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        secret: &str,
    ) -> Result<(), StoreError> {
        w.forget(self.platform.credentials.clone());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO platform_credentials (institution_id, secret, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(institution_id)
        .bind(self.sealed(secret))
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        // The audit log names the credential, never the secret.
        let after = serde_json::json!({ "institution_id": institution_id });
        w.record::<(), _>("platform_secret.issue", "platform_credential", &id.to_string(), None, Some(&after)).await?;
        Ok(())
    }

    /// Registers an institution's SM2 public key (hex SEC1), for requests signed with
    /// `signtype` SM2; its HMAC secrets stay valid.
    pub async fn register_platform_public_key(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        public_key_hex: &str,
    ) -> Result<(), StoreError> {
        let key = public_key_hex.trim().to_ascii_lowercase();
        yibao_core::platform::check_sm2_public_key(&key).map_err(|r| {
            StoreError::Invalid(yibao_core::InvalidValue::new("public_key", r.code, r.message.zh, r.message.en))
        })?;
        w.forget(self.platform.credentials.clone());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO platform_credentials (institution_id, secret, created_at, kind) \
             VALUES ($1, $2, $3, 'sm2_public_key') RETURNING id",
        )
        .bind(institution_id)
        .bind(key.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let after = serde_json::json!({ "institution_id": institution_id, "sm2_public_key": key });
        w.record::<(), _>("platform_key.register", "platform_credential", &id.to_string(), None, Some(&after)).await
    }

    /// Revokes every live HMAC secret of an institution but the newest (the end of a
    /// roll-over: the hospital has switched to the new one). Returns how many were revoked.
    pub async fn revoke_older_platform_secrets(&self, w: &mut WriteTx, institution_id: i64) -> Result<u64, StoreError> {
        w.forget(self.platform.credentials.clone());
        let n = sqlx::query(
            "UPDATE platform_credentials SET revoked_at = $1 WHERE institution_id = $2 AND kind = 'hmac_secret' \
             AND revoked_at IS NULL AND id < (SELECT MAX(id) FROM platform_credentials WHERE institution_id = $2 \
             AND kind = 'hmac_secret' AND revoked_at IS NULL)",
        )
        .bind(w.at().to_string())
        .bind(institution_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        let after = serde_json::json!({ "institution_id": institution_id, "revoked": n });
        w.record::<(), _>(
            "platform_secret.revoke_older",
            "institution",
            &institution_id.to_string(),
            None,
            Some(&after),
        )
        .await?;
        Ok(n)
    }

    /// How an institution signs: (live HMAC secrets with when each was issued, its SM2
    /// public keys), newest first. The secrets themselves are never shown again.
    pub async fn platform_credential_summary(
        &self,
        institution_id: i64,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT kind, secret, created_at FROM platform_credentials WHERE institution_id = $1 \
             AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(institution_id)
        .fetch_all(&self.db.pool)
        .await?;
        let secrets = rows.iter().filter(|(k, _, _)| k == "hmac_secret").map(|(_, _, at)| at.clone()).collect();
        let keys = rows.iter().filter(|(k, _, _)| k == "sm2_public_key").map(|(_, key, _)| key.clone()).collect();
        Ok((secrets, keys))
    }

    /// A signing secret as the database keeps it: sealed under the key kept outside the
    /// database (plain only where no key is configured: tests, benchmarks), so that a copy of
    /// the database does not give the secrets away.
    fn sealed(&self, secret: &str) -> String {
        match self.db.audit_key() {
            Some(key) => {
                let mut nonce = [0u8; 12];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
                key.seal(secret, nonce)
            }
            None => secret.to_string(),
        }
    }

    /// A stored secret read back (see [`Store::sealed`]).
    fn unsealed(&self, stored: &str) -> Result<String, StoreError> {
        if !stored.starts_with(yibao_core::audit::SEALED) {
            return Ok(stored.to_string());
        }
        let key =
            self.db.audit_key().ok_or_else(|| StoreError::Config("a sealed secret needs the audit key".into()))?;
        key.open(stored).ok_or_else(|| StoreError::Corrupt("a platform secret sealed under another key".into()))
    }

    /// Seals every signing secret kept in plain text (a database from before keys), or, with
    /// `old`, sealed under the old key (rotation), under the configured key, on `conn` (inside
    /// the re-keying's transaction).
    pub(crate) async fn seal_platform_secrets(
        &self,
        conn: &mut sqlx::AnyConnection,
        old: Option<&AuditKey>,
    ) -> Result<(), StoreError> {
        let Some(key) = self.db.audit_key() else { return Ok(()) };
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, secret FROM platform_credentials WHERE kind = 'hmac_secret' ORDER BY id")
                .fetch_all(&mut *conn)
                .await?;
        for (id, stored) in rows {
            let plain = if !stored.starts_with(yibao_core::audit::SEALED) {
                stored
            } else if key.open(&stored).is_some() {
                continue;
            } else {
                old.and_then(|k| k.open(&stored)).ok_or_else(|| {
                    StoreError::Corrupt(format!("platform secret {id} is sealed under an unknown key"))
                })?
            };
            sqlx::query("UPDATE platform_credentials SET secret = $1 WHERE id = $2")
                .bind(self.sealed(&plain))
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// The institution with this code and its live HMAC signing secrets, newest first.
    pub async fn platform_secrets(&self, code: &str) -> Result<Option<(Institution, Vec<String>)>, StoreError> {
        self.platform_credentials(code, "hmac_secret").await
    }

    /// The institution with this code and its live SM2 public keys (hex), newest first.
    pub async fn platform_public_keys(&self, code: &str) -> Result<Option<(Institution, Vec<String>)>, StoreError> {
        self.platform_credentials(code, "sm2_public_key").await
    }

    /// Kept for a second (see `memory.rs`): every request of the interface needs them.
    async fn platform_credentials(&self, code: &str, kind: &'static str) -> Result<Credentials, StoreError> {
        if let Some(cached) = self.platform.credentials.get(&(code.to_string(), kind)) {
            return Ok(cached);
        }
        let institution = match self.institution_by_code(code).await {
            Ok(i) => i,
            Err(StoreError::NotFound(_)) => {
                self.platform.credentials.put((code.to_string(), kind), &None);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT secret FROM platform_credentials WHERE institution_id = $1 AND kind = $2 AND revoked_at IS NULL \
             ORDER BY id DESC",
        )
        .bind(institution.id)
        .bind(kind.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        let values = stored.iter().map(|v| self.unsealed(v)).collect::<Result<Vec<_>, _>>()?;
        let found = Some((institution, values));
        self.platform.credentials.put((code.to_string(), kind), &found);
        Ok(found)
    }

    /// The answer already given to `msgid` from this institution, if any.
    pub async fn platform_reply(&self, institution_id: i64, msgid: &str) -> Result<Option<StoredReply>, StoreError> {
        if let Some(reply) = self.platform.deferred.find(institution_id, msgid) {
            return Ok(Some(reply));
        }
        reply_of(&mut self.read_conn().await?, institution_id, msgid).await
    }

    /// Records the answer to a transaction that only read (1101, 2303, 3201, 3202) with the
    /// next commit, without a write of its own and without waiting for it: the answer
    /// changed nothing, so were it lost in a crash, a retry would only be answered afresh.
    /// Until it is written, [`Store::platform_reply`] finds it here; if this process has no
    /// write to commit soon, a write of nothing commits it. Returns the answer already
    /// given to the same `msgid`, if a retry arrived first.
    pub fn defer_platform_reply(
        &self,
        institution_id: i64,
        msgid: &str,
        infno: &str,
        reply: StoredReply,
    ) -> Option<StoredReply> {
        let entry = Deferred {
            institution_id,
            msgid: msgid.to_string(),
            infno: infno.to_string(),
            reply,
            received_at: crate::now_text(),
        };
        match self.platform.deferred.push(entry) {
            Pushed::Earlier(reply) => Some(reply),
            Pushed::Added { first } => {
                if first {
                    let (store, msgid) = (self.clone(), msgid.to_string());
                    tokio::spawn(
                        async move { store.flush_deferred_after(DEFER_AT_MOST, institution_id, &msgid).await },
                    );
                }
                None
            }
        }
    }

    /// Commits the deferred answers after `delay` if no other write has written the one to
    /// `msgid` by then.
    async fn flush_deferred_after(&self, delay: std::time::Duration, institution_id: i64, msgid: &str) {
        tokio::time::sleep(delay).await;
        if self.platform.deferred.find(institution_id, msgid).is_none() {
            return;
        }
        let flushed = async {
            let w = self.begin_write(&crate::Actor::system("platform")).await?;
            w.commit().await
        }
        .await;
        if let Err(error) = flushed {
            tracing::warn!(%error, "the answers to reading transactions were not written yet");
        }
    }

    /// As [`Store::platform_reply`], seen from inside a write: also an answer recorded by an
    /// earlier write of the same batch, not committed yet.
    pub async fn platform_reply_in(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        msgid: &str,
    ) -> Result<Option<StoredReply>, StoreError> {
        if let Some(reply) = self.platform.deferred.find(institution_id, msgid) {
            return Ok(Some(reply));
        }
        reply_of(&mut w.tx, institution_id, msgid).await
    }

    /// Records the answer to a message in the transaction that did its work. A concurrent
    /// retry that recorded first makes this fail with `Duplicate { what: "msgid" }`, so the
    /// caller rolls back its work and returns the stored answer instead.
    pub async fn record_platform_reply(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        msgid: &str,
        infno: &str,
        reply: &StoredReply,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO platform_messages ({MESSAGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(institution_id)
            .bind(msgid.to_string())
            .bind(infno.to_string())
            .bind(reply.request_sha256.clone())
            .bind(reply.response.clone())
            .bind(w.at().to_string())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "msgid"))?;
        Ok(())
    }

    /// 9001: signs an operator in; the sign-in number goes on every later transaction.
    pub async fn platform_sign_in(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        opter: &str,
        stamp: &str,
    ) -> Result<String, StoreError> {
        let mut bytes = [0u8; 4];
        rand::thread_rng().fill_bytes(&mut bytes);
        let sign_no = format!("{stamp}{:010}", u32::from_be_bytes(bytes));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO platform_sign_ins (sign_no, institution_id, opter, signed_in_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(sign_no.clone())
        .bind(institution_id)
        .bind(opter.to_string())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "sign_no"))?;
        let after = serde_json::json!({ "sign_no": sign_no, "institution_id": institution_id, "opter": opter });
        w.record::<(), _>("platform.sign_in", "platform_sign_in", &id.to_string(), None, Some(&after)).await?;
        Ok(sign_no)
    }

    /// Whether `sign_no` is a sign-in of this institution.
    pub async fn platform_signed_in(&self, institution_id: i64, sign_no: &str) -> Result<bool, StoreError> {
        if self.platform.sign_ins.contains(institution_id, sign_no) {
            return Ok(true);
        }
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM platform_sign_ins WHERE sign_no = $1 AND institution_id = $2")
                .bind(sign_no.to_string())
                .bind(institution_id)
                .fetch_optional(&self.db.pool)
                .await?;
        if found.is_some() {
            self.platform.sign_ins.insert(institution_id, sign_no);
        }
        Ok(found.is_some())
    }
}

async fn reply_of(conn: &mut Conn, institution_id: i64, msgid: &str) -> Result<Option<StoredReply>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT request_sha256, response FROM platform_messages WHERE institution_id = $1 AND msgid = $2",
    )
    .bind(institution_id)
    .bind(msgid.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(request_sha256, response)| StoredReply { request_sha256, response }))
}

/// The columns an answered message is stored with, in the order both inserts bind them.
const MESSAGE_COLS: &str = "institution_id, msgid, infno, request_sha256, response, received_at";
