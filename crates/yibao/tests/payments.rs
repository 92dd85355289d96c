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

/// Killed while approving a clearing: before the commit nothing is approved and no order
/// made; after it, the clearing is approved with one order, and approving again is refused.
/// Paid through a batch, the hospital is paid once and the fund's books verify clean.
#[test]
fn a_crash_approving_a_clearing_pays_the_hospital_once_and_the_books_agree() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for db in rt.block_on(TestDb::all()) {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let s = &db.store;
        let number = rt.block_on(async {
            yibao_demo::seed_demo(s, &db.blobs(), today).await.unwrap();
            let all: Vec<i64> = (1..=300).collect();
            let person = yibao_demo::settleable(s, &all, day("2026-09-01"), 1).await.unwrap()[0];
            let lines =
                [("1", "001102000010000", "3", "40.00", "120.00"), ("2", "003113000010000", "1", "4800.00", "4800.00")];
            let mdtrt = yibao_store::testing::discharged_stay(
                s,
                person,
                "H62030200001",
                day("2026-09-10"),
                "ZY-K-1",
                ("K35.800", "急性阑尾炎"),
                &lines,
            )
            .await;
            let at = day("2026-09-11").and_hms_opt(10, 0, 0).unwrap();
            yibao_store::testing::settle_stay(s, "H62030200001", &mdtrt, at).await.unwrap();
            let central = s.institution_by_code("H62030200001").await.unwrap();
            let mut w = s.begin_write(&yibao_store::testing::actor_of(s, "hospital").await).await.unwrap();
            let c = s.apply_for_clearing(&mut w, central.id, day("2026-09-01"), None, today).await.unwrap();
            w.commit().await.unwrap();
            let mut w = s.begin_write(&yibao_store::testing::actor_of(s, "auditor").await).await.unwrap();
            s.review_clearing(&mut w, c.id, c.version).await.unwrap();
            w.commit().await.unwrap();
            // The commands run with the key in the data directory, as a server's would.
            let key = yibao_core::audit::AuditKey::parse(&"09".repeat(32)).unwrap();
            let keyed = Store::connect(&yibao_store::StoreConfig { audit_key: Some(key), ..db.config.clone() }).await;
            let keyed = keyed.unwrap();
            keyed.key_audit_log(None, true).await.unwrap();
            keyed.close().await;
            c.number
        });
        let data = std::env::temp_dir().join(format!("yibao-clr-{}-{}", db.label, std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("audit.key"), "09".repeat(32)).unwrap();
        let run = |args: &[&str], fp: Option<&str>| yibao(&db, &data, args, fp);
        let approve = ["payments", "approve-clearing", "--user", "finance", "--clearing", &number];
        let orders = || rt.block_on(db.count("payment_orders"));
        let before = orders();

        crashed(&run(&approve, Some("clearing.before_commit")), "clearing.before_commit");
        let c = rt
            .block_on(s.clearing_by_number(&number, rt.block_on(s.institution_by_code("H62030200001")).unwrap().id))
            .unwrap();
        assert_eq!((c.state.code(), orders()), ("reviewed", before), "{}: nothing approved", db.label);
        crashed(&run(&approve, Some("clearing.after_commit")), "clearing.after_commit");
        assert_eq!(orders(), before + 1, "{}", db.label);
        assert!(!run(&approve, None).status.success(), "{}: approved once", db.label);
        assert_eq!(orders(), before + 1, "{}", db.label);

        // Paid in a batch with the demo's waiting claim.
        let built =
            ok(&run(&["payments", "build", "--user", "finance", "--region", "620300", "--up-to", "2026-12-31"], None));
        let batch = built.split_whitespace().nth(2).unwrap().trim_end_matches(':').to_string();
        ok(&run(&["payments", "approve", "--user", "finance2", "--batch", &batch], None));
        let out = data.join("bank.csv");
        ok(&run(
            &["payments", "export", "--user", "finance2", "--batch", &batch, "--out", out.to_str().unwrap()],
            None,
        ));
        let text = std::fs::read_to_string(&out).unwrap();
        // The detail lines (D,seq,order,name,card,bank,amount), between the header and the trailer.
        let rows: Vec<Vec<&str>> =
            text.lines().map(|l| l.split(',').collect::<Vec<_>>()).filter(|f| f[0] == "D").collect();
        let total: yibao_core::Fen = rows.iter().map(|f| f[6].parse::<yibao_core::Fen>().unwrap()).sum();
        let mut result = format!("H,{batch},{},{}\n", rows.len(), total.to_plain());
        for f in &rows {
            result.push_str(&format!("R,{},{},{},S,,,2026-11-25\n", f[1], f[2], f[6]));
        }
        let file = data.join("result.csv");
        std::fs::write(&file, result).unwrap();
        ok(&run(&["payments", "import", "--user", "finance", "--file", file.to_str().unwrap()], None));
        let order = rt.block_on(s.payment_of_clearing(c.id)).unwrap().unwrap();
        assert_eq!(order.state, OrderState::Paid, "{}", db.label);
        assert!(ok(&run(&["payments", "reconcile"], None)).contains("no difference"));
        let report = ok(&run(&["books", "verify"], None));
        assert!(report.contains("the books balance and agree with the records"), "{report}");
        let _ = std::fs::remove_dir_all(&data);
        rt.block_on(db.cleanup());
    }
}
