//! Concurrency bounds: `Limiter` (at most N requests in flight per device, so one device cannot starve the others) and `PushGate` (at most N pushes being decided at once on the server; excess waits briefly, then gets 503 with Retry-After).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ErrorBody;
use crate::state::AppState;

/// Per-device concurrency limit; a request over the limit is refused (429), not queued.
#[derive(Debug, Clone)]
pub struct Limiter {
    per_device: usize,
    devices: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

impl Limiter {
    /// A limiter allowing `per_device` concurrent requests per device.
    pub fn new(per_device: usize) -> Self {
        Limiter {
            per_device: per_device.max(1),
            devices: Arc::default(),
        }
    }

    /// A permit for one request of `device`, or None if it has too many in flight.
    pub fn try_acquire(&self, device: &str) -> Option<OwnedSemaphorePermit> {
        let sem = {
            let mut map = self.devices.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 10_000 {
                // Forget idle devices so the map cannot grow without bound.
                map.retain(|_, s| s.available_permits() < self.per_device);
            }
            map.entry(device.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_device)))
                .clone()
        };
        sem.try_acquire_owned().ok()
    }
}

/// At most `max` pushes decided at once (each holds a permit for its whole
/// request); a request over the bound waits up to `wait` for a permit, then is
/// shed with 503 and `Retry-After`, so a burst costs the server bounded CPU and
/// memory instead of queueing without end.
#[derive(Debug, Clone)]
pub struct PushGate {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// Routes whose requests pass through the `PushGate`.
pub const GATED_ROUTES: &[&str] = &["/v1/sync"];

/// Seconds a shed client is told to wait before retrying.
pub const RETRY_AFTER_SECONDS: u64 = 1;

impl PushGate {
    /// A gate of `max` concurrent pushes, each later one waiting up to `wait`.
    pub fn new(max: usize, wait: Duration) -> Self {
        PushGate {
            permits: Arc::new(Semaphore::new(max.max(1))),
            wait,
        }
    }

    /// A permit, or None if none became free within the wait.
    pub async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        match self.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
                .await
                .ok()?
                .ok(),
        }
    }

    /// Permits free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// Middleware: requests to a `GATED_ROUTES` route hold a `PushGate` permit
/// while they run; every other request passes straight through.
pub async fn bound_pushes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let gated = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| GATED_ROUTES.contains(&m.as_str()));
    if !gated {
        return next.run(req).await;
    }
    // Shed requests are counted by the `track` layer (status 503).
    let Some(permit) = state.pushes.enter().await else {
        return overloaded();
    };
    let resp = next.run(req).await;
    drop(permit);
    resp
}

/// 503 `{code: "overloaded"}` with `Retry-After`.
fn overloaded() -> Response {
    let body = ErrorBody {
        code: "overloaded",
        message: "the server is busy deciding other pushes; retry shortly".to_owned(),
    };
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_admits_up_to_its_bound_then_sheds_after_the_wait() {
        let g = PushGate::new(2, Duration::from_millis(10));
        let a = g.enter().await;
        let b = g.enter().await;
        assert!(a.is_some() && b.is_some());
        assert!(g.enter().await.is_none());
        drop(a);
        assert!(g.enter().await.is_some());
    }

    #[test]
    fn a_busy_device_is_refused_while_others_proceed() {
        let l = Limiter::new(2);
        let a1 = l.try_acquire("a");
        let a2 = l.try_acquire("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(l.try_acquire("a").is_none());
        assert!(l.try_acquire("b").is_some());
        drop(a1);
        assert!(l.try_acquire("a").is_some());
    }
}
