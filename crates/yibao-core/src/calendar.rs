//! The official working-day calendar: China's statutory holidays and adjusted working
//! weekends (调休), year by year, as data (`data/holidays-cn.toml` for 2020–2026, each year
//! with the notice it comes from). Deadlines counted in working days — a social security
//! card's 30, the payment promise's 15 — are counted here. A computation that reaches a year
//! without data stops with an error saying so; it never guesses.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::i18n::Text;

/// The years shipped with yibao.
pub const BUILT_IN: &str = include_str!("../data/holidays-cn.toml");

/// One year's holidays and adjusted working days, with the notice they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    pub year: i32,
    pub source: String,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

/// A forecast date, and whether it counted a year whose schedule is not published yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    pub date: NaiveDate,
    pub provisional: bool,
}

/// Why a working-day computation or a calendar file failed, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", message.en)]
pub struct CalendarError {
    pub message: Text,
}

impl CalendarError {
    fn new(zh: impl Into<String>, en: impl Into<String>) -> CalendarError {
        CalendarError { message: Text::new(zh, en) }
    }

    fn missing_year(year: i32) -> CalendarError {
        CalendarError::new(
            format!("{year} 年的节假日安排尚未录入（国务院办公厅每年发布），无法计算工作日"),
            format!("the {year} holiday schedule is not loaded yet (the State Council publishes it yearly); working days cannot be counted"),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    year: Vec<YearText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearText {
    year: i32,
    source: String,
    holidays: Vec<String>,
    workdays: Vec<String>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `2026-02-15` or `2026-02-15..2026-02-23` (both ends included), all within `year`.
fn dates(year: i32, text: &str) -> Result<Vec<NaiveDate>, CalendarError> {
    let parse = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| CalendarError::new(format!("日期“{s}”无效"), format!("invalid date \"{s}\"")))
    };
    let (from, to) = match text.split_once("..") {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(text)?, parse(text)?),
    };
    if to < from || from.year() != year || to.year() != year {
        return Err(CalendarError::new(
            format!("{year} 年的日期范围“{text}”无效：须在当年之内且起止有序"),
            format!("date range \"{text}\" is invalid for {year}: it must lie within the year, in order"),
        ));
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// The working-day calendar over the years it has data for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, CalendarYear>,
}

impl Calendar {
    /// The calendar shipped with yibao (2020–2026).
    pub fn built_in() -> Result<Calendar, CalendarError> {
        Calendar::parse(BUILT_IN)
    }

    /// Reads and checks a calendar file: every adjusted working day must fall on a weekend,
    /// no date may be both a holiday and a working day, and each year appears once.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        let file: File = toml::from_str(text).map_err(|e| {
            CalendarError::new(format!("节假日文件格式错误：{e}"), format!("malformed holiday file: {e}"))
        })?;
        let mut calendar = Calendar::default();
        for y in file.year {
            let mut holidays = BTreeSet::new();
            for t in &y.holidays {
                holidays.extend(dates(y.year, t)?);
            }
            let mut workdays = BTreeSet::new();
            for t in &y.workdays {
                for d in dates(y.year, t)? {
                    if !is_weekend(d) {
                        return Err(CalendarError::new(
                            format!("调休上班日 {d} 不是周末"),
                            format!("adjusted working day {d} is not a weekend day"),
                        ));
                    }
                    if holidays.contains(&d) {
                        return Err(CalendarError::new(
                            format!("{d} 不能既是假日又是上班日"),
                            format!("{d} cannot be both a holiday and a working day"),
                        ));
                    }
                    workdays.insert(d);
                }
            }
            if y.source.trim().is_empty() {
                return Err(CalendarError::new(
                    format!("{} 年缺少来源（国务院办公厅通知）", y.year),
                    format!("{} has no source (the State Council notice)", y.year),
                ));
            }
            let year = CalendarYear { year: y.year, source: y.source, holidays, workdays };
            if calendar.years.insert(y.year, year).is_some() {
                return Err(CalendarError::new(format!("{} 年重复出现", y.year), format!("{} appears twice", y.year)));
            }
        }
        Ok(calendar)
    }

    /// Adds the years of `newer`, each replacing the same year here (a corrected notice).
    pub fn overlay(&mut self, newer: Calendar) {
        self.years.extend(newer.years);
    }

    pub fn years(&self) -> impl Iterator<Item = &CalendarYear> {
        self.years.values()
    }

    /// Whether `date` is a working day: an adjusted working weekend, or a weekday that is not
    /// a holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let year = self.years.get(&date.year()).ok_or_else(|| CalendarError::missing_year(date.year()))?;
        Ok(year.workdays.contains(&date) || (!is_weekend(date) && !year.holidays.contains(&date)))
    }

    /// The `n`-th working day after `date` (`date` itself not counted; `n` = 0 gives `date`).
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().ok_or_else(|| CalendarError::new("日期超出范围", "date out of range"))?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The `n`-th working day after `date` as a forecast: where a year's schedule is not
    /// published yet, its Mondays to Fridays count as working days and the answer says it is
    /// provisional. (A promise or a deadline uses [`Calendar::add_working_days`], which refuses.)
    pub fn estimate_working_days(&self, date: NaiveDate, n: u32) -> Result<Estimate, CalendarError> {
        let mut d = date;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            d = d.succ_opt().ok_or_else(|| CalendarError::new("日期超出范围", "date out of range"))?;
            let working = match self.years.get(&d.year()) {
                Some(_) => self.is_working_day(d)?,
                None => {
                    provisional = true;
                    !is_weekend(d)
                }
            };
            if working {
                left -= 1;
            }
        }
        Ok(Estimate { date: d, provisional })
    }

    /// The working days after `from` up to and including `to` (negative when `to` is
    /// before `from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        let (lo, hi, sign) = if from <= to { (from, to, 1) } else { (to, from, -1) };
        let mut n = 0i64;
        for d in lo.iter_days().skip(1).take_while(|d| *d <= hi) {
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(sign * n)
    }
}

