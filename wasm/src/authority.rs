//! A manager's commitment authority for the phone: core's rule, whether an open commitment waits for a supervisor.

use fieldsync_core::ids::TerritoryId;
use fieldsync_core::model::CommitmentStatus;
use fieldsync_core::model::commitment::pending;
use fieldsync_core::money::Money;
use fieldsync_core::schema::ApprovalLimits;
use wasm_bindgen::prelude::*;

use crate::convert::from_json;
use crate::error::Error;

/// Whether a commitment in `status` (core's status name) of `amount` (money
/// JSON, or `null`) in `territory` is pending approval under `limits` (head
/// office's limits, core's `ApprovalLimits` JSON), by core's
/// `model::commitment::pending` and `ApprovalLimits::authority`.
#[wasm_bindgen(js_name = commitmentPending)]
pub fn commitment_pending(
    status: &str,
    amount: &str,
    limits: &str,
    territory: &str,
) -> Result<bool, Error> {
    let status: CommitmentStatus = status
        .parse()
        .map_err(|_| Error::Json(format!("unknown commitment status {status:?}")))?;
    let amount: Option<Money> = from_json("amount", amount)?;
    let limits: ApprovalLimits = from_json("limits", limits)?;
    let territory: TerritoryId = territory
        .parse()
        .map_err(|_| Error::Json(format!("not a territory id: {territory:?}")))?;
    let authority = limits.authority(&territory);
    Ok(pending(status, amount.as_ref(), authority.as_deref()))
}
