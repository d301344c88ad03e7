//! `native-train backtest`: a rules file run over labelled history before it
//! goes live — per rule, what it decided and what that made or cost, the
//! totals against a baseline (another rules file, or the model alone), and
//! which transactions changed action. Console table, JSON and HTML.
//!
//! The counting is `fraud_core::rules::Backtest`, the same the page runs in
//! wasm, so the trainer's table and the page's agree to the cent.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use fraud_core::decision::format_money;
use fraud_core::rules::{Backtest, RuleTally, RulesFiles};
use fraud_core::{Action, Model, RuleSet, Tally};
use serde::Serialize;

/// Changed transactions listed in the JSON report (all are counted).
pub const LISTED_CHANGES: usize = 10_000;
/// Changed transactions shown on the console and in the HTML report.
pub const SHOWN_CHANGES: usize = 20;

/// What `backtest` reads and writes.
#[derive(Clone, Debug)]
pub struct BacktestCommand {
    /// The model artifact.
    pub model: PathBuf,
    /// The rules under test.
    pub rules: PathBuf,
    /// The rules they would replace (none: the model alone decides).
    pub baseline: Option<PathBuf>,
    /// Labelled transactions with the model's columns.
    pub data: PathBuf,
    /// The lists folder (default: `lists/` beside each rules file).
    pub lists: Option<PathBuf>,
    /// The label column (default: the model's).
    pub label: Option<String>,
    /// The id column `:id:` reads (default: the model's, when the file has it).
    pub id: Option<String>,
    /// What one review costs, in the model's currency.
    pub review_cost: f64,
    /// Write the JSON report here.
    pub json: Option<PathBuf>,
    /// Write the HTML report here.
    pub html: Option<PathBuf>,
}

/// One rule's line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct RuleLine {
    /// The rule's id (`(model)` for what no rule decided).
    pub rule: String,
    /// `accept`, `review` or `refuse`.
    pub action: String,
    /// Evaluated, never deciding.
    pub shadow: bool,
    /// Its line in the rules file (0 for the model).
    pub line: u32,
    /// Transactions it decided (a shadow rule: matched).
    pub decided: u64,
    /// Of them, frauds.
    pub frauds: u64,
    /// Of them, legitimate.
    pub legitimate: u64,
    /// Fraud amount refused or sent to review.
    pub fraud_amount_stopped: f64,
    /// Legitimate amount refused.
    pub legitimate_amount_refused: f64,
    /// Reviews.
    pub reviews: u64,
    /// What they cost.
    pub review_cost: f64,
    /// The realised value of its decisions.
    pub net_benefit: f64,
}

impl RuleLine {
    fn new(rule: &str, action: &str, shadow: bool, line: u32, t: &RuleTally) -> RuleLine {
        RuleLine {
            rule: rule.to_string(),
            action: action.to_string(),
            shadow,
            line,
            decided: t.decided,
            frauds: t.frauds,
            legitimate: t.legitimate,
            fraud_amount_stopped: t.fraud_amount_stopped,
            legitimate_amount_refused: t.legitimate_amount_refused,
            reviews: t.reviews,
            review_cost: t.review_cost,
            net_benefit: t.net_benefit,
        }
    }
}

/// A rule set's totals.
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    /// The rule set's version (`model` for the model alone).
    pub version: String,
    /// Transactions accepted.
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
    /// Fraud amount stopped.
    pub stopped_amount: f64,
    /// Fraud amount accepted.
    pub missed_amount: f64,
    /// What the reviews cost.
    pub review_cost: f64,
    /// Every decision's realised value.
    pub net_benefit: f64,
}

impl Totals {
    fn new(version: &str, b: &Backtest) -> Totals {
        let t: &Tally = &b.total;
        Totals {
            version: version.to_string(),
            accepted: b.actions[Action::Accept as usize],
            reviewed: b.actions[Action::Review as usize],
            refused: b.actions[Action::Refuse as usize],
            frauds_stopped: t.frauds_stopped,
            frauds_missed: t.frauds_missed,
            false_alarms: t.false_alarms,
            stopped_amount: t.stopped_amount,
            missed_amount: t.missed_amount,
            review_cost: t.review_cost,
            net_benefit: t.net_benefit,
        }
    }
}

