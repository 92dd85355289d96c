//! `yibao bench portal`: insured persons using the portal at once, as on their phones — home,
//! their claims, cover, settlements and messages, a claim's page and its receipt, the claim
//! form, and the suggestions as they type a region, a hospital, a diagnosis or a drug — on a
//! fresh demo database served on a local port. Reports each page's latency and the whole
//! run's p99, and checks every answer (status and what the page must say); with `--max-p99-ms`
//! a slower run fails.

use std::time::{Duration, Instant};

use yibao_core::Role;
use yibao_store::{Actor, NewAccount};

use crate::bench::{seeded_demo, LocalServer, Sample, SeededDemo};

/// The pages each simulated person opens, in turn: (label, address, what it must contain).
/// `{claim}` is the person's own claim (张三's; others open their claims list instead).
const PAGES: &[(&str, &str, &str)] = &[
    ("home /", "/", "消息"),
    ("my claims /my/claims", "/my/claims", "我的报销"),
    ("my cover /my/cover", "/my/cover", "参保"),
    ("my settlements /my/settlements", "/my/settlements", "结算"),
    ("messages /my/messages", "/my/messages", "消息"),
    ("claim form /claims/new", "/claims/new?case=offsite_outpatient", "claim-form"),
    ("region suggest", "/regions/suggest?q=%E9%87%91%E5%B7%9D", "620302"),
    ("hospital suggest", "/institutions/suggest?q=%E5%85%B0%E5%B7%9E", "H6201"),
    ("diagnosis suggest", "/diagnoses/suggest?q=gxy", "I10"),
    ("catalog suggest", "/catalog/suggest?q=dkla", "XA01ABD075A002010100483"),
    ("claim page /claims/{id}", "{claim}", "claim-number"),
    ("claim receipt", "{claim}/receipt", "paper-qr"),
];

pub async fn run(
    users: usize,
    rounds: usize,
    database_url: Option<String>,
    max_p99_ms: Option<f64>,
) -> anyhow::Result<()> {
    let SeededDemo { store, scratch, blobs, today } = seeded_demo(database_url).await?;

    // 张三 and others of the demo's insured persons, each with an account of their own.
    let mut accounts = vec!["zhangsan".to_string()];
    let mut w = store.begin_write(&Actor::system("bench")).await?;
    for id in 1..=(users as i64 * 3) {
        if accounts.len() >= users {
            break;
        }
        let Ok(person) = store.person(id).await else { continue };
        // The demo region's own people (its catalog is theirs), 张三 apart.
        if person.resident_id.as_str() == yibao_demo::DEMO_INSURED_ID
            || person.insured_region.prefecture().to_string() != "620300"
        {
            continue;
        }
        let username = format!("bench-person-{id}");
        let new = NewAccount {
            username: username.clone(),
            display_name: person.name.to_string(),
            role: Role::Insured,
            password: yibao_demo::DEMO_PASSWORD.into(),
            scope: Default::default(),
            person_id: Some(person.id),
            institution_code: None,
            employer_code: None,
            temporary_password: false,
        };
        if store.create_account(&mut w, &new).await.is_ok() {
            accounts.push(username);
        }
    }
    w.commit().await?;
    anyhow::ensure!(accounts.len() == users, "only {} insured persons to log in as", accounts.len());
    let zhang = store
        .person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse()?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo has no 张三"))?;
    let claim =
        store.claims_of(zhang.id).await?.first().map(|c| c.id).ok_or_else(|| anyhow::anyhow!("张三 has no claim"))?;

    let local = LocalServer::start(&store, blobs, today).await?;
    let outcome = load(&local.base, &accounts, claim, rounds, &store).await;
    // The server stops whatever happened; then what went wrong, if anything, is told.
    let server_runtime = local.stop().await?;
    let (times, wall) = match outcome {
        Ok(done) => done,
        Err(e) => {
            server_runtime.shutdown_background();
            return Err(e);
        }
    };

    let requests: usize = times.iter().map(Vec::len).sum();
    println!(
        "{requests} pages in {:.2} s: {:.0} pages/s, every answer checked",
        wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64()
    );
    println!("{:<34} {:>8} {:>9} {:>9} {:>9}", "page", "n", "p50 ms", "p99 ms", "max ms");
    let mut all = Vec::with_capacity(requests);
    for (i, t) in times.into_iter().enumerate() {
        all.extend(t.iter().copied());
        Sample { label: PAGES[i].0, times: t }.print_row(99.0);
    }
    let whole = Sample { label: "every page", times: all };
    whole.print_row(99.0);
    store.close().await;
    server_runtime.shutdown_background();
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(limit) = max_p99_ms {
        let p99 = whole.percentile(99.0).as_secs_f64() * 1000.0;
        anyhow::ensure!(p99 <= limit, "p99 {p99:.1} ms is over the {limit} ms allowed");
    }
    Ok(())
}

/// Logs every person in, then has them all open the pages at once: each page's times, and the
/// run's wall time.
async fn load(
    base: &str,
    accounts: &[String],
    claim: i64,
    rounds: usize,
    store: &yibao_store::Store,
) -> anyhow::Result<(Vec<Vec<Duration>>, Duration)> {
    let users = accounts.len();
    let http = reqwest::Client::builder().pool_max_idle_per_host(users).build()?;
    println!(
        "yibao bench portal: {users} insured persons at once, {rounds} rounds of {} pages each, on {:?}",
        PAGES.len(),
        store.backend()
    );
    // Logged in first (the password check is deliberately slow; it is not what is measured).
    let mut tokens = Vec::new();
    for username in accounts {
        let res = http
            .post(format!("{}/api/v1/login", base))
            .json(&serde_json::json!({ "username": username, "password": yibao_demo::DEMO_PASSWORD }))
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "{username} cannot log in: {}", res.status());
        let body: serde_json::Value = res.json().await?;
        tokens.push(body["token"].as_str().unwrap_or_default().to_string());
    }

    let progress = indicatif::ProgressBar::new((users * rounds * PAGES.len()) as u64);
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (k, token) in tokens.into_iter().enumerate() {
        let (http, base, progress) = (http.clone(), base.to_string(), progress.clone());
        tasks.spawn(async move {
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); PAGES.len()];
            for round in 0..rounds {
                for i in 0..PAGES.len() {
                    // Each person starts at another page, as people do.
                    let at = (i + k + round) % PAGES.len();
                    let (label, path, must) = PAGES[at];
                    // 张三 opens his claim; the others, who have none, their claims list.
                    let (path, must) = match (path.strip_prefix("{claim}"), k) {
                        (Some(rest), 0) => (format!("/claims/{claim}{rest}"), must),
                        (Some(_), _) => ("/my/claims".to_string(), "我的报销"),
                        (None, _) => (path.to_string(), must),
                    };
                    let t = Instant::now();
                    let res = http.get(format!("{base}{path}")).bearer_auth(&token).send().await?;
                    let status = res.status();
                    let body = res.text().await?;
                    times[at].push(t.elapsed());
                    progress.inc(1);
                    anyhow::ensure!(
                        status.is_success() && body.contains(must),
                        "{label} ({path}) answered {status} without 「{must}」"
                    );
                }
            }
            anyhow::Ok(times)
        });
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); PAGES.len()];
    while let Some(done) = tasks.join_next().await {
        for (all, mine) in times.iter_mut().zip(done??) {
            all.extend(mine);
        }
    }
    let wall = t0.elapsed();
    progress.finish_and_clear();
    Ok((times, wall))
}
