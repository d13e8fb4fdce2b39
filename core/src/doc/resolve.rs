//! Resolving a conflict: head office keeps one of its values, as an ordinary signed change every replica receives.
//!
//! A field conflict is resolved by putting the chosen value at the field again:
//! Automerge makes the new operation supersede every concurrent one (its
//! predecessors are all the values there), so no replica shows a conflict any
//! more after the merge. This holds when the value kept is the current winner
//! too: an ordinary edit writes nothing when the value is unchanged, but a
//! field with several values always takes a new operation. A conflict between
//! steps of one rank (kept and broken) cannot be resolved by a write of the
//! steps, which are never deleted: the choice is recorded beside them, in the
//! record's grow-only `decided` map keyed by the concurrent stages
//! (`lifecycle::Decision`), which only a regional manager or head office may
//! write (the server's `role` rule), and which `model::Standing` reads.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ObjType, ROOT, ReadDoc, Value};
use serde_json::{Value as Json, json};

use super::bridge;
use super::conflict::ConflictKind;
use super::document::Document;
use super::error::DocError;
use crate::schema::{self, Author, Edit, Op, Val};
use crate::stamp::Stamp;

impl Document {
    /// Keeps `value` (one of the conflict's values, the winner included) for
    /// the conflict `id` (`Conflict::id`), in one change stamped `stamp`.
    pub fn resolve(&mut self, id: &str, value: &Json, stamp: &Stamp) -> Result<(), DocError> {
        let conflict = self
            .conflicts()
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| DocError::NoConflict(id.to_owned()))?;
        let not = |reason: &str| DocError::NotAChoice {
            id: id.to_owned(),
            reason: reason.to_owned(),
        };
        let listed = std::iter::once(&conflict.winner)
            .chain(&conflict.others)
            .any(|v| v.value == *value);
        if !listed {
            return Err(not("the value is not one of the conflict's values"));
        }
        match conflict.kind {
            ConflictKind::Field => self.keep_field(&conflict.path, value, stamp, &not),
            ConflictKind::Steps => {
                let [collection, record, _status] = conflict.path.as_slice() else {
                    return Err(not("not a record's status"));
                };
                let names: Vec<&str> = std::iter::once(&conflict.winner)
                    .chain(&conflict.others)
                    .filter_map(|v| v.value.as_str())
                    .collect();
                let key = crate::lifecycle::conflict_key(&names)
                    .ok_or_else(|| not("fewer than two steps"))?;
                let collection = match collection.as_str() {
                    "commitments" => "commitments",
                    "claims" => "claims",
                    "activities" => "activities",
                    _ => return Err(not("not a record with steps")),
                };
                let obj = self.record_obj(collection, record)?;
                let mut patch = serde_json::Map::new();
                patch.insert(
                    "decided".into(),
                    json!({ key: { "step": value, "by": stamp.user, "at": stamp.at } }),
                );
                self.write_at(
                    &obj,
                    vec![collection.to_owned(), record.clone()],
                    &patch,
                    stamp,
                )
            }
            ConflictKind::Rule => Err(not(
                "a record that breaks a rule is fixed by editing it, not by choosing a value",
            )),
        }
    }

    fn keep_field(
        &mut self,
        path: &[String],
        value: &Json,
        stamp: &Stamp,
        not: &dyn Fn(&str) -> DocError,
    ) -> Result<(), DocError> {
        let scalar =
            bridge::json_to_scalar(value).ok_or_else(|| not("only a single value can be kept"))?;
        let Some((key, parents)) = path.split_last() else {
            return Err(not("the document root"));
        };
        let am = self.automerge();
        let mut obj = ROOT;
        for k in parents {
            match am.get(&obj, k.as_str())? {
                Some((Value::Object(ObjType::Map), child)) => obj = child,
                _ => return Err(not("the field's map is gone")),
            }
        }
        let edits = [Edit {
            path: path.to_vec(),
            op: Op::Put(Val::of_scalar(&scalar)),
        }];
        let author = Author {
            user: &stamp.user,
            role: None,
            limit: None,
            authority: None,
            incoming: None,
        };
        schema::check_local(am, self.kind(), &edits, &author)?;
        let am = self.automerge_mut();
        // Several values are there, so Automerge writes a new operation even
        // when the value is the winner's (an unchanged single value it skips).
        am.put(&obj, key.as_str(), scalar)?;
        am.commit_with(
            CommitOptions::default()
                .with_message(stamp.to_message())
                .with_time(stamp.at.seconds()),
        );
        Ok(())
    }
}
