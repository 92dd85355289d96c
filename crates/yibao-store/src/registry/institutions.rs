//! Medical institutions, designated (定点) or not, with their level and region.

use super::*;

impl Store {
    pub async fn create_institution(
        &self,
        wtx: &mut WriteTx,
        input: &InstitutionInput,
    ) -> Result<Institution, StoreError> {
        wtx.forget(Arc::clone(&self.institution_copies));
        input.validate()?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO institutions (code, name, region, tier, grade, designated_from, designated_to, \
             may_issue_referrals, direct_settlement, version, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,1,$10) RETURNING id",
        )
        .bind(input.code.clone())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.tier.code())
        .bind(input.grade.code())
        .bind(input.designated_from.map(date_text))
        .bind(input.designated_to.map(date_text))
        .bind(i64::from(input.may_issue_referrals))
        .bind(i64::from(input.direct_settlement))
        .bind(wtx.at().to_string())
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "code"))?;
        let inst = fetch_institution(&mut *wtx.tx, id).await?;
        record_change(wtx, "institution", id, 1, None, &inst).await?;
        Ok(inst)
    }

    pub async fn update_institution(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &InstitutionInput,
    ) -> Result<Institution, StoreError> {
        wtx.forget(Arc::clone(&self.institution_copies));
        input.validate()?;
        let before = fetch_institution(&mut *wtx.tx, id).await?;
        let n = sqlx::query(
            "UPDATE institutions SET code=$1, name=$2, region=$3, tier=$4, grade=$5, designated_from=$6, \
             designated_to=$7, may_issue_referrals=$8, direct_settlement=$9, version = version + 1, updated_at=$10 \
             WHERE id=$11 AND version=$12",
        )
        .bind(input.code.clone())
        .bind(input.name.trim().to_string())
        .bind(i64::from(input.region.value()))
        .bind(input.tier.code())
        .bind(input.grade.code())
        .bind(input.designated_from.map(date_text))
        .bind(input.designated_to.map(date_text))
        .bind(i64::from(input.may_issue_referrals))
        .bind(i64::from(input.direct_settlement))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "code"))?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("institution"));
        }
        let after = fetch_institution(&mut *wtx.tx, id).await?;
        record_change(wtx, "institution", id, after.version, Some(&before), &after).await?;
        Ok(after)
    }

    pub async fn institution(&self, id: i64) -> Result<Institution, StoreError> {
        fetch_institution(&self.db.pool, id).await
    }

    /// An institution by its national code (`fixmedins_code`).
    pub async fn institution_by_code(&self, code: &str) -> Result<Institution, StoreError> {
        let row = sqlx::query(&format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE code = $1"))
            .bind(code.trim())
            .fetch_optional(&mut self.read_conn().await?)
            .await?
            .ok_or(StoreError::NotFound("institution"))?;
        institution_from_row(&row)
    }

    /// Institutions whose name contains `text` or whose code begins with it, designated ones
    /// first, at most `limit`: what a person picking a hospital by name is offered.
    pub async fn search_institutions(&self, text: &str, limit: i64) -> Result<Vec<Institution>, StoreError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE 1 = 1"));
        let anywhere = sql.arg(Arg::S(format!("%{}%", t.replace(['%', '_'], ""))));
        let start = sql.arg(Arg::S(format!("{}%", t.to_uppercase().replace(['%', '_'], ""))));
        sql.text.push_str(&format!(" AND (name LIKE {anywhere} OR code LIKE {start})"));
        let l = sql.arg(Arg::I(limit.clamp(1, 50)));
        sql.text
            .push_str(&format!(" ORDER BY CASE WHEN designated_from IS NULL THEN 1 ELSE 0 END, region, id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(institution_from_row).collect()
    }

    /// Institutions, optionally within a region, by name prefix. The list of designated
    /// institutions is public information, so it is not scoped.
    pub async fn list_institutions(
        &self,
        text: Option<&str>,
        region: Option<AdminCode>,
    ) -> Result<Vec<Institution>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {INSTITUTION_COLS} FROM institutions WHERE 1 = 1"));
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            let lo = sql.arg(Arg::S(t.to_string()));
            let hi = sql.arg(Arg::S(prefix_upper(t)));
            sql.text.push_str(&format!(" AND (name >= {lo} AND name < {hi})"));
        }
        if let Some(r) = region {
            sql.scope_filter("region", &Scope::new(vec![r]));
        }
        sql.text.push_str(" ORDER BY region, id LIMIT 500");
        sql.fetch_all(&self.db).await?.iter().map(institution_from_row).collect()
    }
}
