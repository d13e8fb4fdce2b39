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

    /// `column < value`.
    pub fn lt(&mut self, column: &'static str, value: i64) -> &mut Self {
        let p = self.place(Arg::Int(value));
        self.clauses.push(format!("{column} < {p}"));
        self
    }

    /// `column IS NOT NULL`.
    pub fn not_null(&mut self, column: &'static str) -> &mut Self {
        self.clauses.push(format!("{column} IS NOT NULL"));
        self
    }

    /// `column IS NULL`.
    pub fn is_null(&mut self, column: &'static str) -> &mut Self {
        self.clauses.push(format!("{column} IS NULL"));
        self
    }

    /// Dealers due a visit: never visited, or last visited (`last`) before the
    /// cut-off of their tier (`tier`); `cutoffs[i]` is tier `i + 1`'s, the last
    /// one also serving any higher tier.
    pub fn visit_due(
        &mut self,
        last: &'static str,
        tier: &'static str,
        cutoffs: &[i64],
    ) -> &mut Self {
        let Some((&other, each)) = cutoffs.split_last() else {
            return self;
        };
        let mut case = format!("CASE {tier}");
        for (i, c) in each.iter().enumerate() {
            let t = self.place(Arg::Int(i64::try_from(i).unwrap_or(i64::MAX) + 1));
            let p = self.place(Arg::Int(*c));
            case.push_str(&format!(" WHEN {t} THEN {p}"));
        }
        let p = self.place(Arg::Int(other));
        case.push_str(&format!(" ELSE {p} END"));
        self.clauses
            .push(format!("({last} IS NULL OR {last} < {case})"));
        self
    }

    /// `column < CASE key WHEN k THEN v … ELSE default END` (text): a bound that
    /// depends on the row's `key` (today's day, per territory).
    pub fn lt_text_by(
        &mut self,
        column: &'static str,
        key: &'static str,
        cases: &[(String, String)],
        default: &str,
    ) -> &mut Self {
        let bound = self.case_of(
            key,
            cases.iter().map(|(k, v)| (k, Arg::Text(v.clone()))),
            Arg::Text(default.to_owned()),
        );
        self.clauses.push(format!("{column} < {bound}"));
        self
    }

    /// `column <= CASE key WHEN k THEN v … ELSE default END` (integers).
    pub fn le_by(
        &mut self,
        column: &'static str,
        key: &'static str,
        cases: &[(String, i64)],
        default: i64,
    ) -> &mut Self {
        self.int_bound_by(column, "<=", key, cases, default)
    }

    /// `column >= CASE key WHEN k THEN v … ELSE default END` (integers).
    pub fn ge_by(
        &mut self,
        column: &'static str,
        key: &'static str,
        cases: &[(String, i64)],
        default: i64,
    ) -> &mut Self {
        self.int_bound_by(column, ">=", key, cases, default)
    }

    /// `column op CASE key WHEN k THEN v … ELSE default END` (integers).
    fn int_bound_by(
        &mut self,
        column: &'static str,
        op: &'static str,
        key: &'static str,
        cases: &[(String, i64)],
        default: i64,
    ) -> &mut Self {
        let bound = self.case_of(
            key,
            cases.iter().map(|(k, v)| (k, Arg::Int(*v))),
            Arg::Int(default),
        );
        self.clauses.push(format!("{column} {op} {bound}"));
        self
    }

    fn case_of<'a>(
        &mut self,
        key: &'static str,
        cases: impl Iterator<Item = (&'a String, Arg)>,
        default: Arg,
    ) -> String {
        let mut case = format!("(CASE {key}");
        for (k, v) in cases {
            let k = self.place(Arg::Text(k.clone()));
            let v = self.place(v);
            case.push_str(&format!(" WHEN {k} THEN {v}"));
        }
        let d = self.place(default);
        if case.ends_with(key) {
            // No case: the bound is the default for every row.
            return d;
        }
        case.push_str(&format!(" ELSE {d} END)"));
        case
    }

    /// `column < value` (text).
    pub fn lt_text(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} < {p}"));
        self
    }

    /// `column <= value` (text).
    pub fn le_text(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} <= {p}"));
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

    /// `column >= value` on text (`YYYY-MM` months compare as text).
    pub fn ge_text(&mut self, column: &'static str, value: &str) -> &mut Self {
        let p = self.place(Arg::Text(value.to_owned()));
        self.clauses.push(format!("{column} >= {p}"));
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

    /// `column IN (territories assigned to user)`.
    pub fn managed_by(&mut self, column: &'static str, user: &str) -> &mut Self {
        let a = self.place(Arg::Text(user.to_owned()));
        self.clauses.push(format!(
            "{column} IN (SELECT territory FROM user_territories WHERE user_id = {a})"
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

    /// `SELECT columns FROM from WHERE filter tail` (`tail`: GROUP BY / ORDER BY);
    /// every argument is fixed SQL written in this crate, every value bound.
    pub async fn select_rows(
        &self,
        columns: &str,
        from: &'static str,
        filter: &Filter,
        tail: &'static str,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let sql = format!("SELECT {columns} FROM {from}{} {tail}", filter.where_sql());
        Ok(bind_all!(sqlx::query(AssertSqlSafe(sql)), &filter.args)
            .fetch_all(self.pool())
            .await?)
    }

    /// `SELECT COUNT(*) FROM from WHERE filter`.
    pub async fn count(&self, from: &'static str, filter: &Filter) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM {from}{}", filter.where_sql());
        Ok(bind_all!(sqlx::query(AssertSqlSafe(sql)), &filter.args)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }

    /// A user's name, if the user exists.
    pub async fn user_name(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The territories assigned to `user`.
    pub async fn managed_territories(&self, user: &str) -> Result<Vec<String>, StoreError> {
        self.user_territories(user).await
    }

    /// `YYYY-MM` (UTC) of an epoch-milliseconds column, in this backend's SQL.
    pub fn month_sql(&self, column: &'static str) -> String {
        match self.backend() {
            super::Backend::Sqlite => {
                format!("strftime('%Y-%m', {column} / 1000, 'unixepoch')")
            }
            super::Backend::Postgres => {
                format!("to_char(to_timestamp({column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM')")
            }
        }
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

    /// Every territory's time zone as its document names it (`None`: the default zone).
    pub async fn territory_zones(&self) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let rows = sqlx::query("SELECT id, time_zone FROM rm_territories ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("time_zone")?)))
            .collect()
    }

    /// (territory, user id, user name) of every manager: users of the manager
    /// role an administrator assigned to the territory (the people who can read
    /// it; a territory document's own manager list grants nothing and is not used).
    pub async fn territory_managers(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT ut.territory AS territory, ut.user_id AS user_id, u.name AS name \
             FROM user_territories ut JOIN users u ON u.id = ut.user_id \
             WHERE u.role = 'manager' ORDER BY ut.territory, ut.user_id",
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
