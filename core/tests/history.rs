//! Per-field audit history of a record: each write with its stamp, in order, and the values that
//! lost a concurrent write; the same answer on every replica; nothing for a record that is not there.

mod common;

use common::*;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::DocId;
use fieldsync_core::doc::history::{FieldHistory, HistoryError, RecordKind, RecordRef};
use fieldsync_core::geo::{GeoFix, GeoPoint};
use fieldsync_core::ids::{CommitmentId, DealerId, NoteId};
use fieldsync_core::model::{Commitment, CommitmentStatus, DealerProfile};
use fieldsync_core::sync::{Hub, Replica};
use serde_json::{Value, json};

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

fn kid() -> CommitmentId {
    "c-1".parse().unwrap()
}

fn commitment_ref() -> RecordRef {
    RecordRef::new(RecordKind::Commitment, "c-1").unwrap()
}

fn history(r: &mut Replica, record: &RecordRef) -> Option<Vec<FieldHistory>> {
    r.doc_mut(&DocId::Dealer(dealer())).unwrap().history(record)
}

fn field<'a>(h: &'a [FieldHistory], name: &str) -> &'a FieldHistory {
    h.iter()
        .find(|f| f.field == name)
        .unwrap_or_else(|| panic!("no field {name} in {h:#?}"))
}

fn values(f: &FieldHistory) -> Vec<Value> {
    f.writes.iter().map(|w| w.value.clone()).collect()
}

/// A dealer with commitment `c-1` ("送試用品"), made by m1 at T0+1.
fn with_commitment(hub: &mut Hub, a: &mut Replica) {
    sync(hub, &manager("m1"), a);
    a.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 0))
        .unwrap();
    let due: Day = "2026-12-31".parse().unwrap();
    let c = Commitment::new("送試用品", "林老闆", user("m1"), Timestamp(T0 + 1), due);
    a.dealer_mut(&dealer())
        .unwrap()
        .insert(&kid(), &c, &stamp("m1", 1))
        .unwrap();
    sync(hub, &manager("m1"), a);
}

#[test]
fn a_record_edited_three_times_shows_three_writes_in_order_with_their_stamps() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    with_commitment(&mut hub, &mut a);
    let mut located = stamp("m1", 3);
    located.gps = Some(GeoFix {
        point: GeoPoint {
            lat: 25.03,
            lon: 121.56,
        },
        accuracy_m: 12.0,
        manual: false,
    });
    for (text, st) in [("送兩箱試用品", stamp("m1", 2)), ("送三箱試用品", located)] {
        a.dealer_mut(&dealer())
            .unwrap()
            .update::<Commitment>(&kid(), &json!({ "what": text }), &st)
            .unwrap();
    }
    let h = history(&mut a, &commitment_ref()).unwrap();
    let what = field(&h, "what");
    assert_eq!(
        values(what),
        [
            json!("送試用品"),
            json!("送兩箱試用品"),
            json!("送三箱試用品")
        ]
    );
    let times: Vec<_> = what.writes.iter().map(|w| w.at).collect();
    assert_eq!(
        times,
        [1, 2, 3].map(|t| Some(Timestamp(T0 + t))),
        "each write carries its device time"
    );
    assert!(what.writes.iter().all(|w| w.user == Some(user("m1"))));
    assert!(
        what.writes
            .iter()
            .all(|w| w.device.as_ref().map(|d| d.as_str()) == Some("m1-phone"))
    );
    assert_eq!(what.writes[0].gps, None);
    assert_eq!(what.writes[2].gps.map(|g| g.point.lat), Some(25.03));
    assert!(
        what.writes
            .iter()
            .all(|w| !w.lost && w.lost_values.is_empty())
    );
    // Every write names its change, and the changes differ.
    let mut changes: Vec<_> = what.writes.iter().map(|w| w.change.clone()).collect();
    changes.dedup();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|c| c.len() == 64));
    // Fields written once have one write: the creation's.
    assert_eq!(values(field(&h, "to_whom")), [json!("林老闆")]);
}

