//! `Cursor`: how far along each territory's change feed a device has read, and in which epoch of the server's database.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::ids::{IdError, TerritoryId};

/// Why a cursor cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("cursor entry '{0}' is not territory:sequence")]
    Entry(String),
    #[error("cursor epoch '{0}' is not 1 to 64 letters, digits, '.' or '-'")]
    Epoch(String),
    #[error(transparent)]
    Territory(#[from] IdError),
}

/// Per territory, the sequence number of the last feed entry a device has
/// received. Each territory's feed is numbered 1, 2, 3, … in commit order, so a
/// device asks for "everything after" its cursor and the cost of a sync grows
/// with what changed, not with how many documents the device holds. A territory
/// missing from the cursor is read from the start: a device that gains access to
/// a territory receives its whole history.
///
/// A cursor also says which database it was read from, so a server whose
/// database went back in time (restored from an older copy, a lagging replica
/// promoted) notices instead of skipping entries: the **epoch** names the
/// database (created with it, renewed on restore), and each position carries a
/// **tag**, the first 8 hex digits of the hash of the change at that position.
/// A cursor of another epoch, past the end of a feed, or whose tag names
/// another change than the feed holds there, means nothing to the server: it
/// answers with a reset (see `SyncResponse::reset`). Text form:
/// `@3f9a0c1d2b4e5f60,t-north:42/ab12cd34,t-south:7` (epoch and tags optional).
///
/// A territory may instead be part-way through its **snapshots** (a fresh
/// device, or newly granted access, receives each document's saved form rather
/// than the whole feed, a page at a time in document id order): `t-east:~120`
/// or `t-east:~120>dealer:d-lin` says nothing of the feed is read yet, the
/// snapshots sent cover the feed up to 120, and the documents up to
/// `dealer:d-lin` have been sent. Once every document is sent the territory
/// continues from the feed at 120.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    epoch: Option<String>,
    seqs: BTreeMap<TerritoryId, Pos>,
}

/// A position in one feed: the sequence number read up to, and the tag of the change there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Pos {
    seq: u64,
    tag: Option<String>,
    /// Only with `seq` 0: how far the territory's snapshots have been sent.
    snap: Option<Snap>,
}

/// Snapshots part-way sent: the feed position they cover, and the last document sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snap {
    covers: u64,
    after: Option<String>,
}

impl Pos {
    /// Whether `self` is further along than `other`: a later feed position, or at
    /// the start, more snapshots sent.
    fn ahead_of(&self, other: &Pos) -> bool {
        if self.seq != other.seq {
            return self.seq > other.seq;
        }
        match (&self.snap, &other.snap) {
            (Some(_), None) => true,
            (Some(a), Some(b)) => a.after > b.after,
            _ => false,
        }
    }
}

/// Whether `s` may name a document in a cursor: what document ids are made of.
fn valid_doc(s: &str) -> bool {
    (1..=200).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':')
}

/// The tag of a change: the first 8 hex digits of its hash.
pub fn tag_of(hash_hex: &str) -> &str {
    hash_hex.get(..8).unwrap_or(hash_hex)
}

