//! Sporadic claims (零星报销): submission with its checks (deadline, invoices claimed or
//! settled before, amounts), documents, intake (accept or 补正), adjudication by the
//! engine, review with line exclusions, the second review above the region's amount, and
//! withdrawal. Every step is one write transaction: the claim's row at its version, a
//! `claim_events` row and an audit entry. States move only through
//! [`ClaimState::after`].
//!
//! Handing in and its checks are in `submit.rs`, delegations in `delegations.rs`, the steps
//! after intake in `review.rs`, reading claims back in `queries.rs`.

mod delegations;
mod list;
mod queries;
mod review;
mod submit;

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::adjudicate::{Claim, DateText, Engine, FeeLine, MedType, Outcome};
use yibao_core::document::DocumentKind;
use yibao_core::filing::Channel;
use yibao_core::policy::CatalogSource;
use yibao_core::registry::HospitalGrade;
use yibao_core::sporadic::{
    ChecklistItem, ClaimAction, ClaimCase, ClaimRules, ClaimState, ItemisedLine, LineReason, RescueReason, Statement,
    Submitter, Verdict,
};
use yibao_core::{AdminCode, Fen, InsuranceYear, InvalidValue, ResidentId, Scope};

use crate::db::query::{corrupt, date_from, json, region_from, Arg, Sql};
use crate::documents::BlobStore;
use crate::registry::{fetch_person, Person};
use crate::rules::Rules;
use crate::{Page, Store, StoreError, WriteTx};

pub use list::{ClaimFilter, ClaimSort};

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("claim", code, zh, en))
}

/// One receipt (医疗收费专用票据) a claim is made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceInput {
    pub invoice_no: String,
    pub invoice_date: NaiveDate,
    pub amount: Fen,
}

/// Who hands the claim in for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmittedBy {
    /// The person themself.
    Insured,
    /// A delegate: the authorisation's id (a logged-in delegate), or the delegate's ID and
    /// name as shown at the window (an authorisation is recorded if there is none).
    Delegate { delegation_id: Option<i64>, resident_id: Option<ResidentId>, name: String },
    /// The person's employer unit.
    Employer { employer_id: i64 },
}

impl SubmittedBy {
    pub fn submitter(&self) -> Submitter {
        match self {
            SubmittedBy::Insured => Submitter::Insured,
            SubmittedBy::Delegate { .. } => Submitter::Delegate,
            SubmittedBy::Employer { .. } => Submitter::Employer,
        }
    }
}

/// A claim as handed in.
#[derive(Debug, Clone)]
pub struct ClaimInput {
    pub person_id: i64,
    pub case: ClaimCase,
    pub by: SubmittedBy,
    pub channel: Channel,
    pub med_type: MedType,
    pub institution_code: String,
    pub institution_name: String,
    pub treatment_region: AdminCode,
    pub hosp_lv: HospitalGrade,
    /// The hospital's inpatient or outpatient number, when known (checked against direct
    /// settlements).
    pub visit_no: Option<String>,
    pub care_start: NaiveDate,
    pub care_end: NaiveDate,
    /// Diagnosis codes, the main one first.
    pub diagnoses: Vec<String>,
    pub invoices: Vec<InvoiceInput>,
    pub lines: Vec<ItemisedLine>,
    /// A clerk's record of an accepted excuse for a late claim.
    pub late_excuse: Option<String>,
    /// Asks for the treatment region's catalogs (off-site care, where the insured region's
    /// policy allows it); otherwise the insured region's are used.
    pub treatment_catalog: bool,
}

