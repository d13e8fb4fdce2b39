//! Expense claim approvals through the real server, on SQLite and PostgreSQL: head office's approval limits (at, below and above, a territory's override), self-approval and spending without approval refused, and head office acting on one fetched document.

mod common;

use common::approvers::*;
use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{ClaimId, DealerId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim};
use fieldsync_core::money::Money;
use fieldsync_core::sync::{
    ChangeBytes, DocChanges, PROTOCOL_VERSION, RejectCode, Rejection, SyncRequest, SyncResponse,
};
use serde_json::{Value as Json, json};

on_both_backends!(
    regional_limit_at_below_and_above,
    a_territory_overrides_the_regional_limit,
    self_approval_is_refused,
    spending_without_approval_is_refused,
    only_head_office_sets_limits,
    head_office_acts_on_one_fetched_document,
);

/// Regional managers approve up to NT$5,000 (500,000 minor units), NT$10,000 in t-south.
async fn set_limits(sc: &Scene) {
    let body = json!({"limits": [
        {"role": "regional", "currency": "TWD", "max_minor": 500_000},
        {"role": "regional", "territory": "t-south", "currency": "TWD", "max_minor": 1_000_000},
    ]});
    let r = put_limits(&sc.server, &sc.ho.token, &body).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

/// `dev` requests claim `id` of `minor` TWD at `dealer` and syncs it.
async fn request(dev: &mut Device, dealer: &DealerId, id: &str, minor: i64) -> ClaimId {
    let claim: ClaimId = id.parse().unwrap();
    let s = dev.stamp();
    let amount = Money::new(minor, "TWD".parse().unwrap()).unwrap();
    let c = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        amount,
        s.user.clone(),
        s.at,
    );
    dev.replica
        .dealer_mut(dealer)
        .unwrap()
        .insert(&claim, &c, &s)
        .unwrap();
    assert!(dev.sync().await.is_empty());
    claim
}

/// `dev` (after a sync) takes `stage` on the claim and syncs; returns what the
/// server refused (a refused change is then dropped from the device).
async fn step(
    dev: &mut Device,
    dealer: &DealerId,
    claim: &ClaimId,
    stage: ClaimStage,
) -> Vec<Rejection> {
    dev.sync().await;
    let s = dev.stamp();
    let extra = match stage {
        ClaimStage::Spent => json!({"spent": {"minor": 1, "currency": "TWD"}}),
        _ => Json::Null,
    };
    dev.replica
        .dealer_mut(dealer)
        .unwrap()
        .advance::<ExpenseClaim>(claim, stage, extra, &s)
        .unwrap();
    let refused = dev.sync().await;
    if !refused.is_empty() {
        dev.replica
            .discard_pending(&DocId::Dealer(dealer.clone()))
            .unwrap();
    }
    refused
}

/// The claim's current stage as the manager's phone shows it after a sync.
async fn seen_by(dev: &mut Device, dealer: &DealerId, claim: &ClaimId) -> ClaimStage {
    dev.sync().await;
    let c: ExpenseClaim = dev
        .replica
        .dealer(dealer)
        .unwrap()
        .record(claim)
        .unwrap()
        .expect("the claim");
    c.status.current()
}

fn refused_for(r: &[Rejection], rule: &str) {
    assert_eq!(r.len(), 1, "one refusal expected: {r:?}");
    assert_eq!(r[0].code, RejectCode::Forbidden);
    assert_eq!(r[0].rule.as_deref(), Some(rule), "{r:?}");
}

async fn regional_limit_at_below_and_above(backend: Backend) {
    let mut sc = scene(backend).await;
    set_limits(&sc).await;
    let below = request(&mut sc.m1, &dn(), "c-below", 499_999).await;
    let at = request(&mut sc.m1, &dn(), "c-at", 500_000).await;
    let above = request(&mut sc.m1, &dn(), "c-above", 500_001).await;
    assert!(
        step(&mut sc.r1, &dn(), &below, ClaimStage::Approved)
            .await
            .is_empty()
    );
    assert!(
        step(&mut sc.r1, &dn(), &at, ClaimStage::Approved)
            .await
            .is_empty()
    );
    refused_for(
        &step(&mut sc.r1, &dn(), &above, ClaimStage::Approved).await,
        "approval_limit",
    );
    assert_eq!(seen_by(&mut sc.m1, &dn(), &at).await, ClaimStage::Approved);
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &below).await,
        ClaimStage::Approved
    );
    // Nothing of the refused approval was stored: the claim still waits, for head office.
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &above).await,
        ClaimStage::Requested
    );
    let waiting = sc
        .server
        .get_json(&sc.r1.token, "/api/claims?status=requested")
        .await;
    let ids: Vec<&str> = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c-above"]);
    // Rejecting is never limited; head office (no limit set) approves any amount.
    let big = request(&mut sc.m1, &dn(), "c-big", 9_000_000).await;
    assert!(
        step(&mut sc.r1, &dn(), &big, ClaimStage::Rejected)
            .await
            .is_empty()
    );
    assert!(
        step(&mut sc.ho, &dn(), &above, ClaimStage::Approved)
            .await
            .is_empty()
    );
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &above).await,
        ClaimStage::Approved
    );
    assert_eq!(seen_by(&mut sc.m1, &dn(), &big).await, ClaimStage::Rejected);
    sc.server.stop().await;
}

