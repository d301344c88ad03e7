//! The transaction streamer: the Python original's `stream/producer.py`, done
//! as real software.
//!
//! It replays a CSV with the schema (the trainer's `replay.csv` by default)
//! one transaction per `POST /predict`, paced by a fixed delay, a target rate
//! or the data's own `Time` gaps, with bounded concurrency. Every transaction
//! is accounted for: a failed request is retried with exponential backoff a
//! bounded number of times and then counted as failed by kind — never dropped.
//! Since it only speaks the HTTP contract, it works against the native server
//! and `wrangler dev` alike.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use contract::{request_body_of, RequestId};
use contract::{ActionCounts, ErrorBody, ModelResponse, PredictResponse};
use fraud_core::decision::format_money;
use fraud_core::{Action, Costs, Schema, Tally};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Serialize, Serializer};
use tokio::sync::Semaphore;

pub mod nats;

/// How transactions are spaced in time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the concurrency allows.
    Unpaced,
    /// A fixed delay between consecutive sends.
    Delay(Duration),
    /// A target rate, in transactions per second.
    Rate(f64),
    /// The data's own `Time` gaps divided by `speed`, each gap capped at `max_gap`.
    TimeGaps {
        /// 10 replays ten times faster than real time.
        speed: f64,
        /// Longest wait between two transactions (quiet nights would stall a demo).
        max_gap: Duration,
    },
}

/// What to stream where.
#[derive(Clone, Debug)]
pub struct Config {
    /// The `/predict` URL.
    pub url: String,
    /// A CSV with the model's feature columns and its label (the confusion matrix and money); an id
    /// column, if the model has one, becomes each request's id.
    pub data: PathBuf,
    /// The artifact whose schema the bodies follow when there is no `/model` to ask (NATS).
    pub model: PathBuf,
    /// Spacing of the sends.
    pub pace: Pace,
    /// Send at most this many (from the start of the file).
    pub limit: Option<usize>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Retries after a failed attempt (connection error, timeout, 5xx), then the transaction counts as failed.
    pub retries: u32,
    /// First retry delay; doubles on each retry.
    pub backoff: Duration,
    /// Per-attempt timeout.
    pub request_timeout: Duration,
    /// Show a live progress bar on stderr.
    pub progress: bool,
    /// What one review costs an analyst, in the costs' currency (the money of `review` actions).
    pub review_cost: f64,
}

/// Why a transaction failed, after its retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No connection (refused, reset, closed before a response).
    Connect,
    /// No response within the per-attempt timeout.
    Timeout,
    /// 5xx answers (503 when overloaded), and 408 / 429.
    Server,
    /// 4xx: the server refused the transaction itself (not retried).
    Rejected,
    /// A 200 whose body is not the contract's response.
    BadResponse,
}

impl FailureKind {
    /// The name used in summaries (as in the JSON summary).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Server => "server",
            FailureKind::Rejected => "rejected",
            FailureKind::BadResponse => "bad_response",
        }
    }

    fn retryable(self) -> bool {
        matches!(self, FailureKind::Connect | FailureKind::Timeout | FailureKind::Server)
    }
}

/// What happened to one transaction.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Scored.
    Ok {
        /// The id the server echoed (the file's id column, or the row index), as text.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The served probability.
        fraud_probability: f64,
        /// The served model's decision (before any rule).
        is_fraud: bool,
        /// What happened to the transaction: the deciding rule's action, else the model's.
        #[serde(serialize_with = "action_name")]
        action: Action,
        /// The rule that decided, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// Latency of the attempt that succeeded, in microseconds.
        latency_us: u64,
        /// Attempts made (1 = no retry).
        attempts: u32,
    },
    /// Not scored after every attempt.
    Failed {
        /// The last attempt's failure.
        kind: FailureKind,
        /// The last attempt's detail (status and error code, or the I/O error).
        detail: String,
        /// Attempts made.
        attempts: u32,
    },
    /// Never sent (the run was interrupted first).
    NotSent,
}

fn action_name<S: Serializer>(action: &Action, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(action.as_str())
}

/// Counts of the served decisions against the labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Frauds flagged.
    pub tp: u64,
    /// Legitimate flagged.
    pub fp: u64,
    /// Frauds passed.
    pub fn_: u64,
    /// Legitimate passed.
    pub tn: u64,
}

