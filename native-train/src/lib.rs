//! Native training for the fraud model: the Python original's `train.py`,
//! done as a library with a thin CLI on top (`src/main.rs`: its arguments
//! and their dispatch, nothing else).
//!
//! Each module has one job. The protocol: [`data`] reads the CSV, [`split`]
//! splits it, [`smote`] oversamples, [`logreg`] and [`boost`] fit,
//! [`metrics`] picks thresholds and scores, [`calibrate`] fits the
//! probability map, [`policy`] weighs decisions in money, [`pipeline`] runs
//! it all. Around it, the commands: [`input`] chooses and reads what they
//! read, [`train`] is one run with [`summary`] its console output,
//! [`experiments`] repeats runs over split seeds, [`bench`] times them,
//! [`golden`] writes the parity file, [`synth`] makes data when there is none.
//! The results: [`tables`] holds the figures both [`summary`] and [`report`]
//! show, [`report`] writes the JSON and HTML reports, [`output`] writes files,
//! [`stats`] summarises repeated measurements.
//!
//! Scaling, scoring and the artifact format are *not* here: they come from
//! `fraud_core`, so training evaluates exactly the function every runtime serves.

pub mod backtest;
pub mod bands;
pub mod bench;
pub mod boost;
pub mod calibrate;
#[cfg(feature = "services")]
pub mod challenge;
pub mod data;
pub mod experiments;
#[cfg(feature = "services")]
pub mod from_log;
pub mod golden;
pub mod import;
pub mod input;
pub mod logreg;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod policy;
#[cfg(feature = "services")]
pub mod publish;
pub mod report;
pub mod smote;
pub mod split;
pub mod stats;
pub mod summary;
pub mod synth;
pub mod tables;
pub mod tabular;
pub mod train;
