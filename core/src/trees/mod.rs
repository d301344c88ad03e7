//! The tree-ensemble scorer: gradient-boosted trees over raw (unscaled)
//! features, and exact TreeSHAP explanations.
//!
//! **Split rule.** A numeric split sends a row left when `x[feature] <
//! threshold` (strictly less), right otherwise. A category split (its
//! feature categorical, the value an integer code in `0..256`) sends a row
//! left when the code is in the split's [`CategorySet`], right otherwise: a
//! value that is not an integer code in range is in no set, so it goes right.
//!
//! **Missing values.** A missing value is NaN; every split says where it goes
//! ([`SplitParams::missing_left`], left for formats older than missing
//! values), for numeric and categorical features alike. So a node decides
//! `right = if x is NaN { !missing_left } else if categorical { x ∉ set } else
//! { x >= threshold }`, the one decision function of scoring and TreeSHAP.
//!
//! **Zero as missing.** A split with [`SplitParams::missing_zero`] (LightGBM's
//! `zero_as_missing`) also sends values with `|x| <= ZERO_BAND` the missing way.
//!
//! **Sum order.** The logit is `base_score + tree₀ + tree₁ + …`, added left to
//! right in tree order, on every path (single row, batch, every target): the
//! same operations in the same order give the same bits everywhere. In
//! [`LeafSum::F32`] (XGBoost's models) every partial sum is rounded to `f32`,
//! as XGBoost sums in `float`: base score and leaves are then `f32` values.
//!
//! **Layout.** Each tree is padded to a complete binary tree of its own depth
//! `D` (a leaf above depth `D` becomes a chain of "always left" nodes whose
//! threshold is +∞ and whose missing values go left), stored as one flat
//! array of 16-byte nodes (threshold, feature, and in what was padding the
//! missing bit and category set) in heap order, its 2^D leaf values after.
//! A walk is then exactly `D` steps of `i = 2i + 1 + right`: no child
//! pointers, no loop exits. For ensembles without category splits and rows
//! without NaN (or ensembles that send every NaN left, as `NaN >= t` is
//! false) the step is the branch-free `x[f] >= t`, so the CPU never
//! mispredicts; otherwise a general step applies the whole decision, over
//! the same layout and in the same order, so the same bits. One row walks
//! eight trees at once; the batch path walks each tree for a block of 64
//! rows (the walk chosen per block), eight rows interleaved: independent
//! walks overlap, and the leaves are still added one by one in tree order.
//!
//! **Checked on load.** [`Trees::new`] and [`Trees::with_kinds`] refuse child
//! indexes out of range, a node reached twice or never (cycles included),
//! features outside the schema, a category split on a numeric feature or a
//! numeric split on a categorical one, category set indexes out of range,
//! non-finite thresholds, leaf values or covers, trees deeper than
//! [`MAX_DEPTH`] and absurd counts; afterwards, scoring cannot loop, panic or
//! read out of bounds, whatever the `f64`s of a row.
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
/// The most category codes a categorical feature may have (codes 0..256).
pub const MAX_CATEGORY_CODES: usize = 256;
/// Most category sets in an ensemble (one per split at most).
pub const MAX_CATEGORY_SETS: usize = MAX_TREES * MAX_SPLITS_PER_TREE;
/// LightGBM's `kZeroThreshold` (`1e-35f` as a double): a split with
/// [`SplitParams::missing_zero`] treats `|x| <= ZERO_BAND` as missing.
pub const ZERO_BAND: f64 = 1e-35f32 as f64;

/// How the leaves are summed into the logit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeafSum {
    /// In `f64` (this trainer's models, LightGBM's).
    #[default]
    F64,
    /// In `f32`, every partial sum rounded (XGBoost's `float` accumulator): the
    /// base score and every leaf value must be `f32` values.
    F32,
}

/// A set of category codes as a bitset: code c is in it when bit c % 64 of word c / 64 is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategorySet(pub [u64; 4]);

