//! A new model while serving, without a dropped request: on SIGHUP, when the
//! artifact file changes, and on an authenticated `PUT /admin/model`; with a
//! challenger in shadow (`--shadow`), `PUT /admin/promote` makes it the
//! champion and the champion its shadow.
//!
//! A swap builds the whole [`Served`] first — the artifact decoded with every
//! check of `core`, the rules compiled against its schema, the model recorded
//! in the decision log, a fresh drift window — and only then replaces the one
//! the Router serves ([`Live::swap`]). A request takes the current model when
//! it starts and keeps it, so it is scored and decided wholly by the old model
//! or wholly by the new (a batch too), and requests in flight finish on the
//! old. A bad artifact is refused, logged and counted; the old model serves on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use contract::{to_json, ErrorCode, ModelRef};
use fraud_core::rules::RulesFiles;
use http_api::{DecisionSink, HttpError, Live, LogRoutes, Served};
use serde::{Deserialize, Serialize};

use crate::metrics::Monitor;
use crate::tokens::Tokens;

/// Largest artifact `PUT /admin/model` takes.
pub const MAX_ARTIFACT_BYTES: usize = 256 << 20;

/// What every model is served with, kept so a new artifact gets the same.
struct Parts {
    rules: Option<RulesFiles>,
    log: Option<(Arc<decision_log::Log>, Arc<dyn DecisionSink>)>,
}

/// The artifacts serving now, as bytes: what a swap keeps and a promotion exchanges.
struct Serving {
    champion: Arc<[u8]>,
    challenger: Option<Arc<[u8]>>,
    /// With `--model-from`: the rules (and lists) published with the model, compiled for each swap.
    published_rules: Option<Arc<PublishedRules>>,
}

/// A publication's rules text and lists.
#[derive(Debug, PartialEq)]
struct PublishedRules {
    text: String,
    lists: Vec<(String, String)>,
}

impl PublishedRules {
    fn of(bundle: &fleet::Bundle) -> Option<Arc<PublishedRules>> {
        let text = bundle.rules.clone()?;
        Some(Arc::new(PublishedRules { text, lists: bundle.lists.clone() }))
    }
}

/// What the first model is built from, and what every later one is served with.
pub struct SwapConfig {
    /// The artifact file (`--model`); with `published`, where the published artifact is kept.
    pub model_path: PathBuf,
    /// The challenger's file (`--shadow`).
    pub shadow_path: Option<PathBuf>,
    /// The rules' files (`--rules`; not with a publication, which carries its own).
    pub rules: Option<RulesFiles>,
    /// The decision log and its sink.
    pub log: Option<(Arc<decision_log::Log>, Arc<dyn DecisionSink>)>,
    /// The drift window of `/metrics` (none: no metrics).
    pub monitor_window: Option<usize>,
    /// The fleet's current publication (`--model-from`), served instead of the file's model.
    pub published: Option<fleet::Bundle>,
}

/// The model serving now, and how to replace it.
pub struct Swapper {
    live: Live,
    /// The artifact file (`--model`): watched, and where an uploaded artifact is stored.
    model_path: PathBuf,
    /// The challenger's file (`--shadow`): watched, and where a promoted champion is stored.
    shadow_path: Option<PathBuf>,
    parts: Parts,
    monitor: Option<Arc<Monitor>>,
    /// One swap, promotion or rules reload at a time (watcher, SIGHUP and uploads never
    /// interleave), and the artifacts they start from.
    serving: Mutex<Serving>,
}

/// Why a swap was refused.
#[derive(Debug)]
pub enum Refused {
    /// The artifact is not one `core` loads.
    Artifact(String),
    /// The challenger is not one `core` loads, or does not read the champion's requests.
    Challenger(String),
    /// `PUT /admin/promote` without a challenger.
    NoChallenger,
    /// The rules do not compile for the new model.
    Rules(String),
    /// The decision log cannot record the model, or the file cannot be stored.
    Storage(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Artifact(m) => write!(f, "the artifact is not valid: {m}"),
            Refused::Challenger(m) => write!(f, "the challenger cannot shadow this champion: {m}"),
            Refused::NoChallenger => f.write_str("no challenger is scored in shadow (start with --shadow)"),
            Refused::Rules(m) => write!(f, "the rules do not compile for this model: {m}"),
            Refused::Storage(m) => f.write_str(m),
        }
    }
}

/// `PUT /admin/model`'s answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSwapped {
    /// The model serving now.
    pub model: ModelRef,
    /// The one it replaced.
    pub previous: ModelRef,
    /// When the new one started serving, milliseconds since the Unix epoch.
    pub loaded_at_ms: i64,
    /// The challenger scored in shadow beside it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenger: Option<ModelRef>,
}

