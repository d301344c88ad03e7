//! Histogram gradient boosting for binary log-loss: the trainer of the tree
//! model kind.
//!
//! - Quantile bins per feature, fitted on the rows given (the train split only):
//!   at most `max_bins` bins, cut points taken from the data's own distinct
//!   values. A split "bin <= k" is exactly `x < cuts[k]` on raw values, so a
//!   tree trained on bins scores raw rows identically.
//! - Newton leaf values `-G / (H + λ)` times the learning rate; split gain
//!   `G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ)`; leaves need a minimum hessian
//!   and row count.
//! - Leaf-wise growth (the best gain anywhere first) up to `max_leaves`, capped
//!   by `max_depth`; the larger child's histogram is the parent's minus the
//!   smaller's.
//! - Per round, every fraud and a `neg_fraction` sample of the legitimate rows
//!   (weighted `1 / neg_fraction`, so sums stay unbiased), and a column sample
//!   per tree, from one seed: the same seed gives the same trees. Histograms
//!   are built on every core, from gradients gathered in leaf order.
//! - Each node records its cover (the sampled rows' weight), which TreeSHAP's
//!   expectations need; [`Ensemble::to_core`] turns the trees into `core`'s format.
//! - Early stopping on the validation split's log-loss.
//! - Missing values (NaN), XGBoost's sparsity-aware way: bins are fitted on
//!   the values present, and the missing rows of a feature get one more bin
//!   of their own (last in the histogram, so subtraction still holds). Every
//!   threshold is tried with the missing rows sent left and sent right, and
//!   the better is kept as the split's `missing_left`; also tried: every
//!   value one way, missing the other.
//! - Categorical features ([`BoostOptions::categorical`]), LightGBM's way:
//!   the bins are the integer codes themselves. At a node the codes with at
//!   least `min_category_rows` rows are ordered by `G / (H + cat_smooth)`, and
//!   prefixes of that order from either end (at most `max_cat_threshold`
//!   codes) are tried as "in the set: left"; other codes go right, missing
//!   values either way as above.

use std::thread;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use fraud_core::trees::CategorySet;

/// Settings of one boosting run.
#[derive(Clone, Debug)]
pub struct BoostOptions {
    /// Boosting rounds at most (early stopping usually ends sooner).
    pub rounds: usize,
    /// Shrinkage of every leaf value.
    pub learning_rate: f64,
    /// Leaves per tree at most.
    pub max_leaves: usize,
    /// Depth of a tree at most (root = depth 0).
    pub max_depth: usize,
    /// L2 penalty λ on leaf values.
    pub l2: f64,
    /// A leaf needs at least this much hessian (sum of p(1-p)·weight).
    pub min_child_hessian: f64,
    /// A leaf needs at least this many rows.
    pub min_rows_leaf: usize,
    /// Fraction of the legitimate rows each round sees (1.0: all); frauds are always all in.
    pub neg_fraction: f64,
    /// Fraction of features each tree may split on (1.0: all).
    pub col_fraction: f64,
    /// Value bins per feature at most (<= 256, used as at most 255: bins are stored in a byte, and a
    /// feature's missing values take one more).
    pub max_bins: usize,
    /// Stop when validation log-loss has not improved for this many rounds.
    pub early_stopping_rounds: usize,
    /// Weight of a fraud's loss relative to a legitimate one's.
    pub fraud_weight: f64,
    /// Seed of the row and column sampling.
    pub seed: u64,
    /// Which features are categorical (integer codes `0..255`, NaN missing); empty: all numeric.
    pub categorical: Vec<bool>,
    /// A category takes part in a split's ordering only with at least this many rows at the node
    /// (the others go right, with the codes not in the set).
    pub min_category_rows: usize,
    /// Smoothing of a category's `G / (H + cat_smooth)`, the key its ordering sorts by.
    pub cat_smooth: f64,
    /// Codes in a category split's set at most.
    pub max_cat_threshold: usize,
}

impl Default for BoostOptions {
    fn default() -> BoostOptions {
        BoostOptions {
            rounds: 1000,
            learning_rate: 0.05,
            max_leaves: 15,
            max_depth: 6,
            l2: 1.0,
            min_child_hessian: 1.0,
            min_rows_leaf: 5,
            neg_fraction: 0.25,
            col_fraction: 0.8,
            max_bins: 255,
            early_stopping_rounds: 50,
            fraud_weight: 1.0,
            seed: 0,
            categorical: Vec::new(),
            min_category_rows: 10,
            cat_smooth: 10.0,
            max_cat_threshold: 32,
        }
    }
}

