//! Sporadic claims (零星报销): the person paid in full and claims afterwards. What each case
//! must be filed with and by when is regional data ([`ClaimRules`], versioned like a
//! policy, so a policy administrator changes it for a new year without a release); which
//! step may follow which is decided in one place ([`ClaimState::after`]). Pure: the caller
//! passes the dates.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::adjudicate::{render, Filing, Outcome};
use crate::document::DocumentKind;
use crate::error::InvalidValue;
use crate::i18n::{Lang, Text};
use crate::money::Fen;
use crate::registry::coded_enum;
use crate::settlement::{funds, FundRow};

pub mod itemised;
pub use itemised::ItemisedLine;

/// The working days within which an approved claim is paid to the bank card (the seeds:
/// "about 15 working days"), counted on the official calendar.
pub const PAYMENT_WORKING_DAYS: u32 = 15;

coded_enum!(
    /// Why a person claims afterwards: the cases of the seeds, each with its own checklist.
    #[derive(PartialOrd, Ord)]
    ClaimCase, "case" {
        LocalEmergency = "local_emergency", "本地非定点医疗机构急诊抢救或院前急救（120）",
            "local emergency outside designated institutions or pre-hospital emergency (120)";
        CardLostOrDamaged = "card_lost_or_damaged", "社会保障卡挂失或损坏期间就医",
            "treatment while the card was reported lost or damaged";
        OffsiteOutpatient = "offsite_outpatient", "异地门诊、急诊", "off-site outpatient or emergency care";
        OffsiteInpatient = "offsite_inpatient", "异地住院或急诊留观", "off-site inpatient care or emergency observation";
        Referral = "referral", "转诊转院住院（持转诊证明）", "inpatient care on a referral certificate";
        SpecialIllness = "special_illness", "门诊特殊病、慢性病（门特/门慢）",
            "outpatient special or chronic illness";
        RadioChemotherapy = "radio_chemotherapy", "放疗、化疗未在医院结算",
            "radiotherapy or chemotherapy not settled at the hospital";
        TravelIllness = "travel_illness", "出差、学习、探亲期间患急病住院（单位申报）",
            "serious illness while travelling, studying or visiting relatives (filed by the employer unit)";
    }
);

impl ClaimCase {
    /// The off-site filing a claim's own papers stand for when the person has no filing on
    /// record: a referral certificate for a referral, residence proof for a person living
    /// where they were treated (seed 003: "issue a residence certificate ... plus proof of
    /// residence"), the emergency itself for emergencies and serious illness while away.
    pub fn evidenced_filing(self, documents: &[DocumentKind]) -> Option<Filing> {
        let has = |k: DocumentKind| documents.contains(&k);
        match self {
            ClaimCase::Referral => Some(Filing::Referral),
            ClaimCase::LocalEmergency | ClaimCase::TravelIllness => Some(Filing::Emergency),
            ClaimCase::OffsiteInpatient | ClaimCase::OffsiteOutpatient => {
                if has(DocumentKind::ReferralCertificate) {
                    Some(Filing::Referral)
                } else if has(DocumentKind::ResidencePermit) || has(DocumentKind::ResidenceCertificate) {
                    Some(Filing::LongTermResidence)
                } else {
                    None
                }
            }
            ClaimCase::CardLostOrDamaged | ClaimCase::SpecialIllness | ClaimCase::RadioChemotherapy => None,
        }
    }

    /// Whether the care was a stay (the deadline counts from discharge) rather than visits.
    pub fn is_inpatient(self) -> bool {
        matches!(self, ClaimCase::OffsiteInpatient | ClaimCase::Referral | ClaimCase::TravelIllness)
    }
}

coded_enum!(
    /// Who hands a claim in.
    Submitter, "submitter" {
        Insured = "insured", "参保人本人", "the insured person";
        Delegate = "delegate", "受托人代办", "a delegate";
        Employer = "employer", "参保单位申报", "the employer unit";
    }
);

