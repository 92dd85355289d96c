//! The store's mechanism: connections to SQLite or PostgreSQL, migrations, the one writer
//! and its group commit, the direct SQLite connections, the audit chain, the query builder
//! and the machinery domains use to keep data in memory.
//!
//! Nothing here knows a domain. A domain that needs something of the commit registers a
//! [`BeforeCommit`] hook when the store is opened (the platform writes its deferred answers
//! that way), and a domain's in-memory copy is a [`Forget`] that a write marks stale. The test
//! `tests/module_graph.rs` fails if a file under `db/` names a module outside it.

pub(crate) mod audit;
pub(crate) mod cache;
pub(crate) mod direct;
pub(crate) mod error;
pub(crate) mod lock;
pub(crate) mod migrate;
pub(crate) mod query;
pub(crate) mod write;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::{Actor, AuditVerification};
pub(crate) use cache::Forget;
pub use error::StoreError;
pub use lock::{DatabaseLock, LockMode};
pub(crate) use write::{BeforeCommit, Conn};
pub use write::{WriteStats, WriteTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to connect. `schema` (PostgreSQL only) isolates a test in its own schema.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub url: String,
    pub max_connections: u32,
    pub schema: Option<String>,
    /// The key the audit chain is keyed with (kept outside the database); `None`: an unkeyed
    /// chain (tests, benchmarks).
    pub audit_key: Option<yibao_core::audit::AuditKey>,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 8, schema: None, audit_key: None }
    }
}

/// The database: the pool, the writer, and (for a SQLite file) the direct connections.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// One write at a time in this process, committed in batches (see [`Db::begin_write`]).
    pub(crate) writer: Arc<write::Writer>,
    /// The SQLite database's file, which the writer opens directly (see `direct.rs`); `None`
    /// for PostgreSQL and for a database in memory.
    sqlite_file: Option<std::path::PathBuf>,
    /// Its readers that run on the calling thread (SQLite files only).
    readers: Arc<direct::Readers>,
    /// Pooled connections opened before this moment are closed, not used.
    reset: Arc<ResetMark>,
}

/// When the pool's connections were last declared stale (see [`Db::close_other_connections`]).
#[derive(Debug, Default)]
struct ResetMark(std::sync::Mutex<Option<std::time::Instant>>);

impl ResetMark {
    fn mark(&self) {
        if let Ok(mut at) = self.0.lock() {
            *at = Some(std::time::Instant::now());
        }
    }

    /// Whether a connection of this age was opened after the mark.
    fn keeps(&self, age: Duration) -> bool {
        match self.0.lock().ok().and_then(|at| *at) {
            Some(at) => age < at.elapsed(),
            None => true,
        }
    }
}

/// Whether SQLite refused a write because the database can only be read (`SQLITE_READONLY`
/// and its extended codes).
pub(crate) fn is_read_only(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == 8),
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::PermissionDenied,
        _ => false,
    }
}

