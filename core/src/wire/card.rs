//! The model card — what `GET /model`, the wasm `summary` and the report say
//! about a model, whatever its kind — and [`CardVisitor`], which walks it for
//! runtimes without serde.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::{
    WireBenefit, WireCalibration, WireCalibrationReport, WireCosts, WireMetrics, WirePolicyReport, WireProvenance,
    WireTally, WireTraining,
};

/// A feature and its global importance, for cards and reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Mean |contribution| on validation, logit units.
    pub importance: f64,
}

/// The scorer as a model card describes it (sizes, not every parameter for trees).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardParameters {
    /// Logistic: every parameter (they are few).
    Logistic {
        /// Scaler means.
        scaler_mean: Vec<f64>,
        /// Scaler scales.
        scaler_scale: Vec<f64>,
        /// Coefficients over scaled features.
        coefficients: Vec<f64>,
        /// Intercept.
        intercept: f64,
    },
    /// Trees: the ensemble's shape.
    Trees {
        /// Number of trees.
        trees: u32,
        /// Deepest tree.
        max_depth: u32,
        /// Most leaves in a tree.
        max_leaves: u32,
        /// Starting logit.
        base_score: f64,
        /// TreeSHAP's base value (expected logit).
        expected_value: f64,
    },
}

/// The inputs a model takes, as its card shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardSchema {
    /// Feature names, in row order: a request has exactly these fields.
    pub features: Vec<String>,
    /// The training file's label column.
    pub label: String,
    /// The training file's id column (null: none).
    pub id: Option<String>,
    /// The amount feature the money is proportional to (null: none).
    pub amount: Option<String>,
    /// Largest accepted |value| of a feature.
    pub max_abs_value: f64,
    /// Whether a value may be missing (`null`): any feature of a format-5 model.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub accepts_missing: bool,
    /// Each feature's kind, missing rate and categories: only for a model with
    /// categorical features or missing values (format 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<CardFeature>,
}

/// One feature of a format-5 model, as the card shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardFeature {
    /// Its name.
    pub feature: String,
    /// `"numeric"`, `"text"` (a text categorical feature: send strings) or
    /// `"numbers"` (a numeric-coded categorical feature: send numbers).
    pub kind: String,
    /// Share of train rows where it was missing.
    pub missing_rate: f64,
    /// Share of train rows merged into "other" (rare categories).
    pub other_rate: f64,
    /// A text feature's categories kept, in code order (every other category scores as "other").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// A numeric-coded feature's categories kept, in code order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<f64>,
}

/// What `GET /model`, the wasm `summary` and the report say about a model,
/// whatever its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Candidate name.
    pub name: String,
    /// `"logistic"` or `"trees"`.
    pub kind: String,
    /// The inputs.
    pub schema: CardSchema,
    /// Threshold on the calibrated probability (applied by the threshold policies).
    pub threshold: f64,
    /// How the decision is taken.
    pub policy: String,
    /// Logit → probability.
    pub calibration: WireCalibration,
    /// What each outcome is worth.
    pub costs: WireCosts,
    /// The scorer's parameters (or shape).
    pub parameters: CardParameters,
    /// How it was fitted.
    pub training: WireTraining,
    /// Where it came from.
    pub provenance: WireProvenance,
    /// Features by global importance, largest first.
    pub feature_importance: Vec<FeatureImportance>,
    /// Metrics on validation.
    pub validation: WireMetrics,
    /// Metrics on test.
    pub test: WireMetrics,
    /// Calibration on test (null: not measured).
    pub calibration_test: Option<WireCalibrationReport>,
    /// Every policy the trainer weighed, on validation and test.
    pub policies: Vec<WirePolicyReport>,
}

/// Receives a [`ModelCard`] piece by piece ([`ModelCard::visit`]): how a runtime
/// without serde (the wasm package builds JS objects) turns the card into its
/// own values without knowing the model's kind, and without the float-to-text
/// code a JSON string would pull into a wasm binary.
pub trait CardVisitor {
    /// An object starts; `key`/value pairs follow until `end`.
    fn begin_object(&mut self);
    /// A list starts; values follow until `end`.
    fn begin_list(&mut self);
    /// The current object or list ends.
    fn end(&mut self);
    /// The next value's key in the current object.
    fn key(&mut self, key: &str);
    /// A number.
    fn number(&mut self, x: f64);
    /// A whole number (counts).
    fn integer(&mut self, n: u64);
    /// Text.
    fn text(&mut self, s: &str);
    /// A boolean.
    fn boolean(&mut self, b: bool);
    /// No value (JSON `null`).
    fn null(&mut self);
}

