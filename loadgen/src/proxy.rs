//! Proxies between devices and a server, on loopback: `CountingProxy` counts the bytes on the wire (TCP, both directions); `FaultProxy` drops, delays and duplicates requests and cuts responses mid-body, from a seed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::rng::Rng;

/// Bytes that crossed a proxy, each way, headers included.
#[derive(Debug, Default)]
pub struct Counters {
    /// Client → server.
    pub up: AtomicU64,
    /// Server → client.
    pub down: AtomicU64,
}

impl Counters {
    /// (up, down) now.
    pub fn read(&self) -> (u64, u64) {
        (
            self.up.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed),
        )
    }
}

/// A TCP proxy on 127.0.0.1:0 that counts every byte each way.
#[derive(Debug, Clone)]
pub struct CountingProxy {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl CountingProxy {
    pub async fn start(upstream: SocketAddr) -> Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind proxy")?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let up = pump(cr, sw, c.clone(), true);
                    let down = pump(sr, cw, c, false);
                    let _ = tokio::join!(up, down);
                });
            }
        });
        Ok(CountingProxy {
            addr,
            counters,
            task: Arc::new(task),
        })
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counters: Arc<Counters>,
    up: bool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let counter = if up { &counters.up } else { &counters.down };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// How often each fault happens, per request (0..=1), and how long a delay lasts at most.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// The request never reaches the server; the client's connection breaks.
    pub drop: f64,
    /// The request waits up to `max_delay` before it is forwarded.
    pub delay: f64,
    /// The request reaches the server twice at once; the client gets one answer.
    pub duplicate: f64,
    /// The server's answer is cut halfway through its body (the server did the work).
    pub cut: f64,
    pub max_delay: Duration,
}

impl Faults {
    pub const NONE: Faults = Faults {
        drop: 0.0,
        delay: 0.0,
        duplicate: 0.0,
        cut: 0.0,
        max_delay: Duration::ZERO,
    };
}

/// What a fault proxy did, for the test's report.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub dropped: AtomicU64,
    pub delayed: AtomicU64,
    pub duplicated: AtomicU64,
    pub cut: AtomicU64,
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    faults: Mutex<Faults>,
    rng: Mutex<Rng>,
    http: reqwest::Client,
    counts: FaultCounts,
}

/// An HTTP proxy on 127.0.0.1:0 in front of a server whose address may change
/// (a restarted process), injecting `Faults` chosen by a seeded generator.
#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr, faults: Faults, seed: u64) -> Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind proxy")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            faults: Mutex::new(faults),
            rng: Mutex::new(Rng::new(seed)),
            http: reqwest::Client::builder()
                .no_gzip()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            counts: FaultCounts::default(),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FaultProxy {
            addr,
            shared,
            task: Arc::new(task),
        })
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points the proxy at another server address (after a restart).
    pub fn set_upstream(&self, addr: SocketAddr) {
        *lock(&self.shared.upstream) = addr;
    }

    /// Changes the faults from now on (e.g. none, for the final convergence).
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.shared.faults) = faults;
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.shared.counts
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What to do to one request, decided up front from the seeded generator.
struct Plan {
    drop: bool,
    delay: Option<Duration>,
    duplicate: bool,
    cut: bool,
}

fn plan(shared: &Shared) -> Plan {
    let f = *lock(&shared.faults);
    let mut rng = lock(&shared.rng);
    let drop = rng.chance(f.drop);
    let delay = rng
        .chance(f.delay)
        .then(|| Duration::from_millis(rng.range(1, f.max_delay.as_millis() as u64 + 1)));
    let duplicate = rng.chance(f.duplicate);
    let cut = rng.chance(f.cut);
    Plan {
        drop,
        delay,
        duplicate,
        cut,
    }
}

/// A body that breaks the connection after `first` (or at once when empty).
fn broken_body(first: Bytes) -> Body {
    let broken = std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "cut by the fault proxy",
    );
    let chunks: Vec<Result<Bytes, std::io::Error>> = if first.is_empty() {
        vec![Err(broken)]
    } else {
        vec![Ok(first), Err(broken)]
    };
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn forward(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    shared.counts.requests.fetch_add(1, Ordering::Relaxed);
    let p = plan(&shared);
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if p.drop {
        shared.counts.dropped.fetch_add(1, Ordering::Relaxed);
        // Nothing reaches the server; the client sees its connection break.
        return (StatusCode::OK, broken_body(Bytes::new())).into_response();
    }
    if let Some(d) = p.delay {
        shared.counts.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(d).await;
    }
    let upstream = *lock(&shared.upstream);
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let url = format!("http://{upstream}{path}");
    let send = || {
        let mut headers = HeaderMap::new();
        for (k, v) in &parts.headers {
            if k != axum::http::header::HOST && k != axum::http::header::CONTENT_LENGTH {
                headers.append(k.clone(), v.clone());
            }
        }
        shared
            .http
            .request(parts.method.clone(), &url)
            .headers(headers)
            .body(body.clone())
            .send()
    };
    let result = if p.duplicate {
        shared.counts.duplicated.fetch_add(1, Ordering::Relaxed);
        let (a, b) = tokio::join!(send(), send());
        match (a, b) {
            (Ok(a), Ok(b)) => {
                // Both reached the server; the client gets one of the answers.
                let _ = b.bytes().await;
                Ok(a)
            }
            (Ok(r), Err(_)) | (Err(_), Ok(r)) => Ok(r),
            (Err(e), Err(_)) => Err(e),
        }
    } else {
        send().await
    };
    let upstream_resp = match result {
        Ok(r) => r,
        // The server is down (killed, restarting): the client's connection breaks.
        Err(_) => return (StatusCode::OK, broken_body(Bytes::new())).into_response(),
    };
    let status = upstream_resp.status();
    let headers = upstream_resp.headers().clone();
    let Ok(bytes) = upstream_resp.bytes().await else {
        return (StatusCode::OK, broken_body(Bytes::new())).into_response();
    };
    let body = if p.cut && bytes.len() > 1 {
        shared.counts.cut.fetch_add(1, Ordering::Relaxed);
        broken_body(bytes.slice(..bytes.len() / 2))
    } else {
        Body::from(bytes)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (k, v) in &headers {
        if !is_hop_by_hop(k) {
            resp.headers_mut().append(k.clone(), v.clone());
        }
    }
    resp
}

fn is_hop_by_hop(k: &HeaderName) -> bool {
    use axum::http::header;
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
    ]
    .contains(k)
}
