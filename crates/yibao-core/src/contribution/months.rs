//! Cover follows payment: whether a person is covered on a day, given the months (or, for a
//! resident, the year) paid and when each was paid.
//!
//! Monthly contributors (employees through their unit, flexible workers): a month paid
//! covers its days; a person behind by at most the grace months is still covered; behind by
//! more, not (欠费). A payment after such an interruption starts a waiting period (待遇等待期)
//! before cover returns — unless the arrears are paid and the rules back-date them, which
//! closes the gap. Arrears paid late under `from_payment` count for nothing for the months
//! they are for. A first-time flexible worker waits too. Residents: the year paid in the
//! collection period covers the whole year; paid later, cover starts after a waiting period.
//!
//! Payments are taken as known on `as_of` (a settlement asks on the day; a claim is judged
//! with what is paid when it is adjudicated).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{ArrearsRules, Restore};
use crate::error::InvalidValue;
use crate::i18n::Text;

/// A calendar month, `2026-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        (1..=12).contains(&month).then_some(YearMonth { year, month })
    }

    pub fn of(day: NaiveDate) -> YearMonth {
        YearMonth { year: day.year(), month: day.month() }
    }

    /// Months since year 0: consecutive months differ by one.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(i: i64) -> YearMonth {
        YearMonth { year: i.div_euclid(12) as i32, month: (i.rem_euclid(12) + 1) as u32 }
    }

    pub fn plus(self, months: i64) -> YearMonth {
        YearMonth::from_index(self.index() + months)
    }

    /// Months from `self` to `later` (negative if `later` is earlier).
    pub fn until(self, later: YearMonth) -> i64 {
        later.index() - self.index()
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn last_day(self) -> NaiveDate {
        self.plus(1).first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = InvalidValue;

    /// `2026-03`.
    fn from_str(s: &str) -> Result<YearMonth, InvalidValue> {
        let bad = || {
            InvalidValue::new(
                "month",
                "format",
                format!("月份“{s}”无效，应为 年-月，如 2026-03"),
                format!("month \"{s}\" is invalid: expected year-month, e.g. 2026-03"),
            )
        };
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (year, month) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        YearMonth::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<YearMonth, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A month paid, and the day it was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub month: YearMonth,
    pub on: NaiveDate,
}

/// Where a person stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Paid for the day's month.
    Paid,
    /// Behind, within the grace: still covered.
    Grace { unpaid_since: YearMonth },
    /// Behind by more than the grace: not covered.
    Arrears { unpaid_since: YearMonth },
    /// Paid, but waiting after an interruption or a first or late payment: covered from
    /// `from`.
    Waiting { from: NaiveDate },
    /// Nothing paid that counts.
    NeverPaid,
}

impl Standing {
    pub fn covered(self) -> bool {
        matches!(self, Standing::Paid | Standing::Grace { .. })
    }

    /// A stable code: `paid`, `grace`, `contribution_arrears`, `contribution_waiting`,
    /// `contribution_unpaid` (the last three are cover's refusal codes too).
    pub fn code(self) -> &'static str {
        match self {
            Standing::Paid => "paid",
            Standing::Grace { .. } => "grace",
            Standing::Arrears { .. } => "contribution_arrears",
            Standing::Waiting { .. } => "contribution_waiting",
            Standing::NeverPaid => "contribution_unpaid",
        }
    }

    /// Why a person is not covered, in both languages (`None` if covered).
    pub fn refusal(self) -> Option<Text> {
        match self {
            Standing::Paid | Standing::Grace { .. } => None,
            Standing::Arrears { unpaid_since } => Some(Text::new(
                format!("自 {unpaid_since} 起欠缴医疗保险费，已超过宽限期，暂停享受待遇；补缴后按规定恢复"),
                format!(
                    "contributions unpaid since {unpaid_since}, past the grace period: no cover until the arrears are paid"
                ),
            )),
            Standing::Waiting { from } => Some(Text::new(
                format!("处于待遇等待期，{from} 起享受医保待遇"),
                format!("in the waiting period: covered from {from}"),
            )),
            Standing::NeverPaid => Some(Text::new(
                "未缴纳医疗保险费，不能享受待遇",
                "no contribution paid: not covered",
            )),
        }
    }
}

/// Where a monthly contributor stands on `day`, with the payments known on `as_of`. A month
/// counts if it was paid by then and, under `from_payment`, paid before its grace ran out.
/// `first_waiting_days`: the waiting of a first-time contributor after the first payment
/// (a flexible worker's; 0 for an employee).
pub fn standing(
    rules: &ArrearsRules,
    first_waiting_days: u32,
    paid: &[Paid],
    day: NaiveDate,
    as_of: NaiveDate,
) -> Standing {
    let grace = i64::from(rules.grace_months);
    let counts =
        |p: &Paid| p.on <= as_of && (rules.restore == Restore::BackDated || p.on <= p.month.plus(grace).last_day());
    // Each month that counts, with the day it was paid (the earliest, if paid twice).
    let mut months: BTreeMap<YearMonth, NaiveDate> = BTreeMap::new();
    for p in paid.iter().filter(|p| counts(p)) {
        let e = months.entry(p.month).or_insert(p.on);
        *e = (*e).min(p.on);
    }
    let month = YearMonth::of(day);
    let Some((&last, _)) = months.range(..=month).next_back() else { return Standing::NeverPaid };
    // The run the day belongs to: paid months with gaps of at most the grace between them.
    let mut start = last;
    let mut first_run = true;
    for (&m, _) in months.range(..last).rev() {
        if m.until(start) - 1 > grace {
            first_run = false;
            break;
        }
        start = m;
    }
    let started_on = months[&start];
    let wait = if first_run { i64::from(first_waiting_days) } else { i64::from(rules.waiting_days) };
    let from = started_on + chrono::Duration::days(wait);
    if wait > 0 && day < from {
        return Standing::Waiting { from };
    }
    let behind = last.until(month);
    match behind {
        0 => Standing::Paid,
        n if n <= grace => Standing::Grace { unpaid_since: last.plus(1) },
        _ => Standing::Arrears { unpaid_since: last.plus(1) },
    }
}

/// Where a resident stands on `day`: the year paid on `paid_on` (if known on `as_of`)
/// covers the whole year if paid by the end of the collection period, else from
/// `late_waiting_days` after the payment.
pub fn resident_standing(
    collection_to: NaiveDate,
    late_waiting_days: u32,
    paid_on: Option<NaiveDate>,
    day: NaiveDate,
    as_of: NaiveDate,
) -> Standing {
    match paid_on.filter(|p| *p <= as_of) {
        None => Standing::NeverPaid,
        Some(on) if on <= collection_to => Standing::Paid,
        Some(on) => {
            let from = on + chrono::Duration::days(i64::from(late_waiting_days));
            if day < from {
                Standing::Waiting { from }
            } else {
                Standing::Paid
            }
        }
    }
}
