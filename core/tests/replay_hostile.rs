//! Hostile pushes against `schema::Replay`: changes written op by op (`ExpandedChange`), as an attacker with a
//! valid token can, that pass the server's gates (`limits::peek`, `limits::check_history`) and Automerge's
//! apply; for each, every change's `Replay::edits` must be what the full diff (`from_patches(merged.diff(deps,
//! [change]))`) shows. A failing test here is a change whose replayed edits are not its diff's.
//!
//! The workspace builds Automerge without its debug assertions in tests too (`Cargo.toml`), as the server runs it:
//! an input only an assertion stopped would reach the schema here as on the server.

use std::num::NonZeroU64;
use std::panic::{AssertUnwindSafe, catch_unwind};

use fieldsync_core::automerge::legacy::{self, ElementId, Key, ObjectId, OpType};
use fieldsync_core::automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ExpandedChange, ObjType, ScalarValue,
};
use fieldsync_core::doc::DocId;
use fieldsync_core::schema::{Edit, Op, Replay, Val, from_patches};
use fieldsync_core::sync::Limits;
use fieldsync_core::sync::limits;

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn id(counter: u64, a: &ActorId) -> legacy::OpId {
    legacy::OpId(counter, a.clone())
}

fn root() -> ObjectId {
    ObjectId::Root
}

fn at(counter: u64, a: &ActorId) -> ObjectId {
    ObjectId::Id(id(counter, a))
}

fn op(obj: ObjectId, key: &str, action: OpType, pred: Vec<legacy::OpId>) -> legacy::Op {
    legacy::Op {
        action,
        obj,
        key: Key::Map(key.into()),
        pred: legacy::SortedVec::from(pred),
        insert: false,
    }
}

fn put(v: impl Into<ScalarValue>) -> OpType {
    OpType::Put(v.into())
}

fn map() -> OpType {
    OpType::Make(ObjType::Map)
}

/// A history written change by change: each actor's seq and each change's last op, as the server checks them.
#[derive(Default)]
struct History {
    changes: Vec<Change>,
}

impl History {
    /// One past the last op of `deps` (the only `start_op` the server takes).
    fn start(&self, deps: &[ChangeHash]) -> u64 {
        self.changes
            .iter()
            .filter(|c| deps.contains(&c.hash()))
            .map(Change::max_op)
            .max()
            .unwrap_or(0)
            + 1
    }

    fn add(&mut self, a: &ActorId, deps: &[ChangeHash], ops: Vec<legacy::Op>) -> ChangeHash {
        let seq = self.changes.iter().filter(|c| c.actor_id() == a).count() as u64 + 1;
        let c = Change::from(ExpandedChange {
            operations: ops,
            actor_id: a.clone(),
            hash: None,
            seq,
            start_op: NonZeroU64::new(self.start(deps)).unwrap(),
            time: 0,
            message: None,
            deps: deps.to_vec(),
            extra_bytes: Vec::new(),
            author: None,
        });
        let h = c.hash();
        self.changes.push(c);
        h
    }
}

/// One pushed change: whether Replay read it from its operations, its edits so, and the full diff's.
#[derive(Debug)]
struct Case {
    replayed: bool,
    /// The document gives the change back under the hash it was pushed with (Automerge 0.12 re-encodes changes
    /// from its op set; a pred it cannot re-encode changes the hash, and `diff` then reads an unknown change).
    same_hash: bool,
    read: Vec<Edit>,
    full: Vec<Edit>,
}

#[derive(Debug)]
enum Outcome {
    /// The server refuses the push before the schema (a gate, or Automerge itself); the reason is printed.
    #[allow(dead_code)]
    Refused(String),
    Ran(Vec<Case>),
}

