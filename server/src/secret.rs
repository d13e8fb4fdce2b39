//! Login secrets: the PIN or passphrase a user holds so that a login link is of no use to anyone else.
//!
//! Redeeming a login code (`POST /v1/login`) of a user who holds a secret needs it; the first
//! redeemer of a user without one sets it in the same request, so the person who first enrols owns
//! it and head office, which can issue a device and its link, cannot act as that user. Secrets are
//! hashed with Argon2id (a PHC string, salted); the secret itself is never stored or logged.
//!
//! Brute force is bounded twice: a login code is burned after [`CODE_ATTEMPTS`] wrong secrets,
//! and every [`USER_ATTEMPTS`] wrong secrets in a row (over any codes) lock the user's secret for
//! [`lock_ms`] (15 minutes, doubling up to a day), during which it is not even tried. Attempts are
//! counted before the secret is checked, so parallel guesses are bounded too.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Fewest characters of a secret.
pub const MIN_CHARS: usize = 6;
/// Most bytes of a secret (longer ones are refused before any hashing).
pub const MAX_BYTES: usize = 128;
/// Wrong secrets one login code may be given before it is burned.
pub const CODE_ATTEMPTS: i64 = 5;
/// Wrong secrets in a row (over any codes) before the user's secret locks.
pub const USER_ATTEMPTS: i64 = 5;
/// The first lock; each further one doubles, up to [`MAX_LOCK_MS`].
pub const FIRST_LOCK_MS: i64 = 15 * 60 * 1000;
/// The longest lock.
pub const MAX_LOCK_MS: i64 = 24 * 60 * 60 * 1000;

/// Why a secret gave no token, or a new one was not taken. Each has a stable API code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretRefusal {
    #[error("this user has a login PIN: send it as `secret`")]
    Required,
    #[error("this user has no login PIN yet: choose one and send it as `new_secret`")]
    NewRequired,
    #[error("the login PIN is wrong")]
    Wrong,
    #[error("too many wrong PINs: this user's PIN is locked for a while")]
    Locked,
    #[error("too many wrong PINs with this login link: it no longer works; ask for a new one")]
    Burned,
    #[error("a login PIN has at least {MIN_CHARS} characters")]
    TooShort,
    #[error("a login PIN has at most {MAX_BYTES} bytes")]
    TooLong,
}

impl SecretRefusal {
    /// The API's stable code.
    pub fn code(self) -> &'static str {
        match self {
            SecretRefusal::Required => "secret_required",
            SecretRefusal::NewRequired => "new_secret_required",
            SecretRefusal::Wrong => "secret_wrong",
            SecretRefusal::Locked | SecretRefusal::Burned => "secret_locked",
            SecretRefusal::TooShort => "secret_too_short",
            SecretRefusal::TooLong => "secret_too_long",
        }
    }

    /// Whether it is the request's fault (400) rather than a refused login (401).
    pub fn is_bad_request(self) -> bool {
        matches!(self, SecretRefusal::TooShort | SecretRefusal::TooLong)
    }
}

/// Why a secret could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the random number source failed")]
    Random,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Whether `secret` may be chosen as a new secret.
pub fn check_new(secret: &str) -> Result<(), SecretRefusal> {
    if secret.len() > MAX_BYTES {
        Err(SecretRefusal::TooLong)
    } else if secret.chars().count() < MIN_CHARS {
        Err(SecretRefusal::TooShort)
    } else {
        Ok(())
    }
}

/// The Argon2id PHC string of `secret` with a fresh random salt (slow: call off the async threads).
pub fn hash(secret: &str) -> Result<String, SecretError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| SecretError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| SecretError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Whether `secret` matches the stored PHC string (false for a malformed one; slow).
pub fn verify(stored: &str, secret: &str) -> bool {
    if secret.len() > MAX_BYTES {
        return false;
    }
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok()
    })
}

/// How long the user's secret locks after `failures` wrong secrets in a row, if this one locks it.
pub fn lock_ms(failures: i64) -> Option<i64> {
    if failures <= 0 || failures % USER_ATTEMPTS != 0 {
        return None;
    }
    let doublings = u32::try_from(failures / USER_ATTEMPTS - 1)
        .unwrap_or(u32::MAX)
        .min(16);
    Some(
        FIRST_LOCK_MS
            .saturating_mul(1 << doublings)
            .min(MAX_LOCK_MS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_secret_verifies_only_itself_and_never_holds_it() {
        let h = hash("246810").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("246810"));
        assert!(verify(&h, "246810"));
        assert!(!verify(&h, "246811"));
        assert!(!verify("not a hash", "246810"));
        assert_ne!(hash("246810").unwrap(), h, "salted");
    }

    #[test]
    fn new_secrets_have_a_length_and_locks_grow_to_a_day() {
        assert_eq!(check_new("12345"), Err(SecretRefusal::TooShort));
        assert_eq!(check_new("一二三四五六"), Ok(()));
        assert_eq!(check_new(&"x".repeat(129)), Err(SecretRefusal::TooLong));
        assert_eq!(lock_ms(4), None);
        assert_eq!(lock_ms(5), Some(FIRST_LOCK_MS));
        assert_eq!(lock_ms(10), Some(2 * FIRST_LOCK_MS));
        assert_eq!(lock_ms(11), None);
        assert_eq!(lock_ms(500), Some(MAX_LOCK_MS));
    }
}
