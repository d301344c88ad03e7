//! The frame around a payload — magic, version, length, payload, CRC-32 (the
//! layout is in [`crate::artifact`]'s docs) — its checks, in order, and why
//! bytes are not an artifact ([`ArtifactError`]). Nothing here knows what the
//! payload holds.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::error::ModelError;

/// First bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"FRAUDMDL";
/// The format version this build writes (it also reads every version from [`LEGACY_VERSION`]).
pub const FORMAT_VERSION: u16 = 6;
/// Format 5: tables with categories and missing values (still written for them).
pub const VERSION_5: u16 = 5;
/// Format 4: what a model without categorical features or missing values is still written as.
pub const VERSION_4: u16 = 4;
/// The oldest version still read: logistic-only artifacts of earlier trainers.
pub const LEGACY_VERSION: u16 = 1;
/// Version 2: any kind, no decision rule (an uncalibrated F1 threshold).
pub const VERSION_2: u16 = 2;
/// Version 3: the decision rule and money figures, the Kaggle file's schema.
pub const VERSION_3: u16 = 3;
/// Upper bound on a payload (a logistic model's is ~2 KB, 1,000 imported trees ~2 MB); also the decoder's allocation cap.
pub const MAX_PAYLOAD: usize = 1 << 25;
const HEADER_LEN: usize = 14;
const CHECKSUM_LEN: usize = 4;

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

/// Payloads are bincode, little-endian, and never decode into more than [`MAX_PAYLOAD`] bytes.
pub(super) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_little_endian().with_limit::<MAX_PAYLOAD>()
}

pub(super) fn le_u16(b: &[u8]) -> u16 {
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

/// Header, payload and checksum around `payload`.
pub(super) fn frame(version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len() + CHECKSUM_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `value` encoded and framed as `version`; fails only when the payload
/// would exceed [`MAX_PAYLOAD`], which no runtime would load.
pub(super) fn seal<T: bincode::Encode>(version: u16, value: &T) -> Result<Vec<u8>, ArtifactError> {
    let unlimited = bincode::config::standard().with_little_endian();
    let payload = bincode::encode_to_vec(value, unlimited)
        .expect("bincode encodes plain data (numbers, strings, vectors) into a Vec without failing");
    if payload.len() > MAX_PAYLOAD {
        return Err(ArtifactError::TooLarge { declared: payload.len() });
    }
    Ok(frame(version, &payload))
}

/// The version and payload of framed bytes, checking length, magic, version,
/// declared length and checksum, in that order.
pub(super) fn unframe(bytes: &[u8]) -> Result<(u16, &[u8]), ArtifactError> {
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
    Ok((version, &body[HEADER_LEN..]))
}

/// Decodes a whole payload as `T` (every byte must be used).
pub(super) fn decode_payload<T: bincode::Decode<()>>(payload: &[u8]) -> Result<T, ArtifactError> {
    let (value, used) = decode_prefix::<T>(payload)?;
    if used != payload.len() {
        return Err(ArtifactError::Payload(PayloadError::UnusedBytes(payload.len() - used)));
    }
    Ok(value)
}

/// A `T` from the start of `payload`, and the bytes it used.
pub(super) fn decode_prefix<T: bincode::Decode<()>>(payload: &[u8]) -> Result<(T, usize), ArtifactError> {
    bincode::decode_from_slice(payload, bincode_config())
        .map_err(|e| ArtifactError::Payload(PayloadError::Decode(payload_problem(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(model_id(b""), "cbf29ce484222325");
    }

    #[test]
    fn unframing_a_frame_gives_its_version_and_payload() {
        let bytes = frame(VERSION_3, b"payload");
        assert_eq!(le_u16(&bytes[8..10]), VERSION_3);
        assert_eq!(unframe(&bytes), Ok((VERSION_3, &b"payload"[..])));
    }
}
