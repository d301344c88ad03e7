//! `--url nats://…`: publish the replay to a NATS JetStream stream instead of
//! POSTing it, with the same pacing, then reconcile what the consumer group did:
//! published, decided, dead-lettered, redelivered, still pending, and — from
//! the decisions read back — the transactions and money per action taken.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream;
use std::collections::{BTreeMap, HashMap};

use contract::nats::{Decision, Topology};
use contract::ActionCounts;
use futures_util::TryStreamExt;
use serde::Serialize;

use crate::{load_jobs, percentile, Actions, Config, Job, Ledger, Money};

/// What was published and what became of it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NatsSummary {
    /// Transactions published and confirmed by JetStream.
    pub published: u64,
    /// Of which JetStream dropped as duplicates (same message id within its window).
    pub duplicates: u64,
    /// Seconds spent publishing.
    pub seconds: f64,
    /// Decisions in the decisions stream.
    pub decided: u64,
    /// Dead letters.
    pub dead_lettered: u64,
    /// Messages the group's durable consumer delivered more than once.
    pub redelivered: u64,
    /// Messages not yet acknowledged by the group when the report was made.
    pub pending: u64,
    /// Decision latency (the transaction reaching the stream to its decision), ms: p50, p99, max over the decisions stream.
    pub latency_ms: [f64; 3],
    /// The decisions read back per action taken (the consumers' rules, else their model).
    pub actions: ActionCounts,
    /// Decisions read back whose action is none of the three (counted in no action).
    pub unknown_actions: u64,
    /// The decisions read back per model id that made them (a fleet publish mid-stream shows two).
    pub models: BTreeMap<String, ModelDecisions>,
    /// Distinct transaction sequences among the decisions read back (fewer than them: a duplicate).
    pub distinct_sequences: u64,
    /// What those actions made against the file's labels, with the model's
    /// costs and `--cost-review`: each row of the file once, matched by its id
    /// (decisions of other rows are not counted; `money.transactions` says how
    /// many were).
    pub money: Option<Money>,
}

impl std::fmt::Display for NatsSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "published {} in {:.2} s ({:.0}/s; {} duplicates dropped) | decided {}, dead-lettered {}, redelivered {}, pending {} | decision latency ms p50 {:.2} p99 {:.2} max {:.2}",
            self.published,
            self.seconds,
            self.published as f64 / self.seconds.max(1e-9),
            self.duplicates,
            self.decided,
            self.dead_lettered,
            self.redelivered,
            self.pending,
            self.latency_ms[0],
            self.latency_ms[1],
            self.latency_ms[2]
        )?;
        write!(f, "\n  {}", Actions(&self.actions))?;
        if self.unknown_actions > 0 {
            write!(f, ", {} of no known action", self.unknown_actions)?;
        }
        if self.models.len() > 1 {
            let by: Vec<String> = self
                .models
                .iter()
                .map(|(id, m)| {
                    let short: String = id.chars().take(12).collect();
                    format!("{short}: {} (sequences {}..{})", m.decisions, m.first_sequence, m.last_sequence)
                })
                .collect();
            write!(f, "\n  decisions by model: {}", by.join(", "))?;
        }
        if let Some(m) = &self.money {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// One model's decisions among those read back.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelDecisions {
    /// How many.
    pub decisions: u64,
    /// The smallest transaction sequence it decided.
    pub first_sequence: u64,
    /// The largest.
    pub last_sequence: u64,
}

/// What the decisions read back tell.
struct ReadBack {
    latency_ms: [f64; 3],
    actions: ActionCounts,
    unknown_actions: u64,
    models: BTreeMap<String, ModelDecisions>,
    distinct_sequences: u64,
}

