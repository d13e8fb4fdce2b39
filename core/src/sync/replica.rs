//! `Replica`: one device's documents, what it has yet to send, and how it takes in what arrives.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Change, ChangeHash};
use serde::Serialize;

use super::cursor::Cursor;
use super::error::SyncError;
use super::ingest::{Limits, decode_changes};
use super::pace::Pace;
use super::wire::{
    ChangeBytes, DocChanges, DocSnapshot, Hash, PROTOCOL_VERSION, PushLimits, RejectCode,
    Rejection, SyncRequest, SyncResponse,
};
use crate::doc::genesis::{self, SkeletonCheck};
use crate::doc::{DocError, DocId, Document};
use crate::ids::{DealerId, IdError, TerritoryId, random_token};
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

/// The Automerge actors this replica writes under: the current one, and the
/// ones it used before (it takes a fresh actor after a discard and when its
/// device changes, so the server never sees one actor's sequence numbers reused
/// or an actor move between devices). Changes under any of them are its own.
#[derive(Debug, Clone)]
struct Actors {
    current: ActorId,
    past: Vec<ActorId>,
}

impl Actors {
    fn owns(&self, actor: &ActorId) -> bool {
        *actor == self.current || self.past.contains(actor)
    }
}

fn actor_text(a: &ActorId) -> String {
    String::from_utf8_lossy(a.to_bytes()).into_owned()
}

fn actor_of(text: String) -> ActorId {
    ActorId::from(text.into_bytes())
}

/// This device's changes to `e` the server has not acknowledged, in causal
/// order: every change outside the acknowledged past that this device made
/// (under any of its actors), or the skeleton every device makes alike. Other
/// people's changes are theirs to send: the server refuses a change under another
/// signer. Normally they are all acknowledged; after a reset (the server's
/// database went back in time) they are the ones this filter leaves out.
fn own_unsent(me: &Actors, e: &mut Entry) -> Vec<Change> {
    let acked: Vec<ChangeHash> = e.acked.iter().copied().collect();
    let mut changes = e.doc.changes_since(&acked);
    changes.retain(|c| me.owns(c.actor_id()) || genesis::is_skeleton_actor(c.actor_id()));
    changes
}

/// A document of a territory this device may no longer read, whose own changes
/// the server never received: kept aside, never dropped, so the person can see
/// what was not delivered and export it. Should access come back, the changes
/// are merged into the document again and sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undelivered {
    pub doc: DocId,
    pub territory: TerritoryId,
    /// The dealer's (or territory's) name as the device had it, if readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many of this device's changes the server never received.
    pub changes: usize,
    /// Records those changes created, counted per collection (`{"visits": 1}`).
    #[serde(default)]
    pub records: BTreeMap<String, usize>,
    /// The whole document as the device held it, in Automerge's format (base64
    /// in JSON): openable by any Automerge tool.
    pub bytes: ChangeBytes,
}

crate::fields::from_fields!(Undelivered, |f| Undelivered {
    doc: f.req("doc")?,
    territory: f.req("territory")?,
    name: f.or_default("name")?,
    changes: f.req("changes")?,
    records: f.map("records")?,
    bytes: f.req("bytes")?,
});

/// What a response did to the replica.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SyncReport {
    /// Documents that received changes from others.
    pub updated: Vec<DocId>,
    /// Documents whose push the server refused, and why.
    pub rejected: Vec<Rejection>,
    /// Incoming documents that could not be applied. The cursor moves on anyway, so
    /// one bad document neither holds back its territory nor is downloaded again on
    /// every sync: the device keeps the list and reads the feed again to re-fetch it.
    pub errors: Vec<(DocId, DocError)>,
    /// The server has more: sync again.
    pub more: bool,
    /// The server's database went back in time: everything is being pushed and read again; sync again.
    pub reset: bool,
    /// Documents removed because their territory was revoked (see [`Replica::undelivered`]
    /// for the ones that held changes the server never received).
    pub removed: Vec<DocId>,
}

/// What a replica keeps besides its documents' bytes, so it can be saved and restored.
/// Saved whole ([`Replica::meta`]) it holds every document's bookkeeping in `docs`;
/// split ([`Replica::global_meta`], `docs` empty and left out of the JSON, with one
/// [`Replica::doc_meta`] beside each document) an edit saves only what it touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaMeta {
    pub actor: String,
    /// Actors this replica wrote under before the current one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_actors: Vec<String>,
    /// The server's device id the current actor writes for, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub cursor: Cursor,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docs: BTreeMap<DocId, DocMeta>,
    #[serde(default)]
    pub rejections: Vec<Rejection>,
    /// Documents of revoked territories with changes the server never received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undelivered: Vec<Undelivered>,
}

