//! Territory handover (交接) over HTTP: head office or the territory's regional manager reassigns a territory (`POST /api/territories/{id}/handover`), the incoming manager reviews the outgoing one's open items on the records and completes it, head office watches the items at risk; late edits of the outgoing manager are held for review.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{HandoverId, TerritoryId, UserId};
use fieldsync_core::model::open_items;
use fieldsync_core::sync::{Hub, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::read::{AGE_BUCKETS, DEFAULT_PER_PAGE, MAX_PER_PAGE, Paged, todays};
use crate::auth::Caller;
use crate::engine::{self, EngineError, Known};
use crate::error::{ApiError, ErrorBody, json_body};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{
    HandoverQuery, HandoverRow, ItemRow, ListedItem, NewHandover, Reassigned, StoreError,
};

const DAY_MS: i64 = 86_400_000;
/// The longest deadline a handover may have, in days.
pub const MAX_DEADLINE_DAYS: i64 = 90;
const DEFAULT_DEADLINE_DAYS: i64 = 14;
const DEFAULT_GRACE_DAYS: i64 = 3;

/// Why a handover request was refused (besides the common `ApiError`s).
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    #[error("territory {0} already has an open handover; complete it first")]
    Open(String),
    #[error(
        "{0} item(s) are neither accepted nor flagged yet: review every item before completing"
    )]
    Pending(usize),
    #[error("this handover is already completed")]
    Closed,
    #[error("the held edits do not fit the document now (rule {0}): {1}; they stay held")]
    Refused(String, String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<StoreError> for HandoverError {
    fn from(e: StoreError) -> Self {
        HandoverError::Api(e.into())
    }
}

impl From<EngineError> for HandoverError {
    fn from(e: EngineError) -> Self {
        HandoverError::Api(e.into())
    }
}

impl HandoverError {
    /// The stable code of a refusal of this module's own (409).
    fn code(&self) -> &'static str {
        match self {
            HandoverError::Open(_) => "handover_open",
            HandoverError::Pending(_) => "handover_pending",
            HandoverError::Closed => "handover_closed",
            HandoverError::Refused(..) => "release_refused",
            HandoverError::Api(e) => e.status_code().1,
        }
    }
}

impl IntoResponse for HandoverError {
    fn into_response(self) -> Response {
        match self {
            HandoverError::Api(e) => e.into_response(),
            other => {
                let body = ErrorBody {
                    code: other.code(),
                    message: other.to_string(),
                };
                (StatusCode::CONFLICT, Json(body)).into_response()
            }
        }
    }
}

/// `POST /api/territories/{id}/handover` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReassignBody {
    /// The outgoing manager: assigned the territory now.
    #[schema(value_type = UserId)]
    from: String,
    /// The incoming manager: an enabled user of the manager role.
    #[schema(value_type = UserId)]
    to: String,
    /// Days the outgoing manager keeps reading the territory unless completed earlier (0–90).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 90, default = 14)]
    deadline_days: Option<i64>,
    /// Days during which the outgoing manager's edits recorded before the reassignment are
    /// still taken as they are (0–`deadline_days`; default 3, or `deadline_days` if smaller).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 90, default = 3)]
    grace_days: Option<i64>,
}

/// Counts of a handover's items by review state.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ItemCounts {
    pending: i64,
    flagged: i64,
    accepted: i64,
}

/// One of the outgoing manager's open items on a handover's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoverItem {
    /// `commitment`, `claim` or `problem`.
    kind: String,
    #[schema(value_type = fieldsync_core::ids::DealerId)]
    dealer: String,
    dealer_name: String,
    /// The record's id in its collection.
    id: String,
    /// A commitment's what, a claim's purpose, a problem's title.
    title: String,
    /// When the record was made, requested or raised (epoch ms).
    since: i64,
    /// When it joined the list (epoch ms).
    listed_at: i64,
    /// Synced by the outgoing manager after the reassignment.
    late: bool,
    /// `pending`, `flagged` or `accepted` (the incoming manager's review, on the record).
    state: String,
    /// Why it was flagged.
    reason: Option<String>,
    /// Who reviewed it, and when (epoch ms).
    #[schema(value_type = Option<UserId>)]
    by: Option<String>,
    at: Option<i64>,
    /// The record is still open (not kept, broken, cancelled, rejected, reconciled or resolved).
    open: bool,
}

