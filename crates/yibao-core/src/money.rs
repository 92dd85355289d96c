//! Money as integer fen (分). Never a float: parsing goes from text, arithmetic is checked,
//! and rounding happens only where a rule names it.

use std::fmt;
use std::iter::Sum;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidValue;

/// An amount in fen (1 yuan = 100 fen). May be negative (refunds, reversals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fen(i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);
    const FIELD: &'static str = "amount";

    pub const fn from_fen(fen: i64) -> Fen {
        Fen(fen)
    }

    pub const fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// Adds, saturating (as [`Sum`] does) where real amounts never reach.
    pub fn saturating_add(self, other: Fen) -> Fen {
        Fen(self.0.saturating_add(other.0))
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// Subtracts, saturating where real amounts never reach.
    pub fn saturating_sub(self, other: Fen) -> Fen {
        Fen(self.0.saturating_sub(other.0))
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// `12.34` (always two decimals, no thousands separator).
    pub fn to_plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// `1,234.50` for display.
    pub fn to_grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{sign}{grouped}.{:02}", abs % 100)
    }

    fn invalid(input: &str) -> InvalidValue {
        InvalidValue::new(
            Self::FIELD,
            "format",
            format!("金额“{input}”无效：应为元，最多两位小数，例如 12.34 或 ¥1,234.50"),
            format!("amount \"{input}\" is invalid: expected yuan with at most two decimals, e.g. 12.34 or ¥1,234.50"),
        )
    }
}

impl FromStr for Fen {
    type Err = InvalidValue;

    /// Parses yuan: `12`, `12.3`, `12.34`, `-0.05`, `¥1,234.50`, `￥12`, `1,234.50元`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut s = input.trim();
        let negative = if let Some(rest) = s.strip_prefix('-') {
            s = rest.trim_start();
            true
        } else {
            false
        };
        s = s.trim_start_matches(['¥', '￥']).trim_end_matches('元').trim();
        let (int_part, frac_part) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        // Thousands separators must group exactly by three.
        let groups: Vec<&str> = int_part.split(',').collect();
        let grouping_ok = groups.len() == 1
            || (!groups[0].is_empty() && groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3));
        let digits: String = groups.concat();
        if digits.is_empty()
            || !grouping_ok
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || frac_part.len() > 2
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || (s.contains('.') && frac_part.is_empty())
        {
            return Err(Self::invalid(input));
        }
        let yuan: i64 = digits.parse().map_err(|_| Self::invalid(input))?;
        let frac: i64 = format!("{frac_part:0<2}").parse().map_err(|_| Self::invalid(input))?;
        let fen = yuan.checked_mul(100).and_then(|y| y.checked_add(frac)).ok_or_else(|| Self::invalid(input))?;
        Ok(Fen(if negative { -fen } else { fen }))
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain())
    }
}

impl Sum for Fen {
    /// Sums amounts. Real amounts are far below i64's range (92 trillion yuan), so this
    /// saturates rather than panics on absurd input; callers that need an error use
    /// `checked_add`.
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.fold(0i64, |acc, f| acc.saturating_add(f.0)))
    }
}

impl Serialize for Fen {
    /// Serialised as a decimal string of yuan, `"12.34"`, so no reader turns it into a float.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_plain())
    }
}

impl<'de> Deserialize<'de> for Fen {
    /// Accepts a string of yuan (`"12.34"`) or a JSON number of yuan (`12.34`) as the national
    /// platform sends them. A number is read through its shortest decimal text, which is
    /// exact for any value with at most two decimals; more decimals are rejected.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Fen;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount in yuan with at most two decimals")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fen, E> {
                v.parse().map_err(|e: InvalidValue| E::custom(e))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
                v.checked_mul(100).map(Fen).ok_or_else(|| E::custom("amount out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
                i64::try_from(v).map_err(|_| E::custom("amount out of range")).and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
                // The shortest round-trip text of the number, then exact decimal parsing.
                format!("{v}").parse().map_err(|e: InvalidValue| E::custom(e))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_table() {
        let rows: &[(&str, Option<i64>)] = &[
            ("12.34", Some(1234)),
            ("12.3", Some(1230)),
            ("12", Some(1200)),
            ("0.05", Some(5)),
            ("-0.05", Some(-5)),
            ("¥1,234.50", Some(123_450)),
            ("￥12", Some(1200)),
            ("1,234,567.89元", Some(123_456_789)),
            ("12.345", None),
            ("1,23.00", None),
            ("12.", None),
            ("abc", None),
            ("", None),
            ("¥", None),
            ("1e3", None),
            ("99999999999999999999", None),
        ];
        for (input, want) in rows {
            assert_eq!(input.parse::<Fen>().ok().map(Fen::fen), *want, "{input}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Fen::from_fen(123_450).to_string(), "1234.50");
        assert_eq!(Fen::from_fen(-5).to_string(), "-0.05");
        assert_eq!(Fen::from_fen(123_456_789).to_grouped(), "1,234,567.89");
        assert_eq!(Fen::from_fen(99).to_grouped(), "0.99");
    }

    #[test]
    fn json_numbers_are_read_exactly() {
        let v: Vec<Fen> = serde_json::from_str(r#"[12.34, 0.1, 0.29, 1000, "5.5", 1234567.89]"#).unwrap();
        assert_eq!(v.iter().map(|f| f.fen()).collect::<Vec<_>>(), vec![1234, 10, 29, 100_000, 550, 123_456_789]);
        assert!(serde_json::from_str::<Fen>("0.123").is_err());
        assert_eq!(serde_json::to_string(&Fen::from_fen(1234)).unwrap(), "\"12.34\"");
    }

    proptest! {
        #[test]
        fn text_round_trips(fen in -10_000_000_000i64..10_000_000_000) {
            let f = Fen::from_fen(fen);
            prop_assert_eq!(f.to_plain().parse::<Fen>().unwrap(), f);
            prop_assert_eq!(f.to_grouped().parse::<Fen>().unwrap(), f);
            let json = serde_json::to_string(&f).unwrap();
            prop_assert_eq!(serde_json::from_str::<Fen>(&json).unwrap(), f);
        }

        #[test]
        fn float_json_with_two_decimals_is_exact(fen in 0i64..1_000_000_000_000) {
            // What a HIS sends: a JSON number with two decimals.
            let text = Fen::from_fen(fen).to_plain();
            prop_assert_eq!(serde_json::from_str::<Fen>(&text).unwrap().fen(), fen);
        }
    }
}
