//! `native-train`, the command line: its arguments (clap) and the library
//! function each command calls. What the commands do lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use fraud_core::{Benefit, Costs, Schema};
use native_train::boost::BoostOptions;
use native_train::calibrate::CalibrationChoice;
use native_train::experiments::{self, Experiment};
use native_train::input::{self, DataChoice, ScoringFiles};
use native_train::output::SplitFiles;
use native_train::pipeline::{CandidateKind, Config};
use native_train::policy::{self, PolicyChoice};
use native_train::synth::{self, SchemaKind, Synthetic};
use native_train::{bench, golden};

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
    /// Write a synthetic dataset: the real file's schema and header style,
    /// (--schema retail) a retail team's own twelve named features with an id column,
    /// or (--schema payments) a payments table with text columns and empty cells.
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
    /// Import an XGBoost or LightGBM model exactly: every runtime then computes
    /// the library's own margin bit for bit, with exact TreeSHAP.
    ///
    /// XGBoost: binary:logistic gbtree models with numeric splits, saved as JSON
    /// or UBJSON by 1.x, 2.x or 3.x. LightGBM: binary models with numeric splits
    /// in the v4 text format. Anything else (dart, gblinear, categorical splits,
    /// linear trees, multiclass, other objectives) is refused by name.
    /// Without --data the artifact is the model as it was: the library's
    /// probability and --threshold. With --data (labelled rows the model was not
    /// trained on) it is calibrated, its policy and thresholds chosen and its
    /// figures measured as `train` does; report, replay and golden files written.
    Import(ImportArgs),
    /// Run a rules file over labelled transactions before it goes live: per rule,
    /// what it decided (frauds, legitimate, amounts, reviews and their cost, net
    /// benefit), the totals against --baseline (another rules file; default the
    /// model alone) and which transactions changed action. Console table, --json, --html.
    ///
    /// With --from-log instead of --rules and --data: champion against challenger on the
    /// decisions `fraud-server --shadow` logged, once labelled — each one's average
    /// precision, the money its actions made under --model's costs, and which
    /// transactions would have changed action.
    Backtest(BacktestArgs),
    /// Put a model (its model.bin, and its rules and lists) into the fleet's NATS JetStream
    /// object store: every `fraud-server --model-from` and `fraud-consumer --model-from` on
    /// that bucket switches to it within seconds. Checked first as they check it (the artifact
    /// decoded, the rules compiled against it): what they would refuse is not published.
    Publish(PublishArgs),
}

#[derive(Args)]
struct PublishArgs {
    /// The model folder (written by `train`; its model.bin) or an artifact file.
    model: PathBuf,
    /// The fleet's bucket: nats://host:port/bucket (bucket default: fraud-models; created if missing).
    #[arg(long, value_name = "nats://host:port/bucket")]
    nats: String,
    /// The rules file published with it (default: rules.txt in the model folder, if there is one).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The rules' lists folder (`NAME.txt` is `@NAME`; default: lists/ beside the rules file).
    #[arg(long, requires = "rules")]
    lists: Option<PathBuf>,
}

#[derive(Args)]
struct BacktestArgs {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// The rules file under test.
    #[arg(long, required_unless_present = "from_log", conflicts_with = "from_log")]
    rules: Option<PathBuf>,
    /// The rules file it would replace (default: the model alone decides).
    #[arg(long, conflicts_with = "from_log")]
    baseline: Option<PathBuf>,
    /// Labelled transactions with the model's columns (and its label column).
    #[arg(long, required_unless_present = "from_log", conflicts_with = "from_log")]
    data: Option<PathBuf>,
    /// Compare champion and challenger on a decision log (a SQLite file or a postgres:// URL)
    /// written by `fraud-server --shadow`: labelled decisions, and unlabelled ones older than
    /// --maturity (counted legitimate). --model then only prices the decisions (its costs).
    #[arg(long, value_name = "PATH|postgres://…")]
    from_log: Option<String>,
    /// With --from-log: unlabelled decisions older than this count as legitimate (`90d`, `12h`).
    #[arg(long, default_value = "90d", value_parser = native_train::from_log::parse_maturity, requires = "from_log")]
    maturity: i64,
    /// The rules' lists folder (`NAME.txt` is `@NAME`; default: `lists/` beside each rules file).
    #[arg(long)]
    lists: Option<PathBuf>,
    /// The label column (default: the model's, e.g. Class).
    #[arg(long)]
    label: Option<String>,
    /// The id column `:id:` reads (default: the model's id column, when the file has it).
    #[arg(long)]
    id: Option<String>,
    /// What one manual review costs, in the model's currency.
    #[arg(long, default_value_t = fraud_core::DEFAULT_REVIEW_COST)]
    cost_review: f64,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page here (not with --from-log).
    #[arg(long, conflicts_with = "from_log")]
    html: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("model_file").required(true).args(["xgboost", "lightgbm"])))]
