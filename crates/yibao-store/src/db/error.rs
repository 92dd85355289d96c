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
    Database(#[from] sqlx::Error),
    /// The commit this write was batched into failed: nothing of it was stored.
    #[error("commit failed, nothing was stored: {0}")]
    Commit(String),
    /// The document blob store failed (disk full, permissions, a file changed on disk).
    #[error("document storage: {0}")]
    Blob(#[from] std::io::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
