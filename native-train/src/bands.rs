//! Three bands on the calibrated probability — accept, review, refuse —
//! chosen on validation for the best net benefit under a review capacity,
//! and written as a rules file every runtime runs (`model/rules.txt`).
//!
//! Why a search and not two thresholds picked apart: a review costs an
//! analyst's time but settles the transaction correctly, so the band is worth
//! it exactly where the model is unsure *and* the amount at stake exceeds the
//! review cost; the best refuse threshold with a band below it is not the best
//! single threshold. Over validation sorted by probability, every pair of cut
//! points (refuse above `a`, review between `b` and `a`, at most the capacity
//! in the band, cuts only between distinct probabilities) is weighed with
//! prefix sums of each row's three values: O(n · capacity).

use fraud_core::{Model, RuleSet, Tally};

use crate::policy::Scored;

/// The band search's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandOptions {
    /// What one review costs, in the costs' currency.
    pub review_cost: f64,
    /// Most transactions sent to review, as a share of all (0.005 = 0.5 %).
    pub review_capacity: f64,
}

impl Default for BandOptions {
    fn default() -> BandOptions {
        BandOptions { review_cost: fraud_core::DEFAULT_REVIEW_COST, review_capacity: 0.005 }
    }
}

impl BandOptions {
    /// Refuses a cost or capacity outside its domain.
    pub fn check(&self) -> Result<(), String> {
        if !(self.review_cost.is_finite() && (0.0..=1e9).contains(&self.review_cost)) {
            return Err(format!("--cost-review must be between 0 and 1e9, got {}", self.review_cost));
        }
        if !(self.review_capacity.is_finite() && (0.0..=1.0).contains(&self.review_capacity)) {
            return Err(format!("--review-capacity must be a share between 0 and 100 %, got {}", self.review_capacity));
        }
        Ok(())
    }
}

/// Parses a capacity as the CLI spells it: `0.5%` or `0.005`.
pub fn parse_capacity(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    let v: f64 = number.parse().map_err(|_| format!("{text:?} is not a share such as 0.5% or 0.005"))?;
    let share = v * scale;
    if !(0.0..=1.0).contains(&share) {
        return Err(format!("{text:?} is not between 0 and 100 %"));
    }
    Ok(share)
}

/// The proposed bands, as rules, with their money.
#[derive(Clone, Debug)]
pub struct Bands {
    /// Refuse at or above this probability.
    pub refuse_at: f64,
    /// Review at or above this one (and below `refuse_at`); equal to it when no band pays.
    pub review_at: f64,
    /// The settings they were chosen under.
    pub options: BandOptions,
    /// The rules file's text.
    pub rules: String,
    /// Their money on validation (where they were chosen).
    pub validation: Tally,
    /// Their money on test.
    pub test: Tally,
}

