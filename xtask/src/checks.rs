//! `cargo xtask test`: every check, in order, and the end-to-end ones that
//! need running processes (parity over HTTP, the Worker, the browser, soak, a crash).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bundle::{build_site, build_wasm, build_worker};
use crate::cmd::{cargo, sh, step};
use crate::models::{train_kind, Data, KINDS};
use crate::processes::{free_port, Server, Wrangler};
use crate::tools::{ensure_browser_tools, ensure_edge_tools, ensure_rust_tools, ensure_wasm_tools, tools_path};

/// The wasm package (Node build) against the native golden file of `model_dir`.
pub(crate) fn parity(model_dir: &Path) -> Result<()> {
    step("parity: wasm in Node vs the native core, bit for bit");
    sh(Command::new("node")
        .arg("wasm/tests/parity.mjs")
        .arg("wasm/pkg-node")
        .arg(model_dir.join("model.bin"))
        .arg(model_dir.join("replay.csv"))
        .arg(model_dir.join("golden.csv")))
}

pub(crate) fn test() -> Result<()> {
    let t = Instant::now();
    step("tools");
    ensure_rust_tools()?;
    step("formatting (cargo fmt --check)");
    sh(cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("lints (cargo clippy, warnings are errors)");
    sh(cargo().args(["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"]))?;
    step("core builds for wasm32 without std");
    sh(cargo().args([
        "build",
        "--quiet",
        "-p",
        "fraud-core",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
    ]))?;
    ensure_nats_server()?;
    step("unit, integration and end-to-end tests (includes the real-data gate, or says it skipped)");
    sh(cargo().args(["test", "--workspace", "--", "--show-output"]).env("RUST_LOG", "warn"))?;
    ensure_wasm_tools()?;
    step("wasm bindings: wasm-pack test --node (every error path)");
    sh(Command::new("wasm-pack").args(["test", "--node", "wasm"]).env("PATH", tools_path()))?;
    build_wasm()?;
    // Parity for every model kind, each on the real file when there is one (the
    // real-data test caches the shared copy in target/), else on synthetic data.
    sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train", "-p", "score"]))?;
    let mut last = None;
    for model in &KINDS {
        let dir = PathBuf::from(format!("target/parity-{}", model.name));
        train_kind(&dir, model)?;
        parity(&dir)?;
        score_check(&dir)?;
        http_checks(&dir)?;
        if model.data == Data::Creditcard {
            last = Some(dir);
        }
    }
    let dir = last.context("KINDS lists a model of the Kaggle schema")?;
    soak(&dir, 20)?;
    stream_through_a_crash(&dir)?;
    eprintln!("\nall tests passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// The file scorer (`score`) on the replay file against the golden file: every
/// probability's bits and every decision.
pub(crate) fn score_check(dir: &Path) -> Result<()> {
    step("score: the file scorer on the replay file vs the golden file, bit for bit");
    let out = Path::new("target/score-check.csv");
    sh(Command::new("target/release/score")
        .arg("--model")
        .arg(dir.join("model.bin"))
        .arg("--input")
        .arg(dir.join("replay.csv"))
        .arg("--output")
        .arg(out)
        .args(["--reasons", "0", "--quiet"]))?;
    let golden = std::fs::read_to_string(dir.join("golden.csv")).context("reading the golden file")?;
    let scored = std::fs::read_to_string(out).context("reading the scorer's output")?;
    // golden: row,probability_bits,probability,is_fraud (after a `#` line); scored: line,[id,]fraud_probability,is_fraud
    let want: Vec<(u64, &str)> = golden
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("row,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (u64::from_str_radix(f[1], 16).unwrap_or(u64::MAX), f[3])
        })
        .collect();
    // The columns by name: a model with an id column has it carried after `line`.
    let mut lines = scored.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).context(format!("no {name} column"));
    let (p, d) = (column("fraud_probability")?, column("is_fraud")?);
    let got: Vec<(u64, &str)> = lines
        .map(|l| {
            // Ids are plain here (the replay's are `tx-…`); a quoted comma would shift the columns and fail the check.
            let f: Vec<&str> = l.split(',').collect();
            (
                f.get(p).and_then(|v| v.parse::<f64>().ok()).map_or(u64::MAX, f64::to_bits),
                f.get(d).copied().unwrap_or(""),
            )
        })
        .collect();
    let differ = want.iter().zip(&got).filter(|(w, g)| w != g).count();
    if want.len() != got.len() || differ > 0 {
        bail!("score: {} rows vs {} golden, {differ} differ", got.len(), want.len());
    }
    eprintln!("score OK: {} rows, bits and decisions equal to the golden file", got.len());
    Ok(())
}

/// Debian's `nats-server` (JetStream), for the consumer group's end-to-end test
/// (`consumer/tests/e2e.rs` starts it on a free loopback port with its data in a
/// temporary folder and stops it by its PID).
fn ensure_nats_server() -> Result<()> {
    if crate::cmd::output(Command::new("nats-server").arg("--version")).is_some() {
        eprintln!("nats-server: present");
        return Ok(());
    }
    step("tools: nats-server (Debian package)");
    sh(Command::new("apt-get").args(["install", "-y", "nats-server"]))
}

/// Where the API fuzzer lives (tooling only, beside the comparison's libraries).
const FUZZ_VENV: &str = "target/api-fuzz-venv";
/// The fuzzer, pinned.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// schemathesis against the running native server, from its own `/openapi.json`,
/// with every check: no 5xx, every response conforming to its documented schema
/// and status, invalid requests rejected, valid ones accepted.
pub(crate) fn api_fuzz(url: &str) -> Result<()> {
    let bin = Path::new(FUZZ_VENV).join("bin/schemathesis");
    let want = SCHEMATHESIS.split("==").nth(1).unwrap_or_default();
    let present = crate::cmd::output(Command::new(&bin).arg("--version")).is_some_and(|v| v.contains(want));
    if !present {
        step(&format!("tools: {SCHEMATHESIS} into {FUZZ_VENV} (PyPI)"));
        if !Path::new(FUZZ_VENV).join("bin/python").exists() {
            sh(Command::new("python3").args(["-m", "venv", FUZZ_VENV]))?;
        }
        sh(Command::new(Path::new(FUZZ_VENV).join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SCHEMATHESIS,
        ]))?;
    }
    step("API fuzzing: schemathesis from /openapi.json, every check, against the native server");
    sh(Command::new(bin)
        .args(["run", &format!("{url}/openapi.json"), "--checks", "all", "--max-examples", "100", "--seed", "7"])
        .arg("--no-color"))
}

