//! What goes into a file or onto the wire: explicit, versioned types, mapped
//! by hand to and from the internal ones ([`crate::artifact::Artifact`],
//! [`crate::Model`]).
//!
//! Renaming or reshaping an internal type never changes these; changing these
//! is a format change (a new version, with the old one still read). The
//! artifact payload is in bincode; `model.json` is the same value in JSON;
//! [`ArtifactV3`] is the payload, format version 3; [`ArtifactV2`]
//! and [`ArtifactV1`] are the previous payloads, still loaded. The
//! `/model` card and the wasm `summary` are built from these types too.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Evaluation figures of a model on one split, at its threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireMetrics {
    /// Decision threshold the counts were taken at.
    pub threshold: f64,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Average precision.
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

/// Where a model came from (data, split, resampling, trainer).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireProvenance {
    /// Data source.
    pub dataset: String,
    /// SHA-256 of the CSV bytes (hex).
    pub dataset_sha256: String,
    /// Trained on generated data.
    pub synthetic: bool,
    /// Rows in the dataset.
    pub rows_total: u64,
    /// Frauds in the dataset.
    pub frauds_total: u64,
    /// Rows in the train split.
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
    /// Fraction in validation.
    pub validation_fraction: f64,
    /// Fraction in test.
    pub test_fraction: f64,
    /// SMOTE neighbours (0: not used).
    pub smote_k: u32,
    /// SMOTE target ratio (0: not used).
    pub smote_ratio: f64,
    /// Loss weights of the legitimate and the fraud class.
    pub class_weights: [f64; 2],
    /// The trainer and its version.
    pub trainer: String,
}

/// One split node of a tree (see `crate::trees` for the encoding of children).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireSplit {
    /// Schema index of the feature.
    pub feature: u32,
    /// `x[feature] < threshold` goes left.
    pub threshold: f64,
    /// Left child (split index, or leaf index with the top bit set).
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Training weight that reached the node.
    pub cover: f64,
}

/// One leaf.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireLeaf {
    /// Contribution to the logit.
    pub value: f64,
    /// Training weight that reached it.
    pub cover: f64,
}

/// One tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireTree {
    /// Split nodes; 0 is the root.
    pub splits: Vec<WireSplit>,
    /// Leaves.
    pub leaves: Vec<WireLeaf>,
}

/// The scorer's parameters, tagged by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireModel {
    /// Logistic regression over standardised features.
    Logistic {
        /// Scaler means, schema order.
        scaler_mean: Vec<f64>,
        /// Scaler scales (population std).
        scaler_scale: Vec<f64>,
        /// Coefficients over scaled features.
        coefficients: Vec<f64>,
        /// Intercept.
        intercept: f64,
    },
    /// Gradient-boosted trees over raw features.
    Trees {
        /// Starting logit.
        base_score: f64,
        /// Trees in summing order.
        trees: Vec<WireTree>,
    },
}

/// How the scorer was fitted, tagged by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireTraining {
    /// The logistic solver.
    Logistic {
        /// Inverse L2 strength (scikit-learn's C).
        c: f64,
        /// Solver name.
        solver: String,
        /// Iterations to convergence.
        iterations: u32,
        /// Largest absolute gradient entry at the solution.
        max_gradient: f64,
    },
    /// The booster.
    Trees {
        /// Shrinkage.
        learning_rate: f64,
        /// Leaves per tree at most.
        max_leaves: u32,
        /// Depth at most.
        max_depth: u32,
        /// L2 on leaf values.
        l2: f64,
        /// Minimum hessian per leaf.
        min_child_hessian: f64,
        /// Minimum rows per leaf.
        min_rows_leaf: u32,
        /// Row subsampling per round.
        row_fraction: f64,
        /// Column subsampling per tree.
        col_fraction: f64,
        /// Quantile bins per feature at most.
        max_bins: u32,
        /// Rounds kept (best on validation).
        rounds: u32,
        /// Rounds run before early stopping.
        rounds_run: u32,
        /// Patience of early stopping.
        early_stopping_rounds: u32,
    },
}

