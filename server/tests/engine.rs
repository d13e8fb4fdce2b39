//! The sync engine without HTTP, on SQLite and PostgreSQL: phones push and pull through `engine::sync` directly (no server listening), and see what they would see over `POST /v1/sync`.

mod common;

use common::*;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, DeviceId, UserId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::stamp::Stamp;
use fieldsync_core::sync::{RejectCode, Rejection, Replica, SyncRequest, SyncResponse};
use fieldsync_server::{AppState, Settings, Store, admin, auth, engine};

on_both_backends!(
    a_visit_recorded_on_one_phone_reaches_another,
    a_retried_push_is_acknowledged_again_and_stored_once,
    a_push_into_a_territory_no_longer_held_is_refused_and_stores_nothing,
);

/// A server's state over a database of its own, with no HTTP in front of it.
struct Engine {
    state: AppState,
    _db: TestDb,
}

impl Engine {
    async fn start(backend: Backend) -> Engine {
        let db = TestDb::new(backend).await;
        let store = Store::open(&db.url).await.expect("open store");
        Engine {
            state: AppState::new(store, Settings::default()),
            _db: db,
        }
    }

    fn store(&self) -> &Store {
        &self.state.store
    }

    async fn user(&self, id: &str, role: &str, territories: &[&str]) {
        let ts: Vec<String> = territories.iter().map(|t| (*t).to_owned()).collect();
        admin::add_user(self.store(), id, id, role, &ts)
            .await
            .expect("add user");
    }

    async fn stop(self) {
        self.state.store.close().await;
    }
}

/// A phone of `user`: a core replica that syncs through the engine.
struct Phone {
    replica: Replica,
    user: UserId,
    device: String,
    clock: i64,
}

impl Phone {
    async fn of(engine: &Engine, user: &str) -> Phone {
        let issued = admin::issue_device(engine.store(), user, "engine test", None)
            .await
            .expect("issue a device");
        Phone {
            replica: Replica::new().expect("replica"),
            user: user.parse().expect("user id"),
            device: issued.device,
            clock: 0,
        }
    }

    /// A stamp by this phone, one second later than the last.
    fn stamp(&mut self) -> Stamp {
        self.clock += 1_000;
        let device: DeviceId = self.device.parse().expect("device id");
        Stamp::new(
            self.user.clone(),
            device,
            Timestamp(1_767_225_600_000 + self.clock),
        )
    }

    /// Sends `req` as this phone's user is now (their territories as stored).
    async fn send(&self, engine: &Engine, req: &SyncRequest) -> SyncResponse {
        let row = engine
            .store()
            .user(self.user.as_str())
            .await
            .expect("read user")
            .expect("the user exists");
        let principal = auth::principal_of(&engine.state, &row)
            .await
            .expect("principal");
        engine::sync(&engine.state, &principal, &self.device, req)
            .await
            .expect("the engine answers")
    }

    /// Syncs until nothing more is waiting; returns every refusal.
    async fn sync(&mut self, engine: &Engine) -> Vec<Rejection> {
        let mut rejected = Vec::new();
        for _ in 0..100 {
            let req = self.replica.sync_request();
            let resp = self.send(engine, &req).await;
            let report = self.replica.apply_response(&resp).expect("apply");
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            rejected.extend(report.rejected);
            if !report.more {
                return rejected;
            }
        }
        panic!("sync never finished");
    }

    /// Records a visit at dealer `d`, offline.
    fn visit(&mut self, d: &DealerId, id: &str, summary: &str) -> VisitId {
        let v: VisitId = id.parse().expect("visit id");
        let s = self.stamp();
        let mut visit = Visit::new(self.user.clone(), s.at);
        visit.summary = summary.to_owned();
        self.replica
            .dealer_mut(d)
            .expect("dealer")
            .insert(&v, &visit, &s)
            .expect("record the visit");
        v
    }

