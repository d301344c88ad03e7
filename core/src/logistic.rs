//! The logistic scorer: L2 logistic regression over standardised features.
//!
//! The scaler is folded into the weights once, at construction
//! (`w' = w / scale`, `b' = b - Σ w'·mean`), so scoring a raw row is one dot
//! product. The fold happens here only, so the bits agree on every runtime.
//!
//! A model over categorical features or missing values is fitted over
//! *expanded* columns (an [`Expansion`]: one-hot codes, mean-imputed values
//! and missing indicators); a row stays a flat `&[f64]` in schema order, and
//! the scorer adds one precomputed term per schema feature, so scoring is
//! `O(features)`, never `O(expanded width)`, and allocates nothing.

use core::ops::Range;

use alloc::vec::Vec;

use crate::error::ModelError;
use crate::scaler::Scaler;
use crate::schema::MAX_FEATURES;
use crate::validate::{row_in_range, MAX_ABS_VALUE};

/// Logistic-regression coefficients over *scaled* features.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticWeights {
    /// One weight per feature, schema order.
    pub weights: Vec<f64>,
    /// The intercept (bias).
    pub intercept: f64,
}

/// The most expanded columns a logistic model may have.
pub const MAX_EXPANDED_COLUMNS: usize = 8192;

/// How one schema feature becomes the logistic model's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// One column: the value, a missing one replaced by the train mean (the
    /// scaler's mean for that column, so it scales to 0); then, when
    /// `indicator`, a second column: 1 when missing, else 0.
    Numeric {
        /// Whether a missing-indicator column follows the value.
        indicator: bool,
    },
    /// `codes` one-hot columns (code c → column c = 1, the others 0); a
    /// missing value (NaN), or anything but an integer in `0..codes`, → all 0.
    Categorical {
        /// How many codes (and columns).
        codes: u32,
    },
}

impl Column {
    /// How many model columns this feature becomes.
    pub fn width(self) -> usize {
        match self {
            Column::Numeric { indicator } => 1 + usize::from(indicator),
            Column::Categorical { codes } => codes as usize,
        }
    }
}

/// One [`Column`] per schema feature, in schema order.
#[derive(Clone, Debug, PartialEq)]
pub struct Expansion(Vec<Column>);

impl Expansion {
    /// Checks the expansion: 1 to [`MAX_FEATURES`] features, every
    /// categorical one with at least one code, and at most
    /// [`MAX_EXPANDED_COLUMNS`] columns in all.
    pub fn new(columns: Vec<Column>) -> Result<Expansion, ModelError> {
        if columns.is_empty() || columns.len() > MAX_FEATURES {
            return Err(ModelError::BadParameter { what: "expansion", why: "a model has between 1 and 256 features" });
        }
        if columns.contains(&Column::Categorical { codes: 0 }) {
            return Err(ModelError::BadParameter { what: "expansion", why: "a categorical feature needs a code" });
        }
        // Summed in u64: 256 features of u32::MAX codes cannot overflow it (usize is 32 bits on wasm).
        let width: u64 = columns.iter().map(|c| c.width() as u64).sum();
        if width > MAX_EXPANDED_COLUMNS as u64 {
            return Err(ModelError::BadParameter { what: "expansion", why: "more than 8192 model columns" });
        }
        Ok(Expansion(columns))
    }

    /// `n` plain numeric features, one column each: the model [`Logistic::new`] builds.
    pub fn identity(n: usize) -> Expansion {
        Expansion(alloc::vec![Column::Numeric { indicator: false }; n])
    }

    /// One entry per schema feature.
    pub fn columns(&self) -> &[Column] {
        &self.0
    }

    /// The number of model (expanded) columns.
    pub fn width(&self) -> usize {
        self.0.iter().map(|c| c.width()).sum()
    }

    /// True when every feature is one plain numeric column.
    pub fn is_identity(&self) -> bool {
        self.0.iter().all(|c| *c == Column::Numeric { indicator: false })
    }

    /// The model columns of schema feature `feature`, or `None` past the last feature.
    pub fn range(&self, feature: usize) -> Option<Range<usize>> {
        let column = self.0.get(feature)?;
        let start: usize = self.0[..feature].iter().map(|c| c.width()).sum();
        Some(start..start + column.width())
    }
}

