//! `GET /api/activities`: promotions and customer events held with dealers, filtered and paged on the server, with counts and budgets over every match.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::read::{
    ListQuery, Paged, counted, date_range, get_i, get_oi, get_s, internal, paged, query, scope,
    text, with_totals,
};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed};
use crate::state::AppState;
use crate::store::Filter;

/// An activity in `GET /api/activities`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityItem {
    pub id: String,
    pub dealer: String,
    pub dealer_name: String,
    pub territory: String,
    /// `promotion` or `customer_event`.
    pub kind: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub starts: String,
    pub ends: String,
    pub budget_minor: Option<i64>,
    pub currency: Option<String>,
    /// `planned`, `held` or `cancelled`.
    pub status: String,
    /// Who planned it.
    pub planned_by: Option<String>,
    /// Downline customers invited, and how many of them came.
    pub invited: i64,
    pub attended: i64,
    /// Headcount, given when it was held.
    pub attendance: Option<i64>,
    /// What came of it, given when it was held.
    pub result: Option<String>,
    /// How many photos were taken (`GET /api/dealers/{id}` names them).
    pub photos: i64,
    /// The claim its budget became.
    pub claim: Option<String>,
}

fn activity_filter(caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "a.territory", &mut f)?;
    if let Some(m) = text(&q.manager) {
        f.eq("a.planned_by", m);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("a.dealer", d);
    }
    if let Some(s) = text(&q.status) {
        f.eq("a.status", s);
    }
    if let Some(k) = text(&q.kind) {
        f.eq("a.kind", k);
    }
    date_range(q, "a.starts_at", &mut f)?;
    Ok(f)
}

fn item(r: &AnyRow) -> Result<ActivityItem, sqlx::Error> {
    Ok(ActivityItem {
        id: get_s(r, "id")?,
        dealer: get_s(r, "dealer")?,
        dealer_name: get_s(r, "dealer_name")?,
        territory: get_s(r, "territory")?,
        kind: get_s(r, "kind")?,
        title: get_s(r, "title")?,
        starts: get_s(r, "starts")?,
        ends: get_s(r, "ends")?,
        budget_minor: get_oi(r, "budget_minor")?,
        currency: sqlx::Row::try_get(r, "currency")?,
        status: get_s(r, "status")?,
        planned_by: sqlx::Row::try_get(r, "planned_by")?,
        invited: get_i(r, "invited")?,
        attended: get_i(r, "attended")?,
        attendance: get_oi(r, "attendance")?,
        result: sqlx::Row::try_get(r, "result")?,
        photos: get_i(r, "photos")?,
        claim: sqlx::Row::try_get(r, "claim")?,
    })
}

/// Counts per status and kind, and the budgets of the activities not cancelled, per currency.
async fn totals(state: &AppState, f: &Filter) -> Result<Value, ApiError> {
    let by_status = state
        .store
        .select_rows(
            "a.status AS status, COUNT(*) AS n",
            "rm_activities a",
            f,
            "GROUP BY a.status ORDER BY a.status",
        )
        .await?;
    let by_kind = state
        .store
        .select_rows(
            "a.kind AS kind, COUNT(*) AS n",
            "rm_activities a",
            f,
            "GROUP BY a.kind ORDER BY a.kind",
        )
        .await?;
    let mut live = f.clone();
    live.ne("a.status", "cancelled").not_null("a.currency");
    let budgets = state
        .store
        .select_rows(
            "a.currency AS currency, CAST(SUM(a.budget_minor) AS BIGINT) AS budget_minor",
            "rm_activities a",
            &live,
            "GROUP BY a.currency ORDER BY a.currency",
        )
        .await?;
    let budget = budgets
        .iter()
        .map(|r| Ok(json!({"currency": get_s(r, "currency")?, "budget_minor": get_i(r, "budget_minor")?})))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(internal)?;
    Ok(json!({
        "by_status": counted(&by_status, "status")?,
        "by_kind": counted(&by_kind, "kind")?,
        "budget": budget,
    }))
}

/// `GET /api/activities?territory=&manager=&dealer=&status=&kind=&from=&to=`.
#[utoipa::path(
    get,
    path = "/api/activities",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<String>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("manager" = Option<String>, Query, description = "Activities this manager planned"),
        ("dealer" = Option<String>, Query, description = "Activities with this dealer"),
        ("status" = Option<String>, Query, description = "`planned`, `held` or `cancelled`"),
        ("kind" = Option<String>, Query, description = "`promotion` or `customer_event`"),
        super::read::Period,
        super::read::Paging,
    ),
    responses(
        (status = 200, description = "A page of activities, latest start first (period: the start day, midnight UTC); totals: `by_status`, `by_kind`, `budget` (not cancelled, per currency)", body = Paged<ActivityItem>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn activities(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<ActivityItem>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let f = activity_filter(&caller, &q)?;
    let (rows, total) = state
        .store
        .select_page(
            "a.id AS id, a.dealer AS dealer, COALESCE(d.name, a.dealer) AS dealer_name, a.territory AS territory, \
             a.kind AS kind, a.title AS title, a.starts AS starts, a.ends AS ends, a.budget_minor AS budget_minor, \
             a.currency AS currency, a.status AS status, a.planned_by AS planned_by, a.invited AS invited, \
             a.attended AS attended, a.attendance AS attendance, a.result AS result, a.photos AS photos, a.claim AS claim",
            "rm_activities a LEFT JOIN rm_dealers d ON d.id = a.dealer",
            "a.starts_at DESC, a.id",
            &f,
            page,
        )
        .await?;
    let totals = totals(&state, &f).await?;
    with_totals(paged(rows, total, page, item), totals)
}
