//! Test harness: a throw-away database per test (SQLite file or PostgreSQL database), the real server on port 0, and devices driving it over HTTP.
#![allow(dead_code)]

pub mod approvers;

use std::collections::BTreeMap;
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
    /// Stands in for a database handed on elsewhere (owns nothing, drops nothing).
    fn new_placeholder() -> TestDb {
        TestDb {
            url: String::new(),
            pg_name: None,
            _dir: None,
        }
    }

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

impl TestDb {
    /// A copy of this database as it is now (a backup), as a database of its
    /// own. No server may be connected to it (PostgreSQL copies from a template).
    pub async fn backup(&self) -> TestDb {
        match &self.pg_name {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("backup.sqlite");
                let mut conn = AnyConnection::connect(&self.url)
                    .await
                    .expect("open sqlite");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "VACUUM INTO '{}'",
                    path.display()
                )))
                .await
                .expect("VACUUM INTO");
                let _ = conn.close().await;
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Some(name) => {
                let admin = pg_admin_url();
                let mut raw = [0u8; 8];
                getrandom::fill(&mut raw).expect("random");
                let copy = format!("fieldsync_test_{}", hex::encode(raw));
                let mut conn = AnyConnection::connect(&admin).await.expect("PostgreSQL");
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE {copy} TEMPLATE {name}"
                )))
                .await
                .expect("copy database");
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                TestDb {
                    url: format!("{base}/{copy}"),
                    pg_name: Some(copy),
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
        Self::start_on(TestDb::new(backend).await, settings).await
    }

    /// The server over an existing database (one a previous server left, or a backup).
    pub async fn start_on(db: TestDb, settings: Settings) -> TestServer {
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

    /// Another server process over the same database: (base URL, stop handle).
    pub async fn second_replica(&self) -> (String, oneshot::Sender<()>) {
        self.second_replica_with(Settings::default()).await
    }

    /// Another server process over the same database, with its own settings: (base URL, stop handle).
    pub async fn second_replica_with(&self, settings: Settings) -> (String, oneshot::Sender<()>) {
        let store = Store::open(&self._db.url).await.expect("open store");
        let state = AppState::new(store, settings);
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
        let issued = admin::issue_device(&self.store, user, "test", None)
            .await
            .expect("issue");
        remember_device(&issued.token, &issued.device);
        issued.token
    }

    /// A device of `user` holding `token`: it stamps its changes with the
    /// server's id of the token's device (the server refuses any other), when
    /// the token was issued through this harness or given to `remember_device`.
    pub fn device(&self, user: &str, token: &str) -> Device {
        let id = known_device(token).unwrap_or_else(|| DeviceId::random().expect("device id"));
        Device {
            replica: Replica::new().expect("replica"),
            token: token.to_owned(),
            user: user.parse().expect("user id"),
            id,
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

    /// Stops the server and hands back its database, to start another server on it.
    pub async fn stop_keeping_db(mut self) -> TestDb {
        self.shutdown_now().await;
        let db = TestDb::new_placeholder();
        std::mem::replace(&mut self._db, db)
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close().await;
    }

    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }
}

/// The server's device id of every token issued through the harness.
static DEVICES: std::sync::Mutex<BTreeMap<String, String>> = std::sync::Mutex::new(BTreeMap::new());

/// Records which device a token belongs to (for tokens made outside the harness).
pub fn remember_device(token: &str, device: &str) {
    DEVICES
        .lock()
        .expect("device registry")
        .insert(token.to_owned(), device.to_owned());
}

fn known_device(token: &str) -> Option<DeviceId> {
    let devices = DEVICES.lock().expect("device registry");
    devices.get(token).map(|d| d.parse().expect("a device id"))
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
        time_zone: None,
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

/// A live channel (WebSocket) client.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `GET /v1/live` on `base` (http://…) and authenticates with its first message, as the app does.
pub async fn live(base: &str, token: &str) -> Ws {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let url = format!("{}/v1/live", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect the live channel");
    let auth = serde_json::json!({"type": "auth", "token": token}).to_string();
    ws.send(Message::Text(auth.into()))
        .await
        .expect("send auth");
    ws
}

/// The next text message of a live channel within 10 s (None: closed, or nothing came).
pub async fn next_text(ws: &mut Ws) -> Option<String> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.to_string()),
            // Pings are answered by the client library; keep reading.
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            _ => return None,
        }
    }
}

/// Whether the live channel is closed by the server within 10 s (reading and discarding what comes first).
pub async fn closes(ws: &mut Ws) -> bool {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}
