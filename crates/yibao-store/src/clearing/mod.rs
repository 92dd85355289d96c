//! Clearing with designated institutions (清算与拨付): an institution applies for a period
//! (in the portal, or with 3203 from its HIS); yibao builds the statement from its own
//! settlements (`yibao_core::clearing`), marks every settlement, carried reversal and
//! deducted finding with the clearing in the same transaction, so that each is cleared once;
//! the institution may object to a deduction, an auditor decides each objection and reviews
//! the statement, and another member of staff in finance approves it: the payment order to
//! the institution's own account is made in that transaction, and paid through the bank
//! batches like every other. A closed clearing is never rewritten: a reversal after it is
//! carried into a later one. A retail pharmacy clears its purchases (2102) the same way. The
//! deposit withheld is released after the institution's annual assessment (`deposits`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::clearing::{statement, ClearingRules, ClearingState, Declared, Deduction, SettledLine, Statement};
use yibao_core::payment::Subject;
use yibao_core::registry::Scheme;
use yibao_core::settlement::FundRow;
use yibao_core::{AdminCode, BankCardNumber, Fen, InvalidValue, Scope, Text};

use crate::db::query::{corrupt, date_from, region_from, Arg, Sql};
use crate::payments::{AccountGiver, NewOrder, Payee, PaymentOrder};
use crate::{Store, StoreError, WriteTx};

mod deposits;
mod objections;
pub use deposits::Assessment;
pub use objections::Objection;

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> StoreError {
    StoreError::Invalid(InvalidValue::new("clearing", code, zh, en))
}

/// A clearing of one institution and period.
#[derive(Debug, Clone, Serialize)]
pub struct Clearing {
    pub id: i64,
    /// `clr_appy_evt_id`, the number 3204 names.
    pub number: String,
    pub institution_id: i64,
    pub institution_code: String,
    pub institution_name: String,
    pub region: AdminCode,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub state: ClearingState,
    pub declared: Option<Declared>,
    pub statement: Statement,
    pub applied_by: String,
    pub applied_at: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub version: i64,
}

/// One line of a clearing: a settlement of the period, or a reversal carried in.
#[derive(Debug, Clone, Serialize)]
pub struct ClearingLine {
    pub setl_id: String,
    pub person_name: String,
    pub setl_date: NaiveDate,
    pub line: SettledLine,
}

/// The account a designated institution is paid to (对公账户), as it gave it.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionAccount {
    pub account_name: String,
    pub bank_name: String,
    #[serde(serialize_with = "masked")]
    pub account: BankCardNumber,
}

/// The account as the audit log keeps it: masked, with its digest.
fn masked<S: serde::Serializer>(account: &BankCardNumber, s: S) -> Result<S::Ok, S::Error> {
    yibao_core::bank_card::masked_for_audit(&Some(account.clone()), s)
}

/// A period's statement before anyone applies: what applying would build.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub statement: Statement,
    pub lines: Vec<ClearingLine>,
}

const COLS: &str = "cl.id, cl.number, cl.institution_id, i.code, i.name, cl.region, cl.period_start, cl.period_end, \
     cl.state, cl.declared, cl.statement, cl.applied_by, cl.applied_at, cl.reviewed_by, cl.reviewed_at, \
     cl.approved_by, cl.approved_at, cl.version";
const FROM: &str = "clearings cl JOIN institutions i ON i.id = cl.institution_id";

fn from_row(r: &AnyRow) -> Result<Clearing, StoreError> {
    let declared: Option<String> = r.try_get(9)?;
    let stmt: String = r.try_get(10)?;
    Ok(Clearing {
        id: r.try_get(0)?,
        number: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        institution_id: r.try_get(2)?,
        institution_code: r.try_get(3)?,
        institution_name: r.try_get(4)?,
        region: region_from(r.try_get(5)?)?,
        period_start: date_from("clearings.period_start", &r.try_get::<String, _>(6)?)?,
        period_end: date_from("clearings.period_end", &r.try_get::<String, _>(7)?)?,
        state: ClearingState::parse(&r.try_get::<String, _>(8)?).map_err(|e| corrupt("clearings.state", e))?,
        declared: declared
            .map(|d| serde_json::from_str(&d).map_err(|e| corrupt("clearings.declared", e)))
            .transpose()?,
        statement: serde_json::from_str(&stmt).map_err(|e| corrupt("clearings.statement", e))?,
        applied_by: r.try_get(11)?,
        applied_at: r.try_get(12)?,
        reviewed_by: r.try_get(13)?,
        reviewed_at: r.try_get(14)?,
        approved_by: r.try_get(15)?,
        approved_at: r.try_get(16)?,
        version: r.try_get(17)?,
    })
}

