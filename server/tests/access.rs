//! One source of access, and revocation that takes effect at once, against the real server on SQLite and
//! PostgreSQL with core replicas as devices: only an administrator's assignment gives access (a territory
//! document's manager list grants nothing, and only head office may edit it); a revoked territory leaves the
//! device at its next sync while its unsent edits are kept aside; open live channels are told at once; and a
//! replica's actors follow its device (a new login, a discard) so its edits stay accepted.

mod common;

use std::time::Duration;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use common::*;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ClaimId, DealerId, VisitId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim, Territory, Visit};
use fieldsync_core::money::Money;
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocChanges, Hub, PROTOCOL_VERSION, RejectCode, SyncRequest, SyncResponse,
};
use fieldsync_server::Settings;
use fieldsync_server::admin;
use serde_json::{Value, json};

on_both_backends!(
    a_regional_manager_cannot_grant_access_through_the_territory_document,
    taking_a_territory_away_revokes_it_even_if_the_document_lists_the_user,
    revoked_mid_session_the_device_removes_the_territory_and_keeps_its_unsent_visit,
    an_open_live_channel_is_told_at_once_when_access_changes_through_the_server,
    a_browser_logging_in_again_with_a_new_device_keeps_its_edits_accepted,
    after_a_discard_the_next_edit_is_accepted_and_a_restore_resends_both_actors_work,
);

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

/// Head office, t-north (its document listing m1) with dealer d-lin, and m1's synced device.
async fn north(server: &TestServer) -> (Device, Device) {
    let ho = head_office_with_territories(server, &[("t-north", &["m1"]), ("t-south", &[])]).await;
    let t1 = server.user("m1", "manager", &["t-north", "t-south"]).await;
    let mut m1 = server.device("m1", &t1);
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dealer(), &profile("林記商行"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());
    (ho, m1)
}

fn record(d: &mut Device, id: &str) -> VisitId {
    let v: VisitId = id.parse().unwrap();
    let s = d.stamp();
    d.replica
        .dealer_mut(&dealer())
        .unwrap()
        .insert(&v, &Visit::new(d.user.clone(), s.at), &s)
        .unwrap();
    v
}

async fn stored_dealer(server: &TestServer) -> Document {
    let stored = server
        .store
        .load_doc(&DocId::Dealer(dealer()).to_string())
        .await
        .unwrap()
        .unwrap();
    Document::load(&stored.snapshot, Hub::actor()).unwrap()
}

async fn stored_visits(server: &TestServer) -> Vec<VisitId> {
    let doc = stored_dealer(server).await;
    doc.dealer_state().unwrap().visits.into_keys().collect()
}

/// `PUT /api/users/{user}/territories` with `token`.
async fn assign(
    server: &TestServer,
    token: &str,
    user: &str,
    territories: &[&str],
) -> reqwest::Response {
    server
        .http
        .put(format!("{}/api/users/{user}/territories", server.base))
        .bearer_auth(token)
        .json(&json!({ "territories": territories }))
        .send()
        .await
        .expect("PUT territories")
}

/// A device issued from the command line: (its id, its token).
async fn issue(server: &TestServer, user: &str) -> (String, String) {
    let issued = admin::issue_device(&server.store, user, "test", None)
        .await
        .unwrap();
    remember_device(&issued.token, &issued.device);
    (issued.device, issued.token)
}

