//! Test harness: a throw-away database per test (SQLite file or PostgreSQL database), the real server on port 0, and devices driving it over HTTP.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use fieldsync_core::calendar::Timestamp;
use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::model::{DealerKind, DealerProfile, DealerStatus, Territory};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{Replica, SyncReport, SyncRequest, SyncResponse};
use fieldsync_server::{AppState, Settings, Store, admin};
use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Instantiates each listed async test once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::common::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name(super::common::Backend::Postgres).await }
            )*
        }
    };
}

fn pg_admin_url() -> String {
    std::env::var("FIELDSYNC_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that exists for one test only.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/nested/fs.sqlite", dir.path().display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = pg_admin_url();
                let mut raw = [0u8; 8];
                getrandom::fill(&mut raw).expect("random");
                let name = format!("fieldsync_test_{}", hex::encode(raw));
                let mut conn = AnyConnection::connect(&admin).await.expect(
                    "PostgreSQL at FIELDSYNC_TEST_PG or postgres://postgres@127.0.0.1:5432/test",
                );
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = pg_admin_url();
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
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

/// Polls `GET {base}/health` until it answers 200 (a 20 s deadline, no sleeps).
pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http.get(format!("{base}/health")).send().await {
            Ok(r) if r.status().is_success() => return,
            _ if Instant::now() > deadline => panic!("server at {base} did not become healthy"),
            _ => tokio::task::yield_now().await,
        }
    }
}

/// The real server, listening on 127.0.0.1:0.
pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub store: Store,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _db: TestDb,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, Settings::default()).await
    }

    pub async fn start_with(backend: Backend, settings: Settings) -> TestServer {
        let db = TestDb::new(backend).await;
        let store = Store::open(&db.url).await.expect("open store");
        let state = AppState::new(store.clone(), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(fieldsync_server::run(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::new();
        wait_healthy(&http, &base).await;
        TestServer {
            base,
            state,
            store,
            http,
            shutdown: Some(tx),
            task: Some(task),
            _db: db,
        }
    }

    /// Another server process over the same database: (base URL, its state, stop handle).
    pub async fn second_replica(&self) -> (String, oneshot::Sender<()>) {
        let store = Store::open(&self._db.url).await.expect("open store");
        let state = AppState::new(store, Settings::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(fieldsync_server::run(listener, state, async move {
            let _ = rx.await;
        }));
        wait_healthy(&self.http, &base).await;
        (base, tx)
    }

    /// Creates a user and returns a fresh device token for them.
    pub async fn user(&self, id: &str, role: &str, territories: &[&str]) -> String {
        let ts: Vec<String> = territories.iter().map(|t| (*t).to_owned()).collect();
        admin::add_user(&self.store, id, id, role, &ts)
            .await
            .expect("add user");
        self.token(id).await
    }

    /// Another device token for an existing user.
    pub async fn token(&self, user: &str) -> String {
        admin::issue_device(&self.store, user, "test", None)
            .await
            .expect("issue")
            .token
    }

    /// A device of `user` holding `token`.
    pub fn device(&self, user: &str, token: &str) -> Device {
        Device {
            replica: Replica::new().expect("replica"),
            token: token.to_owned(),
            user: user.parse().expect("user id"),
            id: DeviceId::random().expect("device id"),
            base: self.base.clone(),
            http: self.http.clone(),
            clock: 1_000,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let r = self.get(token, path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("json")
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close().await;
    }
}

/// A phone: a core replica that syncs with the server over HTTP.
pub struct Device {
    pub replica: Replica,
    pub token: String,
    pub user: UserId,
    pub id: DeviceId,
    pub base: String,
    pub http: reqwest::Client,
    clock: i64,
}

impl Device {
    /// A stamp by this device's user, one second later than the last.
    pub fn stamp(&mut self) -> Stamp {
        self.clock += 1_000;
        Stamp::new(
            self.user.clone(),
            self.id.clone(),
            Timestamp(1_767_225_600_000 + self.clock),
        )
    }

    /// Sends one raw sync request.
    pub async fn post(&self, req: &SyncRequest) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/sync", self.base))
            .bearer_auth(&self.token)
            .json(req)
            .send()
            .await
            .expect("POST /v1/sync")
    }

    /// One request/response round; panics on an HTTP error.
    pub async fn round(&mut self) -> (SyncResponse, SyncReport) {
        let req = self.replica.sync_request();
        let r = self.post(&req).await;
        assert_eq!(r.status(), 200, "sync failed: {:?}", r.text().await);
        let resp: SyncResponse = r.json().await.expect("sync response");
        let report = self.replica.apply_response(&resp).expect("apply");
        assert!(
            report.errors.is_empty(),
            "apply errors: {:?}",
            report.errors
        );
        (resp, report)
    }

    /// Syncs until the server has nothing more; returns every refusal seen.
    pub async fn sync(&mut self) -> Vec<fieldsync_core::sync::Rejection> {
        let mut rejected = Vec::new();
        for _ in 0..100 {
            let (_, report) = self.round().await;
            rejected.extend(report.rejected);
            if !report.more {
                return rejected;
            }
        }
        panic!("sync never finished");
    }
}

pub fn tid(s: &str) -> TerritoryId {
    s.parse().expect("territory id")
}

pub fn territory(name: &str, managers: &[&str]) -> Territory {
    Territory {
        name: name.to_owned(),
        region: "north".to_owned(),
        managers: managers.iter().map(|m| m.parse().expect("user")).collect(),
    }
}

pub fn profile(name: &str) -> DealerProfile {
    DealerProfile::new(name, DealerKind::Retailer, 2, DealerStatus::Active)
}

/// Head office creates territories `ids` (with `managers` each) through a sync.
pub async fn head_office_with_territories(
    server: &TestServer,
    territories: &[(&str, &[&str])],
) -> Device {
    let token = server.user("ho", "head_office", &[]).await;
    let mut ho = server.device("ho", &token);
    for (id, managers) in territories {
        let stamp = ho.stamp();
        ho.replica
            .create_territory(tid(id), &territory(&format!("{id} 區"), managers), &stamp)
            .expect("territory");
    }
    assert!(ho.sync().await.is_empty());
    ho
}
