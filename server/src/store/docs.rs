//! Documents and their territory feeds: load, commit (document + feed + read model + late handover items in one transaction), read the feed.

use sqlx::Row;

use super::{Store, StoreError, WriteTx, now_millis};
use crate::readmodel::{ReadKind, ReadRows};

/// A document as stored.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub territory: String,
    pub version: i64,
    pub snapshot: Vec<u8>,
}

/// One accepted change in a territory's feed.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub seq: i64,
    pub doc: String,
    pub hash: String,
    pub change: Vec<u8>,
}

/// Everything one accepted push of one document writes.
#[derive(Debug)]
pub struct CommitDoc<'a> {
    pub id: &'a str,
    pub territory: &'a str,
    pub kind: &'a str,
    /// The version that was loaded (None: the document is new).
    pub expected_version: Option<i64>,
    pub snapshot: Vec<u8>,
    /// (hash, bytes) of each change new to the server, in an applicable order.
    pub fresh: Vec<(String, Vec<u8>)>,
    pub device: &'a str,
    /// The pushing replica ('' if it did not say).
    pub origin: &'a str,
    pub read: &'a ReadRows,
}

impl Store {
    /// The stored document `id`, if any.
    pub async fn load_doc(&self, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        let row = sqlx::query("SELECT territory, version, snapshot FROM documents WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(StoredDoc {
                territory: r.try_get("territory")?,
                version: r.try_get("version")?,
                snapshot: r.try_get("snapshot")?,
            })
        })
        .transpose()
    }

    /// Every stored dealer document of `territory`: (id, snapshot).
    pub async fn territory_dealer_docs(
        &self,
        territory: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, snapshot FROM documents WHERE territory = $1 AND kind = 'dealer' ORDER BY id",
        )
        .bind(territory)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("snapshot")?)))
            .collect()
    }

    /// The hashes of a document's changes committed after `after` (server clock, ms) from
    /// a device that is not one of `user`'s (late rule (c) of a territory handover).
    pub async fn foreign_after(
        &self,
        doc: &str,
        after: i64,
        user: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT f.hash FROM feed f LEFT JOIN devices d ON d.id = f.device \
             WHERE f.doc = $1 AND f.committed_at > $2 AND (d.user_id IS NULL OR d.user_id <> $3)",
        )
        .bind(doc)
        .bind(after)
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }

    /// The territory of a stored document, if any.
    pub async fn doc_territory(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT territory FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Stores an accepted push in one transaction: the document (if nobody else
    /// changed it since it was loaded, else `VersionConflict` and nothing is
    /// written), its fresh changes appended to the territory feed under the
    /// territory counter's row lock, and the read model. Returns the last feed
    /// sequence number written.
    pub async fn commit_doc(&self, c: CommitDoc<'_>) -> Result<i64, StoreError> {
        let mut w = self.begin_write().await?;
        let now = now_millis();
        let written = match c.expected_version {
            None => sqlx::query(
                "INSERT INTO documents (id, territory, kind, version, snapshot, updated_at) \
                 VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(c.id)
            .bind(c.territory)
            .bind(c.kind)
            .bind(&c.snapshot)
            .bind(now)
            .execute(&mut *w.tx)
            .await?
            .rows_affected(),
            Some(v) => sqlx::query(
                "UPDATE documents SET version = version + 1, snapshot = $1, updated_at = $2 \
                 WHERE id = $3 AND version = $4",
            )
            .bind(&c.snapshot)
            .bind(now)
            .bind(c.id)
            .bind(v)
            .execute(&mut *w.tx)
            .await?
            .rows_affected(),
        };
        if written != 1 {
            return Err(StoreError::VersionConflict);
        }
        let n = i64::try_from(c.fresh.len()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO feed_counters (territory, seq) VALUES ($1, 0) ON CONFLICT (territory) DO NOTHING",
        )
        .bind(c.territory)
        .execute(&mut *w.tx)
        .await?;
        // The UPDATE takes the counter row's lock until commit: feed order = commit order.
        let last: i64 = sqlx::query_scalar(
            "UPDATE feed_counters SET seq = seq + $1 WHERE territory = $2 RETURNING seq",
        )
        .bind(n)
        .bind(c.territory)
        .fetch_one(&mut *w.tx)
        .await?;
        let mut seq = last - n;
        for (hash, bytes) in &c.fresh {
            seq += 1;
            sqlx::query(
                "INSERT INTO feed (territory, seq, doc, hash, change, device, origin, committed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(c.territory)
            .bind(seq)
            .bind(c.id)
            .bind(hash)
            .bind(bytes)
            .bind(c.device)
            .bind(c.origin)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        write_read_model(&mut w, c.id, c.territory, c.read).await?;
        if let ReadKind::Dealer(d) = &c.read.kind {
            super::photos::index_photo_refs(&mut w, c.id, c.territory, &d.photos).await?;
            // Records the outgoing manager synced after a reassignment join the incoming one's list.
            super::handovers::list_late_items(&mut w, &d.late_items).await?;
        }
        if self.backend() == super::Backend::Postgres {
            // Delivered to every server replica's listener when (and only if) this commits.
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(super::FEED_CHANNEL)
                .bind(c.territory)
                .execute(&mut *w.tx)
                .await?;
        }
        w.commit().await?;
        Ok(last)
    }

    /// Up to `limit` feed entries of `territory` after `after`, in order.
    pub async fn feed_after(
        &self,
        territory: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FeedRow>, StoreError> {
        self.feed_page(territory, after, i64::MAX, "", limit).await
    }

    /// Up to `limit` feed entries of `territory` with `after < seq <= upto`, in
    /// order, leaving out those pushed by replica `origin` (none left out if '').
    pub async fn feed_page(
        &self,
        territory: &str,
        after: i64,
        upto: i64,
        origin: &str,
        limit: i64,
    ) -> Result<Vec<FeedRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, doc, hash, change FROM feed \
             WHERE territory = $1 AND seq > $2 AND seq <= $3 AND ($4 = '' OR origin <> $5) \
             ORDER BY seq LIMIT $6",
        )
        .bind(territory)
        .bind(after)
        .bind(upto)
        .bind(origin)
        .bind(origin)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedRow {
                    seq: r.try_get("seq")?,
                    doc: r.try_get("doc")?,
                    hash: r.try_get("hash")?,
                    change: r.try_get("change")?,
                })
            })
            .collect()
    }

    /// Every territory's last feed number. A committed number n means entries
    /// 1..=n are all committed (the counter is written in their transaction).
    pub async fn feed_heads(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT territory, seq FROM feed_counters ORDER BY territory")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("territory")?, r.try_get("seq")?)))
            .collect()
    }

    /// Every territory that has a feed.
    pub async fn feed_territories(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT territory FROM feed_counters ORDER BY territory")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// How many feed entries (stored changes) a document has.
    pub async fn stored_changes(&self, doc: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM feed WHERE doc = $1")
                .bind(doc)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// How many feed entries are stored in all.
    pub async fn total_changes(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM feed")
            .fetch_one(self.pool())
            .await?)
    }
}

/// Replaces one document's rows in the read model.
async fn write_read_model(
    w: &mut WriteTx,
    doc: &str,
    territory: &str,
    read: &ReadRows,
) -> Result<(), StoreError> {
    let tx = &mut *w.tx;
    sqlx::query("DELETE FROM rm_conflicts WHERE doc = $1")
        .bind(doc)
        .execute(&mut *tx)
        .await?;
    for c in &read.conflicts {
        sqlx::query(
            "INSERT INTO rm_conflicts (doc, dealer, territory, path, winner, others, conflict_id, kind) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(doc)
        .bind(c.dealer.as_deref())
        .bind(territory)
        .bind(&c.path)
        .bind(&c.winner)
        .bind(&c.others)
        .bind(&c.id)
        .bind(c.kind)
        .execute(&mut *tx)
        .await?;
    }
    match &read.kind {
        ReadKind::Territory(t) => {
            sqlx::query("DELETE FROM rm_territories WHERE id = $1")
                .bind(&t.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO rm_territories (id, name, region, time_zone) VALUES ($1, $2, $3, $4)",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.region)
            .bind(&t.time_zone)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM rm_territory_managers WHERE territory = $1")
                .bind(&t.id)
                .execute(&mut *tx)
                .await?;
            for m in &t.managers {
                sqlx::query(
                    "INSERT INTO rm_territory_managers (territory, user_id) VALUES ($1, $2)",
                )
                .bind(&t.id)
                .bind(m)
                .execute(&mut *tx)
                .await?;
            }
        }
        ReadKind::Dealer(d) => {
            for table in [
                "DELETE FROM rm_handover_reviews WHERE dealer = $1",
                "DELETE FROM rm_visits WHERE dealer = $1",
                "DELETE FROM rm_commitments WHERE dealer = $1",
                "DELETE FROM rm_claims WHERE dealer = $1",
                "DELETE FROM rm_problems WHERE dealer = $1",
                "DELETE FROM rm_dealers WHERE id = $1",
            ] {
                sqlx::query(table)
                    .bind(&d.dealer.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let r = &d.dealer;
            sqlx::query(
                "INSERT INTO rm_dealers (id, territory, name, kind, tier, status, last_visit_at, open_commitments, open_problems) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&r.id)
            .bind(territory)
            .bind(&r.name)
            .bind(&r.kind)
            .bind(r.tier)
            .bind(&r.status)
            .bind(r.last_visit_at)
            .bind(r.open_commitments)
            .bind(r.open_problems)
            .execute(&mut *tx)
            .await?;
            for v in &d.visits {
                sqlx::query(
                    "INSERT INTO rm_visits (id, dealer, territory, manager, at, purposes, summary, lat, lon, accuracy_m) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&v.id)
                .bind(&r.id)
                .bind(territory)
                .bind(&v.manager)
                .bind(v.at)
                .bind(&v.purposes)
                .bind(&v.summary)
                .bind(v.lat)
                .bind(v.lon)
                .bind(v.accuracy_m)
                .execute(&mut *tx)
                .await?;
            }
            for c in &d.commitments {
                sqlx::query(
                    "INSERT INTO rm_commitments (id, dealer, territory, what, to_whom, owner, made_by, made_at, due, amount_minor, currency, status) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&c.id)
                .bind(&r.id)
                .bind(territory)
                .bind(&c.what)
                .bind(&c.to_whom)
                .bind(&c.owner)
                .bind(&c.made_by)
                .bind(c.made_at)
                .bind(&c.due)
                .bind(c.amount_minor)
                .bind(c.currency.as_deref())
                .bind(&c.status)
                .execute(&mut *tx)
                .await?;
            }
            for c in &d.claims {
                sqlx::query(
                    "INSERT INTO rm_claims (id, dealer, territory, category, purpose, amount_minor, currency, spent_minor, status, requested_by, requested_at, spent_on, owner) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(&c.id)
                .bind(&r.id)
                .bind(territory)
                .bind(&c.category)
                .bind(&c.purpose)
                .bind(c.amount_minor)
                .bind(&c.currency)
                .bind(c.spent_minor)
                .bind(&c.status)
                .bind(&c.requested_by)
                .bind(c.requested_at)
                .bind(c.spent_on.as_deref())
                .bind(&c.owner)
                .execute(&mut *tx)
                .await?;
            }
            for v in &d.reviews {
                sqlx::query(
                    "INSERT INTO rm_handover_reviews (dealer, territory, kind, record, handover, state, reason, by_user, at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&r.id)
                .bind(territory)
                .bind(v.kind)
                .bind(&v.record)
                .bind(&v.handover)
                .bind(v.state)
                .bind(v.reason.as_deref())
                .bind(&v.by)
                .bind(v.at)
                .execute(&mut *tx)
                .await?;
            }
            for p in &d.problems {
                sqlx::query(
                    "INSERT INTO rm_problems (id, dealer, territory, category, severity, title, status, raised_at, resolved_at, escalated, \
                     owner, escalated_by, escalated_at, responded_by, responded_at, response, assigned_to, resolved_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                )
                .bind(&p.id)
                .bind(&r.id)
                .bind(territory)
                .bind(&p.category)
                .bind(&p.severity)
                .bind(&p.title)
                .bind(&p.status)
                .bind(p.raised_at)
                .bind(p.resolved_at)
                .bind(i64::from(p.escalated))
                .bind(p.owner.as_deref())
                .bind(p.escalated_by.as_deref())
                .bind(p.escalated_at)
                .bind(p.responded_by.as_deref())
                .bind(p.responded_at)
                .bind(p.response.as_deref())
                .bind(p.assigned_to.as_deref())
                .bind(p.resolved_by.as_deref())
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    Ok(())
}
