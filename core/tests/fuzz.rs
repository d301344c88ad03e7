//! Property-based fuzzing of everything in `core` that reads untrusted input:
//! the artifact decoder, field validation and batch scoring. Properties: no
//! panic, every rejection is a typed error, valid inputs round-trip.
//! `FUZZ_CASES` sets the number of cases per property (default 20,000).

use fraud_core::artifact::{crc32, FORMAT_VERSION, MAGIC};
use fraud_core::model::BatchError;
use fraud_core::{
    validate_fields, Artifact, ErrorCode, LogisticWeights, Metrics, Provenance, RawValue, Scaler, FEATURE_NAMES,
    MAX_ABS_VALUE, N_FEATURES,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn artifact(weights: Vec<f64>, mean: Vec<f64>, scale: Vec<f64>, threshold: f64, name: String) -> Artifact {
    Artifact {
        model_name: name,
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        scaler: Scaler { mean, scale },
        weights: LogisticWeights { weights, intercept: -2.0 },
        threshold,
        provenance: Provenance { dataset: "fuzz".into(), seed: 7, ..Provenance::default() },
        validation: Metrics::default(),
        test: Metrics { f1: 0.5, ..Metrics::default() },
    }
}

fn valid_artifact() -> impl Strategy<Value = Artifact> {
    (
        prop::collection::vec(-5.0f64..5.0, N_FEATURES),
        prop::collection::vec(-1e4f64..1e4, N_FEATURES),
        prop::collection::vec(0.01f64..1e3, N_FEATURES),
        0.0f64..=1.0,
        "[a-z_]{0,20}",
    )
        .prop_map(|(w, m, s, t, n)| artifact(w, m, s, t, n))
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

fn raw_value() -> impl Strategy<Value = RawValue> {
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
        let (back, model) = Artifact::load(&bytes).expect("a valid artifact loads");
        prop_assert_eq!(&back, &a);
        prop_assert_eq!(model.threshold(), a.threshold);
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
        if let Ok((back, model)) = Artifact::load(&seal(&payload)) {
            prop_assert!((0.0..=1.0).contains(&model.threshold()));
            prop_assert_eq!(back.feature_names.len(), N_FEATURES);
            let p = model.probability(&[MAX_ABS_VALUE; N_FEATURES]);
            prop_assert!((0.0..=1.0).contains(&p), "a loaded model scored {}", p);
        }
    }

    #[test]
    fn validation_accepts_exactly_the_schema_of_sane_numbers(
        fields in prop::collection::vec((field_name(), raw_value()), 0..40),
    ) {
        let result = validate_fields(fields.iter().map(|(n, v)| (n.as_str(), *v)));
        match result {
            Ok(t) => {
                prop_assert!(t.0.iter().all(|v| v.is_finite() && v.abs() <= MAX_ABS_VALUE));
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
        let t = validate_fields(FEATURE_NAMES.iter().zip(&values).rev().map(|(n, v)| (*n, RawValue::Number(*v))))
            .expect("a full, sane transaction validates");
        prop_assert_eq!(t.0.to_vec(), values);
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
            Err(BatchError::BadLength { len }) => prop_assert!(len % N_FEATURES != 0),
            Err(BatchError::BadRow { row, error }) => {
                prop_assert!(out.iter().all(|p| p.is_nan()), "no partial result");
                prop_assert!(row < out.len());
                prop_assert!(!error.issues.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
}
