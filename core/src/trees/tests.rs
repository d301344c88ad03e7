//! The tree scorer's tests: TreeSHAP against the Shapley definition, batch against single rows, the split rule.

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

/// Deterministic rows spread around the example's thresholds.
fn rows(n: usize) -> Vec<[f64; N_FEATURES]> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
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
fn value(tree: &TreeParams, x: &[f64; N_FEATURES], known: &[u32], child: u32) -> f64 {
    if child & LEAF != 0 {
        return tree.leaves[(child & !LEAF) as usize].value;
    }
    let s = &tree.splits[child as usize];
    if known.contains(&s.feature) {
        let next = if x[s.feature as usize] < s.threshold { s.left } else { s.right };
        value(tree, x, known, next)
    } else {
        let l = cover_of(tree, s.left) / s.cover * value(tree, x, known, s.left);
        let r = cover_of(tree, s.right) / s.cover * value(tree, x, known, s.right);
        l + r
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
        trees.params.trees.iter().filter(|t| !t.splits.is_empty()).map(|t| value(t, x, &known, 0)).sum()
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
        splits: vec![
            SplitParams { feature: 14, threshold: 0.0, left: 1, right: LEAF | 2, cover: 100.0 },
            SplitParams { feature: 14, threshold: -3.0, left: LEAF, right: LEAF | 1, cover: 40.0 },
        ],
        leaves: vec![
            LeafParams { value: 2.0, cover: 10.0 },
            LeafParams { value: 0.5, cover: 30.0 },
            LeafParams { value: -1.0, cover: 60.0 },
        ],
    };
    let trees = Trees::new(TreeEnsemble { base_score: 0.25, trees: vec![tree] }, N_FEATURES).unwrap();
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
