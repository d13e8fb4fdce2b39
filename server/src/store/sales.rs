//! Monthly sales per dealer: targets and actuals as head office, regional and territory managers set them.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Store, StoreError, WriteTx};

/// Which figure of a dealer's month is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Target,
    Actual,
}

impl Figure {
    /// The figure's name in the API (`target`, `actual`).
    pub fn as_str(self) -> &'static str {
        match self {
            Figure::Target => "target",
            Figure::Actual => "actual",
        }
    }
}

/// One figure to write: a dealer's month, in minor units of `currency`.
#[derive(Debug, Clone)]
pub struct SalesFigure<'a> {
    pub dealer: &'a str,
    pub month: &'a str,
    pub currency: &'a str,
    pub minor: i64,
    pub figure: Figure,
    /// `manager` or `import` for an actual (None for a target).
    pub source: Option<&'a str>,
    pub by: &'a str,
    pub at: i64,
}

/// Why a figure was not written.
#[derive(Debug, thiserror::Error)]
pub enum SalesWriteError {
    /// The month already holds the other figure in another currency.
    #[error("{dealer} {month} is kept in {kept}, not {sent}")]
    Currency {
        dealer: String,
        month: String,
        kept: String,
        sent: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SalesWriteError {
    fn from(e: sqlx::Error) -> Self {
        SalesWriteError::Store(e.into())
    }
}

impl Store {
    /// The territory of a dealer head office's read model knows.
    pub async fn dealer_territory(&self, dealer: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT territory FROM rm_dealers WHERE id = $1")
                .bind(dealer)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The names of `dealers` the read model knows, by id.
    pub async fn dealer_names<'a>(
        &self,
        dealers: impl Iterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let dealers: Vec<&str> = dealers.collect();
        let mut names = BTreeMap::new();
        // In chunks, well within both backends' limit on bound values.
        for chunk in dealers.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, name FROM rm_dealers WHERE id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                q = q.bind(*d);
            }
            for row in q.fetch_all(self.pool()).await? {
                names.insert(row.try_get("id")?, row.try_get("name")?);
            }
        }
        Ok(names)
    }

    /// Writes figures in one transaction: every one, or none.
    pub async fn set_sales(&self, figures: &[SalesFigure<'_>]) -> Result<(), SalesWriteError> {
        let mut w = self.begin_write().await?;
        for f in figures {
            set_one(&mut w, f).await?;
        }
        w.commit().await?;
        Ok(())
    }
}

async fn set_one(w: &mut WriteTx, f: &SalesFigure<'_>) -> Result<(), SalesWriteError> {
    let tx = &mut *w.tx;
    let kept = sqlx::query(
        "SELECT currency, target_minor, actual_minor FROM sales WHERE dealer = $1 AND month = $2",
    )
    .bind(f.dealer)
    .bind(f.month)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = kept {
        let currency: String = row.try_get("currency")?;
        // The figure not being written decides the month's currency, if it is set.
        let other: Option<i64> = row.try_get(match f.figure {
            Figure::Target => "actual_minor",
            Figure::Actual => "target_minor",
        })?;
        if other.is_some() && currency != f.currency {
            return Err(SalesWriteError::Currency {
                dealer: f.dealer.to_owned(),
                month: f.month.to_owned(),
                kept: currency,
                sent: f.currency.to_owned(),
            });
        }
    }
    // Column names come from this match only; every value is bound.
    let sql = match f.figure {
        Figure::Target => {
            "INSERT INTO sales (dealer, month, currency, target_minor, target_by, target_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (dealer, month) DO UPDATE SET currency = excluded.currency, \
             target_minor = excluded.target_minor, target_by = excluded.target_by, target_at = excluded.target_at"
        }
        Figure::Actual => {
            "INSERT INTO sales (dealer, month, currency, actual_minor, actual_by, actual_at, actual_source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (dealer, month) DO UPDATE SET currency = excluded.currency, \
             actual_minor = excluded.actual_minor, actual_by = excluded.actual_by, \
             actual_at = excluded.actual_at, actual_source = excluded.actual_source"
        }
    };
    let q = sqlx::query(sql)
        .bind(f.dealer)
        .bind(f.month)
        .bind(f.currency)
        .bind(f.minor)
        .bind(f.by)
        .bind(f.at);
    let q = match f.figure {
        Figure::Target => q,
        Figure::Actual => q.bind(f.source.unwrap_or("manager")),
    };
    q.execute(&mut *tx).await?;
    Ok(())
}
