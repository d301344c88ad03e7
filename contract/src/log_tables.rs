//! The decision log's tables and the statements that write decisions: one
//! definition for every writer — the native server and the NATS consumers
//! (SQLite or PostgreSQL, through `decision-log`) and the edge Worker (D1,
//! SQLite at the edge) — so a log written anywhere reads the same everywhere
//! (a D1 export opens as an SQLite log; `train --from-log` retrains from it).
//!
//! Statements use `$1 … $n` placeholders, each used once and in order:
//! SQLite numbers a `$1` by first use, PostgreSQL reads it as positional; D1
//! takes SQLite's `?NNN` ([`question_marks`]).

use std::borrow::Cow;

use crate::log::{DecisionRecord, JsonText, ModelInfo};

/// The tables, in the dialect's words (`{serial}` for an auto-increasing key, `{int}`, `{real}`).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY, name TEXT NOT NULL, features TEXT NOT NULL,
    label TEXT NOT NULL, id_column TEXT, amount TEXT, categorical TEXT NOT NULL, first_seen_ms {int} NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    seq {serial}, id TEXT NOT NULL UNIQUE, at_ms {int} NOT NULL, model_id TEXT NOT NULL,
    ruleset TEXT, features TEXT NOT NULL, probability {real} NOT NULL, is_fraud {int} NOT NULL,
    action TEXT NOT NULL, rule TEXT, shadow_rules TEXT NOT NULL, reasons TEXT, expected_loss {real} NOT NULL);
CREATE TABLE IF NOT EXISTS challenger_decisions (
    id TEXT PRIMARY KEY, model_id TEXT NOT NULL, probability {real} NOT NULL, is_fraud {int} NOT NULL,
    action TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    id TEXT NOT NULL, source TEXT NOT NULL, label TEXT NOT NULL,
    observed_ms {int} NOT NULL, recorded_ms {int} NOT NULL, PRIMARY KEY (id, source));
CREATE TABLE IF NOT EXISTS reviews (
    id TEXT PRIMARY KEY, opened_ms {int} NOT NULL, expected_loss {real} NOT NULL, status TEXT NOT NULL,
    closed_ms {int}, outcome TEXT, note TEXT, closed_by TEXT);
CREATE INDEX IF NOT EXISTS reviews_by_loss ON reviews (status, expected_loss);
CREATE TABLE IF NOT EXISTS audit (
    seq {serial}, at_ms {int} NOT NULL, who TEXT NOT NULL, what TEXT NOT NULL, id TEXT NOT NULL, detail TEXT NOT NULL);
";

/// The version of the tables above, kept in `log_meta` under `schema_version` (a log
/// written by a later version is refused). Tables added since (`challenger_decisions`)
/// are created by `IF NOT EXISTS` when an older log is opened: no new version.
pub const SCHEMA_VERSION: i64 = 1;

/// Records [`SCHEMA_VERSION`] in a new log (`$1` the key, `$2` the version as text).
pub const RECORD_VERSION: &str = "INSERT INTO log_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

/// Reads the recorded version (`$1` the key).
pub const READ_VERSION: &str = "SELECT value FROM log_meta WHERE key = $1";

/// The key [`RECORD_VERSION`] and [`READ_VERSION`] use.
pub const VERSION_KEY: &str = "schema_version";

/// The database a statement is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, embedded or at the edge (D1).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The `CREATE … IF NOT EXISTS` statements, `;`-separated.
pub fn tables(dialect: Dialect) -> String {
    let (serial, int, real) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT", "DOUBLE PRECISION"),
    };
    TABLES.replace("{serial}", serial).replace("{int}", int).replace("{real}", real)
}

/// One statement's text for D1, which binds SQLite's `?NNN` by number.
pub fn question_marks(sql: &str) -> String {
    // No statement here has a `$` other than its placeholders (values are always bound).
    sql.replace('$', "?")
}

