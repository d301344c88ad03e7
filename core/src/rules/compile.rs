//! One rule's line → a typed [`Cond`]: the parser and the type checker in one
//! pass, so every attribute, list and constant is resolved against the model's
//! schema at load time and scoring never meets a surprise.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::eval::{CodeSet, Cond, Num};
use super::lex::{Cmp, Spanned, Tok};
use super::{Lists, RulesError, MAX_DEPTH, MAX_INLINE_VALUES, MAX_TERMS};
use crate::categories::{Categories, Vocabulary};
use crate::schema::Schema;

/// What an attribute is, for type checking.
#[derive(Clone, Copy)]
enum Attr<'s> {
    Number(Num),
    Category { feature: u16, categories: &'s Categories, name: &'s str },
    Id,
    ModelDecision,
}

/// A literal as written, with its column.
pub(super) enum Lit {
    Number(f64),
    Text(String),
}

pub(super) struct Parser<'t, 's, 'l> {
    toks: &'t [Spanned<'t>],
    pos: usize,
    line: u32,
    /// Where the line ends, for "expected … at the end of the line".
    end_column: u32,
    schema: &'s Schema,
    pub(super) lists: &'l mut Lists,
    terms: usize,
}

impl<'t, 's, 'l> Parser<'t, 's, 'l> {
    pub(super) fn new(
        toks: &'t [Spanned<'t>],
        line: u32,
        end_column: u32,
        schema: &'s Schema,
        lists: &'l mut Lists,
    ) -> Self {
        Parser { toks, pos: 0, line, end_column, schema, lists, terms: 0 }
    }

    fn peek(&self) -> Option<&Tok<'t>> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> u32 {
        self.toks.get(self.pos).map_or(self.end_column, |&(_, c)| c)
    }

    fn error(&self, message: impl Into<String>) -> RulesError {
        RulesError::at(self.line, self.column(), message)
    }

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> RulesError {
        let found = self.peek().map_or_else(|| String::from("the end of the line"), Tok::describe);
        self.error(format!("expected {what}, found {found}"))
    }

    fn next(&mut self) -> Option<Tok<'t>> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Word(w)) if *w == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn word(&mut self, what: &str) -> Result<(&'t str, u32), RulesError> {
        match self.toks.get(self.pos) {
            Some(&(Tok::Word(w), c)) => {
                self.pos += 1;
                Ok((w, c))
            }
            _ => Err(self.expected(what)),
        }
    }

    pub(super) fn expect_word(&mut self, word: &str) -> Result<(), RulesError> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{word}`")))
        }
    }

    pub(super) fn finish(&self) -> Result<(), RulesError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.expected("`and`, `or` or the end of the line")),
        }
    }

    /// `or` of `and`s of unary terms.
    pub(super) fn expr(&mut self, depth: usize) -> Result<Cond, RulesError> {
        let mut any = alloc::vec![self.and(depth)?];
        while self.eat_word("or") {
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 { any.pop().expect("one term") } else { Cond::Any(any) })
    }

    fn and(&mut self, depth: usize) -> Result<Cond, RulesError> {
        let mut all = alloc::vec![self.unary(depth)?];
        while self.eat_word("and") {
            all.push(self.unary(depth)?);
        }
        Ok(if all.len() == 1 { all.pop().expect("one term") } else { Cond::All(all) })
    }

    fn unary(&mut self, depth: usize) -> Result<Cond, RulesError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep (`not` and parentheses)")));
        }
        if self.eat_word("not") {
            return Ok(Cond::Not(Box::new(self.unary(depth + 1)?)));
        }
        if matches!(self.peek(), Some(Tok::Open)) {
            self.pos += 1;
            let inner = self.expr(depth + 1)?;
            if !matches!(self.peek(), Some(Tok::Close)) {
                return Err(self.expected("`)`"));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.comparison()
    }

    fn attribute(&mut self) -> Result<(Attr<'s>, &'t str, u32), RulesError> {
        let Some(&(Tok::Attr(name), column)) = self.toks.get(self.pos) else {
            return Err(self.expected("an attribute (`:name:`), `not` or `(`"));
        };
        let attr = match name {
            "probability" => Attr::Number(Num::Probability),
            "expected_loss" => Attr::Number(Num::ExpectedLoss),
            "model_decision" => Attr::ModelDecision,
            "id" => Attr::Id,
            _ => match self.schema.index(name) {
                Some(i) => match self.schema.categories(i) {
                    Some(categories) => Attr::Category { feature: i as u16, categories, name: self.schema.name(i) },
                    None => Attr::Number(Num::Feature(i as u16)),
                },
                None => {
                    return Err(self.error(format!(
                        "unknown attribute `:{name}:`: not one of the model's {} features, nor probability, \
                         model_decision, expected_loss or id",
                        self.schema.len()
                    )))
                }
            },
        };
        self.pos += 1;
        Ok((attr, name, column))
    }

    fn comparison(&mut self) -> Result<Cond, RulesError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.error(format!("a rule has more than {MAX_TERMS} comparisons")));
        }
        let (attr, name, _) = self.attribute()?;
        if self.eat_word("is") {
            let negated = self.eat_word("not");
            self.expect_word("missing")?;
            let cond = match attr {
                Attr::Number(Num::Feature(f)) | Attr::Category { feature: f, .. } => Cond::Missing(f),
                Attr::Id => Cond::IdMissing,
                _ => return Err(self.error(format!("`:{name}:` is never missing"))),
            };
            return Ok(if negated { Cond::Not(Box::new(cond)) } else { cond });
        }
        let negated = self.eat_word("not");
        if negated || matches!(self.peek(), Some(Tok::Word("in"))) {
            self.expect_word("in")?;
            return self.membership(attr, name, negated);
        }
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            return Err(self.expected("an operator (< <= > >= == !=), `in`, `not in` or `is missing`"));
        };
        self.pos += 1;
        let column = self.column();
        let lit = self.literal()?;
        match attr {
            Attr::Number(x) => match lit {
                Lit::Number(v) => Ok(Cond::Cmp { x, op, v }),
                Lit::Text(_) => Err(RulesError::at(
                    self.line,
                    column,
                    format!("`:{name}:` is a number and cannot be compared with a string"),
                )),
            },
            Attr::Category { feature, .. } => {
                let negated = match op {
                    Cmp::Eq => false,
                    Cmp::Ne => true,
                    _ => {
                        return Err(RulesError::at(
                            self.line,
                            column,
                            format!("`:{name}:` is categorical: only ==, !=, in and not in compare categories"),
                        ))
                    }
                };
                let mut set = CodeSet::default();
                set.insert(self.code(attr, &lit, column)?);
                Ok(Cond::Category { feature, set, negated })
            }
            Attr::Id | Attr::ModelDecision => {
                let negated = match op {
                    Cmp::Eq => false,
                    Cmp::Ne => true,
                    _ => {
                        return Err(RulesError::at(
                            self.line,
                            column,
                            format!("`:{name}:` compares with == and != only"),
                        ))
                    }
                };
                let Lit::Text(text) = lit else {
                    return Err(RulesError::at(
                        self.line,
                        column,
                        format!("`:{name}:` is text: write the value in double quotes"),
                    ));
                };
                if let Attr::ModelDecision = attr {
                    let refuse = decision_value(&text).ok_or_else(|| {
                        RulesError::at(self.line, column, "`:model_decision:` is \"accept\" or \"refuse\"")
                    })?;
                    return Ok(if negated {
                        Cond::Not(Box::new(Cond::Decision(refuse)))
                    } else {
                        Cond::Decision(refuse)
                    });
                }
                let set = self.lists.intern_ids(alloc::vec![text]);
                Ok(Cond::Id { set, negated })
            }
        }
    }

    fn literal(&mut self) -> Result<Lit, RulesError> {
        match self.next() {
            Some(Tok::Number(x)) => Ok(Lit::Number(x)),
            Some(Tok::Text(s)) => Ok(Lit::Text(s)),
            _ => {
                self.pos -= 1;
                Err(self.expected("a number or a quoted string"))
            }
        }
    }

    /// A category's code, refusing values the model does not know.
    fn code(&self, attr: Attr<'s>, lit: &Lit, column: u32) -> Result<usize, RulesError> {
        let Attr::Category { categories, name, .. } = attr else { unreachable!("only categories have codes") };
        let code = category_code(categories, lit)
            .map_err(|why| RulesError::at(self.line, column, format!("`:{name}:` is categorical and {why}")))?;
        Ok(code)
    }

    /// `in (v, …)` or `in @list`, after `in`.
    fn membership(&mut self, attr: Attr<'s>, name: &str, negated: bool) -> Result<Cond, RulesError> {
        if let Some(&(Tok::List(list), column)) = self.toks.get(self.pos) {
            self.pos += 1;
            let resolved =
                self.lists.resolve(list, attr_kind(attr)).map_err(|why| RulesError::at(self.line, column, why))?;
            return Ok(match (attr, resolved) {
                (Attr::Number(x), Resolved::Numbers(set)) => Cond::NumberIn { x, set, negated },
                (Attr::Category { feature, .. }, Resolved::Codes(set)) => Cond::Category { feature, set, negated },
                (Attr::Id, Resolved::Ids(set)) => Cond::Id { set, negated },
                _ => {
                    return Err(RulesError::at(self.line, column, format!("`:{name}:` cannot be looked up in a list")))
                }
            });
        }
        if !matches!(self.peek(), Some(Tok::Open)) {
            return Err(self.expected("`(` and values, or a list (`@name`)"));
        }
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            let column = self.column();
            values.push((self.literal()?, column));
            if values.len() > MAX_INLINE_VALUES {
                return Err(RulesError::at(
                    self.line,
                    column,
                    format!("more than {MAX_INLINE_VALUES} values in `in (…)`"),
                ));
            }
            match self.next() {
                Some(Tok::Comma) => continue,
                Some(Tok::Close) => break,
                _ => {
                    self.pos -= 1;
                    return Err(self.expected("`,` or `)`"));
                }
            }
        }
        match attr {
            Attr::Number(x) => {
                let mut set = Vec::with_capacity(values.len());
                for (lit, column) in values {
                    match lit {
                        Lit::Number(v) => set.push(v),
                        Lit::Text(_) => {
                            return Err(RulesError::at(
                                self.line,
                                column,
                                format!("`:{name}:` is a number and cannot be compared with a string"),
                            ))
                        }
                    }
                }
                Ok(Cond::NumberIn { x, set: self.lists.intern_numbers(set), negated })
            }
            Attr::Category { feature, .. } => {
                let mut set = CodeSet::default();
                for (lit, column) in &values {
                    set.insert(self.code(attr, lit, *column)?);
                }
                Ok(Cond::Category { feature, set, negated })
            }
            Attr::Id => {
                let mut ids = Vec::with_capacity(values.len());
                for (lit, column) in values {
                    match lit {
                        Lit::Text(s) => ids.push(s),
                        Lit::Number(_) => {
                            return Err(RulesError::at(
                                self.line,
                                column,
                                "`:id:` is text: write the value in double quotes",
                            ))
                        }
                    }
                }
                Ok(Cond::Id { set: self.lists.intern_ids(ids), negated })
            }
            Attr::ModelDecision => Err(self.error("`:model_decision:` compares with == and != only")),
        }
    }
}

/// What a list is looked up against, which decides how its lines are read.
#[derive(Clone, Copy)]
pub(super) enum ListUse<'s> {
    Numbers,
    Codes { feature: &'s str, categories: &'s Categories },
    Ids,
}

/// A list read for one use.
pub(super) enum Resolved {
    Numbers(u32),
    Codes(CodeSet),
    Ids(u32),
}

fn attr_kind(attr: Attr<'_>) -> ListUse<'_> {
    match attr {
        Attr::Number(_) => ListUse::Numbers,
        Attr::Category { categories, name, .. } => ListUse::Codes { feature: name, categories },
        Attr::Id | Attr::ModelDecision => ListUse::Ids,
    }
}

fn decision_value(text: &str) -> Option<bool> {
    match text {
        "refuse" => Some(true),
        "accept" => Some(false),
        _ => None,
    }
}

/// The code of a category written as `lit`, or why there is none. A value
/// the model never saw is refused: it is scored as "other", so a rule could
/// not tell it from any other unseen value.
pub(super) fn category_code(categories: &Categories, lit: &Lit) -> Result<usize, String> {
    let (code, shown) = match (lit, categories.vocabulary()) {
        (Lit::Text(s), Vocabulary::Text(_)) => (categories.code_of_text(s), format!("\"{s}\"")),
        // (The number is not formatted: that costs the wasm bundle ~20 KB; the column points at it.)
        (Lit::Number(x), Vocabulary::Numbers(_)) => (categories.code_of_number(*x), String::from("this number")),
        (Lit::Number(_), Vocabulary::Text(_)) => {
            return Err(String::from("its categories are text: write the value in double quotes"))
        }
        (Lit::Text(_), Vocabulary::Numbers(_)) => {
            return Err(String::from("its categories are numbers: write the value without quotes"))
        }
    };
    match code {
        Some(c) if c != categories.other() => Ok(c),
        _ => Err(format!(
            "{shown} is not one of its {} categories the model knows (a value it never saw is scored as \"other\")",
            categories.vocabulary().len()
        )),
    }
}

/// A list line as a literal of the kind `use_` needs.
pub(super) fn list_literal(line: &str, use_: ListUse<'_>) -> Lit {
    match use_ {
        ListUse::Numbers => super::lex::decimal(line).map_or_else(|_| Lit::Text(String::from(line)), Lit::Number),
        ListUse::Codes { categories, .. } if !categories.is_text() => {
            super::lex::decimal(line).map_or_else(|_| Lit::Text(String::from(line)), Lit::Number)
        }
        _ => Lit::Text(String::from(line)),
    }
}
