//! A synthetic dataset with the real file's schema and header style, so the
//! whole product runs on a fresh machine without downloading anything.
//!
//! Legitimate rows: `V1..V28` independent normals with decreasing spread (like
//! PCA components), `Amount` log-normal, `Time` increasing over two days.
//! Frauds: a shift along a fixed direction in a dozen components, scaled by a
//! per-row intensity drawn from [0, 1.6) — so strong frauds are easy, weak ones
//! hide among legitimate rows — plus a different amount profile. A logistic
//! model separates them well but far from perfectly (test AP ≈ 0.8, not 1.0).

use fraud_core::N_FEATURES;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;

/// The real file's fraud rate.
pub const DEFAULT_FRAUD_RATE: f64 = 0.00172;
/// The real file's row count.
pub const DEFAULT_ROWS: usize = 284_807;
/// Two days, in seconds, as in the real file.
const SPAN_SECONDS: f64 = 172_800.0;

/// Mean shift of a fraud at intensity 1, in units of each component's spread
/// (signs and sizes loosely follow the real data's most telling components).
const FRAUD_SHIFT: [(usize, f64); 12] = [
    (1, -0.9),
    (2, 0.8),
    (3, -1.3),
    (4, 1.5),
    (7, -1.2),
    (9, -1.0),
    (10, -1.6),
    (11, 1.2),
    (12, -1.5),
    (14, -1.9),
    (16, -1.4),
    (17, -1.6),
];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u: f64 = rng.gen();
    let v: f64 = rng.gen();
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn spread(component: usize) -> f64 {
    // V1 ≈ 1.96 down to V28 ≈ 0.33, like the real PCA spectrum.
    1.96 * (0.33f64 / 1.96).powf((component - 1) as f64 / 27.0)
}

/// Generates `rows` transactions with `fraud_rate` frauds (rounded to a whole
/// count), deterministically for `seed`. Rows are in time order.
pub fn generate(rows: usize, fraud_rate: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let frauds = ((rows as f64 * fraud_rate.clamp(0.0, 1.0)).round() as usize).min(rows);
    let mut y = vec![0u8; rows];
    y[..frauds].fill(1);
    y.shuffle(&mut rng);

    let mut times: Vec<f64> = (0..rows).map(|_| (rng.gen::<f64>() * SPAN_SECONDS).floor()).collect();
    times.sort_by(f64::total_cmp);

    let mut x = Array2::<f64>::zeros((rows, N_FEATURES));
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        row[0] = times[i];
        let fraud = y[i] == 1;
        let intensity = if fraud { rng.gen::<f64>() * 1.6 } else { 0.0 };
        for c in 1..=28 {
            let mut v = normal(&mut rng) * spread(c);
            if fraud {
                if let Some(&(_, shift)) = FRAUD_SHIFT.iter().find(|(k, _)| *k == c) {
                    v += intensity * shift * 2.2 * spread(c);
                }
            }
            // Round like the real file's printed precision.
            row[c] = (v * 1e6).round() / 1e6;
        }
        let amount = if fraud {
            // Frauds: many tiny test charges, some large ones.
            if rng.gen::<f64>() < 0.5 {
                rng.gen::<f64>() * 2.0
            } else {
                (4.0 + 1.2 * normal(&mut rng)).exp()
            }
        } else {
            (3.0 + 1.4 * normal(&mut rng)).exp()
        };
        row[N_FEATURES - 1] = (amount.min(25_000.0) * 100.0).round() / 100.0;
    }
    Dataset { x, y }
}

/// The same data as CSV bytes in the real file's style.
pub fn generate_csv(rows: usize, fraud_rate: f64, seed: u64) -> Vec<u8> {
    let data = generate(rows, fraud_rate, seed);
    let mut out = Vec::with_capacity(rows * 400);
    crate::data::write_csv(&mut out, &data).expect("writing equal-length rows and labels into a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_rate_order_and_determinism() {
        let d = generate(20_000, 0.01, 3);
        assert_eq!(d.x.ncols(), N_FEATURES);
        assert_eq!(d.frauds(), 200);
        assert!(d.x.column(0).windows(2).into_iter().all(|w| w[0] <= w[1]), "time ordered");
        assert_eq!(d, generate(20_000, 0.01, 3));
        assert_ne!(d, generate(20_000, 0.01, 4));
        let csv = generate_csv(100, 0.05, 1);
        assert!(csv.starts_with(b"\"Time\",\"V1\",\"V2\""));
        let parsed: crate::data::Dataset = dataset::parse_csv(&csv).unwrap().into();
        assert_eq!(parsed, generate(100, 0.05, 1));
    }
}
