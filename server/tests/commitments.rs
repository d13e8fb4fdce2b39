//! Commitments within authority through the real server, on SQLite and PostgreSQL: a manager's commitment authority (at, below and above, a territory's override), a commitment above it pending until a supervisor approves it (never its maker), and not counted as made until then.

mod common;

use common::approvers::*;
use common::*;
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{CommitmentId, DealerId};
use fieldsync_core::model::{Commitment, CommitmentStatus};
use fieldsync_core::money::Money;
use fieldsync_core::sync::{RejectCode, Rejection};
use serde_json::{Value as Json, json};

on_both_backends!(
    authority_at_below_and_above,
    a_territory_overrides_the_authority,
    self_approval_is_refused_and_approvers_stay_within_their_limits,
    above_authority_is_not_counted_until_approved,
);

/// The approvers' scene with head office's limits: managers commit up to NT$1,000
/// alone (NT$3,000 in t-south); regional managers approve up to NT$5,000; head
/// office without a limit.
async fn scene_with_limits(backend: Backend) -> Scene {
    let sc = scene(backend).await;
    let body = json!({"limits": [
        {"kind": "commitment", "role": "manager", "currency": "TWD", "max_minor": 100_000},
        {"kind": "commitment", "role": "manager", "territory": "t-south", "currency": "TWD", "max_minor": 300_000},
        {"role": "regional", "currency": "TWD", "max_minor": 500_000},
    ]});
    let r = put_limits(&sc.server, &sc.ho.token, &body).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    sc
}

/// `dev` promises `minor` TWD (or nothing) at `dealer`, made `days_ago` days
/// ago and due `due_in` days after that, and syncs it.
async fn promise(
    dev: &mut Device,
    dealer: &DealerId,
    id: &str,
    minor: Option<i64>,
    days_ago: i64,
    due_in: i64,
) -> CommitmentId {
    let cid: CommitmentId = id.parse().unwrap();
    let s = dev.stamp();
    let made = Timestamp(s.at.millis() - days_ago * 86_400_000);
    let due = made.day().unwrap().add_days(due_in).unwrap();
    let mut c = Commitment::new("結算八月業務員工資", "林老闆", s.user.clone(), made, due);
    c.amount = minor.map(|m| Money::new(m, "TWD".parse().unwrap()).unwrap());
    dev.replica
        .dealer_mut(dealer)
        .unwrap()
        .insert(&cid, &c, &s)
        .unwrap();
    assert!(dev.sync().await.is_empty());
    cid
}

/// `dev` (after a sync) takes `stage` on the commitment and syncs; returns what
/// the server refused (a refused change is then dropped from the device).
async fn step(
    dev: &mut Device,
    dealer: &DealerId,
    id: &CommitmentId,
    stage: CommitmentStatus,
) -> Vec<Rejection> {
    dev.sync().await;
    let s = dev.stamp();
    dev.replica
        .dealer_mut(dealer)
        .unwrap()
        .advance::<Commitment>(id, stage, Json::Null, &s)
        .unwrap();
    let refused = dev.sync().await;
    if !refused.is_empty() {
        dev.replica
            .discard_pending(&DocId::Dealer(dealer.clone()))
            .unwrap();
    }
    refused
}

async fn seen_by(dev: &mut Device, dealer: &DealerId, id: &CommitmentId) -> CommitmentStatus {
    dev.sync().await;
    let c: Commitment = dev
        .replica
        .dealer(dealer)
        .unwrap()
        .record(id)
        .unwrap()
        .expect("the commitment");
    c.status.current()
}

fn refused_for(r: &[Rejection], code: RejectCode, rule: &str) {
    assert_eq!(r.len(), 1, "one refusal expected: {r:?}");
    assert_eq!(r[0].code, code);
    assert_eq!(r[0].rule.as_deref(), Some(rule), "{r:?}");
}

