//! The artifact payload this build writes: format version 4.

use alloc::string::String;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::ArtifactV3;

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
