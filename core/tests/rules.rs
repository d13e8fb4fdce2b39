//! One test per validation rule and per merge rule of the domain model.

mod common;

use common::*;
use fieldsync_core::automerge::ActorId;
use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::doc::{DocError, Document};
use fieldsync_core::geo::{GeoFix, GeoPoint};
use fieldsync_core::ids::*;
use fieldsync_core::lifecycle::LifecycleError;
use fieldsync_core::model::*;
use fieldsync_core::money::{Currency, Money};
use fieldsync_core::sync::Replica;
use serde_json::json;

fn twd(minor: i64) -> Money {
    Money {
        minor,
        currency: "TWD".parse::<Currency>().unwrap(),
    }
}

fn dealer_doc(actor: &str) -> Document {
    Document::create_dealer(
        "d1".parse().unwrap(),
        territory(),
        &profile("林記"),
        &stamp("m1", 0),
        ActorId::from(actor.as_bytes().to_vec()),
    )
    .unwrap()
}

/// Two copies of one dealer document on two devices.
fn two_devices() -> (Document, Document) {
    let mut a = dealer_doc("aaaa");
    let mut b =
        Document::from_changes(a.changes_since(&[]), ActorId::from(b"bbbb".to_vec())).unwrap();
    assert_eq!(a.heads(), b.heads());
    (a, b)
}

fn merge(a: &mut Document, b: &mut Document) {
    let from_b = b.changes_since(&[]);
    let from_a = a.changes_since(&[]);
    a.apply(from_b).unwrap();
    b.apply(from_a).unwrap();
    assert_eq!(a.heads(), b.heads());
}

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

fn err_of(e: DocError) -> ValidationError {
    match e {
        DocError::Validation(v) => v,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Runs `f` and checks it failed without changing the document.
fn refused(doc: &mut Document, f: impl FnOnce(&mut Document) -> Result<(), DocError>) -> DocError {
    let before = doc.heads();
    let e = f(doc).expect_err("the operation should be refused");
    assert_eq!(
        doc.heads(),
        before,
        "a refused operation must change nothing"
    );
    e
}

// ---- validation rules --------------------------------------------------------

#[test]
fn a_dealer_needs_a_name_and_a_tier_from_1_to_5() {
    let mut p = profile(" ");
    assert_eq!(
        p.validate(),
        Err(ValidationError::Empty {
            field: "dealer name"
        })
    );
    p.name = "林記".into();
    p.tier = 9;
    assert_eq!(p.validate(), Err(ValidationError::Tier(9)));
    p.tier = 1;
    p.name = "x".repeat(201);
    assert!(matches!(
        p.validate(),
        Err(ValidationError::TooLong {
            field: "dealer name",
            max: 200
        })
    ));
}

#[test]
fn a_dealer_location_must_be_on_earth() {
    let mut doc = dealer_doc("aaaa");
    let e = refused(&mut doc, |d| {
        d.update_profile(
            &json!({"location": {"lat": 123.0, "lon": 10.0}}),
            &stamp("m1", 1),
            DealerProfile::validate,
        )
    });
    assert!(matches!(
        e,
        DocError::Validation(ValidationError::Geo { .. })
    ));
}

#[test]
fn a_visit_gps_fix_needs_a_positive_accuracy() {
    let mut doc = dealer_doc("aaaa");
    let mut v = Visit::new(user("m1"), Timestamp(T0));
    v.gps = Some(GeoFix {
        point: GeoPoint {
            lat: 25.0,
            lon: 121.5,
        },
        accuracy_m: 0.0,
        manual: false,
    });
    let e = refused(&mut doc, |d| {
        d.insert(&"v1".parse::<VisitId>().unwrap(), &v, &stamp("m1", 1))
    });
    assert!(matches!(
        e,
        DocError::Validation(ValidationError::Geo {
            field: "visit GPS",
            ..
        })
    ));
}

#[test]
fn negative_amounts_are_refused_everywhere() {
    let mut doc = dealer_doc("aaaa");
    let claim = ExpenseClaim::new(
        ExpenseCategory::Placement,
        "鋪市",
        twd(-100),
        user("m1"),
        Timestamp(T0),
    );
    let e = err_of(refused(&mut doc, |d| {
        d.insert(&"c1".parse::<ClaimId>().unwrap(), &claim, &stamp("m1", 1))
    }));
    assert!(matches!(
        e,
        ValidationError::Money {
            field: "claim amount",
            ..
        }
    ));

    let mut c = Commitment::new(
        "送貨架",
        "林老闆",
        user("m1"),
        Timestamp(T0),
        day("2026-12-31"),
    );
    c.amount = Some(twd(-1));
    let e = err_of(refused(&mut doc, |d| {
        d.insert(&"k1".parse::<CommitmentId>().unwrap(), &c, &stamp("m1", 1))
    }));
    assert!(matches!(
        e,
        ValidationError::Money {
            field: "commitment amount",
            ..
        }
    ));
}

#[test]
fn a_commitment_cannot_be_due_before_it_was_made() {
    let mut doc = dealer_doc("aaaa");
    let made = Timestamp(T0); // 2026-11-18
    let c = Commitment::new("送貨架", "林老闆", user("m1"), made, day("2026-11-01"));
    let e = err_of(refused(&mut doc, |d| {
        d.insert(&"k1".parse::<CommitmentId>().unwrap(), &c, &stamp("m1", 1))
    }));
    assert!(matches!(e, ValidationError::DueBeforeCreation { .. }));
    // and not by a later edit either
    let ok = Commitment::new("送貨架", "林老闆", user("m1"), made, day("2026-12-01"));
    let id: CommitmentId = "k2".parse().unwrap();
    doc.insert(&id, &ok, &stamp("m1", 1)).unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.update::<Commitment>(&id, &json!({"due": "2026-01-01"}), &stamp("m1", 2))
    }));
    assert!(matches!(e, ValidationError::DueBeforeCreation { .. }));
}

