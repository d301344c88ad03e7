//! JSON request bodies → `core` calls.
//!
//! The bodies are read with serde visitors that stream each field straight into
//! `(name, RawValue)` pairs for the served model's [`fraud_core::Schema`]: no intermediate
//! `serde_json::Value` tree, and field names are borrowed from the body. Only
//! JSON syntax and shape are checked here; what makes a transaction valid is
//! decided by `core` alone.

use std::borrow::Cow;
use std::fmt;

use fraud_core::{validate_fields, RawValue, Schema, Transaction, ValidationError};
use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Longest accepted `id` string, in characters (ids are echoed back).
pub const MAX_ID_CHARS: usize = 256;

/// One transaction as found in a body: its optional `id` and the validation outcome.
#[derive(Debug)]
pub struct Parsed {
    /// The caller's `id` (a JSON string or number), echoed back.
    pub id: Option<Value>,
    /// The transaction, or every field problem `core` found.
    pub transaction: Result<Transaction, ValidationError>,
}

/// A JSON value that should have been a transaction object.
// Nearly every item is an object: boxing it would cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Item {
    /// It was an object.
    Object(Parsed),
    /// It was not; names the JSON type found.
    NotObject(&'static str),
}

/// A batch body: the first `limit` items, and how many there were in all.
#[derive(Debug)]
pub struct Batch {
    /// Items in input order (at most the batch limit).
    pub items: Vec<Item>,
    /// Items in the body, including those beyond the limit (which are skipped unparsed).
    pub total: usize,
}

/// Why a body could not be read as JSON of the expected shape.
#[derive(Debug, PartialEq)]
pub enum BodyError {
    /// Not JSON at all (syntax error, truncated, empty). The text includes line and column.
    Malformed(String),
    /// JSON, but of the wrong shape (an array for an object, an `id` that is an object...).
    WrongType(String),
}

fn body_error(e: serde_json::Error) -> BodyError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => BodyError::WrongType(e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => BodyError::Malformed(e.to_string()),
    }
}

/// Parses a single-transaction body (`POST /predict`) against `schema`.
pub fn transaction(body: &[u8], schema: &Schema) -> Result<Item, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let item = ItemSeed { schema }.deserialize(&mut de).map_err(body_error)?;
    de.end().map_err(body_error)?;
    Ok(item)
}

/// Parses a batch body (`{ "transactions": [ ... ] }`) against `schema`, keeping at most `limit` items.
pub fn batch(body: &[u8], limit: usize, schema: &Schema) -> Result<Batch, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let batch = BatchSeed { limit, schema }.deserialize(&mut de).map_err(body_error)?;
    de.end().map_err(body_error)?;
    Ok(batch)
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The JSON type name of whatever a visitor received, for "got X" messages.
struct TypeName;

/// Consumes any JSON value and reports only its type: how a field that should
/// be a number, or an item that should be an object, is described in errors.
impl<'de> Visitor<'de> for TypeName {
    type Value = &'static str;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<&'static str, E> {
        Ok("boolean")
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<&'static str, E> {
        Ok("number")
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<&'static str, E> {
        Ok("string")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<&'static str, E> {
        Ok("null")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<&'static str, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok("array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<&'static str, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok("object")
    }
}

