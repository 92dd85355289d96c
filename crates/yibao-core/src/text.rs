//! Bounds on the free text yibao accepts from outside, and text made safe for spreadsheets.
//!
//! Every text a person, a hospital or a program sends (a name, a note, a file name, a fee
//! line's item) is at most [`MAX_TEXT_CHARS`] characters, holds no control character but
//! tab and line breaks, and no bidirectional control (U+202E and its kin can make
//! `gpj.exe` read as `exe.jpg` or reverse a card number on screen). A date is between 1900
//! and 2099. Text yibao writes into a CSV file is neutralised so that a spreadsheet does not
//! run it as a formula.

use std::borrow::Cow;

use crate::i18n::Text;

/// The longest text a field may hold, in characters (the longest real value, a diagnosis
/// or an item name, is far shorter).
pub const MAX_TEXT_CHARS: usize = 1_000;

/// The longest a whole document sent as a form field may be (a holiday calendar in TOML).
pub const MAX_DOCUMENT_CHARS: usize = 200_000;

/// The years a date may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2099;

/// Why a text was refused: the code, the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: Text,
}

/// Whether `c` may not appear in text yibao accepts: a control character other than tab,
/// line feed and carriage return, or a bidirectional formatting character.
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Checks one field's text: its length (at most `max` characters), its characters, and,
/// if it is a date or a date and time, its year. `field` names it in the message.
pub fn check(field: &str, value: &str, max: usize) -> Result<(), Refused> {
    check_plain(field, value, max)?;
    if let Some(year) = date_year(value) {
        if !YEARS.contains(&year) {
            return Err(Refused {
                code: "bad_date",
                message: Text::new(
                    format!("{field} 的年份 {year} 不在合理范围内（{}–{} 年）", YEARS.start(), YEARS.end()),
                    format!("{field}: the year {year} is out of range ({}–{})", YEARS.start(), YEARS.end()),
                ),
            });
        }
    }
    Ok(())
}

/// Checks a text's length and characters only (for fields whose dates are checked by rules
/// of their own).
pub fn check_plain(field: &str, value: &str, max: usize) -> Result<(), Refused> {
    if let Some(c) = value.chars().find(|&c| is_forbidden(c)) {
        return Err(Refused {
            code: "bad_character",
            message: Text::new(
                format!("{field} 含有不允许的字符（控制字符或文字方向控制符 U+{:04X}），请删除后重试", c as u32),
                format!(
                    "{field} holds a character that is not allowed (a control or text-direction character, U+{:04X}); remove it and try again",
                    c as u32
                ),
            ),
        });
    }
    if value.chars().count() > max {
        return Err(Refused {
            code: "too_long",
            message: Text::new(
                format!("{field} 过长：最多 {max} 个字符"),
                format!("{field} is too long: at most {max} characters"),
            ),
        });
    }
    Ok(())
}

/// The year of a text that is a date (`YYYY-MM-DD`), optionally followed by a time.
fn date_year(value: &str) -> Option<i32> {
    let b = value.as_bytes();
    let shaped = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || matches!(b[10], b' ' | b'T'));
    if shaped {
        value[..4].parse().ok()
    } else {
        None
    }
}

/// `cell` as it may go into a CSV file: text beginning with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is prefixed with an apostrophe, so that a spreadsheet shows it rather than
/// running it as a formula (OWASP's advice on CSV injection). Use it for text columns only:
/// an amount such as `-1.00` is a number, not text.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Rows as a CSV document a spreadsheet opens in UTF-8 (with a byte-order mark); an empty
/// row is a blank line. The caller makes text cells [`spreadsheet_safe`].
pub fn csv_document(rows: &[Vec<String>]) -> String {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for r in rows {
        // INVARIANT: writing to a Vec cannot fail.
        if r.is_empty() {
            let _ = w.write_record([""]);
        } else {
            let _ = w.write_record(r);
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_and_holds_no_control_or_direction_character() {
        assert_eq!(check("name", "张三", MAX_TEXT_CHARS), Ok(()));
        assert_eq!(check("note", "第一行\n第二行\t完", MAX_TEXT_CHARS), Ok(()));
        for bad in ["a\u{0}b", "\u{202e}gpj.exe", "x\u{2066}", "\u{7}", "a\u{85}b", "\u{200f}"] {
            assert_eq!(check("name", bad, MAX_TEXT_CHARS).unwrap_err().code, "bad_character", "{bad:?}");
        }
        assert_eq!(check("note", &"长".repeat(1_000), MAX_TEXT_CHARS), Ok(()));
        assert_eq!(check("note", &"长".repeat(1_001), MAX_TEXT_CHARS).unwrap_err().code, "too_long");
        let refused = check("name", "\u{202e}", 10).unwrap_err();
        assert!(refused.message.zh.contains("U+202E") && refused.message.en.contains("U+202E"));
    }

    #[test]
    fn dates_lie_between_1900_and_2099() {
        for ok in ["1900-01-01", "2026-12-06", "2099-12-31 23:59:59", "2026-12-06T10:00:00", "20261206", "12-2026"] {
            assert_eq!(check("d", ok, MAX_TEXT_CHARS), Ok(()), "{ok}");
        }
        for bad in ["9999-12-31", "1899-12-31", "0000-00-00 00:00:00", "2100-01-01T00:00"] {
            assert_eq!(check("d", bad, MAX_TEXT_CHARS).unwrap_err().code, "bad_date", "{bad}");
        }
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_neutralised() {
        for (cell, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("张三", "张三"),
            ("中国工商银行", "中国工商银行"),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe);
        }
    }
}
