//! `fraud_detector._native`: the Python package's compiled half.
//!
//! Why a binding and not a re-implementation: a data scientist's notebook must
//! score, explain and decide with exactly the function the server, the browser and
//! the Worker run, so every number here comes from `fraud_core` (and training from
//! `native_train`'s protocol). This module only moves values across the boundary:
//! columns in (numpy arrays, or Python objects for text), core's rows inside, core's
//! answers out — the server's response bodies (the `contract` crate's types) as JSON
//! text, which the Python half turns into dicts. The Python half
//! (`python/fraud_detector/`) maps DataFrames to columns by name and holds the
//! scikit-learn estimator.
//!
//! Errors are `fraud_detector` exceptions carrying core's code: `InvalidInput`
//! (`.code`, `.fields`, `.row`), `InvalidModel`, `TrainingFailed`; all are
//! `ValueError`s.

use std::path::PathBuf;

use contract::{contribution_bodies, BatchResult, ExpectedBenefit, VerdictBody};
use fraud_core::rules::RulesFiles;
use fraud_core::validate::{feature_value, IssueKind};
use fraud_core::{validate_row, Action, Artifact, BatchError, ErrorCode, Loaded, Model, RawValue, RuleSet, Verdict};
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

mod train;

pyo3::create_exception!(_native, FraudError, PyValueError, "Any error of fraud_detector (a ValueError).");
pyo3::create_exception!(
    _native,
    InvalidInput,
    FraudError,
    "Rows the model cannot score: `.code` is core's error code (as the server answers), \
     `.fields` the offending columns, `.row` the first offending row (0-based) or None."
);
pyo3::create_exception!(_native, InvalidModel, FraudError, "A model file or bytes core refuses to load.");
pyo3::create_exception!(_native, TrainingFailed, FraudError, "The trainer could not fit a model on this data.");

/// An `InvalidInput` with its attributes.
fn invalid_input(py: Python<'_>, code: ErrorCode, message: String, fields: Vec<String>, row: Option<usize>) -> PyErr {
    let err = InvalidInput::new_err(message.clone());
    let value = err.value(py);
    // Setting attributes on a fresh exception object cannot fail in practice; if it did,
    // the exception still carries its message.
    let _ = value.setattr("code", code.as_str());
    let _ = value.setattr("fields", fields);
    let _ = value.setattr("row", row);
    let _ = value.setattr("message", message);
    err
}

/// A loaded model: core's checks passed; scores, explains and decides.
#[pyclass(module = "fraud_detector._native", frozen)]
struct NativeModel {
    loaded: Loaded,
    bytes: Vec<u8>,
    rules: Option<RuleSet>,
}

/// How a column arrives: a float64 array (NaN: missing) or Python objects.
enum Column<'py> {
    Numbers(PyReadonlyArray1<'py, f64>),
    Objects(Vec<Bound<'py, PyAny>>),
}

/// A column ready for rows: numbers as given, or values core already mapped.
enum Values<'a> {
    Raw(std::borrow::Cow<'a, [f64]>),
    Coded(Vec<f64>),
}

impl<'py> Column<'py> {
    fn of(column: &Bound<'py, PyAny>) -> PyResult<Column<'py>> {
        if let Ok(a) = column.extract::<PyReadonlyArray1<'py, f64>>() {
            return Ok(Column::Numbers(a));
        }
        let items: Vec<Bound<'py, PyAny>> = column.try_iter()?.collect::<PyResult<_>>()?;
        Ok(Column::Objects(items))
    }

    fn len(&self) -> usize {
        match self {
            Column::Numbers(a) => a.len(),
            Column::Objects(v) => v.len(),
        }
    }
}

/// A Python value as core reads a JSON value: None is null, str is text, a bool is
/// not a number (as JSON `true`), an int or float a number.
fn raw_of<'a>(value: &'a Bound<'_, PyAny>, text: &'a mut Option<String>) -> RawValue<'a> {
    if value.is_none() {
        return RawValue::Null;
    }
    if value.is_instance_of::<PyBool>() {
        return RawValue::NotNumber("boolean");
    }
    if let Ok(s) = value.cast::<PyString>() {
        return match s.to_cow() {
            Ok(t) => {
                *text = Some(t.into_owned());
                RawValue::Text(text.as_deref().unwrap_or_default())
            }
            Err(_) => RawValue::NotNumber("string"),
        };
    }
    if value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>() {
        return match value.extract::<f64>() {
            Ok(v) => RawValue::Number(v),
            Err(_) => RawValue::NotNumber("number"),
        };
    }
    // numpy scalars and the like: whatever converts to a float is a number.
    match value.extract::<f64>() {
        Ok(v) => RawValue::Number(v),
        Err(_) => RawValue::NotNumber("object"),
    }
}

