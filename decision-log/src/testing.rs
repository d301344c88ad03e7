//! A throwaway PostgreSQL for tests: Debian's binaries, a free loopback port,
//! data in a temporary folder, stopped (by PID) when dropped. PostgreSQL
//! refuses to run as root, so as root it runs as the `postgres` user the
//! Debian package creates (the folder is handed to that user).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running PostgreSQL server.
pub struct TestPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// The newest `/usr/lib/postgresql/N/bin` with an `initdb`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn as_postgres_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl TestPostgres {
    /// Starts one, or `None` (with a SKIPPED line) when PostgreSQL is not installed, unless
    /// `FRAUD_REQUIRE_POSTGRES=1` (set by `cargo xtask test`, which installs it) makes that a failure.
    pub fn start() -> Option<TestPostgres> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var("FRAUD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL is required (FRAUD_REQUIRE_POSTGRES=1) but /usr/lib/postgresql/*/bin/initdb is missing"
            );
            eprintln!("SKIPPED: PostgreSQL is not installed (cargo xtask test installs Debian's)");
            return None;
        };
        match TestPostgres::try_start(bin) {
            Ok(pg) => Some(pg),
            Err(e) => panic!("PostgreSQL did not start: {e}"),
        }
    }

    fn try_start(bin: PathBuf) -> Result<TestPostgres, String> {
        let dir = tempfile::Builder::new().prefix("fraud-pg-").tempdir().map_err(|e| e.to_string())?;
        if is_root() {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status();
            if !ok.is_ok_and(|s| s.success()) {
                return Err("cannot hand the data folder to the postgres user".into());
            }
        }
        let data = dir.path().join("data");
        let out = as_postgres_user(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-U", "fraud", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let port = free_port().map_err(|e| e.to_string())?;
        let mut pg = TestPostgres { bin, dir, port, child: None };
        pg.restart()?;
        Ok(pg)
    }

    /// Starts the server again on the same port and data (after [`TestPostgres::stop`]).
    pub fn restart(&mut self) -> Result<(), String> {
        let data = self.dir.path().join("data");
        let log = std::fs::File::create(self.dir.path().join("server.log")).map_err(|e| e.to_string())?;
        let child = as_postgres_user(&self.bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("postgres: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if postgres::Client::connect(&self.url("postgres"), postgres::NoTls).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(format!("postgres did not accept connections within 30 s: {log}"))
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://fraud@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a database and returns its URL.
    pub fn database(&self, name: &str) -> String {
        let mut c = match postgres::Client::connect(&self.url("postgres"), postgres::NoTls) {
            Ok(c) => c,
            Err(e) => panic!("cannot connect to the test PostgreSQL: {e}"),
        };
        if let Err(e) = c.batch_execute(&format!("CREATE DATABASE {name}")) {
            panic!("CREATE DATABASE {name}: {e}");
        }
        self.url(name)
    }

    /// Stops the server (fast shutdown: sessions are cut, committed data stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
