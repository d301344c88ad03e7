//! What goes into a file or onto the wire: explicit, versioned types, mapped
//! by hand to and from the internal ones ([`crate::artifact::Artifact`],
//! [`crate::Model`]).
//!
//! Renaming or reshaping an internal type never changes these; changing these
//! is a format change (a new version, with the old one still read). The
//! artifact payload is [`ArtifactV2`] in bincode; `model.json` is the same
//! value in JSON; [`ArtifactV1`] is the previous payload, still loaded. The
//! `/model` card and the wasm `summary` are built from these types too.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Evaluation figures of a model on one split, at its threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireMetrics {
    /// Decision threshold the counts were taken at.
    pub threshold: f64,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Average precision.
    pub average_precision: f64,
    /// Area under the ROC curve.
    pub roc_auc: f64,
    /// Frauds flagged.
    pub true_positives: u64,
    /// Legitimate transactions flagged.
    pub false_positives: u64,
    /// Legitimate transactions passed.
    pub true_negatives: u64,
    /// Frauds missed.
    pub false_negatives: u64,
}

/// Where a model came from (data, split, resampling, trainer).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireProvenance {
    /// Data source.
    pub dataset: String,
    /// SHA-256 of the CSV bytes (hex).
    pub dataset_sha256: String,
    /// Trained on generated data.
    pub synthetic: bool,
    /// Rows in the dataset.
    pub rows_total: u64,
    /// Frauds in the dataset.
    pub frauds_total: u64,
    /// Rows in the train split.
    pub rows_train: u64,
    /// Rows in the validation split.
    pub rows_validation: u64,
    /// Rows in the test split.
    pub rows_test: u64,
    /// Rows the model was fitted on (after SMOTE, if any).
    pub rows_fitted: u64,
    /// Split seed.
    pub seed: u64,
    /// Fraction of rows in train.
    pub train_fraction: f64,
    /// Fraction in validation.
    pub validation_fraction: f64,
    /// Fraction in test.
    pub test_fraction: f64,
    /// SMOTE neighbours (0: not used).
    pub smote_k: u32,
    /// SMOTE target ratio (0: not used).
    pub smote_ratio: f64,
    /// Loss weights of the legitimate and the fraud class.
    pub class_weights: [f64; 2],
    /// The trainer and its version.
    pub trainer: String,
}

/// One split node of a tree (see `crate::trees` for the encoding of children).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireSplit {
    /// Schema index of the feature.
    pub feature: u32,
    /// `x[feature] < threshold` goes left.
    pub threshold: f64,
    /// Left child (split index, or leaf index with the top bit set).
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Training weight that reached the node.
    pub cover: f64,
}

/// One leaf.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireLeaf {
    /// Contribution to the logit.
    pub value: f64,
    /// Training weight that reached it.
    pub cover: f64,
}

/// One tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct WireTree {
    /// Split nodes; 0 is the root.
    pub splits: Vec<WireSplit>,
    /// Leaves.
    pub leaves: Vec<WireLeaf>,
}

/// The scorer's parameters, tagged by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireModel {
    /// Logistic regression over standardised features.
    Logistic {
        /// Scaler means, schema order.
        scaler_mean: Vec<f64>,
        /// Scaler scales (population std).
        scaler_scale: Vec<f64>,
        /// Coefficients over scaled features.
        coefficients: Vec<f64>,
        /// Intercept.
        intercept: f64,
    },
    /// Gradient-boosted trees over raw features.
    Trees {
        /// Starting logit.
        base_score: f64,
        /// Trees in summing order.
        trees: Vec<WireTree>,
    },
}

/// How the scorer was fitted, tagged by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireTraining {
    /// The logistic solver.
    Logistic {
        /// Inverse L2 strength (scikit-learn's C).
        c: f64,
        /// Solver name.
        solver: String,
        /// Iterations to convergence.
        iterations: u32,
        /// Largest absolute gradient entry at the solution.
        max_gradient: f64,
    },
    /// The booster.
    Trees {
        /// Shrinkage.
        learning_rate: f64,
        /// Leaves per tree at most.
        max_leaves: u32,
        /// Depth at most.
        max_depth: u32,
        /// L2 on leaf values.
        l2: f64,
        /// Minimum hessian per leaf.
        min_child_hessian: f64,
        /// Minimum rows per leaf.
        min_rows_leaf: u32,
        /// Row subsampling per round.
        row_fraction: f64,
        /// Column subsampling per tree.
        col_fraction: f64,
        /// Quantile bins per feature at most.
        max_bins: u32,
        /// Rounds kept (best on validation).
        rounds: u32,
        /// Rounds run before early stopping.
        rounds_run: u32,
        /// Patience of early stopping.
        early_stopping_rounds: u32,
    },
}

