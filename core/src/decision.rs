//! Decisions in money: how a logit becomes a probability that means one
//! ([`Calibration`]), what each outcome is worth ([`Costs`]), how the decision
//! is taken ([`Policy`]), and the money a set of decisions made ([`Tally`]).
//!
//! **Why calibrate in core.** SMOTE and class weights move a model's base rate
//! towards 50 %: its sigmoid is a score, not a probability. A monotone map on
//! the logit, `sigmoid(slope · z + intercept)`, fitted on validation, makes
//! `fraud_probability` a probability on every runtime without reordering any
//! two transactions (so AP, ROC-AUC and any threshold's confusion counts carry
//! over). The analytic prior correction for resampling (Dal Pozzolo et al.
//! 2015, `p = β·pₛ / ((β−1)·pₛ + 1)`) is the same map with slope 1 and
//! intercept `ln β`.
//!
//! **Why the cost-optimal policy needs the row.** With an outcome's value
//! depending on the amount, refusing is worth
//! `p·B(refused fraud) + (1−p)·B(refused legitimate)` and accepting
//! `p·B(accepted fraud) + (1−p)·B(accepted legitimate)`; Elkan's (2001)
//! decision refuses when the first is larger, which is a threshold that moves
//! with each transaction's amount.
//!
//! All of it is plain IEEE `+`, `·`, `/` in a fixed order (no fused
//! multiply-add), so every runtime takes the same decisions to the bit.

use alloc::format;
use alloc::string::String;
use core::fmt;

use crate::error::ModelError;
use crate::schema::Schema;
/// Largest magnitude accepted for a cost term or a calibration parameter.
pub const MAX_PARAMETER: f64 = 1e9;
/// Longest currency name, in bytes.
pub const MAX_CURRENCY_LEN: usize = 16;

/// The value of one outcome: `fixed + per_amount · amount` (positive is money earned).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Benefit {
    /// Independent of the amount.
    pub fixed: f64,
    /// Times the transaction's amount.
    pub per_amount: f64,
}

impl Benefit {
    /// Its value for a transaction of `amount`.
    #[inline]
    pub fn at(&self, amount: f64) -> f64 {
        self.fixed + self.per_amount * amount
    }
}

/// What each of the four outcomes is worth, in one currency.
#[derive(Clone, Debug, PartialEq)]
pub struct Costs {
    /// Currency name (e.g. `EUR`).
    pub currency: String,
    /// A fraud refused (true positive).
    pub refused_fraud: Benefit,
    /// A fraud accepted (false negative).
    pub accepted_fraud: Benefit,
    /// A legitimate transaction refused (false positive, a false alarm).
    pub refused_legitimate: Benefit,
    /// A legitimate transaction accepted (true negative).
    pub accepted_legitimate: Benefit,
}

impl Default for Costs {
    /// scikit-learn's cost-sensitive example on this dataset: a refused fraud
    /// +50 €, an accepted fraud −Amount, a refused legitimate transaction −5 €,
    /// an accepted legitimate one +2 % of Amount.
    fn default() -> Costs {
        Costs {
            currency: String::from("EUR"),
            refused_fraud: Benefit { fixed: 50.0, per_amount: 0.0 },
            accepted_fraud: Benefit { fixed: 0.0, per_amount: -1.0 },
            refused_legitimate: Benefit { fixed: -5.0, per_amount: 0.0 },
            accepted_legitimate: Benefit { fixed: 0.0, per_amount: 0.02 },
        }
    }
}

impl Costs {
    /// Costs for a schema without an amount column: every term fixed
    /// (a refused fraud +50, an accepted fraud −100 — an assumed average
    /// loss —, a false alarm −5, an accepted legitimate transaction +1).
    pub fn fixed_default() -> Costs {
        Costs {
            currency: String::from("EUR"),
            refused_fraud: Benefit { fixed: 50.0, per_amount: 0.0 },
            accepted_fraud: Benefit { fixed: -100.0, per_amount: 0.0 },
            refused_legitimate: Benefit { fixed: -5.0, per_amount: 0.0 },
            accepted_legitimate: Benefit { fixed: 1.0, per_amount: 0.0 },
        }
    }

