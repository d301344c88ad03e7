//! The training reference a server watches drift against: quantile bins of
//! each input (fitted on the train split) and of the served probability
//! (fitted on validation: a boosted model's scores on its own train rows are
//! sharper than anything it will see live, and would read as drift), with the
//! fraud base rate and the expected flagged rate; and the population
//! stability index (PSI) of what was served against them.
//!
//! A model that takes missing values (format 5) adds one bin per input for
//! them: its reference share is the input's missing rate on train, the other
//! bins share the rest. A categorical input's bins are its categories (codes):
//! the most frequent each alone, the rest together, and "other" (rare in
//! training or never seen) alone — so a flood of unseen categories shows.
//!
//! Bins are kept here, beside the artifact that carries them, so every
//! runtime bins a value the same way; the window of recent traffic is the
//! runtime's business (the native server's `/metrics`).

use alloc::vec::Vec;

use crate::error::ModelError;

/// Quantile bins per monitored value.
pub const DRIFT_BINS: usize = 10;
/// The share a bin is given when empty, so the PSI stays finite (a common choice: 1e-4).
pub const PSI_FLOOR: f64 = 1e-4;

/// One value's bins: ascending interior cut points and the share of the
/// reference that fell in each bin (`edges.len() + 1` shares).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bins {
    /// Interior cut points, strictly ascending; bin `k` holds `edges[k-1] <= x < edges[k]`.
    pub edges: Vec<f64>,
    /// Reference share per bin (sums to 1).
    pub shares: Vec<f64>,
}

impl Bins {
    /// Quantile bins of `values` (sorted in place): at most [`DRIFT_BINS`],
    /// fewer when ties make cut points coincide.
    pub fn fit(values: &mut [f64]) -> Bins {
        values.sort_unstable_by(f64::total_cmp);
        let n = values.len();
        let mut edges: Vec<f64> = Vec::with_capacity(DRIFT_BINS - 1);
        for k in 1..DRIFT_BINS {
            let Some(&quantile) = values.get(k * n / DRIFT_BINS) else { break };
            // Ties (a mass at one value) would repeat a cut point: the next
            // distinct value up starts the next bin instead.
            let floor = edges.last().copied().unwrap_or(values[0]);
            let above = values.partition_point(|&v| v <= floor);
            match values.get(above) {
                Some(&next) => edges.push(quantile.max(next)),
                None => break,
            }
        }
        let mut counts = alloc::vec![0u64; edges.len() + 1];
        for &v in values.iter() {
            counts[bin_of(&edges, v)] += 1;
        }
        let shares = counts.iter().map(|&c| c as f64 / n.max(1) as f64).collect();
        Bins { edges, shares }
    }

    /// Bins of a categorical input's codes (`0..=other`; codes are numbered
    /// most frequent first): one per code when there are at most
    /// [`DRIFT_BINS`], else the 8 most frequent alone, the rest but "other"
    /// together, and "other" alone.
    pub fn categories(codes: &[f64], other: usize) -> Bins {
        let edges: Vec<f64> = if other < DRIFT_BINS {
            (0..other).map(|k| k as f64 + 0.5).collect()
        } else {
            (0..DRIFT_BINS - 2).map(|k| k as f64 + 0.5).chain([other as f64 - 0.5]).collect()
        };
        let mut counts = alloc::vec![0u64; edges.len() + 1];
        for &v in codes {
            counts[bin_of(&edges, v)] += 1;
        }
        let n = codes.len().max(1) as f64;
        let mut shares: Vec<f64> = counts.iter().map(|&c| c as f64 / n).collect();
        if codes.is_empty() {
            // No present value in train: any value is a change; keep the shares a distribution.
            shares[0] = 1.0;
        }
        Bins { edges, shares }
    }

    /// The bin of `x`.
    #[inline]
    pub fn bin(&self, x: f64) -> usize {
        bin_of(&self.edges, x)
    }

    /// Number of bins.
    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// Never true for checked bins (there is always one bin).
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }

    /// PSI of observed bin `counts` against the reference shares:
    /// `Σ (o − e) · ln(o / e)`, shares floored at [`PSI_FLOOR`]. 0 when nothing was observed.
    pub fn psi(&self, counts: &[u64]) -> f64 {
        // No missing bin: its share and count are 0, so its term is 0 and the others are unscaled.
        self.psi_with_missing(counts, 0, 0.0)
    }

    /// PSI with a bin for missing values: `counts` of the present ones per
    /// bin, `missing` of the missing ones, against the reference shares scaled
    /// to `1 − expected` and `expected` (the train missing rate) for missing.
    pub fn psi_with_missing(&self, counts: &[u64], missing: u64, expected: f64) -> f64 {
        let total = counts.iter().sum::<u64>() + missing;
        if total == 0 {
            return 0.0;
        }
        let term = |e: f64, c: u64| {
            let (e, o) = (e.max(PSI_FLOOR), (c as f64 / total as f64).max(PSI_FLOOR));
            (o - e) * libm::log(o / e)
        };
        let present: f64 = self.shares.iter().zip(counts).map(|(&e, &c)| term(e * (1.0 - expected), c)).sum();
        present + term(expected, missing)
    }

    fn check(&self) -> Result<(), ModelError> {
        let ascending = self.edges.windows(2).all(|w| w[0] < w[1]);
        let sum: f64 = self.shares.iter().sum();
        let ok = self.shares.len() == self.edges.len() + 1
            && self.shares.len() <= DRIFT_BINS
            && ascending
            && self.edges.iter().all(|e| e.is_finite())
            && self.shares.iter().all(|s| (0.0..=1.0).contains(s))
            && (sum - 1.0).abs() < 1e-6;
        if ok {
            Ok(())
        } else {
            Err(ModelError::BadParameter {
                what: "drift reference",
                why: "bins need ascending finite edges and one share per bin summing to 1",
            })
        }
    }
}

