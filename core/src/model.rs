//! The logistic scorer: probability, decision and explanation.
//!
//! The scaler is folded into the weights once, at construction
//! (`w' = w / scale`, `b' = b - Σ w'·mean`), so scoring a raw row is one dot
//! product and one `exp`. Every runtime scores through [`Model`], so the fold
//! happens in one place and the bits agree everywhere.

use alloc::string::String;
use alloc::vec::Vec;
use bincode::{Decode, Encode};
use core::fmt;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::exp::exp_nonpositive;
use crate::scaler::Scaler;
use crate::schema::{FEATURE_NAMES, N_FEATURES};
use crate::validate::{row_in_range, validate_row, Transaction, ValidationError, MAX_ABS_VALUE};

/// Logistic-regression coefficients over *scaled* features.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Encode, Decode)]
pub struct LogisticWeights {
    /// One weight per feature, schema order.
    pub weights: Vec<f64>,
    /// The intercept (bias).
    pub intercept: f64,
}

/// A probability and the decision taken at the model's threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// P(fraud), in [0, 1].
    pub probability: f64,
    /// `probability >= threshold`.
    pub is_fraud: bool,
}

/// One feature's share of a score: `weight · scaled value`, in logit units.
/// Serialises as `{ feature, value, scaled, contribution }` (the HTTP APIs' explanation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Contribution {
    /// Feature name.
    pub feature: &'static str,
    /// The raw input value.
    pub value: f64,
    /// The standardised value `(value - mean) / scale`.
    pub scaled: f64,
    /// `weight · scaled`: positive pushes towards fraud.
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

/// A ready-to-score model: scaler and weights folded together, plus the
/// decision threshold. Immutable once built.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    name: String,
    scaler: Scaler,
    weights: LogisticWeights,
    threshold: f64,
    folded: [f64; N_FEATURES],
    folded_bias: f64,
}