async fn a_regional_manager_cannot_grant_access_through_the_territory_document(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mut ho, mut m1) = north(&server).await;
    let rt = server.user("rm", "regional", &["t-north"]).await;
    let mut rm = server.device("rm", &rt);
    rm.sync().await;
    let outsider = server.user("m9", "manager", &["t-south"]).await;

    // The regional manager adds m9 to t-north's manager list with a change made
    // by the automerge crate directly, signed with their own stamp.
    let tdoc = DocId::Territory(tid("t-north"));
    let bytes = rm.replica.doc_mut(&tdoc).unwrap().save();
    let mut raw = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let profile = match raw.get(ROOT, "profile").unwrap() {
        Some((_, obj)) => obj,
        None => panic!("no profile"),
    };
    let managers = match raw.get(&profile, "managers").unwrap() {
        Some((_, obj)) => obj,
        None => raw.put_object(&profile, "managers", ObjType::Map).unwrap(),
    };
    raw.put(&managers, "m9", true).unwrap();
    raw.commit_with(CommitOptions::default().with_message(rm.stamp().to_message()));
    let change = raw.get_last_local_change().unwrap();
    let before = server.store.total_changes().await.unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Cursor::default(),
        push: vec![DocChanges {
            doc: tdoc.clone(),
            changes: vec![ChangeBytes(change.raw_bytes().to_vec())],
        }],
    };
    let resp: SyncResponse = rm.post(&req).await.json().await.unwrap();
    assert_eq!(resp.rejected.len(), 1, "{resp:?}");
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("role"));
    assert_eq!(server.store.total_changes().await.unwrap(), before);

    // Head office may list m9 in the document (a list people see), and even then m9 reads nothing.
    let s = ho.stamp();
    ho.replica
        .doc_mut(&tdoc)
        .unwrap()
        .update_profile(&json!({"managers": {"m9": true}}), &s, Territory::validate)
        .unwrap();
    assert!(ho.sync().await.is_empty());
    let mut m9 = server.device("m9", &outsider);
    m9.sync().await;
    assert!(m9.replica.doc(&tdoc).is_none());
    assert!(m9.replica.doc(&DocId::Dealer(dealer())).is_none());
    let r = server
        .get(
            &outsider,
            &format!("/v1/docs/dealer:{}/automerge", dealer()),
        )
        .await;
    assert_eq!(r.status(), 404);
    let listed = server.get_json(&outsider, "/api/dealers").await;
    assert_eq!(listed["total"], 0);
    // Head office sees who can actually read t-north: m1, not m9.
    let territories = server.get_json(&ho.token, "/api/territories").await;
    let north = territories
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "t-north")
        .unwrap();
    let ids: Vec<&str> = north["managers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["m1"]);
    // m1's work is untouched and m1 keeps syncing.
    record(&mut m1, "v-ok");
    assert!(m1.sync().await.is_empty());
    server.stop().await;
}

async fn taking_a_territory_away_revokes_it_even_if_the_document_lists_the_user(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1) = north(&server).await;
    let doc = server
        .get_json(&ho.token, &format!("/api/dealers/{}", dealer()))
        .await;
    assert_eq!(doc["territory"], "t-north");

    // Only head office or an admin assigns territories.
    let r = assign(&server, &m1.token, "m1", &["t-north", "t-east"]).await;
    assert_eq!(r.status(), 403);
    let r = assign(&server, &ho.token, "nobody", &["t-north"]).await;
    assert_eq!(r.status(), 404);
    let r = assign(&server, &ho.token, "m1", &["not a territory"]).await;
    assert_eq!(r.status(), 400);

    // The document still lists m1 as t-north's manager; head office takes t-north away.
    let r = assign(&server, &ho.token, "m1", &["t-south"]).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["territories"], json!(["t-south"]));
    let me = server.get_json(&m1.token, "/v1/me").await;
    assert_eq!(me["territories"].as_array().unwrap().len(), 1);
    let r = server
        .get(
            &m1.token,
            &format!("/v1/docs/dealer:{}/automerge", dealer()),
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(server.get_json(&m1.token, "/api/dealers").await["total"], 0);
    let (resp, _) = m1.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert!(resp.changes.is_empty());
    assert!(m1.replica.doc(&DocId::Dealer(dealer())).is_none());
    // And a push to it is refused.
    let before = server.store.total_changes().await.unwrap();
    let mut copy = stored_dealer(&server).await;
    let s = m1.stamp();
    copy.insert(
        &"v-x".parse::<VisitId>().unwrap(),
        &Visit::new(m1.user.clone(), s.at),
        &s,
    )
    .unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Cursor::default(),
        push: vec![DocChanges {
            doc: DocId::Dealer(dealer()),
            changes: copy
                .changes_since(&[])
                .iter()
                .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
                .collect(),
        }],
    };
    let resp: SyncResponse = m1.post(&req).await.json().await.unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(server.store.total_changes().await.unwrap(), before);
    server.stop().await;
}

