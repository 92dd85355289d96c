//! The national platform endpoint (`POST /fsi/api/rsfComIfsService/callService`, the path
//! hospital systems already call): one envelope in, one envelope out, always HTTP 200 with
//! `infcode` 0 or -1, as the platform answers.
//!
//! Order of checks: the envelope parses; the institution exists and the body's signature
//! verifies with one of its secrets; the `msgid` is well formed — and if it was answered
//! before, the same answer is returned (a different request under the same `msgid` is
//! refused); `inf_time` is within the window; the institution is designated today; the
//! transaction is supported; the operator is signed in (except for 9001 itself). Then the
//! transaction runs in one write transaction that also records its answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use yibao_core::platform::{
    check_infno, check_msgid, check_time, Refusal, Request, Response, SignType, SIGNATURE_HEADER, TIME_FORMAT,
};
use yibao_core::registry::PersonStatus;
use yibao_store::{Actor, Institution, Store, StoreError, StoredReply};

use crate::SharedState;

mod analyse;
mod clearing;
mod pharmacy;
mod settle;

/// Each supported transaction's `input` and `output`, with the platform's field names (the
/// OpenAPI document and `docs/formats/platform.md` show them).
pub const TRANSACTIONS: &[(&str, &str, &str)] = &[
    ("9001", "`signIn { opter }`", "`signinoutb { sign_time, sign_no }`"),
    ("1101", "`data { mdtrt_cert_type, mdtrt_cert_no, certno, psn_name }`", "`baseinfo`, `insuinfo[]`, `idetinfo[]`, `cardinfo`, `fileinfo[]`, `coverinfo`"),
    ("2401", "`mdtrtinfo { psn_no, insutype, begntime, med_type, ipt_no }`, `diseinfo[] { diag_code, diag_name, maindiag_flag }`", "`result { mdtrt_id, psn_no, ipt_otp_no }`"),
    ("2403", "`adminfo { mdtrt_id, psn_no, begntime, ipt_no }`, `diseinfo[]`", "`result { mdtrt_id, ipt_otp_no, begntime }`"),
    ("2404", "`data { mdtrt_id, psn_no }`", "`result { mdtrt_id, status }`"),
    ("2301", "`feedetail[] { feedetl_sn, init_feedetl_sn, mdtrt_id, med_list_codg, medins_list_codg, cnt, pric, det_item_fee_sumamt, fee_ocur_time }` (a refund: negative `cnt` naming `init_feedetl_sn`)", "`result[] { uploaded_sn, detail { feedetl_sn, chrgitm_lv, med_chrgitm_type, selfpay_prop, pric_uplmt_amt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt } }`"),
    ("2302", "`data { mdtrt_id, feedetl_sn }` (`0000`: every line)", "`result { mdtrt_id, undone }`"),
    ("2402", "`dscginfo { mdtrt_id, endtime, dscg_way }`, `diseinfo[]`", "`result { mdtrt_id, endtime, status }`"),
    ("2405", "`data { mdtrt_id }`", "`result { mdtrt_id, status }`"),
    ("2303", "`data { mdtrt_id, medfee_sumamt, acct_used_flag }`", "`setlinfo` (the amounts below, no `setl_id`), `detlcutinfo[]`, `explain[]`, `explain_en[]`; nothing is stored"),
    ("2304", "`data { mdtrt_id, medfee_sumamt, acct_used_flag }`", "`setlinfo { setl_id, mdtrt_id, psn_no, psn_name, setl_time, medfee_sumamt, fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc, fund_pay_sumamt, acct_pay, acct_mulaid_pay (a family member's account, 门诊共济), psn_cash_pay, balc }`, `setldetail[] { fund_pay_type, fund_pay_type_name, fund_payamt }`, `setl_list`"),
    ("2305", "`data { setl_id, mdtrt_id }`", "`setlinfo { setl_id, mdtrt_id, status, medfee_sumamt, fund_pay_sumamt, acct_pay, acct_mulaid_pay, psn_cash_pay, balc }` (amounts negative)"),
    ("2201", "`data { psn_no, insutype, begntime, ipt_otp_no, med_type }`", "`data { mdtrt_id, psn_no, ipt_otp_no }`"),
    ("2202", "as 2404", "as 2404"),
    ("2203", "`mdtrtinfo { mdtrt_id }`, `diseinfo[]`", "`result { mdtrt_id, diseinfo }`"),
    ("2204", "as 2301", "as 2301"),
    ("2205", "as 2302", "as 2302"),
    ("2206", "as 2303", "as 2303"),
    ("2207", "as 2304", "as 2304"),
    ("2208", "as 2305", "as 2305"),
    ("2101", "`druginfo { psn_no, medfee_sumamt, invono, acct_used_flag }`, `drugdetail[] { feedetl_sn, med_list_codg, cnt, pric, det_item_fee_sumamt }` (a designated pharmacy's, `P…`)", "`setlinfo { psn_no, psn_name, medfee_sumamt, inscp_scp_amt, fund_pay_sumamt, acct_pay, acct_mulaid_pay (a family member's account, 门诊共济), psn_cash_pay, balc }`, `detlcutinfo[]`, `explain`; nothing is stored"),
    ("2102", "as 2101", "as 2101, with `setl_id`"),
    ("2103", "`data { setl_id }`", "the reversed purchase's `setlinfo` (`status`: `reversed`)"),
    ("3201", "`data { insutype, stmt_begndate, stmt_enddate, medfee_sumamt, fund_pay_sumamt, acct_pay, fixmedins_setl_cnt }`", "`stmtinfo { stmt_rslt (0 agrees, 1 differs), stmt_rslt_dscr, setl_cnt, medfee_sumamt, fund_pay_sumamt, acct_pay }`"),
    ("3101", "`data { rule_ids[], trig_scen, patient_dtos[] { patn_id (psn_no), gend, brdy, poolarea, fsi_encounter_dtos[] { mdtrt_id, adm_date, dscg_date, dscg_main_dise_codg, med_type, fsi_diagnose_dtos[] { dise_codg, maindise_flag }, fsi_order_dtos[] { rx_id, hilist_code, cnt, sumamt, drord_begn_date } } } }`", "`result[] { jr_id, rule_id, rule_name, vola_cont, vola_cont_en, patn_id, mdtrt_id, vola_amt, sev_deg (1 hint, 2 suspect, 3 violation), vola_evid, judge_result_detail_dtos[] { jrd_id, patn_id, mdtrt_id, rx_id, vola_amt } }`; nothing is stored"),
    ("3102", "as 3101", "as 3101"),
    ("3203", "`data { setlym (YYYYMM) or begndate, psntime, medfee_sumamt, fund_appy_sum, acct_pay, cash_payamt, clr_type, clr_way }` (the institution's figures must agree with yibao's)", "`result { clr_appy_evt_id, begndate, enddate, psntime, carried, medfee_sumamt, fund_appy_sum, acct_pay, cash_payamt, deducted, deposit, net, fund[] { fund_pay_type, fund_payamt } }`"),
    ("3204", "`data { clr_appy_evt_id, clr_optins }`", "`result { clr_appy_evt_id, status }` (only before the agency reviews it)"),
    ("3202", "`data { insutype, stmt_begndate, stmt_enddate, detail[] { setl_id, mdtrt_id, medfee_sumamt, fund_pay_sumamt, acct_pay } }`", "`stmtinfo { stmt_rslt, stmt_rslt_dscr, setl_cnt, fixmedins_setl_cnt, medfee_sumamt, fund_pay_sumamt, acct_pay }`, `detail[] { setl_id, mdtrt_id, stmt_rslt (1 only in yibao, 2 only at the institution, 3 amounts differ), stmt_rslt_dscr, medins, hi }`"),
];

