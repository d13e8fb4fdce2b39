//! Property test: replicas doing random domain work over a network that reorders,
//! duplicates and drops messages all converge to the same documents, and the
//! domain rules hold in the result.

mod common;

use std::collections::BTreeSet;

use common::*;
use fieldsync_core::calendar::Day;
use fieldsync_core::doc::DocId;
use fieldsync_core::ids::*;
use fieldsync_core::model::*;
use fieldsync_core::money::Money;
use fieldsync_core::sync::{Hub, Principal, Replica, Role, SyncRequest, SyncResponse};
use proptest::prelude::*;
use serde_json::json;

const REPLICAS: usize = 4;
const SHARED_DEALERS: u8 = 2;

#[derive(Debug, Clone)]
enum Op {
    CreateDealer {
        r: usize,
        n: u8,
    },
    EditProfile {
        r: usize,
        d: u8,
        field: u8,
        v: u8,
    },
    AddVisit {
        r: usize,
        d: u8,
        n: u8,
    },
    AddNote {
        r: usize,
        d: u8,
        visit: u8,
        n: u8,
    },
    AddAttendee {
        r: usize,
        d: u8,
        visit: u8,
        who: u8,
    },
    EditVisitSummary {
        r: usize,
        d: u8,
        visit: u8,
        v: u8,
    },
    AddCommitment {
        r: usize,
        d: u8,
        n: u8,
    },
    AdvanceCommitment {
        r: usize,
        d: u8,
        c: u8,
        to: u8,
    },
    AddClaim {
        r: usize,
        d: u8,
        n: u8,
    },
    AdvanceClaim {
        r: usize,
        d: u8,
        c: u8,
        to: u8,
    },
    AddProblem {
        r: usize,
        d: u8,
        n: u8,
    },
    AdvanceProblem {
        r: usize,
        d: u8,
        p: u8,
        to: u8,
    },
    AddActivity {
        r: usize,
        d: u8,
        n: u8,
    },
    /// Moves an activity's start (`end: false`) or end: two replicas doing this
    /// concurrently can merge into an activity that ends before it starts.
    MoveActivity {
        r: usize,
        d: u8,
        a: u8,
        end: bool,
        day: u8,
    },
    /// The replica sends a sync request into the network.
    Send {
        r: usize,
    },
    /// The network delivers one in-flight message (any of them: reordering).
    Deliver {
        i: usize,
    },
    /// The network loses one.
    Drop {
        i: usize,
    },
    /// The network delivers one twice.
    Duplicate {
        i: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    let d = 0u8..4;
    prop_oneof![
        // Each new dealer slot is made by one replica: real dealer ids are random,
        // so two devices never create the same dealer (the server refuses a
        // second index entry at a taken id: `concurrent_write`).
        1 => (0u8..2).prop_map(|n| Op::CreateDealer { r: 1 + usize::from(n), n }),
        3 => (r.clone(), d.clone(), 0u8..4, any::<u8>()).prop_map(|(r, d, field, v)| Op::EditProfile { r, d, field, v }),
        3 => (r.clone(), d.clone(), 0u8..3).prop_map(|(r, d, n)| Op::AddVisit { r, d, n }),
        2 => (r.clone(), d.clone(), 0u8..9, 0u8..3).prop_map(|(r, d, visit, n)| Op::AddNote { r, d, visit, n }),
        2 => (r.clone(), d.clone(), 0u8..9, 0u8..4).prop_map(|(r, d, visit, who)| Op::AddAttendee { r, d, visit, who }),
        2 => (r.clone(), d.clone(), 0u8..9, any::<u8>()).prop_map(|(r, d, visit, v)| Op::EditVisitSummary { r, d, visit, v }),
        2 => (r.clone(), d.clone(), 0u8..2).prop_map(|(r, d, n)| Op::AddCommitment { r, d, n }),
        2 => (r.clone(), d.clone(), 0u8..6, 0u8..4).prop_map(|(r, d, c, to)| Op::AdvanceCommitment { r, d, c, to }),
        2 => (r.clone(), d.clone(), 0u8..2).prop_map(|(r, d, n)| Op::AddClaim { r, d, n }),
        3 => (r.clone(), d.clone(), 0u8..6, 0u8..5).prop_map(|(r, d, c, to)| Op::AdvanceClaim { r, d, c, to }),
        1 => (r.clone(), d.clone(), 0u8..2).prop_map(|(r, d, n)| Op::AddProblem { r, d, n }),
        2 => (r.clone(), d.clone(), 0u8..6, 0u8..3).prop_map(|(r, d, p, to)| Op::AdvanceProblem { r, d, p, to }),
        1 => (r.clone(), d.clone(), 0u8..2).prop_map(|(r, d, n)| Op::AddActivity { r, d, n }),
        3 => (r.clone(), 0u8..SHARED_DEALERS, 0u8..8, any::<bool>(), 0u8..28).prop_map(|(r, d, a, end, day)| Op::MoveActivity { r, d, a, end, day }),
        4 => r.clone().prop_map(|r| Op::Send { r }),
        6 => any::<usize>().prop_map(|i| Op::Deliver { i }),
        1 => any::<usize>().prop_map(|i| Op::Drop { i }),
        1 => any::<usize>().prop_map(|i| Op::Duplicate { i }),
    ]
}

#[derive(Debug, Clone)]
enum Msg {
    Req(usize, SyncRequest),
    Resp(usize, SyncResponse),
}

struct World {
    hub: Hub,
    replicas: Vec<Replica>,
    people: Vec<Principal>,
    net: Vec<Msg>,
    clock: i64,
}

/// Replica 0 is a regional manager (may approve claims); 1 and 2 are managers.
fn principal(r: usize) -> Principal {
    if r == 0 {
        Principal {
            user: user("rm"),
            role: Role::Regional,
            territories: [territory()].into_iter().collect(),
        }
    } else {
        manager(&format!("m{r}"))
    }
}

fn name(r: usize) -> String {
    principal(r).user.to_string()
}

/// Dealer slot `d`: 0..SHARED are created up front; the others are created by a replica during the run.
fn dealer_id(d: u8) -> DealerId {
    if d < SHARED_DEALERS {
        format!("d-shared-{d}")
    } else {
        format!("d-made-{d}")
    }
    .parse()
    .unwrap()
}

/// Ids of records are namespaced by creating replica (real ids are random, so never collide).
fn rid<T: std::str::FromStr>(kind: &str, r: usize, n: u8) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("{kind}{r}-{n}").parse().unwrap()
}

