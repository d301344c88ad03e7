//! Scoring over NATS JetStream: where things are on the broker, and the
//! messages the consumer group publishes. The NATS consumer writes them, the
//! streamer and the tests read them back.

use std::borrow::Cow;

use fraud_core::Action;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Streams, subjects and the shared durable consumer: one definition for the
/// consumers, the publisher and the checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    /// The stream transactions are published to.
    pub stream: String,
    /// Its subject.
    pub subject: String,
    /// The durable pull consumer every member of the group shares.
    pub durable: String,
    /// The stream decisions and dead letters go to (de-duplicated by message id).
    pub decisions_stream: String,
    /// Decisions' subject.
    pub decisions_subject: String,
    /// Dead letters' subject.
    pub dead_letter_subject: String,
}

impl Default for Topology {
    fn default() -> Topology {
        Topology {
            stream: "TRANSACTIONS".into(),
            subject: "transactions".into(),
            durable: "scorers".into(),
            decisions_stream: "DECISIONS".into(),
            decisions_subject: "decisions".into(),
            dead_letter_subject: "transactions.dead".into(),
        }
    }
}

/// What became of a transaction: the two kinds of outcome message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    /// Scored: a [`Decision`] on the decisions subject.
    Decision,
    /// Refused: a [`DeadLetter`] on the dead-letter subject.
    DeadLetter,
}

impl OutcomeKind {
    /// The subject of this kind of outcome.
    pub fn subject(self, topology: &Topology) -> &str {
        match self {
            OutcomeKind::Decision => &topology.decisions_subject,
            OutcomeKind::DeadLetter => &topology.dead_letter_subject,
        }
    }

    /// The outcome's `Nats-Msg-Id`: from the transaction's stream sequence, so
    /// a redelivered transaction's second outcome is dropped by JetStream's
    /// duplicate window. Sequences start at 1; there is no outcome without one.
    pub fn message_id(self, sequence: u64) -> String {
        match self {
            OutcomeKind::Decision => format!("decision-{sequence}"),
            OutcomeKind::DeadLetter => format!("dead-{sequence}"),
        }
    }
}

/// One feature's share of a decision, in logit units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason<'a> {
    /// Feature name.
    pub feature: Cow<'a, str>,
    /// Its contribution (positive pushes towards fraud).
    pub contribution: f64,
}

/// One decision, as published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision<'a> {
    /// The transaction's `id`, or null.
    pub id: Option<Value>,
    /// Calibrated probability of fraud.
    pub fraud_probability: f64,
    /// The model's policy refuses (before any rule: `action` is what happens).
    pub is_fraud: bool,
    /// What happens to the transaction: `accept`, `review` or `refuse` — the
    /// first matching rule's action, else the model's decision. Empty in
    /// messages written before rules: read it through [`Decision::action`].
    #[serde(default)]
    pub action: Cow<'a, str>,
    /// The id of the rule that decided, or null when the model did.
    #[serde(default)]
    pub rule: Option<Cow<'a, str>>,
    /// The rule set's version, or null when the consumer has none.
    #[serde(default)]
    pub ruleset: Option<Cow<'a, str>>,
    /// Shadow rules that matched (evaluated, never deciding), in file order.
    #[serde(default)]
    pub shadow_rules: Vec<Cow<'a, str>>,
    /// The largest contributions, largest first.
    pub reasons: Vec<Reason<'a>>,
    /// The artifact's id.
    pub model_id: Cow<'a, str>,
    /// The transaction's sequence in its stream (what de-duplication keys on).
    pub sequence: u64,
    /// Milliseconds from the transaction reaching the stream to its decision being made.
    pub latency_ms: f64,
}

impl Decision<'_> {
    /// The action taken: `action` as spelled, or the model's decision for a
    /// message written before rules (no `action`); `None` for a spelling that
    /// is no action.
    pub fn action(&self) -> Option<Action> {
        if self.action.is_empty() {
            Some(Action::of_model(self.is_fraud))
        } else {
            Action::from_name(&self.action)
        }
    }
}

/// A transaction that could not be scored: the contract's error (`core`'s
/// code, message, fields), and where to find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The transaction's sequence in its stream.
    pub sequence: u64,
    /// Why it was refused.
    pub error: ApiError,
    /// The start of the message (at most [`DEAD_LETTER_PAYLOAD_BYTES`] bytes, lossily as text).
    pub payload: String,
}

