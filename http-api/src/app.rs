//! The Router and its handlers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fraud_core::artifact::model_id;
use fraud_core::{Artifact, ArtifactError, Contribution, ErrorCode, Model, Prediction, Transaction};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::cors::AllowedOrigins;
use crate::error::{field_errors, ApiError, ItemError};
use crate::parse::{self, BodyError, Item};

/// Largest `POST /predict` body. A transaction is ~700 bytes of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most transactions in one `POST /predict/batch`.
pub const MAX_BATCH: usize = 10_000;
/// Largest `POST /predict/batch` body: room for [`MAX_BATCH`] verbose transactions.
pub const MAX_BATCH_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Rejected batch items listed in an error (the rest are counted in `omitted`).
const MAX_LISTED_ITEMS: usize = 100;

/// What a server serves: the model, built once from the artifact, and the
/// JSON that never changes (model reference, `/health`, `/model`).
pub struct Served {
    model: Model,
    model_ref: ModelRef,
    health: Bytes,
    card: Bytes,
    openapi: Bytes,
    drift: Option<fraud_core::drift::DriftReference>,
    observer: Option<Arc<dyn Observer>>,
}

/// Sees every transaction the API scores, after it is scored: how a runtime
/// adds monitoring (the native server's metrics and drift window) without the
/// contract knowing. Called on the request's task: keep it short.
pub trait Observer: Send + Sync {
    /// One scored transaction: its raw row (the model's schema order), its probability and the decision.
    fn scored(&self, row: &[f64], probability: f64, refused: bool);

    /// A scored batch, in input order (one call, so an observer can take its locks once).
    fn scored_batch(&self, batch: &[(&[f64], f64, bool)]) {
        for &(row, probability, refused) in batch {
            self.scored(row, probability, refused);
        }
    }
}

/// Which model answered: its name, kind, id (hash of the artifact's bytes) and format version.
#[derive(Clone, Serialize, ToSchema)]
pub(crate) struct ModelRef {
    name: String,
    /// `"logistic"` or `"trees"`.
    kind: &'static str,
    /// Hash of the artifact's exact bytes: equal ids mean the same model everywhere.
    id: String,
    format_version: u16,
}

#[derive(Serialize)]
struct Limits {
    max_body_bytes: usize,
    max_batch: usize,
    max_batch_body_bytes: usize,
    max_explain: usize,
}

/// `GET /model`: core's model card (the same for every kind, its schema
/// included) with what the HTTP contract adds — which artifact and the limits.
#[derive(Serialize)]
struct ModelCard<'a> {
    model: &'a ModelRef,
    #[serde(flatten)]
    card: fraud_core::wire::ModelCard,
    limits: Limits,
}

impl Served {
    /// Loads an artifact (every check of `core`'s decoder applies).
    pub fn from_artifact(bytes: &[u8]) -> Result<Served, ArtifactError> {
        let (artifact, model) = Artifact::load(bytes)?;
        let model_ref = ModelRef {
            name: artifact.model_name.clone(),
            kind: model.kind().as_str(),
            id: model_id(bytes),
            // The file's own version (a version-1 file still loads); `load` checked the header is there.
            format_version: u16::from_le_bytes([bytes[8], bytes[9]]),
        };
        let card = ModelCard {
            model: &model_ref,
            card: artifact.card(&model),
            limits: Limits {
                max_body_bytes: MAX_BODY_BYTES,
                max_batch: MAX_BATCH,
                max_batch_body_bytes: MAX_BATCH_BODY_BYTES,
                // `?explain=k` is capped at the number of features.
                max_explain: model.width(),
            },
        };
        let health = Health { status: "ok", model: &model_ref };
        Ok(Served {
            openapi: Bytes::from(crate::openapi::document(model.schema())),
            card: Bytes::from(to_json(&card)),
            health: Bytes::from(to_json(&health)),
            model,
            model_ref,
            drift: artifact.drift,
            observer: None,
        })
    }

    /// The same, reporting every scored transaction to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Served {
        self.observer = Some(observer);
        self
    }

    /// The training reference drift is measured against (none in artifacts older than format 3).
    pub fn drift(&self) -> Option<&fraud_core::drift::DriftReference> {
        self.drift.as_ref()
    }

    fn observe(&self, t: &Transaction, p: &Prediction) {
        if let Some(o) = &self.observer {
            o.scored(t.values(), p.probability, p.is_fraud);
        }
    }

    /// The scoring model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The artifact's id (see `fraud_core::artifact::model_id`).
    pub fn model_id(&self) -> &str {
        &self.model_ref.id
    }
}

