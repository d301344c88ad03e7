//! Running commands: the one place that starts a short-lived process, prints a
//! step header, or reads a tool's output.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs a command, failing with its command line if it fails.
pub(crate) fn sh(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// `cargo build --release --quiet -p …` of the workspace binaries a job runs.
pub(crate) fn build_release(packages: &[&str]) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "--quiet"]);
    for package in packages {
        build.args(["-p", package]);
    }
    sh(&mut build)
}

pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True when `cmd` runs and its output mentions `want` (a version).
pub(crate) fn has(cmd: &mut Command, want: &str) -> bool {
    output(cmd).is_some_and(|v| v.contains(want))
}

/// Where `program` is on PATH, as a shell would find it.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}
