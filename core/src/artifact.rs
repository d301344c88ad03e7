//! The versioned model artifact: what the trainer writes and every runtime loads.
//!
//! Layout (all integers little-endian):
//!
//! | bytes        | content                                      |
//! |--------------|----------------------------------------------|
//! | 0..8         | magic `FRAUDMDL`                             |
//! | 8..10        | format version (`u16`)                       |
//! | 10..14       | payload length `n` (`u32`)                   |
//! | 14..14+n     | payload: [`ArtifactV4`] in bincode (v3, v2, v1: `ArtifactV3`, `ArtifactV2`, `ArtifactV1`) |
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

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::decision::{Benefit, Calibration, CalibrationMethod, Costs, DecisionRule, Policy, Tally};
use crate::drift::{Bins, DriftReference};
use crate::logistic::{Logistic, LogisticWeights};
use crate::model::{Model, ModelError, ModelKind, Scorer};
use crate::scaler::Scaler;
use crate::schema::{Schema, CREDITCARD_FEATURES, DEFAULT_AMOUNT, DEFAULT_LABEL};
use crate::trees::{LeafParams, SplitParams, TreeEnsemble, TreeParams, Trees};
use crate::wire::{
    ArtifactV1, ArtifactV2, ArtifactV3, ArtifactV4, CardParameters, CardSchema, FeatureImportance, ModelCard,
    WireBenefit, WireBins, WireCalibration, WireCalibrationReport, WireColumns, WireCosts, WireDecision,
    WireDriftReference, WireLeaf, WireMetrics, WireModel, WirePolicyReport, WireProvenance, WireReliabilityBin,
    WireSplit, WireTally, WireTraining, WireTree,
};

/// First bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"FRAUDMDL";
/// The format version this build writes (it also reads every version from [`LEGACY_VERSION`]).
pub const FORMAT_VERSION: u16 = 4;
/// The oldest version still read: logistic-only artifacts of earlier trainers.
pub const LEGACY_VERSION: u16 = 1;
/// Version 2: any kind, no decision rule (an uncalibrated F1 threshold).
pub const VERSION_2: u16 = 2;
/// Version 3: the decision rule and money figures, the Kaggle file's schema.
pub const VERSION_3: u16 = 3;
const HEADER_LEN: usize = 14;
const CHECKSUM_LEN: usize = 4;
/// Upper bound on a payload (a real one is ~2 KB); also the decoder's allocation cap.
pub const MAX_PAYLOAD: usize = 1 << 20;

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
}

/// Why bytes are not a usable artifact. Each cause is distinct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtifactError {
    /// Fewer bytes than the fixed header and checksum, or than the header declares.
    Truncated {
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// Does not start with [`MAGIC`]: not an artifact at all.
    BadMagic,
    /// Written by another format version (e.g. a newer trainer).
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// More bytes than the header declares.
    TrailingBytes {
        /// Bytes expected.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The declared payload is larger than any real artifact.
    TooLarge {
        /// Declared payload length.
        declared: usize,
    },
    /// The checksum does not match: the file is corrupted.
    ChecksumMismatch {
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum of the bytes read.
        computed: u32,
    },
    /// The checksum matches but the payload does not decode.
    Payload(PayloadError),
    /// The artifact's schema is not usable (or, before format 4, not the Kaggle file's).
    SchemaMismatch(String),
    /// The parameters do not make a valid model.
    InvalidModel(ModelError),
}

/// Why a checksum-valid payload does not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The decoder refused it (what it found, in a few words).
    Decode(&'static str),
    /// It decoded, but this many bytes were left over.
    UnusedBytes(usize),
}

impl ArtifactError {
    /// The message with its cause, `outer: inner`, for runtimes that show one
    /// line and have no error-reporting library (wasm, the Worker). Natively,
    /// `source()` carries the cause instead.
    pub fn full_message(&self) -> String {
        match self {
            ArtifactError::InvalidModel(cause) => format!("{self}: {cause}"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::Decode(why) => f.write_str(why),
            PayloadError::UnusedBytes(n) => write!(f, "{n} unused payload bytes"),
        }
    }
}

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArtifactError::Truncated { expected, actual } => {
                write!(f, "artifact is truncated: {actual} bytes, expected {expected}")
            }
            ArtifactError::BadMagic => f.write_str("not a model artifact (wrong magic bytes)"),
            ArtifactError::UnsupportedVersion { found, supported } => write!(
                f,
                "artifact format version {found} is not supported (this build reads versions 1 to {supported}); retrain or upgrade"
            ),
            ArtifactError::TrailingBytes { expected, actual } => {
                write!(f, "artifact has {actual} bytes, header declares {expected}")
            }
            ArtifactError::TooLarge { declared } => {
                write!(f, "artifact declares a {declared}-byte payload, over the {MAX_PAYLOAD}-byte limit")
            }
            ArtifactError::ChecksumMismatch { stored, computed } => write!(
                f,
                "artifact is corrupted: checksum {computed:08x} does not match stored {stored:08x}"
            ),
            ArtifactError::Payload(why) => write!(f, "artifact payload does not decode: {why}"),
            ArtifactError::SchemaMismatch(why) => write!(f, "artifact schema mismatch: {why}"),
            ArtifactError::InvalidModel(_) => f.write_str("artifact holds an invalid model"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ArtifactError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ArtifactError::InvalidModel(e) => Some(e),
            _ => None,
        }
    }
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3). Detects every error burst of up to 32 bits, so any
/// single corrupted byte is always caught.
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8))
}

/// A short, stable identifier of an artifact's exact bytes (FNV-1a, 64 bit, hex).
/// Two runtimes report the same id exactly when they loaded the same file.
pub fn model_id(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{h:016x}")
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_little_endian().with_limit::<MAX_PAYLOAD>()
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// A short description of a payload decoding failure. (bincode's own
/// `Display` goes through `Debug`, which would add kilobytes to the wasm build.)
fn payload_problem(e: &bincode::error::DecodeError) -> &'static str {
    use bincode::error::DecodeError as E;
    match e {
        E::UnexpectedEnd { .. } => "the payload ends early",
        E::LimitExceeded => "the payload declares more data than the size limit",
        E::Utf8 { .. } => "a text field is not valid UTF-8",
        E::InvalidBooleanValue(_) => "a boolean field is neither 0 nor 1",
        E::OutsideUsizeRange(_) | E::InvalidIntegerType { .. } => "an integer field is out of range",
        _ => "the payload is not a model artifact of this format version",
    }
}

