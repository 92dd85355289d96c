//! Write transactions, committed in groups.
//!
//! Writes in this process take turns: one [`WriteTx`] at a time, each inside a savepoint of
//! a database transaction that several writes share (a *batch*). A write that finishes while
//! others wait for their turn releases its savepoint and hands the open transaction on, then
//! waits; with nobody waiting it keeps the batch open a moment (`LINGER`) for a write
//! about to begin; the batch commits once full or old, or when nobody came (the audit head
//! moves and one commit serves all). Every write of the batch answers only after that commit — so
//! nothing is acknowledged before it is on disk — and a failed commit fails every write of
//! the batch. A write that fails or is cancelled rolls back to its own savepoint; the writes
//! before it in the batch stand.
//!
//! Why: a commit costs a disk flush and, through sqlx's SQLite driver, each statement a
//! hand-off to the connection's thread. Under load the batch pays `BEGIN`, the audit head and
//! `COMMIT` once instead of once per write. Every write runs on the one connection the writer
//! keeps, so that connection's page cache stays warm (SQLite empties a connection's cache
//! whenever another connection has committed).
//!
//! Reads outside a write (through the pool) see the last committed batch; reads inside a write
//! see the batch so far. A caller is answered only after its batch commits, so whatever it does
//! next sees its own writes.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Any, Executor, Row};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use super::audit::Actor;
use super::cache::Forget;
use super::direct::Direct;
use super::{now_text, Db, StoreError};

/// At most this many writes share one commit...
const MAX_WRITES: usize = 32;
/// ...and the first of them to finish waits at most about this long for it.
const MAX_AGE: Duration = Duration::from_millis(5);
/// A finished write whose batch has not committed within this time commits it itself (the
/// write it was handed to is slow to finish).
const HANDOVER_WAIT: Duration = Duration::from_millis(50);
/// With no write waiting, a batch stays open this long after its first write finished, for
/// writes about to begin (a commit costs a disk flush; under load writes arrive every few
/// hundred microseconds).
const LINGER: Duration = Duration::from_millis(1);

/// The outcome of a batch's commit, as every write of the batch learns it.
type Outcome = Option<Result<(), Failure>>;

/// Why a batch failed: what every write of it is told.
#[derive(Clone, Debug)]
struct Failure {
    message: String,
    /// The database could not be written (disk full, read-only): the writes may succeed later.
    unwritable: bool,
}

impl Failure {
    fn of(error: &sqlx::Error) -> Failure {
        Failure { message: error.to_string(), unwritable: super::error::is_unwritable(error) }
    }

    fn other(message: &str) -> Failure {
        Failure { message: message.to_string(), unwritable: false }
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> StoreError {
        if f.unwritable {
            StoreError::Unwritable(f.message)
        } else {
            StoreError::Commit(f.message)
        }
    }
}

/// A connection statements run on: the writer's, a pooled one, or a read snapshot's. For
/// SQLite the writer's runs its statements on the calling thread ([`Direct`]).
pub(crate) enum Conn {
    Pooled(PoolConnection<Any>),
    Read(sqlx::Transaction<'static, Any>),
    Direct(Box<Direct>),
    DirectRead(super::direct::ReadLease),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Pooled(_) => "Conn::Pooled",
            Conn::Read(_) => "Conn::Read",
            Conn::Direct(_) => "Conn::Direct",
            Conn::DirectRead(_) => "Conn::DirectRead",
        })
    }
}

impl Conn {
    /// Closes the connection instead of reusing it (whatever state it is in).
    fn close_on_drop(self) {
        match self {
            Conn::Pooled(mut c) => c.close_on_drop(),
            // Closing a SQLite connection rolls back its open transaction.
            Conn::Read(_) | Conn::Direct(_) | Conn::DirectRead(_) => {}
        }
    }
}

