//! The server's decisions on pushes, through the reference hub: who may write what, and bad input.

mod common;

use common::*;
use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
use fieldsync_core::automerge::{AutoCommit, ROOT, ReadDoc};
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocId, Document};
use fieldsync_core::ids::*;
use fieldsync_core::model::*;
use fieldsync_core::money::Money;
use fieldsync_core::set::Set;
use fieldsync_core::sync::*;
use serde_json::json;

fn twd(minor: i64) -> Money {
    Money {
        minor,
        currency: "TWD".parse().unwrap(),
    }
}

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

/// A hub with territory t-north and dealer d-lin (with claim c1), and m1's synced replica.
fn setup() -> (Hub, Replica) {
    let mut hub = hub_with_territory();
    let mut m1 = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市費用",
        twd(200_000),
        user("m1"),
        Timestamp(T0),
    );
    m1.dealer_mut(&dealer())
        .unwrap()
        .insert(&"c1".parse::<ClaimId>().unwrap(), &claim, &stamp("m1", 2))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    (hub, m1)
}

/// A copy of the hub's stored document.
fn stored(hub: &Hub, id: &DocId) -> Document {
    let bytes = hub.doc(id).map(|d| d.automerge().clone().save()).unwrap();
    Document::load(&bytes, Hub::actor()).unwrap()
}

fn heads(hub: &Hub, id: &DocId) -> Vec<String> {
    stored(hub, id)
        .heads()
        .iter()
        .map(|h| h.to_string())
        .collect()
}

fn regional() -> Principal {
    Principal {
        user: user("rm"),
        role: Role::Regional,
        territories: [territory()].into_iter().collect(),
    }
}

#[test]
fn a_manager_cannot_approve_a_claim_but_a_regional_manager_can() {
    let (mut hub, mut m1) = setup();
    let id = DocId::Dealer(dealer());
    let before = heads(&hub, &id);
    m1.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(
            &"c1".parse().unwrap(),
            ClaimStage::Approved,
            json!(null),
            &stamp("m1", 3),
        )
        .unwrap();
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert_eq!(resp.rejected.len(), 1);
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(
        resp.rejected[0].message.contains("approve"),
        "{}",
        resp.rejected[0].message
    );
    assert_eq!(heads(&hub, &id), before, "nothing was stored");
    let report = m1.apply_response(&resp).unwrap();
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(m1.rejections().count(), 1);
    m1.discard_pending(&id).unwrap();
    assert_eq!(m1.pending(), 0);

    let mut rm = Replica::new().unwrap();
    sync(&mut hub, &regional(), &mut rm);
    rm.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(
            &"c1".parse().unwrap(),
            ClaimStage::Approved,
            json!(null),
            &stamp("rm", 4),
        )
        .unwrap();
    let resp = hub.sync(&regional(), &rm.sync_request()).unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    sync(&mut hub, &manager("m1"), &mut m1);
    let claim = m1
        .dealer(&dealer())
        .unwrap()
        .record::<ExpenseClaim>(&"c1".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(claim.status.current(), ClaimStage::Approved);
}

#[test]
fn only_supervisors_rename_territories_only_head_office_lists_managers_or_creates_them() {
    let (mut hub, mut m1) = setup();
    let tid = DocId::Territory(territory());
    m1.doc_mut(&tid)
        .unwrap()
        .update_profile(
            &json!({"managers": {"m1": null}}),
            &stamp("m1", 3),
            Territory::validate,
        )
        .unwrap();
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(resp.rejected[0].message.contains("managers"));

    // A regional manager renames the territory, but its manager list is head office's.
    let mut rm = Replica::new().unwrap();
    sync(&mut hub, &regional(), &mut rm);
    rm.doc_mut(&tid)
        .unwrap()
        .update_profile(
            &json!({"name": "北區"}),
            &stamp("rm", 3),
            Territory::validate,
        )
        .unwrap();
    let resp = hub.sync(&regional(), &rm.sync_request()).unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    rm.apply_response(&resp).unwrap();
    rm.doc_mut(&tid)
        .unwrap()
        .update_profile(
            &json!({"managers": {"m9": true}}),
            &stamp("rm", 4),
            Territory::validate,
        )
        .unwrap();
    let resp = hub.sync(&regional(), &rm.sync_request()).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("role"));

    let mut rogue = Replica::new().unwrap();
    let t = Territory {
        name: "偷建".into(),
        region: String::new(),
        managers: Set::new(),
        time_zone: None,
    };
    rogue
        .create_territory("t-x".parse().unwrap(), &t, &stamp("m1", 0))
        .unwrap();
    let resp = hub.sync(&manager("m1"), &rogue.sync_request()).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(hub.doc(&DocId::Territory("t-x".parse().unwrap())).is_none());
}

