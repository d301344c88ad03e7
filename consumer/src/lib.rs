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
//! With a rule set (`--rules`), each decision also carries what happens to the
//! transaction — the first matching rule's action, else the model's decision —
//! the deciding rule, the set's version and the shadow rules that matched:
//! `core`'s verdict, as `/predict` answers it. Without one the action is the
//! model's, nothing else is computed.
//!
//! Why the `contract` crate's parser and bodies: a message is the same JSON as
//! a `/predict` body, and must be refused with the same codes, fields and
//! wordings; the decision and dead-letter messages are typed there too, so the
//! streamer and the tests read them back as types. No HTTP machinery here.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer::pull, stream};
use contract::log::{DecisionRecord, JsonText};
use contract::nats::{ConsumerCounts, DeadLetter, Decision, OutcomeKind, Reason, Topology};
use contract::parse::{self, Item};
use contract::{id_text, to_json, ApiError, VerdictBody};
use decision_log::Log;
use fraud_core::{Action, Model, RuleSet};

use futures_util::StreamExt;

/// Where things are on the broker, and how this member of the group works.
#[derive(Clone, Debug)]
pub struct Config {
    /// `nats://host:port`.
    pub url: String,
    /// Streams, subjects and the shared durable consumer.
    pub topology: Topology,
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
            topology: Topology::default(),
            batch: 500,
            ack_wait: Duration::from_secs(10),
            duplicate_window: Duration::from_secs(120),
            reasons: 3,
        }
    }
}

/// Running counts (also what the summary reports).
pub type Counts = ConsumerCounts;

