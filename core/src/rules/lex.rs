//! The rules file's tokens, one line at a time (a rule is one line).

use alloc::string::String;
use alloc::vec::Vec;

use super::RulesError;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Cmp {
    /// How it is written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok<'a> {
    /// A bare word: a keyword or a rule id.
    Word(&'a str),
    /// `:name:`
    Attr(&'a str),
    /// `@name`
    List(&'a str),
    Number(f64),
    Text(String),
    Op(Cmp),
    Open,
    Close,
    Comma,
}

impl Tok<'_> {
    /// How the token reads in an error ("found …").
    pub(super) fn describe(&self) -> String {
        use alloc::format;
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Attr(a) => format!("the attribute `:{a}:`"),
            Tok::List(l) => format!("the list `@{l}`"),
            // Not the value: formatting floats costs the wasm bundle ~20 KB, and the column points at it.
            Tok::Number(_) => String::from("a number"),
            Tok::Text(_) => String::from("a quoted string"),
            Tok::Op(c) => format!("`{}`", c.as_str()),
            Tok::Open => String::from("`(`"),
            Tok::Close => String::from("`)`"),
            Tok::Comma => String::from("`,`"),
        }
    }
}

/// A token and the 1-based column (in characters) where it starts.
pub(super) type Spanned<'a> = (Tok<'a>, u32);

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The tokens of one line (without its comment); `line` is 1-based.
pub(super) fn tokens(text: &str, line: u32) -> Result<Vec<Spanned<'_>>, RulesError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut column = 0u32;
    // `column` counts characters consumed so far; a token starts at column + 1.
    macro_rules! bump {
        () => {{
            column += 1;
            chars.next()
        }};
    }
    while let Some(&(at, c)) = chars.peek() {
        let start = column + 1;
        if c == '#' {
            break;
        }
        if c.is_whitespace() {
            bump!();
            continue;
        }
        let tok = match c {
            '(' => {
                bump!();
                Tok::Open
            }
            ')' => {
                bump!();
                Tok::Close
            }
            ',' => {
                bump!();
                Tok::Comma
            }
            '<' | '>' | '=' | '!' => {
                bump!();
                let eq = matches!(chars.peek(), Some(&(_, '=')));
                if eq {
                    bump!();
                }
                match (c, eq) {
                    ('<', false) => Tok::Op(Cmp::Lt),
                    ('<', true) => Tok::Op(Cmp::Le),
                    ('>', false) => Tok::Op(Cmp::Gt),
                    ('>', true) => Tok::Op(Cmp::Ge),
                    ('=', true) => Tok::Op(Cmp::Eq),
                    ('!', true) => Tok::Op(Cmp::Ne),
                    _ => {
                        let hint = if c == '=' { "`==` (a single `=` is not an operator)" } else { "`!=`" };
                        return Err(RulesError::at(line, start, alloc::format!("expected {hint}")));
                    }
                }
            }
            ':' => {
                bump!();
                let from = at + 1;
                let mut end = None;
                while let Some(&(i, d)) = chars.peek() {
                    bump!();
                    if d == ':' {
                        end = Some(i);
                        break;
                    }
                }
                let Some(end) = end else {
                    return Err(RulesError::at(
                        line,
                        start,
                        "an attribute is written `:name:`; the closing `:` is missing",
                    ));
                };
                if end == from {
                    return Err(RulesError::at(line, start, "an attribute name is empty (`::`)"));
                }
                Tok::Attr(text.get(from..end).unwrap_or(""))
            }
            '@' => {
                bump!();
                let from = at + 1;
                let mut end = from;
                while let Some(&(i, d)) = chars.peek() {
                    if !is_word(d) {
                        break;
                    }
                    end = i + d.len_utf8();
                    bump!();
                }
                if end == from {
                    return Err(RulesError::at(line, start, "expected a list name after `@` (letters, digits, _ . -)"));
                }
                Tok::List(text.get(from..end).unwrap_or(""))
            }
            '"' => {
                bump!();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, d)) = bump!() {
                    match d {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match bump!() {
                            Some((_, e @ ('"' | '\\'))) => s.push(e),
                            _ => {
                                return Err(RulesError::at(
                                    line,
                                    column,
                                    "unknown escape in a string: only \\\" and \\\\ are escapes",
                                ))
                            }
                        },
                        d if d.is_control() => {
                            return Err(RulesError::at(line, column, "a control character inside a string"))
                        }
                        d => s.push(d),
                    }
                }
                if !closed {
                    return Err(RulesError::at(line, start, "a string is not closed (a rule is one line)"));
                }
                Tok::Text(s)
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let from = at;
                let mut end = at;
                let mut prev = ' ';
                while let Some(&(i, d)) = chars.peek() {
                    let sign_ok = (d == '-' || d == '+') && (i == from || matches!(prev, 'e' | 'E'));
                    if !(d.is_ascii_digit() || d == '.' || d == 'e' || d == 'E' || sign_ok) {
                        break;
                    }
                    prev = d;
                    end = i + 1;
                    bump!();
                }
                let literal = text.get(from..end).unwrap_or("");
                match decimal(literal) {
                    Ok(x) => Tok::Number(x),
                    Err(why) => return Err(RulesError::at(line, start, alloc::format!("`{literal}` {why}"))),
                }
            }
            c if is_word_start(c) => {
                let from = at;
                let mut end = at;
                while let Some(&(i, d)) = chars.peek() {
                    if !is_word(d) {
                        break;
                    }
                    end = i + d.len_utf8();
                    bump!();
                }
                Tok::Word(text.get(from..end).unwrap_or(""))
            }
            other => {
                return Err(RulesError::at(
                    line,
                    start,
                    // (Not `escape_debug`: its Unicode tables cost the wasm bundle ~4 KB.)
                    if other.is_ascii_graphic() {
                        alloc::format!("unexpected character `{other}`")
                    } else {
                        alloc::format!("unexpected character U+{:04X}", other as u32)
                    },
                ));
            }
        };
        out.push((tok, start));
    }
    Ok(out)
}

