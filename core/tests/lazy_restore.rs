//! A device restored from its small global bookkeeping, loading documents only when needed, syncs exactly as one that loaded everything; bookkeeping saved whole by earlier versions still restores.

mod common;

use std::collections::BTreeMap;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::{DocMeta, Hub, Replica, ReplicaMeta, SyncResponse};

/// What a device keeps on disk: the global bookkeeping, and each document's bytes beside its own.
struct Disk {
    global: String,
    docs: BTreeMap<DocId, (Vec<u8>, String)>,
}

fn save(r: &mut Replica) -> Disk {
    let ids: Vec<DocId> = r.doc_ids().cloned().collect();
    let mut docs = BTreeMap::new();
    for id in ids {
        let meta = serde_json::to_string(&r.doc_meta(&id).unwrap()).unwrap();
        docs.insert(id.clone(), (r.save_doc(&id).unwrap(), meta));
    }
    Disk {
        global: serde_json::to_string(&r.global_meta()).unwrap(),
        docs,
    }
}

impl Disk {
    /// The replica as a start restores it: the global part and the documents with changes to send.
    fn restore_lazily(&self) -> Replica {
        let global: ReplicaMeta = serde_json::from_str(&self.global).unwrap();
        let mut r = Replica::restore(global, Vec::<Vec<u8>>::new()).unwrap();
        for id in self.docs.keys() {
            if self.meta(id).dirty {
                self.load(&mut r, id);
            }
        }
        r
    }

    /// Every document loaded, as before lazy loading.
    fn restore_eagerly(&self) -> Replica {
        let mut meta: ReplicaMeta = serde_json::from_str(&self.global).unwrap();
        for id in self.docs.keys() {
            meta.docs.insert(id.clone(), self.meta(id));
        }
        Replica::restore(meta, self.docs.values().map(|(b, _)| b.clone())).unwrap()
    }

    fn meta(&self, id: &DocId) -> DocMeta {
        serde_json::from_str(&self.docs[id].1).unwrap()
    }

    fn load(&self, r: &mut Replica, id: &DocId) {
        assert_eq!(&r.load_doc(&self.docs[id].0, self.meta(id)).unwrap(), id);
    }

    /// Loads what a response names, as the device does before applying it.
    fn load_named(&self, r: &mut Replica, resp: &SyncResponse) {
        for id in resp
            .accepted
            .iter()
            .map(|a| &a.doc)
            .chain(resp.changes.iter().map(|c| &c.doc))
        {
            if self.docs.contains_key(id) {
                self.load(r, id);
            }
        }
    }
}

fn dealer(i: usize) -> DealerId {
    format!("d-{i}").parse().unwrap()
}

fn visit(r: &mut Replica, who: &str, d: &DealerId, v: &str, at: i64) {
    let v: VisitId = v.parse().unwrap();
    r.dealer_mut(d)
        .unwrap()
        .insert(
            &v,
            &Visit::new(user(who), stamp(who, at).at),
            &stamp(who, at),
        )
        .unwrap();
}

/// m1's phone with ten synced dealers and two visits recorded offline since; m2's phone synced.
fn day() -> (Hub, Replica, Replica) {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    sync(&mut hub, &manager("m1"), &mut a);
    for i in 0..10 {
        a.create_dealer(
            &territory(),
            dealer(i),
            &profile(&format!("經銷商 {i}")),
            &stamp("m1", i as i64),
        )
        .unwrap();
        visit(&mut a, "m1", &dealer(i), &format!("v-a{i}"), 100 + i as i64);
    }
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    visit(&mut a, "m1", &dealer(1), "v-late1", 200);
    visit(&mut a, "m1", &dealer(2), "v-late2", 201);
    (hub, a, b)
}

