//! The decision log's routes in the OpenAPI document — written here, beside
//! the rest of the contract, though the native server implements them
//! (`server::admin`): a server with a log serves a document that says so,
//! with the bearer scheme those routes require.

#![allow(dead_code)] // The functions exist for their `utoipa::path` attributes only.

use contract::log::{Cases, DecisionView, LabelBody, LabelStored, ReviewClose, ReviewClosed};
use contract::ErrorBody;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Records what became known of a logged transaction later (idempotent per id and source).
#[utoipa::path(
    post,
    path = "/labels",
    request_body(content = LabelBody, content_type = "application/json"),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Stored (`created`), already so (`unchanged`) or changed (`replaced`)", body = LabelStored),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No admin token, or not a valid one", body = ErrorBody),
        (status = 403, description = "The admin routes are off (no --admin-token-file)", body = ErrorBody),
        (status = 404, description = "No decision with this id in the log", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content type is not JSON", body = ErrorBody),
        (status = 422, description = "A field missing, unknown or invalid; the message names it", body = ErrorBody),
        (status = 503, description = "The decision log cannot be read or written; retry after `Retry-After`", body = ErrorBody),
    )
)]
fn post_labels() {}

/// The logged decision (feature values as received, probability, action, rule, versions, reasons), its labels and case.
#[utoipa::path(
    get,
    path = "/decisions/{id}",
    params(("id" = String, Path, description = "The transaction's id as logged (`logged_id` in the scoring response)",
        min_length = 1, max_length = 256)),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The decision", body = DecisionView),
        (status = 400, description = "The id is not 1 to 256 characters", body = ErrorBody),
        (status = 401, description = "No admin token, or not a valid one", body = ErrorBody),
        (status = 403, description = "The admin routes are off", body = ErrorBody),
        (status = 404, description = "No decision with this id in the log", body = ErrorBody),
        (status = 503, description = "The decision log cannot be read", body = ErrorBody),
    )
)]
fn get_decision() {}

/// The review queue: cases by expected loss (probability × amount), largest first.
#[utoipa::path(
    get,
    path = "/reviews",
    params(
        ("status" = Option<String>, Query, description = "`open` (default) or `closed`", pattern = "^(open|closed)$"),
        ("limit" = Option<i32>, Query, description = "Cases listed, 1 to 1000 (default 50)", minimum = 1, maximum = 1000),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The cases", body = Cases),
        (status = 400, description = "A bad `status` or `limit`", body = ErrorBody),
        (status = 401, description = "No admin token, or not a valid one", body = ErrorBody),
        (status = 403, description = "The admin routes are off", body = ErrorBody),
        (status = 503, description = "The decision log cannot be read", body = ErrorBody),
    )
)]
fn get_reviews() {}

/// Closes an open case: the analyst's outcome becomes an `analyst` label, an audit row records who and
/// when, and `add_to_list` appends a value to one of the rules' lists (picked up on their reload).
#[utoipa::path(
    post,
    path = "/reviews/{id}",
    params(("id" = String, Path, description = "The case's transaction id",
        min_length = 1, max_length = 256)),
    request_body(content = ReviewClose, content_type = "application/json"),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Closed", body = ReviewClosed),
        (status = 400, description = "Not JSON, or a bad id", body = ErrorBody),
        (status = 401, description = "No admin token, or not a valid one", body = ErrorBody),
        (status = 403, description = "The admin routes are off", body = ErrorBody),
        (status = 404, description = "No review case for this id", body = ErrorBody),
        (status = 409, description = "The case is already closed", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Content type is not JSON", body = ErrorBody),
        (status = 422, description = "A field missing, unknown or invalid (a list name, a value, a note over 1000 characters)", body = ErrorBody),
        (status = 503, description = "The decision log or the list cannot be written; nothing was changed", body = ErrorBody),
    )
)]
fn post_review() {}

#[test]
fn path_ids_are_any_id_a_request_may_carry() {
    let doc = serde_json::to_value(LogDoc::openapi()).unwrap();
    for path in ["/decisions/{id}", "/reviews/{id}"] {
        let op = doc["paths"][path].as_object().unwrap().values().next().unwrap();
        let schema = &op["parameters"][0]["schema"];
        assert_eq!(
            (schema["minLength"].as_u64(), schema["maxLength"].as_u64()),
            (Some(1), Some(contract::MAX_ID_CHARS as u64))
        );
        assert!(schema.get("pattern").is_none(), "{path}");
    }
}

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token of the server's --admin-token-file (stored there as its SHA-256)"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(paths(post_labels, get_decision, get_reviews, post_review), modifiers(&BearerScheme))]
pub(crate) struct LogDoc;

#[test]
fn every_reference_of_the_log_document_resolves() {
    let doc: serde_json::Value =
        serde_json::from_slice(&crate::openapi::document(&fraud_core::Schema::creditcard(), true)).unwrap();
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.iter().any(|r| r.ends_with("/ChallengerDecision")), "{found:?}");
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r} is not in the document");
    }
}
