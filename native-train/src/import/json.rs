//! XGBoost's JSON model text, read as XGBoost reads it.
//!
//! Not quite JSON: XGBoost writes bare `NaN`, `Infinity` and `-Infinity`, and
//! its reader turns every number with a `.` or an exponent into a **float32**
//! (correctly rounded from the decimal text) and every other number into an
//! int64. So does this reader: a float becomes the exact `f64` of that `f32`
//! (decimal → f64 → f32 could round twice), the three bare words become the
//! strings `"NaN"`, `"Infinity"`, `"-Infinity"` (see [`super::xgboost`]'s
//! number reader). Bounded nesting, errors with a byte offset, never a panic.

use serde_json::{Map, Number, Value};

/// Deepest nesting accepted (an XGBoost model is about 6 deep).
const MAX_DEPTH: usize = 64;

/// A parse error at a byte offset.
#[derive(Debug, PartialEq)]
pub struct JsonError {
    /// Byte offset in the text.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JSON byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for JsonError {}

/// Parses XGBoost's JSON text.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters after the document"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError { offset: self.i, message: message.to_string() }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of text")),
            Some(b'{') => {
                self.i += 1;
                let mut map = Map::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Value::Object(map));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a key string"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    map.insert(key, v);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Value::Object(map));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Value::Array(items));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            Some(b'"') => self.string().map(Value::String),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'N') if self.eat(b"NaN") => Ok(Value::String("NaN".into())),
            Some(b'I') if self.eat(b"Infinity") => Ok(Value::String("Infinity".into())),
            Some(b'-') if self.eat(b"-Infinity") => Ok(Value::String("-Infinity".into())),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        let mut float = false;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.i += 1;
        }
        // The bytes are ASCII digits and signs: valid UTF-8.
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("bad number"))?;
        let bad = || JsonError { offset: start, message: format!("{text:?} is not a number") };
        if float {
            let v = text.parse::<f32>().map_err(|_| bad())?;
            // A decimal beyond f32's range reads as infinity, as XGBoost's `strtof` fallback does.
            Ok(Number::from_f64(v as f64)
                .map_or_else(|| Value::String(if v > 0.0 { "Infinity" } else { "-Infinity" }.into()), Value::Number))
        } else if let Ok(v) = text.parse::<i64>() {
            Ok(Value::Number(v.into()))
        } else {
            // XGBoost keeps integers in int64; beyond it is not a model it wrote.
            Err(bad())
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut code = self.hex4()?;
                            if (0xD800..0xDC00).contains(&code) && self.eat(b"\\u") {
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                }
                            }
                            let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err("unknown escape")),
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("a string that is not UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_float32_and_bare_words_are_read() {
        let v =
            parse(r#"{"a": [1.1E0, 2, -3, NaN, Infinity, -Infinity, 1e40], "b": "x\"\u00e9\ud83d\ude00"}"#).unwrap();
        let a = v["a"].as_array().unwrap();
        assert_eq!(a[0].as_f64(), Some(1.1f32 as f64));
        assert_eq!(a[1].as_i64(), Some(2));
        assert_eq!(a[2].as_i64(), Some(-3));
        assert_eq!(a[3], "NaN");
        assert_eq!(a[4], "Infinity");
        assert_eq!(a[5], "-Infinity");
        assert_eq!(a[6], "Infinity", "beyond f32's range");
        assert_eq!(v["b"], "x\"é😀");
    }

    #[test]
    fn the_decimal_is_rounded_once_to_f32() {
        // Halfway between two f32s plus a hair: read via f64 it would round to even instead.
        let lo = 1.0f32;
        let hi = lo.next_up();
        let mid = (lo as f64 + hi as f64) / 2.0;
        let text = format!("{:.30e}", mid + mid * 1e-17);
        let v = parse(&text).unwrap();
        assert_eq!(v.as_f64(), Some(text.parse::<f32>().unwrap() as f64));
    }

    #[test]
    fn broken_text_is_an_error_never_a_panic() {
        let good = r#"{"learner": {"x": [1.5E0, -2, NaN], "s": "a\u0041"}, "version": [3, 2, 0]}"#;
        assert!(parse(good).is_ok());
        for cut in 0..good.len() {
            assert!(parse(&good[..cut]).is_err(), "prefix of {cut} bytes");
        }
        for bad in ["[1,]", "{\"a\" 1}", "[1 2]", "\"\\q\"", "[--1]", "[1.2.3]", "99999999999999999999", "[1] x", "Na"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"[".repeat(100_000)).is_err());
        let mut state = 7u64;
        for _ in 0..20_000 {
            let mut b = good.as_bytes().to_vec();
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pos = (state >> 33) as usize % b.len();
            b[pos] = (state >> 20) as u8;
            if let Ok(s) = std::str::from_utf8(&b) {
                let _ = parse(s);
            }
        }
    }
}
