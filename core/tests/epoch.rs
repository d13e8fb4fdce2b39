//! A server database that went back in time (restored from an older copy, or a lagging replica promoted): devices notice, push again what it lacks, and converge; nothing they hold is lost.

mod common;

use common::*;
use fieldsync_core::ids::{DealerId, VisitId};
use fieldsync_core::model::{Visit, VisitPurpose};
use fieldsync_core::sync::{Cursor, Hub, Replica};

fn visit(r: &mut Replica, d: &DealerId, id: &str, who: &str, at: i64) -> VisitId {
    let v: VisitId = id.parse().unwrap();
    let mut visit = Visit::new(user(who), stamp(who, at).at);
    visit.purposes = [VisitPurpose::Training].into_iter().collect();
    r.dealer_mut(d)
        .unwrap()
        .insert(&v, &visit, &stamp(who, at))
        .unwrap();
    v
}

fn visits(r: &Replica, d: &DealerId) -> Vec<VisitId> {
    let state = r.dealer(d).unwrap().dealer_state().unwrap();
    state.visits.keys().cloned().collect()
}

/// Two devices work and sync; the hub is then restored to what it held before
/// the last round (`epoch` names the restored copy: a new one, or the same when
/// nobody renewed it).
fn restore_scenario(epoch: &str) {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    sync(&mut hub, &manager("m1"), &mut a);
    let d: DealerId = "d-lin".parse().unwrap();
    a.create_dealer(&territory(), d.clone(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    let v1 = visit(&mut a, &d, "v1", "m1", 2);
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    let backup = hub.feed_len(&territory());

    // After the backup: both devices record more, and both are told it is stored.
    let v2 = visit(&mut a, &d, "v2", "m1", 3);
    sync(&mut hub, &manager("m1"), &mut a);
    let v3 = visit(&mut b, &d, "v3", "m2", 4);
    sync(&mut hub, &manager("m2"), &mut b);
    assert_eq!(a.pending(), 0);
    assert_eq!(b.pending(), 0);

    // The database is restored from the backup: v2 and v3 are gone from the server.
    hub.restore_older(|_| backup, Cursor::at_epoch(epoch).unwrap())
        .unwrap();
    let held = |hub: &Hub| {
        hub.doc(&format!("dealer:{d}").parse().unwrap())
            .unwrap()
            .dealer_state()
            .unwrap()
            .visits
            .len()
    };
    assert_eq!(held(&hub), 1);

    // A third device writes to the restored copy before the others come back,
    // so feed numbers the others already read now name other changes.
    let mut c = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut c);
    let v4 = visit(&mut c, &d, "v4", "m2", 5);
    sync(&mut hub, &manager("m2"), &mut c);

    // The devices come back: each notices, pushes what the server lacks, reads again.
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m2"), &mut c);
    sync(&mut hub, &manager("m1"), &mut a);
    let all = vec![v1, v2, v3, v4];
    assert_eq!(held(&hub), 4, "the server holds every visit again");
    for r in [&a, &b, &c] {
        assert_eq!(visits(r, &d), all, "every device ends with every visit");
        assert_eq!(r.cursor().epoch(), Some(hub.epoch()));
    }
}

#[test]
fn a_restore_under_a_new_epoch_resets_devices_and_nothing_is_lost() {
    restore_scenario("restored-1");
}

#[test]
fn a_restore_nobody_renewed_the_epoch_of_is_noticed_by_cursors_past_the_feed() {
    // Same epoch as before ("hub"): the devices' cursors point past the restored
    // feed (each device read more than the copy holds), which is enough.
    restore_scenario("hub");
}

#[test]
fn a_device_in_step_with_the_database_is_never_reset() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut a);
    let resp = hub.sync(&manager("m1"), &a.sync_request()).unwrap();
    assert!(!resp.reset);
    assert!(resp.changes.is_empty());
    assert_eq!(resp.cursor.epoch(), Some("hub"));
}
