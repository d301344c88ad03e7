//! The artifact payload, format version 3, and how it is read as version 4.

use alloc::string::ToString;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::{
    ArtifactV2, ArtifactV4, WireCalibrationReport, WireColumns, WireDecision, WireDriftReference, WirePolicyReport,
};
use crate::schema::{DEFAULT_AMOUNT, DEFAULT_LABEL};

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

/// A version-3 payload read as version 4: the Kaggle file's columns (the
/// loader checks its features are the Kaggle file's).
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