impl Confusion {
    /// Adds one decision.
    pub fn add(&mut self, label: u8, flagged: bool) {
        match (label == 1, flagged) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// TP / (TP + FP), 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// TP / (TP + FN), 0 when there are no frauds.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The money the actions taken made, by core's tally with the model's costs
/// (a review costs `cost_per_review` and settles the transaction correctly).
#[derive(Clone, Debug, Serialize)]
pub struct Money {
    /// The costs' currency.
    pub currency: String,
    /// Counts and sums (net benefit, stopped and missed fraud, false alarms, accept/refuse everything).
    #[serde(flatten)]
    pub tally: fraud_core::wire::WireTally,
    /// Net benefit minus what accepting everything would have made.
    pub gain_over_accept_all: f64,
    /// What one review cost (`--cost-review`).
    pub cost_per_review: f64,
    /// Transactions sent to review.
    pub reviews: u64,
    /// Of them, frauds.
    pub reviewed_frauds: u64,
    /// What the reviews cost in all.
    pub review_cost: f64,
    /// The same money, per action taken.
    pub by_action: MoneyByAction,
}

/// The transactions that took one action, and what they made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ActionMoney {
    /// Transactions.
    pub transactions: u64,
    /// Of them, frauds.
    pub frauds: u64,
    /// Their amount.
    pub amount: f64,
    /// What they made (reviews net of their cost).
    pub net_benefit: f64,
}

/// [`ActionMoney`] for each action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MoneyByAction {
    /// Accepted.
    pub accept: ActionMoney,
    /// Sent to review.
    pub review: ActionMoney,
    /// Refused.
    pub refuse: ActionMoney,
}

impl MoneyByAction {
    /// One action's figures.
    pub fn of(&self, action: Action) -> &ActionMoney {
        match action {
            Action::Accept => &self.accept,
            Action::Review => &self.review,
            Action::Refuse => &self.refuse,
        }
    }
}

/// Core's tally of the actions taken against the labels, in all and per action.
#[derive(Clone, Debug)]
pub struct Ledger {
    costs: Costs,
    review_cost: f64,
    all: Tally,
    by_action: [(Tally, f64); 3],
}

fn slot(action: Action) -> usize {
    match action {
        Action::Accept => 0,
        Action::Review => 1,
        Action::Refuse => 2,
    }
}

impl Ledger {
    /// An empty ledger with the model's `costs` and one review's cost.
    pub fn new(costs: Costs, review_cost: f64) -> Ledger {
        Ledger { costs, review_cost, all: Tally::default(), by_action: Default::default() }
    }

    /// Counts one transaction of `amount` (a fraud or not) that took `action`.
    pub fn add(&mut self, amount: f64, fraud: bool, action: Action) {
        self.all.add_action(&self.costs, self.review_cost, amount, fraud, action);
        let (tally, total) = &mut self.by_action[slot(action)];
        tally.add_action(&self.costs, self.review_cost, amount, fraud, action);
        *total += amount;
    }

    /// The summary's money.
    pub fn money(&self) -> Money {
        let of = |action: Action| {
            let (t, amount) = &self.by_action[slot(action)];
            ActionMoney {
                transactions: t.transactions,
                frauds: t.frauds_stopped + t.frauds_missed,
                amount: *amount,
                net_benefit: t.net_benefit,
            }
        };
        Money {
            currency: self.costs.currency.clone(),
            tally: self.all.to_wire(),
            gain_over_accept_all: self.all.gain_over_accept_all(),
            cost_per_review: self.review_cost,
            reviews: self.all.reviews,
            reviewed_frauds: self.all.reviewed_frauds,
            review_cost: self.all.review_cost,
            by_action: MoneyByAction {
                accept: of(Action::Accept),
                review: of(Action::Review),
                refuse: of(Action::Refuse),
            },
        }
    }
}

