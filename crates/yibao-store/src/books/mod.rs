//! The fund's books as stored: each business event posts its entry (`yibao_core::books`) in
//! its own transaction, through [`Store::post`]; [`Store::verify_books`] proves that every
//! entry balances in each fund and that the balances agree with the business tables —
//! individual accounts, unpaid orders, settlements and approved claims, contributions
//! received, clearings, payments made — naming every difference.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use yibao_core::books::{add, compare, Account, Balances, Entry, Fund};
use yibao_core::registry::Scheme;
use yibao_core::settlement::SettlementList;
use yibao_core::{AdminCode, Fen, InvalidValue, Text};

use crate::db::query::{corrupt, region_from};
use crate::{Store, StoreError, WriteTx};

/// What `yibao books verify` and the books page report.
#[derive(Debug, Clone, Serialize)]
pub struct BooksCheck {
    /// Every fund's balances (debits positive).
    pub balances: Vec<(Fund, Account, Fen)>,
    pub entries: i64,
    /// Every place the books do not balance or disagree with the records, in words.
    pub differences: Vec<Text>,
}

impl BooksCheck {
    pub fn clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// The entry of a settlement (its list as stored): the funds' share is a benefit owed to the
/// institution in the person's fund; what the individual accounts paid (own and 门诊共济)
/// leaves them for the institution in the accounts' fund.
pub(crate) fn settlement_entry(list: &SettlementList) -> Result<Entry, StoreError> {
    let region: AdminCode =
        list.basic.insuplc_admdvs.parse().map_err(|e| corrupt("settlements.setl_list.insuplc_admdvs", e))?;
    let scheme = Scheme::parse(&list.basic.insutype).map_err(|e| corrupt("settlements.setl_list.insutype", e))?;
    Ok(Entry::new("settlement", list.basic.setl_id.clone())
        .transfer(Fund::of(region, scheme), Account::Benefits, Account::PayableInstitutions, list.fund_pay_sumamt)
        .transfer(
            Fund::accounts_of(region),
            Account::PersonalAccounts,
            Account::PayableInstitutions,
            list.acct_pay.saturating_add(list.acct_mulaid_pay),
        ))
}

/// The fund of a person (`accounts`: the fund holding their individual account).
pub(crate) async fn person_fund(w: &mut WriteTx, person_id: i64, accounts: bool) -> Result<Fund, StoreError> {
    let row = sqlx::query("SELECT insured_region, scheme FROM persons WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
    let region = region_from(row.try_get(0)?)?;
    if accounts {
        return Ok(Fund::accounts_of(region));
    }
    let scheme = Scheme::parse(&row.try_get::<String, _>(1)?).map_err(|e| corrupt("persons.scheme", e))?;
    Ok(Fund::of(region, scheme))
}

/// Posts `entry` in this transaction; refused (nothing posted) when it does not balance in
/// every fund.
pub(crate) async fn post(w: &mut WriteTx, entry: &Entry) -> Result<(), StoreError> {
    {
        if entry.postings.is_empty() {
            return Ok(());
        }
        if let Some((fund, off)) = entry.unbalanced().first() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "books",
                "unbalanced",
                format!("记账分录 {} {} 在 {fund} 不平衡（差 {} 元）", entry.event, entry.reference, off.to_plain()),
                format!(
                    "entry {} {} does not balance in {fund} (off by {})",
                    entry.event,
                    entry.reference,
                    off.to_plain()
                ),
            )));
        }
        let at = w.at().to_string();
        // The month as the agency counts it: in China time.
        let china = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| corrupt("offset", 8))?;
        let month = chrono::DateTime::parse_from_rfc3339(&at)
            .map(|t| t.with_timezone(&china).format("%Y-%m").to_string())
            .unwrap_or_else(|_| at.chars().take(7).collect());
        let lines: Vec<String> = (0..entry.postings.len())
            .map(|i| format!("($1, $2, ${}, ${}, ${}, $3, $4)", i * 3 + 5, i * 3 + 6, i * 3 + 7))
            .collect();
        let sql = format!(
            "INSERT INTO fund_postings (event, reference, fund, account, amount, month, posted_at) VALUES {}",
            lines.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(entry.event).bind(entry.reference.clone()).bind(month).bind(at);
        for p in &entry.postings {
            q = q.bind(p.fund.to_string()).bind(p.account.code()).bind(p.amount.fen());
        }
        q.execute(&mut *w.tx).await?;
        Ok(())
    }
}

