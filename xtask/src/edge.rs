//! The Worker under `wrangler dev` (built by `steps` with the model compiled
//! in): started with its log in target/, checked against the golden file, the
//! contract cases and the streamer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::checks::golden_files;
use crate::cmd::{sh, step};
use crate::processes::{free_port, wait_healthy, wrangler_dev, Supervised};

/// A Worker running under `wrangler dev`, with where its output goes.
pub(crate) struct DevWorker {
    pub(crate) wrangler: Supervised,
    pub(crate) log: PathBuf,
}

/// Starts `wrangler dev` on a free port, its output in `target/<log_name>`, and
/// waits for the Worker's first `/health` 200 (printing the log if none comes).
pub(crate) fn start(log_name: &str) -> Result<DevWorker> {
    let port = free_port()?;
    let log = Path::new("target").join(log_name);
    let mut wrangler = wrangler_dev(port, Some(&log))?;
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
    Ok(DevWorker { wrangler, log })
}

impl DevWorker {
    /// SIGINT, as Ctrl-C would.
    pub(crate) fn stop(self) -> Result<()> {
        self.wrangler.stop()?;
        eprintln!("wrangler dev stopped (SIGINT)");
        Ok(())
    }
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
