//! The artifact payload, format version 2, and how it is read as version 3.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::{ArtifactV3, WireDecision, WireMetrics, WireModel, WireProvenance, WireTraining};
use crate::decision::DecisionRule;

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

/// A version-2 payload read as version 3: the rule it was served with —
/// uncalibrated, at its F1 threshold, the default costs — and no figures.
impl From<ArtifactV2> for ArtifactV3 {
    fn from(v2: ArtifactV2) -> ArtifactV3 {
        ArtifactV3 {
            decision: WireDecision::from(&DecisionRule::at_threshold(v2.threshold)),
            base: v2,
            calibration_test: None,
            policies: Vec::new(),
            drift: None,
        }
    }
}
