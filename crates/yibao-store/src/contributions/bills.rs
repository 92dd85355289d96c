//! Employers declare each month's wages for their employees; yibao computes the bill (the
//! unit's part and each employee's, to the fen, under the year's rules) and records its
//! payment from the bank's or the tax authority's receipt — matched to a bill exactly, a
//! mismatch shown and never guessed. A paid bill's months become the employees' paid months.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use yibao_core::contribution::months::YearMonth;
use yibao_core::{Fen, InvalidValue, ResidentId};

use super::{refuse, rules_on};
use crate::db::query::corrupt;
use crate::{Store, StoreError, WriteTx};

/// A line of a declaration: an employee and the month's wage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub resident_id: ResidentId,
    pub wage: Fen,
}

/// A line of a bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    pub person_id: i64,
    pub person_name: String,
    pub wage: Fen,
    pub base: Fen,
    pub employer_part: Fen,
    pub employee_part: Fen,
    /// Why the base is not the wage (the floor, the ceiling).
    pub note: Option<String>,
}

/// A unit's bill for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bill {
    pub id: i64,
    pub employer_id: i64,
    pub employer_name: String,
    pub month: YearMonth,
    pub rules_version: i64,
    pub employer_total: Fen,
    pub employee_total: Fen,
    pub total: Fen,
    /// `declared` (unpaid) or `paid`.
    pub state: String,
    pub declared_by: String,
    pub declared_at: String,
    pub paid_on: Option<NaiveDate>,
    pub payment_reference: Option<String>,
    pub version: i64,
    pub lines: Vec<BillLine>,
}

pub(super) const BILL_COLS: &str =
    "b.id, b.employer_id, e.name, b.month, b.rules_version, b.employer_total, b.employee_total, \
    b.state, b.declared_by, b.declared_at, b.paid_on, b.payment_reference, b.version";

impl Store {
    /// The unit `employer_id` declares `month`'s wages of its employees (every bad line named,
    /// none stored); yibao computes the bill under the year's rules. A month declared and not
    /// yet paid may be declared again, replacing the lines; a paid month cannot. Not a month
    /// after `today`'s.
    pub async fn declare_contributions(
        &self,
        w: &mut WriteTx,
        employer_id: i64,
        month: YearMonth,
        lines: &[Declared],
        today: NaiveDate,
    ) -> Result<Bill, StoreError> {
        self.declare(w, employer_id, month, lines, None, today).await
    }

    /// [`Store::declare_contributions`] of a file's rows: each bad line is named by its row in
    /// the file (`rows`, one per line).
    pub async fn declare_file_rows(
        &self,
        w: &mut WriteTx,
        employer_id: i64,
        month: YearMonth,
        lines: &[Declared],
        rows: &[u64],
        today: NaiveDate,
    ) -> Result<Bill, StoreError> {
        self.declare(w, employer_id, month, lines, Some(rows), today).await
    }

