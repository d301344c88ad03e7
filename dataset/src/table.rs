//! A training table with text columns and empty cells, read column by column.
//!
//! [`crate::parse_csv`] reads finite numbers only, row-major, for scoring and
//! for numeric training. [`read_typed`] reads a training file whose features
//! may be text (categories) or have empty cells (missing values), and decides
//! each column's kind from its cells:
//!
//! - an empty field (bare, quoted `""`, or only blanks) in a feature column is
//!   an empty cell, whatever the column's kind;
//! - a column is [`ColumnData::Numeric`] when every non-empty cell is a finite
//!   number, [`ColumnData::Text`] when none is; `NaN`/`inf` among numbers stay
//!   an error ([`ValueProblem::NonFinite`]);
//! - a column mixing numbers and text is refused ([`TableError::Mixed`]: the
//!   column, one line with a number, one with text, and the hint `--categorical`
//!   or `--features`) unless it is named in [`TypedSpec::categorical`]: then it
//!   is [`ColumnData::CodedNumbers`] when all its non-empty cells are numbers,
//!   else [`ColumnData::Text`] (its cells' spellings as categories);
//! - a feature column empty on every row is refused ([`TableError::AllEmpty`],
//!   with the hint to leave it out with `--features`);
//! - the label is required on every row ([`TableError::MissingLabel`]), as
//!   0/1, `"0"`/`"1"` or true/false like the numeric reader.
//!
//! Errors name the line (1-based, the header is line 1) and the column. The
//! bytes are read once, line by line; each column keeps one value per row (an
//! `f64` or a `u32` code) and a text column a dictionary of its distinct values
//! (a hash map, so a column of 100,000 distinct values costs no more than one
//! of ten). No vocabulary cap is applied here: the trainer does that.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::{
    next_field, parse_header, parse_label, read_bytes, shown, trim, CsvError, Features, Spec, Target, ValueProblem,
};

/// What to read from a training file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedSpec {
    /// The label column (0/1, "0"/"1" or true/false; required on every row).
    pub label: String,
    /// A column carried with each row, never a feature.
    pub id: Option<String>,
    /// The feature columns in this order; `None`: every column but the label
    /// and the id, in the file's order.
    pub features: Option<Vec<String>>,
    /// Feature columns to read as categories even when their cells are numbers
    /// (`--categorical`).
    pub categorical: Vec<String>,
}

/// One feature column's cells.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    /// Finite numbers; NaN is an empty cell.
    Numeric(Vec<f64>),
    /// Text categories.
    Text {
        /// Per row, an index into `dictionary`; `u32::MAX` is an empty cell.
        values: Vec<u32>,
        /// The distinct values, in order of first appearance.
        dictionary: Vec<String>,
    },
    /// A `--categorical` column whose cells are all numbers: its values; NaN is
    /// an empty cell.
    CodedNumbers(Vec<f64>),
}

impl ColumnData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) | ColumnData::CodedNumbers(v) => v.len(),
            ColumnData::Text { values, .. } => values.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when row `row` is an empty cell.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            ColumnData::Numeric(v) | ColumnData::CodedNumbers(v) => v[row].is_nan(),
            ColumnData::Text { values, .. } => values[row] == u32::MAX,
        }
    }
}

/// A training table, column by column.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedTable {
    /// Feature names, in the spec's order (or the file's).
    pub names: Vec<String>,
    /// One column per name.
    pub columns: Vec<ColumnData>,
    /// Labels, 0 or 1, one per row.
    pub labels: Vec<u8>,
    /// The id column's values, when the spec names one.
    pub ids: Option<Vec<String>>,
}

impl TypedTable {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// One cell of a line, shown in a message: its line and its text (cut to 40 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// 1-based line number.
    pub line: usize,
    /// The cell, as written (trimmed).
    pub value: String,
}

/// Why a typed table could not be read.
#[derive(Debug)]
pub enum TableError {
    /// What the numeric reader also refuses: the header, field counts, quotes,
    /// labels, non-finite numbers.
    Csv(CsvError),
    /// A line has no label.
    MissingLabel {
        /// 1-based line number.
        line: usize,
    },
    /// A column has both numbers and text and is not named `--categorical`.
    Mixed {
        /// Column name.
        column: String,
        /// A line where it holds a number.
        number: Cell,
        /// A line where it holds text.
        text: Cell,
    },
    /// A feature column is empty on every row.
    AllEmpty {
        /// Column name.
        column: String,
    },
    /// A `--categorical` name is not one of the feature columns.
    NotAFeature {
        /// The name.
        column: String,
    },
}

