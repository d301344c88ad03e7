//! The decision log: every decision a server answers, durable before the answer.
//!
//! Why a crate of its own: the server must not answer 200 for a decision the
//! log could lose, yet one fsync per request would cap throughput at the
//! disk's fsync rate. [`Log`] owns one writer thread that drains whatever
//! requests are waiting into **one transaction** (group commit): N concurrent
//! requests cost one commit, and each request's future resolves only when
//! that commit returned. A failed commit fails every request in it (they get
//! 503, never a 200 that is then lost); a full queue is refused at once
//! (503 `overloaded`) rather than queued without bound.
//!
//! Two backends behind one set of queries ([`sql`]): an embedded SQLite file
//! (WAL; `synchronous=FULL` by default, so a 200 survives power loss, or
//! `NORMAL`, which survives a process crash but not a power cut) and
//! PostgreSQL for several servers sharing one log (its default
//! `synchronous_commit=on` fsyncs every commit). Reads and admin writes
//! (labels, review closes) use a second connection, so they never wait
//! behind the queue.

mod postgres;
mod sql;
mod sqlite;
mod store;
pub mod testing;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use contract::log::{Cases, DecisionRecord, DecisionView, LabelStored, ModelInfo, Outcome, ReviewClose};
use contract::ErrorCode;
pub use store::{ExportCounts, ExportRow, Outcomes, ShadowCounts, ShadowedRow};

use crate::sql::{Conn, DbError, Val};

/// Where the log lives.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// An embedded SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://user:password@host:port/database`).
    Postgres(String),
}

impl Target {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file path.
    pub fn parse(text: &str) -> Target {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Target::Postgres(text.to_string())
        } else {
            Target::Sqlite(PathBuf::from(text))
        }
    }

    /// For logs and errors: a path, or the URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Target::Sqlite(p) => p.display().to_string(),
            Target::Postgres(url) => postgres::redact(url),
        }
    }
}

/// What a 200 survives (SQLite; PostgreSQL follows its server's `synchronous_commit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit fsynced (`synchronous=FULL`): survives power loss.
    #[default]
    Fsync,
    /// Commits reach the OS, fsynced at checkpoints (`synchronous=NORMAL`): survives a process
    /// crash (SIGKILL), not a power cut.
    ProcessCrash,
}

/// How to open a log.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where it lives.
    pub target: Target,
    /// SQLite's durability.
    pub durability: Durability,
    /// Requests (single or batch) waiting for the writer before new ones are refused with 503.
    pub queue: usize,
    /// Decisions per transaction at most (a burst is split into several commits beyond this).
    pub max_group_rows: usize,
    /// SQLite only: a cap on the file's size (the log answers 503 when it is reached, as on a full disk).
    pub max_bytes: Option<u64>,
}

impl Config {
    /// Defaults for `target`.
    pub fn new(target: Target) -> Config {
        Config { target, durability: Durability::Fsync, queue: 4096, max_group_rows: 50_000, max_bytes: None }
    }
}

/// Why a log operation failed; [`LogError::code`] is the contract's error code.
#[derive(Clone, Debug, PartialEq)]
pub enum LogError {
    /// The writer's queue is full: retry shortly.
    Overloaded,
    /// The database could not be written or read (disk full, file gone, server down).
    Unavailable(String),
    /// No such decision or case.
    NotFound(String),
    /// The operation conflicts with the stored state (a case already closed).
    Conflict(String),
    /// The request cannot be carried out as asked.
    Invalid(String),
}

impl LogError {
    /// The contract's error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            LogError::Overloaded => ErrorCode::Overloaded,
            LogError::Unavailable(_) => ErrorCode::LogUnavailable,
            LogError::NotFound(_) => ErrorCode::NotFound,
            LogError::Conflict(_) => ErrorCode::Conflict,
            LogError::Invalid(_) => ErrorCode::InvalidParameter,
        }
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::Overloaded => f.write_str("the decision log's queue is full; retry shortly"),
            LogError::Unavailable(m) => write!(f, "the decision log cannot be written: {m}"),
            LogError::NotFound(m) | LogError::Conflict(m) | LogError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LogError {}

impl From<DbError> for LogError {
    fn from(e: DbError) -> LogError {
        LogError::Unavailable(e.to_string())
    }
}

/// Either database, so the queries can be generic and the log not.
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

