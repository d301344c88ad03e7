//! The training report: `report.json` for machines and a self-contained
//! `report.html` (inline SVG, no scripts, no external assets) for people.

use std::fmt::Write as _;

use fraud_core::decision::format_money;
use serde_json::{json, Value};

use crate::pipeline::{Candidate, Config, Outcome};

const COLORS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

/// The machine-readable report.
pub fn report_json(outcome: &Outcome, cfg: &Config, model_id: &str, load_seconds: f64) -> Value {
    let candidates: Vec<Value> = outcome
        .candidates
        .iter()
        .map(|c| {
            json!({
                "name": c.name(),
                "kind": c.model.kind().as_str(),
                "rows_fitted": c.rows_fitted,
                "class_weights": c.class_weights,
                "training": c.training.to_wire(),
                "fit_seconds": c.fit_time.as_secs_f64(),
                "threshold": c.model.threshold(),
                "policy": c.model.policy().as_str(),
                "calibration": { "method": c.model.calibration().method.as_str(), "slope": c.model.calibration().slope, "intercept": c.model.calibration().intercept },
                "calibration_test": c.calibration_test.to_wire(),
                "policies": c.policies.iter().map(|p| p.to_wire()).collect::<Vec<_>>(),
                "validation": c.validation.to_wire(),
                "test": c.test.to_wire(),
            })
        })
        .collect();
    let mut timings = serde_json::Map::new();
    timings.insert("load".into(), json!(load_seconds));
    for (stage, d) in &outcome.timings {
        timings.insert((*stage).into(), json!(d.as_secs_f64()));
    }
    json!({
        "selected": outcome.candidates[outcome.selected].name(),
        "model_id": model_id,
        "config": {
            "seed": cfg.seed,
            "validation_fraction": cfg.validation_fraction,
            "test_fraction": cfg.test_fraction,
            "smote_k": cfg.smote_k,
            "smote_ratio": cfg.smote_ratio,
            "c": cfg.c,
            "candidates": cfg.candidates.iter().map(|k| k.name()).collect::<Vec<_>>(),
        },
        "model": outcome.artifact.card(&outcome.candidates[outcome.selected].model),
        "candidates": candidates,
        "timings_seconds": timings,
    })
}

/// Column headers of the candidates table (terminal and HTML).
pub const CANDIDATE_COLUMNS: [&str; 14] = [
    "candidate",
    "rows fitted",
    "F1 threshold",
    "val F1",
    "test P",
    "test R",
    "test F1",
    "test AP",
    "ROC-AUC",
    "expected/observed frauds",
    "policy",
    "test net",
    "iterations",
    "fit",
];

/// A threshold readable even when it sits a hair below 1 (SMOTE models often do).
pub fn format_threshold(t: f64) -> String {
    if t > 0.9999 && t < 1.0 {
        format!("1 - {:.2e}", 1.0 - t)
    } else {
        format!("{t:.6}")
    }
}

/// The short name of a policy in tables.
pub fn policy_label(p: fraud_core::Policy) -> &'static str {
    match p {
        fraud_core::Policy::F1Threshold => "F1 threshold",
        fraud_core::Policy::NetBenefitThreshold => "net-benefit threshold",
        fraud_core::Policy::CostOptimal => "cost-optimal",
        fraud_core::Policy::ManualThreshold => "manual threshold",
    }
}

/// One candidate's cells, in [`CANDIDATE_COLUMNS`] order.
pub fn candidate_cells(c: &crate::pipeline::Candidate) -> [String; 14] {
    let currency = &c.model.costs().currency;
    [
        c.name().to_string(),
        c.rows_fitted.to_string(),
        format_threshold(c.test.threshold),
        format!("{:.4}", c.validation.f1),
        format!("{:.4}", c.test.precision),
        format!("{:.4}", c.test.recall),
        format!("{:.4}", c.test.f1),
        format!("{:.4}", c.test.average_precision),
        format!("{:.4}", c.test.roc_auc),
        format!("{:.1} / {}", c.calibration_test.expected_frauds, c.calibration_test.observed_frauds),
        policy_label(c.model.policy()).to_string(),
        c.served_policy().map_or_else(|| "–".into(), |p| format_money(p.test.net_benefit, currency)),
        match &c.training {
            fraud_core::Training::Logistic(l) => format!("{} Newton", l.iterations),
            fraud_core::Training::Trees(t) => format!("{} trees", t.rounds),
        },
        format!("{:.0} ms", c.fit_time.as_secs_f64() * 1e3),
    ]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// How an axis maps values to pixels and labels its ticks.
#[derive(Clone, Copy)]
enum Scale {
    /// Plain values.
    Linear,
    /// Probabilities on the log-odds axis: `ln(p / (1 − p))`; ticks read as probabilities.
    LogOdds,
    /// Positive values by decade.
    Log10,
}

#[derive(Clone, Copy)]
struct Axis<'a> {
    label: &'a str,
    scale: Scale,
    /// Range in axis units (log-odds or log10 for those scales).
    lo: f64,
    hi: f64,
}

