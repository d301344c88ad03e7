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

pub(crate) fn load(seconds: u32) -> Result<()> {
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
    server.stop()
}
