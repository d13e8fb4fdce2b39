//! `JsReplica`: a device's `Replica` for JS — restore and save, sync messages as JSON, typed edits by collection name.

use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{DealerId, TerritoryId};
use fieldsync_core::model::{DealerProfile, Territory};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{DocMeta, PushLimits, Replica, ReplicaMeta, SyncResponse};
use serde_json::{Value as Json, json};
use wasm_bindgen::prelude::*;

use crate::convert::{from_json, id_or_random, to_json};
use crate::document;
use crate::error::Error;

/// One device's documents. Every edit takes the author's `Stamp` as JSON
/// (`{"user","device","at","gps"?}`, `at` in epoch milliseconds): core has no clock.
#[wasm_bindgen(js_name = Replica)]
#[derive(Debug)]
pub struct JsReplica {
    inner: Replica,
}

fn doc_id(text: &str) -> Result<DocId, Error> {
    Ok(text.parse()?)
}

fn stamp(text: &str) -> Result<Stamp, Error> {
    from_json("stamp", text)
}

impl JsReplica {
    /// Restores a replica from its bookkeeping, with no document loaded (`loadDoc` brings each in).
    pub fn restore_from(meta: &str) -> Result<JsReplica, Error> {
        let meta: ReplicaMeta = from_json("replica meta", meta)?;
        Ok(JsReplica {
            inner: Replica::restore_skipping(meta, Vec::new()).0,
        })
    }

    fn doc_mut(&mut self, id: &str) -> Result<&mut Document, Error> {
        let id = doc_id(id)?;
        if self.inner.doc(&id).is_none() {
            return Err(unknown(id));
        }
        self.inner.doc_mut(&id).ok_or_else(|| unknown(id))
    }
}

fn unknown(id: DocId) -> Error {
    match id {
        DocId::Dealer(d) => Error::Doc(fieldsync_core::doc::DocError::UnknownDealer(d)),
        DocId::Territory(t) => Error::Doc(fieldsync_core::doc::DocError::UnknownTerritory(t)),
    }
}