impl Conn for Backend {
    fn batch(&mut self, q: &str) -> Result<(), DbError> {
        match self {
            Backend::Sqlite(c) => c.batch(q),
            Backend::Postgres(c) => c.batch(q),
        }
    }
    fn exec(&mut self, q: &str, p: &[Val]) -> Result<u64, DbError> {
        match self {
            Backend::Sqlite(c) => c.exec(q, p),
            Backend::Postgres(c) => c.exec(q, p),
        }
    }
    fn each(
        &mut self,
        q: &str,
        p: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        match self {
            Backend::Sqlite(c) => c.each(q, p, row),
            Backend::Postgres(c) => c.each(q, p, row),
        }
    }
    fn check(&mut self) -> Result<(), DbError> {
        match self {
            Backend::Sqlite(c) => c.check(),
            Backend::Postgres(c) => c.check(),
        }
    }
    fn begin(&self) -> &'static str {
        match self {
            Backend::Sqlite(c) => c.begin(),
            Backend::Postgres(c) => c.begin(),
        }
    }
    fn lost(&self) -> bool {
        match self {
            Backend::Sqlite(c) => c.lost(),
            Backend::Postgres(c) => c.lost(),
        }
    }
}

fn open_backend(config: &Config) -> Result<Backend, DbError> {
    Ok(match &config.target {
        Target::Sqlite(path) => Backend::Sqlite(sqlite::Sqlite::open(path, config.durability, config.max_bytes)?),
        Target::Postgres(url) => Backend::Postgres(Box::new(postgres::Postgres::open(url)?)),
    })
}

type Reply = tokio::sync::oneshot::Sender<Result<(), LogError>>;

struct Job {
    records: Vec<DecisionRecord>,
    reply: Reply,
}

/// Figures the server's `/metrics` shows.
#[derive(Debug, Default)]
pub struct Counters {
    /// Decisions committed.
    pub logged: AtomicU64,
    /// Commits (group size = logged / commits).
    pub commits: AtomicU64,
    /// Commits that failed (their requests got 503).
    pub failed_commits: AtomicU64,
    /// Requests refused because the queue was full.
    pub refused: AtomicU64,
}

/// An open decision log.
pub struct Log {
    sender: Option<SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    admin: Mutex<Backend>,
    shown: String,
    counters: Arc<Counters>,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Log {
    /// Opens (creating the tables if needed) and starts the writer.
    pub fn open(config: Config) -> Result<Log, LogError> {
        let shown = config.target.shown();
        let mut admin = open_backend(&config).map_err(LogError::from)?;
        sql::migrate(&mut admin, matches!(config.target, Target::Sqlite(_))).map_err(LogError::from)?;
        let writer_conn = open_backend(&config).map_err(LogError::from)?;
        let (sender, receiver) = mpsc::sync_channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let max_rows = config.max_group_rows.max(1);
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_loop(writer_conn, receiver, max_rows, &c))
            .map_err(|e| LogError::Unavailable(format!("cannot start the log's writer: {e}")))?;
        tracing::info!(log = %shown, "decision log open");
        Ok(Log { sender: Some(sender), writer: Some(writer), admin: Mutex::new(admin), shown, counters })
    }

    /// Where it lives (no password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Its counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queues decisions; the receiver resolves once they are committed (or the commit failed).
    /// A full queue is refused at once.
    pub fn submit(
        &self,
        records: Vec<DecisionRecord>,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<(), LogError>>, LogError> {
        let (reply, done) = tokio::sync::oneshot::channel();
        let Some(sender) = &self.sender else { return Err(LogError::Unavailable("the log is closed".into())) };
        match sender.try_send(Job { records, reply }) {
            Ok(()) => Ok(done),
            Err(TrySendError::Full(_)) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                Err(LogError::Overloaded)
            }
            Err(TrySendError::Disconnected(_)) => Err(LogError::Unavailable("the log's writer stopped".into())),
        }
    }

    /// Logs decisions and waits until they are durable.
    pub async fn log(&self, records: Vec<DecisionRecord>) -> Result<(), LogError> {
        let done = self.submit(records)?;
        done.await.unwrap_or_else(|_| Err(LogError::Unavailable("the log's writer stopped".into())))
    }

    /// Logs decisions from a thread that is not async (tests, tools).
    pub fn log_blocking(&self, records: Vec<DecisionRecord>) -> Result<(), LogError> {
        let done = self.submit(records)?;
        done.blocking_recv().unwrap_or_else(|_| Err(LogError::Unavailable("the log's writer stopped".into())))
    }

    fn admin<T>(&self, mut f: impl FnMut(&mut Backend) -> Result<T, LogError>) -> Result<T, LogError> {
        // A panic while holding the lock leaves a connection, not a half-done change (transactions roll back).
        let mut conn = self.admin.lock().unwrap_or_else(|e| e.into_inner());
        conn.check().map_err(LogError::from)?;
        match f(&mut conn) {
            // The connection died since its last use (see the writer): once more on a new one.
            Err(LogError::Unavailable(_)) if conn.lost() => {
                conn.check().map_err(LogError::from)?;
                f(&mut conn)
            }
            other => other,
        }
    }

