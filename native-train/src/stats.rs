//! Summary statistics of repeated measurements: benchmark runs, split seeds.

/// Mean and sample standard deviation (0 for a single value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// The median (the upper one of an even count); NaN when empty.
pub fn median(v: Vec<f64>) -> f64 {
    median_min(v).0
}

/// The median and the minimum; NaN when empty.
pub fn median_min(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v.get(v.len() / 2).copied().unwrap_or(f64::NAN), v.first().copied().unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_of_small_samples() {
        assert_eq!(mean_std(&[2.0]), (2.0, 0.0));
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
        assert_eq!(median_min(vec![3.0, 1.0, 2.0, 4.0]), (3.0, 1.0));
        assert!(median(Vec::new()).is_nan());
    }
}
