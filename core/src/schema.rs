//! The input schema: the ordered features a model scores, which of them is the
//! transaction's amount, and the training file's label and id columns.
//!
//! A schema travels inside the artifact, so every runtime validates a request
//! against the model it serves rather than a compile-time list: a fraud team's
//! own `amount, merchant_risk, …` works everywhere the Kaggle file's
//! `Time, V1..V28, Amount` does. Names are looked up in a small open-addressing
//! table built once (FNV-1a), so a lookup costs a hash and one comparison.

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::categories::{Categories, Vocabulary, VocabularyError};

/// The most features a schema may have (the trainer, the artifact and every
/// runtime refuse more; a request body stays a few kilobytes).
pub const MAX_FEATURES: usize = 256;

/// The longest feature or column name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The Kaggle file's 30 inputs, in its order: the schema of artifacts older
/// than format 4, which did not record one.
pub const CREDITCARD_FEATURES: [&str; 30] = [
    "Time", "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12", "V13", "V14", "V15", "V16",
    "V17", "V18", "V19", "V20", "V21", "V22", "V23", "V24", "V25", "V26", "V27", "V28", "Amount",
];

/// The synthetic retail schema's features, in row order: a second schema,
/// besides the Kaggle file's, that every runtime is checked with
/// (`native-train synth --schema retail`, the tests' example artifact).
pub const RETAIL_FEATURES: [&str; 12] = [
    "amount",
    "merchant_risk",
    "distance_from_home_km",
    "tx_count_1h",
    "tx_count_24h",
    "amount_vs_avg_30d",
    "account_age_days",
    "hour_of_day",
    "is_foreign",
    "card_present",
    "is_online",
    "device_risk",
];
/// The retail schema's label column.
pub const RETAIL_LABEL: &str = "is_fraud";
/// The retail schema's id column.
pub const RETAIL_ID: &str = "transaction_id";
/// The retail schema's amount column.
pub const RETAIL_AMOUNT: &str = "amount";

/// The default label column (the Kaggle file's).
pub const DEFAULT_LABEL: &str = "Class";

/// The default amount column (the Kaggle file's).
pub const DEFAULT_AMOUNT: &str = "Amount";

/// The feature a replay paces by, when a schema has it: seconds since the
/// file's first transaction (the Kaggle file's `Time`). Not recorded in the
/// artifact: it is whichever feature has this name ([`Schema::pacing`]).
pub const PACING_FEATURE: &str = "Time";

/// The request field that carries a caller's id: never a feature name.
pub const RESERVED_ID: &str = "id";

const EMPTY_SLOT: u16 = u16::MAX;

/// True for the Kaggle file's 30 feature names in their order.
pub(crate) fn is_creditcard(names: &[String]) -> bool {
    names.len() == CREDITCARD_FEATURES.len() && names.iter().zip(CREDITCARD_FEATURES).all(|(a, b)| a == b)
}

/// A checked schema; cheap to clone (shared).
#[derive(Clone, Debug, PartialEq)]
pub struct Schema(Arc<Inner>);

#[derive(Debug, PartialEq)]
struct Inner {
    features: Vec<String>,
    amount: Option<usize>,
    label: String,
    id: Option<String>,
    /// Open addressing: slot → feature index, `EMPTY_SLOT` when free.
    slots: Vec<u16>,
    /// Per feature: its categories when categorical, `None` when numeric.
    kinds: Vec<Option<Categories>>,
    /// Whether a value may be missing (NaN inside core; JSON `null`, an empty
    /// CSV field): any feature of a model of format 5 or later, none before.
    accepts_missing: bool,
    /// Some feature is categorical (cached: the batch paths ask per row).
    categorical: bool,
}

