//! A minimal HTTP/1.1 client over loopback (one request per connection), for
//! readiness probes and for re-sending a fuzzer's request: xtask needs no HTTP crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One request to send.
#[derive(Clone, Debug, Default)]
pub(crate) struct Probe {
    pub(crate) method: String,
    /// Path and query, `/predict?explain=3`.
    pub(crate) target: String,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Probe {
    pub(crate) fn get(target: &str) -> Probe {
        Probe { method: "GET".into(), target: target.into(), ..Probe::default() }
    }
}

/// The answer's status code and body, or `None` when nothing (or no HTTP) answers.
pub(crate) fn send(port: u16, probe: &Probe) -> Option<(u16, String)> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        probe.method,
        probe.target,
        probe.body.len()
    );
    if let Some(ct) = &probe.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).ok()?;
    conn.write_all(&probe.body).ok()?;
    let mut answer = Vec::new();
    // A server may close early or time out the read: whatever arrived is the answer.
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    Some((status, body))
}

/// The status code of `GET {path}` on 127.0.0.1:port, if anything answers.
pub(crate) fn status(port: u16, path: &str) -> Option<u16> {
    send(port, &Probe::get(path)).map(|(status, _)| status)
}