/// A territory handover.
#[derive(Debug, Serialize, ToSchema)]
pub struct Handover {
    #[schema(value_type = HandoverId)]
    id: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    /// The outgoing manager.
    #[schema(value_type = UserId)]
    from: String,
    from_name: String,
    /// The incoming manager.
    #[schema(value_type = UserId)]
    to: String,
    to_name: String,
    /// Who reassigned the territory.
    #[schema(value_type = UserId)]
    by: String,
    /// Epoch ms.
    reassigned_at: i64,
    /// Until then (epoch ms) the outgoing manager's edits recorded before the reassignment are taken.
    late_until: i64,
    /// Until then (epoch ms) the outgoing manager reads the territory, unless completed earlier.
    deadline: i64,
    /// `open`, `completed` or `expired` (the deadline passed first).
    status: String,
    completed_at: Option<i64>,
    /// Who completed it (`deadline` when it expired).
    completed_by: Option<String>,
    items: Vec<HandoverItem>,
    counts: ItemCounts,
    /// Late edits of the outgoing manager held for review (changes).
    held: i64,
}

/// `GET /api/handovers`' answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Handovers {
    /// Newest first.
    handovers: Vec<Handover>,
}

/// Whether the caller may reassign `territory`, complete or release in it: head office, or
/// a regional manager the territory is assigned to. Admins do not (by design).
fn supervises(caller: &Caller, territory: &str) -> bool {
    match caller.principal.role {
        Role::HeadOffice => true,
        Role::Regional => caller.can_access(territory),
        Role::Manager | Role::Admin => false,
    }
}

fn item_json(i: ListedItem) -> HandoverItem {
    HandoverItem {
        kind: i.item.kind,
        dealer: i.item.dealer,
        dealer_name: i.dealer_name,
        id: i.item.record,
        title: i.item.title,
        since: i.item.since,
        listed_at: i.item.listed_at,
        late: i.item.late,
        state: i.state,
        reason: i.reason,
        by: i.by,
        at: i.at,
        open: i.open,
    }
}

/// An item still awaiting the incoming manager: neither accepted nor flagged, record open.
fn is_pending(i: &ListedItem) -> bool {
    i.open && i.state != "accepted" && i.state != "flagged"
}

/// The handovers as the API shows them, with their items and held counts.
async fn shown(state: &AppState, rows: Vec<HandoverRow>) -> Result<Vec<Handover>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|h| h.id.clone()).collect();
    let mut items: BTreeMap<String, Vec<ListedItem>> = BTreeMap::new();
    for i in state.store.handover_items(&ids).await? {
        items.entry(i.item.handover.clone()).or_default().push(i);
    }
    let held: BTreeMap<String, i64> = state.store.held_counts(&ids).await?.into_iter().collect();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let now = state.now();
    let mut out = Vec::with_capacity(rows.len());
    for h in rows {
        for u in [&h.from_user, &h.to_user] {
            if !names.contains_key(u) {
                let name = state.store.user_name(u).await?.unwrap_or_else(|| u.clone());
                names.insert(u.clone(), name);
            }
        }
        let list = items.remove(&h.id).unwrap_or_default();
        let mut counts = ItemCounts::default();
        for i in &list {
            match i.state.as_str() {
                "accepted" => counts.accepted += 1,
                "flagged" => counts.flagged += 1,
                _ => counts.pending += 1,
            }
        }
        let ended = h.ended(now);
        let status = match &ended {
            None => "open",
            Some((_, by)) if by == crate::store::BY_DEADLINE => "expired",
            Some(_) => "completed",
        };
        out.push(Handover {
            held: held.get(&h.id).copied().unwrap_or(0),
            from_name: names.get(&h.from_user).cloned().unwrap_or_default(),
            to_name: names.get(&h.to_user).cloned().unwrap_or_default(),
            id: h.id,
            territory: h.territory,
            from: h.from_user,
            to: h.to_user,
            by: h.by_user,
            reassigned_at: h.reassigned_at,
            late_until: h.late_until,
            deadline: h.deadline,
            status: status.to_owned(),
            completed_at: ended.as_ref().map(|(at, _)| *at),
            completed_by: ended.map(|(_, by)| by),
            items: list.into_iter().map(item_json).collect(),
            counts,
        });
    }
    Ok(out)
}

