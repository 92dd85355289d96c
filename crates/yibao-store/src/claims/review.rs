//! A claim's way through the agency: intake (accept or 补正), adjudication by the engine,
//! review with line exclusions, the second review and withdrawal.

use super::*;
use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};

impl Store {
    /// Moves a claim read at `before` to `to` by `action`, with the columns `set` changes,
    /// a `claim_events` row and an audit entry; refused as stale if it changed meanwhile.
    async fn move_claim(
        &self,
        w: &mut WriteTx,
        before: &StoredClaim,
        action: ClaimAction,
        name: &str,
        set: &[(&'static str, Val)],
        note: Option<&str>,
    ) -> Result<StoredClaim, StoreError> {
        let to = before.state.after(action)?;
        update_claim(w, Some(to), set, before.id, before.version).await?;
        if matches!(to, ClaimState::Withdrawn | ClaimState::Rejected) {
            // Its invoices may be claimed again (a corrected claim).
            sqlx::query("UPDATE claim_invoices SET live = 0 WHERE claim_id = $1")
                .bind(before.id)
                .execute(&mut *w.tx)
                .await?;
        }
        self.claim_event(w, before.id, name, Some(before.state), to, note).await?;
        let after = self.claim_in(w, before.id).await?;
        if let Some(message) = claim_message(&after, to, note) {
            let link = format!("/claims/{}", after.id);
            self.tell(w, after.person_id, &format!("claim_{}", to.code()), &message, Some(&link)).await?;
        }
        w.record(
            &format!("claim.{name}"),
            "claim",
            &before.id.to_string(),
            Some(&summary(before)),
            Some(&summary(&after)),
        )
        .await?;
        Ok(after)
    }

    /// Intake accepts a claim whose checklist is complete; the engine adjudicates it.
    pub async fn accept_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        claim.state.after(ClaimAction::Accept)?;
        let (missing, pre) = self.missing_items(w, &claim, today).await?;
        if !missing.is_empty() {
            let missing: Vec<&ChecklistItem> = missing.iter().collect();
            return Err(incomplete("材料不全，不能受理，请退回补正", "documents are missing; return it for", &missing));
        }
        let outcome = self.claim_outcome(w, rules, &claim).await?;
        let set = outcome_columns(&outcome)?;
        let after = self.move_claim(w, &claim, ClaimAction::Accept, "accept", &set, None).await?;
        // The rule base of the person's pooling region looks at the stay too.
        let person = fetch_person(&mut *w.tx, after.person_id).await?;
        let mut visit = claim_visit(&after, &person)?;
        let regions = [after.treatment_region, after.insured_region];
        crate::supervision::mark_catalog_limits(&mut visit, &rules.catalogs, &regions);
        self.supervise_claim(w, after.id, after.insured_region, &visit).await?;
        if let Some(pre) = &pre {
            self.plan_recheck(w, pre, crate::audits::Stay::Claim(after.id), after.care_end, today).await?;
        }
        Ok(after)
    }

    /// Checks an adjudicated claim again against the rule base in force (a re-check of a
    /// period): its open hits are replaced by what is found now, decided ones kept.
    pub(crate) async fn resupervise_claim(&self, w: &mut WriteTx, id: i64) -> Result<(), StoreError> {
        let claim = self.claim_in(w, id).await?;
        let person = fetch_person(&mut *w.tx, claim.person_id).await?;
        let mut visit = claim_visit(&claim, &person)?;
        let regions = [claim.treatment_region, claim.insured_region];
        crate::supervision::mark_catalog_limits(&mut visit, &self.rules().await?.catalogs, &regions);
        self.supervise_claim(w, claim.id, claim.insured_region, &visit).await?;
        Ok(())
    }

    /// Intake returns a claim for supplement (补正): the checklist's missing items and
    /// `note` say exactly what to bring.
    pub async fn return_claim(
        &self,
        w: &mut WriteTx,
        id: i64,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let (missing, _) = self.missing_items(w, &claim, today).await?;
        let note = note.trim();
        if missing.is_empty() && note.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "清单已齐全；退回补正须写明还缺什么",
                "the checklist is complete; say what is missing to return it",
            )));
        }
        let set =
            [("missing", text(json(&missing)?)), ("note", Val::Text(Some(note.to_string()).filter(|n| !n.is_empty())))];
        self.move_claim(w, &claim, ClaimAction::Return, "return", &set, Some(note).filter(|n| !n.is_empty())).await
    }

    /// The claimant hands in what was missing; refused while a required item still is.
    pub async fn resubmit_claim(&self, w: &mut WriteTx, id: i64, today: NaiveDate) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let (missing, _) = self.missing_items(w, &claim, today).await?;
        if !missing.is_empty() {
            let missing: Vec<&ChecklistItem> = missing.iter().collect();
            return Err(incomplete("仍缺少", "still missing", &missing));
        }
        self.move_claim(w, &claim, ClaimAction::Resubmit, "resubmit", &[("missing", text("[]"))], None).await
    }

    /// What the claim still lacks: the region's checklist for its case and submitter, and the
    /// photos of the operated site and of the whole body where the pre-evaluation of its
    /// filing asks for them, or where a person living elsewhere had surgery (seed 004, 4.: a
    /// catalog item named as a procedure, …术). With the pre-evaluation, if there is one.
    async fn missing_items(
        &self,
        w: &mut WriteTx,
        claim: &StoredClaim,
        today: NaiveDate,
    ) -> Result<(Vec<ChecklistItem>, Option<crate::StoredPreEvaluation>), StoreError> {
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let kinds = claim.document_kinds();
        let mut missing: Vec<ChecklistItem> =
            claim_rules.missing(claim.case, claim.submitter, &kinds).into_iter().cloned().collect();
        let pre = crate::audits::pre_evaluation_on(&mut w.tx, claim.person_id, claim.care_start).await?;
        let asked = pre.as_ref().and_then(|p| p.record.as_ref()).is_some_and(|r| r.photos_required);
        let lives_elsewhere =
            claim.case.evidenced_filing(&kinds) == Some(yibao_core::adjudicate::Filing::LongTermResidence);
        let needs_photos = asked || (lives_elsewhere && self.claims_a_surgery(claim).await?);
        if needs_photos && !kinds.contains(&DocumentKind::SurgeryPhotos) {
            missing.push(ChecklistItem {
                any_of: vec![DocumentKind::SurgeryPhotos],
                required: true,
                why: yibao_core::Text::new(
                    "出院后须提交手术部位及全身照片（预评估要求，或异地居住人员手术）",
                    "photos of the operated site and of the whole body after discharge (asked by the pre-evaluation, \
                     or a surgery of a person living elsewhere)",
                ),
            });
        }
        Ok((missing, pre))
    }

    /// Whether a claim charges a surgery: a line the catalog of the place of treatment or of
    /// the person's region names as a procedure, or the hospital's list does.
    async fn claims_a_surgery(&self, claim: &StoredClaim) -> Result<bool, StoreError> {
        let rules = self.rules().await?;
        let catalogs: Vec<_> = [claim.treatment_region, claim.insured_region]
            .into_iter()
            .filter_map(|r| rules.catalogs.for_region(r).map(|(_, c)| c))
            .collect();
        Ok(claim.lines.iter().any(|l| {
            yibao_core::inspection::is_surgery(&l.item_name)
                || catalogs.iter().any(|c| {
                    c.lookup(&l.med_list_codg, claim.care_end)
                        .is_some_and(|e| yibao_core::inspection::is_surgery(&e.name))
                })
        }))
    }

    /// A reviewer takes an adjudicated claim.
    pub async fn take_claim(&self, w: &mut WriteTx, id: i64) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        let set = [("reviewer", text(w.actor().label.clone()))];
        self.move_claim(w, &claim, ClaimAction::TakeForReview, "take", &set, None).await
    }

    /// A lead reviewer gives a claim to a reviewer (`to`, their audit label): one waiting for
    /// review is taken for review in their name; one under review changes hands, the lines
    /// excluded so far staying as they are for the new reviewer to decide.
    pub async fn assign_claim(&self, w: &mut WriteTx, id: i64, to: &str) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        match claim.state {
            ClaimState::Adjudicated => {
                let set = [("reviewer", text(to))];
                self.move_claim(w, &claim, ClaimAction::TakeForReview, "assign", &set, None).await
            }
            ClaimState::InReview if claim.reviewer.as_deref() == Some(to) => {
                Err(refuse("already_assigned", "该申请已由这位审核人员审核", "the claim is with this reviewer already"))
            }
            ClaimState::InReview => {
                update_claim(w, None, &[("reviewer", text(to))], claim.id, claim.version).await?;
                // No note: the claimant reads the history, and staff are not named to them; the
                // audit log holds who had it before and after.
                self.claim_event(w, claim.id, "reassign", Some(claim.state), claim.state, None).await?;
                let after = self.claim_in(w, claim.id).await?;
                w.record("claim.reassign", "claim", &id.to_string(), Some(&summary(&claim)), Some(&summary(&after)))
                    .await?;
                Ok(after)
            }
            other => Err(refuse(
                "not_assignable",
                format!("只有待审核或审核中的申请可以分派，此申请{}", other.label().zh),
                format!("only a claim waiting for or under review can be assigned; this one is {}", other.label().en),
            )),
        }
    }

    /// The claims under review in `scope`, by reviewer (their audit label): the workload.
    pub async fn review_workload(&self, scope: &Scope) -> Result<Vec<(String, i64)>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT c.reviewer, COUNT(*) FROM {CLAIM_FROM} WHERE c.state = 'in_review' AND c.reviewer IS NOT NULL"
        ));
        sql.scope_filter("p.insured_region", scope);
        sql.text.push_str(" GROUP BY c.reviewer ORDER BY c.reviewer");
        let rows = sql.fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn require_reviewer(&self, w: &WriteTx, claim: &StoredClaim) -> Result<(), StoreError> {
        if claim.state != ClaimState::InReview || claim.reviewer.as_deref() != Some(w.actor().label.as_str()) {
            return Err(refuse(
                "not_your_review",
                "只有接手审核的审核人员才能修改或决定此申请",
                "only the reviewer who took the claim may change or decide it",
            ));
        }
        Ok(())
    }

    /// The reviewer excludes a line (with a coded reason and a comment) or puts it back
    /// (`reason` none); the engine adjudicates the claim again.
    pub async fn exclude_claim_line(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        seq: i64,
        reason: Option<LineReason>,
        note: &str,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.require_reviewer(w, &claim)?;
        let note = note.trim();
        if reason.is_some() && note.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "剔除费用须写明审核意见",
                "excluding a line needs a comment",
            )));
        }
        let before = claim.lines.iter().find(|l| l.seq == seq).cloned().ok_or(StoreError::NotFound("claim line"))?;
        sqlx::query(
            "UPDATE claim_lines SET excluded_reason = $1, excluded_note = $2, excluded_by = $3 \
             WHERE claim_id = $4 AND seq = $5",
        )
        .bind(reason.map(|r| r.code()))
        .bind(reason.map(|_| note.to_string()))
        .bind(reason.map(|_| w.actor().label.clone()))
        .bind(id)
        .bind(seq)
        .execute(&mut *w.tx)
        .await?;
        let claim = self.claim_in(w, id).await?;
        let outcome = self.claim_outcome(w, rules, &claim).await?;
        self.keep_line_change(w, &claim, &outcome, &before, seq, "claim.line").await
    }

    /// Stores a claim adjudicated again after a reviewer changed its line `seq` (read at
    /// `before`), with an audit entry `action` for the line.
    async fn keep_line_change(
        &self,
        w: &mut WriteTx,
        claim: &StoredClaim,
        outcome: &Outcome,
        before: &StoredClaimLine,
        seq: i64,
        action: &str,
    ) -> Result<StoredClaim, StoreError> {
        let set = outcome_columns(outcome)?;
        update_claim(w, None, &set, claim.id, claim.version).await?;
        let after_line = claim.lines.iter().find(|l| l.seq == seq).cloned();
        let key = format!("{}/{seq}", claim.id);
        w.record(action, "claim_line", &key, Some(before), after_line.as_ref()).await?;
        // The rules look again at what is now paid.
        self.resupervise_claim(w, claim.id).await?;
        self.claim_in(w, claim.id).await
    }

    /// The reviewer admits a line outside the catalog as necessary for an emergency rescue
    /// (seed 003), with a coded reason and a comment, or takes the admission back (`reason`
    /// none); the engine adjudicates the claim again and pays it as the policy's
    /// `sporadic.emergency_rescue` says. Only for a claim of emergency care, only a line
    /// outside the catalog, only where the policy allows it.
    pub async fn admit_claim_line_for_rescue(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        seq: i64,
        reason: Option<RescueReason>,
        note: &str,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.require_reviewer(w, &claim)?;
        let before = claim.lines.iter().find(|l| l.seq == seq).cloned().ok_or(StoreError::NotFound("claim line"))?;
        let note = note.trim();
        if reason.is_some() {
            if note.is_empty() {
                return Err(StoreError::Invalid(InvalidValue::new(
                    "note",
                    "required",
                    "急救抢救纳入须写明审核意见",
                    "admitting a line for a rescue needs a comment",
                )));
            }
            let kinds = claim.document_kinds();
            let emergency = claim.case.evidenced_filing(&kinds) == Some(yibao_core::adjudicate::Filing::Emergency)
                || kinds.contains(&DocumentKind::EmergencyRecord);
            if !emergency {
                return Err(refuse(
                    "not_emergency",
                    "只有急诊抢救的申请可以把目录外项目纳入支付",
                    "only a claim of emergency care may admit a line outside the catalog",
                ));
            }
            let outside = claim
                .statement
                .as_ref()
                .and_then(|s| s.lines.iter().find(|l| l.seq == seq.to_string()))
                .is_some_and(|l| l.category.is_none() || before.rescue_reason.is_some());
            if !outside {
                return Err(refuse("in_catalog", "该项目在医保目录内，无需纳入", "the line is in the catalog already"));
            }
        }
        sqlx::query("UPDATE claim_lines SET rescue_reason = $1, rescue_note = $2, rescue_by = $3 WHERE claim_id = $4 AND seq = $5")
            .bind(reason.map(|r| r.code()))
            .bind(reason.map(|_| note.to_string()))
            .bind(reason.map(|_| w.actor().label.clone()))
            .bind(id)
            .bind(seq)
            .execute(&mut *w.tx)
            .await?;
        let claim = self.claim_in(w, id).await?;
        let outcome = self.claim_outcome(w, rules, &claim).await?;
        let admitted =
            outcome.lines.iter().find(|l| *l.feedetl_sn == seq.to_string()).is_some_and(|l| l.entry.is_some());
        if reason.is_some() && !admitted {
            return Err(refuse(
                "policy_forbids",
                "本地区政策未规定急救抢救目录外项目的支付，不能纳入",
                "the region's policy does not pay for rescue lines outside the catalog",
            ));
        }
        self.keep_line_change(w, &claim, &outcome, &before, seq, "claim.rescue").await
    }

    /// How often each reviewer of the regions in `scope` admitted lines outside the catalog
    /// for an emergency rescue: (reviewer, lines, claims, amount of those lines).
    pub async fn rescue_admissions(
        &self,
        scope: &yibao_core::Scope,
    ) -> Result<Vec<(String, i64, i64, Fen)>, StoreError> {
        let mut sql = crate::db::query::Sql::new(
            "SELECT l.rescue_by, COUNT(*), COUNT(DISTINCT l.claim_id), CAST(SUM(l.amount) AS BIGINT) FROM claim_lines l \
             JOIN claims c ON c.id = l.claim_id JOIN persons p ON p.id = c.person_id WHERE l.rescue_reason IS NOT NULL",
        );
        sql.scope_filter("p.insured_region", scope);
        sql.text.push_str(" GROUP BY l.rescue_by ORDER BY COUNT(*) DESC, l.rescue_by");
        sql.fetch_all(&self.db)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
                    r.try_get(1)?,
                    r.try_get(2)?,
                    Fen::from_fen(r.try_get::<Option<i64>, _>(3)?.unwrap_or(0)),
                ))
            })
            .collect()
    }

    /// The reviewer decides: approve (reduced when lines were excluded) or reject. Above
    /// the region's amount the decision waits for a second reviewer.
    pub async fn decide_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        approve: bool,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.require_reviewer(w, &claim)?;
        let verdict = match approve {
            false => Verdict::Reject,
            true if claim.lines.iter().any(|l| l.excluded_reason.is_some()) => Verdict::Reduce,
            true => Verdict::Approve,
        };
        if verdict != Verdict::Reject {
            self.check_audits(w, Some(claim.id), None).await?;
        }
        if verdict != Verdict::Reject {
            self.check_no_open_violations(w, claim.id).await?;
        }
        if verdict == Verdict::Reject && note.trim().is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "note",
                "required",
                "不予报销须写明理由",
                "a rejection needs a reason",
            )));
        }
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        let second = claim.medfee_sumamt > claim_rules.second_review_above;
        let action = ClaimAction::Decide { verdict, second };
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        let mut set = vec![("verdict", text(verdict.code()))];
        if !second {
            set.extend(self.final_columns(w, rules, &claim, verdict).await?);
        }
        let after = self.move_claim(w, &claim, action, "decide", &set, note).await?;
        self.create_payment_order(w, &after, claim_rules.pay_employer_unit, today).await?;
        self.claim_concluded(w, &after, claim_rules.sample_percent, today).await?;
        Ok(after)
    }

    /// Whether the approved claim numbered `number` is drawn for post-payment audit when
    /// `percent` are, by the installation's secret.
    pub(crate) async fn drawn_for_sample(
        &self,
        w: &mut WriteTx,
        number: &str,
        percent: u8,
    ) -> Result<bool, StoreError> {
        let salt: String = sqlx::query_scalar("SELECT value FROM installation_secrets WHERE name = 'sample_salt'")
            .fetch_one(&mut *w.tx)
            .await?;
        Ok(yibao_core::sporadic::drawn_for_sample(&salt, number, percent))
    }

    /// Refuses to approve a claim with an open violation (违规) of the rules.
    async fn check_no_open_violations(&self, w: &mut WriteTx, claim_id: i64) -> Result<(), StoreError> {
        if self.open_violations_in(w, claim_id).await? > 0 {
            return Err(refuse(
                "open_violations",
                "该申请有未处理的违规疑点，须先逐条核实处理（排除或确认）后才能通过",
                "the claim has open violations: decide each (clear or confirm) before approving it",
            ));
        }
        Ok(())
    }

    /// The second reviewer (复核), who is not the first, confirms the first's decision or
    /// sends the claim back to review.
    pub async fn second_review_claim(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        id: i64,
        confirm: bool,
        note: &str,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        if claim.reviewer.as_deref() == Some(w.actor().label.as_str()) {
            return Err(refuse(
                "same_reviewer",
                "复核人不能是初审人",
                "the second reviewer cannot be the one who reviewed it first",
            ));
        }
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        if !confirm {
            if note.is_none() {
                return Err(StoreError::Invalid(InvalidValue::new(
                    "note",
                    "required",
                    "退回重审须写明理由",
                    "sending it back needs a reason",
                )));
            }
            return self.move_claim(w, &claim, ClaimAction::SendBack, "send_back", &[], note).await;
        }
        let verdict = claim.verdict.ok_or_else(|| corrupt("claims.verdict", "missing at second review"))?;
        let action = ClaimAction::Confirm { verdict };
        claim.state.after(action)?;
        if verdict != Verdict::Reject {
            self.check_audits(w, Some(claim.id), None).await?;
            // A re-check may have found a violation since the first review.
            self.check_no_open_violations(w, claim.id).await?;
        }
        let mut set = vec![("second_reviewer", text(w.actor().label.clone()))];
        set.extend(self.final_columns(w, rules, &claim, verdict).await?);
        let after = self.move_claim(w, &claim, action, "confirm", &set, note).await?;
        let (claim_rules, _) = self.claim_rules(claim.insured_region, today).await?;
        self.create_payment_order(w, &after, claim_rules.pay_employer_unit, today).await?;
        self.claim_concluded(w, &after, claim_rules.sample_percent, today).await?;
        Ok(after)
    }

    /// What follows an approval: the claim's diagnoses go into the person's medical history
    /// file (by code: the claim form takes no names), and the claim may be drawn for
    /// post-payment audit (`sample_percent` of claims, by number).
    async fn claim_concluded(
        &self,
        w: &mut WriteTx,
        claim: &StoredClaim,
        sample_percent: u8,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        if !matches!(claim.state, ClaimState::Approved | ClaimState::Reduced) {
            return Ok(());
        }
        if self.drawn_for_sample(w, &claim.number, sample_percent).await? {
            let task = crate::NewTask {
                kind: yibao_core::inspection::AuditTaskKind::Sample,
                person_id: claim.person_id,
                claim_id: Some(claim.id),
                visit_id: None,
                filing_id: None,
                place: claim.institution_name.clone(),
                assignee: String::new(),
                due_on: today + chrono::Duration::days(60),
                instructions: format!("事后抽查：核实申请 {} 的就医真实性和费用", claim.number),
            };
            self.create_audit_task(w, &task, today).await?;
        }
        let mut diagnoses: Vec<HistoryInput> = claim
            .diagnoses
            .iter()
            .map(|code| HistoryInput {
                kind: HistoryKind::Diagnosis,
                code: code.clone(),
                name: String::new(),
                noted_on: claim.care_end,
            })
            .collect();
        // The surgeries it paid for, by the catalog's names (the reviewer's exclusions left out).
        let excluded: Vec<String> =
            claim.lines.iter().filter(|l| l.excluded_reason.is_some()).map(|l| l.seq.to_string()).collect();
        let surgeries = claim
            .statement
            .iter()
            .flat_map(|s| &s.lines)
            .filter(|l| yibao_core::inspection::is_surgery(&l.name) && !excluded.contains(&l.seq));
        diagnoses.extend(surgeries.map(|l| HistoryInput {
            kind: HistoryKind::Surgery,
            code: l.med_list_codg.clone(),
            name: l.name.clone(),
            noted_on: claim.care_end,
        }));
        self.note_history(w, claim.person_id, &diagnoses, HistorySource::Claim, &claim.number).await?;
        Ok(())
    }

    /// What a final decision writes: for an approval, the engine's result under the
    /// running totals as they are now, which it adds to them; for a rejection, nothing.
    async fn final_columns(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        claim: &StoredClaim,
        verdict: Verdict,
    ) -> Result<Set, StoreError> {
        let mut set = vec![("decided_at", text(w.at()))];
        if verdict == Verdict::Reject {
            return Ok(set);
        }
        let outcome = self.claim_outcome(w, rules, claim).await?;
        let year = outcome.policy.year;
        let version = self.year_totals_in(w, claim.person_id, year).await?.map(|(_, v)| v);
        self.put_year_totals(w, claim.person_id, year, &outcome.ytd_after, version).await?;
        set.extend(outcome_columns(&outcome)?);
        Ok(set)
    }

    /// The claimant (or a clerk for them) withdraws a claim not yet decided.
    pub async fn withdraw_claim(&self, w: &mut WriteTx, id: i64, note: &str) -> Result<StoredClaim, StoreError> {
        let claim = self.claim_in(w, id).await?;
        self.move_claim(w, &claim, ClaimAction::Withdraw, "withdraw", &[], Some(note.trim()).filter(|n| !n.is_empty()))
            .await
    }

    /// Runs the engine on a claim under the policy of its receipts' insurance year, with
    /// the person's running totals as this transaction sees them.
    async fn claim_outcome(&self, w: &mut WriteTx, rules: &Rules, claim: &StoredClaim) -> Result<Outcome, StoreError> {
        let person = fetch_person(&mut *w.tx, claim.person_id).await?;
        let receipt = claim.invoices.iter().map(|i| i.invoice_date).max().unwrap_or(claim.care_end);
        let year = rules
            .policies
            .select(person.insured_region, person.scheme, receipt)
            .map(|p| p.year.value())
            .unwrap_or_else(|| InsuranceYear::of(receipt).value());
        let admissions: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM settlements WHERE person_id = $1 AND year = $2 AND med_type = '21' \
             AND status = 'settled') + (SELECT COUNT(*) FROM claims WHERE person_id = $1 AND year = $2 \
             AND med_type = '21' AND state IN ('approved', 'reduced') AND id <> $3)",
        )
        .bind(person.id)
        .bind(i64::from(year))
        .bind(claim.id)
        .fetch_one(&mut *w.tx)
        .await?;
        let ytd = self.year_totals_in(w, person.id, year).await?.map(|(t, _)| t).unwrap_or_default();
        let filing = self
            .filings_of(person.id)
            .await?
            .into_iter()
            .find(|f| {
                f.in_force_on(claim.care_start) && f.destination.is_none_or(|d| d.contains(claim.treatment_region))
            })
            .map(|f| f.kind.group())
            .or_else(|| claim.case.evidenced_filing(&claim.document_kinds()));
        let feedetail = claim
            .lines
            .iter()
            .map(|l| {
                Ok(FeeLine {
                    feedetl_sn: l.seq.to_string().into(),
                    med_list_codg: l.med_list_codg.as_str().into(),
                    cnt: l.cnt,
                    pric: l.pric,
                    det_item_fee_sumamt: l.amount,
                    fee_ocur_time: DateText(date_from("claim_lines.fee_ocur_time", &l.fee_ocur_time)?),
                    reviewer_excluded: l.excluded_reason.is_some(),
                    rescue_admitted: l.rescue_reason.is_some(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let engine_claim = Claim {
            mdtrt_id: claim.number.clone(),
            insutype: person.scheme,
            psn_type: person.category,
            med_type: claim.med_type,
            insuplc_admdvs: person.insured_region,
            mdtrtarea_admvs: claim.treatment_region,
            hosp_lv: claim.hosp_lv,
            admission_no: u32::try_from(admissions + 1).unwrap_or(u32::MAX),
            offsite_filing: filing,
            receipt_date: DateText(receipt),
            dise_codg: claim.diagnoses.clone(),
            opsp_dise_code: (claim.med_type == MedType::SpecialOutpatient)
                .then(|| claim.diagnoses.first().cloned())
                .flatten(),
            acct_used_flag: false,
            acct_balance: Fen::ZERO,
            family_balance: Fen::ZERO,
            catalog_source: Some(if claim.treatment_catalog {
                CatalogSource::Treatment
            } else {
                CatalogSource::Insured
            }),
            feedetail,
        };
        Engine::default().run(&engine_claim, &rules.policies, &rules.catalogs, &ytd).map_err(|e| {
            StoreError::Invalid(InvalidValue::new(
                "claim",
                "not_adjudicable",
                format!("{}：{}", e.field, e.message.zh),
                format!("{}: {}", e.field, e.message.en),
            ))
        })
    }
}

/// What the claimant is told when their claim is returned for 补正 or decided.
fn claim_message(c: &StoredClaim, to: ClaimState, note: Option<&str>) -> Option<yibao_core::Text> {
    let n = &c.number;
    let why = note.map(str::trim).filter(|x| !x.is_empty());
    let (zh_why, en_why) = why.map_or((String::new(), String::new()), |w| (format!("：{w}"), format!(": {w}")));
    let fund = c.fund_pay_sumamt.unwrap_or(Fen::ZERO).to_grouped();
    Some(match to {
        ClaimState::Returned => yibao_core::Text::new(
            format!("您的报销申请 {n} 需要补正{zh_why}。请登录查看缺少的材料，补齐后重新提交。"),
            format!(
                "Your claim {n} needs more papers{en_why}. Log in to see what is missing, add it and submit again."
            ),
        ),
        ClaimState::Approved | ClaimState::Reduced => yibao_core::Text::new(
            format!("您的报销申请 {n} 已审核通过，基金支付 {fund} 元，将支付到您登记的银行账户。"),
            format!("Your claim {n} is approved: the fund pays {fund} yuan, to the bank account on record."),
        ),
        ClaimState::Rejected => yibao_core::Text::new(
            format!("您的报销申请 {n} 未予报销{zh_why}。请登录查看原因和可以怎么做。"),
            format!("Your claim {n} was not reimbursed{en_why}. Log in to read why and what you can do."),
        ),
        _ => return None,
    })
}
