//! The versioned model artifact: what the trainer writes and every runtime loads.
//!
//! Layout (all integers little-endian):
//!
//! | bytes        | content                                      |
//! |--------------|----------------------------------------------|
//! | 0..8         | magic `FRAUDMDL` ([`MAGIC`])                 |
//! | 8..10        | format version (`u16`, [`FORMAT_VERSION`] when written; [`Loaded::format_version`] when read) |
//! | 10..14       | payload length `n` (`u32`, at most [`MAX_PAYLOAD`]) |
//! | 14..14+n     | payload: [`ArtifactV6`] in bincode (v5, v4, v3, v2, v1: [`ArtifactV5`], [`ArtifactV4`], [`ArtifactV3`], [`ArtifactV2`], [`ArtifactV1`]) |
//! | 14+n..18+n   | CRC-32 (IEEE) of bytes `0..14+n`             |
//!
//! Decoding checks, in order: length, magic, version, declared length, checksum,
//! payload, then the model itself (schema and parameters). Each failure has its
//! own [`ArtifactError`]. The format is plain data — loading never executes
//! anything, unlike a pickle — and the payload decoder has a hard allocation limit.
//!
//! [`Artifact`] is the internal value; the bytes are the explicit wire types of
//! [`crate::wire`], mapped by hand. Version 4 adds the training file's label,
//! id and amount columns, so the schema is whatever the model was trained on;
//! version 3 added the decision rule (calibration, policy, costs) and the
//! money figures. Version 3, 2 (any kind, an uncalibrated F1 threshold) and 1
//! (logistic only) files still load, with the Kaggle file's schema and the
//! rule they were served with.
//!
//! Here: the internal types, and loading and encoding. Beside it: `frame.rs`
//! (the bytes around the payload, CRC-32, [`model_id`], [`ArtifactError`]),
//! `convert.rs` (internal ⇄ wire, `From`/`TryFrom`), `card.rs`
//! ([`Artifact::card`]), `file.rs` (`read_file`, with `std`); the example
//! artifacts are `crate::test_support`'s.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::decision::{DecisionRule, Policy, Tally};
use crate::drift::DriftReference;
use crate::error::ModelError;
use crate::logistic::{Column, Expansion, Logistic, LogisticWeights};
use crate::model::{Model, ModelKind, Scorer};
use crate::scaler::Scaler;
use crate::schema::{self, Schema};
use crate::trees::{TreeEnsemble, Trees};
use crate::wire::{ArtifactV1, ArtifactV2, ArtifactV3, ArtifactV4, ArtifactV5, ArtifactV6, ArtifactV6Tail};

mod card;
mod convert;
#[cfg(feature = "std")]
mod file;
mod frame;
#[cfg(test)]
mod tests;

pub use convert::costs_from_wire;
#[cfg(feature = "std")]
pub use file::{read_file, ReadError};
pub use frame::{
    crc32, model_id, ArtifactError, PayloadError, FORMAT_VERSION, LEGACY_VERSION, MAGIC, MAX_PAYLOAD, VERSION_2,
    VERSION_3, VERSION_4, VERSION_5,
};
use frame::{decode_payload, decode_prefix, seal, unframe};

/// Evaluation figures of one model on one split, at its chosen threshold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Decision threshold the counts below were taken at.
    pub threshold: f64,
    /// TP / (TP + FP); 0 when nothing is flagged.
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Average precision (area under the PR curve, scikit-learn's step definition).
    pub average_precision: f64,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Frauds flagged.
    pub true_positives: u64,
    /// Legitimate transactions flagged.
    pub false_positives: u64,
    /// Legitimate transactions passed.
    pub true_negatives: u64,
    /// Frauds missed.
    pub false_negatives: u64,
}

