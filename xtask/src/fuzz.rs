//! schemathesis, from each runtime's own `/openapi.json`, with every check:
//! no 5xx, every response conforming to its documented schema and status,
//! invalid requests rejected, valid ones accepted — against the native server
//! and against the Worker under `wrangler dev`.
//!
//! Under `wrangler dev` a request passes wrangler's local proxy (its
//! ProxyWorker) before it reaches the Worker, and that hop sometimes loses a
//! request: a pooled connection to the Worker's runtime is closed under it
//! after an earlier request whose body the Worker answered without reading
//! (a 405, a bad `?explain`), and the proxy retries only GET and HEAD. The
//! proxy then answers 500 "Network connection lost." and logs the request.
//! So a 5xx from the Worker run is sorted out: a real Worker error, a restarted
//! Worker or isolate fail the check; a proxy drop is verified (the same isolate
//! and runtime processes still answer, the same request re-sent gets a non-5xx
//! answer), reported, and the fuzzer runs again.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::checks::parity_rules_args;
use crate::cmd::{sh, step, workspace_root};
use crate::edge::{same_worker, DevWorker};
use crate::http::Probe;
use crate::processes::{fraud_server, ServerConfig};
use crate::tools::{self, venv_bin, Tool, FUZZ_VENV};

/// Runs of the fuzzer against the Worker before proxy drops on every one fail the check.
const WORKER_RUNS: usize = 3;

/// The fuzzer against `url`, writing its HAR report to `har` when given. It
/// runs in target/api-fuzz so its caches (.schemathesis, .hypothesis) stay there.
fn schemathesis(url: &str, har: Option<&Path>) -> Result<Command> {
    let cwd = workspace_root().join("target/api-fuzz");
    std::fs::create_dir_all(&cwd)?;
    let mut cmd = Command::new(workspace_root().join(venv_bin(FUZZ_VENV, "schemathesis")));
    cmd.args(["run", &format!("{url}/openapi.json"), "--checks", "all", "--max-examples", "100", "--seed", "7"])
        .arg("--no-color")
        .current_dir(cwd);
    if let Some(har) = har {
        cmd.args(["--report", "har", "--report-har-path"]).arg(workspace_root().join(har));
    }
    Ok(cmd)
}

