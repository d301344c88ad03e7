//! The model seam's tests: folding, the sigmoid, decisions, the batch API, explanations, other schemas.

use super::*;
use crate::error::ErrorCode;
use crate::validate::MAX_ABS_VALUE;
use alloc::string::ToString;
use alloc::vec;

const N_FEATURES: usize = 30;
const AMOUNT_FEATURE: usize = 29;

fn model(threshold: f64) -> Model {
    let scaler = Scaler {
        mean: (0..N_FEATURES).map(|i| i as f64 * 0.5).collect(),
        scale: (0..N_FEATURES).map(|i| 1.0 + i as f64 * 0.25).collect(),
    };
    let weights = LogisticWeights {
        weights: (0..N_FEATURES).map(|i| if i % 2 == 0 { 0.3 } else { -0.2 } * (1.0 + i as f64 / 10.0)).collect(),
        intercept: -2.0,
    };
    Model::logistic("test".to_string(), Schema::creditcard(), scaler, weights, threshold).unwrap()
}

fn lr(m: &Model) -> &Logistic {
    match m.scorer() {
        Scorer::Logistic(l) => l,
        Scorer::Trees(_) => unreachable!("these tests build logistic models"),
    }
}

fn row(v: f64) -> [f64; N_FEATURES] {
    let mut r = [0.0; N_FEATURES];
    for (i, x) in r.iter_mut().enumerate() {
        *x = v * (i as f64 - 10.0);
    }
    r
}

#[test]
fn folded_score_matches_scale_then_dot() {
    let m = model(0.5);
    for v in [-3.0, -0.1, 0.0, 0.7, 5.0] {
        let x = row(v);
        let mut z = x;
        lr(&m).scaler().transform_row(&mut z);
        let direct: f64 =
            z.iter().zip(&lr(&m).weights().weights).map(|(a, b)| a * b).sum::<f64>() + lr(&m).weights().intercept;
        assert!((m.logit(&x) - direct).abs() < 1e-12, "{} vs {direct}", m.logit(&x));
    }
}

#[test]
fn kinds_and_descriptions() {
    assert_eq!(ModelKind::ALL.map(ModelKind::as_str), ["logistic", "trees"]);
    assert_eq!(model(0.5).description(), "logistic regression");
    let trees = crate::artifact::Artifact::example_trees().model().unwrap();
    assert_eq!(trees.description(), "3 boosted trees, TreeSHAP explanations");
}

#[test]
fn sigmoid_is_stable_at_extremes() {
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(1000.0), 1.0);
    assert_eq!(sigmoid(-1000.0), 0.0);
    assert_eq!(sigmoid(f64::INFINITY), 1.0);
    assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
    assert!(sigmoid(-700.0) > 0.0);
    for t in [-40.0, -5.0, -1e-3, 1e-3, 5.0, 40.0] {
        let p = sigmoid(t);
        assert!((p + sigmoid(-t) - 1.0).abs() < 1e-15);
        assert!((0.0..=1.0).contains(&p));
    }
}

#[test]
fn extreme_valid_inputs_never_give_nan() {
    let m = model(0.5);
    for v in [MAX_ABS_VALUE, -MAX_ABS_VALUE] {
        let p = m.probability(&[v; N_FEATURES]);
        assert!((0.0..=1.0).contains(&p), "{p}");
    }
}

#[test]
fn decision_is_inclusive_at_threshold() {
    let m = model(0.5);
    let x = row(0.3);
    let p = m.probability(&x);
    let at = m.with_threshold(p).unwrap();
    assert_eq!(at.policy(), Policy::ManualThreshold);
    assert!(at.predict(&at.transaction(&x).unwrap()).is_fraud);
    let above = m.with_threshold(p + 1e-12).unwrap();
    assert!(!above.predict(&above.transaction(&x).unwrap()).is_fraud);
}

