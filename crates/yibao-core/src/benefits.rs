//! A policy as people read it (待遇标准表): each benefit a row — deductibles, ratios, caps by
//! grade and person category, off-site reductions, critical illness, the account, deadlines
//! — in words, and two versions compared row by row so that what changed stands out.

use crate::catalog::Category;
use crate::i18n::Text;
use crate::policy::{AccountUse, Policy, RatioRule, RepeatAdmission, Segment, Unfiled};
use crate::registry::HospitalGrade;
use crate::{Fen, Ratio};

/// One benefit: the part of the policy it belongs to, what it is, and its value, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitRow {
    pub section: Text,
    pub item: Text,
    pub value: Text,
}

/// How a row compares with the other version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Same,
    Changed,
    /// Only in this version.
    Added,
    /// Only in the other version (the row shows the other version's value).
    Removed,
}

/// A row of a comparison: this version's value (empty when removed) and the other's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    pub section: Text,
    pub item: Text,
    pub value: Option<Text>,
    pub before: Option<Text>,
    pub change: Change,
}

fn yuan(f: Fen) -> Text {
    Text::new(format!("{} 元", f.to_grouped()), format!("{} yuan", f.to_grouped()))
}

fn pct(r: Ratio) -> Text {
    Text::new(r.percent(), r.percent())
}

fn join(parts: &[Text], zh_sep: &str, en_sep: &str) -> Text {
    Text::new(
        parts.iter().map(|t| t.zh.as_str()).collect::<Vec<_>>().join(zh_sep),
        parts.iter().map(|t| t.en.as_str()).collect::<Vec<_>>().join(en_sep),
    )
}

/// 「10,000.00 元以内 80%；以上 90%」.
fn segments(s: &[Segment]) -> Text {
    let parts: Vec<Text> = s
        .iter()
        .map(|seg| match seg.up_to {
            Some(up) => Text::new(
                format!("{} 元以内 {}", up.to_grouped(), seg.ratio.percent()),
                format!("{} up to {} yuan", seg.ratio.percent(), up.to_grouped()),
            ),
            None if s.len() == 1 => pct(seg.ratio),
            None => Text::new(format!("以上 {}", seg.ratio.percent()), format!("{} above", seg.ratio.percent())),
        })
        .collect();
    join(&parts, "；", "; ")
}

/// Who and where a ratio rule is for: 「在职职工 · 三级医院」, or everyone.
fn rule_scope(r: &RatioRule) -> Text {
    let mut parts = Vec::new();
    if !r.categories.is_empty() {
        parts.push(join(&r.categories.iter().map(|c| c.label()).collect::<Vec<_>>(), "、", ", "));
    }
    if !r.grades.is_empty() {
        parts.push(join(&r.grades.iter().map(|g| g.label()).collect::<Vec<_>>(), "、", ", "));
    }
    if parts.is_empty() {
        Text::new("所有人员、所有等级", "everyone, every grade")
    } else {
        join(&parts, " · ", " · ")
    }
}

fn account_use(u: AccountUse) -> Text {
    match u {
        AccountUse::None => Text::new("不支付", "pays nothing"),
        AccountUse::InScope => Text::new("支付政策范围内个人负担部分", "pays the in-scope share"),
        AccountUse::All => Text::new("支付个人负担的全部", "pays all of the person's share"),
    }
}

