//! The logistic scorer's tests: the dot products, expansions (missing values, one-hot codes), contributions.

use super::*;
use alloc::vec;

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

/// A deterministic pseudo-random value in [-1, 1).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

fn params(width: usize, seed: &mut u64) -> (Scaler, LogisticWeights) {
    let scaler = Scaler {
        mean: (0..width).map(|_| noise(seed) * 3.0).collect(),
        scale: (0..width).map(|_| 0.1 + noise(seed).abs() * 4.0).collect(),
    };
    let weights = LogisticWeights { weights: (0..width).map(|_| noise(seed) * 2.0).collect(), intercept: noise(seed) };
    (scaler, weights)
}

/// Numeric, numeric with indicator, a 4-code categorical, numeric, a 1-code categorical.
fn mixed() -> Expansion {
    Expansion::new(vec![
        Column::Numeric { indicator: false },
        Column::Numeric { indicator: true },
        Column::Categorical { codes: 4 },
        Column::Numeric { indicator: false },
        Column::Categorical { codes: 1 },
    ])
    .unwrap()
}

/// The plain expanded row: imputed values, indicators, one-hot columns.
fn expand(e: &Expansion, scaler: &Scaler, x: &[f64]) -> Vec<f64> {
    let mut z = Vec::new();
    for (&column, &v) in e.columns().iter().zip(x) {
        match column {
            Column::Numeric { indicator } => {
                z.push(if v.is_nan() { scaler.mean[z.len()] } else { v });
                if indicator {
                    z.push(if v.is_nan() { 1.0 } else { 0.0 });
                }
            }
            Column::Categorical { codes } => {
                for c in 0..codes {
                    z.push(if v == c as f64 { 1.0 } else { 0.0 });
                }
            }
        }
    }
    z
}

