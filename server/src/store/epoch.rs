//! The database's epoch: which copy of the data the feed numbers belong to (see `core::sync::cursor`).

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// The epoch, every territory's feed head, and the hash at each position asked
/// about, as `(territory, seq, hash)`: see [`Store::epoch_heads_and_hashes`].
pub type EpochHeads = (String, Vec<(String, i64)>, Vec<(String, i64, String)>);

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
    /// second one reads the timeline).
    pub async fn epoch_and_heads(&self) -> Result<(String, Vec<(String, i64)>), StoreError> {
        let (epoch, heads, _) = self.epoch_heads_and_hashes(&[]).await?;
        Ok((epoch, heads))
    }

    /// [`Self::epoch_and_heads`] and, in the same query, the hash of the feed entry at
    /// each of `at` (a territory and a feed number: a device's cursor, whose
    /// positions are checked against what this database holds there): what a sync
    /// request reads first. A position with no entry is left out of the hashes.
    pub async fn epoch_heads_and_hashes(
        &self,
        at: &[(String, i64)],
    ) -> Result<EpochHeads, StoreError> {
        let mut sql = String::from("SELECT e.epoch, f.territory, f.seq");
        if !at.is_empty() {
            sql.push_str(", h.seq AS at_seq, h.hash");
        }
        sql.push_str(" FROM server_epoch e LEFT JOIN feed_counters f ON 1 = 1");
        if !at.is_empty() {
            // The feed entry at the cursor's position in each territory: one primary-key
            // lookup per territory the cursor names, none for the others.
            sql.push_str(
                " LEFT JOIN feed h ON h.territory = f.territory AND h.seq = CASE f.territory",
            );
            for i in 0..at.len() {
                sql.push_str(&format!(
                    " WHEN ${} THEN CAST(${} AS BIGINT)",
                    2 * i + 1,
                    2 * i + 2
                ));
            }
            sql.push_str(" ELSE -1 END");
        }
        sql.push_str(" WHERE e.id = 1 ORDER BY f.territory");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (t, seq) in at {
            q = q.bind(t).bind(*seq);
        }
        let rows = q.fetch_all(self.pool()).await?;
        let Some(first) = rows.first() else {
            return Err(StoreError::Corrupt("the database has no epoch".into()));
        };
        let stored: String = first.try_get("epoch")?;
        let mut heads = Vec::with_capacity(rows.len());
        let mut hashes = Vec::new();
        for r in &rows {
            if let Some(t) = r.try_get::<Option<String>, _>("territory")? {
                if !at.is_empty()
                    && let (Some(seq), Some(hash)) = (
                        r.try_get::<Option<i64>, _>("at_seq")?,
                        r.try_get::<Option<String>, _>("hash")?,
                    )
                {
                    hashes.push((t.clone(), seq, hash));
                }
                heads.push((t, r.try_get("seq")?));
            }
        }
        let epoch = self.with_timeline(stored).await?;
        Ok((epoch, heads, hashes))
    }

    /// The epoch as devices see it (`stored`, and on PostgreSQL the timeline); the
    /// actor owners read under another epoch are forgotten.
    async fn with_timeline(&self, stored: String) -> Result<String, StoreError> {
        let epoch = self.timeline_of(stored).await;
        self.owner_cache().saw_epoch(&epoch);
        Ok(epoch)
    }

    async fn timeline_of(&self, stored: String) -> String {
        if self.backend() != Backend::Postgres {
            return stored;
        }
        // Reading the control file needs pg_monitor or superuser; without it the stored epoch alone counts.
        let timeline: Option<i64> =
            sqlx::query_scalar("SELECT timeline_id::bigint FROM pg_control_checkpoint()")
                .fetch_one(self.pool())
                .await
                .ok();
        match timeline {
            Some(t) => format!("{stored}.{t}"),
            None => stored,
        }
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