/// The artifact payload, format version 2 (no decision rule: an F1 threshold).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV2 {
    /// Which candidate was selected.
    pub model_name: String,
    /// The input schema, in order.
    pub feature_names: Vec<String>,
    /// Decision threshold on the probability.
    pub threshold: f64,
    /// The scorer.
    pub model: WireModel,
    /// How it was fitted.
    pub training: WireTraining,
    /// Where it came from.
    pub provenance: WireProvenance,
    /// Mean |contribution| per feature on validation, schema order (empty: not measured).
    pub feature_importance: Vec<f64>,
    /// Metrics on validation (where the threshold was chosen).
    pub validation: WireMetrics,
    /// Metrics on test.
    pub test: WireMetrics,
}

/// One outcome's value: `fixed + per_amount · amount`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireBenefit {
    /// Independent of the amount.
    pub fixed: f64,
    /// Times the amount.
    pub per_amount: f64,
}

/// The cost model: each outcome's value, in one currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireCosts {
    /// Currency name.
    pub currency: String,
    /// A fraud refused.
    pub refused_fraud: WireBenefit,
    /// A fraud accepted.
    pub accepted_fraud: WireBenefit,
    /// A legitimate transaction refused.
    pub refused_legitimate: WireBenefit,
    /// A legitimate transaction accepted.
    pub accepted_legitimate: WireBenefit,
}

/// The logit → probability map: `sigmoid(slope · logit + intercept)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireCalibration {
    /// `none`, `platt` or `prior_correction`.
    pub method: String,
    /// Multiplies the logit.
    pub slope: f64,
    /// Added after.
    pub intercept: f64,
}

/// How a logit becomes a decision (the threshold is version 2's field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireDecision {
    /// `f1_threshold`, `net_benefit_threshold`, `cost_optimal` or `manual_threshold`.
    pub policy: String,
    /// Logit → probability.
    pub calibration: WireCalibration,
    /// What each outcome is worth.
    pub costs: WireCosts,
}

/// The money a policy's decisions made on one split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireTally {
    /// Transactions decided.
    pub transactions: u64,
    /// Frauds refused.
    pub frauds_stopped: u64,
    /// Frauds accepted.
    pub frauds_missed: u64,
    /// Legitimate transactions refused.
    pub false_alarms: u64,
    /// Amount of the frauds refused.
    pub stopped_amount: f64,
    /// Amount of the frauds accepted.
    pub missed_amount: f64,
    /// What the false alarms cost.
    pub false_alarm_cost: f64,
    /// Sum of the decisions' values.
    pub net_benefit: f64,
    /// What accepting everything would have made.
    pub accept_all: f64,
    /// What refusing everything would have made.
    pub refuse_all: f64,
}

/// One policy's figures on validation (where it was chosen) and test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WirePolicyReport {
    /// Policy name.
    pub policy: String,
    /// Its threshold (none for `cost_optimal`).
    pub threshold: Option<f64>,
    /// On validation.
    pub validation: WireTally,
    /// On test.
    pub test: WireTally,
}

/// One bin of a reliability diagram.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireReliabilityBin {
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

/// How well the served probabilities match the outcomes on test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireCalibrationReport {
    /// Mean squared error of the probability.
    pub brier: f64,
    /// Mean negative log-likelihood (natural log).
    pub log_loss: f64,
    /// Sum of the probabilities.
    pub expected_frauds: f64,
    /// Frauds there were.
    pub observed_frauds: u64,
    /// The reliability diagram's bins (empty bins left out).
    pub reliability: Vec<WireReliabilityBin>,
}

/// One value's quantile bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireBins {
    /// Interior cut points, ascending.
    pub edges: Vec<f64>,
    /// Reference share per bin.
    pub shares: Vec<f64>,
}

