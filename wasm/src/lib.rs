//! WebAssembly bindings over `fraud_core`, for the browser and Node.
//!
//! This crate only converts: JS values in, `core` calls, JS values out. It
//! does not scale, score, threshold or validate anything itself — `core` does,
//! so the browser computes the same bits as the native server and the Worker.
//! Errors are JS `Error`s whose `code` and `message` come from `core`, the
//! same ones the HTTP APIs return for the same input.

use std::rc::Rc;

use fraud_core::model::BatchError;
use fraud_core::rules::{Backtest, RuleTally};
use fraud_core::wire::{CardVisitor, ModelCard};
use fraud_core::{
    Action, Artifact, ErrorCode, FieldIssue, Model, RawValue, RuleSet, RulesError, Tally, Transaction, ValidationError,
    Verdict,
};
use js_sys::{Array, Float64Array, Int16Array, Map, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// wasm32-unknown-unknown runs this module on one thread (no shared memory),
// which is what `AssumeSingleThreaded` requires.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: the module is built without atomics, so it is single-threaded.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// A JS `Error` carrying a stable `code` (and, for field problems, `fields`).
fn js_error(code: ErrorCode, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code.as_str()));
    err.into()
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn field_list(issues: &[FieldIssue]) -> Array {
    issues
        .iter()
        .map(|issue| {
            let entry = Object::new();
            set(&entry, "field", &JsValue::from_str(&issue.field));
            set(&entry, "code", &JsValue::from_str(issue.kind.code().as_str()));
            JsValue::from(entry)
        })
        .collect()
}

fn validation_error(e: &ValidationError) -> JsValue {
    let err = js_error(e.code(), &e.to_string());
    set(&err, "fields", &field_list(&e.issues));
    err
}

fn batch_error(e: &BatchError) -> JsValue {
    let err = js_error(e.code(), &e.to_string());
    if let BatchError::BadRow { row, error } = e {
        set(&err, "row", &JsValue::from_f64(*row as f64));
        set(&err, "fields", &field_list(&error.issues));
    }
    err
}

fn type_name(v: &JsValue) -> &'static str {
    if v.is_null() {
        "null"
    } else if v.is_undefined() {
        "undefined"
    } else if v.is_string() {
        "string"
    } else if v.as_bool().is_some() {
        "boolean"
    } else if v.is_bigint() {
        "bigint"
    } else if Array::is_array(v) {
        "array"
    } else {
        "object"
    }
}

/// A JS field value, holding its string (a category) when it is one.
enum Raw {
    Value(RawValue<'static>),
    Text(String),
}

impl Raw {
    fn value(&self) -> RawValue<'_> {
        match self {
            Raw::Value(v) => *v,
            Raw::Text(t) => RawValue::Text(t),
        }
    }
}

fn raw(v: &JsValue) -> Raw {
    // `as_f64` is `Some` only for JS numbers (NaN and ±Infinity included: core rejects those).
    match v.as_f64() {
        Some(x) => Raw::Value(RawValue::Number(x)),
        None if v.is_null() => Raw::Value(RawValue::Null),
        None => match v.as_string() {
            Some(t) => Raw::Text(t),
            None => Raw::Value(RawValue::NotNumber(type_name(v))),
        },
    }
}

/// Builds JS objects and arrays from core's model card, whatever its kind
/// (hand-built: serde-wasm-bindgen alone cost ~9 KB of the size budget).
#[derive(Default)]
struct JsBuilder {
    /// Open containers, each with the key its next value goes under.
    open: Vec<(JsValue, Option<String>)>,
    done: Option<JsValue>,
}

impl JsBuilder {
    fn value(&mut self, v: JsValue) {
        match self.open.last_mut() {
            Some((container, key)) => match key.take() {
                Some(k) => set(container, &k, &v),
                None => {
                    container.unchecked_ref::<Array>().push(&v);
                }
            },
            None => self.done = Some(v),
        }
    }
}

impl CardVisitor for JsBuilder {
    fn begin_object(&mut self) {
        self.open.push((Object::new().into(), None));
    }
    fn begin_list(&mut self) {
        self.open.push((Array::new().into(), None));
    }
    fn end(&mut self) {
        if let Some((v, _)) = self.open.pop() {
            self.value(v);
        }
    }
    fn key(&mut self, key: &str) {
        if let Some((_, k)) = self.open.last_mut() {
            *k = Some(key.to_string());
        }
    }
    fn number(&mut self, x: f64) {
        self.value(num(x));
    }
    fn integer(&mut self, n: u64) {
        self.value(num(n as f64));
    }
    fn text(&mut self, s: &str) {
        self.value(text(s));
    }
    fn boolean(&mut self, b: bool) {
        self.value(JsValue::from_bool(b));
    }
    fn null(&mut self) {
        self.value(JsValue::NULL);
    }
}

