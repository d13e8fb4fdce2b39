//! `Set<T>`: a set stored as a map from member to `true`, so concurrent additions all survive a merge.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of members with a text form. In a document it is a map `{member: true}`:
/// Automerge merges map keys by union, so an entry either side added is never lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set<T: Ord>(pub BTreeSet<T>);

impl<T: Ord> Default for Set<T> {
    fn default() -> Self {
        Set(BTreeSet::new())
    }
}

impl<T: Ord> Set<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `item` is a member.
    pub fn contains(&self, item: &T) -> bool {
        self.0.contains(item)
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Ord> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Set(iter.into_iter().collect())
    }
}

impl<T: Ord + Display> Serialize for Set<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_members(self.0.iter().map(ToString::to_string).collect(), s)
    }
}

/// Writes members' names as the map `{name: true}` in name order (as a
/// `BTreeMap<String, bool>` would); shared by every `Set<T>` so it is compiled once.
fn serialize_members<S: Serializer>(mut names: Vec<String>, s: S) -> Result<S::Ok, S::Error> {
    names.sort_unstable();
    names.dedup();
    let mut map = s.serialize_map(Some(names.len()))?;
    for name in &names {
        map.serialize_entry(name, &true)?;
    }
    map.end()
}

impl<'de, T> Deserialize<'de> for Set<T>
where
    T: Ord + FromStr,
    T::Err: Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let map: BTreeMap<String, bool> =
            crate::fields::read_map(value).map_err(serde::de::Error::custom)?;
        // Inserting one by one: collecting would compile a sort per member type.
        let mut set = BTreeSet::new();
        for (name, present) in map {
            if present {
                set.insert(name.parse::<T>().map_err(serde::de::Error::custom)?);
            }
        }
        Ok(Set(set))
    }
}