/// A split node: `x[feature] < threshold` goes left (a category split: the
/// code is in `categories`), a missing value goes left when `missing_left`.
/// Children are node indexes, or leaves as `!leaf_index` (negative).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: usize,
    /// Rows with `x[feature] < threshold` go left.
    pub threshold: f64,
    /// Left child.
    pub left: i32,
    /// Right child.
    pub right: i32,
    /// Weight of the sampled rows that reached it.
    pub cover: f64,
    /// Where a missing value goes.
    pub missing_left: bool,
    /// A category split's set (threshold 0.0): codes in it go left, any other value right.
    pub categories: Option<CategorySet>,
    bin: u8,
    /// The feature's missing bin.
    missing_bin: u8,
}

impl Split {
    /// The decision for the value `v` of its feature, `core`'s rule: true for right.
    fn goes_right(&self, v: f64) -> bool {
        if v.is_nan() {
            !self.missing_left
        } else if let Some(set) = &self.categories {
            !set.contains(v)
        } else {
            v >= self.threshold
        }
    }
}

/// One regression tree over raw features.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// Split nodes; node 0 is the root (none: a single leaf).
    pub splits: Vec<Split>,
    /// Leaf values in logit units (learning rate applied).
    pub leaves: Vec<f64>,
    /// Weight of the sampled rows that reached each leaf.
    pub leaf_covers: Vec<f64>,
}

impl Tree {
    /// This tree's value for a raw row.
    pub fn value(&self, x: &[f64]) -> f64 {
        let mut node = if self.splits.is_empty() { -1 } else { 0 };
        while node >= 0 {
            let s = &self.splits[node as usize];
            node = if s.goes_right(x[s.feature]) { s.right } else { s.left };
        }
        self.leaves[!node as usize]
    }

    #[cfg(test)]
    fn value_binned(&self, bins: &Bins, row: usize) -> f64 {
        let (nodes, sets) = self.binned_nodes();
        walk(&nodes, &sets, &self.leaves, &bins.by_row[row * bins.width..(row + 1) * bins.width])
    }

    /// The splits as small bin-comparing nodes, for walking binned rows, and their category sets.
    fn binned_nodes(&self) -> (Vec<BinNode>, Vec<[u64; 4]>) {
        let mut sets = Vec::new();
        let nodes = self
            .splits
            .iter()
            .map(|s| {
                let set = s.categories.map_or(0, |c| {
                    sets.push(c.0);
                    sets.len() as u32
                });
                BinNode {
                    feature: s.feature as u16,
                    bin: s.bin,
                    missing: s.missing_bin,
                    missing_left: s.missing_left,
                    set,
                    left: s.left,
                    right: s.right,
                }
            })
            .collect();
        (nodes, sets)
    }
}

/// A split over bins (a tree of 30 splits fits in a few cache lines).
#[derive(Clone, Copy)]
struct BinNode {
    feature: u16,
    bin: u8,
    /// The feature's missing bin.
    missing: u8,
    missing_left: bool,
    /// 0: a numeric split (`bin <= self.bin` goes left); else 1 + the index of its code set.
    set: u32,
    left: i32,
    right: i32,
}

#[inline(always)]
fn walk(nodes: &[BinNode], sets: &[[u64; 4]], leaves: &[f64], row: &[u8]) -> f64 {
    let mut node = if nodes.is_empty() { -1 } else { 0 };
    while node >= 0 {
        let s = nodes[node as usize];
        let b = row[s.feature as usize];
        node = if goes_left(b, s.bin, s.missing, s.missing_left, s.set, sets) { s.left } else { s.right };
    }
    leaves[!node as usize]
}

/// The binned decision: the missing bin goes where the split says; a code
/// in the split's set, or a bin at most the split's, goes left.
#[inline(always)]
fn goes_left(b: u8, bin: u8, missing: u8, missing_left: bool, set: u32, sets: &[[u64; 4]]) -> bool {
    if b == missing {
        missing_left
    } else if set == 0 {
        b <= bin
    } else {
        sets[set as usize - 1][b as usize / 64] >> (b % 64) & 1 != 0
    }
}

