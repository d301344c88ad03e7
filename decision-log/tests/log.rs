//! The same log tests against embedded SQLite and a real PostgreSQL (started
//! here on a free loopback port; skipped with a message when it is not
//! installed, unless FRAUD_REQUIRE_POSTGRES=1).

use std::sync::Arc;

use contract::log::{ChallengerDecision, DecisionRecord, JsonText, ListAddition, ModelInfo, Outcome, ReviewClose};
use decision_log::testing::TestPostgres;
use decision_log::{Config, Durability, Log, LogError, Target};

fn model() -> ModelInfo {
    ModelInfo {
        model_id: "m1".into(),
        name: "test".into(),
        features: vec!["amount".into(), "country".into()],
        label: "Class".into(),
        id_column: None,
        amount: Some("amount".into()),
        categorical: vec!["country".into()],
    }
}

fn record(id: &str, at_ms: i64, p: f64, action: &str) -> DecisionRecord {
    DecisionRecord {
        id: id.into(),
        at_ms,
        model_id: "m1".into(),
        ruleset: Some("v1".into()),
        features: JsonText::parse(format!(r#"{{"amount":{p}e2,"country":"FR"}}"#)).unwrap(),
        probability: p,
        is_fraud: p > 0.5,
        action: action.into(),
        rule: (action == "review").then(|| "mid_band".into()),
        shadow_rules: vec!["night".into()],
        reasons: (action == "review")
            .then(|| JsonText::parse(r#"[{"feature":"amount","contribution":1.5}]"#.into()).unwrap()),
        expected_loss: p * 100.0,
        challenger: None,
    }
}

fn close(outcome: Outcome) -> ReviewClose {
    ReviewClose { outcome, note: Some("checked".into()), add_to_list: None }
}

/// Everything both backends must do alike.
fn suite(target: Target) {
    let log = Arc::new(Log::open(Config::new(target.clone())).unwrap());
    log.register_model(&model()).unwrap();
    log.register_model(&model()).unwrap();
    assert_eq!(log.models().unwrap(), vec![model()]);

    // Concurrent writers: every acknowledged decision is there, once, with its exact text.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let p = (t * 50 + i) as f64 / 400.0;
                    let action = if i % 10 == 0 { "review" } else { "accept" };
                    log.log_blocking(vec![record(&format!("t{t}-{i}"), 1_000 + i, p, action)]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(log.count().unwrap(), 400);
    let c = log.counters();
    assert!(c.commits.load(std::sync::atomic::Ordering::Relaxed) <= 400);
    let view = log.decision("t3-10").unwrap().unwrap();
    let want = record("t3-10", 1_010, 160.0 / 400.0, "review");
    assert_eq!(view.decision.features.get(), want.features.get());
    assert_eq!(view.decision.probability, want.probability);
    assert_eq!(view.decision.shadow_rules, vec!["night".to_string()]);
    assert_eq!(view.decision.reasons.as_ref().map(|r| r.get().to_string()), want.reasons.map(|r| r.get().to_string()));
    assert_eq!(view.review.as_ref().map(|r| r.status.as_str()), Some("open"));
    assert!(log.decision("nope").unwrap().is_none());
    assert_eq!(view.decision.challenger, None);

    // A resent id keeps the first decision.
    log.log_blocking(vec![record("t0-1", 9, 0.99, "refuse")]).unwrap();
    assert_eq!(log.count().unwrap(), 400);
    assert_eq!(log.decision("t0-1").unwrap().unwrap().decision.action, "accept");

    // A batch is one job; a review in it opens a case.
    let batch: Vec<_> = (0..1000).map(|i| record(&format!("b{i}"), 2_000, 0.001 * i as f64, "accept")).collect();
    log.log_blocking(batch).unwrap();
    assert_eq!(log.count().unwrap(), 1400);

    // Review queue: open cases by expected loss, largest first.
    let cases = log.reviews("open", 5).unwrap();
    assert_eq!(cases.open, 40);
    assert_eq!(cases.cases.len(), 5);
    assert!(cases.cases.windows(2).all(|w| w[0].expected_loss >= w[1].expected_loss));
    assert_eq!(cases.cases[0].id, "t7-40");
    let top = cases.cases[0].id.clone();
    // A side effect that fails undoes the close.
    let err = log.close_review(&top, &close(Outcome::Fraud), "ana", &mut || Err("disk full".into())).unwrap_err();
    assert!(matches!(err, LogError::Unavailable(ref m) if m.contains("disk full")), "{err:?}");
    assert_eq!(log.reviews("open", 100).unwrap().open, 40);
    let mut ran = 0;
    let with_list = ReviewClose {
        add_to_list: Some(ListAddition { list: "blocked".into(), value: "x".into() }),
        ..close(Outcome::Fraud)
    };
    log.close_review(&top, &with_list, "ana", &mut || {
        ran += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(ran, 1);
    let err = log.close_review(&top, &close(Outcome::Legitimate), "bob", &mut || Ok(())).unwrap_err();
    assert!(matches!(err, LogError::Conflict(_)), "{err:?}");
    assert!(matches!(
        log.close_review("t0-1", &close(Outcome::Fraud), "ana", &mut || Ok(())),
        Err(LogError::NotFound(_))
    ));
    assert!(matches!(
        log.close_review("nope", &close(Outcome::Fraud), "ana", &mut || Ok(())),
        Err(LogError::NotFound(_))
    ));
    let view = log.decision(&top).unwrap().unwrap();
    let case = view.review.unwrap();
    assert_eq!(
        (case.status.as_str(), case.closed_by.as_deref(), case.outcome),
        ("closed", Some("ana"), Some(Outcome::Fraud))
    );
    assert_eq!(view.labels.len(), 1);
    assert_eq!((view.labels[0].source.as_str(), view.labels[0].label), ("analyst", Outcome::Fraud));
    assert_eq!(log.reviews("open", 100).unwrap().open, 39);
    assert_eq!(log.reviews("closed", 100).unwrap().cases[0].id, top);

    // Labels: idempotent per (id, source), unknown ids refused.
    assert_eq!(log.label("b1", Outcome::Fraud, "chargeback", 5_000, "ops").unwrap().status, "created");
    assert_eq!(log.label("b1", Outcome::Fraud, "chargeback", 5_000, "ops").unwrap().status, "unchanged");
    assert_eq!(log.label("b1", Outcome::Legitimate, "chargeback", 6_000, "ops").unwrap().status, "replaced");
    assert_eq!(log.label("b1", Outcome::Fraud, "customer", 7_000, "ops").unwrap().status, "created");
    assert!(matches!(log.label("nope", Outcome::Fraud, "chargeback", 1, "ops"), Err(LogError::NotFound(_))));
    assert_eq!(log.decision("b1").unwrap().unwrap().labels.len(), 2);
    log.label("b2", Outcome::Legitimate, "analyst", 1, "ops").unwrap();

    // Export: latest label wins; matured unlabelled are legitimate, young ones left out.
    let mut rows = Vec::new();
    let (info, counts) = log
        .export(None, 1_500, 2_600, &mut |_, r| {
            rows.push((r.id.to_string(), r.fraud));
            Ok(())
        })
        .unwrap();
    assert_eq!(info, model());
    assert_eq!(counts.decisions, 1400);
    assert_eq!(counts.fraud, 2, "{counts:?}"); // the reviewed case and b1 (customer, latest)
    assert_eq!(counts.legitimate_labelled, 1);
    assert_eq!(counts.legitimate_matured, 400 - 1);
    assert_eq!(counts.young_unlabelled, 1000 - 2);
    assert_eq!(rows.len(), 402);
    // In decision order: the threads' decisions, then the batch's in input order.
    assert!(rows[..400].iter().all(|(id, _)| id.starts_with('t')));
    assert_eq!((rows[400].0.as_str(), rows[401].0.as_str()), ("b1", "b2"));
    assert!(rows.contains(&("b1".to_string(), true)) && rows.contains(&("b2".to_string(), false)));
    // Outcomes: the same labels and maturity as the export. Only the reviewed case (fraud) and b1
    // (customer: fraud) are fraud; nothing here was refused, the model alone refused p > 0.5.
    let o = log.outcomes(1_500).unwrap();
    assert_eq!(o.fraud, 2, "{o:?}");
    assert_eq!(o.refused_fraud + o.refused_legitimate, 0);
    assert_eq!(o.precision(), None);
    assert_eq!(o.recall(), Some(0.0));
    assert!(o.reviewed_fraud >= 1);
    // A failing consumer stops the export with its reason.
    let err = log.export(None, 0, 0, &mut |_, _| Err("disk full".into())).unwrap_err();
    assert!(matches!(err, LogError::Invalid(ref m) if m == "disk full"), "{err:?}");
    assert!(matches!(log.export(Some("m9"), 0, 0, &mut |_, _| Ok(())), Err(LogError::NotFound(_))));

    // A reopened log keeps everything.
    drop(log);
    let log = Log::open(Config::new(target)).unwrap();
    assert_eq!(log.count().unwrap(), 1400);

    // A challenger's decision is kept beside the champion's; the first logged under an id stays.
    let shadowed = |id: &str, p: f64| DecisionRecord {
        challenger: Some(ChallengerDecision {
            model_id: "m2".into(),
            probability: p,
            is_fraud: p > 0.5,
            action: if p > 0.5 { "refuse" } else { "accept" }.into(),
        }),
        ..record(id, 1, 0.25, "accept")
    };
    let group: Vec<DecisionRecord> = (0..300).map(|i| shadowed(&format!("s{i}"), i as f64 / 300.0)).collect();
    log.log_blocking(group).unwrap();
    log.log_blocking(vec![shadowed("s7", 0.99)]).unwrap();
    let c = log.decision("s7").unwrap().unwrap().decision.challenger.unwrap();
    assert_eq!((c.model_id.as_str(), c.probability, c.action.as_str()), ("m2", 7.0 / 300.0, "accept"));
    let mut seen = Vec::new();
    let counts = log.shadowed(0, 10, &mut |row| seen.push(row)).unwrap();
    assert_eq!((counts.shadowed, counts.known, seen.len()), (300, 300, 300), "{counts:?}");
    assert_eq!(
        (seen[299].id.as_str(), seen[299].challenger.action.as_str(), seen[299].fraud),
        ("s299", "refuse", false)
    );
    assert_eq!(seen[299].amount, Some(25.0), "the amount read from the logged features");
}

#[test]
fn sqlite_log() {
    let dir = tempfile::tempdir().unwrap();
    suite(Target::Sqlite(dir.path().join("decisions.db")));
}

#[test]
fn postgres_log() {
    let Some(pg) = TestPostgres::start() else { return };
    suite(Target::Postgres(pg.database("suite")));
}

#[test]
fn sqlite_file_deleted_or_full_is_a_clear_error_and_nothing_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.db");
    let log = Log::open(Config::new(Target::Sqlite(path.clone()))).unwrap();
    log.log_blocking(vec![record("a", 1, 0.1, "accept")]).unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = log.log_blocking(vec![record("b", 1, 0.1, "accept")]).unwrap_err();
    assert!(matches!(err, LogError::Unavailable(ref m) if m.contains("deleted")), "{err:?}");
    assert!(matches!(log.decision("a"), Err(LogError::Unavailable(_))));
    drop(log);

    // A size cap stands in for a full disk: SQLite's own "database or disk is full".
    let path = dir.path().join("small.db");
    let config = Config {
        max_bytes: Some(256 * 1024),
        durability: Durability::ProcessCrash,
        ..Config::new(Target::Sqlite(path))
    };
    let log = Log::open(config).unwrap();
    let mut stored = 0;
    let mut refused = None;
    for i in 0..200 {
        let batch: Vec<_> = (0..100).map(|k| record(&format!("{i}-{k}"), 1, 0.2, "accept")).collect();
        match log.log_blocking(batch) {
            Ok(()) => stored += 100,
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("the cap was never reached");
    assert!(matches!(refused, LogError::Unavailable(ref m) if m.contains("full")), "{refused:?}");
    // Nothing half-written: exactly the acknowledged batches are there.
    assert_eq!(log.count().unwrap(), stored);
}

#[test]
fn postgres_restarted_mid_load_fails_requests_in_flight_then_recovers() {
    let Some(mut pg) = TestPostgres::start() else { return };
    let url = pg.database("restart");
    let log = Log::open(Config::new(Target::Postgres(url))).unwrap();
    log.log_blocking(vec![record("before", 1, 0.1, "accept")]).unwrap();
    pg.stop();
    let err = log.log_blocking(vec![record("during", 1, 0.1, "accept")]).unwrap_err();
    assert!(matches!(err, LogError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("decision log"), "{err}");
    pg.restart().unwrap();
    // The next write reconnects.
    log.log_blocking(vec![record("after", 1, 0.1, "accept")]).unwrap();
    assert_eq!(log.count().unwrap(), 2);
    assert!(log.decision("during").unwrap().is_none());
}

#[test]
fn a_bad_target_is_a_clear_error() {
    let err = Log::open(Config::new(Target::Sqlite("/nonexistent/dir/x.db".into()))).err().unwrap();
    assert!(err.to_string().contains("/nonexistent/dir/x.db"), "{err}");
    let err = Log::open(Config::new(Target::parse("postgres://u:secret@127.0.0.1:1/x"))).err().unwrap();
    assert!(!err.to_string().contains("secret") && err.to_string().contains("127.0.0.1:1"), "{err}");
}
