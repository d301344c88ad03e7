//! `wasm-pack test --node`: the bindings, including every error path.
#![cfg(target_arch = "wasm32")]

use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::Artifact;

const N_FEATURES: usize = 30;
use js_sys::{Array, Float64Array, Object, Reflect, Uint8Array};
use wasm::FraudModel;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

fn artifact() -> Artifact {
    let mut a = Artifact::example();
    a.rule.threshold = 0.4;
    a.test.f1 = 0.75;
    a
}

fn model() -> FraudModel {
    FraudModel::new(&artifact().encode().unwrap()).unwrap()
}

fn row(v: f64) -> [f64; N_FEATURES] {
    std::array::from_fn(|i| v * (i as f64 - 7.0))
}

fn tx(values: &[f64; N_FEATURES]) -> Object {
    let o = Object::new();
    for (name, v) in FEATURE_NAMES.iter().zip(values) {
        Reflect::set(&o, &JsValue::from_str(name), &JsValue::from_f64(*v)).unwrap();
    }
    o
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn code_of(err: JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "throws a JS Error");
    get(&err, "code").as_string().unwrap()
}

#[wasm_bindgen_test]
fn getters_describe_the_model() {
    let m = model();
    assert_eq!(m.feature_names().len(), N_FEATURES);
    assert_eq!(m.feature_names()[29], "Amount");
    assert_eq!(m.threshold(), 0.4);
    assert_eq!(m.model_name(), "smote");
    assert_eq!(m.pacing_name().as_string().as_deref(), Some(fraud_core::PACING_FEATURE));
    assert_eq!(m.description().as_string().as_deref(), Some("logistic regression"));
    assert_eq!(m.model_id(), fraud_core::artifact::model_id(&artifact().encode().unwrap()));
    let summary = m.summary();
    assert_eq!(get(&get(&summary, "provenance"), "seed").as_f64(), Some(42.0));
    assert_eq!(get(&get(&summary, "test"), "f1").as_f64(), Some(0.75));
}

#[wasm_bindgen_test]
fn predict_matches_core_bit_for_bit() {
    let m = model();
    let core = artifact().model().unwrap();
    for v in [-2.0, -0.3, 0.0, 0.4, 3.0] {
        let x = row(v);
        let out = m.predict(tx(&x).into()).unwrap();
        let p = get(&out, "fraud_probability").as_f64().unwrap();
        assert_eq!(p.to_bits(), core.probability(&x).to_bits());
        assert_eq!(get(&out, "is_fraud").as_bool(), Some(p >= 0.4));
        assert_eq!(get(&out, "threshold").as_f64(), Some(0.4));
    }
}

#[wasm_bindgen_test]
fn keys_in_any_order_take_the_same_path_to_the_same_bits() {
    let m = model();
    let x = row(0.7);
    let reversed = Object::new();
    for (name, v) in FEATURE_NAMES.iter().zip(&x).rev() {
        Reflect::set(&reversed, &JsValue::from_str(name), &JsValue::from_f64(*v)).unwrap();
    }
    let a = get(&m.predict(tx(&x).into()).unwrap(), "fraud_probability").as_f64().unwrap();
    let b = get(&m.predict(reversed.into()).unwrap(), "fraud_probability").as_f64().unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
}

#[wasm_bindgen_test]
fn explain_returns_top_k_contributions() {
    let m = model();
    let out = m.explain(tx(&row(1.0)).into(), 3).unwrap();
    let list: Array = get(&out, "contributions").unchecked_into();
    assert_eq!(list.length(), 3);
    let first = list.get(0);
    assert!(get(&first, "feature").as_string().is_some());
    let mags: Vec<f64> = (0..3).map(|i| get(&list.get(i), "contribution").as_f64().unwrap().abs()).collect();
    assert!(mags[0] >= mags[1] && mags[1] >= mags[2]);
    assert!(get(&out, "fraud_probability").as_f64().is_some());
}

