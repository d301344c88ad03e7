//! The fraud model's single source of truth.
//!
//! Everything that decides what a transaction scores lives here, and only here:
//! the input [`schema`] (carried by each artifact), input [`validate`]ion, the [`model`] seam
//! (probability, decision, explanation) over its scorers — [`logistic`]
//! regression on standardised features ([`scaler`]) and gradient-boosted
//! [`trees`] with exact TreeSHAP — the versioned [`artifact`] format that
//! carries a trained model between runtimes (its bytes are the [`wire`] types),
//! and the [`error`] codes every runtime reports.
//!
//! Why `no_std` + `alloc`: the same code is compiled for the native trainer and
//! server, for the browser and for a Cloudflare Worker. Keeping HTTP and JSON
//! out of this crate, and file I/O behind `std` (one function,
//! `artifact::read_file`), is what lets every runtime call it unchanged, and
//! computing `exp` in plain IEEE operations (and `sqrt` with `libm`), never the
//! platform's libm, is what makes the scores bit-identical on every target.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod artifact;
pub mod categories;
pub mod decision;
pub mod drift;
pub mod error;
mod exp;
pub mod logistic;
pub mod model;
pub mod rules;
pub mod scaler;
pub mod schema;
mod sort;
#[cfg(any(test, feature = "test-support"))]
mod test_support;
pub mod trees;
pub mod validate;
pub mod wire;

#[cfg(feature = "std")]
pub use artifact::{read_file, ReadError};
pub use artifact::{Artifact, ArtifactError, Imported, Loaded, Metrics, ModelParams, Provenance, Tabular, Training};
pub use categories::{Categories, Vocabulary, VocabularyError, MAX_CATEGORIES};
pub use decision::{Benefit, Calibration, CalibrationMethod, Costs, DecisionRule, Policy, Tally, DEFAULT_REVIEW_COST};
pub use error::{BatchError, ErrorCode, ModelError};
pub use logistic::{Logistic, LogisticWeights};
pub use model::{Contribution, Model, ModelKind, Prediction, Scorer};
pub use rules::{Action, RuleSet, RulesError, Verdict};
pub use scaler::Scaler;
pub use schema::{Schema, SchemaError, MAX_FEATURES, PACING_FEATURE};
pub use trees::{LeafParams, LeafSum, SplitParams, TreeEnsemble, TreeParams, Trees};
pub use validate::{
    not_an_object, validate_fields, validate_row, FieldIssue, IssueKind, RawValue, Transaction, ValidationError,
    MAX_ABS_VALUE,
};