/// A transaction whose action the new rules change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    /// Its id, if the file has an id column.
    pub id: Option<String>,
    /// Labelled fraud.
    pub fraud: bool,
    /// Its amount.
    pub amount: f64,
    /// The model's probability.
    pub probability: f64,
    /// The baseline's action and rule.
    pub before: String,
    /// The new action and rule.
    pub after: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The model's name and id.
    pub model: String,
    /// The data file and its rows.
    pub data: String,
    /// Transactions backtested.
    pub transactions: u64,
    /// Of them, frauds.
    pub frauds: u64,
    /// The costs' currency.
    pub currency: String,
    /// What one review costs.
    pub cost_review: f64,
    /// Per rule of the new set, then `(model)`.
    pub rules: Vec<RuleLine>,
    /// The new set's totals.
    pub new: Totals,
    /// The baseline's totals.
    pub baseline: Totals,
    /// New net benefit minus the baseline's.
    pub change_in_net_benefit: f64,
    /// How many transactions changed action.
    pub changed: u64,
    /// The first [`LISTED_CHANGES`] of them.
    pub changes: Vec<Change>,
    /// Notes from compiling (list values that can match nothing).
    pub notes: Vec<String>,
    /// Seconds to score and decide every row with both sets.
    pub seconds: f64,
}

fn rule_name(rules: &RuleSet, rule: Option<u16>) -> String {
    rule.map_or_else(|| "(model)".to_string(), |i| rules.rule(i as usize).id().to_string())
}

/// Backtests `rules` against `baseline` on scored rows (`probabilities`,
/// the model's decisions `refused`), labels and ids: the report's figures.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    model: &Model,
    rules: &RuleSet,
    baseline: &RuleSet,
    rows: &[f64],
    probabilities: &[f64],
    refused: &[bool],
    labels: &[u8],
    ids: Option<&[String]>,
    review_cost: f64,
) -> (Backtest, Backtest, u64, Vec<Change>) {
    let (mut new, mut old) = (Backtest::new(rules), Backtest::new(baseline));
    let mut changes = Vec::new();
    let mut changed = 0;
    let costs = model.costs();
    for (i, (x, ((&p, &refuse), &label))) in
        rows.chunks_exact(model.width()).zip(probabilities.iter().zip(refused).zip(labels)).enumerate()
    {
        let id = ids.map(|ids| ids[i].as_str());
        let amount = model.amount(x);
        let fraud = label == 1;
        let a = rules.verdict(model, x, id, p, refuse);
        let b = baseline.verdict(model, x, id, p, refuse);
        new.add(rules, &a, costs, review_cost, amount, fraud);
        old.add(baseline, &b, costs, review_cost, amount, fraud);
        if a.action != b.action {
            changed += 1;
            if changes.len() < LISTED_CHANGES {
                changes.push(Change {
                    row: i + 1,
                    id: id.map(str::to_string),
                    fraud,
                    amount,
                    probability: p,
                    before: format!("{} ({})", b.action, rule_name(baseline, b.rule)),
                    after: format!("{} ({})", a.action, rule_name(rules, a.rule)),
                });
            }
        }
    }
    (new, old, changed, changes)
}

fn load_rules(path: &Path, lists: &Option<PathBuf>, model: &Model) -> Result<RuleSet> {
    RulesFiles { rules: path.to_path_buf(), lists: lists.clone() }
        .load(model.schema())
        .with_context(|| format!("cannot load the rules {}", path.display()))
}

