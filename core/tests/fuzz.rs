//! Property-based fuzzing of everything in `core` that reads untrusted input:
//! the artifact decoder, field validation and batch scoring. Properties: no
//! panic, every rejection is a typed error, valid inputs round-trip.
//! `FUZZ_CASES` sets the number of cases per property (default 20,000).

use fraud_core::artifact::{crc32, FORMAT_VERSION, MAGIC};
use fraud_core::artifact::{LogisticTraining, TreesTraining};
use fraud_core::model::BatchError;
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::trees::{LeafSum, LEAF};
use fraud_core::{
    validate_fields, Artifact, ErrorCode, LeafParams, LogisticWeights, Metrics, ModelParams, Provenance, RawValue,
    Scaler, Schema, SplitParams, Training, TreeEnsemble, TreeParams, MAX_ABS_VALUE,
};

const N_FEATURES: usize = 30;
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn artifact(params: ModelParams, training: Training, threshold: f64, name: String) -> Artifact {
    Artifact {
        model_name: name,
        schema: Schema::creditcard(),
        rule: fraud_core::DecisionRule::at_threshold(threshold),
        params,
        training,
        provenance: Provenance { dataset: "fuzz".into(), seed: 7, ..Provenance::default() },
        feature_importance: (0..N_FEATURES).map(|i| i as f64).collect(),
        validation: Metrics::default(),
        test: Metrics { f1: 0.5, ..Metrics::default() },
        calibration_test: None,
        policies: Vec::new(),
        drift: None,
        tabular: Default::default(),
        imported: None,
    }
}

fn logistic() -> impl Strategy<Value = ModelParams> {
    (
        prop::collection::vec(-5.0f64..5.0, N_FEATURES),
        prop::collection::vec(-1e4f64..1e4, N_FEATURES),
        prop::collection::vec(0.01f64..1e3, N_FEATURES),
    )
        .prop_map(|(weights, mean, scale)| ModelParams::Logistic {
            scaler: Scaler { mean, scale },
            weights: LogisticWeights { weights, intercept: -2.0 },
        })
}

/// A full binary tree of `depth` levels from flat random draws, with consistent covers.
fn tree(depth: u32, features: &[u32], thresholds: &[f64], values: &[f64], covers: &[f64]) -> TreeParams {
    let n_splits = (1usize << depth) - 1;
    let n_leaves = 1usize << depth;
    let mut leaves: Vec<LeafParams> = (0..n_leaves)
        .map(|i| LeafParams { value: values[i % values.len()], cover: covers[i % covers.len()] })
        .collect();
    // Heap order: split i has children 2i+1 and 2i+2; the last level's children are leaves.
    let child = |c: usize| if c < n_splits { c as u32 } else { LEAF | (c - n_splits) as u32 };
    fn cover(c: usize, n_splits: usize, leaves: &[LeafParams]) -> f64 {
        if c >= n_splits {
            leaves[c - n_splits].cover
        } else {
            cover(2 * c + 1, n_splits, leaves) + cover(2 * c + 2, n_splits, leaves)
        }
    }
    let splits = (0..n_splits)
        .map(|i| SplitParams {
            feature: features[i % features.len()],
            threshold: thresholds[i % thresholds.len()],
            left: child(2 * i + 1),
            right: child(2 * i + 2),
            cover: cover(i, n_splits, &leaves),
            missing_left: true,
            categories: None,
            missing_zero: false,
        })
        .collect();
    if n_splits == 0 {
        leaves.truncate(1);
    }
    TreeParams { splits, leaves }
}

fn trees() -> impl Strategy<Value = ModelParams> {
    (
        prop::collection::vec(0u32..=4, 1..6),
        prop::collection::vec(0u32..N_FEATURES as u32, 1..16),
        prop::collection::vec(-1e3f64..1e3, 1..16),
        prop::collection::vec(-3.0f64..3.0, 1..16),
        prop::collection::vec(0.5f64..1e3, 1..16),
        -8.0f64..2.0,
    )
        .prop_map(|(depths, f, t, v, c, base)| {
            ModelParams::Trees(TreeEnsemble {
                base_score: base,
                trees: depths.iter().map(|&d| tree(d, &f, &t, &v, &c)).collect(),
                category_sets: Vec::new(),
                leaf_sum: LeafSum::F64,
            })
        })
}

