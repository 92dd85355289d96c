//! Online payment (网上缴费) of flexible workers and residents: an order for what is due, paid
//! through a payment gateway. Only the gateway's verified notification marks an order paid —
//! never the browser coming back — and each notification is kept with its outcome: one
//! arriving twice, late, for an unknown order or with another amount changes nothing.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sqlx::Row;
use yibao_core::contribution::flexible_start;
use yibao_core::contribution::months::YearMonth;
use yibao_core::registry::Enrolment;
use yibao_core::{Fen, Text};

use super::{refuse, rules_on};
use crate::db::query::corrupt;
use crate::{Person, Store, StoreError, WriteTx};

/// What a person pays online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnlineOrder {
    pub order_no: String,
    pub person_id: i64,
    pub person_name: String,
    /// `flexible` or `resident`.
    pub kind: String,
    /// The months bought (a flexible worker's).
    pub months: Vec<YearMonth>,
    /// The year bought (a resident's).
    pub year: Option<i32>,
    pub base: Fen,
    pub amount: Fen,
    /// The government's part beside a resident's own (not paid by the person).
    pub subsidy: Fen,
    pub gateway: String,
    /// `pending`, `paid` or `closed` (a later order replaced it).
    pub state: String,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub gateway_txn: Option<String>,
    /// The key of the payer's receipt link.
    #[serde(skip)]
    pub view_key: String,
    /// Where cover waits after this payment (a first payment, one after an interruption, a
    /// resident's after the collection period): the first day covered. Known when the order
    /// is priced, not stored.
    #[serde(skip)]
    pub waits_until: Option<NaiveDate>,
}

/// What a person may pay now: a flexible worker's months, or a resident's year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purchase {
    /// `months` months from the first one due, at the base of `percent` of the average wage.
    Flexible { percent: u32, months: u32 },
    /// The year due: the next one in its collection period, else this one if unpaid.
    Resident,
}

/// A gateway's verified notification of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayNotice {
    /// The gateway's id of this notification (processed once).
    pub id: String,
    pub order_no: String,
    pub amount: Fen,
    /// The gateway's transaction.
    pub txn: String,
    pub success: bool,
}

/// What became of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeOutcome {
    /// The order is paid now.
    Paid,
    /// This notification was processed before.
    Duplicate,
    UnknownOrder,
    AmountMismatch,
    /// The gateway says the payment failed: the order stays pending.
    Failed,
    AlreadyPaid,
    /// What it bought was paid by another order meanwhile: to be refunded.
    PaidElsewhere,
}

impl NoticeOutcome {
    fn code(self) -> &'static str {
        match self {
            NoticeOutcome::Paid => "paid",
            NoticeOutcome::Duplicate => "duplicate",
            NoticeOutcome::UnknownOrder => "unknown_order",
            NoticeOutcome::AmountMismatch => "amount_mismatch",
            NoticeOutcome::Failed => "failed",
            NoticeOutcome::AlreadyPaid => "already_paid",
            NoticeOutcome::PaidElsewhere => "paid_elsewhere",
        }
    }
}

const ORDER_COLS: &str = "o.order_no, o.person_id, p.name, o.kind, o.months, o.year, o.base, o.amount, o.subsidy, \
    o.gateway, o.state, o.created_at, o.paid_at, o.gateway_txn, o.view_key";

fn order_from_row(r: &sqlx::any::AnyRow) -> Result<OnlineOrder, StoreError> {
    let months: String = r.try_get(4)?;
    let months: Vec<String> = serde_json::from_str(&months).map_err(|e| corrupt("online_orders.months", e))?;
    Ok(OnlineOrder {
        order_no: r.try_get(0)?,
        person_id: r.try_get(1)?,
        person_name: r.try_get(2)?,
        kind: r.try_get(3)?,
        months: months
            .iter()
            .map(|m| m.parse().map_err(|_| corrupt("online_orders.months", m)))
            .collect::<Result<_, _>>()?,
        year: r.try_get::<Option<i64>, _>(5)?.map(|y| y as i32),
        base: Fen::from_fen(r.try_get(6)?),
        amount: Fen::from_fen(r.try_get(7)?),
        subsidy: Fen::from_fen(r.try_get(8)?),
        gateway: r.try_get(9)?,
        state: r.try_get(10)?,
        created_at: r.try_get(11)?,
        paid_at: r.try_get(12)?,
        gateway_txn: r.try_get(13)?,
        view_key: r.try_get(14)?,
        waits_until: None,
    })
}

