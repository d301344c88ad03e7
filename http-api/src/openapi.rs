//! The contract as an OpenAPI 3.1 document, generated from the types the
//! handlers serialise (`utoipa` derives) and from `core`'s schema and error
//! codes, served at `GET /openapi.json` by the native server and the Worker
//! alike, with a small local reader at `GET /docs` (no CDN).
//!
//! The request body of `/predict` is not a Rust struct (bodies are parsed by
//! hand, to name every bad field), so its schema is built from the served
//! model's schema (its feature names) and `MAX_ABS_VALUE`: each server's
//! document describes the model it serves. `core`'s model card is described
//! as an object whose fields the card's own docs list.

use contract::{MAX_BATCH, MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, MAX_ID_CHARS};
use fraud_core::{ModelKind, MAX_ABS_VALUE};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{OpenApi, PartialSchema, ToSchema};

/// The request's optional id: text of at most `MAX_ID_CHARS` characters, or a number.
pub(crate) fn id_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_ID_CHARS)))
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .description(Some("Optional id, text or a number, echoed in the response."))
        .into()
}

/// One transaction: every schema feature, a finite number within ±MAX_ABS_VALUE; an optional `id`.
/// (Its derived form is the Kaggle file's; [`document`] writes the served model's.)
pub struct TransactionBody;

impl PartialSchema for TransactionBody {
    fn schema() -> RefOr<Schema> {
        transaction_schema(&fraud_core::Schema::creditcard())
    }
}

/// The request body for a model of `schema`.
fn transaction_schema(schema: &fraud_core::Schema) -> RefOr<Schema> {
    {
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(if schema.is_tabular() {
                "One transaction: every feature of the model's schema, by name (no more extra fields than `id`): \
                     a numeric feature a finite number, a categorical one its category (text, or a number for a \
                     numeric-coded one; an unseen category scores as \"other\"), and `null` a missing value for \
                     any feature but the amount (money is reckoned from it). A field left out is `missing_field`, \
                     not a missing value."
            } else {
                "One card transaction: every feature of the model's schema, by name, a finite number (no more \
                     extra fields than `id`)."
            }))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let nullable = |t: Type, i: usize| {
            if schema.may_be_missing(i) {
                SchemaType::from_iter([t, Type::Null])
            } else {
                SchemaType::new(t)
            }
        };
        for (i, name) in schema.features().iter().enumerate() {
            let property = match schema.categories(i) {
                None => ObjectBuilder::new()
                    .schema_type(nullable(Type::Number, i))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
                    .minimum(Some(-MAX_ABS_VALUE))
                    .maximum(Some(MAX_ABS_VALUE)),
                Some(c) => {
                    let kept = match c.vocabulary() {
                        fraud_core::Vocabulary::Text(v) => v.join(", "),
                        fraud_core::Vocabulary::Numbers(v) => {
                            v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
                        }
                    };
                    let (t, what) = if c.is_text() { (Type::String, "text") } else { (Type::Number, "a number") };
                    let property = ObjectBuilder::new().schema_type(nullable(t, i)).description(Some(format!(
                        "A category, as {what}. Kept in training: {kept}. Any other category (rare in training or \
                         never seen) is scored as \"other\"."
                    )));
                    if c.is_text() {
                        property
                    } else {
                        // A numeric code is a number first: finite and within the range every input has.
                        property.minimum(Some(-MAX_ABS_VALUE)).maximum(Some(MAX_ABS_VALUE))
                    }
                }
            };
            object = object.property(name.as_str(), property).required(name);
        }
        object = object.property("id", id_schema());
        let example: serde_json::Map<String, serde_json::Value> = schema
            .features()
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let value = match schema.categories(i) {
                    Some(c) if c.is_text() => serde_json::json!(c.vocabulary().text_label(0)),
                    Some(c) => match c.vocabulary() {
                        fraud_core::Vocabulary::Numbers(v) => serde_json::json!(v.first().copied().unwrap_or(0.0)),
                        fraud_core::Vocabulary::Text(_) => serde_json::Value::Null,
                    },
                    None => serde_json::json!(if i == 0 { 406.0 } else { 0.25 * (i % 7) as f64 - 0.5 }),
                };
                (n.to_string(), value)
            })
            .collect();
        RefOr::T(object.examples([serde_json::Value::Object(example)]).into())
    }
}

