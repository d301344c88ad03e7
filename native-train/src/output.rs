//! Writing what the trainer produces: a run's output folder, and the split
//! files other tools are measured on. Every file is written to a temporary
//! sibling, synced, then renamed over the target: a crash mid-write never
//! leaves a half-written artifact where a server would load it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::data::{write_csv, Dataset};
use crate::pipeline::{Config, Outcome, Source};
use crate::report::{report_html, report_json};
use crate::split::stratified_split;

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
/// The proposed accept / review / refuse bands, as rules every runtime runs.
pub const RULES_FILE: &str = "rules.txt";

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
    let rules = path(RULES_FILE);
    let bands = &outcome.candidates[outcome.selected].bands;
    write_atomic(&rules, |w| w.write_all(bands.rules.as_bytes())).map_err(io_context(&rules))?;
    let html = path(REPORT_HTML_FILE);
    write_atomic(&html, |w| w.write_all(report_html(outcome, cfg, &model_id).as_bytes())).map_err(io_context(&html))?;
    let artifact = path(ARTIFACT_FILE);
    write_atomic(&artifact, |w| w.write_all(&bytes)).map_err(io_context(&artifact))?;
    Ok(Written { artifact, artifact_bytes: bytes.len(), model_id, report_html: html, replay })
}

/// The stratified splits to write for other tools (one `split-SEED.json` each).
#[derive(Clone, Debug)]
pub struct SplitFiles {
    /// One split per seed.
    pub seeds: Vec<u64>,
    /// Fraction of each class held out for validation.
    pub validation_fraction: f64,
    /// Fraction of each class held out for test.
    pub test_fraction: f64,
    /// The folder (created if needed).
    pub out: PathBuf,
}

impl SplitFiles {
    /// Writes each seed's row indices (0-based, into the CSV's data rows) of
    /// `data`, named by `source`, and says so.
    pub fn write(&self, data: &Dataset, source: &Source) -> anyhow::Result<()> {
        use anyhow::Context as _;
        fs::create_dir_all(&self.out).with_context(|| format!("creating {}", self.out.display()))?;
        for &seed in &self.seeds {
            let split = stratified_split(&data.y, self.validation_fraction, self.test_fraction, seed);
            let text = serde_json::to_string(&serde_json::json!({
                "seed": seed,
                "dataset": source.name,
                "dataset_sha256": source.sha256,
                "train": split.train,
                "validation": split.validation,
                "test": split.test,
            }))?;
            let path = self.out.join(format!("split-{seed}.json"));
            write_atomic(&path, |w| w.write_all(text.as_bytes()))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!("wrote {} split(s) of {} rows into {}", self.seeds.len(), data.len(), self.out.display());
        Ok(())
    }
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
