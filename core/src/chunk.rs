//! One Automerge change chunk's bytes read without Automerge: its header, its columns, and what its run-length-encoded op columns hold (how many ops, whether any is on the root map), every read bounds-checked and nothing expanded.

use automerge::{ActorId, ChangeHash};

/// Why a change chunk's bytes do not read: `sync::limits::LimitError` says it to a
/// device (no messages here, so the phone's wasm carries them once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    Malformed(&'static str),
    Compressed,
    TrailingBytes,
    FieldTooLarge {
        what: &'static str,
        found: u64,
        max: u64,
    },
    Time(i64),
}

pub(crate) const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_CHANGE: u8 = 1;
const CHUNK_COMPRESSED: u8 = 2;
/// Column specs: `id << 4 | deflate << 3 | type`.
const ACTION_COLUMN: u32 = (4 << 4) | 2;
/// The actor and the counter of each op's object: nulls for the root map.
const OBJ_ACTOR_COLUMN: u32 = 1;
const OBJ_CTR_COLUMN: u32 = 2;
const PRED_GROUP_COLUMN: u32 = 7 << 4;
const DEFLATE_BIT: u32 = 1 << 3;
/// A column spec's low three bits give its type; 1 is an actor index.
const COLUMN_TYPE_MASK: u32 = 0b111;
const ACTOR_COLUMN_TYPE: u32 = 1;

const MAX_DEPS: u64 = 1_024;
const MAX_ACTOR_BYTES: u64 = 256;
const MAX_OTHER_ACTORS: u64 = 1_024;
const MAX_MESSAGE_BYTES: u64 = 16 * 1024;
/// Furthest a change's time (ms from 1970) may be from 1970, either way: 2^50 ms,
/// about 35,700 years. Automerge stores a document's change times as differences;
/// two times further apart than an i64 overflow that column (found by fuzzing).
pub const MAX_TIME_MS: u64 = 1 << 50;
const MAX_COLUMNS: u64 = 64;

/// A cursor over untrusted bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

type Read<T> = Result<T, ChunkError>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Read<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| ChunkError::Malformed("length out of range"))?;
        if n > self.bytes.len() {
            return Err(ChunkError::Malformed("truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn uleb(&mut self) -> Read<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let [b, rest @ ..] = self.bytes else {
                return Err(ChunkError::Malformed("truncated number"));
            };
            self.bytes = rest;
            let low = u64::from(b & 0x7f);
            if i == 9 && low > 1 {
                return Err(ChunkError::Malformed("number overflows 64 bits"));
            }
            value |= low << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ChunkError::Malformed("number overflows 64 bits"))
    }

    fn sleb(&mut self) -> Read<i64> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let [b, rest @ ..] = self.bytes else {
                return Err(ChunkError::Malformed("truncated number"));
            };
            self.bytes = rest;
            if shift >= 64 {
                return Err(ChunkError::Malformed("number overflows 64 bits"));
            }
            value |= i64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1_i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    fn bounded(&mut self, what: &'static str, max: u64) -> Read<u64> {
        let found = self.uleb()?;
        if found > max {
            return Err(ChunkError::FieldTooLarge { what, found, max });
        }
        Ok(found)
    }

    fn hash(&mut self) -> Read<ChangeHash> {
        let raw = self.take(32)?;
        ChangeHash::try_from(raw).map_err(|_| ChunkError::Malformed("bad hash"))
    }
}

/// Rows an RLE column of unsigned integers expands to, and the sum of its values
/// (runs count `n` times); O(bytes), nothing is expanded.
fn rle_rows_and_sum(data: &[u8]) -> Read<(u64, u64)> {
    let mut r = Reader { bytes: data };
    let (mut rows, mut sum) = (0u64, 0u64);
    while !r.bytes.is_empty() {
        let count = r.sleb()?;
        if count > 0 {
            let n = count.unsigned_abs();
            let v = r.uleb()?;
            rows = rows.saturating_add(n);
            sum = sum.saturating_add(v.saturating_mul(n));
        } else if count < 0 {
            let n = count.unsigned_abs();
            // Each literal takes at least one byte: bounded by the input.
            for _ in 0..n {
                sum = sum.saturating_add(r.uleb()?);
            }
            rows = rows.saturating_add(n);
        } else {
            rows = rows.saturating_add(r.uleb()?);
        }
    }
    Ok((rows, sum))
}

