//! `report.html`: one page a person reads to judge a run — the selected
//! model in a sentence, the candidates, money per policy, the charts,
//! feature importance, confusion matrices and stage timings.

use std::fmt::Write as _;

use fraud_core::artifact::TreesTraining;
use fraud_core::decision::format_money;
use fraud_core::{Benefit, Costs, Metrics, ModelKind, Training};

use super::{charts, escape};
use crate::pipeline::{Candidate, Config, Outcome};
use crate::policy::PolicyChoice;
use crate::tables::{candidate_cells, format_threshold, money_rows, policy_label, MoneyRowKind, CANDIDATE_COLUMNS};

/// The human-readable report, one self-contained HTML file.
pub fn report_html(outcome: &Outcome, cfg: &Config, model_id: &str) -> String {
    let a = &outcome.artifact;
    let p = &a.provenance;
    let chosen = &outcome.candidates[outcome.selected];
    let header: String = CANDIDATE_COLUMNS.iter().map(|h| format!("<th>{h}</th>")).collect();
    let cms: String = outcome.candidates.iter().map(|c| confusion(&format!("{} (test)", c.name()), &c.test)).collect();
    let timings: String = outcome
        .timings
        .iter()
        .map(|(s, d)| format!("<tr><td>{s}</td><td>{:.1} ms</td></tr>", d.as_secs_f64() * 1e3))
        .collect();

    let protocol = match &a.imported {
        Some(m) => format!(
            "<p><b>Imported model</b>: trained by {lib}{ver}, read from <code>{file}</code> ({fmt}, SHA-256 <code>{hash}</code>, \
             objective <code>{obj}</code>); its trees are served exactly as the library computes them, not fitted here.</p>\n\
             <p>Labelled rows: <code>{ds}</code>{synthetic} — {rows} rows, {frauds} frauds; SHA-256 <code>{sha}</code>. \
             Split seed {seed}, stratified: {nva} rows ({vaf:.0} %) to fit the calibration, choose the thresholds and \
             the policy and serve as the drift reference; {nte} rows to test.</p>",
            lib = escape(&m.library),
            ver = if m.version.is_empty() { String::new() } else { format!(" {}", escape(&m.version)) },
            file = escape(&m.file_name),
            fmt = escape(&m.format),
            hash = escape(&m.file_sha256),
            obj = escape(&m.objective),
            ds = escape(&p.dataset),
            synthetic = if p.synthetic { " <b>(synthetic data)</b>" } else { "" },
            rows = p.rows_total,
            frauds = p.frauds_total,
            sha = p.dataset_sha256,
            seed = cfg.seed,
            nva = p.rows_validation,
            nte = p.rows_test,
            vaf = p.validation_fraction * 100.0,
        ),
        None => format!(
            "<p>Data: <code>{ds}</code>{synthetic} — {rows} rows, {frauds} frauds; SHA-256 <code>{sha}</code>.<br>\n\
             Split seed {seed}: train {ntr} / validation {nva} / test {nte} rows (stratified {trf:.0}/{vaf:.0}/{tef:.0}). Scaler fitted on train only; SMOTE (k={k}, ratio {ratio}) on the scaled train split only; candidates: L2 logistic regression (C={c}) and gradient-boosted trees; probabilities calibrated on validation; thresholds (F1-optimal and net-benefit-optimal) chosen on validation; model chosen by validation F1, policy by validation net benefit.</p>",
            ds = escape(&p.dataset),
            synthetic = if p.synthetic { " <b>(synthetic data)</b>" } else { "" },
            rows = p.rows_total,
            frauds = p.frauds_total,
            sha = p.dataset_sha256,
            seed = cfg.seed,
            ntr = p.rows_train,
            nva = p.rows_validation,
            nte = p.rows_test,
            trf = p.train_fraction * 100.0,
            vaf = cfg.validation_fraction * 100.0,
            tef = cfg.test_fraction * 100.0,
            k = cfg.smote_k,
            ratio = cfg.smote_ratio,
            c = cfg.c,
        ),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fraud model training report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1240px; padding: 0 12px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }} td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: right; }}
