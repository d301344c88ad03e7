//! The artifact payload, format version 1 (logistic only, as earlier trainers
//! wrote it), and how it is read as version 2.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};

use super::{ArtifactV2, WireMetrics, WireModel, WireProvenance, WireTraining};

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
