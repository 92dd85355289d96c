//! `yibao adjudicate`: one claim through the engine, explained, from files; and
//! `yibao bench adjudicate`: line items per second on generated claims.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use yibao_core::adjudicate::synthetic::{self, Mix};
use yibao_core::adjudicate::{adjudicate, Claim, Engine, Outcome, YearToDate};
use yibao_core::catalog::Catalogs;
use yibao_core::policy::{Policy, PolicySet};
use yibao_core::Lang;

/// Policies from files, or every `*.toml`/`*.json` policy in a directory.
pub fn load_policies(paths: &[PathBuf]) -> anyhow::Result<PolicySet> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in std::fs::read_dir(p)? {
                let f = e?.path();
                let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                if name.starts_with("policy") && (name.ends_with(".toml") || name.ends_with(".json")) {
                    files.push(f);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut policies = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?;
        match Policy::parse(&text) {
            Ok(p) => policies.push(p),
            Err(errors) => {
                let list: Vec<String> =
                    errors.iter().map(|e| format!("  {}: {} / {}", e.path, e.message.zh, e.message.en)).collect();
                anyhow::bail!("政策文件有误 / invalid policy {}:\n{}", f.display(), list.join("\n"));
            }
        }
    }
    Ok(PolicySet::new(policies))
}

/// A catalog CSV, or every `*.csv` in a directory. Rejected rows are reported on stderr.
pub fn load_catalogs(path: &Path) -> anyhow::Result<Catalogs> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path)? {
            let f = e?.path();
            if f.extension().is_some_and(|x| x == "csv" || x == "xlsx") {
                files.push(f);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut catalogs = Catalogs::default();
    for f in files {
        let data = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
        let rejected = catalogs
            .import(&data)
            .map_err(|e| anyhow::anyhow!("{}: {} / {}", f.display(), e.reason.zh, e.reason.en))?;
        for r in rejected {
            eprintln!("{}:{}: {} {} — {} / {}", f.display(), r.line, r.code, r.field, r.reason.zh, r.reason.en);
        }
    }
    Ok(catalogs)
}

pub fn run(
    policy: &[PathBuf],
    catalog: &Path,
    claim: &Path,
    ytd: Option<&Path>,
    lang: Lang,
    json: bool,
) -> anyhow::Result<()> {
    let policies = load_policies(policy)?;
    let catalogs = load_catalogs(catalog)?;
    let text = std::fs::read_to_string(claim).with_context(|| format!("cannot read {}", claim.display()))?;
    let claim = Claim::from_json(&text).map_err(|e| anyhow::anyhow!("{}", e.message(lang)))?;
    let ytd: YearToDate = match ytd {
        Some(p) => serde_json::from_str(&std::fs::read_to_string(p)?)
            .with_context(|| format!("{}: not a year-to-date file", p.display()))?,
        None => YearToDate::default(),
    };
    let outcome = adjudicate(&claim, &policies, &catalogs, &ytd)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message(lang)))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print!("{}", explain(&outcome, lang));
    }
    Ok(())
}

/// The outcome as a person reads it.
pub fn explain(o: &Outcome, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    let mut s = String::new();
    let label = |zh_text: &str, en_text: &str| if zh { zh_text.to_string() } else { en_text.to_string() };
    s.push_str(&format!(
        "{} {}  {} {} v{}  {} {}{}\n\n",
        label("就诊", "Visit"),
        o.mdtrt_id,
        label("政策", "Policy"),
        o.policy.name,
        o.policy.version,
        label("目录", "Catalog"),
        o.catalog_region,
        if o.offsite { label("（异地就医）", " (off-site)") } else { String::new() }
    ));
    for line in o.explain(lang) {
        s.push_str(&format!("  {line}\n"));
    }
    let t = &o.totals;
    s.push('\n');
    let rows = [
        ("medfee_sumamt", "医疗费总额", "Total", t.medfee_sumamt),
        ("fulamt_ownpay_amt", "全自费金额", "Paid in full by the patient", t.fulamt_ownpay_amt),
        ("overlmt_selfpay", "超限价自付", "Above price ceilings", t.overlmt_selfpay),
        ("preselfpay_amt", "先行自付金额", "Self-pay first", t.preselfpay_amt),
        ("inscp_scp_amt", "符合政策范围金额", "Within the policy scope", t.inscp_scp_amt),
        ("act_pay_dedc", "实际支付起付线", "Deductible paid", t.act_pay_dedc),
        ("hifp_pay", "统筹基金支出", "Pooled fund", t.hifp_pay),
        ("pool_prop_selfpay", "统筹自付", "Pooled part self-paid", t.pool_prop_selfpay),
        ("hifmi_pay", "大病保险支出", "Critical illness insurance", t.hifmi_pay),
        ("hifob_pay", "大额补助支出", "Large-expense subsidy", t.hifob_pay),
        ("fund_pay_sumamt", "基金支付总额", "Funds in total", t.fund_pay_sumamt),
        ("psn_part_amt", "个人负担总额", "Patient's share", t.psn_part_amt),
        ("acct_pay", "个人账户支出", "Individual account", t.acct_pay),
        ("psn_cash_pay", "个人现金支出", "Cash", t.psn_cash_pay),
    ];
    for (code, zh_label, en_label, v) in rows {
        s.push_str(&format!("  {:<20} {:<28} {:>14}\n", code, label(zh_label, en_label), v.to_grouped()));
    }
    s
}

/// Generated claims of realistic shape, adjudicated on one core; line items per second.
pub fn bench(claims: usize, catalog_size: usize, mix: Mix, rounds: usize) -> anyhow::Result<f64> {
    let (policies, catalogs, batch) = synthetic::workload(claims, catalog_size, mix, 20_260_301);
    let lines: usize = batch.iter().map(|c| c.feedetail.len()).sum();
    println!(
        "yibao bench adjudicate: {} claims, {} lines ({:.0} per claim), catalog of {} entries in each of {} regions, {} items, 1 thread",
        batch.len(),
        lines,
        lines as f64 / batch.len() as f64,
        catalog_size,
        catalogs.regions().count(),
        match mix {
            Mix::Skewed => "skewed (Zipf) choice of",
            Mix::Uniform => "uniform choice of",
        }
    );
    let mut engine = Engine::default();
    let ytd = YearToDate::default();
    // Warm up, then time each round.
    for c in batch.iter().take(50) {
        engine.run(c, &policies, &catalogs, &ytd).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut rates = Vec::new();
    for round in 1..=rounds.max(1) {
        let started = Instant::now();
        let mut steps = 0usize;
        let mut fund = 0i64;
        for c in &batch {
            let o = engine.run(c, &policies, &catalogs, &ytd).map_err(|e| anyhow::anyhow!("{e}"))?;
            steps += o.trace.len();
            fund += o.totals.fund_pay_sumamt.fen();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let rate = lines as f64 / elapsed;
        println!(
            "round {round}: {:.3} s, {:.0} lines/s, {:.0} claims/s, {} trace steps, fund total {}",
            elapsed,
            rate,
            batch.len() as f64 / elapsed,
            steps,
            yibao_core::Fen::from_fen(fund).to_grouped()
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!("median: {median:.0} lines/s");
    Ok(median)
}
