//! `fraud-server --shadow`: a challenger scores every transaction beside the
//! champion. The answer is the champion's; the decision log keeps the
//! challenger's probability and action bit for bit; `/metrics` compares the
//! two; `PUT /admin/promote` exchanges them (and their files). A challenger
//! that cannot read the champion's requests is refused at start-up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use decision_log::{Config, Log, Target};
use fraud_core::{Action, Artifact};

mod common;
use common::{connect, metric, request, transaction, Server};

const TOKEN: &str = "shadow-secret-token";

/// (probability, policy refused) of `bytes`' model on `transaction(i)`.
fn expected(bytes: &[u8], i: usize) -> (f64, bool) {
    let model = Artifact::load(bytes).unwrap().model;
    let x = vec![(i % 7) as f64 * 0.5; model.schema().features().len()];
    let p = model.probability(&x);
    (p, model.is_fraud(&x, p))
}

fn put(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(stream, "PUT {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Length: 0\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    (status.split(' ').nth(1).unwrap().parse().unwrap(), rest.split_once("\r\n\r\n").map_or("", |(_, b)| b).into())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Sends transactions `range` one by one and as one batch of the next 50; checks every answer
/// is `champion`'s, and every logged decision carries `challenger`'s beside it.
fn score_and_check(addr: &str, log: &Log, range: std::ops::Range<usize>, champion: &[u8], challenger: &[u8]) {
    let (champion_id, challenger_id) =
        (fraud_core::artifact::model_id(champion), fraud_core::artifact::model_id(challenger));
    let mut conn = connect(addr);
    for i in range.clone() {
        let (status, body) = request(&mut conn, "POST", "/predict", &transaction(i));
        assert_eq!(status, 200, "{body}");
        let v = json(&body);
        assert_eq!(v["model"]["id"], champion_id.as_str(), "the answer is the champion's");
        assert_eq!(v["fraud_probability"].as_f64().unwrap().to_bits(), expected(champion, i).0.to_bits());
    }
    let batch: Vec<String> = (range.end..range.end + 50).map(transaction).collect();
    let (status, body) =
        request(&mut conn, "POST", "/predict/batch", &format!("{{\"transactions\":[{}]}}", batch.join(",")));
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"]["id"], champion_id.as_str());
    for i in range.start..range.end + 50 {
        let view = log.decision(&format!("tx-{i}")).unwrap().unwrap_or_else(|| panic!("tx-{i} not logged"));
        let d = view.decision;
        assert_eq!(
            (d.model_id.as_str(), d.probability.to_bits()),
            (champion_id.as_str(), expected(champion, i).0.to_bits())
        );
        let c = d.challenger.unwrap_or_else(|| panic!("tx-{i}: no challenger decision logged"));
        let (p, refused) = expected(challenger, i);
        assert_eq!(c.model_id, challenger_id, "tx-{i}");
        assert_eq!(c.probability.to_bits(), p.to_bits(), "tx-{i}: the challenger's probability, bit for bit");
        assert_eq!((c.is_fraud, c.action.as_str()), (refused, Action::of_model(refused).as_str()), "tx-{i}");
    }
}

#[test]
fn a_challenger_is_logged_measured_and_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Artifact::example().encode().unwrap(), Artifact::example_trees().encode().unwrap());
    let (model, shadow, db) =
        (dir.path().join("model.bin"), dir.path().join("challenger.bin"), dir.path().join("log.db"));
    std::fs::write(&model, &a).unwrap();
    std::fs::write(&shadow, &b).unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("deployer {}\n", hash(TOKEN))).unwrap();
    let server = common::start(&[
        "--model".as_ref(),
        model.as_os_str(),
        "--shadow".as_ref(),
        shadow.as_os_str(),
        "--decision-log".as_ref(),
        db.as_os_str(),
        "--admin-token-file".as_ref(),
        tokens.as_os_str(),
    ]);
    let addr = server.addr.clone();
    let (_, health) = request(&mut connect(&addr), "GET", "/health", "");
    assert_eq!(json(&health)["challenger"]["id"], fraud_core::artifact::model_id(&b).as_str(), "{health}");

    let log = Log::open(Config::new(Target::Sqlite(db.clone()))).unwrap();
    score_and_check(&addr, &log, 0..200, &a, &b);

    // The comparison over the window: 250 transactions, the rates as the models give them.
    assert_eq!(metric(&addr, "fraud_shadow_transactions_total"), 250.0);
    assert_eq!(metric(&addr, "fraud_shadow_window_transactions"), 250.0);
    let flagged = |bytes: &[u8]| (0..250).filter(|&i| expected(bytes, i).1).count() as f64 / 250.0;
    let agree = (0..250).filter(|&i| expected(&a, i).1 == expected(&b, i).1).count() as f64 / 250.0;
    assert_eq!(metric(&addr, "fraud_shadow_flagged_rate_window{model=\"champion\"}"), flagged(&a));
    assert_eq!(metric(&addr, "fraud_shadow_flagged_rate_window{model=\"challenger\"}"), flagged(&b));
    assert_eq!(metric(&addr, "fraud_shadow_agreement_window"), agree);
    assert_eq!(metric(&addr, "fraud_shadow_agreements_total"), agree * 250.0);
    let psi = metric(&addr, "fraud_shadow_score_psi");
    assert!(psi.is_finite() && psi > 0.0, "two different models score differently: {psi}");

    // Promotion needs a token, then exchanges the two, files included.
    assert_eq!(put(&addr, "/admin/promote", None).0, 401);
    let (status, body) = put(&addr, "/admin/promote", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["model"]["id"], fraud_core::artifact::model_id(&b).as_str(), "{body}");
    assert_eq!(v["previous"]["id"], fraud_core::artifact::model_id(&a).as_str(), "{body}");
    assert_eq!(v["challenger"]["id"], fraud_core::artifact::model_id(&a).as_str(), "{body}");
    assert_eq!((std::fs::read(&model).unwrap(), std::fs::read(&shadow).unwrap()), (b.clone(), a.clone()));
    score_and_check(&addr, &log, 1000..1100, &b, &a);
    assert_eq!(metric(&addr, "fraud_shadow_transactions_total"), 150.0, "a fresh window for the new pair");
    // The watcher sees the exchanged files and keeps the pair (no swap back).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let (_, health) = request(&mut connect(&addr), "GET", "/health", "");
    assert_eq!(json(&health)["model"]["id"], fraud_core::artifact::model_id(&b).as_str(), "{health}");
    let _keep: &Server = &server;

    // Without a challenger there is nothing to promote.
    let plain =
        common::start(&["--model".as_ref(), model.as_os_str(), "--admin-token-file".as_ref(), tokens.as_os_str()]);
    let (status, body) = put(&plain.addr, "/admin/promote", Some(TOKEN));
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("--shadow"), "{body}");
}

#[test]
fn a_challenger_that_reads_other_requests_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (model, shadow) = (dir.path().join("model.bin"), dir.path().join("retail.bin"));
    std::fs::write(&model, Artifact::example().encode().unwrap()).unwrap();
    std::fs::write(&shadow, Artifact::example_retail().encode().unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--model"])
        .arg(&model)
        .arg("--shadow")
        .arg(&shadow)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--shadow") && err.contains("does not read the champion's requests"), "{err}");
    std::fs::write(&shadow, b"not an artifact").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--model"])
        .arg(&model)
        .arg("--shadow")
        .arg(&shadow)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a corrupt challenger is refused");
}

/// A token's digest as `fraud-server --hash-token` prints it.
fn hash(token: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .arg("--hash-token")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{token}\n").as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}
