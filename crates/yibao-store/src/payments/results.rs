//! The bank's answer: its result file imported against an exported batch, and the books
//! reconciled with the orders.

use super::*;

impl Store {
    /// Imports the bank's result file for an exported batch, all of it or nothing: every
    /// line must match its batch line (number, order, amount). A line whose result is
    /// already recorded is skipped if the same and refused if different, so the same file
    /// imported twice changes nothing. Paid orders are paid; failed ones wait for the
    /// claimant to correct the account.
    pub async fn import_bank_results(&self, w: &mut WriteTx, data: &[u8]) -> Result<ImportSummary, StoreError> {
        let file = ResultFile::parse(data).map_err(|errors| {
            let (zh, en): (Vec<String>, Vec<String>) = errors
                .iter()
                .map(|e| (format!("第 {} 行：{}", e.line, e.message.zh), format!("line {}: {}", e.line, e.message.en)))
                .unzip();
            refuse(
                "result_file",
                format!("回盘文件有误：{}", zh.join("；")),
                format!("bad result file: {}", en.join("; ")),
            )
        })?;
        let row = sqlx::query(&format!("SELECT {BATCH_COLS} FROM payment_batches WHERE number = $1"))
            .bind(&file.batch_no)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| {
                refuse(
                    "unknown_batch",
                    format!("回盘文件的批次号 {} 不存在", file.batch_no),
                    format!("the result file's batch {} does not exist", file.batch_no),
                )
            })?;
        let batch = batch_from_row(&row)?;
        if !matches!(batch.state, BatchState::Exported | BatchState::Closed) {
            return Err(refuse(
                "not_exported",
                format!("批次 {} 尚未导出，不能导入回盘", batch.number),
                format!("batch {} has not been exported; no result can be imported", batch.number),
            ));
        }
        let items = self.items_in(w, batch.id).await?;
        let mut summary = ImportSummary {
            batch_id: batch.id,
            batch_no: batch.number.clone(),
            paid: 0,
            failed: 0,
            already: 0,
            closed: false,
        };
        for r in &file.results {
            let Some(item) = items.iter().find(|i| i.seq == r.seq) else {
                return Err(refuse(
                    "unknown_line",
                    format!("批次 {} 没有序号 {}", batch.number, r.seq),
                    format!("batch {} has no line {}", batch.number, r.seq),
                ));
            };
            if item.order_no != r.order_no || item.amount != r.amount {
                return Err(refuse(
                    "mismatch",
                    format!(
                        "序号 {} 与批次不符：批次为 {} {} 元，回盘为 {} {} 元",
                        r.seq,
                        item.order_no,
                        item.amount.to_plain(),
                        r.order_no,
                        r.amount.to_plain()
                    ),
                    format!(
                        "line {} does not match the batch: {} {} in the batch, {} {} in the result",
                        r.seq,
                        item.order_no,
                        item.amount.to_plain(),
                        r.order_no,
                        r.amount.to_plain()
                    ),
                ));
            }
            let paid = r.failure.is_none();
            if let Some(was) = item.paid {
                if was != paid {
                    return Err(refuse(
                        "conflict",
                        format!(
                            "序号 {}（{}）已记为{}，回盘文件与之矛盾",
                            r.seq,
                            item.order_no,
                            if was { "成功" } else { "失败" }
                        ),
                        format!(
                            "line {} ({}) is already recorded as {}; the file contradicts it",
                            r.seq,
                            item.order_no,
                            if was { "paid" } else { "failed" }
                        ),
                    ));
                }
                summary.already += 1;
                continue;
            }
            let day = r.processed_on;
            let code = r.failure.as_ref().map(|(c, _)| c.code().to_string());
            let note = r.failure.as_ref().map(|(_, n)| n.clone());
            let done = sqlx::query(
                "UPDATE payment_batch_items SET result = $1, result_on = $2, failure_code = $3, failure_note = $4 \
                 WHERE batch_id = $5 AND seq = $6 AND result IS NULL",
            )
            .bind(if paid { "paid" } else { "failed" })
            .bind(day.to_string())
            .bind(code.clone())
            .bind(note.clone())
            .bind(batch.id)
            .bind(r.seq)
            .execute(&mut *w.tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Stale("payment batch line"));
            }
            let order = self.order_in(w, item.order_id).await?;
            if paid {
                move_order(w, &order, OrderAction::Paid, ", paid_on = $1", &[Some(day.to_string())]).await?;
                self.book_payment(w, &order).await?;
                summary.paid += 1;
            } else {
                move_order(w, &order, OrderAction::Fail, ", failure_code = $1, failure_note = $2", &[code, note])
                    .await?;
                summary.failed += 1;
            }
            let after = self.order_in(w, item.order_id).await?;
            if let Some(person) = after.person_id {
                let (amount, card) =
                    (after.amount.to_grouped(), after.bank_card.as_ref().map(|c| c.masked()).unwrap_or_default());
                let text = if paid {
                    yibao_core::Text::new(
                        format!("{} {amount} 元已于 {day} 支付至银行卡 {card}。", after.subject_number),
                        format!("{}: {amount} yuan was paid on {day} to the card {card}.", after.subject_number),
                    )
                } else {
                    let why = after.failure_note.clone().unwrap_or_default();
                    yibao_core::Text::new(
                        format!("{} {amount} 元支付未成功（{why}）。请登录核对并更正收款账户。", after.subject_number),
                        format!(
                            "{}: paying {amount} yuan failed ({why}). Log in to check and correct the account.",
                            after.subject_number
                        ),
                    )
                };
                let link = after.claim_id.map(|c| format!("/claims/{c}"));
                let kind = if paid { "payment_paid" } else { "payment_failed" };
                self.tell(w, person, kind, &text, link.as_deref()).await?;
            }
            let action = if paid { "payment.paid" } else { "payment.failed" };
            w.record(action, "payment_order", &order.id.to_string(), Some(&order), Some(&after)).await?;
        }
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM payment_batch_items WHERE batch_id = $1 AND result IS NULL")
                .bind(batch.id)
                .fetch_one(&mut *w.tx)
                .await?;
        if open == 0 && batch.state == BatchState::Exported {
            move_batch(w, &batch, BatchAction::Close, "", &[]).await?;
        }
        summary.closed = open == 0;
        let sha = hex::encode(Sha256::digest(data));
        sqlx::query(
            "INSERT INTO bank_result_files (batch_id, sha256, paid, failed, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_id, sha256) DO NOTHING",
        )
        .bind(batch.id)
        .bind(sha)
        .bind(summary.paid)
        .bind(summary.failed)
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await?;
        w.record("payment.results", "payment_batch", &batch.id.to_string(), None::<&()>, Some(&summary)).await?;
        Ok(summary)
    }

    /// A paid order's entry: what was owed leaves the fund's bank — a claim's from the
    /// person's fund, a withdrawal's from the accounts' fund, a clearing's from each fund
    /// by its share.
    async fn book_payment(&self, w: &mut WriteTx, order: &super::PaymentOrder) -> Result<(), StoreError> {
        use yibao_core::books::{Account, Entry, Fund};
        let mut entry = Entry::new("payment", order.number.clone());
        match order.subject() {
            Subject::Clearing(id) => {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT fund, net FROM clearing_funds WHERE clearing_id = $1 ORDER BY fund")
                        .bind(id)
                        .fetch_all(&mut *w.tx)
                        .await?;
                for (fund, net) in rows {
                    let fund = Fund::parse(&fund).map_err(|e| corrupt("clearing_funds.fund", e))?;
                    entry = entry.transfer(fund, Account::PayableInstitutions, Account::Bank, Fen::from_fen(net));
                }
            }
            _ => {
                let fund: Option<String> = sqlx::query_scalar("SELECT fund FROM payment_orders WHERE id = $1")
                    .bind(order.id)
                    .fetch_one(&mut *w.tx)
                    .await?;
                let fund = fund.ok_or_else(|| corrupt("payment_orders.fund", order.id))?;
                let fund = Fund::parse(&fund).map_err(|e| corrupt("payment_orders.fund", e))?;
                entry = entry.transfer(fund, Account::PayablePersons, Account::Bank, order.amount);
            }
        }
        crate::books::post(w, &entry).await
    }

    /// Reads the books (approved claims, withdrawals and clearings, orders, batches, bank results) and
    /// reconciles them.
    pub async fn reconcile_payments(&self) -> Result<Reconciliation, StoreError> {
        let mut books = Books::default();
        let rows = sqlx::query(
            "SELECT id, fund_pay_sumamt FROM claims WHERE state IN ('approved', 'reduced') AND fund_pay_sumamt > 0",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for r in &rows {
            books.approved.insert(Subject::Claim(r.try_get(0)?), Fen::from_fen(r.try_get(1)?));
        }
        let rows = sqlx::query("SELECT id, amount FROM account_withdrawals WHERE state = 'approved'")
            .fetch_all(&self.db.pool)
            .await?;
        for r in &rows {
            books.approved.insert(Subject::Withdrawal(r.try_get(0)?), Fen::from_fen(r.try_get(1)?));
        }
        let rows = sqlx::query("SELECT id, net FROM clearings WHERE state = 'approved' AND net > 0")
            .fetch_all(&self.db.pool)
            .await?;
        for r in &rows {
            books.approved.insert(Subject::Clearing(r.try_get(0)?), Fen::from_fen(r.try_get(1)?));
        }
        let rows =
            sqlx::query("SELECT id, number, claim_id, amount, state, withdrawal_id, clearing_id FROM payment_orders")
                .fetch_all(&self.db.pool)
                .await?;
        for r in &rows {
            books.orders.push(OrderFigures {
                id: r.try_get(0)?,
                order_no: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                subject: subject_of(r.try_get(2)?, r.try_get(5)?, r.try_get(6)?),
                amount: Fen::from_fen(r.try_get(3)?),
                state: OrderState::parse(&r.try_get::<String, _>(4)?)
                    .map_err(|e| corrupt("payment_orders.state", e))?,
            });
        }
        let rows =
            sqlx::query("SELECT id, number, state, count, total FROM payment_batches").fetch_all(&self.db.pool).await?;
        for r in &rows {
            books.batches.push(BatchFigures {
                id: r.try_get(0)?,
                batch_no: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                state: BatchState::parse(&r.try_get::<String, _>(2)?)
                    .map_err(|e| corrupt("payment_batches.state", e))?,
                count: r.try_get(3)?,
                total: Fen::from_fen(r.try_get(4)?),
            });
        }
        let rows = sqlx::query("SELECT batch_id, order_id, amount, result FROM payment_batch_items")
            .fetch_all(&self.db.pool)
            .await?;
        for r in &rows {
            let result: Option<String> = r.try_get(3)?;
            books.items.push(ItemFigures {
                batch_id: r.try_get(0)?,
                order_id: r.try_get(1)?,
                amount: Fen::from_fen(r.try_get(2)?),
                paid: result.map(|r| r == "paid"),
            });
        }
        Ok(reconcile(&books))
    }
}
