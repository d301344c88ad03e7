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

/// The model kinds every runtime is checked and benchmarked with, and the candidates that train each.
pub(crate) const KINDS: [(&str, &str); 2] = [("logistic", "baseline,smote,class_weighted"), ("trees", "trees")];

/// Trains a model of one kind into `dir` and writes its golden file.
pub(crate) fn train_kind(dir: &Path, kind: &str, candidates: &str) -> Result<()> {
    step(&format!("training a {kind} model ({})", dir.display()));
    let mut train = Command::new("target/release/native-train");
    train.args(["train", "--candidates", candidates, "--out"]).arg(dir).env("RUST_LOG", "warn");
    if let Some(data) = real_data() {
        train.arg("--data").arg(data);
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
