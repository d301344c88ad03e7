//! The decision log's bodies: what a runtime records for each decision, the
//! labels that arrive later, and the review queue's cases — the same types
//! for the server that writes them, the `decision-log` crate that stores
//! them, the trainer that reads them back and the clients of the admin routes.

use std::borrow::Cow;

use fraud_core::Schema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// JSON text kept as written (feature values exactly as received): built by the server from
/// valid JSON pieces, or read back from the log that stored it, so it is not parsed again on
/// the hot path. It serialises as the JSON it holds (`null` if it is not JSON after all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Text the caller knows to be one JSON value (the log's own rows, bodies built from valid pieces).
    pub fn from_trusted(text: String) -> JsonText {
        JsonText(text)
    }

    /// Checks that `text` is one JSON value.
    pub fn parse(text: String) -> Result<JsonText, String> {
        serde_json::from_str::<&RawValue>(&text).map_err(|e| e.to_string())?;
        Ok(JsonText(text))
    }

    /// The text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// A contract body as JSON text (they serialise infallibly: see [`crate::to_json`]).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> JsonText {
        JsonText(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
    }
}

/// Contributions kept with a `review` decision (its case shows them), on every runtime that logs.
pub const REVIEW_REASONS: usize = 5;

/// The top [`REVIEW_REASONS`] contributions of a transaction, as a `review` decision logs them.
pub fn review_reasons(model: &fraud_core::Model, t: &fraud_core::Transaction) -> JsonText {
    JsonText::of(&crate::contribution_bodies(model.explain(t, REVIEW_REASONS)))
}

/// What the review queue sorts by: probability × the transaction's amount (× 1 without an
/// amount column or with a missing amount; a negative amount risks nothing).
pub fn expected_loss(schema: &Schema, row: &[f64], probability: f64) -> f64 {
    let amount = schema.amount().and_then(|i| row.get(i).copied()).filter(|a| a.is_finite());
    amount.map_or(probability, |a| probability * a.max(0.0))
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(&self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<JsonText, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(JsonText(raw.get().to_string()))
    }
}

/// One decision as the log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    /// The transaction's id: the request's `id` as text, or one the server assigned.
    pub id: String,
    /// When it was decided, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The artifact's id (`GET /model`).
    pub model_id: String,
    /// The rule set's version, if rules decided.
    pub ruleset: Option<String>,
    /// The validated feature values as received: a JSON object, feature name → value, in the schema's order.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub features: JsonText,
    /// Calibrated probability of fraud.
    pub probability: f64,
    /// The model's policy refused.
    pub is_fraud: bool,
    /// `accept`, `review` or `refuse`.
    pub action: String,
    /// The deciding rule's id, or null when the model decided.
    pub rule: Option<String>,
    /// Shadow rules that matched.
    pub shadow_rules: Vec<String>,
    /// Top contributions (`[{"feature", "contribution"}]`) when they were computed: on `?explain`,
    /// and for every `review` decision (its case shows them).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub reasons: Option<JsonText>,
    /// Probability × amount (× 1 for a schema without an amount): what the review queue sorts by.
    pub expected_loss: f64,
    /// What the challenger scored in shadow (`fraud-server --shadow`): never the answer, kept beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<ChallengerDecision>,
}

/// A challenger's decision on a transaction the champion answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengerDecision {
    /// The challenger artifact's id.
    pub model_id: String,
    /// Its calibrated probability of fraud.
    pub probability: f64,
    /// Its policy refused.
    pub is_fraud: bool,
    /// The action it would have taken (through the same rules).
    pub action: String,
}

/// What the log knows of a model that decided: enough to rebuild its training file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The artifact's id.
    pub model_id: String,
    /// Its name.
    pub name: String,
    /// Feature names, in the schema's order.
    pub features: Vec<String>,
    /// The training file's label column.
    pub label: String,
    /// The training file's id column, if any.
    pub id_column: Option<String>,
    /// The amount feature, if any.
    #[serde(default)]
    pub amount: Option<String>,
    /// The categorical features (text ones and numeric codes alike).
    #[serde(default)]
    pub categorical: Vec<String>,
}

impl ModelInfo {
    /// The log's view of a model with this id and schema.
    pub fn of(model_id: &str, name: &str, schema: &Schema) -> ModelInfo {
        ModelInfo {
            model_id: model_id.to_string(),
            name: name.to_string(),
            features: schema.features().to_vec(),
            label: schema.label().to_string(),
            id_column: schema.id().map(str::to_string),
            amount: schema.amount_name().map(str::to_string),
            categorical: schema
                .features()
                .iter()
                .zip(schema.categorical_mask())
                .filter(|(_, c)| *c)
                .map(|(n, _)| n.clone())
                .collect(),
        }
    }
}

