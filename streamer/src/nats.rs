//! `--url nats://…`: publish the replay to a NATS JetStream stream instead of
//! POSTing it, with the same pacing, then reconcile what the consumer group did:
//! published, decided, dead-lettered, redelivered, still pending.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream;
use contract::nats::{Decision, Topology};
use futures_util::TryStreamExt;
use serde::Serialize;

use crate::{load_jobs, percentile, Config};

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
        )
    }
}

/// p50, p99 and max of the decisions' `latency_ms`, read back from the stream.
async fn latencies(stream: &jetstream::stream::Stream, subject: &str, n: u64) -> Result<[f64; 3]> {
    use futures_util::StreamExt;
    if n == 0 {
        return Ok([0.0; 3]);
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
                let decision = serde_json::from_slice::<Decision>(&m.payload).ok();
                if let Some(ms) = decision.map(|d| d.latency_ms).filter(|ms| ms.is_finite()) {
                    // Clocks of other hosts can put a decision a hair before its transaction: count 0.
                    micros.push((ms.max(0.0) * 1000.0).round() as u64);
                }
            }
            _ => break,
        }
    }
    micros.sort_unstable();
    Ok([percentile(&micros, 0.5), percentile(&micros, 0.99), percentile(&micros, 1.0)])
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
    let schema = crate::schema_of_artifact(&config.model).context("the model's schema (--model)")?;
    let jobs = load_jobs(config, &schema)?;
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
            summary.latency_ms = latencies(&decisions, &topology.decisions_subject, summary.decided).await?;
            return Ok(summary);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
