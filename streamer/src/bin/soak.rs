//! `soak`: a bounded soak of a running fraud-server with a mix of valid and
//! invalid requests, batches, slow clients, stalled clients, header tricklers
//! and clients that disconnect mid-body. It checks every answer (valid scores
//! bit for bit against `core`), counts 5xx, samples the server's RSS, and
//! exits non-zero on any 5xx or wrong answer.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use contract::{request_body_of, BatchResponse, PredictResponse, RequestId};
use fraud_core::Model;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Soaks a running fraud-server for a bounded time with valid, invalid, slow,
/// stalled and disconnecting clients; prints counts and the server's RSS.
#[derive(Parser)]
struct Cli {
    /// The server's address, e.g. 127.0.0.1:8000.
    #[arg(long)]
    addr: String,
    /// The server's process id (for RSS sampling from /proc).
    #[arg(long)]
    pid: Option<u32>,
    /// The artifact the server serves (expected scores are computed with it).
    #[arg(long, default_value = "model/model.bin")]
    model: PathBuf,
    /// Transactions to send (a CSV with the schema).
    #[arg(long, default_value = "model/replay.csv")]
    data: PathBuf,
    /// How long to soak, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Keep-alive clients sending valid transactions as fast as they can.
    #[arg(long, default_value_t = 12)]
    clients: usize,
    /// The server's --timeout-ms (stalled clients wait longer than this).
    #[arg(long, default_value_t = 2000)]
    server_timeout_ms: u64,
}

#[derive(Default)]
struct Counts {
    valid_ok: AtomicU64,
    batch_ok: AtomicU64,
    invalid_ok: AtomicU64,
    slow_ok: AtomicU64,
    stalled_timed_out: AtomicU64,
    tricklers_cut: AtomicU64,
    disconnects: AtomicU64,
    server_errors: AtomicU64,
    wrong: AtomicU64,
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

struct Fixture {
    model: Model,
    /// Rows in the model's schema order.
    rows: Vec<Vec<f64>>,
    bodies: Vec<Vec<u8>>,
    addr: String,
    counts: Counts,
    deadline: Instant,
    stall: Duration,
    first_wrong: std::sync::Mutex<Option<String>>,
}

impl Fixture {
    fn wrong(&self, what: String) {
        add(&self.counts.wrong);
        let mut first = self.first_wrong.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(what);
    }

    fn done(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

fn head(method: &str, path: &str, content_type: &str, len: usize) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\r\n")
        .into_bytes()
}

/// Reads one response: status and body (Content-Length framed, as the server sends).
async fn response(conn: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut len = 0;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).await?;
    Ok((status, body))
}

async fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    conn.get_mut().write_all(request).await?;
    response(conn).await
}

async fn connect(f: &Fixture) -> Option<BufReader<TcpStream>> {
    TcpStream::connect(&f.addr).await.ok().map(BufReader::new)
}

fn probability(body: &[u8]) -> Option<f64> {
    serde_json::from_slice::<PredictResponse>(body).ok().map(|r| r.fraud_probability)
}

