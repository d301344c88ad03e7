//! The `fleet` step: one publish for the whole fleet. A nats-server, a
//! `fraud-server` and two `fraud-consumer`s started with `--model-from` on one
//! bucket; the streamer publishes transactions through NATS while a client
//! calls the server; mid-stream `native-train publish` puts another model.
//! Checked: the server switches (timed), no HTTP answer but 200 and no answer
//! by the old model once the new one answered; every transaction decided once
//! (none lost, none duplicated), by the old model or the new, the two meeting
//! at one point of the stream (within what two consumers hold in flight);
//! and `publish` refuses a corrupt artifact without touching the bucket.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::cmd::{sh, step};
use crate::http::{send, Probe};
use crate::processes::{fraud_server, free_port, nats_server, ServerConfig, Signal, Stopping, Supervised};

/// Transactions streamed, and their rate: the publish lands a third of the way in.
const STREAMED: usize = 6_000;
const RATE: f64 = 1_000.0;
/// Sequences two consumers may hold in flight across the switch (their pulls are at most 500).
const IN_FLIGHT: u64 = 2 * 500;

fn model_id(port: u16) -> Option<String> {
    let (status, body) = send(port, &Probe::get("/health"))?;
    let v: Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    v["model"]["id"].as_str().map(str::to_string)
}

fn publish(model_dir: &Path, url: &str) -> Result<()> {
    sh(Command::new("target/release/native-train").arg("publish").arg(model_dir).args(["--nats", url]))
}

fn artifact_id(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(fraud_core::artifact::model_id(&bytes))
}

fn consumer(kept: &Path, bucket: &str, nats: &str) -> Result<Supervised> {
    let mut cmd = Command::new("target/release/fraud-consumer");
    cmd.arg("--model").arg(kept).args(["--model-from", bucket, "--nats", nats]).env("RUST_LOG", "warn");
    Supervised::spawn("fraud-consumer", &mut cmd, Stopping { signal: Signal::Term, grace: Duration::from_secs(30) })
}

