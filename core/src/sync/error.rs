//! `SyncError`: what can go wrong handling a sync message as a whole (per-document problems are `Rejection`s).

/// A sync message that cannot be handled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("protocol version {found} is not supported (this side speaks {supported})")]
    Protocol { found: u32, supported: u32 },
}
