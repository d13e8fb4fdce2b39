//! Device tokens (random, stored as SHA-256; they may expire, and stop working when their user is disabled),
//! one-time login codes that carry a token sealed until first use, and the authenticated `Caller` behind a request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use fieldsync_core::ids::{TerritoryId, UserId};
use fieldsync_core::sync::{Principal, Role};
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{TokenSession, UserRow, now_millis};

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

/// A new one-time login code: `lc_` and 32 random bytes in URL-safe base64.
pub fn new_login_code() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| TokenError::Random)?;
    Ok(format!(
        "lc_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The key stream a login code seals a token with: SHA-256 of a domain tag, the
/// code and a block counter. The code has 256 random bits and seals one token
/// once, so this is a one-time pad keyed by a PRF; the database holds only the
/// sealed token and `hash_token(code)` (a different input), neither of which
/// gives the token without the code.
fn keystream(code: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block: u32 = 0;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(b"fieldsync login code seal\0");
        h.update(code.as_bytes());
        h.update(block.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        block += 1;
    }
    out.truncate(len);
    out
}

/// A token sealed with a login code (hex), to be stored until the code is used.
pub fn seal_token(token: &str, code: &str) -> String {
    let key = keystream(code, token.len());
    hex::encode(
        token
            .bytes()
            .zip(key)
            .map(|(t, k)| t ^ k)
            .collect::<Vec<u8>>(),
    )
}

/// The token `seal_token` sealed with `code`, if `sealed` is well-formed.
pub fn unseal_token(sealed: &str, code: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    let key = keystream(code, bytes.len());
    String::from_utf8(bytes.iter().zip(key).map(|(b, k)| b ^ k).collect()).ok()
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

/// Why a token's session no longer admits requests (a 401 with this code), if it does not.
pub fn refusal(session: &TokenSession, now: i64) -> Option<ApiError> {
    if session.revoked {
        Some(ApiError::Unauthorized)
    } else if session.user_disabled {
        Some(ApiError::UserDisabled)
    } else if session.expires_at.is_some_and(|at| at <= now) {
        Some(ApiError::TokenExpired)
    } else {
        None
    }
}

/// Resolves a token to its caller, or a 401 (`unauthorized`, `token_expired`, `user_disabled`).
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if token.is_empty() || token.len() > 200 {
        return Err(ApiError::Unauthorized);
    }
    // The session, its user and the territories they read, in one query.
    let (session, names) = state
        .store
        .token_caller(&hash_token(token), state.now())
        .await?
        .ok_or(ApiError::Unauthorized)?;
    if let Some(e) = refusal(&session, now_millis()) {
        return Err(e);
    }
    // The session's query read the user too: not disabled, as `refusal` checked.
    let user = session.user_row();
    let device = session.device;
    let permit = state
        .limiter
        .try_acquire(&device)
        .ok_or(ApiError::TooManyRequests)?;
    let principal = principal_named(&user, &names)?;
    Ok(Caller {
        device,
        user,
        principal,
        _permit: permit,
    })
}

/// Builds the core's principal for a stored user: their assigned territories and, during a
/// handover's read period, the territories they hand over.
pub async fn principal_of(state: &AppState, user: &UserRow) -> Result<Principal, ApiError> {
    // Assigned territories, and those the user hands over and still reads: until the
    // handover is completed or its deadline passes (then the next sync revokes them).
    let names = state
        .store
        .readable_territories(&user.id, state.now())
        .await?;
    principal_named(user, &names)
}

/// The core's principal for a stored user who reads the territories `names`.
fn principal_named(user: &UserRow, names: &[String]) -> Result<Principal, ApiError> {
    let role: Role = user.role.parse().map_err(|_| {
        ApiError::Internal(format!("user {} has unknown role {}", user.id, user.role))
    })?;
    let id: UserId = user
        .id
        .parse()
        .map_err(|_| ApiError::Internal(format!("user id {} is invalid", user.id)))?;
    let territories = names
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
    bearer_of(&parts.headers)
}

/// The bearer token of a request's headers, if any.
pub fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    // The scheme is case-insensitive (RFC 7235).
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        authenticate(state, token).await
    }
}