    /// The default costs for `schema`: [`Costs::default`] with an amount
    /// column, [`Costs::fixed_default`] without.
    pub fn default_for(schema: &Schema) -> Costs {
        if schema.amount().is_some() {
            Costs::default()
        } else {
            Costs::fixed_default()
        }
    }

    /// True when some term depends on the amount.
    pub fn uses_amount(&self) -> bool {
        [self.refused_fraud, self.accepted_fraud, self.refused_legitimate, self.accepted_legitimate]
            .iter()
            .any(|b| b.per_amount != 0.0)
    }

    /// Refuses non-finite or absurd terms and an empty or long currency name.
    pub fn check(&self) -> Result<(), ModelError> {
        let terms = [self.refused_fraud, self.accepted_fraud, self.refused_legitimate, self.accepted_legitimate];
        if terms.iter().any(|b| !(b.fixed.abs() <= MAX_PARAMETER && b.per_amount.abs() <= MAX_PARAMETER)) {
            return Err(ModelError::BadParameter { what: "costs", why: "every term must be finite and at most 1e9" });
        }
        if self.currency.is_empty() || self.currency.len() > MAX_CURRENCY_LEN {
            return Err(ModelError::BadParameter { what: "currency", why: "must be 1 to 16 bytes" });
        }
        Ok(())
    }

    /// The money one decided transaction made.
    #[inline]
    pub fn realised(&self, fraud: bool, refused: bool, amount: f64) -> f64 {
        match (fraud, refused) {
            (true, true) => self.refused_fraud.at(amount),
            (true, false) => self.accepted_fraud.at(amount),
            (false, true) => self.refused_legitimate.at(amount),
            (false, false) => self.accepted_legitimate.at(amount),
        }
    }

    /// The expected value of refusing and of accepting a transaction of
    /// `amount` whose probability of fraud is `p`.
    #[inline]
    pub fn expected(&self, p: f64, amount: f64) -> ExpectedBenefit {
        let q = 1.0 - p;
        ExpectedBenefit {
            refuse: p * self.refused_fraud.at(amount) + q * self.refused_legitimate.at(amount),
            accept: p * self.accepted_fraud.at(amount) + q * self.accepted_legitimate.at(amount),
        }
    }
}

/// Expected value of each decision for one transaction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpectedBenefit {
    /// If refused.
    pub refuse: f64,
    /// If accepted.
    pub accept: f64,
}

/// How the calibration map was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationMethod {
    /// None: the probability is the sigmoid of the model's logit.
    None,
    /// Platt scaling: a two-parameter logistic fit of the labels on the logit (validation split).
    Platt,
    /// The analytic correction of the base rate moved by resampling or class weights (slope 1).
    PriorCorrection,
}

impl CalibrationMethod {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            CalibrationMethod::None => "none",
            CalibrationMethod::Platt => "platt",
            CalibrationMethod::PriorCorrection => "prior_correction",
        }
    }

    /// The method of a wire spelling.
    pub fn from_name(name: &str) -> Option<CalibrationMethod> {
        match name {
            "none" => Some(CalibrationMethod::None),
            "platt" => Some(CalibrationMethod::Platt),
            "prior_correction" => Some(CalibrationMethod::PriorCorrection),
            _ => None,
        }
    }
}

/// A monotone map of the logit: the served probability is
/// `sigmoid(slope · logit + intercept)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// How it was obtained.
    pub method: CalibrationMethod,
    /// Multiplies the logit; positive, so the order of scores is kept.
    pub slope: f64,
    /// Added after.
    pub intercept: f64,
}

impl Calibration {
    /// No calibration (`slope` 1, `intercept` 0: the same bits as the raw sigmoid).
    pub const IDENTITY: Calibration = Calibration { method: CalibrationMethod::None, slope: 1.0, intercept: 0.0 };

    /// Refuses a slope that is not positive, and non-finite or absurd values.
    pub fn check(&self) -> Result<(), ModelError> {
        if !(self.slope > 0.0 && self.slope <= MAX_PARAMETER && self.intercept.abs() <= MAX_PARAMETER) {
            return Err(ModelError::BadParameter {
                what: "calibration",
                why: "slope must be positive and both parameters finite and at most 1e9",
            });
        }
        Ok(())
    }

    /// The calibrated logit.
    #[inline(always)]
    pub fn apply(&self, logit: f64) -> f64 {
        self.slope * logit + self.intercept
    }
}

