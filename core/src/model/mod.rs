//! The model seam: a decision rule and a closed set of scorers.
//!
//! [`Model`] is what every runtime scores with, whatever the kind: it owns the
//! parts all kinds share — the calibrated sigmoid, the decision (threshold or
//! cost-optimal, see [`crate::decision`]), the fused-validation batch API and
//! top-k explanations — and delegates the logit and the per-feature
//! contributions to its [`Scorer`].
//! Adding a kind is one module and one arm of [`Scorer`]; nothing outside
//! `core` (and the trainer, which makes it) changes.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::Serialize;

use crate::decision::{Calibration, Costs, DecisionRule, ExpectedBenefit, Policy};
// Re-exported: they were first defined here, and other crates name them by this path.
pub use crate::error::{BatchError, ModelError};
use crate::exp::exp_nonpositive;
use crate::logistic::{Logistic, LogisticWeights};
use crate::scaler::Scaler;
use crate::schema::Schema;
use crate::sort::insertion_sort_by;
use crate::trees::Trees;
use crate::validate::{row_in_range, validate_fields, validate_row, RawValue, Transaction, ValidationError};

/// The scorers a model can hold. Closed on purpose (no `dyn`): every runtime
/// can rely on the exact arithmetic of each.
// One per model, behind an `Arc`: the variants' size difference costs nothing,
// and boxing the logistic one would add an indirection to its hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Scorer {
    /// L2 logistic regression over standardised features.
    Logistic(Logistic),
    /// Gradient-boosted trees over raw features.
    Trees(Trees),
}

/// Which kind of scorer, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// [`Scorer::Logistic`].
    Logistic,
    /// [`Scorer::Trees`].
    Trees,
}

impl ModelKind {
    /// Every kind, for documents that list them (e.g. the OpenAPI enum).
    pub const ALL: [ModelKind; 2] = [ModelKind::Logistic, ModelKind::Trees];

    /// The wire spelling (`"logistic"`, `"trees"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Trees => "trees",
        }
    }
}

/// A calibrated probability, the decision and what each decision is expected to be worth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// P(fraud), in [0, 1], calibrated.
    pub probability: f64,
    /// The decision: refuse the transaction.
    pub is_fraud: bool,
    /// Expected value of refusing and of accepting, in the costs' currency.
    pub expected: ExpectedBenefit,
}

/// One feature's share of a score, in logit units. A model's contributions
/// over all features sum, with its [`Model::base_value`], to its logit.
/// Serialises as `{ feature, value, contribution }` (the HTTP APIs'
/// explanation); the name is borrowed from the model's schema.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Contribution<'a> {
    /// Feature name.
    pub feature: &'a str,
    /// The raw input value.
    pub value: f64,
    /// Positive pushes towards fraud (logistic: `weight · scaled value`; trees: the SHAP value).
    pub contribution: f64,
}

/// A ready-to-score model: a scorer and its decision rule. Immutable once
/// built; cheap to clone (the scorer is shared).
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    name: String,
    schema: Schema,
    rule: DecisionRule,
    scorer: Arc<Scorer>,
}

