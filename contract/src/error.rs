//! Error bodies: `{ "error": { "code", "message", "fields"?, "items"?, "omitted"? } }`.
//!
//! Codes and messages come from `core` ([`ErrorCode`], `ValidationError`'s
//! text); the wordings a request's shape earns (not JSON, not an object) are
//! written here once, so the HTTP API and the NATS consumer's dead letters say
//! the same thing for the same bytes. Which HTTP status goes with a code is the
//! HTTP layer's business (`http-api`).

use fraud_core::{ErrorCode, FieldIssue, Schema, ValidationError};
use serde::{Deserialize, Serialize};

use crate::parse::{Batch, BodyError, Item};

/// Rejected batch items listed in an error (the rest are counted in `omitted`).
pub const MAX_LISTED_ITEMS: usize = 100;

/// One offending field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as sent.
    pub field: String,
    /// What is wrong with it (`missing_field`, `non_numeric`, ...).
    #[serde(with = "code")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::error_code_schema))]
    pub code: ErrorCode,
}

/// One rejected item of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemError {
    /// Zero-based position in `transactions`.
    pub index: usize,
    /// The item's error code.
    #[serde(with = "code")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::error_code_schema))]
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
    /// The offending fields, when the item was an object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

/// What went wrong: the `error` object of every error body, and of a NATS dead letter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable machine-readable code.
    #[serde(with = "code")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::error_code_schema))]
    pub code: ErrorCode,
    /// Human-readable reason, naming fields, items, lines or limits.
    pub message: String,
    /// Offending fields (single transactions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// Rejected items (batches), in input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemError>,
    /// Problems found beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

/// Every error's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ApiError,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Error codes travel as their stable names (`missing_field`, ...).
mod code {
    use fraud_core::ErrorCode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(code: &ErrorCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorCode, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown error code {name:?}")))
    }
}

fn field_errors(issues: &[FieldIssue]) -> Vec<FieldError> {
    issues.iter().map(|i| FieldError { field: i.field.clone(), code: i.kind.code() }).collect()
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), fields: Vec::new(), items: Vec::new(), omitted: 0 }
    }

    /// A rejected transaction: `core`'s code, message and per-field codes.
    pub fn validation(e: &ValidationError) -> ApiError {
        ApiError { fields: field_errors(&e.issues), omitted: e.omitted, ..ApiError::new(e.code(), e.to_string()) }
    }

    /// A body that is not JSON, or JSON of the wrong shape.
    pub fn body(e: BodyError) -> ApiError {
        match e {
            BodyError::Malformed(m) => {
                ApiError::new(ErrorCode::MalformedJson, format!("request body is not valid JSON: {m}"))
            }
            BodyError::WrongType(m) => ApiError::new(ErrorCode::WrongJsonType, m),
        }
    }

    /// A JSON value of type `what` where a transaction object of `schema` belongs.
    pub fn not_object(schema: &Schema, what: &str) -> ApiError {
        ApiError::new(ErrorCode::WrongJsonType, fraud_core::not_an_object(schema, what))
    }

    /// Why one parsed item cannot be scored (`None`: it can).
    pub fn of_item(item: &Item, schema: &Schema) -> Option<ApiError> {
        match item {
            Item::Object(parsed) => parsed.transaction.as_ref().err().map(ApiError::validation),
            Item::NotObject(what) => Some(ApiError::not_object(schema, what)),
        }
    }
}

/// A batch is scored whole or not at all: every invalid item (the first
/// [`MAX_LISTED_ITEMS`] listed, the rest counted) in one error, or `Ok` when
/// all of them are valid. The code is the items' own when they share one and
/// all are listed, else `invalid_fields`.
pub fn check_batch(batch: &Batch, schema: &Schema) -> Result<(), ApiError> {
    let mut listed: Vec<ItemError> = Vec::new();
    let mut bad = 0;
    for (index, item) in batch.items.iter().enumerate() {
        let Some(e) = ApiError::of_item(item, schema) else { continue };
        bad += 1;
        if listed.len() < MAX_LISTED_ITEMS {
            listed.push(ItemError { index, code: e.code, message: e.message, fields: e.fields });
        }
    }
    let Some(first) = listed.first() else { return Ok(()) };
    let one_code = listed.iter().all(|e| e.code == first.code) && bad == listed.len();
    let code = if one_code { first.code } else { ErrorCode::InvalidFields };
    let message = format!(
        "{bad} of {} transactions are invalid (first: item {}: {}); nothing was scored",
        batch.total, first.index, first.message
    );
    let omitted = bad - listed.len();
    Err(ApiError { items: listed, omitted, ..ApiError::new(code, message) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_with_codes_as_names() {
        let e = ApiError {
            fields: vec![FieldError { field: "V3".into(), code: ErrorCode::NonNumeric }],
            ..ApiError::new(ErrorCode::NonNumeric, "V3 is not a number")
        };
        let json = serde_json::to_string(&ErrorBody { error: e.clone() }).unwrap();
        assert_eq!(
            json,
            r#"{"error":{"code":"non_numeric","message":"V3 is not a number","fields":[{"field":"V3","code":"non_numeric"}]}}"#
        );
        let back: ErrorBody = serde_json::from_str(&json).unwrap();
        assert_eq!(back.error, e);
        let unknown = serde_json::from_str::<ErrorBody>(r#"{"error":{"code":"teapot","message":"x"}}"#);
        assert!(unknown.unwrap_err().to_string().contains("unknown error code \"teapot\""));
    }

    #[test]
    fn a_batch_lists_its_bad_items_and_counts_the_rest() {
        let schema = Schema::creditcard();
        let mut body = String::from("{\"transactions\":[");
        for i in 0..150 {
            body.push_str(if i % 2 == 0 { "1," } else { "{}," });
        }
        body.pop();
        body.push_str("]}");
        let batch = crate::parse::batch(body.as_bytes(), 10_000, &schema).unwrap();
        let e = check_batch(&batch, &schema).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidFields, "two kinds of error");
        assert_eq!((e.items.len(), e.omitted), (100, 50));
        assert_eq!(e.items[0].code, ErrorCode::WrongJsonType);
        assert!(e.items[0].message.contains("got number"), "{}", e.items[0].message);
        assert_eq!(e.items[1].code, ErrorCode::MissingField);
        assert!(e.message.starts_with("150 of 150 transactions are invalid (first: item 0:"), "{}", e.message);
    }
}