/// Head office's list of commitments with `query`: ids by status, and the totals.
async fn listed(sc: &Scene, query: &str) -> (Vec<(String, String)>, Json) {
    let j = sc
        .server
        .get_json(&sc.ho.token, &format!("/api/commitments?{query}"))
        .await;
    let items = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (items, j["totals"].clone())
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// How many commitments of `status` the totals count.
fn n_of(totals: &Json, status: &str) -> i64 {
    totals["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == status)
        .map_or(0, |r| r["n"].as_i64().unwrap())
}

/// Open commitments at dealer d-n in head office's dealer list.
async fn open_at_dealer(sc: &Scene) -> i64 {
    let j = sc
        .server
        .get_json(&sc.ho.token, "/api/dealers?territory=t-north")
        .await;
    j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "d-n")
        .expect("d-n")["open_commitments"]
        .as_i64()
        .unwrap()
}

async fn authority_at_below_and_above(backend: Backend) {
    let mut sc = scene_with_limits(backend).await;
    let below = promise(&mut sc.m1, &dn(), "k-below", Some(99_999), 0, 7).await;
    let at = promise(&mut sc.m1, &dn(), "k-at", Some(100_000), 0, 7).await;
    let above = promise(&mut sc.m1, &dn(), "k-above", Some(100_001), 0, 7).await;
    let none = promise(&mut sc.m1, &dn(), "k-none", None, 0, 7).await;
    let (items, _) = listed(&sc, "dealer=d-n").await;
    assert_eq!(
        items,
        pairs(&[
            ("k-above", "pending_approval"),
            ("k-at", "open"),
            ("k-below", "open"),
            ("k-none", "open"),
        ])
    );
    for k in [&below, &at, &none] {
        assert!(
            step(&mut sc.m1, &dn(), k, CommitmentStatus::Kept)
                .await
                .is_empty()
        );
    }
    // Above the authority: not kept nor broken before a supervisor approves it.
    for s in [CommitmentStatus::Kept, CommitmentStatus::Broken] {
        refused_for(
            &step(&mut sc.m1, &dn(), &above, s).await,
            RejectCode::Invalid,
            "pending_approval",
        );
    }
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &above).await,
        CommitmentStatus::Open
    );
    // The maker may still withdraw it.
    assert!(
        step(&mut sc.m1, &dn(), &above, CommitmentStatus::Cancelled)
            .await
            .is_empty()
    );
    let (items, _) = listed(&sc, "dealer=d-n&status=cancelled").await;
    assert_eq!(items, pairs(&[("k-above", "cancelled")]));
    sc.server.stop().await;
}

async fn a_territory_overrides_the_authority(backend: Backend) {
    let mut sc = scene_with_limits(backend).await;
    let south_at = promise(&mut sc.m1, &ds(), "k-s-at", Some(300_000), 0, 7).await;
    let south_above = promise(&mut sc.m1, &ds(), "k-s-above", Some(300_001), 0, 7).await;
    let north = promise(&mut sc.m1, &dn(), "k-n", Some(300_000), 0, 7).await;
    assert!(
        step(&mut sc.m1, &ds(), &south_at, CommitmentStatus::Kept)
            .await
            .is_empty()
    );
    refused_for(
        &step(&mut sc.m1, &ds(), &south_above, CommitmentStatus::Kept).await,
        RejectCode::Invalid,
        "pending_approval",
    );
    refused_for(
        &step(&mut sc.m1, &dn(), &north, CommitmentStatus::Broken).await,
        RejectCode::Invalid,
        "pending_approval",
    );
    let (items, _) = listed(&sc, "status=pending_approval").await;
    assert_eq!(
        items,
        pairs(&[
            ("k-n", "pending_approval"),
            ("k-s-above", "pending_approval")
        ])
    );
    // Without any commitment authority, managers commit any amount.
    let body = json!({"limits": []});
    assert_eq!(
        put_limits(&sc.server, &sc.ho.token, &body).await.status(),
        200
    );
    assert!(
        step(&mut sc.m1, &dn(), &north, CommitmentStatus::Kept)
            .await
            .is_empty()
    );
    // A commitment authority is a manager's; a claim limit is an approver's.
    for bad in [
        json!({"limits": [{"kind": "commitment", "role": "regional", "currency": "TWD", "max_minor": 1}]}),
        json!({"limits": [{"kind": "promise", "role": "manager", "currency": "TWD", "max_minor": 1}]}),
        json!({"limits": [{"role": "manager", "currency": "TWD", "max_minor": 1}]}),
    ] {
        let r = put_limits(&sc.server, &sc.ho.token, &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    sc.server.stop().await;
}

async fn self_approval_is_refused_and_approvers_stay_within_their_limits(backend: Backend) {
    let mut sc = scene_with_limits(backend).await;
    let above = promise(&mut sc.m1, &dn(), "k-above", Some(200_000), 0, 7).await;
    let big = promise(&mut sc.m1, &dn(), "k-big", Some(900_000), 0, 7).await;
    // A manager approves no commitment, their own least of all.
    refused_for(
        &step(&mut sc.m1, &dn(), &above, CommitmentStatus::Approved).await,
        RejectCode::Forbidden,
        "role",
    );
    // A regional manager's own commitment above a manager's authority waits for another approver.
    sc.r1.sync().await;
    let mine = promise(&mut sc.r1, &dn(), "k-r1", Some(200_000), 0, 7).await;
    refused_for(
        &step(&mut sc.r1, &dn(), &mine, CommitmentStatus::Approved).await,
        RejectCode::Forbidden,
        "self_approval",
    );
    // Within the regional manager's own approval limit (NT$5,000), not above it.
    assert!(
        step(&mut sc.r1, &dn(), &above, CommitmentStatus::Approved)
            .await
            .is_empty()
    );
    refused_for(
        &step(&mut sc.r1, &dn(), &big, CommitmentStatus::Approved).await,
        RejectCode::Forbidden,
        "approval_limit",
    );
    assert!(
        step(&mut sc.ho, &dn(), &big, CommitmentStatus::Rejected)
            .await
            .is_empty()
    );
    assert!(
        step(&mut sc.ho, &dn(), &mine, CommitmentStatus::Approved)
            .await
            .is_empty()
    );
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &above).await,
        CommitmentStatus::Approved
    );
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &big).await,
        CommitmentStatus::Rejected
    );
    // Approved, it is made: the manager keeps it; a rejected one is over.
    assert!(
        step(&mut sc.m1, &dn(), &above, CommitmentStatus::Kept)
            .await
            .is_empty()
    );
    let s = sc.m1.stamp();
    assert!(
        sc.m1
            .replica
            .dealer_mut(&dn())
            .unwrap()
            .advance::<Commitment>(&big, CommitmentStatus::Kept, Json::Null, &s)
            .is_err(),
        "a rejected commitment is never kept"
    );
    sc.server.stop().await;
}