impl Swapper {
    /// Builds the first model (from the publication, else `model_path`; its challenger from
    /// `shadow_path`), with the rules, log and monitor every later one gets.
    pub fn start(config: SwapConfig) -> anyhow::Result<Arc<Swapper>> {
        let SwapConfig { model_path, shadow_path, rules, log, monitor_window, published } = config;
        let read = |path: &Path, what: &str| {
            std::fs::read(path).map(Arc::<[u8]>::from).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the {what} artifact {} ({e}); train one with `cargo xtask run`",
                    path.display()
                )
            })
        };
        let published_rules = published.as_ref().and_then(PublishedRules::of);
        let champion = match &published {
            Some(bundle) => Arc::<[u8]>::from(bundle.artifact.as_slice()),
            None => read(&model_path, "model")?,
        };
        let challenger = shadow_path.as_deref().map(|p| read(p, "challenger")).transpose()?;
        let parts = Parts { rules, log };
        let served =
            parts.assemble(&champion, challenger.as_deref(), published_rules.as_deref()).map_err(|e| match e {
                Refused::Artifact(m) => anyhow::anyhow!("{} is not a usable model artifact: {m}", model_path.display()),
                Refused::Challenger(m) => {
                    anyhow::anyhow!("--shadow {}: {m}", shadow_path.as_deref().unwrap_or(Path::new("")).display())
                }
                other => anyhow::anyhow!("{other}"),
            })?;
        if published.is_some() {
            // Kept as --model, so a restart while NATS is away serves the last publication.
            write_atomically(&model_path, &champion).map_err(anyhow::Error::msg)?;
        }
        let (served, monitor) = match monitor_window {
            Some(window) => {
                let monitor = Arc::new(Monitor::new(&served, window));
                if let Some(r) = served.rules() {
                    monitor.rules_loaded(&r, false);
                }
                (monitor.observe(served), Some(monitor))
            }
            None => (served, None),
        };
        Ok(Arc::new(Swapper {
            live: Live::new(Arc::new(served)),
            model_path,
            shadow_path,
            parts,
            monitor,
            serving: Mutex::new(Serving { champion, challenger, published_rules }),
        }))
    }

    /// What the Router serves.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// The metrics, if on.
    pub fn monitor(&self) -> Option<&Arc<Monitor>> {
        self.monitor.as_ref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Serving> {
        // A poisoned lock holds whole values (each field is assigned once a swap took effect).
        self.serving.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves `bytes` from now on (the challenger, if any, still in shadow), or says why not
    /// (the old model then serves on). With `store`, the artifact is first written over the
    /// model file (atomically, fsynced), so a restart serves it too.
    pub fn swap(&self, bytes: &[u8], why: &str, store: bool) -> Result<ModelSwapped, Refused> {
        let mut serving = self.lock();
        let result = self
            .parts
            .assemble(bytes, serving.challenger.as_deref(), serving.published_rules.as_deref())
            .and_then(|served| {
                if store {
                    write_atomically(&self.model_path, bytes).map_err(Refused::Storage)?;
                }
                Ok(served)
            });
        let done = self.install(result, why)?;
        serving.champion = Arc::from(bytes);
        Ok(done)
    }

    /// Makes the challenger the champion and the champion the challenger: both files are
    /// exchanged first (each atomically), so a restart serves the same pair.
    pub fn promote(&self, why: &str) -> Result<ModelSwapped, Refused> {
        let mut serving = self.lock();
        let (Some(challenger), Some(shadow_path)) = (serving.challenger.clone(), &self.shadow_path) else {
            return Err(Refused::NoChallenger);
        };
        let champion = serving.champion.clone();
        let rules = serving.published_rules.clone();
        let result = self.parts.assemble(&challenger, Some(&champion), rules.as_deref()).and_then(|served| {
            write_atomically(&self.model_path, &challenger).map_err(Refused::Storage)?;
            write_atomically(shadow_path, &champion).map_err(Refused::Storage)?;
            Ok(served)
        });
        let done = self.install(result, why)?;
        *serving = Serving { champion: challenger, challenger: Some(champion), published_rules: rules };
        Ok(done)
    }

    /// Serves an assembled model from now on, or logs and counts why it was refused.
    fn install(&self, assembled: Result<Served, Refused>, why: &str) -> Result<ModelSwapped, Refused> {
        let served = match assembled {
            Ok(served) => served,
            Err(e) => {
                tracing::error!(why, error = %e, "model swap refused; the previous model keeps serving");
                if let Some(m) = &self.monitor {
                    m.model_swap_failed();
                }
                return Err(e);
            }
        };
        let served = match &self.monitor {
            Some(m) => {
                if let Some(r) = served.rules() {
                    m.rules_loaded(&r, false);
                }
                m.observe(served)
            }
            None => served,
        };
        let next = Arc::new(served);
        let previous = self.live.swap(next.clone());
        if let Some(m) = &self.monitor {
            m.model_swapped();
        }
        tracing::info!(
            why,
            model_id = next.model_id(),
            previous = previous.model_id(),
            challenger = next.challenger().map(|c| c.id.as_str()),
            "model swapped"
        );
        Ok(ModelSwapped {
            model: next.model_ref().clone(),
            previous: previous.model_ref().clone(),
            loaded_at_ms: next.loaded_at_ms().unwrap_or_default(),
            challenger: next.challenger().cloned(),
        })
    }

    /// The model files again: swapped in if they hold other models than the ones serving
    /// (an upload's own write of the file is not swapped in twice).
    pub fn reload_file(&self, why: &str) {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| {
                tracing::error!(why, file = %path.display(), error = %e, "cannot read the model file; the previous model keeps serving");
                if let Some(m) = &self.monitor {
                    m.model_swap_failed();
                }
            })
        };
        let Ok(champion) = read(&self.model_path) else { return };
        let challenger = match &self.shadow_path {
            Some(path) => match read(path) {
                Ok(bytes) => Some(bytes),
                Err(()) => return,
            },
            None => None,
        };
        let mut serving = self.lock();
        let id = fraud_core::artifact::model_id;
        let same = id(&champion) == id(&serving.champion)
            && challenger.as_deref().map(id) == serving.challenger.as_deref().map(id);
        if same {
            return;
        }
        let rules = serving.published_rules.clone();
        let result = self.parts.assemble(&champion, challenger.as_deref(), rules.as_deref());
        if self.install(result, why).is_ok() {
            *serving = Serving {
                champion: Arc::from(champion),
                challenger: challenger.map(Arc::from),
                published_rules: rules,
            };
        }
    }

    /// Serves a publication of the fleet (`--model-from`): its model with its rules, the
    /// challenger (if any) still in shadow; the artifact kept as `--model`. `None` when it
    /// is what serves already (a watch resumed after NATS came back sees it again).
    pub fn swap_published(&self, bundle: &fleet::Bundle, why: &str) -> Option<Result<ModelSwapped, Refused>> {
        let mut serving = self.lock();
        let rules = PublishedRules::of(bundle);
        let id = fraud_core::artifact::model_id;
        if id(&bundle.artifact) == id(&serving.champion) && rules == serving.published_rules {
            return None;
        }
        let result =
            self.parts.assemble(&bundle.artifact, serving.challenger.as_deref(), rules.as_deref()).and_then(|served| {
                write_atomically(&self.model_path, &bundle.artifact).map_err(Refused::Storage)?;
                Ok(served)
            });
        let done = self.install(result, why);
        if done.is_ok() {
            serving.champion = Arc::from(bundle.artifact.as_slice());
            serving.published_rules = rules;
        }
        Some(done)
    }

    /// A publication refused before it reached the swap (it could not be read or checked).
    pub fn publication_refused(&self, why: &str) {
        tracing::error!(error = why, "the fleet's new publication is refused; the previous model keeps serving");
        if let Some(m) = &self.monitor {
            m.model_swap_failed();
        }
    }

    /// The rules again, for the model serving now.
    pub fn reload_rules(&self, why: &str) {
        let Some(files) = &self.parts.rules else { return };
        let _one_at_a_time = self.lock();
        crate::reload::reload(files, &self.live.current(), self.monitor.as_deref(), why);
    }
}

