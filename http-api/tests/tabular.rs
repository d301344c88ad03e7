//! A format-5 model over the HTTP API: categories as strings (or numbers for a
//! numeric-coded feature), `null` a missing value, unseen categories scored,
//! and wrong types answered 422 naming the field — the same Router the Worker runs.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use fraud_core::Artifact;
use http_api::{app, Served};
use serde_json::{json, Value};
use tower::ServiceExt;

fn router(a: Artifact) -> Router {
    app(Arc::new(Served::from_artifact(&a.encode().unwrap()).expect("the example loads")))
}

async fn call(router: &Router, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

fn models() -> [Artifact; 2] {
    [Artifact::example_payments_trees(), Artifact::example_payments_logistic()]
}

#[tokio::test]
async fn strings_nulls_and_unseen_categories_score() {
    for a in models() {
        let r = router(a);
        let mut probabilities = Vec::new();
        for body in [
            json!({"amount": 97.5, "country": "C05", "mcc_code": 7995, "ip_distance_km": null}),
            json!({"amount": 1500, "country": "never seen", "mcc_code": 1234, "ip_distance_km": 900}),
            json!({"amount": 5, "country": null, "mcc_code": null, "ip_distance_km": 10, "id": "p-1"}),
        ] {
            let (status, got) = call(&r, Method::POST, "/predict?explain=4", Some(&body)).await;
            assert_eq!(status, StatusCode::OK, "{body}: {got}");
            probabilities.push(got["fraud_probability"].as_f64().unwrap());
            let names: Vec<&str> =
                got["contributions"].as_array().unwrap().iter().map(|c| c["feature"].as_str().unwrap()).collect();
            assert!(names.iter().all(|n| ["amount", "country", "mcc_code", "ip_distance_km"].contains(n)), "{got}");
        }
        assert!(probabilities.windows(2).any(|w| w[0] != w[1]));
        let batch = json!({"transactions": [
            {"amount": 97.5, "country": "C05", "mcc_code": 7995, "ip_distance_km": null},
            {"amount": 1500, "country": "never seen", "mcc_code": 1234, "ip_distance_km": 900},
        ]});
        let (status, got) = call(&r, Method::POST, "/predict/batch", Some(&batch)).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        let batch_p: Vec<f64> =
            got["results"].as_array().unwrap().iter().map(|x| x["fraud_probability"].as_f64().unwrap()).collect();
        assert_eq!(batch_p, probabilities[..2], "batch and single agree");
    }
}

#[tokio::test]
async fn wrong_types_are_422_naming_the_field() {
    for a in models() {
        let r = router(a);
        let body = json!({"amount": "97.5", "country": 5, "mcc_code": "7995", "ip_distance_km": true});
        let (status, got) = call(&r, Method::POST, "/predict", Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{got}");
        let fields: Vec<(String, String)> = got["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["field"].as_str().unwrap().to_string(), f["code"].as_str().unwrap().to_string()))
            .collect();
        for (field, code) in [
            ("amount", "non_numeric"),
            ("country", "not_a_category"),
            ("mcc_code", "non_numeric"),
            ("ip_distance_km", "non_numeric"),
        ] {
            assert!(fields.contains(&(field.to_string(), code.to_string())), "{field}: {got}");
        }
        // Any feature may be missing but the amount: money is reckoned from it.
        let body = json!({"amount": null, "country": null, "mcc_code": null, "ip_distance_km": null});
        let (status, got) = call(&r, Method::POST, "/predict", Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{got}");
        assert_eq!(got["error"]["fields"], json!([{"field": "amount", "code": "non_numeric"}]), "{got}");
        // Absent is not missing: a field left out is still `missing_field`.
        let body = json!({"amount": 1, "country": "C00", "mcc_code": 5411});
        let (status, got) = call(&r, Method::POST, "/predict", Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(got["error"]["code"], "missing_field", "{got}");
    }
}

#[tokio::test]
async fn the_card_and_the_openapi_document_say_what_may_be_missing() {
    let r = router(Artifact::example_payments_trees());
    let (status, card) = call(&r, Method::GET, "/model", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(card["schema"]["accepts_missing"], true, "{card}");
    let kinds = card["schema"]["kinds"].as_array().unwrap();
    assert_eq!(kinds[1]["kind"], "text");
    assert_eq!(kinds[1]["categories"], json!(["C00", "C05", "C17"]));
    assert_eq!(kinds[2]["kind"], "numbers");
    let (_, doc) = call(&r, Method::GET, "/openapi.json", None).await;
    let text = doc.to_string();
    assert!(text.contains("scored as \\\"other\\\""), "the document says how unseen categories score");
    assert!(text.contains("null"), "nullable features");
    let body = &doc["components"]["schemas"]["TransactionBody"]["properties"];
    assert_eq!(body["ip_distance_km"]["type"], json!(["number", "null"]), "{body}");
    assert_eq!(body["amount"]["type"], "number", "the amount is never missing: {body}");
    let value = &doc["components"]["schemas"]["ContributionBody"]["properties"]["value"];
    assert_eq!(value["type"], json!(["number", "null"]), "an explanation echoes a missing value as null: {value}");
}
