//! Concurrency bounds: `Limiter` (at most N requests in flight per device, so one device cannot starve the others) and `PushGate` (at most N pushes being decided at once on the server; the others wait in a bounded FIFO queue, or get 503 with a Retry-After booking them a later turn).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ErrorBody;

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

/// How the `PushGate` admits pushes (`serve --max-concurrent-pushes`, `--push-queue`,
/// `--push-queue-mib`, `--push-wait-ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateSettings {
    /// Pushes decided at once (each holds a permit for its whole request).
    pub concurrent: usize,
    /// Pushes waiting for a permit, at most.
    pub queue: usize,
    /// Body bytes the waiting pushes declare (`Content-Length`, as sent), at most; a
    /// push that declares none counts as the server's largest body.
    pub queue_bytes: u64,
    /// Longest a push waits in the queue; one whose estimated wait is longer is
    /// answered 503 at once.
    pub wait: Duration,
}

impl Default for GateSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        GateSettings {
            // Each push already decides its documents on every core (`engine::push_docs`);
            // a second one per core decides while the first waits for its commit.
            concurrent: cores.saturating_mul(2),
            queue: 256,
            queue_bytes: 64 * 1024 * 1024,
            wait: Duration::from_secs(1),
        }
    }
}

/// At most `concurrent` pushes decided at once; the others wait their turn in arrival
/// order (FIFO) in a queue bounded by count and by declared bytes, for at most `wait`.
/// A waiting push holds no body in memory: the gate runs before the body is read. A
/// push that would not get its turn within `wait` (the queue is full, or its estimated
/// wait is longer) is answered 503 at once with a `Retry-After` that books it a later
/// turn: shed pushes are told times spaced by how fast pushes complete (the average
/// time a permit is held ÷ `concurrent`), so they come back when there is room, not
/// all together.
#[derive(Debug, Clone)]
pub struct PushGate {
    permits: Arc<Semaphore>,
    settings: GateSettings,
    queue: Arc<Mutex<Queue>>,
}

/// What the gate knows of its queue and of how long pushes take.
#[derive(Debug)]
struct Queue {
    waiting: usize,
    bytes: u64,
    /// Average seconds a push holds its permit (moving average).
    service: f64,
    /// Turns promised to shed pushes run until here.
    booked: Instant,
}

/// Weight of the newest push in the moving average of push times.
const SERVICE_WEIGHT: f64 = 0.2;
/// The average push time assumed before any push has completed.
const FIRST_SERVICE: Duration = Duration::from_millis(500);
/// The longest `Retry-After` the gate gives.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Refused entry: come back after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub retry_after: Duration,
}

/// A push's permit: decides while held; returning it records how long the push took.
#[derive(Debug)]
pub struct PushPermit {
    _permit: OwnedSemaphorePermit,
    since: Instant,
    queue: Arc<Mutex<Queue>>,
}

impl Drop for PushPermit {
    fn drop(&mut self) {
        let took = self.since.elapsed().as_secs_f64();
        let mut q = lock(&self.queue);
        q.service += SERVICE_WEIGHT * (took - q.service);
    }
}

/// A place in the queue, given back however the wait ends (permit, timeout, or the
/// client going away).
struct Place<'a> {
    queue: &'a Mutex<Queue>,
    bytes: u64,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let mut q = lock(self.queue);
        q.waiting = q.waiting.saturating_sub(1);
        q.bytes = q.bytes.saturating_sub(self.bytes);
    }
}

fn lock(m: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    /// Seconds between two pushes completing, at full load.
    fn slot(&self, concurrent: usize) -> f64 {
        (self.service / concurrent.max(1) as f64).max(0.001)
    }

    /// Books the next free turn after everyone queued and everyone told before.
    fn book(&mut self, now: Instant, concurrent: usize) -> Busy {
        let slot = self.slot(concurrent);
        let drained = now + Duration::from_secs_f64(slot * (self.waiting + 1) as f64);
        let turn = drained.max(self.booked).min(now + MAX_RETRY_AFTER);
        self.booked = turn + Duration::from_secs_f64(slot);
        Busy {
            retry_after: turn - now,
        }
    }
}

/// Routes whose requests pass through the `PushGate`.
pub const GATED_ROUTES: &[&str] = &["/v1/sync"];

impl PushGate {
    /// A gate admitting as `settings` says.
    pub fn new(settings: GateSettings) -> Self {
        let concurrent = settings.concurrent.max(1);
        PushGate {
            permits: Arc::new(Semaphore::new(concurrent)),
            settings: GateSettings {
                concurrent,
                ..settings
            },
            queue: Arc::new(Mutex::new(Queue {
                waiting: 0,
                bytes: 0,
                service: FIRST_SERVICE.as_secs_f64(),
                booked: Instant::now(),
            })),
        }
    }

