//! The system administrator's accounts: those of their own regions only (a staff account
//! whose regions are all theirs; a person's, institution's or unit's account whose holder is
//! in their regions), and each step of an account's life after it is made — disable and
//! enable, unlock, reset a password, change a staff account's role or regions (one
//! administrator proposes, a second approves). Nobody manages their own account.

use axum::http::StatusCode;
use yibao_core::{AdminCode, InvalidValue, Permission, Role, Scope};
use yibao_store::{Account, HashedPassword, Store};

use crate::context::Caller;
use crate::error::AppError;
use crate::throttle::Logins;

/// Whether the caller's regions hold the account: all of a staff account's regions, or the
/// region of the person, institution or unit it acts for.
fn within(caller: &Caller, account: &Account, holder_region: Option<AdminCode>) -> bool {
    let scope_ok = account.scope.regions().iter().all(|r| caller.covers(*r));
    match holder_region {
        Some(region) => caller.covers(region) && scope_ok,
        None => account.role.is_staff() && !account.scope.regions().is_empty() && scope_ok,
    }
}

/// The accounts of the caller's regions, by id.
pub async fn accounts(store: &Store, caller: &Caller) -> Result<Vec<Account>, AppError> {
    caller.require(Permission::ManageAccounts)?;
    let all = store.accounts_with_regions(None).await?;
    Ok(all.into_iter().filter(|(a, region)| within(caller, a, *region)).map(|(a, _)| a).collect())
}

/// An account the caller may manage: of their regions (else not found), not their own.
async fn target(store: &Store, caller: &Caller, id: i64) -> Result<Account, AppError> {
    let account = account(store, caller, id).await?;
    if account.username == caller.username() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "own_account",
            "不能办理本人账号的停用、解锁、重置或权限变更，请由另一名系统管理员办理",
            "another administrator must do this for your own account",
        ));
    }
    Ok(account)
}

/// One account of the caller's regions (their own too).
pub async fn account(store: &Store, caller: &Caller, id: i64) -> Result<Account, AppError> {
    caller.require(Permission::ManageAccounts)?;
    let found = store.accounts_with_regions(Some(id)).await?.into_iter().next();
    found.filter(|(a, region)| within(caller, a, *region)).map(|(a, _)| a).ok_or_else(|| AppError::not_found("account"))
}

/// The account's steps from the audit log, newest first.
pub async fn history(store: &Store, caller: &Caller, id: i64) -> Result<Vec<yibao_core::audit::AuditEntry>, AppError> {
    account(store, caller, id).await?;
    Ok(store.recent_audit_entries(Some(("account", &id.to_string())), 100).await?)
}

/// Disables (its sessions end at once) or enables an account.
pub async fn set_disabled(store: &Store, caller: &Caller, id: i64, disabled: bool) -> Result<Account, AppError> {
    target(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.set_account_disabled(&mut w, id, disabled).await?;
    w.commit().await?;
    Ok(a)
}

/// Lifts the log-in delays the account's failures set off, and clears its count.
pub async fn unlock(store: &Store, logins: &Logins, caller: &Caller, id: i64) -> Result<Account, AppError> {
    let account = target(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.clear_failed_logins(&mut w, id).await?;
    w.commit().await?;
    logins.forget(&account.username);
    Ok(a)
}

/// Sets a temporary password the holder must change at the next log-in; every session
/// ends. A staff account, or a person's, waits again for the second person who approves
/// such accounts (their activation code completes the password), so the administrator who
/// reset it cannot log in with it alone.
pub async fn reset_password(store: &Store, caller: &Caller, id: i64, password: &str) -> Result<Account, AppError> {
    let account = target(store, caller, id).await?;
    let hashed = HashedPassword::new(password).await?;
    let hold = account.role.is_staff() || (account.role == Role::Insured && account.person_id.is_some());
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.reset_password(&mut w, id, &hashed, hold.then(|| caller.username())).await?;
    w.commit().await?;
    Ok(a)
}

/// Proposes a staff account's new role and regions (all within the caller's); a second
/// administrator approves them.
pub async fn propose_change(
    store: &Store,
    caller: &Caller,
    id: i64,
    role: Role,
    scope: &Scope,
) -> Result<Account, AppError> {
    target(store, caller, id).await?;
    if scope.regions().iter().any(|r| !caller.covers(*r)) {
        return Err(AppError::validation(vec![InvalidValue::new(
            "scope",
            "out_of_scope",
            "只能授予您本人管辖区域内的区域",
            "you can give only regions within your own",
        )]));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.propose_account_change(&mut w, id, role, scope, caller.username()).await?;
    w.commit().await?;
    Ok(a)
}

/// A second administrator approves or rejects a proposed change.
pub async fn decide_change(store: &Store, caller: &Caller, id: i64, approve: bool) -> Result<Account, AppError> {
    target(store, caller, id).await?;
    // The change is read, checked against the approver's regions and applied in one
    // transaction: what is approved is what is stored then.
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.decide_account_change(&mut w, id, caller.username(), &super::staff_scope(caller), approve).await?;
    w.commit().await?;
    Ok(a)
}
