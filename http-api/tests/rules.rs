//! The decision layer over HTTP: every answer names its action, the rule that
//! decided and the rule set's version; a batch is decided by one set even
//! when it is swapped meanwhile.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use fraud_core::schema::CREDITCARD_FEATURES;
use fraud_core::{Artifact, RuleSet};
use http_api::{app, Served};
use serde_json::{json, Value};
use tower::ServiceExt;

const RULES: &str = "\
version v1
review mid     if :probability: >= 0.0
refuse big     if :Amount: > 1000
accept trusted if :id: in @trusted
shadow refuse neg_v1 if :V1: < 0
";

fn served() -> Arc<Served> {
    let bytes = Artifact::example().encode().unwrap();
    Arc::new(Served::from_artifact(&bytes).unwrap())
}

fn rules(text: &str, served: &Served) -> RuleSet {
    RuleSet::compile(text, &[("trusted", "tx-1\n42\n")], served.model().schema()).unwrap()
}

fn transaction(amount: f64, v1: f64, id: Value) -> Value {
    let mut obj = serde_json::Map::new();
    for name in CREDITCARD_FEATURES {
        obj.insert(name.to_string(), json!(0.5));
    }
    obj.insert("Amount".into(), json!(amount));
    obj.insert("V1".into(), json!(v1));
    if !id.is_null() {
        obj.insert("id".into(), id);
    }
    Value::Object(obj)
}

async fn post(router: &Router, path: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn without_rules_the_model_decides_and_says_so() {
    let router = app(served());
    let (status, body) = post(&router, "/predict", &transaction(5000.0, -1.0, json!("tx-1"))).await;
    assert_eq!(status, StatusCode::OK);
    let expected = if body["is_fraud"] == json!(true) { "refuse" } else { "accept" };
    assert_eq!(body["action"], expected);
    assert_eq!((body["rule"].clone(), body["ruleset"].clone()), (Value::Null, Value::Null));
    assert_eq!(body["shadow_rules"], json!([]));
}

#[tokio::test]
async fn rules_decide_in_radar_order_and_name_themselves() {
    let served = served();
    served.set_rules(rules(RULES, &served));
    let router = app(served.clone());
    let cases = [
        (transaction(5000.0, -1.0, json!("tx-1")), "accept", json!("trusted"), json!(["neg_v1"])),
        // A number id is matched by its decimal text.
        (transaction(5000.0, 1.0, json!(42)), "accept", json!("trusted"), json!([])),
        (transaction(5000.0, 1.0, json!("tx-2")), "refuse", json!("big"), json!([])),
        (transaction(10.0, 1.0, Value::Null), "review", json!("mid"), json!([])),
    ];
    for (tx, action, rule, shadow) in &cases {
        let (status, body) = post(&router, "/predict", tx).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((&body["action"], &body["rule"]), (&json!(action), rule), "{tx}");
        assert_eq!(body["ruleset"], "v1");
        assert_eq!(&body["shadow_rules"], shadow);
    }
    let batch = json!({ "transactions": cases.iter().map(|c| c.0.clone()).collect::<Vec<_>>() });
    let (status, body) = post(&router, "/predict/batch", &batch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["actions"], json!({"accept": 2, "review": 1, "refuse": 1}));
    assert_eq!(body["ruleset"], "v1");
    for (result, (_, action, rule, shadow)) in body["results"].as_array().unwrap().iter().zip(&cases) {
        assert_eq!((&result["action"], &result["rule"], &result["shadow_rules"]), (&json!(action), rule, shadow));
    }

    // A swap takes effect for the next request, whole.
    served.set_rules(rules("version v2\nrefuse all if :Amount: >= 0\n", &served));
    let (_, body) = post(&router, "/predict/batch", &batch).await;
    assert_eq!(body["actions"], json!({"accept": 0, "review": 0, "refuse": 4}));
    assert_eq!(body["ruleset"], "v2");
}

#[tokio::test]
async fn the_openapi_document_describes_the_decision_fields() {
    let router = app(served());
    let request = Request::builder().uri("/openapi.json").body(Body::empty()).unwrap();
    let bytes = to_bytes(router.oneshot(request).await.unwrap().into_body(), usize::MAX).await.unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let predict = &doc["components"]["schemas"]["PredictResponse"];
    for field in ["action", "rule", "ruleset", "shadow_rules"] {
        assert!(predict["properties"].get(field).is_some(), "{field}: {predict}");
    }
    assert!(doc["components"]["schemas"]["ActionCounts"].is_object());
}
