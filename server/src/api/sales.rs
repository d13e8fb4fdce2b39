//! Monthly sales over HTTP: a dealer's target (head office, regional manager) and actual (the territory's managers), each month, and the list with achievement per dealer, territory and manager.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldsync_core::model::Month;
use fieldsync_core::model::sales::{achievement, check_figure};
use fieldsync_core::money::{Currency, Money};
use fieldsync_core::schema::Role;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use super::read::{
    ListQuery, Paged, get_oi, get_s, internal, paged, query, scope, text, with_totals,
};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody, json_body};
use crate::openapi::{Always, Authed, WithBody};
use crate::state::AppState;
use crate::store::{Figure, Filter, Page, SalesFigure, SalesWriteError, now_millis};

/// `PUT /api/sales/{dealer}/{month}`: one figure of a dealer's month.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetSales {
    /// `target` (head office, or the dealer's regional manager) or `actual` (a manager of the
    /// dealer's territory, its regional manager, or head office).
    #[schema(example = "actual")]
    pub figure: String,
    /// In minor units (1 TWD = 100).
    #[schema(minimum = 0, example = 12_500_000)]
    pub amount_minor: i64,
    #[schema(example = "TWD")]
    pub currency: String,
}

/// A dealer's month in `GET /api/sales`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesRow {
    pub dealer: String,
    pub dealer_name: String,
    pub territory: String,
    /// `YYYY-MM`.
    pub month: String,
    pub currency: String,
    pub target_minor: Option<i64>,
    pub actual_minor: Option<i64>,
    /// `manager` (entered) or `import` (head office's CSV), once there is an actual.
    pub actual_source: Option<String>,
    /// Actual ÷ target (1.0 = met); absent without both.
    pub achievement: Option<f64>,
}

/// The month range of a sales or profit-and-loss query (`from`/`to` as `YYYY-MM`, inclusive).
pub(crate) fn months(q: &ListQuery) -> Result<(Option<Month>, Option<Month>), ApiError> {
    let read = |name: &str, v: &Option<String>| {
        text(v)
            .map(|s| {
                s.parse::<Month>()
                    .map_err(|e| ApiError::bad("bad_query", format!("'{name}': {e}")))
            })
            .transpose()
    };
    Ok((read("from", &q.from)?, read("to", &q.to)?))
}

/// The sales rows a caller may read, filtered by territory, manager, dealer and months.
fn sales_filter(caller: &Caller, q: &ListQuery) -> Result<Filter, ApiError> {
    let mut f = Filter::new();
    scope(caller, q, "d.territory", &mut f)?;
    if let Some(m) = text(&q.manager) {
        f.managed_by("d.territory", m);
    }
    if let Some(d) = text(&q.dealer) {
        f.eq("s.dealer", d);
    }
    let (from, to) = months(q)?;
    if let Some(from) = from {
        f.ge_text("s.month", &from.to_string());
    }
    if let Some(to) = to {
        f.le_text("s.month", &to.to_string());
    }
    Ok(f)
}

const SALES_FROM: &str = "sales s JOIN rm_dealers d ON d.id = s.dealer";
const SALES_COLUMNS: &str = "s.dealer AS dealer, d.name AS dealer_name, d.territory AS territory, \
     s.month AS month, s.currency AS currency, s.target_minor AS target_minor, \
     s.actual_minor AS actual_minor, s.actual_source AS actual_source";

fn sales_row(r: &AnyRow) -> Result<SalesRow, sqlx::Error> {
    let target_minor = get_oi(r, "target_minor")?;
    let actual_minor = get_oi(r, "actual_minor")?;
    Ok(SalesRow {
        dealer: get_s(r, "dealer")?,
        dealer_name: get_s(r, "dealer_name")?,
        territory: get_s(r, "territory")?,
        month: get_s(r, "month")?,
        currency: get_s(r, "currency")?,
        target_minor,
        actual_minor,
        actual_source: sqlx::Row::try_get(r, "actual_source")?,
        achievement: achievement(target_minor, actual_minor),
    })
}

