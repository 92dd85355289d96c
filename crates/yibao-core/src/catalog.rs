//! The medical insurance catalogs (医保目录) as data: drugs, diagnosis and treatment
//! services, medical service facilities and medical consumables, per region, with effective
//! dates, keyed by the national codes. Imported from CSV (`docs/formats/catalog.md`); a bad
//! row is reported with its line and reason and the rest still load.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::admin_code::AdminCode;
use crate::i18n::{Lang, Text};
use crate::ratio::Ratio;
use crate::registry::HospitalGrade;
use crate::table::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Drug,
    Service,
    Facility,
    Consumable,
}

impl ItemKind {
    /// From the national code's shape: western drugs start with `X`, Chinese patent
    /// medicines with `Z`, Chinese herbal pieces with `T`, consumables with `C`; services
    /// are digits.
    pub fn from_code(code: &str) -> ItemKind {
        match code.as_bytes().first() {
            Some(b'X' | b'Z' | b'T') => ItemKind::Drug,
            Some(b'C') => ItemKind::Consumable,
            _ => ItemKind::Service,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ItemKind::Drug, Lang::Zh) => "药品",
            (ItemKind::Service, Lang::Zh) => "诊疗项目",
            (ItemKind::Facility, Lang::Zh) => "医疗服务设施",
            (ItemKind::Consumable, Lang::Zh) => "医用耗材",
            (ItemKind::Drug, Lang::En) => "drug",
            (ItemKind::Service, Lang::En) => "service",
            (ItemKind::Facility, Lang::En) => "facility",
            (ItemKind::Consumable, Lang::En) => "consumable",
        }
    }

    fn parse(s: &str) -> Option<ItemKind> {
        match s {
            "drug" | "药品" => Some(ItemKind::Drug),
            "service" | "诊疗项目" => Some(ItemKind::Service),
            "facility" | "医疗服务设施" => Some(ItemKind::Facility),
            "consumable" | "医用耗材" => Some(ItemKind::Consumable),
            _ => None,
        }
    }
}

/// 甲类 / 乙类 / 丙类: the national `chrgitm_lv` 01 / 02 / 03.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    A,
    B,
    C,
}

impl Category {
    /// The national `chrgitm_lv` code.
    pub fn code(self) -> &'static str {
        match self {
            Category::A => "01",
            Category::B => "02",
            Category::C => "03",
        }
    }

    fn parse(s: &str) -> Option<Category> {
        match s {
            "01" | "1" | "A" | "甲" | "甲类" => Some(Category::A),
            "02" | "2" | "B" | "乙" | "乙类" => Some(Category::B),
            "03" | "3" | "C" | "丙" | "丙类" => Some(Category::C),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Category::A, Lang::Zh) => "甲类",
            (Category::B, Lang::Zh) => "乙类",
            (Category::C, Lang::Zh) => "丙类",
            (Category::A, Lang::En) => "Category A",
            (Category::B, Lang::En) => "Category B",
            (Category::C, Lang::En) => "Category C",
        }
    }
}

/// Limits on when an item is covered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    /// Covered only with a diagnosis starting with one of these ICD-10 codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<String>,
    /// Covered only at these hospital grades.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<HospitalGrade>,
    /// Covered only up to this quantity within one claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<Decimal>,
    /// 限性别 / 限年龄: for whom the item is meant (checked by the supervision rule
    /// `catalog_limits`).
    #[serde(default, skip_serializing_if = "PersonLimits::is_empty")]
    pub person: PersonLimits,
}

impl Restriction {
    pub fn is_empty(&self) -> bool {
        self.diagnoses.is_empty() && self.grades.is_empty() && self.max_quantity.is_none() && self.person.is_empty()
    }
}

/// An item meant for persons of one sex, or of some ages (whole years on the day).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<crate::resident_id::Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
}

