//! Who the caller is (`GET /v1/me`: with their devices and who issued each, and their login PIN's record), logging in
//! with a one-time code and the user's PIN (`POST /v1/login`, `POST /v1/login-codes`) and a document's Automerge export
//! (`GET /v1/docs/{doc_id}/automerge`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{TerritoryId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::{Proof, login_code, redeem_login_code};
use crate::auth::{Caller, bearer_of};
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;

/// A territory by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerritoryRef {
    #[schema(value_type = TerritoryId)]
    id: String,
    name: String,
}

/// `GET /v1/me`'s answer: the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[schema(value_type = UserId)]
    user: String,
    name: String,
    /// manager, regional, head_office or admin.
    #[schema(value_type = fieldsync_core::sync::Role)]
    role: String,
    /// This device's id.
    device: String,
    /// Territories the caller may read.
    territories: Vec<TerritoryRef>,
    /// Epoch ms when the caller's login PIN was set (null: none yet; the next login link sets it).
    secret_set_at: Option<i64>,
    /// Who last reset the caller's PIN (head office's or an admin's user id, or `cli`), and when:
    /// a reset is never silent.
    #[schema(value_type = Option<UserId>)]
    secret_reset_by: Option<String>,
    secret_reset_at: Option<i64>,
    /// The caller's devices (this one included, revoked ones too), each with who issued it.
    devices: Vec<MyDevice>,
    /// How often a dealer should be visited, in days: `[tier 1, tier 2, …]`, the last also serving
    /// any higher tier (the server's setting, kept by the phone for its dealers due a visit offline).
    visit_every_days: Vec<i64>,
}

/// One of the caller's devices, never its token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyDevice {
    id: String,
    label: String,
    /// Epoch ms.
    created_at: i64,
    /// Who issued it: `cli`, or the issuing user's id (head office's, an admin's). Null: before this was recorded.
    issued_by: Option<String>,
    revoked_at: Option<i64>,
    expires_at: Option<i64>,
}

/// `GET /v1/me` → `{user, name, role, device, territories: [{id, name}], secret_set_at, secret_reset_by,
/// secret_reset_at, devices: [{id, label, created_at, issued_by, revoked_at, expires_at}], visit_every_days}`.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = Me), Authed, Always)
)]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let known = state.store.territories().await?;
    let mut ids: Vec<String> = match caller.limited_territories() {
        Some(mine) => mine,
        None => known.iter().map(|(id, ..)| id.clone()).collect(),
    };
    ids.sort();
    let territories = ids
        .iter()
        .map(|id| {
            let name = known
                .iter()
                .find(|(k, ..)| k == id)
                .map_or(id.as_str(), |(_, n, ..)| n.as_str());
            TerritoryRef {
                id: id.clone(),
                name: name.to_owned(),
            }
        })
        .collect();
    let secret = state.store.secret_record(&caller.user.id).await?;
    let devices = state
        .store
        .devices(Some(&caller.user.id))
        .await?
        .into_iter()
        .map(|d| MyDevice {
            id: d.id,
            label: d.label,
            created_at: d.created_at,
            issued_by: d.issued_by,
            revoked_at: d.revoked_at,
            expires_at: d.expires_at,
        })
        .collect();
    Ok(Json(Me {
        user: caller.user.id.clone(),
        name: caller.user.name.clone(),
        role: caller.user.role.clone(),
        device: caller.device.clone(),
        territories,
        secret_set_at: secret.as_ref().and_then(|s| s.set_at),
        secret_reset_by: secret.as_ref().and_then(|s| s.reset_by.clone()),
        secret_reset_at: secret.and_then(|s| s.reset_at),
        devices,
        visit_every_days: state.settings.visit_every_days.clone(),
    }))
}

/// `POST /v1/login` body. Its secrets are never logged.
#[derive(serde::Deserialize, ToSchema)]
pub struct LoginBody {
    /// The one-time code of a login link (`lc_…`).
    code: String,
    /// The user's login PIN, required when they have one.
    #[serde(default)]
    #[schema(max_length = 128)]
    secret: Option<String>,
    /// The PIN to set when the user has none yet (the first login, or after a reset): 6 characters
    /// or more. Whoever first redeems a code of such a user sets it, and owns it from then on.
    #[serde(default)]
    #[schema(min_length = 6, max_length = 128)]
    new_secret: Option<String>,
}

impl std::fmt::Debug for LoginBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginBody").finish_non_exhaustive()
    }
}

