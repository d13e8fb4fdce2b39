//! Two managers and head office syncing through the reference hub.

mod common;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::{Visit, VisitPurpose};
use fieldsync_core::sync::Replica;
use serde_json::json;

#[test]
fn a_dealer_created_offline_reaches_the_other_manager_and_head_office() {
    let mut hub = hub_with_territory();
    let (mut a, mut b, mut ho) = (
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
    );
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);

    let d: DealerId = "d-lin".parse().unwrap();
    a.create_dealer(
        &territory(),
        d.clone(),
        &profile("林記商行"),
        &stamp("m1", 10),
    )
    .unwrap();
    let v: VisitId = "v1".parse().unwrap();
    let mut visit = Visit::new(user("m1"), stamp("m1", 20).at);
    visit.purposes = [VisitPurpose::Training].into_iter().collect();
    a.dealer_mut(&d)
        .unwrap()
        .insert(&v, &visit, &stamp("m1", 20))
        .unwrap();
    assert_eq!(a.pending(), 4);

    sync(&mut hub, &manager("m1"), &mut a);
    assert_eq!(a.pending(), 0);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &head_office(), &mut ho);
    for r in [&b, &ho] {
        let state = r.dealer(&d).unwrap().dealer_state().unwrap();
        assert_eq!(state.profile.name, "林記商行");
        assert_eq!(state.visits.get(&v), Some(&visit));
    }
}

#[test]
fn concurrent_edits_of_one_field_converge_and_keep_the_loser_readable() {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    sync(&mut hub, &manager("m1"), &mut a);
    let d: DealerId = "d-lin".parse().unwrap();
    a.create_dealer(&territory(), d.clone(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);

    let validate = |p: &fieldsync_core::model::DealerProfile| p.validate();
    a.dealer_mut(&d)
        .unwrap()
        .update_profile(&json!({"name": "林記商行"}), &stamp("m1", 2), validate)
        .unwrap();
    b.dealer_mut(&d)
        .unwrap()
        .update_profile(
            &json!({"name": "林記貿易", "tier": 1}),
            &stamp("m2", 3),
            validate,
        )
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m1"), &mut a);

    let id = DocId::Dealer(d.clone());
    let (sa, sb) = (
        a.dealer(&d).unwrap().dealer_state().unwrap(),
        b.dealer(&d).unwrap().dealer_state().unwrap(),
    );
    assert_eq!(sa, sb);
    assert_eq!(sa.profile.tier, 1, "the uncontested field keeps its edit");
    let conflicts = a.doc_mut(&id).unwrap().conflicts();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!(c.path, ["profile", "name"]);
    let mut values: Vec<_> = std::iter::once(&c.winner)
        .chain(&c.others)
        .map(|v| v.value.clone())
        .collect();
    values.sort_by_key(|v| v.to_string());
    assert_eq!(values, [json!("林記商行"), json!("林記貿易")]);
    assert!(c.others[0].by.is_some());
}

#[test]
fn the_same_response_twice_or_an_old_one_late_changes_nothing() {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    let d: DealerId = "d-lin".parse().unwrap();
    a.create_dealer(&territory(), d.clone(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);

    let old = hub.sync(&manager("m2"), &b.sync_request()).unwrap();
    b.apply_response(&old).unwrap();
    a.dealer_mut(&d)
        .unwrap()
        .update_profile(
            &json!({"tier": 1}),
            &stamp("m1", 2),
            |p: &fieldsync_core::model::DealerProfile| p.validate(),
        )
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    let new = hub.sync(&manager("m2"), &b.sync_request()).unwrap();
    b.apply_response(&new).unwrap();
    let id = DocId::Dealer(d.clone());
    let (heads, cursor) = (b.doc_mut(&id).unwrap().heads(), b.cursor().clone());

    // A duplicate of the latest response, then a stale one arriving late.
    for resp in [&new, &old, &new] {
        let report = b.apply_response(resp).unwrap();
        assert!(report.errors.is_empty() && report.updated.is_empty());
    }
    assert_eq!(b.doc_mut(&id).unwrap().heads(), heads);
    assert_eq!(b.cursor(), &cursor, "the cursor never moves back");
    assert_eq!(
        b.dealer(&d).unwrap().dealer_state().unwrap().profile.tier,
        1
    );
}
