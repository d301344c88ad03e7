//! The native server: the shared [`http_api::app`] Router plus the layers only
//! a long-running tokio process needs.
//!
//! Why split this way: the routes, parsing, validation and error bodies live
//! in `http-api`, which the Cloudflare Worker serves too. What is left here is
//! operational — a request timeout, a concurrency limit that sheds load with
//! `503 Retry-After` instead of queueing without bound, CORS for the browser
//! page, request tracing, static files and graceful shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::response::IntoResponse;
use axum::{BoxError, Router};
use fraud_core::ErrorCode;
use http_api::{HttpError, Served};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::ServiceBuilder;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

pub mod admin;
pub mod log;
pub mod metrics;
pub mod reload;
mod shadow;
pub mod swap;
pub mod tokens;
pub use metrics::Monitor;

/// Runtime limits of the native server.
#[derive(Clone, Debug)]
pub struct Options {
    /// A request (including reading its body) that takes longer gets 408 `timeout`.
    pub timeout: Duration,
    /// Requests in flight beyond this are refused at once with 503 `overloaded`.
    pub max_in_flight: usize,
    /// A folder of static files (the web page) served at `/`, if any.
    pub web_dir: Option<PathBuf>,
    /// Origins whose pages may call the API (CORS; the shared Router answers preflights).
    pub cors: http_api::AllowedOrigins,
    /// Metrics and drift, served at `GET /metrics` (the same monitor must observe the `Served`:
    /// see [`monitored`]).
    pub monitor: Option<Arc<Monitor>>,
    /// The decision log's routes (`/labels`, `/decisions/{id}`, `/reviews`), when there is a log.
    pub admin: Option<Arc<admin::Admin>>,
    /// Model swaps: the Router serves the swapper's current model, and `PUT /admin/model`
    /// (with the admin tokens; none: 403) swaps it.
    pub swap: Option<(Arc<swap::Swapper>, Option<Arc<tokens::Tokens>>)>,
}

/// `served` with a [`Monitor`] observing every transaction it scores (drift over the last
/// `drift_window` transactions); pass the monitor in [`Options::monitor`].
pub fn monitored(served: http_api::Served, drift_window: usize) -> (Arc<http_api::Served>, Arc<Monitor>) {
    let monitor = Arc::new(Monitor::new(&served, drift_window));
    (Arc::new(monitor.observe(served)), monitor)
}

/// The defaults, in one place: `Options::default`, `ConnectionLimits::default`
/// and the `fraud-server` command line all use these.
pub mod defaults {
    /// Milliseconds a client has to send a whole request.
    pub const TIMEOUT_MS: u64 = 10_000;
    /// Requests in flight before new ones are refused with 503.
    pub const MAX_IN_FLIGHT: usize = 512;
    /// Milliseconds a client has to send its request headers.
    pub const HEADER_TIMEOUT_MS: u64 = 10_000;
    /// Open connections beyond this are closed at once.
    pub const MAX_CONNECTIONS: usize = 10_000;
    /// Milliseconds requests in flight may take to finish on shutdown.
    pub const DRAIN_MS: u64 = 10_000;
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_millis(defaults::TIMEOUT_MS),
            max_in_flight: defaults::MAX_IN_FLIGHT,
            web_dir: None,
            cors: http_api::AllowedOrigins::Any,
            monitor: None,
            admin: None,
            swap: None,
        }
    }
}

/// Timeouts and shed load become the contract's JSON errors, never a bare 500.
async fn refused(err: BoxError) -> HttpError {
    if err.is::<tower::timeout::error::Elapsed>() {
        HttpError::new(ErrorCode::Timeout, "the request was not received in time (408); send it faster")
    } else {
        HttpError::retry_later(ErrorCode::Overloaded, "the server is at its concurrency limit; retry shortly", 1)
    }
}

/// The full native Router: the shared contract with the native layers on top.
/// With [`Options::swap`], `served` is ignored: the swapper's current model serves.
pub fn router(served: Arc<Served>, options: &Options) -> Router {
    let mut app = match &options.swap {
        Some((swapper, tokens)) => http_api::app_live(swapper.live().clone(), &options.cors)
            .merge(swap::routes(swapper.clone(), tokens.clone())),
        None => http_api::app_with(served, &options.cors),
    };
    if let Some(admin) = &options.admin {
        app = app.merge(admin::routes(admin.clone()));
    }
    if let Some(monitor) = &options.monitor {
        app = app
            .route("/metrics", axum::routing::get(metrics::metrics).with_state(monitor.clone()))
            .layer(axum::middleware::from_fn_with_state(monitor.clone(), metrics::track));
    }
    if let Some(dir) = &options.web_dir {
        // Unknown paths that are not files still get the contract's JSON 404.
        let files = ServeDir::new(dir).append_index_html_on_directories(true).not_found_service(tower::service_fn(
            |req: axum::extract::Request| async move {
                Ok::<_, std::convert::Infallible>(http_api::not_found(req.uri().clone()).await.into_response())
            },
        ));
        app = app.fallback_service(files);
    }
    // Router::layer wraps each route separately: the limit must be the global
    // kind (one semaphore shared by every route), or each route gets its own.
    app.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(refused))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(options.max_in_flight))
            .timeout(options.timeout),
    )
    .layer(TraceLayer::new_for_http())
}

/// Connection-level limits (what hyper enforces before a request exists).
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// A client must send its request headers within this time, or the connection is closed
    /// (slowloris: otherwise a client could hold a connection open forever by trickling headers).
    pub header_timeout: Duration,
    /// Open connections beyond this are closed on accept (file descriptors are finite).
    pub max_connections: usize,
    /// On shutdown, how long requests in flight may take to finish.
    pub drain: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_millis(defaults::HEADER_TIMEOUT_MS),
            max_connections: defaults::MAX_CONNECTIONS,
            drain: Duration::from_millis(defaults::DRAIN_MS),
        }
    }
}

/// Serves HTTP/1.1 until `shutdown` resolves, then stops accepting, lets the
/// requests in flight finish (up to `limits.drain`) and returns.
///
/// A hand-written accept loop rather than `axum::serve`, which offers no
/// header-read timeout and no connection cap.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: &ConnectionLimits,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(max = limits.max_connections, "connection limit reached: closing a new connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections drained"),
        () = tokio::time::sleep(limits.drain) => tracing::warn!("connections still open after the drain period; closing"),
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}
