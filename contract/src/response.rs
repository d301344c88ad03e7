//! Every response body of the HTTP contract, `Serialize` for the servers and
//! `Deserialize` for the clients.
//!
//! Bodies written per request borrow from the served model (`Cow`), so the hot
//! path copies no names; a client reading them gets owned values.

use std::borrow::Cow;

use fraud_core::{Action, Contribution, Model, Prediction, RuleSet, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest `POST /predict` body. A transaction is ~700 bytes of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most transactions in one `POST /predict/batch`.
pub const MAX_BATCH: usize = 10_000;
/// Largest `POST /predict/batch` body: room for [`MAX_BATCH`] verbose transactions.
pub const MAX_BATCH_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Which model answered: its name, kind, id (hash of the artifact's bytes) and format version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelRef {
    /// The candidate's name.
    pub name: String,
    /// The scorer's kind (`fraud_core::ModelKind`).
    pub kind: String,
    /// Hash of the artifact's exact bytes: equal ids mean the same model everywhere.
    pub id: String,
    /// The artifact file's format version.
    pub format_version: u16,
}

/// `GET /health`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// The loaded model.
    pub model: ModelRef,
    /// When it started serving, milliseconds since the Unix epoch (the native server says; a model
    /// compiled into a Worker does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_at_ms: Option<i64>,
    /// The challenger scored in shadow beside it (`fraud-server --shadow`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<ModelRef>,
}

/// What the HTTP contract bounds (`GET /model`'s `limits`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Limits {
    /// Largest `POST /predict` body.
    pub max_body_bytes: usize,
    /// Most transactions in a batch.
    pub max_batch: usize,
    /// Largest `POST /predict/batch` body.
    pub max_batch_body_bytes: usize,
    /// Largest useful `?explain=k`: the number of features.
    pub max_explain: usize,
}

impl Limits {
    /// The limits for `model` (`?explain=k` is capped at its number of features).
    pub fn of(model: &Model) -> Limits {
        Limits {
            max_body_bytes: MAX_BODY_BYTES,
            max_batch: MAX_BATCH,
            max_batch_body_bytes: MAX_BATCH_BODY_BYTES,
            max_explain: model.width(),
        }
    }
}

/// `GET /model`: `core`'s model card (the same for every kind, its schema
/// included) with what the HTTP contract adds — which artifact, and the limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelResponse {
    /// Which artifact.
    pub model: ModelRef,
    /// `core`'s card, its fields at the top level.
    #[serde(flatten)]
    pub card: fraud_core::wire::ModelCard,
    /// The contract's limits.
    pub limits: Limits,
    /// When the model started serving, milliseconds since the Unix epoch (as `GET /health`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_at_ms: Option<i64>,
    /// The challenger scored in shadow beside it (`fraud-server --shadow`), if any: its
    /// decisions are logged and measured, never answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<ModelRef>,
}

/// What each decision is expected to be worth, from the calibrated
/// probability, the transaction's amount and the model's costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpectedBenefit<'a> {
    /// Expected value of refusing.
    pub refuse: f64,
    /// Expected value of accepting.
    pub accept: f64,
    /// The costs' currency.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub currency: Cow<'a, str>,
}

impl<'a> ExpectedBenefit<'a> {
    /// A prediction's expected values, in the model's currency.
    pub fn of(p: &Prediction, model: &'a Model) -> ExpectedBenefit<'a> {
        ExpectedBenefit {
            refuse: p.expected.refuse,
            accept: p.expected.accept,
            currency: Cow::Borrowed(&model.costs().currency),
        }
    }
}

/// One feature's share of the score, in logit units (all of them plus `base_value` make the logit).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContributionBody<'a> {
    /// Feature name.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub feature: Cow<'a, str>,
    /// The input value.
    pub value: f64,
    /// Positive pushes towards fraud (trees: the exact TreeSHAP value).
    pub contribution: f64,
}

impl<'a> From<Contribution<'a>> for ContributionBody<'a> {
    fn from(c: Contribution<'a>) -> ContributionBody<'a> {
        ContributionBody { feature: Cow::Borrowed(c.feature), value: c.value, contribution: c.contribution }
    }
}