impl Axis<'_> {
    fn unit(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::LogOdds => {
                let p = v.clamp(1e-300, 1.0 - 1e-16);
                (p / (1.0 - p)).ln()
            }
            Scale::Log10 => v.max(1e-300).log10(),
        }
    }

    /// Where a value sits on [0, 1] of the axis (clamped).
    fn frac(&self, v: f64) -> f64 {
        ((self.unit(v) - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Candidate ticks (value, label), in order; [`Plot::axes`] keeps those with room.
    fn ticks(&self) -> Vec<(f64, String)> {
        let in_range = |u: f64| u >= self.lo - 1e-9 && u <= self.hi + 1e-9;
        match self.scale {
            Scale::Linear => {
                let span = self.hi - self.lo;
                let raw = span / 6.0;
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(mag * 10.0);
                let first = (self.lo / step).ceil() as i64;
                let last = (self.hi / step).floor() as i64;
                (first..=last).map(|k| k as f64 * step).map(|v| (v, tick_text(v, step))).collect()
            }
            Scale::LogOdds => {
                let mut ps: Vec<f64> = (1..=12).rev().map(|k| 10f64.powi(-k)).collect();
                ps.extend([0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0 - 1e-6, 1.0 - 1e-8, 1.0 - 1e-10]);
                ps.into_iter()
                    .filter(|&p| in_range(self.unit(p)))
                    .map(|p| {
                        let label = if p < 0.01 {
                            format!("1e{}", p.log10().round())
                        } else if p > 0.999 {
                            format!("1-1e{}", (1.0 - p).log10().round())
                        } else {
                            format!("{p}")
                        };
                        (p, label)
                    })
                    .collect()
            }
            Scale::Log10 => (self.lo.ceil() as i32..=self.hi.floor() as i32)
                .map(|e| {
                    (
                        10f64.powi(e),
                        if (0..=3).contains(&e) { format!("{}", 10i64.pow(e as u32)) } else { format!("1e{e}") },
                    )
                })
                .collect(),
        }
    }
}

fn tick_text(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if step >= 1000.0 || v.abs() >= 10_000.0 {
        format!("{}k", v / 1000.0)
    } else if step >= 1.0 {
        format!("{v:.0}")
    } else if step >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Mark {
    /// Joined points.
    Line,
    /// Steps: horizontal, then vertical (a precision–recall curve's shape).
    Steps,
    /// Dashed vertical line at each point's x (a threshold).
    VLine,
    /// Dashed horizontal line at each point's y (a level).
    HLine,
    /// Dots, radius from the third value.
    Dots,
}

struct Series<'a> {
    name: String,
    color: &'a str,
    mark: Mark,
    points: Vec<(f64, f64)>,
    /// Dot radius per point (Dots only).
    radii: Vec<f64>,
}

impl<'a> Series<'a> {
    fn new(name: impl Into<String>, color: &'a str, mark: Mark, points: Vec<(f64, f64)>) -> Series<'a> {
        Series { name: name.into(), color, mark, points, radii: Vec::new() }
    }
}

/// A chart: plot area on the left, legend on the right (so no label ever
/// sits on a curve or on another label), ticks thinned to what fits.
struct Plot<'a> {
    title: String,
    x: Axis<'a>,
    y: Axis<'a>,
    series: Vec<Series<'a>>,
    /// Draw the y = x diagonal (reliability diagrams).
    diagonal: bool,
}

const PLOT_W: f64 = 600.0;
const PLOT_H: f64 = 330.0;
const LEFT: f64 = 62.0;
const TOP: f64 = 34.0;
const LEGEND_W: f64 = 190.0;
const BOTTOM: f64 = 46.0;
/// Legend text is cut to what fits its column (font 11 ≈ 6.2 px per character).
const LEGEND_CHARS: usize = 27;

impl Plot<'_> {
    fn render(&self) -> String {
        let (pw, ph) = (PLOT_W - LEFT - LEGEND_W, PLOT_H - TOP - BOTTOM);
        let px = |v: f64| LEFT + self.x.frac(v) * pw;
        let py = |v: f64| TOP + (1.0 - self.y.frac(v)) * ph;
        let mut s = String::new();
        let id = self.title.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PLOT_W} {PLOT_H}" width="{PLOT_W}" height="{PLOT_H}" role="img" aria-label="{t}"><defs><clipPath id="c{id}"><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/></clipPath></defs>"#,
            t = escape(&self.title)
        );
        let _ =
            write!(s, r#"<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{}</text>"#, escape(&self.title));
        // Ticks, thinned so labels keep ≥ 46 px (x) and ≥ 18 px (y) apart.
        let mut last = f64::NEG_INFINITY;
        for (v, label) in self.x.ticks() {
            let x = px(v);
            if x - last < 46.0 {
                continue;
            }
            last = x;
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y1}" stroke="#e3e3e3"/><text x="{x:.1}" y="{ty}" font-size="11" text-anchor="middle">{label}</text>"##,
                y1 = TOP + ph,
                ty = TOP + ph + 19.0,
            );
        }
        let mut last = f64::INFINITY;
        for (v, label) in self.y.ticks() {
            let y = py(v);
            if last - y < 18.0 {
                continue;
            }
            last = y;
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{tx}" y="{ty:.1}" font-size="11" text-anchor="end">{label}</text>"##,
                x1 = LEFT + pw,
                tx = LEFT - 5.0,
                ty = y + 4.0,
            );
        }
        let _ = write!(
            s,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx}" y="{by}" font-size="12" text-anchor="middle">{xl}</text><text x="14" y="{cy}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {cy})">{yl}</text>"##,
            cx = LEFT + pw / 2.0,
            by = PLOT_H - 8.0,
            xl = escape(self.x.label),
            cy = TOP + ph / 2.0,
            yl = escape(self.y.label),
        );
        let _ = write!(s, r#"<g clip-path="url(#c{id})">"#);
        if self.diagonal {
            let (lo, hi) = (self.x.lo.max(self.y.lo), self.x.hi.min(self.y.hi));
            let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
            let _ = write!(
                s,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="2 3"/>"##,
                px(a),
                py(a),
                px(b),
                py(b)
            );
        }
        for sr in &self.series {
            match sr.mark {
                Mark::Line | Mark::Steps => {
                    let mut pts = Vec::with_capacity(sr.points.len() * 2);
                    for (k, &(x, y)) in sr.points.iter().enumerate() {
                        if sr.mark == Mark::Steps && k > 0 {
                            pts.push(format!("{:.1},{:.1}", px(x), py(sr.points[k - 1].1)));
                        }
                        pts.push(format!("{:.1},{:.1}", px(x), py(y)));
                    }
                    let _ = write!(
                        s,
                        r#"<polyline fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                        sr.color,
                        pts.join(" ")
                    );
                }
                Mark::VLine => {
                    for &(x, _) in &sr.points {
                        let _ = write!(
                            s,
                            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y1}" stroke="{c}" stroke-width="1.4" stroke-dasharray="5 3"/>"#,
                            x = px(x),
                            y1 = TOP + ph,
                            c = sr.color
                        );
                    }
                }
                Mark::HLine => {
                    for &(_, y) in &sr.points {
                        let _ = write!(
                            s,
                            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="{c}" stroke-width="1.4" stroke-dasharray="2 3"/>"#,
                            y = py(y),
                            x1 = LEFT + pw,
                            c = sr.color
                        );
                    }
                }
                Mark::Dots => {
                    for (k, &(x, y)) in sr.points.iter().enumerate() {
                        let r = sr.radii.get(k).copied().unwrap_or(3.0);
                        let _ = write!(
                            s,
                            r#"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{c}" fill-opacity="0.7" stroke="{c}"/>"#,
                            px(x),
                            py(y),
                            c = sr.color
                        );
                    }
                }
            }
        }
        s.push_str("</g>");
        // The legend, one row per series, in its own column.
        let lx = LEFT + pw + 14.0;
        for (k, sr) in self.series.iter().enumerate() {
            let ly = TOP + 10.0 + 17.0 * k as f64;
            if ly > PLOT_H - 10.0 {
                break;
            }
            let swatch = match sr.mark {
                Mark::Dots => format!(r#"<circle cx="{}" cy="{}" r="4" fill="{}"/>"#, lx + 7.0, ly - 4.0, sr.color),
                Mark::VLine | Mark::HLine => format!(
                    r#"<line x1="{lx}" y1="{y}" x2="{x2}" y2="{y}" stroke="{}" stroke-width="2" stroke-dasharray="4 2"/>"#,
                    sr.color,
                    y = ly - 4.0,
                    x2 = lx + 14.0
                ),
                Mark::Line | Mark::Steps => {
                    format!(r#"<rect x="{lx}" y="{}" width="14" height="3" fill="{}"/>"#, ly - 5.5, sr.color)
                }
            };
            let name: String = if sr.name.chars().count() > LEGEND_CHARS {
                sr.name.chars().take(LEGEND_CHARS - 1).chain(['…']).collect()
            } else {
                sr.name.clone()
            };
            let _ = write!(s, r#"{swatch}<text x="{}" y="{ly}" font-size="11">{}</text>"#, lx + 19.0, escape(&name));
        }
        s.push_str("</svg>");
        s
    }
}

/// The log-odds range covering `values` (probabilities), padded, within ±25.
fn log_odds_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && *v < 1.0)
        .map(|p| (p / (1.0 - p)).ln())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), z| (lo.min(z), hi.max(z)));
    if !lo.is_finite() {
        return (-10.0, 10.0);
    }
    ((lo - 0.5).max(-25.0).floor(), (hi + 0.5).min(25.0).ceil())
}

