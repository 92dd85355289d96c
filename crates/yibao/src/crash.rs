//! `yibao bench crash`: a real `yibao serve` process under a load of direct settlements,
//! killed with SIGKILL at random moments and started again, again and again. The simulated
//! hospitals keep every message they sent; one that got no answer is sent again, byte for
//! byte (the same `msgid`), until it is answered. At the end every settlement a hospital was
//! told of must be in the books with the amounts it was told, nothing more may be there, and
//! the audit chain must be intact: nothing acknowledged lost, nothing done twice.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use yibao_core::Fen;

use crate::bench::{admission, books, output, prepare, scratch_store, signed_message, visit_steps, Hospital};

/// One answered settlement as the hospital was told it.
struct Told {
    setl_id: String,
    medfee: i64,
    fund: i64,
    acct: i64,
}

/// What the clients counted.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    resent: AtomicU64,
}

pub async fn crash(kills: usize, hospitals: usize, database_url: Option<String>) -> anyhow::Result<()> {
    let (store, url, scratch) = scratch_store(database_url).await?;
    anyhow::ensure!(store.is_empty().await?, "the crash loop needs an empty database");
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let blobs: Arc<dyn yibao_store::BlobStore> = Arc::new(yibao_store::LocalBlobs::new(scratch.join("documents")));
    yibao_demo::seed_demo(&store, &blobs, today).await?;
    let (institutions, persons, secrets) = prepare(&store, today, hospitals).await?;
    store.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let server = Server { url: url.clone(), data: scratch.clone(), port };
    let mut child = server.start().await?;
    let endpoint = format!("http://127.0.0.1:{port}/fsi/api/rsfComIfsService/callService");
    println!(
        "yibao bench crash: {kills} kills, {hospitals} hospitals, {} persons, on {url_kind}",
        persons.len(),
        url_kind = kind(&url)
    );

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let seq = Arc::new(AtomicU64::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let persons = Arc::new(persons);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let mut tasks = tokio::task::JoinSet::new();
    for (k, inst) in institutions.iter().enumerate() {
        let mut h = Hospital { code: inst.code.clone(), secret: secrets[&inst.code].clone(), sign_no: String::new() };
        let (http, endpoint, seq, started, persons, stop, counts) = (
            http.clone(),
            endpoint.clone(),
            seq.clone(),
            started.clone(),
            persons.clone(),
            stop.clone(),
            counts.clone(),
        );
        tasks.spawn(async move {
            let begin = today - chrono::Duration::days(3);
            let sign_in = serde_json::json!({ "signIn": { "opter": "crash" } });
            let out =
                until_answered(&http, &endpoint, &counts, "9001", signed_message(&h, &seq, "9001", sign_in)?).await?;
            h.sign_no = out["signinoutb"]["sign_no"].as_str().unwrap_or_default().to_string();
            let mut told = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let n = started.fetch_add(1, Ordering::Relaxed);
                let person = &persons[n % persons.len()];
                let message = signed_message(&h, &seq, "2401", admission(person.id, begin, &format!("C{k}-{n}")))?;
                let out = until_answered(&http, &endpoint, &counts, "2401", message).await?;
                let mdtrt_id = out["result"]["mdtrt_id"].as_str().unwrap_or_default().to_string();
                let mut last = serde_json::Value::Null;
                for (i, input) in visit_steps(&mdtrt_id, begin, today).into_iter().enumerate() {
                    let infno = crate::bench::BENCH_STEPS[i + 1];
                    last = until_answered(&http, &endpoint, &counts, infno, signed_message(&h, &seq, infno, input)?)
                        .await?;
                }
                let info = &last["setlinfo"];
                let fen =
                    |key: &str| -> anyhow::Result<i64> { Ok(info[key].as_str().unwrap_or("x").parse::<Fen>()?.fen()) };
                told.push(Told {
                    setl_id: info["setl_id"].as_str().unwrap_or_default().to_string(),
                    medfee: fen("medfee_sumamt")?,
                    fund: fen("fund_pay_sumamt")?,
                    acct: fen("acct_pay")?,
                });
            }
            anyhow::Ok(told)
        });
    }

    // Killed at random moments, each time started again once the last one answers.
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let t0 = Instant::now();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..900))).await;
        child.kill()?;
        child.wait()?;
        child = server.start().await?;
    }
    stop.store(true, Ordering::SeqCst);
    let mut told = Vec::new();
    for result in tasks.join_all().await {
        told.extend(result?);
    }
    let wall = t0.elapsed();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "the server did not stop cleanly on SIGTERM: {status}");

    // Everything told is in the books as told, and nothing else.
    // The chain is keyed with the benchmarks' key, as the server was told.
    let key = crate::config::read_audit_key(&crate::bench::bench_key_file()).map_err(anyhow::Error::msg)?;
    let config = yibao_store::StoreConfig { audit_key: Some(key), ..yibao_store::StoreConfig::new(url.clone()) };
    let store = yibao_store::Store::connect(&config).await?;
    let mut lost = 0;
    for t in &told {
        match store.settlement(&t.setl_id, None).await {
            Ok(s)
                if (s.list.medfee_sumamt.fen(), s.list.fund_pay_sumamt.fen(), s.list.acct_pay.fen())
                    == (t.medfee, t.fund, t.acct) => {}
            Ok(_) => anyhow::bail!("settlement {} differs from what the hospital was told", t.setl_id),
            Err(_) => lost += 1,
        }
    }
    let sums = told.iter().fold((0, 0, 0, 0), |b, t| (b.0 + 1, b.1 + t.medfee, b.2 + t.fund, b.3 + t.acct));
    let in_books = books(&store, &institutions, today).await?;
    let duplicated = in_books.0 - sums.0;
    let chain = store.verify_audit_log().await?;
    // The fund's books: each settlement and reversal posted once, in its own transaction.
    let fund_books = store.verify_books().await?;
    println!(
        "{kills} kills survived in {:.1} s: {} requests ({} sent again after a kill), {} settlements told, \
         {} in the books; lost {lost}, duplicated {duplicated}; audit log {} entries, {}; fund books {}",
        wall.as_secs_f64(),
        counts.requests.load(Ordering::Relaxed),
        counts.resent.load(Ordering::Relaxed),
        sums.0,
        in_books.0,
        chain.entries,
        chain.first_break.as_ref().map_or("intact".to_string(), |b| format!("BROKEN: {b}")),
        if fund_books.clean() { "balanced and agreeing".to_string() } else { format!("{:?}", fund_books.differences) }
    );
    store.close().await;
    anyhow::ensure!(fund_books.clean(), "the fund's books do not agree with the records");
    anyhow::ensure!(lost == 0 && in_books == sums, "the books ({in_books:?}) differ from what was told ({sums:?})");
    anyhow::ensure!(chain.first_break.is_none(), "the audit chain is broken");
    anyhow::ensure!(!told.is_empty(), "no settlement was made");
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn kind(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    }
}

