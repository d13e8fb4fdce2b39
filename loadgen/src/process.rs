//! A real `fieldsync-server` process on a database of its own: a fresh SQLite file or PostgreSQL database, the server CLI for users and tokens, SIGKILL, restart, and its peak memory.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sqlx::{AnyConnection, Connection, Executor};

/// Which database a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// The PostgreSQL server to create databases on (`FIELDSYNC_TEST_PG`, else the local one).
pub fn pg_admin_url() -> String {
    std::env::var("FIELDSYNC_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for one run only: a SQLite file in a temporary
/// folder, or a PostgreSQL database dropped when this is dropped.
#[derive(Debug)]
pub struct Database {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    dir: tempfile::TempDir,
}

impl Database {
    /// A fresh, empty database on `backend`.
    pub async fn fresh(backend: Backend) -> Result<Database> {
        let dir = tempfile::Builder::new()
            .prefix("fieldsync-loadgen-")
            .tempdir()
            .context("temp dir")?;
        match backend {
            Backend::Sqlite => Ok(Database {
                url: format!("sqlite://{}/fieldsync.sqlite", dir.path().display()),
                backend,
                pg_name: None,
                dir,
            }),
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = pg_admin_url();
                let mut raw = [0u8; 8];
                getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("random: {e}"))?;
                let name = format!("fieldsync_load_{}", hex::encode(raw));
                let mut conn = AnyConnection::connect(&admin)
                    .await
                    .with_context(|| format!("PostgreSQL at {admin} (set FIELDSYNC_TEST_PG)"))?;
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .context("CREATE DATABASE")?;
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Ok(Database {
                    url: format!("{base}/{name}"),
                    backend,
                    pg_name: Some(name),
                    dir,
                })
            }
        }
    }

    /// A folder that lives as long as the database (server logs go there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = pg_admin_url();
            // Drop may run inside a runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                        let _ = conn
                            .execute(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Where the `fieldsync-server` binary is: `FIELDSYNC_SERVER_BIN`, else beside
/// this executable (or its parent folder, for test binaries in `deps/`).
pub fn server_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("FIELDSYNC_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("current exe")?;
    // target/<profile>/fieldsync-loadgen, or target/<profile>/deps/<test binary>.
    for dir in exe.ancestors().skip(1).take(2) {
        let bin = dir.join("fieldsync-server");
        if bin.is_file() {
            return Ok(bin);
        }
    }
    bail!(
        "no fieldsync-server beside {} (build it: cargo build --release -p fieldsync-server, or set FIELDSYNC_SERVER_BIN)",
        exe.display()
    )
}

/// Runs the server CLI on `db_url` and returns its standard output.
pub fn cli(bin: &Path, db_url: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .arg("--database")
        .arg(db_url)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "fieldsync-server {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates a user through the CLI.
pub fn add_user(
    bin: &Path,
    db_url: &str,
    id: &str,
    role: &str,
    territories: &[String],
) -> Result<()> {
    let mut args = vec!["user", "add", "--id", id, "--name", id, "--role", role];
    for t in territories {
        args.extend(["--territory", t.as_str()]);
    }
    cli(bin, db_url, &args).map(|_| ())
}

/// Issues a device token for `user` through the CLI.
pub fn issue_token(bin: &Path, db_url: &str, user: &str) -> Result<String> {
    let out = cli(
        bin,
        db_url,
        &["device", "issue", "--user", user, "--label", "loadgen"],
    )?;
    out.lines()
        .find_map(|l| {
            l.split_once("token (shown once):")
                .map(|(_, t)| t.trim().to_owned())
        })
        .context("`device issue` printed no token")
}

/// A running `fieldsync-server serve` process, killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    bin: PathBuf,
    db_url: String,
    log: PathBuf,
    args: Vec<String>,
}

impl ServerProcess {
    /// Starts the server on `db_url`, listening on a free loopback port, with
    /// `args` added to `serve`; returns once `/health` answers.
    pub fn start(bin: &Path, db_url: &str, log_dir: &Path, args: &[&str]) -> Result<ServerProcess> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let log = log_dir.join("server.log");
        let (child, addr) = spawn(bin, db_url, &log, &args)?;
        Ok(ServerProcess {
            child,
            addr,
            bin: bin.to_owned(),
            db_url: db_url.to_owned(),
            log,
            args,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same database (a new port; see `addr`).
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        let (child, addr) = spawn(&self.bin, &self.db_url, &self.log, &self.args)?;
        self.child = child;
        self.addr = addr;
        Ok(())
    }

    /// The most memory the process has held resident (`VmHWM`), in KiB.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmHWM:")
    }

    /// The memory resident now (`VmRSS`), in KiB.
    pub fn memory_kib(&self) -> Option<u64> {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// The server's log (its standard output and error), for a failure message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Spawns `serve` on port 0, reads the address it prints, copies the rest of its
/// output to `log` (so its pipe never fills), and polls `/health` with a deadline.
fn spawn(bin: &Path, db_url: &str, log: &Path, args: &[String]) -> Result<(Child, SocketAddr)> {
    let mut child = Command::new(bin)
        .arg("--database")
        .arg(db_url)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("FIELDSYNC_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .context("server log")?;
    if let Some(out) = child.stdout.take() {
        let mut file = file.try_clone()?;
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(addr) = line
                    .strip_prefix("fieldsync server on http://")
                    .and_then(|a| a.trim().parse().ok())
                {
                    let _ = tx.send(addr);
                }
                let _ = writeln!(file, "{line}");
            }
        });
    }
    if let Some(err) = child.stderr.take() {
        let mut file = file;
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
            break addr;
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server exited before listening ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the server did not start listening within 60 s");
        }
    };
    wait_healthy(addr, &mut child, deadline)?;
    Ok((child, addr))
}

fn wait_healthy(addr: SocketAddr, child: &mut Child, deadline: Instant) -> Result<()> {
    use std::io::Read;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it was healthy: {status}");
        }
        if let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            let mut reply = String::new();
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_to_string(&mut reply).is_ok()
                && reply.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the server at {addr} did not become healthy");
        }
        std::thread::yield_now();
    }
}