crate::fields::from_fields!(ReplicaMeta, |f| ReplicaMeta {
    actor: f.req("actor")?,
    past_actors: f.vec("past_actors")?,
    device: f.or_default("device")?,
    cursor: f.req("cursor")?,
    docs: f.map("docs")?,
    rejections: f.vec("rejections")?,
    undelivered: f.vec("undelivered")?,
});

/// Per-document sync bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocMeta {
    pub acked: Vec<Hash>,
    pub dirty: bool,
    /// The document's territory, so a device can tell which stored documents a
    /// revocation takes without loading them (absent in bookkeeping saved before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub territory: Option<TerritoryId>,
}

crate::fields::from_fields!(DocMeta, |f| DocMeta {
    acked: f.req_vec("acked")?,
    dirty: f.req("dirty")?,
    territory: f.or_default("territory")?,
});

/// One device's copy of the documents it may see. All edits happen here offline;
/// [`Replica::sync_request`] gathers every unacknowledged change across every
/// document into one message, and [`Replica::apply_response`] takes in the
/// server's answer. Applying the same response twice, or responses out of order,
/// is harmless.
#[derive(Debug)]
pub struct Replica {
    actors: Actors,
    /// The server's device id the current actor writes for, once known.
    device: Option<String>,
    docs: BTreeMap<DocId, Entry>,
    undelivered: Vec<Undelivered>,
    cursor: Cursor,
    rejections: BTreeMap<DocId, Rejection>,
    /// What the server last said it accepts in one request.
    server_limits: PushLimits,
    /// Tighter bounds learnt from 413 answers (this session only).
    shrunk: PushLimits,
    /// Documents, and changes, in one push after requests took too long (until the backlog drains).
    pace_docs: Pace,
    pace_changes: Pace,
    /// The size of the last request built, to shrink from after a 413.
    last: Shape,
    /// The first document the last request pushed.
    last_doc: Option<DocId>,
    /// The last request left pending changes out: the next one carries them.
    unsent: bool,
    /// Refusals decided here (a change no request can carry), for the next report.
    local_refusals: Vec<Rejection>,
    /// Documents refused here as too large: not sent again in this session.
    too_big: BTreeSet<DocId>,
}

/// How much a request carried.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Shape {
    docs: u64,
    changes: u64,
    bytes: u64,
}

/// No limit at all, for `shrunk` before any 413.
const UNLIMITED: PushLimits = PushLimits {
    max_docs: u64::MAX,
    max_changes: u64::MAX,
    max_bytes: u64::MAX,
    max_change_bytes: u64::MAX,
};

/// JSON bytes of a request besides its documents (protocol, replica, brackets), with room to spare.
const REQUEST_OVERHEAD: u64 = 1024;

