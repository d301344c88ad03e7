//! Writing request bodies: the JSON a client sends for one row of a model's
//! schema. The reading side is [`crate::parse`]; a body written here reads
//! back as the very doubles it was written from.

use fraud_core::RawValue;

/// A request's id: the file's id column, else the row's position.
#[derive(Clone, Copy, Debug)]
pub enum RequestId<'a> {
    /// From the id column.
    Text(&'a str),
    /// The row index.
    Row(usize),
}

/// The `/predict` body of a row (values in `features` order):
/// `{"id":…,"Time":...,...}` with shortest round-trip decimals, so the
/// server reads back the exact doubles.
pub fn request_body(id: RequestId<'_>, features: &[String], row: &[f64]) -> Vec<u8> {
    request_body_of(id, features, row.iter().map(|&v| RawValue::Number(v)))
}

/// The same for cells as a file wrote them: numbers, text categories as JSON
/// strings, missing values as `null` (a model of format 5 takes all three).
/// (A [`RawValue::NotNumber`], which no file cell is, is sent as its description, a string.)
pub fn request_body_of<'v>(
    id: RequestId<'_>,
    features: &[String],
    values: impl IntoIterator<Item = RawValue<'v>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 * features.len());
    out.extend_from_slice(b"{\"id\":");
    match id {
        RequestId::Row(i) => out.extend_from_slice(i.to_string().as_bytes()),
        // Ids come from CSV fields: any text, written as a JSON string.
        RequestId::Text(t) => {
            serde_json::to_writer(&mut out, t).expect("a string serialises into a Vec without failing")
        }
    }
    let mut buf = ryu::Buffer::new();
    for (name, v) in features.iter().zip(values) {
        out.extend_from_slice(b",\"");
        // Names hold no quotes or control characters (the schema refuses them); a backslash needs escaping.
        for &b in name.as_bytes() {
            if b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.extend_from_slice(b"\":");
        match v {
            RawValue::Number(v) => out.extend_from_slice(buf.format(v).as_bytes()),
            RawValue::Null => out.extend_from_slice(b"null"),
            RawValue::Text(t) | RawValue::NotNumber(t) => {
                serde_json::to_writer(&mut out, t).expect("a string serialises into a Vec without failing")
            }
        }
    }
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::Schema;

    #[test]
    fn bodies_round_trip_exactly() {
        let schema = Schema::creditcard();
        let row: Vec<f64> = (0..30).map(|i| (i as f64 - 7.3) / 3.0).collect();
        let v: serde_json::Value =
            serde_json::from_slice(&request_body(RequestId::Row(12), schema.features(), &row)).unwrap();
        assert_eq!(v["id"], 12);
        for (name, x) in schema.features().iter().zip(&row) {
            assert_eq!(v[name].as_f64().unwrap().to_bits(), x.to_bits(), "{name}");
        }
        let names = vec!["amount".to_string(), "risk \\ \u{e9}".to_string()];
        let body = request_body(RequestId::Text("tx \"7\""), &names, &[12.5, 0.25]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::json!({ "id": "tx \"7\"", "amount": 12.5, "risk \\ \u{e9}": 0.25 }));
    }

    #[test]
    fn cells_are_sent_as_numbers_strings_and_nulls() {
        let names = vec!["amount".to_string(), "country".to_string(), "device".to_string()];
        let values = [RawValue::Number(9.75), RawValue::Text("C\"05\""), RawValue::Null];
        let v: serde_json::Value = serde_json::from_slice(&request_body_of(RequestId::Row(3), &names, values)).unwrap();
        assert_eq!(v, serde_json::json!({ "id": 3, "amount": 9.75, "country": "C\"05\"", "device": null }));
    }
}
