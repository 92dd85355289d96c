//! Contributions (缴费): what employers, flexible workers and residents pay, and what the
//! individual account is credited with, as one region's versioned rules for an insurance
//! year (`docs/formats/contributions.md`).
//!
//! A rules document is TOML, validated like a benefit policy: every problem with its path,
//! in Chinese and English. The computations are pure and exact: a base is clamped to the
//! year's floor and ceiling (percentages of the average wage), each part of a bill is the
//! base times its rate rounded half up to the fen, once; an account credit is the rule of
//! the person's age band, explained. Whether a person is covered on a day given the months
//! paid is [`months::standing`].

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::money::Fen;
use crate::policy::PolicyError;
use crate::ratio::Ratio;
use crate::registry::PersonCategory;

pub mod declaration;
pub mod months;
pub mod withdrawal;

/// One region's contribution rules for one insurance year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionRules {
    /// The division code of the pooling region.
    pub region: String,
    pub year: i32,
    pub version: u32,
    pub name: String,
    pub employee: EmployeeRules,
    pub flexible: FlexibleRules,
    pub resident: ResidentRules,
    pub arrears: ArrearsRules,
    pub account: AccountRules,
}

/// Employees of units: the base and the two parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRules {
    /// The region's average monthly wage of the year before (上年度职工月平均工资), yuan.
    pub average_wage: Fen,
    /// The least base, in percent of the average wage (e.g. 60).
    pub base_floor_percent: u32,
    /// The greatest base, in percent of the average wage (e.g. 300).
    pub base_ceiling_percent: u32,
    /// The unit's part (e.g. "0.068").
    pub employer_rate: Ratio,
    /// The employee's part, withheld from the wage (e.g. "0.02").
    pub employee_rate: Ratio,
}

/// Flexible workers (灵活就业人员) choose a base and pay the whole rate themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexibleRules {
    /// The bases they may choose, in percent of the average wage (e.g. [60, 100]).
    pub base_percents: Vec<u32>,
    pub rate: Ratio,
    /// Days a first-time flexible worker waits after the first payment before cover starts.
    pub first_waiting_days: u32,
}

/// Residents pay once a year in the collection period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentRules {
    /// The first and last day on which this year's contribution is collected (usually
    /// September to December of the year before).
    pub collection_from: NaiveDate,
    pub collection_to: NaiveDate,
    /// Days a resident who pays after the collection period waits before cover starts.
    pub late_waiting_days: u32,
    pub amounts: Vec<ResidentAmount>,
}

/// What a resident of a category pays for the year, and what the government adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentAmount {
    pub category: PersonCategory,
    /// The person's own part (个人缴费).
    pub personal: Fen,
    /// The government's subsidy (财政补助), shown beside it.
    pub subsidy: Fen,
}

/// Months not paid, and how cover comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrearsRules {
    /// Months a monthly contributor may be behind and still be covered (宽限期).
    pub grace_months: u32,
    /// Days of waiting (待遇等待期) after a payment that ends an interruption longer than
    /// the grace.
    pub waiting_days: u32,
    /// Whether arrears paid late cover the months they are for (`back_dated`) or only count
    /// for the future (`from_payment`: the months stay uncovered, and the waiting applies).
    pub restore: Restore,
}

/// How paying arrears restores cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restore {
    BackDated,
    FromPayment,
}

/// How the individual account is credited each month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRules {
    /// In service: a share of their own part plus a share of the base, by age band.
    pub employee: Vec<EmployeeBand>,
    /// Retired: a fixed amount a month, by age band.
    pub retiree: Vec<RetireeBand>,
    /// The withdrawals the region allows (`window`, `leaving_region`, `death`); none when
    /// not given.
    #[serde(default)]
    pub withdrawals: Vec<withdrawal::WithdrawalReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeBand {
    pub min_age: u32,
    #[serde(default)]
    pub max_age: Option<u32>,
    pub own_share: Ratio,
    pub base_share: Ratio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetireeBand {
    pub min_age: u32,
    #[serde(default)]
    pub max_age: Option<u32>,
    pub monthly: Fen,
}

/// What a flexible worker's payment buys and costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub months: Vec<months::YearMonth>,
    pub base: Fen,
    /// Each month's contribution.
    pub monthly: Fen,
    pub amount: Fen,
}

