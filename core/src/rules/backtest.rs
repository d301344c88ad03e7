//! A rule set's money on labelled history, rule by rule: what the trainer's
//! `backtest`, the page's "Backtest" button and the reports all count, once.

use alloc::vec;
use alloc::vec::Vec;

use super::{Action, RuleSet, Verdict};
use crate::decision::{Costs, Tally};

/// What one rule decided (a shadow rule: what it would have, on the rows it matched).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RuleTally {
    /// Transactions it decided (matched, for a shadow rule).
    pub decided: u64,
    /// Of them, frauds.
    pub frauds: u64,
    /// Of them, legitimate.
    pub legitimate: u64,
    /// Amount of the frauds it stopped (refused or sent to review).
    pub fraud_amount_stopped: f64,
    /// Amount of the legitimate transactions it refused.
    pub legitimate_amount_refused: f64,
    /// Transactions it sent to review.
    pub reviews: u64,
    /// What those reviews cost.
    pub review_cost: f64,
    /// The realised value of its decisions.
    pub net_benefit: f64,
}

impl RuleTally {
    /// Counts one transaction decided `action`.
    pub fn add(&mut self, costs: &Costs, review_cost: f64, amount: f64, fraud: bool, action: Action) {
        self.decided += 1;
        if fraud {
            self.frauds += 1;
        } else {
            self.legitimate += 1;
        }
        match action {
            Action::Accept => self.net_benefit += costs.realised(fraud, false, amount),
            Action::Refuse => {
                if fraud {
                    self.fraud_amount_stopped += amount;
                } else {
                    self.legitimate_amount_refused += amount;
                }
                self.net_benefit += costs.realised(fraud, true, amount);
            }
            Action::Review => {
                if fraud {
                    self.fraud_amount_stopped += amount;
                }
                self.reviews += 1;
                self.review_cost += review_cost;
                self.net_benefit += costs.realised(fraud, fraud, amount) - review_cost;
            }
        }
    }
}

/// A rule set's decisions over labelled transactions.
#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    /// Per rule, in file order (shadow rules: what they would have decided).
    pub rules: Vec<RuleTally>,
    /// What the model decided where no rule matched.
    pub model: RuleTally,
    /// Every decision's money (reviews included).
    pub total: Tally,
    /// Transactions per action (accept, review, refuse).
    pub actions: [u64; 3],
}

impl Backtest {
    /// An empty backtest of `rules`.
    pub fn new(rules: &RuleSet) -> Backtest {
        Backtest {
            rules: vec![RuleTally::default(); rules.rules().len()],
            model: RuleTally::default(),
            total: Tally::default(),
            actions: [0; 3],
        }
    }

    /// Counts one transaction and its verdict by `rules`.
    pub fn add(
        &mut self,
        rules: &RuleSet,
        verdict: &Verdict,
        costs: &Costs,
        review_cost: f64,
        amount: f64,
        fraud: bool,
    ) {
        let action = verdict.action;
        match verdict.rule {
            Some(i) => self.rules[i as usize].add(costs, review_cost, amount, fraud, action),
            None => self.model.add(costs, review_cost, amount, fraud, action),
        }
        for i in verdict.shadow.iter() {
            self.rules[i].add(costs, review_cost, amount, fraud, rules.rule(i).action());
        }
        self.total.add_action(costs, review_cost, amount, fraud, action);
        self.actions[action as usize] += 1;
    }
}