async fn a_territory_overrides_the_regional_limit(backend: Backend) {
    let mut sc = scene(backend).await;
    set_limits(&sc).await;
    // t-south's own limit (NT$10,000) replaces the general one (NT$5,000) there …
    let south_at = request(&mut sc.m1, &ds(), "c-s-at", 1_000_000).await;
    let south_above = request(&mut sc.m1, &ds(), "c-s-above", 1_000_001).await;
    assert!(
        step(&mut sc.r1, &ds(), &south_at, ClaimStage::Approved)
            .await
            .is_empty()
    );
    refused_for(
        &step(&mut sc.r1, &ds(), &south_above, ClaimStage::Approved).await,
        "approval_limit",
    );
    // … and only there.
    let north = request(&mut sc.m1, &dn(), "c-n", 1_000_000).await;
    refused_for(
        &step(&mut sc.r1, &dn(), &north, ClaimStage::Approved).await,
        "approval_limit",
    );
    // A lower override limits too; head office changes the table, the next push is decided on it.
    let body = json!({"limits": [
        {"role": "regional", "currency": "TWD", "max_minor": 500_000},
        {"role": "regional", "territory": "t-north", "currency": "TWD", "max_minor": 100},
    ]});
    assert_eq!(
        put_limits(&sc.server, &sc.ho.token, &body).await.status(),
        200
    );
    let small = request(&mut sc.m1, &dn(), "c-small", 101).await;
    refused_for(
        &step(&mut sc.r1, &dn(), &small, ClaimStage::Approved).await,
        "approval_limit",
    );
    assert!(
        step(&mut sc.r1, &ds(), &south_above, ClaimStage::Rejected)
            .await
            .is_empty()
    );
    assert_eq!(
        seen_by(&mut sc.m1, &ds(), &south_at).await,
        ClaimStage::Approved
    );
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &north).await,
        ClaimStage::Requested
    );
    sc.server.stop().await;
}

async fn self_approval_is_refused(backend: Backend) {
    let mut sc = scene(backend).await;
    set_limits(&sc).await;
    // The regional manager's own claim, well within their limit.
    sc.r1.sync().await;
    let own = request(&mut sc.r1, &dn(), "c-own", 1_000).await;
    refused_for(
        &step(&mut sc.r1, &dn(), &own, ClaimStage::Approved).await,
        "self_approval",
    );
    refused_for(
        &step(&mut sc.r1, &dn(), &own, ClaimStage::Rejected).await,
        "self_approval",
    );
    // Head office's own claim too.
    sc.ho.sync().await;
    let ho_own = request(&mut sc.ho, &dn(), "c-ho", 1_000).await;
    refused_for(
        &step(&mut sc.ho, &dn(), &ho_own, ClaimStage::Approved).await,
        "self_approval",
    );
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &own).await,
        ClaimStage::Requested
    );
    sc.server.stop().await;
}

async fn spending_without_approval_is_refused(backend: Backend) {
    let mut sc = scene(backend).await;
    let claim = request(&mut sc.m1, &dn(), "c1", 1_000).await;
    // The device's core refuses it before anything is written …
    let s = sc.m1.stamp();
    let extra = json!({"spent": {"minor": 900, "currency": "TWD"}});
    let local = sc
        .m1
        .replica
        .dealer_mut(&dn())
        .unwrap()
        .advance::<ExpenseClaim>(&claim, ClaimStage::Spent, extra.clone(), &s);
    assert!(local.is_err(), "spent before approval was made");
    // … and the server refuses a change that skips the approval anyway (made
    // with the automerge crate directly, as a device without the check would).
    use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
    use fieldsync_core::automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, Value};
    let bytes = sc.m1.replica.save_doc(&DocId::Dealer(dn())).unwrap();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    raw.set_actor(ActorId::from(b"a-device-without-checks".to_vec()));
    let before = raw.get_heads();
    let obj = |raw: &AutoCommit, path: &[&str]| {
        path.iter()
            .fold(ROOT, |o, k| match raw.get(&o, *k).unwrap() {
                Some((Value::Object(_), id)) => id,
                other => panic!("no map at {k}: {other:?}"),
            })
    };
    let c = obj(&raw, &["claims", "c1"]);
    let status = obj(&raw, &["claims", "c1", "status"]);
    let st = raw.put_object(&status, "spent", ObjType::Map).unwrap();
    raw.put(&st, "by", "m1").unwrap();
    raw.put(&st, "at", s.at.0).unwrap();
    let spent = raw.put_object(&c, "spent", ObjType::Map).unwrap();
    raw.put(&spent, "minor", 900_i64).unwrap();
    raw.put(&spent, "currency", "TWD").unwrap();
    raw.commit_with(CommitOptions::default().with_message(s.to_message()));
    let changes = raw
        .get_changes(&before)
        .into_iter()
        .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
        .collect();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        cursor: sc.m1.replica.cursor().clone(),
        push: vec![DocChanges {
            doc: DocId::Dealer(dn()),
            changes,
        }],
        replica: String::new(),
    };
    let resp: SyncResponse = sc.m1.post(&req).await.json().await.unwrap();
    assert_eq!(resp.rejected.len(), 1, "{resp:?}");
    assert_eq!(resp.rejected[0].code, RejectCode::Invalid);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("transition"));
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &claim).await,
        ClaimStage::Requested
    );
    sc.server.stop().await;
}

