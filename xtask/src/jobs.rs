//! The long-running jobs: `run` (the main job), `serve`, `edge`, `soak` and `bench`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::bundle::{build_site, build_wasm, build_worker};
use crate::checks::{parity, parity_rules_args, soak, stream_through_a_crash};
use crate::cmd::{build_release, sh, step};
use crate::models::{real_data, train_kind, KINDS};
use crate::processes::{consumer, fraud_server, nats_server, wait_healthy, wrangler_dev, ServerConfig, WranglerConfig};
use crate::tools::{self, Tool};

/// How the main job streams its test transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Via {
    /// POST /predict on the HTTP server.
    Http,
    /// NATS JetStream, scored by two consumers sharing one durable consumer.
    Nats,
}

/// `cargo xtask run`'s options.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct RunOptions {
    /// Port of the HTTP server.
    #[arg(long, default_value_t = 8000)]
    pub(crate) port: u16,
    /// Transactions to stream after start-up.
    #[arg(long, default_value_t = 2000)]
    pub(crate) stream: usize,
    /// Streaming rate, transactions per second.
    #[arg(long, default_value_t = 500.0)]
    pub(crate) rate: f64,
    /// Stop after streaming instead of serving until Ctrl-C.
    #[arg(long)]
    pub(crate) no_serve: bool,
    /// Stream through the HTTP API or through NATS JetStream to two consumers.
    #[arg(long, value_enum, default_value_t = Via::Http)]
    pub(crate) via: Via,
    /// Extra arguments for `native-train train` (e.g. `-- --seed 7`).
    #[arg(last = true)]
    pub(crate) train_args: Vec<String>,
}

/// The main job: train, check the wasm package, serve, stream; then serve until Ctrl-C.
pub(crate) fn run_main(options: &RunOptions) -> Result<()> {
    step("building native-train (release)");
    build_release(&["native-train"])?;
    let data = Path::new("data/creditcard.csv");
    if data.exists() {
        eprintln!("using the real dataset at {}", data.display());
    } else {
        eprintln!(
            "data/creditcard.csv is absent: training on the synthetic default. \
             `cargo xtask fetch-data` gets the real file."
        );
    }
    step("training");
    let t = Instant::now();
    sh(Command::new("target/release/native-train").arg("train").args(&options.train_args))?;
    eprintln!("\ntrained in {:.2} s; open model/report.html for the report", t.elapsed().as_secs_f64());
    step("golden file (native core's scores of the replay rows, decided by the proposed rules)");
    sh(Command::new("target/release/native-train").arg("golden").args(parity_rules_args(Path::new("model"))))?;
    tools::ensure(tools::WASM)?;
    build_wasm()?;
    parity(Path::new("model"))?;
    step("building the HTTP server and the streamer (release)");
    build_release(&["server", "streamer"])?;
    let site = build_site(Path::new("model"))?;
    // The server decides by the rules the trainer proposed (model/rules.txt), as the golden file does.
    let config = ServerConfig {
        port: options.port,
        site: Some(site),
        args: parity_rules_args(Path::new("model")),
        ..ServerConfig::new(Path::new("model/model.bin"))
    };
    let server = fraud_server(&config)?;
    let (stream, rate) = (options.stream, options.rate);
    match options.via {
        Via::Nats => stream_via_nats(stream, rate)?,
        Via::Http => {
            step(&format!("streaming {stream} test transactions at {} ({rate}/s)", server.url()));
            sh(Command::new("target/release/streamer")
                .args(["--url", &format!("{}/predict", server.url()), "--data", "model/replay.csv"])
                .args(["--limit", &stream.to_string(), "--rate", &rate.to_string(), "--concurrency", "4"]))?;
        }
    }
    if options.no_serve {
        return server.stop();
    }
    eprintln!(
        "\nserving the API at {url}/predict and the web page at {url}/ — Ctrl-C to stop\n\
         stream more: target/release/streamer --url {url}/predict --speed 100",
        url = server.url()
    );
    server.wait()
}

