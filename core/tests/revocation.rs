//! A replica losing a territory (its documents go, its undelivered edits are kept aside and come back
//! with access), and the actors a replica writes under (a fresh one after a discard or a new device).

mod common;

use std::collections::BTreeSet;

use common::*;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::{ClaimId, DealerId, VisitId};
use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim, Visit};
use fieldsync_core::money::Money;
use fieldsync_core::set::Set;
use fieldsync_core::sync::{Cursor, Hub, Principal, RejectCode, Replica, Role};
use proptest::prelude::*;
use serde_json::json;

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

fn nobody(u: &str) -> Principal {
    Principal {
        user: user(u),
        role: Role::Manager,
        territories: Set::new(),
    }
}

fn visit(r: &mut Replica, id: &str, who: &str, at: i64) -> VisitId {
    let v: VisitId = id.parse().unwrap();
    let visit = Visit::new(user(who), stamp(who, at).at);
    r.dealer_mut(&dealer())
        .unwrap()
        .insert(&v, &visit, &stamp(who, at))
        .unwrap();
    v
}

/// m1 requests claim c1 (NT$1) at d-lin, unsynced.
fn request_claim(m1: &mut Replica) -> ClaimId {
    let c: ClaimId = "c1".parse().unwrap();
    let money = Money {
        minor: 100,
        currency: "TWD".parse().unwrap(),
    };
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        money,
        user("m1"),
        stamp("m1", 2).at,
    );
    m1.dealer_mut(&dealer())
        .unwrap()
        .insert(&c, &claim, &stamp("m1", 2))
        .unwrap();
    c
}

fn hub_visits(hub: &Hub) -> BTreeSet<VisitId> {
    hub.doc(&DocId::Dealer(dealer()))
        .map(|d| d.dealer_state().unwrap().visits.into_keys().collect())
        .unwrap_or_default()
}

/// A hub with t-north and dealer d-lin, and m1's synced replica.
fn setup() -> (Hub, Replica) {
    let mut hub = hub_with_territory();
    let mut m1 = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    (hub, m1)
}

#[test]
fn a_revoked_territory_leaves_the_device_and_its_unsent_visit_is_kept_aside() {
    let (mut hub, mut m1) = setup();
    let v = visit(&mut m1, "v-offline", "m1", 2);
    assert_eq!(m1.pending(), 1);

    // The administrator takes t-north away; the device syncs with its visit still pending.
    let req = m1.sync_request();
    let resp = hub.sync(&nobody("m1"), &req).unwrap();
    assert_eq!(resp.revoked, vec![territory()]);
    assert!(resp.changes.is_empty());
    assert!(
        resp.cursor.territories().next().is_none(),
        "{}",
        resp.cursor
    );
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    let report = m1.apply_response(&resp).unwrap();
    assert!(
        report.rejected.is_empty(),
        "a refusal for lost access is not offered for discarding: {:?}",
        report.rejected
    );
    let removed: BTreeSet<DocId> = report.removed.into_iter().collect();
    assert_eq!(
        removed,
        [DocId::Dealer(dealer()), DocId::Territory(territory())]
            .into_iter()
            .collect()
    );
    assert_eq!(m1.doc_ids().count(), 0, "nothing of t-north stays readable");
    assert_eq!(m1.cursor().get(&territory()), 0);
    assert_eq!(m1.pending(), 0, "nothing is sent for a territory it lost");
    assert_eq!(m1.rejections().count(), 0);

    // The visit is not lost: it is listed, with enough to show and export it.
    let kept: Vec<_> = m1.undelivered().cloned().collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].doc, DocId::Dealer(dealer()));
    assert_eq!(kept[0].territory, territory());
    assert_eq!(kept[0].name.as_deref(), Some("林記"));
    assert_eq!(kept[0].changes, 1);
    assert_eq!(kept[0].records.get("visits"), Some(&1));
    let exported = Document::load(&kept[0].bytes.0, Hub::actor()).unwrap();
    assert!(exported.dealer_state().unwrap().visits.contains_key(&v));

    // Saved and restored, it is still there.
    let meta = m1.meta();
    let mut m1 = Replica::restore(meta, Vec::<Vec<u8>>::new()).unwrap();
    assert_eq!(m1.undelivered().count(), 1);

    // Syncing again without access changes nothing.
    sync(&mut hub, &nobody("m1"), &mut m1);
    assert_eq!(m1.undelivered().count(), 1);
    assert!(!hub_visits(&hub).contains(&v));

    // Access comes back: the document is fetched again and the visit delivered.
    sync(&mut hub, &manager("m1"), &mut m1);
    assert_eq!(m1.undelivered().count(), 0);
    assert!(
        hub_visits(&hub).contains(&v),
        "the kept visit reached the server"
    );
    assert_eq!(m1.pending(), 0);
}

