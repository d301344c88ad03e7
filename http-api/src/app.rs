//! The Router and its handlers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use contract::log::DecisionRecord;
use contract::parse::{self, Item};
use contract::{
    contribution_bodies, id_text, to_json, ActionCounts, ApiError, BatchResponse, BatchResult, ContributionBody,
    ExpectedBenefit, Health, Limits, ModelRef, ModelResponse, PredictResponse, VerdictBody, MAX_BATCH,
    MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES,
};
use fraud_core::{
    Action, Artifact, ArtifactError, ErrorCode, Loaded, Model, Prediction, RuleSet, Transaction, Verdict,
};
use std::borrow::Cow;

use crate::cors::AllowedOrigins;
use crate::error::HttpError;

/// What a server serves: the model, built once from the artifact, and the
/// JSON that never changes (model reference, `/health`, `/model`).
pub struct Served {
    model: Model,
    model_ref: ModelRef,
    /// `/model`'s body as a value, so a runtime can add when it was loaded.
    card_body: ModelResponse,
    health: Bytes,
    card: Bytes,
    openapi: Bytes,
    drift: Option<fraud_core::drift::DriftReference>,
    observer: Option<Arc<dyn Observer>>,
    /// The decision layer; swapped whole, so a request (a batch too) is
    /// decided by one set from start to end.
    rules: RwLock<Option<Arc<RuleSet>>>,
    /// The decision log: with one, a decision is answered only once it is stored.
    sink: Option<Arc<dyn DecisionSink>>,
    /// A second model scoring every transaction in shadow: logged and observed, never answered.
    challenger: Option<Challenger>,
}

/// The challenger of [`Served::with_challenger`].
struct Challenger {
    model: Model,
    model_ref: ModelRef,
}

/// One transaction as champion and challenger decided it (see [`Observer::shadowed`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shadowed {
    /// The champion's probability (the one answered).
    pub champion: f64,
    /// The champion's policy refused.
    pub champion_refused: bool,
    /// The champion's action.
    pub champion_action: Action,
    /// The challenger's probability.
    pub challenger: f64,
    /// The challenger's policy refused.
    pub challenger_refused: bool,
    /// The action the challenger would have taken (through the same rules).
    pub challenger_action: Action,
}

/// Where a runtime's decisions are logged (the native server's SQLite or PostgreSQL log).
/// With a sink, `/predict` and `/predict/batch` answer 200 only after [`DecisionSink::log`]
/// resolved: a 200 means logged.
pub trait DecisionSink: Send + Sync {
    /// Stores the decisions of one request; resolves once they are durable, or with the
    /// error to answer instead (503 with Retry-After when the log cannot take them).
    fn log(&self, records: Vec<DecisionRecord>) -> Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + '_>>;
    /// A new id for a transaction sent without one (unique across the servers sharing the log).
    fn assign_id(&self) -> String;
    /// Milliseconds since the Unix epoch (the sink's clock: the Worker has no `SystemTime`).
    fn now_ms(&self) -> i64;
}

/// Whether the runtime logging decisions also serves the log's admin routes
/// (labels, decisions, reviews: the native server does; the Worker does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRoutes {
    /// Served beside the Router (and so in its OpenAPI document).
    Served,
    /// Not served here: read the log where it is stored.
    Absent,
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

    /// The verdicts of a request's transactions, by the rule set that decided them (none: the model alone).
    fn decided(&self, _rules: Option<&RuleSet>, _verdicts: &[Verdict]) {}

    /// With a challenger: how champion and challenger decided a request's transactions, in input order.
    fn shadowed(&self, _pairs: &[Shadowed]) {}
}

impl Served {
    /// Loads an artifact (every check of `core`'s decoder applies).
    pub fn from_artifact(bytes: &[u8]) -> Result<Served, ArtifactError> {
        Artifact::load(bytes).map(Served::from_loaded)
    }

