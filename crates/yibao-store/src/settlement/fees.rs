//! 2301 and 2302: fee lines uploaded and undone, discharge and its undoing.

use super::settle::build_claim;
use super::*;

/// `cnt × pric` in fen, half up: what a line must total.
fn line_total(cnt: Decimal, pric: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    (cnt.checked_mul(pric)? * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

fn line_problem(sn: &str, code: &'static str, zh: String, en: String) -> InvalidValue {
    InvalidValue::new("feedetail", code, format!("费用明细 {sn}：{zh}"), format!("fee line {sn}: {en}"))
}

impl Store {
    /// The visit's active fee lines, in upload order.
    pub async fn fee_lines(&self, w: &mut WriteTx, visit_id: i64) -> Result<Vec<StoredFee>, StoreError> {
        active_fees(&mut w.tx, visit_id).await
    }

    /// 2301: stores fee lines for an open visit. Each line is checked — a new serial
    /// number, a total of `cnt × pric`, not before the admission — and a refund (negative
    /// `cnt`) must name a line of this visit and not take back more than it charged. All
    /// problems are reported at once; nothing is stored unless every line is accepted.
    pub async fn upload_fees(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        lines: &[FeeUpload],
    ) -> Result<Visit, StoreError> {
        let visit = self.visit_of(w, institution_id, mdtrt_id).await?;
        let existing = self.fee_lines(w, visit.id).await?;
        self.store_fee_lines(w, &visit, &existing, lines).await?;
        Ok(Visit { version: visit.version + 1, ..visit })
    }

    /// 2301 on a snapshot taken before the write: stores the lines (refused as stale if the
    /// visit or its lines changed since) and answers with the visit pre-settled with them.
    pub async fn upload_fees_previewed(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        institution: &Institution,
        snapshot: VisitSnapshot,
        lines: &[FeeUpload],
        request: &SettleRequest,
    ) -> Result<Outcome, StoreError> {
        let VisitSnapshot { visit, mut inputs, .. } = snapshot;
        let added = self.store_fee_lines(w, &visit, &inputs.fees, lines).await?;
        inputs.fees.extend(added);
        Ok(build_claim(rules, institution, &visit, request, inputs)?.outcome)
    }

    /// Checks and stores new lines for `visit` (as read, with its `existing` active lines);
    /// the visit's version moves, so a write that read the lines before is refused as stale.
    /// Returns the lines as stored.
    async fn store_fee_lines(
        &self,
        w: &mut WriteTx,
        visit: &Visit,
        existing: &[StoredFee],
        lines: &[FeeUpload],
    ) -> Result<Vec<StoredFee>, StoreError> {
        require_open(visit, "上传费用明细", "fee lines cannot be uploaded")?;
        if lines.is_empty() {
            return Err(refuse("feedetail", "没有费用明细", "no fee lines were sent"));
        }
        let mut problems = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let admitted_on = visit.begntime.get(..10).unwrap_or("");
        for u in lines {
            let l = &u.line;
            let sn = &*l.feedetl_sn;
            if sn.trim().is_empty() {
                problems.push(line_problem(sn, "feedetl_sn", "缺少流水号".into(), "no serial number".into()));
                continue;
            }
            if existing.iter().any(|e| e.feedetl_sn == sn) || seen.contains(&sn) {
                problems.push(line_problem(
                    sn,
                    "feedetl_sn_duplicate",
                    "流水号已上传过（如需更正请先 2302 撤销）".into(),
                    "this serial number was already uploaded (undo it with 2302 first)".into(),
                ));
            }
            seen.push(sn);
            if l.cnt.is_zero() || l.pric.is_sign_negative() {
                problems.push(line_problem(
                    sn,
                    "cnt",
                    "数量不能为 0，单价不能为负".into(),
                    "cnt must not be 0 and pric not negative".into(),
                ));
                continue;
            }
            if line_total(l.cnt, l.pric) != Some(l.det_item_fee_sumamt.fen()) {
                problems.push(line_problem(
                    sn,
                    "det_item_fee_sumamt",
                    format!("金额 {} 不等于数量 {} × 单价 {}", l.det_item_fee_sumamt, l.cnt, l.pric),
                    format!("amount {} is not cnt {} × pric {}", l.det_item_fee_sumamt, l.cnt, l.pric),
                ));
            }
            let day = l.fee_ocur_time.0.to_string();
            if day.as_str() < admitted_on {
                problems.push(line_problem(
                    sn,
                    "fee_ocur_time",
                    format!("费用发生日期 {day} 早于入院日期 {admitted_on}"),
                    format!("fee date {day} is before the admission on {admitted_on}"),
                ));
            }
            if l.cnt.is_sign_negative() {
                let Some(init) = u.init_feedetl_sn.as_deref().filter(|s| !s.trim().is_empty()) else {
                    problems.push(line_problem(
                        sn,
                        "init_feedetl_sn",
                        "退费明细（数量为负）须填写原费用明细流水号 init_feedetl_sn".into(),
                        "a refund line (negative cnt) must name the line it refunds in init_feedetl_sn".into(),
                    ));
                    continue;
                };
                let charged: Vec<(Decimal, &str)> = existing
                    .iter()
                    .map(|e| (e.cnt, e.feedetl_sn.as_str()))
                    .chain(lines.iter().map(|o| (o.line.cnt, &*o.line.feedetl_sn)))
                    .filter(|(cnt, s)| *s == init && cnt.is_sign_positive())
                    .collect();
                let original =
                    existing.iter().find(|e| e.feedetl_sn == init).map(|e| e.med_list_codg.clone()).or_else(|| {
                        lines.iter().find(|o| &*o.line.feedetl_sn == init).map(|o| o.line.med_list_codg.to_string())
                    });
                let refunded: Decimal = existing
                    .iter()
                    .filter(|e| e.init_feedetl_sn.as_deref() == Some(init))
                    .map(|e| e.cnt)
                    .chain(
                        lines
                            .iter()
                            .filter(|o| o.init_feedetl_sn.as_deref() == Some(init) && o.line.cnt.is_sign_negative())
                            .map(|o| o.line.cnt),
                    )
                    .sum();
                let charged_cnt: Decimal = charged.iter().map(|(c, _)| *c).sum();
                if original.as_deref() != Some(&*l.med_list_codg) {
                    problems.push(line_problem(
                        sn,
                        "init_feedetl_sn",
                        format!("退费所指原明细 {init} 不存在或项目不同"),
                        format!("the refunded line {init} does not exist or is another item"),
                    ));
                } else if charged_cnt + refunded < Decimal::ZERO {
                    problems.push(line_problem(
                        sn,
                        "refund_exceeds",
                        format!("退费数量超过原明细 {init} 的数量 {charged_cnt}"),
                        format!("refunds exceed the {charged_cnt} charged on line {init}"),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Problems(problems));
        }
        bump_visit(w, visit).await?;
        // One statement for a chunk of lines (a round trip per line is most of an upload's time).
        const COLS: usize = 11;
        for chunk in lines.chunks(400) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p: Vec<String> = (1..=COLS).map(|c| format!("${}", r * COLS + c)).collect();
                    format!("({}, 'active')", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO fee_lines (visit_id, feedetl_sn, init_feedetl_sn, med_list_codg, medins_list_codg, cnt, \
                 pric, det_item_fee_sumamt, fee_ocur_time, uploaded_by, uploaded_at, status) VALUES {}",
                rows.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                let l = &u.line;
                q = q
                    .bind(visit.id)
                    .bind(l.feedetl_sn.to_string())
                    .bind(u.init_feedetl_sn.clone().filter(|s| !s.trim().is_empty()))
                    .bind(l.med_list_codg.to_string())
                    .bind(u.medins_list_codg.clone())
                    .bind(l.cnt.to_string())
                    .bind(l.pric.to_string())
                    .bind(l.det_item_fee_sumamt.fen())
                    .bind(l.fee_ocur_time.0.to_string())
                    .bind(w.actor().label.clone())
                    .bind(w.at().to_string());
            }
            q.execute(&mut *w.tx).await.map_err(|e| StoreError::on_unique(e, "feedetl_sn"))?;
        }
        let sns: Vec<&str> = lines.iter().map(|u| &*u.line.feedetl_sn).collect();
        w.record::<(), _>("visit.upload_fees", "visit", &visit.id.to_string(), None, Some(&sns)).await?;
        Ok(lines
            .iter()
            .map(|u| StoredFee {
                feedetl_sn: u.line.feedetl_sn.to_string(),
                init_feedetl_sn: u.init_feedetl_sn.clone().filter(|s| !s.trim().is_empty()),
                med_list_codg: u.line.med_list_codg.to_string(),
                medins_list_codg: u.medins_list_codg.clone(),
                cnt: u.line.cnt,
                pric: u.line.pric,
                det_item_fee_sumamt: u.line.det_item_fee_sumamt,
                fee_ocur_time: u.line.fee_ocur_time.0.to_string(),
            })
            .collect())
    }

    /// 2302: undoes uploaded lines by serial number (all of them when `sns` is empty); a
    /// line's refunds go with it. Returns how many lines were undone.
    pub async fn undo_fees(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        sns: &[String],
    ) -> Result<u64, StoreError> {
        let visit = self.visit_of(w, institution_id, mdtrt_id).await?;
        require_open(&visit, "撤销费用明细", "fee lines cannot be undone")?;
        let existing = self.fee_lines(w, visit.id).await?;
        let targets: Vec<&StoredFee> = if sns.is_empty() {
            existing.iter().collect()
        } else {
            let missing: Vec<&String> = sns.iter().filter(|s| !existing.iter().any(|e| &e.feedetl_sn == *s)).collect();
            if let Some(sn) = missing.first() {
                return Err(refuse(
                    "feedetl_sn",
                    format!("费用明细 {sn} 未上传或已撤销"),
                    format!("fee line {sn} was not uploaded or is already undone"),
                ));
            }
            existing
                .iter()
                .filter(|e| {
                    sns.contains(&e.feedetl_sn) || e.init_feedetl_sn.as_ref().is_some_and(|init| sns.contains(init))
                })
                .collect()
        };
        bump_visit(w, &visit).await?;
        let mut undone = 0;
        for fee in &targets {
            undone += sqlx::query(
                "UPDATE fee_lines SET status = 'undone' WHERE visit_id = $1 AND feedetl_sn = $2 AND status = 'active'",
            )
            .bind(visit.id)
            .bind(fee.feedetl_sn.clone())
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        }
        let undone_sns: Vec<&str> = targets.iter().map(|f| f.feedetl_sn.as_str()).collect();
        w.record::<(), _>("visit.undo_fees", "visit", &visit.id.to_string(), None, Some(&undone_sns)).await?;
        Ok(undone)
    }

    /// 2402: discharges an admitted inpatient visit at `endtime`, with the discharge
    /// diagnoses (they replace the admission's when given).
    pub async fn discharge_visit(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        endtime: chrono::NaiveDateTime,
        dscg_way: &str,
        diagnoses: &[crate::Diagnosis],
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution_id, mdtrt_id).await?;
        if before.status != VisitStatus::Admitted {
            return Err(refuse(
                "not_admitted",
                format!("就诊 {mdtrt_id} 状态为{}，不能办理出院", before.status.label().zh),
                format!("visit {mdtrt_id} is {}; it cannot be discharged", before.status.label().en),
            ));
        }
        let end = endtime.format("%Y-%m-%d %H:%M:%S").to_string();
        if end < before.begntime {
            return Err(refuse(
                "endtime",
                format!("出院时间 {end} 早于入院时间 {}", before.begntime),
                format!("discharge {end} is before the admission {}", before.begntime),
            ));
        }
        let diagnoses = if diagnoses.is_empty() { before.diagnoses.clone() } else { diagnoses.to_vec() };
        let discharged = Visit {
            status: VisitStatus::Discharged,
            endtime: Some(end),
            dscg_way: Some(dscg_way.to_string()),
            diagnoses,
            ..before.clone()
        };
        let after = self.save_visit_state(w, &before, &discharged).await?;
        w.record("visit.discharge", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// 2405: undoes a discharge that has not been settled.
    pub async fn undo_discharge(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution_id, mdtrt_id).await?;
        if before.status != VisitStatus::Discharged {
            return Err(refuse(
                "not_discharged",
                format!("就诊 {mdtrt_id} 状态为{}，不能撤销出院", before.status.label().zh),
                format!("visit {mdtrt_id} is {}; its discharge cannot be undone", before.status.label().en),
            ));
        }
        let admitted = Visit { status: VisitStatus::Admitted, endtime: None, dscg_way: None, ..before.clone() };
        let after = self.save_visit_state(w, &before, &admitted).await?;
        w.record("visit.undo_discharge", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }
}