impl fmt::Display for Money {
    /// The money lines of a summary (each starting on a new line, indented).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, cur) = (&self.tally, self.currency.as_str());
        write!(
            f,
            "\n  money: net {} (accepting everything: {}; the decisions gained {}); stopped {} frauds ({}), missed {} ({}); {} false alarms ({}); {} reviews ({} frauds) cost {}",
            format_money(t.net_benefit, cur),
            format_money(t.accept_all, cur),
            format_money(self.gain_over_accept_all, cur),
            t.frauds_stopped,
            format_money(t.stopped_amount, cur),
            t.frauds_missed,
            format_money(t.missed_amount, cur),
            t.false_alarms,
            format_money(t.false_alarm_cost, cur),
            self.reviews,
            self.reviewed_frauds,
            format_money(self.review_cost, cur),
        )?;
        for action in Action::ALL {
            let m = self.by_action.of(action);
            write!(
                f,
                "\n    {:<6} {} transactions, {} frauds, amount {}, net {}",
                action.as_str(),
                m.transactions,
                m.frauds,
                format_money(m.amount, cur),
                format_money(m.net_benefit, cur)
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Actions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(f, "actions: accept {}, review {}, refuse {}", a.accept, a.review, a.refuse)
    }
}

/// [`ActionCounts`] as the summaries print them.
pub(crate) struct Actions<'a>(pub(crate) &'a ActionCounts);

/// The end-of-run report.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Where the transactions went.
    pub url: String,
    /// Transactions planned (the file, or `--limit`).
    pub planned: usize,
    /// Transactions sent at least once.
    pub sent: usize,
    /// Scored.
    pub ok: usize,
    /// Failed after retries.
    pub failed: usize,
    /// Failures by kind.
    pub failed_by_kind: Vec<(FailureKind, usize)>,
    /// Never sent (interrupted).
    pub not_sent: usize,
    /// Retries made in all.
    pub retries: u64,
    /// Flagged as fraud by the server's model (`is_fraud`, before any rule).
    pub flagged: usize,
    /// Scored transactions per action taken (the server's rules, else its model).
    pub actions: ActionCounts,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Scored transactions per second.
    pub throughput: f64,
    /// Latency percentiles of successful requests, milliseconds: p50, p90, p99, max.
    pub latency_ms: [f64; 4],
    /// Served decisions against the labels.
    pub confusion: Confusion,
    /// What the actions taken made against the labels, with the server's
    /// costs and `--cost-review` (none when its `/model` card could not be read).
    pub money: Option<Money>,
    /// Share of the scored transactions refused.
    pub flagged_rate: f64,
    /// The model's training base rate (frauds / rows of its data), from its card.
    pub base_rate: Option<f64>,
    /// Per-transaction outcomes, in file order.
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "streamed to {}", self.url)?;
        writeln!(
            f,
            "  sent {} of {} in {:.2} s: ok {}, failed {}, not sent {} ({} retries; {:.0} scored/s)",
            self.sent, self.planned, self.seconds, self.ok, self.failed, self.not_sent, self.retries, self.throughput
        )?;
        if !self.failed_by_kind.is_empty() {
            let kinds: Vec<String> = self.failed_by_kind.iter().map(|(k, n)| format!("{} {n}", k.as_str())).collect();
            writeln!(f, "  failed by kind: {}", kinds.join(", "))?;
        }
        let [p50, p90, p99, max] = self.latency_ms;
        writeln!(f, "  latency ms: p50 {p50:.3}  p90 {p90:.3}  p99 {p99:.3}  max {max:.3}")?;
        let c = &self.confusion;
        writeln!(f, "  flagged {} | vs labels: TP {} FP {} FN {} TN {}", self.flagged, c.tp, c.fp, c.fn_, c.tn)?;
        match self.base_rate {
            Some(base) => writeln!(
                f,
                "  flagged rate {:.3}% against the model's training base rate {:.3}% ({:.1}×)",
                self.flagged_rate * 100.0,
                base * 100.0,
                self.flagged_rate / base.max(1e-12)
            )?,
            None => writeln!(f, "  flagged rate {:.3}%", self.flagged_rate * 100.0)?,
        }
        writeln!(f, "  precision {:.4}  recall {:.4}", c.precision(), c.recall())?;
        write!(f, "  {}", Actions(&self.actions))?;
        if let Some(m) = &self.money {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// A prepared request: body, label and send offset from the start.
pub(crate) struct Job {
    /// The request's id as a rule's `:id:` sees it (the id column, else the row index).
    id: String,
    body: Vec<u8>,
    label: u8,
    amount: f64,
    at: Duration,
}

fn schedule(pace: Pace, times: &[f64]) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    times
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            if i > 0 {
                at += match pace {
                    Pace::Unpaced => Duration::ZERO,
                    Pace::Delay(d) => d,
                    Pace::Rate(r) => Duration::from_secs_f64(1.0 / r.max(1e-9)),
                    Pace::TimeGaps { speed, max_gap } => {
                        let gap = ((t - times[i - 1]).max(0.0) / speed.max(1e-9)).min(max_gap.as_secs_f64());
                        Duration::from_secs_f64(gap)
                    }
                };
            }
            at
        })
        .collect()
}

