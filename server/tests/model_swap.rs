//! `fraud-server` swaps its model while serving — by a file replaced, a file
//! written in place and SIGHUP, and `PUT /admin/model` — under keep-alive
//! clients and batches: no answer but 200, and every answer's probability bit
//! for bit the one of the model its body names. A bad artifact is refused,
//! counted, and the old model serves on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fraud_core::Artifact;

mod common;
use common::{connect, metric, request, transaction, Server};

const TOKEN: &str = "swap-secret-token";

/// The probability `bytes`' model gives `transaction(i)` (every feature `(i % 7) / 2`).
fn expected(bytes: &[u8], i: usize) -> f64 {
    let model = Artifact::load(bytes).unwrap().model;
    let x = vec![(i % 7) as f64 * 0.5; model.schema().features().len()];
    model.probability(&x)
}

/// `PUT /admin/model` with `body` and an optional bearer token: (status, body).
fn put_model(addr: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let mut message = format!(
        "PUT /admin/model HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n{auth}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body);
    stream.write_all(&message).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let code = status.split(' ').nth(1).unwrap().parse().unwrap();
    (code, rest.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string())
}

fn model_id_of(addr: &str) -> String {
    let (_, body) = request(&mut connect(addr), "GET", "/health", "");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["model"]["id"].as_str().unwrap().to_string()
}

fn wait_for(addr: &str, id: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while model_id_of(addr) != id {
        assert!(Instant::now() < deadline, "{what}: the model never became {id}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// One answer: the model id it names and (row, probability) for each transaction in it.
type Answer = (u16, String, Vec<(usize, f64)>);

#[test]
fn models_swap_under_load_without_an_error_or_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    let a = Artifact::example().encode().unwrap();
    let b = Artifact::example_trees().encode().unwrap();
    let (id_a, id_b) = (fraud_core::artifact::model_id(&a), fraud_core::artifact::model_id(&b));
    assert_ne!(id_a, id_b);
    let model = dir.path().join("model.bin");
    std::fs::write(&model, &a).unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("deployer {}\n", server_hash(TOKEN))).unwrap();
    let server =
        common::start(&["--model".as_ref(), model.as_os_str(), "--admin-token-file".as_ref(), tokens.as_os_str()]);
    let addr = server.addr.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients: Vec<std::thread::JoinHandle<Vec<Answer>>> = (0..3)
        .map(|k| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = connect(&addr);
                let mut seen = Vec::new();
                let mut i = k;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = request(&mut conn, "POST", "/predict", &transaction(i));
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let id = v["model"]["id"].as_str().unwrap_or("").to_string();
                    seen.push((status, id, vec![(i, v["fraud_probability"].as_f64().unwrap_or(f64::NAN))]));
                    i += 3;
                }
                seen
            })
        })
        .collect();
    clients.push({
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut conn = connect(&addr);
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let items: Vec<String> = (0..50).map(transaction).collect();
                let (status, body) = request(
                    &mut conn,
                    "POST",
                    "/predict/batch",
                    &format!("{{\"transactions\":[{}]}}", items.join(",")),
                );
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let id = v["model"]["id"].as_str().unwrap_or("").to_string();
                let rows = v["results"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .enumerate()
                            .map(|(i, x)| (i, x["fraud_probability"].as_f64().unwrap_or(f64::NAN)))
                            .collect()
                    })
                    .unwrap_or_default();
                seen.push((status, id, rows));
            }
            seen
        })
    });

    let pid = server.child.id().to_string();
    for swap in 0..20 {
        let (bytes, id) = if swap % 2 == 0 { (&b, &id_b) } else { (&a, &id_a) };
        match swap % 3 {
            0 => replace(&model, bytes),
            1 => {
                // Written in place, then announced with SIGHUP.
                std::fs::write(&model, bytes).unwrap();
                assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
            }
            _ => {
                let (status, body) = put_model(&addr, Some(TOKEN), bytes);
                assert_eq!(status, 200, "{body}");
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v["model"]["id"], id.as_str(), "{body}");
                assert!(v["loaded_at_ms"].as_i64().unwrap() > 0, "{body}");
                // Stored: the file now holds it, so a restart serves it too.
                assert_eq!(&std::fs::read(&model).unwrap(), bytes);
            }
        }
        wait_for(&addr, id, &format!("swap {swap}"));
    }
    let last = model_id_of(&addr);

    // Refused: no token, a wrong one, a corrupt artifact (uploaded or written to the file).
    assert_eq!(put_model(&addr, None, &a).0, 401);
    assert_eq!(put_model(&addr, Some("wrong"), &a).0, 401);
    let failures = metric(&addr, "fraud_model_swap_failures_total");
    let mut corrupt = a.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    let (status, body) = put_model(&addr, Some(TOKEN), &corrupt);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("the artifact is not valid"), "{body}");
    replace(&model, b"not an artifact");
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&addr, "fraud_model_swap_failures_total") < failures + 2.0 {
        assert!(Instant::now() < deadline, "the corrupt file was never looked at");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(model_id_of(&addr), last, "a refused artifact replaced the model");
    stop.store(true, Ordering::Relaxed);

    let (mut answers, mut batches) = (0, 0);
    let mut ids = std::collections::BTreeSet::new();
    for (k, client) in clients.into_iter().enumerate() {
        for (status, id, rows) in client.join().unwrap() {
            assert_eq!(status, 200, "client {k}: an answer was not 200");
            let bytes = if id == id_a {
                &a
            } else {
                assert_eq!(id, id_b, "client {k}: an answer names an unknown model");
                &b
            };
            for &(i, p) in &rows {
                assert_eq!(p.to_bits(), expected(bytes, i).to_bits(), "client {k}: row {i} not scored by {id} whole");
            }
            ids.insert(id);
            if k == 3 {
                assert_eq!(rows.len(), 50);
                batches += 1;
            } else {
                answers += 1;
            }
        }
    }
    assert!(answers > 100 && batches > 5, "only {answers} answers and {batches} batches under load");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(metric(&addr, "fraud_model_swaps_total") >= 20.0);
    let (_, health) = request(&mut connect(&addr), "GET", "/health", "");
    assert!(health.contains("\"loaded_at_ms\":"), "{health}");
    let _keep: &Server = &server;
}

/// A token's digest as `fraud-server --hash-token` prints it.
fn server_hash(token: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .arg("--hash-token")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{token}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
