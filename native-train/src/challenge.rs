//! `native-train backtest --from-log`: champion against challenger on what
//! was actually served. `fraud-server --shadow` logs the challenger's
//! probability and action beside every answered decision; once labels
//! arrive, this compares the two on the same transactions — average
//! precision of their scores, the money each one's actions made under the
//! costs, and which transactions would have changed action. Nothing is
//! scored again: both sides are what the log holds.
//!
//! A log can hold several pairs (a swap or a promotion changes them): each
//! (champion, challenger) pair is reported on its own decisions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use decision_log::{Config, Log, ShadowCounts, ShadowedRow, Target};
use fraud_core::decision::format_money;
use fraud_core::{Action, Costs, Tally};
use serde::Serialize;

use crate::metrics::average_precision;

use crate::backtest::{LISTED_CHANGES, SHOWN_CHANGES};

/// What `backtest --from-log` reads and writes.
#[derive(Clone, Debug)]
pub struct FromLogBacktest {
    /// The decision log: a SQLite file or a `postgres://` URL.
    pub target: String,
    /// The artifact whose costs price the decisions (its currency too).
    pub model: PathBuf,
    /// Unlabelled decisions older than this count as legitimate; younger ones are left out.
    pub maturity_ms: i64,
    /// What one review costs.
    pub review_cost: f64,
    /// Write the JSON report here.
    pub json: Option<PathBuf>,
}

/// One side of a pair: a model's figures on the pair's decisions.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// The model's id.
    pub model_id: String,
    /// Average precision of its probabilities against the outcomes (none without a fraud).
    pub average_precision: Option<f64>,
    /// Transactions per action: accept, review, refuse.
    pub accepted: u64,
    /// Sent to review.
    pub reviewed: u64,
    /// Refused.
    pub refused: u64,
    /// Frauds stopped (refused or reviewed).
    pub frauds_stopped: u64,
    /// Frauds accepted.
    pub frauds_missed: u64,
    /// Legitimate transactions refused.
    pub false_alarms: u64,
    /// What the reviews cost.
    pub review_cost: f64,
    /// Every decision's realised value under the costs.
    pub net_benefit: f64,
}

/// A transaction the two decided differently.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// The transaction id.
    pub id: String,
    /// The champion's action.
    pub champion: String,
    /// The challenger's.
    pub challenger: String,
    /// Their probabilities.
    pub champion_probability: f64,
    /// The challenger's probability.
    pub challenger_probability: f64,
    /// The outcome.
    pub fraud: bool,
    /// The amount, if logged.
    pub amount: Option<f64>,
    /// The challenger's realised value minus the champion's on it.
    pub difference: f64,
}

/// One (champion, challenger) pair's comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Pair {
    /// Decisions with a known outcome.
    pub transactions: u64,
    /// Of them, frauds.
    pub frauds: u64,
    /// The answered model.
    pub champion: Side,
    /// The one in shadow.
    pub challenger: Side,
    /// Challenger's net benefit minus the champion's.
    pub change_in_net_benefit: f64,
    /// Transactions that would have changed action.
    pub changed: u64,
    /// Counts by (champion action → challenger action).
    pub transitions: BTreeMap<String, u64>,
    /// The first [`LISTED_CHANGES`] of them.
    pub changes: Vec<Change>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The log (without a password).
    pub log: String,
    /// What was read.
    pub counts: ShadowCounts,
    /// The costs' currency.
    pub currency: String,
    /// What one review costs.
    pub cost_review: f64,
    /// The maturity window, days.
    pub maturity_days: f64,
    /// Per pair, most decisions first.
    pub pairs: Vec<Pair>,
}

/// Accumulates one pair.
struct Acc {
    champion: (String, Vec<f64>, Tally, [u64; 3]),
    challenger: (String, Vec<f64>, Tally, [u64; 3]),
    labels: Vec<u8>,
    changed: u64,
    transitions: BTreeMap<String, u64>,
    changes: Vec<Change>,
}

fn action(text: &str, id: &str) -> Result<Action> {
    Action::from_name(text).with_context(|| format!("decision {id:?}: the log holds an unknown action {text:?}"))
}

impl Acc {
    fn new(row: &ShadowedRow) -> Acc {
        let side = |id: &str| (id.to_string(), Vec::new(), Tally::default(), [0; 3]);
        Acc {
            champion: side(&row.champion.model_id),
            challenger: side(&row.challenger.model_id),
            labels: Vec::new(),
            changed: 0,
            transitions: BTreeMap::new(),
            changes: Vec::new(),
        }
    }

    fn add(&mut self, row: &ShadowedRow, costs: &Costs, review_cost: f64) -> Result<()> {
        let amount = row.amount.filter(|a| a.is_finite()).unwrap_or(0.0);
        let a = action(&row.champion.action, &row.id)?;
        let b = action(&row.challenger.action, &row.id)?;
        let mut values = [0.0; 2];
        for ((side, act, p), value) in
            [(&mut self.champion, a, row.champion.probability), (&mut self.challenger, b, row.challenger.probability)]
                .into_iter()
                .zip(&mut values)
        {
            let before = side.2.net_benefit;
            side.1.push(p);
            side.2.add_action(costs, review_cost, amount, row.fraud, act);
            side.3[act as usize] += 1;
            *value = side.2.net_benefit - before;
        }
        self.labels.push(row.fraud as u8);
        if a != b {
            self.changed += 1;
            *self.transitions.entry(format!("{} -> {}", a.as_str(), b.as_str())).or_default() += 1;
            if self.changes.len() < LISTED_CHANGES {
                self.changes.push(Change {
                    id: row.id.clone(),
                    champion: a.as_str().into(),
                    challenger: b.as_str().into(),
                    champion_probability: row.champion.probability,
                    challenger_probability: row.challenger.probability,
                    fraud: row.fraud,
                    amount: row.amount,
                    difference: values[1] - values[0],
                });
            }
        }
        Ok(())
    }

