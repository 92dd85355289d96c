//! Direct settlement of a visit (2301–2305): fee lines uploaded by the hospital, discharge,
//! pre-settlement, settlement and its reversal. A settlement runs the engine under the
//! policy of the settlement day's insurance year, adds its delta to the person's running
//! totals for that year and debits the individual account — in the caller's one write
//! transaction, which holds the database's write lock from its start, so two settlements
//! for one person run one after the other. A reversal takes back exactly what the
//! settlement added, once.
//!
//! The visit (admission and its change and undoing, 2401–2404) is in `visits.rs`; fee lines
//! and discharge (2301, 2302, 2402, 2405) in `fees.rs`; settling and reversal in `settle.rs`;
//! the running totals and the individual account in `account.rs`; the stored settlements and
//! reconciliation in `queries.rs`.

mod account;
mod fees;
mod queries;
mod settle;
mod visits;

pub use settle::VisitSnapshot;
pub use visits::{Admission, Diagnosis, DirectCover, Visit, VisitStatus};

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::adjudicate::{net_refunds, Claim, DateText, Engine, FeeLine, MedType, Outcome, YearToDate};
use yibao_core::cover::FilingType;
use yibao_core::settlement::{BasicInfo, ListDiagnosis, SettlementList};
use yibao_core::{Fen, InsuranceYear, InvalidValue};

use visits::{refuse, visit_by_mdtrt};

use crate::db::query::{corrupt, json};
use crate::db::Conn;
use crate::registry::{fetch_person, Institution};
use crate::rules::Rules;
use crate::{Store, StoreError, WriteTx};

/// One uploaded fee line (2301 `feedetail`), as the hospital sent it.
#[derive(Debug, Clone)]
pub struct FeeUpload {
    pub line: FeeLine,
    /// For a refund (negative `cnt`): the line refunded.
    pub init_feedetl_sn: Option<String>,
    /// The hospital's own item code.
    pub medins_list_codg: String,
}

/// A stored fee line.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFee {
    pub feedetl_sn: String,
    pub init_feedetl_sn: Option<String>,
    pub med_list_codg: String,
    pub medins_list_codg: String,
    pub cnt: Decimal,
    pub pric: Decimal,
    pub det_item_fee_sumamt: Fen,
    pub fee_ocur_time: String,
}

/// What a settlement (2304) asks for.
#[derive(Debug, Clone)]
pub struct SettleRequest {
    /// 个人账户使用标志
    pub acct_used_flag: bool,
    /// The total the hospital computed; refused when it differs from the lines'.
    pub medfee_sumamt: Option<Fen>,
    /// The settlement's moment (China time), `YYYY-MM-DD HH:MM:SS`; its day selects the policy.
    pub setl_time: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    Settled,
    Reversed,
}

/// A settlement made, with the engine's outcome and the settlement list.
#[derive(Debug, Clone, Serialize)]
pub struct Settlement {
    pub id: i64,
    pub setl_id: String,
    pub mdtrt_id: String,
    pub visit_id: i64,
    pub person_id: i64,
    pub institution_id: i64,
    pub year: i32,
    pub setl_time: String,
    pub status: SettlementStatus,
    pub list: SettlementList,
    /// The engine's outcome as stored (JSON): lines, trace, totals before and after.
    #[serde(skip)]
    pub outcome: String,
    pub ytd_delta: YearToDate,
    /// The individual account's balance after the settlement (or its reversal), if the
    /// person has an account.
    pub acct_balance: Option<Fen>,
}

/// 3201's totals for a period: settlements in force, by what the institution was paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub setl_cnt: i64,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
}

/// A person's individual account: its balance and every entry, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct IndividualAccount {
    pub person_id: i64,
    pub balance: Fen,
    pub entries: Vec<AccountEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountEntry {
    /// `opening`, `settlement`, `reversal`, `credit`, `pharmacy`, `pharmacy_reversal`,
    /// `withdrawal`.
    pub kind: String,
    pub amount: Fen,
    pub balance_after: Fen,
    pub setl_id: Option<String>,
    pub at: String,
    /// The month a credit is for.
    pub credit_month: Option<String>,
    /// The family member whose purchase or settlement drew on the account (门诊共济).
    pub drawn_by: Option<i64>,
    /// The purchase's or withdrawal's own number.
    pub reference: Option<String>,
    /// Where the money came from or went, in both languages.
    pub note: Option<yibao_core::Text>,
}

