//! Settlements and the individual account, as people see them: the insured person their
//! own, staff the persons of their regions, a hospital the settlements it made. Anyone else
//! gets "not found".

use yibao_core::Permission;
use yibao_store::{IndividualAccount, Person, Settlement, Store};

use super::cover::person_for;
use crate::context::Caller;
use crate::error::AppError;

/// Not found, where the caller may not know the record exists.
fn hidden(e: AppError, what: &'static str) -> AppError {
    if e.status == axum::http::StatusCode::FORBIDDEN {
        AppError::not_found(what)
    } else {
        e
    }
}

/// One settlement with its settlement list.
pub async fn settlement(store: &Store, caller: &Caller, setl_id: &str) -> Result<Settlement, AppError> {
    if let Some(inst) = caller.institution() {
        return Ok(store.settlement(setl_id, Some(inst.id)).await?);
    }
    if !caller.can(Permission::ViewPersonDetail) {
        caller.require(Permission::ViewOwnRecord)?;
    }
    let s = store.settlement(setl_id, None).await?;
    person_for(store, caller, s.person_id, Permission::ViewPersonDetail).await.map_err(|e| hidden(e, "settlement"))?;
    Ok(s)
}

/// A person's settlements (newest first) and individual account.
pub async fn person_settlements(
    store: &Store,
    caller: &Caller,
    person_id: i64,
) -> Result<(Person, Vec<Settlement>, Option<IndividualAccount>), AppError> {
    let person = person_for(store, caller, person_id, Permission::ViewPersonDetail).await?;
    let settlements = store.person_settlements(person_id).await?;
    let account = store.individual_account(person_id).await?;
    Ok((person, settlements, account))
}
