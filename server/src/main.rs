//! `fraud-server`: serves the trained model over HTTP on loopback by default.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use fraud_core::rules::RulesFiles;
use http_api::{MAX_BATCH, MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES};
use server::reload::Watch;
use server::{defaults, router, serve, shutdown_signal, ConnectionLimits, Options};
use tracing_subscriber::EnvFilter;

/// Serves the fraud model: POST /predict, POST /predict/batch, GET /health, GET /model, GET /metrics.
///
/// A missing or corrupt artifact stops start-up with the reason. While serving, the model
/// (with its rules) is swapped without a dropped request on SIGHUP, when the artifact file
/// changes, and on PUT /admin/model; a bad artifact is refused and the old model serves on. Body and batch limits are the HTTP contract's
/// (GET /model lists them under `limits`). Stops gracefully on SIGINT or SIGTERM,
/// finishing the requests in flight. Logs go to stderr (RUST_LOG=debug for
/// one line per request); the bound address is printed on stdout.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// The model artifact written by `native-train train`.
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Serve the fleet's model: the current publication of `native-train publish --nats` in
    /// this JetStream object store bucket (nats://host:port/bucket), with the rules published
    /// with it; the bucket is watched and each new publication swapped in within seconds (a
    /// corrupt one is refused and counted; the old model serves on). Each publication is kept
    /// as --model, so a start while NATS is away serves the last one.
    #[arg(long, value_name = "nats://host:port/bucket", conflicts_with = "rules", value_parser = fleet::Source::parse)]
    model_from: Option<fleet::Source>,
    /// A challenger artifact scored in shadow on every transaction: the answer stays the
    /// champion's (--model); the decision log keeps the challenger's probability and action
    /// beside it, and GET /metrics compares the two (flagged rates, agreement, score PSI).
    /// It must read the same requests (the same schema). Reloaded like --model; PUT
    /// /admin/promote makes it the champion and the champion its shadow (the files exchanged).
    #[arg(long, value_name = "CHALLENGER.bin")]
    shadow: Option<PathBuf>,
    /// Address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    addr: IpAddr,
    /// Port to listen on (0 picks a free one; the chosen port is printed).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Time a client has to send a whole request, in milliseconds (else 408 `timeout`).
    #[arg(long, default_value_t = defaults::TIMEOUT_MS)]
    timeout_ms: u64,
    /// Time a client has to send its request headers, in milliseconds (else the connection is closed).
    #[arg(long, default_value_t = defaults::HEADER_TIMEOUT_MS)]
    header_timeout_ms: u64,
    /// Open connections beyond this are closed at once.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS)]
    max_connections: usize,
    /// Requests in flight before new ones are refused with 503 `overloaded` and Retry-After.
    #[arg(long, default_value_t = defaults::MAX_IN_FLIGHT)]
    max_in_flight: usize,
    /// Serve this folder's static files (the web page) at `/`.
    #[arg(long)]
    web: Option<PathBuf>,
    /// Origins whose web pages may call the API: `*` (any; the API uses no cookies) or a
    /// comma-separated list such as `https://fraud.example.com,http://localhost:5173`.
    #[arg(long, default_value = "*", value_parser = http_api::AllowedOrigins::parse)]
    cors_origins: http_api::AllowedOrigins,
    /// Transactions in the drift window of GET /metrics (0 turns drift watching off).
    #[arg(long, default_value_t = server::metrics::DEFAULT_DRIFT_WINDOW)]
    drift_window: usize,
    /// No GET /metrics (no per-request accounting at all).
    #[arg(long)]
    no_metrics: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// A rules file deciding accept / review / refuse over the model (see README, "Rules and lists").
    /// Reloaded on SIGHUP and when it or a list changes; a bad file is refused and the old rules kept.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The folder of the rules' lists (`NAME.txt` is `@NAME`; default: `lists/` beside the rules file).
    #[arg(long, requires = "rules")]
    lists: Option<PathBuf>,
    /// Log every decision before answering it: a SQLite file (created if missing; WAL) or a
    /// `postgres://user:password@host:port/db` URL shared by several servers. A 200 then means
    /// stored; when the log cannot take a decision the request gets 503 with Retry-After.
    #[arg(long, value_name = "PATH|postgres://…")]
    decision_log: Option<String>,
    /// SQLite only: `full` fsyncs every (group) commit, so a 200 survives power loss; `normal`
    /// survives a crash of the server (SIGKILL) but not of the machine, and is faster.
    #[arg(long, default_value = "full", requires = "decision_log", value_parser = ["full", "normal"])]
    decision_log_sync: String,
    /// SQLite only: cap the log file at this many MiB (503 once full, as on a full disk).
    #[arg(long, requires = "decision_log")]
    decision_log_max_mib: Option<u64>,
    /// Admin tokens for PUT /admin/model, PUT /admin/promote and, with --decision-log, POST /labels, GET /decisions/{id},
    /// GET /reviews, POST /reviews/{id}: a file of `NAME sha256:HEX` lines (see --hash-token).
    /// Without one those routes answer 403.
    #[arg(long)]
    admin_token_file: Option<PathBuf>,
    /// With --decision-log: GET /metrics shows precision and recall on the decisions whose outcome
    /// is known — labelled, or unlabelled and older than this (counted legitimate). `90d`, `12h`, `30m`.
    #[arg(long, default_value = "90d", value_parser = contract::log::parse_duration_ms, requires = "decision_log")]
    maturity: i64,
    /// Seconds between two tallies of those outcomes (each reads the whole log).
    #[arg(long, default_value_t = 60, requires = "decision_log")]
    outcomes_every_s: u64,
    /// Read a token on stdin, print its `sha256:HEX` for the token file, and exit.
    #[arg(long)]
    hash_token: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.hash_token {
        let mut token = String::new();
        if std::io::stdin().read_line(&mut token).is_err() || token.trim().is_empty() {
            eprintln!("fraud-server: error: --hash-token reads a token on stdin (one line)");
            return ExitCode::FAILURE;
        }
        println!("{}", server::tokens::hash(token.trim_end_matches(['\r', '\n'])));
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fraud-server: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open_log(cli: &Cli, target: &str) -> Result<(Arc<decision_log::Log>, Arc<dyn http_api::DecisionSink>)> {
    let target = decision_log::Target::parse(target);
    let shown = target.shown();
    let config = decision_log::Config {
        durability: if cli.decision_log_sync == "normal" {
            decision_log::Durability::ProcessCrash
        } else {
            decision_log::Durability::Fsync
        },
        max_bytes: cli.decision_log_max_mib.map(|m| m.saturating_mul(1 << 20)),
        ..decision_log::Config::new(target)
    };
    let log =
        Arc::new(decision_log::Log::open(config).with_context(|| format!("cannot open the decision log {shown}"))?);
    tracing::info!(log = %shown, sync = %cli.decision_log_sync, "decision log: a 200 means logged");
    let sink: Arc<dyn http_api::DecisionSink> = Arc::new(server::log::LogSink::new(log.clone()));
    Ok((log, sink))
}

/// The fleet's current publication; with NATS away or nothing published, `None` when
/// `model` holds a model to serve meanwhile (the watcher swaps the publication in later).
fn current_publication(source: &fleet::Source, model: &Path) -> Result<Option<fleet::Bundle>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match runtime.block_on(fleet::fetch(source)) {
        Ok(checked) => {
            tracing::info!(source = %source, model_id = checked.loaded.id, "serving the fleet's publication");
            Ok(Some(checked.bundle))
        }
        Err(e) if model.is_file() => {
            tracing::warn!(source = %source, error = %format!("{e:#}"), file = %model.display(), "no publication to serve yet: serving the kept model until one arrives");
            Ok(None)
        }
        Err(e) => Err(e.context(format!("--model-from {source}: nothing to serve, and no {} kept", model.display()))),
    }
}