/// The training reference drift is measured against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireDriftReference {
    /// One per input, schema order (train split).
    pub features: Vec<WireBins>,
    /// The served probability (validation split).
    pub score: WireBins,
    /// Fraud rate of the train split.
    pub base_rate: f64,
    /// Share of validation the served policy refuses.
    pub flagged_rate: f64,
}

/// The artifact payload, format version 3: version 2's payload, then the
/// decision rule (calibration, policy, costs), the money and calibration
/// figures and the drift reference. Extending rather than re-listing keeps one
/// decoder for the fields both versions share (the browser build counts bytes);
/// in JSON the version-2 fields sit at the top level as before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV3 {
    /// Everything version 2 held; its `threshold` is the decision rule's.
    #[serde(flatten)]
    pub base: ArtifactV2,
    /// Calibration, policy and costs.
    pub decision: WireDecision,
    /// Calibration on test (none: not measured).
    pub calibration_test: Option<WireCalibrationReport>,
    /// Every policy the trainer weighed (empty: none).
    pub policies: Vec<WirePolicyReport>,
    /// What drift is measured against (none: not recorded).
    pub drift: Option<WireDriftReference>,
}

/// The training file's columns beyond the features (format 4): what the
/// label and the id were called, and which feature is the amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireColumns {
    /// The label column.
    pub label: String,
    /// The id column (carried through files, never a feature), if any.
    pub id: Option<String>,
    /// The feature the money is proportional to, if any.
    pub amount: Option<String>,
}

/// The artifact payload, format version 4: version 3's payload and the
/// training file's columns, so the schema (its features are version 2's
/// `feature_names`) is anything a user trained on, not only the Kaggle file's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV4 {
    /// Everything version 3 held.
    #[serde(flatten)]
    pub base: ArtifactV3,
    /// Label, id and amount columns.
    pub columns: WireColumns,
}

/// Version 1's provenance: logistic solver details were part of it.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub struct ProvenanceV1 {
    /// See [`WireProvenance`].
    pub dataset: String,
    /// See [`WireProvenance`].
    pub dataset_sha256: String,
    /// See [`WireProvenance`].
    pub synthetic: bool,
    /// See [`WireProvenance`].
    pub rows_total: u64,
    /// See [`WireProvenance`].
    pub frauds_total: u64,
    /// See [`WireProvenance`].
    pub rows_train: u64,
    /// See [`WireProvenance`].
    pub rows_validation: u64,
    /// See [`WireProvenance`].
    pub rows_test: u64,
    /// See [`WireProvenance`].
    pub rows_fitted: u64,
    /// See [`WireProvenance`].
    pub seed: u64,
    /// See [`WireProvenance`].
    pub train_fraction: f64,
    /// See [`WireProvenance`].
    pub validation_fraction: f64,
    /// See [`WireProvenance`].
    pub test_fraction: f64,
    /// See [`WireProvenance`].
    pub smote_k: u32,
    /// See [`WireProvenance`].
    pub smote_ratio: f64,
    /// See [`WireProvenance`].
    pub class_weights: [f64; 2],
    /// Inverse L2 strength.
    pub c: f64,
    /// Solver name.
    pub solver: String,
    /// Solver iterations.
    pub solver_iterations: u32,
    /// Largest gradient entry at the solution.
    pub solver_max_gradient: f64,
    /// See [`WireProvenance`].
    pub trainer: String,
}

/// The artifact payload, format version 1 (logistic only), as earlier trainers wrote it.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub struct ArtifactV1 {
    /// Which candidate.
    pub model_name: String,
    /// The schema.
    pub feature_names: Vec<String>,
    /// Scaler means.
    pub scaler_mean: Vec<f64>,
    /// Scaler scales.
    pub scaler_scale: Vec<f64>,
    /// Coefficients.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Threshold.
    pub threshold: f64,
    /// Provenance.
    pub provenance: ProvenanceV1,
    /// Validation metrics.
    pub validation: WireMetrics,
    /// Test metrics.
    pub test: WireMetrics,
}