/// The first `stored` changes are the document the server holds; the rest is the push (applied in one batch,
/// as `Document::apply_with` does).
fn run(h: &History, stored: usize) -> Outcome {
    for c in &h.changes {
        if let Err(e) = limits::peek(c.raw_bytes()) {
            return Outcome::Refused(format!("peek: {e}"));
        }
    }
    let doc: DocId = "dealer:d-hostile".parse().unwrap();
    if let Err(e) = limits::check_history(None, &doc, &h.changes, &Limits::default()) {
        return Outcome::Refused(format!("check_history: {e}"));
    }
    let (held, push) = h.changes.split_at(stored);
    let stored_doc = (!held.is_empty()).then(|| {
        let mut d = AutoCommit::new();
        d.apply_changes(held.to_vec()).unwrap();
        d
    });
    let mut merged = stored_doc.clone().unwrap_or_default();
    match catch_unwind(AssertUnwindSafe(|| merged.apply_changes(push.to_vec()))) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Outcome::Refused(format!("automerge: {e}")),
        Err(_) => return Outcome::Refused("automerge panicked applying the push".into()),
    }
    let before = stored_doc
        .as_ref()
        .map(|s| s.clone().get_heads())
        .unwrap_or_default();
    // `Document::changes_since`, unguarded in `ingest::decide`: the server's push worker catches the panic and
    // refuses the document (`server/src/engine/push.rs`). Automerge 0.12 re-encodes the changes from its op set,
    // which fails for preds that do not name an earlier op at the same key.
    let fresh = match catch_unwind(AssertUnwindSafe(|| merged.get_changes(&before))) {
        Ok(f) => f,
        Err(_) => {
            return Outcome::Refused("automerge panicked in get_changes (changes_since)".into());
        }
    };
    // `ingest::decide` refuses a push whose changes Automerge holds under other hashes (a pred naming no op).
    let pushed: Vec<ChangeHash> = push.iter().map(Change::hash).collect();
    if fresh.iter().any(|c| !pushed.contains(&c.hash())) {
        return Outcome::Refused("ingest: a change is not held under its own hash".into());
    }
    let mut replay = Replay::new(stored_doc.as_ref(), &before);
    let mut cases = Vec::new();
    for c in &fresh {
        let full = from_patches(merged.diff(c.deps(), &[c.hash()]));
        let n = replay.replayed();
        let read = replay.edits(c, &mut merged);
        cases.push(Case {
            same_hash: push.iter().any(|p| p.hash() == c.hash()),
            replayed: replay.replayed() > n,
            read,
            full,
        });
    }
    Outcome::Ran(cases)
}

fn sorted(mut e: Vec<Edit>) -> Vec<Edit> {
    e.sort_by_key(|x| format!("{x:?}"));
    e
}

/// Replay's edits are the full diff's for every pushed change (or the push is refused before the schema).
fn agree(h: &History, stored: usize) -> Vec<Case> {
    let out = run(h, stored);
    eprintln!("{out:#?}");
    let Outcome::Ran(cases) = out else {
        return Vec::new();
    };
    for (i, c) in cases.iter().enumerate() {
        assert!(
            c.same_hash,
            "pushed change {i} comes back from the document under another hash"
        );
        assert_eq!(
            sorted(c.read.clone()),
            sorted(c.full.clone()),
            "pushed change {i} (replayed: {}): Replay's edits (left) are not the full diff's (right)",
            c.replayed
        );
    }
    cases
}

fn edit(path: &[&str], op: Op) -> Edit {
    Edit {
        path: path.iter().map(|s| s.to_string()).collect(),
        op,
    }
}

/// A stored document by actor S: `k` = "keep" (1@S), collection `c` (2@S) holding record `r` (3@S) with `f` = 1
/// (4@S); `n` = 0 (5@S). Returns the history and its head.
fn stored() -> (History, ChangeHash, ActorId) {
    let s = actor(9);
    let mut h = History::default();
    let head = h.add(
        &s,
        &[],
        vec![
            op(root(), "k", put("keep"), vec![]),
            op(root(), "c", map(), vec![]),
            op(at(2, &s), "r", map(), vec![]),
            op(at(3, &s), "f", put(1), vec![]),
            op(root(), "n", put(0), vec![]),
        ],
    );
    (h, head, s)
}

// ---- Sanity: what Replay is for ----

