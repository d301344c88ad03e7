//! The error codes every runtime reports — one list, so the HTTP server, the
//! Worker and the wasm bindings cannot drift apart — and the errors of the
//! model itself: [`ModelError`] (parameters that make no model, shared by
//! every scorer, the decision rule and the drift reference) and
//! [`BatchError`] (a batch that cannot be scored).

use core::fmt;

use crate::validate::ValidationError;

/// A stable, machine-readable error code (`snake_case` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A required feature is absent.
    MissingField,
    /// A field that is not part of the schema.
    UnknownField,
    /// A feature given twice.
    DuplicateField,
    /// A feature whose value is not a number (string, bool, null, object...).
    NonNumeric,
    /// A feature whose value is NaN or infinite.
    NonFinite,
    /// A finite feature value beyond [`crate::MAX_ABS_VALUE`].
    OutOfRange,
    /// Several kinds of field problems at once; see the per-field codes.
    InvalidFields,
    /// A row-major batch whose length is not a multiple of the feature count.
    BadBatchLength,
    /// A batch with more rows than the runtime accepts.
    BatchTooLarge,
    /// The request body is not valid JSON.
    MalformedJson,
    /// Valid JSON of the wrong shape (e.g. an array where an object is expected).
    WrongJsonType,
    /// The request body exceeds the size limit.
    PayloadTooLarge,
    /// The request's content type is not JSON.
    UnsupportedMediaType,
    /// No such route.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed,
    /// The model artifact could not be decoded or is not a valid model.
    InvalidArtifact,
    /// A decision threshold outside [0, 1].
    InvalidThreshold,
    /// The server is at its concurrency limit; retry later.
    Overloaded,
    /// The request took too long.
    Timeout,
    /// A query parameter with an unusable value (e.g. `?explain=abc`).
    InvalidParameter,
    /// A categorical feature's value that is not a category: a number where a
    /// text category is expected, or a row value that is not one of its codes.
    NotACategory,
    /// A rules file (or one of its lists) that does not compile: the message
    /// names the line, the column and what was expected.
    InvalidRules,
    /// A route that needs a bearer token was called without one, or with a wrong one.
    Unauthorized,
    /// The route is off on this server (e.g. no admin token is configured).
    Forbidden,
    /// The request conflicts with what is stored (e.g. a review closed twice).
    Conflict,
    /// The decision log cannot be written: nothing was answered as decided; retry later.
    LogUnavailable,
}

impl ErrorCode {
    /// Every code, for exhaustive tests and documentation.
    pub const ALL: [ErrorCode; 26] = [
        ErrorCode::MissingField,
        ErrorCode::UnknownField,
        ErrorCode::DuplicateField,
        ErrorCode::NonNumeric,
        ErrorCode::NonFinite,
        ErrorCode::OutOfRange,
        ErrorCode::InvalidFields,
        ErrorCode::BadBatchLength,
        ErrorCode::BatchTooLarge,
        ErrorCode::MalformedJson,
        ErrorCode::WrongJsonType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::InvalidArtifact,
        ErrorCode::InvalidThreshold,
        ErrorCode::Overloaded,
        ErrorCode::Timeout,
        ErrorCode::InvalidParameter,
        ErrorCode::NotACategory,
        ErrorCode::InvalidRules,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::LogUnavailable,
    ];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingField => "missing_field",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::DuplicateField => "duplicate_field",
            ErrorCode::NonNumeric => "non_numeric",
            ErrorCode::NonFinite => "non_finite",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::InvalidFields => "invalid_fields",
            ErrorCode::BadBatchLength => "bad_batch_length",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::WrongJsonType => "wrong_json_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::InvalidArtifact => "invalid_artifact",
            ErrorCode::InvalidThreshold => "invalid_threshold",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Timeout => "timeout",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::NotACategory => "not_a_category",
            ErrorCode::InvalidRules => "invalid_rules",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::LogUnavailable => "decision_log_unavailable",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a set of parameters is not a usable model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A vector does not have one entry per schema feature.
    WrongLength {
        /// Which vector.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The schema's feature count.
        expected: usize,
    },
    /// A parameter is NaN, infinite or outside its domain.
    BadParameter {
        /// Which parameter.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::WrongLength { what, len, expected } => {
                write!(f, "{what} has {len} entries, the schema has {expected} features")
            }
            ModelError::BadParameter { what, why } => write!(f, "{what}: {why}"),
        }
    }
}

/// Why a row-major batch could not be scored. Nothing is scored when any row is bad.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchError {
    /// The input length is not a multiple of the feature count.
    BadLength {
        /// Number of values given.
        len: usize,
        /// Values per row (the schema's feature count).
        width: usize,
    },
    /// The output buffer does not have one slot per row.
    OutputLength {
        /// Rows in the input.
        rows: usize,
        /// Slots in the output.
        out: usize,
    },
    /// A row holds a non-finite or out-of-range value.
    BadRow {
        /// Zero-based row index.
        row: usize,
        /// The offending fields.
        error: ValidationError,
    },
    /// The batch's fused range check refused it, yet every row passes
    /// [`crate::validate_row`]. The two apply the same rule, so this is a bug
    /// in this crate, not in the input; it is reported rather than blamed on a row.
    Inconsistent {
        /// Rows in the batch.
        rows: usize,
    },
}

impl BatchError {
    /// The error code reported for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            BatchError::BadLength { .. } | BatchError::OutputLength { .. } => ErrorCode::BadBatchLength,
            BatchError::BadRow { error, .. } => error.code(),
            // Not the request's fault: the one code that blames what is served (HTTP 500).
            BatchError::Inconsistent { .. } => ErrorCode::InvalidArtifact,
        }
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::BadLength { len, width } => write!(
                f,
                "batch has {len} values, not a multiple of {width} (one row is {width} features in schema order)"
            ),
            BatchError::OutputLength { rows, out } => {
                write!(f, "output has {out} slots for {rows} rows")
            }
            BatchError::BadRow { row, error } => write!(f, "row {row}: {error}"),
            BatchError::Inconsistent { rows } => write!(
                f,
                "internal error: the range check refused a batch of {rows} rows that validation accepts (a fraud-core bug)"
            ),
        }
    }
}

// Behind `std`: the trait needs `Debug`, and formatting code for every error
// type would cost the wasm package kilobytes.
#[cfg(feature = "std")]
impl std::error::Error for BatchError {}
#[cfg(feature = "std")]
impl std::error::Error for ModelError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = alloc::vec::Vec::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(!seen.contains(&s), "duplicate {s}");
            seen.push(s);
        }
    }
}