#[test]
fn a_manager_cannot_write_or_read_another_territory() {
    let (mut hub, _) = setup();
    let outsider = Principal {
        user: user("m9"),
        role: Role::Manager,
        territories: ["t-south".parse().unwrap()].into_iter().collect(),
    };
    let mut r = Replica::new().unwrap();
    sync(&mut hub, &outsider, &mut r);
    assert_eq!(r.doc_ids().count(), 0, "nothing of t-north was sent");
    // forge a push onto d-lin from a copy obtained elsewhere
    let mut copy = stored(&hub, &DocId::Dealer(dealer()));
    copy.update_profile(
        &json!({"tier": 1}),
        &stamp("m9", 5),
        DealerProfile::validate,
    )
    .unwrap();
    let req = push_request(DocId::Dealer(dealer()), &copy.changes_since(&[]));
    let before = heads(&hub, &DocId::Dealer(dealer()));
    let resp = hub.sync(&outsider, &req).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(heads(&hub, &DocId::Dealer(dealer())), before);
}

#[test]
fn a_change_signed_by_someone_else_is_refused() {
    let (mut hub, mut m1) = setup();
    m1.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m2", 3),
            DealerProfile::validate,
        )
        .unwrap();
    let resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert!(resp.rejected[0].message.contains("signed by m2"));
}

#[test]
fn a_retried_push_stores_nothing_twice_and_is_acknowledged_again() {
    let (mut hub, mut m1) = setup();
    let mut m2 = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut m2);
    m1.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m1", 3),
            DealerProfile::validate,
        )
        .unwrap();
    let req = m1.sync_request();
    let first = hub.sync(&manager("m1"), &req).unwrap(); // response "lost"
    let second = hub.sync(&manager("m1"), &req).unwrap();
    assert_eq!(first.accepted, second.accepted);
    m1.apply_response(&second).unwrap();
    assert_eq!(m1.pending(), 0);
    let resp = hub.sync(&manager("m2"), &m2.sync_request()).unwrap();
    let delivered: usize = resp.changes.iter().map(|d| d.changes.len()).sum();
    assert_eq!(delivered, 1, "the edit is in the feed once");
}

#[test]
fn malformed_bytes_are_refused_and_the_other_documents_still_commit() {
    let (mut hub, mut m1) = setup();
    m1.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m1", 3),
            DealerProfile::validate,
        )
        .unwrap();
    let mut req = m1.sync_request();
    req.push.push(DocChanges {
        doc: "dealer:d-junk".parse().unwrap(),
        changes: vec![ChangeBytes(vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3])],
    });
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    assert_eq!(resp.rejected.len(), 1);
    assert_eq!(resp.rejected[0].code, RejectCode::Malformed);
    assert_eq!(resp.accepted.len(), 1);
    assert!(hub.doc(&"dealer:d-junk".parse().unwrap()).is_none());
}

#[test]
fn changes_pushed_under_the_wrong_document_id_are_refused() {
    let (mut hub, mut m1) = setup();
    m1.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m1", 3),
            DealerProfile::validate,
        )
        .unwrap();
    let mut req = m1.sync_request();
    req.push[0].doc = "dealer:d-other".parse().unwrap();
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    assert!(
        matches!(
            resp.rejected[0].code,
            RejectCode::WrongDocument | RejectCode::Malformed | RejectCode::MissingDependencies
        ),
        "{:?}",
        resp.rejected
    );
    assert!(hub.doc(&"dealer:d-other".parse().unwrap()).is_none());
}

#[test]
fn a_change_whose_dependencies_are_missing_is_refused() {
    let (mut hub, mut m1) = setup();
    let d = m1.dealer_mut(&dealer()).unwrap();
    d.update_profile(
        &json!({"tier": 1}),
        &stamp("m1", 3),
        DealerProfile::validate,
    )
    .unwrap();
    d.update_profile(
        &json!({"tier": 2}),
        &stamp("m1", 4),
        DealerProfile::validate,
    )
    .unwrap();
    let mut req = m1.sync_request();
    req.push.retain(|p| p.doc == DocId::Dealer(dealer()));
    req.push[0].changes.remove(0);
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::MissingDependencies);
}