/// Numerically stable logistic function: `exp` only ever sees `-|t|`, so it
/// never overflows, and the branch is a select, so batch loops vectorise.
#[inline(always)]
pub fn sigmoid(t: f64) -> f64 {
    let e = exp_nonpositive(-t.abs());
    let numerator = if t >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

/// The dot product in one fixed evaluation order (four interleaved partial
/// sums, then a fixed reduction). Rust never reassociates or fuses float
/// operations, so this order — and hence every bit — is the same on x86,
/// ARM and wasm, while the four lanes still map onto SIMD registers.
#[inline(always)]
fn dot(w: &[f64; N_FEATURES], x: &[f64; N_FEATURES]) -> f64 {
    let mut acc = [0.0f64; 4];
    for j in 0..7 {
        for (lane, a) in acc.iter_mut().enumerate() {
            let i = 4 * j + lane;
            *a += w[i] * x[i];
        }
    }
    let tail = w[28] * x[28] + w[29] * x[29];
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail
}

fn check_len(what: &'static str, len: usize) -> Result<(), ModelError> {
    if len == N_FEATURES {
        Ok(())
    } else {
        Err(ModelError::WrongLength { what, len })
    }
}

fn check_all(
    what: &'static str,
    values: &[f64],
    ok: impl Fn(f64) -> bool,
    why: &'static str,
) -> Result<(), ModelError> {
    if values.iter().all(|&v| ok(v)) {
        Ok(())
    } else {
        Err(ModelError::BadParameter { what, why })
    }
}

impl Model {
    /// Builds a model, checking every parameter: lengths match the schema,
    /// everything is finite, scales are positive, the threshold is a probability,
    /// and no accepted input (|x| <= [`MAX_ABS_VALUE`]) can overflow a score.
    pub fn new(name: String, scaler: Scaler, weights: LogisticWeights, threshold: f64) -> Result<Model, ModelError> {
        check_len("scaler mean", scaler.mean.len())?;
        check_len("scaler scale", scaler.scale.len())?;
        check_len("weights", weights.weights.len())?;
        check_all("scaler mean", &scaler.mean, f64::is_finite, "must be finite")?;
        check_all("scaler scale", &scaler.scale, |s| s.is_finite() && s > 0.0, "must be finite and positive")?;
        check_all("weights", &weights.weights, f64::is_finite, "must be finite")?;
        if !weights.intercept.is_finite() {
            return Err(ModelError::BadParameter { what: "intercept", why: "must be finite" });
        }
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ModelError::BadParameter { what: "threshold", why: "must be a probability in [0, 1]" });
        }
        let mut folded = [0.0; N_FEATURES];
        let mut folded_bias = weights.intercept;
        for (((f, w), s), m) in folded.iter_mut().zip(&weights.weights).zip(&scaler.scale).zip(&scaler.mean) {
            *f = w / s;
            folded_bias -= *f * m;
        }
        // Bound the largest possible logit so it stays finite (never inf - inf = NaN).
        let bound = folded.iter().fold(folded_bias.abs(), |acc, w| acc + w.abs() * MAX_ABS_VALUE);
        if !bound.is_finite() {
            return Err(ModelError::BadParameter {
                what: "weights / scale",
                why: "too large: some valid inputs would overflow the score",
            });
        }
        Ok(Model { name, scaler, weights, threshold, folded, folded_bias })
    }

    /// Which candidate this is ("baseline", "smote", ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The decision threshold on the probability.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The fitted scaler.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// The coefficients over scaled features.
    pub fn weights(&self) -> &LogisticWeights {
        &self.weights
    }

    /// The same model with another threshold (e.g. an analyst's slider).
    pub fn with_threshold(&self, threshold: f64) -> Result<Model, ModelError> {
        Model::new(self.name.clone(), self.scaler.clone(), self.weights.clone(), threshold)
    }

    /// The log-odds of fraud for a raw (unscaled) row in schema order.
    #[inline]
    pub fn logit(&self, x: &[f64; N_FEATURES]) -> f64 {
        dot(&self.folded, x) + self.folded_bias
    }

    /// P(fraud) for a raw row. The caller guarantees the row is valid
    /// (a [`Transaction`], or a row that passed [`validate_row`]).
    #[inline]
    pub fn probability(&self, x: &[f64; N_FEATURES]) -> f64 {
        sigmoid(self.logit(x))
    }

    /// The decision for a probability.
    #[inline]
    pub fn is_fraud(&self, probability: f64) -> bool {
        probability >= self.threshold
    }

    /// Probability and decision for a validated transaction.
    #[inline]
    pub fn predict(&self, t: &Transaction) -> Prediction {
        let probability = self.probability(&t.0);
        Prediction { probability, is_fraud: self.is_fraud(probability) }
    }

    /// Scores a row-major batch (`rows.len() / 30` rows) into `out`.
    ///
    /// Validation is fused into the scoring loop (each row is read from memory
    /// once, and the check is branch-free); if any row is invalid the error
    /// names the first one and `out` is filled with NaN — never a partial result.
    pub fn score_batch(&self, rows: &[f64], out: &mut [f64]) -> Result<(), BatchError> {
        let (chunks, rest) = rows.as_chunks::<N_FEATURES>();
        if !rest.is_empty() {
            return Err(BatchError::BadLength { len: rows.len() });
        }
        if out.len() != chunks.len() {
            return Err(BatchError::OutputLength { rows: chunks.len(), out: out.len() });
        }
        // Two passes: logits row by row (memory-bound), then the sigmoid over
        // a contiguous array, which the compiler turns into SIMD. Each value
        // goes through exactly the operations `probability` performs.
        let mut all_valid = true;
        for (x, p) in chunks.iter().zip(out.iter_mut()) {
            all_valid &= row_in_range(x);
            *p = self.logit(x);
        }
        for p in out.iter_mut() {
            *p = sigmoid(*p);
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

    /// Every feature's contribution to the logit, largest magnitude first
    /// (ties by schema order), cut to `k`.
    pub fn explain(&self, t: &Transaction, k: usize) -> Vec<Contribution> {
        let mut all: Vec<Contribution> = (0..N_FEATURES)
            .map(|i| {
                let value = t.0[i];
                let scaled = (value - self.scaler.mean[i]) / self.scaler.scale[i];
                Contribution {
                    feature: FEATURE_NAMES[i],
                    value,
                    scaled,
                    contribution: self.weights.weights[i] * scaled,
                }
            })
            .collect();
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
        Model::new("test".to_string(), scaler, weights, threshold).unwrap()
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
            m.scaler().transform_row(&mut z);
            let direct: f64 =
                z.iter().zip(&m.weights().weights).map(|(a, b)| a * b).sum::<f64>() + m.weights().intercept;
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
    fn explanation_sums_to_logit_and_is_sorted() {
        let m = model(0.5);
        let t = Transaction(row(1.5));
        let all = m.explain(&t, 100);
        assert_eq!(all.len(), N_FEATURES);
        let sum: f64 = all.iter().map(|c| c.contribution).sum::<f64>() + m.weights().intercept;
        assert!((sum - m.logit(&t.0)).abs() < 1e-9);
        assert!(all.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
        let top = m.explain(&t, 3);
        assert_eq!(top, all[..3].to_vec());
    }

    #[test]
    fn rejects_bad_parameters() {
        let good = model(0.5);
        let mut s = good.scaler().clone();
        s.scale[3] = 0.0;
        assert!(Model::new("x".into(), s, good.weights().clone(), 0.5).is_err());
        let mut w = good.weights().clone();
        w.weights.pop();
        assert_eq!(
            Model::new("x".into(), good.scaler().clone(), w, 0.5).unwrap_err(),
            ModelError::WrongLength { what: "weights", len: 29 }
        );
        let mut w = good.weights().clone();
        w.intercept = f64::NAN;
        assert!(Model::new("x".into(), good.scaler().clone(), w, 0.5).is_err());
        for t in [-0.1, 1.1, f64::NAN] {
            assert!(good.with_threshold(t).is_err());
        }
        let mut s = good.scaler().clone();
        s.scale[0] = 1e-300;
        assert!(Model::new("x".into(), s, good.weights().clone(), 0.5).is_err(), "overflow-prone fold");
    }
}
