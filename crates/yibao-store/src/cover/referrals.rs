//! Referral certificates (转诊证明): issued by a designated institution of county level or
//! above, sealed at the window, looked up by number.

use super::*;

impl Store {
    /// Issues a referral certificate with the hospital's seal. Only a designated institution
    /// of county level or above that is allowed to may issue one.
    pub async fn issue_referral(
        &self,
        w: &mut WriteTx,
        issuer: &Institution,
        input: &ReferralInput,
        today: NaiveDate,
    ) -> Result<Referral, StoreError> {
        if !issuer.tier.may_issue_referrals() {
            return Err(invalid(
                "institution",
                "tier",
                format!("{}为{}医疗机构，县级以下机构不能开具转诊证明", issuer.name, issuer.tier.label().zh),
                format!(
                    "{} is a {} institution; below county level it cannot issue referrals",
                    issuer.name,
                    issuer.tier.label().en
                ),
            ));
        }
        if !issuer.may_issue_referrals || !issuer.designated_on(today) {
            return Err(invalid(
                "institution",
                "not_allowed",
                format!("{}未获准开具转诊证明", issuer.name),
                format!("{} is not allowed to issue referral certificates", issuer.name),
            ));
        }
        let mut e = Vec::new();
        if input.diagnosis.trim().is_empty() {
            e.push(InvalidValue::new("diagnosis", "required", "请填写诊断", "give the diagnosis"));
        }
        if input.hospital_seal_by.trim().is_empty() {
            e.push(InvalidValue::new("hospital_seal_by", "required", "请填写盖章经办人", "give who sealed it"));
        }
        if issuer.region.prefecture().contains(input.destination) {
            e.push(InvalidValue::new(
                "destination",
                "local",
                "转往地区在本统筹区内，无需转诊证明",
                "the destination is inside the pooling region; no referral certificate is needed",
            ));
        }
        let days = (input.valid_to - input.valid_from).num_days();
        if !(0..=MAX_REFERRAL_DAYS).contains(&days) || input.valid_from < today - chrono::Duration::days(30) {
            e.push(InvalidValue::new(
                "valid_to",
                "range",
                format!("有效期须自近期开始，最长 {MAX_REFERRAL_DAYS} 天"),
                format!("the validity must start recently and last at most {MAX_REFERRAL_DAYS} days"),
            ));
        }
        if !e.is_empty() {
            return Err(StoreError::Problems(e));
        }
        let person = self.person_by_resident_id(&input.resident_id).await?.ok_or(StoreError::NotFound("person"))?;
        let year = today.format("%Y").to_string();
        let prefix = format!("ZZ{}{year}", issuer.code);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referrals WHERE institution_id = $1 AND number LIKE $2")
            .bind(issuer.id)
            .bind(format!("{prefix}%"))
            .fetch_one(&mut *w.tx)
            .await?;
        // The running number says which certificate of the year it is; the random tail makes
        // a number impossible to guess from another one (the certificate names a diagnosis).
        let number = format!("{prefix}{:05}{}", n + 1, unguessable_tail());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO referrals (number, person_id, institution_id, diagnosis, destination, destination_institution, \
             valid_from, valid_to, hospital_seal_by, hospital_sealed_at, issued_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&number)
        .bind(person.id)
        .bind(issuer.id)
        .bind(input.diagnosis.trim())
        .bind(i64::from(input.destination.value()))
        .bind(input.destination_institution.as_deref().map(str::trim).filter(|s| !s.is_empty()))
        .bind(date_text(input.valid_from))
        .bind(date_text(input.valid_to))
        .bind(input.hospital_seal_by.trim())
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "number"))?;
        let after = self.referral_in(w, id).await?;
        w.record("referral.issue", "referral", &number, None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    /// The second confirmation: the issuing hospital's social security window seals it.
    pub async fn seal_referral(
        &self,
        w: &mut WriteTx,
        issuer: &Institution,
        number: &str,
        by: &str,
    ) -> Result<Referral, StoreError> {
        let before = self.referral_by_number(number).await?.ok_or(StoreError::NotFound("referral"))?;
        if before.issuer_code != issuer.code {
            return Err(StoreError::NotFound("referral"));
        }
        if by.trim().is_empty() {
            return Err(invalid(
                "window_seal_by",
                "required",
                "请填写医保窗口盖章经办人",
                "give who sealed it at the window",
            ));
        }
        let n = sqlx::query(
            "UPDATE referrals SET window_seal_by = $1, window_sealed_at = $2 WHERE id = $3 AND window_sealed_at IS NULL",
        )
        .bind(by.trim())
        .bind(w.at().to_string())
        .bind(before.id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(invalid(
                "referral",
                "sealed",
                "转诊证明已盖医保窗口印章",
                "the referral certificate is sealed already",
            ));
        }
        let after = self.referral_in(w, before.id).await?;
        w.record("referral.seal", "referral", number, Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn referral_in(&self, w: &mut WriteTx, id: i64) -> Result<Referral, StoreError> {
        let sql = format!("SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "referral", referral_from_row).await
    }

    /// The referral certificates an institution issued, newest first.
    pub async fn referrals_issued_by(&self, institution_id: i64, limit: i64) -> Result<Vec<Referral>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.institution_id = $1 ORDER BY r.id DESC LIMIT $2"
        ))
        .bind(institution_id)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(referral_from_row).collect()
    }

    pub async fn referral_by_number(&self, number: &str) -> Result<Option<Referral>, StoreError> {
        let row = sqlx::query(&format!("SELECT {REFERRAL_COLS} FROM {REFERRAL_FROM} WHERE r.number = $1"))
            .bind(number.trim())
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(referral_from_row).transpose()
    }
}

/// Six characters from an alphabet without look-alikes (no 0/O, 1/I/L): about 30 bits.
fn unguessable_tail() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::thread_rng();
    (0..6).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}
