//! Activities: planned with invited downline customers, held with who came, how many, the result and photos, or
//! cancelled; the budget asked for as a claim. What the schema refuses of a hostile change, as the server checks it.

mod common;

use common::*;
use fieldsync_core::automerge::transaction::{CommitOptions, Transactable};
use fieldsync_core::automerge::{ActorId, AutoCommit, ObjId, ObjType, ROOT, ReadDoc};
use fieldsync_core::calendar::Day;
use fieldsync_core::doc::{DocError, Document};
use fieldsync_core::ids::{ActivityId, ClaimId, CustomerId};
use fieldsync_core::lifecycle::LifecycleError;
use fieldsync_core::model::*;
use fieldsync_core::money::Money;
use fieldsync_core::schema::{Author, DocKind, Role, Rule, Violation, check_change};
use serde_json::json;

const PHOTO: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

fn twd(minor: i64) -> Money {
    Money::new(minor, "TWD".parse().unwrap()).unwrap()
}

fn a1() -> ActivityId {
    "a1".parse().unwrap()
}

/// A dealer with downline customers k1..k3 and activity a1, planned by m1 with a budget, inviting k1 and k2.
fn dealer() -> Document {
    let mut p = profile("林記");
    for (k, name) in [("k1", "王記五金"), ("k2", "陳家行"), ("k3", "大發")] {
        p.downline.insert(
            k.parse().unwrap(),
            DownlineCustomer {
                name: name.into(),
                core: false,
                note: String::new(),
            },
        );
    }
    let s = stamp("m1", 0);
    let mut doc = Document::create_dealer(
        "d1".parse().unwrap(),
        territory(),
        &p,
        &s,
        ActorId::from(b"aaaa".to_vec()),
    )
    .unwrap();
    let a = Activity {
        budget: Some(twd(3_000_000)),
        invited: ["k1", "k2"]
            .map(|k| k.parse().unwrap())
            .into_iter()
            .collect(),
        ..Activity::planned(
            ActivityKind::Promotion,
            "春季聯合促銷",
            day("2026-12-10"),
            day("2026-12-12"),
            s.user.clone(),
            s.at,
        )
    };
    doc.insert(&a1(), &a, &s).unwrap();
    doc
}

fn held() -> serde_json::Value {
    json!({
        "attended": {"k1": true},
        "attendance": 42,
        "result": "簽下三家新下線",
        "photos": {PHOTO: {"mime": "image/jpeg", "bytes": 1000, "taken_at": T0}},
    })
}

#[test]
fn a_planned_activity_is_held_with_who_came_how_many_the_result_and_photos() {
    let mut doc = dealer();
    let a = doc.record::<Activity>(&a1()).unwrap().unwrap();
    assert_eq!(a.invited.len(), 2);
    doc.update::<Activity>(&a1(), &json!({"invited": {"k3": true}}), &stamp("m1", 1))
        .unwrap();
    doc.advance::<Activity>(&a1(), ActivityStatus::Held, held(), &stamp("m1", 2))
        .unwrap();
    let a = doc.record::<Activity>(&a1()).unwrap().unwrap();
    assert_eq!(a.status.current(), ActivityStatus::Held);
    assert_eq!(a.invited.len(), 3);
    let k1: CustomerId = "k1".parse().unwrap();
    assert_eq!(a.attended.iter().collect::<Vec<_>>(), vec![&k1]);
    assert_eq!(a.attendance, Some(42));
    assert_eq!(a.result, "簽下三家新下線");
    assert_eq!(a.photos.len(), 1);
}

#[test]
fn what_came_of_an_activity_is_given_only_with_held() {
    let mut doc = dealer();
    // Not an update: the result comes with the `held` step.
    let e = doc
        .update::<Activity>(&a1(), &json!({"result": "x"}), &stamp("m1", 1))
        .unwrap_err();
    assert!(matches!(e, DocError::NotEditable { .. }), "{e:?}");
    // A new activity that is only planned carries no result.
    let s = stamp("m1", 1);
    let early = Activity {
        result: "早就知道".into(),
        ..Activity::planned(
            ActivityKind::CustomerEvent,
            "客戶聯誼會",
            day("2026-12-20"),
            day("2026-12-20"),
            s.user.clone(),
            s.at,
        )
    };
    let e = doc.insert(&"a2".parse::<ActivityId>().unwrap(), &early, &s);
    assert!(
        matches!(
            e,
            Err(DocError::Validation(ValidationError::HeldOnly { .. }))
        ),
        "{e:?}"
    );
    // Cancelled, it is never held afterwards.
    doc.advance::<Activity>(
        &a1(),
        ActivityStatus::Cancelled,
        json!(null),
        &stamp("m1", 2),
    )
    .unwrap();
    let e = doc
        .advance::<Activity>(&a1(), ActivityStatus::Held, held(), &stamp("m1", 3))
        .unwrap_err();
    assert!(
        matches!(
            e,
            DocError::Validation(ValidationError::Lifecycle(
                LifecycleError::NotAllowed { .. }
            ))
        ),
        "{e:?}"
    );
}

