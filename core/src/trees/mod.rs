//! The tree-ensemble scorer: gradient-boosted trees over raw (unscaled)
//! features, and exact TreeSHAP explanations.
//!
//! **Split rule.** A split node sends a row left when `x[feature] < threshold`
//! (strictly less), right otherwise. Inputs are validated finite, so there is
//! no missing-value branch.
//!
//! **Sum order.** The logit is `base_score + tree₀ + tree₁ + …`, added left to
//! right in tree order, on every path (single row, batch, every target): the
//! same operations in the same order give the same bits everywhere.
//!
//! **Layout.** Each tree is padded to a complete binary tree of its own depth
//! `D` (a leaf above depth `D` becomes a chain of "always left" nodes whose
//! threshold is +∞), stored as one flat array of 16-byte nodes (threshold,
//! feature) in heap order, its 2^D leaf values after. A walk is then exactly
//! `D` steps of `i = 2i + 1 + (x[f] >= t)`: no child pointers, no
//! data-dependent branches or loop exits, so the CPU never mispredicts. One
//! row walks eight trees at once; the batch path walks each tree for a block
//! of rows, eight rows interleaved: independent walks overlap, and the leaves
//! are still added one by one in tree order.
//!
//! **Checked on load.** [`Trees::new`] refuses child indexes out of range, a
//! node reached twice or never (cycles included), features outside the
//! schema, non-finite thresholds, leaf values or covers, trees deeper than
//! [`MAX_DEPTH`] and absurd counts; afterwards, scoring cannot loop, panic or
//! read out of bounds.
//!
//! Here: the parameters, their checks, the padded layout and scoring;
//! `shap.rs`: TreeSHAP and the expected value it starts from.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::ModelError;
use crate::schema::MAX_FEATURES;

/// Marks a child reference as a leaf index (the low 31 bits).
pub const LEAF: u32 = 1 << 31;
/// Deepest tree accepted (the root is depth 0). Bounds TreeSHAP's recursion and path buffers.
pub const MAX_DEPTH: usize = 16;
/// Most nodes of all trees once padded to complete trees (64 MiB of nodes):
/// refuses ensembles whose scoring layout would be absurdly large.
pub const MAX_PADDED_NODES: usize = 1 << 22;
/// Most trees in an ensemble.
pub const MAX_TREES: usize = 10_000;
/// Most split nodes in one tree.
pub const MAX_SPLITS_PER_TREE: usize = 1 << 16;

/// A split node's parameters, as the trainer writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitParams {
    /// Schema index of the feature tested.
    pub feature: u32,
    /// Rows with `x[feature] < threshold` go left.
    pub threshold: f64,
    /// Left child: a split index in this tree, or `LEAF | leaf index`.
    pub left: u32,
    /// Right child, encoded as `left`.
    pub right: u32,
    /// Training weight (rows or hessian) that reached this node; TreeSHAP's expectations use it.
    pub cover: f64,
}

/// A leaf's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeafParams {
    /// Its contribution to the logit (learning rate applied).
    pub value: f64,
    /// Training weight that reached it.
    pub cover: f64,
}

/// One tree: split 0 is the root; a tree without splits is its single leaf.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeParams {
    /// Split nodes, indexed by the children references.
    pub splits: Vec<SplitParams>,
    /// Leaves, indexed by `child & !LEAF`.
    pub leaves: Vec<LeafParams>,
}

/// A trained ensemble's parameters (what the artifact carries).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeEnsemble {
    /// The starting logit, before any tree.
    pub base_score: f64,
    /// Trees in boosting (and summing) order.
    pub trees: Vec<TreeParams>,
}

/// A node of the padded layout: rows with `x[feature] >= threshold` go right.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
}

/// Where one padded tree lives: `2^depth - 1` nodes from `nodes`, `2^depth` leaves from `leaves`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Layout {
    nodes: u32,
    leaves: u32,
    depth: u32,
}