/// The transactions as a Markdown table, for the OpenAPI document.
pub fn transactions_markdown() -> String {
    let mut md = String::from(
        "One endpoint for every transaction: the request envelope (`infno`, `msgid`, `inf_time`, \
         `fixmedins_code`, `sign_no`, `signtype`, `input`, ...) signed over the exact body in the \
         `x-tif-signature` header (HMAC-SM3 by default, HMAC-SHA256 or an SM2 signature with the \
         institution's registered public key when `signtype` says so). \
         A retried `msgid` gets the stored answer. Any other `infno` is refused with the list below.\n\n\
         | infno | transaction | input | output |\n|---|---|---|---|\n",
    );
    for (code, zh, en) in yibao_core::platform::SUPPORTED {
        let (input, output) = TRANSACTIONS.iter().find(|(c, _, _)| c == code).map_or(("", ""), |(_, i, o)| (*i, *o));
        md.push_str(&format!("| {code} | {zh} ({en}) | {input} | {output} |\n"));
    }
    md
}

/// Now, in China (UTC+8): the platform's clock.
fn china_now() -> NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

fn envelope(now: NaiveDateTime, result: Result<Value, Refusal>) -> Response {
    let stamp = now.format(TIME_FORMAT).to_string();
    let mut tail = [0u8; 4];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut tail);
    let inf_refmsgid = format!("YB{}{:010}", now.format("%Y%m%d%H%M%S"), u32::from_be_bytes(tail));
    match result {
        Ok(output) => Response {
            infcode: 0,
            inf_refmsgid,
            refmsg_time: stamp.clone(),
            respond_time: stamp,
            err_msg: None,
            err_msg_en: None,
            err_code: None,
            output,
        },
        Err(r) => Response {
            infcode: -1,
            inf_refmsgid,
            refmsg_time: stamp.clone(),
            respond_time: stamp,
            err_msg: Some(r.message.zh),
            err_msg_en: Some(r.message.en),
            err_code: Some(r.code.to_string()),
            output: Value::Null,
        },
    }
}

