//! `Mirror`: a new document read at a pushed change from the values its push wrote, instead of asking Automerge at given heads.
//!
//! The schema reads each pushed change's document just before and just after
//! it (`View`). Read from Automerge at given heads, every lookup walks the
//! document's history: in an upload of new dealers that was a third of the
//! server's decision, and the larger share the more visits a dealer holds. A
//! document the push creates is made of the push's own operations only, so
//! while every key shows one value (no conflict), every operation is a map, a
//! scalar or a delete at a map key, and the change read follows on the ones
//! before it, the document at the change is exactly the values the
//! [`super::Replay`] saw put and not yet replaced; just before it, the same with
//! the keys the change wrote shown as they were. Anything else (a stored
//! document, a list, a counter, a conflict, a change concurrent with the ones
//! before it) turns the mirror off and the checks read Automerge as before. A
//! proptest holds its reads equal to Automerge's (`core/tests/replay_edits.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{ObjId, ScalarValue};
use serde_json::{Map, Value as Json};

use super::replay::{OpRef, Slot};
use super::view::{Seen, View, scalar_to_json};

/// What an operation put at its key: a map (whose id is the operation's) or a scalar.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Map,
    Scalar(ScalarValue),
}

/// The operation a key shows and what it put.
type Shown = (OpRef, Node);

/// The values a new document's push wrote, and which one each key shows.
#[derive(Debug)]
pub(super) struct Tree {
    /// Still exact: nothing it cannot mirror was taken in.
    exact: bool,
    /// The change taken in last followed on the heads before it.
    followed: bool,
    /// What each key shows, in key order within each map (`None`: the root).
    shown: BTreeMap<Slot, Shown>,
    /// What each key the last change wrote showed before it.
    undo: HashMap<Slot, Option<Shown>>,
    /// The keys of each map that the last change replaced or deleted (they showed
    /// something before it).
    undone: HashMap<Option<OpRef>, Vec<String>>,
}

impl Tree {
    /// An empty tree; `new_document`: the push creates the document (else the
    /// mirror is off from the start).
    pub(super) fn new(new_document: bool) -> Self {
        Tree {
            exact: new_document,
            followed: false,
            shown: BTreeMap::new(),
            undo: HashMap::new(),
            undone: HashMap::new(),
        }
    }

    /// Whether the last change can be read here.
    pub(super) fn usable(&self) -> bool {
        self.exact && self.followed
    }

    /// A change starts; `followed`: its dependencies are the heads so far.
    pub(super) fn start(&mut self, followed: bool) {
        self.undo.clear();
        self.undone.clear();
        self.followed = followed;
    }

    /// Something the mirror cannot show was taken in: off for good.
    pub(super) fn lose(&mut self) {
        self.exact = false;
        self.shown.clear();
        self.undo.clear();
        self.undone.clear();
    }

    /// Operation `id` put `node` at `slot` (`None` in `node`: a delete; `None`
    /// itself: something not mirrored), after which the key shows `now` (`None`:
    /// not known).
    pub(super) fn write(
        &mut self,
        slot: &Slot,
        now: Option<&BTreeSet<OpRef>>,
        (id, node): (&OpRef, Option<Option<Node>>),
    ) {
        if !self.exact {
            return;
        }
        let (Some(node), Some(now)) = (node, now) else {
            return self.lose();
        };
        let held = self.shown.get(slot);
        // A write shows itself alone; a delete, nothing, or what it did not name (left as it was).
        let exact = match (&node, now.len()) {
            (Some(_), 1) => now.contains(id),
            (None, 0) => true,
            (None, 1) => held.is_some_and(|(op, _)| now.contains(op)),
            _ => false,
        };
        if !exact {
            return self.lose();
        }
        if !self.undo.contains_key(slot) {
            if held.is_some() {
                self.undone.entry(slot.0).or_default().push(slot.1.clone());
            }
            self.undo.insert(slot.clone(), held.cloned());
        }
        match node {
            Some(node) => {
                self.shown.insert(slot.clone(), (*id, node));
            }
            None if now.is_empty() => {
                self.shown.remove(slot);
            }
            None => {}
        }
    }
}

