//! A fresh device, or one newly given a territory, downloads each document whole (the server's saved snapshot) instead of every change since the beginning, on SQLite and PostgreSQL: it ends with the server's documents, nothing pending, and continues from the feed; pages stay bounded, a document changed between pages still arrives whole, and an older device still gets the feed.

mod common;

use automerge::ChangeHash;
use common::*;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::{Hub, PROTOCOL_VERSION, Replica, SyncRequest, SyncResponse};
use fieldsync_server::Settings;

on_both_backends!(
    a_fresh_device_downloads_a_long_history_as_snapshots_and_continues_from_the_feed,
    a_territory_larger_than_a_page_comes_in_bounded_pages,
    a_document_changed_between_pages_still_arrives_whole,
    an_older_device_still_gets_every_change,
    a_territory_granted_later_comes_as_snapshots_and_only_that_one,
    a_territory_taken_away_between_pages_is_removed,
);

const DEALERS: usize = 6;
const VISITS: usize = 12;

fn dealer(i: usize) -> DealerId {
    format!("d-{i:02}").parse().unwrap()
}

/// Head office, and manager m1 of t-north who records `DEALERS` dealers with
/// `VISITS` visits each, one sync per visit round: a long history per document.
/// Also a dealer in t-south (m3's), which north's managers must never receive.
async fn scene(server: &TestServer) -> Device {
    let _ho =
        head_office_with_territories(server, &[("t-north", &["m1"]), ("t-south", &["m3"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    m1.sync().await;
    for i in 0..DEALERS {
        let s = m1.stamp();
        m1.replica
            .create_dealer(
                &tid("t-north"),
                dealer(i),
                &profile(&format!("商行 {i}")),
                &s,
            )
            .unwrap();
    }
    assert!(m1.sync().await.is_empty());
    for v in 0..VISITS {
        for i in 0..DEALERS {
            add_visit(&mut m1, &dealer(i), &format!("v-{v:02}"));
        }
        assert!(m1.sync().await.is_empty());
    }
    let t3 = server.user("m3", "manager", &["t-south"]).await;
    let mut m3 = server.device("m3", &t3);
    m3.sync().await;
    let s = m3.stamp();
    m3.replica
        .create_dealer(
            &tid("t-south"),
            "d-south".parse().unwrap(),
            &profile("南部商行"),
            &s,
        )
        .unwrap();
    add_visit(&mut m3, &"d-south".parse().unwrap(), "v-south");
    assert!(m3.sync().await.is_empty());
    m1
}

fn add_visit(dev: &mut Device, d: &DealerId, id: &str) {
    let v: VisitId = id.parse().unwrap();
    let s = dev.stamp();
    let mut visit = Visit::new(dev.user.clone(), s.at);
    visit.summary = format!("拜訪 {id}: {}", "x".repeat(120));
    dev.replica
        .dealer_mut(d)
        .unwrap()
        .insert(&v, &visit, &s)
        .unwrap();
}

/// The heads of every document the server holds in `territory`, by id.
async fn server_heads(server: &TestServer, territory: &str) -> Vec<(DocId, Vec<ChangeHash>)> {
    let mut out = Vec::new();
    for (id, bytes) in server
        .store
        .territory_snapshots(territory, "", 10_000)
        .await
        .unwrap()
    {
        let mut doc = Document::load(&bytes, Hub::actor()).unwrap();
        out.push((id.parse().unwrap(), doc.heads()));
    }
    out
}

fn heads_of(replica: &Replica, id: &DocId) -> Vec<ChangeHash> {
    let mut am = replica
        .doc(id)
        .expect("the device holds it")
        .automerge()
        .clone();
    am.get_heads()
}

/// The device holds every document of `territory` exactly as the server does.
async fn holds_what_the_server_holds(server: &TestServer, dev: &Device, territory: &str) {
    let heads = server_heads(server, territory).await;
    assert_eq!(heads.len(), DEALERS + 1, "the territory's documents");
    for (id, h) in heads {
        assert_eq!(heads_of(&dev.replica, &id), h, "{id}");
    }
}

/// Syncs `dev` until the server has nothing more, returning every response.
async fn sync_all(dev: &mut Device) -> Vec<SyncResponse> {
    let mut out = Vec::new();
    for _ in 0..200 {
        let (resp, report) = dev.round().await;
        out.push(resp);
        if !report.more {
            return out;
        }
    }
    panic!("sync never finished");
}

async fn a_fresh_device_downloads_a_long_history_as_snapshots_and_continues_from_the_feed(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let mut m1 = scene(&server).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut fresh = server.device("m2", &t2);
    let (resp, report) = fresh.round().await;
    assert!(!report.more, "one page holds the territory");
    assert_eq!(
        resp.snapshots.len(),
        DEALERS + 1,
        "every north document, whole"
    );
    assert!(resp.changes.is_empty(), "no change one at a time");
    assert!(
        resp.snapshots
            .iter()
            .all(|s| !s.doc.to_string().contains("south")),
        "nothing of another territory"
    );
    holds_what_the_server_holds(&server, &fresh, "t-north").await;
    assert_eq!(fresh.replica.pending(), 0, "nothing to send back");
    assert_eq!(
        fresh.replica.cursor().get(&tid("t-north")),
        m1.replica.cursor().get(&tid("t-north")),
        "at the head of the feed"
    );
    let st = fresh
        .replica
        .dealer(&dealer(3))
        .unwrap()
        .dealer_state()
        .unwrap();
    assert_eq!(st.visits.len(), VISITS);
    // What happens next arrives from the feed, as before.
    add_visit(&mut m1, &dealer(3), "v-next");
    assert!(m1.sync().await.is_empty());
    let (resp, _) = fresh.round().await;
    assert!(resp.snapshots.is_empty());
    assert_eq!(resp.changes.len(), 1, "{:?}", resp.changes);
    let st = fresh
        .replica
        .dealer(&dealer(3))
        .unwrap()
        .dealer_state()
        .unwrap();
    assert_eq!(st.visits.len(), VISITS + 1);
    holds_what_the_server_holds(&server, &fresh, "t-north").await;
    assert_eq!(fresh.replica.pending(), 0);
    // And the fresh device's own edits go up and are accepted.
    add_visit(&mut fresh, &dealer(0), "v-fresh");
    assert!(fresh.sync().await.is_empty());
    assert_eq!(fresh.replica.pending(), 0);
    holds_what_the_server_holds(&server, &fresh, "t-north").await;
    server.stop().await;
}

fn small_pages() -> Settings {
    Settings {
        page_bytes: 2 * 1024,
        ..Default::default()
    }
}

async fn a_territory_larger_than_a_page_comes_in_bounded_pages(backend: Backend) {
    let server = TestServer::start_with(backend, small_pages()).await;
    let _m1 = scene(&server).await;
    let largest = server_sizes(&server).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut fresh = server.device("m2", &t2);
    let pages = sync_all(&mut fresh).await;
    assert!(pages.len() > 2, "{} pages", pages.len());
    let mut docs = Vec::new();
    for p in &pages {
        let bytes: usize = p.snapshots.iter().map(|s| s.bytes.0.len()).sum();
        // A page may pass the budget by at most the one document that crossed it.
        assert!(bytes < 2 * 1024 + largest, "a page of {bytes} B");
        docs.extend(p.snapshots.iter().map(|s| s.doc.clone()));
    }
    let mut unique = docs.clone();
    unique.dedup();
    assert_eq!(unique, docs, "each document sent once, in id order");
    assert_eq!(docs.len(), DEALERS + 1);
    holds_what_the_server_holds(&server, &fresh, "t-north").await;
    assert_eq!(fresh.replica.pending(), 0);
    server.stop().await;
}

/// The largest saved document of t-north, in bytes.
async fn server_sizes(server: &TestServer) -> usize {
    server
        .store
        .territory_snapshots("t-north", "", 10_000)
        .await
        .unwrap()
        .iter()
        .map(|(_, b)| b.len())
        .max()
        .unwrap()
}

async fn a_document_changed_between_pages_still_arrives_whole(backend: Backend) {
    let server = TestServer::start_with(backend, small_pages()).await;
    let mut m1 = scene(&server).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut fresh = server.device("m2", &t2);
    let (first, report) = fresh.round().await;
    assert!(report.more);
    let sent: Vec<DocId> = first.snapshots.iter().map(|s| s.doc.clone()).collect();
    assert!(!sent.is_empty());
    assert!(
        fresh.replica.cursor().to_string().contains("t-north:~"),
        "part-way through the snapshots: {}",
        fresh.replica.cursor()
    );
    // Meanwhile m1 changes a document already sent and one not sent yet.
    let done = dealer(0);
    assert_eq!(sent[0], DocId::Dealer(done.clone()));
    let later = dealer(DEALERS - 1);
    assert!(!sent.contains(&DocId::Dealer(later.clone())));
    add_visit(&mut m1, &done, "v-between-1");
    add_visit(&mut m1, &later, "v-between-2");
    assert!(m1.sync().await.is_empty());
    sync_all(&mut fresh).await;
    holds_what_the_server_holds(&server, &fresh, "t-north").await;
    assert_eq!(fresh.replica.pending(), 0);
    for d in [&done, &later] {
        let st = fresh.replica.dealer(d).unwrap().dealer_state().unwrap();
        assert_eq!(st.visits.len(), VISITS + 1, "{d}");
    }
    server.stop().await;
}

async fn an_older_device_still_gets_every_change(backend: Backend) {
    let server = TestServer::start(backend).await;
    let _m1 = scene(&server).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let old = server.device("m2", &t2);
    // A device of before snapshots: its request does not say it takes them.
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        cursor: Default::default(),
        push: vec![],
        replica: String::new(),
    };
    let r = old.post(&req).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.get("snapshots").is_none(), "{body}");
    let resp: SyncResponse = serde_json::from_value(body).unwrap();
    assert!(!resp.more);
    let changes: usize = resp.changes.iter().map(|c| c.changes.len()).sum();
    assert!(changes > DEALERS * VISITS, "{changes} changes");
    let mut replica = Replica::new().unwrap();
    let report = replica.apply_response(&resp).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let heads = server_heads(&server, "t-north").await;
    for (id, h) in heads {
        assert_eq!(heads_of(&replica, &id), h, "{id}");
    }
    server.stop().await;
}

async fn a_territory_granted_later_comes_as_snapshots_and_only_that_one(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut m1 = scene(&server).await;
    let t4 = server.user("m4", "manager", &["t-south"]).await;
    let mut m4 = server.device("m4", &t4);
    let (resp, _) = m4.round().await;
    assert_eq!(resp.snapshots.len(), 2, "t-south's territory and dealer");
    assert!(m4.replica.doc(&DocId::Dealer(dealer(0))).is_none());
    // South moves on while m4 is assigned t-north too.
    let t3 = server.token("m3").await;
    let mut m3 = server.device("m3", &t3);
    m3.sync().await;
    add_visit(&mut m3, &"d-south".parse().unwrap(), "v-south-2");
    assert!(m3.sync().await.is_empty());
    server
        .store
        .set_user_territories("m4", &["t-south".into(), "t-north".into()])
        .await
        .unwrap();
    let (resp, report) = m4.round().await;
    assert!(!report.more);
    assert_eq!(resp.snapshots.len(), DEALERS + 1);
    assert!(
        resp.snapshots
            .iter()
            .all(|s| !s.doc.to_string().contains("south")),
        "t-south continues from its feed"
    );
    assert_eq!(
        resp.changes.len(),
        1,
        "south's new visit: {:?}",
        resp.changes
    );
    holds_what_the_server_holds(&server, &m4, "t-north").await;
    assert_eq!(m4.replica.pending(), 0);
    add_visit(&mut m1, &dealer(1), "v-after-grant");
    assert!(m1.sync().await.is_empty());
    let (resp, _) = m4.round().await;
    assert!(resp.snapshots.is_empty());
    holds_what_the_server_holds(&server, &m4, "t-north").await;
    server.stop().await;
}

async fn a_territory_taken_away_between_pages_is_removed(backend: Backend) {
    let server = TestServer::start_with(backend, small_pages()).await;
    let _m1 = scene(&server).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut fresh = server.device("m2", &t2);
    let (first, report) = fresh.round().await;
    assert!(report.more && !first.snapshots.is_empty());
    server.store.set_user_territories("m2", &[]).await.unwrap();
    let (resp, report) = fresh.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert!(resp.snapshots.is_empty());
    assert!(report.removed.contains(&first.snapshots[0].doc));
    assert_eq!(fresh.replica.doc_ids().count(), 0);
    assert_eq!(fresh.replica.cursor().territories().count(), 0);
    server.stop().await;
}
