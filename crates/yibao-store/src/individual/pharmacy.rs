//! Purchases at designated retail pharmacies (定点零售药店): the platform's 2101 (a quote),
//! 2102 (settled: the accounts debited, the purchase kept) and 2103 (reversed: the accounts
//! credited back). Under 门诊共济 a buyer whose own account falls short draws on the account
//! of a family member who authorised them; both ledgers show it.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use yibao_core::catalog::Category;
use yibao_core::cover::CoverKind;
use yibao_core::pharmacy::{split, PharmacySplit};
use yibao_core::{Fen, InvalidValue, Text};

use crate::db::query::corrupt;
use crate::registry::Institution;
use crate::rules::Rules;
use crate::{Person, Store, StoreError, WriteTx};

/// A line of the pharmacy's purchase (`drugdetail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PharmacyLine {
    pub feedetl_sn: String,
    pub med_list_codg: String,
    pub cnt: Decimal,
    pub pric: Decimal,
    pub det_item_fee_sumamt: Fen,
    /// Whether the account may pay for it (in the catalog, 甲类 or 乙类): decided by yibao.
    #[serde(default)]
    pub in_catalog: bool,
}

/// What the pharmacy sends.
#[derive(Debug, Clone)]
pub struct PharmacyPurchase {
    /// The pharmacy's receipt number (`invono`), once per pharmacy.
    pub invono: String,
    pub lines: Vec<PharmacyLine>,
    /// Whether the buyer uses the account (`acct_used_flag`).
    pub use_account: bool,
    /// The total the pharmacy computed, checked against the lines when given.
    pub medfee_sumamt: Option<Fen>,
}

/// A purchase, settled or quoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PharmacySettlement {
    /// `None` for a quote.
    pub setl_id: Option<String>,
    pub institution_code: String,
    pub person_id: i64,
    pub person_name: String,
    /// The family member whose account paid `acct_mulaid_pay`.
    pub holder_id: Option<i64>,
    pub holder_name: Option<String>,
    pub invono: String,
    pub split: PharmacySplit,
    /// The buyer's own balance after.
    pub balc: Fen,
    pub lines: Vec<PharmacyLine>,
    pub status: String,
    pub settled_at: String,
    pub explanation: Text,
}

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("pharmacy", code, zh, en))
}

/// Pharmacies carry the national code's `P`; hospitals `H`.
pub fn is_pharmacy(institution: &Institution) -> bool {
    is_pharmacy_code(&institution.code)
}

/// [`is_pharmacy`] by the institution's code.
pub fn is_pharmacy_code(code: &str) -> bool {
    code.starts_with('P')
}

impl Store {
    /// 2101: what the purchase would cost whom now, with nothing written.
    pub async fn pharmacy_quote(
        &self,
        rules: &Rules,
        pharmacy: &Institution,
        person: &Person,
        purchase: &PharmacyPurchase,
        at: NaiveDateTime,
    ) -> Result<PharmacySettlement, StoreError> {
        let mut conn = self.read_conn().await?;
        self.price_purchase(&mut conn, rules, pharmacy, person, purchase, at).await
    }

