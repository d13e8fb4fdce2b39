//! Sync: what a replica sends, what the server decides on it, and what comes back.

pub mod cursor;
pub mod error;
pub mod handover;
pub mod hub;
pub mod ingest;
pub mod limits;
pub mod pace;
pub mod policy;
pub mod replica;
pub mod wire;

pub use cursor::Cursor;
pub use error::SyncError;
pub use handover::{Handovers, Late, Outgoing};
pub use hub::Hub;
pub use ingest::{Context, Ingested, ingest, ingest_from};
pub use limits::{LimitError, Limits};
pub use pace::Pace;
pub use policy::{PolicyError, Principal, Role};
pub use replica::{DocMeta, Replica, ReplicaMeta, SyncReport, Undelivered};
pub use wire::{
    ChangeBytes, DocAck, DocChanges, DocSnapshot, Hash, PROTOCOL_VERSION, PushLimits, RejectCode,
    Rejection, SyncRequest, SyncResponse,
};