/// One line of a checklist: any one of `any_of` satisfies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub any_of: Vec<DocumentKind>,
    #[serde(default = "yes")]
    pub required: bool,
    /// Why it is asked for, in the person's words.
    pub why: Text,
}

fn yes() -> bool {
    true
}

impl ChecklistItem {
    pub fn satisfied_by(&self, provided: &[DocumentKind]) -> bool {
        self.any_of.iter().any(|k| provided.contains(k))
    }

    /// The item's documents in words, "A 或 B" / "A or B".
    pub fn label(&self) -> Text {
        let zh: Vec<String> = self.any_of.iter().map(|k| k.label().zh).collect();
        let en: Vec<String> = self.any_of.iter().map(|k| k.label().en).collect();
        Text::new(zh.join(" 或 "), en.join(" or "))
    }
}

/// By when a claim must be handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeadlineRule {
    /// Within `months` months of the end of care (discharge, or the last visit).
    MonthsAfterCare { months: u32 },
    /// By 31 December of the year the care ended in.
    YearEnd,
}

impl DeadlineRule {
    /// The last day a claim for care that ended on `care_end` is on time.
    pub fn due(self, care_end: NaiveDate) -> NaiveDate {
        match self {
            DeadlineRule::MonthsAfterCare { months } => {
                care_end.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
            }
            DeadlineRule::YearEnd => NaiveDate::from_ymd_opt(care_end.year(), 12, 31).unwrap_or(NaiveDate::MAX),
        }
    }

    /// The rule in words.
    pub fn describe(self) -> Text {
        match self {
            DeadlineRule::MonthsAfterCare { months } => Text::new(
                format!("出院（或就诊结束）之日起 {months} 个月内申报"),
                format!("within {months} month(s) of discharge (or the last visit)"),
            ),
            DeadlineRule::YearEnd => Text::new("治疗当年 12 月 31 日前申报", "by 31 December of the year of treatment"),
        }
    }

    /// Refuses a claim handed in on `submitted` for care that ended on `care_end` when it
    /// is late, naming the rule and the date.
    pub fn check(self, care_end: NaiveDate, submitted: NaiveDate) -> Result<NaiveDate, InvalidValue> {
        let due = self.due(care_end);
        if submitted <= due {
            return Ok(due);
        }
        let rule = self.describe();
        Err(InvalidValue::new(
            "care_end",
            "late",
            format!("已超过申报期限：{}，截止日为 {due}（治疗结束于 {care_end}，申报于 {submitted}）", rule.zh),
            format!("past the deadline: {}, which was {due} (care ended {care_end}, handed in {submitted})", rule.en),
        ))
    }
}

/// One case's rules: its checklist and its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRules {
    pub deadline: DeadlineRule,
    pub documents: Vec<ChecklistItem>,
    /// Only the employer unit (or a clerk for it) may hand this case in.
    #[serde(default)]
    pub employer_only: bool,
}

/// A region's rules for sporadic claims in force from `valid_from`: every case's checklist
/// and deadline, what a delegate adds, and the amount above which a second reviewer must
/// confirm a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRules {
    pub name: String,
    pub valid_from: NaiveDate,
    /// Claims whose fund payment is above this need a second reviewer (复核).
    pub second_review_above: Fen,
    /// What a delegate brings besides the person's papers.
    pub delegate_documents: Vec<ChecklistItem>,
    /// Whether a claim the employer unit filed is paid to the unit's bank account (the
    /// default) rather than to the insured person's.
    #[serde(default = "yes")]
    pub pay_employer_unit: bool,
    /// The share of approved claims, in percent, drawn for post-payment audit (事后抽查); a
    /// claim is drawn by its number, so the same claim is always drawn or never.
    #[serde(default)]
    pub sample_percent: u8,
    /// How the region clears with its designated institutions: the period and the quality
    /// guarantee deposit.
    #[serde(default)]
    pub clearing: crate::clearing::ClearingRules,
    pub cases: BTreeMap<ClaimCase, CaseRules>,
}

