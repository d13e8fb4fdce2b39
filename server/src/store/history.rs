//! When the server received each change of a document: the feed's `committed_at`, by change hash, for the audit history.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The server's receive time (epoch ms, `feed.committed_at`) of every change
    /// of document `doc` in the feed, by change hash (hex), in one query.
    pub async fn received_at(&self, doc: &str) -> Result<HashMap<String, i64>, StoreError> {
        let rows = sqlx::query("SELECT hash, committed_at FROM feed WHERE doc = $1")
            .bind(doc)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("hash")?, r.try_get("committed_at")?)))
            .collect()
    }
}