/// JSON bytes one change adds to a request: base64 plus quotes and a comma.
fn change_json_bytes(raw: usize) -> u64 {
    (raw as u64).div_ceil(3) * 4 + 3
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
            actors: Actors {
                current: actor,
                past: Vec::new(),
            },
            device: None,
            docs: BTreeMap::new(),
            undelivered: Vec::new(),
            cursor: Cursor::default(),
            rejections: BTreeMap::new(),
            server_limits: PushLimits::default(),
            shrunk: UNLIMITED,
            pace_docs: Pace::new(),
            pace_changes: Pace::new(),
            last: Shape::default(),
            last_doc: None,
            unsent: false,
            local_refusals: Vec::new(),
            too_big: BTreeSet::new(),
        }
    }

    /// Restores a replica saved with [`Replica::meta`] and [`Replica::save_doc`].
    pub fn restore(
        meta: ReplicaMeta,
        docs: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<Self, DocError> {
        let (r, damaged) = Self::restore_skipping(meta, docs);
        match damaged.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(r),
        }
    }

    /// Like [`Replica::restore`], but a document that cannot be loaded is left out
    /// and reported (its position in `docs`, and why), so the others stay usable.
    pub fn restore_skipping(
        meta: ReplicaMeta,
        docs: impl IntoIterator<Item = Vec<u8>>,
    ) -> (Self, Vec<(usize, DocError)>) {
        let mut damaged = Vec::new();
        let actor = actor_of(meta.actor);
        let mut r = Replica::with_actor(actor.clone());
        r.actors.past = meta.past_actors.into_iter().map(actor_of).collect();
        r.device = meta.device;
        r.cursor = meta.cursor;
        for j in meta.rejections {
            r.rejections.insert(j.doc.clone(), j);
        }
        r.undelivered = meta.undelivered;
        for (i, bytes) in docs.into_iter().enumerate() {
            let doc = match Document::load_with(&bytes, actor.clone(), SkeletonCheck::Writers) {
                Ok(doc) => doc,
                Err(e) => {
                    damaged.push((i, e));
                    continue;
                }
            };
            let m = meta.docs.get(doc.id()).cloned().unwrap_or(DocMeta {
                acked: Vec::new(),
                dirty: true,
                territory: None,
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
        (r, damaged)
    }

    /// The bookkeeping to save beside the documents, every document's included.
    pub fn meta(&self) -> ReplicaMeta {
        let mut meta = self.global_meta();
        for id in self.docs.keys() {
            if let Some(m) = self.doc_meta(id) {
                meta.docs.insert(id.clone(), m);
            }
        }
        meta
    }

    /// The bookkeeping besides each document's own (`docs` is empty): its size
    /// does not grow with the number of documents, so every edit can save it.
    pub fn global_meta(&self) -> ReplicaMeta {
        ReplicaMeta {
            actor: actor_text(&self.actors.current),
            past_actors: self.actors.past.iter().map(actor_text).collect(),
            device: self.device.clone(),
            cursor: self.cursor.clone(),
            docs: BTreeMap::new(),
            rejections: self.rejections.values().cloned().collect(),
            undelivered: self.undelivered.clone(),
        }
    }

    /// One held document's bookkeeping, to save beside its bytes.
    pub fn doc_meta(&self, id: &DocId) -> Option<DocMeta> {
        self.docs.get(id).map(|e| DocMeta {
            acked: e.acked.iter().copied().map(Hash).collect(),
            dirty: e.dirty,
            territory: Some(e.doc.territory().clone()),
        })
    }

    /// Takes in a stored document (bytes from [`Replica::save_doc`]) with its
    /// bookkeeping ([`Replica::doc_meta`] as saved with it), into a replica
    /// restored from its [`Replica::global_meta`] without it: a device then loads
    /// a document only when it is needed. Every document with changes to send
    /// (`dirty`) must be loaded before [`Replica::sync_request`] or
    /// [`Replica::pending`]; every document a response names (acknowledged or
    /// changed) before [`Replica::apply_response`], and all of them when it resets
    /// or revokes a territory they are in. A document already held stays as it is.
    pub fn load_doc(&mut self, bytes: &[u8], meta: DocMeta) -> Result<DocId, DocError> {
        let doc = Document::load_with(bytes, self.actors.current.clone(), SkeletonCheck::Writers)?;
        let id = doc.id().clone();
        if !self.docs.contains_key(&id) {
            self.docs.insert(
                id.clone(),
                Entry {
                    doc,
                    acked: meta.acked.into_iter().map(|h| h.0).collect(),
                    dirty: meta.dirty,
                },
            );
        }
        Ok(id)
    }

    /// One document's bytes, to save.
    pub fn save_doc(&mut self, id: &DocId) -> Option<Vec<u8>> {
        self.docs.get_mut(id).map(|e| e.doc.save())
    }

    /// This replica's Automerge actor (the one its next edits carry).
    pub fn actor(&self) -> &ActorId {
        &self.actors.current
    }

    /// Every actor this replica has written under, the current one last.
    pub fn actors(&self) -> impl Iterator<Item = &ActorId> {
        self.actors
            .past
            .iter()
            .chain(std::iter::once(&self.actors.current))
    }

    /// The device this replica syncs as (the server's device id), once known.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// Records which device this replica now syncs as. The server keeps each
    /// actor to the device that first used it, so a replica whose device changes
    /// (logged in again with a newly issued device) takes a fresh actor for its
    /// next edits; the changes it made before stay its own to send. Returns
    /// whether anything changed (the bookkeeping must then be saved).
    pub fn set_device(&mut self, device: &str) -> Result<bool, IdError> {
        if self.device.as_deref() == Some(device) {
            return Ok(false);
        }
        // A replica that never knew its device and holds nothing has written
        // under no actor yet: it keeps the one it has.
        if self.device.is_some() || !self.docs.is_empty() {
            self.fresh_actor()?;
        }
        self.device = Some(device.to_owned());
        Ok(true)
    }

    /// Switches to a new random actor for the next edits.
    fn fresh_actor(&mut self) -> Result<(), IdError> {
        let actor = ActorId::from(random_token()?.into_bytes());
        let old = std::mem::replace(&mut self.actors.current, actor.clone());
        self.actors.past.push(old);
        for e in self.docs.values_mut() {
            e.doc.set_actor(actor.clone());
        }
        Ok(())
    }

    /// Documents of territories this device lost, with the changes the server never received.
    pub fn undelivered(&self) -> impl Iterator<Item = &Undelivered> {
        self.undelivered.iter()
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

    /// The time zone of a document's territory, from the territory document when
    /// this replica holds it (else the default zone).
    pub fn zone_of(&self, id: &DocId) -> crate::zone::Zone {
        self.doc(id)
            .and_then(|d| self.doc(&DocId::Territory(d.territory().clone())))
            .and_then(|t| t.profile::<crate::model::Territory>().ok())
            .map(|t| t.zone())
            .unwrap_or_else(crate::zone::Zone::default_zone)
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

    /// Takes in a document fetched whole from the server (`GET
    /// /v1/docs/{id}/automerge`), read at `cursor` or later (`GET /v1/cursor`,
    /// asked before the document): every change in it is the server's, so none is
    /// sent back, and the next sync reads only what changed since. This is how a
    /// replica that holds only the documents it acts on (head office, a regional
    /// manager approving a claim) gets one. A document already held takes in the
    /// fetched changes it lacks.
    pub fn adopt(&mut self, bytes: &[u8], cursor: &Cursor) -> Result<DocId, DocError> {
        let mut fetched =
            Document::load_with(bytes, self.actors.current.clone(), SkeletonCheck::Writers)?;
        let heads = fetched.heads();
        let id = fetched.id().clone();
        match self.docs.get_mut(&id) {
            Some(e) => {
                e.doc
                    .apply_with(fetched.changes_since(&[]), SkeletonCheck::Writers)?;
                e.acked.extend(heads);
            }
            None => {
                self.docs.insert(
                    id.clone(),
                    Entry {
                        doc: fetched,
                        acked: heads.into_iter().collect(),
                        dirty: false,
                    },
                );
            }
        }
        self.cursor.merge(cursor);
        Ok(id)
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
        let doc = Document::create_territory(id, territory, stamp, self.actors.current.clone())?;
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
            self.actors.current.clone(),
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
            .map(|e| own_unsent(&self.actors, e).len())
            .sum()
    }

    /// The server's last refusal for each document still refused.
    pub fn rejections(&self) -> impl Iterator<Item = &Rejection> {
        self.rejections.values()
    }

    /// Drops a document's unacknowledged local edits (after the server refused
    /// them), going back to what the server is known to hold. The server may
    /// hold some of them anyway (an acknowledgement lost on the way), so the next
    /// edits carry a fresh actor (reusing a stored change's sequence number would
    /// be refused) and the territory's feed is read again from the start, which,
    /// for a replica of a new actor, includes what it pushed before.
    pub fn discard_pending(&mut self, id: &DocId) -> Result<(), SyncError> {
        let Some(e) = self.docs.get_mut(id) else {
            return Ok(());
        };
        let territory = e.doc.territory().clone();
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
        // Read from the start again, still named: if the territory is taken away
        // before the next sync, the server names it as revoked.
        self.cursor.rewind(&territory);
        self.fresh_actor()?;
        Ok(())
    }

    /// The limits the next request is built within: the server's, tightened by
    /// any 413 and by requests that took too long.
    pub fn push_limits(&self) -> PushLimits {
        let l = self.server_limits.min(self.shrunk);
        PushLimits {
            max_docs: l.max_docs.min(self.pace_docs.budget()).max(1),
            max_changes: l.max_changes.min(self.pace_changes.budget()).max(1),
            ..l
        }
    }

    /// What to send next: the cursor, and as many edited documents' unacknowledged
    /// changes as fit in the server's limits (a document too big for one request
    /// goes in parts, oldest changes first). When some had to wait, the report of
    /// the answer says `more`, so the device syncs again until nothing is pending.
    /// A change too large for any request is refused here, never sent.
    pub fn sync_request(&mut self) -> SyncRequest {
        let limits = self.push_limits();
        let cursor_bytes = self.cursor.to_string().len() as u64;
        let budget = limits
            .max_bytes
            .saturating_sub(REQUEST_OVERHEAD + cursor_bytes);
        let mut shape = Shape::default();
        let mut push = Vec::new();
        let mut unsent = false;
        // Documents the server refused last time go last: new work is not held up by them.
        let mut order: Vec<DocId> = Vec::new();
        let mut retry: Vec<DocId> = Vec::new();
        for (id, e) in &self.docs {
            if e.dirty && !self.too_big.contains(id) {
                if self.rejections.contains_key(id) {
                    retry.push(id.clone());
                } else {
                    order.push(id.clone());
                }
            }
        }
        order.extend(retry);
        for id in order {
            if !push.is_empty()
                && (shape.docs >= limits.max_docs
                    || shape.changes >= limits.max_changes
                    || shape.bytes >= budget)
            {
                unsent = true;
                break;
            }
            let Some(e) = self.docs.get_mut(&id) else {
                continue;
            };
            let changes = own_unsent(&self.actors, e);
            if changes.is_empty() {
                e.dirty = false;
                e.acked = e.doc.heads().into_iter().collect();
                continue;
            }
            if let Some(big) = changes
                .iter()
                .find(|c| c.raw_bytes().len() as u64 > limits.max_change_bytes)
            {
                let r = Rejection::new(
                    id.clone(),
                    RejectCode::TooLarge,
                    format!(
                        "a change of {} bytes is larger than the server accepts ({} bytes)",
                        big.raw_bytes().len(),
                        limits.max_change_bytes
                    ),
                );
                self.refuse_here(r);
                continue;
            }
            // The changes are in causal order: any prefix can be sent on its own.
            let doc_bytes = 32 + id.to_string().len() as u64;
            let mut bytes = doc_bytes;
            let mut take = 0usize;
            for c in &changes {
                let b = change_json_bytes(c.raw_bytes().len());
                if shape.changes + take as u64 >= limits.max_changes
                    || shape.bytes + bytes + b > budget
                {
                    break;
                }
                bytes += b;
                take += 1;
            }
            if take < changes.len() && !push.is_empty() {
                // Not all of it fits beside what is already in: it goes first next time.
                unsent = true;
                break;
            }
            if take == 0 {
                let r = Rejection::new(
                    id.clone(),
                    RejectCode::TooLarge,
                    format!(
                        "a change is larger than one request may be ({} bytes)",
                        limits.max_bytes
                    ),
                );
                self.refuse_here(r);
                continue;
            }
            unsent |= take < changes.len();
            shape.docs += 1;
            shape.changes += take as u64;
            shape.bytes += bytes;
            push.push(DocChanges {
                doc: id,
                changes: changes[..take]
                    .iter()
                    .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                    .collect(),
            });
        }
        self.last = shape;
        self.last_doc = push.first().map(|d: &DocChanges| d.doc.clone());
        self.unsent = unsent;
        SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: self.cursor.clone(),
            push,
            replica: self.actors.current.to_hex_string(),
            snapshots: true,
        }
    }

    /// Records a refusal decided on the device: shown like the server's, reported
    /// by the next `apply_response`, and the document is not sent again this session.
    fn refuse_here(&mut self, r: Rejection) {
        self.too_big.insert(r.doc.clone());
        self.rejections.insert(r.doc.clone(), r.clone());
        self.local_refusals.push(r);
    }

    /// The server answered the last request 413 (too large), with its limits if
    /// it said them: the next request will be smaller, never the same again. When
    /// the last request held a single change, its document is refused here (see
    /// [`Replica::rejections`], and the next report). Returns false when there is
    /// nothing to shrink (the request pushed nothing).
    pub fn too_large(&mut self, limits: Option<PushLimits>) -> bool {
        let last = self.last;
        if let Some(l) = limits {
            self.server_limits = l;
        }
        if last.changes == 0 {
            return false;
        }
        let now = self.push_limits();
        if last.docs > now.max_docs
            || last.changes > now.max_changes
            || last.bytes + REQUEST_OVERHEAD > now.max_bytes
        {
            // The stated limits explain it: the next request keeps within them.
            return true;
        }
        if last.changes == 1 {
            if let Some(doc) = self.last_doc.take() {
                let r = Rejection::new(
                    doc.clone(),
                    RejectCode::TooLarge,
                    format!(
                        "the server refused one change of this document as too large for a request ({} bytes at most)",
                        now.max_bytes
                    ),
                );
                self.refuse_here(r);
            }
            return true;
        }
        self.shrunk = self.shrunk.min(PushLimits {
            max_docs: (last.docs / 2).max(1),
            max_changes: (last.changes / 2).max(1),
            max_bytes: (last.bytes / 2).max(1) + REQUEST_OVERHEAD,
            ..UNLIMITED
        });
        true
    }

    /// The last request took too long: the server answered 408, or 503 after
    /// deciding part of it, or no answer came in time. Unlike a 413 this says
    /// nothing about any one change, so nothing is refused: the next request
    /// carries half as many documents and changes (at least one), doubling back
    /// as requests are answered (see [`Pace`]). Whatever the server committed
    /// of it is acknowledged again, idempotently, when sent again. Returns false
    /// when there is nothing to take out (the request pushed one change, or
    /// none): wait and send it again.
    pub fn too_slow(&mut self) -> bool {
        let last = self.last;
        let docs = self.pace_docs.too_slow(last.docs);
        let changes = self.pace_changes.too_slow(last.changes);
        docs || changes
    }

    /// Removes every document of `territory`, which this device may no longer
    /// read. A document holding changes of this device the server never received
    /// is kept aside as [`Undelivered`] (with its bytes), never dropped.
    // The maps are rebuilt by insertion rather than `remove`d from: each map
    // type's removal code would add kilobytes to the wasm.
    fn set_aside(&mut self, territory: &TerritoryId, report: &mut SyncReport) {
        let mut gone = Vec::new();
        for (id, mut e) in std::mem::take(&mut self.docs) {
            if e.doc.territory() != territory {
                self.docs.insert(id, e);
                continue;
            }
            let mine: BTreeSet<ChangeHash> = own_unsent(&self.actors, &mut e)
                .iter()
                .filter(|c| !genesis::is_skeleton_actor(c.actor_id()))
                .map(Change::hash)
                .collect();
            if !mine.is_empty() {
                self.undelivered.retain(|u| u.doc != id);
                self.undelivered.push(Undelivered {
                    doc: id.clone(),
                    territory: territory.clone(),
                    name: e.doc.name(),
                    changes: mine.len(),
                    records: e.doc.records_created_by(&mine),
                    bytes: ChangeBytes(e.doc.save()),
                });
            }
            self.rejections.remove(&id);
            gone.push(id);
        }
        for id in std::mem::take(&mut self.too_big) {
            if !gone.contains(&id) {
                self.too_big.insert(id);
            }
        }
        report.rejected.retain(|r| !gone.contains(&r.doc));
        report.removed.extend(gone);
    }

    /// Documents set aside as undelivered whose territory this device reads
    /// again: their changes go back into the document (fetched again, or the
    /// kept copy if the server never had it) and are sent with the next request.
    fn redeliver(&mut self, report: &mut SyncReport) {
        for u in std::mem::take(&mut self.undelivered) {
            let readable = self.cursor.territories().any(|t| *t == u.territory);
            let kept = match Document::load_with(
                &u.bytes.0,
                self.actors.current.clone(),
                SkeletonCheck::Writers,
            ) {
                Ok(kept) if readable => kept,
                _ => {
                    self.undelivered.push(u);
                    continue;
                }
            };
            let merged = match self.docs.get_mut(&u.doc) {
                Some(e) => {
                    let mut kept = kept;
                    let ok = e
                        .doc
                        .apply_with(kept.changes_since(&[]), SkeletonCheck::Writers)
                        .is_ok();
                    e.dirty |= ok;
                    ok
                }
                None => {
                    self.add(kept);
                    true
                }
            };
            if !merged {
                self.undelivered.push(u);
                continue;
            }
            // Sync again: the next request carries them.
            report.more = true;
            if !report.updated.contains(&u.doc) {
                report.updated.push(u.doc);
            }
        }
    }

    /// Takes in a document the server sent whole (its saved form), as
    /// [`Replica::adopt`] does: every change in it is the server's, so none is
    /// sent back; a document already held takes in the changes it lacks. True
    /// when something new came in.
    fn take_snapshot(&mut self, s: &DocSnapshot) -> Result<bool, DocError> {
        let mut fetched = Document::load_with(
            &s.bytes.0,
            self.actors.current.clone(),
            SkeletonCheck::Writers,
        )?;
        if fetched.id() != &s.doc {
            return Err(DocError::WrongDocument {
                expected: s.doc.clone(),
                found: fetched.id().clone(),
            });
        }
        let heads = fetched.heads();
        let Some(e) = self.docs.get_mut(&s.doc) else {
            self.docs.insert(
                s.doc.clone(),
                Entry {
                    doc: fetched,
                    acked: heads.into_iter().collect(),
                    dirty: false,
                },
            );
            return Ok(true);
        };
        let fresh = e
            .doc
            .apply_with(fetched.changes_since(&[]), SkeletonCheck::Writers)?;
        if e.dirty {
            e.acked.extend(heads);
        } else {
            e.acked = e.doc.heads().into_iter().collect();
        }
        Ok(!fresh.is_empty())
    }

    /// Takes in the server's answer: marks acknowledged changes, records refusals,
    /// applies incoming changes (reporting those that fail), and advances the cursor.
    pub fn apply_response(&mut self, resp: &SyncResponse) -> Result<SyncReport, SyncError> {
        if resp.protocol != PROTOCOL_VERSION {
            return Err(SyncError::Protocol {
                found: resp.protocol,
                supported: PROTOCOL_VERSION,
            });
        }
        if resp
            .revoked
            .iter()
            .any(|t| self.docs.values().any(|e| e.doc.territory() == t))
        {
            // Documents are about to be dropped. The server never sends a replica
            // what it pushed itself: should they come back, they must come whole,
            // so from here on this replica is a new one to the server.
            self.fresh_actor()?;
        }
        let mut report = SyncReport {
            more: resp.more || resp.reset || self.unsent,
            reset: resp.reset,
            rejected: std::mem::take(&mut self.local_refusals),
            ..SyncReport::default()
        };
        self.unsent = false;
        self.pace_docs.answered();
        self.pace_changes.answered();
        if let Some(l) = resp.limits {
            self.server_limits = l;
        }
        // Before a reset makes every change look unacknowledged.
        for t in &resp.revoked {
            self.set_aside(t, &mut report);
        }
        if resp.reset {
            // Nothing the old database acknowledged can be trusted: every change
            // this device made is pending again until the new one acknowledges
            // it (it keeps what it already holds once). Other people's changes
            // are theirs to send: the server refuses a change under another
            // signer, so they count as acknowledged here.
            for e in self.docs.values_mut() {
                e.acked.clear();
                e.dirty = true;
            }
        }
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
            if report.removed.contains(&r.doc) {
                // Refused because its territory was revoked: it is undelivered now, not retried.
                continue;
            }
            self.rejections.insert(r.doc.clone(), r.clone());
            report.rejected.push(r.clone());
        }
        // Documents sent whole first: the feed's changes may build on them.
        for s in &resp.snapshots {
            match self.take_snapshot(s) {
                Ok(true) => report.updated.push(s.doc.clone()),
                Ok(false) => {}
                Err(err) => report.errors.push((s.doc.clone(), err)),
            }
        }
        let generous = Limits::unbounded();
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
                Some(e) => e
                    .doc
                    .apply_with(changes, SkeletonCheck::Writers)
                    .map(|fresh| !fresh.is_empty()),
                None => Document::from_changes_with(
                    changes,
                    self.actors.current.clone(),
                    SkeletonCheck::Writers,
                )
                .and_then(|doc| {
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
        if resp.reset {
            // Taken whole: the old positions name entries of a database that no longer exists.
            self.cursor.replace(&resp.cursor);
        } else {
            self.cursor.merge(&resp.cursor);
        }
        for t in &resp.revoked {
            self.cursor.remove(t);
        }
        self.redeliver(&mut report);
        for e in self.docs.values_mut() {
            if e.acked.len() > 16 {
                let acked: Vec<ChangeHash> = e.acked.iter().copied().collect();
                if e.doc.changes_since(&acked).is_empty() {
                    e.acked = e.doc.heads().into_iter().collect();
                    e.dirty = false;
                }
            }
        }
        if !report.more {
            // The backlog has drained: the next one starts at the server's limits again.
            self.pace_docs = Pace::new();
            self.pace_changes = Pace::new();
        }
        Ok(report)
    }
}
