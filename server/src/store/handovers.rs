//! Territory handovers: reassignment (access and the outgoing manager's open items in one transaction), completion, the lists, and the late edits held for the incoming manager.

use sqlx::Row;
use sqlx::any::AnyRow;

pub use crate::readmodel::ItemRow;

use super::{Store, StoreError, WriteTx};

/// `completed_by` of a handover whose deadline passed before anyone completed it.
pub const BY_DEADLINE: &str = "deadline";

/// One handover as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverRow {
    pub id: String,
    pub territory: String,
    pub from_user: String,
    pub to_user: String,
    pub by_user: String,
    pub reassigned_at: i64,
    /// Edits of the outgoing manager received from now on are late (core's late rule).
    pub late_until: i64,
    /// The outgoing manager reads the territory until then, unless completed earlier.
    pub deadline: i64,
    pub completed_at: Option<i64>,
    pub completed_by: Option<String>,
}

impl HandoverRow {
    /// Whether it is still open at `now` (not completed, deadline not passed).
    pub fn is_open(&self, now: i64) -> bool {
        self.completed_at.is_none() && self.deadline > now
    }

    /// When it ended and who ended it, as of `now` (a passed deadline ends it even
    /// before the database records it).
    pub fn ended(&self, now: i64) -> Option<(i64, String)> {
        match (&self.completed_at, &self.completed_by) {
            (Some(at), by) => Some((*at, by.clone().unwrap_or_default())),
            (None, _) if self.deadline <= now => Some((self.deadline, BY_DEADLINE.to_owned())),
            _ => None,
        }
    }
}

/// An item with its dealer and its review, as the lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedItem {
    pub item: ItemRow,
    pub territory: String,
    pub dealer_name: String,
    /// `pending`, `flagged` or `accepted`.
    pub state: String,
    pub reason: Option<String>,
    pub by: Option<String>,
    pub at: Option<i64>,
    /// Whether the record is still open (not kept, broken, cancelled, rejected,
    /// reconciled or resolved) in the read model.
    pub open: bool,
}

/// A reassignment to store.
#[derive(Debug, Clone)]
pub struct NewHandover<'a> {
    pub id: &'a str,
    pub territory: &'a str,
    pub from_user: &'a str,
    pub to_user: &'a str,
    pub by_user: &'a str,
    pub now: i64,
    pub late_until: i64,
    pub deadline: i64,
    /// The outgoing manager's open items at reassignment (`late` false).
    pub items: &'a [ItemRow],
}

/// What a reassignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reassigned {
    Done(HandoverRow),
    /// The territory already has an open handover; nothing was written.
    AlreadyOpen(String),
    /// The outgoing manager is not (or no longer) assigned the territory; nothing was written.
    NotAssigned,
}

/// A held late edit (one change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRow {
    pub handover: String,
    pub doc: String,
    pub hash: String,
    pub change: Vec<u8>,
    pub position: i64,
    pub device: String,
    pub stamped_at: Option<i64>,
    pub received_at: i64,
    /// `held`, `released` or `declined`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// Which handovers a list shows.
#[derive(Debug, Clone, Default)]
pub struct HandoverQuery {
    pub territory: Option<String>,
    /// Only those still open at `now`.
    pub open_only: bool,
    /// Only those of these territories (a regional manager's), when set.
    pub territories: Option<Vec<String>>,
    /// Only those this user hands over or takes over (a manager), when set.
    pub party: Option<String>,
    pub now: i64,
}

const COLUMNS: &str = "id, territory, from_user, to_user, by_user, reassigned_at, late_until, \
                       deadline, completed_at, completed_by";

fn handover_of(r: &AnyRow) -> Result<HandoverRow, sqlx::Error> {
    Ok(HandoverRow {
        id: r.try_get("id")?,
        territory: r.try_get("territory")?,
        from_user: r.try_get("from_user")?,
        to_user: r.try_get("to_user")?,
        by_user: r.try_get("by_user")?,
        reassigned_at: r.try_get("reassigned_at")?,
        late_until: r.try_get("late_until")?,
        deadline: r.try_get("deadline")?,
        completed_at: r.try_get("completed_at")?,
        completed_by: r.try_get("completed_by")?,
    })
}

