//! Head office's read API over the materialised tables: filters, pagination, and each caller limited to the territories they may read.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{
    ClaimId, CommitmentId, DealerId, ProblemId, TerritoryId, UserId, VisitId,
};
use fieldsync_core::sync::Hub;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed};
use crate::state::AppState;
use crate::store::{Filter, Page};
use crate::zone::Todays;
use fieldsync_core::calendar::Day;
use fieldsync_core::model::{Commitment, Standing, Tracked};
use fieldsync_core::money::Money;
use fieldsync_core::zone::Zone;

pub(crate) const DEFAULT_PER_PAGE: i64 = 50;
pub(crate) const MAX_PER_PAGE: i64 = 500;
const DAY_MS: i64 = 86_400_000;

/// Every filter any list accepts (each list reads the ones it knows).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub(crate) territory: Option<String>,
    pub(crate) manager: Option<String>,
    pub(crate) dealer: Option<String>,
    pub(crate) owner: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) severity: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) overdue: Option<String>,
    /// `true`: only problems escalated to head office and not resolved (the escalation queue).
    pub(crate) escalated: Option<String>,
    /// `true`: only dealers not visited within their tier's frequency.
    pub(crate) due: Option<String>,
    pub(crate) page: Option<String>,
    pub(crate) per_page: Option<String>,
}

/// The paging of every list (read from [`ListQuery`]; the bounds are
/// `DEFAULT_PER_PAGE` and `MAX_PER_PAGE`, checked against the served document in
/// `server/tests/api_read.rs`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 1-based page number.
    #[param(minimum = 1, default = 1)]
    pub page: Option<i64>,
    /// Items per page.
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub per_page: Option<i64>,
}

/// A period (epoch ms, both inclusive) on a list's own time column.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Period {
    /// From (epoch ms, inclusive).
    pub from: Option<i64>,
    /// To (epoch ms, inclusive).
    pub to: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Rows matching the filters, on every page.
    pub total: i64,
    #[schema(minimum = 1)]
    pub page: i64,
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: i64,
    /// Sums over every matching row (not only this page), computed in SQL:
    /// counts by status and the list's own totals (visits per week, spend by month, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub totals: Option<Value>,
}

/// A dealer in `GET /api/dealers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerRow {
    #[schema(value_type = DealerId)]
    id: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    name: String,
    /// distributor, retailer, business_partner or bank_branch.
    kind: String,
    tier: i64,
    /// prospect, active, dormant or terminated.
    status: String,
    /// Epoch ms of the latest visit.
    last_visit_at: Option<i64>,
    open_commitments: i64,
    open_problems: i64,
}

/// A visit in `GET /api/visits`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitRow {
    #[schema(value_type = VisitId)]
    id: String,
    #[schema(value_type = DealerId)]
    dealer: String,
    dealer_name: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    #[schema(value_type = UserId)]
    manager: String,
    /// Epoch ms.
    at: i64,
    #[schema(value_type = Vec<String>)]
    purposes: Value,
    summary: String,
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_m: Option<f64>,
}

/// A commitment in `GET /api/commitments`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentRow {
    #[schema(value_type = CommitmentId)]
    id: String,
    #[schema(value_type = DealerId)]
    dealer: String,
    dealer_name: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    what: String,
    to_whom: String,
    #[schema(value_type = UserId)]
    owner: String,
    #[schema(value_type = UserId)]
    made_by: String,
    /// Epoch ms.
    made_at: i64,
    /// A day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    due: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    /// open, kept, broken or cancelled.
    status: String,
    /// Open and past due in its territory's zone (the core's rule, on today there).
    overdue: bool,
}

/// An expense claim in `GET /api/claims`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimRow {
    #[schema(value_type = ClaimId)]
    id: String,
    #[schema(value_type = DealerId)]
    dealer: String,
    dealer_name: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    category: String,
    purpose: String,
    amount_minor: i64,
    currency: String,
    spent_minor: Option<i64>,
    /// requested, approved, rejected, spent or reconciled.
    status: String,
    #[schema(value_type = UserId)]
    requested_by: String,
    /// Epoch ms.
    requested_at: i64,
    /// Who carries it now: the manager who took it over in a territory handover, else its requester.
    #[schema(value_type = UserId)]
    owner: String,
    /// The day it was spent on (`YYYY-MM-DD`), once spent.
    #[schema(format = Date)]
    spent_on: Option<String>,
}

/// A problem in `GET /api/problems`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemRow {
    #[schema(value_type = ProblemId)]
    id: String,
    #[schema(value_type = DealerId)]
    dealer: String,
    dealer_name: String,
    #[schema(value_type = TerritoryId)]
    territory: String,
    category: String,
    severity: String,
    title: String,
    /// open, in_progress or resolved.
    status: String,
    /// Epoch ms.
    raised_at: i64,
    resolved_at: Option<i64>,
    /// Days open so far, or days it took to resolve.
    age_days: i64,
    escalated: bool,
    #[schema(value_type = Option<UserId>)]
    resolved_by: Option<String>,
    /// Who works on it.
    #[schema(value_type = Option<UserId>)]
    owner: Option<String>,
    /// Who escalated it to head office, and when (epoch ms).
    #[schema(value_type = Option<UserId>)]
    escalated_by: Option<String>,
    escalated_at: Option<i64>,
    /// Head office's answer: who, when (epoch ms), what, and whom it assigned the problem to.
    #[schema(value_type = Option<UserId>)]
    responded_by: Option<String>,
    responded_at: Option<i64>,
    response: Option<String>,
    #[schema(value_type = Option<UserId>)]
    assigned_to: Option<String>,
}

