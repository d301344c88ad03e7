//! Supervised child processes — the native server, `wrangler dev`,
//! nats-server and the NATS consumers — as one type: started with a name and a
//! way to stop, waited on until ready, stopped gracefully with a deadline, and
//! killed with everything they started when dropped, so a failed step leaves
//! nothing running.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::tools::{edge_bin, edge_dir, edge_path};

/// A signal sent with `kill(1)` (xtask links no libc bindings).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// Finish what is in flight and exit (the server, nats-server, the consumers).
    Term,
    /// Ctrl-C (wrangler).
    Int,
    /// No clean-up: a crash.
    Kill,
    /// Reload (the server's model and rules).
    Hup,
}

impl Signal {
    fn flag(self) -> &'static str {
        match self {
            Signal::Term => "-TERM",
            Signal::Int => "-INT",
            Signal::Kill => "-KILL",
            Signal::Hup => "-HUP",
        }
    }
}

/// How a process is asked to stop, and how long it may take before it is killed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopping {
    pub(crate) signal: Signal,
    pub(crate) grace: Duration,
}

/// A running child process.
pub(crate) struct Supervised {
    name: String,
    child: Child,
    stopping: Stopping,
    url: Option<String>,
    /// Waited for: its id may belong to another process now.
    reaped: bool,
}

/// A process, told apart from a later one that reuses its id by its start time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Proc {
    pid: u32,
    started: u64,
}

impl Proc {
    fn of(pid: u32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
        let rest = &stat[stat.rfind(')')? + 2..];
        let started = rest.split_whitespace().nth(19)?.parse().ok()?;
        Some(Proc { pid, started })
    }

    fn alive(self) -> bool {
        Proc::of(self.pid) == Some(self)
    }
}

/// `pid`'s descendants, children before grandchildren (Linux's /proc).
fn descendants(pid: u32) -> Vec<Proc> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { continue };
        for task in tasks.flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if let Some(p) = Proc::of(child) {
                    found.push(p);
                    queue.push(child);
                }
            }
        }
    }
    found
}

fn send(pid: u32, signal: Signal) -> Result<()> {
    let status = Command::new("kill").args([signal.flag(), &pid.to_string()]).status().context("running kill")?;
    if !status.success() {
        bail!("kill {} {pid} failed with {status}", signal.flag());
    }
    Ok(())
}

impl Supervised {
    /// Starts `cmd` as `name`.
    pub(crate) fn spawn(name: &str, cmd: &mut Command, stopping: Stopping) -> Result<Supervised> {
        let child = cmd.spawn().with_context(|| format!("starting {name} ({cmd:?})"))?;
        Ok(Supervised { name: name.to_string(), child, stopping, url: None, reaped: false })
    }

    /// Its process id (for signals and /proc figures).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where it listens (`http://…` or `nats://…`); empty for a process that does not listen.
    pub(crate) fn url(&self) -> &str {
        self.url.as_deref().unwrap_or_default()
    }

    /// Sends `signal` to the process itself (not to what it started).
    pub(crate) fn signal(&self, signal: Signal) -> Result<()> {
        send(self.pid(), signal)
    }

    /// Kills it and the `started` processes it started that still run.
    fn kill_with(&mut self, started: &[Proc]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
        for p in started.iter().filter(|p| p.alive()) {
            let _ = send(p.pid, Signal::Kill);
        }
    }

