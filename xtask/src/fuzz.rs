//! schemathesis, from each runtime's own `/openapi.json`, with every check:
//! no 5xx, every response conforming to its documented schema and status,
//! invalid requests rejected, valid ones accepted.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::checks::server_with_site;
use crate::cmd::{sh, step};
use crate::tools::{self, venv_bin, Tool, FUZZ_VENV};

fn schemathesis(url: &str) -> Command {
    let mut cmd = Command::new(venv_bin(FUZZ_VENV, "schemathesis"));
    cmd.args(["run", &format!("{url}/openapi.json"), "--checks", "all", "--max-examples", "100", "--seed", "7"])
        .arg("--no-color");
    cmd
}

/// Against the native server with `dir`'s model (serving `site`, as `run` does).
pub(crate) fn native(dir: &Path, site: &Path) -> Result<()> {
    tools::ensure(&[Tool::Schemathesis])?;
    let server = server_with_site(dir, site)?;
    step("API fuzzing: schemathesis from /openapi.json, every check, against the native server");
    sh(&mut schemathesis(server.url()))?;
    server.stop()
}

/// Against the Worker under `wrangler dev`.
pub(crate) fn worker(_dir: &Path) -> Result<()> {
    tools::ensure(&[Tool::Schemathesis])?;
    let worker = crate::edge::start("wrangler-fuzz.log")?;
    step("API fuzzing: schemathesis from /openapi.json, every check, against the Worker under wrangler dev");
    sh(&mut schemathesis(worker.wrangler.url()))?;
    worker.stop()
}
