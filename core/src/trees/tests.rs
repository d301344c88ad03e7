//! The tree scorer's tests: TreeSHAP against the Shapley definition (missing
//! values and category splits included), batch against single rows, the
//! split rule, missing values, category sets and the checks on load.

use super::shap::cover_of;
use super::*;
use crate::artifact::{Artifact, ModelParams};

const N_FEATURES: usize = 30;

fn example() -> Trees {
    match Artifact::example_trees().params {
        ModelParams::Trees(e) => Trees::new(e, N_FEATURES).unwrap(),
        ModelParams::Logistic { .. } => unreachable!("example_trees holds trees"),
    }
}

/// A deterministic generator of uniforms in [0, 1).
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Deterministic rows spread around the example's thresholds.
fn rows(n: usize) -> Vec<[f64; N_FEATURES]> {
    let mut next = uniforms(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|_| {
            let mut x = [0.0; N_FEATURES];
            for v in x.iter_mut() {
                *v = next() * 10.0 - 5.0;
            }
            x[29] = next() * 300.0;
            x
        })
        .collect()
}

/// The path-dependent value of a feature subset: features in `known` follow
/// the row, the others are averaged over by cover fractions.
fn value(tree: &TreeParams, sets: &[CategorySet], x: &[f64; N_FEATURES], known: &[u32], child: u32) -> f64 {
    if child & LEAF != 0 {
        return tree.leaves[(child & !LEAF) as usize].value;
    }
    let s = &tree.splits[child as usize];
    if known.contains(&s.feature) {
        let next = if goes_right(s, sets, x[s.feature as usize]) { s.right } else { s.left };
        value(tree, sets, x, known, next)
    } else {
        let l = cover_of(tree, s.left) / s.cover * value(tree, sets, x, known, s.left);
        let r = cover_of(tree, s.right) / s.cover * value(tree, sets, x, known, s.right);
        l + r
    }
}

/// The split rule written out independently of the scorer's: NaN by
/// `missing_left`, a code by membership (an integer in 0..256 whose bit is
/// set), a number by `<`.
fn goes_right(s: &SplitParams, sets: &[CategorySet], v: f64) -> bool {
    if v.is_nan() {
        return !s.missing_left;
    }
    match s.categories {
        Some(c) => {
            let words = sets[c as usize].0;
            !(0..256u32).any(|k| k as f64 == v && words[k as usize / 64] & (1u64 << (k % 64)) != 0)
        }
        None => v >= s.threshold, // v is not NaN here
    }
}

/// Shapley values from their definition, over every subset of the features the ensemble uses.
fn brute_force(trees: &Trees, x: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
    let mut used: Vec<u32> = trees.params.trees.iter().flat_map(|t| t.splits.iter().map(|s| s.feature)).collect();
    used.sort_unstable();
    used.dedup();
    let m = used.len();
    let fact = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let v = |mask: usize| -> f64 {
        let known: Vec<u32> = (0..m).filter(|&i| mask & (1 << i) != 0).map(|i| used[i]).collect();
        let sets = &trees.params.category_sets;
        trees.params.trees.iter().filter(|t| !t.splits.is_empty()).map(|t| value(t, sets, x, &known, 0)).sum()
    };
    let mut phi = [0.0; N_FEATURES];
    for (i, &f) in used.iter().enumerate() {
        for mask in 0..(1usize << m) {
            if mask & (1 << i) != 0 {
                continue;
            }
            let size = mask.count_ones() as usize;
            let weight = fact(size) * fact(m - size - 1) / fact(m);
            phi[f as usize] += weight * (v(mask | (1 << i)) - v(mask));
        }
    }
    phi
}

#[test]
fn treeshap_equals_the_shapley_definition_and_sums_to_the_logit() {
    let trees = example();
    for x in rows(500) {
        let phi = trees.shap(&x);
        let want = brute_force(&trees, &x);
        for f in 0..N_FEATURES {
            assert!((phi[f] - want[f]).abs() < 1e-12, "feature {f}: {} vs {}", phi[f], want[f]);
        }
        let sum = phi.iter().sum::<f64>() + trees.expected_value();
        assert!((sum - trees.logit(&x)).abs() < 1e-9, "{sum} vs {}", trees.logit(&x));
    }
}

