//! Scoring a file of transactions with any model artifact, in constant memory.
//!
//! The input is read in blocks cut at line ends; worker threads (one per core)
//! parse a block with the `dataset` crate's line parser, score it with
//! `fraud_core`'s batch scorer (the served probabilities and decisions, bit for
//! bit) and format its output lines; one writer puts blocks back in input order.
//! Bounded queues keep at most a few blocks in memory, however long the file.
//!
//! Bad lines — malformed CSV, a non-numeric or out-of-range value — are reported
//! by line and column: the run stops at the first one, or, with
//! [`Options::skip_bad`], skips them, counting every one and listing the first
//! [`LISTED_BAD_LINES`].

use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};

use dataset::{parse_line, Columns, CsvError, Spec};
use fraud_core::{validate_row, Action, Model, RuleSet};

/// Bad lines listed in the report (all are counted).
pub const LISTED_BAD_LINES: usize = 20;

/// How to score.
#[derive(Clone, Debug)]
pub struct Options {
    /// Top reasons per row (the features with the largest contributions; 0 for none).
    pub reasons: usize,
    /// Skip bad lines (counted and listed) instead of stopping at the first.
    pub skip_bad: bool,
    /// The input's id column, carried to the output (never a feature). Default:
    /// the model's id column, when the input has it.
    pub id_column: Option<String>,
    /// Bytes per block handed to a worker.
    pub block_bytes: usize,
    /// Worker threads.
    pub threads: usize,
    /// Add a `margin` column: the model's raw logit before calibration (for an
    /// imported model, the library's own margin, bit for bit).
    pub margin: bool,
    /// Rules deciding each row's action: adds `action` and `rule` columns
    /// (the rule's id, empty when the model decided) and `shadow_rules`
    /// (the matching shadow rules' ids, `;`-separated).
    pub rules: Option<Arc<RuleSet>>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reasons: 3,
            skip_bad: false,
            id_column: None,
            block_bytes: 4 << 20,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            margin: false,
            rules: None,
        }
    }
}

/// A line that could not be scored.
#[derive(Clone, Debug, PartialEq)]
pub struct BadLine {
    /// 1-based line number in the input (the header is line 1).
    pub line: usize,
    /// What is wrong, naming the line and the column (`line 7, column V3: "abc" is not a number`).
    pub message: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Rows scored and written.
    pub rows: u64,
    /// Of which refused by the model's policy.
    pub refused: u64,
    /// Rows per action (accept, review, refuse): the rules' when given, else the model's.
    pub actions: [u64; 3],
    /// Lines skipped as bad (with `skip_bad`).
    pub bad_lines: u64,
    /// The first [`LISTED_BAD_LINES`] of them.
    pub listed: Vec<BadLine>,
    /// Input bytes read (header included).
    pub bytes: u64,
}

/// Why a run stopped.
#[derive(Debug)]
pub enum ScoreError {
    /// The header lacks schema columns (or the id column), or repeats one.
    Header(CsvError),
    /// A bad line, without `skip_bad`.
    Bad(BadLine),
    /// Reading or writing failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::Header(e) => write!(f, "the header does not fit the model's schema: {e}"),
            ScoreError::Bad(b) => write!(f, "{b} (--skip-bad skips such lines and lists them)"),
            ScoreError::Io(_) => f.write_str("reading the input or writing the output failed"),
        }
    }
}

impl std::error::Error for ScoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScoreError::Header(e) => Some(e),
            ScoreError::Io(e) => Some(e),
            ScoreError::Bad(_) => None,
        }
    }
}

impl From<std::io::Error> for ScoreError {
    fn from(e: std::io::Error) -> ScoreError {
        ScoreError::Io(e)
    }
}

/// A block of input lines and the line number of its first.
struct Block {
    seq: u64,
    first_line: usize,
    bytes: Vec<u8>,
}

/// A block's output.
struct Scored {
    seq: u64,
    text: Vec<u8>,
    rows: u64,
    refused: u64,
    actions: [u64; 3],
    bad: Vec<BadLine>,
    input_bytes: usize,
}

/// The output's header line.
fn header(options: &Options) -> String {
    let mut h = String::from("line");
    if let Some(id) = &options.id_column {
        h.push(',');
        h.push_str(&csv_field(id.as_bytes()));
    }
    h.push_str(",fraud_probability,is_fraud");
    if options.margin {
        h.push_str(",margin");
    }
    if options.rules.is_some() {
        h.push_str(",action,rule,shadow_rules");
    }
    for k in 1..=options.reasons {
        let _ = write!(h, ",reason_{k}");
    }
    h.push('\n');
    h
}

