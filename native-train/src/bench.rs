//! Timings against the project's targets: every stage of the pipeline, from
//! reading the CSV to the written outputs (`bench`), and `core`'s scoring —
//! one transaction, the batch API, an explanation — on a trained model's test
//! rows or on any artifact and replay file (`bench-model`). Medians and minima
//! of repeated runs, printed.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use fraud_core::{Model, ModelKind, Schema, Scorer, Training};
use indicatif::ProgressBar;

use crate::data::rows_of;
use crate::input::{self, DataChoice, Input, ScoringFiles};
use crate::output::write_outputs;
use crate::pipeline::{run, Config, Outcome, Source};
use crate::stats::median_min;

/// Runs the whole pipeline `runs` times (at least once) on `data` with the
/// protocol `config` gives for its schema, then times scoring on the last
/// run's test rows.
pub fn pipeline(data: &DataChoice, config: impl Fn(&Schema) -> Config, runs: usize) -> Result<()> {
    let runs = runs.max(1);
    let out = std::env::temp_dir().join(format!("native-train-bench-{}", std::process::id()));
    let mut load_ms = Vec::new();
    let mut total_ms = Vec::new();
    let mut stage_ms: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut last: Option<(Outcome, Source)> = None;
    let mut first_run_peak = None;
    for r in 0..runs {
        let t = Instant::now();
        let Input { data, source, load_time } = input::load(data)?;
        let cfg = config(&data.schema);
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
    timing_line("load CSV + SHA-256", load_ms, "ms", "");
    for (name, v) in stage_ms {
        timing_line(name, v, "ms", "");
    }
    timing_line("WHOLE PIPELINE", total_ms, "ms", "   target <= 2000 ms");
    if let Some(mb) = first_run_peak {
        println!("  {:<22} {mb:>8.1} MB          target <= 400 MB (first run)", "peak RSS (VmHWM)");
    }
    for c in &outcome.candidates {
        let how = match &c.training {
            Training::Logistic(l) => format!("{} Newton iterations, max|grad| {:.1e}", l.iterations, l.max_gradient),
            Training::Trees(t) => format!("{} trees kept of {} boosted", t.rounds, t.rounds_run),
        };
        println!("  fit {:<22} {} rows, {how}, {:.0} ms", c.name(), c.rows_fitted, c.fit_time.as_secs_f64() * 1e3);
    }

    // Core scoring on the test split's raw rows.
    let model: Model = outcome.artifact.model()?;
    scoring(&model, &rows_of(outcome.replay.x.view()), runs)
}

/// Times scoring with `files`' model on its replay rows, `runs` times.
pub fn model(files: &ScoringFiles, runs: usize) -> Result<()> {
    let (loaded, replay, cells) = files.load_with_cells()?;
    // The file's own size (re-encoding could differ for an older format version).
    let bytes = std::fs::metadata(&files.model).with_context(|| format!("reading {}", files.model.display()))?.len();
    println!("{} ({} bytes)", files.model.display(), bytes);
    scoring(&loaded.model, replay.values(), runs)?;
    rules(&loaded.model, replay.values(), runs)?;
    request_parsing(&cells, &loaded.model, runs)
}

/// Fifty rules over `schema` that rarely match, so a transaction runs through
/// all of them: comparisons on its numeric features (a few `and`s, `or`s and
/// `not`s, an inline set), on the probability and the expected loss, a list
/// of ids, and five shadow rules. Every rule's threshold is far in the tail.
pub fn fifty_rules(schema: &Schema) -> (String, Vec<(String, String)>) {
    let numeric: Vec<&str> =
        (0..schema.len()).filter(|&i| schema.categories(i).is_none()).map(|i| schema.name(i)).collect();
    let mut text = String::from("version bench-50\naccept trusted if :id: in @trusted\n");
    let f = |k: usize| numeric.get(k % numeric.len().max(1)).copied().unwrap_or("");
    for k in 0..44 {
        let action = ["refuse", "review"][k % 2];
        let cond = match k % 4 {
            0 if !numeric.is_empty() => format!(":{}: > 1e9 and :probability: >= 0.5", f(k)),
            1 if !numeric.is_empty() => {
                format!("(:{}: < -1e9 or :{}: > 1e9) and not :probability: < 0.9", f(k), f(k + 1))
            }
            2 if !numeric.is_empty() => format!(":{}: in (1e9, 2e9, 3e9) or :expected_loss: > 1e12", f(k)),
            _ => format!(":probability: > 0.999999 and :expected_loss: > {}", 1e9 + k as f64),
        };
        text.push_str(&format!("{action} r{k} if {cond}\n"));
    }
    for k in 0..5 {
        text.push_str(&format!("shadow refuse s{k} if :probability: >= 0.9999 and :model_decision: == \"refuse\"\n"));
    }
    let trusted = (0..1000).map(|i| format!("id-{i}\n")).collect();
    (text, vec![("trusted".to_string(), trusted)])
}

/// Times the decision layer: `fifty_rules` over every row, on its own (the
/// probabilities given), and the batch scoring with and without it.
fn rules(model: &Model, rows: &[f64], runs: usize) -> Result<()> {
    let (text, lists) = fifty_rules(model.schema());
    let named: Vec<(&str, &str)> = lists.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let set = fraud_core::RuleSet::compile(&text, &named, model.schema()).context("the benchmark's rules")?;
    let n = rows.len() / model.width();
    let mut probs = vec![0.0; n];
    model.score_batch(rows, &mut probs)?;
    let mut refused = vec![false; n];
    model.decide_batch(rows, &probs, &mut refused);
    let (mut alone, mut without, mut with) = (Vec::new(), Vec::new(), Vec::new());
    let mut matched = 0usize;
    for _ in 0..runs.max(5) {
        let t = Instant::now();
        matched = 0;
        for (k, x) in rows.chunks_exact(model.width()).enumerate() {
            let v = set.verdict(model, black_box(x), Some("id-x"), probs[k], refused[k]);
            matched += v.rule.is_some() as usize;
        }
        alone.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let t = Instant::now();
        model.score_batch(black_box(rows), &mut probs)?;
        model.decide_batch(rows, &probs, &mut refused);
        black_box(&refused);
        without.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let t = Instant::now();
        model.score_batch(black_box(rows), &mut probs)?;
        model.decide_batch(rows, &probs, &mut refused);
        let mut actions = 0u64;
        for (k, x) in rows.chunks_exact(model.width()).enumerate() {
            actions += set.verdict(model, x, None, probs[k], refused[k]).action as u64;
        }
        black_box(actions);
        with.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    println!(
        "\nDecision layer: 50 rules (45 deciding, 5 shadow) over {n} rows, {matched} decided by a rule; median (min)"
    );
    timing_line("50 rules, per row", alone, "ns", "   target <= 100 ns");
    timing_line("score + decide", without, "ns", "   per row, no rules");
    timing_line("score + decide + rules", with, "ns", "   per row, 50 rules");
    Ok(())
}

/// Times what a server does before scoring: parse a `/predict` body (the
/// replay's cells as a client sends them: numbers, strings, nulls) and
/// validate it against the schema. Prints the median and minimum per body.
fn request_parsing(cells: &[Vec<dataset::Cell>], model: &Model, runs: usize) -> Result<()> {
    let schema = model.schema();
    let bodies: Vec<Vec<u8>> = cells
        .iter()
        .take(20_000)
        .enumerate()
        .map(|(i, row)| {
            contract::request_body_of(
                contract::RequestId::Row(i),
                schema.features(),
                row.iter().map(dataset::Cell::raw),
            )
        })
        .collect();
    let mut times = Vec::new();
    for _ in 0..runs.max(5) {
        let t = Instant::now();
        let mut valid = 0usize;
        for body in &bodies {
            let item = contract::parse::transaction(black_box(body), schema);
            valid += matches!(item, Ok(contract::Item::Object(contract::Parsed { transaction: Ok(_), .. }))) as usize;
        }
        if valid != bodies.len() {
            bail!("{} of {} replay bodies did not validate", bodies.len() - valid, bodies.len());
        }
        times.push(t.elapsed().as_secs_f64() * 1e9 / bodies.len().max(1) as f64);
    }
    let strings = cells.iter().flatten().filter(|c| matches!(c, dataset::Cell::Text(_))).count();
    let nulls = cells.iter().flatten().filter(|c| matches!(c, dataset::Cell::Missing)).count();
    let mean_len = bodies.iter().map(Vec::len).sum::<usize>() as f64 / bodies.len().max(1) as f64;
    println!(
        "\nRequest bodies ({} rows, {mean_len:.0} bytes on average; {strings} strings, {nulls} nulls in the file)",
        bodies.len()
    );
    timing_line("JSON parse + validate", times, "ns", "   per body");
    Ok(())
}

/// Times `core` on `rows` (row-major): one transaction at a time, the batch
/// API, and one explanation (TreeSHAP for trees). Prints medians and minima.
fn scoring(model: &Model, rows: &[f64], runs: usize) -> Result<()> {
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
        Scorer::Logistic(_) => "logistic".to_string(),
        Scorer::Trees(t) => format!("{} trees, depth <= {}", t.len(), t.max_depth()),
    };
    let (targets_single, targets_batch, targets_explain) = match model.kind() {
        ModelKind::Logistic => ("<= 50 ns", "<= 20 ns", ""),
        ModelKind::Trees => ("<= 1000 ns (150 trees)", "<= 200 ns (150 trees)", "<= 100000 ns"),
    };
    println!("\nCore scoring ({what}) over {n} test rows, median (min)");
    timing_line("one transaction", single, "ns", &format!("   target {targets_single}"));
    timing_line("batch, per row", batch, "ns", &format!("   target {targets_batch} (includes validating each row)"));
    timing_line("explain (all features)", explain, "ns", &format!("   {targets_explain}"));
    Ok(())
}

/// One measurement's line: its median and minimum in `unit`, then `note`.
fn timing_line(name: &str, values: Vec<f64>, unit: &str, note: &str) {
    let (median, min) = median_min(values);
    println!("  {name:<22} {median:>8.1} {unit} ({min:.1}){note}");
}

/// The process's peak resident memory, where Linux reports it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