#[test]
fn a_dealer_created_offline_in_a_lost_territory_is_kept_and_delivered_when_access_returns() {
    let (mut hub, mut m1) = setup();
    let d2: DealerId = "d-new".parse().unwrap();
    m1.create_dealer(&territory(), d2.clone(), &profile("新店"), &stamp("m1", 2))
        .unwrap();
    sync(&mut hub, &nobody("m1"), &mut m1);
    let kept: BTreeSet<DocId> = m1.undelivered().map(|u| u.doc.clone()).collect();
    assert_eq!(
        kept,
        [DocId::Dealer(d2.clone()), DocId::Territory(territory())]
            .into_iter()
            .collect(),
        "the new dealer and its line in the territory's index"
    );
    assert!(hub.doc(&DocId::Dealer(d2.clone())).is_none());
    sync(&mut hub, &manager("m1"), &mut m1);
    assert_eq!(m1.undelivered().count(), 0);
    let held = hub.doc(&DocId::Dealer(d2.clone())).unwrap();
    assert_eq!(held.dealer_state().unwrap().profile.name, "新店");
    let index = hub.doc(&DocId::Territory(territory())).unwrap();
    assert!(index.territory_state().unwrap().dealers.contains_key(&d2));
}

#[test]
fn a_new_device_gets_a_fresh_actor_and_its_earlier_changes_stay_its_own() {
    let (mut hub, mut m1) = setup();
    // A replica learning its first device id keeps its actor only while it holds nothing.
    let mut fresh = Replica::new().unwrap();
    let before = fresh.actor().clone();
    assert!(fresh.set_device("dev-1").unwrap(), "to be saved");
    assert_eq!(fresh.actor(), &before);
    assert!(!fresh.set_device("dev-1").unwrap());
    assert_eq!(fresh.actor(), &before);

    let before = m1.actor().clone();
    assert!(m1.set_device("dev-1").unwrap());
    assert_ne!(m1.actor(), &before, "a replica holding documents");
    let first = m1.actor().clone();
    let v1 = visit(&mut m1, "v1", "m1", 2);
    // Logged in again with a newly issued device, before v1 was sent.
    assert!(m1.set_device("dev-2").unwrap());
    assert_ne!(m1.actor(), &first);
    assert_eq!(m1.device(), Some("dev-2"));
    let v2 = visit(&mut m1, "v2", "m1", 3);
    assert_eq!(
        m1.pending(),
        2,
        "changes under the earlier actor are still its own"
    );
    let m1 = {
        let meta = m1.meta();
        let docs: Vec<Vec<u8>> = m1
            .doc_ids()
            .cloned()
            .collect::<Vec<_>>()
            .iter()
            .map(|id| m1.save_doc(id).unwrap())
            .collect();
        Replica::restore(meta, docs).unwrap()
    };
    let mut m1 = m1;
    assert_eq!(m1.actors().count(), 3);
    assert_eq!(m1.pending(), 2);
    sync(&mut hub, &manager("m1"), &mut m1);
    assert!(hub_visits(&hub).is_superset(&[v1, v2].into_iter().collect()));
}

