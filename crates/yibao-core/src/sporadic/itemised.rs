//! A claim's itemised expense list (费用明细清单), read from what the claimant has: a CSV or
//! XLSX table (national column names or the Chinese headings printed on the list), or the
//! JSON an off-site hospital on the national platform sends with 2301 (`feedetail[]`, the
//! whole request envelope, or just the array), whose refund lines are netted into the lines
//! they refund. Every problem is reported with its row at once; the amounts themselves are
//! checked where every claim's lines are (cnt × pric, the invoices' total).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::adjudicate::{net_refunds, FeeLine};
use crate::error::InvalidValue;
use crate::money::Fen;
use crate::table::Table;

/// One line of the itemised list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemisedLine {
    /// The national catalog code (医保目录编码).
    pub med_list_codg: String,
    #[serde(default)]
    pub item_name: String,
    pub cnt: Decimal,
    pub pric: Decimal,
    /// cnt × pric.
    pub amount: Fen,
    pub fee_ocur_time: NaiveDate,
}

/// The most lines one list may hold.
pub const MAX_LINES: usize = 5_000;

/// The column names accepted for each field, national first.
const COLUMNS: [(&str, &[&str]); 6] = [
    ("med_list_codg", &["med_list_codg", "医保目录编码", "医保编码", "项目编码"]),
    ("item_name", &["item_name", "medins_list_name", "项目名称", "名称"]),
    ("cnt", &["cnt", "数量"]),
    ("pric", &["pric", "单价"]),
    ("amount", &["det_item_fee_sumamt", "amount", "金额"]),
    ("fee_ocur_time", &["fee_ocur_time", "费用发生时间", "日期"]),
];

fn row_error(line: u64, zh: impl std::fmt::Display, en: impl std::fmt::Display) -> InvalidValue {
    InvalidValue::new("lines", "line", format!("明细第 {line} 行：{zh}"), format!("itemised list line {line}: {en}"))
}

fn file_error(zh: impl Into<String>, en: impl Into<String>) -> InvalidValue {
    InvalidValue::new("lines_file", "file", zh, en)
}

/// Reads an itemised list from a file's bytes: JSON when it starts with `{` or `[`, else a
/// CSV or XLSX table.
pub fn read(data: &[u8]) -> Result<Vec<ItemisedLine>, Vec<InvalidValue>> {
    let text_start = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let lines = match text_start.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => read_feedetail(text_start)?,
        Some(_) => read_table(data)?,
        None => Vec::new(),
    };
    if lines.is_empty() {
        return Err(vec![file_error("明细文件中没有费用明细", "the file holds no expense lines")]);
    }
    if lines.len() > MAX_LINES {
        return Err(vec![file_error(
            format!("明细超过 {MAX_LINES} 行，请分开申报"),
            format!("over {MAX_LINES} lines; split the claim"),
        )]);
    }
    Ok(lines)
}

