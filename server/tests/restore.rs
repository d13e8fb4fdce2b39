//! A database restored from an older copy (or a lagging replica promoted): devices that were told their work was stored notice, send it again, and converge; nothing they hold is lost. On SQLite and PostgreSQL.

mod common;

use common::*;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::Visit;
use fieldsync_core::sync::Hub;
use fieldsync_server::Settings;

on_both_backends!(
    a_restore_under_a_new_epoch_loses_nothing_devices_held,
    a_restore_nobody_renewed_the_epoch_of_is_still_noticed,
);

fn record(d: &mut Device, dealer: &DealerId, id: &str) -> VisitId {
    let v: VisitId = id.parse().unwrap();
    let s = d.stamp();
    let visit = Visit::new(d.user.clone(), s.at);
    d.replica
        .dealer_mut(dealer)
        .unwrap()
        .insert(&v, &visit, &s)
        .unwrap();
    v
}

fn visits_on(d: &Device, dealer: &DealerId) -> Vec<VisitId> {
    let state = d.replica.dealer(dealer).unwrap().dealer_state().unwrap();
    state.visits.keys().cloned().collect()
}

async fn visits_stored(server: &TestServer, dealer: &DealerId) -> Vec<VisitId> {
    let id: DocId = format!("dealer:{dealer}").parse().unwrap();
    let stored = server
        .store
        .load_doc(&id.to_string())
        .await
        .unwrap()
        .unwrap();
    let doc = Document::load(&stored.snapshot, Hub::actor()).unwrap();
    doc.dealer_state().unwrap().visits.keys().cloned().collect()
}

fn point_at(devices: &mut [&mut Device], server: &TestServer) {
    for d in devices {
        d.base = server.base.clone();
    }
}

async fn scenario(backend: Backend, renew_epoch: bool) {
    let server = TestServer::start(backend).await;
    let _ho = head_office_with_territories(&server, &[("t-north", &["m1", "m2"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let (mut a, mut b) = (server.device("m1", &t1), server.device("m2", &t2));
    let dealer: DealerId = "d-lin".parse().unwrap();
    a.sync().await;
    let s = a.stamp();
    a.replica
        .create_dealer(&tid("t-north"), dealer.clone(), &profile("林記商行"), &s)
        .unwrap();
    let v1 = record(&mut a, &dealer, "v1");
    assert!(a.sync().await.is_empty());
    b.sync().await;

    // Last night's backup.
    let db = server.stop_keeping_db().await;
    let backup = db.backup().await;
    let server = TestServer::start_on(db, Settings::default()).await;
    point_at(&mut [&mut a, &mut b], &server);

    // Today's work, acknowledged by the server.
    let v2 = record(&mut a, &dealer, "v2");
    assert!(a.sync().await.is_empty());
    let v3 = record(&mut b, &dealer, "v3");
    assert!(b.sync().await.is_empty());
    assert_eq!(a.replica.pending(), 0);
    assert_eq!(b.replica.pending(), 0);

    // The database is lost and restored from the backup.
    server.stop().await;
    let restored = TestServer::start_on(backup, Settings::default()).await;
    if renew_epoch {
        restored.store.new_epoch().await.unwrap();
    }
    assert_eq!(visits_stored(&restored, &dealer).await, vec![v1.clone()]);
    point_at(&mut [&mut a, &mut b], &restored);

    // A device that never held today's work writes first, so feed positions the
    // others read now name other changes.
    let t2c = restored.token("m2").await;
    let mut c = restored.device("m2", &t2c);
    c.sync().await;
    let v4 = record(&mut c, &dealer, "v4");
    assert!(c.sync().await.is_empty());

    // The devices come back and are reset: they send again, and read again.
    for _ in 0..2 {
        for d in [&mut a, &mut b, &mut c] {
            assert!(d.sync().await.is_empty());
        }
    }
    let all = vec![v1, v2, v3, v4];
    assert_eq!(
        visits_stored(&restored, &dealer).await,
        all,
        "the server holds every visit again"
    );
    for d in [&mut a, &mut b, &mut c] {
        assert_eq!(visits_on(d, &dealer), all);
        assert_eq!(d.replica.pending(), 0);
    }
    restored.stop().await;
}

async fn a_restore_under_a_new_epoch_loses_nothing_devices_held(backend: Backend) {
    scenario(backend, true).await;
}

async fn a_restore_nobody_renewed_the_epoch_of_is_still_noticed(backend: Backend) {
    scenario(backend, false).await;
}
