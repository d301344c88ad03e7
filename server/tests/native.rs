//! What only the native server adds: load shedding, timeouts, CORS, static
//! files, and start-up refusing a missing or corrupt artifact.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::Artifact;
use http_api::Served;
use server::{router, Options};
use tower::ServiceExt;

fn artifact() -> Vec<u8> {
    Artifact::example().encode().unwrap()
}

fn served() -> Arc<Served> {
    Arc::new(Served::from_artifact(&artifact()).unwrap())
}

/// A body that never finishes arriving: a slow (or stuck) client.
fn stalled_body() -> Body {
    Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>())
}

fn post(body: Body) -> Request<Body> {
    Request::post("/predict").header(header::CONTENT_TYPE, "application/json").body(body).unwrap()
}

async fn error_code(response: axum::response::Response) -> String {
    let v: serde_json::Value = serde_json::from_slice(&to_bytes(response.into_body(), 1 << 20).await.unwrap()).unwrap();
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_stalled_client_times_out_with_408() {
    let app = router(served(), &Options { timeout: Duration::from_millis(100), ..Options::default() });
    let response = app.oneshot(post(stalled_body())).await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(error_code(response).await, "timeout");
}

#[tokio::test]
async fn beyond_the_in_flight_limit_load_is_shed_not_queued() {
    let app = router(served(), &Options { max_in_flight: 1, timeout: Duration::from_secs(5), ..Options::default() });
    let stuck = tokio::spawn(app.clone().oneshot(post(stalled_body())));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let response = app.clone().oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(error_code(response).await, "overloaded");
    stuck.abort();
    let _ = stuck.await;
    let response = app.oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the slot is free again once the stuck request is gone");
}

#[tokio::test]
async fn cors_lets_the_web_page_call_the_api() {
    let app = router(served(), &Options::default());
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/predict")
        .header(header::ORIGIN, "http://localhost:5173")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn static_files_are_served_and_misses_stay_json_404s() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>page</h1>").unwrap();
    let app = router(served(), &Options { web_dir: Some(dir.path().to_path_buf()), ..Options::default() });
    let page = app.clone().oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(&to_bytes(page.into_body(), 1 << 20).await.unwrap()[..], b"<h1>page</h1>");
    let miss = app.clone().oneshot(Request::get("/missing.js").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(miss.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(miss).await, "not_found");
    let api = app.oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(api.status(), StatusCode::OK);
}

fn server_with(model: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fraud-server"))
        .arg("--model")
        .arg(model)
        .args(["--port", "0"])
        .output()
        .unwrap()
}

#[test]
fn start_up_refuses_a_missing_or_corrupt_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let out = server_with(&dir.path().join("absent.bin"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read the model artifact") && err.contains("absent.bin"), "{err}");

    let mut bytes = artifact();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let corrupt = dir.path().join("corrupt.bin");
    std::fs::write(&corrupt, &bytes).unwrap();
    let out = server_with(&corrupt);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a usable model artifact") && err.contains("checksum"), "{err}");

    let truncated = dir.path().join("truncated.bin");
    std::fs::write(&truncated, &artifact()[..40]).unwrap();
    let err = String::from_utf8_lossy(&server_with(&truncated).stderr).into_owned();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn help_explains_itself() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fraud-server")).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for option in ["--model", "--addr", "--port", "--timeout-ms", "--max-in-flight", "--web"] {
        assert!(text.contains(option), "--help lacks {option}");
    }
}

mod sockets {
    //! The accept loop's own limits, over real loopback sockets.
    use super::*;
    use server::{serve, ConnectionLimits};
    use std::io::{Read, Write};

    async fn start(
        limits: ConnectionLimits,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(served(), &Options::default());
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            serve(listener, app, stop, &limits).await.unwrap();
        });
        (addr, tx, task)
    }

    /// Reads until the peer closes (or 3 s pass); returns what arrived.
    fn read_to_close(conn: &mut std::net::TcpStream) -> Vec<u8> {
        conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut out = Vec::new();
        let _ = conn.read_to_end(&mut out);
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_trickling_headers_is_cut_off() {
        let limits = ConnectionLimits { header_timeout: Duration::from_millis(300), ..ConnectionLimits::default() };
        let (addr, stop, _task) = start(limits).await;
        let closed = tokio::task::spawn_blocking(move || {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            conn.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\n").unwrap();
            let t = std::time::Instant::now();
            let got = read_to_close(&mut conn);
            (t.elapsed(), got)
        })
        .await
        .unwrap();
        assert!(closed.0 < Duration::from_secs(2), "the slow client was cut off after {:?}", closed.0);
        let _ = stop.send(());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_beyond_the_cap_are_closed_and_the_rest_still_served() {
        let limits = ConnectionLimits { max_connections: 1, ..ConnectionLimits::default() };
        let (addr, stop, _task) = start(limits).await;
        tokio::task::spawn_blocking(move || {
            let mut first = std::net::TcpStream::connect(addr).unwrap();
            first.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut buf = [0u8; 12];
            first.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"HTTP/1.1 200");
            // The first connection stays open (keep-alive): a second one is over the cap.
            let mut second = std::net::TcpStream::connect(addr).unwrap();
            let _ = second.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            assert!(read_to_close(&mut second).is_empty(), "over the cap: closed without an answer");
            drop(first);
            std::thread::sleep(Duration::from_millis(100));
            let mut third = std::net::TcpStream::connect(addr).unwrap();
            third.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            assert!(read_to_close(&mut third).starts_with(b"HTTP/1.1 200"), "a freed slot serves again");
        })
        .await
        .unwrap();
        let _ = stop.send(());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_lets_a_request_in_flight_finish() {
        let (addr, stop, task) = start(ConnectionLimits::default()).await;
        let body = {
            let fields: Vec<String> = FEATURE_NAMES.iter().map(|n| format!("\"{n}\":0.5")).collect();
            format!("{{{}}}", fields.join(","))
        };
        let client = tokio::task::spawn_blocking(move || {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            let head = format!(
                "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(&body.as_bytes()[..10]).unwrap();
            std::thread::sleep(Duration::from_millis(400)); // shutdown starts meanwhile
            conn.write_all(&body.as_bytes()[10..]).unwrap();
            read_to_close(&mut conn)
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let _ = stop.send(());
        let answer = client.await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("serve returns after draining").unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err(), "no longer accepting");
    }
}
