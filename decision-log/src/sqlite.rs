//! Embedded SQLite: one file, WAL mode, every commit fsynced (`synchronous=FULL`)
//! unless the operator trades power-loss safety for speed (`NORMAL`: a commit
//! survives a process crash, not a power cut).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use crate::sql::{Conn, DbError, Val};
use crate::Durability;

pub(crate) struct Sqlite {
    conn: Connection,
    path: PathBuf,
    /// The file's identity at open: a deleted or replaced file is noticed at the next commit
    /// (SQLite itself would go on writing to the unlinked inode, and lose it all).
    identity: Option<(u64, u64)>,
}

fn db(e: rusqlite::Error) -> DbError {
    DbError::Db(e.to_string())
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (0, m.len().min(1)))
}

impl Sqlite {
    pub(crate) fn open(path: &Path, durability: Durability, max_bytes: Option<u64>) -> Result<Sqlite, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| DbError::Db(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(DbError::Db(format!("{}: SQLite could not use WAL mode (got {mode})", path.display())));
        }
        let sync = match durability {
            Durability::Fsync => "FULL",
            Durability::ProcessCrash => "NORMAL",
        };
        // A 64 MiB page cache: the id index of a large log stays in memory.
        conn.execute_batch(&format!("PRAGMA synchronous = {sync}; PRAGMA cache_size = -65536;")).map_err(db)?;
        if let Some(bytes) = max_bytes {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(db)?;
            let pages = (bytes / page.max(512) as u64).max(1);
            let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).map_err(db)?;
        }
        Ok(Sqlite { conn, path: path.to_path_buf(), identity: identity(path) })
    }
}

struct Param<'a>(&'a Val);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn read(v: ValueRef<'_>) -> Result<Val, DbError> {
    Ok(match v {
        ValueRef::Null => Val::Null,
        ValueRef::Integer(i) => Val::Int(i),
        ValueRef::Real(f) => Val::Real(f),
        ValueRef::Text(t) => {
            Val::Text(String::from_utf8(t.to_vec()).map_err(|_| DbError::Shape("text that is not UTF-8".into()))?)
        }
        ValueRef::Blob(_) => return Err(DbError::Shape("a blob where the log writes none".into())),
    })
}

impl Conn for Sqlite {
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.conn.execute_batch(sql).map_err(db)
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let n = stmt.execute(rusqlite::params_from_iter(params.iter())).map_err(db)?;
        Ok(n as u64)
    }

    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let width = stmt.column_count();
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter())).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(read(r.get_ref(i).map_err(db)?)?);
            }
            row(values)?;
        }
        Ok(())
    }

    fn begin(&self) -> &'static str {
        "BEGIN IMMEDIATE"
    }

    fn check(&mut self) -> Result<(), DbError> {
        if identity(&self.path) != self.identity {
            return Err(DbError::Db(format!(
                "the decision log file {} was deleted or replaced; restore it and restart the server",
                self.path.display()
            )));
        }
        Ok(())
    }
}
