//! Errors as HTTP responses: the contract's body (`contract::ErrorBody`),
//! the status its code earns, and `Retry-After` when there is one.
//!
//! Codes and messages come from `core` and `contract`; this module only picks
//! the HTTP status and writes the response.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use contract::{to_json, ApiError, ErrorBody};
use fraud_core::ErrorCode;

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
        | C::BadBatchLength
        | C::NotACategory
        | C::InvalidRules => StatusCode::UNPROCESSABLE_ENTITY,
        C::NotFound => StatusCode::NOT_FOUND,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        // Scoring takes microseconds: only a client too slow to send its request times out.
        C::Timeout => StatusCode::REQUEST_TIMEOUT,
        C::Overloaded | C::LogUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::Unauthorized => StatusCode::UNAUTHORIZED,
        C::Forbidden => StatusCode::FORBIDDEN,
        C::Conflict => StatusCode::CONFLICT,
        // Never caused by a request: a server only starts with a valid artifact.
        C::InvalidArtifact => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error on its way out: the contract's error body and its HTTP status.
#[derive(Debug, PartialEq)]
pub struct HttpError {
    error: ApiError,
    status: StatusCode,
    retry_after_secs: Option<u32>,
}

impl From<ApiError> for HttpError {
    /// The status of its code; a rejected batch (items listed) is always 422:
    /// the body was fine, some items were not.
    fn from(error: ApiError) -> HttpError {
        let status = if error.items.is_empty() { status_of(error.code) } else { StatusCode::UNPROCESSABLE_ENTITY };
        HttpError { error, status, retry_after_secs: None }
    }
}

impl HttpError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> HttpError {
        ApiError::new(code, message).into()
    }

    /// A 503 that tells the client when to come back.
    pub fn retry_later(code: ErrorCode, message: impl Into<String>, after_secs: u32) -> HttpError {
        HttpError { retry_after_secs: Some(after_secs), ..HttpError::new(code, message) }
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body's `error` object.
    pub fn error(&self) -> &ApiError {
        &self.error
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = to_json(&ErrorBody { error: self.error });
        let mut response =
            (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