/// Adds a tree's value to the logit of every binned row (row-major, `width`
/// bytes a row), on every core.
fn add_tree(tree: &Tree, by_row: &[u8], width: usize, logits: &mut [f64]) {
    let (nodes, sets) = tree.binned_nodes();
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let size = logits.len().div_ceil(threads).max(4096);
    thread::scope(|s| {
        for (k, chunk) in logits.chunks_mut(size).enumerate() {
            let rows = &by_row[k * size * width..];
            let (nodes, sets) = (&nodes, &sets);
            s.spawn(move || {
                for (f, row) in chunk.iter_mut().zip(rows.chunks_exact(width)) {
                    *f += walk(nodes, sets, &tree.leaves, row);
                }
            });
        }
    });
}

/// Adds a tree's value to the logit of every raw row (row-major, `d` values
/// a row), on every core: `core`'s decisions, NaN and any code included.
fn add_tree_raw(tree: &Tree, x: &[f64], d: usize, logits: &mut [f64]) {
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let size = logits.len().div_ceil(threads).max(4096);
    thread::scope(|s| {
        for (k, chunk) in logits.chunks_mut(size).enumerate() {
            let rows = &x[k * size * d..];
            s.spawn(move || {
                for (f, row) in chunk.iter_mut().zip(rows.chunks_exact(d)) {
                    *f += tree.value(row);
                }
            });
        }
    });
}

/// A boosted ensemble: `base + Σ trees`, summed in tree order, is the logit.
#[derive(Clone, Debug, PartialEq)]
pub struct Ensemble {
    /// The starting logit (the train split's weighted prior).
    pub base_score: f64,
    /// The trees, in boosting order.
    pub trees: Vec<Tree>,
}

impl Ensemble {
    /// The log-odds of fraud for a raw row.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.trees.iter().fold(self.base_score, |acc, t| acc + t.value(x))
    }

    /// The same trees in `core`'s parameter format (children as split
    /// indexes or `LEAF | leaf index`).
    pub fn to_core(&self) -> fraud_core::TreeEnsemble {
        let child = |c: i32| if c < 0 { fraud_core::trees::LEAF | (!c) as u32 } else { c as u32 };
        let mut category_sets = Vec::new();
        let mut set_index = |set: &CategorySet| {
            category_sets.push(*set);
            category_sets.len() as u32 - 1
        };
        let trees = self
            .trees
            .iter()
            .map(|t| fraud_core::TreeParams {
                splits: t
                    .splits
                    .iter()
                    .map(|s| fraud_core::SplitParams {
                        feature: s.feature as u32,
                        threshold: s.threshold,
                        left: child(s.left),
                        right: child(s.right),
                        cover: s.cover,
                        missing_left: s.missing_left,
                        categories: s.categories.as_ref().map(&mut set_index),
                        missing_zero: false,
                    })
                    .collect(),
                leaves: t
                    .leaves
                    .iter()
                    .zip(&t.leaf_covers)
                    .map(|(&value, &cover)| fraud_core::LeafParams { value, cover })
                    .collect(),
            })
            .collect();
        fraud_core::TreeEnsemble {
            base_score: self.base_score,
            trees,
            category_sets,
            leaf_sum: fraud_core::LeafSum::F64,
        }
    }
}

/// What a run did besides the ensemble.
#[derive(Clone, Debug)]
pub struct BoostReport {
    /// Rounds kept (the best on validation).
    pub rounds: usize,
    /// Rounds run before stopping.
    pub rounds_run: usize,
    /// Validation log-loss after each round.
    pub validation_loss: Vec<f64>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Why boosting could not run.
#[derive(Debug, PartialEq)]
pub enum BoostError {
    /// Shapes or settings out of their domain.
    BadInput(String),
}

impl std::fmt::Display for BoostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoostError::BadInput(why) => write!(f, "boosting: {why}"),
        }
    }
}

impl std::error::Error for BoostError {}

/// Rows as the booster takes them: row-major values, `d` per row, and labels.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// Row-major values.
    pub x: &'a [f64],
    /// Labels, 0 or 1.
    pub y: &'a [u8],
    /// Values per row.
    pub d: usize,
}

impl Rows<'_> {
    fn len(&self) -> usize {
        self.y.len()
    }
}

