//! Helpers for SQL written once for both backends: a query built piece by piece with its
//! bind values, region ranges, and reading stored values back into validated types.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use yibao_core::{AdminCode, AdminLevel, Scope};

use super::error::parse_stored;
use super::{Conn, Db, StoreError, WriteTx};

/// The inclusive numeric range of region codes within a division.
pub(crate) fn region_range(code: AdminCode) -> (i64, i64) {
    let c = i64::from(code.value());
    match code.level() {
        AdminLevel::Province => (c, c + 9_999),
        AdminLevel::Prefecture => (c, c + 99),
        AdminLevel::County => (c, c),
    }
}

/// The exclusive upper bound of strings starting with `prefix` under binary collation.
pub(crate) fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// A `LIKE … ESCAPE '\'` pattern for text holding `part` anywhere (its `%`, `_` and `\`
/// taken literally).
pub(crate) fn contains_pattern(part: &str) -> String {
    format!("%{}%", escape_like(part))
}

/// `text` with its `%`, `_` and `\` escaped for `LIKE … ESCAPE '\'`.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A bind value for dynamically built queries.
pub(crate) enum Arg {
    I(i64),
    S(String),
    /// Text or NULL.
    N(Option<String>),
}

pub(crate) struct Sql {
    pub(crate) text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new() }
    }

    pub(crate) fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// `AND (col BETWEEN .. OR ..)` for the regions of a scope; an empty scope matches nothing.
    pub(crate) fn scope_filter(&mut self, column: &str, scope: &Scope) {
        if scope.regions().is_empty() {
            self.text.push_str(" AND 1 = 0");
            return;
        }
        let parts: Vec<String> = scope
            .regions()
            .iter()
            .map(|r| {
                let (lo, hi) = region_range(*r);
                if lo == hi {
                    // An equality lets an index on (region, id) return rows already in id order.
                    let v = self.arg(Arg::I(lo));
                    return format!("{column} = {v}");
                }
                let lo = self.arg(Arg::I(lo));
                let hi = self.arg(Arg::I(hi));
                format!("{column} BETWEEN {lo} AND {hi}")
            })
            .collect();
        self.text.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }

    fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::I(i) => q.bind(*i),
                Arg::S(s) => q.bind(s.as_str()),
                Arg::N(s) => q.bind(s.as_deref()),
            };
        }
        q
    }

    pub(crate) async fn fetch_all(self, db: &Db) -> Result<Vec<AnyRow>, StoreError> {
        Ok(self.query().fetch_all(&db.pool).await?)
    }

    /// Inside a write transaction, seeing its own changes.
    pub(crate) async fn fetch_all_in(self, w: &mut WriteTx) -> Result<Vec<AnyRow>, StoreError> {
        Ok(self.query().fetch_all(&mut *w.tx).await?)
    }

    pub(crate) async fn execute(self, conn: &mut Conn) -> Result<u64, StoreError> {
        Ok(self.query().execute(conn).await?.rows_affected())
    }
}

pub(crate) fn region_from(v: i64) -> Result<AdminCode, StoreError> {
    parse_stored("region", &format!("{v:06}"))
}

pub(crate) fn opt_parse<T: std::str::FromStr>(column: &str, v: Option<String>) -> Result<Option<T>, StoreError> {
    v.map(|s| parse_stored(column, &s)).transpose()
}

pub(crate) fn date_from(column: &str, v: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| StoreError::Corrupt(format!("{column} = {v:?}")))
}

pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Fetches one record by id, in a transaction or from the pool.
pub(crate) async fn fetch_one_by_id<'e, E, T>(
    e: E,
    sql: &str,
    id: i64,
    what: &'static str,
    from_row: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<T, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sql).bind(id).fetch_optional(e).await?.ok_or(StoreError::NotFound(what))?;
    from_row(&row)
}

/// Stored data that does not read back: a bug or tampering.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("json", e))
}

/// Refuses a document's `version` unless it is above the `newest` stored.
pub(crate) fn check_newer(newest: Option<i64>, version: u32) -> Result<(), StoreError> {
    match newest {
        Some(v) if i64::from(version) <= v => Err(StoreError::Invalid(yibao_core::InvalidValue::new(
            "version",
            "not_newer",
            format!("版本号须大于现行版本 {v}"),
            format!("the version must be above the one in force, {v}"),
        ))),
        _ => Ok(()),
    }
}

/// A document refused with every problem, each with its path, in both languages.
pub(crate) fn invalid_document<'a>(
    field: &'static str,
    problems: impl Iterator<Item = (&'a str, &'a yibao_core::Text)>,
) -> StoreError {
    let (zh, en): (Vec<String>, Vec<String>) =
        problems.map(|(path, m)| (format!("{path}：{}", m.zh), format!("{path}: {}", m.en))).unzip();
    StoreError::Invalid(yibao_core::InvalidValue::new(field, "invalid", zh.join("；"), en.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_ranges() {
        let c = |s: &str| s.parse::<AdminCode>().unwrap();
        assert_eq!(region_range(c("620000")), (620_000, 629_999));
        assert_eq!(region_range(c("620300")), (620_300, 620_399));
        assert_eq!(region_range(c("620302")), (620_302, 620_302));
    }
}
