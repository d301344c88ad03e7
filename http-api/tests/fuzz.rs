//! Property-based fuzzing of the HTTP layer: the JSON body parsers and the
//! whole Router. Properties: no panic, no 5xx, every rejection is one of the
//! contract's JSON errors, valid transactions score exactly as `core`.
//! `FUZZ_CASES` sets the number of cases per property (default 10,000).

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request};
use axum::Router;
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::{Artifact, ErrorCode, RawValue, Schema};

const N_FEATURES: usize = 30;
use contract::parse;
use http_api::{app, Served};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn served() -> Arc<Served> {
    let mut a = Artifact::example();
    a.rule.threshold = 0.5;
    Arc::new(Served::from_artifact(&a.encode().unwrap()).unwrap())
}

/// JSON values shaped like requests: objects with schema names and strays, odd values, nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(|x| json!(x)),
        any::<i64>().prop_map(|x| json!(x)),
        prop_oneof![Just(1e300), Just(-1e13), Just(2e12), Just(0.0)].prop_map(|x: f64| json!(x)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (prop_oneof![4 => prop::sample::select(FEATURE_NAMES.to_vec()).prop_map(String::from), 1 => Just("id".to_string()), 1 => ".{0,12}"], inner),
                0..34
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn known_code(code: &str) -> bool {
    ErrorCode::ALL.iter().any(|c| c.as_str() == code)
}

async fn call(router: &Router, path: &str, body: Vec<u8>) -> (u16, Value) {
    let request = Request::post(path).header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).expect("every answer is JSON"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse::transaction(&bytes, &Schema::creditcard());
        let _ = parse::batch(&bytes, 100, &Schema::creditcard());
    }

    #[test]
    fn any_json_gets_a_contract_answer_never_a_5xx(v in json_value(), batch in any::<bool>()) {
        let router = app(served());
        let (path, body) = if batch {
            ("/predict/batch", json!({ "transactions": [v.clone(), v] }))
        } else {
            ("/predict", v)
        };
        let (status, answer) = runtime().block_on(call(&router, path, body.to_string().into_bytes()));
        prop_assert!(status < 500, "{} for {}", status, body);
        if status == 200 {
            let p = if batch { answer["results"][0]["fraud_probability"].as_f64() } else { answer["fraud_probability"].as_f64() };
            prop_assert!(p.is_some_and(|p| (0.0..=1.0).contains(&p)), "{}", answer);
        } else {
            let code = answer["error"]["code"].as_str().unwrap_or_default();
            prop_assert!(known_code(code), "unknown code in {}", answer);
            prop_assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    #[test]
    fn mangled_json_text_never_gets_a_5xx(v in json_value(), cut in any::<prop::sample::Index>(), junk in ".{0,3}") {
        let mut text = v.to_string();
        let at = cut.index(text.len() + 1);
        let at = (0..=at).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.insert_str(at, &junk);
        let router = app(served());
        let (status, answer) = runtime().block_on(call(&router, "/predict", text.into_bytes()));
        prop_assert!(status < 500);
        prop_assert!(status == 200 || known_code(answer["error"]["code"].as_str().unwrap_or_default()));
    }

    #[test]
    fn valid_transactions_score_exactly_as_core(values in prop::collection::vec(-1e7f64..1e7, N_FEATURES), id in any::<u32>()) {
        let served = served();
        let router = app(served.clone());
        let mut obj: Map<String, Value> = FEATURE_NAMES.iter().zip(&values).map(|(n, v)| (n.to_string(), json!(v))).collect();
        obj.insert("id".into(), json!(id));
        let (status, answer) = runtime().block_on(call(&router, "/predict", Value::Object(obj).to_string().into_bytes()));
        prop_assert_eq!(status, 200);
        let t = served.model().validate(FEATURE_NAMES.iter().zip(&values).map(|(n, v)| (*n, RawValue::Number(*v)))).unwrap();
        let want = served.model().predict(&t);
        prop_assert_eq!(answer["fraud_probability"].as_f64().unwrap().to_bits(), want.probability.to_bits());
        prop_assert_eq!(answer["is_fraud"].as_bool().unwrap(), want.is_fraud);
        prop_assert_eq!(&answer["id"], &json!(id));
    }
}