/// The whole HTTP contract as one Router (no runtime-specific layers), any
/// origin allowed by CORS.
pub fn app(served: Arc<Served>) -> Router {
    app_with(served, &AllowedOrigins::Any)
}

/// The whole HTTP contract, with CORS for `origins` (preflights answered,
/// responses marked) — the same on the native server and the Worker.
pub fn app_with(served: Arc<Served>, origins: &AllowedOrigins) -> Router {
    Router::new()
        .route("/predict", post(predict))
        .route("/predict/batch", post(predict_batch))
        .route("/health", get(health))
        .route("/model", get(model_card))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(served)
        .layer(origins.layer())
}

/// A response body as JSON. Every body this crate writes is a plain struct of
/// numbers, strings and lists with string keys, which serde_json serialises
/// into a Vec without failing (non-finite numbers would become `null`, and
/// none can occur: validation keeps every score finite).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("response bodies are plain structs that serialise to JSON infallibly")
}

fn json(bytes: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes.into()).into_response()
}

/// `GET /health`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health<'a> {
    /// Always `ok` when the server answers.
    status: &'static str,
    #[schema(value_type = ModelRef)]
    model: &'a ModelRef,
}

/// Liveness, and which model is loaded.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "The server is up", body = Health)))]
pub(crate) async fn health(State(s): State<Arc<Served>>) -> Response {
    json(s.health.clone())
}

/// The model card: what the model is, how it decides, how it was trained and how it did.
#[utoipa::path(get, path = "/model", responses((status = 200, description = "The model card", body = crate::openapi::ModelCardBody)))]
pub(crate) async fn model_card(State(s): State<Arc<Served>>) -> Response {
    json(s.card.clone())
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub(crate) async fn openapi_json(State(s): State<Arc<Served>>) -> Response {
    json(s.openapi.clone())
}

/// A small reader of the document (plain HTML, no CDN).
async fn docs() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], crate::openapi::DOCS_HTML)
        .into_response()
}

/// The contract's 404 (public so a server that adds static files keeps it for misses).
pub async fn not_found(uri: Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no route {path}; routes: POST /predict, POST /predict/batch, GET /health, GET /model, GET /openapi.json, GET /docs"
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let allowed = if uri.path().starts_with("/predict") { "POST" } else { "GET" };
    ApiError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {}; use {allowed}", uri.path()))
}

/// Accepts `application/json` and `+json` types (any parameters), or no
/// content type at all; anything else is 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let essence = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        return Ok(());
    }
    let shown: String = String::from_utf8_lossy(value.as_bytes()).chars().take(100).collect();
    Err(ApiError::new(
        ErrorCode::UnsupportedMediaType,
        format!("content type {shown:?} is not supported; send application/json"),
    ))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"))
}

/// Reads the whole body, refusing more than `limit` bytes (before reading,
/// when Content-Length already says so).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    check_content_type(headers)?;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.downcast_ref::<http_body_util::LengthLimitError>().is_some());
        if over {
            too_large(limit)
        } else {
            ApiError::new(ErrorCode::MalformedJson, format!("the request body could not be read: {e}"))
        }
    })
}

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::Malformed(m) => {
            ApiError::new(ErrorCode::MalformedJson, format!("request body is not valid JSON: {m}"))
        }
        BodyError::WrongType(m) => ApiError::new(ErrorCode::WrongJsonType, m),
    }
}

fn not_object(model: &Model, what: &str) -> String {
    let schema = model.schema().describe();
    format!("a transaction must be a JSON object of the model's named features ({schema}), got {what}")
}

/// `?explain=k`: the top-k contributions. Other parameters are ignored.
fn explain_param(uri: &Uri, max_explain: usize) -> Result<Option<usize>, ApiError> {
    let Some(query) = uri.query() else { return Ok(None) };
    let Some(value) =
        query.split('&').find_map(|pair| pair.strip_prefix("explain=").or((pair == "explain").then_some("")))
    else {
        return Ok(None);
    };
    // A 32-bit signed whole number, as the OpenAPI document says (larger ones are refused, not wrapped).
    match value.parse::<i32>() {
        Ok(k) if k >= 0 => Ok(Some((k as usize).min(max_explain))),
        _ => Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!(
                "explain must be a whole number of features (0 to {max_explain}), got {:?}",
                value.chars().take(40).collect::<String>()
            ),
        )),
    }
}

fn contributions<'m>(model: &'m Model, t: &Transaction, k: Option<usize>) -> Option<Vec<Contribution<'m>>> {
    k.map(|k| model.explain(t, k))
}