/// The open items of `from` in every dealer of `territory` (core's `open_items`), listed at `now`.
async fn snapshot(
    state: &AppState,
    territory: &str,
    handover: &str,
    from: &UserId,
    now: i64,
) -> Result<Vec<ItemRow>, ApiError> {
    let docs = state.store.territory_dealer_docs(territory).await?;
    let from = from.clone();
    let handover = handover.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for (id, bytes) in docs {
            let dealer = match Document::load(&bytes, Hub::actor()).and_then(|d| d.dealer_state()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(doc = %id, error = %e, "a stored document does not load; its items are not listed");
                    continue;
                }
            };
            for i in open_items(&dealer, &from) {
                out.push(ItemRow {
                    handover: handover.clone(),
                    dealer: dealer.id.to_string(),
                    kind: i.kind.as_str().to_owned(),
                    record: i.id,
                    title: i.title,
                    since: i.since.millis(),
                    listed_at: now,
                    late: false,
                });
            }
        }
        out
    })
    .await
    .map_err(|e| ApiError::Internal(format!("listing the open items failed: {e}")))
}

/// `POST /api/territories/{id}/handover {from, to, deadline_days?, grace_days?}` → 201 the
/// handover (head office, or a regional manager of the territory): in one transaction the
/// territory is assigned to `to` instead of `from` and `from`'s open items (commitments,
/// claims, problems they hold) are listed for `to` to review. `from` keeps reading the
/// territory until the handover is completed or its deadline passes; what `from` recorded
/// before the reassignment is still taken until `late_until` (the grace period), and joins
/// the list late. Both users' live channels are told to sync.
#[utoipa::path(
    post,
    path = "/api/territories/{id}/handover",
    tag = "handover",
    security(("bearer" = [])),
    params(("id" = TerritoryId, Path, description = "The territory handed over")),
    request_body = ReassignBody,
    responses(
        (status = 201, description = "Reassigned: the handover, with the outgoing manager's open items", body = Handover),
        (status = 400, description = "Not a handover request (`malformed`), or invalid: `from` is not assigned the territory, `to` is not an enabled manager, `from` = `to`, days out of range (`invalid`)", body = ErrorBody),
        (status = 403, description = "Only head office or the territory's regional manager reassigns it (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such territory (`not_found`)", body = ErrorBody),
        (status = 409, description = "The territory already has an open handover (`handover_open`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(territory): Path<String>,
    b: Result<Json<ReassignBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Handover>), HandoverError> {
    let tid: TerritoryId = territory
        .parse()
        .map_err(|_| ApiError::bad("invalid", format!("{territory} is not a territory id")))?;
    if !supervises(&caller, tid.as_str()) {
        return Err(ApiError::Forbidden(
            "only head office or the territory's regional manager reassigns a territory".into(),
        )
        .into());
    }
    if state
        .store
        .doc_territory(&DocId::Territory(tid.clone()).to_string())
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no territory {territory}")).into());
    }
    let b = json_body(b)?;
    let deadline_days = b.deadline_days.unwrap_or(DEFAULT_DEADLINE_DAYS);
    if !(0..=MAX_DEADLINE_DAYS).contains(&deadline_days) {
        return Err(ApiError::bad(
            "invalid",
            format!("deadline_days must be between 0 and {MAX_DEADLINE_DAYS}"),
        )
        .into());
    }
    let grace_days = b
        .grace_days
        .unwrap_or(DEFAULT_GRACE_DAYS.min(deadline_days));
    if !(0..=deadline_days).contains(&grace_days) {
        return Err(ApiError::bad(
            "invalid",
            format!("grace_days must be between 0 and deadline_days ({deadline_days})"),
        )
        .into());
    }
    let invalid = |m: String| HandoverError::Api(ApiError::bad("invalid", m));
    let from: UserId = b
        .from
        .parse()
        .map_err(|_| invalid(format!("{} is not a user id", b.from)))?;
    if b.from == b.to {
        return Err(invalid(
            "the outgoing and incoming managers are the same user".into(),
        ));
    }
    let to = state
        .store
        .user(&b.to)
        .await?
        .ok_or_else(|| invalid(format!("no user {}", b.to)))?;
    if to.role != Role::Manager.as_str() || to.disabled_at.is_some() {
        return Err(invalid(format!("{} is not an enabled manager", b.to)));
    }
    if !state
        .store
        .user_territories(&b.from)
        .await?
        .contains(&territory)
    {
        return Err(invalid(format!(
            "{} is not assigned territory {territory}",
            b.from
        )));
    }
    let now = state.now();
    if let Some(open) = state.store.open_handover(&territory, now).await? {
        return Err(HandoverError::Open(open.territory));
    }
    let id = HandoverId::random()
        .map_err(|e| ApiError::Internal(format!("no handover id: {e}")))?
        .to_string();
    let items = snapshot(&state, &territory, &id, &from, now).await?;
    let done = state
        .store
        .reassign(NewHandover {
            id: &id,
            territory: &territory,
            from_user: &b.from,
            to_user: &b.to,
            by_user: &caller.user.id,
            now,
            late_until: now.saturating_add(grace_days.saturating_mul(DAY_MS)),
            deadline: now.saturating_add(deadline_days.saturating_mul(DAY_MS)),
            items: &items,
        })
        .await?;
    let row = match done {
        Reassigned::Done(row) => row,
        Reassigned::AlreadyOpen(_) => return Err(HandoverError::Open(territory)),
        Reassigned::NotAssigned => {
            return Err(invalid(format!(
                "{} is not assigned territory {territory}",
                b.from
            )));
        }
    };
    state.live.access_changed(&b.from);
    state.live.access_changed(&b.to);
    tracing::info!(by = %caller.user.id, %territory, from = %b.from, to = %b.to, handover = %id, items = items.len(), "territory reassigned");
    let mut shown = shown(&state, vec![row]).await?;
    let h = shown
        .pop()
        .ok_or_else(|| ApiError::Internal("the handover was not stored".into()))?;
    Ok((StatusCode::CREATED, Json(h)))
}

