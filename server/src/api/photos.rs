//! Visit photos by content hash: `PUT /v1/photos/{sha256}` uploads, `GET /v1/photos/{sha256}` downloads.
//!
//! A visit document names its photos by the SHA-256 of their bytes; the device
//! uploads the bytes after syncing. A photo may be uploaded and read only by a
//! caller who can access a territory whose committed document names it (else
//! 404, whether or not it exists: knowing a hash is not enough, and losing access
//! to the territory loses access to its photos). Only JPEG, PNG and WebP are
//! accepted, recognised by their bytes; each device may store a quota of bytes a day.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use fieldsync_core::model::ContentHash;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::hardening::PHOTO_CSP;
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{NewPhoto, PhotoPut};

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

/// The media type of an image the app accepts, recognised by its first bytes.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

/// Whether the caller can access a territory whose committed document names photo `hash`.
async fn may_see(state: &AppState, caller: &Caller, hash: &str) -> Result<bool, ApiError> {
    let territories = state.store.photo_territories(hash).await?;
    Ok(territories.iter().any(|t| caller.can_access(t)))
}

fn not_found(hash: &str) -> ApiError {
    ApiError::NotFound(format!("no photo {hash} in a visit you can read"))
}

/// `PUT /v1/photos/{sha256}`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoStored {
    #[schema(value_type = ContentHash)]
    hash: String,
    bytes: usize,
    /// False when it was already stored (the upload is idempotent).
    stored: bool,
}

/// `PUT /v1/photos/{sha256}`: stores the body (a JPEG, PNG or WebP image) if its SHA-256 is the
/// name and a visit the caller can read names it.
#[utoipa::path(
    put,
    path = "/v1/photos/{hash}",
    tag = "sync",
    security(("bearer" = [])),
    params(("hash" = ContentHash, Path, description = "The photo's SHA-256, as a visit names it")),
    request_body(content(
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"),
        (Vec<u8> = "image/webp"),
    ), description = "The image, at most 8 MiB; its bytes, not the declared type, say what it is"),
    responses(
        (status = 200, description = "Stored, or already stored", body = PhotoStored),
        (status = 400, description = "The name is not a SHA-256 in hex, or not the bytes' (`bad_photo`)", body = ErrorBody),
        (status = 404, description = "No visit the caller can read names it (`not_found`)", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or WebP (`not_an_image`), or an unknown Content-Encoding (`unsupported_media_type`)", body = ErrorBody),
        (status = 429, description = "This device has requests in flight (`too_many_requests`) or used its daily photo quota (`photo_quota_exceeded`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn put_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    body: Bytes,
) -> Result<Json<PhotoStored>, ApiError> {
    let hash = checked_hash(&hash)?;
    if body.len() > MAX_PHOTO_BYTES {
        return Err(ApiError::TooLarge(format!(
            "a photo may be at most {MAX_PHOTO_BYTES} bytes"
        )));
    }
    // The declared type is not trusted: the bytes say what the photo is.
    let mime = sniff_image(&body).ok_or(ApiError::NotAnImage)?;
    let actual = hex::encode(Sha256::digest(&body));
    if actual != hash {
        return Err(ApiError::bad(
            "bad_photo",
            format!("the bytes' SHA-256 is {actual}, not {hash}"),
        ));
    }
    if !may_see(&state, &caller, hash).await? {
        return Err(not_found(hash));
    }
    let put = state
        .store
        .put_photo(NewPhoto {
            hash,
            mime,
            bytes: &body,
            user: &caller.user.id,
            device: &caller.device,
            quota_per_day: state.settings.hardening.photo_quota_bytes_per_day,
        })
        .await?;
    let stored = match put {
        PhotoPut::Stored => true,
        PhotoPut::AlreadyStored => false,
        PhotoPut::OverQuota => {
            return Err(ApiError::QuotaExceeded(format!(
                "this device may upload {} bytes of photos a day; retry tomorrow",
                state.settings.hardening.photo_quota_bytes_per_day
            )));
        }
    };
    Ok(Json(PhotoStored {
        hash: hash.to_owned(),
        bytes: body.len(),
        stored,
    }))
}

/// `GET /v1/photos/{sha256}`: the photo's bytes with their media type.
#[utoipa::path(
    get,
    path = "/v1/photos/{hash}",
    tag = "sync",
    security(("bearer" = [])),
    params(("hash" = ContentHash, Path, description = "The photo's SHA-256, as a visit names it")),
    responses(
        (status = 200, description = "The image (served with `nosniff` and a restrictive CSP)", content(
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"),
            (Vec<u8> = "application/octet-stream"),
        )),
        (status = 400, description = "The name is not a SHA-256 in hex (`bad_photo`)", body = ErrorBody),
        (status = 404, description = "Not stored, or no visit the caller can read names it (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn get_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let hash = checked_hash(&hash)?;
    if !may_see(&state, &caller, hash).await? {
        return Err(not_found(hash));
    }
    let (_declared, bytes) = state
        .store
        .photo(hash)
        .await?
        .ok_or_else(|| not_found(hash))?;
    // Stored before types were checked: serve anything else as opaque bytes.
    let mime = sniff_image(&bytes).map_or("application/octet-stream", |m| m);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, PHOTO_CSP.to_owned()),
        ],
        bytes,
    )
        .into_response())
}