/// Valid transactions over one keep-alive connection; every score checked bit for bit.
async fn valid_client(f: Arc<Fixture>, seed: usize) {
    let mut conn = None;
    let mut i = seed * 7919;
    while !f.done() {
        i = (i + 1) % f.rows.len();
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match connect(&f).await {
                Some(c) => conn.insert(c),
                None => {
                    f.wrong("cannot connect".into());
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let b = &f.bodies[i];
        let mut request = head("POST", "/predict", "application/json", b.len());
        request.extend_from_slice(b);
        match exchange(c, &request).await {
            Ok((200, resp)) => {
                let want = f.model.probability(&f.rows[i]);
                if probability(&resp).map(f64::to_bits) == Some(want.to_bits()) {
                    add(&f.counts.valid_ok);
                } else {
                    f.wrong(format!("row {i}: {}", String::from_utf8_lossy(&resp)));
                }
            }
            Ok((s, _)) if s >= 500 => add(&f.counts.server_errors),
            Ok((s, resp)) => f.wrong(format!("row {i}: HTTP {s} {}", String::from_utf8_lossy(&resp))),
            Err(e) => {
                f.wrong(format!("row {i}: {e}"));
                conn = None;
            }
        }
    }
}

/// Invalid requests of every kind, each expecting its status.
async fn invalid_client(f: Arc<Fixture>) {
    let valid = &f.bodies[0];
    let mut missing = String::from_utf8_lossy(valid).into_owned();
    missing = missing.replacen("\"V3\":", "\"V3x\":", 1);
    let cases: Vec<(Vec<u8>, u16)> = vec![
        ([head("POST", "/predict", "application/json", 11), b"{\"Time\": 1,".to_vec()].concat(), 400),
        ([head("POST", "/predict", "application/json", missing.len()), missing.into_bytes()].concat(), 422),
        ([head("POST", "/predict", "application/json", 7), b"[1,2,3]".to_vec()].concat(), 400),
        ([head("POST", "/predict", "text/plain", valid.len()), valid.clone()].concat(), 415),
        ([head("POST", "/predict", "application/json", 70_000), vec![b' '; 70_000]].concat(), 413),
        (b"GET /nope HTTP/1.1\r\nHost: soak\r\n\r\n".to_vec(), 404),
        (b"DELETE /predict HTTP/1.1\r\nHost: soak\r\n\r\n".to_vec(), 405),
    ];
    let mut k = 0;
    while !f.done() {
        let (request, want) = &cases[k % cases.len()];
        k += 1;
        // A fresh connection each time: the server may close after an error.
        let Some(mut c) = connect(&f).await else { continue };
        match exchange(&mut c, request).await {
            Ok((s, _)) if s == *want => add(&f.counts.invalid_ok),
            Ok((s, _)) if s >= 500 => add(&f.counts.server_errors),
            Ok((s, resp)) => f.wrong(format!(
                "invalid case {}: HTTP {s} (want {want}) {}",
                k % cases.len(),
                String::from_utf8_lossy(&resp)
            )),
            // 413 may close the connection before we finish writing the oversized body.
            Err(_) if *want == 413 => add(&f.counts.invalid_ok),
            Err(e) => f.wrong(format!("invalid case {}: {e}", k % cases.len())),
        }
    }
}

async fn batch_client(f: Arc<Fixture>) {
    let n = 200.min(f.rows.len());
    let mut start = 0;
    while !f.done() {
        start = (start + n) % (f.rows.len() - n + 1);
        let items: Vec<&[u8]> = f.bodies[start..start + n].iter().map(Vec::as_slice).collect();
        let b = [b"{\"transactions\":[".as_slice(), &items.join(&b","[..]), b"]}"].concat();
        let Some(mut c) = connect(&f).await else { continue };
        let mut request = head("POST", "/predict/batch", "application/json", b.len());
        request.extend_from_slice(&b);
        match exchange(&mut c, &request).await {
            Ok((200, resp)) => {
                let results = serde_json::from_slice::<BatchResponse>(&resp).map(|b| b.results).unwrap_or_default();
                let ok = results.len() == n
                    && results.iter().enumerate().all(|(k, r)| {
                        r.fraud_probability.to_bits() == f.model.probability(&f.rows[start + k]).to_bits()
                    });
                if ok {
                    add(&f.counts.batch_ok)
                } else {
                    f.wrong(format!("batch at {start}"))
                }
            }
            Ok((s, _)) if s >= 500 => add(&f.counts.server_errors),
            Ok((s, _)) => f.wrong(format!("batch: HTTP {s}")),
            Err(e) => f.wrong(format!("batch: {e}")),
        }
    }
}

/// Sends a valid request in small pieces with pauses (well within the timeout): must still be answered.
async fn slow_client(f: Arc<Fixture>) {
    while !f.done() {
        let Some(mut c) = connect(&f).await else { continue };
        let b = &f.bodies[1];
        let mut request = head("POST", "/predict", "application/json", b.len());
        request.extend_from_slice(b);
        let mut failed = false;
        for piece in request.chunks(64) {
            if c.get_mut().write_all(piece).await.is_err() {
                failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        match (failed, response(&mut c).await) {
            (false, Ok((200, _))) => add(&f.counts.slow_ok),
            (_, Ok((s, _))) if s >= 500 => add(&f.counts.server_errors),
            (_, other) => f.wrong(format!("slow client: {:?}", other.map(|(s, _)| s))),
        }
    }
}

/// Sends half a body and stops: the server must answer 408 after its timeout, not hang.
async fn stalled_client(f: Arc<Fixture>) {
    while !f.done() {
        let Some(mut c) = connect(&f).await else { continue };
        let b = &f.bodies[2];
        let mut request = head("POST", "/predict", "application/json", b.len());
        request.extend_from_slice(&b[..b.len() / 2]);
        if c.get_mut().write_all(&request).await.is_err() {
            continue;
        }
        match tokio::time::timeout(f.stall, response(&mut c)).await {
            Ok(Ok((408, _))) => add(&f.counts.stalled_timed_out),
            Ok(Ok((s, _))) if s >= 500 => add(&f.counts.server_errors),
            other => f.wrong(format!("stalled client: {:?}", other.map(|r| r.map(|(s, _)| s)))),
        }
    }
}

/// Trickles headers and never finishes them: the server must close the connection.
async fn trickler(f: Arc<Fixture>) {
    while !f.done() {
        let Some(mut c) = connect(&f).await else { continue };
        let _ = c.get_mut().write_all(b"POST /predict HTTP/1.1\r\nHost: soak\r\n").await;
        let mut buf = [0u8; 64];
        match tokio::time::timeout(f.stall, c.read(&mut buf)).await {
            Ok(Ok(_)) | Ok(Err(_)) => add(&f.counts.tricklers_cut),
            Err(_) => f.wrong("a header trickler was never cut off".into()),
        }
    }
}

/// Sends headers and part of a body, then hangs up.
async fn disconnector(f: Arc<Fixture>) {
    while !f.done() {
        let Some(mut c) = connect(&f).await else { continue };
        let b = &f.bodies[3];
        let mut request = head("POST", "/predict", "application/json", b.len());
        request.extend_from_slice(&b[..b.len() / 3]);
        let _ = c.get_mut().write_all(&request).await;
        drop(c);
        add(&f.counts.disconnects);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let model = fraud_core::artifact::read_file(&cli.model)?.model;
    // The model's features (the file's id column is not needed: bodies carry the row index).
    let spec = dataset::Spec { id: None, ..dataset::Spec::of_schema(model.schema()) };
    let (data, cells) = dataset::read_cells_for(&cli.data, &spec, model.schema())
        .with_context(|| format!("reading transactions from {}", cli.data.display()))?;
    let rows: Vec<Vec<f64>> = data.rows().take(20_000).map(<[f64]>::to_vec).collect();
    if rows.len() < 300 {
        bail!("need at least 300 transactions in {}", cli.data.display());
    }
    let names = model.schema().features();
    // The cells as written (text categories as strings, empty cells as null), as a client sends them.
    let bodies = cells
        .iter()
        .take(rows.len())
        .enumerate()
        .map(|(i, c)| request_body_of(RequestId::Row(i), names, c.iter().map(dataset::Cell::raw)))
        .collect();
    let f = Arc::new(Fixture {
        model,
        rows,
        bodies,
        addr: cli.addr.clone(),
        counts: Counts::default(),
        deadline: Instant::now() + Duration::from_secs(cli.seconds),
        stall: Duration::from_millis(cli.server_timeout_ms * 3 + 1000),
        first_wrong: std::sync::Mutex::new(None),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let rss = runtime.block_on(async {
        let mut tasks = Vec::new();
        for k in 0..cli.clients {
            tasks.push(tokio::spawn(valid_client(f.clone(), k)));
        }
        tasks.push(tokio::spawn(invalid_client(f.clone())));
        tasks.push(tokio::spawn(invalid_client(f.clone())));
        tasks.push(tokio::spawn(batch_client(f.clone())));
        for _ in 0..2 {
            tasks.push(tokio::spawn(slow_client(f.clone())));
            tasks.push(tokio::spawn(stalled_client(f.clone())));
            tasks.push(tokio::spawn(trickler(f.clone())));
            tasks.push(tokio::spawn(disconnector(f.clone())));
        }
        let mut rss = Vec::new();
        let started = Instant::now();
        while !f.done() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(kb) = cli.pid.and_then(rss_kb) {
                rss.push((started.elapsed().as_secs(), kb));
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        rss
    });
    let c = &f.counts;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let sent = get(&c.valid_ok) + get(&c.batch_ok) + get(&c.invalid_ok) + get(&c.slow_ok);
    println!("soak of {} for {} s:", cli.addr, cli.seconds);
    println!(
        "  valid /predict answered correctly (bit for bit): {}\n  batches of 200 answered correctly: {}\n  \
         invalid requests answered with their 4xx: {}\n  slow clients answered: {}\n  stalled clients answered 408: {}\n  \
         header tricklers cut off: {}\n  mid-body disconnects: {}\n  5xx: {}\n  wrong or missing answers: {}",
        get(&c.valid_ok),
        get(&c.batch_ok),
        get(&c.invalid_ok),
        get(&c.slow_ok),
        get(&c.stalled_timed_out),
        get(&c.tricklers_cut),
        get(&c.disconnects),
        get(&c.server_errors),
        get(&c.wrong),
    );
    println!("  requests answered: {sent} ({:.0}/s)", sent as f64 / cli.seconds.max(1) as f64);
    if let (Some(first), Some(last)) = (rss.get(1).or(rss.first()), rss.last()) {
        let max = rss.iter().map(|r| r.1).max().unwrap_or(0);
        println!("  server RSS: {} KB at {} s, {} KB at the end, {} KB max", first.1, first.0, last.1, max);
    }
    if let Some(w) = f.first_wrong.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        println!("  first wrong answer: {w}");
    }
    if get(&c.server_errors) > 0 || get(&c.wrong) > 0 || get(&c.valid_ok) == 0 {
        bail!("the soak failed: {} 5xx, {} wrong answers", get(&c.server_errors), get(&c.wrong));
    }
    println!("soak OK: no 5xx, every answer correct");
    Ok(())
}
