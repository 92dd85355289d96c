//! Names of administrative divisions (GB/T 2260) down to county level, so that people type
//! 「北京」 or 「金川区」 where a six-digit code is wanted and read names where codes were shown.
//!
//! The list is `data/regions.tsv`, made by `scripts/regions.py` from two maintained packages of
//! the national division codes (the file's header names them, their versions and the day):
//! every division in use today, and the codes retired in earlier revisions with the last year
//! they were seen, so that an old code is named and dated rather than called invalid.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::admin_code::{AdminCode, AdminLevel};
use crate::error::InvalidValue;

const DATA: &str = include_str!("../data/regions.tsv");

/// One division of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    pub code: AdminCode,
    /// Its own name: 「金川区」.
    pub name: &'static str,
    /// With the province and prefecture above it: 「甘肃省金昌市金川区」.
    pub full_name: String,
    /// For a retired code, the last revision year that still had it.
    pub retired_after: Option<u16>,
    /// For a retired code, the division in use today that took its place, where the list
    /// shows one: the only one of its province at its level with the same name but for its
    /// kind (密云县 110228 → 密云区 110118). A merged division (宣武区 into 西城区) has none.
    pub successor: Option<AdminCode>,
}

impl Division {
    pub fn is_current(&self) -> bool {
        self.retired_after.is_none()
    }

    /// 「甘肃省金昌市金川区（620302）」, a retired one marked so; in English "… (620302)".
    pub fn label(&self) -> crate::Text {
        match self.retired_after {
            None => crate::Text::new(
                format!("{}（{}）", self.full_name, self.code),
                format!("{} ({})", self.full_name, self.code),
            ),
            Some(y) => crate::Text::new(
                format!("{}（{}，已撤销，最晚见于 {y} 年版）", self.full_name, self.code),
                format!("{} ({}, retired, last seen in the {y} revision)", self.full_name, self.code),
            ),
        }
    }
}

struct Table {
    all: Vec<Division>,
    by_code: HashMap<AdminCode, usize>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut raw: Vec<(AdminCode, &'static str, Option<u16>)> = Vec::new();
    for line in DATA.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        let (Some(code), Some(name)) = (cols.next(), cols.next()) else { continue };
        let Ok(code) = code.parse::<AdminCode>() else { continue };
        let retired = cols.next().and_then(|y| y.trim().parse().ok());
        raw.push((code, name, retired));
    }
    let names: HashMap<AdminCode, &'static str> = raw.iter().map(|(c, n, _)| (*c, *n)).collect();
    let successor = |code: AdminCode, name: &str| {
        let mut same = raw.iter().filter(|(c, n, retired)| {
            retired.is_none() && c.same_province(code) && c.level() == code.level() && trimmed(n) == trimmed(name)
        });
        match (same.next(), same.next()) {
            (Some((c, _, _)), None) => Some(*c),
            _ => None,
        }
    };
    let all: Vec<Division> = raw
        .iter()
        .map(|&(code, name, retired_after)| {
            let mut full = String::new();
            if code.level() != AdminLevel::Province {
                full.push_str(names.get(&code.province()).copied().unwrap_or(""));
            }
            if code.level() == AdminLevel::County {
                full.push_str(names.get(&code.prefecture()).copied().unwrap_or(""));
            }
            full.push_str(name);
            let successor = retired_after.and_then(|_| successor(code, name));
            Division { code, name, full_name: full, retired_after, successor }
        })
        .collect();
    let by_code = all.iter().enumerate().map(|(i, d)| (d.code, i)).collect();
    Table { all, by_code }
});

/// The division with this code, current or retired.
pub fn division(code: AdminCode) -> Option<&'static Division> {
    let t = &*TABLE;
    t.by_code.get(&code).map(|&i| &t.all[i])
}

/// What people read for a code: 「甘肃省金昌市金川区」, or the code itself when the list does
/// not have it.
pub fn name_of(code: AdminCode) -> String {
    division(code).map_or_else(|| code.to_string(), |d| d.full_name.clone())
}

/// The same for a code kept as text (a stored `admdvs`): the text itself if it is no code.
pub fn name_of_text(code: &str) -> String {
    code.parse::<AdminCode>().map_or_else(|_| code.to_string(), name_of)
}