/// Padding: always left (every validated input is finite, so `x >= +∞` is false).
const ALWAYS_LEFT: Node = Node { threshold: f64::INFINITY, feature: 0 };

/// A checked, ready-to-score ensemble.
#[derive(Clone, Debug, PartialEq)]
pub struct Trees {
    params: TreeEnsemble,
    /// Every padded tree's nodes, concatenated.
    nodes: Vec<Node>,
    /// Every padded tree's leaf values, concatenated.
    leaves: Vec<f64>,
    /// Per tree, where it lives in `nodes` and `leaves`, and its depth.
    layout: Vec<Layout>,
    expected_value: f64,
    /// Row width: the schema's feature count.
    n_features: usize,
}

fn bad(what: &'static str, why: &'static str) -> ModelError {
    ModelError::BadParameter { what, why }
}

/// Checks one tree's shape and returns its depth.
fn check_tree(tree: &TreeParams, n_features: usize) -> Result<usize, ModelError> {
    let (ns, nl) = (tree.splits.len(), tree.leaves.len());
    if ns > MAX_SPLITS_PER_TREE {
        return Err(bad("tree", "has too many split nodes"));
    }
    if nl != ns + 1 {
        return Err(bad("tree", "a binary tree has exactly one more leaf than splits"));
    }
    for s in &tree.splits {
        if s.feature as usize >= n_features {
            return Err(bad("tree split", "feature index outside the schema"));
        }
        if !s.threshold.is_finite() {
            return Err(bad("tree split", "threshold must be finite"));
        }
        if !(s.cover.is_finite() && s.cover > 0.0) {
            return Err(bad("tree split", "cover must be finite and positive"));
        }
    }
    for l in &tree.leaves {
        if !l.value.is_finite() {
            return Err(bad("tree leaf", "value must be finite"));
        }
        if !(l.cover.is_finite() && l.cover >= 0.0) {
            return Err(bad("tree leaf", "cover must be finite and non-negative"));
        }
    }
    if ns == 0 {
        return Ok(0);
    }
    // Walk from the root: every node must be reached exactly once (no cycles,
    // no sharing, nothing unreachable), every reference in range.
    let mut seen_split = vec![false; ns];
    let mut seen_leaf = vec![false; nl];
    let mut stack: Vec<(u32, usize)> = vec![(0, 0)];
    let mut depth = 0;
    while let Some((child, d)) = stack.pop() {
        if d > MAX_DEPTH {
            return Err(bad("tree", "deeper than the limit"));
        }
        depth = depth.max(d);
        if child & LEAF != 0 {
            let i = (child & !LEAF) as usize;
            match seen_leaf.get_mut(i) {
                None => return Err(bad("tree", "a child index is out of range")),
                Some(true) => return Err(bad("tree", "a leaf is reached twice")),
                Some(seen) => *seen = true,
            }
        } else {
            let i = child as usize;
            match seen_split.get_mut(i) {
                None => return Err(bad("tree", "a child index is out of range")),
                Some(true) => return Err(bad("tree", "a node is reached twice (a cycle or a shared subtree)")),
                Some(seen) => *seen = true,
            }
            stack.push((tree.splits[i].right, d + 1));
            stack.push((tree.splits[i].left, d + 1));
        }
    }
    if seen_split.iter().chain(&seen_leaf).any(|s| !s) {
        return Err(bad("tree", "a node is unreachable from the root"));
    }
    Ok(depth)
}

