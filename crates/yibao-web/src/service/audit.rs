//! Audit (稽核): persons' medical history files (read by staff who see the person in full and
//! by the person, added to by auditors), pre-evaluations of filings (required by a clerk,
//! recorded by a clerk or an auditor), and audit tasks with their photos (auditors of the
//! person's region only).

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use yibao_core::history::{HistoryInput, HistorySource};
use yibao_core::inspection::{compare, is_surgery, Difference, PreEvaluation, StayFacts};
use yibao_core::Permission;
use yibao_store::{
    AuditPhoto, AuditTask, BlobStore, Concluded, HistoryEntry, NewPhoto, NewTask, Person, Settlement, Store,
    StoredClaim, StoredFiling, StoredPreEvaluation,
};

use super::cover::person_for;
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::Upload;

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

// ---------------------------------------------------------------------------------------
// Pre-evaluations (预评估) of filings

/// A filing of the caller's regions that a clerk handles (or an auditor, who records what was
/// seen): "not found" otherwise.
async fn filing_to_evaluate(store: &Store, caller: &Caller, filing_id: i64) -> Result<StoredFiling, AppError> {
    if !caller.can(Permission::ManageFilings) {
        caller.require(Permission::Audit)?;
    }
    let f = store.filing(filing_id).await?;
    if !caller.covers(f.insured_region) {
        return Err(AppError::not_found("filing"));
    }
    Ok(f)
}

/// A filing's pre-evaluation: for the staff who handle it and the person.
pub async fn pre_evaluation(
    store: &Store,
    caller: &Caller,
    filing_id: i64,
) -> Result<Option<StoredPreEvaluation>, AppError> {
    let f = store.filing(filing_id).await?;
    if !super::cover::is_own(caller, f.person_id) {
        filing_to_evaluate(store, caller, filing_id).await?;
    }
    Ok(store.pre_evaluation_of_filing(filing_id).await?)
}

