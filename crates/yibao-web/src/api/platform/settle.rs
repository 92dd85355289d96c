//! The settlement transactions: 2301/2302 fee lines, 2402/2405 discharge, 2303
//! pre-settlement, 2304 settlement, 2305 reversal, 3201 and 3202 reconciliation — and their
//! outpatient twins (2204–2208), which take the same input.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_core::adjudicate::{FeeLine, LineOutcome, Outcome, Totals};
use yibao_core::platform::{Refusal, Request, TIME_FORMAT};
use yibao_core::Fen;
use yibao_store::{FeeUpload, Institution, SettleRequest, Store, VisitSnapshot, WriteTx};

use super::{bad_input, internal, refusal_of};

/// 2301's `feedetail` line, with the platform's names.
#[derive(Deserialize)]
struct FeeInput {
    #[serde(flatten)]
    line: FeeLine,
    #[serde(default)]
    mdtrt_id: String,
    #[serde(default)]
    init_feedetl_sn: Option<String>,
    #[serde(default)]
    medins_list_codg: String,
}

pub(super) fn str_at<'a>(input: &'a Value, pointer: &str) -> &'a str {
    input.pointer(pointer).and_then(Value::as_str).map(str::trim).unwrap_or("")
}

/// The four-way split of one line, as 2301 answers it.
fn line_result(l: &LineOutcome, refund_of: Option<&str>) -> Value {
    let entry = l.entry.as_deref();
    json!({
        "feedetl_sn": l.feedetl_sn, "init_feedetl_sn": refund_of, "med_list_codg": l.med_list_codg,
        "name": l.name(), "det_item_fee_sumamt": l.det_item_fee_sumamt,
        "chrgitm_lv": l.category.map(|c| c.code()), "med_chrgitm_type": l.kind,
        "list_sp_item_flag": if entry.is_none() { "1" } else { "0" },
        "selfpay_prop": entry.map(|e| e.selfpay_prop.to_string()),
        "pric_uplmt_amt": entry.and_then(|e| e.price_cap).map(|p| p.to_string()),
        "fulamt_ownpay_amt": l.fulamt_ownpay_amt, "overlmt_amt": l.overlmt_selfpay,
        "preselfpay_amt": l.preselfpay_amt, "inscp_scp_amt": l.inscp_scp_amt,
    })
}

/// 2301 / 2204 费用明细上传: stores the lines, then answers each with its result under the
/// stored policy and catalog (a refund line with the result of the line it refunds).
pub(super) async fn upload_fees(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
    snapshot: Option<VisitSnapshot>,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let lines: Vec<FeeInput> =
        serde_json::from_value(req.input.get("feedetail").cloned().unwrap_or(Value::Array(vec![])))
            .map_err(|e| bad_input(&req.infno, e))?;
    let Some(mdtrt_id) = lines.first().map(|l| l.mdtrt_id.trim().to_string()) else {
        return Err(bad_input(&req.infno, "feedetail is empty"));
    };
    if lines.iter().any(|l| l.mdtrt_id.trim() != mdtrt_id) {
        return Err(Refusal::new(
            "mdtrt_id",
            "一次上传的费用明细须属于同一就诊",
            "the lines of one upload must belong to one visit (mdtrt_id)",
        ));
    }
    let uploads: Vec<FeeUpload> = lines
        .iter()
        .map(|l| FeeUpload {
            line: l.line.clone(),
            init_feedetl_sn: l.init_feedetl_sn.clone(),
            medins_list_codg: l.medins_list_codg.clone(),
        })
        .collect();
    let rules = store.rules().await.map_err(|e| internal(&e))?;
    let request = SettleRequest { acct_used_flag: false, medfee_sumamt: None, setl_time: now };
    let outcome = match snapshot.filter(|s| s.mdtrt_id() == mdtrt_id) {
        Some(s) => store.upload_fees_previewed(w, &rules, inst, s, &uploads, &request).await,
        None => match store.upload_fees(w, inst.id, &mdtrt_id, &uploads).await {
            Ok(_) => store.pre_settle(w, &rules, inst, &mdtrt_id, &request).await,
            Err(e) => Err(e),
        },
    }
    .map_err(refusal_of)?;
    let result: Vec<Value> = lines
        .iter()
        .map(|l| {
            let sn = l.init_feedetl_sn.as_deref().filter(|_| l.line.cnt.is_sign_negative());
            let target = sn.unwrap_or(&l.line.feedetl_sn);
            // A line fully refunded drops out of the claim: its detail is null.
            let detail = outcome.lines.iter().find(|o| &*o.feedetl_sn == target).map(|o| line_result(o, sn));
            json!({ "uploaded_sn": l.line.feedetl_sn, "detail": detail })
        })
        .collect();
    Ok(json!({ "result": result }))
}