/// Where a model came from: enough to reproduce it (with [`Training`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// Data source, e.g. `data/creditcard.csv` or `synthetic(rows=284807, fraud_rate=0.00172, seed=7)`.
    pub dataset: String,
    /// SHA-256 of the CSV bytes trained on (hex).
    pub dataset_sha256: String,
    /// True when trained on generated data.
    pub synthetic: bool,
    /// Rows in the dataset.
    pub rows_total: u64,
    /// Frauds in the dataset.
    pub frauds_total: u64,
    /// Rows in the train split (before resampling).
    pub rows_train: u64,
    /// Rows in the validation split.
    pub rows_validation: u64,
    /// Rows in the test split.
    pub rows_test: u64,
    /// Rows the model was fitted on (after SMOTE, if any).
    pub rows_fitted: u64,
    /// Split seed.
    pub seed: u64,
    /// Fraction of rows in train.
    pub train_fraction: f64,
    /// Fraction of rows in validation.
    pub validation_fraction: f64,
    /// Fraction of rows in test.
    pub test_fraction: f64,
    /// SMOTE neighbours (0 when the model did not use SMOTE).
    pub smote_k: u32,
    /// SMOTE target minority/majority ratio (0 when not used).
    pub smote_ratio: f64,
    /// Loss weights of the legitimate and the fraud class (`[1, 1]` when unweighted).
    pub class_weights: [f64; 2],
    /// The trainer and its version.
    pub trainer: String,
}

/// How the logistic solver ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogisticTraining {
    /// Inverse L2 regularisation strength.
    pub c: f64,
    /// Solver name.
    pub solver: String,
    /// Solver iterations to convergence.
    pub iterations: u32,
    /// Largest absolute gradient entry at the solution (objective scaled by 1/C).
    pub max_gradient: f64,
}

/// How the booster ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreesTraining {
    /// Shrinkage of every leaf value.
    pub learning_rate: f64,
    /// Leaves per tree at most.
    pub max_leaves: u32,
    /// Depth at most.
    pub max_depth: u32,
    /// L2 penalty on leaf values.
    pub l2: f64,
    /// Minimum hessian per leaf.
    pub min_child_hessian: f64,
    /// Minimum rows per leaf.
    pub min_rows_leaf: u32,
    /// Row subsampling per round.
    pub row_fraction: f64,
    /// Column subsampling per tree.
    pub col_fraction: f64,
    /// Quantile bins per feature at most.
    pub max_bins: u32,
    /// Rounds kept (the best on validation).
    pub rounds: u32,
    /// Rounds run before early stopping.
    pub rounds_run: u32,
    /// Patience of early stopping.
    pub early_stopping_rounds: u32,
}

/// How the model was fitted, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Training {
    /// A logistic fit.
    Logistic(LogisticTraining),
    /// A boosted ensemble.
    Trees(TreesTraining),
}

/// A scorer's parameters, by kind.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelParams {
    /// Logistic regression over standardised features.
    Logistic {
        /// The scaler fitted on the train split.
        scaler: Scaler,
        /// Coefficients over scaled features.
        weights: LogisticWeights,
    },
    /// Gradient-boosted trees over raw features.
    Trees(TreeEnsemble),
}

/// One bin of a reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReliabilityBin {
    /// Lowest probability in the bin (inclusive).
    pub lower: f64,
    /// Highest (exclusive; the last bin includes 1).
    pub upper: f64,
    /// Transactions in it.
    pub rows: u64,
    /// Their mean served probability.
    pub mean_probability: f64,
    /// Their observed fraud rate.
    pub fraud_rate: f64,
}

/// How well served probabilities match outcomes on a split.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationReport {
    /// Mean squared error of the probability.
    pub brier: f64,
    /// Mean negative log-likelihood.
    pub log_loss: f64,
    /// Sum of the probabilities.
    pub expected_frauds: f64,
    /// Frauds there were.
    pub observed_frauds: u64,
    /// Non-empty bins, in probability order.
    pub reliability: Vec<ReliabilityBin>,
}

/// A policy's money on validation (where it was chosen) and test.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyReport {
    /// Which policy.
    pub policy: Policy,
    /// Its threshold (none for [`Policy::CostOptimal`]).
    pub threshold: Option<f64>,
    /// On validation.
    pub validation: Tally,
    /// On test.
    pub test: Tally,
}

/// Where an imported model came from (the library that trained it, and the file).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// `xgboost` or `lightgbm`.
    pub library: String,
    /// The library's version, as the model file records it (empty when it does not).
    pub version: String,
    /// The model file's format: `json`, `ubjson` or `text`.
    pub format: String,
    /// The model file's name.
    pub file_name: String,
    /// SHA-256 of the model file (hex).
    pub file_sha256: String,
    /// The objective the file names (`binary:logistic`, `binary sigmoid:1`).
    pub objective: String,
}