#[test]
fn honest_chain_on_a_stored_collection_is_replayed() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(&a, &[s0], vec![op(at(2, &s), "x", map(), vec![])]);
    h.add(
        &a,
        &[c1],
        vec![
            op(at(6, &a), "by", put("u"), vec![]),
            op(root(), "k", put("new"), vec![id(1, &s)]),
        ],
    );
    let cases = agree(&h, 1);
    assert!(cases.iter().all(|c| c.replayed));
}

// ---- The push's shape ----

#[test]
fn empty_change() {
    let (mut h, s0, _) = stored();
    h.add(&actor(1), &[s0], vec![]);
    agree(&h, 1);
}

#[test]
fn deps_naming_one_hash_twice() {
    let (mut h, s0, s) = stored();
    h.add(
        &actor(1),
        &[s0, s0],
        vec![op(root(), "k", put(2), vec![id(1, &s)])],
    );
    agree(&h, 1);
}

// ---- Crafted preds ----

#[test]
fn pred_with_an_extra_op_that_never_exists() {
    let (mut h, s0, s) = stored();
    h.add(
        &actor(1),
        &[s0],
        vec![op(root(), "k", put(2), vec![id(1, &s), id(500, &s)])],
    );
    agree(&h, 1);
}

#[test]
fn pred_missing_the_visible_value() {
    let (mut h, s0, _) = stored();
    h.add(&actor(1), &[s0], vec![op(root(), "k", put(2), vec![])]);
    agree(&h, 1);
}

#[test]
fn pred_naming_the_visible_value_twice() {
    let (mut h, s0, s) = stored();
    h.add(
        &actor(1),
        &[s0],
        vec![op(root(), "k", put(2), vec![id(1, &s), id(1, &s)])],
    );
    agree(&h, 1);
}

/// A change names, as a predecessor, the op id its own next change will use. Automerge (one batch) gives that op
/// the successor: once made, it is never visible. The next change "puts" `k` replacing exactly what is visible
/// there, so Replay reads a put; the document shows `k` deleted.
#[test]
fn pred_naming_an_op_of_a_later_change_hides_it() {
    let a = actor(1);
    let mut h = History::default();
    let c1 = h.add(&a, &[], vec![op(root(), "k", put(1), vec![id(2, &a)])]);
    h.add(&a, &[c1], vec![op(root(), "k", put(2), vec![id(1, &a)])]);
    agree(&h, 0);
}

/// The same on a stored document: the second change, replayed as `k` = "changed", deletes the stored `k`.
#[test]
fn a_delete_of_a_stored_value_replayed_as_a_put() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let next = h.start(&[s0]) + 1;
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "note", put("x"), vec![id(next, &a)])],
    );
    h.add(
        &a,
        &[c1],
        vec![op(root(), "k", put("changed"), vec![id(1, &s)])],
    );
    let out = run(&h, 1);
    if let Outcome::Ran(cases) = &out {
        assert_eq!(
            cases[1].read,
            vec![edit(&["k"], Op::Put(Val::Str("changed".into())))]
        );
    }
    agree(&h, 1);
}

/// The hidden op can be a map too: a record "made" with its fields, none of it in the document.
#[test]
fn a_record_made_under_a_later_pred_is_never_visible() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let next = h.start(&[s0]) + 1;
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "note", put("x"), vec![id(next, &a)])],
    );
    h.add(
        &a,
        &[c1],
        vec![
            op(at(2, &s), "r2", map(), vec![]),
            op(at(next, &a), "f", put(7), vec![]),
        ],
    );
    agree(&h, 1);
}

/// A pred naming a value at another key of the same map: Automerge makes that value a predecessor (the batch
/// matches preds by op id while it walks the map), Replay's view of the other key still shows it. A later delete
/// of it is replayed; it deletes nothing.
#[test]
fn pred_at_another_key_then_a_delete_of_it() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(&a, &[s0], vec![op(root(), "z", put(0), vec![id(1, &s)])]);
    h.add(
        &a,
        &[c1],
        vec![op(root(), "k", OpType::Delete, vec![id(1, &s)])],
    );
    agree(&h, 1);
}

