//! Payment to bank cards: orders, batches, the bank's files and reconciliation (see
//! `yibao_core::payment` for the steps and formats, and migration 0012 for what the schema
//! guarantees). Money leaves exactly once because each step is one audited transaction that
//! checks the state it starts from: an order is created in the transaction that approves its
//! claim (one per claim), is put in one live batch per attempt, and a bank line's result is
//! written once.

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::payment::{
    due_date, reconcile, BankFailure, BankFormat, BatchAction, BatchFigures, BatchFile, BatchLine, BatchState, Books,
    ItemFigures, OrderAction, OrderFigures, OrderState, Reconciliation, ResultFile, Subject,
};
use yibao_core::sporadic::{ClaimState, Submitter};
use yibao_core::{AdminCode, BankCardNumber, Fen, InvalidValue, Scope};

use crate::claims::StoredClaim;
use crate::db::query::{corrupt, date_from, region_from, Arg, Sql};
use crate::registry::{fetch_employer, fetch_person};
use crate::{Store, StoreError, WriteTx};

mod registered;
mod results;

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("payment", code, zh, en))
}

/// Who an order pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    Insured,
    Employer,
    /// The heir of a person who died (an account's withdrawal).
    Heir,
    /// A designated institution, for its clearing.
    Institution,
}

impl Payee {
    fn code(self) -> &'static str {
        match self {
            Payee::Insured => "insured",
            Payee::Employer => "employer",
            Payee::Heir => "heir",
            Payee::Institution => "institution",
        }
    }

    fn parse(s: &str) -> Payee {
        match s {
            "employer" => Payee::Employer,
            "heir" => Payee::Heir,
            "institution" => Payee::Institution,
            _ => Payee::Insured,
        }
    }
}

/// A payment to a bank account: of an approved claim, of an approved withdrawal from an
/// individual account, or of an approved clearing to a designated institution. Its serialised form (what the audit log keeps) holds card numbers
/// masked, with a digest to compare them by.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentOrder {
    pub id: i64,
    pub number: String,
    pub claim_id: Option<i64>,
    pub withdrawal_id: Option<i64>,
    pub clearing_id: Option<i64>,
    /// The number of what it pays: the claim's, the withdrawal's or the clearing's.
    pub subject_number: String,
    /// Whose money it is: an insured person's, or (a clearing) an institution's.
    pub person_id: Option<i64>,
    pub institution_id: Option<i64>,
    /// The person's or the institution's name.
    pub person_name: String,
    pub region: AdminCode,
    pub payee: Payee,
    pub account_name: String,
    pub bank_name: Option<String>,
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub bank_card: Option<BankCardNumber>,
    pub amount: Fen,
    pub state: OrderState,
    pub attempt: i64,
    pub approved_on: NaiveDate,
    pub due_on: NaiveDate,
    /// The due date counted a year whose holidays are not published yet.
    pub due_provisional: bool,
    pub paid_on: Option<NaiveDate>,
    pub failure: Option<BankFailure>,
    pub failure_note: Option<String>,
    pub version: i64,
    /// The account the order was approved with.
    pub approved_bank_name: Option<String>,
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub approved_bank_card: Option<BankCardNumber>,
    /// The member of staff who gave the account, while nobody has confirmed it: the order
    /// is not batched until another person (or the claimant) does.
    pub account_unconfirmed_by: Option<String>,
}

impl PaymentOrder {
    /// What the order pays.
    pub fn subject(&self) -> Subject {
        subject_of(self.claim_id, self.withdrawal_id, self.clearing_id)
    }

    /// Whether the money now goes to another account than the one the order was approved
    /// with (or to one given since, when it was approved with none).
    pub fn account_changed(&self) -> bool {
        self.bank_card != self.approved_bank_card
    }
}

/// A payment order to store: what it pays, to whom, how much.
pub(crate) struct NewOrder {
    pub subject: Subject,
    /// The person whose money it is, or the institution a clearing pays.
    pub person_id: Option<i64>,
    pub institution_id: Option<i64>,
    /// The insured person's (or the institution's) region: batches are built by region.
    pub region: AdminCode,
    pub payee: Payee,
    pub account_name: String,
    pub bank_name: Option<String>,
    pub bank_card: Option<String>,
    /// The account confirmed when the order is approved (name, card).
    pub approved: (Option<String>, Option<String>),
    /// Staff who gave an account nobody confirmed yet.
    pub unconfirmed_by: Option<String>,
    pub amount: Fen,
    /// The fund it is paid from (none for a clearing's: each fund by its share).
    pub fund: Option<yibao_core::books::Fund>,
}

