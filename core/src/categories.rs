//! Categorical features: a vocabulary learned on the train split, and the
//! lookup that turns a category into its code.
//!
//! Inside core a categorical value is its **code** as an `f64`: the position
//! of the category in the vocabulary (`0..len`), or `len` — the "other"
//! code — for a category that was rare in training (merged there) or never
//! seen. Unseen categories are therefore scored, never refused, exactly like
//! the rare ones the model saw merged. A missing value is NaN, as for a
//! numeric feature. A row stays a flat `&[f64]`.
//!
//! Two kinds of vocabulary: **text** (a text column of the training file;
//! requests send JSON strings) and **numbers** (a numeric-coded column named
//! with `--categorical`, e.g. a merchant category code; requests send JSON
//! numbers, and the categories are the values themselves).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::schema::hash;

/// The most categories a vocabulary keeps (the rest share the "other" code):
/// codes `0..=255` with "other", one byte of a trainer's histogram.
pub const MAX_CATEGORIES: usize = 255;

/// The longest category text, in characters.
pub const MAX_CATEGORY_CHARS: usize = 100;

const EMPTY: u16 = u16::MAX;

/// The categories of one categorical feature, in code order.
#[derive(Clone, Debug, PartialEq)]
pub enum Vocabulary {
    /// Text categories (JSON strings, CSV text).
    Text(Vec<String>),
    /// Numeric-coded categories (JSON numbers, CSV numbers): each a finite value.
    Numbers(Vec<f64>),
}

/// Why a vocabulary is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VocabularyError {
    /// More than [`MAX_CATEGORIES`].
    TooMany(usize),
    /// A category listed twice.
    Duplicate(String),
    /// Empty, too long or with control characters; or a number that is not finite.
    Bad(String),
}

impl Vocabulary {
    /// Categories kept (codes `0..len`; `len` is "other").
    pub fn len(&self) -> usize {
        match self {
            Vocabulary::Text(v) => v.len(),
            Vocabulary::Numbers(v) => v.len(),
        }
    }

    /// True when no category was kept (everything is "other").
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Codes in use, "other" included: `len + 1`.
    pub fn codes(&self) -> usize {
        self.len() + 1
    }

    /// A text category of code `c` (`"other"` for the other code; `None`
    /// for a numeric-coded vocabulary: its categories are numbers, and
    /// formatting floats here would weigh on the wasm build).
    pub fn text_label(&self, code: usize) -> Option<&str> {
        match self {
            Vocabulary::Text(v) => Some(v.get(code).map_or("other", String::as_str)),
            Vocabulary::Numbers(_) => None,
        }
    }
}

/// A checked vocabulary with its lookup table.
#[derive(Clone, Debug, PartialEq)]
pub struct Categories {
    vocabulary: Vocabulary,
    /// Text: open addressing, slot → code. Numbers: codes sorted by value.
    index: Vec<u16>,
}

