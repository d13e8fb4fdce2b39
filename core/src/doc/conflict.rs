//! `Conflict`: a field two devices set concurrently, with every value and who wrote it.

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, Value};
use serde::Serialize;
use serde_json::Value as Json;

use super::bridge;
use super::document::Document;
use crate::calendar::Timestamp;
use crate::ids::UserId;
use crate::schema::{self, At, View};
use crate::stamp::Stamp;

/// One value written to a conflicted field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictValue {
    pub value: Json,
    pub by: Option<UserId>,
    pub at: Option<Timestamp>,
}

/// A field with concurrent values. Automerge shows `winner` everywhere (last
/// writer by Lamport order, ties broken by actor id); `others` stay readable
/// until someone writes the field again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
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

impl Document {
    /// Every conflicted field in the document, then every record whose merged
    /// state breaks one of its rules (see [`Conflict::rule`]).
    pub fn conflicts(&mut self) -> Vec<Conflict> {
        let mut all = self.field_conflicts();
        let view = At {
            doc: self.automerge(),
            heads: None,
        };
        for b in schema::broken(self.kind(), &view) {
            let value = view.json(&b.path).unwrap_or(Json::Null);
            all.push(Conflict {
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
                    path,
                    winner,
                    others,
                    rule: None,
                })
            })
            .collect()
    }
}

type Found = Vec<(Vec<String>, Vec<(Json, ObjId)>)>;

fn walk(am: &AutoCommit, obj: &ObjId, path: &mut Vec<String>, out: &mut Found) {
    for key in am.keys(obj) {
        let Ok(all) = am.get_all(obj, key.as_str()) else {
            continue;
        };
        path.push(key.clone());
        if all.len() > 1 {
            let values = all
                .iter()
                .map(|(v, id)| (bridge::value_to_json(am, v.clone(), id), id.clone()))
                .collect();
            out.push((path.clone(), values));
        }
        if let Some((Value::Object(ObjType::Map), child)) = all.last() {
            walk(am, child, path, out);
        }
        path.pop();
    }
}
