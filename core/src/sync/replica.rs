//! `Replica`: one device's documents, what it has yet to send, and how it takes in what arrives.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, ChangeHash};
use serde::{Deserialize, Serialize};

use super::cursor::Cursor;
use super::error::SyncError;
use super::ingest::{Limits, decode_changes};
use super::wire::{
    ChangeBytes, DocChanges, Hash, PROTOCOL_VERSION, Rejection, SyncRequest, SyncResponse,
};
use crate::doc::{DocError, DocId, Document};
use crate::ids::{DealerId, TerritoryId, random_token};
use crate::model::{DealerEntry, DealerProfile, Territory};
use crate::stamp::Stamp;

#[derive(Debug)]
struct Entry {
    doc: Document,
    /// Changes the server is known to hold: their causal past needs no sending.
    acked: BTreeSet<ChangeHash>,
    /// Edited locally since the last time nothing was pending.
    dirty: bool,
}

/// What a response did to the replica.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SyncReport {
    /// Documents that received changes from others.
    pub updated: Vec<DocId>,
    /// Documents whose push the server refused, and why.
    pub rejected: Vec<Rejection>,
    /// Incoming documents that could not be applied (the cursor was not advanced).
    pub errors: Vec<(DocId, DocError)>,
    /// The server has more: sync again.
    pub more: bool,
}

/// What a replica keeps besides its documents' bytes, so it can be saved and restored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaMeta {
    pub actor: String,
    pub cursor: Cursor,
    pub docs: BTreeMap<DocId, DocMeta>,
    #[serde(default)]
    pub rejections: Vec<Rejection>,
}

/// Per-document sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocMeta {
    pub acked: Vec<Hash>,
    pub dirty: bool,
}

/// One device's copy of the documents it may see. All edits happen here offline;
/// [`Replica::sync_request`] gathers every unacknowledged change across every
/// document into one message, and [`Replica::apply_response`] takes in the
/// server's answer. Applying the same response twice, or responses out of order,
/// is harmless.
#[derive(Debug)]
pub struct Replica {
    actor: ActorId,
    docs: BTreeMap<DocId, Entry>,
    cursor: Cursor,
    rejections: BTreeMap<DocId, Rejection>,
}

impl Replica {
    /// An empty replica with a fresh random Automerge actor.
    pub fn new() -> Result<Self, crate::ids::IdError> {
        let actor = ActorId::from(random_token()?.into_bytes());
        Ok(Self::with_actor(actor))
    }

    /// An empty replica whose edits carry `actor` (must be unique to this replica).
    pub fn with_actor(actor: ActorId) -> Self {
        Replica {
            actor,
            docs: BTreeMap::new(),
            cursor: Cursor::default(),
            rejections: BTreeMap::new(),
        }
    }

