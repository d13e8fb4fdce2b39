//! Head office's read API over the materialised tables: filters, pagination, and each caller limited to the territories they may read.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Filter, Page, now_millis};

const DEFAULT_PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 500;
const DAY_MS: i64 = 86_400_000;

/// Every filter any list accepts (each list reads the ones it knows).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    territory: Option<String>,
    manager: Option<String>,
    dealer: Option<String>,
    owner: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    category: Option<String>,
    severity: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    overdue: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Paged {
    pub items: Vec<Value>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

fn int_param(name: &str, v: Option<&String>) -> Result<Option<i64>, ApiError> {
    v.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad("bad_query", format!("'{name}' must be an integer")))
        })
        .transpose()
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl ListQuery {
    fn page(&self) -> Result<Page, ApiError> {
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

fn query(q: Result<Query<ListQuery>, QueryRejection>) -> Result<ListQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad("bad_query", e.body_text()))
}

/// Limits `f` to what the caller may read, honouring an explicit `territory` filter.
fn scope(
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
fn date_range(q: &ListQuery, column: &'static str, f: &mut Filter) -> Result<(), ApiError> {
    if let Some(from) = int_param("from", q.from.as_ref())? {
        f.ge(column, from);
    }
    if let Some(to) = int_param("to", q.to.as_ref())? {
        f.le(column, to);
    }
    Ok(())
}

fn paged(
    rows: Vec<AnyRow>,
    total: i64,
    page: Page,
    map: impl Fn(&AnyRow) -> Result<Value, sqlx::Error>,
) -> Result<Json<Paged>, ApiError> {
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
    }))
}

fn get_s(r: &AnyRow, c: &str) -> Result<String, sqlx::Error> {
    r.try_get(c)
}
fn get_i(r: &AnyRow, c: &str) -> Result<i64, sqlx::Error> {
    r.try_get(c)
}
fn get_oi(r: &AnyRow, c: &str) -> Result<Option<i64>, sqlx::Error> {
    r.try_get(c)
}
fn get_of(r: &AnyRow, c: &str) -> Result<Option<f64>, sqlx::Error> {
    r.try_get(c)
}
fn get_json(r: &AnyRow, c: &str) -> Result<Value, sqlx::Error> {
    Ok(serde_json::from_str(&get_s(r, c)?).unwrap_or(Value::Null))
}

/// `GET /api/territories`: every territory the caller may read, with managers and dealer counts.
pub async fn territories(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    let mut managers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (t, id, name) in state.store.territory_managers().await? {
        managers
            .entry(t)
            .or_default()
            .push(json!({"id": id, "name": name}));
    }
    let out = state
        .store
        .territories()
        .await?
        .into_iter()
        .filter(|(id, ..)| caller.can_access(id))
        .map(|(id, name, region, dealers)| {
            json!({
                "id": id,
                "name": name,
                "region": region,
                "managers": managers.remove(&id).unwrap_or_default(),
                "dealer_count": dealers,
            })
        })
        .collect();
    Ok(Json(out))
}

/// `GET /api/dealers?territory=&manager=&status=&kind=&q=&page=&per_page=`.
pub async fn dealers(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "territory", &mut f)?;
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
    paged(rows, total, page, |r| {
        Ok(json!({
            "id": get_s(r, "id")?,
            "territory": get_s(r, "territory")?,
            "name": get_s(r, "name")?,
            "kind": get_s(r, "kind")?,
            "tier": get_i(r, "tier")?,
            "status": get_s(r, "status")?,
            "last_visit_at": get_oi(r, "last_visit_at")?,
            "open_commitments": get_i(r, "open_commitments")?,
            "open_problems": get_i(r, "open_problems")?,
        }))
    })
}

/// `GET /api/visits?territory=&manager=&dealer=&from=&to=` (epoch ms, inclusive).
pub async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "v.territory", &mut f)?;
    if let Some(m) = text(&q.manager) {
        f.eq("v.manager", m);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("v.dealer", d);
    }
    date_range(&q, "v.at", &mut f)?;
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
    paged(rows, total, page, |r| {
        Ok(json!({
            "id": get_s(r, "id")?,
            "dealer": get_s(r, "dealer")?,
            "dealer_name": get_s(r, "dealer_name")?,
            "territory": get_s(r, "territory")?,
            "manager": get_s(r, "manager")?,
            "at": get_i(r, "at")?,
            "purposes": get_json(r, "purposes")?,
            "summary": get_s(r, "summary")?,
            "lat": get_of(r, "lat")?,
            "lon": get_of(r, "lon")?,
            "accuracy_m": get_of(r, "accuracy_m")?,
        }))
    })
}

