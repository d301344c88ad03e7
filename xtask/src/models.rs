//! Training one model of each kind (for the parity checks and the benchmarks),
//! on the real file when there is one, else on synthetic data.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::cmd::{sh, step};

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
}

/// A model every runtime is checked (and benchmarked) with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checked {
    /// Its name (folders are `target/<use>-<name>`).
    pub(crate) name: &'static str,
    /// The candidates that train it.
    pub(crate) candidates: &'static str,
    /// Its data.
    pub(crate) data: Data,
}

/// The models every runtime is checked with: one of each kind on the Kaggle
/// schema, and one on another schema.
pub(crate) const KINDS: [Checked; 3] = [
    Checked { name: "logistic", candidates: "baseline,smote,class_weighted", data: Data::Creditcard },
    Checked { name: "trees", candidates: "trees", data: Data::Creditcard },
    Checked { name: "retail", candidates: "baseline,trees", data: Data::Retail },
];

/// Trains `model` into `dir` and writes its golden file.
pub(crate) fn train_kind(dir: &Path, model: &Checked) -> Result<()> {
    step(&format!("training the {} model ({})", model.name, dir.display()));
    let mut train = Command::new("target/release/native-train");
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
    }
    sh(&mut train)?;
    sh(Command::new("target/release/native-train")
        .args(["golden", "--model"])
        .arg(dir.join("model.bin"))
        .arg("--replay")
        .arg(dir.join("replay.csv"))
        .arg("--out")
        .arg(dir.join("golden.csv")))
}
