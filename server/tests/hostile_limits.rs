//! Hostile pushes against the real server (SQLite and PostgreSQL): changes built with the `automerge` crate directly, as an attacker holding a valid token would, that break a resource limit or an actor/sequence rule. Each is refused with its code, stores nothing, leaves the server serving, and an honest device's next edit of the same document is accepted.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ObjId, ObjType, ROOT, ReadDoc};
use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::{
    ChangeBytes, Cursor, DocChanges, Limits, PROTOCOL_VERSION, RejectCode, SyncRequest,
    SyncResponse,
};
use fieldsync_server::Settings;
use fieldsync_server::limiter::GateSettings;
use sha2::{Digest, Sha256};
use sqlx::Executor;

on_both_backends!(
    deep_nesting_is_refused_before_it_is_built,
    a_huge_op_count_is_refused,
    a_compressed_change_chunk_is_refused,
    too_many_changes_or_documents_in_one_push_are_refused,
    a_change_under_another_devices_actor_is_refused,
    new_changes_under_the_genesis_or_migration_actors_are_refused,
    a_duplicate_seq_is_refused,
    a_seq_gap_is_refused,
    a_start_op_trick_is_refused,
    an_actors_change_that_forgets_its_previous_one_is_refused,
    pushes_over_the_bound_are_shed_with_retry_after_and_succeed_on_retry,
    a_change_over_the_size_limit_is_refused,
    too_many_ops_in_one_push_are_refused,
    a_pred_bomb_is_refused_before_it_is_expanded,
    an_oversized_message_field_is_refused,
    trailing_bytes_after_a_change_are_refused,
    a_change_with_missing_dependencies_is_refused,
    a_device_cannot_name_a_colleagues_replica_as_its_own,
    a_stored_document_that_does_not_load_refuses_only_its_own_push,
    a_document_that_keeps_losing_races_refuses_only_its_own_push,
);

/// Head office, an honest manager `a` (m1) and an attacker `x` (m2, a manager of
/// the same territory with a valid token), both holding dealer d-lin.
struct Scene {
    server: TestServer,
    a: Device,
    x: Device,
    d: DealerId,
}

impl Scene {
    async fn new(backend: Backend) -> Scene {
        Self::with(backend, Settings::default()).await
    }

    async fn with(backend: Backend, settings: Settings) -> Scene {
        let server = TestServer::start_with(backend, settings).await;
        head_office_with_territories(&server, &[("t-north", &["m1", "m2"])]).await;
        let ta = server.user("m1", "manager", &["t-north"]).await;
        let tx = server.user("m2", "manager", &["t-north"]).await;
        let (mut a, mut x) = (server.device("m1", &ta), server.device("m2", &tx));
        a.sync().await;
        let d: DealerId = "d-lin".parse().unwrap();
        let s = a.stamp();
        a.replica
            .create_dealer(&tid("t-north"), d.clone(), &profile("林記商行"), &s)
            .unwrap();
        assert!(a.sync().await.is_empty());
        assert!(x.sync().await.is_empty());
        Scene { server, a, x, d }
    }

    fn id(&self) -> DocId {
        DocId::Dealer(self.d.clone())
    }

    /// The attacker's raw Automerge copy of d-lin, writing under `actor`.
    fn raw(&mut self, actor: ActorId) -> AutoCommit {
        let id = self.id();
        let bytes = self.x.replica.doc_mut(&id).unwrap().save();
        AutoCommit::load(&bytes).unwrap().with_actor(actor)
    }

    /// A commit signed with the attacker's own stamp (the stamp check passes).
    fn commit(&mut self, doc: &mut AutoCommit) -> Change {
        let message = self.x.stamp().to_message();
        doc.commit_with(CommitOptions::default().with_message(message))
            .expect("a change");
        doc.get_last_local_change().expect("the change")
    }

