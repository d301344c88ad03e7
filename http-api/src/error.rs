//! Error bodies: `{ "error": { "code", "message", "fields"?, "items"? } }`.
//!
//! Codes and messages come from `core` ([`ErrorCode`], `ValidationError`'s
//! text); this module only picks the HTTP status and writes the JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fraud_core::{ErrorCode, FieldIssue, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

/// The HTTP status for an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::MalformedJson | C::WrongJsonType | C::InvalidParameter | C::InvalidThreshold => StatusCode::BAD_REQUEST,
        C::PayloadTooLarge | C::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::MissingField
        | C::UnknownField
        | C::DuplicateField
        | C::NonNumeric
        | C::NonFinite
        | C::OutOfRange
        | C::InvalidFields
        | C::BadBatchLength => StatusCode::UNPROCESSABLE_ENTITY,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        // Scoring takes microseconds: only a client too slow to send its request times out.
        C::Timeout => StatusCode::REQUEST_TIMEOUT,
        C::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        // Never caused by a request: a server only starts with a valid artifact.
        C::InvalidArtifact => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// One offending field.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct FieldError {
    /// The field's name as sent.
    pub field: String,
    /// What is wrong with it (`missing_field`, `non_numeric`, ...).
    #[serde(serialize_with = "code_str")]
    #[schema(schema_with = crate::openapi::error_code_schema)]
    pub code: ErrorCode,
}

/// One rejected item of a batch.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct ItemError {
    /// Zero-based position in `transactions`.
    pub index: usize,
    /// The item's error code.
    #[serde(serialize_with = "code_str")]
    #[schema(schema_with = crate::openapi::error_code_schema)]
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
    /// The offending fields, when the item was an object.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// An error response. `status_of(code)` is its HTTP status.
#[derive(Debug, Serialize, PartialEq, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable code.
    #[serde(serialize_with = "code_str")]
    #[schema(schema_with = crate::openapi::error_code_schema)]
    pub code: ErrorCode,
    /// Human-readable reason, naming fields, items, lines or limits.
    pub message: String,
    /// Offending fields (single transactions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// Rejected items (batches), in input order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemError>,
    /// Problems found beyond those listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after_secs: Option<u32>,
}

fn code_str<S: serde::Serializer>(code: &ErrorCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.as_str())
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub(crate) fn field_errors(issues: &[FieldIssue]) -> Vec<FieldError> {
    issues.iter().map(|i| FieldError { field: i.field.clone(), code: i.kind.code() }).collect()
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            fields: Vec::new(),
            items: Vec::new(),
            omitted: 0,
            status: status_of(code),
            retry_after_secs: None,
        }
    }

    /// A rejected transaction: `core`'s code, message and per-field codes.
    pub fn validation(e: &ValidationError) -> ApiError {
        ApiError { fields: field_errors(&e.issues), omitted: e.omitted, ..ApiError::new(e.code(), e.to_string()) }
    }

    /// A 503 that tells the client when to come back.
    pub fn retry_later(code: ErrorCode, message: impl Into<String>, after_secs: u32) -> ApiError {
        ApiError { retry_after_secs: Some(after_secs), ..ApiError::new(code, message) }
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// A rejected batch is always 422: the body was fine, some items were not.
    pub(crate) fn with_items(mut self, items: Vec<ItemError>, omitted: usize) -> ApiError {
        self.status = StatusCode::UNPROCESSABLE_ENTITY;
        self.items = items;
        self.omitted = omitted;
        self
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: &'a ApiError,
}

/// Every error's body: `{ "error": { code, message, fields?, items?, omitted? } }`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Serialising plain strings and numbers into a Vec cannot fail.
        let body = crate::app::to_json(&Envelope { error: &self });
        let mut response =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