/// A decimal literal (`-12`, `0.25`, `1e9`, `.5`, `3E-4`,
/// `0.026201189045761717`) as the `f64` nearest to it (ties to even): the
/// value `str::parse` gives, so a threshold written as its shortest
/// round-trip decimal reads back as the very same bits. At most 19
/// significant digits, and the value's exponent within 10^-38..10^38 of its
/// digits. (Not `str::parse`: its tables cost the wasm bundle ~18 KB.)
pub(crate) fn decimal(literal: &str) -> Result<f64, &'static str> {
    const NOT_A_NUMBER: &str = "is not a number";
    const BEYOND: &str = "is beyond what a rule compares (10^-38 to 10^38 of its digits)";
    let bytes = literal.as_bytes();
    let (negative, mut i) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let (mut mantissa, mut scale, mut digits, mut dot, mut seen) = (0u64, 0i32, 0u32, false, false);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                seen = true;
                // A leading zero adds no significant digit.
                if mantissa != 0 || b != b'0' {
                    digits += 1;
                    if digits > 19 {
                        return Err("has too many significant digits (at most 19)");
                    }
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                }
                if dot {
                    scale -= 1;
                }
            }
            b'.' if !dot => dot = true,
            b'e' | b'E' => break,
            _ => return Err(NOT_A_NUMBER),
        }
        i += 1;
    }
    if !seen {
        return Err(NOT_A_NUMBER);
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let (minus, from) = match bytes.get(i) {
            Some(b'-') => (true, i + 1),
            Some(b'+') => (false, i + 1),
            _ => (false, i),
        };
        let exponent = bytes.get(from..).filter(|e| !e.is_empty() && e.len() <= 4 && e.iter().all(u8::is_ascii_digit));
        let Some(exponent) = exponent else { return Err(NOT_A_NUMBER) };
        let e = exponent.iter().fold(0i32, |e, &d| e * 10 + i32::from(d - b'0'));
        scale += if minus { -e } else { e };
    }
    let value = if mantissa == 0 {
        0.0
    } else if scale >= 0 {
        // An integer: exact in u128, and the cast rounds to nearest, ties to even.
        let mut n = u128::from(mantissa);
        for _ in 0..scale {
            n = n.checked_mul(10).ok_or(BEYOND)?;
        }
        n as f64
    } else if scale >= -38 {
        divided(mantissa, 10u128.pow(scale.unsigned_abs()))
    } else {
        return Err(BEYOND);
    };
    Ok(if negative { -value } else { value })
}

/// `m / d` rounded to the nearest `f64` (ties to even), for `m >= 1` and
/// `1 <= d < 2^127`: binary long division to 54 significant bits, the rest
/// only as "not zero" (the sticky bit), then one rounding.
fn divided(m: u64, d: u128) -> f64 {
    let mut q = u128::from(m) / d; // the integer part, below 2^64
    let mut r = u128::from(m) % d;
    // The value is q * 2^exp plus r / d * 2^exp; take fraction bits until q has 54 significant bits.
    let mut exp: i32 = 0;
    while q < (1u128 << 53) {
        r <<= 1; // r < d < 2^127: no overflow
        q <<= 1;
        exp -= 1;
        if r >= d {
            r -= d;
            q |= 1;
        }
    }
    // Too many bits (a large integer part): fold the extra ones into the sticky bit.
    let mut sticky = r != 0;
    while q >= (1u128 << 54) {
        sticky |= q & 1 == 1;
        q >>= 1;
        exp += 1;
    }
    // q has exactly 54 bits: 53 to keep and a guard bit.
    let guard = q & 1 == 1;
    let mut kept = (q >> 1) as u64;
    exp += 1;
    if guard && (sticky || kept & 1 == 1) {
        kept += 1;
        if kept == 1u64 << 53 {
            kept >>= 1;
            exp += 1;
        }
    }
    // kept < 2^53 is exact in f64; 2^exp is a normal power of two here (exp within about -190..64).
    kept as f64 * f64::from_bits(((exp + 1023) as u64) << 52)
}
