//! Core's tree scorer and TreeSHAP against XGBoost's own (`pred_contribs=True`)
//! on a committed fixture (`fixtures/make_treeshap_fixture.py` writes it): the
//! fixture's trees are converted into core's format, then every row's logit and
//! every feature's contribution must match XGBoost's, and the contributions must
//! sum with the expected value to the logit.

use fraud_core::trees::LEAF;
use fraud_core::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams, Trees};

const N_FEATURES: usize = 30;
use serde_json::Value;

/// XGBoost prints float32 values with 9 significant digits: going through f32
/// recovers each exactly.
fn f32_exact(v: &Value) -> f64 {
    v.as_f64().expect("a number") as f32 as f64
}

/// One XGBoost tree (JSON dump with stats) in core's format: splits numbered
/// in preorder from the root, leaves in the order met.
fn convert(node: &Value, tree: &mut TreeParams) -> u32 {
    let cover = f32_exact(&node["cover"]);
    if let Some(value) = node.get("leaf") {
        tree.leaves.push(LeafParams { value: f32_exact(value), cover });
        return LEAF | (tree.leaves.len() - 1) as u32;
    }
    let feature: u32 = node["split"].as_str().unwrap().trim_start_matches('f').parse().unwrap();
    let index = tree.splits.len();
    tree.splits.push(SplitParams {
        feature,
        threshold: f32_exact(&node["split_condition"]),
        left: 0,
        right: 0,
        cover,
        missing_left: true,
        categories: None,
        missing_zero: false,
    });
    let (yes, no) = (node["yes"].as_u64().unwrap(), node["no"].as_u64().unwrap());
    let children = node["children"].as_array().unwrap();
    let child = |id: u64| children.iter().find(|c| c["nodeid"].as_u64() == Some(id)).unwrap();
    // XGBoost sends `x < split_condition` to "yes": core's left.
    let left = convert(child(yes), tree);
    let right = convert(child(no), tree);
    tree.splits[index].left = left;
    tree.splits[index].right = right;
    index as u32
}

#[test]
fn treeshap_and_logits_match_xgboost() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/treeshap_xgboost.json")).unwrap();
    let trees = doc["trees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut tree = TreeParams::default();
            convert(t, &mut tree);
            tree
        })
        .collect();
    let trees = Trees::new(
        TreeEnsemble {
            base_score: doc["base_margin"].as_f64().unwrap(),
            trees,
            category_sets: Vec::new(),
            leaf_sum: LeafSum::F64,
        },
        N_FEATURES,
    )
    .unwrap();
    let rows = doc["rows"].as_array().unwrap();
    let mut worst = (0.0f64, 0.0f64);
    for (r, row) in rows.iter().enumerate() {
        let x: [f64; N_FEATURES] = std::array::from_fn(|j| row[j].as_f64().unwrap());
        // XGBoost sums in float32: agreement to float32 precision.
        let logit = trees.logit(&x);
        let margin = doc["margins"][r].as_f64().unwrap();
        assert!((logit - margin).abs() < 1e-5, "row {r}: logit {logit} vs XGBoost's {margin}");
        let phi = trees.shap(&x);
        let theirs = doc["contribs"][r].as_array().unwrap();
        for (j, &p) in phi.iter().enumerate() {
            let want = theirs[j].as_f64().unwrap();
            worst.0 = worst.0.max((p - want).abs());
            assert!((p - want).abs() < 1e-5, "row {r}, feature {j}: {p} vs XGBoost's {want}");
        }
        // XGBoost's last column is its expected value (base value).
        let bias = theirs[N_FEATURES].as_f64().unwrap();
        worst.1 = worst.1.max((trees.expected_value() - bias).abs());
        assert!((trees.expected_value() - bias).abs() < 1e-5, "expected value {} vs {bias}", trees.expected_value());
        let sum = phi.iter().sum::<f64>() + trees.expected_value();
        assert!((sum - logit).abs() < 1e-9, "row {r}: contributions sum to {sum}, logit {logit}");
    }
    println!(
        "{} rows x {} XGBoost trees: largest |SHAP difference| {:.1e}, expected value {:.1e}",
        rows.len(),
        trees.len(),
        worst.0,
        worst.1
    );
}
