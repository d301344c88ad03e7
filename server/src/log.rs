//! The decision log as the shared Router's [`DecisionSink`]: a request's
//! decisions go to the log's group-commit writer and the answer waits for the
//! commit. A full queue or a failed commit is a 503 with Retry-After, never a
//! 200 for a decision that is not stored.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use contract::log::DecisionRecord;
use decision_log::{Log, LogError};
use http_api::{DecisionSink, HttpError};

/// The server's sink.
pub struct LogSink {
    log: Arc<Log>,
    /// Random per process, so servers sharing one log never assign the same id.
    prefix: String,
    next: AtomicU64,
}

impl LogSink {
    /// Logs to `log`.
    pub fn new(log: Arc<Log>) -> LogSink {
        LogSink { log, prefix: format!("{:016x}", rand::random::<u64>()), next: AtomicU64::new(0) }
    }
}

/// A log error as the contract's error (503s with Retry-After).
pub fn http_error(e: &LogError) -> HttpError {
    match e {
        LogError::Overloaded | LogError::Unavailable(_) => HttpError::retry_later(e.code(), e.to_string(), 1),
        _ => HttpError::new(e.code(), e.to_string()),
    }
}

impl DecisionSink for LogSink {
    fn log(&self, records: Vec<DecisionRecord>) -> Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + '_>> {
        let submitted = self.log.submit(records);
        Box::pin(async move {
            let done = submitted.map_err(|e| http_error(&e))?;
            match done.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(http_error(&e)),
                Err(_) => Err(http_error(&LogError::Unavailable("the log's writer stopped".into()))),
            }
        })
    }

    fn assign_id(&self) -> String {
        format!("auto-{}-{}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn now_ms(&self) -> i64 {
        decision_log::now_ms()
    }
}