/// The artifact payload, format version 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct ArtifactV2 {
    /// Which candidate was selected.
    pub model_name: String,
    /// The input schema, in order.
    pub feature_names: Vec<String>,
    /// Decision threshold on the probability.
    pub threshold: f64,
    /// The scorer.
    pub model: WireModel,
    /// How it was fitted.
    pub training: WireTraining,
    /// Where it came from.
    pub provenance: WireProvenance,
    /// Mean |contribution| per feature on validation, schema order (empty: not measured).
    pub feature_importance: Vec<f64>,
    /// Metrics on validation (where the threshold was chosen).
    pub validation: WireMetrics,
    /// Metrics on test.
    pub test: WireMetrics,
}

/// Version 1's provenance: logistic solver details were part of it.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub struct ProvenanceV1 {
    /// See [`WireProvenance`].
    pub dataset: String,
    /// See [`WireProvenance`].
    pub dataset_sha256: String,
    /// See [`WireProvenance`].
    pub synthetic: bool,
    /// See [`WireProvenance`].
    pub rows_total: u64,
    /// See [`WireProvenance`].
    pub frauds_total: u64,
    /// See [`WireProvenance`].
    pub rows_train: u64,
    /// See [`WireProvenance`].
    pub rows_validation: u64,
    /// See [`WireProvenance`].
    pub rows_test: u64,
    /// See [`WireProvenance`].
    pub rows_fitted: u64,
    /// See [`WireProvenance`].
    pub seed: u64,
    /// See [`WireProvenance`].
    pub train_fraction: f64,
    /// See [`WireProvenance`].
    pub validation_fraction: f64,
    /// See [`WireProvenance`].
    pub test_fraction: f64,
    /// See [`WireProvenance`].
    pub smote_k: u32,
    /// See [`WireProvenance`].
    pub smote_ratio: f64,
    /// See [`WireProvenance`].
    pub class_weights: [f64; 2],
    /// Inverse L2 strength.
    pub c: f64,
    /// Solver name.
    pub solver: String,
    /// Solver iterations.
    pub solver_iterations: u32,
    /// Largest gradient entry at the solution.
    pub solver_max_gradient: f64,
    /// See [`WireProvenance`].
    pub trainer: String,
}

/// The artifact payload, format version 1 (logistic only), as earlier trainers wrote it.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub struct ArtifactV1 {
    /// Which candidate.
    pub model_name: String,
    /// The schema.
    pub feature_names: Vec<String>,
    /// Scaler means.
    pub scaler_mean: Vec<f64>,
    /// Scaler scales.
    pub scaler_scale: Vec<f64>,
    /// Coefficients.
    pub weights: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Threshold.
    pub threshold: f64,
    /// Provenance.
    pub provenance: ProvenanceV1,
    /// Validation metrics.
    pub validation: WireMetrics,
    /// Test metrics.
    pub test: WireMetrics,
}

impl From<ArtifactV1> for ArtifactV2 {
    fn from(v1: ArtifactV1) -> ArtifactV2 {
        let p = v1.provenance;
        ArtifactV2 {
            model_name: v1.model_name,
            feature_names: v1.feature_names,
            threshold: v1.threshold,
            model: WireModel::Logistic {
                scaler_mean: v1.scaler_mean,
                scaler_scale: v1.scaler_scale,
                coefficients: v1.weights,
                intercept: v1.intercept,
            },
            training: WireTraining::Logistic {
                c: p.c,
                solver: p.solver,
                iterations: p.solver_iterations,
                max_gradient: p.solver_max_gradient,
            },
            provenance: WireProvenance {
                dataset: p.dataset,
                dataset_sha256: p.dataset_sha256,
                synthetic: p.synthetic,
                rows_total: p.rows_total,
                frauds_total: p.frauds_total,
                rows_train: p.rows_train,
                rows_validation: p.rows_validation,
                rows_test: p.rows_test,
                rows_fitted: p.rows_fitted,
                seed: p.seed,
                train_fraction: p.train_fraction,
                validation_fraction: p.validation_fraction,
                test_fraction: p.test_fraction,
                smote_k: p.smote_k,
                smote_ratio: p.smote_ratio,
                class_weights: p.class_weights,
                trainer: p.trainer,
            },
            feature_importance: Vec::new(),
            validation: v1.validation,
            test: v1.test,
        }
    }
}