/// The column `--speed` replays the gaps of (the Kaggle file's seconds since the first transaction).
const TIME_COLUMN: &str = "Time";

/// The requests for `config.data` in the served model's `schema`, with their labels, amounts and send times.
pub(crate) fn load_jobs(config: &Config, schema: &Schema) -> Result<Vec<Job>> {
    let (data, cells) =
        dataset::read_cells_for(&config.data, &dataset::Spec::of_schema(schema), schema).with_context(|| {
            format!("reading transactions from {} for a model of {}", config.data.display(), schema.describe())
        })?;
    let n = config.limit.unwrap_or(usize::MAX).min(data.len());
    let times: Vec<f64> = match schema.index(TIME_COLUMN) {
        Some(t) => data.rows().take(n).map(|r| r[t]).collect(),
        None => {
            if matches!(config.pace, Pace::TimeGaps { .. }) {
                tracing::warn!("the model has no {TIME_COLUMN} column: --speed replays one second per transaction");
            }
            (0..n).map(|i| i as f64).collect()
        }
    };
    let offsets = schedule(config.pace, &times);
    let ids = data.ids().map(|(_, ids)| ids);
    Ok(data
        .rows()
        .take(n)
        .zip(data.labels())
        .zip(offsets)
        .enumerate()
        .map(|(i, ((row, &label), at))| {
            let (id, text) = match ids {
                Some(ids) => (RequestId::Text(&ids[i]), ids[i].clone()),
                None => (RequestId::Row(i), i.to_string()),
            };
            // The cells as written: a category rare in training goes out as spelled, not as its code.
            let body = request_body_of(id, schema.features(), cells[i].iter().map(dataset::Cell::raw));
            Job { id: text, body, label, amount: schema.amount_of(row), at }
        })
        .collect())
}