impl From<ArtifactV1> for ArtifactV2 {
    fn from(v1: ArtifactV1) -> ArtifactV2 {
        let p = v1.provenance;
        ArtifactV2 {
            model_name: v1.model_name,
            feature_names: v1.feature_names,
            threshold: v1.threshold,
            model: WireModel::Logistic {
                scaler_mean: v1.scaler_mean,
                scaler_scale: v1.scaler_scale,
                coefficients: v1.weights,
                intercept: v1.intercept,
            },
            training: WireTraining::Logistic {
                c: p.c,
                solver: p.solver,
                iterations: p.solver_iterations,
                max_gradient: p.solver_max_gradient,
            },
            provenance: WireProvenance {
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
            feature_importance: Vec::new(),
            validation: v1.validation,
            test: v1.test,
        }
    }
}

/// A feature and its global importance, for cards and reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Mean |contribution| on validation, logit units.
    pub importance: f64,
}

/// The scorer as a model card describes it (sizes, not every parameter for trees).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardParameters {
    /// Logistic: every parameter (they are few).
    Logistic {
        /// Scaler means.
        scaler_mean: Vec<f64>,
        /// Scaler scales.
        scaler_scale: Vec<f64>,
        /// Coefficients over scaled features.
        coefficients: Vec<f64>,
        /// Intercept.
        intercept: f64,
    },
    /// Trees: the ensemble's shape.
    Trees {
        /// Number of trees.
        trees: u32,
        /// Deepest tree.
        max_depth: u32,
        /// Most leaves in a tree.
        max_leaves: u32,
        /// Starting logit.
        base_score: f64,
        /// TreeSHAP's base value (expected logit).
        expected_value: f64,
    },
}

/// The inputs a model takes, as its card shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardSchema {
    /// Feature names, in row order: a request has exactly these fields.
    pub features: Vec<String>,
    /// The training file's label column.
    pub label: String,
    /// The training file's id column (null: none).
    pub id: Option<String>,
    /// The amount feature the money is proportional to (null: none).
    pub amount: Option<String>,
    /// Largest accepted |value| of a feature.
    pub max_abs_value: f64,
}

/// What `GET /model`, the wasm `summary` and the report say about a model,
/// whatever its kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCard {
    /// Candidate name.
    pub name: String,
    /// `"logistic"` or `"trees"`.
    pub kind: &'static str,
    /// The inputs.
    pub schema: CardSchema,
    /// Threshold on the calibrated probability (applied by the threshold policies).
    pub threshold: f64,
    /// How the decision is taken.
    pub policy: &'static str,
    /// Logit → probability.
    pub calibration: WireCalibration,
    /// What each outcome is worth.
    pub costs: WireCosts,
    /// The scorer's parameters (or shape).
    pub parameters: CardParameters,
    /// How it was fitted.
    pub training: WireTraining,
    /// Where it came from.
    pub provenance: WireProvenance,
    /// Features by global importance, largest first.
    pub feature_importance: Vec<FeatureImportance>,
    /// Metrics on validation.
    pub validation: WireMetrics,
    /// Metrics on test.
    pub test: WireMetrics,
    /// Calibration on test (null: not measured).
    pub calibration_test: Option<WireCalibrationReport>,
    /// Every policy the trainer weighed, on validation and test.
    pub policies: Vec<WirePolicyReport>,
}

/// Receives a [`ModelCard`] piece by piece ([`ModelCard::visit`]): how a runtime
/// without serde (the wasm package builds JS objects) turns the card into its
/// own values without knowing the model's kind, and without the float-to-text
/// code a JSON string would pull into a wasm binary.
pub trait CardVisitor {
    /// An object starts; `key`/value pairs follow until `end`.
    fn begin_object(&mut self);
    /// A list starts; values follow until `end`.
    fn begin_list(&mut self);
    /// The current object or list ends.
    fn end(&mut self);
    /// The next value's key in the current object.
    fn key(&mut self, key: &str);
    /// A number.
    fn number(&mut self, x: f64);
    /// A whole number (counts).
    fn integer(&mut self, n: u64);
    /// Text.
    fn text(&mut self, s: &str);
    /// A boolean.
    fn boolean(&mut self, b: bool);
    /// No value (JSON `null`).
    fn null(&mut self);
}

