//! fieldsync-loadgen: measuring and breaking a real fieldsync server from outside.
//!
//! - [`process`]: the `fieldsync-server` binary on a fresh SQLite or PostgreSQL database, its CLI, SIGKILL and restart, peak memory.
//! - [`site`]: a server with users and tokens, behind a byte-counting proxy.
//! - [`device`]: a simulated phone (a native core replica syncing over HTTP as the web app does).
//! - [`proxy`]: the byte-counting TCP proxy and the fault-injecting HTTP proxy.
//! - [`baseline`]: Automerge's own per-document sync protocol, the baseline to compare with.
//! - [`fleet`]: the fleet, baseline and re-sync scenarios of the `fieldsync-loadgen` binary.
//! - [`rng`], [`stats`]: seeded randomness; percentiles and formatting.

pub mod baseline;
pub mod device;
pub mod fleet;
pub mod process;
pub mod proxy;
pub mod rng;
pub mod site;
pub mod stats;
