//! Native training for the fraud model: the Python original's `train.py`,
//! done as a library with a CLI on top (`src/main.rs`).
//!
//! Each module has one job: [`data`] reads the CSV, [`split`] splits it,
//! [`smote`] oversamples, [`logreg`] and [`boost`] fit, [`metrics`] picks
//! thresholds and scores, [`calibrate`] fits the probability map, [`policy`]
//! weighs decisions in money, [`pipeline`] runs the protocol, [`report`] and [`output`] write the
//! results, [`synth`] makes data when there is none. Scaling, scoring and the
//! artifact format are *not* here: they come from `fraud_core`, so training
//! evaluates exactly the function every runtime serves.

pub mod boost;
pub mod calibrate;
pub mod data;
pub mod logreg;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod smote;
pub mod split;
pub mod synth;