fn fee_from_row(r: &AnyRow) -> Result<StoredFee, StoreError> {
    let cnt: String = r.try_get(4)?;
    let pric: String = r.try_get(5)?;
    Ok(StoredFee {
        feedetl_sn: r.try_get(0)?,
        init_feedetl_sn: r.try_get(1)?,
        med_list_codg: r.try_get(2)?,
        medins_list_codg: r.try_get(3)?,
        cnt: cnt.parse().map_err(|e| corrupt("fee_lines.cnt", e))?,
        pric: pric.parse().map_err(|e| corrupt("fee_lines.pric", e))?,
        det_item_fee_sumamt: Fen::from_fen(r.try_get(6)?),
        fee_ocur_time: r.try_get(7)?,
    })
}

const FEE_COLS: &str =
    "feedetl_sn, init_feedetl_sn, med_list_codg, medins_list_codg, cnt, pric, det_item_fee_sumamt, fee_ocur_time";

const SETTLEMENT_COLS: &str =
    "s.id, s.setl_id, v.mdtrt_id, s.visit_id, s.person_id, s.institution_id, s.year, s.setl_time, s.status, \
     s.setl_list, s.outcome, s.ytd_delta";

fn settlement_from_row(r: &AnyRow) -> Result<Settlement, StoreError> {
    let status: String = r.try_get(8)?;
    let list: String = r.try_get(9)?;
    let delta: String = r.try_get(11)?;
    Ok(Settlement {
        id: r.try_get(0)?,
        setl_id: r.try_get(1)?,
        mdtrt_id: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        visit_id: r.try_get(3)?,
        person_id: r.try_get(4)?,
        institution_id: r.try_get(5)?,
        year: i32::try_from(r.try_get::<i64, _>(6)?).map_err(|e| corrupt("settlements.year", e))?,
        setl_time: r.try_get(7)?,
        status: match status.as_str() {
            "settled" => SettlementStatus::Settled,
            "reversed" => SettlementStatus::Reversed,
            other => return Err(corrupt("settlements.status", other)),
        },
        list: serde_json::from_str(&list).map_err(|e| corrupt("settlements.setl_list", e))?,
        outcome: r.try_get(10)?,
        ytd_delta: serde_json::from_str(&delta).map_err(|e| corrupt("settlements.ytd_delta", e))?,
        acct_balance: None,
    })
}

fn med_type_of(visit: &Visit) -> Result<MedType, StoreError> {
    MedType::parse(&visit.med_type).map_err(|e| corrupt("visits.med_type", e.message.en))
}

/// What 2303 and 2304 share: the person, the year, the engine's outcome, and the versions
/// of the running totals and the account that were read.
/// A visit's active fee lines, in upload order.
async fn active_fees(conn: &mut Conn, visit_id: i64) -> Result<Vec<StoredFee>, StoreError> {
    let rows =
        sqlx::query(&format!("SELECT {FEE_COLS} FROM fee_lines WHERE visit_id = $1 AND status = 'active' ORDER BY id"))
            .bind(visit_id)
            .fetch_all(conn)
            .await?;
    rows.iter().map(fee_from_row).collect()
}

/// Moves the visit's version because its fee lines change: a write that read the lines
/// before (a settlement from a snapshot) is then refused as stale. Refused as stale itself if
/// the visit moved since `visit` was read.
async fn bump_visit(w: &mut WriteTx, visit: &Visit) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE visits SET version = version + 1 WHERE id = $1 AND version = $2")
        .bind(visit.id)
        .bind(visit.version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(StoreError::Stale("visit"));
    }
    Ok(())
}

/// Fee lines and settlement need a visit still open (admitted or discharged).
fn require_open(visit: &Visit, zh: &str, en: &str) -> Result<(), StoreError> {
    match visit.status {
        VisitStatus::Admitted | VisitStatus::Discharged => Ok(()),
        status => Err(refuse(
            "visit_closed",
            format!("就诊 {} 状态为{}，不能{zh}", visit.mdtrt_id, status.label().zh),
            format!("visit {} is {}: {en}", visit.mdtrt_id, status.label().en),
        )),
    }
}
