//! What `/metrics` shows of a challenger scored in shadow (`--shadow`): over
//! the last transactions (the drift window's length), each model's flagged
//! rate, how often their actions agree, and the population stability index
//! between their score distributions; totals since it started shadowing.
//!
//! The PSI bins are the champion's training score deciles when its artifact
//! carries a drift reference (where the scores of this model actually fall),
//! else fixed probability edges.

use std::fmt::Write as _;

use fraud_core::drift::{Bins, PSI_FLOOR};
use http_api::Shadowed;

/// Probability edges when the champion has no drift reference (most scores are tiny).
const FALLBACK_EDGES: [f64; 10] = [1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9];

/// The challenger's labels and the window over both models' last decisions.
pub(crate) struct ShadowWindow {
    /// `fraud_challenger_info`'s labels.
    pub(crate) labels: String,
    bins: Bins,
    capacity: usize,
    /// Ring of (champion bin, challenger bin, champion flagged, challenger flagged, actions agree).
    ring: Vec<(u8, u8, bool, bool, bool)>,
    next: usize,
    counts: [Vec<u64>; 2],
    flagged: [u64; 2],
    agree: u64,
    /// Since the challenger started shadowing (not windowed).
    total: u64,
    total_agree: u64,
}

impl ShadowWindow {
    /// A window of `capacity` transactions, binned by `reference` (the champion's score bins) if any.
    pub(crate) fn new(labels: String, reference: Option<&Bins>, capacity: usize) -> ShadowWindow {
        let bins = reference.cloned().unwrap_or_else(|| Bins {
            edges: FALLBACK_EDGES.to_vec(),
            shares: vec![1.0 / (FALLBACK_EDGES.len() + 1) as f64; FALLBACK_EDGES.len() + 1],
        });
        let n = bins.len();
        ShadowWindow {
            labels,
            bins,
            capacity: capacity.max(1),
            ring: Vec::new(),
            next: 0,
            counts: [vec![0; n], vec![0; n]],
            flagged: [0; 2],
            agree: 0,
            total: 0,
            total_agree: 0,
        }
    }

    pub(crate) fn push(&mut self, s: &Shadowed) {
        // At most DRIFT_BINS (10) or 11 bins: an index fits a byte.
        let entry = (
            self.bins.bin(s.champion) as u8,
            self.bins.bin(s.challenger) as u8,
            s.champion_refused,
            s.challenger_refused,
            s.champion_action == s.challenger_action,
        );
        self.total += 1;
        self.total_agree += entry.4 as u64;
        if self.ring.len() == self.capacity {
            let old = std::mem::replace(&mut self.ring[self.next], entry);
            self.count(old, false);
        } else {
            self.ring.push(entry);
        }
        self.count(entry, true);
        self.next = (self.next + 1) % self.capacity;
    }

    fn count(&mut self, (a, b, fa, fb, agree): (u8, u8, bool, bool, bool), add: bool) {
        let step = |n: &mut u64, by: bool| {
            if by {
                *n = if add { *n + 1 } else { n.saturating_sub(1) };
            }
        };
        step(&mut self.counts[0][a as usize], true);
        step(&mut self.counts[1][b as usize], true);
        step(&mut self.flagged[0], fa);
        step(&mut self.flagged[1], fb);
        step(&mut self.agree, agree);
    }

    /// PSI of the challenger's window scores against the champion's: `Σ (b − a) · ln(b / a)`,
    /// shares floored at `PSI_FLOOR` (0 with an empty window).
    pub(crate) fn psi(&self) -> f64 {
        let n = self.ring.len();
        if n == 0 {
            return 0.0;
        }
        self.counts[0]
            .iter()
            .zip(&self.counts[1])
            .map(|(&a, &b)| {
                let (a, b) = ((a as f64 / n as f64).max(PSI_FLOOR), (b as f64 / n as f64).max(PSI_FLOOR));
                (b - a) * (b / a).ln()
            })
            .sum()
    }

    pub(crate) fn write(&self, out: &mut String) {
        let n = self.ring.len();
        let rate = |k: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let _ = writeln!(
            out,
            "# HELP fraud_challenger_info The challenger scored in shadow (never answered).\n# TYPE fraud_challenger_info gauge\nfraud_challenger_info{{{}}} 1",
            self.labels
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_transactions_total Transactions both models decided since the challenger started.\n# TYPE fraud_shadow_transactions_total counter\nfraud_shadow_transactions_total {}",
            self.total
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_agreements_total Of them, decided with the same action.\n# TYPE fraud_shadow_agreements_total counter\nfraud_shadow_agreements_total {}",
            self.total_agree
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_window_transactions Transactions in the shadow window.\n# TYPE fraud_shadow_window_transactions gauge\nfraud_shadow_window_transactions {n}"
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_flagged_rate_window Share of the window each model's policy refused.\n# TYPE fraud_shadow_flagged_rate_window gauge\nfraud_shadow_flagged_rate_window{{model=\"champion\"}} {}\nfraud_shadow_flagged_rate_window{{model=\"challenger\"}} {}",
            rate(self.flagged[0]),
            rate(self.flagged[1])
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_agreement_window Share of the window both models gave the same action (accept, review or refuse).\n# TYPE fraud_shadow_agreement_window gauge\nfraud_shadow_agreement_window {}",
            rate(self.agree)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_shadow_score_psi Population stability index of the challenger's scores against the champion's over the window. Above 0.1 the two see the traffic differently, above 0.25 very.\n# TYPE fraud_shadow_score_psi gauge\nfraud_shadow_score_psi {}",
            self.psi()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fraud_core::Action;

    fn pair(a: f64, b: f64) -> Shadowed {
        let act = |p: f64| if p > 0.5 { Action::Refuse } else { Action::Accept };
        Shadowed {
            champion: a,
            champion_refused: a > 0.5,
            champion_action: act(a),
            challenger: b,
            challenger_refused: b > 0.5,
            challenger_action: act(b),
        }
    }

    #[test]
    fn the_window_forgets_what_slid_out() {
        let mut w = ShadowWindow::new(String::new(), None, 4);
        for _ in 0..4 {
            w.push(&pair(0.9, 0.1));
        }
        assert_eq!((w.flagged, w.agree), ([4, 0], 0));
        assert!(w.psi() > 1.0, "all mass in different bins: {}", w.psi());
        for _ in 0..4 {
            w.push(&pair(0.2, 0.2));
        }
        assert_eq!((w.flagged, w.agree, w.total, w.total_agree), ([0, 0], 4, 8, 4));
        assert!(w.psi().abs() < 1e-12, "the same scores: {}", w.psi());
        let mut out = String::new();
        w.write(&mut out);
        assert!(out.contains("fraud_shadow_agreement_window 1\n"), "{out}");
        assert!(out.contains("fraud_shadow_transactions_total 8\n"), "{out}");
    }
}
