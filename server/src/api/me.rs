//! Who the caller is (`GET /v1/me`) and a document's Automerge export (`GET /v1/docs/{doc_id}/automerge`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldsync_core::doc::DocId;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /v1/me` → `{user, name, role, territories: [{id, name}]}`.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let known = state.store.territories().await?;
    let mut ids: Vec<String> = match caller.limited_territories() {
        Some(mine) => mine,
        None => known.iter().map(|(id, ..)| id.clone()).collect(),
    };
    ids.sort();
    let territories: Vec<Value> = ids
        .iter()
        .map(|id| {
            let name = known
                .iter()
                .find(|(k, ..)| k == id)
                .map_or(id.as_str(), |(_, n, ..)| n.as_str());
            json!({"id": id, "name": name})
        })
        .collect();
    Ok(Json(json!({
        "user": caller.user.id,
        "name": caller.user.name,
        "role": caller.user.role,
        "device": caller.device,
        "territories": territories,
    })))
}

/// `GET /v1/docs/{doc_id}/automerge`: the merged document in Automerge's own format.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(doc_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DocId = doc_id
        .parse()
        .map_err(|e| ApiError::bad("bad_document_id", format!("{e}")))?;
    let doc = state
        .store
        .load_doc(&id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no document {id}")))?;
    if !caller.can_access(&doc.territory) {
        return Err(ApiError::Forbidden(format!(
            "you have no access to territory {}",
            doc.territory
        )));
    }
    let filename = format!("{}.automerge", id.to_string().replace(':', "-"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        doc.snapshot,
    )
        .into_response())
}