/// How much of a refused message a dead letter quotes.
pub const DEAD_LETTER_PAYLOAD_BYTES: usize = 200;

impl DeadLetter {
    /// A dead letter quoting the start of `payload`.
    pub fn new(sequence: u64, error: ApiError, payload: &[u8]) -> DeadLetter {
        let shown = String::from_utf8_lossy(&payload[..payload.len().min(DEAD_LETTER_PAYLOAD_BYTES)]).into_owned();
        DeadLetter { sequence, error, payload: shown }
    }
}

/// A consumer's running counts, and the JSON summary it prints when it stops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerCounts {
    /// Messages pulled.
    pub consumed: u64,
    /// Decisions published and confirmed.
    pub decided: u64,
    /// Dead letters published and confirmed.
    pub dead_lettered: u64,
    /// Messages delivered more than once (a consumer died holding them).
    pub redelivered: u64,
    /// Messages whose delivery metadata could not be read: neither scored nor
    /// acknowledged, left for JetStream to deliver again.
    #[serde(default)]
    pub unreadable: u64,
    /// Messages the durable consumer still had to deliver when last asked.
    pub lag: u64,
    /// Batches the decision log refused (left unacknowledged, delivered again).
    #[serde(default)]
    pub log_failures: u64,
    /// Batches that failed at the broker (a pull, a publish confirmation or an ack timed
    /// out): left unacknowledged, delivered again.
    #[serde(default)]
    pub broker_errors: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::ErrorCode;

    #[test]
    fn outcomes_round_trip() {
        let d = Decision {
            id: Some(Value::String("t-1".into())),
            fraud_probability: 0.1 + 0.2,
            is_fraud: false,
            action: "review".into(),
            rule: Some("mid_band".into()),
            ruleset: Some("2026-12-01.1".into()),
            shadow_rules: vec!["night".into(), "big".into()],
            reasons: vec![Reason { feature: "V14".into(), contribution: -1.5 }],
            model_id: "abc".into(),
            sequence: 7,
            latency_ms: 0.25,
        };
        let back: Decision = serde_json::from_slice(&serde_json::to_vec(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.fraud_probability.to_bits(), (0.1f64 + 0.2).to_bits());
        assert_eq!(back.action(), Some(Action::Review));
        // Without rules: the model's action, no rule, no version, no shadow hits (null and [] on the wire).
        let plain = Decision {
            is_fraud: true,
            action: Action::Refuse.as_str().into(),
            rule: None,
            ruleset: None,
            shadow_rules: Vec::new(),
            ..d.clone()
        };
        let json: Value = serde_json::from_slice(&serde_json::to_vec(&plain).unwrap()).unwrap();
        assert_eq!(
            (&json["action"], &json["rule"], &json["ruleset"]),
            (&Value::from("refuse"), &Value::Null, &Value::Null)
        );
        assert_eq!(json["shadow_rules"], Value::Array(Vec::new()));
        let back: Decision = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, plain);
        // A message written before rules reads back with the model's decision as its action.
        let mut old = json;
        for field in ["action", "rule", "ruleset", "shadow_rules"] {
            old.as_object_mut().unwrap().remove(field);
        }
        let back: Decision = serde_json::from_value(old).unwrap();
        assert_eq!((back.action(), back.rule, back.ruleset), (Some(Action::Refuse), None, None));
        assert!(back.shadow_rules.is_empty());
        let odd = Decision { action: "maybe".into(), ..d.clone() };
        assert_eq!(odd.action(), None);
        let long = vec![b'x'; 1000];
        let dead = DeadLetter::new(9, ApiError::new(ErrorCode::MalformedJson, "no"), &long);
        assert_eq!(dead.payload.len(), DEAD_LETTER_PAYLOAD_BYTES);
        let back: DeadLetter = serde_json::from_slice(&serde_json::to_vec(&dead).unwrap()).unwrap();
        assert_eq!(back, dead);
        assert_eq!(OutcomeKind::DeadLetter.message_id(9), "dead-9");
        assert_eq!(OutcomeKind::Decision.subject(&Topology::default()), "decisions");
    }
}