/// The rules yibao ships with, from the seeds; a region imports its own versions.
pub const DEFAULT_RULES_JSON: &str = include_str!("../data/claim_rules.json");

/// Whether the claim numbered `number` is drawn when `percent` of claims are: by the first
/// two bytes of the SHA-256 of the installation's secret `salt` and the number, so the draw
/// is the same every time it is asked, and nobody without the secret can tell it.
pub fn drawn_for_sample(salt: &str, number: &str, percent: u8) -> bool {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{salt}:{number}").as_bytes());
    u32::from(u16::from_be_bytes([digest[0], digest[1]])) % 100 < u32::from(percent)
}

impl ClaimRules {
    /// Parses and checks a rules document: every case present, every item names a document.
    pub fn from_json(text: &str) -> Result<ClaimRules, InvalidValue> {
        let rules: ClaimRules = serde_json::from_str(text).map_err(|e| {
            InvalidValue::new(
                "rules",
                "format",
                format!("报销规则格式错误：{e}"),
                format!("malformed claim rules: {e}"),
            )
        })?;
        if rules.sample_percent > 100 {
            return Err(InvalidValue::new(
                "sample_percent",
                "range",
                "抽查比例应在 0–100 之间",
                "the sample share is 0 to 100 percent",
            ));
        }
        if !rules.clearing.is_valid() {
            return Err(InvalidValue::new(
                "clearing.period_months",
                "range",
                "清算周期应为 1、2、3、4、6 或 12 个月",
                "the clearing period is 1, 2, 3, 4, 6 or 12 months",
            ));
        }
        for &case in ClaimCase::ALL {
            let Some(c) = rules.cases.get(&case) else {
                return Err(InvalidValue::new(
                    "rules",
                    "missing_case",
                    format!("报销规则缺少情形“{}”", case.label().zh),
                    format!("the rules lack the case \"{}\"", case.code()),
                ));
            };
            if let DeadlineRule::MonthsAfterCare { months: 0 } = c.deadline {
                return Err(InvalidValue::new(
                    "rules",
                    "deadline",
                    format!("“{}”的申报期限不能为 0 个月", case.label().zh),
                    format!("the deadline of \"{}\" cannot be 0 months", case.code()),
                ));
            }
        }
        let items = rules.cases.values().flat_map(|c| &c.documents).chain(&rules.delegate_documents);
        if items.into_iter().any(|i| i.any_of.is_empty()) {
            return Err(InvalidValue::new(
                "rules",
                "empty_item",
                "清单中有一项没有列出任何材料",
                "a checklist item names no document",
            ));
        }
        if rules.second_review_above.is_negative() {
            return Err(InvalidValue::new(
                "second_review_above",
                "negative",
                "复核金额不能为负",
                "the second-review amount cannot be negative",
            ));
        }
        Ok(rules)
    }

    /// The rules yibao ships with (a test checks they parse).
    pub fn default_rules() -> Result<ClaimRules, InvalidValue> {
        ClaimRules::from_json(DEFAULT_RULES_JSON)
    }

    pub fn case(&self, case: ClaimCase) -> &CaseRules {
        // `from_json` refuses rules without every case.
        &self.cases[&case]
    }

    /// Everything to bring for `case` handed in by `submitter`, in order.
    pub fn checklist(&self, case: ClaimCase, submitter: Submitter) -> Vec<&ChecklistItem> {
        let mut items: Vec<&ChecklistItem> = self.case(case).documents.iter().collect();
        if submitter == Submitter::Delegate {
            items.extend(&self.delegate_documents);
        }
        items
    }

    /// The required items that none of `provided` satisfies.
    pub fn missing(&self, case: ClaimCase, submitter: Submitter, provided: &[DocumentKind]) -> Vec<&ChecklistItem> {
        self.checklist(case, submitter).into_iter().filter(|i| i.required && !i.satisfied_by(provided)).collect()
    }

