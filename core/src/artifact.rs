//! The versioned model artifact: what the trainer writes and every runtime loads.
//!
//! Layout (all integers little-endian):
//!
//! | bytes        | content                                      |
//! |--------------|----------------------------------------------|
//! | 0..8         | magic `FRAUDMDL`                             |
//! | 8..10        | format version (`u16`)                       |
//! | 10..14       | payload length `n` (`u32`)                   |
//! | 14..14+n     | payload: [`Artifact`] in bincode             |
//! | 14+n..18+n   | CRC-32 (IEEE) of bytes `0..14+n`             |
//!
//! Decoding checks, in order: length, magic, version, declared length, checksum,
//! payload, then the model itself (schema and parameters). Each failure has its
//! own [`ArtifactError`]. The format is plain data — loading never executes
//! anything, unlike a pickle — and the payload decoder has a hard allocation limit.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::model::{LogisticWeights, Model, ModelError};
use crate::scaler::Scaler;
use crate::schema::FEATURE_NAMES;

/// First bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"FRAUDMDL";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 14;
const CHECKSUM_LEN: usize = 4;
/// Upper bound on a payload (a real one is ~2 KB); also the decoder's allocation cap.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Evaluation figures of one model on one split, at its chosen threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
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

/// Where a model came from: enough to reproduce it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
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
    /// Inverse L2 regularisation strength.
    pub c: f64,
    /// Solver name.
    pub solver: String,
    /// Solver iterations to convergence.
    pub solver_iterations: u32,
    /// Largest absolute gradient entry at the solution (objective scaled by 1/C).
    pub solver_max_gradient: f64,
    /// The trainer and its version.
    pub trainer: String,
}

/// Everything a runtime needs to score and to describe the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct Artifact {
    /// Which candidate was selected ("baseline", "smote", "class_weighted").
    pub model_name: String,
    /// The input schema, in order; must equal [`FEATURE_NAMES`].
    pub feature_names: Vec<String>,
    /// The scaler fitted on the train split.
    pub scaler: Scaler,
    /// Coefficients over scaled features.
    pub weights: LogisticWeights,
    /// Decision threshold on the probability.
    pub threshold: f64,
    /// How the model was made.
    pub provenance: Provenance,
    /// Metrics on the validation split (where the threshold was chosen).
    pub validation: Metrics,
    /// Metrics on the held-out test split.
    pub test: Metrics,
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
    /// The artifact's feature schema differs from this build's.
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
                "artifact format version {found} is not supported (this build reads version {supported}); retrain or upgrade"
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

