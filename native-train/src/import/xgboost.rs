//! XGBoost's models (`Booster.save_model`, JSON or UBJSON, formats of 1.x,
//! 2.x and 3.x) read exactly.
//!
//! XGBoost's rule (its CPU predictor, for a dense `float64` row): each value
//! is cast to `float`; a NaN goes to the node's default child; otherwise
//! `value < split_condition` (both `float`) goes to the left child, anything
//! else to `left + 1`; the margin is the base margin plus the leaves, summed
//! in `float` in tree order. The base margin is `-logf(1/p - 1)` of the file's
//! `base_score` p (clamped to [1e-6, 1 − 1e-6], as 3.2+ does), in `float`.
//!
//! Core's split is `x < T` on the row's `f64`s: [`split_point`] finds the
//! `T` for which that is exactly `(x as f32) < c`, so the row is never
//! rounded; [`LeafSum::F32`] sums as XGBoost does. Only what is reproduced
//! exactly is imported: `binary:logistic` (or `reg:logistic`) gbtree models
//! with numeric splits and one output; dart, gblinear, categorical splits,
//! multiclass and multi-target models and other objectives are refused by name.

use serde_json::Value;

use fraud_core::trees::{LEAF, MAX_SPLITS_PER_TREE, MAX_TREES};
use fraud_core::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams};

use super::{ImportError, ImportedTrees};

/// The `T` with `x < T` ⟺ `(x as f32) < c` for every finite `f64` x.
pub fn split_point(c: f32) -> f64 {
    // Where rounding to f32 reaches ±infinity: MAX + half an ulp (a tie, which goes to infinity).
    let overflow = f32::MAX as f64 + (f32::MAX as f64 - f32::MAX.next_down() as f64) / 2.0;
    if c.is_nan() || c == f32::NEG_INFINITY {
        // Nothing is below: every value goes right.
        return -f64::MAX;
    }
    if c == f32::INFINITY {
        // Below unless it rounds to +infinity.
        return overflow;
    }
    let below = c.next_down();
    if below == f32::NEG_INFINITY {
        // c is the lowest f32: only values that round to -infinity are below it.
        return (-overflow).next_up();
    }
    // Values below the midpoint round to `below` or lower; the midpoint itself to the even one.
    let mid = (below as f64 + c as f64) / 2.0;
    if mid as f32 == below {
        mid.next_up()
    } else {
        mid
    }
}

fn err(m: impl Into<String>) -> ImportError {
    ImportError::new(m.into())
}

/// A number as XGBoost wrote it: a JSON number, a bare NaN/Infinity word, or
/// a parameter string (`"5E-1"`).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(*b as u8 as f64),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            s => s.trim().parse::<f32>().ok().map(f64::from),
        },
        _ => None,
    }
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Result<&'a Value, ImportError> {
    let mut at = v;
    for (i, key) in path.iter().enumerate() {
        at = at.get(key).ok_or_else(|| err(format!("not an XGBoost model: no `{}`", path[..=i].join("."))))?;
    }
    Ok(at)
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, ImportError> {
    field(v, path)?.as_str().ok_or_else(|| err(format!("`{}` is not a string", path.join("."))))
}

/// A parameter stored as a string of an integer (`"0"`), or absent.
fn int_param(v: &Value, path: &[&str]) -> Result<Option<i64>, ImportError> {
    match field(v, path) {
        Err(_) => Ok(None),
        Ok(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| err(format!("`{}` is not an integer: {s:?}", path.join("."))))
        }
        Ok(Value::Number(n)) => Ok(n.as_i64()),
        Ok(_) => Err(err(format!("`{}` is not an integer", path.join(".")))),
    }
}

/// An array of `n` numbers (`n` checked).
fn numbers(tree: &Value, key: &str, n: usize, t: usize) -> Result<Vec<f64>, ImportError> {
    let a = tree.get(key).and_then(Value::as_array).ok_or_else(|| err(format!("tree {t}: no `{key}` array")))?;
    if a.len() != n {
        return Err(err(format!("tree {t}: `{key}` has {} values for {n} nodes", a.len())));
    }
    a.iter()
        .enumerate()
        .map(|(i, v)| number(v).ok_or_else(|| err(format!("tree {t}: `{key}`[{i}] is not a number"))))
        .collect()
}