/// A stored line, with a reviewer's exclusion if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredClaimLine {
    pub seq: i64,
    pub med_list_codg: String,
    pub item_name: String,
    pub cnt: Decimal,
    pub pric: Decimal,
    pub amount: Fen,
    pub fee_ocur_time: String,
    pub excluded_reason: Option<LineReason>,
    pub excluded_note: Option<String>,
    pub excluded_by: Option<String>,
    /// Admitted outside the catalog for an emergency rescue: why, the reviewer's note, who.
    pub rescue_reason: Option<RescueReason>,
    pub rescue_note: Option<String>,
    pub rescue_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimDocument {
    pub document_id: i64,
    pub kind: DocumentKind,
    pub file_name: String,
    pub media_type: String,
    pub added_by: String,
    pub added_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimEvent {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from_state: Option<ClaimState>,
    pub to_state: ClaimState,
    pub note: Option<String>,
}

/// A claim with everything on it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredClaim {
    pub id: i64,
    pub number: String,
    pub person_id: i64,
    pub person_name: String,
    pub insured_region: AdminCode,
    pub case: ClaimCase,
    pub submitter: Submitter,
    pub delegation_id: Option<i64>,
    pub employer_id: Option<i64>,
    pub channel: Channel,
    pub med_type: MedType,
    pub institution_code: String,
    pub institution_name: String,
    pub treatment_region: AdminCode,
    pub hosp_lv: HospitalGrade,
    pub visit_no: Option<String>,
    pub care_start: NaiveDate,
    pub care_end: NaiveDate,
    pub diagnoses: Vec<String>,
    pub due_on: NaiveDate,
    pub late_excuse: Option<String>,
    /// Adjudicated against the treatment region's catalogs (else the insured region's).
    pub treatment_catalog: bool,
    pub state: ClaimState,
    /// What the intake clerk asked for (补正).
    pub missing: Vec<ChecklistItem>,
    pub note: Option<String>,
    pub year: Option<i32>,
    pub medfee_sumamt: Fen,
    /// What the fund pays, once adjudicated.
    pub fund_pay_sumamt: Option<Fen>,
    pub reviewer: Option<String>,
    pub verdict: Option<Verdict>,
    pub second_reviewer: Option<String>,
    pub submitted_by: String,
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub version: i64,
    pub invoices: Vec<InvoiceInput>,
    pub lines: Vec<StoredClaimLine>,
    pub documents: Vec<ClaimDocument>,
    pub events: Vec<ClaimEvent>,
    /// The statement (结算单), once adjudicated: every line and step explained.
    pub statement: Option<Statement>,
}

impl StoredClaim {
    pub fn document_kinds(&self) -> Vec<DocumentKind> {
        self.documents.iter().map(|d| d.kind).collect()
    }
}

