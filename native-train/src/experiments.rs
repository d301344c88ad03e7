//! The protocol repeated over split seeds (`train --seeds`): one split's
//! figures are noisy with a few hundred frauds, so candidates are compared by
//! mean ± sample standard deviation across seeds. Prints Markdown tables and
//! optionally writes every seed's figures as JSON; no model is written.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use fraud_core::Policy;
use serde_json::{json, Value};

use crate::input::Input;
use crate::output::write_atomic;
use crate::pipeline::{run, Candidate, Config};
use crate::stats::{mean_std, median};
use crate::train::progress_bar;

/// What to repeat, over which seeds.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// Split (and SMOTE) seeds; each replaces `config.seed`.
    pub seeds: Vec<u64>,
    /// The protocol.
    pub config: Config,
    /// Where to write every seed's figures, if anywhere.
    pub json: Option<PathBuf>,
}

/// One seed's run.
struct SeedRun {
    seed: u64,
    candidates: Vec<Candidate>,
    /// Index of the selected candidate.
    selected: usize,
}

impl SeedRun {
    fn chosen(&self) -> &Candidate {
        &self.candidates[self.selected]
    }
}

/// Runs the protocol on `input` for every seed and prints the comparison.
pub fn run_seeds(input: &Input, experiment: &Experiment) -> Result<()> {
    let bar = progress_bar();
    let mut runs = Vec::new();
    for &seed in &experiment.seeds {
        bar.set_prefix(format!("seed {seed}"));
        bar.set_position(0);
        let cfg = Config { seed, ..experiment.config.clone() };
        let outcome = run(&input.data, &input.source, &cfg, &bar).with_context(|| format!("seed {seed}"))?;
        runs.push(SeedRun { seed, candidates: outcome.candidates, selected: outcome.selected });
    }
    bar.finish_and_clear();
    let Some(first) = runs.first() else { bail!("no split seeds given") };
    let names: Vec<&str> = first.candidates.iter().map(|c| c.name()).collect();
    let source = &input.source;
    println!(
        "\n{} split seeds {:?} on {}{} (mean ± sample std)\n",
        runs.len(),
        experiment.seeds,
        source.name,
        if source.synthetic { " (SYNTHETIC)" } else { "" }
    );
    print_metrics(&runs, &names);
    print_money(&runs, &names);
    if let Some(path) = &experiment.json {
        let text = serde_json::to_string_pretty(&json!({ "runs": runs.iter().map(seed_json).collect::<Vec<_>>() }))?;
        write_atomic(path, |w| w.write_all(text.as_bytes())).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `f` of the candidate `pick` takes from each run, as `mean ± std` with `digits` decimals.
fn spread(
    runs: &[SeedRun],
    pick: &dyn Fn(&SeedRun) -> &Candidate,
    f: &dyn Fn(&Candidate) -> f64,
    digits: usize,
) -> String {
    let values: Vec<f64> = runs.iter().map(|r| f(pick(r))).collect();
    // NaN: the figure does not exist (no amount column: no cost-optimal policy).
    if values.iter().all(|v| v.is_nan()) {
        return "–".into();
    }
    let (m, s) = mean_std(&values);
    format!("{m:.digits$} ± {s:.digits$}")
}

/// Classification on test per candidate, how often each was selected, and the selected one's.
fn print_metrics(runs: &[SeedRun], names: &[&str]) {
    println!(
        "| candidate | test AP | test F1 | test precision | test recall | test ROC-AUC | val F1 | fit | selected |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (k, name) in names.iter().enumerate() {
        let pick: &dyn Fn(&SeedRun) -> &Candidate = &|r| &r.candidates[k];
        let col = |f: &dyn Fn(&Candidate) -> f64| spread(runs, pick, f, 3);
        let selected = runs.iter().filter(|r| r.selected == k).count();
        let fit_times: Vec<f64> = runs.iter().map(|r| pick(r).fit_time.as_secs_f64()).collect();
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
    let col = |f: &dyn Fn(&Candidate) -> f64| spread(runs, &SeedRun::chosen, f, 3);
    println!("| **selected** | {} | {} | | | | | | |", col(&|c| c.test.average_precision), col(&|c| c.test.f1));
}

/// Calibration and each policy's net benefit on test per candidate, and the selected one's.
fn print_money(runs: &[SeedRun], names: &[&str]) {
    let currency = runs.first().and_then(|r| r.candidates.first()).map_or("", |c| c.model.costs().currency.as_str());
    println!(
        "\nCalibration and money on test ({currency}; net benefit of each policy, thresholds chosen on validation):\n"
    );
    println!(
        "| candidate | expected / observed frauds | Brier | F1 threshold | net-benefit threshold | cost-optimal | served policy | accept everything | refuse everything |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (k, name) in names.iter().enumerate() {
        money_row(runs, name, &|r| &r.candidates[k]);
    }
    money_row(runs, "**selected**", &SeedRun::chosen);
}

fn money_row(runs: &[SeedRun], label: &str, pick: &dyn Fn(&SeedRun) -> &Candidate) {
    let col = |f: &dyn Fn(&Candidate) -> f64, digits: usize| spread(runs, pick, f, digits);
    let policy = |p: Policy| {
        move |c: &Candidate| c.policies.iter().find(|r| r.policy == p).map_or(f64::NAN, |r| r.test.net_benefit)
    };
    println!(
        "| {label} | {} / {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
        col(&|c| c.calibration_test.expected_frauds, 1),
        col(&|c| c.calibration_test.observed_frauds as f64, 1),
        col(&|c| c.calibration_test.brier, 6),
        col(&policy(Policy::F1Threshold), 0),
        col(&policy(Policy::NetBenefitThreshold), 0),
        col(&policy(Policy::CostOptimal), 0),
        col(&|c| c.served_policy().map_or(f64::NAN, |r| r.test.net_benefit), 0),
        served_counts(runs, pick),
        col(&|c| c.policies.first().map_or(f64::NAN, |r| r.test.accept_all), 0),
        col(&|c| c.policies.first().map_or(f64::NAN, |r| r.test.refuse_all), 0),
    );
}

/// Which policies the picked candidate served across seeds, e.g. `net-benefit ×3, f1 ×2`, first seen first.
fn served_counts(runs: &[SeedRun], pick: &dyn Fn(&SeedRun) -> &Candidate) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in runs.iter().map(|r| pick(r).model.policy().as_str()) {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, k)) => *k += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.iter().map(|(n, k)| format!("{n} ×{k}")).collect::<Vec<_>>().join(", ")
}

fn seed_json(run: &SeedRun) -> Value {
    json!({
        "seed": run.seed,
        "selected": run.chosen().name(),
        "candidates": run.candidates.iter().map(|c| json!({
            "name": c.name(),
            "fit_seconds": c.fit_time.as_secs_f64(),
            "validation_f1": c.validation.f1,
            "test": c.test.to_wire(),
            "policy": c.model.policy().as_str(),
            "calibration_test": c.calibration_test.to_wire(),
            "policies": c.policies.iter().map(|p| p.to_wire()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
