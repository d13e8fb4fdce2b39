//! Filtered, paginated reads of the read model: a tiny WHERE-clause builder whose values are always bound, never spliced.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Store, StoreError};

#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

/// AND-ed conditions with bound values (`$n` placeholders, understood by both backends).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Filter {
    /// No conditions.
    pub fn new() -> Self {
        Filter::default()
    }

    fn place(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// `column = value`.
    pub fn eq(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} = {p}"));
        self
    }

    /// `column >= value`.
    pub fn ge(&mut self, column: &'static str, value: i64) -> &mut Self {
        let p = self.place(Arg::Int(value));
        self.clauses.push(format!("{column} >= {p}"));
        self
    }

    /// `column <= value`.
    pub fn le(&mut self, column: &'static str, value: i64) -> &mut Self {
        let p = self.place(Arg::Int(value));
        self.clauses.push(format!("{column} <= {p}"));
        self
    }

    /// `column < value` (text).
    pub fn lt_text(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} < {p}"));
        self
    }

    /// `column <> value` (text).
    pub fn ne(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} <> {p}"));
        self
    }

    /// Case-insensitive substring match.
    pub fn contains(&mut self, column: &'static str, needle: &str) -> &mut Self {
        let escaped: String = needle
            .to_lowercase()
            .chars()
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        let p = self.place(Arg::Text(format!("%{escaped}%")));
        self.clauses.push(format!("LOWER({column}) LIKE {p}"));
        self
    }

    /// `column IN (values…)`; an empty list matches nothing.
    pub fn within(&mut self, column: &'static str, values: &[String]) -> &mut Self {
        if values.is_empty() {
            self.clauses.push("1 = 0".into());
            return self;
        }
        let ps: Vec<String> = values
            .iter()
            .map(|v| self.place(Arg::Text(v.clone())))
            .collect();
        self.clauses
            .push(format!("{column} IN ({})", ps.join(", ")));
        self
    }

    /// `column IN (territories managed by user)`, by assignment or by territory document.
    pub fn managed_by(&mut self, column: &'static str, user: &str) -> &mut Self {
        let a = self.place(Arg::Text(user.to_owned()));
        let b = self.place(Arg::Text(user.to_owned()));
        self.clauses.push(format!(
            "{column} IN (SELECT territory FROM user_territories WHERE user_id = {a} \
             UNION SELECT territory FROM rm_territory_managers WHERE user_id = {b})"
        ));
        self
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Which page of results (1-based) and how many per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

impl Store {
    /// `SELECT columns FROM from WHERE filter ORDER BY order` for one page,
    /// and the total number of matching rows. `columns`, `from` and `order`
    /// are fixed SQL written in this crate; every value is bound.
    pub async fn select_page(
        &self,
        columns: &'static str,
        from: &'static str,
        order: &'static str,
        filter: &Filter,
        page: Page,
    ) -> Result<(Vec<AnyRow>, i64), StoreError> {
        let wh = filter.where_sql();
        let count_sql = format!("SELECT COUNT(*) AS n FROM {from}{wh}");
        let total: i64 = bind_all!(sqlx::query(AssertSqlSafe(count_sql)), &filter.args)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let n = filter.args.len();
        let sql = format!(
            "SELECT {columns} FROM {from}{wh} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let offset = (page.page.max(1) - 1).saturating_mul(page.per_page);
        let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), &filter.args)
            .bind(page.per_page)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        Ok((rows, total))
    }

    /// Every territory in the read model with its dealer count, as (id, name, region, dealers).
    pub async fn territories(&self) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id AS id, t.name AS name, t.region AS region, \
             (SELECT COUNT(*) FROM rm_dealers d WHERE d.territory = t.id) AS dealers \
             FROM rm_territories t ORDER BY t.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get("name")?,
                    r.try_get("region")?,
                    r.try_get("dealers")?,
                ))
            })
            .collect()
    }

    /// (territory, user id, user name) of every manager, by assignment or by territory document.
    pub async fn territory_managers(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.territory AS territory, m.user_id AS user_id, COALESCE(u.name, m.user_id) AS name FROM \
             (SELECT territory, user_id FROM rm_territory_managers \
              UNION SELECT ut.territory, ut.user_id FROM user_territories ut \
              JOIN users uu ON uu.id = ut.user_id WHERE uu.role = 'manager') m \
             LEFT JOIN users u ON u.id = m.user_id ORDER BY m.territory, m.user_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("territory")?,
                    r.try_get("user_id")?,
                    r.try_get("name")?,
                ))
            })
            .collect()
    }
}