/// What each decision is expected to be worth, from the calibrated
/// probability, the transaction's amount and the model's costs.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExpectedBenefit<'a> {
    /// Expected value of refusing.
    refuse: f64,
    /// Expected value of accepting.
    accept: f64,
    /// The costs' currency.
    currency: &'a str,
}

/// One feature's share of the score, in logit units (all of them plus `base_value` make the logit).
#[derive(Serialize, ToSchema)]
pub(crate) struct ContributionBody {
    /// Feature name.
    feature: String,
    /// The input value.
    value: f64,
    /// Positive pushes towards fraud (trees: the exact TreeSHAP value).
    contribution: f64,
}

impl<'a> ExpectedBenefit<'a> {
    fn of(p: &Prediction, model: &'a Model) -> ExpectedBenefit<'a> {
        ExpectedBenefit { refuse: p.expected.refuse, accept: p.expected.accept, currency: &model.costs().currency }
    }
}

/// A scored transaction.
#[derive(Serialize, ToSchema)]
pub(crate) struct PredictResponse<'a> {
    /// The request's `id`, or null.
    #[schema(schema_with = crate::openapi::echoed_id_schema)]
    id: Option<Value>,
    /// Calibrated probability of fraud.
    #[schema(minimum = 0.0, maximum = 1.0)]
    fraud_probability: f64,
    /// The policy's decision: refuse.
    is_fraud: bool,
    expected_benefit: ExpectedBenefit<'a>,
    /// Threshold on the probability (applied by the threshold policies).
    threshold: f64,
    /// `f1_threshold`, `net_benefit_threshold` or `cost_optimal`.
    policy: &'static str,
    #[schema(value_type = ModelRef)]
    model: &'a ModelRef,
    /// With `?explain=k`: the k largest contributions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ContributionBody>>)]
    contributions: Option<Vec<Contribution<'a>>>,
    /// With `?explain`: all contributions plus this make the logit.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_value: Option<f64>,
}

/// Scores one transaction.
#[utoipa::path(
    post,
    path = "/predict",
    params(("explain" = Option<i32>, Query, description = "Also return the k largest feature contributions (more than the model's feature count gives them all)", minimum = 0)),
    request_body(content = crate::openapi::TransactionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Scored", body = PredictResponse),
        (status = 400, description = "Malformed JSON, not an object, or a bad `explain` (malformed_json, wrong_json_type, invalid_parameter)", body = crate::error::ErrorBody),
        (status = 408, description = "The request was not received in time (native server)", body = crate::error::ErrorBody),
        (status = 413, description = "Body over the size limit (payload_too_large)", body = crate::error::ErrorBody),
        (status = 415, description = "Content type is not JSON (unsupported_media_type)", body = crate::error::ErrorBody),
        (status = 422, description = "Fields missing, unknown, duplicated, non-numeric, non-finite or out of range; `fields` names them", body = crate::error::ErrorBody),
        (status = 503, description = "At the concurrency limit; retry after `Retry-After` (native server)", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn predict(
    State(s): State<Arc<Served>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let explain = explain_param(&uri, s.model.width())?;
    let bytes = read_body(&headers, body, MAX_BODY_BYTES).await?;
    let parsed = match parse::transaction(&bytes, s.model.schema()).map_err(body_error)? {
        Item::Object(parsed) => parsed,
        Item::NotObject(what) => return Err(ApiError::new(ErrorCode::WrongJsonType, not_object(&s.model, what))),
    };
    let t = parsed.transaction.map_err(|e| ApiError::validation(&e))?;
    let p = s.model.predict(&t);
    s.observe(&t, &p);
    let response = PredictResponse {
        id: parsed.id,
        fraud_probability: p.probability,
        is_fraud: p.is_fraud,
        expected_benefit: ExpectedBenefit::of(&p, &s.model),
        threshold: s.model.threshold(),
        policy: s.model.policy().as_str(),
        model: &s.model_ref,
        contributions: contributions(&s.model, &t, explain),
        base_value: explain.map(|_| s.model.base_value()),
    };
    Ok(json(to_json(&response)))
}

/// One scored item of a batch.
#[derive(Serialize, ToSchema)]
pub(crate) struct BatchResult<'a> {
    /// The item's `id`, or null.
    #[schema(schema_with = crate::openapi::echoed_id_schema)]
    id: Option<Value>,
    /// Calibrated probability of fraud.
    #[schema(minimum = 0.0, maximum = 1.0)]
    fraud_probability: f64,
    /// The policy's decision: refuse.
    is_fraud: bool,
    expected_benefit: ExpectedBenefit<'a>,
    /// With `?explain=k`: the k largest contributions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ContributionBody>>)]
    contributions: Option<Vec<Contribution<'a>>>,
}

/// A scored batch, results in input order.
#[derive(Serialize, ToSchema)]
pub(crate) struct BatchResponse<'a> {
    /// Transactions scored.
    count: usize,
    /// Of which refused.
    flagged: usize,
    /// Threshold on the probability (threshold policies).
    threshold: f64,
    /// The decision policy.
    policy: &'static str,
    #[schema(value_type = ModelRef)]
    model: &'a ModelRef,
    results: Vec<BatchResult<'a>>,
}

