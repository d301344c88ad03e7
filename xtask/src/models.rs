//! Training one model of each kind (for the parity checks and the benchmarks),
//! on the real file when there is one, else on synthetic data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context as _, Result};

use crate::cmd::{sh, step};

/// The trainer binary the checks train with.
const TRAINER: &str = "target/release/native-train";

/// The real file, where the test command or `fetch-data` put it.
pub(crate) fn real_data() -> Option<&'static Path> {
    ["data/creditcard.csv", "target/real-data/creditcard.csv"].into_iter().map(Path::new).find(|p| p.exists())
}

/// What a checked model is trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    /// The real file when there is one, else synthetic data in its schema.
    Creditcard,
    /// The synthetic retail schema (a dozen named features, an id column, `is_fraud`): proof
    /// that nothing in any runtime assumes the Kaggle file's columns.
    Retail,
    /// The synthetic payments table (text columns, a numeric-coded category, empty cells):
    /// categories and missing values through every runtime (artifact format 5).
    Payments,
    /// Not trained here: XGBoost 3.2's model from the import fixtures, imported with its labelled
    /// rows (`native-train import --data`; artifact format 6, leaves summed in `f32`).
    Imported,
}

/// The imported kind's model and labelled rows (`native-train/tests/fixtures/import/`).
const IMPORT_FIXTURES: &str = "native-train/tests/fixtures/import";

/// A model every runtime is checked (and benchmarked) with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checked {
    /// Its name (folders are `target/<use>-<name>`).
    pub(crate) name: &'static str,
    /// The candidates that train it.
    pub(crate) candidates: &'static str,
    /// Its data.
    pub(crate) data: Data,
    /// Per-model steps it skips (the fuzzers: one fuzzed tree model of each format is enough).
    pub(crate) skips: &'static [&'static str],
}

/// The models every runtime is checked with: one of each kind on the Kaggle
/// schema, and one on another schema.
pub(crate) const KINDS: [Checked; 5] = [
    Checked { name: "logistic", candidates: "baseline,smote,class_weighted", data: Data::Creditcard, skips: &[] },
    Checked { name: "trees", candidates: "trees", data: Data::Creditcard, skips: &[] },
    Checked { name: "retail", candidates: "baseline,trees", data: Data::Retail, skips: &[] },
    Checked { name: "payments", candidates: "trees", data: Data::Payments, skips: &[] },
    Checked { name: "imported", candidates: "", data: Data::Imported, skips: &["api-fuzz", "edge-fuzz"] },
];

/// Whether a check trains its model anew or may take the one an earlier run left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Training {
    /// Always train (the whole `test`: every check on models of this build).
    Fresh,
    /// Reuse a folder that is newer than the trainer binary and the real file (`test --only`).
    Reuse,
}

/// Where the checks keep `model`.
pub(crate) fn check_dir(model: &Checked) -> PathBuf {
    PathBuf::from(format!("target/parity-{}", model.name))
}