    /// Refuses a submitter the case does not allow.
    pub fn check_submitter(&self, case: ClaimCase, submitter: Submitter) -> Result<(), InvalidValue> {
        if self.case(case).employer_only && submitter != Submitter::Employer {
            return Err(InvalidValue::new(
                "submitter",
                "employer_only",
                format!("“{}”须由参保单位申报", case.label().zh),
                format!("\"{}\" is handed in by the employer unit", case.label().en),
            ));
        }
        Ok(())
    }
}

coded_enum!(
    /// Where a claim is. Every change goes through [`ClaimState::after`].
    ClaimState, "state" {
        Submitted = "submitted", "已提交，待受理", "submitted, awaiting intake";
        Returned = "returned", "退回补正", "returned for supplement";
        Adjudicated = "adjudicated", "已受理并计算，待审核", "accepted and adjudicated, awaiting review";
        InReview = "in_review", "审核中", "in review";
        SecondReview = "second_review", "待复核", "awaiting second review";
        Approved = "approved", "审核通过", "approved";
        Reduced = "reduced", "部分通过（核减）", "approved with reductions";
        Rejected = "rejected", "不予报销", "rejected";
        Withdrawn = "withdrawn", "已撤回", "withdrawn";
    }
);

/// What someone does to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimAction {
    /// The intake clerk accepts; the engine adjudicates.
    Accept,
    /// The intake clerk asks for what is missing.
    Return,
    /// The claimant hands in what was missing.
    Resubmit,
    /// A reviewer takes the claim (a line change re-adjudicates it but keeps it here).
    TakeForReview,
    /// The reviewer decides; `second` when a second reviewer must confirm.
    Decide { verdict: Verdict, second: bool },
    /// The second reviewer confirms the first's decision.
    Confirm { verdict: Verdict },
    /// The second reviewer sends it back to review.
    SendBack,
    /// The claimant withdraws it.
    Withdraw,
}

coded_enum!(
    /// A reviewer's decision.
    Verdict, "verdict" {
        Approve = "approve", "通过", "approve";
        Reduce = "reduce", "核减后通过", "approve with reductions";
        Reject = "reject", "不予报销", "reject";
    }
);

impl Verdict {
    fn state(self) -> ClaimState {
        match self {
            Verdict::Approve => ClaimState::Approved,
            Verdict::Reduce => ClaimState::Reduced,
            Verdict::Reject => ClaimState::Rejected,
        }
    }
}

impl ClaimState {
    /// Whether nothing more happens to the claim here (payment is the next step's).
    pub fn is_final(self) -> bool {
        matches!(self, ClaimState::Approved | ClaimState::Reduced | ClaimState::Rejected | ClaimState::Withdrawn)
    }

    /// The one place that decides which step may follow which.
    pub fn after(self, action: ClaimAction) -> Result<ClaimState, InvalidValue> {
        use ClaimAction as A;
        use ClaimState as S;
        let next = match (self, action) {
            (S::Submitted, A::Accept) => Some(S::Adjudicated),
            (S::Submitted, A::Return) => Some(S::Returned),
            (S::Returned, A::Resubmit) => Some(S::Submitted),
            (S::Adjudicated, A::TakeForReview) => Some(S::InReview),
            (S::InReview, A::Decide { second: true, .. }) => Some(S::SecondReview),
            (S::InReview, A::Decide { verdict, second: false }) => Some(verdict.state()),
            (S::SecondReview, A::Confirm { verdict }) => Some(verdict.state()),
            (S::SecondReview, A::SendBack) => Some(S::InReview),
            (s, A::Withdraw) if !s.is_final() => Some(S::Withdrawn),
            _ => None,
        };
        next.ok_or_else(|| {
            InvalidValue::new(
                "state",
                "transition",
                format!("报销申请处于“{}”，不能执行此操作", self.label().zh),
                format!("the claim is {}; this step is not possible now", self.label().en),
            )
        })
    }
}