table.money td {{ white-space: nowrap; }} code {{ overflow-wrap: anywhere; }}
th {{ background: #f4f4f4; }} tr.sel td {{ background: #eef6ff; font-weight: bold; }}
.cm {{ display: inline-table; margin-right: 1.5em; }} .cm caption {{ font-weight: bold; }}
.cm td.good {{ background: #e4f5e4; }} .cm td.bad {{ background: #fbe9e9; }}
.charts {{ display: flex; flex-wrap: wrap; }} .charts svg {{ margin: 0 1em 1em 0; border: 1px solid #eee; }} code {{ background: #f4f4f4; padding: 0 3px; }}
</style></head><body>
<h1>Fraud model training report</h1>
<p>Selected model: <b>{sel}</b> (model id <code>{id}</code>), serving the <b>{policy}</b> policy — test precision {tp:.4}, recall {tr:.4}, F1 {tf:.4} at its F1 threshold {thr}, average precision {tap:.4}, ROC-AUC {tauc:.4}; net benefit on test {served_net} against {accept_net} for accepting everything.</p>
{protocol}
<p>Selected model ({kind}): {model_text}.</p>
<h2>Candidates</h2>
<table><tr>{header}<th></th></tr>{rows_html}</table>
<h2>Decisions in money (selected model)</h2>
<p>{calibration_text}</p>
<p>Costs ({currency}): {costs_text}. Each policy was tuned on validation; the served one (<b>{policy}</b>) is the
one with the best net benefit on validation{policy_note}. Figures on test:</p>
{money_table}
<div class="charts">{charts}</div>
<h2>Global feature importance (selected model)</h2>
<p>Mean |contribution| to the logit over validation rows ({explainer}).</p>
{importance}
{features}<h2>Confusion matrices (test, each candidate at its own F1 threshold)</h2>
{cms}
<h2>Stage timings</h2><table>{timings}</table>
</body></html>
"#,
        sel = escape(&a.model_name),
        thr = format_threshold(a.test.threshold),
        policy = policy_label(a.rule.policy),
        served_net = chosen
            .served_policy()
            .map_or_else(|| "–".into(), |p| format_money(p.test.net_benefit, &a.rule.costs.currency)),
        accept_net = chosen
            .policies
            .first()
            .map_or_else(|| "–".into(), |p| format_money(p.test.accept_all, &a.rule.costs.currency)),
        currency = escape(&a.rule.costs.currency),
        costs_text = escape(&costs_text(&a.rule.costs)),
        policy_note = match cfg.policy {
            PolicyChoice::Auto => String::new(),
            PolicyChoice::Fixed(p) => format!(" — here fixed by --policy to {}", policy_label(p)),
        },
        id = model_id,
        tp = a.test.precision,
        tr = a.test.recall,
        tf = a.test.f1,
        tap = a.test.average_precision,
        tauc = a.test.roc_auc,
        protocol = protocol,
        rows_html = candidate_rows(outcome),
        kind = a.kind().as_str(),
        model_text = escape(&model_text(&a.training)),
        calibration_text = calibration_text(chosen),
        money_table = money_table(chosen),
        charts = charts::curves(outcome),
        importance = charts::importance(a.schema.features(), &a.feature_importance),
        explainer = if a.kind() == ModelKind::Trees { "exact TreeSHAP" } else { "weight × standardised value" },
        features = features_table(a),
    )
}

/// Categories kept shown per feature, at most (the model card lists them all).
const CATEGORIES_SHOWN: usize = 12;

/// Each feature's kind, missing and "other" rates on train and the categories
/// kept — for a model with categories or missing values (format 5); else nothing.
fn features_table(a: &fraud_core::Artifact) -> String {
    let schema = &a.schema;
    if !schema.is_tabular() {
        return String::new();
    }
    let rate = |v: &[f64], i: usize| v.get(i).map_or_else(|| "–".to_string(), |r| format!("{:.1} %", r * 100.0));
    let rows: String = (0..schema.len())
        .map(|i| {
            let (kind, kept) = match schema.categories(i).map(|c| c.vocabulary()) {
                None => ("numeric", String::new()),
                Some(v) => {
                    let shown: Vec<String> = match v {
                        fraud_core::Vocabulary::Text(t) => t.iter().take(CATEGORIES_SHOWN).map(|c| escape(c)).collect(),
                        fraud_core::Vocabulary::Numbers(n) => {
                            n.iter().take(CATEGORIES_SHOWN).map(|c| c.to_string()).collect()
                        }
                    };
                    let more = v.len().saturating_sub(CATEGORIES_SHOWN);
                    let tail = if more > 0 { format!(", … {more} more") } else { String::new() };
                    let kind =
                        if matches!(v, fraud_core::Vocabulary::Text(_)) { "text category" } else { "numeric code" };
                    (kind, format!("{} kept: {}{tail}", v.len(), shown.join(", ")))
                }
            };
            format!(
                "<tr><td>{}</td><td>{kind}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{kept}</td></tr>",
                escape(schema.name(i)),
                rate(&a.tabular.missing_rates, i),
                if kept.is_empty() { "–".to_string() } else { rate(&a.tabular.other_rates, i) },
            )
        })
        .collect();
    format!(
        "<h2>Features</h2>\n<p>Any feature may be missing when scored (a JSON <code>null</code>, an empty CSV cell); a \
         category not kept scores as \"other\". Rates on the train split.</p>\n<table><tr><th>feature</th><th>kind</th>\
         <th>missing</th><th>other</th><th>categories</th></tr>{rows}</table>\n"
    )
}

/// The candidates table's rows, the selected one marked.
fn candidate_rows(outcome: &Outcome) -> String {
    let mut rows = String::new();
    for (i, c) in outcome.candidates.iter().enumerate() {
        let selected = i == outcome.selected;
        let cells: String = candidate_cells(c).iter().map(|cell| format!("<td>{}</td>", escape(cell))).collect();
        let _ = write!(
            rows,
            "<tr{}>{cells}{}</tr>",
            if selected { r#" class="sel""# } else { "" },
            if selected { "<td>✔ selected</td>" } else { "<td></td>" }
        );
    }
    rows
}

/// The selected model's calibration map and how it held on test.
fn calibration_text(chosen: &Candidate) -> String {
    let cal = &chosen.calibration_test;
    let calibration = chosen.model.calibration();
    format!(
        "Probabilities are calibrated on validation ({}: p = sigmoid({:.4} · logit {:+.4})). On test they add up to \
         {:.1} expected frauds; there were {}. Brier score {:.6}, log-loss {:.5}.",
        calibration.method.as_str(),
        calibration.slope,
        calibration.intercept,
        cal.expected_frauds,
        cal.observed_frauds,
        cal.brier,
        cal.log_loss
    )
}

/// The selected model's kind and hyperparameters in a phrase.
fn model_text(training: &Training) -> String {
    match training {
        Training::Logistic(l) => format!("L2 logistic regression on standardised features, C={}", l.c),
        Training::Trees(t) => trees_text(t),
    }
}

fn trees_text(t: &TreesTraining) -> String {
    format!(
        "gradient-boosted trees on raw features: {} trees (early stopping at round {} of {} run, patience {}), \
         learning rate {}, at most {} leaves and depth {}, L2 {}, min hessian {} / {} rows per leaf, \
         {:.0}% of legitimate rows per round, {:.0}% of features per tree, {} bins",
        t.rounds,
        t.rounds,
        t.rounds_run,
        t.early_stopping_rounds,
        t.learning_rate,
        t.max_leaves,
        t.max_depth,
        t.l2,
        t.min_child_hessian,
        t.min_rows_leaf,
        t.row_fraction * 100.0,
        t.col_fraction * 100.0,
        t.max_bins
    )
}

fn costs_text(c: &Costs) -> String {
    let term = |b: Benefit| match (b.fixed, b.per_amount) {
        (f, 0.0) => format!("{f:+}"),
        (0.0, r) => format!("{r:+} × amount"),
        (f, r) => format!("{f:+} {r:+} × amount"),
    };
    format!(
        "fraud refused {}, fraud accepted {}, legitimate refused {}, legitimate accepted {}",
        term(c.refused_fraud),
        term(c.accepted_fraud),
        term(c.refused_legitimate),
        term(c.accepted_legitimate)
    )
}

/// Each policy's money on test (and its validation net), with both baselines.
fn money_table(c: &Candidate) -> String {
    let mut rows = String::new();
    for r in money_rows(c) {
        let served = r.kind == MoneyRowKind::Served;
        let _ = write!(
            rows,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{} ({})</td><td>{}</td></tr>",
            if served { r#" class="sel""# } else { "" },
            r.label,
            r.threshold,
            r.validation_net,
            r.test_net,
            r.vs_accept_all,
            r.stopped.amount,
            r.stopped.count,
            r.missed.amount,
            r.missed.count,
            r.false_alarms.amount,
            r.false_alarms.count,
            if served { "✔ served" } else { "" },
        );
    }
    format!(
        "<table class=\"money\"><tr><th>policy</th><th>threshold</th><th>validation net</th><th>test net</th><th>vs accept everything</th><th>fraud stopped (count)</th><th>fraud missed (count)</th><th>false alarms' cost (count)</th><th></th></tr>{rows}</table><p>{}. Reviewed transactions count as stopped frauds or accepted legitimate ones, each review costing its time; the bands are written as <code>rules.txt</code> (serve them with <code>fraud-server --rules</code>, check edits with <code>native-train backtest</code>).</p>",
        escape(&crate::bands::verdict_line(c))
    )
}

fn confusion(name: &str, m: &Metrics) -> String {
    format!(
        r#"<table class="cm"><caption>{}</caption><tr><th></th><th>predicted legit</th><th>predicted fraud</th></tr>
<tr><th>actual legit</th><td>{}</td><td class="bad">{}</td></tr><tr><th>actual fraud</th><td class="bad">{}</td><td class="good">{}</td></tr></table>"#,
        escape(name),
        m.true_negatives,
        m.false_positives,
        m.false_negatives,
        m.true_positives
    )
}