/// A feature and its global importance, for cards and reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Mean |contribution| on validation, logit units.
    pub importance: f64,
}

/// The scorer as a model card describes it (sizes, not every parameter for trees).
#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// What `GET /model`, the wasm `summary` and the report say about a model,
/// whatever its kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCard {
    /// Candidate name.
    pub name: String,
    /// `"logistic"` or `"trees"`.
    pub kind: &'static str,
    /// Decision threshold.
    pub threshold: f64,
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
}

pub(crate) fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A minimal JSON writer for [`ModelCard::to_json`]: runtimes without a JSON
/// library (the wasm package) turn the card into an object with their
/// platform's own parser, without knowing the model's kind.
struct Json(String);

impl Json {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn key(&mut self, k: &str) {
        if !self.0.ends_with('{') {
            self.raw(",");
        }
        self.text(k);
        self.raw(":");
    }

    fn text(&mut self, s: &str) {
        self.raw("\"");
        for c in s.chars() {
            match c {
                '"' => self.raw("\\\""),
                '\\' => self.raw("\\\\"),
                c if (c as u32) < 0x20 => self.raw(&alloc::format!("\\u{:04x}", c as u32)),
                c => self.0.push(c),
            }
        }
        self.raw("\"");
    }

    /// Rust prints floats as the shortest decimal that reads back to the same
    /// bits (`Debug` keeps the `.0` of whole numbers, as serde_json does).
    fn num(&mut self, x: f64) {
        if x.is_finite() {
            self.raw(&alloc::format!("{x:?}"));
        } else {
            self.raw("null");
        }
    }

    fn int(&mut self, n: u64) {
        self.raw(&alloc::format!("{n}"));
    }

    fn nums(&mut self, xs: &[f64]) {
        self.raw("[");
        for (i, &x) in xs.iter().enumerate() {
            if i > 0 {
                self.raw(",");
            }
            self.num(x);
        }
        self.raw("]");
    }

    fn object(&mut self, fields: impl FnOnce(&mut Json)) {
        self.raw("{");
        fields(self);
        self.raw("}");
    }
}

fn metrics_json(j: &mut Json, m: &WireMetrics) {
    j.object(|j| {
        for (k, v) in [
            ("threshold", m.threshold),
            ("precision", m.precision),
            ("recall", m.recall),
            ("f1", m.f1),
            ("average_precision", m.average_precision),
            ("roc_auc", m.roc_auc),
        ] {
            j.key(k);
            j.num(v);
        }
        for (k, v) in [
            ("true_positives", m.true_positives),
            ("false_positives", m.false_positives),
            ("true_negatives", m.true_negatives),
            ("false_negatives", m.false_negatives),
        ] {
            j.key(k);
            j.int(v);
        }
    });
}

fn provenance_json(j: &mut Json, p: &WireProvenance) {
    j.object(|j| {
        j.key("dataset");
        j.text(&p.dataset);
        j.key("dataset_sha256");
        j.text(&p.dataset_sha256);
        j.key("synthetic");
        j.raw(if p.synthetic { "true" } else { "false" });
        for (k, v) in [
            ("rows_total", p.rows_total),
            ("frauds_total", p.frauds_total),
            ("rows_train", p.rows_train),
            ("rows_validation", p.rows_validation),
            ("rows_test", p.rows_test),
            ("rows_fitted", p.rows_fitted),
            ("seed", p.seed),
        ] {
            j.key(k);
            j.int(v);
        }
        for (k, v) in [
            ("train_fraction", p.train_fraction),
            ("validation_fraction", p.validation_fraction),
            ("test_fraction", p.test_fraction),
        ] {
            j.key(k);
            j.num(v);
        }
        j.key("smote_k");
        j.int(p.smote_k.into());
        j.key("smote_ratio");
        j.num(p.smote_ratio);
        j.key("class_weights");
        j.nums(&p.class_weights);
        j.key("trainer");
        j.text(&p.trainer);
    });
}