impl Store {
    /// What `person` would pay now for `purchase` (an unsaved order), under the rules of the
    /// person's pooling region: refused, with why, for someone who does not pay online
    /// (employees pay through their unit; retirees pay nothing), a base not offered, or nothing
    /// due.
    pub async fn payment_due(
        &self,
        person: &Person,
        purchase: &Purchase,
        today: NaiveDate,
    ) -> Result<OnlineOrder, StoreError> {
        let mut conn = self.read_conn().await?;
        due_on(&mut conn, person, purchase, today).await
    }

    /// Creates the order for what `person` pays now through `gateway`; a pending order of
    /// the person's is closed (one payment page at a time).
    pub async fn create_online_order(
        &self,
        w: &mut WriteTx,
        person: &Person,
        purchase: &Purchase,
        gateway: &str,
        today: NaiveDate,
    ) -> Result<OnlineOrder, StoreError> {
        let due = due_on(&mut w.tx, person, purchase, today).await?;
        sqlx::query("UPDATE online_orders SET state = 'closed' WHERE person_id = $1 AND state = 'pending'")
            .bind(person.id)
            .execute(&mut *w.tx)
            .await?;
        let months: Vec<String> = due.months.iter().map(ToString::to_string).collect();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO online_orders (order_no, person_id, kind, months, year, base, amount, subsidy, gateway, state, \
             created_at, view_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) RETURNING id",
        )
        .bind(format!("PENDING-{}-{}", person.id, w.at()))
        .bind(person.id)
        .bind(due.kind.clone())
        .bind(serde_json::to_string(&months).map_err(|e| corrupt("months", e))?)
        .bind(due.year.map(i64::from))
        .bind(due.base.fen())
        .bind(due.amount.fen())
        .bind(due.subsidy.fen())
        .bind(gateway.to_string())
        .bind(w.at().to_string())
        .bind({
            let mut key = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
            hex::encode(key)
        })
        .fetch_one(&mut *w.tx)
        .await?;
        // The order's number: the day and the row, unique by the row.
        let order_no = format!("YB{}{:08}", today.format("%Y%m%d"), id);
        sqlx::query("UPDATE online_orders SET order_no = $1 WHERE id = $2")
            .bind(order_no.clone())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let order = order_in(&mut w.tx, &order_no).await?;
        w.record::<(), OnlineOrder>("online_order.create", "online_order", &order_no, None, Some(&order)).await?;
        Ok(order)
    }

    /// Processes a gateway's verified notification: the order paid once, at its amount, its
    /// months or year paid on `today`; anything else changes nothing but is kept with its
    /// outcome (and in the audit log).
    pub async fn process_payment_notice(
        &self,
        w: &mut WriteTx,
        gateway: &str,
        notice: &GatewayNotice,
        today: NaiveDate,
    ) -> Result<NoticeOutcome, StoreError> {
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT id FROM online_payment_notices WHERE gateway = $1 AND notification_id = $2")
                .bind(gateway.to_string())
                .bind(notice.id.clone())
                .fetch_optional(&mut *w.tx)
                .await?;
        if seen.is_some() {
            w.record::<(), _>(
                "online_order.duplicate_notice",
                "online_order",
                &notice.order_no,
                None,
                Some(&notice.id),
            )
            .await?;
            return Ok(NoticeOutcome::Duplicate);
        }
        let order = match order_in(&mut w.tx, &notice.order_no).await {
            Ok(o) if o.gateway == gateway => Some(o),
            Ok(_) | Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let outcome = match &order {
            None => NoticeOutcome::UnknownOrder,
            Some(o) if o.amount != notice.amount => NoticeOutcome::AmountMismatch,
            Some(_) if !notice.success => NoticeOutcome::Failed,
            Some(o) if o.state == "paid" => NoticeOutcome::AlreadyPaid,
            Some(o) => self.mark_paid(w, o, &notice.txn, today).await?,
        };
        if let (NoticeOutcome::PaidElsewhere, Some(o)) = (outcome, &order) {
            sqlx::query("UPDATE online_orders SET state = 'refund_due', gateway_txn = $1 WHERE order_no = $2")
                .bind(notice.txn.clone())
                .bind(o.order_no.clone())
                .execute(&mut *w.tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO online_payment_notices (gateway, notification_id, order_no, amount, outcome, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(gateway.to_string())
        .bind(notice.id.clone())
        .bind(notice.order_no.clone())
        .bind(notice.amount.fen())
        .bind(outcome.code())
        .bind(w.at().to_string())
        .execute(&mut *w.tx)
        .await?;
        let summary = serde_json::json!({
            "gateway": gateway, "notification": notice.id, "amount": notice.amount, "txn": notice.txn,
            "outcome": outcome,
        });
        w.record::<(), _>("online_order.notice", "online_order", &notice.order_no, None, Some(&summary)).await?;
        Ok(outcome)
    }

    async fn mark_paid(
        &self,
        w: &mut WriteTx,
        order: &OnlineOrder,
        txn: &str,
        today: NaiveDate,
    ) -> Result<NoticeOutcome, StoreError> {
        // What it buys must still be unpaid (a closed order's money may arrive after another
        // order paid the same months: that one is refunded, not counted twice).
        let recorded = if order.kind == "flexible" {
            let monthly = Fen::from_fen(order.amount.fen() / order.months.len().max(1) as i64);
            super::receipts::insert_months(
                w,
                order.person_id,
                &order.months,
                order.base,
                monthly,
                today,
                &order.order_no,
            )
            .await?
        } else {
            let year = order.year.ok_or_else(|| corrupt("online_orders.year", "missing"))?;
            let category: String = sqlx::query_scalar("SELECT category FROM persons WHERE id = $1")
                .bind(order.person_id)
                .fetch_one(&mut *w.tx)
                .await?;
            super::receipts::insert_year(
                w,
                order.person_id,
                year,
                &category,
                order.amount,
                order.subsidy,
                today,
                &order.order_no,
            )
            .await?
        };
        if !recorded {
            return Ok(NoticeOutcome::PaidElsewhere);
        }
        sqlx::query(
            "UPDATE online_orders SET state = 'paid', paid_at = $1, gateway_txn = $2 WHERE order_no = $3 \
             AND state <> 'paid'",
        )
        .bind(w.at().to_string())
        .bind(txn.to_string())
        .bind(order.order_no.clone())
        .execute(&mut *w.tx)
        .await?;
        Ok(NoticeOutcome::Paid)
    }

    /// An order by its number.
    pub async fn online_order(&self, order_no: &str) -> Result<OnlineOrder, StoreError> {
        order_in(&mut self.read_conn().await?, order_no).await
    }

    /// A person's orders, the newest first.
    pub async fn online_orders_of(&self, person_id: i64) -> Result<Vec<OnlineOrder>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLS} FROM online_orders o JOIN persons p ON p.id = o.person_id WHERE o.person_id = $1 \
             ORDER BY o.id DESC"
        ))
        .bind(person_id)
        .fetch_all(&mut self.read_conn().await?)
        .await?;
        rows.iter().map(order_from_row).collect()
    }

    /// The year a resident has paid, when and how much, if they have.
    pub async fn resident_paid(&self, person_id: i64, year: i32) -> Result<Option<(NaiveDate, Fen)>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT paid_on, personal FROM resident_contributions WHERE person_id = $1 AND year = $2")
                .bind(person_id)
                .bind(i64::from(year))
                .fetch_optional(&mut self.read_conn().await?)
                .await?;
        row.map(|(d, p)| Ok((d.parse().map_err(|_| corrupt("resident_contributions.paid_on", &d))?, Fen::from_fen(p))))
            .transpose()
    }
}

