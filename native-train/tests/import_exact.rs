//! `native-train import` against the libraries themselves: committed models
//! made by XGBoost 1.7.6, 2.1.4, 3.2.0 and LightGBM 4.7.0, and what those
//! libraries computed on 100,000 rows built from every split threshold, its
//! neighbours, the `float` midpoints, the zero band and NaN
//! (`tests/fixtures/import/`, made by `cargo xtask import-fixtures`).
//!
//! The rows are not committed: each fixture holds per-feature value palettes
//! and a seed, and a SplitMix64 stream picks each cell (the same in
//! `make_fixtures.py`). Margins and `pred_leaf` are compared through the
//! SHA-256 of all 100,000 rows (and one by one for the first 2,000),
//! TreeSHAP against `pred_contribs` on 500 rows.

use std::path::{Path, PathBuf};

use native_train::import::{self, Library};
use serde_json::Value;

/// The committed fixtures, or `IMPORT_FIXTURES` (a folder `make_fixtures.py` just wrote).
fn fixtures() -> PathBuf {
    match std::env::var_os("IMPORT_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import"),
    }
}

fn expected_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("the import fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    files.sort();
    files
}

fn bits64(v: &Value) -> f64 {
    f64::from_bits(u64::from_str_radix(v.as_str().expect("a hex string"), 16).expect("16 hex digits"))
}

/// SplitMix64, as `make_fixtures.py` draws it.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn rows_of(expected: &Value) -> (Vec<f64>, usize, usize) {
    let palette: Vec<Vec<f64>> = expected["palette"]
        .as_array()
        .expect("palette")
        .iter()
        .map(|p| p.as_array().expect("a feature's palette").iter().map(bits64).collect())
        .collect();
    let n = expected["rows"].as_u64().expect("rows") as usize;
    let width = palette.len();
    let mut rng = SplitMix(expected["seed"].as_u64().expect("seed"));
    let mut rows = Vec::with_capacity(n * width);
    for _ in 0..n {
        for p in &palette {
            rows.push(p[(rng.next() % p.len() as u64) as usize]);
        }
    }
    (rows, n, width)
}

fn sha256(bytes: &[u8]) -> String {
    native_train::data::sha256_hex(bytes)
}

#[test]
fn imported_margins_leaves_and_treeshap_equal_the_libraries() {
    let files = expected_files();
    assert!(files.len() >= 5, "fixtures for three XGBoost versions and two LightGBM models, found {}", files.len());
    for path in files {
        let expected: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let library = match expected["library"].as_str() {
            Some("xgboost") => Library::Xgboost,
            Some("lightgbm") => Library::Lightgbm,
            other => panic!("{}: library {other:?}", path.display()),
        };
        let (rows, n, width) = rows_of(&expected);
        assert!(n >= 100_000, "{}: {n} rows", path.display());
        for model_file in expected["model_files"].as_array().expect("model_files") {
            let file = fixtures().join(model_file.as_str().unwrap());
            let what = file.display().to_string();
            let bytes = std::fs::read(&file).unwrap();
            let ext = file.extension().and_then(|e| e.to_str());
            let (m, _) = import::read_bytes(&bytes, library, ext).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(m.feature_names.len(), width, "{what}");
            let trees = import::check(&m).unwrap_or_else(|e| panic!("{what}: {e}"));

            // Margins: every row, through the batch path; the first rows one by one too.
            let mut margins = vec![0.0; n];
            trees.logits(&rows, &mut margins);
            let mut digest = Vec::with_capacity(n * 8);
            for &v in &margins {
                match library {
                    Library::Xgboost => digest.extend_from_slice(&(v as f32).to_le_bytes()),
                    Library::Lightgbm => digest.extend_from_slice(&v.to_le_bytes()),
                }
            }
            let head = expected["margins_head"].as_array().unwrap();
            let mut mismatches = 0;
            for (i, want) in head.iter().enumerate() {
                let want = want.as_str().unwrap();
                let x = &rows[i * width..(i + 1) * width];
                let single = trees.logit(x);
                assert_eq!(single.to_bits(), margins[i].to_bits(), "{what} row {i}: single row and batch differ");
                let got = match library {
                    Library::Xgboost => format!("{:08x}", (margins[i] as f32).to_bits()),
                    Library::Lightgbm => format!("{:016x}", margins[i].to_bits()),
                };
                if got != want {
                    mismatches += 1;
                    eprintln!("{what} row {i}: margin {got}, the library {want} (row {x:?})");
                }
            }
            assert_eq!(mismatches, 0, "{what}: margin mismatches in the first {} rows", head.len());
            assert_eq!(sha256(&digest), expected["margin_sha256"].as_str().unwrap(), "{what}: margins of all {n} rows");

            // pred_leaf: the library's own leaf ids.
            let mut leaves = Vec::with_capacity(n * m.leaf_ids.len() * 4);
            let leaves_head = expected["leaves_head"].as_array().unwrap();
            for (i, x) in rows.chunks_exact(width).enumerate() {
                let ids: Vec<i32> =
                    trees.leaf_indices(x).iter().zip(&m.leaf_ids).map(|(&l, ids)| ids[l as usize] as i32).collect();
                if let Some(want) = leaves_head.get(i) {
                    let want: Vec<i32> = want.as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as i32).collect();
                    assert_eq!(ids, want, "{what} row {i}: leaves");
                }
                for id in ids {
                    leaves.extend_from_slice(&id.to_le_bytes());
                }
            }
            assert_eq!(sha256(&leaves), expected["leaf_sha256"].as_str().unwrap(), "{what}: leaves of all {n} rows");

            // TreeSHAP against pred_contribs, bias included.
            let tolerance = match library {
                Library::Xgboost => 1e-5,
                Library::Lightgbm => 1e-9,
            };
            let mut worst = 0.0f64;
            for (i, want) in expected["contribs"].as_array().unwrap().iter().enumerate() {
                let want: Vec<f64> = want.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
                let x = &rows[i * width..(i + 1) * width];
                let mut got = trees.shap(x);
                got.push(trees.expected_value());
                assert_eq!(got.len(), want.len(), "{what}");
                for (g, w) in got.iter().zip(&want) {
                    worst = worst.max((g - w).abs());
                }
            }
            assert!(worst <= tolerance, "{what}: TreeSHAP differs from the library's by {worst:e} (> {tolerance:e})");
            eprintln!("{what}: {n} rows, 0 margin mismatches, TreeSHAP max error {worst:.1e}");
        }
    }
}

