//! What goes into a file or onto the wire: explicit, versioned types, mapped
//! by hand to and from the internal ones ([`crate::artifact::Artifact`],
//! [`crate::Model`]; the mapping is `crate::artifact`'s `From`/`TryFrom` impls).
//!
//! Renaming or reshaping an internal type never changes these; changing these
//! is a format change (a new version, with the old one still read). The
//! artifact payload is in bincode; `model.json` is the same value in JSON.
//!
//! - this module: the parts every payload version shares (metrics,
//!   provenance, parameters, training, decision, money, drift);
//! - [`ArtifactV6`] (`v6.rs`): an imported model's payload (or one summed in
//!   `f32`, or with zero-as-missing splits), format version 6, extending [`ArtifactV5`];
//! - [`ArtifactV5`] (`v5.rs`): the payload of a model with categorical
//!   features or missing values, format version 5, extending [`ArtifactV4`];
//!   a model with neither is still written as format 4;
//! - [`ArtifactV4`] (`v4.rs`): the payload, format version 4, extending
//!   [`ArtifactV3`] (`v3.rs`), which extends [`ArtifactV2`] (`v2.rs`);
//!   [`ArtifactV1`] (`v1.rs`) stands alone. Each older version's file holds
//!   its upgrade to the next (`From`), so every file is read as version 6;
//! - `card.rs`: the [`ModelCard`] the `/model` route, the wasm `summary` and
//!   the report show, and [`CardVisitor`] for runtimes without serde.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

mod card;
mod v1;
mod v2;
mod v3;
mod v4;
mod v5;
mod v6;

pub use card::{CardFeature, CardParameters, CardSchema, CardVisitor, FeatureImportance, ModelCard};
pub use v1::{ArtifactV1, ProvenanceV1};
pub use v2::ArtifactV2;
pub use v3::ArtifactV3;
pub use v4::{ArtifactV4, WireColumns};
pub use v5::{ArtifactV5, WireFeature, WireFeatureKind, WireSplitRoute};
pub use v6::{ArtifactV6, ArtifactV6Tail, WireImported};

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
