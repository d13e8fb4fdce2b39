//! `AppState` and `Settings`: what every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use fieldsync_core::sync::Limits;

use crate::hardening::Hardening;
use crate::limiter::{GateSettings, Limiter, PushGate};
use crate::live_hub::Live;
use crate::metrics::Metrics;
use crate::store::Store;

/// Tunable limits and options of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body, after decompression.
    pub max_body_bytes: usize,
    /// Most documents in one push.
    pub max_push_docs: usize,
    /// Most changes in one push, all documents together.
    pub max_push_changes: usize,
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
    /// Timeouts, load shedding, live-channel and photo limits, login codes.
    pub hardening: Hardening,
    /// How often a dealer should be visited, in days: `[tier 1, tier 2, …]`, the
    /// last also serving any higher tier (head office's coverage; the phones, which
    /// read it from `/v1/me`, list their dealers due a visit). `serve --visit-every-days`.
    pub visit_every_days: Vec<i64>,
    /// Pushes decided at once, and how the others wait (`limiter::PushGate`).
    pub push_gate: GateSettings,
    /// A fixed "now" (epoch ms) for head office's read model (today, overdue,
    /// ageing, coverage), for tests; `None`: the system clock.
    pub clock: Option<i64>,
}

impl Settings {
    /// The request limits a server states to devices (in every sync response and its 413s).
    pub fn push_limits(&self) -> fieldsync_core::sync::PushLimits {
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        fieldsync_core::sync::PushLimits {
            max_docs: n(self.max_push_docs),
            // A request within this also keeps each document within the core's own bound.
            max_changes: n(self.max_push_changes.min(self.limits.max_changes)),
            max_bytes: n(self.max_body_bytes),
            max_change_bytes: n(self.limits.max_change_bytes),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: 16 * 1024 * 1024,
            max_push_docs: 1_000,
            max_push_changes: 10_000,
            limits: Limits::default(),
            page_changes: 2_000,
            page_bytes: 8 * 1024 * 1024,
            per_device_concurrency: 4,
            web_dir: None,
            hardening: Hardening::default(),
            visit_every_days: vec![14, 30, 60, 90, 90],
            push_gate: GateSettings::default(),
            clock: None,
        }
    }
}

/// Shared by every handler (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub limiter: Limiter,
    pub pushes: PushGate,
    pub live: Live,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// State over `store` with `settings`.
    pub fn new(store: Store, settings: Settings) -> Self {
        AppState {
            store,
            limiter: Limiter::new(settings.per_device_concurrency),
            pushes: PushGate::new(settings.push_gate),
            settings: Arc::new(settings),
            live: Live::new(),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Now, for the read model: the fixed test clock if set, else the system's.
    pub fn now(&self) -> i64 {
        self.settings.clock.unwrap_or_else(crate::store::now_millis)
    }
}
