//! Scoring from a NATS JetStream stream by a group of consumers.
//!
//! Each consumer pulls batches of transactions (the JSON `/predict` takes, with
//! an `id`) from one durable pull consumer that every instance shares, scores
//! them with `core`, and publishes one decision per transaction to the
//! decisions subject — or, for a transaction that fails validation or is not
//! JSON, a dead letter with `core`'s error code and fields. A message is
//! acknowledged only after its decision (or dead letter) is confirmed by
//! JetStream: at least once. Every publish carries a `Nats-Msg-Id` made of the
//! transaction's stream sequence, so when a killed consumer's unacknowledged
//! messages are redelivered to another after the ack wait, JetStream's
//! duplicate window drops the second decision: exactly one per transaction.
//!
//! Why the request body parser of `http-api`: a message is the same JSON as a
//! `/predict` body, and must be refused with the same codes and fields.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::pull, stream};
use fraud_core::Model;
use futures_util::StreamExt;
use http_api::parse::{self, BodyError, Item};
use serde::Serialize;

/// Where things are on the broker.
#[derive(Clone, Debug)]
pub struct Config {
    /// `nats://host:port`.
    pub url: String,
    /// The stream transactions are published to.
    pub stream: String,
    /// Its subject.
    pub subject: String,
    /// The durable pull consumer every instance shares.
    pub durable: String,
    /// The stream decisions and dead letters go to (de-duplicated by message id).
    pub decisions_stream: String,
    /// Decisions' subject.
    pub decisions_subject: String,
    /// Dead letters' subject.
    pub dead_letter_subject: String,
    /// Messages per pull.
    pub batch: usize,
    /// How long a delivered message may stay unacknowledged before JetStream redelivers it.
    pub ack_wait: Duration,
    /// How long JetStream remembers message ids to drop duplicates.
    pub duplicate_window: Duration,
    /// Top reasons per decision.
    pub reasons: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            url: "nats://127.0.0.1:4222".into(),
            stream: "TRANSACTIONS".into(),
            subject: "transactions".into(),
            durable: "scorers".into(),
            decisions_stream: "DECISIONS".into(),
            decisions_subject: "decisions".into(),
            dead_letter_subject: "transactions.dead".into(),
            batch: 500,
            ack_wait: Duration::from_secs(10),
            duplicate_window: Duration::from_secs(120),
            reasons: 3,
        }
    }
}

/// One decision, as published.
#[derive(Serialize)]
struct Decision<'a> {
    id: &'a Option<serde_json::Value>,
    fraud_probability: f64,
    is_fraud: bool,
    reasons: Vec<Reason<'a>>,
    model_id: &'a str,
    /// The transaction's sequence in its stream (what de-duplication keys on).
    sequence: u64,
    /// Milliseconds from the transaction reaching the stream to its decision being made.
    latency_ms: f64,
}

#[derive(Serialize)]
struct Reason<'a> {
    feature: &'a str,
    contribution: f64,
}

/// A transaction that could not be scored: the contract's error (core's code, message, fields).
#[derive(Serialize)]
struct DeadLetter<'a> {
    sequence: u64,
    error: &'a http_api::ApiError,
    /// The start of the message, to find it.
    payload: String,
}

/// Running counts (also what the summary reports).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    /// Messages pulled.
    pub consumed: u64,
    /// Decisions published and confirmed.
    pub decided: u64,
    /// Dead letters published and confirmed.
    pub dead_lettered: u64,
    /// Messages delivered more than once (a consumer died holding them).
    pub redelivered: u64,
    /// Messages the durable consumer still had to deliver when last asked.
    pub lag: u64,
}