fn twd(minor: i64) -> Money {
    Money {
        minor,
        currency: "TWD".parse().unwrap(),
    }
}

impl World {
    /// `page`: the most changes one response carries (so pulls are paged).
    fn new(page: Option<usize>) -> Self {
        let mut hub = hub_with_territory();
        let people: Vec<Principal> = (0..REPLICAS).map(principal).collect();
        let mut replicas: Vec<Replica> = (0..REPLICAS).map(|_| Replica::new().unwrap()).collect();
        sync(&mut hub, &people[0], &mut replicas[0]);
        for d in 0..SHARED_DEALERS {
            replicas[0]
                .create_dealer(
                    &territory(),
                    dealer_id(d),
                    &profile(&format!("共享經銷商{d}")),
                    &stamp("rm", 1),
                )
                .unwrap();
        }
        for (r, p) in replicas.iter_mut().zip(&people) {
            sync(&mut hub, p, r);
        }
        hub.page = page;
        World {
            hub,
            replicas,
            people,
            net: Vec::new(),
            clock: 10,
        }
    }

    fn stamp(&mut self, r: usize) -> fieldsync_core::stamp::Stamp {
        self.clock += 60_000;
        stamp(&name(r), self.clock)
    }

    /// A record id of kind `kind` made by any replica, picked by `pick`.
    fn any_id<T: std::str::FromStr>(kind: &str, pick: u8) -> T
    where
        T::Err: std::fmt::Debug,
    {
        rid(
            kind,
            usize::from(pick % REPLICAS as u8),
            pick / REPLICAS as u8 % 2,
        )
    }

