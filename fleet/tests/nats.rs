//! Publish, fetch and watch on a real nats-server with JetStream: the watcher
//! sees the current publication, then each new one; a corrupt object put into
//! the bucket behind `publish`'s back is refused by the watcher, and `publish`
//! refuses a corrupt bundle before putting anything. Skipped (saying so) when
//! no `nats-server` is installed: `cargo xtask test` installs Debian's.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream;
use fleet::{Bundle, Event, Source};
use fraud_core::Artifact;

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats_server(dir: &std::path::Path) -> Option<(Reaped, u16)> {
    let bin = ["nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Reaped(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((server, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nats-server did not come up");
}

/// What the watcher reported: (model id, rules version), or why it refused.
type Seen = Result<(String, Option<String>), String>;

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("the watcher reported in time").expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_are_watched_and_corrupt_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_nats, port)) = nats_server(dir.path()) else {
        eprintln!("SKIPPED: no nats-server on this machine (cargo xtask test installs it)");
        return;
    };
    let source = Source::parse(&format!("nats://127.0.0.1:{port}/models")).unwrap();
    assert!(fleet::fetch(&source).await.is_err(), "nothing published yet");

    let a = Bundle { artifact: Artifact::example().encode().unwrap(), ..Bundle::default() };
    let b = Bundle {
        artifact: Artifact::example_trees().encode().unwrap(),
        rules: Some("version r2\nreview big if :Amount: > 100\n".into()),
        lists: Vec::new(),
    };
    let published = fleet::publish(&source, &a).await.unwrap();
    assert_eq!(published.model_id, fraud_core::artifact::model_id(&a.artifact));
    assert_eq!(fleet::fetch(&source).await.unwrap().loaded.id, published.model_id);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Seen>();
    tokio::spawn(fleet::watch(source.clone(), move |event| {
        let seen = match event {
            Event::New(c) => Ok((c.loaded.id.clone(), c.rules.map(|r| r.version().to_string()))),
            Event::Refused(why) => Err(why),
        };
        tx.send(seen).is_ok()
    }));
    assert_eq!(next(&mut rx).await, Ok((published.model_id.clone(), None)), "the current one first");

    let started = std::time::Instant::now();
    let second = fleet::publish(&source, &b).await.unwrap();
    assert_eq!(next(&mut rx).await, Ok((second.model_id.clone(), Some("r2".into()))));
    eprintln!("a publication reached the watcher in {:?}", started.elapsed());

    // publish checks first: a corrupt artifact, rules that do not compile.
    let mut corrupt = a.clone();
    let middle = corrupt.artifact.len() / 2;
    corrupt.artifact[middle] ^= 0xff;
    let err = fleet::publish(&source, &corrupt).await.unwrap_err().to_string();
    assert!(err.starts_with("not published: model.bin"), "{err}");
    let bad_rules = Bundle { rules: Some("refuse x if :nope: > 1\n".into()), ..a.clone() };
    assert!(fleet::publish(&source, &bad_rules).await.unwrap_err().to_string().contains("rules.txt"));
    assert_eq!(fleet::fetch(&source).await.unwrap().loaded.id, second.model_id, "nothing was put");

    // Put behind publish's back: refused by the watcher (and by fetch), with the reason.
    let client = async_nats::connect(&source.url).await.unwrap();
    let store = jetstream::new(client).get_object_store("models").await.unwrap();
    store.put(fleet::OBJECT, &mut corrupt.encode().as_slice()).await.unwrap();
    let refused = next(&mut rx).await.unwrap_err();
    assert!(refused.starts_with("model.bin"), "{refused}");
    store.put(fleet::OBJECT, &mut b"not a publication".as_slice()).await.unwrap();
    assert!(next(&mut rx).await.unwrap_err().contains("not a fraud-model publication"));
    assert!(fleet::fetch(&source).await.is_err());
    let again = fleet::publish(&source, &a).await.unwrap();
    assert_eq!(next(&mut rx).await, Ok((again.model_id, None)), "a good one after bad ones");
}
