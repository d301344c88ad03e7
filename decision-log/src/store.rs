//! What the log does, written once over [`Conn`]: decisions in, labels,
//! cases, the audit trail, and the export a retrain reads.

use std::collections::HashMap;

use contract::log::{
    Case, CaseState, Cases, ChallengerDecision, DecisionRecord, DecisionView, JsonText, LabelStored, LabelView,
    ModelInfo, Outcome, ReviewClose,
};

use contract::log_tables::{
    challenger_cells, decision_cells, insert_challengers, insert_decisions, model_cells, DECISION_COLUMNS, OPEN_REVIEW,
    REGISTER_MODEL,
};

use crate::sql::{Conn, DbError, Val};
use crate::LogError;

/// Rows per INSERT: fewer statements (and, on PostgreSQL, round trips) per group; 12 × 256
/// parameters stays below both databases' limits (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_INSERT: usize = 256;

/// Inserts `records` through `insert(n)` statements of n rows, each record's values from `cells`.
/// Three statement shapes only (256, 16 and 1 rows), so each stays prepared in the connection's
/// cache whatever the group's size.
fn insert_chunked<'r, C: IntoIterator<Item = contract::log_tables::Cell<'r>>>(
    conn: &mut impl Conn,
    records: &[&'r DecisionRecord],
    insert: fn(usize) -> String,
    cells: impl Fn(&'r DecisionRecord) -> C,
) -> Result<(), DbError> {
    let mut params = Vec::new();
    let mut rest = records;
    for size in [ROWS_PER_INSERT, 16, 1] {
        let sql = insert(size);
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            params.clear();
            for d in chunk {
                params.extend(cells(d).into_iter().map(Val::from));
            }
            conn.exec(&sql, &params)?;
            rest = tail;
        }
    }
    Ok(())
}

/// Writes decisions, and the challenger's beside those scored in shadow (the caller holds the
/// transaction); each `review` opens a case.
pub(crate) fn write_decisions(conn: &mut impl Conn, records: &[&DecisionRecord]) -> Result<(), DbError> {
    insert_chunked(conn, records, insert_decisions, decision_cells)?;
    let shadowed: Vec<&DecisionRecord> = records.iter().copied().filter(|d| d.challenger.is_some()).collect();
    insert_chunked(conn, &shadowed, insert_challengers, |d| challenger_cells(d).into_iter().flatten())?;
    for d in records.iter().filter(|d| d.action == "review") {
        // From the stored row, so a resent id does not open a case for a decision that was not logged.
        conn.exec(OPEN_REVIEW, &[Val::text(&d.id)])?;
    }
    Ok(())
}

/// Records a model the first time it decides.
pub(crate) fn register_model(conn: &mut impl Conn, info: &ModelInfo, now_ms: i64) -> Result<(), DbError> {
    conn.exec(REGISTER_MODEL, &model_cells(info, now_ms).map(Val::from))?;
    Ok(())
}

/// A row's columns in order; a short row is a shape error.
fn columns(row: Vec<Val>) -> impl FnMut() -> Result<Val, DbError> {
    let mut it = row.into_iter();
    move || it.next().ok_or_else(|| DbError::Shape("short row".into()))
}

fn model_row(row: Vec<Val>) -> Result<ModelInfo, DbError> {
    let mut next = columns(row);
    let model_id = next()?.into_text()?;
    let name = next()?.into_text()?;
    let features: Vec<String> = serde_json::from_str(&next()?.into_text()?)
        .map_err(|e| DbError::Shape(format!("model {model_id}: features are not a JSON list: {e}")))?;
    let label = next()?.into_text()?;
    let id_column = next()?.into_opt_text()?;
    let amount = next()?.into_opt_text()?;
    let categorical: Vec<String> = serde_json::from_str(&next()?.into_text()?)
        .map_err(|e| DbError::Shape(format!("model {model_id}: categorical is not a JSON list: {e}")))?;
    Ok(ModelInfo { model_id, name, features, label, id_column, amount, categorical })
}

/// Every model that decided, oldest first.
pub(crate) fn models(conn: &mut impl Conn) -> Result<Vec<ModelInfo>, DbError> {
    conn.query("SELECT model_id, name, features, label, id_column, amount, categorical FROM models ORDER BY first_seen_ms, model_id", &[])?
        .into_iter()
        .map(model_row)
        .collect()
}

/// JSON the log wrote (it writes only JSON there; a view of a row edited by hand shows `null`).
fn raw(text: String, _what: &str) -> Result<JsonText, DbError> {
    Ok(JsonText::from_trusted(text))
}

fn decision_row(row: &mut std::vec::IntoIter<Val>) -> Result<DecisionRecord, DbError> {
    let mut next = || row.next().ok_or_else(|| DbError::Shape("short row".into()));
    let id = next()?.into_text()?;
    let at_ms = next()?.as_int()?;
    let model_id = next()?.into_text()?;
    let ruleset = next()?.into_opt_text()?;
    let features = raw(next()?.into_text()?, "features")?;
    let probability = next()?.as_real()?;
    let is_fraud = next()?.as_int()? != 0;
    let action = next()?.into_text()?;
    let rule = next()?.into_opt_text()?;
    let shadow_rules: Vec<String> = serde_json::from_str(&next()?.into_text()?)
        .map_err(|e| DbError::Shape(format!("shadow rules are not a JSON list: {e}")))?;
    let reasons = next()?.into_opt_text()?.map(|t| raw(t, "reasons")).transpose()?;
    let expected_loss = next()?.as_real()?;
    Ok(DecisionRecord {
        id,
        at_ms,
        model_id,
        ruleset,
        features,
        probability,
        is_fraud,
        action,
        rule,
        shadow_rules,
        reasons,
        expected_loss,
        challenger: None,
    })
}

/// The challenger's decision on `id`, if one was scored in shadow.
fn challenger(conn: &mut impl Conn, id: &str) -> Result<Option<ChallengerDecision>, DbError> {
    let rows = conn.query(
        "SELECT model_id, probability, is_fraud, action FROM challenger_decisions WHERE id = $1",
        &[Val::text(id)],
    )?;
    rows.into_iter()
        .next()
        .map(|r| {
            let mut next = columns(r);
            Ok(ChallengerDecision {
                model_id: next()?.into_text()?,
                probability: next()?.as_real()?,
                is_fraud: next()?.as_int()? != 0,
                action: next()?.into_text()?,
            })
        })
        .transpose()
}

fn outcome(text: &str) -> Result<Outcome, DbError> {
    Outcome::parse(text).ok_or_else(|| DbError::Shape(format!("label {text:?} is neither fraud nor legitimate")))
}

/// One decision, its labels and its case.
pub(crate) fn decision(conn: &mut impl Conn, id: &str) -> Result<Option<DecisionView>, DbError> {
    let rows = conn.query(&format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1"), &[Val::text(id)])?;
    let Some(row) = rows.into_iter().next() else { return Ok(None) };
    let mut decision = decision_row(&mut row.into_iter())?;
    decision.challenger = challenger(conn, id)?;
    let labels = conn
        .query(
            "SELECT label, source, observed_ms, recorded_ms FROM labels WHERE id = $1 ORDER BY observed_ms, source",
            &[Val::text(id)],
        )?
        .into_iter()
        .map(|r| {
            let mut next = columns(r);
            Ok(LabelView {
                label: outcome(&next()?.into_text()?)?,
                source: next()?.into_text()?,
                observed_ms: next()?.as_int()?,
                recorded_ms: next()?.as_int()?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let review = conn
        .query(
            "SELECT status, opened_ms, closed_ms, outcome, note, closed_by FROM reviews WHERE id = $1",
            &[Val::text(id)],
        )?
        .into_iter()
        .next()
        .map(|r| {
            let mut next = columns(r);
            Ok::<_, DbError>(CaseState {
                status: next()?.into_text()?,
                opened_ms: next()?.as_int()?,
                closed_ms: next()?.as_opt_int()?,
                outcome: next()?.into_opt_text()?.map(|t| outcome(&t)).transpose()?,
                note: next()?.into_opt_text()?,
                closed_by: next()?.into_opt_text()?,
            })
        })
        .transpose()?;
    Ok(Some(DecisionView { decision, labels, review }))
}

fn exists(conn: &mut impl Conn, id: &str) -> Result<bool, DbError> {
    Ok(!conn.query("SELECT 1 FROM decisions WHERE id = $1", &[Val::text(id)])?.is_empty())
}

fn audit(conn: &mut impl Conn, now_ms: i64, who: &str, what: &str, id: &str, detail: &str) -> Result<(), DbError> {
    conn.exec(
        "INSERT INTO audit (at_ms, who, what, id, detail) VALUES ($1, $2, $3, $4, $5)",
        &[Val::Int(now_ms), Val::text(who), Val::text(what), Val::text(id), Val::text(detail)],
    )?;
    Ok(())
}

/// A label, upserted per (id, source) — the caller holds the transaction.
fn put_label(
    conn: &mut impl Conn,
    id: &str,
    label: Outcome,
    source: &str,
    observed_ms: i64,
    now_ms: i64,
) -> Result<&'static str, DbError> {
    let before = conn.query(
        "SELECT label, observed_ms FROM labels WHERE id = $1 AND source = $2",
        &[Val::text(id), Val::text(source)],
    )?;
    let status = match before.into_iter().next() {
        None => "created",
        Some(r) if r.first() == Some(&Val::text(label.as_str())) && r.get(1) == Some(&Val::Int(observed_ms)) => {
            return Ok("unchanged")
        }
        Some(_) => "replaced",
    };
    conn.exec(
        "INSERT INTO labels (id, source, label, observed_ms, recorded_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id, source) DO UPDATE SET label = excluded.label, observed_ms = excluded.observed_ms, \
         recorded_ms = excluded.recorded_ms",
        &[Val::text(id), Val::text(source), Val::text(label.as_str()), Val::Int(observed_ms), Val::Int(now_ms)],
    )?;
    Ok(status)
}

/// `POST /labels`.
pub(crate) fn label(
    conn: &mut impl Conn,
    id: &str,
    label: Outcome,
    source: &str,
    observed_ms: i64,
    now_ms: i64,
    who: &str,
) -> Result<LabelStored, LogError> {
    conn.transaction(|c| {
        if !exists(c, id)? {
            return Ok(None);
        }
        let status = put_label(c, id, label, source, observed_ms, now_ms)?;
        if status != "unchanged" {
            let detail = serde_json::json!({"label": label.as_str(), "source": source, "observed_ms": observed_ms, "status": status});
            audit(c, now_ms, who, "label", id, &detail.to_string())?;
        }
        Ok(Some(status))
    })
    .map_err(LogError::from)?
    .map(|status| LabelStored { id: id.to_string(), source: source.to_string(), status: status.to_string() })
    .ok_or_else(|| LogError::NotFound(format!("no decision with id {:?} is in the log", shown(id))))
}

fn shown(id: &str) -> String {
    id.chars().take(100).collect()
}

/// `GET /reviews`: cases with `status`, largest expected loss first.
pub(crate) fn reviews(conn: &mut impl Conn, status: &str, limit: usize, now_ms: i64) -> Result<Cases, DbError> {
    let open = conn.query("SELECT COUNT(*) FROM reviews WHERE status = $1", &[Val::text(status)])?;
    let open = open.first().and_then(|r| r.first()).map_or(Ok(0), Val::as_int)?;
    let rows = conn.query(
        &format!(
            "SELECT r.status, r.opened_ms, {} FROM reviews r JOIN decisions d ON d.id = r.id \
             WHERE r.status = $1 ORDER BY r.expected_loss DESC, r.opened_ms, r.id LIMIT $2",
            DECISION_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ")
        ),
        &[Val::text(status), Val::Int(limit as i64)],
    )?;
    let cases = rows
        .into_iter()
        .map(|r| {
            let mut it = r.into_iter();
            let status = it.next().ok_or_else(|| DbError::Shape("short row".into()))?.into_text()?;
            let opened = it.next().ok_or_else(|| DbError::Shape("short row".into()))?.as_int()?;
            let decision = decision_row(&mut it)?;
            Ok(Case {
                id: decision.id.clone(),
                expected_loss: decision.expected_loss,
                age_seconds: (now_ms - opened).max(0) as f64 / 1000.0,
                status,
                decision,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok(Cases { open: open.max(0) as u64, cases })
}

/// `POST /reviews/{id}`: closes an open case, writes the analyst's label and the audit row,
/// and runs `side_effect` (a list addition) inside the transaction, so a failure there undoes it all.
pub(crate) fn close_review(
    conn: &mut impl Conn,
    id: &str,
    close: &ReviewClose,
    who: &str,
    now_ms: i64,
    side_effect: &mut dyn FnMut() -> Result<(), String>,
) -> Result<(), LogError> {
    let mut failed: Option<LogError> = None;
    let result = conn.transaction(|c| {
        let state = c.query("SELECT status FROM reviews WHERE id = $1", &[Val::text(id)])?;
        let Some(status) = state.into_iter().next().and_then(|r| r.into_iter().next()) else {
            failed = Some(LogError::NotFound(format!("no review case for id {:?}", shown(id))));
            return Err(DbError::Db("rolled back".into()));
        };
        let changed = c.exec(
            "UPDATE reviews SET status = 'closed', closed_ms = $1, outcome = $2, note = $3, closed_by = $4 \
             WHERE id = $5 AND status = 'open'",
            &[
                Val::Int(now_ms),
                Val::text(close.outcome.as_str()),
                Val::opt_text(close.note.as_deref()),
                Val::text(who),
                Val::text(id),
            ],
        )?;
        if changed == 0 {
            let status = status.into_text().unwrap_or_default();
            failed = Some(LogError::Conflict(format!("the case {:?} is already {status}", shown(id))));
            return Err(DbError::Db("rolled back".into()));
        }
        put_label(c, id, close.outcome, "analyst", now_ms, now_ms)?;
        let detail = serde_json::json!({
            "outcome": close.outcome.as_str(),
            "note": close.note,
            "add_to_list": close.add_to_list.as_ref().map(|a| serde_json::json!({"list": a.list, "value": a.value})),
        });
        audit(c, now_ms, who, "review_close", id, &detail.to_string())?;
        if let Err(e) = side_effect() {
            failed = Some(LogError::Unavailable(e));
            return Err(DbError::Db("rolled back".into()));
        }
        Ok(())
    });
    match (result, failed) {
        (_, Some(e)) => Err(e),
        (r, None) => r.map_err(LogError::from),
    }
}

/// Each labelled id's latest observed label (a tie goes to fraud): true for fraud.
fn latest_labels(conn: &mut impl Conn) -> Result<HashMap<String, (i64, bool)>, DbError> {
    let mut labels: HashMap<String, (i64, bool)> = HashMap::new();
    conn.each("SELECT id, label, observed_ms FROM labels", &[], &mut |r| {
        let mut next = columns(r);
        let id = next()?.into_text()?;
        let fraud = outcome(&next()?.into_text()?)? == Outcome::Fraud;
        let observed = next()?.as_int()?;
        let e = labels.entry(id).or_insert((observed, fraud));
        if (observed, fraud) > *e {
            *e = (observed, fraud);
        }
        Ok(())
    })?;
    Ok(labels)
}

/// How served decisions turned out, on the decisions whose outcome is known: labelled ones,
/// and unlabelled ones older than the maturity window (legitimate, as [`export`] counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Outcomes {
    /// Decisions with a known outcome.
    pub known: u64,
    /// Of which fraud.
    pub fraud: u64,
    /// Refused (the final action) and fraud.
    pub refused_fraud: u64,
    /// Refused and legitimate.
    pub refused_legitimate: u64,
    /// Sent to review and fraud.
    pub reviewed_fraud: u64,
    /// Sent to review and legitimate.
    pub reviewed_legitimate: u64,
    /// The model's policy alone refused (`is_fraud`), and fraud.
    pub model_refused_fraud: u64,
    /// The model's policy alone refused, and legitimate.
    pub model_refused_legitimate: u64,
}

impl Outcomes {
    /// Refused frauds / refused (none refused: none).
    pub fn precision(&self) -> Option<f64> {
        ratio(self.refused_fraud, self.refused_fraud + self.refused_legitimate)
    }

    /// Refused frauds / frauds.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.refused_fraud, self.fraud)
    }

    /// The same for the model's policy alone.
    pub fn model_precision(&self) -> Option<f64> {
        ratio(self.model_refused_fraud, self.model_refused_fraud + self.model_refused_legitimate)
    }

    /// The same for the model's policy alone.
    pub fn model_recall(&self) -> Option<f64> {
        ratio(self.model_refused_fraud, self.fraud)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Tallies [`Outcomes`] over the whole log.
pub(crate) fn outcomes(conn: &mut impl Conn, maturity_ms: i64, now_ms: i64) -> Result<Outcomes, DbError> {
    let labels = latest_labels(conn)?;
    let mut o = Outcomes::default();
    conn.each("SELECT id, at_ms, action, is_fraud FROM decisions", &[], &mut |r| {
        let mut next = columns(r);
        let id = next()?.into_text()?;
        let at_ms = next()?.as_int()?;
        let action = next()?.into_text()?;
        let model_refused = next()?.as_int()? != 0;
        let fraud = match labels.get(&id) {
            Some(&(_, fraud)) => fraud,
            None if now_ms.saturating_sub(at_ms) >= maturity_ms => false,
            None => return Ok(()),
        };
        o.known += 1;
        o.fraud += u64::from(fraud);
        match (action.as_str(), fraud) {
            ("refuse", true) => o.refused_fraud += 1,
            ("refuse", false) => o.refused_legitimate += 1,
            ("review", true) => o.reviewed_fraud += 1,
            ("review", false) => o.reviewed_legitimate += 1,
            _ => {}
        }
        match (model_refused, fraud) {
            (true, true) => o.model_refused_fraud += 1,
            (true, false) => o.model_refused_legitimate += 1,
            _ => {}
        }
        Ok(())
    })?;
    Ok(o)
}

/// What [`export`] counted.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ExportCounts {
    /// Decisions in the log.
    pub decisions: u64,
    /// Rows exported labelled fraud.
    pub fraud: u64,
    /// Rows exported labelled legitimate by a label.
    pub legitimate_labelled: u64,
    /// Rows exported as legitimate because they matured without a fraud label.
    pub legitimate_matured: u64,
    /// Unlabelled decisions younger than the maturity window: left out.
    pub young_unlabelled: u64,
    /// Decisions by a model with other features than the exported one: left out.
    pub other_schema: u64,
}

/// One exported training row: the logged feature object and its label.
pub struct ExportRow<'a> {
    /// The transaction id.
    pub id: &'a str,
    /// The feature values as logged: a JSON object in the model's feature order.
    pub features: &'a str,
    /// Fraud or not.
    pub fraud: bool,
}

/// The training rows of the log, in decision order. The label of a decision is its latest
/// observed label (a tie goes to fraud); an unlabelled decision older than `maturity_ms`
/// counts as legitimate, a younger one is left out. Only decisions by models with the same
/// features as `model` (default: the model of the latest decision) are exported.
pub(crate) fn export(
    conn: &mut impl Conn,
    model: Option<&str>,
    maturity_ms: i64,
    now_ms: i64,
    row: &mut dyn FnMut(&ModelInfo, ExportRow<'_>) -> Result<(), String>,
) -> Result<(ModelInfo, ExportCounts), LogError> {
    let models = models(conn)?;
    let wanted = match model {
        Some(m) => m.to_string(),
        None => {
            let last = conn.query("SELECT model_id FROM decisions ORDER BY seq DESC LIMIT 1", &[])?;
            match last.into_iter().next().and_then(|r| r.into_iter().next()) {
                Some(v) => v.into_text()?,
                None => return Err(LogError::NotFound("the decision log holds no decisions".into())),
            }
        }
    };
    let Some(info) = models.iter().find(|m| m.model_id == wanted).cloned() else {
        return Err(LogError::NotFound(format!("no model {wanted:?} in the decision log")));
    };
    let same: std::collections::HashSet<&str> =
        models.iter().filter(|m| m.features == info.features).map(|m| m.model_id.as_str()).collect();
    let labels = latest_labels(conn)?;
    let mut counts = ExportCounts::default();
    let mut failed: Option<String> = None;
    conn.each("SELECT id, at_ms, model_id, features FROM decisions ORDER BY seq", &[], &mut |r| {
        counts.decisions += 1;
        let mut next = columns(r);
        let id = next()?.into_text()?;
        let at_ms = next()?.as_int()?;
        let model_id = next()?.into_text()?;
        if !same.contains(model_id.as_str()) {
            counts.other_schema += 1;
            return Ok(());
        }
        let fraud = match labels.get(&id) {
            Some(&(_, true)) => {
                counts.fraud += 1;
                true
            }
            Some(&(_, false)) => {
                counts.legitimate_labelled += 1;
                false
            }
            None if now_ms.saturating_sub(at_ms) >= maturity_ms => {
                counts.legitimate_matured += 1;
                false
            }
            None => {
                counts.young_unlabelled += 1;
                return Ok(());
            }
        };
        let features = next()?.into_text()?;
        row(&info, ExportRow { id: &id, features: &features, fraud }).map_err(|e| {
            failed = Some(e.clone());
            DbError::Db(e)
        })
    })
    .map_err(|e| match failed.take() {
        Some(f) => LogError::Invalid(f),
        None => LogError::from(e),
    })?;
    Ok((info, counts))
}

/// One decision scored in shadow too, with its known outcome (see [`shadowed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowedRow {
    /// The transaction id.
    pub id: String,
    /// When it was decided.
    pub at_ms: i64,
    /// The champion's decision: model id, probability, policy refused, action.
    pub champion: ChallengerDecision,
    /// The challenger's, beside it.
    pub challenger: ChallengerDecision,
    /// The transaction's amount, when its model has an amount column and the value was given.
    pub amount: Option<f64>,
    /// Fraud (its latest label), or legitimate (labelled, or matured unlabelled).
    pub fraud: bool,
}

/// What [`shadowed`] read.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ShadowCounts {
    /// Decisions with a challenger's beside them.
    pub shadowed: u64,
    /// Of them, with a known outcome (given to the caller).
    pub known: u64,
    /// Of them, unlabelled and younger than the maturity window: left out.
    pub young_unlabelled: u64,
}

/// Every decision with a challenger's decision beside it and a known outcome (labelled, or
/// unlabelled and older than `maturity_ms`, counted legitimate as [`export`] does), in
/// decision order.
pub(crate) fn shadowed(
    conn: &mut impl Conn,
    maturity_ms: i64,
    now_ms: i64,
    row: &mut dyn FnMut(ShadowedRow),
) -> Result<ShadowCounts, DbError> {
    let amounts: HashMap<String, Option<String>> = models(conn)?.into_iter().map(|m| (m.model_id, m.amount)).collect();
    let labels = latest_labels(conn)?;
    let mut counts = ShadowCounts::default();
    conn.each(
        "SELECT d.id, d.at_ms, d.model_id, d.probability, d.is_fraud, d.action, d.features, \
         c.model_id, c.probability, c.is_fraud, c.action \
         FROM decisions d JOIN challenger_decisions c ON c.id = d.id ORDER BY d.seq",
        &[],
        &mut |r| {
            counts.shadowed += 1;
            let mut next = columns(r);
            let id = next()?.into_text()?;
            let at_ms = next()?.as_int()?;
            let fraud = match labels.get(&id) {
                Some(&(_, fraud)) => fraud,
                None if now_ms.saturating_sub(at_ms) >= maturity_ms => false,
                None => {
                    counts.young_unlabelled += 1;
                    return Ok(());
                }
            };
            counts.known += 1;
            let champion = ChallengerDecision {
                model_id: next()?.into_text()?,
                probability: next()?.as_real()?,
                is_fraud: next()?.as_int()? != 0,
                action: next()?.into_text()?,
            };
            let features = next()?.into_text()?;
            let challenger = ChallengerDecision {
                model_id: next()?.into_text()?,
                probability: next()?.as_real()?,
                is_fraud: next()?.as_int()? != 0,
                action: next()?.into_text()?,
            };
            let column = amounts.get(&champion.model_id).cloned().flatten();
            let amount = column.and_then(|c| {
                let values: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&features).ok()?;
                values.get(&c)?.as_f64()
            });
            row(ShadowedRow { id, at_ms, champion, challenger, amount, fraud });
            Ok(())
        },
    )?;
    Ok(counts)
}
