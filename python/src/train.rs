//! Training in process: the CLI's protocol (`native_train::pipeline::run`) on
//! columns handed over from Python, with the GIL released while it fits.

use std::path::PathBuf;
use std::sync::Arc;

use dataset::table::{ColumnData, TypedTable};
use fraud_core::Costs;
use native_train::data::{sha256_hex, Dataset};
use native_train::pipeline::{self, CandidateKind, Config, Outcome, Source};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::{FraudError, TrainingFailed};

/// A fitted protocol: the selected model's artifact and everything `native-train train` writes.
#[pyclass(module = "fraud_detector._native", frozen)]
pub struct Trained {
    outcome: Arc<Outcome>,
    config: Config,
    artifact: Vec<u8>,
}

#[pymethods]
impl Trained {
    /// The selected model's artifact bytes (`model.bin`).
    fn artifact<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.artifact)
    }

    /// The candidate validation selected.
    #[getter]
    fn selected(&self) -> &'static str {
        self.outcome.candidates[self.outcome.selected].name()
    }

    /// Every candidate fitted, in fit order.
    #[getter]
    fn candidates(&self) -> Vec<&'static str> {
        self.outcome.candidates.iter().map(|c| c.name()).collect()
    }

    /// Seconds per stage of the protocol.
    #[getter]
    fn timings(&self) -> Vec<(&'static str, f64)> {
        self.outcome.timings.iter().map(|(name, d)| (*name, d.as_secs_f64())).collect()
    }

    /// Writes what `native-train train --out DIR` writes: model.bin, model.json, the
    /// reports and the replay file.
    fn save(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        let (outcome, config) = (&self.outcome, &self.config);
        py.detach(|| native_train::output::write_outputs(&dir, outcome, config, 0.0))
            .map(|_| ())
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("cannot write {}: {e}", dir.display())))
    }
}

/// A name for the label that no feature has.
fn label_name(names: &[String]) -> String {
    ["Class", "label", "fraud_label"]
        .into_iter()
        .find(|l| !names.iter().any(|n| n == l))
        .map_or_else(|| format!("label_{}", names.len()), str::to_string)
}

/// Runs the protocol. `kinds[j]` says what `columns[j]` is: "number" (float64, NaN empty),
/// "coded" (float64 numeric-coded categories, NaN empty) or "text" (int64 indices into
/// `dictionaries[j]`, -1 empty). Labels are 0/1.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (names, kinds, columns, dictionaries, labels, amount=None, seed=42, candidates=None, validation_fraction=0.2, test_fraction=0.2))]
pub fn train(
    py: Python<'_>,
    names: Vec<String>,
    kinds: Vec<String>,
    columns: Vec<Bound<'_, PyAny>>,
    dictionaries: Vec<Option<Vec<String>>>,
    labels: PyReadonlyArray1<'_, u8>,
    amount: Option<String>,
    seed: u64,
    candidates: Option<Vec<String>>,
    validation_fraction: f64,
    test_fraction: f64,
) -> PyResult<Trained> {
    if names.len() != columns.len() || kinds.len() != columns.len() || dictionaries.len() != columns.len() {
        return Err(FraudError::new_err("names, kinds, columns and dictionaries must have one entry per feature"));
    }
    let labels = labels.as_array().to_vec();
    if let Some(bad) = labels.iter().find(|&&l| l > 1) {
        return Err(TrainingFailed::new_err(format!("labels must be 0 or 1, found {bad}")));
    }
    let mut data = Vec::with_capacity(columns.len());
    let mut digest = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let wrong_length =
            |len: usize| TrainingFailed::new_err(format!("{}: {len} values for {} labels", names[j], labels.len()));
        let data_column = match kinds[j].as_str() {
            "number" | "coded" => {
                let values = column.extract::<PyReadonlyArray1<'_, f64>>()?.as_array().to_vec();
                if values.len() != labels.len() {
                    return Err(wrong_length(values.len()));
                }
                if let Some(v) = values.iter().find(|v| v.is_infinite()) {
                    return Err(TrainingFailed::new_err(format!("{}: {v} is not a finite number", names[j])));
                }
                digest.extend(values.iter().flat_map(|v| v.to_le_bytes()));
                if kinds[j] == "number" {
                    ColumnData::Numeric(values)
                } else {
                    ColumnData::CodedNumbers(values)
                }
            }
            "text" => {
                let codes = column.extract::<PyReadonlyArray1<'_, i64>>()?.as_array().to_vec();
                if codes.len() != labels.len() {
                    return Err(wrong_length(codes.len()));
                }
                let dictionary = dictionaries[j].clone().unwrap_or_default();
                let values = codes
                    .iter()
                    .map(|&c| match c {
                        -1 => Ok(u32::MAX),
                        c if c >= 0 && (c as usize) < dictionary.len() => Ok(c as u32),
                        c => Err(TrainingFailed::new_err(format!("{}: code {c} outside its dictionary", names[j]))),
                    })
                    .collect::<PyResult<Vec<u32>>>()?;
                digest.extend(values.iter().flat_map(|v| v.to_le_bytes()));
                digest.extend(dictionary.iter().flat_map(|d| d.bytes().chain([0])));
                ColumnData::Text { values, dictionary }
            }
            other => return Err(FraudError::new_err(format!("{}: unknown column kind {other:?}", names[j]))),
        };
        data.push(data_column);
    }
    digest.extend(&labels);
    let label = label_name(&names);
    let table = TypedTable { names: names.clone(), columns: data, labels, ids: None };
    let dataset = Dataset::from_typed(table, &label, None, amount.as_deref())
        .map_err(|e| TrainingFailed::new_err(format!("these columns are not a schema: {e}")))?;
    let candidates = match candidates {
        None => CandidateKind::DEFAULT.to_vec(),
        Some(list) => list
            .iter()
            .map(|name| {
                CandidateKind::from_name(name).ok_or_else(|| {
                    let all: Vec<&str> = CandidateKind::ALL.iter().map(|k| k.name()).collect();
                    TrainingFailed::new_err(format!("unknown candidate {name:?}; choose from {}", all.join(", ")))
                })
            })
            .collect::<PyResult<_>>()?,
    };
    let config = Config {
        seed,
        validation_fraction,
        test_fraction,
        candidates,
        costs: Costs::default_for(&dataset.schema),
        ..Config::default()
    };
    let source = Source { name: "fraud_detector (in process)".into(), sha256: sha256_hex(&digest), synthetic: false };
    drop(digest);
    let outcome = py
        .detach(|| pipeline::run(&dataset, &source, &config, &indicatif::ProgressBar::hidden()))
        .map_err(|e| TrainingFailed::new_err(e.to_string()))?;
    let artifact = outcome
        .artifact
        .encode()
        .map_err(|e| TrainingFailed::new_err(format!("the fitted model cannot be encoded: {e}")))?;
    Ok(Trained { outcome: Arc::new(outcome), config, artifact })
}