/// 2302 / 2205 费用明细撤销: `data { mdtrt_id, feedetl_sn }`; `feedetl_sn` "0000" (or
/// empty) undoes every line.
pub(super) async fn undo_fees(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let mdtrt_id = str_at(&req.input, "/data/mdtrt_id");
    let sn = str_at(&req.input, "/data/feedetl_sn");
    let sns: Vec<String> = match sn {
        "" | "0000" => vec![],
        s => s.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    };
    let undone = store.undo_fees(w, inst.id, mdtrt_id, &sns).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": mdtrt_id, "undone": undone } }))
}

#[derive(Deserialize)]
struct DischargeInput {
    dscginfo: DischargeInfo,
    #[serde(default)]
    diseinfo: Vec<super::DiseInfo>,
}

#[derive(Deserialize)]
struct DischargeInfo {
    mdtrt_id: String,
    endtime: String,
    #[serde(default)]
    dscg_way: String,
}

/// 2402 出院办理: `dscginfo { mdtrt_id, psn_no, endtime, dscg_way }` and the discharge
/// diagnoses.
pub(super) async fn discharge(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let input: DischargeInput = serde_json::from_value(req.input.clone()).map_err(|e| bad_input("2402", e))?;
    let endtime = NaiveDateTime::parse_from_str(input.dscginfo.endtime.trim(), TIME_FORMAT)
        .map_err(|e| bad_input("2402", format!("endtime: {e}")))?;
    let diagnoses = super::diagnoses(&input.diseinfo);
    let visit = store
        .discharge_visit(
            w,
            inst.id,
            input.dscginfo.mdtrt_id.trim(),
            endtime,
            input.dscginfo.dscg_way.trim(),
            &diagnoses,
        )
        .await
        .map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": visit.mdtrt_id, "endtime": visit.endtime, "status": visit.status.code() } }))
}

/// 2405 出院撤销: `data { mdtrt_id }`.
pub(super) async fn undo_discharge(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let visit = store.undo_discharge(w, inst.id, str_at(&req.input, "/data/mdtrt_id")).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": visit.mdtrt_id, "status": visit.status.code() } }))
}

/// 2303 and 2304's `data`.
#[derive(Deserialize)]
struct SettleInput {
    mdtrt_id: String,
    #[serde(default)]
    medfee_sumamt: Option<Fen>,
    #[serde(default)]
    acct_used_flag: Option<Value>,
}

fn settle_request(infno: &str, input: &Value, now: NaiveDateTime) -> Result<(String, SettleRequest), Refusal> {
    let data: SettleInput =
        serde_json::from_value(input.get("data").cloned().unwrap_or(Value::Null)).map_err(|e| bad_input(infno, e))?;
    let acct_used_flag = match &data.acct_used_flag {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "1" => true,
        Some(Value::String(s)) if s == "0" || s.is_empty() => false,
        Some(other) => return Err(bad_input(infno, format!("acct_used_flag {other} is not 1 or 0"))),
    };
    Ok((
        data.mdtrt_id.trim().to_string(),
        SettleRequest { acct_used_flag, medfee_sumamt: data.medfee_sumamt, setl_time: now },
    ))
}

/// The settlement result's amounts, with the platform's names.
fn setlinfo(t: &Totals) -> Value {
    json!({
        "medfee_sumamt": t.medfee_sumamt, "fulamt_ownpay_amt": t.fulamt_ownpay_amt,
        "overlmt_selfpay": t.overlmt_selfpay, "preselfpay_amt": t.preselfpay_amt,
        "inscp_scp_amt": t.inscp_scp_amt, "act_pay_dedc": t.act_pay_dedc, "hifp_pay": t.hifp_pay,
        "pool_prop_selfpay": t.pool_prop_selfpay, "hifmi_pay": t.hifmi_pay, "hifob_pay": t.hifob_pay,
        "fund_pay_sumamt": t.fund_pay_sumamt, "psn_part_amt": t.psn_part_amt, "acct_pay": t.acct_pay,
        "acct_mulaid_pay": t.acct_mulaid_pay, "psn_cash_pay": t.psn_cash_pay,
    })
}

fn outcome_output(mdtrt_id: &str, outcome: &Outcome) -> Value {
    let mut info = setlinfo(&outcome.totals);
    info["mdtrt_id"] = json!(mdtrt_id);
    info["policy"] = json!(outcome.policy);
    json!({
        "setlinfo": info,
        "detlcutinfo": outcome.lines.iter().map(|l| line_result(l, None)).collect::<Vec<_>>(),
        "explain": outcome.explain(yibao_core::Lang::Zh),
        "explain_en": outcome.explain(yibao_core::Lang::En),
    })
}