/// One schema feature's term of an expanded logit, precomputed at construction.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// Numeric: `weight · x`, or `missing` (`weight · mean`, plus the
    /// indicator's folded weight) when `x` is NaN.
    Value { weight: f64, missing: f64 },
    /// Categorical: the folded weight of column `start + code`, or 0 (every
    /// column 0: in folded form the all-zero row contributes nothing).
    Code { start: usize, codes: u32 },
}

/// The code `x` stands for, when it is an integer in `0..codes`; never panics
/// (NaN, negative, fractional and huge values are `None`).
#[inline(always)]
fn code(x: f64, codes: u32) -> Option<usize> {
    // A saturating cast: NaN → 0 and out-of-range values fail the round trip.
    let c = x as u32;
    (c as f64 == x && c < codes).then_some(c as usize)
}

/// A checked logistic scorer with the scaler folded in.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    scaler: Scaler,
    weights: LogisticWeights,
    /// One per model (expanded) column.
    folded: Vec<f64>,
    folded_bias: f64,
    expansion: Expansion,
    /// One per schema feature; empty for the identity expansion (the plain dot product).
    steps: Vec<Step>,
}

/// The dot product in one fixed evaluation order: four interleaved partial
/// sums over the leading multiple of four, a fixed reduction, then the last
/// one to three products added in order. Rust never reassociates or fuses
/// float operations, so this order — and hence every bit — is the same on
/// x86, ARM and wasm, while the four lanes still map onto SIMD registers.
/// The caller guarantees `w.len() == x.len()`.
#[inline(always)]
fn dot(w: &[f64], x: &[f64]) -> f64 {
    let (w4, w_tail) = w.as_chunks::<4>();
    let (x4, x_tail) = x.as_chunks::<4>();
    let mut acc = [0.0f64; 4];
    for (wc, xc) in w4.iter().zip(x4) {
        for lane in 0..4 {
            acc[lane] += wc[lane] * xc[lane];
        }
    }
    let head = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let mut tail = w_tail.iter().zip(x_tail).map(|(a, b)| a * b);
    match tail.next() {
        Some(first) => head + tail.fold(first, |sum, v| sum + v),
        None => head,
    }
}

