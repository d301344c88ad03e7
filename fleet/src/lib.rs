//! One publish for the whole fleet.
//!
//! Why a crate of its own: the trainer publishes, and every server and NATS
//! consumer fetches and watches — the same format and the same checks on both
//! ends, so what `publish` accepts every instance can serve, and what an
//! instance refuses it refuses for the same reason `publish` would have.
//!
//! A publication is **one object** (`current`) in a JetStream object store
//! bucket, holding the artifact, its rules file and the rules' lists
//! ([`Bundle`]). One object, not three, so an instance never sees a new model
//! with old rules: the object store replaces an object whole, and its SHA-256
//! digest is checked on every read. The object's metadata names the model id.
//!
//! An instance [`watch`]es the bucket (the last publication first, then each
//! new one), decodes and checks each publication (artifact decoded with every
//! check of `core`, rules compiled against its schema) and hands it over only
//! when it would serve it; a corrupt or unusable publication is logged, counted
//! by the caller, and the old model serves on.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use async_nats::jetstream::{self, object_store};
use fraud_core::rules::MAX_LISTS;
use fraud_core::{Artifact, Loaded, RuleSet};
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

/// The bucket unless the URL names one.
pub const DEFAULT_BUCKET: &str = "fraud-models";
/// The object every publication replaces.
pub const OBJECT: &str = "current";
/// The largest publication (an artifact of several thousand trees is far below).
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;
/// The metadata key naming the publication's model id.
pub const MODEL_ID_KEY: &str = "model_id";

const MAGIC: &[u8] = b"FRAUDFLEET1\n";
const MODEL_ENTRY: &str = "model.bin";
const RULES_ENTRY: &str = "rules.txt";

/// Where publications live: `nats://host:port/bucket` (the bucket defaults to [`DEFAULT_BUCKET`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The NATS server, without the bucket.
    pub url: String,
    /// The object store bucket.
    pub bucket: String,
}

impl Source {
    /// Reads `nats://host:port[/bucket]`.
    pub fn parse(text: &str) -> Result<Source, String> {
        let rest = text
            .strip_prefix("nats://")
            .ok_or_else(|| format!("{text:?} is not a nats:// URL (nats://host:port/bucket)"))?;
        let (server, bucket) = match rest.split_once('/') {
            Some((server, bucket)) => (server, bucket.trim_end_matches('/')),
            None => (rest, ""),
        };
        if server.is_empty() {
            return Err(format!("{text:?} names no server (nats://host:port/bucket)"));
        }
        let bucket = if bucket.is_empty() { DEFAULT_BUCKET } else { bucket };
        if !bucket.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') || bucket.len() > 64 {
            return Err(format!("bucket {bucket:?}: letters, digits, '-' and '_' only, at most 64"));
        }
        Ok(Source { url: format!("nats://{server}"), bucket: bucket.to_string() })
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.url, self.bucket)
    }
}

/// What one publication holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    /// The artifact (`model.bin`).
    pub artifact: Vec<u8>,
    /// The rules file, if the model decides through rules.
    pub rules: Option<String>,
    /// The rules' lists: (name, text), `@name` in the rules.
    pub lists: Vec<(String, String)>,
}

/// A publication checked: what an instance serves.
pub struct Checked {
    /// The artifact, decoded.
    pub loaded: Loaded,
    /// The publication as it was put (the artifact's bytes, the rules' text and lists).
    pub bundle: Bundle,
    /// The rules, compiled against the artifact's schema.
    pub rules: Option<RuleSet>,
}

