//! The database's epoch: which copy of the data the feed numbers belong to (see `core::sync::cursor`).

use super::{Backend, Store, StoreError};

impl Store {
    /// The epoch devices' cursors must carry. On PostgreSQL the server's
    /// timeline is appended: promoting a replica or a point-in-time restore
    /// starts a new timeline, so devices notice even if nobody ran `new-epoch`.
    pub async fn epoch(&self) -> Result<String, StoreError> {
        let stored: String = sqlx::query_scalar("SELECT epoch FROM server_epoch WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
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
