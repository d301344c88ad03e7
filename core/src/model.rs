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
use core::fmt;
use serde::Serialize;

use crate::decision::{Calibration, Costs, DecisionRule, ExpectedBenefit, Policy, AMOUNT_FEATURE};
use crate::error::ErrorCode;
use crate::exp::exp_nonpositive;
use crate::logistic::{Logistic, LogisticWeights};
use crate::scaler::Scaler;
use crate::schema::N_FEATURES;
use crate::trees::Trees;
use crate::validate::{row_in_range, validate_row, Transaction, ValidationError};

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
/// Serialises as `{ feature, value, contribution }` (the HTTP APIs' explanation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Contribution {
    /// Feature name.
    pub feature: &'static str,
    /// The raw input value.
    pub value: f64,
    /// Positive pushes towards fraud (logistic: `weight · scaled value`; trees: the SHAP value).
    pub contribution: f64,
}

/// Why a set of parameters is not a usable model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A vector does not have one entry per schema feature.
    WrongLength {
        /// Which vector.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A parameter is NaN, infinite or outside its domain.
    BadParameter {
        /// Which parameter.
        what: &'static str,
        /// Why.
        why: &'static str,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::WrongLength { what, len } => {
                write!(f, "{what} has {len} entries, the schema has {N_FEATURES} features")
            }
            ModelError::BadParameter { what, why } => write!(f, "{what}: {why}"),
        }
    }
}

/// Why a row-major batch could not be scored. Nothing is scored when any row is bad.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchError {
    /// The input length is not a multiple of the feature count.
    BadLength {
        /// Number of values given.
        len: usize,
    },
    /// The output buffer does not have one slot per row.
    OutputLength {
        /// Rows in the input.
        rows: usize,
        /// Slots in the output.
        out: usize,
    },
    /// A row holds a non-finite or out-of-range value.
    BadRow {
        /// Zero-based row index.
        row: usize,
        /// The offending fields.
        error: ValidationError,
    },
}

impl BatchError {
    /// The error code reported for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            BatchError::BadLength { .. } | BatchError::OutputLength { .. } => ErrorCode::BadBatchLength,
            BatchError::BadRow { error, .. } => error.code(),
        }
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::BadLength { len } => write!(
                f,
                "batch has {len} values, not a multiple of {N_FEATURES} (one row is {N_FEATURES} features in schema order)"
            ),
            BatchError::OutputLength { rows, out } => {
                write!(f, "output has {out} slots for {rows} rows")
            }
            BatchError::BadRow { row, error } => write!(f, "row {row}: {error}"),
        }
    }
}

// Behind `std`: the trait needs `Debug`, and formatting code for every error
// type would cost the wasm package kilobytes.
#[cfg(feature = "std")]
impl std::error::Error for BatchError {}
#[cfg(feature = "std")]
impl std::error::Error for ModelError {}

