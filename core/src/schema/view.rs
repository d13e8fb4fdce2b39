//! `View`: the document as an edit's author saw it (at given heads), read by path for the checks.

#[cfg(not(target_arch = "wasm32"))]
use std::cell::RefCell;
#[cfg(not(target_arch = "wasm32"))]
use std::collections::BTreeMap;

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
///
/// What it reads by path is remembered: a document does not change while it is
/// borrowed here, and a lookup in Automerge costs far more than one here (a
/// pushed visit's twenty fields would otherwise each look up their record again,
/// and each lookup at given heads walks the history).
pub struct At<'a, R: ReadDoc> {
    doc: &'a R,
    heads: Option<&'a [ChangeHash]>,
    /// The map at each path read so far (`None`: nothing there, or not a map).
    maps: Memo<Option<ObjId>>,
    /// What is at each path `seen` read so far.
    seen: Memo<Seen>,
}

/// Values read by path, remembered. The server decides pushes of many fields at given heads, where each read walks
/// the history; the device checks one local edit at a time, so its (wasm) build remembers nothing and stays smaller.
struct Memo<V> {
    #[cfg(not(target_arch = "wasm32"))]
    known: RefCell<BTreeMap<Vec<String>, V>>,
    #[cfg(target_arch = "wasm32")]
    known: std::marker::PhantomData<V>,
}

impl<V: Clone> Memo<V> {
    fn new() -> Self {
        Memo {
            known: Default::default(),
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn get(&self, path: &[String]) -> Option<V> {
        self.known.borrow().get(path).cloned()
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn put(&self, path: &[String], value: V) {
        self.known.borrow_mut().insert(path.to_vec(), value);
    }

    #[cfg(target_arch = "wasm32")]
    fn get(&self, _path: &[String]) -> Option<V> {
        None
    }

    #[cfg(target_arch = "wasm32")]
    fn put(&self, _path: &[String], _value: V) {}
}

impl<R: ReadDoc> std::fmt::Debug for At<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("At").field("heads", &self.heads).finish()
    }
}

impl<'a, R: ReadDoc> At<'a, R> {
    /// `doc` as it was at `heads`.
    pub fn new(doc: &'a R, heads: Option<&'a [ChangeHash]>) -> Self {
        At {
            doc,
            heads,
            maps: Memo::new(),
            seen: Memo::new(),
        }
    }

    /// `doc` as it is.
    pub fn now(doc: &'a R) -> Self {
        Self::new(doc, None)
    }

    fn get(&self, obj: &ObjId, key: &str) -> Option<(Value<'_>, ObjId)> {
        let got = match self.heads {
            Some(h) => self.doc.get_at(obj, key, h),
            None => self.doc.get(obj, key),
        };
        got.ok().flatten()
    }

    /// The map at `path`, from the longest prefix already read.
    fn map(&self, path: &[String]) -> Option<ObjId> {
        let mut from = path.len();
        let mut obj = loop {
            if from == 0 {
                break ROOT;
            }
            if let Some(known) = self.maps.get(&path[..from]) {
                break known?;
            }
            from -= 1;
        };
        for n in from + 1..=path.len() {
            let found = match self.get(&obj, &path[n - 1]) {
                Some((Value::Object(ObjType::Map), id)) => Some(id),
                _ => None,
            };
            self.maps.put(&path[..n], found.clone());
            obj = found?;
        }
        Some(obj)
    }
}

impl<R: ReadDoc> View for At<'_, R> {
    fn seen(&self, path: &[String]) -> Seen {
        if let Some(known) = self.seen.get(path) {
            return known;
        }
        let seen = match path.split_last() {
            None => Seen::Map,
            Some((last, parent)) => match self.map(parent) {
                None => Seen::Absent,
                Some(obj) => match self.get(&obj, last) {
                    None => Seen::Absent,
                    Some((Value::Object(ObjType::Map), _)) => Seen::Map,
                    Some((Value::Object(_), _)) => Seen::Other,
                    Some((Value::Scalar(s), _)) => Seen::Scalar(s.into_owned()),
                },
            },
        };
        self.seen.put(path, seen.clone());
        seen
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
