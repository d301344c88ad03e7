//! End to end: train on synthetic data, start the native server on an
//! ephemeral loopback port, stream a few hundred transactions at it, and check
//! the summary against the native core's own decisions on those rows — the
//! model's alone and with rules over it (actions, reviews, money per action),
//! over HTTP and (when a `nats-server` is installed) through NATS JetStream to
//! an in-process consumer with the same rules.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fraud_core::{Action, RuleSet, Tally, DEFAULT_REVIEW_COST};

use http_api::Served;
use native_train::data::write_csv;
use native_train::pipeline::{run, Config as TrainConfig, Source};
use native_train::synth;
use server::{router, Options};
use streamer::{stream, ActionMoney, Config, Confusion, FailureKind, Money, Outcome, Pace};

struct Fixture {
    _dir: tempfile::TempDir,
    replay: std::path::PathBuf,
    /// The artifact, as a file (what the NATS publisher reads the schema and costs from).
    model: std::path::PathBuf,
    served: Arc<Served>,
    rows: Vec<Vec<f64>>,
    labels: Vec<u8>,
    ids: Option<Vec<String>>,
}

fn fixture(rows: usize) -> Fixture {
    fixture_of(synth::generate(20_000, 0.02, 11), rows)
}

fn fixture_of(data: native_train::data::Dataset, rows: usize) -> Fixture {
    let source = Source { name: "synthetic".into(), sha256: String::new(), synthetic: true };
    let outcome = run(&data, &source, &TrainConfig::default(), &indicatif::ProgressBar::hidden()).expect("training");
    let bytes = outcome.artifact.encode().unwrap();
    let served = Arc::new(Served::from_artifact(&bytes).expect("artifact"));
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.bin");
    std::fs::write(&model, &bytes).unwrap();
    let replay = dir.path().join("replay.csv");
    let mut file = std::fs::File::create(&replay).unwrap();
    write_csv(&mut file, &outcome.replay).unwrap();
    let n = rows.min(outcome.replay.len());
    let rows_x: Vec<Vec<f64>> = outcome.replay.x.outer_iter().take(n).map(|r| r.to_vec()).collect();
    let ids = outcome.replay.ids.as_ref().map(|ids| ids[..n].to_vec());
    Fixture { _dir: dir, replay, model, served, rows: rows_x, labels: outcome.replay.y[..n].to_vec(), ids }
}

async fn start_server(served: Arc<Served>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/predict", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(served, &Options::default());
    tokio::spawn(async move {
        let stop = async {
            let _ = rx.await;
        };
        server::serve(listener, app, stop, &server::ConnectionLimits::default()).await
    });
    (url, tx)
}

fn config(url: String, data: std::path::PathBuf, limit: usize) -> Config {
    Config {
        url,
        data,
        model: std::path::PathBuf::from("unused-over-http.bin"),
        pace: Pace::Unpaced,
        limit: Some(limit),
        concurrency: 8,
        retries: 2,
        backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
        progress: false,
        review_cost: DEFAULT_REVIEW_COST,
    }
}

/// A rule of each action over the fixture's model: trusted ids (a list), big amounts, a review band on the
/// probability (its cut the 85th percentile of the rows' probabilities), and a shadow rule.
fn rules_for(f: &Fixture) -> RuleSet {
    let model = f.served.model();
    let mut p: Vec<f64> = f.rows.iter().map(|r| model.probability(r)).collect();
    p.sort_by(f64::total_cmp);
    let cut = p[p.len() * 85 / 100];
    let text = format!(
        "version stream-1\n\
         accept trusted if :id: in @trusted\n\
         refuse big if :Amount: > 300\n\
         review likely if :probability: >= {cut}\n\
         shadow refuse watch if :V1: > 1 and :Amount: > 50\n"
    );
    RuleSet::compile(&text, &[("trusted", "3\n5\n8\n13\n")], model.schema()).unwrap()
}

/// The id a row's request carries, as a rule's `:id:` sees it.
fn id_of(f: &Fixture, i: usize) -> String {
    f.ids.as_ref().map_or_else(|| i.to_string(), |ids| ids[i].clone())
}

