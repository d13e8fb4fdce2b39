//! Head office's activities table for documents committed before it existed: filled once at start-up, resumably.

use fieldsync_core::doc::Document;
use fieldsync_core::sync::Hub;
use sqlx::Row;

use super::docs::{activity_values, insert_activities};
use super::{Store, StoreError};
use crate::readmodel::{ActivityRow, activity_rows};

/// The dealer and the activities of a stored dealer document (None: it does not load).
fn activities_of(snapshot: &[u8]) -> Option<(String, Vec<ActivityRow>)> {
    let doc = Document::load(snapshot, Hub::actor()).ok()?;
    let state = doc.dealer_state().ok()?;
    Some((state.id.to_string(), activity_rows(&state)))
}

impl Store {
    /// Lists the activities of dealer documents committed before migration 0023, then removes
    /// its marker; true if it ran. A row a newer commit wrote meanwhile is kept (a commit
    /// replaces its dealer's rows; this only adds the missing ones).
    pub async fn backfill_activities(&self) -> Result<bool, StoreError> {
        let pending: Option<i64> =
            sqlx::query_scalar("SELECT pending FROM activities_backfill LIMIT 1")
                .fetch_optional(self.pool())
                .await?;
        if pending.is_none() {
            return Ok(false);
        }
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, territory, snapshot FROM documents \
                 WHERE kind = 'dealer' AND id > $1 ORDER BY id LIMIT 50",
            )
            .bind(&after)
            .fetch_all(self.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut found: Vec<(String, String, Vec<ActivityRow>)> = Vec::new();
            for r in rows {
                let id: String = r.try_get("id")?;
                let territory: String = r.try_get("territory")?;
                let snapshot: Vec<u8> = r.try_get("snapshot")?;
                after.clone_from(&id);
                // Loading a document is CPU work: off the async workers.
                let activities = tokio::task::spawn_blocking(move || activities_of(&snapshot))
                    .await
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                match activities {
                    Some((dealer, a)) if !a.is_empty() => found.push((dealer, territory, a)),
                    Some(_) => {}
                    None => {
                        tracing::warn!(doc = %id, "stored document does not load; its activities are not listed")
                    }
                }
            }
            let values: Vec<_> = found
                .iter()
                .flat_map(|(d, t, rows)| rows.iter().map(move |a| activity_values(d, t, a)))
                .collect();
            let mut w = self.begin_write().await?;
            insert_activities(&mut w, &values, " ON CONFLICT (dealer, id) DO NOTHING").await?;
            w.commit().await?;
        }
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM activities_backfill")
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(true)
    }
}
