//! Categorical columns and missing values in training.
//!
//! - **Vocabulary** ([`encode`]): learned on the train split only. A category
//!   is kept when it has at least [`VocabularyOptions::min_count`] train rows;
//!   of those, the [`fraud_core::MAX_CATEGORIES`] (255) most frequent are kept
//!   (ties: text or number order), in that order (code 0 = the most frequent).
//!   Every other value — rare in train, or only in validation and test — is
//!   the "other" code, exactly as an unseen category is served. A missing
//!   value stays NaN. The schema then accepts a missing value for any feature.
//! - **Logistic design** ([`Design`]): a numeric feature is its value, a
//!   missing one replaced by its train mean, plus a missing-indicator column
//!   when it was missing in some train row; a categorical feature is one-hot
//!   over its codes ("other" included; missing: all zero). The scaler then
//!   standardises every column and L2 weighs them all alike. Core scores the
//!   same expansion from the schema row ([`fraud_core::Logistic::with_expansion`]).

use std::collections::HashMap;
use std::fmt;

use fraud_core::logistic::{Column, Expansion};
use fraud_core::Tabular;
use fraud_core::{ModelError, Schema, SchemaError, Vocabulary, MAX_CATEGORIES};

use crate::data::{Cell, Dataset};

/// How a categorical column's vocabulary is learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VocabularyOptions {
    /// Train rows a category needs to be kept (else it is "other").
    pub min_count: usize,
}

impl Default for VocabularyOptions {
    fn default() -> Self {
        VocabularyOptions { min_count: 5 }
    }
}

/// A table coded for training, and what the artifact records of it.
pub struct Encoded {
    /// The rows: categories as codes, missing values NaN; the schema with its kinds.
    pub data: Dataset,
    /// Per-feature missing and "other" rates on train (the logistic indicators are set later).
    pub tabular: Tabular,
}

