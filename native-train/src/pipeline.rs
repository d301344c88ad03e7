//! The training protocol, end to end on an in-memory dataset:
//! stratified split → scaler fitted on train → SMOTE on scaled train →
//! candidate fits (logistic on scaled rows, boosted trees on raw rows with
//! early stopping on validation) → per-candidate calibration map, F1-optimal
//! and net-benefit-optimal thresholds and policy choice, all on validation →
//! selection by validation F1 → test metrics and money → artifact.
//!
//! Validation and test rows are scored by `fraud_core::Model` on raw values —
//! the very function every runtime serves with — so the chosen threshold and
//! the reported metrics hold for the deployed scores bit for bit.

use std::fmt;
use std::time::{Duration, Instant};

use fraud_core::artifact::{CalibrationReport, LogisticTraining, PolicyReport, TreesTraining};
use fraud_core::drift::{Bins, DriftReference};
use fraud_core::model::{BatchError, ModelError};
use fraud_core::{
    Artifact, Calibration, Costs, DecisionRule, Logistic, LogisticWeights, Metrics, Model, ModelParams, Policy,
    Provenance, Scaler, Schema, Scorer, Training, Trees,
};
use indicatif::ProgressBar;
use ndarray::{Array2, ArrayView2, Axis};

use crate::boost::{boost, BoostError, BoostOptions, Rows};
use crate::calibrate::{self, platt, prior_correction, CalibrationChoice};
use crate::data::{rows_of, Dataset};
use crate::logreg::{fit, FitError, FitOptions};
use crate::metrics::{best_f1_on_curve, curve, evaluate_on_curve, f1, CurvePoint};
use crate::policy::{PolicyChoice, Scored};
use crate::smote::{smote, synthetic_count, SmoteError};
use crate::split::{stratified_split, Split};
use crate::tabular::{self, Design, EncodeError, VocabularyOptions};

/// Protocol settings (the CLI's options).
#[derive(Clone, Debug)]
pub struct Config {
    /// Split (and SMOTE) seed.
    pub seed: u64,
    /// Fraction of each class held out for validation.
    pub validation_fraction: f64,
    /// Fraction of each class held out for test.
    pub test_fraction: f64,
    /// SMOTE neighbours.
    pub smote_k: usize,
    /// SMOTE target minority/majority ratio.
    pub smote_ratio: f64,
    /// Inverse L2 strength.
    pub c: f64,
    /// The candidates to fit and compare, in fit order.
    pub candidates: Vec<CandidateKind>,
    /// The booster's settings (tree candidates).
    pub boost: BoostOptions,
    /// How each candidate's probabilities are calibrated.
    pub calibration: CalibrationChoice,
    /// How the decision policy is chosen.
    pub policy: PolicyChoice,
    /// What each outcome is worth.
    pub costs: Costs,
    /// How categorical columns' vocabularies are learned.
    pub vocabulary: VocabularyOptions,
    /// The review band's cost and capacity (the proposed `rules.txt`).
    pub bands: crate::bands::BandOptions,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 42,
            validation_fraction: 0.2,
            test_fraction: 0.2,
            smote_k: 5,
            smote_ratio: 1.0,
            c: 1.0,
            candidates: CandidateKind::DEFAULT.to_vec(),
            boost: BoostOptions::default(),
            calibration: CalibrationChoice::Platt,
            policy: PolicyChoice::Auto,
            costs: Costs::default(),
            vocabulary: VocabularyOptions::default(),
            bands: crate::bands::BandOptions::default(),
        }
    }
}

/// Where the data came from, for provenance.
#[derive(Clone, Debug)]
pub struct Source {
    /// Human-readable description (path, or the synthetic generator's settings).
    pub name: String,
    /// SHA-256 of the CSV bytes.
    pub sha256: String,
    /// Generated rather than real.
    pub synthetic: bool,
}

/// The candidate models the protocol fits and compares, in fit order. Adding a
/// candidate is one arm here and one in [`fit_candidate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    /// Logistic regression on the scaled train split.
    Baseline,
    /// Logistic regression on the scaled train split plus SMOTE's synthetic frauds.
    Smote,
    /// Logistic regression with "balanced" class weights (as scikit-learn's).
    ClassWeighted,
    /// Gradient-boosted trees on the raw train rows.
    Trees,
    /// Boosted trees on the train rows plus SMOTE's synthetic frauds (unscaled).
    TreesSmote,
    /// Boosted trees with frauds weighted `sqrt(legitimate / fraud)` (≈ 24 on
    /// the real data): the full "balanced" ratio (≈ 580) makes every round
    /// overshoot and needs several times the rounds.
    TreesClassWeighted,
    /// Trees trained elsewhere (`native-train import`): never fitted here, not in [`CandidateKind::ALL`].
    Imported,
}

impl fmt::Display for CandidateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl CandidateKind {
    /// Every candidate, in fit order.
    pub const ALL: [CandidateKind; 6] = [
        CandidateKind::Baseline,
        CandidateKind::Smote,
        CandidateKind::ClassWeighted,
        CandidateKind::Trees,
        CandidateKind::TreesSmote,
        CandidateKind::TreesClassWeighted,
    ];

    /// What `train` fits unless told otherwise: every candidate but trees on
    /// SMOTE, whose ~170,000 synthetic frauds make it several times slower to
    /// boost than the others together.
    pub const DEFAULT: [CandidateKind; 5] = [
        CandidateKind::Baseline,
        CandidateKind::Smote,
        CandidateKind::ClassWeighted,
        CandidateKind::Trees,
        CandidateKind::TreesClassWeighted,
    ];