impl<'c> Executor<'c> for &'c mut Conn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::stream::BoxStream<
        'e,
        Result<sqlx::Either<sqlx::any::AnyQueryResult, sqlx::any::AnyRow>, sqlx::Error>,
    >
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        match self {
            Conn::Pooled(c) => c.fetch_many(query),
            Conn::Read(t) => t.fetch_many(query),
            Conn::Direct(d) => d.fetch_many(query),
            Conn::DirectRead(d) => (&mut **d).fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::future::BoxFuture<'e, Result<Option<sqlx::any::AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        match self {
            Conn::Pooled(c) => c.fetch_optional(query),
            Conn::Read(t) => t.fetch_optional(query),
            Conn::Direct(d) => d.fetch_optional(query),
            Conn::DirectRead(d) => (&mut **d).fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> futures_util::future::BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Pooled(c) => c.prepare_with(sql, parameters),
            Conn::Read(t) => t.prepare_with(sql, parameters),
            Conn::Direct(d) => d.prepare_with(sql, parameters),
            Conn::DirectRead(d) => (&mut **d).prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> futures_util::future::BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Pooled(c) => c.describe(sql),
            Conn::Read(t) => t.describe(sql),
            Conn::Direct(d) => d.describe(sql),
            Conn::DirectRead(d) => (&mut **d).describe(sql),
        }
    }
}

/// This process's writer: whose turn it is, its connection, and the batch open between turns.
#[derive(Default)]
pub(crate) struct Writer {
    turn: Arc<Mutex<Turn>>,
    /// Writes waiting for their turn; a finishing write hands the batch on only if one is.
    waiting: AtomicUsize,
    /// Writes finished and batches committed since the store was opened, and the time
    /// (µs) the turn was held running writes and committing batches.
    writes: AtomicU64,
    commits: AtomicU64,
    writing_us: AtomicU64,
    committing_us: AtomicU64,
    /// What domains write inside every commit, before it.
    hooks: Vec<Arc<dyn BeforeCommit>>,
    /// The database could only be read at the last try (see `Db::open_writer`).
    read_only: std::sync::atomic::AtomicBool,
    /// The key the audit chain is keyed with.
    pub(crate) audit_key: Option<yibao_core::audit::AuditKey>,
    /// What card digests in audit entries are keyed with (see `Db::load_card_salt`).
    pub(crate) card_salt: std::sync::OnceLock<Vec<u8>>,
}

/// Something a domain writes inside the next commit rather than in a write of its own (the
/// platform's answers to reading transactions). Registered when the store is opened.
pub(crate) trait BeforeCommit: Send + Sync {
    /// Whether anything waits for a commit: closing the store commits a write of nothing
    /// for it.
    fn waiting(&self) -> bool;

    /// Writes what waits, inside the batch about to commit. The returned action runs once
    /// that commit has succeeded (what was written can then be forgotten).
    fn write(self: Arc<Self>, conn: &mut Conn) -> BoxFuture<'_, Result<AfterCommit, sqlx::Error>>;
}

/// What a [`BeforeCommit`] hook does once its writes are committed.
pub(crate) type AfterCommit = Box<dyn FnOnce() + Send>;

impl Writer {
    pub(crate) fn new(hooks: Vec<Arc<dyn BeforeCommit>>, audit_key: Option<yibao_core::audit::AuditKey>) -> Writer {
        Writer { hooks, audit_key, ..Writer::default() }
    }
}

/// How many writes the store has committed, in how many database commits, and how long the
/// turn to write was held for them: the part of the work that runs one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub writes: u64,
    pub commits: u64,
    pub writing: Duration,
    pub committing: Duration,
}