/// A field edited concurrently, in `GET /api/conflicts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConflictRow {
    /// The conflict's id, the same on every replica (core's `Conflict::id`): what head office resolves.
    id: String,
    /// `field` (concurrent values of a field), `steps` (two steps of one rank, e.g. kept and broken:
    /// each value a stage) or `rule` (a merged record that breaks a rule).
    kind: String,
    #[schema(value_type = DocId)]
    doc: String,
    #[schema(value_type = Option<DealerId>)]
    dealer: Option<String>,
    dealer_name: Option<String>,
    #[schema(value_type = TerritoryId)]
    territory: String,
    #[schema(value_type = Vec<String>)]
    path: Value,
    /// The value every replica shows: `{value, by, at}`.
    #[schema(value_type = Object)]
    winner: Value,
    /// The values it won over, each `{value, by, at}`.
    #[schema(value_type = Vec<Object>)]
    others: Value,
}

pub(crate) fn int_param(name: &str, v: Option<&String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad("bad_query", format!("'{name}' must be an integer")))
        })
        .transpose()
}

pub(crate) fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl ListQuery {
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        let page = int_param("page", self.page.as_ref())?.unwrap_or(1);
        let per_page = int_param("per_page", self.per_page.as_ref())?.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 || !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::bad(
                "bad_query",
                format!("page must be ≥ 1 and per_page within 1..={MAX_PER_PAGE}"),
            ));
        }
        Ok(Page { page, per_page })
    }
}

pub(crate) fn query(q: Result<Query<ListQuery>, QueryRejection>) -> Result<ListQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad("bad_query", e.body_text()))
}

/// Limits `f` to what the caller may read, honouring an explicit `territory` filter.
pub(crate) fn scope(
    caller: &Caller,
    q: &ListQuery,
    column: &'static str,
    f: &mut Filter,
) -> Result<(), ApiError> {
    if let Some(t) = text(&q.territory) {
        if !caller.can_access(t) {
            return Err(ApiError::Forbidden(format!(
                "you have no access to territory {t}"
            )));
        }
        f.eq(column, t);
    } else if let Some(mine) = caller.limited_territories() {
        f.within(column, &mine);
    }
    Ok(())
}

/// `from`/`to` (epoch ms, inclusive) on `column`.
pub(crate) fn date_range(
    q: &ListQuery,
    column: &'static str,
    f: &mut Filter,
) -> Result<(), ApiError> {
    if let Some(from) = int_param("from", q.from.as_ref())? {
        f.ge(column, from);
    }
    if let Some(to) = int_param("to", q.to.as_ref())? {
        f.le(column, to);
    }
    Ok(())
}

pub(crate) fn paged<T>(
    rows: Vec<AnyRow>,
    total: i64,
    page: Page,
    map: impl Fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Json<Paged<T>>, ApiError> {
    let items = rows
        .iter()
        .map(map)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(Paged {
        items,
        total,
        page: page.page,
        per_page: page.per_page,
        totals: None,
    }))
}

pub(crate) fn get_s(r: &AnyRow, c: &str) -> Result<String, sqlx::Error> {
    r.try_get(c)
}
pub(crate) fn get_i(r: &AnyRow, c: &str) -> Result<i64, sqlx::Error> {
    r.try_get(c)
}
pub(crate) fn get_oi(r: &AnyRow, c: &str) -> Result<Option<i64>, sqlx::Error> {
    r.try_get(c)
}
fn get_of(r: &AnyRow, c: &str) -> Result<Option<f64>, sqlx::Error> {
    r.try_get(c)
}
fn get_json(r: &AnyRow, c: &str) -> Result<Value, sqlx::Error> {
    Ok(serde_json::from_str(&get_s(r, c)?).unwrap_or(Value::Null))
}

/// `GET /api/territories`: every territory the caller may read, with managers and dealer counts.
#[utoipa::path(
    get,
    path = "/api/territories",
    tag = "read",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Territories the caller may read", body = Vec<TerritorySummary>),
        Authed,
        Always,
    )
)]
pub async fn territories(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TerritorySummary>>, ApiError> {
    let mut managers: BTreeMap<String, Vec<UserRef>> = BTreeMap::new();
    for (t, id, name) in state.store.territory_managers().await? {
        managers.entry(t).or_default().push(UserRef { id, name });
    }
    let out = state
        .store
        .territories()
        .await?
        .into_iter()
        .filter(|(id, ..)| caller.can_access(id))
        .map(|(id, name, region, dealers)| TerritorySummary {
            managers: managers.remove(&id).unwrap_or_default(),
            id,
            name,
            region,
            dealer_count: dealers,
        })
        .collect();
    Ok(Json(out))
}

/// A user by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRef {
    #[schema(value_type = UserId)]
    id: String,
    name: String,
}

/// A territory in `GET /api/territories`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TerritorySummary {
    #[schema(value_type = TerritoryId)]
    id: String,
    name: String,
    region: String,
    /// Its assigned managers.
    managers: Vec<UserRef>,
    dealer_count: i64,
}

