//! Sporadic claims as people handle them. The claimant is the insured person or a delegate
//! they authorised (both in the portal), or a clerk at the window (for the person, a
//! delegate, or the employer unit); intake clerks accept or return claims of their regions,
//! reviewers review them, second reviewers confirm. Anyone else is told a claim does not
//! exist.

use std::sync::Arc;

use yibao_core::sporadic::{ClaimRules, ClaimState, LineReason};
use yibao_core::{AdminCode, Permission};
use yibao_store::{BlobStore, ClaimDocument, ClaimInput, ClaimSummary, Delegation, Store, StoredClaim, SubmittedBy};

use super::cover::person_for;
use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::Upload;

/// The logged-in insured person's id.
fn own_person(caller: &Caller) -> Option<i64> {
    caller.can(Permission::ViewOwnRecord).then(|| caller.session().and_then(|s| s.account.person_id)).flatten()
}

/// The logged-in employer unit's id.
fn own_employer(caller: &Caller) -> Option<i64> {
    caller.can(Permission::FileForEmployees).then(|| caller.session().and_then(|s| s.account.employer_id)).flatten()
}

/// How the caller stands to a claim of `person_id`: as the person, as their delegate (the
/// authorisation in force), as the person's employer unit, or as staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Own,
    Delegate(i64),
    /// The person's employer unit: it sees and acts on only the claims it handed in.
    Employer(i64),
    Staff,
}

/// The caller's standing towards `person_id`'s claims, if any: the person, a delegate in
/// force, or staff with `staff` covering the person's region.
async fn standing(store: &Store, caller: &Caller, person_id: i64, staff: Permission) -> Result<Standing, AppError> {
    if let Some(me) = own_person(caller) {
        if me == person_id {
            return Ok(Standing::Own);
        }
        if let Some(d) = store.delegations_to(me).await?.into_iter().find(|d| d.person_id == person_id) {
            return Ok(Standing::Delegate(d.id));
        }
        return Err(AppError::not_found("person"));
    }
    if let Some(unit) = own_employer(caller) {
        let person = store.person(person_id).await.map_err(|_| AppError::not_found("person"))?;
        if person.employer_id == Some(unit) {
            return Ok(Standing::Employer(unit));
        }
        return Err(AppError::not_found("person"));
    }
    person_for(store, caller, person_id, staff).await?;
    Ok(Standing::Staff)
}

/// A claim the caller may see, and how they stand to it.
pub async fn claim(store: &Store, caller: &Caller, id: i64) -> Result<(StoredClaim, Standing), AppError> {
    if own_person(caller).is_none() && own_employer(caller).is_none() {
        caller.require(Permission::ViewClaims)?;
    }
    let c = store.claim(id).await?;
    let s =
        standing(store, caller, c.person_id, Permission::ViewClaims).await.map_err(|_| AppError::not_found("claim"))?;
    if let Standing::Employer(unit) = s {
        if c.employer_id != Some(unit) {
            return Err(AppError::not_found("claim"));
        }
    }
    let c = if s == Standing::Staff { c } else { without_staff_names(store, caller, c).await? };
    Ok((c, s))
}

/// The claim as its claimant sees it: every step a member of staff took is by 「医保经办人员」
/// (insurance staff), never by a username.
async fn without_staff_names(store: &Store, caller: &Caller, mut c: StoredClaim) -> Result<StoredClaim, AppError> {
    let mut names = super::StaffNames::new(store, caller);
    names.hide(&mut c.submitted_by).await;
    for name in c.reviewer.iter_mut().chain(c.second_reviewer.iter_mut()) {
        names.hide(name).await;
    }
    for e in &mut c.events {
        names.hide(&mut e.actor).await;
    }
    for d in &mut c.documents {
        names.hide(&mut d.added_by).await;
    }
    for l in &mut c.lines {
        if let Some(by) = l.excluded_by.as_mut() {
            names.hide(by).await;
        }
    }
    Ok(c)
}

/// A claim the caller may act on as its claimant (the person, their delegate, or a clerk).
async fn claim_as_claimant(store: &Store, caller: &Caller, id: i64) -> Result<StoredClaim, AppError> {
    let (c, s) = claim(store, caller, id).await?;
    if s == Standing::Staff {
        caller.require(Permission::HandleClaims)?;
    }
    Ok(c)
}

