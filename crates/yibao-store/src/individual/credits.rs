//! The monthly crediting job: each person of the employee scheme in a pooling region gets the
//! month's credit to the individual account (个人账户) as the year's contribution rules say —
//! an employee or flexible worker in service for a month paid (a share of their own part and
//! of the base, by age band), a retiree a fixed amount by age band. Once per person and
//! month, whatever happens: a run killed half-way, or run twice, credits each person once
//! (the database refuses a second credit of a month too). Work goes in chunks, each its own
//! transaction, with progress told after each.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sqlx::Row;
use yibao_core::contribution::months::YearMonth;
use yibao_core::registry::PersonCategory;
use yibao_core::{AdminCode, Fen, Text};

use crate::contributions::rules_on;
use crate::db::query::{corrupt, date_from};
use crate::{Actor, Store, StoreError};

/// Persons credited per transaction.
const CHUNK: i64 = 2_000;
/// Rows per statement within it.
const STATEMENT_ROWS: usize = 250;

/// A run of the job, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditRun {
    pub id: i64,
    pub region: AdminCode,
    pub month: YearMonth,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Accounts credited by this run (not those credited before it).
    pub credited: i64,
    pub amount: Fen,
    pub actor: String,
}

/// One person's credit for the month.
struct Credit {
    person_id: i64,
    amount: Fen,
    note: Text,
}

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(yibao_core::InvalidValue::new("month", code, zh, en))
}