    /// Pushes raw change bytes as the attacker; returns the server's answer.
    async fn push_as(&self, who: &Device, changes: Vec<Vec<u8>>) -> SyncResponse {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            snapshots: false,
            replica: String::new(),
            cursor: Cursor::default(),
            push: vec![DocChanges {
                doc: self.id(),
                changes: changes.into_iter().map(ChangeBytes).collect(),
            }],
        };
        let r = who.post(&req).await;
        assert_eq!(r.status(), 200, "sync answered {:?}", r.text().await);
        r.json().await.expect("sync response")
    }

    /// Asserts a push is refused with `code`, stores nothing, the server keeps
    /// serving and an honest device's next edit of d-lin is accepted and reaches
    /// the attacker's device too.
    async fn refused(&mut self, changes: Vec<Vec<u8>>, code: RejectCode) {
        let doc = self.id().to_string();
        let before = self.server.store.stored_changes(&doc).await.unwrap();
        let resp = self.push_as(&self.x, changes).await;
        assert!(resp.accepted.is_empty(), "accepted: {:?}", resp.accepted);
        assert_eq!(resp.rejected.len(), 1, "{resp:?}");
        assert_eq!(resp.rejected[0].code, code, "{}", resp.rejected[0].message);
        assert_eq!(
            self.server.store.stored_changes(&doc).await.unwrap(),
            before,
            "nothing of a refused push is stored"
        );
        self.honest_edit_is_accepted().await;
    }

    async fn honest_edit_is_accepted(&mut self) {
        let health = self
            .server
            .http
            .get(format!("{}/health", self.server.base))
            .send()
            .await
            .expect("the server still answers");
        assert_eq!(health.status(), 200);
        let d = self.d.clone();
        let v: VisitId = VisitId::random().unwrap();
        let s = self.a.stamp();
        let mut visit = Visit::new(self.a.user.clone(), s.at);
        visit.summary = "honest visit".into();
        self.a
            .replica
            .dealer_mut(&d)
            .unwrap()
            .insert(&v, &visit, &s)
            .unwrap();
        assert!(
            self.a.sync().await.is_empty(),
            "the honest edit is accepted"
        );
        self.x.sync().await;
        let seen = self.x.replica.dealer(&d).unwrap().dealer_state().unwrap();
        assert!(seen.visits.contains_key(&v));
    }
}

fn random_actor() -> ActorId {
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).unwrap();
    ActorId::from(raw.as_slice())
}

fn visits(doc: &AutoCommit) -> automerge::ObjId {
    doc.get(ROOT, "visits").unwrap().unwrap().1
}

async fn deep_nesting_is_refused_before_it_is_built(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    let mut obj = doc
        .put_object(visits(&doc), "v-deep", ObjType::Map)
        .unwrap();
    for _ in 0..1_000 {
        obj = doc.put_object(&obj, "x", ObjType::Map).unwrap();
    }
    let c = s.commit(&mut doc);
    s.refused(vec![c.raw_bytes().to_vec()], RejectCode::TooDeep)
        .await;
    // Spread over several changes of one push, the chain is measured as a whole.
    let mut doc = s.raw(random_actor());
    let mut obj = visits(&doc);
    let mut changes = Vec::new();
    for _ in 0..10 {
        for _ in 0..3 {
            obj = doc.put_object(&obj, "y", ObjType::Map).unwrap();
        }
        changes.push(s.commit(&mut doc).raw_bytes().to_vec());
    }
    s.refused(changes, RejectCode::TooDeep).await;
}

async fn a_huge_op_count_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    let v = doc
        .put_object(visits(&doc), "v-huge", ObjType::Map)
        .unwrap();
    let max = Limits::default().max_ops_per_change;
    for i in 0..=max {
        doc.put(&v, format!("k{i}"), i).unwrap();
    }
    let c = s.commit(&mut doc);
    assert!(c.len() as u64 > max);
    s.refused(vec![c.raw_bytes().to_vec()], RejectCode::TooLarge)
        .await;
}

/// Automerge's compressed change chunk: the same checksum, chunk type 2, the
/// change's data deflated.
fn compressed(raw: &[u8]) -> Vec<u8> {
    let mut at = 9;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let b = raw[at];
        at += 1;
        len |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let data = &raw[at..at + len];
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    let deflated = z.finish().unwrap();
    let mut out = raw[..8].to_vec();
    out.push(2);
    let mut n = deflated.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend(deflated);
    out
}

async fn a_compressed_change_chunk_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    let v = doc.put_object(visits(&doc), "v-zip", ObjType::Map).unwrap();
    doc.put(&v, "summary", "a".repeat(200_000)).unwrap();
    let c = s.commit(&mut doc);
    let bomb = compressed(c.raw_bytes());
    assert!(bomb.len() < c.raw_bytes().len() / 100, "it compresses well");
    // Automerge itself would take it (and inflate it without a bound).
    assert_eq!(Change::from_bytes(bomb.clone()).unwrap().hash(), c.hash());
    s.refused(vec![bomb], RejectCode::CompressedChange).await;
}

