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

use std::thread;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
    /// Bins per feature at most (<= 256: bins are stored in a byte).
    pub max_bins: usize,
    /// Stop when validation log-loss has not improved for this many rounds.
    pub early_stopping_rounds: usize,
    /// Weight of a fraud's loss relative to a legitimate one's.
    pub fraud_weight: f64,
    /// Seed of the row and column sampling.
    pub seed: u64,
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
        }
    }
}

/// A split node: `x[feature] < threshold` goes left. Children are node
/// indexes, or leaves as `!leaf_index` (negative).
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
    bin: u8,
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
            node = if x[s.feature] < s.threshold { s.left } else { s.right };
        }
        self.leaves[!node as usize]
    }

    #[cfg(test)]
    fn value_binned(&self, bins: &Bins, row: usize) -> f64 {
        let nodes = self.binned_nodes();
        walk(&nodes, &self.leaves, &bins.by_row[row * bins.width..(row + 1) * bins.width])
    }

    /// The splits as small bin-comparing nodes, for walking binned rows.
    fn binned_nodes(&self) -> Vec<BinNode> {
        self.splits
            .iter()
            .map(|s| BinNode { feature: s.feature as u16, bin: s.bin, left: s.left, right: s.right })
            .collect()
    }
}

/// A split over bins (12 bytes: a tree of 30 splits fits in a few cache lines).
#[derive(Clone, Copy)]
struct BinNode {
    feature: u16,
    bin: u8,
    left: i32,
    right: i32,
}

#[inline(always)]
fn walk(nodes: &[BinNode], leaves: &[f64], row: &[u8]) -> f64 {
    let mut node = if nodes.is_empty() { -1 } else { 0 };
    while node >= 0 {
        let s = nodes[node as usize];
        node = if row[s.feature as usize] <= s.bin { s.left } else { s.right };
    }
    leaves[!node as usize]
}