    /// Restores a replica saved with [`Replica::meta`] and [`Replica::save_doc`].
    pub fn restore(
        meta: ReplicaMeta,
        docs: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<Self, DocError> {
        let actor = ActorId::from(meta.actor.into_bytes());
        let mut r = Replica::with_actor(actor.clone());
        r.cursor = meta.cursor;
        for j in meta.rejections {
            r.rejections.insert(j.doc.clone(), j);
        }
        for bytes in docs {
            let doc = Document::load(&bytes, actor.clone())?;
            let m = meta.docs.get(doc.id()).cloned().unwrap_or(DocMeta {
                acked: Vec::new(),
                dirty: true,
            });
            let id = doc.id().clone();
            r.docs.insert(
                id,
                Entry {
                    doc,
                    acked: m.acked.into_iter().map(|h| h.0).collect(),
                    dirty: m.dirty,
                },
            );
        }
        Ok(r)
    }

    /// The bookkeeping to save beside the documents.
    pub fn meta(&self) -> ReplicaMeta {
        // Maps are filled by `insert`, not `collect`: each `collect` into a map
        // compiles its own sort into the wasm.
        let mut docs = BTreeMap::new();
        for (id, e) in &self.docs {
            let acked = e.acked.iter().copied().map(Hash).collect();
            docs.insert(
                id.clone(),
                DocMeta {
                    acked,
                    dirty: e.dirty,
                },
            );
        }
        ReplicaMeta {
            actor: String::from_utf8_lossy(self.actor.to_bytes()).into_owned(),
            cursor: self.cursor.clone(),
            docs,
            rejections: self.rejections.values().cloned().collect(),
        }
    }

    /// One document's bytes, to save.
    pub fn save_doc(&mut self, id: &DocId) -> Option<Vec<u8>> {
        self.docs.get_mut(id).map(|e| e.doc.save())
    }

    /// This replica's Automerge actor.
    pub fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// Where this replica is in the server's feeds.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The ids of every document held.
    pub fn doc_ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// A document, to read.
    pub fn doc(&self, id: &DocId) -> Option<&Document> {
        self.docs.get(id).map(|e| &e.doc)
    }

    /// A document, to edit; it is marked as having changes to send.
    pub fn doc_mut(&mut self, id: &DocId) -> Option<&mut Document> {
        self.docs.get_mut(id).map(|e| {
            e.dirty = true;
            &mut e.doc
        })
    }

    /// A dealer's document, to edit.
    pub fn dealer_mut(&mut self, id: &DealerId) -> Result<&mut Document, DocError> {
        self.doc_mut(&DocId::Dealer(id.clone()))
            .ok_or_else(|| DocError::UnknownDealer(id.clone()))
    }

    /// A dealer's document, to read.
    pub fn dealer(&self, id: &DealerId) -> Result<&Document, DocError> {
        self.doc(&DocId::Dealer(id.clone()))
            .ok_or_else(|| DocError::UnknownDealer(id.clone()))
    }

    fn add(&mut self, doc: Document) {
        self.docs.insert(
            doc.id().clone(),
            Entry {
                doc,
                acked: BTreeSet::new(),
                dirty: true,
            },
        );
    }

    /// Creates a territory's document (head office does this).
    pub fn create_territory(
        &mut self,
        id: TerritoryId,
        territory: &Territory,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let doc_id = DocId::Territory(id.clone());
        if self.docs.contains_key(&doc_id) {
            return Err(DocError::Duplicate {
                collection: "territories",
                id: id.to_string(),
            });
        }
        let doc = Document::create_territory(id, territory, stamp, self.actor.clone())?;
        self.add(doc);
        Ok(())
    }

    /// Creates a dealer in a territory this replica holds, and lists it in the territory's index.
    pub fn create_dealer(
        &mut self,
        territory: &TerritoryId,
        id: DealerId,
        profile: &DealerProfile,
        stamp: &Stamp,
    ) -> Result<(), DocError> {
        let doc_id = DocId::Dealer(id.clone());
        if self.docs.contains_key(&doc_id) {
            return Err(DocError::Duplicate {
                collection: "dealers",
                id: id.to_string(),
            });
        }
        let dealer = Document::create_dealer(
            id.clone(),
            territory.clone(),
            profile,
            stamp,
            self.actor.clone(),
        )?;
        let index = self
            .doc_mut(&DocId::Territory(territory.clone()))
            .ok_or_else(|| DocError::UnknownTerritory(territory.clone()))?;
        index.insert(
            &id,
            &DealerEntry {
                added_by: stamp.user.clone(),
                added_at: stamp.at,
            },
            stamp,
        )?;
        self.add(dealer);
        Ok(())
    }

    /// How many local changes the server has not yet acknowledged.
    pub fn pending(&mut self) -> usize {
        self.docs
            .values_mut()
            .filter(|e| e.dirty)
            .map(|e| {
                let acked: Vec<ChangeHash> = e.acked.iter().copied().collect();
                e.doc.changes_since(&acked).len()
            })
            .sum()
    }

    /// The server's last refusal for each document still refused.
    pub fn rejections(&self) -> impl Iterator<Item = &Rejection> {
        self.rejections.values()
    }

    /// Drops a document's unacknowledged local edits (after the server refused
    /// them), going back to what the server is known to hold.
    pub fn discard_pending(&mut self, id: &DocId) -> Result<(), DocError> {
        let Some(e) = self.docs.get_mut(id) else {
            return Ok(());
        };
        let acked: Vec<ChangeHash> = e
            .acked
            .iter()
            .copied()
            .filter(|h| e.doc.has_change(h))
            .collect();
        if acked.is_empty() {
            self.docs.remove(id);
        } else {
            e.doc = e.doc.fork_at(&acked)?;
            e.dirty = false;
        }
        self.rejections.remove(id);
        Ok(())
    }

    /// Everything to send: each edited document's unacknowledged changes, and the cursor.
    pub fn sync_request(&mut self) -> SyncRequest {
        let mut push = Vec::new();
        for (id, e) in self.docs.iter_mut().filter(|(_, e)| e.dirty) {
            let acked: Vec<ChangeHash> = e.acked.iter().copied().collect();
            let changes = e.doc.changes_since(&acked);
            if changes.is_empty() {
                e.dirty = false;
                e.acked = e.doc.heads().into_iter().collect();
            } else {
                let changes = changes
                    .iter()
                    .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                    .collect();
                push.push(DocChanges {
                    doc: id.clone(),
                    changes,
                });
            }
        }
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: self.cursor.clone(),
            push,
        }
    }

