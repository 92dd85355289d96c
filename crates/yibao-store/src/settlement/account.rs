//! The person's running totals for the year and the individual account (个人账户): what a
//! settlement adds and a reversal takes back, and the account's entries.

use super::*;

impl Store {
    /// The person's running totals for `year` and their version, as this transaction sees them.
    pub(crate) async fn year_totals_in(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        year: i32,
    ) -> Result<Option<(YearToDate, i64)>, StoreError> {
        let row = sqlx::query("SELECT totals, version FROM year_totals WHERE person_id = $1 AND year = $2")
            .bind(person_id)
            .bind(i64::from(year))
            .fetch_optional(&mut *w.tx)
            .await?;
        match row {
            Some(r) => {
                let text: String = r.try_get(0)?;
                Ok(Some((serde_json::from_str(&text).map_err(|e| corrupt("year_totals.totals", e))?, r.try_get(1)?)))
            }
            None => Ok(None),
        }
    }

    /// The individual account's balance and version, if the person has one.
    pub(super) async fn account_in(&self, w: &mut WriteTx, person_id: i64) -> Result<Option<(Fen, i64)>, StoreError> {
        let row = sqlx::query("SELECT balance, version FROM individual_accounts WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        match row {
            Some(r) => Ok(Some((Fen::from_fen(r.try_get(0)?), r.try_get(1)?))),
            None => Ok(None),
        }
    }

    pub(crate) async fn put_year_totals(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        year: i32,
        totals: &YearToDate,
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        let text = json(totals)?;
        let changed = match version {
            Some(v) => sqlx::query(
                "UPDATE year_totals SET totals = $1, version = version + 1 \
                 WHERE person_id = $2 AND year = $3 AND version = $4",
            )
            .bind(text)
            .bind(person_id)
            .bind(i64::from(year))
            .bind(v)
            .execute(&mut *w.tx)
            .await?
            .rows_affected(),
            None => sqlx::query("INSERT INTO year_totals (person_id, year, totals, version) VALUES ($1, $2, $3, 1)")
                .bind(person_id)
                .bind(i64::from(year))
                .bind(text)
                .execute(&mut *w.tx)
                .await
                .map_err(|e| match StoreError::on_unique(e, "year_totals") {
                    StoreError::Duplicate { .. } => StoreError::Stale("year_totals"),
                    other => other,
                })?
                .rows_affected(),
        };
        if changed != 1 {
            return Err(StoreError::Stale("year_totals"));
        }
        Ok(())
    }

    /// Posts `amount` (credit positive) to the account read at `version` with `balance`.
    /// The balance can never go below zero (the database refuses it, too).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn post_account(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        version: i64,
        balance: Fen,
        amount: i64,
        kind: &str,
        settlement_id: i64,
    ) -> Result<Fen, StoreError> {
        let after = balance.fen() + amount;
        if after < 0 {
            return Err(refuse(
                "acct_insufficient",
                format!("个人账户余额 {balance} 不足"),
                format!("the individual account's balance {balance} is not enough"),
            ));
        }
        if amount == 0 {
            return Ok(balance);
        }
        let changed = sqlx::query(
            "UPDATE individual_accounts SET balance = $1, version = version + 1 WHERE person_id = $2 AND version = $3",
        )
        .bind(after)
        .bind(person_id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("individual_account"));
        }
        sqlx::query(
            "INSERT INTO account_entries (person_id, kind, amount, balance_after, settlement_id, at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(person_id)
        .bind(kind.to_string())
        .bind(amount)
        .bind(after)
        .bind(settlement_id)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match StoreError::on_unique(e, "account_entry") {
            StoreError::Duplicate { .. } => StoreError::Stale("individual_account"),
            other => other,
        })?;
        Ok(Fen::from_fen(after))
    }

    /// Opens a person's individual account with its balance carried over (contributions
    /// are credited by a later interface). Refused if the account exists.
    pub async fn open_individual_account(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        opening_balance: Fen,
    ) -> Result<(), StoreError> {
        if opening_balance.is_negative() {
            return Err(refuse("balance", "期初余额不能为负", "the opening balance cannot be negative"));
        }
        sqlx::query("INSERT INTO individual_accounts (person_id, balance, version) VALUES ($1, $2, 1)")
            .bind(person_id)
            .bind(opening_balance.fen())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "individual_account"))?;
        sqlx::query(
            "INSERT INTO account_entries (person_id, kind, amount, balance_after, settlement_id, at, actor) \
             VALUES ($1, 'opening', $2, $2, NULL, $3, $4)",
        )
        .bind(person_id)
        .bind(opening_balance.fen())
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .execute(&mut *w.tx)
        .await?;
        let opening = yibao_core::books::Entry::new("account_opening", person_id.to_string()).transfer(
            crate::books::person_fund(w, person_id, true).await?,
            yibao_core::books::Account::Opening,
            yibao_core::books::Account::PersonalAccounts,
            opening_balance,
        );
        crate::books::post(w, &opening).await?;
        w.record::<(), _>("account.open", "person", &person_id.to_string(), None, Some(&opening_balance)).await?;
        Ok(())
    }

    /// A person's individual account with its entries, if it was opened.
    pub async fn individual_account(&self, person_id: i64) -> Result<Option<IndividualAccount>, StoreError> {
        let Some(balance) =
            sqlx::query_scalar::<_, i64>("SELECT balance FROM individual_accounts WHERE person_id = $1")
                .bind(person_id)
                .fetch_optional(&self.db.pool)
                .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT e.kind, e.amount, e.balance_after, s.setl_id, e.at, e.credit_month, e.drawn_by, e.reference, \
             e.note FROM account_entries e \
             LEFT JOIN settlements s ON s.id = e.settlement_id WHERE e.person_id = $1 ORDER BY e.id",
        )
        .bind(person_id)
        .fetch_all(&self.db.pool)
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(AccountEntry {
                    kind: r.try_get(0)?,
                    amount: Fen::from_fen(r.try_get(1)?),
                    balance_after: Fen::from_fen(r.try_get(2)?),
                    setl_id: r.try_get(3)?,
                    at: r.try_get(4)?,
                    credit_month: r.try_get(5)?,
                    drawn_by: r.try_get(6)?,
                    reference: r.try_get(7)?,
                    note: r
                        .try_get::<Option<String>, _>(8)?
                        .map(|n| serde_json::from_str(&n).map_err(|e| corrupt("account_entries.note", e)))
                        .transpose()?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(IndividualAccount { person_id, balance: Fen::from_fen(balance), entries }))
    }

    /// A person's running totals for an insurance year (zero before any settlement).
    pub async fn year_totals(&self, person_id: i64, year: InsuranceYear) -> Result<YearToDate, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT totals FROM year_totals WHERE person_id = $1 AND year = $2")
                .bind(person_id)
                .bind(i64::from(year.value()))
                .fetch_optional(&self.db.pool)
                .await?;
        match text {
            Some(t) => serde_json::from_str(&t).map_err(|e| corrupt("year_totals.totals", e)),
            None => Ok(YearToDate::default()),
        }
    }
}
