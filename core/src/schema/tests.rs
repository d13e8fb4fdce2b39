//! Unit tests of the schema: each rule refuses what it names, on raw edits and through the device's edit path.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, ObjType, ROOT, ReadDoc};
use serde_json::json;

use super::*;
use crate::calendar::Timestamp;
use crate::doc::{DocError, Document};
use crate::ids::{ClaimId, DeviceId, HandoverId, UserId, VisitId};
use crate::model::{
    DealerKind, DealerProfile, DealerStatus, ExpenseCategory, ExpenseClaim, Record, Visit,
};
use crate::money::Money;
use crate::stamp::Stamp;

fn user(s: &str) -> UserId {
    s.parse().unwrap()
}

fn stamp(u: &str, n: i64) -> Stamp {
    Stamp::new(
        user(u),
        DeviceId::random().unwrap(),
        Timestamp(1_767_225_600_000 + n),
    )
}

/// A dealer with visit v1 and claim c1, both by m1.
fn dealer() -> Document {
    let profile = DealerProfile::new("林記", DealerKind::Retailer, 2, DealerStatus::Active);
    let s = stamp("m1", 0);
    let mut doc = Document::create_dealer(
        "d1".parse().unwrap(),
        "t1".parse().unwrap(),
        &profile,
        &s,
        ActorId::from(b"aaaa".to_vec()),
    )
    .unwrap();
    let v: VisitId = "v1".parse().unwrap();
    doc.insert(&v, &Visit::new(user("m1"), s.at), &s).unwrap();
    let c: ClaimId = "c1".parse().unwrap();
    let amount = Money::new(100, "TWD".parse().unwrap()).unwrap();
    let claim = ExpenseClaim::new(ExpenseCategory::Other, "x", amount, user("m1"), s.at);
    doc.insert(&c, &claim, &s).unwrap();
    doc
}

/// Makes a raw change with `f` as `who` (role `role`) and checks it as the server does.
fn raw(
    doc: &Document,
    who: &str,
    role: Role,
    f: impl FnOnce(&mut automerge::AutoCommit),
) -> Result<(), Violation> {
    raw_within(doc, who, role, None, f)
}

/// As [`raw`], for an author with approval limit `limit`.
fn raw_within(
    doc: &Document,
    who: &str,
    role: Role,
    limit: Option<&[Money]>,
    f: impl FnOnce(&mut automerge::AutoCommit),
) -> Result<(), Violation> {
    raw_author(doc, who, role, limit, None, f)
}

/// As [`raw`], for an author with approval limit `limit`, incoming manager of `incoming`.
fn raw_author(
    doc: &Document,
    who: &str,
    role: Role,
    limit: Option<&[Money]>,
    incoming: Option<&[HandoverId]>,
    f: impl FnOnce(&mut automerge::AutoCommit),
) -> Result<(), Violation> {
    let mut am = doc.automerge().clone();
    am.set_actor(ActorId::from(b"mallory".to_vec()));
    f(&mut am);
    am.commit_with(CommitOptions::default().with_message(stamp(who, 9).to_message()));
    let change = am.get_last_local_change().unwrap();
    let u = user(who);
    check_change(
        &mut am,
        &change,
        DocKind::Dealer,
        &Author {
            user: &u,
            role: Some(role),
            limit,
            authority: None,
            incoming,
        },
    )
}

fn obj(am: &automerge::AutoCommit, path: &[&str]) -> automerge::ObjId {
    path.iter()
        .fold(ROOT, |o, k| am.get(&o, *k).unwrap().unwrap().1)
}

fn rule(r: Result<(), Violation>) -> Rule {
    r.expect_err("refused").rule
}

#[test]
fn an_honest_edit_passes() {
    let doc = dealer();
    raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits", "v1"]);
        am.put(&v, "summary", "談妥陳列").unwrap();
    })
    .unwrap();
}

#[test]
fn unknown_keys_and_nesting_are_refused() {
    let doc = dealer();
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits", "v1"]);
        let mut o = am.put_object(&v, "x", ObjType::Map).unwrap();
        for _ in 0..50 {
            o = am.put_object(&o, "x", ObjType::Map).unwrap();
        }
    });
    assert_eq!(rule(r), Rule::UnknownField);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        am.put(ROOT, "extra", 1).unwrap();
    });
    assert_eq!(rule(r), Rule::UnknownField);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits", "v1"]);
        am.put_object(&v, "summary", ObjType::List).unwrap();
    });
    assert_eq!(rule(r), Rule::WrongType);
}