    /// 2102: settles the purchase — the accounts debited (each entry naming the purchase,
    /// and on the holder's the member who bought), the purchase kept under its `setl_id`.
    /// A receipt number settled already at this pharmacy is refused.
    pub async fn settle_pharmacy(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        pharmacy: &Institution,
        person: &Person,
        purchase: &PharmacyPurchase,
        at: NaiveDateTime,
    ) -> Result<PharmacySettlement, StoreError> {
        let invono = purchase.invono.trim();
        let settled: Option<String> = sqlx::query_scalar(
            "SELECT setl_id FROM pharmacy_purchases WHERE institution_id = $1 AND invono = $2 AND status = 'settled'",
        )
        .bind(pharmacy.id)
        .bind(invono.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(setl_id) = settled {
            return Err(refuse(
                "settled",
                format!("票据号 {invono} 已结算（{setl_id}）"),
                format!("receipt {invono} is settled already ({setl_id})"),
            ));
        }
        let mut out = self.price_purchase(&mut w.tx, rules, pharmacy, person, purchase, at).await?;
        let s = out.split;
        let lines = serde_json::to_string(&out.lines).map_err(|e| corrupt("lines", e))?;
        // The accounts that pay are the employee scheme's in the buyer's pooling region (a
        // family member authorising is in the same one).
        let fund = yibao_core::books::Fund::accounts_of(person.insured_region);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO pharmacy_purchases (institution_id, person_id, holder_id, invono, medfee_sumamt, inscp_amt, \
             acct_pay, acct_mulaid_pay, psn_cash_pay, lines, status, settled_at, setl_date, fund) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'settled', $11, $12, $13) RETURNING id",
        )
        .bind(pharmacy.id)
        .bind(person.id)
        .bind(out.holder_id)
        .bind(invono.to_string())
        .bind(s.medfee_sumamt.fen())
        .bind(s.inscp_amt.fen())
        .bind(s.acct_pay.fen())
        .bind(s.acct_mulaid_pay.fen())
        .bind(s.psn_cash_pay.fen())
        .bind(lines)
        .bind(out.settled_at.clone())
        .bind(at.date().to_string())
        .bind(fund.to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let setl_id = format!("YD{}{:010}", pharmacy.region, id);
        sqlx::query("UPDATE pharmacy_purchases SET setl_id = $1 WHERE id = $2")
            .bind(setl_id.clone())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let note = |whose: &str, en: &str| {
            Text::new(
                format!("{}（{}）购药，{whose}，票据号 {invono}", pharmacy.name, pharmacy.code),
                format!("purchase at {} ({}), {en}, receipt {invono}", pharmacy.name, pharmacy.code),
            )
        };
        if s.acct_pay.is_positive() {
            let n = note("本人账户支付", "from the buyer's own account");
            out.balc = self.post_entry(w, person.id, -s.acct_pay.fen(), "pharmacy", &setl_id, None, &n).await?;
        }
        if let (true, Some(holder)) = (s.acct_mulaid_pay.is_positive(), out.holder_id) {
            let n = note(
                &format!("家庭共济：{} 使用", person.name),
                &format!("family mutual aid: used by {}", person.name),
            );
            self.post_entry(w, holder, -s.acct_mulaid_pay.fen(), "pharmacy", &setl_id, Some(person.id), &n).await?;
        }
        let paid = s.acct_pay.saturating_add(s.acct_mulaid_pay);
        let entry = yibao_core::books::Entry::new("pharmacy", setl_id.clone()).transfer(
            fund,
            yibao_core::books::Account::PersonalAccounts,
            yibao_core::books::Account::PayableInstitutions,
            paid,
        );
        crate::books::post(w, &entry).await?;
        out.setl_id = Some(setl_id.clone());
        w.record::<(), _>("pharmacy.settle", "pharmacy_purchase", &setl_id, None, Some(&out)).await?;
        Ok(out)
    }