/// A handover the caller may see, or 404.
async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<HandoverRow, ApiError> {
    let h = state.store.handover(id).await?;
    h.filter(|h| {
        caller.sees_all()
            || supervises(caller, &h.territory)
            || caller.user.id == h.to_user
            || caller.user.id == h.from_user
    })
    .ok_or_else(|| ApiError::NotFound(format!("no handover {id}")))
}

/// `POST /api/handovers/{id}/complete` → the handover (its incoming manager, head office, or
/// the territory's regional manager): refused while an item whose record is still open is
/// neither accepted nor flagged. The outgoing manager's read period and grace period end
/// now: their next sync removes the territory from their device.
#[utoipa::path(
    post,
    path = "/api/handovers/{id}/complete",
    tag = "handover",
    security(("bearer" = [])),
    params(("id" = HandoverId, Path, description = "The handover's id")),
    responses(
        (status = 200, description = "Completed", body = Handover),
        (status = 403, description = "Only the incoming manager, head office or the territory's regional manager completes it (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such handover the caller may see (`not_found`)", body = ErrorBody),
        (status = 409, description = "An item is neither accepted nor flagged (`handover_pending`), or it is no longer open (`handover_closed`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Handover>, HandoverError> {
    let h = visible(&state, &caller, &id).await?;
    if caller.user.id != h.to_user && !supervises(&caller, &h.territory) {
        return Err(ApiError::Forbidden(
            "only the incoming manager, head office or the territory's regional manager completes a handover"
                .into(),
        )
        .into());
    }
    let now = state.now();
    if !h.is_open(now) {
        return Err(HandoverError::Closed);
    }
    let pending = state
        .store
        .handover_items(std::slice::from_ref(&h.id))
        .await?
        .iter()
        .filter(|i| is_pending(i))
        .count();
    if pending > 0 {
        return Err(HandoverError::Pending(pending));
    }
    if !state
        .store
        .complete_handover(&h.id, &caller.user.id, now)
        .await?
    {
        return Err(HandoverError::Closed);
    }
    state.live.access_changed(&h.from_user);
    tracing::info!(by = %caller.user.id, handover = %id, territory = %h.territory, "handover completed");
    let row = state
        .store
        .handover(&id)
        .await?
        .ok_or_else(|| ApiError::Internal("the handover vanished".into()))?;
    let mut shown = shown(&state, vec![row]).await?;
    Ok(Json(shown.pop().ok_or_else(|| {
        ApiError::Internal("the handover vanished".into())
    })?))
}

/// `GET /api/handovers` query.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    territory: Option<String>,
    status: Option<String>,
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad("bad_query", e.body_text()))
}

