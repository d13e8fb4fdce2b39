//! Territory handover in core: the incoming manager's review on the record, the outgoing manager's open items, and the late rule the server applies to the outgoing manager's pushes.

mod common;

use std::collections::BTreeSet;

use common::*;
use fieldsync_core::automerge::{ActorId, ChangeHash};
use fieldsync_core::calendar::Timestamp;
use fieldsync_core::doc::{DocError, Document};
use fieldsync_core::ids::*;
use fieldsync_core::model::*;
use fieldsync_core::money::Money;
use fieldsync_core::schema::{ApprovalLimits, Rule};
use fieldsync_core::sync::handover::{Handovers, Outgoing};
use fieldsync_core::sync::{
    ChangeBytes, Context, DocChanges, Ingested, Limits, Principal, RejectCode, Rejection,
    ingest_from,
};
use serde_json::json;

/// The reassignment: A (m1) hands t-north over to B (m2) at `R`; the grace
/// period ends at `L`.
const R: i64 = T0 + 1_000_000;
const L: i64 = R + 3 * 86_400_000;

fn hid() -> HandoverId {
    "h1".parse().unwrap()
}

fn k(s: &str) -> CommitmentId {
    s.parse().unwrap()
}

fn c(s: &str) -> ClaimId {
    s.parse().unwrap()
}

fn p(s: &str) -> ProblemId {
    s.parse().unwrap()
}

/// Dealer d1 in t-north, made by m1 with commitment k1, claim c1 and problem
/// p1, all open, as the server holds it.
fn server_doc() -> Document {
    let s = stamp("m1", 1);
    let mut doc = Document::create_dealer(
        "d1".parse().unwrap(),
        territory(),
        &profile("林記"),
        &s,
        ActorId::from(b"m1-actor".to_vec()),
    )
    .unwrap();
    let due = "2026-12-31".parse().unwrap();
    let kc = Commitment::new("補貨", "林老闆", user("m1"), s.at, due);
    doc.insert(&k("k1"), &kc, &s).unwrap();
    let amount = Money::new(100_000, "TWD".parse().unwrap()).unwrap();
    let claim = ExpenseClaim::new(ExpenseCategory::Placement, "鋪市", amount, user("m1"), s.at);
    doc.insert(&c("c1"), &claim, &s).unwrap();
    let problem = Problem::new(
        ProblemCategory::Dealer,
        Severity::High,
        "缺貨",
        user("m1"),
        s.at,
    );
    doc.insert(&p("p1"), &problem, &s).unwrap();
    doc
}

/// Someone's device copy of `doc`.
fn copy(doc: &mut Document, actor: &str) -> Document {
    Document::load(&doc.save(), ActorId::from(actor.as_bytes().to_vec())).unwrap()
}

/// What `device` made since `server` last saw it, as a push.
fn push_of(server: &mut Document, device: &mut Document) -> DocChanges {
    let heads = server.heads();
    DocChanges {
        doc: server.id().clone(),
        changes: device
            .changes_since(&heads)
            .iter()
            .map(|ch| ChangeBytes(ch.raw_bytes().to_vec()))
            .collect(),
    }
}

fn b_incoming() -> Handovers {
    Handovers {
        outgoing: Vec::new(),
        incoming: vec![(territory(), hid())],
    }
}

fn a_outgoing() -> Handovers {
    Handovers {
        outgoing: vec![Outgoing {
            territory: territory(),
            handover: hid(),
            reassigned_at: Timestamp(R),
            late_until: Timestamp(L),
        }],
        incoming: Vec::new(),
    }
}

/// The server's decision on `who`'s push (from `who`'s phone) received at `now`.
fn decide(
    server: &mut Document,
    push: &DocChanges,
    who: &str,
    handovers: &Handovers,
    now: i64,
    foreign_after: &BTreeSet<ChangeHash>,
    release: bool,
) -> Result<Ingested, Rejection> {
    let approvals = ApprovalLimits::default();
    let ctx = Context {
        handovers,
        now: Timestamp(now),
        foreign_after,
        release,
        ..Context::new(&approvals)
    };
    let principal: Principal = manager(who);
    ingest_from(
        Some(server),
        push,
        &principal,
        &[format!("{who}-phone")],
        Limits::default(),
        &ctx,
    )
}

