//! `yibao bench …`: measurements a reader of docs/PERFORMANCE.md can rerun.

use std::time::{Duration, Instant};

use yibao_core::AdminCode;
use yibao_store::synthetic::{synthetic_person, synthetic_regions};
use yibao_store::{PersonQuery, Store, StoreConfig};

/// Latencies of one kind of query.
struct Sample {
    label: &'static str,
    times: Vec<Duration>,
}

impl Sample {
    fn percentile(&self, p: f64) -> Duration {
        let mut t = self.times.clone();
        t.sort();
        // Nearest-rank percentile.
        let rank = ((p / 100.0) * t.len() as f64).ceil().max(1.0) as usize;
        t[rank.min(t.len()) - 1]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The given database, or a scratch SQLite file in the temporary directory (returned for
/// removal), migrated.
async fn scratch_store(database_url: Option<String>) -> anyhow::Result<(Store, String, std::path::PathBuf)> {
    let scratch = std::env::temp_dir().join(format!("yibao-bench-{}", std::process::id()));
    let url = match database_url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&scratch)?;
            format!("sqlite://{}", scratch.join("bench.db").display())
        }
    };
    let store = Store::connect(&StoreConfig::new(url.clone())).await?;
    store.migrate().await?;
    Ok((store, url, scratch))
}