/// A clerk asks the person of an applied filing to come in first.
pub async fn require_pre_evaluation(
    store: &Store,
    caller: &Caller,
    filing_id: i64,
    note: &str,
) -> Result<StoredPreEvaluation, AppError> {
    caller.require(Permission::ManageFilings)?;
    filing_to_evaluate(store, caller, filing_id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.require_pre_evaluation(&mut w, filing_id, note).await?;
    w.commit().await?;
    Ok(p)
}

/// A clerk or auditor records what the agency saw.
pub async fn record_pre_evaluation(
    store: &Store,
    caller: &Caller,
    filing_id: i64,
    version: i64,
    record: &PreEvaluation,
) -> Result<StoredPreEvaluation, AppError> {
    filing_to_evaluate(store, caller, filing_id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let p = store.record_pre_evaluation(&mut w, filing_id, version, record, caller.today).await?;
    w.commit().await?;
    Ok(p)
}

/// How a claim's stay compares with the pre-evaluation of the filing it was made under (none
/// without one): for the staff who see the claim.
pub async fn claim_comparison(store: &Store, claim: &StoredClaim) -> Result<Option<Compared>, AppError> {
    let stay = StayFacts {
        main_diagnosis: claim.diagnoses.first().cloned().unwrap_or_default(),
        // By the statement's names (the catalog's), else the hospital's list.
        surgeries: match &claim.statement {
            Some(s) => s.lines.iter().filter(|l| is_surgery(&l.name)).map(|l| l.name.clone()).collect(),
            None => claim.lines.iter().filter(|l| is_surgery(&l.item_name)).map(|l| l.item_name.clone()).collect(),
        },
        days: (claim.care_end - claim.care_start).num_days().max(1),
        amount: claim.medfee_sumamt,
    };
    compared(store, claim.person_id, claim.care_start, &stay).await
}

/// A pre-evaluation and every difference of a stay from it.
pub type Compared = (StoredPreEvaluation, Vec<Difference>);

/// `stay` of `person_id`, begun on `start`, against the pre-evaluation of the filing in force
/// that day (none without one).
async fn compared(
    store: &Store,
    person_id: i64,
    start: NaiveDate,
    stay: &StayFacts,
) -> Result<Option<Compared>, AppError> {
    let Some(pre) = store.pre_evaluation_for(person_id, start).await? else { return Ok(None) };
    let Some(record) = &pre.record else { return Ok(None) };
    let differences = compare(record, stay);
    Ok(Some((pre, differences)))
}

/// How a direct settlement's stay compares with the pre-evaluation of the filing it was made
/// under (none without one): its main diagnosis, the surgeries among its lines by their
/// catalog names, its days from admission to discharge and its total.
pub async fn settlement_comparison(store: &Store, s: &Settlement) -> Result<Option<Compared>, AppError> {
    let day = |t: &str| t.get(..10).and_then(|d| d.parse::<NaiveDate>().ok());
    let basic = &s.list.basic;
    let Some(start) = day(&basic.begntime) else { return Ok(None) };
    let end = day(&basic.endtime).or_else(|| day(&basic.setl_time)).unwrap_or(start);
    let outcome: serde_json::Value = serde_json::from_str(&s.outcome).map_err(|_| AppError::internal())?;
    let surgeries = outcome["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str())
        .filter(|name| is_surgery(name))
        .map(str::to_string)
        .collect();
    let diagnoses = &s.list.diagnoses;
    let main = diagnoses.iter().find(|d| d.main).or(diagnoses.first());
    let stay = StayFacts {
        main_diagnosis: main.map(|d| d.diag_code.clone()).unwrap_or_default(),
        surgeries,
        days: (end - start).num_days().max(1),
        amount: s.list.medfee_sumamt,
    };
    compared(store, s.person_id, start, &stay).await
}

/// A direct settlement's comparison with its pre-evaluation, for the reviewers and auditors
/// of the person's region.
pub async fn settlement_comparison_for(
    store: &Store,
    caller: &Caller,
    setl_id: &str,
) -> Result<Option<Compared>, AppError> {
    caller.require(Permission::DecideHits)?;
    let s = super::settlement::settlement(store, caller, setl_id).await?;
    settlement_comparison(store, &s).await
}

/// The comparison an audit task concerns: its claim's, or its visit's settlement's.
pub async fn task_comparison(store: &Store, task: &AuditTask) -> Result<Option<Compared>, AppError> {
    if let Some(claim_id) = task.claim_id {
        let claim = store.claim(claim_id).await?;
        return claim_comparison(store, &claim).await;
    }
    match task.visit_id {
        Some(visit_id) => match store.settlement_of_visit(visit_id).await? {
            Some(s) => settlement_comparison(store, &s).await,
            None => Ok(None),
        },
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------
// Audit tasks (稽核任务)

/// The audit tasks of the caller's regions (open ones, or all).
pub async fn audit_tasks(store: &Store, caller: &Caller, open_only: bool) -> Result<Vec<AuditTask>, AppError> {
    caller.require(Permission::Audit)?;
    Ok(store.audit_tasks_in(&super::staff_scope(caller), open_only, 200).await?)
}

/// An auditor of the task's region takes a task sent to the region's auditors as a whole.
pub async fn take_audit_task(store: &Store, caller: &Caller, id: i64) -> Result<AuditTask, AppError> {
    audit_task(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let task = store.take_audit_task(&mut w, id, caller.username()).await?;
    w.commit().await?;
    Ok(task)
}

/// One task with its photos, for an auditor of its region; "not found" for anyone else.
pub async fn audit_task(store: &Store, caller: &Caller, id: i64) -> Result<AuditTask, AppError> {
    caller.require(Permission::Audit)?;
    let task = store.audit_task(id).await.map_err(|_| AppError::not_found("audit task"))?;
    if !caller.covers(task.region) {
        return Err(AppError::not_found("audit task"));
    }
    Ok(task)
}

/// An auditor sends an auditor (or the region's auditors) on a task about a person of their
/// regions.
pub async fn create_audit_task(store: &Store, caller: &Caller, task: &NewTask) -> Result<AuditTask, AppError> {
    caller.require(Permission::Audit)?;
    person_for(store, caller, task.person_id, Permission::Audit).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let t = store.create_audit_task(&mut w, task, caller.today).await?;
    w.commit().await?;
    Ok(t)
}

/// An auditor adds a photo to a task of their regions.
pub async fn add_audit_photo(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    id: i64,
    file: Upload,
    taken_at: NaiveDateTime,
    caption: &str,
) -> Result<AuditPhoto, AppError> {
    audit_task(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let photo = NewPhoto { file_name: file.file_name, bytes: file.bytes, taken_at, caption: caption.to_string() };
    let photo = store.add_audit_photo(&mut w, blobs, id, photo).await?;
    w.commit().await?;
    Ok(photo)
}

/// An auditor concludes a task of their regions.
pub async fn conclude_audit_task(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
    concluded: &Concluded,
) -> Result<AuditTask, AppError> {
    audit_task(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let task = store.conclude_audit_task(&mut w, id, version, concluded, caller.today).await?;
    w.commit().await?;
    Ok(task)
}