impl PersonLimits {
    pub fn is_empty(&self) -> bool {
        self.sex.is_none() && self.min_age.is_none() && self.max_age.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub code: String,
    pub name: String,
    pub kind: ItemKind,
    pub category: Category,
    /// 先行自付比例 of a category-B item.
    pub selfpay_prop: Ratio,
    /// 最高限价 per unit (`pric_uplmt_amt`), in yuan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cap: Option<Decimal>,
    pub begin: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Restriction::is_empty")]
    pub restriction: Restriction,
}

impl CatalogEntry {
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.begin <= date && self.end.is_none_or(|e| date <= e)
    }
}

/// The longest national code a catalog holds.
pub const MAX_CODE_LEN: usize = 40;

/// A national code as a hash key held inline (zero-padded; codes are ASCII letters and
/// digits), so a lookup compares keys without following a pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Code([u8; MAX_CODE_LEN]);

impl Code {
    fn new(code: &str) -> Option<Code> {
        let mut key = [0u8; MAX_CODE_LEN];
        key.get_mut(..code.len())?.copy_from_slice(code.as_bytes());
        Some(Code(key))
    }
}

/// The versions of one code, oldest first; almost always just one.
#[derive(Debug, Clone)]
enum Versions {
    One(Arc<CatalogEntry>),
    Many(Vec<Arc<CatalogEntry>>),
}

impl Versions {
    fn as_slice(&self) -> &[Arc<CatalogEntry>] {
        match self {
            Versions::One(e) => std::slice::from_ref(e),
            Versions::Many(v) => v,
        }
    }
}

/// One region's catalog. Entries are shared (`Arc`), so a line outcome can point at the
/// entry it was adjudicated under without copying it.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: FxHashMap<Code, Versions>,
    len: usize,
    /// Each name's pinyin initials, worked out at the first search (adjudication never
    /// needs them) and forgotten when an entry is added.
    initials: std::sync::OnceLock<FxHashMap<String, String>>,
}

impl Catalog {
    /// Adds one version of an entry. A code longer than [`MAX_CODE_LEN`] is not a national
    /// code; the import refuses it, and here it is ignored.
    pub fn insert(&mut self, entry: CatalogEntry) {
        let Some(key) = Code::new(&entry.code) else {
            return;
        };
        let entry = Arc::new(entry);
        self.initials = std::sync::OnceLock::new();
        match self.entries.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Versions::One(entry));
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let mut all = o.get().as_slice().to_vec();
                all.push(entry);
                all.sort_by_key(|e| e.begin);
                o.insert(Versions::Many(all));
            }
        }
        self.len += 1;
    }

    /// The entry for `code` in force on `date`.
    pub fn lookup(&self, code: &str, date: NaiveDate) -> Option<&Arc<CatalogEntry>> {
        self.entries.get(&Code::new(code)?)?.as_slice().iter().rev().find(|e| e.in_force(date))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn entries(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.entries.values().flat_map(Versions::as_slice).map(|e| &**e)
    }

    /// Entries in force on `on` that what was typed finds — any part of the name, the start of
    /// the code, or the name's pinyin initials (「amxl」 for 阿莫西林) — shortest names first,
    /// then by code, at most `limit`.
    pub fn find(&self, typed: &str, on: NaiveDate, limit: usize) -> Vec<&CatalogEntry> {
        let initials = self.initials.get_or_init(|| {
            self.entries
                .values()
                .flat_map(|v| v.as_slice())
                .map(|e| (e.name.clone(), crate::diagnosis::initials(&e.name)))
                .collect()
        });
        let mut found: Vec<&CatalogEntry> = self
            .entries
            .values()
            .filter_map(|v| v.as_slice().iter().rev().find(|e| e.in_force(on)))
            .filter(|e| {
                let of_name = initials.get(&e.name).map_or("", String::as_str);
                crate::diagnosis::matches(typed, &e.code, &e.name, of_name)
            })
            .map(|e| &**e)
            .collect();
        found.sort_by(|a, b| (a.name.chars().count(), &a.code).cmp(&(b.name.chars().count(), &b.code)));
        found.truncate(limit);
        found
    }
}

/// The catalogs of every region yibao knows.
#[derive(Debug, Clone, Default)]
pub struct Catalogs {
    by_region: BTreeMap<AdminCode, Catalog>,
}