/// Rows of an RLE column of unsigned integers: all of them, those holding a value
/// (not null), and those holding a value of at least 1; O(bytes), nothing expanded.
fn rle_census(data: &[u8]) -> Read<(u64, u64, u64)> {
    let mut r = Reader { bytes: data };
    let (mut rows, mut values, mut positive) = (0u64, 0u64, 0u64);
    let mut add = |n: u64, v: Option<u64>| {
        rows = rows.saturating_add(n);
        if let Some(v) = v {
            values = values.saturating_add(n);
            if v >= 1 {
                positive = positive.saturating_add(n);
            }
        }
    };
    while !r.bytes.is_empty() {
        let count = r.sleb()?;
        if count > 0 {
            add(count.unsigned_abs(), Some(r.uleb()?));
        } else if count < 0 {
            for _ in 0..count.unsigned_abs() {
                add(1, Some(r.uleb()?));
            }
        } else {
            add(r.uleb()?, None);
        }
    }
    Ok((rows, values, positive))
}

/// The largest value of an RLE column of unsigned integers (nulls ignored), 0 if
/// none; O(bytes), nothing is expanded.
fn rle_max(data: &[u8]) -> Read<u64> {
    let mut r = Reader { bytes: data };
    let mut max = 0u64;
    while !r.bytes.is_empty() {
        let count = r.sleb()?;
        if count > 0 {
            max = max.max(r.uleb()?);
        } else if count < 0 {
            for _ in 0..count.unsigned_abs() {
                max = max.max(r.uleb()?);
            }
        } else {
            r.uleb()?;
        }
    }
    Ok(max)
}

/// A change chunk split into its checksum and its data (what the hash covers
/// after the header); refuses compressed chunks and trailing bytes.
pub(crate) fn chunk(bytes: &[u8]) -> Read<(&[u8], &[u8])> {
    let mut r = Reader { bytes };
    if r.take(4)? != MAGIC {
        return Err(ChunkError::Malformed("bad magic bytes"));
    }
    let checksum = r.take(4)?;
    let chunk_type = r.take(1)?[0];
    match chunk_type {
        CHUNK_CHANGE => {}
        CHUNK_COMPRESSED => return Err(ChunkError::Compressed),
        _ => return Err(ChunkError::Malformed("not a change chunk")),
    }
    let len = r.uleb()?;
    let data = r.take(len)?;
    if !r.bytes.is_empty() {
        return Err(ChunkError::Malformed("bytes after the chunk"));
    }
    Ok((checksum, data))
}

/// A change chunk's data read as far as its columns.
pub(crate) struct Layout<'a> {
    pub(crate) deps: Vec<ChangeHash>,
    pub(crate) actor: ActorId,
    pub(crate) seq: u64,
    pub(crate) start_op: u64,
    pub(crate) other_actors: u64,
    /// (spec, bytes) of every column, in order.
    pub(crate) columns: Vec<(u32, &'a [u8])>,
}

pub(crate) fn layout(data: &[u8]) -> Read<Layout<'_>> {
    let mut r = Reader { bytes: data };
    let n_deps = r.bounded("dependency count", MAX_DEPS)?;
    let deps = (0..n_deps).map(|_| r.hash()).collect::<Read<Vec<_>>>()?;
    let actor_len = r.bounded("actor id length", MAX_ACTOR_BYTES)?;
    let actor = ActorId::from(r.take(actor_len)?);
    let seq = r.uleb()?;
    let start_op = r.uleb()?;
    let time = r.sleb()?;
    if time.unsigned_abs() > MAX_TIME_MS {
        return Err(ChunkError::Time(time));
    }
    let message_len = r.bounded("message length", MAX_MESSAGE_BYTES)?;
    r.take(message_len)?;
    let other_actors = r.bounded("other actor count", MAX_OTHER_ACTORS)?;
    for _ in 0..other_actors {
        let n = r.bounded("actor id length", MAX_ACTOR_BYTES)?;
        r.take(n)?;
    }
    let n_columns = r.bounded("column count", MAX_COLUMNS)?;
    let mut specs = Vec::new();
    for _ in 0..n_columns {
        let spec = r.uleb()?;
        let spec = u32::try_from(spec).map_err(|_| ChunkError::Malformed("column spec"))?;
        if spec & DEFLATE_BIT != 0 {
            return Err(ChunkError::Compressed);
        }
        specs.push((spec, r.uleb()?));
    }
    let mut columns = Vec::with_capacity(specs.len());
    for (spec, len) in specs {
        columns.push((spec, r.take(len)?));
    }
    if !r.bytes.is_empty() {
        return Err(ChunkError::TrailingBytes);
    }
    Ok(Layout {
        deps,
        actor,
        seq,
        start_op,
        other_actors,
        columns,
    })
}