#[test]
fn a_hand_crafted_change_that_breaks_a_domain_rule_is_refused() {
    let (mut hub, m1) = setup();
    let bytes = m1.dealer(&dealer()).unwrap().automerge().clone().save();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    let claims = raw.get(ROOT, "claims").unwrap().unwrap().1;
    let c1 = raw.get(&claims, "c1").unwrap().unwrap().1;
    raw.put(&c1, "purpose", "   ").unwrap();
    let hash = raw
        .commit_with(CommitOptions::default().with_message(stamp("m1", 9).to_message()))
        .unwrap();
    let change = raw.get_change_by_hash(&hash).unwrap();
    let req = push_request(DocId::Dealer(dealer()), &[change]);
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    assert_eq!(resp.rejected[0].code, RejectCode::Invalid);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("record"));
    assert!(
        resp.rejected[0].message.contains("must not be empty"),
        "{}",
        resp.rejected[0].message
    );
}

/// A change naming a predecessor no op has: Automerge stores its ops without it, so it would be held (and served)
/// under another hash than the one pushed (found by review).
#[test]
fn a_change_automerge_would_hold_under_another_hash_is_refused() {
    let (mut hub, m1) = setup();
    let id = DocId::Dealer(dealer());
    let before = heads(&hub, &id);
    let bytes = m1.dealer(&dealer()).unwrap().automerge().clone().save();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    let claims = raw.get(ROOT, "claims").unwrap().unwrap().1;
    let c1 = raw.get(&claims, "c1").unwrap().unwrap().1;
    raw.put(&c1, "purpose", "鋪市費用（改）").unwrap();
    let hash = raw
        .commit_with(CommitOptions::default().with_message(stamp("m1", 9).to_message()))
        .unwrap();
    let honest = raw.get_change_by_hash(&hash).unwrap();
    let mut crafted = honest.decode();
    let actor = crafted.actor_id.clone();
    let op = &mut crafted.operations[0];
    let mut pred: Vec<_> = op.pred.iter().cloned().collect();
    pred.push(fieldsync_core::automerge::legacy::OpId(9_999, actor));
    op.pred = pred.into();
    let crafted = fieldsync_core::automerge::Change::from(crafted);
    assert_ne!(crafted.hash(), honest.hash());
    let req = push_request(id.clone(), &[crafted]);
    let resp = hub.sync(&manager("m1"), &req).unwrap();
    assert_eq!(resp.rejected.len(), 1, "{resp:?}");
    assert_eq!(resp.rejected[0].code, RejectCode::Malformed);
    assert_eq!(heads(&hub, &id), before, "nothing stored");
}

/// Change times any clock gives are kept, even far apart; one far outside them is refused before Automerge
/// sees it: Automerge stores a document's times as differences, and two times further apart than an i64
/// overflow that column (found by fuzzing).
#[test]
fn a_change_time_beyond_any_clock_is_refused_and_far_apart_times_are_kept() {
    let (mut hub, m1) = setup();
    let id = DocId::Dealer(dealer());
    let bytes = m1.dealer(&dealer()).unwrap().automerge().clone().save();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    let claims = raw.get(ROOT, "claims").unwrap().unwrap().1;
    let c1 = raw.get(&claims, "c1").unwrap().unwrap().1;
    let commit_at = |raw: &mut AutoCommit, purpose: &str, time: i64| {
        raw.put(&c1, "purpose", purpose).unwrap();
        let options = CommitOptions::default()
            .with_message(stamp("m1", 9).to_message())
            .with_time(time);
        let hash = raw.commit_with(options).unwrap();
        raw.get_change_by_hash(&hash).unwrap()
    };
    let edge = i64::try_from(limits::MAX_TIME_MS).unwrap();
    let early = commit_at(&mut raw, "鋪市費用（一）", -edge);
    let late = commit_at(&mut raw, "鋪市費用（二）", edge);
    let resp = hub
        .sync(&manager("m1"), &push_request(id.clone(), &[early, late]))
        .unwrap();
    assert!(resp.rejected.is_empty(), "{resp:?}");
    // The stored document saves and loads whole.
    let kept = heads(&hub, &id);
    assert_eq!(kept, vec![raw.get_heads()[0].to_string()]);
    // Automerge itself cannot commit such a time next to the others (its time column overflows): the change is
    // made with an ordinary time, then given the far one.
    let next = commit_at(&mut raw.fork(), "鋪市費用（三）", 0);
    for time in [i64::MAX, i64::MIN, edge + 1, -edge - 1] {
        let mut crafted = next.decode();
        crafted.time = time;
        crafted.hash = None;
        let far = fieldsync_core::automerge::Change::from(crafted);
        let resp = hub
            .sync(&manager("m1"), &push_request(id.clone(), &[far]))
            .unwrap();
        assert_eq!(resp.rejected.len(), 1, "{time}: {resp:?}");
        assert_eq!(resp.rejected[0].code, RejectCode::Malformed, "{time}");
        assert_eq!(heads(&hub, &id), kept, "{time}: nothing stored");
    }
}