/// Whether a transaction was fraud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was fraud.
    Fraud,
    /// It was legitimate.
    Legitimate,
}

impl Outcome {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fraud => "fraud",
            Outcome::Legitimate => "legitimate",
        }
    }

    /// Reads the wire spelling.
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "fraud" => Some(Outcome::Fraud),
            "legitimate" => Some(Outcome::Legitimate),
            _ => None,
        }
    }
}

/// The longest review note, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// The longest label source, in characters.
pub const MAX_SOURCE_CHARS: usize = 100;
/// The longest list value, in characters (a list line is at most 128 bytes).
pub const MAX_LIST_VALUE_CHARS: usize = 32;
/// Printable text without surrounding spaces (ids, sources): what [`is_printable`] accepts.
pub const PRINTABLE_PATTERN: &str = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// A list's name: what the rules' lists folder holds as `NAME.txt`.
pub const LIST_NAME_PATTERN: &str = r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$";
/// A list value: printable, one line, not a comment.
pub const LIST_VALUE_PATTERN: &str = r"^[^#\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";
/// The earliest time a label may carry: 0001-01-01T00:00:00Z, in milliseconds since the epoch.
pub const MIN_TIME_MS: i64 = -62_135_596_800_000;
/// The latest: 9999-12-31T23:59:59.999Z.
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Printable text without control characters or surrounding white space (the [`PRINTABLE_PATTERN`]).
pub fn is_printable(text: &str) -> bool {
    !text.is_empty()
        && !text.chars().any(char::is_control)
        && !text.starts_with(char::is_whitespace)
        && !text.ends_with(char::is_whitespace)
}

/// A list name the lists folder can hold (the [`LIST_NAME_PATTERN`], at most 128 bytes).
pub fn is_list_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= fraud_core::rules::MAX_NAME_BYTES
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A value a list line can hold (the [`LIST_VALUE_PATTERN`], at most 32 characters and 128 bytes).
pub fn is_list_value(value: &str) -> bool {
    is_printable(value)
        && !value.starts_with('#')
        && value.chars().count() <= MAX_LIST_VALUE_CHARS
        && value.len() <= fraud_core::rules::MAX_NAME_BYTES
}

/// `POST /labels`: what became known of a transaction later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    /// The transaction's id (as the decision log keeps it).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::log_id_schema))]
    pub id: String,
    /// `fraud` or `legitimate`.
    pub label: Outcome,
    /// Who says so: `chargeback`, `analyst`, `customer`, … (one label per id and source).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::label_source_schema))]
    pub source: String,
    /// When it was observed: RFC 3339 (`2026-12-01T10:00:00Z`) or milliseconds since the epoch.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::observed_at_schema))]
    pub observed_at: serde_json::Value,
}

/// `POST /labels`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelStored {
    /// The transaction's id.
    pub id: String,
    /// The label's source.
    pub source: String,
    /// `created` (new), `unchanged` (the same label was already stored) or `replaced` (this source changed its label).
    pub status: String,
}

/// A stored label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelView {
    /// `fraud` or `legitimate`.
    pub label: Outcome,
    /// Its source.
    pub source: String,
    /// When it was observed, milliseconds since the epoch.
    pub observed_ms: i64,
    /// When the log stored it, milliseconds since the epoch.
    pub recorded_ms: i64,
}

/// `GET /decisions/{id}`: the logged decision, its labels and its review case, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    /// The decision as logged.
    pub decision: DecisionRecord,
    /// Its labels, one per source.
    pub labels: Vec<LabelView>,
    /// Its review case, if the decision was `review`.
    pub review: Option<CaseState>,
}

/// A review case's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseState {
    /// `open` or `closed`.
    pub status: String,
    /// When the case was opened (the decision), milliseconds since the epoch.
    pub opened_ms: i64,
    /// When it was closed.
    pub closed_ms: Option<i64>,
    /// The analyst's outcome.
    pub outcome: Option<Outcome>,
    /// The analyst's note.
    pub note: Option<String>,
    /// Who closed it (the admin token's name).
    pub closed_by: Option<String>,
}

/// One open case of `GET /reviews`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    /// The transaction's id.
    pub id: String,
    /// The decision as logged: features, probability, rule, model and ruleset versions, reasons.
    pub decision: DecisionRecord,
    /// Probability × amount.
    pub expected_loss: f64,
    /// Seconds since the case was opened.
    pub age_seconds: f64,
    /// `open` or `closed`.
    pub status: String,
}

/// `GET /reviews`'s answer, by expected loss, largest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cases {
    /// Open cases in all.
    pub open: u64,
    /// The cases listed (at most `limit`).
    pub cases: Vec<Case>,
}

