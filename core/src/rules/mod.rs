//! The decision layer over the model: a rules file and its lists, compiled
//! once against a model's schema, deciding `accept`, `review` or `refuse`
//! for every transaction the same way on every runtime.
//!
//! **Why in core.** The browser, the Worker, the server, the file scorer and
//! the consumers must take the same action for the same row, and an analyst
//! backtests a rule in the page on the very code that will run it. So the
//! language is parsed, type checked and evaluated here, `no_std`.
//!
//! ```text
//! # comments start with #; a rule is one line
//! version 2026-12-01.1
//! accept  trusted      if :id: in @trusted_ids
//! refuse  high_score   if :probability: >= 0.80
//! review  mid_band     if :probability: >= 0.05 and :amount: >= 30
//! shadow refuse night  if :hour: in (1, 2, 3, 4) and :probability: >= 0.3
//! ```
//!
//! **Order** (Stripe Radar's): every `accept` rule, then `refuse`, then
//! `review`, each in file order; the first that matches decides. No match:
//! the model's policy decides (accept or refuse), so an empty file is the
//! model alone. `shadow` rules are evaluated and reported, never decide.
//!
//! **Attributes**: any schema feature by name, `:probability:` (calibrated),
//! `:model_decision:` (`"accept"` or `"refuse"`), `:expected_loss:`
//! (probability × the cost of accepting a fraud of this amount) and `:id:`
//! (text). Numbers compare with `< <= > >= == !=`; categories, ids and the
//! model's decision with `==` and `!=`; all with `in (…)`, `in @list` and
//! `not in`; `is missing`, `is not missing`; `and`, `or`, `not`, parentheses.
//!
//! **Missing values**: a comparison with a missing value is false — `!=` and
//! `not in` too — so a rule never fires on what it cannot see; `not` inverts
//! the result, and `is missing` asks directly.
//!
//! **Load errors, never scoring surprises**: an unknown attribute or list, a
//! string compared with a number, an ordering of categories, a category the
//! model does not know (it would be scored as "other") are errors naming the
//! line and column and what was expected. A list line the model cannot know
//! (a category it never saw) matches nothing and is reported in
//! [`RuleSet::notes`]. Limits bound the work a transaction costs.

mod backtest;
mod compile;
mod eval;
#[cfg(feature = "std")]
mod file;
mod lex;
#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use backtest::{Backtest, RuleTally};
use compile::{category_code, list_literal, ListUse, Lit as ListLiteral, Parser, Resolved};
pub use eval::Facts;
use eval::{CodeSet, Cond, Sets};
#[cfg(feature = "std")]
pub use file::{RulesFileError, RulesFiles, MAX_LIST_FILE_BYTES};
pub use lex::Cmp;

use crate::schema::Schema;

/// Most rules in a file (shadow ones included).
pub const MAX_RULES: usize = 256;
/// Largest rules file, in bytes.
pub const MAX_RULES_BYTES: usize = 1 << 20;
/// Most comparisons in one rule.
pub const MAX_TERMS: usize = 64;
/// Deepest nesting of `not` and parentheses.
pub const MAX_DEPTH: usize = 16;
/// Most values in one `in (…)`.
pub const MAX_INLINE_VALUES: usize = 1024;
/// Most lists.
pub const MAX_LISTS: usize = 64;
/// Most lines in one list.
pub const MAX_LIST_ENTRIES: usize = 1_000_000;
/// Longest rule id, list name, version or list line, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

/// Words a rule id cannot be.
const KEYWORDS: [&str; 12] =
    ["if", "and", "or", "not", "in", "is", "missing", "shadow", "version", "accept", "review", "refuse"];

/// What a decision does with the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Let it through.
    Accept,
    /// Hold it for an analyst.
    Review,
    /// Block it.
    Refuse,
}