/// Per-feature cut points and the binned train matrix (column-major bytes).
struct Bins {
    /// A numeric feature's cut points (a categorical one's: none, its bins are its codes).
    cuts: Vec<Vec<f64>>,
    /// Each feature's missing bin: one past its value bins, the last of its histogram.
    missing: Vec<u8>,
    columns: Vec<Vec<u8>>,
    /// The same bins row-major, for walking trees row by row (one cache line a row).
    by_row: Vec<u8>,
    width: usize,
}

/// Rows sampled to place cut points (enough for 255 quantiles).
const CUT_SAMPLE: usize = 100_000;

/// Value bins per feature at most: byte 255 may be needed as a missing bin.
const MAX_VALUE_BINS: usize = 255;

fn fit_bins(rows: Rows, max_bins: usize, categorical: &[bool], seed: u64) -> Bins {
    let max_bins = max_bins.min(MAX_VALUE_BINS);
    let n = rows.len();
    let mut sample: Vec<usize> = (0..n).collect();
    if n > CUT_SAMPLE {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB1_75);
        sample.shuffle(&mut rng);
        sample.truncate(CUT_SAMPLE);
    }
    let per_feature = |f: usize| -> (Vec<f64>, Vec<u8>, u8) {
        let value = |i: usize| rows.x[i * rows.d + f];
        if categorical.get(f) == Some(&true) {
            // The codes are the bins (checked: integers in 0..255); missing is one past the largest.
            let missing = (0..n).map(value).filter(|v| !v.is_nan()).fold(0.0f64, f64::max) as u8 + 1;
            let codes = (0..n).map(|i| if value(i).is_nan() { missing } else { value(i) as u8 }).collect();
            return (Vec::new(), codes, missing);
        }
        let mut values: Vec<f64> = sample.iter().map(|&i| value(i)).filter(|v| !v.is_nan()).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        // Cuts are distinct data values (the upper side of each boundary), evenly spread in rank.
        let mut cuts = Vec::new();
        if values.len() <= max_bins {
            cuts.extend_from_slice(&values[1.min(values.len())..]);
        } else {
            for k in 1..max_bins {
                let v = values[k * values.len() / max_bins];
                if cuts.last() != Some(&v) {
                    cuts.push(v);
                }
            }
        }
        let missing = cuts.len() as u8 + 1;
        let column = (0..n).map(|i| if value(i).is_nan() { missing } else { bin_of(&cuts, value(i)) }).collect();
        (cuts, column, missing)
    };
    let mut cuts = Vec::with_capacity(rows.d);
    let mut columns = Vec::with_capacity(rows.d);
    let mut missing = Vec::with_capacity(rows.d);
    let features: Vec<usize> = (0..rows.d).collect();
    for (c, column, m) in on_every_core(&features, |chunk| chunk.iter().map(|&f| per_feature(f)).collect()) {
        cuts.push(c);
        columns.push(column);
        missing.push(m);
    }
    let width = columns.len();
    let mut by_row = vec![0u8; n * width];
    for (f, column) in columns.iter().enumerate() {
        for (i, &b) in column.iter().enumerate() {
            by_row[i * width + f] = b;
        }
    }
    Bins { cuts, missing, columns, by_row, width }
}

/// The bin of a value: how many cuts are <= it.
fn bin_of(cuts: &[f64], v: f64) -> u8 {
    cuts.partition_point(|&c| c <= v) as u8
}

/// Runs `work` on contiguous chunks of `items` on every core, results in order.
fn on_every_core<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    on_cores(items, usize::MAX, work)
}