#[wasm_bindgen_test]
fn batch_equals_single_and_returns_typed_arrays() {
    let m = model();
    let rows: Vec<f64> = (0..6).flat_map(|r| row(r as f64 - 2.5)).collect();
    let out = m.predict_batch(&rows, None).unwrap();
    let probs: Float64Array = get(&out, "probabilities").dyn_into().unwrap();
    let decisions: Uint8Array = get(&out, "decisions").dyn_into().unwrap();
    assert_eq!(probs.length(), 6);
    for r in 0..6 {
        let single = get(&m.predict(tx(&row(r as f64 - 2.5)).into()).unwrap(), "fraud_probability").as_f64().unwrap();
        assert_eq!(probs.get_index(r).to_bits(), single.to_bits());
        assert_eq!(decisions.get_index(r), (single >= 0.4) as u8);
    }
    let empty = m.predict_batch(&[], None).unwrap();
    assert_eq!(get(&empty, "probabilities").unchecked_into::<Float64Array>().length(), 0);
}

#[wasm_bindgen_test]
fn bad_artifacts_throw_invalid_artifact() {
    let bytes = artifact().encode().unwrap();
    let mut corrupt = bytes.clone();
    corrupt[30] ^= 1;
    let mut future = bytes.clone();
    future[8] = 9;
    for (case, b) in [
        ("empty", vec![]),
        ("truncated", bytes[..40].to_vec()),
        ("corrupt", corrupt),
        ("future", future),
        ("foreign", b"hello world, not a model".to_vec()),
    ] {
        let err = FraudModel::new(&b).err().unwrap_or_else(|| panic!("{case} accepted"));
        assert_eq!(code_of(err.clone()), "invalid_artifact", "{case}");
        assert!(!get(&err, "message").as_string().unwrap().is_empty());
    }
}

#[wasm_bindgen_test]
fn field_errors_carry_core_codes_and_messages() {
    let m = model();
    let x = row(1.0);
    let check = |o: Object, code: &str, field: &str| {
        let err = m.predict(o.into()).unwrap_err();
        let message = get(&err, "message").as_string().unwrap();
        assert_eq!(code_of(err.clone()), code, "{message}");
        let fields: Array = get(&err, "fields").unchecked_into();
        let names: Vec<String> = fields.iter().map(|f| get(&f, "field").as_string().unwrap()).collect();
        assert!(names.iter().any(|n| n == field), "{names:?} lacks {field}");
        assert!(message.contains(field), "{message}");
    };
    let missing = tx(&x);
    Reflect::delete_property(&missing, &JsValue::from_str("V7")).unwrap();
    check(missing, "missing_field", "V7");
    let unknown = tx(&x);
    Reflect::set(&unknown, &JsValue::from_str("merchant"), &JsValue::from_f64(1.0)).unwrap();
    check(unknown, "unknown_field", "merchant");
    let text = tx(&x);
    Reflect::set(&text, &JsValue::from_str("V2"), &JsValue::from_str("1.5")).unwrap();
    check(text, "non_numeric", "V2");
    let null = tx(&x);
    Reflect::set(&null, &JsValue::from_str("Amount"), &JsValue::NULL).unwrap();
    check(null, "non_numeric", "Amount");
    let nan = tx(&x);
    Reflect::set(&nan, &JsValue::from_str("V3"), &JsValue::from_f64(f64::NAN)).unwrap();
    check(nan, "non_finite", "V3");
    let inf = tx(&x);
    Reflect::set(&inf, &JsValue::from_str("Time"), &JsValue::from_f64(f64::INFINITY)).unwrap();
    check(inf, "non_finite", "Time");
    let huge = tx(&x);
    Reflect::set(&huge, &JsValue::from_str("V9"), &JsValue::from_f64(1e300)).unwrap();
    check(huge, "out_of_range", "V9");
    let mixed = tx(&x);
    Reflect::delete_property(&mixed, &JsValue::from_str("V1")).unwrap();
    Reflect::set(&mixed, &JsValue::from_str("V2"), &JsValue::TRUE).unwrap();
    check(mixed, "invalid_fields", "V1");
    // The message is core's Display, word for word.
    let err = m.predict(Object::new().into()).unwrap_err();
    let core_msg = artifact().model().unwrap().validate(std::iter::empty()).unwrap_err().to_string();
    assert_eq!(get(&err, "message").as_string().unwrap(), core_msg);
}

#[wasm_bindgen_test]
fn non_objects_are_wrong_json_type() {
    let m = model();
    for v in [JsValue::NULL, JsValue::UNDEFINED, JsValue::from_f64(3.0), JsValue::from_str("{}"), Array::new().into()] {
        assert_eq!(code_of(m.predict(v.clone()).unwrap_err()), "wrong_json_type", "{v:?}");
        assert_eq!(code_of(m.explain(v, 3).unwrap_err()), "wrong_json_type");
    }
}