fn frame(version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CHECKSUM_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a whole payload as `T` (every byte must be used).
fn decode_payload<T: bincode::Decode<()>>(payload: &[u8]) -> Result<T, ArtifactError> {
    let (value, used): (T, usize) = bincode::decode_from_slice(payload, bincode_config())
        .map_err(|e| ArtifactError::Payload(PayloadError::Decode(payload_problem(&e))))?;
    if used != payload.len() {
        return Err(ArtifactError::Payload(PayloadError::UnusedBytes(payload.len() - used)));
    }
    Ok(value)
}

impl Artifact {
    /// Encodes to the binary format (version [`FORMAT_VERSION`]); fails only
    /// when the payload would exceed [`MAX_PAYLOAD`], which no runtime would load.
    pub fn encode(&self) -> Result<Vec<u8>, ArtifactError> {
        let unlimited = bincode::config::standard().with_little_endian();
        let payload = bincode::encode_to_vec(self.to_wire(), unlimited)
            .expect("bincode encodes plain data (numbers, strings, vectors) into a Vec without failing");
        if payload.len() > MAX_PAYLOAD {
            return Err(ArtifactError::TooLarge { declared: payload.len() });
        }
        Ok(frame(FORMAT_VERSION, &payload))
    }

    /// Decodes and fully checks an artifact (see the module docs for the order of checks).
    pub fn decode(bytes: &[u8]) -> Result<Artifact, ArtifactError> {
        Artifact::load(bytes).map(|(artifact, _)| artifact)
    }

    /// Decodes an artifact and builds its scoring [`Model`] in one go (the
    /// checks build the model anyway; runtimes need both).
    pub fn load(bytes: &[u8]) -> Result<(Artifact, Model), ArtifactError> {
        let min = HEADER_LEN + CHECKSUM_LEN;
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            // A short prefix of a real artifact is truncated, anything else is foreign.
            return Err(if MAGIC.starts_with(bytes) {
                ArtifactError::Truncated { expected: min, actual: bytes.len() }
            } else {
                ArtifactError::BadMagic
            });
        }
        if bytes.len() < min {
            return Err(ArtifactError::Truncated { expected: min, actual: bytes.len() });
        }
        let version = le_u16(&bytes[8..10]);
        if !(LEGACY_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(ArtifactError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        let declared = le_u32(&bytes[10..14]) as usize;
        if declared > MAX_PAYLOAD {
            return Err(ArtifactError::TooLarge { declared });
        }
        let expected = HEADER_LEN + declared + CHECKSUM_LEN;
        if bytes.len() < expected {
            return Err(ArtifactError::Truncated { expected, actual: bytes.len() });
        }
        if bytes.len() > expected {
            return Err(ArtifactError::TrailingBytes { expected, actual: bytes.len() });
        }
        let body = &bytes[..HEADER_LEN + declared];
        let stored = le_u32(&bytes[HEADER_LEN + declared..]);
        let computed = crc32(body);
        if stored != computed {
            return Err(ArtifactError::ChecksumMismatch { stored, computed });
        }
        let payload = &body[HEADER_LEN..];
        let older = |v3: ArtifactV3| -> Result<ArtifactV4, ArtifactError> {
            check_creditcard(&v3.base.feature_names)?;
            Ok(v3.into())
        };
        let wire: ArtifactV4 = match version {
            LEGACY_VERSION => older(ArtifactV2::from(decode_payload::<ArtifactV1>(payload)?).into())?,
            VERSION_2 => older(decode_payload::<ArtifactV2>(payload)?.into())?,
            VERSION_3 => older(decode_payload::<ArtifactV3>(payload)?)?,
            _ => decode_payload::<ArtifactV4>(payload)?,
        };
        let artifact = Artifact::from_wire(wire)?;
        let model = artifact.model()?;
        Ok((artifact, model))
    }

    /// Builds the scoring [`Model`], checking every parameter.
    pub fn model(&self) -> Result<Model, ArtifactError> {
        let scorer = match &self.params {
            ModelParams::Logistic { scaler, weights } => {
                Scorer::Logistic(Logistic::new(scaler.clone(), weights.clone()).map_err(ArtifactError::InvalidModel)?)
            }
            ModelParams::Trees(ensemble) => {
                Scorer::Trees(Trees::new(ensemble.clone(), self.schema.len()).map_err(ArtifactError::InvalidModel)?)
            }
        };
        Model::new(self.model_name.clone(), self.schema.clone(), scorer, self.rule.clone())
            .map_err(ArtifactError::InvalidModel)
    }

    /// The model kind the parameters are for.
    pub fn kind(&self) -> ModelKind {
        match self.params {
            ModelParams::Logistic { .. } => ModelKind::Logistic,
            ModelParams::Trees(_) => ModelKind::Trees,
        }
    }

    /// The wire form (what `encode` writes and `model.json` holds).
    pub fn to_wire(&self) -> ArtifactV4 {
        let base = ArtifactV2 {
            model_name: self.model_name.clone(),
            feature_names: self.schema.features().to_vec(),
            threshold: self.rule.threshold,
            model: match &self.params {
                ModelParams::Logistic { scaler, weights } => WireModel::Logistic {
                    scaler_mean: scaler.mean.clone(),
                    scaler_scale: scaler.scale.clone(),
                    coefficients: weights.weights.clone(),
                    intercept: weights.intercept,
                },
                ModelParams::Trees(e) => WireModel::Trees {
                    base_score: e.base_score,
                    trees: e
                        .trees
                        .iter()
                        .map(|t| WireTree {
                            splits: t
                                .splits
                                .iter()
                                .map(|s| WireSplit {
                                    feature: s.feature,
                                    threshold: s.threshold,
                                    left: s.left,
                                    right: s.right,
                                    cover: s.cover,
                                })
                                .collect(),
                            leaves: t.leaves.iter().map(|l| WireLeaf { value: l.value, cover: l.cover }).collect(),
                        })
                        .collect(),
                },
            },
            training: training_to_wire(&self.training),
            provenance: provenance_to_wire(&self.provenance),
            feature_importance: self.feature_importance.clone(),
            validation: metrics_to_wire(&self.validation),
            test: metrics_to_wire(&self.test),
        };
        ArtifactV4 {
            base: ArtifactV3 {
                base,
                decision: decision_to_wire(&self.rule),
                calibration_test: self.calibration_test.as_ref().map(calibration_report_to_wire),
                policies: self.policies.iter().map(policy_report_to_wire).collect(),
                drift: self.drift.as_ref().map(drift_to_wire),
            },
            columns: WireColumns {
                label: self.schema.label().to_string(),
                id: self.schema.id().map(str::to_string),
                amount: self.schema.amount_name().map(str::to_string),
            },
        }
    }

    /// The internal value of a wire form, checking its schema (the parameters
    /// are checked when the model is built).
    pub fn from_wire(v4: ArtifactV4) -> Result<Artifact, ArtifactError> {
        let ArtifactV4 { base: ArtifactV3 { base: w, decision, calibration_test, policies, drift }, columns } = v4;
        let schema = Schema::new(w.feature_names, columns.amount.as_deref(), &columns.label, columns.id.as_deref())
            .map_err(|e| ArtifactError::SchemaMismatch(format!("{e}")))?;
        let rule = decision_from_wire(&decision, w.threshold)?;
        let policies = policies.iter().map(policy_report_from_wire).collect::<Result<Vec<_>, _>>()?;
        let drift = drift.as_ref().map(drift_from_wire);
        if let Some(d) = &drift {
            d.check(schema.len()).map_err(ArtifactError::InvalidModel)?;
        }
        let params = match w.model {
            WireModel::Logistic { scaler_mean, scaler_scale, coefficients, intercept } => ModelParams::Logistic {
                scaler: Scaler { mean: scaler_mean, scale: scaler_scale },
                weights: LogisticWeights { weights: coefficients, intercept },
            },
            WireModel::Trees { base_score, trees } => ModelParams::Trees(TreeEnsemble {
                base_score,
                trees: trees
                    .into_iter()
                    .map(|t| TreeParams {
                        splits: t
                            .splits
                            .into_iter()
                            .map(|s| SplitParams {
                                feature: s.feature,
                                threshold: s.threshold,
                                left: s.left,
                                right: s.right,
                                cover: s.cover,
                            })
                            .collect(),
                        leaves: t.leaves.into_iter().map(|l| LeafParams { value: l.value, cover: l.cover }).collect(),
                    })
                    .collect(),
            }),
        };
        let training = match w.training {
            WireTraining::Logistic { c, solver, iterations, max_gradient } => {
                Training::Logistic(LogisticTraining { c, solver, iterations, max_gradient })
            }
            WireTraining::Trees {
                learning_rate,
                max_leaves,
                max_depth,
                l2,
                min_child_hessian,
                min_rows_leaf,
                row_fraction,
                col_fraction,
                max_bins,
                rounds,
                rounds_run,
                early_stopping_rounds,
            } => Training::Trees(TreesTraining {
                learning_rate,
                max_leaves,
                max_depth,
                l2,
                min_child_hessian,
                min_rows_leaf,
                row_fraction,
                col_fraction,
                max_bins,
                rounds,
                rounds_run,
                early_stopping_rounds,
            }),
        };
        let importance_ok = w.feature_importance.is_empty()
            || (w.feature_importance.len() == schema.len() && w.feature_importance.iter().all(|v| v.is_finite()));
        if !importance_ok {
            return Err(ArtifactError::InvalidModel(ModelError::BadParameter {
                what: "feature importance",
                why: "must be empty or one finite value per feature",
            }));
        }
        let p = w.provenance;
        Ok(Artifact {
            model_name: w.model_name,
            schema,
            rule,
            params,
            training,
            provenance: Provenance {
                dataset: p.dataset,
                dataset_sha256: p.dataset_sha256,
                synthetic: p.synthetic,
                rows_total: p.rows_total,
                frauds_total: p.frauds_total,
                rows_train: p.rows_train,
                rows_validation: p.rows_validation,
                rows_test: p.rows_test,
                rows_fitted: p.rows_fitted,
                seed: p.seed,
                train_fraction: p.train_fraction,
                validation_fraction: p.validation_fraction,
                test_fraction: p.test_fraction,
                smote_k: p.smote_k,
                smote_ratio: p.smote_ratio,
                class_weights: p.class_weights,
                trainer: p.trainer,
            },
            feature_importance: w.feature_importance,
            validation: metrics_from_wire(&w.validation),
            test: metrics_from_wire(&w.test),
            calibration_test: calibration_test.as_ref().map(calibration_report_from_wire),
            policies,
            drift,
        })
    }

    /// The model card: what `GET /model`, the wasm `summary` and the report
    /// show, the same for every kind. `model` is this artifact's model (built
    /// by [`Artifact::model`]); the parameters are read from its scorer.
    pub fn card(&self, model: &Model) -> ModelCard {
        let parameters = match model.scorer() {
            Scorer::Logistic(m) => CardParameters::Logistic {
                scaler_mean: m.scaler().mean.clone(),
                scaler_scale: m.scaler().scale.clone(),
                coefficients: m.weights().weights.clone(),
                intercept: m.weights().intercept,
            },
            Scorer::Trees(t) => CardParameters::Trees {
                trees: t.len() as u32,
                max_depth: t.max_depth() as u32,
                max_leaves: t.max_leaves() as u32,
                base_score: t.params().base_score,
                expected_value: t.expected_value(),
            },
        };
        let mut feature_importance: Vec<FeatureImportance> = self
            .schema
            .features()
            .iter()
            .zip(&self.feature_importance)
            .map(|(f, &importance)| FeatureImportance { feature: f.clone(), importance })
            .collect();
        // Insertion sort, stable (≤ 256 items; see `Model::explain`).
        for i in 1..feature_importance.len() {
            let mut j = i;
            while j > 0 && feature_importance[j - 1].importance < feature_importance[j].importance {
                feature_importance.swap(j - 1, j);
                j -= 1;
            }
        }
        ModelCard {
            name: self.model_name.clone(),
            kind: model.kind().as_str(),
            schema: CardSchema {
                features: self.schema.features().to_vec(),
                label: self.schema.label().to_string(),
                id: self.schema.id().map(str::to_string),
                amount: self.schema.amount_name().map(str::to_string),
                max_abs_value: crate::validate::MAX_ABS_VALUE,
            },
            threshold: model.threshold(),
            policy: model.policy().as_str(),
            calibration: calibration_to_wire(model.calibration()),
            costs: costs_to_wire(model.costs()),
            parameters,
            training: training_to_wire(&self.training),
            provenance: provenance_to_wire(&self.provenance),
            feature_importance,
            validation: metrics_to_wire(&self.validation),
            test: metrics_to_wire(&self.test),
            calibration_test: self.calibration_test.as_ref().map(calibration_report_to_wire),
            policies: self.policies.iter().map(policy_report_to_wire).collect(),
        }
    }
}

fn invalid(what: &'static str, why: &'static str) -> ArtifactError {
    ArtifactError::InvalidModel(ModelError::BadParameter { what, why })
}

fn benefit_to_wire(b: &Benefit) -> WireBenefit {
    WireBenefit { fixed: b.fixed, per_amount: b.per_amount }
}

fn benefit_from_wire(b: &WireBenefit) -> Benefit {
    Benefit { fixed: b.fixed, per_amount: b.per_amount }
}

fn costs_to_wire(c: &Costs) -> WireCosts {
    WireCosts {
        currency: c.currency.clone(),
        refused_fraud: benefit_to_wire(&c.refused_fraud),
        accepted_fraud: benefit_to_wire(&c.accepted_fraud),
        refused_legitimate: benefit_to_wire(&c.refused_legitimate),
        accepted_legitimate: benefit_to_wire(&c.accepted_legitimate),
    }
}

/// The internal costs of a wire form (checked when a model is built).
pub fn costs_from_wire(c: &WireCosts) -> Costs {
    Costs {
        currency: c.currency.clone(),
        refused_fraud: benefit_from_wire(&c.refused_fraud),
        accepted_fraud: benefit_from_wire(&c.accepted_fraud),
        refused_legitimate: benefit_from_wire(&c.refused_legitimate),
        accepted_legitimate: benefit_from_wire(&c.accepted_legitimate),
    }
}

fn calibration_to_wire(c: &Calibration) -> WireCalibration {
    WireCalibration { method: c.method.as_str().to_string(), slope: c.slope, intercept: c.intercept }
}

fn decision_to_wire(r: &DecisionRule) -> WireDecision {
    WireDecision {
        policy: r.policy.as_str().to_string(),
        calibration: calibration_to_wire(&r.calibration),
        costs: costs_to_wire(&r.costs),
    }
}

/// A version-2 payload read as version 3: the rule it was served with —
/// uncalibrated, at its F1 threshold, the default costs — and no figures.
/// A version-3 payload read as version 4: the Kaggle file's columns (its
/// features were checked to be the Kaggle file's).
impl From<ArtifactV3> for ArtifactV4 {
    fn from(v3: ArtifactV3) -> ArtifactV4 {
        ArtifactV4 {
            base: v3,
            columns: WireColumns {
                label: DEFAULT_LABEL.to_string(),
                id: None,
                amount: Some(DEFAULT_AMOUNT.to_string()),
            },
        }
    }
}

impl From<ArtifactV2> for ArtifactV3 {
    fn from(v2: ArtifactV2) -> ArtifactV3 {
        ArtifactV3 {
            decision: decision_to_wire(&DecisionRule::at_threshold(v2.threshold)),
            base: v2,
            calibration_test: None,
            policies: Vec::new(),
            drift: None,
        }
    }
}

fn policy_from_wire(name: &str) -> Result<Policy, ArtifactError> {
    Policy::from_name(name).ok_or_else(|| {
        invalid("policy", "unknown (f1_threshold, net_benefit_threshold, cost_optimal or manual_threshold)")
    })
}

fn decision_from_wire(w: &WireDecision, threshold: f64) -> Result<DecisionRule, ArtifactError> {
    let method = CalibrationMethod::from_name(&w.calibration.method)
        .ok_or_else(|| invalid("calibration method", "unknown (none, platt or prior_correction)"))?;
    Ok(DecisionRule {
        calibration: Calibration { method, slope: w.calibration.slope, intercept: w.calibration.intercept },
        policy: policy_from_wire(&w.policy)?,
        threshold,
        costs: costs_from_wire(&w.costs),
    })
}

fn tally_to_wire(t: &Tally) -> WireTally {
    WireTally {
        transactions: t.transactions,
        frauds_stopped: t.frauds_stopped,
        frauds_missed: t.frauds_missed,
        false_alarms: t.false_alarms,
        stopped_amount: t.stopped_amount,
        missed_amount: t.missed_amount,
        false_alarm_cost: t.false_alarm_cost,
        net_benefit: t.net_benefit,
        accept_all: t.accept_all,
        refuse_all: t.refuse_all,
    }
}

fn tally_from_wire(t: &WireTally) -> Tally {
    Tally {
        transactions: t.transactions,
        frauds_stopped: t.frauds_stopped,
        frauds_missed: t.frauds_missed,
        false_alarms: t.false_alarms,
        stopped_amount: t.stopped_amount,
        missed_amount: t.missed_amount,
        false_alarm_cost: t.false_alarm_cost,
        net_benefit: t.net_benefit,
        accept_all: t.accept_all,
        refuse_all: t.refuse_all,
    }
}

fn policy_report_to_wire(p: &PolicyReport) -> WirePolicyReport {
    WirePolicyReport {
        policy: p.policy.as_str().to_string(),
        threshold: p.threshold,
        validation: tally_to_wire(&p.validation),
        test: tally_to_wire(&p.test),
    }
}

fn policy_report_from_wire(p: &WirePolicyReport) -> Result<PolicyReport, ArtifactError> {
    Ok(PolicyReport {
        policy: policy_from_wire(&p.policy)?,
        threshold: p.threshold,
        validation: tally_from_wire(&p.validation),
        test: tally_from_wire(&p.test),
    })
}

fn calibration_report_to_wire(r: &CalibrationReport) -> WireCalibrationReport {
    WireCalibrationReport {
        brier: r.brier,
        log_loss: r.log_loss,
        expected_frauds: r.expected_frauds,
        observed_frauds: r.observed_frauds,
        reliability: r
            .reliability
            .iter()
            .map(|b| WireReliabilityBin {
                lower: b.lower,
                upper: b.upper,
                rows: b.rows,
                mean_probability: b.mean_probability,
                fraud_rate: b.fraud_rate,
            })
            .collect(),
    }
}

fn calibration_report_from_wire(r: &WireCalibrationReport) -> CalibrationReport {
    CalibrationReport {
        brier: r.brier,
        log_loss: r.log_loss,
        expected_frauds: r.expected_frauds,
        observed_frauds: r.observed_frauds,
        reliability: r
            .reliability
            .iter()
            .map(|b| ReliabilityBin {
                lower: b.lower,
                upper: b.upper,
                rows: b.rows,
                mean_probability: b.mean_probability,
                fraud_rate: b.fraud_rate,
            })
            .collect(),
    }
}

fn bins_to_wire(b: &Bins) -> WireBins {
    WireBins { edges: b.edges.clone(), shares: b.shares.clone() }
}

fn bins_from_wire(b: &WireBins) -> Bins {
    Bins { edges: b.edges.clone(), shares: b.shares.clone() }
}

fn drift_to_wire(d: &DriftReference) -> WireDriftReference {
    WireDriftReference {
        features: d.features.iter().map(bins_to_wire).collect(),
        score: bins_to_wire(&d.score),
        base_rate: d.base_rate,
        flagged_rate: d.flagged_rate,
    }
}

fn drift_from_wire(d: &WireDriftReference) -> DriftReference {
    DriftReference {
        features: d.features.iter().map(bins_from_wire).collect(),
        score: bins_from_wire(&d.score),
        base_rate: d.base_rate,
        flagged_rate: d.flagged_rate,
    }
}

impl CalibrationReport {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireCalibrationReport {
        calibration_report_to_wire(self)
    }
}

impl PolicyReport {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WirePolicyReport {
        policy_report_to_wire(self)
    }
}

impl Tally {
    /// The wire form (reports, the streamer's summary).
    pub fn to_wire(&self) -> WireTally {
        tally_to_wire(self)
    }
}

impl Costs {
    /// The wire form (cards, the streamer's summary).
    pub fn to_wire(&self) -> WireCosts {
        costs_to_wire(self)
    }
}

/// Files before format 4 were all trained on the Kaggle file's columns.
fn check_creditcard(names: &[String]) -> Result<(), ArtifactError> {
    if names.len() == CREDITCARD_FEATURES.len() && names.iter().zip(CREDITCARD_FEATURES).all(|(a, b)| a == b) {
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
        CREDITCARD_FEATURES.len(),
    )))
}