/// A store failure: nothing was done, and the same message may be sent again later.
pub(super) fn internal(e: &StoreError) -> Refusal {
    tracing::error!(error = %e, "platform transaction failed");
    if let StoreError::Unwritable(_) = e {
        return Refusal::new(
            UNWRITABLE,
            "医保系统暂时无法保存（磁盘已满或只读），报文未处理，请稍后以同一报文ID重试",
            "yibao cannot save just now (disk full or read-only); nothing was done, send the same msgid again later",
        );
    }
    Refusal::new(INTERNAL, "系统内部错误，请稍后重试（报文未处理）", "internal error; retry later (nothing was done)")
}

const INTERNAL: &str = "internal";
const UNWRITABLE: &str = "storage_unavailable";

/// Whether a refusal says nothing was done (the store failed): such an answer is not
/// recorded, so the same message sent again is done afresh.
fn not_done(r: &Refusal) -> bool {
    r.code == INTERNAL || r.code == UNWRITABLE
}

/// Answer a national platform transaction (see the module's documentation for the checks).
/// Supported: 9001 sign-in, 1101 person and cover information.
#[utoipa::path(post, path = "/fsi/api/rsfComIfsService/callService",
    request_body(content = String, description = "the platform's request envelope (JSON), signed in the `x-tif-signature` header"),
    responses((status = 200, description = "the platform's response envelope: infcode 0, or -1 with err_msg")))]
pub async fn call_service(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Json<Response> {
    let now = china_now();
    let today = state.today.unwrap_or(now.date());
    // A body that cannot be read (over the limit, or cut off) is answered in the envelope too.
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let too_large = rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
            return Json(envelope(
                now,
                Err(if too_large {
                    Refusal::new(
                        "too_large",
                        format!("报文过大：上限 {} MB，请分批上传费用明细", crate::PLATFORM_LIMIT >> 20),
                        format!(
                            "the message is too large: at most {} MB; upload the fee lines in parts",
                            crate::PLATFORM_LIMIT >> 20
                        ),
                    )
                } else {
                    Refusal::new("bad_request", "报文无法读取", format!("the message could not be read: {rejection}"))
                }),
            ));
        }
    };
    match answer(&state.store, &state.lookups, &headers, &body, now, today).await {
        Answer::Fresh(result) => Json(envelope(now, result)),
        Answer::Stored(response) => Json(response),
    }
}

enum Answer {
    Fresh(Result<Value, Refusal>),
    Stored(Response),
}

async fn answer(
    store: &Store,
    lookups: &crate::throttle::Lookups,
    headers: &HeaderMap,
    body: &[u8],
    now: NaiveDateTime,
    today: NaiveDate,
) -> Answer {
    let req: Request = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return Answer::Fresh(Err(Refusal::new(
                "bad_request",
                format!("报文格式错误：{e}"),
                format!("malformed request envelope: {e}"),
            )))
        }
    };
    let inst = match authenticate(store, headers, body, &req).await {
        Ok(i) => i,
        Err(r) => return Answer::Fresh(Err(r)),
    };
    let digest = hex::encode(Sha256::digest(body));
    match store.platform_reply(inst.id, &req.msgid).await {
        Ok(Some(prev)) => return replay(prev, &digest),
        Ok(None) => {}
        Err(e) => return Answer::Fresh(Err(internal(&e))),
    }
    if let Err(r) = accept_message(store, &inst, &req, now, today).await {
        return Answer::Fresh(Err(r));
    }
    // A person looked up by ID number (1101) counts against the institution's allowance, as
    // at the desk; over it, the message is refused unrecorded (the same msgid may come again).
    if req.infno == "1101" {
        if let Err(wait) = lookups.count(&inst.code, std::time::Instant::now()) {
            let secs = wait.as_secs().max(1);
            return Answer::Fresh(Err(Refusal::new(
                "too_many_lookups",
                format!("本机构本分钟的人员信息查询次数已达上限，请 {secs} 秒后以同一报文ID重试"),
                format!("your institution has made its person lookups for this minute; send the same msgid again in {secs} s"),
            )));
        }
    }
    run(store, &inst, &req, &digest, now, today).await
}

