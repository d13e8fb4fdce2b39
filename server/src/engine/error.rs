//! `EngineError`: why the engine could not serve a request at all (the server's fault, nothing acknowledged); a refused document is a `Rejection` in the response, not an error.

use crate::store::StoreError;

/// The server failed; the device keeps its changes and sends them again.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database failed (or is busy: `code` says `unavailable`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data or the server's own state is not as the engine expects.
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    /// The stable, machine-readable code: `unavailable` (the database is busy, retry
    /// shortly), `conflict` (something to create already exists) or `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Store(StoreError::Db(sqlx::Error::PoolTimedOut)) => "unavailable",
            EngineError::Store(StoreError::Duplicate(_)) => "conflict",
            EngineError::Store(_) | EngineError::Internal(_) => "internal",
        }
    }
}
