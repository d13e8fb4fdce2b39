//! The sync engine: push, pull and materialisation, callable without HTTP.
//!
//! `sync::sync_handler` (HTTP), the demo seeding (`seed`), releasing held edits
//! (`api::handovers`) and the tests all go through here; none of it knows about
//! requests, responses or status codes. Failures are an [`EngineError`] (the
//! server's fault, nothing acknowledged), each with a stable code the HTTP layer
//! maps to its `{code, message}`; a refused document is a `Rejection` in the
//! response. Materialisation (the read-model rows of a merged document) is
//! `readmodel`'s, called by `decide` inside the push.
//!
//! Code map:
//! - `request`: [`sync`], one sync request: push, then pull, cursor resets and revocations.
//! - `known`: [`Known`], what a push is decided against (approval limits, handovers, clock).
//! - `push`: [`push_docs`] / [`push_doc`], group commit: check actors, decide in parallel,
//!   commit together, retry lost races, hold late edits.
//! - `decide`: one document's decision on a blocking thread (core's `ingest_from`,
//!   materialise, save).
//! - `actors`: actor ownership (which device may push under which actor, which replica
//!   a request may name as its own).
//! - `hold`: late edits a handover holds for the incoming manager.
//! - `pull`: feed pages after a cursor, without the device's own changes.
//! - `snapshots`: a territory sent whole to a device that has read nothing of it.
//! - `error`: [`EngineError`].
//!
//! Architecture Invariant: nothing here names axum, HTTP types or the HTTP layer's
//! modules (`api`, `auth`, `error`, `routes`, `sync`, `live`); `cargo xtask layers` checks it.

mod actors;
mod decide;
mod error;
mod hold;
mod known;
mod pull;
mod push;
mod request;
mod snapshots;

pub use error::EngineError;
pub use known::Known;
pub use push::{Outcome, push_doc, push_docs};
pub use request::sync;