/// Why a list of columns is not a usable schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaError {
    /// No features at all.
    NoFeatures,
    /// More than [`MAX_FEATURES`].
    TooManyFeatures {
        /// How many were given.
        count: usize,
    },
    /// A name that cannot be a column: empty, too long, control characters, a quote or a comma.
    BadName {
        /// The name (cut to [`MAX_NAME_CHARS`]).
        name: String,
        /// Why.
        why: &'static str,
    },
    /// A feature listed twice.
    Duplicate {
        /// The name.
        name: String,
    },
    /// The label or id column is also a feature, or they are the same column.
    Overlap {
        /// The name.
        name: String,
        /// Which roles collide.
        what: &'static str,
    },
    /// The amount column is not one of the features.
    AmountNotFeature {
        /// The name.
        name: String,
    },
    /// Feature kinds that do not match the features (count, or a categorical amount).
    BadKinds {
        /// Why.
        why: &'static str,
    },
    /// A categorical feature's vocabulary is unusable.
    BadVocabulary {
        /// The feature.
        feature: String,
        /// Why.
        error: VocabularyError,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaError::NoFeatures => f.write_str("the schema has no features"),
            SchemaError::TooManyFeatures { count } => {
                write!(f, "{count} features: at most {MAX_FEATURES} are supported (choose some with --features)")
            }
            // `"{name}"`, not `{name:?}`: Debug-escaping text pulls Unicode tables into the wasm build.
            SchemaError::BadName { name, why } => write!(f, "column name \"{name}\" {why}"),
            SchemaError::Duplicate { name } => write!(f, "feature \"{name}\" is listed twice"),
            SchemaError::Overlap { name, what } => write!(f, "column \"{name}\" is {what}"),
            SchemaError::AmountNotFeature { name } => {
                write!(f, "the amount column \"{name}\" is not one of the features")
            }
            SchemaError::BadKinds { why } => write!(f, "feature kinds: {why}"),
            SchemaError::BadVocabulary { feature, error } => {
                write!(f, "the categories of \"{feature}\": ")?;
                match error {
                    VocabularyError::TooMany(n) => write!(f, "{n} kept, at most 255"),
                    VocabularyError::Duplicate(c) => write!(f, "\"{c}\" is listed twice"),
                    VocabularyError::Bad(c) => {
                        write!(f, "\"{c}\" is empty, too long, not finite or has control characters")
                    }
                }
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SchemaError {}

fn check_name(name: &str) -> Result<(), SchemaError> {
    // One pass over the characters (a compact loop: the browser build counts bytes).
    let mut chars = 0;
    let mut why = None;
    for c in name.chars() {
        chars += 1;
        if c.is_control() {
            why = Some("holds a control character");
        } else if c == '"' || c == ',' {
            why = Some("holds a quote or a comma");
        }
    }
    if chars == 0 {
        why = Some("is empty");
    } else if chars > MAX_NAME_CHARS {
        why = Some("is longer than 64 characters");
    } else if name.starts_with(' ') || name.ends_with(' ') {
        // Tabs and newlines are control characters, refused above.
        why = why.or(Some("starts or ends with a space"));
    }
    match why {
        Some(why) => Err(SchemaError::BadName { name: name.chars().take(MAX_NAME_CHARS).collect(), why }),
        None => Ok(()),
    }
}

/// FNV-1a, 32 bits: tiny, and plenty for at most 256 keys (feature names here,
/// a vocabulary's categories in `categories.rs`).
#[inline]
pub(crate) fn hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

impl Schema {
    /// A checked schema: 1 to [`MAX_FEATURES`] distinct, well-formed feature
    /// names; the label and id (if any) distinct from them and each other;
    /// the amount, if any, one of the features.
    pub fn new(
        features: Vec<String>,
        amount: Option<&str>,
        label: &str,
        id: Option<&str>,
    ) -> Result<Schema, SchemaError> {
        if features.is_empty() {
            return Err(SchemaError::NoFeatures);
        }
        if features.len() > MAX_FEATURES {
            return Err(SchemaError::TooManyFeatures { count: features.len() });
        }
        for name in features.iter().map(String::as_str).chain([label]).chain(id) {
            check_name(name)?;
        }
        if features.iter().any(|f| f == RESERVED_ID) {
            return Err(SchemaError::BadName {
                name: RESERVED_ID.to_string(),
                why: "cannot be a feature: a request's own \"id\" field echoes back (name the column with --id, \
                      or leave it out with --features)",
            });
        }
        let size = (2 * features.len()).next_power_of_two().max(8);
        let mut slots = vec![EMPTY_SLOT; size];
        for (i, name) in features.iter().enumerate() {
            let mut s = hash(name) as usize & (size - 1);
            loop {
                match slots[s] {
                    EMPTY_SLOT => {
                        // MAX_FEATURES < u16::MAX: the index fits and is never the empty mark.
                        slots[s] = i as u16;
                        break;
                    }
                    j if features[j as usize] == *name => return Err(SchemaError::Duplicate { name: name.clone() }),
                    _ => s = (s + 1) & (size - 1),
                }
            }
        }
        let kinds = vec![None; features.len()];
        let mut schema = Inner {
            features,
            amount: None,
            label: label.to_string(),
            id: id.map(str::to_string),
            slots,
            kinds,
            accepts_missing: false,
            categorical: false,
        };
        let lookup = |name: &str| Schema::lookup(&schema, name);
        if lookup(label).is_some() {
            return Err(SchemaError::Overlap { name: label.to_string(), what: "both the label and a feature" });
        }
        if let Some(id) = id {
            if lookup(id).is_some() {
                return Err(SchemaError::Overlap { name: id.to_string(), what: "both the id and a feature" });
            }
            if id == label {
                return Err(SchemaError::Overlap { name: id.to_string(), what: "both the id and the label" });
            }
        }
        if let Some(amount) = amount {
            match lookup(amount) {
                Some(i) => schema.amount = Some(i),
                None => return Err(SchemaError::AmountNotFeature { name: amount.to_string() }),
            }
        }
        Ok(Schema(Arc::new(schema)))
    }

    /// This schema with each feature's kind (`None`: numeric; a vocabulary:
    /// categorical) and whether values may be missing. The amount is numeric.
    pub fn with_kinds(&self, kinds: Vec<Option<Vocabulary>>, accepts_missing: bool) -> Result<Schema, SchemaError> {
        if kinds.len() != self.len() {
            return Err(SchemaError::BadKinds { why: "one kind per feature" });
        }
        if let Some(a) = self.amount() {
            if kinds[a].is_some() {
                return Err(SchemaError::BadKinds { why: "the amount is a number, not a category" });
            }
        }
        let mut checked = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.into_iter().enumerate() {
            checked.push(match kind {
                None => None,
                Some(v) => Some(
                    Categories::new(v)
                        .map_err(|error| SchemaError::BadVocabulary { feature: self.name(i).to_string(), error })?,
                ),
            });
        }
        let inner = &self.0;
        let categorical = checked.iter().any(Option::is_some);
        Ok(Schema(Arc::new(Inner {
            categorical,
            features: inner.features.clone(),
            amount: inner.amount,
            label: inner.label.clone(),
            id: inner.id.clone(),
            slots: inner.slots.clone(),
            kinds: checked,
            accepts_missing,
        })))
    }

    /// Feature `i`'s categories, when it is categorical.
    #[inline]
    pub fn categories(&self, i: usize) -> Option<&Categories> {
        self.0.kinds[i].as_ref()
    }

    /// Per feature, true when categorical.
    pub fn categorical_mask(&self) -> Vec<bool> {
        self.0.kinds.iter().map(Option::is_some).collect()
    }

    /// True when some feature is categorical.
    #[inline]
    pub fn has_categorical(&self) -> bool {
        self.0.categorical
    }

    /// Whether values may be missing (any feature; a model of format 5 or later).
    #[inline]
    pub fn accepts_missing(&self) -> bool {
        self.0.accepts_missing
    }

    /// Whether feature `i` may be missing: any feature of a schema that accepts
    /// missing values, except the amount — money is reckoned from it, so a
    /// transaction without one cannot be decided.
    #[inline]
    pub fn may_be_missing(&self, i: usize) -> bool {
        self.0.accepts_missing && self.0.amount != Some(i)
    }

    /// True when the schema needs format 5 (categories or missing values).
    pub fn is_tabular(&self) -> bool {
        self.accepts_missing() || self.has_categorical()
    }

    /// The Kaggle file's schema: `Time, V1..V28, Amount`, label `Class`, amount `Amount`, no id.
    pub fn creditcard() -> Schema {
        Schema::new(
            CREDITCARD_FEATURES.iter().map(|s| s.to_string()).collect(),
            Some(DEFAULT_AMOUNT),
            DEFAULT_LABEL,
            None,
        )
        .expect("the creditcard schema is a valid schema")
    }

    /// The synthetic retail schema ([`RETAIL_FEATURES`], label, id and amount columns).
    pub fn retail() -> Schema {
        Schema::new(
            RETAIL_FEATURES.iter().map(|s| s.to_string()).collect(),
            Some(RETAIL_AMOUNT),
            RETAIL_LABEL,
            Some(RETAIL_ID),
        )
        .expect("the retail schema is a valid schema")
    }

    fn lookup(inner: &Inner, name: &str) -> Option<usize> {
        let mask = inner.slots.len() - 1;
        let mut s = hash(name) as usize & mask;
        loop {
            match inner.slots[s] {
                EMPTY_SLOT => return None,
                i if inner.features[i as usize] == name => return Some(i as usize),
                _ => s = (s + 1) & mask,
            }
        }
    }

    /// Position of a feature, by exact (case-sensitive) name.
    #[inline]
    pub fn index(&self, name: &str) -> Option<usize> {
        Schema::lookup(&self.0, name)
    }

    /// Number of features.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.features.len()
    }

    /// Never true for a checked schema.
    pub fn is_empty(&self) -> bool {
        self.0.features.is_empty()
    }

    /// The feature names, in the order rows use.
    pub fn features(&self) -> &[String] {
        &self.0.features
    }

    /// Feature `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.0.features[i]
    }

    /// Position of the amount feature, if the schema has one.
    #[inline]
    pub fn amount(&self) -> Option<usize> {
        self.0.amount
    }

    /// The amount of a row in this schema's order, or 0 without an amount
    /// column (money is then fixed per outcome: the decision rule checks it).
    #[inline(always)]
    pub fn amount_of(&self, row: &[f64]) -> f64 {
        match self.0.amount {
            Some(i) => row[i],
            None => 0.0,
        }
    }

    /// Position of the feature a replay paces by: the one named
    /// [`PACING_FEATURE`] (seconds since the first transaction), if any.
    pub fn pacing(&self) -> Option<usize> {
        self.index(PACING_FEATURE)
    }

    /// The amount feature's name, if any.
    pub fn amount_name(&self) -> Option<&str> {
        self.0.amount.map(|i| self.name(i))
    }

    /// The training file's label column.
    pub fn label(&self) -> &str {
        &self.0.label
    }

    /// The training file's id column, if it had one (carried, never a feature).
    pub fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }

    /// True for the Kaggle file's 30 features in their order.
    pub fn is_creditcard(&self) -> bool {
        is_creditcard(self.features())
    }

    /// The first few feature names, comma-separated, for messages (`Time, V1, V2, … (30 features)`).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (i, name) in self.features().iter().take(6).enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(name);
        }
        if self.len() > 6 {
            s.push_str(", …");
        }
        s.push_str(&alloc::format!(" ({} features)", self.len()));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_name_maps_to_its_position() {
        let s = Schema::creditcard();
        for (i, name) in CREDITCARD_FEATURES.iter().enumerate() {
            assert_eq!(s.index(name), Some(i), "{name}");
        }
        assert_eq!(s.amount(), Some(29));
        assert!(s.is_creditcard());
        let big: Vec<String> = (0..MAX_FEATURES).map(|i| alloc::format!("f{i}")).collect();
        let s = Schema::new(big.clone(), None, "y", Some("id")).unwrap();
        for (i, name) in big.iter().enumerate() {
            assert_eq!(s.index(name), Some(i));
        }
        assert_eq!(s.index("f256"), None);
    }

    #[test]
    fn a_replay_paces_by_the_time_feature_wherever_it_is() {
        assert_eq!(Schema::creditcard().pacing(), Some(0));
        assert_eq!(Schema::retail().pacing(), None);
        let s = Schema::new(names(&["amount", PACING_FEATURE]), Some("amount"), "y", None).unwrap();
        assert_eq!(s.pacing(), Some(1));
    }

    #[test]
    fn non_canonical_names_are_rejected() {
        let s = Schema::creditcard();
        for name in
            ["", "V", "V0", "V29", "V01", "v1", "time", "AMOUNT", "V1 ", "Class", "V+1", "V99999999999999999999"]
        {
            assert_eq!(s.index(name), None, "{name:?}");
        }
    }

    #[test]
    fn bad_schemas_are_refused_with_the_column() {
        let e = |f: &[&str], amount, label, id| Schema::new(names(f), amount, label, id).unwrap_err();
        assert_eq!(e(&[], None, "y", None), SchemaError::NoFeatures);
        assert_eq!(e(&["a", "b", "a"], None, "y", None), SchemaError::Duplicate { name: "a".into() });
        assert!(matches!(e(&["a", "y"], None, "y", None), SchemaError::Overlap { name, .. } if name == "y"));
        assert!(matches!(e(&["a"], None, "y", Some("a")), SchemaError::Overlap { name, .. } if name == "a"));
        assert!(matches!(e(&["a"], None, "y", Some("y")), SchemaError::Overlap { .. }));
        assert_eq!(e(&["a"], Some("amt"), "y", None), SchemaError::AmountNotFeature { name: "amt".into() });
        for bad in ["", " a", "a,b", "a\"", "a\nb", &"x".repeat(65), "id"] {
            assert!(matches!(e(&[bad], None, "y", None), SchemaError::BadName { .. }), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_FEATURES).map(|i| alloc::format!("f{i}")).collect();
        assert_eq!(Schema::new(many, None, "y", None).unwrap_err(), SchemaError::TooManyFeatures { count: 257 });
        let ok = Schema::new(names(&["amount", "merchant risk (0-1)"]), Some("amount"), "is_fraud", None).unwrap();
        assert_eq!(ok.amount_name(), Some("amount"));
        assert_eq!(ok.index("merchant risk (0-1)"), Some(1));
    }
}
