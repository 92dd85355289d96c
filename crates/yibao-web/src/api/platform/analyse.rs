//! 3101 明细审核事前分析 and 3102 明细审核事中分析: the hospital's system sends a visit's
//! orders (before it prescribes, or before it settles) and gets back what the region's
//! supervision rules find, one `result` per hit with its lines in
//! `judge_result_detail_dtos`. Nothing is stored; the field names follow the platform's
//! (see `docs/formats/platform.md` for those yibao could not confirm).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use yibao_core::platform::{Refusal, Request};
use yibao_core::supervise::{Evidence, Severity, Visit, VisitLine};
use yibao_core::{AdminCode, Sex};
use yibao_store::{Institution, Store};

use super::{bad_input, internal};

/// The most orders one request may carry.
const MAX_ORDERS: usize = 5_000;

#[derive(Deserialize)]
struct AnalysisInput {
    /// Only these rules, when not empty.
    #[serde(default)]
    rule_ids: Vec<String>,
    patient_dtos: Vec<PatientDto>,
}

#[derive(Deserialize)]
struct PatientDto {
    /// 参保人标识: yibao's person number (`psn_no`), where the hospital has it; used only for
    /// the institution's own patients.
    patn_id: Value,
    /// 1 male, 2 female.
    gend: Value,
    brdy: String,
    #[serde(default)]
    poolarea: String,
    fsi_encounter_dtos: Vec<EncounterDto>,
}

#[derive(Deserialize)]
struct EncounterDto {
    mdtrt_id: Value,
    #[serde(default)]
    adm_date: Option<String>,
    #[serde(default)]
    dscg_date: Option<String>,
    #[serde(default)]
    dscg_main_dise_codg: Option<String>,
    #[serde(default)]
    med_type: Option<String>,
    #[serde(default)]
    fsi_diagnose_dtos: Vec<DiagnoseDto>,
    #[serde(default)]
    fsi_order_dtos: Vec<OrderDto>,
}

#[derive(Deserialize)]
struct DiagnoseDto {
    dise_codg: String,
    #[serde(default)]
    maindise_flag: Value,
}

#[derive(Deserialize)]
struct OrderDto {
    rx_id: Value,
    hilist_code: String,
    cnt: Value,
    #[serde(default)]
    sumamt: Value,
    #[serde(default)]
    drord_begn_date: Option<String>,
}

/// A JSON string or number as text.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn decimal(infno: &str, what: &str, v: &Value) -> Result<Decimal, Refusal> {
    text(v).parse().map_err(|_| bad_input(infno, format!("{what} is not a number")))
}

fn day(infno: &str, what: &str, s: &str) -> Result<NaiveDate, Refusal> {
    s.get(..10).and_then(|d| d.parse().ok()).ok_or_else(|| bad_input(infno, format!("{what} is not a date")))
}

/// An optional date: absent, `null` or empty is none.
fn maybe_day(infno: &str, what: &str, s: Option<&str>) -> Result<Option<NaiveDate>, Refusal> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(|s| day(infno, what, s)).transpose()
}

fn sev_deg(s: Severity) -> &'static str {
    match s {
        Severity::Hint => "1",
        Severity::Suspect => "2",
        Severity::Violation => "3",
    }
}

