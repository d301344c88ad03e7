//! The logistic scorer: L2 logistic regression over standardised features.
//!
//! The scaler is folded into the weights once, at construction
//! (`w' = w / scale`, `b' = b - Σ w'·mean`), so scoring a raw row is one dot
//! product. The fold happens here only, so the bits agree on every runtime.

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

/// A checked logistic scorer with the scaler folded in.
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    scaler: Scaler,
    weights: LogisticWeights,
    folded: Vec<f64>,
    folded_bias: f64,
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
        check_all("scaler mean", &scaler.mean, f64::is_finite, "must be finite")?;
        check_all("scaler scale", &scaler.scale, |s| s.is_finite() && s > 0.0, "must be finite and positive")?;
        check_all("weights", &weights.weights, f64::is_finite, "must be finite")?;
        if !weights.intercept.is_finite() {
            return Err(ModelError::BadParameter { what: "intercept", why: "must be finite" });
        }
        let mut folded = alloc::vec![0.0; n];
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

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.folded.len()
    }

    /// The log-odds of fraud for a raw row (`x.len()` is [`Logistic::n_features`]).
    #[inline(always)]
    pub fn logit(&self, x: &[f64]) -> f64 {
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
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.scaler.mean)
            .zip(&self.scaler.scale)
            .zip(&self.weights.weights)
            .map(|(((x, m), s), w)| w * ((x - m) / s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unrolled_and_the_general_dot_product_agree_bit_for_bit() {
        let w: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin() * 1e3).collect();
        let x: Vec<f64> = (0..30).map(|i| (i as f64 * 1.91).cos() * 7.0 + 1e-7).collect();
        let fixed = dot30(w.as_slice().try_into().unwrap(), x.as_slice().try_into().unwrap());
        assert_eq!(fixed.to_bits(), dot(&w, &x).to_bits());
        for n in [1, 2, 3, 4, 5, 12, 13] {
            let direct: f64 = w[..n].iter().zip(&x[..n]).map(|(a, b)| a * b).sum();
            assert!((dot(&w[..n], &x[..n]) - direct).abs() <= 1e-9 * direct.abs().max(1.0), "{n}");
        }
    }
}
