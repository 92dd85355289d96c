//! The body of yibao's fuzz targets: every parser of outside input, fed arbitrary bytes.
//!
//! `fuzz/` at the repository's root runs [`parsers`] under cargo-fuzz (coverage-guided, see
//! `docs/RELIABILITY.md`); the test below runs it on a fixed corpus and on seeded random
//! mutations of it in every test run, so what a fuzzing session found stays found.

use std::fmt::{Debug, Display};
use std::str::FromStr;

use crate::calendar::Calendar;
use crate::payment::ResultFile;
use crate::policy::Policy;
use crate::table::Table;

/// How many parsers [`parsers`] chooses among (by the input's first byte).
pub const PARSERS: u8 = 14;

/// Feeds `data` to one parser, chosen by its first byte; the rest is the input. No parser
/// may panic, and every value that parses must print as text that parses to the same value.
pub fn parsers(data: &[u8]) {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(input);
    match which % PARSERS {
        0 => drop(Table::read(input)),
        1 => drop(ResultFile::parse(input)),
        2 => drop(Policy::parse(&text)),
        3 => drop(Calendar::parse(&text)),
        4 => round_trip::<crate::money::Fen>(&text),
        5 => round_trip::<crate::resident_id::ResidentId>(&text),
        6 => round_trip::<crate::bank_card::BankCardNumber>(&text),
        7 => round_trip::<crate::admin_code::AdminCode>(&text),
        8 => round_trip::<crate::ratio::Ratio>(&text),
        9 => round_trip::<crate::credit_code::CreditCode>(&text),
        10 => round_trip::<crate::phone::PhoneNumber>(&text),
        11 => round_trip::<crate::name::PersonName>(&text),
        12 => {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(input) {
                drop(crate::platform::check_field_lengths(&value));
            }
        }
        _ => {
            let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).and_then(|d| d.and_hms_opt(12, 0, 0));
            if let Some(now) = now {
                drop(crate::platform::check_time(&text, now));
                drop(crate::platform::check_msgid(&text, "H62030200001"));
                drop(crate::platform::check_infno(&text));
                drop(crate::platform::SignType::parse(&text));
            }
        }
    }
}

/// A value that parses prints as text that parses to itself.
fn round_trip<T: FromStr + Display + PartialEq + Debug>(text: &str) {
    if let Ok(value) = text.parse::<T>() {
        let printed = value.to_string();
        let again = printed.parse::<T>().ok();
        assert!(
            again.as_ref() == Some(&value),
            "{text:?} parsed as {value:?}, printed as {printed:?}, read back as {again:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Inputs each parser should see: valid ones and near misses.
    fn corpus() -> Vec<Vec<u8>> {
        let texts: &[(u8, &str)] = &[
            (0, "code,name,price\nX001,阿莫西林胶囊,12.50\nX002,\"=HYPERLINK()\",-1\n"),
            (0, "PK\u{3}\u{4}not really a zip"),
            (1, "1,6222020200112233445,张三,123.45,S,0000,成功\n"),
            (2, "[general]\nyear = 2026\n"),
            (2, "{\"year\": 2026}"),
            (3, "[[year]]\nyear = 2026\nholidays = [\"2026-01-01\"]\nworkdays = []\n"),
            (4, "12.34"),
            (4, "-0.01"),
            (4, "99999999999999999.99"),
            (5, "620302198506120036"),
            (5, "62030219850612003x"),
            (6, "6222020200112233445"),
            (7, "620302"),
            (8, "0.85"),
            (8, "1.000"),
            (9, "91620300MA71234567"),
            (10, "13800138000"),
            (11, "张三"),
            (11, "Ａ\u{202e}"),
            (12, "{\"a\": [\"x\", {\"b\": \"y\"}]}"),
            (13, "2026-12-06 12:00:00"),
            (13, "H62030200001202612061200000001"),
            (13, "9001"),
        ];
        texts.iter().map(|(w, t)| [&[*w][..], t.as_bytes()].concat()).collect()
    }

    #[test]
    fn the_corpus_and_its_mutations_neither_panic_nor_change_in_a_round_trip() {
        let mut rng = StdRng::seed_from_u64(2026);
        let corpus = corpus();
        for input in &corpus {
            super::parsers(input);
        }
        for _ in 0..20_000 {
            let mut input = corpus[rng.gen_range(0..corpus.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(1..input.len().max(2)).min(input.len());
                match rng.gen_range(0..4) {
                    0 if i < input.len() => input[i] = rng.gen(),
                    1 => input.insert(i, rng.gen()),
                    2 if i < input.len() => drop(input.remove(i)),
                    _ => {
                        let from = rng.gen_range(0..corpus.len());
                        input.extend_from_slice(&corpus[from][1..]);
                    }
                }
            }
            super::parsers(&input);
        }
    }
}
