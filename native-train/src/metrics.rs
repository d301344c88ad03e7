//! Threshold selection and evaluation metrics, with scikit-learn's definitions.

use fraud_core::Metrics;

/// Cumulative counts when flagging every score `>= threshold`, one point per
/// distinct score, thresholds descending (as `precision_recall_curve` builds them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    /// The threshold (a distinct score).
    pub threshold: f64,
    /// Frauds flagged.
    pub tp: u64,
    /// Legitimate rows flagged.
    pub fp: u64,
}

/// Every distinct-score operating point, highest threshold first.
pub fn curve(scores: &[f64], labels: &[u8]) -> Vec<CurvePoint> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1 {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push(CurvePoint { threshold: scores[i], tp, fp });
        }
    }
    points
}

fn positives(labels: &[u8]) -> u64 {
    labels.iter().filter(|&&y| y == 1).count() as u64
}

fn f1_parts(tp: u64, fp: u64, fn_: u64) -> (u64, u64) {
    (2 * tp, 2 * tp + fp + fn_)
}

/// F1 at an operating point (0 when nothing is flagged and nothing is positive).
pub fn f1(tp: u64, fp: u64, fn_: u64) -> f64 {
    let (num, den) = f1_parts(tp, fp, fn_);
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// The threshold that maximises F1 over all distinct scores, and that F1.
/// F1 values are compared exactly (as fractions); ties go to the lowest
/// threshold, as `argmax` over `precision_recall_curve`'s ascending thresholds does.
pub fn best_f1_threshold(scores: &[f64], labels: &[u8]) -> (f64, f64) {
    best_f1_on_curve(&curve(scores, labels), positives(labels))
}

/// [`best_f1_threshold`] on a precomputed curve with `p` positives.
pub fn best_f1_on_curve(points: &[CurvePoint], p: u64) -> (f64, f64) {
    let mut best: Option<(CurvePoint, (u64, u64))> = None;
    for &pt in points {
        let frac = f1_parts(pt.tp, pt.fp, p - pt.tp);
        let better = match best {
            None => true,
            // a/b >= c/d  <=>  a·d >= c·b (">=": later points have lower thresholds).
            Some((_, (bn, bd))) => frac.0 as u128 * bd as u128 >= bn as u128 * frac.1 as u128,
        };
        if better {
            best = Some((pt, frac));
        }
    }
    match best {
        Some((pt, _)) => (pt.threshold, f1(pt.tp, pt.fp, p - pt.tp)),
        None => (0.5, 0.0),
    }
}

/// Average precision: `Σ (Rₙ − Rₙ₋₁) · Pₙ` over distinct thresholds (no interpolation).
pub fn average_precision(scores: &[f64], labels: &[u8]) -> f64 {
    average_precision_on_curve(&curve(scores, labels), positives(labels))
}

fn average_precision_on_curve(points: &[CurvePoint], p: u64) -> f64 {
    if p == 0 {
        return 0.0;
    }
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for pt in points {
        let recall = pt.tp as f64 / p as f64;
        let precision = pt.tp as f64 / (pt.tp + pt.fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    ap
}

/// Area under the ROC curve (trapezoids; ties count half). 0.5 when a class is absent.
pub fn roc_auc(scores: &[f64], labels: &[u8]) -> f64 {
    let p = positives(labels);
    roc_auc_on_curve(&curve(scores, labels), p, labels.len() as u64 - p)
}

fn roc_auc_on_curve(points: &[CurvePoint], p: u64, n: u64) -> f64 {
    if p == 0 || n == 0 {
        return 0.5;
    }
    let (mut area, mut prev_tp, mut prev_fp) = (0.0, 0u64, 0u64);
    for pt in points {
        area += (pt.fp - prev_fp) as f64 * (pt.tp + prev_tp) as f64 / 2.0;
        prev_tp = pt.tp;
        prev_fp = pt.fp;
    }
    area / (p as f64 * n as f64)
}

/// Every metric at `threshold` (flag when `score >= threshold`).
pub fn evaluate(scores: &[f64], labels: &[u8], threshold: f64) -> Metrics {
    evaluate_on_curve(scores, labels, threshold, &curve(scores, labels))
}

/// [`evaluate`] with the scores' curve already computed (sorting is the costly part).
pub fn evaluate_on_curve(scores: &[f64], labels: &[u8], threshold: f64, points: &[CurvePoint]) -> Metrics {
    let p = positives(labels);
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&s, &y) in scores.iter().zip(labels) {
        match (s >= threshold, y == 1) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Metrics {
        threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: f1(tp, fp, fn_),
        average_precision: average_precision_on_curve(points, p),
        roc_auc: roc_auc_on_curve(points, p, labels.len() as u64 - p),
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fn_,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // Descending: 0.9(1) 0.8(0) 0.7(1) 0.7(0) 0.3(1) 0.1(0)
        let s = [0.1, 0.9, 0.7, 0.3, 0.8, 0.7];
        let y = [0, 1, 1, 1, 0, 0];
        let c = curve(&s, &y);
        assert_eq!(c.len(), 5);
        assert_eq!(c[2], CurvePoint { threshold: 0.7, tp: 2, fp: 2 });
        // AP = 1/3·1 + 1/3·(2/4) + 1/3·(3/5)
        assert!((average_precision(&s, &y) - (1.0 + 0.5 + 0.6) / 3.0).abs() < 1e-15);
        // F1 at thresholds 0.9: 2/4, 0.8: 2/5, 0.7: 4/7, 0.3: 6/8, 0.1: 6/9 → 0.3.
        assert_eq!(best_f1_threshold(&s, &y), (0.3, 0.75));
        let m = evaluate(&s, &y, 0.3);
        assert_eq!((m.true_positives, m.false_positives, m.true_negatives, m.false_negatives), (3, 2, 1, 0));
        // AUC: pairs (pos > neg) + half ties over 9 pairs: 3 + 1.5 + 1.
        assert!((roc_auc(&s, &y) - 5.5 / 9.0).abs() < 1e-15);
    }

    #[test]
    fn ties_choose_lowest_threshold() {
        // Thresholds 0.9 → F1 2/3 (tp1, fn1), 0.5 → tp2 fp2: 4/6 = 2/3 too.
        let s = [0.9, 0.5, 0.5, 0.5, 0.1];
        let y = [1, 1, 0, 0, 0];
        assert_eq!(best_f1_threshold(&s, &y).0, 0.5);
    }
}
