//! `Fields`: a struct read from a JSON object field by field, through one shared code path instead of a serde-derived visitor per type.
//!
//! Every record type is read from a `serde_json::Value` (a document's subtree, or
//! JSON text from the browser). serde's derive compiles a map visitor, a sequence
//! visitor and a field matcher for each type, and the phone's wasm carries them all;
//! with [`from_fields!`] a type's `Deserialize` is a list of `f.req("name")?` calls
//! whose code is shared by every field of the same type. What is accepted and the
//! error texts are the derive's (`missing field `name``, `invalid type: …, expected
//! struct Visit`); unknown fields are ignored as before. A struct given as a JSON
//! array (serde's positional form, which no fieldsync writer produces) is refused.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, Unexpected};
use serde_json::{Error, Map, Value};

/// The fields of one JSON object not read yet. Its readers are never inlined: a
/// field type's code is then compiled once, however many structs have such a field.
#[derive(Debug)]
pub(crate) struct Fields(Map<String, Value>);

/// Builds a `T` from the fields of an object.
pub(crate) type Build<T> = fn(&mut Fields) -> Result<T, Error>;

impl Fields {
    /// Reads `d` as the struct `expecting` names (`struct Visit`), built by `build`.
    pub(crate) fn read<'de, D: Deserializer<'de>, T>(
        d: D,
        expecting: &'static str,
        build: Build<T>,
    ) -> Result<T, D::Error> {
        let value = Value::deserialize(d)?;
        Self::object(value, expecting, build).map_err(D::Error::custom)
    }

    fn object<T>(value: Value, expecting: &'static str, build: Build<T>) -> Result<T, Error> {
        match value {
            Value::Object(map) => build(&mut Fields(map)),
            other => Err(Error::invalid_type(unexpected(&other), &expecting)),
        }
    }

    /// A field that must be present.
    #[inline(never)]
    pub(crate) fn req<T: DeserializeOwned>(&mut self, name: &'static str) -> Result<T, Error> {
        match self.0.remove(name) {
            Some(v) => T::deserialize(v),
            None => Err(Error::missing_field(name)),
        }
    }

    /// A field that may be absent (`#[serde(default)]`, or any `Option`): absent is
    /// `T::default()`; present, even `null`, it is read as a `T`.
    #[inline(never)]
    pub(crate) fn or_default<T: DeserializeOwned + Default>(
        &mut self,
        name: &'static str,
    ) -> Result<T, Error> {
        match self.0.remove(name) {
            Some(v) => T::deserialize(v),
            None => Ok(T::default()),
        }
    }

    /// A field that may be absent, then `default()` (`#[serde(default = "…")]`).
    #[inline(never)]
    pub(crate) fn or_else<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
        default: fn() -> T,
    ) -> Result<T, Error> {
        self.0
            .remove(name)
            .map_or_else(|| Ok(default()), T::deserialize)
    }

    /// A map field that may be absent (then empty): see [`read_map`].
    #[inline(never)]
    pub(crate) fn map<K, V>(&mut self, name: &'static str) -> Result<BTreeMap<K, V>, Error>
    where
        K: DeserializeOwned + Ord,
        V: DeserializeOwned,
    {
        self.0.remove(name).map_or(Ok(BTreeMap::new()), read_map)
    }

    /// A list field that may be absent (then empty): see [`read_vec`].
    #[inline(never)]
    pub(crate) fn vec<T: DeserializeOwned>(&mut self, name: &'static str) -> Result<Vec<T>, Error> {
        self.0.remove(name).map_or(Ok(Vec::new()), read_vec)
    }

    /// A list field that must be present: see [`read_vec`].
    #[inline(never)]
    pub(crate) fn req_vec<T: DeserializeOwned>(
        &mut self,
        name: &'static str,
    ) -> Result<Vec<T>, Error> {
        match self.0.remove(name) {
            Some(v) => read_vec(v),
            None => Err(Error::missing_field(name)),
        }
    }
}

