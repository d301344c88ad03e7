use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::categories::Vocabulary;

/// amount, country (text: FR DE US), merchant_category (text: gift_cards
/// grocery), hour, mcc (numbers 5411 7995); every feature may be missing.
fn schema() -> Schema {
    let names = ["amount", "country", "merchant_category", "hour", "mcc"];
    let base = Schema::new(names.iter().map(|s| s.to_string()).collect(), Some("amount"), "Class", Some("id")).unwrap();
    let text = |v: &[&str]| Some(Vocabulary::Text(v.iter().map(|s| s.to_string()).collect()));
    base.with_kinds(
        vec![
            None,
            text(&["FR", "DE", "US"]),
            text(&["gift_cards", "grocery"]),
            None,
            Some(Vocabulary::Numbers(vec![5411.0, 7995.0])),
        ],
        true,
    )
    .unwrap()
}

const AMOUNT: usize = 0;
const COUNTRY: usize = 1;
const MERCHANT: usize = 2;
const HOUR: usize = 3;
const MCC: usize = 4;

fn row(amount: f64, country: f64, merchant: f64, hour: f64, mcc: f64) -> [f64; 5] {
    [amount, country, merchant, hour, mcc]
}

fn facts<'a>(row: &'a [f64], id: Option<&'a str>, p: f64) -> Facts<'a> {
    Facts { row, id, probability: p, refuse: p >= 0.5, expected_loss: p * row[AMOUNT] }
}

const EXAMPLE: &str = "\
# rules.txt
version 2026-12-01.1
accept  trusted      if :id: in @trusted_ids
refuse  high_score   if :probability: >= 0.80
refuse  risky_pair   if :country: in @high_risk_countries and :merchant_category: == \"gift_cards\" and :amount: > 200
review  mid_band     if :probability: >= 0.05 and :amount: >= 30
shadow refuse night  if :hour: in (1, 2, 3, 4) and :probability: >= 0.3
";

fn example() -> RuleSet {
    RuleSet::compile(
        EXAMPLE,
        &[("trusted_ids", "t-1\nt-2\n"), ("high_risk_countries", "US\n# a comment\nDE\n")],
        &schema(),
    )
    .unwrap()
}

fn decided<'r>(rules: &'r RuleSet, f: &Facts<'_>) -> (Action, Option<&'r str>) {
    let v = rules.decide(f);
    (v.action, v.rule.map(|i| rules.rule(i as usize).id()))
}

