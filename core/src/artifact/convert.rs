//! The internal types to and from their wire forms ([`crate::wire`]), by hand:
//! `From` where every value maps, `TryFrom` where a wire value can be unusable
//! (an unknown policy or calibration name, a bad schema). Numbers are copied
//! as they are; `Artifact::model` checks the model they make.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::{
    Artifact, ArtifactError, CalibrationReport, Imported, LogisticTraining, Metrics, ModelParams, PolicyReport,
    Provenance, ReliabilityBin, Tabular, Training, TreesTraining,
};
use crate::categories::Vocabulary;
use crate::decision::{Benefit, Calibration, CalibrationMethod, Costs, DecisionRule, Policy, Tally};
use crate::drift::{Bins, DriftReference};
use crate::error::ModelError;
use crate::logistic::LogisticWeights;
use crate::scaler::Scaler;
use crate::schema::Schema;
use crate::trees::CategorySet;
use crate::trees::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams};
use crate::wire::{
    ArtifactV2, ArtifactV3, ArtifactV4, WireBenefit, WireBins, WireCalibration, WireCalibrationReport, WireColumns,
    WireCosts, WireDecision, WireDriftReference, WireLeaf, WireMetrics, WireModel, WirePolicyReport, WireProvenance,
    WireReliabilityBin, WireSplit, WireTally, WireTraining, WireTree,
};
use crate::wire::{ArtifactV5, ArtifactV6, WireFeature, WireFeatureKind, WireImported, WireSplitRoute};

fn invalid(what: &'static str, why: &'static str) -> ArtifactError {
    ArtifactError::InvalidModel(ModelError::BadParameter { what, why })
}

/// `From` both ways between an internal struct and its wire twin, field by
/// field of the same name: those listed first copied, the `cloned` ones cloned.
macro_rules! mirror {
    ($internal:ident, $wire:ident: $($f:ident),* $(; cloned: $($c:ident),*)?) => {
        impl From<&$internal> for $wire {
            fn from(x: &$internal) -> $wire {
                $wire { $($f: x.$f,)* $($($c: x.$c.clone(),)*)? }
            }
        }

        impl From<&$wire> for $internal {
            fn from(x: &$wire) -> $internal {
                $internal { $($f: x.$f,)* $($($c: x.$c.clone(),)*)? }
            }
        }
    };
}

mirror! {
    Metrics, WireMetrics: threshold, precision, recall, f1, average_precision, roc_auc, true_positives,
    false_positives, true_negatives, false_negatives
}
mirror! {
    Provenance, WireProvenance: synthetic, rows_total, frauds_total, rows_train, rows_validation, rows_test,
    rows_fitted, seed, train_fraction, validation_fraction, test_fraction, smote_k, smote_ratio, class_weights;
    cloned: dataset, dataset_sha256, trainer
}
/// A tally as an artifact stores it: the single-threshold policies' money,
/// which never reviews (a review band's tally lives in reports, not artifacts).
impl From<&Tally> for WireTally {
    fn from(x: &Tally) -> WireTally {
        WireTally {
            transactions: x.transactions,
            frauds_stopped: x.frauds_stopped,
            frauds_missed: x.frauds_missed,
            false_alarms: x.false_alarms,
            stopped_amount: x.stopped_amount,
            missed_amount: x.missed_amount,
            false_alarm_cost: x.false_alarm_cost,
            net_benefit: x.net_benefit,
            accept_all: x.accept_all,
            refuse_all: x.refuse_all,
        }
    }
}

impl From<&WireTally> for Tally {
    fn from(x: &WireTally) -> Tally {
        Tally {
            transactions: x.transactions,
            frauds_stopped: x.frauds_stopped,
            frauds_missed: x.frauds_missed,
            false_alarms: x.false_alarms,
            stopped_amount: x.stopped_amount,
            missed_amount: x.missed_amount,
            false_alarm_cost: x.false_alarm_cost,
            net_benefit: x.net_benefit,
            accept_all: x.accept_all,
            refuse_all: x.refuse_all,
            ..Tally::default()
        }
    }
}
mirror! { Benefit, WireBenefit: fixed, per_amount }
mirror! { ReliabilityBin, WireReliabilityBin: lower, upper, rows, mean_probability, fraud_rate }
mirror! { Bins, WireBins: ; cloned: edges, shares }
impl From<&SplitParams> for WireSplit {
    fn from(x: &SplitParams) -> WireSplit {
        WireSplit { feature: x.feature, threshold: x.threshold, left: x.left, right: x.right, cover: x.cover }
    }
}