impl Trees {
    /// Checks the parameters (see the module docs) for rows of `n_features`
    /// values and lays them out for scoring.
    pub fn new(params: TreeEnsemble, n_features: usize) -> Result<Trees, ModelError> {
        if n_features == 0 || n_features > MAX_FEATURES {
            return Err(bad("trees", "a model has between 1 and 256 features"));
        }
        if !params.base_score.is_finite() {
            return Err(bad("base score", "must be finite"));
        }
        if params.trees.is_empty() || params.trees.len() > MAX_TREES {
            return Err(bad("trees", "an ensemble has between 1 and 10,000 trees"));
        }
        let mut depths = Vec::with_capacity(params.trees.len());
        let mut bound = params.base_score.abs();
        for tree in &params.trees {
            depths.push(check_tree(tree, n_features)?);
            bound += tree.leaves.iter().fold(0.0f64, |m, l| m.max(l.value.abs()));
        }
        if !bound.is_finite() {
            return Err(bad("leaf values", "too large: a score could overflow"));
        }
        let padded: usize = depths.iter().map(|&d| 1usize << d).sum();
        if padded > MAX_PADDED_NODES {
            return Err(bad("trees", "too deep in all: the scoring layout would exceed 4,194,304 nodes"));
        }
        let mut nodes = Vec::with_capacity(padded);
        let mut leaves = Vec::with_capacity(padded);
        let mut layout = Vec::with_capacity(params.trees.len());
        for (tree, &depth) in params.trees.iter().zip(&depths) {
            let (n0, l0) = (nodes.len(), leaves.len());
            layout.push(Layout { nodes: n0 as u32, leaves: l0 as u32, depth: depth as u32 });
            nodes.resize(n0 + (1 << depth) - 1, ALWAYS_LEFT);
            leaves.resize(l0 + (1 << depth), 0.0);
            pad(tree, depth, &mut nodes[n0..], &mut leaves[l0..]);
        }
        let mut trees = Trees { params, nodes, leaves, layout, expected_value: 0.0, n_features };
        trees.expected_value = (0..trees.layout.len()).fold(trees.params.base_score, |acc, t| acc + trees.tree_mean(t));
        if !trees.expected_value.is_finite() {
            return Err(bad("trees", "covers give no finite expected value"));
        }
        Ok(trees)
    }

    /// The parameters it was built from.
    pub fn params(&self) -> &TreeEnsemble {
        &self.params
    }

    /// Row width: the number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of trees.
    pub fn len(&self) -> usize {
        self.layout.len()
    }

    /// Always false: an ensemble has at least one tree.
    pub fn is_empty(&self) -> bool {
        self.layout.is_empty()
    }

    /// The deepest tree's depth.
    pub fn max_depth(&self) -> usize {
        self.layout.iter().map(|t| t.depth as usize).max().unwrap_or(0)
    }

    /// Most leaves in one tree.
    pub fn max_leaves(&self) -> usize {
        self.params.trees.iter().map(|t| t.leaves.len()).max().unwrap_or(0)
    }

    /// TreeSHAP's base value: the expected logit over the training covers.
    pub fn expected_value(&self) -> f64 {
        self.expected_value
    }

    /// Tree `t`'s nodes and leaves.
    #[inline(always)]
    fn tree(&self, t: &Layout) -> (&[Node], &[f64]) {
        let (n0, l0) = (t.nodes as usize, t.leaves as usize);
        let size = 1usize << t.depth;
        (&self.nodes[n0..n0 + size - 1], &self.leaves[l0..l0 + size])
    }

    /// The log-odds of fraud for a raw row.
    #[inline]
    pub fn logit(&self, x: &[f64]) -> f64 {
        assert!(x.len() == self.n_features, "a row of another schema's width");
        // Eight trees walked at once: their steps are independent, so the CPU
        // overlaps them; the leaves are then added one by one, in tree order.
        const WAYS: usize = 8;
        let mut acc = self.params.base_score;
        let (quads, rest) = self.layout.as_chunks::<WAYS>();
        for quad in quads {
            let trees = quad.map(|t| self.tree(&t));
            let deepest = quad.iter().map(|t| t.depth).max().unwrap_or(0);
            let mut idx = [0usize; WAYS];
            for level in 0..deepest {
                for ((i, (nodes, _)), t) in idx.iter_mut().zip(&trees).zip(quad) {
                    if level < t.depth {
                        let n = &nodes[*i];
                        *i = 2 * *i + 1 + (x[n.feature as usize] >= n.threshold) as usize;
                    }
                }
            }
            for (i, (nodes, leaves)) in idx.into_iter().zip(&trees) {
                acc += leaves[i - nodes.len()];
            }
        }
        for t in rest {
            let (nodes, leaves) = self.tree(t);
            let mut i = 0usize;
            for _ in 0..t.depth {
                let n = &nodes[i];
                i = 2 * i + 1 + (x[n.feature as usize] >= n.threshold) as usize;
            }
            acc += leaves[i - nodes.len()];
        }
        acc
    }

