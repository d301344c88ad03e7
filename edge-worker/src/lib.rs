//! The edge `/predict`: the very Router the native server serves
//! ([`http_api::app`]), run by workers-rs inside Cloudflare's runtime.
//!
//! Why this is all there is: routes, parsing, validation, scoring and error
//! bodies come from `http-api` and `core`, so the Worker cannot drift from the
//! native server. The artifact and the rules deciding over it are compiled in
//! (checked by `build.rs` with the same decoder and rules compiler), so a
//! request never waits on a fetch or a KV read; new rules are a new Worker
//! version, as a new model is.
//!
//! With a D1 binding named `DECISIONS` (as `wrangler.toml` declares), every
//! decision is logged there before it is answered ([`d1_log`]).

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Response;
use axum::response::IntoResponse;
use axum::Router;
use http_api::{AllowedOrigins, ErrorCode, HttpError, LogRoutes, Served};
use tower_service::Service;
use worker::{event, Context, Env, HttpRequest};

pub mod d1_log;

/// The artifact `build.rs` checked and copied.
static ARTIFACT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/model.bin"));

/// The rules file and its lists `build.rs` compiled (`FRAUD_RULES`), if any.
mod built_rules {
    include!(concat!(env!("OUT_DIR"), "/rules.rs"));
}

/// The model with its built-in rules, compiled by `core` as `build.rs` did.
fn served() -> Result<Served, String> {
    let served = Served::from_artifact(ARTIFACT)
        .map_err(|e| format!("the built-in model artifact is unusable: {}", e.full_message()))?;
    let Some(text) = built_rules::RULES else { return Ok(served) };
    let rules = fraud_core::RuleSet::compile(text, built_rules::LISTS, served.model().schema())
        .map_err(|e| format!("the built-in rules do not compile: {e}"))?;
    Ok(served.with_rules(rules))
}

/// Built on the first request of an isolate, then reused. CORS origins come
/// from the `CORS_ORIGINS` variable (`*` or a comma-separated list; `*` when unset);
/// the decision log is the `DECISIONS` D1 binding, when there is one.
fn router(env: &Env) -> Result<Router, String> {
    static ROUTER: OnceLock<Result<Router, String>> = OnceLock::new();
    ROUTER
        .get_or_init(|| {
            let origins = match env.var("CORS_ORIGINS") {
                Ok(spec) => AllowedOrigins::parse(&spec.to_string()).map_err(|e| format!("CORS_ORIGINS: {e}"))?,
                Err(_) => AllowedOrigins::Any,
            };
            let mut served = served()?;
            if let Ok(db) = env.d1(d1_log::BINDING) {
                let model = served.model();
                let info = contract::log::ModelInfo::of(served.model_id(), model.name(), model.schema());
                served = served.with_sink(Arc::new(d1_log::D1Sink::new(db, info)), LogRoutes::Absent);
            }
            Ok(http_api::app_with(Arc::new(served), &origins))
        })
        .clone()
}

#[event(fetch)]
async fn fetch(request: HttpRequest, env: Env, _ctx: Context) -> worker::Result<Response<Body>> {
    match router(&env) {
        Ok(mut app) => Ok(app.call(request).await.unwrap_or_else(|never| match never {})),
        // Unreachable for a wasm build (build.rs refuses a bad artifact); a
        // JSON error rather than a crash all the same.
        Err(message) => Ok(HttpError::new(ErrorCode::InvalidArtifact, message).into_response()),
    }
}
