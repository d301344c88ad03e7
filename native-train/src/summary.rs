//! What `native-train train` prints when a run is done: the candidates, the
//! selected model's confusion and calibration on test, its money per policy
//! and the files written. The figures come from [`crate::tables`], as the
//! HTML report's do; only the layout is the terminal's.

use crate::output::Written;
use crate::pipeline::{Candidate, Outcome, Source};
use crate::tables::{candidate_cells, money_rows, MoneyRowKind, CANDIDATE_COLUMNS};

/// Column widths of the candidates table.
const CANDIDATE_WIDTHS: [usize; 14] = [20, 11, 12, 7, 7, 7, 7, 7, 7, 12, 21, 10, 10, 8];

/// Prints the run's summary and where its outputs are.
pub fn print(outcome: &Outcome, source: &Source, written: &Written) {
    println!(
        "\nData: {}{}  |  split seed {}",
        source.name,
        if source.synthetic { " (SYNTHETIC)" } else { "" },
        outcome.artifact.provenance.seed
    );
    print_candidates(outcome);
    let chosen = &outcome.candidates[outcome.selected];
    print_test_figures(chosen);
    print_money(chosen);
    println!(
        "\nartifact  {} ({} bytes, model id {})\nreport    {}\nreplay    {} ({} test rows in file order)",
        written.artifact.display(),
        written.artifact_bytes,
        written.model_id,
        written.report_html.display(),
        written.replay.display(),
        outcome.replay.len()
    );
}

fn print_candidates(outcome: &Outcome) {
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (k, (cell, w)) in cells.iter().zip(CANDIDATE_WIDTHS).enumerate() {
            out.push_str(&if k == 0 { format!("{cell:<w$}") } else { format!(" {cell:>w$}") });
        }
        out
    };
    println!("{}", line(&CANDIDATE_COLUMNS.map(String::from)));
    for (i, c) in outcome.candidates.iter().enumerate() {
        println!("{}{}", line(&candidate_cells(c)), if i == outcome.selected { "  ← selected" } else { "" });
    }
}

/// The selected model's confusion at its F1 threshold and its calibration, on test.
fn print_test_figures(chosen: &Candidate) {
    let t = &chosen.test;
    println!(
        "Test confusion (selected, at its F1 threshold): TP {}  FP {}  TN {}  FN {}",
        t.true_positives, t.false_positives, t.true_negatives, t.false_negatives
    );
    let cal = &chosen.calibration_test;
    let c = chosen.model.calibration();
    println!(
        "Calibration ({}: sigmoid({:.4}·logit {:+.4})): on test {:.1} expected frauds, {} observed; Brier {:.6}, log-loss {:.5}",
        c.method.as_str(),
        c.slope,
        c.intercept,
        cal.expected_frauds,
        cal.observed_frauds,
        cal.brier,
        cal.log_loss
    );
}

/// The money table; the baselines show only their net, what the policies are measured against.
fn print_money(chosen: &Candidate) {
    println!("\nMoney on test (selected model; each policy chosen on validation):");
    println!(
        "{:<24} {:>14} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>14}",
        "policy", "net benefit", "vs accept all", "stopped", "amount", "missed", "amount", "alarms", "alarm cost"
    );
    for r in money_rows(chosen) {
        if r.kind == MoneyRowKind::Baseline {
            println!("{:<24} {:>14}", r.label, r.test_net);
            continue;
        }
        println!(
            "{:<24} {:>14} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>14}{}",
            r.label,
            r.test_net,
            r.vs_accept_all,
            r.stopped.count,
            r.stopped.amount,
            r.missed.count,
            r.missed.amount,
            r.false_alarms.count,
            r.false_alarms.amount,
            if r.kind == MoneyRowKind::Served { "  ← served" } else { "" }
        );
    }
    println!("{}", crate::bands::verdict_line(chosen));
}