#[test]
fn a_start_loads_only_the_documents_with_changes_to_send_and_pushes_what_a_full_load_pushes() {
    let (_hub, mut a, _b) = day();
    let disk = save(&mut a);
    let mut lazy = disk.restore_lazily();
    let mut eager = disk.restore_eagerly();
    let held: Vec<&DocId> = lazy.doc_ids().collect();
    assert_eq!(
        held,
        [&DocId::Dealer(dealer(1)), &DocId::Dealer(dealer(2))],
        "only the two dealers visited offline are loaded"
    );
    assert_eq!(lazy.pending(), eager.pending());
    assert_eq!(lazy.pending(), 2);
    assert_eq!(
        serde_json::to_value(lazy.sync_request()).unwrap(),
        serde_json::to_value(eager.sync_request()).unwrap()
    );
}

#[test]
fn changes_for_a_document_not_loaded_are_taken_in_whole_once_it_is_loaded() {
    let (mut hub, mut a, mut b) = day();
    // m2 visits a dealer m1's phone has not loaded since its restart.
    visit(&mut b, "m2", &dealer(5), "v-b5", 300);
    sync(&mut hub, &manager("m2"), &mut b);
    let disk = save(&mut a);
    let mut lazy = disk.restore_lazily();
    let mut eager = disk.restore_eagerly();

    let req = lazy.sync_request();
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    disk.load_named(&mut lazy, &resp);
    let report = lazy.apply_response(&resp).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.updated.contains(&DocId::Dealer(dealer(5))));
    // The same answer to the eager replica (the same request: acknowledging again is harmless).
    eager.sync_request();
    eager.apply_response(&resp).unwrap();

    let d5 = DocId::Dealer(dealer(5));
    let visits = |r: &Replica| r.dealer(&dealer(5)).unwrap().dealer_state().unwrap().visits;
    assert_eq!(
        visits(&lazy).len(),
        2,
        "m1's visit from before and m2's new one"
    );
    assert_eq!(visits(&lazy), visits(&eager));
    for id in lazy.doc_ids() {
        assert_eq!(lazy.doc_meta(id), eager.doc_meta(id), "{id}");
    }
    assert_eq!(lazy.doc_meta(&d5).map(|m| m.dirty), Some(false));
    assert_eq!(lazy.pending(), 0);
    assert_eq!(lazy.global_meta(), eager.global_meta());
}

#[test]
fn the_global_bookkeeping_does_not_grow_with_the_documents() {
    let (_hub, mut a, _b) = day();
    let small = serde_json::to_string(&a.global_meta()).unwrap();
    for i in 10..200 {
        a.create_dealer(&territory(), dealer(i), &profile("新"), &stamp("m1", 500))
            .unwrap();
    }
    let global = serde_json::to_string(&a.global_meta()).unwrap();
    assert_eq!(global.len(), small.len());
    assert!(!global.contains("\"docs\""), "{global}");
    assert!(serde_json::to_string(&a.meta()).unwrap().len() > 200 * 20);
}

#[test]
fn bookkeeping_saved_whole_by_an_earlier_version_still_restores() {
    let (_hub, mut a, _b) = day();
    // Whole, as earlier versions saved it: every document's bookkeeping, without its territory.
    let mut whole = serde_json::to_value(a.meta()).unwrap();
    for m in whole["docs"].as_object_mut().unwrap().values_mut() {
        m.as_object_mut().unwrap().remove("territory");
    }
    let meta: ReplicaMeta = serde_json::from_value(whole).unwrap();
    let ids: Vec<DocId> = a.doc_ids().cloned().collect();
    let bytes: Vec<Vec<u8>> = ids.iter().map(|id| a.save_doc(id).unwrap()).collect();
    let mut r = Replica::restore(meta, bytes).unwrap();
    assert_eq!(r.pending(), 2);
    assert_eq!(
        serde_json::to_value(r.sync_request()).unwrap(),
        serde_json::to_value(a.sync_request()).unwrap()
    );
    // Saved split from there, each document's bookkeeping names its territory.
    let m = r.doc_meta(&DocId::Dealer(dealer(3))).unwrap();
    assert_eq!(m.territory, Some(territory()));
    assert!(!m.dirty);
}
