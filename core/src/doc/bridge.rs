//! The bridge between JSON values and Automerge maps: reading a subtree, writing a merge patch.
//!
//! Every collection in a fieldsync document is a map (never a list), so merges are
//! per-key. Writing uses JSON merge-patch semantics (RFC 7386): a key with `null`
//! is deleted, an object is merged recursively, a scalar is written only if it
//! differs from what is there. Keys the patch does not name are never touched, so
//! an older client cannot wipe fields it does not know, and an edit of one field
//! never competes with a concurrent edit of another.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};
use serde_json::{Map, Value as Json};

use super::error::DocError;
use crate::schema::{Edit, Op, Val, hydrated_to_json, scalar_to_json};

/// Reads the object `obj` (and everything below it) as JSON, in one pass over
/// the document. Where concurrent writes conflict, the value Automerge picks as
/// the winner is read.
pub(crate) fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Json {
    doc.hydrate(obj, None)
        .map_or(Json::Null, |v| hydrated_to_json(&v))
}

/// One value as JSON, following it into the object `id` when it is one.
pub(crate) fn value_to_json<R: ReadDoc>(doc: &R, value: Value<'_>, id: &ObjId) -> Json {
    match value {
        Value::Object(_) => read(doc, id),
        Value::Scalar(s) => scalar_to_json(&s),
    }
}

pub(crate) fn json_to_scalar(v: &Json) -> Option<ScalarValue> {
    Some(match v {
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64()?)
            }
        }
        Json::Null | Json::Array(_) | Json::Object(_) => return None,
    })
}

/// The edits [`write_patch`] would make for `patch` at the map `obj` (absent:
/// about to be created) whose path is `path`, without writing anything: what
/// the schema checks before a local edit is made.
pub(crate) fn plan<R: ReadDoc>(
    doc: &R,
    obj: Option<&ObjId>,
    path: &mut Vec<String>,
    patch: &Map<String, Json>,
    out: &mut Vec<Edit>,
) {
    for (key, value) in patch {
        path.push(key.clone());
        let existing = obj.and_then(|o| doc.get(o, key.as_str()).ok().flatten());
        match value {
            Json::Null => {
                if existing.is_some() {
                    out.push(Edit {
                        path: path.clone(),
                        op: Op::Delete,
                    });
                }
            }
            Json::Object(inner) => {
                let child = match existing {
                    Some((Value::Object(ObjType::Map), id)) => Some(id),
                    _ => {
                        out.push(Edit {
                            path: path.clone(),
                            op: Op::Put(Val::Map),
                        });
                        None
                    }
                };
                plan(doc, child.as_ref(), path, inner, out);
            }
            Json::Array(_) => out.push(Edit {
                path: path.clone(),
                op: Op::Put(Val::Other("list")),
            }),
            scalar => {
                if let Some(new) = json_to_scalar(scalar) {
                    let same = matches!(&existing, Some((Value::Scalar(old), _)) if same_scalar(old, &new));
                    if !same {
                        out.push(Edit {
                            path: path.clone(),
                            op: Op::Put(Val::of_scalar(&new)),
                        });
                    }
                }
            }
        }
        path.pop();
    }
}

/// Writes a merge patch into the map `obj`: see the module docs.
pub(crate) fn write_patch<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    patch: &Map<String, Json>,
) -> Result<(), DocError> {
    for (key, value) in patch {
        match value {
            Json::Null => {
                if tx.get(obj, key.as_str())?.is_some() {
                    tx.delete(obj, key.as_str())?;
                }
            }
            Json::Object(inner) => {
                let child = match tx.get(obj, key.as_str())? {
                    Some((Value::Object(ObjType::Map), id)) => id,
                    _ => tx.put_object(obj, key.as_str(), ObjType::Map)?,
                };
                write_patch(tx, &child, inner)?;
            }
            Json::Array(_) => return Err(DocError::ListNotAllowed(key.clone())),
            scalar => {
                let new =
                    json_to_scalar(scalar).ok_or_else(|| DocError::ListNotAllowed(key.clone()))?;
                let same = matches!(tx.get(obj, key.as_str())?, Some((Value::Scalar(old), _)) if same_scalar(&old, &new));
                if !same {
                    tx.put(obj, key.as_str(), new)?;
                }
            }
        }
    }
    Ok(())
}

fn same_scalar(a: &ScalarValue, b: &ScalarValue) -> bool {
    match (a, b) {
        (ScalarValue::Int(x), ScalarValue::Uint(y))
        | (ScalarValue::Uint(y), ScalarValue::Int(x)) => u64::try_from(*x).is_ok_and(|x| x == *y),
        _ => a == b,
    }
}

/// Applies a JSON merge patch (RFC 7386) to a JSON value in memory, the same
/// way [`write_patch`] applies it to a document: used to check a patch's result
/// before anything is written.
pub(crate) fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    if let Json::Object(map) = target {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                merge_patch(map.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{AutoCommit, ROOT};
    use serde_json::json;

    #[test]
    fn a_patch_round_trips_and_leaves_unnamed_keys_alone() {
        let mut doc = AutoCommit::new();
        let patch = json!({"name": "林記", "tier": 2, "lat": 25.5, "nested": {"a": true}});
        write_patch(&mut doc, &ROOT, patch.as_object().unwrap()).unwrap();
        write_patch(
            &mut doc,
            &ROOT,
            json!({"tier": 3, "nested": {"a": null}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            read(&doc, &ROOT),
            json!({"name": "林記", "tier": 3, "lat": 25.5, "nested": {}})
        );
    }

    #[test]
    fn writing_an_unchanged_value_makes_no_operation() {
        let mut doc = AutoCommit::new();
        write_patch(&mut doc, &ROOT, json!({"a": 1}).as_object().unwrap()).unwrap();
        doc.commit();
        let heads = doc.get_heads();
        write_patch(&mut doc, &ROOT, json!({"a": 1}).as_object().unwrap()).unwrap();
        doc.commit();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn lists_are_refused() {
        let mut doc = AutoCommit::new();
        let err = write_patch(&mut doc, &ROOT, json!({"xs": [1]}).as_object().unwrap());
        assert!(matches!(err, Err(DocError::ListNotAllowed(k)) if k == "xs"));
    }

    #[test]
    fn merge_patch_matches_rfc_7386() {
        let mut v = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut v, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(v, json!({"a": "z", "c": {"d": "e"}}));
    }
}
