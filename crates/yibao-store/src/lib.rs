//! yibao's storage: one implementation over sqlx's `Any` driver that serves SQLite (the
//! embedded default) and PostgreSQL (production). Queries are written once, with `$n`
//! placeholders that both backends accept; the schema is written once, with a few tokens
//! the migration runner fills in per backend.
//!
//! Every write that a person or institution makes goes through a [`WriteTx`], which appends
//! to the hash-chained audit log in the same database transaction as the change.

mod accounts;
mod audit;
mod cache;
mod claims;
mod cover;
pub mod demo;
mod demo_catalog;
mod direct;
mod documents;
mod error;
mod migrate;
mod payments;
mod platform;
mod registry;
mod rules;
mod settlement;
pub mod synthetic;
pub mod testing;
mod visits;
mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use accounts::{
    validate_password, Account, ApiKeyOwner, LoginOutcome, NewAccount, SessionInfo, LOCKOUT_MINUTES, MAX_FAILED_LOGINS,
};
pub use audit::{Actor, AuditVerification};
pub use cache::Cached;
pub use claims::{
    ClaimDocument, ClaimEvent, ClaimInput, ClaimSummary, Delegation, InvoiceInput, StoredClaim, StoredClaimLine,
    SubmittedBy,
};
pub use cover::{
    Card, CoverReport, NoCardCertificate, Referral, ReferralInput, StoredFiling, MAX_REFERRAL_DAYS, NO_CARD_DAYS,
};
pub use demo_catalog::demo_catalog_csv;
pub use documents::{BlobStore, Document, LocalBlobs};
pub use error::StoreError;
pub use payments::{BatchItem, ImportSummary, Payee, PaymentBatch, PaymentOrder};
pub use platform::StoredReply;
pub use registry::{
    Employer, EmployerInput, Institution, InstitutionInput, Page, Person, PersonInput, PersonQuery, RecordVersion,
};
pub use rules::{
    policy_errors_as_invalid, CalendarImport, CatalogImport, PolicySummary, Rejected, StoredEntry, StoredPolicy,
};
pub use settlement::{
    AccountEntry, FeeUpload, IndividualAccount, Reconciliation, Rules, SettleRequest, Settlement, SettlementStatus,
    StoredFee, VisitSnapshot,
};
pub use visits::{Admission, Diagnosis, DirectCover, Visit, VisitStatus};
pub use write::{WriteStats, WriteTx};
pub use yibao_core::sporadic::ItemisedLine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Rules, credentials and sign-ins the platform interface reads on every request.
    caches: Arc<cache::Caches>,
    /// One write at a time in this process, committed in batches (see [`Store::begin_write`]).
    writer: Arc<write::Writer>,
    /// The SQLite database's file, which the writer opens directly (see `direct.rs`); `None`
    /// for PostgreSQL and for a database in memory.
    sqlite_file: Option<std::path::PathBuf>,
    /// Its readers that run on the calling thread (SQLite files only).
    readers: Arc<direct::Readers>,
}

/// How to connect. `schema` (PostgreSQL only) isolates a test in its own schema.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    pub max_connections: u32,
    pub schema: Option<String>,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 8, schema: None }
    }
}

impl Store {
    /// Connects (creating a SQLite file if needed). Does not migrate; see [`Store::migrate`].
    pub async fn connect(config: &StoreConfig) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if config.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL \"{}\": use sqlite://FILE or postgres://...",
                redact(&config.url)
            )));
        };
        let mut url = config.url.clone();
        if backend == Backend::Sqlite && !url.contains("mode=") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("bad database URL {}: {e}", redact(&config.url))))?;
        let sqlite_file = match backend {
            Backend::Sqlite => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                    .map_err(|e| StoreError::Config(format!("bad database URL {}: {e}", redact(&config.url))))?;
                let file = options.get_filename();
                let in_memory =
                    url.contains("mode=memory") || file.as_os_str().is_empty() || file.as_os_str() == ":memory:";
                (!in_memory).then(|| file.to_path_buf())
            }
            Backend::Postgres => None,
        };
        let schema = config.schema.clone();
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            // WAL for concurrent readers, FULL so nothing acknowledged is lost.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                        }
                        Backend::Postgres => {
                            if let Some(schema) = schema {
                                conn.execute(format!("SET search_path TO \"{schema}\"").as_str()).await?;
                            }
                        }
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            backend,
            caches: Arc::default(),
            writer: Arc::default(),
            sqlite_file,
            readers: Arc::default(),
        })
    }

    /// A read of several statements that sees one consistent state (a snapshot), outside
    /// any write. Dropped, it ends (it changes nothing).
    pub(crate) async fn begin_read(&self) -> Result<write::Conn, StoreError> {
        if let Some(file) = &self.sqlite_file {
            return Ok(write::Conn::DirectRead(self.readers.lease(file, true)?));
        }
        let begin = match self.backend {
            // In WAL mode a deferred transaction reads one snapshot from its first read.
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        Ok(write::Conn::Read(self.pool.begin_with(begin).await?))
    }

    /// A connection for a read of one statement (or of several that need not agree).
    pub(crate) async fn read_conn(&self) -> Result<write::Conn, StoreError> {
        Ok(match &self.sqlite_file {
            Some(file) => write::Conn::DirectRead(self.readers.lease(file, false)?),
            None => write::Conn::Pooled(self.pool.acquire().await?),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every migration not yet applied. Safe to run at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&self.pool, self.backend, None).await
    }

    /// Applies the migrations up to `version` only: tests of an upgrade start from an
    /// older schema with data in it.
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        migrate::run(&self.pool, self.backend, Some(version)).await
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether no registry data exists yet (then the demo may be seeded).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&self.pool).await?;
        Ok(n == 0)
    }
}

/// Hides a password in a database URL for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The current instant as stored: RFC 3339 UTC with seconds.
pub(crate) fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
