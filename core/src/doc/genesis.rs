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

/// The migration change that creates collection `name` of document `id`, and
/// the id of the map it creates; `None` if no migration creates `name`.
pub fn migration(
    id: &DocId,
    territory: &TerritoryId,
    name: &str,
) -> Result<Option<(Change, ObjId)>, DocError> {
    let Some((n, name)) = migrations(id).iter().find(|(_, c)| *c == name) else {
        return Ok(None);
    };
    let (mut doc, _) = genesis(id, territory)?;
    doc.set_actor(ActorId::from(
        format!("fieldsync-migration/{n}/{id}").into_bytes(),
    ));
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
    let mut out: Vec<ChangeHash> = genesis(id, territory).map(|(_, h)| h).into_iter().collect();
    for (_, name) in migrations(id) {
        if let Ok(Some((c, _))) = migration(id, territory, name) {
            out.push(c.hash());
        }
    }
    out
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

/// Checks that `doc` is a fieldsync document built on its genesis change, whose
/// skeleton nothing has overwritten; returns its id and territory.
pub fn check_shape(doc: &mut AutoCommit) -> Result<(DocId, TerritoryId), DocError> {
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
    let (skeleton, hash) = genesis(&id, &territory)?;
    if doc.get_change_by_hash(&hash).is_none() {
        return Err(DocError::Shape("the genesis change is missing".into()));
    }
    for c in collections(&id) {
        let expected = skeleton.get(ROOT, *c)?.map(|(_, id)| id);
        match doc.get_all(ROOT, *c)?.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if Some(obj) == expected.as_ref() => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    for (_, c) in migrations(&id) {
        let found = doc.get_all(ROOT, *c)?;
        if found.is_empty() {
            continue;
        }
        let expected = migration(&id, &territory, c)?.map(|(_, obj)| obj);
        match found.as_slice() {
            [(Value::Object(ObjType::Map), obj)] if Some(obj) == expected.as_ref() => {}
            _ => return Err(DocError::Shape(format!("collection '{c}' was replaced"))),
        }
    }
    Ok((id, territory))
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
        assert_eq!(check_shape(&mut a).unwrap(), (id, t));
    }

    #[test]
    fn a_replaced_collection_is_detected() {
        let id: DocId = "dealer:d1".parse().unwrap();
        let t: TerritoryId = "t1".parse().unwrap();
        let (mut doc, _) = genesis(&id, &t).unwrap();
        doc.set_actor(ActorId::from(b"mallory".to_vec()));
        doc.put_object(ROOT, "visits", ObjType::Map).unwrap();
        doc.commit();
        assert!(matches!(check_shape(&mut doc), Err(DocError::Shape(_))));
    }
}
