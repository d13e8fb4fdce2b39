//! Reconciliation ageing over HTTP: head office sets after how many days a spent, unreconciled claim is overdue (`PUT /api/claim-ageing`); anyone signed in reads it.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use fieldsync_core::model::ClaimAgeing;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, json_body};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::now_millis;

/// `GET`/`PUT /api/claim-ageing`: a claim spent on day S and not reconciled is
/// overdue from day S + `days` + 1 (core's `model::ClaimAgeing`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Ageing {
    /// Days after the day of spending during which reconciling is on time (default 14).
    #[schema(minimum = 0, maximum = 3650, example = 14)]
    days: i64,
}

/// The setting as core's rule takes it (the default until head office sets one).
pub async fn load(state: &AppState) -> Result<ClaimAgeing, ApiError> {
    Ok(match state.store.claim_ageing_days().await? {
        Some(d) => ClaimAgeing {
            days: u32::try_from(d)
                .map_err(|_| ApiError::Internal(format!("stored claim ageing {d} days")))?,
        },
        None => ClaimAgeing::DEFAULT,
    })
}

/// `GET /api/claim-ageing` → `{days}` (anyone signed in: the phone marks overdue claims with it).
#[utoipa::path(
    get,
    path = "/api/claim-ageing",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "After how many days a spent claim not reconciled is overdue", body = Ageing),
        Authed,
        Always,
    )
)]
pub async fn get_ageing(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Ageing>, ApiError> {
    let a = load(&state).await?;
    Ok(Json(Ageing {
        days: i64::from(a.days),
    }))
}

/// `PUT /api/claim-ageing {days}` → `{days}` (head office, admin): from now on a claim
/// spent on day S and not reconciled is overdue from day S + `days` + 1
/// (`GET /api/claims?overdue=true`, the `overdue` total, the phone's home screen).
#[utoipa::path(
    put,
    path = "/api/claim-ageing",
    tag = "admin",
    security(("bearer" = [])),
    request_body = Ageing,
    responses(
        (status = 200, description = "The setting as now set", body = Ageing),
        (status = 400, description = "Not a setting (`malformed`) or days outside 0..=3650 (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only head office or an admin sets it (`forbidden`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn put_ageing(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<Ageing>, JsonRejection>,
) -> Result<Json<Ageing>, ApiError> {
    if !caller.principal.role.sees_all() {
        return Err(ApiError::Forbidden(
            "only head office or an admin sets claim ageing".into(),
        ));
    }
    let b = json_body(b)?;
    if !(0..=i64::from(ClaimAgeing::MAX_DAYS)).contains(&b.days) {
        return Err(ApiError::bad(
            "invalid",
            format!("days must be within 0..={}", ClaimAgeing::MAX_DAYS),
        ));
    }
    state
        .store
        .set_claim_ageing_days(b.days, &caller.user.id, now_millis())
        .await?;
    tracing::info!(by = %caller.user.id, days = b.days, "claim ageing set");
    get_ageing(State(state), caller).await
}
