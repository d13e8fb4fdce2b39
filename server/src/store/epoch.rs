//! The database's epoch: which copy of the data the feed numbers belong to (see `core::sync::cursor`).

use sqlx::Row;

use super::{Backend, Store, StoreError};

impl Store {
    /// The epoch devices' cursors must carry. On PostgreSQL the server's
    /// timeline is appended: promoting a replica or a point-in-time restore
    /// starts a new timeline, so devices notice even if nobody ran `new-epoch`.
    pub async fn epoch(&self) -> Result<String, StoreError> {
        let stored: String = sqlx::query_scalar("SELECT epoch FROM server_epoch WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        self.with_timeline(stored).await
    }

    /// [`Self::epoch`] and every territory feed's head (its last feed number: a
    /// committed number n means entries 1..=n are all committed, the counter being
    /// written in their transaction), by territory, in one query (on PostgreSQL a
    /// second one reads the timeline): what a sync request reads first.
    pub async fn epoch_and_heads(&self) -> Result<(String, Vec<(String, i64)>), StoreError> {
        let rows = sqlx::query(
            "SELECT e.epoch, f.territory, f.seq FROM server_epoch e \
             LEFT JOIN feed_counters f ON 1 = 1 WHERE e.id = 1 ORDER BY f.territory",
        )
        .fetch_all(self.pool())
        .await?;
        let Some(first) = rows.first() else {
            return Err(StoreError::Corrupt("the database has no epoch".into()));
        };
        let stored: String = first.try_get("epoch")?;
        let mut heads = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(t) = r.try_get::<Option<String>, _>("territory")? {
                heads.push((t, r.try_get("seq")?));
            }
        }
        Ok((self.with_timeline(stored).await?, heads))
    }

    async fn with_timeline(&self, stored: String) -> Result<String, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(stored);
        }
        // Reading the control file needs pg_monitor or superuser; without it the stored epoch alone counts.
        let timeline: Option<i64> =
            sqlx::query_scalar("SELECT timeline_id::bigint FROM pg_control_checkpoint()")
                .fetch_one(self.pool())
                .await
                .ok();
        Ok(match timeline {
            Some(t) => format!("{stored}.{t}"),
            None => stored,
        })
    }

    /// Starts a new epoch: run after restoring the database from a backup, so
    /// every device re-pushes what the restored copy lacks and reads again.
    pub async fn new_epoch(&self) -> Result<String, StoreError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let epoch = hex::encode(bytes);
        sqlx::query("UPDATE server_epoch SET epoch = $1 WHERE id = 1")
            .bind(&epoch)
            .execute(self.pool())
            .await?;
        self.epoch().await
    }

    /// The hash of the change at `seq` in `territory`'s feed, if there is one.
    pub async fn feed_hash_at(
        &self,
        territory: &str,
        seq: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT hash FROM feed WHERE territory = $1 AND seq = $2")
                .bind(territory)
                .bind(seq)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
