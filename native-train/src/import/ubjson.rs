//! UBJSON (Universal Binary JSON, spec draft 12) reader for XGBoost's binary
//! model format.
//!
//! XGBoost saves `.ubj` models with its `UBJWriter` (`src/common/json.cc`):
//! the same document as its `.json` models, but with numbers stored as raw
//! big-endian bytes and numeric arrays as typed, counted containers
//! (`[$d#L<count><f32 …>`). Reading those bytes directly gives the exact
//! float32 split thresholds and leaf values, with no decimal round trip.
//!
//! Guarantees:
//! - **Exact numbers.** A float32 becomes `f32::from_be_bytes(..) as f64`,
//!   bit for bit; integers stay integers. Non-finite floats, which a model
//!   never holds and `serde_json::Value` cannot represent, are errors.
//! - **Bounded.** Nesting is limited by [`Limits::max_depth`] and the total
//!   number of values by [`Limits::max_elements`]. A declared count is checked
//!   against those limits and against the bytes that remain *before* anything
//!   is allocated, so a few hostile bytes cannot demand gigabytes. The parser
//!   is iterative, so deep nesting cannot overflow the call stack either.
//! - **Never panics.** Truncated or malformed input yields a [`UbjError`]
//!   naming the byte offset of the problem. Trailing bytes after the root
//!   value are an error too.
//!
//! Beyond what XGBoost writes (`#`-counted arrays, `$`-typed numeric arrays,
//! terminated objects, `L` lengths), the reader accepts the whole of draft 12:
//! terminated, counted and typed-and-counted forms of both containers, any
//! integer marker for lengths and counts, no-ops (`N`) where a value or a
//! closing marker may appear, `C` chars (as one-character strings, per the
//! spec) and `H` high-precision numbers (parsed as JSON numbers). A `$N`
//! container type is rejected: an array of nothing but no-ops carries nothing.
//! Duplicate object keys keep the last value.

use std::fmt;

use serde_json::{Map, Number, Value};

/// Limits that keep a hostile file bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most containers open at once; a document that is a bare scalar has depth 0.
    /// The parser itself is iterative, but dropping or walking a `Value`
    /// recurses, so this also protects whoever uses the result.
    pub max_depth: usize,
    /// Most values (scalars and containers, the root included) in a document.
    pub max_elements: usize,
}

impl Default for Limits {
    /// Depth 64 and 2^26 values: XGBoost models nest about 6 deep, and a
    /// 1,000-tree model holds a few million numbers.
    fn default() -> Self {
        Limits { max_depth: 64, max_elements: 1 << 26 }
    }
}

/// Why a document was rejected, and the byte offset where that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbjError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for UbjError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UBJSON byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for UbjError {}

/// Parses one UBJSON document with [`Limits::default`].
pub fn parse(bytes: &[u8]) -> Result<Value, UbjError> {
    parse_with(bytes, &Limits::default())
}

/// Parses one UBJSON document; the whole input must be that one value.
pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Value, UbjError> {
    Parser { bytes, pos: 0, limits, elements: 0 }.document()
}

/// Initial capacity cap for a counted container: the count has been checked
/// against the remaining bytes, but nested counts could each claim the whole
/// rest of the file, so large containers grow as their elements arrive.
const PREALLOC_CAP: usize = 4096;

enum Items {
    Array(Vec<Value>),
    /// `key` holds the key read for the value being parsed.
    Object {
        map: Map<String, Value>,
        key: Option<String>,
    },
}

/// One open container on the explicit parse stack.
struct Frame {
    items: Items,
    /// Entries still to read when a count (`#`) was declared; `None` means the
    /// container ends at `]` or `}`.
    remaining: Option<usize>,
    /// Marker shared by every element when a type (`$`) was declared; the
    /// elements then omit their own markers.
    elem_type: Option<u8>,
}

impl Frame {
    fn into_value(self) -> Value {
        match self.items {
            Items::Array(values) => Value::Array(values),
            Items::Object { map, .. } => Value::Object(map),
        }
    }
}

/// What opening a container produced: a typed numeric array is read whole.
enum Opened {
    Value(Value),
    Frame(Frame),
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    /// Values seen so far, checked against `limits.max_elements`.
    elements: usize,
}

