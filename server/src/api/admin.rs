//! HTTP administration: head office and admins issue and revoke device tokens, assign territories and reset a user's
//! login secret (on record); admins create users.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fieldsync_core::ids::{DeviceId, TerritoryId, UserId};
use fieldsync_core::sync::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::{
    AdminError, IssueOptions, add_user, issue_device_with, login_code, reset_secret,
    set_territories,
};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, json_body};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{CodeRefusal, now_millis};

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ApiError::bad("invalid", m),
            AdminError::UnknownUser(u) => ApiError::NotFound(format!("no user {u}")),
            AdminError::Store(s) => s.into(),
            AdminError::Token(t) => ApiError::Internal(t.to_string()),
            AdminError::Code(r) => {
                let code = match r {
                    CodeRefusal::Unknown => "login_code_invalid",
                    CodeRefusal::Used => "login_code_used",
                    CodeRefusal::Expired => "login_code_expired",
                    CodeRefusal::SecretChanged => "secret_required",
                };
                ApiError::LoginCode(code, e.to_string())
            }
            AdminError::Secret(r) if r.is_bad_request() => ApiError::bad(r.code(), r.to_string()),
            AdminError::Secret(r) => ApiError::LoginCode(r.code(), r.to_string()),
            AdminError::Hashing(h) => ApiError::Internal(h.to_string()),
        }
    }
}

fn require_head_office(caller: &Caller) -> Result<(), ApiError> {
    if caller.sees_all() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only head office or an admin may manage devices and access".into(),
        ))
    }
}

/// Head office manages every device (and assignment) except an admin's: otherwise
/// it could mint itself an admin token (and with it create users).
async fn require_may_manage(state: &AppState, caller: &Caller, user: &str) -> Result<(), ApiError> {
    require_head_office(caller)?;
    let target = state.store.user(user).await?;
    let target_is_admin =
        target.is_some_and(|u| u.role.parse::<Role>().is_ok_and(|r| r == Role::Admin));
    if target_is_admin && caller.principal.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "only an admin may manage an admin's devices".into(),
        ));
    }
    Ok(())
}

/// `POST /api/devices` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewDevice {
    /// Whose device it is.
    #[schema(value_type = UserId)]
    user: String,
    #[serde(default)]
    label: String,
    /// Days until the token stops working (none: it does not expire).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// `POST /api/devices`' answer. It never holds the token.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedDevice {
    device: String,
    user: String,
    /// Who issued it (the caller).
    issued_by: String,
    /// Epoch ms when the token stops working, if it does.
    expires_at: Option<i64>,
    /// The login link to send to the user: its one-time code gives the token to the first browser that opens it.
    #[schema(example = "/#/login?code=lc_…")]
    login_url: String,
    /// Epoch ms until which the link works.
    code_expires_at: i64,
}

/// `POST /api/devices {user, label, expires_in_days?}` → `{device, user, issued_by, expires_at,
/// login_url, code_expires_at}` (head office, admin). The response never holds the token: the
/// login link's one-time code gives it to the first browser that opens it, so a link used by
/// anyone else no longer works for the person it was sent to, and the device records who issued it.
#[utoipa::path(
    post,
    path = "/api/devices",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewDevice,
    responses(
        (status = 201, description = "The device, with a login link for it", body = IssuedDevice),
        (status = 400, description = "Not a device request (`malformed`) or out of range (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only head office or an admin issues devices, and only an admin an admin's (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn create_device(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<NewDevice>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedDevice>), ApiError> {
    require_head_office(&caller)?;
    let b = json_body(b)?;
    require_may_manage(&state, &caller, &b.user).await?;
    let expires_at = match b.expires_in_days {
        Some(0) | Some(3651..) => {
            return Err(ApiError::bad(
                "invalid",
                "expires_in_days must be between 1 and 3650",
            ));
        }
        Some(days) => Some(now_millis().saturating_add(i64::from(days) * 86_400_000)),
        None => None,
    };
    let options = IssueOptions {
        fixed: None,
        issued_by: &caller.user.id,
        expires_at,
    };
    let issued = issue_device_with(&state.store, &b.user, &b.label, options).await?;
    let code = login_code(
        &state.store,
        &issued.device,
        &issued.token,
        state.settings.hardening.login_code_ttl_ms,
    )
    .await?;
    tracing::info!(by = %caller.user.id, user = %issued.user, device = %issued.device, "device token issued");
    Ok((
        StatusCode::CREATED,
        Json(IssuedDevice {
            login_url: code.link(),
            device: issued.device,
            user: issued.user,
            issued_by: caller.user.id.clone(),
            expires_at,
            code_expires_at: code.expires_at,
        }),
    ))
}

/// `DELETE /api/devices/{id}`: revokes a device's token (head office, admin).
#[utoipa::path(
    delete,
    path = "/api/devices/{id}",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = DeviceId, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Revoked: its token stops working and its live channels close"),
        (status = 403, description = "Only head office or an admin revokes devices, and only an admin an admin's (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such active device (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
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
        state.live.close_device(&id);
        tracing::info!(by = %caller.user.id, device = %id, "device token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no active device {id}")))
    }
}

