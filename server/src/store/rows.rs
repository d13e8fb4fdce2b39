//! Multi-row statements for a group commit: `INSERT … VALUES (…), (…)` and `… IN (…)` with every value bound, split to stay within the backends' parameter limits.

use sqlx::AssertSqlSafe;

use super::{StoreError, WriteTx};

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

/// Most values bound in one statement (SQLite allows 32,766, PostgreSQL 65,535): kept
/// small because sqlx looks up each of SQLite's `$n` parameters by name, a scan of
/// every parameter of the statement.
pub(crate) const MAX_PARAMS: usize = 960;

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

/// `$from, $from+1, …` for `n` values: the inside of `IN (…)`.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
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
            sql.push_str(&placeholders(i * width + 1, row.len()));
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
    let mut written = 0;
    for chunk in keys.chunks(MAX_PARAMS) {
        let sql = format!("{head} IN ({})", placeholders(1, chunk.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(*k);
        }
        written += q.execute(&mut *w.tx).await?.rows_affected();
    }
    Ok(written)
}
