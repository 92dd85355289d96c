//! Outliers (异常机构): an institution whose cost per case or length of stay for a diagnosis
//! group is far from its peers of the same grade. Not a check of one visit: it looks at a
//! period's stays of every institution at once (a re-check runs it).
//!
//! The statistic is robust and exact: each institution's median for the group, then the
//! median of those medians and their median absolute deviation (MAD) across the peers; an
//! institution is an outlier when its distance from the peers' median is above `threshold`
//! times 1.4826 × MAD (the modified z-score; 1.4826 makes the MAD estimate a standard
//! deviation for normal data; where the MAD is zero, 1.2533 × the mean absolute deviation). Decimal arithmetic throughout: the same stays always give the
//! same findings.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::i18n::Text;
use crate::money::Fen;
use crate::registry::HospitalGrade;

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// 次均费用: the charges of a stay.
    CostPerCase,
    /// 平均住院日: the days of a stay.
    LengthOfStay,
}

impl Measure {
    pub fn label(self) -> Text {
        match self {
            Measure::CostPerCase => Text::new("次均费用", "cost per case"),
            Measure::LengthOfStay => Text::new("住院天数", "length of stay"),
        }
    }
}

/// One stay, as the outlier rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub institution: String,
    pub grade: HospitalGrade,
    /// The main diagnosis's ICD-10 category (its first three characters).
    pub group: String,
    pub cost: Fen,
    pub days: i64,
}

/// An institution found far from its peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outlier {
    pub institution: String,
    pub grade: HospitalGrade,
    pub group: String,
    pub measure: Measure,
    /// The institution's median, its peers' median (yuan or days), and how many cases and
    /// peers it rests on.
    pub value: Decimal,
    pub peers_median: Decimal,
    pub score: Decimal,
    pub cases: usize,
    pub peers: usize,
    pub message: Text,
}

/// The median of a non-empty, sorted slice (the mean of the middle two for an even count).
fn median(sorted: &[Decimal]) -> Decimal {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO
    }
}

/// 1.4826: a MAD times this estimates a standard deviation.
fn consistency() -> Decimal {
    Decimal::new(14826, 4)
}

