//! The approval limits table: what head office set (claim approval limits, managers' commitment authority), read by every push.

use sqlx::Row;

use super::{Store, StoreError};

/// One stored limit (`territory` empty: every territory without its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRow {
    /// `claim` or `commitment`.
    pub kind: String,
    pub role: String,
    pub territory: String,
    pub currency: String,
    pub max_minor: i64,
}

impl Store {
    /// Every limit, in a stable order.
    pub async fn approval_limits(&self) -> Result<Vec<LimitRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, role, territory, currency, max_minor FROM approval_limits \
             ORDER BY kind, role, territory, currency",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LimitRow {
                    kind: r.try_get("kind")?,
                    role: r.try_get("role")?,
                    territory: r.try_get("territory")?,
                    currency: r.try_get("currency")?,
                    max_minor: r.try_get("max_minor")?,
                })
            })
            .collect()
    }

    /// Replaces every limit with `rows`, in one transaction.
    pub async fn set_approval_limits(
        &self,
        rows: &[LimitRow],
        by: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM approval_limits")
            .execute(&mut *w.tx)
            .await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO approval_limits (kind, role, territory, currency, max_minor, set_by, set_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.kind)
            .bind(&r.role)
            .bind(&r.territory)
            .bind(&r.currency)
            .bind(r.max_minor)
            .bind(by)
            .bind(at)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }
}
