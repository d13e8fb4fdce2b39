//! Two managers and head office syncing through the reference hub.

mod common;

use common::*;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::{Visit, VisitPurpose};
use fieldsync_core::sync::{Hub, PushLimits, RejectCode, Replica, SyncRequest};
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

#[test]
fn one_bad_document_holds_back_neither_the_others_nor_the_feed() {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    sync(&mut hub, &manager("m1"), &mut a);
    let (good, bad): (DealerId, DealerId) = ("d-lin".parse().unwrap(), "d-hua".parse().unwrap());
    for d in [&good, &bad] {
        a.create_dealer(&territory(), d.clone(), &profile("店"), &stamp("m1", 1))
            .unwrap();
    }
    sync(&mut hub, &manager("m1"), &mut a);

    // The feed brings both dealers; one arrives as bytes that are no Automerge change.
    let mut resp = hub.sync(&manager("m2"), &b.sync_request()).unwrap();
    let bad_id = DocId::Dealer(bad.clone());
    for dc in resp.changes.iter_mut().filter(|dc| dc.doc == bad_id) {
        for c in &mut dc.changes {
            c.0 = b"not a change".to_vec();
        }
    }
    let report = b.apply_response(&resp).unwrap();
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].0, bad_id);
    assert!(b.dealer(&good).is_ok(), "the good dealer arrived");
    assert_eq!(
        b.cursor(),
        &resp.cursor,
        "the feed moved on: no re-download of the page"
    );

    // On the device, a stored document that will not load is left out and named.
    let meta = b.meta();
    let saved = b.save_doc(&DocId::Dealer(good.clone())).unwrap();
    let (restored, damaged) = Replica::restore_skipping(meta, [b"garbage".to_vec(), saved]);
    assert_eq!(damaged.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0]);
    assert!(restored.dealer(&good).is_ok());
}

fn shape(req: &SyncRequest) -> (usize, usize) {
    (
        req.push.len(),
        req.push.iter().map(|p| p.changes.len()).sum(),
    )
}

fn offline_dealers(r: &mut Replica, n: usize) {
    for i in 0..n {
        let d: DealerId = format!("d-{i:02}").parse().unwrap();
        r.create_dealer(&territory(), d, &profile("店"), &stamp("m1", i as i64))
            .unwrap();
    }
}

#[test]
fn a_backlog_goes_in_requests_within_the_limits_the_server_states() {
    let mut hub = hub_with_territory();
    let limits = PushLimits {
        max_docs: 3,
        max_changes: 5,
        ..PushLimits::default()
    };
    hub.push_limits = Some(limits);
    let mut a = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    offline_dealers(&mut a, 10);
    let mut rounds = 0;
    loop {
        let req = a.sync_request();
        let (docs, changes) = shape(&req);
        assert!(docs <= 3 && changes <= 5, "{docs} docs, {changes} changes");
        let resp = hub.sync(&manager("m1"), &req).unwrap();
        let report = a.apply_response(&resp).unwrap();
        rounds += 1;
        if !report.more {
            break;
        }
        assert!(rounds < 100);
    }
    assert!(rounds >= 4, "{rounds} requests");
    assert_eq!(a.pending(), 0);
    let mut b = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut b);
    assert_eq!(b.doc_ids().count(), 11);
}

#[test]
fn a_413_shrinks_the_next_request_until_one_change_is_refused_on_the_device() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    offline_dealers(&mut a, 6);
    let mut last = a.sync_request();
    let mut refused = 0;
    // A server that answers 413 to everything: every request is smaller than the one before.
    for _ in 0..50 {
        assert!(a.too_large(None));
        let next = a.sync_request();
        if next.push.is_empty() {
            break;
        }
        let (d0, c0) = shape(&last);
        let (d1, c1) = shape(&next);
        assert!(
            c1 < c0 || d1 < d0 || next.push[0].doc != last.push[0].doc,
            "{d0}/{c0} then {d1}/{c1}"
        );
        if c0 == 1 {
            refused += 1;
        }
        last = next;
    }
    assert!(
        a.sync_request().push.is_empty(),
        "nothing is retried forever"
    );
    let rejections: Vec<_> = a.rejections().collect();
    assert_eq!(rejections.len(), 7, "every document is shown refused");
    assert!(rejections.iter().all(|r| r.code == RejectCode::TooLarge));
    assert_eq!(refused, 6, "one at a time, each after a one-change request");

    // A 413 that states smaller limits: the next request keeps within them.
    let mut b = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut b);
    offline_dealers(&mut b, 6);
    b.sync_request();
    assert!(b.too_large(Some(PushLimits {
        max_docs: 2,
        ..PushLimits::default()
    })));
    assert!(b.sync_request().push.len() <= 2);
}

