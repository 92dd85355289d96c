//! 3203 清算申请 and 3204 清算申请撤销: an institution applies for clearing of a period from its
//! HIS with its own figures, or withdraws the application before the agency reviews it. The
//! statement is yibao's own (`Store::apply_for_clearing`); figures that differ from it refuse
//! the application, every difference named (3201 and 3202 find them first).

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_core::clearing::Declared;
use yibao_core::platform::{Refusal, Request};
use yibao_core::{Fen, Text};
use yibao_store::{Institution, Store, StoreError, WriteTx};

use super::settle::str_at;
use super::{bad_input, refusal_of};

/// 3203's `data`, with the platform's names. `clr_type` and `clr_way` are accepted and not
/// used: yibao clears all of an institution's settlements of a period in one application.
#[derive(Deserialize)]
struct ApplyInput {
    /// `YYYYMM`, the month applied for; or `begndate`, a day of the period.
    #[serde(default)]
    setlym: String,
    #[serde(default)]
    begndate: String,
    psntime: i64,
    medfee_sumamt: Fen,
    fund_appy_sum: Fen,
    #[serde(default)]
    acct_pay: Fen,
    #[serde(default)]
    cash_payamt: Fen,
}

/// A day of the period 3203 names.
fn period_day(d: &ApplyInput) -> Result<NaiveDate, Refusal> {
    let ym = d.setlym.trim();
    if ym.len() == 6 {
        return NaiveDate::parse_from_str(&format!("{ym}01"), "%Y%m%d").map_err(|e| bad_input("3203", e));
    }
    let b = d.begndate.trim();
    NaiveDate::parse_from_str(b.get(..10).unwrap_or(b), "%Y-%m-%d")
        .map_err(|_| bad_input("3203", "give setlym (YYYYMM) or begndate (YYYY-MM-DD)"))
}

/// 3203: `output.result { clr_appy_evt_id, ... }` with yibao's statement.
pub(super) async fn apply(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
    today: NaiveDate,
) -> Result<Value, Refusal> {
    let d: ApplyInput = serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_input("3203", e))?;
    let declared = Declared {
        psntime: d.psntime,
        medfee_sumamt: d.medfee_sumamt,
        fund_appy_sum: d.fund_appy_sum,
        acct_pay: d.acct_pay,
        cash_payamt: d.cash_payamt,
    };
    let c = match store.apply_for_clearing(w, inst.id, period_day(&d)?, Some(declared), today).await {
        Ok(c) => c,
        // Every difference at once, not the first.
        Err(StoreError::Problems(p)) if p.iter().all(|v| v.code == "differs") => {
            let zh: Vec<String> = p.iter().map(|v| v.message.zh.clone()).collect();
            let en: Vec<String> = p.iter().map(|v| v.message.en.clone()).collect();
            return Err(Refusal { code: "differs", message: Text::new(zh.join("；"), en.join("; ")) });
        }
        Err(e) => return Err(refusal_of(e)),
    };
    let s = &c.statement;
    Ok(json!({
        "result": {
            "clr_appy_evt_id": c.number, "begndate": c.period_start.to_string(), "enddate": c.period_end.to_string(),
            "psntime": s.settlements, "carried": s.carried, "medfee_sumamt": s.medfee,
            "fund_appy_sum": s.pooled.saturating_add(s.critical), "acct_pay": s.account, "cash_payamt": s.cash,
            "deducted": s.deducted, "deposit": s.deposit, "net": s.net,
            "fund": s.funds.iter().map(|f| json!({ "fund_pay_type": f.fund_pay_type, "fund_payamt": f.amount })).collect::<Vec<_>>(),
        }
    }))
}

/// 3204: withdraws the application `clr_appy_evt_id` while it waits for review.
pub(super) async fn cancel(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let number = str_at(&req.input, "/data/clr_appy_evt_id").trim();
    if number.is_empty() {
        return Err(bad_input("3204", "clr_appy_evt_id is required"));
    }
    let c = store.clearing_by_number(number, inst.id).await.map_err(refusal_of)?;
    let c = store.cancel_clearing(w, c.id, inst.id).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "clr_appy_evt_id": c.number, "status": c.state.code() } }))
}
