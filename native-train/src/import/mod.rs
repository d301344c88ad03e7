//! `native-train import`: a model trained by XGBoost or LightGBM, read
//! exactly into core's trees, so every runtime serves it as it was — the same
//! margins, bit for bit, and exact TreeSHAP.
//!
//! [`xgboost`] reads XGBoost's JSON ([`json`], read as XGBoost reads it:
//! floats as `float32`) and UBJSON ([`ubjson`]); [`lightgbm`] its text
//! format. Each maps its library's split rule onto core's `x < T` with a
//! threshold chosen so the two agree on every finite `f64` (see their
//! `split_point`s), and its sum onto core's [`fraud_core::LeafSum`].
//! Anything that cannot be reproduced exactly is refused by name.
//!
//! Here: reading a file ([`read_model`]), and the artifact of an imported
//! model without data ([`artifact_of`]); with labelled rows,
//! [`crate::pipeline::run_imported`] calibrates and measures it as `train` does.

use std::path::Path;

use fraud_core::artifact::TreesTraining;
use fraud_core::{
    Artifact, Calibration, CalibrationMethod, DecisionRule, Imported, ModelParams, Policy, Provenance, Schema, Tabular,
    Training, TreeEnsemble, Trees,
};

pub mod command;
pub mod json;
pub mod lightgbm;
pub mod ubjson;
pub mod xgboost;

/// Why a model file cannot be imported (what and where, in words).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError(String);

impl ImportError {
    /// An error with this message.
    pub fn new(message: String) -> ImportError {
        ImportError(message)
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ImportError {}

/// The library a model file comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Library {
    /// XGBoost: JSON or UBJSON (`Booster.save_model("m.json" | "m.ubj")`).
    Xgboost,
    /// LightGBM: the text format (`Booster.save_model("m.txt")`).
    Lightgbm,
}

impl Library {
    /// Its name, as the artifact records it.
    pub fn name(self) -> &'static str {
        match self {
            Library::Xgboost => "xgboost",
            Library::Lightgbm => "lightgbm",
        }
    }
}

/// A model file's trees in core's form, before they are checked and served.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedTrees {
    /// The trees, in core's parameters.
    pub ensemble: TreeEnsemble,
    /// The model's feature names, in column order.
    pub feature_names: Vec<String>,
    /// The library version the file records (empty when it records none).
    pub version: String,
    /// The objective the file names.
    pub objective: String,
    /// The library's probability is `sigmoid(margin_scale · margin)` (LightGBM's `sigmoid:`; 1 for XGBoost).
    pub margin_scale: f64,
    /// Per tree, per leaf (core's leaf index), the library's own leaf id (`pred_leaf`'s value).
    pub leaf_ids: Vec<Vec<u32>>,
}

/// Checks the trees as every runtime will (`Trees::new`): shape, depth, values.
pub fn check(m: &ImportedTrees) -> Result<Trees, ImportError> {
    Trees::new(m.ensemble.clone(), m.feature_names.len())
        .map_err(|e| ImportError::new(format!("the trees cannot be served: {e}")))
}

/// Largest model file read (a 10,000-tree model of 255 leaves is ~200 MB of JSON).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Reads `path` as a `library` model: its trees, and where they came from.
pub fn read_model(path: &Path, library: Library) -> Result<(ImportedTrees, Imported), ImportError> {
    let size = std::fs::metadata(path).map_err(|e| ImportError::new(format!("{}: {e}", path.display())))?.len();
    if size > MAX_FILE_BYTES {
        return Err(ImportError::new(format!(
            "{}: {size} bytes, over the {MAX_FILE_BYTES}-byte limit",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| ImportError::new(format!("{}: {e}", path.display())))?;
    let (trees, format) = read_bytes(&bytes, library, path.extension().and_then(|e| e.to_str()))
        .map_err(|e| ImportError::new(format!("{}: {e}", path.display())))?;
    let imported = Imported {
        library: library.name().to_string(),
        version: trees.version.clone(),
        format: format.to_string(),
        file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        file_sha256: crate::data::sha256_hex(&bytes),
        objective: trees.objective.clone(),
    };
    Ok((trees, imported))
}

/// Reads a model file's bytes; `extension` (`ubj`, `json`) picks XGBoost's format, else its first bytes do.
pub fn read_bytes(
    bytes: &[u8],
    library: Library,
    extension: Option<&str>,
) -> Result<(ImportedTrees, &'static str), ImportError> {
    match library {
        Library::Lightgbm => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| ImportError::new(format!("not a LightGBM text model (not UTF-8: {e})")))?;
            Ok((lightgbm::read(text)?, "text"))
        }
        Library::Xgboost => {
            // UBJSON's object opens with `{` then a key's length marker; JSON's with `{` then space or `"`.
            let ubj = match extension {
                Some("ubj") => true,
                Some("json") => false,
                _ => matches!(bytes.get(1), Some(b'L' | b'i' | b'U' | b'I' | b'l' | b'#' | b'$' | b'}')),
            };
            let doc = if ubj {
                ubjson::parse(bytes).map_err(|e| ImportError::new(format!("not an XGBoost UBJSON model: {e}")))?
            } else {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| ImportError::new(format!("not an XGBoost JSON model (not UTF-8: {e})")))?;
                json::parse(text).map_err(|e| ImportError::new(format!("not an XGBoost JSON model: {e}")))?
            };
            Ok((xgboost::read(&doc)?, if ubj { "ubjson" } else { "json" }))
        }
    }
}