/// A JSON object as a `BTreeMap`, each key read as a `K` from its text and each
/// value as a `V`, as serde reads one (`invalid type: …, expected a map` otherwise);
/// the walk over the object is shared by every map type.
pub(crate) fn read_map<K, V>(value: Value) -> Result<BTreeMap<K, V>, Error>
where
    K: DeserializeOwned + Ord,
    V: DeserializeOwned,
{
    let mut out = BTreeMap::new();
    entries(value, &mut |k, v| {
        out.insert(K::deserialize(Value::String(k))?, V::deserialize(v)?);
        Ok(())
    })?;
    Ok(out)
}

fn entries(
    value: Value,
    each: &mut dyn FnMut(String, Value) -> Result<(), Error>,
) -> Result<(), Error> {
    match value {
        Value::Object(map) => map.into_iter().try_for_each(|(k, v)| each(k, v)),
        other => Err(Error::invalid_type(unexpected(&other), &"a map")),
    }
}

/// A JSON array as a `Vec`, each item read as a `T`, as serde reads one
/// (`invalid type: …, expected a sequence` otherwise).
pub(crate) fn read_vec<T: DeserializeOwned>(value: Value) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    items(value, &mut |v| {
        out.push(T::deserialize(v)?);
        Ok(())
    })?;
    Ok(out)
}

fn items(value: Value, each: &mut dyn FnMut(Value) -> Result<(), Error>) -> Result<(), Error> {
    match value {
        Value::Array(list) => list.into_iter().try_for_each(each),
        other => Err(Error::invalid_type(unexpected(&other), &"a sequence")),
    }
}

/// How serde names a JSON value in an `invalid type` error.
fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// Implements `Deserialize` for a struct with [`Fields`]: `from_fields!(Note, |f| Note
/// { text: f.req("text")?, … })`.
macro_rules! from_fields {
    ($ty:ident, |$f:ident| $body:expr) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::fields::Fields::read(d, concat!("struct ", stringify!($ty)), |$f| Ok($body))
            }
        }
    };
}
pub(crate) use from_fields;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Pair {
        a: String,
        b: u8,
        c: Option<String>,
    }

    from_fields!(Pair, |f| Pair {
        a: f.req("a")?,
        b: f.or_default("b")?,
        c: f.or_default("c")?,
    });

    fn read(v: Value) -> Result<Pair, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn fields_read_as_the_derive_would() {
        assert_eq!(
            read(json!({"a": "x", "zzz": 1})),
            Ok(Pair {
                a: "x".into(),
                b: 0,
                c: None
            })
        );
        assert_eq!(read(json!({"b": 1})), Err("missing field `a`".into()));
        assert_eq!(
            read(json!({"a": "x", "b": "no"})),
            Err("invalid type: string \"no\", expected u8".into())
        );
        assert_eq!(
            read(json!({"a": "x", "b": null})),
            Err("invalid type: null, expected u8".into())
        );
        assert_eq!(
            read(json!("x")),
            Err("invalid type: string \"x\", expected struct Pair".into())
        );
        assert_eq!(
            read(json!(1.5)),
            Err("invalid type: floating point `1.5`, expected struct Pair".into())
        );
    }

    #[test]
    fn maps_and_lists_read_as_serde_reads_them() {
        let m: BTreeMap<String, u8> = read_map(json!({"b": 2, "a": 1})).unwrap();
        assert_eq!(m, BTreeMap::from([("a".into(), 1), ("b".into(), 2)]));
        let e = read_map::<String, u8>(json!([1])).unwrap_err().to_string();
        assert_eq!(e, "invalid type: sequence, expected a map");
        let e = read_map::<String, u8>(json!({"a": -1}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            serde_json::from_value::<BTreeMap<String, u8>>(json!({"a": -1}))
                .unwrap_err()
                .to_string()
        );
        assert_eq!(read_vec::<u8>(json!([1, 2])).unwrap(), vec![1, 2]);
        let e = read_vec::<u8>(json!({})).unwrap_err().to_string();
        assert_eq!(e, "invalid type: map, expected a sequence");
    }
}
