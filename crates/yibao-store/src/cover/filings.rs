//! Off-site filings (异地就医备案): applied for by the person, at the window or by the
//! hospital, decided by a clerk, changed or revoked.

use super::*;

impl Store {
    /// The region's filing parameters for the person on `date` (the policy of that
    /// insurance year), or the national defaults where no policy is stored.
    pub async fn filing_rules(&self, person: &Person, date: NaiveDate) -> Result<FilingRules, StoreError> {
        let rules = self.rules().await?;
        Ok(rules
            .policies
            .select(person.insured_region, person.scheme, date)
            .map(|p| p.offsite.filing)
            .unwrap_or_default())
    }

    // -------------------------------------------------------------------------------
    // Filings

    /// Records an application. Checked against the region's rules; a referral filing's
    /// certificate must exist, be for this person, carry both seals and be valid on the start
    /// date. `replaces` names a long-term filing this one changes (allowed only after its
    /// minimum period).
    pub async fn apply_filing(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        app: &FilingApplication,
        channel: Channel,
        replaces: Option<i64>,
        today: NaiveDate,
    ) -> Result<StoredFiling, StoreError> {
        let person = fetch_person(&mut *w.tx, person_id).await?;
        if person.status != yibao_core::registry::PersonStatus::Active {
            return Err(invalid(
                "person",
                "not_insured",
                format!("参保状态为“{}”，不能办理备案", person.status.label().zh),
                format!("the person is {}; no filing can be made", person.status.label().en),
            ));
        }
        let rules = self.filing_rules(&person, app.start).await?;
        let validity = app.check(person.insured_region, &rules, today).map_err(StoreError::Problems)?;
        if channel == Channel::Online && app.delegate_id.is_some() {
            return Err(invalid(
                "delegate_id",
                "window_only",
                "委托他人办理请到窗口",
                "a delegate files at the window",
            ));
        }
        for d in app.documents.iter().filter_map(|d| d.document_id) {
            let owner: Option<i64> = sqlx::query_scalar("SELECT person_id FROM documents WHERE id = $1")
                .bind(d)
                .fetch_optional(&mut *w.tx)
                .await?;
            if owner != Some(person_id) {
                return Err(invalid(
                    "documents",
                    "document_unknown",
                    format!("上传的材料 #{d} 不存在或不属于本人"),
                    format!("uploaded document #{d} does not exist or is not the person's"),
                ));
            }
        }
        let referral_id = match app.referral_number() {
            Some(number) => {
                let r = self.referral_by_number(number).await?.ok_or_else(|| {
                    invalid(
                        "documents",
                        "referral_unknown",
                        format!("转诊证明 {number} 不存在"),
                        format!("no referral certificate {number}"),
                    )
                })?;
                let problem = if r.person_id != person_id {
                    Some(("referral_person", "转诊证明不是开给本人的", "the referral certificate is for someone else"))
                } else if !r.sealed() {
                    Some((
                        "referral_unsealed",
                        "转诊证明尚未加盖医院医保窗口印章",
                        "the referral certificate lacks the social security window's seal",
                    ))
                } else if app.start < r.valid_from || app.start > r.valid_to {
                    Some((
                        "referral_expired",
                        "就医开始日期不在转诊证明有效期内",
                        "the start date is outside the referral certificate's validity",
                    ))
                } else if app.destination.is_some_and(|d| !d.contains(r.destination)) {
                    Some((
                        "referral_destination",
                        "就医地与转诊证明的转往地区不符",
                        "the destination does not match the referral certificate's",
                    ))
                } else {
                    None
                };
                if let Some((code, zh, en)) = problem {
                    return Err(invalid("documents", code, zh, en));
                }
                Some(r.id)
            }
            None => None,
        };
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM filings WHERE person_id = $1 AND status = 'applied'")
                .bind(person_id)
                .fetch_one(&mut *w.tx)
                .await?;
        if pending > 0 {
            return Err(invalid(
                "filing",
                "pending",
                "已有一笔备案申请正在审核，请等待结果或先撤回",
                "an application is awaiting a decision; wait for it or withdraw it first",
            ));
        }
        if let Some(old) = replaces {
            let old = self.filing_in(w, old).await?;
            if old.person_id != person_id || old.status != FilingStatus::Approved || !old.kind.is_long_term() {
                return Err(invalid(
                    "replaces",
                    "invalid",
                    "只能变更本人有效的长期备案",
                    "only the person's approved long-term filing can be changed",
                ));
            }
            may_change(old.kind, old.start, &rules, today)?;
        }
        let documents = serde_json::to_string(&app.documents).map_err(|e| corrupt("documents", e))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO filings (person_id, kind, destination, institution, start_date, end_date, status, retroactive, \
             documents, referral_id, channel, delegate_id, replaces, applied_at, applied_by) \
             VALUES ($1, $2, $3, $4, $5, $6, 'applied', $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(person_id)
        .bind(app.kind.code())
        .bind(app.destination.map(|d| i64::from(d.value())))
        .bind(app.institution.as_deref().map(str::trim))
        .bind(date_text(app.start))
        .bind(validity.end.map(date_text))
        .bind(i64::from(validity.retroactive))
        .bind(documents)
        .bind(referral_id)
        .bind(channel.code())
        .bind(app.delegate_id.as_ref().map(ToString::to_string))
        .bind(replaces)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        let after = self.filing_in(w, id).await?;
        w.record("filing.apply", "filing", &id.to_string(), None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    async fn filing_in(&self, w: &mut WriteTx, id: i64) -> Result<StoredFiling, StoreError> {
        let sql = format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "filing", filing_from_row).await
    }

    pub async fn filing(&self, id: i64) -> Result<StoredFiling, StoreError> {
        let sql = format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.id = $1");
        fetch_one_by_id(&self.db.pool, &sql, id, "filing", filing_from_row).await
    }

    /// A person's filings, newest first.
    pub async fn filings_of(&self, person_id: i64) -> Result<Vec<StoredFiling>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE f.person_id = $1 ORDER BY f.id DESC"))
                .bind(person_id)
                .fetch_all(&mut self.read_conn().await?)
                .await?;
        rows.iter().map(filing_from_row).collect()
    }

    /// Filings of persons insured in `scope`, optionally of one status, newest first.
    pub async fn filings_in(
        &self,
        scope: &Scope,
        status: Option<FilingStatus>,
        limit: i64,
    ) -> Result<Vec<StoredFiling>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {FILING_COLS} FROM {FILING_FROM} WHERE 1 = 1"));
        sql.scope_filter("p.insured_region", scope);
        if let Some(s) = status {
            let v = sql.arg(Arg::S(s.code().to_string()));
            sql.text.push_str(&format!(" AND f.status = {v}"));
        }
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY f.id DESC LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(filing_from_row).collect()
    }

