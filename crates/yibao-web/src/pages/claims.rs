//! Sporadic claims (零星报销) in the portal: the checklist guide ("which papers do I
//! need?"), the claimant's claims and delegations, the claim form with its uploads and
//! itemised list, a claim's page (status, history, what is missing, expected payment, the
//! statement that explains every yuan, printable and downloadable), the staff queue, and
//! the intake, review and second-review steps on a claim's page.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rust_decimal::Decimal;
use serde::Deserialize;
use yibao_core::adjudicate::MedType;
use yibao_core::document::DocumentKind;
use yibao_core::payment::OrderState;
use yibao_core::registry::HospitalGrade;
use yibao_core::sporadic::{itemised, ClaimCase, ClaimState, LineReason, Statement, Submitter, PAYMENT_WORKING_DAYS};
use yibao_core::{AdminCode, BankCardNumber, Fen, InvalidValue, Lang, Permission};
use yibao_store::{ClaimSummary, PaymentOrder, StoredClaim};

use super::cover::{choices, my_person_id, notice, or_show, Choice};
use super::{render, render_form, Ctx, DoneAsk};
use crate::api::claims::StepForm;
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::claims::{ClaimForm, InvoiceForm, LineForm};
use crate::forms::upload::{FormWithFile, FormWithFiles, Upload};
use crate::service::claims::{self as svc, Standing};
use crate::{i18n, SharedState};

/// Rows of invoices and of expense lines the form offers (more lines come as a file).
const INVOICE_ROWS: usize = 3;
const LINE_ROWS: usize = 8;
/// Extra document rows besides the checklist's.
const EXTRA_DOCUMENTS: usize = 2;

fn when(instant: &str) -> String {
    instant.replace('T', " ").trim_end_matches('Z').chars().take(16).collect()
}

pub struct ClaimRow {
    pub id: i64,
    pub number: String,
    pub person_name: String,
    pub case: String,
    pub state: String,
    pub state_code: &'static str,
    pub care_end: String,
    pub medfee: String,
    pub fund: String,
    pub submitted_at: String,
    /// Where the money is, once approved ("已支付 2026-11-23", "待支付（2026-12-14 前）", ...).
    pub payment: String,
    pub payment_state: &'static str,
}

impl ClaimRow {
    fn new(c: &ClaimSummary, lang: Lang) -> ClaimRow {
        ClaimRow {
            id: c.id,
            number: c.number.clone(),
            person_name: c.person_name.clone(),
            case: c.case.label().get(lang).to_string(),
            state: c.state.label().get(lang).to_string(),
            state_code: c.state.code(),
            care_end: c.care_end.to_string(),
            medfee: c.medfee_sumamt.to_grouped(),
            fund: c.fund_pay_sumamt.map_or_else(|| "—".to_string(), Fen::to_grouped),
            submitted_at: when(&c.submitted_at),
            payment: String::new(),
            payment_state: "",
        }
    }