    /// 2103: reverses a settled purchase of this pharmacy: what each account paid goes back.
    pub async fn reverse_pharmacy(
        &self,
        w: &mut WriteTx,
        pharmacy: &Institution,
        setl_id: &str,
    ) -> Result<PharmacySettlement, StoreError> {
        let row = sqlx::query(
            "SELECT id, person_id, holder_id, acct_pay, acct_mulaid_pay, status, fund FROM pharmacy_purchases \
             WHERE setl_id = $1 AND institution_id = $2",
        )
        .bind(setl_id.trim().to_string())
        .bind(pharmacy.id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound("pharmacy_purchase"))?;
        let (id, person_id, holder_id): (i64, i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (acct_pay, mulaid): (i64, i64) = (row.try_get(3)?, row.try_get(4)?);
        if row.try_get::<String, _>(5)? != "settled" {
            return Err(refuse("reversed", "该笔购药结算已撤销", "that purchase is reversed already"));
        }
        sqlx::query("UPDATE pharmacy_purchases SET status = 'reversed', reversed_at = $1 WHERE id = $2")
            .bind(w.at().to_string())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let note = Text::new(
            format!("{} 撤销购药结算 {setl_id}，退回账户", pharmacy.name),
            format!("{} reversed purchase {setl_id}: returned to the account", pharmacy.name),
        );
        // Back into the fund that paid.
        let fund: Option<String> = row.try_get(6)?;
        let fund = match fund {
            Some(f) => yibao_core::books::Fund::parse(&f).map_err(|e| corrupt("pharmacy_purchases.fund", e))?,
            None => crate::books::person_fund(w, person_id, true).await?,
        };
        let entry = yibao_core::books::Entry::new("pharmacy_reversal", setl_id.trim()).transfer(
            fund,
            yibao_core::books::Account::PayableInstitutions,
            yibao_core::books::Account::PersonalAccounts,
            Fen::from_fen(acct_pay + mulaid),
        );
        crate::books::post(w, &entry).await?;
        if acct_pay > 0 {
            self.post_entry(w, person_id, acct_pay, "pharmacy_reversal", setl_id, None, &note).await?;
        }
        if let (true, Some(holder)) = (mulaid > 0, holder_id) {
            self.post_entry(w, holder, mulaid, "pharmacy_reversal", setl_id, Some(person_id), &note).await?;
        }
        let after = self.pharmacy_purchase_in(&mut w.tx, setl_id).await?;
        w.record::<(), _>("pharmacy.reverse", "pharmacy_purchase", setl_id, None, Some(&after)).await?;
        Ok(after)
    }

    /// A purchase by its `setl_id`.
    pub async fn pharmacy_purchase(&self, setl_id: &str) -> Result<PharmacySettlement, StoreError> {
        self.pharmacy_purchase_in(&mut self.read_conn().await?, setl_id).await
    }

    async fn pharmacy_purchase_in(
        &self,
        conn: &mut crate::db::Conn,
        setl_id: &str,
    ) -> Result<PharmacySettlement, StoreError> {
        let row = sqlx::query(
            "SELECT f.setl_id, i.code, f.person_id, p.name, f.holder_id, h.name, f.invono, f.medfee_sumamt, \
             f.inscp_amt, f.acct_pay, f.acct_mulaid_pay, f.psn_cash_pay, f.lines, f.status, f.settled_at, \
             COALESCE((SELECT balance FROM individual_accounts a WHERE a.person_id = f.person_id), 0) \
             FROM pharmacy_purchases f JOIN institutions i ON i.id = f.institution_id \
             JOIN persons p ON p.id = f.person_id LEFT JOIN persons h ON h.id = f.holder_id WHERE f.setl_id = $1",
        )
        .bind(setl_id.trim().to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("pharmacy_purchase"))?;
        let fen = |i: usize| -> Result<Fen, StoreError> { Ok(Fen::from_fen(row.try_get(i)?)) };
        let split = PharmacySplit {
            medfee_sumamt: fen(7)?,
            inscp_amt: fen(8)?,
            acct_pay: fen(9)?,
            acct_mulaid_pay: fen(10)?,
            psn_cash_pay: fen(11)?,
        };
        let lines: String = row.try_get(12)?;
        Ok(PharmacySettlement {
            setl_id: row.try_get(0)?,
            institution_code: row.try_get(1)?,
            person_id: row.try_get(2)?,
            person_name: row.try_get(3)?,
            holder_id: row.try_get(4)?,
            holder_name: row.try_get(5)?,
            invono: row.try_get(6)?,
            split,
            balc: fen(15)?,
            lines: serde_json::from_str(&lines).map_err(|e| corrupt("pharmacy_purchases.lines", e))?,
            status: row.try_get(13)?,
            settled_at: row.try_get(14)?,
            explanation: split.explain(),
        })
    }

    /// Prices a purchase on `conn` as things stand: the buyer covered at the pharmacy, each
    /// line in the catalog or not, the buyer's balance and the first family account in force
    /// with money in it.
    async fn price_purchase(
        &self,
        conn: &mut crate::db::Conn,
        rules: &Rules,
        pharmacy: &Institution,
        person: &Person,
        purchase: &PharmacyPurchase,
        at: NaiveDateTime,
    ) -> Result<PharmacySettlement, StoreError> {
        if !is_pharmacy(pharmacy) {
            return Err(refuse(
                "not_a_pharmacy",
                "2101–2103 只适用于定点零售药店",
                "2101 to 2103 are for designated retail pharmacies",
            ));
        }
        if purchase.invono.trim().is_empty() || purchase.lines.is_empty() {
            return Err(refuse("incomplete", "请提供票据号和购药明细", "give the receipt number and the drugs bought"));
        }
        let day = at.date();
        let cover = self.cover_report(person, day, Some(&pharmacy.code)).await?.cover;
        if let Some(c) = cover.filter(|c| matches!(c.kind, CoverKind::Refused | CoverKind::NotFiled)) {
            return Err(StoreError::Invalid(InvalidValue { field: "person", code: c.code, message: c.reason }));
        }
        let catalog = rules.catalogs.for_region(person.insured_region).map(|(_, c)| c);
        let mut lines = purchase.lines.clone();
        for l in &mut lines {
            if l.det_item_fee_sumamt.is_negative() {
                return Err(refuse("amount", "金额不能为负", "an amount cannot be negative"));
            }
            l.in_catalog =
                catalog.and_then(|c| c.lookup(l.med_list_codg.trim(), day)).is_some_and(|e| e.category != Category::C);
        }
        let total: Fen = lines.iter().map(|l| l.det_item_fee_sumamt).sum();
        if purchase.medfee_sumamt.is_some_and(|m| m != total) {
            return Err(refuse(
                "total_mismatch",
                format!("医疗费总额与明细合计 {} 元不符", total.to_grouped()),
                format!("the total does not match the lines' {}", total.to_grouped()),
            ));
        }
        let balance = |id: i64| {
            sqlx::query_scalar::<_, i64>("SELECT balance FROM individual_accounts WHERE person_id = $1").bind(id)
        };
        let own = Fen::from_fen(balance(person.id).fetch_optional(&mut *conn).await?.unwrap_or(0));
        let mut holder = None;
        let members = sqlx::query(
            "SELECT f.holder_id, h.name, COALESCE(a.balance, 0) FROM family_authorisations f \
             JOIN persons h ON h.id = f.holder_id LEFT JOIN individual_accounts a ON a.person_id = f.holder_id \
             WHERE f.member_id = $1 AND f.revoked_at IS NULL ORDER BY f.id",
        )
        .bind(person.id)
        .fetch_all(&mut *conn)
        .await?;
        for m in &members {
            if m.try_get::<i64, _>(2)? > 0 {
                holder = Some((m.try_get::<i64, _>(0)?, m.try_get::<String, _>(1)?, Fen::from_fen(m.try_get(2)?)));
                break;
            }
        }
        let pairs: Vec<(Fen, bool)> = lines.iter().map(|l| (l.det_item_fee_sumamt, l.in_catalog)).collect();
        let family = holder.as_ref().map_or(Fen::ZERO, |h| h.2);
        let s = split(&pairs, purchase.use_account, own, family);
        let holder = holder.filter(|_| s.acct_mulaid_pay.is_positive());
        Ok(PharmacySettlement {
            setl_id: None,
            institution_code: pharmacy.code.clone(),
            person_id: person.id,
            person_name: person.name.to_string(),
            holder_id: holder.as_ref().map(|h| h.0),
            holder_name: holder.map(|h| h.1),
            invono: purchase.invono.trim().to_string(),
            split: s,
            balc: own.saturating_sub(s.acct_pay),
            lines,
            status: "settled".into(),
            settled_at: at.format("%Y-%m-%d %H:%M:%S").to_string(),
            explanation: s.explain(),
        })
    }

    /// Posts `amount` (credit positive) to `person_id`'s account as of now: never below zero
    /// (refused; the database refuses it too), one ledger entry naming `reference` and, for
    /// a family member's use, who `drawn_by`. The balance after.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn post_entry(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        amount: i64,
        kind: &str,
        reference: &str,
        drawn_by: Option<i64>,
        note: &Text,
    ) -> Result<Fen, StoreError> {
        let row = sqlx::query("SELECT balance, version FROM individual_accounts WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or_else(|| refuse("no_account", "没有个人账户", "no individual account"))?;
        let (balance, version): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let after = balance + amount;
        if after < 0 {
            return Err(refuse(
                "acct_insufficient",
                format!("个人账户余额 {} 元不足", Fen::from_fen(balance).to_grouped()),
                format!("the individual account's balance {} is not enough", Fen::from_fen(balance).to_grouped()),
            ));
        }
        let changed = sqlx::query(
            "UPDATE individual_accounts SET balance = $1, version = version + 1 WHERE person_id = $2 AND version = $3",
        )
        .bind(after)
        .bind(person_id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("individual_account"));
        }
        sqlx::query(
            "INSERT INTO account_entries (person_id, kind, amount, balance_after, at, actor, drawn_by, reference, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(person_id)
        .bind(kind.to_string())
        .bind(amount)
        .bind(after)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(drawn_by)
        .bind(reference.to_string())
        .bind(serde_json::to_string(note).map_err(|e| corrupt("note", e))?)
        .execute(&mut *w.tx)
        .await?;
        Ok(Fen::from_fen(after))
    }

    /// The purchases that drew on `holder_id`'s account for family members, newest first.
    pub async fn family_purchases(&self, holder_id: i64) -> Result<Vec<PharmacySettlement>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT setl_id FROM pharmacy_purchases WHERE holder_id = $1 AND setl_id IS NOT NULL ORDER BY id DESC",
        )
        .bind(holder_id)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.pharmacy_purchase(&id).await?);
        }
        Ok(out)
    }
}
