//! What the process-level server tests share: start `fraud-server`, speak HTTP/1.1 on keep-alive connections.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use fraud_core::schema::CREDITCARD_FEATURES;

/// A running server, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `fraud-server --port 0 --threads 2 ARGS…` and waits for its address.
pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .args(["--port", "0", "--threads", "2"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_string();
    Server { child, addr }
}

/// One request with extra header lines: (status, headers in lower case, body), or None if the connection died.
pub fn try_request_with(
    conn: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Option<(u16, String, String)> {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    // One write: head and body in two would meet Nagle and delayed ACKs (40 ms a request).
    conn.get_mut().write_all(format!("{head}{body}").as_bytes()).ok()?;
    let mut status = String::new();
    if conn.read_line(&mut status).ok()? == 0 {
        return None;
    }
    let code: u16 = status.split(' ').nth(1).and_then(|s| s.parse().ok())?;
    let mut length = 0;
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        seen.push_str(&lower);
    }
    let mut buf = vec![0; length];
    conn.read_exact(&mut buf).ok()?;
    Some((code, seen, String::from_utf8(buf).ok()?))
}

/// One request on a keep-alive connection: (status, body).
pub fn request(conn: &mut BufReader<TcpStream>, method: &str, path: &str, body: &str) -> (u16, String) {
    let (code, _, body) = try_request_with(conn, method, path, "", body).expect("the server answered");
    (code, body)
}

pub fn connect(addr: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    let _ = stream.set_nodelay(true);
    BufReader::new(stream)
}

/// A credit-card transaction with id `tx-{i}`.
pub fn transaction(i: usize) -> String {
    let fields: Vec<String> = CREDITCARD_FEATURES.iter().map(|n| format!("\"{n}\":{}", (i % 7) as f64 * 0.5)).collect();
    format!("{{\"id\":\"tx-{i}\",{}}}", fields.join(","))
}

pub fn metric(addr: &str, name: &str) -> f64 {
    let (_, text) = request(&mut connect(addr), "GET", "/metrics", "");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}