#[test]
fn an_activity_cannot_end_before_it_starts() {
    let mut doc = dealer_doc("aaaa");
    let a = Activity::planned(
        ActivityKind::CustomerEvent,
        "客戶聯誼會",
        day("2026-12-10"),
        day("2026-12-09"),
        user("m1"),
        Timestamp(T0),
    );
    let e = err_of(refused(&mut doc, |d| {
        d.insert(&"a1".parse::<ActivityId>().unwrap(), &a, &stamp("m1", 1))
    }));
    assert!(matches!(e, ValidationError::EndsBeforeStart { .. }));
}

fn claim_doc() -> (Document, ClaimId) {
    let mut doc = dealer_doc("aaaa");
    let id: ClaimId = "c1".parse().unwrap();
    let claim = ExpenseClaim::new(
        ExpenseCategory::SalesmanWage,
        "業務員工資補貼",
        twd(500_000),
        user("m1"),
        Timestamp(T0),
    );
    doc.insert(&id, &claim, &stamp("m1", 1)).unwrap();
    (doc, id)
}

#[test]
fn a_claim_that_was_never_spent_cannot_be_reconciled() {
    let (mut doc, id) = claim_doc();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<ExpenseClaim>(&id, ClaimStage::Reconciled, json!(null), &stamp("m1", 2))
    }));
    assert_eq!(
        e,
        ValidationError::Lifecycle(LifecycleError::NotAllowed {
            from: "requested",
            to: "reconciled"
        })
    );
    doc.advance::<ExpenseClaim>(&id, ClaimStage::Approved, json!(null), &stamp("rm", 2))
        .unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<ExpenseClaim>(&id, ClaimStage::Reconciled, json!(null), &stamp("m1", 3))
    }));
    assert_eq!(
        e,
        ValidationError::Lifecycle(LifecycleError::NotAllowed {
            from: "approved",
            to: "reconciled"
        })
    );
}