/// The figures of a settlement list that clearing reads.
#[derive(Deserialize)]
struct ListFigures {
    medfee_sumamt: Fen,
    acct_pay: Fen,
    #[serde(default)]
    acct_mulaid_pay: Fen,
    psn_cash_pay: Fen,
    funds: Vec<FundRow>,
}

/// Where an institution's clearing lines come from: a hospital's settlements, or a retail
/// pharmacy's purchases (2102), which only the individual accounts pay. Both tables name
/// their lines alike (`setl_id`, `status`, `setl_date`, `fund`, `cleared_in`,
/// `reversal_cleared_in`), so every filter below reads either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Settlements,
    Purchases,
}

impl Source {
    fn of(institution_code: &str) -> Source {
        if crate::individual::is_pharmacy_code(institution_code) {
            Source::Purchases
        } else {
            Source::Settlements
        }
    }

    fn table(self) -> &'static str {
        match self {
            Source::Settlements => "settlements",
            Source::Purchases => "pharmacy_purchases",
        }
    }

    /// The columns [`line_from_row`] reads: the line's number, scheme and figures, the
    /// person's name, the day and the fund; for a purchase its figures follow.
    fn select(self) -> String {
        let cols = match self {
            Source::Settlements => "s.setl_id, s.insutype, s.setl_list, p.name, s.setl_date, s.fund",
            Source::Purchases => {
                "s.setl_id, '310', '', p.name, s.setl_date, s.fund, \
                 s.medfee_sumamt, s.acct_pay + s.acct_mulaid_pay, s.psn_cash_pay"
            }
        };
        format!("SELECT {cols} FROM {} s JOIN persons p ON p.id = s.person_id", self.table())
    }
}

/// Which settlements a clearing takes: those of the period not cleared yet, or the
/// reversals, since, of settlements cleared before (carried into whichever clearing comes
/// next, never into the closed one).
#[derive(Clone, Copy)]
enum Take {
    Period,
    Carried,
}

/// The filter of [`Take`] on `settlements s`: `$1` the institution, and for the period `$2`
/// and `$3` its first and last day.
fn take_filter(take: Take) -> &'static str {
    match take {
        Take::Period => {
            "s.institution_id = $1 AND s.status = 'settled' AND s.cleared_in IS NULL \
             AND s.setl_date >= $2 AND s.setl_date <= $3"
        }
        // Only of a clearing approved: one still open may yet be withdrawn (3204), and its
        // settlements with it.
        Take::Carried => {
            "s.institution_id = $1 AND s.status = 'reversed' AND s.reversal_cleared_in IS NULL \
             AND s.cleared_in IN (SELECT c.id FROM clearings c WHERE c.state = 'approved')"
        }
    }
}

/// Binds [`take_filter`]'s arguments.
fn bind_take<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    take: Take,
    institution_id: i64,
    (start, end): (NaiveDate, NaiveDate),
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let q = q.bind(institution_id);
    match take {
        Take::Period => q.bind(start.to_string()).bind(end.to_string()),
        Take::Carried => q,
    }
}

fn line_from_row(r: &AnyRow, source: Source, carried: bool) -> Result<ClearingLine, StoreError> {
    let setl_id: String = r.try_get::<Option<String>, _>(0)?.unwrap_or_default();
    let insutype: String = r.try_get(1)?;
    let (medfee, pooled, critical, account, cash) = match source {
        Source::Settlements => {
            let list: String = r.try_get(2)?;
            let f: ListFigures = serde_json::from_str(&list).map_err(|e| corrupt("settlements.setl_list", e))?;
            let fund = |codes: [&str; 2]| {
                f.funds.iter().filter(|r| codes.contains(&r.fund_pay_type.as_str())).map(|r| r.amount).sum::<Fen>()
            };
            let account = f.acct_pay.saturating_add(f.acct_mulaid_pay);
            (f.medfee_sumamt, fund(["310100", "390100"]), fund(["330100", "390200"]), account, f.psn_cash_pay)
        }
        Source::Purchases => {
            let fen = |i: usize| r.try_get::<i64, _>(i).map(Fen::from_fen);
            (fen(6)?, Fen::ZERO, Fen::ZERO, fen(7)?, fen(8)?)
        }
    };
    let sign = |a: Fen| if carried { Fen::ZERO.saturating_sub(a) } else { a };
    let line = SettledLine {
        setl_id: setl_id.clone(),
        scheme: Scheme::parse(&insutype).map_err(|e| corrupt("settlements.insutype", e))?,
        medfee: sign(medfee),
        pooled: sign(pooled),
        critical: sign(critical),
        account: sign(account),
        cash: sign(cash),
        carried,
    };
    Ok(ClearingLine {
        setl_id,
        person_name: r.try_get(3)?,
        setl_date: date_from("settlements.setl_date", &r.try_get::<String, _>(4)?)?,
        line,
    })
}

