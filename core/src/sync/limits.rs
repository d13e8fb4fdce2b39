//! Resource limits and history rules on pushed changes, checked before Automerge does the work (pure, no IO).
//!
//! Two stages, both cheap and neither recursive:
//! - [`peek`] reads one change chunk's header and op columns without Automerge: it
//!   refuses compressed chunks (Automerge would inflate them without a bound),
//!   trailing bytes (author footers), and counts the ops and predecessors the
//!   run-length-encoded columns would expand to, so an RLE bomb is refused before
//!   Automerge iterates it.
//! - [`check_history`] checks the decoded changes against the stored document
//!   before they are applied: no new change under a reserved actor (genesis,
//!   migration, server) except the document's byte-identical genesis and
//!   migration changes (`doc::genesis`);
//!   every actor's `seq` continues its last one, and its change builds on that
//!   last one (found by a hostile test: one made beside it reuses its op ids, and
//!   Automerge panics collecting them); every `start_op` is exactly one
//!   past its dependencies' last op (what Automerge writes, so a change can
//!   neither reuse op ids nor jump the counter towards its ceiling); every
//!   other actor a change names made one of the changes before it (found by
//!   fuzzing: Automerge panics on one that did not); every change is encoded
//!   exactly as Automerge would re-encode it (also found by fuzzing: Automerge
//!   stores ops, not bytes, so a change in another encoding is later served
//!   under another hash); every op's key fits the object it writes (a map's ops
//!   name a key, a list's a position: found by review, a position in a map
//!   corrupts it where Automerge runs without its debug assertions); and no
//!   object nests deeper than [`Limits::max_depth`]. (`peek` also refuses a
//!   change time further than [`MAX_TIME_MS`] from 1970.)

use std::collections::{BTreeMap, HashMap, HashSet};

use automerge::legacy::{self, OpType};
use automerge::{ActorId, Change, ChangeHash, ReadDoc};
use sha2::{Digest, Sha256};

pub use crate::chunk::MAX_TIME_MS;
use crate::chunk::{self, ChunkError};

use super::wire::RejectCode;
use crate::doc::genesis::Skeleton;
use crate::doc::{DocId, Document};
use crate::ids::TerritoryId;

/// Limits on one document's push.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most changes accepted for one document in one request.
    pub max_changes: usize,
    /// Largest single change, in bytes (change chunks are never compressed, so
    /// this is also its decoded size).
    pub max_change_bytes: usize,
    /// Most change bytes for one document in one request.
    pub max_push_bytes: usize,
    /// Most operations in one change.
    pub max_ops_per_change: u64,
    /// Most operations in one document's push.
    pub max_ops_per_push: u64,
    /// Deepest object (the root's collections are at depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_changes: 10_000,
            max_change_bytes: 256 * 1024,
            max_push_bytes: 8 * 1024 * 1024,
            max_ops_per_change: 10_000,
            max_ops_per_push: 100_000,
            max_depth: 16,
        }
    }
}

impl Limits {
    /// No size limits (for changes the server already accepted); the encoding
    /// rules (no compressed chunk, no trailing bytes) still hold.
    pub const fn unbounded() -> Self {
        Limits {
            max_changes: usize::MAX,
            max_change_bytes: usize::MAX,
            max_push_bytes: usize::MAX,
            max_ops_per_change: u64::MAX,
            max_ops_per_push: u64::MAX,
            max_depth: usize::MAX,
        }
    }
}

/// Highest op counter a change may reach: half of Automerge's `u32` ceiling, so
/// there is always room for every honest device's next change.
pub const COUNTER_CEILING: u64 = 1 << 31;

/// Actor-id prefixes only fieldsync itself writes under (deterministic changes).
pub const RESERVED_ACTOR_PREFIXES: &[&[u8]] = &[b"fieldsync-genesis/", b"fieldsync-migration/"];
/// Whether `actor` is reserved for fieldsync's deterministic changes.
pub fn is_reserved(actor: &[u8]) -> bool {
    RESERVED_ACTOR_PREFIXES.iter().any(|p| actor.starts_with(p))
}