/// How a probability becomes a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Refuse at or above the threshold that maximised F1 on validation.
    F1Threshold,
    /// Refuse at or above the single threshold that maximised net benefit on validation.
    NetBenefitThreshold,
    /// Refuse when refusing is expected to be worth more than accepting, for
    /// this transaction's amount (Elkan 2001); no threshold.
    CostOptimal,
    /// Refuse at or above a threshold someone set (an analyst's slider).
    ManualThreshold,
}

impl Policy {
    /// The policies the trainer chooses from, in report order.
    pub const TRAINED: [Policy; 3] = [Policy::F1Threshold, Policy::NetBenefitThreshold, Policy::CostOptimal];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Policy::F1Threshold => "f1_threshold",
            Policy::NetBenefitThreshold => "net_benefit_threshold",
            Policy::CostOptimal => "cost_optimal",
            Policy::ManualThreshold => "manual_threshold",
        }
    }

    /// The policy of a wire spelling.
    pub fn from_name(name: &str) -> Option<Policy> {
        match name {
            "f1_threshold" => Some(Policy::F1Threshold),
            "net_benefit_threshold" => Some(Policy::NetBenefitThreshold),
            "cost_optimal" => Some(Policy::CostOptimal),
            "manual_threshold" => Some(Policy::ManualThreshold),
            _ => None,
        }
    }

    /// True when the decision is `probability >= threshold`.
    pub const fn uses_threshold(self) -> bool {
        !matches!(self, Policy::CostOptimal)
    }

    /// The decision for a calibrated probability `p` of a transaction of
    /// `amount` (threshold policies ignore the amount and the costs).
    #[inline]
    pub fn refuses(self, p: f64, threshold: f64, costs: &Costs, amount: f64) -> bool {
        if self.uses_threshold() {
            p >= threshold
        } else {
            let e = costs.expected(p, amount);
            e.refuse > e.accept
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything between a model's logit and its decision: the calibration map,
/// the policy, the threshold the threshold policies apply (on the calibrated
/// probability) and the costs. Checked when a [`crate::Model`] is built.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRule {
    /// Logit → probability.
    pub calibration: Calibration,
    /// Probability → decision.
    pub policy: Policy,
    /// Applied by the threshold policies; under [`Policy::CostOptimal`] the
    /// best single threshold, kept as the starting point of a slider.
    pub threshold: f64,
    /// What each outcome is worth.
    pub costs: Costs,
}

impl DecisionRule {
    /// Uncalibrated, at an F1 threshold, default costs (how models were served before calibration).
    pub fn at_threshold(threshold: f64) -> DecisionRule {
        DecisionRule {
            calibration: Calibration::IDENTITY,
            policy: Policy::F1Threshold,
            threshold,
            costs: Costs::default(),
        }
    }

    /// [`DecisionRule::at_threshold`] with default costs that fit `schema`
    /// (fixed ones when it has no amount column).
    pub fn at_threshold_for(threshold: f64, schema: &Schema) -> DecisionRule {
        DecisionRule { costs: Costs::default_for(schema), ..DecisionRule::at_threshold(threshold) }
    }

    /// Checks every part.
    pub fn check(&self) -> Result<(), ModelError> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(ModelError::BadParameter { what: "threshold", why: "must be a probability in [0, 1]" });
        }
        self.calibration.check()?;
        self.costs.check()
    }

    /// [`DecisionRule::check`], and that a schema without an amount column
    /// has neither per-amount costs nor the per-transaction policy.
    pub fn check_for(&self, schema: &Schema) -> Result<(), ModelError> {
        self.check()?;
        if schema.amount().is_none() {
            if self.policy == Policy::CostOptimal {
                return Err(ModelError::BadParameter {
                    what: "policy",
                    why: "cost-optimal decisions need an amount column, and the schema has none",
                });
            }
            if self.costs.uses_amount() {
                return Err(ModelError::BadParameter {
                    what: "costs",
                    why: "per-amount costs need an amount column, and the schema has none",
                });
            }
        }
        Ok(())
    }

    /// The decision for a calibrated probability `p` of a transaction of `amount`.
    #[inline]
    pub fn refuses(&self, p: f64, amount: f64) -> bool {
        self.policy.refuses(p, self.threshold, &self.costs, amount)
    }
}

