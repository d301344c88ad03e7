//! The HTTP contract, in process (`oneshot`, no socket): every case of
//! `parity/http-cases.json` (the list the Worker's end-to-end test replays
//! too), plus what a list of cases cannot say — bit-exact scores, id echo,
//! explanations, batch order, streamed oversized bodies.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::{Artifact, Provenance, RawValue};

const N_FEATURES: usize = 30;
use http_api::{app, Served, MAX_BODY_BYTES};
use serde_json::{json, Value};
use tower::ServiceExt;

fn artifact() -> Vec<u8> {
    let mut a = Artifact::example();
    a.model_name = "test".into();
    a.rule.threshold = 0.4;
    a.provenance = Provenance { dataset: "unit-test".into(), ..Provenance::default() };
    a.encode().unwrap()
}

fn router() -> (Router, Arc<Served>) {
    let served = Arc::new(Served::from_artifact(&artifact()).expect("test artifact loads"));
    (app(served.clone()), served)
}

async fn send(
    router: &Router,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Body,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let is_json = response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "application/json");
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    assert!(is_json, "{path}: response is not JSON: {}", String::from_utf8_lossy(&bytes));
    (status, serde_json::from_slice(&bytes).expect("body is JSON"))
}

async fn post(router: &Router, path: &str, body: &Value) -> (StatusCode, Value) {
    send(router, Method::POST, path, Some("application/json"), Body::from(body.to_string())).await
}

fn transaction(seed: f64) -> Value {
    let mut obj = serde_json::Map::new();
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        obj.insert(name.to_string(), json!(seed * (i as f64 - 12.0) / 7.0));
    }
    Value::Object(obj)
}

fn core_probability(served: &Served, tx: &Value) -> f64 {
    let pairs: Vec<(&str, RawValue)> =
        FEATURE_NAMES.iter().map(|n| (*n, RawValue::Number(tx[n].as_f64().unwrap()))).collect();
    served.model().predict(&served.model().validate(pairs).unwrap()).probability
}

