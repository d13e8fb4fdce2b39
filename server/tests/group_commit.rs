//! Group commit, on SQLite and PostgreSQL: the documents of one request are decided in parallel and committed together, with nothing lost, nothing stored twice, and the feed in commit order.

mod common;

use std::collections::BTreeSet;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::{ChangeBytes, DocChanges, RejectCode, SyncResponse};
use fieldsync_server::readmodel::{ReadKind, ReadRows, TerritoryRow};
use fieldsync_server::store::CommitDoc;

on_both_backends!(
    a_request_of_many_documents_commits_them_all_in_feed_order,
    a_hostile_document_is_refused_and_the_others_are_committed,
    two_requests_racing_on_the_same_documents_lose_nothing,
    a_resent_batch_is_acknowledged_with_nothing_written,
    a_document_changed_meanwhile_is_left_out_of_the_group,
    a_long_push_beside_hundreds_of_documents_lands_whole,
);

/// Every feed entry of `territory`: its numbers run 1..=n with no gap, and no change is
/// in it twice. Returns the entries' (doc, hash).
async fn feed_of(server: &TestServer, territory: &str) -> Vec<(String, String)> {
    let feed = server
        .store
        .feed_after(territory, 0, 100_000)
        .await
        .unwrap();
    let seqs: Vec<i64> = feed.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=i64::try_from(feed.len()).unwrap()).collect::<Vec<_>>(),
        "{territory}: numbers with no gap"
    );
    let hashes: BTreeSet<&str> = feed.iter().map(|r| r.hash.as_str()).collect();
    assert_eq!(hashes.len(), feed.len(), "{territory}: no change twice");
    feed.into_iter().map(|r| (r.doc, r.hash)).collect()
}

fn dealer(i: usize) -> DealerId {
    format!("d-g-{i:03}").parse().unwrap()
}

/// Records a visit at dealer `d` on `dev` (offline).
fn visit(dev: &mut Device, d: &DealerId, id: &str) {
    let v: VisitId = id.parse().unwrap();
    let s = dev.stamp();
    let mut visit = Visit::new(dev.user.clone(), s.at);
    visit.summary = format!("visit {id}");
    dev.replica
        .dealer_mut(d)
        .unwrap()
        .insert(&v, &visit, &s)
        .unwrap();
}