#[test]
fn batch_equals_single_and_rejects_bad_rows_atomically() {
    let m = model(0.2);
    let rows: Vec<f64> = (0..5).flat_map(|r| row(r as f64 - 2.0)).collect();
    let mut out = vec![-1.0; 5];
    m.score_batch(&rows, &mut out).unwrap();
    for (r, p) in out.iter().enumerate() {
        assert_eq!(p.to_bits(), m.probability(&row(r as f64 - 2.0)).to_bits());
    }
    let mut bad = rows.clone();
    bad[3 * N_FEATURES + 4] = f64::NAN;
    let mut out2 = vec![-1.0; 5];
    let err = m.score_batch(&bad, &mut out2).unwrap_err();
    assert!(matches!(&err, BatchError::BadRow { row: 3, error } if error.issues[0].field == "V4"), "{err:?}");
    assert_eq!(err.code(), ErrorCode::NonFinite);
    assert!(out2.iter().all(|p| p.is_nan()), "no partial result on error");
    assert_eq!(m.score_batch(&rows[..31], &mut out2).unwrap_err(), BatchError::BadLength { len: 31, width: 30 });
    assert!(matches!(m.score_batch(&rows, &mut out2[..4]), Err(BatchError::OutputLength { rows: 5, out: 4 })));
    assert!(m.score_batch(&[], &mut []).is_ok());
}

#[test]
fn a_refused_batch_without_a_bad_row_is_an_internal_error_not_the_callers() {
    let schema = Schema::creditcard();
    let mut rows: Vec<f64> = (0..3).flat_map(|r| row(r as f64)).collect();
    // Reached only if the fused check and validation disagreed: what it reports.
    let err = first_bad_row(&schema, &rows);
    assert_eq!(err, BatchError::Inconsistent { rows: 3 });
    assert_eq!(err.code(), ErrorCode::InvalidArtifact);
    assert!(err.to_string().contains("fraud-core bug"), "{err}");
    rows[N_FEATURES + 2] = f64::INFINITY;
    assert!(matches!(first_bad_row(&schema, &rows), BatchError::BadRow { row: 1, .. }));
}

#[test]
fn calibration_and_cost_optimal_decisions_hold_in_batch_and_single() {
    let base = model(0.5);
    let rule = DecisionRule {
        calibration: Calibration { method: crate::decision::CalibrationMethod::Platt, slope: 0.75, intercept: -2.5 },
        policy: Policy::CostOptimal,
        threshold: 0.5,
        costs: Costs::default(),
    };
    let m = base.with_rule(rule).unwrap();
    let rows: Vec<f64> = (0..40).flat_map(|r| row(r as f64 * 0.2 - 4.0)).collect();
    let mut out = vec![0.0; 40];
    m.score_batch(&rows, &mut out).unwrap();
    let mut decisions = vec![false; 40];
    m.decide_batch(&rows, &out, &mut decisions);
    for (r, x) in rows.as_chunks::<N_FEATURES>().0.iter().enumerate() {
        let p = m.predict(&m.transaction(x).unwrap());
        assert_eq!(p.probability.to_bits(), out[r].to_bits());
        assert_eq!(p.probability.to_bits(), sigmoid(0.75 * base.logit(x) - 2.5).to_bits());
        assert_eq!(p.is_fraud, decisions[r]);
        assert_eq!(p.is_fraud, p.expected.refuse > p.expected.accept);
    }
    // The same probability is refused at a large amount and accepted at none.
    let mut x = row(0.0);
    let p = 0.05;
    x[AMOUNT_FEATURE] = 0.0;
    assert!(!m.is_fraud(&x, p));
    x[AMOUNT_FEATURE] = 1000.0;
    assert!(m.is_fraud(&x, p));
    // An analyst's slider switches to a threshold; new costs re-decide.
    assert_eq!(m.with_threshold(0.01).unwrap().policy(), Policy::ManualThreshold);
    let generous =
        Costs { refused_legitimate: crate::decision::Benefit { fixed: -500.0, per_amount: 0.0 }, ..Costs::default() };
    assert!(!m.with_costs(generous).unwrap().is_fraud(&x, p));
}

#[test]
fn explanation_sums_to_logit_and_is_sorted() {
    let m = model(0.5);
    let t = m.transaction(&row(1.5)).unwrap();
    let all = m.explain(&t, 100);
    assert_eq!(all.len(), N_FEATURES);
    let sum: f64 = all.iter().map(|c| c.contribution).sum::<f64>() + lr(&m).weights().intercept;
    assert!((sum - m.logit(t.values())).abs() < 1e-9);
    assert!(all.windows(2).all(|w| w[0].contribution.abs() >= w[1].contribution.abs()));
    let top = m.explain(&t, 3);
    assert_eq!(top, all[..3].to_vec());
}