/// The page in headless Chromium against the golden file of `dir`.
pub(crate) fn browser_test(url: &str, dir: &Path) -> Result<()> {
    ensure_browser_tools()?;
    step("browser: the replay page in headless Chromium (screenshot in target/web-test/page.png)");
    let out = Path::new("target/web-test");
    std::fs::create_dir_all(out)?;
    sh(Command::new("node")
        .arg("web/tests/page.test.mjs")
        .arg(format!("{url}/"))
        .arg(dir.join("golden.csv"))
        .arg(dir.join("replay.csv"))
        .arg(out))
}

/// The training report at 1280 px in headless Chromium: no text outside its
/// chart or over another; the money and calibration figures present.
pub(crate) fn report_test(dir: &Path) -> Result<()> {
    ensure_browser_tools()?;
    let shot = Path::new("target/web-test")
        .join(format!("report-{}.png", dir.file_name().and_then(|n| n.to_str()).unwrap_or("model")));
    step(&format!(
        "report: {} in headless Chromium at 1280 px (screenshot {})",
        dir.join("report.html").display(),
        shot.display()
    ));
    std::fs::create_dir_all("target/web-test")?;
    sh(Command::new("node").arg("web/tests/report.test.mjs").arg(dir.join("report.html")).arg(shot))
}

/// A bounded soak of the release server with `model_dir`'s model and replay file.
pub(crate) fn soak(model_dir: &Path, seconds: u64) -> Result<()> {
    step(&format!("soak: {seconds} s of valid, invalid, batch, slow, stalled, trickling and disconnecting clients"));
    let server = Server::start_with(
        &model_dir.join("model.bin"),
        0,
        None,
        &["--timeout-ms", "2000", "--header-timeout-ms", "2000"],
    )?;
    let addr = server.url().trim_start_matches("http://").to_string();
    sh(Command::new("target/release/soak")
        .args(["--addr", &addr, "--pid", &server.pid().to_string(), "--seconds", &seconds.to_string()])
        .args(["--server-timeout-ms", "2000", "--model"])
        .arg(model_dir.join("model.bin"))
        .arg("--data")
        .arg(model_dir.join("replay.csv")))?;
    server.stop()
}

/// The counts of the streamer's `--summary-json` this check reads (other fields ignored).
#[derive(serde::Deserialize)]
struct StreamCounts {
    sent: u64,
    ok: u64,
    failed: u64,
    retries: u64,
}

