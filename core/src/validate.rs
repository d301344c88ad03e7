//! Input validation, in one place: a transaction is exactly the model's
//! schema's features, each a finite number of sane magnitude. Every runtime turns its own
//! input (a JSON object, a JS object, a CSV row) into `(name, RawValue)` pairs
//! and calls [`validate_fields`]; the error names every offending field.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::ErrorCode;
use crate::schema::{Schema, MAX_FEATURES};

/// Largest accepted absolute feature value. Real values stay below 2e5; the
/// bound keeps every weighted sum finite, so a score can never be NaN.
pub const MAX_ABS_VALUE: f64 = 1e12;

/// At most this many problems are listed; the rest are counted.
pub const MAX_REPORTED_ISSUES: usize = 64;

/// Longest field name echoed back in an error (longer names are cut).
const MAX_ECHOED_NAME: usize = 64;

/// A field value as the runtime found it, before validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawValue<'a> {
    /// A number (possibly NaN or infinite: validation decides).
    Number(f64),
    /// Text: a category of a text categorical feature; not a number.
    Text(&'a str),
    /// JSON `null` or an empty CSV field: a missing value where the model
    /// accepts them (format 5 and later), else not a number.
    Null,
    /// Anything else; the payload names what it was ("boolean", "array", ...).
    NotNumber(&'static str),
}

/// A validated transaction: its schema's features, in schema order.
#[derive(Clone, Debug, PartialEq)]
pub struct Transaction(Vec<f64>);

impl Transaction {
    /// The values, in schema order.
    #[inline]
    pub fn values(&self) -> &[f64] {
        &self.0
    }

    /// A row already checked by [`validate_row`] against its schema.
    pub(crate) fn from_checked(values: Vec<f64>) -> Transaction {
        Transaction(values)
    }
}

/// What is wrong with one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IssueKind {
    /// A schema feature that was not given.
    Missing,
    /// A name that is not a schema feature.
    Unknown,
    /// A feature given more than once.
    Duplicate,
    /// Not a number.
    NonNumeric,
    /// NaN or infinite.
    NonFinite,
    /// Finite but beyond [`MAX_ABS_VALUE`].
    OutOfRange,
    /// Not a category of a categorical feature: a number where a text
    /// feature's category (a string) is expected, or, in a row of codes, a
    /// value that is not one of the feature's codes.
    NotCategory,
}

impl IssueKind {
    /// The error code for this kind of problem.
    pub const fn code(self) -> ErrorCode {
        match self {
            IssueKind::Missing => ErrorCode::MissingField,
            IssueKind::Unknown => ErrorCode::UnknownField,
            IssueKind::Duplicate => ErrorCode::DuplicateField,
            IssueKind::NonNumeric => ErrorCode::NonNumeric,
            IssueKind::NonFinite => ErrorCode::NonFinite,
            IssueKind::OutOfRange => ErrorCode::OutOfRange,
            IssueKind::NotCategory => ErrorCode::NotACategory,
        }
    }

    /// The kind in words ("missing", "not a number", ...).
    pub fn label(self) -> &'static str {
        match self {
            IssueKind::Missing => "missing",
            IssueKind::Unknown => "unknown",
            IssueKind::Duplicate => "duplicate",
            IssueKind::NonNumeric => "not a number",
            IssueKind::NonFinite => "not finite",
            IssueKind::OutOfRange => "out of range (|value| > 1e12)",
            IssueKind::NotCategory => "not a category",
        }
    }
}

/// One offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIssue {
    /// The field's name as given (cut to 64 characters for unknown names).
    pub field: String,
    /// What is wrong with it.
    pub kind: IssueKind,
}

/// Why a transaction was rejected: every offending field, in a stable order
/// (by kind, then schema order or order of appearance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The problems found, at most [`MAX_REPORTED_ISSUES`].
    pub issues: Vec<FieldIssue>,
    /// Problems found beyond those listed.
    pub omitted: usize,
}

impl ValidationError {
    /// The kind's own code when every problem is of one kind, else `invalid_fields`.
    pub fn code(&self) -> ErrorCode {
        match self.issues.first() {
            Some(first) if self.issues.iter().all(|i| i.kind == first.kind) => first.kind.code(),
            _ => ErrorCode::InvalidFields,
        }
    }

