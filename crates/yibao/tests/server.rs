//! `yibao serve` as a process, under the faults a server meets: SIGTERM from a service
//! manager, a kill during the very first start's demo seeding, and a database that becomes
//! read-only and writable again, a disk that fills up, and a crash loop under load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use yibao_store::testing::TestDb;
use yibao_store::Store;

/// The database URL a child process opens the test's database with.
fn url_of(db: &TestDb) -> String {
    match &db.config.schema {
        Some(schema) => format!("{}?options=-c%20search_path%3D{schema}", db.config.url),
        None => db.config.url.clone(),
    }
}

/// `config` with the audit key the server made in its data directory `data`.
fn keyed(config: &yibao_store::StoreConfig, data: &Path) -> yibao_store::StoreConfig {
    let text = std::fs::read_to_string(data.join("audit.key")).unwrap();
    let key = yibao_core::audit::AuditKey::parse(&text).unwrap();
    yibao_store::StoreConfig { audit_key: Some(key), ..config.clone() }
}

/// Starts `yibao serve` on a free port; the child and, once it listens, its address.
fn spawn(data: &Path, database_url: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yibao"));
    cmd.env("YIBAO_DATA_DIR", data)
        .env("YIBAO_LISTEN", "127.0.0.1:0")
        .env("YIBAO_LOG", "warn")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match database_url {
        Some(url) => cmd.env("YIBAO_DATABASE_URL", url),
        None => cmd.env_remove("YIBAO_DATABASE_URL"),
    };
    cmd.spawn().unwrap()
}

/// Waits for the line announcing the address (seeding the demo comes first).
fn listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("yibao listening on http://") {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(240)).expect("the server did not start listening")
}

