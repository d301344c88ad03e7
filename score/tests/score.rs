//! The file scorer: the served bits and decisions, in input order across many
//! blocks and threads; ids carried; bad lines stop the run or are skipped and listed.

use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;
use fraud_core::{Artifact, Model};

const N_FEATURES: usize = 30;
use score::{score, Options, ScoreError};

fn model() -> Model {
    // Trees, calibrated, deciding cost-optimally from the amount: every part of the rule is
    // exercised (false alarms made cheap so that some of these rows are refused).
    let mut a = Artifact::example_trees();
    a.rule.costs.refused_legitimate.fixed = -0.05;
    a.model().unwrap()
}

fn rows(n: usize) -> Vec<[f64; N_FEATURES]> {
    (0..n)
        .map(|r| {
            std::array::from_fn(|j| {
                ((r * 31 + j * 7) % 97) as f64 / 9.0 - 5.0 + if j == 29 { 60.0 + (r % 13) as f64 * 300.0 } else { 0.0 }
            })
        })
        .collect()
}

/// A CSV with an id column first and the schema's columns in reverse order.
fn csv(rows: &[[f64; N_FEATURES]]) -> String {
    let mut names: Vec<&str> = FEATURE_NAMES.to_vec();
    names.reverse();
    let mut out = format!("tx_id,{},Class\n", names.join(","));
    for (r, row) in rows.iter().enumerate() {
        let values: Vec<String> = (0..N_FEATURES).rev().map(|j| format!("{}", row[j])).collect();
        out.push_str(&format!("\"t,{r}\",{},{}\n", values.join(","), r % 2));
    }
    out
}

fn run(input: &str, options: &Options) -> Result<(score::Report, String), ScoreError> {
    let mut out = Vec::new();
    let report = score(&model(), input.as_bytes(), &mut out, options, &|_| {})?;
    Ok((report, String::from_utf8(out).unwrap()))
}

fn small_blocks() -> Options {
    Options { block_bytes: 700, threads: 3, reasons: 2, id_column: Some("tx_id".into()), ..Options::default() }
}

#[test]
fn scores_are_the_served_bits_in_input_order() {
    let rows = rows(500);
    let (report, out) = run(&csv(&rows), &small_blocks()).unwrap();
    let m = model();
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let mut want = vec![0.0; rows.len()];
    m.score_batch(&flat, &mut want).unwrap();
    let mut decisions = vec![false; rows.len()];
    m.decide_batch(&flat, &want, &mut decisions);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("line,tx_id,fraud_probability,is_fraud,reason_1,reason_2"));
    for (r, line) in lines.enumerate() {
        // `"t,r"` is quoted in the output too: split off the fields after it.
        let (head, rest) = line.split_once("\",").unwrap();
        assert_eq!(head, format!("{},\"t,{r}", r + 2), "line numbers and ids in input order");
        let fields: Vec<&str> = rest.split(',').collect();
        let p: f64 = fields[0].parse().unwrap();
        assert_eq!(p.to_bits(), want[r].to_bits(), "row {r}: not the served probability");
        assert_eq!(fields[1], if decisions[r] { "1" } else { "0" }, "row {r}");
        let top = m.explain(&m.transaction(&rows[r]).unwrap(), 2);
        assert_eq!(fields[2], format!("{}:{:+.4}", top[0].feature, top[0].contribution));
    }
    assert_eq!((report.rows, report.bad_lines), (500, 0));
    assert_eq!(report.refused, decisions.iter().filter(|&&d| d).count() as u64);
    assert!(report.refused > 0 && report.refused < 500, "the fixture should refuse some: {}", report.refused);
}