coded_enum!(
    /// A reviewer's coded reason for excluding a line.
    LineReason, "reason" {
        NotForDiagnosis = "not_for_diagnosis", "与诊断不符", "not for the diagnosis";
        NoEvidence = "no_evidence", "无病历或检查依据", "no record or examination supports it";
        DuplicateCharge = "duplicate_charge", "重复收费", "charged twice";
        OutOfScope = "out_of_scope", "超出医保支付范围", "outside what the fund pays for";
        InvoiceMismatch = "invoice_mismatch", "票据与明细不符", "the invoice and the itemised list disagree";
    }
);

coded_enum!(
    /// Why a reviewer admitted a line outside the catalog for an emergency rescue.
    RescueReason, "reason" {
        DrugForRescue = "drug_for_rescue", "抢救必需药品，目录内无替代", "a drug the rescue needed, with no catalog alternative";
        MaterialForRescue = "material_for_rescue", "抢救必需医用耗材", "a medical material the rescue needed";
        TreatmentForRescue = "treatment_for_rescue", "抢救必需诊疗项目", "a treatment or examination the rescue needed";
    }
);

/// One line of a claim's statement: what the line cost, how it splits, what the funds paid
/// towards it, and why, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// The line's number on the claim.
    pub seq: String,
    pub med_list_codg: String,
    pub name: String,
    /// 甲类 / 乙类 / 丙类 (none: not in the catalog).
    pub category: Option<Text>,
    pub amount: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    /// The pooled fund and critical illness insurance together.
    pub fund_pay: Fen,
    /// What the person bears of the line.
    pub person_pays: Fen,
    pub why: Vec<Text>,
}

/// A claim's statement (结算单): every line and every claim-level step (deductible, ratio,
/// caps, critical illness insurance, account), in both languages, with the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The policy applied, `region scheme year vN name`.
    pub policy: String,
    pub catalog_region: String,
    pub filing: Option<Text>,
    pub lines: Vec<StatementLine>,
    /// The claim-level steps, in order.
    pub steps: Vec<Text>,
    pub funds: Vec<FundRow>,
    pub medfee_sumamt: Fen,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_selfpay: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub act_pay_dedc: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
    /// What the person bears in all.
    pub psn_pay: Fen,
}

impl Statement {
    pub fn new(outcome: &Outcome) -> Statement {
        let text = |step| Text::new(render(step, outcome, Lang::Zh), render(step, outcome, Lang::En));
        let mut lines: Vec<StatementLine> = outcome
            .lines
            .iter()
            .map(|l| {
                let fund = l.hifp_pay.fen() + l.critical_pay.fen();
                StatementLine {
                    seq: l.feedetl_sn.to_string(),
                    med_list_codg: l.med_list_codg.to_string(),
                    name: l.name().to_string(),
                    category: l.category.map(|c| Text::new(c.label(Lang::Zh), c.label(Lang::En))),
                    amount: l.det_item_fee_sumamt,
                    fulamt_ownpay_amt: l.fulamt_ownpay_amt,
                    overlmt_selfpay: l.overlmt_selfpay,
                    preselfpay_amt: l.preselfpay_amt,
                    inscp_scp_amt: l.inscp_scp_amt,
                    fund_pay: Fen::from_fen(fund),
                    person_pays: Fen::from_fen(l.det_item_fee_sumamt.fen() - fund),
                    why: Vec::new(),
                }
            })
            .collect();
        let mut steps = Vec::new();
        for step in &outcome.trace {
            match step.line.and_then(|i| lines.get_mut(i as usize)) {
                Some(line) => line.why.push(text(step)),
                None => steps.push(text(step)),
            }
        }
        let t = &outcome.totals;
        let p = &outcome.policy;
        Statement {
            policy: format!("{} {} {} v{} {}", p.region, p.scheme.code(), p.year, p.version, p.name),
            catalog_region: outcome.catalog_region.to_string(),
            filing: outcome.filing.map(|f| f.label()),
            lines,
            steps,
            funds: funds(p.scheme, t),
            medfee_sumamt: t.medfee_sumamt,
            fulamt_ownpay_amt: t.fulamt_ownpay_amt,
            overlmt_selfpay: t.overlmt_selfpay,
            preselfpay_amt: t.preselfpay_amt,
            inscp_scp_amt: t.inscp_scp_amt,
            act_pay_dedc: t.act_pay_dedc,
            fund_pay_sumamt: t.fund_pay_sumamt,
            acct_pay: t.acct_pay,
            psn_pay: Fen::from_fen(t.medfee_sumamt.fen() - t.fund_pay_sumamt.fen()),
        }
    }
}

