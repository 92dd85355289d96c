//! Sporadic claims (零星报销) over the JSON API: the checklists, submission, documents, the
//! steps of intake and review, and delegations. The rules are the portal's (service layer).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use yibao_core::document::DocumentKind;
use yibao_core::sporadic::{ClaimCase, ClaimState, LineReason, RescueReason, Submitter};
use yibao_core::{AdminCode, InvalidValue, ResidentId};
use yibao_store::{ClaimDocument, ClaimSummary, Delegation, StoredClaim};

use crate::context::Caller;
use crate::error::{AppError, Problem};
use crate::forms::claims::ClaimForm;
use crate::forms::upload::FormWithFile;
use crate::service::claims::{self as svc, Step};
use crate::SharedState;

/// The claim rules in force for persons insured in `region`: every case's checklist (each
/// item with why it is asked for) and deadline, and the second-review amount.
#[utoipa::path(get, path = "/api/v1/claim-rules/{region}", responses((status = 200), (status = 422, body = Problem)))]
pub async fn get_claim_rules(
    State(state): State<SharedState>,
    caller: Caller,
    Path(region): Path<String>,
) -> Result<Json<Value>, AppError> {
    let region: AdminCode = region.parse()?;
    let (rules, version) = svc::claim_rules(&state.store, &caller, region).await?;
    Ok(Json(json!({ "region": region, "version": version, "rules": rules })))
}

/// Import a new version of a region's claim rules (policy administrator); the body is the
/// rules document (see `crates/yibao-core/data/claim_rules.json`).
#[utoipa::path(post, path = "/api/v1/claim-rules/{region}", responses((status = 201), (status = 422, body = Problem)))]
pub async fn import_claim_rules(
    State(state): State<SharedState>,
    caller: Caller,
    Path(region): Path<String>,
    body: String,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let region: AdminCode = region.parse()?;
    let version = svc::import_claim_rules(&state.store, &caller, region, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "region": region, "version": version }))))
}

#[derive(Deserialize, IntoParams)]
pub struct ChecklistQuery {
    /// The person's insured region.
    region: String,
    case: String,
    /// `insured` (default), `delegate`, `employer`.
    submitter: Option<String>,
}

/// Which documents to bring for a case, and why (the wizard's answer).
#[utoipa::path(get, path = "/api/v1/claim-checklist", params(ChecklistQuery), responses((status = 200)))]
pub async fn checklist(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<ChecklistQuery>,
) -> Result<Json<Value>, AppError> {
    let region: AdminCode = q.region.parse()?;
    let case = ClaimCase::parse(&q.case)?;
    let submitter = Submitter::parse(q.submitter.as_deref().unwrap_or("insured"))?;
    let (rules, _) = svc::claim_rules(&state.store, &caller, region).await?;
    rules.check_submitter(case, submitter)?;
    let deadline = rules.case(case).deadline;
    Ok(Json(json!({
        "case": case, "label": case.label(), "submitter": submitter,
        "deadline": deadline, "deadline_text": deadline.describe(),
        "items": rules.checklist(case, submitter).iter().map(|i| json!({
            "any_of": i.any_of, "label": i.label(), "required": i.required, "why": i.why,
        })).collect::<Vec<_>>(),
    })))
}

