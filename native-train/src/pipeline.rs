//! The training protocol, end to end on an in-memory dataset:
//! stratified split → scaler fitted on train → SMOTE on scaled train →
//! candidate fits → per-candidate F1-optimal threshold on validation →
//! selection by validation F1 → test metrics → artifact.
//!
//! Validation and test rows are scored by `fraud_core::Model` on raw values —
//! the very function every runtime serves with — so the chosen threshold and
//! the reported metrics hold for the deployed scores bit for bit.

use std::fmt;
use std::time::{Duration, Instant};

use fraud_core::model::{BatchError, ModelError};
use fraud_core::{Artifact, LogisticWeights, Metrics, Model, Provenance, Scaler, FEATURE_NAMES, N_FEATURES};
use indicatif::ProgressBar;
use ndarray::{Array2, ArrayView2, Axis};

use crate::data::{rows_of, Dataset};
use crate::logreg::{fit, Fit, FitError, FitOptions};
use crate::metrics::{best_f1_on_curve, curve, evaluate_on_curve, f1};
use crate::smote::{smote, synthetic_count, SmoteError};
use crate::split::{stratified_split, Split};

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
    /// Also fit a class-weighted ("balanced") candidate.
    pub class_weighted: bool,
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
            class_weighted: true,
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
}

impl CandidateKind {
    /// Every candidate, in fit order.
    pub const ALL: [CandidateKind; 3] = [CandidateKind::Baseline, CandidateKind::Smote, CandidateKind::ClassWeighted];

    /// The name in reports, the artifact and the model card.
    pub fn name(self) -> &'static str {
        match self {
            CandidateKind::Baseline => "baseline",
            CandidateKind::Smote => "smote",
            CandidateKind::ClassWeighted => "class_weighted",
        }
    }

    /// The stage name its fit is timed under.
    fn fit_stage(self) -> &'static str {
        match self {
            CandidateKind::Baseline => "fit baseline",
            CandidateKind::Smote => "fit smote",
            CandidateKind::ClassWeighted => "fit class_weighted",
        }
    }

    fn enabled(self, cfg: &Config) -> bool {
        self != CandidateKind::ClassWeighted || cfg.class_weighted
    }
}

/// One candidate model and its figures.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Which candidate.
    pub kind: CandidateKind,
    /// The model at its validation-chosen threshold.
    pub model: Model,
    /// Solver output.
    pub fit: Fit,
    /// Rows the model was fitted on.
    pub rows_fitted: usize,
    /// Class weights used in the loss.
    pub class_weights: [f64; 2],
    /// Figures on validation at the chosen threshold.
    pub validation: Metrics,
    /// Figures on test at the chosen threshold.
    pub test: Metrics,
    /// (threshold, F1) on validation, for the report's plot.
    pub validation_f1_curve: Vec<(f64, f64)>,
    /// (recall, precision) on test, for the report's plot.
    pub test_pr_curve: Vec<(f64, f64)>,
    /// Time spent fitting.
    pub fit_time: Duration,
}