impl ToSchema for TransactionBody {}

/// `{ "transactions": [ ... ] }`.
pub struct BatchBody;

impl PartialSchema for BatchBody {
    fn schema() -> RefOr<Schema> {
        RefOr::T(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(
                    "transactions",
                    // At most MAX_BATCH items: more is 413 `batch_too_large` (see `info.x-limits`),
                    // not a schema violation's 400/422, so it is not written as `maxItems`.
                    ArrayBuilder::new().items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("TransactionBody"))),
                )
                .required("transactions")
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some("Transactions scored together; one invalid item rejects the batch (422) naming it."))
                .into(),
        )
    }
}

impl ToSchema for BatchBody {}

/// The model card (`GET /model`).
pub struct ModelCardBody;

impl PartialSchema for ModelCardBody {
    fn schema() -> RefOr<Schema> {
        let object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "core's model card: name, kind, threshold, policy, calibration, costs, parameters (logistic: scaler \
                 and coefficients; trees: count, depth, leaves, base score, expected value), training, provenance, \
                 feature_importance, validation and test metrics, calibration_test, policies; plus model, schema \
                 and limits.",
            ))
            .property("model", RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ModelRef")))
            .property("name", ObjectBuilder::new().schema_type(Type::String))
            .property(
                "kind",
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some(ModelKind::ALL.map(ModelKind::as_str))),
            )
            .property("threshold", ObjectBuilder::new().schema_type(Type::Number))
            .property(
                "policy",
                ObjectBuilder::new().schema_type(Type::String).enum_values(Some([
                    "f1_threshold",
                    "net_benefit_threshold",
                    "cost_optimal",
                    "manual_threshold",
                ])),
            )
            .required("model")
            .required("name")
            .required("kind")
            .required("threshold")
            .required("policy")
            .additional_properties(Some(AdditionalProperties::FreeForm(true)));
        RefOr::T(object.into())
    }
}

impl ToSchema for ModelCardBody {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fraud detector API",
        description = "Scores card transactions with the fraud model (one `core` on every runtime: the native server and \
                       the edge Worker serve this same contract). Probabilities are calibrated; decisions follow the \
                       model's policy and costs; errors carry a stable code naming the fields or items at fault."
    ),
    paths(
        crate::app::predict,
        crate::app::predict_batch,
        crate::app::health,
        crate::app::model_card,
        crate::app::openapi_json,
    ),
    components(schemas(TransactionBody, BatchBody, ModelCardBody))
)]
struct ApiDoc;

/// The document's JSON for a model of `schema` (built once per served model).
/// With `log`, the decision log's routes and their bearer scheme too.
pub(crate) fn document(schema: &fraud_core::Schema, log: bool) -> Vec<u8> {
    let mut doc = ApiDoc::openapi();
    if log {
        doc.merge(crate::log_doc::LogDoc::openapi());
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut value = serde_json::to_value(&doc).expect("the OpenAPI document is plain data");
    value["components"]["schemas"]["TransactionBody"] =
        serde_json::to_value(transaction_schema(schema)).expect("a schema is plain data");
    if schema.accepts_missing() {
        // An explanation echoes each input: NaN (a missing value) is written as null.
        value["components"]["schemas"]["ContributionBody"]["properties"]["value"] = serde_json::json!({
            "type": ["number", "null"],
            "format": "double",
            "description": "The input value: null when it was missing; a categorical feature's code (its index in \
                            the card's `schema.kinds` categories, their count for \"other\").",
        });
    }
    // The limits, where a reader looks for them.
    value["info"]["x-limits"] = serde_json::json!({
        "max_body_bytes": MAX_BODY_BYTES,
        "max_batch": MAX_BATCH,
        "max_batch_body_bytes": MAX_BATCH_BODY_BYTES,
        "max_explain": schema.len(),
        "max_abs_value": MAX_ABS_VALUE,
    });
    serde_json::to_vec(&value).expect("the OpenAPI document is plain data")
}

/// The reader at `/docs`: plain HTML and a few lines of script, reading `/openapi.json`.
pub(crate) const DOCS_HTML: &str = include_str!("docs.html");
