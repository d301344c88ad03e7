//! The training report: `report.json` for machines and a self-contained
//! `report.html` for people ([`html`]: the page, [`charts`]: what each chart
//! shows, [`svg`]: how charts are drawn, inline, without scripts or assets).

mod charts;
mod html;
mod svg;

pub use html::report_html;
use serde_json::{json, Value};

use crate::pipeline::{Config, Outcome};

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
                "bands": crate::bands::report_json(c),
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
        "imported": outcome.artifact.to_wire().imported,
        "timings_seconds": timings,
    })
}

/// Text made safe inside HTML and SVG elements and attribute values.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
