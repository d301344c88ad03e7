//! End-to-end: synthetic CSV → the CLI trains → every output is consistent
//! with the core scorer; bad files fail with a precise message and write nothing.

use std::path::Path;
use std::process::Command;

use fraud_core::Artifact;

const N_FEATURES: usize = 30;
use native_train::data::load_creditcard as load_csv;
use native_train::metrics::evaluate;
use native_train::synth;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_native-train"))
}

#[test]
fn cli_trains_on_synthetic_data_and_outputs_agree() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("synthetic.csv");
    let out = dir.path().join("model");
    let status = cli().args(["synth", "--rows", "120000", "--seed", "11", "--out"]).arg(&csv).status().unwrap();
    assert!(status.success());
    let output = cli().arg("train").arg("--data").arg(&csv).arg("--out").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("← selected"), "{stdout}");

    // The artifact decodes, and its JSON reads back to the identical artifact.
    let bytes = std::fs::read(out.join("model.bin")).unwrap();
    let artifact = Artifact::decode(&bytes).unwrap();
    let wire: fraud_core::wire::ArtifactV6 =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let from_json = Artifact::from_wire(wire).unwrap();
    assert_eq!(from_json, artifact);
    assert_eq!(from_json.encode().unwrap(), bytes);

    let p = &artifact.provenance;
    let loaded = load_csv(&csv).unwrap();
    assert_eq!(p.dataset_sha256, loaded.sha256);
    assert_eq!(p.rows_total, 120_000);
    assert_eq!(p.rows_train + p.rows_validation + p.rows_test, p.rows_total);
    match &artifact.training {
        fraud_core::Training::Logistic(l) => assert!(l.iterations > 0 && l.max_gradient < 1e-6),
        fraud_core::Training::Trees(t) => assert!(t.rounds > 0 && t.rounds <= t.rounds_run),
    }
    assert_eq!(artifact.feature_importance.len(), N_FEATURES);
    assert!(artifact.feature_importance.iter().all(|v| v.is_finite() && *v >= 0.0));

    // Replaying the test split through the core model reproduces the reported test figures.
    let replay = dataset::read_csv(&out.join("replay.csv"), &dataset::Spec::creditcard()).unwrap();
    assert_eq!(replay.len() as u64, p.rows_test);
    let times: Vec<f64> = replay.rows().map(|r| r[0]).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "replay is in time order");
    let model = artifact.model().unwrap();
    let mut probs = vec![0.0; replay.len()];
    model.score_batch(replay.values(), &mut probs).unwrap();
    // Classification figures are at the F1 threshold, on the calibrated probabilities served.
    let recomputed = evaluate(&probs, replay.labels(), artifact.test.threshold);
    assert_eq!(recomputed, artifact.test);
    // The served policy's money on test is what core's decisions on the replay make.
    let mut decisions = vec![false; probs.len()];
    model.decide_batch(replay.values(), &probs, &mut decisions);
    let mut tally = fraud_core::Tally::default();
    for ((row, &label), &refused) in replay.rows().zip(replay.labels()).zip(&decisions) {
        tally.add(model.costs(), row[N_FEATURES - 1], label == 1, refused);
    }
    let served = artifact.policies.iter().find(|r| r.policy == model.policy()).expect("the served policy is reported");
    assert_eq!(
        (tally.frauds_stopped, tally.frauds_missed, tally.false_alarms),
        (served.test.frauds_stopped, served.test.frauds_missed, served.test.false_alarms)
    );
    assert!((tally.net_benefit - served.test.net_benefit).abs() < 1e-6 * tally.accept_all.abs().max(1.0));
    // The chosen policy is the best on validation.
    assert!(artifact.policies.iter().all(|r| r.validation.net_benefit <= served.validation.net_benefit));
    let drift = artifact.drift.as_ref().expect("the drift reference is recorded");
    assert_eq!(drift.features.len(), N_FEATURES);
    assert!(drift.features.iter().all(|b| b.len() >= 2), "every input is binned");
    let train_rate = drift.base_rate;
    assert!((train_rate - p.frauds_total as f64 / p.rows_total as f64).abs() < 1e-3, "base rate {train_rate}");
    let calibration = artifact.calibration_test.as_ref().expect("calibration is measured on test");
    let sum: f64 = probs.iter().sum();
    assert!((calibration.expected_frauds - sum).abs() < 1e-6 * sum);
    assert_eq!(calibration.reliability.iter().map(|b| b.rows).sum::<u64>(), p.rows_test);

    // Synthetic frauds are learnable but not trivially separable.
    let ap = artifact.test.average_precision;
    assert!((0.4..0.95).contains(&ap), "synthetic test AP {ap}");

    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["selected"], artifact.model_name.as_str());
    assert_eq!(report["candidates"].as_array().unwrap().len(), 5);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "<svg",
        "Precision–recall on test",
        "F1 on validation vs threshold",
        "Net benefit vs threshold",
        "Reliability on test",
        "Scores on test by class",
        "Decisions in money",
        "accept everything",
        "actual fraud",
        "Candidates",
        "Global feature importance",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    assert!(
        !html.contains("<script") && !html.contains("src=") && !html.contains("href="),
        "self-contained: no scripts or external assets"
    );
}

