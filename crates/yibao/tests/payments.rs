//! `yibao payments` killed between its steps, on SQLite and (where reachable) PostgreSQL:
//! a crash before or after an export's commit, or before or after an import's commit,
//! leaves no order paid twice and none lost, and the books reconcile to the fen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::NaiveDate;
use yibao_core::payment::{BatchState, OrderState};
use yibao_store::testing::TestDb;
use yibao_store::Store;

/// The database URL a child process opens the test's database with.
fn url_of(db: &TestDb) -> String {
    match &db.config.schema {
        // The schema as the connection's search path.
        Some(schema) => format!("{}?options=-c%20search_path%3D{schema}", db.config.url),
        None => db.config.url.clone(),
    }
}

fn yibao(db: &TestDb, data: &Path, args: &[&str], failpoint: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yibao"));
    cmd.env("YIBAO_DATA_DIR", data).env("YIBAO_DATABASE_URL", url_of(db)).env("YIBAO_LOG", "warn").args(args);
    match failpoint {
        Some(f) => cmd.env("YIBAO_FAILPOINT", f),
        None => cmd.env_remove("YIBAO_FAILPOINT"),
    };
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn crashed(out: &Output, at: &str) {
    assert!(!out.status.success(), "expected a crash at {at}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("failpoint {at}")), "{out:?}");
}

/// (state of each order, number of exports, result files recorded) as the database has them.
async fn books(store: &Store, batch: &str) -> (Vec<OrderState>, BatchState, i64) {
    let b = store.payment_batch_by_number(batch).await.unwrap();
    let (_, items) = store.payment_batch(b.id).await.unwrap();
    let mut states = Vec::new();
    for i in &items {
        states.push(store.payment_order(i.order_id).await.unwrap().state);
    }
    (states, b.state, b.exports)
}

#[test]
fn a_crash_between_the_steps_pays_nothing_twice_and_loses_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dbs = rt.block_on(TestDb::all());
    for db in dbs {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        rt.block_on(yibao_demo::seed_demo(&db.store, &db.blobs(), today)).unwrap();
        let data = std::env::temp_dir().join(format!("yibao-pay-{}-{}", db.label, std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        // The commands run with the key in the data directory, as a server's would: the demo
        // seeded here is keyed with it first.
        std::fs::write(data.join("audit.key"), "09".repeat(32)).unwrap();
        rt.block_on(async {
            let key = yibao_core::audit::AuditKey::parse(&"09".repeat(32)).unwrap();
            let keyed = Store::connect(&yibao_store::StoreConfig { audit_key: Some(key), ..db.config.clone() }).await;
            let keyed = keyed.unwrap();
            keyed.key_audit_log(None, true).await.unwrap();
            keyed.close().await;
        });
        let run = |args: &[&str], fp: Option<&str>| yibao(&db, &data, args, fp);

        let built =
            ok(&run(&["payments", "build", "--user", "finance", "--region", "620300", "--up-to", "2026-11-30"], None));
        let batch = built.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_string();
        assert!(batch.starts_with("PB620300"), "{built}");
        // The builder cannot approve it; another finance user can.
        assert!(!run(&["payments", "approve", "--user", "finance", "--batch", &batch], None).status.success());
        ok(&run(&["payments", "approve", "--user", "finance2", "--batch", &batch], None));

        // Killed after writing the file, before committing: the batch is still approved.
        let out = data.join("bank.csv");
        let export = ["payments", "export", "--user", "finance2", "--batch", &batch, "--out", out.to_str().unwrap()];
        crashed(&run(&export, Some("export.before_commit")), "export.before_commit");
        let first = std::fs::read(&out).unwrap();
        let (states, state, exports) = rt.block_on(books(&db.store, &batch));
        assert_eq!(
            (states.as_slice(), state, exports),
            (&[OrderState::Batched][..], BatchState::Approved, 0),
            "{}",
            db.label
        );
        // Exported again: the same bytes, committed once.
        ok(&run(&export, None));
        assert_eq!(std::fs::read(&out).unwrap(), first);
        // Killed after the commit: a second export, the same file, the orders moved once.
        crashed(&run(&export, Some("export.after_commit")), "export.after_commit");
        assert_eq!(std::fs::read(&out).unwrap(), first);
        let (states, state, exports) = rt.block_on(books(&db.store, &batch));
        assert_eq!((states.as_slice(), state, exports), (&[OrderState::Exported][..], BatchState::Exported, 2));

        // The bank pays it. Killed before the import commits: nothing recorded.
        let text = String::from_utf8(first).unwrap();
        let line: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        let result = data.join("result.csv");
        std::fs::write(&result, format!("H,{batch},1,{}\nR,1,{},{},S,,,2026-11-25\n", line[6], line[2], line[6]))
            .unwrap();
        let import = ["payments", "import", "--user", "finance", "--file", result.to_str().unwrap()];
        let files = rt.block_on(db.count("bank_result_files"));
        crashed(&run(&import, Some("import.before_commit")), "import.before_commit");
        assert_eq!(rt.block_on(books(&db.store, &batch)).0, [OrderState::Exported]);
        assert_eq!(rt.block_on(db.count("bank_result_files")), files);
        // Imported; then killed after a second import's commit: paid once.
        assert!(ok(&run(&import, None)).contains("1 paid, 0 failed"));
        crashed(&run(&import, Some("import.after_commit")), "import.after_commit");
        assert!(ok(&run(&import, None)).contains("0 paid, 0 failed, 1 already recorded"));
        let (states, state, _) = rt.block_on(books(&db.store, &batch));
        assert_eq!((states.as_slice(), state), (&[OrderState::Paid][..], BatchState::Closed));

        let report = ok(&run(&["payments", "reconcile"], None));
        assert!(report.contains("no difference"), "{report}");
        // The fund's books too: the payment posted once, whatever the crashes.
        let report = ok(&run(&["books", "verify"], None));
        assert!(report.contains("the books balance and agree with the records"), "{report}");
        // Two claims' orders paid in all (the demo's and this one), each once; the demo's two
        // clearings were paid in its batch too.
        let paid = rt
            .block_on(db.store.payment_orders_in(
                &yibao_core::Scope::parse_list("620300").unwrap(),
                &[OrderState::Paid],
                10,
            ))
            .unwrap();
        assert_eq!(paid.iter().filter(|o| o.claim_id.is_some()).count(), 2);
        assert_eq!(paid.len(), 4);
        // A difference is reported, with a failing exit status.
        rt.block_on(db.store.execute_raw("UPDATE payment_batches SET total = total + 1 WHERE id = 1")).unwrap();
        let out = run(&["payments", "reconcile"], None);
        assert_eq!(out.status.code(), Some(4));
        assert!(String::from_utf8_lossy(&out.stdout).contains("DIFFERENCE"), "{out:?}");
        rt.block_on(db.store.execute_raw(
            "INSERT INTO fund_postings (event, reference, fund, account, amount, month, posted_at) \
             VALUES ('forged', 'X', '620300-310', 'bank', 1, '2026-11', '2026-11-23T00:00:00Z')",
        ))
        .unwrap();
        let out = run(&["books", "verify"], None);
        assert_eq!(out.status.code(), Some(5), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("entry forged X"), "{out:?}");

        let _ = std::fs::remove_dir_all(&data);
        rt.block_on(db.cleanup());
    }
}