async fn too_many_changes_or_documents_in_one_push_are_refused(backend: Backend) {
    let settings = Settings {
        max_push_docs: 2,
        limits: Limits {
            max_changes: 3,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let mut s = Scene::with(backend, settings).await;
    let mut doc = s.raw(random_actor());
    let changes: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            doc.put(visits(&doc), format!("k{i}"), i).unwrap();
            s.commit(&mut doc).raw_bytes().to_vec()
        })
        .collect();
    s.refused(changes, RejectCode::TooLarge).await;
    // Three documents in one request: the whole request is refused.
    let push = ["dealer:d-a", "dealer:d-b", "dealer:d-c"]
        .into_iter()
        .map(|d| DocChanges {
            doc: d.parse().unwrap(),
            changes: vec![],
        })
        .collect();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: Cursor::default(),
        push,
    };
    let before = s.server.store.total_changes().await.unwrap();
    let r = s.x.post(&req).await;
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too_large");
    assert_eq!(s.server.store.total_changes().await.unwrap(), before);
    s.honest_edit_is_accepted().await;
}

async fn a_change_under_another_devices_actor_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    // The victim's actor, with its next seq: would block every later push of `a`.
    let victim = s.a.replica.actor().clone();
    let mut doc = s.raw(victim.clone());
    doc.put(visits(&doc), "squat", true).unwrap();
    let c = s.commit(&mut doc);
    s.refused(vec![c.raw_bytes().to_vec()], RejectCode::ForeignActor)
        .await;
    // The same user's other device may not use it either: actors are per device.
    let token = s.server.token("m1").await;
    let mut twin = s.server.device("m1", &token);
    twin.sync().await;
    let bytes = twin.replica.doc_mut(&s.id()).unwrap().save();
    let mut doc = AutoCommit::load(&bytes).unwrap().with_actor(victim);
    doc.put(visits(&doc), "squat", true).unwrap();
    let message = twin.stamp().to_message();
    doc.commit_with(CommitOptions::default().with_message(message));
    let c = doc.get_last_local_change().unwrap();
    let resp = s.push_as(&twin, vec![c.raw_bytes().to_vec()]).await;
    assert_eq!(resp.rejected[0].code, RejectCode::ForeignActor);
    s.honest_edit_is_accepted().await;
    // Re-sending a change the server already holds is harmless, whoever's actor it is.
    let id = s.id();
    let theirs: Vec<Vec<u8>> =
        s.x.replica
            .doc_mut(&id)
            .unwrap()
            .changes_since(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
    let resp = s.push_as(&s.x, theirs).await;
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
}

async fn new_changes_under_the_genesis_or_migration_actors_are_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    for actor in [
        "fieldsync-genesis/dealer:d-lin",
        "fieldsync-migration/2/dealer:d-lin",
    ] {
        let mut doc = s.raw(ActorId::from(actor.as_bytes()));
        doc.put(visits(&doc), "pre-empted", true).unwrap();
        let c = s.commit(&mut doc);
        s.refused(vec![c.raw_bytes().to_vec()], RejectCode::ReservedActor)
            .await;
    }
}

/// Two copies of the dealer written by one new actor, and the first's change (the
/// profile's tier set to 1), which the copies do not share.
fn one_actor_twice(s: &mut Scene) -> (Change, AutoCommit, ObjId) {
    let mine = random_actor();
    let mut first = s.raw(mine.clone());
    let second = s.raw(mine);
    let profile = first.get(ROOT, "profile").unwrap().unwrap().1;
    first.put(&profile, "tier", 1).unwrap();
    (s.commit(&mut first), second, profile)
}

async fn a_duplicate_seq_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let (c1, mut second, profile) = one_actor_twice(&mut s);
    let resp = s.push_as(&s.x, vec![c1.raw_bytes().to_vec()]).await;
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    // The same actor and seq with other content.
    second.put(&profile, "tier", 3).unwrap();
    let c2 = s.commit(&mut second);
    assert_eq!((c1.seq(), c2.seq()), (1, 1));
    s.refused(vec![c2.raw_bytes().to_vec()], RejectCode::BadSequence)
        .await;
}