impl From<CsvError> for TableError {
    fn from(e: CsvError) -> TableError {
        TableError::Csv(e)
    }
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Csv(e) => e.fmt(f),
            TableError::MissingLabel { line } => write!(f, "the label is missing on line {line}"),
            TableError::Mixed { column, number, text } => write!(
                f,
                "column {column} mixes numbers and text (line {}: {:?}, line {}: {:?}): name it with \
                 --categorical to use its values as categories, or leave it out with --features",
                number.line, number.value, text.line, text.value
            ),
            TableError::AllEmpty { column } => {
                write!(f, "column {column} is empty on every row: leave it out with --features")
            }
            TableError::NotAFeature { column } => {
                write!(f, "--categorical names {column}, which is not one of the feature columns")
            }
        }
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TableError::Csv(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads and parses a training file (see [`read_typed`]).
pub fn read_typed_csv(path: &Path, spec: &TypedSpec) -> Result<TypedTable, TableError> {
    read_typed(&read_bytes(path)?, spec)
}

/// Parses a training file's bytes into typed columns (the rules are the
/// module's): the spec's features, the label (required on every row) and the
/// id column (required when named). Errors name the line and the column; a
/// column of numbers and text is refused unless named in `categorical`, and a
/// feature column empty on every row is refused (leave it out with `features`).
pub fn read_typed(bytes: &[u8], spec: &TypedSpec) -> Result<TypedTable, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if trim(bytes).is_empty() {
        return Err(CsvError::Empty.into());
    }
    let header_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let header_line = &bytes[..header_end];
    let plain = Spec {
        features: spec.features.clone().map_or(Features::All, Features::Named),
        label: spec.label.clone(),
        id: spec.id.clone(),
    };
    let header = parse_header(header_line.strip_suffix(b"\r").unwrap_or(header_line), &plain, true)?;
    if let Some(column) = spec.categorical.iter().find(|c| !header.names.contains(c)) {
        return Err(TableError::NotAFeature { column: column.clone() });
    }
    let mut builders: Vec<Builder> = header.names.iter().map(|n| Builder::new(spec.categorical.contains(n))).collect();
    let body = if header_end < bytes.len() { &bytes[header_end + 1..] } else { &[] };
    let mut labels = Vec::new();
    let mut ids = spec.id.as_ref().map(|_| Vec::new());
    let targets = &header.targets;
    for (k, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = k + 2;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if trim(line).is_empty() {
            continue;
        }
        let mut label = None;
        let mut pos = 0;
        let mut col = 0;
        while pos <= line.len() {
            let quoted = line.get(pos) == Some(&b'"');
            let field = next_field(line, &mut pos).ok_or(CsvError::UnclosedQuote { line: line_no })?;
            let Some(&target) = targets.get(col) else {
                let mut found = col + 1;
                while pos <= line.len() {
                    next_field(line, &mut pos);
                    found += 1;
                }
                return Err(CsvError::FieldCount { line: line_no, expected: targets.len(), found }.into());
            };
            let field = trim(field);
            match target {
                Target::Ignore => {}
                Target::Id => {
                    if let Some(ids) = ids.as_mut() {
                        ids.push(text_of(field, quoted).into_owned());
                    }
                }
                Target::Label => {
                    if field.is_empty() {
                        return Err(TableError::MissingLabel { line: line_no });
                    }
                    label = Some(parse_label(field).ok_or_else(|| CsvError::Value {
                        line: line_no,
                        column: spec.label.clone(),
                        problem: ValueProblem::BadLabel(shown(field)),
                    })?);
                }
                Target::Feature(i) => {
                    builders[i].push(field, quoted, line_no).map_err(|e| e.named(&header.names[i]))?;
                }
            }
            col += 1;
        }
        if col != targets.len() {
            return Err(CsvError::FieldCount { line: line_no, expected: targets.len(), found: col }.into());
        }
        // The header has the label (parse_header requires it), so every complete line set it.
        labels.push(label.unwrap_or_default());
    }
    if labels.is_empty() {
        return Err(CsvError::NoRows.into());
    }
    let columns = builders
        .into_iter()
        .zip(&header.names)
        .map(|(b, name)| b.finish().map_err(|e| e.named(name)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TypedTable { names: header.names, columns, labels, ids })
}

/// A field's text: `""` unescaped when it was quoted; not UTF-8 is replaced lossily.
pub(crate) fn text_of(field: &[u8], quoted: bool) -> std::borrow::Cow<'_, str> {
    if quoted && memchr::memchr(b'"', field).is_some() {
        String::from_utf8_lossy(field).replace("\"\"", "\"").into()
    } else {
        String::from_utf8_lossy(field)
    }
}

