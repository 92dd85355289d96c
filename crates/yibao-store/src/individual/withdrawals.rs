//! Withdrawals from an individual account (个人账户支取): a clerk records the request at the
//! window with the papers its reason needs; another member of staff decides it. Approved, the
//! account is debited (never below zero, checked at its version) and a payment order pays the
//! money through the bank batches — to the holder, or after death to the heir — in the same
//! transaction. One open request per person.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::contribution::withdrawal::WithdrawalReason;
use yibao_core::payment::Subject;
use yibao_core::{AdminCode, BankCardNumber, Fen, InvalidValue, ResidentId, Text};

use crate::contributions::rules_on;
use crate::db::query::{corrupt, region_from};
use crate::payments::{NewOrder, Payee};
use crate::registry::fetch_person;
use crate::{Store, StoreError, WriteTx};

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("withdrawal", code, zh, en))
}

/// The heir a death withdrawal pays.
#[derive(Debug, Clone)]
pub struct Heir {
    pub name: String,
    pub resident_id: ResidentId,
    pub bank_name: String,
    pub bank_card: BankCardNumber,
}

/// What the clerk records at the window.
#[derive(Debug, Clone)]
pub struct WithdrawalRequest {
    pub reason: WithdrawalReason,
    /// At the window, the amount asked for; the whole balance otherwise.
    pub amount: Option<Fen>,
    /// The codes of the papers the clerk saw ([`WithdrawalReason::papers`]).
    pub papers: Vec<String>,
    pub heir: Option<Heir>,
}

/// A withdrawal, requested or decided.
#[derive(Debug, Clone, Serialize)]
pub struct Withdrawal {
    pub id: i64,
    pub number: String,
    pub person_id: i64,
    pub person_name: String,
    pub region: AdminCode,
    pub reason: WithdrawalReason,
    pub requested: Option<Fen>,
    /// Debited at approval.
    pub amount: Option<Fen>,
    pub papers: Vec<String>,
    pub heir_name: Option<String>,
    pub heir_resident_id: Option<String>,
    pub heir_bank_name: Option<String>,
    #[serde(serialize_with = "yibao_core::bank_card::masked_for_audit")]
    pub heir_bank_card: Option<BankCardNumber>,
    pub state: String,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
    pub version: i64,
}

impl Withdrawal {
    /// The papers seen, by name.
    pub fn paper_names(&self) -> Vec<Text> {
        self.reason.papers().into_iter().filter(|(c, _)| self.papers.iter().any(|p| p == c)).map(|(_, n)| n).collect()
    }
}

const COLS: &str = "w.id, w.number, w.person_id, p.name, p.insured_region, w.reason, w.requested, w.amount, w.papers, \
     w.heir_name, w.heir_resident_id, w.heir_bank_name, w.heir_bank_card, w.state, w.requested_by, w.requested_at, \
     w.decided_by, w.decided_at, w.note, w.version";
const FROM: &str = "account_withdrawals w JOIN persons p ON p.id = w.person_id";

fn from_row(r: &AnyRow) -> Result<Withdrawal, StoreError> {
    let reason: String = r.try_get(5)?;
    let papers: String = r.try_get(8)?;
    let card: Option<String> = r.try_get(12)?;
    Ok(Withdrawal {
        id: r.try_get(0)?,
        number: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        person_id: r.try_get(2)?,
        person_name: r.try_get(3)?,
        region: region_from(r.try_get(4)?)?,
        reason: WithdrawalReason::parse(&reason).map_err(|e| corrupt("account_withdrawals.reason", e))?,
        requested: r.try_get::<Option<i64>, _>(6)?.map(Fen::from_fen),
        amount: r.try_get::<Option<i64>, _>(7)?.map(Fen::from_fen),
        papers: serde_json::from_str(&papers).map_err(|e| corrupt("account_withdrawals.papers", e))?,
        heir_name: r.try_get(9)?,
        heir_resident_id: r.try_get(10)?,
        heir_bank_name: r.try_get(11)?,
        heir_bank_card: card
            .map(|c| c.parse().map_err(|e| corrupt("account_withdrawals.heir_bank_card", e)))
            .transpose()?,
        state: r.try_get(13)?,
        requested_by: r.try_get(14)?,
        requested_at: r.try_get(15)?,
        decided_by: r.try_get(16)?,
        decided_at: r.try_get(17)?,
        note: r.try_get(18)?,
        version: r.try_get(19)?,
    })
}

