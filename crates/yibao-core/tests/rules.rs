//! Rule tables: every file in `tests/rules/` is one topic; every `[[case]]` one claim under
//! the demo policies and catalog of `docs/formats/examples/`, with the amounts and reason
//! codes worked out by hand in its comment.
//!
//! A case gives `lines = [[code, cnt, pric], ...]` (a fourth element overrides the line
//! amount, which is otherwise cnt × pric), `claim = { ... }` overrides of the default visit,
//! `ytd = { ... }` running totals, and `expect = { ... }`: any totals field, `reasons` (which
//! must appear in this order), `catalog_region`, `ytd_after`, `lines` (per-line fields) or
//! `error` (the field a refused claim names).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use yibao_core::adjudicate::{adjudicate, Claim, YearToDate};
use yibao_core::catalog::Catalogs;
use yibao_core::policy::{Policy, PolicySet};

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats/examples")
}

pub fn demo_rules() -> (PolicySet, Catalogs) {
    let mut policies = Vec::new();
    let mut catalogs = Catalogs::default();
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("policy-") {
            let text = std::fs::read_to_string(&path).unwrap();
            policies.push(Policy::parse(&text).unwrap_or_else(|e| panic!("{name}: {e:?}")));
        } else if name.starts_with("catalog-") {
            let rejected = catalogs.import(&std::fs::read(&path).unwrap()).unwrap();
            assert!(rejected.is_empty(), "{name}: {rejected:?}");
        }
    }
    (PolicySet::new(policies), catalogs)
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

fn claim_for(case: &toml::Value) -> Value {
    let mut claim = json!({
        "mdtrt_id": "T1",
        "insutype": "310",
        "psn_type": "in_service",
        "med_type": "21",
        "insuplc_admdvs": "620302",
        "mdtrtarea_admvs": "620302",
        "hosp_lv": "3",
        "admission_no": 1,
        "receipt_date": "2026-03-10",
        "dise_codg": ["K80.1"],
    });
    if let Some(over) = case.get("claim") {
        for (k, v) in toml_to_json(over).as_object().unwrap() {
            claim[k] = v.clone();
        }
    }
    let fee_date = case.get("fee_date").and_then(|d| d.as_str()).unwrap_or(claim["receipt_date"].as_str().unwrap());
    let fee_date = fee_date.to_string();
    let lines = case.get("lines").and_then(|l| l.as_array()).expect("lines");
    let feedetail: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let l = l.as_array().unwrap();
            let s = |k: usize| l[k].as_str().unwrap().to_string();
            let amount = if l.len() > 3 {
                s(3)
            } else {
                let a: Decimal = s(1).parse::<Decimal>().unwrap() * s(2).parse::<Decimal>().unwrap();
                a.round_dp(2).to_string()
            };
            json!({
                "feedetl_sn": (i + 1).to_string(),
                "med_list_codg": s(0),
                "cnt": s(1),
                "pric": s(2),
                "det_item_fee_sumamt": amount,
                "fee_ocur_time": format!("{fee_date} 09:00:00"),
            })
        })
        .collect();
    claim["feedetail"] = Value::Array(feedetail);
    claim
}

#[test]
fn rule_tables() {
    let (policies, catalogs) = demo_rules();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 10, "one file per topic");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        let topic = file.file_stem().unwrap().to_string_lossy().to_string();
        let doc: toml::Value = toml::from_str(&std::fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in doc["case"].as_array().unwrap() {
            count += 1;
            let name = format!("{topic} / {}", case["name"].as_str().unwrap());
            let claim: Claim = serde_json::from_value(claim_for(case)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let ytd: YearToDate = match case.get("ytd") {
                Some(y) => serde_json::from_value(toml_to_json(y)).unwrap(),
                None => YearToDate::default(),
            };
            let expect = toml_to_json(&case["expect"]);
            let result = adjudicate(&claim, &policies, &catalogs, &ytd);
            if let Some(field) = expect.get("error") {
                match result {
                    Err(e) if e.field == field.as_str().unwrap() => {}
                    other => failures.push(format!("{name}: expected an error on {field}, got {other:?}")),
                }
                continue;
            }
            let outcome = match result {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{name}: refused: {e}"));
                    continue;
                }
            };
            let got = serde_json::to_value(&outcome).unwrap();
            for (k, v) in expect.as_object().unwrap() {
                match k.as_str() {
                    "reasons" => {
                        let codes: Vec<&str> =
                            got["trace"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
                        let mut it = codes.iter();
                        for want in v.as_array().unwrap() {
                            let want = want.as_str().unwrap();
                            if !it.any(|c| *c == want) {
                                failures.push(format!("{name}: reason {want} missing or out of order in {codes:?}"));
                                break;
                            }
                        }
                    }
                    "catalog_region" => {
                        if got["catalog_region"] != *v {
                            failures.push(format!("{name}: catalog_region {} != {v}", got["catalog_region"]));
                        }
                    }
                    "ytd_after" => {
                        for (f, want) in v.as_object().unwrap() {
                            if got["ytd_after"][f] != *want {
                                failures.push(format!("{name}: ytd_after.{f} = {} != {want}", got["ytd_after"][f]));
                            }
                        }
                    }
                    "lines" => {
                        for (i, line) in v.as_array().unwrap().iter().enumerate() {
                            for (f, want) in line.as_object().unwrap() {
                                if got["lines"][i][f] != *want {
                                    failures.push(format!("{name}: line {i} {f} = {} != {want}", got["lines"][i][f]));
                                }
                            }
                        }
                    }
                    field => {
                        if got["totals"][field] != *v {
                            failures.push(format!("{name}: {field} = {} != {v}", got["totals"][field]));
                        }
                    }
                }
            }
        }
    }
    assert!(count >= 40, "only {count} cases");
    assert!(failures.is_empty(), "{} of {count} rule-table checks failed:\n{}", failures.len(), failures.join("\n"));
}
