//! Approval limits over HTTP: head office sets the largest claim each role approves and each manager's commitment authority (`PUT /api/approval-limits`), anyone signed in reads them; every push is decided against them.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::schema::{ApprovalLimits, LimitKind};
use fieldsync_core::sync::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, json_body};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{LimitRow, now_millis};

/// One limit: `role` approves a claim of at most `max_minor` `currency` in
/// `territory`, or in every territory without its own limit for that role
/// (kind `claim`); or a manager's commitment authority (kind `commitment`, role
/// `manager`): a commitment above it is pending approval until a supervisor approves it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Limit {
    /// `claim` (absent) or `commitment`.
    #[serde(default = "claim")]
    #[schema(value_type = Option<String>, example = "claim")]
    kind: String,
    /// `regional` or `head_office` (the roles that approve claims); `manager` for a commitment authority.
    #[schema(value_type = Role)]
    role: String,
    /// Absent: every territory without its own limit for this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TerritoryId>)]
    territory: Option<String>,
    /// ISO 4217 code, e.g. `TWD`.
    #[schema(example = "TWD")]
    currency: String,
    /// The largest claim amount approved, inclusive, in minor units (1 TWD = 100).
    #[schema(minimum = 0)]
    max_minor: i64,
}

/// `GET`/`PUT /api/approval-limits`: every limit. A role with none approves any amount.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Limits {
    limits: Vec<Limit>,
}

/// Most limits one table may hold.
const MAX_LIMITS: usize = 2_000;

fn claim() -> String {
    LimitKind::Claim.as_str().to_owned()
}

fn from_row(r: LimitRow) -> Limit {
    Limit {
        kind: r.kind,
        role: r.role,
        territory: (!r.territory.is_empty()).then_some(r.territory),
        currency: r.currency,
        max_minor: r.max_minor,
    }
}

/// The limits as core's schema takes them (the store's one reading of them, which
/// every push is decided against too).
pub async fn load(state: &AppState) -> Result<ApprovalLimits, ApiError> {
    Ok(state.store.load_approval_limits().await?)
}

/// The stored row of `l`.
fn to_row(l: &Limit) -> LimitRow {
    LimitRow {
        kind: l.kind.clone(),
        role: l.role.clone(),
        territory: l.territory.clone().unwrap_or_default(),
        currency: l.currency.clone(),
        max_minor: l.max_minor,
    }
}

/// `GET /api/approval-limits` → `{limits}`: what each role may approve (anyone signed in:
/// an approver's inbox shows which claims are beyond their limit).
#[utoipa::path(
    get,
    path = "/api/approval-limits",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every approval limit", body = Limits),
        Authed,
        Always,
    )
)]
pub async fn get_limits(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<Limits>, ApiError> {
    let rows = state.store.approval_limits().await?;
    Ok(Json(Limits {
        limits: rows.into_iter().map(from_row).collect(),
    }))
}

/// `PUT /api/approval-limits {limits}` → `{limits}` (head office, admin): replaces every
/// approval limit. From the next push on, the server refuses an approval of a claim above
/// the approver's limit for its territory (`forbidden`, rule `approval_limit`): a
/// territory's own limit for a role overrides the role's general one; a role without
/// limits approves any amount; a claim in a currency the approver's limits do not name
/// is beyond them. A manager's commitment authority (kind `commitment`) chooses the
/// same way; a commitment above it is pending approval: marking it kept or broken
/// before a supervisor approves it is refused (`invalid`, rule `pending_approval`).
#[utoipa::path(
    put,
    path = "/api/approval-limits",
    tag = "admin",
    security(("bearer" = [])),
    request_body = Limits,
    responses(
        (status = 200, description = "The limits as now set", body = Limits),
        (status = 400, description = "Not a limit table (`malformed`) or invalid: a role that does not approve (or not `manager` for a commitment authority), an unknown kind, a bad territory or currency, a negative amount, the same kind, role, territory and currency twice (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only head office or an admin sets approval limits (`forbidden`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn put_limits(
    State(state): State<AppState>,
    caller: Caller,
    b: Result<Json<Limits>, JsonRejection>,
) -> Result<Json<Limits>, ApiError> {
    if !caller.principal.role.sees_all() {
        return Err(ApiError::Forbidden(
            "only head office or an admin sets approval limits".into(),
        ));
    }
    let b = json_body(b)?;
    if b.limits.len() > MAX_LIMITS {
        return Err(ApiError::bad(
            "invalid",
            format!("at most {MAX_LIMITS} limits"),
        ));
    }
    let mut rows: Vec<LimitRow> = Vec::with_capacity(b.limits.len());
    for l in &b.limits {
        let row = to_row(l);
        row.parse().map_err(|m| ApiError::bad("invalid", m))?;
        if rows.iter().any(|r| {
            (&r.kind, &r.role, &r.territory, &r.currency)
                == (&row.kind, &row.role, &row.territory, &row.currency)
        }) {
            return Err(ApiError::bad(
                "invalid",
                format!(
                    "two {} limits for {} in {} ({})",
                    row.kind,
                    row.role,
                    l.territory.as_deref().unwrap_or("every territory"),
                    row.currency
                ),
            ));
        }
        rows.push(row);
    }
    state
        .store
        .set_approval_limits(&rows, &caller.user.id, now_millis())
        .await?;
    tracing::info!(by = %caller.user.id, limits = rows.len(), "approval limits set");
    get_limits(State(state), caller).await
}
