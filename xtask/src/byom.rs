//! Bring your own model: `cargo xtask import-fixtures` and `cargo xtask dask`.
//!
//! - `import-fixtures` writes `native-train/tests/fixtures/import/`: models made by
//!   XGBoost 1.7.6, 2.1.4 and 3.2.0 and LightGBM 4.7.0 (each in its own pinned virtual
//!   environment, `tools.rs`), and what each library computed on 100,000 check rows
//!   (`make_fixtures.py` there; its README lists the files).
//! - `dask` trains XGBoost on a Dask cluster (`xtask/dask/train_dask.py`), imports the
//!   model with `native-train import`, and checks that the file scorer and the native
//!   server give the cluster's margins and core's probability of them, bit for bit;
//!   then prints XGBoost's own prediction speed beside core's on the same model
//!   (figures, not checks).
//!
//! Tooling only: the product never needs Python.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;

use crate::cmd::{build_release, output, sh, step};
use crate::http::{send, Probe};
use crate::models::real_data;
use crate::processes::{fraud_server, ServerConfig, Signal, Stopping, Supervised};
use crate::tools::{self, venv_bin, Tool, COMPARE_VENV, DASK_VENV, IMPORT_XGB17_VENV, IMPORT_XGB21_VENV};

/// Where the import fixtures live, and the script that writes them.
const FIXTURES: &str = "native-train/tests/fixtures/import";
/// What the fixtures may weigh in all (they are committed).
const FIXTURES_BUDGET: u64 = 2_500_000;

/// `cargo xtask import-fixtures`: every library version's fixtures, each from its own environment.
pub(crate) fn import_fixtures() -> Result<()> {
    tools::ensure(&[Tool::ImportXgb17, Tool::ImportXgb21, Tool::CompareLibraries, Tool::CompareTabular])?;
    let script = Path::new(FIXTURES).join("make_fixtures.py");
    // (environment, library, whether this run also writes the models to refuse)
    let runs = [
        (IMPORT_XGB17_VENV, "xgboost", false),
        (IMPORT_XGB21_VENV, "xgboost", false),
        (COMPARE_VENV, "xgboost", true),
        (COMPARE_VENV, "lightgbm", true),
    ];
    for (venv, library, extras) in runs {
        step(&format!("import fixtures: {library} in {venv}"));
        let mut cmd = Command::new(venv_bin(venv, "python"));
        cmd.arg(&script).args(["--library", library, "--out", FIXTURES]).env("OMP_NUM_THREADS", "1");
        if extras {
            cmd.arg("--extras");
        }
        sh(&mut cmd)?;
    }
    let mut files: Vec<(String, u64)> = std::fs::read_dir(FIXTURES)
        .with_context(|| format!("listing {FIXTURES}"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), e.metadata().ok()?.len())))
        .collect();
    files.sort();
    let total: u64 = files.iter().map(|(_, n)| n).sum();
    for (name, bytes) in &files {
        println!("{bytes:>9}  {name}");
    }
    println!("{total:>9}  in {} files ({FIXTURES})", files.len());
    if total > FIXTURES_BUDGET {
        bail!("the import fixtures weigh {total} bytes, over the {FIXTURES_BUDGET}-byte budget");
    }
    Ok(())
}

/// `cargo xtask dask`'s options.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct DaskOptions {
    /// Boosting rounds on the cluster.
    #[arg(long, default_value_t = 200)]
    pub(crate) rounds: u32,
    /// dask.dataframe.read_csv's blocksize (the Kaggle file makes 9 partitions at 16MB).
    #[arg(long, default_value = "16MB")]
    pub(crate) blocksize: String,
    /// Transactions per `POST /predict/batch`.
    #[arg(long, default_value_t = 1000)]
    pub(crate) batch: usize,
    /// Longest the cluster may take (cluster, read, train, predict), in seconds.
    #[arg(long, default_value_t = 1800)]
    pub(crate) timeout: u64,
}

/// What `train_dask.py` reports.
#[derive(Deserialize)]
struct DaskSummary {
    rows: usize,
    partitions: usize,
    trees: usize,
    base_score: String,
    train_seconds: f64,
    predict_seconds: f64,
}

