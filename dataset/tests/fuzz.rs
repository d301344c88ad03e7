//! Property-based fuzzing of the CSV reader. `FUZZ_CASES` sets the cases per
//! property (default 2,000).

use dataset::{write_csv, CsvError, Spec, Table};
use fraud_core::schema::CREDITCARD_FEATURES as FEATURE_NAMES;

const N_FEATURES: usize = 30;

fn parse_csv(bytes: &[u8]) -> Result<Table, CsvError> {
    dataset::parse_csv(bytes, &Spec::creditcard())
}
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000)
}

fn table() -> impl Strategy<Value = Table> {
    (1usize..20).prop_flat_map(|n| {
        (
            prop::collection::vec(
                prop_oneof![4 => -1e6f64..1e6, 1 => any::<f64>().prop_filter("finite", |v| v.is_finite())],
                n * N_FEATURES,
            ),
            prop::collection::vec(0u8..=1, n),
        )
            .prop_map(|(x, y)| {
                let names = FEATURE_NAMES.iter().map(|s| s.to_string()).collect();
                Table::new(names, "Class".into(), x, y).expect("n rows of N_FEATURES values")
            })
    })
}

fn line_of(e: &CsvError) -> Option<usize> {
    match e {
        CsvError::FieldCount { line, .. } | CsvError::UnclosedQuote { line } | CsvError::Value { line, .. } => {
            Some(*line)
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Err(e) = parse_csv(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn arbitrary_lines_under_a_valid_header_never_panic(lines in prop::collection::vec("[0-9eE.,\"+ -]{0,80}|.{0,40}", 1..6)) {
        let header = FEATURE_NAMES.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(",") + ",\"Class\"";
        let text = format!("{header}\n{}\n", lines.join("\n"));
        match parse_csv(text.as_bytes()) {
            Ok(d) => prop_assert!(d.values().iter().all(|v| v.is_finite())),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn written_tables_read_back_bit_for_bit(data in table()) {
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &data).unwrap();
        let back = parse_csv(&bytes).expect("what we write, we read");
        prop_assert_eq!(back.labels(), data.labels());
        prop_assert!(back.values().iter().zip(data.values()).all(|(a, b)| a.to_bits() == b.to_bits()));
    }

    #[test]
    fn a_corrupted_value_is_reported_on_its_line(
        data in table(),
        row in any::<prop::sample::Index>(),
        col in 0..=N_FEATURES,
        junk in prop::sample::select(vec!["abc", "", "nan", "inf", "-Infinity", "1e999", "0x10", "1,2", "\"1", "2"]),
    ) {
        let mut bytes = Vec::new();
        write_csv(&mut bytes, &data).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let r = 1 + row.index(data.len());
        let mut cells: Vec<String> = lines[r].split(',').map(String::from).collect();
        cells[col] = junk.to_string();
        lines[r] = cells.join(",");
        let result = parse_csv(format!("{}\n", lines.join("\n")).as_bytes());
        // "2" is a valid feature value (and a bad label); everything else is bad anywhere.
        if junk == "2" && col < N_FEATURES {
            prop_assert!(result.is_ok());
        } else {
            let e = result.expect_err("the corrupted line is refused");
            prop_assert_eq!(line_of(&e), Some(r + 1), "{}", e);
        }
    }
}
