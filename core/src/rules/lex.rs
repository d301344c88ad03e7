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
            Tok::Number(x) => format!("the number {x}"),
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
                Tok::Attr(&text[from..end])
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
                Tok::List(&text[from..end])
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
                let literal = &text[from..end];
                match literal.parse::<f64>() {
                    Ok(x) if x.is_finite() => Tok::Number(x),
                    _ => return Err(RulesError::at(line, start, alloc::format!("`{literal}` is not a finite number"))),
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
                Tok::Word(&text[from..end])
            }
            other => {
                return Err(RulesError::at(
                    line,
                    start,
                    alloc::format!("unexpected character `{}`", other.escape_debug()),
                ))
            }
        };
        out.push((tok, start));
    }
    Ok(out)
}
