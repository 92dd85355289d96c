//! Receipts: the bank's or the tax authority's record that money came in. A unit's line pays
//! one bill (its exact total); a person's line pays a flexible worker's month or a resident's
//! year (the exact amount the year's rules ask). A receipt file holds both; each line is
//! matched exactly or reported with why, and a line imported twice changes nothing the
//! second time.

use chrono::NaiveDate;
use serde::Serialize;
use yibao_core::contribution::months::YearMonth;
use yibao_core::registry::{Enrolment, PersonCategory};
use yibao_core::{Fen, ResidentId, Text};

use super::{refuse, rules_on};
use crate::{Person, Store, StoreError, WriteTx};

/// What became of a receipt line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentMatch {
    /// The line's number in the file (from 1, the header not counted).
    pub line: usize,
    /// The unit's credit code or the person's ID number, as the line gave it.
    pub payer: String,
    /// `2026-03` (a unit's bill or a flexible worker's month) or `2026` (a resident's year).
    pub period: String,
    pub amount: Fen,
    /// The bill it paid, if it paid a unit's bill.
    pub bill_id: Option<i64>,
    /// The person whose month or year it paid.
    pub person_id: Option<i64>,
    /// Why it recorded nothing, in both languages.
    pub problem: Option<Text>,
}

impl PaymentMatch {
    pub fn recorded(&self) -> bool {
        self.problem.is_none()
    }
}

/// What a person's receipt pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalPeriod {
    /// A flexible worker's month.
    Month(YearMonth),
    /// A resident's insurance year.
    Year(i32),
}

/// The checks every receipt passes: paid no earlier than `earliest` and not after today in
/// China (the write's time is UTC; China is a day ahead at most), with a reference. The
/// reference, trimmed.
pub(super) fn check_receipt<'r>(
    w: &WriteTx,
    paid_on: NaiveDate,
    earliest: NaiveDate,
    reference: &'r str,
) -> Result<&'r str, StoreError> {
    if paid_on < earliest {
        return Err(refuse("before_month", "缴费日期早于所缴期间", "paid before the period it is for"));
    }
    let now: Option<NaiveDate> = w.at().get(..10).and_then(|d| d.parse().ok());
    if now.is_some_and(|d| paid_on > d + chrono::Duration::days(1)) {
        return Err(refuse("future", "缴费日期晚于今天", "paid after today"));
    }
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(refuse(
            "reference",
            "请填写银行或税务的缴款凭证号",
            "give the bank's or tax authority's reference",
        ));
    }
    Ok(reference)
}

/// Stores a flexible worker's `months` paid on `paid_on` from `source`, each at `monthly` on
/// `base`; `false` (nothing stored) if any of them is paid already.
pub(super) async fn insert_months(
    w: &mut WriteTx,
    person_id: i64,
    months: &[YearMonth],
    base: Fen,
    monthly: Fen,
    paid_on: NaiveDate,
    source: &str,
) -> Result<bool, StoreError> {
    for m in months {
        let paid: Option<i64> =
            sqlx::query_scalar("SELECT id FROM contribution_months WHERE person_id = $1 AND month = $2")
                .bind(person_id)
                .bind(m.to_string())
                .fetch_optional(&mut *w.tx)
                .await?;
        if paid.is_some() {
            return Ok(false);
        }
    }
    for m in months {
        sqlx::query(
            "INSERT INTO contribution_months (person_id, month, kind, base, amount, paid_on, source) \
             VALUES ($1, $2, 'flexible', $3, $4, $5, $6)",
        )
        .bind(person_id)
        .bind(m.to_string())
        .bind(base.fen())
        .bind(monthly.fen())
        .bind(paid_on.to_string())
        .bind(source.to_string())
        .execute(&mut *w.tx)
        .await?;
    }
    let total = Fen::from_fen(monthly.fen().saturating_mul(months.len() as i64));
    let received = yibao_core::books::Entry::new("contribution", source.to_string()).transfer(
        crate::books::person_fund(w, person_id, true).await?,
        yibao_core::books::Account::Bank,
        yibao_core::books::Account::Contributions,
        total,
    );
    crate::books::post(w, &received).await?;
    Ok(true)
}

