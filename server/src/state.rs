//! `AppState` and `Settings`: what every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use fieldsync_core::sync::Limits;

use crate::limiter::Limiter;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::store::Store;

/// Tunable limits and options of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body, after decompression.
    pub max_body_bytes: usize,
    /// Most documents in one push.
    pub max_push_docs: usize,
    /// Per-document limits handed to the core's ingest.
    pub limits: Limits,
    /// Most changes in one sync response (then `more: true`).
    pub page_changes: usize,
    /// Soft limit of change bytes in one sync response.
    pub page_bytes: usize,
    /// Requests one device may have in flight.
    pub per_device_concurrency: usize,
    /// The built web app to serve at `/`, if any.
    pub web_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: 16 * 1024 * 1024,
            max_push_docs: 5_000,
            limits: Limits::default(),
            page_changes: 2_000,
            page_bytes: 8 * 1024 * 1024,
            per_device_concurrency: 4,
            web_dir: None,
        }
    }
}

/// Shared by every handler (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub limiter: Limiter,
    pub live: Live,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// State over `store` with `settings`.
    pub fn new(store: Store, settings: Settings) -> Self {
        AppState {
            store,
            limiter: Limiter::new(settings.per_device_concurrency),
            settings: Arc::new(settings),
            live: Live::new(),
            metrics: Arc::new(Metrics::new()),
        }
    }
}