    /// A permit for a push declaring `bytes` of body: at once, after a wait in the
    /// queue, or `Busy` with the time to come back.
    pub async fn enter(&self, bytes: u64) -> Result<PushPermit, Busy> {
        let permit = |p| PushPermit {
            _permit: p,
            since: Instant::now(),
            queue: self.queue.clone(),
        };
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(permit(p));
        }
        let place = {
            let mut q = lock(&self.queue);
            let s = &self.settings;
            let wait = q.slot(s.concurrent) * (q.waiting + 1) as f64;
            if q.waiting >= s.queue
                || q.bytes.saturating_add(bytes) > s.queue_bytes
                || wait > s.wait.as_secs_f64()
            {
                return Err(q.book(Instant::now(), s.concurrent));
            }
            q.waiting += 1;
            q.bytes += bytes;
            Place {
                queue: &self.queue,
                bytes,
            }
        };
        let got =
            tokio::time::timeout(self.settings.wait, self.permits.clone().acquire_owned()).await;
        drop(place);
        match got {
            Ok(Ok(p)) => Ok(permit(p)),
            // Timed out (or the semaphore closed, which it never is).
            _ => Err(lock(&self.queue).book(Instant::now(), self.settings.concurrent)),
        }
    }

    /// Permits free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Pushes waiting for a permit right now.
    pub fn waiting(&self) -> usize {
        lock(&self.queue).waiting
    }
}

/// The body length a request declared as sent (its `Content-Length` before the body is
/// decompressed), noted by `note_length` outside the decompression layer.
#[derive(Debug, Clone, Copy)]
pub struct DeclaredLength(pub Option<u64>);

/// Middleware (outside decompression): notes the request's `DeclaredLength`.
pub async fn note_length(mut req: Request, next: Next) -> Response {
    let n = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok());
    req.extensions_mut().insert(DeclaredLength(n));
    next.run(req).await
}

/// 503 `{code: "overloaded"}` with `Retry-After`: the booked turn, in whole seconds
/// (at least 1; a client adds up to a second of its own so that those told the same
/// second do not come back in step).
pub fn overloaded(busy: Busy) -> Response {
    let body = ErrorBody {
        code: "overloaded",
        message: "the server is busy deciding other pushes; retry after the time it gives"
            .to_owned(),
    };
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(busy.retry_after)),
    );
    resp
}

/// `Retry-After` seconds for a wait: rounded down, at least 1 (the client's own
/// 0–1 s on top makes the average right).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(concurrent: usize, queue: usize, queue_bytes: u64, wait_ms: u64) -> PushGate {
        PushGate::new(GateSettings {
            concurrent,
            queue,
            queue_bytes,
            wait: Duration::from_millis(wait_ms),
        })
    }

    #[tokio::test]
    async fn waiting_pushes_get_their_turn_in_arrival_order() {
        let g = gate(1, 8, 1 << 20, 60_000);
        let first = g.enter(10).await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..4 {
            let (g2, order) = (g.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let p = g2.enter(10).await.unwrap();
                order.lock().unwrap().push(i);
                drop(p);
            }));
            // Each is queued before the next arrives.
            let deadline = Instant::now() + Duration::from_secs(10);
            while g.waiting() < i + 1 {
                assert!(Instant::now() < deadline, "push {i} never queued");
                tokio::task::yield_now().await;
            }
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
        assert_eq!((g.available(), g.waiting()), (1, 0));
    }

    #[tokio::test]
    async fn a_full_queue_sheds_at_once_and_books_later_turns_for_later_pushes() {
        let g = gate(1, 2, 1 << 20, 60_000);
        let held = g.enter(10).await.unwrap();
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let g = g.clone();
                tokio::spawn(async move { g.enter(10).await.is_ok() })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while g.waiting() < 2 {
            assert!(Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        // Shed without waiting, each told a later turn than the one before.
        let a = g.enter(10).await.unwrap_err();
        let b = g.enter(10).await.unwrap_err();
        assert!(a.retry_after > Duration::ZERO);
        assert!(b.retry_after > a.retry_after, "{a:?} then {b:?}");
        assert!(b.retry_after <= MAX_RETRY_AFTER);
        drop(held);
        for q in queued {
            assert!(q.await.unwrap(), "a queued push got its turn");
        }
    }

    #[tokio::test]
    async fn the_queue_is_bounded_by_the_bytes_it_would_hold() {
        let g = gate(1, 100, 1_000, 60_000);
        let held = g.enter(5_000).await.unwrap();
        let g2 = g.clone();
        let queued = tokio::spawn(async move { g2.enter(800).await.is_ok() });
        let deadline = Instant::now() + Duration::from_secs(10);
        while g.waiting() < 1 {
            assert!(Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        assert!(g.enter(300).await.is_err(), "800 + 300 bytes exceed 1,000");
        drop(held);
        assert!(queued.await.unwrap());
        assert_eq!(g.waiting(), 0);
    }

    #[tokio::test]
    async fn a_push_waits_at_most_the_bound_then_is_told_when_to_come_back() {
        let g = gate(1, 8, 1 << 20, 20);
        let held = g.enter(10).await.unwrap();
        let busy = g.enter(10).await.unwrap_err();
        assert!(busy.retry_after > Duration::ZERO);
        assert_eq!(g.waiting(), 0, "its place was given back");
        drop(held);
        assert!(g.enter(10).await.is_ok());
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2_900)), 2);
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
