//! Core's tree scorer and TreeSHAP against XGBoost's own (`pred_contribs=True`)
//! with missing values and category (partition) splits, on a committed fixture
//! (`fixtures/make_treeshap_tabular_fixture.py` writes it): the fixture's trees
//! are converted into core's format (each split's missing-value direction, each
//! category split's set), then every row's logit and every feature's
//! contribution must match XGBoost's, and the contributions must sum with the
//! expected value to the logit. The rows hold NaNs in every feature and every
//! category code. The numeric-only companion is `treeshap_xgboost.rs`.

use fraud_core::trees::{CategorySet, LEAF};
use fraud_core::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams, Trees};
use serde_json::Value;

/// XGBoost prints float32 values with 9 significant digits: going through f32
/// recovers each exactly.
fn f32_exact(v: &Value) -> f64 {
    v.as_f64().expect("a number") as f32 as f64
}

/// One XGBoost tree (JSON dump with stats) in core's format: splits numbered
/// in preorder from the root, leaves in the order met; category sets appended
/// to `sets`.
///
/// XGBoost's `"yes"` child is where the split's condition holds: `x <
/// split_condition` for a numeric split, `x in split_condition` (a list of
/// categories) for a category split. (For the latter the dump's "yes" is the
/// node's *right* child: in XGBoost listed categories go right; see
/// `JsonGenerator::Categorical` in src/tree/tree_model.cc.) Core sends `x <
/// threshold` and codes in the set left, so "yes" is core's left in both
/// cases, with the same set. `"missing"` is the default child: core's
/// `missing_left` when it is "yes".
fn convert(node: &Value, tree: &mut TreeParams, sets: &mut Vec<CategorySet>) -> u32 {
    let cover = f32_exact(&node["cover"]);
    if let Some(value) = node.get("leaf") {
        tree.leaves.push(LeafParams { value: f32_exact(value), cover });
        return LEAF | (tree.leaves.len() - 1) as u32;
    }
    let feature: u32 = node["split"].as_str().unwrap().trim_start_matches('f').parse().unwrap();
    let (yes, no, missing) =
        (node["yes"].as_u64().unwrap(), node["no"].as_u64().unwrap(), node["missing"].as_u64().unwrap());
    assert!(missing == yes || missing == no, "missing child {missing} is neither yes {yes} nor no {no}");
    let condition = &node["split_condition"];
    let (threshold, categories) = match condition.as_array() {
        Some(codes) => {
            sets.push(CategorySet::from_codes(codes.iter().map(|c| c.as_u64().unwrap() as u32)));
            (0.0, Some((sets.len() - 1) as u32))
        }
        None => (f32_exact(condition), None),
    };
    let index = tree.splits.len();
    tree.splits.push(SplitParams {
        feature,
        threshold,
        left: 0,
        right: 0,
        cover,
        missing_left: missing == yes,
        categories,
        missing_zero: false,
    });
    let children = node["children"].as_array().unwrap();
    let child = |id: u64| children.iter().find(|c| c["nodeid"].as_u64() == Some(id)).unwrap();
    let left = convert(child(yes), tree, sets);
    let right = convert(child(no), tree, sets);
    tree.splits[index].left = left;
    tree.splits[index].right = right;
    index as u32
}

#[test]
fn treeshap_and_logits_match_xgboost_with_missing_values_and_category_splits() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/treeshap_xgboost_tabular.json")).unwrap();
    let n_features = doc["n_features"].as_u64().unwrap() as usize;
    let mut categorical = vec![false; n_features];
    for f in doc["categorical"].as_array().unwrap() {
        categorical[f.as_u64().unwrap() as usize] = true;
    }
    let mut category_sets = Vec::new();
    let trees: Vec<TreeParams> = doc["trees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut tree = TreeParams::default();
            convert(t, &mut tree, &mut category_sets);
            tree
        })
        .collect();
    // The fixture exercises both cases: category splits, and missing values sent either way.
    let splits = || trees.iter().flat_map(|t| &t.splits);
    let n_category = splits().filter(|s| s.categories.is_some()).count();
    let n_missing_right = splits().filter(|s| !s.missing_left).count();
    let n_category_missing_right = splits().filter(|s| s.categories.is_some() && !s.missing_left).count();
    assert!(n_category > 0 && n_missing_right > 0, "the fixture has no category split or no missing value sent right");
    let trees = Trees::with_kinds(
        TreeEnsemble { base_score: doc["base_margin"].as_f64().unwrap(), trees, category_sets, leaf_sum: LeafSum::F64 },
        &categorical,
    )
    .unwrap();
    assert!(trees.has_categorical());

    let rows: Vec<Vec<f64>> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
        .collect();
    assert!((0..n_features).all(|j| rows.iter().any(|x| x[j].is_nan())), "some feature is never missing");
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let mut batch = vec![0.0; rows.len()];
    trees.logits(&flat, &mut batch);

    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for (r, x) in rows.iter().enumerate() {
        assert_eq!(x.len(), n_features);
        // XGBoost sums in float32: agreement to float32 precision.
        let logit = trees.logit(x);
        assert_eq!(logit.to_bits(), batch[r].to_bits(), "row {r}: batch logit {} vs {logit}", batch[r]);
        let margin = doc["margins"][r].as_f64().unwrap();
        worst.0 = worst.0.max((logit - margin).abs());
        assert!((logit - margin).abs() < 1e-5, "row {r}: logit {logit} vs XGBoost's {margin}");
        let phi = trees.contributions(x);
        let theirs = doc["contribs"][r].as_array().unwrap();
        assert_eq!(theirs.len(), n_features + 1);
        for (j, &p) in phi.iter().enumerate() {
            let want = theirs[j].as_f64().unwrap();
            worst.1 = worst.1.max((p - want).abs());
            assert!((p - want).abs() < 1e-5, "row {r}, feature {j} (value {}): {p} vs XGBoost's {want}", x[j]);
        }
        // XGBoost's last column is its expected value (base value).
        let bias = theirs[n_features].as_f64().unwrap();
        worst.2 = worst.2.max((trees.expected_value() - bias).abs());
        assert!((trees.expected_value() - bias).abs() < 1e-5, "expected value {} vs {bias}", trees.expected_value());
        let sum = phi.iter().sum::<f64>() + trees.expected_value();
        assert!((sum - logit).abs() < 1e-9, "row {r}: contributions sum to {sum}, logit {logit}");
    }
    println!(
        "{} rows x {} XGBoost trees ({n_category} category splits, {n_missing_right} sending missing values right, \
         {n_category_missing_right} of them category splits): largest |logit difference| {:.1e}, \
         |SHAP difference| {:.1e}, expected value {:.1e}",
        rows.len(),
        trees.len(),
        worst.0,
        worst.1,
        worst.2
    );
}
