//! Answers to reading transactions (1101, 2303, 3201, 3202), kept in memory until the next
//! commit writes them (see [`Store::defer_platform_reply`](crate::Store::defer_platform_reply)).

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::{StoredReply, MESSAGE_COLS};
use crate::db::write::AfterCommit;
use crate::db::{BeforeCommit, Conn};

/// How long a deferred answer waits for another write's commit before a write of nothing
/// commits it.
pub(super) const DEFER_AT_MOST: std::time::Duration = std::time::Duration::from_millis(20);

/// Answers to reading transactions waiting for the next commit ([`Store::defer_platform_reply`]).
#[derive(Debug, Default)]
pub(crate) struct DeferredReplies(std::sync::Mutex<Vec<Deferred>>);

#[derive(Debug, Clone)]
pub(super) struct Deferred {
    pub(super) institution_id: i64,
    pub(super) msgid: String,
    pub(super) infno: String,
    pub(super) reply: StoredReply,
    pub(super) received_at: String,
}

impl Deferred {
    /// Whether this is the answer to `msgid` from the institution.
    fn answers(&self, institution_id: i64, msgid: &str) -> bool {
        self.institution_id == institution_id && self.msgid == msgid
    }
}

pub(super) enum Pushed {
    Added { first: bool },
    Earlier(StoredReply),
}

impl DeferredReplies {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Deferred>> {
        // Nothing panics while holding the lock; a poisoned list is still a list.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn find(&self, institution_id: i64, msgid: &str) -> Option<StoredReply> {
        self.lock().iter().find(|d| d.answers(institution_id, msgid)).map(|d| d.reply.clone())
    }

    pub(super) fn push(&self, entry: Deferred) -> Pushed {
        let mut list = self.lock();
        if let Some(earlier) = list.iter().find(|d| d.answers(entry.institution_id, &entry.msgid)) {
            return Pushed::Earlier(earlier.reply.clone());
        }
        list.push(entry);
        Pushed::Added { first: list.len() == 1 }
    }

    /// The answers to write with the commit being made (they stay findable until it is).
    fn pending(&self) -> Vec<Deferred> {
        self.lock().clone()
    }

    /// Forgets the answers a commit has written.
    fn written(&self, written: &[Deferred]) {
        self.lock().retain(|d| !written.iter().any(|w| w.answers(d.institution_id, &d.msgid)));
    }
}

/// The answers go into whichever commit comes next.
impl BeforeCommit for DeferredReplies {
    fn waiting(&self) -> bool {
        !self.lock().is_empty()
    }

    fn write(self: Arc<Self>, conn: &mut Conn) -> BoxFuture<'_, Result<AfterCommit, sqlx::Error>> {
        Box::pin(async move {
            let pending = self.pending();
            write_deferred(conn, &pending).await?;
            let after: AfterCommit = Box::new(move || self.written(&pending));
            Ok(after)
        })
    }
}

/// Writes deferred answers in the batch being committed. An answer under a `msgid` already
/// recorded (a concurrent request that reused it) is left out.
async fn write_deferred(conn: &mut Conn, deferred: &[Deferred]) -> Result<(), sqlx::Error> {
    for chunk in deferred.chunks(100) {
        let mut sql = format!("INSERT INTO platform_messages ({MESSAGE_COLS}) VALUES ");
        for i in 0..chunk.len() {
            let p = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6));
        }
        sql.push_str(" ON CONFLICT (institution_id, msgid) DO NOTHING");
        let mut query = sqlx::query(&sql);
        for d in chunk {
            query = query
                .bind(d.institution_id)
                .bind(d.msgid.clone())
                .bind(d.infno.clone())
                .bind(d.reply.request_sha256.clone())
                .bind(d.reply.response.clone())
                .bind(d.received_at.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
