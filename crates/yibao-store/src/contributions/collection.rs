//! What finance sees of contributions in its regions: the money collected by month and kind
//! (units' bills, flexible workers' months, residents' years), and the units in arrears.

use serde::Serialize;
use sqlx::Row;
use yibao_core::contribution::months::YearMonth;
use yibao_core::{Fen, Scope};

use super::bills::{bill_from_row, BILL_COLS};
use crate::db::query::{corrupt, Sql};
use crate::{Bill, Store, StoreError};

/// One month's collection of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// The month the money came in.
    pub month: YearMonth,
    /// `unit` (employees through their units' bills), `flexible` or `resident`.
    pub kind: String,
    /// Bills, months or years paid.
    pub count: i64,
    pub amount: Fen,
}

impl Store {
    /// The contributions collected in `year` in the regions of `scope`, by the month paid and
    /// kind, the oldest first.
    pub async fn collection_in(&self, scope: &Scope, year: i32) -> Result<Vec<Collected>, StoreError> {
        let like = format!("{year}-%");
        let queries = [
            (
                "unit",
                "SELECT SUBSTR(b.paid_on, 1, 7), COUNT(*), CAST(SUM(b.employer_total + b.employee_total) AS BIGINT) \
                 FROM contribution_bills b JOIN employers e ON e.id = b.employer_id WHERE b.state = 'paid'",
                "e.region",
                "b.paid_on",
            ),
            (
                "flexible",
                "SELECT SUBSTR(m.paid_on, 1, 7), COUNT(*), CAST(SUM(m.amount) AS BIGINT) FROM contribution_months m \
                 JOIN persons p ON p.id = m.person_id WHERE m.kind = 'flexible'",
                "p.insured_region",
                "m.paid_on",
            ),
            (
                "resident",
                "SELECT SUBSTR(r.paid_on, 1, 7), COUNT(*), CAST(SUM(r.personal) AS BIGINT) FROM resident_contributions r \
                 JOIN persons p ON p.id = r.person_id WHERE 1 = 1",
                "p.insured_region",
                "r.paid_on",
            ),
        ];
        let mut out = Vec::new();
        for (kind, select, region, paid_on) in queries {
            let mut sql = Sql::new(select);
            sql.scope_filter(region, scope);
            let y = sql.arg(crate::db::query::Arg::S(like.clone()));
            sql.text.push_str(&format!(" AND {paid_on} LIKE {y} GROUP BY SUBSTR({paid_on}, 1, 7)"));
            for r in sql.fetch_all(&self.db).await? {
                let month: String = r.try_get(0)?;
                out.push(Collected {
                    month: month.parse().map_err(|_| corrupt("paid_on", &month))?,
                    kind: kind.to_string(),
                    count: r.try_get(1)?,
                    amount: Fen::from_fen(r.try_get::<Option<i64>, _>(2)?.unwrap_or(0)),
                });
            }
        }
        out.sort_by(|a, b| (a.month, &a.kind).cmp(&(b.month, &b.kind)));
        Ok(out)
    }

    /// The bills declared and not paid of the units in the regions of `scope`, the oldest
    /// month first.
    pub async fn arrears_in(&self, scope: &Scope) -> Result<Vec<Bill>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {BILL_COLS} FROM contribution_bills b JOIN employers e ON e.id = b.employer_id \
             WHERE b.state = 'declared'"
        ));
        sql.scope_filter("e.region", scope);
        sql.text.push_str(" ORDER BY b.month, b.id LIMIT 500");
        sql.fetch_all(&self.db).await?.iter().map(|r| bill_from_row(r, Vec::new())).collect()
    }
}
