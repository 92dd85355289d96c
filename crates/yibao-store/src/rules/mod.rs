//! Policies and catalogs as stored, versioned data. A policy administrator imports a policy
//! document or a catalog file; every version is kept with who imported it, when, and the
//! file's SHA-256, and each import is one audit entry. The engine's in-memory
//! [`PolicySet`] and [`Catalogs`] are loaded from here.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::calendar::Calendar;
use yibao_core::catalog::{CatalogEntry, CatalogFile, CatalogFormat, Catalogs, RejectedRow};
use yibao_core::policy::{Policy, PolicyError, PolicySet};
use yibao_core::registry::Scheme;
use yibao_core::{AdminCode, InvalidValue, Scope};

mod diagnoses;
pub use diagnoses::DiagnosisImport;
mod in_force;

pub use in_force::Rules;
pub(crate) use in_force::RulesCache;

use crate::db::query::{prefix_upper, region_from, region_range, Arg, Sql};
use crate::{Store, StoreError, WriteTx};

/// One stored policy version, without its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    pub id: i64,
    pub region: AdminCode,
    pub scheme: Scheme,
    pub year: i32,
    pub version: i64,
    pub name: String,
    pub effective_from: String,
    pub effective_to: String,
    pub format: String,
    pub sha256: String,
    pub imported_at: String,
    pub imported_by: String,
}

/// A stored policy version with the document as imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPolicy {
    #[serde(flatten)]
    pub summary: PolicySummary,
    pub document: String,
}

/// One catalog import: what was accepted, what was refused and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogImport {
    /// None when nothing was stored (no row could be accepted).
    pub id: Option<i64>,
    pub file_name: String,
    pub format: String,
    pub sha256: String,
    pub regions: Vec<String>,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    pub rejected: Vec<Rejected>,
    pub imported_at: String,
    pub imported_by: String,
}

/// A rejected row as stored and shown: line, code, field and the reason in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub line: u64,
    pub code: String,
    pub field: String,
    pub reason_zh: String,
    pub reason_en: String,
}

impl From<&RejectedRow> for Rejected {
    fn from(r: &RejectedRow) -> Rejected {
        Rejected {
            line: r.line,
            code: r.code.clone(),
            field: r.field.to_string(),
            reason_zh: r.reason.zh.clone(),
            reason_en: r.reason.en.clone(),
        }
    }
}

/// A catalog entry as stored, for search and display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    pub id: i64,
    pub import_id: i64,
    pub region: AdminCode,
    #[serde(flatten)]
    pub entry: CatalogEntry,
}

/// Rows per INSERT when storing a catalog (9 values each). Small on purpose: binding a
/// statement's parameters on SQLite costs time growing with the square of their number
/// (seen with `perf record` on `yibao bench catalog-import`; 50 rows was the fastest tried).
const BATCH: usize = 50;

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The first problems of a refused policy as one error (the portal shows them all).
pub fn policy_errors_as_invalid(errors: &[PolicyError]) -> InvalidValue {
    let zh: Vec<String> = errors.iter().take(5).map(|e| format!("{}：{}", e.path, e.message.zh)).collect();
    let en: Vec<String> = errors.iter().take(5).map(|e| format!("{}: {}", e.path, e.message.en)).collect();
    InvalidValue::new("policy", "invalid", zh.join("；"), en.join("; "))
}

fn out_of_scope(region: AdminCode) -> InvalidValue {
    InvalidValue::new(
        "region",
        "out_of_scope",
        format!("您无权管理地区 {region} 的政策和目录"),
        format!("you may not manage policies and catalogs of region {region}"),
    )
}

impl Store {
    /// Stores a new policy version. The document is parsed and validated again here, so
    /// nothing invalid is ever stored; `scope` (the administrator's regions) must cover the
    /// policy's region. A version that exists already is refused as a duplicate.
    pub async fn import_policy(
        &self,
        w: &mut WriteTx,
        document: &str,
        scope: Option<&Scope>,
    ) -> Result<PolicySummary, StoreError> {
        let policy = Policy::parse(document).map_err(|e| policy_errors_as_invalid(&e))?;
        w.forget(self.rules_cache.clone());
        if scope.is_some_and(|s| !s.covers(policy.region)) {
            return Err(out_of_scope(policy.region).into());
        }
        let format = if document.trim_start().starts_with('{') { "json" } else { "toml" };
        let summary = PolicySummary {
            id: 0,
            region: policy.region,
            scheme: policy.scheme,
            year: policy.year.value(),
            version: i64::from(policy.version),
            name: policy.name.clone(),
            effective_from: policy.effective_from.to_string(),
            effective_to: policy.effective_to.to_string(),
            format: format.into(),
            sha256: sha256_hex(document.as_bytes()),
            imported_at: w.at().to_string(),
            imported_by: w.actor().label.clone(),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO policies (region, scheme, year, version, name, effective_from, effective_to, format, \
             document, sha256, imported_at, imported_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(i64::from(summary.region.value()))
        .bind(summary.scheme.code())
        .bind(i64::from(summary.year))
        .bind(summary.version)
        .bind(&summary.name)
        .bind(&summary.effective_from)
        .bind(&summary.effective_to)
        .bind(&summary.format)
        .bind(document)
        .bind(&summary.sha256)
        .bind(&summary.imported_at)
        .bind(&summary.imported_by)
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "policy_version"))?;
        let summary = PolicySummary { id, ..summary };
        w.record("import", "policy", &id.to_string(), None::<&()>, Some(&summary)).await?;
        Ok(summary)
    }