/// `core`'s contributions as bodies.
pub fn contribution_bodies(contributions: Vec<Contribution<'_>>) -> Vec<ContributionBody<'_>> {
    contributions.into_iter().map(ContributionBody::from).collect()
}

/// A scored transaction (`POST /predict`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PredictResponse<'a> {
    /// The request's `id`, or null.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::echoed_id_schema))]
    pub id: Option<Value>,
    /// Calibrated probability of fraud.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub fraud_probability: f64,
    /// The model's policy refuses (before any rule: `action` is what happens).
    pub is_fraud: bool,
    /// What happens to the transaction: `accept`, `review` or `refuse` — the
    /// first matching rule's action, else the model's decision.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "accept"))]
    pub action: Cow<'a, str>,
    /// The id of the rule that decided, or null when the model did.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rule: Option<Cow<'a, str>>,
    /// The rule set's version, or null when the server has none.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ruleset: Option<Cow<'a, str>>,
    /// Shadow rules that matched (evaluated, never deciding).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub shadow_rules: Vec<Cow<'a, str>>,
    /// What refusing and accepting are each expected to be worth.
    pub expected_benefit: ExpectedBenefit<'a>,
    /// Threshold on the probability (applied by the threshold policies).
    pub threshold: f64,
    /// `f1_threshold`, `net_benefit_threshold`, `cost_optimal` or `manual_threshold`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub policy: Cow<'a, str>,
    /// Which model answered.
    #[cfg_attr(feature = "openapi", schema(value_type = ModelRef))]
    pub model: Cow<'a, ModelRef>,
    /// With `?explain=k`: the k largest contributions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributions: Option<Vec<ContributionBody<'a>>>,
    /// With `?explain`: all contributions plus this make the logit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_value: Option<f64>,
    /// With a decision log: the id the decision is logged under (the request's `id` as text, or one
    /// the server assigned) — what `POST /labels` and `GET /decisions/{id}` take. Present only once logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub logged_id: Option<Cow<'a, str>>,
}

/// One scored item of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResult<'a> {
    /// The item's `id`, or null.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::echoed_id_schema))]
    pub id: Option<Value>,
    /// Calibrated probability of fraud.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub fraud_probability: f64,
    /// The model's policy refuses (before any rule: `action` is what happens).
    pub is_fraud: bool,
    /// `accept`, `review` or `refuse`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "accept"))]
    pub action: Cow<'a, str>,
    /// The id of the rule that decided, or null when the model did.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rule: Option<Cow<'a, str>>,
    /// Shadow rules that matched.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub shadow_rules: Vec<Cow<'a, str>>,
    /// What refusing and accepting are each expected to be worth.
    pub expected_benefit: ExpectedBenefit<'a>,
    /// With `?explain=k`: the k largest contributions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributions: Option<Vec<ContributionBody<'a>>>,
    /// With a decision log: the id the decision is logged under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub logged_id: Option<Cow<'a, str>>,
}

/// A scored batch, results in input order (`POST /predict/batch`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchResponse<'a> {
    /// Transactions scored.
    pub count: usize,
    /// Of which the model's policy refused (`is_fraud`).
    pub flagged: usize,
    /// How many each action took.
    pub actions: ActionCounts,
    /// The rule set's version, or null when the server has none.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ruleset: Option<Cow<'a, str>>,
    /// Threshold on the probability (threshold policies).
    pub threshold: f64,
    /// The decision policy.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub policy: Cow<'a, str>,
    /// Which model answered.
    #[cfg_attr(feature = "openapi", schema(value_type = ModelRef))]
    pub model: Cow<'a, ModelRef>,
    /// One per transaction, in input order.
    pub results: Vec<BatchResult<'a>>,
}

/// Transactions per action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionCounts {
    /// Accepted.
    pub accept: usize,
    /// Sent to review.
    pub review: usize,
    /// Refused.
    pub refuse: usize,
}

