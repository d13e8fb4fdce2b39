//! wasm-bindgen bindings over fieldsync-core (filled by the browser-app issue).