#[tokio::test]
async fn every_shared_case_gets_its_status_and_code() {
    let (router, _) = router();
    let doc: Value = serde_json::from_str(include_str!("../../parity/http-cases.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut raw = case["raw"].as_str().unwrap_or("").to_string();
        if let Some(n) = case["pad_to"].as_u64() {
            raw.push_str(&" ".repeat(n as usize - raw.len()));
        }
        let method = Method::from_bytes(case["method"].as_str().unwrap().as_bytes()).unwrap();
        let ct = case["content_type"].as_str().unwrap_or("application/json");
        let mut request =
            Request::builder().method(method).uri(case["path"].as_str().unwrap()).header(header::CONTENT_TYPE, ct);
        for (k, v) in case["headers"].as_object().into_iter().flatten() {
            request = request.header(k.as_str(), v.as_str().unwrap());
        }
        let response = router.clone().oneshot(request.body(Body::from(raw)).unwrap()).await.unwrap();
        let status = response.status();
        for (k, v) in case["response_headers"].as_object().into_iter().flatten() {
            let got = response.headers().get(k.as_str()).map(|h| h.to_str().unwrap().to_ascii_lowercase());
            assert_eq!(got.as_deref(), v.as_str(), "{name}: header {k}");
        }
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        if case["no_json"].as_bool() == Some(true) {
            assert_eq!(status.as_u16() as u64, case["status"].as_u64().unwrap(), "{name}");
            continue;
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: not JSON ({e})"));
        assert_eq!(status.as_u16() as u64, case["status"].as_u64().unwrap(), "{name}: {body}");
        if let Some(code) = case["code"].as_str() {
            assert_eq!(body["error"]["code"], code, "{name}: {body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
        }
        if let Some(fields) = case["fields"].as_array() {
            let got: Vec<&Value> = body["error"]["fields"].as_array().unwrap().iter().map(|f| &f["field"]).collect();
            assert_eq!(got, fields.iter().collect::<Vec<_>>(), "{name}: {body}");
        }
        if let Some(items) = case["items"].as_array() {
            let got: Vec<&Value> = body["error"]["items"].as_array().unwrap().iter().map(|i| &i["index"]).collect();
            assert_eq!(got, items.iter().collect::<Vec<_>>(), "{name}: {body}");
        }
    }
}

#[tokio::test]
async fn predict_scores_exactly_as_core_and_echoes_the_id() {
    let (router, served) = router();
    for (k, seed) in [-2.0, -0.3, 0.0, 0.45, 1.7].into_iter().enumerate() {
        let mut tx = transaction(seed);
        tx["id"] = if k % 2 == 0 { json!(format!("tx-{k}")) } else { json!(k) };
        let (status, body) = post(&router, "/predict", &tx).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let want = core_probability(&served, &tx);
        assert_eq!(body["fraud_probability"].as_f64().unwrap().to_bits(), want.to_bits());
        assert_eq!(body["is_fraud"], json!(want >= 0.4));
        assert_eq!(body["threshold"], json!(0.4));
        assert_eq!(body["id"], tx["id"]);
        assert_eq!(body["model"]["name"], "test");
        assert_eq!(body["model"]["id"], served.model_id());
        assert!(body.get("contributions").is_none());
    }
    let (_, body) = post(&router, "/predict", &transaction(1.0)).await;
    assert_eq!(body["id"], Value::Null);
}

#[tokio::test]
async fn explain_returns_the_top_contributions() {
    let (router, _) = router();
    let (status, body) = post(&router, "/predict?explain=4", &transaction(1.3)).await;
    assert_eq!(status, StatusCode::OK);
    let c = body["contributions"].as_array().unwrap();
    assert_eq!(c.len(), 4);
    let mags: Vec<f64> = c.iter().map(|x| x["contribution"].as_f64().unwrap().abs()).collect();
    assert!(mags.windows(2).all(|w| w[0] >= w[1]), "{mags:?}");
    let (_, body) = post(&router, "/predict?explain=999", &transaction(1.3)).await;
    assert_eq!(body["contributions"].as_array().unwrap().len(), N_FEATURES, "capped at the schema");
}

#[tokio::test]
async fn batch_keeps_input_order_and_matches_single_scores() {
    let (router, served) = router();
    let txs: Vec<Value> = (0..50)
        .map(|i| {
            let mut t = transaction(i as f64 / 10.0 - 2.5);
            t["id"] = json!(i);
            t
        })
        .collect();
    let (status, body) = post(&router, "/predict/batch", &json!({ "transactions": txs })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(body["count"], 50);
    let mut flagged = 0;
    for (i, (r, tx)) in results.iter().zip(&txs).enumerate() {
        assert_eq!(r["id"], json!(i));
        let want = core_probability(&served, tx);
        assert_eq!(r["fraud_probability"].as_f64().unwrap().to_bits(), want.to_bits());
        flagged += (want >= 0.4) as u64;
    }
    assert_eq!(body["flagged"], flagged);
}

#[tokio::test]
async fn a_bad_batch_item_names_index_and_fields_and_nothing_is_scored() {
    let (router, _) = router();
    let mut txs: Vec<Value> = (0..300).map(|i| transaction(i as f64 / 100.0)).collect();
    for i in (0..300).step_by(2) {
        txs[i].as_object_mut().unwrap().remove("V7");
    }
    let (status, body) = post(&router, "/predict/batch", &json!({ "transactions": txs })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.get("results").is_none());
    let items = body["error"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 100, "listed items are capped");
    assert_eq!(body["error"]["omitted"], 50);
    assert_eq!(items[1]["index"], 2);
    assert_eq!(items[1]["fields"][0], json!({ "field": "V7", "code": "missing_field" }));
    assert!(body["error"]["message"].as_str().unwrap().starts_with("150 of 300 transactions are invalid"));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_or_without_a_length() {
    let (router, _) = router();
    // Streamed in chunks with no Content-Length: the limit still holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..20).map(|_| Ok(vec![b' '; 8192])).collect();
    let body = Body::from_stream(futures_stream(chunks));
    let (status, v) = send(&router, Method::POST, "/predict", None, body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"]["message"].as_str().unwrap().contains(&MAX_BODY_BYTES.to_string()));
    // No content type at all is taken as JSON.
    let (status, _) = send(&router, Method::POST, "/predict", None, Body::from(transaction(0.1).to_string())).await;
    assert_eq!(status, StatusCode::OK);
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send {
    struct Iter(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Iter {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(chunks.into_iter())
}

#[tokio::test]
async fn health_and_model_card_describe_the_model() {
    let (router, served) = router();
    let (status, health) = send(&router, Method::GET, "/health", None, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["model"]["id"], served.model_id());
    let (_, card) = send(&router, Method::GET, "/model", None, Body::empty()).await;
    assert_eq!(card["schema"]["features"].as_array().unwrap().len(), N_FEATURES);
    assert_eq!(card["threshold"], 0.4);
    assert_eq!(card["provenance"]["dataset"], "unit-test");
    assert_eq!(card["limits"]["max_batch"], 10_000);
}

#[test]
fn corrupt_artifacts_are_refused() {
    let mut bytes = artifact();
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    assert!(Served::from_artifact(&bytes).is_err());
    assert!(Served::from_artifact(&bytes[..10]).is_err());
}

/// Every status the OpenAPI document lists for a route is one a shared
/// contract case reaches (408 and 503 come from the native server's layers;
/// `server/tests/native.rs` reaches those), and the document is served.
#[tokio::test]
async fn every_documented_status_is_reached_by_a_contract_case() {
    let (router, _) = router();
    let (status, doc) = send(&router, Method::GET, "/openapi.json", None, Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let cases: Value = serde_json::from_str(include_str!("../../parity/http-cases.json")).unwrap();
    let reached: Vec<(String, String, u64)> = cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let path = c["path"].as_str().unwrap().split('?').next().unwrap().to_string();
            (c["method"].as_str().unwrap().to_ascii_lowercase(), path, c["status"].as_u64().unwrap())
        })
        .collect();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in op["responses"].as_object().unwrap().keys() {
                let status: u64 = status.parse().unwrap();
                checked += 1;
                if status == 408 || status == 503 {
                    continue;
                }
                let found = reached.iter().any(|(m, p, s)| m == method && p == path && *s == status);
                let served = status == 200 && matches!(path.as_str(), "/health" | "/model" | "/openapi.json");
                assert!(found || served, "{method} {path} documents {status}, which no contract case reaches");
            }
        }
    }
    assert!(checked >= 17, "{checked}");
    let docs = router.oneshot(Request::get("/docs").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
}

/// A model of a team's own schema: requests, errors, the card and the
/// OpenAPI document all speak its names, and the Kaggle file's fields are refused.
#[tokio::test]
async fn another_schema_is_served_by_its_own_names() {
    let artifact = Artifact::example_retail();
    let served = Arc::new(Served::from_artifact(&artifact.encode().unwrap()).unwrap());
    let router = app(served.clone());
    let names = fraud_core::schema::RETAIL_FEATURES;
    let tx: serde_json::Map<String, Value> =
        names.iter().enumerate().map(|(i, n)| (n.to_string(), json!(i as f64 * 1.5))).collect();
    let (status, body) = post(&router, "/predict?explain=3", &Value::Object(tx.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pairs: Vec<(&str, RawValue)> = names.iter().map(|n| (*n, RawValue::Number(tx[*n].as_f64().unwrap()))).collect();
    let want = served.model().predict(&served.model().validate(pairs).unwrap());
    assert_eq!(body["fraud_probability"].as_f64().unwrap().to_bits(), want.probability.to_bits());
    assert!(body["contributions"].as_array().unwrap().iter().all(|c| names.contains(&c["feature"].as_str().unwrap())));
    assert_eq!(body["expected_benefit"]["currency"], "USD");
    // A creditcard transaction is refused, every field named.
    let (status, body) = post(&router, "/predict", &transaction(1.0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "invalid_fields");
    let fields: Vec<&str> =
        body["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"merchant_risk") && fields.contains(&"V14"), "{fields:?}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("missing: amount, merchant_risk"), "{message}");
    // The card and the document describe this schema.
    let (_, card) = send(&router, Method::GET, "/model", None, Body::empty()).await;
    assert_eq!(card["schema"]["features"], json!(names));
    assert_eq!(
        (card["schema"]["label"].as_str(), card["schema"]["id"].as_str()),
        (Some("is_fraud"), Some("transaction_id"))
    );
    assert_eq!(card["limits"]["max_explain"], 12);
    let (_, doc) = send(&router, Method::GET, "/openapi.json", None, Body::empty()).await;
    let body_schema = &doc["components"]["schemas"]["TransactionBody"];
    assert_eq!(body_schema["required"], json!(names));
    assert!(body_schema["properties"].get("V1").is_none());
    assert_eq!(doc["info"]["x-limits"]["max_explain"], 12);
}