/// The code core gives a set of issues: the kind's own when all agree, else `invalid_fields`.
fn code_of(issues: &[(String, IssueKind)]) -> ErrorCode {
    match issues.first() {
        Some((_, first)) if issues.iter().all(|(_, k)| k == first) => first.code(),
        _ => ErrorCode::InvalidFields,
    }
}

impl NativeModel {
    fn model(&self) -> &Model {
        &self.loaded.model
    }

    /// One value as core holds it: a NaN is a DataFrame's empty cell, read as JSON's
    /// `null` is: a missing value where the feature accepts them, else `non_numeric`.
    fn number(&self, j: usize, v: f64) -> Result<f64, IssueKind> {
        let raw = if v.is_nan() { RawValue::Null } else { RawValue::Number(v) };
        feature_value(self.model().schema(), j, raw)
    }

    /// Columns in schema order, read for core: numeric ones as they are (checked when
    /// rows are filled, without the GIL), object ones through core's `feature_value` now
    /// (they need the GIL). The first offending row is an `InvalidInput` naming all its
    /// bad fields.
    fn columns<'py>(&self, py: Python<'py>, columns: &[Bound<'py, PyAny>]) -> PyResult<(Vec<Column<'py>>, usize)> {
        let schema = self.model().schema();
        let width = schema.len();
        if columns.len() != width {
            return Err(shape_error(py, format!("{} columns given, the model takes {width}", columns.len())));
        }
        let raw: Vec<Column<'py>> = columns.iter().map(Column::of).collect::<PyResult<_>>()?;
        let n = raw.first().map_or(0, Column::len);
        if let Some((j, c)) = raw.iter().enumerate().find(|(_, c)| c.len() != n) {
            return Err(invalid_input(
                py,
                ErrorCode::InvalidFields,
                format!("column {} has {} values, the first has {n}", schema.name(j), c.len()),
                vec![schema.name(j).to_string()],
                None,
            ));
        }
        Ok((raw, n))
    }