/// The handovers the caller may see: head office (and admins) every one, a regional
/// manager those of its territories, a manager those it hands over or takes over.
fn scoped(caller: &Caller, territory: Option<&str>, open_only: bool, now: i64) -> HandoverQuery {
    let regional = caller.principal.role == Role::Regional;
    HandoverQuery {
        territory: territory.map(str::to_owned),
        open_only,
        territories: regional.then(|| caller.limited_territories().unwrap_or_default()),
        party: (!caller.sees_all() && !regional).then(|| caller.user.id.clone()),
        now,
    }
}

/// `GET /api/handovers?territory=&status=open|all` → `{handovers}`: each with its items and
/// their review state (`pending`, `flagged`, `accepted`, on the records), counts and held
/// late edits. Head office sees every handover, a regional manager those of its territories,
/// a manager those it hands over or takes over. `status` defaults to `open`.
#[utoipa::path(
    get,
    path = "/api/handovers",
    tag = "handover",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory's"),
        ("status" = Option<String>, Query, description = "`open` (default) or `all`"),
    ),
    responses(
        (status = 200, description = "Handovers, newest first", body = Handovers),
        (status = 400, description = "A filter is not valid (`bad_query`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Handovers>, ApiError> {
    let q = query(q)?;
    let open_only = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => {
            return Err(ApiError::bad(
                "bad_query",
                format!("status must be open or all, not {other}"),
            ));
        }
    };
    let territory = q.territory.as_deref().filter(|s| !s.is_empty());
    let rows = state
        .store
        .list_handovers(&scoped(&caller, territory, open_only, state.now()))
        .await?;
    Ok(Json(Handovers {
        handovers: shown(&state, rows).await?,
    }))
}

/// `GET /api/handovers/at-risk` query.
#[derive(Debug, Default, Deserialize)]
pub struct AtRiskQuery {
    territory: Option<String>,
    manager: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// An item at risk: not accepted by the incoming manager while its record is still open.
#[derive(Debug, Serialize, ToSchema)]
pub struct AtRiskItem {
    #[schema(value_type = HandoverId)]
    handover: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    /// The outgoing and incoming managers.
    #[schema(value_type = UserId)]
    from: String,
    #[schema(value_type = UserId)]
    to: String,
    /// `commitment`, `claim` or `problem`.
    kind: String,
    #[schema(value_type = fieldsync_core::ids::DealerId)]
    dealer: String,
    dealer_name: String,
    id: String,
    title: String,
    /// When the record was made, requested or raised (epoch ms).
    since: i64,
    /// `pending` or `flagged`.
    state: String,
    reason: Option<String>,
    #[schema(value_type = Option<UserId>)]
    by: Option<String>,
    at: Option<i64>,
    late: bool,
    /// Calendar days (the territory's zone) since the record was made, requested or raised.
    age_days: i64,
    /// Calendar days since the territory was reassigned.
    days_since_handover: i64,
}

fn int_param(name: &str, v: Option<&String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad("bad_query", format!("'{name}' must be an integer")))
        })
        .transpose()
}