/// `PUT /api/users/{id}/territories` body, and (with the user) its answer.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AssignedTerritories {
    /// The user (in the answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<UserId>)]
    user: Option<String>,
    /// Every territory the user may read and write from now on.
    #[schema(value_type = Vec<TerritoryId>)]
    territories: Vec<String>,
}

/// Most territories one user may be assigned.
const MAX_ASSIGNED: usize = 1_000;

/// `PUT /api/users/{id}/territories {territories}` → `{user, territories}` (head office, admin;
/// an admin's only by an admin): replaces the territories assigned to a user, the only thing
/// that gives a manager or regional manager access (a territory document's manager list grants
/// nothing). It takes effect at once: the user's next sync reads only these and tells the device
/// to remove what it lost, and the user's open live channels on this server are told to sync now.
#[utoipa::path(
    put,
    path = "/api/users/{id}/territories",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id")),
    request_body = AssignedTerritories,
    responses(
        (status = 200, description = "The user's territories as now assigned", body = AssignedTerritories),
        (status = 400, description = "Not a territory list (`malformed`) or invalid (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only head office or an admin assigns territories, and only an admin an admin's (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn set_user_territories(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<AssignedTerritories>, JsonRejection>,
) -> Result<Json<AssignedTerritories>, ApiError> {
    require_head_office(&caller)?;
    let b = json_body(b)?;
    if b.territories.len() > MAX_ASSIGNED {
        return Err(ApiError::bad(
            "invalid",
            format!("at most {MAX_ASSIGNED} territories"),
        ));
    }
    require_may_manage(&state, &caller, &id).await?;
    set_territories(&state.store, &id, &b.territories).await?;
    state.live.access_changed(&id);
    let territories = state.store.user_territories(&id).await?;
    tracing::info!(by = %caller.user.id, user = %id, territories = ?territories, "territories assigned");
    Ok(Json(AssignedTerritories {
        user: Some(id),
        territories,
    }))
}

/// `POST /api/users` body, and its answer.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewUser {
    #[schema(value_type = UserId)]
    id: String,
    name: String,
    #[schema(value_type = Role)]
    role: String,
    /// The territories assigned to them (their only source of access).
    #[serde(default)]
    #[schema(value_type = Vec<TerritoryId>)]
    territories: Vec<String>,
}

/// `POST /api/users {id, name, role, territories}` (admin only).
#[utoipa::path(
    post,
    path = "/api/users",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user as created", body = NewUser),
        (status = 400, description = "Not a user request (`malformed`) or invalid (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only an admin creates users (`forbidden`)", body = ErrorBody),
        (status = 409, description = "The user exists (`conflict`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<NewUser>), ApiError> {
    if caller.principal.role != Role::Admin {
        return Err(ApiError::Forbidden("only an admin may create users".into()));
    }
    let b = json_body(b)?;
    add_user(&state.store, &b.id, &b.name, &b.role, &b.territories).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewUser {
            name: b.name.trim().to_owned(),
            ..b
        }),
    ))
}

/// `POST /api/users/{id}/secret-reset`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretReset {
    #[schema(value_type = UserId)]
    user: String,
    /// Who reset it (the caller).
    #[schema(value_type = UserId)]
    secret_reset_by: String,
    /// Epoch ms.
    secret_reset_at: i64,
}

/// `POST /api/users/{id}/secret-reset` → `{user, secret_reset_by, secret_reset_at}` (head office,
/// admin; an admin's only by an admin): forgets the user's login PIN, so the next login link of
/// theirs sets a new one (for someone who forgot it, or was locked out). It is never silent: who
/// reset it and when is recorded and shown to the user (`GET /v1/me`: `secret_reset_by`,
/// `secret_reset_at`), and the user's own next login, asked to choose a PIN instead of giving theirs,
/// tells them. Their devices keep working; revoke one with `DELETE /api/devices/{id}`.
#[utoipa::path(
    post,
    path = "/api/users/{id}/secret-reset",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Reset, on record", body = SecretReset),
        (status = 403, description = "Only head office or an admin resets a PIN, and only an admin an admin's (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such user (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn reset_user_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SecretReset>, ApiError> {
    require_may_manage(&state, &caller, &id).await?;
    let at = reset_secret(&state.store, &id, &caller.user.id).await?;
    tracing::info!(by = %caller.user.id, user = %id, "login secret reset");
    Ok(Json(SecretReset {
        user: id,
        secret_reset_by: caller.user.id.clone(),
        secret_reset_at: at,
    }))
}
