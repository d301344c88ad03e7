//! `fraud-server --rules`: rules swapped under load — by file changes and by
//! SIGHUP — answer every request, each by one version whole; a bad file is
//! refused, counted, and the old rules keep deciding.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fraud_core::schema::CREDITCARD_FEATURES;
use fraud_core::Artifact;

const A: &str = "version a\nrefuse everything if :Amount: >= 0 and :id: not in @safe\n";
const B: &str = "version b\nreview everything if :Amount: >= 0\naccept listed if :id: in @safe\n";

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--threads", "2", "--model"])
        .arg(dir.join("model.bin"))
        .arg("--rules")
        .arg(dir.join("rules.txt"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line}")).to_string();
    Server { child, addr }
}

/// One request on a keep-alive connection: (status, body).
fn request(conn: &mut BufReader<TcpStream>, method: &str, path: &str, body: &str) -> (u16, String) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.get_mut().write_all(head.as_bytes()).unwrap();
    conn.get_mut().write_all(body.as_bytes()).unwrap();
    let mut status = String::new();
    conn.read_line(&mut status).unwrap();
    let code: u16 = status.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{status:?}"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut buf = vec![0; length];
    conn.read_exact(&mut buf).unwrap();
    (code, String::from_utf8(buf).unwrap())
}

fn connect(addr: &str) -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect(addr).unwrap())
}

fn transaction(i: usize) -> String {
    let fields: Vec<String> = CREDITCARD_FEATURES.iter().map(|n| format!("\"{n}\":{}", (i % 7) as f64 * 0.5)).collect();
    format!("{{\"id\":\"tx-{i}\",{}}}", fields.join(","))
}

/// Writes a file whole (temp + rename), as an editor or a deploy does.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn metric(addr: &str, name: &str) -> f64 {
    let (_, text) = request(&mut connect(addr), "GET", "/metrics", "");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
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
