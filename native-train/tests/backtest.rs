//! `native-train backtest`: per-rule figures that add up to the totals, the
//! totals equal to core's tally of each row's verdict, the baseline compared,
//! changes listed; bad rules and bad data refused by name.

use std::path::Path;
use std::process::Command;

use fraud_core::schema::CREDITCARD_FEATURES;
use fraud_core::{Artifact, RuleSet, Tally};

fn write_data(path: &Path, rows: usize) -> (Vec<[f64; 30]>, Vec<u8>) {
    let mut out = format!("{},Class\n", CREDITCARD_FEATURES.join(","));
    let mut all = Vec::new();
    let mut labels = Vec::new();
    for r in 0..rows {
        let row: [f64; 30] = std::array::from_fn(|j| {
            ((r * 37 + j * 11) % 101) as f64 / 10.0 - 5.0 + if j == 29 { 5.0 + (r % 17) as f64 * 40.0 } else { 0.0 }
        });
        let label = u8::from(r % 9 == 0);
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        out.push_str(&format!("{},{label}\n", cells.join(",")));
        all.push(row);
        labels.push(label);
    }
    std::fs::write(path, out).unwrap();
    (all, labels)
}

fn backtest(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_native-train")).arg("backtest").args(args).output().unwrap()
}

const RULES: &str = "version new-1\nrefuse big if :Amount: > 500\nreview mid if :probability: >= 0.000001 and :Amount: >= 100\naccept low if :V1: < -4\nshadow review watch if :V2: > 4\n";