/// The institution whose secret (HMAC) or private key (SM2, checked with its registered
/// public key) signed the body.
async fn authenticate(store: &Store, headers: &HeaderMap, body: &[u8], req: &Request) -> Result<Institution, Refusal> {
    let kind = SignType::parse(&req.signtype)?;
    let found = if kind.is_public_key() {
        store.platform_public_keys(&req.fixmedins_code).await
    } else {
        store.platform_secrets(&req.fixmedins_code).await
    }
    .map_err(|e| internal(&e))?;
    let (inst, credentials) = found.filter(|(_, c)| !c.is_empty()).ok_or_else(|| {
        Refusal::new(
            "unknown_institution",
            format!("定点医药机构编号“{}”未登记或未开通接口（签名类型 {}）", req.fixmedins_code, kind.code()),
            format!(
                "institution \"{}\" is not registered for the interface (signtype {})",
                req.fixmedins_code,
                kind.code()
            ),
        )
    })?;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let verified = credentials.iter().any(|c| match kind {
        SignType::Sm2 => yibao_core::platform::verify_sm2(c, body, signature).is_ok(),
        _ => kind.verify(c.as_bytes(), body, signature).is_ok(),
    });
    if verified {
        Ok(inst)
    } else {
        Err(Refusal::bad_signature())
    }
}

/// A retry gets the answer already given; another request under the same msgid is refused.
fn replay(prev: StoredReply, digest: &str) -> Answer {
    if prev.request_sha256 != digest {
        return Answer::Fresh(Err(Refusal::new(
            "msgid_reused",
            "该报文 ID 已用于另一笔不同的交易，请使用新的报文 ID",
            "this msgid was already used for a different request; use a new msgid",
        )));
    }
    match serde_json::from_str(&prev.response) {
        Ok(r) => Answer::Stored(r),
        Err(e) => Answer::Fresh(Err(internal(&StoreError::Corrupt(format!("stored reply: {e}"))))),
    }
}