fn bin_of(edges: &[f64], x: f64) -> usize {
    edges.partition_point(|&e| e <= x)
}

/// What live traffic is compared with.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DriftReference {
    /// One per input, schema order (train split).
    pub features: Vec<Bins>,
    /// The served probability (validation split).
    pub score: Bins,
    /// Fraud rate of the train split.
    pub base_rate: f64,
    /// Share of validation transactions the served policy refuses.
    pub flagged_rate: f64,
    /// Per input, its missing rate on train, for a model that takes missing
    /// values (format 5: the artifact's feature rates); empty otherwise.
    pub missing: Vec<f64>,
}

impl DriftReference {
    /// Checks the shapes and values against a schema of `n_features` inputs.
    pub fn check(&self, n_features: usize) -> Result<(), ModelError> {
        if self.features.len() != n_features {
            return Err(ModelError::WrongLength {
                what: "drift reference",
                len: self.features.len(),
                expected: n_features,
            });
        }
        for b in self.features.iter().chain([&self.score]) {
            b.check()?;
        }
        if !((0.0..=1.0).contains(&self.base_rate) && (0.0..=1.0).contains(&self.flagged_rate)) {
            return Err(ModelError::BadParameter { what: "drift reference", why: "rates must be in [0, 1]" });
        }
        let missing_ok = self.missing.is_empty()
            || (self.missing.len() == n_features && self.missing.iter().all(|m| (0.0..=1.0).contains(m)));
        if !missing_ok {
            return Err(ModelError::BadParameter {
                what: "drift reference",
                why: "one missing rate in [0, 1] per input, or none",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_bin_their_own_data_evenly_and_psi_sees_a_shift() {
        let mut values: Vec<f64> = (0..10_000).map(|i| (i as f64 * 0.7).sin() * 100.0).collect();
        let bins = Bins::fit(&mut values.clone());
        assert_eq!(bins.len(), DRIFT_BINS);
        assert!(bins.shares.iter().all(|s| (s - 0.1).abs() < 0.002), "{:?}", bins.shares);
        let mut same = alloc::vec![0u64; bins.len()];
        let mut shifted = alloc::vec![0u64; bins.len()];
        for v in values.iter_mut() {
            same[bins.bin(*v)] += 1;
            shifted[bins.bin(*v * 3.0)] += 1;
        }
        assert!(bins.psi(&same) < 1e-3, "{}", bins.psi(&same));
        assert!(bins.psi(&shifted) > 0.25, "{}", bins.psi(&shifted));
        assert_eq!(bins.psi(&[0; DRIFT_BINS]), 0.0);
        assert!(bins.check().is_ok());
    }

    #[test]
    fn ties_keep_their_own_bin_and_edges_ascend() {
        let mut values = alloc::vec![0.0; 900];
        values.extend((0..100).map(|i| i as f64));
        let bins = Bins::fit(&mut values);
        assert!(bins.check().is_ok(), "{bins:?}");
        assert_eq!(bins.bin(0.0), 0);
        assert!((bins.shares[0] - 0.901).abs() < 1e-12, "the zeros are one bin: {bins:?}");
        assert_eq!(bins.bin(1.0), 1);
        let constant = Bins::fit(&mut [5.0; 10]);
        assert_eq!((constant.edges.len(), constant.shares.as_slice()), (0, &[1.0][..]));
    }

    #[test]
    fn bad_references_are_refused() {
        let good = Bins::fit(&mut (0..100).map(f64::from).collect::<Vec<_>>());
        let mut r = DriftReference {
            features: alloc::vec![good.clone(); 3],
            score: good,
            base_rate: 0.01,
            flagged_rate: 0.02,
            missing: alloc::vec![],
        };
        assert!(r.check(3).is_ok());
        assert!(r.check(4).is_err());
        r.features[1].edges.reverse();
        assert!(r.check(3).is_err());
        r.features[1].edges.reverse();
        r.score.shares[0] += 0.5;
        assert!(r.check(3).is_err());
    }

    #[test]
    fn categories_get_their_own_bins_and_other_stays_alone() {
        let codes: Vec<f64> = (0..1000).map(|i| (i % 4) as f64).collect();
        let few = Bins::categories(&codes, 3);
        assert_eq!(few.edges, alloc::vec![0.5, 1.5, 2.5]);
        assert!(few.shares.iter().all(|s| (s - 0.25).abs() < 1e-12));
        let many = Bins::categories(&[0.0, 9.0, 30.0, 40.0], 40);
        assert_eq!(many.len(), DRIFT_BINS);
        assert_eq!(many.bin(7.0), 7);
        assert_eq!(many.bin(9.0), 8);
        assert_eq!(many.bin(39.0), 8);
        assert_eq!(many.bin(40.0), 9, "other alone");
        assert!(many.check().is_ok() && few.check().is_ok());
        assert!(Bins::categories(&[], 0).check().is_ok());
    }

    #[test]
    fn missing_values_are_a_bin_of_their_own() {
        let bins = Bins::categories(&[0.0, 1.0], 1);
        // Train: 20 % missing, the rest half and half.
        assert!(bins.psi_with_missing(&[40, 40], 20, 0.2) < 1e-12);
        assert!(bins.psi_with_missing(&[25, 25], 50, 0.2) > 0.25, "missing rate up to 50 %");
        assert!(bins.psi_with_missing(&[10, 10], 1, 0.0) > 0.0, "missing where train never was");
        assert_eq!(bins.psi_with_missing(&[0, 0], 0, 0.2), 0.0);
    }
}