impl Bundle {
    /// The bytes of the object.
    pub fn encode(&self) -> Vec<u8> {
        let mut entries: Vec<(&str, &[u8])> = vec![(MODEL_ENTRY, &self.artifact)];
        if let Some(r) = &self.rules {
            entries.push((RULES_ENTRY, r.as_bytes()));
        }
        let names: Vec<String> = self.lists.iter().map(|(n, _)| format!("lists/{n}.txt")).collect();
        for (name, (_, text)) in names.iter().zip(&self.lists) {
            entries.push((name, text.as_bytes()));
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (name, bytes) in entries {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Reads an object's bytes, saying what is wrong with one that is not a publication.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, String> {
        let mut rest = bytes.strip_prefix(MAGIC).ok_or("not a fraud-model publication (no FRAUDFLEET1 header)")?;
        let mut take = |n: usize, what: &str| -> Result<&[u8], String> {
            if rest.len() < n {
                return Err(format!("cut short in {what}"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let count = u32::from_le_bytes(take(4, "the entry count")?.try_into().map_err(|_| "entry count")?) as usize;
        if count == 0 || count > 2 + MAX_LISTS {
            return Err(format!("{count} entries; a publication has the model, rules and at most {MAX_LISTS} lists"));
        }
        let mut bundle = Bundle::default();
        let mut seen_model = false;
        for _ in 0..count {
            let n = u16::from_le_bytes(take(2, "an entry name")?.try_into().map_err(|_| "name length")?) as usize;
            let name = std::str::from_utf8(take(n, "an entry name")?).map_err(|_| "an entry name is not UTF-8")?;
            let name = name.to_string();
            let len = u64::from_le_bytes(take(8, "an entry length")?.try_into().map_err(|_| "entry length")?);
            let len = usize::try_from(len).ok().filter(|&l| l <= MAX_BUNDLE_BYTES).ok_or("an entry is too large")?;
            let body = take(len, &name)?;
            let text = || String::from_utf8(body.to_vec()).map_err(|_| format!("{name} is not UTF-8 text"));
            if name == MODEL_ENTRY && !seen_model {
                seen_model = true;
                bundle.artifact = body.to_vec();
            } else if name == RULES_ENTRY && bundle.rules.is_none() {
                bundle.rules = Some(text()?);
            } else if let Some(list) = name.strip_prefix("lists/").and_then(|n| n.strip_suffix(".txt")) {
                if bundle.lists.iter().any(|(l, _)| l == list) {
                    return Err(format!("list {list} twice"));
                }
                bundle.lists.push((list.to_string(), text()?));
            } else {
                return Err(format!("unknown or repeated entry {name:?}"));
            }
        }
        if !rest.is_empty() {
            return Err(format!("{} bytes after the last entry", rest.len()));
        }
        if !seen_model {
            return Err("no model.bin in the publication".into());
        }
        if bundle.rules.is_none() && !bundle.lists.is_empty() {
            return Err("lists without rules".into());
        }
        Ok(bundle)
    }

    /// Decodes the artifact with every check of `core` and compiles the rules against its schema.
    pub fn check(self) -> Result<Checked, String> {
        let loaded = Artifact::load(&self.artifact).map_err(|e| format!("model.bin: {}", e.full_message()))?;
        let rules = match &self.rules {
            Some(text) => {
                let lists: Vec<(&str, &str)> = self.lists.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
                Some(RuleSet::compile(text, &lists, loaded.model.schema()).map_err(|e| format!("rules.txt: {e}"))?)
            }
            None => None,
        };
        Ok(Checked { loaded, bundle: self, rules })
    }
}

async fn store(source: &Source, create: bool) -> Result<object_store::ObjectStore> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .connect(&source.url)
        .await
        .with_context(|| format!("connecting to {}", source.url))?;
    let js = jetstream::new(client);
    match js.get_object_store(&source.bucket).await {
        Ok(store) => Ok(store),
        Err(_) if create => js
            .create_object_store(object_store::Config {
                bucket: source.bucket.clone(),
                description: Some("fraud models: one object, `current`, per publication".into()),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating the object store bucket {}", source.bucket)),
        Err(e) => bail!("no object store bucket {} at {} ({e}); publish a model first", source.bucket, source.url),
    }
}

/// What [`publish`] put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The model id it carries.
    pub model_id: String,
    /// The object's size.
    pub bytes: usize,
    /// Its digest, as the object store records it.
    pub digest: Option<String>,
}

/// Checks `bundle` as every instance will, then puts it as the bucket's `current` object
/// (the bucket created if missing). A bundle an instance would refuse is refused here.
pub async fn publish(source: &Source, bundle: &Bundle) -> Result<Published> {
    let checked = bundle.clone().check().map_err(|e| anyhow::anyhow!("not published: {e}"))?;
    let bytes = bundle.encode();
    anyhow::ensure!(
        bytes.len() <= MAX_BUNDLE_BYTES,
        "not published: {} bytes, at most {MAX_BUNDLE_BYTES}",
        bytes.len()
    );
    let store = store(source, true).await?;
    let meta = object_store::ObjectMetadata {
        name: OBJECT.into(),
        description: Some(format!("{} ({})", checked.loaded.artifact.model_name, checked.loaded.id)),
        metadata: [(MODEL_ID_KEY.to_string(), checked.loaded.id.clone())].into_iter().collect(),
        ..Default::default()
    };
    let info =
        store.put(meta, &mut bytes.as_slice()).await.with_context(|| format!("putting the model into {source}"))?;
    Ok(Published { model_id: checked.loaded.id, bytes: info.size, digest: info.digest })
}

async fn read(store: &object_store::ObjectStore) -> Result<Vec<u8>, String> {
    let mut object = store.get(OBJECT).await.map_err(|e| format!("cannot get {OBJECT}: {e}"))?;
    if object.info().size > MAX_BUNDLE_BYTES {
        return Err(format!("{} bytes, at most {MAX_BUNDLE_BYTES}", object.info().size));
    }
    let mut bytes = Vec::with_capacity(object.info().size);
    // The reader checks the object's SHA-256 digest at its end.
    object.read_to_end(&mut bytes).await.map_err(|e| format!("cannot read {OBJECT}: {e}"))?;
    Ok(bytes)
}

/// The bucket's current publication, checked.
pub async fn fetch(source: &Source) -> Result<Checked> {
    let store = store(source, false).await?;
    let bytes = read(&store).await.map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    Bundle::decode(&bytes)
        .and_then(Bundle::check)
        .map_err(|e| anyhow::anyhow!("{source}: the published model cannot be served: {e}"))
}

/// What a watcher hands over: a publication to serve, or why one was refused.
pub enum Event {
    /// A new publication, checked.
    New(Box<Checked>),
    /// A publication that cannot be served (the old model serves on): why.
    Refused(String),
}

/// Watches `source` until `on` returns false: the current publication first, then
/// each new one, each checked; `on` decides what to do. Reconnects (every second)
/// while NATS is away.
pub async fn watch(source: Source, mut on: impl FnMut(Event) -> bool + Send) {
    loop {
        let watched = async {
            let store = store(&source, true).await?;
            let mut changes = store.watch_with_history().await.context("watching the bucket")?;
            while let Some(change) = changes.next().await {
                let info = change.context("reading the bucket's changes")?;
                if info.name != OBJECT || info.deleted {
                    continue;
                }
                let event = match read(&store).await {
                    Ok(bytes) => match Bundle::decode(&bytes).and_then(Bundle::check) {
                        Ok(checked) => Event::New(Box::new(checked)),
                        Err(e) => Event::Refused(e),
                    },
                    Err(e) => Event::Refused(e),
                };
                if !on(event) {
                    return Ok(true);
                }
            }
            anyhow::Ok(false)
        };
        match watched.await {
            Ok(true) => return,
            Ok(false) => tracing::warn!(source = %source, "the bucket's watch ended: watching again"),
            Err(e) => tracing::warn!(source = %source, error = %format!("{e:#}"), "cannot watch the bucket: retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_reads_back_and_a_damaged_one_says_why() {
        let bundle = Bundle {
            artifact: Artifact::example().encode().unwrap(),
            rules: Some("version r1\nrefuse blocked if :id: in @blocked\n".into()),
            lists: vec![("blocked".into(), "tx-1\n".into())],
        };
        let bytes = bundle.encode();
        assert_eq!(Bundle::decode(&bytes).unwrap(), bundle);
        let checked = bundle.clone().check().unwrap();
        assert_eq!(checked.rules.unwrap().version(), "r1");
        for cut in [0, 5, MAGIC.len() + 3, bytes.len() / 2, bytes.len() - 1] {
            assert!(Bundle::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Bundle::decode(&longer).unwrap_err().contains("after the last entry"));
        let mut flipped = bytes.clone();
        let at = MAGIC.len() + 4 + 2 + MODEL_ENTRY.len() + 8 + 40;
        flipped[at] ^= 0xff;
        let damaged = Bundle::decode(&flipped).unwrap().check().err().unwrap();
        assert!(damaged.starts_with("model.bin"), "{damaged}");
        let bad_rules = Bundle { rules: Some("refuse x if :nope: > 1\n".into()), ..bundle };
        assert!(bad_rules.check().err().unwrap().starts_with("rules.txt"));
    }

    #[test]
    fn sources_name_a_server_and_a_bucket() {
        assert_eq!(
            Source::parse("nats://127.0.0.1:4222/models").unwrap(),
            Source { url: "nats://127.0.0.1:4222".into(), bucket: "models".into() }
        );
        assert_eq!(Source::parse("nats://h:1").unwrap().bucket, DEFAULT_BUCKET);
        assert!(Source::parse("http://h:1/x").is_err());
        assert!(Source::parse("nats:///x").is_err());
        assert!(Source::parse("nats://h:1/a.b").is_err());
    }
}