    fn run(&mut self, op: Op) {
        // Domain operations may be refused (unknown dealer, a step not allowed now):
        // a refused operation changes nothing, which the final checks cover.
        match op {
            Op::CreateDealer { r, n } => {
                let st = self.stamp(r);
                let d = dealer_id(SHARED_DEALERS + n);
                let _ = self.replicas[r].create_dealer(
                    &territory(),
                    d,
                    &profile(&format!("新經銷商{n}")),
                    &st,
                );
            }
            Op::EditProfile { r, d, field, v } => {
                let st = self.stamp(r);
                let patch = match field {
                    0 => json!({"name": format!("經銷商 {v}")}),
                    1 => json!({"tier": v % 7}), // 0, 6 are invalid and refused
                    2 => json!({"status": DealerStatus::ALL[usize::from(v) % 4]}),
                    _ => {
                        json!({"address": format!("No. {v} Zhongshan Rd"), "brands": {format!("brand{}", v % 3): {"exclusive": v % 2 == 0}}})
                    }
                };
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.update_profile(&patch, &st, DealerProfile::validate);
                }
            }
            Op::AddVisit { r, d, n } => {
                let st = self.stamp(r);
                let mut v = Visit::new(st.user.clone(), st.at);
                v.purposes = [VisitPurpose::ALL[usize::from(n) % 6]]
                    .into_iter()
                    .collect();
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.insert(&rid::<VisitId>("v", r, n), &v, &st);
                }
            }
            Op::AddNote { r, d, visit, n } => {
                let st = self.stamp(r);
                let vid: VisitId = rid("v", usize::from(visit % 3), visit / 3);
                let nid: NoteId = rid("n", r, n);
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.add_note::<Visit>(&vid, &nid, &format!("筆記 {n} from {r}"), &st);
                }
            }
            Op::AddAttendee { r, d, visit, who } => {
                let st = self.stamp(r);
                let vid: VisitId = rid("v", usize::from(visit % 3), visit / 3);
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.update::<Visit>(&vid, &json!({"attendees": {["林老闆", "王店長", "Amy", "陳會計"][usize::from(who)]: true}}), &st);
                }
            }
            Op::EditVisitSummary { r, d, visit, v } => {
                let st = self.stamp(r);
                let vid: VisitId = rid("v", usize::from(visit % 3), visit / 3);
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ =
                        doc.update::<Visit>(&vid, &json!({"summary": format!("摘要 {v}")}), &st);
                }
            }
            Op::AddCommitment { r, d, n } => {
                let st = self.stamp(r);
                let due: Day = "2027-01-31".parse().unwrap();
                let mut c =
                    Commitment::new(format!("承諾 {n}"), "林老闆", st.user.clone(), st.at, due);
                c.amount = Some(twd(10_000 * i64::from(n)));
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.insert(&rid::<CommitmentId>("k", r, n), &c, &st);
                }
            }
            Op::AdvanceCommitment { r, d, c, to } => {
                let st = self.stamp(r);
                let id: CommitmentId = Self::any_id("k", c);
                // A manager's steps (a supervisor's approval is tested in the server's tests).
                let to = [
                    CommitmentStatus::Open,
                    CommitmentStatus::Kept,
                    CommitmentStatus::Broken,
                    CommitmentStatus::Cancelled,
                ][usize::from(to) % 4];
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.advance::<Commitment>(&id, to, json!(null), &st);
                }
            }
            Op::AddClaim { r, d, n } => {
                let st = self.stamp(r);
                let claim = ExpenseClaim::new(
                    ExpenseCategory::ALL[usize::from(n) % 5],
                    "鋪市費用",
                    twd(50_000),
                    st.user.clone(),
                    st.at,
                );
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.insert(&rid::<ClaimId>("c", r, n), &claim, &st);
                }
            }
            Op::AdvanceClaim { r, d, c, to } => {
                let st = self.stamp(r);
                let id: ClaimId = Self::any_id("c", c);
                let to = ClaimStage::ALL[usize::from(to)];
                // Only the regional manager's device approves or rejects, as the UI
                // allows, and never a claim it requested itself (made by replica 0).
                if matches!(to, ClaimStage::Approved | ClaimStage::Rejected)
                    && (r != 0 || c % REPLICAS as u8 == 0)
                {
                    return;
                }
                let extra = if to == ClaimStage::Spent {
                    json!({"spent": {"minor": 45_000, "currency": "TWD"}})
                } else {
                    json!(null)
                };
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.advance::<ExpenseClaim>(&id, to, extra, &st);
                }
            }
            Op::AddProblem { r, d, n } => {
                let st = self.stamp(r);
                let p = Problem::new(
                    ProblemCategory::ALL[usize::from(n) % 5],
                    Severity::Medium,
                    "競品降價",
                    st.user.clone(),
                    st.at,
                );
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.insert(&rid::<ProblemId>("p", r, n), &p, &st);
                }
            }
            Op::AdvanceProblem { r, d, p, to } => {
                let st = self.stamp(r);
                let id: ProblemId = Self::any_id("p", p);
                let to = ProblemStatus::ALL[usize::from(to)];
                let extra = if to == ProblemStatus::Resolved {
                    json!({"resolution": "已處理"})
                } else {
                    json!(null)
                };
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.advance::<Problem>(&id, to, extra, &st);
                }
            }
            Op::AddActivity { r, d, n } => {
                let st = self.stamp(r);
                let a = Activity::planned(
                    ActivityKind::Promotion,
                    format!("活動 {n}"),
                    "2027-01-10".parse().unwrap(),
                    "2027-01-20".parse().unwrap(),
                    st.user.clone(),
                    st.at,
                );
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.insert(&rid::<ActivityId>("a", r, n), &a, &st);
                }
            }
            Op::MoveActivity { r, d, a, end, day } => {
                let st = self.stamp(r);
                let id: ActivityId = Self::any_id("a", a);
                let field = if end { "ends" } else { "starts" };
                let patch = json!({ field: format!("2027-01-{:02}", day + 1) });
                // Refused locally when it breaks the rule in this replica's own view.
                if let Ok(doc) = self.replicas[r].dealer_mut(&dealer_id(d)) {
                    let _ = doc.update::<Activity>(&id, &patch, &st);
                }
            }
            Op::Send { r } => {
                let req = self.replicas[r].sync_request();
                self.net.push(Msg::Req(r, req));
            }
            Op::Deliver { i } => {
                if self.net.is_empty() {
                    return;
                }
                let msg = self.net.remove(i % self.net.len());
                self.deliver(msg);
            }
            Op::Drop { i } => {
                if !self.net.is_empty() {
                    self.net.remove(i % self.net.len());
                }
            }
            Op::Duplicate { i } => {
                if !self.net.is_empty() {
                    let msg = self.net[i % self.net.len()].clone();
                    self.net.push(msg);
                }
            }
        }
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::Req(r, req) => {
                let resp = self
                    .hub
                    .sync(&self.people[r], &req)
                    .expect("the hub answers every request of this protocol");
                self.net.push(Msg::Resp(r, resp));
            }
            Msg::Resp(r, resp) => {
                let report = self.replicas[r]
                    .apply_response(&resp)
                    .expect("same protocol");
                assert!(
                    report.errors.is_empty(),
                    "incoming changes failed to apply: {:?}",
                    report.errors
                );
                assert!(
                    report.rejected.is_empty(),
                    "valid offline work was refused: {:?}",
                    report.rejected
                );
            }
        }
    }

    /// Coverage returns: deliver what is in flight, then everyone syncs with
    /// retries over a reliable network until nothing is left to send.
    fn settle(&mut self) {
        while let Some(msg) = self.net.pop() {
            self.deliver(msg);
        }
        for _ in 0..3 {
            for r in 0..REPLICAS {
                sync(
                    &mut self.hub,
                    &self.people[r].clone(),
                    &mut self.replicas[r],
                );
            }
        }
    }

    fn check_converged(&mut self) {
        let hub_docs: BTreeSet<DocId> = self.hub.doc_ids().cloned().collect();
        for r in 0..REPLICAS {
            let mine: BTreeSet<DocId> = self.replicas[r].doc_ids().cloned().collect();
            assert_eq!(
                mine, hub_docs,
                "replica {r} holds the same documents as the server"
            );
            assert_eq!(
                self.replicas[r].pending(),
                0,
                "replica {r} has nothing left to send"
            );
        }
        for id in &hub_docs {
            let reference = self.replicas[0].doc_mut(id).unwrap().heads();
            let mut states = Vec::new();
            for r in 0..REPLICAS {
                let doc = self.replicas[r].doc_mut(id).unwrap();
                assert_eq!(
                    doc.heads(),
                    reference,
                    "replica {r} has the same heads for {id}"
                );
                states.push(match id {
                    DocId::Dealer(_) => {
                        let s = doc
                            .dealer_state()
                            .expect("the merged dealer document is readable");
                        // A merge of valid edits may break a cross-field rule (an
                        // activity's start and end moved concurrently): such a record
                        // is accepted and listed for review, never refused.
                        let flagged: BTreeSet<Vec<String>> = doc
                            .conflicts()
                            .into_iter()
                            .filter(|c| c.rule.is_some())
                            .map(|c| c.path)
                            .collect();
                        for (id, a) in &s.activities {
                            let path = vec!["activities".to_owned(), id.to_string()];
                            assert_eq!(
                                a.validate().is_err(),
                                flagged.contains(&path),
                                "an activity breaking a rule is listed for review, and only then"
                            );
                        }
                        let mut rest = s.clone();
                        rest.activities.clear();
                        rest.validate()
                            .expect("the other domain rules hold after the merge");
                        format!("{s:?}")
                    }
                    DocId::Territory(_) => {
                        format!("{:?}", doc.territory_state().expect("readable"))
                    }
                });
            }
            assert!(
                states.windows(2).all(|w| w[0] == w[1]),
                "typed states differ for {id}"
            );
        }
    }
}

