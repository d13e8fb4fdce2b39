//! `Replay`: each pushed change's edits read from its own operations where the change follows on the ones before it, without asking Automerge for a diff.
//!
//! The schema checks a pushed change by what `diff(deps, [change])` shows it did.
//! Done on the document holding the whole push, that diff scans every op of the
//! document, so a push of N changes to a document of N ops costs N² (a territory
//! whose index gains a thousand dealers in one upload); stepping a second copy
//! through the push with Automerge's patch log on costs one apply and one path
//! lookup per change, which still made the territory's push the longest part of
//! an upload.
//!
//! The replay keeps, for each map key the push wrote, which operations are
//! visible there (Automerge's rule: an operation is visible until a later one
//! names it as its predecessor), and where each map the push made sits. A change
//! whose dependencies are exactly the heads so far (one device's chain, the usual
//! case) was made on the document as it is here, so where each of its operations
//! is a put, a new map or a delete at a key of a map whose place is known, that
//! replaces exactly what is visible there, and no two of them write the same key,
//! the diff is those operations, one edit each. Any other change (concurrent
//! branches, a conflict kept, a write into a map the server held before below the
//! document's collections, lists, counters) gets the full diff on the merged
//! document, as before; its operations still update what is visible. A proptest
//! holds both equal over random histories (`core/tests/replay_edits.rs`).
//!
//! Operation ids are unique and ordered along the history: `sync::limits` refuses
//! a change whose `start_op` is not one past its dependencies' last op.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::legacy::{self, Key, ObjectId, OpType};
use automerge::{AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};

use super::edit::{Edit, Op, Val, from_patches};
use super::mirror::{Mirror, Node, Tree};

/// An operation's id: its counter and its actor's number in this replay (`Actors`).
pub(super) type OpRef = (u64, u32);

/// A map key: the map (`None`: the root) and the key.
pub(super) type Slot = (Option<OpRef>, String);

/// What each pushed change did, in turn (see the module docs).
#[derive(Debug)]
pub struct Replay<'a> {
    stored: Option<&'a AutoCommit>,
    /// The heads of the document holding the stored changes and the push so far.
    heads: Vec<ChangeHash>,
    /// Maps made by the push: where each was put.
    made: HashMap<OpRef, Slot>,
    /// The root's maps as stored (one value at their key): the key and the map.
    collections: HashMap<OpRef, (String, ObjId)>,
    /// What is visible at each key the push wrote (`None`: not known).
    visible: HashMap<Slot, Option<BTreeSet<OpRef>>>,
    /// Every op named as a predecessor so far. One named before it was taken in
    /// (by a concurrent change taken first) is hidden by Automerge wherever it is
    /// made: what its key shows is not known here.
    named: HashSet<OpRef>,
    replayed: usize,
    actors: Actors,
    /// A new document's every value, for reading it at the last change without
    /// Automerge (`super::mirror`), while that stays exact.
    tree: Tree,
}

impl<'a> Replay<'a> {
    /// Starts from `stored`, the document as the server held it (`None`: the push
    /// creates it), whose heads are `heads`.
    pub fn new(stored: Option<&'a AutoCommit>, heads: &[ChangeHash]) -> Self {
        let actors = Actors::default();
        let mut collections = HashMap::new();
        if let Some(doc) = stored {
            for key in doc.keys(ROOT) {
                if let Ok(all) = doc.get_all(ROOT, key.as_str())
                    && let [(Value::Object(ObjType::Map), id)] = all.as_slice()
                    && let Some(at) = actors.obj(id)
                {
                    collections.insert(at, (key, id.clone()));
                }
            }
        }
        Replay {
            stored,
            heads: heads.to_vec(),
            made: HashMap::new(),
            collections,
            visible: HashMap::new(),
            named: HashSet::new(),
            replayed: 0,
            actors,
            tree: Tree::new(stored.is_none()),
        }
    }

    /// The document just before and just after the change taken in last, read
    /// from the values the push wrote, where that is exact (a new document, one
    /// value at every key, the change following on the ones before it).
    pub fn views(&self) -> Option<(Mirror<'_>, Mirror<'_>)> {
        self.tree
            .usable()
            .then(|| (Mirror::before(&self.tree), Mirror::after(&self.tree)))
    }