/// `GET /api/handovers/at-risk?territory=&manager=&page=&per_page=` → a page of the items no
/// incoming manager has accepted (pending or flagged) whose record is still open, in every
/// handover (open or completed), oldest first, each with its `age_days` and
/// `days_since_handover`; totals: `by_age` (the problem list's age buckets) and `by_state`.
/// Head office sees every territory, a regional manager its own, a manager the handovers it
/// is part of.
#[utoipa::path(
    get,
    path = "/api/handovers/at-risk",
    tag = "handover",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory's"),
        ("manager" = Option<UserId>, Query, description = "Only handovers from or to this manager"),
        crate::api::read::Paging,
    ),
    responses(
        (status = 200, description = "A page of items at risk, oldest first; totals: `by_age`, `by_state`", body = Paged<AtRiskItem>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn at_risk(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<AtRiskQuery>, QueryRejection>,
) -> Result<Json<Paged<AtRiskItem>>, ApiError> {
    let q = query(q)?;
    let page = int_param("page", q.page.as_ref())?.unwrap_or(1);
    let per_page = int_param("per_page", q.per_page.as_ref())?.unwrap_or(DEFAULT_PER_PAGE);
    if page < 1 || !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::bad(
            "bad_query",
            format!("page must be ≥ 1 and per_page within 1..={MAX_PER_PAGE}"),
        ));
    }
    let territory = q.territory.as_deref().filter(|s| !s.is_empty());
    let manager = q.manager.as_deref().filter(|s| !s.is_empty());
    let now = state.now();
    let rows: Vec<HandoverRow> = state
        .store
        .list_handovers(&scoped(&caller, territory, false, now))
        .await?
        .into_iter()
        .filter(|h| manager.is_none_or(|m| h.from_user == m || h.to_user == m))
        .collect();
    let by_id: BTreeMap<String, HandoverRow> =
        rows.into_iter().map(|h| (h.id.clone(), h)).collect();
    let ids: Vec<String> = by_id.keys().cloned().collect();
    let todays = todays(&state).await?;
    let mut items: Vec<AtRiskItem> = state
        .store
        .handover_items(&ids)
        .await?
        .into_iter()
        .filter(|i| i.open && i.state != "accepted")
        .filter_map(|i| {
            let h = by_id.get(&i.item.handover)?;
            Some(AtRiskItem {
                age_days: todays.days_since(&i.territory, i.item.since),
                days_since_handover: todays.days_since(&i.territory, h.reassigned_at),
                handover: h.id.clone(),
                from: h.from_user.clone(),
                to: h.to_user.clone(),
                territory: i.territory,
                kind: i.item.kind,
                dealer: i.item.dealer,
                dealer_name: i.dealer_name,
                id: i.item.record,
                title: i.item.title,
                since: i.item.since,
                state: if i.state == "flagged" {
                    "flagged".to_owned()
                } else {
                    "pending".to_owned()
                },
                reason: i.reason,
                by: i.by,
                at: i.at,
                late: i.item.late,
            })
        })
        .collect();
    items.sort_by(|a, b| (a.since, &a.dealer, &a.id).cmp(&(b.since, &b.dealer, &b.id)));
    let by_age: Vec<serde_json::Value> = AGE_BUCKETS
        .iter()
        .map(|(from, until)| {
            let n = items
                .iter()
                .filter(|i| i.age_days >= *from && until.is_none_or(|u| i.age_days < u))
                .count();
            json!({"from_days": from, "until_days": until, "n": n})
        })
        .collect();
    let by_state: Vec<serde_json::Value> = ["flagged", "pending"]
        .iter()
        .map(|s| json!({"state": s, "n": items.iter().filter(|i| i.state == *s).count()}))
        .collect();
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    let items = items.into_iter().skip(skip).take(take).collect();
    Ok(Json(Paged {
        items,
        total,
        page,
        per_page,
        totals: Some(json!({"by_age": by_age, "by_state": by_state})),
    }))
}

