//! Which device owns each Automerge actor id: registered on first use, never reassigned.
//!
//! An owner never changes, so owners once read are answered from memory
//! ([`OwnerCache`]) instead of a query on every sync request. The cache forgets
//! everything when the database's epoch changes (a restored copy may not hold
//! what it read) and when it is full, so it never holds more than
//! [`MAX_CACHED_OWNERS`] entries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// Most owners kept in memory: about 100 bytes each.
pub const MAX_CACHED_OWNERS: usize = 65_536;

/// Owners already read from the database, and the epoch they were read under.
#[derive(Debug, Default)]
pub(super) struct OwnerCache {
    epoch: Option<String>,
    owners: HashMap<String, String>,
}

impl OwnerCache {
    /// Forgets everything if `epoch` is not the one the cache was filled under.
    pub(super) fn saw_epoch(&mut self, epoch: &str) {
        if self.epoch.as_deref() != Some(epoch) {
            self.owners.clear();
            self.epoch = Some(epoch.to_owned());
        }
    }

    fn remember(&mut self, owners: &BTreeMap<String, String>) {
        if self.owners.len() + owners.len() > MAX_CACHED_OWNERS {
            self.owners.clear();
        }
        for (a, d) in owners.iter().take(MAX_CACHED_OWNERS) {
            self.owners.insert(a.clone(), d.clone());
        }
    }
}

impl Store {
    /// The owning device of each of `actors` (hex ids) that is registered.
    pub async fn actor_owners(
        &self,
        actors: &[String],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut owners = BTreeMap::new();
        let mut unknown: Vec<&String> = Vec::new();
        {
            let cache = self.owner_cache();
            for a in actors {
                match cache.owners.get(a) {
                    Some(d) => {
                        owners.insert(a.clone(), d.clone());
                    }
                    None => unknown.push(a),
                }
            }
        }
        if unknown.is_empty() {
            return Ok(owners);
        }
        let mut read = BTreeMap::new();
        for chunk in unknown.chunks(CHUNK) {
            let sql = format!(
                "SELECT actor, device FROM device_actors WHERE actor IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for a in chunk {
                q = q.bind(a);
            }
            for r in q.fetch_all(self.pool()).await? {
                read.insert(r.try_get("actor")?, r.try_get("device")?);
            }
        }
        self.owner_cache().remember(&read);
        owners.extend(read);
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
