//! `yibao bench supervise`: the supervision rule base (the demo region's) over a generated
//! year of visits, each checked against its person's other stays of the year, on every core.
//! Reports visits per second and the hits of each rule. The visits are generated from a
//! fixed seed, so every run checks the same year.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use yibao_core::supervise::{check, Evidence, Invoice, RuleBase, Visit, VisitLine};
use yibao_core::Sex;

/// Where hits with evidence that does not exist are counted (there must be none).
const BAD_EVIDENCE: &str = "bad evidence";

/// Diagnoses drawn for main diagnoses (a few, so that readmissions with the same one occur).
const DIAGNOSES: [&str; 12] =
    ["K80.1", "J18.9", "I10", "E11.9", "I63.9", "N18.5", "C34.9", "K35.8", "S72.0", "O80", "I21.9", "J44.1"];

/// Items drawn for most orders (bed and nursing among them).
const ITEMS: [&str; 7] = [
    "001102000010000",
    "002202000010000",
    "003113000010000",
    "XN02BEA001A001010101589",
    "250101001",
    "250104001",
    "XJ01CRA011A001010101563",
];

/// The demo rule base's restricted items (a drug for children, a women's examination), drawn
/// for one order in fifty; and the blood count, once in half the visits, twice on one day
/// in one visit in twenty.
const RESTRICTED: [&str; 2] = ["XA01ABD075A001010100027", "311201001"];
const BLOOD_COUNT: &str = "002201000010000";

/// One year of visits of `persons` persons, grouped by person.
fn generate(visits: usize, persons: usize) -> Vec<Vec<Visit>> {
    let mut rng = StdRng::seed_from_u64(2026);
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
    let people: Vec<(Sex, NaiveDate)> = (0..persons)
        .map(|_| {
            let sex = if rng.gen_bool(0.5) { Sex::Male } else { Sex::Female };
            (sex, start - chrono::Duration::days(rng.gen_range(0..90 * 365)))
        })
        .collect();
    let mut by_person: Vec<Vec<Visit>> = vec![Vec::new(); persons];
    for n in 0..visits {
        let person = rng.gen_range(0..persons);
        let inpatient = rng.gen_bool(0.3);
        let admitted = start + chrono::Duration::days(rng.gen_range(0..365));
        let stay = if inpatient { rng.gen_range(1..15) } else { 0 };
        let discharged = admitted + chrono::Duration::days(stay);
        let mut lines: Vec<VisitLine> = (0..rng.gen_range(5..40))
            .map(|i| {
                let item = if rng.gen_bool(0.02) {
                    RESTRICTED[rng.gen_range(0..RESTRICTED.len())]
                } else {
                    ITEMS[rng.gen_range(0..ITEMS.len())]
                };
                VisitLine {
                    sn: i.to_string(),
                    item: item.to_string(),
                    day: admitted + chrono::Duration::days(rng.gen_range(0..=stay)),
                    quantity: Decimal::from(rng.gen_range(1..3)),
                    limits: None,
                }
            })
            .collect();
        if rng.gen_bool(0.5) {
            let times = if rng.gen_bool(0.1) { 2 } else { 1 };
            for t in 0..times {
                let sn = format!("B{t}");
                lines.push(VisitLine {
                    sn,
                    item: BLOOD_COUNT.to_string(),
                    day: admitted,
                    quantity: Decimal::ONE,
                    limits: None,
                });
            }
        }
        let (sex, birth_date) = people[person];
        let institution = format!("H62030{:06}", rng.gen_range(0..300));
        let invoices = vec![Invoice { institution: institution.clone(), number: format!("{n:010}") }];
        by_person[person].push(Visit {
            id: format!("V{n:08}"),
            person_id: person as i64,
            sex,
            birth_date,
            institution,
            inpatient,
            admitted,
            discharged,
            main_diagnosis: DIAGNOSES[rng.gen_range(0..DIAGNOSES.len())].to_string(),
            lines,
            invoices,
        });
    }
    by_person
}

pub fn run(visits: usize, persons: usize, threads: usize) -> anyhow::Result<f64> {
    let rules = RuleBase::parse(yibao_demo::DEMO_RULE_BASE)
        .map_err(|e| anyhow::anyhow!("the demo rule base does not parse: {:?}", e))?;
    let persons = persons.max(1);
    let threads = threads.max(1);
    let began = Instant::now();
    let people = generate(visits, persons);
    println!("generated {visits} visits of {persons} persons in {:.1} s", began.elapsed().as_secs_f64());

    let began = Instant::now();
    let chunk = people.len().div_ceil(threads);
    let counts: Vec<BTreeMap<String, u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = people
            .chunks(chunk)
            .map(|part| {
                let rules = &rules;
                s.spawn(move || {
                    let mut hits: BTreeMap<String, u64> = BTreeMap::new();
                    for visits in part {
                        for v in visits {
                            for hit in check(rules, v, visits) {
                                // Every hit names evidence that exists: a wrong engine fails.
                                let found = match &hit.evidence {
                                    Evidence::Lines(sns) => sns.iter().all(|sn| v.lines.iter().any(|l| &l.sn == sn)),
                                    Evidence::Visits(ids) => ids.iter().all(|id| visits.iter().any(|o| &o.id == id)),
                                };
                                let key = if found { hit.rule } else { BAD_EVIDENCE.to_string() };
                                *hits.entry(key).or_default() += 1;
                            }
                        }
                    }
                    hits
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let elapsed = began.elapsed().as_secs_f64();
    let mut hits: BTreeMap<String, u64> = BTreeMap::new();
    for c in counts {
        for (rule, n) in c {
            *hits.entry(rule).or_default() += n;
        }
    }
    if let Some(n) = hits.get(BAD_EVIDENCE) {
        anyhow::bail!("{n} hits name evidence the visit does not have");
    }
    let rate = visits as f64 / elapsed;
    println!("checked {visits} visits on {threads} threads in {elapsed:.2} s: {rate:.0} visits/s");
    for (rule, n) in &hits {
        println!("  {rule}: {n} hits");
    }
    Ok(rate)
}
