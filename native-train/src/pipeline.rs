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

use fraud_core::{Artifact, LogisticWeights, Metrics, Model, Provenance, Scaler, FEATURE_NAMES, N_FEATURES};
use indicatif::ProgressBar;
use ndarray::{Array2, Axis};

use crate::data::Dataset;
use crate::logreg::{fit, Fit, FitError, FitOptions};
use crate::metrics::{best_f1_on_curve, curve, evaluate_on_curve, f1};
use crate::smote::{smote, synthetic_count, SmoteError};
use crate::split::stratified_split;

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

/// One candidate model and its figures.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// "baseline", "smote" or "class_weighted".
    pub name: &'static str,
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
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Config(why) => write!(f, "invalid settings: {why}"),
            TrainError::Data(why) => write!(f, "not enough data: {why}"),
            TrainError::Smote(e) => write!(f, "{e}"),
            TrainError::Fit(name, e) => write!(f, "{name} model: {e}"),
        }
    }
}

impl std::error::Error for TrainError {}

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

fn score(model: &Model, x: &Array2<f64>) -> Vec<f64> {
    let mut out = vec![0.0; x.nrows()];
    let rows = x.as_slice().unwrap_or(&[]);
    // The rows come from a parsed file: finite and in range, so this cannot fail.
    if let Err(e) = model.score_batch(rows, &mut out) {
        tracing::error!("scoring failed: {e}");
    }
    out
}