impl Action {
    /// Every action, in report order.
    pub const ALL: [Action; 3] = [Action::Accept, Action::Review, Action::Refuse];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Review => "review",
            Action::Refuse => "refuse",
        }
    }

    /// The action of a wire spelling.
    pub fn from_name(name: &str) -> Option<Action> {
        match name {
            "accept" => Some(Action::Accept),
            "review" => Some(Action::Review),
            "refuse" => Some(Action::Refuse),
            _ => None,
        }
    }

    /// The model's own decision as an action.
    pub const fn of_model(refuse: bool) -> Action {
        if refuse {
            Action::Refuse
        } else {
            Action::Accept
        }
    }

    /// Where rules of this action stand in the evaluation order.
    const fn rank(self) -> u8 {
        match self {
            Action::Accept => 0,
            Action::Refuse => 1,
            Action::Review => 2,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a rules file (or one of its lists) was refused; the whole file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesError {
    /// 1-based line in the rules file (0 when the file as a whole is wrong).
    pub line: u32,
    /// 1-based column, in characters (0 when the whole line is meant).
    pub column: u32,
    /// What was expected or what is wrong.
    pub message: String,
}

impl RulesError {
    fn at(line: u32, column: u32, message: impl Into<String>) -> RulesError {
        RulesError { line, column, message: message.into() }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => f.write_str(&self.message),
            (l, 0) => write!(f, "line {l}: {}", self.message),
            (l, c) => write!(f, "line {l}, column {c}: {}", self.message),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RulesError {}

/// One compiled rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    id: String,
    action: Action,
    shadow: bool,
    line: u32,
    cond: Cond,
}

impl Rule {
    /// Its id (unique in the file).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What it does when it matches.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Evaluated and reported, never deciding.
    pub fn is_shadow(&self) -> bool {
        self.shadow
    }

    /// Its line in the file.
    pub fn line(&self) -> u32 {
        self.line
    }
}

/// Which shadow rules matched, as a bit set of rule indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShadowHits([u64; MAX_RULES / 64]);

impl ShadowHits {
    fn insert(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }

    /// True when none matched.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// The indices of the rules that matched, in file order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_RULES).filter(|&i| self.0[i >> 6] & (1 << (i & 63)) != 0)
    }
}

/// The decision for one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What happens to it.
    pub action: Action,
    /// The index of the rule that decided ([`RuleSet::rule`]), or `None` when the model did.
    pub rule: Option<u16>,
    /// Shadow rules that matched.
    pub shadow: ShadowHits,
}

/// A rules file compiled against one schema, with its lists.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSet {
    version: String,
    rules: Vec<Rule>,
    /// Indices of the deciding rules, in evaluation order.
    deciding: Vec<u16>,
    /// Indices of the shadow rules.
    shadow: Vec<u16>,
    sets: Sets,
    notes: Vec<String>,
}

/// The lists a rules file may name, as their files' text, and the sets
/// built from them while compiling.
pub(crate) struct Lists {
    raw: Vec<(String, Vec<String>)>,
    sets: Sets,
    notes: Vec<String>,
}