    /// Polls `ready` until it holds; fails if the process exits first or `limit` passes.
    pub(crate) fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<Duration> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if ready() {
                return Ok(t.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                bail!("{} exited with {status} before {what}", self.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{}: no {what} within {} s", self.name, limit.as_secs())
    }

    /// True while the process runs.
    pub(crate) fn running(&mut self) -> bool {
        match self.child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) => {
                self.reaped = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Asks it to stop and waits up to the grace period; after that kills it
    /// and what it started, and says so as an error.
    pub(crate) fn stop(mut self) -> Result<()> {
        // Taken before the signal: an orphan no longer shows whose it was.
        let started = descendants(self.pid());
        let Stopping { signal, grace } = self.stopping;
        if self.running() {
            self.signal(signal)?;
        }
        let t = Instant::now();
        while t.elapsed() < grace {
            if self.child.try_wait()?.is_some() {
                // Whatever it left behind goes with it.
                self.kill_with(&started);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill_with(&started);
        bail!("{} (pid {}) did not exit within {} s of {signal:?}: killed", self.name, self.pid(), grace.as_secs())
    }

    /// Waits until it exits by itself (Ctrl-C reaches it with the terminal's signal).
    pub(crate) fn wait(mut self) -> Result<()> {
        let status = self.child.wait()?;
        self.reaped = true;
        eprintln!("{} exited with {status}", self.name);
        Ok(())
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if !self.reaped {
            let started = descendants(self.pid());
            self.kill_with(&started);
        }
    }
}

/// A free loopback port (closed again at once: the child binds it next).
pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// How to start the release `fraud-server`.
#[derive(Clone, Debug)]
pub(crate) struct ServerConfig {
    pub(crate) model: PathBuf,
    /// 0: any free port.
    pub(crate) port: u16,
    /// A site folder to serve at `/`.
    pub(crate) site: Option<PathBuf>,
    /// More command-line options (timeouts).
    pub(crate) args: Vec<String>,
}

impl ServerConfig {
    pub(crate) fn new(model: &Path) -> ServerConfig {
        ServerConfig { model: model.to_path_buf(), port: 0, site: None, args: Vec::new() }
    }
}

/// Starts the release server and waits until it listens (it prints `listening on URL`).
pub(crate) fn fraud_server(config: &ServerConfig) -> Result<Supervised> {
    let mut cmd = Command::new("target/release/fraud-server");
    cmd.arg("--model").arg(&config.model).args(["--port", &config.port.to_string()]).args(&config.args);
    if let Some(site) = &config.site {
        cmd.arg("--web").arg(site);
    }
    cmd.stdout(Stdio::piped()).env("RUST_LOG", "warn");
    // SIGTERM: it finishes requests in flight and exits.
    let stopping = Stopping { signal: Signal::Term, grace: Duration::from_secs(30) };
    let mut server = Supervised::spawn("fraud-server", &mut cmd, stopping)?;
    let stdout = server.child.stdout.take().context("no stdout from fraud-server")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    match line.trim().strip_prefix("listening on ") {
        Some(url) => {
            server.url = Some(url.to_string());
            Ok(server)
        }
        None => bail!("fraud-server did not start (see its error above)"),
    }
}

/// How to start `wrangler dev`.
#[derive(Clone, Debug, Default)]
pub(crate) struct WranglerConfig {
    /// Where the Worker answers, on 127.0.0.1.
    pub(crate) port: u16,
    /// The DevTools inspector's port (wrangler's default, 9229, when `None`).
    pub(crate) inspector_port: Option<u16>,
    /// A file for its output (else the terminal).
    pub(crate) log: Option<PathBuf>,
    /// Where the local D1 database (the decision log) lives (else `.wrangler/state`).
    pub(crate) persist_to: Option<PathBuf>,
}

/// The pinned wrangler, run in `edge-worker/` with the Node it needs and nothing sent to Cloudflare.
pub(crate) fn wrangler() -> Command {
    let mut cmd = Command::new(edge_bin("wrangler"));
    cmd.current_dir(edge_dir())
        .env("PATH", edge_path())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_SEND_ERROR_REPORTS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
    cmd
}

/// Starts `wrangler dev` (directly, not via npx, so its process id is ours).
pub(crate) fn wrangler_dev(config: &WranglerConfig) -> Result<Supervised> {
    let mut cmd = wrangler();
    cmd.args(["dev", "--ip", "127.0.0.1", "--port", &config.port.to_string()])
        .arg("--show-interactive-dev-session=false");
    if let Some(dir) = &config.persist_to {
        cmd.arg("--persist-to").arg(dir);
    }
    if let Some(port) = config.inspector_port {
        cmd.args(["--inspector-port", &port.to_string()]);
    }
    if let Some(log) = &config.log {
        let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        cmd.stdout(file.try_clone()?).stderr(file);
    }
    // SIGINT, as Ctrl-C would: it stops workerd too.
    let stopping = Stopping { signal: Signal::Int, grace: Duration::from_secs(10) };
    let mut wrangler = Supervised::spawn("wrangler dev", &mut cmd, stopping)?;
    wrangler.url = Some(format!("http://127.0.0.1:{}", config.port));
    Ok(wrangler)
}

/// The runtime processes (workerd) a supervised process started, by id and start time:
/// the same set before and after a run means the runtime was not restarted.
pub(crate) fn runtime_processes(parent: &Supervised) -> Vec<(u32, u64)> {
    descendants(parent.pid())
        .into_iter()
        .filter(|p| std::fs::read_to_string(format!("/proc/{}/comm", p.pid)).is_ok_and(|c| c.trim() == "workerd"))
        .map(|p| (p.pid, p.started))
        .collect()
}

/// Waits for a Worker under `wrangler dev` to answer `/health` with 200; returns how long that took.
pub(crate) fn wait_healthy(wrangler: &mut Supervised, port: u16, limit: Duration) -> Result<Duration> {
    wrangler.wait_until("a 200 from /health", limit, || crate::http::status(port, "/health") == Some(200))
}

/// Starts nats-server with JetStream on a free loopback port, its data in `dir`,
/// and waits until it accepts connections.
pub(crate) fn nats_server(dir: &Path) -> Result<Supervised> {
    let port = free_port()?;
    let mut cmd = Command::new("nats-server");
    cmd.args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"]).arg(dir);
    let stopping = Stopping { signal: Signal::Term, grace: Duration::from_secs(10) };
    let mut nats = Supervised::spawn("nats-server", &mut cmd, stopping)?;
    nats.wait_until("a listening port", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })?;
    nats.url = Some(format!("nats://127.0.0.1:{port}"));
    Ok(nats)
}

/// Starts a `fraud-consumer` of the durable consumer on `nats_url`; SIGTERM
/// makes it finish its batch and print its summary.
pub(crate) fn consumer(model: &Path, nats_url: &str) -> Result<Supervised> {
    let mut cmd = Command::new("target/release/fraud-consumer");
    cmd.arg("--model").arg(model).args(["--nats", nats_url]);
    Supervised::spawn("fraud-consumer", &mut cmd, Stopping { signal: Signal::Term, grace: Duration::from_secs(30) })
}
