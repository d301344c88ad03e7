//! Installing the tools the commands use, each only when missing or at the
//! wrong version: rustup pieces, wasm-pack, the wasm-bindgen CLI, npm's
//! binaryen, worker-build, the Worker's npm tools, Chromium and playwright-core.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd::{cargo, has, output, sh, step, workspace_root};

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
/// Installs the rustup pieces the tests need, skipping what is present.
pub(crate) fn ensure_rust_tools() -> Result<()> {
    // No answer from rustup reads as "nothing installed": the add below then says what is wrong.
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

/// The wasm-bindgen version Cargo.lock resolved (the CLI must match it exactly).
pub(crate) fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
    let end = lock[start..].find('"').with_context(|| format!("{package}'s version in Cargo.lock is not closed"))?;
    Ok(lock[start..start + end].to_string())
}

pub(crate) fn tools_bin() -> PathBuf {
    workspace_root().join("target/tools/node_modules/.bin")
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

/// `cargo install`s `krate` at `version` unless its binary `bin` already reports that version.
pub(crate) fn ensure_cargo_tool(bin: &str, krate: &str, version: &str, locked: bool) -> Result<()> {
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
pub(crate) fn ensure_wasm_tools() -> Result<()> {
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

/// Installs worker-build and the pinned npm tools of edge-worker/ (wrangler,
/// Node 22, esbuild), each only when missing or at the wrong version.
pub(crate) fn ensure_edge_tools() -> Result<()> {
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

pub(crate) fn esbuild_bin() -> PathBuf {
    edge_dir().join("node_modules/@esbuild/linux-x64/bin/esbuild")
}

/// Installs Debian's Chromium and the pinned playwright-core, skipping what is there.
pub(crate) fn ensure_browser_tools() -> Result<()> {
    step("browser tools");
    if Path::new("/usr/bin/chromium").exists() {
        eprintln!("chromium (Debian): present");
    } else {
        sh(Command::new("apt-get").args(["install", "-y", "chromium"]))?;
    }
    // Absent or unreadable means "not installed": `npm ci` below puts it right.
    let installed = std::fs::read_to_string("web/node_modules/playwright-core/package.json").unwrap_or_default();
    if installed.contains(&format!("\"version\": \"{PLAYWRIGHT_VERSION}\"")) {
        eprintln!("playwright-core {PLAYWRIGHT_VERSION}: present");
    } else {
        sh(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir("web"))?;
    }
    Ok(())
}
