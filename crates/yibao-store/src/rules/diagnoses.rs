//! The diagnosis list (诊断目录): imported by the policy administrator, searched as people type
//! on the claim form, and used to name the codes a claim carries.

use serde::Serialize;
use sqlx::Row;
use yibao_core::diagnosis::{self, Diagnosis, RejectedRow};

use crate::db::query::{prefix_upper, Arg, Sql};
use crate::{Store, StoreError, WriteTx};

/// What an import of the diagnosis list did.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosisImport {
    pub file_name: String,
    /// Rows taken (a code already listed has its name replaced).
    pub accepted: usize,
    pub rejected: Vec<RejectedRow>,
}

impl Store {
    /// Imports a diagnosis list (CSV or XLSX of code and name; `yibao_core::diagnosis::read_list`):
    /// every good row is stored or replaces the code's name; the bad rows are reported with
    /// their lines. Audited with the file's name and counts.
    pub async fn import_diagnoses(
        &self,
        w: &mut WriteTx,
        file_name: &str,
        data: &[u8],
    ) -> Result<DiagnosisImport, StoreError> {
        let (rows, rejected) = diagnosis::read_list(data)?;
        let (at, by) = (w.at().to_string(), w.actor().label.clone());
        for chunk in rows.chunks(200) {
            let mut sql = Sql::new("INSERT INTO diagnoses (code, name, initials, imported_at, imported_by) VALUES ");
            for (i, d) in chunk.iter().enumerate() {
                let values = [
                    sql.arg(Arg::S(d.code.clone())),
                    sql.arg(Arg::S(d.name.clone())),
                    sql.arg(Arg::S(diagnosis::initials(&d.name))),
                    sql.arg(Arg::S(at.clone())),
                    sql.arg(Arg::S(by.clone())),
                ];
                sql.text.push_str(if i > 0 { ", (" } else { "(" });
                sql.text.push_str(&values.join(", "));
                sql.text.push(')');
            }
            sql.text.push_str(
                " ON CONFLICT (code) DO UPDATE SET name = excluded.name, initials = excluded.initials, \
                 imported_at = excluded.imported_at, imported_by = excluded.imported_by",
            );
            sql.execute(&mut w.tx).await?;
        }
        let import =
            DiagnosisImport { file_name: file_name.chars().take(200).collect(), accepted: rows.len(), rejected };
        w.record("import", "diagnoses", &import.file_name, None::<&()>, Some(&import)).await?;
        Ok(import)
    }

    /// Diagnoses whose code begins with what was typed, whose name holds it, or whose name's
    /// pinyin initials hold it (「gxy」 finds 原发性高血压): shortest names first, at most `limit`.
    pub async fn search_diagnoses(&self, typed: &str, limit: i64) -> Result<Vec<Diagnosis>, StoreError> {
        let t = typed.trim();
        if t.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT code, name FROM diagnoses WHERE ");
        let code = t.to_ascii_uppercase();
        let (a, b) = (sql.arg(Arg::S(code.clone())), sql.arg(Arg::S(prefix_upper(&code))));
        let like = sql.arg(Arg::S(crate::db::query::contains_pattern(t)));
        sql.text.push_str(&format!("(code >= {a} AND code < {b}) OR name LIKE {like} ESCAPE '\\'"));
        if t.bytes().all(|c| c.is_ascii_alphanumeric()) {
            let initials = sql.arg(Arg::S(format!("%{}%", t.to_ascii_lowercase())));
            sql.text.push_str(&format!(" OR initials LIKE {initials}"));
        }
        let limit = sql.arg(Arg::I(limit.clamp(1, 100)));
        sql.text.push_str(&format!(" ORDER BY length(name), code LIMIT {limit}"));
        let rows = sql.fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok(Diagnosis { code: r.try_get(0)?, name: r.try_get(1)? })).collect()
    }

    /// The listed diagnoses among `codes` (those not listed are left out), in the order asked.
    pub async fn diagnoses_named(&self, codes: &[String]) -> Result<Vec<Diagnosis>, StoreError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT code, name FROM diagnoses WHERE code IN (");
        let args: Vec<String> = codes.iter().map(|c| sql.arg(Arg::S(c.clone()))).collect();
        sql.text.push_str(&args.join(", "));
        sql.text.push(')');
        let rows = sql.fetch_all(&self.db).await?;
        let found: Vec<Diagnosis> = rows
            .iter()
            .map(|r| Ok(Diagnosis { code: r.try_get(0)?, name: r.try_get(1)? }))
            .collect::<Result<_, StoreError>>()?;
        Ok(codes.iter().filter_map(|c| found.iter().find(|d| &d.code == c).cloned()).collect())
    }

    /// How many diagnoses the list holds.
    pub async fn diagnosis_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM diagnoses").fetch_one(&self.db.pool).await?)
    }
}