impl CategorySet {
    /// The set of `codes`; codes of 256 and more are ignored.
    pub fn from_codes(codes: impl IntoIterator<Item = u32>) -> CategorySet {
        let mut set = CategorySet::default();
        for c in codes {
            set.insert(c);
        }
        set
    }

    /// Adds `code` (ignored when 256 or more).
    pub fn insert(&mut self, code: u32) {
        if (code as usize) < MAX_CATEGORY_CODES {
            self.0[(code / 64) as usize] |= 1 << (code % 64);
        }
    }

    /// Whether `code` is in the set. False for anything that is not an integer code in 0..256 (NaN included).
    #[inline(always)]
    pub fn contains(&self, code: f64) -> bool {
        // `as` saturates (NaN to 0): the range test and the round trip decide.
        let c = code as u32;
        if !(code >= 0.0 && code < MAX_CATEGORY_CODES as f64 && c as f64 == code) {
            return false;
        }
        self.0[(c / 64) as usize & 3] >> (c % 64) & 1 != 0
    }

    /// The codes in the set, in increasing order.
    pub fn codes(&self) -> impl Iterator<Item = u32> + '_ {
        (0..MAX_CATEGORY_CODES as u32).filter(move |&c| self.0[(c / 64) as usize] >> (c % 64) & 1 != 0)
    }
}

/// A split node's parameters, as the trainer writes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitParams {
    /// Schema index of the feature tested.
    pub feature: u32,
    /// Rows with `x[feature] < threshold` go left (a numeric split; 0.0 for a category split).
    pub threshold: f64,
    /// Left child: a split index in this tree, or `LEAF | leaf index`.
    pub left: u32,
    /// Right child, encoded as `left`.
    pub right: u32,
    /// Training weight (rows or hessian) that reached this node; TreeSHAP's expectations use it.
    pub cover: f64,
    /// Where a missing value (NaN) goes: left when true. (Formats before missing values existed: true.)
    pub missing_left: bool,
    /// A category split: an index into [`TreeEnsemble::category_sets`]; a row whose code is in that set goes
    /// left, any other code right (threshold unused: 0.0). `None`: a numeric split, `x < threshold` goes left.
    pub categories: Option<u32>,
    /// Values with `|x| <= ZERO_BAND` are missing too (LightGBM's zero-as-missing splits).
    pub missing_zero: bool,
}

impl SplitParams {
    /// The decision of this split for the value `v` of its feature: true for right.
    /// `sets` are the ensemble's category sets; a set index out of range holds no code.
    #[inline(always)]
    pub fn goes_right(&self, v: f64, sets: &[CategorySet]) -> bool {
        if v.is_nan() || (self.missing_zero && v.abs() <= ZERO_BAND) {
            !self.missing_left
        } else if let Some(c) = self.categories {
            !sets.get(c as usize).is_some_and(|s| s.contains(v))
        } else {
            v >= self.threshold
        }
    }
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
    /// The category sets of the category splits, indexed by [`SplitParams::categories`].
    pub category_sets: Vec<CategorySet>,
    /// How leaves are summed.
    pub leaf_sum: LeafSum,
}

/// A node of the padded layout: rows with `x[feature] >= threshold` go right
/// (the fast walk); the general walk also reads `info`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    threshold: f64,
    feature: u32,
    /// Bit 0: a missing value goes right; bit 1: zero is missing; bits 2..: the
    /// category set index + 1 (0: a numeric split).
    info: u32,
}

const _: () = assert!(core::mem::size_of::<Node>() == 16);

/// [`Node::info`]'s missing bit.
const MISSING_RIGHT: u32 = 1;
/// [`Node::info`]'s zero-is-missing bit.
const MISSING_ZERO: u32 = 2;
/// Where [`Node::info`]'s category set index starts.
const SET_SHIFT: u32 = 2;