/// Why a table cannot be coded.
#[derive(Debug)]
pub enum EncodeError {
    /// The amount column is categorical.
    AmountNotNumeric(String),
    /// The amount column has empty cells.
    AmountMissing {
        /// Its name.
        column: String,
        /// How many rows.
        rows: usize,
        /// The first one (0-based data row).
        first: usize,
    },
    /// The vocabularies make no valid schema.
    Schema(SchemaError),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::AmountNotNumeric(name) => write!(
                f,
                "the amount column {name} holds categories, not numbers: money needs a numeric amount \
                 (name another with --amount, or leave it out of --categorical)"
            ),
            EncodeError::AmountMissing { column, rows, first } => write!(
                f,
                "the amount column {column} is empty in {rows} rows (the first: data row {}): money is reckoned \
                 from the amount, so every row needs one (fill them, or name another with --amount)",
                first + 1
            ),
            EncodeError::Schema(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for EncodeError {}

/// One categorical column's vocabulary and its lookup from the cell as read.
struct Learned {
    vocabulary: Vocabulary,
    lookup: Lookup,
    other: f64,
}

/// From a cell as read to its code.
enum Lookup {
    /// Text: code per dictionary index.
    ByIndex(Vec<f64>),
    /// Numbers: code per value (bits of the value, `-0` read as `0`).
    ByValue(HashMap<u64, f64>),
}

impl Learned {
    fn code(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match &self.lookup {
            Lookup::ByIndex(codes) => codes.get(x as usize).copied().unwrap_or(self.other),
            Lookup::ByValue(codes) => codes.get(&key(x)).copied().unwrap_or(self.other),
        }
    }
}

fn key(x: f64) -> u64 {
    (x + 0.0).to_bits()
}

/// The kept categories of one column: `counts` of (category, train rows), most frequent first.
fn keep<T: Clone>(
    mut counts: Vec<(T, u64)>,
    opts: &VocabularyOptions,
    name: &str,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> Vec<T> {
    let distinct = counts.len();
    counts.retain(|(_, n)| *n >= opts.min_count as u64);
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| order(&a.0, &b.0)));
    let frequent = counts.len();
    if frequent > MAX_CATEGORIES {
        tracing::warn!(
            "{name}: {frequent} categories have at least {} train rows; the {MAX_CATEGORIES} most frequent are kept, \
             the rest score as \"other\"",
            opts.min_count
        );
        counts.truncate(MAX_CATEGORIES);
    }
    tracing::info!(
        "{name}: {} of {distinct} categories kept (at least {} train rows each); the rest are \"other\"",
        counts.len(),
        opts.min_count
    );
    if distinct > 1_000 && counts.len() * 10 < distinct {
        tracing::warn!(
            "{name}: {distinct} distinct values, {} kept — it looks like an identifier, which the model cannot learn \
             from: name it with --id, or leave it out with --features",
            counts.len()
        );
    }
    counts.into_iter().map(|(c, _)| c).collect()
}

fn learn(
    column: ndarray::ArrayView1<'_, f64>,
    cell: &Cell,
    train: &[usize],
    opts: &VocabularyOptions,
    name: &str,
) -> Learned {
    match cell {
        Cell::Text(dictionary) => {
            let mut counts = vec![0u64; dictionary.len()];
            for &i in train {
                let x = column[i];
                if !x.is_nan() {
                    counts[x as usize] += 1;
                }
            }
            let counted: Vec<(usize, u64)> = counts.into_iter().enumerate().filter(|(_, n)| *n > 0).collect();
            let kept = keep(counted, opts, name, |a, b| dictionary[*a].cmp(&dictionary[*b]));
            let other = kept.len() as f64;
            let mut by_index = vec![other; dictionary.len()];
            for (code, &index) in kept.iter().enumerate() {
                by_index[index] = code as f64;
            }
            let vocabulary = Vocabulary::Text(kept.iter().map(|&i| dictionary[i].clone()).collect());
            Learned { vocabulary, lookup: Lookup::ByIndex(by_index), other }
        }
        Cell::CodedNumber | Cell::Number => {
            let mut counts: HashMap<u64, (f64, u64)> = HashMap::new();
            for &i in train {
                let x = column[i];
                if !x.is_nan() {
                    counts.entry(key(x)).or_insert((x + 0.0, 0)).1 += 1;
                }
            }
            let counted: Vec<(f64, u64)> = counts.into_values().collect();
            let kept = keep(counted, opts, name, |a, b| a.total_cmp(b));
            let other = kept.len() as f64;
            let by_value = kept.iter().enumerate().map(|(code, &v)| (key(v), code as f64)).collect();
            Learned { vocabulary: Vocabulary::Numbers(kept), lookup: Lookup::ByValue(by_value), other }
        }
    }
}

/// Codes a table held as read ([`Dataset::cells`]) with vocabularies learned
/// on the `train` rows; missing and "other" rates measured there.
pub fn encode(data: &Dataset, train: &[usize], opts: &VocabularyOptions) -> Result<Encoded, EncodeError> {
    let Some(cells) = &data.cells else {
        return Ok(Encoded { data: data.clone(), tabular: Tabular::default() });
    };
    let schema = &data.schema;
    if let Some(a) = schema.amount() {
        if cells[a].is_categorical() {
            return Err(EncodeError::AmountNotNumeric(schema.name(a).to_string()));
        }
        let empty: Vec<usize> = (0..data.len()).filter(|&i| data.x[[i, a]].is_nan()).collect();
        if let Some(&first) = empty.first() {
            return Err(EncodeError::AmountMissing { column: schema.name(a).to_string(), rows: empty.len(), first });
        }
    }
    let n_train = train.len().max(1) as f64;
    let mut x = data.x.clone();
    let mut kinds = Vec::with_capacity(schema.len());
    let (mut missing_rates, mut other_rates) = (Vec::new(), Vec::new());
    for (j, cell) in cells.iter().enumerate() {
        let missing = train.iter().filter(|&&i| data.x[[i, j]].is_nan()).count();
        missing_rates.push(missing as f64 / n_train);
        if !cell.is_categorical() {
            kinds.push(None);
            other_rates.push(0.0);
            continue;
        }
        let learned = learn(data.x.column(j), cell, train, opts, schema.name(j));
        x.column_mut(j).mapv_inplace(|v| learned.code(v));
        let others = train.iter().filter(|&&i| x[[i, j]] == learned.other).count();
        other_rates.push(others as f64 / n_train);
        kinds.push(Some(learned.vocabulary));
    }
    let schema = schema.with_kinds(kinds, true).map_err(EncodeError::Schema)?;
    let data = Dataset { x, y: data.y.clone(), schema, ids: data.ids.clone(), cells: None };
    Ok(Encoded { data, tabular: Tabular { missing_rates, other_rates, indicators: Vec::new() } })
}

/// The logistic model's columns for a schema's rows (see the module docs).
#[derive(Clone, Debug)]
pub struct Design {
    /// How each feature becomes columns (what core folds into the scorer).
    pub expansion: Expansion,
    /// Per feature, the train mean of its present values (0 when none): a missing value's stand-in.
    means: Vec<f64>,
}

impl Design {
    /// The design of `schema` fitted on its row-major train `rows`: identity
    /// for a schema without categories or missing values.
    pub fn fit(schema: &Schema, rows: &[f64]) -> Result<Design, ModelError> {
        let width = schema.len();
        let mut sums = vec![(0.0f64, 0u64, false); width];
        for row in rows.chunks_exact(width) {
            for (s, &x) in sums.iter_mut().zip(row) {
                if x.is_nan() {
                    s.2 = true;
                } else {
                    s.0 += x;
                    s.1 += 1;
                }
            }
        }
        let columns = (0..width)
            .map(|i| match schema.categories(i) {
                Some(c) => Column::Categorical { codes: (c.other() + 1) as u32 },
                None => Column::Numeric { indicator: sums[i].2 },
            })
            .collect();
        let means = sums.iter().map(|&(sum, n, _)| if n == 0 { 0.0 } else { sum / n as f64 }).collect();
        Ok(Design { expansion: Expansion::new(columns)?, means })
    }

