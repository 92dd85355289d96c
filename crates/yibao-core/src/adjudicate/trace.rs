//! The trace: one step for each decision, with its reason code and the numbers it used,
//! rendered in Chinese or English on demand (rendering is never on the hot path).

use rust_decimal::Decimal;
use serde::Serialize;

use super::{LineOutcome, Outcome};
use crate::i18n::Lang;
use crate::money::Fen;
use crate::ratio::Ratio;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // Per line.
    ReviewerExcluded,
    RescueAdmitted,
    NotInCatalog,
    CategoryC,
    DiagnosisRestricted,
    GradeRestricted,
    QuantityRestricted,
    OverPriceCap,
    SelfPayFirst,
    InScope,
    // Per claim.
    Deductible,
    RepeatAdmissionDeductible,
    AnnualDeductibleRemaining,
    OffsiteReduction,
    OffsiteUnfiledRefused,
    IllnessNotCovered,
    NoOutpatientPool,
    Segment,
    AnnualCap,
    IllnessCap,
    OutpatientCap,
    CriticalIllnessCounted,
    CriticalIllnessBand,
    CriticalIllnessCap,
    AccountPay,
    FamilyAccountPay,
    CashPay,
}

/// One decision. `amount` is what it decided; `base` what it was applied to; `ratio` and
/// `value` (a quantity or unit price) where the rule used one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The fee line (index into `lines`), or none for a claim-level step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub reason: Reason,
    pub amount: Fen,
    pub base: Fen,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    #[serde(skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub value: Option<Decimal>,
}

impl Step {
    pub fn claim(reason: Reason, amount: Fen, base: Fen, ratio: Option<Ratio>) -> Step {
        Step { line: None, reason, amount, base, ratio, value: None }
    }
}

fn yuan(f: Fen, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}元", f.to_grouped()),
        Lang::En => f.to_grouped(),
    }
}

fn pct(r: Option<Ratio>) -> String {
    r.map(|r| r.percent()).unwrap_or_default()
}

