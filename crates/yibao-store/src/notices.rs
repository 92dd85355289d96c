//! What yibao tells an insured person (a change to where their money goes, say): kept, and
//! shown on their home page, newest first.

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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO person_notices (person_id, at, kind, zh, en) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(person_id)
        .bind(w.at().to_string())
        .bind(kind)
        .bind(zh)
        .bind(en)
        .fetch_one(&mut *w.tx)
        .await?;
        let notice = serde_json::json!({ "person_id": person_id, "kind": kind, "zh": zh, "en": en });
        w.record("notice.add", "person_notice", &id.to_string(), None::<&()>, Some(&notice)).await
    }

    /// A person's notices, newest first (at most `limit`).
    pub async fn notices_of(&self, person_id: i64, limit: i64) -> Result<Vec<Notice>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, kind, zh, en FROM person_notices WHERE person_id = $1 ORDER BY id DESC LIMIT $2",
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
                })
            })
            .collect()
    }
}
