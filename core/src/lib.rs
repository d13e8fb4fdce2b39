//! fieldsync-core: the domain model of a channel manager's field work as Automerge
//! documents, and the pure sync logic that merges every device's changes. No IO,
//! no async runtime, no wasm-bindgen: the server and the browser adapt it.

pub mod calendar;
pub mod chunk;
pub mod doc;
mod fields;
pub mod geo;
pub mod ids;
pub mod lifecycle;
pub mod model;
pub mod money;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod schema;
pub mod set;
pub mod stamp;
pub mod sync;
mod text_serde;
mod vocab;
pub mod zone;

pub use vocab::UnknownTerm;

/// Re-exported so callers name the same Automerge types as the core.
pub use automerge;