/// The period's settlements and, in order, the reversals to carry that fit: a reversal is
/// carried only while what the fund owes stays at or above zero, otherwise it waits for a
/// later clearing, so a clearing never ends with the institution owing the fund.
fn with_carried(mut lines: Vec<ClearingLine>, carried: Vec<ClearingLine>) -> Vec<ClearingLine> {
    let owed = |l: &SettledLine| l.pooled.saturating_add(l.critical).saturating_add(l.account);
    let mut gross: Fen = lines.iter().map(|l| owed(&l.line)).sum();
    for c in carried {
        let after = gross.saturating_add(owed(&c.line));
        if !after.is_negative() {
            gross = after;
            lines.push(c);
        }
    }
    lines
}

/// The confirmed findings on the institution's settlements in force that cost it money and
/// that no clearing deducted yet, in the order they were confirmed. (A reversed settlement
/// paid nothing: there is nothing to deduct from it.)
const DEDUCTIBLE: &str = "SELECT h.id, s.setl_id, h.amount, h.rule_code, h.zh, h.en FROM supervision_hits h \
     JOIN settlements s ON s.id = h.settlement_id WHERE s.institution_id = $1 AND s.status = 'settled' \
     AND h.state = 'confirmed' AND h.consequence = 'deduct' AND h.amount > 0 AND h.deducted_in IS NULL \
     ORDER BY h.decided_at, h.id";

/// The deductions taken by approved clearings from the institution's settlements reversed
/// since, not given back yet, with whether the reversal was carried by an approved clearing
/// (column 6): a deduction is given back with its reversal, never before it.
const REFUNDABLE: &str = "SELECT h.id, s.setl_id, h.amount, h.rule_code, h.zh, h.en, \
     CASE WHEN s.reversal_cleared_in IS NULL THEN 0 ELSE 1 END FROM supervision_hits h \
     JOIN settlements s ON s.id = h.settlement_id WHERE s.institution_id = $1 AND s.status = 'reversed' \
     AND h.refunded_in IS NULL AND h.amount > 0 \
     AND h.deducted_in IN (SELECT c.id FROM clearings c WHERE c.state = 'approved') \
     AND (s.reversal_cleared_in IS NULL OR s.reversal_cleared_in IN (SELECT c.id FROM clearings c WHERE c.state = 'approved')) \
     ORDER BY h.id";

/// A deduction given back: the finding's amount, negative, with why.
fn refund_from_row(r: &AnyRow) -> Result<Deduction, StoreError> {
    let d = deduction_from_row(r)?;
    let setl = d.setl_id.clone().unwrap_or_default();
    Ok(Deduction {
        amount: Fen::ZERO.saturating_sub(d.amount),
        reason: Text::new(
            format!("结算 {setl} 已冲销，退回此前扣减（{}）", d.reason.zh),
            format!("settlement {setl} was reversed: the deduction is given back ({})", d.reason.en),
        ),
        ..d
    })
}

/// What a clearing of `lines` deducts and gives back: deductions given back for reversals
/// carried before or with these lines first, then the findings to deduct.
async fn deductions_for(
    conn: &mut crate::db::Conn,
    institution_id: i64,
    lines: &[ClearingLine],
) -> Result<Vec<Deduction>, StoreError> {
    let mut out = Vec::new();
    for r in &sqlx::query(REFUNDABLE).bind(institution_id).fetch_all(&mut *conn).await? {
        let carried_before = r.try_get::<i64, _>(6)? == 1;
        let setl_id: Option<String> = r.try_get(1)?;
        let carried_now = lines.iter().any(|l| l.line.carried && Some(&l.setl_id) == setl_id.as_ref());
        if carried_before || carried_now {
            out.push(refund_from_row(r)?);
        }
    }
    for r in &sqlx::query(DEDUCTIBLE).bind(institution_id).fetch_all(&mut *conn).await? {
        out.push(deduction_from_row(r)?);
    }
    Ok(out)
}

fn deduction_from_row(r: &AnyRow) -> Result<Deduction, StoreError> {
    let rule: String = r.try_get(3)?;
    let (zh, en): (String, String) = (r.try_get(4)?, r.try_get(5)?);
    Ok(Deduction {
        finding: r.try_get(0)?,
        setl_id: r.try_get(1)?,
        amount: Fen::from_fen(r.try_get(2)?),
        reason: Text::new(format!("{rule}：{zh}"), format!("{rule}: {en}")),
    })
}

