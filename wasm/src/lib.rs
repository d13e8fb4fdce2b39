//! fieldsync-wasm: thin wasm-bindgen bindings over fieldsync-core for the browser app.
//!
//! Everything crosses the boundary as JSON text (records, patches, stamps, sync
//! messages) or bytes (saved documents); errors become JS `Error`s with a `code`.
//! No domain logic lives here: every rule is core's.

mod convert;
pub mod document;
pub mod error;
pub mod replica;

pub use error::Error;
pub use replica::JsReplica;