impl Db {
    /// Connects (creating a SQLite file if needed). Does not migrate; see [`Db::migrate`].
    /// `hooks` run inside every commit, before it (see [`BeforeCommit`]).
    pub(crate) async fn connect(config: &StoreConfig, hooks: Vec<Arc<dyn BeforeCommit>>) -> Result<Db, StoreError> {
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
        let reset = Arc::new(ResetMark::default());
        let kept = Arc::clone(&reset);
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .before_acquire(move |_conn, meta| {
                let keep = kept.keeps(meta.age);
                Box::pin(async move { Ok(keep) })
            })
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
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(write::Writer::new(hooks, config.audit_key.clone())),
            sqlite_file,
            readers: Arc::default(),
            reset,
        })
    }

    /// Closes every connection this process has to the database but the writer's: the idle
    /// ones now, the pooled ones in use when they are next acquired. SQLite shares one view of
    /// a file's write-ahead log index among a process's connections, read-only if the first of
    /// them could only read; a file that is writable again is written only once they are all
    /// gone.
    pub(crate) async fn close_other_connections(&self) {
        self.reset.mark();
        self.readers.close();
        for _ in 0..self.pool.size() {
            match self.pool.try_acquire() {
                Some(conn) => conn.close().await.unwrap_or_else(|e| tracing::warn!(error = %e, "closing a connection")),
                None => break,
            }
        }
    }

    /// A read of several statements that sees one consistent state (a snapshot), outside
    /// any write. Dropped, it ends (it changes nothing).
    pub(crate) async fn begin_read(&self) -> Result<Conn, StoreError> {
        if let Some(file) = &self.sqlite_file {
            return Ok(Conn::DirectRead(self.readers.lease(file, true)?));
        }
        let begin = match self.backend {
            // In WAL mode a deferred transaction reads one snapshot from its first read.
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        Ok(Conn::Read(self.pool.begin_with(begin).await?))
    }

    /// A connection for a read of one statement (or of several that need not agree).
    pub(crate) async fn read_conn(&self) -> Result<Conn, StoreError> {
        Ok(match &self.sqlite_file {
            Some(file) => Conn::DirectRead(self.readers.lease(file, false)?),
            None => Conn::Pooled(self.pool.acquire().await?),
        })
    }

    /// Applies every migration not yet applied, or those up to `version` only.
    pub(crate) async fn migrate(&self, version: Option<i64>) -> Result<(), StoreError> {
        migrate::run(&self.pool, self.backend, version).await?;
        if version.is_none() {
            self.load_card_salt().await?;
        }
        Ok(())
    }

    /// Deletes every row of every table but the migrations' record, in one transaction, and
    /// sets the audit head back to its start: the database as `migrate` leaves it. Only for a
    /// database whose content is known to be disposable (a demo seed cut short); nothing else
    /// may be writing.
    /// The newest migration applied (0 for a database never migrated).
    pub(crate) async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists = match self.backend {
            Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'"
            }
        };
        let n: i64 = sqlx::query_scalar(exists).fetch_one(&self.pool).await?;
        if n == 0 {
            return Ok(0);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations").fetch_one(&self.pool).await?;
        Ok(v.unwrap_or(0))
    }

    /// The key kept outside the database: the audit chain's, and (derived from it) the one
    /// stored secrets are sealed under.
    pub(crate) fn audit_key(&self) -> Option<&yibao_core::audit::AuditKey> {
        self.writer.audit_key.as_ref()
    }

    /// Empties every table but the migrations' and the installation's secrets (made with the
    /// schema, not data).
    pub(crate) async fn erase_everything(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let tables: Vec<String> = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                     AND name NOT IN ('_sqlx_migrations', 'installation_secrets')",
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                     AND tablename NOT IN ('_sqlx_migrations', 'installation_secrets')",
                )
                .fetch_all(&mut *tx)
                .await?
            }
        };
        match self.backend {
            Backend::Sqlite => {
                // The rows go in any order; the foreign keys are checked at the commit. The
                // fund's books refuse a deletion (migration 38) except this one, of everything.
                tx.execute("PRAGMA defer_foreign_keys = ON").await?;
                tx.execute("DROP TRIGGER IF EXISTS fund_postings_never_deleted").await?;
                for table in &tables {
                    tx.execute(format!("DELETE FROM \"{table}\"").as_str()).await?;
                }
                tx.execute(FUND_POSTINGS_NEVER_DELETED).await?;
            }
            Backend::Postgres if !tables.is_empty() => {
                let list = tables.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
                tx.execute(format!("TRUNCATE {list} RESTART IDENTITY CASCADE").as_str()).await?;
            }
            Backend::Postgres => {}
        }
        // The empty chain is keyed with this store's key, as the one erased was.
        // The salt for card digests too (entries of the erased chain may have used it).
        let key_id = self.writer.audit_key.as_ref().map(|k| k.id().to_string()).unwrap_or_default();
        let salt = match (&self.writer.audit_key, self.writer.card_salt.get()) {
            (Some(key), Some(salt)) => audit::sealed(key, salt),
            _ => String::new(),
        };
        sqlx::query("INSERT INTO audit_head (id, last_seq, last_hash, key_id, card_salt) VALUES (1, 0, $1, $2, $3)")
            .bind(yibao_core::audit::GENESIS)
            .bind(key_id)
            .bind(salt)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database answers (readiness).
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
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

/// The SQLite trigger of migration 38 that keeps fund postings from being deleted.
const FUND_POSTINGS_NEVER_DELETED: &str = "CREATE TRIGGER fund_postings_never_deleted BEFORE DELETE ON fund_postings \
     BEGIN SELECT RAISE(ABORT, 'fund postings are never deleted: post a correction'); END";

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