/// Creates the two streams and the durable consumer if they are not there (idempotent).
pub async fn setup(js: &jetstream::Context, config: &Config) -> Result<jetstream::consumer::Consumer<pull::Config>> {
    let transactions = js
        .get_or_create_stream(stream::Config {
            name: config.stream.clone(),
            subjects: vec![config.subject.clone()],
            duplicate_window: config.duplicate_window,
            ..Default::default()
        })
        .await
        .context("creating the transactions stream")?;
    js.get_or_create_stream(stream::Config {
        name: config.decisions_stream.clone(),
        subjects: vec![config.decisions_subject.clone(), config.dead_letter_subject.clone()],
        duplicate_window: config.duplicate_window,
        ..Default::default()
    })
    .await
    .context("creating the decisions stream")?;
    transactions
        .get_or_create_consumer(
            &config.durable,
            pull::Config {
                durable_name: Some(config.durable.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: config.ack_wait,
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .context("creating the durable consumer")
}

fn with_id(sequence: u64, kind: &str) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", format!("{kind}-{sequence}").as_str());
    headers
}

/// What one message becomes: a decision or a dead letter, as JSON.
fn outcome(
    model: &Model,
    model_id: &str,
    reasons: usize,
    (sequence, published_ns): (u64, i128),
    payload: &[u8],
) -> (bool, Vec<u8>) {
    let error = match parse::transaction(payload, model.schema()) {
        Ok(Item::Object(parsed)) => match &parsed.transaction {
            Ok(t) => {
                let p = model.predict(t);
                let reasons = if reasons == 0 {
                    Vec::new()
                } else {
                    model
                        .explain(t, reasons)
                        .into_iter()
                        .map(|c| Reason { feature: c.feature, contribution: c.contribution })
                        .collect()
                };
                let decision = Decision {
                    id: &parsed.id,
                    fraud_probability: p.probability,
                    is_fraud: p.is_fraud,
                    reasons,
                    model_id,
                    sequence,
                    latency_ms: (now_ns() - published_ns) as f64 / 1e6,
                };
                return (true, serde_json::to_vec(&decision).expect("a decision is plain data"));
            }
            Err(e) => http_api::ApiError::validation(e),
        },
        Ok(Item::NotObject(what)) => http_api::ApiError::new(
            fraud_core::ErrorCode::WrongJsonType,
            format!(
                "a transaction must be a JSON object of the model's features ({}), got {what}",
                model.schema().describe()
            ),
        ),
        Err(BodyError::Malformed(m)) => http_api::ApiError::new(fraud_core::ErrorCode::MalformedJson, m),
        Err(BodyError::WrongType(m)) => http_api::ApiError::new(fraud_core::ErrorCode::WrongJsonType, m),
    };
    let shown: String = String::from_utf8_lossy(&payload[..payload.len().min(200)]).into_owned();
    let dead = DeadLetter { sequence, error: &error, payload: shown };
    (false, serde_json::to_vec(&dead).expect("a dead letter is plain data"))
}

fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// Consumes until `stop` is set: pulls a batch, scores it, publishes every
/// outcome, waits for JetStream to confirm them all, then acknowledges the
/// batch. Returns the counts. `progress` is called after each batch.
pub async fn run(
    model: &Model,
    model_id: &str,
    config: &Config,
    stop: Arc<AtomicBool>,
    mut progress: impl FnMut(&Counts),
) -> Result<Counts> {
    let client = async_nats::connect(&config.url).await.with_context(|| format!("connecting to {}", config.url))?;
    let js = jetstream::new(client);
    let mut consumer = setup(&js, config).await?;
    let mut counts = Counts::default();
    let mut last_lag = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let mut batch = consumer
            .fetch()
            .max_messages(config.batch)
            .expires(Duration::from_millis(250))
            .messages()
            .await
            .context("pulling a batch")?;
        let mut messages = Vec::with_capacity(config.batch);
        while let Some(message) = batch.next().await {
            // A broken delivery is not a message: JetStream will deliver it again.
            if let Ok(m) = message {
                messages.push(m);
            }
        }
        if messages.is_empty() {
            continue;
        }
        let mut confirmations = Vec::with_capacity(messages.len());
        for m in &messages {
            let (sequence, delivered, published_ns) = m
                .info()
                .map(|i| (i.stream_sequence, i.delivered, i.published.unix_timestamp_nanos()))
                .unwrap_or((0, 1, now_ns()));
            counts.consumed += 1;
            counts.redelivered += (delivered > 1) as u64;
            let (decided, body) = outcome(model, model_id, config.reasons, (sequence, published_ns), &m.payload);
            let (subject, kind) =
                if decided { (&config.decisions_subject, "decision") } else { (&config.dead_letter_subject, "dead") };
            let ack = js
                .publish_with_headers(subject.clone(), with_id(sequence, kind), body.into())
                .await
                .context("publishing an outcome")?;
            confirmations.push((decided, ack));
        }
        // At least once: acknowledge only what JetStream confirmed holding.
        for (decided, ack) in confirmations {
            ack.await.context("JetStream did not confirm an outcome")?;
            if decided {
                counts.decided += 1;
            } else {
                counts.dead_lettered += 1;
            }
        }
        for m in &messages {
            m.ack().await.map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
        }
        if last_lag.elapsed() > Duration::from_secs(1) {
            if let Ok(info) = consumer.info().await {
                counts.lag = info.num_pending;
            }
            last_lag = Instant::now();
        }
        progress(&counts);
    }
    if let Ok(info) = consumer.info().await {
        counts.lag = info.num_pending;
    }
    Ok(counts)
}