#[test]
fn an_activitys_budget_becomes_a_claim_naming_it() {
    let mut doc = dealer();
    let a = doc.record::<Activity>(&a1()).unwrap().unwrap();
    let s = stamp("m1", 1);
    let claim = ExpenseClaim {
        activity: Some(a1()),
        ..ExpenseClaim::new(
            ExpenseCategory::Event,
            a.title.clone(),
            a.budget.unwrap(),
            s.user.clone(),
            s.at,
        )
    };
    let c: ClaimId = "c1".parse().unwrap();
    doc.insert(&c, &claim, &s).unwrap();
    let back = doc.record::<ExpenseClaim>(&c).unwrap().unwrap();
    assert_eq!(back.activity, Some(a1()));
    assert_eq!(back.amount, twd(3_000_000));
    assert_eq!(back.purpose, "春季聯合促銷");
}

/// Makes a raw change with `f` as manager m1 and checks it as the server does.
fn raw(doc: &Document, f: impl FnOnce(&mut AutoCommit)) -> Result<(), Violation> {
    let mut am = doc.automerge().clone();
    am.set_actor(ActorId::from(b"mallory".to_vec()));
    f(&mut am);
    am.commit_with(CommitOptions::default().with_message(stamp("m1", 9).to_message()));
    let change = am.get_last_local_change().unwrap().clone();
    let u = user("m1");
    let author = Author {
        user: &u,
        role: Some(Role::Manager),
        limit: None,
        authority: None,
        incoming: None,
    };
    check_change(&mut am, &change, DocKind::Dealer, &author)
}

fn obj(am: &AutoCommit, path: &[&str]) -> ObjId {
    path.iter()
        .fold(ROOT, |o, k| am.get(&o, *k).unwrap().unwrap().1)
}

fn rule(r: Result<(), Violation>) -> Rule {
    r.expect_err("refused").rule
}

/// Adds the `held` step by m1 to activity a1.
fn step_held(am: &mut AutoCommit) {
    let status = obj(am, &["activities", "a1", "status"]);
    let held = am.put_object(&status, "held", ObjType::Map).unwrap();
    am.put(&held, "by", "m1").unwrap();
    am.put(&held, "at", T0 + 9).unwrap();
}

#[test]
fn the_held_fields_are_refused_without_the_held_step_and_accepted_with_it() {
    let doc = dealer();
    let r = raw(&doc, |am| {
        let a = obj(am, &["activities", "a1"]);
        am.put(&a, "result", "寫在前面").unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
    let r = raw(&doc, |am| {
        let a = obj(am, &["activities", "a1"]);
        am.put(&a, "attendance", 12).unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
    let r = raw(&doc, |am| {
        let set = obj(am, &["activities", "a1", "attended"]);
        am.put(&set, "k1", true).unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
    raw(&doc, |am| {
        step_held(am);
        let a = obj(am, &["activities", "a1"]);
        am.put(&a, "attendance", 12).unwrap();
        am.put(&a, "result", "成交八單").unwrap();
        let set = obj(am, &["activities", "a1", "attended"]);
        am.put(&set, "k2", true).unwrap();
    })
    .unwrap();
}

#[test]
fn hostile_activity_and_claim_values_are_refused() {
    let doc = dealer();
    // A headcount out of bounds, or not a number.
    for bad in [-1_i64, 100_001] {
        let r = raw(&doc, |am| {
            step_held(am);
            let a = obj(am, &["activities", "a1"]);
            am.put(&a, "attendance", bad).unwrap();
        });
        assert_eq!(rule(r), Rule::OutOfRange, "{bad}");
    }
    let r = raw(&doc, |am| {
        step_held(am);
        let a = obj(am, &["activities", "a1"]);
        am.put(&a, "attendance", "很多").unwrap();
    });
    assert_eq!(rule(r), Rule::WrongType);
    // An invited member that is not a customer id; a field the table does not know.
    let r = raw(&doc, |am| {
        let set = obj(am, &["activities", "a1", "invited"]);
        am.put(&set, "not a customer id!", true).unwrap();
    });
    assert_eq!(rule(r), Rule::OutOfRange);
    let r = raw(&doc, |am| {
        let a = obj(am, &["activities", "a1"]);
        am.put(&a, "sponsor", "me").unwrap();
    });
    assert_eq!(rule(r), Rule::UnknownField);
    // A claim's activity is named when the claim is made, never afterwards.
    let mut doc = doc;
    let s = stamp("m1", 1);
    let claim = ExpenseClaim::new(ExpenseCategory::Event, "x", twd(100), s.user.clone(), s.at);
    doc.insert(&"c1".parse::<ClaimId>().unwrap(), &claim, &s)
        .unwrap();
    let r = raw(&doc, |am| {
        let c = obj(am, &["claims", "c1"]);
        am.put(&c, "activity", "a1").unwrap();
    });
    assert_eq!(rule(r), Rule::Immutable);
}
