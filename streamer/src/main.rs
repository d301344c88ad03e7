//! `streamer`: replays transactions to a `/predict` URL, one request each.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use streamer::{stream, Config, Outcome, Pace};
use tracing_subscriber::EnvFilter;

/// Replays transactions one by one to a /predict URL — the native server
/// (`fraud-server`) or the Worker under `wrangler dev` — like a live feed.
///
/// Pacing: `--delay-ms`, `--rate`, or `--speed` (the data's own `Time` gaps, when the model has that column,
/// divided by SPEED); with none of them it sends as fast as `--concurrency`
/// allows. Failed requests (connection errors, timeouts, 5xx) are retried with
/// exponential backoff, then counted as failed; 4xx answers are not retried.
/// Every transaction ends up ok, failed or (after Ctrl-C) not sent, and the
/// summary shows the counts, throughput, latency percentiles and the confusion
/// matrix of the served decisions against the file's labels, the transactions and
/// money per action taken (accept, review, refuse: the server's rules, else its model).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The /predict URL to send to — or `nats://host:port` to publish the transactions to the
    /// consumer group's JetStream stream (subject `transactions`) and report what the group did.
    #[arg(long, default_value = "http://127.0.0.1:8000/predict")]
    url: String,
    /// With nats://: seconds to wait for the group to decide everything before reporting.
    #[arg(long, default_value_t = 60.0)]
    reconcile_s: f64,
    /// A CSV with the served model's feature columns and label (the trainer's replay file by
    /// default); the bodies follow the schema of GET /model (an id column becomes the request id).
    #[arg(long, default_value = "model/replay.csv")]
    data: PathBuf,
    /// With nats://: the artifact whose schema the messages follow (an HTTP URL asks GET /model).
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Fixed delay between sends, in milliseconds.
    #[arg(long, conflicts_with_all = ["rate", "speed"])]
    delay_ms: Option<f64>,
    /// Target rate, transactions per second.
    #[arg(long, conflicts_with = "speed")]
    rate: Option<f64>,
    /// Replay the data's `Time` gaps, SPEED times faster than real time.
    #[arg(long)]
    speed: Option<f64>,
    /// With --speed: the longest wait between two transactions, in milliseconds.
    #[arg(long, default_value_t = 2000.0)]
    max_gap_ms: f64,
    /// Send at most this many transactions (from the start of the file).
    #[arg(long)]
    limit: Option<usize>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Retries per transaction after a failed attempt.
    #[arg(long, default_value_t = 6)]
    retries: u32,
    /// First retry delay in milliseconds (doubles each retry).
    #[arg(long, default_value_t = 100)]
    backoff_ms: u64,
    /// Per-attempt timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    timeout_ms: u64,
    /// What one review costs an analyst, in the model's currency: the money of the transactions the
    /// server's (or the consumers') rules send to review, which a review settles correctly.
    #[arg(long, default_value_t = fraud_core::DEFAULT_REVIEW_COST)]
    cost_review: f64,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    /// Write every transaction's outcome (one JSON object per line, file order) to this file.
    #[arg(long)]
    outcomes: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn positive(name: &str, v: f64) -> Result<f64> {
    anyhow::ensure!(v.is_finite() && v > 0.0, "--{name} must be a positive number, got {v}");
    Ok(v)
}

fn pace(cli: &Cli) -> Result<Pace> {
    Ok(match (cli.delay_ms, cli.rate, cli.speed) {
        (Some(ms), _, _) => {
            anyhow::ensure!(ms.is_finite() && ms >= 0.0, "--delay-ms must be >= 0, got {ms}");
            Pace::Delay(Duration::from_secs_f64(ms / 1000.0))
        }
        (_, Some(r), _) => Pace::Rate(positive("rate", r)?),
        (_, _, Some(s)) => Pace::TimeGaps {
            speed: positive("speed", s)?,
            max_gap: Duration::from_secs_f64(positive("max-gap-ms", cli.max_gap_ms)? / 1000.0),
        },
        _ => Pace::Unpaced,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("streamer: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(true) when every planned transaction was scored.
fn run(cli: Cli) -> Result<bool> {
    let config = Config {
        url: cli.url.clone(),
        data: cli.data.clone(),
        model: cli.model.clone(),
        pace: pace(&cli)?,
        limit: cli.limit,
        concurrency: cli.concurrency.max(1),
        retries: cli.retries,
        backoff: Duration::from_millis(cli.backoff_ms),
        request_timeout: Duration::from_millis(cli.timeout_ms.max(1)),
        progress: !cli.quiet,
        review_cost: cli.cost_review,
    };
    anyhow::ensure!(
        cli.cost_review.is_finite() && cli.cost_review >= 0.0,
        "--cost-review must be a number >= 0, got {}",
        cli.cost_review
    );
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    if cli.url.starts_with("nats://") {
        let reconcile = Duration::from_secs_f64(cli.reconcile_s.max(0.0));
        let topology = contract::nats::Topology::default();
        let summary = runtime.block_on(streamer::nats::publish(&config, &topology, reconcile))?;
        println!("{summary}");
        if let Some(path) = &cli.summary_json {
            std::fs::write(path, serde_json::to_vec_pretty(&summary)?)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(summary.pending == 0 && summary.decided + summary.dead_lettered >= summary.published);
    }
    let summary = runtime.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: finishing the requests in flight, sending no more");
                flag.store(true, Ordering::Relaxed);
            }
        });
        stream(config, stop).await
    })?;
    println!("{summary}");
    if let Some(path) = &cli.summary_json {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &cli.outcomes {
        let mut text = String::new();
        for (i, o) in summary.outcomes.iter().enumerate() {
            let mut v = serde_json::to_value(o)?;
            v["row"] = i.into();
            text.push_str(&v.to_string());
            text.push('\n');
        }
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let all_ok = summary.ok == summary.planned && summary.outcomes.iter().all(|o| matches!(o, Outcome::Ok { .. }));
    Ok(all_ok)
}
