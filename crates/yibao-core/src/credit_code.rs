//! Unified social credit codes (GB 32100-2015) of employer units: 18 characters from a
//! 31-character alphabet (no I, O, S, V, Z); the last is a MOD 31 check character.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (all of which must be in the alphabet).
fn check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize])
}

impl CreditCode {
    const FIELD: &'static str = "credit_code";

    /// Completes 17 characters with their check character (demo seed and tests).
    pub fn complete(first17: &str) -> Result<Self, InvalidValue> {
        let check = (first17.len() == 17).then(|| check_char(first17.as_bytes())).flatten().ok_or_else(|| {
            InvalidValue::new(Self::FIELD, "format", "统一社会信用代码前 17 位无效", "invalid first 17 characters")
        })?;
        format!("{first17}{}", check as char).parse()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CreditCode {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 || !b.iter().all(|c| value_of(*c).is_some()) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "format",
                "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）",
                "a unified social credit code has 18 digits or capital letters (not I, O, S, V or Z)",
            ));
        }
        if s[2..8].parse::<crate::AdminCode>().is_err() {
            return Err(InvalidValue::new(
                Self::FIELD,
                "region",
                "统一社会信用代码第 3–8 位应为登记管理机关的行政区划代码",
                "characters 3-8 of a unified social credit code must be an administrative division code",
            ));
        }
        if check_char(&b[..17]) != Some(b[17]) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "checksum",
                "统一社会信用代码校验位不正确，请核对是否抄错",
                "the check character of the unified social credit code is wrong; please check for typos",
            ));
        }
        Ok(CreditCode(s))
    }
}

impl TryFrom<String> for CreditCode {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CreditCode> for String {
    fn from(v: CreditCode) -> String {
        v.0
    }
}

impl fmt::Display for CreditCode {
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
        // 91350100M000100Y43 is a widely published valid example (check character 3).
        let rows: &[(&str, Option<&str>)] = &[
            ("91350100M000100Y43", None),
            ("91350100m000100y43", None),
            ("91350100M000100Y44", Some("checksum")),
            ("91350100M000100Y4", Some("format")),
            ("91350100M000100YI3", Some("format")), // I is not in the alphabet
            ("91990100M000100Y43", Some("region")),
        ];
        for (input, want) in rows {
            match (input.parse::<CreditCode>(), want) {
                (Ok(_), None) => {}
                (Err(e), Some(code)) => assert_eq!(e.code, *code, "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn completed_codes_validate_and_typos_are_caught(
            tail in proptest::collection::vec(prop::sample::select(ALPHABET.to_vec()), 9),
            pos in 8usize..17, delta in 1usize..31,
        ) {
            let first17 = format!("91620300{}", String::from_utf8(tail).unwrap());
            let code = CreditCode::complete(&first17).unwrap();
            let mut bytes = code.as_str().as_bytes().to_vec();
            let v = value_of(bytes[pos]).unwrap() as usize;
            bytes[pos] = ALPHABET[(v + delta) % 31];
            prop_assert!(String::from_utf8(bytes).unwrap().parse::<CreditCode>().is_err());
        }
    }
}