    /// Serves a loaded artifact (e.g. from `fraud_core::artifact::read_file`).
    pub fn from_loaded(loaded: Loaded) -> Served {
        let Loaded { artifact, model, format_version, id } = loaded;
        let model_ref = ModelRef {
            name: artifact.model_name.clone(),
            kind: model.kind().as_str().to_string(),
            id,
            // The file's own version (a version-1 file still loads).
            format_version,
        };
        let card = ModelResponse {
            model: model_ref.clone(),
            card: artifact.card(&model),
            limits: Limits::of(&model),
            loaded_at_ms: None,
            challenger: None,
        };
        let health = Health { status: "ok".into(), model: model_ref.clone(), loaded_at_ms: None, challenger: None };
        Served {
            card_body: card.clone(),
            openapi: Bytes::from(crate::openapi::document(model.schema(), false)),
            card: Bytes::from(to_json(&card)),
            health: Bytes::from(to_json(&health)),
            model,
            model_ref,
            drift: artifact.drift,
            observer: None,
            rules: RwLock::new(None),
            sink: None,
            challenger: None,
        }
    }

    /// `/health` and `/model` again, from the card's fields.
    fn refresh_bodies(&mut self) {
        self.card = Bytes::from(to_json(&self.card_body));
        self.health = Bytes::from(to_json(&Health {
            status: "ok".into(),
            model: self.model_ref.clone(),
            loaded_at_ms: self.card_body.loaded_at_ms,
            challenger: self.card_body.challenger.clone(),
        }));
    }

    /// The same, `/health` and `/model` saying it started serving at `ms` (since the Unix epoch).
    pub fn with_loaded_at(mut self, ms: i64) -> Served {
        self.card_body.loaded_at_ms = Some(ms);
        self.refresh_bodies();
        self
    }

    /// The same, with `challenger` scoring every transaction in shadow: the answer stays this
    /// model's; the decision log keeps the challenger's probability and action beside it, and
    /// the observer sees both ([`Observer::shadowed`]). The challenger must read the same
    /// requests: the same schema (features, their kinds and categories, label, id, amount).
    pub fn with_challenger(mut self, challenger: Loaded) -> Result<Served, String> {
        let Loaded { artifact, model, format_version, id, .. } = challenger;
        if model.schema() != self.model.schema() {
            return Err(format!(
                "the challenger {} ({id}) does not read the champion's requests: its schema (features, \
                 their kinds and categories, label, id or amount column) differs from {}'s",
                artifact.model_name, self.model_ref.name
            ));
        }
        let model_ref =
            ModelRef { name: artifact.model_name.clone(), kind: model.kind().as_str().to_string(), id, format_version };
        self.card_body.challenger = Some(model_ref.clone());
        self.refresh_bodies();
        self.challenger = Some(Challenger { model, model_ref });
        Ok(self)
    }

    /// The challenger scored in shadow, if any.
    pub fn challenger(&self) -> Option<&ModelRef> {
        self.challenger.as_ref().map(|c| &c.model_ref)
    }

    /// The challenger's decision on a transaction the champion scored (with `rules`, as the champion's).
    fn shadow(
        &self,
        rules: Option<&RuleSet>,
        t: &Transaction,
        id: &Option<serde_json::Value>,
        champion: (&Prediction, &Verdict),
    ) -> Option<Shadowed> {
        let c = self.challenger.as_ref()?;
        let p = c.model.predict(t);
        let v = Served::verdict(rules, &c.model, t, id, &p);
        Some(Shadowed {
            champion: champion.0.probability,
            champion_refused: champion.0.is_fraud,
            champion_action: champion.1.action,
            challenger: p.probability,
            challenger_refused: p.is_fraud,
            challenger_action: v.action,
        })
    }

    /// What the log keeps of a challenger's decision.
    fn challenger_record(&self, shadowed: Option<&Shadowed>) -> Option<contract::log::ChallengerDecision> {
        let (c, s) = (self.challenger.as_ref()?, shadowed?);
        Some(contract::log::ChallengerDecision {
            model_id: c.model_ref.id.clone(),
            probability: s.challenger,
            is_fraud: s.challenger_refused,
            action: s.challenger_action.as_str().to_string(),
        })
    }

    /// The same, logging every decision to `sink` before answering; the OpenAPI
    /// document lists the log's admin routes when this runtime serves them.
    pub fn with_sink(mut self, sink: Arc<dyn DecisionSink>, routes: LogRoutes) -> Served {
        self.sink = Some(sink);
        self.openapi = Bytes::from(crate::openapi::document(self.model.schema(), routes == LogRoutes::Served));
        self
    }