/// The instant a day begins in China (UTC+8), as the store writes instants
/// (`2026-12-06T16:00:00Z` for 7 December): days people name become ranges of stored times.
pub fn china_day_start(day: NaiveDate) -> String {
    (day.and_time(chrono::NaiveTime::MIN) - chrono::Duration::hours(8)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The day in China of a stored instant (`2026-12-06T16:30:00Z` is 7 December), if it is one.
pub fn china_day_of(instant: &str) -> Option<NaiveDate> {
    let t = chrono::DateTime::parse_from_rfc3339(instant).ok()?;
    Some((t.naive_utc() + chrono::Duration::hours(8)).date())
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn days_in_china_and_stored_instants() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(china_day_start(d), "2026-12-06T16:00:00Z");
        assert_eq!(china_day_of("2026-12-06T16:00:00Z"), Some(d));
        assert_eq!(china_day_of("2026-12-06T15:59:59Z"), d.pred_opt());
        assert_eq!(china_day_of("not a time"), None);
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cal() -> Calendar {
        Calendar::built_in().unwrap()
    }

    /// (date, working?, why) — the 调休 weekends and the long holiday weeks.
    const DAYS: &[(&str, bool, &str)] = &[
        ("2026-01-04", true, "Sunday after New Year, worked (调休)"),
        ("2026-02-13", true, "Friday before the Spring Festival"),
        ("2026-02-14", true, "Saturday worked before the Spring Festival (调休)"),
        ("2026-02-15", false, "Spring Festival, first day"),
        ("2026-02-17", false, "Spring Festival (Tuesday)"),
        ("2026-02-23", false, "Spring Festival, last day (Monday)"),
        ("2026-02-24", true, "first working day after the Spring Festival"),
        ("2026-02-28", true, "Saturday worked after the Spring Festival (调休)"),
        ("2026-03-01", false, "an ordinary Sunday"),
        ("2026-05-09", true, "Saturday worked after Labour Day (调休)"),
        ("2026-09-20", true, "Sunday worked before National Day (调休)"),
        ("2026-09-25", false, "Mid-Autumn Festival (Friday)"),
        ("2026-10-01", false, "National Day"),
        ("2026-10-07", false, "National Day week, last day (Wednesday)"),
        ("2026-10-08", true, "first working day after National Day"),
        ("2026-10-10", true, "Saturday worked after National Day (调休)"),
        ("2025-01-26", true, "Sunday worked before the 2025 Spring Festival (调休)"),
        ("2025-02-04", false, "2025 Spring Festival, last day (Tuesday)"),
        ("2025-02-08", true, "Saturday worked after the 2025 Spring Festival (调休)"),
        ("2025-10-08", false, "2025 National Day and Mid-Autumn week, last day"),
        ("2025-10-11", true, "Saturday worked after 2025 National Day (调休)"),
        ("2020-02-01", false, "Saturday 2020-02-01: the Spring Festival was extended to 2 February"),
    ];

    #[test]
    fn working_days_follow_the_notices() {
        let c = cal();
        for (date, working, why) in DAYS {
            assert_eq!(c.is_working_day(d(date)).unwrap(), *working, "{date}: {why}");
        }
    }

    #[test]
    fn counting_working_days_skips_holidays_and_counts_adjusted_weekends() {
        let c = cal();
        // Friday before the Spring Festival → the worked Saturday → after the holiday.
        assert_eq!(c.add_working_days(d("2026-02-13"), 1).unwrap(), d("2026-02-14"));
        assert_eq!(c.add_working_days(d("2026-02-14"), 1).unwrap(), d("2026-02-24"));
        // 15 working days from Thursday 24 September 2026, across Mid-Autumn and National Day:
        // 9/28 9/29 9/30 10/8 10/9 10/10(Sat) 10/12 … 10/16 10/19 … 10/22.
        assert_eq!(c.add_working_days(d("2026-09-24"), 15).unwrap(), d("2026-10-22"));
        // 30 working days from a card application on 2026-01-20 (across the Spring Festival).
        assert_eq!(c.add_working_days(d("2026-01-20"), 30).unwrap(), d("2026-03-09"));
        assert_eq!(c.add_working_days(d("2025-01-27"), 1).unwrap(), d("2025-02-05"));
        assert_eq!(c.add_working_days(d("2026-03-02"), 0).unwrap(), d("2026-03-02"));
        assert_eq!(c.working_days_between(d("2026-09-30"), d("2026-10-10")).unwrap(), 3);
        assert_eq!(c.working_days_between(d("2026-10-10"), d("2026-09-30")).unwrap(), -3);
        // Counting back and forth agree.
        let due = c.add_working_days(d("2026-04-01"), 15).unwrap();
        assert_eq!(c.working_days_between(d("2026-04-01"), due).unwrap(), 15);
    }

    #[test]
    fn a_year_without_data_is_an_error_not_a_guess() {
        let c = cal();
        let e = c.add_working_days(d("2026-12-20"), 30).unwrap_err();
        assert!(e.message.zh.contains("2027 年的节假日安排尚未录入") && e.message.en.contains("2027"), "{e:?}");
        assert!(c.is_working_day(d("2019-12-31")).is_err());
        assert_eq!(c.years().map(|y| y.year).collect::<Vec<_>>(), (2020..=2026).collect::<Vec<_>>());
        assert!(c.years().all(|y| !y.source.is_empty()));
    }

    #[test]
    fn a_bad_calendar_file_is_refused_with_the_reason() {
        let weekday_worked = "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = []\nworkdays = [\"2026-01-05\"]\n";
        assert!(Calendar::parse(weekday_worked).unwrap_err().message.en.contains("not a weekend"));
        let both = "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = [\"2026-01-03\"]\nworkdays = [\"2026-01-03\"]\n";
        assert!(Calendar::parse(both).unwrap_err().message.en.contains("both"));
        let outside = "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = [\"2025-12-31..2026-01-01\"]\nworkdays = []\n";
        assert!(Calendar::parse(outside).unwrap_err().message.zh.contains("须在当年之内"));
        let twice = "[[year]]\nyear = 2026\nsource = \"x\"\nholidays = []\nworkdays = []\n\
                     [[year]]\nyear = 2026\nsource = \"y\"\nholidays = []\nworkdays = []\n";
        assert!(Calendar::parse(twice).unwrap_err().message.en.contains("twice"));
    }

    #[test]
    fn a_forecast_into_an_unpublished_year_counts_weekdays_and_says_so() {
        let cal = Calendar::built_in().unwrap();
        let last = cal.years().map(|y| y.year).max().unwrap();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Inside a published year the forecast is the promise.
        let inside = cal.estimate_working_days(d(last, 3, 2), 10).unwrap();
        assert_eq!(inside, Estimate { date: cal.add_working_days(d(last, 3, 2), 10).unwrap(), provisional: false });
        // 30 working days from 23 November cross into the next year: refused as a promise,
        // forecast on weekdays (Christmas is not a holiday here; New Year is unknown).
        assert!(cal.add_working_days(d(last, 11, 23), 30).is_err());
        let est = cal.estimate_working_days(d(last, 11, 23), 30).unwrap();
        assert!(est.provisional);
        let counted = cal.working_days_between(d(last, 11, 23), d(last, 12, 31)).unwrap();
        let rest = 30 - counted;
        let mut day = d(last + 1, 1, 1);
        let mut n = i64::from(!is_weekend(day));
        while n < rest {
            day = day.succ_opt().unwrap();
            if !is_weekend(day) {
                n += 1;
            }
        }
        assert_eq!(est.date, day);
    }
}