fn held_of(r: &AnyRow) -> Result<HeldRow, sqlx::Error> {
    Ok(HeldRow {
        handover: r.try_get("handover")?,
        doc: r.try_get("doc")?,
        hash: r.try_get("hash")?,
        change: r.try_get("change")?,
        position: r.try_get("position")?,
        device: r.try_get("device")?,
        stamped_at: r.try_get("stamped_at")?,
        received_at: r.try_get("received_at")?,
        state: r.try_get("state")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// Inserts items, leaving any already listed as they are.
async fn insert_items(w: &mut WriteTx, items: &[ItemRow]) -> Result<(), StoreError> {
    for i in items {
        sqlx::query(
            "INSERT INTO handover_items (handover, dealer, kind, record, title, since, listed_at, late) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (handover, dealer, kind, record) DO NOTHING",
        )
        .bind(&i.handover)
        .bind(&i.dealer)
        .bind(&i.kind)
        .bind(&i.record)
        .bind(&i.title)
        .bind(i.since)
        .bind(i.listed_at)
        .bind(i64::from(i.late))
        .execute(&mut *w.tx)
        .await?;
    }
    Ok(())
}

/// Lists late items in a commit's transaction (`store::docs::commit_doc`).
pub(crate) async fn list_late_items(w: &mut WriteTx, items: &[ItemRow]) -> Result<(), StoreError> {
    insert_items(w, items).await
}

/// SQL: whether the record of item `i` is still open in the read model (a record
/// the read model does not hold yet counts as open).
const OPEN_SQL: &str = "CASE i.kind \
     WHEN 'commitment' THEN (SELECT COUNT(*) FROM rm_commitments c WHERE c.dealer = i.dealer AND c.id = i.record \
        AND c.status NOT IN ('open', 'pending_approval')) \
     WHEN 'claim' THEN (SELECT COUNT(*) FROM rm_claims c WHERE c.dealer = i.dealer AND c.id = i.record \
        AND c.status IN ('rejected', 'reconciled')) \
     WHEN 'problem' THEN (SELECT COUNT(*) FROM rm_problems p WHERE p.dealer = i.dealer AND p.id = i.record \
        AND p.status = 'resolved') \
     ELSE 0 END";

impl Store {
    /// Reassigns `h.territory` from `h.from_user` to `h.to_user` in one transaction:
    /// closes the territory's handovers whose deadline passed, records the handover
    /// (refused if one is still open), moves the assignment and lists the items.
    pub async fn reassign(&self, h: NewHandover<'_>) -> Result<Reassigned, StoreError> {
        let mut w = self.begin_write().await?;
        sqlx::query(
            "UPDATE handovers SET completed_at = deadline, completed_by = $1 \
             WHERE territory = $2 AND completed_at IS NULL AND deadline <= $3",
        )
        .bind(BY_DEADLINE)
        .bind(h.territory)
        .bind(h.now)
        .execute(&mut *w.tx)
        .await?;
        let open: Option<String> = sqlx::query_scalar(
            "SELECT id FROM handovers WHERE territory = $1 AND completed_at IS NULL",
        )
        .bind(h.territory)
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some(id) = open {
            return Ok(Reassigned::AlreadyOpen(id));
        }
        let moved =
            sqlx::query("DELETE FROM user_territories WHERE user_id = $1 AND territory = $2")
                .bind(h.from_user)
                .bind(h.territory)
                .execute(&mut *w.tx)
                .await?
                .rows_affected();
        if moved != 1 {
            return Ok(Reassigned::NotAssigned);
        }
        sqlx::query(
            "INSERT INTO user_territories (user_id, territory) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(h.to_user)
        .bind(h.territory)
        .execute(&mut *w.tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO handovers (id, territory, from_user, to_user, by_user, reassigned_at, late_until, deadline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(h.id)
        .bind(h.territory)
        .bind(h.from_user)
        .bind(h.to_user)
        .bind(h.by_user)
        .bind(h.now)
        .bind(h.late_until)
        .bind(h.deadline)
        .execute(&mut *w.tx)
        .await;
        match inserted {
            // A concurrent reassignment of the same territory won (the unique index).
            Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                return Ok(Reassigned::AlreadyOpen(String::new()));
            }
            r => r?,
        };
        insert_items(&mut w, h.items).await?;
        w.commit().await?;
        Ok(Reassigned::Done(HandoverRow {
            id: h.id.to_owned(),
            territory: h.territory.to_owned(),
            from_user: h.from_user.to_owned(),
            to_user: h.to_user.to_owned(),
            by_user: h.by_user.to_owned(),
            reassigned_at: h.now,
            late_until: h.late_until,
            deadline: h.deadline,
            completed_at: None,
            completed_by: None,
        }))
    }

    /// One handover.
    pub async fn handover(&self, id: &str) -> Result<Option<HandoverRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM handovers WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(handover_of).transpose()?)
    }

    /// The open handover of `territory` at `now`, if any.
    pub async fn open_handover(
        &self,
        territory: &str,
        now: i64,
    ) -> Result<Option<HandoverRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM handovers \
             WHERE territory = $1 AND completed_at IS NULL AND deadline > $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(territory)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(handover_of).transpose()?)
    }

    /// Every handover still open at `now`.
    pub async fn open_handovers(&self, now: i64) -> Result<Vec<HandoverRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM handovers WHERE completed_at IS NULL AND deadline > $1 \
             ORDER BY territory"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(handover_of).collect::<Result<_, _>>()?)
    }

    /// Every handover `user` hands over or takes over (open or not), oldest first.
    pub async fn handovers_of(&self, user: &str) -> Result<Vec<HandoverRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM handovers WHERE from_user = $1 OR to_user = $2 \
             ORDER BY reassigned_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(user)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(handover_of).collect::<Result<_, _>>()?)
    }

    /// The handovers `q` selects, newest first.
    pub async fn list_handovers(&self, q: &HandoverQuery) -> Result<Vec<HandoverRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM handovers ORDER BY reassigned_at DESC, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        let all: Vec<HandoverRow> = rows.iter().map(handover_of).collect::<Result<_, _>>()?;
        Ok(all
            .into_iter()
            .filter(|h| q.territory.as_ref().is_none_or(|t| &h.territory == t))
            .filter(|h| !q.open_only || h.is_open(q.now))
            .filter(|h| {
                q.territories
                    .as_ref()
                    .is_none_or(|ts| ts.contains(&h.territory))
            })
            .filter(|h| {
                q.party
                    .as_ref()
                    .is_none_or(|u| &h.from_user == u || &h.to_user == u)
            })
            .collect())
    }

    /// Completes a handover still open at `now`: the outgoing manager's read period
    /// and late window end now. False if it was no longer open.
    pub async fn complete_handover(
        &self,
        id: &str,
        by: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut w = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE handovers SET completed_at = $1, completed_by = $2, \
             late_until = CASE WHEN late_until < $3 THEN late_until ELSE $4 END \
             WHERE id = $5 AND completed_at IS NULL AND deadline > $6",
        )
        .bind(now)
        .bind(by)
        .bind(now)
        .bind(now)
        .bind(id)
        .bind(now)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(n == 1)
    }

    /// The items of `handovers`, with their dealer, review and whether the record is
    /// still open, oldest first.
    pub async fn handover_items(
        &self,
        handovers: &[String],
    ) -> Result<Vec<ListedItem>, StoreError> {
        if handovers.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=handovers.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT i.handover AS handover, i.dealer AS dealer, i.kind AS kind, i.record AS record, \
             i.title AS title, i.since AS since, i.listed_at AS listed_at, i.late AS late, \
             h.territory AS territory, COALESCE(d.name, i.dealer) AS dealer_name, \
             r.state AS state, r.reason AS reason, r.by_user AS by_user, r.at AS at, \
             {OPEN_SQL} AS closed \
             FROM handover_items i JOIN handovers h ON h.id = i.handover \
             LEFT JOIN rm_dealers d ON d.id = i.dealer \
             LEFT JOIN rm_handover_reviews r ON r.dealer = i.dealer AND r.kind = i.kind \
                AND r.record = i.record AND r.handover = i.handover \
             WHERE i.handover IN ({}) ORDER BY i.since, i.dealer, i.kind, i.record",
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in handovers {
            q = q.bind(h.clone());
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let state: Option<String> = r.try_get("state")?;
                let closed: i64 = r.try_get("closed")?;
                Ok(ListedItem {
                    item: ItemRow {
                        handover: r.try_get("handover")?,
                        dealer: r.try_get("dealer")?,
                        kind: r.try_get("kind")?,
                        record: r.try_get("record")?,
                        title: r.try_get("title")?,
                        since: r.try_get("since")?,
                        listed_at: r.try_get("listed_at")?,
                        late: r.try_get::<i64, _>("late")? != 0,
                    },
                    territory: r.try_get("territory")?,
                    dealer_name: r.try_get("dealer_name")?,
                    state: state.unwrap_or_else(|| "pending".to_owned()),
                    reason: r.try_get("reason")?,
                    by: r.try_get("by_user")?,
                    at: r.try_get("at")?,
                    open: closed == 0,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Keeps `changes` (hash, bytes, stamp time) of a push the late rule refused,
    /// once each (a push sent again adds nothing).
    pub async fn hold(
        &self,
        handover: &str,
        doc: &str,
        device: &str,
        changes: &[(String, Vec<u8>, Option<i64>)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut w = self.begin_write().await?;
        let base: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) FROM handover_held WHERE handover = $1 AND doc = $2",
        )
        .bind(handover)
        .bind(doc)
        .fetch_one(&mut *w.tx)
        .await?;
        for (n, (hash, bytes, stamped_at)) in changes.iter().enumerate() {
            let position = base + i64::try_from(n).unwrap_or(i64::MAX - base - 1) + 1;
            sqlx::query(
                "INSERT INTO handover_held (handover, doc, hash, change, position, device, stamped_at, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (handover, doc, hash) DO NOTHING",
            )
            .bind(handover)
            .bind(doc)
            .bind(hash)
            .bind(bytes)
            .bind(position)
            .bind(device)
            .bind(*stamped_at)
            .bind(now)
            .execute(&mut *w.tx)
            .await?;
        }
        w.commit().await
    }

    /// The late edits held for a handover (every state), by document and order.
    pub async fn held(&self, handover: &str) -> Result<Vec<HeldRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT handover, doc, hash, change, position, device, stamped_at, received_at, state, \
             decided_by, decided_at FROM handover_held WHERE handover = $1 ORDER BY doc, position",
        )
        .bind(handover)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(held_of).collect::<Result<_, _>>()?)
    }

    /// How many changes each handover still holds (state `held`).
    pub async fn held_counts(
        &self,
        handovers: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::new();
        for h in handovers {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM handover_held WHERE handover = $1 AND state = 'held'",
            )
            .bind(h)
            .fetch_one(self.pool())
            .await?;
            out.push((h.clone(), n));
        }
        Ok(out)
    }

    /// Marks a document's held changes `state` (released or declined), by whom and
    /// when; only those still held. Returns how many it marked.
    pub async fn decide_held(
        &self,
        handover: &str,
        doc: &str,
        state: &str,
        by: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let mut w = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE handover_held SET state = $1, decided_by = $2, decided_at = $3 \
             WHERE handover = $4 AND doc = $5 AND state = 'held'",
        )
        .bind(state)
        .bind(by)
        .bind(now)
        .bind(handover)
        .bind(doc)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        w.commit().await?;
        Ok(n)
    }
}
