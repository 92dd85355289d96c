//! Settlements as stored: one by number, a person's, an institution's, and 3201's and
//! 3202's reconciliation.

use super::*;

impl Store {
    pub(super) async fn settlement_in(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        setl_id: &str,
    ) -> Result<Settlement, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.setl_id = $1 AND s.institution_id = $2"
        ))
        .bind(setl_id.to_string())
        .bind(institution_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound("settlement"))?;
        settlement_from_row(&row)
    }

    /// A settlement by its ID; `institution_id` limits it to that institution's.
    pub async fn settlement(&self, setl_id: &str, institution_id: Option<i64>) -> Result<Settlement, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.setl_id = $1 AND ($2 IS NULL OR s.institution_id = $2)"
        ))
        .bind(setl_id.to_string())
        .bind(institution_id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(StoreError::NotFound("settlement"))?;
        settlement_from_row(&row)
    }

    /// The settlement in force of a visit, if it is settled.
    pub async fn settlement_of_visit(&self, visit_id: i64) -> Result<Option<Settlement>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.visit_id = $1 AND s.status = 'settled'"
        ))
        .bind(visit_id)
        .fetch_optional(&self.db.pool)
        .await?;
        row.as_ref().map(settlement_from_row).transpose()
    }

    /// A person's settlements, newest first.
    pub async fn person_settlements(&self, person_id: i64) -> Result<Vec<Settlement>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.person_id = $1 ORDER BY s.id DESC"
        ))
        .bind(person_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// An institution's settlements (in force and reversed), newest first.
    pub async fn institution_settlements(
        &self,
        institution_id: i64,
        limit: i64,
    ) -> Result<Vec<Settlement>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.institution_id = $1 ORDER BY s.id DESC LIMIT $2"
        ))
        .bind(institution_id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// 3201: the institution's settlements in force with a settlement day in `[from, to]`,
    /// optionally of one scheme.
    pub async fn reconciliation(
        &self,
        institution_id: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        insutype: Option<&str>,
    ) -> Result<Reconciliation, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT), \
             CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT) \
             FROM settlements WHERE institution_id = $1 AND status = 'settled' \
             AND setl_date >= $2 AND setl_date <= $3 AND ($4 IS NULL OR insutype = $4)",
        )
        .bind(institution_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(insutype.map(str::to_string))
        .fetch_one(&self.db.pool)
        .await?;
        Ok(Reconciliation {
            setl_cnt: row.try_get(0)?,
            medfee_sumamt: Fen::from_fen(row.try_get(1)?),
            fund_pay_sumamt: Fen::from_fen(row.try_get(2)?),
            acct_pay: Fen::from_fen(row.try_get(3)?),
        })
    }

    /// 3202: the institution's settlements in force with a settlement day in `[from, to]`,
    /// optionally of one scheme, one by one, in `setl_id` order.
    pub async fn reconciliation_details(
        &self,
        institution_id: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        insutype: Option<&str>,
    ) -> Result<Vec<yibao_core::platform::SettlementFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.setl_id, v.mdtrt_id, s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay \
             FROM settlements s JOIN visits v ON v.id = s.visit_id WHERE s.institution_id = $1 \
             AND s.status = 'settled' AND s.setl_date >= $2 AND s.setl_date <= $3 AND ($4 IS NULL OR s.insutype = $4) \
             ORDER BY s.setl_id",
        )
        .bind(institution_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(insutype.map(str::to_string))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(yibao_core::platform::SettlementFigures {
                    setl_id: r.try_get(0)?,
                    mdtrt_id: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                    medfee_sumamt: Fen::from_fen(r.try_get(2)?),
                    fund_pay_sumamt: Fen::from_fen(r.try_get(3)?),
                    acct_pay: Fen::from_fen(r.try_get(4)?),
                })
            })
            .collect()
    }
}