async fn accept_message(
    store: &Store,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<(), Refusal> {
    check_msgid(&req.msgid, &inst.code)?;
    check_time(&req.inf_time, now)?;
    if !inst.designated_on(today) {
        return Err(Refusal::new(
            "not_designated",
            format!("{}（{}）{} 不在医保定点协议期内", inst.name, inst.code, today),
            format!("{} ({}) is not a designated institution on {today}", inst.name, inst.code),
        ));
    }
    check_infno(&req.infno)?;
    yibao_core::platform::check_field_lengths(&req.input)?;
    if req.infno != "9001" && !store.platform_signed_in(inst.id, &req.sign_no).await.map_err(|e| internal(&e))? {
        return Err(Refusal::new(
            "not_signed_in",
            format!("签到流水号“{}”无效：请先做 9001 签到", req.sign_no),
            format!("sign_no \"{}\" is not a sign-in of this institution: sign in with 9001 first", req.sign_no),
        ));
    }
    Ok(())
}

/// Runs the transaction and records its answer in one database transaction. A refusal is
/// recorded too (in a transaction of its own, after the work is rolled back), so a retry is
/// refused the same way.
async fn run(
    store: &Store,
    inst: &Institution,
    req: &Request,
    digest: &str,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Answer {
    let actor =
        Actor { label: format!("institution:{} opter:{}", inst.code, req.opter), request_id: req.msgid.clone() };
    // A write that finds what it read changed since (a snapshot read before its turn, or a
    // record's version) is refused as a conflict and runs again, reading inside its turn.
    let mut attempts = 0;
    let outcome = if let Some(answer) = answer_reading(store, inst, req, now, today).await {
        // A transaction that only reads is answered from committed data, at once; its answer
        // is recorded with the next commit (a retry meanwhile finds it in memory).
        if let Err(r) = &answer {
            if not_done(r) {
                return Answer::Fresh(answer);
            }
        }
        let response = envelope(now, answer);
        return match store.defer_platform_reply(inst.id, &req.msgid, &req.infno, stored_reply(digest, &response)) {
            Some(earlier) => replay(earlier, digest),
            None => Answer::Stored(response),
        };
    } else {
        let before = read_before(store, inst, req, today.and_time(now.time())).await;
        // A refusal decided on a snapshot is confirmed on current data before it is given.
        let from_snapshot = matches!(before, Ok(Before::Visit(_)));
        loop {
            attempts += 1;
            let outcome = async {
                let before = before.as_ref().map_err(Clone::clone)?;
                // Run again after a conflict, a write reads inside its turn.
                let before = if attempts == 1 { before.clone() } else { before.for_retry() };
                let mut w = store.begin_write(&actor).await.map_err(|e| internal(&e))?;
                let result = dispatch(store, &mut w, inst, req, before, now, today).await;
                match result {
                    Ok(output) => Ok((w, output)),
                    Err(r) => Err(r),
                }
            }
            .await;
            match outcome {
                Err(r) if not_done(&r) => break Err(r),
                Err(r) if (r.code == "conflict" && attempts < 3) || (from_snapshot && attempts == 1) => continue,
                other => break other,
            }
        }
    };
    let (mut w, result) = match outcome {
        Ok((w, output)) => (w, Ok(output)),
        Err(r) if not_done(&r) => return Answer::Fresh(Err(r)),
        Err(r) => match store.begin_write(&actor).await {
            Ok(w) => (w, Err(r)),
            Err(e) => return Answer::Fresh(Err(internal(&e))),
        },
    };
    let response = envelope(now, result);
    let reply = stored_reply(digest, &response);
    match store.record_platform_reply(&mut w, inst.id, &req.msgid, &req.infno, &reply).await {
        Ok(()) => {}
        // A concurrent retry answered first: this attempt's work rolls back, its answer stands
        // — read inside the write, as it may be in this batch, and repeated only once the
        // batch is committed.
        Err(StoreError::Duplicate { .. }) => {
            let prev = async {
                w.discard().await?;
                let prev = store.platform_reply_in(&mut w, inst.id, &req.msgid).await?;
                w.commit().await?;
                Ok::<_, StoreError>(prev)
            }
            .await;
            return match prev {
                Ok(Some(prev)) => replay(prev, digest),
                Ok(None) => Answer::Fresh(Err(internal(&StoreError::NotFound("platform reply")))),
                Err(e) => Answer::Fresh(Err(internal(&e))),
            };
        }
        Err(e) => return Answer::Fresh(Err(internal(&e))),
    }
    match w.commit().await {
        Ok(()) => Answer::Stored(response),
        Err(e) => Answer::Fresh(Err(internal(&e))),
    }
}

/// The answer to keep for a retry of the request with this digest.
fn stored_reply(digest: &str, response: &Response) -> StoredReply {
    StoredReply { request_sha256: digest.to_string(), response: serde_json::to_string(response).unwrap_or_default() }
}

/// What a write reads before its turn, so the turn is spent on the write itself.
#[derive(Clone)]
enum Before {
    Nothing,
    /// 2401 / 2201: the person, the admission asked for, and the cover that day (records the
    /// write only reads).
    Admission(Box<(AdmissionInput, yibao_store::Person, yibao_store::Admission, yibao_store::DirectCover)>),
    /// 2301 / 2204, 2304 / 2207: the visit and what settling it reads, which the write
    /// checks is still current (refused as a conflict otherwise, and run again).
    Visit(Box<yibao_store::VisitSnapshot>),
}

impl Before {
    /// What a write run again after a conflict uses: not a snapshot, which was not current.
    fn for_retry(&self) -> Before {
        match self {
            Before::Visit(_) => Before::Nothing,
            other => other.clone(),
        }
    }

    fn into_snapshot(self) -> Option<yibao_store::VisitSnapshot> {
        match self {
            Before::Visit(s) => Some(*s),
            _ => None,
        }
    }
}

async fn read_before(
    store: &Store,
    inst: &Institution,
    req: &Request,
    business_now: NaiveDateTime,
) -> Result<Before, Refusal> {
    let visit_at = match req.infno.as_str() {
        "2301" | "2204" => Some("/feedetail/0/mdtrt_id"),
        "2304" | "2207" => Some("/data/mdtrt_id"),
        _ => None,
    };
    if let Some(pointer) = visit_at {
        // Where the snapshot cannot be read, the write reads and answers (or refuses) itself.
        let mdtrt_id = req.input.pointer(pointer).and_then(Value::as_str).unwrap_or("").trim();
        let snapshot = match store.rules().await {
            Ok(rules) => {
                let to_settle = matches!(req.infno.as_str(), "2304" | "2207");
                store.visit_snapshot(&rules, inst.id, mdtrt_id, business_now.date(), to_settle).await.ok()
            }
            Err(_) => None,
        };
        return Ok(snapshot.map_or(Before::Nothing, |s| Before::Visit(Box::new(s))));
    }
    let input = match req.infno.as_str() {
        "2401" => serde_json::from_value(req.input.clone()).map_err(|e| bad_input("2401", e))?,
        "2201" => outpatient_registration(&req.input),
        _ => return Ok(Before::Nothing),
    };
    let (person, admission) = parse_admission(store, &req.infno, &input).await?;
    let cover = store.direct_cover(&person, inst, admission.begntime.date()).await.map_err(refusal_of)?;
    Ok(Before::Admission(Box::new((input, person, admission, cover))))
}

async fn dispatch(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    req: &Request,
    before: Before,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Result<Value, Refusal> {
    // Settlement times are business data: today's date (pinned in tests) at the clock's time.
    let business_now = today.and_time(now.time());
    match req.infno.as_str() {
        "9001" => sign_in(store, w, inst, req, now).await,
        "2401" | "2201" => match before {
            Before::Admission(a) => admit(store, w, inst, &req.infno, &a).await,
            _ => Err(internal(&StoreError::NotFound("admission"))),
        },
        "2403" => change_admission(store, w, inst, req).await,
        "2203" => outpatient_diagnoses(store, w, inst, req).await,
        "2404" | "2202" => undo_admission(store, w, inst, req).await,
        "2301" | "2204" => settle::upload_fees(store, w, inst, req, before.into_snapshot(), business_now).await,
        "2302" | "2205" => settle::undo_fees(store, w, inst, req).await,
        "2402" => settle::discharge(store, w, inst, req).await,
        "2405" => settle::undo_discharge(store, w, inst, req).await,
        "2304" | "2207" => settle::settle(store, w, inst, req, before.into_snapshot(), business_now).await,
        "2305" | "2208" => settle::reverse(store, w, inst, req).await,
        "2102" => pharmacy::settle(store, w, inst, req, business_now).await,
        "2103" => pharmacy::reverse(store, w, inst, req).await,
        "3203" => clearing::apply(store, w, inst, req, today).await,
        "3204" => clearing::cancel(store, w, inst, req).await,
        _ => Err(check_infno(&req.infno).err().unwrap_or_else(|| internal(&StoreError::NotFound("infno")))),
    }
}

/// The answer to a transaction that changes nothing (1101, 2303/2206, 3201, 3202), read
/// without a write; `None` for the others.
async fn answer_reading(
    store: &Store,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
    today: NaiveDate,
) -> Option<Result<Value, Refusal>> {
    let business_now = today.and_time(now.time());
    Some(match req.infno.as_str() {
        "1101" => person_info(store, inst, req, today).await,
        "2303" | "2206" => settle::pre_settle(store, inst, req, business_now).await,
        "3201" => settle::reconcile(store, inst, req).await,
        "3202" => settle::reconcile_details(store, inst, req).await,
        "3101" | "3102" => analyse::analyse(store, inst, req, today).await,
        "2101" => pharmacy::quote(store, inst, req, business_now).await,
        _ => return None,
    })
}

/// 9001 签到: `output.signinoutb { sign_time, sign_no }`.
async fn sign_in(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let opter = req.input.pointer("/signIn/opter").and_then(Value::as_str).unwrap_or(&req.opter);
    if opter.trim().is_empty() {
        return Err(Refusal::new("opter_required", "请填写经办人（opter）", "give the operator (opter)"));
    }
    let stamp = now.format("%Y%m%d%H%M%S").to_string();
    let sign_no = store.platform_sign_in(w, inst.id, opter.trim(), &stamp).await.map_err(|e| internal(&e))?;
    Ok(json!({ "signinoutb": { "sign_time": now.format(TIME_FORMAT).to_string(), "sign_no": sign_no } }))
}

/// 1101's `input.data`: the patient named by the certificate the hospital holds.
#[derive(Deserialize)]
struct PersonQuery {
    /// 就诊凭证类型: 01 electronic certificate, 02 ID card, 03 social security card.
    #[serde(default)]
    mdtrt_cert_type: String,
    #[serde(default)]
    mdtrt_cert_no: String,
    /// 证件号码 (the resident ID number).
    #[serde(default)]
    certno: String,
    #[serde(default)]
    psn_name: String,
}

/// 1101 人员信息获取: the platform's `baseinfo`, `insuinfo` and `idetinfo`, with yibao's
/// additions for the card state (`cardinfo`), the off-site filings in force today
/// (`fileinfo`) and the cover at this institution today with its reason (`coverinfo`).
async fn person_info(store: &Store, inst: &Institution, req: &Request, today: NaiveDate) -> Result<Value, Refusal> {
    let q: PersonQuery =
        serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null)).map_err(|e| {
            Refusal::new(
                "bad_input",
                format!("1101 入参 data 格式错误：{e}"),
                format!("1101 input.data is malformed: {e}"),
            )
        })?;
    let number = if q.certno.trim().is_empty() && q.mdtrt_cert_type == "02" { &q.mdtrt_cert_no } else { &q.certno };
    let rid = number.trim().parse().map_err(|e: yibao_core::InvalidValue| {
        Refusal::new("bad_certno", format!("证件号码：{}", e.message.zh), format!("certno: {}", e.message.en))
    })?;
    let not_found =
        || Refusal::new("person_not_found", "未查询到该参保人员信息", "no insured person has this certificate number");
    let person = store.person_by_resident_id(&rid).await.map_err(|e| internal(&e))?.ok_or_else(not_found)?;
    if !q.psn_name.trim().is_empty() && q.psn_name.trim() != person.name.to_string() {
        return Err(Refusal::new(
            "name_mismatch",
            "姓名与证件号码不符",
            "the name does not match the certificate number",
        ));
    }
    let report = store.cover_report(&person, today, Some(&inst.code)).await.map_err(|e| internal(&e))?;
    let stas = match person.status {
        PersonStatus::Active => "1",
        PersonStatus::Suspended => "2",
        PersonStatus::Deceased | PersonStatus::TransferredOut => "4",
    };
    let filings: Vec<Value> = report
        .filings
        .iter()
        .filter(|f| f.in_force_on(today))
        .map(|f| {
            json!({
                "dcla_type": f.kind.code(), "dcla_type_name": f.kind.label().zh,
                "mdtrtarea_admdvs": f.destination.map(|d| d.to_string()),
                "fixmedins_code": f.institution, "begndate": f.start.to_string(),
                "enddate": f.end.map(|d| d.to_string()),
            })
        })
        .collect();
    let cover = report.cover.as_ref();
    Ok(json!({
        "baseinfo": {
            "psn_no": person.id.to_string(), "psn_cert_type": "01", "certno": person.resident_id.to_string(),
            "psn_name": person.name.to_string(), "gend": if person.sex == yibao_core::Sex::Male { "1" } else { "2" },
            "brdy": person.birth_date.to_string(), "age": age_on(person.birth_date, today),
        },
        "insuinfo": [{
            "insutype": person.scheme.code(), "psn_type": person.category.code(), "psn_insu_stas": stas,
            "psn_insu_date": person.status_from.to_string(), "insuplc_admdvs": person.insured_region.to_string(),
            "emp_name": person.employer_name,
        }],
        "idetinfo": [],
        "cardinfo": { "card_stas": report.card.code(), "card_stas_name": report.card.label().zh },
        "fileinfo": filings,
        "coverinfo": cover.map(|c| json!({
            "cover_code": c.code, "direct_settlement": c.direct_settlement,
            "reason": c.reason.zh, "reason_en": c.reason.en,
        })),
    }))
}

/// A store error as the platform's refusal: a rule's refusal keeps its code and wording.
pub(super) fn refusal_of(e: StoreError) -> Refusal {
    match e {
        StoreError::Invalid(v) => Refusal { code: v.code, message: v.message },
        StoreError::Problems(mut v) if !v.is_empty() => {
            let first = v.remove(0);
            Refusal { code: first.code, message: first.message }
        }
        StoreError::NotFound(what) => Refusal::new(
            "not_found",
            format!("未找到{}", if what == "visit" { "该就诊记录（或不属于本机构）" } else { "相关记录" }),
            format!("{what} not found (or not this institution's)"),
        ),
        StoreError::Stale(what) => Refusal::new(
            "conflict",
            format!("{what} 正被并发修改，请重试"),
            format!("{what} was changed concurrently; retry"),
        ),
        other => internal(&other),
    }
}

/// 2401's `input` (`mdtrtinfo`, `diseinfo`) and 2403's (`adminfo`, `diseinfo`), with the
/// platform's names.
#[derive(Clone, Deserialize)]
struct AdmissionInput {
    #[serde(alias = "adminfo")]
    mdtrtinfo: MdtrtInfo,
    #[serde(default)]
    diseinfo: Vec<DiseInfo>,
}

#[derive(Clone, Deserialize)]
struct MdtrtInfo {
    /// 2403 only: the visit changed.
    #[serde(default)]
    mdtrt_id: String,
    psn_no: String,
    /// Defaults to the person's scheme (2403 need not repeat it).
    #[serde(default)]
    insutype: String,
    begntime: String,
    #[serde(default = "inpatient")]
    med_type: String,
    ipt_no: String,
}

fn inpatient() -> String {
    "21".into()
}

#[derive(Clone, Deserialize)]
struct DiseInfo {
    diag_code: String,
    #[serde(default)]
    diag_name: String,
    #[serde(default)]
    maindiag_flag: String,
}

/// `diseinfo` as stored diagnoses.
fn diagnoses(diseinfo: &[DiseInfo]) -> Vec<yibao_store::Diagnosis> {
    diseinfo
        .iter()
        .map(|d| yibao_store::Diagnosis {
            diag_code: d.diag_code.clone(),
            diag_name: d.diag_name.clone(),
            main: d.maindiag_flag == "1",
        })
        .collect()
}

pub(super) fn bad_input(infno: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal::new("bad_input", format!("{infno} 入参格式错误：{e}"), format!("{infno} input is malformed: {e}"))
}

/// The person and the admission an input names.
async fn parse_admission(
    store: &Store,
    infno: &str,
    input: &AdmissionInput,
) -> Result<(yibao_store::Person, yibao_store::Admission), Refusal> {
    let m = &input.mdtrtinfo;
    let person_id: i64 = m.psn_no.trim().parse().map_err(|_| bad_input(infno, "psn_no"))?;
    let person = store.person(person_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => {
            Refusal::new("person_not_found", "未查询到该参保人员信息", "no insured person has this psn_no")
        }
        other => internal(&other),
    })?;
    let insutype = match m.insutype.trim() {
        "" => person.scheme,
        code => yibao_core::registry::Scheme::parse(code).map_err(|e| bad_input(infno, e.message.en))?,
    };
    let med_type: yibao_core::adjudicate::MedType =
        serde_json::from_value(json!(m.med_type.trim())).map_err(|e| bad_input(infno, e))?;
    let begntime = NaiveDateTime::parse_from_str(m.begntime.trim(), TIME_FORMAT).map_err(|e| bad_input(infno, e))?;
    yibao_core::platform::check_event_time("begntime", begntime, china_now())?;
    let admission = yibao_store::Admission {
        insutype,
        med_type,
        begntime,
        ipt_otp_no: m.ipt_no.clone(),
        diagnoses: diagnoses(&input.diseinfo),
    };
    Ok((person, admission))
}