fn integers(tree: &Value, key: &str, n: usize, t: usize) -> Result<Vec<i64>, ImportError> {
    numbers(tree, key, n, t)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(err(format!("tree {t}: `{key}`[{i}] is not an integer")))
            }
        })
        .collect()
}

/// Reads a parsed XGBoost model (JSON or UBJSON: the same document).
pub fn read(doc: &Value) -> Result<ImportedTrees, ImportError> {
    let learner = field(doc, &["learner"])?;
    let version = match doc.get("version").and_then(Value::as_array) {
        Some(parts) => parts.iter().filter_map(Value::as_i64).map(|p| p.to_string()).collect::<Vec<_>>().join("."),
        None => String::new(),
    };
    let objective = text(learner, &["objective", "name"])?.to_string();
    if !matches!(objective.as_str(), "binary:logistic" | "reg:logistic") {
        return Err(err(format!(
            "objective {objective:?} is not supported: only binary:logistic (or reg:logistic) models are imported"
        )));
    }
    if let Some(k) = int_param(learner, &["learner_model_param", "num_class"])? {
        if k > 1 {
            return Err(err(format!("a multiclass model (num_class {k}) is not supported")));
        }
    }
    if let Some(k) = int_param(learner, &["learner_model_param", "num_target"])? {
        if k > 1 {
            return Err(err(format!("a multi-target model (num_target {k}) is not supported")));
        }
    }
    let booster = field(learner, &["gradient_booster"])?;
    let booster_name = text(booster, &["name"])?;
    match booster_name {
        "gbtree" => {}
        "dart" => return Err(err("a dart booster is not supported (its trees are weighted)")),
        "gblinear" => return Err(err("a gblinear booster is not supported (a linear model, not trees)")),
        other => return Err(err(format!("booster {other:?} is not supported: only gbtree"))),
    }
    if booster.get("weight_drop").is_some() || booster.pointer("/model/weight_drop").is_some() {
        return Err(err("a dart model (tree weights) is not supported"));
    }
    let model = field(booster, &["model"])?;
    let n_features = int_param(learner, &["learner_model_param", "num_feature"])?
        .ok_or_else(|| err("no learner_model_param.num_feature"))?;
    if !(1..=fraud_core::schema::MAX_FEATURES as i64).contains(&n_features) {
        return Err(err(format!("{n_features} features: a model has 1 to {}", fraud_core::schema::MAX_FEATURES)));
    }
    let n_features = n_features as usize;
    let names: Vec<String> = match learner.get("feature_names").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect(),
        _ => (0..n_features).map(|i| format!("f{i}")).collect(),
    };
    if names.len() != n_features {
        return Err(err(format!("{} feature names for num_feature {n_features}", names.len())));
    }
    if let Some(types) = learner.get("feature_types").and_then(Value::as_array) {
        if let Some(i) = types.iter().position(|t| t.as_str() == Some("c")) {
            return Err(err(format!(
                "feature {:?} is categorical (feature_types \"c\"): categorical splits are not supported",
                names[i]
            )));
        }
    }
    let base_text = text(learner, &["learner_model_param", "base_score"])?;
    let base_score = base_margin(base_text)?;

    let trees_json =
        field(model, &["trees"])?.as_array().ok_or_else(|| err("gradient_booster.model.trees is not an array"))?;
    if trees_json.is_empty() {
        return Err(err("the model has no trees"));
    }
    if trees_json.len() > MAX_TREES {
        return Err(err(format!("{} trees: at most {MAX_TREES}", trees_json.len())));
    }
    if let Some(info) = model.get("tree_info").and_then(Value::as_array) {
        if info.iter().any(|g| number(g) != Some(0.0)) {
            return Err(err("trees for several outputs (tree_info): only one output is supported"));
        }
    }
    // Trees are placed by their `id` (XGBoost's loader does so).
    let mut order: Vec<Option<&Value>> = vec![None; trees_json.len()];
    for (i, t) in trees_json.iter().enumerate() {
        let id = t.get("id").and_then(number).unwrap_or(i as f64);
        let slot = order.get_mut(id as usize).filter(|_| id.fract() == 0.0 && id >= 0.0);
        match slot {
            Some(s @ None) => *s = Some(t),
            _ => return Err(err(format!("tree {i}: id {id} is out of range or repeated"))),
        }
    }
    let mut trees = Vec::with_capacity(order.len());
    let mut leaf_ids = Vec::with_capacity(order.len());
    for (t, tree) in order.into_iter().enumerate() {
        let tree = tree.ok_or_else(|| err(format!("no tree with id {t}")))?;
        let (params, ids) = read_tree(tree, t, n_features)?;
        trees.push(params);
        leaf_ids.push(ids);
    }
    Ok(ImportedTrees {
        ensemble: TreeEnsemble { base_score, trees, category_sets: Vec::new(), leaf_sum: LeafSum::F32 },
        feature_names: names,
        version,
        objective,
        margin_scale: 1.0,
        leaf_ids,
    })
}

