//! Notes on a dealer at any time (issue 10, item 3): the `notes` collection a migration change adds to
//! existing dealer documents, written offline on two phones at once, and what the server refuses.

mod common;

use common::*;
use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
use fieldsync_core::automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocError, DocId, Document};
use fieldsync_core::ids::*;
use fieldsync_core::model::*;
use fieldsync_core::sync::*;

fn dealer() -> DealerId {
    "d-lin".parse().unwrap()
}

fn note(text: &str, by: &str, at: i64) -> Note {
    Note {
        text: text.into(),
        by: user(by),
        at: Timestamp(T0 + at),
    }
}

fn add_note(r: &mut Replica, text: &str, by: &str, at: i64) -> NoteId {
    let id = NoteId::random().unwrap();
    r.dealer_mut(&dealer())
        .unwrap()
        .insert(&id, &note(text, by, at), &stamp(by, at))
        .unwrap();
    id
}

fn notes(r: &Replica) -> Vec<String> {
    let mut out: Vec<String> = (r.dealer(&dealer()).unwrap().dealer_state().unwrap().notes)
        .into_values()
        .map(|n| n.text)
        .collect();
    out.sort();
    out
}

/// A hub with dealer d-lin (created by m1 before any note existed) and m1's and m2's synced replicas.
fn setup() -> (Hub, Replica, Replica) {
    let mut hub = hub_with_territory();
    let mut m1 = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    let mut m2 = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut m2);
    (hub, m1, m2)
}

#[test]
fn a_dealer_without_notes_reads_as_having_none() {
    let (_, m1, _) = setup();
    assert!(notes(&m1).is_empty());
    let doc = m1.dealer(&dealer()).unwrap();
    assert!(
        doc.record::<Note>(&"n1".parse().unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn notes_written_offline_on_two_phones_both_survive_the_merge() {
    let (mut hub, mut m1, mut m2) = setup();
    // Both phones are offline: each creates the notes collection (the same
    // migration change) and writes a note into it.
    add_note(&mut m1, "店長下月休假，補貨找副店長", "m1", 10);
    add_note(&mut m2, "週末人潮多，建議平日拜訪", "m2", 11);
    sync(&mut hub, &manager("m1"), &mut m1);
    sync(&mut hub, &manager("m2"), &mut m2);
    sync(&mut hub, &manager("m1"), &mut m1);
    let both = vec![
        "店長下月休假，補貨找副店長".to_owned(),
        "週末人潮多，建議平日拜訪".to_owned(),
    ];
    assert_eq!(notes(&m1), both);
    assert_eq!(notes(&m2), both);
    let id = DocId::Dealer(dealer());
    let bytes = hub.doc(&id).unwrap().automerge().clone().save();
    let stored = Document::load(&bytes, Hub::actor()).unwrap();
    assert_eq!(stored.dealer_state().unwrap().notes.len(), 2);
    assert!(m1.rejections().next().is_none());
    assert!(m2.rejections().next().is_none());
}

#[test]
fn a_new_dealer_takes_notes_before_its_first_sync() {
    let mut hub = hub_with_territory();
    let mut m1 = Replica::new().unwrap();
    sync(&mut hub, &manager("m1"), &mut m1);
    m1.create_dealer(&territory(), dealer(), &profile("林記"), &stamp("m1", 1))
        .unwrap();
    add_note(&mut m1, "新開發的潛在經銷商", "m1", 2);
    sync(&mut hub, &manager("m1"), &mut m1);
    assert!(m1.rejections().next().is_none());
    let mut m2 = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut m2);
    assert_eq!(notes(&m2), vec!["新開發的潛在經銷商".to_owned()]);
}

/// Pushes one hand-made change to d-lin, made on top of m1's copy by `make`.
fn push_raw(
    hub: &mut Hub,
    m1: &Replica,
    actor: Option<&str>,
    make: impl FnOnce(&mut AutoCommit),
) -> SyncResponse {
    let bytes = m1.dealer(&dealer()).unwrap().automerge().clone().save();
    let mut raw = AutoCommit::load(&bytes).unwrap();
    if let Some(a) = actor {
        raw.set_actor(ActorId::from(a.as_bytes().to_vec()));
    }
    make(&mut raw);
    let hash = raw
        .commit_with(CommitOptions::default().with_message(stamp("m1", 6).to_message()))
        .unwrap();
    let change = raw.get_change_by_hash(&hash).unwrap();
    let req = push_request(DocId::Dealer(dealer()), &[change]);
    hub.sync(&manager("m1"), &req).unwrap()
}

#[test]
fn a_note_signed_as_someone_else_is_refused_on_the_phone_and_by_the_server() {
    let (mut hub, mut m1, _) = setup();
    let id = NoteId::random().unwrap();
    let on_phone = m1.dealer_mut(&dealer()).unwrap().insert(
        &id,
        &note("冒名的筆記", "m2", 5),
        &stamp("m1", 5),
    );
    assert!(matches!(on_phone, Err(DocError::Schema(_))), "{on_phone:?}");
    add_note(&mut m1, "真的筆記", "m1", 5);
    sync(&mut hub, &manager("m1"), &mut m1);
    // A hand-made change, as from a device that skips the checks.
    let resp = push_raw(&mut hub, &m1, None, |raw| {
        let notes = raw.get(ROOT, "notes").unwrap().unwrap().1;
        let key = NoteId::random().unwrap().to_string();
        let n = raw.put_object(&notes, key.as_str(), ObjType::Map).unwrap();
        raw.put(&n, "text", "冒名的筆記").unwrap();
        raw.put(&n, "by", "m2").unwrap();
        raw.put(&n, "at", T0 + 6).unwrap();
    });
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
    assert_eq!(resp.rejected[0].code, RejectCode::Forbidden);
    assert_eq!(resp.rejected[0].rule.as_deref(), Some("forged_author"));
    assert_eq!(notes(&m1), vec!["真的筆記".to_owned()]);
}

#[test]
fn a_notes_map_made_by_a_device_instead_of_the_migration_is_refused() {
    let (mut hub, m1, _) = setup();
    let resp = push_raw(&mut hub, &m1, None, |raw| {
        raw.put_object(ROOT, "notes", ObjType::Map).unwrap();
    });
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
    // Under the migration's own actor, but not its byte-identical change.
    let resp = push_raw(
        &mut hub,
        &m1,
        Some("fieldsync-migration/2/dealer:d-lin"),
        |raw| {
            raw.put_object(ROOT, "notes", ObjType::Map).unwrap();
        },
    );
    assert_eq!(resp.rejected.len(), 1, "{:?}", resp.rejected);
    assert_eq!(resp.rejected[0].code, RejectCode::ReservedActor);
    let mut m2 = Replica::new().unwrap();
    sync(&mut hub, &manager("m2"), &mut m2);
    assert!(notes(&m2).is_empty());
    // The real migration still works after both refusals.
    add_note(&mut m2, "正常的筆記", "m2", 7);
    sync(&mut hub, &manager("m2"), &mut m2);
    assert!(m2.rejections().next().is_none());
}
