//! `View`: the document as an edit's author saw it (at given heads), read by path for the checks.

use automerge::{ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, hydrate};
use serde_json::{Map, Number, Value as Json};

/// What is at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Absent,
    Map,
    Scalar(ScalarValue),
    /// A list, text or other object fieldsync does not write.
    Other,
}

/// Read access to a document at one point of its history. Paths are short (the
/// schema refuses any path it does not know before anything deeper is read).
pub trait View {
    /// What is at `path`.
    fn seen(&self, path: &[String]) -> Seen;
    /// The keys of the map at `path` (empty if it is not a map).
    fn keys(&self, path: &[String]) -> Vec<String>;
    /// The subtree at `path` as JSON, if present.
    fn json(&self, path: &[String]) -> Option<Json>;
    /// The operations whose values are at `path`: one, or several written
    /// concurrently; none if absent.
    fn writes(&self, path: &[String]) -> Vec<ObjId>;
    /// The value at `path` as JSON (a scalar, or a map's subtree), if present.
    fn value(&self, path: &[String]) -> Option<Json> {
        match self.seen(path) {
            Seen::Absent | Seen::Other => None,
            Seen::Map => self.json(path),
            Seen::Scalar(s) => Some(scalar_to_json(&s)),
        }
    }
}

/// A document (any Automerge reader) at `heads`, or at its current state.
pub struct At<'a, R: ReadDoc> {
    pub doc: &'a R,
    pub heads: Option<&'a [ChangeHash]>,
}

impl<R: ReadDoc> std::fmt::Debug for At<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("At").field("heads", &self.heads).finish()
    }
}

impl<R: ReadDoc> At<'_, R> {
    fn get(&self, obj: &ObjId, key: &str) -> Option<(Value<'_>, ObjId)> {
        let got = match self.heads {
            Some(h) => self.doc.get_at(obj, key, h),
            None => self.doc.get(obj, key),
        };
        got.ok().flatten()
    }

    fn map(&self, path: &[String]) -> Option<ObjId> {
        let mut obj = ROOT;
        for k in path {
            match self.get(&obj, k)? {
                (Value::Object(ObjType::Map), id) => obj = id,
                _ => return None,
            }
        }
        Some(obj)
    }
}

impl<R: ReadDoc> View for At<'_, R> {
    fn seen(&self, path: &[String]) -> Seen {
        let Some((last, parent)) = path.split_last() else {
            return Seen::Map;
        };
        let Some(obj) = self.map(parent) else {
            return Seen::Absent;
        };
        match self.get(&obj, last) {
            None => Seen::Absent,
            Some((Value::Object(ObjType::Map), _)) => Seen::Map,
            Some((Value::Object(_), _)) => Seen::Other,
            Some((Value::Scalar(s), _)) => Seen::Scalar(s.into_owned()),
        }
    }

    fn keys(&self, path: &[String]) -> Vec<String> {
        let Some(obj) = self.map(path) else {
            return Vec::new();
        };
        match self.heads {
            Some(h) => self.doc.keys_at(&obj, h).collect(),
            None => self.doc.keys(&obj).collect(),
        }
    }

    fn json(&self, path: &[String]) -> Option<Json> {
        let obj = self.map(path)?;
        let v = self.doc.hydrate(&obj, self.heads).ok()?;
        Some(hydrated_to_json(&v))
    }

    fn writes(&self, path: &[String]) -> Vec<ObjId> {
        let Some((last, parent)) = path.split_last() else {
            return Vec::new();
        };
        let Some(obj) = self.map(parent) else {
            return Vec::new();
        };
        let all = match self.heads {
            Some(h) => self.doc.get_all_at(&obj, last.as_str(), h),
            None => self.doc.get_all(&obj, last.as_str()),
        };
        all.unwrap_or_default()
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }
}

/// A hydrated Automerge value as JSON (where concurrent writes conflict, the winner).
pub(crate) fn hydrated_to_json(v: &hydrate::Value) -> Json {
    match v {
        hydrate::Value::Scalar(s) => scalar_to_json(s),
        hydrate::Value::Map(m) => {
            // Inserted one by one: collecting would compile another sort into the wasm.
            let mut map = Map::new();
            for (k, v) in m.iter() {
                map.insert(k.clone(), hydrated_to_json(&v.value));
            }
            Json::Object(map)
        }
        hydrate::Value::List(l) => {
            Json::Array(l.iter().map(|item| hydrated_to_json(&item.value)).collect())
        }
        hydrate::Value::Text(t) => Json::String(t.to_string()),
    }
}

/// One Automerge scalar as JSON.
pub(crate) fn scalar_to_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Json::Number((*i).into()),
        ScalarValue::Uint(u) => Json::Number((*u).into()),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        ScalarValue::Counter(c) => Json::Number(i64::from(c).into()),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Null | ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::Null,
    }
}