fn review_state(doc: &Document, id: &ClaimId) -> Option<Review> {
    let claim = doc.record::<ExpenseClaim>(id).unwrap().unwrap();
    claim.handover.get(hid().as_str()).and_then(review_of)
}

#[test]
fn accept_writes_owner_and_step_in_one_change() {
    let mut server = server_doc();
    let mut b = copy(&mut server, "m2-actor");
    let before = b.heads();
    b.review::<ExpenseClaim>(
        &c("c1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 2),
    )
    .unwrap();
    assert_eq!(b.changes_since(&before).len(), 1, "one change");
    let claim = b.record::<ExpenseClaim>(&c("c1")).unwrap().unwrap();
    assert_eq!(claim.holder(), Some(&user("m2")));
    let review = review_state(&b, &c("c1")).unwrap();
    assert_eq!(review.state, HandoverStage::Accepted);
    assert_eq!(review.by, user("m2"));
    assert_eq!(
        claim.handover[hid().as_str()]["review"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["accepted", "reviewed"]
    );
    b.review::<Commitment>(
        &k("k1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 3),
    )
    .unwrap();

    // The server takes it from B, the incoming manager, as it is.
    let push = push_of(&mut server, &mut b);
    let done = decide(
        &mut server,
        &push,
        "m2",
        &b_incoming(),
        R + 5,
        &BTreeSet::new(),
        false,
    )
    .unwrap();
    let state = done.doc.dealer_state().unwrap();
    assert_eq!(state.claims[&c("c1")].holder(), Some(&user("m2")));
    assert_eq!(state.commitments[&k("k1")].holder(), &user("m2"));
    // The problem was not reviewed: still A's.
    assert_eq!(state.problems[&p("p1")].holder(), Some(&user("m1")));
}

#[test]
fn flag_needs_a_reason_and_may_be_accepted_later() {
    let mut server = server_doc();
    let mut b = copy(&mut server, "m2-actor");
    let before = b.heads();
    let refused = b.review::<Problem>(
        &p("p1"),
        &hid(),
        HandoverStage::Flagged,
        None,
        &stamp("m2", 2),
    );
    assert!(
        matches!(
            refused,
            Err(DocError::Validation(ValidationError::Empty { .. }))
        ),
        "{refused:?}"
    );
    let refused = b.review::<Problem>(
        &p("p1"),
        &hid(),
        HandoverStage::Flagged,
        Some(""),
        &stamp("m2", 2),
    );
    assert!(refused.is_err());
    assert_eq!(b.heads(), before, "nothing written");

    b.review::<ExpenseClaim>(
        &c("c1"),
        &hid(),
        HandoverStage::Flagged,
        Some("收據不全"),
        &stamp("m2", 3),
    )
    .unwrap();
    let review = review_state(&b, &c("c1")).unwrap();
    assert_eq!(review.state, HandoverStage::Flagged);
    assert_eq!(review.reason.as_deref(), Some("收據不全"));
    let claim = b.record::<ExpenseClaim>(&c("c1")).unwrap().unwrap();
    assert_eq!(
        claim.holder(),
        Some(&user("m1")),
        "flagging does not take it over"
    );

    b.review::<ExpenseClaim>(
        &c("c1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 4),
    )
    .unwrap();
    let review = review_state(&b, &c("c1")).unwrap();
    assert_eq!(review.state, HandoverStage::Accepted);
    assert_eq!(
        review.reason.as_deref(),
        Some("收據不全"),
        "the reason stays"
    );
    let claim = b.record::<ExpenseClaim>(&c("c1")).unwrap().unwrap();
    assert_eq!(claim.holder(), Some(&user("m2")));

    let push = push_of(&mut server, &mut b);
    assert_eq!(push.changes.len(), 2);
    decide(
        &mut server,
        &push,
        "m2",
        &b_incoming(),
        R + 5,
        &BTreeSet::new(),
        false,
    )
    .unwrap();
}

#[test]
fn accepted_is_never_flagged() {
    let mut server = server_doc();
    let mut b = copy(&mut server, "m2-actor");
    b.review::<Commitment>(
        &k("k1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 2),
    )
    .unwrap();
    let before = b.heads();
    let refused = b.review::<Commitment>(
        &k("k1"),
        &hid(),
        HandoverStage::Flagged,
        Some("其實不行"),
        &stamp("m2", 3),
    );
    assert!(
        matches!(
            refused,
            Err(DocError::Validation(ValidationError::Lifecycle(_)))
        ),
        "{refused:?}"
    );
    assert_eq!(b.heads(), before);
}

#[test]
fn a_reason_without_the_flagged_step_is_refused() {
    let mut server = server_doc();
    let mut b = copy(&mut server, "m2-actor");
    let refused = b.review::<ExpenseClaim>(
        &c("c1"),
        &hid(),
        HandoverStage::Accepted,
        Some("順便說明"),
        &stamp("m2", 2),
    );
    match refused {
        Err(DocError::Schema(v)) => assert_eq!(v.rule, Rule::Immutable),
        other => panic!("{other:?}"),
    }
}

#[test]
fn open_items_of_the_outgoing_manager() {
    let mut doc = server_doc();
    let s = stamp("m1", 5);
    let due = "2026-12-31".parse().unwrap();
    // Closed ones are not passed on.
    doc.insert(
        &k("k2"),
        &Commitment::new("已完成", "", user("m1"), s.at, due),
        &s,
    )
    .unwrap();
    doc.advance::<Commitment>(&k("k2"), CommitmentStatus::Kept, json!(null), &s)
        .unwrap();
    let amount = Money::new(5_000, "TWD".parse().unwrap()).unwrap();
    let claim = ExpenseClaim::new(ExpenseCategory::Event, "活動", amount, user("m1"), s.at);
    doc.insert(&c("c2"), &claim, &s).unwrap();
    doc.advance::<ExpenseClaim>(&c("c2"), ClaimStage::Rejected, json!(null), &s)
        .unwrap();
    let raised = Problem::new(
        ProblemCategory::Market,
        Severity::Low,
        "已解決",
        user("m1"),
        s.at,
    );
    doc.insert(&p("p2"), &raised, &s).unwrap();
    doc.advance::<Problem>(
        &p("p2"),
        ProblemStatus::Resolved,
        json!({"resolution": "補貨了"}),
        &s,
    )
    .unwrap();
    // Someone else's are not A's.
    let mut theirs = Commitment::new("別人的", "", user("m1"), s.at, due);
    theirs.owner = user("m3");
    doc.insert(&k("k3"), &theirs, &s).unwrap();
    let mut given = Problem::new(
        ProblemCategory::Staff,
        Severity::Low,
        "轉交",
        user("m1"),
        s.at,
    );
    given.owner = Some(user("m3"));
    doc.insert(&p("p3"), &given, &s).unwrap();

    let state = doc.dealer_state().unwrap();
    let items = open_items(&state, &user("m1"));
    let got: Vec<(ItemKind, &str)> = items.iter().map(|i| (i.kind, i.id.as_str())).collect();
    assert_eq!(
        got,
        [
            (ItemKind::Commitment, "k1"),
            (ItemKind::Claim, "c1"),
            (ItemKind::Problem, "p1")
        ]
    );
    assert_eq!(items[0].title, "補貨");
    assert_eq!(items[0].since, Timestamp(T0 + 1));
    assert_eq!(items[1].kind.collection(), "claims");

    // Once B accepts one, it is B's.
    doc.review::<Commitment>(
        &k("k1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 6),
    )
    .unwrap();
    let state = doc.dealer_state().unwrap();
    assert_eq!(open_items(&state, &user("m1")).len(), 2);
    let b_items = open_items(&state, &user("m2"));
    assert_eq!(b_items.len(), 1);
    assert_eq!(b_items[0].id, "k1");
}

/// A's phone made one edit stamped `at`; the server receives it at `now`.
fn a_pushes(at: i64, now: i64, release: bool) -> Result<Ingested, Rejection> {
    let mut server = server_doc();
    let mut a = copy(&mut server, "m1-actor-2");
    let s =
        fieldsync_core::stamp::Stamp::new(user("m1"), "m1-phone".parse().unwrap(), Timestamp(at));
    a.update::<Problem>(&p("p1"), &json!({"description": "離線補記"}), &s)
        .unwrap();
    let push = push_of(&mut server, &mut a);
    decide(
        &mut server,
        &push,
        "m1",
        &a_outgoing(),
        now,
        &BTreeSet::new(),
        release,
    )
}

fn refused_as_handed_over(r: Result<Ingested, Rejection>) {
    let e = r.expect_err("held");
    assert_eq!(e.code, RejectCode::Forbidden);
    assert_eq!(e.rule.as_deref(), Some("handed_over"), "{}", e.message);
}

#[test]
fn late_rule_at_its_boundaries() {
    // Made before the reassignment, received within the grace period: taken.
    let done = a_pushes(R - 1, L - 1, false).unwrap();
    assert_eq!(done.fresh.len(), 1);
    // Stamped at the reassignment: late.
    refused_as_handed_over(a_pushes(R, R + 1, false));
    // Received when the grace period ends: late.
    refused_as_handed_over(a_pushes(R - 1, L, false));
    // Released by the incoming manager: every other rule still applies, this one not.
    assert_eq!(a_pushes(R + 10, L + 10, true).unwrap().fresh.len(), 1);
}

#[test]
fn a_change_built_on_foreign_work_after_reassignment_is_late() {
    let mut server = server_doc();
    let mut a = copy(&mut server, "m1-actor-2");
    let mut b = copy(&mut server, "m2-actor");
    // B accepts the claim after the reassignment; the server commits it.
    b.review::<ExpenseClaim>(
        &c("c1"),
        &hid(),
        HandoverStage::Accepted,
        None,
        &stamp("m2", 2),
    )
    .unwrap();
    let push = push_of(&mut server, &mut b);
    let done = decide(
        &mut server,
        &push,
        "m2",
        &b_incoming(),
        R + 5,
        &BTreeSet::new(),
        false,
    )
    .unwrap();
    let foreign: BTreeSet<ChangeHash> = done.fresh.iter().map(|ch| ch.hash()).collect();
    let mut server = done.doc;
    // A's phone receives it, then edits with a clock set back before the reassignment.
    a.apply(done.fresh.clone()).unwrap();
    let s = fieldsync_core::stamp::Stamp::new(
        user("m1"),
        "m1-phone".parse().unwrap(),
        Timestamp(R - 100),
    );
    a.update::<Problem>(&p("p1"), &json!({"description": "倒填"}), &s)
        .unwrap();
    let push = push_of(&mut server, &mut a);
    assert_eq!(push.changes.len(), 1);
    let late = decide(
        &mut server,
        &push,
        "m1",
        &a_outgoing(),
        R + 10,
        &foreign,
        false,
    );
    refused_as_handed_over(late);
    // Without that evidence the same change is taken (the clock is trusted).
    decide(
        &mut server,
        &push,
        "m1",
        &a_outgoing(),
        R + 10,
        &BTreeSet::new(),
        false,
    )
    .unwrap();
}

#[test]
fn only_the_incoming_manager_reviews() {
    for (who, handovers) in [
        // A manager of the territory with no handover.
        ("m3", Handovers::default()),
        // The outgoing manager.
        ("m1", a_outgoing()),
        // The incoming manager of another handover.
        (
            "m2",
            Handovers {
                outgoing: Vec::new(),
                incoming: vec![(territory(), "h2".parse().unwrap())],
            },
        ),
    ] {
        let mut server = server_doc();
        let mut d = copy(&mut server, &format!("{who}-actor"));
        // The device cannot know: it writes the review.
        d.review::<ExpenseClaim>(
            &c("c1"),
            &hid(),
            HandoverStage::Accepted,
            None,
            &stamp(who, 2),
        )
        .unwrap();
        let push = push_of(&mut server, &mut d);
        let e = decide(
            &mut server,
            &push,
            who,
            &handovers,
            R - 10,
            &BTreeSet::new(),
            false,
        )
        .expect_err("refused");
        assert_eq!(e.code, RejectCode::Forbidden, "{who}");
        assert_eq!(
            e.rule.as_deref(),
            Some("not_incoming"),
            "{who}: {}",
            e.message
        );
    }
}