impl Lists {
    fn new(lists: &[(&str, &str)]) -> Result<Lists, RulesError> {
        if lists.len() > MAX_LISTS {
            return Err(RulesError::at(0, 0, format!("{} lists given, at most {MAX_LISTS}", lists.len())));
        }
        let mut raw: Vec<(String, Vec<String>)> = Vec::with_capacity(lists.len());
        for &(name, text) in lists {
            if name.is_empty()
                || name.len() > MAX_NAME_BYTES
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            {
                return Err(RulesError::at(
                    0,
                    0,
                    format!(
                        "list name `{}` must be 1 to {MAX_NAME_BYTES} letters, digits, _ . -",
                        if name.bytes().all(|b| b.is_ascii_graphic()) { name } else { "…" }
                    ),
                ));
            }
            if raw.iter().any(|(n, _)| n == name) {
                return Err(RulesError::at(0, 0, format!("list `{name}` is given twice")));
            }
            let mut entries = Vec::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.len() > MAX_NAME_BYTES || line.chars().any(char::is_control) {
                    return Err(RulesError::at(
                        0,
                        0,
                        format!(
                            "list `{name}`, line {}: a value is at most {MAX_NAME_BYTES} bytes of printable text",
                            n + 1
                        ),
                    ));
                }
                entries.push(String::from(line));
                if entries.len() > MAX_LIST_ENTRIES {
                    return Err(RulesError::at(0, 0, format!("list `{name}` has more than {MAX_LIST_ENTRIES} values")));
                }
            }
            raw.push((String::from(name), entries));
        }
        Ok(Lists { raw, sets: Sets::default(), notes: Vec::new() })
    }

    fn intern_numbers(&mut self, mut set: Vec<f64>) -> u32 {
        for v in &mut set {
            *v += 0.0;
        }
        crate::sort::heap_sort_by(&mut set, |a, b| a.total_cmp(b).is_lt());
        set.dedup();
        self.sets.numbers.push(set);
        (self.sets.numbers.len() - 1) as u32
    }

    fn intern_ids(&mut self, mut set: Vec<String>) -> u32 {
        crate::sort::heap_sort_by(&mut set, |a, b| a < b);
        set.dedup();
        self.sets.ids.push(set);
        (self.sets.ids.len() - 1) as u32
    }

    /// A named list read as `use_` needs; the message names the list and line.
    fn resolve(&mut self, name: &str, use_: ListUse<'_>) -> Result<Resolved, String> {
        let Some(at) = self.raw.iter().position(|(n, _)| n == name) else {
            let mut known: Vec<&str> = self.raw.iter().map(|(n, _)| n.as_str()).collect();
            crate::sort::insertion_sort_by(&mut known, |a, b| a < b);
            let known = if known.is_empty() {
                String::from("no lists were given")
            } else {
                format!("lists: {}", known.join(", "))
            };
            return Err(format!("no list named `{name}` ({known})"));
        };
        let entries = core::mem::take(&mut self.raw[at].1);
        let result = self.read(name, &entries, use_);
        self.raw[at].1 = entries;
        result
    }

    fn read(&mut self, name: &str, entries: &[String], use_: ListUse<'_>) -> Result<Resolved, String> {
        match use_ {
            ListUse::Ids => Ok(Resolved::Ids(self.intern_ids(entries.to_vec()))),
            ListUse::Numbers => {
                let mut set = Vec::with_capacity(entries.len());
                for (i, e) in entries.iter().enumerate() {
                    match lex::decimal(e) {
                        Ok(x) => set.push(x),
                        Err(why) => return Err(format!("list `{name}`, value {}: `{e}` {why}", i + 1)),
                    }
                }
                Ok(Resolved::Numbers(self.intern_numbers(set)))
            }
            ListUse::Codes { feature, categories } => {
                let mut codes = CodeSet::default();
                let mut unknown = Vec::new();
                for e in entries {
                    let lit = list_literal(e, use_);
                    match (&lit, category_code(categories, &lit)) {
                        (_, Ok(c)) => codes.insert(c),
                        (ListLiteral::Text(_), Err(_)) if !categories.is_text() => {
                            return Err(format!(
                                "list `{name}`: `{e}` is not a number, and `:{feature}:`'s categories are numbers"
                            ))
                        }
                        (_, Err(_)) => unknown.push(e.as_str()),
                    }
                }
                if !unknown.is_empty() {
                    let shown: Vec<&str> = unknown.iter().copied().take(5).collect();
                    self.notes.push(format!(
                        "list `{name}`: {} value(s) the model never saw for `:{feature}:` match nothing (it scores them as \"other\"): {}{}",
                        unknown.len(),
                        shown.join(", "),
                        if unknown.len() > shown.len() { ", …" } else { "" }
                    ));
                }
                Ok(Resolved::Codes(codes))
            }
        }
    }
}