#[wasm_bindgen_test]
fn batch_errors_name_the_row() {
    let m = model();
    let mut rows: Vec<f64> = (0..4).flat_map(|r| row(r as f64)).collect();
    assert_eq!(code_of(m.predict_batch(&rows[..45], None).unwrap_err()), "bad_batch_length");
    rows[2 * N_FEATURES + 5] = f64::NAN;
    let err = m.predict_batch(&rows, None).unwrap_err();
    assert_eq!(code_of(err.clone()), "non_finite");
    assert_eq!(get(&err, "row").as_f64(), Some(2.0));
    assert!(get(&err, "message").as_string().unwrap().starts_with("row 2: "));
}

#[wasm_bindgen_test]
fn thresholds_re_decide_and_bad_ones_throw() {
    let m = model();
    let strict = m.with_threshold(0.99).unwrap();
    assert_eq!(strict.threshold(), 0.99);
    let out = strict.predict(tx(&row(0.0)).into()).unwrap();
    assert_eq!(get(&out, "is_fraud").as_bool(), Some(false));
    for t in [-0.1, 1.5, f64::NAN] {
        assert_eq!(code_of(m.with_threshold(t).err().unwrap()), "invalid_threshold");
    }
}

#[wasm_bindgen_test]
fn zero_copy_batch_equals_predict_batch_and_names_bad_rows() {
    let mut m = model();
    let rows: Vec<f64> = (0..7).flat_map(|r| row(r as f64 - 3.0)).collect();
    let view = m.batch_input(7).unwrap();
    assert_eq!(view.length() as usize, 7 * N_FEATURES);
    assert!(view.to_vec().iter().all(|&v| v == 0.0), "the buffer starts zeroed");
    view.copy_from(&rows);
    let zero_copy = m.score_input(None).unwrap();
    let copied = m.predict_batch(&rows, None).unwrap();
    let a: Float64Array = get(&zero_copy, "probabilities").dyn_into().unwrap();
    let b: Float64Array = get(&copied, "probabilities").dyn_into().unwrap();
    assert_eq!(a.length(), 7);
    for r in 0..7 {
        assert_eq!(a.get_index(r).to_bits(), b.get_index(r).to_bits());
    }
    let da: Uint8Array = get(&zero_copy, "decisions").dyn_into().unwrap();
    let db: Uint8Array = get(&copied, "decisions").dyn_into().unwrap();
    assert_eq!(da.to_vec(), db.to_vec());

    // A bad value written in place is caught like any other batch.
    let view = m.batch_input(3).unwrap();
    view.copy_from(&rows[..3 * N_FEATURES]);
    view.set_index((N_FEATURES + 29) as u32, 2e12);
    let err = m.score_input(None).unwrap_err();
    assert_eq!(code_of(err.clone()), "out_of_range");
    assert_eq!(get(&err, "row").as_f64(), Some(1.0));

    assert_eq!(code_of(m.batch_input(10_000_000).unwrap_err()), "batch_too_large");
    let empty = m.batch_input(0).unwrap();
    assert_eq!(empty.length(), 0);
    assert_eq!(get(&m.score_input(None).unwrap(), "probabilities").unchecked_into::<Float64Array>().length(), 0);
}

