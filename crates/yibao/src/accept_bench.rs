//! `yibao bench accept`: what the rule base costs when intake accepts a sporadic claim (the
//! engine adjudicates it and the rules check the stay against the person's other claims and
//! settlements). The same claims are accepted on two fresh demo databases, one with the demo
//! region's rules and one with a version of none, side by side in one run.

use std::time::{Duration, Instant};

use yibao_core::sporadic::ClaimCase;
use yibao_store::Actor;

use crate::bench::{prepare, seeded_demo, Sample, SeededDemo};

/// A stay of a week: bed, two blood counts on one day (the repeat-charging rule finds it), an
/// antibiotic, an operation.
const STAY: &[(&str, &str, &str, &str)] = &[
    ("001102000010000", "6", "40.00", "240.00"),
    ("002201000010000", "2", "25.00", "50.00"),
    ("XJ01CRA045E001010101947", "12", "12.00", "144.00"),
    ("003113000010000", "1", "3000.00", "3000.00"),
];

pub async fn run(claims: usize) -> anyhow::Result<()> {
    println!("yibao bench accept: {claims} claims accepted one after another, each its own write");
    println!("{:<34} {:>8} {:>9} {:>9} {:>9}", "accept (ms)", "claims", "p50", "p99", "max");
    let with = accept(claims, true).await?;
    let without = accept(claims, false).await?;
    with.print_row(99.0);
    without.print_row(99.0);
    Ok(())
}

/// Accepts `claims` claims of the demo's persons on a fresh demo database, the rules on or off.
async fn accept(claims: usize, supervised: bool) -> anyhow::Result<Sample> {
    let SeededDemo { store, scratch, blobs, today } = seeded_demo(None).await?;
    if !supervised {
        let mut w = store.begin_write(&Actor::system("bench")).await?;
        store.import_rule_base(&mut w, "region = \"620300\"\nversion = 2\nrules = []\n").await?;
        w.commit().await?;
    }
    let (_, persons, _) = prepare(&store, today, 1).await?;
    if !supervised {
        println!("{} demo persons, about {} claims each", persons.len(), claims.div_ceil(persons.len().max(1)));
    }
    let clerk = Actor::system("bench-clerk");
    let progress = indicatif::ProgressBar::new(claims as u64);
    let mut times: Vec<Duration> = Vec::with_capacity(claims);
    for n in 0..claims {
        let person = &persons[n % persons.len()];
        // Each person's claims a few days apart, within the month they may be handed in.
        let ended = today - chrono::Duration::days((n / persons.len()) as i64 % 25 + 1);
        let invoice = format!("BENCH-{n:06}");
        let input = yibao_demo::lanzhou_claim(person.id, ClaimCase::OffsiteInpatient, &invoice, ended, STAY)?;
        let mut w = store.begin_write(&clerk).await?;
        let c = store.submit_claim(&mut w, &input, today).await?;
        for kind in yibao_demo::INPATIENT_DOCUMENTS {
            let bytes = yibao_demo::DEMO_SCAN_PNG.to_vec();
            store.attach_claim_document(&mut w, &blobs, c.id, *kind, "scan.png", bytes).await?;
        }
        w.commit().await?;
        let rules = store.rules().await?;
        let t = Instant::now();
        let mut w = store.begin_write(&clerk).await?;
        store.accept_claim(&mut w, &rules, c.id, today).await?;
        w.commit().await?;
        times.push(t.elapsed());
        progress.inc(1);
    }
    progress.finish_and_clear();
    store.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Sample { label: if supervised { "rules on (demo rule base)" } else { "rules off (no rules)" }, times })
}
