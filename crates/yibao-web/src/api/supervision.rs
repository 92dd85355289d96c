//! Supervision over HTTP: a region's rule base, the hits on a claim, the auditor's queue, and
//! a decision on a hit.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use yibao_core::supervise::RuleBase;
use yibao_core::{AdminCode, Fen, InvalidValue};
use yibao_store::{Consequence, StoredHit};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::service::supervision as svc;
use crate::SharedState;

/// The rule base (智能监管规则库) in force in a region, as imported.
#[utoipa::path(get, path = "/api/v1/rule-bases/{region}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_rule_base(
    State(state): State<SharedState>,
    caller: Caller,
    Path(region): Path<String>,
) -> Result<Json<RuleBase>, AppError> {
    let region: AdminCode = region.parse()?;
    Ok(Json(svc::rule_base(&state.store, &caller, region).await?))
}

/// Every version of a region's rule base, the newest first, each with who imported it, when,
/// its number of rules and its document.
#[utoipa::path(get, path = "/api/v1/rule-bases/{region}/versions", responses((status = 200), (status = 404, body = Problem)))]
pub async fn rule_base_versions(
    State(state): State<SharedState>,
    caller: Caller,
    Path(region): Path<String>,
) -> Result<Json<Vec<yibao_store::RuleBaseVersion>>, AppError> {
    let region: AdminCode = region.parse()?;
    Ok(Json(svc::rule_base_versions(&state.store, &caller, region).await?))
}

/// Import a new version of a region's rule base (policy administrator); the body is the TOML
/// document (see `docs/formats/supervision.md`), whose `region` must be the path's.
#[utoipa::path(post, path = "/api/v1/rule-bases/{region}", responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_rule_base(
    State(state): State<SharedState>,
    caller: Caller,
    Path(region): Path<String>,
    body: String,
) -> Result<(StatusCode, Json<RuleBase>), AppError> {
    let region: AdminCode = region.parse()?;
    if RuleBase::parse(&body).is_ok_and(|b| b.region != region.to_string()) {
        return Err(InvalidValue::new(
            "region",
            "mismatch",
            "规则库中的地区与地址中的地区不一致",
            "the rule base's region is not the one in the address",
        )
        .into());
    }
    Ok((StatusCode::CREATED, Json(svc::import_rule_base(&state.store, &caller, &body).await?)))
}

/// What the supervision rules found on a claim (staff who may see it).
#[utoipa::path(get, path = "/api/v1/claims/{id}/hits", responses((status = 200), (status = 404, body = Problem)))]
pub async fn claim_hits(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<StoredHit>>, AppError> {
    Ok(Json(svc::claim_hits(&state.store, &caller, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueAsk {
    /// `mine` (taken by the caller), `untaken`, or all (the default).
    #[serde(default)]
    pub queue: String,
}

/// The open hits of the caller's regions, oldest first (reviewers and auditors).
#[utoipa::path(get, path = "/api/v1/hits", params(QueueAsk), responses((status = 200)))]
pub async fn open_hits(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<QueueAsk>,
) -> Result<Json<Vec<StoredHit>>, AppError> {
    let queue = svc::queue_of(&caller, &q.queue);
    Ok(Json(svc::open_hits(&state.store, &caller, &queue).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct TakeHit {
    /// `true` takes the hit; `false` lets go of it.
    pub take: bool,
}

/// Take an open hit from the queue (only whoever took it decides it), or let go of it.
#[utoipa::path(post, path = "/api/v1/hits/{id}/take", request_body = TakeHit,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn take_hit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(t): Json<TakeHit>,
) -> Result<Json<StoredHit>, AppError> {
    Ok(Json(svc::take_hit(&state.store, &caller, id, t.take).await?))
}

/// What the rules found on a direct settlement (reviewers and auditors of the person's region).
#[utoipa::path(get, path = "/api/v1/settlements/{setl_id}/hits", responses((status = 200), (status = 404, body = Problem)))]
pub async fn settlement_hits(
    State(state): State<SharedState>,
    caller: Caller,
    Path(setl_id): Path<String>,
) -> Result<Json<Vec<StoredHit>>, AppError> {
    Ok(Json(svc::settlement_hits(&state.store, &caller, &setl_id).await?))
}

/// How often each reviewer of the caller's regions admitted a line outside the catalog for an
/// emergency rescue: `[{reviewer, lines, claims, amount}]`, most first.
#[utoipa::path(get, path = "/api/v1/reports/rescue-admissions", responses((status = 200)))]
pub async fn rescue_admissions(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<serde_json::Value>>, AppError> {
    let rows = svc::rescue_admissions(&state.store, &caller).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(reviewer, lines, claims, amount)| {
                serde_json::json!({ "reviewer": reviewer, "lines": lines, "claims": claims, "amount": amount })
            })
            .collect(),
    ))
}

/// Institutions a re-check found far from their peers (the outlier rules), the latest period
/// first (reviewers and auditors of the regions).
#[utoipa::path(get, path = "/api/v1/institution-findings", responses((status = 200)))]
pub async fn institution_findings(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<Vec<yibao_store::InstitutionFinding>>, AppError> {
    Ok(Json(svc::institution_findings(&state.store, &caller).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct FindingDecision {
    /// `true`: the institution's figures are explained (排除); `false`: confirmed.
    pub clear: bool,
    pub reason: String,
    /// Of a confirmed finding: `none` (the default), `interview` (约谈) or `inspection`
    /// (专项检查).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub follow_up: Option<yibao_core::supervise::outlier::FollowUp>,
}

/// An auditor decides an institution finding, with a reason.
#[utoipa::path(post, path = "/api/v1/institution-findings/{id}/decision", request_body = FindingDecision,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_institution_finding(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(d): Json<FindingDecision>,
) -> Result<Json<yibao_store::InstitutionFinding>, AppError> {
    let confirm = (!d.clear).then(|| d.follow_up.unwrap_or(yibao_core::supervise::outlier::FollowUp::Nothing));
    Ok(Json(svc::decide_institution_finding(&state.store, &caller, id, confirm, &d.reason).await?))
}

/// One hit (reviewers and auditors of its region).
#[utoipa::path(get, path = "/api/v1/hits/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_hit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<StoredHit>, AppError> {
    Ok(Json(svc::hit(&state.store, &caller, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct HitDecision {
    /// `true`: in order (排除); `false`: a fault (确认违规).
    pub clear: bool,
    pub reason: String,
    /// Of a confirmed hit: `none` (the default), `deduct` (拒付, a direct settlement's only:
    /// withheld from the institution at clearing) or `recover` (追回).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub consequence: Option<Consequence>,
    /// Yuan, e.g. `"120.00"`; at most what the fund paid.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Fen>,
}

/// Decide an open hit, with a reason.
#[utoipa::path(post, path = "/api/v1/hits/{id}/decision", request_body = HitDecision,
    responses((status = 200), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn decide_hit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(d): Json<HitDecision>,
) -> Result<Json<StoredHit>, AppError> {
    let decision = svc::decision(d.clear, d.consequence, d.amount);
    Ok(Json(svc::decide_hit(&state.store, &caller, id, decision, &d.reason).await?))
}
