//! Standard scaler: `z = (x - mean) / scale`, with scikit-learn's conventions.

use alloc::vec;
use alloc::vec::Vec;

/// Per-feature mean and scale (population standard deviation).
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    /// Per-feature mean of the training rows.
    pub mean: Vec<f64>,
    /// Per-feature population standard deviation; 1 for a constant feature.
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits on row-major `rows` (`n_features` values per row).
    ///
    /// Two passes (mean, then squared deviations) for accuracy. A feature whose
    /// variance is within rounding error of zero gets scale 1, as
    /// scikit-learn's `StandardScaler` does, so constant inputs never divide by zero.
    /// Returns `None` when there are no rows or the slice is ragged.
    pub fn fit(rows: &[f64], n_features: usize) -> Option<Scaler> {
        if n_features == 0 || rows.is_empty() || !rows.len().is_multiple_of(n_features) {
            return None;
        }
        let n = (rows.len() / n_features) as f64;
        let mut sum = vec![0.0; n_features];
        for row in rows.chunks_exact(n_features) {
            for (s, x) in sum.iter_mut().zip(row) {
                *s += x;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut ssd = vec![0.0; n_features];
        for row in rows.chunks_exact(n_features) {
            for ((s, x), m) in ssd.iter_mut().zip(row).zip(&mean) {
                let d = x - m;
                *s += d * d;
            }
        }
        let scale = ssd
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let var = s / n;
                // scikit-learn's `_is_constant_feature` bound on rounding error.
                let eps = f64::EPSILON;
                let bound = n * eps * var + (n * m * eps) * (n * m * eps);
                if var <= bound {
                    1.0
                } else {
                    libm::sqrt(var)
                }
            })
            .collect();
        Some(Scaler { mean, scale })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// True when the scaler has no features.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    /// Scales one row in place.
    pub fn transform_row(&self, row: &mut [f64]) {
        for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *x = (*x - m) / s;
        }
    }

    /// Scales row-major rows in place.
    pub fn transform(&self, rows: &mut [f64]) {
        for row in rows.chunks_exact_mut(self.len()) {
            self.transform_row(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_std_and_constant_feature() {
        // Feature 0: 1, 2, 3, 4 -> mean 2.5, population std sqrt(1.25). Feature 1 constant.
        let rows = [1.0, 7.0, 2.0, 7.0, 3.0, 7.0, 4.0, 7.0];
        let s = Scaler::fit(&rows, 2).unwrap();
        assert_eq!(s.mean, [2.5, 7.0]);
        assert_eq!(s.scale[0], libm::sqrt(1.25));
        assert_eq!(s.scale[1], 1.0);
        let mut r = [4.0, 7.0];
        s.transform_row(&mut r);
        assert_eq!(r, [1.5 / libm::sqrt(1.25), 0.0]);
    }

    #[test]
    fn near_constant_large_values_count_as_constant() {
        let rows = [1e9, 1e9 + 1e-7, 1e9];
        let s = Scaler::fit(&rows, 1).unwrap();
        assert_eq!(s.scale, [1.0]);
    }

    #[test]
    fn rejects_empty_and_ragged() {
        assert!(Scaler::fit(&[], 3).is_none());
        assert!(Scaler::fit(&[1.0, 2.0], 3).is_none());
        assert!(Scaler::fit(&[1.0], 0).is_none());
    }
}
