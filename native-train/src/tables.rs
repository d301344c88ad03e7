//! The two tables a run is read through — the candidates, and the selected
//! model's money per policy with both baselines — as rows of formatted cells.
//! The console summary and the HTML report lay them out their own way but
//! take their figures from here, so both always say the same thing.

use fraud_core::decision::format_money;
use fraud_core::{Costs, Policy, Tally, Training};

use crate::pipeline::Candidate;

/// Column headers of the candidates table.
pub const CANDIDATE_COLUMNS: [&str; 14] = [
    "candidate",
    "rows fitted",
    "F1 threshold",
    "val F1",
    "test P",
    "test R",
    "test F1",
    "test AP",
    "ROC-AUC",
    "expected/observed frauds",
    "policy",
    "test net",
    "iterations",
    "fit",
];

/// A threshold readable even when it sits a hair below 1 (SMOTE models often do).
pub fn format_threshold(t: f64) -> String {
    if t > 0.9999 && t < 1.0 {
        format!("1 - {:.2e}", 1.0 - t)
    } else {
        format!("{t:.6}")
    }
}

/// The short name of a policy in tables.
pub fn policy_label(p: Policy) -> &'static str {
    match p {
        Policy::F1Threshold => "F1 threshold",
        Policy::NetBenefitThreshold => "net-benefit threshold",
        Policy::CostOptimal => "cost-optimal",
        Policy::ManualThreshold => "manual threshold",
    }
}

/// One candidate's cells, in [`CANDIDATE_COLUMNS`] order.
pub fn candidate_cells(c: &Candidate) -> [String; 14] {
    let currency = &c.model.costs().currency;
    [
        c.name().to_string(),
        c.rows_fitted.to_string(),
        format_threshold(c.test.threshold),
        format!("{:.4}", c.validation.f1),
        format!("{:.4}", c.test.precision),
        format!("{:.4}", c.test.recall),
        format!("{:.4}", c.test.f1),
        format!("{:.4}", c.test.average_precision),
        format!("{:.4}", c.test.roc_auc),
        format!("{:.1} / {}", c.calibration_test.expected_frauds, c.calibration_test.observed_frauds),
        policy_label(c.model.policy()).to_string(),
        c.served_policy().map_or_else(|| "–".into(), |p| format_money(p.test.net_benefit, currency)),
        match &c.training {
            Training::Logistic(l) => format!("{} Newton", l.iterations),
            Training::Trees(t) => format!("{} trees", t.rounds),
        },
        format!("{:.0} ms", c.fit_time.as_secs_f64() * 1e3),
    ]
}

/// What a money row stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyRowKind {
    /// The policy the model serves.
    Served,
    /// Another policy the trainer weighed.
    Policy,
    /// Accepting or refusing everything: what any policy is measured against.
    Baseline,
    /// The proposed accept / review / refuse bands (`rules.txt`): reviews counted.
    Bands,
}

/// Money over a number of transactions.
#[derive(Clone, Debug, PartialEq)]
pub struct Counted {
    /// The money, formatted.
    pub amount: String,
    /// How many transactions.
    pub count: u64,
}

/// One row of the money table: a decision rule's figures on test and its net on validation.
#[derive(Clone, Debug, PartialEq)]
pub struct MoneyRow {
    /// The policy's or baseline's name.
    pub label: &'static str,
    /// What the row stands for.
    pub kind: MoneyRowKind,
    /// The threshold ("per transaction" for the cost-optimal policy, "–" for a baseline).
    pub threshold: String,
    /// Net benefit on validation.
    pub validation_net: String,
    /// Net benefit on test.
    pub test_net: String,
    /// Test net benefit less accepting everything's.
    pub vs_accept_all: String,
    /// Frauds refused: their amount.
    pub stopped: Counted,
    /// Frauds accepted: their amount.
    pub missed: Counted,
    /// Legitimate transactions refused: what refusing them cost.
    pub false_alarms: Counted,
}