impl Catalogs {
    pub fn insert(&mut self, region: AdminCode, entry: CatalogEntry) {
        self.by_region.entry(region).or_default().insert(entry);
    }

    /// The catalog serving `region`: its own, else its prefecture's, else its province's.
    /// One region's catalog is used whole; catalogs are never mixed.
    pub fn for_region(&self, region: AdminCode) -> Option<(AdminCode, &Catalog)> {
        [region, region.prefecture(), region.province()]
            .into_iter()
            .find_map(|r| self.by_region.get(&r).map(|c| (r, c)))
    }

    pub fn regions(&self) -> impl Iterator<Item = (AdminCode, &Catalog)> {
        self.by_region.iter().map(|(r, c)| (*r, c))
    }

    pub fn len(&self) -> usize {
        self.by_region.values().map(Catalog::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads a catalog file (CSV or XLSX), adding its good rows; returns the rejected rows.
    pub fn import(&mut self, data: &[u8]) -> Result<Vec<RejectedRow>, RejectedRow> {
        let file = CatalogFile::read(data)?;
        for row in file.rows {
            self.insert(row.region, row.entry);
        }
        Ok(file.rejected)
    }
}

/// The file formats a catalog is imported from.
pub use crate::table::TableFormat as CatalogFormat;

/// One accepted row of a catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRow {
    /// 1-based line (CSV) or row (XLSX) in the file.
    pub line: u64,
    pub region: AdminCode,
    pub entry: CatalogEntry,
}

/// A catalog file read and checked row by row: what can be imported, and what cannot and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFile {
    pub format: CatalogFormat,
    pub rows: Vec<CatalogRow>,
    pub rejected: Vec<RejectedRow>,
}

impl CatalogFile {
    /// Reads a CSV or XLSX catalog (the first sheet, headers in its first row). The file is
    /// refused whole only when it cannot be read or lacks a required column.
    pub fn read(data: &[u8]) -> Result<CatalogFile, RejectedRow> {
        let table = Table::read(data).map_err(|e| RejectedRow::file(&e))?;
        let cols = Columns::find(&table)?;
        let mut file = CatalogFile { format: table.format, rows: Vec::new(), rejected: Vec::new() };
        for row in &table.rows {
            let line = row.line;
            let code = row.get(cols.code).to_string();
            let cells = match &row.cells {
                Ok(cells) => cells,
                Err(reason) => {
                    file.rejected.push(RejectedRow { line, code, field: "", reason: reason.clone() });
                    continue;
                }
            };
            if row.is_numeric(cols.code) {
                // A code typed as a number has lost its leading zeros; it cannot be trusted.
                file.rejected.push(RejectedRow {
                    line,
                    code,
                    field: "med_list_codg",
                    reason: Text::new(
                        "医保目录编码须为文本格式：数字格式会丢失前导零",
                        "the national code must be a text cell: a number loses its leading zeros",
                    ),
                });
                continue;
            }
            let fields: Vec<&str> = cells.iter().map(String::as_str).collect();
            match cols.entry(&fields) {
                Ok((region, entry)) => file.rows.push(CatalogRow { line, region, entry }),
                Err((field, reason)) => file.rejected.push(RejectedRow { line, code, field, reason }),
            }
        }
        Ok(file)
    }
}

/// A row the import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRow {
    /// 1-based line in the file (0 for the file as a whole).
    pub line: u64,
    pub code: String,
    pub field: &'static str,
    pub reason: Text,
}

impl RejectedRow {
    fn whole(zh: String, en: String) -> RejectedRow {
        RejectedRow { line: 0, code: String::new(), field: "", reason: Text::new(zh, en) }
    }

    fn file(e: &str) -> RejectedRow {
        RejectedRow {
            line: 0,
            code: String::new(),
            field: "",
            reason: Text::new(format!("目录文件无法读取：{e}"), format!("cannot read the catalog file: {e}")),
        }
    }
}

