//! Retraining on what was served: every row of a table replayed through
//! `fraud-server --decision-log`, each one's label posted, then
//! `train --from-log` gives the same model as training on the table itself
//! (the same artifact bytes apart from provenance).

use std::path::Path;

use fraud_core::Artifact;
use native_train::from_log::{self, FromLog};
use native_train::input::DataChoice;
use native_train::pipeline::{CandidateKind, Config};
use native_train::synth::{SchemaKind, Synthetic};

mod common;
use common::{connect, request, start, try_request_with};

const TOKEN: &str = "retrain-token";

fn choice(csv: &Path) -> DataChoice {
    DataChoice {
        path: Some(csv.to_path_buf()),
        label: Some("is_fraud".into()),
        features: None,
        id: Some("payment_id".into()),
        amount: Some("amount".into()),
        categorical: vec!["mcc_code".into()],
        synthetic: Synthetic { schema: SchemaKind::Payments, rows: 0, fraud_rate: 0.0, seed: 0 },
    }
}

fn config() -> Config {
    Config {
        candidates: vec![CandidateKind::Baseline, CandidateKind::Trees],
        boost: native_train::boost::BoostOptions { rounds: 30, ..Default::default() },
        ..Config::default()
    }
}

/// The artifact with its provenance's data source blanked (the one thing that names the file).
fn without_source(path: &Path) -> Vec<u8> {
    let mut artifact = Artifact::load(&std::fs::read(path).unwrap()).unwrap().artifact;
    artifact.provenance.dataset.clear();
    artifact.provenance.dataset_sha256.clear();
    artifact.encode().unwrap()
}

/// A CSV cell as the JSON a client sends: numbers as written, text as a string, empty as null.
fn json_value(cell: &str) -> String {
    if cell.is_empty() {
        "null".into()
    } else if cell.parse::<f64>().is_ok() && serde_json::from_str::<serde_json::Number>(cell).is_ok() {
        cell.into()
    } else {
        serde_json::to_string(cell).unwrap()
    }
}

#[test]
fn retraining_from_the_log_gives_the_model_the_table_gives() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("payments.csv");
    std::fs::write(&csv, SchemaKind::Payments.generate_csv(2_500, 0.05, 11)).unwrap();
    native_train::train::train_and_write(
        native_train::input::load(&choice(&csv)).unwrap(),
        &config(),
        &dir.path().join("m0"),
    )
    .unwrap();
    std::fs::write(dir.path().join("tokens.txt"), format!("trainer {}\n", server::tokens::hash(TOKEN))).unwrap();
    let log = dir.path().join("decisions.db");
    let server = start(&[
        "--model".as_ref(),
        dir.path().join("m0/model.bin").as_os_str(),
        "--decision-log".as_ref(),
        log.as_os_str(),
        "--admin-token-file".as_ref(),
        dir.path().join("tokens.txt").as_os_str(),
        // One request at a time: an fsync each would only make the test slow.
        "--decision-log-sync".as_ref(),
        "normal".as_ref(),
    ]);

    // Replay every row in order, then label each from the table.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut conn = connect(&server.addr);
    let mut labels = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let mut fields = Vec::new();
        let mut id = "";
        for (name, cell) in header.iter().zip(&cells) {
            match *name {
                "payment_id" => id = cell,
                "is_fraud" => labels.push((id.to_string(), *cell == "1")),
                _ => fields.push(format!("{}:{}", serde_json::to_string(name).unwrap(), json_value(cell))),
            }
        }
        let body = format!("{{\"id\":{},{}}}", serde_json::to_string(id).unwrap(), fields.join(","));
        let (code, answer) = request(&mut conn, "POST", "/predict", &body);
        assert_eq!(code, 200, "{answer}");
    }
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    for (id, fraud) in &labels {
        let body = format!(
            r#"{{"id":"{id}","label":"{}","source":"chargeback","observed_at":"2026-12-01T00:00:00Z"}}"#,
            if *fraud { "fraud" } else { "legitimate" }
        );
        let (code, _, answer) = try_request_with(&mut conn, "POST", "/labels", &auth, &body).unwrap();
        assert_eq!(code, 200, "{answer}");
    }
    drop(server);

    // The same protocol on the log's rows and on the table's.
    let from = FromLog { target: log.to_str().unwrap().into(), maturity_ms: 90 * 86_400_000, model: None };
    let (input, exported) =
        from_log::load(&from, &choice(&csv), &dir.path().join("from-log"), decision_log::now_ms()).unwrap();
    assert_eq!(exported.counts.decisions, labels.len() as u64);
    assert_eq!(exported.counts.fraud, labels.iter().filter(|(_, f)| *f).count() as u64);
    assert_eq!(exported.counts.young_unlabelled + exported.counts.legitimate_matured, 0);
    assert!(input.source.name.starts_with("decision log"), "{}", input.source.name);
    native_train::train::train_and_write(input, &config(), &dir.path().join("from-log")).unwrap();
    native_train::train::train_and_write(
        native_train::input::load(&choice(&csv)).unwrap(),
        &config(),
        &dir.path().join("table"),
    )
    .unwrap();
    let from_log = without_source(&dir.path().join("from-log/model.bin"));
    let from_table = without_source(&dir.path().join("table/model.bin"));
    assert!(from_log == from_table, "the artifacts differ beyond their provenance");
    // Nothing of the rebuilt table is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("from-log"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".from-log-"))
        .collect();
    assert!(leftovers.is_empty());
}
