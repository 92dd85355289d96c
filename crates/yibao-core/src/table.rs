//! Tables people upload: CSV in UTF-8, or the first sheet of an XLSX workbook, with column
//! names in the first row. Read into text cells with their line numbers, so each importer
//! (catalogs, a claim's itemised list) only says what its columns mean.

use serde::Serialize;

use crate::i18n::Text;

/// The file formats a table is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Csv,
    Xlsx,
}

impl TableFormat {
    /// XLSX files are ZIP archives; anything else is read as CSV (UTF-8).
    pub fn detect(data: &[u8]) -> TableFormat {
        if data.starts_with(b"PK\x03\x04") {
            TableFormat::Xlsx
        } else {
            TableFormat::Csv
        }
    }
}

/// One row of a table: its cells as text (XLSX dates as `YYYY-MM-DD`, whole numbers without
/// a decimal point), or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line (CSV) or row (XLSX) in the file.
    pub line: u64,
    pub cells: Result<Vec<String>, Text>,
    /// Which cells were numbers in the workbook (always false for CSV): a code typed as a
    /// number has lost its leading zeros.
    pub numeric: Vec<bool>,
}

impl Row {
    /// The cell in column `c`, or "" when the column is absent or the row short.
    pub fn get(&self, c: Option<usize>) -> &str {
        match (&self.cells, c) {
            (Ok(cells), Some(c)) => cells.get(c).map_or("", String::as_str),
            _ => "",
        }
    }

    pub fn is_numeric(&self, c: Option<usize>) -> bool {
        c.and_then(|c| self.numeric.get(c)).copied().unwrap_or(false)
    }
}

/// A table as read: its column names and its rows (blank XLSX rows skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub format: TableFormat,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Reads a CSV or XLSX table. Fails only when the file as a whole cannot be read; a row
    /// that cannot be read is kept with its reason.
    pub fn read(data: &[u8]) -> Result<Table, String> {
        match TableFormat::detect(data) {
            TableFormat::Csv => read_csv(data),
            TableFormat::Xlsx => read_xlsx(data),
        }
    }

    /// The position of the first column named one of `names` (a UTF-8 byte order mark and
    /// surrounding spaces ignored).
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        self.headers.iter().position(|h| names.contains(&h.trim().trim_start_matches('\u{feff}')))
    }
}

/// A CSV as text: UTF-8 when it is, otherwise GBK (GB18030), as Excel saves "CSV" on a
/// Chinese Windows.
fn csv_text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => text.into(),
        Err(_) => encoding_rs::GB18030.decode(data).0,
    }
}

fn read_csv(data: &[u8]) -> Result<Table, String> {
    let text = csv_text(data);
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => rows.push(Row {
                line: record.position().map_or(0, |p| p.line()),
                cells: Ok(record.iter().map(str::to_string).collect()),
                numeric: Vec::new(),
            }),
            Err(e) => {
                rows.push(Row {
                    line: e.position().map_or(0, |p| p.line()),
                    cells: Err(Text::new(format!("无法读取此行：{e}"), format!("unreadable row: {e}"))),
                    numeric: Vec::new(),
                });
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    Ok(Table { format: TableFormat::Csv, headers, rows })
}

fn read_xlsx(data: &[u8]) -> Result<Table, String> {
    use calamine::{Data, DataType, Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(data)).map_err(|e: calamine::XlsxError| e.to_string())?;
    let sheet = book.worksheet_range_at(0).ok_or_else(|| "no worksheet".to_string())?;
    let sheet = sheet.map_err(|e| e.to_string())?;
    let mut cells_of = sheet.rows();
    let headers: Vec<String> = cells_of.next().unwrap_or_default().iter().map(|c| c.to_string()).collect();
    let first_row = u64::from(sheet.start().map_or(0, |(r, _)| r));
    let mut rows = Vec::new();
    for (i, row) in cells_of.enumerate() {
        let numeric: Vec<bool> = row.iter().map(|c| matches!(c, Data::Int(_) | Data::Float(_))).collect();
        let cells: Vec<String> = row
            .iter()
            .map(|cell| match cell {
                Data::DateTime(_) | Data::DateTimeIso(_) => {
                    cell.as_date().map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
                }
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                _ => cell.to_string().trim().to_string(),
            })
            .collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        rows.push(Row { line: first_row + i as u64 + 2, cells: Ok(cells), numeric });
    }
    Ok(Table { format: TableFormat::Xlsx, headers, rows })
}