#[test]
fn limits_and_types_are_checked() {
    let doc = dealer();
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let p = obj(am, &["profile"]);
        am.put(&p, "tier", 9).unwrap();
    });
    assert_eq!(rule(r), Rule::OutOfRange);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let p = obj(am, &["profile"]);
        am.put(&p, "name", "x".repeat(201)).unwrap();
    });
    assert_eq!(rule(r), Rule::OutOfRange);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let p = obj(am, &["profile"]);
        am.put(&p, "name", 5).unwrap();
    });
    assert_eq!(rule(r), Rule::WrongType);
}

#[test]
fn grow_only_maps_refuse_deletes_and_replacements() {
    let doc = dealer();
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits"]);
        am.delete(&v, "v1").unwrap();
    });
    assert_eq!(rule(r), Rule::Deleted);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let s = obj(am, &["claims", "c1", "status"]);
        am.delete(&s, "requested").unwrap();
    });
    assert_eq!(rule(r), Rule::Deleted);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits"]);
        am.put_object(&v, "v1", ObjType::Map).unwrap();
    });
    assert_eq!(rule(r), Rule::Replaced);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        am.delete(ROOT, "visits").unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
}

#[test]
fn a_contact_or_brand_that_left_is_marked_gone_never_deleted() {
    use crate::model::{Brand, Contact};
    let mut profile = DealerProfile::new("林記", DealerKind::Retailer, 2, DealerStatus::Active);
    let contact = Contact {
        name: "王經理".into(),
        role: String::new(),
        phone: None,
        email: None,
        gone: false,
    };
    profile.contacts.insert("k1".parse().unwrap(), contact);
    let brand = Brand {
        exclusive: true,
        gone: false,
    };
    profile.brands.insert("好味".into(), brand);
    let doc = Document::create_dealer(
        "d1".parse().unwrap(),
        "t1".parse().unwrap(),
        &profile,
        &stamp("m1", 0),
        ActorId::from(b"aaaa".to_vec()),
    )
    .unwrap();
    raw(&doc, "m1", Role::Manager, |am| {
        let c = obj(am, &["profile", "contacts", "k1"]);
        am.put(&c, "gone", true).unwrap();
        let b = obj(am, &["profile", "brands", "好味"]);
        am.put(&b, "gone", true).unwrap();
    })
    .unwrap();
    for (coll, key) in [("contacts", "k1"), ("brands", "好味")] {
        let r = raw(&doc, "m1", Role::Manager, |am| {
            let m = obj(am, &["profile", coll]);
            am.delete(&m, key).unwrap();
        });
        assert_eq!(rule(r), Rule::Deleted, "{coll}");
    }
}

#[test]
fn fixed_fields_and_authors() {
    let doc = dealer();
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let a = obj(am, &["claims", "c1", "amount"]);
        am.put(&a, "minor", 1_000_000).unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
    let r = raw(&doc, "m1", Role::Manager, |am| {
        let v = obj(am, &["visits"]);
        let n = am.put_object(&v, "v2", ObjType::Map).unwrap();
        am.put(&n, "manager", "m2").unwrap();
        am.put(&n, "at", 1).unwrap();
    });
    assert_eq!(rule(r), Rule::ForgedAuthor);
}

#[test]
fn lifecycle_steps_follow_each_other_and_approvers_are_not_requesters() {
    let doc = dealer();
    let step = |stage: &'static str, by: &'static str| {
        move |am: &mut automerge::AutoCommit| {
            let s = obj(am, &["claims", "c1", "status"]);
            let st = am.put_object(&s, stage, ObjType::Map).unwrap();
            am.put(&st, "by", by).unwrap();
            am.put(&st, "at", 5).unwrap();
        }
    };
    assert_eq!(
        rule(raw(&doc, "m1", Role::Manager, step("reconciled", "m1"))),
        Rule::Transition
    );
    assert_eq!(
        rule(raw(&doc, "m1", Role::Manager, step("approved", "m1"))),
        Rule::Role
    );
    assert_eq!(
        rule(raw(&doc, "m1", Role::Regional, step("approved", "m1"))),
        Rule::SelfApproval
    );
    assert_eq!(
        rule(raw(&doc, "ho", Role::Admin, step("approved", "ho"))),
        Rule::Role
    );
    raw(&doc, "rm", Role::Regional, step("approved", "rm")).unwrap();
}