fn field_num<V: CardVisitor>(v: &mut V, k: &str, x: f64) {
    v.key(k);
    v.number(x);
}

fn field_int<V: CardVisitor>(v: &mut V, k: &str, n: u64) {
    v.key(k);
    v.integer(n);
}

fn field_text<V: CardVisitor>(v: &mut V, k: &str, s: &str) {
    v.key(k);
    v.text(s);
}

fn field_nums<V: CardVisitor>(v: &mut V, k: &str, xs: &[f64]) {
    v.key(k);
    v.begin_list();
    for &x in xs {
        v.number(x);
    }
    v.end();
}

fn field_opt_text<V: CardVisitor>(v: &mut V, k: &str, s: Option<&str>) {
    v.key(k);
    match s {
        Some(s) => v.text(s),
        None => v.null(),
    }
}

fn schema<V: CardVisitor>(v: &mut V, s: &CardSchema) {
    v.key("schema");
    v.begin_object();
    v.key("features");
    v.begin_list();
    for f in &s.features {
        v.text(f);
    }
    v.end();
    field_text(v, "label", &s.label);
    field_opt_text(v, "id", s.id.as_deref());
    field_opt_text(v, "amount", s.amount.as_deref());
    field_num(v, "max_abs_value", s.max_abs_value);
    if s.accepts_missing {
        v.key("accepts_missing");
        v.boolean(true);
    }
    if !s.kinds.is_empty() {
        v.key("kinds");
        v.begin_list();
        for f in &s.kinds {
            v.begin_object();
            field_text(v, "feature", &f.feature);
            field_text(v, "kind", &f.kind);
            field_num(v, "missing_rate", f.missing_rate);
            field_num(v, "other_rate", f.other_rate);
            if !f.categories.is_empty() {
                v.key("categories");
                v.begin_list();
                for c in &f.categories {
                    v.text(c);
                }
                v.end();
            }
            if !f.codes.is_empty() {
                field_nums(v, "codes", &f.codes);
            }
            v.end();
        }
        v.end();
    }
    v.end();
}

fn metrics<V: CardVisitor>(v: &mut V, k: &str, m: &WireMetrics) {
    v.key(k);
    v.begin_object();
    for (k, x) in [
        ("threshold", m.threshold),
        ("precision", m.precision),
        ("recall", m.recall),
        ("f1", m.f1),
        ("average_precision", m.average_precision),
        ("roc_auc", m.roc_auc),
    ] {
        field_num(v, k, x);
    }
    for (k, n) in [
        ("true_positives", m.true_positives),
        ("false_positives", m.false_positives),
        ("true_negatives", m.true_negatives),
        ("false_negatives", m.false_negatives),
    ] {
        field_int(v, k, n);
    }
    v.end();
}

fn provenance<V: CardVisitor>(v: &mut V, p: &WireProvenance) {
    v.key("provenance");
    v.begin_object();
    field_text(v, "dataset", &p.dataset);
    field_text(v, "dataset_sha256", &p.dataset_sha256);
    v.key("synthetic");
    v.boolean(p.synthetic);
    for (k, n) in [
        ("rows_total", p.rows_total),
        ("frauds_total", p.frauds_total),
        ("rows_train", p.rows_train),
        ("rows_validation", p.rows_validation),
        ("rows_test", p.rows_test),
        ("rows_fitted", p.rows_fitted),
        ("seed", p.seed),
    ] {
        field_int(v, k, n);
    }
    field_num(v, "train_fraction", p.train_fraction);
    field_num(v, "validation_fraction", p.validation_fraction);
    field_num(v, "test_fraction", p.test_fraction);
    field_int(v, "smote_k", p.smote_k.into());
    field_num(v, "smote_ratio", p.smote_ratio);
    field_nums(v, "class_weights", &p.class_weights);
    field_text(v, "trainer", &p.trainer);
    v.end();
}