/// The same with the collection: the collection is hidden by a pred at another root key, and a write into it is
/// replayed at `c.r2`.
#[test]
fn pred_at_another_key_hides_a_collection_then_a_write_into_it() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(&a, &[s0], vec![op(root(), "z", put(0), vec![id(2, &s)])]);
    h.add(&a, &[c1], vec![op(at(2, &s), "r2", put(1), vec![])]);
    agree(&h, 1);
}

/// A pred naming a value in another object (the stored record's field) from an op in the root.
#[test]
fn pred_in_another_object_then_a_write_over_it() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(
        &a,
        &[s0],
        vec![
            op(root(), "z", put(0), vec![id(4, &s)]),
            op(at(3, &s), "g", put(0), vec![]),
        ],
    );
    h.add(
        &a,
        &[c1],
        vec![op(at(3, &s), "f", OpType::Delete, vec![id(4, &s)])],
    );
    agree(&h, 1);
}

/// A map made with itself as its predecessor is never visible; a write into it is replayed.
#[test]
fn map_naming_itself_as_pred_then_a_write_into_it() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let m = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "m", map(), vec![id(m, &a)])]);
    h.add(&a, &[c1], vec![op(at(m, &a), "f", put(1), vec![])]);
    agree(&h, 1);
}

/// An increment at another key naming a plain value overwrites it (Automerge: an increment of a non-counter is
/// an overwrite); Replay still shows the value and replays a delete of it.
#[test]
fn increment_at_another_key_then_a_delete() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "z", OpType::Increment(1), vec![id(1, &s)])],
    );
    h.add(
        &a,
        &[c1],
        vec![op(root(), "k", OpType::Delete, vec![id(1, &s)])],
    );
    agree(&h, 1);
}

// ---- One change writing a map and, in the same change, where it sits ----

/// The change overwrites root key `c` (the collection) and writes into the collection: the collection is gone
/// after the change, so the diff shows only the overwrite; Replay checks the path against the document before
/// the change and shows the write too.
#[test]
fn a_write_into_a_map_the_same_change_overwrites() {
    let (mut h, s0, s) = stored();
    h.add(
        &actor(1),
        &[s0],
        vec![
            op(root(), "c", put(0), vec![id(2, &s)]),
            op(at(2, &s), "r2", put(1), vec![]),
        ],
    );
    agree(&h, 1);
}

#[test]
fn a_write_into_a_map_the_same_change_deletes() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let m = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "m", map(), vec![])]);
    h.add(
        &a,
        &[c1],
        vec![
            op(at(m, &a), "f", put(1), vec![]),
            op(root(), "m", OpType::Delete, vec![id(m, &a)]),
        ],
    );
    let _ = s;
    agree(&h, 1);
}

#[test]
fn op_into_a_map_made_later_in_the_same_change() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let n = h.start(&[s0]);
    h.add(
        &a,
        &[s0],
        vec![
            op(at(n + 1, &a), "f", put(1), vec![]),
            op(root(), "m", map(), vec![]),
        ],
    );
    agree(&h, 1);
}

// ---- Objects that are not maps, values that are not scalars ----

#[test]
fn map_key_written_in_a_list() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let l = h.start(&[s0]);
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "l", OpType::Make(ObjType::List), vec![])],
    );
    h.add(&a, &[c1], vec![op(at(l, &a), "x", put(1), vec![])]);
    agree(&h, 1);
}

#[test]
fn map_made_in_a_list_then_written() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let l = h.start(&[s0]);
    let c1 = h.add(
        &a,
        &[s0],
        vec![
            op(root(), "l", OpType::Make(ObjType::List), vec![]),
            legacy::Op {
                action: map(),
                obj: at(l, &a),
                key: Key::Seq(ElementId::Head),
                pred: legacy::SortedVec::new(),
                insert: true,
            },
        ],
    );
    h.add(&a, &[c1], vec![op(at(l + 1, &a), "f", put(1), vec![])]);
    agree(&h, 1);
}

