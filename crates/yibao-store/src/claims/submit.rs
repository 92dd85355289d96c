//! Handing a claim in: the region's claim rules (checklists and deadlines), the checks on
//! the claim (deadline, invoices claimed or settled before, amounts), and its documents.

use super::*;

/// The checks on a claim's figures that need no database: dates, lines that add up, and
/// invoices that match the lines, all in one insurance year. Every problem at once.
fn check_input(input: &ClaimInput, today: NaiveDate) -> Result<(), StoreError> {
    let mut problems = Vec::new();
    let mut problem = |field: &'static str, code: &'static str, zh: String, en: String| {
        problems.push(InvalidValue::new(field, code, zh, en));
    };
    if input.care_start > input.care_end {
        problem("care_end", "order", "就诊结束日期早于开始日期".into(), "care ends before it starts".into());
    }
    if input.care_end > today {
        problem("care_end", "future", "就诊结束日期不能晚于今天".into(), "care cannot end after today".into());
    }
    if input.institution_code.trim().is_empty() || input.institution_name.trim().is_empty() {
        problem(
            "institution_name",
            "required",
            "请填写就诊医疗机构的名称和编码".into(),
            "give the institution's name and code".into(),
        );
    }
    if input.diagnoses.iter().all(|d| d.trim().is_empty()) {
        problem("diagnoses", "required", "请填写诊断".into(), "give the diagnosis".into());
    }
    if input.invoices.is_empty() {
        problem("invoices", "required", "至少需要一张医疗收费票据".into(), "at least one invoice is needed".into());
    }
    if input.lines.is_empty() {
        problem("lines", "required", "请录入或导入费用明细".into(), "enter or import the itemised lines".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for inv in &input.invoices {
        let no = inv.invoice_no.trim();
        if no.is_empty() {
            problem("invoices", "invoice_no", "票据号不能为空".into(), "an invoice number is empty".into());
        } else if !seen.insert(no.to_string()) {
            problem("invoices", "repeated", format!("票据 {no} 重复录入"), format!("invoice {no} is entered twice"));
        }
        if inv.amount <= Fen::ZERO {
            problem(
                "invoices",
                "amount",
                format!("票据 {no} 金额须大于 0"),
                format!("invoice {no}: the amount must be positive"),
            );
        }
        if inv.invoice_date < input.care_start || inv.invoice_date > today {
            problem(
                "invoices",
                "invoice_date",
                format!("票据 {no} 的日期 {} 不在就诊开始日与今天之间", inv.invoice_date),
                format!("invoice {no} is dated {}, not between the start of care and today", inv.invoice_date),
            );
        }
    }
    let years: std::collections::BTreeSet<InsuranceYear> =
        input.invoices.iter().map(|i| InsuranceYear::of(i.invoice_date)).collect();
    if years.len() > 1 {
        problem(
            "invoices",
            "years",
            "票据跨两个医保年度：各年度按当年政策计算，请按年度分别申报".into(),
            "the invoices span two insurance years, each paid under its own year's policy: file one claim per year"
                .into(),
        );
    }
    for (i, l) in input.lines.iter().enumerate() {
        let n = i + 1;
        if l.med_list_codg.trim().is_empty() {
            problem("lines", "med_list_codg", format!("第 {n} 行缺少医保目录编码"), format!("line {n} has no code"));
        }
        if l.cnt <= Decimal::ZERO || l.pric < Decimal::ZERO {
            problem(
                "lines",
                "cnt",
                format!("第 {n} 行：数量须为正数，单价不能为负"),
                format!("line {n}: the quantity must be positive and the price not negative"),
            );
        }
        let expected = (l.cnt * l.pric).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if expected * Decimal::ONE_HUNDRED != Decimal::from(l.amount.fen()) {
            problem(
                "lines",
                "amount",
                format!("第 {n} 行：金额 {} 与数量×单价 {expected} 不符", l.amount),
                format!("line {n}: the amount {} is not quantity × price = {expected}", l.amount),
            );
        }
        if l.fee_ocur_time < input.care_start || l.fee_ocur_time > input.care_end {
            problem(
                "lines",
                "fee_ocur_time",
                format!("第 {n} 行的日期 {} 不在就诊期间", l.fee_ocur_time),
                format!("line {n} is dated {}, outside the care", l.fee_ocur_time),
            );
        }
    }
    let invoiced: i64 = input.invoices.iter().map(|i| i.amount.fen()).sum();
    let listed: i64 = input.lines.iter().map(|l| l.amount.fen()).sum();
    if !input.invoices.is_empty() && !input.lines.is_empty() && invoiced != listed {
        problem(
            "lines",
            "total",
            format!("费用明细合计 {} 与票据合计 {} 不符", Fen::from_fen(listed), Fen::from_fen(invoiced)),
            format!("the lines total {} but the invoices {}", Fen::from_fen(listed), Fen::from_fen(invoiced)),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Problems(problems))
    }
}

impl Store {
    /// The region's claim rules in force on `day`: the newest version imported for the
    /// person's insured region or its pooling region, else the rules yibao ships with.
    pub async fn claim_rules(
        &self,
        region: AdminCode,
        day: NaiveDate,
    ) -> Result<(ClaimRules, Option<i64>), StoreError> {
        let row = sqlx::query(
            "SELECT body, version FROM claim_rules WHERE region IN ($1, $2) AND valid_from <= $3 \
             ORDER BY valid_from DESC, version DESC LIMIT 1",
        )
        .bind(i64::from(region.value()))
        .bind(i64::from(region.prefecture().value()))
        .bind(day.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        match row {
            Some(r) => {
                let body: String = r.try_get(0)?;
                Ok((parse("claim_rules.body", ClaimRules::from_json(&body))?, Some(r.try_get(1)?)))
            }
            None => Ok((ClaimRules::default_rules()?, None)),
        }
    }

    /// Imports a version of a region's claim rules; returns its version number.
    pub async fn import_claim_rules(&self, w: &mut WriteTx, region: AdminCode, body: &str) -> Result<i64, StoreError> {
        let rules = ClaimRules::from_json(body)?;
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM claim_rules WHERE region = $1")
                .bind(i64::from(region.value()))
                .fetch_one(&mut *w.tx)
                .await?;
        sqlx::query(
            "INSERT INTO claim_rules (region, version, valid_from, body, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::from(region.value()))
        .bind(version)
        .bind(rules.valid_from.to_string())
        .bind(body.to_string())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "claim_rules"))?;
        w.record::<(), _>("claim_rules.import", "claim_rules", &format!("{region}/{version}"), None, Some(&rules))
            .await?;
        Ok(version)
    }

    /// Hands a claim in. Refused, with every reason at once where it can be, when the
    /// figures do not add up, when it is late without an accepted excuse, when the case is
    /// not one this submitter may hand in, or when an invoice was claimed or settled
    /// directly before (the reason names the first claim or settlement).
    pub async fn submit_claim(
        &self,
        w: &mut WriteTx,
        input: &ClaimInput,
        today: NaiveDate,
    ) -> Result<StoredClaim, StoreError> {
        check_input(input, today)?;
        let person = fetch_person(&mut *w.tx, input.person_id).await?;
        let (rules, _) = self.claim_rules(person.insured_region, today).await?;
        // Cover follows payment: days without it are not reimbursed, whoever files.
        self.check_paid_cover(&person, input.care_start, input.care_end, today).await?;
        rules.check_submitter(input.case, input.by.submitter())?;
        if input.treatment_catalog {
            let receipt = input.invoices.iter().map(|i| i.invoice_date).max().unwrap_or(input.care_end);
            let allowed = self
                .rules()
                .await?
                .policies
                .select(person.insured_region, person.scheme, receipt)
                .is_some_and(|p| p.offsite.claims_treatment_catalog);
            if !allowed {
                return Err(StoreError::Invalid(InvalidValue::new(
                    "treatment_catalog",
                    "not_allowed",
                    "参保地政策不允许零星报销按就医地目录计算，请按参保地目录申报",
                    "the insured region's policy does not let a claim use the treatment region's catalogs; claim under the insured region's",
                )));
            }
        }
        let deadline = rules.case(input.case).deadline;
        let late_excuse = input.late_excuse.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if late_excuse.is_none() {
            deadline.check(input.care_end, today)?;
        }
        let due = deadline.due(input.care_end);
        let (delegation_id, employer_id) = match &input.by {
            SubmittedBy::Insured => (None, None),
            SubmittedBy::Delegate { delegation_id, resident_id, name } => {
                (Some(self.delegation_for(w, &person, *delegation_id, resident_id.as_ref(), name).await?), None)
            }
            SubmittedBy::Employer { employer_id } => {
                if person.employer_id != Some(*employer_id) {
                    return Err(refuse(
                        "employer",
                        "参保单位只能为本单位职工申报",
                        "an employer unit files only for its own employees",
                    ));
                }
                (None, Some(*employer_id))
            }
        };
        for inv in &input.invoices {
            self.check_invoice_unclaimed(w, &input.institution_code, &inv.invoice_no).await?;
        }
        if let Some(no) = input.visit_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let settled: Option<String> = sqlx::query_scalar(
                "SELECT s.setl_id FROM settlements s JOIN visits v ON v.id = s.visit_id \
                 JOIN institutions i ON i.id = s.institution_id \
                 WHERE i.code = $1 AND v.ipt_otp_no = $2 AND s.status = 'settled'",
            )
            .bind(input.institution_code.trim().to_string())
            .bind(no.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
            if let Some(setl_id) = settled {
                return Err(already_settled(&setl_id, no));
            }
        }
        let medfee: i64 = input.lines.iter().map(|l| l.amount.fen()).sum();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO claims (person_id, case_code, submitter, delegation_id, employer_id, channel, med_type, \
             institution_code, institution_name, treatment_region, hosp_lv, visit_no, care_start, care_end, \
             diagnoses, due_on, late_excuse, state, medfee_sumamt, submitted_by, submitted_at, treatment_catalog) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'submitted', $18, \
             $19, $20, $21) RETURNING id",
        )
        .bind(person.id)
        .bind(input.case.code())
        .bind(input.by.submitter().code())
        .bind(delegation_id)
        .bind(employer_id)
        .bind(input.channel.code())
        .bind(input.med_type.code())
        .bind(input.institution_code.trim().to_string())
        .bind(input.institution_name.trim().to_string())
        .bind(i64::from(input.treatment_region.value()))
        .bind(input.hosp_lv.code())
        .bind(input.visit_no.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string))
        .bind(input.care_start.to_string())
        .bind(input.care_end.to_string())
        .bind(json(&input.diagnoses.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect::<Vec<_>>())?)
        .bind(due.to_string())
        .bind(late_excuse.map(str::to_string))
        .bind(medfee)
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(i64::from(input.treatment_catalog))
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE claims SET number = $1 WHERE id = $2")
            .bind(format!("LX{}{:08}", person.insured_region, id))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        for inv in &input.invoices {
            sqlx::query(
                "INSERT INTO claim_invoices (claim_id, institution_code, invoice_no, invoice_date, amount) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(input.institution_code.trim().to_string())
            .bind(inv.invoice_no.trim().to_string())
            .bind(inv.invoice_date.to_string())
            .bind(inv.amount.fen())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "invoice"))?;
        }
        for (i, l) in input.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO claim_lines (claim_id, seq, med_list_codg, item_name, cnt, pric, amount, fee_ocur_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(i as i64 + 1)
            .bind(l.med_list_codg.trim().to_string())
            .bind(l.item_name.trim().to_string())
            .bind(l.cnt.normalize().to_string())
            .bind(l.pric.normalize().to_string())
            .bind(l.amount.fen())
            .bind(l.fee_ocur_time.to_string())
            .execute(&mut *w.tx)
            .await?;
        }
        self.claim_event(w, id, "submit", None, ClaimState::Submitted, late_excuse).await?;
        let claim = self.claim_in(w, id).await?;
        w.record::<(), _>("claim.submit", "claim", &id.to_string(), None, Some(&claim)).await?;
        Ok(claim)
    }

    /// Refuses an invoice already on a live claim, or settled directly under that number.
    async fn check_invoice_unclaimed(
        &self,
        w: &mut WriteTx,
        institution: &str,
        invoice_no: &str,
    ) -> Result<(), StoreError> {
        let (institution, invoice_no) = (institution.trim().to_string(), invoice_no.trim().to_string());
        let claimed: Option<String> = sqlx::query_scalar(
            "SELECT c.number FROM claim_invoices ci JOIN claims c ON c.id = ci.claim_id \
             WHERE ci.institution_code = $1 AND ci.invoice_no = $2 AND ci.live = 1",
        )
        .bind(institution.clone())
        .bind(invoice_no.clone())
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(number) = claimed {
            return Err(refuse(
                "duplicate_invoice",
                format!("票据 {invoice_no}（{institution}）已在报销申请 {number} 中申报，不能重复报销"),
                format!(
                    "invoice {invoice_no} of {institution} is already claimed on {number}; it cannot be paid twice"
                ),
            ));
        }
        let settled: Option<String> = sqlx::query_scalar(
            "SELECT s.setl_id FROM settlements s JOIN institutions i ON i.id = s.institution_id \
             WHERE i.code = $1 AND s.setl_id = $2 AND s.status = 'settled'",
        )
        .bind(institution)
        .bind(invoice_no.clone())
        .fetch_optional(&mut *w.tx)
        .await?;
        match settled {
            Some(setl_id) => Err(already_settled(&setl_id, &invoice_no)),
            None => Ok(()),
        }
    }

    pub(super) async fn claim_event(
        &self,
        w: &mut WriteTx,
        claim_id: i64,
        action: &str,
        from: Option<ClaimState>,
        to: ClaimState,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO claim_events (claim_id, at, actor, action, from_state, to_state, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(claim_id)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(action.to_string())
        .bind(from.map(|s| s.code()))
        .bind(to.code())
        .bind(note.map(str::to_string))
        .execute(&mut *w.tx)
        .await?;
        Ok(())
    }

    /// Attaches an uploaded file to a claim as one of its documents. Only while the claim
    /// is with its claimant or waiting for intake.
    pub async fn attach_claim_document(
        &self,
        w: &mut WriteTx,
        blobs: &Arc<dyn BlobStore>,
        claim_id: i64,
        kind: DocumentKind,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<ClaimDocument, StoreError> {
        let claim = self.claim_in(w, claim_id).await?;
        if !matches!(claim.state, ClaimState::Submitted | ClaimState::Returned) {
            return Err(refuse(
                "documents_closed",
                format!("报销申请处于“{}”，不能再添加材料", claim.state.label().zh),
                format!("the claim is {}; documents can no longer be added", claim.state.label().en),
            ));
        }
        let doc = self.save_document(w, blobs, claim.person_id, file_name, bytes).await?;
        sqlx::query(
            "INSERT INTO claim_documents (claim_id, document_id, kind, added_by, added_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(claim_id)
        .bind(doc.id)
        .bind(kind.code())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await?;
        let added = ClaimDocument {
            document_id: doc.id,
            kind,
            file_name: doc.file_name,
            media_type: doc.media_type.mime().to_string(),
            added_by: doc.uploaded_by,
            added_at: doc.uploaded_at,
        };
        w.record::<(), _>("claim.document", "claim", &claim_id.to_string(), None, Some(&added)).await?;
        Ok(added)
    }
}