/// Adds a tree's value to the logit of every binned row (row-major, `width`
/// bytes a row), on every core.
fn add_tree(tree: &Tree, by_row: &[u8], width: usize, logits: &mut [f64]) {
    let nodes = tree.binned_nodes();
    let threads = thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let size = logits.len().div_ceil(threads).max(4096);
    thread::scope(|s| {
        for (k, chunk) in logits.chunks_mut(size).enumerate() {
            let rows = &by_row[k * size * width..];
            let nodes = &nodes;
            s.spawn(move || {
                for (f, row) in chunk.iter_mut().zip(rows.chunks_exact(width)) {
                    *f += walk(nodes, &tree.leaves, row);
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
        fraud_core::TreeEnsemble {
            base_score: self.base_score,
            trees: self
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
                            missing_left: true,
                            categories: None,
                        })
                        .collect(),
                    leaves: t
                        .leaves
                        .iter()
                        .zip(&t.leaf_covers)
                        .map(|(&value, &cover)| fraud_core::LeafParams { value, cover })
                        .collect(),
                })
                .collect(),
            category_sets: Vec::new(),
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
    cuts: Vec<Vec<f64>>,
    columns: Vec<Vec<u8>>,
    /// The same bins row-major, for walking trees row by row (one cache line a row).
    by_row: Vec<u8>,
    width: usize,
}

/// Rows sampled to place cut points (enough for 255 quantiles).
const CUT_SAMPLE: usize = 100_000;

fn fit_bins(rows: Rows, max_bins: usize, seed: u64) -> Bins {
    let n = rows.len();
    let mut sample: Vec<usize> = (0..n).collect();
    if n > CUT_SAMPLE {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB1_75);
        sample.shuffle(&mut rng);
        sample.truncate(CUT_SAMPLE);
    }
    let per_feature = |f: usize| -> (Vec<f64>, Vec<u8>) {
        let mut values: Vec<f64> = sample.iter().map(|&i| rows.x[i * rows.d + f]).collect();
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
        let column = (0..n).map(|i| bin_of(&cuts, rows.x[i * rows.d + f])).collect();
        (cuts, column)
    };
    let features: Vec<usize> = (0..rows.d).collect();
    let (cuts, columns) =
        on_every_core(&features, |chunk| chunk.iter().map(|&f| per_feature(f)).collect()).into_iter().unzip();
    let columns: Vec<Vec<u8>> = columns;
    let width = columns.len();
    let mut by_row = vec![0u8; n * width];
    for (f, column) in columns.iter().enumerate() {
        for (i, &b) in column.iter().enumerate() {
            by_row[i * width + f] = b;
        }
    }
    Bins { cuts, columns, by_row, width }
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
                let width = bins.cuts[f].len() + 1;
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
    bin: u8,
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

fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

fn best_split(hists: &[Hist], g: f64, h: f64, n: usize, depth: usize, opts: &BoostOptions) -> Option<Candidate> {
    if depth >= opts.max_depth || n < 2 * opts.min_rows_leaf {
        return None;
    }
    let parent = score(g, h, opts.l2);
    let mut best: Option<Candidate> = None;
    for (slot, hist) in hists.iter().enumerate() {
        let (mut gl, mut hl, mut nl) = (0.0, 0.0, 0usize);
        for b in 0..hist.g.len().saturating_sub(1) {
            gl += hist.g[b];
            hl += hist.h[b];
            nl += hist.n[b] as usize;
            let (gr, hr, nr) = (g - gl, h - hl, n - nl);
            if nl < opts.min_rows_leaf || hl < opts.min_child_hessian {
                continue;
            }
            if nr < opts.min_rows_leaf || hr < opts.min_child_hessian {
                break;
            }
            let gain = score(gl, hl, opts.l2) + score(gr, hr, opts.l2) - parent;
            if gain > 1e-12 && best.is_none_or(|c| gain > c.gain) {
                best = Some(Candidate { gain, feature_slot: slot, bin: b as u8 });
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
    let hists = build_hists(bins, features, &rows, g, h);
    let (gs, hs, cover) = sums(&rows);
    let best = best_split(&hists, gs, hs, rows.len(), 0, opts);
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
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) =
            leaf.rows.iter().partition(|&&r| column[r as usize] <= c.bin);
        let node = splits.len();
        splits.push(Split {
            feature,
            threshold: bins.cuts[feature][c.bin as usize],
            left: 0,
            right: 0,
            cover: leaf.cover,
            bin: c.bin,
        });
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
            let best = best_split(&hists, gs, hs, rows.len(), depth, opts);
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
    let bins = fit_bins(train, opts.max_bins, opts.seed);
    let weight = |y: u8| if y == 1 { opts.fraud_weight } else { 1.0 };
    let (wp, wt) = train.y.iter().fold((0.0, 0.0), |(p, t), &y| (p + y as f64 * weight(y), t + weight(y)));
    let base_score = (wp / (wt - wp)).ln();
    let mut f = vec![base_score; n];
    let mut f_val = vec![base_score; validation.len()];
    // Validation rows binned with the train cuts: `x < cuts[k]` exactly when `bin(x) <= k`.
    let mut val_by_row = vec![0u8; validation.len() * bins.width];
    for (row, x) in val_by_row.chunks_exact_mut(bins.width).zip(validation.x.chunks_exact(validation.d)) {
        for ((b, &v), cuts) in row.iter_mut().zip(x).zip(&bins.cuts) {
            *b = bin_of(cuts, v);
        }
    }
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
        add_tree(&tree, &val_by_row, bins.width, &mut f_val);
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
mod tests {
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
        let bins = fit_bins(rows, o.max_bins, o.seed);
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
        let bins = fit_bins(Rows { x: &x, y: &y, d: 1 }, 255, 0);
        assert_eq!(bins.cuts[0], vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(bins.columns[0], vec![2, 0, 1, 1, 4, 3]);
        let coarse = fit_bins(Rows { x: &x, y: &y, d: 1 }, 2, 0);
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
}