/// A claim of the caller's regions, for staff holding `p`.
async fn claim_as_staff(store: &Store, caller: &Caller, id: i64, p: Permission) -> Result<StoredClaim, AppError> {
    caller.require(p)?;
    let (c, _) = claim(store, caller, id).await?;
    Ok(c)
}

/// A person's claims (their own, a delegate's principal, or a person of the staff
/// caller's regions), newest first.
pub async fn claims_of(store: &Store, caller: &Caller, person_id: i64) -> Result<Vec<ClaimSummary>, AppError> {
    if let Standing::Employer(unit) = standing(store, caller, person_id, Permission::ViewClaims).await? {
        let mine = store.claims_filed_by(unit).await?;
        return Ok(mine.into_iter().filter(|c| c.person_id == person_id).collect());
    }
    Ok(store.claims_of(person_id).await?)
}

/// The claims the caller's employer unit handed in, newest first.
pub async fn unit_claims(store: &Store, caller: &Caller) -> Result<Vec<ClaimSummary>, AppError> {
    let unit = own_employer(caller).ok_or_else(AppError::forbidden)?;
    Ok(store.claims_filed_by(unit).await?)
}

/// The staff's list: a page of the claims of persons in the caller's regions that `f` finds
/// (its scope is the caller's), and the count in each state for the same filters.
pub async fn claim_list(
    store: &Store,
    caller: &Caller,
    mut f: yibao_store::ClaimFilter,
    limit: i64,
) -> Result<(yibao_store::Page<ClaimSummary>, Vec<(ClaimState, i64)>), AppError> {
    caller.require(Permission::ViewClaims)?;
    f.scope = staff_scope(caller);
    let counts = store.count_claims_by_state(&f).await?;
    Ok((store.list_claims(&f, limit).await?, counts))
}

/// The rules in force for persons insured in `region` (the checklists anyone may read).
pub async fn claim_rules(
    store: &Store,
    caller: &Caller,
    region: AdminCode,
) -> Result<(ClaimRules, Option<i64>), AppError> {
    Ok(store.claim_rules(region, caller.today).await?)
}