fn field_num<V: CardVisitor>(v: &mut V, k: &str, x: f64) {
    v.key(k);
    v.number(x);
}

fn field_int<V: CardVisitor>(v: &mut V, k: &str, n: u64) {
    v.key(k);
    v.integer(n);
}

fn field_text<V: CardVisitor>(v: &mut V, k: &str, s: &str) {
    v.key(k);
    v.text(s);
}

fn field_nums<V: CardVisitor>(v: &mut V, k: &str, xs: &[f64]) {
    v.key(k);
    v.begin_list();
    for &x in xs {
        v.number(x);
    }
    v.end();
}

fn field_opt_text<V: CardVisitor>(v: &mut V, k: &str, s: Option<&str>) {
    v.key(k);
    match s {
        Some(s) => v.text(s),
        None => v.null(),
    }
}

fn schema<V: CardVisitor>(v: &mut V, s: &CardSchema) {
    v.key("schema");
    v.begin_object();
    v.key("features");
    v.begin_list();
    for f in &s.features {
        v.text(f);
    }
    v.end();
    field_text(v, "label", &s.label);
    field_opt_text(v, "id", s.id.as_deref());
    field_opt_text(v, "amount", s.amount.as_deref());
    field_num(v, "max_abs_value", s.max_abs_value);
    v.end();
}

fn metrics<V: CardVisitor>(v: &mut V, k: &str, m: &WireMetrics) {
    v.key(k);
    v.begin_object();
    for (k, x) in [
        ("threshold", m.threshold),
        ("precision", m.precision),
        ("recall", m.recall),
        ("f1", m.f1),
        ("average_precision", m.average_precision),
        ("roc_auc", m.roc_auc),
    ] {
        field_num(v, k, x);
    }
    for (k, n) in [
        ("true_positives", m.true_positives),
        ("false_positives", m.false_positives),
        ("true_negatives", m.true_negatives),
        ("false_negatives", m.false_negatives),
    ] {
        field_int(v, k, n);
    }
    v.end();
}

fn provenance<V: CardVisitor>(v: &mut V, p: &WireProvenance) {
    v.key("provenance");
    v.begin_object();
    field_text(v, "dataset", &p.dataset);
    field_text(v, "dataset_sha256", &p.dataset_sha256);
    v.key("synthetic");
    v.boolean(p.synthetic);
    for (k, n) in [
        ("rows_total", p.rows_total),
        ("frauds_total", p.frauds_total),
        ("rows_train", p.rows_train),
        ("rows_validation", p.rows_validation),
        ("rows_test", p.rows_test),
        ("rows_fitted", p.rows_fitted),
        ("seed", p.seed),
    ] {
        field_int(v, k, n);
    }
    field_num(v, "train_fraction", p.train_fraction);
    field_num(v, "validation_fraction", p.validation_fraction);
    field_num(v, "test_fraction", p.test_fraction);
    field_int(v, "smote_k", p.smote_k.into());
    field_num(v, "smote_ratio", p.smote_ratio);
    field_nums(v, "class_weights", &p.class_weights);
    field_text(v, "trainer", &p.trainer);
    v.end();
}