impl From<&WireSplit> for SplitParams {
    fn from(x: &WireSplit) -> SplitParams {
        SplitParams {
            feature: x.feature,
            threshold: x.threshold,
            left: x.left,
            right: x.right,
            cover: x.cover,
            missing_left: true,
            categories: None,
            missing_zero: false,
        }
    }
}
mirror! { LeafParams, WireLeaf: value, cover }

impl From<&Artifact> for ArtifactV4 {
    fn from(a: &Artifact) -> ArtifactV4 {
        let base = ArtifactV2 {
            model_name: a.model_name.clone(),
            feature_names: a.schema.features().to_vec(),
            threshold: a.rule.threshold,
            model: WireModel::from(&a.params),
            training: WireTraining::from(&a.training),
            provenance: WireProvenance::from(&a.provenance),
            feature_importance: a.feature_importance.clone(),
            validation: WireMetrics::from(&a.validation),
            test: WireMetrics::from(&a.test),
        };
        ArtifactV4 {
            base: ArtifactV3 {
                base,
                decision: WireDecision::from(&a.rule),
                calibration_test: a.calibration_test.as_ref().map(WireCalibrationReport::from),
                policies: a.policies.iter().map(WirePolicyReport::from).collect(),
                drift: a.drift.as_ref().map(WireDriftReference::from),
            },
            columns: WireColumns {
                label: a.schema.label().to_string(),
                id: a.schema.id().map(str::to_string),
                amount: a.schema.amount_name().map(str::to_string),
            },
        }
    }
}

/// Checks the schema, the names in the decision rule and policy reports, the
/// drift reference's and the feature importance's shapes (the parameters are
/// checked when the model is built).
impl TryFrom<ArtifactV4> for Artifact {
    type Error = ArtifactError;

    fn try_from(v4: ArtifactV4) -> Result<Artifact, ArtifactError> {
        let ArtifactV4 { base: ArtifactV3 { base: w, decision, calibration_test, policies, drift }, columns } = v4;
        let schema = Schema::new(w.feature_names, columns.amount.as_deref(), &columns.label, columns.id.as_deref())
            .map_err(|e| ArtifactError::SchemaMismatch(format!("{e}")))?;
        let rule = DecisionRule {
            calibration: Calibration::try_from(&decision.calibration)?,
            policy: policy(&decision.policy)?,
            threshold: w.threshold,
            costs: Costs::from(&decision.costs),
        };
        let policies = policies.iter().map(PolicyReport::try_from).collect::<Result<Vec<_>, _>>()?;
        let drift = drift.as_ref().map(DriftReference::from);
        if let Some(d) = &drift {
            d.check(schema.len()).map_err(ArtifactError::InvalidModel)?;
        }
        let importance_ok = w.feature_importance.is_empty()
            || (w.feature_importance.len() == schema.len() && w.feature_importance.iter().all(|v| v.is_finite()));
        if !importance_ok {
            return Err(invalid("feature importance", "must be empty or one finite value per feature"));
        }
        Ok(Artifact {
            model_name: w.model_name,
            schema,
            rule,
            params: ModelParams::from(w.model),
            training: Training::from(w.training),
            provenance: Provenance::from(&w.provenance),
            feature_importance: w.feature_importance,
            validation: Metrics::from(&w.validation),
            test: Metrics::from(&w.test),
            calibration_test: calibration_test.as_ref().map(CalibrationReport::from),
            policies,
            drift,
            tabular: Tabular::default(),
            imported: None,
        })
    }
}