/// Why a push breaks a limit or a history rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("not an Automerge change chunk: {0}")]
    Malformed(&'static str),
    #[error("compressed change chunks are not accepted; send the change uncompressed")]
    Compressed,
    #[error("a change carries trailing bytes (an author footer?), which are not accepted")]
    TrailingBytes,
    #[error("a change has {found} operations; at most {max} are accepted")]
    TooManyOps { found: u64, max: u64 },
    #[error("a change overwrites {found} earlier values; at most {max} are accepted")]
    TooManyPreds { found: u64, max: u64 },
    #[error("the push has more than {max} operations for one document")]
    PushTooManyOps { max: u64 },
    #[error("the push has more than {max} bytes of changes for one document")]
    PushTooManyBytes { max: usize },
    #[error("a change has a {what} of {found}; at most {max} is accepted")]
    FieldTooLarge {
        what: &'static str,
        found: u64,
        max: u64,
    },
    #[error("objects nest deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("a new change uses the reserved actor {0}")]
    ReservedActor(String),
    #[error("actor {actor} already has a change with seq {seq}")]
    DuplicateSeq { actor: String, seq: u64 },
    #[error("actor {actor}'s change {seq} does not build on its previous change")]
    ForgetsPrevious { actor: String, seq: u64 },
    #[error("actor {actor}'s seq jumps to {seq}; the next is {expected}")]
    SeqGap {
        actor: String,
        seq: u64,
        expected: u64,
    },
    #[error("a change starts at op {found}, not at {expected} (one past its dependencies)")]
    StartOp { found: u64, expected: u64 },
    #[error("a change's op counter reaches {0}, too close to Automerge's limit")]
    CounterLimit(u64),
    #[error("a change names actor {0}, which made none of the changes it builds on")]
    UnknownActor(String),
    #[error("a change is not encoded as Automerge encodes it (its re-encoding has another hash)")]
    NotCanonical,
    #[error("a change's time ({0} ms from 1970) is further from 1970 than any clock gives")]
    Time(i64),
}

impl LimitError {
    /// The stable code a refusal for this reason carries.
    pub fn code(&self) -> RejectCode {
        match self {
            LimitError::Malformed(_)
            | LimitError::TrailingBytes
            | LimitError::UnknownActor(_)
            | LimitError::NotCanonical
            | LimitError::Time(_) => RejectCode::Malformed,
            LimitError::Compressed => RejectCode::CompressedChange,
            LimitError::TooManyOps { .. }
            | LimitError::TooManyPreds { .. }
            | LimitError::PushTooManyOps { .. }
            | LimitError::PushTooManyBytes { .. }
            | LimitError::FieldTooLarge { .. } => RejectCode::TooLarge,
            LimitError::TooDeep { .. } => RejectCode::TooDeep,
            LimitError::ReservedActor(_) => RejectCode::ReservedActor,
            LimitError::DuplicateSeq { .. }
            | LimitError::SeqGap { .. }
            | LimitError::ForgetsPrevious { .. }
            | LimitError::StartOp { .. }
            | LimitError::CounterLimit(_) => RejectCode::BadSequence,
        }
    }
}

impl From<ChunkError> for LimitError {
    fn from(e: ChunkError) -> Self {
        match e {
            ChunkError::Malformed(what) => LimitError::Malformed(what),
            ChunkError::Compressed => LimitError::Compressed,
            ChunkError::TrailingBytes => LimitError::TrailingBytes,
            ChunkError::FieldTooLarge { what, found, max } => {
                LimitError::FieldTooLarge { what, found, max }
            }
            ChunkError::Time(t) => LimitError::Time(t),
        }
    }
}

/// What one change chunk's bytes say, read without Automerge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peek {
    pub hash: ChangeHash,
    pub actor: ActorId,
    pub seq: u64,
    pub start_op: u64,
    pub deps: Vec<ChangeHash>,
    /// Operations the op columns expand to.
    pub ops: u64,
    /// Predecessor references (overwritten values) the op columns expand to.
    pub preds: u64,
}