#[test]
fn the_device_refuses_the_same_edits_before_making_them() {
    let mut doc = dealer();
    let heads = doc.heads();
    let v: VisitId = "v1".parse().unwrap();
    let e = doc
        .update::<Visit>(&v, &json!({"purposes": null}), &stamp("m1", 3))
        .unwrap_err();
    assert!(
        matches!(
            e,
            DocError::Schema(Violation {
                rule: Rule::Deleted,
                ..
            })
        ),
        "{e:?}"
    );
    let e = doc
        .insert(
            &"v9".parse::<VisitId>().unwrap(),
            &Visit::new(user("m2"), Timestamp(1)),
            &stamp("m1", 3),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            DocError::Schema(Violation {
                rule: Rule::ForgedAuthor,
                ..
            })
        ),
        "{e:?}"
    );
    assert_eq!(doc.heads(), heads, "nothing was written");
    // A set member removed locally is switched off, not deleted.
    doc.update::<Visit>(&v, &json!({"attendees": {"Amy": true}}), &stamp("m1", 4))
        .unwrap();
    doc.update::<Visit>(&v, &json!({"attendees": {"Amy": null}}), &stamp("m1", 5))
        .unwrap();
    assert!(
        doc.record::<Visit>(&v)
            .unwrap()
            .unwrap()
            .attendees
            .is_empty()
    );
}

/// `Record::EDITABLE` (what `Document::update` accepts) is exactly the table's
/// editable fields of each record, leaving out lifecycles and notes.
#[test]
fn editable_fields_agree_with_the_table() {
    fn editable(collection: &str) -> Vec<&'static str> {
        let Some(tree::Field {
            node: tree::Node::Records { record, .. },
            ..
        }) = tree::DEALER.iter().find(|f| f.name == collection)
        else {
            panic!("{collection}");
        };
        record
            .iter()
            .filter(|f| f.write == tree::Write::Editable)
            // Containers written by their own operations: notes, head office's decisions
            // (`Document::resolve`) and handover reviews (`Document::review`).
            .filter(|f| {
                !matches!(f.node, tree::Node::Steps(_))
                    && !["notes", "decided", "handover"].contains(&f.name)
            })
            .map(|f| f.name)
            .collect()
    }
    fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
        v.sort_unstable();
        v
    }
    use crate::model::{Activity, Commitment, Problem};
    assert_eq!(sorted(editable("visits")), sorted(Visit::EDITABLE.to_vec()));
    assert_eq!(
        sorted(editable("commitments")),
        sorted(Commitment::EDITABLE.to_vec())
    );
    assert_eq!(
        sorted(editable("claims")),
        sorted(ExpenseClaim::EDITABLE.to_vec())
    );
    assert_eq!(
        sorted(editable("problems")),
        sorted(Problem::EDITABLE.to_vec())
    );
    assert_eq!(
        sorted(editable("activities")),
        sorted(Activity::EDITABLE.to_vec())
    );
}

#[test]
fn spending_needs_an_approval_and_approving_needs_a_limit_that_covers_the_amount() {
    let doc = dealer(); // claim c1: 100 TWD minor units, requested by m1
    let step = |stage: &'static str, by: &'static str| {
        move |am: &mut automerge::AutoCommit| {
            let s = obj(am, &["claims", "c1", "status"]);
            let st = am.put_object(&s, stage, ObjType::Map).unwrap();
            am.put(&st, "by", by).unwrap();
            am.put(&st, "at", 5).unwrap();
        }
    };
    assert_eq!(
        rule(raw(&doc, "m1", Role::Manager, step("spent", "m1"))),
        Rule::Transition
    );
    let twd = |minor| Money::new(minor, "TWD".parse().unwrap()).unwrap();
    let at_limit = [twd(100)];
    let below_amount = [twd(99)];
    let other_currency = [Money::new(1_000, "CNY".parse().unwrap()).unwrap()];
    raw_within(
        &doc,
        "r1",
        Role::Regional,
        Some(&at_limit),
        step("approved", "r1"),
    )
    .unwrap();
    let r = raw_within(
        &doc,
        "r1",
        Role::Regional,
        Some(&below_amount),
        step("approved", "r1"),
    );
    assert_eq!(rule(r), Rule::ApprovalLimit);
    let r = raw_within(
        &doc,
        "r1",
        Role::Regional,
        Some(&other_currency),
        step("approved", "r1"),
    );
    assert_eq!(rule(r), Rule::ApprovalLimit);
    // Rejecting is never limited, and no limit means any amount.
    raw_within(
        &doc,
        "r1",
        Role::Regional,
        Some(&below_amount),
        step("rejected", "r1"),
    )
    .unwrap();
    raw_within(&doc, "h1", Role::HeadOffice, None, step("approved", "h1")).unwrap();
}

fn handover_id(s: &str) -> HandoverId {
    s.parse().unwrap()
}