impl From<&Artifact> for ArtifactV5 {
    fn from(a: &Artifact) -> ArtifactV5 {
        let rate = |rates: &[f64], i: usize| rates.get(i).copied().unwrap_or(0.0);
        let features = (0..a.schema.len())
            .map(|i| WireFeature {
                kind: match a.schema.categories(i).map(|c| c.vocabulary()) {
                    None => WireFeatureKind::Numeric,
                    Some(Vocabulary::Text(v)) => WireFeatureKind::Text { categories: v.clone() },
                    Some(Vocabulary::Numbers(v)) => WireFeatureKind::Numbers { categories: v.clone() },
                },
                missing_rate: rate(&a.tabular.missing_rates, i),
                other_rate: rate(&a.tabular.other_rates, i),
            })
            .collect();
        let (routes, category_sets) = match &a.params {
            ModelParams::Trees(e) => (
                e.trees
                    .iter()
                    .map(|t| {
                        t.splits
                            .iter()
                            .map(|s| WireSplitRoute { missing_left: s.missing_left, categories: s.categories })
                            .collect()
                    })
                    .collect(),
                e.category_sets.iter().map(|c| c.0).collect(),
            ),
            ModelParams::Logistic { .. } => (Vec::new(), Vec::new()),
        };
        ArtifactV5 {
            base: ArtifactV4::from(a),
            accepts_missing: a.schema.accepts_missing(),
            features,
            routes,
            category_sets,
            indicators: a.tabular.indicators.clone(),
        }
    }
}

/// Version 4's checks, then the feature kinds (the schema's vocabularies are
/// checked here), the training rates and the trees' routes.
impl TryFrom<ArtifactV5> for Artifact {
    type Error = ArtifactError;

    fn try_from(v5: ArtifactV5) -> Result<Artifact, ArtifactError> {
        let ArtifactV5 { base, accepts_missing, features, routes, category_sets, indicators } = v5;
        let mut a = Artifact::try_from(base)?;
        if features.len() != a.schema.len() {
            return Err(ArtifactError::SchemaMismatch(format!(
                "{} feature kinds for {} features",
                features.len(),
                a.schema.len()
            )));
        }
        let categorical = features.iter().any(|f| !matches!(f.kind, WireFeatureKind::Numeric));
        if accepts_missing || categorical {
            let kinds = features
                .iter()
                .map(|f| match &f.kind {
                    WireFeatureKind::Numeric => None,
                    WireFeatureKind::Text { categories } => Some(Vocabulary::Text(categories.clone())),
                    WireFeatureKind::Numbers { categories } => Some(Vocabulary::Numbers(categories.clone())),
                })
                .collect();
            a.schema = a
                .schema
                .with_kinds(kinds, accepts_missing)
                .map_err(|e| ArtifactError::SchemaMismatch(format!("{e}")))?;
        }
        let share = |v: f64| (0.0..=1.0).contains(&v);
        if !features.iter().all(|f| share(f.missing_rate) && share(f.other_rate)) {
            return Err(invalid("feature rates", "a missing or other rate outside [0, 1]"));
        }
        if a.schema.is_tabular() {
            if let Some(drift) = &mut a.drift {
                // Drift's missing bins: the train missing rates the features carry.
                drift.missing = features.iter().map(|f| f.missing_rate).collect();
            }
            a.tabular = Tabular {
                missing_rates: features.iter().map(|f| f.missing_rate).collect(),
                other_rates: features.iter().map(|f| f.other_rate).collect(),
                indicators,
            };
        } else if !indicators.is_empty() {
            return Err(invalid("missing indicators", "a model that takes no missing values has none"));
        }
        match &mut a.params {
            ModelParams::Trees(e) => {
                if !routes.is_empty() {
                    let fits = routes.len() == e.trees.len()
                        && e.trees.iter().zip(&routes).all(|(t, r)| t.splits.len() == r.len());
                    if !fits {
                        return Err(invalid("tree routes", "one route per split of every tree"));
                    }
                    for (tree, r) in e.trees.iter_mut().zip(&routes) {
                        for (s, route) in tree.splits.iter_mut().zip(r) {
                            s.missing_left = route.missing_left;
                            s.categories = route.categories;
                        }
                    }
                }
                e.category_sets = category_sets.into_iter().map(CategorySet).collect();
            }
            ModelParams::Logistic { .. } if !(routes.is_empty() && category_sets.is_empty()) => {
                return Err(invalid("tree routes", "a logistic model has none"));
            }
            ModelParams::Logistic { .. } => {}
        }
        Ok(a)
    }
}