/// A document's late edits held in a handover, in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldDoc {
    #[schema(value_type = fieldsync_core::doc::DocId)]
    doc: String,
    /// `held` (awaiting review), `released` (delivered) or `declined` (kept aside, never deleted).
    state: String,
    /// How many changes.
    changes: i64,
    /// The outgoing manager's device that sent them (the first, if several).
    device: String,
    /// The earliest and latest stamp of the changes (the device's clock, epoch ms).
    first_stamped_at: Option<i64>,
    last_stamped_at: Option<i64>,
    /// When the server first held one (epoch ms).
    received_at: i64,
    #[schema(value_type = Option<UserId>)]
    decided_by: Option<String>,
    decided_at: Option<i64>,
}

/// `GET /api/handovers/{id}/held`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Held {
    docs: Vec<HeldDoc>,
}

async fn held_docs(state: &AppState, handover: &str) -> Result<Vec<HeldDoc>, ApiError> {
    let mut out: Vec<HeldDoc> = Vec::new();
    for r in state.store.held(handover).await? {
        match out
            .iter_mut()
            .find(|d| d.doc == r.doc && d.state == r.state)
        {
            Some(d) => {
                d.changes += 1;
                d.first_stamped_at = match (d.first_stamped_at, r.stamped_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                d.last_stamped_at = d.last_stamped_at.max(r.stamped_at);
                d.received_at = d.received_at.min(r.received_at);
            }
            None => out.push(HeldDoc {
                doc: r.doc,
                state: r.state,
                changes: 1,
                device: r.device,
                first_stamped_at: r.stamped_at,
                last_stamped_at: r.stamped_at,
                received_at: r.received_at,
                decided_by: r.decided_by,
                decided_at: r.decided_at,
            }),
        }
    }
    Ok(out)
}

/// `GET /api/handovers/{id}/held` → `{docs}`: the outgoing manager's late edits the server
/// held (rule `handed_over`: stamped after the reassignment, received after the grace
/// period, or built on work recorded after it), per document and state. Never acknowledged
/// to the device, never deleted.
#[utoipa::path(
    get,
    path = "/api/handovers/{id}/held",
    tag = "handover",
    security(("bearer" = [])),
    params(("id" = HandoverId, Path, description = "The handover's id")),
    responses(
        (status = 200, description = "Held late edits, by document", body = Held),
        (status = 404, description = "No such handover the caller may see (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn held(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Held>, ApiError> {
    let h = visible(&state, &caller, &id).await?;
    Ok(Json(Held {
        docs: held_docs(&state, &h.id).await?,
    }))
}

/// The incoming manager or head office, for a held document's decision.
fn may_decide(caller: &Caller, h: &HandoverRow) -> Result<(), ApiError> {
    if caller.user.id == h.to_user || caller.principal.role == Role::HeadOffice {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the incoming manager or head office decides on held edits".into(),
        ))
    }
}

/// The held document's entry after a decision.
async fn decided(state: &AppState, h: &str, doc: &str, st: &str) -> Result<HeldDoc, ApiError> {
    held_docs(state, h)
        .await?
        .into_iter()
        .find(|d| d.doc == doc && d.state == st)
        .ok_or_else(|| ApiError::Internal("the decided edits vanished".into()))
}

