//! The long-running jobs: `run` (the main job), `serve`, `edge`, `soak` and `bench`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::bundle::{build_site, build_wasm, build_worker};
use crate::checks::{parity, soak, stream_through_a_crash};
use crate::cmd::{cargo, sh, step};
use crate::models::{real_data, train_kind, KINDS};
use crate::processes::{Server, Wrangler};
use crate::tools::{ensure_edge_tools, ensure_wasm_tools};

pub(crate) fn run_main(
    train_args: &[String],
    port: u16,
    stream: usize,
    rate: f64,
    keep_serving: bool,
    via_nats: bool,
) -> Result<()> {
    step("building native-train (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train"]))?;
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
    sh(Command::new("target/release/native-train").arg("train").args(train_args))?;
    eprintln!("\ntrained in {:.2} s; open model/report.html for the report", t.elapsed().as_secs_f64());
    step("golden file (native core's scores of the replay rows)");
    sh(Command::new("target/release/native-train").arg("golden"))?;
    ensure_wasm_tools()?;
    build_wasm()?;
    parity(Path::new("model"))?;
    step("building the HTTP server and the streamer (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server", "-p", "streamer"]))?;
    let site = build_site(Path::new("model"))?;
    let server = Server::start(Path::new("model/model.bin"), port, Some(&site))?;
    if via_nats {
        stream_via_nats(stream, rate)?;
    } else {
        step(&format!("streaming {stream} test transactions at {} ({rate}/s)", server.url()));
        sh(Command::new("target/release/streamer")
            .args(["--url", &format!("{}/predict", server.url()), "--data", "model/replay.csv"])
            .args(["--limit", &stream.to_string(), "--rate", &rate.to_string(), "--concurrency", "4"]))?;
    }
    if !keep_serving {
        return server.stop();
    }
    eprintln!(
        "\nserving the API at {url}/predict and the web page at {url}/ — Ctrl-C to stop\n\
         stream more: target/release/streamer --url {url}/predict --speed 100",
        url = server.url()
    );
    server.wait()
}

/// Kills a child process (SIGKILL) when dropped, so a failed step leaves nothing running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The main job's stream through NATS JetStream: a local nats-server (data in
/// target/nats-run), two consumers sharing the durable consumer, the streamer
/// publishing the replay file and reconciling; then SIGTERM to the consumers
/// (their summaries print) and the server stopped by its PID.
fn stream_via_nats(stream: usize, rate: f64) -> Result<()> {
    if crate::cmd::output(Command::new("nats-server").arg("--version")).is_none() {
        step("tools: nats-server (Debian package)");
        sh(Command::new("apt-get").args(["install", "-y", "nats-server"]))?;
    }
    sh(cargo().args(["build", "--release", "--quiet", "-p", "consumer"]))?;
    let dir = Path::new("target/nats-run");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let port = crate::processes::free_port()?;
    let url = format!("nats://127.0.0.1:{port}");
    step(&format!("NATS JetStream at {url} (data in {}), two consumers", dir.display()));
    let _server = Child(
        Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .spawn()
            .context("starting nats-server")?,
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let consumers: Vec<Child> = (0..2)
        .map(|_| {
            Command::new("target/release/fraud-consumer")
                .args(["--model", "model/model.bin", "--nats", &url])
                .spawn()
                .map(Child)
                .context("starting fraud-consumer")
        })
        .collect::<Result<_>>()?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    step(&format!("publishing {stream} test transactions to {url} ({rate}/s)"));
    sh(Command::new("target/release/streamer").args(["--url", &url, "--data", "model/replay.csv", "--quiet"]).args([
        "--limit",
        &stream.to_string(),
        "--rate",
        &rate.to_string(),
    ]))?;
    for mut c in consumers {
        sh(Command::new("kill").args(["-TERM", &c.0.id().to_string()]))?;
        let _ = c.0.wait();
    }
    Ok(())
}

pub(crate) fn serve_forever(port: u16) -> Result<()> {
    ensure_wasm_tools()?;
    build_wasm()?;
    step("building the HTTP server (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server"]))?;
    let site = build_site(Path::new("model"))?;
    let server = Server::start(Path::new("model/model.bin"), port, Some(&site))?;
    eprintln!("serving at {} — Ctrl-C to stop", server.url());
    server.wait()
}

pub(crate) fn edge_dev(port: u16) -> Result<()> {
    if !Path::new("model/model.bin").exists() {
        eprintln!("model/model.bin is absent: training one first (the Worker compiles it in)");
        sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train"]))?;
        sh(Command::new("target/release/native-train").arg("train"))?;
    }
    ensure_wasm_tools()?;
    ensure_edge_tools()?;
    build_worker(Path::new("model/model.bin"))?;
    step(&format!("wrangler dev on http://127.0.0.1:{port} (Ctrl-C to stop)"));
    let mut wrangler = Wrangler::start(port, None)?;
    let cold = wrangler.wait_healthy(std::time::Duration::from_secs(120))?;
    eprintln!(
        "\nthe Worker answers on http://127.0.0.1:{port} (first 200 after {:.1} s)\n\
         stream to it: target/release/streamer --url http://127.0.0.1:{port}/predict --rate 100",
        cold.as_secs_f64()
    );
    wrangler.wait()
}

pub(crate) fn soak_and_faults(seconds: u64) -> Result<()> {
    step("building the HTTP server, the soak driver and the streamer (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server", "-p", "streamer"]))?;
    soak(Path::new("model"), seconds)?;
    stream_through_a_crash(Path::new("model"))
}

pub(crate) fn bench(runs: usize) -> Result<()> {
    step("building native-train (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train"]))?;
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