impl Parts {
    /// A complete `Served` for `bytes`, with `challenger` in shadow (not yet observed by the
    /// monitor, not yet serving).
    fn assemble(
        &self,
        bytes: &[u8],
        challenger: Option<&[u8]>,
        published: Option<&PublishedRules>,
    ) -> Result<Served, Refused> {
        let mut served = Served::from_artifact(bytes)
            .map_err(|e| Refused::Artifact(e.full_message()))?
            .with_loaded_at(decision_log::now_ms());
        if let Some(c) = challenger {
            let loaded = fraud_core::Artifact::load(c).map_err(|e| Refused::Challenger(e.full_message()))?;
            served = served.with_challenger(loaded).map_err(Refused::Challenger)?;
        }
        if let Some(files) = &self.rules {
            let rules = crate::reload::load(files, &served).map_err(|e| Refused::Rules(e.to_string()))?;
            served = served.with_rules(rules);
        } else if let Some(p) = published {
            let lists: Vec<(&str, &str)> = p.lists.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
            let rules = fraud_core::RuleSet::compile(&p.text, &lists, served.model().schema())
                .map_err(|e| Refused::Rules(format!("the published rules.txt: {e}")))?;
            served = served.with_rules(rules);
        }
        if let Some((log, sink)) = &self.log {
            let info = contract::log::ModelInfo::of(served.model_id(), served.model().name(), served.model().schema());
            log.register_model(&info)
                .map_err(|e| Refused::Storage(format!("the decision log cannot record the model: {e}")))?;
            if let Some(c) = served.challenger() {
                let info = contract::log::ModelInfo::of(&c.id, &c.name, served.model().schema());
                log.register_model(&info)
                    .map_err(|e| Refused::Storage(format!("the decision log cannot record the challenger: {e}")))?;
            }
            served = served.with_sink(sink.clone(), LogRoutes::Served);
        }
        Ok(served)
    }
}