async fn revoked_mid_session_the_device_removes_the_territory_and_keeps_its_unsent_visit(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (ho, mut m1) = north(&server).await;
    // A south dealer too, which m1 keeps.
    let south: DealerId = "d-south".parse().unwrap();
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-south"), south.clone(), &profile("南店"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());

    // Offline, m1 records a visit at the north dealer; meanwhile t-north is taken away.
    let v = record(&mut m1, "v-offline");
    assert_eq!(
        assign(&server, &ho.token, "m1", &["t-south"])
            .await
            .status(),
        200
    );
    let (resp, report) = m1.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(
        report.rejected.is_empty(),
        "lost access is not a refusal to discard: {:?}",
        report.rejected
    );
    assert!(m1.replica.doc(&DocId::Dealer(dealer())).is_none());
    assert!(m1.replica.doc(&DocId::Territory(tid("t-north"))).is_none());
    assert!(m1.replica.doc(&DocId::Dealer(south.clone())).is_some());
    assert_eq!(m1.replica.pending(), 0);
    // Nothing is lost: the visit is listed as not delivered, exportable.
    let kept: Vec<_> = m1.replica.undelivered().cloned().collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].doc, DocId::Dealer(dealer()));
    assert_eq!(kept[0].name.as_deref(), Some("林記商行"));
    assert_eq!(kept[0].records.get("visits"), Some(&1));
    let exported = Document::load(&kept[0].bytes.0, Hub::actor()).unwrap();
    assert!(exported.dealer_state().unwrap().visits.contains_key(&v));
    assert!(!stored_visits(&server).await.contains(&v));
    assert!(m1.sync().await.is_empty());

    // Access is given back: the kept visit is delivered.
    assert_eq!(
        assign(&server, &ho.token, "m1", &["t-south", "t-north"])
            .await
            .status(),
        200
    );
    assert!(m1.sync().await.is_empty());
    assert_eq!(m1.replica.undelivered().count(), 0);
    assert!(stored_visits(&server).await.contains(&v));
    server.stop().await;
}

async fn an_open_live_channel_is_told_at_once_when_access_changes_through_the_server(
    backend: Backend,
) {
    let mut settings = Settings::default();
    // No ping within the test: whatever the channel hears comes from the change itself.
    settings.hardening.live_ping = Duration::from_secs(3600);
    let server = TestServer::start_with(backend, settings).await;
    let (ho, mut m1) = north(&server).await;
    let mut ws = live(&server.base, &m1.token).await;
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"{"type":"ready"}"#)
    );
    assert_eq!(
        assign(&server, &ho.token, "m1", &["t-south"])
            .await
            .status(),
        200
    );
    assert_eq!(
        next_text(&mut ws).await.as_deref(),
        Some(r#"{"type":"sync"}"#),
        "told to sync at once"
    );
    let (resp, _) = m1.round().await;
    assert_eq!(resp.revoked, vec![tid("t-north")]);
    // Another user's change of access says nothing to this channel; its device's revocation closes it.
    server.user("m5", "manager", &[]).await;
    assert_eq!(
        assign(&server, &ho.token, "m5", &["t-north"])
            .await
            .status(),
        200
    );
    let device = server.store.devices(Some("m1")).await.unwrap()[0]
        .id
        .clone();
    let r = server
        .http
        .delete(format!("{}/api/devices/{device}", server.base))
        .bearer_auth(&ho.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let closing = next_text(&mut ws).await.unwrap_or_default();
    assert!(closing.contains(r#""type":"closed""#), "{closing}");
    assert!(closes(&mut ws).await);
    server.stop().await;
}

async fn a_browser_logging_in_again_with_a_new_device_keeps_its_edits_accepted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ho = head_office_with_territories(&server, &[("t-north", &["m1"])]).await;
    server.user("m1", "manager", &["t-north"]).await;
    let (first, token) = issue(&server, "m1").await;
    let mut m1 = server.device("m1", &token);
    let before = m1.replica.actor().clone();
    m1.replica.set_device(&first).unwrap();
    assert_eq!(
        m1.replica.actor(),
        &before,
        "a fresh replica keeps its actor"
    );
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dealer(), &profile("林記商行"), &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());

    // Logged in again in the same browser with a newly issued device: the old one still works.
    let (second, token2) = issue(&server, "m1").await;
    m1.token = token2;
    m1.id = second.parse().unwrap();
    let before = m1.replica.actor().clone();
    assert!(m1.replica.set_device(&second).unwrap());
    assert_ne!(m1.replica.actor(), &before, "a fresh actor");
    let v1 = record(&mut m1, "v-new-device");
    assert!(
        m1.sync().await.is_empty(),
        "the new device's edits are accepted"
    );

    // Offline edits made under a device that is then revoked are delivered by the next one.
    let v2 = record(&mut m1, "v-before-relogin");
    let r = server
        .http
        .delete(format!("{}/api/devices/{second}", server.base))
        .bearer_auth(&ho.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (third, token3) = issue(&server, "m1").await;
    m1.token = token3;
    m1.id = third.parse().unwrap();
    assert!(m1.replica.set_device(&third).unwrap());
    let v3 = record(&mut m1, "v-third");
    assert!(m1.sync().await.is_empty());
    let stored = stored_visits(&server).await;
    for v in [v1, v2, v3] {
        assert!(stored.contains(&v), "{v} stored");
    }

    // Another user's device is never handed an actor, revoked or not.
    let (_, other) = {
        server.user("m2", "manager", &["t-north"]).await;
        issue(&server, "m2").await
    };
    let mut thief = server.device("m2", &other);
    thief.sync().await;
    let bytes = thief
        .replica
        .doc_mut(&DocId::Dealer(dealer()))
        .unwrap()
        .save();
    let old_actor = m1.replica.actors().nth(1).unwrap().clone();
    let mut raw = AutoCommit::load(&bytes).unwrap().with_actor(old_actor);
    let visits = match raw.get(ROOT, "visits").unwrap() {
        Some((_, obj)) => obj,
        None => panic!("no visits"),
    };
    raw.put(&visits, "squat", true).unwrap();
    raw.commit_with(CommitOptions::default().with_message(thief.stamp().to_message()));
    let change = raw.get_last_local_change().unwrap();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Cursor::default(),
        push: vec![DocChanges {
            doc: DocId::Dealer(dealer()),
            changes: vec![ChangeBytes(change.raw_bytes().to_vec())],
        }],
    };
    let resp: SyncResponse = thief.post(&req).await.json().await.unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::ForeignActor);
    server.stop().await;
}