/// `POST /api/handovers/{id}/held/{doc}/release` → the document's entry (the incoming manager
/// or head office): delivers the held edits as the outgoing manager made them (their
/// signatures, their device); every rule applies except the late rule. Refused (409
/// `release_refused`, naming the rule) if they no longer fit the document, e.g. they edit a
/// field someone changed meanwhile: they stay held.
#[utoipa::path(
    post,
    path = "/api/handovers/{id}/held/{doc}/release",
    tag = "handover",
    security(("bearer" = [])),
    params(
        ("id" = HandoverId, Path, description = "The handover's id"),
        ("doc" = fieldsync_core::doc::DocId, Path, description = "The document whose held edits are released"),
    ),
    responses(
        (status = 200, description = "Delivered: the document's released edits", body = HeldDoc),
        (status = 403, description = "Only the incoming manager or head office releases (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such handover the caller may see, or nothing held for that document (`not_found`)", body = ErrorBody),
        (status = 409, description = "The edits do not fit the document now (`release_refused`); they stay held", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Json<HeldDoc>, HandoverError> {
    let h = visible(&state, &caller, &id).await?;
    may_decide(&caller, &h)?;
    let rows: Vec<_> = state
        .store
        .held(&h.id)
        .await?
        .into_iter()
        .filter(|r| r.doc == doc && r.state == "held")
        .collect();
    let Some(first) = rows.first() else {
        return Err(ApiError::NotFound(format!("nothing held for {doc}")).into());
    };
    let doc_id: DocId = doc
        .parse()
        .map_err(|_| ApiError::NotFound(format!("nothing held for {doc}")))?;
    let from = state
        .store
        .user(&h.from_user)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("user {} vanished", h.from_user)))?;
    let territory: TerritoryId = h
        .territory
        .parse()
        .map_err(|_| ApiError::Internal(format!("territory {} is invalid", h.territory)))?;
    // As the outgoing manager, in this territory only: their edits, their device.
    let mut principal = crate::auth::principal_of(&state, &from).await?;
    principal.territories = [territory].into_iter().collect();
    let push = fieldsync_core::sync::DocChanges {
        doc: doc_id,
        changes: rows
            .iter()
            .map(|r| fieldsync_core::sync::ChangeBytes(r.change.clone()))
            .collect(),
    };
    let known = Known::load(&state, &principal).await?;
    let device = first.device.clone();
    match engine::push_doc(&state, &principal, &device, "", &push, &known, true).await? {
        Ok(_) => {}
        Err(r) => {
            tracing::info!(handover = %h.id, %doc, code = %r.code, "releasing held edits refused");
            return Err(HandoverError::Refused(
                r.rule.unwrap_or_else(|| r.code.to_string()),
                r.message,
            ));
        }
    }
    let now = state.now();
    state
        .store
        .decide_held(&h.id, &doc, "released", &caller.user.id, now)
        .await?;
    tracing::info!(by = %caller.user.id, handover = %h.id, %doc, changes = rows.len(), "held edits released");
    Ok(Json(decided(&state, &h.id, &doc, "released").await?))
}

/// `POST /api/handovers/{id}/held/{doc}/decline` → the document's entry (the incoming manager
/// or head office): the held edits are kept aside, never delivered and never deleted (the
/// outgoing manager's device keeps them too, as not delivered once it loses the territory).
#[utoipa::path(
    post,
    path = "/api/handovers/{id}/held/{doc}/decline",
    tag = "handover",
    security(("bearer" = [])),
    params(
        ("id" = HandoverId, Path, description = "The handover's id"),
        ("doc" = fieldsync_core::doc::DocId, Path, description = "The document whose held edits are declined"),
    ),
    responses(
        (status = 200, description = "Kept aside: the document's declined edits", body = HeldDoc),
        (status = 403, description = "Only the incoming manager or head office declines (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such handover the caller may see, or nothing held for that document (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Json<HeldDoc>, ApiError> {
    let h = visible(&state, &caller, &id).await?;
    may_decide(&caller, &h)?;
    let n = state
        .store
        .decide_held(&h.id, &doc, "declined", &caller.user.id, state.now())
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound(format!("nothing held for {doc}")));
    }
    tracing::info!(by = %caller.user.id, handover = %h.id, %doc, changes = n, "held edits declined");
    Ok(Json(decided(&state, &h.id, &doc, "declined").await?))
}