/// Writes `bytes` over `path`: a temporary file beside it, fsynced, renamed over it, the folder fsynced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.upload", path.file_name().and_then(|n| n.to_str()).unwrap_or("model.bin")));
    let stored = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    stored.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot store the artifact as {}: {e}", path.display())
    })
}

/// `PUT /admin/model` and `PUT /admin/promote` (merged into the server's Router).
pub fn routes(swapper: Arc<Swapper>, tokens: Option<Arc<Tokens>>) -> Router {
    Router::new()
        .route("/admin/model", put(put_model))
        .route("/admin/promote", put(put_promote))
        .with_state((swapper, tokens))
}

/// The answer to a swap or a promotion.
fn answered(swapped: Result<Result<ModelSwapped, Refused>, tokio::task::JoinError>) -> Response {
    match swapped {
        Ok(Ok(done)) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], to_json(&done)).into_response()
        }
        Ok(Err(Refused::Artifact(m))) => {
            HttpError::new(ErrorCode::InvalidFields, format!("the artifact is not valid: {m}")).into_response()
        }
        Ok(Err(Refused::Challenger(m))) => HttpError::new(
            ErrorCode::InvalidFields,
            format!("the challenger cannot shadow this model (nothing was swapped): {m}"),
        )
        .into_response(),
        Ok(Err(Refused::NoChallenger)) => HttpError::new(
            ErrorCode::Conflict,
            "no challenger is scored in shadow: start fraud-server with --shadow challenger.bin",
        )
        .into_response(),
        Ok(Err(Refused::Rules(m))) => HttpError::new(
            ErrorCode::InvalidRules,
            format!("the rules do not compile for this model (it was not swapped in): {m}"),
        )
        .into_response(),
        Ok(Err(Refused::Storage(m))) => HttpError::retry_later(ErrorCode::LogUnavailable, m, 1).into_response(),
        Err(_) => HttpError::retry_later(ErrorCode::Overloaded, "the swap did not finish; retry", 1).into_response(),
    }
}

async fn put_promote(
    State((swapper, tokens)): State<(Arc<Swapper>, Option<Arc<Tokens>>)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (who, _body) = match crate::admin::authorize_with_body(tokens.as_deref(), &headers, body, 1 << 10).await {
        Ok(authorized) => authorized,
        Err(denied) => return denied,
    };
    let why = format!("PUT /admin/promote by {who}");
    answered(tokio::task::spawn_blocking(move || swapper.promote(&why)).await)
}

async fn put_model(
    State((swapper, tokens)): State<(Arc<Swapper>, Option<Arc<Tokens>>)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (who, body) =
        match crate::admin::authorize_with_body(tokens.as_deref(), &headers, body, MAX_ARTIFACT_BYTES).await {
            Ok(authorized) => authorized,
            Err(denied) => return denied,
        };
    let bytes = match axum::body::to_bytes(body, MAX_ARTIFACT_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return HttpError::new(
                ErrorCode::PayloadTooLarge,
                format!("the artifact is over {MAX_ARTIFACT_BYTES} bytes, or its upload was cut"),
            )
            .into_response()
        }
    };
    let why = format!("PUT /admin/model by {who}");
    // Decoding a large artifact and fsyncing take a while: off the request threads.
    answered(tokio::task::spawn_blocking(move || swapper.swap(&bytes, &why, true)).await)
}

impl std::fmt::Debug for Swapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swapper")
            .field("model", &self.live.current().model_id())
            .field("model_path", &self.model_path)
            .finish()
    }
}
