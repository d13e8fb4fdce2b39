//! The HTTP API's handlers besides sync and the live channel: read model, administration, identity, export, operations.

pub mod activities;
pub mod admin;
pub mod ageing;
pub mod approvals;
pub mod cursor;
pub mod handovers;
pub mod history;
pub mod me;
pub mod ops;
pub mod photos;
pub mod pnl;
pub mod read;
pub mod sales;
pub mod sales_import;