fn metrics_to_wire(m: &Metrics) -> WireMetrics {
    WireMetrics {
        threshold: m.threshold,
        precision: m.precision,
        recall: m.recall,
        f1: m.f1,
        average_precision: m.average_precision,
        roc_auc: m.roc_auc,
        true_positives: m.true_positives,
        false_positives: m.false_positives,
        true_negatives: m.true_negatives,
        false_negatives: m.false_negatives,
    }
}

fn metrics_from_wire(m: &WireMetrics) -> Metrics {
    Metrics {
        threshold: m.threshold,
        precision: m.precision,
        recall: m.recall,
        f1: m.f1,
        average_precision: m.average_precision,
        roc_auc: m.roc_auc,
        true_positives: m.true_positives,
        false_positives: m.false_positives,
        true_negatives: m.true_negatives,
        false_negatives: m.false_negatives,
    }
}

impl Metrics {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireMetrics {
        metrics_to_wire(self)
    }
}

impl Training {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireTraining {
        training_to_wire(self)
    }
}

fn provenance_to_wire(p: &Provenance) -> WireProvenance {
    WireProvenance {
        dataset: p.dataset.clone(),
        dataset_sha256: p.dataset_sha256.clone(),
        synthetic: p.synthetic,
        rows_total: p.rows_total,
        frauds_total: p.frauds_total,
        rows_train: p.rows_train,
        rows_validation: p.rows_validation,
        rows_test: p.rows_test,
        rows_fitted: p.rows_fitted,
        seed: p.seed,
        train_fraction: p.train_fraction,
        validation_fraction: p.validation_fraction,
        test_fraction: p.test_fraction,
        smote_k: p.smote_k,
        smote_ratio: p.smote_ratio,
        class_weights: p.class_weights,
        trainer: p.trainer.clone(),
    }
}

