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

use std::io::Write;
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
    /// `payment_id`, text and numeric columns with empty cells, `is_fraud` ([`generate_payments`]).
    Payments,
}

impl SchemaKind {
    /// The CLI spellings.
    pub const NAMES: [&'static str; 3] = ["creditcard", "retail", "payments"];

    /// The kind of a CLI spelling.
    pub fn from_name(name: &str) -> Option<SchemaKind> {
        match name {
            "creditcard" => Some(SchemaKind::Creditcard),
            "retail" => Some(SchemaKind::Retail),
            "payments" => Some(SchemaKind::Payments),
            _ => None,
        }
    }

    /// The fraud rate when none is asked for: the real file's, or 2 % for payments.
    pub fn default_fraud_rate(self) -> f64 {
        match self {
            SchemaKind::Creditcard | SchemaKind::Retail => DEFAULT_FRAUD_RATE,
            SchemaKind::Payments => PAYMENTS_FRAUD_RATE,
        }
    }

    /// Its label column.
    pub fn label(self) -> &'static str {
        match self {
            SchemaKind::Creditcard => DEFAULT_LABEL,
            SchemaKind::Retail => RETAIL_LABEL,
            SchemaKind::Payments => PAYMENTS_LABEL,
        }
    }

    /// Its id column, if any.
    pub fn id(self) -> Option<&'static str> {
        match self {
            SchemaKind::Creditcard => None,
            SchemaKind::Retail => Some(RETAIL_ID),
            SchemaKind::Payments => Some(PAYMENTS_ID),
        }
    }

    /// Its amount column.
    pub fn amount(self) -> &'static str {
        match self {
            SchemaKind::Creditcard => DEFAULT_AMOUNT,
            SchemaKind::Retail => RETAIL_AMOUNT,
            SchemaKind::Payments => PAYMENTS_AMOUNT,
        }
    }

    /// `rows` transactions with `fraud_rate` frauds as CSV bytes, deterministic for `seed`.
    pub fn generate_csv(self, rows: usize, fraud_rate: f64, seed: u64) -> Vec<u8> {
        let data = match self {
            SchemaKind::Creditcard => generate(rows, fraud_rate, seed),
            SchemaKind::Retail => generate_retail(rows, fraud_rate, seed),
            SchemaKind::Payments => return generate_payments_csv(rows, fraud_rate, seed),
        };
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
            match self.schema {
                SchemaKind::Creditcard => "",
                SchemaKind::Retail => "-retail",
                SchemaKind::Payments => "-payments",
            },
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
    Dataset { x, y, schema: Schema::creditcard(), ids: None, cells: None }
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
    Dataset { x, y, schema: Schema::retail(), ids: Some(ids), cells: None }
}

/// The payments table's default fraud rate (the generator calibrates its intercept to the rate asked for).
pub const PAYMENTS_FRAUD_RATE: f64 = 0.02;

/// The payments table's id, label and amount columns.
pub const PAYMENTS_ID: &str = "payment_id";
/// See [`PAYMENTS_ID`].
pub const PAYMENTS_LABEL: &str = "is_fraud";
/// See [`PAYMENTS_ID`].
pub const PAYMENTS_AMOUNT: &str = "amount";

/// The payments table's columns, in order.
pub const PAYMENTS_COLUMNS: [&str; 12] = [
    "payment_id",
    "amount",
    "country",
    "merchant_category",
    "device_os",
    "mcc_code",
    "ip_distance_km",
    "device_age_days",
    "tx_count_24h",
    "account_age_days",
    "hour_of_day",
    "is_fraud",
];

/// Countries `C00..C39`: weights fall like 1/(k + 1.5) (C00 ≈ 18 %, C36 ≈ 0.8 %),
/// and the last three are very rare (≈ 0.1 % each).
const COUNTRIES: usize = 40;
const RARE_COUNTRIES: usize = 3;
const RARE_COUNTRY_WEIGHT: f64 = 0.0012;

