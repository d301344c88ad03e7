//! The format's tests: round trips, pinned bytes and cards, older versions, and every way bytes are refused.

use super::frame::{bincode_config, frame, le_u16};
use super::*;
use crate::error::ModelError;
use crate::wire::{WireLeaf, WireModel, WireTree};
use alloc::vec;

fn samples() -> [Artifact; 5] {
    [
        Artifact::example(),
        Artifact::example_trees(),
        Artifact::example_retail(),
        Artifact::example_payments_trees(),
        Artifact::example_payments_logistic(),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn round_trips_exactly() {
    for a in samples() {
        let bytes = a.encode().unwrap();
        assert_eq!(&bytes[..8], b"FRAUDMDL");
        // Numeric-only models are still written as format 4.
        let version = if a.schema.is_tabular() { VERSION_5 } else { VERSION_4 };
        assert_eq!(le_u16(&bytes[8..10]), version);
        assert_eq!(Artifact::decode(&bytes).unwrap(), a);
    }
}

#[test]
fn json_round_trip_gives_identical_model() {
    for a in samples() {
        let json = serde_json::to_string(&a.to_wire()).unwrap();
        let back = Artifact::from_wire(serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.encode().unwrap(), a.encode().unwrap());
    }
}

/// Checks `got` against fixture `file` (`PIN_FIXTURES=1` writes a missing one).
fn pinned(file: &str, got: &str, what: &str) {
    let path = alloc::format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(want) => assert_eq!(got.trim(), want.trim(), "{file}: {what} changed"),
        Err(_) if std::env::var_os("PIN_FIXTURES").is_some() => std::fs::write(&path, got).unwrap(),
        Err(e) => panic!("{path}: {e} (PIN_FIXTURES=1 writes it)"),
    }
}

/// The wire formats are pinned: renaming or reshaping an internal type must
/// not change a byte. (Regenerate only for a deliberate format change, with
/// a new version number.)
#[test]
fn artifact_bytes_are_pinned() {
    for (a, file) in [
        (Artifact::example(), "example-v4.hex"),
        (Artifact::example_trees(), "trees-v4.hex"),
        (Artifact::example_retail(), "retail-v4.hex"),
        (Artifact::example_payments_trees(), "payments-trees-v5.hex"),
        (Artifact::example_payments_logistic(), "payments-logistic-v5.hex"),
    ] {
        pinned(file, &hex(&a.encode().unwrap()), "the encoding");
    }
}

#[test]
fn card_json_is_pinned() {
    for (a, file) in [
        (Artifact::example(), "example-card.json"),
        (Artifact::example_trees(), "trees-card.json"),
        (Artifact::example_retail(), "retail-card.json"),
        (Artifact::example_payments_trees(), "payments-trees-card.json"),
        (Artifact::example_payments_logistic(), "payments-logistic-card.json"),
    ] {
        let model = a.model().unwrap();
        pinned(file, &serde_json::to_string_pretty(&a.card(&model)).unwrap(), "the card");
    }
}

#[test]
fn version_1_artifacts_still_load() {
    let v1 = unhex(include_str!("../../tests/fixtures/example-v1.hex"));
    assert_eq!(le_u16(&v1[8..10]), LEGACY_VERSION);
    let Loaded { artifact: a, model, format_version, .. } = Artifact::load(&v1).unwrap();
    assert_eq!(format_version, LEGACY_VERSION);
    // The version-1 example is today's example as it was then: same model, same figures.
    let today = Artifact::example();
    assert_eq!(a.params, today.params);
    assert_eq!(a.training, today.training);
    assert_eq!(
        (&a.rule, &a.model_name, &a.validation, &a.test),
        (&today.rule, &today.model_name, &today.validation, &today.test)
    );
    assert_eq!(model, today.model().unwrap());
    // Re-encoding writes the newest version a numeric model needs.
    assert_eq!(le_u16(&a.encode().unwrap()[8..10]), VERSION_4);
}

#[test]
fn version_3_artifacts_load_with_the_kaggle_schema() {
    for (today, file) in [
        (Artifact::example(), include_str!("../../tests/fixtures/example-v3.hex")),
        (Artifact::example_trees(), include_str!("../../tests/fixtures/trees-v3.hex")),
    ] {
        let v3 = unhex(file);
        assert_eq!(le_u16(&v3[8..10]), VERSION_3);
        let Loaded { artifact: a, model, format_version, .. } = Artifact::load(&v3).unwrap();
        assert_eq!(format_version, VERSION_3);
        assert_eq!(a, today, "a version-3 file is today's artifact over the Kaggle schema");
        assert_eq!(model, today.model().unwrap());
        assert_eq!(a.schema.amount_name(), Some("Amount"));
        assert_eq!((a.schema.label(), a.schema.id()), ("Class", None));
    }
    // A version-3 payload with other feature names is not a Kaggle-file model.
    let mut w = Artifact::example().to_wire().base.base.base;
    w.base.feature_names.swap(1, 2);
    let bytes = frame(VERSION_3, &bincode::encode_to_vec(&w, bincode_config()).unwrap());
    assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::SchemaMismatch(_))));
}