impl Store {
    /// Records a withdrawal request for `person_id`: the region's rules of `today`'s year
    /// must allow the reason; every paper it needs must have been seen; a death's heir is
    /// named with a bank account; an amount is asked for only at the window, and not above
    /// the balance. Every problem at once.
    pub async fn request_withdrawal(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        req: &WithdrawalRequest,
        today: NaiveDate,
    ) -> Result<Withdrawal, StoreError> {
        let person = fetch_person(&mut *w.tx, person_id).await?;
        let rules = rules_on(&mut w.tx, person.insured_region, chrono::Datelike::year(&today)).await?;
        if !rules.is_some_and(|r| r.account.withdrawals.contains(&req.reason)) {
            let label = req.reason.label();
            return Err(refuse(
                "not_allowed",
                format!("本统筹区的政策不允许{}", label.zh),
                format!("the region's rules do not allow {}", label.en),
            ));
        }
        let open: Option<String> =
            sqlx::query_scalar("SELECT number FROM account_withdrawals WHERE person_id = $1 AND state = 'requested'")
                .bind(person_id)
                .fetch_optional(&mut *w.tx)
                .await?;
        if let Some(number) = open {
            return Err(refuse(
                "open",
                format!("已有待审核的支取申请 {number}，请先处理"),
                format!("withdrawal {number} is waiting for its decision"),
            ));
        }
        let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM individual_accounts WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        let balance = Fen::from_fen(balance.unwrap_or(0));
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, code: &'static str, zh: String, en: String| {
            problems.push(InvalidValue::new(field, code, zh, en));
        };
        for name in req.reason.missing_papers(&req.papers) {
            problem("papers", "missing", format!("缺少材料：{}", name.zh), format!("missing paper: {}", name.en));
        }
        if !balance.is_positive() {
            problem("amount", "empty", "个人账户没有余额".into(), "the individual account holds nothing".into());
        }
        match (req.reason.whole_balance(), req.amount) {
            (false, None) => problem("amount", "required", "请填写支取金额".into(), "give the amount".into()),
            (false, Some(a)) if !a.is_positive() => {
                problem("amount", "not_positive", "支取金额应大于 0".into(), "the amount must be above 0".into())
            }
            (false, Some(a)) if a > balance => problem(
                "amount",
                "above_balance",
                format!("支取金额 {} 元超过余额 {} 元", a.to_grouped(), balance.to_grouped()),
                format!("{} is above the balance of {}", a.to_grouped(), balance.to_grouped()),
            ),
            (true, Some(_)) => problem(
                "amount",
                "whole_balance",
                "此原因一次性支取全部余额，不填金额".into(),
                "this reason withdraws the whole balance: give no amount".into(),
            ),
            _ => {}
        }
        match (&req.heir, req.reason.to_heir()) {
            (None, true) => problem(
                "heir",
                "required",
                "身故继承须填写继承人姓名、身份证号和银行账户".into(),
                "name the heir, with their ID number and bank account".into(),
            ),
            (Some(h), true) if h.resident_id == person.resident_id => {
                problem("heir", "self", "继承人不能是参保人本人".into(), "the heir cannot be the holder".into())
            }
            (Some(h), true) if h.name.trim().is_empty() || h.bank_name.trim().is_empty() => {
                problem("heir", "required", "请填写继承人姓名和开户银行".into(), "give the heir's name and bank".into())
            }
            (Some(_), false) => problem(
                "heir",
                "not_death",
                "只有身故继承才有继承人".into(),
                "only a withdrawal after death has an heir".into(),
            ),
            _ => {}
        }
        if !problems.is_empty() {
            return Err(StoreError::Problems(problems));
        }
        let heir = req.heir.as_ref();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO account_withdrawals (person_id, reason, requested, papers, heir_name, heir_resident_id, \
             heir_bank_name, heir_bank_card, state, requested_by, requested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10) RETURNING id",
        )
        .bind(person_id)
        .bind(req.reason.code())
        .bind(req.amount.map(Fen::fen))
        .bind(serde_json::to_string(&req.papers).map_err(|e| corrupt("papers", e))?)
        .bind(heir.map(|h| h.name.trim().to_string()))
        .bind(heir.map(|h| h.resident_id.to_string()))
        .bind(heir.map(|h| h.bank_name.trim().to_string()))
        .bind(heir.map(|h| h.bank_card.to_string()))
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE account_withdrawals SET number = $1 WHERE id = $2")
            .bind(format!("ZQ{}{id:08}", person.insured_region))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let out = self.withdrawal_in(w, id).await?;
        w.record("withdrawal.request", "account_withdrawal", &id.to_string(), None::<&()>, Some(&out)).await?;
        Ok(out)
    }

    /// Decides a requested withdrawal, at the `version` it was read: not by whoever recorded
    /// it. Approved, the account is debited (the amount asked for, or the whole balance now)
    /// and the payment order created, in this transaction; the person is told.
    pub async fn decide_withdrawal(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        approve: bool,
        note: &str,
        today: NaiveDate,
    ) -> Result<Withdrawal, StoreError> {
        let before = self.withdrawal_in(w, id).await?;
        if before.state != "requested" {
            return Err(refuse(
                "decided",
                format!("支取申请 {} 已处理", before.number),
                format!("withdrawal {} is decided already", before.number),
            ));
        }
        if before.version != version {
            return Err(StoreError::Stale("withdrawal"));
        }
        if before.requested_by == w.actor().label {
            return Err(refuse(
                "four_eyes",
                "支取须由受理人以外的另一名工作人员审核",
                "another member of staff than the one who recorded it decides a withdrawal",
            ));
        }
        if !approve && note.trim().is_empty() {
            return Err(refuse("reason", "不予支取须写明理由", "say why it is refused"));
        }
        let amount = if approve {
            let balance: i64 = sqlx::query_scalar("SELECT balance FROM individual_accounts WHERE person_id = $1")
                .bind(before.person_id)
                .fetch_optional(&mut *w.tx)
                .await?
                .unwrap_or(0);
            let amount = before.requested.unwrap_or(Fen::from_fen(balance));
            if !amount.is_positive() {
                return Err(refuse("empty", "个人账户没有余额", "the individual account holds nothing"));
            }
            let label = before.reason.label();
            let why = Text::new(
                format!("个人账户支取（{}），编号 {}", label.zh, before.number),
                format!("withdrawal ({}), {}", label.en, before.number),
            );
            self.post_entry(w, before.person_id, -amount.fen(), "withdrawal", &before.number, None, &why).await?;
            let owed = yibao_core::books::Entry::new("withdrawal", before.number.clone()).transfer(
                crate::books::person_fund(w, before.person_id, true).await?,
                yibao_core::books::Account::PersonalAccounts,
                yibao_core::books::Account::PayablePersons,
                amount,
            );
            crate::books::post(w, &owed).await?;
            Some(amount)
        } else {
            None
        };
        let done = sqlx::query(
            "UPDATE account_withdrawals SET state = $1, amount = $2, decided_by = $3, decided_at = $4, note = $5, \
             version = version + 1 WHERE id = $6 AND version = $7",
        )
        .bind(if approve { "approved" } else { "rejected" })
        .bind(amount.map(Fen::fen))
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .bind(Some(note.trim().to_string()).filter(|n| !n.is_empty()))
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Stale("withdrawal"));
        }
        if let Some(amount) = amount {
            let person = fetch_person(&mut *w.tx, before.person_id).await?;
            let order = match (&before.heir_name, &before.heir_bank_card) {
                (Some(name), Some(card)) => NewOrder {
                    subject: Subject::Withdrawal(id),
                    person_id: Some(person.id),
                    institution_id: None,
                    region: person.insured_region,
                    payee: Payee::Heir,
                    account_name: name.clone(),
                    bank_name: before.heir_bank_name.clone(),
                    bank_card: Some(card.to_string()),
                    // Given at the window and confirmed by the member of staff who approves.
                    approved: (before.heir_bank_name.clone(), Some(card.to_string())),
                    unconfirmed_by: None,
                    amount,
                    fund: Some(yibao_core::books::Fund::accounts_of(person.insured_region)),
                },
                _ => {
                    let card = person.bank_card.as_ref().map(ToString::to_string);
                    let (approved, unconfirmed_by) = match person.account_check {
                        Some(c) => {
                            ((c.confirmed_bank_name, c.confirmed_bank_card.map(|c| c.to_string())), Some(c.changed_by))
                        }
                        None => ((person.bank_name.clone(), card.clone()), None),
                    };
                    NewOrder {
                        subject: Subject::Withdrawal(id),
                        person_id: Some(person.id),
                        institution_id: None,
                        region: person.insured_region,
                        payee: Payee::Insured,
                        account_name: person.name.to_string(),
                        bank_name: person.bank_name.clone(),
                        bank_card: card,
                        approved,
                        unconfirmed_by,
                        amount,
                        fund: Some(yibao_core::books::Fund::accounts_of(person.insured_region)),
                    }
                }
            };
            let order = self.insert_order(w, order, today).await?;
            self.add_notice(
                w,
                person.id,
                "withdrawal",
                &format!(
                    "个人账户支取 {} 已核准：{} 元，支付指令 {}，将转入 {} 的银行账户。",
                    before.number,
                    amount.to_grouped(),
                    order.number,
                    order.account_name
                ),
                &format!(
                    "Withdrawal {} approved: {}, payment order {}, to {}'s bank account.",
                    before.number,
                    amount.to_grouped(),
                    order.number,
                    order.account_name
                ),
            )
            .await?;
        }
        let after = self.withdrawal_in(w, id).await?;
        w.record("withdrawal.decide", "account_withdrawal", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn withdrawal_in(&self, w: &mut WriteTx, id: i64) -> Result<Withdrawal, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE w.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("withdrawal"))?;
        from_row(&row)
    }

    pub async fn withdrawal(&self, id: i64) -> Result<Withdrawal, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE w.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("withdrawal"))?;
        from_row(&row)
    }

    /// A person's withdrawals, newest first.
    pub async fn withdrawals_of(&self, person_id: i64) -> Result<Vec<Withdrawal>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE w.person_id = $1 ORDER BY w.id DESC"))
            .bind(person_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The requests waiting for a decision, oldest first (the caller filters by region).
    pub async fn withdrawals_waiting(&self) -> Result<Vec<Withdrawal>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE w.state = 'requested' ORDER BY w.id LIMIT 500"))
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(from_row).collect()
    }
}
