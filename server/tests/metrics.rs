//! `GET /metrics`: the request table, the histograms, and drift — a replay
//! like the training data keeps every PSI low; the same replay with Amount × 3
//! moves Amount's PSI (and only the gauges it should).

use std::collections::HashMap;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use fraud_core::drift::{Bins, DriftReference};
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::Artifact;

const N_FEATURES: usize = 30;
use http_api::Served;
use serde_json::json;
use server::{monitored, router, Options};
use tower::ServiceExt;

/// Deterministic rows with a different shape per input (no two inputs alike).
fn rows(n: usize, seed: u64) -> Vec<[f64; N_FEATURES]> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            std::array::from_fn(|j| match j {
                0 => uniform() * 172_792.0,
                29 => (-uniform().max(1e-12).ln()) * 88.0,
                _ => (uniform() - 0.5) * (1.0 + j as f64 / 7.0) + (uniform() - 0.5),
            })
        })
        .collect()
}

fn app() -> (Router, Vec<[f64; N_FEATURES]>) {
    let reference_rows = rows(20_000, 1);
    let features =
        (0..N_FEATURES).map(|j| Bins::fit(&mut reference_rows.iter().map(|r| r[j]).collect::<Vec<_>>())).collect();
    let mut artifact = Artifact::example();
    let model = artifact.model().unwrap();
    let mut scores: Vec<f64> = reference_rows.iter().map(|r| model.probability(r)).collect();
    artifact.drift = Some(DriftReference {
        features,
        score: Bins::fit(&mut scores),
        base_rate: 0.0017,
        flagged_rate: 0.002,
        missing: vec![],
    });
    let (served, monitor) = monitored(Served::from_artifact(&artifact.encode().unwrap()).unwrap(), 5_000);
    (router(served, &Options { monitor: Some(monitor), ..Options::default() }), reference_rows)
}

async fn post_batch(app: &Router, rows: &[[f64; N_FEATURES]]) {
    let transactions: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::Value::Object(FEATURE_NAMES.iter().zip(r).map(|(n, v)| (n.to_string(), json!(v))).collect())
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "transactions": transactions })).unwrap();
    let request =
        Request::post("/predict/batch").header(header::CONTENT_TYPE, "application/json").body(Body::from(body));
    let response = app.clone().oneshot(request.unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// `name{labels} value` lines of the exposition, keyed by `name{labels}`.
async fn scrape(app: &Router) -> (String, HashMap<String, f64>) {
    let response = app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    let values = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap();
            (key.to_string(), value.parse::<f64>().unwrap_or_else(|_| panic!("not a number: {l}")))
        })
        .collect();
    (text, values)
}

fn psi(values: &HashMap<String, f64>, feature: &str) -> f64 {
    values[&format!("fraud_drift_psi{{feature=\"{feature}\"}}")]
}

