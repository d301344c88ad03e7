//! The feature schema: 30 ordered inputs, `Time, V1..V28, Amount`.

/// Number of model inputs.
pub const N_FEATURES: usize = 30;

/// The inputs in the order the model, the artifact and every row-major batch use.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "Time", "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12", "V13", "V14", "V15", "V16",
    "V17", "V18", "V19", "V20", "V21", "V22", "V23", "V24", "V25", "V26", "V27", "V28", "Amount",
];

/// The name of the label column in the dataset's CSV (not a model input).
pub const LABEL_NAME: &str = "Class";

/// Position of a feature in [`FEATURE_NAMES`], by exact (case-sensitive) name.
pub fn feature_index(name: &str) -> Option<usize> {
    match name {
        "Time" => Some(0),
        "Amount" => Some(N_FEATURES - 1),
        _ => {
            let digits = name.strip_prefix('V')?;
            // Reject "V01", "V+1" and friends: only the canonical spelling is a feature.
            if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: usize = digits.parse().ok()?;
            (1..=28).contains(&n).then_some(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_maps_to_its_position() {
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            assert_eq!(feature_index(name), Some(i), "{name}");
        }
    }

    #[test]
    fn non_canonical_names_are_rejected() {
        for name in
            ["", "V", "V0", "V29", "V01", "v1", "time", "AMOUNT", "V1 ", "Class", "V+1", "V99999999999999999999"]
        {
            assert_eq!(feature_index(name), None, "{name:?}");
        }
    }
}