/// Everything a runtime needs to score and to describe the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    /// Which candidate was selected ("baseline", "trees", ...).
    pub model_name: String,
    /// The inputs, in row order, and the training file's label, id and amount columns.
    pub schema: Schema,
    /// Calibration, policy, threshold and costs.
    pub rule: DecisionRule,
    /// The scorer's parameters.
    pub params: ModelParams,
    /// How they were fitted.
    pub training: Training,
    /// How the model was made.
    pub provenance: Provenance,
    /// Mean |contribution| per feature on validation, schema order (empty when not measured).
    pub feature_importance: Vec<f64>,
    /// Metrics on the validation split (where the threshold was chosen).
    pub validation: Metrics,
    /// Metrics on the held-out test split.
    pub test: Metrics,
    /// Calibration on test (none when not measured, e.g. a version-2 file).
    pub calibration_test: Option<CalibrationReport>,
    /// The policies the trainer weighed (empty when none were).
    pub policies: Vec<PolicyReport>,
    /// The training reference for drift monitoring (none in older files).
    pub drift: Option<DriftReference>,
    /// What training saw of a table with categories and missing values (empty otherwise).
    pub tabular: Tabular,
    /// Set when the model was imported from another library rather than trained here.
    pub imported: Option<Imported>,
}

/// What a table with categorical features and missing values adds to an
/// artifact; empty for a numeric-only model (and every file before format 5).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tabular {
    /// Per feature, the share of train rows where it was missing (empty: not measured).
    pub missing_rates: Vec<f64>,
    /// Per feature, the share of train rows merged into "other" (rare categories).
    pub other_rates: Vec<f64>,
    /// Logistic: per feature, whether a missing-indicator column follows it (empty: none).
    pub indicators: Vec<bool>,
}

/// A checked artifact, its scoring model, and what identifies the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The decoded artifact.
    pub artifact: Artifact,
    /// Its scoring model.
    pub model: Model,
    /// The file's own format version (older files still load; re-encoding writes [`FORMAT_VERSION`]).
    pub format_version: u16,
    /// [`model_id`] of the file's bytes.
    pub id: String,
}

impl Artifact {
    /// Encodes to the binary format (version [`FORMAT_VERSION`]); fails only
    /// when the payload would exceed [`MAX_PAYLOAD`], which no runtime would load.
    pub fn encode(&self) -> Result<Vec<u8>, ArtifactError> {
        let wire = self.to_wire();
        let format_6 = wire.imported.is_some() || wire.leaf_sum_f32 || !wire.missing_zero.is_empty();
        if format_6 {
            seal(FORMAT_VERSION, &wire)
        } else if self.schema.is_tabular() {
            // Nothing format 6 adds: the format-5 bytes, readable by older runtimes.
            seal(VERSION_5, &wire.base)
        } else {
            // Nothing format 5 adds: the format-4 bytes.
            seal(VERSION_4, &wire.base.base)
        }
    }