    /// Every stored policy version in `scope` (all when `None`), newest first.
    pub async fn policies(&self, scope: Option<&Scope>) -> Result<Vec<PolicySummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM policies ORDER BY year DESC, region, scheme, version DESC"
        ))
        .fetch_all(&self.db.pool)
        .await?;
        let all = rows.iter().map(policy_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(all.into_iter().filter(|p| scope.is_none_or(|s| s.covers(p.region))).collect())
    }

    /// One policy version with its document, if it is in `scope`.
    pub async fn policy(&self, id: i64, scope: Option<&Scope>) -> Result<StoredPolicy, StoreError> {
        let row = sqlx::query(&format!("SELECT {POLICY_COLUMNS}, document FROM policies WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        let summary = policy_from_row(&row)?;
        if scope.is_some_and(|s| !s.covers(summary.region)) {
            return Err(StoreError::NotFound("policy"));
        }
        Ok(StoredPolicy { summary, document: row.try_get(12)? })
    }

    /// Every stored policy version, parsed, for the engine.
    pub async fn load_policies(&self) -> Result<PolicySet, StoreError> {
        let rows = sqlx::query("SELECT id, document FROM policies ORDER BY id").fetch_all(&self.db.pool).await?;
        let mut policies = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let document: String = r.try_get(1)?;
            policies.push(
                Policy::parse(&document)
                    .map_err(|e| StoreError::Corrupt(format!("policy {id}: {}", policy_errors_as_invalid(&e))))?,
            );
        }
        Ok(PolicySet::new(policies))
    }

    /// Imports a catalog file (CSV or XLSX). Rows that fail a check, or are for a region
    /// outside `scope`, are refused with their line and reason; the rest are stored as one
    /// import (one audit entry). When no row can be accepted nothing is stored and the
    /// report comes back with `id: None`. A file that cannot be read at all is an error.
    pub async fn import_catalog(
        &self,
        w: &mut WriteTx,
        file_name: &str,
        data: &[u8],
        scope: Option<&Scope>,
    ) -> Result<CatalogImport, StoreError> {
        w.forget(self.rules_cache.clone());
        let file =
            CatalogFile::read(data).map_err(|r| InvalidValue::new("file", "unreadable", r.reason.zh, r.reason.en))?;
        let mut rejected: Vec<(u64, Rejected)> = file.rejected.iter().map(|r| (r.line, Rejected::from(r))).collect();
        let mut accepted = Vec::with_capacity(file.rows.len());
        for row in file.rows {
            if scope.is_some_and(|s| !s.covers(row.region)) {
                let e = out_of_scope(row.region);
                rejected.push((
                    row.line,
                    Rejected {
                        line: row.line,
                        code: row.entry.code.clone(),
                        field: "admdvs".into(),
                        reason_zh: e.message.zh,
                        reason_en: e.message.en,
                    },
                ));
            } else {
                accepted.push(row);
            }
        }
        rejected.sort_by_key(|r| r.0);
        let regions: BTreeSet<String> = accepted.iter().map(|r| r.region.to_string()).collect();
        let mut import = CatalogImport {
            id: None,
            file_name: file_name.chars().take(200).collect(),
            format: match file.format {
                CatalogFormat::Csv => "csv".into(),
                CatalogFormat::Xlsx => "xlsx".into(),
            },
            sha256: sha256_hex(data),
            regions: regions.into_iter().collect(),
            rows_accepted: accepted.len() as i64,
            rows_rejected: rejected.len() as i64,
            rejected: rejected.into_iter().map(|r| r.1).collect(),
            imported_at: w.at().to_string(),
            imported_by: w.actor().label.clone(),
        };
        if accepted.is_empty() {
            return Ok(import);
        }
        let rejected_json = serde_json::to_string(&import.rejected)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise the import report: {e}")))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO catalog_imports (file_name, format, sha256, regions, rows_accepted, rows_rejected, rejected, \
             imported_at, imported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&import.file_name)
        .bind(&import.format)
        .bind(&import.sha256)
        .bind(import.regions.join(","))
        .bind(import.rows_accepted)
        .bind(import.rows_rejected)
        .bind(&rejected_json)
        .bind(&import.imported_at)
        .bind(&import.imported_by)
        .fetch_one(&mut *w.tx)
        .await?;
        for chunk in accepted.chunks(BATCH) {
            let mut sql = Sql::new(
                "INSERT INTO catalog_entries (import_id, line, region, code, name, chrgitm_lv, begin_date, end_date, \
                 detail) VALUES ",
            );
            for (i, row) in chunk.iter().enumerate() {
                let e = &row.entry;
                let detail = serde_json::to_string(e)
                    .map_err(|err| StoreError::Corrupt(format!("cannot serialise catalog entry: {err}")))?;
                let values = [
                    sql.arg(Arg::I(id)),
                    sql.arg(Arg::I(row.line as i64)),
                    sql.arg(Arg::I(i64::from(row.region.value()))),
                    sql.arg(Arg::S(e.code.clone())),
                    sql.arg(Arg::S(e.name.clone())),
                    sql.arg(Arg::S(e.category.code().into())),
                    sql.arg(Arg::S(e.begin.to_string())),
                    sql.arg(Arg::N(e.end.map(|d| d.to_string()))),
                    sql.arg(Arg::S(detail)),
                ];
                if i > 0 {
                    sql.text.push_str(", ");
                }
                sql.text.push('(');
                sql.text.push_str(&values.join(", "));
                sql.text.push(')');
            }
            sql.execute(&mut w.tx).await?;
        }
        import.id = Some(id);
        let audit = CatalogImport { rejected: Vec::new(), ..import.clone() };
        w.record("import", "catalog_import", &id.to_string(), None::<&()>, Some(&audit)).await?;
        Ok(import)
    }

    /// Catalog imports with a region in `scope` (all when `None`), newest first, without
    /// their rejected rows.
    pub async fn catalog_imports(&self, scope: Option<&Scope>) -> Result<Vec<CatalogImport>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {IMPORT_COLUMNS}, '[]' FROM catalog_imports ORDER BY id DESC"))
            .fetch_all(&self.db.pool)
            .await?;
        let all = rows.iter().map(import_from_row).collect::<Result<Vec<_>, _>>()?;
        Ok(all.into_iter().filter(|i| import_in_scope(i, scope)).collect())
    }

    /// One catalog import with every rejected row, if it has a region in `scope`.
    pub async fn catalog_import(&self, id: i64, scope: Option<&Scope>) -> Result<CatalogImport, StoreError> {
        let row = sqlx::query(&format!("SELECT {IMPORT_COLUMNS}, rejected FROM catalog_imports WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("catalog_import"))?;
        let import = import_from_row(&row)?;
        if !import_in_scope(&import, scope) {
            return Err(StoreError::NotFound("catalog_import"));
        }
        Ok(import)
    }

    /// Catalog entries of `region` whose code or name starts with `text` (every version,
    /// newest import first), at most `limit`.
    pub async fn search_catalog(
        &self,
        region: AdminCode,
        text: &str,
        limit: i64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let mut sql = Sql::new("SELECT id, import_id, region, detail FROM catalog_entries WHERE 1 = 1");
        let (lo, hi) = region_range(region);
        let (lo, hi) = (sql.arg(Arg::I(lo)), sql.arg(Arg::I(hi)));
        sql.text.push_str(&format!(" AND region BETWEEN {lo} AND {hi}"));
        let text = text.trim();
        if !text.is_empty() {
            let upper = prefix_upper(text);
            let (a, b, c, d) = (
                sql.arg(Arg::S(text.to_string())),
                sql.arg(Arg::S(upper.clone())),
                sql.arg(Arg::S(text.to_string())),
                sql.arg(Arg::S(upper)),
            );
            sql.text.push_str(&format!(" AND ((code >= {a} AND code < {b}) OR (name >= {c} AND name < {d}))"));
        }
        let limit = sql.arg(Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY code, id DESC LIMIT {limit}"));
        let rows = sql.fetch_all(&self.db).await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Every stored catalog entry, in import order, for the engine.
    pub async fn load_catalogs(&self) -> Result<Catalogs, StoreError> {
        let rows = sqlx::query("SELECT id, import_id, region, detail FROM catalog_entries ORDER BY id")
            .fetch_all(&self.db.pool)
            .await?;
        let mut catalogs = Catalogs::default();
        for r in &rows {
            let e = entry_from_row(r)?;
            catalogs.insert(e.region, e.entry);
        }
        Ok(catalogs)
    }
}

/// One import of calendar years.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarImport {
    pub id: i64,
    pub years: Vec<i32>,
    pub sha256: String,
    pub imported_at: String,
    pub imported_by: String,
}

impl Store {
    /// Stores a calendar document (one or more years, checked first; nothing invalid is
    /// stored). Its years replace the same years of the built-in calendar and of earlier imports.
    pub async fn import_calendar(&self, w: &mut WriteTx, document: &str) -> Result<CalendarImport, StoreError> {
        let calendar = Calendar::parse(document)
            .map_err(|e| InvalidValue::new("calendar", "invalid", e.message.zh, e.message.en))?;
        let years: Vec<i32> = calendar.years().map(|y| y.year).collect();
        if years.is_empty() {
            return Err(InvalidValue::new("calendar", "empty", "文件中没有任何年度", "the file has no year").into());
        }
        let list = years.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let mut import = CalendarImport {
            id: 0,
            years,
            sha256: sha256_hex(document.as_bytes()),
            imported_at: w.at().to_string(),
            imported_by: w.actor().label.clone(),
        };
        import.id = sqlx::query_scalar(
            "INSERT INTO calendar_imports (years, document, sha256, imported_at, imported_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&list)
        .bind(document)
        .bind(&import.sha256)
        .bind(&import.imported_at)
        .bind(&import.imported_by)
        .fetch_one(&mut *w.tx)
        .await?;
        w.record("import", "calendar", &import.id.to_string(), None::<&()>, Some(&import)).await?;
        Ok(import)
    }

    /// The calendar in use: the built-in years overlaid by every import, in order.
    pub async fn calendar(&self) -> Result<Calendar, StoreError> {
        let mut calendar = Calendar::built_in().map_err(|e| StoreError::Corrupt(format!("built-in calendar: {e}")))?;
        let rows =
            sqlx::query("SELECT id, document FROM calendar_imports ORDER BY id").fetch_all(&self.db.pool).await?;
        for r in &rows {
            let id: i64 = r.try_get(0)?;
            let document: String = r.try_get(1)?;
            calendar.overlay(
                Calendar::parse(&document).map_err(|e| StoreError::Corrupt(format!("calendar import {id}: {e}")))?,
            );
        }
        Ok(calendar)
    }
}

const POLICY_COLUMNS: &str = "id, region, scheme, year, version, name, effective_from, effective_to, format, sha256, \
                              imported_at, imported_by";

fn policy_from_row(r: &AnyRow) -> Result<PolicySummary, StoreError> {
    Ok(PolicySummary {
        id: r.try_get(0)?,
        region: region_from(r.try_get(1)?)?,
        scheme: Scheme::parse(&r.try_get::<String, _>(2)?)?,
        year: r.try_get::<i64, _>(3)? as i32,
        version: r.try_get(4)?,
        name: r.try_get(5)?,
        effective_from: r.try_get(6)?,
        effective_to: r.try_get(7)?,
        format: r.try_get(8)?,
        sha256: r.try_get(9)?,
        imported_at: r.try_get(10)?,
        imported_by: r.try_get(11)?,
    })
}

const IMPORT_COLUMNS: &str =
    "id, file_name, format, sha256, regions, rows_accepted, rows_rejected, imported_at, imported_by";

fn import_from_row(r: &AnyRow) -> Result<CatalogImport, StoreError> {
    let regions: String = r.try_get(4)?;
    let rejected: String = r.try_get(9)?;
    Ok(CatalogImport {
        id: Some(r.try_get(0)?),
        file_name: r.try_get(1)?,
        format: r.try_get(2)?,
        sha256: r.try_get(3)?,
        regions: regions.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        rows_accepted: r.try_get(5)?,
        rows_rejected: r.try_get(6)?,
        imported_at: r.try_get(7)?,
        imported_by: r.try_get(8)?,
        rejected: serde_json::from_str(&rejected)
            .map_err(|e| StoreError::Corrupt(format!("catalog import rejected rows: {e}")))?,
    })
}

fn import_in_scope(import: &CatalogImport, scope: Option<&Scope>) -> bool {
    scope.is_none_or(|s| import.regions.iter().any(|r| r.parse().is_ok_and(|r| s.covers(r))))
}

fn entry_from_row(r: &AnyRow) -> Result<StoredEntry, StoreError> {
    let detail: String = r.try_get(3)?;
    Ok(StoredEntry {
        id: r.try_get(0)?,
        import_id: r.try_get(1)?,
        region: region_from(r.try_get(2)?)?,
        entry: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("catalog entry: {e}")))?,
    })
}