fn training<V: CardVisitor>(v: &mut V, t: &WireTraining) {
    v.key("training");
    v.begin_object();
    match t {
        WireTraining::Logistic { c, solver, iterations, max_gradient } => {
            field_text(v, "kind", "logistic");
            field_num(v, "c", *c);
            field_text(v, "solver", solver);
            field_int(v, "iterations", (*iterations).into());
            field_num(v, "max_gradient", *max_gradient);
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
        } => {
            field_text(v, "kind", "trees");
            field_num(v, "learning_rate", *learning_rate);
            field_int(v, "max_leaves", (*max_leaves).into());
            field_int(v, "max_depth", (*max_depth).into());
            field_num(v, "l2", *l2);
            field_num(v, "min_child_hessian", *min_child_hessian);
            field_int(v, "min_rows_leaf", (*min_rows_leaf).into());
            field_num(v, "row_fraction", *row_fraction);
            field_num(v, "col_fraction", *col_fraction);
            field_int(v, "max_bins", (*max_bins).into());
            field_int(v, "rounds", (*rounds).into());
            field_int(v, "rounds_run", (*rounds_run).into());
            field_int(v, "early_stopping_rounds", (*early_stopping_rounds).into());
        }
    }
    v.end();
}

fn parameters<V: CardVisitor>(v: &mut V, p: &CardParameters) {
    v.key("parameters");
    v.begin_object();
    match p {
        CardParameters::Logistic { scaler_mean, scaler_scale, coefficients, intercept } => {
            field_text(v, "kind", "logistic");
            field_nums(v, "scaler_mean", scaler_mean);
            field_nums(v, "scaler_scale", scaler_scale);
            field_nums(v, "coefficients", coefficients);
            field_num(v, "intercept", *intercept);
        }
        CardParameters::Trees { trees, max_depth, max_leaves, base_score, expected_value } => {
            field_text(v, "kind", "trees");
            field_int(v, "trees", (*trees).into());
            field_int(v, "max_depth", (*max_depth).into());
            field_int(v, "max_leaves", (*max_leaves).into());
            field_num(v, "base_score", *base_score);
            field_num(v, "expected_value", *expected_value);
        }
    }
    v.end();
}

fn benefit<V: CardVisitor>(v: &mut V, k: &str, b: &WireBenefit) {
    v.key(k);
    v.begin_object();
    field_num(v, "fixed", b.fixed);
    field_num(v, "per_amount", b.per_amount);
    v.end();
}

fn costs<V: CardVisitor>(v: &mut V, c: &WireCosts) {
    v.key("costs");
    v.begin_object();
    field_text(v, "currency", &c.currency);
    benefit(v, "refused_fraud", &c.refused_fraud);
    benefit(v, "accepted_fraud", &c.accepted_fraud);
    benefit(v, "refused_legitimate", &c.refused_legitimate);
    benefit(v, "accepted_legitimate", &c.accepted_legitimate);
    v.end();
}

fn tally<V: CardVisitor>(v: &mut V, k: &str, t: &WireTally) {
    v.key(k);
    v.begin_object();
    for (k, n) in [
        ("transactions", t.transactions),
        ("frauds_stopped", t.frauds_stopped),
        ("frauds_missed", t.frauds_missed),
        ("false_alarms", t.false_alarms),
    ] {
        field_int(v, k, n);
    }
    for (k, x) in [
        ("stopped_amount", t.stopped_amount),
        ("missed_amount", t.missed_amount),
        ("false_alarm_cost", t.false_alarm_cost),
        ("net_benefit", t.net_benefit),
        ("accept_all", t.accept_all),
        ("refuse_all", t.refuse_all),
    ] {
        field_num(v, k, x);
    }
    v.end();
}

fn calibration_test<V: CardVisitor>(v: &mut V, r: Option<&WireCalibrationReport>) {
    v.key("calibration_test");
    let Some(r) = r else {
        v.null();
        return;
    };
    v.begin_object();
    field_num(v, "brier", r.brier);
    field_num(v, "log_loss", r.log_loss);
    field_num(v, "expected_frauds", r.expected_frauds);
    field_int(v, "observed_frauds", r.observed_frauds);
    v.key("reliability");
    v.begin_list();
    for b in &r.reliability {
        v.begin_object();
        field_num(v, "lower", b.lower);
        field_num(v, "upper", b.upper);
        field_int(v, "rows", b.rows);
        field_num(v, "mean_probability", b.mean_probability);
        field_num(v, "fraud_rate", b.fraud_rate);
        v.end();
    }
    v.end();
    v.end();
}