    /// Model columns per row.
    pub fn width(&self) -> usize {
        self.expansion.width()
    }

    /// The design rows of row-major schema `rows`.
    pub fn expand(&self, rows: &[f64]) -> Vec<f64> {
        if self.expansion.is_identity() {
            return rows.to_vec();
        }
        let width = self.means.len();
        let mut out = Vec::with_capacity(rows.len() / width.max(1) * self.width());
        for row in rows.chunks_exact(width) {
            for ((&x, column), &mean) in row.iter().zip(self.expansion.columns()).zip(&self.means) {
                match *column {
                    Column::Numeric { indicator } => {
                        out.push(if x.is_nan() { mean } else { x });
                        if indicator {
                            out.push(if x.is_nan() { 1.0 } else { 0.0 });
                        }
                    }
                    Column::Categorical { codes } => {
                        let start = out.len();
                        out.resize(start + codes as usize, 0.0);
                        if !x.is_nan() {
                            out[start + x as usize] = 1.0;
                        }
                    }
                }
            }
        }
        out
    }
}

/// Per feature, whether a missing-indicator column follows it: the artifact's record of an expansion.
pub fn indicators(expansion: &Expansion) -> Vec<bool> {
    expansion.columns().iter().map(|c| matches!(c, Column::Numeric { indicator: true })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataset::table::{read_typed, TypedSpec};

    fn table(csv: &str, categorical: &[&str]) -> Dataset {
        let spec = TypedSpec {
            label: "y".into(),
            id: None,
            features: None,
            categorical: categorical.iter().map(|s| s.to_string()).collect(),
        };
        Dataset::from_typed(read_typed(csv.as_bytes(), &spec).unwrap(), "y", None, None).unwrap()
    }

    #[test]
    fn vocabulary_is_learned_on_train_rows_only_most_frequent_first() {
        // "b" three times in train, "a" twice, "c" once (below min_count 2), "z" only outside train.
        let csv = "k,m,y\nb,1,0\na,,1\nb,3,0\nc,4,1\na,5,0\nb,6,1\nz,7,0\n";
        let data = table(csv, &[]);
        assert!(data.is_tabular());
        let e = encode(&data, &[0, 1, 2, 3, 4, 5], &VocabularyOptions { min_count: 2 }).unwrap();
        let c = e.data.schema.categories(0).unwrap();
        assert_eq!(c.vocabulary(), &Vocabulary::Text(vec!["b".into(), "a".into()]));
        let codes: Vec<f64> = e.data.x.column(0).to_vec();
        assert_eq!(codes, vec![0.0, 1.0, 0.0, 2.0, 1.0, 0.0, 2.0], "c (rare) and z (unseen) are other = 2");
        assert!(e.data.x[[1, 1]].is_nan(), "the empty cell stays missing");
        assert!(e.data.schema.accepts_missing());
        assert!((e.tabular.missing_rates[1] - 1.0 / 6.0).abs() < 1e-12);
        assert!((e.tabular.other_rates[0] - 1.0 / 6.0).abs() < 1e-12);
        assert_eq!(e.tabular.other_rates[1], 0.0);
    }

    #[test]
    fn numeric_codes_are_categories_by_value() {
        let csv = "mcc,v,y\n5411,1,0\n5411,2,1\n5812,3,0\n-0,4,1\n0,5,0\n7995,6,1\n";
        let data = table(csv, &["mcc"]);
        let e = encode(&data, &[0, 1, 2, 3, 4], &VocabularyOptions { min_count: 2 }).unwrap();
        let c = e.data.schema.categories(0).unwrap();
        // -0 and 0 are one category (two rows); 5411 two rows; ties in number order.
        assert_eq!(c.vocabulary(), &Vocabulary::Numbers(vec![0.0, 5411.0]));
        assert_eq!(e.data.x.column(0).to_vec(), vec![1.0, 1.0, 2.0, 0.0, 0.0, 2.0]);
    }

    #[test]
    fn a_cap_keeps_the_most_frequent_categories() {
        let mut csv = String::from("k,y\n");
        for i in 0..400 {
            for _ in 0..(1 + i % 3) {
                csv.push_str(&format!("v{i},{}\n", i % 2));
            }
        }
        let data = table(&csv, &[]);
        let train: Vec<usize> = (0..data.len()).collect();
        let e = encode(&data, &train, &VocabularyOptions { min_count: 1 }).unwrap();
        assert_eq!(e.data.schema.categories(0).unwrap().other(), MAX_CATEGORIES);
        assert!(e.tabular.other_rates[0] > 0.0);
    }

    #[test]
    fn design_imputes_the_mean_flags_missing_and_one_hots_codes() {
        let csv = "k,v,w,y\nb,1,5,0\na,,6,1\nb,3,7,0\n,5,8,1\n";
        let data = table(csv, &[]);
        let e = encode(&data, &[0, 1, 2, 3], &VocabularyOptions { min_count: 1 }).unwrap();
        let rows: Vec<f64> = e.data.x.iter().copied().collect();
        let d = Design::fit(&e.data.schema, &rows).unwrap();
        // k: b, a, other (3 one-hot); v: value + indicator; w: value only.
        assert_eq!(d.width(), 3 + 2 + 1);
        assert_eq!(indicators(&d.expansion), vec![false, true, false]);
        let x = d.expand(&rows);
        assert_eq!(&x[..6], &[1.0, 0.0, 0.0, 1.0, 0.0, 5.0]);
        assert_eq!(&x[6..12], &[0.0, 1.0, 0.0, 3.0, 1.0, 6.0], "missing v: the mean of 1, 3, 5 and its indicator");
        assert_eq!(&x[18..24], &[0.0, 0.0, 0.0, 5.0, 0.0, 8.0], "missing category: every one-hot column 0");
    }

    #[test]
    fn an_amount_with_empty_cells_is_refused() {
        let csv = "amount,v,y\n1,1,0\n,2,1\n3,,0\n";
        let spec = TypedSpec { label: "y".into(), id: None, features: None, categorical: vec![] };
        let data = Dataset::from_typed(read_typed(csv.as_bytes(), &spec).unwrap(), "y", None, Some("amount")).unwrap();
        let err = encode(&data, &[0, 1, 2], &VocabularyOptions::default()).err().unwrap();
        assert!(err.to_string().contains("amount column amount is empty in 1 rows (the first: data row 2)"), "{err}");
    }

    #[test]
    fn a_categorical_amount_is_refused() {
        let csv = "amount,v,y\nlow,1,0\nhigh,2,1\n";
        let spec = TypedSpec { label: "y".into(), id: None, features: None, categorical: vec![] };
        let data = Dataset::from_typed(read_typed(csv.as_bytes(), &spec).unwrap(), "y", None, Some("amount")).unwrap();
        let err = encode(&data, &[0, 1], &VocabularyOptions::default()).err().unwrap();
        assert!(err.to_string().contains("amount column amount"), "{err}");
    }
}