#[test]
fn a_feature_split_twice_on_a_path_is_handled() {
    // V14 < 0 ? (V14 < -3 ? a : b) : c — the second split unwinds the path.
    let tree = TreeParams {
        splits: vec![num(14, 0.0, 1, LEAF | 2, 100.0), num(14, -3.0, LEAF, LEAF | 1, 40.0)],
        leaves: vec![
            LeafParams { value: 2.0, cover: 10.0 },
            LeafParams { value: 0.5, cover: 30.0 },
            LeafParams { value: -1.0, cover: 60.0 },
        ],
    };
    let trees = Trees::new(
        TreeEnsemble { base_score: 0.25, trees: vec![tree], category_sets: Vec::new(), leaf_sum: LeafSum::F64 },
        N_FEATURES,
    )
    .unwrap();
    for x in rows(200) {
        let phi = trees.shap(&x);
        let want = brute_force(&trees, &x);
        assert!((phi[14] - want[14]).abs() < 1e-12);
        assert!((phi.iter().sum::<f64>() + trees.expected_value() - trees.logit(&x)).abs() < 1e-12);
    }
}

#[test]
fn batch_logits_equal_single_logits_bit_for_bit() {
    let trees = example();
    let xs = rows(1000);
    let mut out = vec![0.0; xs.len()];
    trees.logits(xs.as_flattened(), &mut out);
    for (x, got) in xs.iter().zip(&out) {
        assert_eq!(got.to_bits(), trees.logit(x).to_bits());
    }
}

#[test]
fn splits_send_equal_values_right() {
    let trees = example();
    let mut x = [0.0; N_FEATURES];
    x[14] = -2.5; // not < -2.5: right, leaf -0.5
    x[29] = 100.0; // not < 100: right subtree
    x[12] = 0.0; // not < -1: leaf -0.25
    assert_eq!(trees.logit(&x), -4.5 + -0.5 + -0.25 + -0.0625);
}

/// A numeric split whose missing values go left (the formats before missing values).
fn num(feature: u32, threshold: f64, left: u32, right: u32, cover: f64) -> SplitParams {
    SplitParams { feature, threshold, left, right, cover, missing_left: true, categories: None, missing_zero: false }
}

/// A category split on set `set`.
fn cat(feature: u32, set: u32, left: u32, right: u32, cover: f64, missing_left: bool) -> SplitParams {
    SplitParams {
        feature,
        threshold: 0.0,
        left,
        right,
        cover,
        missing_left,
        categories: Some(set),
        missing_zero: false,
    }
}

fn leaf(value: f64, cover: f64) -> LeafParams {
    LeafParams { value, cover }
}

/// Features 3 and 7 categorical, the rest numeric.
fn kinds() -> [bool; N_FEATURES] {
    let mut k = [false; N_FEATURES];
    k[3] = true;
    k[7] = true;
    k
}

/// An ensemble with category splits (feature 3 split twice on a path),
/// missing values sent both ways, nine trees (so both the eight-way and the
/// rest walks of a row run) and consistent covers.
fn categorical() -> Trees {
    let a = TreeParams {
        // f3 ∈ {0, 2, 5} (NaN right) ? (V14 < 0, NaN right ? a : b) : (f7 ∈ {1} (NaN left) ? c : d)
        splits: vec![
            cat(3, 0, 1, 2, 1000.0, false),
            SplitParams { missing_left: false, ..num(14, 0.0, LEAF, LEAF | 1, 400.0) },
            cat(7, 1, LEAF | 2, LEAF | 3, 600.0, true),
        ],
        leaves: vec![leaf(0.5, 100.0), leaf(-0.25, 300.0), leaf(1.25, 50.0), leaf(-0.75, 550.0)],
    };
    let b = TreeParams {
        // Amount < 100 (NaN right) ? (f3 ∈ {1, 2} ? (f3 ∈ {2, 6} ? e : f) : g) : h
        splits: vec![
            SplitParams { missing_left: false, ..num(29, 100.0, 1, LEAF | 3, 1000.0) },
            cat(3, 2, 2, LEAF | 2, 700.0, true),
            cat(3, 3, LEAF, LEAF | 1, 200.0, false),
        ],
        leaves: vec![leaf(2.0, 80.0), leaf(0.125, 120.0), leaf(-0.5, 500.0), leaf(0.375, 300.0)],
    };
    let c = TreeParams {
        // V4 < 3 (NaN left) ? (f7 ∈ {0, 3, 200} ? i : j) : k
        splits: vec![num(4, 3.0, 1, LEAF | 2, 1000.0), cat(7, 4, LEAF, LEAF | 1, 800.0, false)],
        leaves: vec![leaf(-1.5, 100.0), leaf(0.25, 700.0), leaf(0.625, 200.0)],
    };
    let stump = TreeParams { splits: vec![], leaves: vec![leaf(-0.0625, 1000.0)] };
    let category_sets = vec![
        CategorySet::from_codes([0, 2, 5]),
        CategorySet::from_codes([1]),
        CategorySet::from_codes([1, 2]),
        CategorySet::from_codes([2, 6]),
        CategorySet::from_codes([0, 3, 200]),
    ];
    let trees = vec![a.clone(), b.clone(), c.clone(), stump.clone(), a, b, c, stump.clone(), stump];
    Trees::with_kinds(TreeEnsemble { base_score: -4.5, trees, category_sets, leaf_sum: LeafSum::F64 }, &kinds())
        .unwrap()
}

