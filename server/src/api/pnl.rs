//! A territory's profit and loss (損益) for head office: channel spend by category, dealer and month against sales.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::read::{ListQuery, SPEND_SQL, get_oi, get_s, internal, query, scope, text};
use super::sales::months;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::{Always, Authed};
use crate::state::AppState;
use crate::store::Filter;

/// Sales and spend of one slice (a month, a dealer, everything), in one currency.
#[derive(Debug, Default, Clone, Serialize, ToSchema)]
pub struct Line {
    pub currency: String,
    /// Actual sales (minor units).
    pub sales_minor: i64,
    /// Sales targets (minor units).
    pub target_minor: i64,
    /// Channel spend: claims spent or reconciled (what was spent), approved (what was approved).
    pub spend_minor: i64,
    /// Sales less spend.
    pub net_minor: i64,
}

/// A month's line.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthLine {
    /// `YYYY-MM`.
    pub month: String,
    #[serde(flatten)]
    pub line: Line,
}

/// A dealer's line.
#[derive(Debug, Serialize, ToSchema)]
pub struct DealerLine {
    pub dealer: String,
    pub name: String,
    #[serde(flatten)]
    pub line: Line,
}

/// Spend of one category (in one month, for `by_month_category`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryLine {
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    pub currency: String,
    pub spend_minor: i64,
}

/// `GET /api/pnl`: the profit and loss of what the filters select.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pnl {
    /// Per currency, everything selected.
    pub total: Vec<Line>,
    /// Per month and currency, oldest first.
    pub months: Vec<MonthLine>,
    /// Per dealer and currency, highest spend first.
    pub by_dealer: Vec<DealerLine>,
    /// Spend per category and currency, highest first.
    pub by_category: Vec<CategoryLine>,
    /// Spend per month, category and currency (for a chart over months).
    pub by_month_category: Vec<CategoryLine>,
}

/// The same slice of claims (`c.`) and sales (`s.`, with the dealer `d.`) the query names.
fn filters(caller: &Caller, q: &ListQuery) -> Result<(Filter, Filter), ApiError> {
    let mut claims = Filter::new();
    let mut sales = Filter::new();
    scope(caller, q, "c.territory", &mut claims)?;
    scope(caller, q, "d.territory", &mut sales)?;
    if let Some(m) = text(&q.manager) {
        claims.managed_by("c.territory", m);
        sales.managed_by("d.territory", m);
    }
    if let Some(d) = text(&q.dealer) {
        claims.eq("c.dealer", d);
        sales.eq("s.dealer", d);
    }
    // A claim's month is the month it was requested in (UTC), as on the claims list.
    let (from, to) = months(q)?;
    if let Some(from) = from {
        claims.ge("c.requested_at", from.utc_range().0.millis());
        sales.ge_text("s.month", &from.to_string());
    }
    if let Some(to) = to {
        if let Some(end) = to.utc_range().1 {
            claims.lt("c.requested_at", end.millis());
        }
        sales.le_text("s.month", &to.to_string());
    }
    Ok((claims, sales))
}

fn add(line: &mut Line, sales: i64, target: i64, spend: i64) {
    line.sales_minor = line.sales_minor.saturating_add(sales);
    line.target_minor = line.target_minor.saturating_add(target);
    line.spend_minor = line.spend_minor.saturating_add(spend);
    line.net_minor = line.sales_minor.saturating_sub(line.spend_minor);
}

