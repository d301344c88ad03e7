//! Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2) over
//! the trees' own parameters (not the padded layout), and the expected logit
//! over the training covers that SHAP values add up from.

use alloc::vec;
use alloc::vec::Vec;

use super::{CategorySet, TreeParams, Trees, LEAF, MAX_DEPTH};

impl Trees {
    /// The mean of tree `t`'s leaves weighted by the path-dependent cover fractions TreeSHAP uses.
    pub(super) fn tree_mean(&self, t: usize) -> f64 {
        let tree = &self.params.trees[t];
        if tree.splits.is_empty() {
            return tree.leaves[0].value;
        }
        // (child reference, weight) with weight the product of cover fractions on the way.
        let mut stack = vec![(0u32, 1.0f64)];
        let mut mean = 0.0;
        while let Some((child, w)) = stack.pop() {
            if child & LEAF != 0 {
                mean += w * tree.leaves[(child & !LEAF) as usize].value;
            } else {
                let s = &tree.splits[child as usize];
                stack.push((s.right, w * cover_of(tree, s.right) / s.cover));
                stack.push((s.left, w * cover_of(tree, s.left) / s.cover));
            }
        }
        mean
    }

    /// Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2): each
    /// feature's contribution to the logit; they sum with
    /// [`Trees::expected_value`] to [`Trees::logit`].
    pub fn shap(&self, x: &[f64]) -> Vec<f64> {
        let mut phi = vec![0.0; x.len()];
        let deepest = self.max_depth() + 2;
        let mut path = vec![PathElement::default(); deepest * (deepest + 1) / 2];
        for t in 0..self.layout.len() {
            let tree = &self.params.trees[t];
            if tree.splits.is_empty() {
                continue;
            }
            let mut walk = ShapWalk { tree, sets: &self.params.category_sets, x, phi: &mut phi };
            walk.recurse(0, 0, &mut path, 0, 1.0, 1.0, NO_FEATURE);
        }
        phi
    }
}

pub(super) fn cover_of(tree: &TreeParams, child: u32) -> f64 {
    if child & LEAF != 0 {
        tree.leaves[(child & !LEAF) as usize].cover
    } else {
        tree.splits[child as usize].cover
    }
}

const NO_FEATURE: u32 = u32::MAX;

#[derive(Clone, Copy, Default)]
struct PathElement {
    feature: u32,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

struct ShapWalk<'a> {
    tree: &'a TreeParams,
    sets: &'a [CategorySet],
    x: &'a [f64],
    phi: &'a mut [f64],
}

/// `RECIP[k] = 1 / k`: the recurrences divide by small integers in their inner
/// loops, and a multiply is several times cheaper than a division.
const RECIP: [f64; MAX_DEPTH + 3] = {
    let mut table = [0.0; MAX_DEPTH + 3];
    let mut k = 1;
    while k < table.len() {
        table[k] = 1.0 / k as f64;
        k += 1;
    }
    table
};

/// Grows the path by one feature split (the subset-weight recurrence).
fn extend(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: u32) {
    path[depth] =
        PathElement { feature, zero_fraction: zero, one_fraction: one, weight: if depth == 0 { 1.0 } else { 0.0 } };
    let inv = RECIP[depth + 1];
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * ((i + 1) as f64 * inv);
        path[i].weight = zero * path[i].weight * ((depth - i) as f64 * inv);
    }
}

/// Undoes `extend` for the element at `index` (a feature met again further down).
fn unwind(path: &mut [PathElement], depth: usize, index: usize) {
    let (one, zero) = (path[index].one_fraction, path[index].zero_fraction);
    let mut next = path[depth].weight;
    let scale = (depth + 1) as f64;
    let inv = RECIP[depth + 1];
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next * scale * RECIP[i + 1] / one;
            next = tmp - path[i].weight * zero * ((depth - i) as f64 * inv);
        } else {
            path[i].weight = path[i].weight * scale * RECIP[depth - i] / zero;
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/// The total weight of the path with the element at `index` unwound.
fn unwound_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let (one, zero) = (path[index].one_fraction, path[index].zero_fraction);
    let mut next = path[depth].weight;
    let mut total = 0.0;
    if one != 0.0 {
        let inv_one = 1.0 / one;
        for i in (0..depth).rev() {
            let tmp = next * RECIP[i + 1] * inv_one;
            total += tmp;
            next = path[i].weight - tmp * zero * (depth - i) as f64;
        }
    } else {
        for i in (0..depth).rev() {
            total += path[i].weight / (zero * (depth - i) as f64);
        }
    }
    total * (depth + 1) as f64
}

impl ShapWalk<'_> {
    /// One node of the recursion. `buf` holds the parent's path at `buf[..=depth]`
    /// (position `start`); this level's copy goes right after it.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        child: u32,
        depth: usize,
        buf: &mut [PathElement],
        start: usize,
        zero: f64,
        one: f64,
        feature: u32,
    ) {
        let here = start + depth + 1;
        buf.copy_within(start..here, here);
        let path = &mut buf[here..];
        extend(path, depth, zero, one, feature);
        if child & LEAF != 0 {
            let value = self.tree.leaves[(child & !LEAF) as usize].value;
            for i in 1..=depth {
                let w = unwound_sum(path, depth, i);
                let el = path[i];
                self.phi[el.feature as usize] += w * (el.one_fraction - el.zero_fraction) * value;
            }
            return;
        }
        let s = self.tree.splits[child as usize];
        // The row's way (scoring's decision: missing values, category sets) is hot.
        let (hot, cold) =
            if s.goes_right(self.x[s.feature as usize], self.sets) { (s.right, s.left) } else { (s.left, s.right) };
        let (mut incoming_zero, mut incoming_one) = (1.0, 1.0);
        let mut depth = depth;
        if let Some(k) = (1..=depth).find(|&k| path[k].feature == s.feature) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind(path, depth, k);
            depth -= 1;
        }
        let hot_zero = cover_of(self.tree, hot) / s.cover;
        let cold_zero = cover_of(self.tree, cold) / s.cover;
        self.recurse(hot, depth + 1, buf, here, hot_zero * incoming_zero, incoming_one, s.feature);
        self.recurse(cold, depth + 1, buf, here, cold_zero * incoming_zero, 0.0, s.feature);
    }
}