/// Against the native server with `dir`'s model (serving `site`, as `run` does), with a
/// decision log and an admin token, so the log's routes are fuzzed too (as an admin: the
/// fuzzer sends the token; its `ignored_auth` check also tries them without).
pub(crate) fn native(dir: &Path, site: &Path) -> Result<()> {
    tools::ensure(&[Tool::Schemathesis])?;
    let work = workspace_root().join("target/api-fuzz/log");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    const TOKEN: &str = "schemathesis-admin-token";
    let digest: String =
        <sha2::Sha256 as sha2::Digest>::digest(TOKEN.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let tokens = work.join("tokens.txt");
    std::fs::write(&tokens, format!("fuzzer sha256:{digest}\n"))?;
    let mut args = parity_rules_args(dir);
    args.extend(["--decision-log".to_string(), work.join("decisions.db").display().to_string()]);
    args.extend(["--decision-log-sync".to_string(), "normal".to_string()]);
    args.extend(["--admin-token-file".to_string(), tokens.display().to_string()]);
    let server = fraud_server(&ServerConfig {
        site: Some(site.to_path_buf()),
        args,
        ..ServerConfig::new(&dir.join("model.bin"))
    })?;
    step("API fuzzing: schemathesis from /openapi.json, every check, against the native server (with a decision log)");
    sh(schemathesis(server.url(), None)?.args(["--header", &format!("Authorization: Bearer {TOKEN}")]))?;
    server.stop()
}

/// One request the fuzzer sent and what came back, from its HAR report.
#[derive(Clone, Debug)]
struct Exchange {
    probe: Probe,
    status: u16,
    answer: String,
}

impl Exchange {
    fn shown(&self) -> String {
        format!("{} {}", self.probe.method, self.probe.target)
    }

    fn path(&self) -> &str {
        self.probe.target.split('?').next().unwrap_or_default()
    }
}

/// The HAR report's exchanges (requests that got no answer are not in it).
fn exchanges(har: &Path) -> Result<Vec<Exchange>> {
    let text = std::fs::read_to_string(har).with_context(|| format!("reading {}", har.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", har.display()))?;
    let entries = doc.pointer("/log/entries").and_then(|e| e.as_array()).context("a HAR report without entries")?;
    let text_at =
        |v: &serde_json::Value, at: &str| v.pointer(at).and_then(|t| t.as_str()).unwrap_or_default().to_string();
    Ok(entries
        .iter()
        .map(|e| {
            let url = text_at(e, "/request/url");
            // `http://127.0.0.1:PORT/path?query` → `/path?query`.
            let target = url.splitn(4, '/').nth(3).map_or_else(|| "/".to_string(), |rest| format!("/{rest}"));
            let content_type = Some(text_at(e, "/request/postData/mimeType")).filter(|t| !t.is_empty());
            let probe = Probe {
                method: text_at(e, "/request/method"),
                target,
                content_type,
                body: text_at(e, "/request/postData/text").into_bytes(),
            };
            let status = e.pointer("/response/status").and_then(|s| s.as_u64()).unwrap_or(0) as u16;
            Exchange { probe, status, answer: text_at(e, "/response/content/text") }
        })
        .collect())
}

/// What a 5xx from the Worker run was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// wrangler's proxy lost the request on its way to the Worker (and logged it).
    ProxyDrop,
    /// wrangler restarted the Worker under the request.
    Restarted,
    /// The Worker (or its runtime) answered 5xx.
    Worker,
}

/// The requests wrangler's proxy logged as lost, as `METHOD /path` (wrangler
/// 4.164's wording: "Error inside ProxyWorker (…): POST http://…/predict?… (failed after 1 attempt): Network connection lost.").
fn proxy_drops(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|l| l.contains("Error inside ProxyWorker") && l.contains("Network connection lost"))
        .filter_map(|l| {
            let request = l.split_once("continues): ")?.1.split(" (failed after").next()?;
            let (method, url) = request.split_once(' ')?;
            let path = url
                .splitn(4, '/')
                .nth(3)
                .map_or("/".to_string(), |r| format!("/{}", r.split('?').next().unwrap_or("")));
            Some((method.to_string(), path))
        })
        .collect()
}

fn cause(exchange: &Exchange, drops: &mut Vec<(String, String)>) -> Cause {
    if exchange.status == 503 && exchange.answer.contains("Your worker restarted mid-request") {
        return Cause::Restarted;
    }
    let lost = exchange.status == 500 && exchange.answer.starts_with("Error: Network connection lost.");
    let logged = drops.iter().position(|(m, p)| *m == exchange.probe.method && p == exchange.path());
    match (lost, logged) {
        (true, Some(i)) => {
            // Each logged drop explains one answer.
            drops.swap_remove(i);
            Cause::ProxyDrop
        }
        _ => Cause::Worker,
    }
}

/// wrangler's error lines, for a failure's message.
fn error_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("[ERROR]") || l.contains("Uncaught")).collect();
    if lines.is_empty() {
        "(none)".to_string()
    } else {
        lines.join("\n")
    }
}

/// Against the Worker under `wrangler dev` (its build holds `dir`'s model).
pub(crate) fn worker(dir: &Path) -> Result<()> {
    tools::ensure(&[Tool::Schemathesis])?;
    let mut worker = crate::edge::start("wrangler-fuzz.log")?;
    let before = worker.identity()?;
    eprintln!("the Worker: isolate {}, workerd processes {:?}", before.isolate, before.runtime);
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("model");
    let mut requests = 0;
    let mut dropped = Vec::new();
    for run in 1..=WORKER_RUNS {
        step(&format!(
            "API fuzzing: schemathesis from /openapi.json, every check, against the Worker under wrangler dev (run {run})"
        ));
        let har = PathBuf::from(format!("target/edge-fuzz/{name}-run-{run}.har.json"));
        let status = schemathesis(worker.wrangler.url(), Some(&har))?.status().context("running schemathesis")?;
        let exchanges = exchanges(&har)?;
        requests += exchanges.len();
        if !worker.wrangler.running() {
            bail!("wrangler dev exited during fuzzing; its errors:\n{}", error_lines(&worker.log_text()?));
        }
        let now = worker.identity()?;
        if status.success() {
            // A crash the proxy hid (it retries GETs) would still show as a new isolate.
            same_worker(&before, &now)?;
            eprintln!(
                "edge fuzz OK: {requests} requests over {run} run(s), isolate {} throughout; {} lost by wrangler's proxy{}",
                now.isolate,
                dropped.len(),
                if dropped.is_empty() { String::new() } else { format!(" ({})", dropped.join(", ")) }
            );
            return worker.stop();
        }
        dropped.extend(triage(&worker, &exchanges, &before, &now)?);
        eprintln!(
            "run {run}: every failure was a request lost by wrangler's proxy; the same Worker answers: running again"
        );
    }
    bail!(
        "wrangler's proxy lost requests on each of {WORKER_RUNS} runs ({requests} requests): {}; the contract is unchecked",
        dropped.join(", ")
    )
}

