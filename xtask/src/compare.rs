//! `cargo xtask compare`: peers from PyPI on exactly our splits, beside ours.
//!
//! Installs the libraries (pinned) from PyPI into a virtual environment in
//! `target/compare-venv` — tooling only, the product never needs Python — has
//! `native-train splits` write our split indices, runs the peers on them and our
//! trainer on the same seeds, and prints one table.
//!
//! Two tables to compare on ([`Schema`]):
//! - `creditcard`: the Kaggle file (numeric), XGBoost and LightGBM through
//!   `xtask/compare/compare.py`, `native-train train --seeds`: mean ± std of test
//!   AP and F1 over the seeds, and the median fit time.
//! - `payments`: the synthetic payments table (text columns, empty cells, a numeric
//!   merchant category code used as a category), XGBoost, LightGBM and CatBoost with
//!   their native categoricals and missing values through `parity/peers_tabular.py`,
//!   and `native-train train --seed S` per seed (its `report.json`): test AP, ROC-AUC,
//!   F1 at each model's validation-F1-optimal threshold, rounds and fit time, and
//!   whether our selected model's test AP reaches the best peer's.
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

/// Which table `compare` measures on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Schema {
    /// The Kaggle file (`cargo xtask fetch-data`; numeric columns): XGBoost and LightGBM.
    Creditcard,
    /// The synthetic payments table (text columns, empty cells, `mcc_code` as a
    /// category): XGBoost, LightGBM and CatBoost with native categoricals.
    Payments,
}

/// `cargo xtask compare`'s options.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct CompareOptions {
    /// The table to compare on.
    #[arg(long, value_enum, default_value_t = Schema::Creditcard)]
    pub(crate) schema: Schema,
    /// Split seeds (comma-separated), each also the models' seed. [default: 0,1,2,3,4 for
    /// creditcard; 0 for payments]
    #[arg(long)]
    pub(crate) seeds: Option<String>,
    /// payments: rows of the synthetic table (generator seed 7, 2% frauds). [default: 100000]
    #[arg(long)]
    pub(crate) rows: Option<usize>,
}

pub(crate) fn compare(options: &CompareOptions) -> Result<()> {
    match options.schema {
        Schema::Creditcard => {
            if options.rows.is_some() {
                bail!("--rows is for --schema payments (the Kaggle file has its own rows)");
            }
            compare_creditcard(options.seeds.as_deref().unwrap_or("0,1,2,3,4"))
        }
        Schema::Payments => compare_payments(options.seeds.as_deref().unwrap_or("0"), options.rows.unwrap_or(100_000)),
    }
}

