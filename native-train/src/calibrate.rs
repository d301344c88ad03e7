//! Fitting the calibration map on validation logits, and measuring how well
//! served probabilities match outcomes.
//!
//! Platt scaling (Platt 1999): `p = sigmoid(a·z + b)` fitted by Newton's
//! method on the log-loss, with Platt's smoothed targets
//! (`(N₊+1)/(N₊+2)` for frauds, `1/(N₋+2)` for the rest) so that ~100
//! validation frauds cannot push the map to a step. Two parameters cannot
//! overfit the way isotonic regression does with so few positives.

use fraud_core::artifact::{CalibrationReport, ReliabilityBin};
use fraud_core::model::sigmoid;
use fraud_core::{Calibration, CalibrationMethod};

/// Which calibration the trainer fits (the CLI's `--calibration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationChoice {
    /// Platt scaling on validation.
    Platt,
    /// The analytic prior correction of resampling and class weights.
    Prior,
    /// None: the model's own sigmoid.
    None,
}

impl CalibrationChoice {
    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            CalibrationChoice::Platt => "platt",
            CalibrationChoice::Prior => "prior",
            CalibrationChoice::None => "none",
        }
    }

    /// The choice of a CLI spelling.
    pub fn from_name(name: &str) -> Option<CalibrationChoice> {
        [CalibrationChoice::Platt, CalibrationChoice::Prior, CalibrationChoice::None]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// The prior correction for a model whose training multiplied the fraud odds
/// by `odds_multiplier` (class weight ratio × oversampling factor): the
/// logit moves by `-ln(multiplier)` (Dal Pozzolo et al. 2015).
pub fn prior_correction(odds_multiplier: f64) -> Calibration {
    Calibration { method: CalibrationMethod::PriorCorrection, slope: 1.0, intercept: -odds_multiplier.ln() }
}

/// Platt scaling of `logits` against `labels`. Falls back to `fallback` when
/// the fit cannot give an increasing map (a model no better than chance).
pub fn platt(logits: &[f64], labels: &[u8], fallback: Calibration) -> Calibration {
    let positives = labels.iter().filter(|&&y| y == 1).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let (hi, lo) = ((positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0));
    let loss = |a: f64, b: f64| -> f64 {
        logits
            .iter()
            .zip(labels)
            .map(|(&z, &y)| {
                let t = if y == 1 { hi } else { lo };
                let s = a * z + b;
                // -[t ln σ(s) + (1-t) ln(1-σ(s))] = softplus(s) - t·s, stable for any s
                s.max(0.0) + (-s.abs()).exp().ln_1p() - t * s
            })
            .sum()
    };
    // Start at the fallback's map: the prior correction is usually close.
    let (mut a, mut b) = (fallback.slope, fallback.intercept);
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&z, &y) in logits.iter().zip(labels) {
            let t = if y == 1 { hi } else { lo };
            let p = sigmoid(a * z + b);
            let (d, w) = (p - t, (p * (1.0 - p)).max(1e-12));
            ga += d * z;
            gb += d;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if !(det.is_finite() && det > 0.0) {
            break;
        }
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        // Backtracking: Newton's step, halved until the loss goes down.
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nb) = (a - step * da, b - step * db);
            let l = loss(na, nb);
            if l.is_finite() && l < current {
                (a, b, current, improved) = (na, nb, l, true);
                break;
            }
            step /= 2.0;
        }
        if !improved || (da.abs() + db.abs()) * step < 1e-10 {
            break;
        }
    }
    let fitted = Calibration { method: CalibrationMethod::Platt, slope: a, intercept: b };
    if fitted.check().is_ok() {
        fitted
    } else {
        fallback
    }
}

/// Upper edges of the reliability diagram's bins: probabilities of fraud are
/// mostly tiny, so the low end is split by decades.
const BIN_EDGES: [f64; 10] = [0.0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0];

/// Brier score, log-loss, expected and observed frauds, and reliability bins.
pub fn report(probabilities: &[f64], labels: &[u8]) -> CalibrationReport {
    let n = probabilities.len().max(1) as f64;
    let (mut brier, mut log_loss, mut expected) = (0.0, 0.0, 0.0);
    let bins = BIN_EDGES.len() - 1;
    let (mut rows, mut sum_p, mut frauds) = (vec![0u64; bins], vec![0.0; bins], vec![0u64; bins]);
    for (&p, &y) in probabilities.iter().zip(labels) {
        let y1 = y == 1;
        brier += (p - y as f64) * (p - y as f64);
        // Clamped as scikit-learn's log_loss does, so one confident miss is finite.
        let q = p.clamp(1e-15, 1.0 - 1e-15);
        log_loss -= if y1 { q.ln() } else { (1.0 - q).ln() };
        expected += p;
        let bin = BIN_EDGES[1..].iter().position(|&upper| p < upper).unwrap_or(bins - 1);
        rows[bin] += 1;
        sum_p[bin] += p;
        frauds[bin] += y1 as u64;
    }
    let reliability = (0..bins)
        .filter(|&i| rows[i] > 0)
        .map(|i| ReliabilityBin {
            lower: BIN_EDGES[i],
            upper: BIN_EDGES[i + 1],
            rows: rows[i],
            mean_probability: sum_p[i] / rows[i] as f64,
            fraud_rate: frauds[i] as f64 / rows[i] as f64,
        })
        .collect();
    CalibrationReport {
        brier: brier / n,
        log_loss: log_loss / n,
        expected_frauds: expected,
        observed_frauds: labels.iter().filter(|&&y| y == 1).count() as u64,
        reliability,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn platt_recovers_a_known_map() {
        // Labels drawn from sigmoid(0.5·z - 3): Platt on z finds ~(0.5, -3).
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let logits: Vec<f64> = (0..200_000).map(|_| rng.gen_range(-10.0..10.0)).collect();
        let labels: Vec<u8> = logits.iter().map(|&z| (rng.gen::<f64>() < sigmoid(0.5 * z - 3.0)) as u8).collect();
        let c = platt(&logits, &labels, prior_correction(1.0));
        assert_eq!(c.method, CalibrationMethod::Platt);
        assert!((c.slope - 0.5).abs() < 0.03 && (c.intercept + 3.0).abs() < 0.1, "{c:?}");
        let probs: Vec<f64> = logits.iter().map(|&z| sigmoid(c.apply(z))).collect();
        let r = report(&probs, &labels);
        let observed = r.observed_frauds as f64;
        assert!((r.expected_frauds - observed).abs() / observed < 0.03, "{} vs {observed}", r.expected_frauds);
        assert_eq!(r.reliability.iter().map(|b| b.rows).sum::<u64>(), 200_000);
    }

    #[test]
    fn an_anti_correlated_score_falls_back() {
        let logits: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
        let labels: Vec<u8> = (0..1000).map(|i| (i < 50) as u8).collect();
        let fallback = prior_correction(4.0);
        assert_eq!(platt(&logits, &labels, fallback), fallback);
        assert!((fallback.intercept + 4f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn report_figures_by_hand() {
        let r = report(&[0.0, 0.5, 1.0, 0.00005], &[0, 1, 1, 0]);
        assert!((r.brier - 0.25 / 4.0).abs() < 1e-9);
        assert!((r.expected_frauds - 1.50005).abs() < 1e-12);
        assert_eq!(r.observed_frauds, 2);
        assert_eq!(r.reliability.len(), 3);
        assert_eq!((r.reliability[0].rows, r.reliability[0].fraud_rate), (2, 0.0));
        assert_eq!(r.reliability.last().map(|b| b.rows), Some(1));
    }
}
