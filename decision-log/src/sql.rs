//! The little SQL both databases share: values, a connection trait, and the
//! tables in each dialect. Every query is written once, with `$1 … $n`
//! placeholders each used once and in order (SQLite reads `$1` as a named
//! parameter numbered by first use, PostgreSQL as positional), so the same
//! text runs on both.

use contract::log_tables::{tables, Cell, Dialect, READ_VERSION, RECORD_VERSION, SCHEMA_VERSION, VERSION_KEY};

/// A column value. Integers are 64-bit in both databases (BIGINT), reals
/// double precision, text UTF-8.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<Cell<'_>> for Val {
    fn from(cell: Cell<'_>) -> Val {
        match cell {
            Cell::Null => Val::Null,
            Cell::Int(i) => Val::Int(i),
            Cell::Real(f) => Val::Real(f),
            Cell::Text(t) => Val::Text(t.into_owned()),
        }
    }
}

impl Val {
    pub(crate) fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }

    pub(crate) fn opt_text(s: Option<&str>) -> Val {
        s.map_or(Val::Null, Val::text)
    }

    pub(crate) fn as_int(&self) -> Result<i64, DbError> {
        match self {
            Val::Int(i) => Ok(*i),
            other => Err(DbError::Shape(format!("expected an integer, got {other:?}"))),
        }
    }

    pub(crate) fn as_real(&self) -> Result<f64, DbError> {
        match self {
            Val::Real(f) => Ok(*f),
            Val::Int(i) => Ok(*i as f64),
            other => Err(DbError::Shape(format!("expected a number, got {other:?}"))),
        }
    }

    pub(crate) fn into_text(self) -> Result<String, DbError> {
        match self {
            Val::Text(s) => Ok(s),
            other => Err(DbError::Shape(format!("expected text, got {other:?}"))),
        }
    }

    pub(crate) fn into_opt_text(self) -> Result<Option<String>, DbError> {
        match self {
            Val::Null => Ok(None),
            v => v.into_text().map(Some),
        }
    }

    pub(crate) fn as_opt_int(&self) -> Result<Option<i64>, DbError> {
        match self {
            Val::Null => Ok(None),
            v => v.as_int().map(Some),
        }
    }
}

/// What went wrong talking to the database.
#[derive(Clone, Debug)]
pub(crate) enum DbError {
    /// The database refused or could not be reached (disk full, file gone, server down, …).
    Db(String),
    /// A row did not have the shape the log writes (someone else's table, or a bug).
    Shape(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Db(m) | DbError::Shape(m) => f.write_str(m),
        }
    }
}

/// One connection to either database.
pub(crate) trait Conn: Send {
    /// Statements without parameters or results (DDL, `BEGIN`, `COMMIT`).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// One statement; the rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// One query, each row handed to `row` in order (streamed: an export need not fit in memory).
    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), DbError>,
    ) -> Result<(), DbError>;
    /// Checks the connection is still the one it should be (the SQLite file not deleted, the
    /// PostgreSQL session alive, reconnecting if it is not).
    fn check(&mut self) -> Result<(), DbError>;
    /// How a transaction starts (SQLite takes the write lock at once, so a transaction never has to
    /// upgrade a read lock while another process writes: that would fail at once instead of waiting).
    fn begin(&self) -> &'static str {
        "BEGIN"
    }
    /// The last error cut the connection (it reconnects on next use): work that failed may be retried.
    fn lost(&self) -> bool {
        false
    }

    /// A whole query's rows.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Val>>, DbError> {
        let mut rows = Vec::new();
        self.each(sql, params, &mut |r| {
            rows.push(r);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Runs `work` in a transaction: committed if it returns `Ok`, rolled back otherwise.
    fn transaction<T>(&mut self, work: impl FnOnce(&mut Self) -> Result<T, DbError>) -> Result<T, DbError>
    where
        Self: Sized,
    {
        self.batch(self.begin())?;
        match work(self).and_then(|value| self.batch("COMMIT").map(|()| value)) {
            Ok(value) => Ok(value),
            Err(e) => {
                // The transaction may already be gone with the connection: the first error is the one to report.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Creates the tables if they are not there and checks the version of those that are.
pub(crate) fn migrate(conn: &mut impl Conn, sqlite: bool) -> Result<(), DbError> {
    conn.batch(&tables(if sqlite { Dialect::Sqlite } else { Dialect::Postgres }))?;
    conn.exec(RECORD_VERSION, &[Val::text(VERSION_KEY), Val::text(SCHEMA_VERSION.to_string())])?;
    let rows = conn.query(READ_VERSION, &[Val::text(VERSION_KEY)])?;
    let found = rows.into_iter().next().and_then(|r| r.into_iter().next()).map(Val::into_text).transpose()?;
    match found.as_deref().map(str::parse::<i64>) {
        Some(Ok(v)) if v <= SCHEMA_VERSION => Ok(()),
        other => Err(DbError::Db(format!(
            "the decision log's tables are version {other:?}; this build writes version {SCHEMA_VERSION} (upgrade it)"
        ))),
    }
}