/// `model`'s folder, trained into unless `training` lets a current one be reused.
/// The trainer must be built (`target/release/native-train`).
pub(crate) fn trained(model: &Checked, training: Training) -> Result<PathBuf> {
    let dir = check_dir(model);
    if training == Training::Reuse && is_current(&dir) {
        eprintln!("reusing the {} model in {} (newer than the trainer)", model.name, dir.display());
        return Ok(dir);
    }
    train_kind(&dir, model)?;
    Ok(dir)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// True when `dir`'s golden file (written last) is newer than the trainer and
/// than the real file, and its model and replay file are there.
fn is_current(dir: &Path) -> bool {
    let Some(golden) = modified(&dir.join("golden.csv")) else { return false };
    let inputs = [Some(Path::new(TRAINER)), real_data()];
    ["model.bin", "replay.csv", "parity-rules.txt"].iter().all(|f| dir.join(f).exists())
        && inputs.into_iter().flatten().all(|p| modified(p).is_some_and(|t| t < golden))
}

/// The imported kind: the fixture's XGBoost model with its labelled rows.
fn import_fixture(dir: &Path) -> Result<()> {
    let fixtures = Path::new(IMPORT_FIXTURES);
    sh(Command::new(TRAINER)
        .arg("import")
        .arg("--xgboost")
        .arg(fixtures.join("xgb-3.2.0.json"))
        .arg("--data")
        .arg(fixtures.join("labelled.csv"))
        .args(["--label", "is_fraud", "--id", "txn", "--out"])
        .arg(dir)
        .env("RUST_LOG", "warn"))
}

/// Trains `model` into `dir` and writes its golden file.
pub(crate) fn train_kind(dir: &Path, model: &Checked) -> Result<()> {
    step(&format!("training the {} model ({})", model.name, dir.display()));
    let mut train = Command::new(TRAINER);
    train.args(["train", "--candidates", model.candidates, "--out"]).arg(dir).env("RUST_LOG", "warn");
    match (model.data, real_data()) {
        (Data::Creditcard, Some(data)) => {
            train.arg("--data").arg(data);
        }
        (Data::Creditcard, None) => {}
        (Data::Retail, _) => {
            train.args([
                "--synthetic-schema",
                "retail",
                "--synthetic-rows",
                "100000",
                "--synthetic-fraud-rate",
                "0.01",
            ]);
        }
        (Data::Payments, _) => {
            train.args(["--synthetic-schema", "payments", "--synthetic-rows", "60000", "--categorical", "mcc_code"]);
        }
        (Data::Imported, _) => {}
    }
    if model.data == Data::Imported {
        import_fixture(dir)?;
    } else {
        sh(&mut train)?;
    }
    let (rules, lists) = write_parity_rules(dir)?;
    sh(Command::new(TRAINER)
        .args(["golden", "--model"])
        .arg(dir.join("model.bin"))
        .arg("--replay")
        .arg(dir.join("replay.csv"))
        .arg("--rules")
        .arg(rules)
        .arg("--lists")
        .arg(lists)
        .arg("--out")
        .arg(dir.join("golden.csv")))
}

/// The rules every runtime decides the parity rows by (`dir/parity-rules.txt`,
/// lists in `dir/parity-lists/`): the trainer's proposed bands, an accept list
/// of the first replay ids, the amount, a category and a missing value where the
/// schema has them, and shadow rules on the expected loss and the model's
/// decision — so the golden file's actions come from every kind of condition.
pub(crate) fn write_parity_rules(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let card: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("model.json")).with_context(|| format!("reading {}/model.json", dir.display()))?,
    )
    .with_context(|| format!("{}/model.json is not JSON", dir.display()))?;
    let schema = &card["schema"];
    let mut text =
        String::from("# The parity checks' rules (written by cargo xtask): every runtime decides by them.\n");
    let mut trusted = Vec::new();
    if let Some(id) = schema["id"].as_str() {
        trusted = first_ids(&dir.join("replay.csv"), id, 25)?;
    }
    // Without an id column no runtime's `:id:` is in the list: the rule never fires anywhere.
    if trusted.is_empty() {
        trusted.push("no-transaction-has-this-id".to_string());
    }
    text.push_str("accept trusted if :id: in @trusted\n");
    let kinds = schema["kinds"].as_array().cloned().unwrap_or_default();
    let kind_of = |f: &str| kinds.iter().find(|k| k["feature"] == f).cloned();
    if let Some(amount) = schema["amount"].as_str() {
        if kind_of(amount).is_none_or(|k| k["kind"] != "text") {
            text.push_str(&format!("refuse big_and_risky if :{amount}: > 500 and :probability: >= 0.02\n"));
        }
    }
    for k in &kinds {
        let feature = k["feature"].as_str().unwrap_or_default();
        if let Some(category) = k["categories"].as_array().and_then(|c| c.get(1)).and_then(|c| c.as_str()) {
            let quoted = serde_json::to_string(category)?;
            text.push_str(&format!("review watched_category if :{feature}: == {quoted} and :probability: >= 0.01\n"));
            break;
        }
    }
    if let Some(k) = kinds.iter().find(|k| k["missing_rate"].as_f64().is_some_and(|r| r > 0.0)) {
        let feature = k["feature"].as_str().unwrap_or_default();
        text.push_str(&format!("shadow review missing_value if :{feature}: is missing\n"));
    }
    // The trainer's bands, when it proposed them.
    if let Ok(bands) = std::fs::read_to_string(dir.join("rules.txt")) {
        for line in bands.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
            if !line.trim_start().starts_with("version") {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text.push_str("shadow refuse costly if :expected_loss: >= 25\n");
    text.push_str("shadow review model_refuses if :model_decision: == \"refuse\" and not :probability: >= 0.9\n");
    let rules = dir.join("parity-rules.txt");
    let lists = dir.join("parity-lists");
    std::fs::create_dir_all(&lists)?;
    std::fs::write(&rules, text)?;
    std::fs::write(lists.join("trusted.txt"), trusted.join("\n") + "\n")?;
    Ok((rules, lists))
}

/// The first `n` values of column `id` of a CSV (plain fields: the replay's ids hold no quotes).
fn first_ids(csv: &Path, id: &str, n: usize) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let Some(column) = header.iter().position(|h| *h == id) else { return Ok(Vec::new()) };
    Ok(lines
        .take(n)
        .filter_map(|l| l.split(',').nth(column))
        .filter(|v| !v.is_empty() && !v.contains('"'))
        .map(str::to_string)
        .collect())
}