/// A column-level error before its column's name is known.
enum ColumnError {
    NonFinite(Cell),
    Mixed { number: Cell, text: Cell },
    AllEmpty,
}

impl ColumnError {
    fn named(self, column: &str) -> TableError {
        let column = column.to_string();
        match self {
            ColumnError::NonFinite(cell) => TableError::Csv(CsvError::Value {
                line: cell.line,
                column,
                problem: ValueProblem::NonFinite(cell.value),
            }),
            ColumnError::Mixed { number, text } => TableError::Mixed { column, number, text },
            ColumnError::AllEmpty => TableError::AllEmpty { column },
        }
    }
}

/// One feature column being read.
struct Builder {
    categorical: bool,
    state: State,
}

enum State {
    /// Only empty cells so far: how many.
    Empty(usize),
    /// Finite numbers (a column not named categorical); NaN = empty.
    Numbers { values: Vec<f64>, first: Cell },
    /// Text, or every cell of a categorical column, as codes.
    Text(Box<TextColumn>),
}

struct TextColumn {
    values: Vec<u32>,
    codes: HashMap<String, u32>,
    /// First cell that is neither a number nor a non-finite spelling.
    first_text: Option<Cell>,
    /// First cell spelled like NaN or infinity.
    first_non_finite: Option<Cell>,
    /// First finite number (categorical columns only).
    first_number: Option<Cell>,
}

impl TextColumn {
    fn new(empties: usize) -> TextColumn {
        TextColumn {
            values: vec![u32::MAX; empties],
            codes: HashMap::new(),
            first_text: None,
            first_non_finite: None,
            first_number: None,
        }
    }

    fn push(&mut self, field: &[u8], quoted: bool) {
        let text = text_of(field, quoted);
        let code = match self.codes.get(text.as_ref()) {
            Some(&c) => c,
            None => {
                // u32::MAX marks an empty cell; a column cannot have that many rows in memory anyway.
                let c = u32::try_from(self.codes.len()).unwrap_or(u32::MAX - 1).min(u32::MAX - 1);
                self.codes.insert(text.into_owned(), c);
                c
            }
        };
        self.values.push(code);
    }
}

/// What a non-empty cell is.
enum CellKind {
    Number(f64),
    NonFinite,
    Text,
}

fn classify(field: &[u8]) -> CellKind {
    match fast_float2::parse::<f64, _>(field) {
        Ok(v) if v.is_finite() => CellKind::Number(v),
        Ok(_) => CellKind::NonFinite,
        Err(_) => CellKind::Text,
    }
}

impl Builder {
    fn new(categorical: bool) -> Builder {
        Builder { categorical, state: State::Empty(0) }
    }