struct ImportArgs {
    /// An XGBoost model file (`Booster.save_model`): `.json` or `.ubj`.
    #[arg(long, value_name = "FILE")]
    xgboost: Option<PathBuf>,
    /// A LightGBM model file (`Booster.save_model`, text).
    #[arg(long, value_name = "FILE")]
    lightgbm: Option<PathBuf>,
    /// Output folder for model.bin and model.json (and, with --data, the reports, replay and golden files).
    #[arg(long, default_value = "model")]
    out: PathBuf,
    /// Feature names in the model's column order, instead of the file's (XGBoost's default: f0, f1, …).
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    features: Option<Vec<String>>,
    /// Without --data: refuse when the probability is at least this.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// The feature money is proportional to. [default: a feature named Amount, else amount]
    #[arg(long, value_name = "COLUMN")]
    amount: Option<String>,
    /// Labelled rows to calibrate, choose the policy and measure on: a CSV with the model's feature columns.
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,
    /// The label column of --data.
    #[arg(long, value_name = "COLUMN", default_value = "Class")]
    label: String,
    /// An id column of --data, carried into the replay file.
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
    /// With --data: seed of the stratified split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// With --data: share of the rows (per class) that fit the calibration and
    /// choose the policy; the rest are the test rows.
    #[arg(long, default_value_t = 0.5)]
    validation_fraction: f64,
    #[command(flatten)]
    decision: DecisionArgs,
}

impl ImportArgs {
    fn command(self) -> native_train::import::command::ImportCommand {
        use native_train::import::{ImportOptions, Library};
        let model = match (self.xgboost, self.lightgbm) {
            (Some(p), _) => (Library::Xgboost, p),
            (None, Some(p)) => (Library::Lightgbm, p),
            // clap's group requires one of them.
            (None, None) => (Library::Xgboost, PathBuf::new()),
        };
        let options = ImportOptions {
            features: self.features,
            amount: self.amount,
            label: self.label,
            id: self.id,
            threshold: self.threshold,
        };
        let config = Config {
            seed: self.seed,
            validation_fraction: self.validation_fraction,
            test_fraction: 1.0 - self.validation_fraction,
            calibration: self.decision.calibration,
            policy: self.decision.policy,
            bands: self.decision.bands(),
            ..Config::default()
        };
        let decision = self.decision;
        let costs = Box::new(move |schema: &Schema| decision.costs(schema));
        native_train::import::command::ImportCommand { model, options, data: self.data, config, costs, out: self.out }
    }
}

/// An artifact and rows to score with it.
#[derive(Args)]
struct ScoringArgs {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Rows to score: a CSV with the model's feature columns (the trainer's replay file by default).
    #[arg(long, default_value = "model/replay.csv")]
    replay: PathBuf,
}

impl ScoringArgs {
    fn files(self) -> ScoringFiles {
        ScoringFiles { model: self.model, replay: self.replay }
    }
}

#[derive(Args)]
struct BenchModelArgs {
    #[command(flatten)]
    files: ScoringArgs,
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
    #[command(flatten)]
    fractions: FractionArgs,
    /// Folder for split-SEED.json (0-based indices of the CSV's data rows).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct GoldenArgs {
    #[command(flatten)]
    files: ScoringArgs,
    /// Where to write the golden file.
    #[arg(long, default_value = "model/golden.csv")]
    out: PathBuf,
    /// A rules file deciding over the model: the golden file's `action` and
    /// `rule` columns are its (without one, the model decides every row).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// The rules' lists folder (default: `lists/` beside the rules file).
    #[arg(long, value_name = "DIR", requires = "rules")]
    lists: Option<PathBuf>,
}

/// Which data to train on, and what its columns are.
///
/// Any CSV with a header works: every column but the label and the id is a
/// feature (or the ones --features names); at most 256. A column of text is
/// categorical (its vocabulary learned on the train split, see
/// --min-category-count), and so is a numeric one named by --categorical; an
/// empty cell is a missing value. The schema — feature names, order and kinds,
/// label, id and amount columns — goes into the artifact, and every runtime
/// validates requests against it.
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
    /// a feature named Amount, else one named amount; without one, every
    /// cost is fixed per outcome and the cost-optimal policy is unavailable]
    #[arg(long, value_name = "COLUMN")]
    amount: Option<String>,
    /// Numeric columns to use as categories (e.g. a merchant category code;
    /// requests then send them as JSON numbers). Text columns always are.
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    categorical: Vec<String>,
    /// Schema of synthetic data: creditcard (the Kaggle file's 30 columns),
    /// retail (a dozen named features and an id column) or payments (text
    /// columns and empty cells); retail and payments are used even when
    /// data/creditcard.csv exists.
    #[arg(long, default_value = "creditcard", value_parser = parse_schema_kind)]
    synthetic_schema: SchemaKind,
    /// Rows of synthetic data, when training on synthetic data.
    #[arg(long, default_value_t = synth::DEFAULT_ROWS)]
    synthetic_rows: usize,
    /// Fraud rate of synthetic data [default: 0.00172; 0.02 for payments].
    #[arg(long)]
    synthetic_fraud_rate: Option<f64>,
    /// Seed of the synthetic generator.
    #[arg(long, default_value_t = 7)]
    synthetic_seed: u64,
}

