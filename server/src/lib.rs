//! fieldsync-server: the sync server. Devices push and pull Automerge changes
//! over HTTP (protocol v1, see ARCHITECTURE.md); every decision about document
//! content is the core's (`fieldsync_core::sync::ingest`); this crate adds
//! storage (SQLite or PostgreSQL through sqlx), authentication, the live
//! channel, head office's read model and operations endpoints.
//!
//! Shape: [`app`] builds the router over an [`AppState`]; [`run`] serves it on a
//! listener until a shutdown future completes.

pub mod admin;
pub mod api;
pub mod auth;
pub mod engine;
pub mod error;
pub mod hardening;
pub mod limiter;
pub mod live;
pub mod live_hub;
pub mod metrics;
pub mod openapi;
pub mod readmodel;
pub mod routes;
pub mod secret;
pub mod seed;
pub mod seed_scale;
pub mod state;
pub mod store;
pub mod sync;
pub mod web;
pub mod zone;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::{AppState, Settings};
pub use store::Store;

async fn no_route() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let labels = vec![
        ("method".to_owned(), method),
        ("route".to_owned(), route.clone()),
        ("status".to_owned(), resp.status().as_u16().to_string()),
    ];
    state.metrics.http_requests.get_or_create(&labels).inc();
    state
        .metrics
        .http_seconds
        .get_or_create(&vec![("route".to_owned(), route)])
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// Middleware: requests to a `limiter::GATED_ROUTES` route hold a `PushGate` permit
/// while they run; every other request passes straight through.
async fn bound_pushes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let gated = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| limiter::GATED_ROUTES.contains(&m.as_str()));
    if !gated {
        return next.run(req).await;
    }
    let bytes = req
        .extensions()
        .get::<limiter::DeclaredLength>()
        .and_then(|d| d.0)
        .unwrap_or(state.settings.max_body_bytes as u64);
    // Shed requests are counted by the `track` layer (status 503).
    let permit = match state.pushes.enter(bytes).await {
        Ok(p) => p,
        Err(busy) => return limiter::overloaded(busy),
    };
    let resp = next.run(req).await;
    drop(permit);
    resp
}

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> Router {
    let (api, _) = routes::router().split_for_parts();
    let api = api
        .route_layer(middleware::from_fn_with_state(state.clone(), bound_pushes))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    let router = match &state.settings.web_dir {
        Some(dir) => api
            .route("/api/{*rest}", axum::routing::any(no_route))
            .route("/v1/{*rest}", axum::routing::any(no_route))
            .merge(web::static_files(dir)),
        None => api.fallback(no_route),
    };
    let hardening = state.settings.hardening.clone();
    let router = router
        .layer(RequestDecompressionLayer::new())
        // Outside decompression: the push gate bounds its queue by the bytes as sent.
        .layer(middleware::from_fn(limiter::note_length))
        .layer(CompressionLayer::new().compress_when(compress_when()))
        .with_state(state);
    let router = hardening::limits(router, &hardening)
        .layer(middleware::map_response(error::json_error_body));
    hardening::security_headers(router)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// Smallest response body worth gzipping. Measured on this server's JSON:
/// bodies under ~200 B come out the same size or larger (82 B → 91 B for a
/// no-change sync, 178 B → 160 B for one acknowledged change, before the
/// `content-encoding` header's 24 B); from ~280 B on gzip saves a quarter or more.
pub const COMPRESS_MIN_BYTES: u64 = 256;

fn compress_when() -> impl Predicate {
    SizeAbove::new(COMPRESS_MIN_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        // Automerge exports are already compressed.
        .and(NotForContentType::const_new("application/octet-stream"))
}

/// The request's span: method and path only (a query never carries a token,
/// but an old client's `GET /v1/live?token=…` still might).
fn request_span(req: &Request) -> tracing::Span {
    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let relay = match state.store.pg_url() {
        Some(url) => Some(
            live_hub::relay_postgres(url, state.live.clone())
                .await
                .map_err(std::io::Error::other)?,
        ),
        None => None,
    };
    let store = state.store.clone();
    let backfill = tokio::spawn(async move {
        match store.backfill_photo_refs().await {
            Ok(true) => tracing::info!("photos of earlier documents indexed"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "indexing earlier documents' photos failed; retried at next start")
            }
        }
        match store.backfill_activities().await {
            Ok(true) => tracing::info!("activities of earlier documents listed"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "listing earlier documents' activities failed; retried at next start")
            }
        }
    });
    tracing::info!(%addr, "fieldsync server listening");
    let hardening = state.settings.hardening.clone();
    let served = hardening::serve(listener, app(state), &hardening, shutdown).await;
    if let Some(r) = relay {
        r.abort();
    }
    backfill.abort();
    served
}
