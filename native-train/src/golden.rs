//! The parity golden file: the native core's probability bits, the model's
//! decision and the rules' action for every row of a replay CSV. Every other
//! runtime (wasm, the Worker, the HTTP server, the file scorer) is checked
//! against it bit for bit.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use fraud_core::rules::RulesFiles;
use fraud_core::{Action, RuleSet};

use crate::input::ScoringFiles;
use crate::output::write_atomic;

/// Scores `files`' rows with its model, decides them by `rules` (none: the
/// model decides) and writes the golden file to `out`; prints what was written.
/// A rule's `:id:` sees the replay's id column when the schema has one.
pub fn write(files: &ScoringFiles, rules: Option<&RulesFiles>, out: &Path) -> Result<()> {
    let (loaded, replay) = files.load_with_ids()?;
    let model = &loaded.model;
    let rules = match rules {
        Some(r) => Some(r.load(model.schema()).with_context(|| format!("loading {}", r.rules.display()))?),
        None => None,
    };
    let mut probabilities = vec![0.0; replay.len()];
    model.score_batch(replay.values(), &mut probabilities)?;
    let mut decisions = vec![false; probabilities.len()];
    model.decide_batch(replay.values(), &probabilities, &mut decisions);
    let ids = replay.ids().map(|(_, ids)| ids);
    let empty = RuleSet::empty();
    let set = rules.as_ref().unwrap_or(&empty);
    let verdicts: Vec<(Action, Option<&str>)> = (0..replay.len())
        .map(|i| {
            let id = ids.map(|ids| ids[i].as_str());
            let v = set.verdict(model, replay.row(i), id, probabilities[i], decisions[i]);
            (v.action, v.rule.map(|r| set.rule(r as usize).id()))
        })
        .collect();
    let version = rules.as_ref().map(|r| r.version());
    let text = golden_csv(&loaded.id, version, &probabilities, &decisions, &verdicts);
    write_atomic(out, |w| w.write_all(text.as_bytes())).with_context(|| format!("writing {}", out.display()))?;
    let flagged = decisions.iter().filter(|&&d| d).count();
    let mut per_action = [0usize; 3];
    for (a, _) in &verdicts {
        per_action[*a as usize] += 1;
    }
    let by_rules = verdicts.iter().filter(|(_, r)| r.is_some()).count();
    println!(
        "wrote {} ({} rows, {flagged} flagged by the model; accept {}, review {}, refuse {}, {by_rules} decided by rules)",
        out.display(),
        probabilities.len(),
        per_action[0],
        per_action[1],
        per_action[2]
    );
    Ok(())
}

/// The golden file's text: for each row, the probability's f64 bit pattern
/// (16 hex digits), the probability (shortest exact decimal), the model's
/// decision, the action and the deciding rule's id (empty: the model decided).
/// A first `#` line names the model id the scores belong to and, with rules,
/// their version. `decisions` are the model's own (from `Model::decide_batch`:
/// with a cost-optimal policy they depend on each row's amount).
pub fn golden_csv(
    model_id: &str,
    ruleset: Option<&str>,
    probabilities: &[f64],
    decisions: &[bool],
    verdicts: &[(Action, Option<&str>)],
) -> String {
    let mut out = String::with_capacity(probabilities.len() * 60);
    let ruleset = ruleset.map(|v| format!(" ruleset {v}")).unwrap_or_default();
    out.push_str(&format!(
        "# model_id {model_id} rows {}{ruleset}\nrow,probability_bits,probability,is_fraud,action,rule\n",
        probabilities.len()
    ));
    let mut ryu = ryu::Buffer::new();
    for (i, ((&p, &refused), (action, rule))) in probabilities.iter().zip(decisions).zip(verdicts).enumerate() {
        out.push_str(&format!(
            "{i},{:016x},{},{},{},{}\n",
            p.to_bits(),
            ryu.format(p),
            refused as u8,
            action.as_str(),
            rule.unwrap_or("")
        ));
    }
    out
}