/// Creates the two streams and the durable consumer if they are not there (idempotent).
pub async fn setup(js: &jetstream::Context, config: &Config) -> Result<jetstream::consumer::Consumer<pull::Config>> {
    let t = &config.topology;
    let transactions = js
        .get_or_create_stream(stream::Config {
            name: t.stream.clone(),
            subjects: vec![t.subject.clone()],
            duplicate_window: config.duplicate_window,
            ..Default::default()
        })
        .await
        .context("creating the transactions stream")?;
    js.get_or_create_stream(stream::Config {
        name: t.decisions_stream.clone(),
        subjects: vec![t.decisions_subject.clone(), t.dead_letter_subject.clone()],
        duplicate_window: config.duplicate_window,
        ..Default::default()
    })
    .await
    .context("creating the decisions stream")?;
    transactions
        .get_or_create_consumer(
            &t.durable,
            pull::Config {
                durable_name: Some(t.durable.clone()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: config.ack_wait,
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .context("creating the durable consumer")
}

fn with_id(id: &str) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", id);
    headers
}

/// Where a message sits in its stream, from its JetStream metadata.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// The transaction's stream sequence (from 1): what its outcome's message id is made of.
    pub sequence: u64,
    /// How many times it has been delivered.
    pub delivered: i64,
    /// When it reached the stream, nanoseconds since the Unix epoch.
    pub published_ns: i128,
}

/// What to do with one pulled message.
#[derive(Debug, PartialEq)]
pub enum Handling {
    /// Publish this outcome (de-duplicated by `id`), then acknowledge the message.
    Publish {
        /// Decision or dead letter.
        kind: OutcomeKind,
        /// Its `Nats-Msg-Id`.
        id: String,
        /// The outcome's JSON.
        body: Vec<u8>,
        /// With a decision log: what it keeps of the decision (none for a dead letter).
        record: Option<Box<DecisionRecord>>,
    },
    /// Neither score nor acknowledge: without its stream sequence a message's
    /// outcome has no stable id (a redelivery could not be de-duplicated), so
    /// it is left for JetStream to deliver again.
    Redeliver,
}

/// What one message becomes. `delivery` is `None` when the message's
/// JetStream metadata could not be read. `rules` (if any) decide over the
/// model, as on `/predict`. With `record`, a decision also comes with what the
/// decision log keeps of it (logged under the transaction's id, or
/// `nats-SEQUENCE` without one: a redelivery logs nothing twice).
pub fn handle(
    model: &Model,
    model_id: &str,
    rules: Option<&RuleSet>,
    reasons: usize,
    delivery: Option<Delivery>,
    payload: &[u8],
    record: bool,
) -> Handling {
    let Some(Delivery { sequence, published_ns, .. }) = delivery else { return Handling::Redeliver };
    let error = match parse::transaction(payload, model.schema()) {
        Ok(Item::Object(parsed)) => match &parsed.transaction {
            Ok(t) => {
                let p = model.predict(t);
                let (action, rule, ruleset, shadow_rules) = match rules {
                    Some(r) => {
                        // The id is read as text only when there are rules to see it.
                        let v = r.verdict(model, t.values(), id_text(&parsed.id).as_deref(), p.probability, p.is_fraud);
                        let decided = VerdictBody::of(Some(r), &v);
                        (decided.action, decided.rule, Some(Cow::Borrowed(r.version())), decided.shadow_rules)
                    }
                    None => (Cow::Borrowed(Action::of_model(p.is_fraud).as_str()), None, None, Vec::new()),
                };
                let reasons = if reasons == 0 {
                    Vec::new()
                } else {
                    model
                        .explain(t, reasons)
                        .into_iter()
                        .map(|c| Reason { feature: c.feature.into(), contribution: c.contribution })
                        .collect()
                };
                let record = record.then(|| {
                    let reasons_json = if !reasons.is_empty() {
                        Some(JsonText::of(&reasons))
                    } else if action == "review" {
                        Some(contract::log::review_reasons(model, t))
                    } else {
                        None
                    };
                    Box::new(DecisionRecord {
                        id: id_text(&parsed.id)
                            .filter(|i| !i.is_empty())
                            .map_or_else(|| format!("nats-{sequence}"), Cow::into_owned),
                        at_ms: (now_ns() / 1_000_000) as i64,
                        model_id: model_id.to_string(),
                        ruleset: ruleset.as_deref().map(str::to_string),
                        // Validated just now: the raw values read back cannot fail; if they did, the
                        // decision is still logged with its values as `null`.
                        features: contract::log::raw_features(payload, model.schema())
                            .unwrap_or_else(|_| JsonText::from_trusted("null".into())),
                        probability: p.probability,
                        is_fraud: p.is_fraud,
                        action: action.to_string(),
                        rule: rule.as_deref().map(str::to_string),
                        shadow_rules: shadow_rules.iter().map(|r| r.to_string()).collect(),
                        reasons: reasons_json,
                        expected_loss: contract::log::expected_loss(model.schema(), t.values(), p.probability),
                        challenger: None,
                    })
                });
                let decision = Decision {
                    id: parsed.id,
                    fraud_probability: p.probability,
                    is_fraud: p.is_fraud,
                    action,
                    rule,
                    ruleset,
                    shadow_rules,
                    reasons,
                    model_id: model_id.into(),
                    sequence,
                    latency_ms: (now_ns() - published_ns) as f64 / 1e6,
                };
                let kind = OutcomeKind::Decision;
                return Handling::Publish { kind, id: kind.message_id(sequence), body: to_json(&decision), record };
            }
            Err(e) => ApiError::validation(e),
        },
        Ok(Item::NotObject(what)) => ApiError::not_object(model.schema(), what),
        Err(e) => ApiError::body(e),
    };
    let kind = OutcomeKind::DeadLetter;
    Handling::Publish {
        kind,
        id: kind.message_id(sequence),
        body: to_json(&DeadLetter::new(sequence, error, payload)),
        record: None,
    }
}

fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// Consumes until `stop` is set: pulls a batch, scores it, publishes every
/// outcome, waits for JetStream to confirm them all (and, with a decision
/// log, for the batch's decisions to be committed to it), then acknowledges
/// the batch. Returns the counts. `progress` is called after each batch.
/// `rules` (if any) decide over the model. A batch the log refuses is not
/// acknowledged: JetStream delivers it again after the ack wait, and the
/// outcomes' message ids and the log's ids keep each transaction once.
pub async fn run(
    model: &Model,
    model_id: &str,
    rules: Option<&RuleSet>,
    config: &Config,
    log: Option<&Log>,
    stop: Arc<AtomicBool>,
    progress: impl FnMut(&Counts),
) -> Result<Counts> {
    let scoring = Scoring { model: model.clone(), model_id: model_id.to_string(), rules: rules.cloned() };
    let (_fixed, current) = tokio::sync::watch::channel(Arc::new(scoring));
    run_live(current, config, log, stop, progress).await
}

/// What scores and decides: a model, its id, and the rules over it. Swapped whole.
#[derive(Clone, Debug)]
pub struct Scoring {
    /// The model.
    pub model: Model,
    /// Its artifact's id (each decision names it).
    pub model_id: String,
    /// The rules deciding over it, if any.
    pub rules: Option<RuleSet>,
}

/// [`run`] with a model that can change while consuming (`--model-from`): each batch is
/// scored wholly by the one `current` holds when the batch was pulled, so every decision
/// names the model that made it; a new one takes over at the next batch.
pub async fn run_live(
    current: tokio::sync::watch::Receiver<Arc<Scoring>>,
    config: &Config,
    log: Option<&Log>,
    stop: Arc<AtomicBool>,
    mut progress: impl FnMut(&Counts),
) -> Result<Counts> {
    let client = async_nats::connect(&config.url).await.with_context(|| format!("connecting to {}", config.url))?;
    let js = jetstream::new(client);
    let mut consumer = set_up_patiently(&js, config, &stop).await?;
    let mut counts = Counts::default();
    let mut last_lag = Instant::now();
    let mut failures_in_a_row = 0u32;
    while !stop.load(Ordering::Relaxed) {
        // A broker that is slow or away for a moment (a timed-out pull, publish confirmation
        // or ack) costs this batch a retry, not the process: what was not acknowledged is
        // delivered again after the ack wait, and its outcomes' ids make the second copy a
        // duplicate JetStream drops.
        match one_batch(&current, &js, &consumer, config, log, &mut counts).await {
            Ok(Pulled::Nothing | Pulled::Handled) => failures_in_a_row = 0,
            Err(e) => {
                counts.broker_errors += 1;
                failures_in_a_row += 1;
                tracing::warn!(error = %format!("{e:#}"), "a batch failed at the broker: it will be delivered again");
                tokio::time::sleep(RETRY_PAUSE).await;
                // Failing again and again: set the durable consumer up again, as at start.
                if failures_in_a_row.is_multiple_of(5) {
                    consumer = set_up_again(&js, config, consumer).await;
                }
            }
        }
        // Once a second, even while idle: the lag, and whether the durable consumer is still
        // there. A JetStream that lost it (a restart without its state) answers pulls with
        // nothing at all, so only asking about it tells.
        if last_lag.elapsed() > Duration::from_secs(1) {
            match consumer.info().await {
                Ok(info) => counts.lag = info.num_pending,
                Err(e) => {
                    counts.broker_errors += 1;
                    tracing::warn!(error = %format!("{e}"), "the durable consumer does not answer: setting it up again");
                    consumer = set_up_again(&js, config, consumer).await;
                }
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

/// [`setup`] once more; on failure the old handle stays (the next check tries again).
async fn set_up_again(
    js: &jetstream::Context,
    config: &Config,
    old: jetstream::consumer::Consumer<pull::Config>,
) -> jetstream::consumer::Consumer<pull::Config> {
    match setup(js, config).await {
        Ok(again) => again,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "cannot set up the durable consumer again");
            old
        }
    }
}

/// How long to wait after a failure at the broker before pulling again.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// [`setup`], tried again for a while when JetStream is slow to answer (a loaded or
/// restarting server): only a server that keeps refusing stops the consumer.
async fn set_up_patiently(
    js: &jetstream::Context,
    config: &Config,
    stop: &AtomicBool,
) -> Result<jetstream::consumer::Consumer<pull::Config>> {
    const ATTEMPTS: u32 = 10;
    let mut attempt = 1;
    loop {
        match setup(js, config).await {
            Ok(consumer) => return Ok(consumer),
            Err(e) if attempt < ATTEMPTS && !stop.load(Ordering::Relaxed) => {
                tracing::warn!(attempt, error = %format!("{e:#}"), "JetStream did not set up the streams and consumer: trying again");
                tokio::time::sleep(RETRY_PAUSE * attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

enum Pulled {
    Nothing,
    Handled,
}

/// Pulls one batch, publishes its outcomes, logs them, and acknowledges what JetStream
/// confirmed (and the log committed). An error leaves the rest unacknowledged.
async fn one_batch(
    current: &tokio::sync::watch::Receiver<Arc<Scoring>>,
    js: &jetstream::Context,
    consumer: &jetstream::consumer::Consumer<pull::Config>,
    config: &Config,
    log: Option<&Log>,
    counts: &mut Counts,
) -> Result<Pulled> {
    let mut batch = consumer
        .fetch()
        .max_messages(config.batch)
        .expires(Duration::from_millis(250))
        .messages()
        .await
        .context("pulling a batch")?;
    let mut messages = Vec::with_capacity(config.batch);
    let mut broken = None;
    while let Some(message) = batch.next().await {
        // A broken delivery is not a message: JetStream will deliver it again.
        match message {
            Ok(m) => messages.push(m),
            Err(e) => broken = Some(e),
        }
    }
    if messages.is_empty() {
        // A pull that ended on an error (the consumer deleted, no JetStream answering) is a
        // failure to count and pause on, not an empty stream to ask again at once.
        return match broken {
            Some(e) => Err(anyhow::anyhow!("pulling a batch: {e}")),
            None => Ok(Pulled::Nothing),
        };
    }
    let scoring = current.borrow().clone();
    let (model, model_id, rules) = (&scoring.model, scoring.model_id.as_str(), scoring.rules.as_ref());
    let mut confirmations = Vec::with_capacity(messages.len());
    let mut handled = Vec::with_capacity(messages.len());
    let mut records = Vec::new();
    for m in &messages {
        let delivery = m.info().ok().map(|i| Delivery {
            sequence: i.stream_sequence,
            delivered: i.delivered,
            published_ns: i.published.unix_timestamp_nanos(),
        });
        counts.consumed += 1;
        counts.redelivered += delivery.is_some_and(|d| d.delivered > 1) as u64;
        match handle(model, model_id, rules, config.reasons, delivery, &m.payload, log.is_some()) {
            Handling::Publish { kind, id, body, record } => {
                records.extend(record.map(|r| *r));
                let subject = kind.subject(&config.topology).to_string();
                let ack = js
                    .publish_with_headers(subject, with_id(&id), body.into())
                    .await
                    .context("publishing an outcome")?;
                confirmations.push((kind, ack));
                handled.push(m);
            }
            Handling::Redeliver => {
                counts.unreadable += 1;
                tracing::warn!(subject = %m.subject, "a message without readable JetStream metadata: left for redelivery");
            }
        }
    }
    // At least once: acknowledge only what JetStream confirmed holding.
    for (kind, ack) in confirmations {
        ack.await.context("JetStream did not confirm an outcome")?;
        match kind {
            OutcomeKind::Decision => counts.decided += 1,
            OutcomeKind::DeadLetter => counts.dead_lettered += 1,
        }
    }
    if let Some(log) = log {
        if let Err(e) = log.log(records).await {
            counts.log_failures += 1;
            tracing::error!(error = %e, messages = handled.len(), "the decision log refused a batch: left for redelivery");
            tokio::time::sleep(RETRY_PAUSE).await;
            return Ok(Pulled::Handled);
        }
    }
    for m in handled {
        m.ack().await.map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
    }
    Ok(Pulled::Handled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::Artifact;

    fn model() -> Model {
        Artifact::example().model().unwrap()
    }

    /// Row `i`: values in [-5, 5], the amount from -4 to 8 (the example model refuses some of them).
    fn row(model: &Model, i: usize) -> Vec<f64> {
        let amount = model.schema().amount();
        (0..model.width())
            .map(
                |j| {
                    if Some(j) == amount {
                        (i % 13) as f64 - 4.0
                    } else {
                        ((i * 37 + j * 11) % 101) as f64 / 10.0 - 5.0
                    }
                },
            )
            .collect()
    }

    fn body(model: &Model) -> Vec<u8> {
        let row: Vec<f64> = (0..model.width()).map(|i| i as f64 * 0.5).collect();
        contract::request_body(contract::RequestId::Text("t-1"), model.schema().features(), &row)
    }

    const AT: Option<Delivery> = Some(Delivery { sequence: 42, delivered: 1, published_ns: 0 });

    fn decided(m: &Model, rules: Option<&RuleSet>, body: &[u8]) -> Decision<'static> {
        let Handling::Publish { kind: OutcomeKind::Decision, body, .. } = handle(m, "abc", rules, 0, AT, body, false)
        else {
            panic!("scored")
        };
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn a_message_without_metadata_is_neither_decided_nor_acknowledged() {
        let m = model();
        assert_eq!(handle(&m, "id", None, 3, None, &body(&m), true), Handling::Redeliver);
        assert_eq!(handle(&m, "id", None, 3, None, b"not json", true), Handling::Redeliver);
    }

    #[test]
    fn outcomes_are_keyed_by_stream_sequence_and_read_back_as_types() {
        let m = model();
        let Handling::Publish { kind, id, body, record } = handle(&m, "abc", None, 2, AT, &body(&m), true) else {
            panic!("scored")
        };
        assert_eq!((kind, id.as_str()), (OutcomeKind::Decision, "decision-42"));
        let d: Decision = serde_json::from_slice(&body).unwrap();
        assert_eq!((d.sequence, d.model_id.as_ref(), d.reasons.len()), (42, "abc", 2));
        assert_eq!(d.id, Some(serde_json::Value::String("t-1".into())));
        // What the log keeps: the same decision, its raw values, its reasons.
        let record = record.expect("a decision has a log record");
        assert_eq!((record.id.as_str(), record.model_id.as_str()), ("t-1", "abc"));
        assert_eq!((record.probability, record.action.as_str()), (d.fraud_probability, d.action.as_ref()));
        let logged: serde_json::Value = serde_json::from_str(record.features.get()).unwrap();
        assert_eq!(logged.as_object().unwrap().len(), m.width());
        assert!(record.reasons.is_some());
        let Handling::Publish { kind, id, body, record: dead_record } = handle(&m, "abc", None, 2, AT, b"[1]", true)
        else {
            panic!("dead letter")
        };
        assert!(dead_record.is_none(), "a dead letter is not a decision");
        assert_eq!((kind, id.as_str()), (OutcomeKind::DeadLetter, "dead-42"));
        let dead: DeadLetter = serde_json::from_slice(&body).unwrap();
        assert_eq!(dead.error.code, fraud_core::ErrorCode::WrongJsonType);
        assert_eq!(dead.payload, "[1]");
    }

    #[test]
    fn without_rules_the_action_is_the_models() {
        let m = model();
        let mut refused = 0;
        for i in 0..200 {
            let x = row(&m, i);
            let body = contract::request_body(contract::RequestId::Row(i), m.schema().features(), &x);
            let d = decided(&m, None, &body);
            let p = m.predict(&m.transaction(&x).unwrap());
            assert_eq!((d.is_fraud, d.action()), (p.is_fraud, Some(Action::of_model(p.is_fraud))), "row {i}");
            assert_eq!(d.action, Action::of_model(p.is_fraud).as_str());
            assert_eq!((d.rule.as_deref(), d.ruleset.as_deref(), d.shadow_rules.len()), (None, None, 0));
            refused += p.is_fraud as usize;
        }
        assert!(refused > 0 && refused < 200, "both decisions occur: {refused} refused");
    }

    /// The rules decide as `core`'s verdict does: the id as text (a number as
    /// its decimal), the amount, the probability, a shadow rule.
    #[test]
    fn with_rules_each_decision_is_cores_verdict() {
        let m = model();
        let amount = m.schema().amount().unwrap();
        let rows: Vec<Vec<f64>> = (0..300).map(|i| row(&m, i)).collect();
        let mut probabilities: Vec<f64> = rows.iter().map(|x| m.probability(x)).collect();
        probabilities.sort_by(f64::total_cmp);
        let median = probabilities[probabilities.len() / 2];
        let text = format!(
            "version t-1\n\
             accept trusted if :id: in @trusted\n\
             refuse big if :{amount_name}: > 7\n\
             review middling if :probability: >= {median}\n\
             shadow refuse watch if :V1: > 0 and :probability: >= {median}\n",
            amount_name = m.schema().features()[amount],
        );
        let rules = RuleSet::compile(&text, &[("trusted", "7\nt-11\n12\n")], m.schema()).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut shadowed = 0;
        for (i, x) in rows.iter().enumerate() {
            // Text ids and numeric ids, as a client sends them.
            let text_id = format!("t-{i}");
            let id =
                if i.is_multiple_of(2) { contract::RequestId::Row(i) } else { contract::RequestId::Text(&text_id) };
            let id_seen = if i.is_multiple_of(2) { i.to_string() } else { text_id.clone() };
            let d = decided(&m, Some(&rules), &contract::request_body(id, m.schema().features(), x));
            let p = m.predict(&m.transaction(x).unwrap());
            let v = rules.verdict(&m, x, Some(&id_seen), p.probability, p.is_fraud);
            assert_eq!(d.is_fraud, p.is_fraud, "row {i}: is_fraud stays the model's");
            assert_eq!(d.action(), Some(v.action), "row {i}");
            assert_eq!(d.rule.as_deref(), v.rule.map(|r| rules.rule(r as usize).id()), "row {i}");
            let shadow: Vec<&str> = v.shadow.iter().map(|r| rules.rule(r).id()).collect();
            assert_eq!(d.shadow_rules, shadow, "row {i}");
            assert_eq!(d.ruleset.as_deref(), Some("t-1"));
            seen.insert((d.action.to_string(), d.rule.as_deref().unwrap_or("model").to_string()));
            shadowed += !d.shadow_rules.is_empty() as usize;
        }
        for (action, rule) in [("accept", "trusted"), ("refuse", "big"), ("review", "middling")] {
            assert!(seen.contains(&(action.to_string(), rule.to_string())), "{rule} never decided: {seen:?}");
        }
        assert!(seen.iter().any(|(_, rule)| rule == "model"), "the model decides where no rule matches: {seen:?}");
        assert!(shadowed > 0, "the shadow rule never matched");
    }
}
