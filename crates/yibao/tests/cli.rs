//! `yibao adjudicate` on the documented examples in docs/formats/examples.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn examples(file: &str) -> String {
    format!("{}/../../docs/formats/examples/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn adjudicate(claim: &str, extra: &[&str]) -> String {
    let data = std::env::temp_dir().join(format!("yibao-cli-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .env("YIBAO_DATA_DIR", &data)
        .args(["adjudicate", "--policy", &examples(""), "--catalog", &examples("catalog-demo.csv")])
        .args(["--claim", &examples(claim)])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fen(v: &serde_json::Value) -> i64 {
    v.as_str().unwrap().parse::<yibao_core::Fen>().unwrap().fen()
}

#[test]
fn the_documented_inpatient_example_explains_itself() {
    let zh = adjudicate("claim-inpatient.json", &[]);
    assert!(zh.contains("乙类药品，先行自付10%：6.18元") && zh.contains("个人现金支出"), "{zh}");
    let en = adjudicate("claim-inpatient.json", &["--lang", "en"]);
    assert!(en.contains("Category B drug, 10% paid by the patient first: 6.18"), "{en}");
    let json: serde_json::Value = serde_json::from_str(&adjudicate("claim-inpatient.json", &["--json"])).unwrap();
    let t = &json["totals"];
    // The figures docs/formats/claim.md walks through.
    assert_eq!(t["medfee_sumamt"], "5271.95");
    assert_eq!(t["hifp_pay"], "3459.34");
    assert_eq!(t["acct_pay"], "1774.61");
    assert_eq!(t["psn_cash_pay"], "38.00");
    assert_eq!(fen(&t["medfee_sumamt"]), fen(&t["fund_pay_sumamt"]) + fen(&t["psn_part_amt"]));
}

#[test]
fn the_documented_offsite_example_uses_the_treatment_catalog_and_the_running_totals() {
    let out = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .env("YIBAO_DATA_DIR", std::env::temp_dir().join(format!("yibao-cli2-{}", std::process::id())))
        .args(["adjudicate", "--policy", &examples("policy-620300-390-2026.toml")])
        .args(["--catalog", &examples("catalog-demo.csv"), "--claim", &examples("claim-offsite-resident.json")])
        .args(["--ytd", &examples("ytd-example.json"), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["catalog_region"], "620100");
    assert_eq!(json["offsite"], true);
    assert_eq!(json["ytd_before"]["pool_paid"], "12500.00");
    let t = &json["totals"];
    assert_eq!(fen(&t["psn_part_amt"]), fen(&t["acct_pay"]) + fen(&t["psn_cash_pay"]));
    assert!(fen(&t["hifmi_pay"]) > 0, "the year's count crosses the critical illness threshold: {t}");
}

#[test]
fn a_bad_policy_is_refused_with_its_path() {
    let dir = std::env::temp_dir().join(format!("yibao-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(examples("policy-620300-310-2026.toml"))
        .unwrap()
        .replace("referral = \"0.10\"", "referral = \"0.15\"");
    let bad = dir.join("policy-bad.toml");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .env("YIBAO_DATA_DIR", &dir)
        .args(["adjudicate", "--policy", bad.to_str().unwrap(), "--catalog", &examples("catalog-demo.csv")])
        .args(["--claim", &examples("claim-inpatient.json")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offsite.referral") && err.contains("10 个百分点"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The audit chain is keyed with the key in the data directory: `audit verify` passes with it,
/// fails with another key, names a record changed behind yibao's back, and `audit
/// rotate-key` moves the chain to a new key after verifying it under the old one.
#[test]
fn the_audit_key_verifies_and_rotates_from_the_command_line() {
    let data = std::env::temp_dir().join(format!("yibao-cli-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let new_key = data.join("new.key");
    let run = |key: Option<&std::path::Path>, args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_yibao"));
        cmd.env("YIBAO_DATA_DIR", &data).env_remove("YIBAO_AUDIT_KEY_FILE").args(args);
        if let Some(key) = key {
            cmd.env("YIBAO_AUDIT_KEY_FILE", key);
        }
        cmd.output().unwrap()
    };
    assert!(run(None, &["seed-demo"]).status.success());
    let out = run(None, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && text.contains("every audited record is as the log says"), "{text}");
    let head = text.split("head: seq ").nth(1).unwrap().lines().next().unwrap().replace(" hash ", ":");
    // Entries cut off the end, with the head rewritten to match, pass the chain's own check;
    // the head kept from an earlier verification catches it.
    let url = format!("sqlite://{}", data.join("yibao.db").display());
    let cut = |sql: &'static str| {
        let url = url.clone();
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
            let store = yibao_store::Store::connect(&yibao_store::StoreConfig::new(url)).await.unwrap();
            store.execute_raw(sql).await.unwrap();
            store.close().await;
        })
    };
    cut("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)");
    cut("UPDATE audit_head SET last_seq = (SELECT MAX(seq) FROM audit_log), \
         last_hash = (SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)) WHERE id = 1");
    assert!(run(None, &["audit", "verify"]).status.success(), "the chain alone cannot tell");
    let out = run(None, &["audit", "verify", "--expect-head", &head]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success() && text.contains("CUT OFF"), "{text}");
    // A new key file (made by the first command that needs it) does not verify the chain.
    let out = run(Some(&new_key), &["audit", "verify"]);
    assert!(!out.status.success(), "another key passes: {}", String::from_utf8_lossy(&out.stdout));
    // Rotation is refused while a server holds the database (as `serve` does, shared).
    let old = data.join("audit.key");
    let rotate = || run(Some(&new_key), &["audit", "rotate-key", "--old-key-file", old.to_str().unwrap()]);
    let server_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (server, lock) = server_rt.block_on(async {
        let store = yibao_store::Store::connect(&yibao_store::StoreConfig::new(url.clone())).await.unwrap();
        let lock = store.try_lock(yibao_store::LockMode::Shared).await.unwrap().unwrap();
        (store, lock)
    });
    let out = rotate();
    assert!(!out.status.success(), "rotated under a running server");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it before rotating"));
    drop(lock);
    server_rt.block_on(server.close());
    // Rotation: verified under the old key, re-keyed under the new one.
    let out = rotate();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(run(Some(&new_key), &["audit", "verify"]).status.success());
    assert!(!run(None, &["audit", "verify"]).status.success(), "the old key no longer verifies");
    // A record changed behind yibao's back is named; the signing secrets, sealed under the
    // old key, were sealed again under the new one.
    let url = format!("sqlite://{}", data.join("yibao.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let key = yibao_core::audit::AuditKey::parse(&std::fs::read_to_string(&new_key).unwrap()).unwrap();
        let config = yibao_store::StoreConfig { audit_key: Some(key), ..yibao_store::StoreConfig::new(url.clone()) };
        let store = yibao_store::Store::connect(&config).await.unwrap();
        let secrets = store.platform_secrets(yibao_demo::DEMO_INSTITUTION).await.unwrap().unwrap().1;
        assert_eq!(secrets, vec![yibao_demo::DEMO_PLATFORM_SECRET.to_string()]);
        store.close().await;
        let store = yibao_store::Store::connect(&yibao_store::StoreConfig::new(url)).await.unwrap();
        store.execute_raw("UPDATE payment_orders SET bank_name = '别的银行' WHERE id = 1").await.unwrap();
        store.close().await;
    });
    let out = run(Some(&new_key), &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success() && text.contains("DIFFERENCE: payment_order 1: bank_name"), "{text}");
    let _ = std::fs::remove_dir_all(data);
}

/// `yibao platform-secret` gives a hospital a signing secret, printed once and stored for
/// the interface; an unknown code is refused.
#[test]
fn a_hospital_is_issued_a_signing_secret_from_the_command_line() {
    let data = std::env::temp_dir().join(format!("yibao-cli-secret-{}", std::process::id()));
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_yibao")).env("YIBAO_DATA_DIR", &data).args(args).output();
    assert!(run(&["seed-demo"]).unwrap().status.success());
    let out = run(&["platform-secret", "--institution", "H62030200002"]).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let secret = text.lines().next().unwrap().rsplit(' ').next().unwrap().to_string();
    assert!(secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stored = rt.block_on(async {
        let url = format!("sqlite://{}", data.join("yibao.db").display());
        // Sealed under the key kept outside the database: a copy of the database alone does
        // not give the secret away.
        let plain = yibao_store::Store::connect(&yibao_store::StoreConfig::new(url.clone())).await.unwrap();
        assert!(plain.platform_secrets("H62030200002").await.is_err(), "readable without the key");
        let in_plain = format!("UPDATE platform_credentials SET kind = kind WHERE secret = '{secret}'");
        assert_eq!(plain.execute_raw(&in_plain).await.unwrap(), 0, "the secret is in the database in plain text");
        plain.close().await;
        let key =
            yibao_core::audit::AuditKey::parse(&std::fs::read_to_string(data.join("audit.key")).unwrap()).unwrap();
        let config = yibao_store::StoreConfig { audit_key: Some(key), ..yibao_store::StoreConfig::new(url) };
        let store = yibao_store::Store::connect(&config).await.unwrap();
        store.platform_secrets("H62030200002").await.unwrap().unwrap().1
    });
    assert_eq!(stored, vec![secret]);
    let out = run(&["platform-secret", "--institution", "H00000000000"]).unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(data);
}

/// The load generator runs end to end on a scratch database: it settles every visit it
/// starts and its final check (yibao's 3201 totals equal the sum of the answers) passes.
#[test]
fn the_settlement_load_generator_settles_and_balances_its_books() {
    let out = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .env("YIBAO_LOG", "warn")
        .args(["bench", "settle", "--hospitals", "3", "--settlements", "24"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("24 settlements in"), "{text}");
    assert!(text.contains("3201 totals equal the answers: 24 settlements"), "{text}");
}

/// `yibao supervise recheck` checks a period again as a reviewer or auditor of the region
/// (the demo's settlements and claims), and refuses anyone else.
#[test]
fn a_period_is_re_checked_from_the_command_line() {
    let data = std::env::temp_dir().join(format!("yibao-cli-recheck-{}", std::process::id()));
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_yibao")).env("YIBAO_DATA_DIR", &data).args(args).output();
    assert!(run(&["seed-demo"]).unwrap().status.success());
    let period = ["--region", "620300", "--from", "2020-01-01", "--to", "2099-12-31"];
    let out = run(&[&["supervise", "recheck", "--user", "auditor"][..], &period[..]].concat()).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("re-checked 20 settlements and") && text.contains("hits open"),
        "{text}: 张三's, his mother's, the three of last month's clearing and the fifteen of the outlier"
    );
    assert!(text.contains("1 institutions far from their peers"), "{text}: the demo's outlier");
    let out = run(&[&["supervise", "recheck", "--user", "finance"][..], &period[..]].concat()).unwrap();
    assert!(!out.status.success(), "finance does not decide hits");
    let _ = std::fs::remove_dir_all(data);
}