/// The first month a flexible worker pays for now: the month after the last one paid while
/// that is within the grace (paying the arrears keeps cover continuous), else the current
/// month (a new start, after which the waiting applies).
pub fn flexible_start(
    grace_months: u32,
    last_paid: Option<months::YearMonth>,
    today: months::YearMonth,
) -> months::YearMonth {
    match last_paid {
        Some(last) if last >= today => last.plus(1),
        Some(last) if last.until(today) <= i64::from(grace_months) + 1 => last.plus(1),
        _ => today,
    }
}

/// `amount × percent / 100`, rounded half up to the fen.
pub fn percent_of(amount: Fen, percent: u32) -> Fen {
    let scaled = i128::from(amount.fen()) * i128::from(percent);
    let rounded = if scaled >= 0 { (scaled + 50) / 100 } else { (scaled - 50) / 100 };
    Fen::from_fen(i64::try_from(rounded).unwrap_or(i64::MAX))
}

/// A month's bill for one person, to the fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bill {
    /// The wage declared (employees) or the base chosen (flexible workers).
    pub declared: Fen,
    /// The base the rates apply to, after the floor and the ceiling.
    pub base: Fen,
    pub employer: Fen,
    pub employee: Fen,
    /// Why the base differs from what was declared, if it does.
    pub note: Option<Text>,
}

impl Bill {
    pub fn total(&self) -> Fen {
        self.employer.saturating_add(self.employee)
    }
}

impl EmployeeRules {
    pub fn floor(&self) -> Fen {
        percent_of(self.average_wage, self.base_floor_percent)
    }

    pub fn ceiling(&self) -> Fen {
        percent_of(self.average_wage, self.base_ceiling_percent)
    }

    /// The bill of an employee whose monthly wage is `wage`: the base is the wage held
    /// between the floor and the ceiling; each part is the base times its rate.
    pub fn bill(&self, wage: Fen) -> Bill {
        let (floor, ceiling) = (self.floor(), self.ceiling());
        let (base, note) = if wage < floor {
            let note = Text::new(
                format!("申报工资 {} 元低于缴费基数下限，按下限 {} 元缴纳", wage.to_grouped(), floor.to_grouped()),
                format!("wage {} is below the floor; the floor {} is the base", wage.to_grouped(), floor.to_grouped()),
            );
            (floor, Some(note))
        } else if wage > ceiling {
            let note = Text::new(
                format!("申报工资 {} 元高于缴费基数上限，按上限 {} 元缴纳", wage.to_grouped(), ceiling.to_grouped()),
                format!(
                    "wage {} is above the ceiling; the ceiling {} is the base",
                    wage.to_grouped(),
                    ceiling.to_grouped()
                ),
            );
            (ceiling, Some(note))
        } else {
            (wage, None)
        };
        Bill {
            declared: wage,
            base,
            employer: self.employer_rate.of(base),
            employee: self.employee_rate.of(base),
            note,
        }
    }
}

impl ContributionRules {
    /// The month's bill of a flexible worker who chose the base of `percent` of the average
    /// wage; `None` if that is not one of the choices.
    pub fn flexible_bill(&self, percent: u32) -> Option<Bill> {
        if !self.flexible.base_percents.contains(&percent) {
            return None;
        }
        let base = percent_of(self.employee.average_wage, percent);
        Some(Bill { declared: base, base, employer: Fen::ZERO, employee: self.flexible.rate.of(base), note: None })
    }

    /// What a resident of `category` pays for the year.
    pub fn resident_amount(&self, category: PersonCategory) -> Option<&ResidentAmount> {
        self.resident.amounts.iter().find(|a| a.category == category)
    }