/// Writes review steps `stages` (and `reason`) of handover `h` on claim c1 as `by`.
fn review_raw(
    h: &'static str,
    stages: &'static [&'static str],
    reason: Option<&'static str>,
    by: &'static str,
) -> impl FnOnce(&mut automerge::AutoCommit) {
    move |am: &mut automerge::AutoCommit| {
        let claim = obj(am, &["claims", "c1"]);
        let handover = match am.get(&claim, "handover").unwrap() {
            Some((_, o)) => o,
            None => am.put_object(&claim, "handover", ObjType::Map).unwrap(),
        };
        let item = match am.get(&handover, h).unwrap() {
            Some((_, o)) => o,
            None => am.put_object(&handover, h, ObjType::Map).unwrap(),
        };
        let review = match am.get(&item, "review").unwrap() {
            Some((_, o)) => o,
            None => am.put_object(&item, "review", ObjType::Map).unwrap(),
        };
        for st in stages {
            let step = am.put_object(&review, *st, ObjType::Map).unwrap();
            am.put(&step, "by", by).unwrap();
            am.put(&step, "at", 5).unwrap();
        }
        if let Some(r) = reason {
            am.put(&item, "reason", r).unwrap();
        }
    }
}

/// Claim c1 of [`dealer`] reviewed in handover h1 by m2 up to `stage` (a device's edit).
fn reviewed(stage: crate::model::HandoverStage) -> Document {
    let mut doc = dealer();
    let reason = (stage == crate::model::HandoverStage::Flagged).then_some("缺收據");
    doc.review::<ExpenseClaim>(
        &"c1".parse().unwrap(),
        &handover_id("h1"),
        stage,
        reason,
        &stamp("m2", 1),
    )
    .unwrap();
    doc
}

#[test]
fn reason_only_with_flagged() {
    use crate::model::HandoverStage;
    let b = [handover_id("h1")];
    let incoming = Some(&b[..]);
    let as_b = |doc: &Document, f| raw_author(doc, "m2", Role::Manager, None, incoming, f);
    // With the flagged step: taken.
    as_b(
        &dealer(),
        review_raw("h1", &["reviewed", "flagged"], Some("缺收據"), "m2"),
    )
    .unwrap();
    // A new item accepted at once, with a reason: refused.
    let r = as_b(
        &dealer(),
        review_raw("h1", &["reviewed", "accepted"], Some("x"), "m2"),
    );
    assert_eq!(rule(r), Rule::Immutable);
    // A reason alone, on a reviewed item or an accepted one: refused.
    let r = as_b(
        &reviewed(HandoverStage::Reviewed),
        review_raw("h1", &[], Some("x"), "m2"),
    );
    assert_eq!(rule(r), Rule::Immutable);
    let r = as_b(
        &reviewed(HandoverStage::Accepted),
        review_raw("h1", &[], Some("x"), "m2"),
    );
    assert_eq!(rule(r), Rule::Immutable);
    // Flagged after reviewed, with its reason; then accepted.
    as_b(
        &reviewed(HandoverStage::Reviewed),
        review_raw("h1", &["flagged"], Some("x"), "m2"),
    )
    .unwrap();
    as_b(
        &reviewed(HandoverStage::Flagged),
        review_raw("h1", &["accepted"], None, "m2"),
    )
    .unwrap();
    // Never back from accepted, never a second start.
    let r = as_b(
        &reviewed(HandoverStage::Accepted),
        review_raw("h1", &["flagged"], Some("x"), "m2"),
    );
    assert_eq!(rule(r), Rule::Transition);
    let r = as_b(&dealer(), review_raw("h1", &["accepted"], None, "m2"));
    assert_eq!(rule(r), Rule::Transition);
    // The step names its taker.
    let r = as_b(
        &dealer(),
        review_raw("h1", &["reviewed", "accepted"], None, "m1"),
    );
    assert_eq!(rule(r), Rule::ForgedAuthor);
}

#[test]
fn review_only_by_the_incoming_manager() {
    let b = [handover_id("h1")];
    let step = || review_raw("h1", &["reviewed", "accepted"], None, "m2");
    // The incoming manager of h1.
    raw_author(&dealer(), "m2", Role::Manager, None, Some(&b), step()).unwrap();
    // Nobody's incoming handovers known, another handover, or none at all: refused on the server.
    for incoming in [None, Some(&[handover_id("h2")][..]), Some(&[][..])] {
        let r = raw_author(&dealer(), "m2", Role::Manager, None, incoming, step());
        assert_eq!(rule(r), Rule::NotIncoming);
    }
    // Head office does not review in the incoming manager's place either.
    let r = raw_author(&dealer(), "m2", Role::HeadOffice, None, None, step());
    assert_eq!(rule(r), Rule::NotIncoming);
    // The device (no role) cannot know: it lets the review through.
    let mut doc = dealer();
    doc.review::<ExpenseClaim>(
        &"c1".parse().unwrap(),
        &handover_id("h1"),
        crate::model::HandoverStage::Accepted,
        None,
        &stamp("m2", 3),
    )
    .unwrap();
    let claim = doc
        .record::<ExpenseClaim>(&"c1".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(claim.holder(), Some(&user("m2")));
}