/// "乙类药品，先行自付10%：12.50元" — one step in words.
pub fn render(step: &Step, outcome: &Outcome, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let a = yuan(step.amount, lang);
    let b = yuan(step.base, lang);
    let r = pct(step.ratio);
    let v = step.value.map(|v| v.normalize().to_string()).unwrap_or_default();
    let line: Option<&LineOutcome> = step.line.and_then(|i| outcome.lines.get(i as usize));
    let what = line.map(|l| {
        let kind = l.kind.map(|k| k.label(lang)).unwrap_or(if zh { "项目" } else { "item" });
        match (l.category, zh) {
            (Some(c), true) => format!("{}{kind}", c.label(lang)),
            (Some(c), false) => format!("{} {kind}", c.label(lang)),
            (None, _) => kind.to_string(),
        }
    });
    let what = what.unwrap_or_default();
    let filing = outcome.filing.map(|f| f.label().get(lang).to_string()).unwrap_or_default();
    use Reason::*;
    let text = match (step.reason, zh) {
        (ReviewerExcluded, true) => format!("审核剔除（原因见审核意见），全额自费：{a}"),
        (ReviewerExcluded, false) => {
            format!("Excluded by the reviewer (see the review note): paid in full by the patient: {a}")
        }
        (RescueAdmitted, true) => format!("目录外项目，审核认定为急救抢救必需，按{what}纳入支付范围：{a}"),
        (RescueAdmitted, false) => {
            format!(
                "Outside the catalog, admitted by the reviewer as necessary for the emergency rescue, as {what}: {a}"
            )
        }
        (NotInCatalog, true) => format!("不在医保目录内（或就诊日不在有效期内），全额自费：{a}"),
        (NotInCatalog, false) => format!("Not in the catalog on the date of care: paid in full by the patient: {a}"),
        (CategoryC, true) => format!("{what}，不予支付，全额自费：{a}"),
        (CategoryC, false) => format!("{what}: not covered, paid in full by the patient: {a}"),
        (DiagnosisRestricted, true) => format!("{what}限定诊断，本次诊断不符，全额自费：{a}"),
        (DiagnosisRestricted, false) => {
            format!("{what} restricted to certain diagnoses, which this visit lacks: paid in full: {a}")
        }
        (GradeRestricted, true) => format!("{what}限定医院等级，本院不符，全额自费：{a}"),
        (GradeRestricted, false) => format!("{what} restricted to other hospital grades: paid in full: {a}"),
        (QuantityRestricted, true) => format!("{what}限定每次就诊数量{v}，超出部分全额自费：{a}"),
        (QuantityRestricted, false) => format!("{what} limited to {v} per visit: the excess is paid in full: {a}"),
        (OverPriceCap, true) => format!("单价超过最高限价{v}元，超出部分自付：{a}"),
        (OverPriceCap, false) => format!("Unit price above the ceiling of {v}: the excess is paid by the patient: {a}"),
        (SelfPayFirst, true) => format!("{what}，先行自付{r}：{a}"),
        (SelfPayFirst, false) => format!("{what}, {r} paid by the patient first: {a}"),
        (InScope, true) => format!("{what}，纳入政策范围：{a}"),
        (InScope, false) => format!("{what}, within the policy scope: {a}"),
        (Deductible, true) => format!("起付线{b}，本次支付起付线{a}"),
        (Deductible, false) => format!("Deductible {b}; paid towards it on this claim: {a}"),
        (RepeatAdmissionDeductible, true) => format!("年内再次住院，起付线由{b}调整为{a}"),
        (RepeatAdmissionDeductible, false) => {
            format!("A repeat admission this year: the deductible is {a} instead of {b}")
        }
        (AnnualDeductibleRemaining, true) => format!("年度起付线{b}，尚未支付{a}"),
        (AnnualDeductibleRemaining, false) => format!("Annual deductible {b}, of which {a} remains unpaid"),
        (OffsiteReduction, true) => format!("异地就医（{filing}），报销比例降低{r}"),
        (OffsiteReduction, false) => format!("Off-site care ({filing}): the ratio is reduced by {r}"),
        (OffsiteUnfiledRefused, true) => format!("异地就医未备案，统筹基金不予支付：政策范围内{b}由个人负担"),
        (OffsiteUnfiledRefused, false) => {
            format!("Off-site care without a filing: the fund pays nothing; the in-scope {b} is the patient's")
        }
        (IllnessNotCovered, true) => format!("所报病种不在本地门诊慢特病范围内，统筹基金不予支付：{b}"),
        (IllnessNotCovered, false) => format!("The illness is not a covered special outpatient illness here: {b}"),
        (NoOutpatientPool, true) => format!("本地未设普通门诊统筹，统筹基金不予支付：{b}"),
        (NoOutpatientPool, false) => format!("No general outpatient pooling in this region: {b}"),
        (Segment, true) => format!("政策范围内{b}按{r}报销：{a}"),
        (Segment, false) => format!("{b} of the in-scope amount reimbursed at {r}: {a}"),
        (AnnualCap, true) => format!("统筹基金年度最高支付限额剩余{b}，超出部分{a}由个人负担"),
        (AnnualCap, false) => format!("Only {b} remains of the fund's annual cap; {a} above it falls to the patient"),
        (IllnessCap, true) => format!("该病种年度限额剩余{b}，超出部分{a}由个人负担"),
        (IllnessCap, false) => format!("Only {b} remains of this illness's annual cap; {a} falls to the patient"),
        (OutpatientCap, true) => format!("普通门诊年度限额剩余{b}，超出部分{a}由个人负担"),
        (OutpatientCap, false) => format!("Only {b} remains of the outpatient annual cap; {a} falls to the patient"),
        (CriticalIllnessCounted, true) => format!("计入大病保险（大额补助）的合规自付费用：{a}，起付标准{b}"),
        (CriticalIllnessCounted, false) => {
            format!("In-scope self-paid amount counted for critical illness insurance: {a} (threshold {b})")
        }
        (CriticalIllnessBand, true) => format!("大病保险（大额补助）：起付标准以上{b}按{r}支付：{a}"),
        (CriticalIllnessBand, false) => format!("Critical illness insurance: {b} above the threshold paid at {r}: {a}"),
        (CriticalIllnessCap, true) => format!("大病保险（大额补助）年度限额剩余{b}，超出部分{a}由个人负担"),
        (CriticalIllnessCap, false) => {
            format!("Only {b} remains of the critical illness cap; {a} falls to the patient")
        }
        (AccountPay, true) => format!("个人账户支付{a}（余额{b}）"),
        (AccountPay, false) => format!("Individual account pays {a} (balance {b})"),
        (FamilyAccountPay, true) => format!("门诊共济：家庭成员个人账户支付{a}（可用余额{b}）"),
        (FamilyAccountPay, false) => format!("Family mutual aid: a family member's account pays {a} (balance {b})"),
        (CashPay, true) => format!("个人现金支付{a}"),
        (CashPay, false) => format!("The patient pays {a} in cash"),
    };
    match line {
        Some(l) if zh => format!("第{}行 {}：{text}", l.feedetl_sn, l.name()),
        Some(l) => format!("Line {} {}: {text}", l.feedetl_sn, l.name()),
        None => text,
    }
}