/// 2303 / 2206 预结算: the settlement as it would be now; nothing changes.
pub(super) async fn pre_settle(
    store: &Store,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let (mdtrt_id, request) = settle_request(&req.infno, &req.input, now)?;
    let rules = store.rules().await.map_err(|e| internal(&e))?;
    let outcome = store.pre_settle_read(&rules, inst, &mdtrt_id, &request).await.map_err(refusal_of)?;
    Ok(outcome_output(&mdtrt_id, &outcome))
}

/// 2304 / 2207 结算: `setlinfo` with the settlement ID and the account balance after it,
/// `setldetail` by fund, and the settlement list.
pub(super) async fn settle(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
    snapshot: Option<VisitSnapshot>,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let (mdtrt_id, request) = settle_request(&req.infno, &req.input, now)?;
    let rules = store.rules().await.map_err(|e| internal(&e))?;
    let s = store.settle_visit(w, &rules, inst, &mdtrt_id, &request, snapshot).await.map_err(refusal_of)?;
    let l = &s.list;
    Ok(json!({
        "setlinfo": {
            "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "psn_no": s.person_id.to_string(),
            "psn_name": l.basic.psn_name, "setl_time": s.setl_time, "insutype": l.basic.insutype,
            "medfee_sumamt": l.medfee_sumamt, "fulamt_ownpay_amt": l.fulamt_ownpay_amt,
            "overlmt_selfpay": l.overlmt_selfpay, "preselfpay_amt": l.preselfpay_amt,
            "inscp_scp_amt": l.inscp_scp_amt, "act_pay_dedc": l.act_pay_dedc,
            "fund_pay_sumamt": l.fund_pay_sumamt, "acct_pay": l.acct_pay, "acct_mulaid_pay": l.acct_mulaid_pay,
            "psn_cash_pay": l.psn_cash_pay, "balc": s.acct_balance,
        },
        "setldetail": l.funds.iter().map(|f| json!({
            "fund_pay_type": f.fund_pay_type, "fund_pay_type_name": f.label.zh, "fund_payamt": f.amount,
        })).collect::<Vec<_>>(),
        "setl_list": l,
    }))
}

/// 2305 / 2208 结算撤销: `data { setl_id, mdtrt_id }`; a settlement is reversed once.
pub(super) async fn reverse(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let setl_id = str_at(&req.input, "/data/setl_id");
    let mdtrt_id = str_at(&req.input, "/data/mdtrt_id");
    let s = store.reverse_settlement(w, inst.id, setl_id, mdtrt_id).await.map_err(refusal_of)?;
    let l = &s.list;
    let neg = |f: Fen| Fen::from_fen(-f.fen());
    Ok(json!({
        "setlinfo": {
            "setl_id": s.setl_id, "mdtrt_id": s.mdtrt_id, "status": "reversed",
            "medfee_sumamt": neg(l.medfee_sumamt), "fund_pay_sumamt": neg(l.fund_pay_sumamt),
            "acct_pay": neg(l.acct_pay), "acct_mulaid_pay": neg(l.acct_mulaid_pay), "psn_cash_pay": neg(l.psn_cash_pay), "balc": s.acct_balance,
        },
    }))
}

/// 3201's `data`: the institution's own totals for the period.
#[derive(Deserialize)]
struct StatementInput {
    #[serde(default)]
    insutype: String,
    stmt_begndate: String,
    stmt_enddate: String,
    medfee_sumamt: Fen,
    fund_pay_sumamt: Fen,
    #[serde(default)]
    acct_pay: Fen,
    fixmedins_setl_cnt: i64,
}

/// A reconciliation's period (`stmt_begndate`..`stmt_enddate`, days) and scheme.
fn period<'a>(
    infno: &str,
    begin: &str,
    end: &str,
    insutype: &'a str,
) -> Result<(NaiveDate, NaiveDate, Option<&'a str>), Refusal> {
    let day =
        |s: &str| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").map_err(|e| bad_input(infno, e));
    let (from, to) = (day(begin)?, day(end)?);
    if to < from {
        return Err(bad_input(infno, "stmt_enddate is before stmt_begndate"));
    }
    Ok((from, to, Some(insutype.trim()).filter(|s| !s.is_empty())))
}