impl ActionCounts {
    /// Counts one action.
    pub fn add(&mut self, action: Action) {
        match action {
            Action::Accept => self.accept += 1,
            Action::Review => self.review += 1,
            Action::Refuse => self.refuse += 1,
        }
    }
}

/// A verdict as the bodies spell it: the action, the deciding rule's id and
/// the matching shadow rules' ids, borrowed from the rule set.
pub struct VerdictBody<'a> {
    /// `accept`, `review` or `refuse`.
    pub action: Cow<'a, str>,
    /// The deciding rule's id.
    pub rule: Option<Cow<'a, str>>,
    /// The matching shadow rules' ids, in file order.
    pub shadow_rules: Vec<Cow<'a, str>>,
}

impl<'a> VerdictBody<'a> {
    /// `verdict` of `rules` (none: the model's decision alone).
    pub fn of(rules: Option<&'a RuleSet>, verdict: &Verdict) -> VerdictBody<'a> {
        let id = |i: usize| rules.map(|r| Cow::Borrowed(r.rule(i).id()));
        VerdictBody {
            action: Cow::Borrowed(verdict.action.as_str()),
            rule: verdict.rule.and_then(|i| id(i as usize)),
            shadow_rules: verdict.shadow.iter().filter_map(id).collect(),
        }
    }
}

/// The text a rule's `:id:` sees for a body's `id`: a string as given, a
/// number as its JSON decimal.
pub fn id_text(id: &Option<Value>) -> Option<Cow<'_, str>> {
    match id {
        Some(Value::String(s)) => Some(Cow::Borrowed(s)),
        Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// A response body as JSON. Every body of the contract is a plain struct of
/// numbers, strings and lists with string keys, which serde_json serialises
/// into a Vec without failing (non-finite numbers would become `null`, and
/// none can occur: validation keeps every score finite).
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("contract bodies are plain structs that serialise to JSON infallibly")
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::Artifact;

    #[test]
    fn the_model_card_reads_back_as_it_was_written() {
        for artifact in [Artifact::example(), Artifact::example_trees(), Artifact::example_retail()] {
            let model = artifact.model().unwrap();
            let card = ModelResponse {
                model: ModelRef {
                    name: artifact.model_name.clone(),
                    kind: model.kind().as_str().into(),
                    id: "0123".into(),
                    format_version: 4,
                },
                card: artifact.card(&model),
                limits: Limits::of(&model),
                loaded_at_ms: Some(1_796_307_855_976),
                challenger: None,
            };
            let json = to_json(&card);
            let back: ModelResponse = serde_json::from_slice(&json).unwrap();
            assert_eq!(back, card);
            assert_eq!(to_json(&back), json, "the same bytes again");
        }
    }

    #[test]
    fn a_scored_transaction_reads_back() {
        let artifact = Artifact::example_trees();
        let model = artifact.model().unwrap();
        let row: Vec<f64> = (0..model.width()).map(|i| i as f64 - 3.5).collect();
        let t = model.transaction(&row).unwrap();
        let p = model.predict(&t);
        let model_ref = ModelRef { name: "trees".into(), kind: "trees".into(), id: "x".into(), format_version: 4 };
        let response = PredictResponse {
            id: Some(Value::from(7)),
            fraud_probability: p.probability,
            is_fraud: p.is_fraud,
            action: Cow::Borrowed("refuse"),
            rule: Some(Cow::Borrowed("high_score")),
            ruleset: Some(Cow::Borrowed("2026-12-01.1")),
            shadow_rules: vec![Cow::Borrowed("night")],
            expected_benefit: ExpectedBenefit::of(&p, &model),
            threshold: model.threshold(),
            policy: Cow::Borrowed(model.policy().as_str()),
            model: Cow::Borrowed(&model_ref),
            contributions: Some(contribution_bodies(model.explain(&t, 3))),
            base_value: Some(model.base_value()),
            logged_id: Some(Cow::Borrowed("7")),
        };
        let back: PredictResponse = serde_json::from_slice(&to_json(&response)).unwrap();
        assert_eq!(back, response);
        assert_eq!(back.fraud_probability.to_bits(), p.probability.to_bits());
    }
}