#[test]
fn version_2_artifacts_still_load_uncalibrated_at_their_f1_threshold() {
    for (today, file) in [
        (Artifact::example(), include_str!("../../tests/fixtures/example-v2.hex")),
        (Artifact::example_trees(), include_str!("../../tests/fixtures/trees-v2.hex")),
    ] {
        let v2 = unhex(file);
        assert_eq!(le_u16(&v2[8..10]), VERSION_2);
        let Loaded { artifact: a, model, format_version, .. } = Artifact::load(&v2).unwrap();
        assert_eq!(format_version, VERSION_2);
        assert_eq!(
            (&a.params, &a.training, &a.feature_importance),
            (&today.params, &today.training, &today.feature_importance)
        );
        assert_eq!(a.rule, DecisionRule::at_threshold(today.rule.threshold));
        assert_eq!((a.calibration_test.as_ref(), a.policies.len()), (None, 0));
        // Served as before: the raw sigmoid at the threshold.
        let x = [0.5; 30];
        assert_eq!(model.probability(&x).to_bits(), crate::model::sigmoid(model.logit(&x)).to_bits());
    }
}

#[test]
fn every_truncation_is_an_error() {
    for a in samples() {
        let bytes = a.encode().unwrap();
        for len in 0..bytes.len() {
            let err = Artifact::decode(&bytes[..len]).unwrap_err();
            assert!(matches!(err, ArtifactError::Truncated { .. }), "len {len}: {err:?}");
        }
    }
}

#[test]
fn every_single_byte_flip_is_detected() {
    for a in samples() {
        let bytes = a.encode().unwrap();
        for pos in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xFF] {
                let mut b = bytes.clone();
                b[pos] ^= flip;
                assert!(Artifact::decode(&b).is_err(), "flip {flip:#x} at {pos} went unnoticed");
            }
        }
    }
}

#[test]
fn distinct_errors() {
    let bytes = Artifact::example().encode().unwrap();
    assert_eq!(Artifact::decode(b"PK\x03\x04 not an artifact at all"), Err(ArtifactError::BadMagic));
    let mut future = bytes.clone();
    future[8] = 7;
    assert_eq!(Artifact::decode(&future), Err(ArtifactError::UnsupportedVersion { found: 7, supported: 6 }));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(Artifact::decode(&longer), Err(ArtifactError::TrailingBytes { .. })));
    let mut corrupt = bytes.clone();
    corrupt[40] ^= 0x10;
    assert!(matches!(Artifact::decode(&corrupt), Err(ArtifactError::ChecksumMismatch { .. })));
    let mut huge = bytes.clone();
    huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(Artifact::decode(&huge), Err(ArtifactError::TooLarge { .. })));
}

/// Valid framing and checksum around a semantically bad wire artifact.
fn reseal(w: &ArtifactV4) -> Vec<u8> {
    frame(VERSION_4, &bincode::encode_to_vec(w, bincode_config()).unwrap())
}

#[test]
fn schema_mismatch_and_invalid_models_are_rejected() {
    let good = Artifact::example().to_wire().base.base;
    let mut w = good.clone();
    w.base.base.feature_names[2] = "V1".into();
    assert!(
        matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(m)) if m.contains("\"V1\" is listed twice"))
    );
    let mut w = good.clone();
    w.columns.amount = Some("amount".into());
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(_))));
    let mut w = good.clone();
    w.columns.label = "V3".into();
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::SchemaMismatch(_))));
    let mut w = good.clone();
    w.base.base.feature_names.remove(1);
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(ModelError::WrongLength { .. }))));
    // The trees' per-amount costs need an amount column.
    let mut w = Artifact::example_trees().to_wire().base.base;
    w.columns.amount = None;
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    if let WireModel::Logistic { coefficients, .. } = &mut w.base.base.model {
        coefficients.pop();
    }
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.base.base.threshold = f64::NAN;
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.base.decision.policy = "coin_flip".into();
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.base.decision.calibration.slope = -1.0;
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.base.decision.costs.accepted_fraud.per_amount = f64::INFINITY;
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = Artifact::example_trees().to_wire().base.base;
    if let Some(d) = &mut w.base.drift {
        d.features.pop();
    }
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good;
    w.base.base.feature_importance = vec![1.0; 3];
    assert!(matches!(Artifact::decode(&reseal(&w)), Err(ArtifactError::InvalidModel(_))));
}

