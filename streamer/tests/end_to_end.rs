//! End to end: train on synthetic data, start the native server on an
//! ephemeral loopback port, stream a few hundred transactions at it, and check
//! the summary against the native core's own decisions on those rows.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use http_api::Served;
use native_train::data::write_csv;
use native_train::pipeline::{run, Config as TrainConfig, Source};
use native_train::synth;
use server::{router, Options};
use streamer::{stream, Config, Confusion, FailureKind, Outcome, Pace};

struct Fixture {
    _dir: tempfile::TempDir,
    replay: std::path::PathBuf,
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
    let served = Arc::new(Served::from_artifact(&outcome.artifact.encode().unwrap()).expect("artifact"));
    let dir = tempfile::tempdir().unwrap();
    let replay = dir.path().join("replay.csv");
    let mut file = std::fs::File::create(&replay).unwrap();
    write_csv(&mut file, &outcome.replay).unwrap();
    let n = rows.min(outcome.replay.len());
    let rows_x: Vec<Vec<f64>> = outcome.replay.x.outer_iter().take(n).map(|r| r.to_vec()).collect();
    let ids = outcome.replay.ids.as_ref().map(|ids| ids[..n].to_vec());
    Fixture { _dir: dir, replay, served, rows: rows_x, labels: outcome.replay.y[..n].to_vec(), ids }
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
    }
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
