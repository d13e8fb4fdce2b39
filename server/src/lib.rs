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
pub mod error;
pub mod limiter;
pub mod live;
pub mod metrics;
pub mod openapi;
pub mod readmodel;
pub mod seed;
pub mod state;
pub mod store;
pub mod sync;
pub mod web;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::{AppState, Settings};
pub use store::Store;

/// Every API route: (method, path, handler). The OpenAPI document must list
/// exactly these (tested).
pub fn routes() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("GET", "/health", get(api::ops::health)),
        ("GET", "/metrics", get(api::ops::metrics)),
        ("GET", "/api/openapi.json", get(openapi_json)),
        ("POST", "/v1/sync", post(sync::sync_handler)),
        ("GET", "/v1/live", get(live::live)),
        ("GET", "/v1/me", get(api::me::me)),
        ("GET", "/v1/docs/{doc_id}/automerge", get(api::me::export)),
        ("PUT", "/v1/photos/{hash}", put(api::photos::put_photo)),
        ("GET", "/v1/photos/{hash}", get(api::photos::get_photo)),
        ("GET", "/api/territories", get(api::read::territories)),
        ("GET", "/api/dealers", get(api::read::dealers)),
        ("GET", "/api/visits", get(api::read::visits)),
        ("GET", "/api/commitments", get(api::read::commitments)),
        ("GET", "/api/claims", get(api::read::claims)),
        ("GET", "/api/problems", get(api::read::problems)),
        ("GET", "/api/conflicts", get(api::read::conflicts)),
        ("POST", "/api/devices", post(api::admin::create_device)),
        (
            "DELETE",
            "/api/devices/{id}",
            delete(api::admin::revoke_device),
        ),
        ("POST", "/api/users", post(api::admin::create_user)),
    ]
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(openapi::document())
}

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

/// The whole HTTP application over `state`.
pub fn app(state: AppState) -> Router {
    let mut api = Router::new();
    for (_, path, handler) in routes() {
        api = api.route(path, handler);
    }
    let api = api
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    let router = match &state.settings.web_dir {
        Some(dir) => api
            .route("/api/{*rest}", axum::routing::any(no_route))
            .route("/v1/{*rest}", axum::routing::any(no_route))
            .merge(web::static_files(dir)),
        None => api.fallback(no_route),
    };
    router
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new().compress_when(compress_when()))
        .layer(middleware::map_response(error::json_error_body))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
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

/// The request's span: method and path only. The query is left out because
/// `GET /v1/live?token=…` carries a device token there.
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
            live::relay_postgres(url, state.live.clone())
                .await
                .map_err(std::io::Error::other)?,
        ),
        None => None,
    };
    tracing::info!(%addr, "fieldsync server listening");
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(r) = relay {
        r.abort();
    }
    served
}
