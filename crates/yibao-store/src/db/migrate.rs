//! One schema source for both backends. Tokens in the SQL are filled in per backend:
//! `{{ID}}` is an auto-increment primary key, `{{C}}` a binary collation for text columns
//! searched by prefix. sqlx's migrator records what ran, with checksums.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

use super::{Backend, StoreError};

/// A migration's SQL: one text for both backends, or one each where the dialects part
/// (SQLite cannot alter a constraint; it rebuilds the table).
enum Sql {
    Both(&'static str),
    PerBackend { sqlite: &'static str, postgres: &'static str },
}

impl Sql {
    fn for_backend(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Sql::Both(sql), _) => sql,
            (Sql::PerBackend { sqlite, .. }, Backend::Sqlite) => sqlite,
            (Sql::PerBackend { postgres, .. }, Backend::Postgres) => postgres,
        }
    }
}

/// (version, description, SQL) in order. Append new files; never edit an applied one.
const MIGRATIONS: &[(i64, &str, Sql)] = &[
    (1, "foundation", Sql::Both(include_str!("../../migrations/0001_foundation.sql"))),
    (2, "policies_catalogs", Sql::Both(include_str!("../../migrations/0002_policies_catalogs.sql"))),
    (3, "calendar", Sql::Both(include_str!("../../migrations/0003_calendar.sql"))),
    (4, "filings_cards", Sql::Both(include_str!("../../migrations/0004_filings_cards.sql"))),
    (
        5,
        "institution_accounts",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0005_institution_accounts.sqlite.sql"),
            postgres: include_str!("../../migrations/0005_institution_accounts.postgres.sql"),
        },
    ),
    (6, "documents", Sql::Both(include_str!("../../migrations/0006_documents.sql"))),
    (7, "card_estimate", Sql::Both(include_str!("../../migrations/0007_card_estimate.sql"))),
    (8, "platform", Sql::Both(include_str!("../../migrations/0008_platform.sql"))),
    (9, "visits", Sql::Both(include_str!("../../migrations/0009_visits.sql"))),
    (10, "settlement", Sql::Both(include_str!("../../migrations/0010_settlement.sql"))),
    (11, "claims", Sql::Both(include_str!("../../migrations/0011_claims.sql"))),
    (12, "payments", Sql::Both(include_str!("../../migrations/0012_payments.sql"))),
    (13, "claim_catalog", Sql::Both(include_str!("../../migrations/0013_claim_catalog.sql"))),
    (
        14,
        "employer_accounts",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0014_employer_accounts.sqlite.sql"),
            postgres: include_str!("../../migrations/0014_employer_accounts.postgres.sql"),
        },
    ),
    (15, "platform_keys", Sql::Both(include_str!("../../migrations/0015_platform_keys.sql"))),
    (16, "bank_format", Sql::Both(include_str!("../../migrations/0016_bank_format.sql"))),
    (17, "settlements_person_year", Sql::Both(include_str!("../../migrations/0017_settlements_person_year.sql"))),
    (18, "payee_account_changes", Sql::Both(include_str!("../../migrations/0018_payee_account_changes.sql"))),
    (19, "account_approval", Sql::Both(include_str!("../../migrations/0019_account_approval.sql"))),
    (20, "audit_key", Sql::Both(include_str!("../../migrations/0020_audit_key.sql"))),
    (21, "one_account_per_person", Sql::Both(include_str!("../../migrations/0021_one_account_per_person.sql"))),
    (22, "card_salt", Sql::Both(include_str!("../../migrations/0022_card_salt.sql"))),
    (23, "registered_account_checks", Sql::Both(include_str!("../../migrations/0023_registered_account_checks.sql"))),
    (24, "password_change", Sql::Both(include_str!("../../migrations/0024_password_change.sql"))),
    (25, "supervision", Sql::Both(include_str!("../../migrations/0025_supervision.sql"))),
    (
        26,
        "settlement_hits",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0026_settlement_hits.sqlite.sql"),
            postgres: include_str!("../../migrations/0026_settlement_hits.postgres.sql"),
        },
    ),
    (27, "medical_history", Sql::Both(include_str!("../../migrations/0027_medical_history.sql"))),
    (28, "audits", Sql::Both(include_str!("../../migrations/0028_audits.sql"))),
    (29, "rescue_admissions", Sql::Both(include_str!("../../migrations/0029_rescue_admissions.sql"))),
    (30, "institution_findings", Sql::Both(include_str!("../../migrations/0030_institution_findings.sql"))),
    (31, "finding_decisions", Sql::Both(include_str!("../../migrations/0031_finding_decisions.sql"))),
    (
        32,
        "sample_salt",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0032_sample_salt.sqlite.sql"),
            postgres: include_str!("../../migrations/0032_sample_salt.postgres.sql"),
        },
    ),
    (33, "contributions", Sql::Both(include_str!("../../migrations/0033_contributions.sql"))),
    (34, "online_payments", Sql::Both(include_str!("../../migrations/0034_online_payments.sql"))),
    (
        35,
        "account_ledger",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0035_account_ledger.sqlite.sql"),
            postgres: include_str!("../../migrations/0035_account_ledger.postgres.sql"),
        },
    ),
    (
        36,
        "withdrawals",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0036_withdrawals.sqlite.sql"),
            postgres: include_str!("../../migrations/0036_withdrawals.postgres.sql"),
        },
    ),
    (
        37,
        "clearing",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0037_clearing.sqlite.sql"),
            postgres: include_str!("../../migrations/0037_clearing.postgres.sql"),
        },
    ),
    (
        38,
        "fund_books",
        Sql::PerBackend {
            sqlite: include_str!("../../migrations/0038_fund_books.sqlite.sql"),
            postgres: include_str!("../../migrations/0038_fund_books.postgres.sql"),
        },
    ),
    (
        39,
        "pharmacy_clearing_deposit_release",
        Sql::Both(include_str!("../../migrations/0039_pharmacy_clearing_deposit_release.sql")),
    ),
    (40, "diagnoses_card_ready", Sql::Both(include_str!("../../migrations/0040_diagnoses_card_ready.sql"))),
    (41, "card_losses", Sql::Both(include_str!("../../migrations/0041_card_losses.sql"))),
    (42, "account_changes", Sql::Both(include_str!("../../migrations/0042_account_changes.sql"))),
    (43, "audit_search", Sql::Both(include_str!("../../migrations/0043_audit_search.sql"))),
];

/// The migrations of one backend, up to a version (all when `None`).
#[derive(Debug)]
struct Source(Backend, Option<i64>);

pub(crate) fn render(sql: &str, backend: Backend) -> String {
    let (id, c) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", ""),
        Backend::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "COLLATE \"C\""),
    };
    sql.replace("{{ID}}", id).replace("{{C}}", c)
}

impl<'s> MigrationSource<'s> for Source {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(MIGRATIONS
                .iter()
                .filter(|(version, _, _)| self.1.is_none_or(|last| *version <= last))
                .map(|(version, name, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*name),
                        MigrationType::Simple,
                        Cow::Owned(render(sql.for_backend(self.0), self.0)),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Applies the migrations not yet applied, up to `last` (all when `None`).
pub(crate) async fn run(pool: &AnyPool, backend: Backend, last: Option<i64>) -> Result<(), StoreError> {
    let migrator = Migrator::new(Source(backend, last)).await?;
    migrator.run(pool).await?;
    Ok(())
}