#[wasm_bindgen_test]
fn tree_models_score_explain_and_describe_themselves() {
    let a = Artifact::example_trees();
    let m = FraudModel::new(&a.encode().unwrap()).unwrap();
    let core = a.model().unwrap();
    let summary = m.summary();
    assert_eq!(get(&summary, "kind").as_string().as_deref(), Some("trees"));
    assert_eq!(get(&get(&summary, "parameters"), "trees").as_f64(), Some(3.0));
    assert_eq!(get(&get(&summary, "training"), "rounds").as_f64(), Some(3.0));
    assert_eq!(m.description().as_string().as_deref(), Some("3 boosted trees, TreeSHAP explanations"));
    // A sibling (another threshold) is the same scorer, described the same way.
    assert_eq!(m.with_threshold(0.5).unwrap().description().as_string(), m.description().as_string());
    let top: Array = get(&summary, "feature_importance").unchecked_into();
    assert_eq!(get(&top.get(0), "feature").as_string().as_deref(), Some("V14"));
    let rows: Vec<f64> = (0..20).flat_map(|r| row(r as f64 / 4.0 - 2.5)).collect();
    let out = m.predict_batch(&rows, None).unwrap();
    let probs: Float64Array = get(&out, "probabilities").unchecked_into();
    for (r, x) in rows.chunks_exact(N_FEATURES).enumerate() {
        let x: [f64; N_FEATURES] = x.try_into().unwrap();
        assert_eq!(probs.get_index(r as u32).to_bits(), core.probability(&x).to_bits());
        let one = m.predict(tx(&x).into()).unwrap();
        assert_eq!(get(&one, "fraud_probability").as_f64().unwrap().to_bits(), core.probability(&x).to_bits());
        // TreeSHAP: every feature's contribution plus the base value is the logit.
        let explained = m.explain(tx(&x).into(), N_FEATURES).unwrap();
        let contributions: Array = get(&explained, "contributions").unchecked_into();
        let sum: f64 = contributions.iter().map(|c| get(&c, "contribution").as_f64().unwrap()).sum();
        let base = get(&explained, "base_value").as_f64().unwrap();
        assert!((sum + base - core.logit(&x)).abs() < 1e-9);
    }
}

#[wasm_bindgen_test]
fn money_is_core_s_expected_benefits_decisions_and_tally() {
    // The trees example serves the cost-optimal policy, calibrated, in CHF.
    let artifact = Artifact::example_trees();
    let core = artifact.model().unwrap();
    let mut m = FraudModel::new(&artifact.encode().unwrap()).unwrap();
    assert_eq!(m.policy(), "cost_optimal");
    assert_eq!(m.currency(), "CHF");
    let rows: Vec<f64> = (0..40)
        .flat_map(|r| {
            let mut x = row(r as f64 / 10.0 - 2.0);
            x[29] = r as f64 * 37.5;
            x
        })
        .collect();
    for x in rows.chunks_exact(N_FEATURES) {
        let x: [f64; N_FEATURES] = x.try_into().unwrap();
        let out = m.predict(tx(&x).into()).unwrap();
        let want = core.predict(&core.transaction(&x).unwrap());
        let expected = get(&out, "expected_benefit");
        assert_eq!(get(&expected, "refuse").as_f64().unwrap().to_bits(), want.expected.refuse.to_bits());
        assert_eq!(get(&expected, "accept").as_f64().unwrap().to_bits(), want.expected.accept.to_bits());
        assert_eq!(get(&out, "is_fraud").as_bool(), Some(want.is_fraud));
    }
    // The tally over the input buffer is core's, with this instance's costs.
    m.batch_input(40).unwrap().copy_from(&rows);
    let decisions: Uint8Array = get(&m.score_input(None).unwrap(), "decisions").dyn_into().unwrap();
    let labels: Vec<u8> = (0..40).map(|r| (r % 3 == 0) as u8).collect();
    let tally = m.tally_input(&labels, &decisions.to_vec()).unwrap().to_vec();
    let mut want = fraud_core::Tally::default();
    for ((x, &y), &d) in rows.chunks_exact(N_FEATURES).zip(&labels).zip(&decisions.to_vec()) {
        want.add(core.costs(), x[29], y == 1, d == 1);
    }
    assert_eq!(tally[7].to_bits(), want.net_benefit.to_bits());
    assert_eq!((tally[0], tally[3]), (40.0, want.false_alarms as f64));
    assert_eq!(code_of(m.tally_input(&labels, &[0u8; 41]).unwrap_err()), "bad_batch_length");
    // Dearer false alarms refuse less; bad costs throw with a code.
    let dear = [50.0, 0.0, 0.0, -1.0, -1e6, 0.0, 0.0, 0.02];
    let mut careful = m.with_costs("CHF".into(), &dear).unwrap();
    careful.batch_input(40).unwrap().copy_from(&rows);
    let fewer: Uint8Array = get(&careful.score_input(None).unwrap(), "decisions").dyn_into().unwrap();
    let count = |d: &Uint8Array| d.to_vec().iter().filter(|&&v| v == 1).count();
    assert!(count(&fewer) <= count(&decisions));
    assert_eq!(code_of(m.with_costs("CHF".into(), &dear[..7]).err().unwrap()), "invalid_parameter");
    let mut infinite = dear;
    infinite[2] = f64::INFINITY;
    assert_eq!(code_of(m.with_costs("CHF".into(), &infinite).err().unwrap()), "invalid_parameter");
    assert_eq!(code_of(m.with_costs(String::new(), &dear).err().unwrap()), "invalid_parameter");
}

