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
    // Each slice summed in SQL: a few rows per month, dealer and category, whatever the history.
    let spend = |columns: String, from: &'static str, tail: &'static str| {
        let claims = &claims;
        let state = &state;
        async move {
            state
                .store
                .select_rows(
                    &format!("{columns}, c.currency AS currency, {SPEND_SQL}"),
                    from,
                    claims,
                    tail,
                )
                .await
        }
    };
    let sold = |columns: &'static str, tail: &'static str| {
        let sales = &sales;
        let state = &state;
        async move {
            state
                .store
                .select_rows(
                    &format!(
                        "{columns}, s.currency AS currency, CAST(SUM(s.actual_minor) AS BIGINT) AS actual_minor, \
                         CAST(SUM(s.target_minor) AS BIGINT) AS target_minor"
                    ),
                    "sales s JOIN rm_dealers d ON d.id = s.dealer",
                    sales,
                    tail,
                )
                .await
        }
    };
    let spend_months = spend(format!("{month} AS month"), "rm_claims c", "GROUP BY 1, 2").await?;
    let spend_dealers = spend(
        "c.dealer AS dealer, COALESCE(d.name, c.dealer) AS name".into(),
        "rm_claims c LEFT JOIN rm_dealers d ON d.id = c.dealer",
        "GROUP BY c.dealer, d.name, c.currency",
    )
    .await?;
    let spend_categories = spend(
        "c.category AS category".into(),
        "rm_claims c",
        "GROUP BY 1, 2",
    )
    .await?;
    let spend_month_categories = spend(
        format!("{month} AS month, c.category AS category"),
        "rm_claims c",
        "GROUP BY 1, 2, 3",
    )
    .await?;
    let sold_months = sold("s.month AS month", "GROUP BY s.month, s.currency").await?;
    let sold_dealers = sold(
        "s.dealer AS dealer, d.name AS name",
        "GROUP BY s.dealer, d.name, s.currency",
    )
    .await?;

    let text = |r: &sqlx::any::AnyRow, c: &str| get_s(r, c).map_err(internal);
    let int = |r: &sqlx::any::AnyRow, c: &str| {
        Ok::<_, ApiError>(get_oi(r, c).map_err(internal)?.unwrap_or(0))
    };
    let mut total: BTreeMap<String, Line> = BTreeMap::new();
    let mut months: BTreeMap<(String, String), Line> = BTreeMap::new();
    let mut dealers: BTreeMap<(String, String), (String, Line)> = BTreeMap::new();
    let fresh = |currency: &str| Line {
        currency: currency.to_owned(),
        ..Line::default()
    };
    for r in &spend_months {
        let (m, cur, sp) = (
            text(r, "month")?,
            text(r, "currency")?,
            int(r, "spend_minor")?,
        );
        add(
            total.entry(cur.clone()).or_insert_with(|| fresh(&cur)),
            0,
            0,
            sp,
        );
        add(
            months
                .entry((m, cur.clone()))
                .or_insert_with(|| fresh(&cur)),
            0,
            0,
            sp,
        );
    }
    for r in &sold_months {
        let (m, cur) = (text(r, "month")?, text(r, "currency")?);
        let (s, t) = (int(r, "actual_minor")?, int(r, "target_minor")?);
        add(
            total.entry(cur.clone()).or_insert_with(|| fresh(&cur)),
            s,
            t,
            0,
        );
        add(
            months
                .entry((m, cur.clone()))
                .or_insert_with(|| fresh(&cur)),
            s,
            t,
            0,
        );
    }
    for (rows, is_spend) in [(&spend_dealers, true), (&sold_dealers, false)] {
        for r in rows {
            let (d, name, cur) = (text(r, "dealer")?, text(r, "name")?, text(r, "currency")?);
            let entry = dealers
                .entry((d, cur.clone()))
                .or_insert_with(|| (name, fresh(&cur)));
            if is_spend {
                add(&mut entry.1, 0, 0, int(r, "spend_minor")?);
            } else {
                add(
                    &mut entry.1,
                    int(r, "actual_minor")?,
                    int(r, "target_minor")?,
                    0,
                );
            }
        }
    }
    let mut by_dealer: Vec<DealerLine> = dealers
        .into_iter()
        .filter(|(_, (_, line))| {
            line.sales_minor != 0 || line.spend_minor != 0 || line.target_minor != 0
        })
        .map(|((dealer, _), (name, line))| DealerLine { dealer, name, line })
        .collect();
    by_dealer.sort_by(|a, b| {
        b.line
            .spend_minor
            .cmp(&a.line.spend_minor)
            .then_with(|| a.name.cmp(&b.name))
    });
    let category = |r: &sqlx::any::AnyRow, month: Option<String>| {
        Ok::<_, ApiError>(CategoryLine {
            category: text(r, "category")?,
            month,
            currency: text(r, "currency")?,
            spend_minor: int(r, "spend_minor")?,
        })
    };
    let mut by_category = spend_categories
        .iter()
        .map(|r| category(r, None))
        .filter(|c| !matches!(c, Ok(c) if c.spend_minor == 0))
        .collect::<Result<Vec<_>, _>>()?;
    by_category.sort_by_key(|c| std::cmp::Reverse(c.spend_minor));
    let by_month_category = spend_month_categories
        .iter()
        .map(|r| category(r, Some(text(r, "month")?)))
        .filter(|c| !matches!(c, Ok(c) if c.spend_minor == 0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Pnl {
        total: total.into_values().collect(),
        months: months
            .into_iter()
            .filter(|(_, l)| l.sales_minor != 0 || l.spend_minor != 0 || l.target_minor != 0)
            .map(|((month, _), line)| MonthLine { month, line })
            .collect(),
        by_dealer,
        by_category,
        by_month_category,
    }))
}