/// Reads one change chunk's header and counts its ops, without Automerge and
/// without expanding anything; refuses compressed chunks and trailing bytes.
pub fn peek(bytes: &[u8]) -> Result<Peek, LimitError> {
    let (checksum, data) = chunk::chunk(bytes)?;
    let header_len = bytes.len() - data.len() - 8;
    let hash: [u8; 32] = Sha256::new()
        .chain_update(&bytes[8..8 + header_len])
        .chain_update(data)
        .finalize()
        .into();
    if hash[..4] != *checksum {
        return Err(LimitError::Malformed("checksum does not match"));
    }
    let l = chunk::layout(data)?;
    let (ops, preds) = l.counts()?;
    Ok(Peek {
        hash: ChangeHash(hash),
        actor: l.actor,
        seq: l.seq,
        start_op: l.start_op,
        deps: l.deps,
        ops,
        preds,
    })
}

/// Running totals over one document's push, checked change by change.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    ops: u64,
    bytes: usize,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            ops: 0,
            bytes: 0,
        }
    }

    /// Peeks at one more change of the push and charges it to the budget.
    pub fn admit(&mut self, bytes: &[u8]) -> Result<Peek, LimitError> {
        let l = &self.limits;
        self.bytes = self.bytes.saturating_add(bytes.len());
        if self.bytes > l.max_push_bytes {
            return Err(LimitError::PushTooManyBytes {
                max: l.max_push_bytes,
            });
        }
        let p = peek(bytes)?;
        if p.ops > l.max_ops_per_change {
            return Err(LimitError::TooManyOps {
                found: p.ops,
                max: l.max_ops_per_change,
            });
        }
        let max_preds = l.max_ops_per_change.saturating_mul(2);
        if p.preds > max_preds {
            return Err(LimitError::TooManyPreds {
                found: p.preds,
                max: max_preds,
            });
        }
        self.ops = self.ops.saturating_add(p.ops);
        if self.ops > l.max_ops_per_push {
            return Err(LimitError::PushTooManyOps {
                max: l.max_ops_per_push,
            });
        }
        Ok(p)
    }
}

fn actor_text(a: &ActorId) -> String {
    let b = a.to_bytes();
    match std::str::from_utf8(b) {
        Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => s.chars().take(80).collect(),
        _ => a.to_hex_string(),
    }
}

/// What the stored document already holds: each change's last op and dependencies, each actor's latest change.
#[derive(Debug, Default)]
struct Known {
    max_op: HashMap<ChangeHash, u64>,
    /// Each actor's latest change: its seq and hash.
    last: HashMap<ActorId, (u64, ChangeHash)>,
    /// Each change's dependencies.
    deps: HashMap<ChangeHash, Vec<ChangeHash>>,
    /// The document's genesis and migration changes (`genesis::Skeleton`),
    /// once its territory is known (stored, or from the push's genesis).
    skeleton: Option<Skeleton>,
}

impl Known {
    fn has_actor(&self, a: &ActorId) -> bool {
        self.last.contains_key(a)
    }

    /// Whether `target` is one of `from` or in their causal past (a walk back that
    /// usually stops at once: an actor's next change names its previous one).
    fn is_ancestor(&self, target: &ChangeHash, from: &[ChangeHash]) -> bool {
        let mut seen: HashSet<ChangeHash> = HashSet::new();
        let mut todo: Vec<ChangeHash> = from.to_vec();
        while let Some(h) = todo.pop() {
            if h == *target {
                return true;
            }
            if seen.insert(h)
                && let Some(deps) = self.deps.get(&h)
            {
                todo.extend(deps.iter().copied());
            }
        }
        false
    }
}