/// The streamer keeps going through a server that is killed (SIGKILL) and
/// restarted mid-stream: every transaction must end up accounted for and scored.
pub(crate) fn stream_through_a_crash(model_dir: &Path) -> Result<()> {
    step("faults: kill -9 the server mid-stream, restart it; the streamer must account for every transaction");
    let model = model_dir.join("model.bin");
    let port = free_port()?;
    let server = Server::start(&model, port, None)?;
    let out = Path::new("target/faults");
    std::fs::create_dir_all(out)?;
    let summary_path = out.join("summary.json");
    let _ = std::fs::remove_file(&summary_path);
    let planned = 3000;
    let mut streamer = Command::new("target/release/streamer")
        .args(["--url", &format!("http://127.0.0.1:{port}/predict"), "--data"])
        .arg(model_dir.join("replay.csv"))
        .args(["--limit", &planned.to_string(), "--rate", "1000", "--concurrency", "8"])
        .args(["--retries", "10", "--backoff-ms", "100", "--quiet", "--summary-json"])
        .arg(&summary_path)
        .spawn()
        .context("starting the streamer")?;
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let _ = Command::new("kill").args(["-9", &server.pid().to_string()]).status();
    drop(server);
    eprintln!("server killed (SIGKILL) after 1 s; restarting it in 1.5 s");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let server = Server::start(&model, port, None)?;
    let status = streamer.wait()?;
    server.stop()?;
    let summary = std::fs::read_to_string(&summary_path).context("the streamer wrote no summary")?;
    let counts: StreamCounts = serde_json::from_str(&summary)
        .with_context(|| format!("{} is not the streamer's summary", summary_path.display()))?;
    let StreamCounts { sent, ok, failed, retries } = counts;
    eprintln!("faults: planned {planned}, sent {sent}, ok {ok}, failed {failed}, retries {retries}");
    if !status.success() || sent != planned || ok + failed != sent || ok != planned || retries == 0 {
        bail!("the streamer lost track through the crash (exit {status}): {summary}");
    }
    eprintln!(
        "faults OK: nothing lost — every one of {planned} transactions scored, {retries} retries rode out the outage"
    );
    Ok(())
}

/// The native server and the Worker against the golden file and the contract cases.
pub(crate) fn http_checks(dir: &Path) -> Result<()> {
    let model = dir.join("model.bin");
    let files = [model.clone(), dir.join("replay.csv"), dir.join("golden.csv")];
    step("HTTP: the native server vs the golden file (every row, one by one and in batches) and the contract cases");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server", "-p", "streamer"]))?;
    let site = build_site(dir)?;
    let server = Server::start(&model, 0, Some(&site))?;
    sh(Command::new("node").arg("parity/http-check.mjs").arg(server.url()).args(&files))?;
    api_fuzz(server.url())?;
    browser_test(server.url(), dir)?;
    server.stop()?;
    report_test(dir)?;

    ensure_edge_tools()?;
    build_worker(&model)?;
    step("edge: the Worker under wrangler dev vs the golden file and the contract cases");
    let port = free_port()?;
    let log = Path::new("target/wrangler-dev.log");
    let mut wrangler = Wrangler::start(port, Some(log))?;
    let cold = match wrangler.wait_healthy(std::time::Duration::from_secs(180)) {
        Ok(t) => t,
        Err(e) => {
            match std::fs::read_to_string(log) {
                Ok(text) => eprintln!("{text}"),
                Err(read) => eprintln!("(wrangler's log {} cannot be read: {read})", log.display()),
            }
            return Err(e);
        }
    };
    eprintln!("wrangler dev: first /health 200 after {:.1} s (pid {})", cold.as_secs_f64(), wrangler.pid());
    let url = format!("http://127.0.0.1:{port}");
    // Single requests go through wrangler's local proxy at a few hundred per second:
    // a few thousand one by one, every row in batches.
    sh(Command::new("node").arg("parity/http-check.mjs").arg(&url).args(&files).args(["--single-limit", "3000"]))?;
    step("edge: the streamer against the Worker");
    sh(Command::new("target/release/streamer")
        .args(["--url", &format!("{url}/predict"), "--data"])
        .arg(dir.join("replay.csv"))
        .args(["--limit", "500", "--concurrency", "4", "--quiet"]))?;
    wrangler.stop()?;
    eprintln!("wrangler dev stopped (SIGINT)");
    Ok(())
}