impl From<&ModelParams> for WireModel {
    fn from(p: &ModelParams) -> WireModel {
        match p {
            ModelParams::Logistic { scaler, weights } => WireModel::Logistic {
                scaler_mean: scaler.mean.clone(),
                scaler_scale: scaler.scale.clone(),
                coefficients: weights.weights.clone(),
                intercept: weights.intercept,
            },
            ModelParams::Trees(e) => WireModel::Trees {
                base_score: e.base_score,
                trees: e
                    .trees
                    .iter()
                    .map(|t| WireTree {
                        splits: t.splits.iter().map(WireSplit::from).collect(),
                        leaves: t.leaves.iter().map(WireLeaf::from).collect(),
                    })
                    .collect(),
            },
        }
    }
}

impl From<WireModel> for ModelParams {
    fn from(w: WireModel) -> ModelParams {
        match w {
            WireModel::Logistic { scaler_mean, scaler_scale, coefficients, intercept } => ModelParams::Logistic {
                scaler: Scaler { mean: scaler_mean, scale: scaler_scale },
                weights: LogisticWeights { weights: coefficients, intercept },
            },
            WireModel::Trees { base_score, trees } => ModelParams::Trees(TreeEnsemble {
                base_score,
                category_sets: Vec::new(),
                leaf_sum: LeafSum::F64,
                trees: trees
                    .iter()
                    .map(|t| TreeParams {
                        splits: t.splits.iter().map(SplitParams::from).collect(),
                        leaves: t.leaves.iter().map(LeafParams::from).collect(),
                    })
                    .collect(),
            }),
        }
    }
}

impl From<&Training> for WireTraining {
    fn from(t: &Training) -> WireTraining {
        match t {
            Training::Logistic(l) => WireTraining::Logistic {
                c: l.c,
                solver: l.solver.clone(),
                iterations: l.iterations,
                max_gradient: l.max_gradient,
            },
            Training::Trees(t) => WireTraining::Trees {
                learning_rate: t.learning_rate,
                max_leaves: t.max_leaves,
                max_depth: t.max_depth,
                l2: t.l2,
                min_child_hessian: t.min_child_hessian,
                min_rows_leaf: t.min_rows_leaf,
                row_fraction: t.row_fraction,
                col_fraction: t.col_fraction,
                max_bins: t.max_bins,
                rounds: t.rounds,
                rounds_run: t.rounds_run,
                early_stopping_rounds: t.early_stopping_rounds,
            },
        }
    }
}

impl From<WireTraining> for Training {
    fn from(w: WireTraining) -> Training {
        match w {
            WireTraining::Logistic { c, solver, iterations, max_gradient } => {
                Training::Logistic(LogisticTraining { c, solver, iterations, max_gradient })
            }
            WireTraining::Trees {
                learning_rate,
                max_leaves,
                max_depth,
                l2,
                min_child_hessian,
                min_rows_leaf,
                row_fraction,
                col_fraction,
                max_bins,
                rounds,
                rounds_run,
                early_stopping_rounds,
            } => Training::Trees(TreesTraining {
                learning_rate,
                max_leaves,
                max_depth,
                l2,
                min_child_hessian,
                min_rows_leaf,
                row_fraction,
                col_fraction,
                max_bins,
                rounds,
                rounds_run,
                early_stopping_rounds,
            }),
        }
    }
}

impl From<&DecisionRule> for WireDecision {
    /// The threshold is not here: on the wire it is version 2's field.
    fn from(r: &DecisionRule) -> WireDecision {
        WireDecision {
            policy: r.policy.as_str().to_string(),
            calibration: WireCalibration::from(&r.calibration),
            costs: WireCosts::from(&r.costs),
        }
    }
}

