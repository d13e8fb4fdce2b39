//! `Edit`: one write or delete at a path, as the schema checks it; made from Automerge patches (a pushed change) or from a local merge patch.

use automerge::{ObjType, Prop, ScalarValue, Value};
use automerge::{Patch, PatchAction};

/// One key written or deleted, with its path from the document root (the last
/// element is the key itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub path: Vec<String>,
    pub op: Op,
}

/// What happened at the key.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A value was put: a new map or a scalar.
    Put(Val),
    /// The key was deleted.
    Delete,
    /// A value was written beside the value its author saw instead of replacing it.
    Concurrent,
    /// Something fieldsync documents never contain (list or text operations, counters).
    Unsupported(&'static str),
}

/// A value as the schema sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A new, empty map (its contents are separate edits).
    Map,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Any other kind of value (list, text, bytes, counter, timestamp, null…).
    Other(&'static str),
}

impl Val {
    pub(crate) fn of_scalar(s: &ScalarValue) -> Val {
        match s {
            ScalarValue::Str(s) => Val::Str(s.to_string()),
            ScalarValue::Int(i) => Val::Int(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).map_or(Val::Other("large number"), Val::Int),
            ScalarValue::F64(f) => Val::Float(*f),
            ScalarValue::Boolean(b) => Val::Bool(*b),
            ScalarValue::Timestamp(_) => Val::Other("timestamp"),
            ScalarValue::Counter(_) => Val::Other("counter"),
            ScalarValue::Bytes(_) => Val::Other("bytes"),
            ScalarValue::Null => Val::Other("null"),
            ScalarValue::Unknown { .. } => Val::Other("unknown value"),
        }
    }

    pub(crate) fn of_value(v: &Value<'_>) -> Val {
        match v {
            Value::Object(ObjType::Map) => Val::Map,
            Value::Object(ObjType::Table) => Val::Other("table"),
            Value::Object(ObjType::List) => Val::Other("list"),
            Value::Object(ObjType::Text) => Val::Other("text object"),
            Value::Scalar(s) => Val::of_scalar(s),
        }
    }
}

/// The edits Automerge's patches describe. A path through a list or text gets an
/// `Unsupported` edit at the map key that holds it.
pub fn from_patches(patches: Vec<Patch>) -> Vec<Edit> {
    let mut out = Vec::with_capacity(patches.len());
    for p in patches {
        let mut path = Vec::with_capacity(p.path.len() + 1);
        let mut in_sequence = false;
        for (_, prop) in &p.path {
            match prop {
                Prop::Map(k) => path.push(k.clone()),
                Prop::Seq(_) => {
                    in_sequence = true;
                    break;
                }
            }
        }
        if in_sequence {
            out.push(Edit {
                path,
                op: Op::Unsupported("list or text"),
            });
            continue;
        }
        let (key, op) = match p.action {
            PatchAction::PutMap {
                key,
                value,
                conflict,
            } => {
                let op = if conflict {
                    Op::Concurrent
                } else {
                    Op::Put(Val::of_value(&value.0))
                };
                (Some(key), op)
            }
            PatchAction::DeleteMap { key } => (Some(key), Op::Delete),
            PatchAction::Conflict { prop } => (prop_key(prop), Op::Concurrent),
            PatchAction::Increment { prop, .. } => (prop_key(prop), Op::Unsupported("counter")),
            _ => (None, Op::Unsupported("list or text")),
        };
        if let Some(k) = key {
            path.push(k);
        }
        out.push(Edit { path, op });
    }
    out
}

fn prop_key(p: Prop) -> Option<String> {
    match p {
        Prop::Map(k) => Some(k),
        Prop::Seq(_) => None,
    }
}