/// Head office with t-north and t-south, manager m1 of both, m2 of t-north, both synced.
async fn scene(server: &TestServer) -> (Device, Device, Device) {
    let ho =
        head_office_with_territories(server, &[("t-north", &["m1", "m2"]), ("t-south", &["m1"])])
            .await;
    let t1 = server.user("m1", "manager", &["t-north", "t-south"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let (mut m1, mut m2) = (server.device("m1", &t1), server.device("m2", &t2));
    assert!(m1.sync().await.is_empty());
    assert!(m2.sync().await.is_empty());
    (ho, m1, m2)
}

/// 60 new dealers in two territories plus edits of dealers already stored, in one
/// request: all acknowledged, every change in its territory's feed once, numbered with no
/// gap, each document's changes in order, and a device on another server replica pulls
/// every one of them.
async fn a_request_of_many_documents_commits_them_all_in_feed_order(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mut ho, mut m1, _m2) = scene(&server).await;
    // Five dealers already stored, edited below.
    for i in 0..5 {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid("t-north"), dealer(i), &profile(&format!("舊 {i}")), &s)
            .unwrap();
    }
    assert!(m1.sync().await.is_empty());
    let before = server.store.total_changes().await.unwrap();
    for i in 5..65 {
        let t = if i % 2 == 0 { "t-north" } else { "t-south" };
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid(t), dealer(i), &profile(&format!("新 {i}")), &s)
            .unwrap();
        visit(&mut m1, &dealer(i), &format!("v-new-{i}"));
    }
    for i in 0..5 {
        visit(&mut m1, &dealer(i), &format!("v-old-{i}"));
        visit(&mut m1, &dealer(i), &format!("v-old-{i}-b"));
    }
    let req = m1.replica.sync_request();
    let pushed: usize = req.push.iter().map(|p| p.changes.len()).sum();
    assert_eq!(req.push.len(), 67, "65 dealers and both territories");
    let r = m1.post(&req).await;
    assert_eq!(r.status(), 200);
    let resp: SyncResponse = r.json().await.unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    assert_eq!(resp.accepted.len(), 67);
    m1.replica.apply_response(&resp).unwrap();
    assert_eq!(m1.replica.pending(), 0);
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before + i64::try_from(pushed).unwrap(),
        "every change stored once"
    );
    // Per territory: no gap, no duplicate; each document's changes in the order pushed.
    for t in ["t-north", "t-south"] {
        let feed = feed_of(&server, t).await;
        for push in req.push.iter() {
            let id = push.doc.to_string();
            let mine: Vec<&String> = feed
                .iter()
                .filter(|(d, _)| *d == id)
                .map(|(_, h)| h)
                .collect();
            let sent: Vec<String> = push
                .changes
                .iter()
                .map(|c| {
                    fieldsync_core::automerge::Change::from_bytes(c.0.clone())
                        .unwrap()
                        .hash()
                        .to_string()
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let tail = &mine[mine.len() - sent.len()..];
            assert_eq!(
                tail.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
                sent.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
                "{id}: its changes in order at the end of its feed entries"
            );
        }
    }
    // Head office's read model has every dealer and visit.
    ho.sync().await;
    let north = server
        .get_json(&ho.token, "/api/dealers?territory=t-north&per_page=100")
        .await;
    let south = server
        .get_json(&ho.token, "/api/dealers?territory=t-south&per_page=100")
        .await;
    assert_eq!(north["total"], 35);
    assert_eq!(south["total"], 30);
    let visits = server.get_json(&ho.token, "/api/visits?per_page=1").await;
    assert_eq!(visits["total"], 70);
    // Another device of m1, on another server replica over the same database.
    let (base2, stop2) = server.second_replica().await;
    let token = server.token("m1").await;
    let mut other = server.device("m1", &token);
    other.base = base2;
    assert!(other.sync().await.is_empty());
    for i in 0..65 {
        let st = other
            .replica
            .dealer(&dealer(i))
            .unwrap()
            .dealer_state()
            .unwrap();
        let want = if i < 5 { 2 } else { 1 };
        assert_eq!(st.visits.len(), want, "{}", dealer(i));
    }
    let _ = stop2.send(());
    server.stop().await;
}

/// In one request: 20 good documents, a document of garbage bytes and a dealer forged
/// into a territory the pusher may not write. The two are refused, each with its own
/// code, nothing of them is stored, and the 20 are committed.
async fn a_hostile_document_is_refused_and_the_others_are_committed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _ho =
        head_office_with_territories(&server, &[("t-north", &["m1"]), ("t-east", &["m9"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    assert!(m1.sync().await.is_empty());
    for i in 0..20 {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid("t-north"), dealer(i), &profile(&format!("好 {i}")), &s)
            .unwrap();
    }
    let mut req = m1.replica.sync_request();
    let good: usize = req.push.iter().map(|p| p.changes.len()).sum();
    let stolen = DealerId::random().unwrap();
    let mut forged = fieldsync_core::doc::Document::create_dealer(
        stolen.clone(),
        tid("t-east"),
        &profile("偷來的"),
        &m1.stamp(),
        fieldsync_core::sync::Hub::actor(),
    )
    .unwrap();
    req.push.insert(
        7,
        DocChanges {
            doc: DocId::Dealer(stolen.clone()),
            changes: forged
                .changes_since(&[])
                .iter()
                .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                .collect(),
        },
    );
    req.push.insert(
        3,
        DocChanges {
            doc: "dealer:d-garbage".parse().unwrap(),
            changes: vec![ChangeBytes(b"garbage".to_vec())],
        },
    );
    let before = server.store.total_changes().await.unwrap();
    let east = feed_of(&server, "t-east").await;
    let resp: SyncResponse = m1.post(&req).await.json().await.unwrap();
    assert_eq!(resp.accepted.len(), 21, "20 dealers and the territory");
    let refused: Vec<(String, RejectCode)> = resp
        .rejected
        .iter()
        .map(|r| (r.doc.to_string(), r.code))
        .collect();
    assert_eq!(
        refused,
        vec![
            ("dealer:d-garbage".to_owned(), RejectCode::Malformed),
            (format!("dealer:{stolen}"), RejectCode::Forbidden),
        ]
    );
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before + i64::try_from(good).unwrap()
    );
    assert_eq!(
        server
            .store
            .stored_changes(&format!("dealer:{stolen}"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        server
            .store
            .stored_changes("dealer:d-garbage")
            .await
            .unwrap(),
        0
    );
    feed_of(&server, "t-north").await;
    assert_eq!(
        feed_of(&server, "t-east").await,
        east,
        "nothing new in t-east"
    );
    server.stop().await;
}

/// Two managers each record a visit at the same 20 dealers offline and sync at the same
/// moment through two server replicas: every visit is stored once, none is lost (the
/// documents a group lost to the other are decided again), and both converge.
async fn two_requests_racing_on_the_same_documents_lose_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mut ho, mut m1, mut m2) = scene(&server).await;
    for i in 0..20 {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid("t-north"), dealer(i), &profile(&format!("共 {i}")), &s)
            .unwrap();
    }
    assert!(m1.sync().await.is_empty());
    assert!(m2.sync().await.is_empty());
    let (base2, stop2) = server.second_replica().await;
    m2.base = base2;
    for round in 0..3 {
        let before = server.store.total_changes().await.unwrap();
        for i in 0..20 {
            visit(&mut m1, &dealer(i), &format!("v-a-{round}-{i}"));
            visit(&mut m2, &dealer(i), &format!("v-b-{round}-{i}"));
        }
        let (ra, rb) = tokio::join!(m1.round(), m2.round());
        assert!(ra.1.rejected.is_empty(), "{:?}", ra.1.rejected);
        assert!(rb.1.rejected.is_empty(), "{:?}", rb.1.rejected);
        assert_eq!(ra.0.accepted.len(), 20);
        assert_eq!(rb.0.accepted.len(), 20);
        assert_eq!(m1.replica.pending(), 0);
        assert_eq!(m2.replica.pending(), 0);
        assert_eq!(
            server.store.total_changes().await.unwrap(),
            before + 40,
            "round {round}: each visit stored once"
        );
        feed_of(&server, "t-north").await;
    }
    m1.sync().await;
    m2.sync().await;
    ho.sync().await;
    for i in 0..20 {
        let a = m1
            .replica
            .dealer(&dealer(i))
            .unwrap()
            .dealer_state()
            .unwrap();
        let b = m2
            .replica
            .dealer(&dealer(i))
            .unwrap()
            .dealer_state()
            .unwrap();
        let h = ho
            .replica
            .dealer(&dealer(i))
            .unwrap()
            .dealer_state()
            .unwrap();
        assert_eq!(a.visits.len(), 6, "{}", dealer(i));
        assert_eq!(a, b);
        assert_eq!(a, h);
    }
    let visits = server.get_json(&ho.token, "/api/visits?per_page=1").await;
    assert_eq!(visits["total"], 120, "the read model holds every visit");
    let _ = stop2.send(());
    server.stop().await;
}

/// A whole batch sent again (its response was lost) is acknowledged as before and
/// writes nothing: no feed entry, no version.
async fn a_resent_batch_is_acknowledged_with_nothing_written(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut m1, _m2) = scene(&server).await;
    for i in 0..30 {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid("t-north"), dealer(i), &profile(&format!("再 {i}")), &s)
            .unwrap();
        visit(&mut m1, &dealer(i), &format!("v-r-{i}"));
    }
    let req = m1.replica.sync_request();
    let first: SyncResponse = m1.post(&req).await.json().await.unwrap();
    assert!(first.rejected.is_empty());
    let stored = server.store.total_changes().await.unwrap();
    let feed = feed_of(&server, "t-north").await;
    let versions = server
        .store
        .load_docs(&["dealer:d-g-000", "territory:t-north"])
        .await
        .unwrap();
    let again: SyncResponse = m1.post(&req).await.json().await.unwrap();
    assert!(again.rejected.is_empty());
    assert_eq!(again.accepted, first.accepted);
    assert_eq!(server.store.total_changes().await.unwrap(), stored);
    assert_eq!(feed_of(&server, "t-north").await, feed);
    let after = server
        .store
        .load_docs(&["dealer:d-g-000", "territory:t-north"])
        .await
        .unwrap();
    assert_eq!(
        after.values().map(|d| d.version).collect::<Vec<_>>(),
        versions.values().map(|d| d.version).collect::<Vec<_>>()
    );
    m1.replica.apply_response(&again).unwrap();
    assert_eq!(m1.replica.pending(), 0);
    server.stop().await;
}

