//! Operations endpoints: a cheap health check (`GET /health`) and Prometheus metrics (`GET /metrics`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::Always;
use crate::state::AppState;
use crate::store::Backend;

/// The content type of `GET /metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /health`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// `GET /health`: 200 while the process serves requests. Cheap by design: no database round
/// trip and no authentication, so probes and load balancers cannot make it a load on the database.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process serves requests", body = Health), Always)
)]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.store.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    (
        StatusCode::OK,
        Json(Health {
            status: "ok",
            database,
        }),
    )
}

/// `GET /metrics`: Prometheus metrics in the OpenMetrics text format (syncs, changes
/// accepted and rejected, bytes, latency per route).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Always,
    )
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        state.metrics.render(),
    )
}
