//! `ApiError`: every failed HTTP request answers `{code, message}` with a 4xx/5xx status; internals are logged, never sent.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::StoreError;

/// Why a request failed, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("a valid device token is required (Authorization: Bearer …)")]
    Unauthorized,
    #[error("this device's token has expired; ask head office for a new login link")]
    TokenExpired,
    #[error("this user is disabled")]
    UserDisabled,
    #[error("{1}")]
    LoginCode(&'static str, String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("only JPEG, PNG and WebP photos are accepted")]
    NotAnImage,
    #[error("this device already has requests in progress; retry shortly")]
    TooManyRequests,
    #[error("this device has too many live channels open")]
    TooManyChannels,
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("the server is busy; retry shortly")]
    Overloaded,
    #[error("internal error")]
    Internal(String),
    #[error("the database is busy; retry shortly")]
    Unavailable,
}

/// Seconds a client is told to wait (`Retry-After`) when the server is overloaded or busy.
pub const RETRY_AFTER_SECS: &str = "2";

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable and machine-readable (`malformed`, `unauthorized`, `forbidden`,
    /// `not_found`, `too_large`, `overloaded`, …); the app translates it.
    pub code: &'static str,
    /// For people; may change.
    pub message: String,
}

impl ApiError {
    /// A 400 with a code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest(code, message.into())
    }

    /// The HTTP status and machine-readable code.
    pub fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, code),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::TokenExpired => (StatusCode::UNAUTHORIZED, "token_expired"),
            ApiError::UserDisabled => (StatusCode::UNAUTHORIZED, "user_disabled"),
            ApiError::LoginCode(code, _) => (StatusCode::UNAUTHORIZED, code),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::NotAnImage => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image"),
            ApiError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::TooManyChannels => (StatusCode::TOO_MANY_REQUESTS, "too_many_live_channels"),
            ApiError::QuotaExceeded(_) => (StatusCode::TOO_MANY_REQUESTS, "photo_quota_exceeded"),
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(what) => ApiError::Conflict(format!("{what} already exists")),
            StoreError::Db(sqlx::Error::PoolTimedOut) => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::bad("malformed", e.body_text())
        }
    }
}

/// A JSON request body, or the `{code, message}` of why it is not one
/// (`too_large` or `malformed`).
pub fn json_body<T>(
    b: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    b.map(|axum::Json(t)| t).map_err(ApiError::from)
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge("the request body is larger than the server accepts".into())
        } else if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            ApiError::UnsupportedMediaType(e.body_text())
        } else {
            ApiError::bad("bad_body", "the request body could not be read")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_code();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        let mut resp = (status, Json(ErrorBody { code, message })).into_response();
        if matches!(self, ApiError::Overloaded | ApiError::Unavailable) {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

/// Gives an error response that has no body (made by a layer or the router
/// itself: 405 method not allowed, 415 unknown `Content-Encoding`, …) the same
/// `{code, message}` JSON body as every other error. Other responses pass through.
pub async fn json_error_body(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error())
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not accept that method".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "unsupported Content-Encoding (send identity or gzip)".to_owned()
        }
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_owned(),
        s => s.canonical_reason().unwrap_or("request failed").to_owned(),
    };
    let body = serde_json::to_vec(&ErrorBody { code, message }).unwrap_or_default();
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