/// The best bands on `validation`, measured on `test`, through `model`'s rules engine.
pub fn propose(model: &Model, validation: &Scored, test: &Scored, options: BandOptions) -> Result<Bands, String> {
    options.check()?;
    let costs = model.costs();
    let p = validation.probabilities;
    let n = p.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| p[b].total_cmp(&p[a]));
    // Prefix sums, in descending probability: value if refused, reviewed, accepted.
    let (mut refuse, mut review, mut accept) = (vec![0.0; n + 1], vec![0.0; n + 1], vec![0.0; n + 1]);
    for (k, &i) in order.iter().enumerate() {
        let (fraud, amount) = (validation.labels[i] == 1, validation.amount(i));
        refuse[k + 1] = refuse[k] + costs.realised(fraud, true, amount);
        review[k + 1] = review[k] + costs.realised(fraud, fraud, amount) - options.review_cost;
        accept[k + 1] = accept[k] + costs.realised(fraud, false, amount);
    }
    // Cut points: between distinct probabilities (and both ends).
    let cuts: Vec<usize> = (0..=n).filter(|&k| k == 0 || k == n || p[order[k - 1]] != p[order[k]]).collect();
    let capacity = (options.review_capacity * n as f64).floor() as usize;
    let value = |a: usize, b: usize| refuse[a] + (review[b] - review[a]) + (accept[n] - accept[b]);
    let mut best = (value(0, 0), 0usize, 0usize);
    for (ia, &a) in cuts.iter().enumerate() {
        for &b in cuts[ia..].iter().take_while(|&&b| b - a <= capacity) {
            let v = value(a, b);
            // Strictly better only: fewer refusals and reviews win ties.
            if v > best.0 {
                best = (v, a, b);
            }
        }
    }
    let (_, a, b) = best;
    let above_all = |k: usize| {
        if k == 0 {
            next_up(p.get(order.first().copied().unwrap_or(0)).copied().unwrap_or(1.0))
        } else {
            p[order[k - 1]]
        }
    };
    let refuse_at = above_all(a);
    let review_at = if b == a { refuse_at } else { p[order[b - 1]] };
    let rules = rules_text(refuse_at, review_at, &options, model.costs().currency.as_str());
    let set =
        RuleSet::compile(&rules, &[], model.schema()).map_err(|e| format!("the proposed bands do not compile: {e}"))?;
    let tally = |s: &Scored| {
        let mut t = Tally::default();
        for (i, &pr) in s.probabilities.iter().enumerate() {
            let w = s.schema.len();
            let x = &s.rows[i * w..(i + 1) * w];
            let v = set.verdict(model, x, None, pr, model.is_fraud(x, pr));
            t.add_action(costs, options.review_cost, model.amount(x), s.labels[i] == 1, v.action);
        }
        t
    };
    Ok(Bands { refuse_at, review_at, options, validation: tally(validation), test: tally(test), rules })
}

/// One sentence on the bands against the served single-threshold policy, on test.
pub fn verdict_line(c: &crate::pipeline::Candidate) -> String {
    let b = &c.bands;
    let currency = &c.model.costs().currency;
    let m = |x: f64| fraud_core::decision::format_money(x, currency);
    let served = c.policies.iter().find(|p| p.policy == c.model.policy()).map_or(0.0, |p| p.test.net_benefit);
    let best = c.policies.iter().map(|p| p.test.net_benefit).fold(f64::NEG_INFINITY, f64::max);
    let diff = b.test.net_benefit - served;
    format!(
        "Three bands (rules.txt: review ≥ {}, refuse ≥ {}; {} reviews on test costing {}): test net benefit {}, {} {} the served policy ({}){}",
        crate::tables::format_threshold(b.review_at),
        crate::tables::format_threshold(b.refuse_at),
        b.test.reviews,
        m(b.test.review_cost),
        m(b.test.net_benefit),
        m(diff.abs()),
        if diff >= 0.0 { "more than" } else { "less than" },
        m(served),
        if best > served { format!("; the best of the policies on test made {}", m(best)) } else { String::new() }
    )
}

/// The bands' money as the report's JSON writes it (the tally with its reviews).
pub fn tally_json(t: &Tally) -> serde_json::Value {
    serde_json::json!({
        "transactions": t.transactions,
        "frauds_stopped": t.frauds_stopped,
        "frauds_missed": t.frauds_missed,
        "false_alarms": t.false_alarms,
        "stopped_amount": t.stopped_amount,
        "missed_amount": t.missed_amount,
        "false_alarm_cost": t.false_alarm_cost,
        "reviews": t.reviews,
        "reviewed_frauds": t.reviewed_frauds,
        "review_cost": t.review_cost,
        "net_benefit": t.net_benefit,
    })
}

/// The report's `bands` section for a candidate.
pub fn report_json(c: &crate::pipeline::Candidate) -> serde_json::Value {
    let b = &c.bands;
    let served = c.policies.iter().find(|p| p.policy == c.model.policy()).map_or(0.0, |p| p.test.net_benefit);
    serde_json::json!({
        "rules_file": crate::output::RULES_FILE,
        "review_at": b.review_at,
        "refuse_at": b.refuse_at,
        "cost_review": b.options.review_cost,
        "review_capacity": b.options.review_capacity,
        "validation": tally_json(&b.validation),
        "test": tally_json(&b.test),
        "test_net_benefit_minus_served_policy": b.test.net_benefit - served,
    })
}

fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f64::from_bits(next)
}

/// The bands as a rules file: accept below the band, refuse above it,
/// review inside — decided by the rules alone, whatever the model's policy.
pub fn rules_text(refuse_at: f64, review_at: f64, options: &BandOptions, currency: &str) -> String {
    format!(
        "# Proposed by native-train: three bands on the calibrated probability, chosen on validation for the\n\
         # best net benefit with a review costing {} {currency} and at most {}% of transactions reviewed.\n\
         # Edit, then check with `native-train backtest --rules` before serving with `--rules`.\n\
         accept below_review if :probability: < {review_at:?}\n\
         refuse refuse_band  if :probability: >= {refuse_at:?}\n\
         review review_band  if :probability: >= {review_at:?}\n",
        options.review_cost,
        options.review_capacity * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::{Artifact, Schema};

    fn scored<'a>(p: &'a [f64], rows: &'a [f64], labels: &'a [u8], schema: &'a Schema) -> Scored<'a> {
        Scored { probabilities: p, rows, labels, schema }
    }

    #[test]
    fn the_search_finds_the_best_pair_and_the_rules_decide_it() {
        let model = Artifact::example().model().unwrap();
        let schema = model.schema().clone();
        let w = schema.len();
        let amount = schema.amount().unwrap();
        // Ten rows, probability descending; frauds and amounts arranged so a
        // one-row band around an expensive, uncertain fraud pays.
        let p = [0.99, 0.95, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
        let labels = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0];
        let amounts = [100.0, 100.0, 10.0, 10.0, 2000.0, 10.0, 10.0, 10.0, 10.0, 10.0];
        let mut rows = vec![0.0; 10 * w];
        for (i, a) in amounts.iter().enumerate() {
            rows[i * w + amount] = *a;
        }
        let s = scored(&p, &rows, &labels, &schema);
        let options = BandOptions { review_cost: 3.0, review_capacity: 0.3 };
        let bands = propose(&model, &s, &s, options).unwrap();
        // Brute force over every pair of thresholds at the data's probabilities.
        let costs = model.costs();
        let mut best = f64::NEG_INFINITY;
        for ra in 0..=10 {
            for rb in ra..=(ra + 3).min(10) {
                let mut v = 0.0;
                for i in 0..10 {
                    let fraud = labels[i] == 1;
                    v += if i < ra {
                        costs.realised(fraud, true, amounts[i])
                    } else if i < rb {
                        costs.realised(fraud, fraud, amounts[i]) - 3.0
                    } else {
                        costs.realised(fraud, false, amounts[i])
                    };
                }
                best = best.max(v);
            }
        }
        assert!((bands.validation.net_benefit - best).abs() < 1e-9, "{} vs {best}", bands.validation.net_benefit);
        assert!(bands.validation.reviews <= 3);
        assert!(bands.validation.reviews >= 1, "reviewing the uncertain middle pays: {bands:?}");
        assert!(bands.review_at <= bands.refuse_at);
        assert!(RuleSet::compile(&bands.rules, &[], &schema).is_ok());
        // No capacity: no band.
        let none = propose(&model, &s, &s, BandOptions { review_capacity: 0.0, ..options }).unwrap();
        assert_eq!((none.validation.reviews, none.review_at), (0, none.refuse_at));
    }

    #[test]
    fn capacities_parse_as_shares() {
        assert_eq!(parse_capacity("0.5%"), Ok(0.005));
        assert_eq!(parse_capacity("0.01"), Ok(0.01));
        assert!(parse_capacity("150%").is_err() && parse_capacity("x").is_err() && parse_capacity("-1").is_err());
    }
}