/// An honest one-op change re-encoded with other header fields.
fn tampered(c: &Change, edit: impl FnOnce(&mut automerge::ExpandedChange)) -> Vec<u8> {
    let mut e = c.decode();
    e.hash = None;
    edit(&mut e);
    Change::from(e).raw_bytes().to_vec()
}

async fn a_seq_gap_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    doc.put(visits(&doc), "gap", true).unwrap();
    let c = s.commit(&mut doc);
    let gap = tampered(&c, |e| e.seq = 5);
    s.refused(vec![gap], RejectCode::BadSequence).await;
}

async fn a_start_op_trick_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    for start in [u64::from(u32::MAX) - 1, 1 << 31, 3] {
        let mut doc = s.raw(random_actor());
        doc.put(visits(&doc), "counter", true).unwrap();
        let c = s.commit(&mut doc);
        let trick = tampered(&c, |e| e.start_op = start.try_into().unwrap());
        s.refused(vec![trick], RejectCode::BadSequence).await;
    }
}

/// An actor's second change built beside its first (it does not have the first in its
/// history) would reuse the first's op ids: refused, whether pushed with the first or after
/// it, and nothing of it is stored.
async fn an_actors_change_that_forgets_its_previous_one_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let (c1, mut beside, profile) = one_actor_twice(&mut s);
    beside.put(&profile, "region", "north").unwrap();
    let c2 = s.commit(&mut beside);
    assert_eq!(c1.start_op(), c2.start_op(), "the same op ids");
    let forgetful = tampered(&c2, |e| e.seq = 2);
    // Together with the first: the whole push is refused.
    s.refused(
        vec![c1.raw_bytes().to_vec(), forgetful.clone()],
        RejectCode::BadSequence,
    )
    .await;
    // After the first was stored.
    let resp = s.push_as(&s.x, vec![c1.raw_bytes().to_vec()]).await;
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    s.refused(vec![forgetful], RejectCode::BadSequence).await;
}

async fn pushes_over_the_bound_are_shed_with_retry_after_and_succeed_on_retry(backend: Backend) {
    let settings = Settings {
        push_gate: GateSettings {
            concurrent: 2,
            queue: 8,
            queue_bytes: 64 << 20,
            wait: Duration::from_secs(30),
        },
        ..Settings::default()
    };
    let mut s = Scene::with(backend, settings).await;
    // Every permit busy and the queue full: a push is shed at once, told when to come back.
    let gate = s.server.state.pushes.clone();
    let held = [gate.enter(0).await.unwrap(), gate.enter(0).await.unwrap()];
    let queued: Vec<_> = (0..8)
        .map(|_| {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter(0).await.is_ok() })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while gate.waiting() < 8 {
        assert!(Instant::now() < deadline, "the queue never filled");
        tokio::task::yield_now().await;
    }
    let req = s.a.replica.sync_request();
    let shed_at = Instant::now();
    let r = s.a.post(&req).await;
    assert_eq!(r.status(), 503);
    assert!(
        shed_at.elapsed() < Duration::from_secs(20),
        "shed without waiting"
    );
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=300).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "overloaded");
    // Other routes are not gated.
    assert_eq!(s.server.get(&s.a.token, "/v1/me").await.status(), 200);
    drop(held);
    for q in queued {
        assert!(q.await.unwrap(), "every queued push got its turn");
    }

    // Eight managers push at once over two permits: they wait their turn, none is shed.
    let mut devices = Vec::new();
    for i in 0..8 {
        let user = format!("p{i}");
        let token = s.server.user(&user, "manager", &["t-north"]).await;
        let mut dev = s.server.device(&user, &token);
        dev.sync().await;
        let stamp = dev.stamp();
        let mut visit = Visit::new(dev.user.clone(), stamp.at);
        visit.summary = format!("visit by {user}");
        dev.replica
            .dealer_mut(&s.d)
            .unwrap()
            .insert(&VisitId::random().unwrap(), &visit, &stamp)
            .unwrap();
        devices.push(dev);
    }
    let tasks: Vec<_> = devices
        .into_iter()
        .map(|mut dev| {
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut shed = 0;
                loop {
                    let req = dev.replica.sync_request();
                    let r = dev.post(&req).await;
                    match r.status().as_u16() {
                        200 => {
                            let resp: SyncResponse = r.json().await.unwrap();
                            let report = dev.replica.apply_response(&resp).unwrap();
                            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
                            if dev.replica.pending() == 0 {
                                return shed;
                            }
                        }
                        503 => shed += 1,
                        other => panic!("push answered {other}: {:?}", r.text().await),
                    }
                    assert!(Instant::now() < deadline, "never got through");
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        let shed = t.await.expect("no push task failed");
        assert_eq!(shed, 0, "a push within the queue's bounds waits its turn");
    }
    assert_eq!(
        s.server.state.pushes.available(),
        2,
        "every permit returned"
    );
    let doc = s.id().to_string();
    // Genesis + creation + the eight visits.
    assert!(s.server.store.stored_changes(&doc).await.unwrap() >= 10);
    s.honest_edit_is_accepted().await;
    let state = s.a.replica.dealer(&s.d).unwrap().dealer_state().unwrap();
    assert_eq!(
        state
            .visits
            .values()
            .filter(|v| v.summary.starts_with("visit by p"))
            .count(),
        8
    );
}

async fn a_change_over_the_size_limit_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    let v = doc.put_object(visits(&doc), "v-big", ObjType::Map).unwrap();
    let max = Limits::default().max_change_bytes;
    doc.put(&v, "summary", "a".repeat(max + 1)).unwrap();
    let c = s.commit(&mut doc);
    assert!(c.raw_bytes().len() > max);
    s.refused(vec![c.raw_bytes().to_vec()], RejectCode::TooLarge)
        .await;
}