    /// A clerk's decision on an applied filing. Approving a change revokes the filing it
    /// replaces from the new one's start. Deciding twice is refused (the second finds no
    /// applied filing).
    pub async fn decide_filing(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        decision: &Decision,
    ) -> Result<StoredFiling, StoreError> {
        decision.check()?;
        let before = self.filing_in(w, id).await?;
        if before.status != FilingStatus::Applied {
            return Err(invalid(
                "filing",
                "decided",
                format!("该备案已是“{}”状态，不能再审核", before.status.label().zh),
                format!("the filing is {} already", before.status.label().en),
            ));
        }
        if *decision == Decision::Approve {
            self.check_pre_evaluation_done(w, id).await?;
        }
        let (status, reason, note) = match decision {
            Decision::Approve => ("approved", None, None),
            Decision::Reject { reason, note } => ("rejected", Some(reason.code()), Some(note.trim().to_string())),
        };
        let n = sqlx::query(
            "UPDATE filings SET status = $1, reason = $2, note = $3, decided_at = $4, decided_by = $5, \
             version = version + 1 WHERE id = $6 AND version = $7 AND status = 'applied'",
        )
        .bind(status)
        .bind(reason)
        .bind(note)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(stale("filing"));
        }
        let after = self.filing_in(w, id).await?;
        w.record(&format!("filing.{status}"), "filing", &id.to_string(), Some(&before), Some(&after)).await?;
        let kind = after.kind.label();
        let text = match decision {
            Decision::Approve => yibao_core::Text::new(
                format!("您的{}备案已批准，自 {} 起生效。", kind.zh, after.start),
                format!("Your {} filing is approved, from {}.", kind.en, after.start),
            ),
            Decision::Reject { note, .. } => yibao_core::Text::new(
                format!("您的{}备案未获批准：{}。请登录查看原因。", kind.zh, note.trim()),
                format!("Your {} filing was not approved: {}. Log in to read why.", kind.en, note.trim()),
            ),
        };
        self.tell(w, after.person_id, &format!("filing_{status}"), &text, Some("/my/cover")).await?;
        if let (Decision::Approve, Some(old)) = (decision, before.replaces) {
            self.revoke_in(w, old, after.start).await?;
        }
        Ok(after)
    }

    async fn revoke_in(&self, w: &mut WriteTx, id: i64, from: NaiveDate) -> Result<StoredFiling, StoreError> {
        let before = self.filing_in(w, id).await?;
        sqlx::query(
            "UPDATE filings SET status = 'revoked', revoked_from = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(date_text(from))
        .bind(id)
        .bind(before.version)
        .execute(&mut *w.tx)
        .await?;
        let after = self.filing_in(w, id).await?;
        w.record("filing.revoke", "filing", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Withdraws an application, or revokes an approved filing from `today` (a long-term
    /// one only after the region's minimum period).
    pub async fn revoke_filing(&self, w: &mut WriteTx, id: i64, today: NaiveDate) -> Result<StoredFiling, StoreError> {
        let f = self.filing_in(w, id).await?;
        match f.status_on(today) {
            FilingStatus::Applied => self.revoke_in(w, id, f.start).await,
            FilingStatus::Approved => {
                let person = fetch_person(&mut *w.tx, f.person_id).await?;
                let rules = self.filing_rules(&person, f.start).await?;
                may_change(f.kind, f.start, &rules, today)?;
                self.revoke_in(w, id, today.max(f.start)).await
            }
            other => Err(invalid(
                "filing",
                "not_revocable",
                format!("该备案为“{}”，无需撤销", other.label().zh),
                format!("the filing is {}; there is nothing to revoke", other.label().en),
            )),
        }
    }
}