/// The server process: this binary's `serve`, without the demo (it is seeded already), on a
/// fixed port so clients find it again after a restart.
struct Server {
    url: String,
    data: std::path::PathBuf,
    port: u16,
}

impl Server {
    async fn start(&self) -> anyhow::Result<Child> {
        let child = Command::new(std::env::current_exe()?)
            .args(["serve", "--no-demo"])
            .env("YIBAO_DATABASE_URL", &self.url)
            .env("YIBAO_DATA_DIR", &self.data)
            .env("YIBAO_AUDIT_KEY_FILE", crate::bench::bench_key_file())
            .env("YIBAO_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("YIBAO_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let health = format!("http://127.0.0.1:{}/healthz", self.port);
        let started = Instant::now();
        while !reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "the server did not come back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(child)
    }
}

/// Sends one message until it is answered, byte for byte the same each time (so a message
/// the killed server had done is answered from its record, not done again).
async fn until_answered(
    http: &reqwest::Client,
    endpoint: &str,
    counts: &Counts,
    infno: &str,
    (bytes, signature): (Vec<u8>, String),
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let mut first = true;
    loop {
        counts.requests.fetch_add(1, Ordering::Relaxed);
        if !first {
            counts.resent.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        let sent = http
            .post(endpoint)
            .header(yibao_core::platform::SIGNATURE_HEADER, signature.clone())
            .body(bytes.clone())
            .send()
            .await;
        if let Ok(answer) = sent {
            if answer.status().is_success() {
                if let Ok(r) = answer.json::<serde_json::Value>().await {
                    return output(infno, &r);
                }
            }
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "{infno} was never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