impl Artifact {
    /// Encodes to the binary format; fails only when the payload would exceed
    /// [`MAX_PAYLOAD`], which no runtime would load.
    pub fn encode(&self) -> Result<Vec<u8>, ArtifactError> {
        let unlimited = bincode::config::standard().with_little_endian();
        let payload = bincode::encode_to_vec(self, unlimited)
            .expect("bincode encodes plain data (numbers, strings, vectors) into a Vec without failing");
        if payload.len() > MAX_PAYLOAD {
            return Err(ArtifactError::TooLarge { declared: payload.len() });
        }
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CHECKSUM_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        Ok(out)
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
        if version != FORMAT_VERSION {
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
        let (artifact, used): (Artifact, usize) = bincode::decode_from_slice(&body[HEADER_LEN..], bincode_config())
            .map_err(|e| ArtifactError::Payload(PayloadError::Decode(payload_problem(&e))))?;
        if used != declared {
            return Err(ArtifactError::Payload(PayloadError::UnusedBytes(declared - used)));
        }
        let model = artifact.model()?;
        Ok((artifact, model))
    }

    /// Checks the schema and parameters, and builds the scoring [`Model`].
    pub fn model(&self) -> Result<Model, ArtifactError> {
        if self.feature_names.len() != FEATURE_NAMES.len()
            || self.feature_names.iter().zip(FEATURE_NAMES).any(|(a, b)| a != b)
        {
            let mut shown = String::new();
            for (i, name) in self.feature_names.iter().take(4).enumerate() {
                if i > 0 {
                    shown.push_str(", ");
                }
                shown.push_str(name);
            }
            return Err(ArtifactError::SchemaMismatch(format!(
                "artifact has {} features starting [{shown}], this build expects {} starting [Time, V1, V2, V3]",
                self.feature_names.len(),
                FEATURE_NAMES.len(),
            )));
        }
        Model::new(self.model_name.clone(), self.scaler.clone(), self.weights.clone(), self.threshold)
            .map_err(ArtifactError::InvalidModel)
    }
}

#[cfg(any(test, feature = "test-support"))]
impl Artifact {
    /// A small, valid, made-up artifact for the tests of every crate (not a
    /// trained model): tests change the fields they care about.
    pub fn example() -> Artifact {
        use crate::schema::N_FEATURES;
        Artifact {
            model_name: "smote".into(),
            feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            scaler: Scaler {
                mean: (0..N_FEATURES).map(|i| i as f64 * 0.1 - 1.0).collect(),
                scale: (0..N_FEATURES).map(|i| 0.5 + i as f64 * 0.01).collect(),
            },
            weights: LogisticWeights {
                weights: (0..N_FEATURES).map(|i| (i as f64 - 15.0) * 0.037).collect(),
                intercept: -3.25,
            },
            threshold: 0.8125,
            provenance: Provenance { dataset: "synthetic".into(), seed: 42, c: 1.0, ..Provenance::default() },
            validation: Metrics { f1: 0.8, ..Metrics::default() },
            test: Metrics { f1: 0.79, true_positives: 80, ..Metrics::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Artifact {
        Artifact::example()
    }

    #[test]
    fn round_trips_exactly() {
        let a = sample();
        let bytes = a.encode().unwrap();
        assert_eq!(&bytes[..8], b"FRAUDMDL");
        assert_eq!(Artifact::decode(&bytes).unwrap(), a);
    }

    #[test]
    fn json_round_trip_gives_identical_model() {
        let a = sample();
        let json = serde_json::to_string(&a).unwrap();
        let back: Artifact = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.encode().unwrap(), a.encode().unwrap());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode().unwrap();
        for len in 0..bytes.len() {
            let err = Artifact::decode(&bytes[..len]).unwrap_err();
            assert!(matches!(err, ArtifactError::Truncated { .. }), "len {len}: {err:?}");
        }
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let bytes = sample().encode().unwrap();
        for pos in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[pos] ^= flip;
                assert!(Artifact::decode(&b).is_err(), "flip {flip:#x} at {pos} went unnoticed");
            }
        }
    }

    #[test]
    fn distinct_errors() {
        let bytes = sample().encode().unwrap();
        assert_eq!(Artifact::decode(b"PK\x03\x04 not an artifact at all"), Err(ArtifactError::BadMagic));
        let mut future = bytes.clone();
        future[8] = 2;
        assert_eq!(Artifact::decode(&future), Err(ArtifactError::UnsupportedVersion { found: 2, supported: 1 }));
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

    fn reseal(a: &Artifact) -> Vec<u8> {
        // Valid framing and checksum around a semantically bad artifact.
        let mut bytes = vec![];
        let payload = bincode::encode_to_vec(a, bincode_config()).unwrap();
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn schema_mismatch_and_invalid_models_are_rejected() {
        let mut a = sample();
        a.feature_names.swap(1, 2);
        assert!(matches!(Artifact::decode(&reseal(&a)), Err(ArtifactError::SchemaMismatch(_))));
        let mut a = sample();
        a.feature_names.pop();
        assert!(matches!(Artifact::decode(&reseal(&a)), Err(ArtifactError::SchemaMismatch(_))));
        let mut a = sample();
        a.weights.weights.pop();
        assert!(matches!(Artifact::decode(&reseal(&a)), Err(ArtifactError::InvalidModel(_))));
        let mut a = sample();
        a.threshold = f64::NAN;
        assert!(matches!(Artifact::decode(&reseal(&a)), Err(ArtifactError::InvalidModel(_))));
    }

    #[test]
    fn checksum_valid_garbage_payload_is_a_payload_error() {
        let mut bytes = vec![];
        let payload = [0xFFu8; 64];
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let crc = crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::Payload(_))));
    }

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(model_id(b""), "cbf29ce484222325");
    }
}
