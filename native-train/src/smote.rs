//! SMOTE with imbalanced-learn's semantics, on scaled training rows only.
//!
//! For each minority row, its `k` nearest minority neighbours (Euclidean,
//! excluding itself). Each synthetic row picks a (row, neighbour) pair
//! uniformly with replacement and a step `u ~ U[0, 1)`, and is
//! `x + u · (neighbour − x)`. The number generated brings the minority count
//! to `ratio · majority count` (imbalanced-learn's float `sampling_strategy`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Why SMOTE cannot run.
#[derive(Debug, PartialEq, Eq)]
pub enum SmoteError {
    /// Fewer minority rows than `k + 1`.
    TooFewMinority {
        /// Minority rows present.
        have: usize,
        /// Neighbours requested.
        k: usize,
    },
}

impl std::fmt::Display for SmoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmoteError::TooFewMinority { have, k } => {
                write!(f, "SMOTE needs more than k={k} fraud rows in the train split, found {have}")
            }
        }
    }
}

impl std::error::Error for SmoteError {}

/// Number of synthetic rows needed for the target ratio (0 if already there).
pub fn synthetic_count(majority: usize, minority: usize, ratio: f64) -> usize {
    ((ratio * majority as f64) as usize).saturating_sub(minority)
}

/// Indices (into `minority`, row-major rows of `width` values) of each row's
/// `k` nearest neighbours, nearest first, ties by index; the row itself is excluded.
pub fn nearest_neighbours(minority: &[f64], width: usize, k: usize) -> Vec<Vec<usize>> {
    minority
        .chunks_exact(width)
        .enumerate()
        .map(|(i, a)| {
            let mut d: Vec<(f64, usize)> = minority
                .chunks_exact(width)
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, b)| (a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>(), j))
                .collect();
            let k = k.min(d.len());
            if k < d.len() {
                d.select_nth_unstable_by(k, |x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                d.truncate(k);
            }
            d.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            d.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

/// Appends `count` synthetic minority rows (row-major) to `out`, from the
/// scaled minority rows (row-major, `width` values each). Appending lets the
/// caller grow the train matrix in place instead of holding a second copy of it.
pub fn smote(
    minority: &[f64],
    width: usize,
    k: usize,
    count: usize,
    seed: u64,
    out: &mut Vec<f64>,
) -> Result<(), SmoteError> {
    let rows = minority.len() / width.max(1);
    if rows <= k || k == 0 {
        return Err(SmoteError::TooFewMinority { have: rows, k });
    }
    let neighbours = nearest_neighbours(minority, width, k);
    let row = |i: usize| &minority[i * width..(i + 1) * width];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    out.reserve(count * width);
    for _ in 0..count {
        let pair = rng.gen_range(0..rows * k);
        let (base, nn) = (pair / k, neighbours[pair / k][pair % k]);
        let u: f64 = rng.gen();
        let (x, n) = (row(base), row(nn));
        out.extend(x.iter().zip(n).map(|(a, b)| a + u * (b - a)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_FEATURES: usize = 30;

    fn flat(points: &[[f64; N_FEATURES]]) -> Vec<f64> {
        points.as_flattened().to_vec()
    }

    fn points(n: usize) -> Vec<[f64; N_FEATURES]> {
        (0..n)
            .map(|i| {
                let mut p = [0.0; N_FEATURES];
                p[0] = (i * i) as f64 * 0.37;
                p[1] = (i % 5) as f64;
                p[7] = -(i as f64);
                p
            })
            .collect()
    }

    #[test]
    fn counts_follow_imblearn() {
        assert_eq!(synthetic_count(1000, 10, 1.0), 990);
        assert_eq!(synthetic_count(1000, 10, 0.5), 490);
        assert_eq!(synthetic_count(1000, 600, 0.5), 0);
    }

    #[test]
    fn neighbours_exclude_self_and_are_nearest() {
        let pts = points(12);
        let nn = nearest_neighbours(&flat(&pts), N_FEATURES, 5);
        for (i, list) in nn.iter().enumerate() {
            assert_eq!(list.len(), 5);
            assert!(!list.contains(&i));
            let dist = |j: usize| pts[i].iter().zip(&pts[j]).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
            let farthest_in = list.iter().map(|&j| dist(j)).fold(0.0, f64::max);
            for j in (0..12).filter(|j| *j != i && !list.contains(j)) {
                assert!(dist(j) >= farthest_in, "row {i}: {j} is nearer than a chosen neighbour");
            }
        }
    }

    #[test]
    fn synthetic_rows_lie_on_segments_to_neighbours_and_are_seeded() {
        let pts = points(20);
        let k = 5;
        let nn = nearest_neighbours(&flat(&pts), N_FEATURES, k);
        let run = |seed| {
            let mut out = vec![];
            smote(&flat(&pts), N_FEATURES, k, 500, seed, &mut out).unwrap();
            out
        };
        let out = run(9);
        assert_eq!(out.len(), 500 * N_FEATURES);
        assert_eq!(out, run(9));
        assert_ne!(out, run(10));
        for s in out.chunks_exact(N_FEATURES) {
            // Some (base, neighbour, u) must reproduce this row.
            let found = (0..pts.len()).any(|b| {
                nn[b].iter().any(|&n| {
                    let (x, y) = (&pts[b], &pts[n]);
                    let j = (0..N_FEATURES).find(|&j| (y[j] - x[j]).abs() > 1e-9).unwrap();
                    let u = (s[j] - x[j]) / (y[j] - x[j]);
                    (0.0..1.0).contains(&u) && (0..N_FEATURES).all(|f| (x[f] + u * (y[f] - x[f]) - s[f]).abs() < 1e-9)
                })
            });
            assert!(found, "synthetic row not on a base→neighbour segment");
        }
    }

    #[test]
    fn too_few_minority_rows_is_an_error() {
        assert_eq!(
            smote(&flat(&points(5)), N_FEATURES, 5, 10, 0, &mut vec![]),
            Err(SmoteError::TooFewMinority { have: 5, k: 5 })
        );
    }
}
