//! Employer units (参保单位).

use super::*;

impl Store {
    pub async fn create_employer(&self, wtx: &mut WriteTx, input: &EmployerInput) -> Result<Employer, StoreError> {
        input.validate()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO employers (credit_code, name, region, contact_name, contact_phone, version, updated_at, \
             bank_name, bank_card) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8) RETURNING id",
        )
        .bind(input.credit_code.as_str().to_string())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.contact_name.clone())
        .bind(input.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(wtx.at().to_string())
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(ToString::to_string))
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "credit_code"))?;
        let employer = fetch_employer(&mut *wtx.tx, id).await?;
        record_change(wtx, "employer", id, 1, None, &employer).await?;
        Ok(employer)
    }

    /// Updates an employer unit for member of staff `by` (username); a bank account they
    /// register waits for a second person to confirm it.
    pub async fn update_employer(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &EmployerInput,
        by: &str,
    ) -> Result<Employer, StoreError> {
        input.validate()?;
        let before = fetch_employer(&mut *wtx.tx, id).await?;
        let check = account_check_after(
            (&before.bank_name, &before.bank_card, &before.account_check),
            (&input.bank_name, &input.bank_card),
            by,
        );
        let n = sqlx::query(
            "UPDATE employers SET credit_code=$1, name=$2, region=$3, contact_name=$4, contact_phone=$5, \
             version = version + 1, updated_at=$6, bank_name=$9, bank_card=$10, bank_unconfirmed_by=$11, \
             confirmed_bank_name=$12, confirmed_bank_card=$13 WHERE id=$7 AND version=$8",
        )
        .bind(input.credit_code.as_str().to_string())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.contact_name.clone())
        .bind(input.contact_phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(ToString::to_string))
        .bind(check.as_ref().map(|c| c.changed_by.clone()))
        .bind(check.as_ref().and_then(|c| c.confirmed_bank_name.clone()))
        .bind(check.as_ref().and_then(|c| c.confirmed_bank_card.as_ref().map(ToString::to_string)))
        .execute(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "credit_code"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("employer"));
        }
        let after = fetch_employer(&mut *wtx.tx, id).await?;
        record_change(wtx, "employer", id, after.version, Some(&before), &after).await?;
        Ok(after)
    }

    pub async fn employer(&self, id: i64) -> Result<Employer, StoreError> {
        fetch_employer(&self.db.pool, id).await
    }

    /// The employer unit with this unified social credit code, if any.
    pub async fn employer_by_credit_code(&self, code: &str) -> Result<Option<Employer>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM employers WHERE credit_code = $1")
            .bind(code.trim().to_uppercase())
            .fetch_optional(&self.db.pool)
            .await?;
        match id {
            Some(id) => Ok(Some(self.employer(id).await?)),
            None => Ok(None),
        }
    }

    /// Employers in scope, by name prefix, first `limit`.
    pub async fn list_employers(
        &self,
        text: Option<&str>,
        scope: Option<&Scope>,
        limit: i64,
    ) -> Result<Vec<Employer>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {EMPLOYER_COLS} FROM employers WHERE 1 = 1"));
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let lo = sql.arg(Arg::S(t.to_string()));
            let hi = sql.arg(Arg::S(prefix_upper(t)));
            sql.text.push_str(&format!(" AND (name >= {lo} AND name < {hi})"));
        }
        if let Some(scope) = scope {
            sql.scope_filter("region", scope);
        }
        let l = sql.arg(Arg::I(limit.clamp(1, 500)));
        sql.text.push_str(&format!(" ORDER BY id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(employer_from_row).collect()
    }
}