#[test]
fn multi_seed_prints_mean_and_std() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    std::fs::write(&csv, synth::generate_csv(40_000, 0.005, 5)).unwrap();
    let output = cli().arg("train").arg("--data").arg(&csv).args(["--seeds", "0,1,2"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for name in ["| baseline |", "| smote |", "| class_weighted |", "| trees |", "| trees_class_weighted |", " ± "] {
        assert!(stdout.contains(name), "{stdout}");
    }
}

#[test]
fn bad_files_fail_with_line_and_column_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    let mut text = String::from_utf8(synth::generate_csv(50, 0.1, 1)).unwrap();
    text.push_str(&format!("{}1.0,\"7\"\n", "0,".repeat(N_FEATURES)));
    std::fs::write(&csv, text).unwrap();
    let out = dir.path().join("model");
    let output = cli().arg("train").arg("--data").arg(&csv).arg("--out").arg(&out).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 52") && stderr.contains("32 fields"), "{stderr}");
    assert!(!out.exists(), "nothing written for a bad file");

    let output = cli().arg("train").arg("--data").arg(dir.path().join("missing.csv")).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.csv"));
}

#[test]
fn help_explains_every_option() {
    let output = cli().args(["train", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for opt in [
        "--data",
        "--seed",
        "--seeds",
        "--smote-k",
        "--smote-ratio",
        "--c",
        "--out",
        "--validation-fraction",
        "--candidates",
        "--tree-learning-rate",
        "--tree-max-leaves",
        "--tree-max-depth",
        "--tree-rounds",
        "--tree-early-stopping-rounds",
        "--tree-row-fraction",
        "--tree-col-fraction",
        "--tree-l2",
        "--tree-min-child-hessian",
        "--tree-min-rows-leaf",
        "--tree-max-bins",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
    assert!(Path::new(env!("CARGO_BIN_EXE_native-train")).exists());
}

/// Every tree candidate (SMOTE's synthetic rows mapped back to raw values
/// included) trains, is refused nothing by core, and replays to its own figures.
#[test]
fn every_tree_candidate_trains_a_model_core_accepts() {
    use native_train::boost::BoostOptions;
    use native_train::pipeline::{run, CandidateKind, Config, Source};
    let data = synth::generate(20_000, 0.02, 5);
    let source = Source { name: "synthetic".into(), sha256: String::new(), synthetic: true };
    let kinds = [CandidateKind::Trees, CandidateKind::TreesSmote, CandidateKind::TreesClassWeighted];
    let cfg = Config {
        candidates: kinds.to_vec(),
        boost: BoostOptions { rounds: 40, ..BoostOptions::default() },
        ..Config::default()
    };
    let outcome = run(&data, &source, &cfg, &indicatif::ProgressBar::hidden()).unwrap();
    assert_eq!(outcome.candidates.iter().map(|c| c.kind).collect::<Vec<_>>(), kinds);
    let smote = &outcome.candidates[1];
    let plain = outcome.candidates[0].rows_fitted;
    assert!(
        smote.rows_fitted > plain * 19 / 10,
        "SMOTE balances the train split: {} vs {plain} rows",
        smote.rows_fitted
    );
    for c in &outcome.candidates {
        assert_eq!(c.model.kind(), fraud_core::ModelKind::Trees);
        assert!(c.test.average_precision > 0.3, "{}: AP {}", c.name(), c.test.average_precision);
    }
    let bytes = outcome.artifact.encode().unwrap();
    let fraud_core::Loaded { artifact: back, model, .. } = Artifact::load(&bytes).unwrap();
    assert_eq!(back, outcome.artifact);
    let rows = native_train::data::rows_of(outcome.replay.x.view());
    let mut probs = vec![0.0; outcome.replay.len()];
    model.score_batch(&rows, &mut probs).unwrap();
    assert_eq!(evaluate(&probs, &outcome.replay.y, back.test.threshold), back.test);
}

/// A team's own schema through the CLI: named label, id and amount columns,
/// the schema in the artifact, the id carried into the replay file.
#[test]
fn cli_trains_any_numeric_schema_and_carries_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("retail.csv");
    let out = dir.path().join("model");
    let status = cli()
        .args(["synth", "--schema", "retail", "--rows", "60000", "--fraud-rate", "0.01", "--seed", "3", "--out"])
        .arg(&csv)
        .status()
        .unwrap();
    assert!(status.success());
    // Trains on the retail file, its label and id named, with `extra` options.
    let train = |extra: &[&str], out: &Path| {
        cli()
            .arg("train")
            .arg("--data")
            .arg(&csv)
            .args(["--label", "is_fraud", "--id", "transaction_id"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let output = train(&["--amount", "amount", "--candidates", "baseline,trees"], &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let fraud_core::Loaded { artifact, model, .. } = fraud_core::artifact::read_file(&out.join("model.bin")).unwrap();
    let schema = &artifact.schema;
    assert_eq!(schema.features(), synth::RETAIL_FEATURES.map(String::from));
    assert_eq!(
        (schema.label(), schema.id(), schema.amount_name()),
        ("is_fraud", Some("transaction_id"), Some("amount"))
    );
    assert_eq!(artifact.feature_importance.len(), 12);
    assert!(artifact.test.average_precision > 0.3, "AP {}", artifact.test.average_precision);
    // The replay file: the id first, the features, the label; it scores through core.
    let text = std::fs::read_to_string(out.join("replay.csv")).unwrap();
    assert!(text.starts_with("\"transaction_id\",\"amount\",\"merchant_risk\""), "{}", &text[..80]);
    let replay = dataset::read_csv(&out.join("replay.csv"), &dataset::Spec::of_schema(schema)).unwrap();
    let ids = replay.ids().unwrap().1;
    assert!(ids.iter().all(|id| id.starts_with("tx-3-")));
    let mut probs = vec![0.0; replay.len()];
    model.score_batch(replay.values(), &mut probs).unwrap();
    assert_eq!(evaluate(&probs, replay.labels(), artifact.test.threshold), artifact.test);

    // Without an amount column: fixed costs, no cost-optimal policy, and the trainer says so.
    let out2 = dir.path().join("model2");
    let output =
        train(&["--features", "merchant_risk,distance_from_home_km,tx_count_1h", "--candidates", "baseline"], &out2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no amount column") && stderr.contains("cost-optimal policy is unavailable"), "{stderr}");
    let a2 = Artifact::decode(&std::fs::read(out2.join("model.bin")).unwrap()).unwrap();
    assert_eq!(a2.schema.features(), ["merchant_risk", "distance_from_home_km", "tx_count_1h"]);
    assert_eq!(a2.schema.amount(), None);
    assert!(!a2.rule.costs.uses_amount());
    assert!(a2.policies.iter().all(|p| p.policy != fraud_core::Policy::CostOptimal));
    let output = train(&["--features", "merchant_risk", "--policy", "cost-optimal"], &dir.path().join("model3"));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--amount"));
}

/// Bad schemas are refused before anything is trained, naming the column.
#[test]
fn bad_schemas_name_the_column_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let train = |name: &str, text: &str, extra: &[&str]| {
        let csv = dir.path().join(name);
        std::fs::write(&csv, text).unwrap();
        let out = dir.path().join(format!("{name}.out"));
        let output = cli().arg("train").arg("--data").arg(&csv).args(extra).arg("--out").arg(&out).output().unwrap();
        assert!(!output.status.success(), "{name} trained");
        assert!(!out.exists(), "{name}: nothing written");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let body = |header: &str, line: &str| {
        let mut t = format!("{header}\n");
        for _ in 0..50 {
            t.push_str(line);
            t.push('\n');
        }
        t
    };
    let e = train("nolabel.csv", &body("amount,risk", "1,2"), &["--label", "is_fraud"]);
    assert!(e.contains("missing column(s) is_fraud") && e.contains("the header has: amount, risk"), "{e}");
    let e = train("dup.csv", &body("amount,risk,risk,is_fraud", "1,2,3,0"), &["--label", "is_fraud"]);
    assert!(e.contains("duplicate column(s) risk"), "{e}");
    // A column of numbers and text, a label left empty, a feature empty on every row.
    let mut mixed = body("amount,merchant,is_fraud", "1,42,0");
    mixed.push_str("1,acme,1\n");
    let e = train("mixed.csv", &mixed, &["--label", "is_fraud"]);
    assert!(
        e.contains("column merchant mixes numbers and text") && e.contains("line 52") && e.contains("--categorical"),
        "{e}"
    );
    let mut unlabelled = body("amount,merchant,is_fraud", "1,acme,0");
    unlabelled.push_str("2,acme,\n");
    let e = train("unlabelled.csv", &unlabelled, &["--label", "is_fraud"]);
    assert!(e.contains("the label is missing on line 52"), "{e}");
    let e = train("empty.csv", &body("amount,device,is_fraud", "1,,0"), &["--label", "is_fraud"]);
    assert!(e.contains("column device is empty on every row") && e.contains("--features"), "{e}");
    let e = train(
        "nocat.csv",
        &body("amount,mcc,is_fraud", "1,5411,0"),
        &["--label", "is_fraud", "--categorical", "mcc,nope"],
    );
    assert!(e.contains("--categorical names nope"), "{e}");
    let e = train("third.csv", &body("amount,is_fraud", "1,2"), &["--label", "is_fraud"]);
    assert!(e.contains("column is_fraud") && e.contains("label \"2\""), "{e}");
    let wide: Vec<String> = (0..257).map(|i| format!("f{i}")).collect();
    let e = train(
        "wide.csv",
        &body(&format!("{},y", wide.join(",")), &format!("{}0", "1,".repeat(257))),
        &["--label", "y"],
    );
    assert!(e.contains("257 feature columns, at most 256"), "{e}");
    let e = train("amount.csv", &body("value,risk,y", "1,2,0"), &["--label", "y", "--amount", "amount"]);
    assert!(e.contains("amount column \"amount\" is not one of the features"), "{e}");
    let e = train("twice.csv", &body("value,risk,y", "1,2,0"), &["--label", "y", "--features", "risk,value,risk"]);
    assert!(e.contains("--features lists \"risk\" twice"), "{e}");
    let e = train("labelled.csv", &body("value,risk,y", "1,2,0"), &["--label", "y", "--features", "risk,y"]);
    assert!(e.contains("label or the id column"), "{e}");
    let e = train("id.csv", &body("id,value,y", "7,2,0"), &["--label", "y"]);
    assert!(e.contains("\"id\" cannot be a feature") && e.contains("--id"), "{e}");
}

/// A payments table with text columns and empty cells trains as format 5:
/// kinds and vocabularies in the schema, rates on train, and the replay file
/// (text and empty cells as read) scored by core reproduces the test figures.
#[test]
fn tables_with_text_and_empty_cells_train_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("payments.csv");
    let status = cli().args(["synth", "--schema", "payments", "--rows", "5000", "--out"]).arg(&csv).status().unwrap();
    assert!(status.success());
    for candidate in ["baseline", "trees"] {
        let out = dir.path().join(candidate);
        let output = cli()
            .arg("train")
            .arg("--data")
            .arg(&csv)
            .args(["--label", "is_fraud", "--id", "payment_id", "--categorical", "mcc_code", "--candidates", candidate])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let bytes = std::fs::read(out.join("model.bin")).unwrap();
        let loaded = fraud_core::artifact::Artifact::decode(&bytes).unwrap();
        let schema = &loaded.schema;
        assert!(schema.accepts_missing());
        assert_eq!(schema.amount_name(), Some("amount"), "a lowercase amount column is the default amount");
        let country = schema.categories(schema.index("country").unwrap()).unwrap();
        assert!(country.is_text() && country.other() >= 30, "{} countries kept", country.other());
        let mcc = schema.categories(schema.index("mcc_code").unwrap()).unwrap();
        assert!(!mcc.is_text() && mcc.code_of_number(5411.0) != Some(mcc.other()));
        assert!(schema.categories(schema.index("amount").unwrap()).is_none());
        let device = schema.index("device_os").unwrap();
        assert!(loaded.tabular.missing_rates[device] > 0.05, "device_os is often empty");
        assert_eq!(loaded.tabular.missing_rates[schema.index("amount").unwrap()], 0.0);
        if candidate == "baseline" {
            assert!(
                loaded.tabular.indicators[schema.index("ip_distance_km").unwrap()],
                "an indicator where values were missing"
            );
        }

        // The replay holds the cells as read: text, and empty fields.
        let text = std::fs::read_to_string(out.join("replay.csv")).unwrap();
        assert!(text.lines().nth(1).unwrap().contains(",C"), "country as text: {}", &text[..300]);
        assert!(text.contains(",,"), "empty cells stay empty");
        let replay = dataset::read_csv_for(&out.join("replay.csv"), &dataset::Spec::of_schema(schema), schema).unwrap();
        assert_eq!(replay.len() as u64, loaded.provenance.rows_test);
        assert!(replay.values().iter().any(|x| x.is_nan()));
        let model = loaded.model().unwrap();
        let mut probs = vec![0.0; replay.len()];
        model.score_batch(replay.values(), &mut probs).unwrap();
        assert_eq!(evaluate(&probs, replay.labels(), loaded.test.threshold), loaded.test, "{candidate}");
        // Explanations name the original columns and stay additive.
        let row = replay.row(0);
        let t = model.transaction(row).unwrap();
        let contributions = model.contributions(&t);
        assert_eq!(contributions.len(), schema.len());
        let sum: f64 = contributions.iter().map(|c| c.contribution).sum::<f64>() + model.base_value();
        assert!((sum - model.logit(t.values())).abs() < 1e-9, "{candidate}: {sum} vs {}", model.logit(t.values()));
    }
}
