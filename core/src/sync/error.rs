//! `SyncError`: what can go wrong handling a sync message as a whole, or a replica's own bookkeeping (per-document refusals are `Rejection`s).

use crate::doc::DocError;
use crate::ids::IdError;

/// A sync message that cannot be handled at all, or a replica operation that failed with nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    #[error("protocol version {found} is not supported (this side speaks {supported})")]
    Protocol { found: u32, supported: u32 },
    #[error(transparent)]
    Doc(#[from] DocError),
    /// No randomness for a fresh actor.
    #[error(transparent)]
    Id(#[from] IdError),
}