impl<'a> Parser<'a> {
    fn document(mut self) -> Result<Value, UbjError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let next = match stack.last_mut() {
                None => Some(self.marker()?),
                Some(frame) => self.next_in(frame)?,
            };
            let value = match next {
                // The innermost container is complete.
                None => match stack.pop() {
                    Some(frame) => frame.into_value(),
                    None => return Err(self.error(self.pos, "internal: no open container")),
                },
                Some((marker, at)) => {
                    self.count_element(at)?;
                    match marker {
                        b'[' | b'{' => match self.open(marker, at, stack.len())? {
                            Opened::Value(value) => value,
                            Opened::Frame(frame) => {
                                stack.push(frame);
                                continue;
                            }
                        },
                        _ => self.scalar(marker, at)?,
                    }
                }
            };
            match stack.last_mut() {
                None => return self.finish(value),
                Some(Frame { items: Items::Array(values), .. }) => values.push(value),
                Some(Frame { items: Items::Object { map, key }, .. }) => {
                    // `next_in` always reads the key first; last duplicate wins.
                    map.insert(key.take().unwrap_or_default(), value);
                }
            }
        }
    }

    fn finish(&self, root: Value) -> Result<Value, UbjError> {
        let extra = self.bytes.len() - self.pos;
        if extra == 0 {
            Ok(root)
        } else {
            Err(self.error(self.pos, format!("{extra} trailing byte(s) after the root value")))
        }
    }

    /// Advances `frame` to its next element: returns that element's marker and
    /// offset, or `None` once the container is complete (consuming `]`/`}`).
    fn next_in(&mut self, frame: &mut Frame) -> Result<Option<(u8, usize)>, UbjError> {
        match &mut frame.remaining {
            Some(0) => return Ok(None),
            Some(n) => *n -= 1,
            None => {
                let close = match frame.items {
                    Items::Array(_) => b']',
                    Items::Object { .. } => b'}',
                };
                self.skip_noops();
                match self.bytes.get(self.pos) {
                    None => {
                        return Err(self.error(
                            self.pos,
                            format!("unexpected end of input: container not closed by `{}`", close as char),
                        ))
                    }
                    Some(&b) if b == close => {
                        self.pos += 1;
                        return Ok(None);
                    }
                    Some(_) => {}
                }
            }
        }
        if let Items::Object { key, .. } = &mut frame.items {
            *key = Some(self.string_body()?);
        }
        match frame.elem_type {
            Some(t) => Ok(Some((t, self.pos))),
            None => self.marker().map(Some),
        }
    }

    /// Reads a container header (`$type`, `#count`) after its `[` or `{` at `at`.
    fn open(&mut self, marker: u8, at: usize, depth: usize) -> Result<Opened, UbjError> {
        if depth >= self.limits.max_depth {
            return Err(self.error(at, format!("nesting deeper than {} containers", self.limits.max_depth)));
        }
        let is_array = marker == b'[';

        let mut elem_type = None;
        if self.bytes.get(self.pos) == Some(&b'$') {
            self.pos += 1;
            let t_at = self.pos;
            let t = self.byte()?;
            if !is_element_type(t) {
                return Err(self.error(t_at, format!("{} is not a valid container element type", show(t))));
            }
            if self.bytes.get(self.pos) != Some(&b'#') {
                return Err(self.error(self.pos, "container type `$` must be followed by a count `#`"));
            }
            elem_type = Some(t);
        }

        let mut remaining = None;
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.pos += 1;
            let count_at = self.pos;
            let count = self.length()?;
            let left = self.limits.max_elements.saturating_sub(self.elements);
            if count > left {
                return Err(self.error(
                    count_at,
                    format!("declared count {count} exceeds the limit of {} values", self.limits.max_elements),
                ));
            }
            // Every entry needs at least this many bytes: an object key is a
            // length marker plus at least one length byte.
            let per_entry = min_size(elem_type) + if is_array { 0 } else { 2 };
            let available = self.bytes.len() - self.pos;
            match count.checked_mul(per_entry) {
                Some(need) if need <= available => {}
                _ => {
                    return Err(self.error(
                        count_at,
                        format!("declared count {count} needs more than the {available} byte(s) that remain"),
                    ))
                }
            }
            if is_array {
                if let Some(t) = elem_type {
                    if let Some(width) = fixed_width(t) {
                        return self.typed_numbers(t, width, count).map(Opened::Value);
                    }
                }
            }
            remaining = Some(count);
        }

        let capacity = remaining.unwrap_or(0).min(PREALLOC_CAP);
        let items = if is_array {
            Items::Array(Vec::with_capacity(capacity))
        } else {
            Items::Object { map: Map::new(), key: None }
        };
        Ok(Opened::Frame(Frame { items, remaining, elem_type }))
    }

    /// Reads a typed array of fixed-width values in one pass: the hot path for
    /// XGBoost's split conditions, leaf values and node indices.
    fn typed_numbers(&mut self, t: u8, width: usize, count: usize) -> Result<Value, UbjError> {
        let start = self.pos;
        let len = count.checked_mul(width).ok_or_else(|| self.error(start, "typed array size overflows"))?;
        let data = self.take(len)?;
        self.elements += count;
        let mut out = Vec::with_capacity(count);
        let at = |i: usize| start + i * width;
        match t {
            b'd' => each::<4>(data, |i, b| {
                out.push(finite(f64::from(f32::from_be_bytes(b)), at(i))?);
                Ok(())
            })?,
            b'D' => each::<8>(data, |i, b| {
                out.push(finite(f64::from_be_bytes(b), at(i))?);
                Ok(())
            })?,
            b'i' => out.extend(data.iter().map(|&b| Value::from(i8::from_be_bytes([b])))),
            b'U' => out.extend(data.iter().map(|&b| Value::from(b))),
            b'I' => each::<2>(data, |_, b| {
                out.push(Value::from(i16::from_be_bytes(b)));
                Ok(())
            })?,
            b'l' => each::<4>(data, |_, b| {
                out.push(Value::from(i32::from_be_bytes(b)));
                Ok(())
            })?,
            b'L' => each::<8>(data, |_, b| {
                out.push(Value::from(i64::from_be_bytes(b)));
                Ok(())
            })?,
            b'C' => {
                for (i, &b) in data.iter().enumerate() {
                    out.push(char_value(b, at(i))?);
                }
            }
            _ => return Err(self.error(start, format!("internal: {} is not fixed-width", show(t)))),
        }
        Ok(Value::Array(out))
    }

    /// Reads the payload of a non-container value whose marker is `marker`;
    /// `at` is where the marker was (or where the payload starts, in a typed
    /// container, whose elements have no marker of their own).
    fn scalar(&mut self, marker: u8, at: usize) -> Result<Value, UbjError> {
        let payload = self.pos;
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => Value::from(i8::from_be_bytes(self.array()?)),
            b'U' => Value::from(u8::from_be_bytes(self.array()?)),
            b'I' => Value::from(i16::from_be_bytes(self.array()?)),
            b'l' => Value::from(i32::from_be_bytes(self.array()?)),
            b'L' => Value::from(i64::from_be_bytes(self.array()?)),
            b'd' => finite(f64::from(f32::from_be_bytes(self.array()?)), payload)?,
            b'D' => finite(f64::from_be_bytes(self.array()?), payload)?,
            b'C' => char_value(self.byte()?, payload)?,
            b'S' => Value::String(self.string_body()?),
            b'H' => {
                let text = self.string_body()?;
                // JSON number grammar only, so no "inf"/"NaN"; out-of-range
                // magnitudes are rejected by serde_json too.
                match text.parse::<Number>() {
                    Ok(n) => Value::Number(n),
                    Err(_) => return Err(self.error(at, format!("invalid high-precision number {text:?}"))),
                }
            }
            other => return Err(self.error(at, format!("unexpected marker {}", show(other)))),
        })
    }

    /// A length or count: any integer marker, then its payload; never negative.
    fn length(&mut self) -> Result<usize, UbjError> {
        let at = self.pos;
        let marker = self.byte()?;
        let value: i64 = match marker {
            b'i' => i8::from_be_bytes(self.array()?).into(),
            b'U' => u8::from_be_bytes(self.array()?).into(),
            b'I' => i16::from_be_bytes(self.array()?).into(),
            b'l' => i32::from_be_bytes(self.array()?).into(),
            b'L' => i64::from_be_bytes(self.array()?),
            other => return Err(self.error(at, format!("expected an integer length, found marker {}", show(other)))),
        };
        if value < 0 {
            return Err(self.error(at, format!("negative length {value}")));
        }
        usize::try_from(value).map_err(|_| self.error(at, format!("length {value} is too large")))
    }

    /// A length-prefixed UTF-8 string: an `S` payload or an object key.
    fn string_body(&mut self) -> Result<String, UbjError> {
        let len = self.length()?;
        let start = self.pos;
        let raw = self.take(len)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(self.error(start + e.valid_up_to(), "string is not valid UTF-8")),
        }
    }

    /// The next value marker, skipping no-ops; with its offset.
    fn marker(&mut self) -> Result<(u8, usize), UbjError> {
        self.skip_noops();
        let at = self.pos;
        Ok((self.byte()?, at))
    }

    fn skip_noops(&mut self) {
        while self.bytes.get(self.pos) == Some(&b'N') {
            self.pos += 1;
        }
    }

    fn count_element(&mut self, at: usize) -> Result<(), UbjError> {
        self.elements = self.elements.saturating_add(1);
        if self.elements > self.limits.max_elements {
            return Err(self.error(at, format!("more than {} values", self.limits.max_elements)));
        }
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, UbjError> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], UbjError> {
        let raw = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(raw);
        Ok(out)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], UbjError> {
        let available = self.bytes.len() - self.pos;
        if n > available {
            return Err(self.error(self.pos, format!("unexpected end of input: need {n} byte(s), {available} remain")));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.bytes[start..self.pos])
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> UbjError {
        UbjError { offset, message: message.into() }
    }
}