/// Core's verdict on each row (`None`: the model alone), and the money of those actions by core's tally, in all
/// and per action.
fn expected(f: &Fixture, rules: Option<&RuleSet>) -> (Vec<fraud_core::Verdict>, Tally, [Tally; 3]) {
    let model = f.served.model();
    let (mut all, mut by_action) = (Tally::default(), [Tally::default(); 3]);
    let verdicts: Vec<fraud_core::Verdict> = f
        .rows
        .iter()
        .zip(&f.labels)
        .enumerate()
        .map(|(i, (row, &label))| {
            let p = model.probability(row);
            let refuse = model.is_fraud(row, p);
            let v = match rules {
                Some(r) => r.verdict(model, row, Some(&id_of(f, i)), p, refuse),
                None => {
                    fraud_core::Verdict { action: Action::of_model(refuse), rule: None, shadow: Default::default() }
                }
            };
            let (amount, fraud) = (model.amount(row), label == 1);
            all.add_action(model.costs(), DEFAULT_REVIEW_COST, amount, fraud, v.action);
            let slot = Action::ALL.iter().position(|&a| a == v.action).unwrap();
            by_action[slot].add_action(model.costs(), DEFAULT_REVIEW_COST, amount, fraud, v.action);
            v
        })
        .collect();
    (verdicts, all, by_action)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The summary's money is core's tally of the actions (`exact`: summed in the same order, so the same bits).
fn check_money(money: &Money, all: &Tally, by_action: &[Tally; 3], exact: bool) {
    let want = all.to_wire();
    if exact {
        assert_eq!(money.tally, want);
        assert_eq!(money.review_cost.to_bits(), all.review_cost.to_bits());
    } else {
        let (got, want) = (serde_json::to_value(money.tally).unwrap(), serde_json::to_value(want).unwrap());
        for (k, w) in want.as_object().unwrap() {
            let g = &got[k];
            assert!(close(g.as_f64().unwrap(), w.as_f64().unwrap()), "{k}: {g} vs {w}");
        }
        assert!(close(money.review_cost, all.review_cost));
    }
    assert_eq!((money.reviews, money.reviewed_frauds), (all.reviews, all.reviewed_frauds));
    assert_eq!(money.cost_per_review, DEFAULT_REVIEW_COST);
    for (action, t) in Action::ALL.into_iter().zip(by_action) {
        let m: &ActionMoney = money.by_action.of(action);
        assert_eq!(m.transactions, t.transactions, "{action:?}");
        assert_eq!(m.frauds, t.frauds_stopped + t.frauds_missed, "{action:?}");
        assert!(close(m.net_benefit, t.net_benefit), "{action:?}: {} vs {}", m.net_benefit, t.net_benefit);
    }
    let sum: f64 = Action::ALL.into_iter().map(|a| money.by_action.of(a).net_benefit).sum();
    assert!(close(sum, money.tally.net_benefit), "the actions' money adds up: {sum} vs {}", money.tally.net_benefit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_decisions_equal_the_native_core() {
    let f = fixture(400);
    let (url, stop_server) = start_server(f.served.clone()).await;
    let summary = stream(config(url, f.replay.clone(), 400), Arc::new(AtomicBool::new(false))).await.unwrap();
    println!("{summary}");
    assert_eq!((summary.planned, summary.sent, summary.ok, summary.failed, summary.not_sent), (400, 400, 400, 0, 0));
    let mut want = Confusion::default();
    for (i, (row, &label)) in f.rows.iter().zip(&f.labels).enumerate() {
        let p = f.served.model().probability(row);
        let flagged = f.served.model().is_fraud(row, p);
        want.add(label, flagged);
        match &summary.outcomes[i] {
            Outcome::Ok { fraud_probability, is_fraud, .. } => {
                assert_eq!(fraud_probability.to_bits(), p.to_bits(), "row {i}: served probability differs from core");
                assert_eq!(*is_fraud, flagged, "row {i}");
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
    assert_eq!(summary.confusion, want);
    // The money is core's tally of the same decisions with the served model's costs.
    let mut tally = fraud_core::Tally::default();
    for (row, &label) in f.rows.iter().zip(&f.labels) {
        let p = f.served.model().probability(row);
        tally.add(
            f.served.model().costs(),
            f.served.model().amount(row),
            label == 1,
            f.served.model().is_fraud(row, p),
        );
    }
    let money = summary.money.as_ref().expect("the server's /model card gives the costs");
    assert_eq!(money.tally, tally.to_wire());
    assert_eq!(money.currency, f.served.model().costs().currency);
    // Without rules every action is the model's: no review, the refusals are the flagged ones.
    assert_eq!(
        (summary.actions.accept, summary.actions.review, summary.actions.refuse),
        (400 - summary.flagged, 0, summary.flagged)
    );
    let (_, all, by_action) = expected(&f, None);
    check_money(money, &all, &by_action, true);
    assert_eq!((money.reviews, money.review_cost), (0, 0.0));
    for o in &summary.outcomes {
        assert!(matches!(o, Outcome::Ok { rule: None, .. }), "{o:?}");
    }
    assert_eq!(summary.flagged_rate, (want.tp + want.fp) as f64 / 400.0);
    assert!(summary.base_rate.is_some_and(|r| r > 0.0 && r < 0.1), "{:?}", summary.base_rate);
    assert!(want.tp + want.fp > 0, "the fixture should flag something: {want:?}");
    assert!(summary.latency_ms[0] > 0.0 && summary.latency_ms[0] <= summary.latency_ms[3]);
    let _ = stop_server.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_counts_every_transaction_as_failed() {
    let f = fixture(50);
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = stream(
        config(format!("http://127.0.0.1:{port}/predict"), f.replay.clone(), 50),
        Arc::new(AtomicBool::new(false)),
    )
    .await
    .unwrap_err();
    // Nothing is sent without the served model's schema.
    assert!(format!("{err:#}").contains("GET /model"), "{err:#}");
}

/// A team's own schema: the bodies follow the served card's schema, the
/// replay's id column becomes each request's id, and the scores are core's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_schema_streams_with_its_ids() {
    let f = fixture_of(synth::generate_retail(20_000, 0.02, 4), 200);
    let (url, stop_server) = start_server(f.served.clone()).await;
    let mut cfg = config(url, f.replay.clone(), 200);
    cfg.pace = Pace::TimeGaps { speed: 1e6, max_gap: Duration::from_millis(1) };
    let summary = stream(cfg, Arc::new(AtomicBool::new(false))).await.unwrap();
    assert_eq!((summary.ok, summary.failed), (200, 0));
    let ids = f.ids.as_ref().expect("the retail replay carries ids");
    for (i, row) in f.rows.iter().enumerate() {
        let p = f.served.model().probability(row);
        match &summary.outcomes[i] {
            Outcome::Ok { fraud_probability, id, .. } => {
                assert_eq!(fraud_probability.to_bits(), p.to_bits(), "row {i}");
                assert_eq!(id.as_deref(), Some(ids[i].as_str()), "row {i}: the replay's id is the request's");
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
    let _ = stop_server.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_requests_are_not_retried() {
    let f = fixture(20);
    let (url, stop_server) = start_server(f.served.clone()).await;
    // The wrong route: 404, a client error, not worth retrying.
    let summary =
        stream(config(url.replace("/predict", "/nope"), f.replay.clone(), 20), Arc::new(AtomicBool::new(false)))
            .await
            .unwrap();
    assert_eq!((summary.failed, summary.retries), (20, 0));
    assert!(
        matches!(&summary.outcomes[0], Outcome::Failed { kind: FailureKind::Rejected, detail, .. } if detail == "HTTP 404 not_found")
    );
    let _ = stop_server.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_csv_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let mut text = String::from_utf8(synth::generate_csv(5, 0.2, 1)).unwrap();
    text.push_str("1,2,3\n");
    std::fs::write(&path, text).unwrap();
    let f = fixture(5);
    let (url, stop_server) = start_server(f.served.clone()).await;
    let err = stream(config(url, path, 10), Arc::new(AtomicBool::new(false))).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("line 7"), "{msg}");
    let _ = stop_server.send(());
}

/// A server with rules: each outcome's action and rule are core's verdict on
/// the row, and the summary counts the actions and their money (reviews at
/// `--cost-review`) by core's tally, per action too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_counts_actions_and_their_money() {
    let f = fixture(500);
    let rules = rules_for(&f);
    f.served.set_rules(rules.clone());
    let (url, stop_server) = start_server(f.served.clone()).await;
    let summary = stream(config(url, f.replay.clone(), 500), Arc::new(AtomicBool::new(false))).await.unwrap();
    println!("{summary}");
    assert_eq!(summary.ok, 500);
    let (verdicts, all, by_action) = expected(&f, Some(&rules));
    let mut want = contract::ActionCounts::default();
    for (i, v) in verdicts.iter().enumerate() {
        want.add(v.action);
        match &summary.outcomes[i] {
            Outcome::Ok { action, rule, .. } => {
                assert_eq!(*action, v.action, "row {i}");
                assert_eq!(rule.as_deref(), v.rule.map(|r| rules.rule(r as usize).id()), "row {i}");
            }
            other => panic!("row {i}: {other:?}"),
        }
    }
    assert_eq!(summary.actions, want);
    assert!(want.accept > 0 && want.review > 0 && want.refuse > 0, "every action occurs: {want:?}");
    let money = summary.money.as_ref().unwrap();
    check_money(money, &all, &by_action, true);
    assert!(money.reviews > 0 && money.review_cost == money.reviews as f64 * DEFAULT_REVIEW_COST);
    // The human summary and the JSON one say it too (existing fields kept).
    let text = summary.to_string();
    assert!(
        text.contains(&format!("actions: accept {}, review {}, refuse {}", want.accept, want.review, want.refuse)),
        "{text}"
    );
    assert!(text.contains(&format!("{} reviews", money.reviews)), "{text}");
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["actions"]["review"], want.review);
    assert_eq!(json["money"]["reviews"], money.reviews);
    assert_eq!(json["money"]["by_action"]["refuse"]["transactions"], by_action[2].transactions);
    for kept in ["flagged", "confusion", "flagged_rate", "latency_ms"] {
        assert!(json.get(kept).is_some(), "{kept}");
    }
    assert!(json["money"].get("net_benefit").is_some() && json["money"].get("gain_over_accept_all").is_some());
    let _ = stop_server.send(());
}

fn nats_server() -> Option<String> {
    ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::process::Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(String::from)
}

/// Kills (SIGKILL) and reaps a child when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `--url nats://`: the replay published to JetStream, decided by an
/// in-process consumer with the same rules; the summary's actions and money,
/// read back from the decisions, are core's verdicts and tally. Skipped (saying
/// so) when no `nats-server` is installed: `cargo xtask test` installs Debian's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_nats_the_summary_counts_actions_and_their_money() {
    let Some(bin) = nats_server() else {
        eprintln!("SKIPPED: no nats-server on this machine (cargo xtask test installs it)");
        return;
    };
    let f = fixture(500);
    let rules = rules_for(&f);
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = Reaped(
        std::process::Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd", data.path().to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("nats://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let client = loop {
        match async_nats::connect(&url).await {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("nats-server did not come up: {e}"),
        }
    };
    let group = consumer::Config { url: url.clone(), ..consumer::Config::default() };
    consumer::setup(&async_nats::jetstream::new(client), &group).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let scoring = {
        let (served, rules, stop) = (f.served.clone(), rules.clone(), stop.clone());
        tokio::spawn(async move { consumer::run(served.model(), "m", Some(&rules), &group, None, stop, |_| {}).await })
    };
    let mut cfg = config(url, f.replay.clone(), 500);
    cfg.model = f.model.clone();
    let summary = streamer::nats::publish(&cfg, &group_topology(), Duration::from_secs(60)).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let counts = scoring.await.unwrap().unwrap();
    println!("{summary}");
    assert_eq!((summary.published, summary.decided, summary.pending, counts.decided), (500, 500, 0, 500));
    let (verdicts, all, by_action) = expected(&f, Some(&rules));
    let mut want = contract::ActionCounts::default();
    for v in &verdicts {
        want.add(v.action);
    }
    assert_eq!((summary.actions, summary.unknown_actions), (want, 0));
    assert!(want.review > 0 && want.refuse > 0 && want.accept > 0, "{want:?}");
    // Read back in the stream's order, which may not be the file's: the same sums to rounding.
    check_money(summary.money.as_ref().unwrap(), &all, &by_action, false);
    let text = summary.to_string();
    assert!(
        text.contains(&format!("actions: accept {}, review {}, refuse {}", want.accept, want.review, want.refuse)),
        "{text}"
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["actions"]["refuse"], want.refuse);
    assert_eq!(json["money"]["transactions"], 500);
    assert!(json.get("latency_ms").is_some() && json.get("published").is_some());
}

fn group_topology() -> contract::nats::Topology {
    contract::nats::Topology::default()
}
