//! Reconciliation ageing for the phone: core's rule, whether one claim is overdue on a day.

use fieldsync_core::calendar::Day;
use fieldsync_core::model::{ClaimAgeing, ExpenseClaim};
use wasm_bindgen::prelude::*;

use crate::convert::from_json;
use crate::error::Error;

/// Whether `claim` (a claim record as JSON) is spent and not reconciled past
/// `days` days on `today` (`YYYY-MM-DD`), by core's `ClaimAgeing::is_overdue`.
#[wasm_bindgen(js_name = claimOverdue)]
pub fn claim_overdue(claim: &str, today: &str, days: u32) -> Result<bool, Error> {
    let claim: ExpenseClaim = from_json("claim", claim)?;
    let today: Day = today
        .parse()
        .map_err(|e: fieldsync_core::calendar::CalendarError| Error::Json(e.to_string()))?;
    Ok(ClaimAgeing { days }.is_overdue(&claim, today))
}