#[test]
fn spending_a_claim_needs_the_amount_spent_in_the_claims_currency() {
    let (mut doc, id) = claim_doc();
    doc.advance::<ExpenseClaim>(&id, ClaimStage::Approved, json!(null), &stamp("rm", 2))
        .unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<ExpenseClaim>(&id, ClaimStage::Spent, json!(null), &stamp("m1", 3))
    }));
    assert_eq!(e, ValidationError::SpentAmountRequired);
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<ExpenseClaim>(
            &id,
            ClaimStage::Spent,
            json!({"spent": {"minor": 100, "currency": "CNY"}}),
            &stamp("m1", 3),
        )
    }));
    assert!(matches!(e, ValidationError::CurrencyMismatch { .. }));
    doc.advance::<ExpenseClaim>(
        &id,
        ClaimStage::Spent,
        json!({"spent": {"minor": 480_000, "currency": "TWD"}}),
        &stamp("m1", 3),
    )
    .unwrap();
    doc.advance::<ExpenseClaim>(&id, ClaimStage::Reconciled, json!(null), &stamp("m1", 4))
        .unwrap();
    let claim = doc.record::<ExpenseClaim>(&id).unwrap().unwrap();
    assert_eq!(claim.status.current(), ClaimStage::Reconciled);
    assert_eq!(claim.spent, Some(twd(480_000)));
    assert_eq!(
        claim.status.step(ClaimStage::Approved).unwrap().by,
        user("rm")
    );
}

#[test]
fn a_rejected_claim_cannot_be_approved_afterwards() {
    let (mut doc, id) = claim_doc();
    doc.advance::<ExpenseClaim>(&id, ClaimStage::Rejected, json!(null), &stamp("rm", 2))
        .unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<ExpenseClaim>(&id, ClaimStage::Approved, json!(null), &stamp("rm", 3))
    }));
    assert!(matches!(
        e,
        ValidationError::Lifecycle(LifecycleError::NotAllowed {
            from: "rejected",
            ..
        })
    ));
}

#[test]
fn a_claims_amount_is_fixed_once_requested() {
    let (mut doc, id) = claim_doc();
    let e = refused(&mut doc, |d| {
        d.update::<ExpenseClaim>(
            &id,
            &json!({"amount": {"minor": 1, "currency": "TWD"}}),
            &stamp("m1", 2),
        )
    });
    assert!(matches!(e, DocError::NotEditable { field, .. } if field == "amount"));
    let e = refused(&mut doc, |d| {
        d.update::<ExpenseClaim>(
            &id,
            &json!({"status": {"approved": {"by": "m1", "at": 1}}}),
            &stamp("m1", 2),
        )
    });
    assert!(matches!(e, DocError::NotEditable { field, .. } if field == "status"));
}

#[test]
fn a_problem_is_resolved_only_with_a_resolution() {
    let mut doc = dealer_doc("aaaa");
    let id: ProblemId = "p1".parse().unwrap();
    doc.insert(
        &id,
        &Problem::new(
            ProblemCategory::Competitor,
            Severity::High,
            "競品降價",
            user("m1"),
            Timestamp(T0),
        ),
        &stamp("m1", 1),
    )
    .unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<Problem>(&id, ProblemStatus::Resolved, json!(null), &stamp("m1", 2))
    }));
    assert_eq!(e, ValidationError::ResolutionRequired);
    doc.advance::<Problem>(
        &id,
        ProblemStatus::Resolved,
        json!({"resolution": "調整促銷價"}),
        &stamp("m1", 2),
    )
    .unwrap();
    let e = err_of(refused(&mut doc, |d| {
        d.advance::<Problem>(&id, ProblemStatus::InProgress, json!(null), &stamp("m1", 3))
    }));
    assert!(matches!(
        e,
        ValidationError::Lifecycle(LifecycleError::NotAllowed {
            from: "resolved",
            to: "in_progress"
        })
    ));
}

