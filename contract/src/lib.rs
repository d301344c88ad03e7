//! The contract every runtime and client speaks, typed both ways.
//!
//! One serde-only crate (no axum, no HTTP machinery) holds what crosses a
//! process boundary: the request parser ([`parse`]: JSON bodies streamed into
//! `core`'s `(name, RawValue)` pairs) and writer ([`request`]), the error body
//! and its wordings ([`error`]), every response body and the model card with
//! the contract's limits ([`response`]), and the NATS topology and messages
//! ([`nats`]). Each body is `Serialize` and `Deserialize`: `http-api` writes
//! them, the NATS consumer writes its messages with them, and the streamer,
//! the soak driver, xtask and the tests read them back as types, not as
//! untyped JSON. `http-api` keeps only the axum glue (routes, statuses,
//! headers) and the OpenAPI document, whose schemas the `openapi` feature
//! derives from these very types.
//!
//! Nothing here scores or validates: `fraud_core` does.

pub mod error;
pub mod log;
pub mod log_tables;
pub mod nats;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod parse;
pub mod request;
pub mod response;

pub use error::{check_batch, ApiError, ErrorBody, FieldError, ItemError, MAX_LISTED_ITEMS};
pub use fraud_core::ErrorCode;
pub use parse::{Batch, BodyError, Item, Parsed, MAX_ID_CHARS};
pub use request::{request_body, request_body_of, RequestId};
pub use response::{
    contribution_bodies, id_text, to_json, ActionCounts, BatchResponse, BatchResult, ContributionBody, ExpectedBenefit,
    Health, Limits, ModelRef, ModelResponse, PredictResponse, VerdictBody, MAX_BATCH, MAX_BATCH_BODY_BYTES,
    MAX_BODY_BYTES,
};
