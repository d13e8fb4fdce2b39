//! Documents and their territory feeds: load (one or many), group commit (documents + feeds + read model + late handover items of many pushes in one transaction), read the feed.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AssertSqlSafe, Row};

use super::rows::{self, MAX_PARAMS, Marks, Val};
use super::{Store, StoreError, WriteTx, now_millis};
use crate::readmodel::{ActivityRow, DealerRows, ReadKind, ReadRows, TerritoryRow};

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

/// Everything one accepted push of one document writes (one member of a group commit).
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

    /// The stored documents among `ids`, by id, in as few queries as the parameter limit allows.
    pub async fn load_docs(&self, ids: &[&str]) -> Result<BTreeMap<String, StoredDoc>, StoreError> {
        let mut docs = BTreeMap::new();
        for chunk in ids.chunks(MAX_PARAMS) {
            let sql = format!(
                "SELECT id, territory, version, snapshot FROM documents WHERE id IN ({})",
                rows::placeholders(Marks::of(self.backend()), 1, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.pool()).await? {
                docs.insert(
                    r.try_get("id")?,
                    StoredDoc {
                        territory: r.try_get("territory")?,
                        version: r.try_get("version")?,
                        snapshot: r.try_get("snapshot")?,
                    },
                );
            }
        }
        Ok(docs)
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

    /// Up to `limit` stored documents of `territory` whose id sorts after `after`
    /// ('' for the first), in id order: (id, saved bytes). A snapshot read after
    /// a feed head holds every change up to that head (both are written in one
    /// transaction).
    pub async fn territory_snapshots(
        &self,
        territory: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, snapshot FROM documents WHERE territory = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(territory)
        .bind(after)
        .bind(limit)
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

    /// Stores a group of accepted pushes in one transaction. First the version
    /// check of every document (in id order, so concurrent groups on PostgreSQL lock
    /// rows in one order): a document somebody else changed since it was loaded (or
    /// created meanwhile) is left out, with nothing written for it, and reported
    /// `false` for the caller to decide again. Then, for the documents written: their
    /// fresh changes appended to their territories' feeds (each counter bumped once,
    /// under its row lock until commit, so feed order = commit order), the read
    /// model, photo references, late handover items, and on PostgreSQL one NOTIFY per
    /// territory. Returns, per document of `docs`, the last feed number written for it
    /// (`None`: left out).
    pub async fn commit_docs(
        &self,
        docs: &[CommitDoc<'_>],
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let mut stored = vec![false; docs.len()];
        let mut last = vec![None; docs.len()];
        let mut order: Vec<usize> = (0..docs.len()).collect();
        order.sort_by(|a, b| docs[*a].id.cmp(docs[*b].id));
        // A document named twice is written once; the later copy is decided again.
        order.dedup_by(|b, a| docs[*a].id == docs[*b].id);
        if order.is_empty() {
            return Ok(last);
        }
        let mut w = self.begin_write().await?;
        let marks = Marks::of(self.backend());
        let now = now_millis();
        let new: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| docs[*i].expected_version.is_none())
            .collect();
        for chunk in new.chunks(MAX_PARAMS / 5) {
            let mut sql = String::from(
                "INSERT INTO documents (id, territory, kind, version, snapshot, updated_at) VALUES ",
            );
            for k in 0..chunk.len() {
                if k > 0 {
                    sql.push_str(", ");
                }
                // (id, territory, kind, 1, snapshot, updated_at)
                let b = k * 5;
                sql.push('(');
                sql.push_str(&rows::placeholders(marks, b + 1, 3));
                sql.push_str(", 1, ");
                sql.push_str(&rows::placeholders(marks, b + 4, 2));
                sql.push(')');
            }
            sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
            let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
            for i in chunk {
                let c = &docs[*i];
                q = q
                    .bind(c.id)
                    .bind(c.territory)
                    .bind(c.kind)
                    .bind(c.snapshot.as_slice())
                    .bind(now);
            }
            let created: BTreeSet<String> = q.fetch_all(&mut *w.tx).await?.into_iter().collect();
            for i in chunk {
                stored[*i] = created.contains(docs[*i].id);
            }
        }
        for i in order.iter().copied() {
            let c = &docs[i];
            let Some(v) = c.expected_version else {
                continue;
            };
            let written = sqlx::query(
                "UPDATE documents SET version = version + 1, snapshot = $1, updated_at = $2 \
                 WHERE id = $3 AND version = $4",
            )
            .bind(c.snapshot.as_slice())
            .bind(now)
            .bind(c.id)
            .bind(v)
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
            stored[i] = written == 1;
        }
        // In the caller's order from here: the feed lists the documents as pushed.
        let written: Vec<usize> = (0..docs.len()).filter(|i| stored[*i]).collect();
        if written.is_empty() {
            // Nothing to write: the transaction ends without a change.
            return Ok(last);
        }
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for c in written.iter().map(|i| &docs[*i]) {
            let n = i64::try_from(c.fresh.len()).unwrap_or(i64::MAX);
            *counts.entry(c.territory).or_default() += n;
        }
        let heads: Vec<Vec<Val<'_>>> = counts
            .keys()
            .map(|t| vec![Val::Text(t), Val::Int(0)])
            .collect();
        rows::insert(
            &mut w,
            "INSERT INTO feed_counters (territory, seq)",
            " ON CONFLICT (territory) DO NOTHING",
            &heads,
        )
        .await?;
        // Each territory's next number, in territory order. The UPDATE takes the
        // counter row's lock until commit: feed order = commit order.
        let mut next: BTreeMap<&str, i64> = BTreeMap::new();
        for (t, n) in &counts {
            let last: i64 = sqlx::query_scalar(
                "UPDATE feed_counters SET seq = seq + $1 WHERE territory = $2 RETURNING seq",
            )
            .bind(*n)
            .bind(*t)
            .fetch_one(&mut *w.tx)
            .await?;
            next.insert(t, last - n);
        }
        let mut feed: Vec<Vec<Val<'_>>> = Vec::new();
        for i in written.iter().copied() {
            let c = &docs[i];
            let seq = next.entry(c.territory).or_default();
            last[i] = Some(*seq + i64::try_from(c.fresh.len()).unwrap_or(i64::MAX));
            for (hash, bytes) in &c.fresh {
                *seq += 1;
                feed.push(vec![
                    Val::Text(c.territory),
                    Val::Int(*seq),
                    Val::Text(c.id),
                    Val::Text(hash),
                    Val::Bytes(bytes),
                    Val::Text(c.device),
                    Val::Text(c.origin),
                    Val::Int(now),
                ]);
            }
        }
        rows::insert(
            &mut w,
            "INSERT INTO feed (territory, seq, doc, hash, change, device, origin, committed_at)",
            "",
            &feed,
        )
        .await?;
        drop(feed);
        let written: Vec<&CommitDoc<'_>> = written.iter().map(|i| &docs[*i]).collect();
        write_read_models(&mut w, &written).await?;
        for c in &written {
            if let ReadKind::Dealer(d) = &c.read.kind {
                // A document new in this commit names no photo yet: nothing to index or drop.
                if c.expected_version.is_some() || !d.photos.is_empty() {
                    super::photos::index_photo_refs(&mut w, c.id, c.territory, &d.photos).await?;
                }
                // Records the outgoing manager synced after a reassignment join the incoming one's list.
                if !d.late_items.is_empty() {
                    super::handovers::list_late_items(&mut w, &d.late_items).await?;
                }
            }
        }
        if self.backend() == super::Backend::Postgres {
            for t in counts.keys() {
                // Delivered to every server replica's listener when (and only if) this commits.
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(super::FEED_CHANNEL)
                    .bind(*t)
                    .execute(&mut *w.tx)
                    .await?;
            }
        }
        w.commit().await?;
        Ok(last)
    }

    /// Stores one accepted push: a group commit of one. Returns the last feed number
    /// written; `VersionConflict` (nothing written) if somebody else changed the
    /// document since it was loaded.
    pub async fn commit_doc(&self, c: CommitDoc<'_>) -> Result<i64, StoreError> {
        self.commit_docs(std::slice::from_ref(&c))
            .await?
            .pop()
            .flatten()
            .ok_or(StoreError::VersionConflict)
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

/// Replaces the read-model rows of every document of a group commit: one DELETE
/// per table for all of them, then multi-row INSERTs. Were a dealer named by two
/// documents, the later one's rows stand, as if they were written one after another.
async fn write_read_models(w: &mut WriteTx, docs: &[&CommitDoc<'_>]) -> Result<(), StoreError> {
    let ids: Vec<&str> = docs.iter().map(|c| c.id).collect();
    rows::execute_in(w, "DELETE FROM rm_conflicts WHERE doc", &ids).await?;
    let mut conflicts = Vec::new();
    for c in docs {
        for k in &c.read.conflicts {
            conflicts.push(vec![
                Val::Text(c.id),
                Val::OptText(k.dealer.as_deref()),
                Val::Text(c.territory),
                Val::Text(&k.path),
                Val::Text(&k.winner),
                Val::Text(&k.others),
                Val::Text(&k.id),
                Val::Text(k.kind),
            ]);
        }
    }
    rows::insert(
        w,
        "INSERT INTO rm_conflicts (doc, dealer, territory, path, winner, others, conflict_id, kind)",
        "",
        &conflicts,
    )
    .await?;
    let mut dealers: BTreeMap<&str, (&str, &DealerRows)> = BTreeMap::new();
    for c in docs {
        match &c.read.kind {
            ReadKind::Territory(t) => write_territory(w, t).await?,
            ReadKind::Dealer(d) => {
                dealers.insert(d.dealer.id.as_str(), (c.territory, d));
            }
        }
    }
    if dealers.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = dealers.keys().copied().collect();
    for table in [
        "DELETE FROM rm_handover_reviews WHERE dealer",
        "DELETE FROM rm_visits WHERE dealer",
        "DELETE FROM rm_commitments WHERE dealer",
        "DELETE FROM rm_claims WHERE dealer",
        "DELETE FROM rm_problems WHERE dealer",
        "DELETE FROM rm_activities WHERE dealer",
        "DELETE FROM rm_dealers WHERE id",
    ] {
        rows::execute_in(w, table, &keys).await?;
    }
    let mut summary = Vec::new();
    let mut visits = Vec::new();
    let mut commitments = Vec::new();
    let mut claims = Vec::new();
    let mut reviews = Vec::new();
    let mut problems = Vec::new();
    let mut activities = Vec::new();
    for (territory, d) in dealers.values() {
        let r = &d.dealer;
        summary.push(vec![
            Val::Text(&r.id),
            Val::Text(territory),
            Val::Text(&r.name),
            Val::Text(&r.kind),
            Val::Int(r.tier),
            Val::Text(&r.status),
            Val::OptInt(r.last_visit_at),
            Val::Int(r.open_commitments),
            Val::Int(r.open_problems),
        ]);
        for v in &d.visits {
            visits.push(vec![
                Val::Text(&v.id),
                Val::Text(&r.id),
                Val::Text(territory),
                Val::Text(&v.manager),
                Val::Int(v.at),
                Val::Text(&v.purposes),
                Val::Text(&v.summary),
                Val::OptReal(v.lat),
                Val::OptReal(v.lon),
                Val::OptReal(v.accuracy_m),
            ]);
        }
        for c in &d.commitments {
            commitments.push(vec![
                Val::Text(&c.id),
                Val::Text(&r.id),
                Val::Text(territory),
                Val::Text(&c.what),
                Val::Text(&c.to_whom),
                Val::Text(&c.owner),
                Val::Text(&c.made_by),
                Val::Int(c.made_at),
                Val::Text(&c.due),
                Val::OptInt(c.amount_minor),
                Val::OptText(c.currency.as_deref()),
                Val::Text(&c.status),
            ]);
        }
        for c in &d.claims {
            claims.push(vec![
                Val::Text(&c.id),
                Val::Text(&r.id),
                Val::Text(territory),
                Val::Text(&c.category),
                Val::Text(&c.purpose),
                Val::Int(c.amount_minor),
                Val::Text(&c.currency),
                Val::OptInt(c.spent_minor),
                Val::Text(&c.status),
                Val::Text(&c.requested_by),
                Val::Int(c.requested_at),
                Val::OptText(c.spent_on.as_deref()),
                Val::Text(&c.owner),
            ]);
        }
        for v in &d.reviews {
            reviews.push(vec![
                Val::Text(&r.id),
                Val::Text(territory),
                Val::Text(v.kind),
                Val::Text(&v.record),
                Val::Text(&v.handover),
                Val::Text(v.state),
                Val::OptText(v.reason.as_deref()),
                Val::Text(&v.by),
                Val::Int(v.at),
            ]);
        }
        for a in &d.activities {
            activities.push(activity_values(&r.id, territory, a));
        }
        for p in &d.problems {
            problems.push(vec![
                Val::Text(&p.id),
                Val::Text(&r.id),
                Val::Text(territory),
                Val::Text(&p.category),
                Val::Text(&p.severity),
                Val::Text(&p.title),
                Val::Text(&p.status),
                Val::Int(p.raised_at),
                Val::OptInt(p.resolved_at),
                Val::Int(i64::from(p.escalated)),
                Val::OptText(p.owner.as_deref()),
                Val::OptText(p.escalated_by.as_deref()),
                Val::OptInt(p.escalated_at),
                Val::OptText(p.responded_by.as_deref()),
                Val::OptInt(p.responded_at),
                Val::OptText(p.response.as_deref()),
                Val::OptText(p.assigned_to.as_deref()),
                Val::OptText(p.resolved_by.as_deref()),
            ]);
        }
    }
    rows::insert(
        w,
        "INSERT INTO rm_dealers (id, territory, name, kind, tier, status, last_visit_at, open_commitments, open_problems)",
        "",
        &summary,
    )
    .await?;
    rows::insert(
        w,
        "INSERT INTO rm_visits (id, dealer, territory, manager, at, purposes, summary, lat, lon, accuracy_m)",
        "",
        &visits,
    )
    .await?;
    rows::insert(
        w,
        "INSERT INTO rm_commitments (id, dealer, territory, what, to_whom, owner, made_by, made_at, due, amount_minor, currency, status)",
        "",
        &commitments,
    )
    .await?;
    rows::insert(
        w,
        "INSERT INTO rm_claims (id, dealer, territory, category, purpose, amount_minor, currency, spent_minor, status, requested_by, requested_at, spent_on, owner)",
        "",
        &claims,
    )
    .await?;
    rows::insert(
        w,
        "INSERT INTO rm_handover_reviews (dealer, territory, kind, record, handover, state, reason, by_user, at)",
        "",
        &reviews,
    )
    .await?;
    rows::insert(
        w,
        "INSERT INTO rm_problems (id, dealer, territory, category, severity, title, status, raised_at, resolved_at, escalated, \
         owner, escalated_by, escalated_at, responded_by, responded_at, response, assigned_to, resolved_by)",
        "",
        &problems,
    )
    .await?;
    insert_activities(w, &activities, "").await
}

/// An activity's `rm_activities` values.
pub(super) fn activity_values<'a>(
    dealer: &'a str,
    territory: &'a str,
    a: &'a ActivityRow,
) -> Vec<Val<'a>> {
    vec![
        Val::Text(&a.id),
        Val::Text(dealer),
        Val::Text(territory),
        Val::Text(&a.kind),
        Val::Text(&a.title),
        Val::Text(&a.starts),
        Val::Text(&a.ends),
        Val::Int(a.starts_at),
        Val::OptInt(a.budget_minor),
        Val::OptText(a.currency.as_deref()),
        Val::Text(&a.status),
        Val::OptText(a.planned_by.as_deref()),
        Val::Int(a.invited),
        Val::Int(a.attended),
        Val::OptInt(a.attendance),
        Val::OptText(a.result.as_deref()),
        Val::Int(a.photos),
        Val::OptText(a.claim.as_deref()),
    ]
}

/// Inserts `rm_activities` rows; `tail` follows the VALUES (e.g. `ON CONFLICT … DO NOTHING`).
pub(super) async fn insert_activities(
    w: &mut WriteTx,
    rows: &[Vec<Val<'_>>],
    tail: &'static str,
) -> Result<(), StoreError> {
    rows::insert(
        w,
        "INSERT INTO rm_activities (id, dealer, territory, kind, title, starts, ends, starts_at, budget_minor, currency, status, planned_by, \
         invited, attended, attendance, result, photos, claim)",
        tail,
        rows,
    )
    .await?;
    Ok(())
}

/// Replaces a territory's row and its managers in the read model.
async fn write_territory(w: &mut WriteTx, t: &TerritoryRow) -> Result<(), StoreError> {
    let tx = &mut *w.tx;
    sqlx::query("DELETE FROM rm_territories WHERE id = $1")
        .bind(&t.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO rm_territories (id, name, region, time_zone) VALUES ($1, $2, $3, $4)")
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
    let managers: Vec<Vec<Val<'_>>> = t
        .managers
        .iter()
        .map(|m| vec![Val::Text(&t.id), Val::Text(m)])
        .collect();
    rows::insert(
        w,
        "INSERT INTO rm_territory_managers (territory, user_id)",
        "",
        &managers,
    )
    .await?;
    Ok(())
}
