use yibao_core::InvalidValue;

/// Errors of the storage layer. The web layer maps each to one HTTP problem.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// A unique key already exists (`what` names it, e.g. `resident_id`).
    #[error("already exists: {what}")]
    Duplicate { what: &'static str },
    /// The record changed since it was read (optimistic concurrency).
    #[error("{0} was changed by someone else; reload and try again")]
    Stale(&'static str),
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Several problems with one request, all reported at once.
    #[error("{} problems, the first: {}", .0.len(), .0.first().map_or("", |e| e.message.en.as_str()))]
    Problems(Vec<InvalidValue>),
    #[error("configuration: {0}")]
    Config(String),
    /// Stored data that does not parse: a bug or tampering.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// The database (or the document store) cannot be written now: the disk is full or it
    /// was made read-only. Nothing of the write was stored; the same write may succeed later.
    #[error("storage cannot be written now (disk full or read-only), nothing was stored: {0}")]
    Unwritable(String),
    /// The commit this write was batched into failed: nothing of it was stored.
    #[error("commit failed, nothing was stored: {0}")]
    Commit(String),
    /// The document blob store failed (disk full, permissions, a file changed on disk).
    #[error("document storage: {0}")]
    Blob(std::io::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_unwritable(&e) {
            StoreError::Unwritable(e.to_string())
        } else {
            StoreError::Database(e)
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if io_unwritable(&e) {
            StoreError::Unwritable(e.to_string())
        } else {
            StoreError::Blob(e)
        }
    }
}

/// Whether the database refused a write for want of space or because it can only be read:
/// SQLite's `SQLITE_FULL` and `SQLITE_READONLY` (with their extended codes), PostgreSQL's
/// `disk_full` (53100) and `read_only_sql_transaction` (25006), or such an I/O error.
pub(crate) fn is_unwritable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("53100" | "25006") => true,
            Some(code) => code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 8 | 13)),
            None => false,
        },
        sqlx::Error::Io(io) => io_unwritable(io),
        _ => false,
    }
}

fn io_unwritable(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::ReadOnlyFilesystem)
}

impl StoreError {
    /// Maps a unique-constraint violation to `Duplicate { what }`, anything else unchanged.
    pub(crate) fn on_unique(e: sqlx::Error, what: &'static str) -> StoreError {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Duplicate { what };
            }
        }
        StoreError::Database(e)
    }
}

/// Parses a stored value with a validated type, reporting corruption instead of panicking.
pub(crate) fn parse_stored<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, StoreError> {
    value.parse().map_err(|_| StoreError::Corrupt(format!("{column} = {value:?}")))
}