/// `[{key…, currency, target_minor, actual_minor, achievement}]` from grouped sums.
fn sums(rows: &[AnyRow], keys: &[&str]) -> Result<Vec<Value>, ApiError> {
    rows.iter()
        .map(|r| {
            let target = get_oi(r, "target_minor")?;
            let actual = get_oi(r, "actual_minor")?;
            let mut v = json!({
                "currency": get_s(r, "currency")?,
                "target_minor": target,
                "actual_minor": actual,
                "achievement": achievement(target, actual),
            });
            for k in keys {
                v[*k] = Value::String(get_s(r, k)?);
            }
            Ok(v)
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(internal)
}

/// Sums over every matching row: overall, per territory and per manager (a manager's
/// figure is the sum over the territories assigned to them), each per currency.
async fn sales_totals(state: &AppState, f: &Filter) -> Result<Value, ApiError> {
    const SUMS: &str = "s.currency AS currency, CAST(SUM(s.target_minor) AS BIGINT) AS target_minor, \
         CAST(SUM(s.actual_minor) AS BIGINT) AS actual_minor";
    let all = state
        .store
        .select_rows(
            SUMS,
            SALES_FROM,
            f,
            "GROUP BY s.currency ORDER BY s.currency",
        )
        .await?;
    let territories = state
        .store
        .select_rows(
            &format!("d.territory AS territory, {SUMS}"),
            SALES_FROM,
            f,
            "GROUP BY d.territory, s.currency ORDER BY d.territory, s.currency",
        )
        .await?;
    let managers = state
        .store
        .select_rows(
            &format!("ut.user_id AS manager, {SUMS}"),
            "sales s JOIN rm_dealers d ON d.id = s.dealer \
             JOIN user_territories ut ON ut.territory = d.territory \
             JOIN users u ON u.id = ut.user_id AND u.role = 'manager'",
            f,
            "GROUP BY ut.user_id, s.currency ORDER BY ut.user_id, s.currency",
        )
        .await?;
    Ok(json!({
        "all": sums(&all, &[])?,
        "by_territory": sums(&territories, &["territory"])?,
        "by_manager": sums(&managers, &["manager"])?,
    }))
}

/// `GET /api/sales?territory=&manager=&dealer=&from=YYYY-MM&to=YYYY-MM`.
#[utoipa::path(
    get,
    path = "/api/sales",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<String>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("manager" = Option<String>, Query, description = "Dealers in the territories assigned to this manager"),
        ("dealer" = Option<String>, Query, description = "Only this dealer"),
        ("from" = Option<String>, Query, description = "First month, `YYYY-MM`"),
        ("to" = Option<String>, Query, description = "Last month, `YYYY-MM`"),
        super::read::Paging,
    ),
    responses(
        (status = 200, description = "A page of dealer months, newest first; totals: `all`, `by_territory`, `by_manager` (per currency, with achievement)", body = Paged<SalesRow>),
        (status = 400, description = "A filter or paging value is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn sales(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Paged<SalesRow>>, ApiError> {
    let q = query(q)?;
    let page = q.page()?;
    let f = sales_filter(&caller, &q)?;
    let (rows, total) = state
        .store
        .select_page(
            SALES_COLUMNS,
            SALES_FROM,
            "s.month DESC, d.name, s.dealer",
            &f,
            page,
        )
        .await?;
    let totals = sales_totals(&state, &f).await?;
    with_totals(paged(rows, total, page, sales_row), totals)
}

/// Who may write `figure` for a dealer in `territory`: targets are head office's and
/// the regional manager's; actuals also the territory's own managers.
fn may_set(caller: &Caller, figure: Figure, territory: &str) -> Result<(), ApiError> {
    let role = caller.principal.role;
    let allowed = match (figure, role) {
        (_, Role::HeadOffice) => true,
        (_, Role::Regional) | (Figure::Actual, Role::Manager) => caller.can_access(territory),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(match figure {
            Figure::Target => format!(
                "only head office or the regional manager of {territory} sets sales targets"
            ),
            Figure::Actual => format!(
                "only a manager of {territory}, its regional manager or head office enters sales"
            ),
        }))
    }
}

/// A checked figure: its month, and its amount as core's sales rule accepts it.
pub(crate) fn checked(month: &str, minor: i64, currency: &str) -> Result<(Month, Money), String> {
    let month: Month = month.parse().map_err(|e| format!("{e}"))?;
    let currency: Currency = currency.parse().map_err(|e| format!("{e}"))?;
    let money = Money { minor, currency };
    check_figure(&money).map_err(|e| e.to_string())?;
    Ok((month, money))
}

/// A refusal of this module's own, or any other API error.
#[derive(Debug, thiserror::Error)]
pub enum SalesError {
    /// 409 `currency_mismatch`: the month holds the other figure in another currency.
    #[error("{0}")]
    Currency(String),
    /// 400 `bad_csv`: an import whose lines do not all read (nothing was imported).
    #[error("{0}")]
    BadCsv(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<SalesWriteError> for SalesError {
    fn from(e: SalesWriteError) -> Self {
        match e {
            SalesWriteError::Currency { .. } => SalesError::Currency(e.to_string()),
            SalesWriteError::Store(e) => SalesError::Api(e.into()),
        }
    }
}

impl From<crate::store::StoreError> for SalesError {
    fn from(e: crate::store::StoreError) -> Self {
        SalesError::Api(e.into())
    }
}

impl IntoResponse for SalesError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SalesError::Api(_) => (StatusCode::INTERNAL_SERVER_ERROR, ""),
            SalesError::Currency(_) => (StatusCode::CONFLICT, "currency_mismatch"),
            SalesError::BadCsv(_) => (StatusCode::BAD_REQUEST, "bad_csv"),
        };
        match self {
            SalesError::Api(e) => e.into_response(),
            other => {
                let body = ErrorBody {
                    code,
                    message: other.to_string(),
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

/// `PUT /api/sales/{dealer}/{month} {figure, amount_minor, currency}` → the dealer's month.
#[utoipa::path(
    put,
    path = "/api/sales/{dealer}/{month}",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("dealer" = String, Path, description = "The dealer"),
        ("month" = String, Path, description = "`YYYY-MM`"),
    ),
    request_body = SetSales,
    responses(
        (status = 200, description = "The dealer's month as now stored", body = SalesRow),
        (status = 400, description = "Not a figure (`malformed`), or a bad month, currency or amount (`invalid`)", body = ErrorBody),
        (status = 403, description = "The caller's role may not set this figure here (`forbidden`)", body = ErrorBody),
        (status = 404, description = "No such dealer (`not_found`)", body = ErrorBody),
        (status = 409, description = "The month holds the other figure in another currency (`currency_mismatch`)", body = ErrorBody),
        Authed,
        WithBody,
        Always,
    )
)]
pub async fn set_sales(
    State(state): State<AppState>,
    caller: Caller,
    Path((dealer, month)): Path<(String, String)>,
    b: Result<Json<SetSales>, JsonRejection>,
) -> Result<Json<SalesRow>, SalesError> {
    let b = json_body(b)?;
    let figure = match b.figure.as_str() {
        "target" => Figure::Target,
        "actual" => Figure::Actual,
        other => {
            return Err(ApiError::bad(
                "invalid",
                format!(
                    "figure '{}' is neither target nor actual",
                    other.chars().take(20).collect::<String>()
                ),
            )
            .into());
        }
    };
    let (month, money) =
        checked(&month, b.amount_minor, &b.currency).map_err(|m| ApiError::bad("invalid", m))?;
    let Some(territory) = state.store.dealer_territory(&dealer).await? else {
        return Err(ApiError::NotFound(format!("no dealer {dealer}")).into());
    };
    may_set(&caller, figure, &territory)?;
    let month = month.to_string();
    state
        .store
        .set_sales(&[SalesFigure {
            dealer: &dealer,
            month: &month,
            currency: money.currency.as_str(),
            minor: money.minor,
            figure,
            source: (figure == Figure::Actual).then_some("manager"),
            by: &caller.user.id,
            at: now_millis(),
        }])
        .await?;
    tracing::info!(by = %caller.user.id, %dealer, %month, figure = figure.as_str(), "sales figure set");
    let q = ListQuery {
        dealer: Some(dealer.clone()),
        from: Some(month.clone()),
        to: Some(month.clone()),
        ..ListQuery::default()
    };
    let f = sales_filter(&caller, &q)?;
    read_back(&state, &f)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!("sales of {dealer} {month} not read back")).into()
        })
        .map(Json)
}

/// The dealer's month `f` names, read back after a write.
async fn read_back(state: &AppState, f: &Filter) -> Result<Option<SalesRow>, ApiError> {
    let one = Page {
        page: 1,
        per_page: 1,
    };
    let (rows, _) = state
        .store
        .select_page(SALES_COLUMNS, SALES_FROM, "s.month DESC, s.dealer", f, one)
        .await?;
    rows.first().map(sales_row).transpose().map_err(internal)
}