/// Each commitment on head office's page of `dn()`: (id, "status/overdue").
async fn on_dealer_page(sc: &Scene) -> Vec<(String, String)> {
    let page = sc
        .server
        .get_json(&sc.ho.token, &format!("/api/dealers/{}", dn()))
        .await;
    let mut out: Vec<(String, String)> = page["commitments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = &c["standing"];
            let late = if s["overdue"] == true { "overdue" } else { "" };
            (
                c["id"].as_str().unwrap().to_owned(),
                format!("{}/{late}", s["status"].as_str().unwrap()),
            )
        })
        .collect();
    out.sort();
    out
}

async fn above_authority_is_not_counted_until_approved(backend: Backend) {
    let mut sc = scene_with_limits(backend).await;
    // Both made ten days ago and due five days ago: overdue if made.
    promise(&mut sc.m1, &dn(), "k-small", Some(50_000), 10, 5).await;
    let above = promise(&mut sc.m1, &dn(), "k-above", Some(200_000), 10, 5).await;
    let (late, _) = listed(&sc, "overdue=true").await;
    assert_eq!(late, pairs(&[("k-small", "open")]));
    let (_, totals) = listed(&sc, "").await;
    assert_eq!(totals["overdue"], 1, "{totals}");
    assert_eq!(n_of(&totals, "open"), 1, "{totals}");
    assert_eq!(n_of(&totals, "pending_approval"), 1, "{totals}");
    assert_eq!(open_at_dealer(&sc).await, 1);
    assert_eq!(
        on_dealer_page(&sc).await,
        pairs(&[
            ("k-above", "pending_approval/"),
            ("k-small", "open/overdue")
        ]),
        "head office's dealer page shows the pending one as pending, not overdue"
    );
    let manager = sc.server.get_json(&sc.ho.token, "/api/managers/m1").await;
    assert_eq!(manager["commitments"]["overdue"], 1, "{manager}");
    assert_eq!(
        manager["commitments"]["rates"],
        json!({"made": 1, "kept": 0.0, "broken": 0.0, "overdue": 1.0})
    );
    // Approved, it counts as made: open, and overdue.
    assert!(
        step(&mut sc.r1, &dn(), &above, CommitmentStatus::Approved)
            .await
            .is_empty()
    );
    let (late, _) = listed(&sc, "overdue=true").await;
    assert_eq!(late, pairs(&[("k-above", "open"), ("k-small", "open")]));
    let (_, totals) = listed(&sc, "").await;
    assert_eq!(totals["overdue"], 2, "{totals}");
    assert_eq!(n_of(&totals, "pending_approval"), 0, "{totals}");
    assert_eq!(open_at_dealer(&sc).await, 2);
    assert_eq!(
        on_dealer_page(&sc).await,
        pairs(&[("k-above", "approved/overdue"), ("k-small", "open/overdue")])
    );
    let manager = sc.server.get_json(&sc.ho.token, "/api/managers/m1").await;
    assert_eq!(manager["commitments"]["overdue"], 2, "{manager}");
    assert!(
        step(&mut sc.m1, &dn(), &above, CommitmentStatus::Broken)
            .await
            .is_empty()
    );
    let (_, totals) = listed(&sc, "").await;
    assert_eq!(n_of(&totals, "broken"), 1, "{totals}");
    assert_eq!(totals["overdue"], 1, "{totals}");
    // Head office's rates per manager: of two made, one broken, one overdue.
    let manager = sc.server.get_json(&sc.ho.token, "/api/managers/m1").await;
    assert_eq!(
        manager["commitments"]["rates"],
        json!({"made": 2, "kept": 0.0, "broken": 0.5, "overdue": 0.5})
    );
    sc.server.stop().await;
}