/// Hand a claim in: the person or their delegate online, or a clerk at the window.
#[utoipa::path(post, path = "/api/v1/claims", request_body = ClaimForm,
    responses((status = 201), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn submit_claim(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<ClaimForm>,
) -> Result<(StatusCode, Json<StoredClaim>), AppError> {
    let (input, window) = f.parse().map_err(AppError::validation)?;
    let claim = svc::submit_claim(&state.store, &state.blobs, &caller, input, window, Vec::new()).await?;
    Ok((StatusCode::CREATED, Json(claim)))
}

/// A claim with its invoices, lines, documents, history and (once adjudicated) statement.
#[utoipa::path(get, path = "/api/v1/claims/{id}", responses((status = 200), (status = 404, body = Problem)))]
pub async fn get_claim(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<StoredClaim>, AppError> {
    Ok(Json(svc::claim(&state.store, &caller, id).await?.0))
}

#[derive(Deserialize, IntoParams)]
pub struct QueueLimit {
    /// At most this many (1–200; 200 unless given).
    limit: Option<i64>,
}

/// The staff's claim list: claims of persons in the caller's regions (oldest first unless
/// `sort` says `newest` or `amount`), filtered by `state` (comma-separated; default every
/// state not final, `all` for every one), `case`, `region`, `institution`, the days received
/// (`from`, `to`) and the amount (`min`, `max`, yuan). When there are more, the header
/// `X-Next-After` holds the cursor to pass as `after`.
#[utoipa::path(get, path = "/api/v1/claims", params(crate::pages::QueueAsk, QueueLimit),
    responses((status = 200), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn claim_queue(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<crate::pages::QueueAsk>,
    Query(limit): Query<QueueLimit>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let states: Vec<ClaimState> = match ask.state_list() {
        Some(list) if list.trim() == "all" => Vec::new(),
        Some(list) => list.split(',').map(|s| ClaimState::parse(s.trim())).collect::<Result<_, _>>()?,
        None => ClaimState::ALL.iter().copied().filter(|s| !s.is_final()).collect(),
    };
    let mut f = ask.filter_in(&state.store, None).await?.map_err(AppError::validation)?;
    f.states = states;
    let (page, _) = svc::claim_list(&state.store, &caller, f, limit.limit.unwrap_or(200)).await?;
    let mut res = Json(page.items).into_response();
    if let Some(next) = page.next.and_then(|n| axum::http::HeaderValue::from_str(&n).ok()) {
        res.headers_mut().insert("x-next-after", next);
    }
    Ok(res)
}

/// A person's claims, newest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/claims", responses((status = 200), (status = 404, body = Problem)))]
pub async fn person_claims(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ClaimSummary>>, AppError> {
    Ok(Json(svc::claims_of(&state.store, &caller, id).await?))
}

#[derive(Deserialize)]
pub struct DocumentFields {
    #[serde(default)]
    kind: String,
}

/// Attach a document to a claim (`multipart/form-data`: `kind`, one of the document kinds,
/// and the file in `file`; a PDF, JPEG or PNG of at most 10 MB, judged by its content).
#[utoipa::path(post, path = "/api/v1/claims/{id}/documents",
    responses((status = 201), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn attach_document(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form, file }: FormWithFile<DocumentFields>,
) -> Result<(StatusCode, Json<ClaimDocument>), AppError> {
    let kind = DocumentKind::parse(&form.kind)?;
    let file = crate::forms::upload::required_file(file)?;
    Ok((StatusCode::CREATED, Json(svc::attach_document(&state.store, &state.blobs, &caller, id, kind, file).await?)))
}

/// One step on a claim.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StepForm {
    /// `accept`, `return`, `resubmit`, `withdraw`, `take`, `exclude`, `rescue`, `decide`,
    /// `second_review`.
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) note: String,
    /// `decide`: approve (true) or reject; `second_review`: confirm (true) or send back.
    #[serde(default)]
    pub(crate) approve: bool,
    /// `exclude` and `rescue` (admit a line outside the catalog for an emergency rescue): the
    /// line's number, and a coded reason (none takes it back).
    #[serde(default)]
    pub(crate) seq: i64,
    #[serde(default)]
    pub(crate) reason: String,
}

impl StepForm {
    pub fn step(&self) -> Result<Step, InvalidValue> {
        let note = self.note.clone();
        Ok(match self.action.trim() {
            "accept" => Step::Accept,
            "return" => Step::Return { note },
            "resubmit" => Step::Resubmit,
            "withdraw" => Step::Withdraw { note },
            "take" => Step::Take,
            "exclude" => Step::Exclude {
                seq: self.seq,
                reason: Some(self.reason.trim()).filter(|r| !r.is_empty()).map(LineReason::parse).transpose()?,
                note,
            },
            "rescue" => Step::Rescue {
                seq: self.seq,
                reason: Some(self.reason.trim()).filter(|r| !r.is_empty()).map(RescueReason::parse).transpose()?,
                note,
            },
            "decide" => Step::Decide { approve: self.approve, note },
            "second_review" => Step::SecondReview { confirm: self.approve, note },
            other => {
                return Err(InvalidValue::new(
                    "action",
                    "unknown",
                    format!("未知操作“{other}”"),
                    format!("unknown action \"{other}\""),
                ))
            }
        })
    }
}

/// Take a step on a claim: intake (accept, return for supplement), the claimant (resubmit,
/// withdraw), review (take, exclude a line, decide) or second review.
#[utoipa::path(post, path = "/api/v1/claims/{id}/steps", request_body = StepForm,
    responses((status = 200), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn claim_step(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(f): Json<StepForm>,
) -> Result<Json<StoredClaim>, AppError> {
    let step = f.step()?;
    Ok(Json(svc::claim_step(&state.store, &caller, id, step).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DelegationForm {
    delegate_id: String,
    delegate_name: String,
}

/// The logged-in person's authorisations, and those given to them.
#[utoipa::path(get, path = "/api/v1/my/delegations", responses((status = 200), (status = 403, body = Problem)))]
pub async fn my_delegations(State(state): State<SharedState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let given = svc::my_delegations(&state.store, &caller).await?;
    let received = svc::delegated_to_me(&state.store, &caller).await?;
    Ok(Json(json!({ "given": given, "received": received })))
}

/// Authorise a delegate (受托人) to claim for oneself.
#[utoipa::path(post, path = "/api/v1/my/delegations", request_body = DelegationForm,
    responses((status = 201), (status = 422, body = Problem)))]
pub async fn grant_delegation(
    State(state): State<SharedState>,
    caller: Caller,
    Json(f): Json<DelegationForm>,
) -> Result<(StatusCode, Json<Delegation>), AppError> {
    let id: ResidentId = f.delegate_id.trim().parse()?;
    Ok((StatusCode::CREATED, Json(svc::grant_delegation(&state.store, &caller, &id, &f.delegate_name).await?)))
}

/// Revoke an authorisation.
#[utoipa::path(post, path = "/api/v1/my/delegations/{id}/revoke", responses((status = 200), (status = 404, body = Problem)))]
pub async fn revoke_delegation(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Delegation>, AppError> {
    Ok(Json(svc::revoke_delegation(&state.store, &caller, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    /// The reviewer's username.
    reviewer: String,
}

/// A lead reviewer (复核) gives a claim waiting for or under review to a reviewer of its
/// region.
#[utoipa::path(post, path = "/api/v1/claims/{id}/assign", request_body = AssignRequest,
    responses((status = 200), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_claim(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(r): Json<AssignRequest>,
) -> Result<Json<StoredClaim>, AppError> {
    Ok(Json(svc::assign(&state.store, &caller, id, &r.reviewer).await?))
}

/// One reviewer's workload.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Workload {
    username: String,
    display_name: String,
    /// Claims under their review.
    in_review: i64,
}

/// The reviewers of the caller's regions and the claims each has under review (lead
/// reviewer).
#[utoipa::path(get, path = "/api/v1/claims/workload", responses((status = 200, body = Vec<Workload>), (status = 403, body = Problem)))]
pub async fn workload(State(state): State<SharedState>, caller: Caller) -> Result<Json<Vec<Workload>>, AppError> {
    let list = svc::workload(&state.store, &caller).await?;
    Ok(Json(
        list.into_iter()
            .map(|(a, n)| Workload { username: a.username, display_name: a.display_name, in_review: n })
            .collect(),
    ))
}