/// The status of `GET path`.
fn get_status(addr: &str, path: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Polls `GET path` until it answers `status`, for at most `within`.
fn until_status(addr: &str, path: &str, status: u16, within: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < within {
        if get_status(addr, path) == status {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn signal(child: &Child, name: &str) {
    let done = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(done.success(), "kill -{name}");
}

fn wait_at_most(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn temp_dir(what: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("yibao-{what}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A service manager stops yibao with SIGTERM: it stops accepting, finishes what is in
/// flight, closes the store and exits 0. While it runs, it holds the database: maintenance
/// that must run alone cannot take it, and can once the server is gone.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data = temp_dir("sigterm");
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    assert_eq!(get_status(&addr, "/readyz"), 200);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("sqlite://{}", data.join("yibao.db").display());
    let alone = || {
        runtime.block_on(async {
            let store = Store::connect(&yibao_store::StoreConfig::new(url.clone())).await.unwrap();
            let lock = store.try_lock(yibao_store::LockMode::Exclusive).await.unwrap();
            store.close().await;
            lock.is_some()
        })
    };
    assert!(!alone(), "maintenance took the database of a running server");
    signal(&child, "TERM");
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    if status.is_none() {
        let _ = child.kill();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "SIGTERM: {status:?}");
    assert!(alone(), "the database is free once the server is gone");
    let _ = std::fs::remove_dir_all(&data);
}

/// The very first start is killed while it seeds the demo; the next start seeds it again from
/// the start and the demo is whole: the seed's last step, claims and settlements are there and
/// the audit log is intact. On SQLite and (where reachable) PostgreSQL.
#[test]
fn a_first_start_killed_while_seeding_completes_the_demo_next_time() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in runtime.block_on(TestDb::all()) {
        let data = temp_dir("seed");
        let url = url_of(&db);
        let mut child = spawn(&data, Some(&url));
        // Killed as soon as the seed's first write is committed, long before its last.
        let started = Instant::now();
        while !runtime.block_on(db.store.audit_has_action(yibao_demo::SEED_STARTED)).unwrap() {
            assert!(started.elapsed() < Duration::from_secs(120), "{}: the seed never began", db.label);
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(runtime.block_on(yibao_demo::interrupted(&db.store)).unwrap(), "{}: the kill came too late", db.label);

        let mut child = spawn(&data, Some(&url));
        let addr = listening(&mut child);
        assert_eq!(get_status(&addr, "/readyz"), 200, "{}", db.label);
        signal(&child, "TERM");
        wait_at_most(&mut child, Duration::from_secs(30));
        let _ = child.kill();

        runtime.block_on(async {
            let s = Store::connect(&keyed(&db.config, &data)).await.unwrap();
            assert!(s.audit_has_action(yibao_demo::SEEDED).await.unwrap(), "{}: the demo was not finished", db.label);
            assert!(!yibao_demo::interrupted(&s).await.unwrap(), "{}", db.label);
            let zhang = s.person_by_resident_id(&yibao_demo::DEMO_INSURED_ID.parse().unwrap()).await.unwrap().unwrap();
            assert!(s.claims_of(zhang.id).await.unwrap().len() >= 5, "{}: the demo's claims", db.label);
            assert!(!s.person_settlements(zhang.id).await.unwrap().is_empty(), "{}: the demo's settlement", db.label);
            assert_eq!(s.verify_audit_log().await.unwrap().first_break, None, "{}", db.label);
            s.close().await;
        });
        runtime.block_on(db.cleanup());
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// The server starts on a read-only database (the data directory mounted read-only): it
/// serves, readiness says it cannot write, and writes resume by themselves once the mount is
/// writable again, without a restart. Needs `mount` (root); skipped where it is not allowed.
/// (A running server's mount cannot be made read-only here: the kernel refuses while files
/// are open for writing.)
#[test]
fn a_read_only_database_is_noticed_and_writes_resume_when_it_is_writable_again() {
    let real = temp_dir("readonly-real");
    let data = temp_dir("readonly");
    let (real_dir, dir) = (real.to_str().unwrap().to_string(), data.to_str().unwrap().to_string());
    if !mounted(&["--bind", &real_dir, &dir], "read-only") {
        return;
    }
    let remount = |how: &str| assert!(mount(&["-o", &format!("remount,bind,{how}"), &dir]), "remount {how}");

    // Seeded on a writable mount, then killed, which leaves the write-ahead log beside the
    // database (after a clean stop SQLite removes it, and a WAL database without it cannot be
    // opened from a read-only directory at all: the start then fails, saying why).
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    assert_eq!(get_status(&addr, "/readyz"), 200);
    child.kill().unwrap();
    child.wait().unwrap();

    remount("ro");
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    let read_only = get_status(&addr, "/readyz");
    let healthy = get_status(&addr, "/healthz");
    remount("rw");
    let recovered = until_status(&addr, "/readyz", 200, Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&real);
    assert_eq!((read_only, healthy), (503, 200), "started read-only: ready and alive");
    assert!(recovered, "writable again but still not ready");
}

/// Runs `mount` with `args`; false if this machine does not allow it, which skips the test
/// (`what`) with a word, or fails it where mounts are required (`YIBAO_REQUIRE_MOUNT=1`).
fn mounted(args: &[&str], what: &str) -> bool {
    if mount(args) {
        return true;
    }
    let required = std::env::var("YIBAO_REQUIRE_MOUNT").is_ok_and(|v| v == "1");
    assert!(!required, "YIBAO_REQUIRE_MOUNT=1 but `mount {}` fails here", args.join(" "));
    eprintln!("SKIPPED {what} test: `mount` is not allowed here (needs root)");
    false
}

fn mount(args: &[&str]) -> bool {
    Command::new("mount").args(args).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The answer to a JSON request: status and body.
async fn send(req: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

/// A person to register, the `n`th of the test (a valid resident ID number of its own).
fn new_person(n: u32) -> (String, serde_json::Value) {
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap() + chrono::Duration::days(i64::from(n / 500));
    let id =
        yibao_core::resident_id::ResidentId::from_parts("620302".parse().unwrap(), birth, (n % 500) as u16 * 2 + 1)
            .unwrap()
            .to_string();
    let body = serde_json::json!({
        "resident_id": id, "name": "满盘测试", "enrolment": "resident", "category": "resident_adult",
        "insured_region": "620302", "hukou_region": "620302", "status": "active", "status_from": "2026-01-01"
    });
    (id, body)
}

/// A signed 9001 sign-in of the demo's hospital.
async fn sign_in(http: &reqwest::Client, addr: &str, n: u32) -> serde_json::Value {
    message(http, addr, "9001", "", serde_json::json!({ "signIn": { "opter": "0001" } }), n).await.1
}

/// A signed message of the demo's hospital: its `msgid` and the answer.
async fn message(
    http: &reqwest::Client,
    addr: &str,
    infno: &str,
    sign_no: &str,
    input: serde_json::Value,
    n: u32,
) -> (String, serde_json::Value) {
    use yibao_core::platform::{SignType, SIGNATURE_HEADER, TIME_FORMAT};
    let now = (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc();
    let hospital = "H62030200001";
    let msgid = format!("{hospital}{}{:04}", now.format("%Y%m%d%H%M%S"), n % 10_000);
    let msg = serde_json::json!({
        "infno": infno, "msgid": msgid,
        "mdtrtarea_admvs": "620302", "insuplc_admdvs": "620302", "recer_sys_code": "YB", "infver": "V1.0",
        "opter_type": "1", "opter": "0001", "opter_name": "test", "inf_time": now.format(TIME_FORMAT).to_string(),
        "fixmedins_code": hospital, "fixmedins_name": "", "sign_no": sign_no, "signtype": "SM3", "input": input,
    });
    let body = serde_json::to_vec(&msg).unwrap();
    let signature = SignType::HmacSm3.sign(yibao_demo::DEMO_PLATFORM_SECRET.as_bytes(), &body);
    let req =
        http.post(format!("http://{addr}/fsi/api/rsfComIfsService/callService")).header(SIGNATURE_HEADER, signature);
    (msgid, send(req.body(body)).await.1)
}

/// The answer to a reading transaction (1101) is kept in memory until the next commit; a
/// SIGTERM right after it still writes it, so the hospital's retry of the same `msgid` after
/// the restart gets the very same answer.
#[test]
fn sigterm_writes_the_answers_still_in_memory() {
    let data = temp_dir("sigterm-replies");
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let (msgid, answer) = runtime.block_on(async {
        let signed = sign_in(&http, &addr, 1).await;
        let sign_no = signed["output"]["signinoutb"]["sign_no"].as_str().unwrap().to_string();
        let query = serde_json::json!({ "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": yibao_demo::DEMO_INSURED_ID,
            "psn_cert_type": "01", "certno": yibao_demo::DEMO_INSURED_ID } });
        message(&http, &addr, "1101", &sign_no, query, 2).await
    });
    signal(&child, "TERM");
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    let _ = child.kill();
    assert_eq!(answer["infcode"], 0, "{answer}");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "SIGTERM: {status:?}");
    runtime.block_on(async {
        let config = yibao_store::StoreConfig::new(format!("sqlite://{}", data.join("yibao.db").display()));
        let s = Store::connect(&keyed(&config, &data)).await.unwrap();
        let hospital = s.institution_by_code(yibao_demo::DEMO_INSTITUTION).await.unwrap();
        assert!(s.platform_reply(hospital.id, &msgid).await.unwrap().is_some(), "the 1101 answer was lost");
        s.close().await;
    });
    let _ = std::fs::remove_dir_all(&data);
}

/// The database's disk fills up under a running server (a small tmpfs, filled with a file):
/// every write is refused cleanly (503 `storage_unavailable` from the API, the platform's
/// envelope with the same code), reads go on, nothing refused is stored, and writes resume by
/// themselves once space is freed; afterwards every acknowledged write is there and the audit
/// chain is intact. Needs `mount` (root); skipped where it is not allowed.
#[test]
fn a_full_disk_refuses_writes_cleanly_and_they_resume_when_space_is_freed() {
    let data = temp_dir("full");
    let dir = data.to_str().unwrap().to_string();
    if !mounted(&["-t", "tmpfs", "-o", "size=48m", "tmpfs", &dir], "full-disk") {
        return;
    }
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let api = |path: &str| format!("http://{addr}{path}");
    let token = runtime.block_on(async {
        let login = serde_json::json!({ "username": "clerk", "password": yibao_demo::DEMO_PASSWORD });
        send(http.post(api("/api/v1/login")).json(&login)).await.1["token"].as_str().unwrap().to_string()
    });
    let register = |n: u32| {
        let (id, body) = new_person(n);
        let (status, answer) =
            runtime.block_on(send(http.post(api("/api/v1/persons")).bearer_auth(&token).json(&body)));
        (id, status, answer)
    };
    let (mut stored, mut refused) = (Vec::new(), Vec::new());
    for n in 0..20 {
        let (id, status, answer) = register(n);
        assert_eq!(status, 201, "before the disk fills: {answer}");
        stored.push(id);
    }

    // Fill the disk.
    let filler = data.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let mut n = 20;
    let mut first_refusal = None;
    while first_refusal.is_none() && n < 20_000 {
        let (id, status, answer) = register(n);
        n += 1;
        match status {
            201 => stored.push(id),
            503 => {
                assert_eq!(answer["code"], "storage_unavailable", "{answer}");
                assert!(answer["zh"].as_str().is_some_and(|m| m.contains("磁盘已满")), "{answer}");
                refused.push(id);
                first_refusal = Some(n);
            }
            other => panic!("with the disk full, a write answered {other}: {answer}"),
        }
    }
    assert!(first_refusal.is_some(), "{n} writes and none was refused on a full disk");
    // It stays refused cleanly while the disk is full, on the API and the platform.
    for _ in 0..10 {
        let (id, status, answer) = register(n);
        n += 1;
        assert!(status == 503 || status == 201, "{status} {answer}");
        if status == 201 {
            stored.push(id)
        } else {
            refused.push(id)
        }
    }
    let platform = runtime.block_on(sign_in(&http, &addr, 1));
    assert!(
        platform["infcode"] == 0 || platform["err_code"] == "storage_unavailable",
        "a sign-in with the disk full: {platform}"
    );
    // Reads go on.
    let (status, found) = runtime.block_on(send(http.get(api("/api/v1/persons")).bearer_auth(&token)));
    assert_eq!(status, 200, "a read with the disk full: {found}");
    assert_eq!(get_status(&addr, "/healthz"), 200);

    // Space is freed: writes resume without a restart.
    std::fs::remove_file(&filler).unwrap();
    let started = Instant::now();
    loop {
        let (id, status, answer) = register(n);
        n += 1;
        if status == 201 {
            stored.push(id);
            break;
        }
        refused.push(id);
        assert!(started.elapsed() < Duration::from_secs(10), "space freed, writes still refused: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let platform = runtime.block_on(sign_in(&http, &addr, 2));
    assert_eq!(platform["infcode"], 0, "a sign-in after space was freed: {platform}");

    signal(&child, "TERM");
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    let _ = child.kill();
    runtime.block_on(async {
        let config = yibao_store::StoreConfig::new(format!("sqlite://{}", data.join("yibao.db").display()));
        let s = Store::connect(&keyed(&config, &data)).await.unwrap();
        for id in &stored {
            assert!(s.person_by_resident_id(&id.parse().unwrap()).await.unwrap().is_some(), "acknowledged {id} lost");
        }
        for id in &refused {
            assert!(s.person_by_resident_id(&id.parse().unwrap()).await.unwrap().is_none(), "refused {id} stored");
        }
        assert_eq!(s.verify_audit_log().await.unwrap().first_break, None);
        s.close().await;
    });
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "SIGTERM after the full disk: {status:?}");
    println!("full disk: {} writes stored, {} refused while full", stored.len(), refused.len());
}

/// `yibao bench crash`: a real server killed with SIGKILL at random moments under a load of
/// direct settlements (20 times here, `YIBAO_CRASH_KILLS` to change), on SQLite and (where
/// reachable) PostgreSQL. It fails unless every settlement a hospital was told of is in the
/// books as told, none is there twice, and the audit chain is intact.
#[test]
fn settlements_survive_a_crash_loop() {
    let kills = std::env::var("YIBAO_CRASH_KILLS").unwrap_or_else(|_| "20".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for db in runtime.block_on(TestDb::all()) {
        let data = temp_dir("crash");
        let out = Command::new(env!("CARGO_BIN_EXE_yibao"))
            .args(["bench", "crash", "--kills", &kills, "--database-url", &url_of(&db)])
            .env("YIBAO_DATA_DIR", &data)
            .env("YIBAO_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {stdout}\n{}", db.label, String::from_utf8_lossy(&out.stderr));
        assert!(
            stdout.contains(&format!("{kills} kills survived")) && stdout.contains("lost 0, duplicated 0"),
            "{stdout}"
        );
        println!("{}: {}", db.label, stdout.lines().last().unwrap_or_default());
        runtime.block_on(db.cleanup());
        let _ = std::fs::remove_dir_all(&data);
    }
}