/// Divisions in use today whose name contains what was typed, or whose code begins with it:
/// the exact name first, then names beginning with it, those in the province of `near` (where
/// the person lives or the desk works) before others, provinces and prefectures before
/// counties, at most `limit`.
pub fn search_near(typed: &str, limit: usize, near: Option<AdminCode>) -> Vec<&'static Division> {
    let q = typed.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let digits = q.bytes().all(|b| b.is_ascii_digit());
    let mut found: Vec<(u8, &Division)> = TABLE
        .all
        .iter()
        .filter(|d| d.is_current())
        .filter_map(|d| {
            let rank = if digits {
                d.code.to_string().starts_with(q).then_some(0)
            } else if d.name == q || d.full_name == q || trimmed(d.name) == q {
                Some(0)
            } else if d.name.starts_with(q) || d.full_name.starts_with(q) {
                Some(1)
            } else if d.full_name.contains(q) {
                Some(2)
            } else {
                None
            }?;
            Some((rank, d))
        })
        .collect();
    let far = |d: &Division| near.is_none_or(|n| !n.same_province(d.code));
    found.sort_by_key(|(rank, d)| (*rank, far(d), d.code.level(), d.code));
    found.into_iter().take(limit).map(|(_, d)| d).collect()
}

/// [`search_near`] with no place preferred.
pub fn search(typed: &str, limit: usize) -> Vec<&'static Division> {
    search_near(typed, limit, None)
}

/// A name without its kind: 「北京市」 → 「北京」, 「永昌县」 → 「永昌」.
fn trimmed(name: &str) -> &str {
    ["特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "区", "县", "盟", "旗"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix).filter(|s| s.chars().count() >= 2))
        .unwrap_or(name)
}

/// What a person typed for a region — a code (possibly followed by its name, as the suggestions
/// fill it) or a name — as the code of a division in use today. A retired code is named with
/// the year it was last seen; a name that fits several divisions lists them.
pub fn resolve(field: &'static str, typed: &str) -> Result<AdminCode, InvalidValue> {
    let t = typed.trim();
    let head: String = t.chars().take_while(char::is_ascii_digit).collect();
    if head.len() == 6 {
        let code: AdminCode = head.parse().map_err(|e: InvalidValue| InvalidValue { field, ..e })?;
        return match division(code) {
            Some(d) if d.is_current() => Ok(code),
            Some(d) => {
                let year = d.retired_after.unwrap_or(0);
                let now = d.successor.and_then(division).map(Division::label);
                let (zh_now, en_now) = match &now {
                    Some(l) => (format!("现为{}", l.zh), format!("it is now {}", l.en)),
                    None => ("请填写现在的地区".to_string(), "give the region as it is today".to_string()),
                };
                Err(InvalidValue::new(
                    field,
                    "retired",
                    format!("{code} 是已撤销的行政区划代码（{}，最晚见于 {year} 年版）：{zh_now}", d.full_name),
                    format!(
                        "{code} is a retired division code ({}, last seen in the {year} revision): {en_now}",
                        d.full_name
                    ),
                ))
            }
            None => Err(InvalidValue::new(
                field,
                "unknown",
                format!("没有代码为 {code} 的行政区划：请输入地区名称，从提示中选择"),
                format!("no division has the code {code}: type the region's name and pick it from the suggestions"),
            )),
        };
    }
    if !head.is_empty() && head.len() == t.len() {
        // Digits alone, but not six of them: the code's own message.
        return t.parse::<AdminCode>().map_err(|e| InvalidValue { field, ..e });
    }
    let found = search(t, 6);
    let exact: Vec<&Division> =
        found.iter().copied().filter(|d| d.name == t || d.full_name == t || trimmed(d.name) == t).collect();
    match (exact.as_slice(), found.as_slice()) {
        ([d], _) | ([], [d]) => Ok(d.code),
        ([], []) => Err(InvalidValue::new(
            field,
            "unknown",
            format!("找不到名为“{t}”的地区：请输入省、市或区县的名称，从提示中选择"),
            format!("no region is called \"{t}\": type the name of a province, city or county and pick it from the suggestions"),
        )),
        (many, _) if !many.is_empty() => Err(ambiguous(field, t, many.iter().copied())),
        (_, many) => Err(ambiguous(field, t, many.iter().copied())),
    }
}

fn ambiguous<'a>(field: &'static str, typed: &str, options: impl Iterator<Item = &'a Division>) -> InvalidValue {
    let options: Vec<crate::Text> = options.map(Division::label).collect();
    let zh: Vec<&str> = options.iter().map(|o| o.zh.as_str()).collect();
    let en: Vec<&str> = options.iter().map(|o| o.en.as_str()).collect();
    InvalidValue::new(
        field,
        "ambiguous",
        format!("“{typed}”可指多个地区：{}，请选择其一", zh.join("、")),
        format!("\"{typed}\" could be several regions: {}; pick one", en.join("; ")),
    )
}