#[test]
fn records_need_known_dealers_and_territories_and_fresh_ids() {
    let mut r = Replica::new().unwrap();
    let d: DealerId = "ghost".parse().unwrap();
    assert_eq!(
        r.dealer_mut(&d).err(),
        Some(DocError::UnknownDealer(d.clone()))
    );
    assert_eq!(
        r.create_dealer(&territory(), d, &profile("x"), &stamp("m1", 0))
            .err(),
        Some(DocError::UnknownTerritory(territory()))
    );

    let mut doc = dealer_doc("aaaa");
    let id: VisitId = "v1".parse().unwrap();
    let v = Visit::new(user("m1"), Timestamp(T0));
    doc.insert(&id, &v, &stamp("m1", 1)).unwrap();
    let e = refused(&mut doc, |d| d.insert(&id, &v, &stamp("m1", 2)));
    assert!(matches!(
        e,
        DocError::Duplicate {
            collection: "visits",
            ..
        }
    ));
    let e = refused(&mut doc, |d| {
        d.update::<Visit>(
            &"v9".parse().unwrap(),
            &json!({"summary": "x"}),
            &stamp("m1", 2),
        )
    });
    assert!(matches!(
        e,
        DocError::NotFound {
            collection: "visits",
            ..
        }
    ));
}

#[test]
fn photos_are_referenced_by_a_sha256_hash() {
    let mut doc = dealer_doc("aaaa");
    let id: VisitId = "v1".parse().unwrap();
    doc.insert(&id, &Visit::new(user("m1"), Timestamp(T0)), &stamp("m1", 1))
        .unwrap();
    let e = refused(&mut doc, |d| {
        d.update::<Visit>(
            &id,
            &json!({"photos": {"not-a-hash": {"mime": "image/jpeg", "bytes": 1}}}),
            &stamp("m1", 2),
        )
    });
    assert!(matches!(e, DocError::BadRecord { .. }));
    let h = "a".repeat(64);
    doc.update::<Visit>(
        &id,
        &json!({"photos": {h.clone(): {"mime": "image/jpeg", "bytes": 2048}}}),
        &stamp("m1", 2),
    )
    .unwrap();
    let v = doc.record::<Visit>(&id).unwrap().unwrap();
    assert_eq!(v.photos.keys().next().unwrap().to_string(), h);
}

#[test]
fn a_document_kind_only_takes_its_own_records() {
    let mut t = Document::create_territory(
        territory(),
        &Territory {
            name: "北區".into(),
            region: String::new(),
            managers: Default::default(),
            time_zone: None,
        },
        &stamp("ho", 0),
        ActorId::from(b"ho".to_vec()),
    )
    .unwrap();
    let e = refused(&mut t, |d| {
        d.insert(
            &"v1".parse::<VisitId>().unwrap(),
            &Visit::new(user("m1"), Timestamp(T0)),
            &stamp("ho", 1),
        )
    });
    assert!(matches!(e, DocError::WrongKind { .. }));
    assert!(t.dealer_state().is_err());
}

// ---- merge rules ---------------------------------------------------------------

#[test]
fn scalar_fields_last_writer_wins_and_the_loser_stays_readable() {
    let (mut a, mut b) = two_devices();
    a.update_profile(
        &json!({"address": "台北市中山路1號"}),
        &stamp("m1", 1),
        DealerProfile::validate,
    )
    .unwrap();
    b.update_profile(
        &json!({"address": "台北市中山路100號", "status": "dormant"}),
        &stamp("m2", 2),
        DealerProfile::validate,
    )
    .unwrap();
    merge(&mut a, &mut b);
    let (pa, pb) = (
        a.profile::<DealerProfile>().unwrap(),
        b.profile::<DealerProfile>().unwrap(),
    );
    assert_eq!(pa, pb);
    assert_eq!(pa.status, DealerStatus::Dormant);
    let c = a.conflicts();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].path, ["profile", "address"]);
    let all: Vec<_> = std::iter::once(&c[0].winner)
        .chain(&c[0].others)
        .map(|v| v.value.as_str().unwrap().to_owned())
        .collect();
    assert!(
        all.contains(&"台北市中山路1號".to_owned())
            && all.contains(&"台北市中山路100號".to_owned())
    );
    assert_eq!(pa.address, c[0].winner.value.as_str().unwrap());
    // writing the field again resolves the conflict
    a.update_profile(
        &json!({"address": "台北市中山路1號"}),
        &stamp("m1", 3),
        DealerProfile::validate,
    )
    .unwrap();
    assert!(a.conflicts().is_empty());
}

