//! `yibao payments ...`: finance's batch jobs from the command line (the portal's payment
//! pages do the same through the same store calls), and `reconcile`, which reports any
//! difference between approved claims, orders, batches and bank results.
//!
//! Crash safety: each step is one database transaction. An export writes the bank file
//! (to a temporary name, synced, then renamed) before it commits; a crash between the two
//! leaves the batch approved, and exporting again writes the same bytes and commits. An
//! import commits all its lines or none. `YIBAO_FAILPOINT=<step>` aborts the process at a
//! named point (`export.before_commit`, `export.after_commit`, `import.before_commit`,
//! `import.after_commit`, `clearing.before_commit`, `clearing.after_commit`), so tests can
//! kill it there.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use yibao_core::AdminCode;
use yibao_store::{Actor, Store};

/// Aborts the process here when `YIBAO_FAILPOINT` names this point: a crash, for tests.
fn failpoint(name: &str) {
    if std::env::var("YIBAO_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// The active account `username` acting, with its regions, if its role may do `permission`
/// (`what` says what it is refused for).
pub(crate) async fn acting(
    store: &Store,
    username: &str,
    permission: yibao_core::Permission,
    what: &str,
) -> anyhow::Result<(Actor, yibao_core::Scope)> {
    let account = store
        .list_accounts()
        .await?
        .into_iter()
        .find(|a| a.username == username && !a.disabled)
        .with_context(|| format!("no active account \"{username}\""))?;
    if !account.role.can(permission) {
        anyhow::bail!("{username} is {}: {what}", account.role);
    }
    let actor = Actor { label: account.actor_label(), request_id: String::new() };
    Ok((actor, account.scope))
}

/// The finance account `username` acting, with its regions.
async fn finance(store: &Store, username: &str) -> anyhow::Result<(Actor, yibao_core::Scope)> {
    acting(store, username, yibao_core::Permission::ManagePayments, "only finance users handle payment batches").await
}

async fn batch_in_scope(store: &Store, number: &str, scope: &yibao_core::Scope) -> anyhow::Result<i64> {
    let batch = store.payment_batch_by_number(number).await.with_context(|| format!("batch {number}"))?;
    if !scope.covers(batch.region) {
        anyhow::bail!("batch {number} is outside the user's regions");
    }
    Ok(batch.id)
}

pub async fn build(
    store: &Store,
    user: &str,
    region: AdminCode,
    up_to: NaiveDate,
    format: yibao_core::payment::BankFormat,
) -> anyhow::Result<ExitCode> {
    let (actor, scope) = finance(store, user).await?;
    if !scope.covers(region) {
        anyhow::bail!("{region} is outside {user}'s regions");
    }
    let mut w = store.begin_write(&actor).await?;
    let batch = store.build_payment_batch(&mut w, region, up_to, format).await?;
    w.commit().await?;
    println!(
        "built batch {}: {} orders, {} yuan; a second finance user approves it",
        batch.number, batch.count, batch.total
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn approve(store: &Store, user: &str, number: &str) -> anyhow::Result<ExitCode> {
    let (actor, scope) = finance(store, user).await?;
    let id = batch_in_scope(store, number, &scope).await?;
    let mut w = store.begin_write(&actor).await?;
    let batch = store.approve_payment_batch(&mut w, id).await?;
    w.commit().await?;
    println!("approved batch {} ({} orders, {} yuan)", batch.number, batch.count, batch.total);
    Ok(ExitCode::SUCCESS)
}

/// Approves the reviewed clearing `number` of the user's regions, as the portal does: a
/// crash before the commit leaves it reviewed with no order; after, approved with one, and
/// approving again is refused.
pub async fn approve_clearing(store: &Store, user: &str, number: &str) -> anyhow::Result<ExitCode> {
    let (actor, scope) = finance(store, user).await?;
    let clearing = store
        .clearings_in(&scope, i64::MAX)
        .await?
        .into_iter()
        .find(|c| c.number == number)
        .with_context(|| format!("no clearing {number} in {user}'s regions"))?;
    let mut w = store.begin_write(&actor).await?;
    let (c, order) =
        store.approve_clearing(&mut w, clearing.id, clearing.version, chrono::Local::now().date_naive()).await?;
    failpoint("clearing.before_commit");
    w.commit().await?;
    failpoint("clearing.after_commit");
    match order {
        Some(o) => println!(
            "approved clearing {}: {} yuan to {}, payment order {}",
            c.number, o.amount, o.account_name, o.number
        ),
        None => println!("approved clearing {}: nothing to pay ({} yuan)", c.number, c.statement.net),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub async fn export(store: &Store, user: &str, number: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let (actor, scope) = finance(store, user).await?;
    let id = batch_in_scope(store, number, &scope).await?;
    let mut w = store.begin_write(&actor).await?;
    let (batch, file) = store.export_payment_batch(&mut w, id).await?;
    write_atomically(out, &file.bytes()?)?;
    failpoint("export.before_commit");
    w.commit().await?;
    failpoint("export.after_commit");
    println!(
        "exported batch {} to {}: {} records, control total {} yuan (export {} of this batch)",
        batch.number,
        out.display(),
        file.lines.len(),
        file.total(),
        batch.exports
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn import(store: &Store, user: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let (actor, scope) = finance(store, user).await?;
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    // The batch it answers must be in the user's regions (a malformed file is reported by
    // the import itself, every line at once).
    if let Ok(parsed) = yibao_core::payment::ResultFile::parse(&data) {
        batch_in_scope(store, &parsed.batch_no, &scope).await?;
    }
    let mut w = store.begin_write(&actor).await?;
    let summary = store.import_bank_results(&mut w, &data).await?;
    failpoint("import.before_commit");
    w.commit().await?;
    failpoint("import.after_commit");
    println!(
        "batch {}: {} paid, {} failed, {} already recorded{}",
        summary.batch_no,
        summary.paid,
        summary.failed,
        summary.already,
        if summary.closed { "; every line has its result" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn reconcile(store: &Store) -> anyhow::Result<ExitCode> {
    let r = store.reconcile_payments().await?;
    println!(
        "approved {} · ordered {} · paid {} · at the bank {} · unpaid {} (yuan)",
        r.approved, r.ordered, r.paid, r.in_flight, r.unpaid
    );
    if r.balances() {
        println!("payments reconcile: no difference");
        return Ok(ExitCode::SUCCESS);
    }
    for d in &r.differences {
        println!("DIFFERENCE: {} / {}", d.zh, d.en);
    }
    println!("{} differences", r.differences.len());
    Ok(ExitCode::from(4))
}
