//! SQLite statements run on the calling thread, for the writer and the platform interface's
//! reads.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement across
//! and every row back; on a small machine those hand-offs, not SQLite, are most of a
//! statement's cost (`yibao bench statement`). The writer's connection is held by one write
//! at a time and runs a dozen short statements per write while every other write waits, and
//! each interface transaction reads a handful of rows before its turn; so for a SQLite file
//! these run on [`Direct`] connections instead: `rusqlite` connections to the same file, on
//! which the store's ordinary `sqlx::query(..)` values run unchanged — [`Direct`] is an
//! [`Executor`] for sqlx's `Any` database, taking the same SQL and arguments and giving back
//! the same rows and errors (a unique-constraint violation stays one).
//!
//! A statement runs to completion when the query is called, on the thread that calls it:
//! microseconds for the statements these run; the commit waits for the disk. Only short
//! statements belong here — lists, reports and imports stay on sqlx's pool, off the async
//! threads. Waiting for another connection's write lock would block the thread, so the writer
//! never waits inside SQLite (`busy_timeout` 0): [`Direct::begin_immediate`] takes the lock,
//! retrying asynchronously while another connection of this process or another holds it.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::{Any, Describe, Either, Execute, Executor};
use sqlx_core::any::{AnyColumn, AnyValueKind};

/// How long taking the write lock may wait for another connection to release it (as the
/// pool's `busy_timeout`).
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// How long a reader may wait inside SQLite (see [`Direct::open_reader`]).
const READER_WAIT: Duration = Duration::from_secs(1);
/// Readers kept open between reads.
const READERS_KEPT: usize = 64;

/// A SQLite connection whose statements run on the calling thread (see the module's
/// documentation).
pub(crate) struct Direct {
    conn: Connection,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct").finish_non_exhaustive()
    }
}

type Output = Either<AnyQueryResult, AnyRow>;

