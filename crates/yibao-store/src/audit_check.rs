//! Whether the business rows are what the audit log says they are: for each audited kind of
//! record (persons, employers, institutions, accounts, payment orders), the fields of every
//! row are compared with the values the log's entries last gave them, and a row the log
//! never saw is named. A change made behind yibao's back (a payee card edited in the
//! database, say) shows here even though the chain itself is intact.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Store, StoreError};

/// One way the database and the audit log disagree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditDifference {
    pub entity: String,
    pub id: String,
    /// The field that differs; empty when the log has no entry for the row at all.
    pub field: String,
    /// The value in the database and the value the log last recorded (JSON text).
    pub in_database: String,
    pub in_log: String,
}

impl std::fmt::Display for AuditDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} {} is in the database but not in the audit log", self.entity, self.id)
        } else {
            write!(
                f,
                "{} {}: {} is {} in the database but {} in the audit log",
                self.entity, self.id, self.field, self.in_database, self.in_log
            )
        }
    }
}

/// The kinds checked: (entity in the log, the actions' prefix, the table).
const KINDS: [(&str, &str, &str); 5] = [
    ("person", "person", "persons"),
    ("employer", "employer", "employers"),
    ("institution", "institution", "institutions"),
    ("account", "account", "accounts"),
    ("payment_order", "payment", "payment_orders"),
];

/// Fields serialised with a record that are not its own columns.
const NOT_OWN: [&str; 5] = ["version", "person_name", "employer_name", "claim_number", "institution_name"];

/// `logged` as `now` shows it: a card number logged in full (before cards were masked in the
/// log) becomes `{masked, sha256}` (keyed afterwards like the current record's digest).
fn masked_like(logged: &Value, now: &Value) -> Value {
    match (logged, now.get("masked")) {
        (Value::String(card), Some(_)) => match card.parse::<yibao_core::BankCardNumber>() {
            Ok(card) => serde_json::json!({ "masked": card.masked(), "sha256": card.digest() }),
            Err(_) => logged.clone(),
        },
        _ => logged.clone(),
    }
}

impl Store {
    /// Every difference between the audited business rows and the audit log.
    pub async fn audit_differences(&self) -> Result<Vec<AuditDifference>, StoreError> {
        let mut differences = Vec::new();
        for (entity, prefix, table) in KINDS {
            let expected = self.audited_values(entity, prefix).await?;
            let ids: Vec<i64> =
                sqlx::query_scalar(&format!("SELECT id FROM {table} ORDER BY id")).fetch_all(&self.db.pool).await?;
            for id in ids {
                let Some(fields) = expected.get(&id.to_string()) else {
                    differences.push(AuditDifference {
                        entity: entity.into(),
                        id: id.to_string(),
                        field: String::new(),
                        in_database: String::new(),
                        in_log: String::new(),
                    });
                    continue;
                };
                let mut current = self.current_json(entity, id).await?;
                if let Some(salt) = self.db.card_salt() {
                    yibao_core::bank_card::key_digests(&mut current, salt);
                }
                for (field, logged) in fields {
                    let Some(now) = current.get(field) else { continue };
                    // Not the record's own: the version counter (bumped by steps the log
                    // records in part) and names joined from other records.
                    if NOT_OWN.contains(&field.as_str()) {
                        continue;
                    }
                    // A card logged in full by an older version, masked now: compare masked;
                    // and a digest logged before digests were keyed, keyed.
                    let mut logged = masked_like(logged, now);
                    if let Some(salt) = self.db.card_salt() {
                        yibao_core::bank_card::key_digests(&mut logged, salt);
                    }
                    let logged = &logged;
                    if now != logged {
                        differences.push(AuditDifference {
                            entity: entity.into(),
                            id: id.to_string(),
                            field: field.clone(),
                            in_database: now.to_string(),
                            in_log: logged.to_string(),
                        });
                    }
                }
            }
        }
        Ok(differences)
    }

    /// The values the log last gave each field of each record of `entity` (its actions
    /// beginning with `prefix`), by record id.
    async fn audited_values(
        &self,
        entity: &str,
        prefix: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, Value>>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT entity_id, action, after_data FROM audit_log WHERE entity = $1 ORDER BY seq")
                .bind(entity)
                .fetch_all(&self.db.pool)
                .await?;
        let mut values: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        for (id, action, after) in rows {
            if action.split('.').next() != Some(prefix) {
                continue;
            }
            let fields = values.entry(id).or_default();
            if let Ok(Value::Object(after)) = serde_json::from_str::<Value>(&after) {
                fields.extend(after);
            }
        }
        Ok(values)
    }

    /// A record as its audit entries serialise it.
    async fn current_json(&self, entity: &str, id: i64) -> Result<Value, StoreError> {
        let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| StoreError::Corrupt(e.to_string()));
        match entity {
            "person" => json(serde_json::to_value(self.person(id).await?)),
            "employer" => json(serde_json::to_value(self.employer(id).await?)),
            "institution" => json(serde_json::to_value(self.institution(id).await?)),
            "account" => json(serde_json::to_value(self.account(id).await?)),
            _ => json(serde_json::to_value(self.payment_order(id).await?)),
        }
    }
}
