//! Sporadic claims (零星报销): submission with its checks (deadline, invoices claimed or
//! settled before, amounts), documents, intake (accept or 补正), adjudication by the
//! engine, review with line exclusions, the second review above the region's amount, and
//! withdrawal. Every step is one write transaction: the claim's row at its version, a
//! `claim_events` row and an audit entry. States move only through
//! [`ClaimState::after`].

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
    ChecklistItem, ClaimAction, ClaimCase, ClaimRules, ClaimState, ItemisedLine, LineReason, Statement, Submitter,
    Verdict,
};
use yibao_core::{AdminCode, Fen, InsuranceYear, InvalidValue, ResidentId, Scope};

use crate::documents::BlobStore;
use crate::registry::{date_from, fetch_person, region_from, Arg, Person, Sql};
use crate::settlement::{corrupt, json, Rules};
use crate::{Store, StoreError, WriteTx};

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

/// The checks on a claim's figures that need no database: dates, lines that add up, and
/// invoices that match the lines, all in one insurance year. Every problem at once.
fn check_input(input: &ClaimInput, today: NaiveDate) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    let mut problem = |field: &'static str, code: &'static str, zh: String, en: String| {
        problems.push(InvalidValue::new(field, code, zh, en));
    };
    if input.care_start > input.care_end {
        problem("care_end", "order", "就诊结束日期早于开始日期".into(), "care ends before it starts".into());
    }
    if input.care_end > today {
        problem("care_end", "future", "就诊结束日期不能晚于今天".into(), "care cannot end after today".into());
    }
    if input.institution_code.trim().is_empty() || input.institution_name.trim().is_empty() {
        problem(
            "institution_name",
            "required",
            "请填写就诊医疗机构的名称和编码".into(),
            "give the institution's name and code".into(),
        );
    }
    if input.diagnoses.iter().all(|d| d.trim().is_empty()) {
        problem("diagnoses", "required", "请填写诊断".into(), "give the diagnosis".into());
    }
    if input.invoices.is_empty() {
        problem("invoices", "required", "至少需要一张医疗收费票据".into(), "at least one invoice is needed".into());
    }
    if input.lines.is_empty() {
        problem("lines", "required", "请录入或导入费用明细".into(), "enter or import the itemised lines".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for inv in &input.invoices {
        let no = inv.invoice_no.trim();
        if no.is_empty() {
            problem("invoices", "invoice_no", "票据号不能为空".into(), "an invoice number is empty".into());
        } else if !seen.insert(no.to_string()) {
            problem("invoices", "repeated", format!("票据 {no} 重复录入"), format!("invoice {no} is entered twice"));
        }
        if inv.amount <= Fen::ZERO {
            problem(
                "invoices",
                "amount",
                format!("票据 {no} 金额须大于 0"),
                format!("invoice {no}: the amount must be positive"),
            );
        }
        if inv.invoice_date < input.care_start || inv.invoice_date > today {
            problem(
                "invoices",
                "invoice_date",
                format!("票据 {no} 的日期 {} 不在就诊开始日与今天之间", inv.invoice_date),
                format!("invoice {no} is dated {}, not between the start of care and today", inv.invoice_date),
            );
        }
    }
    let years: std::collections::BTreeSet<InsuranceYear> =
        input.invoices.iter().map(|i| InsuranceYear::of(i.invoice_date)).collect();
    if years.len() > 1 {
        problem(
            "invoices",
            "years",
            "票据跨两个医保年度：各年度按当年政策计算，请按年度分别申报".into(),
            "the invoices span two insurance years, each paid under its own year's policy: file one claim per year"
                .into(),
        );
    }
    for (i, l) in input.lines.iter().enumerate() {
        let n = i + 1;
        if l.med_list_codg.trim().is_empty() {
            problem("lines", "med_list_codg", format!("第 {n} 行缺少医保目录编码"), format!("line {n} has no code"));
        }
        if l.cnt <= Decimal::ZERO || l.pric < Decimal::ZERO {
            problem(
                "lines",
                "cnt",
                format!("第 {n} 行：数量须为正数，单价不能为负"),
                format!("line {n}: the quantity must be positive and the price not negative"),
            );
        }
        let expected = (l.cnt * l.pric).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if expected * Decimal::ONE_HUNDRED != Decimal::from(l.amount.fen()) {
            problem(
                "lines",
                "amount",
                format!("第 {n} 行：金额 {} 与数量×单价 {expected} 不符", l.amount),
                format!("line {n}: the amount {} is not quantity × price = {expected}", l.amount),
            );
        }
        if l.fee_ocur_time < input.care_start || l.fee_ocur_time > input.care_end {
            problem(
                "lines",
                "fee_ocur_time",
                format!("第 {n} 行的日期 {} 不在就诊期间", l.fee_ocur_time),
                format!("line {n} is dated {}, outside the care", l.fee_ocur_time),
            );
        }
    }
    let invoiced: i64 = input.invoices.iter().map(|i| i.amount.fen()).sum();
    let listed: i64 = input.lines.iter().map(|l| l.amount.fen()).sum();
    if !input.invoices.is_empty() && !input.lines.is_empty() && invoiced != listed {
        problem(
            "lines",
            "total",
            format!("费用明细合计 {} 与票据合计 {} 不符", Fen::from_fen(listed), Fen::from_fen(invoiced)),
            format!("the lines total {} but the invoices {}", Fen::from_fen(listed), Fen::from_fen(invoiced)),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Problems(problems))
    }
}

impl Store {
    /// The region's claim rules in force on `day`: the newest version imported for the
    /// person's insured region or its pooling region, else the rules yibao ships with.
    pub async fn claim_rules(
        &self,
        region: AdminCode,
        day: NaiveDate,
    ) -> Result<(ClaimRules, Option<i64>), StoreError> {
        let row = sqlx::query(
            "SELECT body, version FROM claim_rules WHERE region IN ($1, $2) AND valid_from <= $3 \
             ORDER BY valid_from DESC, version DESC LIMIT 1",
        )
        .bind(i64::from(region.value()))
        .bind(i64::from(region.prefecture().value()))
        .bind(day.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => {
                let body: String = r.try_get(0)?;
                Ok((parse("claim_rules.body", ClaimRules::from_json(&body))?, Some(r.try_get(1)?)))
            }
            None => Ok((ClaimRules::default_rules()?, None)),
        }
    }

    /// Imports a version of a region's claim rules; returns its version number.
    pub async fn import_claim_rules(&self, w: &mut WriteTx, region: AdminCode, body: &str) -> Result<i64, StoreError> {
        let rules = ClaimRules::from_json(body)?;
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM claim_rules WHERE region = $1")
                .bind(i64::from(region.value()))
                .fetch_one(&mut *w.tx)
                .await?;
        sqlx::query(
            "INSERT INTO claim_rules (region, version, valid_from, body, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::from(region.value()))
        .bind(version)
        .bind(rules.valid_from.to_string())
        .bind(body.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "claim_rules"))?;
        w.record::<(), _>("claim_rules.import", "claim_rules", &format!("{region}/{version}"), None, Some(&rules))
            .await?;
        Ok(version)
    }

    /// Records a person's authorisation of a delegate.
    pub async fn grant_delegation(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        delegate: &ResidentId,
        name: &str,
    ) -> Result<Delegation, StoreError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegate_name",
                "required",
                "请填写受托人姓名",
                "give the delegate's name",
            )));
        }
        let person = fetch_person(&mut *w.tx, person_id).await?;
        if &person.resident_id == delegate {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegate_id",
                "self",
                "不能委托自己",
                "a person cannot be their own delegate",
            )));
        }
        let delegate_person: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE resident_id = $1")
            .bind(delegate.as_str().to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO delegations (person_id, delegate_resident_id, delegate_name, delegate_person_id, granted_at, \
             granted_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(person_id)
        .bind(delegate.as_str().to_string())
        .bind(name.to_string())
        .bind(delegate_person)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        let d = self.delegation_in(w, id).await?;
        w.record::<(), _>("delegation.grant", "delegation", &id.to_string(), None, Some(&d)).await?;
        Ok(d)
    }

    /// Revokes an authorisation: the delegate can no longer act for the person.
    pub async fn revoke_delegation(&self, w: &mut WriteTx, person_id: i64, id: i64) -> Result<Delegation, StoreError> {
        let before = self.delegation_in(w, id).await?;
        if before.person_id != person_id {
            return Err(StoreError::NotFound("delegation"));
        }
        if before.revoked_at.is_some() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegation",
                "revoked",
                "该委托已撤销",
                "the authorisation is already revoked",
            )));
        }
        sqlx::query("UPDATE delegations SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(w.at().to_string())
            .bind(w.actor().label.clone())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let after = self.delegation_in(w, id).await?;
        w.record("delegation.revoke", "delegation", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn delegation_in(&self, w: &mut WriteTx, id: i64) -> Result<Delegation, StoreError> {
        let row = sqlx::query(&format!("SELECT {DELEGATION_COLS} FROM delegations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("delegation"))?;
        delegation_from_row(&row)
    }

    /// The authorisations a person gave, newest first.
    pub async fn delegations_of(&self, person_id: i64) -> Result<Vec<Delegation>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {DELEGATION_COLS} FROM delegations WHERE person_id = $1 ORDER BY id DESC"))
                .bind(person_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(delegation_from_row).collect()
    }

    /// The authorisations in force that name `delegate_person_id` as delegate.
    pub async fn delegations_to(&self, delegate_person_id: i64) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELEGATION_COLS} FROM delegations WHERE delegate_person_id = $1 AND revoked_at IS NULL ORDER BY id"
        ))
        .bind(delegate_person_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delegation_from_row).collect()
    }

    /// Hands a claim in. Refused, with every reason at once where it can be, when the
    /// figures do not add up, when it is late without an accepted excuse, when the case is
    /// not one this submitter may hand in, or when an invoice was claimed or settled
    /// directly before (the reason names the first claim or settlement).
    pub async fn submit_claim(
        &self,
        w: &mut WriteTx,
        input: &ClaimInput,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        check_input(input, today)?;
        let person = fetch_person(&mut *w.tx, input.person_id).await?;
        let (rules, _) = self.claim_rules(person.insured_region, today).await?;
        rules.check_submitter(input.case, input.by.submitter())?;
        if input.treatment_catalog {
            let receipt = input.invoices.iter().map(|i| i.invoice_date).max().unwrap_or(input.care_end);
            let allowed = self
                .rules()
                .await?
                .policies
                .select(person.insured_region, person.scheme, receipt)
                .is_some_and(|p| p.offsite.claims_treatment_catalog);
            if !allowed {
                return Err(StoreError::Invalid(InvalidValue::new(
                    "treatment_catalog",
                    "not_allowed",
                    "参保地政策不允许零星报销按就医地目录计算，请按参保地目录申报",
                    "the insured region's policy does not let a claim use the treatment region's catalogs; claim under the insured region's",
                )));
            }
        }
        let deadline = rules.case(input.case).deadline;
        let late_excuse = input.late_excuse.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if late_excuse.is_none() {
            deadline.check(input.care_end, today)?;
        }
        let due = deadline.due(input.care_end);
        let (delegation_id, employer_id) = match &input.by {
            SubmittedBy::Insured => (None, None),
            SubmittedBy::Delegate { delegation_id, resident_id, name } => {
                (Some(self.delegation_for(w, &person, *delegation_id, resident_id.as_ref(), name).await?), None)
            }
            SubmittedBy::Employer { employer_id } => {
                if person.employer_id != Some(*employer_id) {
                    return Err(refuse(
                        "employer",
                        "参保单位只能为本单位职工申报",
                        "an employer unit files only for its own employees",
                    ));
                }
                (None, Some(*employer_id))
            }
        };
        for inv in &input.invoices {
            self.check_invoice_unclaimed(w, &input.institution_code, &inv.invoice_no).await?;
        }
        if let Some(no) = input.visit_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let settled: Option<String> = sqlx::query_scalar(
                "SELECT s.setl_id FROM settlements s JOIN visits v ON v.id = s.visit_id \
                 JOIN institutions i ON i.id = s.institution_id \
                 WHERE i.code = $1 AND v.ipt_otp_no = $2 AND s.status = 'settled'",
            )
            .bind(input.institution_code.trim().to_string())
            .bind(no.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
            if let Some(setl_id) = settled {
                return Err(already_settled(&setl_id, no));
            }
        }
        let medfee: i64 = input.lines.iter().map(|l| l.amount.fen()).sum();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO claims (person_id, case_code, submitter, delegation_id, employer_id, channel, med_type, \
             institution_code, institution_name, treatment_region, hosp_lv, visit_no, care_start, care_end, \
             diagnoses, due_on, late_excuse, state, medfee_sumamt, submitted_by, submitted_at, treatment_catalog) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'submitted', $18, \
             $19, $20, $21) RETURNING id",
        )
        .bind(person.id)
        .bind(input.case.code())
        .bind(input.by.submitter().code())
        .bind(delegation_id)
        .bind(employer_id)
        .bind(input.channel.code())
        .bind(input.med_type.code())
        .bind(input.institution_code.trim().to_string())
        .bind(input.institution_name.trim().to_string())
        .bind(i64::from(input.treatment_region.value()))
        .bind(input.hosp_lv.code())
        .bind(input.visit_no.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string))
        .bind(input.care_start.to_string())
        .bind(input.care_end.to_string())
        .bind(json(&input.diagnoses.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect::<Vec<_>>())?)
        .bind(due.to_string())
        .bind(late_excuse.map(str::to_string))
        .bind(medfee)
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(i64::from(input.treatment_catalog))
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE claims SET number = $1 WHERE id = $2")
            .bind(format!("LX{}{:08}", person.insured_region, id))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        for inv in &input.invoices {
            sqlx::query(
                "INSERT INTO claim_invoices (claim_id, institution_code, invoice_no, invoice_date, amount) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(input.institution_code.trim().to_string())
            .bind(inv.invoice_no.trim().to_string())
            .bind(inv.invoice_date.to_string())
            .bind(inv.amount.fen())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "invoice"))?;
        }
        for (i, l) in input.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO claim_lines (claim_id, seq, med_list_codg, item_name, cnt, pric, amount, fee_ocur_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(i as i64 + 1)
            .bind(l.med_list_codg.trim().to_string())
            .bind(l.item_name.trim().to_string())
            .bind(l.cnt.normalize().to_string())
            .bind(l.pric.normalize().to_string())
            .bind(l.amount.fen())
            .bind(l.fee_ocur_time.to_string())
            .execute(&mut *w.tx)
            .await?;
        }
        self.claim_event(w, id, "submit", None, ClaimState::Submitted, late_excuse).await?;
        let claim = self.claim_in(w, id).await?;
        w.record::<(), _>("claim.submit", "claim", &id.to_string(), None, Some(&claim)).await?;
        Ok(claim)
    }

    /// The authorisation a delegate acts under: the one named, or the one in force for the
    /// delegate's ID, or (at the window, with the delegate's ID card in hand) a new one.
    async fn delegation_for(
        &self,
        w: &mut WriteTx,
        person: &Person,
        delegation_id: Option<i64>,
        resident_id: Option<&ResidentId>,
        name: &str,
    ) -> Result<i64, StoreError> {
        let no_delegation = || {
            refuse(
                "no_delegation",
                "没有参保人对该受托人的有效委托",
                "the person has not authorised this delegate (or revoked it)",
            )
        };
        if let Some(id) = delegation_id {
            let d = self.delegation_in(w, id).await?;
            if d.person_id != person.id || d.revoked_at.is_some() {
                return Err(no_delegation());
            }
            return Ok(id);
        }
        let Some(rid) = resident_id else {
            return Err(no_delegation());
        };
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM delegations WHERE person_id = $1 AND delegate_resident_id = $2 AND revoked_at IS NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(person.id)
        .bind(rid.as_str().to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        match existing {
            Some(id) => Ok(id),
            None => Ok(self.grant_delegation(w, person.id, rid, name).await?.id),
        }
    }

    /// Refuses an invoice already on a live claim, or settled directly under that number.
    async fn check_invoice_unclaimed(
        &self,
        w: &mut WriteTx,
        institution: &str,
        invoice_no: &str,
    ) -> Result<(), StoreError> {
        let (institution, invoice_no) = (institution.trim().to_string(), invoice_no.trim().to_string());
        let claimed: Option<String> = sqlx::query_scalar(
            "SELECT c.number FROM claim_invoices ci JOIN claims c ON c.id = ci.claim_id \
             WHERE ci.institution_code = $1 AND ci.invoice_no = $2 AND ci.live = 1",
        )
        .bind(institution.clone())
        .bind(invoice_no.clone())
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(number) = claimed {
            return Err(refuse(
                "duplicate_invoice",
                format!("票据 {invoice_no}（{institution}）已在报销申请 {number} 中申报，不能重复报销"),
                format!(
                    "invoice {invoice_no} of {institution} is already claimed on {number}; it cannot be paid twice"
                ),
            ));
        }
        let settled: Option<String> = sqlx::query_scalar(
            "SELECT s.setl_id FROM settlements s JOIN institutions i ON i.id = s.institution_id \
             WHERE i.code = $1 AND s.setl_id = $2 AND s.status = 'settled'",
        )
        .bind(institution)
        .bind(invoice_no.clone())
        .fetch_optional(&mut *w.tx)
        .await?;
        match settled {
            Some(setl_id) => Err(already_settled(&setl_id, &invoice_no)),
            None => Ok(()),
        }
    }

    async fn claim_event(
        &self,
        w: &mut WriteTx,
        claim_id: i64,
        action: &str,
        from: Option<ClaimState>,
        to: ClaimState,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO claim_events (claim_id, at, actor, action, from_state, to_state, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(claim_id)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(action.to_string())
        .bind(from.map(|s| s.code()))
        .bind(to.code())
        .bind(note.map(str::to_string))
        .execute(&mut *w.tx)
        .await?;
        Ok(())
    }

    /// Attaches an uploaded file to a claim as one of its documents. Only while the claim
    /// is with its claimant or waiting for intake.
    pub async fn attach_claim_document(
        &self,
        w: &mut WriteTx,
        blobs: &Arc<dyn BlobStore>,
        claim_id: i64,
        kind: DocumentKind,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<ClaimDocument, StoreError> {
        let claim = self.claim_in(w, claim_id).await?;
        if !matches!(claim.state, ClaimState::Submitted | ClaimState::Returned) {
            return Err(refuse(
                "documents_closed",
                format!("报销申请处于“{}”，不能再添加材料", claim.state.label().zh),
                format!("the claim is {}; documents can no longer be added", claim.state.label().en),
            ));
        }
        let doc = self.save_document(w, blobs, claim.person_id, file_name, bytes).await?;
        sqlx::query(
            "INSERT INTO claim_documents (claim_id, document_id, kind, added_by, added_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(claim_id)
        .bind(doc.id)
        .bind(kind.code())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await?;
        let added = ClaimDocument {
            document_id: doc.id,
            kind,
            file_name: doc.file_name,
            media_type: doc.media_type.mime().to_string(),
            added_by: doc.uploaded_by,
            added_at: doc.uploaded_at,
        };
        w.record::<(), _>("claim.document", "claim", &claim_id.to_string(), None, Some(&added)).await?;
        Ok(added)
    }

    /// Moves a claim read at `before` to `to` by `action`, with the columns `set` changes,
    /// a `claim_events` row and an audit entry; refused as stale if it changed meanwhile.
    async fn move_claim(
        &self,
        w: &mut WriteTx,
        before: &StoredClaim,
        action: ClaimAction,
        name: &str,
        set: &[(&'static str, Val)],
        note: Option<&str>,
    ) -> Result<StoredClaim, StoreError> {
        let to = before.state.after(action)?;
        update_claim(w, Some(to), set, before.id, before.version).await?;
        if matches!(to, ClaimState::Withdrawn | ClaimState::Rejected) {
            // Its invoices may be claimed again (a corrected claim).
            sqlx::query("UPDATE claim_invoices SET live = 0 WHERE claim_id = $1")
                .bind(before.id)
                .execute(&mut *w.tx)
                .await?;
        }
        self.claim_event(w, before.id, name, Some(before.state), to, note).await?;
        let after = self.claim_in(w, before.id).await?;
        w.record(
            &format!("claim.{name}"),
            "claim",
            &before.id.to_string(),
            Some(&summary(before)),
            Some(&summary(&after)),
        )
        .await?;
        Ok(after)
    }

    /// Intake accepts a claim whose checklist is complete; the engine adjudicates it.
    pub async fn accept_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        claim.state.after(ClaimAction::Accept)?;
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let missing = claim_rules.missing(claim.case, claim.submitter, &claim.document_kinds());
        if !missing.is_empty() {
            return Err(incomplete("材料不全，不能受理，请退回补正", "documents are missing; return it for", &missing));
        }
        let outcome = self.claim_outcome(w, rules, &claim).await?;
        let set = outcome_columns(&outcome)?;
        self.move_claim(w, &claim, ClaimAction::Accept, "accept", &set, None).await
    }

    /// Intake returns a claim for supplement (补正): the checklist's missing items and
    /// `note` say exactly what to bring.
    pub async fn return_claim(
        &self,
        w: &mut WriteTx,
        id: i64,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let missing: Vec<ChecklistItem> =
            claim_rules.missing(claim.case, claim.submitter, &claim.document_kinds()).into_iter().cloned().collect();
        let note = note.trim();
        if missing.is_empty() && note.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "清单已齐全；退回补正须写明还缺什么",
                "the checklist is complete; say what is missing to return it",
            )));
        }
        let set =
            [("missing", text(json(&missing)?)), ("note", Val::Text(Some(note.to_string()).filter(|n| !n.is_empty())))];
        self.move_claim(w, &claim, ClaimAction::Return, "return", &set, Some(note).filter(|n| !n.is_empty())).await
    }

    /// The claimant hands in what was missing; refused while a required item still is.
    pub async fn resubmit_claim(&self, w: &mut WriteTx, id: i64, today: NaiveDate) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let missing = claim_rules.missing(claim.case, claim.submitter, &claim.document_kinds());
        if !missing.is_empty() {
            return Err(incomplete("仍缺少", "still missing", &missing));
        }
        self.move_claim(w, &claim, ClaimAction::Resubmit, "resubmit", &[("missing", text("[]"))], None).await
    }

    /// A reviewer takes an adjudicated claim.
    pub async fn take_claim(&self, w: &mut WriteTx, id: i64) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let set = [("reviewer", text(w.actor().label.clone()))];
        self.move_claim(w, &claim, ClaimAction::TakeForReview, "take", &set, None).await
    }

    fn require_reviewer(&self, w: &WriteTx, claim: &StoredClaim) -> Result<(), StoreError> {
        if claim.state != ClaimState::InReview || claim.reviewer.as_deref() != Some(w.actor().label.as_str()) {
            return Err(refuse(
                "not_your_review",
                "只有接手审核的审核人员才能修改或决定此申请",
                "only the reviewer who took the claim may change or decide it",
            ));
        }
        Ok(())
    }

    /// The reviewer excludes a line (with a coded reason and a comment) or puts it back
    /// (`reason` none); the engine adjudicates the claim again.
    pub async fn exclude_claim_line(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        seq: i64,
        reason: Option<LineReason>,
        note: &str,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.require_reviewer(w, &claim)?;
        let note = note.trim();
        if reason.is_some() && note.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "剔除费用须写明审核意见",
                "excluding a line needs a comment",
            )));
        }
        let before = claim.lines.iter().find(|l| l.seq == seq).cloned().ok_or(StoreError::NotFound("claim line"))?;
        sqlx::query(
            "UPDATE claim_lines SET excluded_reason = $1, excluded_note = $2, excluded_by = $3 \
             WHERE claim_id = $4 AND seq = $5",
        )
        .bind(reason.map(|r| r.code()))
        .bind(reason.map(|_| note.to_string()))
        .bind(reason.map(|_| w.actor().label.clone()))
        .bind(id)
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
        let claim = self.claim_in(w, id).await?;
        let outcome = self.claim_outcome(w, rules, &claim).await?;
        let set = outcome_columns(&outcome)?;
        update_claim(w, None, &set, id, claim.version).await?;
        let after_line = claim.lines.iter().find(|l| l.seq == seq).cloned();
        w.record("claim.line", "claim_line", &format!("{id}/{seq}"), Some(&before), after_line.as_ref()).await?;
        self.claim_in(w, id).await
    }

    /// The reviewer decides: approve (reduced when lines were excluded) or reject. Above
    /// the region's amount the decision waits for a second reviewer.
    pub async fn decide_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        approve: bool,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.require_reviewer(w, &claim)?;
        let verdict = match approve {
            false => Verdict::Reject,
            true if claim.lines.iter().any(|l| l.excluded_reason.is_some()) => Verdict::Reduce,
            true => Verdict::Approve,
        };
        if verdict == Verdict::Reject && note.trim().is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "不予报销须写明理由",
                "a rejection needs a reason",
            )));
        }
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let second = claim.medfee_sumamt > claim_rules.second_review_above;
        let action = ClaimAction::Decide { verdict, second };
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        let mut set = vec![("verdict", text(verdict.code()))];
        if !second {
            set.extend(self.final_columns(w, rules, &claim, verdict).await?);
        }
        let after = self.move_claim(w, &claim, action, "decide", &set, note).await?;
        self.create_payment_order(w, &after, claim_rules.pay_employer_unit, today).await?;
        Ok(after)
    }

    /// The second reviewer (复核), who is not the first, confirms the first's decision or
    /// sends the claim back to review.
    pub async fn second_review_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        confirm: bool,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        if claim.reviewer.as_deref() == Some(w.actor().label.as_str()) {
            return Err(refuse(
                "same_reviewer",
                "复核人不能是初审人",
                "the second reviewer cannot be the one who reviewed it first",
            ));
        }
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        if !confirm {
            if note.is_none() {
                return Err(StoreError::Invalid(InvalidValue::new(
                    "note",
                    "required",
                    "退回重审须写明理由",
                    "sending it back needs a reason",
                )));
            }
            return self.move_claim(w, &claim, ClaimAction::SendBack, "send_back", &[], note).await;
        }
        let verdict = claim.verdict.ok_or_else(|| corrupt("claims.verdict", "missing at second review"))?;
        let action = ClaimAction::Confirm { verdict };
        claim.state.after(action)?;
        let mut set = vec![("second_reviewer", text(w.actor().label.clone()))];
        set.extend(self.final_columns(w, rules, &claim, verdict).await?);
        let after = self.move_claim(w, &claim, action, "confirm", &set, note).await?;
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        self.create_payment_order(w, &after, claim_rules.pay_employer_unit, today).await?;
        Ok(after)
    }

    /// What a final decision writes: for an approval, the engine's result under the
    /// running totals as they are now, which it adds to them; for a rejection, nothing.
    async fn final_columns(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        claim: &StoredClaim,
        verdict: Verdict,
    ) -> Result<Set, StoreError> {
        let mut set = vec![("decided_at", text(w.at()))];
        if verdict == Verdict::Reject {
            return Ok(set);
        }
        let outcome = self.claim_outcome(w, rules, claim).await?;
        let year = outcome.policy.year;
        let version = self.year_totals_in(w, claim.person_id, year).await?.map(|(_, v)| v);
        self.put_year_totals(w, claim.person_id, year, &outcome.ytd_after, version).await?;
        set.extend(outcome_columns(&outcome)?);
        Ok(set)
    }

    /// The claimant (or a clerk for them) withdraws a claim not yet decided.
    pub async fn withdraw_claim(&self, w: &mut WriteTx, id: i64, note: &str) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.move_claim(w, &claim, ClaimAction::Withdraw, "withdraw", &[], Some(note.trim()).filter(|n| !n.is_empty()))
            .await
    }

    /// Runs the engine on a claim under the policy of its receipts' insurance year, with
    /// the person's running totals as this transaction sees them.
    async fn claim_outcome(&self, w: &mut WriteTx, rules: &Rules, claim: &StoredClaim) -> Result<Outcome, StoreError> {
        let person = fetch_person(&mut *w.tx, claim.person_id).await?;
        let receipt = claim.invoices.iter().map(|i| i.invoice_date).max().unwrap_or(claim.care_end);
        let year = rules
            .policies
            .select(person.insured_region, person.scheme, receipt)
            .map(|p| p.year.value())
            .unwrap_or_else(|| InsuranceYear::of(receipt).value());
        let admissions: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM settlements WHERE person_id = $1 AND year = $2 AND med_type = '21' \
             AND status = 'settled') + (SELECT COUNT(*) FROM claims WHERE person_id = $1 AND year = $2 \
             AND med_type = '21' AND state IN ('approved', 'reduced') AND id <> $3)",
        )
        .bind(person.id)
        .bind(i64::from(year))
        .bind(claim.id)
        .fetch_one(&mut *w.tx)
        .await?;
        let ytd = self.year_totals_in(w, person.id, year).await?.map(|(t, _)| t).unwrap_or_default();
        let filing = self
            .filings_of(person.id)
            .await?
            .into_iter()
            .find(|f| {
                f.in_force_on(claim.care_start) && f.destination.is_none_or(|d| d.contains(claim.treatment_region))
            })
            .map(|f| f.kind.group())
            .or_else(|| claim.case.evidenced_filing(&claim.document_kinds()));
        let feedetail = claim
            .lines
            .iter()
            .map(|l| {
                Ok(FeeLine {
                    feedetl_sn: l.seq.to_string().into(),
                    med_list_codg: l.med_list_codg.as_str().into(),
                    cnt: l.cnt,
                    pric: l.pric,
                    det_item_fee_sumamt: l.amount,
                    fee_ocur_time: DateText(date_from("claim_lines.fee_ocur_time", &l.fee_ocur_time)?),
                    reviewer_excluded: l.excluded_reason.is_some(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let engine_claim = Claim {
            mdtrt_id: claim.number.clone(),
            insutype: person.scheme,
            psn_type: person.category,
            med_type: claim.med_type,
            insuplc_admdvs: person.insured_region,
            mdtrtarea_admvs: claim.treatment_region,
            hosp_lv: claim.hosp_lv,
            admission_no: u32::try_from(admissions + 1).unwrap_or(u32::MAX),
            offsite_filing: filing,
            receipt_date: DateText(receipt),
            dise_codg: claim.diagnoses.clone(),
            opsp_dise_code: (claim.med_type == MedType::SpecialOutpatient)
                .then(|| claim.diagnoses.first().cloned())
                .flatten(),
            acct_used_flag: false,
            acct_balance: Fen::ZERO,
            catalog_source: Some(if claim.treatment_catalog {
                CatalogSource::Treatment
            } else {
                CatalogSource::Insured
            }),
            feedetail,
        };
        Engine::default().run(&engine_claim, &rules.policies, &rules.catalogs, &ytd).map_err(|e| {
            StoreError::Invalid(InvalidValue::new(
                "claim",
                "not_adjudicable",
                format!("{}：{}", e.field, e.message.zh),
                format!("{}: {}", e.field, e.message.en),
            ))
        })
    }

    pub(crate) async fn claim_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredClaim, StoreError> {
        let row = sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("claim"))?;
        let mut claim = claim_from_row(&row)?;
        claim_parts(&mut w.tx, &mut claim).await?;
        Ok(claim)
    }

    /// A claim with its invoices, lines, documents and history.
    pub async fn claim(&self, id: i64) -> Result<StoredClaim, StoreError> {
        let row = sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound("claim"))?;
        let mut claim = claim_from_row(&row)?;
        let mut conn = crate::write::Conn::Pooled(self.pool.acquire().await?);
        claim_parts(&mut conn, &mut claim).await?;
        Ok(claim)
    }

    /// The claims a document is attached to (whoever may see one of them may read it).
    pub async fn claims_with_document(&self, document_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT claim_id FROM claim_documents WHERE document_id = $1")
            .bind(document_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The claims an employer unit handed in, newest first.
    pub async fn claims_filed_by(&self, employer_id: i64) -> Result<Vec<ClaimSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.submitter = 'employer' AND c.employer_id = $1 ORDER BY c.id DESC"
        ))
        .bind(employer_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// A person's claims, newest first.
    pub async fn claims_of(&self, person_id: i64) -> Result<Vec<ClaimSummary>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.person_id = $1 ORDER BY c.id DESC"))
                .bind(person_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Claims of persons insured in `scope` in one of `states` (all when empty), oldest
    /// first: a work queue.
    pub async fn claims_in(
        &self,
        scope: &Scope,
        states: &[ClaimState],
        limit: i64,
    ) -> Result<Vec<ClaimSummary>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE 1 = 1"));
        sql.scope_filter("p.insured_region", scope);
        if !states.is_empty() {
            let args: Vec<String> = states.iter().map(|st| sql.arg(Arg::S(st.code().to_string()))).collect();
            sql.text.push_str(&format!(" AND c.state IN ({})", args.join(", ")));
        }
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY c.id LIMIT {l}"));
        sql.fetch_all(self).await?.iter().map(summary_from_row).collect()
    }
}

const DELEGATION_COLS: &str =
    "id, person_id, delegate_resident_id, delegate_name, delegate_person_id, granted_at, granted_by, revoked_at";

fn delegation_from_row(r: &AnyRow) -> Result<Delegation, StoreError> {
    Ok(Delegation {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        delegate_resident_id: r.try_get(2)?,
        delegate_name: r.try_get(3)?,
        delegate_person_id: r.try_get(4)?,
        granted_at: r.try_get(5)?,
        granted_by: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
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

async fn claim_parts(conn: &mut crate::write::Conn, claim: &mut StoredClaim) -> Result<(), StoreError> {
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
         excluded_by FROM claim_lines WHERE claim_id = $1 ORDER BY seq",
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