impl WriteStats {
    /// What happened after `earlier`.
    pub fn since(self, earlier: WriteStats) -> WriteStats {
        WriteStats {
            writes: self.writes - earlier.writes,
            commits: self.commits - earlier.commits,
            writing: self.writing.saturating_sub(earlier.writing),
            committing: self.committing.saturating_sub(earlier.committing),
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("waiting", &self.waiting.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Turn {
    /// The connection writes run on, between writes (a running write holds it).
    conn: Option<Conn>,
    batch: Option<Batch>,
    batches: u64,
}

/// The open database transaction several writes share. Between writes a fresh savepoint
/// `write` is open in it, for the next write to roll back to.
struct Batch {
    id: u64,
    /// The audit head after the last finished write.
    last_seq: i64,
    last_hash: String,
    /// Finished writes waiting for the commit, and when the first of them finished.
    finished: usize,
    first_finished: Option<Instant>,
    done: watch::Sender<Outcome>,
    /// A write was dropped before it finished: its savepoint is still to be rolled back.
    abandoned: bool,
}

/// The connection of a running write (`&mut *w.tx` is the connection to run statements on).
pub(crate) struct Member(Option<Conn>);

// A running write holds the connection from `begin_write` until `commit` or drop takes it
// back, and nothing can reach `w.tx` after that: the `expect`s below cannot fire.
#[allow(clippy::expect_used)]
impl Deref for Member {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.0.as_ref().expect("a running write holds the connection")
    }
}

#[allow(clippy::expect_used)]
impl DerefMut for Member {
    fn deref_mut(&mut self) -> &mut Conn {
        self.0.as_mut().expect("a running write holds the connection")
    }
}

/// An audited write (see the module's documentation): run statements on `&mut *w.tx`,
/// record each change with [`WriteTx::record`], then [`WriteTx::commit`]. Dropped without a
/// commit, the write's changes are rolled back.
pub struct WriteTx {
    pub(crate) tx: Member,
    turn: Option<OwnedMutexGuard<Turn>>,
    writer: Arc<Writer>,
    /// What this write makes stale once committed.
    forgets: Vec<Arc<dyn Forget>>,
    pub(crate) actor: Actor,
    /// The audit head when the write began, and after its own entries.
    begun_at: (i64, String),
    pub(crate) last_seq: i64,
    pub(crate) last_hash: String,
    pub(crate) at: String,
    /// When the write got its turn.
    began: Instant,
}

impl WriteTx {
    /// The key this write's audit entries are hashed with.
    pub(crate) fn audit_key(&self) -> Option<&yibao_core::audit::AuditKey> {
        self.writer.audit_key.as_ref()
    }

    /// The salt this write's audit entries key card digests with.
    pub(crate) fn card_salt(&self) -> Option<&[u8]> {
        self.writer.card_salt.get().map(Vec::as_slice)
    }
}

/// Counts a write as waiting for its turn until dropped (also when the wait is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Db {
    /// Begins an audited write on behalf of `actor`: waits for this process's turn (holding
    /// no connection meanwhile: a writer waiting inside the database would hold a pooled
    /// connection the one ahead of it may need for a read), then continues the open batch or
    /// begins one, taking the database's write lock and the audit head.
    pub async fn begin_write(&self, actor: &Actor) -> Result<WriteTx, StoreError> {
        let writer = Arc::clone(&self.writer);
        let mut turn = {
            let _waiting = Waiting::enter(&writer.waiting);
            Arc::clone(&writer.turn).lock_owned().await
        };
        roll_back_abandoned(&mut turn).await;
        if turn.conn.is_none() {
            // A batch is only ever continued on the connection it began on.
            if let Some(batch) = turn.batch.take() {
                tracing::error!("a write batch lost its connection; its writes are rolled back");
                batch.done.send_replace(Some(Err(Failure::other("the batch lost its connection"))));
            }
        }
        let conn = match turn.conn.take() {
            Some(conn) => conn,
            None => match &self.sqlite_file {
                Some(file) => Conn::Direct(Box::new(self.open_writer(file).await?)),
                None => Conn::Pooled(self.pool.acquire().await?),
            },
        };
        let mut step = Step::take(&mut turn, conn);
        if step.turn.batch.is_none() {
            match begin_batch(step.conn()).await {
                Ok((last_seq, last_hash)) => {
                    step.turn.batches += 1;
                    step.turn.batch = Some(Batch {
                        id: step.turn.batches,
                        last_seq,
                        last_hash,
                        finished: 0,
                        first_finished: None,
                        done: watch::channel(None).0,
                        abandoned: false,
                    });
                }
                Err(e) => {
                    // Whatever state the connection is in, it is not used again.
                    if super::is_read_only(&e) {
                        self.writer.read_only.store(true, Ordering::SeqCst);
                    }
                    step.fail(Failure::of(&e));
                    return Err(e.into());
                }
            }
        }
        let conn = step.keep();
        let begun_at = turn.batch.as_ref().map_or((0, String::new()), |b| (b.last_seq, b.last_hash.clone()));
        Ok(WriteTx {
            tx: Member(Some(conn)),
            turn: Some(turn),
            writer,
            forgets: Vec::new(),
            actor: actor.clone(),
            last_seq: begun_at.0,
            last_hash: begun_at.1.clone(),
            begun_at,
            at: now_text(),
            began: Instant::now(),
        })
    }

    /// The writer's connection to the SQLite file. After the file could only be read, every
    /// other connection is closed first (see [`Db::close_other_connections`]), so that a file
    /// writable again is written without a restart.
    async fn open_writer(&self, file: &std::path::Path) -> Result<Direct, sqlx::Error> {
        if self.writer.read_only.load(Ordering::SeqCst) {
            self.close_other_connections().await;
        }
        let opened = Direct::open(file);
        self.writer.read_only.store(opened.as_ref().is_err_and(super::is_read_only), Ordering::SeqCst);
        opened
    }

    pub fn write_stats(&self) -> WriteStats {
        let w = &self.writer;
        WriteStats {
            writes: w.writes.load(Ordering::Relaxed),
            commits: w.commits.load(Ordering::Relaxed),
            writing: Duration::from_micros(w.writing_us.load(Ordering::Relaxed)),
            committing: Duration::from_micros(w.committing_us.load(Ordering::Relaxed)),
        }
    }

    /// Ends the store: the writer's connection goes back to the pool, and the pool closes.
    pub async fn close(&self) {
        if self.writer.hooks.iter().any(|hook| hook.waiting()) {
            if let Ok(w) = self.begin_write(&Actor::system("close")).await {
                if let Err(error) = w.commit().await {
                    tracing::warn!(%error, "the answers to reading transactions were not written");
                }
            }
        }
        let mut turn = self.writer.turn.lock().await;
        roll_back_abandoned(&mut turn).await;
        if let Some(conn) = turn.conn.take() {
            if turn.batch.is_some() {
                let _ = commit_batch(&self.writer, &mut turn, conn).await;
            }
        }
        turn.conn = None;
        drop(turn);
        self.readers.close();
        self.pool.close().await;
    }
}

/// `BEGIN`, the audit head (a no-op update: it takes SQLite's write lock, PostgreSQL's row
/// lock), and the first write's savepoint.
async fn begin_batch(conn: &mut Conn) -> Result<(i64, String), sqlx::Error> {
    match conn {
        Conn::Direct(direct) => direct.begin_immediate().await?,
        _ => {
            conn.execute("BEGIN").await?;
        }
    }
    let row = sqlx::query("UPDATE audit_head SET last_seq = last_seq WHERE id = 1 RETURNING last_seq, last_hash")
        .fetch_one(&mut *conn)
        .await?;
    conn.execute("SAVEPOINT write").await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

impl WriteTx {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The write's instant (the same for the change and its audit entries).
    pub fn at(&self) -> &str {
        &self.at
    }

    /// Marks what this write changes that the store keeps in memory, to be forgotten
    /// once the write is committed.
    pub(crate) fn forget(&mut self, what: Arc<dyn Forget>) {
        if !self.forgets.iter().any(|f| Arc::ptr_eq(f, &what)) {
            self.forgets.push(what);
        }
    }

    /// Rolls back everything this write did so far and lets it start over (after a
    /// statement failed, PostgreSQL accepts no other until this).
    pub async fn discard(&mut self) -> Result<(), StoreError> {
        self.tx.execute("ROLLBACK TO SAVEPOINT write").await?;
        (self.last_seq, self.last_hash) = self.begun_at.clone();
        Ok(())
    }

    /// Finishes the write and returns once it is committed to the database (with the writes
    /// it was batched with). The batch is handed on or committed in a task of its own: a caller
    /// that stops waiting (a client that hung up) neither cuts the batch short nor leaves it
    /// without a write to commit it.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let (Some(conn), Some(turn)) = (self.tx.0.take(), self.turn.take()) else {
            return Err(StoreError::Commit("the write was already ended".into()));
        };
        let finished = Finished {
            writer: Arc::clone(&self.writer),
            last_seq: self.last_seq,
            last_hash: std::mem::take(&mut self.last_hash),
            began: self.began,
            forgets: std::mem::take(&mut self.forgets),
        };
        match tokio::spawn(finished.commit(turn, conn)).await {
            Ok(committed) => committed,
            Err(e) => Err(StoreError::Commit(format!("the commit was stopped: {e}"))),
        }
    }
}

/// A write that has done its work, on its way to the commit.
struct Finished {
    writer: Arc<Writer>,
    last_seq: i64,
    last_hash: String,
    began: Instant,
    forgets: Vec<Arc<dyn Forget>>,
}

impl Finished {
    async fn commit(self, mut turn: OwnedMutexGuard<Turn>, conn: Conn) -> Result<(), StoreError> {
        let writer = &self.writer;
        let Some(batch) = turn.batch.as_mut() else {
            return Err(StoreError::Commit("the write's batch was ended before it".into()));
        };
        batch.last_seq = self.last_seq;
        batch.last_hash = self.last_hash;
        batch.finished += 1;
        writer.writes.fetch_add(1, Ordering::Relaxed);
        writer.writing_us.fetch_add(micros(self.began), Ordering::Relaxed);
        let first_finished = *batch.first_finished.get_or_insert_with(Instant::now);
        // Hand the batch on to a write waiting for its turn, or, with nobody waiting, keep
        // it open a moment for a write about to begin: the batch commits once it is full or
        // old, or when its first finished write has waited long enough.
        let waiting = writer.waiting.load(Ordering::SeqCst) > 0;
        let age = first_finished.elapsed();
        let keep_open = if waiting { MAX_AGE } else { LINGER };
        let hand_on = batch.finished < MAX_WRITES && age < keep_open;
        let committed = if hand_on {
            let (id, done) = (batch.id, batch.done.subscribe());
            // This write's savepoint is released and the next one's taken, in one round trip.
            let mut step = Step::take(&mut turn, conn);
            if let Err(e) = step.conn().execute("RELEASE SAVEPOINT write; SAVEPOINT write").await {
                step.fail(Failure::of(&e));
                return Err(e.into());
            }
            step.keep_in_turn();
            drop(turn);
            let patience = if waiting { HANDOVER_WAIT } else { LINGER.saturating_sub(age) };
            writer.await_commit(id, done, patience).await
        } else {
            commit_batch(writer, &mut turn, conn).await
        };
        if committed.is_ok() {
            for what in &self.forgets {
                what.forget();
            }
        }
        committed
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let (Some(conn), Some(mut turn)) = (self.tx.0.take(), self.turn.take()) else {
            return;
        };
        turn.conn = Some(conn);
        let Some(batch) = turn.batch.as_mut() else {
            return;
        };
        batch.abandoned = true;
        // Roll back to the savepoint now, and commit the writes before it if nobody else will
        // (whoever takes the turn next would do the rollback otherwise).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let writer = Arc::clone(&self.writer);
            runtime.spawn(async move {
                roll_back_abandoned(&mut turn).await;
                if writer.waiting.load(Ordering::SeqCst) == 0 && turn.batch.is_some() {
                    if let Some(conn) = turn.conn.take() {
                        // Each finished write learns the outcome from the batch.
                        let _ = commit_batch(&writer, &mut turn, conn).await;
                    }
                }
            });
        }
    }
}

