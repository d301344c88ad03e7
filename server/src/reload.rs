//! Rules and lists reloaded while serving: on SIGHUP and when a file changes
//! (polled: no watcher crate, works on every filesystem). A reload compiles
//! the whole set first and swaps it in one step, so a request sees the old set
//! or the new; a bad file is logged and counted, and the old set keeps deciding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fraud_core::rules::{RulesFileError, RulesFiles};
use fraud_core::RuleSet;
use http_api::Served;

use crate::metrics::Monitor;

/// How often the files are checked for changes.
pub const POLL: Duration = Duration::from_millis(500);

/// What identifies the files' current contents: each path with its length and modification time.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn fingerprint(files: &RulesFiles) -> Fingerprint {
    let paths = files.paths().unwrap_or_else(|_| vec![files.rules.clone()]);
    paths
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(u64::MAX, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}

/// Loads the rule set for `served`'s model, naming the files in the error.
pub fn load(files: &RulesFiles, served: &Served) -> Result<RuleSet, RulesFileError> {
    let rules = files.load(served.model().schema())?;
    for note in rules.notes() {
        tracing::warn!(rules = %files.rules.display(), "{note}");
    }
    Ok(rules)
}

/// One reload: the new set swapped in, or the error logged and counted.
fn reload(files: &RulesFiles, served: &Served, monitor: Option<&Monitor>, why: &str) {
    match load(files, served) {
        Ok(rules) => {
            let old = served.rules().map(|r| r.version().to_string());
            tracing::info!(
                why,
                version = rules.version(),
                old = old.as_deref(),
                rules = rules.rules().len(),
                "rules reloaded"
            );
            if let Some(m) = monitor {
                m.rules_loaded(&rules, true);
            }
            served.set_rules(rules);
        }
        Err(e) => {
            tracing::error!(why, error = %e, "rules reload refused; the previous rules keep deciding");
            if let Some(m) = monitor {
                m.rules_reload_failed();
            }
        }
    }
}

/// The files as they were before the first load: a change after this moment
/// is seen by the watcher, however soon it comes.
pub struct Watch {
    files: RulesFiles,
    seen: Fingerprint,
}

impl Watch {
    /// Notes the files' state; call before loading them the first time.
    pub fn new(files: RulesFiles) -> Watch {
        let seen = fingerprint(&files);
        Watch { files, seen }
    }

    /// The files watched.
    pub fn files(&self) -> &RulesFiles {
        &self.files
    }
}

/// Watches the files (and SIGHUP) until the runtime stops.
pub fn spawn(watch: Watch, served: Arc<Served>, monitor: Option<Arc<Monitor>>) {
    let Watch { files, mut seen } = watch;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let signal = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signal = std::future::pending::<()>();
            let why = tokio::select! {
                () = signal => "SIGHUP",
                _ = tick.tick() => "changed",
            };
            let now = fingerprint(&files);
            if why == "changed" && now == seen {
                continue;
            }
            seen = now;
            let (files, served, monitor) = (files.clone(), served.clone(), monitor.clone());
            // File reads and compiling off the request threads.
            let _ = tokio::task::spawn_blocking(move || reload(&files, &served, monitor.as_deref(), why)).await;
        }
    });
}