/// 3201 对总账: compares the institution's totals for the period with yibao's;
/// `stmt_rslt` 0 when they agree, 1 with what differs.
pub(super) async fn reconcile(store: &Store, inst: &Institution, req: &Request) -> Result<Value, Refusal> {
    let d: StatementInput = serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_input("3201", e))?;
    let (from, to, insutype) = period("3201", &d.stmt_begndate, &d.stmt_enddate, &d.insutype)?;
    let ours = store.reconciliation(inst.id, from, to, insutype).await.map_err(|e| internal(&e))?;
    let mut differs = Vec::new();
    if ours.setl_cnt != d.fixmedins_setl_cnt {
        differs.push(format!("笔数 {} ≠ {}", d.fixmedins_setl_cnt, ours.setl_cnt));
    }
    for (name, theirs, mine) in [
        ("medfee_sumamt", d.medfee_sumamt, ours.medfee_sumamt),
        ("fund_pay_sumamt", d.fund_pay_sumamt, ours.fund_pay_sumamt),
        ("acct_pay", d.acct_pay, ours.acct_pay),
    ] {
        if theirs != mine {
            differs.push(format!("{name} {theirs} ≠ {mine}"));
        }
    }
    Ok(json!({
        "stmtinfo": {
            "stmt_rslt": if differs.is_empty() { "0" } else { "1" },
            "stmt_rslt_dscr": if differs.is_empty() { "对账一致".to_string() } else {
                format!("对账不一致（机构 ≠ 医保）：{}", differs.join("；"))
            },
            "setl_cnt": ours.setl_cnt, "medfee_sumamt": ours.medfee_sumamt,
            "fund_pay_sumamt": ours.fund_pay_sumamt, "acct_pay": ours.acct_pay,
        }
    }))
}

/// The most settlements one 3202 request may list.
const MAX_DETAILS: usize = 20_000;

/// 3202's `data`: the period and the institution's settlements in force, one by one.
#[derive(Deserialize)]
struct DetailStatementInput {
    #[serde(default)]
    insutype: String,
    stmt_begndate: String,
    stmt_enddate: String,
    #[serde(default)]
    detail: Vec<yibao_core::platform::SettlementFigures>,
}

/// 3202 对明细账: compares the institution's settlements for the period with yibao's, one by
/// one by `setl_id`; `stmt_rslt` 0 when every one agrees, 1 with `detail[]` naming each that
/// does not (`1` only in yibao, `2` only at the institution, `3` amounts differ) with both
/// sides' figures.
pub(super) async fn reconcile_details(store: &Store, inst: &Institution, req: &Request) -> Result<Value, Refusal> {
    let d: DetailStatementInput = serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_input("3202", e))?;
    if d.detail.len() > MAX_DETAILS {
        return Err(bad_input("3202", format!("at most {MAX_DETAILS} settlements per request; split the period")));
    }
    let (from, to, insutype) = period("3202", &d.stmt_begndate, &d.stmt_enddate, &d.insutype)?;
    let ours = store.reconciliation_details(inst.id, from, to, insutype).await.map_err(|e| internal(&e))?;
    let differences = yibao_core::platform::reconcile_details(&ours, &d.detail);
    let figures = |f: &Option<yibao_core::platform::SettlementFigures>| {
        f.as_ref().map(|f| json!({ "medfee_sumamt": f.medfee_sumamt, "fund_pay_sumamt": f.fund_pay_sumamt, "acct_pay": f.acct_pay }))
    };
    let detail: Vec<Value> = differences
        .iter()
        .map(|x| {
            let mdtrt_id = x.ours.as_ref().or(x.theirs.as_ref()).map(|f| f.mdtrt_id.clone()).unwrap_or_default();
            json!({
                "setl_id": x.setl_id, "mdtrt_id": mdtrt_id, "stmt_rslt": x.result.code(),
                "stmt_rslt_dscr": x.result.label().zh, "stmt_rslt_dscr_en": x.result.label().en,
                "medins": figures(&x.theirs), "hi": figures(&x.ours),
            })
        })
        .collect();
    let total = |v: &[yibao_core::platform::SettlementFigures]| -> (Fen, Fen, Fen) {
        (
            v.iter().map(|s| s.medfee_sumamt).sum(),
            v.iter().map(|s| s.fund_pay_sumamt).sum(),
            v.iter().map(|s| s.acct_pay).sum(),
        )
    };
    let (medfee, fund, acct) = total(&ours);
    Ok(json!({
        "stmtinfo": {
            "stmt_rslt": if detail.is_empty() { "0" } else { "1" },
            "stmt_rslt_dscr": if detail.is_empty() { "对账一致".to_string() } else {
                format!("{} 笔结算不一致", detail.len())
            },
            "setl_cnt": ours.len(), "fixmedins_setl_cnt": d.detail.len(),
            "medfee_sumamt": medfee, "fund_pay_sumamt": fund, "acct_pay": acct,
        },
        "detail": detail,
    }))
}