/// What `train_dask.py` measured of XGBoost's own prediction, in process (`xgboost_speed.json`).
#[derive(Deserialize)]
struct XgboostSpeed {
    rows: usize,
    nthread: u32,
    inplace_predict_batch_ns_per_row: f64,
    inplace_predict_one_row_us: f64,
    inplace_predict_margin_mismatches: usize,
    predict_dmatrix_batch_ns_per_row: f64,
    predict_dmatrix_one_row_us: f64,
    predict_dmatrix_margin_mismatches: usize,
}

const DASK_DIR: &str = "target/dask";
/// `native-train bench-model`'s stdout, in [`DASK_DIR`].
const BENCH_LOG: &str = "bench_model.txt";
/// Longest `native-train bench-model` may take on the speed rows.
const BENCH_LIMIT: Duration = Duration::from_secs(120);

/// `cargo xtask dask`: XGBoost on a Dask cluster, imported, scored natively, bit for bit.
pub(crate) fn dask(options: &DaskOptions) -> Result<()> {
    let Some(data) = real_data() else {
        bail!("`dask` needs the real dataset: run `cargo xtask fetch-data` first");
    };
    ensure!(options.batch >= 1 && options.batch <= contract::MAX_BATCH, "--batch must be 1..={}", contract::MAX_BATCH);
    tools::ensure(&[Tool::Dask])?;
    step("building native-train, score and fraud-server (release)");
    build_release(&["native-train", "score", "server"])?;
    if output(Command::new("target/release/native-train").args(["import", "--help"])).is_none() {
        bail!("target/release/native-train has no `import` command");
    }
    let dir = Path::new(DASK_DIR);
    std::fs::create_dir_all(dir)?;
    for stale in [
        "model.json",
        "margins.f32",
        "probs.f32",
        "summary.json",
        "scores.csv",
        "head.csv",
        "xgboost_speed.json",
        BENCH_LOG,
    ] {
        let _ = std::fs::remove_file(dir.join(stale));
    }

    step("training on a Dask LocalCluster (2 worker processes, 1 thread each)");
    let summary = train_on_cluster(data, dir, options)?;
    let margins = read_f32s(&dir.join("margins.f32"))?;
    let library_probs = read_f32s(&dir.join("probs.f32"))?;
    ensure!(margins.len() == summary.rows && library_probs.len() == summary.rows, "the cluster's files are short");

    step("native-train import");
    let model_dir = dir.join("model");
    let t = Instant::now();
    sh(Command::new("target/release/native-train")
        .arg("import")
        .arg("--xgboost")
        .arg(dir.join("model.json"))
        .arg("--out")
        .arg(&model_dir)
        .env("RUST_LOG", "warn"))?;
    let import_seconds = t.elapsed().as_secs_f64();
    let model_bin = model_dir.join("model.bin");
    let loaded = fraud_core::read_file(&model_bin)?;
    let model = loaded.model;
    let calibration = *model.calibration();
    // Core's probability of the cluster's margin: what every runtime must serve.
    let want: Vec<f64> = margins.iter().map(|&m| fraud_core::model::sigmoid(calibration.apply(f64::from(m)))).collect();

    step("score --margin: every row's margin against the cluster's");
    let scores = dir.join("scores.csv");
    let t = Instant::now();
    sh(Command::new("target/release/score")
        .arg("--model")
        .arg(&model_bin)
        .arg("--input")
        .arg(data)
        .arg("--output")
        .arg(&scores)
        .args(["--margin", "--reasons", "0", "--quiet"]))?;
    let score_seconds = t.elapsed().as_secs_f64();
    let scored = read_scores(&scores)?;
    ensure!(
        scored.len() == margins.len(),
        "score wrote {} rows, the cluster predicted {}",
        scored.len(),
        margins.len()
    );
    let mut margin_mismatches = Vec::new();
    let mut not_f32 = 0usize;
    let mut score_prob_mismatches = Vec::new();
    for (i, (s, &m)) in scored.iter().zip(&margins).enumerate() {
        if f64::from(s.margin as f32) != s.margin {
            not_f32 += 1;
        }
        if (s.margin as f32).to_bits() != m.to_bits() {
            margin_mismatches.push(format!("row {i}: score {} vs Dask {m:?} ({:08x})", s.margin, m.to_bits()));
        }
        if s.probability.to_bits() != want[i].to_bits() {
            score_prob_mismatches
                .push(format!("row {i}: score {} vs core(sigmoid(margin)) {}", s.probability, want[i]));
        }
    }
    println!(
        "score: {} rows in {score_seconds:.1} s; margin mismatches {}, margins that are not float32 {not_f32}, \
         probability mismatches {}",
        scored.len(),
        margin_mismatches.len(),
        score_prob_mismatches.len()
    );
    fail_on("margin", &margin_mismatches)?;
    ensure!(not_f32 == 0, "{not_f32} of score's margins are not float32 values (XGBoost's margin is a float)");
    fail_on("score's probability", &score_prob_mismatches)?;

    step(&format!("fraud-server: every row through POST /predict/batch ({} a batch)", options.batch));
    let table = dataset::read_csv_for(data, &dataset::Spec::of_schema(model.schema()), model.schema())
        .with_context(|| format!("reading {}", data.display()))?;
    ensure!(
        table.len() == margins.len(),
        "{} has {} rows, the cluster predicted {}",
        data.display(),
        table.len(),
        margins.len()
    );
    let names = model.schema().features().to_vec();
    let server = fraud_server(&ServerConfig::new(&model_bin))?;
    let served = serve_all(&server, &table, &names, options.batch);
    server.stop()?;
    let (served, http_seconds) = served?;
    let mut http_mismatches = Vec::new();
    for (i, (&got, &w)) in served.iter().zip(&want).enumerate() {
        if got.to_bits() != w.to_bits() {
            http_mismatches.push(format!("row {i}: server {got} vs core(sigmoid(margin)) {w}"));
        }
    }
    println!(
        "fraud-server: {} rows in {} batches in {http_seconds:.1} s; probability mismatches {}",
        served.len(),
        served.len().div_ceil(options.batch),
        http_mismatches.len()
    );
    fail_on("the server's probability", &http_mismatches)?;

    // For the record: XGBoost's own probability is a float32 sigmoid, not core's f64 one.
    let worst = library_probs.iter().zip(&want).map(|(&p, &w)| (f64::from(p) - w).abs()).fold(0.0, f64::max);
    println!("\n| dask end to end | |\n|---|---|");
    println!("| rows | {} ({} partitions) |", summary.rows, summary.partitions);
    println!("| trees | {} (base_score {}) |", summary.trees, summary.base_score);
    println!("| Dask train | {:.1} s (predict {:.1} s) |", summary.train_seconds, summary.predict_seconds);
    println!("| import | {import_seconds:.2} s |");
    println!("| margin mismatches (score vs Dask, float32 bits) | 0 of {} |", scored.len());
    println!("| probability mismatches (score, server vs core's sigmoid of Dask's margin) | 0, 0 |");
    println!("| largest difference from XGBoost's float32 probability | {worst:.1e} |");

    step("speed: core (native-train bench-model) against XGBoost's predict, same model, same rows");
    let speed: XgboostSpeed = {
        let path = dir.join("xgboost_speed.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not train_dask.py's speed figures", path.display()))?
    };
    let (ours_one_ns, ours_batch_ns) = bench_core(&model_bin, &dir.join("head.csv"), speed.rows, dir)?;
    let shape = match model.scorer() {
        fraud_core::Scorer::Trees(t) => format!("{} trees, depth <= {}", t.len(), t.max_depth()),
        fraud_core::Scorer::Logistic(_) => "logistic".to_string(),
    };
    let ours_one_us = ours_one_ns / 1e3;
    println!(
        "\nspeed ({shape}, same machine, same run; ours single-threaded per call, XGBoost nthread={})",
        speed.nthread
    );
    println!(
        "  batch ns/row: ours {ours_batch_ns:.1}, xgboost inplace_predict {:.1}, xgboost predict(DMatrix) {:.1} \
         (xgboost / ours: {:.1}x, {:.1}x)",
        speed.inplace_predict_batch_ns_per_row,
        speed.predict_dmatrix_batch_ns_per_row,
        speed.inplace_predict_batch_ns_per_row / ours_batch_ns,
        speed.predict_dmatrix_batch_ns_per_row / ours_batch_ns,
    );
    println!(
        "  one row µs: ours {ours_one_us:.3}, xgboost inplace_predict {:.1}, xgboost predict(DMatrix) {:.1} \
         (xgboost / ours: {:.0}x, {:.0}x)",
        speed.inplace_predict_one_row_us,
        speed.predict_dmatrix_one_row_us,
        speed.inplace_predict_one_row_us / ours_one_us,
        speed.predict_dmatrix_one_row_us / ours_one_us,
    );
    println!(
        "  ({} rows of the file; medians: ours of bench-model's runs, probability; XGBoost of 5 block calls and \
         1,000 one-row calls, margin; XGBoost's timed margins differing from the cluster's: {}, {})",
        speed.rows, speed.inplace_predict_margin_mismatches, speed.predict_dmatrix_margin_mismatches
    );
    Ok(())
}

