//! `native-train import`: XGBoost and LightGBM models read exactly into core's trees.

pub mod ubjson;
