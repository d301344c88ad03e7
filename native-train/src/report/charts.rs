//! The report's charts: what each one shows of a run, drawn with [`super::svg`].

use fraud_core::decision::format_money;
use fraud_core::Policy;

use super::svg::{bars, log_odds_range, Axis, Mark, Plot, Scale, Series};
use crate::pipeline::{Candidate, Outcome};
use crate::tables::policy_label;

const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

/// Features the importance chart shows at most.
const TOP_FEATURES: usize = 15;

/// Every curve chart, in page order: both candidate comparisons, then the selected model's.
pub(super) fn curves(outcome: &Outcome) -> String {
    let chosen = &outcome.candidates[outcome.selected];
    [pr_plot(outcome), f1_plot(outcome), net_plot(chosen), histogram_plot(chosen), reliability_plot(chosen)].join("")
}

/// Horizontal bars of the most important features.
pub(super) fn importance(names: &[String], importance: &[f64]) -> String {
    bars(names, importance, TOP_FEATURES)
}

/// One series per candidate, coloured in fit order.
fn per_candidate<'a>(
    outcome: &'a Outcome,
    mark: Mark,
    points: impl Fn(&Candidate) -> Vec<(f64, f64)>,
) -> Vec<Series<'a>> {
    outcome
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| Series::new(c.name(), COLORS[i % COLORS.len()], mark, points(c)))
        .collect()
}

fn pr_plot(outcome: &Outcome) -> String {
    Plot {
        title: "Precision–recall on test (every step)".into(),
        x: Axis { label: "recall", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
        y: Axis { label: "precision", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
        series: per_candidate(outcome, Mark::Steps, |c| c.test_pr_curve.clone()),
        diagonal: false,
    }
    .render()
}

fn f1_plot(outcome: &Outcome) -> String {
    let (lo, hi) = log_odds_range(outcome.candidates.iter().flat_map(|c| c.validation_f1_curve.iter().map(|p| p.0)));
    let mut series = per_candidate(outcome, Mark::Line, |c| c.validation_f1_curve.clone());
    series.push(Series::new(
        "● each one's F1 threshold",
        "#000",
        Mark::Dots,
        outcome.candidates.iter().map(|c| (c.validation.threshold, c.validation.f1)).collect(),
    ));
    Plot {
        title: "F1 on validation vs threshold (calibrated)".into(),
        x: Axis { label: "threshold on P(fraud), log-odds scale", scale: Scale::LogOdds, lo, hi },
        y: Axis { label: "F1", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
        series,
        diagonal: false,
    }
    .render()
}

fn net_plot(c: &Candidate) -> String {
    let find = |p: Policy| c.policies.iter().find(|r| r.policy == p);
    let accept = c.policies.first().map_or(0.0, |p| p.validation.accept_all);
    let best = c.validation_net_curve.iter().map(|p| p.1).fold(accept, f64::max);
    let span = (best - accept).abs().max(1.0);
    let (lo, hi) = log_odds_range(c.validation_net_curve.iter().map(|p| p.0));
    let cur = &c.model.costs().currency;
    let mut series =
        vec![Series::new(format!("{} (validation)", c.name()), COLORS[0], Mark::Line, c.validation_net_curve.clone())];
    for (policy, color) in [(Policy::F1Threshold, "#2ca02c"), (Policy::NetBenefitThreshold, "#d62728")] {
        if let Some(r) = find(policy) {
            series.push(Series::new(policy_label(policy), color, Mark::VLine, vec![(r.threshold.unwrap_or(0.5), 0.0)]));
        }
    }
    if let Some(r) = find(Policy::CostOptimal) {
        series.push(Series::new(
            format!("cost-optimal: {}", format_money(r.validation.net_benefit, cur)),
            "#9467bd",
            Mark::HLine,
            vec![(0.0, r.validation.net_benefit)],
        ));
    }
    series.push(Series::new(
        format!("accept all: {}", format_money(accept, cur)),
        "#7f7f7f",
        Mark::HLine,
        vec![(0.0, accept)],
    ));
    let y_label = format!("net benefit ({})", if cur == "EUR" { "€" } else { cur.as_str() });
    Plot {
        title: "Net benefit vs threshold, each policy marked".into(),
        x: Axis { label: "threshold on P(fraud), log-odds scale", scale: Scale::LogOdds, lo, hi },
        y: Axis { label: &y_label, scale: Scale::Linear, lo: accept - 1.5 * span, hi: best + 0.25 * span },
        series,
        diagonal: false,
    }
    .render()
}

fn histogram_plot(c: &Candidate) -> String {
    let h = &c.test_histogram;
    // Bins are in log-odds; the axis takes probabilities. Empty bins sit at 0.5 so the log axis can show them.
    let steps = |counts: &[u64]| -> Vec<(f64, f64)> {
        let mut pts = Vec::with_capacity(counts.len() + 1);
        for (k, &n) in counts.iter().enumerate() {
            let z = h.lowest + k as f64 * h.width;
            pts.push((1.0 / (1.0 + (-z).exp()), (n as f64).max(0.5)));
        }
        let z_end = h.lowest + counts.len() as f64 * h.width;
        pts.push((1.0 / (1.0 + (-z_end).exp()), counts.last().map_or(0.5, |&n| (n as f64).max(0.5))));
        pts
    };
    let top = h.legitimate.iter().chain(&h.fraud).copied().max().unwrap_or(1).max(1) as f64;
    let mut series = vec![
        Series::new("legitimate", "#1f77b4", Mark::Steps, steps(&h.legitimate)),
        Series::new("fraud", "#d62728", Mark::Steps, steps(&h.fraud)),
    ];
    if c.model.policy().uses_threshold() {
        series.push(Series::new("served threshold", "#000", Mark::VLine, vec![(c.model.threshold(), 1.0)]));
    }
    Plot {
        title: format!("Scores on test by class — {}", c.name()),
        x: Axis {
            label: "P(fraud), log-odds scale",
            scale: Scale::LogOdds,
            lo: h.lowest,
            hi: h.lowest + h.width * h.legitimate.len() as f64,
        },
        y: Axis { label: "transactions (log scale)", scale: Scale::Log10, lo: -0.4, hi: top.log10() + 0.2 },
        series,
        diagonal: false,
    }
    .render()
}

fn reliability_plot(c: &Candidate) -> String {
    let bins = &c.calibration_test.reliability;
    // Bins without frauds have rate 0, off a log axis: they are drawn on its floor.
    let floor = 1e-5;
    let radius = |rows: u64| 2.0 + (rows as f64).log10();
    let mut with_fraud = Series::new("bins with frauds", "#1f77b4", Mark::Dots, Vec::new());
    let mut without = Series::new("bins without (drawn at 1e-5)", "#ff7f0e", Mark::Dots, Vec::new());
    for b in bins {
        let target = if b.fraud_rate > 0.0 { &mut with_fraud } else { &mut without };
        target.points.push((b.mean_probability.max(floor), b.fraud_rate.max(floor)));
        target.radii.push(radius(b.rows));
    }
    Plot {
        title: format!("Reliability on test — {}", c.name()),
        x: Axis { label: "mean served P(fraud) in the bin", scale: Scale::Log10, lo: -5.0, hi: 0.0 },
        y: Axis { label: "observed fraud rate", scale: Scale::Log10, lo: -5.0, hi: 0.0 },
        series: vec![with_fraud, without, Series::new("perfect calibration", "#888", Mark::HLine, Vec::new())],
        diagonal: true,
    }
    .render()
}
