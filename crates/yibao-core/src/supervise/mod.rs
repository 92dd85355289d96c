//! Supervision (智能监管): the rule base an agency keeps as data, and the check of a visit (a
//! direct settlement or a sporadic claim's stay) against it and the person's other visits.
//!
//! A rule base is one region's, one version, in TOML like a policy: every rule has a code, a
//! severity (提示 hint / 疑点 suspect / 违规 violation), its parameters and, optionally, its own
//! wording; [`RuleBase::parse`] reports every problem with its path, in Chinese and English.
//! [`check`] is pure and deterministic: the same visit, history and rules give the same hits
//! in the same order, each naming its rule, its evidence (the lines or the other visits) and
//! its wording in both languages.
//!
//! This is the engine only; where the hits are stored, shown and decided is the store's and
//! the portal's (see `docs/formats/supervision.md`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::resident_id::Sex;

pub mod outlier;

/// How serious a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 提示: shown, never blocks.
    Hint,
    /// 疑点: looked at by a reviewer or auditor.
    Suspect,
    /// 违规: blocks approval until cleared with a reason.
    Violation,
}

impl Severity {
    pub fn label(self) -> Text {
        match self {
            Severity::Hint => Text::new("提示", "hint"),
            Severity::Suspect => Text::new("疑点", "suspect"),
            Severity::Violation => Text::new("违规", "violation"),
        }
    }
}

/// What a rule looks for, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleKind {
    /// The same person in two stays on overlapping days (a day of discharge may be the next
    /// stay's day of admission: a transfer).
    OverlappingStays,
    /// 分解住院: admitted again within `within_days` of a discharge, with the same main
    /// diagnosis.
    SplitAdmission { within_days: u32 },
    /// 重复收费: `item` charged more than `per_day` on one day.
    RepeatCharging {
        item: String,
        #[serde(deserialize_with = "crate::adjudicate::decimal")]
        per_day: Decimal,
    },
    /// 限性别: `item` only for persons of `sex`.
    RestrictedSex { item: String, sex: Sex },
    /// 限年龄: `item` only for persons aged `min_age` to `max_age` (whole years, on the day).
    RestrictedAge { item: String, min_age: Option<u32>, max_age: Option<u32> },
    /// 挂床住院: `days` consecutive days of a stay charged only `bed_items` (bed, nursing).
    BedWithoutTreatment { days: u32, bed_items: Vec<String> },
    /// 超量开药: `item` (a drug) charged for more days of supply than the visit allows, at
    /// `daily_dose` units a day: `outpatient_days` for an outpatient visit, the stay's days
    /// plus `discharge_days` (take-home medicine) for a stay.
    OverQuantity {
        item: String,
        #[serde(deserialize_with = "crate::adjudicate::decimal")]
        daily_dose: Decimal,
        outpatient_days: u32,
        discharge_days: u32,
    },
    /// 频繁就诊: more than `max` visits (any kind, anywhere) in `within_days` days ending
    /// with the visit's first day; with an `item` (an examination), more than `max` visits
    /// charging that item (重复检查).
    Frequency {
        max: u32,
        within_days: u32,
        #[serde(default)]
        item: Option<String>,
    },
    /// 重复报销: an invoice of the visit's institution that another visit of the person in
    /// the last `within_days` days also shows (its number compared as [`invoice_key`] writes
    /// it: spacing, case, a leading "No." and leading zeros do not count), or another visit at
    /// the same institution with the same first and last day (the same stay paid twice: a
    /// direct settlement and a claim, or a reissued invoice). The exact same number is
    /// already refused at intake; this finds what that cannot.
    DuplicateInvoice { within_days: u32 },
    /// 限性别 / 限年龄 as the catalog says: a line whose catalog entry is limited to one sex
    /// or to some ages, charged for someone else.
    CatalogLimits,
    /// 异常机构: an institution whose `measure` for a diagnosis group is more than `threshold`
    /// robust deviations from its peers of the same grade ([`outlier::outliers`]); found over
    /// a period by a re-check, not on one visit.
    Outlier {
        measure: outlier::Measure,
        #[serde(deserialize_with = "crate::adjudicate::decimal")]
        threshold: Decimal,
        min_cases: u32,
        min_peers: u32,
    },
}