/// `POST /v1/login`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedIn {
    /// The device token, for `Authorization: Bearer`.
    token: String,
    device: String,
}

/// A one-time login link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginLink {
    code: String,
    #[schema(example = "/#/login?code=lc_…")]
    login_url: String,
    /// Epoch ms; the code works once, until then.
    expires_at: i64,
}

/// `POST /v1/login {code, secret?, new_secret?}` → `{token, device}`: a login link's one-time
/// code, exchanged once, and only with its user's login PIN, so that head office, which issues
/// devices and their links, cannot act as the user. A user with a PIN must give it as `secret`;
/// one without (never logged in by a link, or reset by head office) chooses it now as
/// `new_secret`. Sending the code alone asks which (`secret_required` or `new_secret_required`)
/// and counts nothing. Wrong PINs are counted before they are checked: the 5th with one code burns
/// it, and every 5th in a row for one user locks their PIN (15 minutes, doubling up to a day),
/// both answered `secret_locked`.
#[utoipa::path(
    post,
    path = "/v1/login",
    tag = "identity",
    request_body = LoginBody,
    responses(
        (status = 200, description = "The device's token", body = LoggedIn),
        (status = 400, description = "Not a login request (`malformed`), or a new PIN shorter than 6 characters (`secret_too_short`) or longer than 128 bytes (`secret_too_long`)", body = ErrorBody),
        (status = 401, description = "The code is unknown (`login_code_invalid`), already used or burned (`login_code_used`) or expired (`login_code_expired`); the user has a PIN and none was given (`secret_required`); the user has none and `new_secret` was not given (`new_secret_required`); the PIN is wrong (`secret_wrong`); too many wrong PINs: the code is burned or the user's PIN locked for a while (`secret_locked`). No token is given and the code stays usable except when used, burned or expired", body = ErrorBody),
        (status = 500, description = "The server failed (`internal`)", body = ErrorBody),
        WithBody,
        Always,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<LoggedIn>, ApiError> {
    let Json(b) = b.map_err(|e| ApiError::bad("malformed", e.body_text()))?;
    let proof = Proof {
        secret: b.secret.as_deref(),
        new_secret: b.new_secret.as_deref(),
    };
    let (device, token) = redeem_login_code(&state.store, b.code.trim(), proof).await?;
    tracing::info!(%device, "login code used");
    Ok(Json(LoggedIn { token, device }))
}

/// `POST /v1/login-codes` → `{code, login_url, expires_at}`: a one-time login link for the
/// caller's own device, to open the app in another browser without showing the token (like
/// every login link, it needs the user's login PIN).
#[utoipa::path(
    post,
    path = "/v1/login-codes",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 201, description = "A login link for the caller's device", body = LoginLink), Authed, Always)
)]
pub async fn new_login_code(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<LoginLink>), ApiError> {
    let token = bearer_of(&headers).ok_or(ApiError::Unauthorized)?;
    let ttl = state.settings.hardening.login_code_ttl_ms;
    let code = login_code(&state.store, &caller.device, token, ttl).await?;
    let login_url = code.link();
    Ok((
        StatusCode::CREATED,
        Json(LoginLink {
            code: code.code,
            login_url,
            expires_at: code.expires_at,
        }),
    ))
}

/// `GET /v1/docs/{doc_id}/automerge`: the merged document in Automerge's own format
/// (404 `not_found` for a document that does not exist or that the caller may not read).
#[utoipa::path(
    get,
    path = "/v1/docs/{doc_id}/automerge",
    tag = "sync",
    security(("bearer" = [])),
    params(("doc_id" = DocId, Path, description = "`territory:<id>` or `dealer:<id>`")),
    responses(
        (status = 200, description = "The document's Automerge bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "Not a document id (`bad_document_id`)", body = ErrorBody),
        (status = 404, description = "No such document, or one of a territory the caller may not read: the two are answered alike (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(doc_id): Path<String>,
) -> Result<Response, ApiError> {
    let id: DocId = doc_id
        .parse()
        .map_err(|e| ApiError::bad("bad_document_id", format!("{e}")))?;
    // A document of a territory the caller cannot read is answered exactly as a
    // missing one: its existence is not theirs to learn.
    let doc = state
        .store
        .load_doc(&id.to_string())
        .await?
        .filter(|d| caller.can_access(&d.territory))
        .ok_or_else(|| ApiError::NotFound(format!("no document {id}")))?;
    let filename = format!("{}.automerge", id.to_string().replace(':', "-"));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        doc.snapshot,
    )
        .into_response())
}
