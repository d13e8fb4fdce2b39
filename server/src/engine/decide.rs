//! One document's decision, the CPU-heavy part of a push: load the stored snapshot, the core's `ingest_from`, materialise the read-model rows, save; synchronous, run on a blocking thread.

use std::collections::BTreeSet;

use fieldsync_core::automerge::ChangeHash;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::TerritoryId;
use fieldsync_core::model::open_items;
use fieldsync_core::sync::ingest::Context;
use fieldsync_core::sync::{
    DocChanges, Hash, Hub, Limits, Principal, RejectCode, Rejection, ingest_from,
};

use super::known::Known;
use crate::readmodel::{ReadKind, ReadRows, materialise};
use crate::store::ItemRow;

pub(super) fn refuse(doc: &DocId, code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection::new(doc.clone(), code, message)
}

/// What the core decided on one document's push, computed off the async
/// runtime: the acknowledgement, and what to commit if anything is new.
pub(super) struct Decided {
    pub(super) hashes: Vec<Hash>,
    pub(super) commit: Option<Prepared>,
}

/// An accepted push's writes: the merged document and its read-model rows.
pub(super) struct Prepared {
    pub(super) territory: TerritoryId,
    pub(super) snapshot: Vec<u8>,
    pub(super) fresh: Vec<(String, Vec<u8>)>,
    pub(super) read: ReadRows,
}

/// What one attempt at a push is decided against besides the document.
#[derive(Debug, Clone, Copy)]
pub(super) struct Against<'a> {
    pub(super) known: &'a Known,
    /// Late rule (c): the document's changes others committed after the reassignment.
    pub(super) foreign_after: &'a BTreeSet<ChangeHash>,
    /// Delivering held edits the incoming manager released (no late rule).
    pub(super) release: bool,
}

/// The CPU-heavy part of a push (load the stored snapshot, the core's
/// `ingest_from`, materialise, save): synchronous, run on a blocking thread.
/// A stored document that no longer loads refuses this push only (`damaged`).
pub(super) fn decide(
    stored: Option<&[u8]>,
    push: &DocChanges,
    principal: &Principal,
    devices: &[String],
    limits: Limits,
    against: Against<'_>,
) -> Result<Decided, Rejection> {
    let Against {
        known,
        foreign_after,
        release,
    } = against;
    let mut existing = match stored {
        Some(bytes) => match Document::load(bytes, Hub::actor()) {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::error!(doc = %push.doc, error = %e, "a stored document does not load");
                return Err(refuse(
                    &push.doc,
                    RejectCode::Damaged,
                    "the server cannot read its copy of this document; nothing was stored, \
                     and the changes are kept on the device and sent again",
                ));
            }
        },
        None => None,
    };
    let ctx = Context {
        approvals: &known.approvals,
        handovers: &known.handovers,
        now: Timestamp(known.now),
        foreign_after,
        release,
    };
    let done = ingest_from(existing.as_mut(), push, principal, devices, limits, &ctx)?;
    let hashes: Vec<Hash> = done.hashes.iter().copied().map(Hash).collect();
    if done.fresh.is_empty() {
        return Ok(Decided {
            hashes,
            commit: None,
        });
    }
    let mut doc = done.doc;
    let mut read = materialise(&mut doc, &known.approvals, done.settled.as_ref())
        .map_err(|e| refuse(&push.doc, RejectCode::Invalid, e.to_string()))?;
    // The territory is being handed over: the outgoing manager's open items here that
    // are not on the list yet (recorded offline, synced after the reassignment) join it.
    if let (Some(h), ReadKind::Dealer(rows)) = (known.open.get(doc.territory()), &mut read.kind)
        && let (Ok(state), Ok(from)) = (doc.dealer_state(), h.from_user.parse())
    {
        rows.late_items = open_items(&state, &from)
            .into_iter()
            .map(|i| ItemRow {
                handover: h.id.clone(),
                dealer: state.id.to_string(),
                kind: i.kind.as_str().to_owned(),
                record: i.id,
                title: i.title,
                since: i.since.millis(),
                listed_at: known.now,
                late: true,
            })
            .collect();
    }
    let fresh = done
        .fresh
        .iter()
        .map(|c| (c.hash().to_string(), c.raw_bytes().to_vec()))
        .collect();
    Ok(Decided {
        hashes,
        commit: Some(Prepared {
            territory: doc.territory().clone(),
            snapshot: doc.save(),
            fresh,
            read,
        }),
    })
}