fn training<V: CardVisitor>(v: &mut V, t: &WireTraining) {
    v.key("training");
    v.begin_object();
    match t {
        WireTraining::Logistic { c, solver, iterations, max_gradient } => {
            field_text(v, "kind", "logistic");
            field_num(v, "c", *c);
            field_text(v, "solver", solver);
            field_int(v, "iterations", (*iterations).into());
            field_num(v, "max_gradient", *max_gradient);
        }
        WireTraining::Trees {
            learning_rate,
            max_leaves,
            max_depth,
            l2,
            min_child_hessian,
            min_rows_leaf,
            row_fraction,
            col_fraction,
            max_bins,
            rounds,
            rounds_run,
            early_stopping_rounds,
        } => {
            field_text(v, "kind", "trees");
            field_num(v, "learning_rate", *learning_rate);
            field_int(v, "max_leaves", (*max_leaves).into());
            field_int(v, "max_depth", (*max_depth).into());
            field_num(v, "l2", *l2);
            field_num(v, "min_child_hessian", *min_child_hessian);
            field_int(v, "min_rows_leaf", (*min_rows_leaf).into());
            field_num(v, "row_fraction", *row_fraction);
            field_num(v, "col_fraction", *col_fraction);
            field_int(v, "max_bins", (*max_bins).into());
            field_int(v, "rounds", (*rounds).into());
            field_int(v, "rounds_run", (*rounds_run).into());
            field_int(v, "early_stopping_rounds", (*early_stopping_rounds).into());
        }
    }
    v.end();
}

fn parameters<V: CardVisitor>(v: &mut V, p: &CardParameters) {
    v.key("parameters");
    v.begin_object();
    match p {
        CardParameters::Logistic { scaler_mean, scaler_scale, coefficients, intercept } => {
            field_text(v, "kind", "logistic");
            field_nums(v, "scaler_mean", scaler_mean);
            field_nums(v, "scaler_scale", scaler_scale);
            field_nums(v, "coefficients", coefficients);
            field_num(v, "intercept", *intercept);
        }
        CardParameters::Trees { trees, max_depth, max_leaves, base_score, expected_value } => {
            field_text(v, "kind", "trees");
            field_int(v, "trees", (*trees).into());
            field_int(v, "max_depth", (*max_depth).into());
            field_int(v, "max_leaves", (*max_leaves).into());
            field_num(v, "base_score", *base_score);
            field_num(v, "expected_value", *expected_value);
        }
    }
    v.end();
}

fn benefit<V: CardVisitor>(v: &mut V, k: &str, b: &WireBenefit) {
    v.key(k);
    v.begin_object();
    field_num(v, "fixed", b.fixed);
    field_num(v, "per_amount", b.per_amount);
    v.end();
}

fn costs<V: CardVisitor>(v: &mut V, c: &WireCosts) {
    v.key("costs");
    v.begin_object();
    field_text(v, "currency", &c.currency);
    benefit(v, "refused_fraud", &c.refused_fraud);
    benefit(v, "accepted_fraud", &c.accepted_fraud);
    benefit(v, "refused_legitimate", &c.refused_legitimate);
    benefit(v, "accepted_legitimate", &c.accepted_legitimate);
    v.end();
}

fn tally<V: CardVisitor>(v: &mut V, k: &str, t: &WireTally) {
    v.key(k);
    v.begin_object();
    for (k, n) in [
        ("transactions", t.transactions),
        ("frauds_stopped", t.frauds_stopped),
        ("frauds_missed", t.frauds_missed),
        ("false_alarms", t.false_alarms),
    ] {
        field_int(v, k, n);
    }
    for (k, x) in [
        ("stopped_amount", t.stopped_amount),
        ("missed_amount", t.missed_amount),
        ("false_alarm_cost", t.false_alarm_cost),
        ("net_benefit", t.net_benefit),
        ("accept_all", t.accept_all),
        ("refuse_all", t.refuse_all),
    ] {
        field_num(v, k, x);
    }
    v.end();
}