impl DataArgs {
    fn choice(&self) -> DataChoice {
        DataChoice {
            path: self.data.clone(),
            label: self.label.clone(),
            features: self.features.clone(),
            id: self.id.clone(),
            amount: self.amount.clone(),
            categorical: self.categorical.clone(),
            synthetic: Synthetic {
                schema: self.synthetic_schema,
                rows: self.synthetic_rows,
                fraud_rate: self.synthetic_fraud_rate.unwrap_or(self.synthetic_schema.default_fraud_rate()),
                seed: self.synthetic_seed,
            },
        }
    }
}

/// How the stratified split divides each class.
#[derive(Args, Clone)]
struct FractionArgs {
    /// Fraction of each class held out for validation (threshold and model choice).
    #[arg(long, default_value_t = 0.2)]
    validation_fraction: f64,
    /// Fraction of each class held out for the final test figures.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
}

#[derive(Args, Clone)]
struct ProtocolArgs {
    /// Seed of the stratified split and of SMOTE.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    fractions: FractionArgs,
    /// SMOTE: nearest fraud neighbours to interpolate towards.
    #[arg(long, default_value_t = 5)]
    smote_k: usize,
    /// SMOTE: target frauds / legitimate ratio in the resampled train split (1.0 = balanced).
    #[arg(long, default_value_t = 1.0)]
    smote_ratio: f64,
    /// Inverse L2 regularisation strength, as scikit-learn's C.
    #[arg(long = "c", default_value_t = 1.0)]
    c: f64,
    /// Train rows a category needs to keep its own code; rarer ones, and any
    /// unseen when scored, share the "other" code. At most the 255 most
    /// frequent are kept.
    #[arg(long, default_value_t = 5)]
    min_category_count: usize,
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
    /// What one manual review costs (an analyst's time), in --currency. A review settles the
    /// transaction correctly; the proposed rules.txt sends the uncertain middle to review.
    #[arg(long, default_value_t = fraud_core::DEFAULT_REVIEW_COST)]
    cost_review: f64,
    /// Most transactions the proposed review band may hold, as a share: `0.5%` or `0.005`.
    #[arg(long, default_value = "0.5%", value_parser = native_train::bands::parse_capacity)]
    review_capacity: f64,
}

