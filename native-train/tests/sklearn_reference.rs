//! The solver, scaler and metrics against values scikit-learn computed
//! (see fixtures/make_fixtures.py; the fixture data is synthetic).

use std::path::Path;

use fraud_core::Scaler;

const N_FEATURES: usize = 30;
use native_train::data::load_creditcard as load_csv;
use native_train::logreg::{fit, FitOptions};
use native_train::metrics::{average_precision, best_f1_threshold, evaluate, roc_auc};
use serde_json::Value;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn reaches_scikit_learns_optimum() {
    let data = load_csv(&fixture("lr_fixture.csv")).unwrap().data;
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("lr_reference.json")).unwrap()).unwrap();

    let scaler = Scaler::fit(data.x.as_slice().unwrap(), N_FEATURES).unwrap();
    for (ours, theirs) in scaler.mean.iter().zip(floats(&reference["mean"])) {
        assert!((ours - theirs).abs() <= 1e-12 * theirs.abs().max(1.0), "mean {ours} vs {theirs}");
    }
    for (ours, theirs) in scaler.scale.iter().zip(floats(&reference["scale"])) {
        assert!((ours - theirs).abs() <= 1e-12 * theirs, "scale {ours} vs {theirs}");
    }
    let mut z = data.x.clone();
    scaler.transform(z.as_slice_mut().unwrap());

    let n = data.len() as f64;
    let frauds = data.frauds() as f64;
    for (name, case) in reference["fits"].as_object().unwrap() {
        let class_weights = if case["class_weight"] == "balanced" {
            [n / (2.0 * (n - frauds)), n / (2.0 * frauds)]
        } else {
            [1.0, 1.0]
        };
        let opts = FitOptions { c: case["C"].as_f64().unwrap(), class_weights, ..FitOptions::default() };
        let got = fit(z.view(), &data.y, &opts).unwrap();
        let coef = floats(&case["coef"]);
        let gap = got
            .weights
            .iter()
            .zip(&coef)
            .map(|(a, b)| (a - b).abs())
            .fold((got.intercept - case["intercept"].as_f64().unwrap()).abs(), f64::max);
        println!("{name}: max |ours - scikit-learn| = {gap:.2e} after {} Newton iterations", got.iterations);
        assert!(gap < 1e-8, "{name}: coefficients differ by {gap:e}");
        assert!(got.max_gradient < 1e-8, "{name}: not converged, max|grad| {:e}", got.max_gradient);
    }
}

#[test]
fn metrics_match_scikit_learn() {
    let r: Value = serde_json::from_str(&std::fs::read_to_string(fixture("metrics_reference.json")).unwrap()).unwrap();
    let scores = floats(&r["scores"]);
    let labels: Vec<u8> = r["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
    let close = |a: f64, b: &Value| (a - b.as_f64().unwrap()).abs() < 1e-12;
    let (threshold, f1) = best_f1_threshold(&scores, &labels);
    assert_eq!(threshold, r["best_threshold"].as_f64().unwrap());
    assert!(close(f1, &r["best_f1"]), "{f1} vs {}", r["best_f1"]);
    assert!(close(average_precision(&scores, &labels), &r["average_precision"]));
    assert!(close(roc_auc(&scores, &labels), &r["roc_auc"]));
    let m = evaluate(&scores, &labels, threshold);
    assert_eq!(m.true_positives, r["tp"].as_u64().unwrap());
    assert_eq!(m.false_positives, r["fp"].as_u64().unwrap());
    assert!(close(m.precision, &r["precision_at_best"]));
    assert!(close(m.recall, &r["recall_at_best"]));
}