/// How an imported model is served.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Feature names to use instead of the file's (`--features`), in column order.
    pub features: Option<Vec<String>>,
    /// The amount column (default: a feature named `Amount`, else `amount`, else none).
    pub amount: Option<String>,
    /// The label column of labelled rows (and of the schema).
    pub label: String,
    /// The id column, if any.
    pub id: Option<String>,
    /// The decision threshold on the probability (without data).
    pub threshold: f64,
}

/// The schema an imported model serves: its features (the file's names or
/// `--features`), every one of which may be missing but the amount.
pub fn schema_of(m: &ImportedTrees, opts: &ImportOptions) -> Result<Schema, ImportError> {
    let names = match &opts.features {
        Some(names) if names.len() != m.feature_names.len() => {
            return Err(ImportError::new(format!(
                "--features names {} columns, the model has {} features",
                names.len(),
                m.feature_names.len()
            )))
        }
        Some(names) => names.clone(),
        None => m.feature_names.clone(),
    };
    let amount = opts
        .amount
        .clone()
        .or_else(|| ["Amount", "amount"].into_iter().find(|a| names.iter().any(|n| n == a)).map(String::from));
    let schema = Schema::new(names, amount.as_deref(), &opts.label, opts.id.as_deref()).map_err(|e| {
        ImportError::new(format!("the model's features cannot be a schema: {e} (name them with --features a,b,c)"))
    })?;
    let kinds = vec![None; schema.len()];
    schema.with_kinds(kinds, true).map_err(|e| ImportError::new(format!("{e}")))
}

/// The calibration that keeps the library's probability: identity, or
/// LightGBM's `sigmoid:` scale as the slope.
pub fn native_calibration(m: &ImportedTrees) -> Calibration {
    if m.margin_scale == 1.0 {
        Calibration::IDENTITY
    } else {
        Calibration { method: CalibrationMethod::None, slope: m.margin_scale, intercept: 0.0 }
    }
}

/// How the imported trees are described as training (what the file tells).
pub fn training_of(m: &ImportedTrees) -> Training {
    let trees = &m.ensemble.trees;
    Training::Trees(TreesTraining {
        max_leaves: trees.iter().map(|t| t.leaves.len()).max().unwrap_or(0) as u32,
        rounds: trees.len() as u32,
        rounds_run: trees.len() as u32,
        ..TreesTraining::default()
    })
}

/// Who made the model, as the card's trainer line.
pub fn trainer_of(imported: &Imported) -> String {
    let version = if imported.version.is_empty() { String::new() } else { format!(" {}", imported.version) };
    format!("{}{version}, imported by native-train {}", imported.library, env!("CARGO_PKG_VERSION"))
}

/// The artifact of an imported model without data: its trees, the library's
/// probability, a fixed threshold, nothing measured.
pub fn artifact_of(m: &ImportedTrees, imported: &Imported, opts: &ImportOptions) -> Result<Artifact, ImportError> {
    let schema = schema_of(m, opts)?;
    check(m)?;
    if !(0.0..=1.0).contains(&opts.threshold) {
        return Err(ImportError::new(format!("--threshold {} is not a probability in [0, 1]", opts.threshold)));
    }
    let rule = DecisionRule {
        calibration: native_calibration(m),
        policy: Policy::ManualThreshold,
        ..DecisionRule::at_threshold_for(opts.threshold, &schema)
    };
    let artifact = Artifact {
        model_name: format!("{}_imported", imported.library),
        schema,
        rule,
        params: ModelParams::Trees(m.ensemble.clone()),
        training: training_of(m),
        provenance: Provenance {
            dataset: format!("{} ({})", imported.file_name, imported.library),
            class_weights: [1.0, 1.0],
            trainer: trainer_of(imported),
            ..Provenance::default()
        },
        feature_importance: Vec::new(),
        validation: Default::default(),
        test: Default::default(),
        calibration_test: None,
        policies: Vec::new(),
        drift: None,
        tabular: Tabular::default(),
        imported: Some(imported.clone()),
    };
    artifact.model().map_err(|e| ImportError::new(format!("the imported model cannot be served: {e}")))?;
    Ok(artifact)
}
