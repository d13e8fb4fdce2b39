//! `GET /v1/cursor`: a feed cursor at the head of every territory the caller reads, for a replica that holds only the documents it fetched (head office acting on one dealer).

use axum::Json;
use axum::extract::State;
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::Cursor;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::{Always, Authed};
use crate::state::AppState;

/// `GET /v1/cursor`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Now {
    /// The cursor at every readable feed's head now, with the database's epoch
    /// and each position's tag (the sync request's `cursor` format).
    #[schema(example = "@3f9a0c1d2b4e5f60,t-north:42/ab12cd34")]
    cursor: String,
}

/// `GET /v1/cursor` → `{cursor}`: where every feed the caller may read stands now.
/// A replica that fetched its documents whole (`GET /v1/docs/{doc_id}/automerge`,
/// after this) syncs from it, so its sync pulls only what changed since instead
/// of every territory from the start.
#[utoipa::path(
    get,
    path = "/v1/cursor",
    tag = "sync",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cursor at the head of every readable feed", body = Now),
        Authed,
        Always,
    )
)]
pub async fn now(State(state): State<AppState>, caller: Caller) -> Result<Json<Now>, ApiError> {
    let (epoch, heads) = state.store.epoch_and_heads().await?;
    let mut cursor = Cursor::at_epoch(&epoch)
        .map_err(|e| ApiError::Internal(format!("the stored epoch is unusable: {e}")))?;
    for (t, seq) in heads {
        let (Ok(territory), Ok(head)) = (t.parse::<TerritoryId>(), u64::try_from(seq)) else {
            continue;
        };
        if head == 0 || !caller.principal.can_access(&territory) {
            continue;
        }
        let hash = state.store.feed_hash_at(&t, seq).await?;
        cursor.advance_to(&territory, head, hash.as_deref());
    }
    Ok(Json(Now {
        cursor: cursor.to_string(),
    }))
}