/// Rows for [`categorical`]: codes in and out of range, integer or not, and a
/// NaN in about one value in six (the first block of 64 rows has none).
fn mixed_rows(n: usize) -> Vec<[f64; N_FEATURES]> {
    let odd = [-1.0, 256.0, 2.5, 1e300, f64::INFINITY, f64::NEG_INFINITY, -0.0, 7.0, 255.0, 200.0, 4294967296.0];
    let mut next = uniforms(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|r| {
            let mut x = [0.0; N_FEATURES];
            for (f, v) in x.iter_mut().enumerate() {
                *v = match f {
                    3 | 7 if next() < 0.2 => odd[(next() * odd.len() as f64) as usize],
                    3 | 7 => (next() * 7.0) as u32 as f64,
                    29 => next() * 300.0,
                    _ => next() * 10.0 - 5.0,
                };
                if r >= 64 && next() < 1.0 / 6.0 {
                    *v = f64::NAN;
                }
            }
            x
        })
        .collect()
}

#[test]
fn treeshap_with_missing_values_and_category_splits_equals_the_shapley_definition() {
    let trees = categorical();
    assert!(trees.has_categorical());
    for x in mixed_rows(600) {
        let phi = trees.shap(&x);
        let want = brute_force(&trees, &x);
        for f in 0..N_FEATURES {
            assert!((phi[f] - want[f]).abs() < 1e-12, "feature {f}: {} vs {} for {x:?}", phi[f], want[f]);
        }
        let sum = phi.iter().sum::<f64>() + trees.expected_value();
        assert!((sum - trees.logit(&x)).abs() < 1e-9, "{sum} vs {}", trees.logit(&x));
    }
}

#[test]
fn treeshap_with_missing_values_on_numeric_trees_equals_the_shapley_definition() {
    // The example with its V14 split sending NaN right: a NaN row takes the general walk.
    let mut e = example().params().clone();
    e.trees[0].splits[0].missing_left = false;
    let trees = Trees::new(e, N_FEATURES).unwrap();
    for x in mixed_rows(300) {
        let phi = trees.shap(&x);
        let want = brute_force(&trees, &x);
        for f in 0..N_FEATURES {
            assert!((phi[f] - want[f]).abs() < 1e-12, "feature {f}: {} vs {}", phi[f], want[f]);
        }
        assert!((phi.iter().sum::<f64>() + trees.expected_value() - trees.logit(&x)).abs() < 1e-9);
    }
}

/// Every row's leaves by the independent split rule, summed in tree order.
fn reference_logit(trees: &Trees, x: &[f64]) -> f64 {
    let p = trees.params();
    p.trees.iter().fold(p.base_score, |acc, t| {
        let mut child = if t.splits.is_empty() { LEAF } else { 0 };
        while child & LEAF == 0 {
            let s = &t.splits[child as usize];
            child = if goes_right(s, &p.category_sets, x[s.feature as usize]) { s.right } else { s.left };
        }
        acc + t.leaves[(child & !LEAF) as usize].value
    })
}

#[test]
fn batch_equals_single_bit_for_bit_with_and_without_nan_and_category_splits() {
    let mut nan_right = example().params().clone();
    nan_right.trees[1].splits[2].missing_left = false;
    let ensembles = [example(), Trees::new(nan_right, N_FEATURES).unwrap(), categorical()];
    let xs = mixed_rows(1000);
    assert!(xs[..64].iter().all(|x| x.iter().all(|v| !v.is_nan())));
    assert!(xs[64..].iter().any(|x| x.iter().any(|v| v.is_nan())));
    for trees in &ensembles {
        let mut out = vec![0.0; xs.len()];
        trees.logits(xs.as_flattened(), &mut out);
        for (x, got) in xs.iter().zip(&out) {
            let single = trees.logit(x);
            assert_eq!(got.to_bits(), single.to_bits(), "{x:?}");
            assert_eq!(single.to_bits(), reference_logit(trees, x).to_bits(), "{x:?}");
        }
    }
}