/// The same order for the Kaggle file's 30 features, fully unrolled: its
/// rows are the common case and a fixed length lets the compiler drop every
/// loop and bounds check (the same bits as [`dot`]).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
#[inline(always)]
fn dot30(w: &[f64; 30], x: &[f64; 30]) -> f64 {
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

fn check_len(what: &'static str, len: usize, expected: usize) -> Result<(), ModelError> {
    if len == expected {
        Ok(())
    } else {
        Err(ModelError::WrongLength { what, len, expected })
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

/// Checks that every parameter is finite (scales positive) — the lengths are
/// the caller's — and folds the scaler into the weights: `w' = w / scale`,
/// `b' = b - Σ w'·mean`.
fn fold(scaler: &Scaler, weights: &LogisticWeights) -> Result<(Vec<f64>, f64), ModelError> {
    check_all("scaler mean", &scaler.mean, f64::is_finite, "must be finite")?;
    check_all("scaler scale", &scaler.scale, |s| s.is_finite() && s > 0.0, "must be finite and positive")?;
    check_all("weights", &weights.weights, f64::is_finite, "must be finite")?;
    if !weights.intercept.is_finite() {
        return Err(ModelError::BadParameter { what: "intercept", why: "must be finite" });
    }
    let mut folded = alloc::vec![0.0; weights.weights.len()];
    let mut folded_bias = weights.intercept;
    for (((f, w), s), m) in folded.iter_mut().zip(&weights.weights).zip(&scaler.scale).zip(&scaler.mean) {
        *f = w / s;
        folded_bias -= *f * m;
    }
    Ok((folded, folded_bias))
}

impl Logistic {
    /// Checks every parameter — lengths match the schema, everything is
    /// finite, scales are positive, and no accepted input (|x| <=
    /// [`MAX_ABS_VALUE`]) can overflow a score — and folds the scaler in.
    pub fn new(scaler: Scaler, weights: LogisticWeights) -> Result<Logistic, ModelError> {
        let n = weights.weights.len();
        if n == 0 || n > MAX_FEATURES {
            return Err(ModelError::BadParameter { what: "weights", why: "a model has between 1 and 256 features" });
        }
        check_len("scaler mean", scaler.mean.len(), n)?;
        check_len("scaler scale", scaler.scale.len(), n)?;
        let (folded, folded_bias) = fold(&scaler, &weights)?;
        // Bound the largest possible logit so it stays finite (never inf - inf = NaN).
        let bound = folded.iter().fold(folded_bias.abs(), |acc, w| acc + w.abs() * MAX_ABS_VALUE);
        if !bound.is_finite() {
            return Err(ModelError::BadParameter {
                what: "weights / scale",
                why: "too large: some valid inputs would overflow the score",
            });
        }
        let expansion = Expansion::identity(n);
        Ok(Logistic { scaler, weights, folded, folded_bias, expansion, steps: Vec::new() })
    }

    /// A scorer over an [`Expansion`] of the schema's features: `scaler` and
    /// `weights` are over the expanded columns ([`Expansion::width`]; another
    /// length is a [`ModelError::BadParameter`]), with [`Logistic::new`]'s
    /// checks. The identity expansion is exactly [`Logistic::new`].
    pub fn with_expansion(
        scaler: Scaler,
        weights: LogisticWeights,
        expansion: Expansion,
    ) -> Result<Logistic, ModelError> {
        let width = expansion.width();
        if weights.weights.len() != width || scaler.mean.len() != width || scaler.scale.len() != width {
            return Err(ModelError::BadParameter {
                what: "weights / scaler",
                why: "must have one entry per expanded column",
            });
        }
        if expansion.is_identity() {
            return Logistic::new(scaler, weights);
        }
        let (folded, folded_bias) = fold(&scaler, &weights)?;
        let mut steps = Vec::with_capacity(expansion.columns().len());
        // The largest possible |logit|: a value column sees |x| <= MAX_ABS_VALUE
        // or its mean, an indicator or one-hot column at most 1.
        let mut bound = folded_bias.abs();
        let mut start = 0;
        for &column in expansion.columns() {
            match column {
                Column::Numeric { indicator } => {
                    let weight = folded[start];
                    let mean = scaler.mean[start];
                    let mut missing = weight * mean;
                    bound += weight.abs() * MAX_ABS_VALUE.max(mean.abs());
                    if indicator {
                        missing += folded[start + 1];
                        bound += folded[start + 1].abs();
                    }
                    steps.push(Step::Value { weight, missing });
                }
                Column::Categorical { codes } => {
                    let hot = &folded[start..start + codes as usize];
                    bound += hot.iter().fold(0.0f64, |acc, w| acc.max(w.abs()));
                    steps.push(Step::Code { start, codes });
                }
            }
            start += column.width();
        }
        if !bound.is_finite() {
            return Err(ModelError::BadParameter {
                what: "weights / scale",
                why: "too large: some valid inputs would overflow the score",
            });
        }
        Ok(Logistic { scaler, weights, folded, folded_bias, expansion, steps })
    }

    /// How the schema's features become the model's columns.
    pub fn expansion(&self) -> &Expansion {
        &self.expansion
    }

    /// The number of model (expanded) columns: the length of the scaler and weights.
    pub fn expanded_width(&self) -> usize {
        self.folded.len()
    }

    /// The logit over an expansion: the folded bias plus one term per schema
    /// feature, added in schema order (the same bits on every target).
    #[inline(never)]
    fn logit_expanded(&self, x: &[f64]) -> f64 {
        assert!(x.len() == self.steps.len(), "a row of another schema's width");
        let mut sum = 0.0;
        for (step, &v) in self.steps.iter().zip(x) {
            sum += match *step {
                Step::Value { weight, missing } => {
                    if v.is_nan() {
                        missing
                    } else {
                        weight * v
                    }
                }
                Step::Code { start, codes } => match code(v, codes) {
                    Some(c) => self.folded[start + c],
                    None => 0.0,
                },
            };
        }
        sum + self.folded_bias
    }

    /// [`Logistic::contributions`] over an expansion: each feature's columns' shares, summed.
    fn contributions_expanded(&self, x: &[f64]) -> Vec<f64> {
        let (mean, scale, w) = (&self.scaler.mean, &self.scaler.scale, &self.weights.weights);
        let share = |j: usize, z: f64| w[j] * ((z - mean[j]) / scale[j]);
        let mut start = 0;
        let mut out = Vec::with_capacity(self.steps.len());
        for (&column, &v) in self.expansion.columns().iter().zip(x) {
            let missing = v.is_nan();
            out.push(match column {
                Column::Numeric { indicator } => {
                    let value = share(start, if missing { mean[start] } else { v });
                    if indicator {
                        value + share(start + 1, if missing { 1.0 } else { 0.0 })
                    } else {
                        value
                    }
                }
                Column::Categorical { codes } => {
                    let hot = code(v, codes);
                    (0..codes as usize)
                        .fold(0.0, |acc, c| acc + share(start + c, if hot == Some(c) { 1.0 } else { 0.0 }))
                }
            });
            start += column.width();
        }
        out
    }

    /// The fitted scaler.
    pub fn scaler(&self) -> &Scaler {
        &self.scaler
    }

    /// The coefficients over scaled features.
    pub fn weights(&self) -> &LogisticWeights {
        &self.weights
    }

    /// Number of schema features (a row's length).
    pub fn n_features(&self) -> usize {
        self.expansion.columns().len()
    }

    /// The log-odds of fraud for a raw row (`x.len()` is [`Logistic::n_features`]).
    #[inline(always)]
    pub fn logit(&self, x: &[f64]) -> f64 {
        if !self.steps.is_empty() {
            return self.logit_expanded(x);
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let (Ok(w), Ok(x)) = (<&[f64; 30]>::try_from(self.folded.as_slice()), <&[f64; 30]>::try_from(x)) {
            return dot30(w, x) + self.folded_bias;
        }
        assert!(x.len() == self.folded.len(), "a row of another schema's width");
        dot(&self.folded, x) + self.folded_bias
    }

    /// Logits of a row-major batch of `n_features`-wide rows, one per slot of
    /// `out`; true when every row is in range (see [`row_in_range`]). The
    /// check is fused into the scoring loop: each row is read from memory once.
    ///
    /// Natively, rows of the Kaggle file's 30 features take the unrolled
    /// product (the file scorer's millions of rows a second); the browser
    /// build keeps one loop for every width: the same bits, and kilobytes less.
    #[inline]
    pub fn logits_checked(&self, rows: &[f64], out: &mut [f64]) -> bool {
        let mut all_valid = true;
        if !self.steps.is_empty() {
            for (x, p) in rows.chunks_exact(self.steps.len()).zip(out.iter_mut()) {
                all_valid &= row_in_range(x);
                *p = self.logit_expanded(x);
            }
            return all_valid;
        }
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(w) = <&[f64; 30]>::try_from(self.folded.as_slice()) {
            for (x, p) in rows.as_chunks::<30>().0.iter().zip(out.iter_mut()) {
                all_valid &= row_in_range(x);
                *p = dot30(w, x) + self.folded_bias;
            }
            return all_valid;
        }
        for (x, p) in rows.chunks_exact(self.folded.len()).zip(out.iter_mut()) {
            all_valid &= row_in_range(x);
            *p = dot(&self.folded, x) + self.folded_bias;
        }
        all_valid
    }

    /// `weight · scaled value` per feature, schema order; they sum with the intercept to the logit.
    /// Over an expansion, a feature's share is the sum of its columns' (a
    /// missing value's imputed column scales to 0; its indicator and one-hot
    /// columns count too), so explanations name the schema's features.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        if !self.steps.is_empty() {
            return self.contributions_expanded(x);
        }
        x.iter()
            .zip(&self.scaler.mean)
            .zip(&self.scaler.scale)
            .zip(&self.weights.weights)
            .map(|(((x, m), s), w)| w * ((x - m) / s))
            .collect()
    }
}

#[cfg(test)]
#[path = "logistic_tests.rs"]
mod tests;