/// Generates a catalog of `rows` entries as CSV, then times what a policy administrator's
/// import does with it: reading and checking every row, storing it (one transaction, one
/// audit entry), and loading every stored entry back for the engine. Every row must be
/// accepted and come back, so a fast wrong import fails.
pub async fn catalog_import(rows: usize, database_url: Option<String>) -> anyhow::Result<()> {
    let (store, url, scratch) = scratch_store(database_url).await?;
    if !store.catalog_imports(None).await?.is_empty() {
        anyhow::bail!("the benchmark needs an empty database; {} has catalog imports", yibao_store::redact(&url));
    }
    let region: AdminCode = "620300".parse()?;
    let csv = yibao_core::adjudicate::synthetic::catalog_csv(rows, region, 20_260_301);
    println!(
        "yibao bench catalog-import: {rows} rows ({:.1} MB of CSV) on {:?}",
        csv.len() as f64 / 1e6,
        store.backend()
    );

    let started = Instant::now();
    let file =
        yibao_core::catalog::CatalogFile::read(csv.as_bytes()).map_err(|e| anyhow::anyhow!("{}", e.reason.en))?;
    let read = started.elapsed();
    anyhow::ensure!(file.rejected.is_empty() && file.rows.len() == rows, "every generated row must be accepted");
    println!("read and checked: {:.2} s ({:.0} rows/s)", read.as_secs_f64(), rows as f64 / read.as_secs_f64());

    let started = Instant::now();
    let mut w = store.begin_write(&yibao_store::Actor::system("bench")).await?;
    let report = store.import_catalog(&mut w, "bench.csv", csv.as_bytes(), None).await?;
    w.commit().await?;
    let import = started.elapsed();
    anyhow::ensure!(report.rows_accepted == rows as i64 && report.rows_rejected == 0, "import lost rows");
    println!(
        "imported (read, checked, stored, audited): {:.2} s ({:.0} rows/s)",
        import.as_secs_f64(),
        rows as f64 / import.as_secs_f64()
    );

    let started = Instant::now();
    let catalogs = store.load_catalogs().await?;
    let load = started.elapsed();
    anyhow::ensure!(catalogs.len() == rows, "loaded {} of {rows} entries", catalogs.len());
    println!("loaded for the engine: {:.2} s ({:.0} rows/s)", load.as_secs_f64(), rows as f64 / load.as_secs_f64());
    store.close().await;
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

/// Loads `persons` synthetic persons into a fresh database, then times `queries` searches
/// of each kind the portal offers. Every answer is checked, so a fast wrong answer fails.
pub async fn registry(persons: u64, queries: u64, database_url: Option<String>) -> anyhow::Result<()> {
    let (store, url, scratch) = scratch_store(database_url).await?;
    if store.count_persons(None).await? > 0 {
        anyhow::bail!("the benchmark needs an empty database; {} has persons", yibao_store::redact(&url));
    }
    println!("yibao bench registry: {persons} persons on {:?}", store.backend());

    let bar = indicatif::ProgressBar::new(persons).with_style(indicatif::ProgressStyle::with_template(
        "loading {bar:40} {pos}/{len} persons ({per_sec}, eta {eta})",
    )?);
    let started = Instant::now();
    store.load_synthetic_persons(persons, |n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    let load = started.elapsed();
    println!("loaded in {:.1} s ({:.0} persons/s)", load.as_secs_f64(), persons as f64 / load.as_secs_f64());

    let regions = synthetic_regions();
    let mut samples = vec![
        Sample { label: "exact resident ID", times: Vec::new() },
        Sample { label: "resident ID prefix (12 digits)", times: Vec::new() },
        Sample { label: "name prefix (2 characters)", times: Vec::new() },
        Sample { label: "name prefix + county", times: Vec::new() },
        Sample { label: "county, page 1", times: Vec::new() },
        Sample { label: "county, 20 pages deep (keyset)", times: Vec::new() },
    ];
    let step = (persons / queries.max(1)).max(1);
    let page = |text: Option<String>, region: Option<AdminCode>, after: Option<String>| PersonQuery {
        text,
        region,
        scope: None,
        after,
        limit: 20,
    };
    for q in 0..queries {
        let i = (q * step + q % 7) % persons;
        let (region, rid, name) = synthetic_person(i, &regions)?;

        let t = Instant::now();
        let found = store.search_persons(&page(Some(rid.as_str().into()), None, None)).await?;
        samples[0].times.push(t.elapsed());
        anyhow::ensure!(found.items.len() == 1 && found.items[0].resident_id == rid, "exact ID {rid} not found");

        let t = Instant::now();
        let found = store.search_persons(&page(Some(rid.as_str()[..12].into()), None, None)).await?;
        samples[1].times.push(t.elapsed());
        anyhow::ensure!(found.items.iter().all(|p| p.resident_id.as_str().starts_with(&rid.as_str()[..12])));
        anyhow::ensure!(!found.items.is_empty(), "ID prefix of {rid} found nothing");

        let prefix: String = name.chars().take(2).collect();
        let t = Instant::now();
        let found = store.search_persons(&page(Some(prefix.clone()), None, None)).await?;
        samples[2].times.push(t.elapsed());
        anyhow::ensure!(!found.items.is_empty() && found.items.iter().all(|p| p.name.as_str().starts_with(&prefix)));

        let t = Instant::now();
        let found = store.search_persons(&page(Some(prefix.clone()), Some(region), None)).await?;
        samples[3].times.push(t.elapsed());
        anyhow::ensure!(found.items.iter().all(|p| p.insured_region == region && p.name.as_str().starts_with(&prefix)));

        let t = Instant::now();
        let first = store.search_persons(&page(None, Some(region), None)).await?;
        samples[4].times.push(t.elapsed());
        anyhow::ensure!(first.items.len() == 20.min(persons as usize / regions.len()));

        // Follow the cursor 20 pages; time the last page only.
        let mut after = first.next;
        for _ in 0..19 {
            let Some(a) = after.take() else { break };
            after = store.search_persons(&page(None, Some(region), Some(a))).await?.next;
        }
        if let Some(a) = after {
            let t = Instant::now();
            let deep = store.search_persons(&page(None, Some(region), Some(a))).await?;
            samples[5].times.push(t.elapsed());
            anyhow::ensure!(deep.items.iter().all(|p| p.insured_region == region));
        }
    }

    println!("{:<34} {:>8} {:>9} {:>9} {:>9}", "query", "n", "p50 ms", "p95 ms", "max ms");
    for s in &samples {
        if s.times.is_empty() {
            continue;
        }
        println!(
            "{:<34} {:>8} {:>9} {:>9} {:>9}",
            s.label,
            s.times.len(),
            ms(s.percentile(50.0)),
            ms(s.percentile(95.0)),
            ms(s.percentile(100.0))
        );
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