/// The document just before or just after the last change (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Mirror<'t> {
    tree: &'t Tree,
    before: bool,
}

impl<'t> Mirror<'t> {
    pub(super) fn before(tree: &'t Tree) -> Self {
        Mirror { tree, before: true }
    }

    pub(super) fn after(tree: &'t Tree) -> Self {
        Mirror {
            tree,
            before: false,
        }
    }

    /// What `slot` shows (as it was for the last change's keys, before it).
    fn shows(&self, slot: &Slot) -> Option<&'t Shown> {
        if self.before
            && let Some(prior) = self.tree.undo.get(slot)
        {
            return prior.as_ref();
        }
        self.tree.shown.get(slot)
    }

    /// The map at `path` (`Some(None)`: the root), if a map is there.
    fn map(&self, path: &[String]) -> Option<Option<OpRef>> {
        let mut at: Option<OpRef> = None;
        for key in path {
            let (op, Node::Map) = self.shows(&(at, key.clone()))? else {
                return None;
            };
            at = Some(*op);
        }
        Some(at)
    }

    /// What each key of map `map` shows, in key order.
    fn entries(&self, map: &Option<OpRef>) -> Vec<(&'t str, &'t Shown)> {
        let from = (*map, String::new());
        let mut out: Vec<(&str, &Shown)> = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        for ((m, key), _) in self.tree.shown.range(from..) {
            if m != map {
                break;
            }
            keys.push(key);
        }
        if self.before
            && let Some(undone) = self.tree.undone.get(map)
        {
            // Keys the last change replaced or deleted showed something before it.
            keys.extend(undone.iter().map(String::as_str));
            keys.sort_unstable();
            keys.dedup();
        }
        for key in keys {
            if let Some(shown) = self.shows(&(*map, key.to_owned())) {
                out.push((key, shown));
            }
        }
        out
    }

    fn json_of(&self, map: &Option<OpRef>) -> Json {
        let mut out = Map::new();
        for (key, (op, node)) in self.entries(map) {
            let value = match node {
                Node::Scalar(s) => scalar_to_json(s),
                Node::Map => self.json_of(&Some(*op)),
            };
            out.insert(key.to_owned(), value);
        }
        Json::Object(out)
    }
}

impl View for Mirror<'_> {
    fn seen(&self, path: &[String]) -> Seen {
        let Some((last, parent)) = path.split_last() else {
            return Seen::Map;
        };
        let Some(map) = self.map(parent) else {
            return Seen::Absent;
        };
        match self.shows(&(map, last.clone())) {
            Some((_, Node::Map)) => Seen::Map,
            Some((_, Node::Scalar(s))) => Seen::Scalar(s.clone()),
            None => Seen::Absent,
        }
    }

    fn keys(&self, path: &[String]) -> Vec<String> {
        self.map(path).map_or_else(Vec::new, |m| {
            self.entries(&m)
                .into_iter()
                .map(|(k, _)| k.to_owned())
                .collect()
        })
    }

    fn json(&self, path: &[String]) -> Option<Json> {
        let map = self.map(path)?;
        Some(self.json_of(&map))
    }

    /// A new document has nothing stored to compare with: the concurrent checks
    /// (the only ones asking) run on stored documents, never on a mirror.
    fn writes(&self, _path: &[String]) -> Vec<ObjId> {
        Vec::new()
    }
}

/// Debug builds: `mirror` reads as Automerge does (`at`) wherever the checks of
/// a change read (`touched` records, `edits`' paths and every map above them),
/// and the whole document alike. Every server test's push is so compared.
#[cfg(debug_assertions)]
pub(super) fn assert_same(
    mirror: &Mirror<'_>,
    at: &dyn View,
    touched: &super::Touched,
    edits: &[super::Edit],
) {
    assert_eq!(mirror.json(&[]), at.json(&[]), "the mirror's document");
    let paths = touched.iter().chain(edits.iter().map(|e| &e.path));
    for path in paths {
        for n in 0..=path.len() {
            let p = &path[..n];
            assert_eq!(mirror.seen(p), at.seen(p), "the mirror at {p:?}");
            assert_eq!(mirror.keys(p), at.keys(p), "the mirror's keys at {p:?}");
        }
    }
}