/// 2401 入院办理 (`output.result { mdtrt_id, psn_no, ipt_otp_no }`) and 2201 门诊挂号
/// (`output.data`, the same fields), under the cover read before the write; refused with the
/// cover's reason and what to do instead when the hospital cannot settle directly.
async fn admit(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    infno: &str,
    before: &(AdmissionInput, yibao_store::Person, yibao_store::Admission, yibao_store::DirectCover),
) -> Result<Value, Refusal> {
    let (input, person, admission, cover) = before;
    let visit = store.admit_visit(w, inst, person, admission, cover).await.map_err(refusal_of)?;
    let out = json!({ "mdtrt_id": visit.mdtrt_id, "psn_no": input.mdtrtinfo.psn_no, "ipt_otp_no": visit.ipt_otp_no });
    Ok(if infno == "2201" { json!({ "data": out }) } else { json!({ "result": out }) })
}

/// 2403 入院信息变更: `adminfo { mdtrt_id, psn_no, begntime, ipt_no }` and `diseinfo`.
async fn change_admission(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let input: AdmissionInput = serde_json::from_value(req.input.clone()).map_err(|e| bad_input("2403", e))?;
    let (person, change) = parse_admission(store, "2403", &input).await?;
    let mdtrt_id = input.mdtrtinfo.mdtrt_id.trim();
    let visit = store.change_admission(w, inst, &person, mdtrt_id, &change).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": visit.mdtrt_id, "ipt_otp_no": visit.ipt_otp_no, "begntime": visit.begntime } }))
}

