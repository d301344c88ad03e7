//! Made-up, valid artifacts for the tests of every crate (not trained
//! models): one of each kind over the Kaggle file's schema, and a logistic one
//! over the retail schema. Their bytes and cards are pinned
//! (`core/tests/fixtures`), so changing one is a fixture change.
//!
//! Built with the `test-support` feature (and for this crate's own tests).

use alloc::vec::Vec;

use crate::artifact::Tabular;
use crate::artifact::{
    Artifact, CalibrationReport, LogisticTraining, Metrics, ModelParams, PolicyReport, Provenance, ReliabilityBin,
    Training, TreesTraining,
};
use crate::categories::Vocabulary;
use crate::decision::{Calibration, CalibrationMethod, Costs, DecisionRule, Policy, Tally};
use crate::drift::{Bins, DriftReference};
use crate::logistic::LogisticWeights;
use crate::scaler::Scaler;
use crate::schema::{Schema, CREDITCARD_FEATURES};
use crate::trees::{CategorySet, LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams};

impl Artifact {
    /// A small, valid, made-up logistic artifact for the tests of every crate
    /// (not a trained model): tests change the fields they care about.
    pub fn example() -> Artifact {
        const N_FEATURES: usize = 30;
        Artifact {
            model_name: "smote".into(),
            schema: Schema::creditcard(),
            rule: DecisionRule::at_threshold(0.8125),
            params: ModelParams::Logistic {
                scaler: Scaler {
                    mean: (0..N_FEATURES).map(|i| i as f64 * 0.1 - 1.0).collect(),
                    scale: (0..N_FEATURES).map(|i| 0.5 + i as f64 * 0.01).collect(),
                },
                weights: LogisticWeights {
                    weights: (0..N_FEATURES).map(|i| (i as f64 - 15.0) * 0.037).collect(),
                    intercept: -3.25,
                },
            },
            training: Training::Logistic(LogisticTraining { c: 1.0, ..LogisticTraining::default() }),
            provenance: Provenance { dataset: "synthetic".into(), seed: 42, ..Provenance::default() },
            feature_importance: Vec::new(),
            validation: Metrics { f1: 0.8, ..Metrics::default() },
            test: Metrics { f1: 0.79, true_positives: 80, ..Metrics::default() },
            calibration_test: None,
            policies: Vec::new(),
            drift: None,
            tabular: Default::default(),
            imported: None,
        }
    }

    /// A small, valid, made-up logistic artifact over a schema of a team's own
    /// (twelve retail features, an id column, `amount` as the amount).
    pub fn example_retail() -> Artifact {
        let n = crate::schema::RETAIL_FEATURES.len();
        Artifact {
            model_name: "baseline".into(),
            schema: Schema::retail(),
            rule: DecisionRule {
                costs: Costs { currency: "USD".into(), ..Costs::default() },
                ..DecisionRule::at_threshold(0.625)
            },
            params: ModelParams::Logistic {
                scaler: Scaler {
                    mean: (0..n).map(|i| i as f64 * 3.0).collect(),
                    scale: (0..n).map(|i| 1.0 + i as f64 * 0.5).collect(),
                },
                weights: LogisticWeights {
                    weights: (0..n).map(|i| (i as f64 - 5.5) * 0.25).collect(),
                    intercept: -4.0,
                },
            },
            provenance: Provenance { dataset: "synthetic-retail".into(), seed: 7, ..Provenance::default() },
            feature_importance: (0..n).map(|i| i as f64 / 16.0).collect(),
            validation: Metrics { f1: 0.7, ..Metrics::default() },
            test: Metrics { f1: 0.68, true_positives: 40, ..Metrics::default() },
            ..Artifact::example()
        }
    }