/// The medical insurance agency of a region as its papers are headed: the prefecture's (or, for
/// a municipality, the province's) 「医疗保障事务中心」.
pub fn agency_name(region: AdminCode) -> crate::Text {
    let place = [region.prefecture(), region.province()]
        .into_iter()
        .find_map(division)
        .map_or_else(|| region.to_string(), |d| d.name.to_string());
    crate::Text::new(format!("{place}医疗保障事务中心"), format!("{place} Medical Insurance Service Centre"))
}

/// How many divisions the list holds: (in use today, retired).
pub fn counts() -> (usize, usize) {
    let current = TABLE.all.iter().filter(|d| d.is_current()).count();
    (current, TABLE.all.len() - current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> AdminCode {
        s.parse().unwrap()
    }

    #[test]
    fn names_and_full_names() {
        assert_eq!(name_of(code("620302")), "甘肃省金昌市金川区");
        assert_eq!(name_of(code("620300")), "甘肃省金昌市");
        assert_eq!(name_of(code("620000")), "甘肃省");
        // A municipality's district: no 「市辖区」 in between.
        assert_eq!(name_of(code("110105")), "北京市朝阳区");
        assert_eq!(name_of_text("not a code"), "not a code");
        assert_eq!(agency_name(code("620302")).zh, "金昌市医疗保障事务中心");
        assert_eq!(agency_name(code("110105")).zh, "北京市医疗保障事务中心");
        let (current, retired) = counts();
        assert!(current > 3000 && retired > 100, "{current} {retired}");
    }

    #[test]
    fn what_people_type_is_resolved() {
        // (typed, the code, or the reason it is refused)
        let rows: &[(&str, Result<&str, &str>)] = &[
            ("北京", Ok("110000")),
            ("北京市", Ok("110000")),
            ("金川区", Ok("620302")),
            ("金昌", Ok("620300")),
            ("甘肃省金昌市金川区", Ok("620302")),
            ("620302", Ok("620302")),
            ("620302 甘肃省金昌市金川区", Ok("620302")),
            ("朝阳区", Err("ambiguous")),
            ("110104", Err("retired")), // 宣武区, merged into 西城区 (2010)
            ("629999", Err("unknown")),
            ("62030", Err("format")),
            ("火星", Err("unknown")),
        ];
        for (typed, want) in rows {
            let got = resolve("treatment_region", typed);
            match (want, &got) {
                (Ok(c), Ok(g)) => assert_eq!(g.to_string(), *c, "{typed}"),
                (Err(reason), Err(e)) => {
                    assert_eq!(e.code, *reason, "{typed}: {e:?}");
                    assert_eq!(e.field, "treatment_region", "{typed}");
                }
                _ => panic!("{typed}: {got:?}"),
            }
        }
        // A county become a district names the district; a district merged away names none.
        let e = resolve("r", "110228").unwrap_err();
        assert!(e.message.zh.contains("现为北京市密云区（110118）"), "{}", e.message.zh);
        assert_eq!(division(code("110228")).and_then(|d| d.successor), Some(code("110118")));
        assert_eq!(division(code("110104")).and_then(|d| d.successor), None, "宣武区 was merged");
        let e = resolve("r", "朝阳区").unwrap_err();
        assert!(
            e.message.zh.contains("北京市朝阳区（110105）") && e.message.zh.contains("吉林省长春市朝阳区"),
            "{}",
            e.message.zh
        );
        assert!(!e.message.en.contains('，') && !e.message.en.contains('“'), "{}", e.message.en);
    }

    #[test]
    fn search_ranks_exact_then_prefix() {
        let found: Vec<_> = search("金昌", 5).iter().map(|d| d.code.to_string()).collect();
        assert_eq!(found.first().map(String::as_str), Some("620300"), "{found:?}");
        assert!(found.iter().any(|c| c == "620302"), "{found:?}");
        let by_code: Vec<_> = search("6203", 10).iter().map(|d| d.code.to_string()).collect();
        assert_eq!(by_code, ["620300", "620302", "620321"]);
        assert!(search("  ", 5).is_empty());
        // Two 金川: the one in the province of the person asking comes first.
        let first = |near: &str| search_near("金川", 5, Some(code(near)))[0].code.to_string();
        assert_eq!((first("620302"), first("510104")), ("620302".to_string(), "513226".to_string()));
        // Retired codes are never offered.
        assert!(search("宣武", 5).is_empty());
    }
}