    /// Takes in the server's answer: marks acknowledged changes, records refusals,
    /// applies incoming changes, and advances the cursor if all of them applied.
    pub fn apply_response(&mut self, resp: &SyncResponse) -> Result<SyncReport, SyncError> {
        if resp.protocol != PROTOCOL_VERSION {
            return Err(SyncError::Protocol {
                found: resp.protocol,
                supported: PROTOCOL_VERSION,
            });
        }
        let mut report = SyncReport {
            more: resp.more,
            ..SyncReport::default()
        };
        for ack in &resp.accepted {
            if let Some(e) = self.docs.get_mut(&ack.doc) {
                for h in &ack.hashes {
                    if e.doc.has_change(&h.0) {
                        e.acked.insert(h.0);
                    }
                }
                self.rejections.remove(&ack.doc);
            }
        }
        for r in &resp.rejected {
            self.rejections.insert(r.doc.clone(), r.clone());
            report.rejected.push(r.clone());
        }
        let generous = Limits {
            max_changes: usize::MAX,
            max_change_bytes: usize::MAX,
        };
        for dc in &resp.changes {
            let changes = match decode_changes(&dc.doc, &dc.changes, generous) {
                Ok(c) => c,
                Err(r) => {
                    report
                        .errors
                        .push((dc.doc.clone(), DocError::Malformed(r.message)));
                    continue;
                }
            };
            let hashes: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
            let result = match self.docs.get_mut(&dc.doc) {
                Some(e) => e.doc.apply(changes).map(|fresh| !fresh.is_empty()),
                None => Document::from_changes(changes, self.actor.clone()).and_then(|doc| {
                    if doc.id() == &dc.doc {
                        self.docs.insert(
                            dc.doc.clone(),
                            Entry {
                                doc,
                                acked: BTreeSet::new(),
                                dirty: false,
                            },
                        );
                        Ok(true)
                    } else {
                        Err(DocError::WrongDocument {
                            expected: dc.doc.clone(),
                            found: doc.id().clone(),
                        })
                    }
                }),
            };
            match result {
                Ok(updated) => {
                    if let Some(e) = self.docs.get_mut(&dc.doc) {
                        if e.dirty {
                            e.acked.extend(hashes);
                        } else {
                            e.acked = e.doc.heads().into_iter().collect();
                        }
                    }
                    if updated {
                        report.updated.push(dc.doc.clone());
                    }
                }
                Err(err) => report.errors.push((dc.doc.clone(), err)),
            }
        }
        if report.errors.is_empty() {
            self.cursor.merge(&resp.cursor);
        }
        for e in self.docs.values_mut() {
            if e.acked.len() > 16 {
                let acked: Vec<ChangeHash> = e.acked.iter().copied().collect();
                if e.doc.changes_since(&acked).is_empty() {
                    e.acked = e.doc.heads().into_iter().collect();
                    e.dirty = false;
                }
            }
        }
        Ok(report)
    }
}