impl Direct {
    /// Opens `file` (which the pool has created and migrated) with the pool's settings, for
    /// the writer.
    /// Refuses a connection SQLite could open only for reading (a read-only file, folder or
    /// file system): kept, it would refuse every write even after the cause is gone.
    pub(crate) fn open(file: &Path) -> Result<Direct, sqlx::Error> {
        let direct = Self::open_waiting(file, Duration::ZERO)?;
        if direct.conn.is_readonly(rusqlite::DatabaseName::Main).map_err(database_error)? {
            return Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("the database file {} can only be read", file.display()),
            )));
        }
        Ok(direct)
    }

    /// Opens `file` for reading. A reader in WAL mode does not wait for writers; it may
    /// wait briefly, blocking the thread, while another connection recovers or resets the
    /// log, which SQLite does rarely.
    pub(crate) fn open_reader(file: &Path) -> Result<Direct, sqlx::Error> {
        Self::open_waiting(file, READER_WAIT)
    }

    fn open_waiting(file: &Path, busy_timeout: Duration) -> Result<Direct, sqlx::Error> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(database_error)?;
        // WAL for concurrent readers, FULL so nothing acknowledged is lost; never wait inside
        // SQLite for a lock (see `begin_immediate`).
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(database_error)?;
        conn.busy_timeout(busy_timeout).map_err(database_error)?;
        conn.set_prepared_statement_cache_capacity(256);
        Ok(Direct { conn })
    }

    /// `BEGIN IMMEDIATE`: begins a transaction holding the write lock, waiting (without
    /// blocking the thread) while another connection holds it.
    pub(crate) async fn begin_immediate(&mut self) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        loop {
            match self.conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => return Ok(()),
                Err(e) if is_busy(&e) && started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => return Err(database_error(e)),
            }
        }
    }

    /// Runs `sql` with `args` to completion: its rows, then its result. Several statements
    /// separated by `;` run as one batch, without arguments or rows (as sqlx runs
    /// `"RELEASE SAVEPOINT write; SAVEPOINT write"`).
    fn run(&mut self, sql: &str, args: Option<sqlx::any::AnyArguments<'_>>) -> Result<Vec<Output>, sqlx::Error> {
        let values = args.map(|a| a.values.0).unwrap_or_default();
        if sql.trim().trim_end_matches(';').contains(';') {
            if !values.is_empty() {
                return Err(sqlx::Error::Protocol("several statements with arguments are not supported here".into()));
            }
            self.conn.execute_batch(sql).map_err(database_error)?;
            let rows_affected = self.conn.changes();
            return Ok(vec![Either::Left(AnyQueryResult { rows_affected, last_insert_id: None })]);
        }
        let mut stmt = self.conn.prepare_cached(sql).map_err(database_error)?;
        let mut next = 0;
        for param in 1..=stmt.parameter_count() {
            // `$N` names the N-th argument; `?` takes the next one.
            let index = match stmt.parameter_name(param) {
                Some(name) => name
                    .strip_prefix(['$', '?'])
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| sqlx::Error::Protocol(format!("unsupported parameter {name}")))?,
                None => {
                    next += 1;
                    next
                }
            };
            // An argument not given is NULL, as sqlx binds it.
            let Some(value) = index.checked_sub(1).and_then(|i| values.get(i)) else { continue };
            let bound = match value {
                AnyValueKind::Null(_) => stmt.raw_bind_parameter(param, rusqlite::types::Null),
                AnyValueKind::Bool(b) => stmt.raw_bind_parameter(param, i64::from(*b)),
                AnyValueKind::SmallInt(i) => stmt.raw_bind_parameter(param, i64::from(*i)),
                AnyValueKind::Integer(i) => stmt.raw_bind_parameter(param, i64::from(*i)),
                AnyValueKind::BigInt(i) => stmt.raw_bind_parameter(param, *i),
                AnyValueKind::Real(r) => stmt.raw_bind_parameter(param, f64::from(*r)),
                AnyValueKind::Double(d) => stmt.raw_bind_parameter(param, *d),
                AnyValueKind::Text(t) => stmt.raw_bind_parameter(param, t.as_ref()),
                AnyValueKind::Blob(b) => stmt.raw_bind_parameter(param, b.as_ref()),
                other => return Err(sqlx::Error::Protocol(format!("unsupported argument {other:?}"))),
            };
            bound.map_err(database_error)?;
        }
        let readonly = stmt.readonly();
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut out = Vec::new();
        let mut column_names = Arc::default();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(database_error)? {
            let mut any = AnyRow { column_names: Arc::clone(&column_names), columns: Vec::new(), values: Vec::new() };
            if out.is_empty() {
                let map = Arc::make_mut(&mut any.column_names);
                for (i, name) in names.iter().enumerate() {
                    map.insert(name.clone().into(), i);
                }
                column_names = Arc::clone(&any.column_names);
            }
            for (ordinal, name) in names.iter().enumerate() {
                // As sqlx's SQLite driver maps a value for `Any`: by the value's own type.
                let kind = match row.get_ref(ordinal).map_err(database_error)? {
                    ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
                    ValueRef::Integer(i) => AnyValueKind::BigInt(i),
                    ValueRef::Real(r) => AnyValueKind::Double(r),
                    ValueRef::Text(t) => AnyValueKind::Text(Cow::Owned(
                        String::from_utf8(t.to_vec()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                    )),
                    ValueRef::Blob(b) => AnyValueKind::Blob(Cow::Owned(b.to_vec())),
                };
                let type_info = AnyTypeInfo { kind: type_of(&kind) };
                any.columns.push(AnyColumn { ordinal, name: name.clone().into(), type_info });
                any.values.push(AnyValue { kind });
            }
            out.push(Either::Right(any));
        }
        drop(rows);
        let rows_affected = if readonly { 0 } else { self.conn.changes() };
        out.push(Either::Left(AnyQueryResult { rows_affected, last_insert_id: None }));
        Ok(out)
    }

    fn run_query<'q>(&mut self, mut query: impl Execute<'q, Any>) -> Result<Vec<Output>, sqlx::Error> {
        let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
        self.run(query.sql(), args)
    }
}

fn type_of(kind: &AnyValueKind<'_>) -> AnyTypeInfoKind {
    match kind {
        AnyValueKind::BigInt(_) => AnyTypeInfoKind::BigInt,
        AnyValueKind::Double(_) => AnyTypeInfoKind::Double,
        AnyValueKind::Text(_) => AnyTypeInfoKind::Text,
        AnyValueKind::Blob(_) => AnyTypeInfoKind::Blob,
        _ => AnyTypeInfoKind::Null,
    }
}

impl<'c> Executor<'c> for &'c mut Direct {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Output, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let out = match self.run_query(query) {
            Ok(out) => out.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        // A task running many statements (an import) still gives way to the thread's others.
        stream::once(async move {
            tokio::task::consume_budget().await;
            stream::iter(out)
        })
        .flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let first = self.run_query(query).map(|out| {
            out.into_iter().find_map(|o| match o {
                Either::Right(row) => Some(row),
                Either::Left(_) => None,
            })
        });
        Box::pin(async move {
            tokio::task::consume_budget().await;
            first
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        _sql: &'q str,
        _parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(future::ready(Err(sqlx::Error::Protocol("the direct SQLite connection prepares as it runs".into()))))
    }

    fn describe<'e, 'q: 'e>(self, _sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(future::ready(Err(sqlx::Error::Protocol("the direct SQLite connection does not describe".into()))))
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// SQLite's error as sqlx reports a database's: constraint violations keep their kind.
fn database_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            let message = message.unwrap_or_else(|| failure.to_string());
            sqlx::Error::Database(Box::new(SqliteFailure { code: failure.extended_code, message }))
        }
        other => sqlx::Error::Database(Box::new(SqliteFailure { code: -1, message: other.to_string() })),
    }
}

