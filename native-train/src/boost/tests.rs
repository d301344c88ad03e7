//! The booster's tests.

use super::*;

/// A checkerboard in two features (not linearly separable) plus a noise feature.
fn board(n: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * 3);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let (a, b, c): (f64, f64, f64) = (rng.gen(), rng.gen(), rng.gen());
        x.extend([a, b, c]);
        y.push((((a * 4.0) as u32 + (b * 4.0) as u32) % 2) as u8);
    }
    (x, y)
}

fn opts() -> BoostOptions {
    BoostOptions {
        rounds: 1000,
        learning_rate: 0.3,
        min_rows_leaf: 5,
        min_child_hessian: 1e-3,
        neg_fraction: 1.0,
        early_stopping_rounds: 20,
        ..BoostOptions::default()
    }
}

#[test]
fn learns_a_checkerboard_and_stops_early() {
    let (x, y) = board(4000, 1);
    let (xv, yv) = board(1000, 2);
    let (model, report) =
        boost(Rows { x: &x, y: &y, d: 3 }, Rows { x: &xv, y: &yv, d: 3 }, &opts()).expect("valid input");
    let correct = (0..yv.len()).filter(|&i| (model.logit(&xv[i * 3..i * 3 + 3]) > 0.0) == (yv[i] == 1)).count();
    assert!(correct as f64 / yv.len() as f64 > 0.95, "accuracy {correct}/{}", yv.len());
    assert_eq!(model.trees.len(), report.rounds);
    assert!(report.rounds_run < 1000, "early stopping never triggered");
    assert!(report.validation_loss[report.rounds - 1] <= report.validation_loss[0]);
}

#[test]
fn same_seed_same_trees_and_raw_scoring_equals_binned() {
    let (x, y) = board(2000, 3);
    let (xv, yv) = board(500, 4);
    // Column sampling (2 of 3 features per tree) is where the seed shows.
    let o = BoostOptions { rounds: 20, col_fraction: 0.5, ..opts() };
    let rows = Rows { x: &x, y: &y, d: 3 };
    let val = Rows { x: &xv, y: &yv, d: 3 };
    let (a, _) = boost(rows, val, &o).unwrap();
    let (b, _) = boost(rows, val, &o).unwrap();
    assert_eq!(a, b);
    let (c, _) = boost(rows, val, &BoostOptions { seed: 9, ..o.clone() }).unwrap();
    assert!(a != c, "another seed, other trees");
    // The binned walk used in training and the raw `x < threshold` walk agree on every train row.
    let bins = fit_bins(rows, o.max_bins, &[], o.seed);
    for tree in &a.trees {
        for i in 0..y.len() {
            assert_eq!(tree.value_binned(&bins, i), tree.value(&x[i * 3..i * 3 + 3]));
        }
        assert!(tree.leaves.len() <= o.max_leaves && tree.splits.len() + 1 == tree.leaves.len());
    }
}

#[test]
fn bins_cut_exactly_at_data_values() {
    let x: Vec<f64> = vec![3.0, 1.0, 2.0, 2.0, 5.0, 4.0];
    let y = vec![0, 1, 0, 1, 0, 1];
    let bins = fit_bins(Rows { x: &x, y: &y, d: 1 }, 255, &[], 0);
    assert_eq!(bins.cuts[0], vec![2.0, 3.0, 4.0, 5.0]);
    assert_eq!(bins.columns[0], vec![2, 0, 1, 1, 4, 3]);
    let coarse = fit_bins(Rows { x: &x, y: &y, d: 1 }, 2, &[], 0);
    assert_eq!(coarse.cuts[0].len(), 1);
}

