//! `Conflict`: a field two devices set concurrently, or two steps of one rank taken concurrently, with every value, who wrote it, and a stable id.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ValueRef};
use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::bridge;
use super::document::Document;
use crate::calendar::Timestamp;
use crate::ids::UserId;
use crate::schema::tree::{Node, Steps};
use crate::schema::{self, At, Seen, View};
use crate::stamp::Stamp;

/// One value written to a conflicted field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictValue {
    pub value: Json,
    pub by: Option<UserId>,
    pub at: Option<Timestamp>,
}

/// What kind of conflict it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// A field with concurrent values (`path` is the field's).
    Field,
    /// Two or more steps of one rank taken concurrently (kept and broken,
    /// approved and rejected); `path` is the record's `status`, each value a stage.
    Steps,
    /// A record whose merged state breaks one of its rules (see [`Conflict::rule`]).
    Rule,
}

/// A field with concurrent values. Automerge shows `winner` everywhere (last
/// writer by Lamport order, ties broken by actor id); `others` stay readable
/// until someone writes the field again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// The same on every replica and the server: a hash of the path and of the
    /// conflicting writes (their Automerge operation ids; for steps, the stages).
    /// A write made after the conflict was resolved makes a new id.
    pub id: String,
    pub kind: ConflictKind,
    /// Keys from the document root, e.g. `["profile", "name"]`.
    pub path: Vec<String>,
    pub winner: ConflictValue,
    pub others: Vec<ConflictValue>,
    /// Set when this is not a field with concurrent values but a record whose
    /// merged state breaks one of its rules (`path` is then `[collection, id]`,
    /// `winner` the merged record and `others` empty): each device's edit was valid
    /// where it was made, so both were accepted; someone must fix the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// What the server's checks established about a new document pushed as one
/// chain whose every change was read from its own operations (`schema::Replay`):
/// each of its writes replaced exactly what was there, so no field holds values
/// written concurrently; and the records in `valid` keep their rules as they now
/// are (each was judged after the last change that touched it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    pub valid: std::collections::BTreeSet<Vec<String>>,
}

impl Document {
    /// Every conflicted field in the document, then every record whose merged
    /// state breaks one of its rules (see [`Conflict::rule`]).
    #[inline(never)] // called by `resolve` too: one copy in the phone's wasm
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        self.conflicts_where(true, |_| true)
    }

    /// [`Self::conflicts`] of a document whose push the server's checks already
    /// settled (`Settled`): no field is looked for conflicted values, and only the
    /// records not known to keep their rules are judged.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn conflicts_settled(&mut self, settled: &Settled) -> Vec<Conflict> {
        self.conflicts_where(false, |path| !settled.valid.contains(path))
    }

    fn conflicts_where(
        &mut self,
        fields: bool,
        judge: impl Fn(&[String]) -> bool,
    ) -> Vec<Conflict> {
        let mut all = if fields {
            self.field_conflicts()
        } else {
            Vec::new()
        };
        self.step_conflicts(&mut all);
        let view = At::now(self.automerge());
        for b in schema::broken_where(self.kind(), &view, judge) {
            let value = view.json(&b.path).unwrap_or(Json::Null);
            all.push(Conflict {
                id: conflict_id(&b.path, std::slice::from_ref(&b.reason)),
                kind: ConflictKind::Rule,
                path: b.path,
                winner: ConflictValue {
                    value,
                    by: None,
                    at: None,
                },
                others: Vec::new(),
                rule: Some(b.reason),
            });
        }
        all
    }

    fn field_conflicts(&mut self) -> Vec<Conflict> {
        let mut found = Vec::new();
        walk(self.automerge(), &ROOT, &mut Vec::new(), &mut found);
        let am = self.automerge_mut();
        found
            .into_iter()
            .filter_map(|(path, mut values)| {
                // Sorted by insertion (a few values): another sort would grow the phone's wasm.
                let mut ops: Vec<String> = Vec::with_capacity(values.len());
                for (_, id) in &values {
                    let op = id.to_string();
                    let at = ops.binary_search(&op).unwrap_or_else(|i| i);
                    ops.insert(at, op);
                }
                let id = conflict_id(&path, &ops);
                let mut resolve = |(value, id): (Json, ObjId)| {
                    let stamp = am.hash_for_opid(&id).and_then(|h| {
                        am.get_change_meta_by_hash(&h)
                            .and_then(|m| Stamp::from_message(m.message.as_deref()))
                    });
                    ConflictValue {
                        value,
                        by: stamp.as_ref().map(|s| s.user.clone()),
                        at: stamp.map(|s| s.at),
                    }
                };
                // get_all lists values in op order; the last is the one `get` returns.
                let winner = resolve(values.pop()?);
                let others = values.into_iter().map(&mut resolve).collect();
                Some(Conflict {
                    id,
                    kind: ConflictKind::Field,
                    path,
                    winner,
                    others,
                    rule: None,
                })
            })
            .collect()
    }
}