    /// The decision log, if any.
    pub fn sink(&self) -> Option<&Arc<dyn DecisionSink>> {
        self.sink.as_ref()
    }

    /// What the log keeps of one decision.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        id: String,
        at_ms: i64,
        features: contract::log::JsonText,
        t: &Transaction,
        p: &Prediction,
        decided: &VerdictBody<'_>,
        ruleset: Option<&str>,
        shown: Option<&Vec<ContributionBody<'_>>>,
        shadowed: Option<&Shadowed>,
    ) -> DecisionRecord {
        let reasons = match shown {
            Some(c) => Some(contract::log::JsonText::of(c)),
            None if decided.action == "review" => Some(contract::log::review_reasons(&self.model, t)),
            None => None,
        };
        DecisionRecord {
            id,
            at_ms,
            model_id: self.model_ref.id.clone(),
            ruleset: ruleset.map(str::to_string),
            features,
            probability: p.probability,
            is_fraud: p.is_fraud,
            action: decided.action.to_string(),
            rule: decided.rule.as_deref().map(str::to_string),
            shadow_rules: decided.shadow_rules.iter().map(|r| r.to_string()).collect(),
            reasons,
            expected_loss: contract::log::expected_loss(self.model.schema(), t.values(), p.probability),
            challenger: self.challenger_record(shadowed),
        }
    }

    /// The same, deciding through `rules` (compiled against this model's schema).
    pub fn with_rules(self, rules: RuleSet) -> Served {
        self.set_rules(rules);
        self
    }

    /// Swaps the rule set: requests that started keep the one they started with.
    pub fn set_rules(&self, rules: RuleSet) {
        // A poisoned lock only means a writer panicked after a whole swap: the value is intact.
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(rules));
    }

    /// The rule set deciding now, if any.
    pub fn rules(&self) -> Option<Arc<RuleSet>> {
        self.rules.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The verdict for a scored transaction (its id read as text only when there are rules to see it).
    fn verdict(
        rules: Option<&RuleSet>,
        model: &Model,
        t: &Transaction,
        id: &Option<serde_json::Value>,
        p: &Prediction,
    ) -> Verdict {
        match rules {
            Some(r) => r.verdict(model, t.values(), id_text(id).as_deref(), p.probability, p.is_fraud),
            None => Verdict { action: Action::of_model(p.is_fraud), rule: None, shadow: Default::default() },
        }
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

    /// Which model this is, as responses name it.
    pub fn model_ref(&self) -> &ModelRef {
        &self.model_ref
    }

    /// When it started serving, if the runtime said ([`Served::with_loaded_at`]).
    pub fn loaded_at_ms(&self) -> Option<i64> {
        self.card_body.loaded_at_ms
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
    app_live(Live::new(served), origins)
}

/// What the Router serves now: one [`Served`] at a time, swapped whole. Each
/// request takes the current one when it starts and keeps it to its end, so a
/// request (a batch too) is scored and decided wholly by the old model or
/// wholly by the new, and requests in flight finish on the one they started with.
#[derive(Clone)]
pub struct Live(Arc<RwLock<Arc<Served>>>);

impl Live {
    /// Serving `served`.
    pub fn new(served: Arc<Served>) -> Live {
        Live(Arc::new(RwLock::new(served)))
    }

    /// The one serving now.
    pub fn current(&self) -> Arc<Served> {
        // A poisoned lock still holds a whole `Arc` (a swap is one assignment).
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Serves `next` from now on; returns the one it replaced.
    pub fn swap(&self, next: Arc<Served>) -> Arc<Served> {
        let mut current = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *current, next)
    }
}

impl axum::extract::FromRef<Live> for Arc<Served> {
    fn from_ref(live: &Live) -> Arc<Served> {
        live.current()
    }
}

/// The whole HTTP contract over a swappable [`Live`] model.
pub fn app_live(live: Live, origins: &AllowedOrigins) -> Router {
    Router::new()
        .route("/predict", post(predict))
        .route("/predict/batch", post(predict_batch))
        .route("/health", get(health))
        .route("/model", get(model_card))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(live)
        .layer(origins.layer())
}

fn json(bytes: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes.into()).into_response()
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
pub async fn not_found(uri: Uri) -> HttpError {
    let path: String = uri.path().chars().take(200).collect();
    HttpError::new(
        ErrorCode::NotFound,
        format!(
            "no route {path}; routes: POST /predict, POST /predict/batch, GET /health, GET /model, GET /openapi.json, GET /docs"
        ),
    )
}

/// Reads and drops what is left of a request's body (up to [`MAX_BODY_BYTES`])
/// before an error is answered without it. An unread body makes the runtime
/// close the connection after the answer, and `wrangler dev`'s proxy, which
/// pools connections to the Worker, then loses the next request sent on it
/// ("Network connection lost"): the Worker must leave its connections reusable.
async fn drain(body: Body) {
    let _ = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
}

async fn no_route(uri: Uri, body: Body) -> HttpError {
    drain(body).await;
    not_found(uri).await
}

async fn method_not_allowed(method: Method, uri: Uri, body: Body) -> HttpError {
    drain(body).await;
    let allowed = if uri.path().starts_with("/predict") { "POST" } else { "GET" };
    HttpError::new(ErrorCode::MethodNotAllowed, format!("{method} is not allowed on {}; use {allowed}", uri.path()))
}

/// Accepts `application/json` and `+json` types (any parameters), or no
/// content type at all; anything else is 415.
fn check_content_type(headers: &HeaderMap) -> Result<(), HttpError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else { return Ok(()) };
    let essence = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        return Ok(());
    }
    let shown: String = String::from_utf8_lossy(value.as_bytes()).chars().take(100).collect();
    Err(HttpError::new(
        ErrorCode::UnsupportedMediaType,
        format!("content type {shown:?} is not supported; send application/json"),
    ))
}

