//! HTTP administration: head office and admins issue and revoke device tokens; admins create users.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::{AdminError, add_user, issue_device};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ApiError::bad("invalid", m),
            AdminError::UnknownUser(u) => ApiError::NotFound(format!("no user {u}")),
            AdminError::Store(s) => s.into(),
            AdminError::Token(t) => ApiError::Internal(t.to_string()),
        }
    }
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(t)| t).map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(e.body_text())
        } else {
            ApiError::bad("malformed", e.body_text())
        }
    })
}

fn require_head_office(caller: &Caller) -> Result<(), ApiError> {
    if caller.sees_all() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only head office or an admin may manage devices".into(),
        ))
    }
}

/// Head office manages every device except an admin's: otherwise it could
/// mint itself an admin token (and with it create users).
async fn require_may_manage(state: &AppState, caller: &Caller, user: &str) -> Result<(), ApiError> {
    require_head_office(caller)?;
    let target = state.store.user(user).await?;
    if target.is_some_and(|u| u.role == ADMIN) && caller.user.role != ADMIN {
        return Err(ApiError::Forbidden(
            "only an admin may manage an admin's devices".into(),
        ));
    }
    Ok(())
}

const ADMIN: &str = "admin";

/// `POST /api/devices` body.
#[derive(Debug, Deserialize)]
pub struct NewDevice {
    user: String,
    #[serde(default)]
    label: String,
}

/// `POST /api/devices {user, label}` → `{device, token, login_url}` (head office, admin).
pub async fn create_device(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<NewDevice>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_head_office(&caller)?;
    let b = body(b)?;
    require_may_manage(&state, &caller, &b.user).await?;
    let issued = issue_device(&state.store, &b.user, &b.label, None).await?;
    tracing::info!(by = %caller.user.id, user = %issued.user, device = %issued.device, "device token issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "device": issued.device,
            "user": issued.user,
            "token": issued.token,
            "login_url": format!("/#/login?token={}", issued.token),
        })),
    ))
}

/// `DELETE /api/devices/{id}`: revokes a device's token (head office, admin).
pub async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    require_head_office(&caller)?;
    let device = state
        .store
        .device(&id)
        .await?
        .filter(|d| d.revoked_at.is_none())
        .ok_or_else(|| ApiError::NotFound(format!("no active device {id}")))?;
    require_may_manage(&state, &caller, &device.user).await?;
    if state.store.revoke_device(&id).await? {
        tracing::info!(by = %caller.user.id, device = %id, "device token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no active device {id}")))
    }
}

/// `POST /api/users` body.
#[derive(Debug, Deserialize)]
pub struct NewUser {
    id: String,
    name: String,
    role: String,
    #[serde(default)]
    territories: Vec<String>,
}

/// `POST /api/users {id, name, role, territories}` (admin only).
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if caller.user.role != ADMIN {
        return Err(ApiError::Forbidden("only an admin may create users".into()));
    }
    let b = body(b)?;
    add_user(&state.store, &b.id, &b.name, &b.role, &b.territories).await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": b.id, "name": b.name.trim(), "role": b.role, "territories": b.territories}),
        ),
    ))
}
