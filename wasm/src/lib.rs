//! fieldsync-wasm: thin wasm-bindgen bindings over fieldsync-core for the browser app.
//!
//! Everything crosses the boundary as JSON text (records, patches, stamps, sync
//! messages) or bytes (saved documents); errors become JS `Error`s with a `code`.
//! No domain logic lives here: every rule is core's.

pub mod ageing;
pub mod authority;
mod convert;
pub mod document;
pub mod error;
pub mod replica;
mod zone;

pub use error::Error;
pub use replica::JsReplica;

/// The browser's allocator: talc is smaller in the wasm than the standard library's
/// dlmalloc, and faster. The browser runs the module on one thread.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