/// 2201's `data { psn_no, insutype, begntime, ipt_otp_no, med_type }` as an admission
/// (general outpatient by default).
fn outpatient_registration(input: &Value) -> AdmissionInput {
    let d = input.get("data").cloned().unwrap_or(Value::Null);
    let field = |name: &str| d.get(name).and_then(Value::as_str).unwrap_or("").to_string();
    let med_type = Some(field("med_type")).filter(|m| !m.is_empty()).unwrap_or_else(|| "11".into());
    AdmissionInput {
        mdtrtinfo: MdtrtInfo {
            mdtrt_id: String::new(),
            psn_no: field("psn_no"),
            insutype: field("insutype"),
            begntime: field("begntime"),
            med_type,
            ipt_no: field("ipt_otp_no"),
        },
        diseinfo: vec![],
    }
}

/// 2203 门诊就诊信息上传: `mdtrtinfo { mdtrt_id, psn_no }` and `diseinfo`: the outpatient
/// visit's diagnoses (the rest of the registration stays).
async fn outpatient_diagnoses(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let mdtrt_id = req.input.pointer("/mdtrtinfo/mdtrt_id").and_then(Value::as_str).unwrap_or("").trim();
    let diseinfo: Vec<DiseInfo> =
        serde_json::from_value(req.input.get("diseinfo").cloned().unwrap_or(Value::Array(vec![])))
            .map_err(|e| bad_input("2203", e))?;
    let visit = store.visit_of(w, inst.id, mdtrt_id).await.map_err(refusal_of)?;
    let person = store.person(visit.person_id).await.map_err(|e| internal(&e))?;
    let change = yibao_store::Admission {
        insutype: person.scheme,
        med_type: serde_json::from_value(json!(visit.med_type)).map_err(|e| bad_input("2203", e))?,
        begntime: NaiveDateTime::parse_from_str(&visit.begntime, TIME_FORMAT).map_err(|e| bad_input("2203", e))?,
        ipt_otp_no: visit.ipt_otp_no.clone(),
        diagnoses: diagnoses(&diseinfo),
    };
    let visit = store.change_admission(w, inst, &person, mdtrt_id, &change).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": visit.mdtrt_id, "diseinfo": visit.diagnoses.len() } }))
}

/// 2404 入院撤销: `input.data { mdtrt_id, psn_no }`.
async fn undo_admission(
    store: &Store,
    w: &mut yibao_store::WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let mdtrt_id = req.input.pointer("/data/mdtrt_id").and_then(Value::as_str).unwrap_or("");
    let visit = store.undo_admission(w, inst.id, mdtrt_id).await.map_err(refusal_of)?;
    Ok(json!({ "result": { "mdtrt_id": visit.mdtrt_id, "status": visit.status.code() } }))
}

fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    use chrono::Datelike;
    let had_birthday = (day.month(), day.day()) >= (birth.month(), birth.day());
    day.year() - birth.year() - i32::from(!had_birthday)
}