/// Whole years of age on `day`.
fn age_on(birth: NaiveDate, day: NaiveDate) -> u32 {
    let mut years = day.year() - birth.year();
    if (day.month(), day.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Who is due a credit for `month` (`$1`) in the pooling region (`$2`) and has none yet.
/// The persons the job looks at (`$1` the pooling region): the employee scheme's, active.
fn scope_sql() -> String {
    use yibao_core::registry::{PersonStatus, Scheme};
    format!(
        "FROM persons p WHERE p.pooling_region = $1 AND p.scheme = '{}' AND p.status = '{}'",
        Scheme::Employee.code(),
        PersonStatus::Active.code()
    )
}

impl Store {
    /// Credits `month`'s individual accounts in the pooling region of `region`, as `actor`,
    /// calling `progress(done, due)` after each chunk. Refused for a month after `today`'s, or
    /// without the year's contribution rules.
    pub async fn credit_accounts(
        &self,
        actor: &Actor,
        region: AdminCode,
        month: YearMonth,
        today: NaiveDate,
        mut progress: impl FnMut(i64, i64),
    ) -> Result<CreditRun, StoreError> {
        let region = region.prefecture();
        if month > YearMonth::of(today) {
            return Err(refuse("future", format!("{month} 尚未到来，不能划入"), format!("{month} has not come yet")));
        }
        let Some(rules) = rules_on(&mut self.read_conn().await?, region, month.year).await? else {
            return Err(refuse(
                "no_rules",
                format!("{region} 没有 {} 年度的缴费标准，无法计算划入金额", month.year),
                format!("{region} has no contribution rules for {}: nothing can be credited", month.year),
            ));
        };
        let region_code = i64::from(region.value());
        // Due: the retired and those with the month paid, less those credited already. Each
        // query is a plain indexed one whatever the planner knows of the tables' sizes (an
        // anti-join planned on empty statistics took seconds per chunk on PostgreSQL).
        let eligible_sql = format!(
            "{} AND (p.category = '{}' OR EXISTS (SELECT 1 FROM contribution_months m \
             WHERE m.person_id = p.id AND m.month = $2))",
            scope_sql(),
            PersonCategory::Retired.code()
        );
        let eligible: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {eligible_sql}"))
            .bind(region_code)
            .bind(month.to_string())
            .fetch_one(&self.db.pool)
            .await?;
        // Of those, the credited: exactly the ones credited already, so none due means none.
        let credited: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) {eligible_sql} AND EXISTS (SELECT 1 FROM account_entries e WHERE e.person_id = p.id \
             AND e.kind = 'credit' AND e.credit_month = $2)"
        ))
        .bind(region_code)
        .bind(month.to_string())
        .fetch_one(&self.db.pool)
        .await?;
        let due = eligible - credited;
        let mut w = self.begin_write(actor).await?;
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO account_credit_runs (region, month, started_at, actor) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(region_code)
        .bind(month.to_string())
        .bind(w.at().to_string())
        .bind(actor.label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        w.commit().await?;
        progress(0, due);
        let first_day = month.first_day();
        let (mut after, mut done) = (0i64, 0i64);
        loop {
            if due <= 0 {
                break;
            }
            let rows = sqlx::query(&format!(
                "SELECT p.id, p.birth_date, p.category {} AND p.id > $2 ORDER BY p.id LIMIT $3",
                scope_sql()
            ))
            .bind(region_code)
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&self.db.pool)
            .await?;
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else { break };
            let (from, to): (i64, i64) = (first.try_get(0)?, last.try_get(0)?);
            after = to;
            let bases: std::collections::HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
                "SELECT person_id, base FROM contribution_months WHERE month = $1 AND person_id BETWEEN $2 AND $3",
            )
            .bind(month.to_string())
            .bind(from)
            .bind(to)
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .collect();
            let already: std::collections::HashSet<i64> = sqlx::query_scalar::<_, i64>(
                "SELECT person_id FROM account_entries WHERE kind = 'credit' AND credit_month = $1 \
                 AND person_id BETWEEN $2 AND $3",
            )
            .bind(month.to_string())
            .bind(from)
            .bind(to)
            .fetch_all(&self.db.pool)
            .await?
            .into_iter()
            .collect();
            let mut credits = Vec::with_capacity(rows.len());
            let mut looked_at = 0i64;
            for r in &rows {
                let person_id: i64 = r.try_get(0)?;
                let category: String = r.try_get(2)?;
                let category = PersonCategory::parse(&category).map_err(|_| corrupt("persons.category", &category))?;
                let base = bases.get(&person_id).copied();
                if already.contains(&person_id) || (category != PersonCategory::Retired && base.is_none()) {
                    continue;
                }
                looked_at += 1;
                let birth = date_from("birth_date", &r.try_get::<String, _>(1)?)?;
                let bill = base.map(|base| rules.employee.bill(Fen::from_fen(base)));
                let (amount, note) = rules.account_credit(category, age_on(birth, first_day), bill.as_ref());
                if amount.is_positive() {
                    credits.push(Credit { person_id, amount, note });
                }
            }
            if looked_at == 0 {
                continue;
            }
            done += looked_at;
            if !credits.is_empty() {
                self.post_credits(actor, run_id, month, &credits).await?;
            }
            progress(done, due);
        }
        let mut w = self.begin_write(actor).await?;
        sqlx::query("UPDATE account_credit_runs SET finished_at = $1 WHERE id = $2")
            .bind(w.at().to_string())
            .bind(run_id)
            .execute(&mut *w.tx)
            .await?;
        let run = run_in(&mut w.tx, run_id).await?;
        w.record::<(), _>("account.credit_run", "account_credit_run", &run_id.to_string(), None, Some(&run)).await?;
        w.commit().await?;
        Ok(run)
    }

    /// One chunk's credits in one transaction: accounts opened where missing, balances raised,
    /// one ledger entry each with its explanation, the run's counts.
    async fn post_credits(
        &self,
        actor: &Actor,
        run_id: i64,
        month: YearMonth,
        credits: &[Credit],
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write(actor).await?;
        let at = w.at().to_string();
        // SQLite looks its `$n` parameters up by name: statements of a few hundred rows.
        for part in credits.chunks(STATEMENT_ROWS) {
            let rows = |width: usize, first: usize| -> String {
                (0..part.len())
                    .map(|i| {
                        let cols: Vec<String> = (1..=width).map(|c| format!("${}", first + i * width + c)).collect();
                        format!("({})", cols.join(", "))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let open = format!(
                "INSERT INTO individual_accounts (person_id, balance, version) SELECT column1, 0, 1 FROM (VALUES {}) \
                 AS c WHERE true ON CONFLICT (person_id) DO NOTHING",
                rows(1, 0)
            );
            let mut q = sqlx::query(&open);
            for c in part {
                q = q.bind(c.person_id);
            }
            q.execute(&mut *w.tx).await?;
            let raise = format!(
                "UPDATE individual_accounts SET balance = individual_accounts.balance + c.column2, \
                 version = individual_accounts.version + 1 FROM (VALUES {}) AS c \
                 WHERE individual_accounts.person_id = c.column1 \
                 RETURNING individual_accounts.person_id, individual_accounts.balance",
                rows(2, 0)
            );
            let mut q = sqlx::query(&raise);
            for c in part {
                q = q.bind(c.person_id).bind(c.amount.fen());
            }
            let balances: std::collections::HashMap<i64, i64> = q
                .fetch_all(&mut *w.tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, StoreError>>()?;
            // $1–$3: the time, the actor and the month, the same for every entry.
            let insert = format!(
                "INSERT INTO account_entries (person_id, kind, amount, balance_after, at, actor, credit_month, note) \
                 SELECT column1, 'credit', column2, column3, $1, $2, $3, column4 FROM (VALUES {}) AS c WHERE true",
                rows(4, 3)
            );
            let mut q = sqlx::query(&insert).bind(at.clone()).bind(actor.label.clone()).bind(month.to_string());
            for c in part {
                let after =
                    balances.get(&c.person_id).copied().ok_or_else(|| corrupt("individual_accounts", c.person_id))?;
                let note = serde_json::to_string(&c.note).map_err(|e| corrupt("note", e))?;
                q = q.bind(c.person_id).bind(c.amount.fen()).bind(after).bind(note);
            }
            q.execute(&mut *w.tx).await?;
        }
        let total: Fen = credits.iter().map(|c| c.amount).sum();
        let region: i64 = sqlx::query_scalar("SELECT region FROM account_credit_runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&mut *w.tx)
            .await?;
        let credited = yibao_core::books::Entry::new("account_credit", format!("{month}:{run_id}")).transfer(
            yibao_core::books::Fund::accounts_of(crate::db::query::region_from(region)?),
            yibao_core::books::Account::AccountCredits,
            yibao_core::books::Account::PersonalAccounts,
            total,
        );
        crate::books::post(&mut w, &credited).await?;
        sqlx::query("UPDATE account_credit_runs SET credited = credited + $1, amount = amount + $2 WHERE id = $3")
            .bind(credits.len() as i64)
            .bind(total.fen())
            .bind(run_id)
            .execute(&mut *w.tx)
            .await?;
        let summary = serde_json::json!({ "run": run_id, "month": month, "accounts": credits.len(), "amount": total });
        w.record::<(), _>("account.credit", "account_credit_run", &run_id.to_string(), None, Some(&summary)).await?;
        w.commit().await?;
        Ok(())
    }

    /// The job's runs in the pooling region of `region`, the newest first.
    pub async fn credit_runs(&self, region: AdminCode) -> Result<Vec<CreditRun>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {RUN_COLS} FROM account_credit_runs WHERE region = $1 ORDER BY id DESC"))
                .bind(i64::from(region.prefecture().value()))
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(run_from_row).collect()
    }
}

const RUN_COLS: &str = "id, region, month, started_at, finished_at, credited, amount, actor";

fn run_from_row(r: &sqlx::any::AnyRow) -> Result<CreditRun, StoreError> {
    let region: i64 = r.try_get(1)?;
    let month: String = r.try_get(2)?;
    Ok(CreditRun {
        id: r.try_get(0)?,
        region: crate::db::query::region_from(region)?,
        month: month.parse().map_err(|_| corrupt("account_credit_runs.month", &month))?,
        started_at: r.try_get(3)?,
        finished_at: r.try_get(4)?,
        credited: r.try_get(5)?,
        amount: Fen::from_fen(r.try_get(6)?),
        actor: r.try_get(7)?,
    })
}

async fn run_in(conn: &mut crate::db::Conn, id: i64) -> Result<CreditRun, StoreError> {
    let row = sqlx::query(&format!("SELECT {RUN_COLS} FROM account_credit_runs WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    run_from_row(&row)
}