impl Store {
    /// The region's clearing parameters in force on `day` (part of its claim rules).
    pub async fn clearing_rules(&self, region: AdminCode, day: NaiveDate) -> Result<ClearingRules, StoreError> {
        Ok(self.claim_rules(region, day).await?.0.clearing)
    }

    async fn period_lines<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
        e: E,
        inst: &crate::Institution,
        take: Take,
        (start, end): (NaiveDate, NaiveDate),
    ) -> Result<Vec<ClearingLine>, StoreError> {
        let source = Source::of(&inst.code);
        let sql = format!("{} WHERE {} ORDER BY s.setl_date, s.id", source.select(), take_filter(take));
        let rows = bind_take(sqlx::query(&sql), take, inst.id, (start, end)).fetch_all(e).await?;
        rows.iter().map(|r| line_from_row(r, source, matches!(take, Take::Carried))).collect()
    }

    /// The period `day` falls in, for `institution_id`, checked to be over by `today`.
    async fn period_for(
        &self,
        institution_id: i64,
        day: NaiveDate,
        today: NaiveDate,
    ) -> Result<(crate::Institution, ClearingRules, (NaiveDate, NaiveDate)), StoreError> {
        let inst = self.institution(institution_id).await?;
        let rules = self.clearing_rules(inst.region, today).await?;
        let (start, end) = rules.period_of(day);
        if end >= today {
            return Err(refuse(
                "period_open",
                format!("清算期 {start} 至 {end} 尚未结束，结束后才能申请清算"),
                format!("the period {start} to {end} is not over: apply once it is"),
            ));
        }
        Ok((inst, rules, (start, end)))
    }

    /// What applying for the period `day` falls in would build, without applying.
    pub async fn preview_clearing(
        &self,
        institution_id: i64,
        day: NaiveDate,
        today: NaiveDate,
    ) -> Result<Preview, StoreError> {
        let (inst, rules, period) = self.period_for(institution_id, day, today).await?;
        let mut conn = self.read_conn().await?;
        let lines = with_carried(
            Self::period_lines(&mut conn, &inst, Take::Period, period).await?,
            Self::period_lines(&mut conn, &inst, Take::Carried, period).await?,
        );
        let deductions = deductions_for(&mut conn, institution_id, &lines).await?;
        let releases = deposits::releases(&mut conn, institution_id).await?;
        let settled: Vec<SettledLine> = lines.iter().map(|l| l.line.clone()).collect();
        Ok(Preview {
            period_start: period.0,
            period_end: period.1,
            statement: statement(&settled, &deductions, rules.deposit, &releases, None),
            lines,
        })
    }

    /// The institution applies for clearing of the period `day` falls in (over by `today`),
    /// with its own figures when it sends them (3203): they must agree with yibao's, each
    /// difference named (run 3201 and 3202 first). The statement is built and every
    /// settlement, carried reversal and deducted finding marked with the clearing, at once.
    pub async fn apply_for_clearing(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        day: NaiveDate,
        declared: Option<Declared>,
        today: NaiveDate,
    ) -> Result<Clearing, StoreError> {
        let (inst, rules, period) = self.period_for(institution_id, day, today).await?;
        let open: Option<String> = sqlx::query_scalar(
            "SELECT number FROM clearings WHERE institution_id = $1 AND period_start = $2 AND state <> 'cancelled'",
        )
        .bind(institution_id)
        .bind(period.0.to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(number) = open {
            return Err(refuse(
                "applied",
                format!("{} 至 {} 已申请清算（{number}）", period.0, period.1),
                format!("the period {} to {} is applied for already ({number})", period.0, period.1),
            ));
        }
        let own = Self::period_lines(&mut *w.tx, &inst, Take::Period, period).await?;
        let lines = with_carried(own, Self::period_lines(&mut *w.tx, &inst, Take::Carried, period).await?);
        let deductions = deductions_for(&mut w.tx, institution_id, &lines).await?;
        let releases = deposits::releases(&mut w.tx, institution_id).await?;
        if lines.is_empty() && releases.is_empty() {
            return Err(refuse(
                "empty",
                format!("{} 至 {} 没有需要清算的结算", period.0, period.1),
                format!("nothing was settled from {} to {}", period.0, period.1),
            ));
        }
        let settled: Vec<SettledLine> = lines.iter().map(|l| l.line.clone()).collect();
        let s = statement(&settled, &deductions, rules.deposit, &releases, declared.as_ref());
        if !s.differences.is_empty() {
            let problems = s
                .differences
                .iter()
                .map(|d| {
                    InvalidValue::new(
                        "declared",
                        "differs",
                        format!("{}（请先用 3201/3202 对账）", d.zh),
                        format!("{} (reconcile with 3201 and 3202 first)", d.en),
                    )
                })
                .collect();
            return Err(StoreError::Problems(problems));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clearings (institution_id, region, period_start, period_end, state, declared, statement, \
             gross, deducted, deposit, net, applied_by, applied_at) \
             VALUES ($1, $2, $3, $4, 'applied', $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(institution_id)
        .bind(i64::from(inst.region.value()))
        .bind(period.0.to_string())
        .bind(period.1.to_string())
        .bind(declared.as_ref().map(to_json).transpose()?)
        .bind(to_json(&s)?)
        .bind(s.gross.fen())
        .bind(s.deducted.fen())
        .bind(s.deposit.fen())
        .bind(s.net.fen())
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        sqlx::query("UPDATE clearings SET number = $1 WHERE id = $2")
            .bind(format!("QS{}{id:08}", inst.region))
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let table = Source::of(&inst.code).table();
        let sql = format!(
            "UPDATE {table} SET cleared_in = $4 WHERE id IN (SELECT s.id FROM {table} s WHERE {})",
            take_filter(Take::Period)
        );
        let done =
            bind_take(sqlx::query(&sql), Take::Period, institution_id, period).bind(id).execute(&mut *w.tx).await?;
        if done.rows_affected() != s.settlements as u64 {
            return Err(StoreError::Stale("clearing"));
        }
        for l in lines.iter().filter(|l| l.line.carried) {
            let done = sqlx::query(&format!(
                "UPDATE {table} SET reversal_cleared_in = $1 WHERE setl_id = $2 AND institution_id = $3 \
                 AND reversal_cleared_in IS NULL"
            ))
            .bind(id)
            .bind(l.setl_id.clone())
            .bind(institution_id)
            .execute(&mut *w.tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Stale("clearing"));
            }
        }
        mark_deducted(w, &s.deductions, Some(id)).await?;
        deposits::mark_released(w, institution_id, &s.releases, id).await?;
        let out = self.clearing_in(w, id).await?;
        w.record("clearing.apply", "clearing", &id.to_string(), None::<&()>, Some(&out)).await?;
        Ok(out)
    }

    /// The institution withdraws its application (3204) before the agency reviewed it: its
    /// settlements, carried reversals and findings are free for the next application.
    pub async fn cancel_clearing(&self, w: &mut WriteTx, id: i64, institution_id: i64) -> Result<Clearing, StoreError> {
        let before = self.clearing_in(w, id).await?;
        if before.institution_id != institution_id {
            return Err(StoreError::NotFound("clearing"));
        }
        if before.state != ClearingState::Applied {
            return Err(refuse(
                "not_applied",
                format!("清算 {} {}，不能撤销", before.number, before.state.label().zh),
                format!("clearing {} is {}: it cannot be cancelled", before.number, before.state.label().en),
            ));
        }
        move_clearing(w, &before, ClearingState::Cancelled, "", &[]).await?;
        let table = Source::of(&before.institution_code).table();
        for sql in [
            format!("UPDATE {table} SET cleared_in = NULL WHERE cleared_in = $1"),
            format!("UPDATE {table} SET reversal_cleared_in = NULL WHERE reversal_cleared_in = $1"),
            "UPDATE supervision_hits SET deducted_in = NULL WHERE deducted_in = $1".into(),
            "UPDATE supervision_hits SET refunded_in = NULL WHERE refunded_in = $1".into(),
            "UPDATE clearings SET deposit_released_in = NULL WHERE deposit_released_in = $1".into(),
        ] {
            sqlx::query(&sql).bind(id).execute(&mut *w.tx).await?;
        }
        let after = self.clearing_in(w, id).await?;
        w.record("clearing.cancel", "clearing", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// An auditor reviews the statement at the `version` read: every objection decided.
    pub async fn review_clearing(&self, w: &mut WriteTx, id: i64, version: i64) -> Result<Clearing, StoreError> {
        let before = self.clearing_in(w, id).await?;
        expect(&before, ClearingState::Applied, version)?;
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM clearing_objections WHERE clearing_id = $1 AND state = 'open'")
                .bind(id)
                .fetch_one(&mut *w.tx)
                .await?;
        if open > 0 {
            return Err(refuse(
                "objections_open",
                format!("还有 {open} 项异议未处理"),
                format!("{open} objection(s) are not decided yet"),
            ));
        }
        let by = w.actor().label.clone();
        let at = w.at().to_string();
        move_clearing(w, &before, ClearingState::Reviewed, ", reviewed_by = $1, reviewed_at = $2", &[by, at]).await?;
        let after = self.clearing_in(w, id).await?;
        w.record("clearing.review", "clearing", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Finance approves a reviewed clearing at the `version` read — not whoever reviewed
    /// it — and, when the fund owes the institution something, the payment order to its
    /// account is made in this transaction (waiting for an account where none is given).
    pub async fn approve_clearing(
        &self,
        w: &mut WriteTx,
        id: i64,
        version: i64,
        today: NaiveDate,
    ) -> Result<(Clearing, Option<PaymentOrder>), StoreError> {
        let before = self.clearing_in(w, id).await?;
        expect(&before, ClearingState::Reviewed, version)?;
        let me = w.actor().label.clone();
        if before.reviewed_by.as_deref() == Some(me.as_str()) {
            return Err(refuse(
                "four_eyes",
                "清算须由审核人以外的另一名工作人员核准",
                "another member of staff than its reviewer approves a clearing",
            ));
        }
        let at = w.at().to_string();
        move_clearing(w, &before, ClearingState::Approved, ", approved_by = $1, approved_at = $2", &[me, at]).await?;
        self.book_clearing(w, &before).await?;
        let order = if before.statement.net.is_positive() {
            let account = self.institution_account_in(w, before.institution_id).await?;
            let (account_name, bank_name, card) = match account {
                Some(a) => (a.account_name, Some(a.bank_name), Some(a.account.to_string())),
                None => (before.institution_name.clone(), None, None),
            };
            let order = NewOrder {
                subject: Subject::Clearing(id),
                person_id: None,
                institution_id: Some(before.institution_id),
                region: before.region,
                payee: Payee::Institution,
                account_name,
                bank_name: bank_name.clone(),
                bank_card: card.clone(),
                // The institution gave its own account: nobody else is to confirm it.
                approved: (bank_name, card),
                unconfirmed_by: None,
                amount: before.statement.net,
                fund: None,
            };
            Some(self.insert_order(w, order, today).await?)
        } else {
            None
        };
        let after = self.clearing_in(w, id).await?;
        w.record("clearing.approve", "clearing", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok((after, order))
    }

    /// The institution gives (or changes) the account it is paid to; its orders not yet in a
    /// batch (waiting for an account, ready, or refused by the bank) take it at once.
    pub async fn set_institution_account(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        account_name: &str,
        bank_name: &str,
        account: &BankCardNumber,
    ) -> Result<InstitutionAccount, StoreError> {
        let (account_name, bank_name) = (account_name.trim(), bank_name.trim());
        let problems = yibao_core::clearing::account_problems(account_name, bank_name);
        if !problems.is_empty() {
            return Err(StoreError::Problems(problems));
        }
        let before = self.institution_account_in(w, institution_id).await?;
        sqlx::query(
            "UPDATE institutions SET bank_account_name = $1, bank_name = $2, bank_account = $3, version = version + 1 \
             WHERE id = $4",
        )
        .bind(account_name.to_string())
        .bind(bank_name.to_string())
        .bind(account.to_string())
        .bind(institution_id)
        .execute(&mut *w.tx)
        .await?;
        let after = InstitutionAccount {
            account_name: account_name.to_string(),
            bank_name: bank_name.to_string(),
            account: account.clone(),
        };
        w.record("institution.account", "institution", &institution_id.to_string(), before.as_ref(), Some(&after))
            .await?;
        let waiting: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM payment_orders WHERE institution_id = $1 AND state IN ('awaiting_account', 'ready', 'failed') \
             ORDER BY id",
        )
        .bind(institution_id)
        .fetch_all(&mut *w.tx)
        .await?;
        for order in waiting {
            self.give_payment_account(w, order, bank_name, account, &AccountGiver::Claimant).await?;
        }
        Ok(after)
    }

    async fn institution_account_in(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
    ) -> Result<Option<InstitutionAccount>, StoreError> {
        account_of(&mut *w.tx, institution_id).await
    }

    /// The account the institution gave, if it gave one.
    pub async fn institution_account(&self, institution_id: i64) -> Result<Option<InstitutionAccount>, StoreError> {
        account_of(&self.db.pool, institution_id).await
    }

    async fn clearing_in(&self, w: &mut WriteTx, id: i64) -> Result<Clearing, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE cl.id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("clearing"))?;
        from_row(&row)
    }

    pub async fn clearing(&self, id: i64) -> Result<Clearing, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE cl.id = $1"))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("clearing"))?;
        from_row(&row)
    }

    /// A clearing by its number, of one institution (3204).
    pub async fn clearing_by_number(&self, number: &str, institution_id: i64) -> Result<Clearing, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE cl.number = $1 AND cl.institution_id = $2"))
            .bind(number.to_string())
            .bind(institution_id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound("clearing"))?;
        from_row(&row)
    }

    /// An institution's clearings, newest period first.
    pub async fn clearings_of(&self, institution_id: i64) -> Result<Vec<Clearing>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE cl.institution_id = $1 ORDER BY cl.period_start DESC, cl.id DESC"
        ))
        .bind(institution_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The clearings of institutions in `scope`, newest first, at most `limit`.
    pub async fn clearings_in(&self, scope: &Scope, limit: i64) -> Result<Vec<Clearing>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLS} FROM {FROM} WHERE 1 = 1"));
        sql.scope_filter("cl.region", scope);
        let l = sql.arg(Arg::I(limit));
        sql.text.push_str(&format!(" ORDER BY cl.id DESC LIMIT {l}"));
        sql.fetch_all(&self.db).await?.iter().map(from_row).collect()
    }

    /// The settlements a clearing cleared and the reversals it carried, in order.
    pub async fn clearing_lines(&self, id: i64) -> Result<Vec<ClearingLine>, StoreError> {
        let c = self.clearing(id).await?;
        lines_of(&mut self.read_conn().await?, &c).await
    }

    /// The payment order of an approved clearing.
    pub async fn payment_of_clearing(&self, clearing_id: i64) -> Result<Option<PaymentOrder>, StoreError> {
        self.order_where("o.clearing_id", clearing_id).await
    }
}