fn confusion(name: &str, m: &fraud_core::Metrics) -> String {
    format!(
        r#"<table class="cm"><caption>{}</caption><tr><th></th><th>predicted legit</th><th>predicted fraud</th></tr>
<tr><th>actual legit</th><td>{}</td><td class="bad">{}</td></tr><tr><th>actual fraud</th><td class="bad">{}</td><td class="good">{}</td></tr></table>"#,
        escape(name),
        m.true_negatives,
        m.false_positives,
        m.false_negatives,
        m.true_positives
    )
}

/// The human-readable report, one self-contained HTML file.
pub fn report_html(outcome: &Outcome, cfg: &Config, model_id: &str) -> String {
    let a = &outcome.artifact;
    let p = &a.provenance;
    let mut rows = String::new();
    for (i, c) in outcome.candidates.iter().enumerate() {
        let selected = i == outcome.selected;
        let cells: String = candidate_cells(c).iter().map(|cell| format!("<td>{}</td>", escape(cell))).collect();
        let _ = write!(
            rows,
            "<tr{}>{cells}{}</tr>",
            if selected { r#" class="sel""# } else { "" },
            if selected { "<td>✔ selected</td>" } else { "<td></td>" }
        );
    }
    let header: String = CANDIDATE_COLUMNS.iter().map(|h| format!("<th>{h}</th>")).collect();
    let chosen = &outcome.candidates[outcome.selected];
    let charts =
        [pr_plot(outcome), f1_plot(outcome), net_plot(chosen), histogram_plot(chosen), reliability_plot(chosen)]
            .join("");
    let money_table = money_table(chosen);
    let cal = &chosen.calibration_test;
    let calibration = chosen.model.calibration();
    let calibration_text = format!(
        "Probabilities are calibrated on validation ({}: p = sigmoid({:.4} · logit {:+.4})). On test they add up to \
         {:.1} expected frauds; there were {}. Brier score {:.6}, log-loss {:.5}.",
        calibration.method.as_str(),
        calibration.slope,
        calibration.intercept,
        cal.expected_frauds,
        cal.observed_frauds,
        cal.brier,
        cal.log_loss
    );
    let cms: String = outcome.candidates.iter().map(|c| confusion(&format!("{} (test)", c.name()), &c.test)).collect();
    let importance = importance_chart(a.schema.features(), &a.feature_importance);
    let model_text = match &a.training {
        fraud_core::Training::Logistic(l) => format!("L2 logistic regression on standardised features, C={}", l.c),
        fraud_core::Training::Trees(t) => format!(
            "gradient-boosted trees on raw features: {} trees (early stopping at round {} of {} run, patience {}), \
             learning rate {}, at most {} leaves and depth {}, L2 {}, min hessian {} / {} rows per leaf, \
             {:.0}% of legitimate rows per round, {:.0}% of features per tree, {} bins",
            t.rounds,
            t.rounds,
            t.rounds_run,
            t.early_stopping_rounds,
            t.learning_rate,
            t.max_leaves,
            t.max_depth,
            t.l2,
            t.min_child_hessian,
            t.min_rows_leaf,
            t.row_fraction * 100.0,
            t.col_fraction * 100.0,
            t.max_bins
        ),
    };
    let timings: String = outcome
        .timings
        .iter()
        .map(|(s, d)| format!("<tr><td>{s}</td><td>{:.1} ms</td></tr>", d.as_secs_f64() * 1e3))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fraud model training report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1240px; padding: 0 12px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }} td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; }}