#[test]
fn what_cannot_be_reproduced_exactly_is_refused_by_name() {
    for (file, library, words) in [
        ("xgb-3.2.0-multiclass.json", Library::Xgboost, "multi"),
        ("xgb-3.2.0-dart.json", Library::Xgboost, "dart"),
        ("xgb-3.2.0-gblinear.json", Library::Xgboost, "gblinear"),
        ("xgb-3.2.0-categorical.json", Library::Xgboost, "categorical"),
        ("lgb-4.7.0-regression.txt", Library::Lightgbm, "regression"),
        ("lgb-4.7.0-categorical.txt", Library::Lightgbm, "categorical"),
        ("lgb-4.7.0-linear.txt", Library::Lightgbm, "linear"),
    ] {
        let path = fixtures().join(file);
        let err = import::read_model(&path, library).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains(words), "{file}: {err}");
    }
}

#[test]
fn a_truncated_or_damaged_model_file_is_an_error_never_a_panic() {
    for (file, library) in [
        ("xgb-3.2.0.json", Library::Xgboost),
        ("xgb-3.2.0.ubj", Library::Xgboost),
        ("lgb-4.7.0.txt", Library::Lightgbm),
    ] {
        let bytes = std::fs::read(fixtures().join(file)).unwrap();
        let ext = Path::new(file).extension().and_then(|e| e.to_str());
        // LightGBM's trees end at `end of trees`; what follows (importances, parameters) is not needed.
        let end = match library {
            Library::Lightgbm => bytes.windows(12).position(|w| w == b"end of trees").unwrap_or(bytes.len()),
            Library::Xgboost => bytes.len(),
        };
        let step = (end / 300).max(1);
        for cut in (0..end).step_by(step) {
            assert!(import::read_bytes(&bytes[..cut], library, ext).is_err(), "{file} cut at {cut} was read");
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let pos = (state % b.len() as u64) as usize;
                b[pos] = (state >> 32) as u8;
            }
            if let Ok((m, _)) = import::read_bytes(&b, library, ext) {
                let _ = import::check(&m);
            }
        }
    }
}

#[test]
fn an_imported_model_serves_the_librarys_probability_in_format_6() {
    let path = fixtures().join("lgb-4.7.0.txt");
    let (m, imported) = import::read_model(&path, Library::Lightgbm).unwrap();
    let opts = import::ImportOptions { features: None, amount: None, label: "Class".into(), id: None, threshold: 0.3 };
    let artifact = import::artifact_of(&m, &imported, &opts).unwrap();
    let loaded = fraud_core::Artifact::load(&artifact.encode().unwrap()).unwrap();
    assert_eq!(loaded.format_version, 6);
    let got = loaded.artifact.imported.as_ref().unwrap();
    assert_eq!((got.library.as_str(), got.format.as_str()), ("lightgbm", "text"));
    assert_eq!(got.file_sha256.len(), 64);
    assert_eq!(loaded.model.threshold(), 0.3);
    assert_eq!(loaded.model.schema().amount_name(), Some("amount"));
    // A row with missing values (all but the amount) scores.
    let width = loaded.model.width();
    let amount = loaded.model.schema().amount().unwrap();
    let x: Vec<f64> = (0..width).map(|i| if i == amount { 12.5 } else { f64::NAN }).collect();
    assert!(loaded.model.transaction(&x).is_ok(), "missing values are accepted");
    let p = loaded.model.probability(&x);
    assert!((0.0..=1.0).contains(&p));
    // Wrong feature names count is refused.
    let bad = import::ImportOptions { features: Some(vec!["a".into()]), ..opts };
    assert!(import::artifact_of(&m, &imported, &bad).is_err());
}