/// A transaction of the Kaggle schema, every feature 0.5, the amount 10.
fn transaction() -> String {
    let fields: Vec<String> = fraud_core::schema::CREDITCARD_FEATURES
        .iter()
        .map(|n| format!("\"{n}\":{}", if *n == "Amount" { 10.0 } else { 0.5 }))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// `old` and `new`: two trained folders of the same schema (the new one published mid-stream).
pub(crate) fn check(old: &Path, new: &Path) -> Result<()> {
    step("fleet: a server and two consumers on one bucket; a publish mid-stream switches them all");
    let (old_id, new_id) = (artifact_id(&old.join("model.bin"))?, artifact_id(&new.join("model.bin"))?);
    ensure!(old_id != new_id, "the two models of the fleet check are the same artifact");
    let work = Path::new("target/fleet");
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work.join("nats"))?;
    let nats = nats_server(&work.join("nats"))?;
    let bucket = format!("{}/fleet-models", nats.url());

    // publish checks first: a corrupt artifact is refused before anything is put.
    let mut corrupt = std::fs::read(old.join("model.bin"))?;
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    std::fs::write(work.join("corrupt.bin"), &corrupt)?;
    let refused = Command::new("target/release/native-train")
        .args(["publish"])
        .arg(work.join("corrupt.bin"))
        .args(["--nats", &bucket])
        .output()?;
    let said = String::from_utf8_lossy(&refused.stderr);
    ensure!(!refused.status.success() && said.contains("not published"), "publish took a corrupt artifact: {said}");
    publish(old, &bucket)?;

    let server = fraud_server(&ServerConfig {
        port: free_port()?,
        args: vec!["--model-from".into(), bucket.clone()],
        ..ServerConfig::new(&work.join("server-model.bin"))
    })?;
    let port: u16 = server.url().rsplit(':').next().and_then(|p| p.parse().ok()).context("the server's port")?;
    ensure!(model_id(port).as_deref() == Some(old_id.as_str()), "the server does not serve the published model");
    let consumers = [
        consumer(&work.join("consumer-1.bin"), &bucket, nats.url())?,
        consumer(&work.join("consumer-2.bin"), &bucket, nats.url())?,
    ];
    std::thread::sleep(Duration::from_millis(800));

    // A client calling the server all along, noting which model answered each call.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        let body = transaction().into_bytes();
        std::thread::spawn(move || {
            let mut seen: Vec<(u16, String)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let probe = Probe {
                    method: "POST".into(),
                    target: "/predict".into(),
                    content_type: Some("application/json".into()),
                    body: body.clone(),
                };
                let (status, text) = send(port, &probe).unwrap_or((0, String::new()));
                let id = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["model"]["id"].as_str().map(str::to_string))
                    .unwrap_or_default();
                seen.push((status, id));
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        })
    };
    let summary_path = work.join("summary.json");
    let mut streamer = Command::new("target/release/streamer")
        .args(["--url", nats.url(), "--data"])
        .arg(old.join("replay.csv"))
        .arg("--model")
        .arg(old.join("model.bin"))
        .args(["--limit", &STREAMED.to_string(), "--rate", &RATE.to_string(), "--quiet", "--summary-json"])
        .arg(&summary_path)
        .spawn()
        .context("starting the streamer")?;
    std::thread::sleep(Duration::from_secs_f64(STREAMED as f64 / RATE / 3.0));
    publish(new, &bucket)?;
    let published = Instant::now();
    while model_id(port).as_deref() != Some(new_id.as_str()) {
        if published.elapsed() > Duration::from_secs(10) {
            bail!("the server still serves {old_id} 10 s after the publish of {new_id}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let switched = published.elapsed();
    let status = streamer.wait()?;
    stop.store(true, Ordering::Relaxed);
    let answers = client.join().map_err(|_| anyhow::anyhow!("the HTTP client panicked"))?;
    for c in consumers {
        c.stop()?;
    }
    server.stop()?;
    nats.stop()?;

    let bad = answers.iter().filter(|(s, _)| *s != 200).count();
    let first_new = answers.iter().position(|(_, id)| *id == new_id);
    let old_after = first_new.map_or(0, |k| answers[k..].iter().filter(|(_, id)| *id == old_id).count());
    eprintln!(
        "fleet: the server switched {:.0} ms after the publish; {} HTTP answers, {bad} not 200, {old_after} by the old model after the new one answered",
        switched.as_secs_f64() * 1e3,
        answers.len()
    );
    ensure!(bad == 0 && old_after == 0 && first_new.is_some(), "the server's answers across the switch: {answers:?}");
    ensure!(switched < Duration::from_secs(2), "the server took {switched:?} to switch (target 2 s)");

    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).context("no streamer summary")?)?;
    let n = |k: &str| summary[k].as_u64().unwrap_or(u64::MAX);
    let models = summary["models"].as_object().context("no decisions by model in the summary")?;
    let by = |id: &str| {
        models.get(id).map(|m| (m["decisions"].as_u64(), m["first_sequence"].as_u64(), m["last_sequence"].as_u64()))
    };
    let (Some((Some(old_n), _, Some(old_last))), Some((Some(new_n), Some(new_first), _))) = (by(&old_id), by(&new_id))
    else {
        bail!("decisions by both models expected: {summary}");
    };
    eprintln!(
        "fleet: {} published, {} decided ({} distinct), {old_n} by the old model (up to sequence {old_last}), {new_n} by the new (from {new_first})",
        n("published"),
        n("decided"),
        n("distinct_sequences")
    );
    ensure!(status.success(), "the streamer did not reconcile: {summary}");
    ensure!(
        n("published") == STREAMED as u64 && n("decided") == n("published") && n("distinct_sequences") == n("decided"),
        "a transaction lost or decided twice: {summary}"
    );
    ensure!(models.len() == 2 && old_n + new_n == n("decided"), "decisions by a model neither old nor new: {summary}");
    ensure!(
        old_last < new_first + IN_FLIGHT,
        "the old model decided sequence {old_last}, long after the new one started at {new_first}"
    );
    eprintln!("fleet OK: one publish switched the server and both consumers; nothing lost or duplicated");
    Ok(())
}

