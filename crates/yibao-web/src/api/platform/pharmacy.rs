//! The designated retail pharmacy's transactions: 2101 药店预结算 (a quote, nothing kept),
//! 2102 药店结算 and 2103 药店结算撤销. `druginfo { psn_no, medfee_sumamt, invono,
//! acct_used_flag }` and `drugdetail[] { feedetl_sn, med_list_codg, cnt, pric,
//! det_item_fee_sumamt }`; the answer's `setlinfo` carries `acct_mulaid_pay`, what a family
//! member's account paid (门诊共济).

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_core::platform::{Refusal, Request};
use yibao_core::Fen;
use yibao_store::{Institution, PharmacyLine, PharmacyPurchase, PharmacySettlement, Store, StoreError, WriteTx};

use super::{bad_input, internal, refusal_of};

#[derive(Deserialize)]
struct DrugInfo {
    psn_no: String,
    #[serde(default)]
    medfee_sumamt: Option<Fen>,
    invono: String,
    #[serde(default)]
    acct_used_flag: String,
}

#[derive(Deserialize)]
struct Input {
    druginfo: DrugInfo,
    drugdetail: Vec<PharmacyLine>,
}

#[derive(Deserialize)]
struct Reversal {
    setl_id: String,
}

async fn parse(store: &Store, req: &Request) -> Result<(yibao_store::Person, PharmacyPurchase), Refusal> {
    let input: Input = serde_json::from_value(req.input.clone()).map_err(|e| bad_input(&req.infno, e))?;
    let person_id: i64 = input.druginfo.psn_no.trim().parse().map_err(|_| bad_input(&req.infno, "psn_no"))?;
    let person = store.person(person_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => {
            Refusal::new("person_not_found", "未查询到该参保人员信息", "no insured person has this psn_no")
        }
        other => internal(&other),
    })?;
    let purchase = PharmacyPurchase {
        invono: input.druginfo.invono,
        lines: input.drugdetail,
        use_account: input.druginfo.acct_used_flag.trim() == "1",
        medfee_sumamt: input.druginfo.medfee_sumamt,
    };
    Ok((person, purchase))
}

fn answer(s: &PharmacySettlement) -> Value {
    let p = &s.split;
    json!({
        "setlinfo": {
            "setl_id": s.setl_id, "psn_no": s.person_id.to_string(), "psn_name": s.person_name,
            "setl_time": s.settled_at, "med_type": "41", "invono": s.invono,
            "medfee_sumamt": p.medfee_sumamt, "inscp_scp_amt": p.inscp_amt, "fund_pay_sumamt": Fen::ZERO,
            "acct_pay": p.acct_pay, "acct_mulaid_pay": p.acct_mulaid_pay, "psn_cash_pay": p.psn_cash_pay,
            "balc": s.balc, "status": s.status,
        },
        "detlcutinfo": s.lines.iter().map(|l| json!({
            "feedetl_sn": l.feedetl_sn, "det_item_fee_sumamt": l.det_item_fee_sumamt,
            "inscp_scp_amt": if l.in_catalog { l.det_item_fee_sumamt } else { Fen::ZERO },
            "fulamt_ownpay_amt": if l.in_catalog { Fen::ZERO } else { l.det_item_fee_sumamt },
        })).collect::<Vec<_>>(),
        "explain": s.explanation.zh, "explain_en": s.explanation.en,
    })
}

/// 2101 药店预结算.
pub(super) async fn quote(
    store: &Store,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let (person, purchase) = parse(store, req).await?;
    let rules = store.rules().await.map_err(|e| internal(&e))?;
    let s = store.pharmacy_quote(&rules, inst, &person, &purchase, now).await.map_err(refusal_of)?;
    Ok(answer(&s))
}

/// 2102 药店结算.
pub(super) async fn settle(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
    now: NaiveDateTime,
) -> Result<Value, Refusal> {
    let (person, purchase) = parse(store, req).await?;
    let rules = store.rules().await.map_err(|e| internal(&e))?;
    let s = store.settle_pharmacy(w, &rules, inst, &person, &purchase, now).await.map_err(refusal_of)?;
    Ok(answer(&s))
}

/// 2103 药店结算撤销: `data { setl_id }`.
pub(super) async fn reverse(
    store: &Store,
    w: &mut WriteTx,
    inst: &Institution,
    req: &Request,
) -> Result<Value, Refusal> {
    let data: Reversal = serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_input(&req.infno, e))?;
    let s = store.reverse_pharmacy(w, inst, &data.setl_id).await.map_err(refusal_of)?;
    Ok(answer(&s))
}