fn today() -> String {
    fieldsync_core::calendar::Timestamp(now_millis())
        .day()
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// `GET /api/commitments?status=&overdue=true&territory=&owner=&manager=&dealer=&from=&to=`.
pub async fn commitments(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "c.territory", &mut f)?;
    if let Some(s) = text(&q.status) {
        f.eq("c.status", s);
    }
    if text(&q.overdue) == Some("true") {
        f.eq("c.status", "open").lt_text("c.due", &today());
    }
    if let Some(o) = text(&q.owner).or(text(&q.manager)) {
        f.eq("c.owner", o);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("c.dealer", d);
    }
    date_range(&q, "c.made_at", &mut f)?;
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
    paged(rows, total, page, |r| {
        let currency: Option<String> = r.try_get("currency")?;
        Ok(json!({
            "id": get_s(r, "id")?,
            "dealer": get_s(r, "dealer")?,
            "dealer_name": get_s(r, "dealer_name")?,
            "territory": get_s(r, "territory")?,
            "what": get_s(r, "what")?,
            "to_whom": get_s(r, "to_whom")?,
            "owner": get_s(r, "owner")?,
            "made_by": get_s(r, "made_by")?,
            "made_at": get_i(r, "made_at")?,
            "due": get_s(r, "due")?,
            "amount_minor": get_oi(r, "amount_minor")?,
            "currency": currency,
            "status": get_s(r, "status")?,
        }))
    })
}

/// `GET /api/claims?status=&territory=&manager=&dealer=&category=&from=&to=`.
pub async fn claims(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "c.territory", &mut f)?;
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
    date_range(&q, "c.requested_at", &mut f)?;
    let (rows, total) = state
        .store
        .select_page(
            "c.id AS id, c.dealer AS dealer, COALESCE(d.name, c.dealer) AS dealer_name, c.territory AS territory, \
             c.category AS category, c.purpose AS purpose, c.amount_minor AS amount_minor, c.currency AS currency, \
             c.spent_minor AS spent_minor, c.status AS status, c.requested_by AS requested_by, c.requested_at AS requested_at",
            "rm_claims c LEFT JOIN rm_dealers d ON d.id = c.dealer",
            "c.requested_at DESC, c.id",
            &f,
            page,
        )
        .await?;
    paged(rows, total, page, |r| {
        Ok(json!({
            "id": get_s(r, "id")?,
            "dealer": get_s(r, "dealer")?,
            "dealer_name": get_s(r, "dealer_name")?,
            "territory": get_s(r, "territory")?,
            "category": get_s(r, "category")?,
            "purpose": get_s(r, "purpose")?,
            "amount_minor": get_i(r, "amount_minor")?,
            "currency": get_s(r, "currency")?,
            "spent_minor": get_oi(r, "spent_minor")?,
            "status": get_s(r, "status")?,
            "requested_by": get_s(r, "requested_by")?,
            "requested_at": get_i(r, "requested_at")?,
        }))
    })
}

/// `GET /api/problems?status=&category=&severity=&territory=&manager=&dealer=&from=&to=`.
pub async fn problems(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let mut f = Filter::new();
    scope(&caller, &q, "p.territory", &mut f)?;
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
    date_range(&q, "p.raised_at", &mut f)?;
    let (rows, total) = state
        .store
        .select_page(
            "p.id AS id, p.dealer AS dealer, COALESCE(d.name, p.dealer) AS dealer_name, p.territory AS territory, \
             p.category AS category, p.severity AS severity, p.title AS title, p.status AS status, \
             p.raised_at AS raised_at, p.resolved_at AS resolved_at, p.escalated AS escalated",
            "rm_problems p LEFT JOIN rm_dealers d ON d.id = p.dealer",
            "p.raised_at, p.id",
            &f,
            page,
        )
        .await?;
    let now = now_millis();
    paged(rows, total, page, |r| {
        let raised = get_i(r, "raised_at")?;
        let resolved = get_oi(r, "resolved_at")?;
        // Open: days since raised; resolved: days it took.
        let until = resolved.unwrap_or(now);
        Ok(json!({
            "id": get_s(r, "id")?,
            "dealer": get_s(r, "dealer")?,
            "dealer_name": get_s(r, "dealer_name")?,
            "territory": get_s(r, "territory")?,
            "category": get_s(r, "category")?,
            "severity": get_s(r, "severity")?,
            "title": get_s(r, "title")?,
            "status": get_s(r, "status")?,
            "raised_at": raised,
            "resolved_at": resolved,
            "age_days": until.saturating_sub(raised).max(0) / DAY_MS,
            "escalated": get_i(r, "escalated")? != 0,
        }))
    })
}

/// `GET /api/conflicts?territory=`: fields edited concurrently, with every value and its author.
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged>, ApiError> {
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
             c.path AS path, c.winner AS winner, c.others AS others",
            "rm_conflicts c LEFT JOIN rm_dealers d ON d.id = c.dealer",
            "c.territory, c.doc, c.path",
            &f,
            page,
        )
        .await?;
    paged(rows, total, page, |r| {
        let dealer: Option<String> = r.try_get("dealer")?;
        let dealer_name: Option<String> = r.try_get("dealer_name")?;
        Ok(json!({
            "doc": get_s(r, "doc")?,
            "dealer": dealer,
            "dealer_name": dealer_name,
            "territory": get_s(r, "territory")?,
            "path": get_json(r, "path")?,
            "winner": get_json(r, "winner")?,
            "others": get_json(r, "others")?,
        }))
    })
}