    /// Rows for claims, each with where its money is.
    pub async fn list(
        store: &yibao_store::Store,
        claims: &[ClaimSummary],
        lang: Lang,
    ) -> Result<Vec<ClaimRow>, AppError> {
        let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
        let orders = store.payments_of_claims(&ids).await?;
        Ok(claims
            .iter()
            .map(|c| {
                let mut row = ClaimRow::new(c, lang);
                if let Some(o) = orders.iter().find(|o| o.claim_id == c.id) {
                    row.payment_state = o.state.code();
                    row.payment = match (o.state, o.paid_on) {
                        (OrderState::Paid, Some(day)) => format!("{} {day}", o.state.label().get(lang)),
                        (OrderState::Failed | OrderState::AwaitingAccount, _) => o.state.label().get(lang).to_string(),
                        _ => i18n::t(lang, "pay.due_short").replace("{due}", &o.due_on.to_string()),
                    };
                }
                row
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// The checklist guide

pub struct GuideItem {
    pub label: String,
    pub required: bool,
    pub why: String,
}

pub struct Guide {
    pub case_label: String,
    pub deadline: String,
    pub items: Vec<GuideItem>,
}

#[derive(Template)]
#[template(path = "claim_guide.html")]
struct GuidePage {
    ctx: Ctx,
    cases: Vec<Choice>,
    submitters: Vec<Choice>,
    case: String,
    submitter: String,
    region: String,
    guide: Option<Guide>,
    errors: Vec<String>,
    can_claim: bool,
}

#[derive(Deserialize, Default)]
pub struct GuideAsk {
    #[serde(default)]
    case: String,
    #[serde(default)]
    submitter: String,
    #[serde(default)]
    region: String,
}

/// The region whose rules the caller reads by default: the insured person's own, else the
/// first of the staff member's regions.
async fn home_region(state: &SharedState, caller: &Caller) -> Result<Option<AdminCode>, AppError> {
    if let Some(id) = caller.session().and_then(|s| s.account.person_id) {
        return Ok(Some(state.store.person(id).await?.insured_region));
    }
    if let Some(id) = caller.session().and_then(|s| s.account.employer_id) {
        return Ok(Some(state.store.employer(id).await?.region));
    }
    Ok(caller.session().and_then(|s| s.account.scope.regions().first().copied()))
}

/// `GET /claims/guide`: which papers a case needs, and why, and by when.
pub async fn claim_guide(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<GuideAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let region = match ask.region.trim() {
        "" => home_region(&state, &caller).await?,
        r => Some(r.parse()?),
    };
    let mut errors = Vec::new();
    let mut guide = None;
    if let (Some(region), false) = (region, ask.case.trim().is_empty()) {
        let result = async {
            let case = ClaimCase::parse(ask.case.trim())?;
            let submitter = Submitter::parse(if ask.submitter.is_empty() { "insured" } else { ask.submitter.trim() })?;
            let (rules, _) = svc::claim_rules(&state.store, &caller, region).await?;
            rules.check_submitter(case, submitter)?;
            let items = rules
                .checklist(case, submitter)
                .iter()
                .map(|i| GuideItem {
                    label: i.label().get(lang).to_string(),
                    required: i.required,
                    why: i.why.get(lang).to_string(),
                })
                .collect();
            Ok::<_, AppError>(Guide {
                case_label: case.label().get(lang).to_string(),
                deadline: rules.case(case).deadline.describe().get(lang).to_string(),
                items,
            })
        }
        .await;
        match result {
            Ok(g) => guide = Some(g),
            Err(e) => errors = super::form_messages(&e, lang).ok_or(e)?,
        }
    }
    let page = GuidePage {
        ctx: Ctx::for_caller(&caller, "/claims/guide"),
        cases: choices(ClaimCase::ALL, ClaimCase::code, ClaimCase::label, lang),
        submitters: choices(Submitter::ALL, Submitter::code, Submitter::label, lang),
        case: ask.case.trim().to_string(),
        submitter: ask.submitter.trim().to_string(),
        region: region.map(|r| r.to_string()).unwrap_or_default(),
        guide,
        can_claim: caller.can(Permission::ViewOwnRecord) || caller.can(Permission::HandleClaims),
        errors,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------------------------------
// The claimant's claims and delegations

pub struct DelegationRow {
    pub id: i64,
    pub name: String,
    pub resident_id: String,
    pub granted_at: String,
    pub revoked_at: String,
}

#[derive(Template)]
#[template(path = "my_claims.html")]
struct MyClaimsPage {
    ctx: Ctx,
    name: String,
    rows: Vec<ClaimRow>,
    given: Vec<DelegationRow>,
    /// Persons who authorised the caller: (person id, name).
    principals: Vec<(i64, String)>,
    errors: Vec<String>,
    notice: Option<String>,
}

async fn show_my_claims(
    state: &SharedState,
    caller: &Caller,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let id = my_person_id(caller)?;
    let lang = caller.lang;
    let person = state.store.person(id).await?;
    let rows = svc::claims_of(&state.store, caller, id).await?;
    let given = svc::my_delegations(&state.store, caller).await?;
    let received = svc::delegated_to_me(&state.store, caller).await?;
    let mut principals = Vec::new();
    for d in received.iter().filter(|d| d.revoked_at.is_none()) {
        principals.push((d.person_id, state.store.person(d.person_id).await?.name.to_string()));
    }
    let page = MyClaimsPage {
        ctx: Ctx::for_caller(caller, "/my/claims"),
        name: person.name.to_string(),
        rows: ClaimRow::list(&state.store, &rows, lang).await?,
        given: given
            .iter()
            .map(|d| DelegationRow {
                id: d.id,
                name: d.delegate_name.clone(),
                resident_id: d.delegate_resident_id.clone(),
                granted_at: when(&d.granted_at),
                revoked_at: d.revoked_at.as_deref().map(when).unwrap_or_default(),
            })
            .collect(),
        principals,
        notice: notice(lang, done),
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /my/claims`: the insured person's claims, the delegates they authorised, and the
/// persons who authorised them.
pub async fn my_claims(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_my_claims(&state, &caller, &ask.done, Vec::new()).await
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    delegate_id: String,
    #[serde(default)]
    delegate_name: String,
}

/// `POST /my/delegations`: authorise a delegate.
pub async fn my_delegation_grant(
    State(state): State<SharedState>,
    caller: Caller,
    Form(f): Form<GrantForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let rid = f.delegate_id.trim().parse().map_err(|mut e: InvalidValue| {
            e.field = "delegate_id";
            AppError::validation(vec![e])
        })?;
        svc::grant_delegation(&state.store, &caller, &rid, &f.delegate_name).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/my/claims?done=delegated").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_my_claims(&state, &caller, "", m)).await,
    }
}

/// `POST /my/delegations/{id}/revoke`.
pub async fn my_delegation_revoke(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<super::auth::CsrfOnly>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match svc::revoke_delegation(&state.store, &caller, id).await {
        Ok(_) => Ok(Redirect::to("/my/claims?done=delegation_revoked").into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_my_claims(&state, &caller, "", m)).await,
    }
}

// ---------------------------------------------------------------------------------------
// The claim form

/// One row of documents to hand in: a checklist item (any of its kinds), or an extra one.
pub struct DocumentRow {
    pub label: String,
    pub required: bool,
    pub why: String,
    pub kinds: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "claim_form.html")]
struct ClaimFormPage {
    ctx: Ctx,
    /// At the window: the clerk names the person by ID number and says who hands it in.
    window: bool,
    /// An employer unit: names its employee by ID number.
    unit: bool,
    person_name: String,
    v: BTreeMap<String, String>,
    cases: Vec<Choice>,
    med_types: Vec<Choice>,
    grades: Vec<Choice>,
    submitters: Vec<Choice>,
    invoices: Vec<InvoiceForm>,
    lines: Vec<LineForm>,
    documents: Vec<DocumentRow>,
    deadline: String,
    errors: Vec<String>,
}

impl ClaimFormPage {
    /// A field's value as typed.
    fn val(&self, key: &str) -> &str {
        self.v.get(key).map_or("", String::as_str)
    }
}

#[derive(Deserialize, Default)]
pub struct NewAsk {
    #[serde(default)]
    case: String,
    /// A principal's person id (a delegate claiming for them).
    #[serde(default)]
    person: String,
}

/// Who the form is for: the caller, a principal they are the delegate of, or (window) the
/// person named later by ID number.
async fn form_person(state: &SharedState, caller: &Caller, person: &str) -> Result<(Option<i64>, String), AppError> {
    if caller.can(Permission::HandleClaims) || caller.can(Permission::FileForEmployees) {
        return Ok((None, String::new()));
    }
    let me = my_person_id(caller)?;
    let id = person.trim().parse::<i64>().unwrap_or(me);
    // The claims list checks the caller's standing (own or delegate); anyone else: 404.
    svc::claims_of(&state.store, caller, id).await?;
    Ok((Some(id), state.store.person(id).await?.name.to_string()))
}

async fn show_claim_form(
    state: &SharedState,
    caller: &Caller,
    v: BTreeMap<String, String>,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let window = caller.can(Permission::HandleClaims);
    let unit = caller.can(Permission::FileForEmployees);
    let (person_id, person_name) = form_person(state, caller, v.get("person_id").map_or("", String::as_str)).await?;
    let mut v = v;
    if let Some(id) = person_id {
        v.insert("person_id".into(), id.to_string());
    }
    let region = match person_id {
        Some(id) => Some(state.store.person(id).await?.insured_region),
        None => home_region(state, caller).await?,
    };
    let case = v.get("case").and_then(|c| ClaimCase::parse(c).ok());
    let mut documents = Vec::new();
    let mut deadline = String::new();
    if let (Some(region), Some(case)) = (region, case) {
        let (rules, _) = svc::claim_rules(&state.store, caller, region).await?;
        let submitter = if unit {
            Submitter::Employer
        } else if person_id.is_some_and(|id| Some(id) != caller.session().and_then(|s| s.account.person_id)) {
            Submitter::Delegate
        } else {
            v.get("submitter").and_then(|s| Submitter::parse(s).ok()).unwrap_or(Submitter::Insured)
        };
        deadline = rules.case(case).deadline.describe().get(lang).to_string();
        for item in rules.checklist(case, submitter) {
            documents.push(DocumentRow {
                label: item.label().get(lang).to_string(),
                required: item.required,
                why: item.why.get(lang).to_string(),
                kinds: choices(&item.any_of, DocumentKind::code, DocumentKind::label, lang),
            });
        }
    }
    for _ in 0..EXTRA_DOCUMENTS {
        documents.push(DocumentRow {
            label: i18n::t(lang, "claim.other_document").to_string(),
            required: false,
            why: String::new(),
            kinds: choices(DocumentKind::ALL, DocumentKind::code, DocumentKind::label, lang),
        });
    }
    let field = |k: String| v.get(&k).cloned().unwrap_or_default();
    let invoices = (1..=INVOICE_ROWS)
        .map(|i| InvoiceForm {
            invoice_no: field(format!("invoice_no_{i}")),
            invoice_date: field(format!("invoice_date_{i}")),
            amount: field(format!("invoice_amount_{i}")),
        })
        .collect();
    let lines = (1..=LINE_ROWS)
        .map(|i| LineForm {
            med_list_codg: field(format!("line_code_{i}")),
            item_name: field(format!("line_name_{i}")),
            cnt: field(format!("line_cnt_{i}")),
            pric: field(format!("line_pric_{i}")),
            amount: field(format!("line_amount_{i}")),
            fee_ocur_time: field(format!("line_date_{i}")),
        })
        .collect();
    let page = ClaimFormPage {
        ctx: Ctx::for_caller(
            caller,
            if window {
                "/claims"
            } else if unit {
                "/unit/claims"
            } else {
                "/my/claims"
            },
        ),
        window,
        unit,
        person_name,
        cases: choices(ClaimCase::ALL, ClaimCase::code, ClaimCase::label, lang),
        med_types: [MedType::Inpatient, MedType::GeneralOutpatient, MedType::SpecialOutpatient]
            .iter()
            .map(|m| Choice { code: m.code().to_string(), label: format!("{} {}", m.code(), m.label().get(lang)) })
            .collect(),
        grades: choices(HospitalGrade::ALL, HospitalGrade::code, HospitalGrade::label, lang),
        submitters: choices(Submitter::ALL, Submitter::code, Submitter::label, lang),
        invoices,
        lines,
        documents,
        deadline,
        v,
        errors: errors.clone(),
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /claims/new?case=&person=`: the claim form, with the case's checklist as upload rows.
pub async fn claim_new_form(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<NewAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let mut v = BTreeMap::new();
    v.insert("case".to_string(), ask.case.trim().to_string());
    v.insert("person_id".to_string(), ask.person.trim().to_string());
    v.insert("med_type".to_string(), "21".to_string());
    show_claim_form(&state, &caller, v, Vec::new()).await
}

/// cnt × pric to the fen, as the lines are checked (half away from zero).
fn line_amount(cnt: &str, pric: &str) -> Option<String> {
    let (cnt, pric) = (cnt.trim().parse::<Decimal>().ok()?, pric.trim().parse::<Decimal>().ok()?);
    Some((cnt * pric).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_string())
}

/// The claim as the form typed it, in the shape the API takes; the lines from the file when
/// one was chosen.
fn claim_form(v: &BTreeMap<String, String>, lines_file: Option<&Upload>) -> Result<ClaimForm, Vec<InvalidValue>> {
    let field = |k: &str| v.get(k).map_or("", |s| s.trim()).to_string();
    let invoices = (1..=INVOICE_ROWS)
        .map(|i| InvoiceForm {
            invoice_no: field(&format!("invoice_no_{i}")),
            invoice_date: field(&format!("invoice_date_{i}")),
            amount: field(&format!("invoice_amount_{i}")),
        })
        .filter(|r| !(r.invoice_no.is_empty() && r.invoice_date.is_empty() && r.amount.is_empty()))
        .collect();
    let typed: Vec<LineForm> = (1..=LINE_ROWS)
        .map(|i| {
            let (cnt, pric) = (field(&format!("line_cnt_{i}")), field(&format!("line_pric_{i}")));
            let amount = field(&format!("line_amount_{i}"));
            LineForm {
                med_list_codg: field(&format!("line_code_{i}")),
                item_name: field(&format!("line_name_{i}")),
                amount: if amount.is_empty() { line_amount(&cnt, &pric).unwrap_or_default() } else { amount },
                cnt,
                pric,
                fee_ocur_time: field(&format!("line_date_{i}")),
            }
        })
        .filter(|l| !(l.med_list_codg.is_empty() && l.cnt.is_empty() && l.pric.is_empty()))
        .collect();
    let lines = match lines_file {
        Some(_) if !typed.is_empty() => {
            return Err(vec![InvalidValue::new(
                "lines_file",
                "both",
                "费用明细请逐行填写或上传文件，二选一",
                "enter the expense lines or upload them as a file, not both",
            )])
        }
        Some(file) => itemised::read(&file.bytes)?
            .into_iter()
            .map(|l| LineForm {
                med_list_codg: l.med_list_codg,
                item_name: l.item_name,
                cnt: l.cnt.to_string(),
                pric: l.pric.to_string(),
                amount: l.amount.to_string(),
                fee_ocur_time: l.fee_ocur_time.to_string(),
            })
            .collect(),
        None => typed,
    };
    Ok(ClaimForm {
        person_id: field("person_id").parse().unwrap_or(0),
        case: field("case"),
        med_type: field("med_type"),
        institution_code: field("institution_code"),
        institution_name: field("institution_name"),
        treatment_region: field("treatment_region"),
        hosp_lv: field("hosp_lv"),
        visit_no: field("visit_no"),
        care_start: field("care_start"),
        care_end: field("care_end"),
        diagnoses: field("diagnoses")
            .split([',', '，', ';', '；', ' '])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        invoices,
        lines,
        submitter: field("submitter"),
        delegate_id: field("delegate_id"),
        delegate_name: field("delegate_name"),
        late_excuse: field("late_excuse"),
        treatment_catalog: matches!(field("treatment_catalog").as_str(), "1" | "on" | "true"),
    })
}

/// The documents chosen in the form: `doc_file_N` with its kind in `doc_kind_N`.
fn chosen_documents(
    v: &BTreeMap<String, String>,
    files: Vec<(String, Upload)>,
) -> Result<Vec<(DocumentKind, Upload)>, Vec<InvalidValue>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (name, file) in files {
        let Some(n) = name.strip_prefix("doc_file_") else { continue };
        match DocumentKind::parse(v.get(&format!("doc_kind_{n}")).map_or("", String::as_str)) {
            Ok(kind) => docs.push((kind, file)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors)
    }
}

/// `POST /claims`: hands the claim in with its documents (multipart).
pub async fn claim_submit(
    State(state): State<SharedState>,
    caller: Caller,
    FormWithFiles { form: v, mut files }: FormWithFiles<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    caller.check_csrf(v.get("csrf").map_or("", String::as_str))?;
    let lines_file = files.iter().position(|(n, _)| n == "lines_file").map(|i| files.swap_remove(i).1);
    let result = async {
        let mut form = claim_form(&v, lines_file.as_ref()).map_err(AppError::validation)?;
        if caller.can(Permission::HandleClaims) || caller.can(Permission::FileForEmployees) {
            let rid = v.get("resident_id").map_or("", |s| s.trim()).parse().map_err(|mut e: InvalidValue| {
                e.field = "resident_id";
                AppError::validation(vec![e])
            })?;
            let person = state.store.person_by_resident_id(&rid).await?.ok_or_else(|| AppError::not_found("person"))?;
            form.person_id = person.id;
        } else if form.person_id == 0 {
            form.person_id = my_person_id(&caller)?;
        }
        let (input, window) = form.parse().map_err(AppError::validation)?;
        let documents = chosen_documents(&v, files).map_err(AppError::validation)?;
        svc::submit_claim(&state.store, &state.blobs, &caller, input, window, documents).await
    }
    .await;
    match result {
        Ok(c) => Ok(Redirect::to(&format!("/claims/{}?done=submitted", c.id)).into_response()),
        Err(e) => {
            let lang = caller.lang;
            or_show(e, lang, |mut m| {
                m.push(i18n::t(lang, "claim.files_again").to_string());
                show_claim_form(&state, &caller, v, m)
            })
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// A claim's page

pub struct StatementRow {
    pub seq: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub amount: String,
    pub fulamt: String,
    pub overlmt: String,
    pub preselfpay: String,
    pub inscp: String,
    pub fund: String,
    pub person: String,
    pub why: Vec<String>,
    /// A reviewer's exclusion: reason and comment.
    pub excluded: String,
}

pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub to: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage {
    ctx: Ctx,
    c: StoredClaim,
    case: String,
    state: String,
    submitter: String,
    /// By whom and when it was handed in.
    submitted: String,
    hosp_lv: String,
    med_type: String,
    invoices_total: String,
    missing: Vec<String>,
    documents: Vec<(i64, String, String)>,
    events: Vec<EventRow>,
    statement: Option<Statement>,
    rows: Vec<StatementRow>,
    steps: Vec<String>,
    funds: Vec<(String, String)>,
    payment: String,
    /// For a rejected claim, the reviewer's reason (the page then says what the person can do).
    rejection: Option<String>,
    /// The caller hands claims in for this person (themself, a delegate, a clerk).
    claimant: bool,
    /// What the claimant should do about the payment (a failed one, or no account yet).
    payment_todo: String,
    payment_state: &'static str,
    can_give_account: bool,
    /// What the caller may do now.
    can_withdraw: bool,
    can_add_documents: bool,
    can_resubmit: bool,
    can_intake: bool,
    can_take: bool,
    can_review: bool,
    can_second_review: bool,
    needs_second: bool,
    kinds: Vec<Choice>,
    reasons: Vec<Choice>,
    errors: Vec<String>,
    notice: Option<String>,
    zh: bool,
}

fn statement_rows(c: &StoredClaim, s: &Statement, lang: Lang) -> Vec<StatementRow> {
    s.lines
        .iter()
        .map(|l| {
            let stored = c.lines.iter().find(|x| x.seq.to_string() == l.seq);
            let reason = stored.and_then(|x| x.excluded_reason);
            StatementRow {
                seq: l.seq.clone(),
                code: l.med_list_codg.clone(),
                // Not in the catalog: the name on the hospital's list says what it was.
                name: match stored.map(|x| x.item_name.as_str()).filter(|n| !n.is_empty()) {
                    Some(n) if l.category.is_none() => n.to_string(),
                    _ => l.name.clone(),
                },
                category: l
                    .category
                    .as_ref()
                    .map_or_else(|| i18n::t(lang, "claim.not_in_catalog").to_string(), |t| t.get(lang).to_string()),
                amount: l.amount.to_grouped(),
                fulamt: l.fulamt_ownpay_amt.to_grouped(),
                overlmt: l.overlmt_selfpay.to_grouped(),
                preselfpay: l.preselfpay_amt.to_grouped(),
                inscp: l.inscp_scp_amt.to_grouped(),
                fund: l.fund_pay.to_grouped(),
                person: l.person_pays.to_grouped(),
                why: l.why.iter().map(|t| t.get(lang).to_string()).collect(),
                excluded: reason
                    .map(|r| {
                        let note = stored.and_then(|x| x.excluded_note.clone()).unwrap_or_default();
                        format!("{}{}{note}", r.label().get(lang), if note.is_empty() { "" } else { "：" })
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

async fn show_claim(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let (c, standing) = svc::claim(&state.store, caller, id).await?;
    let claimant = standing != Standing::Staff || caller.can(Permission::HandleClaims);
    let order = state.store.payment_of_claim(c.id).await?;
    let (payment, payment_todo) = match &order {
        Some(o) => payment_words(o, lang),
        None if matches!(c.state, ClaimState::Approved | ClaimState::Reduced)
            && c.fund_pay_sumamt.unwrap_or(Fen::ZERO) <= Fen::ZERO =>
        {
            (i18n::t(lang, "pay.nothing").to_string(), String::new())
        }
        None => match svc::expected_payment(&state.store, &c).await? {
            Some(e) => (
                format!("{}{}", e.date, if e.provisional { i18n::t(lang, "card.provisional") } else { "" }),
                String::new(),
            ),
            None if c.state == ClaimState::Rejected || c.state == ClaimState::Withdrawn => {
                (String::new(), String::new())
            }
            None => (
                i18n::t(lang, "claim.payment_after_approval").replace("{n}", &PAYMENT_WORKING_DAYS.to_string()),
                String::new(),
            ),
        },
    };
    let can_give_account = claimant
        && !matches!(standing, Standing::Delegate(_))
        && order.as_ref().is_some_and(|o| matches!(o.state, OrderState::AwaitingAccount | OrderState::Failed));
    let (claim_rules, _) = svc::claim_rules(&state.store, caller, c.insured_region).await?;
    let needs_second = c.medfee_sumamt > claim_rules.second_review_above;
    let statement = c.statement.clone();
    let page = ClaimPage {
        ctx: Ctx::for_caller(
            caller,
            match standing {
                Standing::Staff => "/claims",
                Standing::Employer(_) => "/unit/claims",
                _ => "/my/claims",
            },
        ),
        case: c.case.label().get(lang).to_string(),
        state: c.state.label().get(lang).to_string(),
        submitter: c.submitter.label().get(lang).to_string(),
        submitted: format!("{} · {}", c.submitted_by, when(&c.submitted_at)),
        hosp_lv: c.hosp_lv.label().get(lang).to_string(),
        med_type: c.med_type.label().get(lang).to_string(),
        invoices_total: Fen::from_fen(c.invoices.iter().map(|i| i.amount.fen()).sum()).to_grouped(),
        missing: c.missing.iter().map(|m| format!("{}（{}）", m.label().get(lang), m.why.get(lang))).collect(),
        documents: c
            .documents
            .iter()
            .map(|d| (d.document_id, d.kind.label().get(lang).to_string(), d.file_name.clone()))
            .collect(),
        events: c
            .events
            .iter()
            .map(|e| EventRow {
                at: when(&e.at),
                actor: e.actor.clone(),
                to: e.to_state.label().get(lang).to_string(),
                note: e.note.clone().unwrap_or_default(),
            })
            .collect(),
        rows: statement.as_ref().map(|s| statement_rows(&c, s, lang)).unwrap_or_default(),
        steps: statement
            .as_ref()
            .map(|s| s.steps.iter().map(|t| t.get(lang).to_string()).collect())
            .unwrap_or_default(),
        funds: statement
            .as_ref()
            .map(|s| {
                s.funds
                    .iter()
                    .map(|f| (format!("{} {}", f.fund_pay_type, f.label.get(lang)), f.amount.to_grouped()))
                    .collect()
            })
            .unwrap_or_default(),
        rejection: (c.state == ClaimState::Rejected).then(|| {
            c.events
                .iter()
                .rev()
                .find(|e| e.to_state == ClaimState::Rejected)
                .and_then(|e| e.note.clone())
                .unwrap_or_default()
        }),
        claimant,
        statement,
        payment,
        payment_todo,
        payment_state: order.as_ref().map_or("", |o| o.state.code()),
        can_give_account,
        can_withdraw: claimant && !c.state.is_final(),
        can_add_documents: claimant && matches!(c.state, ClaimState::Submitted | ClaimState::Returned),
        can_resubmit: claimant && c.state == ClaimState::Returned,
        can_intake: caller.can(Permission::HandleClaims) && c.state == ClaimState::Submitted,
        can_take: caller.can(Permission::ReviewClaims) && c.state == ClaimState::Adjudicated,
        can_review: caller.can(Permission::ReviewClaims) && c.state == ClaimState::InReview,
        can_second_review: caller.can(Permission::SecondReviewClaims) && c.state == ClaimState::SecondReview,
        needs_second,
        kinds: choices(DocumentKind::ALL, DocumentKind::code, DocumentKind::label, lang),
        reasons: choices(LineReason::ALL, LineReason::code, LineReason::label, lang),
        notice: notice(lang, done),
        errors: errors.clone(),
        zh: lang == Lang::Zh,
        c,
    };
    render_form(&page, !errors.is_empty())
}

/// A payment order in the claimant's words: where the money is ("paid on D to card
/// ****1234", due by D, or why not), and what to do when it needs them.
fn payment_words(o: &PaymentOrder, lang: Lang) -> (String, String) {
    let card = o.bank_card.as_ref().map(BankCardNumber::masked).unwrap_or_default();
    let due = format!("{}{}", o.due_on, if o.due_provisional { i18n::t(lang, "card.provisional") } else { "" });
    let fill = |key: &str| {
        i18n::t(lang, key)
            .replace("{date}", &o.paid_on.map(|d| d.to_string()).unwrap_or_default())
            .replace("{card}", &card)
            .replace("{due}", &due)
            .replace("{amount}", &o.amount.to_grouped())
            .replace("{state}", o.state.label().get(lang))
    };
    match o.state {
        OrderState::Paid => (fill("pay.paid_on"), String::new()),
        OrderState::Failed => {
            let why = o.failure.map(|f| f.label().get(lang).to_string()).unwrap_or_default();
            let bank =
                o.failure_note.as_deref().filter(|n| !n.is_empty()).map(|n| format!("（{n}）")).unwrap_or_default();
            let todo = o.failure.map(|f| f.what_to_do().get(lang).to_string()).unwrap_or_default();
            (format!("{}{why}{bank}", fill("pay.failed")), todo)
        }
        OrderState::AwaitingAccount => (fill("pay.no_account"), i18n::t(lang, "pay.no_account_todo").to_string()),
        OrderState::Ready | OrderState::Batched | OrderState::Exported => (fill("pay.on_its_way"), String::new()),
    }
}

#[derive(Deserialize)]
pub struct AccountFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    bank_card: String,
}

/// `POST /claims/{id}/payment-account`: the claimant (or a clerk) gives the account the
/// claim is paid to, after a failure or where none was registered.
pub async fn claim_payment_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<AccountFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let card: BankCardNumber = f.bank_card.trim().parse().map_err(|e| AppError::validation(vec![e]))?;
        crate::service::payments::give_account(&state.store, &caller, id, &f.bank_name, &card).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/claims/{id}?done=payment_account")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

/// `GET /claims/{id}`: the claim, its history, what is missing, when it is paid, and the
/// statement.
pub async fn claim_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_claim(&state, &caller, id, &ask.done, Vec::new()).await
}

/// A step as the claim page's forms send it (every field text).
#[derive(Deserialize)]
pub struct StepFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    approve: String,
    #[serde(default)]
    seq: String,
    #[serde(default)]
    reason: String,
}

/// `POST /claims/{id}/steps`: intake, review, second review, resubmission or withdrawal.
pub async fn claim_step_submit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<StepFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let step = StepForm {
        action: f.action.clone(),
        note: f.note.clone(),
        approve: f.approve == "1" || f.approve == "true",
        seq: f.seq.trim().parse().unwrap_or(0),
        reason: f.reason.clone(),
    }
    .step();
    let result = match step {
        Ok(step) => svc::claim_step(&state.store, &caller, id, step).await.map(|_| ()),
        Err(e) => Err(AppError::validation(vec![e])),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/claims/{id}?done=step_{}", f.action.trim())).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

#[derive(Deserialize)]
pub struct AddDocument {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
}

/// `POST /claims/{id}/documents`: the claimant (or clerk) adds a paper.
pub async fn claim_document_add(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form: f, file }: FormWithFile<AddDocument>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let kind = DocumentKind::parse(&f.kind)?;
        let file = crate::forms::upload::required_file(file)?;
        svc::attach_document(&state.store, &state.blobs, &caller, id, kind, file).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/claims/{id}?done=document_added")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

/// `GET /claims/{id}/statement.csv`: the statement to download.
pub async fn claim_statement_csv(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (c, _) = svc::claim(&state.store, &caller, id).await?;
    let statement = c.statement.ok_or_else(|| AppError::not_found("statement"))?;
    let disposition = format!("attachment; filename=\"statement-{}.csv\"", c.number);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        statement.to_csv(caller.lang),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// The employer unit's claims

#[derive(Template)]
#[template(path = "unit_claims.html")]
struct UnitClaimsPage {
    ctx: Ctx,
    unit_name: String,
    rows: Vec<ClaimRow>,
}

/// `GET /unit/claims`: the claims the caller's employer unit handed in for its employees.
pub async fn unit_claims(State(state): State<SharedState>, caller: Caller) -> Result<Response, AppError> {
    caller.require(Permission::FileForEmployees)?;
    let rows = svc::unit_claims(&state.store, &caller).await?;
    let unit = caller.session().and_then(|s| s.account.employer_id).ok_or_else(AppError::forbidden)?;
    let page = UnitClaimsPage {
        ctx: Ctx::for_caller(&caller, "/unit/claims"),
        unit_name: state.store.employer(unit).await?.name,
        rows: ClaimRow::list(&state.store, &rows, caller.lang).await?,
    };
    Ok(render(&page)?.into_response())
}

// ---------------------------------------------------------------------------------------
// The staff queue

#[derive(Template)]
#[template(path = "claim_queue.html")]
struct QueuePage {
    ctx: Ctx,
    state: String,
    states: Vec<Choice>,
    rows: Vec<ClaimRow>,
    can_window: bool,
}

#[derive(Deserialize, Default)]
pub struct QueueAsk {
    #[serde(default)]
    state: String,
}

/// `GET /claims?state=`: the claims of the caller's regions, by state (default: those
/// waiting for the caller's role).
pub async fn claim_queue_page(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<QueueAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let default = if caller.can(Permission::SecondReviewClaims) {
        "second_review"
    } else if caller.can(Permission::ReviewClaims) {
        "adjudicated"
    } else {
        "submitted"
    };
    let code = if ask.state.trim().is_empty() { default } else { ask.state.trim() };
    let chosen = ClaimState::parse(code)?;
    let rows = svc::claim_queue(&state.store, &caller, &[chosen]).await?;
    let page = QueuePage {
        ctx: Ctx::for_caller(&caller, "/claims"),
        state: chosen.code().to_string(),
        states: choices(ClaimState::ALL, ClaimState::code, ClaimState::label, lang),
        rows: ClaimRow::list(&state.store, &rows, lang).await?,
        can_window: caller.can(Permission::HandleClaims),
    };
    Ok(render(&page)?.into_response())
}