struct Columns {
    admdvs: Option<usize>,
    code: Option<usize>,
    name: Option<usize>,
    kind: Option<usize>,
    level: Option<usize>,
    selfpay: Option<usize>,
    cap: Option<usize>,
    begin: Option<usize>,
    end: Option<usize>,
    diagnoses: Option<usize>,
    grades: Option<usize>,
    quantity: Option<usize>,
    sex: Option<usize>,
    min_age: Option<usize>,
    max_age: Option<usize>,
}

type RowError = (&'static str, Text);

fn bad(field: &'static str, zh: String, en: String) -> RowError {
    (field, Text::new(zh, en))
}

fn date(field: &'static str, s: &str) -> Result<NaiveDate, RowError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d"))
        .map_err(|_| bad(field, format!("日期“{s}”无效"), format!("invalid date \"{s}\"")))
}

fn decimal(field: &'static str, s: &str) -> Result<Decimal, RowError> {
    match s.parse::<Decimal>() {
        Ok(d) if d.is_sign_positive() && !d.is_zero() => Ok(d),
        _ => Err(bad(field, format!("“{s}”不是正数"), format!("\"{s}\" is not a positive number"))),
    }
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '|', ',', '，', '；']).map(str::trim).filter(|p| !p.is_empty())
}

impl Columns {
    /// Finds the columns by their national names; the required ones must be there.
    fn find(table: &Table) -> Result<Columns, RejectedRow> {
        let column = |name: &str| table.column(&[name]);
        let cols = Columns {
            admdvs: column("admdvs"),
            code: column("med_list_codg"),
            name: column("name"),
            kind: column("list_type"),
            level: column("chrgitm_lv"),
            selfpay: column("selfpay_prop"),
            cap: column("pric_uplmt_amt"),
            begin: column("begndate"),
            end: column("enddate"),
            diagnoses: column("lmt_dise"),
            grades: column("lmt_hosp_lv"),
            quantity: column("lmt_cnt"),
            sex: column("lmt_gend"),
            min_age: column("lmt_age_min"),
            max_age: column("lmt_age_max"),
        };
        for (name, c) in [
            ("admdvs", cols.admdvs),
            ("med_list_codg", cols.code),
            ("chrgitm_lv", cols.level),
            ("begndate", cols.begin),
        ] {
            if c.is_none() {
                return Err(RejectedRow::whole(
                    format!("目录文件缺少必需的列 {name}"),
                    format!("the catalog file lacks the required column {name}"),
                ));
            }
        }
        Ok(cols)
    }

