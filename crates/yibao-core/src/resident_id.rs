//! Resident identity card numbers (GB 11643-1999): 6-digit region, 8-digit birth date,
//! 3-digit sequence (odd for men, even for women), ISO 7064 MOD 11-2 check character.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::admin_code::AdminCode;
use crate::error::InvalidValue;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
}

fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl ResidentId {
    const FIELD: &'static str = "resident_id";

    /// Builds a valid number from its parts, computing the check character. Used by the
    /// demo seed and tests; `sequence` is 0..=999 (odd for men).
    pub fn from_parts(region: AdminCode, birth: NaiveDate, sequence: u16) -> Result<Self, InvalidValue> {
        if sequence > 999 || birth.year() < 1900 || birth.year() > 9999 {
            return Err(InvalidValue::new(Self::FIELD, "parts", "身份证号组成部分无效", "invalid resident ID parts"));
        }
        let first17 = format!("{region}{}{:03}", birth.format("%Y%m%d"), sequence);
        let check = check_char(first17.as_bytes()) as char;
        Ok(ResidentId(format!("{first17}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn region(&self) -> AdminCode {
        // INVARIANT: validated at construction.
        self.0[..6].parse().unwrap_or_else(|_| unreachable!())
    }

    pub fn birth_date(&self) -> NaiveDate {
        // INVARIANT: validated at construction.
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").unwrap_or_else(|_| unreachable!())
    }

    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// `6202**********1234`: the first four and last four characters.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }

    fn invalid(code: &'static str, zh: String, en: String) -> InvalidValue {
        InvalidValue::new(Self::FIELD, code, zh, en)
    }
}

impl FromStr for ResidentId {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(Self::invalid(
                "format",
                "身份证号码应为 18 位：前 17 位为数字，最后一位为数字或 X".into(),
                "a resident ID number has 18 characters: 17 digits, then a digit or X".into(),
            ));
        }
        if s[..6].parse::<AdminCode>().is_err() {
            return Err(Self::invalid(
                "region",
                format!("身份证号码前 6 位“{}”不是有效的行政区划代码", &s[..6]),
                format!("the first 6 digits \"{}\" are not a valid administrative division code", &s[..6]),
            ));
        }
        match NaiveDate::parse_from_str(&s[6..14], "%Y%m%d") {
            Ok(d) if d.year() >= 1900 => {}
            _ => {
                return Err(Self::invalid(
                    "birth_date",
                    format!("身份证号码中的出生日期“{}”不是有效日期", &s[6..14]),
                    format!("the birth date \"{}\" in the resident ID number is not a real date", &s[6..14]),
                ))
            }
        }
        let expected = check_char(&b[..17]);
        if expected != b[17] {
            return Err(Self::invalid(
                "checksum",
                "身份证号码校验位不正确，请核对号码是否抄错".into(),
                "the check character of the resident ID number is wrong; please check the number for typos".into(),
            ));
        }
        Ok(ResidentId(s))
    }
}

impl TryFrom<String> for ResidentId {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ResidentId> for String {
    fn from(v: ResidentId) -> String {
        v.0
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table() {
        // (input, expected error code or None; then birth date and sex for valid ones)
        // 11010519491231002X is the standard's own example (female, born 1949-12-31).
        let rows: &[(&str, Option<&str>)] = &[
            ("11010519491231002X", None),
            ("11010519491231002x", None),
            ("110105194912310021", Some("checksum")),
            ("440524198001010013", None),
            ("440524188001010014", Some("birth_date")), // before 1900
            ("11010519491231002", Some("format")),
            ("1101051949123100XX", Some("format")),
            ("99010519491231002X", Some("region")),
            ("110105194902300028", Some("birth_date")), // 30 February
            ("110105180001010015", Some("birth_date")), // before 1900
        ];
        for (input, want) in rows {
            match (input.parse::<ResidentId>(), want) {
                (Ok(_), None) => {}
                (Err(e), Some(code)) => assert_eq!(e.code, *code, "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        let id: ResidentId = "11010519491231002X".parse().unwrap();
        assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region().to_string(), "110105");
        assert_eq!(id.masked(), "1101**********002X");
        let man: ResidentId = "440524198001010013".parse().unwrap();
        assert_eq!(man.sex(), Sex::Male);
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<ResidentId>("\"11010519491231002X\"").is_ok());
        let err = serde_json::from_str::<ResidentId>("\"110105194912310021\"").unwrap_err();
        assert!(err.to_string().contains("check character"), "{err}");
    }

    proptest! {
        #[test]
        fn generated_ids_validate_and_derive(days in 0i64..40_000, seq in 0u16..1000) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let region: AdminCode = "620302".parse().unwrap();
            let id = ResidentId::from_parts(region, birth, seq).unwrap();
            let parsed: ResidentId = id.as_str().parse().unwrap();
            prop_assert_eq!(parsed.birth_date(), birth);
            prop_assert_eq!(parsed.region(), region);
            prop_assert_eq!(parsed.sex() == Sex::Male, seq % 2 == 1);
        }

        #[test]
        fn any_single_digit_typo_is_caught(days in 0i64..40_000, seq in 0u16..1000, pos in 0usize..17, delta in 1u8..10) {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let id = ResidentId::from_parts("620302".parse().unwrap(), birth, seq).unwrap();
            let mut bytes = id.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(typo.parse::<ResidentId>().is_err());
        }
    }
}
