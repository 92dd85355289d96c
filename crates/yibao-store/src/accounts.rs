//! Accounts, password log-in with lock-out, database sessions, and institutions' API keys.
//! Secrets are never stored: passwords as argon2 hashes, session tokens and API keys as
//! SHA-256 digests.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::{InvalidValue, Role, Scope};

use crate::db::error::parse_stored;
use crate::registry::Institution;
use crate::{Actor, Store, StoreError, WriteTx};

/// A password hash checked when the username is unknown (or the attempt is throttled), so
/// that the answer takes as long as a real check: made once, with the same parameters. Runs
/// off the async workers, as every password check does (Argon2 takes tens of milliseconds).
pub async fn spend_a_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let password = password.to_string();
    let _ = tokio::task::spawn_blocking(move || {
        let hash = DUMMY.get_or_init(|| hash_password("not anyone's password").unwrap_or_default());
        verify_password(&password, hash)
    })
    .await;
}

/// Checks a password against its hash off the async workers.
async fn password_matches(password: &str, hash: String) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false)
}

/// How long a session lives.
const SESSION_HOURS: i64 = 8;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    /// For insured persons: their registry record.
    pub person_id: Option<i64>,
    /// For a designated institution's staff: the institution they act for.
    pub institution_id: Option<i64>,
    /// For an employer unit's account: the unit it acts for.
    pub employer_id: Option<i64>,
    pub disabled: bool,
    /// The administrator who created it, while it waits for a second one's approval (it
    /// cannot log in until then).
    pub awaiting_approval_by: Option<String>,
    /// Its password was set by someone else: the holder must choose their own before
    /// anything else.
    pub must_change_password: bool,
    /// Wrong passwords since the last log-in.
    pub failed_logins: i64,
    /// A change of role or regions waiting for a second administrator.
    pub pending_change: Option<AccountChange>,
}

/// A staff account's new role and regions, as one administrator proposed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccountChange {
    pub role: Role,
    pub scope: Scope,
    /// The administrator who proposed it (their username).
    pub by: String,
}

impl Account {
    /// The audit log's name for this account.
    pub fn actor_label(&self) -> String {
        format!("account:{} ({})", self.id, self.username)
    }
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password: String,
    pub scope: Scope,
    pub person_id: Option<i64>,
    /// For a designated institution's staff: the institution's national code.
    pub institution_code: Option<String>,
    /// For an employer unit's account: the unit's unified social credit code.
    pub employer_code: Option<String>,
    /// The password is someone else's choice (an administrator's): the holder must change it
    /// at the first log-in.
    pub temporary_password: bool,
}

#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub account: Account,
    pub csrf_token: String,
    /// For a designated institution's staff: their institution, loaded with the session.
    pub institution: Option<Institution>,
}

#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the session token to put in the cookie, and the session.
    Ok {
        token: String,
        session: Box<SessionInfo>,
    },
    BadCredentials,
    Disabled,
}

/// Who an API key belongs to.
#[derive(Debug, Clone)]
pub struct ApiKeyOwner {
    pub key_id: i64,
    pub institution: Institution,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How many characters an activation code has.
pub const ACTIVATION_CODE_LEN: usize = 8;

/// An activation code: [`ACTIVATION_CODE_LEN`] letters and digits without look-alikes.
fn activation_code() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..ACTIVATION_CODE_LEN).map(|_| char::from(CHARS[(rng.next_u32() as usize) % CHARS.len()])).collect()
}

/// Whether `given` opens an account with password hash `hash` and, while it has one, the
/// activation code hash `activation`: then `given` is the password followed by the code.
async fn opens(given: &str, hash: String, activation: Option<String>) -> bool {
    match activation {
        None => password_matches(given, hash).await,
        Some(code_hash) => {
            let n = given.chars().count();
            if n <= ACTIVATION_CODE_LEN {
                spend_a_password_check(given).await;
                return false;
            }
            let split = given.char_indices().nth(n - ACTIVATION_CODE_LEN).map_or(0, |(i, _)| i);
            let (password, code) = given.split_at(split);
            // Both checked, whatever the first says: the time tells nothing.
            let password_ok = password_matches(password, hash).await;
            let code_ok = password_matches(&code.to_uppercase(), code_hash).await;
            password_ok && code_ok
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("timestamp {s:?}")))
}