/// Calls `f` with each `W`-byte chunk of `data` (whose length is a multiple of `W`).
fn each<const W: usize>(
    data: &[u8],
    mut f: impl FnMut(usize, [u8; W]) -> Result<(), UbjError>,
) -> Result<(), UbjError> {
    for (i, chunk) in data.chunks_exact(W).enumerate() {
        let mut bytes = [0u8; W];
        bytes.copy_from_slice(chunk);
        f(i, bytes)?;
    }
    Ok(())
}

fn finite(x: f64, at: usize) -> Result<Value, UbjError> {
    Number::from_f64(x)
        .map(Value::Number)
        .ok_or_else(|| UbjError { offset: at, message: format!("non-finite number {x}") })
}

/// Draft 12 defines `C` as a single ASCII character.
fn char_value(b: u8, at: usize) -> Result<Value, UbjError> {
    if b.is_ascii() {
        Ok(Value::String(char::from(b).to_string()))
    } else {
        Err(UbjError { offset: at, message: format!("char 0x{b:02X} is not ASCII") })
    }
}

/// Markers allowed after `$`: any value type except no-op.
fn is_element_type(t: u8) -> bool {
    matches!(t, b'Z' | b'T' | b'F' | b'i' | b'U' | b'I' | b'l' | b'L' | b'd' | b'D' | b'C' | b'S' | b'H' | b'[' | b'{')
}

