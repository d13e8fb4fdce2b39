//! Head office resolving conflicts: a field's concurrent values (keeping the current winner too) and
//! concurrent steps of one rank; every replica ends with the chosen value and no conflict, and the id
//! of a conflict is the same everywhere.

mod common;

use common::*;
use fieldsync_core::doc::{Conflict, ConflictKind, DocId};
use fieldsync_core::ids::{CommitmentId, DealerId};
use fieldsync_core::model::{Commitment, CommitmentStatus, DealerProfile, Standing};
use fieldsync_core::sync::{Hub, Replica};
use serde_json::{Value, json};

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

fn conflicts(r: &mut Replica) -> Vec<Conflict> {
    r.doc_mut(&DocId::Dealer(dealer())).unwrap().conflicts()
}

fn name(r: &Replica) -> String {
    r.dealer(&dealer())
        .unwrap()
        .dealer_state()
        .unwrap()
        .profile
        .name
}

/// Two managers renamed the dealer offline; everyone (head office too) synced.
fn renamed_concurrently() -> (Hub, Replica, Replica, Replica) {
    let mut hub = hub_with_territory();
    let (mut a, mut b, mut ho) = (
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
    );
    sync(&mut hub, &manager("m1"), &mut a);
    a.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    let validate = |p: &DealerProfile| p.validate();
    for (r, who, to) in [(&mut a, "m1", "林記商行"), (&mut b, "m2", "林記貿易")] {
        r.dealer_mut(&dealer())
            .unwrap()
            .update_profile(&json!({ "name": to }), &stamp(who, 2), validate)
            .unwrap();
    }
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &head_office(), &mut ho);
    (hub, a, b, ho)
}

fn everyone_synced(hub: &mut Hub, a: &mut Replica, b: &mut Replica, ho: &mut Replica) {
    sync(hub, &head_office(), ho);
    sync(hub, &manager("m1"), a);
    sync(hub, &manager("m2"), b);
}

#[test]
fn a_conflicts_id_is_the_same_on_every_replica() {
    let (_, mut a, mut b, mut ho) = renamed_concurrently();
    let ids: Vec<Vec<String>> = [&mut a, &mut b, &mut ho]
        .into_iter()
        .map(|r| conflicts(r).into_iter().map(|c| c.id).collect())
        .collect();
    assert_eq!(ids[0].len(), 1);
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(conflicts(&mut a)[0].kind, ConflictKind::Field);
}

#[test]
fn keeping_either_value_resolves_the_conflict_on_every_replica() {
    // Keeping the current winner writes a new operation too (an ordinary edit of an unchanged
    // value writes nothing), so both choices must leave no conflict anywhere.
    for keep_winner in [true, false] {
        let (mut hub, mut a, mut b, mut ho) = renamed_concurrently();
        let c = conflicts(&mut ho).remove(0);
        let chosen: Value = if keep_winner {
            c.winner.value.clone()
        } else {
            c.others[0].value.clone()
        };
        ho.doc_mut(&DocId::Dealer(dealer()))
            .unwrap()
            .resolve(&c.id, &chosen, &stamp("ho", 10))
            .unwrap();
        assert!(
            conflicts(&mut ho).is_empty(),
            "resolved on head office's replica"
        );
        everyone_synced(&mut hub, &mut a, &mut b, &mut ho);
        for r in [&mut a, &mut b, &mut ho] {
            assert!(conflicts(r).is_empty(), "keep_winner={keep_winner}");
            assert_eq!(json!(name(r)), chosen);
        }
    }
}

#[test]
fn a_value_that_is_not_one_of_the_conflicts_is_refused_and_writes_nothing() {
    let (_, _, _, mut ho) = renamed_concurrently();
    let c = conflicts(&mut ho).remove(0);
    let doc = ho.doc_mut(&DocId::Dealer(dealer())).unwrap();
    let heads = doc.heads();
    assert!(
        doc.resolve(&c.id, &json!("別的"), &stamp("ho", 10))
            .is_err()
    );
    assert!(
        doc.resolve("0000", &c.winner.value, &stamp("ho", 10))
            .is_err()
    );
    assert_eq!(doc.heads(), heads);
}

#[test]
fn a_concurrent_edit_after_the_resolution_is_a_new_conflict() {
    let (mut hub, mut a, mut b, mut ho) = renamed_concurrently();
    let c = conflicts(&mut ho).remove(0);
    let chosen = c.others[0].value.clone();
    ho.doc_mut(&DocId::Dealer(dealer()))
        .unwrap()
        .resolve(&c.id, &chosen, &stamp("ho", 10))
        .unwrap();
    // m1 renames again without having seen the resolution.
    a.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"name": "林記新號"}),
            &stamp("m1", 11),
            |p: &DealerProfile| p.validate(),
        )
        .unwrap();
    everyone_synced(&mut hub, &mut a, &mut b, &mut ho);
    sync(&mut hub, &manager("m1"), &mut a);
    let now = conflicts(&mut a);
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].id, c.id, "a new conflict, with a new id");
    assert_eq!(conflicts(&mut b)[0].id, now[0].id);
}

