//! `native-train`: train the fraud model, generate synthetic data, benchmark.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use fraud_core::decision::format_money;
use fraud_core::{Benefit, Costs, Model, Schema};
use indicatif::{ProgressBar, ProgressStyle};
use native_train::boost::BoostOptions;
use native_train::calibrate::CalibrationChoice;
use native_train::data::{load_bytes, load_csv, Dataset, LoadError};
use native_train::output::write_outputs;
use native_train::pipeline::{run, Candidate, CandidateKind, Config, Outcome, Source};
use native_train::policy::{self, PolicyChoice};
use native_train::report::{candidate_cells, policy_label, CANDIDATE_COLUMNS};
use native_train::synth::{self, SchemaKind};

/// Train the credit-card fraud model natively and export it for every runtime.
///
/// The protocol: stratified train/validation/test split, a standard scaler
/// fitted on train only, SMOTE on the scaled train split only, L2 logistic
/// regression and gradient-boosted tree candidates (plain, SMOTE,
/// class-weighted), each calibrated on validation (Platt by default) with an
/// F1-optimal and a net-benefit-optimal threshold, the candidate with the best
/// validation F1 selected, its decision policy chosen by validation net
/// benefit (or --policy), and figures in money and classification on test.
#[derive(Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the training protocol and write the artifact, reports and replay file.
    Train(TrainArgs),
    /// Write a synthetic dataset: the real file's schema and header style, or
    /// (--schema retail) a retail team's own twelve named features with an id column.
    Synth(SynthArgs),
    /// Time every stage of the pipeline and core scoring; prints figures.
    Bench(BenchArgs),
    /// Write the parity golden file: the native core's probability bits and
    /// decision for every row of a replay CSV, for checking other runtimes.
    Golden(GoldenArgs),
    /// Time core's scoring of an artifact on a replay file: one transaction, batch, explanation.
    BenchModel(BenchModelArgs),
    /// Write the stratified split's row indices (train, validation, test) for
    /// each seed, so other tools can be measured on exactly our splits.
    Splits(SplitsArgs),
}

#[derive(Args)]
struct BenchModelArgs {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Rows to score (the trainer's replay file by default).
    #[arg(long, default_value = "model/replay.csv")]
    replay: PathBuf,
    /// Repetitions (median and minimum are reported).
    #[arg(long, default_value_t = 7)]
    runs: usize,
}

#[derive(Args)]
struct SplitsArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Split seeds.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3,4")]
    seeds: Vec<u64>,
    /// Fraction of each class held out for validation.
    #[arg(long, default_value_t = 0.2)]
    validation_fraction: f64,
    /// Fraction of each class held out for test.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Folder for split-SEED.json (0-based indices of the CSV's data rows).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct GoldenArgs {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Rows to score: a CSV with the model's feature columns (the trainer's replay file by default).
    #[arg(long, default_value = "model/replay.csv")]
    replay: PathBuf,
    /// Where to write the golden file.
    #[arg(long, default_value = "model/golden.csv")]
    out: PathBuf,
}

/// Which data to train on, and what its columns are.
///
/// Any CSV with a header works: every column but the label and the id is a
/// feature (or the ones --features names), each must be numeric; at most 256.
/// The schema — feature names and order, label, id and amount columns — goes
/// into the artifact, and every runtime validates requests against it.
#[derive(Args, Clone)]
struct DataArgs {
    /// The dataset CSV, any column order. Default: data/creditcard.csv if
    /// present (the Kaggle file), else synthetic data (see --synthetic-schema).
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,
    /// The label column: 0/1, "0"/"1" or true/false (1 / true = fraud).
    /// [default: Class; is_fraud for --synthetic-schema retail]
    #[arg(long, value_name = "COLUMN")]
    label: Option<String>,
    /// The feature columns, in this order (comma-separated). Default: every
    /// column but the label and --id. Other columns are ignored.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    features: Option<Vec<String>>,
    /// A column identifying each transaction: carried into the replay file
    /// (and so through batch scoring and the streamer), never a feature.
    /// [default: none; transaction_id for --synthetic-schema retail]
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
    /// The feature money is proportional to (the costs' `amount`). [default:
    /// Amount (amount for retail) when the file has it; without one, every
    /// cost is fixed per outcome and the cost-optimal policy is unavailable]
    #[arg(long, value_name = "COLUMN")]
    amount: Option<String>,
    /// Schema of synthetic data: creditcard (the Kaggle file's 30 columns) or
    /// retail (a dozen named features and an id column; used even when
    /// data/creditcard.csv exists).
    #[arg(long, default_value = "creditcard", value_parser = parse_schema_kind)]
    synthetic_schema: SchemaKind,
    /// Rows of synthetic data, when training on synthetic data.
    #[arg(long, default_value_t = synth::DEFAULT_ROWS)]
    synthetic_rows: usize,
    /// Fraud rate of synthetic data.
    #[arg(long, default_value_t = synth::DEFAULT_FRAUD_RATE)]
    synthetic_fraud_rate: f64,
    /// Seed of the synthetic generator.
    #[arg(long, default_value_t = 7)]
    synthetic_seed: u64,
}