fn calibration_test<V: CardVisitor>(v: &mut V, r: Option<&WireCalibrationReport>) {
    v.key("calibration_test");
    let Some(r) = r else {
        v.null();
        return;
    };
    v.begin_object();
    field_num(v, "brier", r.brier);
    field_num(v, "log_loss", r.log_loss);
    field_num(v, "expected_frauds", r.expected_frauds);
    field_int(v, "observed_frauds", r.observed_frauds);
    v.key("reliability");
    v.begin_list();
    for b in &r.reliability {
        v.begin_object();
        field_num(v, "lower", b.lower);
        field_num(v, "upper", b.upper);
        field_int(v, "rows", b.rows);
        field_num(v, "mean_probability", b.mean_probability);
        field_num(v, "fraud_rate", b.fraud_rate);
        v.end();
    }
    v.end();
    v.end();
}

impl ModelCard {
    /// Walks the card in the order and with the keys its `Serialize` uses.
    pub fn visit<V: CardVisitor>(&self, v: &mut V) {
        v.begin_object();
        field_text(v, "name", &self.name);
        field_text(v, "kind", &self.kind);
        schema(v, &self.schema);
        field_num(v, "threshold", self.threshold);
        field_text(v, "policy", &self.policy);
        v.key("calibration");
        v.begin_object();
        field_text(v, "method", &self.calibration.method);
        field_num(v, "slope", self.calibration.slope);
        field_num(v, "intercept", self.calibration.intercept);
        v.end();
        costs(v, &self.costs);
        parameters(v, &self.parameters);
        training(v, &self.training);
        provenance(v, &self.provenance);
        v.key("feature_importance");
        v.begin_list();
        for f in &self.feature_importance {
            v.begin_object();
            field_text(v, "feature", &f.feature);
            field_num(v, "importance", f.importance);
            v.end();
        }
        v.end();
        metrics(v, "validation", &self.validation);
        metrics(v, "test", &self.test);
        calibration_test(v, self.calibration_test.as_ref());
        v.key("policies");
        v.begin_list();
        for p in &self.policies {
            v.begin_object();
            field_text(v, "policy", &p.policy);
            v.key("threshold");
            match p.threshold {
                Some(t) => v.number(t),
                None => v.null(),
            }
            tally(v, "validation", &p.validation);
            tally(v, "test", &p.test);
            v.end();
        }
        v.end();
        v.end();
    }
}

#[cfg(test)]
mod tests {
    use super::CardVisitor;
    use crate::artifact::Artifact;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// JSON text from the visitor; each open container: (is a list, has an item).
    struct Json(String, Vec<(bool, bool)>);

    impl Json {
        fn item(&mut self) {
            let after_key = self.0.ends_with(':');
            if let Some((_, started)) = self.1.last_mut() {
                if *started && !after_key {
                    self.0.push(',');
                }
                *started = true;
            }
        }

        fn open(&mut self, list: bool) {
            self.item();
            self.0.push(if list { '[' } else { '{' });
            self.1.push((list, false));
        }
    }

    impl CardVisitor for Json {
        fn begin_object(&mut self) {
            self.open(false);
        }
        fn begin_list(&mut self) {
            self.open(true);
        }
        fn end(&mut self) {
            let (list, _) = self.1.pop().expect("end() matches a begin");
            self.0.push(if list { ']' } else { '}' });
        }
        fn key(&mut self, key: &str) {
            self.item();
            self.0.push_str(&serde_json::to_string(key).unwrap());
            self.0.push(':');
        }
        fn number(&mut self, x: f64) {
            self.item();
            self.0.push_str(&serde_json::to_string(&x).unwrap());
        }
        fn integer(&mut self, n: u64) {
            self.item();
            self.0.push_str(&alloc::format!("{n}"));
        }
        fn text(&mut self, s: &str) {
            self.item();
            self.0.push_str(&serde_json::to_string(s).unwrap());
        }
        fn boolean(&mut self, b: bool) {
            self.item();
            self.0.push_str(if b { "true" } else { "false" });
        }
        fn null(&mut self) {
            self.item();
            self.0.push_str("null");
        }
    }

    #[test]
    fn visiting_the_card_gives_what_serde_gives() {
        for mut a in [Artifact::example(), Artifact::example_trees(), Artifact::example_retail()] {
            a.provenance.dataset = "quote \" backslash \\ tab \t".into();
            let card = a.card(&a.model().unwrap());
            let mut json = Json(String::new(), Vec::new());
            card.visit(&mut json);
            let visited: serde_json::Value = serde_json::from_str(&json.0).unwrap();
            assert_eq!(visited, serde_json::to_value(&card).unwrap());
        }
    }
}