/// A field as CSV: quoted when it holds a comma, a quote or a line break.
fn csv_field(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Appends a whole number (what `write!` does, without the formatting machinery's cost per row).
fn push_integer(text: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    text.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits are UTF-8"));
}

/// Parses, scores and formats one block. Stops at its first bad line unless `skip_bad`.
fn score_block(model: &Model, columns: &Columns, options: &Options, block: Block) -> Scored {
    let n_lines = memchr::memchr_iter(b'\n', &block.bytes).count() + 1;
    let width = model.width();
    let mut rows: Vec<f64> = Vec::with_capacity(n_lines * width);
    let mut meta: Vec<(usize, Option<&[u8]>)> = Vec::with_capacity(n_lines);
    let mut bad = Vec::new();
    let mut row = vec![0.0; width];
    for (i, line) in block.bytes.split(|&b| b == b'\n').enumerate() {
        let number = block.first_line + i;
        match parse_line(line, columns, &mut row) {
            Ok(None) => continue,
            Ok(Some(parsed)) => {
                rows.extend_from_slice(&row);
                meta.push((number, parsed.id));
                continue;
            }
            Err(e) => bad.push(BadLine { line: number, message: e.at_line(number).to_string() }),
        }
        if !options.skip_bad {
            break;
        }
    }
    let mut probabilities = vec![0.0; meta.len()];
    if model.score_batch(&rows, &mut probabilities).is_err() {
        // Parsed but outside core's range (|x| > 1e12): find every such row,
        // drop it, score the rest. Rare, so the common path validates once.
        let (mut kept, mut kept_meta) = (Vec::with_capacity(rows.len()), Vec::with_capacity(meta.len()));
        for (x, m) in rows.chunks_exact(width).zip(&meta) {
            match validate_row(model.schema(), x) {
                Ok(()) => {
                    kept.extend_from_slice(x);
                    kept_meta.push(*m);
                }
                Err(e) => bad.push(BadLine { line: m.0, message: format!("line {}: {e}", m.0) }),
            }
        }
        bad.sort_by_key(|b| b.line);
        if !options.skip_bad {
            bad.truncate(1);
        }
        (rows, meta) = (kept, kept_meta);
        probabilities.truncate(meta.len());
        // Every row left passed `validate_row`, so the batch cannot be refused.
        let scored = model.score_batch(&rows, &mut probabilities);
        debug_assert!(scored.is_ok(), "validated rows always score");
    }
    let mut decisions = vec![false; meta.len()];
    model.decide_batch(&rows, &probabilities, &mut decisions);
    let mut margins = vec![0.0; if options.margin { meta.len() } else { 0 }];
    if options.margin {
        // The rows scored above: they cannot be refused now.
        let scored = model.logit_batch(&rows, &mut margins);
        debug_assert!(scored.is_ok(), "scored rows have logits");
    }
    let mut text = String::with_capacity(meta.len() * (40 + 16 * options.reasons));
    let mut ryu = ryu::Buffer::new();
    let mut actions = [0u64; 3];
    for (k, (((x, &(line, id)), &p), &refused)) in
        rows.chunks_exact(width).zip(&meta).zip(&probabilities).zip(&decisions).enumerate()
    {
        push_integer(&mut text, line);
        if options.id_column.is_some() {
            text.push(',');
            text.push_str(&csv_field(id.unwrap_or_default()));
        }
        text.push(',');
        text.push_str(ryu.format(p));
        text.push_str(if refused { ",1" } else { ",0" });
        if let Some(&m) = margins.get(k) {
            text.push(',');
            text.push_str(ryu.format(m));
        }
        match &options.rules {
            Some(rules) => {
                let id = id.map(String::from_utf8_lossy);
                let v = rules.verdict(model, x, id.as_deref(), p, refused);
                actions[v.action as usize] += 1;
                text.push(',');
                text.push_str(v.action.as_str());
                text.push(',');
                if let Some(i) = v.rule {
                    text.push_str(rules.rule(i as usize).id());
                }
                text.push(',');
                for (n, i) in v.shadow.iter().enumerate() {
                    if n > 0 {
                        text.push(';');
                    }
                    text.push_str(rules.rule(i).id());
                }
            }
            None => actions[Action::of_model(refused) as usize] += 1,
        }
        if options.reasons > 0 {
            // Every row left passed validation: it is a transaction of this model.
            let Ok(t) = model.transaction(x) else { continue };
            let reasons = model.explain(&t, options.reasons);
            for k in 0..options.reasons {
                match reasons.get(k) {
                    Some(c) => {
                        let _ = write!(text, ",{}:{:+.4}", c.feature, c.contribution);
                    }
                    None => text.push(','),
                }
            }
        }
        text.push('\n');
    }
    Scored {
        seq: block.seq,
        rows: meta.len() as u64,
        refused: decisions.iter().filter(|&&d| d).count() as u64,
        actions,
        text: text.into_bytes(),
        bad,
        input_bytes: block.bytes.len() + 1,
    }
}

/// Scores every line of `input` (a CSV with the model's schema) into `output`.
/// `progress` is called with the input bytes consumed so far.
pub fn score(
    model: &Model,
    mut input: impl BufRead,
    output: &mut (impl Write + Send),
    options: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report, ScoreError> {
    let mut head = Vec::new();
    input.read_until(b'\n', &mut head)?;
    let header_line = head.strip_suffix(b"\n").unwrap_or(&head);
    // The model's features (its label is read when present); the id column
    // asked for, or the model's own when the file has it.
    let spec = |id: Option<&str>| Spec { id: id.map(str::to_string), ..Spec::of_schema(model.schema()) };
    let (columns, id_column) = match (&options.id_column, model.schema().id()) {
        (Some(id), _) => (Columns::from_header(header_line, &spec(Some(id))), Some(id.clone())),
        (None, Some(id)) => match Columns::from_header(header_line, &spec(Some(id))) {
            Ok(columns) => (Ok(columns), Some(id.to_string())),
            Err(_) => (Columns::from_header(header_line, &spec(None)), None),
        },
        (None, None) => (Columns::from_header(header_line, &spec(None)), None),
    };
    // A model with categories or missing values reads empty cells and category codes.
    let columns = columns.map_err(ScoreError::Header)?.with_schema(model.schema());
    let resolved = Options { id_column, ..options.clone() };
    let options = &resolved;
    output.write_all(header(options).as_bytes())?;
    let threads = options.threads.max(1);
    let (work_tx, work_rx) = sync_channel::<Block>(threads);
    let (done_tx, done_rx) = sync_channel::<Scored>(threads * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let mut report = Report { bytes: head.len() as u64, ..Report::default() };
    std::thread::scope(|s| -> Result<(), ScoreError> {
        for _ in 0..threads {
            let (work_rx, done_tx, columns) = (Arc::clone(&work_rx), done_tx.clone(), &columns);
            s.spawn(move || worker(model, columns, options, &work_rx, &done_tx));
        }
        // Only the workers hold the queues' other ends: when the writer stops
        // (a bad line), the workers stop, and then the reader's sends fail.
        drop((done_tx, work_rx));
        let report = &mut report;
        let output = &mut *output;
        let writer = s.spawn(move || write_in_order(done_rx, output, options, report, progress));
        let read = read_blocks(&mut input, options.block_bytes, |block| work_tx.send(block).is_ok());
        drop(work_tx);
        // The writer's result first: a bad line stops the writer, which stops the reader's sends.
        let written = writer.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        written?;
        read.map_err(ScoreError::Io)
    })?;
    output.flush()?;
    Ok(report)
}

fn worker(
    model: &Model,
    columns: &Columns,
    options: &Options,
    work: &Mutex<Receiver<Block>>,
    done: &std::sync::mpsc::SyncSender<Scored>,
) {
    loop {
        // A poisoned lock means another worker panicked: that panic is re-raised by the scope.
        let block = match work.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(block) = block else { return };
        if done.send(score_block(model, columns, options, block)).is_err() {
            return;
        }
    }
}

/// Reads blocks of about `block_bytes`, cut after a newline, numbering lines
/// from 2; `send` returns false when nobody listens any more.
fn read_blocks(
    input: &mut impl BufRead,
    block_bytes: usize,
    mut send: impl FnMut(Block) -> bool,
) -> std::io::Result<()> {
    let mut next_line = 2;
    let mut seq = 0;
    loop {
        let mut bytes = Vec::with_capacity(block_bytes + 4096);
        let want = block_bytes.max(1);
        let mut eof = false;
        while bytes.len() < want {
            let buf = input.fill_buf()?;
            if buf.is_empty() {
                eof = true;
                break;
            }
            let take = buf.len().min(want - bytes.len());
            bytes.extend_from_slice(&buf[..take]);
            input.consume(take);
        }
        if !eof {
            // Finish the line in hand, so a block never splits one.
            input.read_until(b'\n', &mut bytes)?;
        }
        if let Some(last) = bytes.strip_suffix(b"\n") {
            let len = last.len();
            bytes.truncate(len);
        }
        if bytes.is_empty() && eof {
            return Ok(());
        }
        let lines = memchr::memchr_iter(b'\n', &bytes).count() + 1;
        let block = Block { seq, first_line: next_line, bytes };
        next_line += lines;
        seq += 1;
        if !send(block) || eof {
            return Ok(());
        }
    }
}

fn write_in_order(
    done: Receiver<Scored>,
    output: &mut impl Write,
    options: &Options,
    report: &mut Report,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), ScoreError> {
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0;
    for scored in done {
        pending.insert(scored.seq, scored);
        while let Some(s) = pending.remove(&next) {
            next += 1;
            if let (false, Some(first)) = (options.skip_bad, s.bad.first()) {
                // Rows before the bad line in this block are not written: the run failed.
                return Err(ScoreError::Bad(first.clone()));
            }
            output.write_all(&s.text)?;
            report.rows += s.rows;
            report.refused += s.refused;
            for (total, n) in report.actions.iter_mut().zip(s.actions) {
                *total += n;
            }
            report.bad_lines += s.bad.len() as u64;
            let room = LISTED_BAD_LINES.saturating_sub(report.listed.len());
            report.listed.extend(s.bad.into_iter().take(room));
            report.bytes += s.input_bytes as u64;
            progress(report.bytes);
        }
    }
    Ok(())
}