#[test]
fn a_claim_reconciled_on_one_device_and_approved_on_another_merges_to_reconciled() {
    let (mut a, mut b) = two_devices();
    let id: ClaimId = "c1".parse().unwrap();
    a.insert(
        &id,
        &ExpenseClaim::new(
            ExpenseCategory::Event,
            "客戶聯誼會",
            twd(300_000),
            user("m1"),
            Timestamp(T0),
        ),
        &stamp("m1", 1),
    )
    .unwrap();
    a.advance::<ExpenseClaim>(&id, ClaimStage::Approved, json!(null), &stamp("rm", 2))
        .unwrap();
    merge(&mut a, &mut b);
    a.advance::<ExpenseClaim>(
        &id,
        ClaimStage::Spent,
        json!({"spent": {"minor": 290_000, "currency": "TWD"}}),
        &stamp("m1", 3),
    )
    .unwrap();
    a.advance::<ExpenseClaim>(&id, ClaimStage::Reconciled, json!(null), &stamp("m1", 4))
        .unwrap();
    b.update::<ExpenseClaim>(
        &id,
        &json!({"purpose": "客戶聯誼會(中秋)"}),
        &stamp("m2", 5),
    )
    .unwrap();
    merge(&mut a, &mut b);
    let claim = b.record::<ExpenseClaim>(&id).unwrap().unwrap();
    assert_eq!(claim.status.current(), ClaimStage::Reconciled);
    assert_eq!(claim.purpose, "客戶聯誼會(中秋)");
}

#[test]
fn concurrent_kept_and_broken_is_a_visible_conflict_and_never_goes_back_to_open() {
    let (mut a, mut b) = two_devices();
    let id: CommitmentId = "k1".parse().unwrap();
    a.insert(
        &id,
        &Commitment::new(
            "年底前送展示架",
            "林老闆",
            user("m1"),
            Timestamp(T0),
            day("2026-12-31"),
        ),
        &stamp("m1", 1),
    )
    .unwrap();
    merge(&mut a, &mut b);
    a.advance::<Commitment>(&id, CommitmentStatus::Kept, json!(null), &stamp("m1", 2))
        .unwrap();
    b.advance::<Commitment>(&id, CommitmentStatus::Broken, json!(null), &stamp("m2", 3))
        .unwrap();
    merge(&mut a, &mut b);
    let c = a.record::<Commitment>(&id).unwrap().unwrap();
    assert_ne!(c.status.current(), CommitmentStatus::Open);
    assert!(c.status.is_conflicted());
    assert_eq!(c, b.record::<Commitment>(&id).unwrap().unwrap());
}

#[test]
fn notes_attendees_and_photos_added_on_both_sides_all_survive() {
    let (mut a, mut b) = two_devices();
    let id: VisitId = "v1".parse().unwrap();
    a.insert(&id, &Visit::new(user("m1"), Timestamp(T0)), &stamp("m1", 1))
        .unwrap();
    merge(&mut a, &mut b);
    a.add_note::<Visit>(
        &id,
        &"n-a".parse().unwrap(),
        "店面陳列良好",
        &stamp("m1", 2),
    )
    .unwrap();
    b.add_note::<Visit>(
        &id,
        &"n-b".parse().unwrap(),
        "Owner asked for more stock",
        &stamp("m2", 2),
    )
    .unwrap();
    a.update::<Visit>(&id, &json!({"attendees": {"林老闆": true}, "photos": {"a".repeat(64): {"mime": "image/jpeg", "bytes": 10}}}), &stamp("m1", 3)).unwrap();
    b.update::<Visit>(&id, &json!({"attendees": {"王店長": true}, "photos": {"b".repeat(64): {"mime": "image/jpeg", "bytes": 20}}}), &stamp("m2", 3)).unwrap();
    merge(&mut a, &mut b);
    let v = a.record::<Visit>(&id).unwrap().unwrap();
    assert_eq!(v, b.record::<Visit>(&id).unwrap().unwrap());
    assert_eq!(v.notes.len(), 2);
    assert_eq!(v.attendees.len(), 2);
    assert_eq!(v.photos.len(), 2);
    assert!(a.conflicts().is_empty());
}