/// One fund's part of an approved clearing.
struct FundPart {
    gross: Fen,
    deducted: Fen,
    deposit: Fen,
    released: Fen,
    forfeited: Fen,
}

impl Store {
    /// An approved clearing's figures by fund (`clearing_funds`) and its entry: in each fund,
    /// what was deducted is recovered and the deposit held, out of what the fund owed the
    /// institution; the net stays owed until its payment order is paid. The deposit is
    /// shared out across funds in proportion to what each owes after deductions, to the fen.
    async fn book_clearing(&self, w: &mut WriteTx, c: &Clearing) -> Result<(), StoreError> {
        use yibao_core::books::{allocate, Account, Entry, Fund};
        let mut parts: std::collections::BTreeMap<Fund, FundPart> = std::collections::BTreeMap::new();
        fn part(parts: &mut std::collections::BTreeMap<Fund, FundPart>, fund: Fund) -> &mut FundPart {
            parts.entry(fund).or_insert(FundPart {
                gross: Fen::ZERO,
                deducted: Fen::ZERO,
                deposit: Fen::ZERO,
                released: Fen::ZERO,
                forfeited: Fen::ZERO,
            })
        }
        let source = Source::of(&c.institution_code);
        for (column, carried) in [("cleared_in", false), ("reversal_cleared_in", true)] {
            let rows = sqlx::query(&format!("{} WHERE s.{column} = $1 ORDER BY s.id", source.select()))
                .bind(c.id)
                .fetch_all(&mut *w.tx)
                .await?;
            for r in &rows {
                let l = line_from_row(r, source, carried)?.line;
                let fund = Fund::parse(&r.try_get::<String, _>(5)?).map_err(|e| corrupt("settlements.fund", e))?;
                let p = part(&mut parts, fund);
                p.gross = p.gross.saturating_add(l.pooled.saturating_add(l.critical));
                let a = part(&mut parts, Fund::accounts_of(fund.region));
                a.gross = a.gross.saturating_add(l.account);
            }
        }
        for d in &c.statement.deductions {
            let fund: String = sqlx::query_scalar(
                "SELECT s.fund FROM supervision_hits h JOIN settlements s ON s.id = h.settlement_id WHERE h.id = $1",
            )
            .bind(d.finding)
            .fetch_one(&mut *w.tx)
            .await?;
            let p = part(&mut parts, Fund::parse(&fund).map_err(|e| corrupt("settlements.fund", e))?);
            p.deducted = p.deducted.saturating_add(d.amount);
        }
        let weights: Vec<Fen> = parts.values().map(|p| p.gross.saturating_sub(p.deducted)).collect();
        for (p, share) in parts.values_mut().zip(allocate(c.statement.deposit, &weights)) {
            p.deposit = share;
        }
        for (fund, released, forfeited) in deposits::release_parts(w, c).await? {
            let p = part(&mut parts, fund);
            p.released = p.released.saturating_add(released);
            p.forfeited = p.forfeited.saturating_add(forfeited);
        }
        let mut entry = Entry::new("clearing", c.number.clone());
        for (fund, p) in &parts {
            let net = p.gross.saturating_sub(p.deducted).saturating_sub(p.deposit).saturating_add(p.released);
            sqlx::query(
                "INSERT INTO clearing_funds (clearing_id, fund, gross, deducted, deposit, net, released, forfeited) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(c.id)
            .bind(fund.to_string())
            .bind(p.gross.fen())
            .bind(p.deducted.fen())
            .bind(p.deposit.fen())
            .bind(net.fen())
            .bind(p.released.fen())
            .bind(p.forfeited.fen())
            .execute(&mut *w.tx)
            .await?;
            entry = entry
                .transfer(*fund, Account::PayableInstitutions, Account::Recovered, p.deducted)
                .transfer(*fund, Account::PayableInstitutions, Account::DepositsHeld, p.deposit)
                // Released, the deposit is owed to the institution again; forfeited, it is
                // the fund's.
                .transfer(*fund, Account::DepositsHeld, Account::PayableInstitutions, p.released)
                .transfer(*fund, Account::DepositsHeld, Account::Recovered, p.forfeited);
        }
        crate::books::post(w, &entry).await
    }
}

async fn account_of<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    institution_id: i64,
) -> Result<Option<InstitutionAccount>, StoreError> {
    let row = sqlx::query("SELECT bank_account_name, bank_name, bank_account FROM institutions WHERE id = $1")
        .bind(institution_id)
        .fetch_optional(e)
        .await?;
    row.as_ref().map(account_from_row).transpose().map(Option::flatten)
}