/// 3101 / 3102: `output.result[] { jr_id, rule_id, rule_name, vola_cont, vola_cont_en, patn_id,
/// mdtrt_id, vola_amt, sev_deg, vola_evid, judge_result_detail_dtos[] { jrd_id, patn_id,
/// mdtrt_id, rx_id, vola_amt } }`; an empty `result` when nothing is found.
pub(super) async fn analyse(
    store: &Store,
    inst: &Institution,
    req: &Request,
    today: NaiveDate,
) -> Result<Value, Refusal> {
    let infno = req.infno.as_str();
    let input: AnalysisInput = serde_json::from_value(req.input.get("data").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad_input(infno, e))?;
    let orders: usize =
        input.patient_dtos.iter().flat_map(|p| &p.fsi_encounter_dtos).map(|e| e.fsi_order_dtos.len()).sum();
    if orders > MAX_ORDERS {
        return Err(bad_input(infno, format!("at most {MAX_ORDERS} orders in one request")));
    }
    let mut results = Vec::new();
    for p in &input.patient_dtos {
        let patn_id = text(&p.patn_id);
        // Only the institution's own patient (a visit of theirs here) is looked at with their
        // history and record: a person number alone opens nothing.
        let person = match patn_id.parse::<i64>() {
            Ok(id) if store.is_patient_of(inst.id, id).await.map_err(|e| internal(&e))? => store.person(id).await.ok(),
            _ => None,
        };
        // The rules of the person's pooling region, else of the region the hospital gives,
        // else of the hospital's own.
        let region: AdminCode = match (&person, p.poolarea.parse::<AdminCode>()) {
            (Some(person), _) => person.pooling_region,
            (None, Ok(pool)) => pool.prefecture(),
            (None, Err(_)) => inst.region.prefecture(),
        };
        let sex = match text(&p.gend).as_str() {
            "2" => Sex::Female,
            _ => Sex::Male,
        };
        let birth = day(infno, "brdy", &p.brdy)?;
        for e in &p.fsi_encounter_dtos {
            let mdtrt_id = text(&e.mdtrt_id);
            let admitted = maybe_day(infno, "adm_date", e.adm_date.as_deref())?.unwrap_or(today);
            let discharged = maybe_day(infno, "dscg_date", e.dscg_date.as_deref())?.unwrap_or(today);
            let main = e
                .fsi_diagnose_dtos
                .iter()
                .find(|d| text(&d.maindise_flag) == "1")
                .map(|d| d.dise_codg.clone())
                .or_else(|| e.dscg_main_dise_codg.clone())
                .unwrap_or_default();
            let mut amounts = std::collections::HashMap::new();
            let mut lines = Vec::new();
            for o in &e.fsi_order_dtos {
                let sn = text(&o.rx_id);
                amounts.insert(sn.clone(), text(&o.sumamt).parse::<Decimal>().unwrap_or_default());
                let day = maybe_day(infno, "drord_begn_date", o.drord_begn_date.as_deref())?;
                lines.push(VisitLine {
                    sn,
                    item: o.hilist_code.trim().to_string(),
                    day: day.unwrap_or(admitted),
                    quantity: decimal(infno, "cnt", &o.cnt)?,
                    limits: None,
                });
            }
            let visit = Visit {
                id: mdtrt_id.clone(),
                person_id: person.as_ref().map_or(0, |p| p.id),
                sex: person.as_ref().map_or(sex, |p| p.sex),
                birth_date: person.as_ref().map_or(birth, |p| p.birth_date),
                institution: inst.code.clone(),
                inpatient: e.med_type.as_deref().is_none_or(|m| m.starts_with('2') && m != "22"),
                admitted,
                discharged: discharged.max(admitted),
                main_diagnosis: main,
                lines,
                invoices: Vec::new(),
            };
            let hits = store
                .analyse_visit(region, &visit, person.is_some(), &input.rule_ids)
                .await
                .map_err(|e| internal(&e))?;
            for (n, hit) in hits.iter().enumerate() {
                let jr_id = format!("{mdtrt_id}-{}-{}", hit.rule, n + 1);
                let (details, amount) = match &hit.evidence {
                    Evidence::Lines(sns) => {
                        let details: Vec<Value> = sns
                            .iter()
                            .enumerate()
                            .map(|(i, sn)| {
                                json!({ "jrd_id": format!("{jr_id}-{}", i + 1), "patn_id": patn_id, "mdtrt_id": mdtrt_id,
                                    "rx_id": sn, "vola_amt": amounts.get(sn).copied().unwrap_or_default() })
                            })
                            .collect();
                        let amount: Decimal = sns.iter().filter_map(|sn| amounts.get(sn)).sum();
                        (details, amount)
                    }
                    Evidence::Visits(_) => (Vec::new(), Decimal::ZERO),
                };
                let evidence = match &hit.evidence {
                    Evidence::Lines(ids) | Evidence::Visits(ids) => ids.join(","),
                };
                results.push(json!({
                    "jr_id": jr_id, "rule_id": hit.rule, "rule_name": hit.message.zh,
                    "vola_cont": hit.message.zh, "vola_cont_en": hit.message.en,
                    "patn_id": patn_id, "mdtrt_id": mdtrt_id, "vola_amt": amount,
                    "sev_deg": sev_deg(hit.severity), "vola_evid": evidence,
                    "judge_result_detail_dtos": details,
                }));
            }
        }
    }
    Ok(json!({ "result": results }))
}
