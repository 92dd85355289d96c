//! Administrative division codes (GB/T 2260): six digits, province / prefecture / county.
//! `620302` (金川区) is in `620300` (金昌市), which is in `620000` (甘肃省).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// The two-digit province prefixes of GB/T 2260 (mainland provinces, Taiwan, Hong Kong, Macao).
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AdminCode(u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminLevel {
    Province,
    Prefecture,
    County,
}

impl AdminCode {
    const FIELD: &'static str = "admin_code";

    pub fn value(self) -> u32 {
        self.0
    }

    pub fn level(self) -> AdminLevel {
        if self.0.is_multiple_of(10_000) {
            AdminLevel::Province
        } else if self.0.is_multiple_of(100) {
            AdminLevel::Prefecture
        } else {
            AdminLevel::County
        }
    }

    pub fn province(self) -> AdminCode {
        AdminCode(self.0 / 10_000 * 10_000)
    }

    /// The prefecture-level code (for a province code, the province itself).
    pub fn prefecture(self) -> AdminCode {
        match self.level() {
            AdminLevel::Province => self,
            _ => AdminCode(self.0 / 100 * 100),
        }
    }

    /// Whether `other` lies within this division (a division contains itself).
    pub fn contains(self, other: AdminCode) -> bool {
        match self.level() {
            AdminLevel::Province => self.province() == other.province(),
            AdminLevel::Prefecture => self.prefecture() == other.prefecture() && other.level() != AdminLevel::Province,
            AdminLevel::County => self == other,
        }
    }

    /// Whether two codes are in the same province (used for "off-site within the province").
    pub fn same_province(self, other: AdminCode) -> bool {
        self.province() == other.province()
    }
}

impl FromStr for AdminCode {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "format",
                format!("行政区划代码“{s}”无效：应为 6 位数字，例如 620300（金昌市）"),
                format!("administrative division code \"{s}\" is invalid: expected 6 digits, e.g. 620300 (Jinchang)"),
            ));
        }
        let n: u32 = s
            .parse()
            .map_err(|_| InvalidValue::new(Self::FIELD, "format", "行政区划代码应为 6 位数字", "expected 6 digits"))?;
        if !PROVINCES.contains(&(n / 10_000)) {
            return Err(InvalidValue::new(
                Self::FIELD,
                "province",
                format!("行政区划代码“{s}”的前两位不是有效的省级代码"),
                format!("administrative division code \"{s}\" does not start with a valid province code"),
            ));
        }
        Ok(AdminCode(n))
    }
}

impl TryFrom<String> for AdminCode {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AdminCode> for String {
    fn from(c: AdminCode) -> String {
        c.to_string()
    }
}

impl fmt::Display for AdminCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> AdminCode {
        s.parse().unwrap()
    }

    #[test]
    fn table() {
        // (input, ok?, level, province, prefecture)
        let rows = [
            ("620302", Some((AdminLevel::County, "620000", "620300"))),
            ("620300", Some((AdminLevel::Prefecture, "620000", "620300"))),
            ("620000", Some((AdminLevel::Province, "620000", "620000"))),
            ("110105", Some((AdminLevel::County, "110000", "110100"))),
            ("990000", None), // no such province
            ("62030", None),
            ("6203021", None),
            ("62030a", None),
            ("", None),
        ];
        for (input, expected) in rows {
            let got = input.parse::<AdminCode>();
            match expected {
                None => assert!(got.is_err(), "{input} should be rejected"),
                Some((level, prov, pref)) => {
                    let code = got.unwrap();
                    assert_eq!(code.level(), level, "{input}");
                    assert_eq!(code.province().to_string(), prov, "{input}");
                    assert_eq!(code.prefecture().to_string(), pref, "{input}");
                }
            }
        }
    }

    #[test]
    fn containment() {
        assert!(c("620300").contains(c("620302")));
        assert!(c("620000").contains(c("620302")));
        assert!(c("620000").contains(c("620300")));
        assert!(!c("620300").contains(c("620102")));
        assert!(!c("620300").contains(c("620000")));
        assert!(c("620302").contains(c("620302")));
        assert!(!c("620302").contains(c("620321")));
    }

    #[test]
    fn error_names_field_in_both_languages() {
        let e = "12".parse::<AdminCode>().unwrap_err();
        assert_eq!(e.field, "admin_code");
        assert!(e.message.zh.contains("6 位数字"));
        assert!(e.message.en.contains("6 digits"));
    }

    #[test]
    fn serde_rejects_invalid() {
        assert!(serde_json::from_str::<AdminCode>("\"620300\"").is_ok());
        assert!(serde_json::from_str::<AdminCode>("\"000000\"").is_err());
    }

    proptest! {
        #[test]
        fn display_round_trips_and_hierarchy_holds(p in prop::sample::select(PROVINCES), rest in 0u32..10_000) {
            let code = AdminCode(p * 10_000 + rest);
            let parsed: AdminCode = code.to_string().parse().unwrap();
            prop_assert_eq!(parsed, code);
            prop_assert!(code.province().contains(code));
            prop_assert!(code.prefecture().contains(code));
        }
    }
}