#[test]
fn batch_equals_single_at_another_width() {
    // Seven features (the slice path of the batch), feature 2 categorical.
    let tree = TreeParams {
        splits: vec![
            SplitParams { missing_left: false, ..num(0, 0.5, 1, 2, 10.0) },
            cat(2, 0, LEAF, LEAF | 1, 6.0, false),
            num(6, 0.25, LEAF | 2, LEAF | 3, 4.0),
        ],
        leaves: vec![leaf(1.0, 2.0), leaf(2.0, 4.0), leaf(4.0, 1.0), leaf(8.0, 3.0)],
    };
    let e = TreeEnsemble {
        base_score: 0.5,
        trees: vec![tree; 11],
        category_sets: vec![CategorySet::from_codes([1, 3])],
        leaf_sum: LeafSum::F64,
    };
    let mut kinds = [false; 7];
    kinds[2] = true;
    let trees = Trees::with_kinds(e, &kinds).unwrap();
    let mut next = uniforms(7);
    let xs: Vec<f64> = (0..7 * 300)
        .map(|_| match next() {
            u if u < 0.15 => f64::NAN,
            u => (u * 5.0).floor(),
        })
        .collect();
    let mut out = vec![0.0; 300];
    trees.logits(&xs, &mut out);
    for (x, got) in xs.chunks_exact(7).zip(&out) {
        assert_eq!(got.to_bits(), trees.logit(x).to_bits());
        assert_eq!(got.to_bits(), reference_logit(&trees, x).to_bits());
    }
}

#[test]
fn a_missing_value_goes_where_its_split_says() {
    let ensemble = |missing_left: bool| TreeEnsemble {
        base_score: 0.0,
        trees: vec![TreeParams {
            splits: vec![SplitParams { missing_left, ..num(1, 0.0, LEAF, LEAF | 1, 2.0) }],
            leaves: vec![leaf(-1.0, 1.0), leaf(1.0, 1.0)],
        }],
        category_sets: Vec::new(),
        leaf_sum: LeafSum::F64,
    };
    let mut x = [0.0, f64::NAN, 0.0];
    for (missing_left, want) in [(true, -1.0), (false, 1.0)] {
        let trees = Trees::new(ensemble(missing_left), 3).unwrap();
        assert_eq!(trees.logit(&x), want);
        let mut out = [0.0; 3];
        trees.logits(&[x, x, x].concat(), &mut out);
        assert_eq!(out, [want; 3]);
        assert_eq!(trees.shap(&x)[1], want, "the expected value is 0, all of it feature 1");
    }
    // A categorical missing value follows missing_left too.
    x[1] = f64::NAN;
    for (missing_left, want) in [(true, -1.0), (false, 1.0)] {
        let e = TreeEnsemble {
            base_score: 0.0,
            trees: vec![TreeParams {
                splits: vec![cat(1, 0, LEAF, LEAF | 1, 2.0, missing_left)],
                leaves: vec![leaf(-1.0, 1.0), leaf(1.0, 1.0)],
            }],
            category_sets: vec![CategorySet::from_codes(0..256)],
            leaf_sum: LeafSum::F64,
        };
        let trees = Trees::with_kinds(e, &[false, true, false]).unwrap();
        assert_eq!(trees.logit(&x), want);
        assert_eq!(trees.shap(&x)[1], want);
    }
}