/// The textbook logit: intercept + Σ w · (z - mean) / scale over the expanded row.
fn naive(scaler: &Scaler, weights: &LogisticWeights, z: &[f64]) -> f64 {
    let mut z = z.to_vec();
    scaler.transform_row(&mut z);
    weights.intercept + z.iter().zip(&weights.weights).map(|(a, b)| a * b).sum::<f64>()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn expansion_widths_ranges_and_identity() {
    let e = mixed();
    assert_eq!(e.width(), 9);
    assert!(!e.is_identity());
    assert_eq!([0, 1, 2, 3, 4].map(|i| e.range(i).unwrap()), [0..1, 1..3, 3..7, 7..8, 8..9]);
    assert_eq!(e.range(5), None);
    let id = Expansion::identity(3);
    assert!(id.is_identity());
    assert_eq!((id.width(), id.columns().len(), id.range(2)), (3, 3, Some(2..3)));
}

#[test]
fn bad_expansions_are_refused() {
    let bad = |columns: Vec<Column>| matches!(Expansion::new(columns), Err(ModelError::BadParameter { .. }));
    assert!(bad(vec![]));
    assert!(bad(vec![Column::Numeric { indicator: true }; MAX_FEATURES + 1]));
    assert!(bad(vec![Column::Numeric { indicator: false }, Column::Categorical { codes: 0 }]));
    assert!(bad(vec![Column::Categorical { codes: u32::MAX }; MAX_FEATURES]));
    assert!(bad(vec![Column::Categorical { codes: 4096 }, Column::Categorical { codes: 4097 }]));
    assert!(Expansion::new(vec![Column::Categorical { codes: 4096 }, Column::Categorical { codes: 4096 }]).is_ok());
}

#[test]
fn the_identity_expansion_is_the_plain_model_bit_for_bit() {
    let mut seed = 7;
    for n in [1, 5, 29, 30, 31] {
        let (scaler, weights) = params(n, &mut seed);
        let plain = Logistic::new(scaler.clone(), weights.clone()).unwrap();
        let same = Logistic::with_expansion(scaler, weights, Expansion::identity(n)).unwrap();
        assert_eq!(plain, same);
        assert_eq!(plain.expansion(), &Expansion::identity(n));
        let rows: Vec<f64> = (0..3 * n).map(|_| noise(&mut seed) * 50.0).collect();
        let (mut a, mut b) = ([0.0; 3], [0.0; 3]);
        assert!(plain.logits_checked(&rows, &mut a) & same.logits_checked(&rows, &mut b));
        for (x, (a, b)) in rows.chunks_exact(n).zip(a.iter().zip(&b)) {
            assert_eq!(plain.logit(x).to_bits(), same.logit(x).to_bits());
            assert_eq!((a.to_bits(), b.to_bits()), (plain.logit(x).to_bits(), plain.logit(x).to_bits()));
        }
    }
}

#[test]
fn bad_widths_are_refused() {
    let mut seed = 3;
    let (scaler, weights) = params(9, &mut seed);
    let refused = |s: &Scaler, w: &LogisticWeights, e: Expansion| {
        matches!(Logistic::with_expansion(s.clone(), w.clone(), e), Err(ModelError::BadParameter { .. }))
    };
    assert!(Logistic::with_expansion(scaler.clone(), weights.clone(), mixed()).is_ok());
    assert!(refused(&scaler, &weights, Expansion::identity(5)));
    assert!(refused(&scaler, &weights, Expansion::identity(10)));
    let (short, _) = params(8, &mut seed);
    assert!(refused(&short, &weights, mixed()));
    let mut w = weights.clone();
    w.weights.push(1.0);
    assert!(refused(&scaler, &w, mixed()));
    let mut w = weights.clone();
    w.weights[4] = f64::NAN;
    assert!(refused(&scaler, &w, mixed()));
    let mut s = scaler.clone();
    s.scale[5] = 0.0;
    assert!(refused(&s, &weights, mixed()));
    let mut s = scaler.clone();
    s.scale[0] = 1e-300;
    assert!(refused(&s, &weights, mixed()));
}

#[test]
fn expanded_logits_equal_the_plain_expanded_dot_product() {
    let mut seed = 11;
    let e = mixed();
    for _ in 0..20 {
        let (scaler, weights) = params(e.width(), &mut seed);
        let m = Logistic::with_expansion(scaler.clone(), weights.clone(), e.clone()).unwrap();
        assert_eq!((m.n_features(), m.expanded_width()), (5, 9));
        let mut rows = Vec::new();
        for _ in 0..16 {
            let missing = |seed: &mut u64| noise(seed) < -0.5;
            for (i, column) in e.columns().iter().enumerate() {
                rows.push(match column {
                    _ if i > 0 && missing(&mut seed) => f64::NAN,
                    Column::Numeric { .. } => noise(&mut seed) * 1e3,
                    Column::Categorical { codes } => libm::floor((noise(&mut seed) + 1.0) / 2.0 * *codes as f64),
                });
            }
        }
        let mut out = [0.0; 16];
        m.logits_checked(&rows, &mut out);
        for (x, p) in rows.chunks_exact(5).zip(&out) {
            let expected = naive(&scaler, &weights, &expand(&e, &scaler, x));
            assert!(close(m.logit(x), expected), "{} vs {expected}", m.logit(x));
            assert_eq!(p.to_bits(), m.logit(x).to_bits());
            let contributions = m.contributions(x);
            assert_eq!(contributions.len(), 5);
            let sum = contributions.iter().sum::<f64>() + m.weights().intercept;
            assert!(close(sum, m.logit(x)), "{sum} vs {}", m.logit(x));
        }
    }
}

#[test]
fn a_missing_value_is_the_mean_plus_its_indicator() {
    let e = Expansion::new(vec![Column::Numeric { indicator: true }, Column::Numeric { indicator: false }]).unwrap();
    let scaler = Scaler { mean: vec![10.0, 0.25, -1.0], scale: vec![2.0, 0.5, 4.0] };
    let weights = LogisticWeights { weights: vec![0.5, 3.0, -2.0], intercept: -1.0 };
    let m = Logistic::with_expansion(scaler, weights, e).unwrap();
    // Present: indicator 0 scales to -0.5, times 3.
    assert!(close(m.logit(&[12.0, 3.0]), -1.0 + 0.5 * 1.0 + 3.0 * -0.5 + -2.0 * 1.0));
    // Missing: the mean scales to 0; the indicator 1 scales to 1.5, times 3.
    assert!(close(m.logit(&[f64::NAN, 3.0]), -1.0 + 3.0 * 1.5 + -2.0 * 1.0));
    assert!(close(m.logit(&[f64::NAN, f64::NAN]), -1.0 + 4.5));
    assert_eq!(m.contributions(&[f64::NAN, f64::NAN]), [4.5, 0.0]);
}

#[test]
fn a_code_sets_its_one_hot_column() {
    let e = Expansion::new(vec![Column::Categorical { codes: 3 }]).unwrap();
    let scaler = Scaler { mean: vec![0.0; 3], scale: vec![1.0; 3] };
    let weights = LogisticWeights { weights: vec![1.0, -2.0, 4.0], intercept: 0.5 };
    let m = Logistic::with_expansion(scaler, weights, e).unwrap();
    assert_eq!([0.0, 1.0, 2.0, f64::NAN].map(|c| m.logit(&[c])), [1.5, -1.5, 4.5, 0.5]);
    assert_eq!(m.contributions(&[2.0]), [4.0]);
}

#[test]
fn hostile_codes_score_as_missing_and_never_panic() {
    let mut seed = 5;
    let e = mixed();
    let (scaler, weights) = params(e.width(), &mut seed);
    let m = Logistic::with_expansion(scaler.clone(), weights.clone(), e.clone()).unwrap();
    let missing = m.logit(&[1.0, 2.0, f64::NAN, 3.0, f64::NAN]);
    for bad in [f64::NAN, -1.0, 1e300, 2.5, 4.0, -0.5, f64::INFINITY, f64::NEG_INFINITY, 4294967296.0, 4294967295.0] {
        let x = [1.0, 2.0, bad, 3.0, bad];
        assert_eq!(m.logit(&x).to_bits(), missing.to_bits(), "{bad}");
        let sum = m.contributions(&x).iter().sum::<f64>() + weights.intercept;
        assert!(close(sum, missing), "{bad}");
        let mut out = [0.0];
        m.logits_checked(&x, &mut out);
        assert_eq!(out[0].to_bits(), missing.to_bits());
    }
    // -0.0 is the integer 0.
    assert_eq!(m.logit(&[1.0, 2.0, -0.0, 3.0, -0.0]), m.logit(&[1.0, 2.0, 0.0, 3.0, 0.0]));
}