/// The base margin of `base_score` (`"5E-1"`, or 3.1+'s `"[5E-1]"`), as XGBoost computes it in `float`.
pub fn base_margin(text: &str) -> Result<f64, ImportError> {
    let inner = text.trim().strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text.trim());
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    if parts.len() != 1 {
        return Err(err(format!("base_score {text:?} has {} values: only one output is supported", parts.len())));
    }
    let p: f32 = parts[0].parse().map_err(|_| err(format!("base_score {text:?} is not a number")))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(err(format!("base_score {text:?} must be a probability for a logistic objective")));
    }
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    Ok((-(1.0f32 / p - 1.0f32).ln()) as f64)
}

/// One tree: its reachable nodes in core's form, and per leaf XGBoost's node id.
fn read_tree(tree: &Value, t: usize, n_features: usize) -> Result<(TreeParams, Vec<u32>), ImportError> {
    if let Some(k) = int_param(tree, &["tree_param", "size_leaf_vector"])? {
        if k > 1 {
            return Err(err(format!("tree {t}: vector leaves (size_leaf_vector {k}, multi-target) are not supported")));
        }
    }
    let n = tree
        .get("left_children")
        .and_then(Value::as_array)
        .map(Vec::len)
        .ok_or_else(|| err(format!("tree {t}: no `left_children` array")))?;
    if n == 0 || n > 2 * MAX_SPLITS_PER_TREE + 1 {
        return Err(err(format!("tree {t}: {n} nodes (a tree has 1 to {})", 2 * MAX_SPLITS_PER_TREE + 1)));
    }
    if let Some(k) = int_param(tree, &["tree_param", "num_nodes"])? {
        if k != n as i64 {
            return Err(err(format!("tree {t}: num_nodes {k} but {n} nodes")));
        }
    }
    let left = integers(tree, "left_children", n, t)?;
    let right = integers(tree, "right_children", n, t)?;
    let feature = integers(tree, "split_indices", n, t)?;
    let cond = numbers(tree, "split_conditions", n, t)?;
    let default_left = integers(tree, "default_left", n, t)?;
    let hess = numbers(tree, "sum_hessian", n, t)?;
    if let Some(types) = tree.get("split_type").and_then(Value::as_array) {
        if let Some(i) = types.iter().position(|v| number(v).is_some_and(|x| x != 0.0)) {
            return Err(err(format!("tree {t} node {i}: a categorical split is not supported")));
        }
    }
    // Depth-first from the root, so pruned (unreachable) nodes are skipped and a cycle is caught.
    let mut splits: Vec<SplitParams> = Vec::new();
    let mut leaves: Vec<LeafParams> = Vec::new();
    let mut leaf_ids: Vec<u32> = Vec::new();
    let mut seen = vec![false; n];
    // (node id, where to write the reference to it: (split index, is right)).
    let mut stack: Vec<(usize, Option<(usize, bool)>)> = vec![(0, None)];
    while let Some((id, parent)) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            return Err(err(format!("tree {t}: node {id} is reached twice (a cycle or a shared subtree)")));
        }
        let reference = if left[id] == -1 {
            let value = cond[id];
            if !value.is_finite() {
                return Err(err(format!("tree {t} node {id}: leaf value {value} is not finite")));
            }
            leaves.push(LeafParams { value, cover: hess[id] });
            leaf_ids.push(id as u32);
            LEAF | (leaves.len() - 1) as u32
        } else {
            let (l, r) = (left[id], right[id]);
            let in_range = |c: i64| (0..n as i64).contains(&c);
            if !in_range(l) || !in_range(r) {
                return Err(err(format!("tree {t} node {id}: child {l} or {r} is out of range")));
            }
            if r != l + 1 {
                // XGBoost goes to `left + 1` for a value and to `right_children` for a missing one.
                return Err(err(format!("tree {t} node {id}: right child {r} is not left child {l} + 1")));
            }
            let f = feature[id];
            if !(0..n_features as i64).contains(&f) {
                return Err(err(format!("tree {t} node {id}: split feature {f} outside the {n_features} features")));
            }
            if splits.len() >= MAX_SPLITS_PER_TREE {
                return Err(err(format!("tree {t}: more than {MAX_SPLITS_PER_TREE} splits")));
            }
            splits.push(SplitParams {
                feature: f as u32,
                threshold: split_point(cond[id] as f32),
                left: 0,
                right: 0,
                cover: hess[id],
                missing_left: default_left[id] != 0,
                categories: None,
                missing_zero: false,
            });
            let me = splits.len() - 1;
            stack.push((r as usize, Some((me, true))));
            stack.push((l as usize, Some((me, false))));
            me as u32
        };
        if let Some((p, is_right)) = parent {
            if is_right {
                splits[p].right = reference;
            } else {
                splits[p].left = reference;
            }
        }
    }
    Ok((TreeParams { splits, leaves }, leaf_ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_point_is_xgboosts_float_rule_for_every_value_near_it() {
        let mut cs = vec![
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            1e-45,
            -1e-45,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            3.0,
            16777216.0,
            0.1,
            -0.1,
            123.456,
            1e-38,
            2.5,
            -2.5,
        ];
        let mut state = 0x1234_5678u32;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let c = f32::from_bits(state);
            if c.is_finite() {
                cs.push(c);
            }
        }
        for c in cs {
            let p = split_point(c);
            let below = c.next_down() as f64;
            let mid = (below + c as f64) / 2.0;
            let mut xs = vec![c as f64, below, mid, p, 0.0, -0.0, 1e300, -1e300];
            for v in [c as f64, mid, p] {
                let (mut a, mut b) = (v, v);
                for _ in 0..3 {
                    a = a.next_up();
                    b = b.next_down();
                    xs.extend([a, b]);
                }
            }
            for x in xs.into_iter().filter(|x| x.is_finite()) {
                assert_eq!(x < p, (x as f32) < c, "c = {c:e}, x = {x:e}, point {p:e}");
            }
        }
        for c in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let p = split_point(c);
            for x in [0.0, 1e38, -1e38, 3.5e38, -3.5e38, f64::MAX, f64::MIN] {
                assert_eq!(x < p, (x as f32) < c, "c = {c}, x = {x:e}");
            }
        }
    }

    #[test]
    fn base_score_in_every_format() {
        assert_eq!(base_margin("5E-1").unwrap(), 0.0);
        assert_eq!(base_margin("[5E-1]").unwrap(), 0.0);
        let p = 0.0017f32;
        assert_eq!(base_margin("[1.7E-3]").unwrap(), (-(1.0f32 / p - 1.0).ln()) as f64);
        assert!(base_margin("[0.1,0.2]").is_err());
        assert!(base_margin("x").is_err());
        assert!(base_margin("1.5").is_err());
        assert!(base_margin("[0E0]").unwrap().is_finite(), "3.2+ clamps");
    }

    /// A two-split XGBoost document, editable as JSON.
    fn doc() -> Value {
        serde_json::json!({
            "version": [3, 2, 0],
            "learner": {
                "objective": {"name": "binary:logistic"},
                "learner_model_param": {"base_score": "[5E-1]", "num_class": "0", "num_feature": "2", "num_target": "1"},
                "feature_names": ["a", "b"],
                "gradient_booster": {"name": "gbtree", "model": {
                    "tree_info": [0],
                    "trees": [{
                        "id": 0,
                        "tree_param": {"num_nodes": "5", "size_leaf_vector": "1"},
                        "left_children": [1, -1, 3, -1, -1],
                        "right_children": [2, -1, 4, -1, -1],
                        "split_indices": [0, 0, 1, 0, 0],
                        "split_conditions": [0.5, -0.25, 1.5, 0.125, 0.75],
                        "default_left": [1, 0, 0, 0, 0],
                        "sum_hessian": [10.0, 4.0, 6.0, 3.0, 3.0],
                        "split_type": [0, 0, 0, 0, 0]
                    }]
                }}
            }
        })
    }

    #[test]
    fn a_small_model_reads_with_its_routes() {
        let m = read(&doc()).unwrap();
        let t = &m.ensemble.trees[0];
        assert_eq!((t.splits.len(), t.leaves.len()), (2, 3));
        assert_eq!(m.ensemble.base_score, 0.0);
        assert_eq!(m.leaf_ids[0], vec![1, 3, 4], "XGBoost's node ids of the leaves, in core's leaf order");
        assert!(t.splits[0].missing_left && !t.splits[1].missing_left);
        assert_eq!(m.ensemble.leaf_sum, LeafSum::F32);
    }

    #[test]
    fn hostile_trees_are_errors_that_say_what() {
        let tree = "/learner/gradient_booster/model/trees/0";
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/left_children", serde_json::json!([1, -1, 1, -1, -1]), "right child"),
            ("/left_children", serde_json::json!([7, -1, 3, -1, -1]), "out of range"),
            ("/right_children", serde_json::json!([3, -1, 4, -1, -1]), "left child"),
            ("/split_indices", serde_json::json!([0, 0, 9, 0, 0]), "outside"),
            ("/split_conditions", serde_json::json!([0.5, "x", 1.5, 0.125, 0.75]), "not a number"),
            ("/split_conditions", serde_json::json!([0.5, "NaN", 1.5, 0.125, 0.75]), "not finite"),
            ("/default_left", serde_json::json!([1, 0]), "values for 5 nodes"),
            ("/sum_hessian", Value::Null, "sum_hessian"),
            ("/split_type", serde_json::json!([1, 0, 0, 0, 0]), "categorical"),
            ("/tree_param/size_leaf_vector", serde_json::json!("3"), "vector leaves"),
            ("/tree_param/num_nodes", serde_json::json!("10000000"), "num_nodes"),
        ];
        for (at, value, words) in cases {
            let mut d = doc();
            *d.pointer_mut(&format!("{tree}{at}")).unwrap() = value;
            let err = read(&d).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(words), "{at}: {err}");
        }
        // A cycle (node 2's children are node 1 and itself).
        let mut d = doc();
        *d.pointer_mut(&format!("{tree}/left_children")).unwrap() = serde_json::json!([1, -1, 1, -1, -1]);
        *d.pointer_mut(&format!("{tree}/right_children")).unwrap() = serde_json::json!([2, -1, 2, -1, -1]);
        let err = read(&d).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("reached twice"), "{err}");
        // Ten million nodes: refused from the arrays' length, before any tree is built.
        let mut d = doc();
        *d.pointer_mut(&format!("{tree}/left_children")).unwrap() = Value::Array(vec![Value::from(-1); 10_000_000]);
        let err = read(&d).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("10000000 nodes"), "{err}");
        for (at, value, words) in [
            ("/learner/objective/name", serde_json::json!("multi:softprob"), "multi:softprob"),
            ("/learner/gradient_booster/name", serde_json::json!("gblinear"), "gblinear"),
            ("/learner/learner_model_param/num_class", serde_json::json!("3"), "multiclass"),
            ("/learner/learner_model_param/base_score", serde_json::json!("[0.1,0.2]"), "one output"),
            ("/learner/gradient_booster/model/tree_info", serde_json::json!([1]), "several outputs"),
            ("/learner/learner_model_param/num_feature", serde_json::json!("0"), "features"),
        ] {
            let mut d = doc();
            *d.pointer_mut(at).unwrap() = value;
            let err = read(&d).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(words), "{at}: {err}");
        }
        assert!(read(&serde_json::json!({"learner": 3})).is_err());
        assert!(read(&serde_json::json!([])).is_err());
    }
}