    fn finish(self) -> Pair {
        let frauds = self.labels.iter().filter(|&&l| l == 1).count() as u64;
        let side = |(model_id, scores, t, actions): (String, Vec<f64>, Tally, [u64; 3]), labels: &[u8]| Side {
            model_id,
            average_precision: (frauds > 0).then(|| average_precision(&scores, labels)),
            accepted: actions[Action::Accept as usize],
            reviewed: actions[Action::Review as usize],
            refused: actions[Action::Refuse as usize],
            frauds_stopped: t.frauds_stopped,
            frauds_missed: t.frauds_missed,
            false_alarms: t.false_alarms,
            review_cost: t.review_cost,
            net_benefit: t.net_benefit,
        };
        let champion = side(self.champion, &self.labels);
        let challenger = side(self.challenger, &self.labels);
        Pair {
            transactions: self.labels.len() as u64,
            frauds,
            change_in_net_benefit: challenger.net_benefit - champion.net_benefit,
            champion,
            challenger,
            changed: self.changed,
            transitions: self.transitions,
            changes: self.changes,
        }
    }
}

/// Reads the log, compares, prints the console report and writes `--json`.
pub fn run(cmd: &FromLogBacktest, now_ms: i64) -> Result<Report> {
    anyhow::ensure!(
        cmd.review_cost.is_finite() && (0.0..=1e9).contains(&cmd.review_cost),
        "--cost-review must be a finite amount between 0 and 1e9, got {}",
        cmd.review_cost
    );
    let loaded = fraud_core::artifact::read_file(&cmd.model)
        .with_context(|| format!("--model {} prices the decisions", cmd.model.display()))?;
    let costs = loaded.model.costs().clone();
    let target = Target::parse(&cmd.target);
    let shown = target.shown();
    if let Target::Sqlite(path) = &target {
        // Opening would create an empty log: a mistyped path is an error, not an empty report.
        anyhow::ensure!(path.is_file(), "--from-log {}: no such decision log", path.display());
    }
    let log = Log::open(Config::new(target)).with_context(|| format!("cannot open the decision log {shown}"))?;
    let mut pairs: Vec<((String, String), Acc)> = Vec::new();
    let mut failed: Option<anyhow::Error> = None;
    let counts = log
        .shadowed(cmd.maturity_ms, now_ms, &mut |row| {
            if failed.is_some() {
                return;
            }
            let key = (row.champion.model_id.clone(), row.challenger.model_id.clone());
            let acc = match pairs.iter().position(|(k, _)| *k == key) {
                Some(i) => &mut pairs[i].1,
                None => {
                    pairs.push((key, Acc::new(&row)));
                    &mut pairs.last_mut().expect("just pushed").1
                }
            };
            if let Err(e) = acc.add(&row, &costs, cmd.review_cost) {
                failed = Some(e);
            }
        })
        .with_context(|| format!("reading the shadowed decisions of {shown}"))?;
    if let Some(e) = failed {
        return Err(e);
    }
    anyhow::ensure!(
        counts.known > 0,
        "{shown}: no decision with a challenger's beside it and a known outcome ({} shadowed, {} too young \
         to count unlabelled as legitimate); serve with `fraud-server --shadow` and post labels",
        counts.shadowed,
        counts.young_unlabelled
    );
    let mut pairs: Vec<Pair> = pairs.into_iter().map(|(_, acc)| acc.finish()).collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.transactions));
    let report = Report {
        log: shown,
        counts,
        currency: costs.currency.clone(),
        cost_review: cmd.review_cost,
        maturity_days: cmd.maturity_ms as f64 / 86_400_000.0,
        pairs,
    };
    print!("{}", console(&report));
    if let Some(path) = &cmd.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

/// The console table.
pub fn console(r: &Report) -> String {
    let money = |x: f64| format_money(x, &r.currency);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "champion vs challenger on {} logged decisions with a known outcome ({} shadowed; {} too young, left out)",
        r.counts.known, r.counts.shadowed, r.counts.young_unlabelled
    );
    for p in &r.pairs {
        let _ = writeln!(
            out,
            "\n{} transactions, {} frauds\n{:<12} {:<18} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}",
            p.transactions,
            p.frauds,
            "",
            "model",
            "AP",
            "accept",
            "review",
            "refuse",
            "stopped",
            "alarms",
            "net benefit"
        );
        for (name, s) in [("champion", &p.champion), ("challenger", &p.challenger)] {
            let ap = s.average_precision.map_or("-".to_string(), |a| format!("{a:.4}"));
            let id: String = s.model_id.chars().take(16).collect();
            let _ = writeln!(
                out,
                "{name:<12} {id:<18} {ap:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>14}",
                s.accepted,
                s.reviewed,
                s.refused,
                s.frauds_stopped,
                s.false_alarms,
                money(s.net_benefit)
            );
        }
        let _ = writeln!(
            out,
            "challenger - champion: {}; {} transactions change action ({})",
            money(p.change_in_net_benefit),
            p.changed,
            p.transitions.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ")
        );
        for c in p.changes.iter().take(SHOWN_CHANGES) {
            let _ = writeln!(
                out,
                "  {:<24} {:>7} -> {:<7} p {:.4} -> {:.4} {:<10} {}",
                c.id.chars().take(24).collect::<String>(),
                c.champion,
                c.challenger,
                c.champion_probability,
                c.challenger_probability,
                if c.fraud { "fraud" } else { "legitimate" },
                money(c.difference)
            );
        }
    }
    out
}