impl Candidate {
    /// The candidate's name (see [`CandidateKind::name`]).
    pub fn name(&self) -> &'static str {
        self.kind.name()
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
    /// A fitted candidate's parameters are not a usable model.
    Model(&'static str, ModelError),
    /// Held-out rows could not be scored.
    Scoring(BatchError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Config(why) => write!(f, "invalid settings: {why}"),
            TrainError::Data(why) => write!(f, "not enough data: {why}"),
            TrainError::Smote(_) => f.write_str("SMOTE failed"),
            TrainError::Fit(name, _) => write!(f, "fitting the {name} model failed"),
            TrainError::Model(name, _) => write!(f, "the fitted {name} model is unusable"),
            TrainError::Scoring(_) => f.write_str("scoring held-out rows failed"),
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TrainError::Config(_) | TrainError::Data(_) => None,
            TrainError::Smote(e) => Some(e),
            TrainError::Fit(_, e) => Some(e),
            TrainError::Model(_, e) => Some(e),
            TrainError::Scoring(e) => Some(e),
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
    Ok(())
}

/// Points kept of each curve in the report (enough for a smooth SVG line).
const CURVE_POINTS: usize = 400;
/// The threshold a fitted model carries until validation picks its own.
const PROVISIONAL_THRESHOLD: f64 = 0.5;

/// Keeps at most `max` points of a curve, evenly spread, always the last.
fn thin<T: Copy>(points: Vec<T>, max: usize) -> Vec<T> {
    if points.len() <= max {
        return points;
    }
    let step = points.len() as f64 / max as f64;
    let mut out: Vec<T> = (0..max).map(|i| points[(i as f64 * step) as usize]).collect();
    if let Some(&last) = points.last() {
        out.push(last);
    }
    out
}

/// Scores held-out rows (validated by the CSV reader: finite and in range)
/// through core, as every runtime would.
fn score(model: &Model, x: &Array2<f64>) -> Result<Vec<f64>, TrainError> {
    let mut out = vec![0.0; x.nrows()];
    model.score_batch(&rows_of(x.view()), &mut out).map_err(TrainError::Scoring)?;
    Ok(out)
}

/// The three splits: train rows (row-major, to be scaled in place) and the
/// raw held-out rows with their labels.
struct Splits {
    split: Split,
    train_rows: Vec<f64>,
    y_train: Vec<u8>,
    x_val: Array2<f64>,
    y_val: Vec<u8>,
    x_test: Array2<f64>,
    y_test: Vec<u8>,
}

fn split_data(data: &Dataset, cfg: &Config) -> Result<Splits, TrainError> {
    let split = stratified_split(&data.y, cfg.validation_fraction, cfg.test_fraction, cfg.seed);
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
    // Room for SMOTE's synthetic rows after the train rows (see `TrainSet`).
    let mut train_rows: Vec<f64> = Vec::with_capacity(split.train.len() * 2 * N_FEATURES);
    for &i in &split.train {
        train_rows.extend(data.x.row(i).iter());
    }
    let x_val = data.x.select(Axis(0), &split.validation);
    let x_test = data.x.select(Axis(0), &split.test);
    Ok(Splits { split, train_rows, y_train, x_val, y_val, x_test, y_test })
}

/// The scaled train rows followed by SMOTE's synthetic frauds, in one buffer:
/// the SMOTE candidate fits all of it, the others a view of its head.
struct TrainSet {
    rows: Array2<f64>,
    labels: Vec<u8>,
    original_rows: usize,
    frauds: usize,
}

impl TrainSet {
    fn original(&self) -> (ArrayView2<'_, f64>, &[u8]) {
        (self.rows.slice(ndarray::s![..self.original_rows, ..]), &self.labels[..self.original_rows])
    }

    fn with_synthetic(&self) -> (ArrayView2<'_, f64>, &[u8]) {
        (self.rows.view(), &self.labels)
    }
}

fn oversample(mut scaled: Vec<f64>, y_train: &[u8], cfg: &Config) -> Result<TrainSet, TrainError> {
    let minority: Vec<[f64; N_FEATURES]> = scaled
        .chunks_exact(N_FEATURES)
        .zip(y_train)
        .filter(|(_, &y)| y == 1)
        .map(|(r, _)| std::array::from_fn(|j| r[j]))
        .collect();
    let majority = y_train.len() - minority.len();
    let n_synth = synthetic_count(majority, minority.len(), cfg.smote_ratio);
    smote(&minority, cfg.smote_k, n_synth, cfg.seed, &mut scaled).map_err(TrainError::Smote)?;
    let original_rows = y_train.len();
    let rows = Array2::from_shape_vec((original_rows + n_synth, N_FEATURES), scaled)
        .map_err(|e| TrainError::Data(format!("SMOTE output: {e}")))?;
    let mut labels = y_train.to_vec();
    labels.resize(original_rows + n_synth, 1);
    Ok(TrainSet { rows, labels, original_rows, frauds: minority.len() })
}

/// A fitted candidate, before validation picks its threshold.
struct Fitted {
    kind: CandidateKind,
    model: Model,
    fit: Fit,
    rows_fitted: usize,
    class_weights: [f64; 2],
    fit_time: Duration,
}

/// scikit-learn's "balanced" weights: `n / (2 · n_class)`, legitimate then fraud.
fn balanced_weights(rows: usize, frauds: usize) -> [f64; 2] {
    let n = rows as f64;
    let f = frauds as f64;
    [n / (2.0 * (n - f)), n / (2.0 * f)]
}

fn fit_candidate(kind: CandidateKind, train: &TrainSet, scaler: &Scaler, cfg: &Config) -> Result<Fitted, TrainError> {
    let t = Instant::now();
    let (class_weights, (x, y)) = match kind {
        CandidateKind::Baseline => ([1.0, 1.0], train.original()),
        CandidateKind::Smote => ([1.0, 1.0], train.with_synthetic()),
        CandidateKind::ClassWeighted => (balanced_weights(train.original_rows, train.frauds), train.original()),
    };
    let opts = FitOptions { c: cfg.c, class_weights, ..FitOptions::default() };
    let fitted = fit(x, y, &opts).map_err(|e| TrainError::Fit(kind.name(), e))?;
    let weights = LogisticWeights { weights: fitted.weights.clone(), intercept: fitted.intercept };
    let model = Model::new(kind.name().to_string(), scaler.clone(), weights, PROVISIONAL_THRESHOLD)
        .map_err(|e| TrainError::Model(kind.name(), e))?;
    Ok(Fitted { kind, model, fit: fitted, rows_fitted: x.nrows(), class_weights, fit_time: t.elapsed() })
}

/// Held-out rows and labels, with their fraud counts.
struct Holdout<'a> {
    x: &'a Array2<f64>,
    y: &'a [u8],
    frauds: u64,
}

impl<'a> Holdout<'a> {
    fn new(x: &'a Array2<f64>, y: &'a [u8]) -> Holdout<'a> {
        Holdout { x, y, frauds: y.iter().filter(|&&v| v == 1).count() as u64 }
    }
}

