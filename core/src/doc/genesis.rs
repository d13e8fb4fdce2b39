//! The genesis change: every document's fixed skeleton, made identically on every device.
//!
//! Two devices that create "the same" document offline must not create two
//! competing `visits` maps (one would hide the other's records). So the skeleton
//! (schema version, type, ids, territory and the empty collection maps) is written
//! by one change with an actor id derived from the document id and time 0: every
//! device produces byte-identical bytes, hence the same change hash, and Automerge
//! stores it once. All later edits use the device's own actor. A collection a
//! later version adds is created the same way, by a migration change
//! ([`DEALER_MIGRATIONS`]).

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, Change, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};
#[cfg(not(target_arch = "wasm32"))]
use automerge::{ExpandedChange, legacy};

use super::error::DocError;
use super::id::DocId;
use crate::ids::TerritoryId;

/// The document schema this version of fieldsync writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

/// The collection maps of a dealer document.
pub const DEALER_COLLECTIONS: &[&str] = &[
    "profile",
    "visits",
    "commitments",
    "claims",
    "problems",
    "activities",
];
/// The collection maps of a territory document.
pub const TERRITORY_COLLECTIONS: &[&str] = &["profile", "dealers"];

/// The collections a document of this id has from its genesis.
pub fn collections(id: &DocId) -> &'static [&'static str] {
    match id {
        DocId::Territory(_) => TERRITORY_COLLECTIONS,
        DocId::Dealer(_) => DEALER_COLLECTIONS,
    }
}

/// Collections a later version added to dealer documents, each with its
/// migration number. The genesis change cannot change (its hash names every
/// existing document), so such a collection is created by a migration change:
/// built on the genesis change alone, under actor `fieldsync-migration/{n}/{id}`,
/// at time 0, hence byte-identical on every device, like the genesis. It is made
/// when the collection is first written, on whichever device writes first; until
/// then the collection reads as empty.
pub const DEALER_MIGRATIONS: &[(u32, &str)] = &[(2, "notes")];

/// The collections a document of this id gains by migration.
pub fn migrations(id: &DocId) -> &'static [(u32, &'static str)] {
    match id {
        DocId::Territory(_) => &[],
        DocId::Dealer(_) => DEALER_MIGRATIONS,
    }
}

/// Whether `name` is one of the document's collections, from its genesis or a migration.
pub fn has_collection(id: &DocId, name: &str) -> bool {
    collections(id).contains(&name) || migrations(id).iter().any(|(_, c)| *c == name)
}

/// Whether `actor` is one of the fixed actors every device shares for a
/// document's skeleton (its genesis and schema migrations), not a device.
pub fn is_skeleton_actor(actor: &ActorId) -> bool {
    actor.to_bytes().starts_with(b"fieldsync-")
}

fn genesis_actor(id: &DocId) -> ActorId {
    ActorId::from(format!("fieldsync-genesis/{id}").into_bytes())
}

fn migration_actor(id: &DocId, n: u32) -> ActorId {
    ActorId::from(format!("fieldsync-migration/{n}/{id}").into_bytes())
}

/// The migration change that creates collection `name` of document `id`, and
/// the id of the map it creates; `None` if no migration creates `name`.
pub fn migration(
    id: &DocId,
    territory: &TerritoryId,
    name: &str,
) -> Result<Option<(Change, ObjId)>, DocError> {
    if !migrations(id).iter().any(|(_, c)| *c == name) {
        return Ok(None);
    }
    let (mut doc, _) = genesis(id, territory)?;
    migrate(&mut doc, id, name)
}

/// The migration change for `name` made on `base`, a copy of the genesis alone
/// (forked, so it is left as it was).
fn migrate(
    base: &mut AutoCommit,
    id: &DocId,
    name: &str,
) -> Result<Option<(Change, ObjId)>, DocError> {
    let Some((n, name)) = migrations(id).iter().find(|(_, c)| *c == name) else {
        return Ok(None);
    };
    let mut doc = base.fork();
    doc.set_actor(migration_actor(id, *n));
    let obj = doc.put_object(ROOT, *name, ObjType::Map)?;
    let hash = doc
        .commit_with(CommitOptions::default().with_time(0))
        .ok_or_else(|| DocError::Shape("empty migration".into()))?;
    let change = doc
        .get_change_by_hash(&hash)
        .ok_or_else(|| DocError::Shape("migration change missing".into()))?;
    Ok(Some((change, obj)))
}

