//! Stratified train / validation / test split.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Row indices of each part, each sorted ascending (the file's time order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows to choose the threshold and the model on.
    pub validation: Vec<usize>,
    /// Held-out rows, only for the final figures.
    pub test: Vec<usize>,
}

/// Per-class counts for drawing `n_draw` of `counts.iter().sum()` rows,
/// proportionally: floors first, then the largest remainders (ties to the
/// larger class), as scikit-learn's `_approximate_mode` does.
fn allocate(counts: &[usize], n_draw: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let exact: Vec<f64> = counts.iter().map(|&c| c as f64 * n_draw as f64 / total as f64).collect();
    let mut take: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = n_draw.saturating_sub(take.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - take[b] as f64).total_cmp(&(exact[a] - take[a] as f64)).then(counts[b].cmp(&counts[a]))
    });
    for &c in order.iter().cycle().take(counts.len() * 2) {
        if left == 0 {
            break;
        }
        if take[c] < counts[c] {
            take[c] += 1;
            left -= 1;
        }
    }
    take
}

/// Splits as the Python original does with two stratified
/// `train_test_split` calls: first `ceil(test_fraction · n)` rows to test, then
/// `ceil(validation_fraction / (1 − test_fraction) · rest)` of the rest to
/// validation; train keeps the remainder. Each class is drawn in proportion,
/// so every part keeps the fraud rate. Shuffles use a seeded ChaCha8 stream:
/// same seed, same split, on any machine.
pub fn stratified_split(labels: &[u8], validation_fraction: f64, test_fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut classes: Vec<Vec<usize>> = [0u8, 1]
        .iter()
        .map(|&class| labels.iter().enumerate().filter(|(_, &y)| y == class).map(|(i, _)| i).collect())
        .collect();
    for idx in &mut classes {
        idx.shuffle(&mut rng);
    }
    let n = labels.len();
    let n_test = ((test_fraction * n as f64).ceil() as usize).min(n);
    let rest = n - n_test;
    let n_val = ((validation_fraction / (1.0 - test_fraction) * rest as f64).ceil() as usize).min(rest);
    let counts: Vec<usize> = classes.iter().map(Vec::len).collect();
    let test_take = allocate(&counts, n_test);
    let rest_counts: Vec<usize> = counts.iter().zip(&test_take).map(|(c, t)| c - t).collect();
    let val_take = allocate(&rest_counts, n_val);
    let mut split = Split { train: Vec::new(), validation: Vec::new(), test: Vec::new() };
    for ((idx, &t), &v) in classes.iter().zip(&test_take).zip(&val_take) {
        split.test.extend_from_slice(&idx[..t]);
        split.validation.extend_from_slice(&idx[t..t + v]);
        split.train.extend_from_slice(&idx[t + v..]);
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split.test.sort_unstable();
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_stratifies() {
        let labels: Vec<u8> = (0..10_000).map(|i| (i % 100 == 0) as u8).collect();
        let s = stratified_split(&labels, 0.2, 0.2, 42);
        let mut all: Vec<usize> = s.train.iter().chain(&s.validation).chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10_000).collect::<Vec<_>>(), "every row in exactly one part");
        let frauds = |v: &[usize]| v.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!((frauds(&s.train), frauds(&s.validation), frauds(&s.test)), (60, 20, 20));
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (6000, 2000, 2000));
    }

    #[test]
    fn sizes_match_the_python_original_on_the_real_class_counts() {
        // 284,315 legitimate + 492 frauds, 60/20/20: two stratified train_test_split calls give
        // 170,883 / 56,962 / 56,962 rows with 295 / 99 / 98 frauds.
        let mut labels = vec![0u8; 284_315];
        labels.extend([1u8; 492]);
        let s = stratified_split(&labels, 0.2, 0.2, 42);
        assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (170_883, 56_962, 56_962));
        let frauds = |v: &[usize]| v.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!(
            (frauds(&s.train), frauds(&s.validation), frauds(&s.test)),
            (295, 99, 98),
            "as scikit-learn splits them"
        );
    }

    #[test]
    fn seed_determines_split() {
        let labels: Vec<u8> = (0..1000).map(|i| (i % 10 == 0) as u8).collect();
        assert_eq!(stratified_split(&labels, 0.2, 0.2, 7), stratified_split(&labels, 0.2, 0.2, 7));
        assert_ne!(stratified_split(&labels, 0.2, 0.2, 7).test, stratified_split(&labels, 0.2, 0.2, 8).test);
    }
}