async fn too_many_ops_in_one_push_are_refused(backend: Backend) {
    let settings = Settings {
        limits: Limits {
            max_ops_per_push: 40,
            ..Limits::default()
        },
        ..Settings::default()
    };
    let mut s = Scene::with(backend, settings).await;
    let mut doc = s.raw(random_actor());
    let profile = doc.get(ROOT, "profile").unwrap().unwrap().1;
    // Three changes of 20 ops each: every one is small, together they are not.
    let changes: Vec<Vec<u8>> = (0..3)
        .map(|_| {
            for i in 0..20 {
                doc.put(&profile, "address", format!("No. {i}")).unwrap();
            }
            s.commit(&mut doc).raw_bytes().to_vec()
        })
        .collect();
    s.refused(changes, RejectCode::TooLarge).await;
}

fn uleb(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn read_uleb(b: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*at];
        *at += 1;
        n |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return n;
        }
    }
}

fn skip(b: &[u8], at: &mut usize) {
    let n = read_uleb(b, at);
    *at += usize::try_from(n).unwrap();
}

/// A change chunk taken apart as an attacker re-encodes it: the data before its
/// columns, the columns (spec, bytes), and whatever follows them.
struct Parts {
    head: Vec<u8>,
    columns: Vec<(u64, Vec<u8>)>,
    tail: Vec<u8>,
}

fn split(raw: &[u8]) -> Parts {
    let mut at = 9;
    let len = usize::try_from(read_uleb(raw, &mut at)).unwrap();
    let data = &raw[at..at + len];
    let mut i = 0;
    let deps = read_uleb(data, &mut i);
    i += 32 * usize::try_from(deps).unwrap();
    skip(data, &mut i); // actor
    read_uleb(data, &mut i); // seq
    read_uleb(data, &mut i); // start op
    read_uleb(data, &mut i); // time (a signed LEB; its length is what matters)
    skip(data, &mut i); // message
    for _ in 0..read_uleb(data, &mut i) {
        skip(data, &mut i); // other actors
    }
    let head = data[..i].to_vec();
    let specs: Vec<(u64, u64)> = (0..read_uleb(data, &mut i))
        .map(|_| (read_uleb(data, &mut i), read_uleb(data, &mut i)))
        .collect();
    let columns = specs
        .into_iter()
        .map(|(spec, len)| {
            let len = usize::try_from(len).unwrap();
            let col = data[i..i + len].to_vec();
            i += len;
            (spec, col)
        })
        .collect();
    Parts {
        head,
        columns,
        tail: data[i..].to_vec(),
    }
}

/// The chunk again, with a checksum that matches its (new) contents.
fn join(p: &Parts) -> Vec<u8> {
    let mut data = p.head.clone();
    uleb(p.columns.len() as u64, &mut data);
    for (spec, col) in &p.columns {
        uleb(*spec, &mut data);
        uleb(col.len() as u64, &mut data);
    }
    for (_, col) in &p.columns {
        data.extend(col);
    }
    data.extend(&p.tail);
    let mut body = vec![1u8];
    uleb(data.len() as u64, &mut body);
    body.extend(data);
    let hash = Sha256::digest(&body);
    let mut out = vec![0x85, 0x6f, 0x4a, 0x83];
    out.extend(&hash[..4]);
    out.extend(body);
    out
}