/// A claim's stay as the supervision rules see it.
pub(crate) fn claim_visit(c: &StoredClaim, p: &Person) -> Result<yibao_core::supervise::Visit, StoreError> {
    // A line the reviewer excluded is not paid: the rules no longer look at it.
    let lines = c
        .lines
        .iter()
        .filter(|l| l.excluded_reason.is_none())
        .map(|l| {
            let day = l.fee_ocur_time.get(..10).and_then(|d| d.parse().ok());
            Ok(yibao_core::supervise::VisitLine {
                sn: l.seq.to_string(),
                item: l.med_list_codg.clone(),
                day: day.ok_or_else(|| corrupt("claim_lines.fee_ocur_time", &l.fee_ocur_time))?,
                quantity: l.cnt,
                limits: None,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(yibao_core::supervise::Visit {
        id: c.number.clone(),
        person_id: c.person_id,
        sex: p.sex,
        birth_date: p.birth_date,
        institution: c.institution_code.clone(),
        inpatient: c.med_type == MedType::Inpatient,
        admitted: c.care_start,
        discharged: c.care_end,
        main_diagnosis: c.diagnoses.first().cloned().unwrap_or_default(),
        lines,
        invoices: c
            .invoices
            .iter()
            .map(|i| yibao_core::supervise::Invoice {
                institution: c.institution_code.clone(),
                number: i.invoice_no.clone(),
            })
            .collect(),
    })
}

/// A row of a list of claims.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimSummary {
    pub id: i64,
    pub number: String,
    pub person_id: i64,
    pub person_name: String,
    pub case: ClaimCase,
    pub state: ClaimState,
    pub care_end: NaiveDate,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Option<Fen>,
    pub submitted_at: String,
}

/// A person's authorisation of a delegate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    pub id: i64,
    pub person_id: i64,
    pub delegate_resident_id: String,
    pub delegate_name: String,
    pub delegate_person_id: Option<i64>,
    pub granted_at: String,
    pub granted_by: String,
    pub revoked_at: Option<String>,
}

const CLAIM_COLS: &str = "c.id, c.number, c.person_id, p.name, p.insured_region, c.case_code, c.submitter, \
    c.delegation_id, c.employer_id, c.channel, c.med_type, c.institution_code, c.institution_name, \
    c.treatment_region, c.hosp_lv, c.visit_no, c.care_start, c.care_end, c.diagnoses, c.due_on, c.late_excuse, \
    c.state, c.missing, c.note, c.year, c.medfee_sumamt, c.fund_pay_sumamt, c.reviewer, c.verdict, \
    c.second_reviewer, c.submitted_by, c.submitted_at, c.decided_at, c.version, c.statement, c.treatment_catalog";
const CLAIM_FROM: &str = "claims c JOIN persons p ON p.id = c.person_id";

fn parse<T>(what: &str, r: Result<T, InvalidValue>) -> Result<T, StoreError> {
    r.map_err(|e| corrupt(what, e.message.en))
}

fn claim_from_row(r: &AnyRow) -> Result<StoredClaim, StoreError> {
    let text = |i: usize| -> Result<String, StoreError> { Ok(r.try_get::<String, _>(i)?) };
    let opt = |i: usize| -> Result<Option<String>, StoreError> { Ok(r.try_get::<Option<String>, _>(i)?) };
    let region = |i: usize| -> Result<AdminCode, StoreError> { region_from(r.try_get(i)?) };
    let channel = text(9)?;
    Ok(StoredClaim {
        id: r.try_get(0)?,
        number: opt(1)?.unwrap_or_default(),
        person_id: r.try_get(2)?,
        person_name: text(3)?,
        insured_region: region(4)?,
        case: parse("claims.case_code", ClaimCase::parse(&text(5)?))?,
        submitter: parse("claims.submitter", Submitter::parse(&text(6)?))?,
        delegation_id: r.try_get(7)?,
        employer_id: r.try_get(8)?,
        channel: if channel == "window" { Channel::Window } else { Channel::Online },
        med_type: parse("claims.med_type", MedType::parse(&text(10)?))?,
        institution_code: text(11)?,
        institution_name: text(12)?,
        treatment_region: region(13)?,
        hosp_lv: parse("claims.hosp_lv", HospitalGrade::parse(&text(14)?))?,
        visit_no: opt(15)?,
        care_start: date_from("claims.care_start", &text(16)?)?,
        care_end: date_from("claims.care_end", &text(17)?)?,
        diagnoses: serde_json::from_str(&text(18)?).map_err(|e| corrupt("claims.diagnoses", e))?,
        due_on: date_from("claims.due_on", &text(19)?)?,
        late_excuse: opt(20)?,
        treatment_catalog: r.try_get::<i64, _>(35)? != 0,
        state: parse("claims.state", ClaimState::parse(&text(21)?))?,
        missing: serde_json::from_str(&text(22)?).map_err(|e| corrupt("claims.missing", e))?,
        note: opt(23)?,
        year: r.try_get::<Option<i64>, _>(24)?.map(|y| y as i32),
        medfee_sumamt: Fen::from_fen(r.try_get::<Option<i64>, _>(25)?.unwrap_or(0)),
        fund_pay_sumamt: r.try_get::<Option<i64>, _>(26)?.map(Fen::from_fen),
        reviewer: opt(27)?,
        verdict: opt(28)?.map(|v| parse("claims.verdict", Verdict::parse(&v))).transpose()?,
        second_reviewer: opt(29)?,
        submitted_by: text(30)?,
        submitted_at: text(31)?,
        decided_at: opt(32)?,
        version: r.try_get(33)?,
        statement: opt(34)?
            .map(|t| serde_json::from_str(&t).map_err(|e| corrupt("claims.statement", e)))
            .transpose()?,
        invoices: Vec::new(),
        lines: Vec::new(),
        documents: Vec::new(),
        events: Vec::new(),
    })
}

fn summary_from_row(r: &AnyRow) -> Result<ClaimSummary, StoreError> {
    let c = claim_from_row(r)?;
    Ok(ClaimSummary {
        id: c.id,
        number: c.number,
        person_id: c.person_id,
        person_name: c.person_name,
        case: c.case,
        state: c.state,
        care_end: c.care_end,
        medfee_sumamt: c.medfee_sumamt,
        fund_pay_sumamt: c.fund_pay_sumamt,
        submitted_at: c.submitted_at,
    })
}

/// Refuses a step while required checklist items are missing, naming each.
fn incomplete(zh: &str, en: &str, missing: &[&ChecklistItem]) -> StoreError {
    let (z, e): (Vec<String>, Vec<String>) = missing.iter().map(|i| (i.label().zh, i.label().en)).unzip();
    refuse("incomplete", format!("{zh}：{}", z.join("；")), format!("{en}: {}", e.join("; ")))
}

fn already_settled(setl_id: &str, what: &str) -> StoreError {
    refuse(
        "settled_directly",
        format!("{what} 已在医院直接结算（结算 ID {setl_id}），不能再零星报销"),
        format!("{what} was already settled directly at the hospital (setl_id {setl_id}); it cannot be claimed"),
    )
}

/// The claim's figures an audit entry keeps (the full claim is in the database).
fn summary(c: &StoredClaim) -> serde_json::Value {
    serde_json::json!({
        "number": c.number,
        "state": c.state.code(),
        "medfee_sumamt": c.medfee_sumamt,
        "fund_pay_sumamt": c.fund_pay_sumamt,
        "reviewer": c.reviewer,
        "verdict": c.verdict.map(Verdict::code),
        "second_reviewer": c.second_reviewer,
    })
}

/// A column a step sets, typed for the bind.
#[derive(Debug, Clone)]
enum Val {
    Text(Option<String>),
    Int(i64),
}

type Set = Vec<(&'static str, Val)>;

fn text(v: impl Into<String>) -> Val {
    Val::Text(Some(v.into()))
}

fn outcome_columns(outcome: &Outcome) -> Result<Set, StoreError> {
    Ok(vec![
        ("outcome", text(json(outcome)?)),
        ("statement", text(json(&Statement::new(outcome))?)),
        ("year", Val::Int(i64::from(outcome.policy.year))),
        ("fund_pay_sumamt", Val::Int(outcome.totals.fund_pay_sumamt.fen())),
    ])
}

/// `UPDATE claims SET <prefix>, <set…> WHERE id = … AND version = …`, bound and run;
/// refused as stale unless exactly the claim at `version` changed.
async fn update_claim(
    w: &mut WriteTx,
    state: Option<ClaimState>,
    set: &[(&'static str, Val)],
    id: i64,
    version: i64,
) -> Result<(), StoreError> {
    let mut sql = String::from("UPDATE claims SET version = version + 1");
    if state.is_some() {
        sql.push_str(", state = $1");
    }
    let mut n = usize::from(state.is_some());
    for (col, _) in set {
        n += 1;
        sql.push_str(&format!(", {col} = ${n}"));
    }
    sql.push_str(&format!(" WHERE id = ${} AND version = ${}", n + 1, n + 2));
    let mut q = sqlx::query(&sql);
    if let Some(state) = state {
        q = q.bind(state.code());
    }
    for (_, v) in set {
        q = match v {
            Val::Text(t) => q.bind(t.clone()),
            Val::Int(i) => q.bind(*i),
        };
    }
    if q.bind(id).bind(version).execute(&mut *w.tx).await?.rows_affected() != 1 {
        return Err(StoreError::Stale("claim"));
    }
    Ok(())
}

async fn claim_parts(conn: &mut crate::db::Conn, claim: &mut StoredClaim) -> Result<(), StoreError> {
    let id = claim.id;
    let rows =
        sqlx::query("SELECT invoice_no, invoice_date, amount FROM claim_invoices WHERE claim_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    claim.invoices = rows
        .iter()
        .map(|r| {
            Ok(InvoiceInput {
                invoice_no: r.try_get(0)?,
                invoice_date: date_from("claim_invoices.invoice_date", &r.try_get::<String, _>(1)?)?,
                amount: Fen::from_fen(r.try_get(2)?),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rows = sqlx::query(
        "SELECT seq, med_list_codg, item_name, cnt, pric, amount, fee_ocur_time, excluded_reason, excluded_note, \
         excluded_by, rescue_reason, rescue_note, rescue_by FROM claim_lines WHERE claim_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    claim.lines = rows
        .iter()
        .map(|r| {
            let dec = |i: usize| -> Result<Decimal, StoreError> {
                r.try_get::<String, _>(i)?.parse().map_err(|e| corrupt("claim_lines.cnt", e))
            };
            Ok(StoredClaimLine {
                seq: r.try_get(0)?,
                med_list_codg: r.try_get(1)?,
                item_name: r.try_get(2)?,
                cnt: dec(3)?,
                pric: dec(4)?,
                amount: Fen::from_fen(r.try_get(5)?),
                fee_ocur_time: r.try_get(6)?,
                excluded_reason: r
                    .try_get::<Option<String>, _>(7)?
                    .map(|s| parse("claim_lines.excluded_reason", LineReason::parse(&s)))
                    .transpose()?,
                excluded_note: r.try_get(8)?,
                excluded_by: r.try_get(9)?,
                rescue_reason: r
                    .try_get::<Option<String>, _>(10)?
                    .map(|s| parse("claim_lines.rescue_reason", RescueReason::parse(&s)))
                    .transpose()?,
                rescue_note: r.try_get(11)?,
                rescue_by: r.try_get(12)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rows = sqlx::query(
        "SELECT cd.document_id, cd.kind, d.file_name, d.media_type, cd.added_by, cd.added_at \
         FROM claim_documents cd JOIN documents d ON d.id = cd.document_id WHERE cd.claim_id = $1 ORDER BY cd.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    claim.documents = rows
        .iter()
        .map(|r| {
            Ok(ClaimDocument {
                document_id: r.try_get(0)?,
                kind: parse("claim_documents.kind", DocumentKind::parse(&r.try_get::<String, _>(1)?))?,
                file_name: r.try_get(2)?,
                media_type: r.try_get(3)?,
                added_by: r.try_get(4)?,
                added_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rows = sqlx::query(
        "SELECT at, actor, action, from_state, to_state, note FROM claim_events WHERE claim_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    claim.events = rows
        .iter()
        .map(|r| {
            Ok(ClaimEvent {
                at: r.try_get(0)?,
                actor: r.try_get(1)?,
                action: r.try_get(2)?,
                from_state: r
                    .try_get::<Option<String>, _>(3)?
                    .map(|s| parse("claim_events.from_state", ClaimState::parse(&s)))
                    .transpose()?,
                to_state: parse("claim_events.to_state", ClaimState::parse(&r.try_get::<String, _>(4)?))?,
                note: r.try_get(5)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(())
}