fn dealer_filter(state: &AppState, caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "territory", &mut f)?;
    if let Some(m) = text(&q.manager) {
        f.managed_by("territory", m);
    }
    if let Some(s) = text(&q.status) {
        f.eq("status", s);
    }
    if let Some(k) = text(&q.kind) {
        f.eq("kind", k);
    }
    if let Some(s) = text(&q.q) {
        f.contains("name", s);
    }
    if text(&q.due) == Some("true") {
        due_visit(state, &mut f);
    }
    Ok(f)
}

/// Active dealers not visited within their tier's frequency (`Settings::visit_every_days`).
fn due_visit(state: &AppState, f: &mut Filter) {
    let now = state.now();
    let cutoffs: Vec<i64> = state
        .settings
        .visit_every_days
        .iter()
        .map(|d| now.saturating_sub(d.saturating_mul(DAY_MS)))
        .collect();
    f.eq("status", "active")
        .visit_due("last_visit_at", "tier", &cutoffs);
}

/// `GET /api/dealers?territory=&manager=&status=&kind=&q=&due=true&page=&per_page=`.
#[utoipa::path(
    get,
    path = "/api/dealers",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("manager" = Option<UserId>, Query, description = "Dealers in territories this user manages"),
        ("status" = Option<String>, Query, description = "prospect, active, dormant or terminated"),
        ("kind" = Option<String>, Query, description = "distributor, retailer, business_partner or bank_branch"),
        ("q" = Option<String>, Query, description = "The name contains this"),
        ("due" = Option<bool>, Query, description = "`true`: active dealers not visited within their tier's frequency"),
        Paging,
    ),
    responses(
        (status = 200, description = "A page of dealers; totals: `by_status`, `visit_due`", body = Paged<DealerRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn dealers(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<DealerRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let f = dealer_filter(&state, &caller, &q)?;
    let (rows, total) = state
        .store
        .select_page(
            "id, territory, name, kind, tier, status, last_visit_at, open_commitments, open_problems",
            "rm_dealers",
            "territory, name, id",
            &f,
            page,
        )
        .await?;
    let by_status = state
        .store
        .select_rows(
            "status, COUNT(*) AS n",
            "rm_dealers",
            &f,
            "GROUP BY status ORDER BY status",
        )
        .await?;
    let mut due = f.clone();
    due_visit(&state, &mut due);
    let totals = json!({
        "by_status": counted(&by_status, "status")?,
        "visit_due": state.store.count("rm_dealers", &due).await?,
    });
    with_totals(
        paged(rows, total, page, |r| {
            Ok(DealerRow {
                id: get_s(r, "id")?,
                territory: get_s(r, "territory")?,
                name: get_s(r, "name")?,
                kind: get_s(r, "kind")?,
                tier: get_i(r, "tier")?,
                status: get_s(r, "status")?,
                last_visit_at: get_oi(r, "last_visit_at")?,
                open_commitments: get_i(r, "open_commitments")?,
                open_problems: get_i(r, "open_problems")?,
            })
        }),
        totals,
    )
}

pub(crate) fn with_totals<T>(
    p: Result<Json<Paged<T>>, ApiError>,
    totals: Value,
) -> Result<Json<Paged<T>>, ApiError> {
    let Json(mut p) = p?;
    p.totals = Some(totals);
    Ok(Json(p))
}

pub(crate) fn internal(e: sqlx::Error) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `[{key: …, n: …}]` from `key, COUNT(*) AS n` rows.
pub(crate) fn counted(rows: &[AnyRow], key: &str) -> Result<Vec<Value>, ApiError> {
    rows.iter()
        .map(|r| Ok(json!({ key: get_s(r, key)?, "n": get_i(r, "n")? })))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(internal)
}

/// Epoch day 0 was a Thursday: shift by three days so weeks start on Monday (UTC).
const WEEK_SQL: &str = "((v.at + 259200000) / 604800000) * 604800000 - 259200000";

fn visit_filter(caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "v.territory", &mut f)?;
    if let Some(m) = text(&q.manager) {
        f.eq("v.manager", m);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("v.dealer", d);
    }
    date_range(q, "v.at", &mut f)?;
    Ok(f)
}

/// Visits per week (Monday 00:00 UTC, epoch ms) and manager.
async fn visits_per_week(state: &AppState, f: &Filter) -> Result<Vec<Value>, ApiError> {
    let rows = state
        .store
        .select_rows(
            &format!("{WEEK_SQL} AS week, v.manager AS manager, COUNT(*) AS n"),
            "rm_visits v",
            f,
            "GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "week": get_i(r, "week")?,
                "manager": get_s(r, "manager")?,
                "n": get_i(r, "n")?,
            }))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(internal)
}

