//! The model, rules and lists reloaded while serving: on SIGHUP and when a
//! file changes (polled: no watcher crate, works on every filesystem). A rules
//! reload compiles the whole set first and swaps it in one step, so a request
//! sees the old set or the new; a model change is a whole swap
//! ([`crate::swap`]). A bad file is logged and counted, and what served keeps
//! serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fraud_core::rules::{RulesFileError, RulesFiles};
use fraud_core::RuleSet;
use http_api::Served;

use crate::metrics::Monitor;
use crate::swap::Swapper;

/// How often the files are checked for changes.
pub const POLL: Duration = Duration::from_millis(500);

/// What identifies the files' current contents: each path with its length and modification time.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

fn fingerprint(files: &RulesFiles) -> Fingerprint {
    let paths = files.paths().unwrap_or_else(|_| vec![files.rules.clone()]);
    fingerprint_of(paths)
}

fn fingerprint_of(paths: Vec<PathBuf>) -> Fingerprint {
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
pub(crate) fn reload(files: &RulesFiles, served: &Served, monitor: Option<&Monitor>, why: &str) {
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
    model: Vec<PathBuf>,
    model_seen: Fingerprint,
    rules: Option<(RulesFiles, Fingerprint)>,
}

impl Watch {
    /// Notes the files' state (the model's, its challenger's, the rules'); call before
    /// loading them the first time.
    pub fn new(model: Vec<PathBuf>, rules: Option<RulesFiles>) -> Watch {
        let model_seen = fingerprint_of(model.clone());
        let rules = rules.map(|files| {
            let seen = fingerprint(&files);
            (files, seen)
        });
        Watch { model, model_seen, rules }
    }

    /// The rules files watched, if any.
    pub fn rules(&self) -> Option<&RulesFiles> {
        self.rules.as_ref().map(|(files, _)| files)
    }
}

/// Watches the files (and SIGHUP) until the runtime stops: SIGHUP reloads the
/// model (swapped only if the file holds another one) and the rules.
pub fn spawn(watch: Watch, swapper: Arc<Swapper>) {
    let Watch { model, mut model_seen, mut rules } = watch;
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
            let model_now = fingerprint_of(model.clone());
            let model_changed = model_now != model_seen;
            model_seen = model_now;
            let rules_changed = match &mut rules {
                Some((files, seen)) => {
                    let now = fingerprint(files);
                    let changed = now != *seen;
                    *seen = now;
                    changed
                }
                None => false,
            };
            let hup = why == "SIGHUP";
            if !(hup || model_changed || rules_changed) {
                continue;
            }
            let swapper = swapper.clone();
            // File reads, decoding and compiling off the request threads.
            let _ = tokio::task::spawn_blocking(move || {
                let served_before = swapper.live().current().model_id().to_string();
                if hup || model_changed {
                    swapper.reload_file(why);
                }
                // A swapped model came with the rules compiled for it.
                let swapped = swapper.live().current().model_id() != served_before;
                if (hup || rules_changed) && !swapped {
                    swapper.reload_rules(why);
                }
            })
            .await;
        }
    });
}
