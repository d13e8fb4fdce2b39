//! Head office resolves conflicts through the real server, on SQLite and PostgreSQL: a field two managers renamed offline (keeping the current winner), and a commitment kept on one phone and broken on another; each leaves `GET /api/conflicts` once the change is committed, the managers' phones show the choice, and a manager's decision between steps is refused (`role`).

mod common;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{CommitmentId, DealerId};
use fieldsync_core::model::{Commitment, CommitmentStatus, DealerProfile, Standing};
use fieldsync_core::sync::RejectCode;
use serde_json::{Value as Json, json};

on_both_backends!(head_office_resolves_conflicts_and_they_leave_the_queue,);

fn dn() -> DealerId {
    "d-n".parse().unwrap()
}

fn conflicts_of(dev: &mut Device) -> usize {
    dev.replica
        .doc_mut(&DocId::Dealer(dn()))
        .unwrap()
        .conflicts()
        .len()
}

async fn queue(server: &TestServer, token: &str) -> Vec<Json> {
    server.get_json(token, "/api/conflicts").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn head_office_resolves_conflicts_and_they_leave_the_queue(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mut ho = head_office_with_territories(&server, &[("t-north", &["m1", "m2"])]).await;
    let t1 = server.user("m1", "manager", &["t-north"]).await;
    let t2 = server.user("m2", "manager", &["t-north"]).await;
    let mut m1 = server.device("m1", &t1);
    let mut m2 = server.device("m2", &t2);
    m1.sync().await;
    let s = m1.stamp();
    m1.replica
        .create_dealer(&tid("t-north"), dn(), &profile("林記"), &s)
        .unwrap();
    let cid: CommitmentId = "c-1".parse().unwrap();
    let c = Commitment::new(
        "送試用品",
        "林老闆",
        s.user.clone(),
        s.at,
        "2026-12-01".parse().unwrap(),
    );
    let s = m1.stamp();
    m1.replica
        .dealer_mut(&dn())
        .unwrap()
        .insert(&cid, &c, &s)
        .unwrap();
    assert!(m1.sync().await.is_empty());
    m2.sync().await;

    // Offline, each renames the dealer and marks the commitment: kept on one phone, broken on the other.
    for (dev, name, step) in [
        (&mut m1, "林記商行", CommitmentStatus::Kept),
        (&mut m2, "林記貿易", CommitmentStatus::Broken),
    ] {
        let s = dev.stamp();
        let d = dev.replica.dealer_mut(&dn()).unwrap();
        d.update_profile(&json!({ "name": name }), &s, |p: &DealerProfile| {
            p.validate()
        })
        .unwrap();
        d.advance::<Commitment>(&cid, step, Json::Null, &s).unwrap();
    }
    assert!(m1.sync().await.is_empty());
    assert!(m2.sync().await.is_empty());
    m1.sync().await;

    let items = queue(&server, &ho.token).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let field = items.iter().find(|c| c["kind"] == "field").unwrap().clone();
    let steps = items.iter().find(|c| c["kind"] == "steps").unwrap().clone();
    assert_eq!(field["path"], json!(["profile", "name"]));
    assert_eq!(steps["path"], json!(["commitments", "c-1", "status"]));
    // The id the server lists is the one every phone computes.
    let on_phone = m1
        .replica
        .doc_mut(&DocId::Dealer(dn()))
        .unwrap()
        .conflicts();
    assert!(on_phone.iter().any(|c| json!(c.id) == field["id"]));
    assert!(on_phone.iter().any(|c| json!(c.id) == steps["id"]));

    // A manager may not decide between kept and broken: refused with its rule.
    let s = m1.stamp();
    m1.replica
        .doc_mut(&DocId::Dealer(dn()))
        .unwrap()
        .resolve(steps["id"].as_str().unwrap(), &json!("kept"), &s)
        .unwrap();
    let refused = m1.sync().await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].code, RejectCode::Forbidden);
    assert_eq!(refused[0].rule.as_deref(), Some("role"));
    m1.replica.discard_pending(&DocId::Dealer(dn())).unwrap();
    assert_eq!(queue(&server, &ho.token).await.len(), 2);

    // Head office keeps the current winner of the name (which an ordinary edit would not write)
    // and "kept" for the commitment.
    ho.sync().await;
    let winner = field["winner"]["value"].clone();
    for (id, value) in [(&field["id"], &winner), (&steps["id"], &json!("kept"))] {
        let s = ho.stamp();
        ho.replica
            .doc_mut(&DocId::Dealer(dn()))
            .unwrap()
            .resolve(id.as_str().unwrap(), value, &s)
            .unwrap();
    }
    assert!(ho.sync().await.is_empty());
    assert_eq!(queue(&server, &ho.token).await, Vec::<Json>::new());

    // Both phones show the choice and no conflict after their next sync.
    for dev in [&mut m1, &mut m2] {
        dev.sync().await;
        assert_eq!(conflicts_of(dev), 0);
        let d = dev.replica.dealer(&dn()).unwrap();
        assert_eq!(json!(d.dealer_state().unwrap().profile.name), winner);
        let rec = d.record::<Commitment>(&cid).unwrap().unwrap();
        let st = Standing::of(&rec, "2026-01-02".parse().unwrap());
        assert_eq!((st.status, st.conflicted()), ("kept", false));
    }
    server.stop().await;
}
