//! The insurance year (医保年度): in every pooling region of the seeds it is the calendar
//! year, so a receipt dated 2025-12-31 belongs to 2025 and one dated 2026-01-01 to 2026.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct InsuranceYear(i32);

impl InsuranceYear {
    pub const FIRST: i32 = 1998; // the basic medical insurance for employees began in 1998
    pub const LAST: i32 = 2100;

    pub fn of(date: NaiveDate) -> InsuranceYear {
        InsuranceYear(date.year())
    }

    pub fn value(self) -> i32 {
        self.0
    }

    pub fn first_day(self) -> NaiveDate {
        // INVARIANT: the year is within FIRST..=LAST, so 1 January exists.
        NaiveDate::from_ymd_opt(self.0, 1, 1).unwrap_or_else(|| unreachable!())
    }

    pub fn last_day(self) -> NaiveDate {
        // INVARIANT: as above.
        NaiveDate::from_ymd_opt(self.0, 12, 31).unwrap_or_else(|| unreachable!())
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        date.year() == self.0
    }
}

impl TryFrom<i32> for InsuranceYear {
    type Error = InvalidValue;
    fn try_from(y: i32) -> Result<Self, Self::Error> {
        if (Self::FIRST..=Self::LAST).contains(&y) {
            Ok(InsuranceYear(y))
        } else {
            Err(InvalidValue::new(
                "insurance_year",
                "range",
                format!("医保年度 {y} 无效：应在 {} 至 {} 之间", Self::FIRST, Self::LAST),
                format!("insurance year {y} is invalid: expected {} to {}", Self::FIRST, Self::LAST),
            ))
        }
    }
}

impl From<InsuranceYear> for i32 {
    fn from(y: InsuranceYear) -> i32 {
        y.0
    }
}

impl FromStr for InsuranceYear {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let y: i32 = s.trim().parse().map_err(|_| {
            InvalidValue::new(
                "insurance_year",
                "format",
                "医保年度应为四位年份，如 2026",
                "expected a four-digit year, e.g. 2026",
            )
        })?;
        y.try_into()
    }
}

impl fmt::Display for InsuranceYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_date_decides_the_year() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(InsuranceYear::of(d(2025, 12, 31)).value(), 2025);
        assert_eq!(InsuranceYear::of(d(2026, 1, 1)).value(), 2026);
        let y: InsuranceYear = "2026".parse().unwrap();
        assert!(y.contains(d(2026, 6, 1)) && !y.contains(d(2027, 1, 1)));
        assert_eq!(y.first_day(), d(2026, 1, 1));
        assert_eq!(y.last_day(), d(2026, 12, 31));
        assert!("1990".parse::<InsuranceYear>().is_err());
        assert!("twenty".parse::<InsuranceYear>().is_err());
        assert!(serde_json::from_str::<InsuranceYear>("3000").is_err());
    }
}