/// One rule of a rule base. (Unknown keys are refused by its kind, which receives every key
/// the rule itself does not take.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub code: String,
    pub severity: Severity,
    #[serde(flatten)]
    pub kind: RuleKind,
    /// The rule's own wording, replacing the default one.
    #[serde(default)]
    pub zh: Option<String>,
    #[serde(default)]
    pub en: Option<String>,
    /// A violation that 2304 refuses to settle until the hospital corrects the visit (a
    /// wrong fee line); every other hit is stored with the settlement for the auditor, and
    /// the person is settled.
    #[serde(default)]
    pub blocks_settlement: bool,
}

/// One region's rule base, one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBase {
    /// The division code of the region it applies in.
    pub region: String,
    pub version: u32,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A problem of a rule base document, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: String,
    pub message: Text,
}

fn problem(path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> RuleError {
    RuleError { path: path.into(), message: Text::new(zh, en) }
}

impl RuleBase {
    /// Parses and validates a rule base document: every problem, each with its path.
    pub fn parse(text: &str) -> Result<RuleBase, Vec<RuleError>> {
        let base: RuleBase = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            vec![problem(
                "",
                format!("规则库格式有误：{message}"),
                format!("the rule base is not valid TOML: {message}"),
            )]
        })?;
        let errors = base.problems();
        if errors.is_empty() {
            Ok(base)
        } else {
            Err(errors)
        }
    }

    /// How many days before a visit its rules look at the person's other visits: none when no
    /// rule does (then they need not be read), 0 for overlapping stays only.
    pub fn history_window(&self) -> Option<u32> {
        self.rules
            .iter()
            .filter_map(|r| match &r.kind {
                RuleKind::OverlappingStays => Some(0),
                RuleKind::SplitAdmission { within_days }
                | RuleKind::Frequency { within_days, .. }
                | RuleKind::DuplicateInvoice { within_days } => Some(*within_days),
                _ => None,
            })
            .max()
    }

    /// Whether a rule compares the invoices of the person's other visits.
    pub fn compares_invoices(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.kind, RuleKind::DuplicateInvoice { .. }))
    }

    /// The items whose lines a rule counts across the person's visits (the other visits need
    /// no other lines).
    pub fn items_across_visits(&self) -> Vec<String> {
        let items: BTreeSet<&String> = self
            .rules
            .iter()
            .filter_map(|r| match &r.kind {
                RuleKind::Frequency { item, .. } => item.as_ref(),
                _ => None,
            })
            .collect();
        items.into_iter().cloned().collect()
    }

    fn problems(&self) -> Vec<RuleError> {
        let mut errors = Vec::new();
        if self.region.parse::<crate::AdminCode>().is_err() {
            errors.push(problem("region", "地区代码应为 6 位行政区划代码", "region must be a six-digit division code"));
        }
        if self.version == 0 {
            errors.push(problem("version", "版本号从 1 开始", "versions start at 1"));
        }
        let mut codes = BTreeSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{i}].{field}");
            if rule.code.trim().is_empty() {
                errors.push(problem(at("code"), "请填写规则编码", "give the rule a code"));
            } else if !codes.insert(rule.code.as_str()) {
                errors.push(problem(at("code"), "规则编码重复", "the rule code is used twice"));
            }
            if rule.blocks_settlement && rule.severity != Severity::Violation {
                errors.push(problem(
                    at("blocks_settlement"),
                    "只有违规级规则可以阻止结算",
                    "only a violation may block a settlement",
                ));
            }
            let item_missing = |item: &str| item.trim().is_empty();
            match &rule.kind {
                RuleKind::OverlappingStays | RuleKind::CatalogLimits => {}
                RuleKind::Outlier { threshold, min_cases, min_peers, .. } => {
                    if *threshold <= Decimal::ONE {
                        errors.push(problem(at("threshold"), "阈值应大于 1", "the threshold must be above 1"));
                    }
                    if *min_cases == 0 {
                        errors.push(problem(at("min_cases"), "最少例数应大于 0", "the least cases must be above 0"));
                    }
                    if *min_peers < 3 {
                        errors.push(problem(
                            at("min_peers"),
                            "至少与 3 家机构比较",
                            "compare with at least 3 institutions",
                        ));
                    }
                }
                RuleKind::SplitAdmission { within_days } => {
                    if !(1..=365).contains(within_days) {
                        errors.push(problem(at("within_days"), "天数应在 1–365 之间", "days must be 1 to 365"));
                    }
                }
                RuleKind::RepeatCharging { item, per_day } => {
                    if item_missing(item) {
                        errors.push(problem(at("item"), "请填写项目编码", "give the item's code"));
                    }
                    if *per_day <= Decimal::ZERO {
                        errors.push(problem(at("per_day"), "每日限量应大于 0", "the daily limit must be above 0"));
                    }
                }
                RuleKind::RestrictedSex { item, .. } => {
                    if item_missing(item) {
                        errors.push(problem(at("item"), "请填写项目编码", "give the item's code"));
                    }
                }
                RuleKind::RestrictedAge { item, min_age, max_age } => {
                    if item_missing(item) {
                        errors.push(problem(at("item"), "请填写项目编码", "give the item's code"));
                    }
                    match (min_age, max_age) {
                        (None, None) => errors.push(problem(
                            at("min_age"),
                            "限年龄规则须至少给出最小或最大年龄",
                            "an age rule needs a least or a greatest age",
                        )),
                        (Some(lo), Some(hi)) if lo > hi => errors.push(problem(
                            at("max_age"),
                            "最大年龄不能小于最小年龄",
                            "the greatest age cannot be below the least",
                        )),
                        _ => {}
                    }
                }
                RuleKind::OverQuantity { item, daily_dose, outpatient_days, discharge_days } => {
                    if item_missing(item) {
                        errors.push(problem(at("item"), "请填写药品编码", "give the drug's code"));
                    }
                    if *daily_dose <= Decimal::ZERO {
                        errors.push(problem(at("daily_dose"), "日用量应大于 0", "the daily dose must be above 0"));
                    }
                    if !(1..=90).contains(outpatient_days) {
                        errors.push(problem(
                            at("outpatient_days"),
                            "门诊天数应在 1–90 之间",
                            "outpatient days: 1 to 90",
                        ));
                    }
                    if *discharge_days > 30 {
                        errors.push(problem(
                            at("discharge_days"),
                            "出院带药天数最多 30 天",
                            "discharge days: at most 30",
                        ));
                    }
                }
                RuleKind::DuplicateInvoice { within_days } => {
                    if !(1..=730).contains(within_days) {
                        errors.push(problem(at("within_days"), "天数应在 1–730 之间", "days must be 1 to 730"));
                    }
                }
                RuleKind::Frequency { max, within_days, item } => {
                    if item.as_deref().is_some_and(item_missing) {
                        errors.push(problem(at("item"), "请填写项目编码", "give the item's code"));
                    }
                    if *max == 0 {
                        errors.push(problem(at("max"), "次数应大于 0", "the count must be above 0"));
                    }
                    if !(1..=365).contains(within_days) {
                        errors.push(problem(at("within_days"), "天数应在 1–365 之间", "days must be 1 to 365"));
                    }
                }
                RuleKind::BedWithoutTreatment { days, bed_items } => {
                    if !(1..=60).contains(days) {
                        errors.push(problem(at("days"), "天数应在 1–60 之间", "days must be 1 to 60"));
                    }
                    if bed_items.is_empty() || bed_items.iter().any(|i| item_missing(i)) {
                        errors.push(problem(
                            at("bed_items"),
                            "请列出床位、护理项目编码",
                            "list the bed and nursing items",
                        ));
                    }
                }
            }
        }
        errors
    }
}

