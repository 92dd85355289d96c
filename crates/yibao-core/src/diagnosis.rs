//! Diagnoses as people name them: an ICD-10 code (「I21.0」, or the national clinical version's
//! longer 「I21.000x001」) with its Chinese name, found by any part of the name, by code, or by
//! the name's pinyin initials (「gxy」 for 高血压). The list is the policy administrator's import
//! (a CSV of code and name); the demo ships a realistic subset.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;

/// One diagnosis of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub code: String,
    pub name: String,
}

/// The pinyin initials of a name, lower case: 「高血压」 → `gxy`; letters and digits kept as
/// they are (lower case), anything else dropped. Used to find diagnoses and catalog items.
pub fn initials(name: &str) -> String {
    use pinyin::ToPinyin;
    name.chars()
        .filter_map(|c| match c.to_pinyin() {
            Some(p) => p.first_letter().chars().next(),
            None if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            None => None,
        })
        .collect()
}

/// Whether `typed` finds `name` (of code `code`): the code begins with it, the name holds it,
/// or the name's initials hold it (lower-cased): 「gxy」 finds 原发性高血压.
pub fn matches(typed: &str, code: &str, name: &str, name_initials: &str) -> bool {
    let t = typed.trim();
    if t.is_empty() {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    code.to_ascii_lowercase().starts_with(&lower)
        || name.contains(t)
        || (t.is_ascii() && t.chars().all(|c| c.is_ascii_alphanumeric()) && name_initials.contains(&lower))
}

/// An ICD-10 code as written on a claim: a letter, two digits, and optionally a point and up
/// to eight letters or digits. Upper-cased.
pub fn parse_code(s: &str) -> Result<String, InvalidValue> {
    let c = s.trim().to_ascii_uppercase();
    let b = c.as_bytes();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    let tail = match c.get(3..) {
        Some("") => true,
        Some(rest) => {
            rest.len() >= 2
                && rest.len() <= 9
                && rest.starts_with('.')
                && rest[1..].bytes().all(|x| x.is_ascii_alphanumeric())
        }
        None => false,
    };
    if head && tail {
        Ok(c)
    } else {
        Err(InvalidValue::new(
            "diagnoses",
            "format",
            format!("诊断编码“{}”格式不对：应为 ICD-10 编码，如 I21.0；也可输入诊断名称从提示中选择", s.trim()),
            format!(
                "\"{}\" is not an ICD-10 code such as I21.0: type the diagnosis's name and pick it from the suggestions",
                s.trim()
            ),
        ))
    }
}

/// A row of an imported list that was not taken: its line and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: crate::Text,
}

/// Reads a diagnosis list: CSV (UTF-8, or GB18030 as spreadsheets in China save it) or XLSX,
/// a header naming the code and name columns (「诊断编码」/`code`, 「诊断名称」/`name`), one
/// diagnosis a row. A row with a bad code or no name is listed with its line, never taken.
pub fn read_list(data: &[u8]) -> Result<(Vec<Diagnosis>, Vec<RejectedRow>), InvalidValue> {
    let table = crate::table::Table::read(data).map_err(|e| {
        InvalidValue::new("file", "unreadable", format!("无法读取文件：{e}"), format!("the file cannot be read: {e}"))
    })?;
    let (Some(code_at), Some(name_at)) = (
        table.column(&["诊断编码", "疾病编码", "code", "diag_code"]),
        table.column(&["诊断名称", "疾病名称", "name", "diag_name"]),
    ) else {
        return Err(InvalidValue::new(
            "file",
            "columns",
            "第一行须有“诊断编码”和“诊断名称”两列",
            "the first row must name the columns code and name",
        ));
    };
    let (mut rows, mut rejected) = (Vec::new(), Vec::new());
    for row in &table.rows {
        let line = row.line;
        if let Err(reason) = &row.cells {
            rejected.push(RejectedRow { line, reason: reason.clone() });
            continue;
        }
        let name = row.get(Some(name_at)).trim();
        match parse_code(row.get(Some(code_at))) {
            Ok(_) if name.is_empty() => rejected
                .push(RejectedRow { line, reason: crate::Text::new("缺少诊断名称", "the name is missing") }),
            Ok(code) => rows.push(Diagnosis { code, name: name.chars().take(100).collect() }),
            Err(e) => rejected.push(RejectedRow { line, reason: e.message }),
        }
    }
    Ok((rows, rejected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_matching() {
        assert_eq!(initials("高血压"), "gxy");
        assert_eq!(initials("2型糖尿病"), "2xtnb");
        assert_eq!(initials("急性ST段抬高型心肌梗死"), "jxstdtgxxjgs");
        let i = initials("原发性高血压");
        // (typed, found?)
        for (typed, found) in
            [("I10", true), ("i1", true), ("高血压", true), ("yfx", true), ("gxy", true), ("xyz", false), ("", false)]
        {
            assert_eq!(matches(typed, "I10", "原发性高血压", &i), found, "{typed}");
        }
    }

    #[test]
    fn codes() {
        for ok in ["I21.0", "i10", "E11.900", "I21.000x001", "J06.9"] {
            assert!(parse_code(ok).is_ok(), "{ok}");
        }
        for bad in ["", "I2", "121.0", "I21.", "I21-0", "高血压", "I21.0123456789"] {
            assert_eq!(parse_code(bad).unwrap_err().code, "format", "{bad}");
        }
    }

    #[test]
    fn a_list_is_read_with_its_bad_rows_named() {
        let csv = "诊断编码,诊断名称\nI10,原发性高血压\nX1,坏编码\nE11.9,\nj06.9,急性上呼吸道感染\n";
        let (rows, rejected) = read_list(csv.as_bytes()).unwrap();
        assert_eq!(
            rows.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
            ["I10", "J06.9"],
            "upper-cased, the bad rows left out"
        );
        assert_eq!(rejected.iter().map(|r| r.line).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(read_list(b"a,b\n1,2\n").unwrap_err().code, "columns");
    }
}