impl RuleSet {
    /// Compiles a rules file against `schema`, with the lists it may name as
    /// `(name, file text)`. Either every rule compiles, or nothing is used.
    pub fn compile(text: &str, lists: &[(&str, &str)], schema: &Schema) -> Result<RuleSet, RulesError> {
        if text.len() > MAX_RULES_BYTES {
            return Err(RulesError::at(
                0,
                0,
                format!("the rules file is {} bytes, at most {MAX_RULES_BYTES}", text.len()),
            ));
        }
        let mut lists = Lists::new(lists)?;
        let mut version = None;
        let mut rules: Vec<Rule> = Vec::new();
        for (n, raw_line) in text.lines().enumerate() {
            let line = (n + 1) as u32;
            let trimmed = raw_line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("version") {
                if rest.is_empty() || rest.starts_with(char::is_whitespace) || rest.starts_with('#') {
                    let column = (raw_line.chars().count() - trimmed.chars().count()) as u32 + 1;
                    if version.is_some() {
                        return Err(RulesError::at(line, column, "a second `version` line"));
                    }
                    version = Some(version_of(rest, line, column)?);
                    continue;
                }
            }
            let toks = lex::tokens(raw_line, line)?;
            if toks.is_empty() {
                continue;
            }
            let end_column = raw_line.chars().count() as u32 + 1;
            let mut p = Parser::new(&toks, line, end_column, schema, &mut lists);
            let shadow = matches!(toks[0].0, lex::Tok::Word("shadow"));
            if shadow {
                p.expect_word("shadow")?;
            }
            let (word, column) = p.word("an action: accept, review or refuse (or `shadow`, or `version`)")?;
            let Some(action) = Action::from_name(word) else {
                return Err(RulesError::at(
                    line,
                    column,
                    format!("expected an action (accept, review or refuse), found `{word}`"),
                ));
            };
            let (id, column) = p.word("a rule id (a letter or _, then letters, digits, _ . -)")?;
            if KEYWORDS.contains(&id) {
                return Err(RulesError::at(line, column, format!("expected a rule id, found the keyword `{id}`")));
            }
            if id.len() > MAX_NAME_BYTES {
                return Err(RulesError::at(line, column, format!("a rule id is at most {MAX_NAME_BYTES} bytes")));
            }
            if let Some(other) = rules.iter().find(|r| r.id == id) {
                return Err(RulesError::at(
                    line,
                    column,
                    format!("rule id `{id}` is already used on line {}", other.line),
                ));
            }
            if rules.len() == MAX_RULES {
                return Err(RulesError::at(line, 0, format!("more than {MAX_RULES} rules")));
            }
            p.expect_word("if")?;
            let cond = p.expr(0)?;
            p.finish()?;
            rules.push(Rule { id: String::from(id), action, shadow, line, cond });
        }
        let mut deciding: Vec<u16> = (0..rules.len() as u16).filter(|&i| !rules[i as usize].shadow).collect();
        crate::sort::insertion_sort_by(&mut deciding, |&a, &b| {
            rules[a as usize].action.rank() < rules[b as usize].action.rank()
        });
        let shadow = (0..rules.len() as u16).filter(|&i| rules[i as usize].shadow).collect();
        let version = version.unwrap_or_else(|| sha256_hex(text.as_bytes()));
        Ok(RuleSet { version, rules, deciding, shadow, sets: lists.sets, notes: lists.notes })
    }

    /// The empty rule set: the model decides alone.
    pub fn empty() -> RuleSet {
        RuleSet {
            version: sha256_hex(b""),
            rules: Vec::new(),
            deciding: Vec::new(),
            shadow: Vec::new(),
            sets: Sets::default(),
            notes: Vec::new(),
        }
    }

    /// The `version` line's value, or the file's SHA-256 (hex).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Rule `i` (an index from a [`Verdict`]).
    pub fn rule(&self, i: usize) -> &Rule {
        &self.rules[i]
    }

    /// True when the file has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What compiled but deserves a look (list values that can match nothing).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The decision for one transaction.
    #[inline]
    pub fn decide(&self, facts: &Facts<'_>) -> Verdict {
        let mut verdict = Verdict { action: Action::of_model(facts.refuse), rule: None, shadow: ShadowHits::default() };
        for &i in &self.deciding {
            let rule = &self.rules[i as usize];
            if rule.cond.eval(facts, &self.sets) {
                verdict.action = rule.action;
                verdict.rule = Some(i);
                break;
            }
        }
        for &i in &self.shadow {
            if self.rules[i as usize].cond.eval(facts, &self.sets) {
                verdict.shadow.insert(i as usize);
            }
        }
        verdict
    }

    /// The decision for a validated row of `model` with its probability and
    /// its policy's decision (`refuse`); the model's costs give `:expected_loss:`.
    #[inline]
    pub fn verdict(
        &self,
        model: &crate::Model,
        row: &[f64],
        id: Option<&str>,
        probability: f64,
        refuse: bool,
    ) -> Verdict {
        self.decide(&facts_of(model, row, id, probability, refuse))
    }
}

/// The facts a rule sees for a row of `model`, its probability and its policy's decision.
#[inline]
pub fn facts_of<'a>(
    model: &crate::Model,
    row: &'a [f64],
    id: Option<&'a str>,
    probability: f64,
    refuse: bool,
) -> Facts<'a> {
    let amount = model.amount(row);
    let loss = -model.costs().accepted_fraud.at(amount);
    Facts { row, id, probability, refuse, expected_loss: probability * loss }
}

/// The value of a `version` line, from what follows the word; `column` is the word's.
fn version_of(rest: &str, line: u32, column: u32) -> Result<String, RulesError> {
    let rest = rest.split('#').next().unwrap_or("").trim();
    let column = column + 8;
    if rest.is_empty() {
        return Err(RulesError::at(line, column, "expected the version after `version`"));
    }
    if rest.len() > MAX_NAME_BYTES || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RulesError::at(line, column, format!("a version is one word of at most {MAX_NAME_BYTES} bytes")));
    }
    Ok(String::from(rest))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