    fn push(&mut self, field: &str, kind: IssueKind) {
        if self.issues.len() == MAX_REPORTED_ISSUES {
            self.omitted += 1;
            return;
        }
        // `get` rather than indexing: the cut is a char boundary, and this way
        // no slicing panic (and its formatting code) reaches the wasm build.
        let field = match field.char_indices().nth(MAX_ECHOED_NAME).and_then(|(cut, _)| field.get(..cut)) {
            Some(head) => format!("{head}…"),
            None => String::from(field),
        };
        self.issues.push(FieldIssue { field, kind });
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid transaction: ")?;
        let mut first_group = true;
        let mut i = 0;
        while i < self.issues.len() {
            let kind = self.issues[i].kind;
            if !first_group {
                f.write_str("; ")?;
            }
            first_group = false;
            write!(f, "{}: ", kind.label())?;
            let mut first = true;
            while i < self.issues.len() && self.issues[i].kind == kind {
                if !first {
                    f.write_str(", ")?;
                }
                first = false;
                write!(f, "{}", self.issues[i].field)?;
                i += 1;
            }
        }
        if self.omitted > 0 {
            write!(f, "; and {} more", self.omitted)?;
        }
        Ok(())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ValidationError {}

fn value_issue(value: RawValue) -> Result<f64, IssueKind> {
    match value {
        RawValue::NotNumber(_) | RawValue::Text(_) | RawValue::Null => Err(IssueKind::NonNumeric),
        RawValue::Number(v) if !v.is_finite() => Err(IssueKind::NonFinite),
        RawValue::Number(v) if v.abs() > MAX_ABS_VALUE => Err(IssueKind::OutOfRange),
        RawValue::Number(v) => Ok(v),
    }
}

/// Feature `i`'s value inside core: a number, a category's code, or NaN
/// for a missing value (where the schema accepts them).
/// (Public for bindings that build rows of codes, e.g. the wasm `rowValue`.)
#[inline]
pub fn feature_value(schema: &Schema, i: usize, value: RawValue) -> Result<f64, IssueKind> {
    if let RawValue::Null = value {
        if schema.may_be_missing(i) {
            return Ok(f64::NAN);
        }
    }
    let Some(categories) = schema.categories(i) else { return value_issue(value) };
    match value {
        RawValue::Text(text) => categories.code_of_text(text).map(|c| c as f64).ok_or(IssueKind::NonNumeric),
        RawValue::Number(_) if categories.is_text() => Err(IssueKind::NotCategory),
        RawValue::NotNumber(_) | RawValue::Null if categories.is_text() => Err(IssueKind::NotCategory),
        other => {
            let x = value_issue(other)?;
            categories.code_of_number(x).map(|c| c as f64).ok_or(IssueKind::NonNumeric)
        }
    }
}

/// Validates named fields into a [`Transaction`]. Exactly the schema's
/// features must be present, once each: a numeric feature's value a finite
/// number, a categorical one's a category (text, or a number for a
/// numeric-coded feature; unseen ones take the "other" code), and `null` a
/// missing value where the schema accepts them — any feature but the amount
/// (a field absent is still `missing_field`).
pub fn validate_fields<'a, 'v, I>(schema: &Schema, fields: I) -> Result<Transaction, ValidationError>
where
    I: IntoIterator<Item = (&'a str, RawValue<'v>)>,
{
    let mut values = alloc::vec![0.0; schema.len()];
    let mut seen = [false; MAX_FEATURES];
    let mut error = ValidationError { issues: Vec::new(), omitted: 0 };
    for (name, value) in fields {
        let Some(i) = schema.index(name) else {
            error.push(name, IssueKind::Unknown);
            continue;
        };
        if seen[i] {
            error.push(name, IssueKind::Duplicate);
            continue;
        }
        seen[i] = true;
        match feature_value(schema, i, value) {
            Ok(v) => values[i] = v,
            Err(kind) => error.push(name, kind),
        }
    }
    for (i, name) in schema.features().iter().enumerate() {
        if !seen[i] {
            error.push(name, IssueKind::Missing);
        }
    }
    if error.issues.is_empty() {
        return Ok(Transaction(values));
    }
    group_by_kind(&mut error.issues);
    Err(error)
}

/// True when every value of a row is finite and within [`MAX_ABS_VALUE`].
///
/// Fast path: one comparison of `Σ|x|`. Adding non-negative numbers never
/// rounds below any of them, so `Σ|x| <= MAX` implies every `|x| <= MAX`, and
/// a NaN or infinity makes the sum fail the comparison. Only when the bound
/// fails (a bad value, or several large legal ones) is every value checked.
#[inline(always)]
pub fn row_in_range(row: &[f64]) -> bool {
    let mut acc = [0.0f64; 2];
    let (pairs, rest) = row.as_chunks::<2>();
    for pair in pairs {
        acc[0] += pair[0].abs();
        acc[1] += pair[1].abs();
    }
    let tail = rest.first().map_or(0.0, |v| v.abs());
    acc[0] + acc[1] + tail <= MAX_ABS_VALUE || row.iter().all(|v| v.abs() <= MAX_ABS_VALUE)
}

/// Validates one row of a row-major batch (values in schema order, as core
/// holds them). The caller checks the row length; here every numeric value
/// must be finite and in range, every categorical one one of its feature's
/// codes (`0..=other`), and NaN — a missing value — is accepted where the
/// schema accepts missing values.
pub fn validate_row(schema: &Schema, row: &[f64]) -> Result<(), ValidationError> {
    if !schema.has_categorical() && row_in_range(row) {
        return Ok(());
    }
    let mut error = ValidationError { issues: Vec::new(), omitted: 0 };
    for (i, (name, &v)) in schema.features().iter().zip(row).enumerate() {
        if v.is_nan() && schema.may_be_missing(i) {
            continue;
        }
        let issue = match schema.categories(i) {
            Some(c) if !c.is_code(v) => Err(IssueKind::NotCategory),
            Some(_) => Ok(v),
            None => value_issue(RawValue::Number(v)),
        };
        if let Err(kind) = issue {
            error.push(name, kind);
        }
    }
    if error.issues.is_empty() {
        return Ok(());
    }
    group_by_kind(&mut error.issues);
    Err(error)
}

/// Sorts by kind (at most [`MAX_REPORTED_ISSUES`] items), stably: groups
/// problems for a readable message while schema order and order of appearance
/// survive inside each group.
fn group_by_kind(issues: &mut [FieldIssue]) {
    crate::sort::insertion_sort_by(issues, |a, b| a.kind < b.kind);
}

/// What every runtime says (with [`ErrorCode::WrongJsonType`]) when a value
/// that should have been a transaction object is not one: `found` names its
/// type (`array`, `number`, `null`, ...). One wording for the HTTP API, the
/// NATS consumer and the wasm bindings. (It counts the features rather than
/// listing them: the names are in `GET /model` and `featureNames`, and the
/// list would cost the wasm package 1.3 KB.)
pub fn not_an_object(schema: &Schema, found: &str) -> String {
    format!("a transaction must be an object of the model's {} named features, got {found}", schema.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::CREDITCARD_FEATURES;
    use alloc::string::ToString;
    use alloc::vec;

    const N_FEATURES: usize = 30;

    fn cc() -> Schema {
        Schema::creditcard()
    }

    fn full() -> Vec<(&'static str, RawValue<'static>)> {
        CREDITCARD_FEATURES.iter().enumerate().map(|(i, n)| (*n, RawValue::Number(i as f64))).collect()
    }

    #[test]
    fn accepts_exact_schema_in_any_order() {
        let mut fields = full();
        fields.reverse();
        let t = validate_fields(&cc(), fields).unwrap();
        for i in 0..N_FEATURES {
            assert_eq!(t.values()[i], i as f64);
        }
    }

    #[test]
    fn names_every_offending_field() {
        let mut fields = full();
        fields.retain(|(n, _)| *n != "V3" && *n != "Amount");
        fields.push(("foo", RawValue::Number(1.0)));
        fields[1].1 = RawValue::NotNumber("string");
        fields[2].1 = RawValue::Number(f64::NAN);
        fields[4].1 = RawValue::Number(f64::NEG_INFINITY);
        fields[5].1 = RawValue::Number(2e12);
        fields.push(("Time", RawValue::Number(0.0)));
        let err = validate_fields(&cc(), fields).unwrap_err();
        let got: Vec<(&str, IssueKind)> = err.issues.iter().map(|i| (i.field.as_str(), i.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("V3", IssueKind::Missing),
                ("Amount", IssueKind::Missing),
                ("foo", IssueKind::Unknown),
                ("Time", IssueKind::Duplicate),
                ("V1", IssueKind::NonNumeric),
                ("V2", IssueKind::NonFinite),
                ("V5", IssueKind::NonFinite),
                ("V6", IssueKind::OutOfRange),
            ]
        );
        assert_eq!(err.code(), ErrorCode::InvalidFields);
        let msg = err.to_string();
        assert!(msg.contains("missing: V3, Amount"), "{msg}");
        assert!(msg.contains("unknown: foo"), "{msg}");
        assert!(msg.contains("not finite: V2, V5"), "{msg}");
    }

    #[test]
    fn single_kind_keeps_its_code() {
        let mut fields = full();
        fields.pop();
        let err = validate_fields(&cc(), fields).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingField);
        assert_eq!(err.issues.len(), 1);
        assert_eq!(err.issues[0].field, "Amount");
    }

    #[test]
    fn floods_of_unknown_fields_are_capped_and_long_names_cut() {
        let long = "x".repeat(10_000);
        let mut fields = full();
        for _ in 0..1000 {
            fields.push((long.as_str(), RawValue::Number(0.0)));
        }
        let err = validate_fields(&cc(), fields).unwrap_err();
        assert_eq!(err.issues.len(), MAX_REPORTED_ISSUES);
        assert_eq!(err.omitted, 1000 - MAX_REPORTED_ISSUES);
        assert!(err.issues[0].field.chars().count() <= 65);
        assert!(err.to_string().ends_with(&format!("and {} more", 1000 - MAX_REPORTED_ISSUES)));
    }

    #[test]
    fn empty_input_lists_all_missing() {
        let err = validate_fields(&cc(), core::iter::empty()).unwrap_err();
        assert_eq!(err.issues.len(), N_FEATURES);
        assert_eq!(err.code(), ErrorCode::MissingField);
    }

    #[test]
    fn another_schema_is_validated_by_its_own_names() {
        let s = Schema::new(vec!["amount".into(), "risk".into(), "age".into()], Some("amount"), "y", None).unwrap();
        let t = validate_fields(
            &s,
            [("risk", RawValue::Number(0.5)), ("age", RawValue::Number(3.0)), ("amount", RawValue::Number(9.0))],
        )
        .unwrap();
        assert_eq!(t.values(), &[9.0, 0.5, 3.0]);
        let err = validate_fields(&s, full()[..2].iter().copied()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("missing: amount, risk, age"), "{msg}");
        assert!(msg.contains("unknown: Time, V1"), "{msg}");
        assert!(row_in_range(&[1.0, 2.0, 3.0]));
        assert!(!row_in_range(&[1.0, 2.0, f64::NAN]), "the odd last value is checked");
    }

    #[test]
    fn the_fast_range_bound_never_changes_the_answer() {
        let mut row = [0.0; N_FEATURES];
        assert!(row_in_range(&row));
        // Many large legal values: the sum exceeds the bound, the exact check accepts.
        row = [MAX_ABS_VALUE; N_FEATURES];
        assert!(row_in_range(&row));
        row[3] = -MAX_ABS_VALUE;
        assert!(row_in_range(&row));
        // Just past the limit, alone or hidden among small values.
        let above = f64::from_bits(MAX_ABS_VALUE.to_bits() + 1);
        for (i, bad) in [above, -above, f64::NAN, f64::INFINITY, f64::NEG_INFINITY].into_iter().enumerate() {
            let mut r = [1e-3; N_FEATURES];
            r[(i * 7) % N_FEATURES] = bad;
            assert!(!row_in_range(&r), "{bad}");
            r = [MAX_ABS_VALUE; N_FEATURES];
            r[29] = bad;
            assert!(!row_in_range(&r), "{bad} among large values");
        }
        // Values that sum to just under the bound.
        let mut r = [0.0; N_FEATURES];
        r[0] = MAX_ABS_VALUE / 2.0;
        r[1] = MAX_ABS_VALUE / 2.0;
        assert!(row_in_range(&r));
    }

    #[test]
    fn rows_reject_non_finite_and_out_of_range() {
        let mut row = [1.0; N_FEATURES];
        assert!(validate_row(&cc(), &row).is_ok());
        row[0] = f64::NAN;
        row[29] = -1e13;
        let err = validate_row(&cc(), &row).unwrap_err();
        assert_eq!(err.issues[0], FieldIssue { field: "Time".to_string(), kind: IssueKind::NonFinite });
        assert_eq!(err.issues[1], FieldIssue { field: "Amount".to_string(), kind: IssueKind::OutOfRange });
        row[0] = f64::INFINITY;
        row[29] = 0.0;
        assert_eq!(validate_row(&cc(), &row).unwrap_err().code(), ErrorCode::NonFinite);
    }

    fn payments() -> Schema {
        use crate::categories::Vocabulary;
        let base = Schema::new(
            vec!["amount".into(), "country".into(), "mcc".into(), "ip_km".into()],
            Some("amount"),
            "is_fraud",
            None,
        )
        .unwrap();
        base.with_kinds(
            vec![
                None,
                Some(Vocabulary::Text(vec!["FR".into(), "DE".into()])),
                Some(Vocabulary::Numbers(vec![5411.0, 7995.0])),
                None,
            ],
            true,
        )
        .unwrap()
    }

    #[test]
    fn categories_become_codes_and_null_a_missing_value() {
        let s = payments();
        let t = validate_fields(
            &s,
            [
                ("amount", RawValue::Number(9.5)),
                ("country", RawValue::Text("DE")),
                ("mcc", RawValue::Number(7995.0)),
                ("ip_km", RawValue::Null),
            ],
        )
        .unwrap();
        assert_eq!(&t.values()[..3], &[9.5, 1.0, 1.0]);
        assert!(t.values()[3].is_nan());
        // Unseen categories take the "other" code; a missing category is NaN.
        let t = validate_fields(
            &s,
            [
                ("amount", RawValue::Number(1.0)),
                ("country", RawValue::Text("ZZ")),
                ("mcc", RawValue::Number(1234.0)),
                ("ip_km", RawValue::Number(3.0)),
            ],
        )
        .unwrap();
        assert_eq!(t.values(), &[1.0, 2.0, 2.0, 3.0]);
        assert!(validate_row(&s, t.values()).is_ok());
        assert!(validate_row(&s, &[1.0, f64::NAN, f64::NAN, f64::NAN]).is_ok());
    }

    #[test]
    fn wrong_types_name_the_field() {
        let s = payments();
        let err = validate_fields(
            &s,
            [
                ("amount", RawValue::Text("9.5")),
                ("country", RawValue::Number(1.0)),
                ("mcc", RawValue::Text("5411")),
                ("ip_km", RawValue::NotNumber("boolean")),
            ],
        )
        .unwrap_err();
        let got: Vec<(&str, IssueKind)> = err.issues.iter().map(|i| (i.field.as_str(), i.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("amount", IssueKind::NonNumeric),
                ("mcc", IssueKind::NonNumeric),
                ("ip_km", IssueKind::NonNumeric),
                ("country", IssueKind::NotCategory),
            ]
        );
        // Rows of codes: a value that is not a code of its feature.
        for bad in [3.0, -1.0, 0.5, f64::INFINITY] {
            let e = validate_row(&s, &[1.0, bad, 0.0, 0.0]).unwrap_err();
            assert_eq!(e.issues[0], FieldIssue { field: "country".to_string(), kind: IssueKind::NotCategory });
        }
        assert_eq!(validate_row(&s, &[f64::INFINITY, 0.0, 0.0, 0.0]).unwrap_err().code(), ErrorCode::NonFinite);
    }

    #[test]
    fn schemas_without_missing_values_refuse_null_as_before() {
        let mut fields = full();
        fields[3].1 = RawValue::Null;
        fields[4].1 = RawValue::Text("1.5");
        let err = validate_fields(&cc(), fields).unwrap_err();
        assert_eq!(err.code(), ErrorCode::NonNumeric);
        assert_eq!(err.issues.len(), 2);
        assert!(validate_row(&cc(), &[f64::NAN; N_FEATURES]).is_err());
    }
}