/// Who gives a payment order its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountGiver {
    /// The claimant (or the employer unit, for its own account): it takes effect at once.
    Claimant,
    /// A member of staff (by username): another person must confirm it.
    Staff(String),
}

/// A batch of orders for one region, as finance built it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentBatch {
    pub id: i64,
    pub number: String,
    pub region: AdminCode,
    pub up_to: NaiveDate,
    pub state: BatchState,
    /// The bank file's format.
    pub format: BankFormat,
    pub count: i64,
    pub total: Fen,
    pub built_by: String,
    pub built_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub exported_by: Option<String>,
    pub exported_at: Option<String>,
    pub exports: i64,
    pub version: i64,
}

/// One line of a batch, with the bank's result once it is in.
#[derive(Debug, Clone, Serialize)]
pub struct BatchItem {
    pub seq: i64,
    pub order_id: i64,
    pub order_no: String,
    pub claim_id: Option<i64>,
    pub withdrawal_id: Option<i64>,
    pub clearing_id: Option<i64>,
    pub account_name: String,
    pub bank_name: String,
    pub bank_card: String,
    pub amount: Fen,
    /// `Some(true)` paid, `Some(false)` failed, `None` waiting for the bank.
    pub paid: Option<bool>,
    pub result_on: Option<NaiveDate>,
    pub failure: Option<BankFailure>,
    pub failure_note: Option<String>,
    /// The card the order was approved with: finance sees every line paid elsewhere.
    #[serde(skip)]
    pub approved_bank_card: Option<String>,
}

/// What an order with these columns pays.
fn subject_of(claim_id: Option<i64>, withdrawal_id: Option<i64>, clearing_id: Option<i64>) -> Subject {
    match (claim_id, withdrawal_id, clearing_id) {
        (Some(id), _, _) => Subject::Claim(id),
        (None, Some(id), _) => Subject::Withdrawal(id),
        (None, None, id) => Subject::Clearing(id.unwrap_or_default()),
    }
}

impl BatchItem {
    /// What the line's order pays.
    pub fn subject(&self) -> Subject {
        subject_of(self.claim_id, self.withdrawal_id, self.clearing_id)
    }

    /// Whether this line pays another card than the one its order was approved with.
    pub fn account_changed(&self) -> bool {
        self.approved_bank_card.as_deref() != Some(self.bank_card.as_str())
    }
}

/// What importing a result file did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub batch_id: i64,
    pub batch_no: String,
    pub paid: i64,
    pub failed: i64,
    /// Lines whose result was already recorded (the same file, or an overlapping one).
    pub already: i64,
    /// Every line of the batch now has its result.
    pub closed: bool,
}

const ORDER_COLS: &str =
    "o.id, o.number, o.claim_id, COALESCE(c.number, wd.number, cl.number), o.person_id, COALESCE(p.name, inst.name), \
     o.region, o.payee, o.account_name, o.bank_name, o.bank_card, o.amount, o.state, o.attempt, o.approved_on, \
     o.due_on, o.due_provisional, o.paid_on, o.failure_code, o.failure_note, o.version, o.approved_bank_name, \
     o.approved_bank_card, o.account_unconfirmed_by, o.withdrawal_id, o.clearing_id, o.institution_id";
const ORDER_FROM: &str = "payment_orders o LEFT JOIN claims c ON c.id = o.claim_id \
     LEFT JOIN account_withdrawals wd ON wd.id = o.withdrawal_id LEFT JOIN clearings cl ON cl.id = o.clearing_id \
     LEFT JOIN persons p ON p.id = o.person_id LEFT JOIN institutions inst ON inst.id = o.institution_id";

fn opt_date(column: &str, v: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    v.map(|v| date_from(column, &v)).transpose()
}

