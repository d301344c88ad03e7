//! The fraud model's single source of truth.
//!
//! Everything that decides what a transaction scores lives here, and only here:
//! the feature [`schema`], input [`validate`]ion, the standard [`scaler`], the
//! logistic [`model`] (probability, decision, explanation) and the versioned
//! [`artifact`] format that carries a trained model between runtimes.
//!
//! Why `no_std` + `alloc`: the same code is compiled for the native trainer and
//! server, for the browser and for a Cloudflare Worker. Keeping I/O, HTTP and
//! JSON out of this crate is what lets every runtime call it unchanged, and
//! computing `exp` in plain IEEE operations (and `sqrt` with `libm`), never the
//! platform's libm, is what makes the scores bit-identical on every target.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod artifact;
pub mod error;
mod exp;
pub mod model;
pub mod scaler;
pub mod schema;
pub mod validate;

pub use artifact::{Artifact, ArtifactError, Metrics, Provenance};
pub use error::ErrorCode;
pub use model::{Contribution, LogisticWeights, Model, Prediction};
pub use scaler::Scaler;
pub use schema::{feature_index, FEATURE_NAMES, N_FEATURES};
pub use validate::{
    validate_fields, validate_row, FieldIssue, IssueKind, RawValue, Transaction, ValidationError, MAX_ABS_VALUE,
};