/// A value bound to a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    fn text(s: &'a str) -> Cell<'a> {
        Cell::Text(Cow::Borrowed(s))
    }

    fn opt_text(s: Option<&'a str>) -> Cell<'a> {
        s.map_or(Cell::Null, Cell::text)
    }

    fn json<T: serde::Serialize + ?Sized>(value: &T, empty: &'static str) -> Cell<'a> {
        Cell::Text(serde_json::to_string(value).map_or(Cow::Borrowed(empty), Cow::Owned))
    }
}

/// The columns a decision fills, in [`decision_cells`]' order.
pub const DECISION_COLUMNS: &str =
    "id, at_ms, model_id, ruleset, features, probability, is_fraud, action, rule, shadow_rules, reasons, expected_loss";

/// How many values one decision binds.
pub const CELLS_PER_DECISION: usize = 12;

/// Inserts `rows` decisions (`rows × CELLS_PER_DECISION` placeholders). The first
/// decision logged under an id is the one kept: a client that resends an id does not
/// rewrite history.
pub fn insert_decisions(rows: usize) -> String {
    insert_rows("decisions", DECISION_COLUMNS, CELLS_PER_DECISION, rows)
}

/// `INSERT INTO table (columns) VALUES ($1,…),(…) ON CONFLICT (id) DO NOTHING` for `rows` rows of `width` values.
fn insert_rows(table: &str, columns: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({columns}) VALUES ");
    for r in 0..rows {
        sql.push_str(if r > 0 { ",(" } else { "(" });
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

/// A decision's values for [`insert_decisions`], in [`DECISION_COLUMNS`]' order.
pub fn decision_cells(d: &DecisionRecord) -> [Cell<'_>; CELLS_PER_DECISION] {
    [
        Cell::text(&d.id),
        Cell::Int(d.at_ms),
        Cell::text(&d.model_id),
        Cell::opt_text(d.ruleset.as_deref()),
        Cell::text(d.features.get()),
        Cell::Real(d.probability),
        Cell::Int(d.is_fraud.into()),
        Cell::text(&d.action),
        Cell::opt_text(d.rule.as_deref()),
        Cell::json(&d.shadow_rules, "[]"),
        Cell::opt_text(d.reasons.as_ref().map(JsonText::get)),
        Cell::Real(d.expected_loss),
    ]
}

/// The columns a challenger's decision fills, in [`challenger_cells`]' order.
pub const CHALLENGER_COLUMNS: &str = "id, model_id, probability, is_fraud, action";

/// How many values one challenger decision binds.
pub const CELLS_PER_CHALLENGER: usize = 5;

/// Inserts `rows` challenger decisions, beside decisions inserted in the same transaction;
/// as there, the first kept under an id. (An id first logged without a challenger and resent
/// while one shadows gets the resend's challenger row: the row then scores the resent body.)
pub fn insert_challengers(rows: usize) -> String {
    insert_rows("challenger_decisions", CHALLENGER_COLUMNS, CELLS_PER_CHALLENGER, rows)
}

/// A shadowed decision's challenger values for [`insert_challengers`] (none without a challenger).
pub fn challenger_cells(d: &DecisionRecord) -> Option<[Cell<'_>; CELLS_PER_CHALLENGER]> {
    let c = d.challenger.as_ref()?;
    Some([
        Cell::text(&d.id),
        Cell::text(&c.model_id),
        Cell::Real(c.probability),
        Cell::Int(c.is_fraud.into()),
        Cell::text(&c.action),
    ])
}

/// Opens the case of a `review` decision (`$1` its id), from the stored row, so a
/// resent id does not open a case for a decision that was not logged.
pub const OPEN_REVIEW: &str = "INSERT INTO reviews (id, opened_ms, expected_loss, status) \
     SELECT id, at_ms, expected_loss, 'open' FROM decisions WHERE id = $1 AND action = 'review' \
     ON CONFLICT (id) DO NOTHING";

/// Records a model the first time it decides (values from [`model_cells`]).
pub const REGISTER_MODEL: &str = "INSERT INTO models \
     (model_id, name, features, label, id_column, amount, categorical, first_seen_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (model_id) DO NOTHING";

/// A model's values for [`REGISTER_MODEL`].
pub fn model_cells(info: &ModelInfo, now_ms: i64) -> [Cell<'_>; 8] {
    [
        Cell::text(&info.model_id),
        Cell::text(&info.name),
        Cell::json(&info.features, "[]"),
        Cell::text(&info.label),
        Cell::opt_text(info.id_column.as_deref()),
        Cell::opt_text(info.amount.as_deref()),
        Cell::json(&info.categorical, "[]"),
        Cell::Int(now_ms),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_once_in_order() {
        let sql = insert_decisions(3);
        let found: Vec<usize> =
            sql.split('$').skip(1).map(|s| s.split([',', ')']).next().unwrap().parse().unwrap()).collect();
        assert_eq!(found, (1..=3 * CELLS_PER_DECISION).collect::<Vec<_>>());
        assert_eq!(DECISION_COLUMNS.split(", ").count(), CELLS_PER_DECISION);
        assert!(!question_marks(&sql).contains('$'));
        assert!(question_marks(OPEN_REVIEW).contains("id = ?1"));
        let sql = insert_challengers(2);
        assert!(sql.contains("($1,$2,$3,$4,$5),($6,$7,$8,$9,$10)"), "{sql}");
        assert_eq!(CHALLENGER_COLUMNS.split(", ").count(), CELLS_PER_CHALLENGER);
    }

    #[test]
    fn dialects_differ_only_in_types() {
        let (s, p) = (tables(Dialect::Sqlite), tables(Dialect::Postgres));
        assert!(s.contains("AUTOINCREMENT") && !s.contains('{'));
        assert!(p.contains("BIGSERIAL") && !p.contains('{'));
        assert_eq!(s.matches("CREATE").count(), p.matches("CREATE").count());
    }
}