fn order_from_row(r: &AnyRow) -> Result<PaymentOrder, StoreError> {
    let payee = Payee::parse(&r.try_get::<String, _>(7)?);
    // An institution is paid to its corporate account (对公账户), which has no check digit.
    let account = |column: &'static str, v: Option<String>| {
        v.map(|c| match payee {
            Payee::Institution => BankCardNumber::corporate(&c),
            _ => c.parse(),
        })
        .transpose()
        .map_err(|e| corrupt(column, e))
    };
    Ok(PaymentOrder {
        id: r.try_get(0)?,
        number: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        claim_id: r.try_get(2)?,
        withdrawal_id: r.try_get(24)?,
        clearing_id: r.try_get(25)?,
        institution_id: r.try_get(26)?,
        subject_number: r.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
        person_id: r.try_get(4)?,
        person_name: r.try_get(5)?,
        region: region_from(r.try_get(6)?)?,
        payee,
        account_name: r.try_get(8)?,
        bank_name: r.try_get(9)?,
        bank_card: account("payment_orders.bank_card", r.try_get(10)?)?,
        amount: Fen::from_fen(r.try_get(11)?),
        state: OrderState::parse(&r.try_get::<String, _>(12)?).map_err(|e| corrupt("payment_orders.state", e))?,
        attempt: r.try_get(13)?,
        approved_on: date_from("payment_orders.approved_on", &r.try_get::<String, _>(14)?)?,
        due_on: date_from("payment_orders.due_on", &r.try_get::<String, _>(15)?)?,
        due_provisional: r.try_get::<i64, _>(16)? != 0,
        paid_on: opt_date("payment_orders.paid_on", r.try_get(17)?)?,
        failure: r
            .try_get::<Option<String>, _>(18)?
            .map(|c| BankFailure::parse(&c).map_err(|e| corrupt("payment_orders.failure_code", e)))
            .transpose()?,
        failure_note: r.try_get(19)?,
        version: r.try_get(20)?,
        approved_bank_name: r.try_get(21)?,
        approved_bank_card: account("payment_orders.approved_bank_card", r.try_get(22)?)?,
        account_unconfirmed_by: r.try_get(23)?,
    })
}

const BATCH_COLS: &str = "id, number, region, up_to, state, count, total, built_by, built_at, approved_by, \
     approved_at, exported_by, exported_at, exports, version, format";

fn batch_from_row(r: &AnyRow) -> Result<PaymentBatch, StoreError> {
    Ok(PaymentBatch {
        id: r.try_get(0)?,
        number: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        region: region_from(r.try_get(2)?)?,
        up_to: date_from("payment_batches.up_to", &r.try_get::<String, _>(3)?)?,
        state: BatchState::parse(&r.try_get::<String, _>(4)?).map_err(|e| corrupt("payment_batches.state", e))?,
        count: r.try_get(5)?,
        total: Fen::from_fen(r.try_get(6)?),
        built_by: r.try_get(7)?,
        built_at: r.try_get(8)?,
        approved_by: r.try_get(9)?,
        approved_at: r.try_get(10)?,
        exported_by: r.try_get(11)?,
        exported_at: r.try_get(12)?,
        exports: r.try_get(13)?,
        version: r.try_get(14)?,
        format: BankFormat::parse(&r.try_get::<String, _>(15)?).map_err(|e| corrupt("payment_batches.format", e))?,
    })
}

const ITEM_COLS: &str = "i.seq, i.order_id, o.number, o.claim_id, i.account_name, i.bank_name, i.bank_card, \
     i.amount, i.result, i.result_on, i.failure_code, i.failure_note, o.approved_bank_card, o.withdrawal_id, \
     o.clearing_id";

fn item_from_row(r: &AnyRow) -> Result<BatchItem, StoreError> {
    let result: Option<String> = r.try_get(8)?;
    Ok(BatchItem {
        seq: r.try_get(0)?,
        order_id: r.try_get(1)?,
        order_no: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        claim_id: r.try_get(3)?,
        withdrawal_id: r.try_get(13)?,
        clearing_id: r.try_get(14)?,
        account_name: r.try_get(4)?,
        bank_name: r.try_get(5)?,
        bank_card: r.try_get(6)?,
        amount: Fen::from_fen(r.try_get(7)?),
        paid: result.map(|r| r == "paid"),
        result_on: opt_date("payment_batch_items.result_on", r.try_get(9)?)?,
        failure: r
            .try_get::<Option<String>, _>(10)?
            .map(|c| BankFailure::parse(&c).map_err(|e| corrupt("payment_batch_items.failure_code", e)))
            .transpose()?,
        failure_note: r.try_get(11)?,
        approved_bank_card: r.try_get(12)?,
    })
}

/// Sets the state of row `(id, version)` (and `set`'s columns, bound to `binds` as `$1..`)
/// at the version it was read at; `Stale(what)` when someone changed it since.
async fn versioned_update(
    w: &mut WriteTx,
    (table, what): (&str, &'static str),
    (id, version): (i64, i64),
    state: &str,
    set: &str,
    binds: &[Option<String>],
) -> Result<(), StoreError> {
    let n = binds.len();
    let sql = format!(
        "UPDATE {table} SET state = ${}, version = version + 1{set} WHERE id = ${} AND version = ${}",
        n + 1,
        n + 2,
        n + 3
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    let done = q.bind(state.to_string()).bind(id).bind(version).execute(&mut *w.tx).await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Stale(what));
    }
    Ok(())
}