/// The policy as a benefit table, in a fixed order.
pub fn benefit_table(p: &Policy) -> Vec<BenefitRow> {
    let mut rows = Vec::new();
    let mut row = |section: (&str, &str), item: Text, value: Text| {
        rows.push(BenefitRow { section: Text::new(section.0, section.1), item, value });
    };
    let general = ("总体", "Overall");
    row(general, Text::new("年度统筹基金最高支付限额", "Annual cap of the pooled fund"), yuan(p.annual_cap));
    row(
        general,
        Text::new("执行期间", "In force"),
        Text::new(
            format!("{} 至 {}", p.effective_from, p.effective_to),
            format!("{} to {}", p.effective_from, p.effective_to),
        ),
    );

    let inpatient = ("住院", "Inpatient");
    for g in HospitalGrade::ALL {
        let label = g.label();
        row(
            inpatient,
            Text::new(format!("起付线 · {}", label.zh), format!("Deductible · {}", label.en)),
            yuan(p.inpatient.deductible.get(*g)),
        );
    }
    let repeat = match p.inpatient.repeat_admission {
        RepeatAdmission::Same => Text::new("与首次相同", "the same as the first"),
        RepeatAdmission::Factor(r) => {
            Text::new(format!("首次起付线的 {}", r.percent()), format!("{} of the first", r.percent()))
        }
        RepeatAdmission::Fixed(f) => yuan(f),
        RepeatAdmission::Waived => Text::new("免起付线", "none"),
    };
    row(inpatient, Text::new("年内再次住院起付线", "Deductible of a later admission"), repeat);
    for r in &p.inpatient.ratios {
        let scope = rule_scope(r);
        row(
            inpatient,
            Text::new(format!("报销比例 · {}", scope.zh), format!("Ratio · {}", scope.en)),
            segments(&r.segments),
        );
    }

    let outpatient = ("门诊", "Outpatient");
    if let Some(g) = &p.outpatient.general {
        row(outpatient, Text::new("普通门诊年度起付线", "General outpatient deductible (a year)"), yuan(g.deductible));
        for r in &g.ratios {
            let scope = rule_scope(r);
            row(
                outpatient,
                Text::new(
                    format!("普通门诊报销比例 · {}", scope.zh),
                    format!("General outpatient ratio · {}", scope.en),
                ),
                segments(&r.segments),
            );
        }
        row(outpatient, Text::new("普通门诊年度限额", "General outpatient cap (a year)"), yuan(g.annual_cap));
    }
    for s in &p.outpatient.special {
        row(
            outpatient,
            Text::new(
                format!("门诊慢特病 · {}（{}）", s.name, s.code),
                format!("Chronic and special illness · {} ({})", s.name, s.code),
            ),
            Text::new(
                format!(
                    "起付线 {} 元，报销 {}，年度限额 {} 元",
                    s.deductible.to_grouped(),
                    s.ratio.percent(),
                    s.annual_cap.to_grouped()
                ),
                format!(
                    "deductible {} yuan, {} paid, cap {} yuan a year",
                    s.deductible.to_grouped(),
                    s.ratio.percent(),
                    s.annual_cap.to_grouped()
                ),
            ),
        );
    }

    let offsite = ("异地就医（比例降低）", "Off-site care (ratio reduced by)");
    let o = &p.offsite;
    row(offsite, Text::new("异地长期居住", "Long-term residence"), pct(o.long_term_residence));
    row(offsite, Text::new("转诊转院", "Referral"), pct(o.referral));
    row(offsite, Text::new("急诊抢救", "Emergency"), pct(o.emergency));
    row(offsite, Text::new("其他临时外出", "Other temporary travel"), pct(o.temporary_other));
    let unfiled = match o.unfiled {
        Unfiled::Refuse => Text::new("不予支付", "not paid"),
        Unfiled::Reduce(r) => {
            Text::new(format!("比例再降低 {}", r.percent()), format!("ratio reduced by {} more", r.percent()))
        }
    };
    row(offsite, Text::new("未备案", "Not filed"), unfiled);
    row(
        offsite,
        Text::new("临时备案有效期", "A temporary filing lasts"),
        Text::new(format!("{} 个月", o.filing.temporary_months), format!("{} months", o.filing.temporary_months)),
    );
    row(
        offsite,
        Text::new("补办备案期限", "Retroactive filing within"),
        Text::new(
            format!("就医后 {} 天内", o.filing.retroactive_days),
            format!("{} days after treatment began", o.filing.retroactive_days),
        ),
    );

    if let Some(c) = &p.critical_illness {
        let critical = ("大病保险", "Critical illness");
        row(
            critical,
            Text::new("起付标准（年度政策范围内自付）", "Threshold (in-scope self-paid a year)"),
            yuan(c.threshold),
        );
        row(critical, Text::new("分段报销比例（超过起付标准部分）", "Ratios above the threshold"), segments(&c.bands));
        row(critical, Text::new("年度最高支付限额", "Annual cap"), yuan(c.annual_cap));
    }

    let account = ("个人账户", "Individual account");
    row(account, Text::new("本人账户", "The person's own account"), account_use(p.individual_account.pays));
    row(account, Text::new("家庭成员共济", "Family members' accounts"), account_use(p.individual_account.family_pays));

    let sporadic = ("零星报销", "Reimbursement claims");
    row(
        sporadic,
        Text::new("申请期限", "File within"),
        Text::new(
            format!("出院（或开票）后 {} 天内", p.sporadic.submit_within_days),
            format!("{} days of discharge (or the receipt)", p.sporadic.submit_within_days),
        ),
    );
    if let Some(cutoff) = &p.sporadic.next_year_cutoff {
        row(
            sporadic,
            Text::new("跨年申请截止", "Claims for the year end on"),
            Text::new(format!("次年 {cutoff}"), format!("{cutoff} of the next year")),
        );
    }
    if let Some(r) = &p.sporadic.emergency_rescue {
        let category = match r.category {
            Category::A => Text::new("甲类", "category A"),
            _ => Text::new("乙类", "category B"),
        };
        row(
            sporadic,
            Text::new("抢救必需的目录外项目", "Items outside the catalog needed for a rescue"),
            Text::new(
                format!("按{}支付，先自付 {}", category.zh, r.selfpay_prop.percent()),
                format!("paid as {}, {} paid first by the person", category.en, r.selfpay_prop.percent()),
            ),
        );
    }
    rows
}