#[test]
fn another_schema_scores_by_its_own_names_and_width() {
    let names = ["amount", "merchant_risk", "distance_km"].map(String::from).to_vec();
    let schema = Schema::new(names, Some("amount"), "is_fraud", Some("tx")).unwrap();
    let scaler = Scaler { mean: vec![50.0, 0.5, 10.0], scale: vec![20.0, 0.2, 5.0] };
    let weights = LogisticWeights { weights: vec![0.5, 2.0, 0.1], intercept: -3.0 };
    let m = Model::logistic("small".into(), schema.clone(), scaler, weights, 0.5).unwrap();
    let t = m
        .validate([
            ("distance_km", RawValue::Number(12.0)),
            ("amount", RawValue::Number(80.0)),
            ("merchant_risk", RawValue::Number(0.9)),
        ])
        .unwrap();
    assert_eq!(t.values(), &[80.0, 0.9, 12.0]);
    let rows = [80.0, 0.9, 12.0, 10.0, 0.1, 1.0];
    let mut out = [0.0; 2];
    m.score_batch(&rows, &mut out).unwrap();
    assert_eq!(out[0].to_bits(), m.predict(&t).probability.to_bits());
    let top = m.explain(&t, 1);
    assert_eq!(top[0].feature, "merchant_risk");
    assert_eq!(m.score_batch(&rows[..4], &mut out[..1]).unwrap_err(), BatchError::BadLength { len: 4, width: 3 });
    let err = m.validate([("V1", RawValue::Number(0.0))]).unwrap_err().to_string();
    assert!(err.contains("missing: amount, merchant_risk, distance_km") && err.contains("unknown: V1"), "{err}");
    // A creditcard-width scorer does not fit this schema.
    let wide = model(0.5);
    let e = Model::new("x".into(), schema.clone(), wide.scorer().clone(), DecisionRule::at_threshold(0.5));
    assert_eq!(e.unwrap_err(), ModelError::WrongLength { what: "the scorer's inputs", len: 30, expected: 3 });
    // Without an amount column there is no per-transaction policy nor per-amount costs.
    let no_amount = Schema::new(schema.features().to_vec(), None, "is_fraud", None).unwrap();
    let lr = m.scorer().clone();
    assert!(Model::new("x".into(), no_amount.clone(), lr.clone(), DecisionRule::at_threshold(0.5)).is_err());
    assert!(
        Model::new("x".into(), no_amount.clone(), lr.clone(), DecisionRule::at_threshold_for(0.5, &no_amount)).is_ok()
    );
    let fixed = DecisionRule { costs: Costs::fixed_default(), ..DecisionRule::at_threshold(0.5) };
    let ok = Model::new("x".into(), no_amount, lr, fixed.clone()).unwrap();
    assert!(ok.with_rule(DecisionRule { policy: Policy::CostOptimal, ..fixed }).is_err());
}

#[test]
fn rejects_bad_parameters() {
    let good = model(0.5);
    let mut s = lr(&good).scaler().clone();
    s.scale[3] = 0.0;
    assert!(Model::logistic("x".into(), Schema::creditcard(), s, lr(&good).weights().clone(), 0.5).is_err());
    let mut w = lr(&good).weights().clone();
    w.weights.pop();
    assert_eq!(
        Model::logistic("x".into(), Schema::creditcard(), lr(&good).scaler().clone(), w, 0.5).unwrap_err(),
        ModelError::WrongLength { what: "scaler mean", len: 30, expected: 29 }
    );
    let mut w = lr(&good).weights().clone();
    w.intercept = f64::NAN;
    assert!(Model::logistic("x".into(), Schema::creditcard(), lr(&good).scaler().clone(), w, 0.5).is_err());
    for t in [-0.1, 1.1, f64::NAN] {
        assert!(good.with_threshold(t).is_err());
    }
    let mut s = lr(&good).scaler().clone();
    s.scale[0] = 1e-300;
    assert!(
        Model::logistic("x".into(), Schema::creditcard(), s, lr(&good).weights().clone(), 0.5).is_err(),
        "overflow-prone fold"
    );
}