    /// Logits of many rows into `out` (one per row): each tree is walked for a
    /// block of rows before the next, eight rows interleaved, in the same sum
    /// order as [`Trees::logit`] (so the same bits).
    pub fn logits(&self, rows: &[f64], out: &mut [f64]) {
        // Natively, the Kaggle file's rows as fixed-size arrays (the bounds of
        // every step are known); any other width as slices. The same walk.
        #[cfg(not(target_arch = "wasm32"))]
        if self.n_features == 30 {
            if let (chunks, []) = rows.as_chunks::<30>() {
                return self.logits_of(chunks, out);
            }
        }
        let slices: Vec<&[f64]> = rows.chunks_exact(self.n_features).collect();
        self.logits_of(&slices, out)
    }

    /// [`Trees::logits`] over rows of any row type.
    #[inline]
    fn logits_of<X: AsRef<[f64]>>(&self, rows: &[X], out: &mut [f64]) {
        const BLOCK: usize = 64;
        const LANES: usize = 8;
        for (xs, acc) in rows.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            acc.fill(self.params.base_score);
            for t in &self.layout {
                let (nodes, leaves) = self.tree(t);
                let (groups, rest) = xs.as_chunks::<LANES>();
                let (acc_groups, acc_rest) = acc.split_at_mut(groups.len() * LANES);
                for (group, a) in groups.iter().zip(acc_groups.chunks_exact_mut(LANES)) {
                    let mut idx = [0usize; LANES];
                    for _ in 0..t.depth {
                        for (i, x) in idx.iter_mut().zip(group) {
                            let n = &nodes[*i];
                            *i = 2 * *i + 1 + (x.as_ref()[n.feature as usize] >= n.threshold) as usize;
                        }
                    }
                    for (a, i) in a.iter_mut().zip(idx) {
                        *a += leaves[i - nodes.len()];
                    }
                }
                for (x, a) in rest.iter().zip(acc_rest) {
                    let mut i = 0usize;
                    for _ in 0..t.depth {
                        let n = &nodes[i];
                        i = 2 * i + 1 + (x.as_ref()[n.feature as usize] >= n.threshold) as usize;
                    }
                    *a += leaves[i - nodes.len()];
                }
            }
        }
    }

    /// Contributions of every feature (SHAP values), in schema order.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        self.shap(x)
    }
}

/// Writes `tree` into a complete tree of `depth` levels (heap order): splits
/// where they are, "always left" chains below leaves that sit higher up.
fn pad(tree: &TreeParams, depth: usize, nodes: &mut [Node], leaves: &mut [f64]) {
    let first_leaf = nodes.len();
    let root = if tree.splits.is_empty() { LEAF } else { 0 };
    // (child reference, heap position); `Trees::new` checked the shape, so this terminates.
    let mut stack = vec![(root, 0usize)];
    while let Some((child, pos)) = stack.pop() {
        if child & LEAF != 0 {
            let value = tree.leaves[(child & !LEAF) as usize].value;
            // Down the left spine to the bottom level; the padding nodes already say "left".
            let mut p = pos;
            while p < first_leaf {
                p = 2 * p + 1;
            }
            leaves[p - first_leaf] = value;
        } else {
            let s = &tree.splits[child as usize];
            nodes[pos] = Node { threshold: s.threshold, feature: s.feature };
            stack.push((s.left, 2 * pos + 1));
            stack.push((s.right, 2 * pos + 2));
        }
    }
    debug_assert_eq!(nodes.len() + 1, 1 << depth);
}

mod shap;
#[cfg(test)]
mod tests;