/// The outliers among `cases` by `measure`: per grade and diagnosis group, institutions with at
/// least `min_cases` stays, compared when at least `min_peers` institutions (themselves
/// included) qualify. Ordered by grade, group, institution.
pub fn outliers(
    cases: &[Case],
    measure: Measure,
    threshold: Decimal,
    min_cases: usize,
    min_peers: usize,
) -> Vec<Outlier> {
    // By grade (its code, to order by) and group: the grade, and each institution's values.
    type Institutions<'a> = BTreeMap<&'a str, Vec<Decimal>>;
    let mut by: BTreeMap<(&'static str, &str), (HospitalGrade, Institutions)> = BTreeMap::new();
    for c in cases {
        let v = match measure {
            Measure::CostPerCase => Decimal::new(c.cost.fen(), 2),
            Measure::LengthOfStay => Decimal::from(c.days.max(1)),
        };
        let (_, institutions) =
            by.entry((c.grade.code(), c.group.as_str())).or_insert_with(|| (c.grade, BTreeMap::new()));
        institutions.entry(c.institution.as_str()).or_default().push(v);
    }
    let mut out = Vec::new();
    for ((_, group), (grade, institutions)) in by {
        let mut medians: Vec<(&str, Decimal, usize)> = institutions
            .into_iter()
            .filter(|(_, v)| v.len() >= min_cases)
            .map(|(i, mut v)| {
                v.sort();
                (i, median(&v), v.len())
            })
            .collect();
        if medians.len() < min_peers.max(3) {
            continue;
        }
        medians.sort_by(|a, b| a.0.cmp(b.0));
        let mut values: Vec<Decimal> = medians.iter().map(|m| m.1).collect();
        values.sort();
        let center = median(&values);
        let mut deviations: Vec<Decimal> = values.iter().map(|v| (*v - center).abs()).collect();
        deviations.sort();
        // Where more than half the peers agree exactly the MAD is zero: the mean absolute
        // deviation (times 1.2533) stands in for it, as Iglewicz and Hoaglin advise.
        let mad = median(&deviations);
        let scale = if mad.is_zero() {
            let mean = deviations.iter().copied().sum::<Decimal>() / Decimal::from(deviations.len());
            Decimal::new(12533, 4) * mean
        } else {
            consistency() * mad
        };
        if scale.is_zero() {
            continue;
        }
        for (institution, value, n) in &medians {
            let raw = (*value - center) / scale;
            if raw.abs() <= threshold {
                continue;
            }
            let score = raw.round_dp(2);
            let (unit_zh, unit_en) = match measure {
                Measure::CostPerCase => ("元", "yuan"),
                Measure::LengthOfStay => ("天", "days"),
            };
            let (v, c) = (value.round_dp(2).normalize(), center.round_dp(2).normalize());
            let label = measure.label();
            out.push(Outlier {
                institution: institution.to_string(),
                grade,
                group: group.to_string(),
                measure,
                value: *value,
                peers_median: center,
                score,
                cases: *n,
                peers: medians.len(),
                message: Text::new(
                    format!(
                        "{institution} 在 {group} 类诊断的{}为 {v} {unit_zh}（{n} 例），同级 {} 家机构中位数 {c} {unit_zh}，偏离 {score} 个稳健标准差",
                        label.zh,
                        medians.len()
                    ),
                    format!(
                        "{institution}: {} of {v} {unit_en} for {group} ({n} cases) against a median of {c} {unit_en} among {} peers of its grade, {score} robust deviations away",
                        label.en,
                        medians.len()
                    ),
                ),
            });
        }
    }
    out
}

crate::registry::coded_enum!(
    /// What follows a confirmed institution finding.
    FollowUp, "follow_up" {
        Nothing = "none", "无需进一步处理", "Nothing more";
        Interview = "interview", "约谈机构", "Interview the institution";
        Inspection = "inspection", "专项检查", "Special inspection";
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(institution: &str, grade: HospitalGrade, costs: &[i64]) -> Vec<Case> {
        costs
            .iter()
            .map(|&yuan| Case {
                institution: institution.into(),
                grade,
                group: "K80".into(),
                cost: Fen::from_yuan(yuan),
                days: 5,
            })
            .collect()
    }

    fn peers(far: i64) -> Vec<Case> {
        let g = HospitalGrade::Level3;
        [
            cases("H1", g, &[9_000, 10_000, 11_000]),
            cases("H2", g, &[9_500, 10_500, 10_000]),
            cases("H3", g, &[10_200, 9_800, 10_400]),
            cases("H4", g, &[10_800, 11_200, 11_000]),
            cases("H5", g, &[far, far, far]),
        ]
        .concat()
    }

    #[test]
    fn an_institution_far_from_its_peers_is_found_and_the_nearest_case_is_not() {
        let found = outliers(&peers(30_000), Measure::CostPerCase, Decimal::new(35, 1), 3, 3);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].institution.as_str(), found[0].group.as_str(), found[0].cases), ("H5", "K80", 3));
        assert_eq!(found[0].peers_median, Decimal::from(10_200));
        assert!(found[0].message.zh.contains("H5") && found[0].message.en.contains("robust deviations"));
        // The peers' medians are 10,000, 10,000, 10,200, 11,000: their median 10,200, the MAD
        // 200, so the line is at 10,200 + 3.5 × 1.4826 × 200 = 11,237.82.
        assert!(outliers(&peers(11_237), Measure::CostPerCase, Decimal::new(35, 1), 3, 3).is_empty());
        assert_eq!(outliers(&peers(11_238), Measure::CostPerCase, Decimal::new(35, 1), 3, 3).len(), 1);
    }

    #[test]
    fn too_few_cases_or_peers_or_another_grade_are_not_compared() {
        let few = outliers(&peers(30_000), Measure::CostPerCase, Decimal::new(35, 1), 4, 3);
        assert!(few.is_empty(), "three cases each are too few");
        let mut mixed = peers(30_000);
        for c in mixed.iter_mut().filter(|c| c.institution == "H5") {
            c.grade = HospitalGrade::Level2;
        }
        let found = outliers(&mixed, Measure::CostPerCase, Decimal::new(35, 1), 3, 3);
        assert!(found.iter().all(|o| o.institution != "H5"), "no level-2 peers: {found:?}");
        let days = outliers(&peers(30_000), Measure::LengthOfStay, Decimal::new(35, 1), 3, 3);
        assert!(days.is_empty(), "the same days everywhere");
        // Most peers agree exactly (a MAD of zero): the mean deviation stands in.
        let g = HospitalGrade::Level3;
        let agreeing = [
            cases("H1", g, &[400, 400]),
            cases("H2", g, &[400, 400]),
            cases("H3", g, &[400, 400]),
            cases("H4", g, &[400, 400]),
            cases("H5", g, &[4_000, 4_000]),
        ]
        .concat();
        // Deviations 0, 0, 0, 0, 3,600: a mean of 720, a scale of 902.38, H5 3.99 away.
        let found = outliers(&agreeing, Measure::CostPerCase, Decimal::new(35, 1), 2, 3);
        assert_eq!(
            found.iter().map(|o| (o.institution.as_str(), o.score)).collect::<Vec<_>>(),
            [("H5", Decimal::new(399, 2))]
        );
        assert_eq!(
            outliers(&peers(30_000), Measure::CostPerCase, Decimal::new(35, 1), 3, 3),
            outliers(&peers(30_000), Measure::CostPerCase, Decimal::new(35, 1), 3, 3)
        );
    }
}
