//! `Store`: the database behind the server (SQLite or PostgreSQL, chosen by the URL), its migrations and write transactions.

mod activities;
mod actors;
mod ageing;
mod approvals;
mod docs;
mod epoch;
mod handovers;
mod history;
mod identity;
mod photos;
mod queries;
mod rows;
mod sales;
mod secrets;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use approvals::LimitRow;
pub use docs::{CommitDoc, FeedRow, StoredDoc};
pub use handovers::{
    BY_DEADLINE, HandoverQuery, HandoverRow, HeldRow, ItemRow, ListedItem, NewHandover, Reassigned,
};
pub use identity::{CodeRefusal, DeviceRow, NewDevice, PendingCode, TokenSession, UserRow};
pub use photos::{NewPhoto, PhotoPut};
pub use queries::{Filter, Page};
pub use sales::{Figure, SalesFigure, SalesWriteError};
pub use secrets::{Attempt, SecretCheck, SecretRecord, SecretState};

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (use sqlite://… or postgres://…): {0}")]
    Url(String),
    #[error("cannot create the database folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the document was changed by another writer")]
    VersionConflict,
    #[error("{0} already exists")]
    Duplicate(String),
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections to the server's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time: writers queue here instead of
    /// failing with SQLITE_BUSY. PostgreSQL needs no gate (row locks do it).
    write_gate: Option<Arc<Mutex<()>>>,
    /// PostgreSQL's URL, for the LISTEN connection of the live channel.
    pg_url: Option<Arc<str>>,
    /// Actor owners already read (they never change): see `actors`.
    owners: Arc<std::sync::Mutex<actors::OwnerCache>>,
}

/// The PostgreSQL channel on which commits announce their territory.
pub const FEED_CHANNEL: &str = "fieldsync_feed";

/// A write transaction (holding SQLite's writer gate, if any).
#[derive(Debug)]
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits; only after this returns is anything acknowledged.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Milliseconds since the Unix epoch, by the server's clock.
pub fn now_millis() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

impl Store {
    /// Connects to `url`, creating the SQLite file (and its folder) if needed,
    /// and runs the migrations of that backend.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(url.chars().take(40).collect()));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            // An SQLite connection is a file handle that cannot break: no ping (a
            // round trip to its worker thread) before each query. PostgreSQL's are
            // still checked, as a restarted database leaves broken ones behind.
            .test_before_acquire(backend == Backend::Postgres);
        let options = if backend == Backend::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; synchronous=FULL makes
                    // every commit durable before it is acknowledged.
                    conn.execute(sqlx::raw_sql(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                         PRAGMA foreign_keys=ON; PRAGMA busy_timeout=15000;",
                    ))
                    .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        let store = Store {
            pool,
            backend,
            write_gate: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            pg_url: (backend == Backend::Postgres).then(|| Arc::from(url.as_str())),
            owners: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// PostgreSQL's URL (None on SQLite), for LISTEN/NOTIFY between server replicas.
    pub fn pg_url(&self) -> Option<&str> {
        self.pg_url.as_deref()
    }

    /// The actor owners read so far (a poisoned lock only means a panic elsewhere
    /// mid-update of a cache: its entries are still owners once read).
    fn owner_cache(&self) -> std::sync::MutexGuard<'_, actors::OwnerCache> {
        self.owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connection pool, for queries that need no transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let gate = match &self.write_gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (waits for them to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the SQLite file's folder exists and the file is created on first use.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Url(
            "an SQLite URL needs a file path, e.g. sqlite://data/fieldsync.sqlite".into(),
        ));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}