fn training_to_wire(t: &Training) -> WireTraining {
    match t {
        Training::Logistic(l) => WireTraining::Logistic {
            c: l.c,
            solver: l.solver.clone(),
            iterations: l.iterations,
            max_gradient: l.max_gradient,
        },
        Training::Trees(t) => WireTraining::Trees {
            learning_rate: t.learning_rate,
            max_leaves: t.max_leaves,
            max_depth: t.max_depth,
            l2: t.l2,
            min_child_hessian: t.min_child_hessian,
            min_rows_leaf: t.min_rows_leaf,
            row_fraction: t.row_fraction,
            col_fraction: t.col_fraction,
            max_bins: t.max_bins,
            rounds: t.rounds,
            rounds_run: t.rounds_run,
            early_stopping_rounds: t.early_stopping_rounds,
        },
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Artifact {
    /// A small, valid, made-up logistic artifact for the tests of every crate
    /// (not a trained model): tests change the fields they care about.
    pub fn example() -> Artifact {
        const N_FEATURES: usize = 30;
        Artifact {
            model_name: "smote".into(),
            schema: Schema::creditcard(),
            rule: DecisionRule::at_threshold(0.8125),
            params: ModelParams::Logistic {
                scaler: Scaler {
                    mean: (0..N_FEATURES).map(|i| i as f64 * 0.1 - 1.0).collect(),
                    scale: (0..N_FEATURES).map(|i| 0.5 + i as f64 * 0.01).collect(),
                },
                weights: LogisticWeights {
                    weights: (0..N_FEATURES).map(|i| (i as f64 - 15.0) * 0.037).collect(),
                    intercept: -3.25,
                },
            },
            training: Training::Logistic(LogisticTraining { c: 1.0, ..LogisticTraining::default() }),
            provenance: Provenance { dataset: "synthetic".into(), seed: 42, ..Provenance::default() },
            feature_importance: Vec::new(),
            validation: Metrics { f1: 0.8, ..Metrics::default() },
            test: Metrics { f1: 0.79, true_positives: 80, ..Metrics::default() },
            calibration_test: None,
            policies: Vec::new(),
            drift: None,
        }
    }

    /// A small, valid, made-up logistic artifact over a schema of a team's own
    /// (twelve retail features, an id column, `amount` as the amount).
    pub fn example_retail() -> Artifact {
        let n = crate::schema::RETAIL_FEATURES.len();
        Artifact {
            model_name: "baseline".into(),
            schema: Schema::retail(),
            rule: DecisionRule {
                costs: Costs { currency: "USD".into(), ..Costs::default() },
                ..DecisionRule::at_threshold(0.625)
            },
            params: ModelParams::Logistic {
                scaler: Scaler {
                    mean: (0..n).map(|i| i as f64 * 3.0).collect(),
                    scale: (0..n).map(|i| 1.0 + i as f64 * 0.5).collect(),
                },
                weights: LogisticWeights {
                    weights: (0..n).map(|i| (i as f64 - 5.5) * 0.25).collect(),
                    intercept: -4.0,
                },
            },
            provenance: Provenance { dataset: "synthetic-retail".into(), seed: 7, ..Provenance::default() },
            feature_importance: (0..n).map(|i| i as f64 / 16.0).collect(),
            validation: Metrics { f1: 0.7, ..Metrics::default() },
            test: Metrics { f1: 0.68, true_positives: 40, ..Metrics::default() },
            ..Artifact::example()
        }
    }

    /// A small, valid, made-up tree artifact: three trees over V14, V4, Amount
    /// and V12 (one of them a single leaf), with consistent covers.
    pub fn example_trees() -> Artifact {
        let split = |feature: u32, threshold: f64, left: u32, right: u32, cover: f64| SplitParams {
            feature,
            threshold,
            left,
            right,
            cover,
        };
        let leaf = |value: f64, cover: f64| LeafParams { value, cover };
        const L: u32 = crate::trees::LEAF;
        let trees = alloc::vec![
            TreeParams {
                // V14 < -2.5 ? (V4 < 3 ? a : b) : c
                splits: alloc::vec![split(14, -2.5, 1, L | 2, 1000.0), split(4, 3.0, L, L | 1, 60.0)],
                leaves: alloc::vec![leaf(0.75, 40.0), leaf(1.5, 20.0), leaf(-0.5, 940.0)],
            },
            TreeParams {
                // Amount < 100 ? (V14 < 0 ? a : b) : (V12 < -1 ? c : d)
                splits: alloc::vec![
                    split(29, 100.0, 1, 2, 1000.0),
                    split(14, 0.0, L, L | 1, 700.0),
                    split(12, -1.0, L | 2, L | 3, 300.0),
                ],
                leaves: alloc::vec![leaf(0.25, 200.0), leaf(-0.125, 500.0), leaf(0.5, 30.0), leaf(-0.25, 270.0)],
            },
            TreeParams { splits: alloc::vec![], leaves: alloc::vec![leaf(-0.0625, 1000.0)] },
        ];
        Artifact {
            model_name: "trees".into(),
            schema: Schema::creditcard(),
            rule: DecisionRule {
                calibration: Calibration { method: CalibrationMethod::Platt, slope: 0.875, intercept: -1.25 },
                policy: Policy::CostOptimal,
                threshold: 0.375,
                costs: Costs { currency: "CHF".into(), ..Costs::default() },
            },
            params: ModelParams::Trees(TreeEnsemble { base_score: -4.5, trees }),
            training: Training::Trees(TreesTraining {
                learning_rate: 0.05,
                max_leaves: 31,
                max_depth: 8,
                l2: 1.0,
                min_child_hessian: 1.0,
                min_rows_leaf: 5,
                row_fraction: 0.8,
                col_fraction: 0.8,
                max_bins: 255,
                rounds: 3,
                rounds_run: 53,
                early_stopping_rounds: 50,
            }),
            provenance: Provenance { dataset: "synthetic".into(), seed: 42, ..Provenance::default() },
            feature_importance: (0..CREDITCARD_FEATURES.len())
                .map(|i| if i == 14 { 0.5 } else { i as f64 / 1024.0 })
                .collect(),
            validation: Metrics { f1: 0.88, ..Metrics::default() },
            test: Metrics { f1: 0.87, true_positives: 85, ..Metrics::default() },
            calibration_test: Some(CalibrationReport {
                brier: 0.0005,
                log_loss: 0.0035,
                expected_frauds: 97.5,
                observed_frauds: 98,
                reliability: alloc::vec![
                    ReliabilityBin { lower: 0.0, upper: 0.001, rows: 56_000, mean_probability: 1e-4, fraud_rate: 5e-5 },
                    ReliabilityBin { lower: 0.5, upper: 1.0, rows: 90, mean_probability: 0.875, fraud_rate: 0.9 },
                ],
            }),
            policies: alloc::vec![
                PolicyReport {
                    policy: Policy::F1Threshold,
                    threshold: Some(0.5),
                    validation: Tally { transactions: 100, net_benefit: 10.0, ..Tally::default() },
                    test: Tally { transactions: 100, frauds_stopped: 3, net_benefit: 12.5, ..Tally::default() },
                },
                PolicyReport {
                    policy: Policy::CostOptimal,
                    threshold: None,
                    validation: Tally { transactions: 100, net_benefit: 20.0, ..Tally::default() },
                    test: Tally { transactions: 100, false_alarms: 2, accept_all: -50.0, ..Tally::default() },
                },
            ],
            drift: Some(DriftReference {
                features: (0..CREDITCARD_FEATURES.len())
                    .map(|i| Bins {
                        edges: alloc::vec![i as f64 - 1.0, i as f64 + 0.5],
                        shares: alloc::vec![0.25, 0.5, 0.25],
                    })
                    .collect(),
                score: Bins { edges: alloc::vec![0.001, 0.01], shares: alloc::vec![0.75, 0.125, 0.125] },
                base_rate: 0.00172,
                flagged_rate: 0.0015,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn samples() -> [Artifact; 3] {
        [Artifact::example(), Artifact::example_trees(), Artifact::example_retail()]
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        let text = text.trim();
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn round_trips_exactly() {
        for a in samples() {
            let bytes = a.encode().unwrap();
            assert_eq!(&bytes[..8], b"FRAUDMDL");
            assert_eq!(le_u16(&bytes[8..10]), FORMAT_VERSION);
            assert_eq!(Artifact::decode(&bytes).unwrap(), a);
        }
    }

    #[test]
    fn json_round_trip_gives_identical_model() {
        for a in samples() {
            let json = serde_json::to_string(&a.to_wire()).unwrap();
            let back = Artifact::from_wire(serde_json::from_str(&json).unwrap()).unwrap();
            assert_eq!(back, a);
            assert_eq!(back.encode().unwrap(), a.encode().unwrap());
        }
    }

    /// The wire formats are pinned: renaming or reshaping an internal type must
    /// not change a byte. (Regenerate only for a deliberate format change, with
    /// a new version number.)
    #[test]
    fn artifact_bytes_are_pinned() {
        for (a, file) in [
            (Artifact::example(), "example-v4.hex"),
            (Artifact::example_trees(), "trees-v4.hex"),
            (Artifact::example_retail(), "retail-v4.hex"),
        ] {
            let path = alloc::format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
            let got = hex(&a.encode().unwrap());
            match std::fs::read_to_string(&path) {
                Ok(want) => assert_eq!(got, want.trim(), "{file}: the encoding changed"),
                Err(_) if std::env::var_os("PIN_FIXTURES").is_some() => std::fs::write(&path, got).unwrap(),
                Err(e) => panic!("{path}: {e} (PIN_FIXTURES=1 writes it)"),
            }
        }
    }

    #[test]
    fn card_json_is_pinned() {
        for (a, file) in [
            (Artifact::example(), "example-card.json"),
            (Artifact::example_trees(), "trees-card.json"),
            (Artifact::example_retail(), "retail-card.json"),
        ] {
            let model = a.model().unwrap();
            let got = serde_json::to_string_pretty(&a.card(&model)).unwrap();
            let path = alloc::format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
            match std::fs::read_to_string(&path) {
                Ok(want) => assert_eq!(got.trim(), want.trim(), "{file}: the card changed"),
                Err(_) if std::env::var_os("PIN_FIXTURES").is_some() => std::fs::write(&path, got).unwrap(),
                Err(e) => panic!("{path}: {e} (PIN_FIXTURES=1 writes it)"),
            }
        }
    }

    #[test]
    fn version_1_artifacts_still_load() {
        let v1 = unhex(include_str!("../tests/fixtures/example-v1.hex"));
        assert_eq!(le_u16(&v1[8..10]), LEGACY_VERSION);
        let (a, model) = Artifact::load(&v1).unwrap();
        // The version-1 example is today's example as it was then: same model, same figures.
        let today = Artifact::example();
        assert_eq!(a.params, today.params);
        assert_eq!(a.training, today.training);
        assert_eq!(
            (&a.rule, &a.model_name, &a.validation, &a.test),
            (&today.rule, &today.model_name, &today.validation, &today.test)
        );
        assert_eq!(model, today.model().unwrap());
        // Re-encoding writes the current version.
        assert_eq!(le_u16(&a.encode().unwrap()[8..10]), FORMAT_VERSION);
    }

    #[test]
    fn version_3_artifacts_load_with_the_kaggle_schema() {
        for (today, file) in [
            (Artifact::example(), include_str!("../tests/fixtures/example-v3.hex")),
            (Artifact::example_trees(), include_str!("../tests/fixtures/trees-v3.hex")),
        ] {
            let v3 = unhex(file);
            assert_eq!(le_u16(&v3[8..10]), VERSION_3);
            let (a, model) = Artifact::load(&v3).unwrap();
            assert_eq!(a, today, "a version-3 file is today's artifact over the Kaggle schema");
            assert_eq!(model, today.model().unwrap());
            assert_eq!(a.schema.amount_name(), Some("Amount"));
            assert_eq!((a.schema.label(), a.schema.id()), ("Class", None));
        }
        // A version-3 payload with other feature names is not a Kaggle-file model.
        let mut w = Artifact::example().to_wire().base;
        w.base.feature_names.swap(1, 2);
        let bytes = frame(VERSION_3, &bincode::encode_to_vec(&w, bincode_config()).unwrap());
        assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::SchemaMismatch(_))));
    }

    #[test]
    fn version_2_artifacts_still_load_uncalibrated_at_their_f1_threshold() {
        for (today, file) in [
            (Artifact::example(), include_str!("../tests/fixtures/example-v2.hex")),
            (Artifact::example_trees(), include_str!("../tests/fixtures/trees-v2.hex")),
        ] {
            let v2 = unhex(file);
            assert_eq!(le_u16(&v2[8..10]), VERSION_2);
            let (a, model) = Artifact::load(&v2).unwrap();
            assert_eq!(
                (&a.params, &a.training, &a.feature_importance),
                (&today.params, &today.training, &today.feature_importance)
            );
            assert_eq!(a.rule, DecisionRule::at_threshold(today.rule.threshold));
            assert_eq!((a.calibration_test.as_ref(), a.policies.len()), (None, 0));
            // Served as before: the raw sigmoid at the threshold.
            let x = [0.5; 30];
            assert_eq!(model.probability(&x).to_bits(), crate::model::sigmoid(model.logit(&x)).to_bits());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for a in samples() {
            let bytes = a.encode().unwrap();
            for len in 0..bytes.len() {
                let err = Artifact::decode(&bytes[..len]).unwrap_err();
                assert!(matches!(err, ArtifactError::Truncated { .. }), "len {len}: {err:?}");
            }
        }
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        for a in samples() {
            let bytes = a.encode().unwrap();
            for pos in 0..bytes.len() {
                for flip in [0x01u8, 0x80, 0xFF] {
                    let mut b = bytes.clone();
                    b[pos] ^= flip;
                    assert!(Artifact::decode(&b).is_err(), "flip {flip:#x} at {pos} went unnoticed");
                }
            }
        }
    }

    #[test]
    fn distinct_errors() {
        let bytes = Artifact::example().encode().unwrap();
        assert_eq!(Artifact::decode(b"PK\x03\x04 not an artifact at all"), Err(ArtifactError::BadMagic));
        let mut future = bytes.clone();
        future[8] = 5;
        assert_eq!(Artifact::decode(&future), Err(ArtifactError::UnsupportedVersion { found: 5, supported: 4 }));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(Artifact::decode(&longer), Err(ArtifactError::TrailingBytes { .. })));
        let mut corrupt = bytes.clone();
        corrupt[40] ^= 0x10;
        assert!(matches!(Artifact::decode(&corrupt), Err(ArtifactError::ChecksumMismatch { .. })));
        let mut huge = bytes.clone();
        huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Artifact::decode(&huge), Err(ArtifactError::TooLarge { .. })));
    }

    /// Valid framing and checksum around a semantically bad wire artifact.
    fn reseal(w: &ArtifactV4) -> Vec<u8> {
        frame(FORMAT_VERSION, &bincode::encode_to_vec(w, bincode_config()).unwrap())
    }

    #[test]
    fn schema_mismatch_and_invalid_models_are_rejected() {
        let good = Artifact::example().to_wire();
        let mut w = good.clone();
        w.base.base.feature_names[2] = "V1".into();
        assert!(
            matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(m)) if m.contains("\"V1\" is listed twice"))
        );
        let mut w = good.clone();
        w.columns.amount = Some("amount".into());
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(_))));
        let mut w = good.clone();
        w.columns.label = "V3".into();
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(_))));
        let mut w = good.clone();
        w.base.base.feature_names.remove(1);
        assert!(matches!(
            Artifact::decode(&reseal(&w)),
            Err(ArtifactError::InvalidModel(ModelError::WrongLength { .. }))
        ));
        // The trees' per-amount costs need an amount column.
        let mut w = Artifact::example_trees().to_wire();
        w.columns.amount = None;
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good.clone();
        if let WireModel::Logistic { coefficients, .. } = &mut w.base.base.model {
            coefficients.pop();
        }
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good.clone();
        w.base.base.threshold = f64::NAN;
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good.clone();
        w.base.decision.policy = "coin_flip".into();
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good.clone();
        w.base.decision.calibration.slope = -1.0;
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good.clone();
        w.base.decision.costs.accepted_fraud.per_amount = f64::INFINITY;
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = Artifact::example_trees().to_wire();
        if let Some(d) = &mut w.base.drift {
            d.features.pop();
        }
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
        let mut w = good;
        w.base.base.feature_importance = vec![1.0; 3];
        assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    }

    /// Every way a tree artifact can be corrupt is refused on load, by name.
    #[test]
    fn corrupt_trees_are_refused_with_a_specific_error() {
        let good = Artifact::example_trees().to_wire();
        type Corruption<'a> = &'a dyn Fn(&mut Vec<WireTree>, &mut f64);
        let edit = |f: Corruption| {
            let mut w = good.clone();
            if let WireModel::Trees { trees, base_score } = &mut w.base.base.model {
                f(trees, base_score);
            }
            match Artifact::decode(&reseal(&w)) {
                Err(ArtifactError::InvalidModel(ModelError::BadParameter { what, why })) => {
                    alloc::format!("{what}: {why}")
                }
                other => panic!("expected an invalid model, got {other:?}"),
            }
        };
        const L: u32 = crate::trees::LEAF;
        let cases: [(Corruption, &str); 12] = [
            (&|t, _| t[0].splits[0].left = 7, "out of range"),
            (&|t, _| t[0].splits[0].right = L | 9, "out of range"),
            (&|t, _| t[1].splits[1].left = 0, "reached twice"),
            (&|t, _| t[0].splits[1].right = L, "reached twice"),
            (&|t, _| t[1].splits[2].left = 2, "reached twice"),
            (&|t, _| t[0].splits[0].feature = 30, "outside the schema"),
            (&|t, _| t[0].splits[1].threshold = f64::NAN, "threshold must be finite"),
            (&|t, _| t[1].leaves[3].value = f64::INFINITY, "value must be finite"),
            (&|t, _| t[1].splits[0].cover = -1.0, "cover"),
            (&|t, _| t[2].leaves.push(WireLeaf { value: 0.0, cover: 1.0 }), "one more leaf than splits"),
            (&|t, _| t.clear(), "between 1 and 10,000 trees"),
            (&|_, b| *b = f64::NAN, "base score"),
        ];
        for (corrupt, want) in cases {
            let got = edit(corrupt);
            assert!(got.contains(want), "{got:?} should mention {want:?}");
        }
        // An unreachable node (its parent points elsewhere, the count still adds up).
        let got = edit(&|t, _| {
            t[1].splits[0].right = L | 3;
            t[1].splits[2].right = L | 3;
        });
        assert!(got.contains("reached twice") || got.contains("unreachable"), "{got}");
    }

    #[test]
    fn checksum_valid_garbage_payload_is_a_payload_error() {
        let bytes = frame(FORMAT_VERSION, &[0xFFu8; 64]);
        assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::Payload(_))));
        let bytes = frame(LEGACY_VERSION, &[0xFFu8; 64]);
        assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::Payload(_))));
    }

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(model_id(b""), "cbf29ce484222325");
    }
}