#[test]
fn refuses_bad_settings() {
    let (x, y) = board(100, 5);
    let rows = Rows { x: &x, y: &y, d: 3 };
    for bad in [
        BoostOptions { neg_fraction: 0.0, ..opts() },
        BoostOptions { learning_rate: f64::NAN, ..opts() },
        BoostOptions { max_bins: 300, ..opts() },
        BoostOptions { fraud_weight: -1.0, ..opts() },
    ] {
        assert!(boost(rows, rows, &bad).is_err());
    }
    let ones = vec![1u8; 100];
    assert!(boost(Rows { x: &x, y: &ones, d: 3 }, rows, &opts()).is_err());
    assert!(boost(Rows { x: &x[1..], y: &y, d: 3 }, rows, &opts()).is_err());
}

fn fingerprint(e: &Ensemble) -> u64 {
    let mut words = vec![e.base_score.to_bits()];
    for t in &e.trees {
        for s in &t.splits {
            words.extend([s.feature as u64, s.threshold.to_bits(), s.left as u64, s.right as u64, s.cover.to_bits()]);
        }
        words.extend(t.leaves.iter().chain(&t.leaf_covers).map(|v| v.to_bits()));
    }
    words.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &w| (h ^ w).wrapping_mul(0x100_0000_01b3))
}

/// NaN-free numeric data: the very trees of the booster before missing values and categories
/// (the fingerprint was taken from that version), and the same with an all-numeric mask.
#[test]
fn nan_free_numeric_data_gives_the_trees_of_before() {
    let (x, y) = board(3000, 11);
    let (xv, yv) = board(800, 12);
    let o = BoostOptions { rounds: 60, col_fraction: 0.7, neg_fraction: 0.5, max_bins: 32, ..opts() };
    let (rows, val) = (Rows { x: &x, y: &y, d: 3 }, Rows { x: &xv, y: &yv, d: 3 });
    let (e, _) = boost(rows, val, &o).unwrap();
    assert_eq!((fingerprint(&e), e.trees.len()), (0x23325e13cbd7c69, 51));
    let (numeric, _) = boost(rows, val, &BoostOptions { categorical: vec![false; 3], ..o }).unwrap();
    assert_eq!(numeric, e);
}

/// The prior's log-loss on `y` (the best constant).
fn prior_loss(y: &[u8]) -> f64 {
    let p = y.iter().filter(|&&v| v == 1).count() as f64 / y.len() as f64;
    -(p * p.ln() + (1.0 - p) * (1.0 - p).ln())
}

/// Feature 0 is missing for 30% of the rows, which are the risky ones; its values and the others are noise.
fn missing_data(n: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let missing = rng.gen::<f64>() < 0.3;
        let a = if missing { f64::NAN } else { rng.gen() };
        x.extend([a, rng.gen(), rng.gen()]);
        y.push((rng.gen::<f64>() < if missing { 0.9 } else { 0.05 }) as u8);
    }
    (x, y)
}

#[test]
fn learns_from_missingness() {
    let (x, y) = missing_data(6000, 21);
    let (xv, yv) = missing_data(2000, 22);
    let (model, report) = boost(Rows { x: &x, y: &y, d: 3 }, Rows { x: &xv, y: &yv, d: 3 }, &opts()).unwrap();
    let (loss, prior) = (report.validation_loss[report.rounds - 1], prior_loss(&yv));
    eprintln!("missingness: validation log-loss {loss:.4}, prior {prior:.4}");
    assert!(loss < 0.5 * prior, "log-loss {loss} against the prior's {prior}");
    // The first split separates missing from present: every value left, missing right.
    let root = model.trees[0].splits[0];
    assert_eq!((root.feature, root.missing_left, root.threshold), (0, false, f64::MAX));
    let row = |a: f64| [a, 0.5, 0.5];
    assert!(model.logit(&row(f64::NAN)) > 1.0 && model.logit(&row(0.3)) < -1.5);
}

/// Codes `a` in 0..40 and `b` in 0..25 (5% of `a` missing); the pairs of six scattered `a` codes and five
/// scattered `b` codes are risky (3% of the rows); feature 2 is noise.
fn pairs_data(n: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
    const RISKY_A: [u32; 6] = [3, 8, 17, 25, 31, 38];
    const RISKY_B: [u32; 5] = [0, 7, 11, 19, 23];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let (a, b) = (rng.gen_range(0..40u32), rng.gen_range(0..25u32));
        let risky = RISKY_A.contains(&a) && RISKY_B.contains(&b);
        let xa = if rng.gen::<f64>() < 0.05 { f64::NAN } else { a as f64 };
        x.extend([xa, b as f64, rng.gen()]);
        y.push((rng.gen::<f64>() < if risky { 0.8 } else { 0.02 }) as u8);
    }
    (x, y)
}

