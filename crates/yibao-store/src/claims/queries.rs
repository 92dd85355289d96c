//! Claims as stored: one, a person's, a unit's, those with a document, and a region's
//! queue.

use super::*;

impl Store {
    pub(crate) async fn claim_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredClaim, StoreError> {
        let row = sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("claim"))?;
        let mut claim = claim_from_row(&row)?;
        claim_parts(&mut w.tx, &mut claim).await?;
        Ok(claim)
    }

    /// A claim with its invoices, lines, documents and history.
    pub async fn claim(&self, id: i64) -> Result<StoredClaim, StoreError> {
        let row = sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("claim"))?;
        let mut claim = claim_from_row(&row)?;
        let mut conn = crate::db::Conn::Pooled(self.db.pool.acquire().await?);
        claim_parts(&mut conn, &mut claim).await?;
        Ok(claim)
    }

    /// The claims a document is attached to (whoever may see one of them may read it).
    pub async fn claims_with_document(&self, document_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT claim_id FROM claim_documents WHERE document_id = $1")
            .bind(document_id)
            .fetch_all(&self.db.pool)
            .await?)
    }

    /// The claims an employer unit handed in, newest first.
    pub async fn claims_filed_by(&self, employer_id: i64) -> Result<Vec<ClaimSummary>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.submitter = 'employer' AND c.employer_id = $1 ORDER BY c.id DESC"
        ))
        .bind(employer_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// A person's claims, newest first.
    pub async fn claims_of(&self, person_id: i64) -> Result<Vec<ClaimSummary>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE c.person_id = $1 ORDER BY c.id DESC"))
                .bind(person_id)
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Claims of persons insured in `scope` in one of `states` (all when empty), oldest
    /// first, at most `limit` (up to 200): a work queue's first page.
    pub async fn claims_in(
        &self,
        scope: &Scope,
        states: &[ClaimState],
        limit: i64,
    ) -> Result<Vec<ClaimSummary>, StoreError> {
        let f = super::ClaimFilter { scope: scope.clone(), states: states.to_vec(), ..Default::default() };
        Ok(self.list_claims(&f, limit).await?.items)
    }
}
