//! fieldsync-fuzz: structure-aware inputs for the cargo-fuzz targets in `fuzz_targets/`.
//!
//! Every input starts from a real scene ([`scene`]: a territory and a dealer
//! document made by fieldsync core, with records, notes and an approval), runs a
//! small op language on it ([`program`]: honest edits through fieldsync core and
//! raw Automerge operations an attacker would make with the `automerge` crate),
//! and then mutates the resulting change bytes ([`mutate`]: flips, inserts,
//! truncations, LEB128 rewrites, crossovers, sometimes with the checksum fixed
//! again so the mutation gets past it). [`request`] wraps the same bytes in
//! sync requests as JSON, mutated as text and optionally gzipped.
//!
//! Run with `cargo xtask fuzz [--seconds N]`. A crash is kept as a plain test in
//! `core/tests/fuzz_regressions.rs` that replays the concrete bytes.

pub mod mutate;
pub mod program;
pub mod request;
pub mod scene;
pub mod word;

/// With `FIELDSYNC_FUZZ_DUMP` set, prints change chunks as hex (one per line) to
/// stderr: replaying a crash input this way gives the bytes for a regression test.
pub fn dump(what: &str, chunks: &[Vec<u8>]) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("FIELDSYNC_FUZZ_DUMP").is_some()) {
        eprintln!("{what}:");
        for c in chunks {
            let hex: String = c.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("  {hex}");
        }
    }
}
