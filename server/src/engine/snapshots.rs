//! A territory sent whole: each document's stored snapshot instead of its feed, for a device that has read nothing of the territory yet.
//!
//! A fresh device (or one newly given a territory) would otherwise receive every
//! change since the beginning and apply them one at a time: costs that grow with
//! the length of the history. The server keeps each document saved (Automerge's
//! compressed form), written in the same transaction as its feed entries, so a
//! snapshot read after the feed head `H` holds every change up to `H`. The
//! documents go out a page at a time in id order, the cursor saying where the
//! sending stands (`t:~H>doc`, see `Cursor`); when the last one is sent the
//! territory continues from the feed at the first head read, `H`. The feed after
//! `H` may then bring changes a snapshot already held: the device keeps each once.

use fieldsync_core::sync::{ChangeBytes, Cursor, DocSnapshot};

use super::error::EngineError;
use crate::state::AppState;

/// Documents read per query: with documents of a few hundred KB at most, a chunk
/// holds a few MB, and a page stops reading once it is past `page_bytes`.
const SNAPSHOT_CHUNK: usize = 32;

/// What one response may still carry: changes or documents (`items`) and bytes.
#[derive(Debug)]
pub(crate) struct Page {
    pub items: usize,
    pub bytes: usize,
    pub max_bytes: usize,
}

impl Page {
    /// Whether nothing more fits.
    pub fn full(&self) -> bool {
        self.items == 0 || self.bytes >= self.max_bytes
    }

    /// Counts one item of `len` bytes in.
    pub fn take(&mut self, len: usize) {
        self.items = self.items.saturating_sub(1);
        self.bytes = self.bytes.saturating_add(len);
    }
}

/// Sends territory `t`'s documents whole, from where `cursor` says (read from
/// the feed head `head` if nothing was sent yet), as far as `page` allows.
/// Returns the feed position the territory continues from once every document
/// is sent, or `None` when the page filled first (`cursor` then records the
/// last document sent, and the device syncs again).
pub(crate) async fn send(
    state: &AppState,
    t: &fieldsync_core::ids::TerritoryId,
    head: u64,
    cursor: &mut Cursor,
    page: &mut Page,
    out: &mut Vec<DocSnapshot>,
) -> Result<Option<u64>, EngineError> {
    let (covers, mut after) = match cursor.snapshots(t) {
        Some((covers, after)) => (covers, after.map(str::to_owned)),
        // The head first, then the documents: each holds at least this much.
        None => (head, None),
    };
    loop {
        if page.full() {
            if after.is_some() {
                cursor.snapshots_to(t, covers, after.as_deref());
            }
            return Ok(None);
        }
        let want = page.items.min(SNAPSHOT_CHUNK);
        let rows = state
            .store
            .territory_snapshots(
                t.as_str(),
                after.as_deref().unwrap_or(""),
                i64::try_from(want).unwrap_or(i64::MAX),
            )
            .await?;
        let exhausted = rows.len() < want;
        let mut cut = false;
        for (id, bytes) in rows {
            if page.full() {
                cut = true;
                break;
            }
            let doc = match id.parse() {
                Ok(doc) => doc,
                Err(_) => {
                    tracing::error!(%id, "a stored document has an unreadable id");
                    after = Some(id);
                    continue;
                }
            };
            page.take(bytes.len());
            after = Some(id);
            out.push(DocSnapshot {
                doc,
                bytes: ChangeBytes(bytes),
            });
        }
        if exhausted && !cut {
            return Ok(Some(covers));
        }
    }
}