/// `GET /api/visits?territory=&manager=&dealer=&from=&to=` (epoch ms, inclusive).
#[utoipa::path(
    get,
    path = "/api/visits",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("manager" = Option<UserId>, Query, description = "Visits by this manager"),
        ("dealer" = Option<DealerId>, Query, description = "Visits to this dealer"),
        Period,
        Paging,
    ),
    responses(
        (status = 200, description = "A page of visits, newest first; totals: `per_week`", body = Paged<VisitRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<VisitRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let f = visit_filter(&caller, &q)?;
    let (rows, total) = state
        .store
        .select_page(
            "v.id AS id, v.dealer AS dealer, COALESCE(d.name, v.dealer) AS dealer_name, v.territory AS territory, \
             v.manager AS manager, v.at AS at, v.purposes AS purposes, v.summary AS summary, \
             v.lat AS lat, v.lon AS lon, v.accuracy_m AS accuracy_m",
            "rm_visits v LEFT JOIN rm_dealers d ON d.id = v.dealer",
            "v.at DESC, v.id",
            &f,
            page,
        )
        .await?;
    let totals = json!({ "per_week": visits_per_week(&state, &f).await? });
    with_totals(
        paged(rows, total, page, |r| {
            Ok(VisitRow {
                id: get_s(r, "id")?,
                dealer: get_s(r, "dealer")?,
                dealer_name: get_s(r, "dealer_name")?,
                territory: get_s(r, "territory")?,
                manager: get_s(r, "manager")?,
                at: get_i(r, "at")?,
                purposes: get_json(r, "purposes")?,
                summary: get_s(r, "summary")?,
                lat: get_of(r, "lat")?,
                lon: get_of(r, "lon")?,
                accuracy_m: get_of(r, "accuracy_m")?,
            })
        }),
        totals,
    )
}

/// The core's overdue rule on a read-model row (a row that does not read is not overdue).
fn is_overdue(status: &str, due: &str, today: Day) -> bool {
    match (status.parse(), due.parse()) {
        (Ok(status), Ok(due)) => fieldsync_core::model::commitment::overdue(status, due, today),
        _ => false,
    }
}

/// Today in every territory's zone, now.
pub(crate) async fn todays(state: &AppState) -> Result<Todays, ApiError> {
    Ok(Todays::at(
        state.store.territory_zones().await?,
        state.now(),
    ))
}

/// Open and past due in the commitment's territory's zone (`Commitment::is_overdue` on today there).
fn overdue(f: &mut Filter, todays: &Todays) {
    f.eq("c.status", "open").lt_text_by(
        "c.due",
        "c.territory",
        &todays.other_days(),
        &todays.default.day.to_string(),
    );
}

fn commitment_filter(caller: &Caller, q: &ListQuery, todays: &Todays) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "c.territory", &mut f)?;
    if let Some(s) = text(&q.status) {
        f.eq("c.status", s);
    }
    if text(&q.overdue) == Some("true") {
        overdue(&mut f, todays);
    }
    if let Some(o) = text(&q.owner).or(text(&q.manager)) {
        f.eq("c.owner", o);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("c.dealer", d);
    }
    date_range(q, "c.made_at", &mut f)?;
    Ok(f)
}

/// Commitments per status, how many open ones are overdue, and the kept, broken
/// and overdue rates of those made (`rates`; a commitment pending approval is not made).
async fn commitment_totals(
    state: &AppState,
    f: &Filter,
    todays: &Todays,
) -> Result<Value, ApiError> {
    let rows = state
        .store
        .select_rows(
            "c.status AS status, COUNT(*) AS n",
            "rm_commitments c",
            f,
            "GROUP BY c.status ORDER BY c.status",
        )
        .await?;
    let mut late = f.clone();
    overdue(&mut late, todays);
    let late = state.store.count("rm_commitments c", &late).await?;
    let by_status = counted(&rows, "status")?;
    let n = |s: &str| {
        by_status
            .iter()
            .find(|r| r["status"] == s)
            .and_then(|r| r["n"].as_i64())
            .unwrap_or(0)
    };
    // Rates of the commitments made (not pending approval, rejected or cancelled).
    let made = n("kept") + n("broken") + n("open");
    let rate = |k: i64| (made > 0).then(|| k as f64 / made as f64);
    Ok(json!({
        "rates": {"made": made, "kept": rate(n("kept")), "broken": rate(n("broken")), "overdue": rate(late)},
        "by_status": by_status,
        "overdue": late,
    }))
}