/// Every way a tree artifact can be corrupt is refused on load, by name.
#[test]
fn corrupt_trees_are_refused_with_a_specific_error() {
    let good = Artifact::example_trees().to_wire().base.base;
    type Corruption<'a> = &'a dyn Fn(&mut Vec<WireTree>, &mut f64);
    let edit = |f: Corruption| {
        let mut w = good.clone();
        if let WireModel::Trees { trees, base_score } = &mut w.base.base.model {
            f(trees, base_score);
        }
        match Artifact::decode(&reseal(&w)) {
            Err(ArtifactError::InvalidModel(ModelError::BadParameter { what, why })) => {
                alloc::format!("{what}: {why}")
            }
            other => panic!("expected an invalid model, got {other:?}"),
        }
    };
    const L: u32 = crate::trees::LEAF;
    let cases: [(Corruption, &str); 12] = [
        (&|t, _| t[0].splits[0].left = 7, "out of range"),
        (&|t, _| t[0].splits[0].right = L | 9, "out of range"),
        (&|t, _| t[1].splits[1].left = 0, "reached twice"),
        (&|t, _| t[0].splits[1].right = L, "reached twice"),
        (&|t, _| t[1].splits[2].left = 2, "reached twice"),
        (&|t, _| t[0].splits[0].feature = 30, "outside the schema"),
        (&|t, _| t[0].splits[1].threshold = f64::NAN, "threshold must be finite"),
        (&|t, _| t[1].leaves[3].value = f64::INFINITY, "value must be finite"),
        (&|t, _| t[1].splits[0].cover = -1.0, "cover"),
        (&|t, _| t[2].leaves.push(WireLeaf { value: 0.0, cover: 1.0 }), "one more leaf than splits"),
        (&|t, _| t.clear(), "between 1 and 10,000 trees"),
        (&|_, b| *b = f64::NAN, "base score"),
    ];
    for (corrupt, want) in cases {
        let got = edit(corrupt);
        assert!(got.contains(want), "{got:?} should mention {want:?}");
    }
    // An unreachable node (its parent points elsewhere, the count still adds up).
    let got = edit(&|t, _| {
        t[1].splits[0].right = L | 3;
        t[1].splits[2].right = L | 3;
    });
    assert!(got.contains("reached twice") || got.contains("unreachable"), "{got}");
}

#[test]
fn checksum_valid_garbage_payload_is_a_payload_error() {
    let bytes = frame(FORMAT_VERSION, &[0xFFu8; 64]);
    assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::Payload(_))));
    let bytes = frame(LEGACY_VERSION, &[0xFFu8; 64]);
    assert!(matches!(Artifact::decode(&bytes), Err(ArtifactError::Payload(_))));
}