    /// How many changes' edits were read from their operations so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The edits of `change`, the next pushed change in causal order; `merged`
    /// holds every change of the push (for a change that is not replayed).
    pub fn edits(&mut self, change: &Change, merged: &mut AutoCommit) -> Vec<Edit> {
        self.edits_decoded(change, change.decode().operations, merged)
    }

    /// [`Self::edits`] of a change whose operations were decoded already (`ops`,
    /// its `decode().operations`: the push's checks decode each change once).
    pub fn edits_decoded(
        &mut self,
        change: &Change,
        ops: Vec<legacy::Op>,
        merged: &mut AutoCommit,
    ) -> Vec<Edit> {
        let ops = self.actors.with_ids(change, ops);
        let follows = same(&self.heads, change.deps());
        let replayed = if follows { self.read(&ops) } else { None };
        self.take(change, &ops);
        match replayed {
            Some(edits) => {
                self.replayed += 1;
                edits
            }
            None => from_patches(merged.diff(change.deps(), &[change.hash()])),
        }
    }

    /// Takes in a change that is not checked (fieldsync's own skeleton).
    pub fn pass(&mut self, change: &Change) {
        self.pass_decoded(change, change.decode().operations);
    }

    /// [`Self::pass`] of a change whose operations were decoded already.
    pub fn pass_decoded(&mut self, change: &Change, ops: Vec<legacy::Op>) {
        let ops = self.actors.with_ids(change, ops);
        self.take(change, &ops);
    }

    /// The change's edits, if its operations say exactly what its diff would.
    fn read(&self, ops: &[(OpRef, legacy::Op)]) -> Option<Vec<Edit>> {
        let mut slots = Vec::with_capacity(ops.len());
        for (id, op) in ops {
            if self.named.contains(id) {
                return None;
            }
            slots.push(self.actors.slot_of(op)?);
        }
        // No key written twice, and no write into a map whose own key this change
        // writes too (`path_in`: the diff shows nothing inside a map it replaces).
        let written: BTreeSet<&Slot> = slots.iter().collect();
        if written.len() != slots.len() {
            return None;
        }
        // Maps this change makes, visible once made (their keys are checked below).
        let mut fresh: HashMap<&OpRef, &Slot> = HashMap::new();
        let mut edits = Vec::with_capacity(ops.len());
        for ((id, op), slot) in ops.iter().zip(&slots) {
            let mut path = self.path_in(&slot.0, &fresh, &written)?;
            let seen = match slot.0.as_ref().filter(|m| fresh.contains_key(m)) {
                // A map this change made holds nothing before it.
                Some(_) => BTreeSet::new(),
                None => self.seen(slot)?,
            };
            let pred: BTreeSet<OpRef> = op.pred.iter().map(|p| self.actors.op(p)).collect();
            if pred != seen || op.insert {
                return None;
            }
            let val = match &op.action {
                OpType::Make(ObjType::Map) => {
                    fresh.insert(id, slot);
                    Val::Map
                }
                OpType::Put(s) if !matches!(s, automerge::ScalarValue::Counter(_)) => {
                    Val::of_scalar(s)
                }
                OpType::Delete if !seen.is_empty() => {
                    path.push(slot.1.clone());
                    edits.push(Edit {
                        path,
                        op: Op::Delete,
                    });
                    continue;
                }
                _ => return None,
            };
            path.push(slot.1.clone());
            edits.push(Edit {
                path,
                op: Op::Put(val),
            });
        }
        Some(edits)
    }

    /// The path of the map `map` (`None`: the root) if it is visible where it was
    /// put and stays so through the change; `fresh`: maps the change being read
    /// made (visible where they were made); `written`: every key the change writes.
    fn path_in(
        &self,
        map: &Option<OpRef>,
        fresh: &HashMap<&OpRef, &Slot>,
        written: &BTreeSet<&Slot>,
    ) -> Option<Vec<String>> {
        let mut path = Vec::new();
        let mut at = *map;
        // Each step goes to a map made earlier (a smaller op id): this ends.
        while let Some(m) = at {
            let slot = match fresh.get(&m) {
                Some(slot) => (*slot).clone(),
                None => {
                    let slot = match self.made.get(&m) {
                        Some(slot) => slot.clone(),
                        None => {
                            let (key, _) = self.collections.get(&m)?;
                            (None, key.clone())
                        }
                    };
                    let only = BTreeSet::from([m]);
                    if written.contains(&slot) || self.seen(&slot)? != only {
                        return None;
                    }
                    slot
                }
            };
            path.push(slot.1.clone());
            at = slot.0;
        }
        path.reverse();
        Some(path)
    }

