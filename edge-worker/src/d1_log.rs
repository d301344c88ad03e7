//! The Worker's decision log: D1 (SQLite at the edge), written with the very
//! tables and statements the native log uses (`contract::log_tables`), so an
//! export (`wrangler d1 export`) opens as an SQLite decision log — the
//! server's admin routes, the review page and `train --from-log` read it.
//!
//! A request's decisions go in one `batch`, which D1 runs as one transaction:
//! the answer waits for it, so a 200 means stored (D1 commits durably before
//! it resolves), and a failure stores nothing and answers 503
//! `decision_log_unavailable` with Retry-After.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use contract::log::{DecisionRecord, ModelInfo};
use contract::log_tables::{
    decision_cells, insert_decisions, model_cells, question_marks, tables, Cell, Dialect, CELLS_PER_DECISION,
    OPEN_REVIEW, READ_VERSION, RECORD_VERSION, REGISTER_MODEL, SCHEMA_VERSION, VERSION_KEY,
};
use http_api::{DecisionSink, ErrorCode, HttpError};
use worker::send::SendFuture;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

/// D1 binds at most 100 values per statement: 8 decisions of 12.
const ROWS_PER_INSERT: usize = 100 / CELLS_PER_DECISION;

/// The name of the D1 binding in `wrangler.toml`; without one, the Worker logs nothing.
pub const BINDING: &str = "DECISIONS";

/// Logs to one D1 database.
pub struct D1Sink {
    db: D1Database,
    model: ModelInfo,
    /// The tables exist and the model is recorded (once per isolate).
    ready: AtomicBool,
    /// Random per isolate, so isolates never assign the same id.
    prefix: String,
    next: AtomicU64,
}

impl D1Sink {
    /// Logs decisions of `model` to `db`.
    pub fn new(db: D1Database, model: ModelInfo) -> D1Sink {
        // Two draws of the isolate's generator (about 104 bits): ids stay unique across isolates.
        let draw = || (worker::js_sys::Math::random() * (1u64 << 52) as f64) as u64;
        let prefix = format!("{:013x}{:013x}", draw(), draw());
        D1Sink { db, model, ready: AtomicBool::new(false), prefix, next: AtomicU64::new(0) }
    }

    fn statement(&self, sql: &str, cells: &[Cell<'_>]) -> Result<D1PreparedStatement, HttpError> {
        let values: Vec<JsValue> = cells.iter().map(js_value).collect();
        self.db.prepare(question_marks(sql)).bind(&values).map_err(|e| unavailable(&e))
    }

    /// Creates the tables if they are not there, checks their version and records the model.
    async fn prepare(&self) -> Result<(), HttpError> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut statements: Vec<D1PreparedStatement> = tables(Dialect::Sqlite)
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| self.db.prepare(s))
            .collect();
        let version = SCHEMA_VERSION.to_string();
        statements.push(self.statement(RECORD_VERSION, &[Cell::Text(VERSION_KEY.into()), Cell::Text(version.into())])?);
        statements.push(self.statement(REGISTER_MODEL, &model_cells(&self.model, now_ms()))?);
        self.db.batch(statements).await.map_err(|e| unavailable(&e))?;
        let found: Option<String> = self
            .statement(READ_VERSION, &[Cell::Text(VERSION_KEY.into())])?
            .first(Some("value"))
            .await
            .map_err(|e| unavailable(&e))?;
        match found.as_deref().map(str::parse::<i64>) {
            Some(Ok(v)) if v <= SCHEMA_VERSION => {}
            other => {
                return Err(HttpError::new(
                    ErrorCode::LogUnavailable,
                    format!(
                        "the D1 decision log's tables are version {other:?}; this Worker writes version \
                         {SCHEMA_VERSION} (deploy a newer Worker)"
                    ),
                ))
            }
        }
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn write(&self, records: Vec<DecisionRecord>) -> Result<(), HttpError> {
        if records.is_empty() {
            // An empty batch: nothing to store (and D1 refuses an empty `batch`).
            return Ok(());
        }
        self.prepare().await?;
        let mut statements = Vec::with_capacity(records.len().div_ceil(ROWS_PER_INSERT) + 1);
        for chunk in records.chunks(ROWS_PER_INSERT) {
            let cells: Vec<Cell<'_>> = chunk.iter().flat_map(decision_cells).collect();
            statements.push(self.statement(&insert_decisions(chunk.len()), &cells)?);
        }
        for d in records.iter().filter(|d| d.action == "review") {
            statements.push(self.statement(OPEN_REVIEW, &[Cell::Text(d.id.as_str().into())])?);
        }
        self.db.batch(statements).await.map_err(|e| unavailable(&e))?;
        Ok(())
    }
}

fn js_value(cell: &Cell<'_>) -> JsValue {
    match cell {
        Cell::Null => JsValue::null(),
        // Times in milliseconds and 0/1 flags: well inside a double's exact integers.
        Cell::Int(i) => JsValue::from_f64(*i as f64),
        Cell::Real(f) => JsValue::from_f64(*f),
        Cell::Text(t) => JsValue::from_str(t),
    }
}

fn unavailable(e: &worker::Error) -> HttpError {
    HttpError::retry_later(
        ErrorCode::LogUnavailable,
        format!("the decision log (D1) did not store the decisions, so none was answered: {e}"),
        1,
    )
}

fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

impl DecisionSink for D1Sink {
    fn log(&self, records: Vec<DecisionRecord>) -> Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + '_>> {
        // The Worker runs one thread: D1's futures need not be Send there.
        Box::pin(SendFuture::new(self.write(records)))
    }

    fn assign_id(&self) -> String {
        format!("edge-{}-{}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn now_ms(&self) -> i64 {
        now_ms()
    }
}