fn policy(name: &str) -> Result<Policy, ArtifactError> {
    Policy::from_name(name).ok_or_else(|| {
        invalid("policy", "unknown (f1_threshold, net_benefit_threshold, cost_optimal or manual_threshold)")
    })
}

impl From<&Calibration> for WireCalibration {
    fn from(c: &Calibration) -> WireCalibration {
        WireCalibration { method: c.method.as_str().to_string(), slope: c.slope, intercept: c.intercept }
    }
}

impl TryFrom<&WireCalibration> for Calibration {
    type Error = ArtifactError;

    fn try_from(w: &WireCalibration) -> Result<Calibration, ArtifactError> {
        let method = CalibrationMethod::from_name(&w.method)
            .ok_or_else(|| invalid("calibration method", "unknown (none, platt or prior_correction)"))?;
        Ok(Calibration { method, slope: w.slope, intercept: w.intercept })
    }
}

impl From<&Costs> for WireCosts {
    fn from(c: &Costs) -> WireCosts {
        WireCosts {
            currency: c.currency.clone(),
            refused_fraud: (&c.refused_fraud).into(),
            accepted_fraud: (&c.accepted_fraud).into(),
            refused_legitimate: (&c.refused_legitimate).into(),
            accepted_legitimate: (&c.accepted_legitimate).into(),
        }
    }
}

/// Checked when a model is built ([`DecisionRule`]'s checks).
impl From<&WireCosts> for Costs {
    fn from(c: &WireCosts) -> Costs {
        Costs {
            currency: c.currency.clone(),
            refused_fraud: (&c.refused_fraud).into(),
            accepted_fraud: (&c.accepted_fraud).into(),
            refused_legitimate: (&c.refused_legitimate).into(),
            accepted_legitimate: (&c.accepted_legitimate).into(),
        }
    }
}

/// The internal costs of a wire form (checked when a model is built); the same as `Costs::from`.
pub fn costs_from_wire(c: &WireCosts) -> Costs {
    c.into()
}

impl From<&PolicyReport> for WirePolicyReport {
    fn from(p: &PolicyReport) -> WirePolicyReport {
        WirePolicyReport {
            policy: p.policy.as_str().to_string(),
            threshold: p.threshold,
            validation: (&p.validation).into(),
            test: (&p.test).into(),
        }
    }
}

impl TryFrom<&WirePolicyReport> for PolicyReport {
    type Error = ArtifactError;

    fn try_from(p: &WirePolicyReport) -> Result<PolicyReport, ArtifactError> {
        Ok(PolicyReport {
            policy: policy(&p.policy)?,
            threshold: p.threshold,
            validation: (&p.validation).into(),
            test: (&p.test).into(),
        })
    }
}

impl From<&CalibrationReport> for WireCalibrationReport {
    fn from(r: &CalibrationReport) -> WireCalibrationReport {
        WireCalibrationReport {
            brier: r.brier,
            log_loss: r.log_loss,
            expected_frauds: r.expected_frauds,
            observed_frauds: r.observed_frauds,
            reliability: r.reliability.iter().map(WireReliabilityBin::from).collect(),
        }
    }
}

impl From<&WireCalibrationReport> for CalibrationReport {
    fn from(r: &WireCalibrationReport) -> CalibrationReport {
        CalibrationReport {
            brier: r.brier,
            log_loss: r.log_loss,
            expected_frauds: r.expected_frauds,
            observed_frauds: r.observed_frauds,
            reliability: r.reliability.iter().map(ReliabilityBin::from).collect(),
        }
    }
}

impl From<&DriftReference> for WireDriftReference {
    fn from(d: &DriftReference) -> WireDriftReference {
        WireDriftReference {
            features: d.features.iter().map(WireBins::from).collect(),
            score: (&d.score).into(),
            base_rate: d.base_rate,
            flagged_rate: d.flagged_rate,
        }
    }
}