impl Known {
    fn of(doc: Option<&mut Document>) -> Self {
        let mut k = Known::default();
        if let Some(doc) = doc {
            k.skeleton = Skeleton::of(doc.id(), doc.territory()).ok();
            for m in doc.automerge_mut().get_changes_meta(&[]) {
                k.max_op.insert(m.hash, m.max_op);
                k.deps.insert(m.hash, m.deps);
                let actor = m.actor.into_owned();
                if k.last.get(&actor).is_none_or(|(seq, _)| m.seq > *seq) {
                    k.last.insert(actor, (m.seq, m.hash));
                }
            }
        }
        k
    }
}

/// The document's skeleton if `c` is the genesis change of document `id` (byte-identical).
fn genesis_skeleton(id: &DocId, c: &Change, ops: &[legacy::Op]) -> Option<Skeleton> {
    let territory = ops
        .iter()
        .find_map(|op| match (&op.obj, &op.key, &op.action) {
            (legacy::ObjectId::Root, legacy::Key::Map(k), OpType::Put(v)) if k == "territory" => {
                v.as_str().map(str::to_owned)
            }
            _ => None,
        });
    let territory: TerritoryId = territory?.parse().ok()?;
    Skeleton::of(id, &territory)
        .ok()
        .filter(|s| s.genesis() == c.hash())
}

/// Checks the decoded changes of a push against the stored document (absent if
/// new) before they are applied: reserved actors, `seq` continuity, `start_op`,
/// the counter's ceiling and nesting depth. Changes already stored are ignored;
/// changes whose dependencies are missing are left for the apply to refuse.
pub fn check_history(
    existing: Option<&mut Document>,
    id: &DocId,
    incoming: &[Change],
    limits: &Limits,
) -> Result<(), LimitError> {
    history(existing, id, incoming, limits).map(|_| ())
}

/// The operations of each change [`history`] checked, by hash (decoded once:
/// the schema's checks read them again).
pub(crate) type Decoded = HashMap<ChangeHash, Vec<legacy::Op>>;

