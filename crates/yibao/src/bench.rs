//! `yibao bench …`: measurements a reader of docs/PERFORMANCE.md can rerun.

use std::time::{Duration, Instant};

use yibao_core::AdminCode;
use yibao_store::synthetic::{synthetic_person, synthetic_regions};
use yibao_store::{PersonQuery, Store, StoreConfig};

/// Latencies of one kind of query.
pub(crate) struct Sample {
    pub(crate) label: &'static str,
    pub(crate) times: Vec<Duration>,
}

impl Sample {
    /// One table row: label, count, p50, the given percentile, and the maximum, in ms.
    pub(crate) fn print_row(&self, high: f64) {
        println!(
            "{:<34} {:>8} {:>9} {:>9} {:>9}",
            self.label,
            self.times.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(high)),
            ms(self.percentile(100.0))
        );
    }

    pub(crate) fn percentile(&self, p: f64) -> Duration {
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

/// 3201's totals over the institutions for `day`: settlements in force, charges, fund and
/// account payments in fen.
pub(crate) async fn books(
    store: &Store,
    institutions: &[yibao_store::Institution],
    day: chrono::NaiveDate,
) -> anyhow::Result<(i64, i64, i64, i64)> {
    let mut books = (0i64, 0i64, 0i64, 0i64);
    let mut seen = std::collections::HashSet::new();
    for inst in institutions {
        if seen.insert(inst.id) {
            let r = store.reconciliation(inst.id, day, day, None).await?;
            books.0 += r.setl_cnt;
            books.1 += r.medfee_sumamt.fen();
            books.2 += r.fund_pay_sumamt.fen();
            books.3 += r.acct_pay.fen();
        }
    }
    Ok(books)
}

/// The audit key benchmarks key their databases with (and the servers they start).
pub(crate) fn bench_key_file() -> std::path::PathBuf {
    std::env::temp_dir().join("yibao-bench-audit.key")
}

/// The given database, or a scratch SQLite file in the temporary directory (returned for
/// removal), migrated, its audit chain keyed with [`bench_key_file`].
/// The demo region seeded into an empty database (a scratch SQLite file by default): the
/// store, the scratch folder to remove afterwards, its documents, and China's today.
pub(crate) struct SeededDemo {
    pub(crate) store: Store,
    pub(crate) scratch: std::path::PathBuf,
    pub(crate) blobs: std::sync::Arc<dyn yibao_store::BlobStore>,
    pub(crate) today: chrono::NaiveDate,
}

pub(crate) async fn seeded_demo(database_url: Option<String>) -> anyhow::Result<SeededDemo> {
    let (store, url, scratch) = scratch_store(database_url).await?;
    if !store.is_empty().await? {
        anyhow::bail!("the benchmark needs an empty database; {} has data", yibao_store::redact(&url));
    }
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let blobs: std::sync::Arc<dyn yibao_store::BlobStore> =
        std::sync::Arc::new(yibao_store::LocalBlobs::new(scratch.join("documents")));
    yibao_demo::seed_demo(&store, &blobs, today).await?;
    Ok(SeededDemo { store, scratch, blobs, today })
}

pub(crate) async fn scratch_store(database_url: Option<String>) -> anyhow::Result<(Store, String, std::path::PathBuf)> {
    let scratch = std::env::temp_dir().join(format!("yibao-bench-{}", std::process::id()));
    let url = match database_url {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(&scratch)?;
            format!("sqlite://{}", scratch.join("bench.db").display())
        }
    };
    // Keyed as a server's is, so a benchmark measures the audit chain production writes; one
    // key for every benchmark run, so a database kept between runs opens again.
    let key = crate::config::audit_key(&bench_key_file()).map_err(anyhow::Error::msg)?;
    let store = Store::connect(&StoreConfig { audit_key: Some(key), ..StoreConfig::new(url.clone()) }).await?;
    store.migrate().await?;
    store.key_audit_log(None, false).await?;
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
    let mut samples = [
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
    for s in samples.iter().filter(|s| !s.times.is_empty()) {
        s.print_row(95.0);
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// One simulated hospital's view of the server: its code, secret and signed-in operator.
pub(crate) struct Hospital {
    pub(crate) code: String,
    pub(crate) secret: String,
    pub(crate) sign_no: String,
}

/// A signed platform message from `h`, with a fresh `msgid`: its bytes and signature, sent
/// as they are (a retry sends the same ones).
pub(crate) fn signed_message(
    h: &Hospital,
    seq: &std::sync::atomic::AtomicU64,
    infno: &str,
    input: serde_json::Value,
) -> anyhow::Result<(Vec<u8>, String)> {
    use yibao_core::platform::{SignType, TIME_FORMAT};
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
    let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = serde_json::json!({
        "infno": infno, "msgid": format!("{}{}{:04}", h.code, now.format("%Y%m%d%H%M%S"), n % 10_000),
        "mdtrtarea_admvs": "620302", "insuplc_admdvs": "620302", "recer_sys_code": "YB", "infver": "V1.0",
        "opter_type": "1", "opter": "bench", "opter_name": "bench", "inf_time": now.format(TIME_FORMAT).to_string(),
        "fixmedins_code": h.code, "fixmedins_name": "", "sign_no": h.sign_no, "signtype": "SM3", "input": input,
    });
    let bytes = serde_json::to_vec(&body)?;
    let signature = SignType::HmacSm3.sign(h.secret.as_bytes(), &bytes);
    Ok((bytes, signature))
}

/// The output of an answer, or an error naming the refusal.
pub(crate) fn output(infno: &str, r: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(r["infcode"] == 0, "{infno} refused: {} ({})", r["err_msg_en"], r["err_code"]);
    Ok(r["output"].clone())
}

/// Signs and sends one platform transaction; its output, or an error naming the refusal.
async fn call(
    http: &reqwest::Client,
    url: &str,
    h: &Hospital,
    seq: &std::sync::atomic::AtomicU64,
    infno: &str,
    input: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let (bytes, signature) = signed_message(h, seq, infno, input)?;
    let r: serde_json::Value = http
        .post(url)
        .header(yibao_core::platform::SIGNATURE_HEADER, signature)
        .body(bytes)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    output(infno, &r)
}

/// The example claim's seven items as 2301 lines (5,271.95 yuan).
pub(crate) fn bench_lines(mdtrt_id: &str, day: chrono::NaiveDate) -> serde_json::Value {
    let lines: Vec<serde_json::Value> = yibao_demo::DEMO_VISIT_LINES
        .iter()
        .map(|(sn, code, cnt, pric, amount)| {
            serde_json::json!({ "feedetl_sn": sn, "mdtrt_id": mdtrt_id, "med_list_codg": code, "cnt": cnt, "pric": pric,
            "det_item_fee_sumamt": amount, "fee_ocur_time": format!("{day} 10:00:00") })
        })
        .collect();
    serde_json::json!({ "feedetail": lines })
}

pub(crate) const BENCH_STEPS: [&str; 5] = ["2401", "2301", "2402", "2303", "2304"];

/// 2401's input: the person admitted on `begin` for gallstones.
pub(crate) fn admission(person_id: i64, begin: chrono::NaiveDate, ipt_no: &str) -> serde_json::Value {
    serde_json::json!({
        "mdtrtinfo": { "psn_no": person_id.to_string(), "begntime": format!("{begin} 08:00:00"),
            "med_type": "21", "ipt_no": ipt_no },
        "diseinfo": [{ "diag_code": "K80.1", "diag_name": "胆囊结石", "maindiag_flag": "1" }],
    })
}

/// The inputs of 2301, 2402, 2303 and 2304 for an admitted visit, discharged `today`.
pub(crate) fn visit_steps(
    mdtrt_id: &str,
    begin: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> [serde_json::Value; 4] {
    let data =
        serde_json::json!({ "data": { "mdtrt_id": mdtrt_id, "medfee_sumamt": "5271.95", "acct_used_flag": "1" } });
    [
        bench_lines(mdtrt_id, begin + chrono::Duration::days(1)),
        serde_json::json!({ "dscginfo": { "mdtrt_id": mdtrt_id, "endtime": format!("{today} 09:00:00") } }),
        data.clone(),
        data,
    ]
}

/// `n` generated employees like `template` (the same unit, region, scheme and category), each
/// with a resident ID of their own.
async fn employees(
    store: &Store,
    template: &yibao_store::Person,
    n: usize,
) -> anyhow::Result<Vec<yibao_store::Person>> {
    let born = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let mut persons = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut w = store.begin_write(&yibao_store::Actor::system("bench")).await?;
        for &i in chunk {
            let birth = born + chrono::Duration::days((i / 900) as i64);
            let input = yibao_store::PersonInput {
                resident_id: yibao_core::ResidentId::from_parts(
                    template.insured_region,
                    birth,
                    (i % 900 + 100) as u16,
                )?,
                name: "测试员工".parse()?,
                enrolment: template.enrolment,
                category: template.category,
                insured_region: template.insured_region,
                hukou_region: template.insured_region,
                employer_id: template.employer_id,
                bank_name: None,
                bank_card: None,
                phone: None,
                status: yibao_core::registry::PersonStatus::Active,
                status_from: born,
            };
            let person = store.create_person(&mut w, &input).await?;
            // With an active social security card, as the demo's settled persons have.
            let card = yibao_core::card::CardApplication {
                photo: yibao_core::card::PhotoSource::IdCard,
                photo_reference: String::new(),
                bank: "中国工商银行".into(),
                applicant_confirmed: true,
                service_point_confirmed: true,
            };
            let applied = born + chrono::Duration::days(365 * 50);
            let c = store.apply_card(&mut w, person.id, &card, applied).await?;
            for event in [yibao_core::card::CardEvent::Collect, yibao_core::card::CardEvent::Activate] {
                store
                    .card_event(
                        &mut w,
                        c.id,
                        event,
                        applied + chrono::Duration::days(30),
                        applied + chrono::Duration::days(30),
                    )
                    .await?;
            }
            persons.push(person);
        }
        w.commit().await?;
    }
    Ok(persons)
}

/// `yibao bench statement`: `SELECT 1`, one after another, through the store's pool (with
/// SQLite each statement is handed to the connection's own thread and its answer handed back)
/// and on the connection the platform interface's reads and writes use (with SQLite, run on
/// the calling thread: `direct.rs`).
pub async fn statement(count: u32, database_url: Option<String>) -> anyhow::Result<()> {
    let (store, _, scratch) = scratch_store(database_url).await?;
    let pool = time_statements(count, || store.execute_raw("SELECT 1")).await?;
    let direct = time_statements(count, || store.read_raw("SELECT 1")).await?;
    println!(
        "{count} statements on {:?}: {:.1} µs per round trip through the pool, {:.1} µs on the interface's connection",
        store.backend(),
        pool.as_secs_f64() * 1e6,
        direct.as_secs_f64() * 1e6
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The time one statement takes, over `count` after 100 to warm up.
async fn time_statements<F, Fut>(count: u32, run: F) -> anyhow::Result<std::time::Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<u64, yibao_store::StoreError>>,
{
    for _ in 0..100 {
        run().await?;
    }
    let t = Instant::now();
    for _ in 0..count {
        run().await?;
    }
    Ok(t.elapsed() / count.max(1))
}

/// The city's designated hospitals (`hospitals` of them, repeating if there are fewer), each
/// given a signing secret, and the demo persons every one of them can settle for directly
/// from three days ago (admitted then, discharged today).
pub(crate) async fn prepare(
    store: &Store,
    today: chrono::NaiveDate,
    hospitals: usize,
) -> anyhow::Result<(Vec<yibao_store::Institution>, Vec<yibao_store::Person>, std::collections::HashMap<String, String>)>
{
    let region: AdminCode = "620302".parse()?;
    let institutions: Vec<_> = store
        .list_institutions(None, Some(region))
        .await?
        .into_iter()
        .filter(|i| i.direct_settlement && i.designated_on(today))
        .cycle()
        .take(hospitals)
        .collect();
    anyhow::ensure!(!institutions.is_empty(), "the demo has no designated hospital in {region}");
    // Admitted three days ago, discharged today.
    let begin = today - chrono::Duration::days(3);
    let mut persons = Vec::new();
    for id in 1..=200 {
        let Ok(person) = store.person(id).await else { continue };
        let mut everywhere = true;
        for inst in &institutions {
            let cover = store.cover_report(&person, begin, Some(&inst.code)).await?.cover;
            everywhere &= cover.is_some_and(|c| c.direct_settlement);
        }
        if everywhere {
            persons.push(person);
        }
    }
    anyhow::ensure!(!persons.is_empty(), "no demo person can be settled directly");
    let mut w = store.begin_write(&yibao_store::Actor::system("bench")).await?;
    let mut secrets = std::collections::HashMap::new();
    for inst in &institutions {
        if !secrets.contains_key(&inst.code) {
            let secret = format!("bench-{}", inst.code);
            store.issue_known_platform_secret(&mut w, inst.id, &secret).await?;
            secrets.insert(inst.code.clone(), secret);
        }
    }
    w.commit().await?;

    Ok((institutions, persons, secrets))
}

/// `yibao bench settle`: seeds the demo region in a fresh database, serves yibao on a local
/// port, and runs `hospitals` simulated hospitals at once, each doing admission → fee upload →
/// discharge → pre-settlement → settlement over HTTP until `settlements` are made. Reports
/// settlements per second and each transaction's latency, then checks that yibao's totals
/// (3201) equal the sum of the answers, to the fen.
pub async fn settle(
    hospitals: usize,
    settlements: usize,
    database_url: Option<String>,
    supervised: bool,
    generated: usize,
) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;

    let SeededDemo { store, scratch, blobs, today } = seeded_demo(database_url).await?;
    if !supervised {
        // The rules switched off the way an agency would: a version with none.
        let mut w = store.begin_write(&yibao_store::Actor::system("bench")).await?;
        store.import_rule_base(&mut w, "region = \"620300\"\nversion = 2\nrules = []\n").await?;
        w.commit().await?;
    }

    let (institutions, mut persons, secrets) = prepare(&store, today, hospitals).await?;
    if generated > 0 {
        persons = employees(&store, &persons[0], generated).await?;
        let begin = today - chrono::Duration::days(3);
        for inst in &institutions {
            let report = store.cover_report(&persons[0], begin, Some(&inst.code)).await?;
            anyhow::ensure!(
                report.cover.as_ref().is_some_and(|c| c.direct_settlement),
                "a generated employee is not covered at {}: {:?} (card {:?})",
                inst.code,
                report.cover,
                report.card
            );
        }
    }
    let begin = today - chrono::Duration::days(3);

    let local = LocalServer::start(&store, blobs, today).await?;
    let endpoint = format!("{}/fsi/api/rsfComIfsService/callService", local.base);
    println!(
        "yibao bench settle: {hospitals} hospitals, {settlements} settlements, {} persons, on {:?}, supervision rules {}",
        persons.len(),
        store.backend(),
        if supervised { "on" } else { "off" }
    );

    let http = reqwest::Client::builder().pool_max_idle_per_host(hospitals).build()?;
    let seq = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let persons = Arc::new(persons);
    let progress = indicatif::ProgressBar::new(settlements as u64);
    let writes_before = store.write_stats();
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (k, inst) in institutions.iter().enumerate() {
        let mut h = Hospital { code: inst.code.clone(), secret: secrets[&inst.code].clone(), sign_no: String::new() };
        let (http, endpoint, seq, started, persons, progress) =
            (http.clone(), endpoint.clone(), seq.clone(), started.clone(), persons.clone(), progress.clone());
        tasks.spawn(async move {
            let out =
                call(&http, &endpoint, &h, &seq, "9001", serde_json::json!({ "signIn": { "opter": "bench" } })).await?;
            h.sign_no = out["signinoutb"]["sign_no"].as_str().unwrap_or_default().to_string();
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); BENCH_STEPS.len() + 1];
            let (mut medfee, mut fund, mut acct) = (0i64, 0i64, 0i64);
            loop {
                let n = started.fetch_add(1, Ordering::Relaxed);
                if n >= settlements {
                    break;
                }
                let person = &persons[n % persons.len()];
                let flow = Instant::now();
                let t = Instant::now();
                let out =
                    call(&http, &endpoint, &h, &seq, "2401", admission(person.id, begin, &format!("B{k}-{n}"))).await?;
                times[0].push(t.elapsed());
                let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap_or_default().to_string();
                let steps = visit_steps(&mdtrt_id, begin, today);
                let mut last = serde_json::Value::Null;
                for (i, input) in steps.into_iter().enumerate() {
                    let t = Instant::now();
                    last = call(&http, &endpoint, &h, &seq, BENCH_STEPS[i + 1], input).await?;
                    times[i + 1].push(t.elapsed());
                }
                times[BENCH_STEPS.len()].push(flow.elapsed());
                let info = &last["setlinfo"];
                let fen = |key: &str| -> anyhow::Result<i64> {
                    Ok(info[key].as_str().unwrap_or("x").parse::<yibao_core::Fen>()?.fen())
                };
                medfee += fen("medfee_sumamt")?;
                fund += fen("fund_pay_sumamt")?;
                acct += fen("acct_pay")?;
                progress.inc(1);
            }
            anyhow::Ok((times, medfee, fund, acct))
        });
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); BENCH_STEPS.len() + 1];
    let (mut medfee, mut fund, mut acct) = (0i64, 0i64, 0i64);
    for result in tasks.join_all().await {
        let (t, m, f, a) = result?;
        for (all, mine) in times.iter_mut().zip(t) {
            all.extend(mine);
        }
        medfee += m;
        fund += f;
        acct += a;
    }
    let wall = t0.elapsed();
    progress.finish_and_clear();
    let server_runtime = local.stop().await?;

    let done = times[BENCH_STEPS.len()].len();
    println!(
        "{done} settlements in {:.2} s: {:.0} settlements/s ({:.0} transactions/s)",
        wall.as_secs_f64(),
        done as f64 / wall.as_secs_f64(),
        (done * BENCH_STEPS.len()) as f64 / wall.as_secs_f64()
    );
    // The writes run one at a time: how long each held the turn is the ceiling on throughput.
    let writes = store.write_stats().since(writes_before);
    println!(
        "{} writes in {} commits ({:.1} per commit); the turn to write was held {:.0} % of the run: \
         {:.3} ms per write, {:.3} ms per commit",
        writes.writes,
        writes.commits,
        writes.writes as f64 / writes.commits.max(1) as f64,
        100.0 * (writes.writing + writes.committing).as_secs_f64() / wall.as_secs_f64(),
        writes.writing.as_secs_f64() * 1e3 / writes.writes.max(1) as f64,
        writes.committing.as_secs_f64() * 1e3 / writes.commits.max(1) as f64,
    );
    println!("{:<34} {:>8} {:>9} {:>9} {:>9}", "transaction", "n", "p50 ms", "p99 ms", "max ms");
    let labels =
        ["2401 admission", "2301 fee upload (7 lines)", "2402 discharge", "2303 pre-settlement", "2304 settlement"];
    for (i, t) in times.into_iter().enumerate() {
        Sample { label: labels.get(i).copied().unwrap_or("whole visit (5 calls)"), times: t }.print_row(99.0);
    }

    // Every fen the hospitals were told is in yibao's books, and nothing more.
    let books = books(&store, &institutions, today).await?;
    // The demo's own settlement was a week ago, outside the period.
    anyhow::ensure!(
        books == (done as i64, medfee, fund, acct),
        "the books ({books:?}) differ from the answers ({done}, {medfee}, {fund}, {acct})"
    );
    println!("3201 totals equal the answers: {done} settlements, {} yuan", yibao_core::Fen::from_fen(medfee));
    store.close().await;
    // Last: connections the server opened belong to its runtime.
    server_runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// yibao served on a local port from a store, on its own threads (as it would in its own
/// process: the benchmark's clients do not queue in front of its requests).
pub(crate) struct LocalServer {
    /// `http://127.0.0.1:port`.
    pub(crate) base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    runtime: tokio::runtime::Runtime,
}

impl LocalServer {
    pub(crate) async fn start(
        store: &Store,
        blobs: std::sync::Arc<dyn yibao_store::BlobStore>,
        today: chrono::NaiveDate,
    ) -> anyhow::Result<LocalServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = yibao_web::AppState {
            store: store.clone(),
            blobs,
            secure_cookies: false,
            today: Some(today),
            logins: Default::default(),
            held: Default::default(),
            lookups: Default::default(),
            gateway: Some(std::sync::Arc::new(yibao_web::gateway::Simulated::new())),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("yibao-server")
            .enable_all()
            .build()?;
        let server = runtime.spawn(yibao_web::serve_on(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(LocalServer { base, stop, server, runtime })
    }

    /// Stops serving; the runtime is returned to be shut down after the store is closed
    /// (connections the server opened belong to it).
    pub(crate) async fn stop(self) -> anyhow::Result<tokio::runtime::Runtime> {
        let _ = self.stop.send(());
        self.server.await??;
        Ok(self.runtime)
    }
}

/// Credits one month to `persons` synthetic employees' accounts (opened by the job) on a
/// fresh database, then runs the month again: accounts per second, and the second run
/// credits nobody.
pub async fn credit(persons: u64, database_url: Option<String>) -> anyhow::Result<()> {
    use yibao_core::contribution::months::YearMonth;
    let (store, url, scratch) = scratch_store(database_url).await?;
    if store.count_persons(None).await? > 0 {
        anyhow::bail!("the benchmark needs an empty database; {} has persons", yibao_store::redact(&url));
    }
    println!("yibao bench credit: {persons} accounts on {:?}", store.backend());
    let bar = indicatif::ProgressBar::new(persons)
        .with_style(indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, eta {eta})")?);
    bar.set_message("loading persons");
    store.load_synthetic_persons(persons, |n| bar.set_position(n)).await?;
    let month = YearMonth { year: 2026, month: 3 };
    store.pay_synthetic_month(month).await?;
    let system = yibao_store::Actor::system("bench-credit");
    let mut prefectures: Vec<AdminCode> = synthetic_regions().iter().map(|r| r.prefecture()).collect();
    prefectures.dedup();
    let mut w = store.begin_write(&system).await?;
    for p in &prefectures {
        let rules = yibao_demo::demo_contribution_rules(month.year)
            .replace("region = \"620300\"", &format!("region = \"{p}\""));
        store.import_contribution_rules(&mut w, &rules).await?;
    }
    w.commit().await?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default();
    bar.set_message("crediting");
    bar.set_position(0);
    let started = Instant::now();
    let (mut credited, mut amount) = (0i64, yibao_core::Fen::ZERO);
    let mut base = 0u64;
    for p in &prefectures {
        let run =
            store.credit_accounts(&system, *p, month, today, |done, _| bar.set_position(base + done as u64)).await?;
        base += run.credited as u64;
        credited += run.credited;
        amount = amount.saturating_add(run.amount);
    }
    let took = started.elapsed();
    bar.finish_and_clear();
    anyhow::ensure!(credited as u64 == persons, "credited {credited} of {persons}");
    println!(
        "credited {credited} accounts ({} yuan) in {:.1} s: {:.0} accounts/s",
        amount.to_grouped(),
        took.as_secs_f64(),
        credited as f64 / took.as_secs_f64()
    );
    let started = Instant::now();
    let mut again = 0;
    for p in &prefectures {
        again += store.credit_accounts(&system, *p, month, today, |_, _| {}).await?.credited;
    }
    anyhow::ensure!(again == 0, "the second run credited {again}");
    println!("run again: credited 0 in {:.1} s", started.elapsed().as_secs_f64());
    drop(store);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
