//! `yibao serve` as a process, under the faults a server meets: SIGTERM from a service
//! manager, a kill during the very first start's demo seeding, and a database that becomes
//! read-only and writable again, and a crash loop under load.
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
/// flight, closes the store and exits 0.
#[test]
fn sigterm_stops_the_server_cleanly() {
    let data = temp_dir("sigterm");
    let mut child = spawn(&data, None);
    let addr = listening(&mut child);
    assert_eq!(get_status(&addr, "/readyz"), 200);
    signal(&child, "TERM");
    let status = wait_at_most(&mut child, Duration::from_secs(30));
    if status.is_none() {
        let _ = child.kill();
    }
    assert_eq!(status.and_then(|s| s.code()), Some(0), "SIGTERM: {status:?}");
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
            let s = Store::connect(&db.config).await.unwrap();
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
    let mount =
        |args: &[&str]| Command::new("mount").args(args).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !mount(&["--bind", &real_dir, &dir]) {
        let required = std::env::var("YIBAO_REQUIRE_MOUNT").is_ok_and(|v| v == "1");
        assert!(!required, "YIBAO_REQUIRE_MOUNT=1 but a bind mount cannot be made here");
        eprintln!("SKIPPED read-only test: a bind mount cannot be made here (needs root)");
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