/// The schema a model card describes (`GET /model`).
pub fn schema_of_card(card: &fraud_core::wire::ModelCard) -> Result<Schema> {
    let s = &card.schema;
    let schema = Schema::new(s.features.clone(), s.amount.as_deref(), &s.label, s.id.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if s.kinds.is_empty() && !s.accepts_missing {
        return Ok(schema);
    }
    // Format 5: the kinds, so a file's text and empty cells are read as the model reads them.
    let kinds = schema
        .features()
        .iter()
        .map(|name| {
            let Some(f) = s.kinds.iter().find(|f| f.feature == *name) else { return Ok(None) };
            Ok(match f.kind.as_str() {
                "numeric" => None,
                "text" => Some(fraud_core::Vocabulary::Text(f.categories.clone())),
                "numbers" => Some(fraud_core::Vocabulary::Numbers(f.codes.clone())),
                other => anyhow::bail!("feature {name}: unknown kind {other:?}"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    schema.with_kinds(kinds, s.accepts_missing).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The schema of an artifact file.
pub fn schema_of_artifact(path: &std::path::Path) -> Result<Schema> {
    Ok(fraud_core::artifact::read_file(path)?.artifact.schema)
}

/// No (complete) response: a timeout, or a connection that failed or dropped.
fn transport_failure(e: reqwest::Error) -> (FailureKind, String) {
    let kind = if e.is_timeout() { FailureKind::Timeout } else { FailureKind::Connect };
    (kind, e.to_string())
}

/// One attempt: the scored result, or why it failed.
async fn attempt(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
) -> Result<PredictResponse<'static>, (FailureKind, String)> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map_err(transport_failure)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(transport_failure)?;
    if !status.is_success() {
        let code = serde_json::from_slice::<ErrorBody>(&bytes)
            .map_or_else(|_| "no error code".to_string(), |b| b.error.code.as_str().to_string());
        // 408 (we were too slow) and 429 are worth retrying like a 5xx; other 4xx are final.
        let transient = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
        let kind = if transient { FailureKind::Server } else { FailureKind::Rejected };
        return Err((kind, format!("HTTP {} {code}", status.as_u16())));
    }
    let scored =
        serde_json::from_slice::<PredictResponse>(&bytes).map_err(|e| (FailureKind::BadResponse, e.to_string()))?;
    match Action::from_name(&scored.action) {
        Some(_) => Ok(scored),
        None => Err((FailureKind::BadResponse, format!("unknown action {:?}", scored.action))),
    }
}

/// Sends one transaction, retrying with exponential backoff.
async fn deliver(client: &reqwest::Client, config: &Config, body: &[u8], retries: &AtomicU64) -> Outcome {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let start = Instant::now();
        match attempt(client, &config.url, body).await {
            Ok(s) => {
                let id = match s.id {
                    Some(serde_json::Value::String(t)) => Some(t),
                    Some(other) => Some(other.to_string()),
                    None => None,
                };
                return Outcome::Ok {
                    id,
                    fraud_probability: s.fraud_probability,
                    is_fraud: s.is_fraud,
                    // Checked in `attempt`.
                    action: Action::from_name(&s.action).unwrap_or(Action::of_model(s.is_fraud)),
                    rule: s.rule.map(|r| r.into_owned()),
                    latency_us: start.elapsed().as_micros() as u64,
                    attempts,
                };
            }
            Err((kind, detail)) if !kind.retryable() || attempts > config.retries => {
                return Outcome::Failed { kind, detail, attempts }
            }
            Err(_) => {
                retries.fetch_add(1, Ordering::Relaxed);
                let wait = config.backoff.saturating_mul(1 << (attempts - 1).min(16));
                tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
            }
        }
    }
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// What the streamer needs from the server's `/model` card (beside `/predict`):
/// the schema the bodies follow, the model's costs and its training base rate
/// (frauds / rows of the data it was trained on).
async fn served_card(client: &reqwest::Client, predict_url: &str) -> Result<(Schema, Costs, f64)> {
    // The card sits beside the scoring route: `…/predict` → `…/model`.
    let base = predict_url.rsplit_once('/').map(|(base, _)| base).context("the URL has no path")?;
    let url = format!("{base}/model");
    let bytes = client.get(&url).send().await?.error_for_status()?.bytes().await?;
    let served: ModelResponse =
        serde_json::from_slice(&bytes).with_context(|| format!("{url} is not the contract's model card"))?;
    let card = served.card;
    let schema = schema_of_card(&card).with_context(|| format!("{url}: the model card's schema"))?;
    let costs = fraud_core::artifact::costs_from_wire(&card.costs);
    costs.check().map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    let p = &card.provenance;
    anyhow::ensure!(p.rows_total > 0, "{url} has no provenance counts");
    let base_rate = p.frauds_total as f64 / p.rows_total as f64;
    Ok((schema, costs, base_rate))
}

fn summarize(
    config: &Config,
    jobs: &[Job],
    outcomes: Vec<Outcome>,
    costs: Option<&Costs>,
    retries: u64,
    seconds: f64,
) -> Summary {
    let mut confusion = Confusion::default();
    let mut ledger = costs.map(|c| Ledger::new(c.clone(), config.review_cost));
    let mut actions = ActionCounts::default();
    let mut latencies = Vec::new();
    let mut by_kind = std::collections::BTreeMap::new();
    let (mut ok, mut failed, mut not_sent, mut flagged) = (0, 0, 0, 0);
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        match outcome {
            Outcome::Ok { is_fraud, action, latency_us, .. } => {
                ok += 1;
                flagged += *is_fraud as usize;
                confusion.add(job.label, *is_fraud);
                actions.add(*action);
                if let Some(ledger) = &mut ledger {
                    ledger.add(job.amount, job.label == 1, *action);
                }
                latencies.push(*latency_us);
            }
            Outcome::Failed { kind, .. } => {
                failed += 1;
                *by_kind.entry(*kind).or_insert(0) += 1;
            }
            Outcome::NotSent => not_sent += 1,
        }
    }
    latencies.sort_unstable();
    Summary {
        url: config.url.clone(),
        planned: jobs.len(),
        sent: ok + failed,
        ok,
        failed,
        failed_by_kind: by_kind.into_iter().collect(),
        not_sent,
        retries,
        flagged,
        actions,
        seconds,
        throughput: ok as f64 / seconds.max(1e-9),
        latency_ms: [
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.90),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0),
        ],
        confusion,
        flagged_rate: flagged as f64 / ok.max(1) as f64,
        base_rate: None,
        money: ledger.map(|l| l.money()),
        outcomes,
    }
}

/// Streams every transaction of `config.data` to `config.url`, and reports.
/// `stop` set to true (e.g. by Ctrl-C) stops new sends; those are counted as not sent.
pub async fn stream(config: Config, stop: Arc<AtomicBool>) -> Result<Summary> {
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .pool_max_idle_per_host(config.concurrency.max(1))
        .build()
        .context("building the HTTP client")?;
    // The bodies follow the served model's schema: without its card there is nothing to send.
    let (schema, costs, base_rate) = served_card(&client, &config.url)
        .await
        .context("reading the served model's card (GET /model beside the /predict URL) for its schema")?;
    let jobs = Arc::new(load_jobs(&config, &schema)?);
    let (costs, base_rate) = (Some(costs), Some(base_rate));
    let bar = if config.progress { ProgressBar::new(jobs.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let counters = Arc::new(Counters::default());
    let ticker = {
        let (bar, counters) = (bar.clone(), counters.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                bar.set_message(counters.message(start.elapsed()));
            }
        })
    };
    let retries = Arc::new(AtomicU64::new(0));
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let config = Arc::new(config);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(jobs.len());
    for i in 0..jobs.len() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let due = start + jobs[i].at;
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let (client, config, jobs, retries, counters, bar) =
            (client.clone(), config.clone(), jobs.clone(), retries.clone(), counters.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = deliver(&client, &config, &jobs[i].body, &retries).await;
            drop(permit);
            counters.record(&outcome);
            bar.inc(1);
            outcome
        }));
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for task in tasks {
        // A task only ends by returning; a panic there would be a bug, counted as a failure.
        outcomes.push(task.await.unwrap_or_else(|e| Outcome::Failed {
            kind: FailureKind::BadResponse,
            detail: format!("internal error: {e}"),
            attempts: 0,
        }));
    }
    outcomes.resize(jobs.len(), Outcome::NotSent);
    ticker.abort();
    bar.set_message(counters.message(start.elapsed()));
    bar.finish();
    let mut summary = summarize(
        &config,
        &jobs,
        outcomes,
        costs.as_ref(),
        retries.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
    );
    summary.base_rate = base_rate;
    Ok(summary)
}

#[derive(Default)]
struct Counters {
    done: AtomicU64,
    flagged: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    fn record(&self, outcome: &Outcome) {
        self.done.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok { is_fraud: true, .. } => {
                self.flagged.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed { .. } => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn message(&self, elapsed: Duration) -> String {
        let done = self.done.load(Ordering::Relaxed);
        format!(
            "flagged {}  errors {}  {:.0} tx/s",
            self.flagged.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            done as f64 / elapsed.as_secs_f64().max(1e-9)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_follows_the_chosen_mode() {
        let times = [0.0, 10.0, 10.0, 500.0];
        assert_eq!(schedule(Pace::Unpaced, &times), vec![Duration::ZERO; 4]);
        let d = schedule(Pace::Delay(Duration::from_millis(5)), &times);
        assert_eq!(d[3], Duration::from_millis(15));
        let r = schedule(Pace::Rate(100.0), &times);
        assert!((r[2].as_secs_f64() - 0.02).abs() < 1e-9);
        let g = schedule(Pace::TimeGaps { speed: 10.0, max_gap: Duration::from_secs(2) }, &times);
        assert_eq!(g[1], Duration::from_secs(1));
        assert_eq!(g[2], Duration::from_secs(1), "equal times: no wait");
        assert_eq!(g[3], Duration::from_secs(3), "the 49 s gap is capped at 2 s");
    }

    #[test]
    fn percentiles_and_confusion() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        let mut c = Confusion::default();
        for (l, f) in [(1, true), (1, false), (0, true), (0, false), (0, false)] {
            c.add(l, f);
        }
        assert_eq!((c.tp, c.fn_, c.fp, c.tn), (1, 1, 1, 2));
        assert_eq!(c.precision(), 0.5);
    }
}