/// A state change of an order, checked against the version it was read at.
async fn move_order(
    w: &mut WriteTx,
    order: &PaymentOrder,
    action: OrderAction,
    set: &str,
    binds: &[Option<String>],
) -> Result<OrderState, StoreError> {
    let to = order.state.after(action)?;
    versioned_update(w, ("payment_orders", "payment order"), (order.id, order.version), to.code(), set, binds).await?;
    Ok(to)
}

/// The audit entry of an order moved by its batch: the state it left and entered, and the
/// batch (the batch's own entry has the rest).
async fn record_move(
    w: &mut WriteTx,
    order: &PaymentOrder,
    to: OrderState,
    action: &str,
    batch_id: i64,
) -> Result<(), StoreError> {
    let before = serde_json::json!({ "number": order.number, "state": order.state.code() });
    let after = serde_json::json!({ "number": order.number, "state": to.code(), "batch_id": batch_id });
    w.record(action, "payment_order", &order.id.to_string(), Some(&before), Some(&after)).await
}

/// A state change of a batch, checked against the version it was read at.
async fn move_batch(
    w: &mut WriteTx,
    batch: &PaymentBatch,
    action: BatchAction,
    set: &str,
    binds: &[String],
) -> Result<BatchState, StoreError> {
    let to = batch.state.after(action)?;
    let binds: Vec<Option<String>> = binds.iter().cloned().map(Some).collect();
    versioned_update(w, ("payment_batches", "payment batch"), (batch.id, batch.version), to.code(), set, &binds)
        .await?;
    Ok(to)
}

/// A batch's bank file, from its stored lines.
fn batch_file(batch: &PaymentBatch, items: &[BatchItem]) -> BatchFile {
    BatchFile {
        batch_no: batch.number.clone(),
        region: batch.region.to_string(),
        created_on: batch.up_to,
        format: batch.format,
        lines: items
            .iter()
            .map(|i| BatchLine {
                seq: i.seq,
                order_no: i.order_no.clone(),
                account_name: i.account_name.clone(),
                bank_card: i.bank_card.clone(),
                bank_name: i.bank_name.clone(),
                amount: i.amount,
            })
            .collect(),
    }
}

impl Store {
    /// Creates the payment order of a claim just approved (or reduced) in this transaction:
    /// to the employer unit's account for a claim the unit filed (when the region's rules
    /// say so), otherwise to the insured person's registered account; waiting for an account
    /// where none is registered. Due [`yibao_core::sporadic::PAYMENT_WORKING_DAYS`] working
    /// days after `today`. A claim that pays nothing gets no order.
    pub(crate) async fn create_payment_order(
        &self,
        w: &mut WriteTx,
        claim: &StoredClaim,
        pay_employer_unit: bool,
        today: NaiveDate,
    ) -> Result<(), StoreError> {
        let amount = claim.fund_pay_sumamt.unwrap_or(Fen::ZERO);
        if !matches!(claim.state, ClaimState::Approved | ClaimState::Reduced) || amount <= Fen::ZERO {
            return Ok(());
        }
        let person = fetch_person(&mut *w.tx, claim.person_id).await?;
        // The benefit is owed to the claimant (or the unit) until it is paid.
        let owed = yibao_core::books::Entry::new("claim", claim.number.clone()).transfer(
            yibao_core::books::Fund::of(person.insured_region, person.scheme),
            yibao_core::books::Account::Benefits,
            yibao_core::books::Account::PayablePersons,
            amount,
        );
        crate::books::post(w, &owed).await?;
        let employer = match (claim.submitter, claim.employer_id) {
            (Submitter::Employer, Some(id)) if pay_employer_unit => Some(id),
            _ => None,
        };
        // An account staff registered and nobody confirmed yet: the order waits for it too,
        // compared with the account confirmed before.
        let (payee, name, bank_name, bank_card, check) = match employer {
            Some(id) => {
                let e = fetch_employer(&mut *w.tx, id).await?;
                (Payee::Employer, e.name, e.bank_name, e.bank_card, e.account_check)
            }
            None => (Payee::Insured, person.name.to_string(), person.bank_name, person.bank_card, person.account_check),
        };
        let bank_card = bank_card.as_ref().map(ToString::to_string);
        let (approved_name, approved_card, unconfirmed) = match check {
            Some(c) => (c.confirmed_bank_name, c.confirmed_bank_card.map(|c| c.to_string()), Some(c.changed_by)),
            None => (bank_name.clone(), bank_card.clone(), None),
        };
        let to = NewOrder {
            subject: Subject::Claim(claim.id),
            person_id: Some(person.id),
            institution_id: None,
            region: person.insured_region,
            payee,
            account_name: name,
            bank_name,
            bank_card,
            approved: (approved_name, approved_card),
            unconfirmed_by: unconfirmed,
            amount,
            fund: Some(yibao_core::books::Fund::of(person.insured_region, person.scheme)),
        };
        self.insert_order(w, to, today).await.map(|_| ())
    }