/// Scores up to 10,000 transactions; one invalid item rejects the batch, naming it.
#[utoipa::path(
    post,
    path = "/predict/batch",
    params(("explain" = Option<i32>, Query, description = "Also return each item's k largest feature contributions (more than the model's feature count gives them all)", minimum = 0)),
    request_body(content = crate::openapi::BatchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Scored, in input order", body = BatchResponse),
        (status = 400, description = "Malformed JSON, the wrong shape, or a bad `explain`", body = crate::error::ErrorBody),
        (status = 408, description = "The request was not received in time (native server)", body = crate::error::ErrorBody),
        (status = 413, description = "Body or batch over its limit (payload_too_large, batch_too_large)", body = crate::error::ErrorBody),
        (status = 415, description = "Content type is not JSON", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid items; `items` lists them by index, nothing was scored", body = crate::error::ErrorBody),
        (status = 503, description = "At the concurrency limit (native server)", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn predict_batch(
    State(s): State<Arc<Served>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let explain = explain_param(&uri, s.model.width())?;
    let bytes = read_body(&headers, body, MAX_BATCH_BODY_BYTES).await?;
    let batch = parse::batch(&bytes, MAX_BATCH, s.model.schema()).map_err(body_error)?;
    if batch.total > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!("batch has {} transactions, the limit is {MAX_BATCH}", batch.total),
        ));
    }
    // Validate everything first: one bad item rejects the batch, nothing is scored.
    let mut rejected = Vec::new();
    let mut bad = 0;
    for (index, item) in batch.items.iter().enumerate() {
        let error = match item {
            Item::Object(parsed) => match &parsed.transaction {
                Ok(_) => continue,
                Err(e) => ItemError { index, code: e.code(), message: e.to_string(), fields: field_errors(&e.issues) },
            },
            Item::NotObject(what) => ItemError {
                index,
                code: ErrorCode::WrongJsonType,
                message: not_object(&s.model, what),
                fields: Vec::new(),
            },
        };
        bad += 1;
        if rejected.len() < MAX_LISTED_ITEMS {
            rejected.push(error);
        }
    }
    if let Some(first) = rejected.first() {
        let one_code = rejected.iter().all(|e| e.code == first.code) && bad == rejected.len();
        let code = if one_code { first.code } else { ErrorCode::InvalidFields };
        let message = format!(
            "{bad} of {} transactions are invalid (first: item {}: {}); nothing was scored",
            batch.total, first.index, first.message
        );
        let omitted = bad - rejected.len();
        return Err(ApiError::new(code, message).with_items(rejected, omitted));
    }
    let mut flagged = 0;
    let valid = batch
        .items
        .into_iter()
        .filter_map(|item| match item {
            Item::Object(parse::Parsed { id, transaction: Ok(t) }) => Some((id, t)),
            _ => None,
        })
        .collect::<Vec<_>>();
    let predictions: Vec<Prediction> = valid.iter().map(|(_, t)| s.model.predict(t)).collect();
    if let Some(o) = &s.observer {
        let seen: Vec<(&[f64], f64, bool)> =
            valid.iter().zip(&predictions).map(|((_, t), p)| (t.values(), p.probability, p.is_fraud)).collect();
        o.scored_batch(&seen);
    }
    let results: Vec<BatchResult> = valid
        .into_iter()
        .zip(predictions)
        .map(|((id, t), p)| {
            flagged += p.is_fraud as usize;
            BatchResult {
                id,
                fraud_probability: p.probability,
                is_fraud: p.is_fraud,
                expected_benefit: ExpectedBenefit::of(&p, &s.model),
                contributions: contributions(&s.model, &t, explain),
            }
        })
        .collect();
    let response = BatchResponse {
        count: results.len(),
        flagged,
        threshold: s.model.threshold(),
        policy: s.model.policy().as_str(),
        model: &s.model_ref,
        results,
    };
    Ok(json(to_json(&response)))
}