    /// One cell (trimmed) of line `line`.
    fn push(&mut self, field: &[u8], quoted: bool, line: usize) -> Result<(), ColumnError> {
        let cell = || Cell { line, value: shown(field) };
        if field.is_empty() {
            match &mut self.state {
                State::Empty(n) => *n += 1,
                State::Numbers { values, .. } => values.push(f64::NAN),
                State::Text(t) => t.values.push(u32::MAX),
            }
            return Ok(());
        }
        let kind = classify(field);
        if self.categorical {
            // Every cell is kept as text; whether they were all numbers decides at the end.
            if let State::Empty(n) = self.state {
                self.state = State::Text(Box::new(TextColumn::new(n)));
            }
            let State::Text(t) = &mut self.state else { unreachable!("a categorical column is read as text") };
            match kind {
                CellKind::Number(_) => {
                    t.first_number.get_or_insert_with(cell);
                }
                CellKind::NonFinite => {
                    t.first_non_finite.get_or_insert_with(cell);
                }
                CellKind::Text => {
                    t.first_text.get_or_insert_with(cell);
                }
            }
            t.push(field, quoted);
            return Ok(());
        }
        match (&mut self.state, kind) {
            (State::Empty(n), CellKind::Number(v)) => {
                let mut values = vec![f64::NAN; *n];
                values.push(v);
                self.state = State::Numbers { values, first: cell() };
            }
            (State::Empty(n), kind) => {
                let mut t = TextColumn::new(*n);
                match kind {
                    CellKind::NonFinite => t.first_non_finite = Some(cell()),
                    _ => t.first_text = Some(cell()),
                }
                t.push(field, quoted);
                self.state = State::Text(Box::new(t));
            }
            (State::Numbers { values, .. }, CellKind::Number(v)) => values.push(v),
            (State::Numbers { .. }, CellKind::NonFinite) => return Err(ColumnError::NonFinite(cell())),
            (State::Numbers { first, .. }, CellKind::Text) => {
                return Err(ColumnError::Mixed { number: first.clone(), text: cell() });
            }
            (State::Text(t), CellKind::Number(_)) => {
                return Err(match &t.first_text {
                    Some(text) => ColumnError::Mixed { number: cell(), text: text.clone() },
                    // Only NaN/inf so far: among numbers those are non-finite numbers.
                    None => ColumnError::NonFinite(t.first_non_finite.clone().unwrap_or_else(cell)),
                });
            }
            (State::Text(t), kind) => {
                match kind {
                    CellKind::NonFinite => t.first_non_finite.get_or_insert_with(cell),
                    _ => t.first_text.get_or_insert_with(cell),
                };
                t.push(field, quoted);
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ColumnData, ColumnError> {
        match self.state {
            State::Empty(_) => Err(ColumnError::AllEmpty),
            State::Numbers { values, .. } => Ok(ColumnData::Numeric(values)),
            State::Text(t) => {
                let t = *t;
                if t.first_number.is_some() && t.first_text.is_none() {
                    // A categorical column of numbers: NaN/inf among them are errors.
                    if let Some(cell) = t.first_non_finite {
                        return Err(ColumnError::NonFinite(cell));
                    }
                    let mut numbers = vec![0.0; t.codes.len()];
                    for (text, &code) in &t.codes {
                        numbers[code as usize] = fast_float2::parse::<f64, _>(text.as_bytes()).unwrap_or(f64::NAN);
                    }
                    let values =
                        t.values.iter().map(|&c| if c == u32::MAX { f64::NAN } else { numbers[c as usize] }).collect();
                    return Ok(ColumnData::CodedNumbers(values));
                }
                let mut dictionary = vec![String::new(); t.codes.len()];
                for (text, code) in t.codes {
                    dictionary[code as usize] = text;
                }
                Ok(ColumnData::Text { values: t.values, dictionary })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(label: &str, id: Option<&str>, categorical: &[&str]) -> TypedSpec {
        TypedSpec {
            label: label.into(),
            id: id.map(String::from),
            features: None,
            categorical: categorical.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn error(csv: &str, spec: &TypedSpec) -> String {
        read_typed(csv.as_bytes(), spec).unwrap_err().to_string()
    }

    fn text(column: &ColumnData) -> (Vec<Option<&str>>, usize) {
        let ColumnData::Text { values, dictionary } = column else { panic!("not text: {column:?}") };
        let cells = values.iter().map(|&c| (c != u32::MAX).then(|| dictionary[c as usize].as_str())).collect();
        (cells, dictionary.len())
    }

    #[test]
    fn reads_text_empty_cells_and_categorical_numbers() {
        let csv = "tx,amount,country,mcc,note,is_fraud\r\n\
                   a,12.5,FR,5411,\"a, \"\"b\"\"\",0\r\n\
                   b,,\"\",\"\",  ,1\n\
                   \n\
                   c,3,\" DE \",7995.0,x,\"1\"\n\
                   d,4,FR,,\"a, \"\"b\"\"\",false\n";
        let t = read_typed(csv.as_bytes(), &spec("is_fraud", Some("tx"), &["mcc"])).unwrap();
        assert_eq!(t.names, ["amount", "country", "mcc", "note"]);
        assert_eq!(t.labels, [0, 1, 1, 0]);
        assert_eq!(t.ids.as_deref().unwrap(), ["a", "b", "c", "d"]);
        let ColumnData::Numeric(amount) = &t.columns[0] else { panic!("{:?}", t.columns[0]) };
        assert_eq!(amount[0], 12.5);
        assert!(amount[1].is_nan());
        assert_eq!(amount[2..], [3.0, 4.0]);
        assert_eq!(text(&t.columns[1]), (vec![Some("FR"), None, Some("DE"), Some("FR")], 2));
        let ColumnData::CodedNumbers(mcc) = &t.columns[2] else { panic!("{:?}", t.columns[2]) };
        assert_eq!(mcc[0], 5411.0);
        assert_eq!(mcc[2], 7995.0);
        assert!(mcc[1].is_nan() && mcc[3].is_nan());
        // Quoted text with a comma and escaped quotes is one cell.
        assert_eq!(text(&t.columns[3]), (vec![Some("a, \"b\""), None, Some("x"), Some("a, \"b\"")], 2));
        assert!(t.columns[3].is_missing(1) && !t.columns[3].is_missing(0));

        // Named features pick and order columns; a categorical column with text is text.
        let named =
            TypedSpec { features: Some(vec!["mcc".into(), "amount".into()]), ..spec("is_fraud", None, &["mcc"]) };
        let csv = "amount,mcc,is_fraud\n1,5411,0\n2,grocery,1\n3,5411,0\n";
        let t = read_typed(csv.as_bytes(), &named).unwrap();
        assert_eq!(t.names, ["mcc", "amount"]);
        assert_eq!(text(&t.columns[0]), (vec![Some("5411"), Some("grocery"), Some("5411")], 2));
        assert_eq!(t.columns[1], ColumnData::Numeric(vec![1.0, 2.0, 3.0]));
        assert!(t.ids.is_none());
    }

    #[test]
    fn mixed_columns_are_refused_unless_categorical() {
        let csv = "amount,merchant,is_fraud\n1,12,0\n2,,0\n3,acme,1\n";
        let err = error(csv, &spec("is_fraud", None, &[]));
        assert_eq!(
            err,
            "column merchant mixes numbers and text (line 2: \"12\", line 4: \"acme\"): name it with \
             --categorical to use its values as categories, or leave it out with --features"
        );
        // Text first, then a number.
        let csv = "amount,merchant,is_fraud\n1,acme,0\n2,7,0\n";
        assert!(error(csv, &spec("is_fraud", None, &[])).contains("(line 3: \"7\", line 2: \"acme\")"));
        let t = read_typed(csv.as_bytes(), &spec("is_fraud", None, &["merchant"])).unwrap();
        assert_eq!(text(&t.columns[1]), (vec![Some("acme"), Some("7")], 2));
        // Non-finite numbers among numbers stay errors, whichever comes first.
        let e = |csv: &str, cat: &[&str]| error(csv, &spec("y", None, cat));
        assert!(e("a,y\n1,0\nNaN,0\n", &[]).contains("line 3, column a: \"NaN\" is not a finite number"));
        assert!(e("a,y\ninf,0\n1,0\n", &[]).contains("line 2, column a: \"inf\" is not a finite number"));
        assert!(e("a,y\n1,0\ninf,0\n", &["a"]).contains("line 3, column a: \"inf\" is not a finite number"));
        // Other errors of the numeric reader, with their lines.
        assert!(e("a,y\n1,0\n1,2\n", &[]).contains("line 3, column y: label \"2\" is not 0/1"));
        assert!(e("a,y\n1,0\n1,0,3\n", &[]).contains("line 3: 3 fields, the header has 2"));
        assert!(e("a,y\n\"1,0\n", &[]).contains("line 2: a quoted field is not closed"));
        assert!(e("a,b\n1,0\n", &[]).contains("missing column(s) y"));
        assert!(e("a,y\n", &[]).contains("header but no data rows"));
        assert!(e("a,y\n1,0\n", &["b"]).contains("--categorical names b, which is not one of the feature columns"));
    }

    #[test]
    fn missing_label_and_empty_columns_are_refused() {
        let s = spec("is_fraud", None, &[]);
        let err = error("amount,is_fraud\n1,0\n2,\n", &s);
        assert!(err.contains("the label is missing on line 3"), "{err}");
        assert!(error("amount,is_fraud\n1,0\n2,\" \"\n", &s).contains("the label is missing on line 3"));
        let err = error("amount,blank,is_fraud\n1,,0\n2,\"\",1\n", &s);
        assert_eq!(err, "column blank is empty on every row: leave it out with --features");
        assert!(error("amount,blank,is_fraud\n1,,0\n", &spec("is_fraud", None, &["blank"])).contains("every row"));
    }

    #[test]
    fn many_distinct_text_values_read_quickly() {
        let n = 100_000;
        let mut csv = String::from("id_like,amount,is_fraud\n");
        for i in 0..n {
            csv.push_str(&format!("user-{i},{i},{}\n", i % 2));
        }
        // Repeats too: the second half reuses the first half's values.
        for i in 0..n / 2 {
            csv.push_str(&format!("\"user-{i}\",{i},0\n"));
        }
        let start = std::time::Instant::now();
        let t = read_typed(csv.as_bytes(), &spec("is_fraud", None, &[])).unwrap();
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
        assert_eq!(t.len(), n + n / 2);
        let ColumnData::Text { values, dictionary } = &t.columns[0] else { panic!() };
        assert_eq!(dictionary.len(), n);
        assert_eq!(dictionary[12_345], "user-12345");
        assert_eq!(values[n + 7], values[7]);
        assert_eq!(values[n - 1], (n - 1) as u32);
    }
}