/// An error SQLite reported, with its extended result code.
#[derive(Debug)]
struct SqliteFailure {
    code: i32,
    message: String,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// Readers kept open between reads, so their statements stay prepared.
#[derive(Default)]
pub(crate) struct Readers(Mutex<Vec<Direct>>);

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

impl Readers {
    /// Closes the readers kept.
    pub(crate) fn close(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.clear();
        }
    }

    /// A reader of `file`; with `snapshot`, inside a transaction whose reads all see the
    /// state of its first (`BEGIN`, deferred, in WAL mode), ended when the lease is dropped.
    pub(crate) fn lease(self: &Arc<Self>, file: &Path, snapshot: bool) -> Result<ReadLease, sqlx::Error> {
        let kept = self.0.lock().ok().and_then(|mut kept| kept.pop());
        let conn = match kept {
            Some(conn) => conn,
            None => Direct::open_reader(file)?,
        };
        if snapshot {
            conn.conn.execute_batch("BEGIN").map_err(database_error)?;
        }
        Ok(ReadLease { conn: Some(conn), readers: Arc::clone(self) })
    }
}

/// A reader lent from [`Readers`]; given back when dropped.
pub(crate) struct ReadLease {
    conn: Option<Direct>,
    readers: Arc<Readers>,
}

impl std::ops::Deref for ReadLease {
    type Target = Direct;
    // A lease holds its connection until dropped.
    #[allow(clippy::expect_used)]
    fn deref(&self) -> &Direct {
        self.conn.as_ref().expect("a lease holds its reader until dropped")
    }
}

impl std::ops::DerefMut for ReadLease {
    #[allow(clippy::expect_used)]
    fn deref_mut(&mut self) -> &mut Direct {
        self.conn.as_mut().expect("a lease holds its reader until dropped")
    }
}

