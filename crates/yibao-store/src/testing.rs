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

    /// The one text a query of the test's own gives.
    pub async fn text(&self, sql: &str) -> String {
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

fn or_panic<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A stay of `person_id` at the institution `code`, admitted on `day` with the main
/// `diagnosis` (code, name) and discharged the next day, with `lines` (number, code, count,
/// price, amount) on the first day, as the hospital's system sends it. Its `mdtrt_id`.
pub async fn discharged_stay(
    s: &Store,
    person_id: i64,
    code: &str,
    day: chrono::NaiveDate,
    ipt_no: &str,
    diagnosis: (&str, &str),
    lines: &[(&str, &str, &str, &str, &str)],
) -> String {
    use yibao_core::adjudicate::{DateText, FeeLine, MedType};
    let institution = or_panic(s.institution_by_code(code).await, "institution");
    let person = or_panic(s.person(person_id).await, "person");
    let admission = crate::Admission {
        insutype: person.scheme,
        med_type: MedType::Inpatient,
        begntime: day.and_time(chrono::NaiveTime::MIN) + chrono::Duration::hours(9),
        ipt_otp_no: ipt_no.into(),
        diagnoses: vec![crate::Diagnosis { diag_code: diagnosis.0.into(), diag_name: diagnosis.1.into(), main: true }],
    };
    let number = |s: &str| s.parse().unwrap_or_else(|_| panic!("line value {s}"));
    let fees: Vec<crate::FeeUpload> = lines
        .iter()
        .map(|(sn, code, cnt, pric, amount)| crate::FeeUpload {
            line: FeeLine {
                feedetl_sn: (*sn).into(),
                med_list_codg: (*code).into(),
                cnt: number(cnt),
                pric: number(pric),
                det_item_fee_sumamt: amount.parse().unwrap_or_else(|_| panic!("amount {amount}")),
                fee_ocur_time: DateText(day),
                reviewer_excluded: false,
                rescue_admitted: false,
            },
            init_feedetl_sn: None,
            medins_list_codg: format!("HIS-{sn}"),
        })
        .collect();
    let mut w = or_panic(s.begin_write(&crate::Actor::system("test")).await, "write");
    let cover = or_panic(s.direct_cover(&person, &institution, day).await, "cover");
    let visit = or_panic(s.admit_visit(&mut w, &institution, &person, &admission, &cover).await, "admission");
    or_panic(s.upload_fees(&mut w, institution.id, &visit.mdtrt_id, &fees).await, "fees");
    let out = day.succ_opt().unwrap_or(day).and_time(chrono::NaiveTime::MIN) + chrono::Duration::hours(10);
    or_panic(s.discharge_visit(&mut w, institution.id, &visit.mdtrt_id, out, "1", &[]).await, "discharge");
    or_panic(w.commit().await, "commit");
    visit.mdtrt_id
}

/// Settles the visit `mdtrt_id` at the institution `code` at `at` (2304, without the
/// individual account).
pub async fn settle_stay(
    s: &Store,
    code: &str,
    mdtrt_id: &str,
    at: chrono::NaiveDateTime,
) -> Result<crate::Settlement, crate::StoreError> {
    let institution = s.institution_by_code(code).await?;
    let rules = s.rules().await?;
    let request = crate::SettleRequest { acct_used_flag: false, medfee_sumamt: None, setl_time: at };
    let mut w = s.begin_write(&crate::Actor::system("test")).await?;
    let settled = s.settle_visit(&mut w, &rules, &institution, mdtrt_id, &request, None).await?;
    w.commit().await?;
    Ok(settled)
}

/// The demo's first active person of 金昌 enrolled as `enrolment` in `category` (the demo has
/// several of each kind), by id order.
pub async fn demo_person(
    s: &Store,
    enrolment: yibao_core::registry::Enrolment,
    category: yibao_core::registry::PersonCategory,
) -> crate::Person {
    for id in 1..=300 {
        let Ok(p) = s.person(id).await else { continue };
        if p.insured_region.prefecture().to_string() == "620300"
            && p.status == yibao_core::registry::PersonStatus::Active
            && p.enrolment == enrolment
            && p.category == category
        {
            return p;
        }
    }
    panic!("no {enrolment:?} {category:?} in the demo")
}