    /// The name in reports, the artifact, the model card and `--candidates`.
    pub fn name(self) -> &'static str {
        match self {
            CandidateKind::Baseline => "baseline",
            CandidateKind::Smote => "smote",
            CandidateKind::ClassWeighted => "class_weighted",
            CandidateKind::Trees => "trees",
            CandidateKind::TreesSmote => "trees_smote",
            CandidateKind::TreesClassWeighted => "trees_class_weighted",
            CandidateKind::Imported => "imported",
        }
    }

    /// The candidate of that name.
    pub fn from_name(name: &str) -> Option<CandidateKind> {
        CandidateKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The stage name its fit is timed under.
    fn fit_stage(self) -> &'static str {
        match self {
            CandidateKind::Baseline => "fit baseline",
            CandidateKind::Smote => "fit smote",
            CandidateKind::ClassWeighted => "fit class_weighted",
            CandidateKind::Trees => "fit trees",
            CandidateKind::TreesSmote => "fit trees_smote",
            CandidateKind::TreesClassWeighted => "fit trees_class_weighted",
            CandidateKind::Imported => "import",
        }
    }

    fn uses_smote(self) -> bool {
        matches!(self, CandidateKind::Smote | CandidateKind::TreesSmote)
    }
}

/// One candidate model and its figures.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Which candidate.
    pub kind: CandidateKind,
    /// The model at its validation-chosen threshold.
    pub model: Model,
    /// How it was fitted.
    pub training: Training,
    /// Rows the model was fitted on.
    pub rows_fitted: usize,
    /// Class weights used in the loss.
    pub class_weights: [f64; 2],
    /// Classification figures on validation at the F1 threshold.
    pub validation: Metrics,
    /// Classification figures on test at the F1 threshold.
    pub test: Metrics,
    /// Every policy's money on validation and test, in [`Policy::TRAINED`] order.
    pub policies: Vec<PolicyReport>,
    /// Accept / review / refuse bands chosen on validation, as rules, with their money.
    pub bands: crate::bands::Bands,
    /// How well the served probabilities match test outcomes.
    pub calibration_test: CalibrationReport,
    /// (threshold, F1) on validation, for the report's plot.
    pub validation_f1_curve: Vec<(f64, f64)>,
    /// (threshold, net benefit) on validation, for the report's plot.
    pub validation_net_curve: Vec<(f64, f64)>,
    /// (recall, precision) on test at every step of the curve, for the report's plot.
    pub test_pr_curve: Vec<(f64, f64)>,
    /// Test scores per class on the calibrated log-odds axis.
    pub test_histogram: Histogram,
    /// Quantile bins of the served probability on validation (the drift reference's score).
    pub validation_score_bins: Bins,
    /// Time spent fitting.
    pub fit_time: Duration,
}

impl Candidate {
    /// The candidate's name (see [`CandidateKind::name`]).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The served policy's figures.
    pub fn served_policy(&self) -> Option<&PolicyReport> {
        self.policies.iter().find(|p| p.policy == self.model.policy())
    }
}

/// Counts of scores per class in equal-width bins of calibrated log-odds.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lowest: f64,
    /// Bin width.
    pub width: f64,
    /// Legitimate transactions per bin.
    pub legitimate: Vec<u64>,
    /// Frauds per bin.
    pub fraud: Vec<u64>,
}

impl Histogram {
    const LOWEST: f64 = -20.0;
    const HIGHEST: f64 = 16.0;
    const BINS: usize = 72;

    fn of(probabilities: &[f64], labels: &[u8]) -> Histogram {
        let width = (Self::HIGHEST - Self::LOWEST) / Self::BINS as f64;
        let mut h =
            Histogram { lowest: Self::LOWEST, width, legitimate: vec![0; Self::BINS], fraud: vec![0; Self::BINS] };
        for (&p, &y) in probabilities.iter().zip(labels) {
            let z = (p / (1.0 - p)).ln();
            let bin = ((z - Self::LOWEST) / width).floor().clamp(0.0, (Self::BINS - 1) as f64) as usize;
            if y == 1 {
                h.fraud[bin] += 1;
            } else {
                h.legitimate[bin] += 1;
            }
        }
        h
    }
}

