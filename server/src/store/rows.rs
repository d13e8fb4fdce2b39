//! Multi-row statements for a group commit: `INSERT … VALUES (…), (…)` and `… IN (…)` with every value bound, split to stay within the backends' parameter limits.

use sqlx::AssertSqlSafe;

use super::{Backend, StoreError, WriteTx};

/// One bound value of a multi-row statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    OptReal(Option<f64>),
    Bytes(&'a [u8]),
}

/// Most values bound in one statement (SQLite allows 32,766, PostgreSQL 65,535).
pub(crate) const MAX_PARAMS: usize = 960;

/// How a statement marks the places of its bound values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marks {
    /// SQLite: anonymous `?`, bound in order. SQLite takes `$n` for a *named*
    /// parameter, and sqlx binds each one by asking SQLite its name, a scan of the
    /// statement's names: quadratic in their number (22 % of the server's CPU in a
    /// fleet profile with `$n`).
    Anonymous,
    /// PostgreSQL: `$1, $2, …`.
    Numbered,
}

impl Marks {
    /// The marks of `backend`.
    pub(crate) fn of(backend: Backend) -> Marks {
        match backend {
            Backend::Sqlite => Marks::Anonymous,
            Backend::Postgres => Marks::Numbered,
        }
    }

    /// The marks of the backend `w` writes to.
    pub(crate) fn of_tx(w: &WriteTx) -> Marks {
        if w.tx.backend_name() == "SQLite" {
            Marks::Anonymous
        } else {
            Marks::Numbered
        }
    }
}

/// Binds each value of `$vals` to `$q`, in order.
macro_rules! bind_vals {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match *v {
                Val::Text(s) => q.bind(s),
                Val::OptText(s) => q.bind(s),
                Val::Int(i) => q.bind(i),
                Val::OptInt(i) => q.bind(i),
                Val::OptReal(r) => q.bind(r),
                Val::Bytes(b) => q.bind(b),
            };
        }
        q
    }};
}

/// The places of values number `from`, `from+1`, … (`n` of them), comma-separated: the
/// inside of `IN (…)` or of one row of `VALUES (…)`. With `Marks::Anonymous` every
/// value of the statement must be bound in the order of its places.
pub(crate) fn placeholders(marks: Marks, from: usize, n: usize) -> String {
    match marks {
        Marks::Anonymous => vec!["?"; n].join(", "),
        Marks::Numbered => (from..from + n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Inserts `rows` (each the same number of values as `head` names columns) as
/// `head VALUES (…), (…) tail`, in as few statements as the parameter limit
/// allows, in order. Returns the number of rows written.
pub(crate) async fn insert(
    w: &mut WriteTx,
    head: &str,
    tail: &str,
    rows: &[Vec<Val<'_>>],
) -> Result<u64, StoreError> {
    let Some(width) = rows.first().map(Vec::len).filter(|n| *n > 0) else {
        return Ok(0);
    };
    let per = (MAX_PARAMS / width).max(1);
    let marks = Marks::of_tx(w);
    let mut written = 0;
    for chunk in rows.chunks(per) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 5 + tail.len());
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&placeholders(marks, i * width + 1, row.len()));
            sql.push(')');
        }
        sql.push_str(tail);
        let q = bind_vals!(sqlx::query(AssertSqlSafe(sql)), chunk.iter().flatten());
        written += q.execute(&mut *w.tx).await?.rows_affected();
    }
    Ok(written)
}

/// Runs `head IN (keys…)` (a DELETE or UPDATE whose last condition is `column`)
/// over every key, split within the parameter limit.
pub(crate) async fn execute_in(
    w: &mut WriteTx,
    head: &str,
    keys: &[&str],
) -> Result<u64, StoreError> {
    let marks = Marks::of_tx(w);
    let mut written = 0;
    for chunk in keys.chunks(MAX_PARAMS) {
        let sql = format!("{head} IN ({})", placeholders(marks, 1, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(*k);
        }
        written += q.execute(&mut *w.tx).await?.rows_affected();
    }
    Ok(written)
}