#[test]
fn the_issue_example_decides_in_radar_order() {
    let rules = example();
    assert_eq!(rules.version(), "2026-12-01.1");
    assert_eq!(rules.rules().len(), 5);
    let us = 2.0;
    let gift = 0.0;
    // Trusted wins over a refusing score: accept rules come first.
    let r = row(500.0, us, gift, 12.0, 0.0);
    assert_eq!(decided(&rules, &facts(&r, Some("t-2"), 0.99)), (Action::Accept, Some("trusted")));
    assert_eq!(decided(&rules, &facts(&r, Some("t-9"), 0.99)), (Action::Refuse, Some("high_score")));
    // Refuse rules come before review ones, whatever the file order.
    assert_eq!(decided(&rules, &facts(&r, None, 0.1)), (Action::Refuse, Some("risky_pair")));
    let fr = 0.0;
    let r = row(500.0, fr, gift, 12.0, 0.0);
    assert_eq!(decided(&rules, &facts(&r, None, 0.1)), (Action::Review, Some("mid_band")));
    // No match: the model decides.
    assert_eq!(decided(&rules, &facts(&r, None, 0.01)), (Action::Accept, None));
    let empty = RuleSet::compile("", &[], &schema()).unwrap();
    assert_eq!(decided(&empty, &facts(&r, None, 0.7)), (Action::Refuse, None));
    assert_eq!(empty.version(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Shadow rules are reported, never decide.
    let r = row(10.0, fr, 1.0, 3.0, 0.0);
    let v = rules.decide(&facts(&r, None, 0.35));
    assert_eq!((v.action, v.rule), (Action::Accept, None));
    let hits: Vec<&str> = v.shadow.iter().map(|i| rules.rule(i).id()).collect();
    assert_eq!(hits, ["night"]);
    assert!(rules.rule(4).is_shadow() && rules.rule(4).action() == Action::Refuse);
}

#[test]
fn a_version_defaults_to_the_files_sha256() {
    let a = RuleSet::compile("refuse x if :probability: > 0.5\n", &[], &schema()).unwrap();
    let b = RuleSet::compile("refuse x if :probability: > 0.6\n", &[], &schema()).unwrap();
    assert_eq!(a.version().len(), 64);
    assert_ne!(a.version(), b.version());
}

#[test]
fn a_comparison_with_a_missing_value_is_false() {
    let rules = RuleSet::compile(
        "refuse ne if :hour: != 3\nrefuse notin if :country: not in (\"FR\")\nreview m if :hour: is missing and :country: is not missing\naccept nid if not :id: == \"x\"\n",
        &[],
        &schema(),
    )
    .unwrap();
    let nan = f64::NAN;
    // hour and country missing: neither `!=` nor `not in` fires; `not (id == x)` with no id is true.
    assert_eq!(decided(&rules, &facts(&row(1.0, nan, nan, nan, nan), None, 0.9)), (Action::Accept, Some("nid")));
    assert_eq!(decided(&rules, &facts(&row(1.0, nan, nan, nan, nan), Some("x"), 0.9)), (Action::Refuse, None));
    assert_eq!(decided(&rules, &facts(&row(1.0, 0.0, nan, nan, nan), Some("x"), 0.1)), (Action::Review, Some("m")));
    assert_eq!(decided(&rules, &facts(&row(1.0, 1.0, nan, 3.0, nan), Some("x"), 0.1)), (Action::Refuse, Some("notin")));
    assert_eq!(decided(&rules, &facts(&row(1.0, 0.0, nan, 4.0, nan), Some("x"), 0.1)), (Action::Refuse, Some("ne")));
}

#[test]
fn operators_and_precedence() {
    let s = schema();
    let one = |cond: &str, r: &[f64], p: f64| {
        let rules = RuleSet::compile(&alloc::format!("refuse r if {cond}"), &[("n", "1\n-0\n2.5")], &s).unwrap();
        rules.decide(&facts(r, Some("7"), p)).rule.is_some()
    };
    let r = row(100.0, 0.0, 1.0, 0.0, 1.0);
    assert!(one(":amount: > 99.5 and :amount: <= 100 and :amount: >= 100 and :amount: < 100.5", &r, 0.1));
    assert!(one(":amount: == 100 and not :amount: == 99 and :amount: != 101", &r, 0.1));
    assert!(one(":hour: in @n", &r, 0.1), "-0 in a list matches 0");
    assert!(one(":hour: in (0, 3)", &r, 0.1) && !one(":hour: not in (0, 3)", &r, 0.1));
    assert!(one(":mcc: == 7995", &r, 0.1) && !one(":mcc: in (5411)", &r, 0.1));
    // `and` binds tighter than `or`; parentheses change it.
    assert!(one(":amount: > 1000 and :hour: == 0 or :probability: < 0.2", &r, 0.1));
    assert!(!one(":amount: > 1000 and (:hour: == 0 or :probability: < 0.2)", &r, 0.1));
    assert!(one(":model_decision: == \"accept\" and :expected_loss: >= 10", &r, 0.1));
    assert!(!one(":model_decision: == \"refuse\"", &r, 0.1) && one(":model_decision: != \"refuse\"", &r, 0.1));
    assert!(one(":merchant_category: == \"grocery\" and :country: != \"DE\"", &r, 0.1));
    assert!(one(":id: == \"7\" and :id: in (\"7\", \"8\") and :id: not in @n", &r, 0.1));
    assert!(one("not not (:amount: > 1e1)", &r, 0.1));
}

fn error(text: &str) -> RulesError {
    RuleSet::compile(text, &[("ids", "a\n"), ("nums", "1\nx\n")], &schema()).unwrap_err()
}

#[test]
fn load_errors_name_the_line_column_and_what_was_expected() {
    let cases: &[(&str, u32, u32, &str)] = &[
        ("refuse a if :nope: > 1", 1, 13, "unknown attribute `:nope:`"),
        ("\nrefuse a if :id: in @missing_list", 2, 21, "no list named `missing_list` (lists: ids, nums)"),
        ("refuse a if :amount: > \"200\"", 1, 24, "is a number and cannot be compared with a string"),
        ("refuse a if :country: > \"FR\"", 1, 25, "only ==, !=, in and not in compare categories"),
        ("refuse a if :country: == \"XX\"", 1, 26, "\"XX\" is not one of its 3 categories"),
        ("refuse a if :country: == 3", 1, 26, "its categories are text"),
        ("refuse a if :mcc: == \"5411\"", 1, 22, "its categories are numbers"),
        ("refuse a if :mcc: == 1234", 1, 22, "this number is not one of its 2 categories"),
        ("refuse a if :amount: = 3", 1, 22, "expected `==`"),
        ("refuse a if :id: == \"x", 1, 21, "a string is not closed"),
        (
            "refuse a if :amount: > 3 :hour: < 2",
            1,
            26,
            "expected `and`, `or` or the end of the line, found the attribute `:hour:`",
        ),
        ("refuse a if :amount: >", 1, 23, "expected a number or a quoted string, found the end of the line"),
        ("refuse a if (:amount: > 3", 1, 26, "expected `)`"),
        ("block a if :amount: > 3", 1, 1, "expected an action (accept, review or refuse), found `block`"),
        ("refuse if :amount: > 3", 1, 8, "expected a rule id"),
        ("refuse a :amount: > 3", 1, 10, "expected `if`"),
        ("refuse a if :amount: > 3\nreview a if :amount: > 3", 2, 8, "rule id `a` is already used on line 1"),
        ("refuse a if :amount: in @nums", 1, 25, "list `nums`, value 2: `x` is not a number"),
        ("refuse a if :probability: is missing", 1, 37, "`:probability:` is never missing"),
        ("refuse a if :model_decision: == \"maybe\"", 1, 33, "\"accept\" or \"refuse\""),
        ("refuse a if :id: == 3", 1, 21, "write the value in double quotes"),
        ("refuse a if :amount: > 1e999", 1, 24, "is beyond what a rule compares"),
        ("refuse a if :amount ", 1, 13, "the closing `:` is missing"),
        ("version 1\nversion 2", 2, 1, "a second `version` line"),
        ("version", 1, 9, "expected the version"),
        ("refuse a if :amount: > 1 § 2", 1, 26, "unexpected character U+00A7"),
    ];
    for &(text, line, column, needle) in cases {
        let e = error(text);
        assert!(e.message.contains(needle), "{text:?}: {e}");
        assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
    }
    let shown = error("refuse a if :nope: > 1").to_string();
    assert!(shown.starts_with("line 1, column 13: unknown attribute"), "{shown}");
}

#[test]
fn limits_bound_the_work() {
    let deep = alloc::format!("refuse a if {}:amount: > 1{}", "(".repeat(40), ")".repeat(40));
    assert!(error(&deep).message.contains("nested more than"));
    let nots = alloc::format!("refuse a if {}:amount: > 1", "not ".repeat(40));
    assert!(error(&nots).message.contains("nested more than"));
    let wide = alloc::format!("refuse a if {}", vec![":amount: > 1"; MAX_TERMS + 1].join(" or "));
    assert!(error(&wide).message.contains("more than 64 comparisons"));
    let many: String = (0..=MAX_RULES).map(|i| alloc::format!("refuse r{i} if :amount: > {i}\n")).collect();
    let e = error(&many);
    assert_eq!(e.line, MAX_RULES as u32 + 1, "{e}");
    let big = "#".repeat(MAX_RULES_BYTES + 1);
    assert!(error(&big).message.contains("bytes"));
    let lists: Vec<(String, String)> = (0..=MAX_LISTS).map(|i| (alloc::format!("l{i}"), String::new())).collect();
    let lists: Vec<(&str, &str)> = lists.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert!(RuleSet::compile("", &lists, &schema()).is_err());
    assert!(RuleSet::compile("", &[("a", ""), ("a", "")], &schema()).unwrap_err().message.contains("twice"));
    assert!(RuleSet::compile("", &[("bad name", "")], &schema()).is_err());
}

#[test]
fn list_values_the_model_never_saw_match_nothing_and_are_noted() {
    let rules = RuleSet::compile("refuse a if :country: in @c\n", &[("c", "DE\nXX\nYY\n")], &schema()).unwrap();
    assert_eq!(rules.notes().len(), 1);
    assert!(rules.notes()[0].contains("2 value(s)") && rules.notes()[0].contains("XX, YY"), "{:?}", rules.notes());
    let other = 3.0; // the "other" code: XX and YY are scored as it
    assert_eq!(rules.decide(&facts(&row(1.0, other, 0.0, 0.0, 0.0), None, 0.1)).rule, None);
    assert_eq!(rules.decide(&facts(&row(1.0, 1.0, 0.0, 0.0, 0.0), None, 0.1)).rule, Some(0));
    let e = RuleSet::compile("refuse a if :mcc: in @m\n", &[("m", "5411\nfoo\n")], &schema()).unwrap_err();
    assert!(e.message.contains("`foo` is not a number"), "{e}");
}

#[test]
fn comments_blank_lines_and_crlf() {
    let text = "# head\r\n\r\n   \r\nrefuse a if :id: == \"#1\" # why\r\n";
    let rules = RuleSet::compile(text, &[], &schema()).unwrap();
    let r = row(1.0, 0.0, 0.0, 0.0, 0.0);
    assert_eq!(rules.decide(&facts(&r, Some("#1"), 0.0)).rule, Some(0));
    assert_eq!(rules.rule(0).line(), 4);
}

const WORDS: &[&str] = &[
    "accept",
    "review",
    "refuse",
    "shadow",
    "if",
    "and",
    "or",
    "not",
    "in",
    "is",
    "missing",
    "version",
    ":amount:",
    ":country:",
    ":hour:",
    ":mcc:",
    ":id:",
    ":probability:",
    ":model_decision:",
    ":expected_loss:",
    ":nope:",
    "@ids",
    "@nums",
    "@c",
    "(",
    ")",
    ",",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "=",
    "1",
    "-2.5",
    "1e3",
    "\"FR\"",
    "\"x\"",
    "r1",
    "\n",
    "#",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Any text: an error with a position inside the file, or a rule set
    /// that decides every row without panicking.
    #[test]
    fn fuzz_the_parser_on_arbitrary_text(text in "\\PC{0,200}") {
        check_total(&text);
    }

    #[test]
    fn fuzz_the_parser_on_token_soup(words in prop::collection::vec(prop::sample::select(WORDS), 0..40)) {
        check_total(&words.join(" "));
    }

    #[test]
    fn fuzz_the_parser_on_mutated_rules(at in 0usize..400, byte in any::<u8>()) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(text) = core::str::from_utf8(&bytes) {
            check_total(text);
        }
    }
}

fn check_total(text: &str) {
    let lists = [("ids", "a\nb"), ("nums", "1\n2"), ("c", "FR\nZZ")];
    match RuleSet::compile(text, &lists, &schema()) {
        Err(e) => {
            let lines = text.lines().count() as u32;
            assert!(e.line <= lines.max(1), "{e} beyond {lines} lines");
            assert!(!e.message.is_empty());
        }
        Ok(rules) => {
            let nan = f64::NAN;
            for r in [row(1.0, 0.0, 1.0, 3.0, 1.0), row(nan, nan, nan, nan, nan), row(-1e12, 3.0, 2.0, 1e12, 2.0)] {
                for id in [None, Some("a")] {
                    let v = rules.decide(&facts(&r, id, 0.4));
                    if let Some(i) = v.rule {
                        assert!(!rules.rule(i as usize).is_shadow());
                        assert_eq!(rules.rule(i as usize).action(), v.action);
                    }
                    assert!(v.shadow.iter().all(|i| rules.rule(i).is_shadow()));
                }
            }
        }
    }
}

#[test]
fn unused_helpers_stay_in_sync() {
    // The row layout the tests assume.
    let s = schema();
    assert_eq!(
        (s.index("amount"), s.index("country"), s.index("merchant_category")),
        (Some(AMOUNT), Some(COUNTRY), Some(MERCHANT))
    );
    assert_eq!((s.index("hour"), s.index("mcc")), (Some(HOUR), Some(MCC)));
}

#[test]
fn decimal_literals_read_as_str_parse_reads_them() {
    for lit in [
        "0",
        "-0",
        "12",
        "-12",
        "+3",
        "0.25",
        ".5",
        "5.",
        "1e9",
        "1E-4",
        "3e+2",
        "0.1",
        "0.3",
        "200.75",
        "123456789012345",
        "9007199254740992",
        "1e22",
        "1e-22",
        "0.000001",
        "4.35",
        "99.99",
        "-7.3e5",
    ] {
        let want: f64 = lit.parse().unwrap();
        assert_eq!(lex::decimal(lit).map(f64::to_bits), Ok(want.to_bits()), "{lit}");
    }
    for bad in ["", "-", ".", "e5", "1e", "1e+", "1.2.3", "1x", "12345678901234567890", "1e39", "1e-39", "--1"] {
        assert!(lex::decimal(bad).is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn decimal_equals_str_parse(m in 0u64..10_000_000_000_000_000_000, e in -38i32..=19, neg: bool) {
        let lit = alloc::format!("{}{m}e{e}", if neg { "-" } else { "" });
        let want: f64 = lit.parse().unwrap();
        prop_assert_eq!(lex::decimal(&lit).map(f64::to_bits), Ok(want.to_bits()));
    }

    #[test]
    fn shortest_round_trip_decimals_read_back_exactly(bits in 0u64..0x7FF0_0000_0000_0000) {
        let x = f64::from_bits(bits);
        let lit = alloc::format!("{x:?}");
        // Inside the documented range, every f64's shortest decimal reads back as the same bits.
        if let Ok(got) = lex::decimal(&lit) {
            prop_assert_eq!(got.to_bits(), x.to_bits(), "{}", lit);
        } else {
            prop_assert!(!(1e-21..1e38).contains(&x) || x == 0.0, "{} refused", lit);
        }
    }

    #[test]
    fn probabilities_written_by_the_trainer_read_back(p in 0.0f64..1.0) {
        let lit = alloc::format!("{p:?}");
        prop_assert_eq!(lex::decimal(&lit).map(f64::to_bits), Ok(p.to_bits()), "{}", lit);
    }
}
