//! Writing the output folder. Every file is written to a temporary sibling,
//! synced, then renamed over the target: a crash mid-write never leaves a
//! half-written artifact where a server would load it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::data::write_csv;
use crate::pipeline::{Config, Outcome};
use crate::report::{report_html, report_json};

/// File names inside the output folder.
pub const ARTIFACT_FILE: &str = "model.bin";
/// The artifact rendered as JSON.
pub const ARTIFACT_JSON_FILE: &str = "model.json";
/// Machine-readable report.
pub const REPORT_JSON_FILE: &str = "report.json";
/// Human-readable report.
pub const REPORT_HTML_FILE: &str = "report.html";
/// The test split in time order, for the streamer and the browser page.
pub const REPLAY_FILE: &str = "replay.csv";

/// The parity golden file: for each row, the probability's f64 bit pattern
/// (16 hex digits), the probability (shortest exact decimal) and the decision.
/// A first `#` line names the model id the scores belong to.
/// `decisions` are the model's own (from `Model::decide_batch`: with a
/// cost-optimal policy they depend on each row's amount).
pub fn golden_csv(model_id: &str, probabilities: &[f64], decisions: &[bool]) -> String {
    let mut out = String::with_capacity(probabilities.len() * 48);
    out.push_str(&format!(
        "# model_id {model_id} rows {}\nrow,probability_bits,probability,is_fraud\n",
        probabilities.len()
    ));
    let mut ryu = ryu::Buffer::new();
    for (i, (&p, &refused)) in probabilities.iter().zip(decisions).enumerate() {
        out.push_str(&format!("{i},{:016x},{},{}\n", p.to_bits(), ryu.format(p), refused as u8));
    }
    out
}

/// Writes `path` atomically through `write` (the `dataset` crate's, shared with the file scorer).
pub use dataset::write_atomic;

/// What was written.
pub struct Written {
    /// The binary artifact's path.
    pub artifact: PathBuf,
    /// Its size in bytes.
    pub artifact_bytes: usize,
    /// The model id of the artifact bytes.
    pub model_id: String,
    /// The report's path.
    pub report_html: PathBuf,
    /// The replay file's path.
    pub replay: PathBuf,
}

fn io_context(path: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes the artifact, its JSON, both reports and the replay file into `dir`
/// (created if needed). The artifact is written last.
pub fn write_outputs(dir: &Path, outcome: &Outcome, cfg: &Config, load_seconds: f64) -> io::Result<Written> {
    fs::create_dir_all(dir).map_err(io_context(dir))?;
    let bytes = outcome.artifact.encode().map_err(io::Error::other)?;
    let model_id = fraud_core::artifact::model_id(&bytes);
    let path = |name: &str| dir.join(name);

    let replay = path(REPLAY_FILE);
    write_atomic(&replay, |w| write_csv(w, &outcome.replay)).map_err(io_context(&replay))?;
    let json = path(ARTIFACT_JSON_FILE);
    write_atomic(&json, |w| {
        serde_json::to_writer_pretty(&mut *w, &outcome.artifact.to_wire())?;
        w.write_all(b"\n")
    })
    .map_err(io_context(&json))?;
    let report = path(REPORT_JSON_FILE);
    write_atomic(&report, |w| {
        serde_json::to_writer_pretty(&mut *w, &report_json(outcome, cfg, &model_id, load_seconds))?;
        w.write_all(b"\n")
    })
    .map_err(io_context(&report))?;
    let html = path(REPORT_HTML_FILE);
    write_atomic(&html, |w| w.write_all(report_html(outcome, cfg, &model_id).as_bytes())).map_err(io_context(&html))?;
    let artifact = path(ARTIFACT_FILE);
    write_atomic(&artifact, |w| w.write_all(&bytes)).map_err(io_context(&artifact))?;
    Ok(Written { artifact, artifact_bytes: bytes.len(), model_id, report_html: html, replay })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.bin");
        write_atomic(&target, |w| w.write_all(b"old")).unwrap();
        let err: io::Result<()> = write_atomic(&target, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "temp file cleaned up: {names:?}");
    }
}
