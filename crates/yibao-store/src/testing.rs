//! Test support only; panics are how a test helper reports a broken environment.
#![allow(clippy::panic)]
//! Isolated databases for tests: a fresh SQLite file, or a fresh schema in the PostgreSQL
//! at `YIBAO_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! Where no PostgreSQL answers, [`TestDb::postgres`] returns `None` and says the tests are
//! skipped — unless `YIBAO_REQUIRE_POSTGRES=1` (as in CI), when it fails instead.

use std::sync::atomic::{AtomicU32, Ordering};

use rand::Rng;

use crate::{Store, StoreConfig};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated, empty database that belongs to one test.
pub struct TestDb {
    pub store: Store,
    pub config: StoreConfig,
    pub label: &'static str,
    cleanup: Cleanup,
    /// Where this test's uploaded documents go (removed by [`TestDb::cleanup`]).
    blob_dir: std::path::PathBuf,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { url: String, schema: String },
}

async fn migrate(store: &Store, version: Option<i64>) -> Result<(), crate::StoreError> {
    match version {
        Some(v) => store.migrate_to(v).await,
        None => store.migrate().await,
    }
}

fn blob_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}_blobs", unique_name()))
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("yt_{}_{}_{:06x}", std::process::id(), n, rand::thread_rng().gen::<u32>() & 0xff_ffff)
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        Self::sqlite_at(None).await
    }

    /// A SQLite database migrated up to `version` (all migrations when `None`).
    pub async fn sqlite_at(version: Option<i64>) -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let config = StoreConfig::new(format!("sqlite://{}", path.display()));
        let store = Store::connect(&config).await.unwrap_or_else(|e| panic!("cannot open test SQLite: {e}"));
        migrate(&store, version).await.unwrap_or_else(|e| panic!("cannot migrate test SQLite: {e}"));
        TestDb { store, config, label: "sqlite", cleanup: Cleanup::File(path), blob_dir: blob_dir() }
    }

    pub async fn postgres() -> Option<TestDb> {
        Self::postgres_at(None).await
    }

    /// A PostgreSQL schema migrated up to `version` (all when `None`), where reachable.
    pub async fn postgres_at(version: Option<i64>) -> Option<TestDb> {
        let url = std::env::var("YIBAO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let required = std::env::var("YIBAO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let admin = match Store::connect(&StoreConfig { max_connections: 1, ..StoreConfig::new(url.clone()) }).await {
            Ok(s) => s,
            Err(e) => {
                if required {
                    panic!("PostgreSQL at {url} is required (YIBAO_REQUIRE_POSTGRES=1) but unreachable: {e}");
                }
                eprintln!("SKIPPED: PostgreSQL tests — no server reachable at {url} ({e})");
                return None;
            }
        };
        let schema = unique_name();
        if let Err(e) = admin.execute_raw(&format!("CREATE SCHEMA \"{schema}\"")).await {
            panic!("cannot create test schema: {e}");
        }
        admin.close().await;
        let config = StoreConfig { schema: Some(schema.clone()), ..StoreConfig::new(url.clone()) };
        let store = Store::connect(&config).await.unwrap_or_else(|e| panic!("cannot connect to test schema: {e}"));
        migrate(&store, version).await.unwrap_or_else(|e| panic!("cannot migrate test PostgreSQL: {e}"));
        Some(TestDb {
            store,
            config,
            label: "postgres",
            cleanup: Cleanup::Schema { url, schema },
            blob_dir: blob_dir(),
        })
    }

    /// Both backends (PostgreSQL only where reachable).
    pub async fn all() -> Vec<TestDb> {
        Self::all_at(None).await
    }

    /// Both backends migrated up to `version` (all when `None`).
    pub async fn all_at(version: Option<i64>) -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite_at(version).await];
        dbs.extend(TestDb::postgres_at(version).await);
        dbs
    }

    /// The number of rows in `table` (a name from the schema).
    pub async fn count(&self, table: &str) -> i64 {
        assert!(table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "a table name");
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.store.db.pool)
            .await
            .unwrap_or_else(|e| panic!("cannot count {table}: {e}"))
    }

    /// The one number a query of the test's own gives (e.g. a `COUNT(*)`).
    pub async fn number(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.store.db.pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// This test's document blob store (a fresh directory).
    pub fn blobs(&self) -> std::sync::Arc<dyn crate::BlobStore> {
        std::sync::Arc::new(crate::LocalBlobs::new(&self.blob_dir))
    }

    /// Removes the database and the documents. Call at the end of a test.
    pub async fn cleanup(self) {
        self.store.close().await;
        let _ = std::fs::remove_dir_all(&self.blob_dir);
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { url, schema } => {
                if let Ok(admin) = Store::connect(&StoreConfig { max_connections: 1, ..StoreConfig::new(url) }).await {
                    let _ = admin.execute_raw(&format!("DROP SCHEMA \"{schema}\" CASCADE")).await;
                    admin.close().await;
                }
            }
        }
    }
}

/// The audit actor of the account named `username` (steps taken as that account would).
pub async fn actor_of(store: &Store, username: &str) -> crate::Actor {
    let accounts = store.list_accounts().await.unwrap_or_default();
    let account = accounts.into_iter().find(|a| a.username == username);
    let account = account.unwrap_or_else(|| panic!("no account {username}"));
    crate::Actor { label: account.actor_label(), request_id: String::new() }
}

/// The code of a result that must be a refusal of an invalid value.
pub fn refusal_code(r: Result<impl std::fmt::Debug, crate::StoreError>) -> &'static str {
    match r {
        Err(crate::StoreError::Invalid(e)) => e.code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}
