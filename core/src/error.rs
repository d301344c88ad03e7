//! The error codes every runtime reports. One list, so the HTTP server, the
//! Worker and the wasm bindings cannot drift apart.

use core::fmt;

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
}

impl ErrorCode {
    /// Every code, for exhaustive tests and documentation.
    pub const ALL: [ErrorCode; 20] = [
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
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
