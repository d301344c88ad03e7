//! LightGBM's text model (`version=v4`, `Booster.save_model`) read exactly.
//!
//! LightGBM's rule, for a dense row of `f64`s (`Booster.predict`): a value
//! with `|x| <= kZeroThreshold` (`1e-35f` as a double) is read as `0.0`; then
//! per node, by its missing type (`decision_type` bits 2–3), NaN becomes 0.0
//! unless the type is NaN; a Zero-type node sends `|x| <= kZeroThreshold`
//! (so NaN too) its default way, a NaN-type node sends NaN its default way;
//! otherwise `x <= threshold` (a double) goes left. Leaves are summed in
//! `f64` from 0 in tree order, which is core's [`LeafSum::F64`] with base 0.
//!
//! Core's split is `x < T` with NaN its `missing_left` way, and
//! [`SplitParams::missing_zero`] for Zero-type nodes: [`split_point`] finds the
//! `T` for which `x < T` is exactly LightGBM's decision for every non-missing `x`.

use fraud_core::trees::{LEAF, ZERO_BAND};
use fraud_core::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams};

use super::{ImportError, ImportedTrees};

/// `decision_type` bits.
const CATEGORICAL: i64 = 1;
const DEFAULT_LEFT: i64 = 2;

/// Missing types (`decision_type >> 2 & 3`).
const MISSING_NONE: i64 = 0;
const MISSING_ZERO: i64 = 1;
const MISSING_NAN: i64 = 2;

/// The `T` with `x < T` ⟺ LightGBM's `x' <= t`, where `x'` is `x` with the
/// zero band read as 0 (for every finite `x` below `f64::MAX`, far beyond the
/// `1e12` every runtime accepts; NaN is routed separately).
pub fn split_point(t: f64) -> f64 {
    let z = ZERO_BAND;
    let up = |v: f64| if v >= f64::MAX { f64::MAX } else { v.next_up() };
    if t.is_nan() {
        // `x <= NaN` is false: every value goes right.
        -f64::MAX
    } else if t >= z || t < -z {
        // The band is wholly on one side of t, as 0 is.
        up(t)
    } else if t < 0.0 {
        // -z <= t < 0: the band reads as 0 > t (right); below it, left.
        -z
    } else {
        // 0 <= t < z: the band reads as 0 <= t (left); above it, right.
        up(z)
    }
}

/// One `key=value` block: the header or a tree.
struct Block<'a> {
    /// Where the block starts (1-based line), for errors.
    line: usize,
    name: String,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Block<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn need(&self, key: &str) -> Result<&'a str, ImportError> {
        self.get(key).ok_or_else(|| ImportError::new(format!("{} (line {}): no `{key}=` line", self.name, self.line)))
    }

    /// A whitespace-separated array of exactly `n` values.
    fn array<T: std::str::FromStr>(&self, key: &str, n: usize) -> Result<Vec<T>, ImportError> {
        let text = self.need(key)?;
        let mut out = Vec::with_capacity(n.min(1 << 20));
        for (i, word) in text.split_ascii_whitespace().enumerate() {
            if i >= n {
                return Err(ImportError::new(format!(
                    "{} (line {}): `{key}` has more than the {n} values num_leaves implies",
                    self.name, self.line
                )));
            }
            let v = word.parse::<T>().map_err(|_| {
                ImportError::new(format!(
                    "{} (line {}): `{key}` value {} is not a number: {word:?}",
                    self.name,
                    self.line,
                    i + 1
                ))
            })?;
            out.push(v);
        }
        if out.len() != n {
            return Err(ImportError::new(format!(
                "{} (line {}): `{key}` has {} values, num_leaves implies {n}",
                self.name,
                self.line,
                out.len()
            )));
        }
        Ok(out)
    }
}