/// A value to add to one of the rules' lists when a case is closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ListAddition {
    /// The list's name (`@NAME` in the rules, `NAME.txt` in the lists folder).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::list_name_schema))]
    pub list: String,
    /// The value, one line of the list file.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::list_value_schema))]
    pub value: String,
}

/// `POST /reviews/{id}`: an analyst settles a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewClose {
    /// `fraud` or `legitimate`.
    pub outcome: Outcome,
    /// Why.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::note_schema))]
    pub note: Option<String>,
    /// Optionally, a value for a list (which the rules pick up on their next reload).
    #[serde(default)]
    pub add_to_list: Option<ListAddition>,
}

/// `POST /reviews/{id}`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewClosed {
    /// The transaction's id.
    pub id: String,
    /// The outcome, also stored as an `analyst` label.
    pub outcome: Outcome,
    /// Who closed it.
    pub closed_by: String,
    /// The list value added, if any (`list` and `value`).
    pub added_to_list: Option<ListAddition>,
}

/// Why a body's raw features could not be read back (the body was already validated: a bug, not bad input).
#[derive(Debug)]
pub struct RawFeaturesError(pub String);

/// One body's fields in the order received: no map is built (a batch has thousands).
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fields<'a>, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a transaction object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Fields<'a>, M::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(entry) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawBatch<'a> {
    #[serde(borrow)]
    transactions: Vec<Fields<'a>>,
}

/// The schema's feature names as JSON strings, written once per request.
fn quoted_names(schema: &Schema) -> Vec<String> {
    // Names are plain text and serialise infallibly.
    schema.features().iter().map(|n| serde_json::to_string(n).unwrap_or_default()).collect()
}

fn features_object(fields: &Fields<'_>, schema: &Schema, quoted: &[String]) -> JsonText {
    let names = schema.features();
    let mut slots: Vec<Option<&RawValue>> = vec![None; names.len()];
    // Clients mostly send the schema's order: follow it, looking a name up only when it is not next.
    let mut next = 0;
    for (name, value) in &fields.0 {
        let i = if names.get(next).is_some_and(|n| n == name) { Some(next) } else { schema.index(name) };
        if let Some(i) = i {
            slots[i] = Some(value);
            next = i + 1;
        }
    }
    let mut out = String::with_capacity(fields.0.iter().map(|(n, v)| n.len() + v.get().len() + 4).sum::<usize>() + 2);
    out.push('{');
    for (i, (name, slot)) in quoted.iter().zip(&slots).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push(':');
        out.push_str(slot.map_or("null", |v| v.get()));
    }
    out.push('}');
    // Quoted names and raw JSON values: one JSON object.
    JsonText::from_trusted(out)
}

/// The feature values of a validated `/predict` body, as received (exact text), in schema order.
pub fn raw_features(body: &[u8], schema: &Schema) -> Result<JsonText, RawFeaturesError> {
    let fields: Fields<'_> = serde_json::from_slice(body).map_err(|e| RawFeaturesError(e.to_string()))?;
    Ok(features_object(&fields, schema, &quoted_names(schema)))
}

/// The same for every item of a validated `/predict/batch` body, in input order.
pub fn raw_batch_features(body: &[u8], schema: &Schema) -> Result<Vec<JsonText>, RawFeaturesError> {
    let batch: RawBatch<'_> = serde_json::from_slice(body).map_err(|e| RawFeaturesError(e.to_string()))?;
    let quoted = quoted_names(schema);
    Ok(batch.transactions.iter().map(|fields| features_object(fields, schema, &quoted)).collect())
}

/// `90d`, `12h`, `30m`, `45s` or a bare number of days, as milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit_ms) = match text.char_indices().last() {
        Some((i, 'd')) => (&text[..i], 86_400_000.0),
        Some((i, 'h')) => (&text[..i], 3_600_000.0),
        Some((i, 'm')) => (&text[..i], 60_000.0),
        Some((i, 's')) => (&text[..i], 1_000.0),
        _ => (text, 86_400_000.0),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * unit_ms < 1e15 => Ok((n * unit_ms).round() as i64),
        _ => Err(format!("{text:?} is not a duration such as 90d, 12h, 30m or 45s")),
    }
}

