//! `Cursor`: how far along each territory's change feed a device has read.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::{IdError, TerritoryId};

/// Why a cursor cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("cursor entry '{0}' is not territory:sequence")]
    Entry(String),
    #[error(transparent)]
    Territory(#[from] IdError),
}

/// Per territory, the sequence number of the last feed entry a device has
/// received. Each territory's feed is numbered 1, 2, 3, … in commit order, so a
/// device asks for "everything after" its cursor and the cost of a sync grows
/// with what changed, not with how many documents the device holds. A territory
/// missing from the cursor is read from the start: a device that gains access to
/// a territory receives its whole history. Text form: `t-north:42,t-south:7`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor(pub BTreeMap<TerritoryId, u64>);

impl Cursor {
    /// The position in `territory`'s feed (0 if never read).
    pub fn get(&self, territory: &TerritoryId) -> u64 {
        self.0.get(territory).copied().unwrap_or(0)
    }

    /// Moves `territory` forward to `seq` (never back).
    pub fn advance(&mut self, territory: &TerritoryId, seq: u64) {
        let e = self.0.entry(territory.clone()).or_insert(0);
        *e = (*e).max(seq);
    }

    /// Takes the furthest position of each territory from both cursors, so a
    /// late or repeated response can never move a device backwards.
    pub fn merge(&mut self, other: &Cursor) {
        for (t, s) in &other.0 {
            self.advance(t, *s);
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (t, s) in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{t}:{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, CursorError> {
        let mut c = Cursor::default();
        for entry in s.split(',').filter(|e| !e.is_empty()) {
            let (t, n) = entry
                .rsplit_once(':')
                .ok_or_else(|| CursorError::Entry(entry.chars().take(80).collect()))?;
            let n: u64 = n
                .parse()
                .map_err(|_| CursorError::Entry(entry.chars().take(80).collect()))?;
            c.advance(&t.parse()?, n);
        }
        Ok(c)
    }
}

crate::text_serde::serde_as_text!(Cursor);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_only_move_forward() {
        let mut c: Cursor = "t-north:42,t-south:7".parse().unwrap();
        assert_eq!(c.to_string(), "t-north:42,t-south:7");
        c.merge(&"t-north:40,t-east:3".parse().unwrap());
        assert_eq!(c.to_string(), "t-east:3,t-north:42,t-south:7");
        assert_eq!("".parse::<Cursor>().unwrap(), Cursor::default());
        assert!("t-north".parse::<Cursor>().is_err());
        assert!("t-north:-1".parse::<Cursor>().is_err());
    }
}