/// Reads a LightGBM text model.
pub fn read(text: &str) -> Result<ImportedTrees, ImportError> {
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, "tree")) => {}
        _ => return Err(ImportError::new("not a LightGBM text model: the first line is not `tree`".to_string())),
    }
    // The header: up to the first `Tree=`.
    let mut header = Block { line: 1, name: "header".into(), pairs: Vec::new() };
    let mut average_output = false;
    while let Some(&(_, line)) = lines.peek() {
        if line.starts_with("Tree=") || line == "end of trees" {
            break;
        }
        lines.next();
        match line.split_once('=') {
            Some((k, v)) => header.pairs.push((k, v)),
            None if line == "average_output" => average_output = true,
            None => {}
        }
    }
    let version = header.get("version").unwrap_or("");
    if version != "v4" {
        return Err(ImportError::new(format!(
            "LightGBM model format {version:?}: only version=v4 (LightGBM 4.x) text models are read"
        )));
    }
    let objective = header.need("objective").map_err(|_| {
        ImportError::new("the model names no objective (a custom objective): only `binary` models are imported".into())
    })?;
    let mut words = objective.split_ascii_whitespace();
    if words.next() != Some("binary") {
        return Err(ImportError::new(format!(
            "objective {objective:?} is not supported: only binary classification (`objective=binary`) is imported"
        )));
    }
    let mut sigmoid = 1.0;
    for w in words {
        if let Some(s) = w.strip_prefix("sigmoid:") {
            sigmoid = s.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| {
                ImportError::new(format!("objective {objective:?}: sigmoid must be a positive number"))
            })?;
        }
    }
    for key in ["num_class", "num_tree_per_iteration"] {
        if let Some(v) = header.get(key) {
            if v.trim() != "1" {
                return Err(ImportError::new(format!(
                    "{key}={v}: multiclass models are not supported (one tree per iteration only)"
                )));
            }
        }
    }
    if average_output {
        return Err(ImportError::new(
            "a random forest (`average_output`, boosting=rf) is not supported: its probability averages the trees"
                .into(),
        ));
    }
    let max_feature_idx: usize = header
        .need("max_feature_idx")?
        .trim()
        .parse()
        .map_err(|_| ImportError::new("header: max_feature_idx is not a number".into()))?;
    if max_feature_idx >= fraud_core::schema::MAX_FEATURES {
        return Err(ImportError::new(format!(
            "{} features: a model has at most {}",
            max_feature_idx + 1,
            fraud_core::schema::MAX_FEATURES
        )));
    }
    let n_features = max_feature_idx + 1;
    let feature_names: Vec<String> =
        header.get("feature_names").unwrap_or("").split_ascii_whitespace().map(String::from).collect();
    if feature_names.len() != n_features {
        return Err(ImportError::new(format!(
            "header: {} feature names for max_feature_idx={max_feature_idx}",
            feature_names.len()
        )));
    }
    let linear = text.contains("\n[linear_tree: 1]");

    // Trees.
    let mut trees = Vec::new();
    let mut leaf_ids = Vec::new();
    loop {
        let Some((at, line)) = lines.next() else {
            return Err(ImportError::new("the file ends before `end of trees`: truncated?".into()));
        };
        if line == "end of trees" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let Some(name) = line.strip_prefix("Tree=") else {
            return Err(ImportError::new(format!(
                "line {}: expected `Tree=N` or `end of trees`, found {line:?}",
                at + 1
            )));
        };
        if name != trees.len().to_string() {
            return Err(ImportError::new(format!(
                "line {}: tree {name:?} out of order (expected {})",
                at + 1,
                trees.len()
            )));
        }
        if trees.len() >= fraud_core::trees::MAX_TREES {
            return Err(ImportError::new(format!("more than {} trees", fraud_core::trees::MAX_TREES)));
        }
        let mut block = Block { line: at + 1, name: format!("tree {name}"), pairs: Vec::new() };
        while let Some(&(_, l)) = lines.peek() {
            if l.is_empty() || l.starts_with("Tree=") || l == "end of trees" {
                break;
            }
            lines.next();
            if let Some((k, v)) = l.split_once('=') {
                block.pairs.push((k, v));
            }
        }
        let tree = read_tree(&block, n_features, linear)?;
        leaf_ids.push((0..tree.leaves.len() as u32).collect());
        trees.push(tree);
    }
    if trees.is_empty() {
        return Err(ImportError::new("the model has no trees".into()));
    }
    Ok(ImportedTrees {
        ensemble: TreeEnsemble { base_score: 0.0, trees, category_sets: Vec::new(), leaf_sum: LeafSum::F64 },
        feature_names,
        version: String::new(),
        objective: objective.to_string(),
        margin_scale: sigmoid,
        leaf_ids,
    })
}