impl Categories {
    /// Checks a vocabulary: at most [`MAX_CATEGORIES`], distinct, texts of 1 to
    /// [`MAX_CATEGORY_CHARS`] characters without control characters, numbers finite.
    pub fn new(vocabulary: Vocabulary) -> Result<Categories, VocabularyError> {
        if vocabulary.len() > MAX_CATEGORIES {
            return Err(VocabularyError::TooMany(vocabulary.len()));
        }
        let index = match &vocabulary {
            Vocabulary::Text(names) => {
                let size = (2 * names.len()).next_power_of_two().max(4);
                let mut slots = vec![EMPTY; size];
                for (code, name) in names.iter().enumerate() {
                    let chars = name.chars().count();
                    if chars == 0 || chars > MAX_CATEGORY_CHARS || name.chars().any(char::is_control) {
                        return Err(VocabularyError::Bad(name.chars().take(MAX_CATEGORY_CHARS).collect()));
                    }
                    let mut s = hash(name) as usize & (size - 1);
                    loop {
                        match slots[s] {
                            EMPTY => {
                                slots[s] = code as u16;
                                break;
                            }
                            c if names[c as usize] == *name => return Err(VocabularyError::Duplicate(name.clone())),
                            _ => s = (s + 1) & (size - 1),
                        }
                    }
                }
                slots
            }
            Vocabulary::Numbers(values) => {
                if values.iter().any(|v| !v.is_finite()) {
                    return Err(VocabularyError::Bad(String::from("a category that is not a finite number")));
                }
                let mut order: Vec<u16> = (0..values.len() as u16).collect();
                crate::sort::insertion_sort_by(&mut order, |a, b| values[*a as usize] < values[*b as usize]);
                for pair in order.windows(2) {
                    // `-0.0 == 0.0`: one category.
                    if values[pair[0] as usize] == values[pair[1] as usize] {
                        return Err(VocabularyError::Duplicate(String::from("a numeric category")));
                    }
                }
                order
            }
        };
        Ok(Categories { vocabulary, index })
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// True for text categories, false for numeric-coded ones.
    pub fn is_text(&self) -> bool {
        matches!(self.vocabulary, Vocabulary::Text(_))
    }

    /// The "other" code: rare in training or never seen.
    pub fn other(&self) -> usize {
        self.vocabulary.len()
    }

    /// The code of a text category (`other` when not kept). Numeric-coded
    /// vocabularies have no text: `None`.
    pub fn code_of_text(&self, text: &str) -> Option<usize> {
        let Vocabulary::Text(names) = &self.vocabulary else { return None };
        let mask = self.index.len() - 1;
        let mut s = hash(text) as usize & mask;
        loop {
            match self.index[s] {
                EMPTY => return Some(self.other()),
                c if names[c as usize] == text => return Some(c as usize),
                _ => s = (s + 1) & mask,
            }
        }
    }

    /// The code of a numeric category (`other` when not kept); text
    /// vocabularies take no numbers: `None`. The caller checks finiteness.
    pub fn code_of_number(&self, x: f64) -> Option<usize> {
        let Vocabulary::Numbers(values) = &self.vocabulary else { return None };
        let found =
            self.index.binary_search_by(|&c| values[c as usize].partial_cmp(&x).unwrap_or(core::cmp::Ordering::Less));
        Some(match found {
            Ok(i) => self.index[i] as usize,
            Err(_) => self.other(),
        })
    }

    /// True when `x` is a code of this feature: an integer in `0..=other`.
    pub fn is_code(&self, x: f64) -> bool {
        x >= 0.0 && x <= self.other() as f64 && x == (x as usize) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn text(list: &[&str]) -> Categories {
        Categories::new(Vocabulary::Text(list.iter().map(|s| s.to_string()).collect())).unwrap()
    }

    #[test]
    fn texts_map_to_codes_and_the_rest_to_other() {
        let c = text(&["FR", "DE", "US"]);
        assert_eq!(c.code_of_text("FR"), Some(0));
        assert_eq!(c.code_of_text("US"), Some(2));
        assert_eq!(c.code_of_text("fr"), Some(3));
        assert_eq!(c.code_of_text(""), Some(3));
        assert_eq!(c.code_of_number(1.0), None);
        assert_eq!(c.vocabulary().text_label(1), Some("DE"));
        assert_eq!(c.vocabulary().text_label(3), Some("other"));
        assert!(c.is_code(3.0) && c.is_code(0.0));
        for bad in [4.0, -1.0, 0.5, f64::NAN, f64::INFINITY] {
            assert!(!c.is_code(bad), "{bad}");
        }
        let empty = text(&[]);
        assert_eq!(empty.code_of_text("x"), Some(0));
    }

    #[test]
    fn numbers_map_by_value() {
        let c = Categories::new(Vocabulary::Numbers(vec![5411.0, 4829.0, 7995.0])).unwrap();
        assert_eq!(c.code_of_number(5411.0), Some(0));
        assert_eq!(c.code_of_number(7995.0), Some(2));
        assert_eq!(c.code_of_number(4829.0), Some(1));
        assert_eq!(c.code_of_number(1.0), Some(3));
        assert_eq!(c.code_of_text("5411"), None);
        assert_eq!(c.vocabulary().text_label(0), None);
    }

    #[test]
    fn bad_vocabularies_are_refused() {
        let t = |list: Vec<String>| Categories::new(Vocabulary::Text(list)).unwrap_err();
        assert_eq!(t(vec!["a".into(), "a".into()]), VocabularyError::Duplicate("a".into()));
        assert!(matches!(t(vec!["".into()]), VocabularyError::Bad(_)));
        assert!(matches!(t(vec!["a\nb".into()]), VocabularyError::Bad(_)));
        assert!(matches!(t((0..256).map(|i| alloc::format!("c{i}")).collect()), VocabularyError::TooMany(256)));
        let n = |list: Vec<f64>| Categories::new(Vocabulary::Numbers(list)).unwrap_err();
        assert!(matches!(n(vec![1.0, f64::NAN]), VocabularyError::Bad(_)));
        assert!(matches!(n(vec![0.0, -0.0]), VocabularyError::Duplicate(_)));
        assert!(Categories::new(Vocabulary::Text((0..255).map(|i| alloc::format!("c{i}")).collect())).is_ok());
    }
}