/// A map put at a map key with the insert flag set (a list insert's flag on a map op).
#[test]
fn map_key_op_with_the_insert_flag() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let m = h.start(&[s0]);
    let mut make = op(root(), "m", map(), vec![]);
    make.insert = true;
    let c1 = h.add(&a, &[s0], vec![make]);
    h.add(&a, &[c1], vec![op(at(m, &a), "f", put(1), vec![])]);
    agree(&h, 1);
}

/// A list insert into the root map (an element key on a map), then a put at the root.
#[test]
fn element_key_in_a_map() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let c1 = h.add(
        &a,
        &[s0],
        vec![legacy::Op {
            action: put(1),
            obj: root(),
            key: Key::Seq(ElementId::Head),
            pred: legacy::SortedVec::new(),
            insert: true,
        }],
    );
    h.add(&a, &[c1], vec![op(root(), "", put(2), vec![])]);
    agree(&h, 1);
}

/// A write whose object is the id of a scalar put.
#[test]
fn op_into_a_scalar() {
    let (mut h, s0, s) = stored();
    h.add(&actor(1), &[s0], vec![op(at(1, &s), "f", put(1), vec![])]);
    agree(&h, 1);
}

#[test]
fn counter_then_increment_then_put() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let n = h.start(&[s0]);
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "cnt", put(ScalarValue::counter(1)), vec![])],
    );
    let c2 = h.add(
        &a,
        &[c1],
        vec![op(root(), "cnt", OpType::Increment(2), vec![id(n, &a)])],
    );
    h.add(&a, &[c2], vec![op(root(), "cnt", put(5), vec![id(n, &a)])]);
    agree(&h, 1);
}

#[test]
fn counter_overwritten_without_increments() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let n = h.start(&[s0]);
    let c1 = h.add(
        &a,
        &[s0],
        vec![op(root(), "cnt", put(ScalarValue::counter(1)), vec![])],
    );
    let c2 = h.add(&a, &[c1], vec![op(root(), "cnt", put(5), vec![id(n, &a)])]);
    h.add(
        &a,
        &[c2],
        vec![op(root(), "cnt", OpType::Delete, vec![id(n + 1, &a)])],
    );
    agree(&h, 1);
}

#[test]
fn table_and_text_at_map_keys() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let t = h.start(&[s0]);
    let c1 = h.add(
        &a,
        &[s0],
        vec![
            op(root(), "t", OpType::Make(ObjType::Table), vec![]),
            op(root(), "x", OpType::Make(ObjType::Text), vec![]),
        ],
    );
    h.add(&a, &[c1], vec![op(at(t, &a), "f", put(1), vec![])]);
    agree(&h, 1);
}

// ---- Keys and maps over several changes ----

#[test]
fn delete_of_an_absent_key() {
    let (mut h, s0, _) = stored();
    h.add(
        &actor(1),
        &[s0],
        vec![op(root(), "absent", OpType::Delete, vec![])],
    );
    agree(&h, 1);
}

#[test]
fn delete_naming_a_value_already_overwritten() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let n = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "k", put(2), vec![id(1, &s)])]);
    h.add(
        &a,
        &[c1],
        vec![op(root(), "k", OpType::Delete, vec![id(1, &s), id(n, &a)])],
    );
    agree(&h, 1);
}

#[test]
fn a_map_made_twice_at_one_key_then_a_write_into_the_first() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let m1 = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "m", map(), vec![])]);
    let c2 = h.add(&a, &[c1], vec![op(root(), "m", map(), vec![id(m1, &a)])]);
    h.add(&a, &[c2], vec![op(at(m1, &a), "f", put(1), vec![])]);
    agree(&h, 1);
}