/// A new dealer pushed as one chain: the server's checks settle its conflicts (none, and its records keep their
/// rules), so the read model need not search them again; a push onto a stored document is not settled.
#[test]
fn a_new_document_pushed_as_one_chain_comes_settled() {
    let mut hub = hub_with_territory();
    let mut m1 = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    let id = DocId::Dealer(dealer());
    let changes = m1.dealer_mut(&dealer()).unwrap().changes_since(&[]);
    let push = DocChanges {
        doc: id.clone(),
        changes: changes
            .iter()
            .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
            .collect(),
    };
    let mut done = ingest(None, &push, &manager("m1"), Limits::default()).unwrap();
    let settled = done
        .settled
        .clone()
        .expect("one chain, every change replayed");
    assert!(
        settled.valid.contains(&vec!["profile".to_owned()]),
        "{settled:?}"
    );
    assert_eq!(done.doc.conflicts_settled(&settled), done.doc.conflicts());
    let again = ingest(
        Some(&mut done.doc),
        &push,
        &manager("m1"),
        Limits::default(),
    )
    .unwrap();
    assert!(again.settled.is_none(), "nothing new: nothing settled");
}

#[test]
fn gaining_access_brings_the_whole_history_and_losing_it_stops_the_flow() {
    let (mut hub, mut m1) = setup();
    let mut newcomer = Replica::new().unwrap();
    let without = Principal {
        user: user("m3"),
        role: Role::Manager,
        territories: Set::new(),
    };
    sync(&mut hub, &without, &mut newcomer);
    assert_eq!(newcomer.doc_ids().count(), 0);
    let with = Principal {
        territories: [territory()].into_iter().collect(),
        ..without.clone()
    };
    sync(&mut hub, &with, &mut newcomer);
    assert_eq!(
        newcomer
            .dealer(&dealer())
            .unwrap()
            .dealer_state()
            .unwrap()
            .claims
            .len(),
        1,
        "whole history arrives"
    );

    m1.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m1", 3),
            DealerProfile::validate,
        )
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    let resp = hub.sync(&without, &newcomer.sync_request()).unwrap();
    assert!(
        resp.changes.is_empty(),
        "no more changes after access is withdrawn"
    );
}

#[test]
fn a_response_in_another_protocol_version_is_refused_whole() {
    let (mut hub, mut m1) = setup();
    let mut req = m1.sync_request();
    req.protocol = 99;
    assert_eq!(
        hub.sync(&manager("m1"), &req).unwrap_err(),
        SyncError::Protocol {
            found: 99,
            supported: 1
        }
    );
    let mut resp = hub.sync(&manager("m1"), &m1.sync_request()).unwrap();
    resp.protocol = 2;
    assert!(m1.apply_response(&resp).is_err());
}

#[test]
fn pages_of_a_long_feed_arrive_in_order() {
    let (mut hub, _) = setup();
    hub.page = Some(2);
    let mut r = Replica::new().unwrap();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let resp = hub.sync(&manager("m2"), &r.sync_request()).unwrap();
        let report = r.apply_response(&resp).unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        if !resp.more {
            break;
        }
    }
    assert!(rounds > 1);
    assert_eq!(
        r.dealer(&dealer())
            .unwrap()
            .dealer_state()
            .unwrap()
            .claims
            .len(),
        1
    );
}

#[test]
fn replaying_stored_changes_without_access_is_refused_not_acknowledged() {
    let (mut hub, mut m1) = setup();
    let outsider = Principal {
        user: user("m9"),
        role: Role::Manager,
        territories: ["t-south".parse().unwrap()].into_iter().collect(),
    };
    let mut copy = stored(&hub, &DocId::Dealer(dealer()));
    let changes = copy
        .changes_since(&[])
        .iter()
        .map(|c| ChangeBytes(c.raw_bytes().to_vec()))
        .collect();
    let req = SyncRequest {
        protocol: PROTOCOL_VERSION,
        snapshots: false,
        replica: String::new(),
        cursor: m1.sync_request().cursor,
        push: vec![DocChanges {
            doc: DocId::Dealer(dealer()),
            changes,
        }],
    };
    let resp = hub.sync(&outsider, &req).unwrap();
    assert!(
        resp.accepted.is_empty(),
        "an outsider learns nothing about what is stored"
    );
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
}