#[test]
fn two_replicas_setting_one_field_concurrently_mark_the_loser_on_the_winner() {
    let mut hub = hub_with_territory();
    let (mut a, mut b, mut ho) = (
        Replica::new().unwrap(),
        Replica::new().unwrap(),
        Replica::new().unwrap(),
    );
    with_commitment(&mut hub, &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    for (r, who, due) in [(&mut a, "m1", "2027-01-15"), (&mut b, "m2", "2027-02-28")] {
        r.dealer_mut(&dealer())
            .unwrap()
            .update::<Commitment>(&kid(), &json!({ "due": due }), &stamp(who, 5))
            .unwrap();
    }
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m1"), &mut a);
    sync(&mut hub, &head_office(), &mut ho);

    let h = history(&mut ho, &commitment_ref()).unwrap();
    let due = field(&h, "due");
    assert_eq!(due.writes.len(), 3, "{due:#?}");
    assert_eq!(due.writes[0].value, json!("2026-12-31"));
    assert!(!due.writes[0].lost && due.writes[0].lost_values.is_empty());
    let shown = ho
        .dealer(&dealer())
        .unwrap()
        .record::<Commitment>(&kid())
        .unwrap()
        .unwrap()
        .due
        .to_string();
    let (winners, losers): (Vec<_>, Vec<_>) = due.writes[1..].iter().partition(|w| !w.lost);
    assert_eq!((winners.len(), losers.len()), (1, 1));
    let (winner, loser) = (winners[0], losers[0]);
    assert_eq!(
        winner.value,
        json!(shown),
        "the winner is what everyone sees"
    );
    assert_ne!(winner.user, loser.user, "both writers are listed");
    assert_eq!(winner.lost_values.len(), 1);
    let lost = &winner.lost_values[0];
    assert_eq!(lost.value, loser.value);
    assert_eq!(lost.change, loser.change);
    assert_eq!(lost.user, loser.user);
    assert_eq!(lost.at, Some(Timestamp(T0 + 5)));
    assert!(loser.lost_values.is_empty());

    // Every replica tells the same history.
    for r in [&mut a, &mut b] {
        sync(&mut hub, &manager("m1"), r);
    }
    sync(&mut hub, &manager("m2"), &mut b);
    assert_eq!(history(&mut a, &commitment_ref()).unwrap(), h);
    assert_eq!(history(&mut b, &commitment_ref()).unwrap(), h);
}

#[test]
fn a_write_made_after_seeing_another_did_not_compete_with_it() {
    let mut hub = hub_with_territory();
    let (mut a, mut b) = (Replica::new().unwrap(), Replica::new().unwrap());
    with_commitment(&mut hub, &mut a);
    sync(&mut hub, &manager("m2"), &mut b);
    b.dealer_mut(&dealer())
        .unwrap()
        .update::<Commitment>(&kid(), &json!({ "to_whom": "林太太" }), &stamp("m2", 4))
        .unwrap();
    sync(&mut hub, &manager("m2"), &mut b);
    sync(&mut hub, &manager("m1"), &mut a);
    a.dealer_mut(&dealer())
        .unwrap()
        .update::<Commitment>(&kid(), &json!({ "to_whom": "林老闆" }), &stamp("m1", 3))
        .unwrap();
    let h = history(&mut a, &commitment_ref()).unwrap();
    let to = field(&h, "to_whom");
    // Causal order, even though m1's clock is behind m2's.
    assert_eq!(
        values(to),
        [json!("林老闆"), json!("林太太"), json!("林老闆")]
    );
    assert!(
        to.writes
            .iter()
            .all(|w| !w.lost && w.lost_values.is_empty())
    );
}

#[test]
fn steps_and_notes_are_dotted_fields() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    with_commitment(&mut hub, &mut a);
    let doc = a.dealer_mut(&dealer()).unwrap();
    let note: NoteId = "n-1".parse().unwrap();
    doc.add_note::<Commitment>(&kid(), &note, "老闆說下週再談", &stamp("m1", 6))
        .unwrap();
    doc.advance::<Commitment>(&kid(), CommitmentStatus::Kept, json!(null), &stamp("m1", 7))
        .unwrap();
    let h = history(&mut a, &commitment_ref()).unwrap();
    assert_eq!(
        values(field(&h, "notes.n-1.text")),
        [json!("老闆說下週再談")]
    );
    assert_eq!(values(field(&h, "status.kept.by")), [json!("m1")]);
    let kept_at = &field(&h, "status.kept.at").writes[0];
    assert_eq!(kept_at.at, Some(Timestamp(T0 + 7)));
    assert_eq!(values(field(&h, "status.open.by")), [json!("m1")]);
    // Fields are listed by name, so the answer is the same each time.
    let names: Vec<&str> = h.iter().map(|f| f.field.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn the_profile_leaves_contacts_to_their_own_history() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    with_commitment(&mut hub, &mut a);
    let validate = |p: &DealerProfile| p.validate();
    a.dealer_mut(&dealer())
        .unwrap()
        .update_profile(
            &json!({"name": "林記商行", "contacts": {"p-1": {"name": "林老闆"}}}),
            &stamp("m1", 8),
            validate,
        )
        .unwrap();
    let h = history(&mut a, &RecordRef::profile()).unwrap();
    assert_eq!(
        values(field(&h, "name")),
        [json!("林記"), json!("林記商行")]
    );
    assert!(h.iter().all(|f| !f.field.starts_with("contacts")), "{h:#?}");
    let contact = RecordRef::new(RecordKind::Contact, "p-1").unwrap();
    let h = history(&mut a, &contact).unwrap();
    assert_eq!(values(field(&h, "name")), [json!("林老闆")]);
}

#[test]
fn an_unknown_record_has_no_history_and_bad_references_are_refused() {
    let mut hub = hub_with_territory();
    let mut a = Replica::new().unwrap();
    with_commitment(&mut hub, &mut a);
    let other = RecordRef::new(RecordKind::Commitment, "c-none").unwrap();
    assert_eq!(history(&mut a, &other), None);
    let visit = RecordRef::new(RecordKind::Visit, "c-1").unwrap();
    assert_eq!(
        history(&mut a, &visit),
        None,
        "a commitment's id is not a visit"
    );
    assert_eq!(
        "memo".parse::<RecordKind>(),
        Err(HistoryError::UnknownKind("memo".into()))
    );
    assert_eq!(
        RecordRef::new(RecordKind::Claim, "../x"),
        Err(HistoryError::BadId { kind: "claim" })
    );
    for k in RecordKind::ALL {
        assert_eq!(k.name().parse::<RecordKind>(), Ok(k));
    }
    // A territory's document holds no dealer records.
    let t = a.doc_mut(&DocId::Territory(territory())).unwrap();
    assert_eq!(t.history(&RecordRef::profile()), None);
}
