//! HTTP hardening: the connection loop (header-read timeout, connection cap, graceful shutdown), request and
//! body timeouts, load shedding over a global in-flight limit, and the security headers on every response.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::error::ApiError;

/// How long a login code can be used, by default.
pub const LOGIN_CODE_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Limits that keep one client (or many) from holding the server's connections, memory or workers.
#[derive(Debug, Clone)]
pub struct Hardening {
    /// A connection must send a request's headers within this (also while idle between requests).
    pub header_read_timeout: Duration,
    /// A request must be answered within this (then 408 `timeout`).
    pub request_timeout: Duration,
    /// A request body may pause at most this long between chunks.
    pub body_timeout: Duration,
    /// Requests in flight across the server; more get 503 `overloaded` with `Retry-After`.
    pub max_in_flight: usize,
    /// Open connections; more wait to be accepted.
    pub max_connections: usize,
    /// Live channels one device may hold open.
    pub live_per_device: usize,
    /// Largest message a device may send on the live channel.
    pub live_max_message: usize,
    /// The live channel pings this often, closes when nothing came back for two intervals,
    /// and re-checks the device's token (revoked, expired, user disabled) and territories.
    pub live_ping: Duration,
    /// A live channel must authenticate (its first message) within this.
    pub live_auth_timeout: Duration,
    /// Photo bytes one device may store per 24 hours.
    pub photo_quota_bytes_per_day: u64,
    /// How long a login link's one-time code can be used.
    pub login_code_ttl_ms: i64,
}

impl Default for Hardening {
    fn default() -> Self {
        Hardening {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(20),
            max_in_flight: 512,
            max_connections: 4096,
            live_per_device: 4,
            live_max_message: 4096,
            live_ping: Duration::from_secs(30),
            live_auth_timeout: Duration::from_secs(10),
            photo_quota_bytes_per_day: 256 * 1024 * 1024,
            login_code_ttl_ms: LOGIN_CODE_TTL_MS,
        }
    }
}

/// The app's Content-Security-Policy: its own scripts and the wasm core, photos as `blob:`/`data:`
/// images, the live channel over `ws:`/`wss:`, never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; \
    worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The policy of a served photo: never a document that could run anything.
pub const PHOTO_CSP: &str = "default-src 'none'; sandbox";

/// Adds the security headers to every response that has not set its own.
pub fn security_headers(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, CSP),
    ];
    headers.into_iter().fold(router, |r, (name, value)| {
        r.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// Request and body timeouts, then load shedding over a global in-flight limit.
pub fn limits(router: Router, h: &Hardening) -> Router {
    router
        .layer(RequestBodyTimeoutLayer::new(h.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            h.request_timeout,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(h.max_in_flight.max(1))),
        )
}

async fn overloaded(_: tower::BoxError) -> Response {
    ApiError::Overloaded.into_response()
}

/// Serves `app` on `listener` with hyper directly (axum's `serve` cannot set a header-read
/// timeout) until `shutdown` completes, then lets open connections finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    h: &Hardening,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(h.max_connections.max(1)));
    // Every connection task holds a receiver: when none is left, all are done.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(h.header_read_timeout);
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let conn = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    changed = stop.changed() => {
                        conn.as_mut().graceful_shutdown();
                        if changed.is_err() {
                            // The server is gone; the connection finishes on its own.
                            let _ = conn.as_mut().await;
                            break;
                        }
                    }
                }
            }
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
