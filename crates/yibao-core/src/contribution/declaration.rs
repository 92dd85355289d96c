//! A unit's monthly declaration as a file (CSV or the first sheet of an XLSX workbook): one
//! row per employee with the ID number and the month's wage; a name column may be there for
//! the people who keep the sheet and is not read. Every row that cannot be read is named by
//! its row in the file; nothing is declared unless every row reads.

use crate::i18n::Text;
use crate::money::Fen;
use crate::resident_id::ResidentId;
use crate::table::Table;

/// A row read: its row in the file, the employee and the wage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredRow {
    pub row: u64,
    pub resident_id: ResidentId,
    pub wage: Fen,
}

const ID: &[&str] = &["身份证号", "公民身份号码", "身份证号码", "resident_id"];
const WAGE: &[&str] = &["月工资", "工资", "缴费工资", "wage"];

/// Reads a declaration file; every problem, by row, if any.
pub fn read_declaration(data: &[u8]) -> Result<Vec<DeclaredRow>, Vec<Text>> {
    let table = Table::read(data)
        .map_err(|e| vec![Text::new(format!("无法读取文件：{e}"), format!("the file cannot be read: {e}"))])?;
    let (Some(id), Some(wage)) = (table.column(ID), table.column(WAGE)) else {
        return Err(vec![Text::new(
            "第一行应为列名，须有“身份证号”和“月工资”两列",
            "the first row names the columns: it needs \"resident_id\" (身份证号) and \"wage\" (月工资)",
        )]);
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for r in &table.rows {
        let n = r.line;
        if let Err(why) = &r.cells {
            problems.push(Text::new(format!("第 {n} 行：{}", why.zh), format!("row {n}: {}", why.en)));
            continue;
        }
        let (rid, amount) = (r.get(Some(id)).trim(), r.get(Some(wage)).trim());
        if rid.is_empty() && amount.is_empty() {
            continue;
        }
        let parsed_id = rid.parse::<ResidentId>();
        let parsed_wage = amount.replace(',', "").parse::<Fen>();
        match (parsed_id, parsed_wage) {
            (Ok(resident_id), Ok(wage)) => rows.push(DeclaredRow { row: n, resident_id, wage }),
            (Err(e), _) => {
                problems.push(Text::new(format!("第 {n} 行：{}", e.message.zh), format!("row {n}: {}", e.message.en)))
            }
            (_, Err(_)) => problems.push(Text::new(
                format!("第 {n} 行：月工资“{amount}”不是金额（如 6850.00）"),
                format!("row {n}: the wage \"{amount}\" is not an amount (e.g. 6850.00)"),
            )),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(Text::new("文件中没有职工", "the file lists no employee"));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rows_are_read_or_named_by_their_row() {
        let ok = "姓名,身份证号,月工资\n张三,620302198506120036,\"8,000.00\"\n,,\n";
        let rows = read_declaration(ok.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].row, rows[0].wage), (2, Fen::from_yuan(8_000)));
        let bad = "身份证号,月工资\n620302198506120036,abc\n620302198506120037,5000\n620302198506120036,5000\n";
        let problems = read_declaration(bad.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].zh.starts_with("第 2 行") && problems[0].en.contains("not an amount"));
        assert!(problems[1].zh.starts_with("第 3 行"), "{problems:?}");
        let no_columns = read_declaration("id,amount\n1,2\n".as_bytes()).unwrap_err();
        assert!(no_columns[0].en.contains("resident_id"));
        assert!(read_declaration("身份证号,月工资\n".as_bytes()).unwrap_err()[0].en.contains("no employee"));
        // Saved by Excel on a Chinese Windows: GBK.
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,身份证号,月工资\n张三,620302198506120036,6850\n");
        let rows = read_declaration(&gbk).unwrap();
        assert_eq!(rows[0].wage, Fen::from_yuan(6_850));
    }
}
