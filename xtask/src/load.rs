//! `cargo xtask load`: a bounded wrk benchmark of the native server.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use contract::{request_body_of, RequestId};

use crate::cmd::{build_release, step};
use crate::processes::{fraud_server, ServerConfig};
use crate::tools::{self, Tool};

/// The first `n` rows of a replay CSV as `/predict` bodies for the model at
/// `model`, written by the contract's `request_body_of` (shortest round-trip
/// decimals, the file's id column as each body's `id`).
pub(crate) fn replay_transactions(path: &Path, model: &Path, n: usize) -> Result<Vec<String>> {
    let schema = fraud_core::artifact::read_file(model)?.artifact.schema;
    let (table, cells) = dataset::read_cells_for(path, &dataset::Spec::of_schema(&schema), &schema)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(cells
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, row)| {
            let id = table.ids().map_or(RequestId::Row(i), |(_, ids)| RequestId::Text(&ids[i]));
            let values = row.iter().map(dataset::Cell::raw);
            String::from_utf8_lossy(&request_body_of(id, schema.features(), values)).into_owned()
        })
        .collect())
}

pub(crate) fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn wrk(url: &str, script: &Path, seconds: u32, connections: u32, extra: &[&str]) -> Result<String> {
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .args(extra)
        .arg(url)
        .output()
        .context("running wrk")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// "Requests/sec", p50, p99 and error lines of a wrk report.
pub(crate) fn wrk_figures(report: &str) -> String {
    let pick = |prefix: &str| {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map_or_else(|| format!("({prefix} missing from wrk's report)"), |l| l.trim().to_string())
    };
    let errors = report
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{} | p50 {} | p99 {} | {}",
        pick("Requests/sec"),
        pick("50%").trim_start_matches("50%").trim(),
        pick("99%").trim_start_matches("99%").trim(),
        if errors.is_empty() { "no errors".to_string() } else { errors }
    )
}

pub(crate) fn lua_post(path: &Path, body: &str) -> Result<()> {
    let escaped = body.replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        path,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = \"{escaped}\"\n"
        ),
    )?;
    Ok(())
}

/// A `/predict` body without its `id` (the server then assigns one: every request a new decision).
fn without_id(body: &str) -> Result<String> {
    let mut v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body)?;
    v.remove("id");
    Ok(serde_json::to_string(&v)?)
}

fn requests_per_s(report: &str) -> f64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A figure of the server's `/metrics` (`url` is `http://127.0.0.1:PORT`), NaN when absent.
fn metric(url: &str, name: &str) -> f64 {
    let port = url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
    crate::http::send(port, &crate::http::Probe::get("/metrics"))
        .and_then(|(_, text)| text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.trim().parse().ok())))
        .unwrap_or(f64::NAN)
}

/// `/predict` at 256 keep-alive connections and batches, with no log and with each kind of log
/// (SQLite fsyncing every group commit, SQLite without, PostgreSQL): one run, so the ratios compare.
fn decision_log_runs(seconds: u32, model: &Path, dir: &Path, one: &str, batch_rows: &[String]) -> Result<()> {
    let single = dir.join("predict-no-id.lua");
    lua_post(&single, &without_id(one)?)?;
    let rows: Vec<String> = batch_rows.iter().map(|b| without_id(b)).collect::<Result<_>>()?;
    let batch = dir.join("batch-no-id.lua");
    lua_post(&batch, &format!("{{\"transactions\":[{}]}}", rows.join(",")))?;
    let pg = decision_log::testing::TestPostgres::start().context("PostgreSQL is not installed")?;
    let pg_url = pg.database("load");
    let sqlite = |name: &str| {
        let path = dir.join(name);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        path.display().to_string()
    };
    let scenarios: [(&str, Vec<String>); 4] = [
        ("no log", vec![]),
        ("SQLite, synchronous=FULL (fsync per group commit)", vec!["--decision-log".into(), sqlite("full.db")]),
        (
            "SQLite, synchronous=NORMAL (survives SIGKILL, not power loss)",
            vec!["--decision-log".into(), sqlite("normal.db"), "--decision-log-sync".into(), "normal".into()],
        ),
        ("PostgreSQL 15 (synchronous_commit=on)", vec!["--decision-log".into(), pg_url.clone()]),
    ];
    let mut table = Vec::new();
    for (label, args) in scenarios {
        let server = fraud_server(&ServerConfig { args, ..ServerConfig::new(model) })?;
        let url = format!("{}/predict", server.url());
        step(&format!("{label}: wrk -t1 -c256 -d{seconds}s POST /predict (keep-alive, a new id each)"));
        let report = wrk(&url, &single, seconds, 256, &[])?;
        eprintln!("{}", wrk_figures(&report));
        let single_rps = requests_per_s(&report);
        let (logged, commits) = (
            metric(server.url(), "fraud_decision_log_logged_total"),
            metric(server.url(), "fraud_decision_log_commits_total"),
        );
        step(&format!("{label}: wrk -t1 -c2 -d{seconds}s POST /predict/batch ({} rows a request)", rows.len()));
        let report = wrk(&format!("{url}/batch"), &batch, seconds, 2, &[])?;
        eprintln!("{}", wrk_figures(&report));
        let rows_per_s = requests_per_s(&report) * rows.len() as f64;
        table.push((label, single_rps, logged / commits, rows_per_s));
        server.stop()?;
    }
    eprintln!("\n| log | /predict req/s (256 conns) | decisions per commit | batch rows/s |\n|---|---|---|---|");
    for (label, rps, group, rows) in table {
        let group = if group.is_finite() { format!("{group:.1}") } else { "–".into() };
        eprintln!("| {label} | {rps:.0} | {group} | {rows:.0} |");
    }
    drop(pg);
    Ok(())
}

