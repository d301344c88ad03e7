//! 20,000 transactions (and some bad ones) through two consumers on a real
//! nats-server with JetStream; one consumer is killed with SIGKILL mid-way and
//! restarted. Every transaction gets exactly one decision, bit for bit core's;
//! the bad ones are dead letters with their codes. Skipped (saying so) when no
//! `nats-server` is installed: `cargo xtask test` installs Debian's. A
//! format-5 model's strings, nulls and unseen categories go the same way.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, consumer::AckPolicy};
use contract::nats::{ConsumerCounts, DeadLetter, Decision};
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::{Action, Artifact, RuleSet};

const N_FEATURES: usize = 30;
use futures_util::StreamExt;

const TRANSACTIONS: usize = 20_000;

fn nats_server() -> Option<String> {
    ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(String::from)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills (SIGKILL) and reaps a child when dropped, so a failing test leaves nothing running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A consumer process and the file its stderr (its logs) goes to, shown when it fails.
struct Consumer {
    process: Reaped,
    stderr: tempfile::NamedTempFile,
}

impl Consumer {
    fn id(&self) -> u32 {
        self.process.0.id()
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// SIGTERM: a graceful stop.
    fn terminate(&self) {
        Command::new("kill").args(["-TERM", &self.id().to_string()]).status().unwrap();
    }
}

fn row(i: usize) -> [f64; N_FEATURES] {
    std::array::from_fn(|j| {
        ((i * 37 + j * 11) % 101) as f64 / 10.0 - 5.0 + if j == 29 { 50.0 + (i % 17) as f64 * 200.0 } else { 0.0 }
    })
}

fn body(i: usize) -> Vec<u8> {
    let mut obj: serde_json::Map<String, serde_json::Value> =
        FEATURE_NAMES.iter().zip(row(i)).map(|(n, v)| (n.to_string(), v.into())).collect();
    obj.insert("id".into(), format!("tx-{i}").into());
    serde_json::to_vec(&obj).unwrap()
}

fn consumer(bin: &str, model: &std::path::Path, url: &str) -> Consumer {
    consumer_with(bin, model, url, &[])
}

/// A consumer with more flags (`--rules …`).
fn consumer_with(bin: &str, model: &std::path::Path, url: &str, more: &[&str]) -> Consumer {
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let process = Reaped(
        Command::new(bin)
            .args(["--model", model.to_str().unwrap(), "--nats", url, "--ack-wait-s", "2", "--batch", "200"])
            .args(more)
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .expect("the consumer starts"),
    );
    Consumer { process, stderr }
}

async fn stream_count(js: &jetstream::Context, name: &str) -> u64 {
    match js.get_stream(name).await {
        Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

/// A nats-server with JetStream on a free loopback port, data in a temporary folder, and the consumer's topology.
struct Nats {
    _server: Reaped,
    dir: tempfile::TempDir,
    url: String,
    js: jetstream::Context,
    config: consumer::Config,
}

async fn nats() -> Option<Nats> {
    let Some(server_bin) = nats_server() else {
        eprintln!("SKIPPED: no nats-server on this machine (cargo xtask test installs it)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Reaped(
        Command::new(&server_bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd", dir.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("nats://127.0.0.1:{port}");
    let client = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match async_nats::connect(&url).await {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("nats-server did not come up: {e}"),
            }
        }
    };
    let js = jetstream::new(client);
    let config = consumer::Config::default();
    consumer::setup(&js, &config).await.unwrap();
    Some(Nats { _server: server, dir, url, js, config })
}

/// `artifact` written as `model.bin` in `dir`, for the consumers to load.
fn write_model(dir: &tempfile::TempDir, artifact: &Artifact) -> std::path::PathBuf {
    let path = dir.path().join("model.bin");
    std::fs::write(&path, artifact.encode().unwrap()).unwrap();
    path
}

/// The first `total` outcomes on the decisions stream: decisions by id (each id decided once) and the dead
/// letters' error codes.
async fn outcomes(
    js: &jetstream::Context,
    config: &consumer::Config,
    total: u64,
) -> (HashMap<String, Decision<'static>>, Vec<String>) {
    let stream = js.get_stream(&config.topology.decisions_stream).await.unwrap();
    let reader =
        stream.create_consumer(pull::Config { ack_policy: AckPolicy::None, ..Default::default() }).await.unwrap();
    let mut messages = reader.messages().await.unwrap();
    let (mut decisions, mut dead) = (HashMap::new(), Vec::new());
    while decisions.len() + dead.len() < total as usize {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next()).await.unwrap().unwrap().unwrap();
        if m.subject.as_str() == config.topology.dead_letter_subject {
            let d: DeadLetter = serde_json::from_slice(&m.payload).unwrap();
            dead.push(d.error.code.as_str().to_string());
        } else {
            let d: Decision<'static> = serde_json::from_slice(&m.payload).unwrap();
            // Text ids as they are, numeric ids as their decimal (what a rule's `:id:` sees).
            let id = contract::id_text(&d.id).unwrap().into_owned();
            assert!(decisions.insert(id.clone(), d).is_none(), "{id} decided twice");
        }
    }
    (decisions, dead)
}

/// A format-5 model (categories, missing values): strings, nulls and unseen
/// categories are decided exactly as core decides them; wrong types and a
/// missing amount are dead letters with their codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_and_missing_values_are_decided_like_core() {
    let Some(Nats { _server: _running, dir, url, js, config }) = nats().await else { return };
    let artifact = Artifact::example_payments_trees();
    let model = artifact.model().unwrap();
    let model_path = write_model(&dir, &artifact);
    let countries =
        [serde_json::json!("C00"), serde_json::json!("C05"), serde_json::json!("never seen"), serde_json::Value::Null];
    let mccs = [serde_json::json!(5411), serde_json::json!(7995), serde_json::json!(1234), serde_json::Value::Null];
    let good: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            let ip = if i % 3 == 0 { serde_json::Value::Null } else { serde_json::json!((i * 7 % 900) as f64) };
            serde_json::json!({
                "id": format!("p-{i}"), "amount": (i % 50) as f64 * 20.0 + 1.0,
                "country": countries[i % 4], "mcc_code": mccs[(i / 4) % 4], "ip_distance_km": ip,
            })
        })
        .collect();
    let bad = [
        (
            "not_a_category",
            serde_json::json!({"id": "b-1", "amount": 1, "country": 5, "mcc_code": 5411, "ip_distance_km": 1}),
        ),
        (
            "non_numeric",
            serde_json::json!({"id": "b-2", "amount": null, "country": "C00", "mcc_code": 5411, "ip_distance_km": 1}),
        ),
    ];
    for body in good.iter().chain(bad.iter().map(|(_, b)| b)) {
        let ack = js.publish(config.topology.subject.clone(), serde_json::to_vec(body).unwrap().into()).await.unwrap();
        ack.await.unwrap();
    }
    let total = (good.len() + bad.len()) as u64;
    let c = consumer(env!("CARGO_BIN_EXE_fraud-consumer"), &model_path, &url);
    let deadline = Instant::now() + Duration::from_secs(60);
    while stream_count(&js, &config.topology.decisions_stream).await < total {
        assert!(
            Instant::now() < deadline,
            "decisions stopped at {}; the consumer's log:\n{}",
            stream_count(&js, &config.topology.decisions_stream).await,
            c.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (decided, mut dead) = outcomes(&js, &config, total).await;
    for body in &good {
        let fields = body.as_object().unwrap().iter().filter(|(k, _)| *k != "id").map(|(k, v)| {
            let raw = match v {
                serde_json::Value::Null => fraud_core::RawValue::Null,
                serde_json::Value::String(s) => fraud_core::RawValue::Text(s),
                v => fraud_core::RawValue::Number(v.as_f64().unwrap()),
            };
            (k.as_str(), raw)
        });
        let p = model.predict(&model.validate(fields).unwrap());
        let d = &decided[body["id"].as_str().unwrap()];
        assert_eq!(d.fraud_probability.to_bits(), p.probability.to_bits(), "{body}");
        assert_eq!(d.is_fraud, p.is_fraud, "{body}");
        assert_eq!(
            (d.action(), d.rule.as_deref(), d.ruleset.as_deref()),
            (Some(Action::of_model(p.is_fraud)), None, None)
        );
    }
    dead.sort();
    assert_eq!(dead, ["non_numeric", "not_a_category"]);
    c.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transaction_gets_exactly_one_decision_through_a_killed_consumer() {
    let Some(Nats { _server: _running, dir, url, js, config }) = nats().await else { return };

    // The model: trees, calibrated, cost-optimal (decisions depend on the amount).
    let artifact = Artifact::example_trees();
    let model = artifact.model().unwrap();
    let model_path = write_model(&dir, &artifact);

    // Publish everything first (confirmed), the bad ones among them.
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("missing_field", br#"{"id": "bad-1", "Time": 1}"#.to_vec()),
        ("malformed_json", b"{not json".to_vec()),
        ("wrong_json_type", b"[1, 2, 3]".to_vec()),
        ("non_numeric", {
            let mut v: serde_json::Value = serde_json::from_slice(&body(7)).unwrap();
            v["V3"] = "x".into();
            serde_json::to_vec(&v).unwrap()
        }),
    ];
    let mut acks = Vec::new();
    for i in 0..TRANSACTIONS {
        acks.push(js.publish(config.topology.subject.clone(), body(i).into()).await.unwrap());
        if i % 5_000 == 0 {
            let (_, b) = &bad[i / 5_000];
            acks.push(js.publish(config.topology.subject.clone(), b.clone().into()).await.unwrap());
        }
        // The client holds at most 5,000 unconfirmed publishes: confirm as we go.
        if acks.len() >= 1_000 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
    let total = (TRANSACTIONS + bad.len()) as u64;

    // Two consumers; one killed mid-way (SIGKILL), then restarted. All three log to one decision log.
    let bin = env!("CARGO_BIN_EXE_fraud-consumer");
    let log_path = dir.path().join("decisions.db");
    let log_arg = ["--decision-log", log_path.to_str().unwrap()];
    let mut a = consumer_with(bin, &model_path, &url, &log_arg);
    let b = consumer_with(bin, &model_path, &url, &log_arg);
    let deadline = Instant::now() + Duration::from_secs(120);
    while stream_count(&js, &config.topology.decisions_stream).await < total / 3 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.process.0.kill().unwrap(); // SIGKILL: its unacknowledged batch must come back to the others
    let _ = a.process.0.wait();
    let a2 = consumer_with(bin, &model_path, &url, &log_arg);
    while stream_count(&js, &config.topology.decisions_stream).await < total {
        assert!(
            Instant::now() < deadline,
            "decisions stopped at {}; the consumers' logs:\n{}\n{}",
            stream_count(&js, &config.topology.decisions_stream).await,
            b.logs(),
            a2.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past the ack wait: any redelivery has happened, and was de-duplicated.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        stream_count(&js, &config.topology.decisions_stream).await,
        total,
        "exactly one outcome per transaction"
    );

    // Read every outcome back.
    let (decisions, mut dead) = outcomes(&js, &config, total).await;
    assert_eq!(decisions.len(), TRANSACTIONS);
    for i in 0..TRANSACTIONS {
        let d = &decisions[&format!("tx-{i}")];
        let p = model.predict(&model.transaction(&row(i)).unwrap());
        assert_eq!(d.fraud_probability.to_bits(), p.probability.to_bits(), "tx-{i}");
        assert_eq!(d.is_fraud, p.is_fraud, "tx-{i}");
        // No rules: the model's action, no rule, no rule set, no shadow hits.
        assert_eq!(d.action, Action::of_model(p.is_fraud).as_str(), "tx-{i}");
        assert_eq!((d.rule.as_deref(), d.ruleset.as_deref(), d.shadow_rules.len()), (None, None, 0), "tx-{i}");
    }
    dead.sort();
    let mut want: Vec<String> = bad.iter().map(|(c, _)| c.to_string()).collect();
    want.sort();
    assert_eq!(dead, want);

    // The decision log: every decided transaction once (a redelivered batch logs nothing twice),
    // with the probability that was published.
    // The killed consumer's last batch may have been published but not yet logged: its redelivery
    // (after the ack wait, later still on a loaded machine) logs it. Wait for that, then check the
    // count holds (nothing logged twice).
    let log =
        decision_log::Log::open(decision_log::Config::new(decision_log::Target::Sqlite(log_path.clone()))).unwrap();
    let log_deadline = Instant::now() + Duration::from_secs(90);
    while log.count().unwrap() < TRANSACTIONS as u64 && Instant::now() < log_deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(log.count().unwrap(), TRANSACTIONS as u64);
    for i in (0..TRANSACTIONS).step_by(997) {
        let logged = log.decision(&format!("tx-{i}")).unwrap().expect("logged");
        assert_eq!(logged.decision.probability.to_bits(), decisions[&format!("tx-{i}")].fraud_probability.to_bits());
    }
    drop(log);

    // Graceful stop: SIGTERM, the batch in hand finished, a summary printed.
    for c in [&b, &a2] {
        c.terminate();
    }
    for mut c in [b, a2] {
        let status = c.process.0.wait().unwrap();
        assert!(status.success(), "{status}; its log:\n{}", c.logs());
        let mut out = String::new();
        std::io::Read::read_to_string(c.process.0.stdout.as_mut().unwrap(), &mut out).unwrap();
        let counts: ConsumerCounts = serde_json::from_str(out.trim()).unwrap();
        assert!(counts.consumed > 0, "{out}");
        assert_eq!(counts.unreadable, 0, "{out}");
        println!("a surviving consumer: {out}");
    }
}

/// Waits until the decisions stream holds `total` outcomes.
async fn wait_for(js: &jetstream::Context, config: &consumer::Config, total: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while stream_count(js, &config.topology.decisions_stream).await < total {
        assert!(
            Instant::now() < deadline,
            "decisions stopped at {}",
            stream_count(js, &config.topology.decisions_stream).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `--rules` (its list in `lists/` beside it): every decision carries the
/// action, deciding rule, version and shadow hits of `core`'s verdict on the
/// same row, probability and id (text ids as they are, numeric ids as their
/// decimal); `is_fraud` stays the model's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_decide_over_the_model_like_core() {
    let Some(Nats { _server: _running, dir, url, js, config }) = nats().await else { return };
    let artifact = Artifact::example_trees();
    let model = artifact.model().unwrap();
    let model_path = write_model(&dir, &artifact);
    const N: usize = 2_000;
    // Every fifth transaction has a numeric id.
    let id_of = |i: usize| {
        if i.is_multiple_of(5) {
            serde_json::Value::from(i)
        } else {
            serde_json::Value::from(format!("tx-{i}"))
        }
    };
    let mut probabilities: Vec<f64> = (0..N).map(|i| model.probability(&row(i))).collect();
    probabilities.sort_by(f64::total_cmp);
    let cut = probabilities[N * 3 / 4];
    let text = format!(
        "version e2e-1\n\
         accept trusted if :id: in @trusted\n\
         refuse big if :Amount: > 3000\n\
         review likely if :probability: >= {cut}\n\
         shadow review watch if :Amount: > 1000 and :V1: > 0\n"
    );
    let trusted = "tx-1\ntx-2\n10\n# a comment\n25\ntx-1033\n";
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/trusted.txt"), trusted).unwrap();
    let rules_path = dir.path().join("rules.txt");
    std::fs::write(&rules_path, &text).unwrap();
    let rules = RuleSet::compile(&text, &[("trusted", trusted)], model.schema()).unwrap();

    let mut acks = Vec::new();
    for i in 0..N {
        let mut obj: serde_json::Map<String, serde_json::Value> =
            FEATURE_NAMES.iter().zip(row(i)).map(|(n, v)| (n.to_string(), v.into())).collect();
        obj.insert("id".into(), id_of(i));
        acks.push(js.publish(config.topology.subject.clone(), serde_json::to_vec(&obj).unwrap().into()).await.unwrap());
    }
    for a in acks {
        a.await.unwrap();
    }
    let c = consumer_with(
        env!("CARGO_BIN_EXE_fraud-consumer"),
        &model_path,
        &url,
        &["--rules", rules_path.to_str().unwrap()],
    );
    wait_for(&js, &config, N as u64, Duration::from_secs(60)).await;
    let (decisions, dead) = outcomes(&js, &config, N as u64).await;
    assert!(dead.is_empty(), "{dead:?}");
    let mut by_rule: HashMap<String, usize> = HashMap::new();
    let mut shadowed = 0;
    for i in 0..N {
        let id = contract::id_text(&Some(id_of(i))).unwrap().into_owned();
        let d = &decisions[&id];
        let x = row(i);
        let p = model.predict(&model.transaction(&x).unwrap());
        let v = rules.verdict(&model, &x, Some(&id), p.probability, p.is_fraud);
        assert_eq!(d.fraud_probability.to_bits(), p.probability.to_bits(), "{id}");
        assert_eq!(d.is_fraud, p.is_fraud, "{id}: is_fraud is the model's, before rules");
        assert_eq!(d.action, v.action.as_str(), "{id}");
        assert_eq!(d.rule.as_deref(), v.rule.map(|r| rules.rule(r as usize).id()), "{id}");
        let shadow: Vec<&str> = v.shadow.iter().map(|r| rules.rule(r).id()).collect();
        assert_eq!(d.shadow_rules, shadow, "{id}");
        assert_eq!(d.ruleset.as_deref(), Some("e2e-1"), "{id}");
        *by_rule.entry(format!("{} {}", d.action, d.rule.as_deref().unwrap_or("(model)"))).or_default() += 1;
        shadowed += !d.shadow_rules.is_empty() as usize;
    }
    println!("decided with rules: {by_rule:?}, shadow hits {shadowed}");
    for want in ["accept trusted", "refuse big", "review likely"] {
        assert!(by_rule.contains_key(want), "{want} never decided: {by_rule:?}");
    }
    assert_eq!(by_rule["accept trusted"], 5, "tx-1, tx-2, 10, 25, tx-1033");
    assert!(shadowed > 0, "the shadow rule never matched");
    c.terminate();
}

/// A rules file that does not compile (or is not there) stops the consumer at
/// start-up with an error naming the file and the place, before it connects:
/// no panic, no decision made without the rules asked for.
#[test]
fn a_bad_rules_file_is_a_clear_error_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = write_model(&dir, &Artifact::example());
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "refuse big if :Amount: > 10\nrefuse odd if :no_such_feature: > 1\n").unwrap();
    let missing = dir.path().join("missing.txt");
    let unreachable = format!("nats://127.0.0.1:{}", free_port());
    for (rules, want) in [(&bad, "line 2"), (&missing, "missing.txt")] {
        let out = Command::new(env!("CARGO_BIN_EXE_fraud-consumer"))
            .args(["--model", model_path.to_str().unwrap(), "--nats", &unreachable, "--rules", rules.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("cannot load the rules") && stderr.contains(want), "{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("connecting"), "{stderr}");
    }
}

/// The durable consumer deleted under a running consumer (a JetStream restart that lost
/// it): the consumer notices (its once-a-second check), counts it, sets the durable
/// consumer up again, and decides what comes next. The new durable consumer starts at
/// the stream's beginning: the first transactions' second decisions are duplicates the
/// duplicate window drops, so each transaction still has exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_durable_consumer_is_set_up_again() {
    let Some(Nats { _server: _running, dir, url, js, config }) = nats().await else { return };
    let model_path = write_model(&dir, &Artifact::example_trees());
    let c = consumer(env!("CARGO_BIN_EXE_fraud-consumer"), &model_path, &url);
    let publish = |from: usize, to: usize| {
        let (js, subject) = (js.clone(), config.topology.subject.clone());
        async move {
            for i in from..to {
                js.publish(subject.clone(), body(i).into()).await.unwrap().await.unwrap();
            }
        }
    };
    publish(0, 100).await;
    wait_for(&js, &config, 100, Duration::from_secs(60)).await;
    js.get_stream(&config.topology.stream).await.unwrap().delete_consumer(&config.topology.durable).await.unwrap();
    // Let it fail a few pulls (and set the consumer up again), then give it more.
    tokio::time::sleep(Duration::from_secs(4)).await;
    publish(100, 200).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while stream_count(&js, &config.topology.decisions_stream).await < 200 {
        assert!(Instant::now() < deadline, "no decisions after the durable consumer was lost; its log:\n{}", c.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.terminate();
    let mut c = c;
    let status = c.process.0.wait().unwrap();
    assert!(status.success(), "{status}; its log:\n{}", c.logs());
    let mut out = String::new();
    std::io::Read::read_to_string(c.process.0.stdout.as_mut().unwrap(), &mut out).unwrap();
    let counts: ConsumerCounts = serde_json::from_str(out.trim()).unwrap();
    assert!(counts.broker_errors >= 1, "{out}");
    // Paused between failures: a hot loop would count thousands in 4 s.
    assert!(counts.broker_errors < 40, "{out}");
    assert!(counts.decided >= 200, "{out}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stream_count(&js, &config.topology.decisions_stream).await, 200, "exactly one decision each");
}