/// The hashes of every change fieldsync itself writes into document `id`: its
/// genesis and its migrations. They carry no author stamp and pass no schema
/// check: they are accepted only byte-identical.
pub fn skeleton_hashes(id: &DocId, territory: &TerritoryId) -> Vec<ChangeHash> {
    Skeleton::of(id, territory).map_or_else(|_| Vec::new(), |s| s.hashes())
}

/// A skeleton's genesis hash, collections and migrations (`Skeleton::make`'s two ways).
type Parts = (
    ChangeHash,
    Vec<(&'static str, ObjId)>,
    Vec<(&'static str, Change, ObjId)>,
);

/// Everything fieldsync itself writes into one document (its genesis change and
/// its migrations) made once, for the checks that compare a document against it
/// (`check_shape_with`, the server's decision on a push): making it costs as much as
/// an edit, and a push of a new document needs it several times.
#[derive(Debug, Clone)]
pub struct Skeleton {
    id: DocId,
    territory: TerritoryId,
    genesis: ChangeHash,
    /// Each genesis collection and the id of its map.
    collections: Vec<(&'static str, ObjId)>,
    /// Each migration's collection, its change and the id of its map.
    migrations: Vec<(&'static str, Change, ObjId)>,
}

impl Skeleton {
    /// The skeleton of document `id` in `territory`.
    pub fn of(id: &DocId, territory: &TerritoryId) -> Result<Self, DocError> {
        Self::make(id, territory, |_| true)
    }

    /// The genesis and those migrations whose collection is `wanted` (for
    /// [`check_shape_with`] alone: [`Self::hashes`] then lacks the others).
    fn make(
        id: &DocId,
        territory: &TerritoryId,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Self, DocError> {
        #[cfg(target_arch = "wasm32")]
        let (genesis, collections, migrations) = Self::committed(id, territory, wanted)?;
        #[cfg(not(target_arch = "wasm32"))]
        let (genesis, collections, migrations) = Self::written(id, territory, wanted)?;
        Ok(Skeleton {
            id: id.clone(),
            territory: territory.clone(),
            genesis,
            collections,
            migrations,
        })
    }

    /// [`Self::make`] through a document, as `genesis` and `migrate` commit it:
    /// the phone's build (the direct encoder would add 14 KB to its wasm).
    #[cfg_attr(not(any(test, target_arch = "wasm32")), allow(dead_code))]
    fn committed(
        id: &DocId,
        territory: &TerritoryId,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Parts, DocError> {
        let (mut doc, genesis) = genesis(id, territory)?;
        let mut collections = Vec::new();
        for c in self::collections(id) {
            let (_, obj) = doc
                .get(ROOT, *c)?
                .ok_or_else(|| DocError::Shape(format!("the genesis lacks '{c}'")))?;
            collections.push((*c, obj));
        }
        let mut made = Vec::new();
        for (_, name) in migrations(id).iter().filter(|(_, c)| wanted(c)) {
            if let Some((change, obj)) = migrate(&mut doc, id, name)? {
                made.push((*name, change, obj));
            }
        }
        Ok((genesis, collections, made))
    }

    /// [`Self::make`] with the changes written out directly: the server's build.
    #[cfg(not(target_arch = "wasm32"))]
    fn written(
        id: &DocId,
        territory: &TerritoryId,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Parts, DocError> {
        // The changes `genesis` and `migrate` commit, written out directly: making
        // them through a document costs as much as an edit, and a push of new
        // documents needs one skeleton per document (a test holds them byte-identical).
        let root = |key: &str, action: legacy::OpType| legacy::Op {
            action,
            obj: legacy::ObjectId::Root,
            key: legacy::Key::Map(key.into()),
            pred: legacy::SortedVec::new(),
            insert: false,
        };
        let change = |actor: ActorId, start_op: u64, deps: Vec<ChangeHash>, ops| {
            let start_op = std::num::NonZeroU64::new(start_op)
                .ok_or_else(|| DocError::Shape("no first op".into()))?;
            Ok::<_, DocError>(Change::from(ExpandedChange {
                operations: ops,
                actor_id: actor,
                hash: None,
                seq: 1,
                start_op,
                time: 0,
                message: None,
                deps,
                extra_bytes: Vec::new(),
                author: None,
            }))
        };
        let genesis_actor = genesis_actor(id);
        let put = |v: ScalarValue| legacy::OpType::Put(v);
        let mut ops = vec![
            root("schema", put(ScalarValue::Int(SCHEMA_VERSION))),
            root("doc_type", put(ScalarValue::from(id.doc_type()))),
            root("id", put(ScalarValue::from(id.entity()))),
            root("territory", put(ScalarValue::from(territory.as_str()))),
        ];
        let mut collections = Vec::new();
        for c in self::collections(id) {
            ops.push(root(c, legacy::OpType::Make(ObjType::Map)));
            let counter = ops.len() as u64;
            collections.push((*c, ObjId::Id(counter, genesis_actor.clone(), 0)));
        }
        let next_op = ops.len() as u64 + 1;
        let genesis = change(genesis_actor, 1, Vec::new(), ops)?.hash();
        let mut made = Vec::new();
        for (n, name) in migrations(id).iter().filter(|(_, c)| wanted(c)) {
            let actor = migration_actor(id, *n);
            let make = vec![root(name, legacy::OpType::Make(ObjType::Map))];
            let c = change(actor.clone(), next_op, vec![genesis], make)?;
            made.push((*name, c, ObjId::Id(next_op, actor, 0)));
        }
        Ok((genesis, collections, made))
    }

    /// Whether this is the skeleton of document `id` in `territory`.
    pub fn is_of(&self, id: &DocId, territory: &TerritoryId) -> bool {
        self.id == *id && self.territory == *territory
    }

    /// The genesis change's hash.
    pub fn genesis(&self) -> ChangeHash {
        self.genesis
    }

    /// The genesis change's and every migration change's hash (as [`skeleton_hashes`]).
    pub fn hashes(&self) -> Vec<ChangeHash> {
        std::iter::once(self.genesis)
            .chain(self.migrations.iter().map(|(_, c, _)| c.hash()))
            .collect()
    }

    /// Whether `hash` is one of [`Self::hashes`].
    pub fn contains(&self, hash: &ChangeHash) -> bool {
        self.genesis == *hash || self.migrations.iter().any(|(_, c, _)| c.hash() == *hash)
    }
}

/// A new document holding only the genesis change.
pub fn genesis(id: &DocId, territory: &TerritoryId) -> Result<(AutoCommit, ChangeHash), DocError> {
    let mut doc = AutoCommit::new().with_actor(genesis_actor(id));
    doc.put(ROOT, "schema", SCHEMA_VERSION)?;
    doc.put(ROOT, "doc_type", id.doc_type())?;
    doc.put(ROOT, "id", id.entity())?;
    doc.put(ROOT, "territory", territory.as_str())?;
    for c in collections(id) {
        doc.put_object(ROOT, *c, ObjType::Map)?;
    }
    let hash = doc
        .commit_with(CommitOptions::default().with_time(0))
        .ok_or_else(|| DocError::Shape("empty genesis".into()))?;
    Ok((doc, hash))
}

fn single_str<R: ReadDoc>(doc: &R, key: &str) -> Result<String, DocError> {
    let all = doc.get_all(ROOT, key)?;
    match all.as_slice() {
        [(Value::Scalar(s), _)] => match s.as_ref() {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(DocError::Shape(format!("'{key}' is not text"))),
        },
        [] => Err(DocError::Shape(format!("no '{key}'"))),
        _ => Err(DocError::Shape(format!("'{key}' was overwritten"))),
    }
}

/// How a document's skeleton (its genesis and migrations) is checked.
#[derive(Debug, Clone, Copy)]
pub enum SkeletonCheck<'a> {
    /// Against fieldsync's own skeleton, change by change (`known`, if the caller
    /// has made it already): the server, on what devices send.
    Exact(Option<&'a Skeleton>),
    /// By who wrote it: the genesis values and collections are the genesis actor's
    /// ops at their fixed counters, each migration's map its migration actor's.
    /// The replica, on documents from its own storage and from the server, which
    /// checked every change it holds (a skeleton costs as much as an edit, and a
    /// device opens every document).
    Writers,
}

/// Checks that `doc` is a fieldsync document built on its genesis change, whose
/// skeleton nothing has overwritten, the skeleton checked as `shape` says (an
/// `Exact` skeleton is used only if it is the skeleton of the id and territory
/// `doc` names); returns its id and territory.
pub fn check_shape_with(
    doc: &mut AutoCommit,
    shape: SkeletonCheck<'_>,
) -> Result<(DocId, TerritoryId), DocError> {
    let schema = match doc.get_all(ROOT, "schema")?.as_slice() {
        [(Value::Scalar(s), _)] => match s.as_ref() {
            ScalarValue::Int(i) => *i,
            ScalarValue::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
            _ => return Err(DocError::Shape("'schema' is not a number".into())),
        },
        _ => return Err(DocError::Shape("no single 'schema'".into())),
    };
    if schema > SCHEMA_VERSION {
        return Err(DocError::SchemaTooNew {
            found: schema,
            supported: SCHEMA_VERSION,
        });
    }
    let doc_type = single_str(doc, "doc_type")?;
    let entity = single_str(doc, "id")?;
    let territory: TerritoryId = single_str(doc, "territory")?
        .parse()
        .map_err(|e| DocError::Shape(format!("territory: {e}")))?;
    let id: DocId = format!("{doc_type}:{entity}")
        .parse()
        .map_err(|e| DocError::Shape(format!("id: {e}")))?;
    match shape {
        SkeletonCheck::Exact(Some(s)) if s.is_of(&id, &territory) => check_skeleton(doc, s)?,
        SkeletonCheck::Writers => check_written_by_skeleton(doc, &id)?,
        // The wasm build holds no skeleton encoder (it is the phone's: see `Writers`).
        #[cfg(target_arch = "wasm32")]
        SkeletonCheck::Exact(_) => check_written_by_skeleton(doc, &id)?,
        #[cfg(not(target_arch = "wasm32"))]
        SkeletonCheck::Exact(_) => {
            // Only the migrations the document has made are compared.
            let mut made = Vec::new();
            for (_, c) in migrations(&id) {
                if doc.get(ROOT, *c)?.is_some() {
                    made.push(*c);
                }
            }
            let skeleton = Skeleton::make(&id, &territory, |c| made.contains(&c))?;
            check_skeleton(doc, &skeleton)?;
        }
    }
    Ok((id, territory))
}

/// Without making the skeleton: the genesis values and collections are the
/// genesis actor's ops at their fixed counters, and each migration's map is its
/// migration actor's first op ([`SkeletonCheck::Writers`]).
fn check_written_by_skeleton(doc: &AutoCommit, id: &DocId) -> Result<(), DocError> {
    let genesis = genesis_actor(id);
    let by = |counter: usize, actor: &ActorId| ObjId::Id(counter as u64, actor.clone(), 0);
    for (i, key) in ["schema", "doc_type", "id", "territory"].iter().enumerate() {
        match doc.get_all(ROOT, *key)?.as_slice() {
            [(_, op)] if *op == by(i + 1, &genesis) => {}
            _ => return Err(DocError::Shape(format!("'{key}' is not the genesis's"))),
        }
    }
    let made = collections(id);
    let mut ids: Vec<(&str, ObjId)> = made
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, by(5 + i, &genesis)))
        .collect();
    for (n, c) in migrations(id) {
        if doc.get(ROOT, *c)?.is_some() {
            ids.push((c, by(5 + made.len(), &migration_actor(id, *n))));
        }
    }
    for (c, expected) in ids {
        match doc.get_all(ROOT, c)?.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if *obj == expected => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    Ok(())
}

/// The genesis change is there, and every collection is the skeleton's map.
fn check_skeleton(doc: &mut AutoCommit, skeleton: &Skeleton) -> Result<(), DocError> {
    // A lookup in the change graph (`get_change_by_hash` would re-encode the change).
    if !doc.get_missing_deps(&[skeleton.genesis]).is_empty() {
        return Err(DocError::Shape("the genesis change is missing".into()));
    }
    for (c, expected) in &skeleton.collections {
        match doc.get_all(ROOT, *c)?.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if obj == expected => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    for (_, c) in migrations(&skeleton.id) {
        let found = doc.get_all(ROOT, *c)?;
        if found.is_empty() {
            continue;
        }
        let expected = skeleton
            .migrations
            .iter()
            .find(|(name, _, _)| name == c)
            .map(|(_, _, obj)| obj);
        match found.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if Some(obj) == expected => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_byte_identical_on_every_device() {
        let id: DocId = "dealer:d1".parse().unwrap();
        let t: TerritoryId = "t1".parse().unwrap();
        let (mut a, ha) = genesis(&id, &t).unwrap();
        let (mut b, hb) = genesis(&id, &t).unwrap();
        assert_eq!(ha, hb);
        assert_eq!(a.save(), b.save());
        assert_eq!(
            check_shape_with(&mut a, SkeletonCheck::Exact(None)).unwrap(),
            (id, t)
        );
    }

    #[test]
    fn the_skeleton_written_out_is_what_a_document_commits() {
        for (id, t) in [
            ("dealer:d1", "t1"),
            ("dealer:d-7f3a9c2e", "t-north-2"),
            ("territory:t-south", "t-south"),
        ] {
            let id: DocId = id.parse().unwrap();
            let t: TerritoryId = t.parse().unwrap();
            let skeleton = Skeleton::of(&id, &t).unwrap();
            let (genesis_hash, collections, made) = Skeleton::committed(&id, &t, |_| true).unwrap();
            assert_eq!(skeleton.genesis, genesis_hash, "{id}");
            assert_eq!(skeleton.collections, collections, "{id}");
            let made: Vec<ChangeHash> = made.iter().map(|(_, c, _)| c.hash()).collect();
            let written: Vec<ChangeHash> = skeleton
                .migrations
                .iter()
                .map(|(_, c, _)| c.hash())
                .collect();
            assert_eq!(written, made, "{id}");
            let (mut doc, hash) = genesis(&id, &t).unwrap();
            assert_eq!(skeleton.genesis(), hash, "{id}");
            let mut hashes = vec![hash];
            for (_, name) in migrations(&id) {
                let (change, obj) = migrate(&mut doc, &id, name).unwrap().unwrap();
                let made = skeleton
                    .migrations
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .unwrap();
                assert_eq!(made.1.raw_bytes(), change.raw_bytes(), "{id} {name}");
                assert_eq!(made.2, obj, "{id} {name}");
                hashes.push(change.hash());
            }
            assert_eq!(skeleton.hashes(), hashes, "{id}");
            for (c, obj) in &skeleton.collections {
                let (_, found) = doc.get(ROOT, *c).unwrap().unwrap();
                assert_eq!(&found, obj, "{id} {c}");
            }
            // A document with every migration made passes the shape check against it.
            for (_, name) in migrations(&id) {
                let (change, _) = migration(&id, &t, name).unwrap().unwrap();
                doc.apply_changes([change]).unwrap();
            }
            check_written_by_skeleton(&doc, &id).unwrap();
            assert_eq!(
                check_shape_with(&mut doc, SkeletonCheck::Exact(Some(&skeleton))).unwrap(),
                (id, t)
            );
        }
    }

    #[test]
    fn a_replaced_collection_is_detected() {
        let id: DocId = "dealer:d1".parse().unwrap();
        let t: TerritoryId = "t1".parse().unwrap();
        let (mut doc, _) = genesis(&id, &t).unwrap();
        doc.set_actor(ActorId::from(b"mallory".to_vec()));
        doc.put_object(ROOT, "visits", ObjType::Map).unwrap();
        doc.commit();
        assert!(matches!(
            check_shape_with(&mut doc, SkeletonCheck::Exact(None)),
            Err(DocError::Shape(_))
        ));
        assert!(matches!(
            check_written_by_skeleton(&doc, &id),
            Err(DocError::Shape(_))
        ));
        // The phone's check too: a value of the genesis rewritten, a migration's map replaced.
        let (mut doc, _) = genesis(&id, &t).unwrap();
        doc.set_actor(ActorId::from(b"mallory".to_vec()));
        doc.put(ROOT, "territory", "t2").unwrap();
        doc.commit();
        assert!(matches!(
            check_written_by_skeleton(&doc, &id),
            Err(DocError::Shape(_))
        ));
        let (mut doc, _) = genesis(&id, &t).unwrap();
        doc.set_actor(ActorId::from(b"mallory".to_vec()));
        doc.put_object(ROOT, "notes", ObjType::Map).unwrap();
        doc.commit();
        assert!(matches!(
            check_written_by_skeleton(&doc, &id),
            Err(DocError::Shape(_))
        ));
    }
}