fn num(x: f64) -> JsValue {
    JsValue::from_f64(x)
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// A transaction's id as a rule's `:id:` sees it: a string as given, a
/// number as its decimal (integers without a fraction, as JSON writes them).
fn id_of(v: &JsValue) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(t) = v.as_string() {
        return Ok(Some(t));
    }
    match v.as_f64() {
        // JS's own decimal (as JSON writes it): Rust's float formatting would cost ~20 KB of the bundle.
        Some(x) if x.is_finite() => Ok(Some(number_text(x))),
        _ => Err(js_error(ErrorCode::WrongJsonType, &format!("id: a string or a finite number, not {}", type_name(v)))),
    }
}

/// A finite number's shortest decimal, as JS (and JSON) write it.
fn number_text(x: f64) -> String {
    js_sys::Number::from(x).to_string_with_radix(10).map(String::from).unwrap_or_default()
}

/// The ids of a batch (`null`/`undefined` entries have none), one per row or none at all.
fn batch_ids(ids: Option<Array>, rows: usize) -> Result<Vec<Option<String>>, JsValue> {
    let Some(ids) = ids else { return Ok(vec![None; rows]) };
    if ids.length() as usize != rows {
        return Err(js_error(
            ErrorCode::BadBatchLength,
            &format!("{} ids for {rows} rows: give one id per row, or none", ids.length()),
        ));
    }
    ids.iter().map(|v| id_of(&v)).collect()
}

/// Scores row-major rows with `core` (one bad row rejects the batch) and
/// decides each by `rules`: `{ probabilities: Float64Array, decisions:
/// Uint8Array, actions: Uint8Array, rules: Int16Array }` (actions 0 accept,
/// 1 review, 2 refuse; rules the deciding rule's index, -1 for the model).
fn batch_result(model: &Model, rules: &RuleSet, rows: &[f64], ids: Option<Array>) -> Result<JsValue, JsValue> {
    let mut probabilities = vec![0.0; rows.len() / model.width()];
    let ids = batch_ids(ids, probabilities.len())?;
    model.score_batch(rows, &mut probabilities).map_err(|e| batch_error(&e))?;
    let mut refused = vec![false; probabilities.len()];
    model.decide_batch(rows, &probabilities, &mut refused);
    let mut actions = Vec::with_capacity(refused.len());
    let mut deciding = Vec::with_capacity(refused.len());
    for (((x, &p), &r), id) in rows.chunks_exact(model.width()).zip(&probabilities).zip(&refused).zip(&ids) {
        let v = rules.verdict(model, x, id.as_deref(), p, r);
        actions.push(v.action as u8);
        deciding.push(v.rule.map_or(-1, |i| i as i16));
    }
    let decisions: Vec<u8> = refused.into_iter().map(u8::from).collect();
    let out = Object::new();
    set(&out, "probabilities", &Float64Array::from(probabilities.as_slice()));
    set(&out, "decisions", &Uint8Array::from(decisions.as_slice()));
    set(&out, "actions", &Uint8Array::from(actions.as_slice()));
    set(&out, "rules", &Int16Array::from(deciding.as_slice()));
    Ok(out.into())
}

/// A rules error as a JS `Error` (code `invalid_rules`) with its `line` and `column`.
fn rules_error(e: &RulesError) -> JsValue {
    let err = js_error(ErrorCode::InvalidRules, &e.to_string());
    set(&err, "line", &num(e.line.into()));
    set(&err, "column", &num(e.column.into()));
    set(&err, "reason", &text(&e.message));
    err
}