    /// Records the model that decides (idempotent).
    pub fn register_model(&self, info: &ModelInfo) -> Result<(), LogError> {
        self.admin(|c| store::register_model(c, info, now_ms()).map_err(LogError::from))
    }

    /// Every model that decided, oldest first.
    pub fn models(&self) -> Result<Vec<ModelInfo>, LogError> {
        self.admin(|c| store::models(c).map_err(LogError::from))
    }

    /// A label for a logged decision, idempotent per (id, source); `who` goes to the audit trail.
    pub fn label(
        &self,
        id: &str,
        label: Outcome,
        source: &str,
        observed_ms: i64,
        who: &str,
    ) -> Result<LabelStored, LogError> {
        self.admin(|c| store::label(c, id, label, source, observed_ms, now_ms(), who))
    }

    /// A logged decision with its labels and case.
    pub fn decision(&self, id: &str) -> Result<Option<DecisionView>, LogError> {
        self.admin(|c| store::decision(c, id).map_err(LogError::from))
    }

    /// Review cases with `status` (`open` or `closed`), largest expected loss first.
    pub fn reviews(&self, status: &str, limit: usize) -> Result<Cases, LogError> {
        self.admin(|c| store::reviews(c, status, limit, now_ms()).map_err(LogError::from))
    }

    /// Closes an open case (404 none, 409 already closed), running `side_effect` inside its transaction.
    pub fn close_review(
        &self,
        id: &str,
        close: &ReviewClose,
        who: &str,
        side_effect: &mut dyn FnMut() -> Result<(), String>,
    ) -> Result<(), LogError> {
        self.admin(|c| store::close_review(c, id, close, who, now_ms(), side_effect))
    }

    /// The training rows (see [`ExportRow`]): decisions by `model` (default: the latest decision's)
    /// and models with its features, labelled, in decision order.
    pub fn export(
        &self,
        model: Option<&str>,
        maturity_ms: i64,
        now_ms: i64,
        row: &mut dyn FnMut(&ModelInfo, ExportRow<'_>) -> Result<(), String>,
    ) -> Result<(ModelInfo, ExportCounts), LogError> {
        self.admin(|c| store::export(c, model, maturity_ms, now_ms, row))
    }

    /// The decisions a challenger scored in shadow, with their known outcome (labelled, or
    /// unlabelled and older than `maturity_ms`, legitimate), in decision order.
    pub fn shadowed(
        &self,
        maturity_ms: i64,
        now_ms: i64,
        row: &mut dyn FnMut(ShadowedRow),
    ) -> Result<ShadowCounts, LogError> {
        self.admin(|c| store::shadowed(c, maturity_ms, now_ms, row).map_err(LogError::from))
    }

    /// How the decisions turned out, where known (labelled, or unlabelled and older than `maturity_ms`).
    pub fn outcomes(&self, maturity_ms: i64) -> Result<Outcomes, LogError> {
        self.admin(|c| store::outcomes(c, maturity_ms, now_ms()).map_err(LogError::from))
    }

    /// Decisions in the log.
    pub fn count(&self) -> Result<u64, LogError> {
        self.admin(|c| {
            let rows = c.query("SELECT COUNT(*) FROM decisions", &[])?;
            Ok(rows.first().and_then(|r| r.first()).map_or(Ok(0), Val::as_int)?.max(0) as u64)
        })
    }
}

impl Drop for Log {
    /// Lets the writer commit what is queued, then stops it.
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

fn write_loop(mut conn: Backend, jobs: Receiver<Job>, max_rows: usize, counters: &Counters) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        let mut rows = group[0].records.len();
        while rows < max_rows {
            match jobs.try_recv() {
                Ok(job) => {
                    rows += job.records.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let records: Vec<&DecisionRecord> = group.iter().flat_map(|j| &j.records).collect();
        let mut result = conn.check().and_then(|()| conn.transaction(|c| store::write_decisions(c, &records)));
        if result.is_err() && conn.lost() {
            // A connection that died since the last commit (a PostgreSQL restart is only seen on the
            // next statement): retry once on a new one. Safe even if the lost COMMIT did land:
            // the inserts are idempotent (ON CONFLICT DO NOTHING).
            tracing::warn!("decision log connection lost: reconnecting");
            result = conn.check().and_then(|()| conn.transaction(|c| store::write_decisions(c, &records)));
        }
        let result = match result {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
                counters.logged.fetch_add(records.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                counters.failed_commits.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, decisions = records.len(), "decision log commit failed: answering 503");
                Err(LogError::Unavailable(e.to_string()))
            }
        };
        drop(records);
        for job in group {
            // The request may have gone (client hung up): its decision is stored all the same.
            let _ = job.reply.send(result.clone());
        }
    }
}