/// This version's rows against another's: each row of this one, changed or the same, then the
/// rows only the other has. Rows are matched by section and item, in order: the second row
/// of a section and item (two ratio rules of the same scope) is compared with the other's
/// second.
pub fn compare(this: &[BenefitRow], other: &[BenefitRow]) -> Vec<Compared> {
    let key = |r: &BenefitRow| (r.section.zh.clone(), r.item.zh.clone());
    // Each row with how many rows of the same key come before it.
    let numbered = |rows: &[BenefitRow]| -> Vec<((String, String), usize)> {
        let mut seen: Vec<(String, String)> = Vec::new();
        rows.iter()
            .map(|r| {
                let k = key(r);
                let n = seen.iter().filter(|s| **s == k).count();
                seen.push(k.clone());
                (k, n)
            })
            .collect()
    };
    let (mine, theirs) = (numbered(this), numbered(other));
    let mut out: Vec<Compared> = this
        .iter()
        .zip(&mine)
        .map(|(r, k)| {
            let before = other.iter().zip(&theirs).find(|(_, o)| *o == k).map(|(o, _)| o.value.clone());
            let change = match &before {
                None => Change::Added,
                Some(b) if *b == r.value => Change::Same,
                Some(_) => Change::Changed,
            };
            Compared { section: r.section.clone(), item: r.item.clone(), value: Some(r.value.clone()), before, change }
        })
        .collect();
    for (o, _) in other.iter().zip(&theirs).filter(|(_, k)| !mine.contains(k)) {
        out.push(Compared {
            section: o.section.clone(),
            item: o.item.clone(),
            value: None,
            before: Some(o.value.clone()),
            change: Change::Removed,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = include_str!("../../../docs/formats/examples/policy-620300-310-2026.toml");

    #[test]
    fn a_policy_reads_as_rows_and_a_change_stands_out() {
        let old = Policy::parse(POLICY).unwrap();
        let rows = benefit_table(&old);
        let find = |item: &str| rows.iter().find(|r| r.item.zh == item).map(|r| r.value.zh.clone());
        assert!(find("年度统筹基金最高支付限额").is_some_and(|v| v.ends_with(" 元")), "{rows:?}");
        assert!(find("起付线 · 三级").as_deref() == Some("900.00 元"), "{rows:?}");
        assert!(rows.iter().all(|r| !r.value.zh.is_empty() && !r.value.en.is_empty()));
        assert!(
            rows.iter().all(|r| !r.item.en.contains('，') && !r.value.en.contains('，')),
            "English without Chinese commas"
        );

        let mut new = old.clone();
        new.annual_cap = Fen::from_yuan(500_000);
        new.outpatient.special.clear();
        let compared = compare(&benefit_table(&new), &rows);
        let changed: Vec<_> =
            compared.iter().filter(|c| c.change == Change::Changed).map(|c| c.item.zh.as_str()).collect();
        assert_eq!(changed, ["年度统筹基金最高支付限额"]);
        assert_eq!(
            compared.iter().filter(|c| c.change == Change::Removed).count(),
            old.outpatient.special.len(),
            "the illnesses no longer covered are shown as removed"
        );
        assert!(compare(&rows, &rows).iter().all(|c| c.change == Change::Same));
    }

    #[test]
    fn rows_of_the_same_scope_are_compared_in_order() {
        let row = |value: &str| BenefitRow {
            section: Text::new("报销比例", "ratios"),
            item: Text::new("乙类 · 三级", "B · level 3"),
            value: Text::new(value, value),
        };
        let old = [row("70%"), row("60%")];
        let compared = compare(&[row("70%"), row("65%"), row("50%")], &old);
        let changes: Vec<_> = compared.iter().map(|c| (c.change, c.before.as_ref().map(|b| b.zh.as_str()))).collect();
        assert_eq!(
            changes,
            [(Change::Same, Some("70%")), (Change::Changed, Some("60%")), (Change::Added, None)],
            "the second is compared with the other's second, not its first"
        );
        let back = compare(&old, &[row("70%")]);
        assert_eq!(back.iter().map(|c| c.change).collect::<Vec<_>>(), [Change::Same, Change::Added]);
        let gone = compare(&[row("70%")], &old);
        assert_eq!(gone.iter().map(|c| c.change).collect::<Vec<_>>(), [Change::Same, Change::Removed]);
    }
}
