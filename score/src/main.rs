//! `score`: any model artifact + a CSV of transactions → a CSV of probabilities,
//! decisions and reasons, streaming in constant memory on every core.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use score::{score, Options, LISTED_BAD_LINES};

/// Scores a CSV of transactions with a model artifact (`model.bin` of either kind).
///
/// The input needs the model's feature columns by header name (its card's
/// `schema`: Time, V1..V28, Amount for the Kaggle file; any order; extra columns
/// ignored; the label optional). Each output row has the input line number, the
/// id column (--id, or the model's own id column when the file has it), the calibrated fraud probability (the
/// served one, bit for bit), the decision of the model's policy (1 = refuse) and
/// the top --reasons features by contribution to the logit (TreeSHAP for trees:
/// ~85 µs a row; --reasons 0 for speed). The file is read in blocks and scored on
/// every core: memory stays constant however long it is. A bad line (malformed,
/// non-numeric, out of range) stops the run naming its line and column — nothing
/// is written to an output file — or, with --skip-bad, is skipped, counted and
/// listed. Output files are written to a temporary name and renamed when complete.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// The transactions (CSV); `-` reads standard input.
    #[arg(long, default_value = "-")]
    input: PathBuf,
    /// Where to write the scores (CSV); `-` writes standard output.
    #[arg(long, default_value = "-")]
    output: PathBuf,
    /// The input's id column, copied to each output row (never a feature). Default: the model's
    /// id column (its card's `schema.id`) when the input has it.
    #[arg(long)]
    id: Option<String>,
    /// Top reasons per row (0 for none).
    #[arg(long, default_value_t = 3)]
    reasons: usize,
    /// Skip bad lines (counted, the first 20 listed) instead of stopping at the first.
    #[arg(long)]
    skip_bad: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Add a `margin` column after is_fraud: the raw logit before calibration, as a shortest
    /// round-trip decimal (for an imported model, the library's own margin bit for bit).
    #[arg(long)]
    margin: bool,
    /// Decide each row with this rules file: adds `action`, `rule` and `shadow_rules` columns after
    /// is_fraud (and margin). Its lists are read from --lists, else `lists/` beside it.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The rules' lists folder (`NAME.txt` is `@NAME`).
    #[arg(long, requires = "rules")]
    lists: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("score: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_std(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn run(cli: Cli) -> Result<()> {
    let model = fraud_core::artifact::read_file(&cli.model)?.model;
    let rules = match &cli.rules {
        Some(path) => {
            let files = fraud_core::rules::RulesFiles { rules: path.clone(), lists: cli.lists.clone() };
            let rules = files.load(model.schema()).context("cannot load the rules")?;
            for note in rules.notes() {
                eprintln!("score: note: {note}");
            }
            Some(std::sync::Arc::new(rules))
        }
        None => None,
    };
    let options = Options {
        rules: rules.clone(),
        reasons: cli.reasons,
        skip_bad: cli.skip_bad,
        id_column: cli.id.clone(),
        threads: cli.threads.unwrap_or(Options::default().threads),
        margin: cli.margin,
        ..Options::default()
    };
    let total = if is_std(&cli.input) { None } else { std::fs::metadata(&cli.input).ok().map(|m| m.len()) };
    let bar = if cli.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        match total {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} [{elapsed_precise}, eta {eta}]")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            None => ProgressBar::new_spinner(),
        }
    };
    let progress = |done: u64| bar.set_position(done);
    let input: Box<dyn std::io::BufRead + Send> = if is_std(&cli.input) {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin()))
    } else {
        let file = File::open(&cli.input).with_context(|| format!("opening {}", cli.input.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let start = Instant::now();
    let report = if is_std(&cli.output) {
        let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout());
        score(&model, input, &mut out, &options, &progress)?
    } else {
        dataset::write_atomic(&cli.output, |out| {
            score(&model, input, out, &options, &progress).map_err(anyhow::Error::from)
        })
        .with_context(|| format!("writing {}", cli.output.display()))?
    };
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "scored {} rows in {seconds:.2} s ({:.0} rows/s, {:.0} MB/s), {} refused by the {} policy{}",
        report.rows,
        report.rows as f64 / seconds.max(1e-9),
        report.bytes as f64 / 1e6 / seconds.max(1e-9),
        report.refused,
        model.policy().as_str(),
        if is_std(&cli.output) { String::new() } else { format!("; wrote {}", cli.output.display()) }
    );
    if let Some(rules) = &rules {
        let [accept, review, refuse] = report.actions;
        eprintln!("rules {}: {accept} accepted, {review} sent to review, {refuse} refused", rules.version());
    }
    if report.bad_lines > 0 {
        eprintln!("skipped {} bad lines; the first {}:", report.bad_lines, report.listed.len().min(LISTED_BAD_LINES));
        for b in &report.listed {
            eprintln!("  {b}");
        }
    }
    Ok(())
}
