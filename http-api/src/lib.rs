//! The HTTP contract of the fraud detector, defined once.
//!
//! [`app`] builds the axum `Router` for `POST /predict`, `POST /predict/batch`,
//! `GET /health` and `GET /model`, with CORS ([`AllowedOrigins`]). The native server (`server/`) and the
//! Cloudflare Worker (`edge-worker/`) both serve this very Router, so the
//! routes, status codes, request parsing and error bodies are the same by
//! construction; only runtime-specific layers (timeouts, load shedding,
//! tracing, graceful shutdown) live in the native binary.
//!
//! Why axum without default features: the Worker compiles this crate to
//! wasm32, where there is no tokio or hyper server. Nothing here scores or
//! validates — [`fraud_core`] does — and no body is defined here: the
//! request parser, the error and response bodies are the `contract` crate's
//! (shared with the NATS consumer and the clients). This crate is the axum
//! glue (routes, statuses, headers, CORS) and the OpenAPI document.

mod app;
mod cors;
mod error;
mod log_doc;
mod openapi;

pub use app::{
    app, app_live, app_with, not_found, read_body, DecisionSink, Live, LogRoutes, Observer, Served, Shadowed,
};
pub use contract::log::REVIEW_REASONS;
pub use contract::{MAX_BATCH, MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES};
pub use cors::AllowedOrigins;
pub use error::{status_of, HttpError};
pub use fraud_core::ErrorCode;