/// The selected model's money table: each policy it weighed, then accepting and refusing everything.
pub fn money_rows(c: &Candidate) -> Vec<MoneyRow> {
    let costs = c.model.costs();
    let row = |label, kind, threshold, validation_net: f64, test: &Tally| {
        let m = |x: f64| format_money(x, &costs.currency);
        MoneyRow {
            label,
            kind,
            threshold,
            validation_net: m(validation_net),
            test_net: m(test.net_benefit),
            vs_accept_all: m(test.gain_over_accept_all()),
            stopped: Counted { amount: m(test.stopped_amount), count: test.frauds_stopped },
            missed: Counted { amount: m(test.missed_amount), count: test.frauds_missed },
            false_alarms: Counted { amount: m(test.false_alarm_cost), count: test.false_alarms },
        }
    };
    let mut rows: Vec<MoneyRow> = c
        .policies
        .iter()
        .map(|p| {
            let kind = if p.policy == c.model.policy() { MoneyRowKind::Served } else { MoneyRowKind::Policy };
            let threshold = p.threshold.map_or_else(|| "per transaction".into(), format_threshold);
            row(policy_label(p.policy), kind, threshold, p.validation.net_benefit, &p.test)
        })
        .collect();
    let b = &c.bands;
    let threshold = format!("review ≥ {}, refuse ≥ {}", format_threshold(b.review_at), format_threshold(b.refuse_at));
    rows.push(row("three bands (rules.txt)", MoneyRowKind::Bands, threshold, b.validation.net_benefit, &b.test));
    // Every policy's tally carries both baselines' nets; take them from the first.
    if let Some(p) = c.policies.first() {
        let (accept, refuse) = baselines(&p.test, costs);
        let baseline = MoneyRowKind::Baseline;
        rows.push(row("accept everything", baseline, "–".into(), p.validation.accept_all, &accept));
        rows.push(row("refuse everything", baseline, "–".into(), p.validation.refuse_all, &refuse));
    }
    rows
}

/// What accepting everything and refusing everything do on `test`'s transactions, as tallies.
fn baselines(test: &Tally, costs: &Costs) -> (Tally, Tally) {
    let frauds = test.frauds_stopped + test.frauds_missed;
    let fraud_amount = test.stopped_amount + test.missed_amount;
    let nothing = Tally { transactions: test.transactions, ..Tally::default() };
    let accept = Tally {
        frauds_missed: frauds,
        missed_amount: fraud_amount,
        net_benefit: test.accept_all,
        accept_all: test.accept_all,
        refuse_all: test.refuse_all,
        ..nothing
    };
    // Refusing everything's value is the frauds' part (known from their count
    // and amount) plus the legitimate rows' part, which is what the alarms cost.
    let refused_frauds = costs.refused_fraud.fixed * frauds as f64 + costs.refused_fraud.per_amount * fraud_amount;
    let refuse = Tally {
        frauds_stopped: frauds,
        stopped_amount: fraud_amount,
        false_alarms: test.transactions - frauds,
        false_alarm_cost: -(test.refuse_all - refused_frauds),
        net_benefit: test.refuse_all,
        accept_all: test.accept_all,
        refuse_all: test.refuse_all,
        ..nothing
    };
    (accept, refuse)
}

#[cfg(test)]
mod tests {
    use fraud_core::Benefit;

    use super::*;

    /// Refusing every legitimate transaction costs their refusal values, the per-amount part included.
    #[test]
    fn refusing_everything_costs_every_legitimate_refusal() {
        let costs = Costs {
            refused_fraud: Benefit { fixed: 50.0, per_amount: 0.5 },
            refused_legitimate: Benefit { fixed: -5.0, per_amount: -0.01 },
            ..Costs::default()
        };
        // Two frauds (amounts 10, 30) and three legitimate rows (amounts 100, 200, 300).
        let mut test = Tally::default();
        for (amount, fraud) in [(10.0, true), (100.0, false), (30.0, true), (200.0, false), (300.0, false)] {
            test.add(&costs, amount, fraud, fraud);
        }
        let (accept, refuse) = baselines(&test, &costs);
        assert_eq!((accept.frauds_missed, accept.missed_amount, accept.false_alarms), (2, 40.0, 0));
        assert_eq!((refuse.frauds_stopped, refuse.false_alarms), (2, 3));
        assert!((refuse.false_alarm_cost - (3.0 * 5.0 + 0.01 * 600.0)).abs() < 1e-9, "{}", refuse.false_alarm_cost);
        assert_eq!(refuse.gain_over_accept_all(), test.refuse_all - test.accept_all);
        assert_eq!(accept.gain_over_accept_all(), 0.0);
    }
}
