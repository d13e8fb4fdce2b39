//! `Site`: a fresh database, its users and tokens made through the server's CLI, the server process, and a byte-counting proxy in front of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::device::{Device, http_client};
use crate::process::{self, Backend, Database, ServerProcess};
use crate::proxy::CountingProxy;

/// A user to create: id, role, territories.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub role: &'static str,
    pub territories: Vec<String>,
}

/// A server on a database of its own, reached through a counting proxy.
#[derive(Debug)]
pub struct Site {
    pub server: ServerProcess,
    pub proxy: CountingProxy,
    pub bin: PathBuf,
    pub http: reqwest::Client,
    /// One device token per user created.
    pub tokens: BTreeMap<String, String>,
    // Dropped last: the server must stop before its database goes.
    pub db: Database,
}

impl Site {
    /// Creates `users` (with a token each) through the CLI, a few at a time, then
    /// starts the server with `serve_args`.
    pub async fn start(backend: Backend, users: &[NewUser], serve_args: &[&str]) -> Result<Site> {
        let bin = process::server_bin()?;
        let db = Database::fresh(backend).await?;
        // The first CLI call runs the migrations alone.
        process::cli(&bin, &db.url, &["user", "list"])?;
        let tokens = create_users(&bin, &db.url, users)?;
        let server = ServerProcess::start(&bin, &db.url, db.dir(), serve_args)?;
        let proxy = CountingProxy::start(server.addr).await?;
        Ok(Site {
            server,
            proxy,
            bin,
            http: http_client()?,
            tokens,
            db,
        })
    }

    /// A new device of `user` (its first token, or a new one when `fresh_token`).
    pub async fn device(&self, user: &str, fresh_token: bool) -> Result<Device> {
        let token = if fresh_token {
            process::issue_token(&self.bin, &self.db.url, user)?
        } else {
            self.tokens
                .get(user)
                .with_context(|| format!("no token for {user}"))?
                .clone()
        };
        Device::connect(&self.proxy.base(), user, &token, self.http.clone()).await
    }

    /// Bytes through the proxy so far: (up, down).
    pub fn wire(&self) -> (u64, u64) {
        self.proxy.counters.read()
    }
}

/// Runs `user add` and `device issue` for every user, on a few threads.
fn create_users(
    bin: &std::path::Path,
    db: &str,
    users: &[NewUser],
) -> Result<BTreeMap<String, String>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let chunk = users.len().div_ceil(threads).max(1);
    let mut tokens = BTreeMap::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = users
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<Vec<(String, String)>> {
                    let mut out = Vec::new();
                    for u in part {
                        process::add_user(bin, db, &u.id, u.role, &u.territories)?;
                        out.push((u.id.clone(), process::issue_token(bin, db, &u.id)?));
                    }
                    Ok(out)
                })
            })
            .collect();
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a user-creating thread panicked"))??;
            tokens.extend(part);
        }
        anyhow::Ok(())
    })?;
    Ok(tokens)
}