impl Layout<'_> {
    /// The ops and the predecessor references (overwritten values) the op columns
    /// expand to, counted without expanding them; refuses an op naming an actor
    /// the change does not list (index 0 is the change's own actor): Automerge's
    /// decoder would panic on it.
    pub(crate) fn counts(&self) -> Read<(u64, u64)> {
        let (mut ops, mut preds) = (0, 0);
        for (spec, data) in &self.columns {
            match *spec {
                ACTION_COLUMN => ops = rle_rows_and_sum(data)?.0,
                PRED_GROUP_COLUMN => preds = rle_rows_and_sum(data)?.1,
                s if s & COLUMN_TYPE_MASK == ACTOR_COLUMN_TYPE
                    && rle_max(data)? > self.other_actors =>
                {
                    return Err(ChunkError::Malformed(
                        "an op names an actor the change does not list",
                    ));
                }
                _ => {}
            }
        }
        Ok((ops, preds))
    }
}

/// Whether any op of a change chunk may be on the document's root map. False only
/// when the chunk reads, its columns are listed once each in ascending order, and
/// both object columns (actor, column spec 1; counter, spec 2) hold exactly one
/// row per op (the action column's rows), every actor a value and every counter
/// at least 1: as Automerge writes a change with no op on the root, which it
/// writes as nulls. Anything else counts as the root, including encodings
/// Automerge reads as root ops that another reader would not (an empty or missing
/// object column, a longer one, a column listed twice: found by an attacker's
/// review). The root holds a document's skeleton; a change with no op there
/// cannot alter it (see `Document::apply_with`). O(bytes), nothing expanded, no
/// hash computed.
pub fn writes_root(bytes: &[u8]) -> bool {
    let read = || -> Read<bool> {
        let l = layout(chunk(bytes)?.1)?;
        if l.columns.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Ok(true);
        }
        let column = |want: u32| {
            l.columns
                .iter()
                .find(|(spec, _)| *spec == want)
                .map(|(_, d)| *d)
        };
        let (Some(action), Some(actor), Some(counter)) = (
            column(ACTION_COLUMN),
            column(OBJ_ACTOR_COLUMN),
            column(OBJ_CTR_COLUMN),
        ) else {
            return Ok(true);
        };
        let ops = rle_rows_and_sum(action)?.0;
        let (actor_rows, actors, _) = rle_census(actor)?;
        let (counter_rows, _, counters) = rle_census(counter)?;
        Ok(!(actor_rows == ops && actors == ops && counter_rows == ops && counters == ops))
    };
    read().unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_counts_runs_literals_and_nulls_without_expanding() {
        // run of 3 × 7, literal [1, 2], 4 nulls, run of 2^40 × 1
        let mut b = vec![3, 7, 0x7e, 1, 2, 0, 4];
        b.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1]);
        let (rows, sum) = rle_rows_and_sum(&b).unwrap();
        assert_eq!(rows, 3 + 2 + 4 + (1 << 40));
        assert_eq!(sum, 21 + 3 + (1 << 40));
    }

    /// A change of `edit` on a document holding a root map `m` with a nested map.
    fn change_of(edit: impl FnOnce(&mut automerge::AutoCommit, &automerge::ObjId)) -> Vec<u8> {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        let m = doc
            .put_object(automerge::ROOT, "m", automerge::ObjType::Map)
            .unwrap();
        let inner = doc
            .put_object(&m, "inner", automerge::ObjType::Map)
            .unwrap();
        doc.commit();
        edit(&mut doc, &inner);
        doc.commit();
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    #[test]
    fn a_change_writes_the_root_exactly_when_one_of_its_ops_is_there() {
        use automerge::transaction::Transactable;
        let nested = change_of(|d, inner| {
            d.put(inner, "a", 1).unwrap();
            d.put(inner, "b", "two").unwrap();
        });
        assert!(!writes_root(&nested));
        let root_only = change_of(|d, _| d.put(automerge::ROOT, "schema", 9).unwrap());
        assert!(writes_root(&root_only));
        let both = change_of(|d, inner| {
            d.put(inner, "a", 1).unwrap();
            d.delete(automerge::ROOT, "m").unwrap();
        });
        assert!(writes_root(&both));
        let replaced = change_of(|d, _| {
            d.put_object(automerge::ROOT, "m", automerge::ObjType::Map)
                .unwrap();
        });
        assert!(writes_root(&replaced));
    }

    /// A chunk's data up to its column count, and its columns.
    fn split(bytes: &[u8]) -> (Vec<u8>, Vec<(u32, Vec<u8>)>) {
        let data = chunk(bytes).unwrap().1;
        let l = layout(data).unwrap();
        let mut tail = 0;
        let mut head = Vec::new();
        uleb_into(&mut head, l.columns.len() as u64);
        for (spec, d) in &l.columns {
            uleb_into(&mut head, u64::from(*spec));
            uleb_into(&mut head, d.len() as u64);
            tail += d.len();
        }
        let prefix = data[..data.len() - tail - head.len()].to_vec();
        let columns = l.columns.iter().map(|(s, d)| (*s, d.to_vec())).collect();
        (prefix, columns)
    }

    fn uleb_into(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let low = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(low);
                return;
            }
            out.push(low | 0x80);
        }
    }

    /// A change chunk of `prefix` and `columns`, its checksum right.
    fn join(prefix: &[u8], columns: &[(u32, Vec<u8>)]) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut data = prefix.to_vec();
        uleb_into(&mut data, columns.len() as u64);
        for (spec, d) in columns {
            uleb_into(&mut data, u64::from(*spec));
            uleb_into(&mut data, d.len() as u64);
        }
        for (_, d) in columns {
            data.extend(d);
        }
        let mut header = vec![1u8];
        uleb_into(&mut header, data.len() as u64);
        let hash = Sha256::new()
            .chain_update(&header)
            .chain_update(&data)
            .finalize();
        let mut out = MAGIC.to_vec();
        out.extend(&hash[..4]);
        out.extend(header);
        out.extend(data);
        out
    }

    #[test]
    fn object_columns_automerge_reads_as_the_root_count_as_the_root() {
        use automerge::transaction::Transactable;
        // One op on the root (replacing a map), encoded as Automerge does: no object columns.
        let root = change_of(|d, _| {
            d.put_object(automerge::ROOT, "m", automerge::ObjType::Map)
                .unwrap();
        });
        let (prefix, columns) = split(&root);
        assert!(
            columns
                .iter()
                .all(|(s, _)| *s != OBJ_ACTOR_COLUMN && *s != OBJ_CTR_COLUMN)
        );
        assert_eq!(
            join(&prefix, &columns),
            root,
            "the test's encoder is Automerge's"
        );
        let with = |front: Vec<(u32, Vec<u8>)>| {
            let mut all = front;
            all.extend(columns.iter().cloned());
            join(&prefix, &all)
        };
        // Each still decodes to an op on the root (the review found Automerge applies them).
        let hostile = [
            (
                "empty actor column, counter 1",
                with(vec![(1, vec![]), (2, vec![1, 1])]),
            ),
            ("no actor column, counter 1", with(vec![(2, vec![1, 1])])),
            (
                "null actor, counter column longer than the ops",
                with(vec![(1, vec![0, 1]), (2, vec![0, 1, 1, 5])]),
            ),
            (
                "actors [null, 0], counters [null, 5]",
                with(vec![(1, vec![0, 1, 1, 0]), (2, vec![0, 1, 1, 5])]),
            ),
            (
                "counter column twice, first says 1",
                with(vec![(1, vec![0, 1]), (2, vec![1, 1]), (2, vec![0, 1])]),
            ),
            (
                "actor 0, counter 0",
                with(vec![(1, vec![1, 0]), (2, vec![1, 0])]),
            ),
        ];
        for (what, bytes) in hostile {
            assert!(writes_root(&bytes), "{what}");
        }
        // A nested op's columns, listed out of order.
        let nested = change_of(|d, inner| d.put(inner, "a", 1).unwrap());
        let (prefix, mut columns) = split(&nested);
        assert!(!writes_root(&join(&prefix, &columns)));
        columns.reverse();
        assert!(
            writes_root(&join(&prefix, &columns)),
            "columns out of order"
        );
    }
}