/// A fee line of a visit, as supervision sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitLine {
    /// The line's number in its visit (费用明细流水号).
    pub sn: String,
    /// The national catalog code.
    pub item: String,
    pub day: NaiveDate,
    pub quantity: Decimal,
    /// The catalog's limits on who the item is for (限性别 / 限年龄), where it has any.
    #[serde(default)]
    pub limits: Option<crate::catalog::PersonLimits>,
}

/// A visit: a direct settlement or a sporadic claim's stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// The settlement's or claim's number.
    pub id: String,
    pub person_id: i64,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub institution: String,
    pub inpatient: bool,
    pub admitted: NaiveDate,
    pub discharged: NaiveDate,
    /// ICD-10 code of the main diagnosis.
    pub main_diagnosis: String,
    /// The visit's lines; of the person's other visits, only the items a rule counts across
    /// visits ([`RuleBase::items_across_visits`]).
    pub lines: Vec<VisitLine>,
    /// The invoices (票据) the visit was paid on, where known: a claim's, or a direct
    /// settlement's own number.
    #[serde(default)]
    pub invoices: Vec<Invoice>,
}

/// An invoice a visit was paid on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The institution that issued it.
    pub institution: String,
    pub number: String,
}

/// An invoice number as compared for duplicates: letters and digits only, upper case, without
/// a leading "NO" or leading zeros ("No. 0012345" and "12345" are the same invoice).
pub fn invoice_key(number: &str) -> String {
    let plain: String = number.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    plain.strip_prefix("NO").unwrap_or(&plain).trim_start_matches('0').to_string()
}