impl Writer {
    /// Waits for batch `id` to commit. If it has not after a while, the write it was handed
    /// to is slow or gone: this write takes the turn and commits the batch itself.
    async fn await_commit(
        &self,
        id: u64,
        mut done: watch::Receiver<Outcome>,
        mut patience: Duration,
    ) -> Result<(), StoreError> {
        loop {
            if let Some(outcome) = done.borrow_and_update().clone() {
                return outcome.map_err(StoreError::from);
            }
            let waited = tokio::time::timeout(patience, done.changed()).await;
            patience = HANDOVER_WAIT;
            match waited {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(StoreError::Commit("the batch was dropped without a commit".into())),
                Err(_) => {
                    let mut turn = Arc::clone(&self.turn).lock_owned().await;
                    if turn.batch.as_ref().is_some_and(|b| b.id == id) {
                        roll_back_abandoned(&mut turn).await;
                        if turn.batch.is_some() {
                            if let Some(conn) = turn.conn.take() {
                                let _ = commit_batch(self, &mut turn, conn).await;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Moves the audit head and commits the batch; tells every write of it the outcome.
async fn commit_batch(writer: &Writer, turn: &mut Turn, conn: Conn) -> Result<(), StoreError> {
    let Some((last_seq, last_hash)) = turn.batch.as_ref().map(|b| (b.last_seq, b.last_hash.clone())) else {
        turn.conn = Some(conn);
        return Ok(());
    };
    let started = Instant::now();
    let mut after_commit = Vec::with_capacity(writer.hooks.len());
    let mut step = Step::take(turn, conn);
    let result = async {
        let conn = step.conn();
        for hook in &writer.hooks {
            after_commit.push(Arc::clone(hook).write(conn).await?);
        }
        sqlx::query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
            .bind(last_seq)
            .bind(&last_hash)
            .execute(&mut *conn)
            .await?;
        conn.execute("COMMIT").await
    }
    .await;
    writer.commits.fetch_add(1, Ordering::Relaxed);
    writer.committing_us.fetch_add(micros(started), Ordering::Relaxed);
    match result {
        Ok(_) => {
            for action in after_commit {
                action();
            }
            let batch = step.turn.batch.take();
            step.keep_in_turn();
            if let Some(batch) = batch {
                batch.done.send_replace(Some(Ok(())));
            }
            Ok(())
        }
        Err(error) => {
            tracing::error!(%error, "commit failed; the batch's writes are rolled back");
            if super::is_read_only(&error) {
                writer.read_only.store(true, Ordering::SeqCst);
            }
            step.fail(Failure::of(&error));
            Err(error.into())
        }
    }
}

/// The batch cannot go on: every write of it fails, and its transaction is rolled back (the
/// connection is closed, whatever state it is in).
fn fail_batch(turn: &mut Turn, conn: Conn, failure: Failure) {
    tracing::error!(error = %failure.message, "write batch failed; its writes are rolled back");
    if let Some(batch) = turn.batch.take() {
        batch.done.send_replace(Some(Err(failure)));
    }
    conn.close_on_drop();
}

/// The writer's connection, taken out of the turn for a step of the mechanism (beginning a
/// batch, handing it on, committing it, rolling back a dropped write). Should the step's
/// future be dropped at an await, the guard fails the batch and closes the connection: a
/// transaction left open on a connection nobody tracks would hold the audit head's lock on
/// PostgreSQL and stall every later write, and a batch must never outlive its connection.
struct Step<'t> {
    turn: &'t mut Turn,
    conn: Option<Conn>,
}

impl<'t> Step<'t> {
    fn take(turn: &'t mut Turn, conn: Conn) -> Step<'t> {
        Step { turn, conn: Some(conn) }
    }

    // INVARIANT: the connection is only taken out by `keep`, `keep_in_turn` and `fail`,
    // which consume the step.
    #[allow(clippy::expect_used)]
    fn conn(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("a step holds the connection until it ends")
    }

    /// The step is over; the connection goes to the caller.
    #[allow(clippy::expect_used)]
    fn keep(mut self) -> Conn {
        self.conn.take().expect("a step holds the connection until it ends")
    }

    /// The step is over; the connection goes back to the turn.
    fn keep_in_turn(mut self) {
        self.turn.conn = self.conn.take();
    }

    /// The step failed: the batch fails with it.
    fn fail(mut self, failure: Failure) {
        if let Some(conn) = self.conn.take() {
            fail_batch(self.turn, conn, failure);
        }
    }
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            fail_batch(self.turn, conn, Failure::other("the step was cancelled before it finished"));
        }
    }
}

/// Rolls back the savepoint of a write that was dropped before it finished.
async fn roll_back_abandoned(turn: &mut Turn) {
    if !turn.batch.as_ref().is_some_and(|b| b.abandoned) {
        return;
    }
    let Some(conn) = turn.conn.take() else {
        return;
    };
    let mut step = Step::take(turn, conn);
    // The savepoint stays open for the next write.
    match sqlx::query("ROLLBACK TO SAVEPOINT write").execute(step.conn()).await {
        Ok(_) => {
            if let Some(batch) = step.turn.batch.as_mut() {
                batch.abandoned = false;
            }
            step.keep_in_turn();
        }
        Err(e) => step.fail(Failure::of(&e)),
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}