fn valid_artifact() -> impl Strategy<Value = Artifact> {
    (prop_oneof![logistic(), trees()], 0.0f64..=1.0, "[a-z_]{0,20}").prop_map(|(params, t, n)| {
        let training = match params {
            ModelParams::Logistic { .. } => Training::Logistic(LogisticTraining { c: 1.0, ..Default::default() }),
            ModelParams::Trees(_) => Training::Trees(TreesTraining { rounds: 3, ..Default::default() }),
        };
        artifact(params, training, t, n)
    })
}

/// Magic, version, length and a valid CRC around any payload: reaches the payload decoder.
fn seal(payload: &[u8]) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    bytes.extend_from_slice(payload);
    let crc = crc32(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

fn raw_value() -> impl Strategy<Value = RawValue<'static>> {
    prop_oneof![
        4 => (-1e6f64..1e6).prop_map(RawValue::Number),
        1 => any::<f64>().prop_map(RawValue::Number),
        1 => Just(RawValue::Number(f64::NAN)),
        1 => Just(RawValue::Number(f64::INFINITY)),
        1 => prop::sample::select(vec!["string", "null", "boolean", "object", "array"]).prop_map(RawValue::NotNumber),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(FEATURE_NAMES.to_vec()).prop_map(String::from),
        1 => ".{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Artifact::load(&bytes);
        let _ = Artifact::load(&seal(&bytes));
    }

    #[test]
    fn valid_artifacts_round_trip(a in valid_artifact()) {
        let bytes = a.encode().unwrap();
        let fraud_core::Loaded { artifact: back, model, .. } = Artifact::load(&bytes).expect("a valid artifact loads");
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(model.threshold(), a.rule.threshold);
    }

    #[test]
    fn corrupted_payloads_behind_a_valid_checksum_are_typed_errors_or_valid_models(
        a in valid_artifact(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let encoded = a.encode().unwrap();
        let mut payload = encoded[14..encoded.len() - 4].to_vec();
        for (i, v) in edits {
            let i = i.index(payload.len());
            payload[i] = v;
        }
        if truncate {
            payload.truncate(cut.index(payload.len()));
        }
        // Either refused with a typed error, or a model whose every parameter passed the checks.
        if let Ok(fraud_core::Loaded { artifact: back, model, .. }) = Artifact::load(&seal(&payload)) {
            prop_assert!((0.0..=1.0).contains(&model.threshold()));
            prop_assert!(back.feature_importance.is_empty() || back.feature_importance.len() == N_FEATURES);
            let p = model.probability(&[MAX_ABS_VALUE; N_FEATURES]);
            prop_assert!((0.0..=1.0).contains(&p), "a loaded model scored {}", p);
        }
    }

    #[test]
    fn explanations_sum_to_the_logit(a in valid_artifact(), row in prop::collection::vec(-1e3f64..1e3, N_FEATURES)) {
        let model = a.model().expect("valid");
        let x: [f64; N_FEATURES] = row.try_into().unwrap();
        let all = model.explain(&model.transaction(&x).unwrap(), N_FEATURES);
        let sum = all.iter().map(|c| c.contribution).sum::<f64>() + model.base_value();
        let logit = model.logit(&x);
        prop_assert!((sum - logit).abs() <= 1e-9 * logit.abs().max(1.0), "{} vs {}", sum, logit);
    }

    #[test]
    fn validation_accepts_exactly_the_schema_of_sane_numbers(
        fields in prop::collection::vec((field_name(), raw_value()), 0..40),
    ) {
        let result = validate_fields(&Schema::creditcard(), fields.iter().map(|(n, v)| (n.as_str(), *v)));
        match result {
            Ok(t) => {
                prop_assert!(t.values().iter().all(|v| v.is_finite() && v.abs() <= MAX_ABS_VALUE));
                prop_assert_eq!(fields.len(), N_FEATURES);
            }
            Err(e) => {
                prop_assert!(!e.issues.is_empty());
                let code = e.code();
                prop_assert!(matches!(
                    code,
                    ErrorCode::MissingField | ErrorCode::UnknownField | ErrorCode::DuplicateField | ErrorCode::NonNumeric
                        | ErrorCode::NonFinite | ErrorCode::OutOfRange | ErrorCode::InvalidFields
                ));
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn the_row_range_check_equals_its_definition(
        row in prop::collection::vec(prop_oneof![
            6 => -1e5f64..1e5,
            2 => -1.1e12f64..1.1e12,
            1 => prop::sample::select(vec![MAX_ABS_VALUE, -MAX_ABS_VALUE, f64::from_bits(MAX_ABS_VALUE.to_bits() + 1), f64::NAN, f64::INFINITY, -f64::INFINITY]),
            1 => any::<f64>(),
        ], N_FEATURES),
    ) {
        let row: [f64; N_FEATURES] = row.try_into().unwrap();
        let definition = row.iter().all(|v| v.is_finite() && v.abs() <= MAX_ABS_VALUE);
        prop_assert_eq!(fraud_core::validate::row_in_range(&row), definition);
    }

    #[test]
    fn valid_transactions_round_trip_through_validation(values in prop::collection::vec(-1e9f64..1e9, N_FEATURES)) {
        let t = validate_fields(&Schema::creditcard(), FEATURE_NAMES.iter().zip(&values).rev().map(|(n, v)| (*n, RawValue::Number(*v))))
            .expect("a full, sane transaction validates");
        prop_assert_eq!(t.values().to_vec(), values);
    }

    #[test]
    fn any_schema_validates_exactly_its_own_fields(
        width in 1usize..=64,
        given in prop::collection::vec((0usize..80, -1e6f64..1e6), 0..90),
    ) {
        let names: Vec<String> = (0..width).map(|i| format!("f_{i}")).collect();
        let schema = Schema::new(names.clone(), None, "label", None).unwrap();
        let fields: Vec<(String, RawValue)> = given.iter().map(|&(i, v)| (format!("f_{i}"), RawValue::Number(v))).collect();
        let result = validate_fields(&schema, fields.iter().map(|(n, v)| (n.as_str(), *v)));
        let mut seen: Vec<usize> = given.iter().map(|&(i, _)| i).collect();
        let distinct = { seen.sort_unstable(); seen.dedup(); seen.len() };
        let exact = given.len() == width && distinct == width && seen.iter().all(|&i| i < width);
        prop_assert_eq!(result.is_ok(), exact);
        if let Ok(t) = result {
            for &(i, v) in &given {
                prop_assert_eq!(t.values()[i], v);
            }
        }
    }

    #[test]
    fn batch_scoring_never_panics_and_never_half_scores(
        a in valid_artifact(),
        rows in prop::collection::vec(prop_oneof![8 => -1e5f64..1e5, 1 => any::<f64>()], 0..(N_FEATURES * 6)),
    ) {
        let model = a.model().expect("valid");
        let mut out = vec![0.5; rows.len() / N_FEATURES];
        match model.score_batch(&rows, &mut out) {
            Ok(()) => prop_assert!(out.iter().all(|p| (0.0..=1.0).contains(p))),
            Err(BatchError::BadLength { len, width }) => prop_assert!(width == N_FEATURES && len % N_FEATURES != 0),
            Err(BatchError::BadRow { row, error }) => {
                prop_assert!(out.iter().all(|p| p.is_nan()), "no partial result");
                prop_assert!(row < out.len());
                prop_assert!(!error.issues.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
}