/// A server that answers a request only if it carries at most `docs` documents
/// and `changes` changes, and otherwise times out after committing the first
/// `committed` documents of it (the answer is lost). From round `drop_at` on it
/// can take half as much. Returns (rounds, timeouts).
fn drain_against_a_slow_server(
    hub: &mut Hub,
    a: &mut Replica,
    (docs, changes): (usize, usize),
    committed: usize,
    drop_at: usize,
) -> (usize, usize) {
    let (mut rounds, mut timeouts) = (0, 0);
    loop {
        let (docs, changes) = if rounds >= drop_at {
            (docs.div_ceil(2), changes.div_ceil(2))
        } else {
            (docs, changes)
        };
        let req = a.sync_request();
        rounds += 1;
        assert!(rounds < 2_000, "the backlog never drained");
        let (d, c) = shape(&req);
        if d > docs || c > changes {
            let mut part = req.clone();
            part.push.truncate(committed.min(d));
            hub.sync(&manager("m1"), &part).unwrap();
            assert!(a.too_slow(), "{d} documents, {c} changes can shrink");
            let (d2, c2) = shape(&a.sync_request());
            assert!(
                d2 < d || c2 < c,
                "{d}/{c} then {d2}/{c2}: never the same again"
            );
            timeouts += 1;
            continue;
        }
        let resp = hub.sync(&manager("m1"), &req).unwrap();
        let report = a.apply_response(&resp).unwrap();
        assert!(report.errors.is_empty() && report.rejected.is_empty());
        if !report.more {
            return (rounds, timeouts);
        }
    }
}

fn offline_visits(r: &mut Replica, dealers: usize, visits: usize) {
    for i in 0..dealers {
        let d: DealerId = format!("d-{i:02}").parse().unwrap();
        for k in 0..visits {
            let v: VisitId = format!("v-{i:02}-{k}").parse().unwrap();
            let s = stamp("m1", (100 + i * 10 + k) as i64);
            let visit = Visit::new(user("m1"), s.at);
            r.dealer_mut(&d).unwrap().insert(&v, &visit, &s).unwrap();
        }
    }
}

#[test]
fn a_timeout_halves_the_next_request_without_refusing_anything() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    offline_dealers(&mut a, 40);
    // 40 new dealers (two changes each) and the territory listing them (40 changes).
    assert_eq!(shape(&a.sync_request()), (41, 120));
    let budget = |a: &Replica| (a.push_limits().max_docs, a.push_limits().max_changes);
    assert!(a.too_slow());
    assert_eq!(budget(&a), (20, 60), "half as much");
    assert_eq!(
        shape(&a.sync_request()),
        (11, 60),
        "the territory and ten dealers"
    );
    assert!(a.too_slow());
    assert_eq!(budget(&a), (5, 30));
    // Answered: the next may carry twice as much again.
    let resp = hub.sync(&manager("m1"), &a.sync_request()).unwrap();
    assert!(a.apply_response(&resp).unwrap().more);
    assert_eq!(budget(&a), (10, 60));
    // Down to one document of one change, which is still sent, never refused.
    loop {
        a.sync_request();
        if !a.too_slow() {
            break;
        }
    }
    let one = a.sync_request();
    assert_eq!(shape(&one), (1, 1));
    assert!(
        !a.too_slow(),
        "nothing left to take out: wait and send it again"
    );
    assert_eq!(a.sync_request(), one);
    assert_eq!(a.rejections().count(), 0);
    // Once drained, the next backlog starts at the server's limits again.
    let (rounds, _) = drain_against_a_slow_server(&mut hub, &mut a, (1000, 1000), 0, 1000);
    assert!(rounds <= 30, "{rounds} rounds");
    offline_visits(&mut a, 30, 1);
    assert_eq!(shape(&a.sync_request()), (30, 30));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Whatever the backlog and however little the server can answer in time
    /// (even as that shrinks), the device drains it, in a number of timeouts
    /// logarithmic in its size, and the other manager receives all of it.
    #[test]
    fn any_backlog_drains_in_a_bounded_number_of_rounds_however_slow_the_server(
        dealers in 1usize..40,
        visits in 0usize..4,
        docs in 1usize..30,
        changes in 1usize..60,
        committed in 0usize..8,
        drop_at in 0usize..12,
    ) {
        let mut hub = hub_with_territory();
        let mut a = Replica::new().unwrap();
        sync(&mut hub, &manager("m1"), &mut a);
        offline_dealers(&mut a, dealers);
        offline_visits(&mut a, dealers, visits);
        let backlog = a.pending();
        let (rounds, timeouts) =
            drain_against_a_slow_server(&mut hub, &mut a, (docs, changes), committed, drop_at);
        proptest::prop_assert_eq!(a.pending(), 0);
        // Each of the two budgets halves at most once per doubling of the backlog,
        // and again once the server slows down. (When the server commits part of a
        // request before it times out, the timeouts still each make progress but
        // are not logarithmic: about one per four changes at a capacity of one
        // change, see issue 8; the rounds bound below still holds.)
        let log = (usize::BITS - backlog.leading_zeros()) as usize;
        if committed == 0 {
            proptest::prop_assert!(timeouts <= 4 * (log + 1), "{timeouts} timeouts for {backlog} changes");
        }
        proptest::prop_assert!(rounds <= backlog + timeouts + 1, "{rounds} rounds for {backlog} changes");
        let mut b = Replica::new().unwrap();
        sync(&mut hub, &manager("m2"), &mut b);
        for i in 0..dealers {
            let d: DealerId = format!("d-{i:02}").parse().unwrap();
            proptest::prop_assert_eq!(b.dealer(&d).unwrap().dealer_state().unwrap().visits.len(), visits);
        }
    }
}