/// Picks the F1-optimal threshold on validation, then measures test once.
fn assess(fitted: Fitted, validation: &Holdout, test: &Holdout) -> Result<Candidate, TrainError> {
    let name = fitted.kind.name();
    let val_scores = score(&fitted.model, validation.x)?;
    let val_curve = curve(&val_scores, validation.y);
    let (threshold, _) = best_f1_on_curve(&val_curve, validation.frauds);
    let model = fitted.model.with_threshold(threshold).map_err(|e| TrainError::Model(name, e))?;
    let test_scores = score(&model, test.x)?;
    let test_curve = curve(&test_scores, test.y);
    let (p_val, p_test) = (validation.frauds, test.frauds);
    Ok(Candidate {
        kind: fitted.kind,
        validation: evaluate_on_curve(&val_scores, validation.y, threshold, &val_curve),
        test: evaluate_on_curve(&test_scores, test.y, threshold, &test_curve),
        validation_f1_curve: thin(
            val_curve.iter().map(|p| (p.threshold, f1(p.tp, p.fp, p_val - p.tp))).collect(),
            CURVE_POINTS,
        ),
        test_pr_curve: thin(
            test_curve.iter().map(|p| (p.tp as f64 / p_test as f64, p.tp as f64 / (p.tp + p.fp) as f64)).collect(),
            CURVE_POINTS,
        ),
        model,
        fit: fitted.fit,
        rows_fitted: fitted.rows_fitted,
        class_weights: fitted.class_weights,
        fit_time: fitted.fit_time,
    })
}

