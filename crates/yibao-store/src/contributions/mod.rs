//! Contributions (缴费) as stored: each region's rules per insurance year (imported like a
//! policy, versioned), employers' monthly declarations and their bills, the payments that
//! settle them, and the months each person has paid — what cover follows
//! (`yibao_core::contribution`).

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use yibao_core::contribution::months::{standing, Paid, Standing, YearMonth};
use yibao_core::contribution::ContributionRules;
use yibao_core::{AdminCode, Fen, InvalidValue};

use crate::db::query::corrupt;
use crate::{Store, StoreError, WriteTx};

mod bills;
mod collection;
mod orders;
mod receipts;

pub use bills::{Bill, BillLine, Declared};
pub use collection::Collected;
pub use orders::{GatewayNotice, NoticeOutcome, OnlineOrder, Purchase};
pub use receipts::{PaymentMatch, PersonalPeriod};

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("contribution", code, zh, en))
}

/// A month a person has paid, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaidMonth {
    pub month: YearMonth,
    /// `employee` (through the unit's bill) or `flexible` (paid by the person).
    pub kind: String,
    pub base: Fen,
    pub amount: Fen,
    pub paid_on: NaiveDate,
    /// What paid it: `bill:{id}`, or an online order's number.
    pub source: String,
}

impl Store {
    /// Imports a region's contribution rules for a year (validated: every problem named with
    /// its path), as a version above the newest of that region and year.
    pub async fn import_contribution_rules(
        &self,
        w: &mut WriteTx,
        text: &str,
    ) -> Result<ContributionRules, StoreError> {
        let rules = ContributionRules::parse(text).map_err(|errors| {
            crate::db::query::invalid_document(
                "contribution_rules",
                errors.iter().map(|e| (e.path.as_str(), &e.message)),
            )
        })?;
        let region: AdminCode = rules.region.parse()?;
        if region != region.prefecture() {
            return Err(refuse(
                "not_a_pool",
                format!("缴费标准按统筹地区（地市，如 {}）制定", region.prefecture()),
                format!("contribution rules are a pooling region's (a prefecture such as {})", region.prefecture()),
            ));
        }
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM contribution_rules WHERE region = $1 AND year = $2")
                .bind(i64::from(region.value()))
                .bind(i64::from(rules.year))
                .fetch_one(&mut *w.tx)
                .await?;
        crate::db::query::check_newer(newest, rules.version)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contribution_rules (region, year, version, document, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(i64::from(region.value()))
        .bind(i64::from(rules.year))
        .bind(i64::from(rules.version))
        .bind(text.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        w.record::<(), ContributionRules>(
            "contribution.rules",
            "contribution_rules",
            &id.to_string(),
            None,
            Some(&rules),
        )
        .await?;
        Ok(rules)
    }

    /// The contribution rules in force for the pooling region of `region` in `year`: the
    /// newest version.
    pub async fn contribution_rules(
        &self,
        region: AdminCode,
        year: i32,
    ) -> Result<Option<ContributionRules>, StoreError> {
        let mut conn = self.read_conn().await?;
        rules_on(&mut conn, region, year).await
    }

    /// The pooling regions with contribution rules for `year`.
    pub async fn contribution_regions(&self, year: i32) -> Result<Vec<AdminCode>, StoreError> {
        let codes: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT region FROM contribution_rules WHERE year = $1 ORDER BY region")
                .bind(i64::from(year))
                .fetch_all(&self.db.pool)
                .await?;
        codes.into_iter().map(crate::db::query::region_from).collect()
    }

    /// The months `person_id` has paid, the oldest first.
    pub async fn paid_months(&self, person_id: i64) -> Result<Vec<PaidMonth>, StoreError> {
        let mut conn = self.read_conn().await?;
        paid_months_on(&mut conn, person_id).await
    }

    /// Where a person stands on `day` with the payments known on `as_of`, under the rules of
    /// the year of `day` in the person's pooling region: a monthly contributor by the months
    /// paid, a resident by the year paid; `None` where the region has no contribution rules
    /// for that year, and for a retired person (who pays nothing).
    pub async fn contribution_standing(
        &self,
        person: &crate::Person,
        day: NaiveDate,
        as_of: NaiveDate,
    ) -> Result<Option<Standing>, StoreError> {
        use chrono::Datelike;
        if person.category == yibao_core::registry::PersonCategory::Retired {
            return Ok(None);
        }
        let mut conn = self.read_conn().await?;
        let Some(rules) = rules_on(&mut conn, person.insured_region, day.year()).await? else { return Ok(None) };
        if person.enrolment == yibao_core::registry::Enrolment::Resident {
            let paid_on: Option<String> =
                sqlx::query_scalar("SELECT paid_on FROM resident_contributions WHERE person_id = $1 AND year = $2")
                    .bind(person.id)
                    .bind(i64::from(day.year()))
                    .fetch_optional(&mut conn)
                    .await?;
            let paid_on =
                paid_on.map(|d| d.parse().map_err(|_| corrupt("resident_contributions.paid_on", &d))).transpose()?;
            let r = &rules.resident;
            return Ok(Some(yibao_core::contribution::months::resident_standing(
                r.collection_to,
                r.late_waiting_days,
                paid_on,
                day,
                as_of,
            )));
        }
        let paid: Vec<Paid> = paid_months_on(&mut conn, person.id)
            .await?
            .iter()
            .map(|p| Paid { month: p.month, on: p.paid_on })
            .collect();
        let first_wait = match person.enrolment {
            yibao_core::registry::Enrolment::FlexibleEmployment => rules.flexible.first_waiting_days,
            _ => 0,
        };
        Ok(Some(standing(&rules.arrears, first_wait, &paid, day, as_of)))
    }

    /// Refuses treatment from `start` to `end` on a day the person was not covered for
    /// want of contributions (in arrears past the grace, waiting, or never paid), judged with
    /// the payments known on `as_of`; the first such day names the reason. Cover changes
    /// only on a month's first day or a waiting period's end, so those are the days asked.
    pub async fn check_paid_cover(
        &self,
        person: &crate::Person,
        start: NaiveDate,
        end: NaiveDate,
        as_of: NaiveDate,
    ) -> Result<(), StoreError> {
        let mut day = start;
        while day <= end {
            if let Some(s) = self.contribution_standing(person, day, as_of).await? {
                if let Some(reason) = s.refusal() {
                    return Err(StoreError::Invalid(yibao_core::InvalidValue {
                        field: "care_start",
                        code: s.code(),
                        message: yibao_core::i18n::Text::new(
                            format!("{day} 不能享受医保待遇：{}", reason.zh),
                            format!("not covered on {day}: {}", reason.en),
                        ),
                    }));
                }
            }
            day = YearMonth::of(day).plus(1).first_day();
        }
        Ok(())
    }
}

/// The newest rules of the pooling region of `region` for `year`, on `conn`.
pub(crate) async fn rules_on(
    conn: &mut crate::db::Conn,
    region: AdminCode,
    year: i32,
) -> Result<Option<ContributionRules>, StoreError> {
    let document: Option<String> = sqlx::query_scalar(
        "SELECT document FROM contribution_rules WHERE region = $1 AND year = $2 ORDER BY version DESC LIMIT 1",
    )
    .bind(i64::from(region.prefecture().value()))
    .bind(i64::from(year))
    .fetch_optional(&mut *conn)
    .await?;
    document.map(|d| ContributionRules::parse(&d).map_err(|_| corrupt("contribution_rules.document", year))).transpose()
}

async fn paid_months_on(conn: &mut crate::db::Conn, person_id: i64) -> Result<Vec<PaidMonth>, StoreError> {
    let rows = sqlx::query(
        "SELECT month, kind, base, amount, paid_on, source FROM contribution_months WHERE person_id = $1 ORDER BY month",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let month: String = r.try_get(0)?;
            let paid_on: String = r.try_get(4)?;
            Ok(PaidMonth {
                month: month.parse().map_err(|_| corrupt("contribution_months.month", &month))?,
                kind: r.try_get(1)?,
                base: Fen::from_fen(r.try_get(2)?),
                amount: Fen::from_fen(r.try_get(3)?),
                paid_on: paid_on.parse().map_err(|_| corrupt("contribution_months.paid_on", &paid_on))?,
                source: r.try_get(5)?,
            })
        })
        .collect()
}