/// An honest change that overwrites a value (so it has a predecessor column).
fn overwrite(s: &mut Scene) -> Change {
    let mut doc = s.raw(random_actor());
    let profile = doc.get(ROOT, "profile").unwrap().unwrap().1;
    doc.put(&profile, "tier", 3).unwrap();
    s.commit(&mut doc)
}

async fn a_pred_bomb_is_refused_before_it_is_expanded(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let c = overwrite(&mut s);
    let mut parts = split(c.raw_bytes());
    assert_eq!(join(&parts), c.raw_bytes(), "the re-encoding is faithful");
    // The predecessor-count column: one run saying the op overwrites 2^40 values
    // (three bytes that Automerge would expand into a terabyte of op ids).
    let pred = parts
        .columns
        .iter_mut()
        .find(|(spec, _)| *spec == 7 << 4)
        .expect("a predecessor column");
    let mut bomb = vec![1u8];
    uleb(1 << 40, &mut bomb);
    pred.1 = bomb;
    s.refused(vec![join(&parts)], RejectCode::TooLarge).await;
}

async fn an_oversized_message_field_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    doc.put(visits(&doc), "loud", true).unwrap();
    // A stamp with 20 KB of padding: messages are at most 16 KiB.
    let stamp = s.x.stamp().to_message();
    let message = format!("{stamp}{}", " ".repeat(20_000));
    doc.commit_with(CommitOptions::default().with_message(message));
    let c = doc.get_last_local_change().unwrap();
    s.refused(vec![c.raw_bytes().to_vec()], RejectCode::TooLarge)
        .await;
}

async fn trailing_bytes_after_a_change_are_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let c = overwrite(&mut s);
    // After the chunk …
    let mut after = c.raw_bytes().to_vec();
    after.extend(b"\x00extra");
    s.refused(vec![after], RejectCode::Malformed).await;
    // … and inside it, after the columns (an author footer), with a valid checksum.
    let c = overwrite(&mut s);
    let mut parts = split(c.raw_bytes());
    parts.tail = b"footer".to_vec();
    s.refused(vec![join(&parts)], RejectCode::Malformed).await;
}

async fn a_change_with_missing_dependencies_is_refused(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let mut doc = s.raw(random_actor());
    doc.put(visits(&doc), "first", true).unwrap();
    let first = s.commit(&mut doc);
    doc.set_actor(random_actor());
    doc.put(visits(&doc), "second", true).unwrap();
    let second = s.commit(&mut doc);
    assert!(second.deps().contains(&first.hash()));
    // Only the second is sent: the server lacks what it builds on.
    s.refused(
        vec![second.raw_bytes().to_vec()],
        RejectCode::MissingDependencies,
    )
    .await;
}

/// The attacker names the honest device's replica in its request: the feed
/// would record the attacker's changes as the honest replica's own, and never
/// send them to it.
async fn a_device_cannot_name_a_colleagues_replica_as_its_own(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let d = s.d.clone();
    let v = VisitId::random().unwrap();
    let st = s.x.stamp();
    let visit = Visit::new(s.x.user.clone(), st.at);
    s.x.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&v, &visit, &st)
        .unwrap();
    let mut req = s.x.replica.sync_request();
    req.replica = s.a.replica.actor().to_hex_string();
    let r = s.x.post(&req).await;
    assert_eq!(r.status(), 200);
    let resp: SyncResponse = r.json().await.unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    assert_eq!(resp.accepted.len(), 1);
    s.x.replica.apply_response(&resp).unwrap();
    // The honest device still receives the change.
    s.a.sync().await;
    let seen = s.a.replica.dealer(&d).unwrap().dealer_state().unwrap();
    assert!(
        seen.visits.contains_key(&v),
        "the colleague's visit arrived"
    );
    // Its own replica id still keeps its own changes out of its pulls.
    let mine = VisitId::random().unwrap();
    let st = s.a.stamp();
    let visit = Visit::new(s.a.user.clone(), st.at);
    s.a.replica
        .dealer_mut(&d)
        .unwrap()
        .insert(&mine, &visit, &st)
        .unwrap();
    let (resp, _) = s.a.round().await;
    assert_eq!(resp.accepted.len(), 1);
    assert!(
        resp.changes.is_empty(),
        "sent its own change back: {resp:?}"
    );
}