/// Imports a version of a region's claim rules (policy administrator of the region).
pub async fn import_claim_rules(
    store: &Store,
    caller: &Caller,
    region: AdminCode,
    body: &str,
) -> Result<i64, AppError> {
    caller.require(Permission::ManagePolicies)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("region"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let version = store.import_claim_rules(&mut w, region, body).await?;
    w.commit().await?;
    Ok(version)
}

/// What a claimant's form says about who hands the claim in (the window's choices).
#[derive(Debug, Clone, Default)]
pub struct WindowSubmitter {
    pub submitter: Option<yibao_core::sporadic::Submitter>,
    pub delegate_id: Option<yibao_core::ResidentId>,
    pub delegate_name: String,
    pub late_excuse: Option<String>,
}

/// Hands a claim in: online by the person or their delegate, or at the window by a clerk
/// (who may record a delegate, the employer unit, or an accepted excuse for lateness).
/// The documents handed in with it are stored in the same transaction: a refused claim
/// keeps none of them.
pub async fn submit_claim(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    mut input: ClaimInput,
    window: WindowSubmitter,
    documents: Vec<(yibao_core::document::DocumentKind, Upload)>,
) -> Result<StoredClaim, AppError> {
    use yibao_core::filing::Channel;
    use yibao_core::sporadic::Submitter;
    match standing(store, caller, input.person_id, Permission::HandleClaims).await? {
        Standing::Own => {
            input.by = SubmittedBy::Insured;
            input.channel = Channel::Online;
            input.late_excuse = None;
        }
        Standing::Delegate(id) => {
            input.by = SubmittedBy::Delegate { delegation_id: Some(id), resident_id: None, name: String::new() };
            input.channel = Channel::Online;
            input.late_excuse = None;
        }
        Standing::Employer(employer_id) => {
            input.by = SubmittedBy::Employer { employer_id };
            input.channel = Channel::Online;
            input.late_excuse = None;
        }
        Standing::Staff => {
            input.channel = Channel::Window;
            input.late_excuse = window.late_excuse;
            input.by = match window.submitter.unwrap_or(Submitter::Insured) {
                Submitter::Insured => SubmittedBy::Insured,
                Submitter::Delegate => SubmittedBy::Delegate {
                    delegation_id: None,
                    resident_id: window.delegate_id,
                    name: window.delegate_name,
                },
                Submitter::Employer => {
                    let person = store.person(input.person_id).await?;
                    let employer_id = person.employer_id.ok_or_else(|| {
                        AppError::validation(vec![yibao_core::InvalidValue::new(
                            "submitter",
                            "no_employer",
                            "该参保人没有登记参保单位",
                            "the person has no employer unit on record",
                        )])
                    })?;
                    SubmittedBy::Employer { employer_id }
                }
            };
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let c = store.submit_claim(&mut w, &input, caller.today).await?;
    if documents.is_empty() {
        w.commit().await?;
        return Ok(c);
    }
    for (kind, file) in documents {
        store.attach_claim_document(&mut w, blobs, c.id, kind, &file.file_name, file.bytes).await?;
    }
    w.commit().await?;
    Ok(store.claim(c.id).await?)
}

/// When the money is expected on the bank card: [`PAYMENT_WORKING_DAYS`] working days after
/// the claim was approved, on the official calendar (a forecast where a year's holidays are
/// not yet published). `None` before approval or for a claim that pays nothing.
pub async fn expected_payment(
    store: &Store,
    claim: &StoredClaim,
) -> Result<Option<yibao_core::calendar::Estimate>, AppError> {
    use yibao_core::sporadic::PAYMENT_WORKING_DAYS;
    let paid = matches!(claim.state, ClaimState::Approved | ClaimState::Reduced);
    let Some(decided) = claim.decided_at.as_deref().filter(|_| paid) else { return Ok(None) };
    // Instants are stored in UTC; the day of approval is China's (UTC+8).
    let Ok(at) = chrono::DateTime::parse_from_rfc3339(decided) else { return Ok(None) };
    let day = (at.naive_utc() + chrono::Duration::hours(8)).date();
    let calendar = store.calendar().await?;
    Ok(calendar.estimate_working_days(day, PAYMENT_WORKING_DAYS).ok())
}

/// Attaches a document to a claim (its claimant, or a clerk).
pub async fn attach_document(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    id: i64,
    kind: yibao_core::document::DocumentKind,
    file: Upload,
) -> Result<ClaimDocument, AppError> {
    claim_as_claimant(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let d = store.attach_claim_document(&mut w, blobs, id, kind, &file.file_name, file.bytes).await?;
    w.commit().await?;
    Ok(d)
}

/// One step on a claim, as whoever takes it.
#[derive(Debug, Clone)]
pub enum Step {
    Accept,
    Return { note: String },
    Resubmit,
    Withdraw { note: String },
    Take,
    Exclude { seq: i64, reason: Option<LineReason>, note: String },
    Rescue { seq: i64, reason: Option<yibao_core::sporadic::RescueReason>, note: String },
    Decide { approve: bool, note: String },
    SecondReview { confirm: bool, note: String },
}

/// Takes `step` on claim `id`, checking the caller may.
pub async fn claim_step(store: &Store, caller: &Caller, id: i64, step: Step) -> Result<StoredClaim, AppError> {
    match &step {
        Step::Accept | Step::Return { .. } => {
            claim_as_staff(store, caller, id, Permission::HandleClaims).await?;
        }
        Step::Resubmit | Step::Withdraw { .. } => {
            claim_as_claimant(store, caller, id).await?;
        }
        Step::Take | Step::Exclude { .. } | Step::Rescue { .. } | Step::Decide { .. } => {
            claim_as_staff(store, caller, id, Permission::ReviewClaims).await?;
        }
        Step::SecondReview { .. } => {
            claim_as_staff(store, caller, id, Permission::SecondReviewClaims).await?;
        }
    }
    let rules = store.rules().await?;
    let today = caller.today;
    let mut w = store.begin_write(&caller.actor()).await?;
    let c = match step {
        Step::Accept => store.accept_claim(&mut w, &rules, id, today).await?,
        Step::Return { note } => store.return_claim(&mut w, id, &note, today).await?,
        Step::Resubmit => store.resubmit_claim(&mut w, id, today).await?,
        Step::Withdraw { note } => store.withdraw_claim(&mut w, id, &note).await?,
        Step::Take => store.take_claim(&mut w, id).await?,
        Step::Exclude { seq, reason, note } => store.exclude_claim_line(&mut w, &rules, id, seq, reason, &note).await?,
        Step::Rescue { seq, reason, note } => {
            store.admit_claim_line_for_rescue(&mut w, &rules, id, seq, reason, &note).await?
        }
        Step::Decide { approve, note } => store.decide_claim(&mut w, &rules, id, approve, &note, today).await?,
        Step::SecondReview { confirm, note } => {
            store.second_review_claim(&mut w, &rules, id, confirm, &note, today).await?
        }
    };
    w.commit().await?;
    Ok(c)
}

/// The authorisations the logged-in person gave.
pub async fn my_delegations(store: &Store, caller: &Caller) -> Result<Vec<Delegation>, AppError> {
    let me = own_person(caller).ok_or_else(AppError::forbidden)?;
    Ok(store.delegations_of(me).await?)
}

/// The persons who authorised the logged-in person as their delegate.
pub async fn delegated_to_me(store: &Store, caller: &Caller) -> Result<Vec<Delegation>, AppError> {
    let me = own_person(caller).ok_or_else(AppError::forbidden)?;
    Ok(store.delegations_to(me).await?)
}

/// The logged-in person authorises a delegate.
pub async fn grant_delegation(
    store: &Store,
    caller: &Caller,
    delegate: &yibao_core::ResidentId,
    name: &str,
) -> Result<Delegation, AppError> {
    let me = own_person(caller).ok_or_else(AppError::forbidden)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let d = store.grant_delegation(&mut w, me, delegate, name).await?;
    w.commit().await?;
    Ok(d)
}

/// The logged-in person revokes an authorisation they gave.
pub async fn revoke_delegation(store: &Store, caller: &Caller, id: i64) -> Result<Delegation, AppError> {
    let me = own_person(caller).ok_or_else(AppError::forbidden)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let d = store.revoke_delegation(&mut w, me, id).await?;
    w.commit().await?;
    Ok(d)
}

/// The reviewers a lead may give a claim of `region` to: enabled accounts that review claims
/// and whose regions hold it, by name.
pub async fn reviewers_for(
    store: &Store,
    region: yibao_core::AdminCode,
) -> Result<Vec<yibao_store::Account>, AppError> {
    let mut out: Vec<yibao_store::Account> = store
        .list_accounts()
        .await?
        .into_iter()
        .filter(|a| {
            a.role.can(Permission::ReviewClaims)
                && !a.disabled
                && a.awaiting_approval_by.is_none()
                && a.scope.covers(region)
        })
        .collect();
    out.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    Ok(out)
}

/// A lead reviewer gives a claim (waiting for or under review) to a reviewer of its region.
pub async fn assign(store: &Store, caller: &Caller, id: i64, reviewer: &str) -> Result<StoredClaim, AppError> {
    let c = claim_as_staff(store, caller, id, Permission::AssignClaims).await?;
    let target = reviewers_for(store, c.insured_region).await?.into_iter().find(|a| a.username == reviewer.trim());
    let Some(target) = target else {
        return Err(AppError::validation(vec![yibao_core::InvalidValue::new(
            "reviewer",
            "unknown",
            "请选择本地区一位在岗的审核人员",
            "choose an active reviewer of the claim's region",
        )]));
    };
    let mut w = store.begin_write(&caller.actor()).await?;
    let c = store.assign_claim(&mut w, id, &target.actor_label()).await?;
    w.commit().await?;
    Ok(c)
}

/// The claims under review in the caller's regions, by reviewer: every reviewer of the
/// regions with their count (those with none too), most first.
pub async fn workload(store: &Store, caller: &Caller) -> Result<Vec<(yibao_store::Account, i64)>, AppError> {
    caller.require(Permission::AssignClaims)?;
    let scope = staff_scope(caller);
    let counts = store.review_workload(&scope).await?;
    let mut out: Vec<(yibao_store::Account, i64)> = store
        .list_accounts()
        .await?
        .into_iter()
        .filter(|a| {
            a.role.can(Permission::ReviewClaims) && !a.disabled && a.scope.regions().iter().any(|r| scope.covers(*r))
        })
        .map(|a| {
            let n = counts.iter().find(|(label, _)| *label == a.actor_label()).map_or(0, |(_, n)| *n);
            (a, n)
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.display_name.cmp(&b.0.display_name)));
    Ok(out)
}
