//! One training run as `native-train train` does it: the protocol behind a
//! progress bar, every output written, the summary printed.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::input::Input;
use crate::output::write_outputs;
use crate::pipeline::{run, Config};
use crate::summary;

/// The terminal's progress bar for protocol runs.
pub fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Runs the protocol on `input` and writes its outputs into `out`.
pub fn train_and_write(input: Input, cfg: &Config, out: &Path) -> Result<()> {
    let Input { data, source, load_time } = input;
    let bar = progress_bar();
    let outcome = run(&data, &source, cfg, &bar)?;
    bar.finish_and_clear();
    // The outputs need only the outcome: free the rows before writing.
    drop(data);
    let t = Instant::now();
    let written = write_outputs(out, &outcome, cfg, load_time.as_secs_f64())?;
    tracing::info!(ms = format!("{:.0}", t.elapsed().as_secs_f64() * 1e3), "wrote {}", out.display());
    summary::print(&outcome, &source, &written);
    Ok(())
}