/// `GET /api/commitments?status=&overdue=true&territory=&owner=&manager=&dealer=&from=&to=`.
#[utoipa::path(
    get,
    path = "/api/commitments",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("status" = Option<String>, Query, description = "open, kept, broken or cancelled"),
        ("overdue" = Option<bool>, Query, description = "`true`: open and past due"),
        ("owner" = Option<UserId>, Query, description = "Owned by this user"),
        ("manager" = Option<UserId>, Query, description = "Same as owner"),
        ("dealer" = Option<DealerId>, Query, description = "Made to this dealer"),
        Period,
        Paging,
    ),
    responses(
        (status = 200, description = "A page of commitments by due date (period: made at); totals: `by_status`, `overdue`", body = Paged<CommitmentRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn commitments(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<CommitmentRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let todays = todays(&state).await?;
    let f = commitment_filter(&caller, &q, &todays)?;
    let (rows, total) = state
        .store
        .select_page(
            "c.id AS id, c.dealer AS dealer, COALESCE(d.name, c.dealer) AS dealer_name, c.territory AS territory, \
             c.what AS what, c.to_whom AS to_whom, c.owner AS owner, c.made_by AS made_by, c.made_at AS made_at, \
             c.due AS due, c.amount_minor AS amount_minor, c.currency AS currency, c.status AS status",
            "rm_commitments c LEFT JOIN rm_dealers d ON d.id = c.dealer",
            "c.due, c.id",
            &f,
            page,
        )
        .await?;
    let totals = commitment_totals(&state, &f, &todays).await?;
    with_totals(
        paged(rows, total, page, |r| {
            let currency: Option<String> = r.try_get("currency")?;
            let (territory, due, status) = (
                get_s(r, "territory")?,
                get_s(r, "due")?,
                get_s(r, "status")?,
            );
            Ok(CommitmentRow {
                id: get_s(r, "id")?,
                dealer: get_s(r, "dealer")?,
                dealer_name: get_s(r, "dealer_name")?,
                what: get_s(r, "what")?,
                to_whom: get_s(r, "to_whom")?,
                owner: get_s(r, "owner")?,
                made_by: get_s(r, "made_by")?,
                made_at: get_i(r, "made_at")?,
                amount_minor: get_oi(r, "amount_minor")?,
                currency,
                overdue: is_overdue(&status, &due, todays.today(&territory).day),
                territory,
                due,
                status,
            })
        }),
        totals,
    )
}

fn claim_filter(caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "c.territory", &mut f)?;
    if let Some(s) = text(&q.status) {
        f.eq("c.status", s);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("c.dealer", d);
    }
    if let Some(c) = text(&q.category) {
        f.eq("c.category", c);
    }
    if let Some(m) = text(&q.manager) {
        f.eq("c.requested_by", m);
    }
    date_range(q, "c.requested_at", &mut f)?;
    Ok(f)
}

/// The latest day of spending that is overdue today, by head office's ageing
/// (core's `ClaimAgeing::overdue_through`).
async fn claims_overdue_through(state: &AppState) -> Result<String, ApiError> {
    let ageing = super::ageing::load(state).await?;
    Ok(fieldsync_core::calendar::Timestamp(state.now())
        .day()
        .ok()
        .and_then(|d| ageing.overdue_through(d))
        .map(|d| d.to_string())
        .unwrap_or_default())
}

/// Limits `f` to claims spent on or before `through` and not reconciled.
fn overdue_claims(f: &mut Filter, through: &str) {
    f.eq("c.status", "spent").le_text("c.spent_on", through);
}

/// Spend: what was spent once spent or reconciled, what was approved until then.
pub(crate) const SPEND_SQL: &str = "CAST(SUM(CASE WHEN c.status IN ('spent', 'reconciled') THEN COALESCE(c.spent_minor, c.amount_minor) \
     WHEN c.status = 'approved' THEN c.amount_minor ELSE 0 END) AS BIGINT) AS spend_minor";

/// Claims per stage and currency (count, amounts), spend per month, category and
/// currency, and how many are overdue for reconciliation.
async fn claim_totals(state: &AppState, f: &Filter) -> Result<Value, ApiError> {
    let stages = state
        .store
        .select_rows(
            "c.status AS status, c.currency AS currency, COUNT(*) AS n, \
             CAST(SUM(c.amount_minor) AS BIGINT) AS amount_minor, CAST(SUM(COALESCE(c.spent_minor, 0)) AS BIGINT) AS spent_minor",
            "rm_claims c",
            f,
            "GROUP BY c.status, c.currency ORDER BY c.status, c.currency",
        )
        .await?;
    let month = state.store.month_sql("c.requested_at");
    let months = state
        .store
        .select_rows(
            &format!(
                "{month} AS month, c.category AS category, c.currency AS currency, {SPEND_SQL}"
            ),
            "rm_claims c",
            f,
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .await?;
    let by_status = stages
        .iter()
        .map(|r| {
            Ok(json!({
                "status": get_s(r, "status")?,
                "currency": get_s(r, "currency")?,
                "n": get_i(r, "n")?,
                "amount_minor": get_i(r, "amount_minor")?,
                "spent_minor": get_i(r, "spent_minor")?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(internal)?;
    let spend = months
        .iter()
        .map(|r| {
            Ok(json!({
                "month": get_s(r, "month")?,
                "category": get_s(r, "category")?,
                "currency": get_s(r, "currency")?,
                "spend_minor": get_i(r, "spend_minor")?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(internal)?;
    let mut overdue = f.clone();
    overdue_claims(&mut overdue, &claims_overdue_through(state).await?);
    Ok(json!({
        "by_status": by_status,
        "spend_by_month": spend,
        "overdue": state.store.count("rm_claims c", &overdue).await?,
    }))
}

/// `GET /api/claims?status=&overdue=true&territory=&manager=&dealer=&category=&from=&to=`.
#[utoipa::path(
    get,
    path = "/api/claims",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("status" = Option<String>, Query, description = "requested, approved, rejected, spent or reconciled"),
        ("manager" = Option<UserId>, Query, description = "Requested by this user"),
        ("dealer" = Option<DealerId>, Query, description = "For this dealer"),
        ("category" = Option<String>, Query, description = "An expense category"),
        ("overdue" = Option<bool>, Query, description = "`true`: spent and not reconciled within head office's days (`GET /api/claim-ageing`)"),
        Period,
        Paging,
    ),
    responses(
        (status = 200, description = "A page of claims, newest first (period: requested at); totals: `by_status`, `spend_by_month`, `overdue`", body = Paged<ClaimRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn claims(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<ClaimRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = claim_filter(&caller, &q)?;
    if text(&q.overdue) == Some("true") {
        overdue_claims(&mut f, &claims_overdue_through(&state).await?);
    }
    let (rows, total) = state
        .store
        .select_page(
            "c.id AS id, c.dealer AS dealer, COALESCE(d.name, c.dealer) AS dealer_name, c.territory AS territory, \
             c.category AS category, c.purpose AS purpose, c.amount_minor AS amount_minor, c.currency AS currency, \
             c.spent_minor AS spent_minor, c.status AS status, c.requested_by AS requested_by, c.requested_at AS requested_at, \
             c.spent_on AS spent_on, COALESCE(c.owner, c.requested_by) AS owner",
            "rm_claims c LEFT JOIN rm_dealers d ON d.id = c.dealer",
            "c.requested_at DESC, c.id",
            &f,
            page,
        )
        .await?;
    let totals = claim_totals(&state, &f).await?;
    with_totals(
        paged(rows, total, page, |r| {
            Ok(ClaimRow {
                id: get_s(r, "id")?,
                dealer: get_s(r, "dealer")?,
                dealer_name: get_s(r, "dealer_name")?,
                territory: get_s(r, "territory")?,
                category: get_s(r, "category")?,
                purpose: get_s(r, "purpose")?,
                amount_minor: get_i(r, "amount_minor")?,
                currency: get_s(r, "currency")?,
                spent_minor: get_oi(r, "spent_minor")?,
                status: get_s(r, "status")?,
                requested_by: get_s(r, "requested_by")?,
                requested_at: get_i(r, "requested_at")?,
                owner: get_s(r, "owner")?,
                spent_on: r.try_get("spent_on")?,
            })
        }),
        totals,
    )
}

fn problem_filter(caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "p.territory", &mut f)?;
    if let Some(s) = text(&q.status) {
        f.eq("p.status", s);
    }
    if let Some(c) = text(&q.category) {
        f.eq("p.category", c);
    }
    if let Some(s) = text(&q.severity) {
        f.eq("p.severity", s);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("p.dealer", d);
    }
    if let Some(m) = text(&q.manager) {
        f.managed_by("p.territory", m);
    }
    if text(&q.escalated) == Some("true") {
        f.not_null("p.escalated_at").ne("p.status", "resolved");
    }
    date_range(q, "p.raised_at", &mut f)?;
    Ok(f)
}

/// Open problems' (and at-risk handover items') age buckets, in days: `[from, until)`, the
/// last one open-ended.
pub(crate) const AGE_BUCKETS: [(i64, Option<i64>); 4] =
    [(0, Some(7)), (7, Some(30)), (30, Some(90)), (90, None)];

fn minus_one(cases: &[(String, i64)]) -> Vec<(String, i64)> {
    cases.iter().map(|(t, v)| (t.clone(), v - 1)).collect()
}

/// Problems per status, open ones per category and per age bucket.
async fn problem_totals(state: &AppState, f: &Filter, todays: &Todays) -> Result<Value, ApiError> {
    let by_status = state
        .store
        .select_rows(
            "p.status AS status, COUNT(*) AS n",
            "rm_problems p",
            f,
            "GROUP BY p.status ORDER BY p.status",
        )
        .await?;
    let mut open = f.clone();
    open.ne("p.status", "resolved");
    let by_category = state
        .store
        .select_rows(
            "p.category AS category, COUNT(*) AS n",
            "rm_problems p",
            &open,
            "GROUP BY p.category ORDER BY p.category",
        )
        .await?;
    // Age in calendar days of the problem's territory's zone: at least `from`
    // days old means raised before the start of the day `from - 1` days ago.
    let mut ages = Vec::new();
    for (from, until) in AGE_BUCKETS {
        let mut b = open.clone();
        let (default, other) = todays.day_starts(from - 1);
        b.le_by(
            "p.raised_at",
            "p.territory",
            &minus_one(&other),
            default - 1,
        );
        if let Some(u) = until {
            let (default, other) = todays.day_starts(u - 1);
            b.ge_by("p.raised_at", "p.territory", &other, default);
        }
        ages.push(json!({
            "from_days": from,
            "until_days": until,
            "n": state.store.count("rm_problems p", &b).await?,
        }));
    }
    Ok(json!({
        "by_status": counted(&by_status, "status")?,
        "open_by_category": counted(&by_category, "category")?,
        "open_by_age": ages,
    }))
}

/// `GET /api/problems?status=&escalated=true&category=&severity=&territory=&manager=&dealer=&from=&to=`.
#[utoipa::path(
    get,
    path = "/api/problems",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("status" = Option<String>, Query, description = "open, in_progress or resolved"),
        ("category" = Option<String>, Query, description = "A problem category"),
        ("severity" = Option<String>, Query, description = "low, medium, high or critical"),
        ("manager" = Option<UserId>, Query, description = "A manager of the dealer's territory"),
        ("dealer" = Option<DealerId>, Query, description = "About this dealer"),
        ("escalated" = Option<bool>, Query, description = "`true`: head office's escalation queue, problems escalated and not resolved (answered or not)"),
        Period,
        Paging,
    ),
    responses(
        (status = 200, description = "A page of problems, oldest first (period: raised at); totals: `by_status`, `open_by_category`, `open_by_age`", body = Paged<ProblemRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn problems(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<ProblemRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let f = problem_filter(&caller, &q)?;
    let (rows, total) = state
        .store
        .select_page(
            "p.id AS id, p.dealer AS dealer, COALESCE(d.name, p.dealer) AS dealer_name, p.territory AS territory, \
             p.category AS category, p.severity AS severity, p.title AS title, p.status AS status, \
             p.raised_at AS raised_at, p.resolved_at AS resolved_at, p.escalated AS escalated, \
             p.resolved_by AS resolved_by, p.owner AS owner, p.escalated_by AS escalated_by, p.escalated_at AS escalated_at, \
             p.responded_by AS responded_by, p.responded_at AS responded_at, p.response AS response, p.assigned_to AS assigned_to",
            "rm_problems p LEFT JOIN rm_dealers d ON d.id = p.dealer",
            "p.raised_at, p.id",
            &f,
            page,
        )
        .await?;
    let todays = todays(&state).await?;
    let totals = problem_totals(&state, &f, &todays).await?;
    with_totals(
        paged(rows, total, page, |r| {
            let raised = get_i(r, "raised_at")?;
            let resolved = get_oi(r, "resolved_at")?;
            let territory = get_s(r, "territory")?;
            // Open: calendar days since raised; resolved: days it took (in the territory's zone).
            let until = resolved.unwrap_or(todays.now.millis());
            Ok(ProblemRow {
                id: get_s(r, "id")?,
                dealer: get_s(r, "dealer")?,
                dealer_name: get_s(r, "dealer_name")?,
                territory: territory.clone(),
                category: get_s(r, "category")?,
                severity: get_s(r, "severity")?,
                title: get_s(r, "title")?,
                status: get_s(r, "status")?,
                raised_at: raised,
                resolved_at: resolved,
                age_days: todays.days_between(&territory, raised, until),
                escalated: get_i(r, "escalated")? != 0,
                resolved_by: r.try_get("resolved_by")?,
                owner: r.try_get("owner")?,
                escalated_by: r.try_get("escalated_by")?,
                escalated_at: get_oi(r, "escalated_at")?,
                responded_by: r.try_get("responded_by")?,
                responded_at: get_oi(r, "responded_at")?,
                response: r.try_get("response")?,
                assigned_to: r.try_get("assigned_to")?,
            })
        }),
        totals,
    )
}

/// `GET /api/conflicts?territory=`: fields edited concurrently, with every value and its author.
#[utoipa::path(
    get,
    path = "/api/conflicts",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("dealer" = Option<DealerId>, Query, description = "In this dealer's document"),
        Paging,
    ),
    responses(
        (status = 200, description = "A page of fields edited concurrently, with every value and its author", body = Paged<ConflictRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<ConflictRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "c.territory", &mut f)?;
    if let Some(d) = text(&q.dealer) {
        f.eq("c.dealer", d);
    }
    let (rows, total) = state
        .store
        .select_page(
            "c.doc AS doc, c.dealer AS dealer, d.name AS dealer_name, c.territory AS territory, \
             c.path AS path, c.winner AS winner, c.others AS others, \
             c.conflict_id AS conflict_id, c.kind AS kind",
            "rm_conflicts c LEFT JOIN rm_dealers d ON d.id = c.dealer",
            "c.territory, c.doc, c.path",
            &f,
            page,
        )
        .await?;
    paged(rows, total, page, |r| {
        let dealer: Option<String> = r.try_get("dealer")?;
        let dealer_name: Option<String> = r.try_get("dealer_name")?;
        Ok(ConflictRow {
            id: get_s(r, "conflict_id")?,
            kind: get_s(r, "kind")?,
            doc: get_s(r, "doc")?,
            dealer,
            dealer_name,
            territory: get_s(r, "territory")?,
            path: get_json(r, "path")?,
            winner: get_json(r, "winner")?,
            others: get_json(r, "others")?,
        })
    })
}

/// `{id, …record}` of each record, the newest first by `key` when given.
fn records<K: ToString, R: Serialize>(
    map: &BTreeMap<K, R>,
    newest_first: Option<&str>,
) -> Vec<Value> {
    let mut out: Vec<Value> = map
        .iter()
        .map(|(id, r)| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.insert("id".into(), Value::String(id.to_string()));
            }
            v
        })
        .collect();
    if let Some(key) = newest_first {
        out.sort_by_key(|v| std::cmp::Reverse(v[key].as_i64().unwrap_or_default()));
    }
    out
}

/// `{id, …record, standing}` of each tracked record: its status, open and
/// overdue as the core decides them on `today` (the phone shows the same).
fn tracked<K: ToString, R: Tracked>(map: &BTreeMap<K, R>, today: Day) -> Vec<Value> {
    map.iter()
        .map(|(id, r)| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.insert("id".into(), Value::String(id.to_string()));
                o.insert(
                    "standing".into(),
                    serde_json::to_value(Standing::of(r, today)).unwrap_or(Value::Null),
                );
            }
            v
        })
        .collect()
}

/// The commitments as [`tracked`] shows them, except that one above its maker's
/// `authority` and not yet approved stands as `pending_approval`, never overdue:
/// it does not count as made (as in the read model and on the phone).
fn commitments_json(
    map: &BTreeMap<CommitmentId, Commitment>,
    today: Day,
    authority: Option<&[Money]>,
) -> Vec<Value> {
    let mut out = tracked(map, today);
    for (v, c) in out.iter_mut().zip(map.values()) {
        if c.is_pending(authority)
            && let Some(Value::Object(s)) = v.get_mut("standing")
        {
            s.insert("status".into(), Value::from("pending_approval"));
            s.insert("overdue".into(), Value::Bool(false));
        }
    }
    out
}

/// The dealer document's whole state as JSON, its records' standing on `today`
/// in its territory's `zone`, commitments against the territory's commitment
/// `authority` (CPU work: run on a blocking thread).
fn dealer_json(
    snapshot: &[u8],
    zone: &Zone,
    today: Day,
    authority: Option<&[Money]>,
) -> Result<Value, ApiError> {
    let doc = Document::load(snapshot, Hub::actor())
        .map_err(|e| ApiError::Internal(format!("stored dealer does not load: {e}")))?;
    let s = doc
        .dealer_state()
        .map_err(|e| ApiError::Internal(format!("stored dealer does not read: {e}")))?;
    Ok(json!({
        "id": s.id.to_string(),
        "territory": s.territory.to_string(),
        "zone": zone.name(),
        "today": today.to_string(),
        "profile": serde_json::to_value(&s.profile).unwrap_or(Value::Null),
        "visits": records(&s.visits, Some("at")),
        "commitments": commitments_json(&s.commitments, today, authority),
        "claims": tracked(&s.claims, today),
        "problems": tracked(&s.problems, today),
        "activities": tracked(&s.activities, today),
        "notes": records(&s.notes, Some("at")),
    }))
}

/// `GET /api/dealers/{id}`: one dealer's page for head office: profile, visits
/// (notes, attendees, photos), commitments, claims, problems, activities.
#[utoipa::path(
    get,
    path = "/api/dealers/{id}",
    tag = "read",
    security(("bearer" = [])),
    params(("id" = DealerId, Path, description = "The dealer")),
    responses(
        (status = 200, description = "The dealer's whole state: `{id, territory, profile, visits, commitments, claims, problems, activities, notes}`, each record with its `id`", body = Object),
        (status = 404, description = "No such dealer, or not in a territory the caller may read (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn dealer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let missing = || ApiError::NotFound(format!("no dealer {id}"));
    let stored = state
        .store
        .load_doc(&format!("dealer:{id}"))
        .await?
        .ok_or_else(missing)?;
    // Someone else's dealer looks exactly like no dealer.
    if !caller.can_access(&stored.territory) {
        return Err(missing());
    }
    let todays = todays(&state).await?;
    let (zone, today) = (
        todays.zone(&stored.territory),
        todays.today(&stored.territory).day,
    );
    let territory: TerritoryId = stored.territory.parse().map_err(|_| {
        ApiError::Internal(format!("stored territory {} is invalid", stored.territory))
    })?;
    let authority = crate::api::approvals::load(&state)
        .await?
        .authority(&territory);
    let value = tokio::task::spawn_blocking(move || {
        dealer_json(&stored.snapshot, &zone, today, authority.as_deref())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(value))
}

/// `GET /api/managers/{id}?territory=&from=&to=`: one manager at a glance: visits
/// per week, coverage by tier frequency, commitments kept, broken and overdue,
/// open problems by age in their territories, and spend.
#[utoipa::path(
    get,
    path = "/api/managers/{id}",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("id" = UserId, Path, description = "The manager"),
        ("territory" = Option<TerritoryId>, Query, description = "Only this territory (else every territory the caller may read)"),
        Period,
    ),
    responses(
        (status = 200, description = "The manager at a glance: visits per week, coverage by tier frequency, commitments, problems by age, spend", body = Object),
        (status = 400, description = "A filter value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such manager in a territory the caller may read (`not_found`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn manager(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut q = query(q)?;
    let missing = || ApiError::NotFound(format!("no manager {id}"));
    let name = state.store.user_name(&id).await?.ok_or_else(missing)?;
    let territories: Vec<String> = state
        .store
        .managed_territories(&id)
        .await?
        .into_iter()
        .filter(|t| caller.can_access(t))
        .collect();
    if territories.is_empty() && !caller.sees_all() {
        return Err(missing());
    }
    q.manager = Some(id.clone());
    q.dealer = None;
    let visits = visits_per_week(&state, &visit_filter(&caller, &q)?).await?;
    let todays = todays(&state).await?;
    let commitments =
        commitment_totals(&state, &commitment_filter(&caller, &q, &todays)?, &todays).await?;
    let problems = problem_totals(&state, &problem_filter(&caller, &q)?, &todays).await?;
    let claims = claim_totals(&state, &claim_filter(&caller, &q)?).await?;
    // Coverage is as of now: the date range does not apply.
    let mut dealers = Filter::new();
    scope(&caller, &q, "territory", &mut dealers)?;
    dealers.managed_by("territory", &id).eq("status", "active");
    let mut due = dealers.clone();
    due_visit(&state, &mut due);
    let (cols, tail) = ("tier, COUNT(*) AS n", "GROUP BY tier ORDER BY tier");
    let all = state
        .store
        .select_rows(cols, "rm_dealers", &dealers, tail)
        .await?;
    let late = state
        .store
        .select_rows(cols, "rm_dealers", &due, tail)
        .await?;
    let late: BTreeMap<i64, i64> = late
        .iter()
        .map(|r| Ok((get_i(r, "tier")?, get_i(r, "n")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(internal)?;
    let every = &state.settings.visit_every_days;
    let by_tier = all
        .iter()
        .map(|r| {
            let tier = get_i(r, "tier")?;
            let days = usize::try_from(tier - 1)
                .ok()
                .and_then(|i| every.get(i))
                .or(every.last());
            Ok(json!({
                "tier": tier,
                "every_days": days,
                "dealers": get_i(r, "n")?,
                "due": late.get(&tier).copied().unwrap_or(0),
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(internal)?;
    Ok(Json(json!({
        "id": id,
        "name": name,
        "territories": territories,
        "visits_per_week": visits,
        "coverage": {
            "dealers": state.store.count("rm_dealers", &dealers).await?,
            "due": state.store.count("rm_dealers", &due).await?,
            "by_tier": by_tier,
        },
        "commitments": commitments,
        "problems": problems,
        "spend": claims,
        "visit_every_days": every,
    })))
}