/// Runs the command: the report, on the console and in the files asked for.
pub fn run(cmd: &BacktestCommand) -> Result<Report> {
    anyhow::ensure!(
        cmd.review_cost.is_finite() && (0.0..=1e9).contains(&cmd.review_cost),
        "--cost-review must be a finite amount between 0 and 1e9, got {}",
        cmd.review_cost
    );
    let loaded = fraud_core::artifact::read_file(&cmd.model)?;
    let model = loaded.model;
    let rules = load_rules(&cmd.rules, &cmd.lists, &model)?;
    let baseline = match &cmd.baseline {
        Some(path) => load_rules(path, &cmd.lists, &model)?,
        None => RuleSet::empty(),
    };
    let mut spec = dataset::Spec::of_schema(model.schema());
    if let Some(label) = &cmd.label {
        spec.label = label.clone();
    }
    if cmd.id.is_some() {
        spec.id = cmd.id.clone();
    }
    let table = match dataset::read_csv_for(&cmd.data, &spec, model.schema()) {
        // The model's id column is optional in the data; a named one is not.
        Err(_) if cmd.id.is_none() && spec.id.is_some() => {
            spec.id = None;
            dataset::read_csv_for(&cmd.data, &spec, model.schema())
        }
        read => read,
    }
    .with_context(|| format!("reading {}", cmd.data.display()))?;
    anyhow::ensure!(!table.is_empty(), "{}: no rows to backtest", cmd.data.display());
    let start = Instant::now();
    let mut probabilities = vec![0.0; table.len()];
    model
        .score_batch(table.values(), &mut probabilities)
        .map_err(|e| anyhow::anyhow!("{}: a row is outside the model's range: {e}", cmd.data.display()))?;
    let mut refused = vec![false; table.len()];
    model.decide_batch(table.values(), &probabilities, &mut refused);
    let ids = table.ids().map(|(_, ids)| ids);
    let (new, old, changed, changes) = compare(
        &model,
        &rules,
        &baseline,
        table.values(),
        &probabilities,
        &refused,
        table.labels(),
        ids,
        cmd.review_cost,
    );
    let seconds = start.elapsed().as_secs_f64();
    let mut lines: Vec<RuleLine> = rules
        .rules()
        .iter()
        .zip(&new.rules)
        .map(|(r, t)| RuleLine::new(r.id(), r.action().as_str(), r.is_shadow(), r.line(), t))
        .collect();
    lines.push(RuleLine::new("(model)", "policy", false, 0, &new.model));
    let baseline_version = if cmd.baseline.is_some() { baseline.version() } else { "model alone" };
    let report = Report {
        model: format!("{} ({})", model.name(), loaded.id),
        data: cmd.data.display().to_string(),
        transactions: table.len() as u64,
        frauds: table.frauds() as u64,
        currency: model.costs().currency.clone(),
        cost_review: cmd.review_cost,
        rules: lines,
        new: Totals::new(rules.version(), &new),
        baseline: Totals::new(baseline_version, &old),
        change_in_net_benefit: new.total.net_benefit - old.total.net_benefit,
        changed,
        changes,
        notes: rules.notes().iter().chain(baseline.notes()).cloned().collect(),
        seconds,
    };
    print!("{}", console(&report));
    if let Some(path) = &cmd.json {
        let json = serde_json::to_vec_pretty(&report).context("encoding the report")?;
        crate::output::write_atomic(path, |w| w.write_all(&json))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &cmd.html {
        let page = html(&report);
        crate::output::write_atomic(path, |w| w.write_all(page.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(report)
}

/// The console table.
pub fn console(r: &Report) -> String {
    let money = |x: f64| format_money(x, &r.currency);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "backtest of rules {} on {} ({} transactions, {} frauds), model {}, a review costs {}\n",
        r.new.version,
        r.data,
        r.transactions,
        r.frauds,
        r.model,
        format_money(r.cost_review, &r.currency)
    );
    let _ = writeln!(
        out,
        "{:<24} {:<14} {:>9} {:>7} {:>9} {:>14} {:>14} {:>8} {:>12} {:>14}",
        "rule",
        "action",
        "decided",
        "frauds",
        "legit",
        "fraud stopped",
        "legit refused",
        "reviews",
        "review cost",
        "net benefit"
    );
    for l in &r.rules {
        let action = if l.shadow { format!("shadow {}", l.action) } else { l.action.clone() };
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:>9} {:>7} {:>9} {:>14} {:>14} {:>8} {:>12} {:>14}",
            l.rule,
            action,
            l.decided,
            l.frauds,
            l.legitimate,
            money(l.fraud_amount_stopped),
            money(l.legitimate_amount_refused),
            l.reviews,
            money(l.review_cost),
            money(l.net_benefit)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>12} {:>14}",
        "", "accepted", "reviewed", "refused", "stopped", "missed", "alarms", "review cost", "net benefit"
    );
    for (name, t) in [("new", &r.new), ("baseline", &r.baseline)] {
        let label = format!("{name} ({})", short(&t.version));
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>12} {:>14}",
            label,
            t.accepted,
            t.reviewed,
            t.refused,
            t.frauds_stopped,
            t.frauds_missed,
            t.false_alarms,
            money(t.review_cost),
            money(t.net_benefit)
        );
    }
    let _ = writeln!(
        out,
        "\nchange in net benefit: {}; {} transactions changed action",
        money(r.change_in_net_benefit),
        r.changed
    );
    for c in r.changes.iter().take(SHOWN_CHANGES) {
        let _ = writeln!(
            out,
            "  row {:>7}{} {} {} p={:.4}: {} -> {}",
            c.row,
            c.id.as_ref().map_or(String::new(), |id| format!(" id {id}")),
            if c.fraud { "fraud" } else { "legit" },
            money(c.amount),
            c.probability,
            c.before,
            c.after
        );
    }
    if r.changed as usize > SHOWN_CHANGES {
        let _ =
            writeln!(out, "  … and {} more (--json lists up to {LISTED_CHANGES})", r.changed as usize - SHOWN_CHANGES);
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "scored and decided in {:.2} s", r.seconds);
    out
}