/// Merchant categories and their weights (relative frequencies).
const CATEGORIES: [(&str, f64); 25] = [
    ("grocery", 18.0),
    ("restaurants", 12.0),
    ("fuel", 8.0),
    ("marketplace", 8.0),
    ("apparel", 6.0),
    ("electronics", 5.0),
    ("pharmacy", 5.0),
    ("subscriptions", 4.5),
    ("ride_hailing", 4.0),
    ("utilities", 4.0),
    ("telecom", 3.5),
    ("travel", 3.0),
    ("gaming", 3.0),
    ("digital_goods", 3.0),
    ("home_improvement", 2.5),
    ("hotels", 2.0),
    ("airlines", 2.0),
    ("cosmetics", 2.0),
    ("books", 1.5),
    ("sporting_goods", 1.5),
    ("pet_supplies", 1.5),
    ("gift_cards", 1.5),
    ("money_transfer", 1.5),
    ("jewelry", 1.0),
    ("crypto_exchange", 0.8),
];

/// Each category's merchant category code (ISO 18245), and for some a second
/// code used by 30 % of its payments: 31 codes in all.
const MCC: [(u16, Option<u16>); 25] = [
    (5411, Some(5499)),
    (5812, Some(5814)),
    (5541, Some(5542)),
    (5399, Some(5311)),
    (5651, None),
    (5732, None),
    (5912, None),
    (5968, None),
    (4121, None),
    (4900, None),
    (4814, None),
    (4722, None),
    (5816, None),
    (5818, Some(5815)),
    (5200, None),
    (7011, None),
    (4511, None),
    (5977, None),
    (5942, None),
    (5941, None),
    (5995, None),
    (5947, None),
    (4829, Some(6538)),
    (5944, None),
    (6051, None),
];
const SECOND_MCC_SHARE: f64 = 0.3;
/// Codes with a risk of their own, on top of their category's (log-odds).
const MCC_RISK: [(u16, f64); 2] = [(5815, 0.7), (6538, 0.9)];

/// Device operating systems and their weights, when the cell is not empty.
const DEVICE_OS: [(&str, f64); 6] =
    [("ios", 34.0), ("android", 38.0), ("windows", 14.0), ("macos", 8.0), ("linux", 2.0), ("other", 4.0)];

/// (country, category index) pairs far riskier than either alone (log-odds added).
const RISKY_PAIRS: [(u8, u8, f64); 6] = [
    (4, 5, 3.6),   // C04 × electronics
    (9, 21, 3.8),  // C09 × gift_cards
    (2, 12, 3.4),  // C02 × gaming
    (15, 16, 3.6), // C15 × airlines
    (21, 13, 3.6), // C21 × digital_goods
    (7, 22, 3.8),  // C07 × money_transfer
];
/// Small marginal category effects (log-odds).
const CATEGORY_RISK: [(u8, f64); 4] = [(5, 0.2), (21, 0.3), (24, 0.5), (22, 0.2)];

/// Share of rows with a hidden "evasive" trait (fraud tooling: hidden device, proxies, new accounts).
const EVASIVE_SHARE: f64 = 0.08;

/// Missingness, by column: a base probability plus extra when a hidden
/// condition holds, so cells are missing not at random.
/// device_os: 0.17, + 0.45 for evasive rows (≈ 20 %).
const OS_MISSING: (f64, f64) = (0.17, 0.45);
/// ip_distance_km: 0.21, + 0.45 when the true distance is over 500 km, + 0.3 for evasive rows (≈ 25 %).
const IP_MISSING: (f64, f64, f64) = (0.21, 0.45, 0.3);
/// device_age_days: 0.12, + 0.3 when the device is under a week old (≈ 15 %).
const DEVICE_AGE_MISSING: (f64, f64) = (0.12, 0.3);
/// account_age_days: 0.045, + 0.1 when the account is under 30 days old (≈ 5 %).
const ACCOUNT_AGE_MISSING: (f64, f64) = (0.045, 0.1);

