//! Supervised child processes: the native server and `wrangler dev`, stopped
//! when dropped so no test leaves one behind.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::tools::{edge_bin, edge_dir, edge_path};

/// A running `fraud-server` child process.
pub(crate) struct Server {
    child: std::process::Child,
    url: String,
}

impl Server {
    /// Where it listens, `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Its process id (for signals and /proc figures).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the release server on `port` (0: any free port) and waits until it listens.
    pub(crate) fn start(model: &Path, port: u16, site: Option<&Path>) -> Result<Server> {
        Server::start_with(model, port, site, &[])
    }

    pub(crate) fn start_with(model: &Path, port: u16, site: Option<&Path>, extra: &[&str]) -> Result<Server> {
        use std::io::BufRead;
        let mut cmd = Command::new("target/release/fraud-server");
        cmd.arg("--model").arg(model).args(["--port", &port.to_string()]).args(extra);
        if let Some(site) = site {
            cmd.arg("--web").arg(site);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .env("RUST_LOG", "warn")
            .spawn()
            .context("starting target/release/fraud-server")?;
        let stdout = child.stdout.take().context("no stdout from fraud-server")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().strip_prefix("listening on ") {
            Some(url) => Ok(Server { url: url.to_string(), child }),
            None => {
                let _ = child.kill();
                bail!("fraud-server did not start (see its error above)")
            }
        }
    }

    pub(crate) fn stop(mut self) -> Result<()> {
        // SIGTERM: the server finishes requests in flight and exits.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        self.child.wait()?;
        Ok(())
    }

    pub(crate) fn wait(mut self) -> Result<()> {
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The status code of `GET {path}` on 127.0.0.1:port, if anything answers.
pub(crate) fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(conn, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// `wrangler dev` as a child process (started directly, not via npx, so its PID is ours).
pub(crate) struct Wrangler {
    child: std::process::Child,
    port: u16,
}

impl Wrangler {
    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until it exits (Ctrl-C).
    pub(crate) fn wait(mut self) -> Result<()> {
        self.child.wait()?;
        Ok(())
    }

    pub(crate) fn start(port: u16, log: Option<&Path>) -> Result<Wrangler> {
        let mut cmd = Command::new(edge_bin("wrangler"));
        cmd.args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string(), "--show-interactive-dev-session=false"])
            .current_dir(edge_dir())
            .env("PATH", edge_path())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
        if let Some(log) = log {
            let file = std::fs::File::create(log)?;
            cmd.stdout(file.try_clone()?).stderr(file);
        }
        let child = cmd.spawn().context("starting wrangler dev")?;
        Ok(Wrangler { child, port })
    }

    /// Waits for `/health` to answer 200; returns how long that took.
    pub(crate) fn wait_healthy(&mut self, limit: std::time::Duration) -> Result<std::time::Duration> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if http_status(self.port, "/health") == Some(200) {
                return Ok(t.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("wrangler dev exited early with {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        bail!("wrangler dev did not answer /health within {} s", limit.as_secs())
    }

    /// SIGINT, as Ctrl-C would; a hard kill if it lingers.
    pub(crate) fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let t = Instant::now();
        while t.elapsed() < std::time::Duration::from_secs(10) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