/// Swaps in each new publication of `source` (decoding and checking off the event loop).
fn watch_publications(source: fleet::Source, swapper: Arc<server::swap::Swapper>) {
    tokio::spawn(fleet::watch(source, move |event| {
        match event {
            fleet::Event::New(checked) => {
                let why = format!("published ({})", checked.loaded.id);
                let _ = tokio::task::block_in_place(|| swapper.swap_published(&checked.bundle, &why));
            }
            fleet::Event::Refused(why) => swapper.publication_refused(&why),
        }
        true
    }));
}

fn run(cli: Cli) -> Result<()> {
    let rules_files = cli.rules.clone().map(|rules| RulesFiles { rules, lists: cli.lists.clone() });
    // Watched from before the first read, so no change is missed.
    let watched = std::iter::once(cli.model.clone()).chain(cli.shadow.clone()).collect();
    let watch = Watch::new(watched, rules_files.clone());
    let log = cli.decision_log.as_deref().map(|target| open_log(&cli, target)).transpose()?;
    let published = match &cli.model_from {
        Some(source) => current_publication(source, &cli.model)?,
        None => None,
    };
    let swapper = server::swap::Swapper::start(server::swap::SwapConfig {
        model_path: cli.model.clone(),
        shadow_path: cli.shadow.clone(),
        rules: rules_files,
        log: log.clone(),
        monitor_window: (!cli.no_metrics).then_some(cli.drift_window),
        published,
    })?;
    let served = swapper.live().current();
    if let (Some(rules), Some(files)) = (served.rules(), watch.rules()) {
        tracing::info!(version = rules.version(), rules = rules.rules().len(), file = %files.rules.display(), "rules loaded");
    }
    let tokens =
        cli.admin_token_file.as_deref().map(server::tokens::Tokens::read).transpose().map_err(anyhow::Error::msg)?;
    if tokens.is_none() {
        tracing::warn!("no --admin-token-file: PUT /admin/model and the decision log's routes are off (403)");
    }
    let admin = log.map(|(log, _)| {
        let lists = watch.rules().map(|files| {
            files.lists_dir().unwrap_or_else(|| files.rules.parent().unwrap_or(Path::new(".")).join("lists"))
        });
        Arc::new(server::admin::Admin { log, tokens: tokens.clone(), lists })
    });
    let monitor = swapper.monitor().cloned();
    if let (Some(m), Some(a)) = (&monitor, &admin) {
        m.watch_log(a.log.clone(), cli.maturity, Duration::from_secs(cli.outcomes_every_s.max(1)));
    }
    if let Some(web) = &cli.web {
        anyhow::ensure!(web.is_dir(), "--web {}: not a folder", web.display());
    }
    let options = Options {
        timeout: Duration::from_millis(cli.timeout_ms),
        max_in_flight: cli.max_in_flight,
        web_dir: cli.web,
        cors: cli.cors_origins,
        monitor: monitor.clone(),
        admin,
        swap: Some((swapper.clone(), tokens.map(Arc::new))),
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(cli.addr, cli.port);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        tracing::info!(
            model = served.model().name(),
            model_id = served.model_id(),
            challenger = served.challenger().map(|c| c.id.as_str()),
            threshold = served.model().threshold(),
            max_body_bytes = MAX_BODY_BYTES,
            max_batch = MAX_BATCH,
            max_batch_body_bytes = MAX_BATCH_BODY_BYTES,
            "model loaded"
        );
        server::reload::spawn(watch, swapper.clone());
        if let Some(source) = cli.model_from.clone() {
            watch_publications(source, swapper.clone());
        }
        println!("listening on http://{bound}");
        let limits = ConnectionLimits {
            header_timeout: Duration::from_millis(cli.header_timeout_ms),
            max_connections: cli.max_connections,
            ..ConnectionLimits::default()
        };
        serve(listener, router(served, &options), shutdown_signal(), &limits).await.context("serving")?;
        tracing::info!("stopped");
        Ok(())
    })
}
