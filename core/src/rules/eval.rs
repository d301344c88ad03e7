//! Compiled conditions and their evaluation: plain comparisons on the row's
//! `f64`s, a bit set for category codes, binary search in sorted sets. No
//! allocation and a bounded number of steps per transaction.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::lex::Cmp;

/// What the rules see of one transaction.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The validated row, in schema order (NaN = missing, a category = its code).
    pub row: &'a [f64],
    /// The caller's transaction id as text (a JSON number as its decimal), if any.
    pub id: Option<&'a str>,
    /// The calibrated probability of fraud.
    pub probability: f64,
    /// The model's policy refuses.
    pub refuse: bool,
    /// `probability ×` the cost of accepting a fraud of this amount.
    pub expected_loss: f64,
}

/// A number a rule compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// A numeric feature, by schema index.
    Feature(u16),
    /// `:probability:`
    Probability,
    /// `:expected_loss:`
    ExpectedLoss,
}

/// The codes a category condition matches (a category feature has at most 256 codes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodeSet([u64; 4]);

impl CodeSet {
    pub(super) fn insert(&mut self, code: usize) {
        self.0[(code >> 6) & 3] |= 1 << (code & 63);
    }

    #[inline]
    fn contains(&self, code: f64) -> bool {
        // Codes are validated integers in 0..=255; anything else matches nothing.
        if !(0.0..256.0).contains(&code) {
            return false;
        }
        let c = code as usize;
        self.0[c >> 6] & (1 << (c & 63)) != 0
    }
}

/// A compiled condition. A comparison with a missing value is false, `!=`
/// and `not in` included; `not` inverts whatever its operand gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// `x op v`.
    Cmp { x: Num, op: Cmp, v: f64 },
    /// `x in set` (an interned sorted set of numbers), or `not in`.
    NumberIn { x: Num, set: u32, negated: bool },
    /// A categorical feature's code in `set`, or not.
    Category { feature: u16, set: CodeSet, negated: bool },
    /// The id in an interned sorted set of strings, or not.
    Id { set: u32, negated: bool },
    /// `:model_decision: == "refuse"` (true) or `"accept"` (false).
    Decision(bool),
    /// `:feature: is missing`
    Missing(u16),
    /// `:id: is missing`
    IdMissing,
    /// `not c`
    Not(Box<Cond>),
    /// Every one (`and`).
    All(Vec<Cond>),
    /// Any one (`or`).
    Any(Vec<Cond>),
}

/// The interned sets conditions point into.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Sets {
    /// Sorted, `+0.0`-normalised, deduplicated.
    pub numbers: Vec<Vec<f64>>,
    /// Sorted, deduplicated.
    pub ids: Vec<Vec<String>>,
}

impl Num {
    #[inline]
    fn value(self, f: &Facts<'_>) -> f64 {
        match self {
            Num::Feature(i) => f.row.get(i as usize).copied().unwrap_or(f64::NAN),
            Num::Probability => f.probability,
            Num::ExpectedLoss => f.expected_loss,
        }
    }
}

impl Cond {
    pub(super) fn eval(&self, f: &Facts<'_>, sets: &Sets) -> bool {
        match self {
            Cond::Cmp { x, op, v } => {
                let x = x.value(f);
                match op {
                    Cmp::Lt => x < *v,
                    Cmp::Le => x <= *v,
                    Cmp::Gt => x > *v,
                    Cmp::Ge => x >= *v,
                    Cmp::Eq => x == *v,
                    Cmp::Ne => !x.is_nan() && x != *v,
                }
            }
            Cond::NumberIn { x, set, negated } => {
                let x = x.value(f);
                if x.is_nan() {
                    return false;
                }
                let key = x + 0.0;
                let found = sets.numbers[*set as usize].binary_search_by(|v| v.total_cmp(&key)).is_ok();
                found != *negated
            }
            Cond::Category { feature, set, negated } => {
                let x = f.row.get(*feature as usize).copied().unwrap_or(f64::NAN);
                if x.is_nan() {
                    return false;
                }
                set.contains(x) != *negated
            }
            Cond::Id { set, negated } => match f.id {
                None => false,
                Some(id) => {
                    let found = sets.ids[*set as usize].binary_search_by(|v| v.as_str().cmp(id)).is_ok();
                    found != *negated
                }
            },
            Cond::Decision(refuse) => f.refuse == *refuse,
            Cond::Missing(i) => f.row.get(*i as usize).is_none_or(|x| x.is_nan()),
            Cond::IdMissing => f.id.is_none(),
            Cond::Not(c) => !c.eval(f, sets),
            Cond::All(cs) => cs.iter().all(|c| c.eval(f, sets)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(f, sets)),
        }
    }
}