#[test]
fn a_map_made_concurrently_twice_then_writes_into_each() {
    let (mut h, s0, _) = stored();
    let (a, b) = (actor(1), actor(2));
    let m = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "m", map(), vec![])]);
    let c2 = h.add(&b, &[s0], vec![op(root(), "m", map(), vec![])]);
    let c3 = h.add(&a, &[c1, c2], vec![op(at(m, &a), "f", put(1), vec![])]);
    h.add(&a, &[c3], vec![op(at(m, &b), "f", put(1), vec![])]);
    agree(&h, 1);
}

#[test]
fn a_conflict_at_a_stored_root_key_resolved_and_half_resolved() {
    let (mut h, s0, s) = stored();
    let (a, b, d) = (actor(1), actor(2), actor(3));
    let n = h.start(&[s0]);
    let x = h.add(&a, &[s0], vec![op(root(), "k", put("a"), vec![id(1, &s)])]);
    let y = h.add(&b, &[s0], vec![op(root(), "k", put("b"), vec![id(1, &s)])]);
    // Stored: the conflict. The push: one change naming one side, then one naming both.
    let c1 = h.add(
        &d,
        &[x, y],
        vec![op(root(), "k", put("d"), vec![id(n, &a)])],
    );
    h.add(
        &d,
        &[c1],
        vec![op(root(), "k", put("e"), vec![id(n, &b), id(n + 1, &d)])],
    );
    agree(&h, 3);
}

#[test]
fn writes_into_a_stored_record_two_deep() {
    let (mut h, s0, s) = stored();
    let a = actor(1);
    let c1 = h.add(&a, &[s0], vec![op(at(3, &s), "f", put(2), vec![id(4, &s)])]);
    h.add(
        &a,
        &[c1],
        vec![op(at(3, &s), "f", OpType::Delete, vec![id(6, &a)])],
    );
    agree(&h, 1);
}

#[test]
fn a_chain_after_a_concurrent_branch_naming_stale_preds() {
    let (mut h, s0, s) = stored();
    let (a, b) = (actor(1), actor(2));
    let n = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(root(), "k", put("a"), vec![id(1, &s)])]);
    let c2 = h.add(&b, &[s0], vec![op(root(), "k", put("b"), vec![id(1, &s)])]);
    h.add(
        &a,
        &[c1, c2],
        vec![op(root(), "k", put("m"), vec![id(n, &a), id(n, &b)])],
    );
    agree(&h, 1);
}

/// Maps made in a cycle across two changes (each inside the other): refused before Replay (`check_depth`);
/// were it not, `path_in` would walk the cycle for ever.
#[test]
fn maps_in_a_cycle_are_refused_before_replay() {
    let (mut h, s0, _) = stored();
    let a = actor(1);
    let n = h.start(&[s0]);
    let c1 = h.add(&a, &[s0], vec![op(at(n + 1, &a), "m", map(), vec![])]);
    h.add(&a, &[c1], vec![op(at(n, &a), "m", map(), vec![])]);
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::sync::Arc::new(h);
    let hh = h.clone();
    std::thread::spawn(move || {
        let out = run(&hh, 1);
        let _ = tx.send(format!("{out:?}"));
    });
    let out = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("Replay loops");
    assert!(out.starts_with("Refused"), "{out}");
}

/// A delete naming the map a concurrent change makes, in a push whose order takes the delete in first: Automerge
/// hides the map (the delete is its successor in every clock holding both), Replay's view of the key shows it, and
/// a write into it by the change that merges both is replayed.
#[test]
fn a_delete_naming_a_concurrent_map_then_a_write_into_it() {
    let (mut h, s0, _) = stored();
    let (a, b) = (actor(1), actor(2));
    // `a` is known to the document before the push (the server's `UnknownActor` rule).
    let s1 = h.add(&a, &[s0], vec![op(root(), "seen", put(true), vec![])]);
    let n = h.start(&[s1]);
    let del = h.add(
        &b,
        &[s1],
        vec![op(root(), "m", OpType::Delete, vec![id(n, &a)])],
    );
    let make = h.add(&a, &[s1], vec![op(root(), "m", map(), vec![])]);
    h.add(&a, &[del, make], vec![op(at(n, &a), "f", put(1), vec![])]);
    agree(&h, 2);
}