    /// The columns as rows are filled from them (see [`NativeModel::columns`]).
    fn values<'a>(&self, py: Python<'_>, raw: &'a [Column<'_>], n: usize) -> PyResult<Vec<Values<'a>>> {
        let schema = self.model().schema();
        let mut first_bad = None;
        let mut values = Vec::with_capacity(raw.len());
        for (j, column) in raw.iter().enumerate() {
            values.push(match column {
                // A strided column (a slice of a matrix) is copied once to be read contiguously.
                Column::Numbers(a) => {
                    Values::Raw(a.as_slice().map_or_else(|_| a.as_array().to_vec().into(), Into::into))
                }
                Column::Objects(items) => {
                    let mut coded = vec![0.0; n];
                    for (i, item) in items.iter().enumerate() {
                        let mut text = None;
                        match feature_value(schema, j, nan_as_missing(raw_of(item, &mut text))) {
                            Ok(x) => coded[i] = x,
                            Err(_) => {
                                first_bad = min_some(first_bad, Some(i));
                                break;
                            }
                        }
                    }
                    Values::Coded(coded)
                }
            });
        }
        match first_bad {
            // The first offending row of all columns: a numeric one may fail earlier.
            Some(i) => {
                let earlier = values
                    .iter()
                    .enumerate()
                    .filter_map(|(j, v)| match v {
                        Values::Raw(r) => r[..i].iter().position(|&x| self.number(j, x).is_err()),
                        Values::Coded(_) => None,
                    })
                    .min();
                Err(self.row_error(py, raw, earlier.map_or(i, |e| e.min(i))))
            }
            None => Ok(values),
        }
    }

    /// Fills `out` (rows `start..start + out.len() / width`, row-major) from the columns,
    /// mapping categories and missing values through core's `feature_value`; `Err(row)`
    /// names the first row it refuses. Plain numbers are left to core's row check.
    fn fill(&self, columns: &[Values<'_>], start: usize, out: &mut [f64]) -> Result<(), usize> {
        /// How a column's value becomes core's.
        enum Read<'c> {
            /// Already core's (mapped under the GIL).
            Ready(&'c [f64]),
            /// A plain number (no categories, no missing values): copied; core checks it
            /// (`score_batch`'s fused check, or `validate_row`).
            Plain(&'c [f64]),
            /// Through `feature_value` (categories, missing values).
            Mapped(&'c [f64]),
        }
        let schema = self.model().schema();
        let width = schema.len();
        let rows = out.len() / width.max(1);
        let reads: Vec<(usize, Read<'_>)> = columns
            .iter()
            .enumerate()
            .map(|(j, values)| {
                let read = match values {
                    Values::Coded(v) => Read::Ready(&v[start..start + rows]),
                    Values::Raw(v) if schema.categories(j).is_none() && !schema.may_be_missing(j) => {
                        Read::Plain(&v[start..start + rows])
                    }
                    Values::Raw(v) => Read::Mapped(&v[start..start + rows]),
                };
                (j, read)
            })
            .collect();
        // Column by column within the block (which stays in cache), each column a sequential read.
        let mut bad: Option<usize> = None;
        for (j, read) in &reads {
            let j = *j;
            match read {
                Read::Ready(v) | Read::Plain(v) => {
                    for (i, &x) in v.iter().enumerate() {
                        out[i * width + j] = x;
                    }
                }
                Read::Mapped(v) => {
                    for (i, &x) in v.iter().enumerate() {
                        match self.number(j, x) {
                            Ok(x) => out[i * width + j] = x,
                            Err(_) => {
                                bad = min_some(bad, Some(i));
                                break;
                            }
                        }
                    }
                }
            }
        }
        bad.map_or(Ok(()), |i| Err(start + i))
    }

    /// Every row as core's row-major matrix (for decisions and explanations).
    fn rows(&self, py: Python<'_>, columns: &[Bound<'_, PyAny>]) -> PyResult<(Vec<f64>, usize)> {
        let (raw, n) = self.columns(py, columns)?;
        let values = self.values(py, &raw, n)?;
        let schema = self.model().schema();
        let mut rows = vec![0.0; n * schema.len()];
        py.detach(|| {
            self.fill(&values, 0, &mut rows)?;
            match rows.chunks_exact(schema.len()).position(|row| validate_row(schema, row).is_err()) {
                Some(i) => Err(i),
                None => Ok(()),
            }
        })
        .map_err(|i| self.row_error(py, &raw, i))?;
        Ok((rows, n))
    }

    /// The `InvalidInput` for row `i`: every offending field of that row.
    fn row_error(&self, py: Python<'_>, raw: &[Column<'_>], i: usize) -> PyErr {
        let schema = self.model().schema();
        let issues: Vec<(String, IssueKind)> = raw
            .iter()
            .enumerate()
            .filter_map(|(j, c)| {
                let checked = match c {
                    Column::Numbers(a) => self.number(j, a.as_array()[i]),
                    Column::Objects(items) => {
                        let mut text = None;
                        feature_value(schema, j, nan_as_missing(raw_of(&items[i], &mut text)))
                    }
                };
                checked.err().map(|kind| (schema.name(j).to_string(), kind))
            })
            .collect();
        let shown: Vec<String> = issues.iter().map(|(f, k)| format!("{f} ({})", k.label())).collect();
        invalid_input(
            py,
            code_of(&issues),
            format!("row {i}: invalid transaction: {}", shown.join(", ")),
            issues.into_iter().map(|(f, _)| f).collect(),
            Some(i),
        )
    }

    fn verdict(&self, row: &[f64], id: Option<&str>, probability: f64, is_fraud: bool) -> Verdict {
        match &self.rules {
            Some(r) => r.verdict(self.model(), row, id, probability, is_fraud),
            None => Verdict { action: Action::of_model(is_fraud), rule: None, shadow: Default::default() },
        }
    }
}

/// A float NaN among Python objects is an empty cell, as in a numeric column.
fn nan_as_missing(raw: RawValue<'_>) -> RawValue<'_> {
    match raw {
        RawValue::Number(v) if v.is_nan() => RawValue::Null,
        other => other,
    }
}

/// An `InvalidInput` about the call's shape (no field, no row).
fn shape_error(py: Python<'_>, message: String) -> PyErr {
    invalid_input(py, ErrorCode::InvalidFields, message, Vec::new(), None)
}

/// An `InvalidInput` for a batch error core reports without a row of ours.
fn batch_error(py: Python<'_>, e: &BatchError) -> PyErr {
    invalid_input(py, e.code(), e.to_string(), Vec::new(), None)
}

fn min_some(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| FraudError::new_err(format!("cannot write the answer as JSON: {e}")))
}

#[pymethods]
impl NativeModel {
    /// Loads a model from an artifact's bytes (core's decoder and checks).
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<NativeModel> {
        let loaded = Artifact::load(bytes).map_err(|e| InvalidModel::new_err(format!("not a usable model: {e}")))?;
        Ok(NativeModel { loaded, bytes: bytes.to_vec(), rules: None })
    }

    /// The same model deciding with a rules file (and its lists folder), as `--rules` does.
    #[pyo3(signature = (rules, lists=None))]
    fn with_rules(&self, rules: PathBuf, lists: Option<PathBuf>) -> PyResult<NativeModel> {
        let files = RulesFiles { rules, lists };
        let set = files.load(self.model().schema()).map_err(|e| InvalidModel::new_err(format!("{e}")))?;
        Ok(NativeModel { loaded: self.loaded.clone(), bytes: self.bytes.clone(), rules: Some(set) })
    }

    /// The artifact's bytes (what `model.bin` holds).
    fn artifact<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.bytes)
    }

    /// The model id every runtime reports (a digest of the artifact's bytes).
    #[getter]
    fn model_id(&self) -> &str {
        &self.loaded.id
    }

    #[getter]
    fn name(&self) -> &str {
        self.model().name()
    }

    /// Feature names in schema order.
    #[getter]
    fn features(&self) -> Vec<String> {
        self.model().schema().features().to_vec()
    }

    /// Per feature: "number", "text" (text categories) or "coded" (numeric-coded categories).
    #[getter]
    fn kinds(&self) -> Vec<&'static str> {
        let schema = self.model().schema();
        (0..schema.len())
            .map(|j| match schema.categories(j) {
                None => "number",
                Some(c) if c.is_text() => "text",
                Some(_) => "coded",
            })
            .collect()
    }

    /// Whether empty cells (None, NaN) are missing values rather than errors.
    #[getter]
    fn accepts_missing(&self) -> bool {
        self.model().schema().accepts_missing()
    }

    #[getter]
    fn id_column(&self) -> Option<String> {
        self.model().schema().id().map(str::to_string)
    }

    #[getter]
    fn threshold(&self) -> f64 {
        self.model().threshold()
    }

    /// The rule set's version, when deciding with rules.
    #[getter]
    fn ruleset(&self) -> Option<String> {
        self.rules.as_ref().map(|r| r.version().to_string())
    }

    /// Calibrated probabilities of fraud, one per row; `columns` in schema order. Rows are
    /// assembled and scored a block at a time with the GIL released: the block stays in
    /// cache between its filling and its scoring, and no whole row-major copy is made.
    fn score<'py>(&self, py: Python<'py>, columns: Vec<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        // Rows per block: 128 rows of 30 features are 30 KB, L1-sized (64 to 1,024 measured alike).
        let block_rows: usize = 128;
        let (raw, n) = self.columns(py, &columns)?;
        let values = self.values(py, &raw, n)?;
        let model = self.model();
        let width = model.width();
        let mut out = vec![0.0; n];
        let scored = py.detach(|| {
            let mut block = vec![0.0; block_rows * width];
            for (k, chunk) in out.chunks_mut(block_rows).enumerate() {
                let rows = &mut block[..chunk.len() * width];
                self.fill(&values, k * block_rows, rows).map_err(Ok)?;
                model.score_batch(rows, chunk).map_err(|e| match e {
                    BatchError::BadRow { row, .. } => Ok(k * block_rows + row),
                    other => Err(other),
                })?;
            }
            Ok(())
        });
        match scored {
            Ok(()) => Ok(PyArray1::from_vec(py, out)),
            Err(Ok(row)) => Err(self.row_error(py, &raw, row)),
            Err(Err(e)) => Err(batch_error(py, &e)),
        }
    }

    /// Probabilities of a row-major float64 matrix of a model without categorical
    /// features: scored in place, without a copy, with the GIL released.
    fn score_matrix<'py>(&self, py: Python<'py>, x: PyReadonlyArray2<'py, f64>) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let model = self.model();
        let width = model.width();
        let shape = x.shape();
        if shape[1] != width {
            return Err(shape_error(py, format!("X has {} features, the model takes {width}", shape[1])));
        }
        let Ok(rows) = x.as_slice() else {
            return Err(FraudError::new_err("score_matrix takes a C-contiguous array"));
        };
        let mut out = vec![0.0; shape[0]];
        if model.schema().has_categorical() || model.schema().accepts_missing() {
            // Categories and missing values need core's per-value mapping: by columns.
            return Err(FraudError::new_err("score_matrix takes a model without categorical or missing values"));
        }
        match py.detach(|| model.score_batch(rows, &mut out)) {
            Ok(()) => Ok(PyArray1::from_vec(py, out)),
            Err(BatchError::BadRow { row, error }) => {
                let fields: Vec<String> = error.issues.iter().map(|i| i.field.clone()).collect();
                Err(invalid_input(py, error.code(), format!("row {row}: {error}"), fields, Some(row)))
            }
            Err(e) => Err(batch_error(py, &e)),
        }
    }

    /// The server's batch results for these rows (JSON text of a list): probability,
    /// the model's decision, the action (rules first, when set), the deciding and shadow
    /// rules, the expected benefit in money, and with `k` the k largest contributions.
    #[pyo3(signature = (columns, ids=None, k=None))]
    fn decide(
        &self,
        py: Python<'_>,
        columns: Vec<Bound<'_, PyAny>>,
        ids: Option<Vec<Option<String>>>,
        k: Option<usize>,
    ) -> PyResult<String> {
        let (rows, n) = self.rows(py, &columns)?;
        if let Some(ids) = &ids {
            if ids.len() != n {
                return Err(shape_error(py, format!("{} ids for {n} rows", ids.len())));
            }
        }
        let model = self.model();
        let width = model.width();
        let results = py.detach(|| {
            let mut results = Vec::with_capacity(n);
            for (i, row) in rows.chunks_exact(width.max(1)).enumerate().take(n) {
                let t = model.transaction(row)?;
                let p = model.predict(&t);
                let id = ids.as_ref().and_then(|ids| ids[i].clone());
                let verdict = self.verdict(t.values(), id.as_deref(), p.probability, p.is_fraud);
                let decided = VerdictBody::of(self.rules.as_ref(), &verdict);
                results.push(BatchResult {
                    id: id.map(serde_json::Value::String),
                    fraud_probability: p.probability,
                    is_fraud: p.is_fraud,
                    action: decided.action,
                    rule: decided.rule,
                    shadow_rules: decided.shadow_rules,
                    expected_benefit: ExpectedBenefit::of(&p, model),
                    contributions: k.map(|k| contribution_bodies(model.explain(&t, k))),
                    logged_id: None,
                });
            }
            Ok::<_, BatchError>(results)
        });
        let results = results.map_err(|e| batch_error(py, &e))?;
        json(&results)
    }

    /// Exact contributions per row (JSON text of a list of `{contributions, base_value}`):
    /// the k largest, largest magnitude first, as `/predict?explain=k` answers; all of
    /// them plus `base_value` make the logit.
    fn explain(&self, py: Python<'_>, columns: Vec<Bound<'_, PyAny>>, k: usize) -> PyResult<String> {
        let (rows, n) = self.rows(py, &columns)?;
        let model = self.model();
        let width = model.width();
        let base_value = model.base_value();
        let out = py.detach(|| {
            rows.chunks_exact(width.max(1))
                .take(n)
                .map(|row| {
                    let t = model.transaction(row)?;
                    Ok(serde_json::json!({
                        "contributions": contribution_bodies(model.explain(&t, k)),
                        "base_value": base_value,
                    }))
                })
                .collect::<Result<Vec<_>, BatchError>>()
        });
        let out = out.map_err(|e| batch_error(py, &e))?;
        json(&out)
    }

    /// The model card (JSON text): what `GET /model` and the report say about the model.
    fn card(&self) -> PyResult<String> {
        json(&self.loaded.artifact.card(self.model()))
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<NativeModel>()?;
    m.add_class::<train::Trained>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add("FraudError", py.get_type::<FraudError>())?;
    m.add("InvalidInput", py.get_type::<InvalidInput>())?;
    m.add("InvalidModel", py.get_type::<InvalidModel>())?;
    m.add("TrainingFailed", py.get_type::<TrainingFailed>())?;
    m.add("CORE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