    /// A small, valid, made-up tree artifact: three trees over V14, V4, Amount
    /// and V12 (one of them a single leaf), with consistent covers.
    pub fn example_trees() -> Artifact {
        let split = |feature: u32, threshold: f64, left: u32, right: u32, cover: f64| SplitParams {
            feature,
            threshold,
            left,
            right,
            cover,
            missing_left: true,
            categories: None,
            missing_zero: false,
        };
        let leaf = |value: f64, cover: f64| LeafParams { value, cover };
        const L: u32 = crate::trees::LEAF;
        let trees = alloc::vec![
            TreeParams {
                // V14 < -2.5 ? (V4 < 3 ? a : b) : c
                splits: alloc::vec![split(14, -2.5, 1, L | 2, 1000.0), split(4, 3.0, L, L | 1, 60.0)],
                leaves: alloc::vec![leaf(0.75, 40.0), leaf(1.5, 20.0), leaf(-0.5, 940.0)],
            },
            TreeParams {
                // Amount < 100 ? (V14 < 0 ? a : b) : (V12 < -1 ? c : d)
                splits: alloc::vec![
                    split(29, 100.0, 1, 2, 1000.0),
                    split(14, 0.0, L, L | 1, 700.0),
                    split(12, -1.0, L | 2, L | 3, 300.0),
                ],
                leaves: alloc::vec![leaf(0.25, 200.0), leaf(-0.125, 500.0), leaf(0.5, 30.0), leaf(-0.25, 270.0)],
            },
            TreeParams { splits: alloc::vec![], leaves: alloc::vec![leaf(-0.0625, 1000.0)] },
        ];
        Artifact {
            model_name: "trees".into(),
            schema: Schema::creditcard(),
            rule: DecisionRule {
                calibration: Calibration { method: CalibrationMethod::Platt, slope: 0.875, intercept: -1.25 },
                policy: Policy::CostOptimal,
                threshold: 0.375,
                costs: Costs { currency: "CHF".into(), ..Costs::default() },
            },
            params: ModelParams::Trees(TreeEnsemble {
                base_score: -4.5,
                trees,
                category_sets: Vec::new(),
                leaf_sum: LeafSum::F64,
            }),
            training: Training::Trees(TreesTraining {
                learning_rate: 0.05,
                max_leaves: 31,
                max_depth: 8,
                l2: 1.0,
                min_child_hessian: 1.0,
                min_rows_leaf: 5,
                row_fraction: 0.8,
                col_fraction: 0.8,
                max_bins: 255,
                rounds: 3,
                rounds_run: 53,
                early_stopping_rounds: 50,
            }),
            provenance: Provenance { dataset: "synthetic".into(), seed: 42, ..Provenance::default() },
            feature_importance: (0..CREDITCARD_FEATURES.len())
                .map(|i| if i == 14 { 0.5 } else { i as f64 / 1024.0 })
                .collect(),
            validation: Metrics { f1: 0.88, ..Metrics::default() },
            test: Metrics { f1: 0.87, true_positives: 85, ..Metrics::default() },
            calibration_test: Some(CalibrationReport {
                brier: 0.0005,
                log_loss: 0.0035,
                expected_frauds: 97.5,
                observed_frauds: 98,
                reliability: alloc::vec![
                    ReliabilityBin { lower: 0.0, upper: 0.001, rows: 56_000, mean_probability: 1e-4, fraud_rate: 5e-5 },
                    ReliabilityBin { lower: 0.5, upper: 1.0, rows: 90, mean_probability: 0.875, fraud_rate: 0.9 },
                ],
            }),
            policies: alloc::vec![
                PolicyReport {
                    policy: Policy::F1Threshold,
                    threshold: Some(0.5),
                    validation: Tally { transactions: 100, net_benefit: 10.0, ..Tally::default() },
                    test: Tally { transactions: 100, frauds_stopped: 3, net_benefit: 12.5, ..Tally::default() },
                },
                PolicyReport {
                    policy: Policy::CostOptimal,
                    threshold: None,
                    validation: Tally { transactions: 100, net_benefit: 20.0, ..Tally::default() },
                    test: Tally { transactions: 100, false_alarms: 2, accept_all: -50.0, ..Tally::default() },
                },
            ],
            drift: Some(DriftReference {
                features: (0..CREDITCARD_FEATURES.len())
                    .map(|i| Bins {
                        edges: alloc::vec![i as f64 - 1.0, i as f64 + 0.5],
                        shares: alloc::vec![0.25, 0.5, 0.25],
                    })
                    .collect(),
                score: Bins { edges: alloc::vec![0.001, 0.01], shares: alloc::vec![0.75, 0.125, 0.125] },
                base_rate: 0.00172,
                flagged_rate: 0.0015,
                missing: alloc::vec![],
            }),
            tabular: Default::default(),
            imported: None,
        }
    }

