//! yibao's storage: one implementation over sqlx's `Any` driver that serves SQLite (the
//! embedded default) and PostgreSQL (production). Queries are written once, with `$n`
//! placeholders that both backends accept; the schema is written once, with a few tokens
//! the migration runner fills in per backend.
//!
//! Every write that a person or institution makes goes through a [`WriteTx`], which appends
//! to the hash-chained audit log in the same database transaction as the change.

mod account_admin;
mod accounts;
mod audit_check;
mod audit_search;
mod audits;
mod books;
mod claims;
mod clearing;
mod contributions;
mod cover;
mod db;
mod documents;
mod find;
mod history;
mod individual;
mod notices;
mod payments;
mod platform;
mod recheck;
mod registry;
mod rules;
mod settlement;
mod supervision;
pub mod synthetic;
pub mod testing;

use std::sync::Arc;

pub use accounts::{
    spend_a_password_check, validate_password, Account, AccountChange, ApiKeyOwner, HashedPassword, LoginOutcome,
    NewAccount, SessionInfo,
};
pub use audit_check::AuditDifference;
pub use audit_search::AuditQuery;
pub use audits::{AuditPhoto, AuditTask, Concluded, NewPhoto, NewTask, StoredPreEvaluation};
pub use books::BooksCheck;
pub use claims::{
    ClaimDocument, ClaimEvent, ClaimFilter, ClaimInput, ClaimSort, ClaimSummary, Delegation, InvoiceInput, StoredClaim,
    StoredClaimLine, SubmittedBy,
};
pub use clearing::{Assessment, Clearing, ClearingLine, InstitutionAccount, Objection, Preview};
pub use contributions::{
    Bill, BillLine, Collected, Declared, GatewayNotice, NoticeOutcome, OnlineOrder, PaidMonth, PaymentMatch,
    PersonalPeriod, Purchase,
};
pub use cover::{
    Card, CoverReport, NoCardCertificate, Referral, ReferralInput, StoredFiling, MAX_REFERRAL_DAYS, NO_CARD_DAYS,
};
pub(crate) use db::now_text;
pub use db::{
    redact, Actor, AuditVerification, Backend, DatabaseLock, LockMode, StoreConfig, StoreError, WriteStats, WriteTx,
};
pub use documents::{BlobStore, Document, LocalBlobs};
pub use find::{Found, FoundKind};
pub use history::HistoryEntry;
pub use individual::{
    is_pharmacy, CreditRun, FamilyMember, Heir, PharmacyLine, PharmacyPurchase, PharmacySettlement, Relation,
    Withdrawal, WithdrawalRequest,
};
pub use notices::{Notice, Outgoing};
pub use payments::{AccountGiver, BatchItem, ImportSummary, Payee, PaymentBatch, PaymentOrder};
pub use platform::StoredReply;
pub use recheck::{InstitutionFinding, RecheckSummary};
pub use registry::{
    AccountCheck, AccountHolder, Employer, EmployerInput, Institution, InstitutionInput, Page, Person, PersonInput,
    PersonQuery, RecordVersion,
};
pub use rules::{
    policy_errors_as_invalid, CalendarImport, CatalogImport, DiagnosisImport, PolicySummary, Rejected, Rules,
    StoredEntry, StoredPolicy,
};
pub use settlement::{
    AccountEntry, Admission, Diagnosis, DirectCover, FeeUpload, IndividualAccount, Reconciliation, SettleRequest,
    Settlement, SettlementStatus, StoredFee, Visit, VisitSnapshot, VisitStatus,
};
pub use supervision::{Consequence, HitDecision, HitQueue, HitState, RuleBaseVersion, StoredHit, Subject};
pub use yibao_core::sporadic::ItemisedLine;

/// The database handle: the database (`db/`, the mechanism) and what the domains keep in
/// memory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    db: db::Db,
    /// The policies and catalogs in force.
    rules_cache: Arc<rules::RulesCache>,
    /// The platform interface's credentials, sign-ins and deferred answers.
    platform: Arc<platform::PlatformMemory>,
    /// Forgotten when an institution changes (the platform's copies of institutions).
    institution_copies: Arc<dyn db::Forget>,
    /// The supervision rule bases in force.
    rule_bases: Arc<supervision::RuleBases>,
}