/// Checked against the schema when the artifact is (`DriftReference::check`).
impl From<&WireDriftReference> for DriftReference {
    fn from(d: &WireDriftReference) -> DriftReference {
        DriftReference {
            features: d.features.iter().map(Bins::from).collect(),
            score: (&d.score).into(),
            base_rate: d.base_rate,
            flagged_rate: d.flagged_rate,
            // Format 5 fills it from the feature rates (see `TryFrom<ArtifactV5>`).
            missing: Vec::new(),
        }
    }
}

// `x.to_wire()` for the values reports, cards and the streamer's summary
// serialise on their own (`WireX::from(&x)` is the same).

impl Metrics {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireMetrics {
        self.into()
    }
}

impl Training {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireTraining {
        self.into()
    }
}

impl CalibrationReport {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WireCalibrationReport {
        self.into()
    }
}

impl PolicyReport {
    /// The wire form (reports and cards).
    pub fn to_wire(&self) -> WirePolicyReport {
        self.into()
    }
}

impl Tally {
    /// The wire form (reports, the streamer's summary).
    pub fn to_wire(&self) -> WireTally {
        self.into()
    }
}

impl Costs {
    /// The wire form (cards, the streamer's summary).
    pub fn to_wire(&self) -> WireCosts {
        self.into()
    }
}

impl From<&Artifact> for ArtifactV6 {
    fn from(a: &Artifact) -> ArtifactV6 {
        let (leaf_sum_f32, missing_zero) = match &a.params {
            ModelParams::Trees(e) => {
                let any_zero = e.trees.iter().flat_map(|t| &t.splits).any(|s| s.missing_zero);
                let zero = if any_zero {
                    e.trees.iter().map(|t| t.splits.iter().map(|s| s.missing_zero).collect()).collect()
                } else {
                    Vec::new()
                };
                (e.leaf_sum == LeafSum::F32, zero)
            }
            ModelParams::Logistic { .. } => (false, Vec::new()),
        };
        ArtifactV6 {
            base: ArtifactV5::from(a),
            leaf_sum_f32,
            missing_zero,
            imported: a.imported.as_ref().map(|i| WireImported {
                library: i.library.clone(),
                version: i.version.clone(),
                format: i.format.clone(),
                file_name: i.file_name.clone(),
                file_sha256: i.file_sha256.clone(),
                objective: i.objective.clone(),
            }),
        }
    }
}

/// Version 5's checks, then the trees' arithmetic and zero-as-missing splits.
impl TryFrom<ArtifactV6> for Artifact {
    type Error = ArtifactError;

    fn try_from(v6: ArtifactV6) -> Result<Artifact, ArtifactError> {
        let ArtifactV6 { base, leaf_sum_f32, missing_zero, imported } = v6;
        let mut a = Artifact::try_from(base)?;
        match &mut a.params {
            ModelParams::Trees(e) => {
                e.leaf_sum = if leaf_sum_f32 { LeafSum::F32 } else { LeafSum::F64 };
                if !missing_zero.is_empty() {
                    let fits = missing_zero.len() == e.trees.len()
                        && e.trees.iter().zip(&missing_zero).all(|(t, z)| t.splits.len() == z.len());
                    if !fits {
                        return Err(invalid("zero-as-missing splits", "one flag per split of every tree"));
                    }
                    for (tree, z) in e.trees.iter_mut().zip(&missing_zero) {
                        for (s, &zero) in tree.splits.iter_mut().zip(z) {
                            s.missing_zero = zero;
                        }
                    }
                }
            }
            ModelParams::Logistic { .. } if leaf_sum_f32 || !missing_zero.is_empty() => {
                return Err(invalid("tree arithmetic", "a logistic model has no trees"));
            }
            ModelParams::Logistic { .. } => {}
        }
        a.imported = imported.map(|i| Imported {
            library: i.library,
            version: i.version,
            format: i.format,
            file_name: i.file_name,
            file_sha256: i.file_sha256,
            objective: i.objective,
        });
        Ok(a)
    }
}