/// Log-odds of fraud, apart from the calibrated intercept.
const RISK_EVASIVE: f64 = 2.2;
const RISK_OS_MISSING: f64 = 1.0;
const RISK_IP_MISSING: f64 = 0.6;
const RISK_FAR_IP: f64 = 1.0;
const RISK_NEW_DEVICE: f64 = 1.1;
const RISK_NEW_ACCOUNT: f64 = 1.4;
const RISK_NIGHT: f64 = 0.9;
const RISK_CARD_TEST: f64 = 1.4;
/// Per log-unit of amount above e^5 (≈ 150).
const RISK_LARGE_AMOUNT: f64 = 0.6;
/// Per payment in the last 24 hours above five (counted up to ten).
const RISK_VELOCITY: f64 = 0.3;

/// One synthetic payment. `None` is an empty cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Payment {
    /// In currency units, two decimals.
    pub amount: f64,
    /// Index into `C00..C39`.
    pub country: u8,
    /// Index into the merchant categories.
    pub category: u8,
    /// Index into the operating systems.
    pub device_os: Option<u8>,
    /// Merchant category code.
    pub mcc: u16,
    /// Distance between the IP's location and the card's home, one decimal.
    pub ip_distance_km: Option<f64>,
    /// Whole days since the device was first seen.
    pub device_age_days: Option<u32>,
    /// Payments on the card in the last 24 hours.
    pub tx_count_24h: u32,
    /// Whole days since the account was opened.
    pub account_age_days: Option<u32>,
    /// 0..=23.
    pub hour_of_day: u8,
    /// The label.
    pub fraud: bool,
}