fn too_large(limit: usize) -> HttpError {
    HttpError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds the limit of {limit} bytes"))
}

/// Reads the whole body, refusing more than `limit` bytes (before reading,
/// when Content-Length already says so).
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, HttpError> {
    if let Err(e) = check_content_type(headers) {
        drain(body).await;
        return Err(e);
    }
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
            HttpError::new(ErrorCode::MalformedJson, format!("the request body could not be read: {e}"))
        }
    })
}

/// `?explain=k`: the top-k contributions. Other parameters are ignored.
fn explain_param(uri: &Uri, max_explain: usize) -> Result<Option<usize>, HttpError> {
    let Some(query) = uri.query() else { return Ok(None) };
    let Some(value) =
        query.split('&').find_map(|pair| pair.strip_prefix("explain=").or((pair == "explain").then_some("")))
    else {
        return Ok(None);
    };
    // A 32-bit signed whole number, as the OpenAPI document says (larger ones are refused, not wrapped).
    match value.parse::<i32>() {
        Ok(k) if k >= 0 => Ok(Some((k as usize).min(max_explain))),
        _ => Err(HttpError::new(
            ErrorCode::InvalidParameter,
            format!(
                "explain must be a whole number of features (0 to {max_explain}), got {:?}",
                value.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// The body was validated, yet its raw values could not be read back: a bug, reported as the
/// log being unable to take the decision (nothing was answered or stored).
fn unreadable(e: contract::log::RawFeaturesError) -> HttpError {
    HttpError::new(ErrorCode::LogUnavailable, format!("the decision could not be logged: {}", e.0))
}

fn contributions<'m>(model: &'m Model, t: &Transaction, k: Option<usize>) -> Option<Vec<ContributionBody<'m>>> {
    k.map(|k| contribution_bodies(model.explain(t, k)))
}

/// Scores one transaction.
#[utoipa::path(
    post,
    path = "/predict",
    params(("explain" = Option<i32>, Query, description = "Also return the k largest feature contributions (more than the model's feature count gives them all)", minimum = 0)),
    request_body(content = crate::openapi::TransactionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Scored", body = PredictResponse),
        (status = 400, description = "Malformed JSON, not an object, or a bad `explain` (malformed_json, wrong_json_type, invalid_parameter)", body = contract::ErrorBody),
        (status = 408, description = "The request was not received in time (native server)", body = contract::ErrorBody),
        (status = 413, description = "Body over the size limit (payload_too_large)", body = contract::ErrorBody),
        (status = 415, description = "Content type is not JSON (unsupported_media_type)", body = contract::ErrorBody),
        (status = 422, description = "Fields missing, unknown, duplicated, non-numeric, non-finite or out of range; `fields` names them", body = contract::ErrorBody),
        (status = 503, description = "At the concurrency limit (overloaded), or the decision log could not store the decision (decision_log_unavailable); retry after `Retry-After` (native server). With a log, a 200 means stored.", body = contract::ErrorBody),
    )
)]
pub(crate) async fn predict(
    State(s): State<Arc<Served>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    // The body first (see `drain`), then the query.
    let bytes = read_body(&headers, body, MAX_BODY_BYTES).await?;
    let explain = explain_param(&uri, s.model.width())?;
    let parsed = match parse::transaction(&bytes, s.model.schema()).map_err(ApiError::body)? {
        Item::Object(parsed) => parsed,
        Item::NotObject(what) => return Err(ApiError::not_object(s.model.schema(), what).into()),
    };
    let t = parsed.transaction.map_err(|e| ApiError::validation(&e))?;
    let p = s.model.predict(&t);
    let rules = s.rules();
    let verdict = Served::verdict(rules.as_deref(), &s.model, &t, &parsed.id, &p);
    let shadowed = s.shadow(rules.as_deref(), &t, &parsed.id, (&p, &verdict));
    s.observe(&t, &p);
    if let Some(o) = &s.observer {
        o.decided(rules.as_deref(), &[verdict]);
        if let Some(pair) = &shadowed {
            o.shadowed(std::slice::from_ref(pair));
        }
    }
    let decided = VerdictBody::of(rules.as_deref(), &verdict);
    let shown = contributions(&s.model, &t, explain);
    let mut logged_id = None;
    if let Some(sink) = &s.sink {
        let features = contract::log::raw_features(&bytes, s.model.schema()).map_err(unreadable)?;
        // An empty id names nothing (it could not be looked up): the server assigns one.
        let id = id_text(&parsed.id).filter(|i| !i.is_empty()).map_or_else(|| sink.assign_id(), Cow::into_owned);
        let ruleset = rules.as_deref().map(RuleSet::version);
        let record =
            s.record(id.clone(), sink.now_ms(), features, &t, &p, &decided, ruleset, shown.as_ref(), shadowed.as_ref());
        sink.log(vec![record]).await?;
        logged_id = Some(Cow::Owned(id));
    }
    let response = PredictResponse {
        id: parsed.id,
        fraud_probability: p.probability,
        is_fraud: p.is_fraud,
        action: decided.action,
        rule: decided.rule,
        ruleset: rules.as_deref().map(|r| Cow::Borrowed(r.version())),
        shadow_rules: decided.shadow_rules,
        expected_benefit: ExpectedBenefit::of(&p, &s.model),
        threshold: s.model.threshold(),
        policy: Cow::Borrowed(s.model.policy().as_str()),
        model: Cow::Borrowed(&s.model_ref),
        contributions: shown,
        base_value: explain.map(|_| s.model.base_value()),
        logged_id,
    };
    Ok(json(to_json(&response)))
}

/// Scores up to 10,000 transactions; one invalid item rejects the batch, naming it.
#[utoipa::path(
    post,
    path = "/predict/batch",
    params(("explain" = Option<i32>, Query, description = "Also return each item's k largest feature contributions (more than the model's feature count gives them all)", minimum = 0)),
    request_body(content = crate::openapi::BatchBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Scored, in input order", body = BatchResponse),
        (status = 400, description = "Malformed JSON, the wrong shape, or a bad `explain`", body = contract::ErrorBody),
        (status = 408, description = "The request was not received in time (native server)", body = contract::ErrorBody),
        (status = 413, description = "Body or batch over its limit (payload_too_large, batch_too_large)", body = contract::ErrorBody),
        (status = 415, description = "Content type is not JSON", body = contract::ErrorBody),
        (status = 422, description = "Invalid items; `items` lists them by index, nothing was scored", body = contract::ErrorBody),
        (status = 503, description = "At the concurrency limit, or the decision log could not store the decisions (none is then stored); retry after `Retry-After` (native server)", body = contract::ErrorBody),
    )
)]
pub(crate) async fn predict_batch(
    State(s): State<Arc<Served>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let bytes = read_body(&headers, body, MAX_BATCH_BODY_BYTES).await?;
    let explain = explain_param(&uri, s.model.width())?;
    let batch = parse::batch(&bytes, MAX_BATCH, s.model.schema()).map_err(ApiError::body)?;
    if batch.total > MAX_BATCH {
        return Err(HttpError::new(
            ErrorCode::BatchTooLarge,
            format!("batch has {} transactions, the limit is {MAX_BATCH}", batch.total),
        ));
    }
    // Validate everything first: one bad item rejects the batch, nothing is scored.
    contract::check_batch(&batch, s.model.schema())?;
    let valid = batch
        .items
        .into_iter()
        .filter_map(|item| match item {
            Item::Object(parse::Parsed { id, transaction: Ok(t) }) => Some((id, t)),
            _ => None,
        })
        .collect::<Vec<_>>();
    let predictions: Vec<Prediction> = valid.iter().map(|(_, t)| s.model.predict(t)).collect();
    let rules = s.rules();
    let verdicts: Vec<Verdict> = valid
        .iter()
        .zip(&predictions)
        .map(|((id, t), p)| Served::verdict(rules.as_deref(), &s.model, t, id, p))
        .collect();
    let shadowed: Vec<Shadowed> = match &s.challenger {
        Some(_) => valid
            .iter()
            .zip(predictions.iter().zip(&verdicts))
            .filter_map(|((id, t), champion)| s.shadow(rules.as_deref(), t, id, champion))
            .collect(),
        None => Vec::new(),
    };
    if let Some(o) = &s.observer {
        let seen: Vec<(&[f64], f64, bool)> =
            valid.iter().zip(&predictions).map(|((_, t), p)| (t.values(), p.probability, p.is_fraud)).collect();
        o.scored_batch(&seen);
        o.decided(rules.as_deref(), &verdicts);
        if !shadowed.is_empty() {
            o.shadowed(&shadowed);
        }
    }
    let flagged = predictions.iter().filter(|p| p.is_fraud).count();
    let mut actions = ActionCounts::default();
    let mut results: Vec<BatchResult> = valid
        .iter()
        .zip(&predictions)
        .zip(&verdicts)
        .map(|(((id, t), p), verdict)| {
            actions.add(verdict.action);
            let decided = VerdictBody::of(rules.as_deref(), verdict);
            BatchResult {
                id: id.clone(),
                fraud_probability: p.probability,
                is_fraud: p.is_fraud,
                action: decided.action,
                rule: decided.rule,
                shadow_rules: decided.shadow_rules,
                expected_benefit: ExpectedBenefit::of(p, &s.model),
                contributions: contributions(&s.model, t, explain),
                logged_id: None,
            }
        })
        .collect();
    if let Some(sink) = &s.sink {
        let features = contract::log::raw_batch_features(&bytes, s.model.schema()).map_err(unreadable)?;
        if features.len() != results.len() {
            return Err(unreadable(contract::log::RawFeaturesError(format!(
                "{} items read back, {} scored",
                features.len(),
                results.len()
            ))));
        }
        let now = sink.now_ms();
        let ruleset = rules.as_deref().map(RuleSet::version);
        let mut records = Vec::with_capacity(results.len());
        for (k, ((((id, t), p), result), features)) in
            valid.iter().zip(&predictions).zip(&mut results).zip(features).enumerate()
        {
            let logged = id_text(id).filter(|i| !i.is_empty()).map_or_else(|| sink.assign_id(), Cow::into_owned);
            let decided = VerdictBody {
                action: result.action.clone(),
                rule: result.rule.clone(),
                shadow_rules: result.shadow_rules.clone(),
            };
            records.push(s.record(
                logged.clone(),
                now,
                features,
                t,
                p,
                &decided,
                ruleset,
                result.contributions.as_ref(),
                shadowed.get(k),
            ));
            result.logged_id = Some(Cow::Owned(logged));
        }
        sink.log(records).await?;
    }
    let response = BatchResponse {
        count: results.len(),
        flagged,
        actions,
        ruleset: rules.as_deref().map(|r| Cow::Borrowed(r.version())),
        threshold: s.model.threshold(),
        policy: Cow::Borrowed(s.model.policy().as_str()),
        model: Cow::Borrowed(&s.model_ref),
        results,
    };
    Ok(json(to_json(&response)))
}
