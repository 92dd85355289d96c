//! What yibao tells an insured person (a change to where their money goes, a claim returned
//! or decided, money paid or refused by the bank, a filing decided): kept in the same
//! transaction as what it tells of, so nothing is lost; shown in their inbox (消息, with the
//! unread count) and on their home page, newest first; and sent by SMS by an outbox worker
//! (`unsent_notices` / `mark_notice_sent`), at least once. A message never holds a full ID or
//! card number.

use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError, WriteTx};

/// Something yibao told a person.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub text: yibao_core::Text,
    /// The page it concerns (`/claims/12`), if any.
    pub link: Option<String>,
    pub read: bool,
}

/// A message waiting for its SMS: to whom (the person's mobile number, if they gave one).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub phone: Option<String>,
    pub text: yibao_core::Text,
}

impl Store {
    /// Tells a person something (kept, and shown on their home page).
    pub async fn add_notice(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        kind: &str,
        zh: &str,
        en: &str,
    ) -> Result<(), StoreError> {
        self.tell(w, person_id, kind, &yibao_core::Text::new(zh, en), None).await
    }

    /// Tells a person something about the page `link`, in the write that it happened in.
    pub(crate) async fn tell(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        kind: &str,
        text: &yibao_core::Text,
        link: Option<&str>,
    ) -> Result<(), StoreError> {
        let (zh, en) = (text.zh.as_str(), text.en.as_str());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO person_notices (person_id, at, kind, zh, en, link) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(person_id)
        .bind(w.at().to_string())
        .bind(kind)
        .bind(zh)
        .bind(en)
        .bind(link.map(str::to_string))
        .fetch_one(&mut *w.tx)
        .await?;
        let notice = serde_json::json!({ "person_id": person_id, "kind": kind, "zh": zh, "en": en });
        w.record("notice.add", "person_notice", &id.to_string(), None::<&()>, Some(&notice)).await
    }

    /// A person's notices, newest first (at most `limit`).
    pub async fn notices_of(&self, person_id: i64, limit: i64) -> Result<Vec<Notice>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, zh, en, link, read_at FROM person_notices WHERE person_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(person_id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Notice {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    text: yibao_core::Text::new(r.try_get::<String, _>(3)?, r.try_get::<String, _>(4)?),
                    link: r.try_get(5)?,
                    read: r.try_get::<Option<String>, _>(6)?.is_some(),
                })
            })
            .collect()
    }

    /// How many of a person's messages they have not read.
    pub async fn unread_notices(&self, person_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM person_notices WHERE person_id = $1 AND read_at IS NULL")
            .bind(person_id)
            .fetch_one(&mut self.read_conn().await?)
            .await?)
    }

    /// The person read their messages.
    pub async fn mark_notices_read(&self, w: &mut WriteTx, person_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE person_notices SET read_at = $1 WHERE person_id = $2 AND read_at IS NULL")
            .bind(w.at().to_string())
            .bind(person_id)
            .execute(&mut *w.tx)
            .await?;
        Ok(())
    }

    /// Messages not yet sent by SMS, oldest first (at most `limit`).
    pub async fn unsent_notices(&self, limit: i64) -> Result<Vec<Outgoing>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.id, p.phone, n.zh, n.en FROM person_notices n JOIN persons p ON p.id = n.person_id \
             WHERE n.sms_at IS NULL ORDER BY n.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Outgoing {
                    id: r.try_get(0)?,
                    phone: r.try_get(1)?,
                    text: yibao_core::Text::new(r.try_get::<String, _>(2)?, r.try_get::<String, _>(3)?),
                })
            })
            .collect()
    }

    /// A message's SMS went out (or there was no number to send it to).
    pub async fn mark_notice_sent(&self, w: &mut WriteTx, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE person_notices SET sms_at = $1 WHERE id = $2 AND sms_at IS NULL")
            .bind(w.at().to_string())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        Ok(())
    }
}
