//! The reconciliation ageing setting: how many days a spent claim may wait for reconciliation, as head office set it.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The days head office set, if they set any.
    pub async fn claim_ageing_days(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT days FROM claim_ageing WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("days")?),
            None => None,
        })
    }

    /// Sets the days (one row, replaced).
    pub async fn set_claim_ageing_days(
        &self,
        days: i64,
        by: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM claim_ageing")
            .execute(&mut *w.tx)
            .await?;
        sqlx::query("INSERT INTO claim_ageing (id, days, set_by, set_at) VALUES (1, $1, $2, $3)")
            .bind(days)
            .bind(by)
            .bind(at)
            .execute(&mut *w.tx)
            .await?;
        w.commit().await
    }
}