/// Sorts out a failed run's 5xx answers: returns the proxy drops when that is
/// all they were (verified), fails on anything else.
fn triage(
    worker: &DevWorker,
    exchanges: &[Exchange],
    before: &crate::edge::Identity,
    now: &crate::edge::Identity,
) -> Result<Vec<String>> {
    let server_errors: Vec<&Exchange> = exchanges.iter().filter(|e| e.status >= 500).collect();
    if server_errors.is_empty() {
        bail!("schemathesis found contract failures in the Worker's answers (no 5xx among them; see above)");
    }
    let log = worker.log_text()?;
    let mut logged = proxy_drops(&log);
    let mut drops = Vec::new();
    for exchange in server_errors {
        match cause(exchange, &mut logged) {
            Cause::ProxyDrop => drops.push(exchange),
            Cause::Restarted => {
                bail!("wrangler restarted the Worker under {}; its errors:\n{}", exchange.shown(), error_lines(&log))
            }
            Cause::Worker => bail!(
                "the Worker answered {} to {} (not a request wrangler's proxy logged as lost): {}\n\
                 wrangler's errors:\n{}",
                exchange.status,
                exchange.shown(),
                exchange.answer.chars().take(300).collect::<String>(),
                error_lines(&log)
            ),
        }
    }
    same_worker(before, now)?;
    let mut shown = Vec::new();
    for exchange in drops {
        let again = crate::http::send(worker.port, &exchange.probe);
        match again {
            Some((status, _)) if status < 500 => {
                eprintln!(
                    "lost by wrangler's proxy, not the Worker: {} (500 \"Network connection lost.\"); re-sent: {status}",
                    exchange.shown()
                );
                shown.push(format!("{} (re-sent: {status})", exchange.shown()));
            }
            Some((status, answer)) => bail!(
                "{} was lost by wrangler's proxy, and re-sent it got {status}: {}",
                exchange.shown(),
                answer.chars().take(300).collect::<String>()
            ),
            None => bail!("{} was lost by wrangler's proxy, and re-sent it got no answer", exchange.shown()),
        }
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(method: &str, target: &str, status: u16, answer: &str) -> Exchange {
        let probe = Probe { method: method.into(), target: target.into(), ..Probe::default() };
        Exchange { probe, status, answer: answer.into() }
    }

    const LOG: &str = "[wrangler:info] POST /predict 400 Bad Request (16ms)\n\
        ✘ [ERROR] Error inside ProxyWorker (the affected request failed; the dev server continues): \
        POST http://127.0.0.1:40641/predict?explain=null&explain=null (failed after 1 attempt): Network connection lost.\n";

    #[test]
    fn a_logged_lost_request_is_a_proxy_drop_once() {
        let mut drops = proxy_drops(LOG);
        assert_eq!(drops, [("POST".to_string(), "/predict".to_string())]);
        let lost =
            exchange("POST", "/predict?explain=null&explain=null", 500, "Error: Network connection lost.\n    at …");
        assert_eq!(cause(&lost, &mut drops), Cause::ProxyDrop);
        // The one log line is used up: a second such answer is unexplained.
        assert_eq!(cause(&lost, &mut drops), Cause::Worker);
    }

    #[test]
    fn other_server_errors_are_the_workers() {
        let mut drops = proxy_drops(LOG);
        let ours = exchange("POST", "/predict", 500, r#"{"error":{"code":"internal"}}"#);
        assert_eq!(cause(&ours, &mut drops), Cause::Worker);
        let unlogged = exchange("POST", "/predict/batch", 500, "Error: Network connection lost.");
        assert_eq!(cause(&unlogged, &mut drops), Cause::Worker);
        let restarted = exchange("POST", "/predict", 503, "Your worker restarted mid-request. Please try again.");
        assert_eq!(cause(&restarted, &mut drops), Cause::Restarted);
    }
}