    async fn declare(
        &self,
        w: &mut WriteTx,
        employer_id: i64,
        month: YearMonth,
        lines: &[Declared],
        rows: Option<&[u64]>,
        today: NaiveDate,
    ) -> Result<Bill, StoreError> {
        let employer = self.employer(employer_id).await?;
        if month > YearMonth::of(today) {
            return Err(refuse("future", format!("不能申报 {month}：尚未到该月"), format!("{month} has not begun")));
        }
        let rules = rules_on(&mut w.tx, employer.region, month.year).await?.ok_or_else(|| {
            refuse(
                "no_rules",
                format!("{} 年度尚无缴费标准，请先由政策管理导入", month.year),
                format!("there are no contribution rules for {} yet: a policy administrator imports them", month.year),
            )
        })?;
        if lines.is_empty() {
            return Err(refuse("empty", "请至少申报一名职工", "declare at least one employee"));
        }
        let mut problems = Vec::new();
        let mut persons = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let n = rows.and_then(|r| r.get(i).copied()).unwrap_or(i as u64 + 1);
            let person = self.person_by_resident_id(&l.resident_id).await?;
            let ok = match &person {
                None => Err(("不是参保人员", "is not an insured person")),
                Some(p) if p.employer_id != Some(employer_id) => {
                    Err(("不是本单位职工", "is not an employee of the unit"))
                }
                Some(p) if p.enrolment != yibao_core::registry::Enrolment::UnitEmployee => {
                    Err(("不是单位参保职工", "is not insured through a unit"))
                }
                Some(p) if p.status != yibao_core::registry::PersonStatus::Active => {
                    Err(("参保状态不是正常参保", "is not actively insured"))
                }
                Some(_) if l.wage <= Fen::ZERO => Err(("工资应大于 0", "needs a wage above 0")),
                Some(p) if persons.iter().any(|(q, _): &(crate::Person, Fen)| q.id == p.id) => {
                    Err(("重复申报", "is declared twice"))
                }
                Some(p) => Ok(p.clone()),
            };
            match ok {
                Ok(p) => persons.push((p, l.wage)),
                Err((zh, en)) => problems.push(InvalidValue::new(
                    "lines",
                    "invalid",
                    format!("第 {n} 行（{}）{zh}", l.resident_id.masked()),
                    format!("line {n} ({}) {en}", l.resident_id.masked()),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Problems(problems));
        }
        let existing: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, state, version FROM contribution_bills WHERE employer_id = $1 AND month = $2")
                .bind(employer_id)
                .bind(month.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        let computed: Vec<_> = persons.iter().map(|(p, wage)| (p, rules.employee.bill(*wage))).collect();
        let employer_total: Fen = computed.iter().map(|(_, b)| b.employer).sum();
        let employee_total: Fen = computed.iter().map(|(_, b)| b.employee).sum();
        let id = match existing {
            Some((_, state, _)) if state == "paid" => {
                return Err(refuse(
                    "paid",
                    format!("{month} 的缴费单已缴清，不能重新申报"),
                    format!("the bill of {month} is paid; it cannot be declared again"),
                ))
            }
            Some((id, _, _)) => {
                sqlx::query("DELETE FROM contribution_bill_lines WHERE bill_id = $1")
                    .bind(id)
                    .execute(&mut *w.tx)
                    .await?;
                sqlx::query(
                    "UPDATE contribution_bills SET rules_version = $1, employer_total = $2, employee_total = $3, \
                     declared_by = $4, declared_at = $5, version = version + 1 WHERE id = $6",
                )
                .bind(i64::from(rules.version))
                .bind(employer_total.fen())
                .bind(employee_total.fen())
                .bind(w.actor().label.clone())
                .bind(w.at().to_string())
                .bind(id)
                .execute(&mut *w.tx)
                .await?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO contribution_bills (employer_id, month, rules_version, employer_total, employee_total, \
                     state, declared_by, declared_at) VALUES ($1, $2, $3, $4, $5, 'declared', $6, $7) RETURNING id",
            )
            .bind(employer_id)
            .bind(month.to_string())
            .bind(i64::from(rules.version))
            .bind(employer_total.fen())
            .bind(employee_total.fen())
            .bind(w.actor().label.clone())
            .bind(w.at().to_string())
            .fetch_one(&mut *w.tx)
            .await?,
        };
        for (p, b) in &computed {
            sqlx::query(
                "INSERT INTO contribution_bill_lines (bill_id, person_id, wage, base, employer_part, employee_part, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(p.id)
            .bind(b.declared.fen())
            .bind(b.base.fen())
            .bind(b.employer.fen())
            .bind(b.employee.fen())
            .bind(b.note.as_ref().map(|n| n.zh.clone()))
            .execute(&mut *w.tx)
            .await?;
        }
        let bill = self.bill_in(w, id).await?;
        w.record::<(), Bill>("contribution.declare", "contribution_bill", &id.to_string(), None, Some(&bill)).await?;
        Ok(bill)
    }

    /// Records that a bill was paid `amount` on `paid_on` (the bank's `reference`): only the
    /// bill's exact total, never part of it or more; its employees' month becomes paid.
    pub async fn record_bill_payment(
        &self,
        w: &mut WriteTx,
        bill_id: i64,
        amount: Fen,
        paid_on: NaiveDate,
        reference: &str,
    ) -> Result<Bill, StoreError> {
        let before = self.bill_in(w, bill_id).await?;
        if before.state == "paid" {
            return Err(refuse(
                "paid",
                format!("该缴费单已于 {} 缴清", before.paid_on.map(|d| d.to_string()).unwrap_or_default()),
                "this bill is paid already",
            ));
        }
        if amount != before.total {
            return Err(refuse(
                "amount_mismatch",
                format!("到账金额 {} 元与缴费单应缴 {} 元不符，未入账", amount.to_grouped(), before.total.to_grouped()),
                format!(
                    "the {} received is not the bill's {}: nothing recorded",
                    amount.to_grouped(),
                    before.total.to_grouped()
                ),
            ));
        }
        let reference = super::receipts::check_receipt(w, paid_on, before.month.first_day(), reference)?;
        let n = sqlx::query(
            "UPDATE contribution_bills SET state = 'paid', paid_on = $1, payment_reference = $2, recorded_by = $3, \
             recorded_at = $4, version = version + 1 WHERE id = $5 AND state = 'declared'",
        )
        .bind(paid_on.to_string())
        .bind(reference.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(bill_id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Stale("contribution bill"));
        }
        let region: i64 = sqlx::query_scalar("SELECT region FROM employers WHERE id = $1")
            .bind(before.employer_id)
            .fetch_one(&mut *w.tx)
            .await?;
        let received = yibao_core::books::Entry::new("contribution", format!("bill:{bill_id}")).transfer(
            yibao_core::books::Fund::of(crate::db::query::region_from(region)?, yibao_core::registry::Scheme::Employee),
            yibao_core::books::Account::Bank,
            yibao_core::books::Account::Contributions,
            before.total,
        );
        crate::books::post(w, &received).await?;
        for l in &before.lines {
            // A month already paid (another unit's bill) stays as first paid.
            let paid: Option<i64> =
                sqlx::query_scalar("SELECT id FROM contribution_months WHERE person_id = $1 AND month = $2")
                    .bind(l.person_id)
                    .bind(before.month.to_string())
                    .fetch_optional(&mut *w.tx)
                    .await?;
            if paid.is_some() {
                continue;
            }
            sqlx::query(
                "INSERT INTO contribution_months (person_id, month, kind, base, amount, paid_on, source) \
                 VALUES ($1, $2, 'employee', $3, $4, $5, $6)",
            )
            .bind(l.person_id)
            .bind(before.month.to_string())
            .bind(l.base.fen())
            .bind(l.employer_part.saturating_add(l.employee_part).fen())
            .bind(paid_on.to_string())
            .bind(format!("bill:{bill_id}"))
            .execute(&mut *w.tx)
            .await?;
        }
        let after = self.bill_in(w, bill_id).await?;
        w.record("contribution.paid", "contribution_bill", &bill_id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// The unit's employees insured through it and actively insured, by ID number.
    pub async fn employees_of(&self, employer_id: i64) -> Result<Vec<crate::Person>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM persons WHERE employer_id = $1 AND enrolment = 'unit_employee' AND status = 'active' \
             ORDER BY resident_id",
        )
        .bind(employer_id)
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        let mut persons = Vec::with_capacity(ids.len());
        for id in ids {
            persons.push(self.person(id).await?);
        }
        Ok(persons)
    }

    /// One bill with its lines.
    pub async fn contribution_bill(&self, id: i64) -> Result<Bill, StoreError> {
        let mut conn = self.read_conn().await?;
        bill_on(&mut conn, id).await
    }

    async fn bill_in(&self, w: &mut WriteTx, id: i64) -> Result<Bill, StoreError> {
        bill_on(&mut w.tx, id).await
    }

    /// A unit's bills, the latest month first (without their lines).
    pub async fn contribution_bills_of(&self, employer_id: i64) -> Result<Vec<Bill>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {BILL_COLS} FROM contribution_bills b JOIN employers e ON e.id = b.employer_id \
             WHERE b.employer_id = $1 ORDER BY b.month DESC"
        ))
        .bind(employer_id)
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        rows.iter().map(|r| bill_from_row(r, Vec::new())).collect()
    }

