//! The training report: `report.json` for machines and a self-contained
//! `report.html` (inline SVG, no scripts, no external assets) for people.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::pipeline::{Config, Outcome};

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

/// Money with thousands separators and the currency (`€` for EUR): `-1,234 €`.
pub fn format_money(x: f64, currency: &str) -> String {
    let whole = format!("{:.0}", x.abs());
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && whole != "0" { "-" } else { "" };
    let unit = if currency == "EUR" { "€" } else { currency };
    format!("{sign}{grouped} {unit}")
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

struct Series<'a> {
    name: &'a str,
    color: &'a str,
    points: &'a [(f64, f64)],
}

/// A line chart over [0,1]×[0,1] with optional vertical markers.
fn chart(title: &str, x_label: &str, y_label: &str, series: &[Series], markers: &[(f64, &str, String)]) -> String {
    let (w, h, left, top, right, bottom) = (520.0, 360.0, 56.0, 34.0, 16.0, 46.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let px = |x: f64| left + x.clamp(0.0, 1.0) * pw;
    let py = |y: f64| top + (1.0 - y.clamp(0.0, 1.0)) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}">"#,
        t = escape(title)
    );
    let _ = write!(s, r#"<text x="{}" y="20" font-size="14" font-weight="bold">{}</text>"#, left, escape(title));
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        let _ = write!(
            s,
            r##"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="#ddd"/><text x="{tx}" y="{ty}" font-size="11" text-anchor="end">{v:.1}</text>"##,
            x0 = left,
            x1 = left + pw,
            y = py(v),
            tx = left - 6.0,
            ty = py(v) + 4.0
        );
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="#ddd"/><text x="{x}" y="{ty}" font-size="11" text-anchor="middle">{v:.1}</text>"##,
            x = px(v),
            y0 = top,
            y1 = top + ph,
            ty = top + ph + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text><text x="14" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>"#,
        left + pw / 2.0,
        h - 8.0,
        escape(x_label),
        top + ph / 2.0,
        top + ph / 2.0,
        escape(y_label)
    );
    for (k, sr) in series.iter().enumerate() {
        let pts: Vec<String> = sr.points.iter().map(|&(x, y)| format!("{:.2},{:.2}", px(x), py(y))).collect();
        let _ =
            write!(s, r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"#, sr.color, pts.join(" "));
        let ly = top + 14.0 + 16.0 * k as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="12" height="3" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            left + pw - 150.0,
            ly - 4.0,
            sr.color,
            left + pw - 134.0,
            ly,
            escape(sr.name)
        );
    }
    for (x, color, label) in markers {
        let _ = write!(
            s,
            r#"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="{color}" stroke-dasharray="4 3"/><text x="{tx}" y="{ty}" font-size="10" fill="{color}">{l}</text>"#,
            x = px(*x),
            y0 = top,
            y1 = top + ph,
            tx = px(*x) + 3.0,
            ty = top + ph - 6.0,
            l = escape(label)
        );
    }
    s.push_str("</svg>");
    s
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
    let pr: Vec<Series> = outcome
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| Series { name: c.name(), color: COLORS[i % COLORS.len()], points: &c.test_pr_curve })
        .collect();
    let pr_chart = chart("Precision–recall on test", "recall", "precision", &pr, &[]);
    let f1_charts: String = outcome
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let color = COLORS[i % COLORS.len()];
            chart(
                &format!("F1 vs threshold on validation — {}", c.name()),
                "threshold",
                "F1",
                &[Series { name: c.name(), color, points: &c.validation_f1_curve }],
                &[(c.model.threshold(), "#000", format!("chosen {:.4}", c.model.threshold()))],
            )
        })
        .collect();
    let cms: String = outcome.candidates.iter().map(|c| confusion(&format!("{} (test)", c.name()), &c.test)).collect();
    let importance = importance_chart(&a.feature_importance);
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
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f4f4f4; }} tr.sel td {{ background: #eef6ff; font-weight: bold; }}
.cm {{ display: inline-table; margin-right: 1.5em; }} .cm caption {{ font-weight: bold; }}
.cm td.good {{ background: #e4f5e4; }} .cm td.bad {{ background: #fbe9e9; }}
.charts svg {{ margin: 0 1em 1em 0; border: 1px solid #eee; }} code {{ background: #f4f4f4; padding: 0 3px; }}
</style></head><body>
<h1>Fraud model training report</h1>
<p>Selected model: <b>{sel}</b> at threshold <b>{thr}</b> (model id <code>{id}</code>) — test precision {tp:.4}, recall {tr:.4}, F1 {tf:.4}, average precision {tap:.4}, ROC-AUC {tauc:.4}.</p>
<p>Data: <code>{ds}</code>{synthetic} — {rows} rows, {frauds} frauds; SHA-256 <code>{sha}</code>.<br>
Split seed {seed}: train {ntr} / validation {nva} / test {nte} rows (stratified {trf:.0}/{vaf:.0}/{tef:.0}). Scaler fitted on train only; SMOTE (k={k}, ratio {ratio}) on the scaled train split only; candidates: L2 logistic regression (C={c}) and gradient-boosted trees; threshold = exact F1 maximiser on validation; model chosen by validation F1.</p>
<p>Selected model ({kind}): {model_text}.</p>
<h2>Candidates</h2>
<table><tr>{header}<th></th></tr>{rows_html}</table>
<div class="charts">{pr_chart}{f1_charts}</div>
<h2>Global feature importance (selected model)</h2>
<p>Mean |contribution| to the logit over validation rows ({explainer}).</p>
{importance}
<h2>Confusion matrices (test, each at its own threshold)</h2>
{cms}
<h2>Stage timings</h2><table>{timings}</table>
</body></html>
"#,
        sel = escape(&a.model_name),
        thr = format_threshold(a.rule.threshold),
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

/// Horizontal bars of the 15 most important features.
fn importance_chart(importance: &[f64]) -> String {
    let mut ranked: Vec<(&str, f64)> =
        fraud_core::FEATURE_NAMES.iter().copied().zip(importance.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(15);
    let top = ranked.first().map_or(1.0, |r| r.1).max(1e-12);
    let (w, bar_h) = (520.0, 18.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}">"#,
        ranked.len() as f64 * bar_h + 10.0
    );
    for (i, (name, v)) in ranked.iter().enumerate() {
        let y = i as f64 * bar_h + 5.0;
        let len = v / top * (w - 170.0);
        let _ = write!(
            svg,
            r##"<text x="60" y="{ty}" font-size="12" text-anchor="end">{name}</text><rect x="66" y="{y}" width="{len:.1}" height="{bh}" fill="#1f77b4"/><text x="{tx:.1}" y="{ty}" font-size="11">{v:.4}</text>"##,
            ty = y + 13.0,
            bh = bar_h - 4.0,
            tx = 70.0 + len,
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
        let pts = [(0.0, 0.0), (2.0, -1.0)];
        let svg = chart("a<b", "x", "y", &[Series { name: "s&t", color: "#000", points: &pts }], &[]);
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t"));
        assert!(!svg.contains("<b"), "no raw markup from titles");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
