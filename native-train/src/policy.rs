//! The decision policies in money: the single threshold that maximises net
//! benefit on validation, and each policy's [`Tally`] on a split — decided by
//! `fraud_core`'s own [`DecisionRule`], so the figures hold for what is served.

use fraud_core::{Benefit, Costs, DecisionRule, Policy, Schema, Tally};

/// Which policy the trainer serves (the CLI's `--policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyChoice {
    /// The policy with the best net benefit on validation.
    Auto,
    /// That one.
    Fixed(Policy),
}

impl PolicyChoice {
    /// The CLI spellings.
    pub const NAMES: [&'static str; 4] = ["auto", "f1", "net-benefit", "cost-optimal"];

    /// The choice of a CLI spelling.
    pub fn from_name(name: &str) -> Option<PolicyChoice> {
        Some(match name {
            "auto" => PolicyChoice::Auto,
            "f1" => PolicyChoice::Fixed(Policy::F1Threshold),
            "net-benefit" => PolicyChoice::Fixed(Policy::NetBenefitThreshold),
            "cost-optimal" => PolicyChoice::Fixed(Policy::CostOptimal),
            _ => return None,
        })
    }
}

/// Rows of a split with what the policies need: probability, amount, label.
pub struct Scored<'a> {
    /// Served (calibrated) probabilities.
    pub probabilities: &'a [f64],
    /// Row-major raw rows (the amount is read by core).
    pub rows: &'a [f64],
    /// 1 for fraud.
    pub labels: &'a [u8],
    /// The rows' schema (its width, and where the amount is).
    pub schema: &'a Schema,
}

impl Scored<'_> {
    /// Row `i`'s amount (0 without an amount column: the costs are then fixed).
    pub fn amount(&self, i: usize) -> f64 {
        let width = self.schema.len();
        self.schema.amount_of(&self.rows[i * width..(i + 1) * width])
    }

    /// The money `rule` makes on these rows.
    pub fn tally(&self, rule: &DecisionRule) -> Tally {
        let mut t = Tally::default();
        for (i, &p) in self.probabilities.iter().enumerate() {
            let amount = self.amount(i);
            t.add(&rule.costs, amount, self.labels[i] == 1, rule.refuses(p, amount));
        }
        t
    }

    /// Net benefit of refusing at or above each distinct probability,
    /// thresholds descending: `(threshold, net benefit)`. Refusing row `i`
    /// instead of accepting it changes the total by `B_refuse(i) − B_accept(i)`.
    pub fn net_benefit_curve(&self, costs: &Costs) -> Vec<(f64, f64)> {
        let p = self.probabilities;
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_unstable_by(|&a, &b| p[b].total_cmp(&p[a]));
        let mut net: f64 = (0..p.len()).map(|i| costs.realised(self.labels[i] == 1, false, self.amount(i))).sum();
        let mut points = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            let (fraud, amount) = (self.labels[i] == 1, self.amount(i));
            net += costs.realised(fraud, true, amount) - costs.realised(fraud, false, amount);
            if order.get(k + 1).is_none_or(|&j| p[j] != p[i]) {
                points.push((p[i], net));
            }
        }
        points
    }

    /// The threshold with the best net benefit (the highest wins ties: fewer
    /// refusals for the same money). Refusing nothing is an option too:
    /// then the threshold sits just above every probability seen.
    pub fn best_net_benefit_threshold(&self, costs: &Costs) -> f64 {
        let accept_all: f64 =
            (0..self.labels.len()).map(|i| costs.realised(self.labels[i] == 1, false, self.amount(i))).sum();
        let curve = self.net_benefit_curve(costs);
        let above_all = curve.first().map_or(1.0, |&(t, _)| next_up(t).min(1.0));
        curve.iter().fold((above_all, accept_all), |best, &(t, net)| if net > best.1 { (t, net) } else { best }).0
    }
}