#[tokio::test]
async fn metrics_count_requests_and_transactions() {
    let (app, _) = app();
    post_batch(&app, &rows(300, 7)).await;
    let bad = Request::post("/predict").header(header::CONTENT_TYPE, "application/json").body(Body::from("{"));
    assert_eq!(app.clone().oneshot(bad.unwrap()).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let (text, m) = scrape(&app).await;
    assert_eq!(m["fraud_http_requests_total{route=\"/predict/batch\",status=\"200\"}"], 1.0, "{text}");
    assert_eq!(m["fraud_http_requests_total{route=\"/predict\",status=\"400\"}"], 1.0, "{text}");
    assert_eq!(m["fraud_transactions_scored_total"], 300.0);
    assert_eq!(m["fraud_probability_count"], 300.0);
    assert_eq!(m["fraud_probability_bucket{le=\"+Inf\"}"], 300.0);
    assert_eq!(m["fraud_http_request_duration_seconds_count"], 2.0, "the scrape itself is counted after it answers");
    assert_eq!(m["fraud_http_requests_in_flight"], 1.0, "the scrape is in flight while it renders");
    assert_eq!(m["fraud_drift_window_transactions"], 300.0);
    assert!(m["fraud_transactions_flagged_total"] <= 300.0);
    assert_eq!(m["fraud_training_base_rate"], 0.0017);
    assert!(text.contains("# TYPE fraud_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn a_drifted_amount_moves_amount_s_psi_and_no_other_input_s() {
    // Like training: every PSI stays low.
    let (app, _) = app();
    let live = rows(5_000, 99);
    post_batch(&app, &live).await;
    let (_, m) = scrape(&app).await;
    for name in FEATURE_NAMES.iter().chain(&["score"]) {
        assert!(psi(&m, name) < 0.05, "{name}: PSI {} on undrifted traffic", psi(&m, name));
    }
    // Amount × 3 (the window holds 5,000: the drifted replay replaces it).
    let drifted: Vec<[f64; N_FEATURES]> = live
        .iter()
        .map(|r| {
            let mut r = *r;
            r[N_FEATURES - 1] *= 3.0;
            r
        })
        .collect();
    post_batch(&app, &drifted).await;
    let (_, m) = scrape(&app).await;
    assert!(psi(&m, "Amount") > 0.25, "Amount PSI {} after Amount × 3", psi(&m, "Amount"));
    for name in FEATURE_NAMES.iter().filter(|n| **n != "Amount") {
        assert!(psi(&m, name) < 0.05, "{name}: PSI {} moved though only Amount drifted", psi(&m, name));
    }
    assert_eq!(m["fraud_drift_window_transactions"], 5_000.0);
}

/// A format-5 model: PSI over category frequencies with missing values as
/// their own bin, and the missing-rate gauges; unseen categories fill "other".
#[tokio::test]
async fn categories_and_missing_values_have_their_own_bins() {
    let mut artifact = Artifact::example_payments_trees();
    let schema = artifact.schema.clone();
    let names: Vec<String> = schema.features().to_vec();
    // Reference: countries C00/C05/C17/other at 40/30/20/10 %, ip distance 25 % missing.
    let countries: Vec<f64> = (0..1000).map(|i| [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0][i % 10]).collect();
    let spread = |n: usize| (0..n).map(|i| i as f64).collect::<Vec<f64>>();
    let features = vec![
        Bins::fit(&mut spread(1000)),
        Bins::categories(&countries, 3),
        Bins::categories(&[0.0, 1.0, 2.0], 2),
        Bins::fit(&mut spread(750)),
    ];
    let missing = artifact.tabular.missing_rates.clone();
    artifact.drift = Some(DriftReference {
        features,
        score: Bins::fit(&mut spread(100)),
        base_rate: 0.01,
        flagged_rate: 0.01,
        missing,
    });
    let bytes = artifact.encode().unwrap();
    let (served, monitor) = monitored(Served::from_artifact(&bytes).unwrap(), 1_000);
    let app = router(served, &Options { monitor: Some(monitor), ..Options::default() });
    let post = |transactions: Vec<serde_json::Value>| {
        let app = app.clone();
        async move {
            let body = serde_json::to_vec(&json!({ "transactions": transactions })).unwrap();
            let request =
                Request::post("/predict/batch").header(header::CONTENT_TYPE, "application/json").body(Body::from(body));
            let response = app.oneshot(request.unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
    };
    let like_train = |i: usize, country: &str| {
        let ip = if i.is_multiple_of(4) { json!(null) } else { json!((i * 7 % 750) as f64) };
        let mcc = [5411.0, 7995.0, 1234.0][i % 3];
        // The example's country is missing in 1 of 32 train rows.
        let country = if i % 32 == 31 { json!(null) } else { json!(country) };
        json!({ &names[0]: (i * 13 % 1000) as f64, &names[1]: country, &names[2]: mcc, &names[3]: ip })
    };
    let train_country = |i: usize| ["C00", "C00", "C00", "C00", "C05", "C05", "C05", "C17", "C17", "XX"][i % 10];
    post((0..1000).map(|i| like_train(i, train_country(i))).collect()).await;
    let (text, m) = scrape(&app).await;
    for name in &names {
        assert!(psi(&m, name) < 0.05, "{name}: PSI {} on traffic like training\n{text}", psi(&m, name));
    }
    let rate =
        |m: &HashMap<String, f64>, kind: &str, f: &str| m[&format!("fraud_missing_rate_{kind}{{feature=\"{f}\"}}")];
    assert!((rate(&m, "window", &names[3]) - 0.25).abs() < 1e-9, "{text}");
    assert_eq!(rate(&m, "training", &names[3]), 0.25);
    assert!((rate(&m, "window", &names[1]) - 31.0 / 1000.0).abs() < 1e-9);

    // Every country unseen (scored as "other"), and the IP distance always missing.
    post(
        (0..1000)
            .map(|i| {
                let mut t = like_train(i, &format!("Z{i}"));
                t[&names[3]] = json!(null);
                t
            })
            .collect(),
    )
    .await;
    let (text, m) = scrape(&app).await;
    assert!(psi(&m, &names[1]) > 0.25, "unseen countries: PSI {}\n{text}", psi(&m, &names[1]));
    assert!(psi(&m, &names[3]) > 0.25, "missing IP distances: PSI {}", psi(&m, &names[3]));
    assert!(psi(&m, &names[0]) < 0.05 && psi(&m, &names[2]) < 0.05, "the others did not move");
    assert_eq!(rate(&m, "window", &names[3]), 1.0);
}