#[test]
fn head_office_decides_between_kept_and_broken_and_only_head_office_may() {
    let mut hub = hub_with_territory();
    let (mut a, mut b, mut ho) = (
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
    );
    sync(&mut hub, &manager("m1"), &mut a);
    a.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    let cid: CommitmentId = "c-1".parse().unwrap();
    let c = Commitment::new(
        "送試用品",
        "林老闆",
        user("m1"),
        stamp("m1", 2).at,
        "2026-12-01".parse().unwrap(),
    );
    a.dealer_mut(&dealer())
        .unwrap()
        .insert(&cid, &c, &stamp("m1", 2))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    for (r, who, step) in [
        (&mut a, "m1", CommitmentStatus::Kept),
        (&mut b, "m2", CommitmentStatus::Broken),
    ] {
        r.dealer_mut(&dealer())
            .unwrap()
            .advance::<Commitment>(&cid, step, Value::Null, &stamp(who, 3))
            .unwrap();
    }
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &head_office(), &mut ho);
    let found = conflicts(&mut ho);
    assert_eq!(found.len(), 1);
    let conflict = &found[0];
    assert_eq!(conflict.kind, ConflictKind::Steps);
    assert_eq!(conflict.path, ["commitments", "c-1", "status"]);
    assert_eq!(conflict.id, conflicts(&mut a)[0].id);

    // A manager's decision is refused by the server (`role`) and stays on the device.
    a.doc_mut(&DocId::Dealer(dealer()))
        .unwrap()
        .resolve(&conflict.id, &json!("kept"), &stamp("m1", 4))
        .unwrap();
    let resp = hub.sync(&manager("m1"), &a.sync_request()).unwrap();
    assert_eq!(resp.rejected.len(), 1);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("role"));

    // Head office keeps "kept" (the current winner is "broken").
    ho.doc_mut(&DocId::Dealer(dealer()))
        .unwrap()
        .resolve(&conflict.id, &json!("kept"), &stamp("ho", 5))
        .unwrap();
    sync(&mut hub, &head_office(), &mut ho);
    sync(&mut hub, &manager("m2"), &mut b);
    for r in [&mut b, &mut ho] {
        assert!(conflicts(r).is_empty());
        let d = r.dealer(&dealer()).unwrap();
        let rec = d.record::<Commitment>(&cid).unwrap().unwrap();
        let s = Standing::of(&rec, "2026-11-20".parse().unwrap());
        assert_eq!((s.status, s.conflicted()), ("kept", false));
        assert_eq!(rec.status.0.len(), 3, "no step is deleted");
    }
}

#[test]
fn a_claim_approved_and_rejected_at_once_and_decided_approved_may_be_spent() {
    use fieldsync_core::ids::ClaimId;
    use fieldsync_core::model::{ClaimStage, ExpenseCategory, ExpenseClaim};
    use fieldsync_core::money::Money;
    use fieldsync_core::sync::Principal;
    use fieldsync_core::sync::Role;
    let regional = |u: &str| Principal {
        user: user(u),
        role: Role::Regional,
        territories: [territory()].into_iter().collect(),
    };
    let mut hub = hub_with_territory();
    let (mut m, mut r1, mut r2, mut ho) = (
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
    );
    sync(&mut hub, &manager("m1"), &mut m);
    m.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    let id: ClaimId = "cl-1".parse().unwrap();
    let amount = Money::new(50_000, "TWD".parse().unwrap()).unwrap();
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        amount,
        user("m1"),
        stamp("m1", 2).at,
    );
    m.dealer_mut(&dealer())
        .unwrap()
        .insert(&id, &claim, &stamp("m1", 2))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m);
    sync(&mut hub, &regional("r1"), &mut r1);
    sync(&mut hub, &regional("r2"), &mut r2);
    // Two regional managers decide at once: one approves, the other rejects.
    r1.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(&id, ClaimStage::Approved, Value::Null, &stamp("r1", 3))
        .unwrap();
    r2.dealer_mut(&dealer())
        .unwrap()
        .advance::<ExpenseClaim>(
            &id,
            ClaimStage::Rejected,
            json!({"reason": "超出預算"}),
            &stamp("r2", 3),
        )
        .unwrap();
    sync(&mut hub, &regional("r1"), &mut r1);
    sync(&mut hub, &regional("r2"), &mut r2);
    sync(&mut hub, &manager("m1"), &mut m);
    // Rejected wins the tie: nothing can be spent.
    let spend = |m: &mut Replica, at| {
        m.dealer_mut(&dealer()).unwrap().advance::<ExpenseClaim>(
            &id,
            ClaimStage::Spent,
            json!({"spent": {"minor": 40_000, "currency": "TWD"}}),
            &stamp("m1", at),
        )
    };
    assert!(spend(&mut m, 4).is_err());
    sync(&mut hub, &head_office(), &mut ho);
    let c = conflicts(&mut ho)
        .into_iter()
        .find(|c| c.kind == ConflictKind::Steps)
        .unwrap();
    ho.doc_mut(&DocId::Dealer(dealer()))
        .unwrap()
        .resolve(&c.id, &json!("approved"), &stamp("ho", 5))
        .unwrap();
    sync(&mut hub, &head_office(), &mut ho);
    sync(&mut hub, &manager("m1"), &mut m);
    // Decided approved: the manager records what was spent, and the server takes it.
    spend(&mut m, 6).unwrap();
    sync(&mut hub, &manager("m1"), &mut m);
    let rec = m
        .dealer(&dealer())
        .unwrap()
        .record::<ExpenseClaim>(&id)
        .unwrap()
        .unwrap();
    assert_eq!(
        Standing::of(&rec, "2026-11-20".parse().unwrap()).status,
        "spent"
    );
}