/// [`check_history`], returning the document's skeleton (`genesis::Skeleton`)
/// if it is known (the stored document's, or a new one's from its genesis
/// change) and the operations of every change it checked.
pub(crate) fn history(
    mut existing: Option<&mut Document>,
    id: &DocId,
    incoming: &[Change],
    limits: &Limits,
) -> Result<(Option<Skeleton>, Decoded), LimitError> {
    let mut decoded_ops = Decoded::new();
    let mut known = Known::of(existing.as_deref_mut());
    // Fresh changes in an applicable order (Kahn's algorithm, iterative).
    let mut pending: Vec<&Change> = Vec::new();
    for c in incoming {
        if !known.max_op.contains_key(&c.hash()) && !pending.iter().any(|p| p.hash() == c.hash()) {
            pending.push(c);
        }
    }
    let mut made: HashMap<legacy::OpId, legacy::ObjectId> = HashMap::new();
    let mut kinds = Kinds::default();
    loop {
        let before = pending.len();
        let mut rest = Vec::new();
        for c in pending {
            if !c.deps().iter().all(|d| known.max_op.contains_key(d)) {
                rest.push(c);
                continue;
            }
            // Automerge keeps the ops, not the bytes: a change it would
            // re-encode differently (found by fuzzing: columns encoded in a way
            // Automerge never writes) is later served under another hash, so
            // the changes built on it no longer find their dependency.
            // `peek` refused the inputs known to make Automerge's decoder
            // panic; should another exist, it refuses the change, not the process.
            let Ok(decoded) = std::panic::catch_unwind(|| c.decode()) else {
                return Err(LimitError::Malformed(
                    "Automerge could not decode the change",
                ));
            };
            check_change(id, c, &decoded.operations, &mut known)?;
            // The skeleton's changes are the bytes fieldsync makes (their hashes
            // were matched): canonical by construction.
            if !known
                .skeleton
                .as_ref()
                .is_some_and(|s| s.contains(&c.hash()))
            {
                let Ok(canonical) = std::panic::catch_unwind(|| Change::from(decoded.clone()))
                else {
                    return Err(LimitError::Malformed(
                        "Automerge could not encode the change",
                    ));
                };
                if canonical.hash() != c.hash() {
                    return Err(LimitError::NotCanonical);
                }
            }
            let ops = decoded.operations;
            kinds.check(existing.as_deref(), c, &ops)?;
            known.max_op.insert(c.hash(), c.max_op());
            known.deps.insert(c.hash(), c.deps().to_vec());
            known.last.insert(c.actor_id().clone(), (c.seq(), c.hash()));
            for (i, op) in ops.iter().enumerate() {
                if let OpType::Make(_) = op.action {
                    let child = legacy::OpId(c.start_op().get() + i as u64, c.actor_id().clone());
                    made.insert(child, op.obj.clone());
                }
            }
            decoded_ops.insert(c.hash(), ops);
        }
        pending = rest;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    check_depth(existing.as_deref(), &made, limits.max_depth)?;
    Ok((known.skeleton, decoded_ops))
}

fn check_change(
    id: &DocId,
    c: &Change,
    ops: &[legacy::Op],
    known: &mut Known,
) -> Result<(), LimitError> {
    let actor = c.actor_id();
    if is_reserved(actor.to_bytes())
        && !known
            .skeleton
            .as_ref()
            .is_some_and(|s| s.contains(&c.hash()))
    {
        // A new document's genesis comes first (the migrations build on it).
        let Some(skeleton) = genesis_skeleton(id, c, ops) else {
            return Err(LimitError::ReservedActor(actor_text(actor)));
        };
        if known.skeleton.is_none() {
            known.skeleton = Some(skeleton);
        }
    }
    // The other actors a change names are those whose ops it refers to, which
    // are in its causal past: one nobody in the document made is a forgery
    // (Automerge would panic applying it).
    if let Some(a) = c
        .other_actor_ids()
        .iter()
        .find(|a| *a != actor && !known.has_actor(a))
    {
        return Err(LimitError::UnknownActor(actor_text(a)));
    }
    let previous = known.last.get(actor).copied();
    let expected_seq = previous.map_or(0, |(seq, _)| seq) + 1;
    if c.seq() < expected_seq {
        return Err(LimitError::DuplicateSeq {
            actor: actor_text(actor),
            seq: c.seq(),
        });
    }
    if c.seq() > expected_seq {
        return Err(LimitError::SeqGap {
            actor: actor_text(actor),
            seq: c.seq(),
            expected: expected_seq,
        });
    }
    // An actor's change builds on its previous one (Automerge reads an actor's seq as
    // "saw every earlier change of it"): one made beside it would reuse its op ids,
    // which Automerge does not survive (an assertion in its change collector).
    if let Some((_, previous)) = previous
        && !known.is_ancestor(&previous, c.deps())
    {
        return Err(LimitError::ForgetsPrevious {
            actor: actor_text(actor),
            seq: c.seq(),
        });
    }
    let past_max = c
        .deps()
        .iter()
        .filter_map(|d| known.max_op.get(d))
        .max()
        .copied()
        .unwrap_or(0);
    let start = c.start_op().get();
    if start != past_max + 1 {
        return Err(LimitError::StartOp {
            found: start,
            expected: past_max + 1,
        });
    }
    if c.max_op() > COUNTER_CEILING {
        return Err(LimitError::CounterLimit(c.max_op()));
    }
    Ok(())
}

/// The type of every object a push's ops write into, so that each op's key fits
/// it: a map's ops name a key and insert nothing; a list's or text's name a
/// position (found by review: Automerge without its debug assertions, as the
/// server runs it, takes a position in a map and leaves the map unreadable).
#[derive(Default)]
struct Kinds {
    /// Objects the push makes, and stored objects already looked up (`None`: not found).
    known: HashMap<legacy::OpId, Option<automerge::ObjType>>,
}

impl Kinds {
    fn check(
        &mut self,
        existing: Option<&Document>,
        c: &Change,
        ops: &[legacy::Op],
    ) -> Result<(), LimitError> {
        use automerge::ObjType;
        for (i, op) in ops.iter().enumerate() {
            let kind = match &op.obj {
                legacy::ObjectId::Root => Some(ObjType::Map),
                legacy::ObjectId::Id(obj) => *self
                    .known
                    .entry(obj.clone())
                    .or_insert_with(|| stored_kind(existing, obj)),
            };
            let fits = match (kind, &op.key) {
                (Some(ObjType::Map | ObjType::Table), legacy::Key::Map(_)) => !op.insert,
                (Some(ObjType::List | ObjType::Text), legacy::Key::Seq(_)) => true,
                // An object nobody made: Automerge refuses the change.
                (None, _) => true,
                _ => false,
            };
            if !fits {
                return Err(LimitError::Malformed(
                    "an operation's key does not fit the object it writes",
                ));
            }
            if let OpType::Make(t) = op.action {
                let made = legacy::OpId(c.start_op().get() + i as u64, c.actor_id().clone());
                self.known.insert(made, Some(t));
            }
        }
        Ok(())
    }
}

/// The type of a stored object, if the stored document holds it.
fn stored_kind(existing: Option<&Document>, obj: &legacy::OpId) -> Option<automerge::ObjType> {
    let am = existing?.automerge();
    let text = format!("{}@{}", obj.0, obj.1.to_hex_string());
    // A read of untrusted structure: a panic inside Automerge counts as unknown.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let o = am.import_obj(&text).ok()?;
        am.object_type(&o).ok()
    }))
    .ok()
    .flatten()
}