/// The first `n` decisions of the stream, read back: p50, p99 and max of their
/// `latency_ms`, their actions, and each action's money for the rows of `jobs`
/// they decide (matched by id, each row once) into `ledger`.
async fn read_back(
    stream: &jetstream::stream::Stream,
    subject: &str,
    n: u64,
    jobs: &[Job],
    ledger: &mut Ledger,
) -> Result<ReadBack> {
    use futures_util::StreamExt;
    let mut out = ReadBack {
        latency_ms: [0.0; 3],
        actions: ActionCounts::default(),
        unknown_actions: 0,
        models: BTreeMap::new(),
        distinct_sequences: 0,
    };
    let mut sequences = std::collections::HashSet::new();
    if n == 0 {
        return Ok(out);
    }
    // Each row of the file, by the id its message carried.
    let mut rows: HashMap<&str, (&Job, bool)> = HashMap::with_capacity(jobs.len());
    for job in jobs {
        rows.entry(job.id.as_str()).or_insert((job, false));
    }
    let reader = stream
        .create_consumer(jetstream::consumer::pull::Config {
            ack_policy: jetstream::consumer::AckPolicy::None,
            filter_subject: subject.to_string(),
            ..Default::default()
        })
        .await
        .context("reading the decisions back")?;
    let mut messages = reader.messages().await.context("reading the decisions back")?;
    // In microseconds, for the summary's own percentile function.
    let (mut seen, mut micros) = (0u64, Vec::with_capacity(n as usize));
    while seen < n {
        match tokio::time::timeout(Duration::from_secs(5), messages.next()).await {
            Ok(Some(Ok(m))) => {
                seen += 1;
                let Ok(decision) = serde_json::from_slice::<Decision>(&m.payload) else { continue };
                sequences.insert(decision.sequence);
                let by = out.models.entry(decision.model_id.to_string()).or_insert(ModelDecisions {
                    decisions: 0,
                    first_sequence: u64::MAX,
                    last_sequence: 0,
                });
                by.decisions += 1;
                by.first_sequence = by.first_sequence.min(decision.sequence);
                by.last_sequence = by.last_sequence.max(decision.sequence);
                if decision.latency_ms.is_finite() {
                    // Clocks of other hosts can put a decision a hair before its transaction: count 0.
                    micros.push((decision.latency_ms.max(0.0) * 1000.0).round() as u64);
                }
                let Some(action) = decision.action() else {
                    out.unknown_actions += 1;
                    continue;
                };
                out.actions.add(action);
                if let Some(id) = contract::id_text(&decision.id) {
                    if let Some((job, counted)) = rows.get_mut(id.as_ref()) {
                        if !*counted {
                            *counted = true;
                            ledger.add(job.amount, job.label == 1, action);
                        }
                    }
                }
            }
            _ => break,
        }
    }
    out.distinct_sequences = sequences.len() as u64;
    micros.sort_unstable();
    out.latency_ms = [percentile(&micros, 0.5), percentile(&micros, 0.99), percentile(&micros, 1.0)];
    Ok(out)
}

async fn count(stream: &jetstream::stream::Stream, subject: &str) -> Result<u64> {
    let mut subjects = stream.info_with_subjects(subject).await.context("reading the decisions stream")?;
    let mut n = 0;
    while let Some((_, c)) = subjects.try_next().await.context("reading the decisions stream")? {
        n += c as u64;
    }
    Ok(n)
}

/// Publishes `config.data` (paced as `config.pace`) to `config.url`, then waits
/// up to `reconcile` for the group to decide everything and reports.
pub async fn publish(config: &Config, topology: &Topology, reconcile: Duration) -> Result<NatsSummary> {
    let loaded = fraud_core::artifact::read_file(&config.model).context("the model's schema and costs (--model)")?;
    let jobs = load_jobs(config, &loaded.artifact.schema)?;
    let mut ledger = Ledger::new(loaded.model.costs().clone(), config.review_cost);
    let client = async_nats::connect(&config.url).await.with_context(|| format!("connecting to {}", config.url))?;
    let js = jetstream::new(client);
    let mut summary = NatsSummary::default();
    let start = Instant::now();
    let mut acks = Vec::new();
    let confirm = |acks: &mut Vec<jetstream::context::PublishAckFuture>| {
        let pending = std::mem::take(acks);
        async move {
            let (mut ok, mut dup) = (0, 0);
            for a in pending {
                let ack = a.await.context("JetStream did not confirm a transaction (is a consumer group's stream there? start fraud-consumer first)")?;
                ok += 1;
                dup += ack.duplicate as u64;
            }
            Ok::<_, anyhow::Error>((ok, dup))
        }
    };
    for (i, job) in jobs.iter().enumerate() {
        tokio::time::sleep_until((start + job.at).into()).await;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("t-{i}").as_str());
        acks.push(js.publish_with_headers(topology.subject.clone(), headers, job.body.clone().into()).await?);
        // The client holds at most 5,000 unconfirmed publishes.
        if acks.len() >= 1_000 {
            let (ok, dup) = confirm(&mut acks).await?;
            summary.published += ok;
            summary.duplicates += dup;
        }
    }
    let (ok, dup) = confirm(&mut acks).await?;
    summary.published += ok;
    summary.duplicates += dup;
    summary.seconds = start.elapsed().as_secs_f64();

    let decisions = js.get_stream(&topology.decisions_stream).await.context("the decisions stream")?;
    let mut consumer: jetstream::consumer::PullConsumer = js
        .get_stream(&topology.stream)
        .await
        .context("the transactions stream")?
        .get_consumer(&topology.durable)
        .await
        .map_err(|e| anyhow::anyhow!("the consumer group's durable consumer (start fraud-consumer): {e}"))?;
    let deadline = Instant::now() + reconcile;
    loop {
        let info = consumer.info().await.context("the durable consumer's state")?;
        summary.pending = info.num_pending + info.num_ack_pending as u64;
        summary.redelivered = info.num_redelivered as u64;
        summary.decided = count(&decisions, &topology.decisions_subject).await?;
        summary.dead_lettered = count(&decisions, &topology.dead_letter_subject).await?;
        if summary.pending == 0 || Instant::now() > deadline {
            let back = read_back(&decisions, &topology.decisions_subject, summary.decided, &jobs, &mut ledger).await?;
            summary.latency_ms = back.latency_ms;
            summary.actions = back.actions;
            summary.unknown_actions = back.unknown_actions;
            summary.models = back.models;
            summary.distinct_sequences = back.distinct_sequences;
            summary.money = Some(ledger.money());
            return Ok(summary);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
