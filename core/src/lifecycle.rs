//! `Lifecycle<S>`: a status that only moves forward, stored as a grow-only map of the steps taken.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::calendar::Timestamp;
use crate::ids::UserId;

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot move from '{from}' to '{to}'")]
    NotAllowed {
        from: &'static str,
        to: &'static str,
    },
    #[error("the record has no '{0}' step")]
    MissingStart(&'static str),
}

/// A status vocabulary whose values are ordered by how far along they are.
pub trait Stage:
    Copy + Ord + Display + FromStr + Debug + Serialize + DeserializeOwned + 'static
{
    /// The status every record starts in.
    const START: Self;
    /// How far along: a merge keeps the furthest step either side reached.
    fn rank(self) -> u8;
    /// Whether a record in `from` may move to `self`.
    fn may_follow(self, from: Self) -> bool;
    /// The text name.
    fn name(self) -> &'static str;
    /// Whether a record in this status still awaits something (nothing has ended it).
    fn is_open(self) -> bool;
}

/// Who took a step, and when by their device's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub by: UserId,
    pub at: Timestamp,
}

crate::fields::from_fields!(Step, |f| Step {
    by: f.req("by")?,
    at: f.req("at")?,
});

/// Head office's (or a regional manager's) choice between two steps of one rank
/// taken concurrently (kept on one device, broken on another). Stored in the
/// record's grow-only `decided` map keyed by the conflicting stages
/// ([`conflict_key`]): the steps themselves are never deleted, and a
/// later concurrent step makes a new key, so a new conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The stage chosen (one of the key's).
    pub step: String,
    pub by: UserId,
    pub at: Timestamp,
}

crate::fields::from_fields!(Decision, |f| Decision {
    step: f.req("step")?,
    by: f.req("by")?,
    at: f.req("at")?,
});

/// A record's decisions, keyed by [`conflict_key`]: each a [`Decision`], kept as
/// JSON in the typed records (only its `step` is read; the schema checks the rest),
/// which spares the phone's wasm a deserializer of its own.
pub type Decisions = BTreeMap<String, serde_json::Value>;

/// The key of a set of concurrent stages: their names sorted and joined by `+`
/// (`broken+kept`); `None` for fewer than two.
pub fn conflict_key(names: &[&str]) -> Option<String> {
    if names.len() < 2 {
        return None;
    }
    let mut sorted: Vec<&str> = Vec::with_capacity(names.len());
    for n in names {
        // A handful of names: an insertion keeps the phone's wasm free of another sort.
        if let Err(i) = sorted.binary_search(n) {
            sorted.insert(i, n);
        }
    }
    let mut key = String::new();
    for n in sorted {
        if !key.is_empty() {
            key.push('+');
        }
        key.push_str(n);
    }
    Some(key)
}

/// Whether `key` names two or more stages (those `rank` knows), sorted, each once.
pub fn is_conflict_key(key: &str, rank: fn(&str) -> Option<u8>) -> bool {
    let mut parts = 0;
    let mut last = "";
    for p in key.split('+') {
        if rank(p).is_none() || p <= last {
            return false;
        }
        (parts, last) = (parts + 1, p);
    }
    parts >= 2
}

/// The steps a record went through, keyed by status. Stored in a document as a
/// map `{status: {by, at}}`: a merge takes the union of the steps, and the current
/// status is the furthest one, so a claim reconciled on one device and still
/// "approved" on another merges to "reconciled".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "S: Stage")]
pub struct Lifecycle<S: Stage>(pub BTreeMap<S, Step>);

impl<'de, S: Stage> Deserialize<'de> for Lifecycle<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // As serde reads the map, through the walk every map type shares (`fields`).
        let value = serde_json::Value::deserialize(d)?;
        crate::fields::read_map(value)
            .map(Lifecycle)
            .map_err(serde::de::Error::custom)
    }
}

impl<S: Stage> Lifecycle<S> {
    /// A lifecycle at its start status.
    pub fn start(by: UserId, at: Timestamp) -> Self {
        Lifecycle(BTreeMap::from([(S::START, Step { by, at })]))
    }

    /// The furthest status reached; among equally far ones (a concurrent
    /// conflict such as approved and rejected) the last declared wins.
    pub fn current(&self) -> S {
        self.0
            .keys()
            .copied()
            .max_by_key(|s| (s.rank(), *s))
            .unwrap_or(S::START)
    }

    /// Whether the record still awaits something (see [`Stage::is_open`]).
    pub fn is_open(&self) -> bool {
        self.current().is_open()
    }

    /// The names of the other statuses reached concurrently at the current one's
    /// rank (kept when [`Lifecycle::current`] is broken): empty unless [`Lifecycle::is_conflicted`].
    pub fn also(&self) -> Vec<&'static str> {
        let top = self.current();
        let mut out = Vec::new();
        for s in self.0.keys() {
            if *s != top && s.rank() == top.rank() {
                out.push(s.name());
            }
        }
        out
    }

    /// The step that reached `stage`, if it was reached.
    pub fn step(&self, stage: S) -> Option<&Step> {
        self.0.get(&stage)
    }

    /// True when two different statuses of the same rank were reached
    /// concurrently (e.g. one device marked a commitment kept, another broken).
    pub fn is_conflicted(&self) -> bool {
        let top = self.current().rank();
        self.0.keys().filter(|s| s.rank() == top).count() > 1
    }

    /// Checks the record has its start step.
    pub fn check(&self) -> Result<(), LifecycleError> {
        if self.0.contains_key(&S::START) {
            Ok(())
        } else {
            Err(LifecycleError::MissingStart(S::START.name()))
        }
    }

    /// Checks that moving to `to` is allowed from the current status.
    pub fn check_advance(&self, to: S) -> Result<(), LifecycleError> {
        let from = self.current();
        if to.may_follow(from) {
            Ok(())
        } else {
            Err(LifecycleError::NotAllowed {
                from: from.name(),
                to: to.name(),
            })
        }
    }
}