/// Depth of every object the push creates: parent links are followed iteratively
/// with a step bound (so a crafted cycle is refused too), and an object the
/// stored document already holds is measured by its path to the root.
fn check_depth(
    existing: Option<&Document>,
    made: &HashMap<legacy::OpId, legacy::ObjectId>,
    max: usize,
) -> Result<(), LimitError> {
    let mut depth: HashMap<&legacy::OpId, usize> = HashMap::new();
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for start in made.keys() {
        let mut chain: Vec<&legacy::OpId> = Vec::new();
        let mut at = start;
        let base = loop {
            if let Some(d) = depth.get(at) {
                break *d;
            }
            chain.push(at);
            if chain.len() > max {
                return Err(LimitError::TooDeep { max });
            }
            match made.get(at) {
                Some(legacy::ObjectId::Root) => break 0,
                Some(legacy::ObjectId::Id(parent)) if made.contains_key(parent) => at = parent,
                Some(legacy::ObjectId::Id(parent)) => {
                    let key = format!("{}@{}", parent.0, parent.1.to_hex_string());
                    let d = *stored
                        .entry(key)
                        .or_insert_with_key(|k| stored_depth(existing, k));
                    break d;
                }
                None => break 0,
            }
        };
        for (i, node) in chain.iter().rev().enumerate() {
            let d = base + i + 1;
            if d > max {
                return Err(LimitError::TooDeep { max });
            }
            depth.insert(node, d);
        }
    }
    Ok(())
}

/// Depth of a stored object (its number of ancestors); 1 if unknown.
fn stored_depth(existing: Option<&Document>, obj: &str) -> usize {
    let Some(doc) = existing else { return 1 };
    let am = doc.automerge();
    // A read of untrusted structure: a panic inside Automerge counts as unknown.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match am
            .import_obj(obj)
            .and_then(|o| am.parents(o).map(Iterator::count))
        {
            Ok(n) => n.max(1),
            Err(_) => 1,
        }
    }))
    .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_actors() {
        assert!(is_reserved(b"fieldsync-genesis/dealer:d1"));
        assert!(is_reserved(b"fieldsync-migration/2/dealer:d1"));
        assert!(!is_reserved(b"0123456789abcdef"));
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = peek(&bytes);
            let mut with_magic = crate::chunk::MAGIC.to_vec();
            with_magic.extend(&bytes);
            let _ = peek(&with_magic);
            assert!(
                crate::chunk::writes_root(&with_magic),
                "unreadable counts as the root"
            );
        }
    }
}