    /// What is visible at `slot` now, if known.
    fn seen(&self, slot: &Slot) -> Option<BTreeSet<OpRef>> {
        if let Some(known) = self.visible.get(slot) {
            return known.clone();
        }
        let Some(doc) = self.stored else {
            return Some(BTreeSet::new());
        };
        let all = match &slot.0 {
            None => doc.get_all(ROOT, slot.1.as_str()),
            Some(m) if self.made.contains_key(m) => return Some(BTreeSet::new()),
            Some(m) => {
                let (_, obj) = self.collections.get(m)?;
                doc.get_all(obj, slot.1.as_str())
            }
        };
        all.ok()?
            .iter()
            .map(|(_, id)| self.actors.obj(id))
            .collect()
    }

    /// Takes `change`'s operations in: what each key now shows, where new maps are.
    fn take(&mut self, change: &Change, ops: &[(OpRef, legacy::Op)]) {
        self.tree.start(same(&self.heads, change.deps()));
        for (id, op) in ops {
            self.named.extend(op.pred.iter().map(|p| self.actors.op(p)));
            let Some(slot) = self.actors.slot_of(op) else {
                self.tree.lose();
                continue;
            };
            let node = match &op.action {
                _ if op.insert => None,
                OpType::Make(ObjType::Map) => Some(Some(Node::Map)),
                OpType::Put(s) if !matches!(s, automerge::ScalarValue::Counter(_)) => {
                    Some(Some(Node::Scalar(s.clone())))
                }
                OpType::Delete => Some(None),
                _ => None,
            };
            let hidden = self.named.contains(id);
            let now = self.seen(&slot).filter(|_| !hidden).map(|mut seen| {
                for p in op.pred.iter() {
                    seen.remove(&self.actors.op(p));
                }
                match op.action {
                    OpType::Delete => {}
                    // A counter's increments name it as their predecessor and leave it visible.
                    OpType::Increment(_) => return None,
                    _ => {
                        seen.insert(*id);
                    }
                }
                Some(seen)
            });
            if let OpType::Make(ObjType::Map) = op.action {
                self.made.insert(*id, slot.clone());
            }
            let now = now.flatten();
            self.tree.write(&slot, now.as_ref(), (id, node));
            self.visible.insert(slot, now);
        }
        self.heads.retain(|h| !change.deps().contains(h));
        self.heads.push(change.hash());
    }
}

/// The actors of a replay, numbered as first met (op ids compared and hashed as
/// two numbers, not a counter and the actor's bytes).
#[derive(Debug, Default)]
struct Actors(RefCell<HashMap<Vec<u8>, u32>>);

impl Actors {
    fn number(&self, actor: &automerge::ActorId) -> u32 {
        let bytes = actor.to_bytes();
        if let Some(n) = self.0.borrow().get(bytes) {
            return *n;
        }
        let mut all = self.0.borrow_mut();
        let n = u32::try_from(all.len()).unwrap_or(u32::MAX);
        all.insert(bytes.to_vec(), n);
        n
    }

    fn op(&self, id: &legacy::OpId) -> OpRef {
        (id.0, self.number(&id.1))
    }

    fn obj(&self, id: &ObjId) -> Option<OpRef> {
        match id {
            ObjId::Root => None,
            ObjId::Id(counter, actor, _) => Some((*counter, self.number(actor))),
        }
    }

    /// A change's operations (`ops`, decoded) with their ids.
    fn with_ids(&self, change: &Change, ops: Vec<legacy::Op>) -> Vec<(OpRef, legacy::Op)> {
        let start = change.start_op().get();
        let actor = self.number(change.actor_id());
        ops.into_iter()
            .enumerate()
            .map(|(i, op)| ((start + i as u64, actor), op))
            .collect()
    }

    /// The map key an operation writes (`None`: a list or text position).
    fn slot_of(&self, op: &legacy::Op) -> Option<Slot> {
        let Key::Map(key) = &op.key else {
            return None;
        };
        let map = match &op.obj {
            ObjectId::Root => None,
            ObjectId::Id(id) => Some(self.op(id)),
        };
        Some((map, key.to_string()))
    }
}

/// Whether two lists of heads name the same changes.
fn same(heads: &[ChangeHash], deps: &[ChangeHash]) -> bool {
    let mut a = heads.to_vec();
    let mut b = deps.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}
