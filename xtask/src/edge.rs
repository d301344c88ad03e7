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
    /// A folder whose `.wrangler/state` is its local state, the D1 decision log
    /// among it (fresh for each start): `wrangler d1 … --local` reads it with a
    /// config file placed here.
    pub(crate) home: PathBuf,
}

/// Which Worker answers: the same values before and after a run mean nothing restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The V8 isolate's id, from the DevTools protocol.
    pub(crate) isolate: String,
    /// The workerd processes, by id and start time.
    pub(crate) runtime: Vec<(u32, u64)>,
}

/// Starts `wrangler dev` on free ports, its output in `target/<log_name>` and an
/// empty D1 log under `target/<log_name>.home/`, and waits for the Worker's first
/// `/health` 200 (printing the log if none comes).
pub(crate) fn start(log_name: &str) -> Result<DevWorker> {
    let (port, inspector_port) = (free_port()?, free_port()?);
    let log = Path::new("target").join(log_name);
    let home = std::path::absolute(Path::new("target").join(format!("{log_name}.home")))?;
    if home.exists() {
        std::fs::remove_dir_all(&home).with_context(|| format!("emptying {}", home.display()))?;
    }
    let state = home.join(".wrangler/state");
    std::fs::create_dir_all(&state)?;
    let config =
        WranglerConfig { port, inspector_port: Some(inspector_port), log: Some(log.clone()), persist_to: Some(state) };
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
    Ok(DevWorker { wrangler, port, inspector_port, log, home })
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

/// The streamer against the Worker, then the Worker vs the golden file and the
/// contract cases; then its D1 log holds every streamed answer.
pub(crate) fn check(dir: &Path) -> Result<()> {
    step("edge: the streamer against the Worker under wrangler dev, its answers logged to D1");
    let worker = start("wrangler-dev.log")?;
    let url = worker.wrangler.url().to_string();
    let outcomes = std::path::absolute("target/edge-outcomes.jsonl")?;
    sh(Command::new("target/release/streamer")
        .args(["--url", &format!("{url}/predict"), "--data"])
        .arg(dir.join("replay.csv"))
        .args(["--limit", "500", "--concurrency", "4", "--quiet", "--outcomes"])
        .arg(&outcomes))?;
    step("edge: the Worker vs the golden file and the contract cases");
    // Single requests go through wrangler's local proxy at a few hundred per second:
    // a few thousand one by one, every row in batches.
    sh(Command::new("node")
        .arg("parity/http-check.mjs")
        .arg(&url)
        .args(golden_files(dir))
        .args(["--single-limit", "3000"]))?;
    let home = worker.home.clone();
    worker.stop()?;
    d1_log_check(&home, &outcomes)?;
    version_dry_run(dir)
}

/// A new model at the edge is a new Worker version: `wrangler versions upload` (then
/// `wrangler versions deploy` for a gradual rollout, see the README). Its dry run builds and
/// checks the version offline; the bundle it would upload must carry this model's artifact.
fn version_dry_run(dir: &Path) -> Result<()> {
    step("edge: `wrangler versions upload --dry-run` — the version a new model becomes, checked offline");
    let artifact = std::fs::read(dir.join("model.bin"))?;
    let id = fraud_core::artifact::model_id(&artifact);
    let outdir = std::path::absolute("target/edge-version")?;
    let _ = std::fs::remove_dir_all(&outdir);
    let tag = format!("model-{}", &id[..12.min(id.len())]);
    let out = crate::processes::wrangler()
        .args(["versions", "upload", "--dry-run", "--tag", &tag, "--message", &format!("fraud model {id}")])
        .arg("--outdir")
        .arg(&outdir)
        .output()
        .context("running wrangler versions upload --dry-run")?;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    anyhow::ensure!(
        out.status.success() && said.contains("--dry-run: exiting now"),
        "wrangler versions upload --dry-run failed:\n{said}"
    );
    let mut carried = false;
    for entry in std::fs::read_dir(&outdir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            carried |= carries(&std::fs::read(&path)?, &artifact);
        }
    }
    anyhow::ensure!(carried, "the version's bundle in {} does not carry the model {id}", outdir.display());
    let size = said.lines().find(|l| l.contains("Total Upload")).unwrap_or("").trim().to_string();
    eprintln!("edge version dry run OK: tag {tag}, the bundle carries model {id} ({size})");
    Ok(())
}