fn training_json(j: &mut Json, t: &WireTraining) {
    j.object(|j| match t {
        WireTraining::Logistic { c, solver, iterations, max_gradient } => {
            j.key("kind");
            j.text("logistic");
            j.key("c");
            j.num(*c);
            j.key("solver");
            j.text(solver);
            j.key("iterations");
            j.int((*iterations).into());
            j.key("max_gradient");
            j.num(*max_gradient);
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
            j.key("kind");
            j.text("trees");
            j.key("learning_rate");
            j.num(*learning_rate);
            j.key("max_leaves");
            j.int((*max_leaves).into());
            j.key("max_depth");
            j.int((*max_depth).into());
            j.key("l2");
            j.num(*l2);
            j.key("min_child_hessian");
            j.num(*min_child_hessian);
            j.key("min_rows_leaf");
            j.int((*min_rows_leaf).into());
            j.key("row_fraction");
            j.num(*row_fraction);
            j.key("col_fraction");
            j.num(*col_fraction);
            for (k, v) in [
                ("max_bins", max_bins),
                ("rounds", rounds),
                ("rounds_run", rounds_run),
                ("early_stopping_rounds", early_stopping_rounds),
            ] {
                j.key(k);
                j.int((*v).into());
            }
        }
    });
}

fn parameters_json(j: &mut Json, p: &CardParameters) {
    j.object(|j| match p {
        CardParameters::Logistic { scaler_mean, scaler_scale, coefficients, intercept } => {
            j.key("kind");
            j.text("logistic");
            j.key("scaler_mean");
            j.nums(scaler_mean);
            j.key("scaler_scale");
            j.nums(scaler_scale);
            j.key("coefficients");
            j.nums(coefficients);
            j.key("intercept");
            j.num(*intercept);
        }
        CardParameters::Trees { trees, max_depth, max_leaves, base_score, expected_value } => {
            j.key("kind");
            j.text("trees");
            for (k, v) in [("trees", trees), ("max_depth", max_depth), ("max_leaves", max_leaves)] {
                j.key(k);
                j.int((*v).into());
            }
            j.key("base_score");
            j.num(*base_score);
            j.key("expected_value");
            j.num(*expected_value);
        }
    });
}

impl ModelCard {
    /// The card as JSON text — the same document its `Serialize` gives (a
    /// test holds them equal), for runtimes without a JSON library.
    pub fn to_json(&self) -> String {
        let mut j = Json(String::new());
        j.object(|j| {
            j.key("name");
            j.text(&self.name);
            j.key("kind");
            j.text(self.kind);
            j.key("threshold");
            j.num(self.threshold);
            j.key("parameters");
            parameters_json(j, &self.parameters);
            j.key("training");
            training_json(j, &self.training);
            j.key("provenance");
            provenance_json(j, &self.provenance);
            j.key("feature_importance");
            j.raw("[");
            for (i, f) in self.feature_importance.iter().enumerate() {
                if i > 0 {
                    j.raw(",");
                }
                j.object(|j| {
                    j.key("feature");
                    j.text(&f.feature);
                    j.key("importance");
                    j.num(f.importance);
                });
            }
            j.raw("]");
            j.key("validation");
            metrics_json(j, &self.validation);
            j.key("test");
            metrics_json(j, &self.test);
        });
        j.0
    }
}

#[cfg(test)]
mod tests {
    use crate::artifact::Artifact;

    #[test]
    fn hand_written_card_json_equals_serde() {
        for mut a in [Artifact::example(), Artifact::example_trees()] {
            a.provenance.dataset = "quote \" backslash \\ tab \t".into();
            let card = a.card(&a.model().unwrap());
            let by_hand: serde_json::Value = serde_json::from_str(&card.to_json()).unwrap();
            assert_eq!(by_hand, serde_json::to_value(&card).unwrap());
        }
    }
}