async fn order_in(conn: &mut crate::db::Conn, order_no: &str) -> Result<OnlineOrder, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLS} FROM online_orders o JOIN persons p ON p.id = o.person_id WHERE o.order_no = $1"
    ))
    .bind(order_no.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("payment order"))?;
    order_from_row(&row)
}

fn nothing_due(zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    refuse("nothing_due", zh, en)
}

/// What `person` owes now for `purchase`, as an unsaved order (number and times empty).
async fn due_on(
    conn: &mut crate::db::Conn,
    person: &Person,
    purchase: &Purchase,
    today: NaiveDate,
) -> Result<OnlineOrder, StoreError> {
    let blank = OnlineOrder {
        order_no: String::new(),
        person_id: person.id,
        person_name: person.name.to_string(),
        kind: String::new(),
        months: Vec::new(),
        year: None,
        base: Fen::ZERO,
        amount: Fen::ZERO,
        subsidy: Fen::ZERO,
        gateway: String::new(),
        state: "pending".into(),
        created_at: String::new(),
        paid_at: None,
        gateway_txn: None,
        view_key: String::new(),
        waits_until: None,
    };
    match (person.enrolment, purchase) {
        (Enrolment::FlexibleEmployment, Purchase::Flexible { percent, months }) => {
            if person.category == yibao_core::registry::PersonCategory::Retired {
                return Err(nothing_due("退休人员不再缴纳医疗保险费", "a retired person pays no contributions"));
            }
            let rules = rules_on(&mut *conn, person.insured_region, today.year()).await?.ok_or_else(|| {
                nothing_due("本年度缴费标准尚未公布", "this year's contribution rules are not published yet")
            })?;
            let last: Option<String> =
                sqlx::query_scalar("SELECT MAX(month) FROM contribution_months WHERE person_id = $1")
                    .bind(person.id)
                    .fetch_one(&mut *conn)
                    .await?;
            let last = last
                .map(|m| m.parse::<YearMonth>().map_err(|_| corrupt("contribution_months.month", &m)))
                .transpose()?;
            let this_month = YearMonth::of(today);
            let start = flexible_start(rules.arrears.grace_months, last, this_month);
            let wait = match last {
                None => rules.flexible.first_waiting_days,
                // Back after a gap longer than the grace: paying starts again this month.
                Some(l) if l.plus(1) < start => rules.arrears.waiting_days,
                Some(_) => 0,
            };
            let waits_until = (wait > 0).then(|| today + chrono::Duration::days(i64::from(wait)));
            if let Some(l) = last.filter(|_| start.year > today.year()) {
                return Err(nothing_due(
                    format!("已缴至 {l}，本年度无需再缴；下一年度的缴费在该年度开始后办理"),
                    format!("paid up to {l}: nothing more is due this year; next year's is paid once it begins"),
                ));
            }
            let due = rules.flexible_due(*percent, start, *months).ok_or_else(|| {
                let bases: Vec<String> = rules.flexible.base_percents.iter().map(|p| format!("{p}%")).collect();
                nothing_due(
                    format!("没有可缴的月份或档次（可选缴费基数：{}）", bases.join("、")),
                    format!(
                        "nothing to pay at that base (choose one of {}) or no month left this year",
                        bases.join(", ")
                    ),
                )
            })?;
            Ok(OnlineOrder {
                kind: "flexible".into(),
                months: due.months,
                base: due.base,
                amount: due.amount,
                waits_until,
                ..blank
            })
        }
        (Enrolment::Resident, Purchase::Resident) => {
            // The next year in its collection period, else this year if it is unpaid.
            for year in [today.year() + 1, today.year()] {
                let Some(rules) = rules_on(&mut *conn, person.insured_region, year).await? else { continue };
                let open = year == today.year()
                    || (rules.resident.collection_from..=rules.resident.collection_to).contains(&today);
                let paid: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM resident_contributions WHERE person_id = $1 AND year = $2")
                        .bind(person.id)
                        .bind(i64::from(year))
                        .fetch_optional(&mut *conn)
                        .await?;
                if !open || paid.is_some() {
                    continue;
                }
                let amount = rules.resident_amount(person.category).ok_or_else(|| {
                    nothing_due("该人员类别没有居民缴费标准", "the rules have no amount for this category")
                })?;
                let late = today > rules.resident.collection_to;
                let waits_until =
                    late.then(|| today + chrono::Duration::days(i64::from(rules.resident.late_waiting_days)));
                return Ok(OnlineOrder {
                    kind: "resident".into(),
                    year: Some(year),
                    amount: amount.personal,
                    subsidy: amount.subsidy,
                    waits_until,
                    ..blank
                });
            }
            Err(nothing_due(
                "本年度已缴费，下一年度尚未开始征缴",
                "this year is paid and next year's collection has not begun",
            ))
        }
        (Enrolment::UnitEmployee, _) => Err(refuse(
            "through_unit",
            "单位职工由单位申报缴纳，无需个人网上缴费",
            "an employee of a unit pays through the unit",
        )),
        _ => Err(refuse(
            "wrong_kind",
            "请选择与参保身份相符的缴费项目",
            "choose the payment that fits how the person is insured",
        )),
    }
}

impl OnlineOrder {
    /// What the order buys, in both languages.
    pub fn buys(&self) -> Text {
        match (self.kind.as_str(), self.year, self.months.first(), self.months.last()) {
            ("resident", Some(y), _, _) => {
                Text::new(format!("{y} 年度城乡居民医保待遇"), format!("the resident scheme's cover for {y}"))
            }
            (_, _, Some(a), Some(b)) if a == b => {
                Text::new(format!("{a} 职工医保（灵活就业）"), format!("{a} of the employee scheme"))
            }
            (_, _, Some(a), Some(b)) => Text::new(
                format!("{a} 至 {b} 共 {} 个月职工医保（灵活就业）", self.months.len()),
                format!("{} months of the employee scheme, {a} to {b}", self.months.len()),
            ),
            _ => Text::new("", ""),
        }
    }
}
