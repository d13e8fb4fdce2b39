//! Conversions of JSON text and id strings from JS into core values, and of core values back to JSON text.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::str::FromStr;

use crate::error::Error;

/// Reads JSON text as a `T`. It goes through `serde_json::Value`, as core's own
/// reads do, so each type's deserializer is compiled once: the wasm stays smaller.
pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    let bad = |e: serde_json::Error| Error::Json(format!("{what}: {e}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
    serde_json::from_value(value).map_err(bad)
}

/// Writes a value as JSON text, through `serde_json::Value` for the same reason.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    Ok(serde_json::to_value(value)?.to_string())
}

/// Parses an id given by JS, or makes a random one when none is given.
pub(crate) fn id_or_random<T>(
    given: Option<String>,
    random: impl FnOnce() -> Result<T, fieldsync_core::ids::IdError>,
) -> Result<T, Error>
where
    T: FromStr<Err = fieldsync_core::ids::IdError>,
{
    match given {
        Some(s) if !s.is_empty() => Ok(s.parse()?),
        _ => Ok(random()?),
    }
}