/// The settlements (or purchases) clearing `c` cleared and the reversals it carried, in order.
pub(super) async fn lines_of(conn: &mut crate::db::Conn, c: &Clearing) -> Result<Vec<ClearingLine>, StoreError> {
    let source = Source::of(&c.institution_code);
    let mut out = Vec::new();
    for (column, carried) in [("cleared_in", false), ("reversal_cleared_in", true)] {
        let rows = sqlx::query(&format!("{} WHERE s.{column} = $1 ORDER BY s.setl_date, s.id", source.select()))
            .bind(c.id)
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            out.push(line_from_row(r, source, carried)?);
        }
    }
    Ok(out)
}

fn account_from_row(r: &AnyRow) -> Result<Option<InstitutionAccount>, StoreError> {
    let (name, bank, account): (Option<String>, Option<String>, Option<String>) =
        (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    match (name, bank, account) {
        (Some(account_name), Some(bank_name), Some(account)) => Ok(Some(InstitutionAccount {
            account_name,
            bank_name,
            account: BankCardNumber::corporate(&account).map_err(|e| corrupt("institutions.bank_account", e))?,
        })),
        _ => Ok(None),
    }
}

/// Checks a clearing is in `state` at `version`.
fn expect(c: &Clearing, state: ClearingState, version: i64) -> Result<(), StoreError> {
    if c.state != state {
        return Err(refuse(
            "state",
            format!("清算 {} {}", c.number, c.state.label().zh),
            format!("clearing {} is {}", c.number, c.state.label().en),
        ));
    }
    if c.version != version {
        return Err(StoreError::Stale("clearing"));
    }
    Ok(())
}

/// Moves a clearing to `to` (and `set`'s columns, bound to `binds` as `$1..`) at the version
/// it was read at.
async fn move_clearing(
    w: &mut WriteTx,
    c: &Clearing,
    to: ClearingState,
    set: &str,
    binds: &[String],
) -> Result<(), StoreError> {
    let n = binds.len();
    let sql = format!(
        "UPDATE clearings SET state = ${}, version = version + 1{set} WHERE id = ${} AND version = ${}",
        n + 1,
        n + 2,
        n + 3
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    let done = q.bind(to.code()).bind(c.id).bind(c.version).execute(&mut *w.tx).await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Stale("clearing"));
    }
    Ok(())
}

/// Marks the findings `deductions` names as deducted in `clearing`, or given back in it.
async fn mark_deducted(w: &mut WriteTx, deductions: &[Deduction], clearing: Option<i64>) -> Result<(), StoreError> {
    for d in deductions {
        let column = if d.amount.is_negative() { "refunded_in" } else { "deducted_in" };
        sqlx::query(&format!("UPDATE supervision_hits SET {column} = $1 WHERE id = $2"))
            .bind(clearing)
            .bind(d.finding)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(())
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| corrupt("clearings", e))
}