#[test]
fn category_splits_beat_codes_as_numbers_and_core_agrees() {
    let (x, y) = pairs_data(30_000, 31);
    let (xv, yv) = pairs_data(10_000, 32);
    let (rows, val) = (Rows { x: &x, y: &y, d: 3 }, Rows { x: &xv, y: &yv, d: 3 });
    let o = BoostOptions { learning_rate: 0.1, col_fraction: 1.0, ..opts() };
    let mask = vec![true, true, false];
    let (cat, cat_report) = boost(rows, val, &BoostOptions { categorical: mask.clone(), ..o.clone() }).unwrap();
    let (num, num_report) = boost(rows, val, &o).unwrap();
    let cat_loss = cat_report.validation_loss[cat_report.rounds - 1];
    let num_loss = num_report.validation_loss[num_report.rounds - 1];
    eprintln!("pairs: categorical {cat_loss:.4}, numeric codes {num_loss:.4}, prior {:.4}", prior_loss(&yv));
    assert!(cat_loss < num_loss - 0.005, "categorical {cat_loss} against numeric {num_loss}");
    let sets = cat.trees.iter().flat_map(|t| &t.splits).filter(|s| s.categories.is_some()).count();
    assert!(sets > 0 && cat.trees.iter().flat_map(|t| &t.splits).all(|s| s.categories.is_some() == mask[s.feature]));

    // Core loads the trees with the mask and scores exactly as the booster did during training: the same
    // validation log-loss bits, and the same logit on every row (codes unseen in training included).
    for (model, mask) in [(&cat, &mask), (&num, &vec![false; 3])] {
        let core = fraud_core::Trees::with_kinds(model.to_core(), mask).expect("core loads the trees");
        let logits: Vec<f64> = xv.chunks_exact(3).map(|r| core.logit(r)).collect();
        for (r, &t) in xv.chunks_exact(3).zip(&logits) {
            assert_eq!(t.to_bits(), model.logit(r).to_bits());
        }
        let report = if mask[0] { &cat_report } else { &num_report };
        assert_eq!(log_loss(&logits, &yv).to_bits(), report.validation_loss[report.rounds - 1].to_bits());
        for odd in [[55.0, 24.0, 0.5], [2.5, f64::NAN, 0.1], [f64::NAN, 300.0, f64::NAN]] {
            assert_eq!(core.logit(&odd).to_bits(), model.logit(&odd).to_bits());
        }
    }
    // The binned walk of training agrees with the raw one on the train rows.
    let bins = fit_bins(rows, o.max_bins, &mask, o.seed);
    for tree in cat.trees.iter().take(20) {
        for i in (0..y.len()).step_by(7) {
            assert_eq!(tree.value_binned(&bins, i), tree.value(&x[i * 3..i * 3 + 3]));
        }
    }
}

#[test]
fn refuses_bad_codes_and_masks() {
    let (x, y) = pairs_data(500, 41);
    let rows = Rows { x: &x, y: &y, d: 3 };
    let cat = |mask: Vec<bool>| BoostOptions { categorical: mask, rounds: 2, ..opts() };
    assert!(boost(rows, rows, &cat(vec![true, true, false])).is_ok());
    assert!(boost(rows, rows, &cat(vec![true, true])).is_err(), "a mask of the wrong width");
    assert!(boost(rows, rows, &cat(vec![true, true, true])).is_err(), "fractions are no codes");
    let mut big = x.clone();
    big[1] = 255.0;
    assert!(boost(Rows { x: &big, ..rows }, rows, &cat(vec![true, true, false])).is_err(), "codes stop at 254");
}
