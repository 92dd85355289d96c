//! One search box for staff: what a typed text names — a person by name or ID number, a
//! claim by number or by an invoice it was made with, a direct settlement by `setl_id`, a
//! payment batch, a clearing, an institution by code or name — only in the caller's regions
//! and only of the kinds the caller may read.

use serde::Serialize;
use sqlx::Row;
use yibao_core::Scope;

use crate::db::query::{contains_pattern, escape_like, Arg, Sql};
use crate::{PersonQuery, Store, StoreError};

/// What a search can find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundKind {
    Person,
    Claim,
    Settlement,
    Batch,
    Clearing,
    Institution,
}

/// One thing found: its kind and id, its number or code, its name, and a word on its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub kind: FoundKind,
    pub id: i64,
    /// The number people type: a claim number, a `setl_id`, a code, an ID number (masked by
    /// the caller where it must be).
    pub key: String,
    pub name: String,
    /// The state code, or the date for a settlement.
    pub detail: String,
}

impl Store {
    /// What `text` names among `kinds` in `scope`, at most `limit` of each kind. Fewer than two
    /// characters find nothing.
    pub async fn find(
        &self,
        text: &str,
        scope: &Scope,
        kinds: &[FoundKind],
        limit: i64,
    ) -> Result<Vec<Found>, StoreError> {
        let t = text.trim();
        if t.chars().count() < 2 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for &kind in kinds {
            if kind == FoundKind::Person {
                let q = PersonQuery {
                    text: Some(t.to_string()),
                    scope: Some(scope.clone()),
                    limit,
                    ..PersonQuery::default()
                };
                out.extend(self.search_persons(&q).await?.items.into_iter().map(|p| Found {
                    kind,
                    id: p.id,
                    key: p.resident_id.to_string(),
                    name: p.name.to_string(),
                    detail: p.status.code().to_string(),
                }));
                continue;
            }
            let mut sql = Sql::new("");
            let prefix = sql.arg(Arg::S(format!("{}%", escape_like(t))));
            let (select, region) = match kind {
                FoundKind::Claim => {
                    let exact = sql.arg(Arg::S(t.to_string()));
                    (
                        format!(
                            "SELECT c.id, c.number, p.name, c.state FROM claims c JOIN persons p ON p.id = c.person_id \
                             WHERE (c.number LIKE {prefix} ESCAPE '\\' OR c.id IN (SELECT claim_id FROM claim_invoices \
                             WHERE invoice_no = {exact}))"
                        ),
                        "p.insured_region",
                    )
                }
                FoundKind::Settlement => (
                    format!(
                        "SELECT s.id, s.setl_id, p.name, s.setl_date FROM settlements s \
                         JOIN persons p ON p.id = s.person_id WHERE s.setl_id LIKE {prefix} ESCAPE '\\'"
                    ),
                    "p.insured_region",
                ),
                FoundKind::Batch => (
                    format!(
                        "SELECT b.id, b.number, '', b.state FROM payment_batches b \
                         WHERE b.number LIKE {prefix} ESCAPE '\\'"
                    ),
                    "b.region",
                ),
                FoundKind::Clearing => (
                    format!(
                        "SELECT k.id, k.number, i.name, k.state FROM clearings k \
                         JOIN institutions i ON i.id = k.institution_id WHERE k.number LIKE {prefix} ESCAPE '\\'"
                    ),
                    "k.region",
                ),
                FoundKind::Institution => {
                    let part = sql.arg(Arg::S(contains_pattern(t)));
                    (
                        format!(
                            "SELECT i.id, i.code, i.name, '' FROM institutions i \
                             WHERE (i.code LIKE {prefix} ESCAPE '\\' OR i.name LIKE {part} ESCAPE '\\')"
                        ),
                        "i.region",
                    )
                }
                FoundKind::Person => continue,
            };
            sql.text = select;
            sql.scope_filter(region, scope);
            let limit = sql.arg(Arg::I(limit.clamp(1, 100)));
            sql.text.push_str(&format!(" ORDER BY 1 DESC LIMIT {limit}"));
            for r in sql.fetch_all(&self.db).await? {
                out.push(Found {
                    kind,
                    id: r.try_get(0)?,
                    key: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                    name: r.try_get(2)?,
                    detail: r.try_get(3)?,
                });
            }
        }
        Ok(out)
    }
}