impl Store {
    /// Every fund's monthly figures (income, expenditure, balance, months covered).
    pub async fn fund_months(&self) -> Result<Vec<yibao_core::books::MonthFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT fund, month, account, CAST(SUM(amount) AS BIGINT) FROM fund_postings GROUP BY fund, month, account",
        )
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        let mut sums = BTreeMap::new();
        for r in &rows {
            let fund = Fund::parse(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("fund_postings.fund", e))?;
            let account =
                Account::parse(&r.try_get::<String, _>(2)?).map_err(|e| corrupt("fund_postings.account", e))?;
            sums.insert((fund, r.try_get::<String, _>(1)?, account), Fen::from_fen(r.try_get(3)?));
        }
        Ok(yibao_core::books::monthly(&sums))
    }

    /// Closes `month` (`2026-10`), once it is over by `today`: every fund's balances at its
    /// end are frozen, and [`Store::verify_books`] checks the postings still add up to them.
    pub async fn close_month(
        &self,
        w: &mut WriteTx,
        month: yibao_core::contribution::months::YearMonth,
        today: chrono::NaiveDate,
    ) -> Result<(), StoreError> {
        let refuse =
            |code: &'static str, zh: String, en: String| StoreError::Invalid(InvalidValue::new("month", code, zh, en));
        if month.first_day() > today || today <= month.last_day() {
            return Err(refuse("open", format!("{month} 尚未结束"), format!("{month} is not over")));
        }
        let closed: Option<String> = sqlx::query_scalar("SELECT month FROM fund_month_closes WHERE month = $1")
            .bind(month.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        if closed.is_some() {
            return Err(refuse("closed", format!("{month} 已关账"), format!("{month} is closed already")));
        }
        let balances = balances_up_to(&mut *w.tx, &month.to_string()).await?;
        let frozen: Vec<(String, &'static str, i64)> =
            balances.iter().map(|((f, a), v)| (f.to_string(), a.code(), v.fen())).collect();
        let json = serde_json::to_string(&frozen).map_err(|e| corrupt("fund_month_closes.balances", e))?;
        sqlx::query("INSERT INTO fund_month_closes (month, balances, closed_by, closed_at) VALUES ($1, $2, $3, $4)")
            .bind(month.to_string())
            .bind(json)
            .bind(w.actor().label.clone())
            .bind(w.at().to_string())
            .execute(&mut *w.tx)
            .await?;
        w.record("books.close", "fund_month", &month.to_string(), None::<&()>, Some(&frozen)).await
    }

    /// The funds the books hold.
    pub async fn funds(&self) -> Result<Vec<Fund>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT DISTINCT fund FROM fund_postings ORDER BY fund")
            .fetch_all(&mut self.read_conn().await?)
            .await?;
        rows.iter().map(|f| Fund::parse(f).map_err(|e| corrupt("fund_postings.fund", e))).collect()
    }

    /// The months closed, newest first: (month, closed by, closed at).
    pub async fn closed_months(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT month, closed_by, closed_at FROM fund_month_closes ORDER BY month DESC")
            .fetch_all(&mut self.read_conn().await?)
            .await?)
    }

    /// Proves the books: every entry balances in each fund, each fund's accounts add up to
    /// zero, and the balances agree with the business tables.
    pub async fn verify_books(&self) -> Result<BooksCheck, StoreError> {
        self.verify_books_in(None).await
    }

    /// [`Store::verify_books`] for the funds of `scope`'s regions only (all with `None`),
    /// read as one snapshot, so that a write committing meanwhile shows nowhere as a
    /// difference.
    pub async fn verify_books_in(&self, scope: Option<&yibao_core::Scope>) -> Result<BooksCheck, StoreError> {
        let keep = |f: &Fund| scope.is_none_or(|s| s.covers(f.region));
        let mut tx = self.db.pool.begin().await?;
        if self.db.backend == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut *tx).await?;
        }
        let mut differences = Vec::new();
        let entries: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT event, reference, posted_at FROM fund_postings) e",
        )
        .fetch_one(&mut *tx)
        .await?;
        let lopsided = sqlx::query(
            "SELECT event, reference, posted_at, fund, CAST(SUM(amount) AS BIGINT) FROM fund_postings \
             GROUP BY event, reference, posted_at, fund HAVING SUM(amount) <> 0 ORDER BY posted_at LIMIT 100",
        )
        .fetch_all(&mut *tx)
        .await?;
        for r in &lopsided {
            let (event, reference, at, fund): (String, String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            if Fund::parse(&fund).is_ok_and(|f| !keep(&f)) {
                continue;
            }
            let off = Fen::from_fen(r.try_get(4)?);
            differences.push(Text::new(
                format!("分录 {event} {reference}（{at}）在 {fund} 不平衡，差 {} 元", off.to_plain()),
                format!("entry {event} {reference} ({at}) does not balance in {fund}: off by {}", off.to_plain()),
            ));
        }
        let mut books = balances_up_to(&mut *tx, "9999-12").await?;
        books.retain(|(f, _), _| keep(f));
        let mut by_fund: BTreeMap<Fund, Fen> = BTreeMap::new();
        for ((fund, _), amount) in &books {
            let e = by_fund.entry(*fund).or_insert(Fen::ZERO);
            *e = e.saturating_add(*amount);
        }
        for (fund, sum) in by_fund.iter().filter(|(_, s)| **s != Fen::ZERO) {
            differences.push(Text::new(
                format!("{} 借贷不平，差 {} 元", fund.label().zh, sum.to_plain()),
                format!("{}: debits and credits differ by {}", fund.label().en, sum.to_plain()),
            ));
        }
        // A closed month's balances are what they were when it was closed.
        let closes: Vec<(String, String)> =
            sqlx::query_as("SELECT month, balances FROM fund_month_closes ORDER BY month").fetch_all(&mut *tx).await?;
        for (month, frozen) in closes {
            let frozen: Vec<(String, String, i64)> =
                serde_json::from_str(&frozen).map_err(|e| corrupt("fund_month_closes.balances", e))?;
            let mut then = Balances::new();
            for (f, a, v) in frozen {
                let fund = Fund::parse(&f).map_err(|e| corrupt("fund_month_closes.balances", e))?;
                let account = Account::parse(&a).map_err(|e| corrupt("fund_month_closes.balances", e))?;
                add(&mut then, fund, account, Fen::from_fen(v));
            }
            then.retain(|(f, _), _| keep(f));
            let mut now = balances_up_to(&mut *tx, &month).await?;
            now.retain(|(f, _), _| keep(f));
            for d in compare(&now, &then, Account::ALL) {
                differences
                    .push(Text::new(format!("已关账的 {month}：{}", d.zh), format!("closed month {month}: {}", d.en)));
            }
        }
        let mut expected = expected_balances(&mut tx).await?;
        expected.retain(|(f, _), _| keep(f));
        tx.commit().await?;
        differences.extend(compare(&books, &expected, AGREED));
        Ok(BooksCheck { balances: books.into_iter().map(|((f, a), v)| (f, a, v)).collect(), entries, differences })
    }
}

