//! `JsReplica`: a device's `Replica` for JS — restore and save, sync messages as JSON, typed edits by collection name.

use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{DealerId, TerritoryId};
use fieldsync_core::model::{DealerProfile, Territory};
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{Replica, ReplicaMeta, SyncResponse};
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
    /// Restores a replica from its saved meta and documents' bytes.
    pub fn restore_from(meta: &str, docs: Vec<Vec<u8>>) -> Result<JsReplica, Error> {
        let meta: ReplicaMeta = from_json("replica meta", meta)?;
        Ok(JsReplica {
            inner: Replica::restore(meta, docs)?,
        })
    }

    fn doc(&self, id: &str) -> Result<&Document, Error> {
        let id = doc_id(id)?;
        self.inner.doc(&id).ok_or_else(|| unknown(id))
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

    /// Restores a replica saved with `meta()` and `saveDoc()`.
    pub fn restore(meta: &str, docs: Vec<js_sys::Uint8Array>) -> Result<JsReplica, Error> {
        Self::restore_from(meta, docs.iter().map(js_sys::Uint8Array::to_vec).collect())
    }

    /// The bookkeeping to save beside the documents, as JSON.
    pub fn meta(&self) -> Result<String, Error> {
        to_json(&self.inner.meta())
    }

    /// One document's bytes, to save; `undefined` if it is not held.
    #[wasm_bindgen(js_name = saveDoc)]
    pub fn save_doc(&mut self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.inner.save_doc(&doc_id(id)?))
    }

    /// The ids of every document held (`dealer:…`, `territory:…`).
    #[wasm_bindgen(js_name = docIds)]
    pub fn doc_ids(&self) -> Vec<String> {
        self.inner.doc_ids().map(ToString::to_string).collect()
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

    /// Takes in the server's response (JSON); returns what it did:
    /// `{updated: [doc], rejected: [{doc, code, message}], errors: [{doc, code, message}], more}`.
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

    /// One document as JSON (see `document::state`).
    pub fn state(&self, id: &str) -> Result<String, Error> {
        to_json(&document::state(self.doc(id)?)?)
    }

    /// Every document of a type (`dealer` or `territory`) as a JSON array of states;
    /// unreadable documents are listed under `errors` instead of failing the lot.
    pub fn states(&self, doc_type: &str) -> Result<String, Error> {
        let mut items = Vec::new();
        let mut errors = Vec::new();
        for id in self.inner.doc_ids().filter(|d| d.doc_type() == doc_type) {
            let Some(doc) = self.inner.doc(id) else {
                continue;
            };
            match document::state(doc) {
                Ok(s) => items.push(s),
                Err(e) => {
                    errors.push(json!({ "doc": id, "code": e.code(), "message": e.to_string() }))
                }
            }
        }
        to_json(&json!({ "items": items, "errors": errors }))
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

    /// A document's conflicted fields as JSON: `[{path, winner: {value, by, at}, others: […]}]`.
    pub fn conflicts(&mut self, id: &str) -> Result<String, Error> {
        let id = doc_id(id)?;
        // Reading conflicts needs `&mut` (Automerge caches change metadata); `doc_mut` also
        // marks the document for the next sync request, which finds nothing new and clears it.
        let doc = self.inner.doc_mut(&id).ok_or_else(|| unknown(id.clone()))?;
        document::conflicts(doc)
    }
}