impl Document {
    /// Records whose steps of one rank were taken concurrently and that head
    /// office has not decided between (see `lifecycle::Decision`). Read from the
    /// schema's table (every record kind with a `status` lifecycle and a
    /// `decided` map), not through the typed records: one loop for every kind.
    fn step_conflicts(&self, out: &mut Vec<Conflict>) {
        let view = At::now(self.automerge());
        for field in self.kind().fields() {
            let Node::Records { record, .. } = &field.node else {
                continue;
            };
            let steps = record.iter().find_map(|f| match &f.node {
                Node::Steps(s) if f.name == "status" => Some(*s),
                _ => None,
            });
            let Some(steps) = steps.filter(|_| record.iter().any(|f| f.name == "decided")) else {
                continue;
            };
            let coll = vec![field.name.to_owned()];
            for id in view.keys(&coll) {
                let path = vec![field.name.to_owned(), id, "status".to_owned()];
                if let Some(c) = step_conflict(&view, steps, path) {
                    out.push(c);
                }
            }
        }
    }
}

/// The conflict of the lifecycle at `path` (`[collection, id, "status"]`), if its
/// furthest steps are two or more of one rank and no decision names them.
fn step_conflict(view: &At<'_, AutoCommit>, steps: &Steps, path: Vec<String>) -> Option<Conflict> {
    let order = |s: &str| {
        (
            (steps.rank)(s).unwrap_or(0),
            steps.stages.iter().position(|x| *x == s).unwrap_or(0),
        )
    };
    let stages = view.keys(&path);
    let top = stages
        .iter()
        .filter(|s| (steps.rank)(s).is_some())
        .max_by_key(|s| order(s))?;
    let rank = (steps.rank)(top);
    let tied: Vec<&str> = stages
        .iter()
        .filter(|s| (steps.rank)(s) == rank)
        .map(String::as_str)
        .collect();
    let key = crate::lifecycle::conflict_key(&tied)?;
    let decided = [&path[0], &path[1], "decided", &key].map(|k| k.to_string());
    if view.seen(&decided) != Seen::Absent {
        return None;
    }
    let value = |stage: &str| {
        let mut at = path.clone();
        at.push(stage.to_owned());
        let step = view.json(&at);
        let step = step.as_ref();
        ConflictValue {
            value: Json::String(stage.to_owned()),
            by: step.and_then(|s| s.get("by")?.as_str()?.parse().ok()),
            at: step.and_then(|s| s.get("at")?.as_i64()).map(Timestamp),
        }
    };
    let others = tied
        .iter()
        .filter(|s| **s != top)
        .map(|s| value(s))
        .collect();
    Some(Conflict {
        id: conflict_id(&path, &[key]),
        kind: ConflictKind::Steps,
        winner: value(top),
        others,
        path,
        rule: None,
    })
}

/// A conflict's id: the first 16 hex digits of SHA-256 over its path and what conflicts there.
fn conflict_id(path: &[String], what: &[String]) -> String {
    let mut h = Sha256::new();
    for p in path {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    h.update([0x1e]);
    for w in what {
        h.update(w.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

type Found = Vec<(Vec<String>, Vec<(Json, ObjId)>)>;

fn walk(am: &AutoCommit, obj: &ObjId, path: &mut Vec<String>, out: &mut Found) {
    // One ordered scan of the map: Automerge flags the keys holding several
    // values, and only those are read again (a read per key costs a seek each).
    let keys: Vec<(String, bool, Option<ObjId>)> = am
        .map_range(obj, ..)
        .map(|i| {
            let child = matches!(i.value, ValueRef::Object(ObjType::Map)).then(|| i.id());
            (i.key.into_owned(), i.conflict, child)
        })
        .collect();
    for (key, conflict, child) in keys {
        path.push(key);
        if conflict && let Ok(all) = am.get_all(obj, path[path.len() - 1].as_str()) {
            let values = all
                .iter()
                .map(|(v, id)| (bridge::value_to_json(am, v.clone(), id), id.clone()))
                .collect();
            out.push((path.clone(), values));
        }
        if let Some(child) = child {
            walk(am, &child, path, out);
        }
        path.pop();
    }
}