#[test]
fn a_bad_line_stops_the_run_naming_line_and_column() {
    let rows = rows(300);
    let mut text = csv(&rows);
    // Line 152 (header is line 1): V3 is not a number.
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let names: Vec<&str> = lines[0].split(',').collect();
    let v3 = names.iter().position(|n| *n == "V3").unwrap();
    let mut fields: Vec<String> = lines[151].split(',').map(String::from).collect();
    // The id "t,150" spans two comma-separated pieces: V3's field is one further.
    fields[v3 + 1] = "abc".into();
    let mut edited = lines.clone();
    edited[151] = fields.join(",");
    text = edited.join("\n");
    match run(&text, &small_blocks()) {
        Err(ScoreError::Bad(b)) => {
            assert_eq!(b.line, 152);
            assert!(b.message.contains("V3") && b.message.contains("abc"), "{}", b.message);
        }
        other => panic!("expected a bad line, got {other:?}"),
    }
    // With skip_bad: that line and an out-of-range one are skipped, counted and listed; the rest scored.
    let mut edited2 = edited.clone();
    let amount_col = names.iter().position(|n| *n == "Amount").unwrap();
    let mut f2: Vec<String> = edited2[200].split(',').map(String::from).collect();
    f2[amount_col + 1] = "3e13".into();
    edited2[200] = f2.join(",");
    edited2.insert(250, "1,2,3".into());
    let (report, out) = run(&edited2.join("\n"), &Options { skip_bad: true, ..small_blocks() }).unwrap();
    assert_eq!((report.rows, report.bad_lines), (298, 3), "300 rows, two made bad, one bad line added");
    let listed: Vec<usize> = report.listed.iter().map(|b| b.line).collect();
    assert_eq!(listed, vec![152, 201, 251]);
    assert!(report.listed[1].message.contains("Amount"), "{}", report.listed[1].message);
    assert!(report.listed[2].message.contains("fields"), "{}", report.listed[2].message);
    assert_eq!(out.lines().count(), 299);
}

#[test]
fn a_header_without_the_schema_is_refused_and_blank_lines_are_skipped() {
    let err = run("Time,V1\n1,2\n", &Options::default()).unwrap_err();
    assert!(matches!(err, ScoreError::Header(_)), "{err}");
    assert!(err.to_string().contains("V2"), "{err}");
    let missing_id =
        run(&csv(&rows(2)), &Options { id_column: Some("nope".into()), ..Options::default() }).unwrap_err();
    assert!(missing_id.to_string().contains("nope"), "{missing_id}");
    assert!(matches!(run("", &Options::default()), Err(ScoreError::Header(_))));
    let with_blanks = csv(&rows(3)).replace('\n', "\n\n");
    let (report, out) = run(&with_blanks, &Options { reasons: 0, ..Options::default() }).unwrap();
    assert_eq!(report.rows, 3);
    assert_eq!(out.lines().next(), Some("line,fraud_probability,is_fraud"));
    assert!(out.lines().nth(2).unwrap().starts_with("5,"), "blank lines keep the numbering: {out}");
}

/// A model of another schema scores a file of its columns; its id column is
/// carried without being asked for, and a file of the Kaggle columns is refused naming them.
#[test]
fn another_schema_scores_its_own_columns() {
    let artifact = Artifact::example_retail();
    let m = artifact.model().unwrap();
    let names = fraud_core::schema::RETAIL_FEATURES;
    let mut text = format!("note,transaction_id,{},is_fraud\n", names.join(","));
    let rows: Vec<Vec<f64>> = (0..50).map(|r| (0..12).map(|j| ((r * 7 + j * 3) % 23) as f64).collect()).collect();
    for (r, row) in rows.iter().enumerate() {
        let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("x,tx-{r},{},{}\n", values.join(","), r % 2));
    }
    let mut out = Vec::new();
    let options = Options { reasons: 1, ..Options::default() };
    let report = score(&m, text.as_bytes(), &mut out, &options, &|_| {}).unwrap();
    assert_eq!(report.rows, 50);
    let out = String::from_utf8(out).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("line,transaction_id,fraud_probability,is_fraud,reason_1"));
    for (r, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[1], format!("tx-{r}"));
        let want = m.predict(&m.transaction(&rows[r]).unwrap()).probability;
        assert_eq!(fields[2].parse::<f64>().unwrap().to_bits(), want.to_bits());
        assert!(names.iter().any(|n| fields[4].starts_with(&format!("{n}:"))), "{line}");
    }
    let kaggle = csv(&rows_cc());
    let err = score(&m, kaggle.as_bytes(), &mut Vec::new(), &Options::default(), &|_| {}).unwrap_err().to_string();
    assert!(err.contains("missing column(s) amount, merchant_risk"), "{err}");
}

fn rows_cc() -> Vec<[f64; N_FEATURES]> {
    rows(3)
}