/// The best validation F1, as the Python original selects; the first wins ties.
fn select(candidates: &[Candidate]) -> usize {
    candidates
        .iter()
        .enumerate()
        .fold(0, |best, (i, c)| if c.validation.f1 > candidates[best].validation.f1 { i } else { best })
}

fn package(chosen: &Candidate, data: &Dataset, split: &Split, source: &Source, cfg: &Config) -> Artifact {
    let uses_smote = chosen.kind == CandidateKind::Smote;
    Artifact {
        model_name: chosen.name().to_string(),
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        scaler: chosen.model.scaler().clone(),
        weights: chosen.model.weights().clone(),
        threshold: chosen.model.threshold(),
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
            c: cfg.c,
            solver: "newton-cholesky (exact Hessian, Armijo backtracking)".into(),
            solver_iterations: chosen.fit.iterations,
            solver_max_gradient: chosen.fit.max_gradient,
            trainer: concat!("native-train ", env!("CARGO_PKG_VERSION")).into(),
        },
        validation: chosen.validation.clone(),
        test: chosen.test.clone(),
    }
}

/// The test rows in time order (stable, so file order breaks ties), for replaying.
fn replay_of(x_test: &Array2<f64>, y_test: &[u8]) -> Dataset {
    let mut order: Vec<usize> = (0..x_test.nrows()).collect();
    order.sort_by(|&a, &b| x_test[[a, 0]].total_cmp(&x_test[[b, 0]]));
    Dataset { x: x_test.select(Axis(0), &order), y: order.iter().map(|&i| y_test[i]).collect() }
}

/// Runs the protocol. `bar` shows progress (pass `ProgressBar::hidden()` for none).
pub fn run(data: &Dataset, source: &Source, cfg: &Config, bar: &ProgressBar) -> Result<Outcome, TrainError> {
    check_config(cfg)?;
    let kinds: Vec<CandidateKind> = CandidateKind::ALL.into_iter().filter(|k| k.enabled(cfg)).collect();
    // split, scale, smote, one fit per candidate, thresholds + metrics
    bar.set_length(4 + kinds.len() as u64);
    let mut timings = Vec::new();
    let mut stage = |name: &'static str, t: Instant| {
        timings.push((name, t.elapsed()));
        bar.inc(1);
    };

    let t = Instant::now();
    bar.set_message("splitting");
    let Splits { split, mut train_rows, y_train, x_val, y_val, x_test, y_test } = split_data(data, cfg)?;
    stage("split", t);

    let t = Instant::now();
    bar.set_message("scaling (fit on train only)");
    let scaler = Scaler::fit(&train_rows, N_FEATURES).ok_or_else(|| TrainError::Data("empty train split".into()))?;
    scaler.transform(&mut train_rows);
    stage("scale", t);

    let t = Instant::now();
    bar.set_message("SMOTE (train only)");
    let train = oversample(train_rows, &y_train, cfg)?;
    stage("smote", t);

    let mut fitted = Vec::new();
    for kind in kinds {
        let t = Instant::now();
        bar.set_message(format!("fitting {}", kind.name()));
        fitted.push(fit_candidate(kind, &train, &scaler, cfg)?);
        stage(kind.fit_stage(), t);
    }
    drop(train);

    let t = Instant::now();
    bar.set_message("thresholds and metrics");
    let (validation, test) = (Holdout::new(&x_val, &y_val), Holdout::new(&x_test, &y_test));
    // Candidates are independent: assess them on every core.
    let candidates: Vec<Candidate> = std::thread::scope(|s| {
        let handles: Vec<_> = fitted.into_iter().map(|f| s.spawn(|| assess(f, &validation, &test))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Result<Vec<_>, TrainError>>()
    })?;
    let selected = select(&candidates);
    stage("thresholds + metrics", t);

    let artifact = package(&candidates[selected], data, &split, source, cfg);
    let replay = replay_of(&x_test, &y_test);
    Ok(Outcome { candidates, selected, artifact, replay, timings })
}