table.money td {{ white-space: nowrap; }} code {{ overflow-wrap: anywhere; }}
th {{ background: #f4f4f4; }} tr.sel td {{ background: #eef6ff; font-weight: bold; }}
.cm {{ display: inline-table; margin-right: 1.5em; }} .cm caption {{ font-weight: bold; }}
.cm td.good {{ background: #e4f5e4; }} .cm td.bad {{ background: #fbe9e9; }}
.charts {{ display: flex; flex-wrap: wrap; }} .charts svg {{ margin: 0 1em 1em 0; border: 1px solid #eee; }} code {{ background: #f4f4f4; padding: 0 3px; }}
</style></head><body>
<h1>Fraud model training report</h1>
<p>Selected model: <b>{sel}</b> (model id <code>{id}</code>), serving the <b>{policy}</b> policy — test precision {tp:.4}, recall {tr:.4}, F1 {tf:.4} at its F1 threshold {thr}, average precision {tap:.4}, ROC-AUC {tauc:.4}; net benefit on test {served_net} against {accept_net} for accepting everything.</p>
<p>Data: <code>{ds}</code>{synthetic} — {rows} rows, {frauds} frauds; SHA-256 <code>{sha}</code>.<br>
Split seed {seed}: train {ntr} / validation {nva} / test {nte} rows (stratified {trf:.0}/{vaf:.0}/{tef:.0}). Scaler fitted on train only; SMOTE (k={k}, ratio {ratio}) on the scaled train split only; candidates: L2 logistic regression (C={c}) and gradient-boosted trees; probabilities calibrated on validation; thresholds (F1-optimal and net-benefit-optimal) chosen on validation; model chosen by validation F1, policy by validation net benefit.</p>
<p>Selected model ({kind}): {model_text}.</p>
<h2>Candidates</h2>
<table><tr>{header}<th></th></tr>{rows_html}</table>
<h2>Decisions in money (selected model)</h2>
<p>{calibration_text}</p>
<p>Costs ({currency}): {costs_text}. Each policy was tuned on validation; the served one (<b>{policy}</b>) is the
one with the best net benefit on validation{policy_note}. Figures on test:</p>
{money_table}
<div class="charts">{charts}</div>
<h2>Global feature importance (selected model)</h2>
<p>Mean |contribution| to the logit over validation rows ({explainer}).</p>
{importance}
<h2>Confusion matrices (test, each candidate at its own F1 threshold)</h2>
{cms}
<h2>Stage timings</h2><table>{timings}</table>
</body></html>
"#,
        sel = escape(&a.model_name),
        thr = format_threshold(a.test.threshold),
        policy = policy_label(a.rule.policy),
        served_net = chosen
            .served_policy()
            .map_or_else(|| "–".into(), |p| format_money(p.test.net_benefit, &a.rule.costs.currency)),
        accept_net = chosen
            .policies
            .first()
            .map_or_else(|| "–".into(), |p| format_money(p.test.accept_all, &a.rule.costs.currency)),
        currency = escape(&a.rule.costs.currency),
        costs_text = escape(&costs_text(&a.rule.costs)),
        policy_note = match cfg.policy {
            crate::policy::PolicyChoice::Auto => String::new(),
            crate::policy::PolicyChoice::Fixed(p) => format!(" — here fixed by --policy to {}", policy_label(p)),
        },
        id = model_id,
        tp = a.test.precision,
        tr = a.test.recall,
        tf = a.test.f1,
        tap = a.test.average_precision,
        tauc = a.test.roc_auc,
        ds = escape(&p.dataset),
        synthetic = if p.synthetic { " <b>(synthetic data)</b>" } else { "" },
        rows = p.rows_total,
        frauds = p.frauds_total,
        sha = p.dataset_sha256,
        seed = cfg.seed,
        ntr = p.rows_train,
        nva = p.rows_validation,
        nte = p.rows_test,
        trf = p.train_fraction * 100.0,
        vaf = cfg.validation_fraction * 100.0,
        tef = cfg.test_fraction * 100.0,
        k = cfg.smote_k,
        ratio = cfg.smote_ratio,
        c = cfg.c,
        rows_html = rows,
        kind = a.kind().as_str(),
        model_text = escape(&model_text),
        explainer =
            if a.kind() == fraud_core::ModelKind::Trees { "exact TreeSHAP" } else { "weight × standardised value" },
    )
}

fn costs_text(c: &fraud_core::Costs) -> String {
    let term = |b: fraud_core::Benefit| match (b.fixed, b.per_amount) {
        (f, 0.0) => format!("{f:+}"),
        (0.0, r) => format!("{r:+} × amount"),
        (f, r) => format!("{f:+} {r:+} × amount"),
    };
    format!(
        "fraud refused {}, fraud accepted {}, legitimate refused {}, legitimate accepted {}",
        term(c.refused_fraud),
        term(c.accepted_fraud),
        term(c.refused_legitimate),
        term(c.accepted_legitimate)
    )
}

/// Each policy's money on test (and its validation net), with both baselines.
fn money_table(c: &Candidate) -> String {
    let cur = &c.model.costs().currency;
    let m = |x: f64| format_money(x, cur);
    let mut rows = String::new();
    for p in &c.policies {
        let served = p.policy == c.model.policy();
        let _ = write!(
            rows,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{} ({})</td><td>{}</td></tr>",
            if served { r#" class="sel""# } else { "" },
            policy_label(p.policy),
            p.threshold.map_or_else(|| "per transaction".into(), format_threshold),
            m(p.validation.net_benefit),
            m(p.test.net_benefit),
            m(p.test.gain_over_accept_all()),
            m(p.test.stopped_amount),
            p.test.frauds_stopped,
            m(p.test.missed_amount),
            p.test.frauds_missed,
            m(p.test.false_alarm_cost),
            p.test.false_alarms,
            if served { "✔ served" } else { "" },
        );
    }
    if let Some(p) = c.policies.first() {
        let frauds = p.test.frauds_stopped + p.test.frauds_missed;
        let fraud_amount = p.test.stopped_amount + p.test.missed_amount;
        let _ = write!(
            rows,
            "<tr><td>accept everything</td><td>–</td><td>{}</td><td>{}</td><td>{}</td><td>{} (0)</td><td>{} ({frauds})</td><td>{} (0)</td><td></td></tr>",
            m(p.validation.accept_all),
            m(p.test.accept_all),
            m(0.0),
            m(0.0),
            m(fraud_amount),
            m(0.0),
        );
        let _ = write!(
            rows,
            "<tr><td>refuse everything</td><td>–</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({frauds})</td><td>{} (0)</td><td>{} ({})</td><td></td></tr>",
            m(p.validation.refuse_all),
            m(p.test.refuse_all),
            m(p.test.refuse_all - p.test.accept_all),
            m(fraud_amount),
            m(0.0),
            m(-c.model.costs().refused_legitimate.at(0.0) * (p.test.transactions - frauds) as f64),
            p.test.transactions - frauds,
        );
    }
    format!(
        "<table class=\"money\"><tr><th>policy</th><th>threshold</th><th>validation net</th><th>test net</th><th>vs accept everything</th><th>fraud stopped (count)</th><th>fraud missed (count)</th><th>false alarms' cost (count)</th><th></th></tr>{rows}</table>"
    )
}

fn pr_plot(outcome: &Outcome) -> String {
    let series = outcome
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| Series::new(c.name(), COLORS[i % COLORS.len()], Mark::Steps, c.test_pr_curve.clone()))
        .collect();
    Plot {
        title: "Precision–recall on test (every step)".into(),
        x: Axis { label: "recall", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
        y: Axis { label: "precision", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
        series,
        diagonal: false,
    }
    .render()
}

fn f1_plot(outcome: &Outcome) -> String {
    let (lo, hi) = log_odds_range(outcome.candidates.iter().flat_map(|c| c.validation_f1_curve.iter().map(|p| p.0)));
    let mut series: Vec<Series> = outcome
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| Series::new(c.name(), COLORS[i % COLORS.len()], Mark::Line, c.validation_f1_curve.clone()))
        .collect();
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
    let find = |p: fraud_core::Policy| c.policies.iter().find(|r| r.policy == p);
    let accept = c.policies.first().map_or(0.0, |p| p.validation.accept_all);
    let best = c.validation_net_curve.iter().map(|p| p.1).fold(accept, f64::max);
    let span = (best - accept).abs().max(1.0);
    let (lo, hi) = log_odds_range(c.validation_net_curve.iter().map(|p| p.0));
    let cur = &c.model.costs().currency;
    let mut series =
        vec![Series::new(format!("{} (validation)", c.name()), COLORS[0], Mark::Line, c.validation_net_curve.clone())];
    for (policy, color) in
        [(fraud_core::Policy::F1Threshold, "#2ca02c"), (fraud_core::Policy::NetBenefitThreshold, "#d62728")]
    {
        if let Some(r) = find(policy) {
            series.push(Series::new(policy_label(policy), color, Mark::VLine, vec![(r.threshold.unwrap_or(0.5), 0.0)]));
        }
    }
    if let Some(r) = find(fraud_core::Policy::CostOptimal) {
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

/// Horizontal bars of the 15 most important features.
fn importance_chart(names: &[String], importance: &[f64]) -> String {
    let mut ranked: Vec<(&str, f64)> = names.iter().map(String::as_str).zip(importance.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(15);
    let top = ranked.first().map_or(1.0, |r| r.1).max(1e-12);
    // Room for the longest name (a team's own names are longer than V14), ~7 px a character at 12 px.
    let longest = ranked.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let label_w = (longest as f64 * 7.0 + 8.0).clamp(60.0, 460.0);
    let (w, bar_h) = (label_w + 460.0, 18.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}">"#,
        ranked.len() as f64 * bar_h + 10.0
    );
    for (i, (name, v)) in ranked.iter().enumerate() {
        let y = i as f64 * bar_h + 5.0;
        let len = v / top * (w - label_w - 110.0);
        let _ = write!(
            svg,
            r##"<text x="{label_w}" y="{ty}" font-size="12" text-anchor="end">{name}</text><rect x="{rx}" y="{y}" width="{len:.1}" height="{bh}" fill="#1f77b4"/><text x="{tx:.1}" y="{ty}" font-size="11">{v:.4}</text>"##,
            ty = y + 13.0,
            bh = bar_h - 4.0,
            rx = label_w + 6.0,
            tx = label_w + 10.0 + len,
            name = escape(name),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_escapes_and_clamps() {
        let svg = Plot {
            title: "a<b".into(),
            x: Axis { label: "x", scale: Scale::Linear, lo: 0.0, hi: 1.0 },
            y: Axis { label: "y", scale: Scale::LogOdds, lo: -5.0, hi: 5.0 },
            series: vec![Series::new("s&t", "#000", Mark::Steps, vec![(0.0, 0.0), (2.0, 1.0)])],
            diagonal: false,
        }
        .render();
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t"));
        assert!(!svg.contains("<b"), "no raw markup from titles");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "every coordinate is finite");
    }

    #[test]
    fn log_odds_ticks_fit_their_range() {
        let axis = Axis { label: "", scale: Scale::LogOdds, lo: -12.0, hi: 8.0 };
        let ticks = axis.ticks();
        assert!(ticks.iter().any(|t| t.1 == "0.5") && ticks.iter().any(|t| t.1 == "1e-5"));
        assert!(ticks.iter().all(|t| (-12.0..=8.0).contains(&axis.unit(t.0))));
    }
}
