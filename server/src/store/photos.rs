//! Photos by content hash: store once (idempotent), read back with their media type.

use sqlx::Row;

use super::{Store, StoreError, now_millis};

impl Store {
    /// Stores a photo unless one with this hash is already stored; true if it was new.
    pub async fn put_photo(
        &self,
        hash: &str,
        mime: &str,
        bytes: &[u8],
        user: &str,
    ) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let stored = sqlx::query(
            "INSERT INTO photos (hash, mime, bytes, size, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING",
        )
        .bind(hash)
        .bind(mime)
        .bind(bytes)
        .bind(size)
        .bind(user)
        .bind(now_millis())
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(stored == 1)
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
}