    /// Decodes and fully checks an artifact (see the module docs for the order of checks).
    pub fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        Artifact::checked(bytes).map(|(_, artifact, _)| artifact)
    }

    /// Decodes an artifact and builds its scoring [`Model`] in one go (the
    /// checks build the model anyway; runtimes need both), with the file's
    /// format version and id.
    pub fn load(bytes: &[u8]) -> Result<Loaded, ArtifactError> {
        let (format_version, artifact, model) = Artifact::checked(bytes)?;
        Ok(Loaded { artifact, model, format_version, id: model_id(bytes) })
    }

    fn checked(bytes: &[u8]) -> Result<(u16, Artifact, Model), ArtifactError> {
        let (version, payload) = unframe(bytes)?;
        let artifact = Artifact::from_wire(upgrade(version, payload)?)?;
        let model = artifact.model()?;
        Ok((version, artifact, model))
    }

    /// Builds the scoring [`Model`], checking every parameter.
    pub fn model(&self) -> Result<Model, ArtifactError> {
        let scorer = match &self.params {
            ModelParams::Logistic { scaler, weights } if self.schema.is_tabular() => {
                let expansion = self.expansion().map_err(ArtifactError::InvalidModel)?;
                Scorer::Logistic(
                    Logistic::with_expansion(scaler.clone(), weights.clone(), expansion)
                        .map_err(ArtifactError::InvalidModel)?,
                )
            }
            ModelParams::Logistic { scaler, weights } => {
                Scorer::Logistic(Logistic::new(scaler.clone(), weights.clone()).map_err(ArtifactError::InvalidModel)?)
            }
            ModelParams::Trees(ensemble) => Scorer::Trees(
                Trees::with_kinds(ensemble.clone(), &self.schema.categorical_mask())
                    .map_err(ArtifactError::InvalidModel)?,
            ),
        };
        Model::new(self.model_name.clone(), self.schema.clone(), scorer, self.rule.clone())
            .map_err(ArtifactError::InvalidModel)
    }

    /// The logistic expansion of this schema: a categorical feature one-hot
    /// over its codes, a numeric one its value and, when training saw it
    /// missing, an indicator column.
    pub fn expansion(&self) -> Result<Expansion, ModelError> {
        let indicators = &self.tabular.indicators;
        if !(indicators.is_empty() || indicators.len() == self.schema.len()) {
            return Err(ModelError::WrongLength {
                what: "missing indicators",
                len: indicators.len(),
                expected: self.schema.len(),
            });
        }
        let columns = (0..self.schema.len())
            .map(|i| match self.schema.categories(i) {
                Some(c) => Column::Categorical { codes: (c.other() + 1) as u32 },
                None => Column::Numeric { indicator: indicators.get(i).copied().unwrap_or(false) },
            })
            .collect();
        Expansion::new(columns)
    }

    /// The model kind the parameters are for.
    pub fn kind(&self) -> ModelKind {
        match self.params {
            ModelParams::Logistic { .. } => ModelKind::Logistic,
            ModelParams::Trees(_) => ModelKind::Trees,
        }
    }

    /// The wire form (what `encode` writes and `model.json` holds); `ArtifactV6::from`.
    pub fn to_wire(&self) -> ArtifactV6 {
        self.into()
    }

    /// The internal value of a wire form, checking its schema (the parameters
    /// are checked when the model is built); `Artifact::try_from`.
    pub fn from_wire(v6: ArtifactV6) -> Result<Artifact, ArtifactError> {
        v6.try_into()
    }
}

/// A payload of format `version` (checked by [`unframe`]) read as version 6.
fn upgrade(version: u16, payload: &[u8]) -> Result<ArtifactV6, ArtifactError> {
    let older = |v3: ArtifactV3| -> Result<ArtifactV6, ArtifactError> {
        check_creditcard(&v3.base.feature_names)?;
        Ok(ArtifactV5::from(ArtifactV4::from(v3)).into())
    };
    match version {
        LEGACY_VERSION => older(ArtifactV2::from(decode_payload::<ArtifactV1>(payload)?).into()),
        VERSION_2 => older(decode_payload::<ArtifactV2>(payload)?.into()),
        VERSION_3 => older(decode_payload::<ArtifactV3>(payload)?),
        VERSION_4 => Ok(ArtifactV5::from(decode_payload::<ArtifactV4>(payload)?).into()),
        VERSION_5 => Ok(decode_payload::<ArtifactV5>(payload)?.into()),
        _ => {
            let (base, used) = decode_prefix::<ArtifactV5>(payload)?;
            Ok(ArtifactV6::from_parts(base, decode_payload::<ArtifactV6Tail>(&payload[used..])?))
        }
    }
}

/// Files before format 4 were all trained on the Kaggle file's columns (and did not record them).
fn check_creditcard(names: &[String]) -> Result<(), ArtifactError> {
    if schema::is_creditcard(names) {
        return Ok(());
    }
    let mut shown = String::new();
    for (i, name) in names.iter().take(4).enumerate() {
        if i > 0 {
            shown.push_str(", ");
        }
        shown.push_str(name);
    }
    Err(ArtifactError::SchemaMismatch(format!(
        "a format-3 or older artifact has {} features starting [{shown}], those formats hold {} starting [Time, V1, V2, V3]",
        names.len(),
        schema::CREDITCARD_FEATURES.len(),
    )))
}