    fn get<'r>(&self, record: &[&'r str], c: Option<usize>) -> &'r str {
        c.and_then(|c| record.get(c)).copied().unwrap_or("")
    }

    fn entry(&self, r: &[&str]) -> Result<(AdminCode, CatalogEntry), RowError> {
        let admdvs = self.get(r, self.admdvs);
        let region: AdminCode = admdvs.parse().map_err(|_| {
            bad("admdvs", format!("区划代码“{admdvs}”无效"), format!("invalid division code \"{admdvs}\""))
        })?;
        let code = self.get(r, self.code);
        if code.is_empty() || code.len() > MAX_CODE_LEN || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(bad(
                "med_list_codg",
                format!("医保目录编码“{code}”无效"),
                format!("invalid national code \"{code}\""),
            ));
        }
        let level = self.get(r, self.level);
        let category = Category::parse(level).ok_or_else(|| {
            bad(
                "chrgitm_lv",
                format!("收费项目等级“{level}”无效，应为 01/02/03"),
                format!("charge level \"{level}\" is invalid; expected 01, 02 or 03"),
            )
        })?;
        let kind_text = self.get(r, self.kind);
        let kind = if kind_text.is_empty() {
            ItemKind::from_code(code)
        } else {
            ItemKind::parse(kind_text).ok_or_else(|| {
                bad("list_type", format!("目录类别“{kind_text}”无效"), format!("unknown list type \"{kind_text}\""))
            })?
        };
        let selfpay_text = self.get(r, self.selfpay);
        let selfpay_prop = if selfpay_text.is_empty() {
            Ratio::ZERO
        } else {
            selfpay_text.parse().map_err(|e: crate::InvalidValue| ("selfpay_prop", e.message))?
        };
        if category != Category::B && selfpay_prop != Ratio::ZERO {
            return Err(bad(
                "selfpay_prop",
                "只有乙类项目可以设置先行自付比例".into(),
                "only category-B items have a self-pay-first share".into(),
            ));
        }
        let cap_text = self.get(r, self.cap);
        let price_cap = if cap_text.is_empty() { None } else { Some(decimal("pric_uplmt_amt", cap_text)?) };
        let begin = date("begndate", self.get(r, self.begin))?;
        let end_text = self.get(r, self.end);
        let end = if end_text.is_empty() { None } else { Some(date("enddate", end_text)?) };
        if end.is_some_and(|e| e < begin) {
            return Err(bad("enddate", "终止日期早于开始日期".into(), "the end date is before the begin date".into()));
        }
        let mut grades = Vec::new();
        for g in list(self.get(r, self.grades)) {
            grades.push(HospitalGrade::parse(g).map_err(|e| ("lmt_hosp_lv", e.message))?);
        }
        let qty_text = self.get(r, self.quantity);
        let max_quantity = if qty_text.is_empty() { None } else { Some(decimal("lmt_cnt", qty_text)?) };
        let sex = match self.get(r, self.sex) {
            "" => None,
            "1" => Some(crate::resident_id::Sex::Male),
            "2" => Some(crate::resident_id::Sex::Female),
            other => {
                return Err(bad(
                    "lmt_gend",
                    format!("限性别“{other}”无效，应为 1（男）或 2（女）"),
                    format!("limited sex \"{other}\" is invalid; expected 1 (male) or 2 (female)"),
                ))
            }
        };
        let age = |field: &'static str, c: Option<usize>| -> Result<Option<u32>, RowError> {
            match self.get(r, c) {
                "" => Ok(None),
                t => match t.parse::<u32>() {
                    Ok(a) if a <= 150 => Ok(Some(a)),
                    _ => Err(bad(field, format!("年龄“{t}”无效"), format!("age \"{t}\" is invalid"))),
                },
            }
        };
        let (min_age, max_age) = (age("lmt_age_min", self.min_age)?, age("lmt_age_max", self.max_age)?);
        if let (Some(lo), Some(hi)) = (min_age, max_age) {
            if lo > hi {
                return Err(bad(
                    "lmt_age_max",
                    "最大年龄小于最小年龄".into(),
                    "the greatest age is below the least".into(),
                ));
            }
        }
        let restriction = Restriction {
            diagnoses: list(self.get(r, self.diagnoses)).map(str::to_ascii_uppercase).collect(),
            grades,
            max_quantity,
            person: PersonLimits { sex, min_age, max_age },
        };
        let name = self.get(r, self.name);
        Ok((
            region,
            CatalogEntry {
                code: code.to_string(),
                name: if name.is_empty() { code.to_string() } else { name.to_string() },
                kind,
                category,
                selfpay_prop,
                price_cap,
                begin,
                end,
                restriction,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
admdvs,med_list_codg,name,list_type,chrgitm_lv,selfpay_prop,pric_uplmt_amt,begndate,enddate,lmt_dise,lmt_hosp_lv,lmt_cnt
620300,XA01ABD075A002010100483,地喹氯铵含片,,02,0.1,12.5,2020-01-01,,,,
620300,001216000010100,普通门诊诊察费,,01,,,2020-01-01,,,,
620300,C01020304,一次性输液器,,03,,,2020-01-01,,,,
620300,XB01AC04,氯吡格雷片,,02,0.05,,2020-01-01,2025-12-31,I20;I21;I63,2;3,30
620300,XB01AC04,氯吡格雷片,,01,,,2026-01-01,,I20;I21;I63,,
620300,BAD CODE,x,,01,,,2020-01-01,,,,
620300,X1,x,,04,,,2020-01-01,,,,
620300,X2,x,,01,0.1,,2020-01-01,,,,
999999,X3,x,,01,,,2020-01-01,,,,
620300,X4,x,,01,,-3,2020-01-01,,,,
620300,X5,x,,01,,,2020-02-30,,,,
620300,X6,x,,01,,,2020-01-01,,,,,extra
";

    #[test]
    fn good_rows_load_and_each_bad_row_says_why() {
        let mut c = Catalogs::default();
        let rejected = c.import(CSV.as_bytes()).unwrap();
        let fields: Vec<_> = rejected.iter().map(|r| (r.line, r.field)).collect();
        assert_eq!(
            fields,
            [
                (7, "med_list_codg"),
                (8, "chrgitm_lv"),
                (9, "selfpay_prop"),
                (10, "admdvs"),
                (11, "pric_uplmt_amt"),
                (12, "begndate"),
                (13, "")
            ]
        );
        assert!(rejected.iter().all(|r| !r.reason.zh.is_empty() && !r.reason.en.is_empty()));
        assert_eq!(c.len(), 5);
        let region: AdminCode = "620302".parse().unwrap();
        let (served_by, cat) = c.for_region(region).unwrap();
        assert_eq!(served_by.to_string(), "620300", "a county is served by its prefecture's catalog");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let drug = cat.lookup("XA01ABD075A002010100483", d("2026-03-01")).unwrap();
        assert_eq!((drug.kind, drug.category, drug.selfpay_prop.bp()), (ItemKind::Drug, Category::B, 1_000));
        assert_eq!(drug.price_cap, Some("12.5".parse().unwrap()));
        assert_eq!(cat.lookup("C01020304", d("2026-03-01")).unwrap().kind, ItemKind::Consumable);
        // The version in force on the date is used.
        assert_eq!(cat.lookup("XB01AC04", d("2025-06-01")).unwrap().category, Category::B);
        assert_eq!(cat.lookup("XB01AC04", d("2026-06-01")).unwrap().category, Category::A);
        let limited = cat.lookup("XB01AC04", d("2025-06-01")).unwrap();
        assert_eq!(limited.restriction.diagnoses, ["I20", "I21", "I63"]);
        assert_eq!(limited.restriction.grades, [HospitalGrade::Level2, HospitalGrade::Level3]);
        assert!(cat.lookup("XA01ABD075A002010100483", d("2019-12-31")).is_none());
        assert!(c.for_region("110105".parse().unwrap()).is_none());
        // Found as people type: part of the name, the start of the code, pinyin initials;
        // only what is in force on the day, each code once.
        let find = |typed: &str, on: &str| -> Vec<String> {
            cat.find(typed, d(on), 10).iter().map(|e| format!("{}:{}", e.code, e.category.code())).collect()
        };
        assert_eq!(find("氯吡格雷", "2026-06-01"), ["XB01AC04:01"]);
        assert_eq!(find("lbgl", "2025-06-01"), ["XB01AC04:02"]);
        assert_eq!(find("xb01", "2026-06-01"), ["XB01AC04:01"]);
        assert_eq!(find("输液", "2026-06-01"), ["C01020304:03"]);
        assert_eq!(find("ptmz", "2026-06-01"), ["001216000010100:01"]);
        assert!(find("地喹", "2019-06-01").is_empty(), "not yet in force");
        assert!(find("", "2026-06-01").is_empty());

        // The initials worked out at the first search are forgotten when an entry is added.
        let added = "admdvs,med_list_codg,name,chrgitm_lv,begndate\n620300,XA02BC01,奥美拉唑肠溶胶囊,01,2020-01-01\n";
        assert!(c.import(added.as_bytes()).unwrap().is_empty());
        let (_, cat) = c.for_region(region).unwrap();
        let found: Vec<_> = cat.find("amlz", d("2026-06-01"), 10).iter().map(|e| e.code.clone()).collect();
        assert_eq!(found, ["XA02BC01"]);
    }

    /// The same rows as a spreadsheet, written as Excel would: dates as date cells,
    /// numbers as numbers, and one code typed as a number (its leading zeros lost).
    #[test]
    fn the_catalog_limits_an_item_to_a_sex_or_to_ages() {
        let csv = "admdvs,med_list_codg,name,chrgitm_lv,begndate,lmt_gend,lmt_age_min,lmt_age_max\n\
            620300,311201001,宫颈细胞学检查,01,2020-01-01,2,,\n\
            620300,XA01,儿童用药,02,2020-01-01,,,14\n\
            620300,XA02,x,02,2020-01-01,3,,\n\
            620300,XA03,x,02,2020-01-01,,18,6\n\
            620300,XA04,x,02,2020-01-01,,x,\n";
        let mut c = Catalogs::default();
        let rejected = c.import(csv.as_bytes()).unwrap();
        let fields: Vec<_> = rejected.iter().map(|r| (r.line, r.field)).collect();
        assert_eq!(fields, [(4, "lmt_gend"), (5, "lmt_age_max"), (6, "lmt_age_min")]);
        let (_, cat) = c.for_region("620300".parse().unwrap()).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let smear = cat.lookup("311201001", day).unwrap().restriction.person;
        assert_eq!((smear.sex, smear.min_age, smear.max_age), (Some(crate::Sex::Female), None, None));
        assert_eq!(cat.lookup("XA01", day).unwrap().restriction.person.max_age, Some(14));
    }

    #[test]
    fn an_xlsx_catalog_reads_like_the_csv_and_refuses_numeric_codes() {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let headers = ["admdvs", "med_list_codg", "name", "chrgitm_lv", "selfpay_prop", "pric_uplmt_amt", "begndate"];
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        let begin = ExcelDateTime::from_ymd(2020, 1, 1).unwrap();
        sheet.write_number(1, 0, 620300.0).unwrap();
        sheet.write_string(1, 1, "XA01ABD075A002010100483").unwrap();
        sheet.write_string(1, 2, "地喹氯铵含片").unwrap();
        sheet.write_string(1, 3, "02").unwrap();
        sheet.write_number(1, 4, 0.1).unwrap();
        sheet.write_number(1, 5, 12.5).unwrap();
        sheet.write_datetime_with_format(1, 6, &begin, &date).unwrap();
        sheet.write_number(2, 0, 620300.0).unwrap();
        sheet.write_number(2, 1, 1216000010100.0).unwrap();
        sheet.write_string(2, 2, "普通门诊诊察费").unwrap();
        sheet.write_string(2, 3, "01").unwrap();
        sheet.write_datetime_with_format(2, 6, &begin, &date).unwrap();
        sheet.write_number(3, 0, 620300.0).unwrap();
        sheet.write_string(3, 1, "001216000010100").unwrap();
        sheet.write_string(3, 2, "普通门诊诊察费").unwrap();
        sheet.write_string(3, 3, "01").unwrap();
        sheet.write_string(3, 6, "2020-01-01").unwrap();
        let data = book.save_to_buffer().unwrap();

        let file = CatalogFile::read(&data).unwrap();
        assert_eq!(file.format, CatalogFormat::Xlsx);
        assert_eq!(file.rejected.len(), 1, "{:?}", file.rejected);
        assert_eq!((file.rejected[0].line, file.rejected[0].field), (3, "med_list_codg"));
        assert!(file.rejected[0].reason.zh.contains("前导零"));
        let lines: Vec<u64> = file.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4]);
        let drug = &file.rows[0].entry;
        assert_eq!(file.rows[0].region.to_string(), "620300");
        assert_eq!((drug.category, drug.selfpay_prop.bp()), (Category::B, 1_000));
        assert_eq!(drug.price_cap, Some("12.5".parse().unwrap()));
        assert_eq!(drug.begin, NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
        assert_eq!(file.rows[1].entry.kind, ItemKind::Service);
    }

    #[test]
    fn a_file_without_required_columns_is_refused_whole() {
        let mut c = Catalogs::default();
        let e = c.import(b"code,name\nX1,x\n").unwrap_err();
        assert!(e.reason.en.contains("admdvs") && e.reason.zh.contains("缺少"), "{e:?}");
        assert!(CatalogFile::read(b"PK\x03\x04 not really a workbook").is_err());
    }
}