/// The main job's stream through NATS JetStream: a local nats-server (data in
/// target/nats-run), two consumers sharing the durable consumer, the streamer
/// publishing the replay file and reconciling; then SIGTERM to the consumers
/// (their summaries print) and to nats-server.
fn stream_via_nats(stream: usize, rate: f64) -> Result<()> {
    tools::ensure(&[Tool::NatsServer])?;
    build_release(&["consumer"])?;
    let dir = Path::new("target/nats-run");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let nats = nats_server(dir)?;
    let url = nats.url().to_string();
    step(&format!("NATS JetStream at {url} (data in {}), two consumers", dir.display()));
    let model = Path::new("model/model.bin");
    let consumers = [consumer(model, &url)?, consumer(model, &url)?];
    // Time to bind the durable consumer before the first message.
    std::thread::sleep(std::time::Duration::from_millis(500));
    step(&format!("publishing {stream} test transactions to {url} ({rate}/s)"));
    sh(Command::new("target/release/streamer").args(["--url", &url, "--data", "model/replay.csv", "--quiet"]).args([
        "--limit",
        &stream.to_string(),
        "--rate",
        &rate.to_string(),
    ]))?;
    for c in consumers {
        c.stop()?;
    }
    nats.stop()
}

pub(crate) fn serve_forever(port: u16) -> Result<()> {
    tools::ensure(tools::WASM)?;
    build_wasm()?;
    step("building the HTTP server (release)");
    build_release(&["server"])?;
    let site = build_site(Path::new("model"))?;
    let args = parity_rules_args(Path::new("model"));
    let server = fraud_server(&ServerConfig {
        port,
        site: Some(site),
        args,
        ..ServerConfig::new(Path::new("model/model.bin"))
    })?;
    eprintln!("serving at {} — Ctrl-C to stop", server.url());
    server.wait()
}

pub(crate) fn edge_dev(port: u16) -> Result<()> {
    if !Path::new("model/model.bin").exists() {
        eprintln!("model/model.bin is absent: training one first (the Worker compiles it in)");
        build_release(&["native-train"])?;
        sh(Command::new("target/release/native-train").arg("train"))?;
    }
    tools::ensure(tools::EDGE)?;
    build_worker(Path::new("model"))?;
    step(&format!("wrangler dev on http://127.0.0.1:{port} (Ctrl-C to stop)"));
    let mut wrangler = wrangler_dev(&WranglerConfig { port, ..WranglerConfig::default() })?;
    let cold = wait_healthy(&mut wrangler, port, std::time::Duration::from_secs(120))?;
    eprintln!(
        "\nthe Worker answers on http://127.0.0.1:{port} (first 200 after {:.1} s)\n\
         stream to it: target/release/streamer --url http://127.0.0.1:{port}/predict --rate 100",
        cold.as_secs_f64()
    );
    wrangler.wait()
}

pub(crate) fn soak_and_faults(seconds: u64) -> Result<()> {
    step("building the HTTP server, the soak driver and the streamer (release)");
    build_release(&["server", "streamer"])?;
    soak(Path::new("model"), seconds)?;
    stream_through_a_crash(Path::new("model"))
}

pub(crate) fn bench(runs: usize) -> Result<()> {
    step("building native-train (release)");
    build_release(&["native-train"])?;
    if real_data().is_none() {
        eprintln!("no real dataset: benchmarking on synthetic data (`cargo xtask fetch-data` for the real file)");
    }
    let mut pipeline = Command::new("target/release/native-train");
    pipeline.args(["bench", "--runs"]).arg(runs.to_string()).env("RUST_LOG", "warn");
    if let Some(data) = real_data() {
        pipeline.arg("--data").arg(data);
    }
    sh(&mut pipeline)?;
    for model in &KINDS {
        let dir = std::path::PathBuf::from(format!("target/bench-{}", model.name));
        train_kind(&dir, model)?;
        step(&format!("core scoring of the {} model", model.name));
        sh(Command::new("target/release/native-train")
            .args(["bench-model", "--runs", &runs.max(5).to_string(), "--model"])
            .arg(dir.join("model.bin"))
            .arg("--replay")
            .arg(dir.join("replay.csv")))?;
    }
    Ok(())
}
