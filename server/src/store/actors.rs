//! Which device owns each Automerge actor id: registered on first use, never reassigned.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::{Store, StoreError, now_millis};

/// Rows per `IN (…)` query, well under both engines' bind limits.
const CHUNK: usize = 500;

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The owning device of each of `actors` (hex ids) that is registered.
    pub async fn actor_owners(
        &self,
        actors: &[String],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut owners = BTreeMap::new();
        for chunk in actors.chunks(CHUNK) {
            let sql = format!(
                "SELECT actor, device FROM device_actors WHERE actor IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                q = q.bind(a);
            }
            for r in q.fetch_all(self.pool()).await? {
                owners.insert(r.try_get("actor")?, r.try_get("device")?);
            }
        }
        Ok(owners)
    }

    /// Registers each of `actors` that nobody owns yet as `device`'s (of `user`);
    /// an actor another device registered first keeps its owner. Returns the
    /// owner of every one of `actors` afterwards.
    pub async fn claim_actors(
        &self,
        device: &str,
        user: &str,
        actors: &[String],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut w = self.begin_write().await?;
        let now = now_millis();
        for a in actors {
            sqlx::query(
                "INSERT INTO device_actors (actor, device, user_id, first_seen) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (actor) DO NOTHING",
            )
            .bind(a)
            .bind(device)
            .bind(user)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await?;
        self.actor_owners(actors).await
    }

    /// Which of `hashes` (hex) the server already holds for document `doc`.
    pub async fn stored_hashes(
        &self,
        doc: &str,
        hashes: &[String],
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut stored = BTreeSet::new();
        for chunk in hashes.chunks(CHUNK) {
            let sql = format!(
                "SELECT hash FROM feed WHERE doc = $1 AND hash IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(doc);
            for h in chunk {
                q = q.bind(h);
            }
            stored.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(stored)
    }
}