/// `/predict` at 256 keep-alive connections and batches, alone and with `challenger` in shadow
/// (`--shadow`): one run, so the ratio compares (the target: at least 0.6 of the throughput).
fn shadow_runs(
    seconds: u32,
    model: &Path,
    challenger: &Path,
    dir: &Path,
    one: &str,
    batch_rows: &[String],
) -> Result<()> {
    let single = dir.join("predict.lua");
    lua_post(&single, one)?;
    let batch = dir.join("batch.lua");
    lua_post(&batch, &format!("{{\"transactions\":[{}]}}", batch_rows.join(",")))?;
    let mut table = Vec::new();
    for (label, args) in [
        ("champion alone", vec![]),
        ("with a challenger in shadow", vec!["--shadow".to_string(), challenger.display().to_string()]),
    ] {
        let server = fraud_server(&ServerConfig { args, ..ServerConfig::new(model) })?;
        let url = format!("{}/predict", server.url());
        step(&format!("{label}: wrk -t1 -c256 -d{seconds}s POST /predict (keep-alive)"));
        let report = wrk(&url, &single, seconds, 256, &[])?;
        eprintln!("{}", wrk_figures(&report));
        let single_rps = requests_per_s(&report);
        step(&format!("{label}: wrk -t1 -c2 -d{seconds}s POST /predict/batch ({} rows a request)", batch_rows.len()));
        let report = wrk(&format!("{url}/batch"), &batch, seconds, 2, &[])?;
        eprintln!("{}", wrk_figures(&report));
        let shadowed = metric(server.url(), "fraud_shadow_transactions_total");
        table.push((label, single_rps, requests_per_s(&report) * batch_rows.len() as f64, shadowed));
        server.stop()?;
    }
    eprintln!("\n| served | /predict req/s (256 conns) | batch rows/s | shadowed |\n|---|---|---|---|");
    for (label, rps, rows, shadowed) in &table {
        let shadowed = if shadowed.is_finite() { format!("{shadowed:.0}") } else { "–".into() };
        eprintln!("| {label} | {rps:.0} | {rows:.0} | {shadowed} |");
    }
    eprintln!(
        "with a shadow: {:.2}x the /predict throughput, {:.2}x the batch rows/s (target >= 0.6x)",
        table[1].1 / table[0].1,
        table[1].2 / table[0].2
    );
    Ok(())
}

pub(crate) fn load(seconds: u32, with_log: bool, shadow: Option<&Path>) -> Result<()> {
    tools::ensure(&[Tool::Wrk])?;
    let model = Path::new("model/model.bin");
    if !model.exists() {
        bail!("no model/model.bin: run `cargo xtask run` first");
    }
    step("building the HTTP server (release)");
    build_release(&["server"])?;
    let server = fraud_server(&ServerConfig::new(model))?;
    let pid = server.pid();
    let dir = Path::new("target/load");
    std::fs::create_dir_all(dir)?;
    let one = replay_transactions(Path::new("model/replay.csv"), model, 1)?.pop().context("empty replay file")?;
    let single = dir.join("predict.lua");
    lua_post(&single, &one)?;
    let batch_rows = replay_transactions(Path::new("model/replay.csv"), model, 10_000)?;
    let n = batch_rows.len();
    let batch = dir.join("batch.lua");
    lua_post(&batch, &format!("{{\"transactions\":[{}]}}", batch_rows.join(",")))?;
    let rss = |label: &str| {
        eprintln!(
            "server RSS {label}: {} KB (peak {} KB)",
            proc_status_kb(pid, "VmRSS:").unwrap_or(0),
            proc_status_kb(pid, "VmHWM:").unwrap_or(0)
        )
    };
    rss("at start");
    let url = format!("{}/predict", server.url());
    step(&format!("wrk -t1 -c16 -d{seconds}s POST /predict (keep-alive)"));
    let keep = wrk(&url, &single, seconds, 16, &[])?;
    eprintln!("{}", wrk_figures(&keep));
    rss("after keep-alive run");
    step(&format!("wrk -t1 -c16 -d{seconds}s POST /predict with Connection: close (a new connection per request)"));
    let close = wrk(&url, &single, seconds, 16, &["-H", "Connection: close"])?;
    eprintln!("{}", wrk_figures(&close));
    rss("after connection-close run");
    step(&format!("wrk -t1 -c2 -d{seconds}s POST /predict/batch ({n} transactions per request)"));
    let batched = wrk(&format!("{url}/batch"), &batch, seconds, 2, &[])?;
    eprintln!("{}", wrk_figures(&batched));
    let rps: f64 = batched
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    eprintln!("batch throughput: {:.0} rows/s", rps * n as f64);
    rss("at the end");
    server.stop()?;
    if with_log {
        tools::ensure(&[Tool::Postgres])?;
        decision_log_runs(seconds, model, dir, &one, &batch_rows)?;
    }
    if let Some(challenger) = shadow {
        shadow_runs(seconds, model, challenger, dir, &one, &batch_rows)?;
    }
    Ok(())
}