/// As [`on_every_core`], but on one thread when `cost` (elements touched) is
/// too small to pay for spawning.
fn on_cores<T: Sync, R: Send>(items: &[T], cost: usize, work: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    const WORTH_A_THREAD: usize = 200_000;
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(items.len().max(1));
    if threads <= 1 || cost < WORTH_A_THREAD {
        return work(items);
    }
    let size = items.len().div_ceil(threads);
    thread::scope(|s| {
        let handles: Vec<_> = items.chunks(size).map(|c| s.spawn(|| work(c))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Gradient and hessian sums per bin of one feature, plus row counts.
#[derive(Clone, Default)]
struct Hist {
    g: Vec<f64>,
    h: Vec<f64>,
    n: Vec<u32>,
}

fn build_hists(bins: &Bins, features: &[usize], rows: &[u32], g: &[f64], h: &[f64]) -> Vec<Hist> {
    // Gather the leaf's gradients once, in row order: each feature then reads them sequentially.
    let gl: Vec<f64> = rows.iter().map(|&r| g[r as usize]).collect();
    let hl: Vec<f64> = rows.iter().map(|&r| h[r as usize]).collect();
    let (g, h) = (&gl, &hl);
    on_cores(features, rows.len() * features.len(), |chunk| {
        chunk
            .iter()
            .map(|&f| {
                let width = bins.missing[f] as usize + 1;
                let mut hist = Hist { g: vec![0.0; width], h: vec![0.0; width], n: vec![0; width] };
                let column = &bins.columns[f];
                for ((&r, &gr), &hr) in rows.iter().zip(g).zip(h) {
                    let b = column[r as usize] as usize;
                    hist.g[b] += gr;
                    hist.h[b] += hr;
                    hist.n[b] += 1;
                }
                hist
            })
            .collect()
    })
}

fn subtract(parent: &[Hist], child: &[Hist]) -> Vec<Hist> {
    parent
        .iter()
        .zip(child)
        .map(|(p, c)| Hist {
            g: p.g.iter().zip(&c.g).map(|(a, b)| a - b).collect(),
            h: p.h.iter().zip(&c.h).map(|(a, b)| a - b).collect(),
            n: p.n.iter().zip(&c.n).map(|(a, b)| a - b).collect(),
        })
        .collect()
}

#[derive(Clone, Copy)]
struct Candidate {
    gain: f64,
    feature_slot: usize,
    /// A numeric split's last bin on the left (its value bins' count - 1: every value left).
    bin: u8,
    missing_left: bool,
    /// A category split's codes on the left.
    set: Option<CategorySet>,
}

/// A leaf while the tree grows.
struct Open {
    rows: Vec<u32>,
    cover: f64,
    hists: Vec<Hist>,
    g: f64,
    h: f64,
    depth: usize,
    best: Option<Candidate>,
    /// Where this leaf hangs: (split node, is left child), or None for the root.
    parent: Option<(usize, bool)>,
}

fn is_categorical(opts: &BoostOptions, f: usize) -> bool {
    opts.categorical.get(f) == Some(&true)
}

fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

/// Sums of gradient, hessian and rows.
type Sums = (f64, f64, usize);

/// Tries one split whose left side sums to `left`; `missing` is where the
/// node's missing rows went (`None`: it saw none for this feature).
fn consider(best: &mut Option<Candidate>, left: Sums, total: Sums, missing: Option<bool>, opts: &BoostOptions) -> bool {
    let (gl, hl, nl) = left;
    let (gr, hr, nr) = (total.0 - gl, total.1 - hl, total.2 - nl);
    if nl < opts.min_rows_leaf || hl < opts.min_child_hessian || nr < opts.min_rows_leaf || hr < opts.min_child_hessian
    {
        return false;
    }
    let gain = score(gl, hl, opts.l2) + score(gr, hr, opts.l2) - score(total.0, total.1, opts.l2);
    if gain > 1e-12 && best.is_none_or(|c| gain > c.gain) {
        // A feature never missing at this node (as in training for a feature never missing at all) sends
        // missing values with the child of larger hessian: the likelier side, XGBoost's documented default.
        let missing_left = missing.unwrap_or(hl >= hr);
        *best = Some(Candidate { gain, feature_slot: 0, bin: 0, missing_left, set: None });
        return true;
    }
    false
}

fn best_split(
    hists: &[Hist],
    categorical: &[bool],
    g: f64,
    h: f64,
    n: usize,
    depth: usize,
    opts: &BoostOptions,
) -> Option<Candidate> {
    if depth >= opts.max_depth || n < 2 * opts.min_rows_leaf {
        return None;
    }
    let total = (g, h, n);
    let mut best: Option<Candidate> = None;
    for (slot, hist) in hists.iter().enumerate() {
        // The last bin holds the missing rows.
        let values = hist.g.len() - 1;
        let (gm, hm, nm) = (hist.g[values], hist.h[values], hist.n[values] as usize);
        let with_missing = |(gl, hl, nl): Sums| (gl + gm, hl + hm, nl + nm);
        let seen_missing = nm > 0;
        if categorical[slot] {
            // Codes with enough rows, ordered by their smoothed gradient ratio.
            let mut order: Vec<(f64, usize)> = (0..values)
                .filter(|&c| hist.n[c] as usize >= opts.min_category_rows.max(1))
                .map(|c| (hist.g[c] / (hist.h[c] + opts.cat_smooth), c))
                .collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let most = opts.max_cat_threshold.min(order.len());
            for from_high in [false, true] {
                let (mut left, mut set) = ((0.0, 0.0, 0usize), CategorySet::default());
                for k in 0..most {
                    let c = if from_high { order[order.len() - 1 - k].1 } else { order[k].1 };
                    left = (left.0 + hist.g[c], left.1 + hist.h[c], left.2 + hist.n[c] as usize);
                    set.insert(c as u32);
                    let tries = [(left, seen_missing.then_some(false)), (with_missing(left), Some(true))];
                    for (l, missing) in tries.into_iter().take(1 + seen_missing as usize) {
                        if consider(&mut best, l, total, missing, opts) {
                            best = best.map(|b| Candidate { feature_slot: slot, set: Some(set), ..b });
                        }
                    }
                }
            }
            continue;
        }
        // Thresholds "bin <= b"; with missing rows also "every value left, missing right".
        let last = if seen_missing { values } else { values.saturating_sub(1) };
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
        for b in 0..last {
            gl += hist.g[b];
            hl += hist.h[b];
            nl += hist.n[b] as usize;
            if n - nl < opts.min_rows_leaf || h - hl < opts.min_child_hessian {
                break;
            }
            let tries = [((gl, hl, nl), seen_missing.then_some(false)), (with_missing((gl, hl, nl)), Some(true))];
            for (l, missing) in tries.into_iter().take(1 + seen_missing as usize) {
                if consider(&mut best, l, total, missing, opts) {
                    best = best.map(|c| Candidate { feature_slot: slot, bin: b as u8, ..c });
                }
            }
        }
    }
    best
}

/// Gradients, hessians and sample weights of the rows of one round.
struct Round<'a> {
    g: &'a [f64],
    h: &'a [f64],
    w: &'a [f64],
}

fn grow_tree(bins: &Bins, features: &[usize], rows: Vec<u32>, round: &Round, opts: &BoostOptions) -> Tree {
    let (g, h) = (round.g, round.h);
    let sums = |rows: &[u32]| {
        rows.iter()
            .fold((0.0, 0.0, 0.0), |(a, b, c), &r| (a + g[r as usize], b + h[r as usize], c + round.w[r as usize]))
    };
    let categorical: Vec<bool> = features.iter().map(|&f| is_categorical(opts, f)).collect();
    let hists = build_hists(bins, features, &rows, g, h);
    let (gs, hs, cover) = sums(&rows);
    let best = best_split(&hists, &categorical, gs, hs, rows.len(), 0, opts);
    let mut open = vec![Open { rows, cover, hists, g: gs, h: hs, depth: 0, best, parent: None }];
    let mut done: Vec<Open> = Vec::new();
    let mut splits: Vec<Split> = Vec::new();
    while open.len() + done.len() < opts.max_leaves {
        // The open leaf with the largest gain splits next; ties go to the older leaf.
        let pick = open.iter().enumerate().filter_map(|(i, o)| o.best.map(|c| (i, c.gain))).fold(
            None,
            |acc: Option<(usize, f64)>, (i, gain)| match acc {
                Some((_, g0)) if g0 >= gain => acc,
                _ => Some((i, gain)),
            },
        );
        let Some((i, _)) = pick else { break };
        let leaf = open.swap_remove(i);
        let Some(c) = leaf.best else { unreachable!("picked leaves have a split") };
        let feature = features[c.feature_slot];
        let column = &bins.columns[feature];
        let missing_bin = bins.missing[feature];
        let threshold = match c.set {
            Some(_) => 0.0,
            // Every value left: no cut above them all, but every finite value is below the largest double.
            None => bins.cuts[feature].get(c.bin as usize).copied().unwrap_or(f64::MAX),
        };
        let split = Split {
            feature,
            threshold,
            left: 0,
            right: 0,
            cover: leaf.cover,
            missing_left: c.missing_left,
            categories: c.set,
            bin: c.bin,
            missing_bin,
        };
        let (nodes, sets) = Tree { splits: vec![split], leaves: Vec::new(), leaf_covers: Vec::new() }.binned_nodes();
        let s = nodes[0];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = leaf
            .rows
            .iter()
            .partition(|&&r| goes_left(column[r as usize], s.bin, s.missing, s.missing_left, s.set, &sets));
        let node = splits.len();
        splits.push(split);
        if let Some((p, is_left)) = leaf.parent {
            if is_left {
                splits[p].left = node as i32;
            } else {
                splits[p].right = node as i32;
            }
        }
        let (small, large, small_is_left) = if left_rows.len() <= right_rows.len() {
            (left_rows, right_rows, true)
        } else {
            (right_rows, left_rows, false)
        };
        let small_hists = build_hists(bins, features, &small, g, h);
        let large_hists = subtract(&leaf.hists, &small_hists);
        for (rows, hists, is_left) in [(small, small_hists, small_is_left), (large, large_hists, !small_is_left)] {
            let (gs, hs, cover) = sums(&rows);
            let depth = leaf.depth + 1;
            let best = best_split(&hists, &categorical, gs, hs, rows.len(), depth, opts);
            let child = Open { rows, cover, hists, g: gs, h: hs, depth, best, parent: Some((node, is_left)) };
            if child.best.is_some() {
                open.push(child);
            } else {
                done.push(child);
            }
        }
    }
    // Number the leaves and point their parents at them.
    let mut leaves = Vec::new();
    let mut leaf_covers = Vec::new();
    for leaf in done.into_iter().chain(open) {
        let index = leaves.len() as i32;
        leaves.push(-leaf.g / (leaf.h + opts.l2) * opts.learning_rate);
        leaf_covers.push(leaf.cover);
        match leaf.parent {
            Some((p, true)) => splits[p].left = !index,
            Some((p, false)) => splits[p].right = !index,
            None => {}
        }
    }
    Tree { splits, leaves, leaf_covers }
}

fn sigmoid(t: f64) -> f64 {
    let e = (-t.abs()).exp();
    if t >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

fn log_loss(logits: &[f64], y: &[u8]) -> f64 {
    let sum: f64 = logits
        .iter()
        .zip(y)
        .map(|(&t, &yi)| {
            let margin = if yi == 1 { -t } else { t };
            margin.max(0.0) + (-t.abs()).exp().ln_1p()
        })
        .sum();
    sum / y.len().max(1) as f64
}

fn check(train: &Rows, validation: &Rows, opts: &BoostOptions) -> Result<(), BoostError> {
    let bad = |why: String| Err(BoostError::BadInput(why));
    for (name, rows) in [("train", train), ("validation", validation)] {
        if rows.d == 0 || rows.x.len() != rows.len() * rows.d {
            return bad(format!("{name}: {} values for {} rows of {}", rows.x.len(), rows.len(), rows.d));
        }
        let frauds = rows.y.iter().filter(|&&v| v == 1).count();
        if frauds == 0 || frauds == rows.len() {
            return bad(format!("{name}: both classes are needed"));
        }
    }
    if validation.d != train.d {
        return bad("train and validation have different widths".into());
    }
    let unit = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
    if !(unit(opts.neg_fraction) && unit(opts.col_fraction)) {
        return bad("row and column fractions must be in (0, 1]".into());
    }
    if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
        return bad(format!("learning rate must be positive, got {}", opts.learning_rate));
    }
    if !(opts.l2.is_finite() && opts.l2 >= 0.0 && opts.min_child_hessian.is_finite() && opts.min_child_hessian >= 0.0) {
        return bad("l2 and min child hessian must be finite and >= 0".into());
    }
    if !(opts.fraud_weight.is_finite() && opts.fraud_weight > 0.0) {
        return bad(format!("fraud weight must be positive, got {}", opts.fraud_weight));
    }
    if !(2..=256).contains(&opts.max_bins) || opts.max_leaves < 2 || opts.rounds == 0 {
        return bad("max bins must be in 2..=256, max leaves >= 2, rounds >= 1".into());
    }
    if !(opts.categorical.is_empty() || opts.categorical.len() == train.d) {
        return bad(format!("{} categorical flags for {} features", opts.categorical.len(), train.d));
    }
    if !(opts.cat_smooth.is_finite() && opts.cat_smooth >= 0.0) || opts.max_cat_threshold == 0 {
        return bad("cat smooth must be finite and >= 0, max cat threshold >= 1".into());
    }
    for f in (0..train.d).filter(|&f| is_categorical(opts, f)) {
        let code = |v: f64| v.is_nan() || (v >= 0.0 && v < MAX_VALUE_BINS as f64 && v.fract() == 0.0);
        if let Some(v) = train.x.iter().skip(f).step_by(train.d).find(|&&v| !code(v)) {
            return bad(format!("categorical feature {f}: {v} is not a code in 0..{MAX_VALUE_BINS} or missing"));
        }
    }
    if !(1..=fraud_core::trees::MAX_DEPTH).contains(&opts.max_depth) {
        return bad(format!("max depth must be in 1..={}, got {}", fraud_core::trees::MAX_DEPTH, opts.max_depth));
    }
    Ok(())
}

/// Boosts trees on `train`, stopping early on `validation`'s log-loss; keeps
/// the best round's trees.
pub fn boost(train: Rows, validation: Rows, opts: &BoostOptions) -> Result<(Ensemble, BoostReport), BoostError> {
    check(&train, &validation, opts)?;
    let t = Instant::now();
    let n = train.len();
    let bins = fit_bins(train, opts.max_bins, &opts.categorical, opts.seed);
    let weight = |y: u8| if y == 1 { opts.fraud_weight } else { 1.0 };
    let (wp, wt) = train.y.iter().fold((0.0, 0.0), |(p, t), &y| (p + y as f64 * weight(y), t + weight(y)));
    let base_score = (wp / (wt - wp)).ln();
    let mut f = vec![base_score; n];
    let mut f_val = vec![base_score; validation.len()];
    let (mut g, mut h, mut w) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let neg_weight = 1.0 / opts.neg_fraction;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let all_features: Vec<usize> = (0..train.d).collect();
    let n_cols = ((train.d as f64 * opts.col_fraction).ceil() as usize).clamp(1, train.d);
    let mut trees = Vec::new();
    let mut losses = Vec::new();
    let mut rows_buffer: Vec<u32> = Vec::with_capacity(n);
    let (mut best_loss, mut best_round) = (f64::INFINITY, 0);
    for round in 0..opts.rounds {
        // Every fraud, and a weighted sample of the legitimate rows.
        let mut rows: Vec<u32> = std::mem::take(&mut rows_buffer);
        rows.clear();
        for i in 0..n {
            let fraud = train.y[i] == 1;
            let sampled = if fraud || opts.neg_fraction >= 1.0 {
                1.0
            } else if rng.gen::<f64>() < opts.neg_fraction {
                neg_weight
            } else {
                continue;
            };
            let p = sigmoid(f[i]);
            let wi = weight(train.y[i]) * sampled;
            g[i] = wi * (p - train.y[i] as f64);
            h[i] = wi * p * (1.0 - p);
            w[i] = sampled;
            rows.push(i as u32);
        }
        let mut features = all_features.clone();
        if n_cols < train.d {
            features.shuffle(&mut rng);
            features.truncate(n_cols);
            features.sort_unstable();
        }
        let tree = grow_tree(&bins, &features, rows, &Round { g: &g, h: &h, w: &w }, opts);
        add_tree(&tree, &bins.by_row, bins.width, &mut f);
        // Validation rows walk the raw trees (`core`'s decisions: codes and NaN unseen in training too),
        // which on binnable values is exactly the binned walk (`x < cuts[k]` exactly when `bin(x) <= k`).
        add_tree_raw(&tree, validation.x, validation.d, &mut f_val);
        trees.push(tree);
        let loss = log_loss(&f_val, validation.y);
        losses.push(loss);
        if loss < best_loss {
            (best_loss, best_round) = (loss, round + 1);
        } else if round + 1 - best_round >= opts.early_stopping_rounds {
            break;
        }
    }
    let rounds_run = trees.len();
    trees.truncate(best_round);
    let report = BoostReport { rounds: best_round, rounds_run, validation_loss: losses, elapsed: t.elapsed() };
    Ok((Ensemble { base_score, trees }, report))
}

#[cfg(test)]
mod tests;