    /// The visits this phone shows at dealer `d`: (id, summary).
    fn visits(&self, d: &DealerId) -> Vec<(VisitId, String)> {
        match self.replica.dealer(d) {
            Ok(doc) => doc
                .dealer_state()
                .expect("dealer state")
                .visits
                .into_iter()
                .map(|(id, v)| (id, v.summary))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// Head office creates t-north (m1, m2) and t-south (m1); m1 has a phone, m2 too, both
/// synced, and m1 has added dealer d-lin in t-north, which m2 has pulled.
async fn scene(engine: &Engine) -> (Phone, Phone, DealerId) {
    engine.user("ho", "head_office", &[]).await;
    engine.user("m1", "manager", &["t-north", "t-south"]).await;
    engine.user("m2", "manager", &["t-north"]).await;
    let mut ho = Phone::of(engine, "ho").await;
    for (id, managers) in [("t-north", &["m1", "m2"][..]), ("t-south", &["m1"][..])] {
        let s = ho.stamp();
        ho.replica
            .create_territory(tid(id), &territory(id, managers), &s)
            .expect("territory");
    }
    assert!(ho.sync(engine).await.is_empty());
    let (mut a, mut b) = (Phone::of(engine, "m1").await, Phone::of(engine, "m2").await);
    assert!(a.sync(engine).await.is_empty());
    assert!(b.sync(engine).await.is_empty());
    let d: DealerId = "d-lin".parse().expect("dealer id");
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), d.clone(), &profile("林記商行"), &s)
        .expect("dealer");
    assert!(a.sync(engine).await.is_empty());
    assert!(b.sync(engine).await.is_empty());
    assert!(b.replica.dealer(&d).is_ok(), "m2 pulled the new dealer");
    (a, b, d)
}

/// m1 records a visit offline and syncs; m2's phone then shows it, and m1 has nothing
/// pending. m1's own visit does not come back to m1.
async fn a_visit_recorded_on_one_phone_reaches_another(backend: Backend) {
    let engine = Engine::start(backend).await;
    let (mut a, mut b, d) = scene(&engine).await;
    let v = a.visit(&d, "v-1", "restocked the shelves");
    let req = a.replica.sync_request();
    let resp = a.send(&engine, &req).await;
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    assert_eq!(resp.accepted.len(), 1);
    assert!(
        resp.changes.is_empty(),
        "m1 pulls none of its own changes back"
    );
    a.replica.apply_response(&resp).expect("apply");
    assert_eq!(a.replica.pending(), 0, "nothing left to send");

    assert!(b.sync(&engine).await.is_empty());
    assert_eq!(
        b.visits(&d),
        vec![(v, "restocked the shelves".to_owned())],
        "m2 sees m1's visit"
    );
    engine.stop().await;
}

/// The response to m1's push is lost and the phone sends the very same request again:
/// it is acknowledged the same way, and nothing is stored twice (m2 sees one visit).
async fn a_retried_push_is_acknowledged_again_and_stored_once(backend: Backend) {
    let engine = Engine::start(backend).await;
    let (mut a, mut b, d) = scene(&engine).await;
    a.visit(&d, "v-1", "first visit");
    let req = a.replica.sync_request();
    let before = engine.store().total_changes().await.expect("count");
    let first = a.send(&engine, &req).await;
    assert_eq!(
        engine.store().total_changes().await.expect("count"),
        before + 1
    );
    let again = a.send(&engine, &req).await;
    assert_eq!(
        engine.store().total_changes().await.expect("count"),
        before + 1,
        "the retry stores nothing"
    );
    assert!(again.rejected.is_empty(), "{:?}", again.rejected);
    assert_eq!(
        first.accepted, again.accepted,
        "acknowledged the same way twice"
    );
    a.replica.apply_response(&again).expect("apply");
    assert_eq!(a.replica.pending(), 0);
    assert!(b.sync(&engine).await.is_empty());
    assert_eq!(b.visits(&d).len(), 1, "m2 sees the visit once");
    engine.stop().await;
}

/// m1 records a visit offline, then head office takes t-north from m1: the push is
/// refused (`forbidden`, naming the territory), nothing is stored, m1's phone is told to
/// remove t-north, and m2 never sees the visit.
async fn a_push_into_a_territory_no_longer_held_is_refused_and_stores_nothing(backend: Backend) {
    let engine = Engine::start(backend).await;
    let (mut a, mut b, d) = scene(&engine).await;
    a.visit(&d, "v-late", "recorded after losing the territory");
    admin::set_territories(engine.store(), "m1", &["t-south".to_owned()])
        .await
        .expect("reassign");
    let before = engine.store().total_changes().await.expect("count");
    let req = a.replica.sync_request();
    let resp = a.send(&engine, &req).await;
    assert!(resp.accepted.is_empty());
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
    assert_eq!(resp.rejected[0].doc, DocId::Dealer(d.clone()));
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(
        resp.rejected[0].message.contains("t-north"),
        "{}",
        resp.rejected[0].message
    );
    assert_eq!(resp.revoked, vec![tid("t-north")], "m1 removes t-north");
    assert_eq!(
        engine.store().total_changes().await.expect("count"),
        before,
        "nothing stored"
    );
    assert!(b.sync(&engine).await.is_empty());
    assert!(b.visits(&d).is_empty(), "m2 never sees the refused visit");
    engine.stop().await;
}