/// A model of another schema: its names, label and id; transactions of the Kaggle schema are refused naming its fields.
#[wasm_bindgen_test]
fn another_schema_speaks_its_own_names() {
    let a = Artifact::example_retail();
    let m = FraudModel::new(&a.encode().unwrap()).unwrap();
    assert_eq!(m.feature_names(), fraud_core::schema::RETAIL_FEATURES.map(String::from).to_vec());
    assert_eq!((m.label_name(), m.id_name()), ("is_fraud".to_string(), Some("transaction_id".to_string())));
    // No `Time` column: nothing to pace by (the page replays one transaction per second).
    assert!(m.pacing_name().is_null());
    let o = Object::new();
    for (i, name) in fraud_core::schema::RETAIL_FEATURES.iter().enumerate() {
        Reflect::set(&o, &JsValue::from_str(name), &JsValue::from_f64(i as f64)).unwrap();
    }
    let out = m.predict(o.into()).unwrap();
    let core = a.model().unwrap();
    let x: Vec<f64> = (0..12).map(|i| i as f64).collect();
    let want = core.predict(&core.transaction(&x).unwrap()).probability;
    assert_eq!(get(&out, "fraud_probability").as_f64().unwrap().to_bits(), want.to_bits());
    let err = m.predict(tx(&row(1.0)).into()).unwrap_err();
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.contains("missing: amount, merchant_risk") && message.contains("unknown: Time"), "{message}");
    assert_eq!(get(&get(&m.summary(), "schema"), "label").as_string().as_deref(), Some("is_fraud"));
}

/// A format-5 model: strings, `null`, unseen categories; rows of codes with `rowValue`.
#[wasm_bindgen_test]
fn categories_and_missing_values_from_js() {
    for a in [Artifact::example_payments_trees(), Artifact::example_payments_logistic()] {
        let m = FraudModel::new(&a.encode().unwrap()).unwrap();
        let o = Object::new();
        let set = |o: &Object, k: &str, v: &JsValue| Reflect::set(o, &JsValue::from_str(k), v).unwrap();
        set(&o, "amount", &JsValue::from_f64(97.5));
        set(&o, "country", &JsValue::from_str("C05"));
        set(&o, "mcc_code", &JsValue::from_f64(7995.0));
        set(&o, "ip_distance_km", &JsValue::NULL);
        let single = get(&m.predict(o.clone().into()).unwrap(), "fraud_probability").as_f64().unwrap();
        let row: Vec<f64> = [
            ("amount", JsValue::from_f64(97.5)),
            ("country", JsValue::from_str("C05")),
            ("mcc_code", JsValue::from_f64(7995.0)),
            ("ip_distance_km", JsValue::NULL),
        ]
        .iter()
        .map(|(k, v)| m.row_value(k, v).unwrap())
        .collect();
        assert_eq!(&row[..3], &[97.5, 1.0, 1.0]);
        assert!(row[3].is_nan());
        let batch = m.predict_batch(&row, None).unwrap();
        let p = get(&batch, "probabilities").unchecked_into::<Float64Array>().to_vec();
        assert_eq!(p[0].to_bits(), single.to_bits(), "the batch path agrees");
        assert_eq!(m.row_value("country", &JsValue::from_str("ZZ")).unwrap(), 3.0, "unseen: other");
        assert_eq!(code_of(m.row_value("country", &JsValue::from_f64(1.0)).unwrap_err()), "not_a_category");
        assert_eq!(code_of(m.row_value("nope", &JsValue::NULL).unwrap_err()), "unknown_field");
        set(&o, "country", &JsValue::from_f64(2.0));
        assert_eq!(code_of(m.predict(o.clone().into()).unwrap_err()), "not_a_category");
        assert_eq!(code_of(m.predict_batch(&[1.0, 9.0, 0.0, 0.0], None).unwrap_err()), "not_a_category");
    }
}