#[test]
fn two_devices_creating_the_same_document_offline_do_not_hide_each_others_records() {
    // Both devices create dealer d1 (e.g. from the same import) before either syncs.
    let mut a = dealer_doc("aaaa");
    let mut b = dealer_doc("bbbb");
    a.insert(
        &"va".parse::<VisitId>().unwrap(),
        &Visit::new(user("m1"), Timestamp(T0)),
        &stamp("m1", 1),
    )
    .unwrap();
    b.insert(
        &"vb".parse::<VisitId>().unwrap(),
        &Visit::new(user("m2"), Timestamp(T0)),
        &stamp("m2", 1),
    )
    .unwrap();
    merge(&mut a, &mut b);
    let s = a.dealer_state().unwrap();
    assert_eq!(s.visits.len(), 2, "both visits are visible after the merge");
    assert_eq!(s, b.dealer_state().unwrap());
}

#[test]
fn edits_carry_their_author_device_and_time() {
    let mut doc = dealer_doc("aaaa");
    let st = stamp("m1", 5_000);
    doc.update_profile(&json!({"tier": 1}), &st, DealerProfile::validate)
        .unwrap();
    let last = doc.changes_since(&[]).pop().unwrap();
    assert_eq!(
        fieldsync_core::stamp::Stamp::from_message(last.message()),
        Some(st.clone())
    );
    assert_eq!(last.timestamp(), st.at.seconds());
}

#[test]
fn an_overdue_commitment_is_open_and_past_due() {
    let c = Commitment::new(
        "送貨架",
        "林老闆",
        user("m1"),
        Timestamp(T0),
        day("2026-11-20"),
    );
    assert!(!c.is_overdue(day("2026-11-20")));
    assert!(c.is_overdue(day("2026-11-21")));
}

#[test]
fn records_and_profile_as_json_are_the_typed_values_written_back() {
    let mut doc = dealer_doc("aaaa");
    let id: VisitId = "v1".parse().unwrap();
    let mut visit = Visit::new(user("m1"), Timestamp(T0));
    visit.purposes = [VisitPurpose::Training, VisitPurpose::JointVisit]
        .into_iter()
        .collect();
    visit.gps = Some(GeoFix {
        point: GeoPoint {
            lat: 25.5,
            lon: 121.25,
        },
        accuracy_m: 8.0,
        manual: false,
    });
    doc.insert(&id, &visit, &stamp("m1", 1)).unwrap();
    doc.add_note::<Visit>(&id, &"n1".parse().unwrap(), "好", &stamp("m1", 2))
        .unwrap();
    doc.update::<Visit>(
        &id,
        &json!({"attendees": {"林老闆": true, "王店長": true}}),
        &stamp("m1", 3),
    )
    .unwrap();
    let typed = serde_json::to_value(doc.records::<Visit>().unwrap()).unwrap();
    assert_eq!(
        serde_json::Value::Object(doc.records_json::<Visit>().unwrap()),
        typed
    );
    assert_eq!(
        serde_json::Value::Object(doc.records_json::<Problem>().unwrap()),
        json!({})
    );
    assert_eq!(
        doc.profile_json::<DealerProfile>().unwrap(),
        serde_json::to_value(doc.profile::<DealerProfile>().unwrap()).unwrap()
    );
}