/// Milliseconds since the epoch from RFC 3339 UTC text (`2026-12-01T10:00:00Z`, `…T10:00:00.250+01:00`)
/// or a whole number of milliseconds. Years 0001 to 9999.
pub fn parse_time_ms(value: &serde_json::Value) -> Result<i64, String> {
    match value {
        // A whole number, written as such or as `277140.0` (JSON Schema's integers include both).
        serde_json::Value::Number(n) => match n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e18).map(|f| f as i64))
        {
            Some(ms) if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) => Ok(ms),
            _ => Err(format!("{n} is not a whole number of milliseconds since the epoch within years 0001 to 9999")),
        },
        serde_json::Value::String(s) => parse_rfc3339_ms(s),
        other => Err(format!("expected RFC 3339 text or milliseconds, got {}", json_kind(other))),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    let bad =
        || format!("{:?} is not an RFC 3339 time such as 2026-12-01T10:00:00Z", s.chars().take(60).collect::<String>());
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let t = s.get(r).ok_or_else(bad)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<i64>().map_err(|_| bad())
    };
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let month_days = [
        31,
        if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d < 1
        || d > month_days[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || sec > 60
    {
        return Err(bad());
    }
    let mut rest = &s[19..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        for (k, c) in frac[..digits].bytes().take(3).enumerate() {
            ms += i64::from(c - b'0') * [100, 10, 1][k];
        }
        rest = &frac[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        // ±HH:MM, or ±HH:MM:SS (historical offsets, as Python's isoformat writes them).
        _ if (rest.len() == 6 || (rest.len() == 9 && rest.as_bytes()[6] == b':'))
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let at = s.len() - rest.len();
            let oh = num(at + 1..at + 3)?;
            let om = num(at + 4..at + 6)?;
            let os = if rest.len() == 9 { num(at + 7..at + 9)? } else { 0 };
            if oh > 23 || om > 59 || os > 59 {
                return Err(bad());
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3_600 + om * 60 + os)
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + sec.min(59) - offset_secs;
    Ok(secs * 1_000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339_or_milliseconds() {
        let t = |v: serde_json::Value| parse_time_ms(&v);
        assert_eq!(t("1970-01-01T00:00:00Z".into()), Ok(0));
        assert_eq!(t("2026-12-01T10:00:00Z".into()), Ok(1_796_119_200_000));
        assert_eq!(t("2026-12-01T11:00:00.250+01:00".into()), Ok(1_796_119_200_250));
        assert_eq!(t("2000-02-29T00:00:00Z".into()), Ok(951_782_400_000));
        assert_eq!(t(serde_json::json!(1234)), Ok(1234));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-12-01",
            "2026-12-01T10:00:00",
            "x026-12-01T10:00:00Z",
            "2026-12-01T25:00:00Z",
        ] {
            assert!(t(bad.into()).is_err(), "{bad}");
        }
        assert_eq!(t("0001-01-01T00:00:00Z".into()), Ok(MIN_TIME_MS));
        assert_eq!(t("2026-12-01T10:00:00+00:09:21".into()), Ok(1_796_119_200_000 - 561_000));
        assert_eq!(t(serde_json::json!(-1)), Ok(-1));
        assert!(t(serde_json::json!(MAX_TIME_MS + 1)).is_err());
        assert!(t("2026-12-01T10:00:00+24:00".into()).is_err());
        assert!(t(serde_json::json!(1.5)).is_err());
        assert_eq!(t(serde_json::json!(277140.0)), Ok(277_140));
        assert!(t(serde_json::json!(null)).is_err());
    }

    #[test]
    fn maturity_reads_days_hours_minutes_seconds() {
        assert_eq!(parse_duration_ms("90d"), Ok(90 * 86_400_000));
        assert_eq!(parse_duration_ms("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_duration_ms("30m"), Ok(30 * 60_000));
        assert_eq!(parse_duration_ms("45s"), Ok(45_000));
        assert_eq!(parse_duration_ms("0"), Ok(0));
        for bad in ["", "-1d", "xd", "1w", "1e300d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_checks_match_their_patterns() {
        assert!(is_printable("tx-1") && is_printable("a b") && is_printable("é€"));
        for bad in ["", " a", "a ", "a\nb", "\u{85}", "a\u{9f}", "\u{a0}x"] {
            assert!(!is_printable(bad), "{bad:?}");
        }
        assert!(
            is_list_name("safe_ids-2.v1") && !is_list_name(".hidden") && !is_list_name("../x") && !is_list_name("")
        );
        assert!(is_list_value("tx-5") && !is_list_value("#x") && !is_list_value(&"x".repeat(33)));
    }

    #[test]
    fn raw_features_keep_the_text_received_in_schema_order() {
        let schema = fraud_core::Schema::retail();
        let names = schema.features();
        let body = format!(r#"{{"id":"t1","{}":1.50,"{}":2e0}}"#, names[1], names[0]);
        let raw = raw_features(body.as_bytes(), &schema).map_err(|e| e.0).unwrap();
        let v: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), names.len());
        assert!(raw.get().starts_with(&format!(r#"{{"{}":2e0,"{}":1.50"#, names[0], names[1])), "{}", raw.get());
        let batch = format!(r#"{{"transactions":[{body},{body}]}}"#);
        assert_eq!(raw_batch_features(batch.as_bytes(), &schema).map_err(|e| e.0).unwrap().len(), 2);
    }
}