/// m1's claim c1 approved, spent (150,000) and reconciled, with m1's raw copy
/// of the dealer from before the `spent` step, writing under `actor`.
fn reconciled_with_an_old_copy(actor: &[u8]) -> (Hub, Replica, AutoCommit) {
    let (mut hub, mut m1) = setup();
    let c1: ClaimId = "c1".parse().unwrap();
    let mut rm = Replica::new().unwrap();
    sync(&mut hub, &regional(), &mut rm);
    rm.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c1, ClaimStage::Approved, json!(null), &stamp("rm", 3))
        .unwrap();
    sync(&mut hub, &regional(), &mut rm);
    sync(&mut hub, &manager("m1"), &mut m1);
    let bytes = m1.dealer(&dealer()).unwrap().automerge().clone().save();
    let old = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(fieldsync_core::automerge::ActorId::from(actor.to_vec()));
    let spent = json!({"spent": {"minor": 150_000, "currency": "TWD"}});
    m1.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c1, ClaimStage::Spent, spent, &stamp("m1", 4))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    let mut ho = Replica::new().unwrap();
    sync(&mut hub, &head_office(), &mut ho);
    ho.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&c1, ClaimStage::Reconciled, json!(null), &stamp("ho", 5))
        .unwrap();
    sync(&mut hub, &head_office(), &mut ho);
    (hub, m1, old)
}

/// On the old copy: `pad` harmless writes, then a second `spent` step with 999,999.
fn spend_again(old: &mut AutoCommit, pad: usize) -> SyncRequest {
    let claims = old.get(ROOT, "claims").unwrap().unwrap().1;
    let claim = old.get(&claims, "c1").unwrap().unwrap().1;
    for i in 0..pad {
        old.put(&claim, "purpose", format!("pad {i}")).unwrap();
    }
    // The amount first: without padding its op gets the lowest counter the
    // change can have, so it sorts before the honest amount.
    let amount = old
        .put_object(&claim, "spent", fieldsync_core::automerge::ObjType::Map)
        .unwrap();
    old.put(&amount, "minor", 999_999_i64).unwrap();
    old.put(&amount, "currency", "TWD").unwrap();
    let status = old.get(&claim, "status").unwrap().unwrap().1;
    let step = old
        .put_object(&status, "spent", fieldsync_core::automerge::ObjType::Map)
        .unwrap();
    old.put(&step, "by", "m1").unwrap();
    old.put(&step, "at", T0 + 9_000).unwrap();
    old.commit_with(CommitOptions::default().with_message(stamp("m1", 9).to_message()));
    let change = old.get_last_local_change().unwrap().clone();
    push_request(DocId::Dealer(dealer()), &[change])
}

fn spent_now(hub: &Hub) -> Option<Money> {
    let doc = stored(hub, &DocId::Dealer(dealer()));
    let claim = doc
        .record::<ExpenseClaim>(&"c1".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(claim.status.current(), ClaimStage::Reconciled);
    claim.spent
}

#[test]
fn an_old_view_may_not_change_a_step_bound_value_others_see() {
    let (mut hub, _m1, mut old) = reconciled_with_an_old_copy(&[0; 16]);
    let before = heads(&hub, &DocId::Dealer(dealer()));
    // Padded so that it would win the merge: refused, nothing stored.
    let resp = hub
        .sync(&manager("m1"), &spend_again(&mut old, 40))
        .unwrap();
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.accepted);
    assert_eq!(resp.rejected[0].code, RejectCode::Invalid);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("concurrent_write"));
    assert_eq!(heads(&hub, &DocId::Dealer(dealer())), before);
    assert_eq!(spent_now(&hub), Some(twd(150_000)));
}

#[test]
fn an_old_view_step_bound_write_that_loses_the_merge_changes_nothing_and_is_kept() {
    // Its ops get the same counters as the honest `spent` change's (same
    // dependencies), and the lowest actor id loses the tie.
    let (mut hub, _m1, mut old) = reconciled_with_an_old_copy(&[0; 16]);
    // Not padded: its ops sort before the stored ones, so the merge still shows
    // 150,000; the write is kept in the history, listed as a conflict.
    let resp = hub.sync(&manager("m1"), &spend_again(&mut old, 0)).unwrap();
    assert!(resp.rejected.is_empty(), "{:?}", resp.rejected);
    assert_eq!(spent_now(&hub), Some(twd(150_000)));
    let spent: Vec<String> = ["claims", "c1", "spent"].map(String::from).to_vec();
    let listed = stored(&hub, &DocId::Dealer(dealer()))
        .conflicts()
        .into_iter()
        .any(|c| c.path == spent);
    assert!(listed, "the losing amount is listed for review");
}