/// A ready-to-score model: a scorer and its decision rule. Immutable once
/// built; cheap to clone (the scorer is shared).
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    name: String,
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
    /// A model from a checked scorer and a decision rule (checked here).
    pub fn new(name: String, scorer: Scorer, rule: DecisionRule) -> Result<Model, ModelError> {
        rule.check()?;
        Ok(Model { name, rule, scorer: Arc::new(scorer) })
    }

    /// An uncalibrated logistic model at an F1 threshold (see [`Logistic::new`] for the checks).
    pub fn logistic(
        name: String,
        scaler: Scaler,
        weights: LogisticWeights,
        threshold: f64,
    ) -> Result<Model, ModelError> {
        Model::new(name, Scorer::Logistic(Logistic::new(scaler, weights)?), DecisionRule::at_threshold(threshold))
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

    /// The same model with another decision rule.
    pub fn with_rule(&self, rule: DecisionRule) -> Result<Model, ModelError> {
        rule.check()?;
        Ok(Model { name: self.name.clone(), rule, scorer: Arc::clone(&self.scorer) })
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
    #[inline]
    pub fn logit(&self, x: &[f64; N_FEATURES]) -> f64 {
        match &*self.scorer {
            Scorer::Logistic(m) => m.logit(x),
            Scorer::Trees(m) => m.logit(x),
        }
    }

    /// Calibrated P(fraud) for a raw row. The caller guarantees the row is
    /// valid (a [`Transaction`], or a row that passed [`validate_row`]).
    #[inline]
    pub fn probability(&self, x: &[f64; N_FEATURES]) -> f64 {
        sigmoid(self.rule.calibration.apply(self.logit(x)))
    }

    /// The decision for row `x` whose probability (from this model) is `probability`.
    #[inline]
    pub fn is_fraud(&self, x: &[f64; N_FEATURES], probability: f64) -> bool {
        self.rule.refuses(probability, x[AMOUNT_FEATURE])
    }

    /// Decisions for a row-major batch and its probabilities (from
    /// [`Model::score_batch`]), one per row, into `out`.
    pub fn decide_batch(&self, rows: &[f64], probabilities: &[f64], out: &mut [bool]) {
        let (rows, _) = rows.as_chunks::<N_FEATURES>();
        for ((x, &p), d) in rows.iter().zip(probabilities).zip(out.iter_mut()) {
            *d = self.is_fraud(x, p);
        }
    }

    /// Probability, decision and expected values for a validated transaction.
    #[inline]
    pub fn predict(&self, t: &Transaction) -> Prediction {
        let probability = self.probability(&t.0);
        Prediction {
            probability,
            is_fraud: self.is_fraud(&t.0, probability),
            expected: self.rule.costs.expected(probability, t.0[AMOUNT_FEATURE]),
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

    /// Scores a row-major batch (`rows.len() / 30` rows) into `out`.
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
        let (chunks, rest) = rows.as_chunks::<N_FEATURES>();
        if !rest.is_empty() {
            return Err(BatchError::BadLength { len: rows.len() });
        }
        if out.len() != chunks.len() {
            return Err(BatchError::OutputLength { rows: chunks.len(), out: out.len() });
        }
        let mut all_valid = true;
        match &*self.scorer {
            Scorer::Logistic(m) => {
                for (x, p) in chunks.iter().zip(out.iter_mut()) {
                    all_valid &= row_in_range(x);
                    *p = m.logit(x);
                }
            }
            Scorer::Trees(m) => {
                all_valid = chunks.iter().fold(true, |ok, x| ok & row_in_range(x));
                m.logits(chunks, out);
            }
        }
        if all_valid {
            return Ok(());
        }
        out.fill(f64::NAN);
        let error = chunks
            .iter()
            .enumerate()
            .find_map(|(row, x)| validate_row(x).err().map(|error| BatchError::BadRow { row, error }));
        Err(error.unwrap_or(BatchError::BadLength { len: rows.len() }))
    }

    /// Every feature's contribution to the logit, in schema order; with
    /// [`Model::base_value`] they sum to the logit.
    pub fn contributions(&self, t: &Transaction) -> Vec<Contribution> {
        match &*self.scorer {
            Scorer::Logistic(m) => m.contributions(&t.0),
            Scorer::Trees(m) => m.contributions(&t.0),
        }
    }

    /// Every feature's contribution to the logit, largest magnitude first
    /// (ties by schema order), cut to `k`.
    pub fn explain(&self, t: &Transaction, k: usize) -> Vec<Contribution> {
        let mut all = self.contributions(t);
        // Insertion sort (30 items; the standard sorts cost kilobytes of wasm),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::MAX_ABS_VALUE;
    use alloc::string::ToString;
    use alloc::vec;

    fn model(threshold: f64) -> Model {
        let scaler = Scaler {
            mean: (0..N_FEATURES).map(|i| i as f64 * 0.5).collect(),
            scale: (0..N_FEATURES).map(|i| 1.0 + i as f64 * 0.25).collect(),
        };
        let weights = LogisticWeights {
            weights: (0..N_FEATURES).map(|i| if i % 2 == 0 { 0.3 } else { -0.2 } * (1.0 + i as f64 / 10.0)).collect(),
            intercept: -2.0,
        };
        Model::logistic("test".to_string(), scaler, weights, threshold).unwrap()
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
        assert!(at.predict(&Transaction(x)).is_fraud);
        let above = m.with_threshold(p + 1e-12).unwrap();
        assert!(!above.predict(&Transaction(x)).is_fraud);
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
        assert_eq!(m.score_batch(&rows[..31], &mut out2).unwrap_err(), BatchError::BadLength { len: 31 });
        assert!(matches!(m.score_batch(&rows, &mut out2[..4]), Err(BatchError::OutputLength { rows: 5, out: 4 })));
        assert!(m.score_batch(&[], &mut []).is_ok());
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
            let p = m.predict(&Transaction(*x));
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
        let t = Transaction(row(1.5));
        let all = m.explain(&t, 100);
        assert_eq!(all.len(), N_FEATURES);
        let sum: f64 = all.iter().map(|c| c.contribution).sum::<f64>() + lr(&m).weights().intercept;
        assert!((sum - m.logit(&t.0)).abs() < 1e-9);
        assert!(all.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
        let top = m.explain(&t, 3);
        assert_eq!(top, all[..3].to_vec());
    }

    #[test]
    fn rejects_bad_parameters() {
        let good = model(0.5);
        let mut s = lr(&good).scaler().clone();
        s.scale[3] = 0.0;
        assert!(Model::logistic("x".into(), s, lr(&good).weights().clone(), 0.5).is_err());
        let mut w = lr(&good).weights().clone();
        w.weights.pop();
        assert_eq!(
            Model::logistic("x".into(), lr(&good).scaler().clone(), w, 0.5).unwrap_err(),
            ModelError::WrongLength { what: "weights", len: 29 }
        );
        let mut w = lr(&good).weights().clone();
        w.intercept = f64::NAN;
        assert!(Model::logistic("x".into(), lr(&good).scaler().clone(), w, 0.5).is_err());
        for t in [-0.1, 1.1, f64::NAN] {
            assert!(good.with_threshold(t).is_err());
        }
        let mut s = lr(&good).scaler().clone();
        s.scale[0] = 1e-300;
        assert!(Model::logistic("x".into(), s, lr(&good).weights().clone(), 0.5).is_err(), "overflow-prone fold");
    }
}
