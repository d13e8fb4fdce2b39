//! A replica that receives documents whole (`SyncResponse::snapshots`, the server's saved form) ends with the server's documents and nothing to send back, keeps its own unsent edits, and then continues from the feed.

mod common;

use automerge::ChangeHash;
use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::{ChangeBytes, DocSnapshot, Hub, Replica, SyncResponse};

fn d() -> DealerId {
    "d-lin".parse().unwrap()
}

fn visit(r: &mut Replica, id: &str, at: i64) {
    let v: VisitId = id.parse().unwrap();
    let mut visit = Visit::new(user("m1"), stamp("m1", at).at);
    visit.summary = format!("拜訪 {id}");
    r.dealer_mut(&d())
        .unwrap()
        .insert(&v, &visit, &stamp("m1", at))
        .unwrap();
}

/// m1 records a dealer with a long history on the hub.
fn history(hub: &mut Hub) -> Replica {
    let mut m1 = Replica::new().unwrap();
    sync(hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), d(), &profile("林記商行"), &stamp("m1", 1))
        .unwrap();
    for i in 0..30 {
        visit(&mut m1, &format!("v{i}"), 10 + i);
        sync(hub, &manager("m1"), &mut m1);
    }
    m1
}

/// The hub's answer to `r`'s request, with its documents sent whole instead of
/// as changes: what the server answers a device that takes snapshots.
/// The request reads every feed from the start and pushes nothing.
fn whole(hub: &mut Hub, who: &str, r: &mut Replica) -> SyncResponse {
    let mut req = r.sync_request();
    assert!(req.snapshots, "a replica says it takes documents whole");
    req.push.clear();
    req.cursor = req.cursor.start();
    let mut resp = hub.sync(&manager(who), &req).unwrap();
    resp.snapshots = resp
        .changes
        .drain(..)
        .map(|dc| DocSnapshot {
            bytes: ChangeBytes(hub.doc(&dc.doc).unwrap().automerge().clone().save()),
            doc: dc.doc,
        })
        .collect();
    resp
}

fn heads(doc: &fieldsync_core::doc::Document) -> Vec<ChangeHash> {
    doc.automerge().clone().get_heads()
}

#[test]
fn a_replica_fed_snapshots_holds_the_servers_documents_and_continues_from_the_feed() {
    let mut hub = hub_with_territory();
    let mut m1 = history(&mut hub);
    let mut fresh = Replica::new().unwrap();
    let resp = whole(&mut hub, "m2", &mut fresh);
    assert_eq!(resp.snapshots.len(), 2, "the territory and the dealer");
    let report = fresh.apply_response(&resp).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.updated.len(), 2);
    let id = DocId::Dealer(d());
    for doc in [id.clone(), DocId::Territory(territory())] {
        assert_eq!(
            heads(fresh.doc(&doc).unwrap()),
            heads(hub.doc(&doc).unwrap())
        );
    }
    assert_eq!(fresh.pending(), 0, "nothing of the server's is sent back");
    assert!(fresh.sync_request().push.is_empty());
    // Next: only what changed, from the feed.
    visit(&mut m1, "v-next", 100);
    sync(&mut hub, &manager("m1"), &mut m1);
    let resp = hub.sync(&manager("m2"), &fresh.sync_request()).unwrap();
    assert_eq!(resp.changes.len(), 1);
    assert_eq!(
        resp.changes[0].changes.len(),
        1,
        "one new change, not the history"
    );
    fresh.apply_response(&resp).unwrap();
    assert_eq!(heads(fresh.doc(&id).unwrap()), heads(hub.doc(&id).unwrap()));
    assert_eq!(
        fresh
            .dealer(&d())
            .unwrap()
            .dealer_state()
            .unwrap()
            .visits
            .len(),
        31
    );
    assert_eq!(fresh.pending(), 0);
}

#[test]
fn a_snapshot_merges_into_a_held_document_and_keeps_its_unsent_edit() {
    let mut hub = hub_with_territory();
    let mut m1 = history(&mut hub);
    let mut other = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut other);
    // Offline, `other` records a visit while m1 records more.
    visit(&mut other, "v-offline", 200);
    visit(&mut m1, "v-meanwhile", 201);
    sync(&mut hub, &manager("m1"), &mut m1);
    // `other` reads the territory again from the start, documents whole.
    let resp = whole(&mut hub, "m1", &mut other);
    let report = other.apply_response(&resp).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let st = other.dealer(&d()).unwrap().dealer_state().unwrap();
    assert!(
        st.visits
            .contains_key(&"v-meanwhile".parse::<VisitId>().unwrap())
    );
    assert!(
        st.visits
            .contains_key(&"v-offline".parse::<VisitId>().unwrap())
    );
    assert_eq!(other.pending(), 1, "its own visit is still to send");
    sync(&mut hub, &manager("m1"), &mut other);
    assert_eq!(other.pending(), 0);
    let id = DocId::Dealer(d());
    assert_eq!(heads(other.doc(&id).unwrap()), heads(hub.doc(&id).unwrap()));
}

#[test]
fn a_snapshot_of_another_document_than_named_is_refused_and_changes_nothing() {
    let mut hub = hub_with_territory();
    let _m1 = history(&mut hub);
    let mut fresh = Replica::new().unwrap();
    let mut resp = whole(&mut hub, "m2", &mut fresh);
    let dealer = resp
        .snapshots
        .iter()
        .position(|s| s.doc == DocId::Dealer(d()))
        .unwrap();
    resp.snapshots[dealer].doc = DocId::Dealer("d-other".parse().unwrap());
    let report = fresh.apply_response(&resp).unwrap();
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        fresh
            .doc(&DocId::Dealer("d-other".parse().unwrap()))
            .is_none()
    );
    assert!(fresh.doc(&DocId::Dealer(d())).is_none());
}