impl Drop for ReadLease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A reader goes back only out of any transaction (and is closed otherwise).
        if !conn.conn.is_autocommit() && conn.conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if let Ok(mut kept) = self.readers.0.lock() {
            if kept.len() < READERS_KEPT {
                kept.push(conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use crate::Actor;
    use sqlx::Row;

    fn file_of(db: &TestDb) -> std::path::PathBuf {
        db.store.db.sqlite_file.clone().expect("a SQLite test database is a file")
    }

    /// The same statements give the same values, results and errors on the direct connection
    /// as through sqlx's own SQLite driver.
    #[tokio::test]
    async fn direct_statements_answer_as_the_pool_does() {
        let db = TestDb::sqlite().await;
        let pool = &db.store.db.pool;
        let mut direct = Direct::open(&file_of(&db)).unwrap();
        sqlx::query("CREATE TABLE probe (i INTEGER, s TEXT UNIQUE, r REAL, b BLOB, n TEXT); INSERT INTO probe VALUES (0, 'zero', 0, NULL, NULL)")
            .execute(&mut direct)
            .await
            .unwrap();
        let inserted =
            sqlx::query("INSERT INTO probe (i, s, r, b, n) VALUES ($1, $2, $3, $4, $5), ($1, $6, $3, $4, $5)")
                .bind(-7_i64)
                .bind("七元".to_string())
                .bind(1.25_f64)
                .bind(vec![0_u8, 255])
                .bind(None::<String>)
                .bind("八".to_string())
                .execute(&mut direct)
                .await
                .unwrap();
        assert_eq!(inserted.rows_affected(), 2);
        let select = "SELECT i, s, r, b, n, $2 AS second, $1 AS first FROM probe ORDER BY s";
        let from_direct = sqlx::query(select).bind(1_i64).bind("二").fetch_all(&mut direct).await.unwrap();
        let from_pool = sqlx::query(select).bind(1_i64).bind("二").fetch_all(pool).await.unwrap();
        assert_eq!(from_direct.len(), 3);
        for (d, p) in from_direct.iter().zip(&from_pool) {
            assert_eq!(d.try_get::<i64, _>("i").unwrap(), p.try_get::<i64, _>("i").unwrap());
            assert_eq!(d.try_get::<i32, _>(0).unwrap(), p.try_get::<i32, _>(0).unwrap());
            assert_eq!(d.try_get::<String, _>("s").unwrap(), p.try_get::<String, _>("s").unwrap());
            assert_eq!(d.try_get::<f64, _>("r").unwrap(), p.try_get::<f64, _>("r").unwrap());
            assert_eq!(d.try_get::<Option<Vec<u8>>, _>("b").unwrap(), p.try_get::<Option<Vec<u8>>, _>("b").unwrap());
            assert_eq!(d.try_get::<Option<String>, _>("n").unwrap(), None);
            assert_eq!(d.try_get::<String, _>("second").unwrap(), "二");
            assert_eq!(d.try_get::<i64, _>("first").unwrap(), 1);
            // A type the column does not hold is refused, as by sqlx's driver.
            assert!(d.try_get::<i64, _>("s").is_err() && p.try_get::<i64, _>("s").is_err());
        }
        let updated =
            sqlx::query("UPDATE probe SET n = 'x' WHERE i = $1").bind(-7_i64).execute(&mut direct).await.unwrap();
        assert_eq!(updated.rows_affected(), 2);
        let none = sqlx::query("SELECT i FROM probe WHERE i = 99").fetch_optional(&mut direct).await.unwrap();
        assert!(none.is_none());
        let duplicate = sqlx::query("INSERT INTO probe (s) VALUES ('八')").execute(&mut direct).await.unwrap_err();
        match duplicate {
            sqlx::Error::Database(e) => assert!(e.is_unique_violation(), "{e}"),
            other => panic!("not a database error: {other}"),
        }
        db.cleanup().await;
    }

    /// The direct connections keep the pool's guarantees: every commit is flushed to disk
    /// before it returns (`synchronous=FULL`, in WAL mode) and foreign keys are enforced.
    #[tokio::test]
    async fn direct_connections_flush_every_commit_and_check_foreign_keys() {
        let db = TestDb::sqlite().await;
        for mut conn in [Direct::open(&file_of(&db)).unwrap(), Direct::open_reader(&file_of(&db)).unwrap()] {
            let pragma = |name: &str| format!("PRAGMA {name}");
            let journal: String = sqlx::query_scalar(&pragma("journal_mode")).fetch_one(&mut conn).await.unwrap();
            let synchronous: i64 = sqlx::query_scalar(&pragma("synchronous")).fetch_one(&mut conn).await.unwrap();
            let foreign_keys: i64 = sqlx::query_scalar(&pragma("foreign_keys")).fetch_one(&mut conn).await.unwrap();
            assert_eq!((journal.as_str(), synchronous, foreign_keys), ("wal", 2, 1));
        }
        let mut direct = Direct::open(&file_of(&db)).unwrap();
        let orphan = sqlx::query(
            "INSERT INTO platform_messages (institution_id, msgid, infno, request_sha256, response, received_at) \
             VALUES (999999, 'm', '1101', 'x', '{}', 'now')",
        )
        .execute(&mut direct)
        .await;
        assert!(matches!(orphan, Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation()));
        db.cleanup().await;
    }

    /// Statements run on the calling thread, but a task running many of them (an import)
    /// still lets the thread's other tasks run between them.
    #[tokio::test]
    async fn many_statements_give_way_to_other_tasks() {
        let db = TestDb::sqlite().await;
        let mut direct = Direct::open(&file_of(&db)).unwrap();
        let other = tokio::spawn(async {});
        let mut ran_at = None;
        for i in 0..1_000 {
            sqlx::query("SELECT 1").execute(&mut direct).await.unwrap();
            if ran_at.is_none() && other.is_finished() {
                ran_at = Some(i);
            }
        }
        assert!(ran_at.is_some(), "the other task did not run during 1,000 statements");
        db.cleanup().await;
    }

    /// Waiting for the write lock another connection holds does not block the thread: on a
    /// runtime of one thread, the other connection's transaction still gets to commit, and
    /// the write goes on after it.
    #[tokio::test]
    async fn a_write_waits_for_another_connection_without_blocking_the_thread() {
        let db = TestDb::sqlite().await;
        let store = db.store.clone();
        let mut other = store.db.pool.begin().await.unwrap();
        sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1").execute(&mut *other).await.unwrap();
        let write = tokio::spawn({
            let store = store.clone();
            async move {
                let w = store.begin_write(&Actor::system("test")).await?;
                w.commit().await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!write.is_finished(), "the write began while another connection held the lock");
        tokio::time::timeout(Duration::from_secs(5), other.commit())
            .await
            .expect("the other connection committed")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), write).await.expect("the write went on").unwrap().unwrap();
        db.cleanup().await;
    }
}