/// Head office's second dealer d-two, and one visit pending on `a` in each of
/// d-lin and d-two (one request pushes both).
async fn two_pending_documents(s: &mut Scene) -> DealerId {
    let two: DealerId = "d-two".parse().unwrap();
    let st = s.a.stamp();
    s.a.replica
        .create_dealer(&tid("t-north"), two.clone(), &profile("二號店"), &st)
        .unwrap();
    assert!(s.a.sync().await.is_empty());
    for d in [s.d.clone(), two.clone()] {
        let st = s.a.stamp();
        let visit = Visit::new(s.a.user.clone(), st.at);
        s.a.replica
            .dealer_mut(&d)
            .unwrap()
            .insert(&VisitId::random().unwrap(), &visit, &st)
            .unwrap();
    }
    two
}

/// Pushes both pending documents in one request: `d-lin` is refused with
/// `code`, `d-two` is accepted, and the response is an ordinary 200.
async fn only_d_lin_is_refused(s: &mut Scene, two: &DealerId, code: RejectCode) {
    let req = s.a.replica.sync_request();
    assert_eq!(req.push.len(), 2);
    let r = s.a.post(&req).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let resp: SyncResponse = r.json().await.unwrap();
    let report = s.a.replica.apply_response(&resp).unwrap();
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
    assert_eq!(resp.rejected[0].doc, s.id());
    assert_eq!(resp.rejected[0].code, code, "{}", resp.rejected[0].message);
    assert_eq!(resp.accepted.len(), 1);
    assert_eq!(resp.accepted[0].doc, DocId::Dealer(two.clone()));
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(s.a.replica.pending(), 1, "d-lin's visit is still waiting");
}

async fn a_stored_document_that_does_not_load_refuses_only_its_own_push(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let two = two_pending_documents(&mut s).await;
    let id = s.id().to_string();
    let good = s
        .server
        .store
        .load_doc(&id)
        .await
        .unwrap()
        .unwrap()
        .snapshot;
    let set = |bytes: Vec<u8>| {
        sqlx::query("UPDATE documents SET snapshot = $1 WHERE id = $2")
            .bind(bytes)
            .bind(id.clone())
    };
    set(b"not an automerge document".to_vec())
        .execute(s.server.store.pool())
        .await
        .unwrap();
    only_d_lin_is_refused(&mut s, &two, RejectCode::Damaged).await;
    // Repaired (say, from a backup), the waiting visit goes through.
    set(good).execute(s.server.store.pool()).await.unwrap();
    assert!(s.a.sync().await.is_empty());
    assert_eq!(s.a.replica.pending(), 0);
    s.honest_edit_is_accepted().await;
}

async fn a_document_that_keeps_losing_races_refuses_only_its_own_push(backend: Backend) {
    let mut s = Scene::new(backend).await;
    let two = two_pending_documents(&mut s).await;
    // Every write of d-lin's row does nothing, as if another writer always got
    // there first (its version moved on): every attempt loses the race.
    let pool = s.server.store.pool().clone();
    let (install, remove): (&[&str], &[&str]) = match backend {
        Backend::Sqlite => (
            &["CREATE TRIGGER always_busy BEFORE UPDATE ON documents \
               WHEN OLD.id = 'dealer:d-lin' BEGIN SELECT RAISE(IGNORE); END"],
            &["DROP TRIGGER always_busy"],
        ),
        Backend::Postgres => (
            &[
                "CREATE FUNCTION always_busy() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ \
                 LANGUAGE plpgsql",
                "CREATE TRIGGER always_busy BEFORE UPDATE ON documents FOR EACH ROW \
                 WHEN (OLD.id = 'dealer:d-lin') EXECUTE FUNCTION always_busy()",
            ],
            &["DROP TRIGGER always_busy ON documents"],
        ),
    };
    for sql in install {
        pool.execute(sqlx::AssertSqlSafe(*sql)).await.unwrap();
    }
    only_d_lin_is_refused(&mut s, &two, RejectCode::Busy).await;
    for sql in remove {
        pool.execute(sqlx::AssertSqlSafe(*sql)).await.unwrap();
    }
    assert!(s.a.sync().await.is_empty());
    assert_eq!(s.a.replica.pending(), 0);
    s.honest_edit_is_accepted().await;
}
