//! `GET /metrics` in the Prometheus text format: requests by route and status,
//! a latency histogram, requests in flight, transactions scored and flagged,
//! a histogram of fraud probabilities, and drift — the population stability
//! index of each input and of the score over a sliding window of the last
//! transactions, against the artifact's training reference, with the flagged
//! rate beside the training base rate.
//!
//! Why a hand-written exposition: a dozen families, no labels beyond route,
//! status and feature; a metrics crate would add more code than this file.
//! Counters are atomics; the request table and the drift window take a short
//! lock (a few hundred nanoseconds per transaction, measured in the README).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fraud_core::drift::DriftReference;
use fraud_core::{Action, RuleSet, Verdict};
use http_api::{Observer, Served};

/// Upper bounds of the latency buckets, seconds.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Upper bounds of the probability buckets (most transactions score tiny probabilities).
const PROBABILITY_BUCKETS: [f64; 11] = [1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0];
/// Transactions in the drift window unless told otherwise.
pub const DEFAULT_DRIFT_WINDOW: usize = 10_000;

/// A histogram with fixed buckets (cumulative on output).
struct Histogram<const N: usize> {
    bounds: [f64; N],
    counts: [AtomicU64; N],
    above: AtomicU64,
    /// Sum of observations, in millionths (atomics hold integers).
    sum_micro: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            above: AtomicU64::new(0),
            sum_micro: AtomicU64::new(0),
        }
    }

    fn observe(&self, v: f64) {
        match self.bounds.iter().position(|&b| v <= b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.above.fetch_add(1, Ordering::Relaxed),
        };
        self.sum_micro.fetch_add((v * 1e6) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.above.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// The last `capacity` scored transactions, as bin indexes, with running counts per bin.
struct Window {
    reference: DriftReference,
    capacity: usize,
    /// Ring of `capacity` rows of `features + 1` bins (the score last), and each row's decision.
    bins: Vec<u8>,
    refused: Vec<bool>,
    next: usize,
    len: usize,
    /// Per monitored value (inputs, then the score), per bin: rows in the window;
    /// an input's last entry counts its missing values.
    counts: Vec<Vec<u64>>,
    refused_in_window: u64,
}

impl Window {
    fn new(reference: DriftReference, capacity: usize) -> Window {
        let counts =
            reference.features.iter().map(|b| vec![0; b.len() + 1]).chain([vec![0; reference.score.len()]]).collect();
        Window {
            capacity,
            bins: vec![0; capacity * (reference.features.len() + 1)],
            refused: vec![false; capacity],
            next: 0,
            len: 0,
            counts,
            refused_in_window: 0,
            reference,
        }
    }

    fn push(&mut self, row: &[f64], probability: f64, refused: bool) {
        let width = self.reference.features.len() + 1;
        let slot = self.next * width;
        if self.len == self.capacity {
            for (k, counts) in self.counts.iter_mut().enumerate() {
                counts[self.bins[slot + k] as usize] -= 1;
            }
            self.refused_in_window -= self.refused[self.next] as u64;
        } else {
            self.len += 1;
        }
        let values = row.iter().copied().chain([probability]);
        let refs = self.reference.features.iter().chain([&self.reference.score]);
        for (k, (v, bins)) in values.zip(refs).enumerate() {
            // At most DRIFT_BINS (10) bins and the missing one: the index fits a byte.
            let b = if v.is_nan() { bins.len() } else { bins.bin(v) };
            self.bins[slot + k] = b as u8;
            self.counts[k][b] += 1;
        }
        self.refused[self.next] = refused;
        self.refused_in_window += refused as u64;
        self.next = (self.next + 1) % self.capacity;
    }
}

/// Everything `/metrics` reports; shared by the middleware, the observer and the handler.
pub struct Monitor {
    /// The model serving now: its labels and drift window (replaced whole by a model swap).
    watched: RwLock<Arc<Watched>>,
    /// The drift window's length, for each model served.
    drift_window: usize,
    /// (route, status) → count: a handful of entries, read-locked on the hot path.
    requests: RwLock<Vec<(String, u16, AtomicU64)>>,
    latency: Histogram<14>,
    in_flight: AtomicI64,
    scored: AtomicU64,
    flagged: AtomicU64,
    probability: Histogram<11>,
    /// Transactions per action (accept, review, refuse).
    actions: [AtomicU64; 3],
    /// (rule id, shadow) → matches, across reloads: a few dozen entries, read-locked on the hot path.
    rule_hits: RwLock<Vec<(String, bool, AtomicU64)>>,
    /// The rule set's version and when it was loaded, for `fraud_rules_info`.
    rules_info: Mutex<Option<(String, u64)>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    model_swaps: AtomicU64,
    model_swap_failures: AtomicU64,
    /// The decision log's counters and the latest tally of how decisions turned out.
    log: std::sync::OnceLock<LogFigures>,
}

/// What the monitor knows of one served model: its labels and its drift window.
struct Watched {
    /// The model's feature names (label-escaped), for the drift lines.
    features: Vec<String>,
    /// `fraud_model_info`'s labels.
    model: String,
    window: Option<Mutex<Window>>,
    /// With a challenger in shadow: both models' last decisions side by side.
    shadow: Option<Mutex<crate::shadow::ShadowWindow>>,
}

impl Watched {
    fn new(served: &Served, drift_window: usize) -> Watched {
        let window =
            served.drift().filter(|_| drift_window > 0).map(|r| Mutex::new(Window::new(r.clone(), drift_window)));
        let model = format!(
            "name=\"{}\",kind=\"{}\",id=\"{}\",policy=\"{}\"",
            served.model().name().replace(['"', '\\', '\n'], "_"),
            served.model().kind().as_str(),
            served.model_id(),
            served.model().policy().as_str()
        );
        // Prometheus label values escape backslashes (names hold no quotes or newlines: the schema forbids them).
        let features = served.model().schema().features().iter().map(|n| n.replace('\\', "\\\\")).collect();
        let shadow = served.challenger().map(|c| {
            let labels =
                format!("name=\"{}\",kind=\"{}\",id=\"{}\"", c.name.replace(['"', '\\', '\n'], "_"), c.kind, c.id);
            let capacity = if drift_window > 0 { drift_window } else { DEFAULT_DRIFT_WINDOW };
            let reference = served.drift().map(|d| &d.score);
            Mutex::new(crate::shadow::ShadowWindow::new(labels, reference, capacity))
        });
        Watched { features, model, window, shadow }
    }
}

/// The observer of one served model: counts go to the monitor, rows to that
/// model's drift window (a request still in flight on a replaced model feeds
/// the replaced window, never the new model's).
struct ModelObserver {
    monitor: Arc<Monitor>,
    watched: Arc<Watched>,
}

impl Monitor {
    /// A monitor for `served`'s model; drift is watched over the last
    /// `drift_window` transactions when the artifact carries a reference.
    pub fn new(served: &Served, drift_window: usize) -> Monitor {
        Monitor {
            watched: RwLock::new(Arc::new(Watched::new(served, drift_window))),
            drift_window,
            requests: RwLock::new(Vec::new()),
            latency: Histogram::new(LATENCY_BUCKETS),
            in_flight: AtomicI64::new(0),
            scored: AtomicU64::new(0),
            flagged: AtomicU64::new(0),
            probability: Histogram::new(PROBABILITY_BUCKETS),
            actions: std::array::from_fn(|_| AtomicU64::new(0)),
            rule_hits: RwLock::new(Vec::new()),
            rules_info: Mutex::new(None),
            reloads: AtomicU64::new(0),
            reload_failures: AtomicU64::new(0),
            model_swaps: AtomicU64::new(0),
            model_swap_failures: AtomicU64::new(0),
            log: std::sync::OnceLock::new(),
        }
    }

    /// `served`, observed by this monitor, which reports its model from now on
    /// (a fresh drift window against its reference). Call as it starts serving.
    pub fn observe(self: &Arc<Monitor>, served: Served) -> Served {
        let watched = Arc::new(Watched::new(&served, self.drift_window));
        *self.watched.write().unwrap_or_else(|e| e.into_inner()) = watched.clone();
        served.with_observer(Arc::new(ModelObserver { monitor: self.clone(), watched }))
    }

    fn watched(&self) -> Arc<Watched> {
        self.watched.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A model swap took effect.
    pub fn model_swapped(&self) {
        self.model_swaps.fetch_add(1, Ordering::Relaxed);
    }

    /// A model swap was refused (the old model keeps serving).
    pub fn model_swap_failed(&self) {
        self.model_swap_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// A rule set now decides (at start or after a reload).
    pub fn rules_loaded(&self, rules: &RuleSet, reload: bool) {
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        *self.rules_info.lock().unwrap_or_else(|e| e.into_inner()) = Some((rules.version().to_string(), at));
        if reload {
            self.reloads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A reload was refused (the old rule set keeps deciding).
    pub fn rules_reload_failed(&self) {
        self.reload_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn hit(&self, id: &str, shadow: bool) {
        let known = self.rule_hits.read().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, n)) = known.iter().find(|(r, s, _)| *s == shadow && r == id) {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        drop(known);
        let mut all = self.rule_hits.write().unwrap_or_else(|e| e.into_inner());
        match all.iter().find(|(r, s, _)| *s == shadow && r == id) {
            Some((_, _, n)) => {
                n.fetch_add(1, Ordering::Relaxed);
            }
            None => all.push((id.to_string(), shadow, AtomicU64::new(1))),
        }
    }

    fn record(&self, route: &str, status: u16, seconds: f64) {
        self.latency.observe(seconds);
        // A poisoned lock only means another request panicked mid-increment: the counts are still counts.
        let known = self.requests.read().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, n)) = known.iter().find(|(r, s, _)| *s == status && r == route) {
            n.fetch_add(1, Ordering::Relaxed);
            return;
        }
        drop(known);
        let mut all = self.requests.write().unwrap_or_else(|e| e.into_inner());
        match all.iter().find(|(r, s, _)| *s == status && r == route) {
            Some((_, _, n)) => {
                n.fetch_add(1, Ordering::Relaxed);
            }
            None => all.push((route.to_string(), status, AtomicU64::new(1))),
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let watched = self.watched();
        let _ = writeln!(out, "# HELP fraud_model_info The model being served.\n# TYPE fraud_model_info gauge");
        let _ = writeln!(out, "fraud_model_info{{{}}} 1", watched.model);
        let _ = writeln!(
            out,
            "# HELP fraud_model_swaps_total Model swaps that took effect.\n# TYPE fraud_model_swaps_total counter\nfraud_model_swaps_total {}",
            self.model_swaps.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_model_swap_failures_total Model swaps refused (a bad artifact, or rules that do not compile for it); the old model kept serving.\n# TYPE fraud_model_swap_failures_total counter\nfraud_model_swap_failures_total {}",
            self.model_swap_failures.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_http_requests_total Requests answered, by route and status.\n# TYPE fraud_http_requests_total counter"
        );
        let mut requests: Vec<(String, u16, u64)> = self
            .requests
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(r, s, n)| (r.clone(), *s, n.load(Ordering::Relaxed)))
            .collect();
        requests.sort();
        for (route, status, n) in requests {
            let _ = writeln!(out, "fraud_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        self.latency.write(&mut out, "fraud_http_request_duration_seconds", "Time from request to response.");
        let _ = writeln!(
            out,
            "# HELP fraud_http_requests_in_flight Requests being served.\n# TYPE fraud_http_requests_in_flight gauge\nfraud_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_transactions_scored_total Transactions scored (single and batch).\n# TYPE fraud_transactions_scored_total counter\nfraud_transactions_scored_total {}",
            self.scored.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_transactions_flagged_total Transactions the policy refused.\n# TYPE fraud_transactions_flagged_total counter\nfraud_transactions_flagged_total {}",
            self.flagged.load(Ordering::Relaxed)
        );
        self.probability.write(&mut out, "fraud_probability", "Served (calibrated) fraud probabilities.");
        let _ = writeln!(
            out,
            "# HELP fraud_decisions_total Transactions by final action (rules, else the model's policy).\n# TYPE fraud_decisions_total counter"
        );
        for (action, n) in Action::ALL.iter().zip(&self.actions) {
            let _ = writeln!(out, "fraud_decisions_total{{action=\"{action}\"}} {}", n.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP fraud_rule_hits_total Transactions a rule matched (deciding rules: decided; shadow rules: matched), across reloads.\n# TYPE fraud_rule_hits_total counter"
        );
        let mut hits: Vec<(String, bool, u64)> = self
            .rule_hits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(r, s, n)| (r.clone(), *s, n.load(Ordering::Relaxed)))
            .collect();
        hits.sort();
        for (rule, shadow, n) in hits {
            let _ = writeln!(out, "fraud_rule_hits_total{{rule=\"{rule}\",shadow=\"{shadow}\"}} {n}");
        }
        if let Some((version, at)) = self.rules_info.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let version = version.replace(['"', '\\', '\n'], "_");
            let _ = writeln!(
                out,
                "# HELP fraud_rules_info The rule set deciding, and when it was loaded (seconds since the epoch).\n# TYPE fraud_rules_info gauge\nfraud_rules_info{{version=\"{version}\"}} {at}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP fraud_rules_reloads_total Rule set reloads that took effect.\n# TYPE fraud_rules_reloads_total counter\nfraud_rules_reloads_total {}",
            self.reloads.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP fraud_rules_reload_failures_total Reloads refused (a bad rules file or list); the old set kept deciding.\n# TYPE fraud_rules_reload_failures_total counter\nfraud_rules_reload_failures_total {}",
            self.reload_failures.load(Ordering::Relaxed)
        );
        if let Some(window) = &watched.window {
            let w = window.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(
                out,
                "# HELP fraud_drift_window_transactions Transactions in the drift window.\n# TYPE fraud_drift_window_transactions gauge\nfraud_drift_window_transactions {}",
                w.len
            );
            let _ = writeln!(
                out,
                "# HELP fraud_drift_psi Population stability index over the window against the training reference (inputs: train split; score: validation). Above 0.1 is a shift worth a look, above 0.25 a large one.\n# TYPE fraud_drift_psi gauge"
            );
            let names = watched.features.iter().map(String::as_str).chain(["score"]);
            let refs = w.reference.features.iter().chain([&w.reference.score]);
            let n_inputs = w.reference.features.len();
            for (k, ((name, bins), counts)) in names.zip(refs).zip(&w.counts).enumerate() {
                let psi = match w.reference.missing.get(k) {
                    Some(&expected) => bins.psi_with_missing(&counts[..bins.len()], counts[bins.len()], expected),
                    None if k < n_inputs => bins.psi(&counts[..bins.len()]),
                    None => bins.psi(counts),
                };
                let _ = writeln!(out, "fraud_drift_psi{{feature=\"{name}\"}} {psi}");
            }
            if !w.reference.missing.is_empty() {
                let _ = writeln!(
                    out,
                    "# HELP fraud_missing_rate_window Share of the window's transactions where the input was missing (null or an empty cell).\n# TYPE fraud_missing_rate_window gauge"
                );
                for (name, counts) in watched.features.iter().zip(&w.counts) {
                    let missing = counts.last().copied().unwrap_or(0);
                    let rate = if w.len == 0 { 0.0 } else { missing as f64 / w.len as f64 };
                    let _ = writeln!(out, "fraud_missing_rate_window{{feature=\"{name}\"}} {rate}");
                }
                let _ = writeln!(
                    out,
                    "# HELP fraud_missing_rate_training The input's missing rate on the train split.\n# TYPE fraud_missing_rate_training gauge"
                );
                for (name, rate) in watched.features.iter().zip(&w.reference.missing) {
                    let _ = writeln!(out, "fraud_missing_rate_training{{feature=\"{name}\"}} {rate}");
                }
            }
            let rate = if w.len == 0 { 0.0 } else { w.refused_in_window as f64 / w.len as f64 };
            let _ = writeln!(
                out,
                "# HELP fraud_flagged_rate_window Share of the window's transactions refused.\n# TYPE fraud_flagged_rate_window gauge\nfraud_flagged_rate_window {rate}"
            );
            let _ = writeln!(
                out,
                "# HELP fraud_expected_flagged_rate Share of validation the served policy refused.\n# TYPE fraud_expected_flagged_rate gauge\nfraud_expected_flagged_rate {}",
                w.reference.flagged_rate
            );
            let _ = writeln!(
                out,
                "# HELP fraud_training_base_rate Fraud rate of the train split.\n# TYPE fraud_training_base_rate gauge\nfraud_training_base_rate {}",
                w.reference.base_rate
            );
        }
        if let Some(shadow) = &watched.shadow {
            shadow.lock().unwrap_or_else(|e| e.into_inner()).write(&mut out);
        }
        if let Some(log) = self.log.get() {
            log.write(&mut out);
        }
        out
    }

    /// Shows the decision log's figures, the outcomes refreshed every `every` on a thread of
    /// their own (a tally reads the whole log: never on a scrape's request).
    pub fn watch_log(self: &Arc<Monitor>, log: Arc<decision_log::Log>, maturity_ms: i64, every: std::time::Duration) {
        let figures = LogFigures { log: log.clone(), maturity_ms, outcomes: Mutex::new(None) };
        if self.log.set(figures).is_err() {
            return;
        }
        let monitor = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("outcomes".into()).spawn(move || loop {
            let Some(m) = monitor.upgrade() else { return };
            if let Some(f) = m.log.get() {
                match f.log.outcomes(f.maturity_ms) {
                    Ok(o) => *f.outcomes.lock().unwrap_or_else(|e| e.into_inner()) = Some(o),
                    Err(e) => tracing::warn!(error = %e, "cannot tally the decisions' outcomes"),
                }
            }
            drop(m);
            std::thread::sleep(every);
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the outcomes thread: /metrics shows no precision or recall");
        }
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let watched = self.watched();
        f.debug_struct("Monitor").field("model", &watched.model).field("drift", &watched.window.is_some()).finish()
    }
}

impl Observer for Monitor {
    fn decided(&self, rules: Option<&RuleSet>, verdicts: &[Verdict]) {
        let mut counts = [0u64; 3];
        for v in verdicts {
            counts[v.action as usize] += 1;
            if let Some(rules) = rules {
                if let Some(i) = v.rule {
                    self.hit(rules.rule(i as usize).id(), false);
                }
                for i in v.shadow.iter() {
                    self.hit(rules.rule(i).id(), true);
                }
            }
        }
        for (n, c) in self.actions.iter().zip(counts) {
            if c > 0 {
                n.fetch_add(c, Ordering::Relaxed);
            }
        }
    }

    fn scored_batch(&self, batch: &[(&[f64], f64, bool)]) {
        let refused = batch.iter().filter(|b| b.2).count() as u64;
        self.scored.fetch_add(batch.len() as u64, Ordering::Relaxed);
        self.flagged.fetch_add(refused, Ordering::Relaxed);
        for &(_, p, _) in batch {
            self.probability.observe(p);
        }
    }

    fn scored(&self, _row: &[f64], probability: f64, refused: bool) {
        self.scored.fetch_add(1, Ordering::Relaxed);
        if refused {
            self.flagged.fetch_add(1, Ordering::Relaxed);
        }
        self.probability.observe(probability);
    }
}

impl Observer for ModelObserver {
    fn decided(&self, rules: Option<&RuleSet>, verdicts: &[Verdict]) {
        self.monitor.decided(rules, verdicts);
    }

    fn shadowed(&self, pairs: &[http_api::Shadowed]) {
        if let Some(shadow) = &self.watched.shadow {
            let mut w = shadow.lock().unwrap_or_else(|e| e.into_inner());
            for pair in pairs {
                w.push(pair);
            }
        }
    }

    fn scored_batch(&self, batch: &[(&[f64], f64, bool)]) {
        self.monitor.scored_batch(batch);
        if let Some(window) = &self.watched.window {
            // One lock for the whole batch.
            let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
            for &(row, p, refused) in batch {
                w.push(row, p, refused);
            }
        }
    }

    fn scored(&self, row: &[f64], probability: f64, refused: bool) {
        self.monitor.scored(row, probability, refused);
        if let Some(window) = &self.watched.window {
            window.lock().unwrap_or_else(|e| e.into_inner()).push(row, probability, refused);
        }
    }
}

/// Middleware: in-flight gauge, latency and the request table by matched route.
pub async fn track(State(monitor): State<Arc<Monitor>>, request: Request, next: Next) -> Response {
    // The matched route is a `MatchedPath` (an `Arc<str>`): cloning it allocates nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let start = Instant::now();
    monitor.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(request).await;
    monitor.in_flight.fetch_sub(1, Ordering::Relaxed);
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    monitor.record(route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn metrics(State(monitor): State<Arc<Monitor>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], monitor.render()).into_response()
}

/// What `/metrics` shows of the decision log.
struct LogFigures {
    log: Arc<decision_log::Log>,
    maturity_ms: i64,
    outcomes: Mutex<Option<decision_log::Outcomes>>,
}

impl LogFigures {
    fn write(&self, out: &mut String) {
        let c = self.log.counters();
        for (name, help, value) in [
            ("fraud_decision_log_logged_total", "Decisions committed to the log.", &c.logged),
            (
                "fraud_decision_log_commits_total",
                "Group commits (decisions per commit = logged / commits).",
                &c.commits,
            ),
            (
                "fraud_decision_log_failed_commits_total",
                "Commits that failed (their requests got 503).",
                &c.failed_commits,
            ),
            (
                "fraud_decision_log_refused_total",
                "Requests refused with 503 because the log's queue was full.",
                &c.refused,
            ),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        let Some(o) = *self.outcomes.lock().unwrap_or_else(|e| e.into_inner()) else { return };
        let days = self.maturity_ms as f64 / 86_400_000.0;
        let _ = writeln!(
            out,
            "# HELP fraud_outcome_decisions Logged decisions whose outcome is known (labelled, or unlabelled and older than {days} days: legitimate), by outcome.\n# TYPE fraud_outcome_decisions gauge\nfraud_outcome_decisions{{label=\"fraud\"}} {}\nfraud_outcome_decisions{{label=\"legitimate\"}} {}",
            o.fraud,
            o.known - o.fraud
        );
        for (name, help, by_action, by_model) in [
            (
                "fraud_outcome_precision",
                "Refused and fraud / refused, on decisions with a known outcome.",
                o.precision(),
                o.model_precision(),
            ),
            (
                "fraud_outcome_recall",
                "Refused and fraud / fraud, on decisions with a known outcome.",
                o.recall(),
                o.model_recall(),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help} decider=action: the final action; decider=model: the model's policy alone.\n# TYPE {name} gauge");
            for (decider, value) in [("action", by_action), ("model", by_model)] {
                if let Some(v) = value {
                    let _ = writeln!(out, "{name}{{decider=\"{decider}\"}} {v}");
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP fraud_outcome_reviewed Decisions sent to review with a known outcome, by outcome.\n# TYPE fraud_outcome_reviewed gauge\nfraud_outcome_reviewed{{label=\"fraud\"}} {}\nfraud_outcome_reviewed{{label=\"legitimate\"}} {}",
            o.reviewed_fraud, o.reviewed_legitimate
        );
    }
}
