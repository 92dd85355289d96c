//! The individual account as its holder sees it: the ledger (every credit and debit, with
//! where it came from), and 门诊共济 — the family members the holder authorised, what they
//! bought on the account, authorising and revoking.

use serde::Serialize;
use yibao_core::Permission;
use yibao_store::{FamilyMember, IndividualAccount, PharmacySettlement, Relation, Store, Withdrawal};

use crate::context::Caller;
use crate::error::AppError;

/// The logged-in insured person's id.
fn me(caller: &Caller) -> Result<i64, AppError> {
    caller
        .can(Permission::ViewOwnRecord)
        .then(|| caller.session().and_then(|s| s.account.person_id))
        .flatten()
        .ok_or_else(AppError::forbidden)
}

/// What 我的个人账户 shows.
#[derive(Debug, Serialize)]
pub struct MyAccount {
    /// `None` for a person without an account (residents).
    pub account: Option<IndividualAccount>,
    /// The members the person authorised (revoked ones too), newest first.
    pub family: Vec<FamilyMember>,
    /// The purchases that drew on the person's account for family members.
    pub family_uses: Vec<PharmacySettlement>,
    /// The accounts the person may use as a family member.
    pub may_use: Vec<FamilyMember>,
    /// Withdrawals from the account, newest first.
    pub withdrawals: Vec<Withdrawal>,
}

pub async fn my_account(store: &Store, caller: &Caller) -> Result<MyAccount, AppError> {
    let id = me(caller)?;
    Ok(MyAccount {
        account: store.individual_account(id).await?,
        family: store.family_of(id).await?,
        family_uses: store.family_purchases(id).await?,
        may_use: store.family_accounts_for(id).await?,
        withdrawals: store.withdrawals_of(id).await?,
    })
}

/// The logged-in person authorises a family member by ID number and name.
pub async fn authorise(
    store: &Store,
    caller: &Caller,
    member: &yibao_core::ResidentId,
    name: &str,
    relation: Relation,
) -> Result<FamilyMember, AppError> {
    let id = me(caller)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let f = store.authorise_family(&mut w, id, member, name, relation, caller.today).await?;
    w.commit().await?;
    Ok(f)
}

/// The logged-in person revokes one of their authorisations.
pub async fn revoke(store: &Store, caller: &Caller, id: i64) -> Result<FamilyMember, AppError> {
    let holder = me(caller)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let f = store.revoke_family(&mut w, holder, id).await?;
    w.commit().await?;
    Ok(f)
}