fn invariants_of_lifecycles(world: &mut World) {
    // Statuses never went backwards: every record's current status has all
    // the steps a forward path needs.
    let ids: Vec<DocId> = world.hub.doc_ids().cloned().collect();
    for id in ids {
        if let DocId::Dealer(d) = &id {
            let s = world.replicas[1].dealer(d).unwrap().dealer_state().unwrap();
            for c in s.claims.values() {
                let cur = c.status.current();
                if matches!(cur, ClaimStage::Spent | ClaimStage::Reconciled) {
                    assert!(
                        c.status.step(ClaimStage::Approved).is_some(),
                        "a spent claim was approved"
                    );
                    assert!(c.spent.is_some());
                }
                if cur == ClaimStage::Reconciled {
                    assert!(
                        c.status.step(ClaimStage::Spent).is_some(),
                        "a reconciled claim was spent"
                    );
                }
                if let Some(step) = c.status.step(ClaimStage::Approved) {
                    assert_eq!(step.by, user("rm"), "only the regional manager approved");
                }
            }
            for p in s.problems.values() {
                if p.status.current() == ProblemStatus::Resolved {
                    assert!(!p.resolution.is_empty());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_over_an_unreliable_network(
        ops in prop::collection::vec(op(), 1..80),
        page in prop::option::of(2usize..8),
    ) {
        let mut world = World::new(page);
        for op in ops {
            world.run(op);
        }
        world.settle();
        world.check_converged();
        invariants_of_lifecycles(&mut world);
    }
}

#[test]
fn concurrent_moves_of_an_activitys_start_and_end_are_both_accepted_and_listed_for_review() {
    let mut world = World::new(None);
    world.run(Op::AddActivity { r: 1, d: 0, n: 0 });
    world.settle();
    // Replica 1 moves the start to the 18th, replica 2 the end to the 12th: each
    // is valid where it was made; merged, the activity ends before it starts.
    world.run(Op::MoveActivity {
        r: 1,
        d: 0,
        a: 1,
        end: false,
        day: 17,
    });
    world.run(Op::MoveActivity {
        r: 2,
        d: 0,
        a: 1,
        end: true,
        day: 11,
    });
    world.settle(); // asserts nothing was refused
    world.check_converged();
    let id: ActivityId = rid("a", 1, 0);
    let doc = world.replicas[3].dealer_mut(&dealer_id(0)).unwrap();
    let a = doc.record::<Activity>(&id).unwrap().unwrap();
    assert!(a.ends < a.starts, "both moves were kept");
    let flagged = doc
        .conflicts()
        .into_iter()
        .find(|c| c.rule.is_some())
        .unwrap();
    assert_eq!(flagged.path, vec!["activities".to_owned(), id.to_string()]);
    // Later edits of that dealer go through, and fixing the dates clears the flag.
    let st = world.stamp(2);
    let doc = world.replicas[2].dealer_mut(&dealer_id(0)).unwrap();
    doc.update::<Activity>(&id, &json!({"title": "新品推廣"}), &st)
        .unwrap();
    doc.update::<Activity>(&id, &json!({"ends": "2027-01-25"}), &st)
        .unwrap();
    world.settle();
    world.check_converged();
    let doc = world.replicas[1].dealer_mut(&dealer_id(0)).unwrap();
    assert!(doc.conflicts().iter().all(|c| c.rule.is_none()));
}

#[test]
fn the_same_step_taken_on_two_devices_at_once_is_accepted_from_both() {
    let mut world = World::new(None);
    world.run(Op::AddCommitment { r: 1, d: 0, n: 0 });
    world.run(Op::AddClaim { r: 1, d: 0, n: 0 });
    world.settle();
    // The regional manager approves m1's claim.
    world.run(Op::AdvanceClaim {
        r: 0,
        d: 0,
        c: 1,
        to: 1,
    });
    world.settle();
    // Offline, m1 and m2 both mark the commitment kept and the claim spent (the
    // same amount): each was valid where it was made.
    for r in [1, 2] {
        world.run(Op::AdvanceCommitment {
            r,
            d: 0,
            c: 1,
            to: 1,
        });
        world.run(Op::AdvanceClaim {
            r,
            d: 0,
            c: 1,
            to: 3,
        });
    }
    world.settle(); // asserts nothing was refused
    world.check_converged();
    let doc = world.replicas[3].dealer_mut(&dealer_id(0)).unwrap();
    let k = doc.record::<Commitment>(&rid("k", 1, 0)).unwrap().unwrap();
    assert_eq!(k.status.current(), CommitmentStatus::Kept);
    let c = doc
        .record::<ExpenseClaim>(&rid("c", 1, 0))
        .unwrap()
        .unwrap();
    assert_eq!(c.status.current(), ClaimStage::Spent);
    assert_eq!(c.spent, Some(twd(45_000)));
    // Both steps stay readable: the merge shows one, the review lists both.
    let kept: Vec<String> = ["commitments", "k1-0", "status", "kept"]
        .map(String::from)
        .to_vec();
    let conflict = doc
        .conflicts()
        .into_iter()
        .find(|c| c.path == kept)
        .expect("the two kept steps are listed");
    let mut by: Vec<String> = std::iter::once(&conflict.winner)
        .chain(&conflict.others)
        .filter_map(|v| v.by.as_ref().map(ToString::to_string))
        .collect();
    by.sort();
    assert_eq!(by, ["m1", "m2"]);
}