/// Numerically stable logistic function: `exp` only ever sees `-|t|`, so it
/// never overflows, and the branch is a select, so batch loops vectorise.
#[inline(always)]
pub fn sigmoid(t: f64) -> f64 {
    let e = exp_nonpositive(-t.abs());
    let numerator = if t >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

impl Model {
    /// A model from a schema, a checked scorer of that many features and a
    /// decision rule (checked here, against the schema too).
    pub fn new(name: String, schema: Schema, scorer: Scorer, rule: DecisionRule) -> Result<Model, ModelError> {
        let width = match &scorer {
            Scorer::Logistic(m) => m.n_features(),
            Scorer::Trees(m) => m.n_features(),
        };
        if width != schema.len() {
            return Err(ModelError::WrongLength { what: "the scorer's inputs", len: width, expected: schema.len() });
        }
        rule.check_for(&schema)?;
        Ok(Model { name, schema, rule, scorer: Arc::new(scorer) })
    }

    /// An uncalibrated logistic model at an F1 threshold (see [`Logistic::new`] for the checks).
    pub fn logistic(
        name: String,
        schema: Schema,
        scaler: Scaler,
        weights: LogisticWeights,
        threshold: f64,
    ) -> Result<Model, ModelError> {
        let rule = DecisionRule::at_threshold_for(threshold, &schema);
        Model::new(name, schema, Scorer::Logistic(Logistic::new(scaler, weights)?), rule)
    }

    /// The inputs this model scores, in row order.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Values per row: the schema's feature count.
    #[inline]
    pub fn width(&self) -> usize {
        self.schema.len()
    }

    /// Validates named fields against this model's schema (see [`validate_fields`]).
    pub fn validate<'a, 'v, I>(&self, fields: I) -> Result<Transaction, ValidationError>
    where
        I: IntoIterator<Item = (&'a str, RawValue<'v>)>,
    {
        validate_fields(&self.schema, fields)
    }

    /// A transaction from a row of values in schema order: the length must be
    /// the schema's and every value finite and in range.
    pub fn transaction(&self, row: &[f64]) -> Result<Transaction, BatchError> {
        if row.len() != self.width() {
            return Err(BatchError::BadLength { len: row.len(), width: self.width() });
        }
        validate_row(&self.schema, row).map_err(|error| BatchError::BadRow { row: 0, error })?;
        Ok(Transaction::from_checked(row.to_vec()))
    }

    /// The amount of row `x`, or 0 when the schema has no amount column (the
    /// decision rule then has no per-amount terms: checked at construction).
    #[inline(always)]
    pub fn amount(&self, x: &[f64]) -> f64 {
        self.schema.amount_of(x)
    }

    /// Which candidate this is ("baseline", "trees", ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The threshold the threshold policies apply to the calibrated probability
    /// (under [`Policy::CostOptimal`], the best single threshold, for reference).
    pub fn threshold(&self) -> f64 {
        self.rule.threshold
    }

    /// How a probability becomes a decision.
    pub fn policy(&self) -> Policy {
        self.rule.policy
    }

    /// The logit → probability map.
    pub fn calibration(&self) -> &Calibration {
        &self.rule.calibration
    }

    /// What each outcome is worth.
    pub fn costs(&self) -> &Costs {
        &self.rule.costs
    }

    /// The whole decision rule.
    pub fn rule(&self) -> &DecisionRule {
        &self.rule
    }

    /// The scorer.
    pub fn scorer(&self) -> &Scorer {
        &self.scorer
    }

    /// The scorer's kind.
    pub fn kind(&self) -> ModelKind {
        match *self.scorer {
            Scorer::Logistic(_) => ModelKind::Logistic,
            Scorer::Trees(_) => ModelKind::Trees,
        }
    }

    /// What the scorer is, in words, for people ("logistic regression",
    /// "150 boosted trees, TreeSHAP explanations"): callers show it without
    /// branching on the kind.
    pub fn description(&self) -> String {
        match &*self.scorer {
            Scorer::Logistic(_) => String::from("logistic regression"),
            Scorer::Trees(t) => alloc::format!("{} boosted trees, TreeSHAP explanations", t.len()),
        }
    }

    /// The same model with another decision rule.
    pub fn with_rule(&self, rule: DecisionRule) -> Result<Model, ModelError> {
        rule.check_for(&self.schema)?;
        Ok(Model { name: self.name.clone(), schema: self.schema.clone(), rule, scorer: Arc::clone(&self.scorer) })
    }

    /// The same model deciding at a threshold someone set (an analyst's slider).
    pub fn with_threshold(&self, threshold: f64) -> Result<Model, ModelError> {
        self.with_rule(DecisionRule { threshold, policy: Policy::ManualThreshold, ..self.rule.clone() })
    }

    /// The same model with other costs (its policy re-decides with them).
    pub fn with_costs(&self, costs: Costs) -> Result<Model, ModelError> {
        self.with_rule(DecisionRule { costs, ..self.rule.clone() })
    }

    /// The log-odds of fraud for a raw (unscaled) row in schema order.
    ///
    /// # Panics
    /// When `x` is not [`Model::width`] values long: rows come from this
    /// model's [`Transaction`]s or batches whose length was checked.
    #[inline]
    pub fn logit(&self, x: &[f64]) -> f64 {
        // Each scorer checks the width on its own path (the Kaggle-width one by its types).
        match &*self.scorer {
            Scorer::Logistic(m) => m.logit(x),
            Scorer::Trees(m) => m.logit(x),
        }
    }

    /// Calibrated P(fraud) for a raw row. The caller guarantees the row is
    /// valid (a [`Transaction`], or a row that passed [`validate_row`]).
    #[inline]
    pub fn probability(&self, x: &[f64]) -> f64 {
        sigmoid(self.rule.calibration.apply(self.logit(x)))
    }

    /// The decision for row `x` whose probability (from this model) is `probability`.
    #[inline]
    pub fn is_fraud(&self, x: &[f64], probability: f64) -> bool {
        self.rule.refuses(probability, self.amount(x))
    }

    /// Decisions for a row-major batch and its probabilities (from
    /// [`Model::score_batch`]), one per row, into `out`.
    pub fn decide_batch(&self, rows: &[f64], probabilities: &[f64], out: &mut [bool]) {
        for ((x, &p), d) in rows.chunks_exact(self.width()).zip(probabilities).zip(out.iter_mut()) {
            *d = self.rule.refuses(p, self.amount(x));
        }
    }

    /// Probability, decision and expected values for a validated transaction.
    #[inline]
    pub fn predict(&self, t: &Transaction) -> Prediction {
        let x = t.values();
        let probability = self.probability(x);
        Prediction {
            probability,
            is_fraud: self.is_fraud(x, probability),
            expected: self.rule.costs.expected(probability, self.amount(x)),
        }
    }

    /// The logit an explanation starts from: contributions over all features
    /// add up from here to the row's logit (logistic: the intercept; trees: the
    /// expected logit over the training covers).
    pub fn base_value(&self) -> f64 {
        match &*self.scorer {
            Scorer::Logistic(m) => m.weights().intercept,
            Scorer::Trees(m) => m.expected_value(),
        }
    }

    /// Scores a row-major batch (`rows.len() / width` rows) into `out`.
    ///
    /// Validation is fused into the scoring loop (each row is read from memory
    /// once, and the check is branch-free); if any row is invalid the error
    /// names the first one and `out` is filled with NaN — never a partial result.
    pub fn score_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), BatchError> {
        self.logit_batch(rows, out)?;
        // A second pass over a contiguous array, which the compiler turns into
        // SIMD; each value goes through exactly the operations `probability` performs.
        let calibration = self.rule.calibration;
        for p in out.iter_mut() {
            *p = sigmoid(calibration.apply(*p));
        }
        Ok(())
    }

    /// The raw logits (before calibration) of a row-major batch, with the
    /// validation and errors of [`Model::score_batch`]; what calibration is fitted on.
    pub fn logit_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), BatchError> {
        let width = self.width();
        if !rows.len().is_multiple_of(width) {
            return Err(BatchError::BadLength { len: rows.len(), width });
        }
        let n_rows = rows.len() / width;
        if out.len() != n_rows {
            return Err(BatchError::OutputLength { rows: n_rows, out: out.len() });
        }
        let all_valid = match &*self.scorer {
            // Codes and missing values: every row through the one row check.
            _ if self.schema.is_tabular() => {
                match &*self.scorer {
                    Scorer::Logistic(m) => {
                        m.logits_checked(rows, out);
                    }
                    Scorer::Trees(m) => m.logits(rows, out),
                }
                rows.chunks_exact(width).all(|x| validate_row(&self.schema, x).is_ok())
            }
            Scorer::Logistic(m) => m.logits_checked(rows, out),
            Scorer::Trees(m) => {
                let all_valid = rows.chunks_exact(width).fold(true, |ok, x| ok & row_in_range(x));
                m.logits(rows, out);
                all_valid
            }
        };
        if all_valid {
            return Ok(());
        }
        out.fill(f64::NAN);
        Err(first_bad_row(&self.schema, rows))
    }

    /// Every feature's contribution to the logit, in schema order; with
    /// [`Model::base_value`] they sum to the logit.
    pub fn contributions(&self, t: &Transaction) -> Vec<Contribution<'_>> {
        let x = t.values();
        let shares = match &*self.scorer {
            Scorer::Logistic(m) => m.contributions(x),
            Scorer::Trees(m) => m.contributions(x),
        };
        self.schema
            .features()
            .iter()
            .zip(x)
            .zip(shares)
            .map(|((feature, &value), contribution)| Contribution { feature, value, contribution })
            .collect()
    }

    /// Every feature's contribution to the logit, largest magnitude first
    /// (ties by schema order), cut to `k`.
    pub fn explain(&self, t: &Transaction, k: usize) -> Vec<Contribution<'_>> {
        let mut all = self.contributions(t);
        // Stable, so equal magnitudes keep schema order.
        insertion_sort_by(&mut all, |a, b| a.contribution.abs() > b.contribution.abs());
        all.truncate(k);
        all
    }
}

/// Why the fused range check refused a row-major batch: the first row
/// [`validate_row`] refuses. Both apply the same rule, so there is one; if
/// not, the disagreement is reported as such (never as the caller's fault).
fn first_bad_row(schema: &Schema, rows: &[f64]) -> BatchError {
    rows.chunks_exact(schema.len())
        .enumerate()
        .find_map(|(row, x)| validate_row(schema, x).err().map(|error| BatchError::BadRow { row, error }))
        .unwrap_or(BatchError::Inconsistent { rows: rows.len() / schema.len() })
}

#[cfg(test)]
mod tests;
