//! PostgreSQL, for several servers sharing one log. A commit is fsynced by the
//! server's defaults (`synchronous_commit=on`). A lost connection (the server
//! restarted, the network dropped) fails the statements in flight, which the
//! caller answers with 503; the next use reconnects.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::sql::{Conn, DbError, Val};

pub(crate) struct Postgres {
    config: postgres::Config,
    /// The connection and its prepared statements (which die with it).
    live: Option<(Client, HashMap<String, Statement>)>,
    /// Shown in errors: the URL without its password.
    shown: String,
}

/// The URL with any password replaced by `***` (secrets never reach logs).
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "postgres://…".into() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (Some(auth), host),
        None => (None, rest),
    };
    let host = host.split_once('?').map_or(host, |(h, _)| h);
    match auth.map(|a| a.split_once(':').map_or(a, |(user, _)| user)) {
        Some(user) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://{host}"),
    }
}

fn db(e: postgres::Error) -> DbError {
    // `Display` of a server error is only "db error"; the detail is in the source.
    let detail = e.as_db_error().map(|d| format!("{}: {}", d.code().code(), d.message()));
    DbError::Db(detail.unwrap_or_else(|| e.to_string()))
}

impl Postgres {
    pub(crate) fn open(url: &str) -> Result<Postgres, DbError> {
        let shown = redact(url);
        let mut config: postgres::Config =
            url.parse().map_err(|e| DbError::Db(format!("{shown} is not a PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let mut pg = Postgres { config, live: None, shown };
        pg.connect()?;
        Ok(pg)
    }

    fn connect(&mut self) -> Result<&mut (Client, HashMap<String, Statement>), DbError> {
        if self.live.as_ref().is_some_and(|(c, _)| c.is_closed()) {
            self.live = None;
        }
        if self.live.is_none() {
            let client = self
                .config
                .connect(NoTls)
                .map_err(|e| DbError::Db(format!("cannot connect to {}: {}", self.shown, db(e))))?;
            tracing::info!(log = %self.shown, "connected to PostgreSQL");
            self.live = Some((client, HashMap::new()));
        }
        self.live.as_mut().ok_or_else(|| DbError::Db("no connection".into()))
    }

    /// Runs `f` on the live connection; a connection that broke is dropped, so the next call reconnects.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut Client, &mut HashMap<String, Statement>) -> Result<T, postgres::Error>,
    ) -> Result<T, DbError> {
        let (client, statements) = self.connect()?;
        let out = f(client, statements);
        if out.is_err() && client.is_closed() {
            self.live = None;
        }
        out.map_err(db)
    }
}

fn prepared(
    client: &mut Client,
    cache: &mut HashMap<String, Statement>,
    sql: &str,
) -> Result<Statement, postgres::Error> {
    if let Some(s) = cache.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    cache.insert(sql.to_string(), s.clone());
    Ok(s)
}

impl ToSql for Val {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Real(f) => f.to_sql(ty, out),
            Val::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT8 | Type::TEXT | Type::VARCHAR)
    }

    postgres::types::to_sql_checked!();
}

fn read(row: &postgres::Row) -> Result<Vec<Val>, DbError> {
    let get = |e: postgres::Error| DbError::Shape(e.to_string());
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            Ok(match ty {
                Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(get)?.map_or(Val::Null, Val::Int),
                Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(get)?.map_or(Val::Null, |v| Val::Int(v.into())),
                Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(get)?.map_or(Val::Null, Val::Real),
                Type::TEXT | Type::VARCHAR => {
                    row.try_get::<_, Option<String>>(i).map_err(get)?.map_or(Val::Null, Val::Text)
                }
                other => return Err(DbError::Shape(format!("a column of type {other} where the log writes none"))),
            })
        })
        .collect()
}

impl Conn for Postgres {
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.with(|c, _| c.batch_execute(sql))
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        self.with(|c, cache| {
            let s = prepared(c, cache, sql)?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            c.execute(&s, &refs)
        })
    }

    fn each(
        &mut self,
        sql: &str,
        params: &[Val],
        row: &mut dyn FnMut(Vec<Val>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut inner: Result<(), DbError> = Ok(());
        self.with(|c, cache| {
            let s = prepared(c, cache, sql)?;
            let mut rows = c.query_raw(&s, params.iter())?;
            while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
                if let Err(e) = read(&r).and_then(&mut *row) {
                    inner = Err(e);
                    break;
                }
            }
            Ok(())
        })?;
        inner
    }

    fn check(&mut self) -> Result<(), DbError> {
        self.connect().map(|_| ())
    }

    fn lost(&self) -> bool {
        self.live.is_none()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            super::redact("postgres://fraud:s3cret@127.0.0.1:5432/log?sslmode=disable"),
            "postgres://fraud:***@127.0.0.1:5432/log"
        );
        assert_eq!(super::redact("postgres://127.0.0.1/log"), "postgres://127.0.0.1/log");
        assert!(!super::redact("postgresql://a:b@c@h/d").contains('b'));
    }
}