/// The money a set of decisions made against the labels, with what accepting
/// or refusing everything would have made.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tally {
    /// Transactions decided.
    pub transactions: u64,
    /// Frauds refused.
    pub frauds_stopped: u64,
    /// Frauds accepted.
    pub frauds_missed: u64,
    /// Legitimate transactions refused.
    pub false_alarms: u64,
    /// Amount of the frauds refused.
    pub stopped_amount: f64,
    /// Amount of the frauds accepted.
    pub missed_amount: f64,
    /// What the false alarms cost (the negated value of refusing them).
    pub false_alarm_cost: f64,
    /// Sum of every decision's realised value.
    pub net_benefit: f64,
    /// What accepting every transaction would have made.
    pub accept_all: f64,
    /// What refusing every transaction would have made.
    pub refuse_all: f64,
    /// Transactions sent to review (settled correctly: counted above as
    /// stopped frauds or accepted legitimate ones).
    pub reviews: u64,
    /// Of them, frauds.
    pub reviewed_frauds: u64,
    /// What the reviews cost (their number × the cost of one).
    pub review_cost: f64,
}

/// What one review costs by default (an analyst's few minutes), in the costs' currency.
pub const DEFAULT_REVIEW_COST: f64 = 3.0;

impl Tally {
    /// Counts one transaction decided by an action: a review costs
    /// `review_cost` and settles it correctly (a fraud stopped, a legitimate
    /// transaction accepted).
    pub fn add_action(&mut self, costs: &Costs, review_cost: f64, amount: f64, fraud: bool, action: crate::Action) {
        match action {
            crate::Action::Accept => self.add(costs, amount, fraud, false),
            crate::Action::Refuse => self.add(costs, amount, fraud, true),
            crate::Action::Review => {
                self.reviews += 1;
                self.reviewed_frauds += fraud as u64;
                self.review_cost += review_cost;
                let settled = self.net_benefit;
                self.add(costs, amount, fraud, fraud);
                self.net_benefit = settled + (costs.realised(fraud, fraud, amount) - review_cost);
            }
        }
    }

    /// Counts one decided transaction.
    pub fn add(&mut self, costs: &Costs, amount: f64, fraud: bool, refused: bool) {
        self.transactions += 1;
        match (fraud, refused) {
            (true, true) => {
                self.frauds_stopped += 1;
                self.stopped_amount += amount;
            }
            (true, false) => {
                self.frauds_missed += 1;
                self.missed_amount += amount;
            }
            (false, true) => {
                self.false_alarms += 1;
                self.false_alarm_cost -= costs.refused_legitimate.at(amount);
            }
            (false, false) => {}
        }
        self.net_benefit += costs.realised(fraud, refused, amount);
        self.accept_all += costs.realised(fraud, false, amount);
        self.refuse_all += costs.realised(fraud, true, amount);
    }

    /// Net benefit over accepting everything.
    pub fn gain_over_accept_all(&self) -> f64 {
        self.net_benefit - self.accept_all
    }
}

