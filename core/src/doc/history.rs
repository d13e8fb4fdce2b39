//! Per-field audit history of one record: every write to each of its fields, read from the document's own changes and their stamps.
//!
//! Nothing here is a second copy of the data: every Automerge change already
//! carries its author's [`Stamp`] (user, device, the device's clock, a GPS fix
//! when one was taken), and the operations of the change say which key of which
//! map it wrote. The history of a record is those operations, in causal order
//! (by operation id: Automerge's own Lamport order), with the values that lost a
//! concurrent write named on the write that won.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use automerge::legacy::{self, ObjectId, OpType};
use automerge::{Change, ChangeHash, ObjType, ReadDoc, Value};
use serde::Serialize;
use serde_json::Value as Json;

use super::document::Document;
use crate::calendar::Timestamp;
use crate::geo::GeoFix;
use crate::ids::{ActivityId, ClaimId, CommitmentId, ContactId, CustomerId, ProblemId, VisitId};
use crate::ids::{DeviceId, UserId};
use crate::schema::{DocKind, scalar_to_json};
use crate::stamp::Stamp;

/// Why a record reference is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("unknown record kind {0:?}")]
    UnknownKind(String),
    #[error("not a valid {kind} id")]
    BadId { kind: &'static str },
}

/// The kinds of record of a dealer document that have a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// The dealer's profile (without its contacts and downline customers, which are records of their own).
    Profile,
    Contact,
    Downline,
    Visit,
    Commitment,
    Claim,
    Problem,
    Activity,
}

impl RecordKind {
    /// Every kind, in the order of their names.
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Profile,
        RecordKind::Contact,
        RecordKind::Downline,
        RecordKind::Visit,
        RecordKind::Commitment,
        RecordKind::Claim,
        RecordKind::Problem,
        RecordKind::Activity,
    ];

    /// The kind's name (`commitment`, `visit`, …), as the API takes it.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Profile => "profile",
            RecordKind::Contact => "contact",
            RecordKind::Downline => "downline",
            RecordKind::Visit => "visit",
            RecordKind::Commitment => "commitment",
            RecordKind::Claim => "claim",
            RecordKind::Problem => "problem",
            RecordKind::Activity => "activity",
        }
    }

    /// The map holding this kind's records, from the document root.
    fn collection(self) -> &'static [&'static str] {
        match self {
            RecordKind::Profile => &[],
            RecordKind::Contact => &["profile", "contacts"],
            RecordKind::Downline => &["profile", "downline"],
            RecordKind::Visit => &["visits"],
            RecordKind::Commitment => &["commitments"],
            RecordKind::Claim => &["claims"],
            RecordKind::Problem => &["problems"],
            RecordKind::Activity => &["activities"],
        }
    }

    fn id_ok(self, id: &str) -> bool {
        match self {
            RecordKind::Profile => true,
            RecordKind::Contact => id.parse::<ContactId>().is_ok(),
            RecordKind::Downline => id.parse::<CustomerId>().is_ok(),
            RecordKind::Visit => id.parse::<VisitId>().is_ok(),
            RecordKind::Commitment => id.parse::<CommitmentId>().is_ok(),
            RecordKind::Claim => id.parse::<ClaimId>().is_ok(),
            RecordKind::Problem => id.parse::<ProblemId>().is_ok(),
            RecordKind::Activity => id.parse::<ActivityId>().is_ok(),
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RecordKind {
    type Err = HistoryError;
    fn from_str(s: &str) -> Result<Self, HistoryError> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| HistoryError::UnknownKind(s.chars().take(40).collect()))
    }
}

/// One record of a dealer document: its kind and id (the profile has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    kind: RecordKind,
    id: Option<String>,
}

impl RecordRef {
    /// The record `id` of `kind`, its id checked as that kind's ids are (ignored for the profile).
    pub fn new(kind: RecordKind, id: &str) -> Result<RecordRef, HistoryError> {
        if kind == RecordKind::Profile {
            return Ok(RecordRef { kind, id: None });
        }
        if !kind.id_ok(id) {
            return Err(HistoryError::BadId { kind: kind.name() });
        }
        Ok(RecordRef {
            kind,
            id: Some(id.to_owned()),
        })
    }

    /// The dealer's profile.
    pub fn profile() -> RecordRef {
        RecordRef {
            kind: RecordKind::Profile,
            id: None,
        }
    }

    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// The record's keys from the document root.
    fn path(&self) -> Vec<String> {
        let mut path: Vec<String> = if self.kind == RecordKind::Profile {
            vec!["profile".to_owned()]
        } else {
            self.kind
                .collection()
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        };
        path.extend(self.id.clone());
        path
    }

    /// Fields of the record's map that belong to other records (the profile's contacts and downline).
    fn excluded(&self) -> &'static [&'static str] {
        match self.kind {
            RecordKind::Profile => &["contacts", "downline"],
            _ => &[],
        }
    }
}

