//! Phone numbers: a mainland mobile number (11 digits starting 13-19) or a landline with
//! its area code (`0937-8221234`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678` for mobiles; landlines keep the area code and last four.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        if self.0.contains('-') {
            let (area, rest) = self.0.split_once('-').unwrap_or(("", &self.0));
            format!("{area}-****{}", &rest[rest.len().saturating_sub(4)..])
        } else {
            format!("{}****{}", &self.0[..3], &self.0[n - 4..])
        }
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.starts_with('1')
        && (b'3'..=b'9').contains(&s.as_bytes()[1])
}

fn is_landline(s: &str) -> bool {
    match s.split_once('-') {
        Some((area, local)) => {
            (3..=4).contains(&area.len())
                && area.starts_with('0')
                && area.bytes().all(|b| b.is_ascii_digit())
                && (7..=8).contains(&local.len())
                && local.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

impl FromStr for PhoneNumber {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut s: String = s.trim().chars().filter(|c| *c != ' ').collect();
        if let Some(rest) = s.strip_prefix("+86") {
            s = rest.trim_start_matches('-').to_string();
        }
        if is_mobile(&s) || is_landline(&s) {
            Ok(PhoneNumber(s))
        } else {
            Err(InvalidValue::new(
                "phone",
                "format",
                "电话号码无效：应为 11 位手机号（如 13812345678）或带区号的固话（如 0935-8221234）",
                "invalid phone number: expected an 11-digit mobile (e.g. 13812345678) or a landline with area code (e.g. 0935-8221234)",
            ))
        }
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PhoneNumber> for String {
    fn from(v: PhoneNumber) -> String {
        v.0
    }
}

impl fmt::Display for PhoneNumber {
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
        let rows: &[(&str, Option<&str>)] = &[
            ("13812345678", Some("13812345678")),
            ("+86 138 1234 5678", Some("13812345678")),
            ("0935-8221234", Some("0935-8221234")),
            ("010-62345678", Some("010-62345678")),
            ("12812345678", None),
            ("1381234567", None),
            ("935-8221234", None),
            ("0935-82212", None),
        ];
        for (input, want) in rows {
            assert_eq!(input.parse::<PhoneNumber>().ok().map(|p| p.0), want.map(String::from), "{input}");
        }
        assert_eq!("13812345678".parse::<PhoneNumber>().unwrap().masked(), "138****5678");
        assert_eq!("0935-8221234".parse::<PhoneNumber>().unwrap().masked(), "0935-****1234");
    }

    proptest! {
        #[test]
        fn mobiles_round_trip(n in "1[3-9][0-9]{9}") {
            let p: PhoneNumber = n.parse().unwrap();
            prop_assert_eq!(p.to_string(), n);
        }
    }
}