pub fn validate_password(password: &str) -> Result<(), InvalidValue> {
    let n = password.chars().count();
    let has_letter = password.chars().any(|c| c.is_alphabetic());
    let has_digit = password.chars().any(|c| c.is_ascii_digit());
    if !(8..=128).contains(&n) || !has_letter || !has_digit {
        return Err(InvalidValue::new(
            "password",
            "weak",
            "密码至少 8 位，且须同时包含字母和数字",
            "a password needs at least 8 characters, with letters and digits",
        ));
    }
    Ok(())
}

/// A password checked and hashed (off the async workers), ready to be stored.
#[derive(Debug, Clone)]
pub struct HashedPassword(String);

impl HashedPassword {
    pub async fn new(password: &str) -> Result<HashedPassword, StoreError> {
        validate_password(password)?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| StoreError::Config(format!("password hashing failed: {e}")))?
            .map(HashedPassword)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Config(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

const ACCOUNT_COLS: &str =
    "id, username, display_name, role, scope, person_id, disabled, institution_id, employer_id, awaiting_approval_by, \
     must_change_password, failed_logins, pending_change";

/// The index of the `i`th column selected after [`ACCOUNT_COLS`].
fn after_account(i: usize) -> usize {
    ACCOUNT_COLS.split(", ").count() + i
}

fn account_from_row(r: &AnyRow) -> Result<Account, StoreError> {
    let role: String = r.try_get(3)?;
    let scope: String = r.try_get(4)?;
    Ok(Account {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        role: parse_stored("role", &role)?,
        scope: Scope::parse_list(&scope).map_err(|_| StoreError::Corrupt(format!("scope {scope:?}")))?,
        person_id: r.try_get(5)?,
        disabled: r.try_get::<i64, _>(6)? != 0,
        institution_id: r.try_get(7)?,
        employer_id: r.try_get(8)?,
        awaiting_approval_by: r.try_get(9)?,
        must_change_password: r.try_get::<i64, _>(10)? != 0,
        failed_logins: r.try_get(11)?,
        pending_change: match r.try_get::<Option<String>, _>(12)? {
            Some(json) => {
                Some(serde_json::from_str(&json).map_err(|_| StoreError::Corrupt(format!("pending change {json:?}")))?)
            }
            None => None,
        },
    })
}

impl Store {
    pub async fn create_account(&self, wtx: &mut WriteTx, new: &NewAccount) -> Result<Account, StoreError> {
        let username = new.username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(InvalidValue::new(
                "username",
                "format",
                "用户名须为 1–64 位字母、数字或 . _ -",
                "a username has 1-64 letters, digits or . _ -",
            )
            .into());
        }
        validate_password(&new.password)?;
        let code = new.institution_code.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let institution_id = match (new.role, code) {
            (Role::Institution, None) => {
                return Err(InvalidValue::new(
                    "institution_code",
                    "required",
                    "定点医疗机构账号须填写机构编码",
                    "an institution's account needs the institution's code",
                )
                .into())
            }
            (Role::Institution, Some(code)) => {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM institutions WHERE code = $1")
                    .bind(code.to_string())
                    .fetch_optional(&mut *wtx.tx)
                    .await?;
                Some(id.ok_or_else(|| {
                    InvalidValue::new(
                        "institution_code",
                        "unknown",
                        "没有这个编码的定点医疗机构",
                        "no designated institution has this code",
                    )
                })?)
            }
            (_, Some(_)) => {
                return Err(InvalidValue::new(
                    "institution_code",
                    "not_institution",
                    "只有定点医疗机构账号才填写机构编码",
                    "only an institution's account has an institution code",
                )
                .into())
            }
            (_, None) => None,
        };
        let code = new.employer_code.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let employer_id = match (new.role, code) {
            (Role::Employer, None) => {
                return Err(InvalidValue::new(
                    "employer_code",
                    "required",
                    "参保单位账号须填写单位的统一社会信用代码",
                    "an employer unit's account needs the unit's unified social credit code",
                )
                .into())
            }
            (Role::Employer, Some(code)) => {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
                    .bind(code.to_uppercase())
                    .fetch_optional(&mut *wtx.tx)
                    .await?;
                Some(id.ok_or_else(|| {
                    InvalidValue::new(
                        "employer_code",
                        "unknown",
                        "没有这个统一社会信用代码的参保单位",
                        "no employer unit has this unified social credit code",
                    )
                })?)
            }
            (_, Some(_)) => {
                return Err(InvalidValue::new(
                    "employer_code",
                    "not_employer",
                    "只有参保单位账号才填写统一社会信用代码",
                    "only an employer unit's account has a credit code",
                )
                .into())
            }
            (_, None) => None,
        };
        let hash = hash_password(&new.password)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (username, display_name, role, password_hash, scope, person_id, created_at, \
             institution_id, employer_id, must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id",
        )
        .bind(username.to_string())
        .bind(new.display_name.trim().to_string())
        .bind(new.role.code())
        .bind(hash)
        .bind(new.scope.to_list())
        .bind(new.person_id)
        .bind(wtx.at().to_string())
        .bind(institution_id)
        .bind(employer_id)
        .bind(i64::from(new.temporary_password))
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| {
            // Which key: the username, or the person (one account each, see migration 0021).
            let person = e.as_database_error().is_some_and(|d| {
                let m = d.message();
                m.contains("person_id") || m.contains("one_per_person")
            });
            StoreError::on_unique(e, if person { "person_id" } else { "username" })
        })?;
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *wtx.tx)
            .await?;
        let account = account_from_row(&row)?;
        wtx.record::<Account, Account>("account.create", "account", &id.to_string(), None, Some(&account)).await?;
        Ok(account)
    }

    /// Holds a new account until a second administrator approves it (see
    /// [`Store::approve_account`]); `by` is the administrator who created it.
    pub async fn hold_for_approval(&self, wtx: &mut WriteTx, id: i64, by: &str) -> Result<Account, StoreError> {
        sqlx::query("UPDATE accounts SET awaiting_approval_by = $1 WHERE id = $2")
            .bind(by.to_string())
            .bind(id)
            .execute(&mut *wtx.tx)
            .await?;
        let account = self.login_account_in(wtx, id).await?;
        wtx.record::<(), Account>("account.hold", "account", &id.to_string(), None, Some(&account)).await?;
        Ok(account)
    }

    /// A second administrator (or, for a person's account, the clerk who checked their
    /// identity) approves an account another one created. It returns an activation code, to
    /// be handed to the holder: until the holder sets their own password, log-in needs the
    /// creator's password followed by the code, so neither the creator nor the approver can
    /// use the account alone; the first log-in must then set the holder's own password.
    pub async fn approve_account(&self, wtx: &mut WriteTx, id: i64, by: &str) -> Result<(Account, String), StoreError> {
        let before = self.login_account_in(wtx, id).await?;
        let Some(creator) = before.awaiting_approval_by.as_deref() else {
            return Err(InvalidValue::new(
                "account",
                "nothing_to_approve",
                "该账号无需复核",
                "this account has nothing to approve",
            )
            .into());
        };
        if creator == by {
            return Err(InvalidValue::new(
                "account",
                "four_eyes",
                "财务、复核和管理员账号须由创建人以外的另一名系统管理员复核",
                "a finance, second-review or administrator account is approved by another administrator than its creator",
            )
            .into());
        }
        let code = activation_code();
        let hash = hash_password(&code)?;
        sqlx::query(
            "UPDATE accounts SET awaiting_approval_by = NULL, activation_hash = $1, must_change_password = 1 WHERE id = $2",
        )
        .bind(hash)
        .bind(id)
        .execute(&mut *wtx.tx)
        .await?;
        let after = self.login_account_in(wtx, id).await?;
        wtx.record("account.approve", "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok((after, code))
    }

    /// The holder changes their own password: the current one must be right, the new one
    /// valid and different. Their other sessions end (whoever knew the old password is out).
    pub async fn change_password(
        &self,
        actor: &Actor,
        account_id: i64,
        keep_session: &str,
        current: &str,
        new: &str,
    ) -> Result<Account, StoreError> {
        let (hash, activation): (String, Option<String>) =
            sqlx::query_as("SELECT password_hash, activation_hash FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or(StoreError::NotFound("account"))?;
        if !opens(current, hash, activation).await {
            return Err(InvalidValue::new(
                "current_password",
                "wrong",
                "当前密码不正确",
                "the current password is wrong",
            )
            .into());
        }
        validate_password(new)?;
        if new == current {
            return Err(InvalidValue::new(
                "new_password",
                "unchanged",
                "新密码不能与当前密码相同",
                "the new password must differ from the current one",
            )
            .into());
        }
        let new_hash = {
            let new = new.to_string();
            tokio::task::spawn_blocking(move || hash_password(&new))
                .await
                .map_err(|e| StoreError::Config(format!("password hashing failed: {e}")))??
        };
        let mut w = self.begin_write(actor).await?;
        let before = self.login_account_in(&mut w, account_id).await?;
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, must_change_password = 0, activation_hash = NULL WHERE id = $2",
        )
        .bind(new_hash)
        .bind(account_id)
        .execute(&mut *w.tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
            .bind(account_id)
            .bind(sha256_hex(keep_session))
            .execute(&mut *w.tx)
            .await?;
        let after = self.login_account_in(&mut w, account_id).await?;
        w.record("account.password", "account", &account_id.to_string(), Some(&before), Some(&after)).await?;
        w.commit().await?;
        Ok(after)
    }

    /// The insured account of a person, if one exists.
    pub async fn account_of_person(&self, person_id: i64) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE person_id = $1"))
            .bind(person_id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub(crate) async fn login_account_in(&self, wtx: &mut WriteTx, id: i64) -> Result<Account, StoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *wtx.tx)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        account_from_row(&row)
    }

    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = $1"))
            .bind(username.to_string())
            .fetch_optional(&mut self.read_conn().await?)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    pub async fn account(&self, id: i64) -> Result<Account, StoreError> {
        let row = sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        account_from_row(&row)
    }

    /// Accounts (one, or all by id) with the region of the person, institution or unit each
    /// acts for (`None` for staff, whose regions are their scope).
    pub async fn accounts_with_regions(
        &self,
        id: Option<i64>,
    ) -> Result<Vec<(Account, Option<yibao_core::AdminCode>)>, StoreError> {
        let cols = ACCOUNT_COLS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
        let which = if id.is_some() { "WHERE a.id = $1" } else { "" };
        let sql = format!(
            "SELECT {cols}, COALESCE(p.insured_region, i.region, e.region) FROM accounts a \
             LEFT JOIN persons p ON p.id = a.person_id LEFT JOIN institutions i ON i.id = a.institution_id \
             LEFT JOIN employers e ON e.id = a.employer_id {which} ORDER BY a.id"
        );
        let mut q = sqlx::query(&sql);
        if let Some(id) = id {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut self.read_conn().await?).await?;
        rows.iter()
            .map(|r| {
                let region: Option<i64> = r.try_get(after_account(0))?;
                Ok((account_from_row(r)?, region.map(crate::db::query::region_from).transpose()?))
            })
            .collect()
    }

    pub async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id")).fetch_all(&self.db.pool).await?;
        rows.iter().map(account_from_row).collect()
    }

    /// Checks a password; on success opens a session. Every attempt is in the audit log
    /// (`login.ok`, `login.failed`, `login.disabled`), as by `actor` (the address it came
    /// from). Throttling repeated failures is the caller's (the web layer's `throttle`): an
    /// account is never locked here, so nobody can keep another person out by failing on
    /// purpose. A disabled account says so only to whoever knows its password.
    pub async fn login(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome, StoreError> {
        let username = username.trim();
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLS}, password_hash, activation_hash FROM accounts WHERE username = $1"
        ))
        .bind(username.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else {
            // Spend the same effort as a real check, so timing does not reveal usernames.
            spend_a_password_check(password).await;
            let mut w = self.begin_write(actor).await?;
            // Only what could be a username: a password typed into the wrong field stays out.
            let plausible = !username.is_empty()
                && username.len() <= 64
                && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            let who = if plausible { username.to_string() } else { "(not a username)".to_string() };
            w.record::<(), ()>("login.failed", "username", &who, None, None).await?;
            w.commit().await?;
            return Ok(LoginOutcome::BadCredentials);
        };
        let account = account_from_row(&row)?;
        let hash: String = row.try_get(after_account(0))?;
        let activation: Option<String> = row.try_get(after_account(1))?;
        let right = opens(password, hash, activation).await;
        let mut w = self.begin_write(actor).await?;
        let id = account.id.to_string();
        if !right {
            sqlx::query("UPDATE accounts SET failed_logins = failed_logins + 1 WHERE id = $1")
                .bind(account.id)
                .execute(&mut *w.tx)
                .await?;
            w.record::<(), ()>("login.failed", "account", &id, None, None).await?;
            w.commit().await?;
            return Ok(LoginOutcome::BadCredentials);
        }
        if account.disabled || account.awaiting_approval_by.is_some() {
            w.record::<(), ()>("login.disabled", "account", &id, None, None).await?;
            w.commit().await?;
            return Ok(LoginOutcome::Disabled);
        }
        let token = random_token();
        let csrf_token = random_token();
        sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(account.id)
            .execute(&mut *w.tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(&token))
        .bind(account.id)
        .bind(csrf_token.clone())
        .bind(ts(now))
        .bind(ts(now + Duration::hours(SESSION_HOURS)))
        .execute(&mut *w.tx)
        .await?;
        w.record::<(), ()>("login.ok", "account", &id, None, None).await?;
        w.commit().await?;
        let institution = self.account_institution(&account).await?;
        Ok(LoginOutcome::Ok { token, session: Box::new(SessionInfo { account, csrf_token, institution }) })
    }

    /// The live session for a cookie token, if any.
    pub async fn session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<SessionInfo>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {}, s.csrf_token, s.expires_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1",
            ACCOUNT_COLS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
        ))
        .bind(sha256_hex(token))
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let account = account_from_row(&row)?;
        let expires: String = row.try_get(after_account(1))?;
        if parse_ts(&expires)? <= now || account.disabled {
            return Ok(None);
        }
        let institution = self.account_institution(&account).await?;
        Ok(Some(SessionInfo { account, csrf_token: row.try_get(after_account(0))?, institution }))
    }

    async fn account_institution(&self, account: &Account) -> Result<Option<Institution>, StoreError> {
        match account.institution_id {
            Some(id) => Ok(Some(self.institution(id).await?)),
            None => Ok(None),
        }
    }

    pub async fn logout(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(token))
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Issues an API key to an institution; returns the key, shown once and never stored.
    pub async fn issue_api_key(
        &self,
        wtx: &mut WriteTx,
        institution_id: i64,
        label: &str,
    ) -> Result<String, StoreError> {
        let key = format!("yb_{}", random_token());
        self.issue_known_api_key(wtx, institution_id, label, &key).await?;
        Ok(key)
    }

    /// Issues a key with a known value (demo seed and tests, so that documentation can name it).
    pub async fn issue_known_api_key(
        &self,
        wtx: &mut WriteTx,
        institution_id: i64,
        label: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (institution_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(institution_id)
        .bind(sha256_hex(key))
        .bind(label.to_string())
        .bind(wtx.at().to_string())
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "api_key"))?;
        let after = serde_json::json!({ "institution_id": institution_id, "label": label });
        wtx.record::<(), _>("api_key.issue", "api_key", &id.to_string(), None, Some(&after)).await?;
        Ok(())
    }

    pub async fn api_key_owner(&self, key: &str) -> Result<Option<ApiKeyOwner>, StoreError> {
        let row = sqlx::query("SELECT id, institution_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(sha256_hex(key))
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let institution = self.institution(row.try_get(1)?).await?;
        Ok(Some(ApiKeyOwner { key_id: row.try_get(0)?, institution }))
    }
}
