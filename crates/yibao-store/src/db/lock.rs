//! Who uses the database: a running server holds a shared lock on it for its whole life, and
//! maintenance that must run alone (re-keying the audit chain) takes it exclusively, so that
//! it is refused while any server runs rather than racing one. For a SQLite file the lock is
//! an advisory lock on a file beside it (`<database>.lock`); for PostgreSQL, a session-level
//! advisory lock on a connection kept for the purpose. Either is released when its holder
//! ends, however it ends (a killed process's locks go with it).

use sqlx::{Connection, Row};

use super::{Backend, Db, StoreError};

/// How the database is held: shared by servers, exclusive for maintenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A lock on the database; released when dropped.
#[derive(Debug)]
pub struct DatabaseLock {
    _held: Held,
}

#[derive(Debug)]
#[allow(dead_code, reason = "a lock is held by keeping its file or connection, never read")]
enum Held {
    File(std::fs::File),
    Postgres(sqlx::AnyConnection),
    /// A database in memory is this process's alone.
    Nothing,
}

impl Db {
    /// Takes the database's lock in `mode`; `None` if another holder's lock excludes it.
    pub(crate) async fn try_lock(&self, mode: LockMode) -> Result<Option<DatabaseLock>, StoreError> {
        let held = match (self.backend, &self.sqlite_file) {
            (Backend::Sqlite, None) => Held::Nothing,
            (Backend::Sqlite, Some(file)) => {
                let mut name = file.as_os_str().to_owned();
                name.push(".lock");
                // A read-only directory (a database served read-only) still takes the lock on
                // the file an earlier start made; where there is none, a server goes on
                // without one (it cannot write, so it cannot race a rotation), maintenance not.
                let opened = std::fs::File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&name)
                    .or_else(|_| std::fs::File::open(&name));
                let f = match (opened, mode) {
                    (Ok(f), _) => f,
                    (Err(e), LockMode::Shared) => {
                        tracing::warn!(error = %e, file = %name.to_string_lossy(), "no database lock file; serving without one");
                        return Ok(Some(DatabaseLock { _held: Held::Nothing }));
                    }
                    (Err(e), LockMode::Exclusive) => {
                        return Err(StoreError::Config(format!("cannot open {}: {e}", name.to_string_lossy())))
                    }
                };
                let taken = match mode {
                    LockMode::Shared => f.try_lock_shared(),
                    LockMode::Exclusive => f.try_lock(),
                };
                match taken {
                    Ok(()) => Held::File(f),
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(StoreError::Config(format!("cannot lock {}: {e}", name.to_string_lossy())))
                    }
                }
            }
            (Backend::Postgres, _) => {
                // A connection of its own, out of the pool, for as long as the lock is held.
                let mut conn = self.pool.acquire().await?.detach();
                let function = match mode {
                    LockMode::Shared => "pg_try_advisory_lock_shared",
                    LockMode::Exclusive => "pg_try_advisory_lock",
                };
                let row = sqlx::query(&format!(
                    "SELECT CASE WHEN {function}(hashtext('yibao database ' || current_schema())) THEN 1 ELSE 0 END"
                ))
                .fetch_one(&mut conn)
                .await?;
                if row.try_get::<i32, _>(0)? == 0 {
                    conn.close().await?;
                    return Ok(None);
                }
                Held::Postgres(conn)
            }
        };
        Ok(Some(DatabaseLock { _held: held }))
    }
}