fn read_tree(block: &Block, n_features: usize, linear: bool) -> Result<TreeParams, ImportError> {
    let err = |m: String| ImportError::new(format!("{} (line {}): {m}", block.name, block.line));
    let num_leaves: usize =
        block.need("num_leaves")?.trim().parse().map_err(|_| err("num_leaves is not a number".into()))?;
    if num_leaves == 0 || num_leaves > fraud_core::trees::MAX_SPLITS_PER_TREE + 1 {
        return Err(err(format!(
            "{num_leaves} leaves: a tree has 1 to {}",
            fraud_core::trees::MAX_SPLITS_PER_TREE + 1
        )));
    }
    if block.get("is_linear").is_some_and(|v| v.trim() != "0") || linear {
        return Err(err("linear trees (linear_tree=true) are not supported".into()));
    }
    if block.get("num_cat").is_some_and(|v| v.trim() != "0") {
        return Err(err("categorical splits are not supported: train with numeric features".into()));
    }
    let values: Vec<f64> = block.array("leaf_value", num_leaves)?;
    let counts: Vec<f64> = match block.get("leaf_count") {
        Some(_) => block.array("leaf_count", num_leaves)?,
        None => vec![0.0; num_leaves],
    };
    let leaves: Vec<LeafParams> =
        values.iter().zip(&counts).map(|(&value, &cover)| LeafParams { value, cover }).collect();
    let n = num_leaves - 1;
    if n == 0 {
        return Ok(TreeParams { splits: Vec::new(), leaves });
    }
    let feature: Vec<i64> = block.array("split_feature", n)?;
    let threshold: Vec<f64> = block.array("threshold", n)?;
    let decision: Vec<i64> = match block.get("decision_type") {
        Some(_) => block.array("decision_type", n)?,
        None => vec![0; n],
    };
    let left: Vec<i64> = block.array("left_child", n)?;
    let right: Vec<i64> = block.array("right_child", n)?;
    let cover: Vec<f64> = block.array("internal_count", n)?;
    let child = |c: i64| -> Result<u32, ImportError> {
        match c {
            0.. if (c as usize) < n => Ok(c as u32),
            ..0 if ((!c) as usize) < num_leaves => Ok(LEAF | (!c) as u32),
            _ => Err(err(format!("child {c} is out of range for {num_leaves} leaves"))),
        }
    };
    let mut splits = Vec::with_capacity(n);
    for i in 0..n {
        let f = feature[i];
        if !(0..n_features as i64).contains(&f) {
            return Err(err(format!("node {i}: split feature {f} outside the model's {n_features} features")));
        }
        let d = decision[i];
        if d & CATEGORICAL != 0 {
            return Err(err(format!("node {i}: categorical splits are not supported")));
        }
        let t = threshold[i];
        let default_left = d & DEFAULT_LEFT != 0;
        let (missing_left, missing_zero) = match (d >> 2) & 3 {
            // NaN reads as 0.0, then is compared.
            MISSING_NONE => (0.0 <= t, false),
            MISSING_ZERO => (default_left, true),
            MISSING_NAN => (default_left, false),
            other => return Err(err(format!("node {i}: unknown missing type {other}"))),
        };
        splits.push(SplitParams {
            feature: f as u32,
            threshold: split_point(t),
            left: child(left[i])?,
            right: child(right[i])?,
            cover: cover[i],
            missing_left,
            categories: None,
            missing_zero,
        });
    }
    Ok(TreeParams { splits, leaves })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// LightGBM's decision for a finite `x` (the band read as 0).
    fn lightgbm_left(x: f64, t: f64) -> bool {
        let x = if x.abs() <= ZERO_BAND { 0.0 } else { x };
        x <= t
    }

    #[test]
    fn the_split_point_is_lightgbms_rule_for_every_value_near_it() {
        let z = ZERO_BAND;
        let thresholds = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            z,
            -z,
            z.next_up(),
            z.next_down(),
            -z.next_up(),
            -z.next_down(),
            1e-36,
            -1e-36,
            5e-324,
            -5e-324,
            0.5,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            123.456,
        ];
        for &t in &thresholds {
            let p = split_point(t);
            let mut xs = vec![0.0, -0.0, z, -z, 1e-36, -1e-36, 5e-324, -5e-324, f64::MAX, f64::MIN, 1.0, -1.0];
            for v in [t, p] {
                let mut a = v;
                let mut b = v;
                for _ in 0..3 {
                    xs.extend([a, b]);
                    a = a.next_up();
                    b = b.next_down();
                }
            }
            // x = f64::MAX <= t = f64::MAX has no `x < T` (runtimes refuse |x| > 1e12 anyway).
            for x in xs.into_iter().filter(|x| x.is_finite() && *x < f64::MAX) {
                assert_eq!(x < p, lightgbm_left(x, t), "t = {t:e}, x = {x:e}, point {p:e}");
            }
        }
    }

    #[test]
    fn hostile_headers_and_trees_are_errors_not_panics() {
        let good = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n\
                    objective=binary sigmoid:1\nfeature_names=a b\nfeature_infos=none none\n\n\
                    Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\nsplit_gain=1\nthreshold=0.5\n\
                    decision_type=10\nleft_child=-1\nright_child=-2\nleaf_value=-0.25 0.75\nleaf_weight=1 1\n\
                    leaf_count=3 4\ninternal_value=0\ninternal_weight=2\ninternal_count=7\nis_linear=0\nshrinkage=1\n\n\
                    end of trees\n";
        let m = read(good).unwrap();
        assert_eq!(m.feature_names, ["a", "b"]);
        let s = &m.ensemble.trees[0].splits[0];
        assert_eq!((s.feature, s.missing_left, s.missing_zero, s.cover), (1, true, false, 7.0));
        assert_eq!(s.threshold, 0.5f64.next_up());
        for (from, to) in [
            ("version=v4", "version=v3"),
            ("objective=binary sigmoid:1", "objective=regression"),
            ("objective=binary sigmoid:1", "objective=multiclass num_class:3"),
            ("num_class=1", "num_class=3"),
            ("left_child=-1", "left_child=5"),
            ("left_child=-1", "left_child=-9"),
            ("right_child=-2", "right_child=-1"),
            ("leaf_value=-0.25 0.75", "leaf_value=-0.25"),
            ("leaf_value=-0.25 0.75", "leaf_value=-0.25 x"),
            ("split_feature=1", "split_feature=7"),
            ("decision_type=10", "decision_type=1"),
            ("decision_type=10", "decision_type=12"),
            ("num_leaves=2", "num_leaves=99999999"),
            ("num_leaves=2", "num_leaves=0"),
            ("num_cat=0", "num_cat=1"),
            ("is_linear=0", "is_linear=1"),
            ("end of trees\n", ""),
            ("max_feature_idx=1", "max_feature_idx=5000"),
            ("feature_names=a b", "feature_names=a"),
        ] {
            let bad = good.replace(from, to);
            assert!(read(&bad).is_err() || super::super::check(&read(&bad).unwrap()).is_err(), "{to} was accepted");
        }
        for cut in 0..good.len() {
            let _ = read(&good[..cut]).map(|m| super::super::check(&m));
        }
    }
}
