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