/// Stores a resident's `year` paid on `paid_on` from `source`; `false` (nothing stored) if
/// it is paid already.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_year(
    w: &mut WriteTx,
    person_id: i64,
    year: i32,
    category: &str,
    personal: Fen,
    subsidy: Fen,
    paid_on: NaiveDate,
    source: &str,
) -> Result<bool, StoreError> {
    let paid: Option<i64> =
        sqlx::query_scalar("SELECT id FROM resident_contributions WHERE person_id = $1 AND year = $2")
            .bind(person_id)
            .bind(i64::from(year))
            .fetch_optional(&mut *w.tx)
            .await?;
    if paid.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO resident_contributions (person_id, year, category, personal, subsidy, paid_on, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(person_id)
    .bind(i64::from(year))
    .bind(category.to_string())
    .bind(personal.fen())
    .bind(subsidy.fen())
    .bind(paid_on.to_string())
    .bind(source.to_string())
    .execute(&mut *w.tx)
    .await?;
    let received = yibao_core::books::Entry::new("contribution", source.to_string()).transfer(
        crate::books::person_fund(w, person_id, false).await?,
        yibao_core::books::Account::Bank,
        yibao_core::books::Account::Contributions,
        personal.saturating_add(subsidy),
    );
    crate::books::post(w, &received).await?;
    Ok(true)
}

impl Store {
    /// Records a person's payment from the tax authority's (or bank's) receipt: a flexible
    /// worker's month at the monthly amount of one of the bases offered, or a resident's year
    /// at the personal amount of the person's category — exactly, or refused with why. A
    /// period already paid is refused (`paid`), so the same receipt twice records once.
    pub async fn record_personal_payment(
        &self,
        w: &mut WriteTx,
        person: &Person,
        period: PersonalPeriod,
        amount: Fen,
        paid_on: NaiveDate,
        reference: &str,
    ) -> Result<(), StoreError> {
        let year = match period {
            PersonalPeriod::Month(m) => m.year,
            PersonalPeriod::Year(y) => y,
        };
        let Some(rules) = rules_on(&mut w.tx, person.insured_region, year).await? else {
            return Err(refuse(
                "no_rules",
                format!("参保地没有 {year} 年度的缴费标准"),
                format!("the insured region has no contribution rules for {year}"),
            ));
        };
        let mismatch = |due: Fen| {
            refuse(
                "amount_mismatch",
                format!("到账金额 {} 元与应缴 {} 元不符，未入账", amount.to_grouped(), due.to_grouped()),
                format!("the {} received is not the {} due: nothing recorded", amount.to_grouped(), due.to_grouped()),
            )
        };
        let recorded = match period {
            PersonalPeriod::Month(month) => {
                if person.enrolment != Enrolment::FlexibleEmployment || person.category == PersonCategory::Retired {
                    return Err(refuse(
                        "not_flexible",
                        "按月的个人缴费只适用于在职的灵活就业人员",
                        "a month paid by a person is a flexible worker's in service",
                    ));
                }
                let bases = rules.flexible.base_percents.iter().filter_map(|&p| rules.flexible_bill(p));
                let Some(bill) = bases.clone().find(|b| b.total() == amount) else {
                    let due = bases.map(|b| b.total()).next().unwrap_or(Fen::ZERO);
                    return Err(mismatch(due));
                };
                let reference = check_receipt(w, paid_on, month.first_day(), reference)?;
                insert_months(w, person.id, &[month], bill.base, amount, paid_on, reference).await?
            }
            PersonalPeriod::Year(year) => {
                let due = match person.enrolment {
                    Enrolment::Resident => rules.resident_amount(person.category),
                    _ => None,
                };
                let Some(due) = due else {
                    return Err(refuse(
                        "not_resident",
                        "按年度的个人缴费只适用于城乡居民",
                        "a year paid by a person is a resident's",
                    ));
                };
                if amount != due.personal {
                    return Err(mismatch(due.personal));
                }
                let reference = check_receipt(w, paid_on, rules.resident.collection_from, reference)?;
                let category = person.category.code();
                insert_year(w, person.id, year, category, due.personal, due.subsidy, paid_on, reference).await?
            }
        };
        if !recorded {
            return Err(refuse("paid", "该期间已缴费，未重复入账", "that period is paid already: nothing recorded"));
        }
        let summary = serde_json::json!({
            "person": person.id, "period": match period {
                PersonalPeriod::Month(m) => m.to_string(),
                PersonalPeriod::Year(y) => y.to_string(),
            },
            "amount": amount, "paid_on": paid_on, "reference": reference.trim(),
        });
        w.record::<(), _>("contribution.personal_paid", "person", &person.id.to_string(), None, Some(&summary)).await?;
        Ok(())
    }

    /// Records the payments of a receipt file (CSV: `payer,period,amount,paid_on,reference`,
    /// a header first). The payer is a unit's credit code (the period a month: the unit's bill)
    /// or, where no unit has that code, a person's ID number (a flexible worker's month, or a
    /// resident's year as `2026`). Only payers `in_scope` (by region) are matched; every line
    /// that records nothing is reported with why.
    pub async fn import_receipts(
        &self,
        w: &mut WriteTx,
        csv: &str,
        in_scope: &(dyn Fn(yibao_core::AdminCode) -> bool + Sync),
    ) -> Result<Vec<PaymentMatch>, StoreError> {
        let mut out = Vec::new();
        for (i, raw) in csv.lines().skip(1).enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let cells: Vec<&str> = raw.split(',').map(str::trim).collect();
            let mut found = PaymentMatch {
                line: i + 1,
                payer: cells.first().unwrap_or(&"").to_string(),
                period: cells.get(1).unwrap_or(&"").to_string(),
                amount: Fen::ZERO,
                bill_id: None,
                person_id: None,
                problem: None,
            };
            let [payer, period, amount, paid_on, reference] = cells.as_slice() else {
                found.problem = Some(Text::new(
                    "应为 5 列：缴费人（单位信用代码或身份证号）,所属期,金额,缴费日期,凭证号",
                    "expected 5 columns: payer (credit code or ID number), period, amount, paid on, reference",
                ));
                out.push(found);
                continue;
            };
            let (Ok(amount), Ok(paid_on)) = (amount.parse::<Fen>(), paid_on.parse::<NaiveDate>()) else {
                found.problem = Some(Text::new("金额或日期格式不对", "the amount or the date is malformed"));
                out.push(found);
                continue;
            };
            found.amount = amount;
            if let Err(problem) =
                self.record_line(w, &mut found, payer, period, amount, paid_on, reference, in_scope).await
            {
                match problem {
                    StoreError::Invalid(e) => found.problem = Some(e.message),
                    e => return Err(e),
                }
            }
            out.push(found);
        }
        let summary = serde_json::json!({
            "lines": out.len(),
            "recorded": out.iter().filter(|m| m.recorded()).count(),
        });
        w.record::<(), _>("contribution.import_payments", "contribution_bill", "file", None, Some(&summary)).await?;
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_line(
        &self,
        w: &mut WriteTx,
        found: &mut PaymentMatch,
        payer: &str,
        period: &str,
        amount: Fen,
        paid_on: NaiveDate,
        reference: &str,
        in_scope: &(dyn Fn(yibao_core::AdminCode) -> bool + Sync),
    ) -> Result<(), StoreError> {
        let not_found = || refuse("not_found", "找不到该缴费人", "no such payer");
        let unit = self.employer_by_credit_code(payer).await?;
        if let Some(e) = unit {
            if !in_scope(e.region) {
                return Err(not_found());
            }
            let month: YearMonth = period.parse()?;
            let bill: Option<i64> =
                sqlx::query_scalar("SELECT id FROM contribution_bills WHERE employer_id = $1 AND month = $2")
                    .bind(e.id)
                    .bind(month.to_string())
                    .fetch_optional(&mut *w.tx)
                    .await?;
            let Some(id) = bill else {
                return Err(refuse("no_bill", "找不到该单位该月的缴费单", "no bill of that unit for that month"));
            };
            self.record_bill_payment(w, id, amount, paid_on, reference).await?;
            found.bill_id = Some(id);
            return Ok(());
        }
        let person = match payer.parse::<ResidentId>() {
            Ok(rid) => self.person_by_resident_id(&rid).await?,
            Err(_) => None,
        };
        let Some(person) = person.filter(|p| in_scope(p.insured_region)) else { return Err(not_found()) };
        let period = match period.parse::<i32>() {
            Ok(y) if period.len() == 4 => PersonalPeriod::Year(y),
            _ => PersonalPeriod::Month(period.parse()?),
        };
        self.record_personal_payment(w, &person, period, amount, paid_on, reference).await?;
        found.person_id = Some(person.id);
        Ok(())
    }
}
