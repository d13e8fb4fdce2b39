//! Device tokens (random, stored as SHA-256) and the authenticated `Caller` behind a request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use fieldsync_core::ids::{TerritoryId, UserId};
use fieldsync_core::sync::{Principal, Role};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::UserRow;

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the random number source failed")]
    Random,
}

/// A new device token: `fs_` and 32 random bytes in URL-safe base64 (256 bits).
pub fn new_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| TokenError::Random)?;
    Ok(format!(
        "fs_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What the database stores of a token. A plain SHA-256 is appropriate here
/// (unlike for passwords): tokens carry 256 bits of randomness, so they cannot
/// be guessed or brute-forced from the hash, and a fast hash keeps every
/// request's lookup cheap. The only low-entropy tokens are the documented demo ones.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated device and user behind a request, with what they may do.
#[derive(Debug)]
pub struct Caller {
    pub device: String,
    pub user: UserRow,
    pub principal: Principal,
    /// Held for the request's lifetime: bounds one device's concurrent requests.
    _permit: OwnedSemaphorePermit,
}

impl Caller {
    /// Whether the caller may read and write `territory`.
    pub fn can_access(&self, territory: &str) -> bool {
        territory
            .parse::<TerritoryId>()
            .is_ok_and(|t| self.principal.can_access(&t))
    }

    /// Whether the caller sees every territory.
    pub fn sees_all(&self) -> bool {
        self.principal.role.sees_all()
    }

    /// The territories the caller may read, when limited (None: all).
    pub fn limited_territories(&self) -> Option<Vec<String>> {
        (!self.sees_all()).then(|| {
            self.principal
                .territories
                .iter()
                .map(|t| t.to_string())
                .collect()
        })
    }
}

/// Resolves a token to its caller, or `Unauthorized`.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if token.is_empty() || token.len() > 200 {
        return Err(ApiError::Unauthorized);
    }
    let (device, user_id) = state
        .store
        .device_by_token_hash(&hash_token(token))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let permit = state
        .limiter
        .try_acquire(&device)
        .ok_or(ApiError::TooManyRequests)?;
    let user = state
        .store
        .user(&user_id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let principal = principal_of(state, &user).await?;
    Ok(Caller {
        device,
        user,
        principal,
        _permit: permit,
    })
}

/// Builds the core's principal for a stored user (their current territories).
pub async fn principal_of(state: &AppState, user: &UserRow) -> Result<Principal, ApiError> {
    let role: Role = user.role.parse().map_err(|_| {
        ApiError::Internal(format!("user {} has unknown role {}", user.id, user.role))
    })?;
    let id: UserId = user
        .id
        .parse()
        .map_err(|_| ApiError::Internal(format!("user id {} is invalid", user.id)))?;
    let territories = state
        .store
        .user_territories(&user.id)
        .await?
        .iter()
        .filter_map(|t| t.parse::<TerritoryId>().ok())
        .collect();
    Ok(Principal {
        user: id,
        role,
        territories,
    })
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        authenticate(state, token).await
    }
}