fn compare_creditcard(seeds: &str) -> Result<()> {
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

/// The payments table's columns, as the generator writes them.
const PAYMENTS_LABEL: &str = "is_fraud";
const PAYMENTS_ID: &str = "payment_id";
/// A numeric column that is a category (the merchant category code); text columns always are.
const PAYMENTS_CATEGORICAL: &str = "mcc_code";
const PAYMENTS_AMOUNT: &str = "amount";
/// The generator's seed: the table is the same on every run.
const PAYMENTS_SYNTH_SEED: &str = "7";
const PEERS: [(&str, &str); 3] = [("xgboost", "XGBoost"), ("lightgbm", "LightGBM"), ("catboost", "CatBoost")];

/// One library's figures on one split (`parity/peers_tabular.py`'s output).
#[derive(Deserialize)]
struct PeerFigures {
    test_ap: f64,
    test_roc_auc: f64,
    test_f1: f64,
    rounds: u64,
    seconds: f64,
    version: String,
}

/// What `compare` reads of `native-train train`'s `report.json`.
#[derive(Deserialize)]
struct Report {
    selected: String,
    candidates: Vec<ReportCandidate>,
}

#[derive(Deserialize)]
struct ReportCandidate {
    name: String,
    fit_seconds: f64,
    /// Trees carry `rounds` (the trees kept); logistic regression does not.
    training: serde_json::Value,
    test: ReportTest,
}

#[derive(Deserialize)]
struct ReportTest {
    average_precision: f64,
    roc_auc: f64,
    f1: f64,
}

/// One row of the payments table: a model's figures over the seeds.
#[derive(Default)]
struct Row {
    ap: Vec<f64>,
    roc_auc: Vec<f64>,
    f1: Vec<f64>,
    rounds: Vec<f64>,
    seconds: Vec<f64>,
}

impl Row {
    fn push(&mut self, ap: f64, roc_auc: f64, f1: f64, rounds: Option<f64>, seconds: f64) {
        self.ap.push(ap);
        self.roc_auc.push(roc_auc);
        self.f1.push(f1);
        self.rounds.extend(rounds);
        self.seconds.push(seconds);
    }

    fn print(&self, name: &str) {
        let rounds = if self.rounds.is_empty() {
            "–".to_string()
        } else if self.rounds.len() == 1 {
            format!("{}", self.rounds[0])
        } else {
            format!("{:.0} ± {:.0}", mean(&self.rounds), std(&self.rounds))
        };
        println!(
            "| {name} | {} | {} | {} | {rounds} | {:.2} s |",
            mean_std(&self.ap),
            mean_std(&self.roc_auc),
            mean_std(&self.f1),
            median(self.seconds.clone())
        );
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (0 for one value).
fn std(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
}

/// The payments comparison: one table, same rows, same seeds, all four.
fn compare_payments(seeds: &str, rows: usize) -> Result<()> {
    let seed_list: Vec<u64> = seeds
        .split(',')
        .map(|s| s.trim().parse::<u64>().with_context(|| format!("--seeds: {s:?} is not a seed")))
        .collect::<Result<_>>()?;
    if seed_list.is_empty() {
        bail!("--seeds: no seeds");
    }
    tools::ensure(&[Tool::CompareTabular])?;
    step("building native-train (release)");
    build_release(&["native-train"])?;
    let dir = PathBuf::from(format!("target/compare/payments-{rows}"));
    std::fs::create_dir_all(&dir)?;
    let data = dir.join("payments.csv");
    step(&format!("the payments table: {rows} synthetic rows (generator seed {PAYMENTS_SYNTH_SEED})"));
    sh(Command::new("target/release/native-train")
        .args(["synth", "--schema", "payments", "--rows", &rows.to_string(), "--seed", PAYMENTS_SYNTH_SEED, "--out"])
        .arg(&data))?;
    let columns = |cmd: &mut Command| {
        cmd.arg("--data").arg(&data).args([
            "--label",
            PAYMENTS_LABEL,
            "--id",
            PAYMENTS_ID,
            "--categorical",
            PAYMENTS_CATEGORICAL,
            "--amount",
            PAYMENTS_AMOUNT,
        ]);
    };
    let splits = dir.join("splits");
    step(&format!("our split indices for seeds {seeds}"));
    let mut cmd = Command::new("target/release/native-train");
    cmd.args(["splits", "--seeds", seeds, "--out"]).arg(&splits).env("RUST_LOG", "warn");
    columns(&mut cmd);
    sh(&mut cmd)?;

    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    let mut peers: Vec<Row> = PEERS.iter().map(|_| Row::default()).collect();
    let mut versions = vec![String::new(); PEERS.len()];
    let mut ours: Vec<(String, Row)> = Vec::new();
    let mut selected = Row::default();
    let mut selected_names = Vec::new();
    // Per seed: our selected model's test AP minus the best peer's.
    let mut margins = Vec::new();
    for &seed in &seed_list {
        step(&format!("seed {seed}: XGBoost, LightGBM and CatBoost on our split (2 threads each)"));
        let peers_json = dir.join(format!("peers-{seed}.json"));
        let out = std::fs::File::create(&peers_json).with_context(|| format!("creating {}", peers_json.display()))?;
        sh(Command::new(python())
            .arg("parity/peers_tabular.py")
            .arg("--data")
            .arg(&data)
            .args(["--label", PAYMENTS_LABEL, "--id", PAYMENTS_ID, "--categorical", PAYMENTS_CATEGORICAL])
            .arg("--split")
            .arg(splits.join(format!("split-{seed}.json")))
            .args(["--seed", &seed.to_string(), "--threads", "2"])
            .env("OMP_NUM_THREADS", "2")
            .stdout(out))?;
        let figures: std::collections::HashMap<String, PeerFigures> =
            serde_json::from_str(&read(&peers_json)?).with_context(|| format!("{}", peers_json.display()))?;
        let mut best_peer = f64::NEG_INFINITY;
        for (k, (library, _)) in PEERS.iter().enumerate() {
            let f = figures.get(*library).with_context(|| format!("{} has no {library}", peers_json.display()))?;
            peers[k].push(f.test_ap, f.test_roc_auc, f.test_f1, Some(f.rounds as f64), f.seconds);
            versions[k].clone_from(&f.version);
            best_peer = best_peer.max(f.test_ap);
        }

        step(&format!("seed {seed}: ours on the same split"));
        let out_dir = dir.join(format!("ours-{seed}"));
        let mut cmd = Command::new("target/release/native-train");
        cmd.args(["train", "--seed", &seed.to_string(), "--out"]).arg(&out_dir).env("RUST_LOG", "warn");
        columns(&mut cmd);
        // Its printed summary is long; report.json has every figure.
        cmd.stdout(std::process::Stdio::null());
        sh(&mut cmd)?;
        let report_path = out_dir.join("report.json");
        let report: Report = serde_json::from_str(&read(&report_path)?)
            .with_context(|| format!("{} is not a training report", report_path.display()))?;
        for c in &report.candidates {
            let rounds = c.training.get("rounds").and_then(serde_json::Value::as_f64);
            let row = match ours.iter_mut().find(|(n, _)| *n == c.name) {
                Some((_, row)) => row,
                None => {
                    ours.push((c.name.clone(), Row::default()));
                    &mut ours.last_mut().expect("just pushed").1
                }
            };
            row.push(c.test.average_precision, c.test.roc_auc, c.test.f1, rounds, c.fit_seconds);
            if c.name == report.selected {
                selected.push(c.test.average_precision, c.test.roc_auc, c.test.f1, rounds, c.fit_seconds);
                margins.push(c.test.average_precision - best_peer);
            }
        }
        if !report.candidates.iter().any(|c| c.name == report.selected) {
            bail!("{}: the selected candidate {} is not among its candidates", report_path.display(), report.selected);
        }
        selected_names.push(report.selected);
    }

    let n = seed_list.len();
    let summary = if n == 1 { "" } else { " (mean ± std over the seeds; fit: median)" };
    println!(
        "\nThe payments table: {rows} rows ({}), our split seed(s) {seeds}: each model trained on the same train \
         rows, early-stopped on the same validation rows, scored once on the same test rows{summary}.",
        data.display()
    );
    println!(
        "F1 is at each model's own validation-F1-optimal threshold (as our trainer picks it). Rounds: the trees \
         kept after early stopping (peers on validation AP, ours on validation log-loss)."
    );
    println!("\n| model | test AP | test ROC-AUC | test F1 | rounds | fit |");
    println!("|---|---|---|---|---|---|");
    for (k, (_, name)) in PEERS.iter().enumerate() {
        peers[k].print(&format!("{name} {}", versions[k]));
    }
    for (name, row) in &ours {
        row.print(&format!("ours: {name}"));
    }
    let mut chosen = selected_names.clone();
    chosen.dedup();
    selected.print(&format!("**ours: selected by validation F1 ({})**", chosen.join(", ")));

    let (best_k, best_mean) = peers
        .iter()
        .enumerate()
        .map(|(k, r)| (k, mean(&r.ap)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("three peers");
    let ours_mean = mean(&selected.ap);
    let wins = margins.iter().filter(|m| **m >= 0.0).count();
    let verdict = if ours_mean >= best_mean { "reaches" } else { "does NOT reach" };
    println!(
        "\nOur selected model's test AP {ours_mean:.4} {verdict} the best peer's ({} {best_mean:.4}; difference \
         {:+.4}); ours ≥ the best peer on that seed's split in {wins} of {n} seed(s).",
        PEERS[best_k].1,
        ours_mean - best_mean
    );
    println!(
        "(ours' fit times overlap: its candidates fit concurrently on the same 2 cores, so each one's time is \
         longer than it alone would take; peers fit one after another, 2 threads each.)"
    );
    Ok(())
}