fn territory_rows(id: &str) -> ReadRows {
    ReadRows {
        kind: ReadKind::Territory(TerritoryRow {
            id: id.to_owned(),
            name: id.to_owned(),
            region: "north".to_owned(),
            managers: vec![],
            time_zone: None,
        }),
        conflicts: vec![],
    }
}

/// The store's group commit itself: of three documents, the one whose version moved
/// since it was loaded and the one created meanwhile are left out with nothing written,
/// the third is stored with its feed entries.
async fn a_document_changed_meanwhile_is_left_out_of_the_group(backend: Backend) {
    let server = TestServer::start(backend).await;
    let store = &server.store;
    let (ra, rb, rc) = (
        territory_rows("t-a"),
        territory_rows("t-b"),
        territory_rows("t-c"),
    );
    let doc =
        |id: &'static str, t: &'static str, v: Option<i64>, read: &'static ReadRows| CommitDoc {
            id,
            territory: t,
            kind: "territory",
            expected_version: v,
            snapshot: vec![1, 2, 3],
            fresh: vec![(format!("{id}-h{}", v.unwrap_or(0)), vec![9])],
            device: "",
            origin: "",
            read,
        };
    let (ra, rb, rc): (&'static ReadRows, &'static ReadRows, &'static ReadRows) = (
        Box::leak(Box::new(ra)),
        Box::leak(Box::new(rb)),
        Box::leak(Box::new(rc)),
    );
    let first = store
        .commit_docs(&[
            doc("territory:t-a", "t-a", None, ra),
            doc("territory:t-b", "t-b", None, rb),
        ])
        .await
        .unwrap();
    assert_eq!(first, vec![Some(1), Some(1)]);
    // t-a moves on to version 2 elsewhere; this group still expects version 1 for it, and
    // creates t-b, which exists by now, and t-c.
    assert_eq!(
        store
            .commit_docs(&[doc("territory:t-a", "t-a", Some(1), ra)])
            .await
            .unwrap(),
        vec![Some(2)]
    );
    let before = store.total_changes().await.unwrap();
    let group = store
        .commit_docs(&[
            doc("territory:t-a", "t-a", Some(1), ra),
            doc("territory:t-b", "t-b", None, rb),
            doc("territory:t-c", "t-c", None, rc),
        ])
        .await
        .unwrap();
    assert_eq!(group, vec![None, None, Some(1)]);
    assert_eq!(store.total_changes().await.unwrap(), before + 1);
    assert_eq!(feed_of(&server, "t-a").await.len(), 2);
    assert_eq!(feed_of(&server, "t-b").await.len(), 1);
    assert_eq!(feed_of(&server, "t-c").await.len(), 1);
    let versions = store
        .load_docs(&["territory:t-a", "territory:t-b", "territory:t-c"])
        .await
        .unwrap();
    let v: Vec<(&str, i64)> = versions
        .iter()
        .map(|(id, d)| (id.as_str(), d.version))
        .collect();
    assert_eq!(
        v,
        vec![
            ("territory:t-a", 2),
            ("territory:t-b", 1),
            ("territory:t-c", 1)
        ]
    );
    // A document named twice in one group is written once.
    let twice = store
        .commit_docs(&[
            doc("territory:t-c", "t-c", Some(1), rc),
            doc("territory:t-c", "t-c", Some(1), rc),
        ])
        .await
        .unwrap();
    assert_eq!(twice.iter().filter(|s| s.is_some()).count(), 1);
    server.stop().await;
}

