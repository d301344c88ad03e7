//! `fraud-server --decision-log`: a 200 means logged (SIGKILL under load loses
//! nothing answered), labels and the review queue behind a bearer token, and
//! a log that cannot be written answering 503 — against SQLite and a real
//! PostgreSQL started by the test.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use decision_log::testing::TestPostgres;
use decision_log::{Config, Log, Target};
use fraud_core::Artifact;

mod common;
use common::{connect, metric, request, start, transaction, try_request_with, Server};

/// Reviews what the probability cannot settle, accepts the safe list.
const RULES: &str = "version r1\naccept listed if :id: in @safe\nreview everything if :Amount: >= 0\n";
const TOKEN: &str = "correct horse battery staple";

fn setup(dir: &Path) {
    std::fs::write(dir.join("model.bin"), Artifact::example().encode().unwrap()).unwrap();
    std::fs::write(dir.join("rules.txt"), RULES).unwrap();
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    std::fs::write(dir.join("lists/safe.txt"), "# ids\n").unwrap();
    std::fs::write(dir.join("tokens.txt"), format!("ana {}\n", server::tokens::hash(TOKEN))).unwrap();
}

fn serve(dir: &Path, log: &str, extra: &[&str]) -> Server {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--model".into(),
        dir.join("model.bin").into(),
        "--rules".into(),
        dir.join("rules.txt").into(),
        "--decision-log".into(),
        log.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    start(&args)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Clients on keep-alive connections until SIGKILL; every id answered 200 must be in the log, once.
fn sigkill_under_load(target: &str) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let mut server = serve(dir.path(), target, &["--decision-log-sync", "normal"]);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..16)
        .map(|c| {
            let (addr, acked, stop) = (server.addr.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = connect(&addr);
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = if c == 0 {
                        // One client sends batches: a 200 means all of its items are stored.
                        let items: Vec<String> =
                            (0..50).map(|k| transaction(1_000_000 * (c + 1) + i * 50 + k)).collect();
                        format!("{{\"transactions\":[{}]}}", items.join(","))
                    } else {
                        transaction(1_000_000 * (c + 1) + i)
                    };
                    let path = if c == 0 { "/predict/batch" } else { "/predict" };
                    match try_request_with(&mut conn, "POST", path, "", &body) {
                        Some((200, _, text)) => {
                            let v = json(&text);
                            let mut got = acked.lock().unwrap();
                            if c == 0 {
                                for r in v["results"].as_array().unwrap() {
                                    got.push(r["logged_id"].as_str().unwrap().to_string());
                                }
                            } else {
                                assert_eq!(v["id"], v["logged_id"]);
                                got.push(v["logged_id"].as_str().unwrap().to_string());
                            }
                        }
                        Some((503, _, _)) => {}
                        Some((code, _, text)) => panic!("{code}: {text}"),
                        None => break, // killed
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL: no shutdown path runs
    let _ = server.child.wait();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 500, "only {} answered", acked.len());
    let log = Log::open(Config::new(Target::parse(target))).unwrap();
    let mut missing = 0;
    for id in &acked {
        if log.decision(id).unwrap().is_none() {
            missing += 1;
        }
    }
    assert_eq!(missing, 0, "{missing} of {} answered decisions are not in the log", acked.len());
    let distinct: HashSet<&String> = acked.iter().collect();
    assert_eq!(distinct.len(), acked.len());
    let stored = log.count().unwrap() as usize;
    // Once each (ids are unique in the log); a few may be stored whose answer was lost with the process.
    assert!(stored >= acked.len() && stored <= acked.len() + 16 * 50, "{stored} stored, {} answered", acked.len());
    eprintln!("SIGKILL under load ({target}): {} answered, {stored} stored, 0 missing", acked.len());
}

#[test]
fn sigkill_under_load_loses_nothing_answered_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    sigkill_under_load(dir.path().join("decisions.db").to_str().unwrap());
}

#[test]
fn sigkill_under_load_loses_nothing_answered_postgres() {
    let Some(pg) = TestPostgres::start() else { return };
    sigkill_under_load(&pg.database("sigkill"));
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

/// Labels, decisions and the review queue, as an analyst's tools call them.
fn admin_flow(target: &str) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let tokens = dir.path().join("tokens.txt");
    let server =
        serve(dir.path(), target, &["--admin-token-file", tokens.to_str().unwrap(), "--outcomes-every-s", "1"]);
    let mut conn = connect(&server.addr);
    let auth = bearer(TOKEN);
    for i in 0..20 {
        let (code, text) = request(&mut conn, "POST", "/predict", &transaction(i));
        assert_eq!(code, 200, "{text}");
        assert_eq!(json(&text)["action"], "review");
    }
    // No id: the server assigns one and says which.
    let anonymous = transaction(99).replacen("\"id\":\"tx-99\",", "", 1);
    let (_, text) = request(&mut conn, "POST", "/predict", &anonymous);
    let assigned = json(&text)["logged_id"].as_str().unwrap().to_string();
    assert!(assigned.starts_with("auto-"), "{assigned}");

    // Tokens: missing or wrong is 401 with the contract's body and WWW-Authenticate.
    let label = r#"{"id":"tx-3","label":"fraud","source":"chargeback","observed_at":"2026-12-01T10:00:00Z"}"#;
    for headers in [String::new(), bearer("wrong"), "Authorization: Basic YTpi\r\n".to_string()] {
        let (code, seen, text) = try_request_with(&mut conn, "POST", "/labels", &headers, label).unwrap();
        assert_eq!(code, 401, "{text}");
        assert!(seen.contains("www-authenticate: bearer"), "{seen}");
        assert_eq!(json(&text)["error"]["code"], "unauthorized");
    }
    let (code, _, text) = try_request_with(&mut conn, "GET", "/reviews", "", "").unwrap();
    assert_eq!(code, 401, "{text}");

    // Labels: idempotent per (id, source), unknown ids 404, bad bodies named.
    let post = |conn: &mut std::io::BufReader<std::net::TcpStream>, path: &str, body: &str| {
        try_request_with(conn, "POST", path, &auth, body).unwrap()
    };
    let (code, _, text) = post(&mut conn, "/labels", label);
    assert_eq!((code, json(&text)["status"].as_str()), (200, Some("created")), "{text}");
    let (_, _, text) = post(&mut conn, "/labels", label);
    assert_eq!(json(&text)["status"], "unchanged");
    let (code, _, text) = post(&mut conn, "/labels", &label.replace("tx-3", "tx-nope"));
    assert_eq!((code, json(&text)["error"]["code"].as_str()), (404, Some("not_found")), "{text}");
    for (bad, want) in [
        ("{", 400),
        (r#"{"id":"tx-3","label":"maybe","source":"x","observed_at":1}"#, 422),
        (r#"{"id":"tx-3","label":"fraud","source":"x"}"#, 422),
        (r#"{"id":"tx-3","label":"fraud","source":"x","observed_at":"yesterday"}"#, 422),
        (r#"{"id":"tx-3","label":"fraud","source":"","observed_at":1}"#, 422),
        (r#"{"id":"tx-3","label":"fraud","source":"x","observed_at":1,"extra":1}"#, 422),
        ("[1]", 422),
    ] {
        let (code, _, text) = post(&mut conn, "/labels", bad);
        assert_eq!(code, want, "{bad}: {text}");
        assert!(json(&text)["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // The decision as logged, with its label and case.
    let (code, _, text) = try_request_with(&mut conn, "GET", "/decisions/tx-3", &auth, "").unwrap();
    assert_eq!(code, 200, "{text}");
    let view = json(&text);
    assert_eq!(view["decision"]["rule"], "everything");
    assert_eq!(view["decision"]["ruleset"], "r1");
    assert_eq!(view["labels"][0]["source"], "chargeback");
    assert_eq!(view["review"]["status"], "open");
    let sent = json(&transaction(3));
    for (name, value) in view["decision"]["features"].as_object().unwrap() {
        assert_eq!(&sent[name], value, "{name}");
    }
    assert!(view["decision"]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    let (code, _, _) = try_request_with(&mut conn, "GET", "/decisions/tx-nope", &auth, "").unwrap();
    assert_eq!(code, 404);

    // The queue: by expected loss, largest first.
    let (code, _, text) = try_request_with(&mut conn, "GET", "/reviews?status=open&limit=5", &auth, "").unwrap();
    assert_eq!(code, 200, "{text}");
    let cases = json(&text);
    assert_eq!(cases["open"], 21);
    let losses: Vec<f64> =
        cases["cases"].as_array().unwrap().iter().map(|c| c["expected_loss"].as_f64().unwrap()).collect();
    assert_eq!(losses.len(), 5);
    assert!(losses.windows(2).all(|w| w[0] >= w[1]), "{losses:?}");
    for bad in ["/reviews?status=maybe", "/reviews?limit=0", "/reviews?limit=x"] {
        let (code, _, _) = try_request_with(&mut conn, "GET", bad, &auth, "").unwrap();
        assert_eq!(code, 400, "{bad}");
    }

    // Closing a case: analyst label, audit, list addition the rules pick up.
    let close = r#"{"outcome":"legitimate","note":"known customer","add_to_list":{"list":"safe","value":"tx-5"}}"#;
    let (code, _, text) = post(&mut conn, "/reviews/tx-5", close);
    assert_eq!(code, 200, "{text}");
    assert_eq!(json(&text)["closed_by"], "ana");
    let (code, _, text) = post(&mut conn, "/reviews/tx-5", close);
    assert_eq!((code, json(&text)["error"]["code"].as_str()), (409, Some("conflict")), "{text}");
    let (code, _, _) = post(&mut conn, "/reviews/tx-nope", r#"{"outcome":"fraud"}"#);
    assert_eq!(code, 404);
    let (code, _, _) =
        post(&mut conn, "/reviews/tx-6", r#"{"outcome":"fraud","add_to_list":{"list":"../x","value":"v"}}"#);
    assert_eq!(code, 422);
    let (_, _, text) = try_request_with(&mut conn, "GET", "/decisions/tx-5", &auth, "").unwrap();
    let view = json(&text);
    assert_eq!(view["review"]["status"], "closed");
    assert_eq!(view["review"]["note"], "known customer");
    assert_eq!(view["labels"][0]["source"], "analyst");
    assert!(std::fs::read_to_string(dir.path().join("lists/safe.txt")).unwrap().lines().any(|l| l == "tx-5"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, text) = request(&mut conn, "POST", "/predict", &transaction(5));
        // tx-5 is logged already; the answer still shows the rules' decision.
        if json(&text)["rule"] == "listed" {
            break;
        }
        assert!(Instant::now() < deadline, "the list addition never reached the rules: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, _, text) = try_request_with(&mut conn, "GET", "/reviews?status=open", &auth, "").unwrap();
    assert_eq!(json(&text)["open"], 20);

    // /metrics: the log's counters, and outcomes on what is labelled (tx-3 fraud, tx-5 legitimate).
    assert!(metric(&server.addr, "fraud_decision_log_logged_total") >= 21.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric_or(&server.addr, "fraud_outcome_reviewed{label=\"legitimate\"}") != Some(1.0) {
        assert!(Instant::now() < deadline, "the outcomes never reached /metrics");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(metric(&server.addr, "fraud_outcome_reviewed{label=\"fraud\"}"), 1.0);
    assert_eq!(metric(&server.addr, "fraud_outcome_recall{decider=\"action\"}"), 0.0);
}

fn metric_or(addr: &str, name: &str) -> Option<f64> {
    let (_, text) = request(&mut connect(addr), "GET", "/metrics", "");
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
}

#[test]
fn labels_and_reviews_behind_a_token_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    admin_flow(dir.path().join("decisions.db").to_str().unwrap());
}

#[test]
fn labels_and_reviews_behind_a_token_postgres() {
    let Some(pg) = TestPostgres::start() else { return };
    admin_flow(&pg.database("admin"));
}

#[test]
fn without_a_token_file_the_admin_routes_are_off() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let server = serve(dir.path(), dir.path().join("d.db").to_str().unwrap(), &[]);
    let mut conn = connect(&server.addr);
    let (code, _, text) = try_request_with(&mut conn, "GET", "/reviews", &bearer(TOKEN), "").unwrap();
    assert_eq!((code, json(&text)["error"]["code"].as_str()), (403, Some("forbidden")), "{text}");
    let (code, _) = request(&mut conn, "POST", "/predict", &transaction(1));
    assert_eq!(code, 200);
}

#[test]
fn a_log_that_cannot_be_written_answers_503_and_acknowledges_nothing_it_lost() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let path = dir.path().join("small.db");
    let server = serve(dir.path(), path.to_str().unwrap(), &["--decision-log-max-mib", "1"]);
    let mut conn = connect(&server.addr);
    let mut acked = 0usize;
    let mut full = None;
    for i in 0..200 {
        let items: Vec<String> = (0..200).map(|k| transaction(i * 200 + k)).collect();
        let (code, seen, text) = try_request_with(
            &mut conn,
            "POST",
            "/predict/batch",
            "",
            &format!("{{\"transactions\":[{}]}}", items.join(",")),
        )
        .unwrap();
        match code {
            200 => acked += 200,
            503 => {
                full = Some((seen, text));
                break;
            }
            other => panic!("{other}: {text}"),
        }
    }
    let (seen, text) = full.expect("the 1 MiB cap was never reached");
    assert!(seen.contains("retry-after: 1"), "{seen}");
    let body = json(&text);
    assert_eq!(body["error"]["code"], "decision_log_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("full"), "{text}");
    drop(server);
    let log = Log::open(Config::new(Target::Sqlite(path.clone()))).unwrap();
    assert_eq!(log.count().unwrap() as usize, acked, "exactly the acknowledged decisions are stored");
    drop(log);

    // The file deleted under a running server: 503 naming it, never a 200.
    let server = serve(dir.path(), path.to_str().unwrap(), &[]);
    let mut conn = connect(&server.addr);
    std::fs::remove_file(&path).unwrap();
    let (code, text) = request(&mut conn, "POST", "/predict", &transaction(1_000_000));
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("deleted"), "{text}");
}

#[test]
fn start_up_refuses_a_log_it_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--model"])
        .arg(dir.path().join("model.bin"))
        .args(["--decision-log", "postgres://fraud:hunter2@127.0.0.1:1/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("decision log") && !err.contains("hunter2"), "{err}");
}
