//! `cargo xtask compare`: XGBoost and LightGBM on exactly our splits, beside ours.
//!
//! Installs the two libraries (pinned) from PyPI into a virtual environment in
//! `target/compare-venv` — tooling only, the product never needs Python — has
//! `native-train splits` write our split indices, runs `xtask/compare/compare.py`
//! on them and `native-train train --seeds` on the same seeds, and prints one
//! table: mean ± std of test AP and F1 over the seeds, and the median fit time.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::cmd::{build_release, sh, step};
use crate::models::real_data;
use crate::tools::{self, venv_bin, Tool, COMPARE_VENV};

#[derive(Deserialize)]
struct Peers {
    results: Vec<PeerRun>,
}

#[derive(Deserialize)]
struct PeerRun {
    library: String,
    fit_seconds: f64,
    average_precision: f64,
    f1: f64,
}

#[derive(Deserialize)]
struct Ours {
    runs: Vec<OurRun>,
}

#[derive(Deserialize)]
struct OurRun {
    selected: String,
    candidates: Vec<OurCandidate>,
}

#[derive(Deserialize)]
struct OurCandidate {
    name: String,
    fit_seconds: f64,
    test: OurTest,
}

#[derive(Deserialize)]
struct OurTest {
    average_precision: f64,
    f1: f64,
}

fn python() -> PathBuf {
    venv_bin(COMPARE_VENV, "python")
}

fn mean_std(v: &[f64]) -> String {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    format!("{mean:.3} ± {:.3}", var.sqrt())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub(crate) fn compare(seeds: &str) -> Result<()> {
    let Some(data) = real_data() else {
        bail!("the comparison needs the real dataset: run `cargo xtask fetch-data` first");
    };
    tools::ensure(&[Tool::CompareLibraries])?;
    step("building native-train (release)");
    build_release(&["native-train"])?;
    let dir = Path::new("target/compare");
    std::fs::create_dir_all(dir)?;
    let splits = dir.join("splits");
    step(&format!("our split indices for seeds {seeds}"));
    sh(Command::new("target/release/native-train")
        .args(["splits", "--seeds", seeds, "--data"])
        .arg(data)
        .arg("--out")
        .arg(&splits)
        .env("RUST_LOG", "warn"))?;
    step("XGBoost and LightGBM on those splits (2 threads each)");
    let peers_json = dir.join("peers.json");
    sh(Command::new(python())
        .arg("xtask/compare/compare.py")
        .arg("--data")
        .arg(data)
        .arg("--splits")
        .arg(&splits)
        .args(["--seeds", seeds, "--threads", "2", "--out"])
        .arg(&peers_json)
        .env("OMP_NUM_THREADS", "2"))?;
    step("ours on the same seeds");
    let ours_json = dir.join("ours.json");
    sh(Command::new("target/release/native-train")
        .args(["train", "--seeds", seeds, "--seeds-json"])
        .arg(&ours_json)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn"))?;

    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let peers: Peers = serde_json::from_str(&read(&peers_json)?).context("peers.json")?;
    let ours: Ours = serde_json::from_str(&read(&ours_json)?).context("ours.json")?;
    println!("\n| model (same splits, seeds {seeds}) | mean test AP | mean test F1 | fit (median) |");
    println!("|---|---|---|---|");
    for library in ["xgboost", "lightgbm"] {
        let runs: Vec<&PeerRun> = peers.results.iter().filter(|r| r.library == library).collect();
        let col = |f: fn(&PeerRun) -> f64| runs.iter().map(|r| f(r)).collect::<Vec<f64>>();
        println!(
            "| {library} | {} | {} | {:.2} s |",
            mean_std(&col(|r| r.average_precision)),
            mean_std(&col(|r| r.f1)),
            median(col(|r| r.fit_seconds))
        );
    }
    let Some(first) = ours.runs.first() else { bail!("ours.json has no runs") };
    for (k, c) in first.candidates.iter().enumerate() {
        let col = |f: fn(&OurCandidate) -> f64| ours.runs.iter().map(|r| f(&r.candidates[k])).collect::<Vec<f64>>();
        println!(
            "| ours: {} | {} | {} | {:.2} s |",
            c.name,
            mean_std(&col(|c| c.test.average_precision)),
            mean_std(&col(|c| c.test.f1)),
            median(col(|c| c.fit_seconds))
        );
    }
    let selected = |f: fn(&OurTest) -> f64| -> Vec<f64> {
        ours.runs
            .iter()
            .filter_map(|r| r.candidates.iter().find(|c| c.name == r.selected).map(|c| f(&c.test)))
            .collect()
    };
    println!(
        "| **ours: selected by validation F1** | {} | {} | |",
        mean_std(&selected(|t| t.average_precision)),
        mean_std(&selected(|t| t.f1))
    );
    Ok(())
}
