//! Photos by content hash: stored once (idempotent) within a per-device daily quota, read back with their media
//! type, and indexed by the documents (and so territories) that name them.

use std::collections::BTreeSet;

use fieldsync_core::doc::Document;
use fieldsync_core::sync::Hub;
use sqlx::Row;

use super::{Store, StoreError, WriteTx, now_millis};

/// What storing a photo did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoPut {
    /// Stored now.
    Stored,
    /// Already stored (by anyone): nothing written, no quota used.
    AlreadyStored,
    /// Refused: the device stored `quota` bytes or more in the last 24 hours.
    OverQuota,
}

/// A photo being stored.
#[derive(Debug, Clone, Copy)]
pub struct NewPhoto<'a> {
    pub hash: &'a str,
    pub mime: &'a str,
    pub bytes: &'a [u8],
    pub user: &'a str,
    pub device: &'a str,
    /// Bytes the device may store per 24 hours, this photo included.
    pub quota_per_day: u64,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Store {
    /// Stores a photo unless one with this hash is already stored or the device is over its quota.
    pub async fn put_photo(&self, p: NewPhoto<'_>) -> Result<PhotoPut, StoreError> {
        let mut w = self.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM photos WHERE hash = $1")
            .bind(p.hash)
            .fetch_optional(&mut *w.tx)
            .await?;
        if known.is_some() {
            return Ok(PhotoPut::AlreadyStored);
        }
        let now = now_millis();
        let used: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM photos \
             WHERE device = $1 AND uploaded_at > $2",
        )
        .bind(p.device)
        .bind(now - DAY_MS)
        .fetch_one(&mut *w.tx)
        .await?;
        let size = i64::try_from(p.bytes.len()).unwrap_or(i64::MAX);
        let quota = i64::try_from(p.quota_per_day).unwrap_or(i64::MAX);
        if used.saturating_add(size) > quota {
            return Ok(PhotoPut::OverQuota);
        }
        let stored = sqlx::query(
            "INSERT INTO photos (hash, mime, bytes, size, uploaded_by, uploaded_at, device) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING",
        )
        .bind(p.hash)
        .bind(p.mime)
        .bind(p.bytes)
        .bind(size)
        .bind(p.user)
        .bind(now)
        .bind(p.device)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(if stored == 1 {
            PhotoPut::Stored
        } else {
            PhotoPut::AlreadyStored
        })
    }

    /// A stored photo's media type and bytes.
    pub async fn photo(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = sqlx::query("SELECT mime, bytes FROM photos WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("mime")?, r.try_get("bytes")?)))
            .transpose()
    }

    /// Indexes the photos named by documents committed before `photo_refs` existed: once after
    /// migration 0004 (resumable: it runs until done, then removes its marker). True if it ran.
    pub async fn backfill_photo_refs(&self) -> Result<bool, StoreError> {
        let pending: Option<i64> =
            sqlx::query_scalar("SELECT pending FROM photo_refs_backfill LIMIT 1")
                .fetch_optional(self.pool())
                .await?;
        if pending.is_none() {
            return Ok(false);
        }
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, territory, snapshot FROM documents \
                 WHERE kind = 'dealer' AND id > $1 ORDER BY id LIMIT 20",
            )
            .bind(&after)
            .fetch_all(self.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let id: String = r.try_get("id")?;
                let territory: String = r.try_get("territory")?;
                let snapshot: Vec<u8> = r.try_get("snapshot")?;
                after.clone_from(&id);
                // Loading a document is CPU work: off the async workers.
                let hashes = tokio::task::spawn_blocking(move || photo_hashes(&snapshot))
                    .await
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let Some(hashes) = hashes else {
                    tracing::warn!(doc = %id, "stored document does not load; its photos are not indexed");
                    continue;
                };
                let mut w = self.begin_write().await?;
                // Add only: a commit racing with this has indexed a newer (larger) set.
                for h in &hashes {
                    sqlx::query(
                        "INSERT INTO photo_refs (hash, doc, territory) VALUES ($1, $2, $3) \
                         ON CONFLICT (hash, doc) DO NOTHING",
                    )
                    .bind(h)
                    .bind(&id)
                    .bind(&territory)
                    .execute(&mut *w.tx)
                    .await?;
                }
                w.commit().await?;
            }
        }
        let mut w = self.begin_write().await?;
        sqlx::query("DELETE FROM photo_refs_backfill")
            .execute(&mut *w.tx)
            .await?;
        w.commit().await?;
        Ok(true)
    }

    /// The territories of the committed documents that name photo `hash`.
    pub async fn photo_territories(&self, hash: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT territory FROM photo_refs WHERE hash = $1 ORDER BY territory",
        )
        .bind(hash)
        .fetch_all(self.pool())
        .await?)
    }
}

/// The photo hashes a stored dealer document's visits name (None if it does not load).
fn photo_hashes(snapshot: &[u8]) -> Option<Vec<String>> {
    let doc = Document::load(snapshot, Hub::actor()).ok()?;
    let state = doc.dealer_state().ok()?;
    Some(
        state
            .visits
            .values()
            .flat_map(|v| v.photos.keys().map(ToString::to_string))
            .collect(),
    )
}

/// Records, in a document's commit, which photos it names now (adding the new ones,
/// dropping any it no longer names).
pub(super) async fn index_photo_refs(
    w: &mut WriteTx,
    doc: &str,
    territory: &str,
    hashes: &[String],
) -> Result<(), StoreError> {
    let had: BTreeSet<String> = sqlx::query_scalar("SELECT hash FROM photo_refs WHERE doc = $1")
        .bind(doc)
        .fetch_all(&mut *w.tx)
        .await?
        .into_iter()
        .collect();
    let now: BTreeSet<&String> = hashes.iter().collect();
    for h in now.iter().filter(|h| !had.contains(h.as_str())) {
        sqlx::query(
            "INSERT INTO photo_refs (hash, doc, territory) VALUES ($1, $2, $3) \
             ON CONFLICT (hash, doc) DO NOTHING",
        )
        .bind(h.as_str())
        .bind(doc)
        .bind(territory)
        .execute(&mut *w.tx)
        .await?;
    }
    for h in had.iter().filter(|h| !now.contains(h)) {
        sqlx::query("DELETE FROM photo_refs WHERE hash = $1 AND doc = $2")
            .bind(h)
            .bind(doc)
            .execute(&mut *w.tx)
            .await?;
    }
    Ok(())
}