#[test]
fn an_imported_artifact_is_within_a_tenth_of_the_same_trees_trained_here() {
    for (file, library) in [("xgb-3.2.0.json", Library::Xgboost), ("lgb-4.7.0.txt", Library::Lightgbm)] {
        let (m, imported) = import::read_model(&fixtures().join(file), library).unwrap();
        let opts =
            import::ImportOptions { features: None, amount: None, label: "Class".into(), id: None, threshold: 0.5 };
        let artifact = import::artifact_of(&m, &imported, &opts).unwrap();
        let size = artifact.encode().unwrap().len();
        // The same trees as this trainer writes them: f64 sums, no origin, and (its
        // models taking missing values) format 5 with the trees' routes.
        let mut trained = artifact.clone();
        trained.imported = None;
        if let fraud_core::ModelParams::Trees(e) = &mut trained.params {
            e.leaf_sum = fraud_core::LeafSum::F64;
            for s in e.trees.iter_mut().flat_map(|t| t.splits.iter_mut()) {
                s.missing_zero = false;
            }
        }
        let trained_size = trained.encode().unwrap().len();
        let ratio = size as f64 / trained_size as f64;
        eprintln!("{file}: {size} bytes imported, {trained_size} as trained here ({ratio:.3}×)");
        assert!(ratio <= 1.1, "{file}: {ratio:.3}×");
    }
}

#[test]
fn import_with_labelled_rows_writes_what_train_writes_and_says_it_was_imported() {
    use native_train::import::command::{run, ImportCommand};
    let out = tempfile::tempdir().unwrap();
    let cmd = |data: Option<PathBuf>, dir: &Path| ImportCommand {
        model: (Library::Xgboost, fixtures().join("xgb-3.2.0.ubj")),
        options: import::ImportOptions {
            features: None,
            amount: None,
            label: "is_fraud".into(),
            id: Some("txn".into()),
            threshold: 0.5,
        },
        data,
        config: native_train::pipeline::Config { validation_fraction: 0.5, ..Default::default() },
        costs: Box::new(fraud_core::Costs::default_for),
        out: dir.to_path_buf(),
    };
    let plain = out.path().join("plain");
    run(&cmd(None, &plain)).unwrap();
    let loaded = fraud_core::artifact::read_file(&plain.join("model.bin")).unwrap();
    assert_eq!(loaded.format_version, 6);
    assert_eq!(loaded.model.policy(), fraud_core::Policy::ManualThreshold);
    assert!(!plain.join("report.json").exists(), "nothing measured without data");

    let measured = out.path().join("measured");
    run(&cmd(Some(fixtures().join("labelled.csv")), &measured)).unwrap();
    for f in ["model.bin", "model.json", "report.json", "report.html", "replay.csv", "golden.csv"] {
        assert!(measured.join(f).exists(), "{f}");
    }
    let report: Value = serde_json::from_slice(&std::fs::read(measured.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["imported"]["library"], "xgboost");
    assert_eq!(report["imported"]["version"], "3.2.0");
    assert_eq!(report["imported"]["format"], "ubjson");
    let html = std::fs::read_to_string(measured.join("report.html")).unwrap();
    assert!(html.contains("Imported model") && html.contains("xgboost 3.2.0"), "the report says where it came from");
    let loaded = fraud_core::artifact::read_file(&measured.join("model.bin")).unwrap();
    let a = &loaded.artifact;
    assert!(a.test.average_precision > 0.3, "measured on the test half: AP {}", a.test.average_precision);
    assert_eq!(a.provenance.rows_validation + a.provenance.rows_test, 4000);
    assert!(a.drift.is_some() && a.feature_importance.iter().any(|&v| v > 0.0));
    assert_eq!(a.rule.calibration.method, fraud_core::CalibrationMethod::Platt);
    // The same trees as the plain import: the margin did not change, only the rule around it.
    let row = vec![10.0, 3.0, 1.0, 20.0, 100.0, -1.0, 0.0, 0.2];
    assert_eq!(
        loaded.model.logit(&row),
        fraud_core::artifact::read_file(&plain.join("model.bin")).unwrap().model.logit(&row)
    );
    // A label column that is not there: a clear error, nothing written.
    let bad = out.path().join("bad");
    let mut c = cmd(Some(fixtures().join("labelled.csv")), &bad);
    c.options.label = "Class".into();
    let err = run(&c).unwrap_err();
    assert!(format!("{err:#}").contains("Class"), "{err:#}");
    assert!(!bad.join("model.bin").exists());
}