impl DecisionArgs {
    /// The review band's settings.
    fn bands(&self) -> native_train::bands::BandOptions {
        native_train::bands::BandOptions { review_cost: self.cost_review, review_capacity: self.review_capacity }
    }

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
    /// The protocol on data of `schema` (the cost defaults depend on its amount column).
    fn config(&self, schema: &Schema) -> Config {
        Config {
            seed: self.seed,
            validation_fraction: self.fractions.validation_fraction,
            test_fraction: self.fractions.test_fraction,
            smote_k: self.smote_k,
            smote_ratio: self.smote_ratio,
            c: self.c,
            candidates: self.candidates.clone(),
            boost: self.trees.options(),
            calibration: self.decision.calibration,
            policy: self.decision.policy,
            costs: self.decision.costs(schema),
            vocabulary: native_train::tabular::VocabularyOptions { min_count: self.min_category_count.max(1) },
            bands: self.decision.bands(),
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
    /// Train on what was served instead of --data: the decision log's feature values (as
    /// received) joined with their labels (`fraud-server --decision-log`; a SQLite file or a
    /// postgres:// URL). The columns are the logged model's; counts go to OUT/from-log.json.
    #[arg(long, value_name = "DB|postgres://…", conflicts_with = "data")]
    from_log: Option<String>,
    /// With --from-log: a decision older than this without a fraud label counts as legitimate;
    /// younger unlabelled ones are left out (and counted). `90d`, `12h`, `30m`, `45s`.
    #[arg(long, default_value = "90d", value_parser = native_train::from_log::parse_maturity, requires = "from_log")]
    maturity: i64,
    /// With --from-log: whose decisions (a model id; with it, every model with the same features).
    /// Default: the model of the latest decision.
    #[arg(long, value_name = "MODEL_ID", requires = "from_log")]
    from_log_model: Option<String>,
}

#[derive(Args)]
struct SynthArgs {
    /// Where to write the CSV.
    #[arg(long)]
    out: PathBuf,
    /// Which columns: creditcard (Time, V1..V28, Amount, Class), retail
    /// (transaction_id, twelve named features, is_fraud) or payments
    /// (payment_id, text columns and empty cells, is_fraud).
    #[arg(long, default_value = "creditcard", value_parser = parse_schema_kind)]
    schema: SchemaKind,
    /// Number of transactions.
    #[arg(long, default_value_t = synth::DEFAULT_ROWS)]
    rows: usize,
    /// Fraction of frauds [default: 0.00172; 0.02 for payments].
    #[arg(long)]
    fraud_rate: Option<f64>,
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
    let result = match Cli::parse().command {
        Command::Train(args) => train(args),
        Command::Synth(args) => Synthetic {
            schema: args.schema,
            rows: args.rows,
            fraud_rate: args.fraud_rate.unwrap_or(args.schema.default_fraud_rate()),
            seed: args.seed,
        }
        .write_file(&args.out),
        Command::Bench(args) => bench::pipeline(&args.data.choice(), |schema| args.protocol.config(schema), args.runs),
        Command::Golden(args) => {
            let rules = args.rules.map(|rules| fraud_core::rules::RulesFiles { rules, lists: args.lists });
            golden::write(&args.files.files(), rules.as_ref(), &args.out)
        }
        Command::Splits(args) => splits(args),
        Command::BenchModel(args) => bench::model(&args.files.files(), args.runs),
        Command::Import(args) => native_train::import::command::run(&args.command()),
        Command::Publish(a) => native_train::publish::run(&native_train::publish::PublishCommand {
            model: a.model,
            rules: a.rules,
            lists: a.lists,
            nats: a.nats,
        })
        .map(|_| ()),
        Command::Backtest(a) if a.from_log.is_some() => native_train::challenge::run(
            &native_train::challenge::FromLogBacktest {
                target: a.from_log.unwrap_or_default(),
                model: a.model,
                maturity_ms: a.maturity,
                review_cost: a.cost_review,
                json: a.json,
            },
            decision_log::now_ms(),
        )
        .map(|_| ()),
        Command::Backtest(a) => native_train::backtest::run(&native_train::backtest::BacktestCommand {
            model: a.model,
            rules: a.rules.unwrap_or_default(),
            baseline: a.baseline,
            data: a.data.unwrap_or_default(),
            lists: a.lists,
            label: a.label,
            id: a.id,
            review_cost: a.cost_review,
            json: a.json,
            html: a.html,
        })
        .map(|_| ()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One run written to `--out`, or with `--seeds` the comparison over seeds.
fn train(args: TrainArgs) -> Result<()> {
    if let Some(target) = &args.from_log {
        return train_from_log(&args, target);
    }
    let input = input::load(&args.data.choice())?;
    let config = args.protocol.config(&input.data.schema);
    if args.seeds.is_empty() {
        native_train::train::train_and_write(input, &config, &args.out)
    } else {
        experiments::run_seeds(&input, &Experiment { seeds: args.seeds, config, json: args.seeds_json })
    }
}

/// `train --from-log`: the log's rows, then the usual protocol; the counts to OUT/from-log.json.
fn train_from_log(args: &TrainArgs, target: &str) -> Result<()> {
    use native_train::from_log::{self, FromLog};
    let from = FromLog { target: target.to_string(), maturity_ms: args.maturity, model: args.from_log_model.clone() };
    let (input, exported) = from_log::load(&from, &args.data.choice(), &args.out, decision_log::now_ms())?;
    let config = args.protocol.config(&input.data.schema);
    if args.seeds.is_empty() {
        native_train::train::train_and_write(input, &config, &args.out)?;
    } else {
        experiments::run_seeds(
            &input,
            &Experiment { seeds: args.seeds.clone(), config, json: args.seeds_json.clone() },
        )?;
    }
    let json_path = args.out.join("from-log.json");
    let json = serde_json::to_vec_pretty(&exported).context("from-log.json")?;
    std::fs::write(&json_path, json).with_context(|| format!("cannot write {}", json_path.display()))?;
    Ok(())
}

fn splits(args: SplitsArgs) -> Result<()> {
    let input = input::load(&args.data.choice())?;
    let files = SplitFiles {
        seeds: args.seeds,
        validation_fraction: args.fractions.validation_fraction,
        test_fraction: args.fractions.test_fraction,
        out: args.out,
    };
    files.write(&input.data, &input.source)
}