#[test]
fn per_rule_figures_add_up_to_core_s_tally_and_the_baseline_is_compared() {
    let dir = tempfile::tempdir().unwrap();
    let mut artifact = Artifact::example_trees();
    artifact.rule.threshold = 0.3;
    std::fs::write(dir.path().join("model.bin"), artifact.encode().unwrap()).unwrap();
    let (rows, labels) = write_data(&dir.path().join("data.csv"), 3000);
    std::fs::write(dir.path().join("rules.txt"), RULES).unwrap();
    std::fs::write(dir.path().join("old.txt"), "version old-1\nrefuse big if :Amount: > 300\n").unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = backtest(&[
        "--model",
        &p("model.bin"),
        "--rules",
        &p("rules.txt"),
        "--baseline",
        &p("old.txt"),
        "--data",
        &p("data.csv"),
        "--cost-review",
        "2.5",
        "--json",
        &p("report.json"),
        "--html",
        &p("report.html"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("backtest of rules new-1") && stdout.contains("baseline (old-1)"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(p("report.json")).unwrap()).unwrap();

    // The same figures from core directly, row by row.
    let model = artifact.model().unwrap();
    let rules = RuleSet::compile(RULES, &[], model.schema()).unwrap();
    let old = RuleSet::compile("refuse big if :Amount: > 300\n", &[], model.schema()).unwrap();
    let (mut tally, mut changed, mut per_rule) = (Tally::default(), 0, vec![0u64; 5]);
    for (x, &label) in rows.iter().zip(&labels) {
        let pr = model.probability(x);
        let refuse = model.is_fraud(x, pr);
        let v = rules.verdict(&model, x, None, pr, refuse);
        tally.add_action(model.costs(), 2.5, model.amount(x), label == 1, v.action);
        changed += u64::from(v.action != old.verdict(&model, x, None, pr, refuse).action);
        per_rule[v.rule.map_or(4, usize::from)] += 1;
        for i in v.shadow.iter() {
            per_rule[i] += 1;
        }
    }
    assert!((report["new"]["net_benefit"].as_f64().unwrap() - tally.net_benefit).abs() < 1e-6);
    assert_eq!(report["new"]["reviewed"], tally.reviews);
    assert_eq!(report["new"]["frauds_stopped"], tally.frauds_stopped);
    assert_eq!(report["changed"], changed);
    assert!(changed > 0, "the baseline differs somewhere");
    let lines = report["rules"].as_array().unwrap();
    let decided: Vec<u64> = lines.iter().map(|l| l["decided"].as_u64().unwrap()).collect();
    assert_eq!(decided, per_rule);
    assert!(decided.iter().all(|&n| n > 0), "every rule fired: {decided:?}");
    // Deciding rules and the model share the transactions; their money adds up to the total.
    let deciding: f64 = lines.iter().filter(|l| l["shadow"] == false).map(|l| l["net_benefit"].as_f64().unwrap()).sum();
    assert!((deciding - tally.net_benefit).abs() < 1e-6);
    assert_eq!(decided[0] + decided[1] + decided[2] + decided[4], rows.len() as u64);
    assert_eq!(lines[1]["reviews"], decided[1]);
    assert!((lines[1]["review_cost"].as_f64().unwrap() - 2.5 * decided[1] as f64).abs() < 1e-9);
    let diff = report["change_in_net_benefit"].as_f64().unwrap();
    let old_net = report["baseline"]["net_benefit"].as_f64().unwrap();
    assert!((tally.net_benefit - old_net - diff).abs() < 1e-6);
    let html = std::fs::read_to_string(p("report.html")).unwrap();
    assert!(html.contains("<h1>Rules backtest</h1>") && html.contains("watch"));
}

#[test]
fn bad_rules_and_bad_data_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.bin"), Artifact::example().encode().unwrap()).unwrap();
    write_data(&dir.path().join("data.csv"), 20);
    std::fs::write(dir.path().join("rules.txt"), "refuse a if :Amount: >> 3\n").unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = backtest(&["--model", &p("model.bin"), "--rules", &p("rules.txt"), "--data", &p("data.csv")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rules.txt: line 1, column 23: expected a number or a quoted string"), "{err}");

    std::fs::write(dir.path().join("rules.txt"), "refuse a if :Amount: > 3\n").unwrap();
    std::fs::write(dir.path().join("bad.csv"), format!("{},Class\n1,2\n", CREDITCARD_FEATURES.join(","))).unwrap();
    let out = backtest(&["--model", &p("model.bin"), "--rules", &p("rules.txt"), "--data", &p("bad.csv")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains("line 2"), "{err}");
    let out = backtest(&[
        "--model",
        &p("model.bin"),
        "--rules",
        &p("rules.txt"),
        "--data",
        &p("data.csv"),
        "--cost-review",
        "NaN",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cost-review"));
}

/// A shadowed decision as `fraud-server --shadow` logs it: amount `amount`, the two probabilities.
fn shadowed(i: usize, amount: f64, champion: f64, challenger: f64) -> contract::log::DecisionRecord {
    let act = |p: f64| {
        if p >= 0.7 {
            "refuse"
        } else if p >= 0.4 {
            "review"
        } else {
            "accept"
        }
    };
    contract::log::DecisionRecord {
        id: format!("tx-{i}"),
        at_ms: 1_000 + i as i64,
        model_id: "champion-id".into(),
        ruleset: None,
        features: contract::log::JsonText::parse(format!(r#"{{"V1":0.5,"Amount":{amount}}}"#)).unwrap(),
        probability: champion,
        is_fraud: champion >= 0.7,
        action: act(champion).into(),
        rule: None,
        shadow_rules: Vec::new(),
        reasons: None,
        expected_loss: champion * amount,
        challenger: Some(contract::log::ChallengerDecision {
            model_id: "challenger-id".into(),
            probability: challenger,
            is_fraud: challenger >= 0.7,
            action: act(challenger).into(),
        }),
    }
}

#[test]
fn from_log_compares_champion_and_challenger_on_labelled_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = Artifact::example();
    let costs = artifact.rule.costs.clone();
    std::fs::write(dir.path().join("model.bin"), artifact.encode().unwrap()).unwrap();
    let db = dir.path().join("log.db");
    let log = decision_log::Log::open(decision_log::Config::new(decision_log::Target::Sqlite(db.clone()))).unwrap();
    for id in ["champion-id", "challenger-id"] {
        log.register_model(&contract::log::ModelInfo {
            model_id: id.into(),
            name: id.into(),
            features: vec!["V1".into(), "Amount".into()],
            label: "Class".into(),
            id_column: None,
            amount: Some("Amount".into()),
            categorical: Vec::new(),
        })
        .unwrap();
    }
    // 400 transactions: frauds every 5th; the challenger scores frauds higher than the champion.
    let mut expected = [(Vec::new(), Tally::default()), (Vec::new(), Tally::default())];
    let mut labels = Vec::new();
    let mut changed = 0;
    let records: Vec<_> = (0..400)
        .map(|i| {
            let fraud = i % 5 == 0;
            let noise = ((i * 37) % 100) as f64 / 100.0;
            let champion = if fraud { 0.3 + 0.6 * noise } else { 0.8 * noise };
            let challenger = if fraud { 0.5 + 0.5 * noise } else { 0.6 * noise };
            let amount = 10.0 + (i % 13) as f64 * 25.0;
            let r = shadowed(i, amount, champion, challenger);
            for (k, (p, action)) in
                [(champion, &r.action), (challenger, &r.challenger.as_ref().unwrap().action)].into_iter().enumerate()
            {
                expected[k].0.push(p);
                expected[k].1.add_action(&costs, 2.5, amount, fraud, fraud_core::Action::from_name(action).unwrap());
            }
            changed += usize::from(r.action != r.challenger.as_ref().unwrap().action);
            labels.push(u8::from(fraud));
            r
        })
        .collect();
    log.log_blocking(records).unwrap();
    // Every fraud labelled; the legitimate ones matured (the log's clock is far past at_ms).
    for i in (0..400).step_by(5) {
        log.label(&format!("tx-{i}"), contract::log::Outcome::Fraud, "chargeback", 5_000, "test").unwrap();
    }
    drop(log);
    let p = |name: &str| dir.path().join(name).display().to_string();
    let out = backtest(&[
        "--from-log",
        &p("log.db"),
        "--model",
        &p("model.bin"),
        "--cost-review",
        "2.5",
        "--maturity",
        "1m",
        "--json",
        &p("shadow.json"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("champion vs challenger on 400"), "{console}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("shadow.json")).unwrap()).unwrap();
    let pair = &report["pairs"][0];
    assert_eq!((pair["transactions"].as_u64(), pair["frauds"].as_u64()), (Some(400), Some(80)));
    assert_eq!(pair["changed"].as_u64(), Some(changed as u64));
    assert!(changed > 0);
    for (k, side) in ["champion", "challenger"].into_iter().enumerate() {
        let s = &pair[side];
        let ap = native_train::metrics::average_precision(&expected[k].0, &labels);
        assert_eq!(s["average_precision"].as_f64(), Some(ap), "{side}");
        assert!((s["net_benefit"].as_f64().unwrap() - expected[k].1.net_benefit).abs() < 1e-6, "{side}: {s}");
        assert_eq!(s["frauds_stopped"].as_u64(), Some(expected[k].1.frauds_stopped), "{side}");
    }
    let (a, b) = (
        pair["champion"]["average_precision"].as_f64().unwrap(),
        pair["challenger"]["average_precision"].as_f64().unwrap(),
    );
    assert!(b > a, "the challenger ranks frauds better here: {b} vs {a}");
    let changes = pair["changes"].as_array().unwrap();
    assert_eq!(changes.len(), changed);
    assert!(changes.iter().all(|c| c["champion"] != c["challenger"]));

    // Younger than the maturity window and unlabelled: left out, and said.
    let out = backtest(&["--from-log", &p("log.db"), "--model", &p("model.bin"), "--maturity", "100000d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("on 80 logged decisions"));
    // No such log; --rules with --from-log.
    let out = backtest(&["--from-log", &p("nope.db"), "--model", &p("model.bin")]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no such decision log"));
    let out = backtest(&["--from-log", &p("log.db"), "--rules", &p("x.txt")]);
    assert!(!out.status.success());
}