/// A version as shown in a table: a SHA-256 cut to 12 characters.
fn short(version: &str) -> &str {
    if version.len() == 64 && version.bytes().all(|b| b.is_ascii_hexdigit()) {
        &version[..12]
    } else {
        version
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The self-contained HTML report.
pub fn html(r: &Report) -> String {
    let money = |x: f64| escape(&format_money(x, &r.currency));
    let mut out = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rules backtest</title><style>\
         body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:1em 0}\
         td,th{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}\
         .neg{color:#b00}.shadow{color:#777}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>Rules backtest</h1><p>Rules <code>{}</code> against {} on <code>{}</code>: {} transactions, {} frauds. \
         Model {}. A review costs {} and settles the transaction correctly.</p>",
        escape(&r.new.version),
        escape(&r.baseline.version),
        escape(&r.data),
        r.transactions,
        r.frauds,
        escape(&r.model),
        money(r.cost_review)
    );
    out.push_str("<h2>Per rule</h2><table><tr><th>rule</th><th>action</th><th>decided</th><th>frauds</th><th>legitimate</th><th>fraud stopped</th><th>legitimate refused</th><th>reviews</th><th>review cost</th><th>net benefit</th></tr>");
    for l in &r.rules {
        let class = if l.shadow { " class=\"shadow\"" } else { "" };
        let action = if l.shadow { format!("shadow {}", l.action) } else { l.action.clone() };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            escape(&l.rule),
            escape(&action),
            l.decided,
            l.frauds,
            l.legitimate,
            money(l.fraud_amount_stopped),
            money(l.legitimate_amount_refused),
            l.reviews,
            money(l.review_cost),
            if l.net_benefit < 0.0 { " class=\"neg\"" } else { "" },
            money(l.net_benefit)
        );
    }
    out.push_str("</table><h2>Totals</h2><table><tr><th></th><th>accepted</th><th>reviewed</th><th>refused</th><th>frauds stopped</th><th>frauds missed</th><th>false alarms</th><th>review cost</th><th>net benefit</th></tr>");
    for (name, t) in [("new", &r.new), ("baseline", &r.baseline)] {
        let _ = write!(
            out,
            "<tr><td>{name} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(short(&t.version)),
            t.accepted,
            t.reviewed,
            t.refused,
            t.frauds_stopped,
            t.frauds_missed,
            t.false_alarms,
            money(t.review_cost),
            money(t.net_benefit)
        );
    }
    let _ = write!(
        out,
        "</table><p>Change in net benefit: <b>{}</b>. {} transactions changed action.</p>",
        money(r.change_in_net_benefit),
        r.changed
    );
    if !r.changes.is_empty() {
        out.push_str("<table><tr><th>row</th><th>id</th><th>label</th><th>amount</th><th>probability</th><th>before</th><th>after</th></tr>");
        for c in r.changes.iter().take(SHOWN_CHANGES) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td></tr>",
                c.row,
                escape(c.id.as_deref().unwrap_or("")),
                if c.fraud { "fraud" } else { "legitimate" },
                money(c.amount),
                c.probability,
                escape(&c.before),
                escape(&c.after)
            );
        }
        out.push_str("</table>");
    }
    for n in &r.notes {
        let _ = write!(out, "<p>Note: {}</p>", escape(n));
    }
    out.push_str("</body></html>\n");
    out
}