#[derive(Args, Clone)]
struct ProtocolArgs {
    /// Seed of the stratified split and of SMOTE.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of each class held out for validation (threshold and model choice).
    #[arg(long, default_value_t = 0.2)]
    validation_fraction: f64,
    /// Fraction of each class held out for the final test figures.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// SMOTE: nearest fraud neighbours to interpolate towards.
    #[arg(long, default_value_t = 5)]
    smote_k: usize,
    /// SMOTE: target frauds / legitimate ratio in the resampled train split (1.0 = balanced).
    #[arg(long, default_value_t = 1.0)]
    smote_ratio: f64,
    /// Inverse L2 regularisation strength, as scikit-learn's C.
    #[arg(long = "c", default_value_t = 1.0)]
    c: f64,
    /// The candidates to fit and compare on validation F1: baseline, smote, class_weighted (logistic
    /// regression), trees, trees_smote, trees_class_weighted (gradient-boosted trees).
    #[arg(long, value_delimiter = ',', default_values_t = CandidateKind::DEFAULT, value_parser = parse_candidate)]
    candidates: Vec<CandidateKind>,
    #[command(flatten)]
    trees: TreeArgs,
    #[command(flatten)]
    decision: DecisionArgs,
}

/// How scores become probabilities and decisions, and what decisions are worth.
///
/// An outcome's value is written `FIXED`, `RATE*amount` or `FIXED+RATE*amount`
/// (positive is money earned, in --currency); `amount` is the transaction's
/// amount column (--amount). The defaults are scikit-learn's cost-sensitive
/// example on the Kaggle file; without an amount column they are fixed: +50,
/// -100, -5, +1.
#[derive(Args, Clone)]
struct DecisionArgs {
    /// Calibration of every candidate's probabilities, fitted on validation: platt (logistic fit on
    /// the logit), prior (undo the base-rate shift of SMOTE and class weights analytically), none.
    #[arg(long, default_value = "platt", value_parser = parse_calibration)]
    calibration: CalibrationChoice,
    /// Decision policy served: auto (best net benefit on validation), f1 (F1-optimal threshold),
    /// net-benefit (the single threshold with the best net benefit), cost-optimal (per transaction:
    /// refuse when the expected value of refusing exceeds accepting, given its amount).
    #[arg(long, default_value = "auto", value_parser = parse_policy)]
    policy: PolicyChoice,
    /// Currency of the values below.
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// Value of refusing a fraud (true positive). [default: 50]
    #[arg(long, value_parser = policy::parse_benefit, allow_hyphen_values = true)]
    cost_refused_fraud: Option<Benefit>,
    /// Value of accepting a fraud (missed fraud). [default: -1*amount; -100 without an amount]
    #[arg(long, value_parser = policy::parse_benefit, allow_hyphen_values = true)]
    cost_accepted_fraud: Option<Benefit>,
    /// Value of refusing a legitimate transaction (false alarm). [default: -5]
    #[arg(long, value_parser = policy::parse_benefit, allow_hyphen_values = true)]
    cost_refused_legitimate: Option<Benefit>,
    /// Value of accepting a legitimate transaction. [default: 0.02*amount; 1 without an amount]
    #[arg(long, value_parser = policy::parse_benefit, allow_hyphen_values = true)]
    cost_accepted_legitimate: Option<Benefit>,
}

impl DecisionArgs {
    /// The costs given, the rest from the defaults for a schema with or without an amount.
    fn costs(&self, schema: &Schema) -> Costs {
        let defaults = Costs::default_for(schema);
        Costs {
            currency: self.currency.clone(),
            refused_fraud: self.cost_refused_fraud.unwrap_or(defaults.refused_fraud),
            accepted_fraud: self.cost_accepted_fraud.unwrap_or(defaults.accepted_fraud),
            refused_legitimate: self.cost_refused_legitimate.unwrap_or(defaults.refused_legitimate),
            accepted_legitimate: self.cost_accepted_legitimate.unwrap_or(defaults.accepted_legitimate),
        }
    }
}

fn parse_schema_kind(name: &str) -> Result<SchemaKind, String> {
    SchemaKind::from_name(name)
        .ok_or_else(|| format!("unknown schema {name:?}; choose from {}", SchemaKind::NAMES.join(", ")))
}

