//! The application's operations, each checking who may do it and where. Portal pages and
//! the JSON API both call these, so a permission or scope rule is written once.
//! A record outside the caller's regions answers "not found", never revealing it exists.

use yibao_core::{InvalidValue, Permission, Role, Scope};
use yibao_store::{
    Account, Employer, EmployerInput, Institution, InstitutionInput, NewAccount, Page, Person, PersonInput,
    PersonQuery, RecordVersion, Store,
};

use crate::context::Caller;
use crate::error::AppError;

fn staff_scope(caller: &Caller) -> Scope {
    caller.session().filter(|s| s.account.role.is_staff()).map(|s| s.account.scope.clone()).unwrap_or_default()
}

pub async fn search_persons(store: &Store, caller: &Caller, mut q: PersonQuery) -> Result<Page<Person>, AppError> {
    caller.require(Permission::ViewPersons)?;
    q.scope = Some(staff_scope(caller));
    Ok(store.search_persons(&q).await?)
}

/// A person and whether the caller sees them masked.
pub async fn person(store: &Store, caller: &Caller, id: i64) -> Result<(Person, bool), AppError> {
    let own = caller.can(Permission::ViewOwnRecord) && caller.session().and_then(|s| s.account.person_id) == Some(id);
    if !own {
        caller.require(Permission::ViewPersons)?;
    }
    let p = store.person(id).await?;
    if !own && !caller.covers(p.insured_region) {
        return Err(AppError::not_found("person"));
    }
    Ok((p, !own && !caller.can(Permission::ViewPersonDetail)))
}

/// A person, whether masked, and — only when not masked — every version of the record.
pub async fn person_detail(
    store: &Store,
    caller: &Caller,
    id: i64,
) -> Result<(Person, bool, Vec<RecordVersion>), AppError> {
    let (p, masked) = person(store, caller, id).await?;
    let history = if masked { Vec::new() } else { store.record_versions("person", id).await? };
    Ok((p, masked, history))
}

pub async fn person_history(store: &Store, caller: &Caller, id: i64) -> Result<Vec<RecordVersion>, AppError> {
    let (_, masked, history) = person_detail(store, caller, id).await?;
    if masked {
        return Err(AppError::forbidden());
    }
    Ok(history)
}

fn out_of_scope_region() -> AppError {
    AppError::validation(vec![InvalidValue::new(
        "insured_region",
        "out_of_scope",
        "参保地不在您的管辖区域内",
        "the insured region is outside your regions",
    )])
}

pub async fn create_person(store: &Store, caller: &Caller, input: &PersonInput) -> Result<Person, AppError> {
    caller.require(Permission::EditPersons)?;
    if !caller.covers(input.insured_region) {
        return Err(out_of_scope_region());
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.create_person(&mut w, input).await?;
    w.commit().await?;
    Ok(p)
}

pub async fn update_person(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
    input: &PersonInput,
) -> Result<Person, AppError> {
    caller.require(Permission::EditPersons)?;
    let current = store.person(id).await?;
    if !caller.covers(current.insured_region) {
        return Err(AppError::not_found("person"));
    }
    if !caller.covers(input.insured_region) {
        return Err(out_of_scope_region());
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.update_person(&mut w, id, version, input).await?;
    w.commit().await?;
    Ok(p)
}

pub async fn my_record(store: &Store, caller: &Caller) -> Result<Option<Person>, AppError> {
    caller.require(Permission::ViewOwnRecord)?;
    match caller.session().and_then(|s| s.account.person_id) {
        Some(id) => Ok(Some(store.person(id).await?)),
        None => Ok(None),
    }
}

pub async fn employers(store: &Store, caller: &Caller, text: Option<&str>) -> Result<Vec<Employer>, AppError> {
    caller.require(Permission::ViewEmployers)?;
    Ok(store.list_employers(text, Some(&staff_scope(caller)), 200).await?)
}

pub async fn employer(store: &Store, caller: &Caller, id: i64) -> Result<Employer, AppError> {
    caller.require(Permission::ViewEmployers)?;
    let e = store.employer(id).await?;
    if !caller.covers(e.region) {
        return Err(AppError::not_found("employer"));
    }
    Ok(e)
}

pub async fn save_employer(
    store: &Store,
    caller: &Caller,
    existing: Option<(i64, i64)>,
    input: &EmployerInput,
) -> Result<Employer, AppError> {
    caller.require(Permission::EditEmployers)?;
    if let Some((id, _)) = existing {
        employer(store, caller, id).await?;
    }
    if !caller.covers(input.region) {
        return Err(AppError::validation(vec![InvalidValue::new(
            "region",
            "out_of_scope",
            "所在地区不在您的管辖区域内",
            "the region is outside your regions",
        )]));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let e = match existing {
        Some((id, version)) => store.update_employer(&mut w, id, version, input).await?,
        None => store.create_employer(&mut w, input).await?,
    };
    w.commit().await?;
    Ok(e)
}

pub async fn institutions(
    store: &Store,
    caller: &Caller,
    text: Option<&str>,
    region: Option<yibao_core::AdminCode>,
) -> Result<Vec<Institution>, AppError> {
    caller.require(Permission::ViewInstitutions)?;
    Ok(store.list_institutions(text, region).await?)
}

pub async fn institution(store: &Store, caller: &Caller, id: i64) -> Result<Institution, AppError> {
    let own = matches!(&caller.principal, crate::context::Principal::Institution(o) if o.institution.id == id);
    if !own {
        caller.require(Permission::ViewInstitutions)?;
    }
    Ok(store.institution(id).await?)
}

pub async fn save_institution(
    store: &Store,
    caller: &Caller,
    existing: Option<(i64, i64)>,
    input: &InstitutionInput,
) -> Result<Institution, AppError> {
    caller.require(Permission::EditInstitutions)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let i = match existing {
        Some((id, version)) => store.update_institution(&mut w, id, version, input).await?,
        None => store.create_institution(&mut w, input).await?,
    };
    w.commit().await?;
    Ok(i)
}

pub async fn audit_entries(
    store: &Store,
    caller: &Caller,
    limit: i64,
) -> Result<Vec<yibao_core::audit::AuditEntry>, AppError> {
    caller.require(Permission::ViewAuditLog)?;
    Ok(store.recent_audit_entries(None, limit.clamp(1, 500)).await?)
}

pub async fn accounts(store: &Store, caller: &Caller) -> Result<Vec<Account>, AppError> {
    caller.require(Permission::ManageAccounts)?;
    Ok(store.list_accounts().await?)
}

pub async fn create_account(store: &Store, caller: &Caller, new: &NewAccount) -> Result<Account, AppError> {
    caller.require(Permission::ManageAccounts)?;
    if new.role.is_staff() && new.scope.regions().is_empty() {
        return Err(AppError::validation(vec![InvalidValue::new(
            "scope",
            "required",
            "工作人员账号须至少指定一个管辖区域，如 620300",
            "a staff account needs at least one region, e.g. 620300",
        )]));
    }
    if new.role == Role::Insured {
        if let Some(id) = new.person_id {
            store.person(id).await?;
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let a = store.create_account(&mut w, new).await?;
    w.commit().await?;
    Ok(a)
}