/// Runs the protocol. `bar` shows progress (pass `ProgressBar::hidden()` for none).
pub fn run(data: &Dataset, source: &Source, cfg: &Config, bar: &ProgressBar) -> Result<Outcome, TrainError> {
    check_config(cfg)?;
    let mut timings = Vec::new();
    let mut stage = |name: &'static str, t: Instant| {
        timings.push((name, t.elapsed()));
        bar.inc(1);
    };
    let stages = if cfg.class_weighted { 8 } else { 7 };
    bar.set_length(stages);

    let t = Instant::now();
    bar.set_message("splitting");
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
    // One buffer holds the scaled train rows followed by SMOTE's synthetic
    // rows: the SMOTE fit sees all of it, the other fits a view of its head.
    let mut z_all: Vec<f64> = Vec::with_capacity(split.train.len() * 2 * N_FEATURES);
    for &i in &split.train {
        z_all.extend(data.x.row(i).iter());
    }
    let x_val = data.x.select(Axis(0), &split.validation);
    let x_test = data.x.select(Axis(0), &split.test);
    stage("split", t);

    let t = Instant::now();
    bar.set_message("scaling (fit on train only)");
    let scaler = Scaler::fit(&z_all, N_FEATURES).ok_or_else(|| TrainError::Data("empty train split".into()))?;
    scaler.transform(&mut z_all);
    stage("scale", t);

    let t = Instant::now();
    bar.set_message("SMOTE (train only)");
    let minority: Vec<[f64; N_FEATURES]> = z_all
        .chunks_exact(N_FEATURES)
        .zip(&y_train)
        .filter(|(_, &y)| y == 1)
        .map(|(r, _)| std::array::from_fn(|j| r[j]))
        .collect();
    let majority = y_train.len() - minority.len();
    let n_synth = synthetic_count(majority, minority.len(), cfg.smote_ratio);
    smote(&minority, cfg.smote_k, n_synth, cfg.seed, &mut z_all).map_err(TrainError::Smote)?;
    let n_train_rows = y_train.len();
    let z_all = Array2::from_shape_vec((n_train_rows + n_synth, N_FEATURES), z_all)
        .map_err(|e| TrainError::Data(format!("SMOTE output: {e}")))?;
    let z_train = z_all.slice(ndarray::s![..n_train_rows, ..]);
    let mut y_all = y_train.clone();
    y_all.resize(n_train_rows + n_synth, 1);
    stage("smote", t);

    let n_train = y_train.len() as f64;
    let n_fraud_train = minority.len() as f64;
    let mut plans: Vec<(&'static str, [f64; 2])> = vec![("baseline", [1.0, 1.0]), ("smote", [1.0, 1.0])];
    if cfg.class_weighted {
        plans.push(("class_weighted", [n_train / (2.0 * (n_train - n_fraud_train)), n_train / (2.0 * n_fraud_train)]));
    }

    let mut candidates = Vec::new();
    for (name, class_weights) in plans {
        let t = Instant::now();
        bar.set_message(format!("fitting {name}"));
        let opts = FitOptions { c: cfg.c, class_weights, ..FitOptions::default() };
        let (fitted, rows_fitted) = if name == "smote" {
            (fit(z_all.view(), &y_all, &opts), z_all.nrows())
        } else {
            (fit(z_train, &y_train, &opts), z_train.nrows())
        };
        let fitted = fitted.map_err(|e| TrainError::Fit(name, e))?;
        let fit_time = t.elapsed();
        stage(
            match name {
                "baseline" => "fit baseline",
                "smote" => "fit smote",
                _ => "fit class_weighted",
            },
            t,
        );
        let weights = LogisticWeights { weights: fitted.weights.clone(), intercept: fitted.intercept };
        let model = Model::new(name.to_string(), scaler.clone(), weights, 0.5)
            .map_err(|e| TrainError::Fit(name, FitError::BadInput(e.to_string())))?;
        candidates.push((name, model, fitted, rows_fitted, class_weights, fit_time));
    }

    let t = Instant::now();
    bar.set_message("thresholds and metrics");
    let positives = |y: &[u8]| y.iter().filter(|&&v| v == 1).count() as u64;
    let (p_val, p_test) = (positives(&y_val), positives(&y_test));
    let assess = |(name, model, fitted, rows_fitted, class_weights, fit_time): (
        &'static str,
        Model,
        Fit,
        usize,
        [f64; 2],
        Duration,
    )| {
        let val_scores = score(&model, &x_val);
        let val_curve = curve(&val_scores, &y_val);
        let (threshold, _) = best_f1_on_curve(&val_curve, p_val);
        let model =
            model.with_threshold(threshold).map_err(|e| TrainError::Fit(name, FitError::BadInput(e.to_string())))?;
        let test_scores = score(&model, &x_test);
        let test_curve = curve(&test_scores, &y_test);
        Ok(Candidate {
            name,
            validation: evaluate_on_curve(&val_scores, &y_val, threshold, &val_curve),
            test: evaluate_on_curve(&test_scores, &y_test, threshold, &test_curve),
            validation_f1_curve: thin(
                val_curve.iter().map(|p| (p.threshold, f1(p.tp, p.fp, p_val - p.tp))).collect(),
                400,
            ),
            test_pr_curve: thin(
                test_curve.iter().map(|p| (p.tp as f64 / p_test as f64, p.tp as f64 / (p.tp + p.fp) as f64)).collect(),
                400,
            ),
            model,
            fit: fitted,
            rows_fitted,
            class_weights,
            fit_time,
        })
    };
    // Candidates are independent: assess them on every core.
    let done: Vec<Candidate> = std::thread::scope(|s| {
        let handles: Vec<_> = candidates.into_iter().map(|c| s.spawn(|| assess(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Result<Vec<_>, TrainError>>()
    })?;
    // Selection by validation F1, as the Python original does; the first wins ties.
    let selected = done
        .iter()
        .enumerate()
        .fold(0, |best, (i, c)| if c.validation.f1 > done[best].validation.f1 { i } else { best });
    stage("thresholds + metrics", t);

    let chosen = &done[selected];
    let uses_smote = chosen.name == "smote";
    let artifact = Artifact {
        model_name: chosen.name.to_string(),
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
    };

    // The replay file: test rows in time order (stable, so file order breaks ties).
    let mut order: Vec<usize> = (0..x_test.nrows()).collect();
    order.sort_by(|&a, &b| x_test[[a, 0]].total_cmp(&x_test[[b, 0]]));
    let replay = Dataset { x: x_test.select(Axis(0), &order), y: order.iter().map(|&i| y_test[i]).collect() };

    Ok(Outcome { candidates: done, selected, artifact, replay, timings })
}
