//! Documents: the Automerge layout of dealers and territories, and typed reads and edits on it.

mod bridge;
pub mod conflict;
pub mod document;
pub mod error;
mod escalation;
pub mod genesis;
mod handover;
pub mod history;
pub mod id;
mod resolve;
pub mod state;

pub use conflict::{Conflict, ConflictKind, ConflictValue, Settled};
pub use document::Document;
pub use error::DocError;
pub use genesis::SCHEMA_VERSION;
pub use id::{DocId, DocIdError};
pub use state::{DealerState, TerritoryState};