fn read_table(data: &[u8]) -> Result<Vec<ItemisedLine>, Vec<InvalidValue>> {
    let table = Table::read(data)
        .map_err(|e| vec![file_error(format!("明细文件无法读取：{e}"), format!("cannot read the file: {e}"))])?;
    let cols: Vec<Option<usize>> = COLUMNS.iter().map(|(_, names)| table.column(names)).collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .zip(&cols)
        .filter(|((f, _), c)| c.is_none() && *f != "item_name")
        .map(|((f, _), _)| *f)
        .collect();
    if !missing.is_empty() {
        let names = missing.join(", ");
        return Err(vec![file_error(
            format!("明细文件缺少列：{names}"),
            format!("the file lacks the columns {names}"),
        )]);
    }
    let mut errors = Vec::new();
    let mut lines = Vec::new();
    for row in &table.rows {
        if let Err(reason) = &row.cells {
            errors.push(row_error(row.line, &reason.zh, &reason.en));
            continue;
        }
        let [code, name, cnt, pric, amount, day] = [0, 1, 2, 3, 4, 5].map(|i| row.get(cols[i]).trim());
        if row.is_numeric(cols[0]) {
            errors.push(row_error(
                row.line,
                "医保目录编码须为文本格式：数字格式会丢失前导零",
                "the national code must be a text cell: a number loses its leading zeros",
            ));
            continue;
        }
        match parse_row(code, name, cnt, pric, amount, day) {
            Ok(l) => lines.push(l),
            Err((zh, en)) => errors.push(row_error(row.line, zh, en)),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

fn parse_row(
    code: &str,
    name: &str,
    cnt: &str,
    pric: &str,
    amount: &str,
    day: &str,
) -> Result<ItemisedLine, (String, String)> {
    if code.is_empty() {
        return Err(("缺少医保目录编码".into(), "the national code is missing".into()));
    }
    let number = |s: &str, zh: &str, en: &str| {
        s.parse::<Decimal>().map_err(|_| (format!("{zh}“{s}”不是数字"), format!("{en} \"{s}\" is not a number")))
    };
    let cnt = number(cnt, "数量", "quantity")?;
    let pric = number(pric, "单价", "unit price")?;
    let amount: Fen = amount
        .parse()
        .map_err(|e: InvalidValue| (format!("金额：{}", e.message.zh), format!("amount: {}", e.message.en)))?;
    let day = day.get(..10).unwrap_or(day);
    let fee_ocur_time = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%Y%m%d"))
        .map_err(|_| (format!("日期“{day}”无效"), format!("invalid date \"{day}\"")))?;
    Ok(ItemisedLine { med_list_codg: code.to_string(), item_name: name.to_string(), cnt, pric, amount, fee_ocur_time })
}

/// A `feedetail` line as the platform sends it.
#[derive(Deserialize)]
struct Feedetail {
    #[serde(flatten)]
    line: FeeLine,
    #[serde(default)]
    init_feedetl_sn: Option<String>,
    #[serde(default, alias = "medins_list_name")]
    item_name: String,
}

fn read_feedetail(data: &[u8]) -> Result<Vec<ItemisedLine>, Vec<InvalidValue>> {
    let bad_json = |e: &dyn std::fmt::Display| {
        vec![file_error(format!("JSON 无法读取：{e}"), format!("the JSON cannot be read: {e}"))]
    };
    let value: Value = serde_json::from_slice(data).map_err(|e| bad_json(&e))?;
    let array = ["/input/feedetail", "/feedetail", ""]
        .iter()
        .find_map(|p| value.pointer(p).filter(|v| v.is_array()))
        .cloned()
        .ok_or_else(|| {
            vec![file_error(
                "JSON 中没有 feedetail 数组（2301 的 input.feedetail）",
                "the JSON has no feedetail array (2301's input.feedetail)",
            )]
        })?;
    let Value::Array(items) = array else { return Err(bad_json(&"not an array")) };
    let mut errors = Vec::new();
    let mut fees = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<Feedetail>(item) {
            Ok(f) => fees.push(f),
            Err(e) => errors.push(row_error(i as u64 + 1, e.to_string(), e)),
        }
    }
    for (i, f) in fees.iter().enumerate() {
        if !f.line.cnt.is_sign_negative() {
            continue;
        }
        let target = f.init_feedetl_sn.as_deref().and_then(|sn| fees.iter().find(|g| &*g.line.feedetl_sn == sn));
        match target {
            None => errors.push(row_error(
                i as u64 + 1,
                "退费行（数量为负）须以 init_feedetl_sn 指明所退的明细",
                "a refund line (negative cnt) must name the line it refunds in init_feedetl_sn",
            )),
            Some(t) if t.line.med_list_codg != f.line.med_list_codg || t.line.cnt.is_sign_negative() => {
                errors.push(row_error(i as u64 + 1, "所退的明细不是同一项目", "the refunded line is another item"))
            }
            Some(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let pairs: Vec<(FeeLine, Option<&str>)> = fees
        .iter()
        .map(|f| (f.line.clone(), f.init_feedetl_sn.as_deref().filter(|_| f.line.cnt.is_sign_negative())))
        .collect();
    let netted = net_refunds(&pairs);
    let mut lines = Vec::with_capacity(netted.len());
    for l in netted {
        if l.cnt.is_sign_negative() || l.det_item_fee_sumamt.fen() < 0 {
            errors.push(file_error(
                format!("明细 {} 的退费超过收费", l.feedetl_sn),
                format!("the refunds of line {} exceed its charge", l.feedetl_sn),
            ));
            continue;
        }
        let name = fees.iter().find(|f| f.line.feedetl_sn == l.feedetl_sn).map(|f| f.item_name.trim().to_string());
        lines.push(ItemisedLine {
            med_list_codg: l.med_list_codg.to_string(),
            item_name: name.unwrap_or_default(),
            cnt: l.cnt,
            pric: l.pric,
            amount: l.det_item_fee_sumamt,
            fee_ocur_time: l.fee_ocur_time.0,
        });
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(s: &str) -> Fen {
        s.parse().unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn a_csv_with_chinese_headings_reads_line_by_line() {
        let csv = "\u{feff}医保目录编码,项目名称,数量,单价,金额,费用发生时间\n\
                   001102000010000,床位费,3,50,150.00,2026-03-02\n\
                   XA01ABD075A002010100483,阿莫西林胶囊,2,12.5,25,2026-03-03 10:20:00\n";
        let lines = read(csv.as_bytes()).unwrap_or_else(|e| unreachable!("{e:?}"));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].med_list_codg, "001102000010000");
        assert_eq!(lines[0].amount, fen("150"));
        assert_eq!(lines[1].item_name, "阿莫西林胶囊");
        assert_eq!(lines[1].pric, Decimal::new(125, 1));
        assert_eq!(lines[1].fee_ocur_time, NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default());
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "med_list_codg,cnt,pric,det_item_fee_sumamt,fee_ocur_time\n\
                   ,1,2,2,2026-03-01\n\
                   C001,x,2,2,2026-03-01\n\
                   C002,1,2,2.001,2026-03-01\n\
                   C003,1,2,2,2026-13-01\n\
                   C004,1,2,2,2026-03-01\n";
        let errors = read(csv.as_bytes()).err().unwrap_or_default();
        let lines: Vec<&str> = errors.iter().map(|e| e.message.en.as_str()).collect();
        assert_eq!(errors.len(), 4, "{lines:?}");
        for (e, n) in errors.iter().zip([2, 3, 4, 5]) {
            assert!(e.message.zh.starts_with(&format!("明细第 {n} 行")), "{}", e.message.zh);
        }
        assert!(lines[1].contains("quantity \"x\""));
        assert!(lines[3].contains("2026-13-01"));
    }

    #[test]
    fn a_table_without_a_required_column_is_refused_naming_it() {
        let errors = read(b"med_list_codg,cnt,pric\nC1,1,1\n").err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.en.contains("det_item_fee_sumamt") || errors[0].message.en.contains("amount"));
        assert!(errors[0].message.en.contains("fee_ocur_time"));
        assert!(read(b"  ").is_err());
    }

    #[test]
    fn an_xlsx_list_reads_and_a_numeric_code_is_refused() {
        use rust_xlsxwriter::Workbook;
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let heads = ["med_list_codg", "item_name", "cnt", "pric", "det_item_fee_sumamt", "fee_ocur_time"];
        for (c, h) in heads.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap_or_else(|e| unreachable!("{e}"));
        }
        let rows: [(&str, f64); 2] = [("001102000010000", 150.0), ("", 30.0)];
        for (r, (code, amount)) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            if code.is_empty() {
                sheet.write_number(r, 0, 1102000010000.0).unwrap_or_else(|e| unreachable!("{e}"));
            } else {
                sheet.write_string(r, 0, *code).unwrap_or_else(|e| unreachable!("{e}"));
            }
            sheet.write_string(r, 1, "床位费").unwrap_or_else(|e| unreachable!("{e}"));
            sheet.write_number(r, 2, 3.0).unwrap_or_else(|e| unreachable!("{e}"));
            sheet.write_number(r, 3, amount / 3.0).unwrap_or_else(|e| unreachable!("{e}"));
            sheet.write_number(r, 4, *amount).unwrap_or_else(|e| unreachable!("{e}"));
            sheet.write_string(r, 5, "2026-03-02").unwrap_or_else(|e| unreachable!("{e}"));
        }
        let bytes = book.save_to_buffer().unwrap_or_else(|e| unreachable!("{e}"));
        let errors = read(&bytes).err().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.zh.starts_with("明细第 3 行"), "{}", errors[0].message.zh);
        assert!(errors[0].message.en.contains("text cell"));
    }

    #[test]
    fn platform_feedetail_nets_refunds_into_their_lines() {
        let json = r#"{"infno":"2301","input":{"feedetail":[
            {"feedetl_sn":"1","mdtrt_id":"M1","med_list_codg":"001102000010000","medins_list_name":"床位费",
             "cnt":"4","pric":"50","det_item_fee_sumamt":"200","fee_ocur_time":"2026-03-02 08:00:00"},
            {"feedetl_sn":"2","med_list_codg":"C001","cnt":1,"pric":12.5,"det_item_fee_sumamt":12.5,
             "fee_ocur_time":"2026-03-02"},
            {"feedetl_sn":"3","init_feedetl_sn":"1","med_list_codg":"001102000010000","cnt":"-1","pric":"50",
             "det_item_fee_sumamt":"-50","fee_ocur_time":"2026-03-03"},
            {"feedetl_sn":"4","init_feedetl_sn":"2","med_list_codg":"C001","cnt":"-1","pric":"12.5",
             "det_item_fee_sumamt":"-12.5","fee_ocur_time":"2026-03-03"}]}}"#;
        let lines = read(json.as_bytes()).unwrap_or_else(|e| unreachable!("{e:?}"));
        assert_eq!(lines.len(), 1, "the fully refunded line drops out");
        assert_eq!(lines[0].item_name, "床位费");
        assert_eq!(lines[0].cnt, Decimal::from(3));
        assert_eq!(lines[0].amount, fen("150"));
        // The bare array reads the same.
        let value: Value = serde_json::from_str(json).unwrap_or_default();
        let bare = serde_json::to_vec(&value["input"]["feedetail"]).unwrap_or_default();
        assert_eq!(read(&bare).ok(), Some(lines));
    }

    #[test]
    fn a_refund_must_name_its_line_and_not_exceed_it() {
        let unnamed = r#"[{"feedetl_sn":"1","med_list_codg":"C1","cnt":"-1","pric":"5","det_item_fee_sumamt":"-5",
            "fee_ocur_time":"2026-03-02"}]"#;
        let e = read(unnamed.as_bytes()).err().unwrap_or_default();
        assert!(e[0].message.en.contains("init_feedetl_sn"), "{e:?}");
        let over = r#"[{"feedetl_sn":"1","med_list_codg":"C1","cnt":"1","pric":"5","det_item_fee_sumamt":"5",
            "fee_ocur_time":"2026-03-02"},{"feedetl_sn":"2","init_feedetl_sn":"1","med_list_codg":"C1","cnt":"-2",
            "pric":"5","det_item_fee_sumamt":"-10","fee_ocur_time":"2026-03-02"}]"#;
        let e = read(over.as_bytes()).err().unwrap_or_default();
        assert!(e[0].message.en.contains("exceed"), "{e:?}");
        assert!(read(b"{\"foo\":1}").is_err());
    }
}