/// Lists as `{ name: text }` (a plain object or a `Map`; each value a list
/// file's text, one value a line, or an array of values).
fn list_texts(lists: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    if lists.is_undefined() || lists.is_null() {
        return Ok(Vec::new());
    }
    let entries: Array = if let Some(map) = lists.dyn_ref::<Map>() {
        js_sys::Array::from(&map.entries().into())
    } else if lists.is_object() && !Array::is_array(lists) {
        Object::entries(lists.unchecked_ref())
    } else {
        return Err(rules_error(&RulesError {
            line: 0,
            column: 0,
            message: "lists: an object of { name: text }".into(),
        }));
    };
    entries
        .iter()
        .map(|entry| {
            let pair: Array = entry.unchecked_into();
            let name = pair.get(0).as_string().unwrap_or_default();
            let value = pair.get(1);
            let body = if let Some(t) = value.as_string() {
                t
            } else if Array::is_array(&value) {
                let values: Array = value.unchecked_into();
                let mut out = String::new();
                for v in values.iter() {
                    match v.as_string().or_else(|| v.as_f64().filter(|x| x.is_finite()).map(number_text)) {
                        Some(t) => {
                            out.push_str(&t);
                            out.push('\n');
                        }
                        None => {
                            return Err(rules_error(&RulesError {
                                line: 0,
                                column: 0,
                                message: format!("list {name}: its values are strings or numbers"),
                            }))
                        }
                    }
                }
                out
            } else {
                return Err(rules_error(&RulesError {
                    line: 0,
                    column: 0,
                    message: format!("list {name}: the list file's text, or an array of values"),
                }));
            };
            Ok((name, body))
        })
        .collect()
}

fn compile_rules(model: &Model, rules: &str, lists: &JsValue) -> Result<RuleSet, JsValue> {
    let lists = list_texts(lists)?;
    let refs: Vec<(&str, &str)> = lists.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    RuleSet::compile(rules, &refs, model.schema()).map_err(|e| rules_error(&e))
}

fn rule_tally(t: &RuleTally) -> JsValue {
    let o = Object::new();
    set(&o, "decided", &num(t.decided as f64));
    set(&o, "frauds", &num(t.frauds as f64));
    set(&o, "legitimate", &num(t.legitimate as f64));
    set(&o, "fraud_amount_stopped", &num(t.fraud_amount_stopped));
    set(&o, "legitimate_amount_refused", &num(t.legitimate_amount_refused));
    set(&o, "reviews", &num(t.reviews as f64));
    set(&o, "review_cost", &num(t.review_cost));
    set(&o, "net_benefit", &num(t.net_benefit));
    o.into()
}

fn tally_object(t: &Tally) -> JsValue {
    let o = Object::new();
    for (k, v) in [
        ("transactions", t.transactions as f64),
        ("frauds_stopped", t.frauds_stopped as f64),
        ("frauds_missed", t.frauds_missed as f64),
        ("false_alarms", t.false_alarms as f64),
        ("stopped_amount", t.stopped_amount),
        ("missed_amount", t.missed_amount),
        ("false_alarm_cost", t.false_alarm_cost),
        ("reviews", t.reviews as f64),
        ("reviewed_frauds", t.reviewed_frauds as f64),
        ("review_cost", t.review_cost),
        ("net_benefit", t.net_benefit),
        ("accept_all", t.accept_all),
        ("refuse_all", t.refuse_all),
    ] {
        set(&o, k, &num(v));
    }
    o.into()
}

fn rule_object(r: &fraud_core::rules::Rule) -> JsValue {
    let o = Object::new();
    set(&o, "id", &text(r.id()));
    set(&o, "action", &text(r.action().as_str()));
    set(&o, "shadow", &JsValue::from_bool(r.is_shadow()));
    set(&o, "line", &num(r.line().into()));
    o.into()
}

/// What a verdict adds to a prediction: `action`, `rule`, `ruleset`, `shadow_rules`.
fn set_verdict(out: &JsValue, rules: Option<&RuleSet>, v: &Verdict) {
    set(out, "action", &text(v.action.as_str()));
    let rule = match (rules, v.rule) {
        (Some(r), Some(i)) => text(r.rule(i as usize).id()),
        _ => JsValue::NULL,
    };
    set(out, "rule", &rule);
    set(out, "ruleset", &rules.map_or(JsValue::NULL, |r| text(r.version())));
    let shadow: Array = match rules {
        Some(r) => v.shadow.iter().map(|i| text(r.rule(i).id())).collect(),
        None => Array::new(),
    };
    set(out, "shadow_rules", &shadow);
}

/// A loaded fraud model.
#[wasm_bindgen]
pub struct FraudModel {
    model: Model,
    /// Core's model card (whatever the kind).
    card: Rc<ModelCard>,
    format_version: u16,
    id: String,
    /// The feature names as JS strings, made once: looking fields up with them
    /// avoids re-encoding every name on every call.
    keys: Vec<JsValue>,
    /// The zero-copy batch input: rows JS writes in place.
    input: Vec<f64>,
    /// The rules deciding over the model (`withRules`); none: the model decides.
    rules: Option<Rc<RuleSet>>,
}

