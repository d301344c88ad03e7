//! The parity golden file: the native core's probability bits and decision
//! for every row of a replay CSV. Every other runtime (wasm, the Worker, the
//! HTTP server) is checked against it bit for bit.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::input::ScoringFiles;
use crate::output::write_atomic;

/// Scores `files`' rows with its model and writes the golden file to `out`; prints what was written.
pub fn write(files: &ScoringFiles, out: &Path) -> Result<()> {
    let (loaded, replay) = files.load()?;
    let model = &loaded.model;
    let mut probabilities = vec![0.0; replay.len()];
    model.score_batch(replay.values(), &mut probabilities)?;
    let mut decisions = vec![false; probabilities.len()];
    model.decide_batch(replay.values(), &probabilities, &mut decisions);
    let text = golden_csv(&loaded.id, &probabilities, &decisions);
    write_atomic(out, |w| w.write_all(text.as_bytes())).with_context(|| format!("writing {}", out.display()))?;
    let flagged = decisions.iter().filter(|&&d| d).count();
    println!("wrote {} ({} rows, {} flagged)", out.display(), probabilities.len(), flagged);
    Ok(())
}

/// The golden file's text: for each row, the probability's f64 bit pattern
/// (16 hex digits), the probability (shortest exact decimal) and the decision.
/// A first `#` line names the model id the scores belong to.
/// `decisions` are the model's own (from `Model::decide_batch`: with a
/// cost-optimal policy they depend on each row's amount).
pub fn golden_csv(model_id: &str, probabilities: &[f64], decisions: &[bool]) -> String {
    let mut out = String::with_capacity(probabilities.len() * 48);
    out.push_str(&format!(
        "# model_id {model_id} rows {}\nrow,probability_bits,probability,is_fraud\n",
        probabilities.len()
    ));
    let mut ryu = ryu::Buffer::new();
    for (i, (&p, &refused)) in probabilities.iter().zip(decisions).enumerate() {
        out.push_str(&format!("{i},{:016x},{},{}\n", p.to_bits(), ryu.format(p), refused as u8));
    }
    out
}
