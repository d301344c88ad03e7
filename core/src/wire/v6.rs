//! The artifact payload of an imported model (and of any ensemble summed in
//! `f32` or with zero-as-missing splits): format version 6. Every other model
//! is still written as format 5 or 4, byte for byte as before.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::ArtifactV5;

/// Where an imported model came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireImported {
    /// The library that trained it (`xgboost`, `lightgbm`).
    pub library: String,
    /// Its version, as the model file records it (empty when it does not).
    pub version: String,
    /// The model file's format (`json`, `ubjson`, `text`).
    pub format: String,
    /// The model file's name.
    pub file_name: String,
    /// SHA-256 of the model file's bytes (hex).
    pub file_sha256: String,
    /// The model's objective, as the file names it.
    pub objective: String,
}

/// The payload, format version 6: version 5's, the trees' arithmetic and the model's origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV6 {
    /// Everything version 5 held.
    #[serde(flatten)]
    pub base: ArtifactV5,
    /// Trees: leaves summed in `f32` (XGBoost's accumulator) rather than `f64`.
    pub leaf_sum_f32: bool,
    /// Trees: per tree, per split, whether `|x| <= 1e-35` is missing too
    /// (LightGBM's zero-as-missing); empty when no split is.
    pub missing_zero: Vec<Vec<bool>>,
    /// An imported model's origin (none for a model trained here).
    pub imported: Option<WireImported>,
}

/// What format 6 adds after version 5's bytes: an [`ArtifactV6`]'s bincode is
/// an [`ArtifactV5`]'s followed by this, so a reader decodes the two parts with
/// the one version-5 decoder every format shares (half the wasm of a second).
#[derive(Clone, Debug, PartialEq, Decode)]
pub struct ArtifactV6Tail {
    /// [`ArtifactV6::leaf_sum_f32`].
    pub leaf_sum_f32: bool,
    /// [`ArtifactV6::missing_zero`].
    pub missing_zero: Vec<Vec<bool>>,
    /// [`ArtifactV6::imported`].
    pub imported: Option<WireImported>,
}

impl ArtifactV6 {
    /// The payload of its two parts.
    pub fn from_parts(base: ArtifactV5, tail: ArtifactV6Tail) -> ArtifactV6 {
        let ArtifactV6Tail { leaf_sum_f32, missing_zero, imported } = tail;
        ArtifactV6 { base, leaf_sum_f32, missing_zero, imported }
    }
}

impl From<ArtifactV5> for ArtifactV6 {
    /// A format-5 payload: `f64` sums, no zero-as-missing split, trained here.
    fn from(base: ArtifactV5) -> ArtifactV6 {
        ArtifactV6 { base, leaf_sum_f32: false, missing_zero: Vec::new(), imported: None }
    }
}