/// `native-train bench-model --runs 5` on `replay` (`rows` rows), at most [`BENCH_LIMIT`]:
/// its "one transaction" and "batch, per row" medians, in ns.
fn bench_core(model_bin: &Path, replay: &Path, rows: usize, dir: &Path) -> Result<(f64, f64)> {
    let log = dir.join(BENCH_LOG);
    let stdout = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new("target/release/native-train");
    cmd.arg("bench-model")
        .arg("--model")
        .arg(model_bin)
        .arg("--replay")
        .arg(replay)
        .args(["--runs", "5"])
        .env("RUST_LOG", "warn")
        .stdout(stdout);
    let stopping = Stopping { signal: Signal::Term, grace: Duration::from_secs(5) };
    let mut bench = Supervised::spawn("native-train bench-model", &mut cmd, stopping)?;
    let t = Instant::now();
    while bench.running() {
        if t.elapsed() > BENCH_LIMIT {
            let _ = bench.stop();
            bail!("native-train bench-model did not finish within {} s: stopped", BENCH_LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&log).with_context(|| format!("reading {}", log.display()))?;
    let over = format!("over {rows} test rows");
    ensure!(
        text.lines().any(|l| l.starts_with("Core scoring") && l.contains(&over)),
        "native-train bench-model printed no \"Core scoring (…) {over}\" line (its output: {})",
        log.display()
    );
    Ok((bench_median_ns(&text, "one transaction", &log)?, bench_median_ns(&text, "batch, per row", &log)?))
}

/// The median of bench-model's `  NAME   MEDIAN ns (MIN)…` line.
fn bench_median_ns(text: &str, name: &str, log: &Path) -> Result<f64> {
    let line = text.lines().map(str::trim_start).find(|l| l.starts_with(name)).with_context(|| {
        format!("native-train bench-model printed no \"{name}\" line (its output: {})", log.display())
    })?;
    let mut words = line[name.len()..].split_whitespace();
    let (median, unit) = (words.next(), words.next());
    let median = median.and_then(|m| m.parse::<f64>().ok()).filter(|m| m.is_finite() && *m > 0.0);
    match (median, unit) {
        (Some(median), Some("ns")) => Ok(median),
        _ => bail!("native-train bench-model's \"{name}\" line is not `{name}  MEDIAN ns (MIN)`: {line:?}"),
    }
}

/// Runs `train_dask.py` under supervision: at most `options.timeout` seconds, and it, its
/// cluster's scheduler and workers are killed if it overruns or anything fails.
fn train_on_cluster(data: &Path, dir: &Path, options: &DaskOptions) -> Result<DaskSummary> {
    let mut cmd = Command::new(venv_bin(DASK_VENV, "python"));
    cmd.arg("xtask/dask/train_dask.py")
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(dir)
        .args(["--rounds", &options.rounds.to_string(), "--blocksize", &options.blocksize])
        .env("OMP_NUM_THREADS", "1");
    let stopping = Stopping { signal: Signal::Term, grace: Duration::from_secs(20) };
    let mut python = Supervised::spawn("train_dask.py", &mut cmd, stopping)?;
    let limit = Duration::from_secs(options.timeout);
    let t = Instant::now();
    while python.running() {
        if t.elapsed() > limit {
            let _ = python.stop();
            bail!("train_dask.py did not finish within {} s: stopped", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // It writes summary.json last, only when everything before it succeeded.
    let path = dir.join("summary.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("train_dask.py failed: no {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not train_dask.py's summary", path.display()))
}

fn read_f32s(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(bytes.len() % 4 == 0, "{} is not whole float32s", path.display());
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// One row of score's output.
struct Scored {
    probability: f64,
    margin: f64,
}

/// score's output (`line,fraud_probability,is_fraud,margin`), in file order.
fn read_scores(path: &Path) -> Result<Vec<Scored>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("score wrote nothing")?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).with_context(|| format!("no {name} column"));
    let (line_col, prob_col, margin_col) = (col("line")?, col("fraud_probability")?, col("margin")?);
    let mut rows = Vec::new();
    let mut last_line = 0u64;
    for (i, l) in lines.enumerate() {
        let fields: Vec<&str> = l.split(',').collect();
        let field = |c: usize| fields.get(c).copied().with_context(|| format!("{}: row {i} is short", path.display()));
        let line: u64 = field(line_col)?.parse().with_context(|| format!("row {i}: line"))?;
        ensure!(line > last_line, "{}: lines out of order at row {i}", path.display());
        last_line = line;
        rows.push(Scored {
            probability: field(prob_col)?.parse().with_context(|| format!("row {i}: fraud_probability"))?,
            margin: field(margin_col)?.parse().with_context(|| format!("row {i}: margin"))?,
        });
    }
    Ok(rows)
}

/// Every row of `table` through `POST /predict/batch`, in order: the answered probabilities
/// and the seconds it took.
fn serve_all(server: &Supervised, table: &dataset::Table, names: &[String], batch: usize) -> Result<(Vec<f64>, f64)> {
    let port: u16 = server
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .with_context(|| format!("no port in the server's url {}", server.url()))?;
    let rows: Vec<&[f64]> = table.rows().collect();
    let mut answers = Vec::with_capacity(rows.len());
    let t = Instant::now();
    for (k, chunk) in rows.chunks(batch).enumerate() {
        let mut body = String::with_capacity(chunk.len() * names.len() * 24 + 32);
        body.push_str("{\"transactions\":[");
        for (r, x) in chunk.iter().enumerate() {
            body.push_str(if r == 0 { "{" } else { ",{" });
            for (j, (name, v)) in names.iter().zip(x.iter()).enumerate() {
                if j > 0 {
                    body.push(',');
                }
                body.push_str(&serde_json::to_string(name)?);
                body.push(':');
                // `{:?}` writes the shortest decimal that reads back as the same double.
                if v.is_nan() {
                    body.push_str("null");
                } else {
                    body.push_str(&format!("{v:?}"));
                }
            }
            body.push('}');
        }
        body.push_str("]}");
        let probe = Probe {
            method: "POST".into(),
            target: "/predict/batch".into(),
            content_type: Some("application/json".into()),
            body: body.into_bytes(),
        };
        let (status, text) = send(port, &probe).with_context(|| format!("batch {k}: no answer"))?;
        ensure!(status == 200, "batch {k}: status {status}: {}", text.chars().take(300).collect::<String>());
        let answer: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("batch {k}: not JSON"))?;
        let results = answer["results"].as_array().with_context(|| format!("batch {k}: no results"))?;
        ensure!(results.len() == chunk.len(), "batch {k}: {} results for {} rows", results.len(), chunk.len());
        for r in results {
            answers.push(r["fraud_probability"].as_f64().with_context(|| format!("batch {k}: no fraud_probability"))?);
        }
    }
    Ok((answers, t.elapsed().as_secs_f64()))
}

/// Fails naming the first few mismatches, if there are any.
fn fail_on(what: &str, mismatches: &[String]) -> Result<()> {
    if mismatches.is_empty() {
        return Ok(());
    }
    for m in mismatches.iter().take(5) {
        eprintln!("  {m}");
    }
    bail!("{} {what} mismatches (the first above)", mismatches.len())
}