/// The server held a change whose acknowledgement was lost, and the device then
/// discards the document's pending edits: the next edit must not reuse the
/// discarded change's sequence number. After a restore of the server's database
/// the replica sends again what it made under both actors.
#[test]
fn after_a_discard_the_next_edit_is_accepted_and_a_reset_resends_every_actors_changes() {
    let (mut hub, mut m1) = setup();
    let backup = hub.feed_len(&territory());
    let c = request_claim(&mut m1);
    // Pushed and stored, but the answer never arrives.
    let lost = m1.sync_request();
    hub.sync(&manager("m1"), &lost).unwrap();
    // The manager approves their own claim: the document is refused, they discard.
    m1.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c, ClaimStage::Approved, json!(null), &stamp("m1", 3))
        .unwrap();
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert_eq!(resp.rejected.len(), 1);
    m1.apply_response(&resp).unwrap();
    let old = m1.actor().clone();
    m1.discard_pending(&DocId::Dealer(dealer())).unwrap();
    assert_ne!(m1.actor(), &old, "a fresh actor after a discard");
    let v = visit(&mut m1, "v-after", "m1", 4);
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    m1.apply_response(&resp).unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    assert!(hub_visits(&hub).contains(&v));

    // The server's database goes back to before the claim and the visit.
    hub.restore_older(|_| backup, Cursor::at_epoch("restored").unwrap())
        .unwrap();
    assert!(!hub_visits(&hub).contains(&v));
    sync(&mut hub, &manager("m1"), &mut m1);
    let held = hub
        .doc(&DocId::Dealer(dealer()))
        .unwrap()
        .dealer_state()
        .unwrap();
    assert!(
        held.visits.contains_key(&v),
        "the new actor's visit is sent again"
    );
    assert!(
        held.claims.contains_key(&c),
        "the earlier actor's claim is sent again"
    );
}

#[test]
fn a_territory_taken_away_right_after_a_discard_still_leaves_the_device() {
    let (mut hub, mut m1) = setup();
    let c = request_claim(&mut m1);
    // The manager approves their own claim: refused; they discard it.
    m1.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c, ClaimStage::Approved, json!(null), &stamp("m1", 3))
        .unwrap();
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert_eq!(resp.rejected.len(), 1);
    m1.apply_response(&resp).unwrap();
    m1.discard_pending(&DocId::Dealer(dealer())).unwrap();
    // Before the next sync, t-north is taken away (a handover ended).
    sync(&mut hub, &nobody("m1"), &mut m1);
    assert_eq!(
        m1.doc_ids().count(),
        0,
        "nothing of t-north stays readable after a discard"
    );
    assert_eq!(
        m1.undelivered().count(),
        0,
        "the discarded edit was the only one"
    );
}

#[derive(Debug, Clone)]
enum Step {
    Visit,
    Sync,
    Revoke,
    Restore,
    NewDevice,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Visit),
        3 => Just(Step::Sync),
        2 => Just(Step::Revoke),
        1 => Just(Step::Restore),
        1 => Just(Step::NewDevice),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the order of edits, syncs, revocations, restarts and new devices,
    /// every visit the device recorded is held by the server, or by the device
    /// (in a document or kept aside as undelivered); once access is back for good
    /// and the device has synced, the server holds them all and nothing is kept aside.
    #[test]
    fn no_visit_recorded_on_the_device_is_ever_lost(steps in prop::collection::vec(step(), 1..24)) {
        let (mut hub, mut m1) = setup();
        let mut access = true;
        let mut recorded: BTreeSet<VisitId> = BTreeSet::new();
        let mut devices = 0;
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Visit => {
                    if m1.doc(&DocId::Dealer(dealer())).is_some() {
                        recorded.insert(visit(&mut m1, &format!("v{i}"), "m1", 10 + i as i64));
                    }
                }
                Step::Sync => {
                    let who = if access { manager("m1") } else { nobody("m1") };
                    sync(&mut hub, &who, &mut m1);
                }
                Step::Revoke => access = !access,
                Step::Restore => {
                    let meta = m1.meta();
                    let ids: Vec<DocId> = m1.doc_ids().cloned().collect();
                    let docs: Vec<Vec<u8>> = ids.iter().map(|id| m1.save_doc(id).unwrap()).collect();
                    m1 = Replica::restore(meta, docs).unwrap();
                }
                Step::NewDevice => {
                    devices += 1;
                    m1.set_device(&format!("dev-{devices}")).unwrap();
                }
            }
            let mut held = hub_visits(&hub);
            if let Ok(d) = m1.dealer(&dealer()) {
                held.extend(d.dealer_state().unwrap().visits.into_keys());
            }
            for u in m1.undelivered() {
                let doc = Document::load(&u.bytes.0, Hub::actor()).unwrap();
                held.extend(doc.dealer_state().unwrap().visits.into_keys());
            }
            prop_assert!(held.is_superset(&recorded), "lost {:?}", recorded.difference(&held).collect::<Vec<_>>());
        }
        sync(&mut hub, &manager("m1"), &mut m1);
        prop_assert_eq!(m1.undelivered().count(), 0);
        prop_assert!(hub_visits(&hub).is_superset(&recorded));
        prop_assert_eq!(m1.pending(), 0);
    }
}