/// A feature value: a number, a string (borrowed from the body when it has no
/// escapes), `null`, or the type of whatever else it was.
enum Raw<'de> {
    Value(RawValue<'static>),
    Text(Cow<'de, str>),
}

impl Raw<'_> {
    fn value(&self) -> RawValue<'_> {
        match self {
            Raw::Value(v) => *v,
            Raw::Text(t) => RawValue::Text(t),
        }
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = Raw<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or null")
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Raw<'de>, E> {
                Ok(Raw::Value(RawValue::Number(v)))
            }
            // Integers round to the nearest double, exactly as JavaScript reads them.
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Raw<'de>, E> {
                Ok(Raw::Value(RawValue::Number(v as f64)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw<'de>, E> {
                Ok(Raw::Value(RawValue::Number(v as f64)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Raw<'de>, E> {
                TypeName.visit_bool(v).map(|t| Raw::Value(RawValue::NotNumber(t)))
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Raw<'de>, E> {
                Ok(Raw::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Raw<'de>, E> {
                Ok(Raw::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Raw<'de>, E> {
                Ok(Raw::Text(Cow::Owned(v)))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Raw<'de>, E> {
                Ok(Raw::Value(RawValue::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Raw<'de>, A::Error> {
                TypeName.visit_seq(seq).map(|t| Raw::Value(RawValue::NotNumber(t)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Raw<'de>, A::Error> {
                TypeName.visit_map(map).map(|t| Raw::Value(RawValue::NotNumber(t)))
            }
        }
        d.deserialize_any(RawVisitor)
    }
}

/// The optional `id`: a string (bounded) or a number, echoed back as given.
struct Id(Value);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s.chars().count() > MAX_ID_CHARS => Err(D::Error::custom(format_args!(
                "id is {} characters long, the limit is {MAX_ID_CHARS}",
                s.chars().count()
            ))),
            v @ (Value::String(_) | Value::Number(_)) => Ok(Id(v)),
            other => Err(D::Error::custom(format_args!(
                "id must be a string or a number, got {}",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Array(_) => "an array",
                    _ => "an object",
                }
            ))),
        }
    }
}

/// Reads one item: an object becomes a validated transaction, anything else
/// is recorded by type (the caller decides whether that fails the request).
#[derive(Clone, Copy)]
struct ItemSeed<'s> {
    schema: &'s Schema,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object of the {} named features", self.schema.len())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        // Room for the schema plus a few stray fields without reallocating.
        let mut fields: Vec<(Key<'de>, Raw<'de>)> = Vec::with_capacity(self.schema.len() + 2);
        let mut id = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if key.0 == "id" {
                if id.is_some() {
                    return Err(A::Error::custom("id is given twice"));
                }
                id = Some(map.next_value::<Id>()?.0);
            } else {
                let value: Raw<'de> = map.next_value()?;
                fields.push((key, value));
            }
        }
        let transaction = validate_fields(self.schema, fields.iter().map(|(k, v)| (k.0.as_ref(), v.value())));
        Ok(Item::Object(Parsed { id, transaction }))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Item, E> {
        TypeName.visit_bool(v).map(Item::NotObject)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Item, E> {
        TypeName.visit_i64(v).map(Item::NotObject)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Item, E> {
        TypeName.visit_u64(v).map(Item::NotObject)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Item, E> {
        TypeName.visit_f64(v).map(Item::NotObject)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Item, E> {
        TypeName.visit_str(v).map(Item::NotObject)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Item, E> {
        TypeName.visit_unit().map(Item::NotObject)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Item, A::Error> {
        TypeName.visit_seq(seq).map(Item::NotObject)
    }
}

struct BatchSeed<'s> {
    limit: usize,
    schema: &'s Schema,
}

impl<'de> DeserializeSeed<'de> for BatchSeed<'_> {
    type Value = Batch;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Batch, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed<'_> {
    type Value = Batch;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"an object { "transactions": [ ... ] }"#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Batch, A::Error> {
        let mut batch = None;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match key.0.as_ref() {
                "transactions" if batch.is_some() => return Err(A::Error::custom("transactions is given twice")),
                "transactions" => {
                    batch = Some(
                        map.next_value_seed(ItemsSeed { limit: self.limit, item: ItemSeed { schema: self.schema } })?,
                    )
                }
                other => {
                    return Err(A::Error::custom(format_args!(
                        "unexpected key {:?}: a batch is {{ \"transactions\": [ ... ] }}",
                        other.chars().take(64).collect::<String>()
                    )))
                }
            }
        }
        batch.ok_or_else(|| A::Error::custom(r#"missing "transactions": a batch is { "transactions": [ ... ] }"#))
    }
}

struct ItemsSeed<'s> {
    limit: usize,
    item: ItemSeed<'s>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = Batch;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Batch, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = Batch;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of transaction objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.limit));
        let mut total = 0;
        loop {
            // Past the limit, items are skipped unparsed: the batch is refused anyway.
            let more = if total < self.limit {
                seq.next_element_seed(self.item)?.map(|item| items.push(item)).is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(Batch { items, total });
            }
            total += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
    use fraud_core::IssueKind;

    fn cc() -> Schema {
        Schema::creditcard()
    }

    fn body(extra: &str) -> String {
        let fields: Vec<String> = FEATURE_NAMES.iter().enumerate().map(|(i, n)| format!("\"{n}\": {i}.5")).collect();
        format!("{{{}{extra}}}", fields.join(", "))
    }

    fn parsed(item: Item) -> Parsed {
        match item {
            Item::Object(p) => p,
            Item::NotObject(t) => panic!("not an object: {t}"),
        }
    }

    #[test]
    fn reads_a_full_transaction_with_id() {
        let p = parsed(transaction(body(r#", "id": "tx-1""#).as_bytes(), &cc()).unwrap());
        assert_eq!(p.id, Some(Value::String("tx-1".into())));
        let t = p.transaction.unwrap();
        assert_eq!(t.values()[0], 0.5);
        assert_eq!(t.values()[29], 29.5);
    }

    #[test]
    fn numbers_parse_to_the_same_bits_as_javascript() {
        // Shortest round-trip decimals (what JSON.stringify writes) come back exactly.
        for x in [0.1f64, -1.3598071336738, 149.62, 1e-300, 123_456_789.123_456_79, 2.5e-8] {
            let text = body("").replace("\"Amount\": 29.5", &format!("\"Amount\": {}", ryu_like(x)));
            let t = parsed(transaction(text.as_bytes(), &cc()).unwrap()).transaction.unwrap();
            assert_eq!(t.values()[29].to_bits(), x.to_bits(), "{x}");
        }
    }

    fn ryu_like(x: f64) -> String {
        serde_json::to_string(&x).unwrap()
    }

    #[test]
    fn field_problems_are_validation_errors_not_body_errors() {
        let text = body(r#", "V1": "abc", "extra": null"#).replace("\"V2\": 2.5, ", "");
        let err = parsed(transaction(text.as_bytes(), &cc()).unwrap()).transaction.unwrap_err();
        let kinds: Vec<(&str, IssueKind)> = err.issues.iter().map(|i| (i.field.as_str(), i.kind)).collect();
        assert_eq!(
            kinds,
            vec![("V2", IssueKind::Missing), ("extra", IssueKind::Unknown), ("V1", IssueKind::Duplicate)]
        );
        let text = body("").replace("\"V7\": 7.5", "\"V7\": [1, {\"a\": 2}]").replace("\"V8\": 8.5", "\"V8\": true");
        let err = parsed(transaction(text.as_bytes(), &cc()).unwrap()).transaction.unwrap_err();
        assert!(err.issues.iter().all(|i| i.kind == IssueKind::NonNumeric), "{err:?}");
        assert_eq!(err.issues.len(), 2);
    }

    #[test]
    fn syntax_and_shape_errors_are_told_apart() {
        for bad in ["", "{", "{\"Time\": }", "nope", "{} {}", "{\"Time\": 1e400}"] {
            assert!(matches!(transaction(bad.as_bytes(), &cc()), Err(BodyError::Malformed(_))), "{bad:?}");
        }
        assert!(matches!(transaction(b"[1, 2]", &cc()), Ok(Item::NotObject("array"))));
        assert!(matches!(transaction(b"42", &cc()), Ok(Item::NotObject("number"))));
        for bad_id in [r#", "id": {}"#, r#", "id": null"#, r#", "id": 1, "id": 2"#] {
            let err = transaction(body(bad_id).as_bytes(), &cc()).unwrap_err();
            assert!(matches!(&err, BodyError::WrongType(m) if m.contains("id")), "{bad_id}: {err:?}");
        }
        let long = format!(r#", "id": "{}""#, "x".repeat(MAX_ID_CHARS + 1));
        assert!(matches!(transaction(body(&long).as_bytes(), &cc()), Err(BodyError::WrongType(_))));
    }

    #[test]
    fn batches_keep_order_and_count_past_the_limit() {
        let one = body("");
        let text = format!(r#"{{"transactions": [{one}, 7, {one}, {one}]}}"#);
        let b = batch(text.as_bytes(), 10, &cc()).unwrap();
        assert_eq!(b.total, 4);
        assert!(matches!(b.items[1], Item::NotObject("number")));
        let b = batch(text.as_bytes(), 2, &cc()).unwrap();
        assert_eq!((b.items.len(), b.total), (2, 4));
        for bad in [r#"{}"#, r#"{"transactions": {}}"#, r#"{"transactions": [], "x": 1}"#, "[]"] {
            assert!(matches!(batch(bad.as_bytes(), 10, &cc()), Err(BodyError::WrongType(_))), "{bad}");
        }
        assert!(matches!(batch(br#"{"transactions": [1,"#, 10, &cc()), Err(BodyError::Malformed(_))));
    }
}