async fn after_a_discard_the_next_edit_is_accepted_and_a_restore_resends_both_actors_work(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (_ho, mut m1) = north(&server).await;
    let db = server.stop_keeping_db().await;
    let backup = db.backup().await;
    let server = TestServer::start_on(db, Settings::default()).await;
    m1.base = server.base.clone();

    // A claim is stored, but the answer is lost.
    let c: ClaimId = "c1".parse().unwrap();
    let s = m1.stamp();
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        Money {
            minor: 100,
            currency: "TWD".parse().unwrap(),
        },
        m1.user.clone(),
        s.at,
    );
    m1.replica
        .dealer_mut(&dealer())
        .unwrap()
        .insert(&c, &claim, &s)
        .unwrap();
    let lost = m1.replica.sync_request();
    assert_eq!(m1.post(&lost).await.status(), 200);
    // m1 approves their own claim: refused; they discard the dealer's pending edits.
    let s = m1.stamp();
    m1.replica
        .dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c, ClaimStage::Approved, Value::Null, &s)
        .unwrap();
    let refused = m1.sync().await;
    assert_eq!(refused.len(), 1);
    m1.replica
        .discard_pending(&DocId::Dealer(dealer()))
        .unwrap();
    // The next edit would have reused the stored claim's sequence number under the old actor.
    let v = record(&mut m1, "v-after-discard");
    let rejected = m1.sync().await;
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(stored_visits(&server).await.contains(&v));
    let st = m1
        .replica
        .dealer(&dealer())
        .unwrap()
        .dealer_state()
        .unwrap();
    assert!(st.claims.contains_key(&c), "the stored claim came back");

    // The database is restored from before the claim: both actors' work is sent again.
    server.stop().await;
    let restored = TestServer::start_on(backup, Settings::default()).await;
    restored.store.new_epoch().await.unwrap();
    m1.base = restored.base.clone();
    let rejected = m1.sync().await;
    assert!(rejected.is_empty(), "{rejected:?}");
    let doc = stored_dealer(&restored).await;
    let st = doc.dealer_state().unwrap();
    assert!(st.visits.contains_key(&v));
    assert!(st.claims.contains_key(&c));
    restored.stop().await;
}