#[test]
fn codes_out_of_range_or_not_integers_go_right() {
    let all = CategorySet::from_codes(0..300);
    assert_eq!(all.codes().count(), MAX_CATEGORY_CODES, "codes of 256 and more are ignored");
    for v in [0.0, -0.0, 1.0, 63.0, 64.0, 255.0] {
        assert!(all.contains(v), "{v}");
    }
    let weird = [
        -1.0,
        -0.5,
        0.5,
        255.5,
        256.0,
        1e300,
        -1e300,
        4294967296.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::EPSILON,
    ];
    for v in weird {
        assert!(!all.contains(v), "{v}");
    }
    let e = TreeEnsemble {
        base_score: 0.0,
        trees: vec![TreeParams {
            splits: vec![cat(0, 0, LEAF, LEAF | 1, 2.0, true)],
            leaves: vec![leaf(-1.0, 1.0), leaf(1.0, 1.0)],
        }],
        category_sets: vec![all],
        leaf_sum: LeafSum::F64,
    };
    let trees = Trees::with_kinds(e, &[true]).unwrap();
    for v in weird.into_iter().filter(|v| !v.is_nan()) {
        assert_eq!(trees.logit(&[v]), 1.0, "{v}");
        assert_eq!(trees.shap(&[v]), [1.0]);
    }
    assert_eq!(trees.logit(&[7.0]), -1.0);
    // Any bits at all: no panic, and batch and single agree.
    let mut next = uniforms(3);
    let xs: Vec<f64> = (0..500).map(|_| f64::from_bits((next() * (1u64 << 53) as f64) as u64 * 2047)).collect();
    let cat = categorical();
    let rows: Vec<f64> = xs.iter().cycle().take(N_FEATURES * 400).copied().collect();
    let mut out = vec![0.0; 400];
    cat.logits(&rows, &mut out);
    for (x, got) in rows.chunks_exact(N_FEATURES).zip(&out) {
        assert_eq!(got.to_bits(), cat.logit(x).to_bits());
        let _ = cat.shap(x);
    }
}

#[test]
fn category_sets_round_trip_their_codes() {
    let mut set = CategorySet::from_codes([0, 63, 64, 200, 255, 256, 1000]);
    set.insert(5);
    set.insert(u32::MAX);
    assert_eq!(set.codes().collect::<Vec<_>>(), [0, 5, 63, 64, 200, 255]);
    assert_eq!(set.0[0], 1 | 1 << 5 | 1 << 63);
    assert_eq!(CategorySet::default().codes().count(), 0);
}

