//! Proportions (报销比例, 先行自付比例, reductions) as exact basis points: 0.85 is 8,500 of
//! 10,000. Applying one to an amount rounds half up to the fen, once, where a rule says so.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InvalidValue;
use crate::money::Fen;

const SCALE: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ratio(u32);

impl Ratio {
    pub const ZERO: Ratio = Ratio(0);
    pub const ONE: Ratio = Ratio(SCALE);

    /// `bp` basis points (1/10,000); `None` above 1.
    pub const fn from_bp(bp: u32) -> Option<Ratio> {
        if bp <= SCALE {
            Some(Ratio(bp))
        } else {
            None
        }
    }

    pub const fn bp(self) -> u32 {
        self.0
    }

    /// `amount × self`, rounded half up (half away from zero for negative amounts).
    pub fn of(self, amount: Fen) -> Fen {
        let x = i128::from(amount.fen()) * i128::from(self.0);
        let half = i128::from(SCALE / 2);
        let q = if x >= 0 { (x + half) / i128::from(SCALE) } else { (x - half) / i128::from(SCALE) };
        // |q| ≤ |amount| because self ≤ 1, so it fits.
        Fen::from_fen(q as i64)
    }

    pub fn saturating_sub(self, other: Ratio) -> Ratio {
        Ratio(self.0.saturating_sub(other.0))
    }

    /// `1 − self`.
    pub fn complement(self) -> Ratio {
        Ratio(SCALE - self.0)
    }

    /// `85%`, `8.5%`, `0.05%`.
    pub fn percent(self) -> String {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 {
            format!("{whole}%")
        } else if frac.is_multiple_of(10) {
            format!("{whole}.{}%", frac / 10)
        } else {
            format!("{whole}.{frac:02}%")
        }
    }

    /// `0.85`, `0.1`, `1`.
    pub fn to_decimal_text(self) -> String {
        if self.0 == SCALE {
            return "1".into();
        }
        let s = format!("0.{:04}", self.0);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    fn invalid(input: &str) -> InvalidValue {
        InvalidValue::new(
            "ratio",
            "format",
            format!("比例“{input}”无效：应为 0 至 1 之间的小数（最多 4 位小数，如 0.85）或百分数（如 85%）"),
            format!(
                "ratio \"{input}\" is invalid: expected a decimal from 0 to 1 (at most 4 places, e.g. 0.85) or a percentage (e.g. 85%)"
            ),
        )
    }
}

/// Parses unsigned decimal text into an integer scaled by 10^places; `None` if malformed
/// or more precise than `places`.
fn parse_scaled(s: &str, places: u32) -> Option<u64> {
    let (int_part, frac_part) = s.split_once('.').unwrap_or((s, ""));
    if int_part.is_empty()
        || frac_part.len() > places as usize
        || (s.contains('.') && frac_part.is_empty())
        || !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit())
        || int_part.len() > 6
    {
        return None;
    }
    let int: u64 = int_part.parse().ok()?;
    let frac: u64 =
        if frac_part.is_empty() { 0 } else { format!("{frac_part:0<width$}", width = places as usize).parse().ok()? };
    Some(int * 10u64.pow(places) + frac)
}

impl FromStr for Ratio {
    type Err = InvalidValue;

    /// `0.85`, `.85` is refused; `85%`, `8.5%`, `1`, `0`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let bp = match s.strip_suffix('%') {
            Some(p) => parse_scaled(p.trim(), 2),
            None => parse_scaled(s, 4),
        };
        bp.and_then(|bp| u32::try_from(bp).ok()).and_then(Ratio::from_bp).ok_or_else(|| Ratio::invalid(input))
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.percent())
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_decimal_text())
    }
}

impl<'de> Deserialize<'de> for Ratio {
    /// A string (`"0.85"`, `"85%"`) or a number read through its shortest decimal text.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Ratio;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a ratio such as \"0.85\" or \"85%\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ratio, E> {
                v.parse().map_err(|e: InvalidValue| E::custom(e))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ratio, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ratio, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ratio, E> {
                self.visit_str(&v.to_string())
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
        let cases = [
            ("0.85", Some(8_500)),
            ("85%", Some(8_500)),
            ("8.5%", Some(850)),
            ("0.1", Some(1_000)),
            ("1", Some(10_000)),
            ("0", Some(0)),
            ("0.0525", Some(525)),
            ("100%", Some(10_000)),
            ("1.01", None),
            ("0.12345", None),
            ("-0.1", None),
            (".5", None),
            ("5.", None),
            ("abc", None),
            ("", None),
        ];
        for (input, bp) in cases {
            assert_eq!(input.parse::<Ratio>().ok().map(Ratio::bp), bp, "{input}");
        }
    }

    #[test]
    fn applying_rounds_half_up_once() {
        let r = |s: &str| s.parse::<Ratio>().unwrap();
        // 12.35 × 0.1 = 1.235 → 1.24 (half up)
        assert_eq!(r("0.1").of(Fen::from_fen(1_235)), Fen::from_fen(124));
        // 12.34 × 0.1 = 1.234 → 1.23
        assert_eq!(r("0.1").of(Fen::from_fen(1_234)), Fen::from_fen(123));
        // 100.01 × 0.85 = 85.0085 → 85.01
        assert_eq!(r("0.85").of(Fen::from_fen(10_001)), Fen::from_fen(8_501));
        assert_eq!(r("0.5").of(Fen::from_fen(-3)), Fen::from_fen(-2));
        assert_eq!(Ratio::ONE.of(Fen::from_fen(777)), Fen::from_fen(777));
    }

    #[test]
    fn text_forms() {
        let r = |s: &str| s.parse::<Ratio>().unwrap();
        assert_eq!(r("0.85").percent(), "85%");
        assert_eq!(r("0.085").percent(), "8.5%");
        assert_eq!(r("0.0005").percent(), "0.05%");
        assert_eq!(r("0.85").to_decimal_text(), "0.85");
        assert_eq!(r("1").to_decimal_text(), "1");
        assert_eq!(r("0").to_decimal_text(), "0");
        assert_eq!(serde_json::from_str::<Ratio>("0.9").unwrap().bp(), 9_000);
        assert_eq!(serde_json::to_string(&r("0.9")).unwrap(), "\"0.9\"");
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(bp in 0u32..=10_000) {
            let r = Ratio::from_bp(bp).unwrap();
            prop_assert_eq!(r.to_decimal_text().parse::<Ratio>().unwrap(), r);
        }

        #[test]
        fn a_share_and_its_complement_never_exceed_the_whole(bp in 0u32..=10_000, fen in 0i64..10_000_000_000) {
            let r = Ratio::from_bp(bp).unwrap();
            let a = Fen::from_fen(fen);
            prop_assert!(r.of(a) <= a);
            // Each rounds separately, so they may differ from the whole by at most one fen.
            prop_assert!((r.of(a).fen() + r.complement().of(a).fen() - fen).abs() <= 1);
        }
    }
}