fn valid_tag(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` may be an epoch: short, and safe in the cursor's text form.
fn valid_epoch(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

impl Cursor {
    /// An empty cursor (everything from the start) of `epoch`.
    pub fn at_epoch(epoch: &str) -> Result<Self, CursorError> {
        if !valid_epoch(epoch) {
            return Err(CursorError::Epoch(epoch.chars().take(80).collect()));
        }
        Ok(Cursor {
            epoch: Some(epoch.to_owned()),
            seqs: BTreeMap::new(),
        })
    }

    /// The start of every feed, in this cursor's epoch.
    pub fn start(&self) -> Cursor {
        Cursor {
            epoch: self.epoch.clone(),
            seqs: BTreeMap::new(),
        }
    }

    /// The epoch of the server database these positions belong to, if known.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// The position in `territory`'s feed (0 if never read).
    pub fn get(&self, territory: &TerritoryId) -> u64 {
        self.seqs.get(territory).map_or(0, |p| p.seq)
    }

    /// Every territory this cursor has a position in.
    pub fn territories(&self) -> impl Iterator<Item = &TerritoryId> {
        self.seqs.keys()
    }

    /// Forgets `territory`'s position (the device no longer reads it).
    pub fn remove(&mut self, territory: &TerritoryId) {
        // Rebuilt rather than `BTreeMap::remove`d from: that would add its own code to the wasm.
        for (t, p) in std::mem::take(&mut self.seqs) {
            if t != *territory {
                self.seqs.insert(t, p);
            }
        }
    }

    /// Reads `territory` from the start again, still naming it (so a server that
    /// no longer lets the device read it says so, and the device removes it).
    pub fn rewind(&mut self, territory: &TerritoryId) {
        self.seqs.insert(territory.clone(), Pos::default());
    }

    /// Where `territory`'s snapshots stand, if they are part-way sent: the feed
    /// position they cover, and the last document sent (none yet: `None`).
    pub fn snapshots(&self, territory: &TerritoryId) -> Option<(u64, Option<&str>)> {
        let p = self.seqs.get(territory)?;
        p.snap.as_ref().map(|s| (s.covers, s.after.as_deref()))
    }

    /// Records that `territory`'s snapshots up to document `after` were sent,
    /// covering the feed up to `covers` (never back; a feed position wins).
    pub fn snapshots_to(&mut self, territory: &TerritoryId, covers: u64, after: Option<&str>) {
        let p = Pos {
            seq: 0,
            tag: None,
            snap: Some(Snap {
                covers,
                after: after.filter(|a| valid_doc(a)).map(str::to_owned),
            }),
        };
        let e = self.seqs.entry(territory.clone()).or_default();
        if p.ahead_of(e) {
            *e = p;
        }
    }

    /// Every tagged position: (territory, sequence number, tag), for the server to check.
    pub fn tagged(&self) -> impl Iterator<Item = (&TerritoryId, u64, &str)> {
        self.seqs
            .iter()
            .filter_map(|(t, p)| p.tag.as_deref().map(|tag| (t, p.seq, tag)))
    }

    /// Moves `territory` forward to `seq` (never back), without a tag.
    pub fn advance(&mut self, territory: &TerritoryId, seq: u64) {
        self.advance_to(territory, seq, None);
    }

    /// Moves `territory` forward to `seq`, the position of the change whose hash
    /// is `hash_hex` (never back; at an equal position the known tag is kept).
    pub fn advance_to(&mut self, territory: &TerritoryId, seq: u64, hash_hex: Option<&str>) {
        let tag = hash_hex
            .map(tag_of)
            .filter(|t| valid_tag(t))
            .map(str::to_owned);
        let e = self.seqs.entry(territory.clone()).or_default();
        if seq > e.seq {
            *e = Pos {
                seq,
                tag,
                snap: None,
            };
        } else if seq == e.seq && e.tag.is_none() {
            e.tag = tag;
        }
    }

    /// Whether a database of `epoch` can serve this cursor: the same epoch (or
    /// none known yet), no position (nor snapshots' cover) past the end of its feed (`end(territory)`),
    /// and every tag naming the change the feed holds there (`tag_at(territory,
    /// seq)`; `None` when unknown or not to be checked). Otherwise the database
    /// went back in time and the device must be reset.
    pub fn fits(
        &self,
        epoch: &str,
        end: impl Fn(&TerritoryId) -> u64,
        tag_at: impl Fn(&TerritoryId, u64) -> Option<String>,
    ) -> bool {
        self.epoch.as_deref().is_none_or(|e| e == epoch)
            && self.seqs.iter().all(|(t, p)| {
                p.seq.max(p.snap.as_ref().map_or(0, |s| s.covers)) <= end(t)
                    && match (&p.tag, tag_at(t, p.seq)) {
                        (Some(mine), Some(held)) => tag_of(&held) == mine,
                        _ => true,
                    }
            })
    }

    /// Takes the furthest position of each territory from both cursors, so a
    /// late or repeated response can never move a device backwards. Positions of
    /// another epoch are not comparable: a cursor of a different epoch is ignored
    /// (a reset replaces the cursor instead, [`Cursor::replace`]).
    pub fn merge(&mut self, other: &Cursor) {
        match (&self.epoch, &other.epoch) {
            (Some(a), Some(b)) if a != b => return,
            (None, Some(b)) => self.epoch = Some(b.clone()),
            _ => {}
        }
        for (t, p) in &other.seqs {
            let e = self.seqs.entry(t.clone()).or_default();
            if p.ahead_of(e) || (p.seq == e.seq && p.seq > 0 && e.tag.is_none()) {
                *e = p.clone();
            }
        }
    }

    /// Takes `other` whole: after a reset, the old positions name entries of a database that no longer exists.
    pub fn replace(&mut self, other: &Cursor) {
        *self = other.clone();
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(e) = &self.epoch {
            write!(f, "@{e}")?;
            first = false;
        }
        for (t, p) in &self.seqs {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match &p.snap {
                Some(s) => {
                    write!(f, "{t}:~{}", s.covers)?;
                    if let Some(a) = &s.after {
                        write!(f, ">{a}")?;
                    }
                }
                None => write!(f, "{t}:{}", p.seq)?,
            }
            if let Some(tag) = &p.tag {
                write!(f, "/{tag}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Cursor {
    type Err = CursorError;
    fn from_str(s: &str) -> Result<Self, CursorError> {
        let mut c = Cursor::default();
        for entry in s.split(',').filter(|e| !e.is_empty()) {
            if let Some(epoch) = entry.strip_prefix('@') {
                if !valid_epoch(epoch) || c.epoch.is_some() {
                    return Err(CursorError::Epoch(epoch.chars().take(80).collect()));
                }
                c.epoch = Some(epoch.to_owned());
                continue;
            }
            let bad = || CursorError::Entry(entry.chars().take(80).collect());
            // A territory id holds no ':', a document id may.
            let (t, n) = entry.split_once(':').ok_or_else(bad)?;
            if let Some(snap) = n.strip_prefix('~') {
                let (covers, after) = match snap.split_once('>') {
                    Some((c, a)) if valid_doc(a) => (c, Some(a)),
                    Some(_) => return Err(bad()),
                    None => (snap, None),
                };
                let covers: u64 = covers.parse().map_err(|_| bad())?;
                c.snapshots_to(&t.parse()?, covers, after);
                continue;
            }
            let (n, tag) = match n.split_once('/') {
                Some((n, tag)) if valid_tag(tag) => (n, Some(tag)),
                Some(_) => return Err(bad()),
                None => (n, None),
            };
            let n: u64 = n.parse().map_err(|_| bad())?;
            c.advance_to(&t.parse()?, n, tag);
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

    #[test]
    fn the_epoch_round_trips_and_positions_of_another_epoch_are_not_merged() {
        let mut c: Cursor = "@e1,t-north:42".parse().unwrap();
        assert_eq!(c.epoch(), Some("e1"));
        assert_eq!(c.to_string(), "@e1,t-north:42");
        assert_eq!("@e1".parse::<Cursor>().unwrap().to_string(), "@e1");
        // A late response of an older database never mixes its positions in.
        c.merge(&"@e0,t-north:99,t-east:1".parse().unwrap());
        assert_eq!(c.to_string(), "@e1,t-north:42");
        // A cursor from before epochs adopts the first epoch it hears of.
        let mut old: Cursor = "t-north:3".parse().unwrap();
        old.merge(&"@e1,t-north:5".parse().unwrap());
        assert_eq!(old.to_string(), "@e1,t-north:5");
        c.replace(&Cursor::at_epoch("e2").unwrap());
        assert_eq!(c.to_string(), "@e2");
        assert!("@bad epoch".parse::<Cursor>().is_err());
        assert!("@e1,@e2".parse::<Cursor>().is_err());
        assert!(Cursor::at_epoch("").is_err());
    }

    #[test]
    fn a_cursor_fits_only_its_own_epoch_feeds_at_least_as_long_and_the_same_changes() {
        let north: TerritoryId = "t-north".parse().unwrap();
        let end = |t: &TerritoryId| if *t == north { 42 } else { 0 };
        let held = |_: &TerritoryId, seq: u64| (seq == 42).then(|| "ab12cd34ef".to_owned());
        let fits = |c: &str| c.parse::<Cursor>().unwrap().fits("e1", end, held);
        assert!(fits("@e1,t-north:42"));
        assert!(fits("t-north:42"));
        assert!(fits("@e1,t-north:42/ab12cd34"));
        assert!(
            !fits("@e1,t-north:42/00000000"),
            "another change at that position"
        );
        assert!(!fits("@e0,t-north:42"));
        assert!(!fits("@e1,t-north:43"));
        assert!(!fits("t-south:1"));
    }

    #[test]
    fn tags_round_trip_and_follow_the_furthest_position() {
        let mut c: Cursor = "t-north:42/ab12cd34".parse().unwrap();
        assert_eq!(c.to_string(), "t-north:42/ab12cd34");
        let north: TerritoryId = "t-north".parse().unwrap();
        c.advance_to(&north, 42, Some("ffffffffff"));
        assert_eq!(
            c.to_string(),
            "t-north:42/ab12cd34",
            "an equal position keeps its tag"
        );
        c.advance_to(&north, 43, Some("0123456789abcdef"));
        assert_eq!(c.to_string(), "t-north:43/01234567");
        c.advance(&north, 44);
        assert_eq!(c.to_string(), "t-north:44");
        assert_eq!(c.tagged().count(), 0);
        assert!("t-north:1/xyz".parse::<Cursor>().is_err());
    }

    #[test]
    fn snapshots_part_way_round_trip_move_forward_and_give_way_to_the_feed() {
        let east: TerritoryId = "t-east".parse().unwrap();
        let mut c: Cursor = "@e1,t-east:~120>dealer:d-lin,t-north:3".parse().unwrap();
        assert_eq!(c.to_string(), "@e1,t-east:~120>dealer:d-lin,t-north:3");
        assert_eq!(c.snapshots(&east), Some((120, Some("dealer:d-lin"))));
        assert_eq!(c.get(&east), 0, "nothing of the feed read yet");
        // A late response never takes the sending back.
        c.merge(&"t-east:~120>dealer:d-abc".parse().unwrap());
        assert_eq!(c.snapshots(&east), Some((120, Some("dealer:d-lin"))));
        c.snapshots_to(&east, 120, Some("dealer:d-zz"));
        assert_eq!(c.snapshots(&east), Some((120, Some("dealer:d-zz"))));
        // Every document sent: the feed position replaces it, and wins over a late one.
        c.advance_to(&east, 120, Some("ab12cd34ef"));
        assert_eq!(c.snapshots(&east), None);
        assert_eq!(c.to_string(), "@e1,t-east:120/ab12cd34,t-north:3");
        c.merge(&"@e1,t-east:~120>dealer:d-zzz".parse().unwrap());
        assert_eq!(c.to_string(), "@e1,t-east:120/ab12cd34,t-north:3");
        assert_eq!(
            "t-east:~7".parse::<Cursor>().unwrap().to_string(),
            "t-east:~7"
        );
        assert!("t-east:~".parse::<Cursor>().is_err());
        assert!("t-east:~7>".parse::<Cursor>().is_err());
        assert!("t-east:~7>dealer d".parse::<Cursor>().is_err());
    }

    #[test]
    fn snapshots_covering_past_the_end_of_a_feed_do_not_fit() {
        let end = |_: &TerritoryId| 100;
        let none = |_: &TerritoryId, _: u64| None;
        let fits = |c: &str| c.parse::<Cursor>().unwrap().fits("e1", end, none);
        assert!(fits("@e1,t-east:~100>dealer:d-lin"));
        assert!(!fits("@e1,t-east:~101>dealer:d-lin"));
    }
}