#[test]
fn with_kinds_refuses_splits_of_the_wrong_kind_and_sets_out_of_range() {
    let why = |r: Result<Trees, ModelError>| match r {
        Err(ModelError::BadParameter { why, .. }) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let one = |s: SplitParams, sets: usize| TreeEnsemble {
        base_score: 0.0,
        trees: vec![TreeParams { splits: vec![s], leaves: vec![leaf(1.0, 1.0), leaf(2.0, 1.0)] }],
        category_sets: vec![CategorySet::from_codes([1]); sets],
        leaf_sum: LeafSum::F64,
    };
    let c = cat(1, 0, LEAF, LEAF | 1, 2.0, true);
    assert_eq!(why(Trees::new(one(c, 1), 3)), "a category split on a numeric feature");
    assert_eq!(why(Trees::with_kinds(one(c, 1), &[true, false, true])), "a category split on a numeric feature");
    assert_eq!(
        why(Trees::with_kinds(one(num(1, 0.0, LEAF, LEAF | 1, 2.0), 0), &[false, true])),
        "a numeric split on a categorical feature"
    );
    assert_eq!(why(Trees::with_kinds(one(c, 0), &[false, true])), "category set index out of range");
    let far = SplitParams { categories: Some(u32::MAX), ..c };
    assert_eq!(why(Trees::with_kinds(one(far, 1), &[false, true])), "category set index out of range");
    assert_eq!(why(Trees::with_kinds(one(c, 1), &[false, true, false][..1])), "feature index outside the schema");
    assert_eq!(why(Trees::with_kinds(one(c, 1), &[])), "a model has between 1 and 256 features");
    assert_eq!(why(Trees::with_kinds(one(c, 1), &[true; 257])), "a model has between 1 and 256 features");
    let ok = Trees::with_kinds(one(c, 1), &[false, true]).unwrap();
    assert!(ok.has_categorical());
    assert_eq!(ok.category_sets(), [CategorySet::from_codes([1])]);
    assert!(!example().has_categorical());
}

/// One tree per leaf value, each a single split on feature 0 at 0.5.
fn stumps(values: &[f64], leaf_sum: LeafSum, base_score: f64) -> TreeEnsemble {
    TreeEnsemble {
        base_score,
        trees: values
            .iter()
            .map(|&v| TreeParams {
                splits: vec![num(0, 0.5, LEAF, LEAF | 1, 2.0)],
                leaves: vec![leaf(v, 1.0), leaf(-v, 1.0)],
            })
            .collect(),
        category_sets: Vec::new(),
        leaf_sum,
    }
}

#[test]
fn an_f32_ensemble_rounds_every_partial_sum_to_f32() {
    // Values whose f64 and f32 sums differ: 1 + 2^-30 + 2^-30 is 1 in f32, not in f64.
    let tiny = (2.0f64).powi(-30);
    let values = [tiny, tiny, 0.1f32 as f64, 1e-3f32 as f64];
    let base = 1.0;
    let f32_trees = Trees::new(stumps(&values, LeafSum::F32, base), 2).unwrap();
    let f64_trees = Trees::new(stumps(&values, LeafSum::F64, base), 2).unwrap();
    let want32 = values.iter().fold(base as f32, |acc, &v| acc + v as f32) as f64;
    let want64 = values.iter().fold(base, |acc, &v| acc + v);
    assert_ne!(want32, want64, "the example must tell the sums apart");
    let x = [0.0, 0.0];
    assert_eq!(f32_trees.logit(&x), want32);
    assert_eq!(f64_trees.logit(&x), want64);
    // Eight interleaved rows and the batch path: the same bits.
    let many: Vec<f64> = (0..9 * 2).map(|_| 0.0).collect();
    let mut out = [0.0; 9];
    f32_trees.logits(&many, &mut out);
    assert_eq!(out, [want32; 9]);
    // Twenty trees take the eight-at-once single-row walk too.
    let twenty: Vec<f64> = (0..20).map(|i| (0.37 * i as f64) as f32 as f64).collect();
    let t = Trees::new(stumps(&twenty, LeafSum::F32, 0.25), 2).unwrap();
    assert_eq!(t.logit(&x), twenty.iter().fold(0.25f32, |a, &v| a + v as f32) as f64);
}

#[test]
fn an_f32_ensemble_refuses_values_that_are_not_f32() {
    let err = Trees::new(stumps(&[0.1], LeafSum::F32, 0.0), 2).unwrap_err();
    assert!(alloc::format!("{err}").contains("f32"), "{err}");
    assert!(Trees::new(stumps(&[0.5], LeafSum::F32, 0.1), 2).is_err(), "the base score too");
    assert!(Trees::new(stumps(&[0.1], LeafSum::F64, 0.1), 2).is_ok());
}

#[test]
fn a_zero_as_missing_split_sends_the_zero_band_the_missing_way() {
    // x < -1 goes left by threshold; zero and NaN go right (missing right) in the band.
    let split = SplitParams { missing_left: false, missing_zero: true, ..num(0, -1.0, LEAF, LEAF | 1, 2.0) };
    let e = TreeEnsemble {
        base_score: 0.0,
        trees: vec![TreeParams { splits: vec![split], leaves: vec![leaf(-1.0, 1.0), leaf(1.0, 1.0)] }],
        category_sets: Vec::new(),
        leaf_sum: LeafSum::F64,
    };
    let t = Trees::new(e.clone(), 1).unwrap();
    for (v, want) in
        [(0.0, 1.0), (-0.0, 1.0), (ZERO_BAND, 1.0), (-ZERO_BAND, 1.0), (f64::NAN, 1.0), (-2.0, -1.0), (3.0, 1.0)]
    {
        assert_eq!(t.logit(&[v]), want, "x = {v:e}");
        assert_eq!(t.leaf_indices(&[v]), vec![if want < 0.0 { 0 } else { 1 }]);
    }
    // Missing left: the band goes left although 0 >= -1.
    let mut left = e;
    left.trees[0].splits[0].missing_left = true;
    let t = Trees::new(left, 1).unwrap();
    let rows = [0.0, 1e-36, -1e-36, 2e-35, f64::NAN, -5.0, 5.0];
    let want = [-1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0];
    let mut out = [0.0; 7];
    t.logits(&rows, &mut out);
    assert_eq!(out, want);
    for (x, w) in rows.iter().zip(want) {
        assert_eq!(t.logit(&[*x]), w);
        assert_eq!(t.shap(&[*x])[0] + t.expected_value(), w, "TreeSHAP routes the band alike");
    }
}

#[test]
fn leaf_indices_name_the_leaf_each_tree_reaches() {
    let trees = example();
    for x in rows(200) {
        let idx = trees.leaf_indices(&x);
        let sum = idx
            .iter()
            .zip(&trees.params().trees)
            .fold(trees.params().base_score, |acc, (&i, t)| acc + t.leaves[i as usize].value);
        assert_eq!(sum, trees.logit(&x));
    }
}
