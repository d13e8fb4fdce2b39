//! The pull: feed entries after a device's cursor in every territory it may read, a page at a time, leaving out its own changes (they cost neither bytes nor page budget); a territory it has read nothing of comes whole first (`snapshots`).

use std::collections::{BTreeMap, BTreeSet};

use fieldsync_core::ids::TerritoryId;
use fieldsync_core::sync::{ChangeBytes, Cursor, DocChanges, DocSnapshot, Principal};

use super::error::EngineError;
use super::snapshots::{self, Page};
use crate::state::AppState;

/// Feed rows read per query while pulling: with changes of at most
/// `Limits::max_change_bytes` (256 KiB) a chunk holds at most 16 MiB.
const FEED_CHUNK: usize = 64;

/// What a pull sends: documents whole, feed changes grouped by document, the
/// cursor after them, and whether more is waiting.
#[derive(Debug)]
pub(super) struct Pulled {
    pub(super) snapshots: Vec<DocSnapshot>,
    pub(super) changes: Vec<DocChanges>,
    pub(super) cursor: Cursor,
    pub(super) more: bool,
}

/// Feed entries after `from` in every territory `principal` may read, grouped
/// by document, minus the changes replica `origin` pushed (left out by the query,
/// so they cost neither bytes nor page budget) and the changes `skip` (pushed by
/// this very request but stored earlier by someone else). With `whole` (the
/// device takes snapshots), a territory it has read nothing of comes as its
/// documents' snapshots instead (`snapshots::send`), then continues from the feed.
pub(super) async fn pull(
    state: &AppState,
    principal: &Principal,
    heads: &[(String, i64)],
    from: &Cursor,
    origin: &str,
    skip: &BTreeSet<String>,
    whole: bool,
) -> Result<Pulled, EngineError> {
    // Every territory's head, read once for the request (`heads`): territories
    // with nothing new cost nothing more.
    let heads: Vec<(TerritoryId, u64)> = heads
        .iter()
        .filter_map(|(t, seq)| Some((t.parse().ok()?, u64::try_from(*seq).ok()?)))
        .filter(|(t, _)| principal.can_access(t))
        .collect();
    let mut page = Page {
        items: state.settings.page_changes,
        bytes: 0,
        max_bytes: state.settings.page_bytes,
    };
    let mut cursor = from.clone();
    let mut snapshots = Vec::new();
    let mut grouped: BTreeMap<String, Vec<ChangeBytes>> = BTreeMap::new();
    let mut more = false;
    for (t, head) in &heads {
        let mut after = from.get(t);
        if whole && after == 0 {
            match snapshots::send(state, t, *head, &mut cursor, &mut page, &mut snapshots).await? {
                Some(covers) => {
                    let hash = state
                        .store
                        .feed_hash_at(t.as_str(), seq_i64(covers))
                        .await?;
                    cursor.advance_to(t, covers, hash.as_deref());
                    after = covers;
                }
                None => {
                    more = true;
                    continue;
                }
            }
        }
        cursor.advance(t, after);
        loop {
            if after >= *head {
                break;
            }
            if page.full() {
                // The page is full: only ask whether this territory has more for this replica.
                let rest = state
                    .store
                    .feed_page(t.as_str(), seq_i64(after), seq_i64(*head), origin, 1)
                    .await?;
                match rest.first() {
                    Some(_) => more = true,
                    // Only the replica's own changes are left: step over them.
                    None => step_to_head(state, &mut cursor, t, *head).await?,
                }
                break;
            }
            // Small chunks, so a response never holds much more than
            // `page_bytes` of changes in memory, however far behind the device is.
            let want = page.items.min(FEED_CHUNK);
            let rows = state
                .store
                .feed_page(
                    t.as_str(),
                    seq_i64(after),
                    seq_i64(*head),
                    origin,
                    seq_i64(want as u64),
                )
                .await?;
            let exhausted = rows.len() < want;
            let mut cut = false;
            for row in rows {
                if page.bytes >= page.max_bytes {
                    cut = true;
                    break;
                }
                after = u64::try_from(row.seq).unwrap_or(after);
                cursor.advance_to(t, after, Some(&row.hash));
                if !skip.contains(&row.hash) {
                    page.take(row.change.len());
                    grouped
                        .entry(row.doc)
                        .or_default()
                        .push(ChangeBytes(row.change));
                }
            }
            if exhausted && !cut {
                // Everything up to the head was read (the rest was this replica's own).
                step_to_head(state, &mut cursor, t, *head).await?;
                break;
            }
        }
    }
    let changes = grouped
        .into_iter()
        .filter_map(|(doc, changes)| {
            doc.parse()
                .map_err(|_| tracing::error!(%doc, "feed holds an unreadable document id"))
                .ok()
                .map(|doc| DocChanges { doc, changes })
        })
        .collect();
    Ok(Pulled {
        snapshots,
        changes,
        cursor,
        more,
    })
}

/// Moves `cursor` to the head of `t`'s feed over entries it need not read (the
/// replica's own changes), tagged with the change there, so a database that
/// later goes back in time is still noticed at that position.
async fn step_to_head(
    state: &AppState,
    cursor: &mut Cursor,
    t: &TerritoryId,
    head: u64,
) -> Result<(), EngineError> {
    if cursor.get(t) < head {
        let hash = state.store.feed_hash_at(t.as_str(), seq_i64(head)).await?;
        cursor.advance_to(t, head, hash.as_deref());
    }
    Ok(())
}

pub(super) fn seq_i64(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}