impl Store {
    /// Connects (creating a SQLite file if needed). Does not migrate; see [`Store::migrate`].
    pub async fn connect(config: &StoreConfig) -> Result<Store, StoreError> {
        let platform = Arc::new(platform::PlatformMemory::default());
        let db = db::Db::connect(config, vec![Arc::clone(&platform.deferred) as Arc<dyn db::BeforeCommit>]).await?;
        Ok(Store {
            db,
            rules_cache: Arc::default(),
            institution_copies: Arc::clone(&platform.credentials) as Arc<dyn db::Forget>,
            platform,
            rule_bases: Arc::default(),
        })
    }

    /// Begins an audited write on behalf of `actor` (see [`WriteTx`]).
    pub async fn begin_write(&self, actor: &Actor) -> Result<WriteTx, StoreError> {
        self.db.begin_write(actor).await
    }

    /// A read of several statements that sees one consistent state (a snapshot).
    pub(crate) async fn begin_read(&self) -> Result<db::Conn, StoreError> {
        self.db.begin_read().await
    }

    /// A connection for a read of one statement (or of several that need not agree).
    pub(crate) async fn read_conn(&self) -> Result<db::Conn, StoreError> {
        self.db.read_conn().await
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// Applies every migration not yet applied. Safe to run at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.db.migrate(None).await
    }

    /// The newest migration applied (0 for a database never migrated).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.db.schema_version().await
    }

    /// Applies the migrations up to `version` only: tests of an upgrade start from an
    /// older schema with data in it.
    #[doc(hidden)]
    pub async fn migrate_to(&self, version: i64) -> Result<(), StoreError> {
        self.db.migrate(Some(version)).await
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// Whether no registry data exists yet (then the demo may be seeded).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&self.db.pool).await?;
        Ok(n == 0)
    }

    pub fn write_stats(&self) -> WriteStats {
        self.db.write_stats()
    }

    /// Ends the store: what waits for a commit is written, and the connections close.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Checks the audit log's chain from the first entry to the head.
    pub async fn verify_audit_log(&self) -> Result<AuditVerification, StoreError> {
        self.db.verify_audit_log().await
    }

    /// Keys the audit chain with the configured key (see `Db::key_audit_log`): from an
    /// unkeyed chain (`old` = `None`), or from one keyed with `old` (rotation); and seals the
    /// platform's signing secrets under it. Returns how many audit entries were re-hashed.
    pub async fn key_audit_log(
        &self,
        old: Option<&yibao_core::audit::AuditKey>,
        upgrade: bool,
    ) -> Result<i64, StoreError> {
        let store = self.clone();
        let old_key = old.cloned();
        let reseal: db::audit::Reseal<'_> =
            Box::new(move |conn| Box::pin(async move { store.seal_platform_secrets(conn, old_key.as_ref()).await }));
        let entries = self.db.key_audit_log(old, upgrade, reseal).await?;
        crate::db::cache::Forget::forget(&*self.platform.credentials);
        Ok(entries)
    }

    pub async fn audit_entries_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<yibao_core::audit::AuditEntry>, StoreError> {
        self.db.audit_entries_after(after, limit).await
    }

    /// The newest audit entries, optionally for one entity, newest first.
    pub async fn recent_audit_entries(
        &self,
        entity: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<yibao_core::audit::AuditEntry>, StoreError> {
        self.db.recent_audit_entries(entity, limit).await
    }

    /// For tests (of tamper detection) and benchmarks only: runs raw SQL against the database.
    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        self.db.execute_raw(sql).await
    }

    /// For benchmarks only: runs one read statement on the connection the platform
    /// interface's point reads use (for SQLite, on the calling thread).
    #[doc(hidden)]
    pub async fn read_raw(&self, sql: &str) -> Result<u64, StoreError> {
        self.db.read_raw(sql).await
    }

    /// Takes the database's lock: shared by every running server, exclusive for maintenance
    /// that must run alone. `None` if another holder's lock excludes it.
    pub async fn try_lock(&self, mode: LockMode) -> Result<Option<DatabaseLock>, StoreError> {
        self.db.try_lock(mode).await
    }

    /// Whether any audit entry records `action`.
    pub async fn audit_has_action(&self, action: &str) -> Result<bool, StoreError> {
        self.db.audit_has_action(action).await
    }

    /// Erases every row (the schema stays): for a database whose content is known to be
    /// disposable, such as a demo seed cut short. Nothing else may be writing.
    pub async fn erase_everything(&self) -> Result<(), StoreError> {
        self.db.erase_everything().await
    }

    /// Whether a write can be made now: a write of nothing, committed (readiness, and the
    /// check at start).
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        let w = self.begin_write(&Actor::system("check")).await?;
        w.commit().await
    }
}