/// Largest zero-copy batch: 4 million rows is ~1 GB of wasm memory.
const MAX_INPUT_ROWS: usize = 4_000_000;

#[wasm_bindgen]
impl FraudModel {
    /// Loads a model from the artifact's bytes (`model.bin`). Throws an Error
    /// with code `invalid_artifact` naming what is wrong (truncated, corrupted,
    /// wrong magic, unsupported version, schema mismatch...).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<FraudModel, JsValue> {
        let invalid = |e: fraud_core::ArtifactError| js_error(ErrorCode::InvalidArtifact, &e.full_message());
        let fraud_core::Loaded { artifact, model, format_version, id } = Artifact::load(bytes).map_err(invalid)?;
        let card = Rc::new(artifact.card(&model));
        let keys = model.schema().features().iter().map(|n| JsValue::from_str(n)).collect();
        Ok(FraudModel { model, card, format_version, id, keys, input: Vec::new(), rules: None })
    }

    /// The model's input names (its schema), in the order `predictBatch` rows use.
    #[wasm_bindgen(getter, js_name = featureNames)]
    pub fn feature_names(&self) -> Vec<String> {
        self.model.schema().features().to_vec()
    }

    /// The training file's label column (replay files carry it).
    #[wasm_bindgen(getter, js_name = labelName)]
    pub fn label_name(&self) -> String {
        self.model.schema().label().to_string()
    }

    /// The training file's id column, if any (carried, never a feature).
    #[wasm_bindgen(getter, js_name = idName)]
    pub fn id_name(&self) -> Option<String> {
        self.model.schema().id().map(str::to_string)
    }

    /// The feature a replay paces by (seconds since the first transaction),
    /// or null when the schema has none (a replay then paces one per second).
    /// (JS values, not `String`s: ~250 bytes less of the size budget.)
    #[wasm_bindgen(getter, js_name = pacingName)]
    pub fn pacing_name(&self) -> JsValue {
        let schema = self.model.schema();
        schema.pacing().map_or(JsValue::NULL, |i| text(schema.name(i)))
    }

    /// What the scorer is, for people ("logistic regression", "150 boosted
    /// trees, TreeSHAP explanations"): core's words, so no caller branches on the kind.
    #[wasm_bindgen(getter)]
    pub fn description(&self) -> JsValue {
        text(&self.model.description())
    }

    /// The decision threshold on the probability.
    #[wasm_bindgen(getter)]
    pub fn threshold(&self) -> f64 {
        self.model.threshold()
    }

    /// Which candidate this is ("baseline", "smote", "class_weighted").
    #[wasm_bindgen(getter, js_name = modelName)]
    pub fn model_name(&self) -> String {
        self.model.name().to_string()
    }

    /// A stable id of the artifact's exact bytes (the same on every runtime).
    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.id.clone()
    }

    /// The model card as a plain object: kind, parameters (or the trees'
    /// shape), training details, global feature importance, provenance and
    /// validation/test metrics — what the HTTP `/model` card says.
    #[wasm_bindgen(getter)]
    pub fn summary(&self) -> JsValue {
        // The card is core's; this adds what only the loaded bytes and this
        // instance know. No field here depends on the model's kind.
        let mut builder = JsBuilder::default();
        self.card.visit(&mut builder);
        let card = builder.done.take().unwrap_or_else(|| Object::new().into());
        let names: Array = self.model.schema().features().iter().map(|n| text(n)).collect();
        set(&card, "model_name", &text(self.model.name()));
        set(&card, "model_id", &text(&self.id));
        set(&card, "format_version", &num(self.format_version.into()));
        set(&card, "threshold", &num(self.model.threshold()));
        set(&card, "feature_names", &names);
        set(&card, "base_value", &num(self.model.base_value()));
        card
    }

    /// Reads and validates a transaction object (validation is `core`'s),
    /// and its `id` (not a feature: what a rule's `:id:` sees), as HTTP reads a body.
    fn transaction(&self, tx: &JsValue) -> Result<(Transaction, Option<String>), JsValue> {
        if !tx.is_object() || Array::is_array(tx) {
            return Err(js_error(
                ErrorCode::WrongJsonType,
                &fraud_core::not_an_object(self.model.schema(), type_name(tx)),
            ));
        }
        let obj: &Object = tx.unchecked_ref();
        // Fast path: exactly the schema's keys. Reading them by cached name
        // costs one lookup each; anything unusual takes the full path below.
        let names = self.model.schema().features();
        if Object::keys(obj).length() as usize == names.len() {
            let mut pairs = Vec::with_capacity(names.len());
            let mut complete = true;
            for (key, name) in self.keys.iter().zip(names) {
                let value = Reflect::get(obj, key).unwrap_or(JsValue::UNDEFINED);
                complete &= !value.is_undefined();
                pairs.push((name.as_str(), raw(&value)));
            }
            if complete {
                let t = self
                    .model
                    .validate(pairs.iter().map(|(k, v)| (*k, v.value())))
                    .map_err(|e| validation_error(&e))?;
                return Ok((t, None));
            }
        }
        let mut id = None;
        let mut entries: Vec<(String, Raw)> = Vec::new();
        for entry in Object::entries(obj).iter() {
            let pair: Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            if key == fraud_core::schema::RESERVED_ID {
                id = id_of(&pair.get(1))?;
            } else {
                entries.push((key, raw(&pair.get(1))));
            }
        }
        let t = self
            .model
            .validate(entries.iter().map(|(k, v)| (k.as_str(), v.value())))
            .map_err(|e| validation_error(&e))?;
        Ok((t, id))
    }

    fn predict_transaction(&self, t: &Transaction, id: Option<&str>) -> JsValue {
        let p = self.model.predict(t);
        let out = Object::new();
        set(&out, "fraud_probability", &JsValue::from_f64(p.probability));
        set(&out, "is_fraud", &JsValue::from_bool(p.is_fraud));
        let verdict = self.rule_set().verdict(&self.model, t.values(), id, p.probability, p.is_fraud);
        set_verdict(&out, self.rules.as_deref(), &verdict);
        let expected = Object::new();
        set(&expected, "refuse", &num(p.expected.refuse));
        set(&expected, "accept", &num(p.expected.accept));
        set(&expected, "currency", &text(&self.model.costs().currency));
        set(&out, "expected_benefit", &expected);
        set(&out, "threshold", &JsValue::from_f64(self.model.threshold()));
        set(&out, "policy", &text(self.model.policy().as_str()));
        out.into()
    }

    /// Scores and decides one transaction object (an `id` key, a string or a
    /// number, is what rules' `:id:` sees): `{ fraud_probability, is_fraud,
    /// action, rule, ruleset, shadow_rules, expected_benefit: { refuse,
    /// accept, currency }, threshold, policy }` — the server's answer.
    /// `is_fraud` is the model's policy; `action` what happens (a rule's, or
    /// the model's `accept`/`refuse`; `rule` null when the model decided).
    pub fn predict(&self, transaction: JsValue) -> Result<JsValue, JsValue> {
        let (t, id) = self.transaction(&transaction)?;
        Ok(self.predict_transaction(&t, id.as_deref()))
    }

    /// Like `predict`, plus the top-`k` feature contributions (logit units,
    /// largest magnitude first): `contributions: [{ feature, value, contribution }]`, and `base_value`:
    /// all features' contributions plus `base_value` make the logit (trees: exact TreeSHAP).
    pub fn explain(&self, transaction: JsValue, k: usize) -> Result<JsValue, JsValue> {
        let (t, id) = self.transaction(&transaction)?;
        let out = self.predict_transaction(&t, id.as_deref());
        let contributions: Array = self
            .model
            .explain(&t, k)
            .into_iter()
            .map(|c| {
                let entry = Object::new();
                set(&entry, "feature", &JsValue::from_str(c.feature));
                set(&entry, "value", &JsValue::from_f64(c.value));
                set(&entry, "contribution", &JsValue::from_f64(c.contribution));
                JsValue::from(entry)
            })
            .collect();
        set(&out, "contributions", &contributions);
        set(&out, "base_value", &JsValue::from_f64(self.model.base_value()));
        Ok(out)
    }

    /// The value a row of `predictBatch`/`batchInput` holds for `value` of
    /// `feature`: the value itself for a numeric feature, the category's code
    /// for a categorical one (an unseen category: the "other" code), NaN for
    /// `null` (a missing value, where the model takes them). Throws, naming the
    /// field, for an unknown feature or a value of the wrong type.
    #[wasm_bindgen(js_name = rowValue)]
    pub fn row_value(&self, feature: &str, value: &JsValue) -> Result<f64, JsValue> {
        let schema = self.model.schema();
        let Some(i) = schema.index(feature) else {
            return Err(js_error(ErrorCode::UnknownField, &format!("no feature named {feature}")));
        };
        // Validate a one-field transaction through core; take that field's value.
        let raw = raw(value);
        match fraud_core::validate::feature_value(schema, i, raw.value()) {
            Ok(x) => Ok(x),
            Err(kind) => Err(js_error(kind.code(), &format!("{feature}: {}", kind.label()))),
        }
    }

    /// Scores row-major rows (n × `featureNames.length`, schema order) in one call:
    /// `{ probabilities: Float64Array, decisions: Uint8Array, actions:
    /// Uint8Array, rules: Int16Array }` — `decisions` the model's (1 refuse),
    /// `actions` what happens (0 accept, 1 review, 2 refuse), `rules` the
    /// deciding rule's index in `ruleIds` (-1: the model decided). `ids`
    /// (optional, one per row: strings, numbers or null) are what `:id:` sees.
    /// Any invalid row rejects the whole batch (the error names the row and
    /// fields). A missing value is NaN and a category its code (`rowValue` gives both).
    #[wasm_bindgen(js_name = predictBatch)]
    pub fn predict_batch(&self, rows: &[f64], ids: Option<Array>) -> Result<JsValue, JsValue> {
        batch_result(&self.model, self.rule_set(), rows, ids)
    }

    /// Zero-copy batch scoring, step 1: makes room for `rows` rows inside the
    /// module's memory and returns a `Float64Array` *view* of it (n × features,
    /// row-major, schema order, zero-filled). Fill it in place — parse straight
    /// into it, or `view.set(rows)` — then call `scoreInput()`. No copy crosses
    /// the boundary on the way in. The view is only valid until the next call
    /// into this module that allocates (`batchInput`, `predict`, ...): take a
    /// fresh one each time.
    #[wasm_bindgen(js_name = batchInput)]
    pub fn batch_input(&mut self, rows: usize) -> Result<Float64Array, JsValue> {
        if rows > MAX_INPUT_ROWS {
            return Err(js_error(
                ErrorCode::BatchTooLarge,
                &format!("{rows} rows requested, the limit is {MAX_INPUT_ROWS} per batch"),
            ));
        }
        self.input.clear();
        self.input.resize(rows * self.model.width(), 0.0);
        // SAFETY: the view aliases `self.input`, which is not touched again
        // until the next `batch_input`; the caller is told the view dies at
        // the next allocating call (memory growth detaches it).
        Ok(unsafe { Float64Array::view(&self.input) })
    }

    /// Zero-copy batch scoring, step 2: scores the rows in the `batchInput`
    /// buffer: `{ probabilities: Float64Array, decisions: Uint8Array }`, as
    /// `predictBatch` returns (and with the same errors).
    #[wasm_bindgen(js_name = scoreInput)]
    pub fn score_input(&self, ids: Option<Array>) -> Result<JsValue, JsValue> {
        batch_result(&self.model, self.rule_set(), &self.input, ids)
    }

    /// Same model, deciding by a rules file (`rules.txt`'s text) and its
    /// lists (`{ name: text }`, a list file's text or an array of values;
    /// a `Map` too): the very rules the server's `--rules` loads, compiled by
    /// `core`. Throws an Error with code `invalid_rules`, `line`, `column`
    /// and `reason` for a file that does not compile (the whole file is refused).
    #[wasm_bindgen(js_name = withRules)]
    pub fn with_rules(&self, rules: &str, lists: JsValue) -> Result<FraudModel, JsValue> {
        let compiled = compile_rules(&self.model, rules, &lists)?;
        let mut model = self.sibling(self.model.clone());
        model.rules = Some(Rc::new(compiled));
        Ok(model)
    }

    /// The rules' version (its `version` line, else the file's SHA-256), or null without rules.
    #[wasm_bindgen(getter, js_name = rulesetVersion)]
    pub fn ruleset_version(&self) -> JsValue {
        self.rules.as_deref().map_or(JsValue::NULL, |r| text(r.version()))
    }

    /// The rules, in file order: `[{ id, action, shadow, line }]` (batch `rules` index into it).
    #[wasm_bindgen(getter)]
    pub fn rules(&self) -> Array {
        self.rule_set().rules().iter().map(rule_object).collect()
    }

    /// What compiling the rules noticed without refusing them (a list value
    /// the model cannot know matches nothing).
    #[wasm_bindgen(getter, js_name = ruleNotes)]
    pub fn rule_notes(&self) -> Vec<String> {
        self.rule_set().notes().to_vec()
    }

    /// Backtests a rules file on the labelled rows of the `batchInput` buffer
    /// (one label per row, 1 fraud; `ids` optional as in `predictBatch`),
    /// without changing this model's own rules: per rule (shadow rules: what
    /// they would have decided) and for the model where no rule matched, how
    /// many it decided, of them frauds and legitimate, fraud amount stopped,
    /// legitimate amount refused, reviews and their cost, net benefit; the
    /// total tally (reviews included) and the count per action. `reviewCost`
    /// is one review's cost (the trainer's `--cost-review`). Throws
    /// `invalid_rules` as `withRules` does.
    #[wasm_bindgen(js_name = backtestInput)]
    pub fn backtest_input(
        &self,
        labels: &[u8],
        ids: Option<Array>,
        rules: &str,
        lists: JsValue,
        review_cost: f64,
    ) -> Result<JsValue, JsValue> {
        let candidate = compile_rules(&self.model, rules, &lists)?;
        if !(review_cost.is_finite() && review_cost >= 0.0) {
            return Err(js_error(ErrorCode::InvalidParameter, "reviewCost: a finite cost of at least 0"));
        }
        let width = self.model.width();
        let rows = self.input.len() / width;
        if labels.len() != rows {
            return Err(js_error(
                ErrorCode::BadBatchLength,
                &format!("{} labels for {rows} rows in the input buffer", labels.len()),
            ));
        }
        let ids = batch_ids(ids, rows)?;
        let mut probabilities = vec![0.0; rows];
        self.model.score_batch(&self.input, &mut probabilities).map_err(|e| batch_error(&e))?;
        let mut refused = vec![false; rows];
        self.model.decide_batch(&self.input, &probabilities, &mut refused);
        let costs = self.model.costs();
        let mut bt = Backtest::new(&candidate);
        for (k, x) in self.input.chunks_exact(width).enumerate() {
            let v = candidate.verdict(&self.model, x, ids[k].as_deref(), probabilities[k], refused[k]);
            bt.add(&candidate, &v, costs, review_cost, self.model.amount(x), labels[k] == 1);
        }
        let out = Object::new();
        set(&out, "ruleset", &text(candidate.version()));
        let per_rule: Array = candidate
            .rules()
            .iter()
            .zip(&bt.rules)
            .map(|(r, t)| {
                let o = rule_tally(t);
                let meta = rule_object(r);
                for key in ["id", "action", "shadow", "line"] {
                    set(&o, key, &Reflect::get(&meta, &text(key)).unwrap_or(JsValue::NULL));
                }
                o
            })
            .collect();
        set(&out, "rules", &per_rule);
        set(&out, "model", &rule_tally(&bt.model));
        set(&out, "total", &tally_object(&bt.total));
        let actions = Object::new();
        for a in Action::ALL {
            set(&actions, a.as_str(), &num(bt.actions[a as usize] as f64));
        }
        set(&out, "actions", &actions);
        set(&out, "notes", &candidate.notes().iter().map(|n| text(n)).collect::<Array>());
        set(&out, "currency", &text(&costs.currency));
        set(&out, "review_cost", &num(review_cost));
        Ok(out.into())
    }

    /// Same model, another threshold (for an analyst's slider; the policy
    /// becomes `manual_threshold`). Throws for a threshold outside [0, 1].
    #[wasm_bindgen(js_name = withThreshold)]
    pub fn with_threshold(&self, threshold: f64) -> Result<FraudModel, JsValue> {
        let model =
            self.model.with_threshold(threshold).map_err(|e| js_error(ErrorCode::InvalidThreshold, &e.to_string()))?;
        Ok(self.sibling(model))
    }

    /// Same model, other costs: `currency` and the eight values of the four
    /// outcomes, each `[fixed, per_amount]`, in the order refused fraud,
    /// accepted fraud, refused legitimate, accepted legitimate (the card's
    /// `costs`). Its policy re-decides with them. Throws (code
    /// `invalid_parameter`) for a wrong count, a non-finite or absurd value or
    /// an empty currency.
    #[wasm_bindgen(js_name = withCosts)]
    pub fn with_costs(&self, currency: String, values: &[f64]) -> Result<FraudModel, JsValue> {
        let bad = |why: &str| js_error(ErrorCode::InvalidParameter, why);
        let &[rf, rfa, af, afa, rl, rla, al, ala] = values else {
            return Err(bad("costs: 8 values are needed, [fixed, per_amount] for each of the four outcomes"));
        };
        let b = |fixed, per_amount| fraud_core::Benefit { fixed, per_amount };
        let costs = fraud_core::Costs {
            currency,
            refused_fraud: b(rf, rfa),
            accepted_fraud: b(af, afa),
            refused_legitimate: b(rl, rla),
            accepted_legitimate: b(al, ala),
        };
        let model = self.model.with_costs(costs).map_err(|e| bad(&e.to_string()))?;
        Ok(self.sibling(model))
    }

    /// The decision policy (`f1_threshold`, `net_benefit_threshold`, `cost_optimal`, `manual_threshold`).
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> String {
        self.model.policy().as_str().to_string()
    }

    /// The currency this instance's costs are in.
    #[wasm_bindgen(getter)]
    pub fn currency(&self) -> String {
        self.model.costs().currency.clone()
    }

    /// The money decisions made against labels, for the first `decisions.length`
    /// rows of the `batchInput` buffer (core's tally with this instance's costs):
    /// a `Float64Array` of `[transactions, frauds_stopped, frauds_missed,
    /// false_alarms, stopped_amount, missed_amount, false_alarm_cost,
    /// net_benefit, accept_all, refuse_all]` (names as in the card's `policies`).
    #[wasm_bindgen(js_name = tallyInput)]
    pub fn tally_input(&self, labels: &[u8], decisions: &[u8]) -> Result<Float64Array, JsValue> {
        let rows = self.input.len() / self.model.width();
        if decisions.len() > rows || labels.len() < decisions.len() {
            return Err(js_error(ErrorCode::BadBatchLength, "more decisions than labels or rows in the input buffer"));
        }
        let costs = self.model.costs();
        let mut t = fraud_core::Tally::default();
        for ((x, &y), &d) in self.input.chunks_exact(self.model.width()).zip(labels).zip(decisions) {
            t.add(costs, self.model.amount(x), y == 1, d == 1);
        }
        let out = [
            t.transactions as f64,
            t.frauds_stopped as f64,
            t.frauds_missed as f64,
            t.false_alarms as f64,
            t.stopped_amount,
            t.missed_amount,
            t.false_alarm_cost,
            t.net_benefit,
            t.accept_all,
            t.refuse_all,
        ];
        Ok(Float64Array::from(&out[..]))
    }

    /// The money of actions against labels (`actions` as `predictBatch`
    /// gives them: 0 accept, 1 review, 2 refuse), for the first
    /// `actions.length` rows of the `batchInput` buffer, a review costing
    /// `reviewCost`: `tallyInput`'s ten figures, then `reviews`,
    /// `reviewed_frauds` and `review_cost`.
    #[wasm_bindgen(js_name = tallyActions)]
    pub fn tally_actions(&self, labels: &[u8], actions: &[u8], review_cost: f64) -> Result<Float64Array, JsValue> {
        let rows = self.input.len() / self.model.width();
        if actions.len() > rows || labels.len() < actions.len() {
            return Err(js_error(ErrorCode::BadBatchLength, "more actions than labels or rows in the input buffer"));
        }
        if !(review_cost.is_finite() && review_cost >= 0.0) {
            return Err(js_error(ErrorCode::InvalidParameter, "reviewCost: a finite cost of at least 0"));
        }
        let costs = self.model.costs();
        let mut t = Tally::default();
        for ((x, &y), &a) in self.input.chunks_exact(self.model.width()).zip(labels).zip(actions) {
            let action = Action::ALL.get(a as usize).copied().unwrap_or(Action::Refuse);
            t.add_action(costs, review_cost, self.model.amount(x), y == 1, action);
        }
        let out = [
            t.transactions as f64,
            t.frauds_stopped as f64,
            t.frauds_missed as f64,
            t.false_alarms as f64,
            t.stopped_amount,
            t.missed_amount,
            t.false_alarm_cost,
            t.net_benefit,
            t.accept_all,
            t.refuse_all,
            t.reviews as f64,
            t.reviewed_frauds as f64,
            t.review_cost,
        ];
        Ok(Float64Array::from(&out[..]))
    }
}

impl FraudModel {
    /// Another model sharing this one's card, id and keys.
    fn sibling(&self, model: Model) -> FraudModel {
        FraudModel {
            model,
            card: Rc::clone(&self.card),
            format_version: self.format_version,
            id: self.id.clone(),
            keys: self.keys.clone(),
            input: Vec::new(),
            rules: self.rules.clone(),
        }
    }

    fn rule_set(&self) -> &RuleSet {
        static EMPTY: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        self.rules.as_deref().unwrap_or_else(|| EMPTY.get_or_init(RuleSet::empty))
    }
}
