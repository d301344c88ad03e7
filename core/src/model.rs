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
    pub fn validate<'a, I>(&self, fields: I) -> Result<Transaction, ValidationError>
    where
        I: IntoIterator<Item = (&'a str, RawValue)>,
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
        // Insertion sort (≤ 256 items; the standard sorts cost kilobytes of wasm),
        // stable, so equal magnitudes keep schema order.
        for i in 1..all.len() {
            let mut j = i;
            while j > 0 && all[j - 1].contribution.abs() < all[j].contribution.abs() {
                all.swap(j - 1, j);
                j -= 1;
            }
        }
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
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::validate::MAX_ABS_VALUE;
    use alloc::string::ToString;
    use alloc::vec;

    const N_FEATURES: usize = 30;
    const AMOUNT_FEATURE: usize = 29;

    fn model(threshold: f64) -> Model {
        let scaler = Scaler {
            mean: (0..N_FEATURES).map(|i| i as f64 * 0.5).collect(),
            scale: (0..N_FEATURES).map(|i| 1.0 + i as f64 * 0.25).collect(),
        };
        let weights = LogisticWeights {
            weights: (0..N_FEATURES).map(|i| if i % 2 == 0 { 0.3 } else { -0.2 } * (1.0 + i as f64 / 10.0)).collect(),
            intercept: -2.0,
        };
        Model::logistic("test".to_string(), Schema::creditcard(), scaler, weights, threshold).unwrap()
    }

    fn lr(m: &Model) -> &Logistic {
        match m.scorer() {
            Scorer::Logistic(l) => l,
            Scorer::Trees(_) => unreachable!("these tests build logistic models"),
        }
    }

    fn row(v: f64) -> [f64; N_FEATURES] {
        let mut r = [0.0; N_FEATURES];
        for (i, x) in r.iter_mut().enumerate() {
            *x = v * (i as f64 - 10.0);
        }
        r
    }

    #[test]
    fn folded_score_matches_scale_then_dot() {
        let m = model(0.5);
        for v in [-3.0, -0.1, 0.0, 0.7, 5.0] {
            let x = row(v);
            let mut z = x;
            lr(&m).scaler().transform_row(&mut z);
            let direct: f64 =
                z.iter().zip(&lr(&m).weights().weights).map(|(a, b)| a * b).sum::<f64>() + lr(&m).weights().intercept;
            assert!((m.logit(&x) - direct).abs() < 1e-12, "{} vs {direct}", m.logit(&x));
        }
    }

    #[test]
    fn kinds_and_descriptions() {
        assert_eq!(ModelKind::ALL.map(ModelKind::as_str), ["logistic", "trees"]);
        assert_eq!(model(0.5).description(), "logistic regression");
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert!(sigmoid(-700.0) > 0.0);
        for t in [-40.0, -5.0, -1e-3, 1e-3, 5.0, 40.0] {
            let p = sigmoid(t);
            assert!((p + sigmoid(-t) - 1.0).abs() < 1e-15);
            assert!((0.0..=1.0).contains(&p));
        }
    }

    #[test]
    fn extreme_valid_inputs_never_give_nan() {
        let m = model(0.5);
        for v in [MAX_ABS_VALUE, -MAX_ABS_VALUE] {
            let p = m.probability(&[v; N_FEATURES]);
            assert!((0.0..=1.0).contains(&p), "{p}");
        }
    }

    #[test]
    fn decision_is_inclusive_at_threshold() {
        let m = model(0.5);
        let x = row(0.3);
        let p = m.probability(&x);
        let at = m.with_threshold(p).unwrap();
        assert_eq!(at.policy(), Policy::ManualThreshold);
        assert!(at.predict(&at.transaction(&x).unwrap()).is_fraud);
        let above = m.with_threshold(p + 1e-12).unwrap();
        assert!(!above.predict(&above.transaction(&x).unwrap()).is_fraud);
    }

    #[test]
    fn batch_equals_single_and_rejects_bad_rows_atomically() {
        let m = model(0.2);
        let rows: Vec<f64> = (0..5).flat_map(|r| row(r as f64 - 2.0)).collect();
        let mut out = vec![-1.0; 5];
        m.score_batch(&rows, &mut out).unwrap();
        for (r, p) in out.iter().enumerate() {
            assert_eq!(p.to_bits(), m.probability(&row(r as f64 - 2.0)).to_bits());
        }
        let mut bad = rows.clone();
        bad[3 * N_FEATURES + 4] = f64::NAN;
        let mut out2 = vec![-1.0; 5];
        let err = m.score_batch(&bad, &mut out2).unwrap_err();
        assert!(matches!(&err, BatchError::BadRow { row: 3, error } if error.issues[0].field == "V4"), "{err:?}");
        assert_eq!(err.code(), ErrorCode::NonFinite);
        assert!(out2.iter().all(|p| p.is_nan()), "no partial result on error");
        assert_eq!(m.score_batch(&rows[..31], &mut out2).unwrap_err(), BatchError::BadLength { len: 31, width: 30 });
        assert!(matches!(m.score_batch(&rows, &mut out2[..4]), Err(BatchError::OutputLength { rows: 5, out: 4 })));
        assert!(m.score_batch(&[], &mut []).is_ok());
    }

    #[test]
    fn a_refused_batch_without_a_bad_row_is_an_internal_error_not_the_callers() {
        let schema = Schema::creditcard();
        let mut rows: Vec<f64> = (0..3).flat_map(|r| row(r as f64)).collect();
        // Reached only if the fused check and validation disagreed: what it reports.
        let err = first_bad_row(&schema, &rows);
        assert_eq!(err, BatchError::Inconsistent { rows: 3 });
        assert_eq!(err.code(), ErrorCode::InvalidArtifact);
        assert!(err.to_string().contains("fraud-core bug"), "{err}");
        rows[N_FEATURES + 2] = f64::INFINITY;
        assert!(matches!(first_bad_row(&schema, &rows), BatchError::BadRow { row: 1, .. }));
    }

    #[test]
    fn calibration_and_cost_optimal_decisions_hold_in_batch_and_single() {
        let base = model(0.5);
        let rule = DecisionRule {
            calibration: Calibration {
                method: crate::decision::CalibrationMethod::Platt,
                slope: 0.75,
                intercept: -2.5,
            },
            policy: Policy::CostOptimal,
            threshold: 0.5,
            costs: Costs::default(),
        };
        let m = base.with_rule(rule).unwrap();
        let rows: Vec<f64> = (0..40).flat_map(|r| row(r as f64 * 0.2 - 4.0)).collect();
        let mut out = vec![0.0; 40];
        m.score_batch(&rows, &mut out).unwrap();
        let mut decisions = vec![false; 40];
        m.decide_batch(&rows, &out, &mut decisions);
        for (r, x) in rows.as_chunks::<N_FEATURES>().0.iter().enumerate() {
            let p = m.predict(&m.transaction(x).unwrap());
            assert_eq!(p.probability.to_bits(), out[r].to_bits());
            assert_eq!(p.probability.to_bits(), sigmoid(0.75 * base.logit(x) - 2.5).to_bits());
            assert_eq!(p.is_fraud, decisions[r]);
            assert_eq!(p.is_fraud, p.expected.refuse > p.expected.accept);
        }
        // The same probability is refused at a large amount and accepted at none.
        let mut x = row(0.0);
        let p = 0.05;
        x[AMOUNT_FEATURE] = 0.0;
        assert!(!m.is_fraud(&x, p));
        x[AMOUNT_FEATURE] = 1000.0;
        assert!(m.is_fraud(&x, p));
        // An analyst's slider switches to a threshold; new costs re-decide.
        assert_eq!(m.with_threshold(0.01).unwrap().policy(), Policy::ManualThreshold);
        let generous = Costs {
            refused_legitimate: crate::decision::Benefit { fixed: -500.0, per_amount: 0.0 },
            ..Costs::default()
        };
        assert!(!m.with_costs(generous).unwrap().is_fraud(&x, p));
    }

    #[test]
    fn explanation_sums_to_logit_and_is_sorted() {
        let m = model(0.5);
        let t = m.transaction(&row(1.5)).unwrap();
        let all = m.explain(&t, 100);
        assert_eq!(all.len(), N_FEATURES);
        let sum: f64 = all.iter().map(|c| c.contribution).sum::<f64>() + lr(&m).weights().intercept;
        assert!((sum - m.logit(t.values())).abs() < 1e-9);
        assert!(all.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
        let top = m.explain(&t, 3);
        assert_eq!(top, all[..3].to_vec());
    }

    #[test]
    fn another_schema_scores_by_its_own_names_and_width() {
        let names = ["amount", "merchant_risk", "distance_km"].map(String::from).to_vec();
        let schema = Schema::new(names, Some("amount"), "is_fraud", Some("tx")).unwrap();
        let scaler = Scaler { mean: vec![50.0, 0.5, 10.0], scale: vec![20.0, 0.2, 5.0] };
        let weights = LogisticWeights { weights: vec![0.5, 2.0, 0.1], intercept: -3.0 };
        let m = Model::logistic("small".into(), schema.clone(), scaler, weights, 0.5).unwrap();
        let t = m
            .validate([
                ("distance_km", RawValue::Number(12.0)),
                ("amount", RawValue::Number(80.0)),
                ("merchant_risk", RawValue::Number(0.9)),
            ])
            .unwrap();
        assert_eq!(t.values(), &[80.0, 0.9, 12.0]);
        let rows = [80.0, 0.9, 12.0, 10.0, 0.1, 1.0];
        let mut out = [0.0; 2];
        m.score_batch(&rows, &mut out).unwrap();
        assert_eq!(out[0].to_bits(), m.predict(&t).probability.to_bits());
        let top = m.explain(&t, 1);
        assert_eq!(top[0].feature, "merchant_risk");
        assert_eq!(m.score_batch(&rows[..4], &mut out[..1]).unwrap_err(), BatchError::BadLength { len: 4, width: 3 });
        let err = m.validate([("V1", RawValue::Number(0.0))]).unwrap_err().to_string();
        assert!(err.contains("missing: amount, merchant_risk, distance_km") && err.contains("unknown: V1"), "{err}");
        // A creditcard-width scorer does not fit this schema.
        let wide = model(0.5);
        let e = Model::new("x".into(), schema.clone(), wide.scorer().clone(), DecisionRule::at_threshold(0.5));
        assert_eq!(e.unwrap_err(), ModelError::WrongLength { what: "the scorer's inputs", len: 30, expected: 3 });
        // Without an amount column there is no per-transaction policy nor per-amount costs.
        let no_amount = Schema::new(schema.features().to_vec(), None, "is_fraud", None).unwrap();
        let lr = m.scorer().clone();
        assert!(Model::new("x".into(), no_amount.clone(), lr.clone(), DecisionRule::at_threshold(0.5)).is_err());
        assert!(Model::new("x".into(), no_amount.clone(), lr.clone(), DecisionRule::at_threshold_for(0.5, &no_amount))
            .is_ok());
        let fixed = DecisionRule { costs: Costs::fixed_default(), ..DecisionRule::at_threshold(0.5) };
        let ok = Model::new("x".into(), no_amount, lr, fixed.clone()).unwrap();
        assert!(ok.with_rule(DecisionRule { policy: Policy::CostOptimal, ..fixed }).is_err());
    }

    #[test]
    fn rejects_bad_parameters() {
        let good = model(0.5);
        let mut s = lr(&good).scaler().clone();
        s.scale[3] = 0.0;
        assert!(Model::logistic("x".into(), Schema::creditcard(), s, lr(&good).weights().clone(), 0.5).is_err());
        let mut w = lr(&good).weights().clone();
        w.weights.pop();
        assert_eq!(
            Model::logistic("x".into(), Schema::creditcard(), lr(&good).scaler().clone(), w, 0.5).unwrap_err(),
            ModelError::WrongLength { what: "scaler mean", len: 30, expected: 29 }
        );
        let mut w = lr(&good).weights().clone();
        w.intercept = f64::NAN;
        assert!(Model::logistic("x".into(), Schema::creditcard(), lr(&good).scaler().clone(), w, 0.5).is_err());
        for t in [-0.1, 1.1, f64::NAN] {
            assert!(good.with_threshold(t).is_err());
        }
        let mut s = lr(&good).scaler().clone();
        s.scale[0] = 1e-300;
        assert!(
            Model::logistic("x".into(), Schema::creditcard(), s, lr(&good).weights().clone(), 0.5).is_err(),
            "overflow-prone fold"
        );
    }
}