fn parse_calibration(name: &str) -> Result<CalibrationChoice, String> {
    CalibrationChoice::from_name(name)
        .ok_or_else(|| format!("unknown calibration {name:?}; choose platt, prior or none"))
}

fn parse_policy(name: &str) -> Result<PolicyChoice, String> {
    PolicyChoice::from_name(name)
        .ok_or_else(|| format!("unknown policy {name:?}; choose from {}", PolicyChoice::NAMES.join(", ")))
}

/// Options of the tree candidates (histogram gradient boosting, binary log-loss).
#[derive(Args, Clone)]
struct TreeArgs {
    /// Trees: boosting rounds at most (early stopping on validation log-loss usually ends sooner).
    #[arg(long, default_value_t = BoostOptions::default().rounds)]
    tree_rounds: usize,
    /// Trees: learning rate (shrinkage of every leaf value).
    #[arg(long, default_value_t = BoostOptions::default().learning_rate)]
    tree_learning_rate: f64,
    /// Trees: leaves per tree at most (leaf-wise growth, best gain first).
    #[arg(long, default_value_t = BoostOptions::default().max_leaves)]
    tree_max_leaves: usize,
    /// Trees: depth at most.
    #[arg(long, default_value_t = BoostOptions::default().max_depth)]
    tree_max_depth: usize,
    /// Trees: L2 penalty on leaf values.
    #[arg(long, default_value_t = BoostOptions::default().l2)]
    tree_l2: f64,
    /// Trees: minimum hessian (sum of p(1-p)) per leaf.
    #[arg(long, default_value_t = BoostOptions::default().min_child_hessian)]
    tree_min_child_hessian: f64,
    /// Trees: minimum rows per leaf.
    #[arg(long, default_value_t = BoostOptions::default().min_rows_leaf)]
    tree_min_rows_leaf: usize,
    /// Trees: fraction of the legitimate rows each round sees (all frauds always do; the sample is reweighted).
    #[arg(long, default_value_t = BoostOptions::default().neg_fraction)]
    tree_row_fraction: f64,
    /// Trees: fraction of the features each tree may split on.
    #[arg(long, default_value_t = BoostOptions::default().col_fraction)]
    tree_col_fraction: f64,
    /// Trees: quantile bins per feature at most (fitted on the train split only; <= 256).
    #[arg(long, default_value_t = BoostOptions::default().max_bins)]
    tree_max_bins: usize,
    /// Trees: stop when validation log-loss has not improved for this many rounds.
    #[arg(long, default_value_t = BoostOptions::default().early_stopping_rounds)]
    tree_early_stopping_rounds: usize,
}

impl TreeArgs {
    fn options(&self) -> BoostOptions {
        BoostOptions {
            rounds: self.tree_rounds,
            learning_rate: self.tree_learning_rate,
            max_leaves: self.tree_max_leaves,
            max_depth: self.tree_max_depth,
            l2: self.tree_l2,
            min_child_hessian: self.tree_min_child_hessian,
            min_rows_leaf: self.tree_min_rows_leaf,
            neg_fraction: self.tree_row_fraction,
            col_fraction: self.tree_col_fraction,
            max_bins: self.tree_max_bins,
            early_stopping_rounds: self.tree_early_stopping_rounds,
            ..BoostOptions::default()
        }
    }
}

fn parse_candidate(name: &str) -> Result<CandidateKind, String> {
    CandidateKind::from_name(name).ok_or_else(|| {
        let all: Vec<&str> = CandidateKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown candidate {name:?}; choose from {}", all.join(", "))
    })
}

