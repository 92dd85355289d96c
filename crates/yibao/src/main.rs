//! The `yibao` binary. It only wires: configuration, logging, and the subcommands.

mod accept_bench;
mod adjudicate_cmd;
mod bench;
mod config;
mod crash;
mod payments_cmd;
mod portal_bench;
mod supervise_bench;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use yibao_core::adjudicate::synthetic::Mix;
use yibao_core::{AdminCode, Role, Scope};
use yibao_store::{Actor, NewAccount, Store, StoreConfig};

use crate::config::Config;

#[derive(Parser)]
#[command(name = "yibao", version, about = "基本医疗保险报销系统 — basic medical insurance reimbursement")]
struct Cli {
    /// A TOML configuration file (values there are overridden by YIBAO_* variables).
    #[arg(long, global = true, env = "YIBAO_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (portal and API). Migrates, and seeds the demo into an empty database
    /// unless --no-demo. The default when no command is given.
    Serve {
        #[arg(long)]
        no_demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Seed the demo region into an empty database.
    SeedDemo,
    /// Create the first system administrator.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// Read from YIBAO_ADMIN_PASSWORD if not given.
        #[arg(long, env = "YIBAO_ADMIN_PASSWORD")]
        password: String,
        /// Regions, e.g. 620000.
        #[arg(long, default_value = "620000")]
        regions: String,
    },
    /// Issue a designated institution a signing secret for the national platform interface
    /// (printed once; give it to the hospital's information system).
    PlatformSecret {
        /// The institution's national code, e.g. H62030200001.
        #[arg(long)]
        institution: String,
    },
    /// Register a designated institution's SM2 public key (hex SEC1), for requests it signs
    /// with `signtype` SM2.
    PlatformKey {
        /// The institution's national code, e.g. H62030200001.
        #[arg(long)]
        institution: String,
        /// The public key, hex (65 bytes starting 04, or compressed).
        #[arg(long)]
        public_key: String,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Adjudicate one claim from files and explain every amount (docs/formats/).
    Adjudicate {
        /// A policy file (TOML or JSON), or a directory of policy*.toml files; repeatable.
        #[arg(long, required = true)]
        policy: Vec<std::path::PathBuf>,
        /// A catalog CSV, or a directory of them.
        #[arg(long)]
        catalog: std::path::PathBuf,
        /// The claim (JSON, national field names).
        #[arg(long)]
        claim: std::path::PathBuf,
        /// The person's running totals for the year before this claim (JSON).
        #[arg(long)]
        ytd: Option<std::path::PathBuf>,
        #[arg(long, default_value = "zh")]
        lang: String,
        /// Print the totals, lines and trace as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Payment to bank cards: batches, the bank's files, reconciliation (as a finance user;
    /// see docs/formats/bank-batch.md).
    Payments {
        #[command(subcommand)]
        command: PaymentsCommand,
    },
    /// The fund's books (基金账, docs/formats/clearing.md).
    Books {
        #[command(subcommand)]
        command: BooksCommand,
    },
    /// Supervision (智能监管): re-check a period against the rule base in force.
    Supervise {
        #[command(subcommand)]
        command: SuperviseCommand,
    },
    /// Credit individual accounts for a month (the job the server also runs every six hours
    /// for the months of the year so far): each person once, however often it runs.
    Credit {
        /// The pooling region, e.g. 620300 (default: every region with contribution rules).
        #[arg(long)]
        region: Option<AdminCode>,
        /// The month, e.g. 2026-10 (default: last month).
        #[arg(long)]
        month: Option<yibao_core::contribution::months::YearMonth>,
    },
    /// Benchmarks (see docs/PERFORMANCE.md).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BooksCommand {
    /// Prove that every entry balances in each fund and that the balances agree with the
    /// settlements, claims, accounts, contributions, clearings and payments; every
    /// difference named, exit status 5 if there is one.
    Verify,
}

#[derive(Subcommand)]
enum SuperviseCommand {
    /// Check every direct settlement and adjudicated claim of a pooling region's persons in a
    /// period again (after a new rule base version, or for the slower rules), with a progress
    /// bar; open hits are replaced by what is found now, decided ones kept.
    Recheck {
        /// A reviewer or auditor of the region, on whose behalf it runs (in the audit log).
        #[arg(long)]
        user: String,
        /// The pooling region (prefecture), e.g. 620300.
        #[arg(long)]
        region: AdminCode,
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

#[derive(Subcommand)]
enum PaymentsCommand {
    /// Build a batch of a region's orders ready to pay.
    Build {
        /// The finance user building it.
        #[arg(long)]
        user: String,
        /// The region, e.g. 620300.
        #[arg(long)]
        region: AdminCode,
        /// Orders approved on or before this day (default: today).
        #[arg(long)]
        up_to: Option<chrono::NaiveDate>,
        /// The bank file's format: csv or fixed_gbk.
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Approve a batch (four eyes: a finance user other than its builder).
    Approve {
        #[arg(long)]
        user: String,
        /// The batch number, e.g. PB620300000001.
        #[arg(long)]
        batch: String,
    },
    /// Approve a reviewed clearing (清算, not by its reviewer): its payment order is made in
    /// the same transaction, paid with the next batch.
    ApproveClearing {
        #[arg(long)]
        user: String,
        /// The clearing's number, e.g. QS62030200000003.
        #[arg(long)]
        clearing: String,
    },
    /// Export an approved batch as the bank file. Again: the same file.
    Export {
        #[arg(long)]
        user: String,
        #[arg(long)]
        batch: String,
        /// Where to write the file.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Import the bank's result file (回盘文件). The same file twice changes nothing.
    Import {
        #[arg(long)]
        user: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Report any difference between approved claims, orders, batches and bank results
    /// (exit status 4 when there is one).
    Reconcile,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Adjudicate generated claims (20–300 lines) on one core and report lines per second.
    Adjudicate {
        #[arg(long, default_value_t = 20_000)]
        claims: usize,
        #[arg(long, default_value_t = 50_000)]
        catalog: usize,
        /// Draw every catalog item equally often (the worst case for the caches) instead of
        /// the skew of real fee lines.
        #[arg(long)]
        uniform: bool,
        /// Timed passes over the claims; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Fail (exit 1) when the median is below this many lines per second.
        #[arg(long)]
        min_lines_per_sec: Option<f64>,
    },
    /// Import a generated catalog (CSV) into a fresh database and time reading, storing and
    /// loading it.
    CatalogImport {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Simulated hospitals settle visits through the platform interface of a local server on
    /// a fresh database: settlements per second and each transaction's latency.
    Settle {
        /// Hospitals working at once (each a client doing one visit after another).
        #[arg(long, default_value_t = 8)]
        hospitals: usize,
        #[arg(long, default_value_t = 2_000)]
        settlements: usize,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
        /// Settle with the demo region's supervision rules switched off (a version with no
        /// rules), to measure what checking every settlement costs.
        #[arg(long)]
        without_rules: bool,
        /// Settle for this many generated employees of the demo's first unit instead of the
        /// demo's own persons (each then has a handful of stays, as real people do, rather
        /// than hundreds on the same days).
        #[arg(long, default_value_t = 0)]
        persons: usize,
    },
    /// Insured persons use the portal at once (home, claims, cover, settlements, messages, a
    /// claim and its receipt, the claim form, suggestions as they type) on a fresh demo
    /// database served locally: each page's latency and the run's p99, every answer checked.
    Portal {
        /// Persons at once, each logged in with an account of their own.
        #[arg(long, default_value_t = 50)]
        users: usize,
        /// Rounds of every page per person.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
        /// Fail (exit 1) when the p99 over every page is above this many milliseconds.
        #[arg(long)]
        max_p99_ms: Option<f64>,
    },
    /// Accept generated sporadic claims one after another on two fresh demo databases, the
    /// demo region's supervision rules on and off (scratch SQLite files): what checking every
    /// claim costs intake.
    Accept {
        #[arg(long, default_value_t = 300)]
        claims: usize,
    },
    /// Kill a real `yibao serve` with SIGKILL at random moments under a load of direct
    /// settlements, start it again each time, and check that every settlement a hospital was
    /// told of is in the books as told and nothing was done twice (docs/RELIABILITY.md).
    Crash {
        #[arg(long, default_value_t = 20)]
        kills: usize,
        /// Hospitals working at once.
        #[arg(long, default_value_t = 4)]
        hospitals: usize,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Time the round trip of one trivial statement through the storage layer: the unit
    /// cost of every read and write.
    Statement {
        #[arg(long, default_value_t = 20_000)]
        count: u32,
        /// A database to use instead of a scratch SQLite file.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Run the demo region's supervision rule base over a generated year of visits (each
    /// against its person's other stays) on every core: visits per second, hits per rule.
    Supervise {
        #[arg(long, default_value_t = 1_000_000)]
        visits: usize,
        #[arg(long, default_value_t = 300_000)]
        persons: usize,
        /// Threads to check on (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Credit a month to generated employees' individual accounts on a fresh database:
    /// accounts per second (docs/PERFORMANCE.md).
    Credit {
        #[arg(long, default_value_t = 1_000_000)]
        persons: u64,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Load synthetic persons into a fresh database and time the portal's searches.
    Registry {
        #[arg(long, default_value_t = 1_000_000)]
        persons: u64,
        /// Searches of each kind.
        #[arg(long, default_value_t = 200)]
        queries: u64,
        /// An empty database to use instead of a scratch SQLite file (e.g. a PostgreSQL schema).
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the keyed hash chain (the first tampered, missing or mislinked entry) and that
    /// every audited record in the database is what the log last says of it.
    Verify {
        /// A head printed by an earlier verification (`SEQ:HASH`), kept outside the database:
        /// the log must still hold that entry, so entries cut off the end are noticed.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Re-key the audit chain with the configured key after verifying it under the old one
    /// (stop the server first; keep the old key file until this has succeeded).
    RotateKey {
        /// The key file the chain is keyed with now.
        #[arg(long)]
        old_key_file: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("配置错误 / configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YIBAO_LOG").unwrap_or_else(|_| config.log.as_str().into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli.command.unwrap_or(Command::Serve { no_demo: false }), &config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The monthly crediting job inside the server: five minutes after start and every six hours
/// after, each region's months of the year so far (a run that finds everyone credited does
/// nothing). Failures are logged and tried again next time.
async fn credit_on_schedule(store: Store) {
    use yibao_core::contribution::months::YearMonth;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + std::time::Duration::from_secs(300),
        std::time::Duration::from_secs(6 * 3600),
    );
    loop {
        tick.tick().await;
        let today = chrono::Local::now().date_naive();
        let this_month = YearMonth::of(today);
        let regions = match store.contribution_regions(this_month.year).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the crediting job could not list the regions");
                continue;
            }
        };
        for region in regions {
            let mut month = YearMonth { year: this_month.year, month: 1 };
            while month < this_month {
                match store.credit_accounts(&Actor::system("account-credit"), region, month, today, |_, _| {}).await {
                    Ok(run) if run.credited > 0 => {
                        tracing::info!(%region, %month, credited = run.credited, "individual accounts credited");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, %region, %month, "the crediting job failed; it runs again later")
                    }
                }
                month = month.plus(1);
            }
        }
    }
}

/// The payment gateway for paying online: WeChat Pay where `[wechat_pay]` is configured;
/// else, with the demo, the simulated one (which marks orders paid that nobody paid: the
/// demo's only); else none.
fn gateway(
    config: &Config,
    no_demo: bool,
) -> anyhow::Result<Option<std::sync::Arc<dyn yibao_web::gateway::PaymentGateway>>> {
    use yibao_web::gateway::wechat::{WechatConfig, WechatPay};
    if let Some(w) = &config.wechat_pay {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
        };
        let wechat = WechatPay::new(WechatConfig {
            mchid: w.mchid.clone(),
            appid: w.appid.clone(),
            api_v3_key: read(&w.api_v3_key_file)?.trim().to_string(),
            serial: w.serial.clone(),
            public_key_pem: read(&w.public_key_file)?,
            max_skew_secs: w.max_skew_secs,
            pay_url: w.pay_url.clone(),
        })
        .map_err(anyhow::Error::msg)?;
        return Ok(Some(std::sync::Arc::new(wechat)));
    }
    Ok((!no_demo).then(|| {
        std::sync::Arc::new(yibao_web::gateway::Simulated::new())
            as std::sync::Arc<dyn yibao_web::gateway::PaymentGateway>
    }))
}

/// The document blob store: `documents/` in the data directory.
fn blobs(config: &Config) -> std::sync::Arc<dyn yibao_store::BlobStore> {
    std::sync::Arc::new(yibao_store::LocalBlobs::new(config.data_dir.join("documents")))
}

/// The migration that brought the audit key (`0020_audit_key.sql`).
const AUDIT_KEY_MIGRATION: i64 = 20;

/// Opens the database with the audit key, migrates it, and keys an unkeyed audit chain (a
/// database from before the key, verified first).
async fn open(config: &Config) -> anyhow::Result<Store> {
    let store = connect(config).await?;
    prepare(&store).await?;
    Ok(store)
}

/// Opens the database with the audit key, changing nothing.
async fn connect(config: &Config) -> anyhow::Result<Store> {
    let key = config::audit_key(&config.audit_key_file).map_err(anyhow::Error::msg)?;
    Ok(Store::connect(&StoreConfig { audit_key: Some(key), ..StoreConfig::new(config.database_url.clone()) }).await?)
}

/// Migrates the database and keys an unkeyed audit chain (see [`open`]).
async fn prepare(store: &Store) -> anyhow::Result<()> {
    // The audit chain is keyed by this very start only when the schema came from before keys.
    let upgrade = store.schema_version().await? < AUDIT_KEY_MIGRATION;
    store.migrate().await?;
    let keyed = store.key_audit_log(None, upgrade).await?;
    if keyed > 0 {
        eprintln!("审计日志已用密钥重新计算 / the audit log's {keyed} entries are now keyed");
    }
    Ok(())
}

async fn run(command: Command, config: &Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { no_demo } => {
            let store = connect(config).await?;
            // Held while serving (taken before anything is written): maintenance that must run
            // alone is refused meanwhile, and a server does not start during it.
            let _in_use = store.try_lock(yibao_store::LockMode::Shared).await?.ok_or_else(|| {
                anyhow::anyhow!(
                    "数据库正由维护任务独占使用 / the database is held by maintenance (an audit key rotation); start again when it is done"
                )
            })?;
            prepare(&store).await?;
            let blobs = blobs(config);
            if let Err(e) = store.check_writable().await {
                // Served all the same: /readyz says so, and writes resume once the cause is gone.
                tracing::error!(error = %e, "the database cannot be written; serving, but every change is refused");
                eprintln!("警告：数据库不可写 / warning: the database cannot be written: {e}");
            } else if !no_demo {
                seed_if_needed(&store, &blobs).await?;
            }
            tokio::spawn(credit_on_schedule(store.clone()));
            tokio::spawn(yibao_web::notify::run_outbox(store.clone(), std::sync::Arc::new(yibao_web::notify::LogSms)));
            let state = yibao_web::AppState {
                store,
                blobs,
                secure_cookies: config.secure_cookies,
                today: None,
                logins: Default::default(),
                held: Default::default(),
                lookups: Default::default(),
                gateway: gateway(config, no_demo)?,
            };
            yibao_web::serve(state, config.listen, |addr| {
                println!(
                    "yibao listening on http://{addr}/  (data: {}, database: {})",
                    config.data_dir.display(),
                    yibao_store::redact(&config.database_url)
                );
            })
            .await?;
        }
        Command::Credit { region, month } => {
            let store = open(config).await?;
            let today = chrono::Local::now().date_naive();
            let month = month.unwrap_or_else(|| yibao_core::contribution::months::YearMonth::of(today).plus(-1));
            let regions = match region {
                Some(r) => vec![r],
                None => store.contribution_regions(month.year).await?,
            };
            for region in regions {
                let bar = indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
                    "{msg} {bar:40} {pos}/{len} ({per_sec}, eta {eta})",
                )?);
                bar.set_message(format!("{region} {month}"));
                let run = store
                    .credit_accounts(&Actor::system("account-credit"), region, month, today, |done, due| {
                        bar.set_length(due as u64);
                        bar.set_position(done as u64);
                    })
                    .await?;
                bar.finish_and_clear();
                println!(
                    "{region} {month}: 划入 {} 个账户，共 {} 元 / credited {} accounts, {} yuan",
                    run.credited,
                    run.amount.to_grouped(),
                    run.credited,
                    run.amount.to_grouped()
                );
            }
        }
        Command::Migrate => {
            open(config).await?;
            println!("migrations applied");
        }
        Command::SeedDemo => {
            let store = open(config).await?;
            if !store.is_empty().await? && !yibao_demo::interrupted(&store).await? {
                anyhow::bail!("the database already has accounts; the demo is only seeded into an empty database");
            }
            seed_if_needed(&store, &blobs(config)).await?;
        }
        Command::PlatformSecret { institution } => {
            let store = open(config).await?;
            let inst = store.institution_by_code(institution.trim()).await?;
            let mut w = store.begin_write(&Actor::system("platform-secret")).await?;
            let secret = store.issue_platform_secret(&mut w, inst.id).await?;
            w.commit().await?;
            println!("signing secret for {} ({}): {secret}", inst.name, inst.code);
            println!("sign each request body with HMAC-SM3 (or HMAC-SHA256) and send it in x-tif-signature");
        }
        Command::PlatformKey { institution, public_key } => {
            let store = open(config).await?;
            let inst = store.institution_by_code(institution.trim()).await?;
            let mut w = store.begin_write(&Actor::system("platform-key")).await?;
            store.register_platform_public_key(&mut w, inst.id, &public_key).await?;
            w.commit().await?;
            println!("registered an SM2 public key for {} ({}): sign requests with signtype SM2", inst.name, inst.code);
        }
        Command::CreateAdmin { username, password, regions } => {
            let store = open(config).await?;
            let mut w = store.begin_write(&Actor::system("create-admin")).await?;
            let account = store
                .create_account(
                    &mut w,
                    &NewAccount {
                        username,
                        display_name: "系统管理员".into(),
                        role: Role::SysAdmin,
                        password,
                        scope: Scope::parse_list(&regions)?,
                        person_id: None,
                        institution_code: None,
                        employer_code: None,
                        // Chosen by the operator who runs the command, for themself.
                        temporary_password: false,
                    },
                )
                .await?;
            w.commit().await?;
            println!("created system administrator {} (id {})", account.username, account.id);
        }
        Command::Adjudicate { policy, catalog, claim, ytd, lang, json } => {
            let lang = yibao_core::Lang::parse(&lang).unwrap_or_default();
            adjudicate_cmd::run(&policy, &catalog, &claim, ytd.as_deref(), lang, json)?;
        }
        Command::Bench {
            command: BenchCommand::Adjudicate { claims, catalog, uniform, rounds, min_lines_per_sec },
        } => {
            let mix = if uniform { Mix::Uniform } else { Mix::Skewed };
            let rate = adjudicate_cmd::bench(claims, catalog, mix, rounds)?;
            if let Some(min) = min_lines_per_sec {
                if rate < min {
                    println!("below the required {min:.0} lines/s");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        Command::Bench { command: BenchCommand::Supervise { visits, persons, threads } } => {
            let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            supervise_bench::run(visits, persons, threads)?;
        }
        Command::Bench { command: BenchCommand::CatalogImport { rows, database_url } } => {
            bench::catalog_import(rows, database_url).await?;
        }
        Command::Bench {
            command: BenchCommand::Settle { hospitals, settlements, database_url, without_rules, persons },
        } => {
            bench::settle(hospitals, settlements, database_url, !without_rules, persons).await?;
        }
        Command::Bench { command: BenchCommand::Portal { users, rounds, database_url, max_p99_ms } } => {
            portal_bench::run(users, rounds, database_url, max_p99_ms).await?;
        }
        Command::Bench { command: BenchCommand::Accept { claims } } => {
            accept_bench::run(claims).await?;
        }
        Command::Bench { command: BenchCommand::Crash { kills, hospitals, database_url } } => {
            crash::crash(kills, hospitals, database_url).await?;
        }
        Command::Bench { command: BenchCommand::Statement { count, database_url } } => {
            bench::statement(count, database_url).await?;
        }
        Command::Bench { command: BenchCommand::Credit { persons, database_url } } => {
            bench::credit(persons, database_url).await?;
        }
        Command::Bench { command: BenchCommand::Registry { persons, queries, database_url } } => {
            bench::registry(persons, queries, database_url).await?;
        }
        Command::Supervise { command: SuperviseCommand::Recheck { user, region, from, to } } => {
            let store = open(config).await?;
            let (actor, scope) = payments_cmd::acting(
                &store,
                &user,
                yibao_core::Permission::DecideHits,
                "only reviewers and auditors re-check supervision",
            )
            .await?;
            // A re-check covers the whole pooling region (its persons' hits and its
            // institutions): only someone whose regions include all of it may run it.
            if !scope.covers(region.prefecture()) {
                anyhow::bail!(
                    "{} (the pooling region of {region}) is not all within {user}'s regions",
                    region.prefecture()
                );
            }
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")?);
            bar.set_message("re-checking");
            let summary = store
                .recheck_supervision(&actor, region, from, to, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            println!(
                "re-checked {} settlements and {} claims of {region} from {from} to {to}; {} hits open; {} institutions far from their peers",
                summary.settlements, summary.claims, summary.open_hits, summary.outliers
            );
        }
        Command::Payments { command } => {
            let store = open(config).await?;
            return match command {
                PaymentsCommand::Build { user, region, up_to, format } => {
                    let up_to = up_to.unwrap_or_else(|| chrono::Local::now().date_naive());
                    let format = yibao_core::payment::BankFormat::parse(&format)?;
                    payments_cmd::build(&store, &user, region, up_to, format).await
                }
                PaymentsCommand::Approve { user, batch } => payments_cmd::approve(&store, &user, &batch).await,
                PaymentsCommand::ApproveClearing { user, clearing } => {
                    payments_cmd::approve_clearing(&store, &user, &clearing).await
                }
                PaymentsCommand::Export { user, batch, out } => payments_cmd::export(&store, &user, &batch, &out).await,
                PaymentsCommand::Import { user, file } => payments_cmd::import(&store, &user, &file).await,
                PaymentsCommand::Reconcile => payments_cmd::reconcile(&store).await,
            };
        }
        Command::Books { command: BooksCommand::Verify } => {
            let store = open(config).await?;
            let check = store.verify_books().await?;
            for (fund, account, amount) in &check.balances {
                println!("{fund}\t{}\t{}", account.code(), amount.to_plain());
            }
            if check.clean() {
                println!("the books balance and agree with the records: {} entries", check.entries);
                return Ok(ExitCode::SUCCESS);
            }
            for d in &check.differences {
                println!("DIFFERENCE: {} / {}", d.zh, d.en);
            }
            println!("{} differences", check.differences.len());
            return Ok(ExitCode::from(5));
        }
        Command::Audit { command: AuditCommand::Verify { expect_head } } => {
            let store = open(config).await?;
            let v = store.verify_audit_log().await?;
            if let Some(b) = v.first_break {
                println!("AUDIT LOG BROKEN after {} good entries: {b}", v.entries);
                return Ok(ExitCode::from(3));
            }
            println!("audit log intact: {} entries verified", v.entries);
            if let Some(kept) = expect_head {
                let (seq, hash) = kept.split_once(':').unwrap_or((&kept, ""));
                let seq: i64 = seq.trim().parse().map_err(|_| anyhow::anyhow!("--expect-head takes SEQ:HASH"))?;
                let found = store.audit_entries_after(seq - 1, 1).await?.into_iter().find(|e| e.seq == seq);
                if found.as_ref().is_none_or(|e| e.hash != hash.trim()) {
                    println!("AUDIT LOG CUT OFF OR REWRITTEN: it no longer holds entry {seq} with the hash kept");
                    return Ok(ExitCode::from(3));
                }
                println!("the kept head {seq} is still in the log");
            }
            // Kept elsewhere, the head shows later whether entries were cut off the end.
            if let Some(last) = store.audit_entries_after(v.entries - 1, 1).await?.first() {
                println!("head: seq {} hash {}", last.seq, last.hash);
            }
            let differences = store.audit_differences().await?;
            for d in &differences {
                println!("DIFFERENCE: {d}");
            }
            if !differences.is_empty() {
                println!("{} records differ from what the audit log says of them", differences.len());
                return Ok(ExitCode::from(3));
            }
            println!("every audited record is as the log says");
        }
        Command::Audit { command: AuditCommand::RotateKey { old_key_file } } => {
            let old = config::read_audit_key(&old_key_file).map_err(anyhow::Error::msg)?;
            let key = config::audit_key(&config.audit_key_file).map_err(anyhow::Error::msg)?;
            let store =
                Store::connect(&StoreConfig { audit_key: Some(key), ..StoreConfig::new(config.database_url.clone()) })
                    .await?;
            // Alone: a server writing meanwhile would chain entries under the old key.
            let Some(_alone) = store.try_lock(yibao_store::LockMode::Exclusive).await? else {
                anyhow::bail!(
                    "yibao 服务正在使用该数据库，请先停止服务再更换审计密钥 / a yibao server is using the database: stop it before rotating the audit key"
                );
            };
            store.migrate().await?;
            let n = store.key_audit_log(Some(&old), false).await?;
            println!("audit log re-keyed: {n} entries now keyed with the configured key");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Seeds the demo into an empty database, or again from the start where an earlier seed was
/// cut short (the process killed during its very first start).
async fn seed_if_needed(store: &Store, blobs: &std::sync::Arc<dyn yibao_store::BlobStore>) -> anyhow::Result<()> {
    if yibao_demo::interrupted(store).await? {
        eprintln!("演示数据上次未完成，重新生成 / the demo seed was cut short last time; seeding it again");
        store.erase_everything().await?;
    } else if !store.is_empty().await? {
        return Ok(());
    }
    seed(store, blobs).await
}

async fn seed(store: &Store, blobs: &std::sync::Arc<dyn yibao_store::BlobStore>) -> anyhow::Result<()> {
    let today = chrono::Local::now().date_naive();
    let s = yibao_demo::seed_demo(store, blobs, today).await?;
    println!(
        "seeded demo region 金昌市 (620300): {} institutions, {} employers, {} insured persons, {} policies, \
         {} catalog entries, {} off-site filings, {} accounts (password {})",
        s.institutions,
        s.employers,
        s.persons,
        s.policies,
        s.catalog_entries,
        s.filings,
        s.accounts,
        yibao_demo::DEMO_PASSWORD
    );
    Ok(())
}
