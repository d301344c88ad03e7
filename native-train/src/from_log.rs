//! `train --from-log`: the training rows rebuilt from what was served — the
//! logged feature values (as received) joined with the labels that arrived
//! later — so a retrain sees exactly what the model saw, not a separately
//! maintained extract (training/serving skew).
//!
//! The rows become a CSV with the logged model's columns (features in its
//! order, its label, its id column if it had one), read by the same loader as
//! any `--data` file: the same rows give the same model.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use contract::log::ModelInfo;
use decision_log::{Config, ExportCounts, Log, Target};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::input::DataChoice;

/// Where and how to read the log.
#[derive(Clone, Debug)]
pub struct FromLog {
    /// A SQLite file or a `postgres://` URL.
    pub target: String,
    /// Unlabelled decisions older than this count as legitimate; younger ones are left out.
    pub maturity_ms: i64,
    /// Export this model's decisions (and those of models with its features); default: the latest decision's.
    pub model: Option<String>,
}

/// What was exported, written to `from-log.json` beside the model.
#[derive(Clone, Debug, Serialize)]
pub struct Exported {
    /// The log (without a password).
    pub log: String,
    /// The model whose columns were exported.
    pub model_id: String,
    /// The maturity window, in days.
    pub maturity_days: f64,
    /// The counts: rows exported by how they were labelled, rows left out and why.
    pub counts: ExportCounts,
    /// SHA-256 of the rebuilt CSV.
    pub sha256: String,
}

pub use contract::log::parse_duration_ms as parse_maturity;

fn csv_field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\n', '\r']) || text.is_empty() || text.trim() != text {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// One logged value as a CSV cell: numbers as received, text CSV-quoted, null empty (missing).
fn cell(out: &mut String, value: Option<&RawValue>) -> Result<(), String> {
    let Some(value) = value else { return Ok(()) };
    let raw = value.get();
    match raw.as_bytes().first() {
        Some(b'"') => {
            let text: String = serde_json::from_str(raw).map_err(|e| e.to_string())?;
            if text.is_empty() {
                out.push_str("\"\"");
            } else {
                csv_field(out, &text);
            }
        }
        Some(b'n') => {}
        Some(b't') => out.push_str("true"),
        Some(b'f') => out.push_str("false"),
        _ => out.push_str(raw),
    }
    Ok(())
}

fn header(info: &ModelInfo) -> String {
    let mut line = String::new();
    for (i, name) in info.features.iter().chain([&info.label]).chain(info.id_column.as_ref()).enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_field(&mut line, name);
    }
    line.push('\n');
    line
}