fn pick(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let u = rng.gen::<f64>() * total;
    cumulative.partition_point(|&c| c <= u).min(cumulative.len() - 1)
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

fn country_weights() -> Vec<f64> {
    let common = COUNTRIES - RARE_COUNTRIES;
    let mut w: Vec<f64> = (0..common).map(|k| 1.0 / (k as f64 + 1.5)).collect();
    let total: f64 = w.iter().sum();
    w.extend(std::iter::repeat_n(RARE_COUNTRY_WEIGHT * total, RARE_COUNTRIES));
    w
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The intercept at which the mean fraud probability over `scores` is `rate` (bisection).
fn calibrate_intercept(scores: &[f64], rate: f64) -> f64 {
    let (mut lo, mut hi) = (-60.0f64, 60.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        let mean = scores.iter().map(|&s| sigmoid(mid + s)).sum::<f64>() / scores.len().max(1) as f64;
        if mean < rate {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A payments table of `rows` transactions, deterministic for `seed`: text
/// columns (country, merchant category, device OS), a merchant category code,
/// numeric columns with empty cells, and `is_fraud` at about `fraud_rate`
/// (labels are drawn from a logistic model whose intercept is calibrated to it).
///
/// Fraud depends on a country × merchant category interaction (six pairs are
/// far riskier than either their country or their category alone), on
/// missingness that is not at random (an empty device OS or IP distance
/// raises the risk directly, and cells go missing more often for a hidden
/// evasive trait, far-away IPs, new devices and new accounts), and on numeric
/// signals: large amounts and card-testing small ones, velocity, new accounts
/// and devices, far IPs, night hours.
pub fn generate_payments(rows: usize, fraud_rate: f64, seed: u64) -> Vec<Payment> {
    payments_with_probabilities(rows, fraud_rate, seed).0
}

/// The payments and each one's true fraud probability (what a perfect model would score).
fn payments_with_probabilities(rows: usize, fraud_rate: f64, seed: u64) -> (Vec<Payment>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7061_796d_656e_7473); // "payments"
    let countries = cumulative(country_weights());
    let categories = cumulative(CATEGORIES.iter().map(|c| c.1));
    let systems = cumulative(DEVICE_OS.iter().map(|c| c.1));
    let mut table = Vec::with_capacity(rows);
    let mut scores = Vec::with_capacity(rows);
    for _ in 0..rows {
        let u = |rng: &mut ChaCha8Rng| rng.gen::<f64>();
        let evasive = u(&mut rng) < EVASIVE_SHARE;
        let country = pick(&mut rng, &countries) as u8;
        let category = pick(&mut rng, &categories) as u8;
        let (first, second) = MCC[category as usize];
        let mcc = match second {
            Some(code) if u(&mut rng) < SECOND_MCC_SHARE => code,
            _ => first,
        };
        let os = pick(&mut rng, &systems) as u8;
        let os_missing = u(&mut rng) < OS_MISSING.0 + if evasive { OS_MISSING.1 } else { 0.0 };

        let card_test = u(&mut rng) < 0.04;
        let amount = if card_test { 0.5 + 2.5 * u(&mut rng) } else { (3.5 + 1.1 * normal(&mut rng)).exp() };
        let amount = (amount.clamp(0.5, 20_000.0) * 100.0).round() / 100.0;

        let far_share = if evasive { 0.3 } else { 0.05 };
        let ip = if u(&mut rng) < far_share {
            (7.0 + 0.8 * normal(&mut rng)).exp()
        } else {
            -40.0 * (1.0 - u(&mut rng)).ln()
        };
        let ip = (ip.min(20_000.0) * 10.0).round() / 10.0;
        let far_ip = ip > 500.0;
        let ip_missing = u(&mut rng)
            < IP_MISSING.0 + if far_ip { IP_MISSING.1 } else { 0.0 } + if evasive { IP_MISSING.2 } else { 0.0 };

        let new_device_share = if evasive { 0.5 } else { 0.08 };
        let device_age = if u(&mut rng) < new_device_share {
            (u(&mut rng) * 7.0).floor()
        } else {
            7.0 + ((u(&mut rng) * 2000f64.ln()).exp() - 1.0).floor()
        } as u32;
        let new_device = device_age < 3;
        let device_age_missing =
            u(&mut rng) < DEVICE_AGE_MISSING.0 + if device_age < 7 { DEVICE_AGE_MISSING.1 } else { 0.0 };

        let new_account_share = if evasive { 0.3 } else { 0.06 };
        let account_age = if u(&mut rng) < new_account_share {
            (u(&mut rng) * 30.0).floor()
        } else {
            30.0 + ((u(&mut rng) * 4000f64.ln()).exp() - 1.0).floor()
        } as u32;
        let new_account = account_age < 30;
        let account_age_missing =
            u(&mut rng) < ACCOUNT_AGE_MISSING.0 + if new_account { ACCOUNT_AGE_MISSING.1 } else { 0.0 };

        let burst = if evasive { (u(&mut rng) * 6.0).floor() } else { 0.0 };
        let tx_count = ((-(1.0 - u(&mut rng)).ln() * 2.5).floor() + burst) as u32;
        let night_share = if evasive { 0.35 } else { 0.08 };
        let hour = if u(&mut rng) < night_share {
            (u(&mut rng) * 6.0).floor()
        } else {
            (7.0 + u(&mut rng) * 16.0 + normal(&mut rng)).clamp(0.0, 23.0).floor()
        } as u8;

        let mut score = 0.0;
        score += RISKY_PAIRS.iter().filter(|p| p.0 == country && p.1 == category).map(|p| p.2).sum::<f64>();
        score += CATEGORY_RISK.iter().filter(|c| c.0 == category).map(|c| c.1).sum::<f64>();
        score += MCC_RISK.iter().filter(|m| m.0 == mcc).map(|m| m.1).sum::<f64>();
        // Small, fixed country effects in [-0.16, 0.16]; the rare countries a little riskier.
        score += if country as usize >= COUNTRIES - RARE_COUNTRIES {
            0.8
        } else {
            ((country as usize * 7) % 5) as f64 * 0.08 - 0.16
        };
        score += if evasive { RISK_EVASIVE } else { 0.0 };
        score += if os_missing { RISK_OS_MISSING } else { 0.0 };
        score += if ip_missing { RISK_IP_MISSING } else { 0.0 };
        score += if far_ip { RISK_FAR_IP } else { 0.0 };
        score += if new_device { RISK_NEW_DEVICE } else { 0.0 };
        score += if new_account { RISK_NEW_ACCOUNT } else { 0.0 };
        score += if hour < 6 { RISK_NIGHT } else { 0.0 };
        score += if card_test { RISK_CARD_TEST } else { 0.0 };
        score += RISK_LARGE_AMOUNT * (amount.ln() - 5.0).max(0.0);
        score += RISK_VELOCITY * (f64::from(tx_count.min(10)) - 5.0).max(0.0);
        scores.push(score);
        table.push(Payment {
            amount,
            country,
            category,
            device_os: (!os_missing).then_some(os),
            mcc,
            ip_distance_km: (!ip_missing).then_some(ip),
            device_age_days: (!device_age_missing).then_some(device_age),
            tx_count_24h: tx_count,
            account_age_days: (!account_age_missing).then_some(account_age),
            hour_of_day: hour,
            fraud: false,
        });
    }
    let intercept = calibrate_intercept(&scores, fraud_rate.clamp(0.0, 1.0));
    let probabilities: Vec<f64> = scores.iter().map(|s| sigmoid(intercept + s)).collect();
    for (payment, &p) in table.iter_mut().zip(&probabilities) {
        payment.fraud = rng.gen::<f64>() < p;
    }
    (table, probabilities)
}

/// Writes a payments table as CSV: a plain header, ids `pay-{seed}-{row}`,
/// text cells unquoted, empty cells as empty fields (`a,,b`), `is_fraud` as 0/1.
pub fn write_payments_csv<W: Write>(out: &mut W, table: &[Payment], seed: u64) -> std::io::Result<()> {
    writeln!(out, "{}", PAYMENTS_COLUMNS.join(","))?;
    for (i, p) in table.iter().enumerate() {
        write!(
            out,
            "pay-{seed}-{i:07},{:.2},C{:02},{},{},{},",
            p.amount,
            p.country,
            CATEGORIES[p.category as usize].0,
            p.device_os.map_or("", |os| DEVICE_OS[os as usize].0),
            p.mcc
        )?;
        if let Some(d) = p.ip_distance_km {
            write!(out, "{d:.1}")?;
        }
        out.write_all(b",")?;
        if let Some(d) = p.device_age_days {
            write!(out, "{d}")?;
        }
        write!(out, ",{},", p.tx_count_24h)?;
        if let Some(d) = p.account_age_days {
            write!(out, "{d}")?;
        }
        writeln!(out, ",{},{}", p.hour_of_day, u8::from(p.fraud))?;
    }
    Ok(())
}

/// The payments table as CSV bytes.
pub fn generate_payments_csv(rows: usize, fraud_rate: f64, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 80);
    write_payments_csv(&mut out, &generate_payments(rows, fraud_rate, seed), seed)
        .expect("writing into a Vec cannot fail");
    out
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
        let parsed = crate::data::load_bytes(&csv, &dataset::Spec::creditcard(), &[], Some("Amount")).unwrap().data;
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
        let parsed = crate::data::load_bytes(&csv, &spec, &[], Some("amount")).unwrap().data;
        assert_eq!(parsed, d);
        // Frauds differ from legitimate rows on average, but overlap.
        let mean = |col: usize, label: u8| {
            let v: Vec<f64> = (0..d.len()).filter(|&i| d.y[i] == label).map(|i| d.x[[i, col]]).collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(1, 1) > mean(1, 0) + 0.2, "merchant risk");
        assert!(mean(2, 1) > mean(2, 0), "distance");
    }

    #[test]
    fn payments_are_deterministic_and_well_formed() {
        let a = generate_payments_csv(3_000, 0.02, 5);
        assert_eq!(a, generate_payments_csv(3_000, 0.02, 5));
        assert_ne!(a, generate_payments_csv(3_000, 0.02, 6));
        let text = String::from_utf8(a).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(PAYMENTS_COLUMNS.join(",").as_str()));
        let mut n = 0;
        for (i, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 12, "{line}");
            assert_eq!(cells[0], format!("pay-5-{i:07}"));
            assert!(cells[2].starts_with('C') && cells[2].len() == 3);
            assert!(matches!(cells[11], "0" | "1"), "label never empty");
            for c in [0, 1, 2, 3, 5, 8, 10, 11] {
                assert!(!cells[c].is_empty(), "column {c} is never empty: {line}");
            }
            n += 1;
        }
        assert_eq!(n, 3_000);
        let codes: std::collections::BTreeSet<u16> = MCC.iter().flat_map(|&(a, b)| [Some(a), b]).flatten().collect();
        assert!((25..=35).contains(&codes.len()));
        assert_eq!(generate_payments(0, 0.02, 1), vec![]);
    }

    fn rate(rows: &[&Payment]) -> f64 {
        rows.iter().filter(|p| p.fraud).count() as f64 / rows.len().max(1) as f64
    }

    #[test]
    fn payments_missing_rates_and_missing_not_at_random() {
        let t = generate_payments(60_000, 0.02, 11);
        let share = |f: &dyn Fn(&Payment) -> bool| t.iter().filter(|p| f(p)).count() as f64 / t.len() as f64;
        let os = share(&|p| p.device_os.is_none());
        let ip = share(&|p| p.ip_distance_km.is_none());
        let dev = share(&|p| p.device_age_days.is_none());
        let acct = share(&|p| p.account_age_days.is_none());
        assert!((0.17..0.23).contains(&os), "device_os empty {os}");
        assert!((0.21..0.29).contains(&ip), "ip_distance_km empty {ip}");
        assert!((0.12..0.18).contains(&dev), "device_age_days empty {dev}");
        assert!((0.035..0.065).contains(&acct), "account_age_days empty {acct}");
        let fraud = share(&|p| p.fraud);
        assert!((0.015..0.025).contains(&fraud), "fraud rate {fraud}");
        // An empty cell raises the risk: missing not at random.
        let split = |f: &dyn Fn(&Payment) -> bool| {
            let (yes, no): (Vec<&Payment>, Vec<&Payment>) = t.iter().partition(|p| f(p));
            (rate(&yes), rate(&no))
        };
        let (missing, present) = split(&|p| p.device_os.is_none());
        assert!(missing > 2.0 * present, "device_os: {missing} vs {present}");
        let (missing, present) = split(&|p| p.ip_distance_km.is_none());
        assert!(missing > 2.0 * present, "ip_distance_km: {missing} vs {present}");
    }

    #[test]
    fn payments_fraud_needs_country_and_category_together() {
        let t = generate_payments(200_000, 0.02, 2);
        let overall = rate(&t.iter().collect::<Vec<_>>());
        let pair = |p: &Payment| RISKY_PAIRS.iter().any(|r| r.0 == p.country && r.1 == p.category);
        let pairs: Vec<&Payment> = t.iter().filter(|p| pair(p)).collect();
        assert!(pairs.len() > 1_000, "{} risky-pair rows", pairs.len());
        let pair_rate = rate(&pairs);
        for &(country, category, _) in &RISKY_PAIRS {
            let of_country = rate(&t.iter().filter(|p| p.country == country).collect::<Vec<_>>());
            let of_category = rate(&t.iter().filter(|p| p.category == category).collect::<Vec<_>>());
            assert!(of_country < 2.5 * overall, "C{country:02} alone: {of_country} vs {overall}");
            assert!(
                of_category < 2.5 * overall,
                "{} alone: {of_category} vs {overall}",
                CATEGORIES[category as usize].0
            );
            assert!(pair_rate > 5.0 * of_country.max(of_category), "pair {pair_rate} vs {of_country}, {of_category}");
        }
        assert!(pair_rate > 8.0 * overall, "pairs {pair_rate} vs {overall}");
    }

    #[test]
    fn payments_are_learnable_but_not_trivially() {
        let (t, p) = payments_with_probabilities(100_000, 0.02, 3);
        let y: Vec<u8> = t.iter().map(|p| u8::from(p.fraud)).collect();
        let ap = crate::metrics::average_precision(&p, &y);
        eprintln!("payments oracle AP {ap}");
        assert!((0.3..0.7).contains(&ap), "oracle AP {ap}");
    }
}