    /// Stores a new payment order, due [`yibao_core::sporadic::PAYMENT_WORKING_DAYS`]
    /// working days after `today`, ready when it has an account, and records it.
    pub(crate) async fn insert_order(
        &self,
        w: &mut WriteTx,
        o: NewOrder,
        today: NaiveDate,
    ) -> Result<PaymentOrder, StoreError> {
        let state = if o.bank_name.is_some() && o.bank_card.is_some() {
            OrderState::Ready
        } else {
            OrderState::AwaitingAccount
        };
        let due = due_date(&self.calendar().await?, today).map_err(|e| {
            StoreError::Invalid(InvalidValue::new("calendar", "missing_year", e.message.zh, e.message.en))
        })?;
        let (claim_id, withdrawal_id, clearing_id) = match o.subject {
            Subject::Claim(id) => (Some(id), None, None),
            Subject::Withdrawal(id) => (None, Some(id), None),
            Subject::Clearing(id) => (None, None, Some(id)),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO payment_orders (claim_id, withdrawal_id, person_id, region, payee, account_name, bank_name, \
             bank_card, amount, state, approved_on, due_on, due_provisional, created_at, approved_bank_name, \
             approved_bank_card, account_unconfirmed_by, clearing_id, institution_id, fund) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) \
             RETURNING id",
        )
        .bind(claim_id)
        .bind(withdrawal_id)
        .bind(o.person_id)
        .bind(i64::from(o.region.value()))
        .bind(o.payee.code())
        .bind(o.account_name)
        .bind(o.bank_name)
        .bind(o.bank_card)
        .bind(o.amount.fen())
        .bind(state.code())
        .bind(today.to_string())
        .bind(due.date.to_string())
        .bind(i64::from(due.provisional))
        .bind(w.at().to_string())
        .bind(o.approved.0)
        .bind(o.approved.1)
        .bind(o.unconfirmed_by)
        .bind(clearing_id)
        .bind(o.institution_id)
        .bind(o.fund.map(|f| f.to_string()))
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE payment_orders SET number = $1 WHERE id = $2")
            .bind(format!("PO{}{id:08}", o.region))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let order = self.order_in(w, id).await?;
        w.record("payment.order", "payment_order", &id.to_string(), None::<&()>, Some(&order)).await?;
        Ok(order)
    }

    async fn order_in(&self, w: &mut WriteTx, id: i64) -> Result<PaymentOrder, StoreError> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE o.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("payment order"))?;
        order_from_row(&row)
    }

    pub async fn payment_order(&self, id: i64) -> Result<PaymentOrder, StoreError> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE o.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("payment order"))?;
        order_from_row(&row)
    }

    /// The payment order whose `column` (one of its subjects' ids) is `id`.
    pub(crate) async fn order_where(&self, column: &str, id: i64) -> Result<Option<PaymentOrder>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE {column} = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// The payment order of a withdrawal, once it is approved.
    pub async fn payment_of_withdrawal(&self, withdrawal_id: i64) -> Result<Option<PaymentOrder>, StoreError> {
        self.order_where("o.withdrawal_id", withdrawal_id).await
    }

    /// The payment order of a claim, once it is approved.
    pub async fn payment_of_claim(&self, claim_id: i64) -> Result<Option<PaymentOrder>, StoreError> {
        self.order_where("o.claim_id", claim_id).await
    }

    /// The payment orders of these claims (those approved), in no particular order.
    pub async fn payments_of_claims(&self, claim_ids: &[i64]) -> Result<Vec<PaymentOrder>, StoreError> {
        if claim_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE o.claim_id IN ("));
        let args: Vec<String> = claim_ids.iter().map(|id| sql.arg(Arg::I(*id))).collect();
        sql.text.push_str(&args.join(", "));
        sql.text.push(')');
        sql.fetch_all(&self.db).await?.iter().map(order_from_row).collect()
    }

    /// Orders of persons insured in `scope` in one of `states` (all when empty), oldest first.
    pub async fn payment_orders_in(
        &self,
        scope: &Scope,
        states: &[OrderState],
        limit: i64,
    ) -> Result<Vec<PaymentOrder>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE 1 = 1"));
        sql.scope_filter("o.region", scope);
        if !states.is_empty() {
            let args: Vec<String> = states.iter().map(|s| sql.arg(Arg::S(s.code().to_string()))).collect();
            sql.text.push_str(&format!(" AND o.state IN ({})", args.join(", ")));
        }
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY o.due_on, o.id LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(order_from_row).collect()
    }

    /// The orders of persons insured in `scope` by state: (state, how many, how much).
    pub async fn payment_totals_in(&self, scope: &Scope) -> Result<Vec<(OrderState, i64, Fen)>, StoreError> {
        let mut sql = Sql::new(
            "SELECT o.state, COUNT(*), CAST(COALESCE(SUM(o.amount), 0) AS BIGINT) FROM payment_orders o WHERE 1 = 1",
        );
        sql.scope_filter("o.region", scope);
        sql.text.push_str(" GROUP BY o.state");
        let rows = sql.fetch_all(&self.db).await?;
        let mut totals = Vec::new();
        for r in &rows {
            let state =
                OrderState::parse(&r.try_get::<String, _>(0)?).map_err(|e| corrupt("payment_orders.state", e))?;
            totals.push((state, r.try_get(1)?, Fen::from_fen(r.try_get(2)?)));
        }
        Ok(totals)
    }

    /// Gives an order the account to pay: registered late, corrected after the bank refused
    /// it, or confirmed as it was. A failed order starts a new attempt, for a later batch.
    pub async fn give_payment_account(
        &self,
        w: &mut WriteTx,
        id: i64,
        bank_name: &str,
        bank_card: &BankCardNumber,
        by: &AccountGiver,
    ) -> Result<PaymentOrder, StoreError> {
        let before = self.order_in(w, id).await?;
        let bank_name = bank_name.trim();
        if bank_name.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "bank_name",
                "required",
                "请填写开户银行",
                "give the bank",
            )));
        }
        let unconfirmed = match by {
            AccountGiver::Claimant => None,
            AccountGiver::Staff(username) => Some(username.clone()),
        };
        // A failed order's next try is a new attempt (the right-hand side reads the old state).
        move_order(
            w,
            &before,
            OrderAction::Account,
            ", bank_name = $1, bank_card = $2, account_unconfirmed_by = $3, \
             attempt = attempt + CASE WHEN state = 'failed' THEN 1 ELSE 0 END",
            &[Some(bank_name.to_string()), Some(bank_card.to_string()), unconfirmed],
        )
        .await?;
        let after = self.order_in(w, id).await?;
        w.record("payment.account", "payment_order", &id.to_string(), Some(&before), Some(&after)).await?;
        if let AccountGiver::Staff(_) = by {
            // The money is the claimant's: they hear of every account staff give for it.
            let (what_zh, what_en) = match before.subject() {
                Subject::Claim(_) => ("报销款", "your reimbursement"),
                Subject::Withdrawal(_) => ("个人账户支取款", "your account withdrawal"),
                Subject::Clearing(_) => ("清算拨付款", "the clearing payment"),
            };
            let (zh, en) = (
                format!(
                    "{what_zh}（{}，{} 元）的收款账户已由医保经办人员登记为 {} {}，待另一名经办人员复核后支付。如非您本人申请，请立即联系医保经办机构。",
                    before.subject_number, before.amount, bank_name, bank_card.masked()
                ),
                format!(
                    "The account for {what_en} ({}, {} yuan) was given by insurance staff as {} {}; it is paid once a second member of staff confirms it. If you did not ask for this, contact the insurance agency at once.",
                    before.subject_number, before.amount, bank_name, bank_card.masked()
                ),
            );
            if let Some(person_id) = before.person_id {
                self.add_notice(w, person_id, "payment_account", &zh, &en).await?;
            }
        }
        Ok(after)
    }

    /// Confirms an account a member of staff gave: by another member of staff, or by the
    /// claimant, at the order's `version` they were shown. The order may then be batched.
    pub async fn confirm_payment_account(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        by: &AccountGiver,
    ) -> Result<PaymentOrder, StoreError> {
        let before = self.order_in(w, id).await?;
        // What the confirmer saw: an account given again since is not confirmed unseen.
        if before.version != version {
            return Err(StoreError::Stale("payment order"));
        }
        let Some(giver) = before.account_unconfirmed_by.as_deref() else {
            return Err(refuse("nothing_to_confirm", "该收款账户无需复核", "this account has nothing to confirm"));
        };
        if let AccountGiver::Staff(username) = by {
            if username == giver {
                return Err(refuse(
                    "four_eyes",
                    "收款账户须由登记人以外的另一名经办人员（或参保人本人）复核",
                    "the account must be confirmed by another member of staff than the one who gave it (or by the claimant)",
                ));
            }
        }
        versioned_update(
            w,
            ("payment_orders", "payment order"),
            (before.id, before.version),
            before.state.code(),
            ", account_unconfirmed_by = NULL",
            &[],
        )
        .await?;
        let after = self.order_in(w, id).await?;
        w.record("payment.account_confirmed", "payment_order", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Builds a batch of `region`'s ready orders approved on or before `up_to`, its bank file
    /// in `format`. Refused when there is nothing to pay, or when an order cannot be written
    /// in the format (a name too long for a fixed width, say), naming it.
    pub async fn build_payment_batch(
        &self,
        w: &mut WriteTx,
        region: AdminCode,
        up_to: NaiveDate,
        format: BankFormat,
    ) -> Result<PaymentBatch, StoreError> {
        // An account given by staff and not yet confirmed by another person is not paid.
        let mut sql = Sql::new(&format!(
            "SELECT {ORDER_COLS} FROM {ORDER_FROM} WHERE o.state = 'ready' AND o.account_unconfirmed_by IS NULL"
        ));
        sql.scope_filter("o.region", &Scope::new(vec![region]));
        let d = sql.arg(Arg::S(up_to.to_string()));
        sql.text.push_str(&format!(" AND o.approved_on <= {d} ORDER BY o.id"));
        let orders: Vec<PaymentOrder> =
            sql.fetch_all_in(w).await?.iter().map(order_from_row).collect::<Result<_, _>>()?;
        if orders.is_empty() {
            return Err(refuse(
                "empty",
                format!("{region} 在 {up_to} 前没有待支付的指令"),
                format!("{region} has no orders ready to pay approved by {up_to}"),
            ));
        }
        let total: Fen = orders.iter().map(|o| o.amount).sum();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO payment_batches (region, up_to, state, count, total, built_by, built_at, format) \
             VALUES ($1, $2, 'built', $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(i64::from(region.value()))
        .bind(up_to.to_string())
        .bind(orders.len() as i64)
        .bind(total.fen())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(format.code())
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE payment_batches SET number = $1 WHERE id = $2")
            .bind(format!("PB{region}{id:06}"))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        for (seq, o) in orders.iter().enumerate() {
            let (Some(bank_name), Some(card)) = (&o.bank_name, &o.bank_card) else {
                return Err(corrupt("payment_orders", format!("ready order {} has no account", o.number)));
            };
            sqlx::query(
                "INSERT INTO payment_batch_items (batch_id, seq, order_id, attempt, account_name, bank_name, \
                 bank_card, amount) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(seq as i64 + 1)
            .bind(o.id)
            .bind(o.attempt)
            .bind(o.account_name.clone())
            .bind(bank_name.clone())
            .bind(card.to_string())
            .bind(o.amount.fen())
            .execute(&mut *w.tx)
            .await?;
            let to = move_order(w, o, OrderAction::Batch, "", &[]).await?;
            record_move(w, o, to, "payment.batched", id).await?;
        }
        let batch = self.batch_in(w, id).await?;
        // The file must be writable before anyone approves it.
        let items = self.items_in(w, id).await?;
        batch_file(&batch, &items).bytes().map_err(|mut e| {
            e.message = yibao_core::Text::new(
                format!("{}（{}）", e.message.zh, batch.format.label().zh),
                format!("{} ({})", e.message.en, batch.format.label().en),
            );
            StoreError::Invalid(e)
        })?;
        w.record("payment.batch", "payment_batch", &id.to_string(), None::<&()>, Some(&batch)).await?;
        Ok(batch)
    }

    async fn batch_in(&self, w: &mut WriteTx, id: i64) -> Result<PaymentBatch, StoreError> {
        let row = sqlx::query(&format!("SELECT {BATCH_COLS} FROM payment_batches WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("payment batch"))?;
        batch_from_row(&row)
    }

    async fn items_in(&self, w: &mut WriteTx, batch_id: i64) -> Result<Vec<BatchItem>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLS} FROM payment_batch_items i JOIN payment_orders o ON o.id = i.order_id \
             WHERE i.batch_id = $1 ORDER BY i.seq"
        ))
        .bind(batch_id)
        .fetch_all(&mut *w.tx)
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    /// A batch with its lines.
    pub async fn payment_batch(&self, id: i64) -> Result<(PaymentBatch, Vec<BatchItem>), StoreError> {
        let row = sqlx::query(&format!("SELECT {BATCH_COLS} FROM payment_batches WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("payment batch"))?;
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLS} FROM payment_batch_items i JOIN payment_orders o ON o.id = i.order_id \
             WHERE i.batch_id = $1 ORDER BY i.seq"
        ))
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        Ok((batch_from_row(&row)?, rows.iter().map(item_from_row).collect::<Result<_, _>>()?))
    }

    /// The batch with this number.
    pub async fn payment_batch_by_number(&self, number: &str) -> Result<PaymentBatch, StoreError> {
        let row = sqlx::query(&format!("SELECT {BATCH_COLS} FROM payment_batches WHERE number = $1"))
            .bind(number.trim())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("payment batch"))?;
        batch_from_row(&row)
    }

    /// Batches of regions in `scope`, newest first.
    pub async fn payment_batches_in(&self, scope: &Scope, limit: i64) -> Result<Vec<PaymentBatch>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {BATCH_COLS} FROM payment_batches WHERE 1 = 1"));
        sql.scope_filter("region", scope);
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY id DESC LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(batch_from_row).collect()
    }

    /// A second finance user approves a batch (four eyes): not the one who built it.
    pub async fn approve_payment_batch(&self, w: &mut WriteTx, id: i64) -> Result<PaymentBatch, StoreError> {
        let before = self.batch_in(w, id).await?;
        if before.built_by == w.actor().label {
            return Err(refuse(
                "four_eyes",
                "批次须由编制人以外的另一名财务人员复核",
                "a batch is approved by a finance user other than the one who built it",
            ));
        }
        let at = w.at().to_string();
        move_batch(
            w,
            &before,
            BatchAction::Approve,
            ", approved_by = $1, approved_at = $2",
            &[w.actor().label.clone(), at],
        )
        .await?;
        let after = self.batch_in(w, id).await?;
        w.record("payment.approve", "payment_batch", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Exports an approved batch as the bank file. Exporting again gives the same bytes (the
    /// bank refuses a batch number it has seen) and changes no order; each export is in the
    /// audit log.
    pub async fn export_payment_batch(
        &self,
        w: &mut WriteTx,
        id: i64,
    ) -> Result<(PaymentBatch, BatchFile), StoreError> {
        let before = self.batch_in(w, id).await?;
        let items = self.items_in(w, id).await?;
        let file = batch_file(&before, &items);
        if file.lines.len() as i64 != before.count || file.total() != before.total {
            return Err(corrupt("payment_batches", format!("{} does not match its lines", before.number)));
        }
        let sha = hex::encode(Sha256::digest(file.bytes().map_err(StoreError::Invalid)?));
        let first = before.state == BatchState::Approved;
        let stored: Option<String> = sqlx::query_scalar("SELECT file_sha256 FROM payment_batches WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        if stored.as_ref().is_some_and(|s| *s != sha) {
            return Err(corrupt("payment_batches", format!("{}'s lines changed after export", before.number)));
        }
        let at = w.at().to_string();
        let set = if first {
            ", exports = exports + 1, exported_by = $1, exported_at = $2, file_sha256 = $3"
        } else {
            ", exports = exports + 1"
        };
        let binds = if first { vec![w.actor().label.clone(), at, sha] } else { vec![] };
        move_batch(w, &before, BatchAction::Export, set, &binds).await?;
        if first {
            for item in &items {
                let order = self.order_in(w, item.order_id).await?;
                let to = move_order(w, &order, OrderAction::Export, "", &[]).await?;
                record_move(w, &order, to, "payment.exported", id).await?;
            }
        }
        let after = self.batch_in(w, id).await?;
        let action = if first { "payment.export" } else { "payment.export_again" };
        w.record(action, "payment_batch", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok((after, file))
    }

    /// Cancels a batch not yet exported: its orders are ready again.
    pub async fn cancel_payment_batch(&self, w: &mut WriteTx, id: i64) -> Result<PaymentBatch, StoreError> {
        let before = self.batch_in(w, id).await?;
        move_batch(w, &before, BatchAction::Cancel, "", &[]).await?;
        for item in self.items_in(w, id).await? {
            let order = self.order_in(w, item.order_id).await?;
            let to = move_order(w, &order, OrderAction::Unbatch, "", &[]).await?;
            record_move(w, &order, to, "payment.unbatched", id).await?;
        }
        sqlx::query("UPDATE payment_batch_items SET live = 0 WHERE batch_id = $1").bind(id).execute(&mut *w.tx).await?;
        let after = self.batch_in(w, id).await?;
        w.record("payment.cancel", "payment_batch", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }
}
