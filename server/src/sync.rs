//! `POST /v1/sync` over HTTP: reads and checks the body (size, protocol version, push limits), hands the request to the engine (`engine::sync`), and answers its response or error.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldsync_core::sync::{PROTOCOL_VERSION, PushLimits, SyncRequest, SyncResponse};

use crate::auth::Caller;
use crate::engine::{self, EngineError};
use crate::error::ApiError;
use crate::state::AppState;

/// Longest replica id a request may name (an Automerge actor in hex is 32).
const MAX_REPLICA_ID: usize = 64;

/// The 413 body of a sync request over the limits: `{code, message, limits}`,
/// so the device can split its push to fit.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TooLargeBody {
    code: &'static str,
    message: String,
    limits: PushLimits,
}

fn too_large(state: &AppState, message: String) -> Response {
    let body = TooLargeBody {
        code: "too_large",
        message,
        limits: state.settings.push_limits(),
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// `POST /v1/sync`: one request pushes a device's pending changes and pulls what it lacks.
#[utoipa::path(
    post,
    path = "/v1/sync",
    tag = "sync",
    security(("bearer" = [])),
    request_body(content = SyncRequest, description = "Every pending change, and the feed cursor; may be gzipped (`Content-Encoding: gzip`)"),
    responses(
        (status = 200, description = "What was committed (`accepted`), refused per document (`rejected`, with a code and the schema `rule`), and the feed entries after the cursor; may be gzipped", body = SyncResponse),
        (status = 400, description = "Not a sync request (`malformed`) or another protocol version (`unsupported_protocol`)", body = crate::error::ErrorBody),
        (status = 413, description = "Over the server's limits (`too_large`): the body says which, so the device splits its push", body = TooLargeBody),
        (status = 415, description = "A `Content-Encoding` other than identity or gzip (`unsupported_media_type`)", body = crate::error::ErrorBody),
        crate::openapi::Authed,
        crate::openapi::Always,
    )
)]
pub async fn sync_handler(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Ok(too_large(
                &state,
                format!(
                    "the request body is larger than the server accepts ({} bytes); send fewer changes at a time",
                    state.settings.max_body_bytes
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    state.metrics.request_bytes.inc_by(body.len() as u64);
    let req: SyncRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("malformed", format!("the body is not a sync request: {e}")))?;
    if req.protocol != PROTOCOL_VERSION {
        return Err(ApiError::bad(
            "unsupported_protocol",
            format!(
                "protocol version {} is not supported (this server speaks {PROTOCOL_VERSION})",
                req.protocol
            ),
        ));
    }
    if req.replica.len() > MAX_REPLICA_ID {
        return Err(ApiError::bad(
            "malformed",
            format!("the replica id is longer than {MAX_REPLICA_ID} characters"),
        ));
    }
    if req.push.len() > state.settings.max_push_docs {
        return Ok(too_large(
            &state,
            format!(
                "more than {} documents in one push; send them in several requests",
                state.settings.max_push_docs
            ),
        ));
    }
    let changes: usize = req.push.iter().map(|p| p.changes.len()).sum();
    if changes > state.settings.max_push_changes {
        return Ok(too_large(
            &state,
            format!(
                "more than {} changes in one push; send them in several requests",
                state.settings.max_push_changes
            ),
        ));
    }
    let resp = engine::sync(&state, &caller.principal, &caller.device, &req).await?;
    let json = serde_json::to_vec(&resp).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.metrics.syncs.inc();
    state.metrics.response_bytes.inc_by(json.len() as u64);
    state
        .metrics
        .sync_seconds
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(
        user = %caller.user.id,
        device = %caller.device,
        pushed = req.push.len(),
        accepted = resp.accepted.len(),
        rejected = resp.rejected.len(),
        pulled = resp.changes.len(),
        whole = resp.snapshots.len(),
        more = resp.more,
        ms = started.elapsed().as_millis() as u64,
        "sync"
    );
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The engine's failures as HTTP errors: `{code, message}` with the same code, never the
/// internals (those are logged). Every handler that calls the engine answers through this.
impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(e) => ApiError::from(e),
            EngineError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}
