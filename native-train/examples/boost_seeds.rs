//! The tree booster on our protocol over split seeds: stratified 60/20/20 split, trees fitted on raw train
//! rows with early stopping on validation, threshold = max F1 on validation, test figures once.
//! Not yet a candidate of the pipeline (core cannot score trees yet); this measures it.
//!
//! `cargo run --release -p native-train --example boost_seeds -- data/creditcard.csv 0,1,2,3,4 [fraud_weight]`

use std::time::Instant;

use native_train::boost::{boost, BoostOptions, Rows};
use native_train::data::load_creditcard as load_csv;
use native_train::metrics::{average_precision, best_f1_threshold, evaluate};
use native_train::split::stratified_split;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("data/creditcard.csv", String::as_str);
    let seeds: Vec<u64> =
        args.get(2).map_or("0,1,2,3,4", String::as_str).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let fraud_weight: f64 = args.get(3).map_or(Ok(1.0), |s| s.parse())?;
    let data = load_csv(std::path::Path::new(path))?.data;
    let x = data.x.as_slice().expect("a loaded dataset is row-major");
    let d = data.x.ncols();
    let (mut aps, mut f1s) = (Vec::new(), Vec::new());
    for &seed in &seeds {
        let split = stratified_split(&data.y, 0.2, 0.2, seed);
        let take = |idx: &[usize]| -> (Vec<f64>, Vec<u8>) {
            (
                idx.iter().flat_map(|&i| x[i * d..(i + 1) * d].iter().copied()).collect(),
                idx.iter().map(|&i| data.y[i]).collect(),
            )
        };
        let (xt, yt) = take(&split.train);
        let (xv, yv) = take(&split.validation);
        let (xs, ys) = take(&split.test);
        let env = |k: &str, d: f64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
        let base = BoostOptions::default();
        let opts = BoostOptions {
            seed,
            fraud_weight,
            learning_rate: env("LR", base.learning_rate),
            max_leaves: env("LEAVES", base.max_leaves as f64) as usize,
            max_depth: env("DEPTH", base.max_depth as f64) as usize,
            min_rows_leaf: env("MINROWS", base.min_rows_leaf as f64) as usize,
            min_child_hessian: env("MINHESS", base.min_child_hessian),
            l2: env("L2", base.l2),
            early_stopping_rounds: env("PATIENCE", base.early_stopping_rounds as f64) as usize,
            neg_fraction: env("NEGF", base.neg_fraction),
            col_fraction: env("COLF", base.col_fraction),
            ..base
        };
        let t = Instant::now();
        let (model, report) = boost(Rows { x: &xt, y: &yt, d }, Rows { x: &xv, y: &yv, d }, &opts)?;
        let fit = t.elapsed();
        let score =
            |x: &[f64]| -> Vec<f64> { x.chunks_exact(d).map(|r| 1.0 / (1.0 + (-model.logit(r)).exp())).collect() };
        let (sv, ss) = (score(&xv), score(&xs));
        let (threshold, val_f1) = best_f1_threshold(&sv, &yv);
        let test = evaluate(&ss, &ys, threshold);
        let ap = average_precision(&ss, &ys);
        println!(
            "seed {seed}: {} trees ({} run), fit {:.2} s, val F1 {val_f1:.4}, test AP {ap:.4}, F1 {:.4} (P {:.3} R {:.3})",
            report.rounds, report.rounds_run, fit.as_secs_f64(), test.f1, test.precision, test.recall
        );
        aps.push(ap);
        f1s.push(test.f1);
    }
    let ms = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt();
        format!("{m:.3} ± {s:.3}")
    };
    println!("trees, {} seeds: test AP {}, test F1 {}", seeds.len(), ms(&aps), ms(&f1s));
    Ok(())
}