/// Runs an SQL dump (one statement per line or several lines, each ending in `;`) in one
/// transaction — the export is one INSERT per row, each its own fsynced commit otherwise —
/// and in pieces of about a thousand lines: `execute_batch` over the whole 46 MB text takes
/// minutes (each statement rescans what is left), pieces take seconds.
fn load_sql(db: &Path, sql: &str) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch("BEGIN")?;
    let (mut start, mut lines) = (0, 0);
    for (at, _) in sql.match_indices('\n') {
        lines += 1;
        if lines >= 1000 && sql[..at].trim_end().ends_with(';') {
            conn.execute_batch(&sql[start..at])?;
            (start, lines) = (at + 1, 0);
        }
    }
    conn.execute_batch(&sql[start..])?;
    conn.execute_batch("COMMIT")
}

/// Whether `wasm` holds `artifact` as a data segment. wasm-opt drops the artifact's runs of
/// zeros (linear memory starts zeroed), so its other bytes are looked for, in order.
fn carries(wasm: &[u8], artifact: &[u8]) -> bool {
    let mut from = 0;
    let mut pieces = 0;
    for piece in artifact.split(|&b| b == 0).filter(|p| p.len() >= 8) {
        match wasm[from..].windows(piece.len()).position(|w| w == piece) {
            Some(at) => from += at + piece.len(),
            None => return false,
        }
        pieces += 1;
    }
    pieces > 0
}

/// Exports the stopped Worker's D1 log (`wrangler d1 export`), loads it into an
/// SQLite file and opens that as a decision log: every streamed answer is there,
/// with the probability and action it was answered with.
fn d1_log_check(home: &Path, outcomes: &Path) -> Result<()> {
    step("edge: the D1 log, exported, opens as a decision log holding every streamed answer");
    let dump = std::path::absolute("target/edge-d1-export.sql")?;
    // `d1 export --local` reads the state beside its config file (it takes no --persist-to).
    let config = home.join("wrangler.toml");
    std::fs::copy(crate::tools::edge_dir().join("wrangler.toml"), &config)?;
    sh(crate::processes::wrangler()
        .args(["d1", "export", "fraud-decisions", "--local", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(&dump))?;
    let db = std::path::absolute("target/edge-d1-export.db")?;
    for stale in [db.clone(), db.with_extension("db-wal"), db.with_extension("db-shm")] {
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
    }
    let sql = std::fs::read_to_string(&dump).with_context(|| format!("reading {}", dump.display()))?;
    load_sql(&db, &sql).with_context(|| format!("loading {} into {}", dump.display(), db.display()))?;
    let log = decision_log::Log::open(decision_log::Config::new(decision_log::Target::Sqlite(db.clone())))
        .with_context(|| format!("opening the D1 export {} as a decision log", db.display()))?;
    let models = log.models()?;
    let (mut checked, mut wrong) = (0usize, Vec::new());
    let text = std::fs::read_to_string(outcomes).with_context(|| format!("reading {}", outcomes.display()))?;
    for line in text.lines() {
        let o: serde_json::Value = serde_json::from_str(line).with_context(|| format!("an outcome line: {line}"))?;
        let (Some(id), Some(p), Some(action)) =
            (o["id"].as_str(), o["fraud_probability"].as_f64(), o["action"].as_str())
        else {
            bail!("a streamed transaction was not answered: {line}");
        };
        checked += 1;
        match log.decision(id)? {
            Some(v) if v.decision.probability.to_bits() == p.to_bits() && v.decision.action == action => {}
            Some(v) => wrong
                .push(format!("{id}: answered {p} {action}, logged {} {}", v.decision.probability, v.decision.action)),
            None => wrong.push(format!("{id}: answered, not in the log")),
        }
    }
    if checked == 0 || !wrong.is_empty() {
        bail!("the D1 log disagrees with {} of {checked} answers: {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    }
    eprintln!(
        "D1 log: {} decisions by {} model(s); all {checked} streamed answers there, probability bit for bit",
        log.count()?,
        models.len()
    );
    Ok(())
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