/// Money as people read it in reports and summaries: whole units with
/// thousands separators and the currency (`€` for EUR), e.g. `-1,234 €`.
pub fn format_money(x: f64, currency: &str) -> String {
    let whole = format!("{:.0}", x.abs());
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && whole != "0" { "-" } else { "" };
    let unit = if currency == "EUR" { "€" } else { currency };
    format!("{sign}{grouped} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sigmoid;

    #[test]
    fn money_reads_as_money() {
        assert_eq!(format_money(1234567.4, "EUR"), "1,234,567 €");
        assert_eq!(format_money(-999.6, "CHF"), "-1,000 CHF");
        assert_eq!(format_money(-0.2, "EUR"), "0 €");
    }

    #[test]
    fn identity_calibration_keeps_the_bits() {
        for z in [-0.0, 0.0, -3.5, 1e-300, 17.25, -700.0] {
            assert_eq!(sigmoid(Calibration::IDENTITY.apply(z)).to_bits(), sigmoid(z).to_bits(), "{z}");
        }
    }

    #[test]
    fn prior_correction_is_dal_pozzolo() {
        // Undersampling legitimate rows with probability β multiplies the odds by 1/β.
        let beta: f64 = 0.1;
        let c = Calibration { method: CalibrationMethod::PriorCorrection, slope: 1.0, intercept: libm::log(beta) };
        for ps in [0.01, 0.3, 0.5, 0.9, 0.999] {
            let z = libm::log(ps / (1.0 - ps));
            let expected = beta * ps / ((beta - 1.0) * ps + 1.0);
            assert!((sigmoid(c.apply(z)) - expected).abs() < 1e-12, "{ps}");
        }
    }

    #[test]
    fn cost_optimal_decision_is_elkans_threshold() {
        let costs = Costs::default();
        for amount in [0.0, 10.0, 100.0, 2500.0] {
            // p* = (c10 - c00) / (c10 - c00 + c01 - c11) in costs; here in benefits.
            let refuse_gain_fraud = costs.refused_fraud.at(amount) - costs.accepted_fraud.at(amount);
            let accept_gain_legit = costs.accepted_legitimate.at(amount) - costs.refused_legitimate.at(amount);
            let p_star = accept_gain_legit / (accept_gain_legit + refuse_gain_fraud);
            assert!(!Policy::CostOptimal.refuses(p_star * 0.999, 0.5, &costs, amount), "{amount}");
            assert!(Policy::CostOptimal.refuses(p_star * 1.001, 0.5, &costs, amount), "{amount}");
        }
        // Threshold policies ignore amount and costs, and are inclusive.
        assert!(Policy::F1Threshold.refuses(0.3, 0.3, &costs, 1e6));
        assert!(!Policy::ManualThreshold.refuses(0.299, 0.3, &costs, 0.0));
    }

    #[test]
    fn tally_adds_up() {
        let costs = Costs::default();
        let mut t = Tally::default();
        t.add(&costs, 100.0, true, true); // +50
        t.add(&costs, 200.0, true, false); // -200
        t.add(&costs, 10.0, false, true); // -5
        t.add(&costs, 1000.0, false, false); // +20
        assert_eq!((t.frauds_stopped, t.frauds_missed, t.false_alarms, t.transactions), (1, 1, 1, 4));
        assert_eq!((t.stopped_amount, t.missed_amount, t.false_alarm_cost), (100.0, 200.0, 5.0));
        assert!((t.net_benefit - (50.0 - 200.0 - 5.0 + 20.0)).abs() < 1e-9);
        assert!((t.accept_all - (-100.0 - 200.0 + 0.2 + 20.0)).abs() < 1e-9);
        assert!((t.refuse_all - (50.0 + 50.0 - 5.0 - 5.0)).abs() < 1e-9);
    }

    #[test]
    fn a_review_costs_its_time_and_settles_correctly() {
        let costs = Costs::default();
        let mut t = Tally::default();
        t.add_action(&costs, 3.0, 100.0, true, crate::Action::Review); // +50 - 3
        t.add_action(&costs, 3.0, 1000.0, false, crate::Action::Review); // +20 - 3
        t.add_action(&costs, 3.0, 10.0, false, crate::Action::Refuse); // -5
        assert_eq!((t.reviews, t.reviewed_frauds, t.frauds_stopped, t.false_alarms), (2, 1, 1, 1));
        assert_eq!(t.review_cost, 6.0);
        assert!((t.net_benefit - (47.0 + 17.0 - 5.0)).abs() < 1e-9, "{}", t.net_benefit);
        assert!((t.accept_all - (-100.0 + 20.0 + 0.2)).abs() < 1e-9);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let mut c = Costs::default();
        c.refused_fraud.fixed = f64::NAN;
        assert!(c.check().is_err());
        let mut c = Costs::default();
        c.currency.clear();
        assert!(c.check().is_err());
        for (slope, intercept) in [(0.0, 0.0), (-1.0, 0.0), (f64::INFINITY, 0.0), (1.0, f64::NAN), (1.0, 1e10)] {
            let cal = Calibration { method: CalibrationMethod::Platt, slope, intercept };
            assert!(cal.check().is_err(), "{slope} {intercept}");
        }
        assert!(Calibration::IDENTITY.check().is_ok());
        assert_eq!(Policy::from_name("cost_optimal"), Some(Policy::CostOptimal));
        assert_eq!(CalibrationMethod::from_name("platt"), Some(CalibrationMethod::Platt));
        assert_eq!(Policy::from_name("nope"), None);
    }
}
