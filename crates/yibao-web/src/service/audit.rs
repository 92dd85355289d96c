//! Audit (稽核): persons' medical history files — read by staff who see the person in full and
//! by the person, added to by auditors of the person's region.

use yibao_core::history::{HistoryInput, HistorySource};
use yibao_core::Permission;
use yibao_store::{HistoryEntry, Person, Store};

use super::cover::person_for;
use crate::context::Caller;
use crate::error::AppError;

/// A person's medical history file, the latest first.
pub async fn medical_history(
    store: &Store,
    caller: &Caller,
    person_id: i64,
) -> Result<(Person, Vec<HistoryEntry>), AppError> {
    let person = person_for(store, caller, person_id, Permission::ViewPersonDetail).await?;
    Ok((person, store.medical_history(person_id).await?))
}

/// An auditor of the person's region adds an entry from an audit or a hospital document.
pub async fn add_history(
    store: &Store,
    caller: &Caller,
    person_id: i64,
    input: &HistoryInput,
    source: HistorySource,
    source_ref: &str,
) -> Result<HistoryEntry, AppError> {
    caller.require(Permission::Audit)?;
    person_for(store, caller, person_id, Permission::Audit).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let entry = store.add_history(&mut w, person_id, input, source, source_ref, caller.today).await?;
    w.commit().await?;
    Ok(entry)
}