/// What a hit points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "of", content = "ids", rename_all = "snake_case")]
pub enum Evidence {
    /// Lines of the visit checked, by number.
    Lines(Vec<String>),
    /// Other visits of the person, by number.
    Visits(Vec<String>),
}

/// One rule's finding on one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub rule: String,
    pub severity: Severity,
    pub visit: String,
    pub evidence: Evidence,
    pub message: Text,
    /// The rule keeps 2304 from settling the visit.
    pub blocks_settlement: bool,
}

/// Whole years of age on `day`.
fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Whether an item with `limits` is for a person of `sex` aged `age`.
fn limits_allow(limits: &crate::catalog::PersonLimits, sex: Sex, age: u32) -> bool {
    limits.sex.is_none_or(|s| s == sex)
        && limits.min_age.is_none_or(|m| age >= m)
        && limits.max_age.is_none_or(|m| age <= m)
}

/// The hits of `rules` on `visit`, given the person's `others` visits (any order; the visit
/// itself among them is ignored). Ordered by rule, then by evidence.
pub fn check(rules: &RuleBase, visit: &Visit, others: &[Visit]) -> Vec<Hit> {
    let visits: Vec<&Visit> = others.iter().filter(|o| o.id != visit.id && o.person_id == visit.person_id).collect();
    let others: Vec<&Visit> = visits.iter().copied().filter(|o| o.inpatient).collect();
    let mut hits = Vec::new();
    for rule in &rules.rules {
        let mut hit = |evidence: Evidence, zh: String, en: String| {
            let message = Text::new(rule.zh.clone().unwrap_or(zh), rule.en.clone().unwrap_or(en));
            hits.push(Hit {
                rule: rule.code.clone(),
                severity: rule.severity,
                visit: visit.id.clone(),
                evidence,
                message,
                blocks_settlement: rule.blocks_settlement,
            });
        };
        match &rule.kind {
            RuleKind::OverlappingStays if visit.inpatient => {
                let mut overlapping: Vec<&Visit> = others
                    .iter()
                    .copied()
                    .filter(|o| o.admitted < visit.discharged && visit.admitted < o.discharged)
                    .collect();
                overlapping.sort_by(|a, b| a.id.cmp(&b.id));
                if !overlapping.is_empty() {
                    let names: Vec<String> =
                        overlapping.iter().map(|o| format!("{}（{}）", o.id, o.institution)).collect();
                    hit(
                        Evidence::Visits(overlapping.iter().map(|o| o.id.clone()).collect()),
                        format!("同一时段另有住院：{}", names.join("、")),
                        format!("in another stay on the same days: {}", names.join(", ")),
                    );
                }
            }
            RuleKind::OverlappingStays => {}
            RuleKind::SplitAdmission { within_days } if visit.inpatient => {
                let mut before: Vec<&Visit> = others
                    .iter()
                    .copied()
                    .filter(|o| {
                        o.discharged <= visit.admitted
                            && (visit.admitted - o.discharged).num_days() <= i64::from(*within_days)
                            && o.main_diagnosis == visit.main_diagnosis
                    })
                    .collect();
                before.sort_by(|a, b| a.id.cmp(&b.id));
                if let Some(last) = before.iter().max_by_key(|o| o.discharged) {
                    let gap = (visit.admitted - last.discharged).num_days();
                    hit(
                        Evidence::Visits(before.iter().map(|o| o.id.clone()).collect()),
                        format!(
                            "出院 {gap} 天后以相同主诊断（{}）再次入院（上次 {}），疑似分解住院",
                            visit.main_diagnosis, last.id
                        ),
                        format!(
                            "admitted again {gap} days after a discharge with the same main diagnosis ({}, last {}): a split admission?",
                            visit.main_diagnosis, last.id
                        ),
                    );
                }
            }
            RuleKind::SplitAdmission { .. } => {}
            RuleKind::RepeatCharging { item, per_day } => {
                let mut by_day: BTreeMap<NaiveDate, (Decimal, Vec<String>)> = BTreeMap::new();
                for line in visit.lines.iter().filter(|l| &l.item == item) {
                    let e = by_day.entry(line.day).or_default();
                    e.0 += line.quantity;
                    e.1.push(line.sn.clone());
                }
                for (day, (quantity, sns)) in by_day {
                    if quantity > *per_day {
                        hit(
                            Evidence::Lines(sns),
                            format!("{day} 收费 {item} 共 {quantity} 次，超过每日 {per_day} 次"),
                            format!("{item} charged {quantity} times on {day}, above {per_day} a day"),
                        );
                    }
                }
            }
            RuleKind::RestrictedSex { item, sex } => {
                let sns: Vec<String> = visit.lines.iter().filter(|l| &l.item == item).map(|l| l.sn.clone()).collect();
                if visit.sex != *sex && !sns.is_empty() {
                    let (zh, en) = match sex {
                        Sex::Male => ("男性", "men"),
                        Sex::Female => ("女性", "women"),
                    };
                    hit(Evidence::Lines(sns), format!("{item} 限{zh}使用"), format!("{item} is for {en} only"));
                }
            }
            RuleKind::RestrictedAge { item, min_age, max_age } => {
                let sns: Vec<String> = visit
                    .lines
                    .iter()
                    .filter(|l| &l.item == item)
                    .filter(|l| {
                        let age = age_on(visit.birth_date, l.day);
                        min_age.is_some_and(|m| age < m) || max_age.is_some_and(|m| age > m)
                    })
                    .map(|l| l.sn.clone())
                    .collect();
                if !sns.is_empty() {
                    let range = match (min_age, max_age) {
                        (Some(lo), Some(hi)) => (format!("{lo}–{hi} 岁"), format!("aged {lo} to {hi}")),
                        (Some(lo), None) => (format!("{lo} 岁及以上"), format!("aged {lo} and over")),
                        (None, Some(hi)) => (format!("{hi} 岁及以下"), format!("aged {hi} and under")),
                        (None, None) => (String::new(), String::new()),
                    };
                    hit(
                        Evidence::Lines(sns),
                        format!("{item} 限{}使用", range.0),
                        format!("{item} is for persons {} only", range.1),
                    );
                }
            }
            RuleKind::BedWithoutTreatment { days, bed_items } if visit.inpatient => {
                let mut by_day: BTreeMap<NaiveDate, (bool, Vec<String>)> = BTreeMap::new();
                for line in &visit.lines {
                    let e = by_day.entry(line.day).or_insert((true, Vec::new()));
                    e.0 &= bed_items.contains(&line.item);
                    e.1.push(line.sn.clone());
                }
                // The longest run of consecutive bed-only days.
                let mut run: Vec<(NaiveDate, Vec<String>)> = Vec::new();
                let mut longest: Vec<(NaiveDate, Vec<String>)> = Vec::new();
                for (day, (bed_only, sns)) in by_day {
                    let follows = run.last().is_some_and(|(d, _)| d.succ_opt() == Some(day));
                    if !bed_only {
                        run.clear();
                        continue;
                    }
                    if !follows {
                        run.clear();
                    }
                    run.push((day, sns));
                    if run.len() > longest.len() {
                        longest = run.clone();
                    }
                }
                if longest.len() >= *days as usize {
                    let (first, last) = (longest[0].0, longest[longest.len() - 1].0);
                    let n = longest.len();
                    hit(
                        Evidence::Lines(longest.into_iter().flat_map(|(_, sns)| sns).collect()),
                        format!("{first} 至 {last} 连续 {n} 天只收床位、护理费，疑似挂床住院"),
                        format!("only bed and nursing charged for {n} days in a row, {first} to {last}: a bed without treatment?"),
                    );
                }
            }
            RuleKind::BedWithoutTreatment { .. } => {}
            RuleKind::OverQuantity { item, daily_dose, outpatient_days, discharge_days } => {
                let lines: Vec<&VisitLine> = visit.lines.iter().filter(|l| &l.item == item).collect();
                let quantity: Decimal = lines.iter().map(|l| l.quantity).sum();
                let allowed = if visit.inpatient {
                    (visit.discharged - visit.admitted).num_days().max(1) + i64::from(*discharge_days)
                } else {
                    i64::from(*outpatient_days)
                };
                let supply = quantity / *daily_dose;
                if !lines.is_empty() && supply > Decimal::from(allowed) {
                    let supply = supply.round_dp(1).normalize();
                    hit(
                        Evidence::Lines(lines.iter().map(|l| l.sn.clone()).collect()),
                        format!("{item} 共开 {quantity}，按日用量 {daily_dose} 可用 {supply} 天，超过本次就诊限 {allowed} 天"),
                        format!("{item}: {quantity} units, {supply} days at {daily_dose} a day, above the {allowed} days this visit allows"),
                    );
                }
            }
            // Over a period, not one visit: see `outlier::outliers`.
            RuleKind::Outlier { .. } => {}
            RuleKind::CatalogLimits => {
                let mut outside: Vec<&VisitLine> = visit
                    .lines
                    .iter()
                    .filter(|l| l.limits.is_some_and(|m| !limits_allow(&m, visit.sex, age_on(visit.birth_date, l.day))))
                    .collect();
                outside.sort_by(|a, b| a.sn.cmp(&b.sn));
                if !outside.is_empty() {
                    let items: Vec<&str> =
                        outside.iter().map(|l| l.item.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
                    hit(
                        Evidence::Lines(outside.iter().map(|l| l.sn.clone()).collect()),
                        format!("目录限定性别或年龄的项目用于不符合条件的参保人：{}", items.join("、")),
                        format!(
                            "items the catalog limits by sex or age charged for someone else: {}",
                            items.join(", ")
                        ),
                    );
                }
            }
            RuleKind::Frequency { max, within_days, item } => {
                let charges = |v: &Visit| item.as_ref().is_none_or(|i| v.lines.iter().any(|l| &l.item == i));
                let since = visit.admitted - chrono::Duration::days(i64::from(*within_days) - 1);
                let mut recent: Vec<&Visit> = visits
                    .iter()
                    .copied()
                    .filter(|o| o.admitted >= since && o.admitted <= visit.admitted && charges(o))
                    .collect();
                if charges(visit) && recent.len() + 1 > *max as usize {
                    recent.sort_by(|a, b| (a.admitted, &a.id).cmp(&(b.admitted, &b.id)));
                    let n = recent.len() + 1;
                    let (zh, en) = match item {
                        Some(item) => (
                            format!("{within_days} 天内 {n} 次就诊均收取检查 {item}，超过 {max} 次，疑似重复检查"),
                            format!("{item} charged on {n} visits in {within_days} days, above {max}: a repeated examination?"),
                        ),
                        None => (
                            format!("{within_days} 天内就诊 {n} 次，超过 {max} 次"),
                            format!("{n} visits in {within_days} days, above {max}"),
                        ),
                    };
                    hit(Evidence::Visits(recent.iter().map(|o| o.id.clone()).collect()), zh, en);
                }
            }
            RuleKind::DuplicateInvoice { within_days } => {
                let since = visit.admitted - chrono::Duration::days(i64::from(*within_days));
                let mine: BTreeSet<(String, String)> =
                    visit.invoices.iter().map(|i| (i.institution.clone(), invoice_key(&i.number))).collect();
                let mut found: Vec<(&Visit, Option<String>)> = visits
                    .iter()
                    .copied()
                    .filter(|o| o.discharged >= since)
                    .filter_map(|o| {
                        let shared = o
                            .invoices
                            .iter()
                            .find(|i| mine.contains(&(i.institution.clone(), invoice_key(&i.number))))
                            .map(|i| i.number.clone());
                        let same_stay = o.institution == visit.institution
                            && o.inpatient == visit.inpatient
                            && (o.admitted, o.discharged) == (visit.admitted, visit.discharged);
                        (shared.is_some() || same_stay).then_some((o, shared))
                    })
                    .collect();
                found.sort_by(|a, b| a.0.id.cmp(&b.0.id));
                if !found.is_empty() {
                    let named = |(o, number): &(&Visit, Option<String>), zh: bool| match (number, zh) {
                        (Some(n), true) => format!("{}（票据 {n}）", o.id),
                        (Some(n), false) => format!("{} (invoice {n})", o.id),
                        (None, true) => format!("{}（同一次就诊）", o.id),
                        (None, false) => format!("{} (the same visit)", o.id),
                    };
                    let zh: Vec<String> = found.iter().map(|f| named(f, true)).collect();
                    let en: Vec<String> = found.iter().map(|f| named(f, false)).collect();
                    hit(
                        Evidence::Visits(found.iter().map(|(o, _)| o.id.clone()).collect()),
                        format!("疑似重复报销，已在 {} 中报销", zh.join("、")),
                        format!("paid twice? already paid on {}", en.join(", ")),
                    );
                }
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests;