/// A value a write beat: written concurrently to the same field, not the one
/// Automerge's conflict resolution picked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LostValue {
    /// The value (`null`: a delete).
    pub value: Json,
    /// The change (hex hash) that wrote it.
    pub change: String,
    pub user: Option<UserId>,
    pub device: Option<DeviceId>,
    /// The device's clock when it was written.
    pub at: Option<Timestamp>,
}

/// One write to a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldWrite {
    /// The value written (`null`: the field, or a set member, was deleted).
    pub value: Json,
    /// The change (hex hash) that wrote it.
    pub change: String,
    /// From the change's stamp (absent if it carries none).
    pub user: Option<UserId>,
    pub device: Option<DeviceId>,
    /// The device's clock when the edit was made.
    pub at: Option<Timestamp>,
    /// The GPS fix the device took with the edit, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoFix>,
    /// Set when a write made concurrently to this one won over it.
    pub lost: bool,
    /// The concurrent writes this one won over.
    pub lost_values: Vec<LostValue>,
}

/// Every write to one field of a record, in causal order (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldHistory {
    /// The key in the record; a nested key is dotted: `what`, `amount.minor`,
    /// `status.kept.at`, `notes.<note id>.text`.
    pub field: String,
    pub writes: Vec<FieldWrite>,
}

/// A write as found in a change, before concurrency is known.
struct Found {
    field: String,
    /// The map it wrote into (writes to one key of one map can conflict).
    obj: legacy::ObjectId,
    key: String,
    op: legacy::OpId,
    /// Index of the change in `Graph::hashes`.
    change: usize,
    value: Option<Json>,
    dropped: bool,
}

/// The changes of a document and their dependencies, for "happened before".
struct Graph {
    hashes: Vec<ChangeHash>,
    deps: Vec<Vec<usize>>,
    stamps: Vec<Option<Stamp>>,
}

impl Graph {
    /// Whether change `a` is in the causal past of change `b` (or is `b`).
    fn before(&self, a: usize, b: usize) -> bool {
        if a == b {
            return true;
        }
        // Changes are listed in causal order: none listed before `a` descends from it.
        let mut seen = HashSet::new();
        let mut stack = vec![b];
        while let Some(c) = stack.pop() {
            for &d in &self.deps[c] {
                if d == a {
                    return true;
                }
                if d > a && seen.insert(d) {
                    stack.push(d);
                }
            }
        }
        false
    }
}

impl Document {
    /// The history of each field of `record`: every write with its value, change,
    /// stamp, and the concurrent values it beat. `None` when the document is not
    /// a dealer's or holds no such record.
    pub fn history(&mut self, record: &RecordRef) -> Option<Vec<FieldHistory>> {
        if self.kind() != DocKind::Dealer || !self.holds(&record.path()) {
            return None;
        }
        let changes = causal_order(self.automerge_mut().get_changes(&[]));
        let index: HashMap<ChangeHash, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.hash(), i))
            .collect();
        let mut graph = Graph {
            hashes: Vec::with_capacity(changes.len()),
            deps: Vec::with_capacity(changes.len()),
            stamps: Vec::with_capacity(changes.len()),
        };
        let prefix = record.path();
        let excluded = record.excluded();
        // Every map's path from the root, by the id of the operation that made it.
        let mut maps: HashMap<legacy::OpId, Vec<String>> = HashMap::new();
        let mut found: Vec<Found> = Vec::new();
        let mut by_op: HashMap<legacy::OpId, usize> = HashMap::new();
        for (ci, change) in changes.iter().enumerate() {
            graph.hashes.push(change.hash());
            graph.deps.push(
                change
                    .deps()
                    .iter()
                    .filter_map(|d| index.get(d).copied())
                    .collect(),
            );
            graph.stamps.push(Stamp::from_message(change.message()));
            let start = change.start_op().get();
            let actor = change.actor_id().clone();
            for (i, op) in change.decode().operations.into_iter().enumerate() {
                let id = legacy::OpId(start + i as u64, actor.clone());
                let legacy::Key::Map(key) = &op.key else {
                    continue;
                };
                let parent = match &op.obj {
                    ObjectId::Root => Some(Vec::new()),
                    ObjectId::Id(p) => maps.get(p).cloned(),
                };
                let Some(mut path) = parent else { continue };
                // A value this change itself replaces was never seen by anyone.
                for p in op.pred.iter() {
                    if let Some(&w) = by_op.get(p)
                        && found[w].change == ci
                    {
                        found[w].dropped = true;
                    }
                }
                let obj = op.obj.clone();
                path.push(key.to_string());
                let value = match &op.action {
                    OpType::Make(ObjType::Map | ObjType::Table) => {
                        maps.insert(id.clone(), path.clone());
                        continue;
                    }
                    OpType::Put(v) => Some(scalar_to_json(v)),
                    OpType::Delete => None,
                    _ => continue,
                };
                let Some(field) = field_of(&prefix, excluded, &path) else {
                    continue;
                };
                by_op.insert(id.clone(), found.len());
                found.push(Found {
                    field,
                    obj,
                    key: key.to_string(),
                    op: id.clone(),
                    change: ci,
                    value,
                    dropped: false,
                });
            }
        }
        found.retain(|w| !w.dropped);
        // Automerge's order of operations: by counter, then actor; causal.
        found.sort_by(|a, b| a.op.cmp(&b.op));
        Some(assemble(&graph, &found))
    }

    /// Whether the map at `path` exists.
    fn holds(&self, path: &[String]) -> bool {
        let am = self.automerge();
        let mut obj = automerge::ROOT;
        for key in path {
            match am.get(&obj, key.as_str()) {
                Ok(Some((Value::Object(ObjType::Map), child))) => obj = child,
                _ => return false,
            }
        }
        true
    }
}