    /// The payments schema of the format-5 examples: a numeric amount, a text
    /// country, a numeric-coded merchant category code and a numeric IP
    /// distance, any of them possibly missing.
    pub fn payments_schema() -> Schema {
        let base = Schema::new(
            alloc::vec!["amount".into(), "country".into(), "mcc_code".into(), "ip_distance_km".into()],
            Some("amount"),
            "is_fraud",
            Some("payment_id"),
        )
        .expect("a valid schema");
        base.with_kinds(
            alloc::vec![
                None,
                Some(Vocabulary::Text(alloc::vec!["C00".into(), "C05".into(), "C17".into()])),
                Some(Vocabulary::Numbers(alloc::vec![5411.0, 7995.0])),
                None,
            ],
            true,
        )
        .expect("valid kinds")
    }

    fn payments_tabular() -> Tabular {
        Tabular {
            missing_rates: alloc::vec![0.0, 0.03125, 0.0, 0.25],
            other_rates: alloc::vec![0.0, 0.0625, 0.125, 0.0],
            indicators: Vec::new(),
        }
    }

    /// A made-up format-5 tree artifact over [`Artifact::payments_schema`]:
    /// category-set splits (country ∈ {C05, other}, mcc ∈ {7995}) and splits
    /// that send missing values right and left.
    pub fn example_payments_trees() -> Artifact {
        let split = |feature: u32, threshold: f64, left: u32, right: u32, cover: f64, missing_left: bool| SplitParams {
            feature,
            threshold,
            left,
            right,
            cover,
            missing_left,
            categories: None,
            missing_zero: false,
        };
        let leaf = |value: f64, cover: f64| LeafParams { value, cover };
        const L: u32 = crate::trees::LEAF;
        let mut country = split(1, 0.0, 1, L | 2, 1000.0, false);
        country.categories = Some(0);
        let mut mcc = split(2, 0.0, L | 2, L | 3, 300.0, true);
        mcc.categories = Some(1);
        let trees = alloc::vec![
            TreeParams {
                // country ∈ {C05, other} ? (ip < 500, missing right ? a : b) : c
                splits: alloc::vec![country, split(3, 500.0, L, L | 1, 200.0, false)],
                leaves: alloc::vec![leaf(0.5, 150.0), leaf(2.0, 50.0), leaf(-0.25, 800.0)],
            },
            TreeParams {
                // amount < 100 (missing left) ? (ip < 50 ? a : b) : (mcc ∈ {7995} ? c : d)
                splits: alloc::vec![split(0, 100.0, 1, 2, 1000.0, true), split(3, 50.0, L, L | 1, 700.0, true), mcc,],
                leaves: alloc::vec![leaf(-0.125, 500.0), leaf(0.25, 200.0), leaf(1.25, 40.0), leaf(0.0625, 260.0)],
            },
        ];
        let category_sets = alloc::vec![CategorySet::from_codes([1, 3]), CategorySet::from_codes([1])];
        Artifact {
            model_name: "trees".into(),
            schema: Artifact::payments_schema(),
            params: ModelParams::Trees(TreeEnsemble { base_score: -3.5, trees, category_sets, leaf_sum: LeafSum::F64 }),
            feature_importance: alloc::vec![0.25, 0.5, 0.125, 0.375],
            drift: None,
            tabular: Artifact::payments_tabular(),
            ..Artifact::example_trees()
        }
    }

    /// A made-up format-5 logistic artifact over [`Artifact::payments_schema`]:
    /// the amount, a missing indicator after it, the country one-hot over its
    /// four codes, the mcc over its three, the IP distance and its indicator.
    pub fn example_payments_logistic() -> Artifact {
        // Expanded columns: amount, amount missing, 4 country codes, 3 mcc codes, ip, ip missing.
        let width = 11;
        Artifact {
            model_name: "baseline".into(),
            schema: Artifact::payments_schema(),
            params: ModelParams::Logistic {
                scaler: Scaler {
                    mean: (0..width).map(|i| if i == 0 { 120.0 } else { 0.125 * (i % 3) as f64 }).collect(),
                    scale: (0..width).map(|i| if i == 0 { 80.0 } else { 0.5 }).collect(),
                },
                weights: LogisticWeights {
                    weights: (0..width).map(|i| (i as f64 - 5.0) * 0.125).collect(),
                    intercept: -3.0,
                },
            },
            feature_importance: alloc::vec![0.25, 0.5, 0.125, 0.375],
            drift: None,
            tabular: Tabular { indicators: alloc::vec![true, false, false, true], ..Artifact::payments_tabular() },
            ..Artifact::example()
        }
    }
}
