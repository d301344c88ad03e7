//! Synthetic datasets, so the whole product runs on a fresh machine without
//! downloading anything: the real file's schema and header style
//! ([`generate`]), or a retail team's own dozen named features with an id
//! column ([`generate_retail`]), which proves nothing assumes the Kaggle columns.
//!
//! Legitimate rows: `V1..V28` independent normals with decreasing spread (like
//! PCA components), `Amount` log-normal, `Time` increasing over two days.
//! Frauds: a shift along a fixed direction in a dozen components, scaled by a
//! per-row intensity drawn from [0, 1.6) — so strong frauds are easy, weak ones
//! hide among legitimate rows — plus a different amount profile. A logistic
//! model separates them well but far from perfectly (test AP ≈ 0.8, not 1.0).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use fraud_core::schema::{DEFAULT_AMOUNT, DEFAULT_LABEL};
use fraud_core::Schema;
use ndarray::Array2;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;

/// The real file's fraud rate.
pub const DEFAULT_FRAUD_RATE: f64 = 0.00172;
/// The real file's row count.
pub const DEFAULT_ROWS: usize = 284_807;
/// Two days, in seconds, as in the real file.
const SPAN_SECONDS: f64 = 172_800.0;

/// Mean shift of a fraud at intensity 1, in units of each component's spread
/// (signs and sizes loosely follow the real data's most telling components).
const FRAUD_SHIFT: [(usize, f64); 12] = [
    (1, -0.9),
    (2, 0.8),
    (3, -1.3),
    (4, 1.5),
    (7, -1.2),
    (9, -1.0),
    (10, -1.6),
    (11, 1.2),
    (12, -1.5),
    (14, -1.9),
    (16, -1.4),
    (17, -1.6),
];

const N_FEATURES: usize = 30;

/// Which synthetic schema to generate (the CLI's `--schema`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaKind {
    /// `Time, V1..V28, Amount, Class`, like the Kaggle file.
    Creditcard,
    /// `transaction_id`, twelve named retail features, `is_fraud`.
    Retail,
}

impl SchemaKind {
    /// The CLI spellings.
    pub const NAMES: [&'static str; 2] = ["creditcard", "retail"];

    /// The kind of a CLI spelling.
    pub fn from_name(name: &str) -> Option<SchemaKind> {
        match name {
            "creditcard" => Some(SchemaKind::Creditcard),
            "retail" => Some(SchemaKind::Retail),
            _ => None,
        }
    }

    /// Its label column.
    pub fn label(self) -> &'static str {
        match self {
            SchemaKind::Creditcard => DEFAULT_LABEL,
            SchemaKind::Retail => RETAIL_LABEL,
        }
    }

    /// Its id column, if any.
    pub fn id(self) -> Option<&'static str> {
        match self {
            SchemaKind::Creditcard => None,
            SchemaKind::Retail => Some(RETAIL_ID),
        }
    }

    /// Its amount column.
    pub fn amount(self) -> &'static str {
        match self {
            SchemaKind::Creditcard => DEFAULT_AMOUNT,
            SchemaKind::Retail => RETAIL_AMOUNT,
        }
    }

    /// `rows` transactions with `fraud_rate` frauds, deterministic for `seed`.
    pub fn generate(self, rows: usize, fraud_rate: f64, seed: u64) -> Dataset {
        match self {
            SchemaKind::Creditcard => generate(rows, fraud_rate, seed),
            SchemaKind::Retail => generate_retail(rows, fraud_rate, seed),
        }
    }

    /// The same as CSV bytes.
    pub fn generate_csv(self, rows: usize, fraud_rate: f64, seed: u64) -> Vec<u8> {
        let data = self.generate(rows, fraud_rate, seed);
        let mut out = Vec::with_capacity(rows * 32 * data.schema.len());
        crate::data::write_csv(&mut out, &data).expect("writing equal-length rows and labels into a Vec cannot fail");
        out
    }
}

pub use fraud_core::schema::{RETAIL_AMOUNT, RETAIL_FEATURES, RETAIL_ID, RETAIL_LABEL};

/// A synthetic dataset, fully determined: its schema, size, fraud rate and generator seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Synthetic {
    /// Which columns.
    pub schema: SchemaKind,
    /// Transactions.
    pub rows: usize,
    /// Fraction of frauds.
    pub fraud_rate: f64,
    /// Generator seed.
    pub seed: u64,
}

impl Synthetic {
    /// How provenance names the data: the generator and its settings.
    pub fn name(&self) -> String {
        format!(
            "synthetic{}(rows={}, fraud_rate={}, seed={})",
            if self.schema == SchemaKind::Retail { "-retail" } else { "" },
            self.rows,
            self.fraud_rate,
            self.seed
        )
    }