impl ModelCard {
    /// Walks the card in the order and with the keys its `Serialize` uses.
    pub fn visit<V: CardVisitor>(&self, v: &mut V) {
        v.begin_object();
        field_text(v, "name", &self.name);
        field_text(v, "kind", self.kind);
        schema(v, &self.schema);
        field_num(v, "threshold", self.threshold);
        field_text(v, "policy", self.policy);
        v.key("calibration");
        v.begin_object();
        field_text(v, "method", &self.calibration.method);
        field_num(v, "slope", self.calibration.slope);
        field_num(v, "intercept", self.calibration.intercept);
        v.end();
        costs(v, &self.costs);
        parameters(v, &self.parameters);
        training(v, &self.training);
        provenance(v, &self.provenance);
        v.key("feature_importance");
        v.begin_list();
        for f in &self.feature_importance {
            v.begin_object();
            field_text(v, "feature", &f.feature);
            field_num(v, "importance", f.importance);
            v.end();
        }
        v.end();
        metrics(v, "validation", &self.validation);
        metrics(v, "test", &self.test);
        calibration_test(v, self.calibration_test.as_ref());
        v.key("policies");
        v.begin_list();
        for p in &self.policies {
            v.begin_object();
            field_text(v, "policy", &p.policy);
            v.key("threshold");
            match p.threshold {
                Some(t) => v.number(t),
                None => v.null(),
            }
            tally(v, "validation", &p.validation);
            tally(v, "test", &p.test);
            v.end();
        }
        v.end();
        v.end();
    }
}

#[cfg(test)]
mod tests {
    use super::CardVisitor;
    use crate::artifact::Artifact;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// JSON text from the visitor; each open container: (is a list, has an item).
    struct Json(String, Vec<(bool, bool)>);

    impl Json {
        fn item(&mut self) {
            let after_key = self.0.ends_with(':');
            if let Some((_, started)) = self.1.last_mut() {
                if *started && !after_key {
                    self.0.push(',');
                }
                *started = true;
            }
        }

        fn open(&mut self, list: bool) {
            self.item();
            self.0.push(if list { '[' } else { '{' });
            self.1.push((list, false));
        }
    }

    impl CardVisitor for Json {
        fn begin_object(&mut self) {
            self.open(false);
        }
        fn begin_list(&mut self) {
            self.open(true);
        }
        fn end(&mut self) {
            let (list, _) = self.1.pop().expect("end() matches a begin");
            self.0.push(if list { ']' } else { '}' });
        }
        fn key(&mut self, key: &str) {
            self.item();
            self.0.push_str(&serde_json::to_string(key).unwrap());
            self.0.push(':');
        }
        fn number(&mut self, x: f64) {
            self.item();
            self.0.push_str(&serde_json::to_string(&x).unwrap());
        }
        fn integer(&mut self, n: u64) {
            self.item();
            self.0.push_str(&alloc::format!("{n}"));
        }
        fn text(&mut self, s: &str) {
            self.item();
            self.0.push_str(&serde_json::to_string(s).unwrap());
        }
        fn boolean(&mut self, b: bool) {
            self.item();
            self.0.push_str(if b { "true" } else { "false" });
        }
        fn null(&mut self) {
            self.item();
            self.0.push_str("null");
        }
    }

    #[test]
    fn visiting_the_card_gives_what_serde_gives() {
        for mut a in [Artifact::example(), Artifact::example_trees(), Artifact::example_retail()] {
            a.provenance.dataset = "quote \" backslash \\ tab \t".into();
            let card = a.card(&a.model().unwrap());
            let mut json = Json(String::new(), Vec::new());
            card.visit(&mut json);
            let visited: serde_json::Value = serde_json::from_str(&json.0).unwrap();
            assert_eq!(visited, serde_json::to_value(&card).unwrap());
        }
    }
}
