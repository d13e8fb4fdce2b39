//! `Stamp`: who made a change, on which device, when and where; carried in every Automerge change.

use serde::Serialize;

use crate::calendar::Timestamp;
use crate::geo::GeoFix;
use crate::ids::{DeviceId, UserId};

/// The author of a local edit. Serialised as JSON into the Automerge change's
/// message, so every operation in a document can be traced to a user, a device,
/// the device's clock and (when known) a GPS fix: the basis of per-field audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stamp {
    pub user: UserId,
    pub device: DeviceId,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoFix>,
}

crate::fields::from_fields!(Stamp, |f| Stamp {
    user: f.req("user")?,
    device: f.req("device")?,
    at: f.req("at")?,
    gps: f.or_default("gps")?,
});

impl Stamp {
    /// A stamp without a location.
    pub fn new(user: UserId, device: DeviceId, at: Timestamp) -> Self {
        Stamp {
            user,
            device,
            at,
            gps: None,
        }
    }

    /// The JSON text stored as an Automerge change message.
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stamp back from a change message; `None` if absent or not a stamp.
    pub fn from_message(message: Option<&str>) -> Option<Stamp> {
        // Through `serde_json::Value`, as every other read of JSON text in core and
        // the wasm bindings: each type's deserializer is then compiled once (smaller wasm).
        let value: serde_json::Value = serde_json::from_str(message?).ok()?;
        serde_json::from_value(value).ok()
    }
}
