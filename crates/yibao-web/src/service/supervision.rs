//! Supervision: the policy administrator imports a region's rule base; reviewers and auditors
//! see what it found on the claims of their regions and decide each hit. Claimants do not see
//! hits (they are the agency's working notes); the statement explains what was paid.

use yibao_core::supervise::RuleBase;
use yibao_core::{AdminCode, Fen, Permission};
use yibao_store::{Consequence, HitDecision, Store, StoredHit, Subject};

use super::claims as claims_svc;
use crate::context::Caller;
use crate::error::AppError;

/// Imports a rule base for one of the caller's regions.
pub async fn import_rule_base(store: &Store, caller: &Caller, text: &str) -> Result<RuleBase, AppError> {
    caller.require(Permission::ManagePolicies)?;
    if let Ok(base) = RuleBase::parse(text) {
        let region: AdminCode = base.region.parse()?;
        if !caller.covers(region) {
            return Err(super::out_of_scope("region"));
        }
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let base = store.import_rule_base(&mut w, text).await?;
    w.commit().await?;
    Ok(base)
}

/// The rule base in force in one of the caller's regions.
pub async fn rule_base(store: &Store, caller: &Caller, region: AdminCode) -> Result<RuleBase, AppError> {
    caller.require(Permission::ViewPolicies)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("rule base"));
    }
    store.rule_base(region).await?.ok_or_else(|| AppError::not_found("rule base"))
}

/// Every version of a region's rule base, the newest first (its history kept).
pub async fn rule_base_versions(
    store: &Store,
    caller: &Caller,
    region: AdminCode,
) -> Result<Vec<yibao_store::RuleBaseVersion>, AppError> {
    caller.require(Permission::ViewPolicies)?;
    if !caller.covers(region) {
        return Err(AppError::not_found("rule base"));
    }
    Ok(store.rule_base_versions(region).await?)
}

/// What the rules found on a claim: for staff who may see the claim.
pub async fn claim_hits(store: &Store, caller: &Caller, claim_id: i64) -> Result<Vec<StoredHit>, AppError> {
    let (_, standing) = claims_svc::claim(store, caller, claim_id).await?;
    if standing != claims_svc::Standing::Staff {
        return Err(AppError::forbidden());
    }
    Ok(store.claim_hits(claim_id).await?)
}

/// What the rules found on a direct settlement: for staff who decide hits in the person's
/// region (the hospital and the person see the settlement, not the agency's working notes).
pub async fn settlement_hits(store: &Store, caller: &Caller, setl_id: &str) -> Result<Vec<StoredHit>, AppError> {
    caller.require(Permission::DecideHits)?;
    let settlement = super::settlement::settlement(store, caller, setl_id).await?;
    Ok(store.hits_of(Subject::Settlement(settlement.id)).await?)
}

/// Which queue a request asks for: `mine` (taken by the caller), `untaken`, or all.
pub fn queue_of(caller: &Caller, queue: &str) -> yibao_store::HitQueue {
    match queue {
        "mine" => yibao_store::HitQueue::TakenBy(caller.actor().label),
        "untaken" => yibao_store::HitQueue::Untaken,
        _ => yibao_store::HitQueue::All,
    }
}

/// The open hits of the caller's regions in `queue` (the auditor's queue).
pub async fn open_hits(
    store: &Store,
    caller: &Caller,
    queue: &yibao_store::HitQueue,
) -> Result<Vec<StoredHit>, AppError> {
    caller.require(Permission::DecideHits)?;
    Ok(store.open_hits_in(&super::staff_scope(caller), queue, 200).await?)
}

/// A reviewer or auditor of the hit's region takes it from the queue (`take`), or lets go of
/// one they took.
pub async fn take_hit(store: &Store, caller: &Caller, id: i64, take: bool) -> Result<StoredHit, AppError> {
    hit(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let hit = store.take_hit(&mut w, id, take).await?;
    w.commit().await?;
    Ok(hit)
}

/// How often each reviewer of the caller's regions admitted lines outside the catalog for an
/// emergency rescue (reviewers and auditors).
pub async fn rescue_admissions(store: &Store, caller: &Caller) -> Result<Vec<(String, i64, i64, Fen)>, AppError> {
    caller.require(Permission::DecideHits)?;
    Ok(store.rescue_admissions(&super::staff_scope(caller)).await?)
}

/// What re-checks found about institutions of the caller's regions (the outlier rules).
pub async fn institution_findings(
    store: &Store,
    caller: &Caller,
) -> Result<Vec<yibao_store::InstitutionFinding>, AppError> {
    caller.require(Permission::DecideHits)?;
    Ok(store.institution_findings(&super::staff_scope(caller), 200).await?)
}

/// One hit, for a reviewer or auditor of its region; "not found" for anyone else.
pub async fn hit(store: &Store, caller: &Caller, id: i64) -> Result<StoredHit, AppError> {
    caller.require(Permission::DecideHits)?;
    let hit = store.supervision_hit(id).await.map_err(|_| AppError::not_found("supervision hit"))?;
    if !caller.covers(hit.region) {
        return Err(AppError::not_found("supervision hit"));
    }
    Ok(hit)
}

/// A decision as a form or a request gives it: cleared, or confirmed with what it costs
/// (nothing when no consequence is given).
pub fn decision(clear: bool, consequence: Option<Consequence>, amount: Option<Fen>) -> HitDecision {
    if clear {
        HitDecision::Clear
    } else {
        HitDecision::Confirm {
            consequence: consequence.unwrap_or(Consequence::None),
            amount: amount.unwrap_or(Fen::ZERO),
        }
    }
}

/// A reviewer or auditor of the hit's region clears (with a reason) or confirms a hit.
pub async fn decide_hit(
    store: &Store,
    caller: &Caller,
    id: i64,
    decision: HitDecision,
    reason: &str,
) -> Result<StoredHit, AppError> {
    hit(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let hit = store.decide_hit(&mut w, id, decision, reason).await?;
    w.commit().await?;
    Ok(hit)
}

/// An auditor of the finding's region decides it: cleared (`None`) or confirmed with what
/// follows, with a reason. "Not found" outside their regions.
pub async fn decide_institution_finding(
    store: &Store,
    caller: &Caller,
    id: i64,
    confirm: Option<yibao_core::supervise::outlier::FollowUp>,
    reason: &str,
) -> Result<yibao_store::InstitutionFinding, AppError> {
    caller.require(Permission::Audit)?;
    let finding = store.institution_finding(id).await.map_err(|_| AppError::not_found("institution finding"))?;
    if !caller.covers(finding.region) {
        return Err(AppError::not_found("institution finding"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let decided = store.decide_institution_finding(&mut w, id, confirm, reason).await?;
    w.commit().await?;
    Ok(decided)
}
