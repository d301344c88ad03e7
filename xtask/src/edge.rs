//! The Worker under `wrangler dev` (built by `steps` with the model compiled
//! in): started with its log in target/, told apart from a restarted one, and
//! checked against the golden file, the contract cases and the streamer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::checks::golden_files;
use crate::cmd::{output, sh, step};
use crate::processes::{free_port, runtime_processes, wait_healthy, wrangler_dev, Supervised, WranglerConfig};
use crate::tools::edge_bin;

/// A Worker running under `wrangler dev`.
pub(crate) struct DevWorker {
    pub(crate) wrangler: Supervised,
    pub(crate) port: u16,
    inspector_port: u16,
    /// wrangler's output.
    pub(crate) log: PathBuf,
}

/// Which Worker answers: the same values before and after a run mean nothing restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The V8 isolate's id, from the DevTools protocol.
    pub(crate) isolate: String,
    /// The workerd processes, by id and start time.
    pub(crate) runtime: Vec<(u32, u64)>,
}

/// Starts `wrangler dev` on free ports, its output in `target/<log_name>`, and
/// waits for the Worker's first `/health` 200 (printing the log if none comes).
pub(crate) fn start(log_name: &str) -> Result<DevWorker> {
    let (port, inspector_port) = (free_port()?, free_port()?);
    let log = Path::new("target").join(log_name);
    let config = WranglerConfig { port, inspector_port: Some(inspector_port), log: Some(log.clone()) };
    let mut wrangler = wrangler_dev(&config)?;
    let cold = match wait_healthy(&mut wrangler, port, Duration::from_secs(180)) {
        Ok(t) => t,
        Err(e) => {
            match std::fs::read_to_string(&log) {
                Ok(text) => eprintln!("{text}"),
                Err(read) => eprintln!("(wrangler's log {} cannot be read: {read})", log.display()),
            }
            return Err(e);
        }
    };
    eprintln!("wrangler dev: first /health 200 after {:.1} s (pid {})", cold.as_secs_f64(), wrangler.pid());
    Ok(DevWorker { wrangler, port, inspector_port, log })
}

impl DevWorker {
    /// The isolate and runtime processes answering now.
    pub(crate) fn identity(&self) -> Result<Identity> {
        let script = Path::new("xtask/edge/isolate-id.mjs");
        let isolate = output(Command::new(edge_bin("node")).arg(script).arg(self.inspector_port.to_string()))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .context("the Worker's isolate id (through wrangler's inspector) cannot be read")?;
        Ok(Identity { isolate, runtime: runtime_processes(&self.wrangler) })
    }

    /// wrangler's output so far, without terminal colours.
    pub(crate) fn log_text(&self) -> Result<String> {
        let text = std::fs::read_to_string(&self.log).with_context(|| format!("reading {}", self.log.display()))?;
        Ok(strip_ansi(&text))
    }

    /// SIGINT, as Ctrl-C would.
    pub(crate) fn stop(self) -> Result<()> {
        self.wrangler.stop()?;
        eprintln!("wrangler dev stopped (SIGINT)");
        Ok(())
    }
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip to the sequence's final letter.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The Worker vs the golden file and the contract cases, then the streamer against it.
pub(crate) fn check(dir: &Path) -> Result<()> {
    step("edge: the Worker under wrangler dev vs the golden file and the contract cases");
    let worker = start("wrangler-dev.log")?;
    let url = worker.wrangler.url().to_string();
    // Single requests go through wrangler's local proxy at a few hundred per second:
    // a few thousand one by one, every row in batches.
    sh(Command::new("node")
        .arg("parity/http-check.mjs")
        .arg(&url)
        .args(golden_files(dir))
        .args(["--single-limit", "3000"]))?;
    step("edge: the streamer against the Worker");
    sh(Command::new("target/release/streamer")
        .args(["--url", &format!("{url}/predict"), "--data"])
        .arg(dir.join("replay.csv"))
        .args(["--limit", "500", "--concurrency", "4", "--quiet"]))?;
    worker.stop()
}

/// Fails unless `now` is `before`: the same isolate in the same runtime processes.
pub(crate) fn same_worker(before: &Identity, now: &Identity) -> Result<()> {
    if before != now {
        bail!(
            "the Worker was replaced: isolate {} in workerd {:?} before, isolate {} in workerd {:?} now",
            before.isolate,
            before.runtime,
            now.isolate,
            now.runtime
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_colours() {
        assert_eq!(super::strip_ansi("\u{1b}[31m✘ \u{1b}[41;31m[ERROR]\u{1b}[0m x"), "✘ [ERROR] x");
    }
}