/// Everything the protocol produced.
pub struct Outcome {
    /// All candidates, in fit order.
    pub candidates: Vec<Candidate>,
    /// Index of the selected candidate (best validation F1).
    pub selected: usize,
    /// The selected model, packaged.
    pub artifact: Artifact,
    /// The test split in time order (features + labels), for replay.
    pub replay: Dataset,
    /// Wall time per stage.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Why the protocol could not run.
#[derive(Debug)]
pub enum TrainError {
    /// Settings out of their domain.
    Config(String),
    /// Too little data for the split.
    Data(String),
    /// SMOTE could not run.
    Smote(SmoteError),
    /// A solver failed.
    Fit(&'static str, FitError),
    /// The booster failed.
    Boost(&'static str, BoostError),
    /// A fitted candidate's parameters are not a usable model.
    Model(&'static str, ModelError),
    /// Held-out rows could not be scored.
    Scoring(BatchError),
    /// The categorical columns could not be coded.
    Encode(EncodeError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Config(why) => write!(f, "invalid settings: {why}"),
            TrainError::Data(why) => write!(f, "not enough data: {why}"),
            TrainError::Smote(_) => f.write_str("SMOTE failed"),
            TrainError::Fit(name, _) => write!(f, "fitting the {name} model failed"),
            TrainError::Boost(name, _) => write!(f, "boosting the {name} model failed"),
            TrainError::Model(name, _) => write!(f, "the fitted {name} model is unusable"),
            TrainError::Scoring(_) => f.write_str("scoring held-out rows failed"),
            TrainError::Encode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TrainError::Config(_) | TrainError::Data(_) => None,
            TrainError::Smote(e) => Some(e),
            TrainError::Fit(_, e) => Some(e),
            TrainError::Boost(_, e) => Some(e),
            TrainError::Model(_, e) => Some(e),
            TrainError::Scoring(e) => Some(e),
            TrainError::Encode(_) => None,
        }
    }
}

fn check_config(cfg: &Config) -> Result<(), TrainError> {
    let frac_ok = |f: f64| f.is_finite() && f > 0.0 && f < 1.0;
    if !frac_ok(cfg.validation_fraction)
        || !frac_ok(cfg.test_fraction)
        || cfg.validation_fraction + cfg.test_fraction >= 0.9
    {
        return Err(TrainError::Config(format!(
            "validation ({}) and test ({}) fractions must each be in (0, 1) and leave at least 10% for training",
            cfg.validation_fraction, cfg.test_fraction
        )));
    }
    if !(cfg.c.is_finite() && cfg.c > 0.0) {
        return Err(TrainError::Config(format!("C must be positive, got {}", cfg.c)));
    }
    if !(cfg.smote_ratio.is_finite() && cfg.smote_ratio > 0.0 && cfg.smote_ratio <= 1.0) {
        return Err(TrainError::Config(format!("SMOTE ratio must be in (0, 1], got {}", cfg.smote_ratio)));
    }
    if cfg.smote_k == 0 {
        return Err(TrainError::Config("SMOTE k must be at least 1".into()));
    }
    if cfg.candidates.is_empty() {
        return Err(TrainError::Config("at least one candidate is needed".into()));
    }
    Ok(())
}

/// Without an amount column, money can only be fixed per outcome and the
/// per-transaction policy does not exist: say so rather than train on zeros.
fn check_amount(schema: &Schema, cfg: &Config) -> Result<(), TrainError> {
    if schema.amount().is_some() {
        return Ok(());
    }
    if cfg.policy == PolicyChoice::Fixed(Policy::CostOptimal) {
        return Err(TrainError::Config(
            "the cost-optimal policy decides each transaction from its amount, and the data has no amount \
             column: name it with --amount COLUMN, or choose --policy f1 or net-benefit"
                .into(),
        ));
    }
    if cfg.costs.uses_amount() {
        return Err(TrainError::Config(
            "the costs depend on the amount (…*amount), and the data has no amount column: name it with \
             --amount COLUMN, or give fixed values (--cost-accepted-fraud -100 and so on)"
                .into(),
        ));
    }
    Ok(())
}

/// Points kept of each curve in the report (enough for a smooth SVG line).
const CURVE_POINTS: usize = 400;
/// The threshold a fitted model carries until validation picks its own.
const PROVISIONAL_THRESHOLD: f64 = 0.5;

/// Scores held-out rows (validated by the CSV reader: finite and in range)
/// through core, as every runtime would.
fn score(model: &Model, rows: &[f64]) -> Result<Vec<f64>, TrainError> {
    let mut out = vec![0.0; rows.len() / model.width()];
    model.score_batch(rows, &mut out).map_err(TrainError::Scoring)?;
    Ok(out)
}

/// The three splits: the train rows as they are (row-major) and the held-out
/// rows with their labels.
struct Splits {
    raw_train: Vec<f64>,
    y_train: Vec<u8>,
    x_val: Array2<f64>,
    y_val: Vec<u8>,
    x_test: Array2<f64>,
    y_test: Vec<u8>,
}

fn split_data(data: &Dataset, split: &Split) -> Result<Splits, TrainError> {
    let labels = |idx: &[usize]| idx.iter().map(|&i| data.y[i]).collect::<Vec<u8>>();
    let (y_train, y_val, y_test) = (labels(&split.train), labels(&split.validation), labels(&split.test));
    for (part, y) in [("train", &y_train), ("validation", &y_val), ("test", &y_test)] {
        let frauds = y.iter().filter(|&&v| v == 1).count();
        if frauds == 0 || frauds == y.len() {
            return Err(TrainError::Data(format!(
                "the {part} split has {frauds} frauds in {} rows; both classes are needed in every split",
                y.len()
            )));
        }
    }
    let mut raw_train: Vec<f64> = Vec::with_capacity(split.train.len() * data.schema.len());
    for &i in &split.train {
        raw_train.extend(data.x.row(i).iter());
    }
    let x_val = data.x.select(Axis(0), &split.validation);
    let x_test = data.x.select(Axis(0), &split.test);
    Ok(Splits { raw_train, y_train, x_val, y_val, x_test, y_test })
}

/// The scaled train rows followed by SMOTE's synthetic frauds, in one buffer:
/// the SMOTE candidate fits all of it, the others a view of its head.
struct TrainSet {
    rows: Array2<f64>,
    labels: Vec<u8>,
    original_rows: usize,
    frauds: usize,
    /// The scaler the rows are standardised with.
    scaler: Scaler,
    /// How the logistic candidates' columns come from a schema row.
    design: Design,
    /// The raw train rows (empty when no tree candidate runs).
    raw: Vec<f64>,
    /// The rows' schema.
    schema: Schema,
}

impl TrainSet {
    fn original(&self) -> (ArrayView2<'_, f64>, &[u8]) {
        (self.rows.slice(ndarray::s![..self.original_rows, ..]), &self.labels[..self.original_rows])
    }

    fn with_synthetic(&self) -> (ArrayView2<'_, f64>, &[u8]) {
        (self.rows.view(), &self.labels)
    }
}

fn oversample(
    mut scaled: Vec<f64>,
    raw: Vec<f64>,
    (scaler, design): (&Scaler, &Design),
    y_train: &[u8],
    schema: &Schema,
    cfg: &Config,
) -> Result<TrainSet, TrainError> {
    let width = design.width();
    let minority: Vec<f64> =
        scaled.chunks_exact(width).zip(y_train).filter(|(_, &y)| y == 1).flat_map(|(r, _)| r.iter().copied()).collect();
    let frauds = minority.len() / width;
    let majority = y_train.len() - frauds;
    let n_synth = if cfg.candidates.iter().any(|k| k.uses_smote()) {
        synthetic_count(majority, frauds, cfg.smote_ratio)
    } else {
        0
    };
    if n_synth > 0 {
        smote(&minority, width, cfg.smote_k, n_synth, cfg.seed, &mut scaled).map_err(TrainError::Smote)?;
    }
    let original_rows = y_train.len();
    let rows = Array2::from_shape_vec((original_rows + n_synth, width), scaled)
        .map_err(|e| TrainError::Data(format!("SMOTE output: {e}")))?;
    let mut labels = y_train.to_vec();
    labels.resize(original_rows + n_synth, 1);
    Ok(TrainSet {
        rows,
        labels,
        original_rows,
        frauds,
        scaler: scaler.clone(),
        design: design.clone(),
        raw,
        schema: schema.clone(),
    })
}

/// A fitted candidate, before validation picks its threshold.
struct Fitted {
    kind: CandidateKind,
    model: Model,
    training: Training,
    rows_fitted: usize,
    class_weights: [f64; 2],
    /// How much the fit multiplied the fraud odds (class weights × oversampling): the prior correction undoes it.
    odds_multiplier: f64,
    fit_time: Duration,
}

/// Class-weight ratio times the oversampling of frauds.
fn odds_multiplier(class_weights: [f64; 2], rows_fitted: usize, train: &TrainSet) -> f64 {
    let synthetic = rows_fitted.saturating_sub(train.original_rows);
    class_weights[1] / class_weights[0] * (train.frauds + synthetic) as f64 / train.frauds as f64
}

/// scikit-learn's "balanced" weights: `n / (2 · n_class)`, legitimate then fraud.
fn balanced_weights(rows: usize, frauds: usize) -> [f64; 2] {
    let n = rows as f64;
    let f = frauds as f64;
    [n / (2.0 * (n - f)), n / (2.0 * f)]
}

fn fit_candidate(
    kind: CandidateKind,
    train: &TrainSet,
    validation: &Holdout,
    cfg: &Config,
) -> Result<Fitted, TrainError> {
    if kind.is_trees() {
        return fit_trees(kind, train, validation, cfg);
    }
    let t = Instant::now();
    let (class_weights, (x, y)) = match kind {
        CandidateKind::Smote => ([1.0, 1.0], train.with_synthetic()),
        CandidateKind::ClassWeighted => (balanced_weights(train.original_rows, train.frauds), train.original()),
        _ => ([1.0, 1.0], train.original()),
    };
    let opts = FitOptions { c: cfg.c, class_weights, ..FitOptions::default() };
    let fitted = fit(x, y, &opts).map_err(|e| TrainError::Fit(kind.name(), e))?;
    let weights = LogisticWeights { weights: fitted.weights.clone(), intercept: fitted.intercept };
    let model = Logistic::with_expansion(train.scaler.clone(), weights, train.design.expansion.clone())
        .and_then(|scorer| {
            let rule = DecisionRule::at_threshold_for(PROVISIONAL_THRESHOLD, &train.schema);
            Model::new(kind.name().to_string(), train.schema.clone(), Scorer::Logistic(scorer), rule)
        })
        .map_err(|e| TrainError::Model(kind.name(), e))?;
    let training = Training::Logistic(LogisticTraining {
        c: cfg.c,
        solver: SOLVER.into(),
        iterations: fitted.iterations,
        max_gradient: fitted.max_gradient,
    });
    Ok(Fitted {
        kind,
        model,
        training,
        rows_fitted: x.nrows(),
        class_weights,
        odds_multiplier: odds_multiplier(class_weights, x.nrows(), train),
        fit_time: t.elapsed(),
    })
}

/// The logistic solver, as the artifact names it.
const SOLVER: &str = "newton-cholesky (exact Hessian, Armijo backtracking)";

fn fit_trees(kind: CandidateKind, train: &TrainSet, validation: &Holdout, cfg: &Config) -> Result<Fitted, TrainError> {
    if kind == CandidateKind::Imported {
        return Err(TrainError::Config("imported trees are not fitted here: use `native-train import`".into()));
    }
    let t = Instant::now();
    let name = kind.name();
    // Trees read raw values: SMOTE's synthetic rows are mapped back from the scaled space.
    let synthetic;
    let (x, y): (&[f64], &[u8]) = if kind == CandidateKind::TreesSmote {
        let scaled = rows_of(train.rows.view());
        let mut all = train.raw.clone();
        let width = train.schema.len();
        for z in scaled[train.original_rows * width..].chunks_exact(width) {
            all.extend(z.iter().zip(&train.scaler.scale).zip(&train.scaler.mean).map(|((z, s), m)| z * s + m));
        }
        synthetic = all;
        (&synthetic, &train.labels)
    } else {
        (&train.raw, &train.labels[..train.original_rows])
    };
    let class_weights = if kind == CandidateKind::TreesClassWeighted {
        let legitimate = (train.original_rows - train.frauds) as f64;
        [1.0, (legitimate / train.frauds as f64).sqrt()]
    } else {
        [1.0, 1.0]
    };
    let opts = BoostOptions {
        fraud_weight: class_weights[1] / class_weights[0],
        seed: cfg.seed,
        categorical: train.schema.categorical_mask(),
        ..cfg.boost.clone()
    };
    let width = train.schema.len();
    let (ensemble, report) =
        boost(Rows { x, y, d: width }, Rows { x: validation.rows, y: validation.y, d: width }, &opts)
            .map_err(|e| TrainError::Boost(name, e))?;
    let mut params = ensemble.to_core();
    if !train.schema.is_tabular() {
        // A model that takes no missing values is written as format 4, which has
        // no routes: its splits keep format 4's (missing left), so the file
        // reads back as the same artifact. (No row it scores holds a NaN.)
        for split in params.trees.iter_mut().flat_map(|t| t.splits.iter_mut()) {
            split.missing_left = true;
        }
    }
    let trees = Trees::with_kinds(params, &train.schema.categorical_mask()).map_err(|e| TrainError::Model(name, e))?;
    let model = Model::new(
        name.to_string(),
        train.schema.clone(),
        Scorer::Trees(trees),
        DecisionRule::at_threshold_for(PROVISIONAL_THRESHOLD, &train.schema),
    )
    .map_err(|e| TrainError::Model(name, e))?;
    let training = Training::Trees(TreesTraining {
        learning_rate: opts.learning_rate,
        max_leaves: opts.max_leaves as u32,
        max_depth: opts.max_depth as u32,
        l2: opts.l2,
        min_child_hessian: opts.min_child_hessian,
        min_rows_leaf: opts.min_rows_leaf as u32,
        row_fraction: opts.neg_fraction,
        col_fraction: opts.col_fraction,
        max_bins: opts.max_bins as u32,
        rounds: report.rounds as u32,
        rounds_run: report.rounds_run as u32,
        early_stopping_rounds: opts.early_stopping_rounds as u32,
    });
    Ok(Fitted {
        kind,
        model,
        training,
        rows_fitted: y.len(),
        class_weights,
        odds_multiplier: odds_multiplier(class_weights, y.len(), train),
        fit_time: t.elapsed(),
    })
}

impl CandidateKind {
    /// True for the boosted-tree candidates.
    pub fn is_trees(self) -> bool {
        matches!(
            self,
            CandidateKind::Trees
                | CandidateKind::TreesSmote
                | CandidateKind::TreesClassWeighted
                | CandidateKind::Imported
        )
    }
}

/// Held-out rows (row-major, raw) and labels, with their fraud counts.
struct Holdout<'a> {
    rows: &'a [f64],
    y: &'a [u8],
    frauds: u64,
}

impl<'a> Holdout<'a> {
    fn new(rows: &'a [f64], y: &'a [u8]) -> Holdout<'a> {
        Holdout { rows, y, frauds: y.iter().filter(|&&v| v == 1).count() as u64 }
    }
}

/// On validation: fits the calibration map, picks the F1-optimal and the
/// net-benefit-optimal thresholds and the policy; then measures test once.
fn assess(fitted: Fitted, validation: &Holdout, test: &Holdout, cfg: &Config) -> Result<Candidate, TrainError> {
    let name = fitted.kind.name();
    let calibration = {
        let fallback = prior_correction(fitted.odds_multiplier);
        match cfg.calibration {
            CalibrationChoice::Platt => {
                let mut logits = vec![0.0; validation.y.len()];
                fitted.model.logit_batch(validation.rows, &mut logits).map_err(TrainError::Scoring)?;
                platt(&logits, validation.y, fallback)
            }
            CalibrationChoice::Prior => fallback,
            CalibrationChoice::None => Calibration::IDENTITY,
        }
    };
    let rule =
        |policy: Policy, threshold: f64| DecisionRule { calibration, policy, threshold, costs: cfg.costs.clone() };
    let calibrated = fitted
        .model
        .with_rule(rule(Policy::F1Threshold, PROVISIONAL_THRESHOLD))
        .map_err(|e| TrainError::Model(name, e))?;
    let val_scores = score(&calibrated, validation.rows)?;
    let val_curve = curve(&val_scores, validation.y);
    let (f1_threshold, _) = best_f1_on_curve(&val_curve, validation.frauds);
    let schema = fitted.model.schema();
    let val = Scored { probabilities: &val_scores, rows: validation.rows, labels: validation.y, schema };
    let net_threshold = val.best_net_benefit_threshold(&cfg.costs);
    let test_scores = score(&calibrated, test.rows)?;
    let tested = Scored { probabilities: &test_scores, rows: test.rows, labels: test.y, schema };
    let policies: Vec<PolicyReport> = Policy::TRAINED
        .iter()
        // Without an amount column there is no per-transaction policy.
        .filter(|&&p| p.uses_threshold() || schema.amount().is_some())
        .map(|&policy| {
            let threshold = if policy == Policy::F1Threshold { f1_threshold } else { net_threshold };
            let r = rule(policy, threshold);
            PolicyReport {
                policy,
                threshold: policy.uses_threshold().then_some(threshold),
                validation: val.tally(&r),
                test: tested.tally(&r),
            }
        })
        .collect();
    let chosen = match cfg.policy {
        PolicyChoice::Fixed(p) => p,
        // The best validation net benefit; the first (F1) wins ties.
        PolicyChoice::Auto => {
            policies
                .iter()
                .fold(
                    &policies[0],
                    |best, p| {
                        if p.validation.net_benefit > best.validation.net_benefit {
                            p
                        } else {
                            best
                        }
                    },
                )
                .policy
        }
    };
    let threshold = if chosen == Policy::F1Threshold { f1_threshold } else { net_threshold };
    let model = calibrated.with_rule(rule(chosen, threshold)).map_err(|e| TrainError::Model(name, e))?;
    let bands = crate::bands::propose(&model, &val, &tested, cfg.bands).map_err(TrainError::Config)?;
    let test_curve = curve(&test_scores, test.y);
    let p_val = validation.frauds;
    Ok(Candidate {
        kind: fitted.kind,
        validation: evaluate_on_curve(&val_scores, validation.y, f1_threshold, &val_curve),
        test: evaluate_on_curve(&test_scores, test.y, f1_threshold, &test_curve),
        calibration_test: calibrate::report(&test_scores, test.y),
        validation_f1_curve: corners(&val_curve, CURVE_POINTS)
            .map(|k| (val_curve[k].threshold, f1(val_curve[k].tp, val_curve[k].fp, p_val - val_curve[k].tp)))
            .collect(),
        validation_net_curve: {
            let net = val.net_benefit_curve(&cfg.costs);
            debug_assert_eq!(net.len(), val_curve.len(), "one point per distinct probability in both");
            corners(&val_curve, CURVE_POINTS).map(|k| net[k]).collect()
        },
        test_pr_curve: pr_steps(&test_curve, test.frauds),
        test_histogram: Histogram::of(&test_scores, test.y),
        validation_score_bins: Bins::fit(&mut val_scores.clone()),
        policies,
        bands,
        model,
        training: fitted.training,
        rows_fitted: fitted.rows_fitted,
        class_weights: fitted.class_weights,
        fit_time: fitted.fit_time,
    })
}

/// Indexes of a curve's points worth drawing: the first and last of every run
/// of equal true positives (where F1 peaks and net benefit turns), plus up to
/// `spread` evenly spaced ones for the long runs between, in curve order.
fn corners(points: &[CurvePoint], spread: usize) -> impl Iterator<Item = usize> + '_ {
    let step = points.len().div_ceil(spread.max(1)).max(1);
    (0..points.len()).filter(move |&k| {
        let first = k == 0 || points[k - 1].tp != points[k].tp;
        let last = points.get(k + 1).is_none_or(|n| n.tp != points[k].tp);
        first || last || k % step == 0
    })
}