#[wasm_bindgen(js_class = Replica)]
impl JsReplica {
    /// An empty replica with a fresh random actor.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<JsReplica, Error> {
        Ok(JsReplica {
            inner: Replica::new()?,
        })
    }

    /// Restores a replica from its bookkeeping (JSON: `globalMeta()`, or a whole meta of an
    /// earlier version with every document's), with no document loaded (`loadDoc` brings each in).
    pub fn restore(meta: &str) -> Result<JsReplica, Error> {
        Self::restore_from(meta)
    }

    /// The bookkeeping besides each document's own, as JSON (`restore` takes it with no
    /// documents; `loadDoc` then brings each in when needed): small whatever the number of documents.
    #[wasm_bindgen(js_name = globalMeta)]
    pub fn global_meta(&self) -> Result<String, Error> {
        to_json(&self.inner.global_meta())
    }

    /// One held document's bookkeeping (`{acked, dirty, territory}`) as JSON, to save beside
    /// its bytes; `undefined` if it is not held.
    #[wasm_bindgen(js_name = docMeta)]
    pub fn doc_meta(&self, id: &str) -> Result<Option<String>, Error> {
        self.inner
            .doc_meta(&doc_id(id)?)
            .map(|m| to_json(&m))
            .transpose()
    }

    /// Takes in a stored document (`saveDoc()`'s bytes) with its saved `docMeta()` (JSON);
    /// one already held stays as it is. Returns its id.
    #[wasm_bindgen(js_name = loadDoc)]
    pub fn load_doc(&mut self, bytes: &[u8], meta: &str) -> Result<String, Error> {
        let meta: DocMeta = from_json("document meta", meta)?;
        Ok(self.inner.load_doc(bytes, meta)?.to_string())
    }

    /// One document's bytes, to save; `undefined` if it is not held.
    #[wasm_bindgen(js_name = saveDoc)]
    pub fn save_doc(&mut self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.inner.save_doc(&doc_id(id)?))
    }

    /// Records the server's device id this replica syncs as; a new device means a
    /// fresh actor for the next edits. True: the bookkeeping changed, save it.
    #[wasm_bindgen(js_name = setDevice)]
    pub fn set_device(&mut self, device: &str) -> Result<bool, Error> {
        Ok(self.inner.set_device(device)?)
    }

    /// Takes in a document fetched whole (`GET /v1/docs/{id}/automerge`'s bytes),
    /// read at `cursor` (`GET /v1/cursor`'s, asked first) or later: nothing of it is
    /// sent back, and syncs read only what changed since. Returns its id.
    pub fn adopt(&mut self, bytes: &[u8], cursor: &str) -> Result<String, Error> {
        let cursor: fieldsync_core::sync::Cursor = from_json("cursor", &json!(cursor).to_string())?;
        Ok(self.inner.adopt(bytes, &cursor)?.to_string())
    }

    /// How many local changes the server has not acknowledged yet.
    pub fn pending(&mut self) -> usize {
        self.inner.pending()
    }

    /// The sync request to POST to `/v1/sync`, as JSON.
    #[wasm_bindgen(js_name = syncRequest)]
    pub fn sync_request(&mut self) -> Result<String, Error> {
        to_json(&self.inner.sync_request())
    }

    /// The server answered the last sync request 413; `limits` is the `limits` of
    /// its body as JSON (or `null`). The next `syncRequest()` is smaller; a change
    /// too big for any request is refused (see `rejections()`). False: nothing to shrink.
    #[wasm_bindgen(js_name = tooLarge)]
    pub fn too_large(&mut self, limits: &str) -> Result<bool, Error> {
        let limits: Option<PushLimits> = from_json("push limits", limits)?;
        Ok(self.inner.too_large(limits))
    }

    /// The last sync request took too long (408, or no answer in time): the next
    /// `syncRequest()` carries half as much, growing back as answers come; nothing
    /// is refused. False: it pushed one change or none, so send it again after a wait.
    #[wasm_bindgen(js_name = tooSlow)]
    pub fn too_slow(&mut self) -> bool {
        self.inner.too_slow()
    }

    /// Takes in the server's response (JSON); returns what it did:
    /// `{updated: [doc], rejected: [{doc, code, message}], errors: [{doc, code, message}], more,
    /// removed: [doc]}` (`removed`: documents of a revoked territory, gone from the replica; the
    /// ones with unsent changes are in `globalMeta().undelivered`).
    #[wasm_bindgen(js_name = applyResponse)]
    pub fn apply_response(&mut self, response: &str) -> Result<String, Error> {
        let resp: SyncResponse = from_json("sync response", response)?;
        let report = self.inner.apply_response(&resp)?;
        let errors: Vec<Json> = report
            .errors
            .into_iter()
            .map(|(doc, e)| {
                let e = Error::Doc(e);
                json!({ "doc": doc, "code": e.code(), "message": e.to_string() })
            })
            .collect();
        to_json(&json!({
            "updated": report.updated,
            "rejected": report.rejected,
            "errors": errors,
            "more": report.more,
            "removed": report.removed,
        }))
    }

    /// The server's standing refusals, one per document, as JSON.
    pub fn rejections(&self) -> Result<String, Error> {
        to_json(&self.inner.rejections().collect::<Vec<_>>())
    }

    /// Creates a territory's document from its metadata (JSON `Territory`).
    #[wasm_bindgen(js_name = createTerritory)]
    pub fn create_territory(&mut self, id: &str, territory: &str, by: &str) -> Result<(), Error> {
        let territory: Territory = from_json("territory", territory)?;
        Ok(self
            .inner
            .create_territory(id.parse()?, &territory, &stamp(by)?)?)
    }

    /// Creates a dealer (JSON `DealerProfile`) in a territory held here; returns its id.
    #[wasm_bindgen(js_name = createDealer)]
    pub fn create_dealer(
        &mut self,
        territory: &str,
        id: Option<String>,
        profile: &str,
        by: &str,
    ) -> Result<String, Error> {
        let territory: TerritoryId = territory.parse()?;
        let id: DealerId = id_or_random(id, DealerId::random)?;
        let profile: DealerProfile = from_json("dealer profile", profile)?;
        self.inner
            .create_dealer(&territory, id.clone(), &profile, &stamp(by)?)?;
        Ok(id.to_string())
    }

    /// One document as JSON (see `document::state`), its records' standing as of
    /// `now` (epoch ms) in its territory's zone; `offsets(zone, ms)` is the browser's
    /// time-zone database (seconds east of UTC; none: UTC).
    pub fn state(
        &self,
        id: &str,
        now: f64,
        offsets: Option<js_sys::Function>,
    ) -> Result<String, Error> {
        let id = doc_id(id)?;
        let zone = self.inner.zone_of(&id);
        let today = crate::zone::today(offsets.as_ref(), &zone, now)?;
        let doc = self.inner.doc(&id).ok_or_else(|| unknown(id.clone()))?;
        to_json(&document::state(doc, &zone, today)?)
    }

    /// Adds a record (JSON) to a collection of a document; returns its id (given or random).
    pub fn insert(
        &mut self,
        doc: &str,
        collection: &str,
        id: Option<String>,
        record: &str,
        by: &str,
    ) -> Result<String, Error> {
        let by = stamp(by)?;
        document::insert(self.doc_mut(doc)?, collection, id, record, &by)
    }

    /// Edits a record with a JSON merge patch.
    pub fn update(
        &mut self,
        doc: &str,
        collection: &str,
        id: &str,
        patch: &str,
        by: &str,
    ) -> Result<(), Error> {
        let by = stamp(by)?;
        document::update(self.doc_mut(doc)?, collection, id, patch, &by)
    }

    /// Edits a document's profile with a JSON merge patch.
    #[wasm_bindgen(js_name = updateProfile)]
    pub fn update_profile(&mut self, doc: &str, patch: &str, by: &str) -> Result<(), Error> {
        let by = stamp(by)?;
        document::update_profile(self.doc_mut(doc)?, patch, &by)
    }

    /// Moves a record's status forward; `extra` is a JSON object written with it (or empty).
    pub fn advance(
        &mut self,
        doc: &str,
        collection: &str,
        id: &str,
        stage: &str,
        extra: &str,
        by: &str,
    ) -> Result<(), Error> {
        let by = stamp(by)?;
        document::advance(self.doc_mut(doc)?, collection, id, stage, extra, &by)
    }

    /// Puts a problem in head office's escalation queue (core's `Document::escalate`).
    pub fn escalate(&mut self, doc: &str, id: &str, by: &str) -> Result<(), Error> {
        let by = stamp(by)?;
        Ok(self.doc_mut(doc)?.escalate(&id.parse()?, &by)?)
    }

    /// Head office's answer to an escalated problem, assigning it to `assign_to` if given.
    pub fn respond(
        &mut self,
        doc: &str,
        id: &str,
        response: &str,
        assign_to: Option<String>,
        by: &str,
    ) -> Result<(), Error> {
        let by = stamp(by)?;
        let to = assign_to
            .filter(|s| !s.is_empty())
            .map(|s| s.parse())
            .transpose()?;
        Ok(self
            .doc_mut(doc)?
            .respond(&id.parse()?, response, to.as_ref(), &by)?)
    }

    /// The incoming manager's review of a record in a handover: `stage` is `reviewed`,
    /// `flagged` (with a `reason`) or `accepted` (which makes `by`'s user the owner).
    #[allow(clippy::too_many_arguments)]
    pub fn review(
        &mut self,
        doc: &str,
        collection: &str,
        id: &str,
        handover: &str,
        stage: &str,
        reason: &str,
        by: &str,
    ) -> Result<(), Error> {
        let by = stamp(by)?;
        document::review(
            self.doc_mut(doc)?,
            collection,
            id,
            handover,
            stage,
            reason,
            &by,
        )
    }

    /// Appends a note to a visit, commitment or problem; returns the note's id.
    #[wasm_bindgen(js_name = addNote)]
    pub fn add_note(
        &mut self,
        doc: &str,
        collection: &str,
        id: &str,
        text: &str,
        by: &str,
    ) -> Result<String, Error> {
        let by = stamp(by)?;
        document::add_note(self.doc_mut(doc)?, collection, id, text, &by)
    }

    /// Keeps `value` (JSON: one of the conflict's values, the winner included) for conflict `conflict`
    /// (its `id`), as one change (core's `Document::resolve`).
    pub fn resolve(
        &mut self,
        doc: &str,
        conflict: &str,
        value: &str,
        by: &str,
    ) -> Result<(), Error> {
        let by = stamp(by)?;
        document::resolve(self.doc_mut(doc)?, conflict, value, &by)
    }

    /// A document's conflicts as JSON: `[{id, kind, path, winner: {value, by, at}, others: […]}]`.
    pub fn conflicts(&mut self, id: &str) -> Result<String, Error> {
        let id = doc_id(id)?;
        // Reading conflicts needs `&mut` (Automerge caches change metadata); `doc_mut` also
        // marks the document for the next sync request, which finds nothing new and clears it.
        let doc = self.inner.doc_mut(&id).ok_or_else(|| unknown(id.clone()))?;
        document::conflicts(doc)
    }
}
