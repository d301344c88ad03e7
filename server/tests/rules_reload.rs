//! `fraud-server --rules`: rules swapped under load — by file changes and by
//! SIGHUP — answer every request, each by one version whole; a bad file is
//! refused, counted, and the old rules keep deciding.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fraud_core::Artifact;

const A: &str = "version a\nrefuse everything if :Amount: >= 0 and :id: not in @safe\n";
const B: &str = "version b\nreview everything if :Amount: >= 0\naccept listed if :id: in @safe\n";

mod common;
use common::{connect, metric, request, transaction, Server};

fn start(dir: &Path) -> Server {
    common::start(&[
        "--model".as_ref(),
        dir.join("model.bin").as_os_str(),
        "--rules".as_ref(),
        dir.join("rules.txt").as_os_str(),
    ])
}

/// Writes a file whole (temp + rename), as an editor or a deploy does.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn rules_swap_under_load_without_an_error_or_a_mix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin"), Artifact::example().encode().unwrap()).unwrap();
    std::fs::create_dir(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/safe.txt"), "tx-3\n").unwrap();
    std::fs::write(dir.path().join("rules.txt"), A).unwrap();
    let server = start(dir.path());
    let addr = server.addr.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|k| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = connect(&addr);
                let mut seen = Vec::new();
                let mut i = k;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = request(&mut conn, "POST", "/predict", &transaction(i));
                    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                    seen.push((
                        status,
                        i,
                        v["ruleset"].as_str().unwrap_or("").to_string(),
                        v["action"].to_string(),
                        v["rule"].to_string(),
                    ));
                    i += 4;
                }
                seen
            })
        })
        .collect();

    let rules = dir.path().join("rules.txt");
    let pid = server.child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    for swap in 0..20 {
        let text = if swap % 2 == 0 { B } else { A };
        let version = if swap % 2 == 0 { "b" } else { "a" };
        if swap % 4 == 3 {
            // Written in place, then announced with SIGHUP.
            std::fs::write(&rules, text).unwrap();
            assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
        } else {
            replace(&rules, text);
        }
        // Wait until the server answers with the new version.
        let mut conn = connect(&addr);
        loop {
            let (_, body) = request(&mut conn, "POST", "/predict", &transaction(0));
            if body.contains(&format!("\"ruleset\":\"{version}\"")) {
                break;
            }
            assert!(Instant::now() < deadline, "swap {swap} to {version} never took effect");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    // A bad file is refused: the last good version keeps deciding.
    let failures = metric(&addr, "fraud_rules_reload_failures_total");
    replace(&rules, "version c\nrefuse x if :nope: > 1\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&addr, "fraud_rules_reload_failures_total") == failures {
        assert!(Instant::now() < deadline, "the bad file was never looked at");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = request(&mut connect(&addr), "POST", "/predict", &transaction(1));
    assert_eq!(status, 200);
    assert!(body.contains("\"ruleset\":\"a\""), "{body}");
    stop.store(true, Ordering::Relaxed);

    let mut answers = 0;
    let mut versions = std::collections::BTreeSet::new();
    for client in clients {
        for (status, i, version, action, rule) in client.join().unwrap() {
            assert_eq!(status, 200, "answer {i}");
            let safe = i == 3;
            let expected = match (version.as_str(), safe) {
                ("a", false) => ("\"refuse\"", "\"everything\""),
                ("a", true) => (if action == "\"refuse\"" { "" } else { action.as_str() }, "null"),
                ("b", false) => ("\"review\"", "\"everything\""),
                ("b", true) => ("\"accept\"", "\"listed\""),
                _ => panic!("answer {i} names version {version:?}"),
            };
            if !(version == "a" && safe) {
                assert_eq!((action.as_str(), rule.as_str()), expected, "answer {i} by version {version}");
            }
            versions.insert(version);
            answers += 1;
        }
    }
    assert!(answers > 100, "only {answers} answers under load");
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(metric(&addr, "fraud_rules_reloads_total") >= 20.0);
    let (_, text) = request(&mut connect(&addr), "GET", "/metrics", "");
    assert!(text.contains("fraud_rule_hits_total{rule=\"everything\",shadow=\"false\"}"), "{text}");
    assert!(text.contains("fraud_decisions_total{action=\"review\"}"));
    assert!(text.contains("fraud_rules_info{version=\"a\"}"));
}

#[test]
fn start_up_refuses_bad_rules_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin"), Artifact::example().encode().unwrap()).unwrap();
    std::fs::write(dir.path().join("rules.txt"), "# ok\nrefuse r if :Amount: > \"x\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--model"])
        .arg(dir.path().join("model.bin"))
        .arg("--rules")
        .arg(dir.path().join("rules.txt"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rules.txt: line 2, column 24: `:Amount:` is a number and cannot be compared with a string"),
        "{err}"
    );
}
