//! The artifact payload for tables with categorical columns and missing
//! values: format version 5. A model without either is still written as
//! format 4 (the same bytes as before), so older runtimes keep reading it.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::ArtifactV4;

/// A feature's kind and what training saw of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireFeatureKind {
    /// A number.
    Numeric,
    /// A text column's categories kept in training, in code order (code `len` is "other").
    Text {
        /// The categories.
        categories: Vec<String>,
    },
    /// A numeric-coded column's categories (`--categorical`), in code order.
    Numbers {
        /// The categories.
        categories: Vec<f64>,
    },
}

/// One feature, in schema order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireFeature {
    /// Numeric or categorical, with its vocabulary.
    #[serde(flatten)]
    pub kind: WireFeatureKind,
    /// Share of train rows where it was missing.
    pub missing_rate: f64,
    /// Train rows merged into "other" (rare categories), as a share.
    pub other_rate: f64,
}

/// What a tree split adds in format 5, in the order of the trees' splits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireSplitRoute {
    /// Missing values go left.
    pub missing_left: bool,
    /// A category split: index into `category_sets` (codes in it go left).
    pub categories: Option<u32>,
}

/// The payload, format version 5: version 4's and the table's kinds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV5 {
    /// Everything version 4 held. A logistic model's scaler and coefficients
    /// are over its expanded columns (see `crate::logistic`).
    #[serde(flatten)]
    pub base: ArtifactV4,
    /// Whether a value may be missing (every model written as format 5: yes).
    pub accepts_missing: bool,
    /// Per feature, in schema order.
    pub features: Vec<WireFeature>,
    /// Trees: per tree, per split, the missing direction and category set.
    pub routes: Vec<Vec<WireSplitRoute>>,
    /// Trees: the category sets, 256-bit masks as four words.
    pub category_sets: Vec<[u64; 4]>,
    /// Logistic: per feature, whether it has a missing-indicator column.
    pub indicators: Vec<bool>,
}

impl From<ArtifactV4> for ArtifactV5 {
    /// A format-4 payload: every feature numeric, none ever missing.
    fn from(base: ArtifactV4) -> ArtifactV5 {
        let n = base.base.base.feature_names.len();
        let features = (0..n)
            .map(|_| WireFeature { kind: WireFeatureKind::Numeric, missing_rate: 0.0, other_rate: 0.0 })
            .collect();
        ArtifactV5 {
            base,
            accepts_missing: false,
            features,
            routes: Vec::new(),
            category_sets: Vec::new(),
            indicators: Vec::new(),
        }
    }
}