/// Parses an outcome's value as the CLI spells it: `50`, `-5`, `-1*amount`,
/// `0.02*amount`, or both, e.g. `10+0.01*amount` or `-2-1*amount`.
pub fn parse_benefit(text: &str) -> Result<Benefit, String> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let number = |s: &str| -> Result<f64, String> {
        s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
            format!("{text:?}: {s:?} is not a finite number (expected e.g. 50, -1*amount or 10+0.01*amount)")
        })
    };
    let Some(head) = t.strip_suffix("*amount") else {
        return Ok(Benefit { fixed: number(&t)?, per_amount: 0.0 });
    };
    // The rate's sign starts the rate term: the last + or - not at the start and not in an exponent.
    let bytes = head.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    match split {
        Some(i) => Ok(Benefit { fixed: number(&head[..i])?, per_amount: number(&head[i..])? }),
        None => Ok(Benefit { fixed: 0.0, per_amount: number(head)? }),
    }
}

/// The next representable f64 above a finite, non-negative `x`.
fn next_up(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const N_FEATURES: usize = 30;

    fn rows_with_amounts(amounts: &[f64]) -> Vec<f64> {
        amounts
            .iter()
            .flat_map(|&a| {
                let mut r = [0.0; N_FEATURES];
                r[N_FEATURES - 1] = a;
                r
            })
            .collect()
    }

    #[test]
    fn best_threshold_refuses_where_it_pays() {
        let costs = Costs::default();
        // A fraud of 1000 at 0.9, legitimate at 0.8 and 0.7, a fraud of 20 at 0.6, legitimate rest.
        let probabilities = [0.9, 0.8, 0.7, 0.6, 0.1, 0.05];
        let labels = [1, 0, 0, 1, 0, 0];
        let rows = rows_with_amounts(&[1000.0, 10.0, 10.0, 20.0, 10.0, 10.0]);
        let schema = Schema::creditcard();
        let s = Scored { probabilities: &probabilities, rows: &rows, labels: &labels, schema: &schema };
        // Refusing down to 0.6: +50 -5 -5 +50 +0.4 = 90.4 vs down to 0.9 only: 50 - 20 + 0.8 = 30.8.
        assert_eq!(s.best_net_benefit_threshold(&costs), 0.6);
        let rule = DecisionRule { policy: Policy::NetBenefitThreshold, ..DecisionRule::at_threshold(0.6) };
        let t = s.tally(&rule);
        assert!((t.net_benefit - 90.4).abs() < 1e-9, "{t:?}");
        let curve = s.net_benefit_curve(&costs);
        assert_eq!(curve.len(), 6);
        assert!((curve[3].1 - t.net_benefit).abs() < 1e-9);
        assert!((curve[5].1 - t.refuse_all).abs() < 1e-9);
    }

    #[test]
    fn benefits_parse_as_documented() {
        let b = |fixed, per_amount| Benefit { fixed, per_amount };
        assert_eq!(parse_benefit("50"), Ok(b(50.0, 0.0)));
        assert_eq!(parse_benefit("-1*amount"), Ok(b(0.0, -1.0)));
        assert_eq!(parse_benefit(" 0.02 * amount"), Ok(b(0.0, 0.02)));
        assert_eq!(parse_benefit("10+0.01*amount"), Ok(b(10.0, 0.01)));
        assert_eq!(parse_benefit("-2-1*amount"), Ok(b(-2.0, -1.0)));
        assert_eq!(parse_benefit("1e-3*amount"), Ok(b(0.0, 0.001)));
        assert_eq!(parse_benefit("1e2-1e-2*amount"), Ok(b(100.0, -0.01)));
        for bad in ["", "abc", "5*amt", "nan", "inf", "1+*amount", "--1"] {
            assert!(parse_benefit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusing_nothing_can_win() {
        let costs = Costs::default();
        let probabilities = [0.9, 0.8];
        let labels = [0, 0];
        let rows = rows_with_amounts(&[10.0, 10.0]);
        let schema = Schema::creditcard();
        let s = Scored { probabilities: &probabilities, rows: &rows, labels: &labels, schema: &schema };
        let t = s.best_net_benefit_threshold(&costs);
        assert!(t > 0.9 && t < 0.9000001);
        assert_eq!(PolicyChoice::from_name("cost-optimal"), Some(PolicyChoice::Fixed(Policy::CostOptimal)));
    }
}
