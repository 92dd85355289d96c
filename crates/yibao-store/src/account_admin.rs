//! The administrator's side of an account's life after it is made: disable and enable
//! (a disabled account's sessions end at once), reset a password (the holder must choose
//! their own at the next log-in, and an account that needed a second person's approval
//! when it was made needs it again), clear the failed log-ins, and change a staff account's
//! role or regions — proposed by one administrator, applied when a second approves. Every
//! step is in the audit log with the account before and after.

use yibao_core::{InvalidValue, Role, Scope};

use crate::accounts::{Account, AccountChange, HashedPassword};
use crate::{Store, StoreError, WriteTx};

fn refused(field: &'static str, code: &'static str, zh: &'static str, en: &'static str) -> StoreError {
    InvalidValue::new(field, code, zh, en).into()
}

impl Store {
    /// Disables or enables an account. Disabling ends its sessions at once.
    pub async fn set_account_disabled(&self, w: &mut WriteTx, id: i64, disabled: bool) -> Result<Account, StoreError> {
        let before = self.login_account_in(w, id).await?;
        if before.disabled == disabled {
            return Err(if disabled {
                refused("account", "already_disabled", "该账号已停用", "the account is disabled already")
            } else {
                refused("account", "not_disabled", "该账号未停用", "the account is not disabled")
            });
        }
        sqlx::query("UPDATE accounts SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        if disabled {
            end_sessions(w, id).await?;
        }
        let after = self.login_account_in(w, id).await?;
        let action = if disabled { "account.disable" } else { "account.enable" };
        w.record(action, "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Sets a password someone else chose: the holder must change it at the next log-in, the
    /// failed log-ins are cleared and every session ends. With `hold_by`, the account waits
    /// for a second person's approval again (whose activation code completes the password),
    /// so the one who reset it cannot use it alone.
    pub async fn reset_password(
        &self,
        w: &mut WriteTx,
        id: i64,
        password: &HashedPassword,
        hold_by: Option<&str>,
    ) -> Result<Account, StoreError> {
        let before = self.login_account_in(w, id).await?;
        sqlx::query(
            "UPDATE accounts SET password_hash = $1, must_change_password = 1, activation_hash = NULL, \
             failed_logins = 0, locked_until = NULL, awaiting_approval_by = $2 WHERE id = $3",
        )
        .bind(password.as_str().to_string())
        .bind(hold_by.map(str::to_string))
        .bind(id)
        .execute(&mut *w.tx)
        .await?;
        end_sessions(w, id).await?;
        let after = self.login_account_in(w, id).await?;
        w.record("account.reset_password", "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Clears the failed log-ins counted against an account (the administrator unlocked it).
    pub async fn clear_failed_logins(&self, w: &mut WriteTx, id: i64) -> Result<Account, StoreError> {
        let before = self.login_account_in(w, id).await?;
        sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let after = self.login_account_in(w, id).await?;
        w.record("account.unlock", "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Proposes a staff account's new role and regions; they apply when a second
    /// administrator approves ([`Store::decide_account_change`]).
    pub async fn propose_account_change(
        &self,
        w: &mut WriteTx,
        id: i64,
        role: Role,
        scope: &Scope,
        by: &str,
    ) -> Result<Account, StoreError> {
        let before = self.login_account_in(w, id).await?;
        if !(before.role.is_staff() && role.is_staff()) {
            return Err(refused(
                "role",
                "not_staff",
                "只能调整工作人员账号的角色和管辖区域",
                "only a staff account's role and regions can be changed",
            ));
        }
        if scope.regions().is_empty() {
            return Err(refused(
                "scope",
                "required",
                "工作人员账号须至少指定一个管辖区域，如 620300",
                "a staff account needs at least one region, e.g. 620300",
            ));
        }
        if before.pending_change.is_some() {
            // One change at a time: what the second administrator approves is what they read.
            return Err(refused(
                "account",
                "pending",
                "已有一项待复核的变更，请先由另一名系统管理员复核或退回",
                "a change already waits for approval: another administrator approves or rejects it first",
            ));
        }
        if before.role == role && before.scope == *scope {
            return Err(refused(
                "role",
                "unchanged",
                "角色和管辖区域均未改变",
                "neither the role nor the regions change",
            ));
        }
        let change = AccountChange { role, scope: scope.clone(), by: by.to_string() };
        let json = serde_json::to_string(&change).map_err(|e| StoreError::Config(e.to_string()))?;
        sqlx::query("UPDATE accounts SET pending_change = $1 WHERE id = $2")
            .bind(json)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let after = self.login_account_in(w, id).await?;
        w.record("account.propose_change", "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// A second administrator (`by`, with the regions `by_scope`) approves — the role and
    /// regions apply at once, to its open sessions too, and only regions within the
    /// approver's — or rejects a proposed change. The proposer cannot decide their own.
    pub async fn decide_account_change(
        &self,
        w: &mut WriteTx,
        id: i64,
        by: &str,
        by_scope: &Scope,
        approve: bool,
    ) -> Result<Account, StoreError> {
        let before = self.login_account_in(w, id).await?;
        let Some(change) = before.pending_change.clone() else {
            return Err(refused(
                "account",
                "nothing_to_approve",
                "该账号没有待复核的变更",
                "no change waits for approval",
            ));
        };
        if change.by == by {
            return Err(refused(
                "account",
                "four_eyes",
                "角色和管辖区域的变更须由提出人以外的另一名系统管理员复核",
                "a change of role or regions is approved by another administrator than the one who proposed it",
            ));
        }
        if approve && change.scope.regions().iter().any(|r| !by_scope.covers(*r)) {
            return Err(refused(
                "scope",
                "out_of_scope",
                "变更后的管辖区域超出您本人的管辖区域，不能复核",
                "the new regions go beyond your own: you cannot approve them",
            ));
        }
        if approve {
            sqlx::query("UPDATE accounts SET role = $1, scope = $2, pending_change = NULL WHERE id = $3")
                .bind(change.role.code())
                .bind(change.scope.to_list())
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
        } else {
            sqlx::query("UPDATE accounts SET pending_change = NULL WHERE id = $1").bind(id).execute(&mut *w.tx).await?;
        }
        let after = self.login_account_in(w, id).await?;
        let action = if approve { "account.approve_change" } else { "account.reject_change" };
        w.record(action, "account", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }
}

async fn end_sessions(w: &mut WriteTx, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(id).execute(&mut *w.tx).await?;
    Ok(())
}