/// What the business tables say each agreed balance must be.
async fn expected_balances(conn: &mut sqlx::AnyConnection) -> Result<Balances, StoreError> {
    let mut b = Balances::new();
    let neg = |f: i64| Fen::from_fen(-f);
    // (sql giving region or fund, scheme or `fund`, amount; the account; whether a debit)
    let queries: [(&str, Account, bool); 10] = [
            // What the individual accounts hold is owed to their holders.
            (
                "SELECT p.insured_region, '310', CAST(SUM(a.balance) AS BIGINT) FROM individual_accounts a \
                 JOIN persons p ON p.id = a.person_id GROUP BY p.insured_region",
                Account::PersonalAccounts,
                false,
            ),
            // Orders not paid yet are owed to the persons.
            (
                "SELECT o.fund, 'fund', CAST(SUM(o.amount) AS BIGINT) FROM payment_orders o \
                 WHERE o.fund IS NOT NULL AND o.state <> 'paid' GROUP BY o.fund",
                Account::PayablePersons,
                false,
            ),
            // Benefits: the funds' share of settlements in force and of approved claims.
            (
                "SELECT s.fund, 'fund', CAST(SUM(s.fund_pay_sumamt) AS BIGINT) FROM settlements s \
                 WHERE s.status = 'settled' AND s.fund IS NOT NULL GROUP BY s.fund",
                Account::Benefits,
                true,
            ),
            (
                // (each approved claim that pays has its order, for its amount: the payments'
                // reconciliation proves it)
                "SELECT o.fund, 'fund', CAST(SUM(o.amount) AS BIGINT) FROM payment_orders o \
                 WHERE o.claim_id IS NOT NULL AND o.fund IS NOT NULL GROUP BY o.fund",
                Account::Benefits,
                true,
            ),
            // Contributions received: units' bills, flexible workers' months, residents' years.
            (
                "SELECT e.region, '310', CAST(SUM(b.employer_total + b.employee_total) AS BIGINT) \
                 FROM contribution_bills b JOIN employers e ON e.id = b.employer_id WHERE b.state = 'paid' GROUP BY e.region",
                Account::Contributions,
                false,
            ),
            (
                "SELECT p.insured_region, '310', CAST(SUM(m.amount) AS BIGINT) FROM contribution_months m \
                 JOIN persons p ON p.id = m.person_id WHERE m.source NOT LIKE 'bill:%' GROUP BY p.insured_region",
                Account::Contributions,
                false,
            ),
            (
                "SELECT p.insured_region, '390', CAST(SUM(r.personal + r.subsidy) AS BIGINT) \
                 FROM resident_contributions r JOIN persons p ON p.id = r.person_id GROUP BY p.insured_region",
                Account::Contributions,
                false,
            ),
            // Individual accounts credited from contributions, and balances carried over.
            (
                "SELECT p.insured_region, '310', CAST(SUM(e.amount) AS BIGINT) FROM account_entries e \
                 JOIN persons p ON p.id = e.person_id WHERE e.kind = 'credit' GROUP BY p.insured_region",
                Account::AccountCredits,
                true,
            ),
            (
                "SELECT p.insured_region, '310', CAST(SUM(e.amount) AS BIGINT) FROM account_entries e \
                 JOIN persons p ON p.id = e.person_id WHERE e.kind = 'opening' GROUP BY p.insured_region",
                Account::Opening,
                true,
            ),
            // Withheld at approved clearings, less what later clearings released or forfeited
            // after the annual assessment.
            (
                "SELECT fund, 'fund', CAST(SUM(deposit - released - forfeited) AS BIGINT) FROM clearing_funds GROUP BY fund",
                Account::DepositsHeld,
                false,
            ),
        ];
    for (sql, account, debit) in queries {
        for r in sqlx::query(sql).fetch_all(&mut *conn).await? {
            let amount: Option<i64> = r.try_get(2)?;
            let amount = amount.unwrap_or(0);
            let fund = fund_of_row(&r)?;
            add(&mut b, fund, account, if debit { Fen::from_fen(amount) } else { neg(amount) });
        }
    }
    for r in sqlx::query("SELECT fund, CAST(SUM(deducted + forfeited) AS BIGINT) FROM clearing_funds GROUP BY fund")
        .fetch_all(&mut *conn)
        .await?
    {
        let fund = Fund::parse(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("clearing_funds.fund", e))?;
        add(&mut b, fund, Account::Recovered, neg(r.try_get(1)?));
    }
    // The bank: contributions in, paid orders out.
    let contributions: Vec<(Fund, Fen)> = b
        .iter()
        .filter(|((_, a), _)| *a == Account::Contributions)
        .map(|((f, _), v)| (*f, Fen::ZERO.saturating_sub(*v)))
        .collect();
    for (fund, amount) in contributions {
        add(&mut b, fund, Account::Bank, amount);
    }
    let paid = sqlx::query(
        "SELECT o.fund, 'fund', CAST(SUM(o.amount) AS BIGINT) FROM payment_orders o \
             WHERE o.fund IS NOT NULL AND o.state = 'paid' GROUP BY o.fund",
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in &paid {
        add(&mut b, fund_of_row(r)?, Account::Bank, neg(r.try_get(2)?));
    }
    let paid_clearings = sqlx::query(
        "SELECT f.fund, CAST(SUM(f.net) AS BIGINT) FROM clearing_funds f \
             JOIN payment_orders o ON o.clearing_id = f.clearing_id WHERE o.state = 'paid' GROUP BY f.fund",
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in &paid_clearings {
        let fund = Fund::parse(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("clearing_funds.fund", e))?;
        add(&mut b, fund, Account::Bank, neg(r.try_get(1)?));
    }
    Ok(b)
}

/// The accounts whose balances the business tables determine; `payable_institutions` is
/// what is left, and the funds' balancing proves it.
const AGREED: &[Account] = &[
    Account::Bank,
    Account::Contributions,
    Account::Benefits,
    Account::AccountCredits,
    Account::PersonalAccounts,
    Account::PayablePersons,
    Account::DepositsHeld,
    Account::Recovered,
    Account::Opening,
];

/// The fund a row names: column 0 a region and column 1 a scheme, or column 0 a fund and
/// column 1 `fund`.
fn fund_of_row(r: &sqlx::any::AnyRow) -> Result<Fund, StoreError> {
    let scheme: String = r.try_get(1)?;
    if scheme == "fund" {
        let f: String = r.try_get(0)?;
        return Fund::parse(&f).map_err(|e| corrupt("clearing_funds.fund", e));
    }
    let region = region_from(r.try_get(0)?)?;
    Ok(Fund::of(region, Scheme::parse(&scheme).map_err(|e| corrupt("scheme", e))?))
}

/// Every fund's balances from the postings of `month` and before.
async fn balances_up_to<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    conn: E,
    month: &str,
) -> Result<Balances, StoreError> {
    let rows = sqlx::query(
        "SELECT fund, account, CAST(SUM(amount) AS BIGINT) FROM fund_postings WHERE month <= $1 GROUP BY fund, account",
    )
    .bind(month.to_string())
    .fetch_all(conn)
    .await?;
    let mut b = Balances::new();
    for r in &rows {
        let fund = Fund::parse(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("fund_postings.fund", e))?;
        let account = Account::parse(&r.try_get::<String, _>(1)?).map_err(|e| corrupt("fund_postings.account", e))?;
        add(&mut b, fund, account, Fen::from_fen(r.try_get(2)?));
    }
    Ok(b)
}