    /// The unit's months unpaid (欠费) up to `today`'s month: declared bills not paid.
    pub async fn contribution_arrears(&self, employer_id: i64, today: NaiveDate) -> Result<Vec<Bill>, StoreError> {
        let month = YearMonth::of(today);
        Ok(self
            .contribution_bills_of(employer_id)
            .await?
            .into_iter()
            .filter(|b| b.state == "declared" && b.month <= month)
            .collect())
    }
}

async fn bill_on(conn: &mut crate::db::Conn, id: i64) -> Result<Bill, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {BILL_COLS} FROM contribution_bills b JOIN employers e ON e.id = b.employer_id WHERE b.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("contribution bill"))?;
    let lines = sqlx::query(
        "SELECT l.person_id, p.name, l.wage, l.base, l.employer_part, l.employee_part, l.note \
         FROM contribution_bill_lines l JOIN persons p ON p.id = l.person_id WHERE l.bill_id = $1 ORDER BY l.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(BillLine {
            person_id: r.try_get(0)?,
            person_name: r.try_get(1)?,
            wage: Fen::from_fen(r.try_get(2)?),
            base: Fen::from_fen(r.try_get(3)?),
            employer_part: Fen::from_fen(r.try_get(4)?),
            employee_part: Fen::from_fen(r.try_get(5)?),
            note: r.try_get(6)?,
        })
    })
    .collect::<Result<Vec<_>, StoreError>>()?;
    bill_from_row(&row, lines)
}

pub(super) fn bill_from_row(r: &sqlx::any::AnyRow, lines: Vec<BillLine>) -> Result<Bill, StoreError> {
    let month: String = r.try_get(3)?;
    let employer_total = Fen::from_fen(r.try_get(5)?);
    let employee_total = Fen::from_fen(r.try_get(6)?);
    let paid_on: Option<String> = r.try_get(10)?;
    Ok(Bill {
        id: r.try_get(0)?,
        employer_id: r.try_get(1)?,
        employer_name: r.try_get(2)?,
        month: month.parse().map_err(|_| corrupt("contribution_bills.month", &month))?,
        rules_version: r.try_get(4)?,
        employer_total,
        employee_total,
        total: employer_total.saturating_add(employee_total),
        state: r.try_get(7)?,
        declared_by: r.try_get(8)?,
        declared_at: r.try_get(9)?,
        paid_on: paid_on.map(|d| d.parse().map_err(|_| corrupt("contribution_bills.paid_on", &d))).transpose()?,
        payment_reference: r.try_get(11)?,
        version: r.try_get(12)?,
        lines,
    })
}