/// `GET /api/pnl?territory=&manager=&dealer=&from=YYYY-MM&to=YYYY-MM`.
#[utoipa::path(
    get,
    path = "/api/pnl",
    tag = "read",
    security(("bearer" = [])),
    params(
        ("territory" = Option<String>, Query, description = "Only this territory (else every territory the caller may read)"),
        ("manager" = Option<String>, Query, description = "The territories assigned to this manager"),
        ("dealer" = Option<String>, Query, description = "Only this dealer"),
        ("from" = Option<String>, Query, description = "First month, `YYYY-MM`"),
        ("to" = Option<String>, Query, description = "Last month, `YYYY-MM`"),
    ),
    responses(
        (status = 200, description = "Sales, targets and spend per currency: in total, per month, per dealer, per category, per month and category", body = Pnl),
        (status = 400, description = "A filter is not valid (`bad_query`)", body = ErrorBody),
        (status = 403, description = "The caller may not read the named territory (`forbidden`)", body = ErrorBody),
        Authed,
        Always,
    )
)]
pub async fn pnl(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Pnl>, ApiError> {
    let q = query(q)?;
    let (claims, sales) = filters(&caller, &q)?;
    let month = state.store.month_sql("c.requested_at");
    let spend = state
        .store
        .select_rows(
            &format!(
                "{month} AS month, c.dealer AS dealer, c.category AS category, c.currency AS currency, {SPEND_SQL}"
            ),
            "rm_claims c",
            &claims,
            "GROUP BY 1, 2, 3, 4",
        )
        .await?;
    let sold = state
        .store
        .select_rows(
            "s.month AS month, s.dealer AS dealer, s.currency AS currency, \
             CAST(SUM(s.actual_minor) AS BIGINT) AS actual_minor, \
             CAST(SUM(s.target_minor) AS BIGINT) AS target_minor",
            "sales s JOIN rm_dealers d ON d.id = s.dealer",
            &sales,
            "GROUP BY 1, 2, 3",
        )
        .await?;
    let mut total: BTreeMap<String, Line> = BTreeMap::new();
    let mut months: BTreeMap<(String, String), Line> = BTreeMap::new();
    let mut dealers: BTreeMap<(String, String), Line> = BTreeMap::new();
    let mut categories: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut month_categories: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut book = |month: &str, dealer: &str, currency: &str, s: i64, t: i64, sp: i64| {
        let fresh = || Line {
            currency: currency.to_owned(),
            ..Line::default()
        };
        add(
            total.entry(currency.to_owned()).or_insert_with(fresh),
            s,
            t,
            sp,
        );
        add(
            months
                .entry((month.to_owned(), currency.to_owned()))
                .or_insert_with(fresh),
            s,
            t,
            sp,
        );
        add(
            dealers
                .entry((dealer.to_owned(), currency.to_owned()))
                .or_insert_with(fresh),
            s,
            t,
            sp,
        );
    };
    for r in &spend {
        let (m, d, cat, cur) = (
            get_s(r, "month").map_err(internal)?,
            get_s(r, "dealer").map_err(internal)?,
            get_s(r, "category").map_err(internal)?,
            get_s(r, "currency").map_err(internal)?,
        );
        let sp = get_oi(r, "spend_minor").map_err(internal)?.unwrap_or(0);
        if sp == 0 {
            continue;
        }
        book(&m, &d, &cur, 0, 0, sp);
        *categories.entry((cat.clone(), cur.clone())).or_default() += sp;
        *month_categories.entry((m, cat, cur)).or_default() += sp;
    }
    for r in &sold {
        let (m, d, cur) = (
            get_s(r, "month").map_err(internal)?,
            get_s(r, "dealer").map_err(internal)?,
            get_s(r, "currency").map_err(internal)?,
        );
        let s = get_oi(r, "actual_minor").map_err(internal)?.unwrap_or(0);
        let t = get_oi(r, "target_minor").map_err(internal)?.unwrap_or(0);
        book(&m, &d, &cur, s, t, 0);
    }
    let names: BTreeMap<String, String> = state
        .store
        .dealer_names(dealers.keys().map(|(d, _)| d.as_str()))
        .await?;
    let mut by_dealer: Vec<DealerLine> = dealers
        .into_iter()
        .map(|((dealer, _), line)| DealerLine {
            name: names
                .get(&dealer)
                .cloned()
                .unwrap_or_else(|| dealer.clone()),
            dealer,
            line,
        })
        .collect();
    by_dealer.sort_by(|a, b| {
        b.line
            .spend_minor
            .cmp(&a.line.spend_minor)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut by_category: Vec<CategoryLine> = categories
        .into_iter()
        .map(|((category, currency), spend_minor)| CategoryLine {
            category,
            month: None,
            currency,
            spend_minor,
        })
        .collect();
    by_category.sort_by(|a, b| b.spend_minor.cmp(&a.spend_minor));
    Ok(Json(Pnl {
        total: total.into_values().collect(),
        months: months
            .into_iter()
            .map(|((month, _), line)| MonthLine { month, line })
            .collect(),
        by_dealer,
        by_category,
        by_month_category: month_categories
            .into_iter()
            .map(|((month, category, currency), spend_minor)| CategoryLine {
                category,
                month: Some(month),
                currency,
                spend_minor,
            })
            .collect(),
    }))
}