#[wasm_bindgen_test]
fn rules_decide_as_core_and_bad_rules_name_line_and_column() {
    let mut m = model();
    let x = row(0.05);
    let p = get(&m.predict(tx(&x).into()).unwrap(), "fraud_probability").as_f64().unwrap();
    // Without rules the model decides and no ruleset is named.
    let bare = m.predict(tx(&x).into()).unwrap();
    assert_eq!(get(&bare, "rule"), JsValue::NULL);
    assert_eq!(get(&bare, "ruleset"), JsValue::NULL);
    let lists = Object::new();
    Reflect::set(&lists, &JsValue::from_str("vip"), &JsValue::from_str("t-1\nt-2\n")).unwrap();
    let text = format!(
        "version v1\naccept vip if :id: in @vip\nreview low if :probability: <= {p:?}\nshadow refuse s if :Amount: > -1e9\n"
    );
    let r = m.with_rules(&text, lists.clone().into()).unwrap();
    assert_eq!(r.ruleset_version(), JsValue::from_str("v1"));
    let out = r.predict(tx(&x).into()).unwrap();
    assert_eq!(get(&out, "action"), JsValue::from_str("review"));
    assert_eq!(get(&out, "rule"), JsValue::from_str("low"));
    assert_eq!(get(&out, "ruleset"), JsValue::from_str("v1"));
    assert_eq!(Array::from(&get(&out, "shadow_rules")).get(0), JsValue::from_str("s"));
    let with_id = tx(&x);
    Reflect::set(&with_id, &JsValue::from_str("id"), &JsValue::from_str("t-2")).unwrap();
    let vip = r.predict(with_id.into()).unwrap();
    assert_eq!(get(&vip, "action"), JsValue::from_str("accept"));
    assert_eq!(get(&vip, "rule"), JsValue::from_str("vip"));
    // A batch: the same verdicts, ids given per row.
    let rows: Vec<f64> = x.iter().chain(x.iter()).copied().collect();
    let ids: Array = [JsValue::from_str("t-1"), JsValue::NULL].into_iter().collect();
    let batch = r.predict_batch(&rows, Some(ids)).unwrap();
    let actions: Uint8Array = get(&batch, "actions").unchecked_into();
    assert_eq!(actions.to_vec(), vec![0, 1]);
    let deciding: js_sys::Int16Array = get(&batch, "rules").unchecked_into();
    assert_eq!(deciding.to_vec(), vec![0, 1]);
    let short: Array = [JsValue::from_str("t-1")].into_iter().collect();
    assert_eq!(code_of(r.predict_batch(&rows, Some(short)).unwrap_err()), "bad_batch_length");
    // A bad file: the error names the line and column; nothing else changes.
    let Err(err) = m.with_rules("refuse a if :probability: >= 0.5\nreview b if :nope: > 1\n", JsValue::UNDEFINED)
    else {
        panic!("a rule on an unknown attribute compiled")
    };
    assert_eq!(code_of(err.clone()), "invalid_rules");
    assert_eq!(get(&err, "line").as_f64(), Some(2.0));
    assert_eq!(get(&err, "column").as_f64(), Some(13.0));
    let Err(err) = m.with_rules("accept a if :id: in @missing\n", JsValue::from_f64(3.0)) else {
        panic!("lists that are a number were taken")
    };
    assert_eq!(code_of(err), "invalid_rules");
    // A backtest on the input buffer: every row counted once, by one rule or the model.
    m.batch_input(2).unwrap().copy_from(&rows);
    let labels = [1u8, 0];
    let ids: Array = [JsValue::from_str("t-1"), JsValue::from_str("x")].into_iter().collect();
    let bt = m.backtest_input(&labels, Some(ids), &text, lists.into(), 3.0).unwrap();
    let acts = get(&bt, "actions");
    assert_eq!((get(&acts, "accept").as_f64(), get(&acts, "review").as_f64()), (Some(1.0), Some(1.0)));
    let total = get(&bt, "total");
    assert_eq!(get(&total, "reviews").as_f64(), Some(1.0));
    assert_eq!(get(&total, "review_cost").as_f64(), Some(3.0));
    assert_eq!(
        code_of(m.backtest_input(&labels[..1], None, &text, JsValue::UNDEFINED, 3.0).unwrap_err()),
        "invalid_rules"
    );
    assert_eq!(
        code_of(m.backtest_input(&labels, None, "", JsValue::UNDEFINED, f64::NAN).unwrap_err()),
        "invalid_parameter"
    );
}