async fn only_head_office_sets_limits(backend: Backend) {
    let sc = scene(backend).await;
    let body = json!({"limits": [{"role": "regional", "currency": "TWD", "max_minor": 1}]});
    let r = put_limits(&sc.server, &sc.r1.token, &body).await;
    assert_eq!(r.status(), 403);
    let r = put_limits(&sc.server, &sc.m1.token, &body).await;
    assert_eq!(r.status(), 403);
    for bad in [
        json!({"limits": [{"role": "manager", "currency": "TWD", "max_minor": 1}]}),
        json!({"limits": [{"role": "regional", "currency": "twd", "max_minor": 1}]}),
        json!({"limits": [{"role": "regional", "currency": "TWD", "max_minor": -1}]}),
        json!({"limits": [{"role": "regional", "territory": "T NORTH", "currency": "TWD", "max_minor": 1}]}),
        json!({"limits": [
            {"role": "regional", "currency": "TWD", "max_minor": 1},
            {"role": "regional", "currency": "TWD", "max_minor": 2},
        ]}),
    ] {
        let r = put_limits(&sc.server, &sc.ho.token, &bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let e: Json = r.json().await.unwrap();
        assert_eq!(e["code"], "invalid", "{bad}: {e}");
    }
    // Nothing was set by the refused requests; anyone signed in reads the table.
    let now = sc
        .server
        .get_json(&sc.m1.token, "/api/approval-limits")
        .await;
    assert_eq!(now, json!({"limits": []}));
    set_limits(&sc).await;
    let now = sc
        .server
        .get_json(&sc.r1.token, "/api/approval-limits")
        .await;
    assert_eq!(now["limits"].as_array().unwrap().len(), 2);
    assert_eq!(now["limits"][1]["territory"], "t-south");
    sc.server.stop().await;
}

/// Head office's browser holds no replica of every territory: it asks where the
/// feeds stand (`GET /v1/cursor`), fetches the one dealer document it acts on,
/// approves the claim there with core and syncs; the sync brings nothing else,
/// and the manager's phone receives the approval.
async fn head_office_acts_on_one_fetched_document(backend: Backend) {
    let mut sc = scene(backend).await;
    let claim = request(&mut sc.m1, &dn(), "c1", 800_000).await;
    let cursor: Json = sc.server.get_json(&sc.ho.token, "/v1/cursor").await;
    let cursor: fieldsync_core::sync::Cursor =
        serde_json::from_value(cursor["cursor"].clone()).unwrap();
    let bytes = sc
        .server
        .get(&sc.ho.token, "/v1/docs/dealer:d-n/automerge")
        .await
        .bytes()
        .await
        .unwrap();
    let mut office = server_device(&sc.server, &sc.ho);
    office.replica.adopt(&bytes, &cursor).unwrap();
    assert_eq!(office.replica.pending(), 0, "nothing fetched is sent back");
    let s = office.stamp();
    office
        .replica
        .dealer_mut(&dn())
        .unwrap()
        .advance::<ExpenseClaim>(&claim, ClaimStage::Approved, Json::Null, &s)
        .unwrap();
    let (resp, report) = office.round().await;
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(resp.accepted.len(), 1);
    assert!(
        resp.changes.is_empty(),
        "the sync read nothing else: {:?}",
        resp.changes
    );
    assert_eq!(office.replica.doc_ids().count(), 1);
    assert_eq!(
        seen_by(&mut sc.m1, &dn(), &claim).await,
        ClaimStage::Approved
    );
    sc.server.stop().await;
}

/// Another replica on head office's device (a browser page acting once).
fn server_device(server: &TestServer, ho: &Device) -> Device {
    let mut d = server.device("ho", &ho.token);
    d.replica.set_device(ho.id.as_str()).unwrap();
    d
}