/// 260 new dealers in one request: the territory's push (260 index entries, its own
/// long push) beside three groups of dealers. Every document is acknowledged, in the
/// order pushed; every change is stored once, the feed has no gap, and another device
/// pulls the territory's whole index and every dealer.
async fn a_long_push_beside_hundreds_of_documents_lands_whole(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_ho, mut m1, _m2) = scene(&server).await;
    let before = server.store.total_changes().await.unwrap();
    let index_before = feed_of(&server, "t-north").await.len();
    for i in 0..260 {
        let s = m1.stamp();
        m1.replica
            .create_dealer(&tid("t-north"), dealer(i), &profile(&format!("長 {i}")), &s)
            .unwrap();
    }
    let req = m1.replica.sync_request();
    let territory = DocId::Territory(tid("t-north"));
    let long = req.push.iter().find(|p| p.doc == territory).unwrap();
    assert!(
        long.changes.len() >= 260,
        "the territory's index entries in one push"
    );
    let pushed: usize = req.push.iter().map(|p| p.changes.len()).sum();
    let r = m1.post(&req).await;
    assert_eq!(r.status(), 200);
    let resp: SyncResponse = r.json().await.unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    let order: Vec<&DocId> = resp.accepted.iter().map(|a| &a.doc).collect();
    let sent: Vec<&DocId> = req.push.iter().map(|p| &p.doc).collect();
    assert_eq!(order, sent, "acknowledged in the order pushed");
    m1.replica.apply_response(&resp).unwrap();
    assert_eq!(m1.replica.pending(), 0);
    assert_eq!(
        server.store.total_changes().await.unwrap(),
        before + i64::try_from(pushed).unwrap(),
        "every change stored once"
    );
    let feed = feed_of(&server, "t-north").await;
    let entries = feed
        .iter()
        .filter(|(d, _)| *d == territory.to_string())
        .count();
    let dealers = feed.len() - entries;
    assert_eq!(
        entries + dealers,
        index_before + pushed,
        "what the feed held before and every pushed change, once each"
    );
    assert_eq!(
        pushed - long.changes.len(),
        dealers,
        "every dealer's changes"
    );
    let token = server.token("m1").await;
    let mut other = server.device("m1", &token);
    assert!(other.sync().await.is_empty());
    for i in 0..260 {
        assert!(other.replica.dealer(&dealer(i)).is_ok(), "{}", dealer(i));
    }
    server.stop().await;
}