    /// The month's credit to the account of a person of `category` aged `age` (whole years
    /// on the first of the month), given the month's bill for an employee in service; zero
    /// for residents, who have no account. With its explanation.
    pub fn account_credit(&self, category: PersonCategory, age: u32, bill: Option<&Bill>) -> (Fen, Text) {
        let in_band = |min: u32, max: Option<u32>| age >= min && max.is_none_or(|m| age <= m);
        match category {
            PersonCategory::InService => {
                let (Some(band), Some(bill)) =
                    (self.account.employee.iter().find(|b| in_band(b.min_age, b.max_age)), bill)
                else {
                    return (
                        Fen::ZERO,
                        Text::new("本月未缴费，不划入", "no contribution this month: nothing credited"),
                    );
                };
                let own = band.own_share.of(bill.employee);
                let from_base = band.base_share.of(bill.base);
                let amount = own.saturating_add(from_base);
                let text = Text::new(
                    format!(
                        "个人缴费 {} 元 × {} + 缴费基数 {} 元 × {} = {} 元（{} 岁）",
                        bill.employee.to_grouped(),
                        band.own_share.percent(),
                        bill.base.to_grouped(),
                        band.base_share.percent(),
                        amount.to_grouped(),
                        age
                    ),
                    format!(
                        "own part {} × {} + base {} × {} = {} (aged {age})",
                        bill.employee.to_grouped(),
                        band.own_share.percent(),
                        bill.base.to_grouped(),
                        band.base_share.percent(),
                        amount.to_grouped()
                    ),
                );
                (amount, text)
            }
            PersonCategory::Retired => match self.account.retiree.iter().find(|b| in_band(b.min_age, b.max_age)) {
                Some(band) => (
                    band.monthly,
                    Text::new(
                        format!("退休人员按月定额划入 {} 元（{} 岁）", band.monthly.to_grouped(), age),
                        format!("retired: a fixed {} a month (aged {age})", band.monthly.to_grouped()),
                    ),
                ),
                None => (Fen::ZERO, Text::new("无适用的年龄段", "no age band applies")),
            },
            _ => (Fen::ZERO, Text::new("居民医保不设个人账户", "residents have no individual account")),
        }
    }

    /// What a flexible worker pays for `count` months from `start` at the base of `percent`
    /// of the average wage: the months (within this year: another year's rules price its own;
    /// a month of last year still owed starts the months at this January), the base, the
    /// month's amount and the total. `None` if the base is not a choice, or no month of this
    /// year is left.
    pub fn flexible_due(&self, percent: u32, start: months::YearMonth, count: u32) -> Option<Due> {
        let bill = self.flexible_bill(percent)?;
        let start = start.max(months::YearMonth { year: self.year, month: 1 });
        let months: Vec<months::YearMonth> =
            (0..i64::from(count.clamp(1, 12))).map(|i| start.plus(i)).filter(|m| m.year == self.year).collect();
        if months.is_empty() {
            return None;
        }
        let amount = Fen::from_fen(bill.employee.fen() * months.len() as i64);
        Some(Due { months, base: bill.base, monthly: bill.employee, amount })
    }

    /// Parses and validates a rules document: every problem, with its path.
    pub fn parse(text: &str) -> Result<ContributionRules, Vec<PolicyError>> {
        let rules: ContributionRules = toml::from_str(text).map_err(|e| {
            let m = e.message().to_string();
            vec![problem(
                "",
                format!("缴费标准格式有误：{m}"),
                format!("the contribution rules are not valid TOML: {m}"),
            )]
        })?;
        let errors = rules.problems();
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }

    fn problems(&self) -> Vec<PolicyError> {
        let mut e = Vec::new();
        if self.region.parse::<crate::AdminCode>().is_err() {
            e.push(problem("region", "地区代码应为 6 位行政区划代码", "region must be a six-digit division code"));
        }
        if !(2000..=2100).contains(&self.year) {
            e.push(problem("year", "年度应在 2000–2100 之间", "the year must be 2000 to 2100"));
        }
        if self.version == 0 {
            e.push(problem("version", "版本号从 1 开始", "versions start at 1"));
        }
        if self.name.trim().is_empty() {
            e.push(problem("name", "请填写名称", "give the rules a name"));
        }
        let emp = &self.employee;
        if emp.average_wage <= Fen::ZERO {
            e.push(problem("employee.average_wage", "平均工资应大于 0", "the average wage must be above 0"));
        }
        if emp.base_floor_percent == 0 || emp.base_floor_percent > emp.base_ceiling_percent {
            e.push(problem(
                "employee.base_floor_percent",
                "基数下限应大于 0 且不高于上限",
                "the floor must be above 0 and not above the ceiling",
            ));
        }
        if emp.base_ceiling_percent > 1000 {
            e.push(problem("employee.base_ceiling_percent", "基数上限最多 1000%", "the ceiling is at most 1000 %"));
        }
        if emp.employer_rate == Ratio::ZERO && emp.employee_rate == Ratio::ZERO {
            e.push(problem("employee.employer_rate", "费率不能都为 0", "the rates cannot both be 0"));
        }
        let flex = &self.flexible;
        if flex.base_percents.is_empty() {
            e.push(problem("flexible.base_percents", "至少给出一档缴费基数", "give at least one base to choose"));
        }
        for (i, p) in flex.base_percents.iter().enumerate() {
            if *p < emp.base_floor_percent || *p > emp.base_ceiling_percent {
                e.push(problem(
                    format!("flexible.base_percents[{i}]"),
                    "灵活就业缴费基数应在职工基数上下限之间",
                    "a flexible base must lie between the employees' floor and ceiling",
                ));
            }
        }
        if flex.rate == Ratio::ZERO {
            e.push(problem("flexible.rate", "费率应大于 0", "the rate must be above 0"));
        }
        for (i, r) in self.account.withdrawals.iter().enumerate() {
            if self.account.withdrawals[..i].contains(r) {
                e.push(problem(format!("account.withdrawals[{i}]"), "支取原因重复", "the reason is listed twice"));
            }
        }
        let res = &self.resident;
        if res.collection_from > res.collection_to {
            e.push(problem("resident.collection_to", "征缴期结束早于开始", "the collection ends before it begins"));
        }
        if res.collection_to.year() > self.year {
            e.push(problem(
                "resident.collection_to",
                "本年度的征缴期应在年度结束前",
                "this year's collection must end within the year at the latest",
            ));
        }
        let mut seen = Vec::new();
        for (i, a) in res.amounts.iter().enumerate() {
            if !a.category.fits(crate::registry::Scheme::Resident) {
                e.push(problem(
                    format!("resident.amounts[{i}].category"),
                    "只能为居民类别",
                    "only resident categories",
                ));
            }
            if seen.contains(&a.category) {
                e.push(problem(format!("resident.amounts[{i}].category"), "类别重复", "the category is listed twice"));
            }
            seen.push(a.category);
            if a.personal <= Fen::ZERO || a.subsidy.is_negative() {
                e.push(problem(
                    format!("resident.amounts[{i}].personal"),
                    "个人缴费应大于 0，补助不能为负",
                    "the personal part must be above 0 and the subsidy not negative",
                ));
            }
        }
        if res.amounts.is_empty() {
            e.push(problem(
                "resident.amounts",
                "请给出各类居民的缴费标准",
                "give the amounts of the resident categories",
            ));
        }
        if self.arrears.grace_months > 12 {
            e.push(problem("arrears.grace_months", "宽限期最多 12 个月", "the grace is at most 12 months"));
        }
        if self.arrears.waiting_days > 366 || flex.first_waiting_days > 366 || res.late_waiting_days > 366 {
            e.push(problem("arrears.waiting_days", "等待期最多 366 天", "a waiting period is at most 366 days"));
        }
        let bands = |path: &str, ranges: Vec<(u32, Option<u32>)>, e: &mut Vec<PolicyError>| {
            if ranges.is_empty() {
                e.push(problem(path, "至少一个年龄段", "at least one age band"));
            }
            let mut next = 0;
            for (i, (min, max)) in ranges.iter().enumerate() {
                let last = i + 1 == ranges.len();
                if *min != next {
                    e.push(problem(
                        format!("{path}[{i}].min_age"),
                        format!("年龄段应连续，从 {next} 岁开始"),
                        format!("the bands must follow each other: this one starts at {next}"),
                    ));
                }
                match max {
                    Some(m) if m < min => e.push(problem(
                        format!("{path}[{i}].max_age"),
                        "最大年龄小于最小年龄",
                        "the greatest age is below the least",
                    )),
                    Some(m) => next = m + 1,
                    None if !last => e.push(problem(
                        format!("{path}[{i}].max_age"),
                        "只有最后一个年龄段可以不设上限",
                        "only the last band may be open-ended",
                    )),
                    None => {}
                }
                if last && max.is_some() {
                    e.push(problem(
                        format!("{path}[{i}].max_age"),
                        "最后一个年龄段不应设上限",
                        "the last band must be open-ended",
                    ));
                }
            }
        };
        bands("account.employee", self.account.employee.iter().map(|b| (b.min_age, b.max_age)).collect(), &mut e);
        bands("account.retiree", self.account.retiree.iter().map(|b| (b.min_age, b.max_age)).collect(), &mut e);
        e
    }
}

fn problem(path: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> PolicyError {
    PolicyError { path: path.into(), message: Text::new(zh, en) }
}

#[cfg(test)]
mod tests;
