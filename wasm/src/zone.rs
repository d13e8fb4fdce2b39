//! `JsOffsets`: the browser's time-zone database (a JS function over `Intl`) as core's `Offsets`.

use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::zone::{FixedOffset, Offsets, Today, Zone};
use wasm_bindgen::JsValue;

/// `(zone, epoch ms) => offset from UTC in seconds east`, given by JS; a throw or a
/// non-number means the zone is unknown.
pub struct JsOffsets<'a>(pub &'a js_sys::Function);

impl Offsets for JsOffsets<'_> {
    fn offset_s(&self, zone: &Zone, at: Timestamp) -> Option<i32> {
        #[allow(clippy::cast_precision_loss)] // epoch milliseconds fit in a double
        let ms = JsValue::from_f64(at.millis() as f64);
        let out = self
            .0
            .call2(&JsValue::NULL, &JsValue::from_str(zone.name()), &ms)
            .ok()?
            .as_f64()?;
        #[allow(clippy::cast_possible_truncation)] // offsets are within ±18 h
        (out.is_finite() && out.abs() <= 86_400.0).then_some(out as i32)
    }
}

/// Today in `zone` at `now` (epoch ms): the day the browser's database says it is
/// there; without one (native callers, the bindings' own tests) every zone is UTC.
pub fn today(
    offsets: Option<&js_sys::Function>,
    zone: &Zone,
    now: f64,
) -> Result<Day, crate::Error> {
    #[allow(clippy::cast_possible_truncation)] // JS time values are integral and within ±8.64e15
    let now = Timestamp(now as i64);
    let today = match offsets {
        Some(f) => Today::at(&JsOffsets(f), zone, now)?,
        None => Today::at(&FixedOffset(0), zone, now)?,
    };
    Ok(today.day)
}