    /// The data as CSV bytes.
    pub fn csv(&self) -> Vec<u8> {
        self.schema.generate_csv(self.rows, self.fraud_rate, self.seed)
    }

    /// Writes the data to `out` as CSV (atomically) and says so; a fraud rate outside [0, 1] is refused.
    pub fn write_file(&self, out: &Path) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.fraud_rate) {
            anyhow::bail!("--fraud-rate must be in [0, 1], got {}", self.fraud_rate);
        }
        let csv = self.csv();
        crate::output::write_atomic(out, |w| w.write_all(&csv))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {} ({} rows, {} bytes)", out.display(), self.rows, csv.len());
        Ok(())
    }
}

/// `rows` labels, `fraud_rate` of them (rounded to a whole count) frauds, in shuffled order.
fn labels(rng: &mut ChaCha8Rng, rows: usize, fraud_rate: f64) -> Vec<u8> {
    let frauds = ((rows as f64 * fraud_rate.clamp(0.0, 1.0)).round() as usize).min(rows);
    let mut y = vec![0u8; rows];
    y[..frauds].fill(1);
    y.shuffle(rng);
    y
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller; 1 - u keeps the logarithm finite.
    let u: f64 = rng.gen();
    let v: f64 = rng.gen();
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn spread(component: usize) -> f64 {
    // V1 ≈ 1.96 down to V28 ≈ 0.33, like the real PCA spectrum.
    1.96 * (0.33f64 / 1.96).powf((component - 1) as f64 / 27.0)
}

/// Generates `rows` transactions with `fraud_rate` frauds (rounded to a whole
/// count), deterministically for `seed`. Rows are in time order.
pub fn generate(rows: usize, fraud_rate: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = labels(&mut rng, rows, fraud_rate);

    let mut times: Vec<f64> = (0..rows).map(|_| (rng.gen::<f64>() * SPAN_SECONDS).floor()).collect();
    times.sort_by(f64::total_cmp);

    let mut x = Array2::<f64>::zeros((rows, N_FEATURES));
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        row[0] = times[i];
        let fraud = y[i] == 1;
        let intensity = if fraud { rng.gen::<f64>() * 1.6 } else { 0.0 };
        for c in 1..=28 {
            let mut v = normal(&mut rng) * spread(c);
            if fraud {
                if let Some(&(_, shift)) = FRAUD_SHIFT.iter().find(|(k, _)| *k == c) {
                    v += intensity * shift * 2.2 * spread(c);
                }
            }
            // Round like the real file's printed precision.
            row[c] = (v * 1e6).round() / 1e6;
        }
        let amount = if fraud {
            // Frauds: many tiny test charges, some large ones.
            if rng.gen::<f64>() < 0.5 {
                rng.gen::<f64>() * 2.0
            } else {
                (4.0 + 1.2 * normal(&mut rng)).exp()
            }
        } else {
            (3.0 + 1.4 * normal(&mut rng)).exp()
        };
        row[N_FEATURES - 1] = (amount.min(25_000.0) * 100.0).round() / 100.0;
    }
    Dataset { x, y, schema: Schema::creditcard(), ids: None }
}

/// The same data as CSV bytes in the real file's style.
pub fn generate_csv(rows: usize, fraud_rate: f64, seed: u64) -> Vec<u8> {
    SchemaKind::Creditcard.generate_csv(rows, fraud_rate, seed)
}

fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> f64 {
    f64::from(rng.gen::<f64>() < p)
}

