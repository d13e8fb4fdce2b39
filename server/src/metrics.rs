//! `Metrics`: Prometheus counters and histograms of syncs, changes, bytes and latency, served at `/metrics`.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    pub syncs: Counter,
    pub changes_accepted: Counter,
    pub changes_rejected: Counter,
    pub docs_rejected: Family<Labels, Counter>,
    pub request_bytes: Counter,
    pub response_bytes: Counter,
    pub sync_seconds: Histogram,
    pub http_requests: Family<Labels, Counter>,
    pub http_seconds: Family<Labels, Histogram>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("fieldsync");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            syncs: Counter::default(),
            changes_accepted: Counter::default(),
            changes_rejected: Counter::default(),
            docs_rejected: Family::default(),
            request_bytes: Counter::default(),
            response_bytes: Counter::default(),
            sync_seconds: latency_histogram(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency_histogram),
        };
        registry.register("syncs", "Sync requests handled", m.syncs.clone());
        registry.register(
            "changes_accepted",
            "Changes newly stored from pushes",
            m.changes_accepted.clone(),
        );
        registry.register(
            "changes_rejected",
            "Pushed changes refused (with their document)",
            m.changes_rejected.clone(),
        );
        registry.register(
            "documents_rejected",
            "Pushed documents refused, by reason",
            m.docs_rejected.clone(),
        );
        registry.register(
            "sync_request_bytes",
            "Bytes of sync request bodies (uncompressed)",
            m.request_bytes.clone(),
        );
        registry.register(
            "sync_response_bytes",
            "Bytes of sync response bodies (uncompressed)",
            m.response_bytes.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Time to handle one sync request",
            m.sync_seconds.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            m.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            m.http_seconds.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            ..m
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