/// A model with categories and missing values: empty cells score as missing,
/// categories as their codes (unseen ones as "other"), the served bits.
#[test]
fn a_tabular_schema_scores_missing_values_and_categories() {
    use fraud_core::{Schema, Vocabulary};
    let mut artifact = Artifact::example_trees();
    // V1 a text category, V2 a numeric-coded one (neither split on); the splits send NaN left.
    let mut kinds = vec![None; N_FEATURES];
    kinds[1] = Some(Vocabulary::Text(vec!["FR".into(), "DE".into()]));
    kinds[2] = Some(Vocabulary::Numbers(vec![5411.0]));
    artifact.schema = Schema::creditcard().with_kinds(kinds, true).unwrap();
    let m = artifact.model().unwrap();
    assert!(m.schema().is_tabular());
    let rows = rows(40);
    let mut want_rows = Vec::new();
    let mut text = format!("{},Class\n", FEATURE_NAMES.join(","));
    for (r, row) in rows.iter().enumerate() {
        let mut x = row.to_vec();
        let mut cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        let (country, code) = [("FR", 0.0), ("\"DE\"", 1.0), ("\"Nowhere, really\"", 2.0), ("", f64::NAN)][r % 4];
        cells[1] = country.into();
        x[1] = code;
        let (mcc, code) = [("5411", 0.0), ("7995", 1.0), ("\"\"", f64::NAN)][r % 3];
        cells[2] = mcc.into();
        x[2] = code;
        if r % 5 == 0 {
            cells[14] = String::new();
            x[14] = f64::NAN;
        }
        text.push_str(&format!("{},{}\n", cells.join(","), r % 2));
        want_rows.extend(x);
    }
    let mut want = vec![0.0; rows.len()];
    m.score_batch(&want_rows, &mut want).unwrap();
    let options = Options { reasons: 1, block_bytes: 500, threads: 2, ..Options::default() };
    let mut out = Vec::new();
    let report = score(&m, text.as_bytes(), &mut out, &options, &|_| {}).unwrap();
    assert_eq!((report.rows, report.bad_lines), (40, 0));
    let out = String::from_utf8(out).unwrap();
    for (r, line) in out.lines().skip(1).enumerate() {
        let p: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert_eq!(p.to_bits(), want[r].to_bits(), "row {r}: {line}");
    }
    // Missing values do change the score (V14 is split on), and text in a numeric column is still refused.
    assert_ne!(want[0].to_bits(), want[4].to_bits());
    let bad = text.replacen("\n-", "\nabc", 1);
    let err = score(&m, bad.as_bytes(), &mut Vec::new(), &options, &|_| {}).unwrap_err().to_string();
    assert!(err.contains("line 2, column Time: \"abc") && err.contains("is not a number"), "{err}");
}

#[test]
fn rules_add_the_action_rule_and_shadow_columns_as_core_decides() {
    let rows = rows(400);
    let m = model();
    let text = "version t1\nreview small if :Amount: < 1000 and :probability: >= 0.0\nrefuse big if :Amount: > 3000\naccept listed if :id: in @ok\nshadow review s if :V1: > 0\n";
    let rules = fraud_core::RuleSet::compile(text, &[("ok", "t,7\nt,8\n")], m.schema()).unwrap();
    let options = Options { rules: Some(std::sync::Arc::new(rules.clone())), ..small_blocks() };
    let (report, out) = run(&csv(&rows), &options).unwrap();
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap(),
        "line,tx_id,fraud_probability,is_fraud,action,rule,shadow_rules,reason_1,reason_2"
    );
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    let mut p = vec![0.0; rows.len()];
    m.score_batch(&flat, &mut p).unwrap();
    let mut counts = [0u64; 3];
    for (r, line) in lines.enumerate() {
        let cells: Vec<&str> = line.rsplitn(6, ',').collect();
        let (shadow, rule, action) = (cells[2], cells[3], cells[4]);
        let id = format!("t,{r}");
        let refuse = m.is_fraud(&rows[r], p[r]);
        let v = rules.verdict(&m, &rows[r], Some(&id), p[r], refuse);
        assert_eq!(action, v.action.as_str(), "row {r}: {line}");
        assert_eq!(rule, v.rule.map_or("", |i| rules.rule(i as usize).id()), "row {r}");
        assert_eq!(shadow, if v.shadow.is_empty() { "" } else { "s" }, "row {r}");
        counts[v.action as usize] += 1;
    }
    assert_eq!(report.actions, counts);
    assert!(counts.iter().all(|&n| n > 0), "every action taken: {counts:?}");
}
