//! `Hub`: an in-memory sync server, the reference model of the protocol for tests and simulations.
//!
//! The real server stores the same things in SQL (documents, one feed per
//! territory numbered in commit order) and makes the same decisions through
//! [`ingest`](super::ingest::ingest).

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, Change, ChangeHash};

use super::cursor::Cursor;
use super::error::SyncError;
use super::ingest::{Limits, ingest};
use super::policy::Principal;
use super::wire::{
    ChangeBytes, DocAck, DocChanges, Hash, PROTOCOL_VERSION, PushLimits, SyncRequest, SyncResponse,
};
use crate::doc::{DocError, DocId, Document};
use crate::ids::TerritoryId;

/// Documents and per-territory change feeds held in memory.
#[derive(Debug, Default)]
pub struct Hub {
    docs: BTreeMap<DocId, Document>,
    feeds: BTreeMap<TerritoryId, Vec<(DocId, Change)>>,
    limits: Limits,
    /// Most changes returned by one response (then `more` is set).
    pub page: Option<usize>,
    /// The start of every feed in the database's epoch (see [`Cursor`]); renewed by [`Hub::restore_older`].
    epoch: Cursor,
    /// The request limits stated in every response, if any (the hub does not enforce them).
    pub push_limits: Option<PushLimits>,
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Hub::default()
    }

    /// A stored document.
    pub fn doc(&self, id: &DocId) -> Option<&Document> {
        self.docs.get(id)
    }

    /// This hub's epoch.
    pub fn epoch(&self) -> &str {
        self.epoch.epoch().unwrap_or("hub")
    }

    /// Simulates a restore from an older backup: keeps only the first
    /// `keep(territory)` entries of each feed, rebuilds every document from what
    /// is left, and starts the new epoch `epoch` (an empty cursor of it).
    pub fn restore_older(
        &mut self,
        keep: impl Fn(&TerritoryId) -> usize,
        epoch: Cursor,
    ) -> Result<(), DocError> {
        let mut by_doc: BTreeMap<DocId, Vec<Change>> = BTreeMap::new();
        for (t, feed) in &mut self.feeds {
            feed.truncate(keep(t));
            for (doc, change) in feed.iter() {
                by_doc.entry(doc.clone()).or_default().push(change.clone());
            }
        }
        self.docs.clear();
        for (id, changes) in by_doc {
            let doc = Document::from_changes(changes, Hub::actor())?;
            self.docs.insert(id, doc);
        }
        self.epoch = epoch.start();
        Ok(())
    }

    /// How many entries `territory`'s feed has.
    pub fn feed_len(&self, territory: &TerritoryId) -> usize {
        self.feeds.get(territory).map_or(0, Vec::len)
    }

    /// Every stored document id.
    pub fn doc_ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Handles one sync request from `principal`.
    pub fn sync(
        &mut self,
        principal: &Principal,
        req: &SyncRequest,
    ) -> Result<SyncResponse, SyncError> {
        if req.protocol != PROTOCOL_VERSION {
            return Err(SyncError::Protocol {
                found: req.protocol,
                supported: PROTOCOL_VERSION,
            });
        }
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut pushed: BTreeSet<ChangeHash> = BTreeSet::new();
        for push in &req.push {
            match ingest(self.docs.get_mut(&push.doc), push, principal, self.limits) {
                Ok(done) => {
                    let territory = done.doc.territory().clone();
                    let feed = self.feeds.entry(territory).or_default();
                    feed.extend(done.fresh.into_iter().map(|c| (push.doc.clone(), c)));
                    self.docs.insert(push.doc.clone(), done.doc);
                    let hashes: Vec<Hash> = done.hashes.iter().copied().map(Hash).collect();
                    pushed.extend(hashes.iter().map(|h| h.0));
                    accepted.push(DocAck {
                        doc: push.doc.clone(),
                        hashes,
                    });
                }
                Err(r) => rejected.push(r),
            }
        }
        let readable = |t: &TerritoryId| principal.can_access(t);
        let reset = !req.cursor.fits(
            self.epoch(),
            |t| {
                if readable(t) {
                    self.feed_len(t) as u64
                } else {
                    u64::MAX
                }
            },
            |t, seq| {
                let i = usize::try_from(seq).ok()?.checked_sub(1)?;
                let feed = self.feeds.get(t).filter(|_| readable(t))?;
                feed.get(i).map(|(_, c)| c.hash().to_string())
            },
        );
        let start = Cursor::at_epoch(self.epoch()).unwrap_or_default();
        let from = if reset { &start } else { &req.cursor };
        let (changes, mut cursor, more) = self.pull(principal, from, &pushed);
        cursor.merge(&start);
        let revoked: Vec<TerritoryId> = req
            .cursor
            .territories()
            .filter(|t| !readable(t))
            .cloned()
            .collect();
        for t in &revoked {
            cursor.remove(t);
        }
        Ok(SyncResponse {
            protocol: PROTOCOL_VERSION,
            accepted,
            rejected,
            snapshots: Vec::new(),
            changes,
            cursor,
            more,
            reset,
            limits: self.push_limits,
            revoked,
        })
    }

    fn pull(
        &self,
        principal: &Principal,
        from: &Cursor,
        skip: &BTreeSet<ChangeHash>,
    ) -> (Vec<DocChanges>, Cursor, bool) {
        let mut budget = self.page.unwrap_or(usize::MAX);
        let mut cursor = from.clone();
        let mut grouped: BTreeMap<DocId, Vec<ChangeBytes>> = BTreeMap::new();
        let mut more = false;
        for (territory, feed) in &self.feeds {
            if !principal.can_access(territory) {
                continue;
            }
            let start = usize::try_from(from.get(territory))
                .unwrap_or(usize::MAX)
                .min(feed.len());
            let end = start.saturating_add(budget).min(feed.len());
            for (doc, change) in &feed[start..end] {
                if !skip.contains(&change.hash()) {
                    grouped
                        .entry(doc.clone())
                        .or_default()
                        .push(ChangeBytes(change.raw_bytes().to_vec()));
                }
            }
            budget -= end - start;
            more |= end < feed.len();
            if end > start {
                let last = feed[end - 1].1.hash().to_string();
                cursor.advance_to(territory, end as u64, Some(&last));
            }
        }
        let changes = grouped
            .into_iter()
            .map(|(doc, changes)| DocChanges { doc, changes })
            .collect();
        (changes, cursor, more)
    }

    /// The hub's actor, should a test need to write as the server.
    pub fn actor() -> ActorId {
        ActorId::from(b"fieldsync-server".to_vec())
    }
}