#[test]
fn format_5_models_take_categories_and_missing_values_on_every_path() {
    use crate::validate::RawValue;
    for a in [Artifact::example_payments_trees(), Artifact::example_payments_logistic()] {
        let model = Artifact::load(&a.encode().unwrap()).unwrap().model;
        let bodies: [[(&str, RawValue); 4]; 4] = [
            [
                ("amount", RawValue::Number(97.5)),
                ("country", RawValue::Text("C05")),
                ("mcc_code", RawValue::Number(7995.0)),
                ("ip_distance_km", RawValue::Null),
            ],
            [
                ("amount", RawValue::Number(1500.0)),
                ("country", RawValue::Text("never seen")),
                ("mcc_code", RawValue::Number(1.0)),
                ("ip_distance_km", RawValue::Number(900.0)),
            ],
            [
                ("amount", RawValue::Number(5.0)),
                ("country", RawValue::Null),
                ("mcc_code", RawValue::Null),
                ("ip_distance_km", RawValue::Number(10.0)),
            ],
            [
                ("amount", RawValue::Number(500.0)),
                ("country", RawValue::Text("C00")),
                ("mcc_code", RawValue::Number(5411.0)),
                ("ip_distance_km", RawValue::Number(49.0)),
            ],
        ];
        // Any feature may be missing but the amount: money is reckoned from it.
        let no_amount = [
            ("amount", RawValue::Null),
            ("country", RawValue::Null),
            ("mcc_code", RawValue::Null),
            ("ip_distance_km", RawValue::Null),
        ];
        let e = model.validate(no_amount).unwrap_err();
        assert_eq!(e.issues.len(), 1, "{e}");
        assert_eq!(
            (e.issues[0].field.as_str(), e.issues[0].kind),
            ("amount", crate::validate::IssueKind::NonNumeric),
            "{e}"
        );
        let mut rows = Vec::new();
        let mut single = Vec::new();
        let mut logits = Vec::new();
        for body in bodies {
            let t = model.validate(body).unwrap();
            rows.extend_from_slice(t.values());
            single.push(model.probability(t.values()));
            logits.push(model.logit(t.values()));
            let sum = model.contributions(&t).iter().fold(model.base_value(), |acc, c| acc + c.contribution);
            assert!((sum - model.logit(t.values())).abs() < 1e-9, "{}: contributions sum", a.model_name);
        }
        let mut batch = vec![0.0; bodies.len()];
        model.score_batch(&rows, &mut batch).unwrap();
        for (b, s) in batch.iter().zip(&single) {
            assert_eq!(b.to_bits(), s.to_bits(), "{}: batch and single row agree", a.model_name);
        }
        // Missing, unseen and known categories do score differently.
        assert!(logits.windows(2).any(|w| w[0] != w[1]), "{}", a.model_name);
        // Rows of codes: a value that is not a code is refused, naming the row.
        let mut no_amount_row = rows.clone();
        no_amount_row[0] = f64::NAN;
        assert!(model.score_batch(&no_amount_row, &mut batch).is_err(), "a NaN amount is refused in a batch");
        rows[1] = 9.0;
        assert!(matches!(model.score_batch(&rows, &mut batch), Err(crate::error::BatchError::BadRow { row: 0, .. })));
    }
}

#[test]
fn format_5_refuses_inconsistent_kinds_and_routes() {
    let good = Artifact::example_payments_trees().to_wire().base;
    let reseal5 = |w: &ArtifactV5| frame(VERSION_5, &bincode::encode_to_vec(w, bincode_config()).unwrap());
    assert!(Artifact::decode(&reseal5(&good)).is_ok());
    let mut w = good.clone();
    w.features.pop();
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::SchemaMismatch(_))));
    let mut w = good.clone();
    w.routes[0].pop();
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.category_sets.pop();
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    w.features[0].missing_rate = 1.5;
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good.clone();
    // A category split on the numeric amount.
    w.routes[1][0].categories = Some(0);
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::InvalidModel(_))));
    let mut w = good;
    if let crate::wire::WireFeatureKind::Text { categories } = &mut w.features[1].kind {
        categories.push("C00".into());
    }
    assert!(matches!(Artifact::decode(&reseal5(&w)), Err(ArtifactError::SchemaMismatch(_))));
}

#[test]
fn an_imported_f32_model_is_format_6_and_reads_back_the_same() {
    let mut a = Artifact::example_payments_trees();
    let ModelParams::Trees(e) = &mut a.params else { unreachable!("trees") };
    e.leaf_sum = crate::trees::LeafSum::F32;
    e.base_score = e.base_score as f32 as f64;
    for l in e.trees.iter_mut().flat_map(|t| t.leaves.iter_mut()) {
        l.value = l.value as f32 as f64;
    }
    e.trees[0].splits[0].missing_zero = true;
    a.imported = Some(Imported {
        library: "xgboost".into(),
        version: "3.2.0".into(),
        format: "json".into(),
        file_name: "model.json".into(),
        file_sha256: "ab".repeat(32),
        objective: "binary:logistic".into(),
    });
    let bytes = a.encode().unwrap();
    let loaded = Artifact::load(&bytes).unwrap();
    assert_eq!(loaded.format_version, FORMAT_VERSION);
    assert_eq!(loaded.artifact, a);
    let json = serde_json::to_string(&a.to_wire()).unwrap();
    assert_eq!(Artifact::from_wire(serde_json::from_str(&json).unwrap()).unwrap(), a);
    // A zero flag list that does not fit the trees is refused.
    let mut w = a.to_wire();
    w.missing_zero.pop();
    assert!(Artifact::from_wire(w).is_err());
    // Trained models keep their formats.
    assert_eq!(Artifact::load(&Artifact::example_payments_trees().encode().unwrap()).unwrap().format_version, 5);
}