/// Writes the log's training rows to `csv`; returns the model they belong to and the counts.
pub fn export(from: &FromLog, csv: &Path, now_ms: i64) -> Result<(ModelInfo, Exported)> {
    let target = Target::parse(&from.target);
    let shown = target.shown();
    let log = Log::open(Config::new(target)).with_context(|| format!("cannot open the decision log {shown}"))?;
    let file = std::fs::File::create(csv).with_context(|| format!("cannot write {}", csv.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut wrote_header = false;
    let mut line = String::new();
    let mut write = |bytes: &[u8]| -> Result<(), String> {
        sha2::Digest::update(&mut hasher, bytes);
        writer.write_all(bytes).map_err(|e| format!("cannot write {}: {e}", csv.display()))
    };
    let progress = indicatif::ProgressBar::new_spinner().with_message("reading the decision log");
    let (info, counts) = log
        .export(from.model.as_deref(), from.maturity_ms, now_ms, &mut |info, row| {
            if !wrote_header {
                write(header(info).as_bytes())?;
                wrote_header = true;
            }
            let fields: std::collections::HashMap<std::borrow::Cow<'_, str>, &RawValue> =
                serde_json::from_str(row.features)
                    .map_err(|e| format!("decision {}: its features are not a JSON object: {e}", row.id))?;
            line.clear();
            for name in &info.features {
                cell(&mut line, fields.get(name.as_str()).copied())
                    .map_err(|e| format!("decision {}, {name}: {e}", row.id))?;
                line.push(',');
            }
            line.push_str(if row.fraud { "1" } else { "0" });
            if info.id_column.is_some() {
                line.push(',');
                csv_field(&mut line, row.id);
            }
            line.push('\n');
            progress.inc(1);
            write(line.as_bytes())
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("exporting the decision log {shown}"))?;
    progress.finish_and_clear();
    if !wrote_header {
        write(header(&info).as_bytes()).map_err(anyhow::Error::msg)?;
    }
    writer.flush().with_context(|| format!("cannot write {}", csv.display()))?;
    let sha256: String = sha2::Digest::finalize(hasher).iter().map(|b| format!("{b:02x}")).collect();
    let exported = Exported {
        log: shown,
        model_id: info.model_id.clone(),
        maturity_days: from.maturity_ms as f64 / 86_400_000.0,
        counts,
        sha256,
    };
    Ok((info, exported))
}

/// The data choice that reads the exported CSV with the logged model's columns.
pub fn choice(info: &ModelInfo, csv: PathBuf, base: &DataChoice) -> DataChoice {
    DataChoice {
        path: Some(csv),
        label: Some(info.label.clone()),
        features: Some(info.features.clone()),
        id: info.id_column.clone(),
        amount: info.amount.clone(),
        categorical: info.categorical.clone(),
        synthetic: base.synthetic,
    }
}

/// The log's training rows, loaded as any `--data` file is (through a temporary CSV in `dir`,
/// removed once read), their provenance naming the log; and what was exported.
pub fn load(from: &FromLog, base: &DataChoice, dir: &Path, now_ms: i64) -> Result<(crate::input::Input, Exported)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let csv = tempfile::Builder::new()
        .prefix(".from-log-")
        .suffix(".csv")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?
        .into_temp_path();
    let (info, exported) = export(from, &csv, now_ms)?;
    let c = &exported.counts;
    tracing::info!(
        log = %exported.log,
        model_id = %exported.model_id,
        decisions = c.decisions,
        fraud = c.fraud,
        legitimate_labelled = c.legitimate_labelled,
        legitimate_matured = c.legitimate_matured,
        left_out_young_unlabelled = c.young_unlabelled,
        left_out_other_schema = c.other_schema,
        "training rows rebuilt from the decision log"
    );
    check(&exported)?;
    let mut input = crate::input::load(&choice(&info, csv.to_path_buf(), base))?;
    input.source = crate::pipeline::Source {
        name: format!(
            "decision log {} (model {}, maturity {} d)",
            exported.log, exported.model_id, exported.maturity_days
        ),
        sha256: exported.sha256.clone(),
        synthetic: false,
    };
    Ok((input, exported))
}

/// Refuses an export without both classes (nothing to train on), naming the counts.
pub fn check(exported: &Exported) -> Result<()> {
    let c = &exported.counts;
    let legitimate = c.legitimate_labelled + c.legitimate_matured;
    if c.fraud == 0 || legitimate == 0 {
        bail!(
            "the decision log {} gives {} fraud and {legitimate} legitimate rows ({} decisions; {} unlabelled and \
             younger than the maturity window, {} by models with other features): training needs both classes",
            exported.log,
            c.fraud,
            c.decisions,
            c.young_unlabelled,
            c.other_schema
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_numbers_as_received_and_quote_text() {
        let mut out = String::new();
        for v in [r#"1.50"#, r#""a,b""#, "null", r#""""#, r#""say \"hi\"""#, "2e-3"] {
            let raw = RawValue::from_string(v.to_string()).unwrap();
            cell(&mut out, Some(&raw)).unwrap();
            out.push('|');
        }
        assert_eq!(out, r#"1.50|"a,b"||""|"say ""hi"""|2e-3|"#);
    }
}
