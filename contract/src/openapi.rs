//! Schemas the derives cannot infer (with the `openapi` feature): the error
//! codes as an enum of their names, and the echoed id's three shapes.

use fraud_core::ErrorCode;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::Schema;

/// `core`'s error codes, as the `code` fields carry them.
pub fn error_code_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
        .description(Some("A stable, machine-readable error code (the same on every runtime)."))
        .into()
}

/// The id echoed in a response: the request's, or null when it had none.
pub fn echoed_id_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some("The request's id, or null when it had none."))
        .into()
}

fn printable(max_chars: usize, pattern: &str, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(pattern))
        .description(Some(description))
}

/// A logged transaction's id in a body: any text a request's id may be (no pattern: ids are the clients').
pub fn log_id_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::MAX_ID_CHARS))
        .description(Some("The transaction's id as logged (`logged_id`)."))
        .into()
}

/// A label's source.
pub fn label_source_schema() -> Schema {
    printable(
        crate::log::MAX_SOURCE_CHARS,
        crate::log::PRINTABLE_PATTERN,
        "Who says so: chargeback, analyst, customer, …",
    )
    .into()
}

/// A review's note.
pub fn note_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(crate::log::MAX_TEXT_CHARS))
        .description(Some("Why (at most 1000 characters)."))
        .into()
}

/// A list's name.
pub fn list_name_schema() -> Schema {
    printable(
        fraud_core::rules::MAX_NAME_BYTES,
        crate::log::LIST_NAME_PATTERN,
        "The list (`@NAME` in the rules, `NAME.txt` in the lists folder).",
    )
    .into()
}

/// A list value.
pub fn list_value_schema() -> Schema {
    printable(
        crate::log::MAX_LIST_VALUE_CHARS,
        crate::log::LIST_VALUE_PATTERN,
        "One value of the list: printable text on one line, not starting with # (a comment in list files).",
    )
    .into()
}

/// When a label was observed: RFC 3339 text or milliseconds since the epoch.
pub fn observed_at_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                    utoipa::openapi::schema::KnownFormat::DateTime,
                )))
                .description(Some("RFC 3339, e.g. 2026-12-01T10:00:00Z (years 0001 to 9999)")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(crate::log::MIN_TIME_MS as f64))
                .maximum(Some(crate::log::MAX_TIME_MS as f64))
                .description(Some("Milliseconds since 1970-01-01T00:00:00Z")),
        )
        .description(Some("When it was observed."))
        .into()
}