impl Statement {
    /// The statement as a CSV table in `lang` (UTF-8 with a byte order mark, so spreadsheet
    /// programs read the Chinese): every line with its split and reasons, then the
    /// claim-level steps, the funds and the totals.
    pub fn to_csv(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let heads: [(&str, &str); 12] = [
            ("序号", "line"),
            ("医保目录编码", "national code"),
            ("项目名称", "item"),
            ("类别", "category"),
            ("金额", "amount"),
            ("全自费", "fully self-paid"),
            ("超限价自费", "over the price ceiling"),
            ("先行自付", "self-pay-first share"),
            ("符合范围", "in scope"),
            ("基金支付", "paid by the funds"),
            ("个人负担", "borne by the person"),
            ("说明", "why"),
        ];
        // Text a hospital or a person wrote is neutralised; amounts are numbers.
        let safe = |text: &str| crate::text::spreadsheet_safe(text).into_owned();
        let mut rows: Vec<Vec<String>> =
            vec![heads.iter().map(|(z, e)| (if zh { *z } else { *e }).to_string()).collect()];
        for l in &self.lines {
            let category = l.category.as_ref().map(|c| c.get(lang).to_string());
            let why: Vec<&str> = l.why.iter().map(|t| t.get(lang)).collect();
            rows.push(vec![
                l.seq.clone(),
                safe(&l.med_list_codg),
                safe(&l.name),
                category.unwrap_or_else(|| (if zh { "目录外" } else { "not in the catalog" }).to_string()),
                l.amount.to_string(),
                l.fulamt_ownpay_amt.to_string(),
                l.overlmt_selfpay.to_string(),
                l.preselfpay_amt.to_string(),
                l.inscp_scp_amt.to_string(),
                l.fund_pay.to_string(),
                l.person_pays.to_string(),
                safe(&why.join("；")),
            ]);
        }
        rows.push(Vec::new());
        rows.push(vec![(if zh { "计算步骤" } else { "steps" }).to_string()]);
        rows.extend(self.steps.iter().map(|s| vec![s.get(lang).to_string()]));
        rows.push(Vec::new());
        for f in &self.funds {
            rows.push(vec![f.fund_pay_type.to_string(), f.label.get(lang).to_string(), f.amount.to_string()]);
        }
        let totals: [(&str, &str, String); 6] = [
            ("医疗费用总额", "total", self.medfee_sumamt.to_string()),
            ("起付线", "deductible", self.act_pay_dedc.to_string()),
            ("基金支付合计", "paid by the funds", self.fund_pay_sumamt.to_string()),
            ("个人账户支付", "individual account", self.acct_pay.to_string()),
            ("个人负担合计", "borne by the person", self.psn_pay.to_string()),
            ("适用政策", "policy", safe(&self.policy)),
        ];
        for (z, e, value) in totals {
            rows.push(vec![(if zh { z } else { e }).to_string(), value]);
        }
        crate::text::csv_document(&rows)
    }
}

#[cfg(test)]
mod tests;
