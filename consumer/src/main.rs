//! `fraud-consumer`: one member of the group scoring a NATS JetStream stream.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use consumer::{run_live, Config, Scoring};
use contract::nats::Topology;
use fraud_core::rules::RulesFiles;

/// Scores transactions from a NATS JetStream stream, as one of a group.
///
/// Pulls batches from a durable pull consumer every instance shares (start as many
/// as you like, on any machines), scores them with the model, publishes one decision
/// per transaction (id, probability, decision, top reasons, model id; with `--rules`
/// also the action, deciding rule, rule set version and shadow rules) to the
/// decisions subject, or a dead letter with the error code and fields for a bad one,
/// and acknowledges a message only once JetStream confirmed its outcome. Each outcome
/// carries a `Nats-Msg-Id` from the transaction's stream sequence, so a redelivery
/// (a consumer killed mid-batch) is dropped by JetStream's duplicate window. Creates
/// the streams and the consumer if missing. SIGINT/SIGTERM: finish the batch in
/// hand, acknowledge it, stop; a JSON summary goes to stdout.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The model artifact.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Score with the fleet's model: the current publication of `native-train publish --nats`
    /// in this JetStream object store bucket (nats://host:port/bucket), with its rules; each
    /// new publication takes over at the next batch (a corrupt one is refused and logged, the
    /// old model scores on). Each is kept as --model, so a start while NATS is away uses the last.
    #[arg(long, value_name = "nats://host:port/bucket", conflicts_with = "rules", value_parser = fleet::Source::parse)]
    model_from: Option<fleet::Source>,
    /// The NATS server (or any member of a cluster).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Stream and subject transactions are published to.
    #[arg(long, default_value_t = Topology::default().stream)]
    stream: String,
    #[arg(long, default_value_t = Topology::default().subject)]
    subject: String,
    /// The durable consumer the group shares.
    #[arg(long, default_value_t = Topology::default().durable)]
    durable: String,
    /// Stream for decisions and dead letters, and their subjects.
    #[arg(long, default_value_t = Topology::default().decisions_stream)]
    decisions_stream: String,
    #[arg(long, default_value_t = Topology::default().decisions_subject)]
    decisions_subject: String,
    #[arg(long, default_value_t = Topology::default().dead_letter_subject)]
    dead_letter_subject: String,
    /// Messages per pull (at most 4,000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Seconds a delivered message may stay unacknowledged before it is redelivered to another consumer.
    #[arg(long, default_value_t = 10.0)]
    ack_wait_s: f64,
    /// Top reasons per decision (0 for none).
    #[arg(long, default_value_t = 3)]
    reasons: usize,
    /// A rules file deciding accept / review / refuse over the model (see README, "Rules and lists").
    /// Each decision then carries its action, the deciding rule, the rule set's version and the shadow
    /// rules that matched. Read once at start-up; a bad file is an error.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The folder of the rules' lists (`NAME.txt` is `@NAME`; default: `lists/` beside the rules file).
    #[arg(long, requires = "rules")]
    lists: Option<PathBuf>,
    /// Log every decision to the decision log the servers write (a SQLite file or a postgres:// URL;
    /// a fleet shares one on PostgreSQL) before acknowledging its message: an ack then means logged.
    #[arg(long, value_name = "PATH|postgres://…")]
    decision_log: Option<String>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    match start(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fraud-consumer: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `bytes` over `path` (a temporary file renamed over it), so a restart uses them.
fn keep(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("bin.kept");
    let kept = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = kept {
        tracing::warn!(file = %path.display(), error = %e, "cannot keep the published model on disk");
    }
}

/// The model to start with: the fleet's current publication, else (NATS away, nothing
/// published) the kept --model.
fn first_scoring(cli: &Cli, runtime: &tokio::runtime::Runtime) -> Result<Scoring> {
    if let Some(source) = &cli.model_from {
        match runtime.block_on(fleet::fetch(source)) {
            Ok(checked) => {
                keep(&cli.model, &checked.bundle.artifact);
                tracing::info!(source = %source, model_id = checked.loaded.id, "scoring with the fleet's publication");
                return Ok(Scoring { model: checked.loaded.model, model_id: checked.loaded.id, rules: checked.rules });
            }
            Err(e) if cli.model.is_file() => {
                tracing::warn!(source = %source, error = %format!("{e:#}"), "no publication yet: the kept --model scores until one arrives");
            }
            Err(e) => return Err(e.context(format!("--model-from {source}: nothing to score with"))),
        }
    }
    let fraud_core::Loaded { model, id: model_id, .. } = fraud_core::artifact::read_file(&cli.model)?;
    let rules = match &cli.rules {
        Some(path) => {
            let files = RulesFiles { rules: path.clone(), lists: cli.lists.clone() };
            let rules = files.load(model.schema()).context("cannot load the rules")?;
            for note in rules.notes() {
                tracing::warn!(file = %path.display(), "rules: {note}");
            }
            tracing::info!(version = rules.version(), rules = rules.rules().len(), file = %path.display(), "rules loaded");
            Some(rules)
        }
        None => None,
    };
    Ok(Scoring { model, model_id, rules })
}

fn register(log: &decision_log::Log, id: &str, name: &str, model: &fraud_core::Model) -> Result<()> {
    log.register_model(&contract::log::ModelInfo::of(id, name, model.schema()))
        .with_context(|| format!("cannot record the model in the decision log {}", log.shown()))
}

fn start(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let scoring = first_scoring(&cli, &runtime)?;
    let log = match &cli.decision_log {
        Some(target) => {
            let target = decision_log::Target::parse(target);
            let shown = target.shown();
            let log = decision_log::Log::open(decision_log::Config::new(target))
                .with_context(|| format!("cannot open the decision log {shown}"))?;
            register(&log, &scoring.model_id, scoring.model.name(), &scoring.model)?;
            tracing::info!(log = %shown, "decision log: a message is acknowledged once its decision is logged");
            Some(Arc::new(log))
        }
        None => None,
    };
    let config = Config {
        url: cli.nats,
        topology: Topology {
            stream: cli.stream,
            subject: cli.subject,
            durable: cli.durable,
            decisions_stream: cli.decisions_stream,
            decisions_subject: cli.decisions_subject,
            dead_letter_subject: cli.dead_letter_subject,
        },
        // The client confirms at most 5,000 publishes at a time; a batch's outcomes must fit.
        batch: cli.batch.clamp(1, 4_000),
        ack_wait: Duration::from_secs_f64(cli.ack_wait_s.max(0.1)),
        reasons: cli.reasons,
        ..Config::default()
    };
    let (publish, current) = tokio::sync::watch::channel(Arc::new(scoring));
    runtime.block_on(async move {
        if let Some(source) = cli.model_from.clone() {
            let (log, kept) = (log.clone(), cli.model.clone());
            tokio::spawn(fleet::watch(source, move |event| {
                match event {
                    fleet::Event::New(c) => {
                        if c.loaded.id == publish.borrow().model_id && c.rules.as_ref() == publish.borrow().rules.as_ref() {
                            return true;
                        }
                        let name = c.loaded.artifact.model_name.clone();
                        if let Some(log) = &log {
                            if let Err(e) = register(log, &c.loaded.id, &name, &c.loaded.model) {
                                tracing::error!(error = %format!("{e:#}"), "the publication is refused: the log cannot record it");
                                return true;
                            }
                        }
                        keep(&kept, &c.bundle.artifact);
                        tracing::info!(model_id = c.loaded.id, "the fleet's new publication scores from the next batch");
                        let next = Scoring { model: c.loaded.model, model_id: c.loaded.id, rules: c.rules };
                        let _ = publish.send(Arc::new(next));
                    }
                    fleet::Event::Refused(why) => {
                        tracing::error!(error = why, "the fleet's new publication is refused; the previous model scores on")
                    }
                }
                true
            }));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            flag.store(true, Ordering::Relaxed);
        });
        tracing::info!(model_id = current.borrow().model_id, nats = config.url, "consuming");
        let mut last = std::time::Instant::now();
        let counts = run_live(current, &config, log.as_deref(), stop, |c| {
            if last.elapsed() > Duration::from_secs(2) {
                tracing::info!(consumed = c.consumed, decided = c.decided, dead_lettered = c.dead_lettered, redelivered = c.redelivered, unreadable = c.unreadable, log_failures = c.log_failures, broker_errors = c.broker_errors, lag = c.lag, "progress");
                last = std::time::Instant::now();
            }
        })
        .await?;
        println!("{}", serde_json::to_string(&counts)?);
        Ok(())
    })
}