/// The precision–recall curve's corners, (recall, precision), from the
/// highest threshold down: each run of equal recall keeps its first and last
/// point, so a step plot of these is the exact curve with ~2 points per fraud.
fn pr_steps(points: &[CurvePoint], frauds: u64) -> Vec<(f64, f64)> {
    let at = |p: &CurvePoint| (p.tp as f64 / frauds as f64, p.tp as f64 / (p.tp + p.fp) as f64);
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (k, p) in points.iter().enumerate() {
        let first_of_run = k == 0 || points[k - 1].tp != p.tp;
        let last_of_run = points.get(k + 1).is_none_or(|n| n.tp != p.tp);
        if first_of_run || last_of_run {
            out.push(at(p));
        }
    }
    out
}

/// The best validation F1, as the Python original selects; the first wins ties.
fn select(candidates: &[Candidate]) -> usize {
    candidates
        .iter()
        .enumerate()
        .fold(0, |best, (i, c)| if c.validation.f1 > candidates[best].validation.f1 { i } else { best })
}

/// Rows the global feature importance is measured on (spread evenly over validation).
const IMPORTANCE_ROWS: usize = 1_000;

/// Mean |contribution| per feature over (up to) [`IMPORTANCE_ROWS`] validation rows.
fn feature_importance(model: &Model, x_val: &Array2<f64>) -> Vec<f64> {
    let width = model.width();
    let rows = rows_of(x_val.view());
    let n_rows = rows.len() / width;
    let step = n_rows.div_ceil(IMPORTANCE_ROWS).max(1);
    let sample: Vec<&[f64]> = rows.chunks_exact(width).step_by(step).collect();
    let part = |chunk: &[&[f64]]| {
        let mut sum = vec![0.0; width];
        for x in chunk {
            // Held-out rows passed the CSV reader: finite, and in range or the batch scorer refused them earlier.
            let Ok(t) = model.transaction(x) else { continue };
            for (s, c) in sum.iter_mut().zip(model.contributions(&t)) {
                *s += c.contribution.abs();
            }
        }
        sum
    };
    // TreeSHAP costs ~1 µs per tree per row: both cores, halves summed in a fixed order.
    let half = sample.len().div_ceil(2);
    let sums: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = sample.chunks(half.max(1)).map(|c| s.spawn(move || part(c))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let n = sample.len().max(1) as f64;
    (0..width).map(|i| sums.iter().map(|s| s[i]).sum::<f64>() / n).collect()
}

/// Quantile bins of every input over the train split (the drift reference).
fn feature_bins(data: &Dataset, train: &[usize]) -> Vec<Bins> {
    (0..data.schema.len())
        .map(|j| {
            // Missing values have a bin of their own (the train missing rate, `DriftReference::missing`).
            let mut column: Vec<f64> = train.iter().map(|&i| data.x[[i, j]]).filter(|x| !x.is_nan()).collect();
            match data.schema.categories(j) {
                Some(c) => Bins::categories(&column, c.other()),
                None => Bins::fit(&mut column),
            }
        })
        .collect()
}

fn package(
    chosen: &Candidate,
    data: &Dataset,
    splits: (&Split, &Array2<f64>),
    source: &Source,
    cfg: &Config,
    (features, mut tabular): (Vec<Bins>, fraud_core::Tabular),
) -> Artifact {
    let (split, x_val) = splits;
    let uses_smote = chosen.kind.uses_smote();
    let params = match chosen.model.scorer() {
        Scorer::Logistic(m) => {
            if data.schema.is_tabular() {
                tabular.indicators = tabular::indicators(m.expansion());
            }
            ModelParams::Logistic { scaler: m.scaler().clone(), weights: m.weights().clone() }
        }
        Scorer::Trees(m) => ModelParams::Trees(m.params().clone()),
    };
    Artifact {
        model_name: chosen.name().to_string(),
        schema: data.schema.clone(),
        rule: chosen.model.rule().clone(),
        params,
        training: chosen.training.clone(),
        provenance: Provenance {
            dataset: source.name.clone(),
            dataset_sha256: source.sha256.clone(),
            synthetic: source.synthetic,
            rows_total: data.len() as u64,
            frauds_total: data.frauds() as u64,
            rows_train: split.train.len() as u64,
            rows_validation: split.validation.len() as u64,
            rows_test: split.test.len() as u64,
            rows_fitted: chosen.rows_fitted as u64,
            seed: cfg.seed,
            train_fraction: 1.0 - cfg.validation_fraction - cfg.test_fraction,
            validation_fraction: cfg.validation_fraction,
            test_fraction: cfg.test_fraction,
            smote_k: if uses_smote { cfg.smote_k as u32 } else { 0 },
            smote_ratio: if uses_smote { cfg.smote_ratio } else { 0.0 },
            class_weights: chosen.class_weights,
            trainer: concat!("native-train ", env!("CARGO_PKG_VERSION")).into(),
        },
        feature_importance: feature_importance(&chosen.model, x_val),
        validation: chosen.validation.clone(),
        test: chosen.test.clone(),
        calibration_test: Some(chosen.calibration_test.clone()),
        policies: chosen.policies.clone(),
        drift: Some(DriftReference {
            features,
            score: chosen.validation_score_bins.clone(),
            base_rate: split.train.iter().filter(|&&i| data.y[i] == 1).count() as f64 / split.train.len().max(1) as f64,
            flagged_rate: chosen.served_policy().map_or(0.0, |p| {
                (p.validation.frauds_stopped + p.validation.false_alarms) as f64
                    / p.validation.transactions.max(1) as f64
            }),
            missing: if data.schema.is_tabular() { tabular.missing_rates.clone() } else { Vec::new() },
        }),
        tabular,
        imported: None,
    }
}

/// The test rows in file order — the order a transaction log is written in,
/// so the order they happened — with their ids, for replaying.
fn replay_of(data: &Dataset, test: &[usize]) -> Dataset {
    let mut order = test.to_vec();
    order.sort_unstable();
    Dataset {
        x: data.x.select(Axis(0), &order),
        y: order.iter().map(|&i| data.y[i]).collect(),
        schema: data.schema.clone(),
        ids: data.ids.as_ref().map(|ids| order.iter().map(|&i| ids[i].clone()).collect()),
        cells: data.cells.clone(),
    }
}

/// Runs the protocol. `bar` shows progress (pass `ProgressBar::hidden()` for none).
pub fn run(data: &Dataset, source: &Source, cfg: &Config, bar: &ProgressBar) -> Result<Outcome, TrainError> {
    check_config(cfg)?;
    check_amount(&data.schema, cfg)?;
    if data.is_tabular() && cfg.candidates.contains(&CandidateKind::TreesSmote) {
        return Err(TrainError::Config(
            "trees_smote interpolates rows in the scaled space, which has no categories or missing values: \
             choose trees or trees_class_weighted for a table with text columns or empty cells"
                .into(),
        ));
    }
    let kinds = cfg.candidates.clone();
    // split, scale, smote, one fit per candidate, thresholds + metrics
    bar.set_length(5 + kinds.len() as u64);
    let mut timings = Vec::new();
    let mut stage = |name: &'static str, elapsed: Duration| {
        timings.push((name, elapsed));
        bar.inc(1);
    };

    let t = Instant::now();
    bar.set_message("splitting");
    let split = stratified_split(&data.y, cfg.validation_fraction, cfg.test_fraction, cfg.seed);
    // Categories are coded with a vocabulary of the train rows only; the replay keeps the cells as read.
    let as_read = data;
    let encoded = tabular::encode(data, &split.train, &cfg.vocabulary).map_err(TrainError::Encode)?;
    let data = &encoded.data;
    let Splits { raw_train, y_train, x_val, y_val, x_test, y_test } = split_data(data, &split)?;
    stage("split", t.elapsed());

    let t = Instant::now();
    bar.set_message("scaling (fit on train only)");
    let design = Design::fit(&data.schema, &raw_train).map_err(|e| TrainError::Model("logistic design", e))?;
    let mut train_rows = design.expand(&raw_train);
    // Room for SMOTE's synthetic rows after the train rows (see `TrainSet`).
    train_rows.reserve(train_rows.len());
    let raw_train = if cfg.candidates.iter().any(|k| k.is_trees()) { raw_train } else { Vec::new() };
    let scaler =
        Scaler::fit(&train_rows, design.width()).ok_or_else(|| TrainError::Data("empty train split".into()))?;
    scaler.transform(&mut train_rows);
    stage("scale", t.elapsed());

    let t = Instant::now();
    bar.set_message("SMOTE (train only)");
    let train = oversample(train_rows, raw_train, (&scaler, &design), &y_train, &data.schema, cfg)?;
    stage("smote", t.elapsed());

    let (val_rows, test_rows) = (rows_of(x_val.view()), rows_of(x_test.view()));
    let (validation, test) = (Holdout::new(&val_rows, &y_val), Holdout::new(&test_rows, &y_test));
    // Candidates are independent: fit them side by side. The boosters' own
    // parallel parts leave cores idle between rounds, which the others fill.
    bar.set_message(format!("fitting {} candidates", kinds.len()));
    let (fitted, feature_reference) = std::thread::scope(|s| {
        let (train, validation) = (&train, &validation);
        let handles: Vec<_> =
            kinds.iter().map(|&kind| s.spawn(move || fit_candidate(kind, train, validation, cfg))).collect();
        // The drift reference's bins, in the cores' idle time between boosting rounds.
        let reference = s.spawn(|| feature_bins(data, &split.train));
        let mut fitted = Vec::new();
        for handle in handles {
            let f = handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            fitted.push(f);
        }
        let reference = reference.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        Ok::<_, TrainError>((fitted, reference))
    })?;
    for f in &fitted {
        stage(f.kind.fit_stage(), f.fit_time);
    }
    drop(train);

    let t = Instant::now();
    bar.set_message("thresholds and metrics");
    // Candidates are independent: assess them on every core.
    let candidates: Vec<Candidate> = std::thread::scope(|s| {
        let handles: Vec<_> = fitted.into_iter().map(|f| s.spawn(|| assess(f, &validation, &test, cfg))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Result<Vec<_>, TrainError>>()
    })?;
    let selected = select(&candidates);
    stage("thresholds + metrics", t.elapsed());

    let t = Instant::now();
    let tabular = encoded.tabular;
    let artifact = package(&candidates[selected], data, (&split, &x_val), source, cfg, (feature_reference, tabular));
    stage("feature importance", t.elapsed());
    let replay = replay_of(as_read, &split.test);
    Ok(Outcome { candidates, selected, artifact, replay, timings })
}

/// An imported model (`native-train import --data`): what `run` does after
/// fitting, on labelled rows the model was not trained on. They are split in
/// two, stratified: the first part (`cfg.validation_fraction` of the rows) fits
/// the calibration, picks the thresholds and the policy and is the drift
/// reference; the rest is the test part, measured once. `imported` is the
/// model as it was (its trees and the library's probability).
pub fn run_imported(
    data: &Dataset,
    source: &Source,
    model: Model,
    (training, imported): (Training, fraud_core::Imported),
    cfg: &Config,
    bar: &ProgressBar,
) -> Result<Outcome, TrainError> {
    check_amount(&data.schema, cfg)?;
    let frauds = data.frauds();
    if frauds < 2 || frauds + 2 > data.len() {
        return Err(TrainError::Data(format!(
            "{} labelled rows with {frauds} frauds: calibrating and testing need at least 2 of each class",
            data.len()
        )));
    }
    if !(cfg.validation_fraction > 0.0 && cfg.validation_fraction < 1.0) {
        return Err(TrainError::Config(format!(
            "--validation-fraction {} must be in (0, 1): the rest of the rows are the test part",
            cfg.validation_fraction
        )));
    }
    bar.set_length(3);
    let mut timings = Vec::new();
    let t = Instant::now();
    bar.set_message("splitting");
    // `stratified_split`'s test part is the calibration part here; its train part the test rows.
    let halves = stratified_split(&data.y, 0.0, cfg.validation_fraction, cfg.seed);
    let split = Split { train: Vec::new(), validation: halves.test, test: halves.train };
    if split.validation.is_empty() || split.test.is_empty() {
        return Err(TrainError::Data(format!("{} labelled rows: too few to calibrate and to test", data.len())));
    }
    let pick = |idx: &[usize]| -> (Vec<f64>, Vec<u8>) {
        let x = data.x.select(Axis(0), idx);
        (rows_of(x.view()).into_owned(), idx.iter().map(|&i| data.y[i]).collect())
    };
    let (val_rows, val_y) = pick(&split.validation);
    let (test_rows, test_y) = pick(&split.test);
    let x_val = data.x.select(Axis(0), &split.validation);
    timings.push(("split", t.elapsed()));
    bar.inc(1);

    let t = Instant::now();
    bar.set_message("thresholds and metrics");
    let (validation, test) = (Holdout::new(&val_rows, &val_y), Holdout::new(&test_rows, &test_y));
    let fitted = Fitted {
        kind: CandidateKind::Imported,
        model,
        training,
        rows_fitted: 0,
        class_weights: [1.0, 1.0],
        odds_multiplier: 1.0,
        fit_time: Duration::ZERO,
    };
    let candidate = assess(fitted, &validation, &test, cfg)?;
    timings.push(("thresholds + metrics", t.elapsed()));
    bar.inc(1);

    let t = Instant::now();
    bar.set_message("feature importance and drift reference");
    let features = feature_bins(data, &split.validation);
    let missing_rates: Vec<f64> = (0..data.schema.len())
        .map(|j| {
            let missing = split.validation.iter().filter(|&&i| data.x[[i, j]].is_nan()).count();
            missing as f64 / split.validation.len() as f64
        })
        .collect();
    let tabular =
        fraud_core::Tabular { other_rates: vec![0.0; missing_rates.len()], missing_rates, indicators: Vec::new() };
    // The drift reference's base rate is the reference part's fraud rate.
    let reference = Split { train: split.validation.clone(), ..split.clone() };
    let mut artifact = package(&candidate, data, (&reference, &x_val), source, cfg, (features, tabular));
    artifact.model_name = format!("{}_imported", imported.library);
    artifact.provenance.rows_train = 0;
    artifact.provenance.rows_fitted = 0;
    artifact.provenance.train_fraction = 0.0;
    artifact.provenance.validation_fraction = cfg.validation_fraction;
    artifact.provenance.test_fraction = 1.0 - cfg.validation_fraction;
    artifact.provenance.trainer = crate::import::trainer_of(&imported);
    artifact.imported = Some(imported);
    timings.push(("feature importance", t.elapsed()));
    bar.inc(1);
    let replay = replay_of(data, &split.test);
    Ok(Outcome { candidates: vec![candidate], selected: 0, artifact, replay, timings })
}