/// Each replay row's probability bits in a golden file.
fn golden_bits(dir: &Path) -> Result<Vec<u64>> {
    let text = std::fs::read_to_string(dir.join("golden.csv")).context("reading golden.csv")?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("row,"))
        .map(|l| {
            let bits = l.split(',').nth(1).context("a golden row without probability bits")?;
            u64::from_str_radix(bits, 16).with_context(|| format!("probability bits {bits:?}"))
        })
        .collect()
}

/// 20 swaps between `old` and `new` (the file replaced by rename, then written in place and
/// SIGHUP) while the streamer sends the replay over HTTP: every transaction answered 200, each
/// probability bit for bit one of the two models' for its row, and both models seen.
pub(crate) fn swaps_under_the_streamer(old: &Path, new: &Path) -> Result<()> {
    step("swaps: 20 model swaps while the streamer sends the replay to the server");
    let work = Path::new("target/swaps");
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work)?;
    let (a, b) = (std::fs::read(old.join("model.bin"))?, std::fs::read(new.join("model.bin"))?);
    let (golden_a, golden_b) = (golden_bits(old)?, golden_bits(new)?);
    let served = work.join("model.bin");
    std::fs::write(&served, &a)?;
    let server = fraud_server(&ServerConfig { port: free_port()?, ..ServerConfig::new(&served) })?;
    let port: u16 = server.url().rsplit(':').next().and_then(|p| p.parse().ok()).context("the server's port")?;
    let outcomes = work.join("outcomes.jsonl");
    let planned = 20_000usize.min(golden_a.len());
    let mut streamer = Command::new("target/release/streamer")
        .args(["--url", &format!("{}/predict", server.url()), "--data"])
        .arg(old.join("replay.csv"))
        .arg("--model")
        .arg(old.join("model.bin"))
        .args(["--limit", &planned.to_string(), "--rate", "2000", "--concurrency", "4", "--quiet", "--outcomes"])
        .arg(&outcomes)
        .spawn()
        .context("starting the streamer")?;
    let ids = [fraud_core::artifact::model_id(&a), fraud_core::artifact::model_id(&b)];
    for swap in 0..20 {
        std::thread::sleep(Duration::from_millis(400));
        let (bytes, id) = if swap % 2 == 0 { (&b, &ids[1]) } else { (&a, &ids[0]) };
        if swap % 4 < 2 {
            let tmp = work.join("model.bin.next");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &served)?;
        } else {
            std::fs::write(&served, bytes)?;
            server.signal(Signal::Hup)?;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while model_id(port).as_deref() != Some(id.as_str()) {
            ensure!(Instant::now() < deadline, "swap {swap}: the server never served {id}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let status = streamer.wait()?;
    let swaps = crate::http::send(port, &Probe::get("/metrics"))
        .and_then(|(_, m)| {
            m.lines().find_map(|l| l.strip_prefix("fraud_model_swaps_total ")?.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0);
    server.stop()?;
    let (mut by_a, mut by_b) = (0usize, 0usize);
    let text = std::fs::read_to_string(&outcomes).context("the streamer wrote no outcomes")?;
    let mut rows = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line)?;
        let row = v["row"].as_u64().context("an outcome without its row")? as usize;
        let p = v["fraud_probability"].as_f64().with_context(|| format!("row {row} was not scored: {line}"))?;
        match p.to_bits() {
            bits if bits == golden_a[row] => by_a += 1,
            bits if bits == golden_b[row] => by_b += 1,
            _ => bail!("row {row}: probability {p} is neither model's for that row"),
        }
        rows += 1;
    }
    eprintln!(
        "swaps: {rows} answers during {swaps} swaps, {by_a} by one model and {by_b} by the other, all bit for bit"
    );
    ensure!(status.success() && rows == planned, "the streamer did not get every answer (exit {status})");
    ensure!(by_a > 0 && by_b > 0 && swaps >= 20.0, "both models should have answered across 20 swaps");
    Ok(())
}
