//! The logistic scorer: L2 logistic regression over standardised features.
//!
//! The scaler is folded into the weights once, at construction
//! (`w' = w / scale`, `b' = b - Σ w'·mean`), so scoring a raw row is one dot
//! product. The fold happens here only, so the bits agree on every runtime.

use alloc::vec::Vec;

use crate::model::{Contribution, ModelError};
use crate::scaler::Scaler;
use crate::schema::{FEATURE_NAMES, N_FEATURES};
use crate::validate::MAX_ABS_VALUE;

/// Logistic-regression coefficients over *scaled* features.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticWeights {
    /// One weight per feature, schema order.
    pub weights: Vec<f64>,
    /// The intercept (bias).
    pub intercept: f64,
}

/// A checked logistic scorer with the scaler folded in.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    scaler: Scaler,
    weights: LogisticWeights,
    folded: [f64; N_FEATURES],
    folded_bias: f64,
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

impl Logistic {
    /// Checks every parameter — lengths match the schema, everything is
    /// finite, scales are positive, and no accepted input (|x| <=
    /// [`MAX_ABS_VALUE`]) can overflow a score — and folds the scaler in.
    pub fn new(scaler: Scaler, weights: LogisticWeights) -> Result<Logistic, ModelError> {
        check_len("scaler mean", scaler.mean.len())?;
        check_len("scaler scale", scaler.scale.len())?;
        check_len("weights", weights.weights.len())?;
        check_all("scaler mean", &scaler.mean, f64::is_finite, "must be finite")?;
        check_all("scaler scale", &scaler.scale, |s| s.is_finite() && s > 0.0, "must be finite and positive")?;
        check_all("weights", &weights.weights, f64::is_finite, "must be finite")?;
        if !weights.intercept.is_finite() {
            return Err(ModelError::BadParameter { what: "intercept", why: "must be finite" });
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
        Ok(Logistic { scaler, weights, folded, folded_bias })
    }

    /// The fitted scaler.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// The coefficients over scaled features.
    pub fn weights(&self) -> &LogisticWeights {
        &self.weights
    }

    /// The log-odds of fraud for a raw row.
    #[inline(always)]
    pub fn logit(&self, x: &[f64; N_FEATURES]) -> f64 {
        dot(&self.folded, x) + self.folded_bias
    }

    /// `weight · scaled value` per feature, schema order; they sum with the intercept to the logit.
    pub fn contributions(&self, x: &[f64; N_FEATURES]) -> Vec<Contribution> {
        (0..N_FEATURES)
            .map(|i| {
                let scaled = (x[i] - self.scaler.mean[i]) / self.scaler.scale[i];
                Contribution { feature: FEATURE_NAMES[i], value: x[i], contribution: self.weights.weights[i] * scaled }
            })
            .collect()
    }
}