impl Node {
    /// The general decision: true for right (see the module docs), exactly
    /// [`SplitParams::goes_right`]. Branch-free — every row of a model with a
    /// category split takes this step, and a branch per rule would mispredict
    /// at every node: all three rules are evaluated and one kept. `sets` is
    /// [`Trees::sets`]: index 0 the empty set, then the ensemble's.
    #[inline(always)]
    fn goes_right(&self, v: f64, sets: &[CategorySet]) -> bool {
        let set = (self.info >> SET_SHIFT) as usize;
        // Clamped first (NaN to 0), so the conversion needs no saturation; the
        // round trip then makes it `CategorySet::contains` (integers 0..=255 only).
        let c = v.max(0.0).min((MAX_CATEGORY_CODES - 1) as f64) as u32;
        let word = sets.get(set).map_or(0, |s| s.0[(c as usize >> 6) & 3]);
        let in_set = ((word >> (c & 63)) & 1 != 0) & (c as f64 == v);
        let nan = v.is_nan() | ((self.info & MISSING_ZERO != 0) & (v.abs() <= ZERO_BAND));
        let categorical = set != 0;
        (nan & (self.info & MISSING_RIGHT != 0))
            | (!nan & ((categorical & !in_set) | (!categorical & (v >= self.threshold))))
    }

    /// One step's decision, as 0 (left) or 1 (right): the branch-free comparison
    /// when `GENERAL` is false (no category split, no NaN that goes right), the
    /// whole decision otherwise.
    #[inline(always)]
    fn step<const GENERAL: bool>(&self, x: &[f64], sets: &[CategorySet]) -> usize {
        let v = x[self.feature as usize];
        if GENERAL {
            self.goes_right(v, sets) as usize
        } else {
            (v >= self.threshold) as usize
        }
    }
}

/// Where one padded tree lives: `2^depth - 1` nodes from `nodes`, `2^depth` leaves from `leaves`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Layout {
    nodes: u32,
    leaves: u32,
    depth: u32,
}

/// Padding: always left (`x >= +∞` is false for every `x`, NaN included, and NaN goes left).
const ALWAYS_LEFT: Node = Node { threshold: f64::INFINITY, feature: 0, info: 0 };

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
    /// Some split is a category split: every row takes the general walk.
    categorical: bool,
    /// The empty set, then [`TreeEnsemble::category_sets`]: what [`Node::info`]'s set index (+1) points into.
    sets: Vec<CategorySet>,
    /// Some split sends a missing value right: a row with a NaN takes the general walk.
    missing_right: bool,
    /// Some split treats zero as missing: every row takes the general walk.
    missing_zero: bool,
    /// Leaves summed in `f32`.
    f32_sum: bool,
}

fn bad(what: &'static str, why: &'static str) -> ModelError {
    ModelError::BadParameter { what, why }
}