/// The changes ordered so that each comes after its dependencies (Kahn's
/// algorithm; among changes ready together, by start operation, actor and hash,
/// so every replica lists them alike).
fn causal_order(changes: Vec<Change>) -> Vec<Change> {
    let index: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut waiting = vec![0usize; changes.len()];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    for (i, c) in changes.iter().enumerate() {
        for d in c.deps() {
            if let Some(&j) = index.get(d) {
                waiting[i] += 1;
                after[j].push(i);
            }
        }
    }
    let key = |i: usize| {
        let c = &changes[i];
        (c.start_op().get(), c.actor_id().clone(), c.hash(), i)
    };
    let mut ready: BTreeSet<_> = (0..changes.len())
        .filter(|&i| waiting[i] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(changes.len());
    while let Some((.., i)) = ready.pop_first() {
        order.push(i);
        for &n in &after[i] {
            waiting[n] -= 1;
            if waiting[n] == 0 {
                ready.insert(key(n));
            }
        }
    }
    let mut slots: Vec<Option<Change>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The field (dotted, inside the record at `prefix`) that `path` names, if it is inside.
fn field_of(prefix: &[String], excluded: &[&str], path: &[String]) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let first = rest.first()?;
    if excluded.contains(&first.as_str()) {
        return None;
    }
    Some(rest.join("."))
}

/// Groups the writes by field and marks the concurrent ones: of two writes to one
/// key of one map made without either seeing the other, a value beats a delete
/// (a delete removes only what its author saw) and of two values the later
/// operation id wins, as Automerge resolves it.
fn assemble(graph: &Graph, found: &[Found]) -> Vec<FieldHistory> {
    let mut lost = vec![false; found.len()];
    let mut beaten: Vec<Vec<usize>> = vec![Vec::new(); found.len()];
    let mut same_key: HashMap<(&legacy::ObjectId, &str), Vec<usize>> = HashMap::new();
    for (i, w) in found.iter().enumerate() {
        same_key
            .entry((&w.obj, w.key.as_str()))
            .or_default()
            .push(i);
    }
    for writes in same_key.values() {
        for (n, &x) in writes.iter().enumerate() {
            for &y in &writes[n + 1..] {
                // `y` comes later in operation order, so it cannot precede `x`.
                if graph.before(found[x].change, found[y].change) {
                    continue;
                }
                let (winner, loser) = match (&found[x].value, &found[y].value) {
                    (None, None) => continue,
                    (Some(_), None) => (x, y),
                    _ => (y, x),
                };
                lost[loser] = true;
                beaten[winner].push(loser);
            }
        }
    }
    let mut fields: BTreeMap<&str, Vec<FieldWrite>> = BTreeMap::new();
    for (i, w) in found.iter().enumerate() {
        let stamp = graph.stamps[w.change].as_ref();
        let lost_values = beaten[i]
            .iter()
            .map(|&l| {
                let s = graph.stamps[found[l].change].as_ref();
                LostValue {
                    value: found[l].value.clone().unwrap_or(Json::Null),
                    change: graph.hashes[found[l].change].to_string(),
                    user: s.map(|s| s.user.clone()),
                    device: s.map(|s| s.device.clone()),
                    at: s.map(|s| s.at),
                }
            })
            .collect();
        fields.entry(&w.field).or_default().push(FieldWrite {
            value: w.value.clone().unwrap_or(Json::Null),
            change: graph.hashes[w.change].to_string(),
            user: stamp.map(|s| s.user.clone()),
            device: stamp.map(|s| s.device.clone()),
            at: stamp.map(|s| s.at),
            gps: stamp.and_then(|s| s.gps),
            lost: lost[i],
            lost_values,
        });
    }
    fields
        .into_iter()
        .map(|(field, writes)| FieldHistory {
            field: field.to_owned(),
            writes,
        })
        .collect()
}