impl ProtocolArgs {
    /// The protocol for `seed` on data of `schema` (the cost defaults depend on its amount column).
    fn config(&self, seed: u64, schema: &Schema) -> Config {
        Config {
            seed,
            validation_fraction: self.validation_fraction,
            test_fraction: self.test_fraction,
            smote_k: self.smote_k,
            smote_ratio: self.smote_ratio,
            c: self.c,
            candidates: self.candidates.clone(),
            boost: self.trees.options(),
            calibration: self.decision.calibration,
            policy: self.decision.policy,
            costs: self.decision.costs(schema),
        }
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    protocol: ProtocolArgs,
    /// Output folder for model.bin, model.json, report.json, report.html and replay.csv.
    #[arg(long, default_value = "model")]
    out: PathBuf,
    /// Repeat the protocol over these split seeds (e.g. 0,1,2,3,4) and print
    /// mean ± std per candidate instead of writing outputs.
    #[arg(long, value_delimiter = ',', value_name = "SEEDS")]
    seeds: Vec<u64>,
    /// With --seeds: also write every seed's figures per candidate as JSON here.
    #[arg(long, value_name = "FILE", requires = "seeds")]
    seeds_json: Option<PathBuf>,
}

#[derive(Args)]
struct SynthArgs {
    /// Where to write the CSV.
    #[arg(long)]
    out: PathBuf,
    /// Which columns: creditcard (Time, V1..V28, Amount, Class) or retail
    /// (transaction_id, twelve named features, is_fraud).
    #[arg(long, default_value = "creditcard", value_parser = parse_schema_kind)]
    schema: SchemaKind,
    /// Number of transactions.
    #[arg(long, default_value_t = synth::DEFAULT_ROWS)]
    rows: usize,
    /// Fraction of frauds.
    #[arg(long, default_value_t = synth::DEFAULT_FRAUD_RATE)]
    fraud_rate: f64,
    /// Generator seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    protocol: ProtocolArgs,
    /// Repetitions of each measurement (median and minimum are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Synth(args) => write_synthetic(args),
        Command::Bench(args) => bench(args),
        Command::Golden(args) => golden(args),
        Command::Splits(args) => write_splits(args),
        Command::BenchModel(args) => bench_model(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the dataset the user chose, or the default one.
fn load(args: &DataArgs) -> Result<(Dataset, Source, Duration)> {
    let t = Instant::now();
    let default = Path::new("data/creditcard.csv");
    let kind = args.synthetic_schema;
    let path = match &args.data {
        Some(p) => Some(p.clone()),
        None if default.exists() && kind == SchemaKind::Creditcard => Some(default.to_path_buf()),
        None => None,
    };
    let spec = dataset::Spec {
        features: match &args.features {
            Some(names) => dataset::Features::Named(names.clone()),
            None => dataset::Features::All,
        },
        label: args.label.clone().unwrap_or_else(|| {
            if path.is_some() { fraud_core::schema::DEFAULT_LABEL } else { kind.label() }.to_string()
        }),
        id: args.id.clone().or_else(|| if path.is_some() { None } else { kind.id().map(String::from) }),
    };
    if let dataset::Features::Named(names) = &spec.features {
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                bail!("--features lists {name:?} twice");
            }
            if *name == spec.label || Some(name) == spec.id.as_ref() {
                bail!("--features lists {name:?}, which is the label or the id column, never a feature");
            }
        }
    }
    let default_amount = if path.is_some() { fraud_core::schema::DEFAULT_AMOUNT } else { kind.amount() };
    let (loaded, source) = match path {
        Some(path) => {
            let loaded = load_with_hints(|amount| load_csv(&path, &spec, amount), args, &spec, default_amount)
                .with_context(|| format!("loading {}", path.display()))?;
            let source = Source { name: path.display().to_string(), sha256: loaded.sha256.clone(), synthetic: false };
            (loaded, source)
        }
        None => {
            tracing::warn!(
                "no dataset given{}: training on SYNTHETIC {} data (run `cargo xtask fetch-data` for the real file)",
                if kind == SchemaKind::Creditcard { " and data/creditcard.csv is absent" } else { "" },
                SchemaKind::NAMES[kind as usize],
            );
            let name = format!(
                "synthetic{}(rows={}, fraud_rate={}, seed={})",
                if kind == SchemaKind::Retail { "-retail" } else { "" },
                args.synthetic_rows,
                args.synthetic_fraud_rate,
                args.synthetic_seed
            );
            let csv = kind.generate_csv(args.synthetic_rows, args.synthetic_fraud_rate, args.synthetic_seed);
            let loaded = load_with_hints(|amount| load_bytes(&csv, &spec, amount), args, &spec, default_amount)
                .context("parsing synthetic data")?;
            let source = Source { name, sha256: loaded.sha256.clone(), synthetic: true };
            (loaded, source)
        }
    };
    let schema = &loaded.data.schema;
    match schema.amount_name() {
        Some(amount) => tracing::info!("amount column: {amount}"),
        None => tracing::warn!(
            "no amount column ({default_amount} is not among the features; name one with --amount): every cost is \
             fixed per outcome and the cost-optimal policy is unavailable"
        ),
    }
    tracing::info!(
        features = schema.len(),
        label = schema.label(),
        id = schema.id().unwrap_or("none"),
        "schema: {}",
        schema.describe()
    );
    let elapsed = t.elapsed();
    tracing::info!(
        rows = loaded.data.len(),
        frauds = loaded.data.frauds(),
        ms = format!("{:.0}", elapsed.as_secs_f64() * 1e3),
        "loaded {}",
        source.name
    );
    Ok((loaded.data, source, elapsed))
}

/// Loads with the amount column resolved (the named one, or the default when
/// the data has it) and errors that say what to do: a text column among the
/// default features is probably an id or a category.
fn load_with_hints(
    load: impl Fn(Option<&str>) -> Result<native_train::data::Loaded, LoadError>,
    args: &DataArgs,
    spec: &dataset::Spec,
    default_amount: &str,
) -> Result<native_train::data::Loaded> {
    let first = match &args.amount {
        Some(amount) => load(Some(amount)),
        None => load(Some(default_amount)),
    };
    let result = match first {
        // The default amount column is optional: without it, money is fixed per outcome.
        Err(LoadError::Schema(fraud_core::SchemaError::AmountNotFeature { .. })) if args.amount.is_none() => load(None),
        other => other,
    };
    result.map_err(|e| {
        let hint = match &e {
            LoadError::Csv(dataset::CsvError::Value {
                column, problem: dataset::ValueProblem::NotNumeric(_), ..
            }) if spec.features == dataset::Features::All && *column != spec.label => {
                format!(
                    " (every column but the label {:?} is a feature unless --features says otherwise: leave {column:?} \
                     out with --features, or name it with --id if it identifies the transaction)",
                    spec.label
                )
            }
            LoadError::Csv(dataset::CsvError::Header { missing, .. }) if missing.contains(&spec.label) => {
                format!(" (name the label column with --label; it is {:?} now)", spec.label)
            }
            _ => String::new(),
        };
        anyhow::anyhow!("{e}{hint}")
    })
}

fn progress(hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn train(args: TrainArgs) -> Result<()> {
    let (data, source, load_time) = load(&args.data)?;
    if !args.seeds.is_empty() {
        return multi_seed(&data, &source, &args);
    }
    let cfg = args.protocol.config(args.protocol.seed, &data.schema);
    let bar = progress(false);
    let outcome = run(&data, &source, &cfg, &bar)?;
    bar.finish_and_clear();
    drop(data);
    let t = Instant::now();
    let written = write_outputs(&args.out, &outcome, &cfg, load_time.as_secs_f64())?;
    tracing::info!(ms = format!("{:.0}", t.elapsed().as_secs_f64() * 1e3), "wrote {}", args.out.display());
    print_summary(&outcome, &source);
    println!(
        "\nartifact  {} ({} bytes, model id {})\nreport    {}\nreplay    {} ({} test rows in file order)",
        written.artifact.display(),
        written.artifact_bytes,
        written.model_id,
        written.report_html.display(),
        written.replay.display(),
        outcome.replay.len()
    );
    Ok(())
}

fn print_summary(outcome: &Outcome, source: &Source) {
    println!(
        "\nData: {}{}  |  split seed {}",
        source.name,
        if source.synthetic { " (SYNTHETIC)" } else { "" },
        outcome.artifact.provenance.seed
    );
    let widths = [20, 11, 12, 7, 7, 7, 7, 7, 7, 12, 21, 10, 10, 8];
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
            out.push_str(&if k == 0 { format!("{cell:<w$}") } else { format!(" {cell:>w$}") });
        }
        out
    };
    println!("{}", line(&CANDIDATE_COLUMNS.map(String::from)));
    for (i, c) in outcome.candidates.iter().enumerate() {
        println!("{}{}", line(&candidate_cells(c)), if i == outcome.selected { "  ← selected" } else { "" });
    }
    let chosen = &outcome.candidates[outcome.selected];
    let t = &chosen.test;
    println!(
        "Test confusion (selected, at its F1 threshold): TP {}  FP {}  TN {}  FN {}",
        t.true_positives, t.false_positives, t.true_negatives, t.false_negatives
    );
    let cal = &chosen.calibration_test;
    let c = chosen.model.calibration();
    println!(
        "Calibration ({}: sigmoid({:.4}·logit {:+.4})): on test {:.1} expected frauds, {} observed; Brier {:.6}, log-loss {:.5}",
        c.method.as_str(),
        c.slope,
        c.intercept,
        cal.expected_frauds,
        cal.observed_frauds,
        cal.brier,
        cal.log_loss
    );
    let currency = &chosen.model.costs().currency;
    println!("\nMoney on test (selected model; each policy chosen on validation):");
    println!(
        "{:<24} {:>14} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>14}",
        "policy", "net benefit", "vs accept all", "stopped", "amount", "missed", "amount", "alarms", "alarm cost"
    );
    for p in &chosen.policies {
        let m = |x: f64| format_money(x, currency);
        println!(
            "{:<24} {:>14} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>14}{}",
            policy_label(p.policy),
            m(p.test.net_benefit),
            m(p.test.gain_over_accept_all()),
            p.test.frauds_stopped,
            m(p.test.stopped_amount),
            p.test.frauds_missed,
            m(p.test.missed_amount),
            p.test.false_alarms,
            m(p.test.false_alarm_cost),
            if p.policy == chosen.model.policy() { "  ← served" } else { "" }
        );
    }
    if let Some(p) = chosen.policies.first() {
        println!("{:<24} {:>14}", "accept everything", format_money(p.test.accept_all, currency));
        println!("{:<24} {:>14}", "refuse everything", format_money(p.test.refuse_all, currency));
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var.sqrt())
}