/// A retail card issuer's transactions: twelve named features (amount,
/// merchant and device risk scores, distance from home, velocity counts,
/// the amount against the card's 30-day average, account age, hour, and
/// foreign / card-present / online flags), an id per transaction, `is_fraud`.
/// Frauds have a latent intensity in [0, 1): strong ones are new-account,
/// far-away, night-time, card-not-present bursts; weak ones look ordinary.
/// Some signals only matter together (a foreign online purchase at night),
/// which trees pick up and a linear model only partly. Rows are in time order.
pub fn generate_retail(rows: usize, fraud_rate: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = labels(&mut rng, rows, fraud_rate);
    let mut x = Array2::<f64>::zeros((rows, RETAIL_FEATURES.len()));
    let round = |v: f64, digits: i32| {
        let m = 10f64.powi(digits);
        (v * m).round() / m
    };
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        let fraud = y[i] == 1;
        let s = if fraud { rng.gen::<f64>() } else { 0.0 };
        let u = |rng: &mut ChaCha8Rng| rng.gen::<f64>();
        let hour = if fraud && u(&mut rng) < 0.4 + 0.4 * s {
            (u(&mut rng) * 6.0).floor()
        } else {
            (7.0 + u(&mut rng) * 16.0 + normal(&mut rng)).clamp(0.0, 23.0).floor()
        };
        let online = bernoulli(&mut rng, if fraud { 0.45 + 0.4 * s } else { 0.35 });
        let card_present =
            if online == 1.0 { 0.0 } else { bernoulli(&mut rng, if fraud { 0.6 - 0.5 * s } else { 0.9 }) };
        let foreign = bernoulli(&mut rng, if fraud { 0.05 + 0.35 * s } else { 0.04 });
        let base_amount = (3.6 + 1.1 * normal(&mut rng)).exp();
        let avg_30d = (3.6 + 0.6 * normal(&mut rng)).exp();
        let amount = if fraud {
            if u(&mut rng) < 0.3 {
                u(&mut rng) * 3.0 // card testing
            } else {
                base_amount * (1.0 + 4.0 * s * u(&mut rng))
            }
        } else {
            base_amount
        };
        let amount = round(amount.clamp(0.5, 20_000.0), 2);
        let distance = if fraud && u(&mut rng) < 0.2 + 0.6 * s {
            50.0 + (5.0 + normal(&mut rng)).exp()
        } else {
            -12.0 * (1.0 - u(&mut rng)).ln()
        };
        let burst = if fraud { (s * 6.0 * u(&mut rng)).floor() } else { 0.0 };
        let tx_1h = (-(1.0 - u(&mut rng)).ln() * 0.6).floor() + burst;
        let tx_24h = tx_1h + (-(1.0 - u(&mut rng)).ln() * 3.0).floor() + burst;
        let age = if fraud && u(&mut rng) < 0.15 + 0.5 * s { u(&mut rng) * 60.0 } else { 30.0 + u(&mut rng) * 3600.0 };
        let merchant_risk = if fraud { (0.25 + 0.5 * s + 0.25 * u(&mut rng)).min(1.0) } else { u(&mut rng).powi(2) };
        // The device signal only stands out for foreign, online purchases (an interaction).
        let device_risk =
            if fraud && online == 1.0 && foreign == 1.0 { 0.6 + 0.4 * u(&mut rng) } else { u(&mut rng) * 0.7 };
        let values = [
            amount,
            round(merchant_risk, 4),
            round(distance, 1),
            tx_1h,
            tx_24h,
            round(amount / avg_30d, 4),
            age.floor(),
            hour,
            foreign,
            card_present,
            online,
            round(device_risk, 4),
        ];
        for (cell, v) in row.iter_mut().zip(values) {
            *cell = v;
        }
    }
    let ids = (0..rows).map(|i| format!("tx-{seed}-{i:07}")).collect();
    Dataset { x, y, schema: Schema::retail(), ids: Some(ids) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_rate_order_and_determinism() {
        let d = generate(20_000, 0.01, 3);
        assert_eq!(d.x.ncols(), N_FEATURES);
        assert_eq!(d.frauds(), 200);
        assert!(d.x.column(0).windows(2).into_iter().all(|w| w[0] <= w[1]), "time ordered");
        assert_eq!(d, generate(20_000, 0.01, 3));
        assert_ne!(d, generate(20_000, 0.01, 4));
        let csv = generate_csv(100, 0.05, 1);
        assert!(csv.starts_with(b"\"Time\",\"V1\",\"V2\""));
        let parsed = crate::data::load_bytes(&csv, &dataset::Spec::creditcard(), Some("Amount")).unwrap().data;
        assert_eq!(parsed, generate(100, 0.05, 1));
    }

    #[test]
    fn retail_has_its_own_schema_ids_and_reads_back() {
        let d = generate_retail(5_000, 0.02, 9);
        assert_eq!(d.x.ncols(), 12);
        assert_eq!(d.frauds(), 100);
        assert_eq!(d, generate_retail(5_000, 0.02, 9));
        let csv = SchemaKind::Retail.generate_csv(5_000, 0.02, 9);
        assert!(csv.starts_with(b"\"transaction_id\",\"amount\",\"merchant_risk\""));
        let spec = dataset::Spec {
            features: dataset::Features::All,
            label: "is_fraud".into(),
            id: Some("transaction_id".into()),
        };
        let parsed = crate::data::load_bytes(&csv, &spec, Some("amount")).unwrap().data;
        assert_eq!(parsed, d);
        // Frauds differ from legitimate rows on average, but overlap.
        let mean = |col: usize, label: u8| {
            let v: Vec<f64> = (0..d.len()).filter(|&i| d.y[i] == label).map(|i| d.x[[i, col]]).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(1, 1) > mean(1, 0) + 0.2, "merchant risk");
        assert!(mean(2, 1) > mean(2, 0), "distance");
    }
}