/// Payload width of the element types read in bulk by `typed_numbers`.
fn fixed_width(t: u8) -> Option<usize> {
    match t {
        b'i' | b'U' | b'C' => Some(1),
        b'I' => Some(2),
        b'l' | b'd' => Some(4),
        b'L' | b'D' => Some(8),
        _ => None,
    }
}

/// Fewest bytes one element can occupy, given the container's element type.
fn min_size(elem_type: Option<u8>) -> usize {
    match elem_type {
        // Its own marker.
        None => 1,
        Some(t) => match fixed_width(t) {
            Some(width) => width,
            None => match t {
                // Length marker plus one length byte.
                b'S' | b'H' => 2,
                // `]`, `}` or a header byte.
                b'[' | b'{' => 1,
                // `Z`, `T`, `F`: the type says it all.
                _ => 0,
            },
        },
    }
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}` (0x{b:02X})", b as char)
    } else {
        format!("0x{b:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // --- builders -------------------------------------------------------

    /// A length as XGBoost writes it: `L` + big-endian i64.
    fn len_l(n: usize) -> Vec<u8> {
        let mut v = vec![b'L'];
        v.extend_from_slice(&(n as i64).to_be_bytes());
        v
    }

    /// A key (no `S` marker) with an `L` length.
    fn key(s: &str) -> Vec<u8> {
        let mut v = len_l(s.len());
        v.extend_from_slice(s.as_bytes());
        v
    }

    /// A key with a one-byte `i` length, as most other writers emit.
    fn key_i(s: &str) -> Vec<u8> {
        let mut v = vec![b'i', s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = vec![b'S'];
        v.extend(key(s));
        v
    }

    fn f32_array(xs: &[f32]) -> Vec<u8> {
        let mut v = vec![b'[', b'$', b'd', b'#'];
        v.extend(len_l(xs.len()));
        for x in xs {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn ok(bytes: &[u8]) -> Value {
        match parse(bytes) {
            Ok(v) => v,
            Err(e) => panic!("{e} in {bytes:?}"),
        }
    }

    fn err(bytes: &[u8]) -> UbjError {
        match parse(bytes) {
            Ok(v) => panic!("expected an error, got {v} from {bytes:?}"),
            Err(e) => e,
        }
    }

    fn f32_value(x: f32) -> Value {
        Value::from(f64::from(x))
    }

    /// A small document shaped like an XGBoost model, in XGBoost's encoding.
    fn xgboost_like() -> Vec<u8> {
        let mut tree = vec![b'{'];
        tree.extend(key("base_weights"));
        tree.extend(f32_array(&[0.1, -0.25, 3.5e-8]));
        tree.extend(key("left_children"));
        tree.extend([b'[', b'$', b'l', b'#']);
        tree.extend(len_l(3));
        for x in [1i32, -1, -1] {
            tree.extend_from_slice(&x.to_be_bytes());
        }
        tree.extend(key("default_left"));
        tree.extend([b'[', b'$', b'U', b'#']);
        tree.extend(len_l(3));
        tree.extend([1, 0, 0]);
        tree.extend(key("id"));
        tree.extend([b'i', 0]);
        tree.extend(key("categories"));
        tree.extend([b'[', b'#']);
        tree.extend(len_l(0));
        tree.push(b'}');

        let mut doc = vec![b'{'];
        doc.extend(key("learner"));
        doc.push(b'{');
        doc.extend(key("trees"));
        doc.extend([b'[', b'#']);
        doc.extend(len_l(2));
        doc.extend(&tree);
        doc.extend(&tree);
        doc.extend(key("base_score"));
        doc.extend(string("5E-1"));
        doc.extend(key("num_feature"));
        doc.extend([b'I']);
        doc.extend_from_slice(&300i16.to_be_bytes());
        doc.extend(key("big"));
        doc.push(b'L');
        doc.extend_from_slice(&(1i64 << 40).to_be_bytes());
        doc.extend(key("flag"));
        doc.push(b'T');
        doc.extend(key("none"));
        doc.push(b'Z');
        doc.push(b'}');
        doc.extend(key("version"));
        doc.extend([b'[', b'#']);
        doc.extend(len_l(3));
        doc.extend([b'i', 3, b'i', 2, b'i', 0]);
        doc.push(b'}');
        doc
    }

    // --- scalars --------------------------------------------------------

    #[test]
    fn scalar_markers() {
        assert_eq!(ok(b"Z"), Value::Null);
        assert_eq!(ok(b"T"), json!(true));
        assert_eq!(ok(b"F"), json!(false));
        assert_eq!(ok(&[b'i', 0x80]), json!(-128));
        assert_eq!(ok(&[b'i', 0x7F]), json!(127));
        assert_eq!(ok(&[b'U', 0xFF]), json!(255));
        assert_eq!(ok(&cat(&[b"I", &i16::MIN.to_be_bytes()])), json!(-32768));
        assert_eq!(ok(&cat(&[b"I", &0x1234i16.to_be_bytes()])), json!(0x1234));
        assert_eq!(ok(&cat(&[b"l", &i32::MIN.to_be_bytes()])), json!(i32::MIN));
        assert_eq!(ok(&cat(&[b"L", &i64::MIN.to_be_bytes()])), json!(i64::MIN));
        assert_eq!(ok(&cat(&[b"L", &i64::MAX.to_be_bytes()])), json!(i64::MAX));
        assert_eq!(ok(&cat(&[b"D", &0.1f64.to_be_bytes()])), json!(0.1));
        assert_eq!(ok(&cat(&[b"D", &(-0.0f64).to_be_bytes()])), json!(-0.0));
        assert_eq!(ok(b"Cx"), json!("x"));
        assert_eq!(ok(&cat(&[b"S", &key("héllo")])), json!("héllo"));
        assert_eq!(ok(&[b'S', b'i', 0]), json!(""));
        assert_eq!(ok(&[b'S', b'U', 2, b'o', b'k']), json!("ok"));
        assert_eq!(ok(&[b'S', b'I', 0, 2, b'o', b'k']), json!("ok"));
        assert_eq!(ok(&[b'S', b'l', 0, 0, 0, 2, b'o', b'k']), json!("ok"));
        // Big-endian: the most significant byte comes first.
        assert_eq!(ok(&[b'l', 0x01, 0x02, 0x03, 0x04]), json!(0x0102_0304));
    }

    #[test]
    fn float32_is_exact() {
        for x in [0.1f32, -0.25, 3.5e-8, f32::MAX, f32::MIN_POSITIVE, 1e-45, 16777217.0] {
            let v = ok(&cat(&[b"d", &x.to_be_bytes()]));
            assert_eq!(v.as_f64(), Some(f64::from(x)));
            assert_eq!(v, f32_value(x));
        }
        // The f32 nearest 0.1 is not the f64 0.1: no decimal round trip.
        assert_ne!(ok(&cat(&[b"d", &0.1f32.to_be_bytes()])), json!(0.1));
        assert_eq!(ok(&cat(&[b"d", &0.1f32.to_be_bytes()])).as_f64(), Some(0.100_000_001_490_116_12));
    }

    #[test]
    fn high_precision_numbers() {
        let h = |s: &str| cat(&[b"H", &key(s)]);
        assert_eq!(ok(&h("1.5")), json!(1.5));
        assert_eq!(ok(&h("-12")), json!(-12));
        assert_eq!(ok(&h("18446744073709551615")), json!(u64::MAX));
        assert_eq!(ok(&h("3.141592653589793238462643383279")), json!(std::f64::consts::PI));
        for bad in ["", "abc", "1e400", " 1", "1 ", "NaN", "inf", "+1", "1.", ".5", "0x10"] {
            let e = err(&h(bad));
            assert_eq!(e.offset, 0, "{bad:?}: {e}");
            assert!(e.message.contains("high-precision"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn noops_are_skipped() {
        assert_eq!(ok(b"NNZ"), Value::Null);
        assert_eq!(ok(b"[NTNNFN]"), json!([true, false]));
        assert_eq!(ok(b"[N]"), json!([]));
        let obj = cat(&[b"{N", &key_i("a"), b"NT", b"N}"]);
        assert_eq!(ok(&obj), json!({"a": true}));
        // Counted containers count values, not no-ops.
        assert_eq!(ok(b"[#i\x02NTNF"), json!([true, false]));
    }

    // --- containers -----------------------------------------------------

    #[test]
    fn standard_containers() {
        assert_eq!(ok(b"[]"), json!([]));
        assert_eq!(ok(b"{}"), json!({}));
        assert_eq!(
            ok(&cat(&[b"[Z", b"T", b"i\x05", b"Si\x03ham", b"[]", b"{}", b"]"])),
            json!([null, true, 5, "ham", [], {}])
        );
        let doc = cat(&[
            b"{",
            &key_i("a"),
            b"{",
            &key_i("b"),
            b"{",
            &key("c"),
            b"[i\x01i\x02]",
            b"}",
            &key_i("d"),
            b"Z",
            b"}",
            &key_i("e"),
            b"F",
            b"}",
        ]);
        assert_eq!(ok(&doc), json!({"a": {"b": {"c": [1, 2]}, "d": null}, "e": false}));
    }

    #[test]
    fn count_optimized_containers() {
        assert_eq!(ok(b"[#i\x00"), json!([]));
        assert_eq!(ok(b"[#i\x03TFZ"), json!([true, false, null]));
        assert_eq!(ok(b"[#U\x02[#i\x01T[]"), json!([[true], []]));
        assert_eq!(ok(b"{#i\x00"), json!({}));
        let obj = cat(&[b"{#i\x02", &key_i("x"), b"U\x07", &key("y"), b"[]"]);
        assert_eq!(ok(&obj), json!({"x": 7, "y": []}));
        // A count and then a terminator would leave the terminator trailing.
        assert_eq!(err(b"[#i\x01T]").offset, 5);
    }

    #[test]
    fn typed_numeric_arrays() {
        let xs = [0.1f32, -2.5, 1e-30, 65504.0];
        let v = ok(&f32_array(&xs));
        let want: Vec<Value> = xs.iter().map(|&x| f32_value(x)).collect();
        assert_eq!(v, Value::Array(want));
        for (got, x) in v.as_array().into_iter().flatten().zip(xs) {
            assert_eq!(got.as_f64().map(f64::to_bits), Some(f64::from(x).to_bits()));
        }

        let mut d = vec![b'[', b'$', b'D', b'#', b'i', 2];
        d.extend_from_slice(&0.1f64.to_be_bytes());
        d.extend_from_slice(&(-1e300f64).to_be_bytes());
        assert_eq!(ok(&d), json!([0.1, -1e300]));

        assert_eq!(ok(b"[$i#i\x03\x00\x7f\x80"), json!([0, 127, -128]));
        assert_eq!(ok(b"[$U#i\x03\x00\x7f\xff"), json!([0, 127, 255]));
        assert_eq!(ok(b"[$I#i\x02\x80\x00\x01\x02"), json!([-32768, 0x0102]));
        assert_eq!(ok(b"[$l#i\x02\xff\xff\xff\xff\x00\x00\x01\x00"), json!([-1, 256]));
        let mut l = b"[$L#i\x02".to_vec();
        l.extend_from_slice(&i64::MIN.to_be_bytes());
        l.extend_from_slice(&(1i64 << 53).to_be_bytes());
        assert_eq!(ok(&l), json!([i64::MIN, 1i64 << 53]));
        assert_eq!(ok(b"[$C#i\x02hi"), json!(["h", "i"]));
        assert_eq!(ok(b"[$d#i\x00"), json!([]));
        // Count given with a 16-bit marker.
        let mut big = b"[$U#I\x01\x00".to_vec();
        big.extend(std::iter::repeat_n(9u8, 256));
        assert_eq!(ok(&big), Value::Array(vec![json!(9); 256]));
    }

    #[test]
    fn typed_other_arrays_and_objects() {
        assert_eq!(ok(b"[$Z#i\x03"), json!([null, null, null]));
        assert_eq!(ok(b"[$T#i\x02"), json!([true, true]));
        assert_eq!(ok(b"[$F#i\x01"), json!([false]));
        assert_eq!(ok(b"[$S#i\x02i\x01aU\x02bc"), json!(["a", "bc"]));
        assert_eq!(ok(b"[$H#i\x01i\x031.5"), json!([1.5]));
        // Elements of a `$[` array omit their own `[`.
        assert_eq!(ok(b"[$[#i\x02Z]$U#i\x01\x05"), json!([[null], [5]]));
        assert_eq!(ok(b"[${#i\x01i\x01aT}"), json!([{"a": true}]));

        let obj = cat(&[b"{$d#i\x02", &key_i("a"), &0.5f32.to_be_bytes(), &key("b"), &(-0.1f32).to_be_bytes()]);
        assert_eq!(ok(&obj), json!({"a": 0.5, "b": f64::from(-0.1f32)}));
        let obj = cat(&[b"{$Z#i\x02", &key_i("a"), &key_i("b")]);
        assert_eq!(ok(&obj), json!({"a": null, "b": null}));
        let obj = cat(&[b"{${#i\x01", &key_i("o"), b"#i\x01", &key_i("p"), b"T"]);
        assert_eq!(ok(&obj), json!({"o": {"p": true}}));
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let obj = cat(&[b"{", &key_i("k"), b"i\x01", &key_i("k"), b"i\x02", b"}"]);
        assert_eq!(ok(&obj), json!({"k": 2}));
    }

    #[test]
    fn xgboost_shaped_document() {
        let tree = json!({
            "base_weights": [f64::from(0.1f32), f64::from(-0.25f32), f64::from(3.5e-8f32)],
            "left_children": [1, -1, -1],
            "default_left": [1, 0, 0],
            "id": 0,
            "categories": [],
        });
        let want = json!({
            "learner": {
                "trees": [tree.clone(), tree],
                "base_score": "5E-1",
                "num_feature": 300,
                "big": 1i64 << 40,
                "flag": true,
                "none": null,
            },
            "version": [3, 2, 0],
        });
        assert_eq!(ok(&xgboost_like()), want);
    }

    #[test]
    fn depth_limit() {
        let limits = Limits { max_depth: 3, max_elements: 100 };
        assert_eq!(parse_with(b"[[[]]]", &limits), Ok(json!([[[]]])));
        let e = parse_with(b"[[[[]]]]", &limits).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(e.message.contains("nesting"), "{e}");
        // A typed array is a level too.
        assert!(parse_with(b"[[[[$U#i\x00]]]", &limits).is_err());
        let scalars_only = Limits { max_depth: 0, max_elements: 10 };
        assert_eq!(parse_with(b"T", &scalars_only), Ok(json!(true)));
        assert!(parse_with(b"[]", &scalars_only).is_err());

        // A depth bomb fails at the limit, without deep recursion.
        let bomb = vec![b'['; 1_000_000];
        let e = err(&bomb);
        assert_eq!(e.offset, 64);
        let unlimited = Limits { max_depth: usize::MAX, max_elements: usize::MAX };
        let mut deep = vec![b'['; 100_000];
        deep.extend(vec![b']'; 100_000]);
        let value = parse_with(&deep, &unlimited);
        assert!(value.is_ok());
        // Dropping a `Value` recurses, so this one is leaked instead (the
        // default depth limit is what keeps callers' recursion safe).
        std::mem::forget(value);
        let obj_bomb: Vec<u8> = std::iter::repeat_n(cat(&[b"{", &key_i("a")]), 10_000).flatten().collect();
        assert!(err(&obj_bomb).message.contains("nesting"));
    }

    #[test]
    fn element_limit() {
        let limits = Limits { max_depth: 8, max_elements: 4 };
        assert_eq!(parse_with(b"[TTT]", &limits), Ok(json!([true, true, true])));
        let e = parse_with(b"[TTTT]", &limits).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(parse_with(b"[$U#i\x03\x01\x02\x03", &limits).is_ok());
        let e = parse_with(b"[$U#i\x04\x01\x02\x03\x04", &limits).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("limit"), "{e}");
        // Zero-width elements are bounded by the limit, not by the bytes.
        let e = err(b"[$Z#L\x00\x00\x00\x00\x7f\xff\xff\xff");
        assert_eq!(e.offset, 4);
    }

    // --- errors ---------------------------------------------------------

    #[test]
    fn every_truncation_is_an_error() {
        let docs = [
            xgboost_like(),
            cat(&[
                b"[NZTFi\x01U\x02I\x00\x03l\x00\x00\x00\x04",
                b"L\x00\x00\x00\x00\x00\x00\x00\x05",
                b"d\x3f\x80\x00\x00",
                b"D\x3f\xf0\x00\x00\x00\x00\x00\x00",
                b"Cc",
                b"Si\x02ab",
                b"Hi\x011",
                b"]",
            ]),
            b"[$[#i\x02Z]$U#i\x01\x05".to_vec(),
            cat(&[b"{$d#i\x01", &key_i("a"), &0.5f32.to_be_bytes()]),
        ];
        for doc in &docs {
            assert!(parse(doc).is_ok());
            for cut in 0..doc.len() {
                let e = match parse(&doc[..cut]) {
                    Ok(v) => panic!("prefix {cut} of {doc:?} parsed as {v}"),
                    Err(e) => e,
                };
                assert!(e.offset <= cut, "prefix {cut}: {e}");
            }
        }
    }

    #[test]
    fn huge_declared_counts() {
        // Each declares far more than the bytes that follow; none may allocate.
        for doc in [
            &b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff\x00\x00"[..],
            b"[$d#L\x00\x00\x00\x00\x01\x00\x00\x00",
            b"[$D#l\x7f\xff\xff\xff",
            b"[#L\x00\x00\x00\x00\x03\xff\xff\xffZ",
            b"{#l\x00\x10\x00\x00i\x01aZ",
            b"[$S#l\x00\x10\x00\x00",
            b"[$[#l\x00\x10\x00\x00",
        ] {
            let e = err(doc);
            assert_eq!(e.offset, 2 + 2 * usize::from(doc[1] == b'$'), "{e}");
        }
        // Lengths too.
        let e = err(b"SL\x00\x00\x00\x00\xff\xff\xff\xffabc");
        assert_eq!(e.offset, 10);
        assert!(e.message.contains("end of input"), "{e}");
        let e = err(b"{L\x7f\xff\xff\xff\xff\xff\xff\xffab}");
        assert_eq!(e.offset, 10);
    }

    #[test]
    fn negative_lengths_and_counts() {
        assert_eq!(err(b"[#i\xff").offset, 2);
        assert_eq!(err(b"[$U#I\x80\x00").offset, 4);
        assert_eq!(err(b"Si\xfeab").offset, 1);
        assert_eq!(err(b"{L\xff\xff\xff\xff\xff\xff\xff\xffT}").offset, 1);
        assert!(err(b"[#i\xff").message.contains("negative"));
    }

    #[test]
    fn bad_markers() {
        let e = err(b"X");
        assert_eq!(e, UbjError { offset: 0, message: "unexpected marker `X` (0x58)".into() });
        assert_eq!(err(b"[TX]").offset, 2);
        assert_eq!(err(b"]").offset, 0);
        assert_eq!(err(b"}").offset, 0);
        assert_eq!(err(b"N").offset, 1);
        assert_eq!(err(b"[T}").offset, 2);
        assert_eq!(err(b"{i\x01aT]").offset, 5);
        // Keys are bare lengths: an `S` before a key is wrong.
        assert_eq!(err(b"{Si\x01aT}").offset, 1);
        assert_eq!(err(b"{i\x01a}").offset, 4);
        assert_eq!(err(b"Sd\x00\x00\x00\x00").offset, 1);
        // Container headers.
        assert_eq!(err(b"[$d]").offset, 3);
        assert_eq!(err(b"[$N#i\x01").offset, 2);
        assert_eq!(err(b"[$#i\x01").offset, 2);
        assert_eq!(err(b"[$]#i\x01").offset, 2);
        assert_eq!(err(b"[#d\x00\x00\x00\x00").offset, 2);
        assert_eq!(err(b"[#i\x01$").offset, 4);
        assert_eq!(err(&[b'C', 0x80]).offset, 1);
        assert_eq!(err(b"[$C#i\x02a\xff").offset, 7);
        assert!(err(&[]).message.contains("end of input"));
    }

    #[test]
    fn invalid_utf8() {
        let e = err(b"Si\x03a\xffb");
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("UTF-8"));
        assert_eq!(err(b"{i\x02\xc3(T}").offset, 3);
    }

    #[test]
    fn non_finite_numbers() {
        for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let e = err(&cat(&[b"d", &x.to_be_bytes()]));
            assert_eq!(e.offset, 1);
            assert!(e.message.contains("non-finite"), "{e}");
            let e = err(&f32_array(&[1.0, 2.0, x]));
            assert_eq!(e.offset, 13 + 8);
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(err(&cat(&[b"[D", &x.to_be_bytes(), b"]"])).offset, 2);
            assert_eq!(err(&cat(&[b"[$D#i\x01", &x.to_be_bytes()])).offset, 6);
        }
    }

    #[test]
    fn trailing_bytes() {
        let e = err(b"TT");
        assert_eq!(e, UbjError { offset: 1, message: "1 trailing byte(s) after the root value".into() });
        assert_eq!(err(b"[]N").offset, 2);
        assert_eq!(err(b"{}}").offset, 2);
        let mut doc = xgboost_like();
        let n = doc.len();
        doc.push(0);
        assert_eq!(err(&doc).offset, n);
    }

    #[test]
    fn display() {
        let e = err(b"TT");
        assert_eq!(e.to_string(), "UBJSON byte 1: 1 trailing byte(s) after the root value");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().starts_with("UBJSON byte 1"));
    }

    /// xorshift64*: deterministic, dependency-free randomness.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // Mostly markers and small numbers, so inputs get past the first byte.
        const ALPHABET: &[u8] = b"[]{}$#ZTFNiUIlLdDCSH\x00\x01\x02\x03\x7f\x80\xff";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let limits = Limits { max_depth: 16, max_elements: 1 << 16 };
        for round in 0..20_000 {
            let len = rng.below(48);
            let buf: Vec<u8> = (0..len)
                .map(|_| if round % 4 == 0 { rng.next() as u8 } else { ALPHABET[rng.below(ALPHABET.len())] })
                .collect();
            if let Err(e) = parse_with(&buf, &limits) {
                assert!(e.offset <= buf.len(), "{e} for {buf:?}");
            }
        }
    }

    #[test]
    fn mutated_documents_never_panic() {
        let base = xgboost_like();
        let mut rng = Rng(42);
        for _ in 0..20_000 {
            let mut doc = base.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(doc.len());
                doc[i] = rng.next() as u8;
            }
            if let Err(e) = parse(&doc) {
                assert!(e.offset <= doc.len(), "{e}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(&buf);
        }
    }
}