/// One seed's run: the seed, every candidate, the selected one's index.
type SeedRun = (u64, Vec<Candidate>, usize);

fn multi_seed(data: &Dataset, source: &Source, args: &TrainArgs) -> Result<()> {
    let bar = progress(false);
    let mut runs: Vec<SeedRun> = Vec::new();
    for &seed in &args.seeds {
        bar.set_prefix(format!("seed {seed}"));
        bar.set_position(0);
        let outcome = run(data, source, &args.protocol.config(seed, &data.schema), &bar)
            .with_context(|| format!("seed {seed}"))?;
        runs.push((seed, outcome.candidates, outcome.selected));
    }
    bar.finish_and_clear();
    println!(
        "\n{} split seeds {:?} on {}{} (mean ± sample std)\n",
        runs.len(),
        args.seeds,
        source.name,
        if source.synthetic { " (SYNTHETIC)" } else { "" }
    );
    println!(
        "| candidate | test AP | test F1 | test precision | test recall | test ROC-AUC | val F1 | fit | selected |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let names: Vec<&str> = runs[0].1.iter().map(|c| c.name()).collect();
    for (k, name) in names.iter().enumerate() {
        let col = |f: &dyn Fn(&Candidate) -> f64| {
            let (m, s) = mean_std(&runs.iter().map(|(_, c, _)| f(&c[k])).collect::<Vec<_>>());
            format!("{m:.3} ± {s:.3}")
        };
        let selected = runs.iter().filter(|(_, _, s)| *s == k).count();
        let fit_times: Vec<f64> = runs.iter().map(|(_, c, _)| c[k].fit_time.as_secs_f64()).collect();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {:.2} s | {selected}/{} |",
            col(&|c| c.test.average_precision),
            col(&|c| c.test.f1),
            col(&|c| c.test.precision),
            col(&|c| c.test.recall),
            col(&|c| c.test.roc_auc),
            col(&|c| c.validation.f1),
            median(fit_times),
            runs.len()
        );
    }
    let sel: Vec<f64> = runs.iter().map(|(_, c, s)| c[*s].test.f1).collect();
    let sel_ap: Vec<f64> = runs.iter().map(|(_, c, s)| c[*s].test.average_precision).collect();
    let (f, fs) = mean_std(&sel);
    let (a, as_) = mean_std(&sel_ap);
    println!("| **selected** | {a:.3} ± {as_:.3} | {f:.3} ± {fs:.3} | | | | | | |");
    let currency = runs[0].1[0].model.costs().currency.clone();
    println!(
        "\nCalibration and money on test ({currency}; net benefit of each policy, thresholds chosen on validation):\n"
    );
    println!(
        "| candidate | expected / observed frauds | Brier | F1 threshold | net-benefit threshold | cost-optimal | served policy | accept everything | refuse everything |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let money_row = |label: &str, pick: &dyn Fn(&SeedRun) -> &Candidate| {
        let col = |f: &dyn Fn(&Candidate) -> f64, digits: usize| {
            let (m, s) = mean_std(&runs.iter().map(|r| f(pick(r))).collect::<Vec<_>>());
            format!("{m:.digits$} ± {s:.digits$}")
        };
        let policy = |p: fraud_core::Policy| {
            move |c: &Candidate| c.policies.iter().find(|r| r.policy == p).map_or(f64::NAN, |r| r.test.net_benefit)
        };
        let served: Vec<&str> = runs.iter().map(|r| pick(r).model.policy().as_str()).collect();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for name in served {
            match counts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k += 1,
                None => counts.push((name, 1)),
            }
        }
        let counts: Vec<String> = counts.iter().map(|(n, k)| format!("{n} ×{k}")).collect();
        println!(
            "| {label} | {} / {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
            col(&|c| c.calibration_test.expected_frauds, 1),
            col(&|c| c.calibration_test.observed_frauds as f64, 1),
            col(&|c| c.calibration_test.brier, 6),
            col(&policy(fraud_core::Policy::F1Threshold), 0),
            col(&policy(fraud_core::Policy::NetBenefitThreshold), 0),
            col(&policy(fraud_core::Policy::CostOptimal), 0),
            col(&|c| c.served_policy().map_or(f64::NAN, |r| r.test.net_benefit), 0),
            counts.join(", "),
            col(&|c| c.policies.first().map_or(f64::NAN, |r| r.test.accept_all), 0),
            col(&|c| c.policies.first().map_or(f64::NAN, |r| r.test.refuse_all), 0),
        );
    };
    for (k, name) in names.iter().enumerate() {
        money_row(name, &|r| &r.1[k]);
    }
    money_row("**selected**", &|r| &r.1[r.2]);
    if let Some(path) = &args.seeds_json {
        let per_seed: Vec<serde_json::Value> = runs
            .iter()
            .map(|(seed, candidates, selected)| {
                serde_json::json!({
                    "seed": seed,
                    "selected": candidates[*selected].name(),
                    "candidates": candidates.iter().map(|c| serde_json::json!({
                        "name": c.name(),
                        "fit_seconds": c.fit_time.as_secs_f64(),
                        "validation_f1": c.validation.f1,
                        "test": c.test.to_wire(),
                        "policy": c.model.policy().as_str(),
                        "calibration_test": c.calibration_test.to_wire(),
                        "policies": c.policies.iter().map(|p| p.to_wire()).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&serde_json::json!({ "runs": per_seed }))?;
        native_train::output::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn write_splits(args: SplitsArgs) -> Result<()> {
    let (data, source, _) = load(&args.data)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    for &seed in &args.seeds {
        let split = native_train::split::stratified_split(&data.y, args.validation_fraction, args.test_fraction, seed);
        let text = serde_json::to_string(&serde_json::json!({
            "seed": seed,
            "dataset": source.name,
            "dataset_sha256": source.sha256,
            "train": split.train,
            "validation": split.validation,
            "test": split.test,
        }))?;
        let path = args.out.join(format!("split-{seed}.json"));
        native_train::output::write_atomic(&path, |w| std::io::Write::write_all(w, text.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} split(s) of {} rows into {}", args.seeds.len(), data.len(), args.out.display());
    Ok(())
}

fn write_synthetic(args: SynthArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.fraud_rate) {
        bail!("--fraud-rate must be in [0, 1], got {}", args.fraud_rate);
    }
    let csv = args.schema.generate_csv(args.rows, args.fraud_rate, args.seed);
    native_train::output::write_atomic(&args.out, |w| std::io::Write::write_all(w, &csv))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {} ({} rows, {} bytes)", args.out.display(), args.rows, csv.len());
    Ok(())
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

fn bench(args: BenchArgs) -> Result<()> {
    let runs = args.runs.max(1);
    let out = std::env::temp_dir().join(format!("native-train-bench-{}", std::process::id()));
    let mut load_ms = Vec::new();
    let mut total_ms = Vec::new();
    let mut stage_ms: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut last: Option<(Outcome, Source)> = None;
    let mut first_run_peak = None;
    for r in 0..runs {
        let t = Instant::now();
        let (data, source, load_time) = load(&args.data)?;
        let cfg = args.protocol.config(args.protocol.seed, &data.schema);
        let outcome = run(&data, &source, &cfg, &ProgressBar::hidden())?;
        drop(data);
        let te = Instant::now();
        write_outputs(&out, &outcome, &cfg, load_time.as_secs_f64())?;
        let export = te.elapsed();
        total_ms.push(t.elapsed().as_secs_f64() * 1e3);
        load_ms.push(load_time.as_secs_f64() * 1e3);
        for (k, (name, d)) in outcome.timings.iter().chain([&("export", export)]).enumerate() {
            if r == 0 {
                stage_ms.push((name, Vec::new()));
            }
            stage_ms[k].1.push(d.as_secs_f64() * 1e3);
        }
        if r == 0 {
            // Later runs overlap the previous run's results with the next load; the first is what `train` costs.
            first_run_peak = peak_rss_mb();
        }
        last = Some((outcome, source));
    }
    let _ = std::fs::remove_dir_all(&out);
    let Some((outcome, source)) = last else { bail!("no runs") };
    println!(
        "\nPipeline on {}{} — {runs} runs, median (min)",
        source.name,
        if source.synthetic { " (SYNTHETIC)" } else { "" }
    );
    let (m, n) = stats(load_ms);
    println!("  {:<22} {m:>8.1} ms ({n:.1})", "load CSV + SHA-256");
    for (name, v) in stage_ms {
        let (m, n) = stats(v);
        println!("  {:<22} {m:>8.1} ms ({n:.1})", name);
    }
    let (m, n) = stats(total_ms);
    println!("  {:<22} {m:>8.1} ms ({n:.1})   target <= 2000 ms", "WHOLE PIPELINE");
    if let Some(mb) = first_run_peak {
        println!("  {:<22} {mb:>8.1} MB          target <= 400 MB (first run)", "peak RSS (VmHWM)");
    }
    for c in &outcome.candidates {
        let how = match &c.training {
            fraud_core::Training::Logistic(l) => {
                format!("{} Newton iterations, max|grad| {:.1e}", l.iterations, l.max_gradient)
            }
            fraud_core::Training::Trees(t) => format!("{} trees kept of {} boosted", t.rounds, t.rounds_run),
        };
        println!("  fit {:<22} {} rows, {how}, {:.0} ms", c.name(), c.rows_fitted, c.fit_time.as_secs_f64() * 1e3);
    }

    // Core scoring on the test split's raw rows.
    let model: Model = outcome.artifact.model()?;
    scoring_bench(&model, &native_train::data::rows_of(outcome.replay.x.view()), runs)
}

/// Times `core` on `rows` (row-major): one transaction at a time, the batch
/// API, and one explanation (TreeSHAP for trees). Prints medians and minima.
fn scoring_bench(model: &Model, rows: &[f64], runs: usize) -> Result<()> {
    let chunks: Vec<&[f64]> = rows.chunks_exact(model.width()).collect();
    let transactions = chunks.iter().map(|x| model.transaction(x)).collect::<Result<Vec<_>, _>>()?;
    let n = chunks.len();
    let mut single = Vec::new();
    let mut batch = Vec::new();
    let mut explain = Vec::new();
    let mut probs = vec![0.0; n];
    let explained = n.min(2_000);
    for _ in 0..runs.max(5) {
        let t = Instant::now();
        let mut acc = 0.0;
        for x in &chunks {
            acc += model.probability(black_box(x));
        }
        black_box(acc);
        single.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let t = Instant::now();
        model.score_batch(black_box(rows), &mut probs)?;
        black_box(&probs);
        batch.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let t = Instant::now();
        for t in &transactions[..explained] {
            black_box(model.explain(black_box(t), model.width()));
        }
        explain.push(t.elapsed().as_secs_f64() * 1e9 / explained as f64);
    }
    let what = match model.scorer() {
        fraud_core::Scorer::Logistic(_) => "logistic".to_string(),
        fraud_core::Scorer::Trees(t) => format!("{} trees, depth <= {}", t.len(), t.max_depth()),
    };
    let (targets_single, targets_batch, targets_explain) = match model.kind() {
        fraud_core::ModelKind::Logistic => ("<= 50 ns", "<= 20 ns", ""),
        fraud_core::ModelKind::Trees => ("<= 1000 ns (150 trees)", "<= 200 ns (150 trees)", "<= 100000 ns"),
    };
    println!("\nCore scoring ({what}) over {n} test rows, median (min)");
    let (m, n_) = stats(single);
    println!("  {:<22} {m:>8.1} ns ({n_:.1})   target {targets_single}", "one transaction");
    let (m, n_) = stats(batch);
    println!(
        "  {:<22} {m:>8.1} ns ({n_:.1})   target {targets_batch} (includes validating each row)",
        "batch, per row"
    );
    let (m, n_) = stats(explain);
    println!("  {:<22} {m:>8.1} ns ({n_:.1})   {targets_explain}", "explain (all features)");
    Ok(())
}

fn bench_model(args: BenchModelArgs) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
    let (_, model) = fraud_core::Artifact::load(&bytes).with_context(|| format!("loading {}", args.model.display()))?;
    let replay = dataset::read_csv(&args.replay, &dataset::Spec::of_schema(model.schema()))
        .with_context(|| format!("loading {}", args.replay.display()))?;
    println!("{} ({} bytes)", args.model.display(), bytes.len());
    scoring_bench(&model, replay.values(), args.runs)
}

fn golden(args: GoldenArgs) -> Result<()> {
    let bytes = std::fs::read(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
    let (_, model) = fraud_core::Artifact::load(&bytes).with_context(|| format!("loading {}", args.model.display()))?;
    // The replay's features in the model's order; its id column is not needed here.
    let spec = dataset::Spec { id: None, ..dataset::Spec::of_schema(model.schema()) };
    let replay =
        dataset::read_csv(&args.replay, &spec).with_context(|| format!("loading {}", args.replay.display()))?;
    let mut probabilities = vec![0.0; replay.len()];
    model.score_batch(replay.values(), &mut probabilities)?;
    let mut decisions = vec![false; probabilities.len()];
    model.decide_batch(replay.values(), &probabilities, &mut decisions);
    let text = native_train::output::golden_csv(&fraud_core::artifact::model_id(&bytes), &probabilities, &decisions);
    native_train::output::write_atomic(&args.out, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("writing {}", args.out.display()))?;
    let flagged = decisions.iter().filter(|&&d| d).count();
    println!("wrote {} ({} rows, {} flagged)", args.out.display(), probabilities.len(), flagged);
    Ok(())
}
