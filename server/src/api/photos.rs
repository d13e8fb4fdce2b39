//! Visit photos by content hash: `PUT /v1/photos/{sha256}` uploads, `GET /v1/photos/{sha256}` downloads.
//!
//! A visit document names its photos by the SHA-256 of their bytes; the device
//! uploads the bytes after syncing. The hash (256 bits, only found in documents
//! the caller can read) is the capability to fetch a photo, so any signed-in
//! device may ask for one it knows.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Largest photo accepted (the app sends compressed JPEGs of a few hundred KB).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

fn checked_hash(hash: &str) -> Result<&str, ApiError> {
    if hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(hash)
    } else {
        Err(ApiError::bad(
            "bad_photo",
            "a photo is named by the 64 lowercase hex characters of its SHA-256",
        ))
    }
}

/// `PUT /v1/photos/{sha256}`: stores the body (an image) if its SHA-256 is the name.
pub async fn put_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let hash = checked_hash(&hash)?;
    if body.len() > MAX_PHOTO_BYTES {
        return Err(ApiError::TooLarge(format!(
            "a photo may be at most {MAX_PHOTO_BYTES} bytes"
        )));
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !mime.starts_with("image/") || mime.len() > 100 {
        return Err(ApiError::UnsupportedMediaType(
            "a photo must be sent as image/*".into(),
        ));
    }
    let actual = hex::encode(Sha256::digest(&body));
    if actual != hash {
        return Err(ApiError::bad(
            "bad_photo",
            format!("the bytes' SHA-256 is {actual}, not {hash}"),
        ));
    }
    let stored = state
        .store
        .put_photo(hash, mime, &body, &caller.user.id)
        .await?;
    Ok(Json(
        json!({"hash": hash, "bytes": body.len(), "stored": stored}),
    ))
}

/// `GET /v1/photos/{sha256}`: the photo's bytes with their media type.
pub async fn get_photo(
    State(state): State<AppState>,
    _caller: Caller,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = checked_hash(&hash)?;
    let (mime, bytes) = state
        .store
        .photo(hash)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no photo {hash}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}