/// Checks one tree's shape and returns its depth.
fn check_tree(tree: &TreeParams, categorical: &[bool], n_sets: usize) -> Result<usize, ModelError> {
    let (ns, nl) = (tree.splits.len(), tree.leaves.len());
    if ns > MAX_SPLITS_PER_TREE {
        return Err(bad("tree", "has too many split nodes"));
    }
    if nl != ns + 1 {
        return Err(bad("tree", "a binary tree has exactly one more leaf than splits"));
    }
    for s in &tree.splits {
        let Some(&is_categorical) = categorical.get(s.feature as usize) else {
            return Err(bad("tree split", "feature index outside the schema"));
        };
        match s.categories {
            Some(_) if !is_categorical => return Err(bad("tree split", "a category split on a numeric feature")),
            None if is_categorical => return Err(bad("tree split", "a numeric split on a categorical feature")),
            Some(c) if c as usize >= n_sets => return Err(bad("tree split", "category set index out of range")),
            _ => {}
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
    /// numeric values (any category split is refused) and lays them out for scoring.
    pub fn new(params: TreeEnsemble, n_features: usize) -> Result<Trees, ModelError> {
        if n_features == 0 || n_features > MAX_FEATURES {
            return Err(bad("trees", "a model has between 1 and 256 features"));
        }
        Trees::with_kinds(params, &vec![false; n_features])
    }

    /// Checks the parameters (see the module docs) for rows of
    /// `categorical.len()` values, feature `f` categorical when
    /// `categorical[f]`, and lays them out for scoring.
    pub fn with_kinds(params: TreeEnsemble, categorical: &[bool]) -> Result<Trees, ModelError> {
        let n_features = categorical.len();
        if n_features == 0 || n_features > MAX_FEATURES {
            return Err(bad("trees", "a model has between 1 and 256 features"));
        }
        if params.category_sets.len() > MAX_CATEGORY_SETS {
            return Err(bad("trees", "more category sets than an ensemble can have splits"));
        }
        if !params.base_score.is_finite() {
            return Err(bad("base score", "must be finite"));
        }
        if params.leaf_sum == LeafSum::F32 {
            let is_f32 = |v: f64| v as f32 as f64 == v;
            if !is_f32(params.base_score) || !params.trees.iter().flat_map(|t| &t.leaves).all(|l| is_f32(l.value)) {
                return Err(bad("leaf values", "an f32-summed ensemble holds f32 base score and leaves"));
            }
        }
        if params.trees.is_empty() || params.trees.len() > MAX_TREES {
            return Err(bad("trees", "an ensemble has between 1 and 10,000 trees"));
        }
        let mut depths = Vec::with_capacity(params.trees.len());
        let mut bound = params.base_score.abs();
        for tree in &params.trees {
            depths.push(check_tree(tree, categorical, params.category_sets.len())?);
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
        let splits = || params.trees.iter().flat_map(|t| &t.splits);
        let has_categories = splits().any(|s| s.categories.is_some());
        let missing_right = splits().any(|s| !s.missing_left);
        let missing_zero = splits().any(|s| s.missing_zero);
        let f32_sum = params.leaf_sum == LeafSum::F32;
        let params_sets = params.category_sets.clone();
        let mut trees = Trees {
            params,
            nodes,
            leaves,
            layout,
            expected_value: 0.0,
            n_features,
            categorical: has_categories,
            sets: core::iter::once(CategorySet::default()).chain(params_sets).collect(),
            missing_right,
            missing_zero,
            f32_sum,
        };
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

    /// Whether some split is a category split.
    pub fn has_categorical(&self) -> bool {
        self.categorical
    }

    /// The ensemble's category sets.
    pub fn category_sets(&self) -> &[CategorySet] {
        &self.params.category_sets
    }

    /// Whether rows `xs` need the general walk (a category split, or a NaN
    /// some split sends right); otherwise the branch-free walk gives the same leaves.
    #[inline]
    fn general<X: AsRef<[f64]>>(&self, xs: &[X]) -> bool {
        self.categorical
            || self.missing_zero
            || (self.missing_right && xs.iter().any(|x| x.as_ref().iter().any(|v| v.is_nan())))
    }

    /// `acc + leaf`, in the ensemble's [`LeafSum`]. For `f32` values the `f64`
    /// sum rounded to `f32` is exactly their `f32` sum (53 ≥ 2·24 + 2 bits:
    /// double rounding is innocuous for addition), so both sums share one add
    /// and a select, not two loops.
    #[inline(always)]
    fn add(&self, acc: f64, leaf: f64) -> f64 {
        let sum = acc + leaf;
        let rounded = sum as f32 as f64;
        if self.f32_sum {
            rounded
        } else {
            sum
        }
    }

    /// Per tree, the index (into its [`TreeParams::leaves`]) of the leaf `x` reaches.
    pub fn leaf_indices(&self, x: &[f64]) -> Vec<u32> {
        let sets = &self.params.category_sets;
        self.params
            .trees
            .iter()
            .map(|tree| {
                let mut child = if tree.splits.is_empty() { LEAF } else { 0 };
                // `Trees::with_kinds` checked the shape: at most `MAX_DEPTH` steps.
                while child & LEAF == 0 {
                    let s = &tree.splits[child as usize];
                    let v = x.get(s.feature as usize).copied().unwrap_or(f64::NAN);
                    child = if s.goes_right(v, sets) { s.right } else { s.left };
                }
                child & !LEAF
            })
            .collect()
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
        if self.general(&[x]) {
            self.logit_walk::<true>(x)
        } else {
            self.logit_walk::<false>(x)
        }
    }

    /// [`Trees::logit`] with the branch-free step or the general one.
    #[inline(always)]
    fn logit_walk<const GENERAL: bool>(&self, x: &[f64]) -> f64 {
        // Eight trees walked at once: their steps are independent, so the CPU
        // overlaps them; the leaves are then added one by one, in tree order.
        const WAYS: usize = 8;
        let sets = &self.sets[..];
        let mut acc = self.params.base_score;
        let (quads, rest) = self.layout.as_chunks::<WAYS>();
        for quad in quads {
            let trees = quad.map(|t| self.tree(&t));
            let deepest = quad.iter().map(|t| t.depth).max().unwrap_or(0);
            let mut idx = [0usize; WAYS];
            for level in 0..deepest {
                for ((i, (nodes, _)), t) in idx.iter_mut().zip(&trees).zip(quad) {
                    if level < t.depth {
                        *i = 2 * *i + 1 + nodes[*i].step::<GENERAL>(x, sets);
                    }
                }
            }
            for (i, (nodes, leaves)) in idx.into_iter().zip(&trees) {
                acc = self.add(acc, leaves[i - nodes.len()]);
            }
        }
        for t in rest {
            let (nodes, leaves) = self.tree(t);
            let mut i = 0usize;
            for _ in 0..t.depth {
                i = 2 * i + 1 + nodes[i].step::<GENERAL>(x, sets);
            }
            acc = self.add(acc, leaves[i - nodes.len()]);
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

    /// [`Trees::logits`] over rows of any row type: the walk is chosen per block.
    #[inline]
    fn logits_of<X: AsRef<[f64]>>(&self, rows: &[X], out: &mut [f64]) {
        const BLOCK: usize = 64;
        for (xs, acc) in rows.chunks(BLOCK).zip(out.chunks_mut(BLOCK)) {
            if self.general(xs) {
                self.block::<true, X>(xs, acc);
            } else {
                self.block::<false, X>(xs, acc);
            }
        }
    }

    /// The logits of one block of rows, with the branch-free step or the general one.
    #[inline(always)]
    fn block<const GENERAL: bool, X: AsRef<[f64]>>(&self, xs: &[X], acc: &mut [f64]) {
        const LANES: usize = 8;
        let sets = &self.sets[..];
        acc.fill(self.params.base_score);
        for t in &self.layout {
            let (nodes, leaves) = self.tree(t);
            let (groups, rest) = xs.as_chunks::<LANES>();
            let (acc_groups, acc_rest) = acc.split_at_mut(groups.len() * LANES);
            for (group, a) in groups.iter().zip(acc_groups.chunks_exact_mut(LANES)) {
                let mut idx = [0usize; LANES];
                for _ in 0..t.depth {
                    for (i, x) in idx.iter_mut().zip(group) {
                        *i = 2 * *i + 1 + nodes[*i].step::<GENERAL>(x.as_ref(), sets);
                    }
                }
                for (a, i) in a.iter_mut().zip(idx) {
                    *a = self.add(*a, leaves[i - nodes.len()]);
                }
            }
            for (x, a) in rest.iter().zip(acc_rest) {
                let mut i = 0usize;
                for _ in 0..t.depth {
                    i = 2 * i + 1 + nodes[i].step::<GENERAL>(x.as_ref(), sets);
                }
                *a = self.add(*a, leaves[i - nodes.len()]);
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
            let missing = if s.missing_left { 0 } else { MISSING_RIGHT };
            let zero = if s.missing_zero { MISSING_ZERO } else { 0 };
            // `Trees::with_kinds` bounded the set index: `(index + 1) << SET_SHIFT` fits.
            let set = s.categories.map_or(0, |c| (c + 1) << SET_SHIFT);
            nodes[pos] = Node { threshold: s.threshold, feature: s.feature, info: missing | zero | set };
            stack.push((s.left, 2 * pos + 1));
            stack.push((s.right, 2 * pos + 2));
        }
    }
    debug_assert_eq!(nodes.len() + 1, 1 << depth);
}

mod shap;
#[cfg(test)]
mod tests;
