//! [`Artifact::card`]: the model card every runtime shows.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::Artifact;
use crate::categories::Vocabulary;
use crate::model::{Model, Scorer};
use crate::wire::{
    CardFeature, CardParameters, CardSchema, FeatureImportance, ModelCard, WireCalibration, WireCalibrationReport,
    WireCosts, WireMetrics, WirePolicyReport, WireProvenance, WireTraining,
};

impl Artifact {
    /// The model card: what `GET /model`, the wasm `summary` and the report
    /// show, the same for every kind. `model` is this artifact's model (built
    /// by [`Artifact::model`]); the parameters are read from its scorer.
    pub fn card(&self, model: &Model) -> ModelCard {
        let parameters = match model.scorer() {
            Scorer::Logistic(m) => CardParameters::Logistic {
                scaler_mean: m.scaler().mean.clone(),
                scaler_scale: m.scaler().scale.clone(),
                coefficients: m.weights().weights.clone(),
                intercept: m.weights().intercept,
            },
            Scorer::Trees(t) => CardParameters::Trees {
                trees: t.len() as u32,
                max_depth: t.max_depth() as u32,
                max_leaves: t.max_leaves() as u32,
                base_score: t.params().base_score,
                expected_value: t.expected_value(),
            },
        };
        let mut feature_importance: Vec<FeatureImportance> = self
            .schema
            .features()
            .iter()
            .zip(&self.feature_importance)
            .map(|(f, &importance)| FeatureImportance { feature: f.clone(), importance })
            .collect();
        // Largest first; stable, so ties keep schema order.
        crate::sort::insertion_sort_by(&mut feature_importance, |a, b| a.importance > b.importance);
        ModelCard {
            name: self.model_name.clone(),
            kind: model.kind().as_str().into(),
            schema: CardSchema {
                features: self.schema.features().to_vec(),
                label: self.schema.label().to_string(),
                id: self.schema.id().map(str::to_string),
                amount: self.schema.amount_name().map(str::to_string),
                max_abs_value: crate::validate::MAX_ABS_VALUE,
                accepts_missing: self.schema.accepts_missing(),
                kinds: if self.schema.is_tabular() { self.card_kinds() } else { Vec::new() },
            },
            threshold: model.threshold(),
            policy: model.policy().as_str().into(),
            calibration: WireCalibration::from(model.calibration()),
            costs: WireCosts::from(model.costs()),
            parameters,
            training: WireTraining::from(&self.training),
            provenance: WireProvenance::from(&self.provenance),
            feature_importance,
            validation: WireMetrics::from(&self.validation),
            test: WireMetrics::from(&self.test),
            calibration_test: self.calibration_test.as_ref().map(WireCalibrationReport::from),
            policies: self.policies.iter().map(WirePolicyReport::from).collect(),
        }
    }

    fn card_kinds(&self) -> Vec<CardFeature> {
        let rate = |rates: &[f64], i: usize| rates.get(i).copied().unwrap_or(0.0);
        (0..self.schema.len())
            .map(|i| {
                let (kind, categories, codes) = match self.schema.categories(i).map(|c| c.vocabulary()) {
                    None => ("numeric", Vec::new(), Vec::new()),
                    Some(Vocabulary::Text(v)) => ("text", v.clone(), Vec::new()),
                    Some(Vocabulary::Numbers(v)) => ("numbers", Vec::new(), v.clone()),
                };
                CardFeature {
                    feature: self.schema.name(i).to_string(),
                    kind: kind.to_string(),
                    missing_rate: rate(&self.tabular.missing_rates, i),
                    other_rate: rate(&self.tabular.other_rates, i),
                    categories,
                    codes,
                }
            })
            .collect()
    }
}
